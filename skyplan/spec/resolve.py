"""Check a raw spec against itself and the catalog, and resolve it into a frozen SkySpec."""

from __future__ import annotations

import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

from skyplan.catalog.models import Catalog, Peering
from skyplan.errors import Problem, SpecError
from skyplan.spec.load import did_you_mean, load_raw_spec
from skyplan.spec.model import Dataset, Job, Output, Restriction, SkySpec, describe, satisfies
from skyplan.spec.schema import RawJob, RawSpec
from skyplan.spec.yamlpos import Located

DEFAULT_CLOUDS = ("aws", "gcp", "azure")
URI_RE = re.compile(r"^(s3://[^/]+/|gs://[^/]+/|az://[^/]+/[^/]+/|file://).*")


def env_name(name: str) -> str:
    """The upper-cased form used in SKYPLAN_INPUT_<NAME> / SKYPLAN_OUTPUT_<NAME>."""
    return re.sub(r"[-.]", "_", name).upper()


class _Checker:
    """Collects semantic problems with their positions while resolving."""

    def __init__(self, raw: RawSpec, located: Located, catalog: Catalog):
        self.raw, self.loc, self.cat = raw, located, catalog
        self.problems: list[Problem] = []
        self.tags = frozenset(t for r in catalog.regions for t in r.tags)

    def add(self, path: tuple[str | int, ...], message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.loc.where(path), message, hint))

    def cloud(self, path: tuple[str | int, ...], cloud: str) -> bool:
        if cloud in self.cat.clouds:
            return True
        hint = did_you_mean(cloud, self.cat.clouds) or f"known clouds: {', '.join(self.cat.clouds)}"
        self.add(path, f"unknown cloud {cloud!r}", hint)
        return False

    def region(self, path: tuple[str | int, ...], text: str, *, wildcard: bool) -> bool:
        """A `cloud:region` (or `cloud:*` when allowed) the catalog knows."""
        cloud, sep, region = text.partition(":")
        if not sep or not cloud or not region:
            form = "cloud:region or cloud:*" if wildcard else "cloud:region"
            self.add(path, f"malformed region {text!r}", f"write it as {form}, e.g. aws:eu-west-1")
            return False
        if not self.cloud(path, cloud):
            return False
        if region == "*":
            if not wildcard:
                self.add(
                    path, f"{text!r} names no single region", "name one region, e.g. aws:eu-west-1"
                )
            return wildcard
        if text not in self.cat.region_by_key:
            in_cloud = [r.key for r in self.cat.regions if r.cloud == cloud]
            hint = did_you_mean(text, in_cloud) or f"see `skyplan catalog regions --cloud {cloud}`"
            self.add(path, f"unknown region {text!r}", hint)
            return False
        return True

    def tag_list(self, path: tuple[str | int, ...], tags: tuple[str, ...]) -> frozenset[str]:
        for i, tag in enumerate(tags):
            if tag not in self.tags:
                hint = (
                    did_you_mean(tag, self.tags)
                    or "use a tag from the catalog's regions.csv or an ISO country code"
                )
                self.add((*path, i), f"no region carries jurisdiction {tag!r}", hint)
        return frozenset(tags)


def _check_top(c: _Checker) -> tuple[str, ...]:
    raw = c.raw
    clouds = raw.clouds if raw.clouds is not None else DEFAULT_CLOUDS
    for i, cloud in enumerate(raw.clouds or ()):
        c.cloud(("clouds", i), cloud)
    if raw.policy.jurisdictions:
        c.tag_list(("policy", "jurisdictions"), raw.policy.jurisdictions)
    for i, item in enumerate(raw.policy.avoid):
        if ":" in item:
            c.region(("policy", "avoid", i), item, wildcard=True)
        else:
            c.cloud(("policy", "avoid", i), item)
    seen: set[frozenset[str]] = set()
    for i, p in enumerate(raw.peering):
        for k, cloud in enumerate(p.clouds):
            c.cloud(("peering", i, "clouds", k), cloud)
        pair = frozenset(p.clouds)
        if len(pair) != 2:
            c.add(("peering", i, "clouds"), "a peering agreement names two different clouds")
        elif pair in seen:
            c.add(
                ("peering", i, "clouds"),
                f"peering between {' and '.join(sorted(pair))} given twice",
            )
        seen.add(pair)
    return tuple(dict.fromkeys(clouds))


