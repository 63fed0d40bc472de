"""GCP: a private network, a bucket and per-job service accounts and instances in each region."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from skyplan.emit.base import (
    CloudInput,
    RenderedFile,
    bucket_tag,
    job_record,
    module_files,
    region_record,
    register,
    script_files,
)
from skyplan.emit.layout import JobLayout
from skyplan.emit.naming import label, short_hash, tf_id
from skyplan.emit.render import hcl_string
from skyplan.emit.tools import by_store
from skyplan.errors import InputError

UBUNTU = "24.04"
OBJECT_USER, OBJECT_VIEWER = "roles/storage.objectUser", "roles/storage.objectViewer"
BUCKET_VIEWER = "roles/storage.bucketViewer"  # storage.buckets.get (for rsync), no object access
#: The request attribute naming the prefix a list request lists (IAM Conditions, Cloud Storage).
LIST_PREFIX = "storage.googleapis.com/objectListPrefix"
#: IAM Conditions allow at most 12 logical operators (`&&`, `||`, `!`) in one expression, and at
#: most 20 role bindings of one role and one principal on a resource that differ only in their
#: condition; a condition's title takes at most 100 characters.
MAX_LOGICAL_OPERATORS, MAX_CONDITIONAL_BINDINGS, TITLE_MAX = 12, 20, 100
DISK_MAX_GB = 65_536  # pd-balanced and hyperdisk-balanced
IMAGE_FAMILIES = {"x86_64": "ubuntu-2404-lts-amd64", "arm64": "ubuntu-2404-lts-arm64"}
ARM_SERIES = frozenset({"t2a", "c4a", "n4a"})
HYPERDISK_ONLY = frozenset({"c4", "c4a", "c4d", "n4", "n4a", "a4", "x4", "m4"})


def machine(instance_type: str) -> tuple[str, list[dict[str, Any]]]:
    """The machine type and attached GPUs of a catalog instance type (`n1-standard-8+2xnvidia-
    tesla-t4` is an n1-standard-8 with two T4s attached)."""
    base, _, gpu = instance_type.partition("+")
    if not gpu:
        return base, []
    count, _, kind = gpu.partition("x")
    return base, [{"type": kind, "count": int(count)}]


def series(machine_type: str) -> str:
    """`n2` of `n2-standard-8`."""
    return machine_type.split("-", 1)[0]


def account_id(stack: str, job: str) -> str:
    """A service account ID (6-30 characters), unique per stack and job."""
    stem = re.sub(r"[^a-z0-9]+", "-", job.lower()).strip("-")[:19].rstrip("-")
    return f"sp-{short_hash(stack, job, length=6)}-{stem}".rstrip("-")


def network_name(stack: str, region: str) -> str:
    """The name of the stack's network (and subnet, router, NAT) in a region."""
    name = f"skyplan-{stack}-{region}"
    return name if len(name) <= 50 else f"{name[:41].rstrip('-')}-{short_hash(stack, region)}"


def prefix_condition(bucket: str, prefix: str) -> str:
    """The IAM Condition limiting a bucket role to the objects under one prefix: an object
    request names the object (`resource.name`), a list request names the bucket, so it is
    matched by the prefix it lists (`objectListPrefix`). `gcloud storage rsync` lists a folder
    `outputs/x/` as the prefix `outputs/x`, without its slash (delimiter `/`), before anything
    under it, so that exact prefix is allowed too. Two logical operators, whatever the prefix
    (IAM allows MAX_LOGICAL_OPERATORS)."""
    listed = f"api.getAttribute({cel_string(LIST_PREFIX)}, '')"
    name = cel_string(f"projects/_/buckets/{bucket}/objects/{prefix}")
    bare, under = cel_string(prefix.rstrip("/")), cel_string(prefix)
    lists = f"({listed} == {bare} || {listed}.startsWith({under}))"
    return f"resource.name.startsWith({name}) || {lists}"


