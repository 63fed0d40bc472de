"""Candidate placements per job: allowed regions, the cheapest fitting offering, safe pruning."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal

from skyplan.catalog.models import Catalog, Offering, Region
from skyplan.solver.blocked import Block
from skyplan.spec.model import Job, SkySpec, satisfies
from skyplan.units import micro_usd


@dataclass(frozen=True)
class Option:
    """One way to run a job: an offering in a region, its hourly price and total cost."""

    offering: Offering
    spot: bool
    hourly: Decimal
    usd: Decimal
    micro: int

    @property
    def region(self) -> str:
        """`cloud:region` of the option."""
        return self.offering.region_key


@dataclass(frozen=True)
class JobOptions:
    """A job's options after pruning, sorted by region then cost."""

    job: Job
    options: tuple[Option, ...]


@dataclass(frozen=True)
class Candidates:
    """Options for every job, plus which regions pruning dropped as dominated."""

    jobs: tuple[JobOptions, ...]
    dominated: tuple[str, ...]


RegionRule = tuple[str, Callable[[Region], bool]]


def region_rules(spec: SkySpec, job: Job) -> list[RegionRule]:
    """The rules of SPEC section 2 that decide whether a region is allowed for a job, in order."""
    avoid_clouds = {a.split(":")[0] for a in spec.avoid if ":" not in a or a.endswith(":*")}
    avoid_regions = {a for a in spec.avoid if ":" in a and not a.endswith(":*")}
    rules: list[RegionRule] = [
        (f"clouds: [{', '.join(spec.clouds)}]", lambda r: r.cloud in spec.clouds),
    ]
    if spec.avoid:
        rules.append(
            (
                f"policy.avoid: [{', '.join(spec.avoid)}]",
                lambda r: r.cloud not in avoid_clouds and r.key not in avoid_regions,
            )
        )
    if spec.jurisdictions:
        tags = spec.jurisdictions
        rules.append(
            (f"policy.jurisdictions: [{', '.join(sorted(tags))}]", lambda r: bool(r.tags & tags))
        )
    if job.regions is not None:
        pats = job.regions
        rules.append(
            (
                f"jobs.{job.name}.regions: [{', '.join(pats)}]",
                lambda r: any(p == r.key or p == f"{r.cloud}:*" for p in pats),
            )
        )
    if job.restriction:
        from skyplan.spec.model import describe

        restriction = job.restriction
        rules.append(
            (
                f"the jurisdictions of its input data ({describe(restriction)})",
                lambda r: satisfies(r.tags, restriction),
            )
        )
    return rules


def fits(offering: Offering, job: Job) -> bool:
    """SPEC section 2: enough vCPUs, memory and (by name, case-insensitive) accelerators."""
    if offering.vcpus < job.cpus or offering.memory_gib < job.memory_gib:
        return False
    if job.accelerator is None:
        return True
    return (
        offering.accelerator.lower() == job.accelerator.lower()
        and offering.accelerator_count >= job.accelerator_count
    )


def _signature(job: Job) -> tuple[object, ...]:
    return (
        job.cpus,
        job.memory_gib,
        (job.accelerator or "").lower(),
        job.accelerator_count,
        job.spot,
    )


def _pareto(offers: list[Offering], spot: bool) -> list[Offering]:
    """Offerings not beaten on price, vCPUs and GPUs at once (they matter when quotas bind)."""
    offers = sorted(
        offers, key=lambda o: (o.hourly(spot), o.vcpus, o.accelerator_count, o.instance_type)
    )
    kept: list[Offering] = []
    for o in offers:
        if not any(_uses_no_more(k, o) for k in kept):
            kept.append(o)
    return kept


def _uses_no_more(k: Offering, o: Offering) -> bool:
    """Whether `k` draws on no quota more than `o` does (GPU quotas are per accelerator name)."""
    same_gpu = k.accelerator.upper() == o.accelerator.upper()
    gpus_ok = k.accelerator_count == 0 or (same_gpu and k.accelerator_count <= o.accelerator_count)
    return k.vcpus <= o.vcpus and gpus_ok