def _check_datasets(c: _Checker) -> dict[str, str]:
    """Check data set definitions; returns data set name -> producing job ('' for external)."""
    owner: dict[str, str] = {}
    for name, ds in c.raw.datasets.items():
        owner[name] = ""
        path = ("datasets", name)
        if c.region((*path, "location"), ds.location, wildcard=False) and ds.jurisdictions:
            region = c.cat.region_by_key[ds.location]
            tags = c.tag_list((*path, "jurisdictions"), ds.jurisdictions)
            if tags <= c.tags and not satisfies(region.tags, frozenset([tags])):
                c.add(
                    (*path, "location"),
                    f"{name} lives in {ds.location}, outside its own jurisdictions "
                    f"{', '.join(ds.jurisdictions)}",
                    "fix the location or the jurisdictions",
                )
        elif ds.jurisdictions:
            c.tag_list((*path, "jurisdictions"), ds.jurisdictions)
        if ds.uri is not None and not URI_RE.match(ds.uri):
            c.add(
                (*path, "uri"),
                f"unsupported uri {ds.uri!r}",
                "use s3://BUCKET/..., gs://BUCKET/..., az://ACCOUNT/CONTAINER/... or file://PATH",
            )
    for jname, job in c.raw.jobs.items():
        for out in job.outputs:
            path = ("jobs", jname, "outputs", out)
            if out in owner:
                first = f"job {owner[out]}" if owner[out] else "datasets"
                c.add(
                    path,
                    f"data set {out!r} is defined twice (also in {first})",
                    "give it one definition",
                )
            else:
                owner[out] = jname
    return owner


def _check_jobs(c: _Checker, owner: dict[str, str]) -> dict[str, set[str]]:
    """Check references between jobs and data; returns job -> jobs it waits for."""
    deps: dict[str, set[str]] = {}
    for jname, job in c.raw.jobs.items():
        deps[jname] = set()
        path = ("jobs", jname)
        for i, inp in enumerate(job.inputs):
            if inp not in owner:
                hint = (
                    did_you_mean(inp, owner) or "define it under datasets or as some job's output"
                )
                c.add((*path, "inputs", i), f"unknown data set {inp!r}", hint)
            elif owner[inp]:
                deps[jname].add(owner[inp])
        for i, other in enumerate(job.after):
            if other not in c.raw.jobs:
                c.add(
                    (*path, "after", i), f"unknown job {other!r}", did_you_mean(other, c.raw.jobs)
                )
            else:
                deps[jname].add(other)
        for i, pattern in enumerate(job.regions or ()):
            c.region((*path, "regions", i), pattern, wildcard=True)
        names = [*job.inputs, *job.outputs]
        envs = [env_name(n) for n in names]
        for n in sorted({n for n, e in zip(names, envs, strict=True) if envs.count(e) > 1}):
            c.add(
                path,
                f"data set names collide in the job environment as {env_name(n)}",
                "rename one of them",
            )
        if (
            job.resources.cpus is None
            and job.resources.memory is None
            and not job.resources.accelerators
        ):
            pass  # any offering fits: the cheapest machine anywhere
    return deps


def _order(c: _Checker, deps: dict[str, set[str]]) -> list[str]:
    """Jobs in topological order, ties broken by name; a cycle is a problem."""
    ts: TopologicalSorter[str] = TopologicalSorter({j: sorted(d) for j, d in sorted(deps.items())})
    try:
        ts.prepare()
    except CycleError as e:
        cycle = list(e.args[1])
        c.add(
            ("jobs", cycle[0]),
            f"jobs form a cycle: {' -> '.join(reversed(cycle))}",
            "break the cycle in inputs or after",
        )
        return sorted(deps)
    order: list[str] = []
    while ts.is_active():
        ready = sorted(ts.get_ready())
        order.extend(ready)
        ts.done(*ready)
    return order


