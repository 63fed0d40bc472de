"""Where every byte lives once a plan runs: buckets per region, inputs, outputs and copies."""

from __future__ import annotations

import hashlib
import json
import posixpath
from dataclasses import dataclass, replace
from decimal import Decimal
from graphlib import TopologicalSorter

from skyplan.emit.naming import (
    bucket_name,
    bucket_uri,
    host_name,
    instance_name,
    unique,
    with_slash,
)
from skyplan.plan import Placement, Plan
from skyplan.spec.model import Job, SkySpec
from skyplan.spec.refs import env_name

COPIES = "copies"  # temporary copies of data sets read away from home (expire by lifecycle)
OUTPUTS = "outputs"  # data sets jobs produce (kept)
RUNS = "_skyplan"  # completion markers and logs


@dataclass(frozen=True)
class Bucket:
    """skyplan's object store in one region: an S3 or GCS bucket, an Azure container, a folder."""

    cloud: str
    region: str
    name: str
    uri: str

    @property
    def key(self) -> str:
        """`cloud:region`."""
        return f"{self.cloud}:{self.region}"


@dataclass(frozen=True)
class DataRef:
    """A data set as one job sees it: the URI it is read from or written to, and its variable."""

    dataset: str
    uri: str | None
    env: str
    gb: Decimal


@dataclass(frozen=True)
class JobLayout:
    """One placed job with its bucket, its inputs and outputs and where it reports."""

    job: Job
    placement: Placement
    instance: str
    bucket: Bucket
    inputs: tuple[DataRef, ...]
    outputs: tuple[DataRef, ...]
    depends_on: tuple[str, ...]
    transfers: tuple[str, ...]
    run: str = ""  # identity of this run: changes with the job and with everything upstream

    @property
    def runs_uri(self) -> str:
        """Where the runner starts this run of the job (`start`) and its nodes write logs and
        completion markers: one folder per run, so markers of an earlier run never count."""
        return f"{self.markers_uri}{self.run}/"

    @property
    def markers_uri(self) -> str:
        """The folder of every run of the job (`_skyplan/<job>/`): what its identity may read and
        write for markers, so that a new run changes no grant."""
        return f"{self.bucket.uri}{RUNS}/{self.job.name}/"

    def reads(self) -> tuple[str, ...]:
        """The URI prefixes the job's nodes read, and nothing else may they read: each input
        (where it has a URI) and its marker folder (the runner's go-ahead). Sorted."""
        return tuple(sorted({i.uri for i in self.inputs if i.uri} | {self.markers_uri}))

    def writes(self) -> tuple[str, ...]:
        """The URI prefixes the job's nodes write, and nothing else may they write: each output
        and its marker folder (logs and completion markers). Sorted."""
        return tuple(sorted({o.uri for o in self.outputs if o.uri} | {self.markers_uri}))


@dataclass(frozen=True)
class TransferStep:
    """One copy of a data set from its home to a region where it is read."""

    id: str
    dataset: str
    src: str
    dst: str
    source: str | None
    destination: str
    gb: Decimal
    after: tuple[str, ...]
    run: str = ""  # identity of this copy: changes with it and with its producer's run


@dataclass(frozen=True)
class StackLayout:
    """The storage layout of a whole plan; every tuple is sorted by name."""

    stack: str
    buckets: tuple[Bucket, ...]
    jobs: tuple[JobLayout, ...]
    transfers: tuple[TransferStep, ...]

    def buckets_of(self, cloud: str) -> tuple[Bucket, ...]:
        """The buckets of one cloud."""
        return tuple(b for b in self.buckets if b.cloud == cloud)

    def jobs_of(self, cloud: str) -> tuple[JobLayout, ...]:
        """The jobs placed on one cloud."""
        return tuple(j for j in self.jobs if j.placement.cloud == cloud)

    def host_names(self, cloud: str) -> dict[str, str]:
        """A host name stem per job of `cloud`, unique within its module (node i is
        `<stem>-<i>`; valid on every cloud)."""
        names = tuple(j.job.name for j in self.jobs_of(cloud))
        return unique(names, lambda n: host_name(n, self.stack), "-")

    def clouds(self) -> tuple[str, ...]:
        """Clouds with at least one job, sorted."""
        return tuple(sorted({j.placement.cloud for j in self.jobs}))

    def datasets_in(self, bucket: Bucket) -> tuple[str, ...]:
        """The data sets stored in `bucket` (produced there or copied there), sorted."""
        names = {o.dataset for j in self.jobs if j.bucket == bucket for o in j.outputs}
        names |= {t.dataset for t in self.transfers if t.dst == bucket.key}
        return tuple(sorted(names))


def local_uri(uri: str, data_root: str) -> str:
    """A relative `file://` URI of the spec (a file or a folder), made relative to the output
    folder instead."""
    path = uri[len("file://") :]
    if path.startswith("/"):
        return uri
    slash = "/" if path.endswith("/") else ""  # a file stays a file, a folder a folder
    return "file://" + posixpath.normpath(posixpath.join(data_root, path)) + slash


