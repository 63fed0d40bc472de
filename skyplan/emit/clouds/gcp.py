"""GCP: a private network, a bucket and per-job service accounts and instances in each region."""

from __future__ import annotations

import re
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

UBUNTU = "24.04"
OBJECT_USER, OBJECT_VIEWER = "roles/storage.objectUser", "roles/storage.objectViewer"
BUCKET_VIEWER = "roles/storage.bucketViewer"  # storage.buckets.get (for rsync), no object access
#: The request attribute naming the prefix a list request lists (IAM Conditions, Cloud Storage).
LIST_PREFIX = "storage.googleapis.com/objectListPrefix"
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


def gcs_condition(bucket: str, prefixes: tuple[str, ...]) -> list[str]:
    """The clauses (joined with `||`) of an IAM Condition limiting a bucket role to objects under
    `prefixes`: an object request names the object (`resource.name`), a list request names the
    bucket, so it is matched by the prefix it lists (`objectListPrefix`). `gcloud storage rsync`
    lists a folder `outputs/x/` as the prefix `outputs/x`, without its slash (delimiter `/`),
    before anything under it, so that exact prefix is allowed too."""
    listed = f"api.getAttribute({cel_string(LIST_PREFIX)}, '')"
    clauses = []
    for p in prefixes:
        name = cel_string(f"projects/_/buckets/{bucket}/objects/{p}")
        clauses.append(f"resource.name.startsWith({name})")
        bare = cel_string(p.rstrip("/"))
        clauses.append(f"({listed} == {bare} || {listed}.startsWith({cel_string(p)}))")
    return clauses


def cel_string(value: str) -> str:
    """A single-quoted CEL string literal (reads without escapes inside an HCL string)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"


def grants(given: CloudInput, j: JobLayout) -> list[dict[str, Any]]:
    """Bucket roles of a job, each object role limited by an IAM Condition to the job's own
    prefixes: objectUser on its outputs and marker folder, objectViewer on its inputs, and
    bucketViewer (bucket metadata, no object; `gcloud storage` reads it) on every bucket it
    uses. Nothing else in the region's shared bucket is visible to it."""
    own = j.bucket.name
    stack_buckets = {b.name: b for b in given.buckets}
    reads, writes = by_store(j.reads(), "gs"), by_store(j.writes(), "gs")
    out: list[dict[str, Any]] = []
    for name in sorted(set(reads) | set(writes)):
        ref = (
            f"google_storage_bucket.{tf_id(stack_buckets[name].region)}.name"
            if name in stack_buckets
            else hcl_string(name)
        )
        key = "own" if name == own else f"read_{tf_id(name)}"
        write = writes.get(name, ())
        read = tuple(p for p in reads.get(name, ()) if p not in write)
        if write:
            title = f"{j.job.name} writes its outputs and markers"
            out.append(_grant(key, ref, OBJECT_USER, title, gcs_condition(name, write)))
        if read:
            rkey = "own_read" if name == own else key
            title = f"{j.job.name} reads its inputs"
            out.append(_grant(rkey, ref, OBJECT_VIEWER, title, gcs_condition(name, read)))
        out.append(_grant(f"{key}_bucket", ref, BUCKET_VIEWER))
    return sorted(out, key=lambda g: g["id"])


def _grant(
    ident: str, bucket: str, role: str, title: str = "", clauses: list[str] | None = None
) -> dict[str, Any]:
    return {"id": ident, "bucket": bucket, "role": role, "title": title, "clauses": clauses}


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
                "grants": grants(given, j),
            }
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
        variables = {"regions": regions, "jobs": jobs, "ubuntu": UBUNTU}
        return module_files(given, variables, ("gcp",), script_files(given))