def _restrictions(
    raw: RawSpec, order: list[str]
) -> tuple[dict[str, Restriction], dict[str, Restriction]]:
    """Inherit jurisdictions along the DAG: outputs carry every restriction of every input."""
    data: dict[str, Restriction] = {
        name: frozenset([frozenset(ds.jurisdictions)]) if ds.jurisdictions else frozenset()
        for name, ds in raw.datasets.items()
    }
    jobs: dict[str, Restriction] = {}
    for jname in order:
        job = raw.jobs[jname]
        r: Restriction = frozenset().union(*(data.get(i, frozenset()) for i in job.inputs))
        jobs[jname] = r
        for out in job.outputs:
            data[out] = r
    return jobs, data


def _job(name: str, job: RawJob, deps: set[str], restriction: Restriction) -> Job:
    accel = job.resources.accelerators
    return Job(
        name=name,
        run=job.run,
        cpus=job.resources.cpus or 0,  # type: ignore[arg-type]
        memory_gib=job.resources.memory or 0,  # type: ignore[arg-type]
        accelerator=accel[0] if accel else None,
        accelerator_count=accel[1] if accel else 0,
        spot=job.resources.spot,
        nodes=job.nodes,
        hours=job.hours,
        inputs=tuple(job.inputs),
        outputs=tuple(Output(n, gb) for n, gb in sorted(job.outputs.items())),
        after=tuple(sorted(job.after)),
        depends_on=tuple(sorted(deps)),
        regions=tuple(job.regions) if job.regions is not None else None,
        restriction=restriction,
    )


def resolve(raw: RawSpec, located: Located, catalog: Catalog) -> SkySpec:
    """Resolve a raw spec; SpecError lists every semantic problem at once."""
    c = _Checker(raw, located, catalog)
    clouds = _check_top(c)
    owner = _check_datasets(c)
    deps = _check_jobs(c, owner)
    order = _order(c, deps)
    if c.problems:
        c.problems.sort(key=lambda p: (p.where.line or 0) if p.where else 0)
        raise SpecError(c.problems)
    job_r, data_r = _restrictions(raw, order)
    readers: dict[str, list[str]] = {}
    for jname in order:
        for inp in raw.jobs[jname].inputs:
            readers.setdefault(inp, []).append(jname)
    datasets = [
        Dataset(
            name,
            ds.size,
            ds.location,
            None,
            ds.uri,
            data_r[name],
            tuple(sorted(set(readers.get(name, [])))),
        )
        for name, ds in raw.datasets.items()
    ]
    datasets += [
        Dataset(out, gb, None, jname, None, data_r[out], tuple(sorted(set(readers.get(out, [])))))
        for jname in order
        for out, gb in raw.jobs[jname].outputs.items()
    ]
    return SkySpec(
        name=raw.name,
        source=located.file,
        clouds=clouds,
        budget_usd=raw.budget_usd,
        jurisdictions=frozenset(raw.policy.jurisdictions) if raw.policy.jurisdictions else None,
        avoid=tuple(raw.policy.avoid),
        peering=tuple(Peering(frozenset(p.clouds), p.usd_per_gb) for p in raw.peering),
        datasets=tuple(sorted(datasets, key=lambda d: d.name)),
        jobs=tuple(_job(j, raw.jobs[j], deps[j], job_r[j]) for j in order),
    )


def catalog_dir_of(raw: RawSpec, spec_path: Path) -> Path | None:
    """The spec's own `catalog:` folder, relative to the spec file."""
    if raw.catalog is None:
        return None
    return (spec_path.parent / raw.catalog).resolve()


def load_spec(path: Path, catalog: Catalog) -> SkySpec:
    """Load, validate and resolve sky.yaml against a catalog."""
    raw, located = load_raw_spec(path)
    return resolve(raw, located, catalog)


__all__ = ["catalog_dir_of", "describe", "env_name", "load_spec", "resolve"]