def transfer_id(dataset: str, dst: str) -> str:
    """A stable id for the copy of `dataset` to the region `dst`."""
    return f"{dataset}@{dst}"


def stack_layout(spec: SkySpec, plan: Plan, data_root: str = ".") -> StackLayout:
    """Lay out buckets, inputs, outputs and copies for `plan`; `data_root` is the spec's folder
    relative to the output folder (for relative `file://` data sets)."""
    placed = {p.job: p for p in plan.placements}
    regions = sorted({p.region_key for p in plan.placements} | {t.dst for t in plan.transfers})
    buckets = {}
    for key in regions:
        cloud, region = key.split(":", 1)
        name = bucket_name(spec.bucket_prefix, spec.name, cloud, region)
        buckets[key] = Bucket(cloud, region, name, bucket_uri(cloud, name))
    home: dict[str, tuple[str, str | None]] = {}
    for d in spec.datasets:
        if d.producer is not None:
            where = placed[d.producer].region_key
            home[d.name] = (where, f"{buckets[where].uri}{OUTPUTS}/{d.name}/")
        else:
            uri = d.uri
            if uri is not None:
                uri = local_uri(uri, data_root) if uri.startswith("file://") else with_slash(uri)
            home[d.name] = (d.location or "", uri)

    def read_uri(dataset: str, region_key: str) -> str | None:
        where, uri = home[dataset]
        return uri if where == region_key else f"{buckets[region_key].uri}{COPIES}/{dataset}/"

    transfers = tuple(
        TransferStep(
            transfer_id(t.dataset, t.dst),
            t.dataset,
            t.src,
            t.dst,
            home[t.dataset][1],
            read_uri(t.dataset, t.dst) or "",
            t.gb,
            tuple(p for p in (spec.dataset(t.dataset).producer,) if p is not None),
        )
        for t in sorted(plan.transfers, key=lambda t: (t.dataset, t.dst))
    )
    jobs = []
    for job in sorted(spec.jobs, key=lambda j: j.name):
        p = placed[job.name]
        jobs.append(
            JobLayout(
                job,
                p,
                instance_name(job.name, spec.name, p.cloud, p.region),
                buckets[p.region_key],
                tuple(
                    DataRef(
                        i,
                        read_uri(i, p.region_key),
                        f"SKYPLAN_INPUT_{env_name(i)}",
                        spec.dataset(i).size_gb,
                    )
                    for i in sorted(job.inputs)
                ),
                tuple(
                    DataRef(
                        o.name, home[o.name][1], f"SKYPLAN_OUTPUT_{env_name(o.name)}", o.size_gb
                    )
                    for o in sorted(job.outputs, key=lambda o: o.name)
                ),
                tuple(sorted(job.depends_on)),
                tuple(
                    sorted(
                        transfer_id(i, p.region_key)
                        for i in job.inputs
                        if home[i][0] != p.region_key
                    )
                ),
            )
        )
    jobs_run, transfers_run = with_runs(tuple(jobs), transfers)
    return StackLayout(spec.name, tuple(buckets[k] for k in regions), jobs_run, transfers_run)


def with_runs(
    jobs: tuple[JobLayout, ...], transfers: tuple[TransferStep, ...]
) -> tuple[tuple[JobLayout, ...], tuple[TransferStep, ...]]:
    """Give every step a run id: a digest of what it does and of the run ids of the steps it
    needs, so a change re-runs the step and everything downstream of it, and nothing else."""
    own: dict[str, object] = {}
    deps: dict[str, list[str]] = {}
    for t in transfers:
        key = f"transfer:{t.id}"
        own[key] = [t.dataset, t.src, t.dst, t.source, t.destination, str(t.gb)]
        deps[key] = [f"job:{a}" for a in t.after]
    for j in jobs:
        key, p = f"job:{j.job.name}", j.placement
        own[key] = [
            j.job.name, p.region_key, p.instance_type, p.spot, p.nodes, str(p.hours), j.job.run,
            [(r.dataset, r.uri) for r in j.inputs], [(r.dataset, r.uri) for r in j.outputs],
        ]  # fmt: skip
        deps[key] = [f"job:{d}" for d in j.depends_on] + [f"transfer:{t}" for t in j.transfers]
    runs: dict[str, str] = {}
    for key in TopologicalSorter(deps).static_order():
        text = json.dumps([own[key], sorted(runs[d] for d in deps.get(key, []))])
        runs[key] = hashlib.sha256(text.encode()).hexdigest()[:12]
    return (
        tuple(replace(j, run=runs[f"job:{j.job.name}"]) for j in jobs),
        tuple(replace(t, run=runs[f"transfer:{t.id}"]) for t in transfers),
    )