def _pool(offerings: Iterable[Offering], spot: bool) -> dict[str, list[Offering]]:
    """Offerings per region, cheapest first (for a job that does or does not allow spot)."""
    grouped: dict[str, list[Offering]] = {}
    for o in offerings:
        grouped.setdefault(o.region_key, []).append(o)
    for offers in grouped.values():
        offers.sort(key=lambda o: (o.hourly(spot), o.instance_type))
    return grouped


def _by_region(
    job: Job, pool: dict[str, list[Offering]], quota_regions: frozenset[str]
) -> dict[str, list[Offering]]:
    """Per region, the offerings worth considering: the cheapest, or the Pareto set under quotas."""
    out: dict[str, list[Offering]] = {}
    for key, offers in pool.items():
        if key in quota_regions:
            fitting = [o for o in offers if fits(o, job)]
            if fitting:
                out[key] = _pareto(fitting, job.spot)
            continue
        cheapest = next((o for o in offers if fits(o, job)), None)  # the pool is sorted
        if cheapest is not None:
            out[key] = [cheapest]
    return out


def option_for(job: Job, o: Offering) -> Option:
    """The option of running `job` on offering `o` (spot where the job allows it)."""
    hourly = o.hourly(job.spot)
    usd = hourly * job.nodes * job.hours
    return Option(o, o.uses_spot(job.spot), hourly, usd, micro_usd(usd))


def allowed_regions(spec: SkySpec, catalog: Catalog, job: Job) -> frozenset[str]:
    """Regions that pass every rule for `job` (blocks aside)."""
    rules = region_rules(spec, job)
    return frozenset(r.key for r in catalog.regions if all(rule(r) for _, rule in rules))


def build_candidates(
    spec: SkySpec, catalog: Catalog, blocked: frozenset[Block] = frozenset()
) -> dict[str, list[Option]]:
    """Every job's options before dominance pruning (jobs with none map to an empty list)."""
    offerings = (
        [o for o in catalog.offerings if not any(b.covers(o) for b in blocked)]
        if blocked
        else list(catalog.offerings)
    )
    quota_regions = frozenset(k for k, _ in catalog.quota_limits)
    # a job with accelerators can only use offerings with that accelerator: look at those only
    by_accel: dict[str, list[Offering]] = {}
    for o in offerings:
        by_accel.setdefault(o.accelerator.lower(), []).append(o)
    pools: dict[tuple[str, bool], dict[str, list[Offering]]] = {}
    by_sig: dict[tuple[object, ...], dict[str, list[Offering]]] = {}
    by_rules: dict[tuple[object, ...], frozenset[str]] = {}
    out: dict[str, list[Option]] = {}
    for job in spec.jobs:
        sig = _signature(job)
        if sig not in by_sig:
            accel = job.accelerator.lower() if job.accelerator else ""
            if (accel, job.spot) not in pools:
                pools[(accel, job.spot)] = _pool(
                    by_accel.get(accel, []) if accel else offerings, job.spot
                )
            by_sig[sig] = _by_region(job, pools[(accel, job.spot)], quota_regions)
        rkey = (job.regions, job.restriction)
        if rkey not in by_rules:
            by_rules[rkey] = allowed_regions(spec, catalog, job)
        allowed = by_rules[rkey]
        per_region = by_sig[sig]
        out[job.name] = [
            option_for(job, o)
            for key in sorted(allowed & per_region.keys())
            for o in per_region[key]
        ]
    return out


def prune(spec: SkySpec, catalog: Catalog, blocked: frozenset[Block] = frozenset()) -> Candidates:
    """Candidates for every job after exact pruning (empty options mean no allowed region)."""
    from skyplan.solver.dominance import dominated_options, dominated_regions

    options = build_candidates(spec, catalog, blocked)
    quota_regions = frozenset(k for k, _ in catalog.quota_limits)
    dropped = dominated_regions(spec, catalog, options, quota_regions)
    options = {k: [o for o in v if o.region not in dropped] for k, v in options.items()}
    options = dominated_options(spec, catalog, options, quota_regions)
    jobs = tuple(JobOptions(job, tuple(options[job.name])) for job in spec.jobs)
    return Candidates(jobs, tuple(sorted(dropped)))
