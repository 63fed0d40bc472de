"""Check a raw spec against itself and the catalog, and resolve it into a frozen SkySpec."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

from skyplan.catalog.models import Catalog, Peering
from skyplan.errors import Problem, SpecError, did_you_mean
from skyplan.spec.load import ParsedSpec, load_parsed_spec, sort_problems
from skyplan.spec.model import (
    Backend,
    Dataset,
    Job,
    Output,
    Restriction,
    SkySpec,
    describe,
    satisfies,
)
from skyplan.spec.refs import check_refs, env_name, job_order, refs_of_raw
from skyplan.spec.schema import RawJob, RawSpec
from skyplan.spec.yamlpos import Located, PathKey

DEFAULT_CLOUDS = ("aws", "gcp", "azure")
URI_RE = re.compile(r"^(s3://[^/]+/|gs://[^/]+/|az://[^/]+/[^/]+/|file://).*")


class _Checker:
    """Collects semantic problems with their positions while resolving."""

    def __init__(self, raw: RawSpec, located: Located, catalog: Catalog):
        self.raw, self.loc, self.cat = raw, located, catalog
        self.problems: list[Problem] = []
        self.tags = frozenset(t for r in catalog.regions for t in r.tags)

    def add(self, path: PathKey, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(self.loc.where(path), message, hint))

    def cloud(self, path: PathKey, cloud: str) -> bool:
        if cloud in self.cat.clouds:
            return True
        hint = did_you_mean(cloud, self.cat.clouds) or f"known clouds: {', '.join(self.cat.clouds)}"
        self.add(path, f"unknown cloud {cloud!r}", hint)
        return False

    def region(self, path: PathKey, text: str, *, wildcard: bool) -> bool:
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

    def tag_list(self, path: PathKey, tags: tuple[str, ...]) -> frozenset[str]:
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


def _check_datasets(c: _Checker) -> None:
    """Check data set locations, jurisdictions and URIs against the catalog."""
    for name, ds in c.raw.datasets.items():
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


def _check_job_regions(c: _Checker) -> None:
    """Each job's `regions` names clouds and regions the catalog knows."""
    for jname, job in c.raw.jobs.items():
        for i, pattern in enumerate(job.regions or ()):
            c.region(("jobs", jname, "regions", i), pattern, wildcard=True)


def _check_accelerators(c: _Checker) -> None:
    """Each job asks for an accelerator some offering of the catalog has (names compare without
    case, as the solver matches them); a name no offering has is a typo, not infeasibility."""
    known = {name.casefold() for name in c.cat.accelerators}
    for jname, job in c.raw.jobs.items():
        accel = job.resources.accelerators
        if accel is None or accel[0].casefold() in known:
            continue
        listed = ", ".join(c.cat.accelerators) or "none"
        c.add(
            ("jobs", jname, "resources", "accelerators"),
            f"no offering in the catalog has accelerator {accel[0]!r}",
            did_you_mean(accel[0], c.cat.accelerators, n=3)
            or f"accelerators in the catalog: {listed} (see `skyplan catalog offerings`)",
        )


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


def _job(name: str, job: RawJob, deps: set[str], restriction: Restriction, line: int | None) -> Job:
    accel = job.resources.accelerators
    return Job(
        name=name,
        run=job.run,
        cpus=job.resources.cpus if job.resources.cpus is not None else Decimal(0),
        memory_gib=job.resources.memory if job.resources.memory is not None else Decimal(0),
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
        line=line,
    )


def _catalog_checks(c: _Checker) -> tuple[str, ...]:
    """The checks of names against the catalog and of the spec's own values; the clouds used."""
    clouds = _check_top(c)
    _check_datasets(c)
    _check_job_regions(c)
    _check_accelerators(c)
    return clouds


def raise_spec_problems(parsed: ParsedSpec, catalog: Catalog | None) -> NoReturn:
    """Raise the problems of a spec that failed the schema, with what the catalog checks find in
    the parts of it that did validate (skipped when too little validated, when its `catalog:`
    is broken, or with no catalog), all in file order."""
    problems = list(parsed.problems)
    if parsed.raw is not None and catalog is not None and ("catalog",) not in parsed.dropped:
        c = _Checker(parsed.raw, parsed.located, catalog)
        _catalog_checks(c)
        problems += c.problems
    raise SpecError(sort_problems(problems))


def resolve(raw: RawSpec, located: Located, catalog: Catalog) -> SkySpec:
    """Resolve a raw spec; SpecError lists every semantic problem at once, in file order."""
    c = _Checker(raw, located, catalog)
    clouds = _catalog_checks(c)
    _, deps = check_refs(refs_of_raw(raw), c.add)
    order = job_order(deps, c.add)
    if c.problems:
        raise SpecError(sort_problems(c.problems))
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
        jobs=tuple(
            _job(j, raw.jobs[j], deps[j], job_r[j], located.where(("jobs", j)).line) for j in order
        ),
        bucket_prefix=raw.bucket_prefix,
        backend=Backend(
            raw.backend.type,
            tuple(
                (k, v)
                for k, v in sorted(raw.backend.model_dump(exclude={"type"}).items())
                if v is not None
            ),
        ),
    )


def catalog_dir_of(raw: RawSpec, spec_path: Path) -> Path | None:
    """The spec's own `catalog:` folder, relative to the spec file."""
    if raw.catalog is None:
        return None
    return (spec_path.parent / raw.catalog).resolve()


def load_spec(path: Path, catalog: Catalog) -> SkySpec:
    """Load, validate and resolve sky.yaml against a catalog; SpecError lists every problem."""
    parsed = load_parsed_spec(path)
    if parsed.problems or parsed.raw is None:
        raise_spec_problems(parsed, catalog)
    return resolve(parsed.raw, parsed.located, catalog)


__all__ = [
    "catalog_dir_of",
    "describe",
    "env_name",
    "load_spec",
    "raise_spec_problems",
    "resolve",
]