def cel_string(value: str) -> str:
    """A single-quoted CEL string literal (reads without escapes inside an HCL string)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def condition_title(job: str, verb: str, prefix: str) -> str:
    """The title of a prefix's condition (`train writes outputs/model/`), at most TITLE_MAX
    characters: a longer one is cut and ends with a hash of the whole, so titles stay distinct
    (the provider tells a member's bindings of one role apart by their titles)."""
    title = f"{job} {verb} {prefix}"
    if len(title) <= TITLE_MAX:
        return title
    return f"{title[: TITLE_MAX - 9].rstrip()} {short_hash(title)}"


def _check_bindings(job: str, bucket: str, role: str, prefixes: tuple[str, ...]) -> None:
    if len(prefixes) > MAX_CONDITIONAL_BINDINGS:
        raise InputError(
            f"job {job!r} would need {len(prefixes)} conditional bindings of {role} on the GCS "
            f"bucket {bucket}, one per prefix it {'writes' if role == OBJECT_USER else 'reads'} "
            f"there ({', '.join(prefixes)}); IAM allows at most {MAX_CONDITIONAL_BINDINGS} "
            "bindings of one role for one principal on a bucket",
            hint=f"split job {job!r} so that each part writes at most "
            f"{MAX_CONDITIONAL_BINDINGS - 1} outputs and reads at most "
            f"{MAX_CONDITIONAL_BINDINGS} data sets of one bucket",
        )


def grants(given: CloudInput, j: JobLayout) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Bucket roles of a job, each object role limited by an IAM Condition to one of the job's
    own prefixes: objectUser on each of its outputs and its marker folder, objectViewer on each
    of its inputs, and bucketViewer (bucket metadata, no object; `gcloud storage` reads it) on
    every bucket it uses. Nothing else in the region's shared bucket is visible to it. One
    binding per prefix keeps each condition at two logical operators (IAM allows 12 per
    expression); IAM allows MAX_CONDITIONAL_BINDINGS bindings of one role for one principal on
    a bucket, and a job that would need more fails the plan (InputError, exit 2).

    Returns the grants on the stack's buckets, and apart the same roles on buckets outside the
    stack that the job reads in place: the stack grants nothing there (setIamPolicy on a bucket
    it does not own, whose grants a destroy would remove), their owners do."""
    own = j.bucket.name
    stack_buckets = {b.name: b for b in given.buckets}
    reads, writes = by_store(j.reads(), "gs"), by_store(j.writes(), "gs")
    out: list[dict[str, Any]] = []
    external: list[dict[str, Any]] = []
    for name in sorted(set(reads) | set(writes)):
        theirs = name not in stack_buckets
        ref = (
            hcl_string(name)
            if theirs
            else f"google_storage_bucket.{tf_id(stack_buckets[name].region)}.name"
        )
        key = "own" if name == own else f"read_{tf_id(name)}"
        write = writes.get(name, ())
        read = tuple(p for p in reads.get(name, ()) if p not in write)
        found = [_grant(f"{key}_bucket", ref, BUCKET_VIEWER, origin=(name, ""))]
        for role, verb, prefixes in (
            (OBJECT_USER, "writes", write),
            (OBJECT_VIEWER, "reads", read),
        ):
            _check_bindings(j.job.name, name, role, prefixes)
            for p in prefixes:
                ident = f"{key}_{verb.removesuffix('s')}_{tf_id(p.strip('/') or 'all')}"
                title = condition_title(j.job.name, verb, p)
                found.append(_grant(ident, ref, role, title, prefix_condition(name, p), (name, p)))
        (external if theirs else out).extend(found)
    return sorted(unique_ids(out), key=lambda g: g["id"]), external


def _grant(
    ident: str,
    bucket: str,
    role: str,
    title: str = "",
    condition: str = "",
    origin: tuple[str, str] = ("", ""),
) -> dict[str, Any]:
    return {
        "id": ident,
        "bucket": bucket,
        "role": role,
        "title": title,
        "condition": condition,
        "origin": origin,
    }


def unique_ids(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The grants, a hash of bucket, role and prefix appended to any id two of them share (two
    prefixes may clean to the same identifier: `a.b/` and `a_b/`)."""
    counts = Counter(g["id"] for g in found)
    return [
        g | {"id": f"{g['id']}_{short_hash(g['role'], *g['origin'], length=6)}"}
        if counts[g["id"]] > 1
        else g
        for g in found
    ]


def external_buckets(jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each bucket outside the stack that jobs read in place, with the role bindings its owner
    must grant (the job's service account, the role, the condition), by bucket name."""
    found: dict[str, list[dict[str, Any]]] = {}
    for j in jobs:
        for g in j["external"]:
            found.setdefault(g["origin"][0], []).append(g | {"job": j["name"], "job_id": j["id"]})
    return [{"name": name, "grants": found[name]} for name in sorted(found)]


@register("gcp")
class GcpEmitter:
    """Compute Engine on a private network per region; GCS for data; bucket-scoped IAM."""

    cloud = "gcp"

    def files(self, given: CloudInput) -> tuple[RenderedFile, ...]:
        """versions.tf, main.tf, variables.tf, outputs.tf and the startup scripts."""
        ids, hosts = given.job_ids(), given.host_names()
        stack = given.spec.name
        arches: dict[str, set[str]] = {}
        jobs = []
        for j in given.jobs:
            machine_type, gpus = machine(j.placement.instance_type)
            arch = "arm64" if series(machine_type) in ARM_SERIES else "x86_64"
            arches.setdefault(j.placement.region, set()).add(arch)
            gpu = bool(gpus or j.job.accelerator)
            record = job_record(given, j, ids[j.job.name], disk_max=DISK_MAX_GB)
            record |= {
                "arch": arch,
                "machine_type": machine_type,
                "accelerators": gpus,
                "account_id": account_id(stack, j.job.name),
                "host": hosts[j.job.name],
                "label": label(j.job.name),
                "disk_type": "hyperdisk-balanced"
                if series(machine_type) in HYPERDISK_ONLY
                else "pd-balanced",
                "on_host_maintenance": "TERMINATE" if gpu or j.placement.spot else "MIGRATE",
            }
            record["grants"], record["external"] = grants(given, j)
            jobs.append(record)
        regions = [
            region_record(
                b,
                location=b.region.upper(),
                network=network_name(stack, b.region),
                datasets=bucket_tag(given, b),
                architectures=[
                    {"id": a, "family": IMAGE_FAMILIES[a]} for a in sorted(arches.get(b.region, ()))
                ],
            )
            for b in given.buckets
        ]
        variables = {
            "regions": regions,
            "jobs": jobs,
            "external_buckets": external_buckets(jobs),
            "ubuntu": UBUNTU,
        }
        return module_files(given, variables, ("gcp",), script_files(given))
