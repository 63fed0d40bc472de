"""Promotion: carry the placements reviewed in one environment into another, unchanged."""

from __future__ import annotations

from skyplan.catalog.models import Catalog, Offering
from skyplan.plan import Plan, SolverInfo
from skyplan.review.diff import rule_checks
from skyplan.solver.candidates import Option, fits, option_for, region_rules
from skyplan.solver.costs import plan_for
from skyplan.spec.model import SkySpec

PINNED = "PINNED"


def pin(
    spec: SkySpec, catalog: Catalog, reviewed: Plan, origin: str
) -> tuple[Plan | None, list[str]]:
    """The plan of `spec` with every job where `reviewed` put it (region, instance type, spot),
    priced for `spec` (its nodes and hours), or the reasons it breaks the rules of `spec`."""
    offerings: dict[tuple[str, str], Offering] = {
        (o.region_key, o.instance_type): o for o in catalog.offerings
    }
    placed = {p.job: p for p in reviewed.placements}
    problems: list[str] = []
    chosen: dict[str, Option] = {}
    for job in spec.jobs:
        p = placed.get(job.name)
        if p is None:
            problems.append(f"job {job.name} has no placement in the reviewed plan ({origin})")
            continue
        offering = offerings.get((p.region_key, p.instance_type))
        region = catalog.region_by_key.get(p.region_key)
        if offering is None or region is None:
            problems.append(
                f"job {job.name}: {p.region_key} {p.instance_type} is not in the catalog"
            )
            continue
        if not fits(offering, job):
            problems.append(f"job {job.name}: {p.instance_type} does not fit its resources here")
        problems += [
            f"job {job.name} in {p.region_key} breaks {name}"
            for name, rule in region_rules(spec, job)
            if not rule(region)
        ]
        option = option_for(job, offering)
        if p.spot != option.spot:
            kind = "spot" if p.spot else "on-demand"
            problems.append(
                f"job {job.name} runs {kind} in {origin} but would not here "
                f"(its `spot:` setting or the offering's spot price differs)"
            )
        chosen[job.name] = option
    if problems:
        return None, problems
    plan = plan_for(spec, catalog, chosen, SolverInfo(PINNED, origin=origin))
    problems += [r.text for r in rule_checks(spec, catalog, plan) if not r.ok]
    return (None, problems) if problems else (plan, [])
