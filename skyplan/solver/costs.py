"""The cost model of SPEC section 2 evaluated on a given assignment (exact, in Decimal)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal

from skyplan.catalog.models import Catalog, egress_usd_per_gb
from skyplan.plan import Placement, Plan, SolverInfo, Transfer
from skyplan.solver.candidates import Candidates, Option
from skyplan.spec.model import SkySpec
from skyplan.units import micro_usd


def transfers_for(
    spec: SkySpec,
    catalog: Catalog,
    region_of: Mapping[str, str],
    only: Collection[str] | None = None,
) -> list[Transfer]:
    """One copy per data set per region (other than its home) where some reader runs; `only`
    limits the work to those data sets."""
    regions = catalog.region_by_key
    out: list[Transfer] = []
    for d in spec.datasets:
        if only is not None and d.name not in only:
            continue
        home = d.location if d.location is not None else region_of[d.producer or ""]
        for dst in sorted({region_of[r] for r in d.readers} - {home}):
            rate = egress_usd_per_gb(catalog, regions[home], regions[dst], spec.peering)
            out.append(Transfer(d.name, home, dst, d.size_gb, rate, d.size_gb * rate))
    return out


def placement_of(job_name: str, option: Option, spec: SkySpec) -> Placement:
    """A Placement for a job run as `option`."""
    job = spec.job(job_name)
    o = option.offering
    return Placement(
        job_name,
        o.cloud,
        o.region,
        o.instance_type,
        option.spot,
        job.nodes,
        job.hours,
        option.hourly,
        option.usd,
    )


def plan_for(
    spec: SkySpec, catalog: Catalog, chosen: Mapping[str, Option], solver: SolverInfo
) -> Plan:
    """The Plan of an assignment of one option per job."""
    placements = tuple(placement_of(j.name, chosen[j.name], spec) for j in spec.jobs)
    region_of = {name: opt.region for name, opt in chosen.items()}
    return Plan(spec.name, placements, tuple(transfers_for(spec, catalog, region_of)), solver)


def choice_total(
    spec: SkySpec, catalog: Catalog, cands: Candidates, choice: Sequence[int]
) -> Decimal:
    """The exact total of the plan that runs each job as its option `choice[i]`."""
    chosen = {jo.job.name: jo.options[k] for jo, k in zip(cands.jobs, choice, strict=True)}
    return plan_for(spec, catalog, chosen, SolverInfo("FEASIBLE")).total_usd


class CopyPrices:
    """Micro-dollar prices of copying one data set between two regions, cached (the same
    rounding the CP-SAT objective uses)."""

    def __init__(self, spec: SkySpec, catalog: Catalog):
        self.spec, self.catalog = spec, catalog
        self.cache: dict[tuple[str, str, str], int] = {}
        self.rates: dict[tuple[str, str], Decimal] = {}

    def rate(self, src: str, dst: str) -> Decimal:
        """USD per GB from region src to region dst (`cloud:region` keys), cached."""
        key = (src, dst)
        if key not in self.rates:
            regions = self.catalog.region_by_key
            self.rates[key] = egress_usd_per_gb(
                self.catalog, regions[src], regions[dst], self.spec.peering
            )
        return self.rates[key]

    def copy(self, dataset: str, size: Decimal, src: str, dst: str) -> int:
        """Price in micro-dollars of one copy of `dataset` (size in GB) from src to dst."""
        key = (dataset, src, dst)
        if key not in self.cache:
            self.cache[key] = micro_usd(size * self.rate(src, dst))
        return self.cache[key]
