"""Why there is no plan (which rule took a job's last region, which cost breaks the budget),
and each job's runner-up region."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from skyplan.catalog.models import Catalog, Offering
from skyplan.errors import Where
from skyplan.plan import Plan
from skyplan.solver.blocked import Block
from skyplan.solver.candidates import Option, build_candidates, fits, region_rules
from skyplan.solver.costs import transfers_for
from skyplan.spec.model import Job, SkySpec
from skyplan.units import fmt_usd


def _needs(job: Job) -> str:
    """What the job asks for, leaving out what it does not ask for (cpus or memory of 0)."""
    parts = []
    if job.cpus:
        parts.append(f"{job.cpus.normalize():f} vCPUs")
    if job.memory_gib:
        parts.append(f"{job.memory_gib.normalize():f} GiB")
    if job.accelerator:
        parts.append(f"{job.accelerator_count}x {job.accelerator}")
    return ", ".join(parts) or "any size"


def _names(keys: list[str], limit: int = 5) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f" and {len(keys) - limit} more" if len(keys) > limit else "")


def _job_reason(
    spec: SkySpec, catalog: Catalog, blocked: frozenset[Block], job: Job
) -> tuple[str, list[str]]:
    """One line saying which rule removed the last region of `job`, and the steps before it.

    The rules apply in the order a user reads them (clouds, policy.avoid, policy.jurisdictions,
    the job's regions, its data's jurisdictions), each to the regions the earlier ones left: the
    rule that empties the set is the culprit, and each earlier rule that removed any is a step
    naming only those it removed."""
    fitting = [o for o in catalog.offerings if fits(o, job)]
    if not fitting:
        accel = f" with {job.accelerator}" if job.accelerator else ""
        extra = ""
        if job.accelerator:  # a name no offering has is an input error before the solve
            name = job.accelerator.casefold()
            most = max(
                (
                    o.accelerator_count
                    for o in catalog.offerings
                    if o.accelerator.casefold() == name
                ),
                default=0,
            )
            extra = f" (the most {job.accelerator} on one machine: {most})"
        return f"job {job.name}: no offering in the catalog{accel} fits ({_needs(job)}){extra}", []
    left = sorted({o.region_key for o in fitting})
    steps: list[str] = []
    for rule_name, rule in region_rules(spec, job):
        kept = [k for k in left if rule(catalog.region_by_key[k])]
        if not kept:
            line = (
                f"job {job.name} lost its last region to {rule_name}: it ruled out {_names(left)}"
            )
            if steps:  # earlier rules took regions too: show the way there, rule by rule
                fit = _count(sorted({o.region_key for o in fitting}))
                head = f"rule by rule, from the {fit} with an offering that fits ({_needs(job)}):"
                last = f"- {rule_name} ruled out the other {_count(left)} (none left)"
                steps = [head, *steps, last]
            return line, steps
        if len(kept) < len(left):
            removed = sorted(set(left) - set(kept))
            steps.append(f"- {rule_name} ruled out {_names(removed)} ({_count(kept)} left)")
        left = kept
    hits = sorted(
        {b.describe() for b in blocked for o in fitting if o.region_key in left and b.covers(o)}
    )
    line = f"job {job.name}: every allowed offering is blocked by failed applies: {_names(hits)}"
    return line, []


def _count(keys: list[str]) -> str:
    return f"{len(keys)} region{'s' if len(keys) != 1 else ''}"


def explain_no_region(
    spec: SkySpec, catalog: Catalog, blocked: frozenset[Block], jobs: list[Job]
) -> dict[str, Any]:
    """Message and hint for jobs left with no allowed offering."""
    reasons = [_job_reason(spec, catalog, blocked, j) for j in jobs]
    if len(reasons) == 1:
        line, steps = reasons[0]
        message = "no plan: " + line + "".join(f"\n  {step}" for step in steps)
    else:
        message = f"no plan: {len(reasons)} jobs have no allowed region" + "".join(
            f"\n  - {line}" + "".join(f"\n    {step}" for step in steps) for line, steps in reasons
        )
    first = jobs[0]
    return {
        "message": message,
        "where": Where(spec.source, first.line, field=f"jobs.{first.name}"),
        "hint": "relax that rule (policies and jurisdictions are never relaxed for you), "
        "ask for less, or add offerings with --catalog",
    }


def explain_budget(spec: SkySpec, plan: Plan, proven: bool = True) -> dict[str, Any]:
    """Message and hint when the cheapest plan costs more than budget_usd."""
    assert spec.budget_usd is not None
    total = plan.total_usd
    items: list[tuple[Decimal, str]] = [
        (p.usd, f"job {p.job} on {p.region_key} {p.instance_type} x{p.nodes} for {p.hours}h")
        for p in plan.placements
    ] + [(t.usd, f"copy of {t.dataset} {t.src} -> {t.dst}") for t in plan.transfers]
    items.sort(key=lambda x: (-x[0], x[1]))
    top = "\n".join(
        f"  - {fmt_usd(usd)} ({usd / total:.0%}) {what}" for usd, what in items[:3] if total
    )
    cheapest = "the cheapest possible total is" if proven else "the cheapest plan found costs"
    return {
        "where": Where(spec.source, field="budget_usd"),
        "message": (
            f"no plan within budget_usd {fmt_usd(spec.budget_usd)}: {cheapest} {fmt_usd(total)} "
            f"(compute {fmt_usd(plan.compute_usd)}, transfer {fmt_usd(plan.transfer_usd)}), "
            f"{fmt_usd(total - spec.budget_usd)} over. Largest costs:\n{top}"
        ),
        "hint": f"raise budget_usd to at least {fmt_usd(total)}; or allow spot, more clouds or "
        "regions; or shorten the largest jobs",
    }


def explain_quotas(built: Any, core_literals: tuple[int, ...]) -> dict[str, Any]:
    """Message and hint when quotas.csv leaves no room for every job at once."""
    core = set(core_literals)
    rows = [q for q in built.quota_rows if q.literal in core] or list(built.quota_rows)
    lines = [f"  - {q.region} {q.resource} limit {q.limit}" for q in rows]
    return {
        "message": "no plan: the quotas cannot hold every job at once (all jobs count as running "
        "together):\n" + "\n".join(lines),
        "hint": "raise those limits in quotas.csv or allow more regions",
    }


@dataclass(frozen=True)
class RunnerUp:
    """The next best allowed region for one job, all else fixed, and how much more it costs."""

    job: str
    region: str
    instance_type: str
    extra_usd: Decimal


def runner_ups(
    spec: SkySpec, catalog: Catalog, plan: Plan, blocked: frozenset[Block] = frozenset()
) -> dict[str, RunnerUp | None]:
    """Per job: move it alone to each other allowed region (within quotas); the cheapest such
    move and how much it adds to the whole plan."""
    options = build_candidates(spec, catalog, blocked)
    region_of = {p.job: p.region_key for p in plan.placements}
    usage = _quota_usage(spec, catalog, plan)
    out: dict[str, RunnerUp | None] = {}
    for job in spec.jobs:
        current = plan.placement(job.name)
        names = {*job.inputs, *(o.name for o in job.outputs)}

        def data_usd(regions: dict[str, str], names: set[str] = names) -> Decimal:
            return sum((t.usd for t in transfers_for(spec, catalog, regions, names)), Decimal(0))

        base = current.usd + data_usd(region_of)
        best: RunnerUp | None = None
        for opt in options[job.name]:
            if opt.region == current.region_key or not _fits_quota(catalog, usage, job, opt):
                continue
            extra = opt.usd + data_usd({**region_of, job.name: opt.region}) - base
            if best is None or (extra, opt.region) < (best.extra_usd, best.region):
                best = RunnerUp(job.name, opt.region, opt.offering.instance_type, extra)
        out[job.name] = best
    return out


def _uses(o: Offering, nodes: int) -> dict[str, int]:
    use = {"vcpus": o.vcpus * nodes}
    if o.accelerator:
        use[f"gpus:{o.accelerator.upper()}"] = o.accelerator_count * nodes
    return use


def _quota_usage(spec: SkySpec, catalog: Catalog, plan: Plan) -> dict[tuple[str, str], int]:
    """What the plan draws on each quota'd (region, resource)."""
    by_key = {(o.region_key, o.instance_type): o for o in catalog.offerings}
    usage: dict[tuple[str, str], int] = {}
    for p in plan.placements:
        o = by_key.get((p.region_key, p.instance_type))
        if o is not None:
            for res, n in _uses(o, p.nodes).items():
                usage[(p.region_key, res)] = usage.get((p.region_key, res), 0) + n
    return usage


def _fits_quota(catalog: Catalog, usage: dict[tuple[str, str], int], job: Job, opt: Option) -> bool:
    limits = catalog.quota_limits
    return all(
        usage.get((opt.region, res), 0) + n <= limits[(opt.region, res)]
        for res, n in _uses(opt.offering, job.nodes).items()
        if (opt.region, res) in limits
    )
