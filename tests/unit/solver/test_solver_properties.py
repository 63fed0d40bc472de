"""Property tests of the solver against a brute-force oracle of SPEC section 2.

Random small catalogs (built directly as `Catalog` objects) and random small sky specs (built as
YAML-shaped dicts and sent through the real loader and resolver) are solved by skyplan and by an
exhaustive oracle written here from SPEC.md alone. The oracle reads the spec dict it generated, not
the resolved SkySpec, and shares no code with `skyplan.solver`: it parses its own sizes, inherits
jurisdictions itself, prices egress itself and enumerates every assignment of jobs to regions and
offerings. All its arithmetic is exact (`Fraction`).

Generated prices have at most 4 decimals, hours 1 decimal and most sizes at most 2 decimals of a GB,
so every cost term is a whole number of micro-dollars and the solver's micro-dollar objective is
exact; a few sizes are in GiB to exercise rounding, hence the 1e-5 USD tolerance.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from skyplan.catalog.models import Catalog, EgressRate, Offering, Quota, Region
from skyplan.errors import InfeasibleError, SpecError
from skyplan.plan import Plan, plan_to_json
from skyplan.solver.costs import transfers_for
from skyplan.solver.solve import Limits, solve, solve_detailed
from skyplan.spec.load import parse_spec
from skyplan.spec.model import SkySpec, satisfies
from skyplan.spec.resolve import resolve
from skyplan.spec.yamlpos import load_yaml
from skyplan.units import micro_usd

TOLERANCE = Fraction(1, 100_000)  # 1e-5 USD: the solver rounds each term to micro-dollars
SCOPES = ("inter-region-same-continent", "inter-region-other-continent", "internet")
DEFAULT_CLOUDS = ("aws", "gcp", "azure")

COMMON = dict(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------------------------
# Strategies: catalogs
# --------------------------------------------------------------------------------------------

REGION_POOL = {
    "eu-west-1": "europe",
    "eu-central-1": "europe",
    "eu-north-1": "europe",
    "us-east-1": "north-america",
    "us-west-2": "north-america",
    "ca-central-1": "north-america",
}
COUNTRIES = {"europe": ("DE", "FR", "IE"), "north-america": ("US", "CA")}
EXTRA_TAGS = {"europe": ("EU", "EEA"), "north-america": ("USMCA",)}
PRICES = ("0.05", "0.1", "0.25", "0.5", "0.9876", "1", "1.5", "2.5", "3.0625")
FACTORS = ("1", "1", "1", "0.9", "1.1", "1.25")
RATES = ("0", "0.01", "0.02", "0.05", "0.0875", "0.09", "0.12")
ACCELERATORS = ("A100", "T4", "a100")
Q4 = Decimal("0.0001")


def sometimes(draw: st.DrawFn, one_in: int) -> bool:
    """True about once in `one_in` draws; False is the simple case Hypothesis shrinks towards."""
    return draw(st.integers(0, one_in - 1)) == 1


@st.composite
def regions_of(draw: st.DrawFn, cloud: str) -> list[Region]:
    names = draw(
        st.lists(st.sampled_from(sorted(REGION_POOL)), min_size=1, max_size=3, unique=True)
    )
    out = []
    for name in names:
        continent = REGION_POOL[name]
        country = draw(st.sampled_from(COUNTRIES[continent]))
        extra = draw(st.sets(st.sampled_from(EXTRA_TAGS[continent])))
        out.append(Region(cloud, name, country, frozenset({country, *extra}), continent))
    return out


@st.composite
def instance_types(draw: st.DrawFn, cloud: str) -> list[tuple[str, int, int, str, int, str]]:
    """(name, vcpus, memory, accelerator, count, base price) of a cloud's machine types."""
    n = draw(st.integers(2, 4))
    out = []
    for k in range(n):
        vcpus = draw(st.sampled_from((8, 16) if k == 0 else (1, 2, 4, 8, 16)))
        memory = draw(st.sampled_from((32, 64) if k == 0 else (1, 2, 4, 8, 16, 32, 64)))
        accel, count = "", 0
        if k > 0 and draw(st.booleans()):
            accel = draw(st.sampled_from(ACCELERATORS))
            count = draw(st.sampled_from((1, 2, 4)))
        out.append((f"{cloud}-t{k}", vcpus, memory, accel, count, draw(st.sampled_from(PRICES))))
    return out


@st.composite
def catalogs(draw: st.DrawFn, quota_heavy: bool = False) -> Catalog:
    clouds = draw(
        st.lists(st.sampled_from(DEFAULT_CLOUDS), min_size=2, max_size=3, unique=True).map(sorted)
    )
    regions: list[Region] = []
    offerings: list[Offering] = []
    egress: list[EgressRate] = []
    for cloud in clouds:
        cloud_regions = draw(regions_of(cloud))
        types = draw(instance_types(cloud))
        for region in cloud_regions:
            chosen = draw(st.lists(st.sampled_from(types), min_size=2, max_size=4, unique=True))
            for name, vcpus, memory, accel, count, base in chosen:
                price = (Decimal(base) * Decimal(draw(st.sampled_from(FACTORS)))).quantize(Q4)
                spot = None
                if sometimes(draw, 3):
                    spot = (price * Decimal(draw(st.sampled_from(("0.3", "0.5", "1"))))).quantize(
                        Q4
                    )
                offerings.append(
                    Offering(
                        cloud,
                        region.region,
                        name,
                        vcpus,
                        Decimal(memory),
                        accel,
                        count,
                        price,
                        spot,
                    )
                )
        regions += cloud_regions
        for scope in SCOPES:
            egress.append(EgressRate(cloud, scope, Decimal(draw(st.sampled_from(RATES)))))
    quotas: list[Quota] = []
    if quota_heavy:
        for r in regions:
            if draw(st.booleans()):
                limit = draw(st.sampled_from((4, 8, 16, 24)))
                quotas.append(Quota(r.cloud, r.region, "vcpus", limit))
            if sometimes(draw, 2):
                resource = draw(st.sampled_from(("gpus:A100", "gpus:T4")))
                limit = draw(st.sampled_from((0, 2, 4, 8)))
                quotas.append(Quota(r.cloud, r.region, resource, limit))
    elif draw(st.booleans()):
        seen: set[tuple[str, str]] = set()
        for _ in range(draw(st.integers(1, 3))):
            region = draw(st.sampled_from(regions))
            resource = draw(st.sampled_from(("vcpus", "vcpus", "gpus:A100", "gpus:T4")))
            if (region.key, resource) in seen:
                continue
            seen.add((region.key, resource))
            limit = draw(st.sampled_from((0, 2, 4, 8, 8, 16, 32)))
            quotas.append(Quota(region.cloud, region.region, resource, limit))
    return Catalog(tuple(sorted(regions)), tuple(offerings), tuple(egress), tuple(quotas))


# --------------------------------------------------------------------------------------------
# Strategies: specs (YAML-shaped dicts)
# --------------------------------------------------------------------------------------------

SIZES: tuple[Any, ...] = ("40GB", "250MB", "2TB", "1.5TB", "100GB", 7, 0.25, "3GiB")
MEMORIES: tuple[Any, ...] = (2, "8GB", "4GiB", 16, "1.5GiB")
JOB_NAMES = ("train", "align", "prep", "eval")
ACCEL_ASKS = ("A100:1", "a100:2", "T4", "t4:1", "A100")
HOURS = (0.5, 1, 1.5, 2, 2.5, 3.5, 5)


@st.composite
def specs(draw: st.DrawFn, catalog: Catalog) -> dict[str, Any]:
    keys = [r.key for r in catalog.regions]
    all_tags = sorted({t for r in catalog.regions for t in r.tags})
    clouds = list(catalog.clouds)
    # only accelerators some offering has: a name none has is a spec error (unit-tested apart)
    offered = {name.casefold() for name in catalog.accelerators}
    asks = [a for a in ACCEL_ASKS if a.partition(":")[0].casefold() in offered]
    d: dict[str, Any] = {"version": 1, "name": "prop"}
    if sometimes(draw, 4):
        d["clouds"] = draw(st.lists(st.sampled_from(clouds), min_size=1, unique=True))
    policy: dict[str, Any] = {}
    if sometimes(draw, 5):
        policy["jurisdictions"] = draw(
            st.lists(st.sampled_from(all_tags), min_size=1, max_size=2, unique=True)
        )
    if sometimes(draw, 4):
        policy["avoid"] = draw(
            st.lists(
                st.one_of(
                    st.sampled_from(clouds),
                    st.sampled_from(keys),
                    st.sampled_from([f"{c}:*" for c in clouds]),
                ),
                min_size=1,
                max_size=1 + draw(st.integers(0, 3)) // 3,
                unique=True,
            )
        )
    if policy:
        d["policy"] = policy
    if sometimes(draw, 3):
        pair = draw(st.lists(st.sampled_from(clouds), min_size=2, max_size=2, unique=True))
        d["peering"] = [{"clouds": pair, "usd_per_gb": draw(st.sampled_from(RATES[:3]))}]
    datasets: dict[str, Any] = {}
    for i in range(draw(st.integers(0, 3))):
        loc = draw(st.sampled_from(catalog.regions))
        ds: dict[str, Any] = {"size": draw(st.sampled_from(SIZES)), "location": loc.key}
        if sometimes(draw, 4):
            tags = draw(st.lists(st.sampled_from(sorted(loc.tags)), min_size=1, unique=True))
            if draw(st.booleans()):
                tags = list(dict.fromkeys([*tags, draw(st.sampled_from(all_tags))]))
            ds["jurisdictions"] = tags
        datasets[f"d{i}"] = ds
    if datasets:
        d["datasets"] = datasets
    n_jobs = draw(st.integers(2, 4))
    names = draw(st.permutations(JOB_NAMES))[:n_jobs]
    jobs: dict[str, Any] = {}
    readable = list(datasets)
    for k, name in enumerate(names):
        job: dict[str, Any] = {"run": f"echo {name}"}
        res: dict[str, Any] = {}
        if draw(st.booleans()):
            res["cpus"] = draw(st.sampled_from((1, 2, 4, 8)))
        if sometimes(draw, 3):
            res["memory"] = draw(st.sampled_from(MEMORIES))
        if asks and sometimes(draw, 8):
            res["accelerators"] = draw(st.sampled_from(asks))
        if sometimes(draw, 3):
            res["spot"] = True
        if res:
            job["resources"] = res
        if draw(st.booleans()):
            job["nodes"] = draw(st.integers(1, 3))
        job["hours"] = draw(st.sampled_from(HOURS))
        if readable:
            inputs = draw(st.lists(st.sampled_from(readable), max_size=3, unique=True))
            if inputs:
                job["inputs"] = inputs
        if k < n_jobs - 1 and draw(st.booleans()):
            job["outputs"] = {f"{name}-out": draw(st.sampled_from(SIZES))}
        if k > 0 and sometimes(draw, 4):
            job["after"] = [draw(st.sampled_from(names[:k]))]
        if sometimes(draw, 5):
            job["regions"] = draw(
                st.lists(
                    st.one_of(st.sampled_from(keys), st.sampled_from([f"{c}:*" for c in clouds])),
                    min_size=1,
                    max_size=3,
                    unique=True,
                )
            )
        jobs[name] = job
        readable += list(job.get("outputs", {}))
    d["jobs"] = jobs
    return d


@dataclass(frozen=True)
class Scenario:
    catalog: Catalog
    spec: dict[str, Any]
    budget_mode: str  # none, below, above, equal


@st.composite
def scenarios(draw: st.DrawFn, quota_heavy: bool = False) -> Scenario:
    catalog = draw(catalogs(quota_heavy))
    spec = draw(specs(catalog))
    mode = draw(st.sampled_from(("none", "none", "none", "below", "above", "equal")))
    return Scenario(catalog, spec, mode)


# --------------------------------------------------------------------------------------------
# Loading through the real loader path
# --------------------------------------------------------------------------------------------


def load(d: dict[str, Any], catalog: Catalog) -> SkySpec:
    text = yaml.safe_dump(d, sort_keys=False)
    located = load_yaml(Path("sky.yaml"), text=text)
    return resolve(parse_spec(located), located, catalog)


def reordered(d: dict[str, Any]) -> dict[str, Any]:
    """The same spec with every mapping's keys (jobs, data sets, fields) in reverse order."""
    if isinstance(d, dict):
        return {k: reordered(v) for k, v in reversed(list(d.items()))}
    return d


# --------------------------------------------------------------------------------------------
# The oracle: SPEC section 2 from scratch, exact arithmetic, exhaustive enumeration
# --------------------------------------------------------------------------------------------

UNITS = {
    "B": 1,
    "KB": 10**3,
    "MB": 10**6,
    "GB": 10**9,
    "TB": 10**12,
    "PB": 10**15,
    "KIB": 2**10,
    "MIB": 2**20,
    "GIB": 2**30,
    "TIB": 2**40,
    "PIB": 2**50,
}


def _bytes(value: Any, bare: str) -> Fraction:
    if isinstance(value, int | float):
        return Fraction(str(value)) * UNITS[bare]
    text = str(value).strip()
    number = text.rstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    unit = text[len(number) :].strip().upper() or bare
    return Fraction(number.strip()) * UNITS[unit]


def gb(value: Any) -> Fraction:
    return _bytes(value, "GB") / 10**9


def gib(value: Any) -> Fraction:
    return _bytes(value, "GIB") / 2**30


@dataclass
class OracleResult:
    """None total: no plan. `reason` is 'no-region' or 'quota' then."""

    total: Fraction | None
    reason: str = ""
    assignment: tuple[tuple[str, str, str], ...] = ()  # (job, region, instance type)


def egress_rates(catalog: Catalog, d: dict[str, Any]) -> dict[tuple[str, str], Fraction]:
    """USD per GB between every two regions (SPEC section 2, egress rule)."""
    rates = {(e.cloud, e.scope): Fraction(e.usd_per_gb) for e in catalog.egress}
    peering = {frozenset(p["clouds"]): Fraction(str(p["usd_per_gb"])) for p in d.get("peering", [])}
    out: dict[tuple[str, str], Fraction] = {}
    for a in catalog.regions:
        for b in catalog.regions:
            if a.key == b.key:
                rate = Fraction(0)
            elif a.cloud == b.cloud:
                same = a.continent == b.continent
                scope = "inter-region-same-continent" if same else "inter-region-other-continent"
                rate = rates.get((a.cloud, scope), Fraction(0))
            elif frozenset((a.cloud, b.cloud)) in peering:
                rate = peering[frozenset((a.cloud, b.cloud))]
            else:
                rate = rates.get((a.cloud, "internet"), Fraction(0))
            out[a.key, b.key] = rate
    return out


def oracle_restrictions(d: dict[str, Any]) -> tuple[dict[str, list[frozenset[str]]], dict]:
    """(job -> restriction, data set -> restriction): lists of alternatives, all must hold."""
    data: dict[str, list[frozenset[str]]] = {}
    for name, ds in d.get("datasets", {}).items():
        data[name] = [frozenset(ds["jurisdictions"])] if "jurisdictions" in ds else []
    jobs: dict[str, list[frozenset[str]]] = {}
    for name, job in d["jobs"].items():  # generated in an order where producers come first
        r = [alt for i in job.get("inputs", []) for alt in data[i]]
        jobs[name] = r
        for out in job.get("outputs", {}):
            data[out] = r
    return jobs, data


def oracle_allowed(d: dict[str, Any], name: str, region: Region, restriction: list) -> bool:
    job = d["jobs"][name]
    if region.cloud not in d.get("clouds", DEFAULT_CLOUDS):
        return False
    avoid = d.get("policy", {}).get("avoid", [])
    if region.cloud in avoid or f"{region.cloud}:*" in avoid or region.key in avoid:
        return False
    pj = d.get("policy", {}).get("jurisdictions")
    if pj and not region.tags & set(pj):
        return False
    if "regions" in job and not (
        region.key in job["regions"] or f"{region.cloud}:*" in job["regions"]
    ):
        return False
    return all(region.tags & alts for alts in restriction)


def oracle_fits(job: dict[str, Any], o: Offering) -> bool:
    res = job.get("resources", {})
    if o.vcpus < Fraction(str(res.get("cpus", 0))):
        return False
    if Fraction(o.memory_gib) < (gib(res["memory"]) if "memory" in res else 0):
        return False
    if "accelerators" in res:
        name, _, count = str(res["accelerators"]).partition(":")
        return o.accelerator.lower() == name.lower() and o.accelerator_count >= int(count or 1)
    return True


def oracle_compute(job: dict[str, Any], o: Offering) -> Fraction:
    spot = job.get("resources", {}).get("spot", False)
    hourly = o.spot_price if spot and o.spot_price is not None else o.price
    return Fraction(hourly) * job.get("nodes", 1) * Fraction(str(job["hours"]))


def oracle(catalog: Catalog, d: dict[str, Any]) -> OracleResult:
    """The minimum total over every lawful assignment (exhaustive).

    Every combination of allowed regions is enumerated; for each, the jobs sharing a region try
    every combination of their fitting offerings there (quotas are per region, so this is the
    full product of (region, offering) choices, grouped), memoised per (region, jobs)."""
    jobs = d["jobs"]
    names = list(jobs)
    regions = {r.key: r for r in catalog.regions}
    job_r, _ = oracle_restrictions(d)
    fitting: dict[tuple[str, str], list[Offering]] = {}
    for name in names:
        for o in catalog.offerings:
            key = f"{o.cloud}:{o.region}"
            if oracle_allowed(d, name, regions[key], job_r[name]) and oracle_fits(jobs[name], o):
                fitting.setdefault((name, key), []).append(o)
    choices = [sorted({k for n, k in fitting if n == name}) for name in names]
    if any(not c for c in choices):
        return OracleResult(None, "no-region")

    quotas: dict[str, list[tuple[str, int]]] = {}
    for q in catalog.quotas:
        quotas.setdefault(f"{q.cloud}:{q.region}", []).append((q.resource, q.limit))

    def use(o: Offering, resource: str) -> int:
        if resource == "vcpus":
            return o.vcpus
        return o.accelerator_count if resource == f"gpus:{o.accelerator.upper()}" else 0

    group_memo: dict[tuple[str, tuple[str, ...]], tuple[Fraction, tuple[Offering, ...]] | None]
    group_memo = {}

    def group(key: str, members: tuple[str, ...]) -> tuple[Fraction, tuple[Offering, ...]] | None:
        """Cheapest offerings for `members` all in region `key` within its quotas."""
        if (key, members) not in group_memo:
            best: tuple[Fraction, tuple[Offering, ...]] | None = None
            for combo in itertools.product(*(fitting[(m, key)] for m in members)):
                if any(
                    sum(
                        jobs[m].get("nodes", 1) * use(o, res)
                        for m, o in zip(members, combo, strict=True)
                    )
                    > limit
                    for res, limit in quotas.get(key, [])
                ):
                    continue
                cost = sum(
                    (oracle_compute(jobs[m], o) for m, o in zip(members, combo, strict=True)),
                    Fraction(0),
                )
                if best is None or cost < best[0]:
                    best = (cost, combo)
            group_memo[key, members] = best
        return group_memo[key, members]

    rate = egress_rates(catalog, d)
    data: list[tuple[str | None, str | None, Fraction, list[str]]] = []  # location, producer
    for name, ds in d.get("datasets", {}).items():
        data.append((ds["location"], None, gb(ds["size"]), []))
        data[-1][3].extend(n for n in names if name in jobs[n].get("inputs", []))
    for producer in names:
        for out, size in jobs[producer].get("outputs", {}).items():
            readers = [n for n in names if out in jobs[n].get("inputs", [])]
            data.append((None, producer, gb(size), readers))

    best: OracleResult = OracleResult(None, "quota")
    for placed in itertools.product(*choices):
        at = dict(zip(names, placed, strict=True))
        transfer = Fraction(0)
        for location, producer, size, readers in data:
            home = location if location is not None else at[producer or ""]
            for dst in {at[r] for r in readers} - {home}:
                transfer += size * rate[home, dst]
        total = transfer
        chosen: list[tuple[str, str, str]] = []
        for key in sorted(set(placed)):
            members = tuple(n for n in names if at[n] == key)
            g = group(key, members)
            if g is None:
                break
            total += g[0]
            chosen += [(m, key, o.instance_type) for m, o in zip(members, g[1], strict=True)]
        else:
            if best.total is None or total < best.total:
                best = OracleResult(total, assignment=tuple(sorted(chosen)))
    return best


# --------------------------------------------------------------------------------------------
# Shared checks
# --------------------------------------------------------------------------------------------


def with_budget(s: Scenario, minimum: Fraction | None) -> dict[str, Any]:
    """The scenario's spec with its budget set relative to the oracle's minimum."""
    if s.budget_mode == "none" or minimum is None:
        return s.spec
    lo = Decimal(minimum.numerator) / Decimal(minimum.denominator)
    if s.budget_mode == "below":
        budget = (lo * Decimal("0.9") - Decimal("0.01")).quantize(Q4)
        if budget <= 0:
            return s.spec
    elif s.budget_mode == "above":
        budget = (lo * Decimal("1.1") + Decimal("0.01")).quantize(Q4)
    else:
        budget = lo
        if Fraction(budget) != minimum or budget != budget.quantize(Decimal("0.000001")):
            return s.spec  # not exactly representable: skip the knife-edge case
    return {**s.spec, "budget_usd": str(budget)}


def describe_failure(s: Scenario, d: dict[str, Any], *parts: object) -> str:
    lines = [yaml.safe_dump(d, sort_keys=False), repr(s.catalog), *map(str, parts)]
    return "\n".join(lines)


def check_lawful(spec: SkySpec, catalog: Catalog, plan: Plan) -> None:
    """Property (b): every placement and every copy stays within its jurisdictions."""
    regions = catalog.region_by_key
    policy = frozenset([spec.jurisdictions]) if spec.jurisdictions else frozenset()
    for p in plan.placements:
        tags = regions[p.region_key].tags
        job = spec.job(p.job)
        assert satisfies(tags, policy), (p, spec.jurisdictions)
        assert satisfies(tags, job.restriction), (p, job.restriction)
        if job.regions is not None:
            assert p.region_key in job.regions or f"{p.cloud}:*" in job.regions
        assert p.cloud in spec.clouds
        assert not {p.cloud, f"{p.cloud}:*", p.region_key} & set(spec.avoid)
    for t in plan.transfers:
        tags = regions[t.dst].tags
        ds = spec.dataset(t.dataset)
        assert satisfies(tags, ds.restriction), (t, ds.restriction)
        assert satisfies(tags, policy), (t, spec.jurisdictions)


def check_consistent(spec: SkySpec, catalog: Catalog, plan: Plan) -> None:
    """Property (d): transfers follow from placements; money adds up; offerings are real."""
    region_of = {p.job: p.region_key for p in plan.placements}
    assert sorted(region_of) == sorted(j.name for j in spec.jobs)
    assert list(plan.transfers) == transfers_for(spec, catalog, region_of)
    assert plan.total_usd == plan.compute_usd + plan.transfer_usd
    assert plan.compute_usd == sum((p.usd for p in plan.placements), Decimal(0))
    assert plan.transfer_usd == sum((t.usd for t in plan.transfers), Decimal(0))
    by_key = {(o.region_key, o.instance_type): o for o in catalog.offerings}
    for p in plan.placements:
        job = spec.job(p.job)
        o = by_key[(p.region_key, p.instance_type)]
        assert fits_resolved(job, o)
        spot = job.spot and o.spot_price is not None
        assert p.spot == spot
        assert p.usd_per_hour == (o.spot_price if spot else o.price)
        assert p.nodes == job.nodes and p.hours == job.hours
        assert p.usd == p.usd_per_hour * p.nodes * p.hours
    for t in plan.transfers:
        assert t.usd == t.gb * t.usd_per_gb
        assert t.src != t.dst


def fits_resolved(job: Any, o: Offering) -> bool:
    if o.vcpus < job.cpus or o.memory_gib < job.memory_gib:
        return False
    if job.accelerator is None:
        return True
    return (
        o.accelerator.lower() == job.accelerator.lower()
        and o.accelerator_count >= job.accelerator_count
    )


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------


@settings(max_examples=450, **COMMON)
@given(scenarios())
def test_solver_matches_brute_force_oracle(s: Scenario) -> None:
    """(a) the optimum equals the exhaustive minimum; infeasible exactly when the oracle says so."""
    check_against_oracle(s)


@settings(max_examples=150, **COMMON)
@given(scenarios(quota_heavy=True))
def test_solver_matches_brute_force_oracle_under_tight_quotas(s: Scenario) -> None:
    """(a) again, with quotas on most regions so that they bind and interact."""
    check_against_oracle(s)


@settings(max_examples=200, **COMMON)
@given(scenarios())
def test_coupled_rows_match_brute_force_oracle(s: Scenario) -> None:
    """(a) with the coupled rows for produced data (coupled.py), which the solver only picks on
    larger specs by itself."""
    check_against_oracle(s, coupled=True)


@settings(max_examples=100, **COMMON)
@given(scenarios(quota_heavy=True))
def test_coupled_rows_match_brute_force_oracle_under_tight_quotas(s: Scenario) -> None:
    """(a) with the coupled rows where quotas leave a job several options in one region."""
    check_against_oracle(s, coupled=True)


def check_against_oracle(s: Scenario, coupled: bool | None = None) -> None:
    found = oracle(s.catalog, s.spec)
    event(f"oracle: {found.reason or 'plan'}")
    event(f"budget: {s.budget_mode}")
    d = with_budget(s, found.total)
    spec = load(d, s.catalog)
    over_budget = (
        found.total is not None and "budget_usd" in d and found.total > Fraction(d["budget_usd"])
    )
    if found.total is None or over_budget:
        with pytest.raises(InfeasibleError):
            plan = solve(spec, s.catalog, coupled=coupled)
            pytest.fail(describe_failure(s, d, "solver found", plan_to_json(plan), found))
        return
    try:
        result = solve_detailed(spec, s.catalog, limits=Limits(coupled=coupled))
    except InfeasibleError as e:
        pytest.fail(describe_failure(s, d, "solver: infeasible", e.message, "oracle:", found))
    plan = result.plan
    assert plan.solver.status == "OPTIMAL"
    # the model's own price of its optimum is the plan's: a row that under-prices some plan
    # while leaving the best one unchanged shows here (each term is rounded to micro-dollars)
    assert abs(result.stats.bound_micro - micro_usd(plan.total_usd)) <= 10
    gap = abs(Fraction(plan.total_usd) - found.total)
    assert gap <= TOLERANCE, describe_failure(
        s, d, plan_to_json(plan), f"oracle {float(found.total)}", found.assignment
    )
    check_lawful(spec, s.catalog, plan)
    check_consistent(spec, s.catalog, plan)


@settings(max_examples=150, **COMMON)
@given(scenarios())
def test_plans_stay_in_jurisdictions_and_add_up(s: Scenario) -> None:
    """(b) and (d) on plans the solver finds, without the oracle."""
    spec = load(s.spec, s.catalog)
    job_r, data_r = oracle_restrictions(s.spec)  # the resolver inherits as the oracle does
    assert {j.name: j.restriction for j in spec.jobs} == {k: frozenset(v) for k, v in job_r.items()}
    assert {d.name: d.restriction for d in spec.datasets} == {
        k: frozenset(v) for k, v in data_r.items()
    }
    try:
        plan = solve(spec, s.catalog)
    except InfeasibleError:
        return
    check_lawful(spec, s.catalog, plan)
    check_consistent(spec, s.catalog, plan)


@settings(max_examples=100, **COMMON)
@given(scenarios())
def test_same_input_same_bytes(s: Scenario) -> None:
    """(c) solving twice, or with every YAML mapping in reverse order, gives identical bytes."""
    spec = load(s.spec, s.catalog)
    try:
        first = plan_to_json(solve(spec, s.catalog))
    except InfeasibleError as e:
        with pytest.raises(InfeasibleError) as again:
            solve(load(reordered(s.spec), s.catalog), s.catalog)
        assert again.value.message == e.message
        return
    assert plan_to_json(solve(spec, s.catalog)) == first
    assert plan_to_json(solve(load(reordered(s.spec), s.catalog), s.catalog)) == first


# --------------------------------------------------------------------------------------------
# Examples pinning SPEC section 2 by hand
# --------------------------------------------------------------------------------------------


def _offering(key: str, itype: str, price: str, spot: str | None = None, **kw: Any) -> Offering:
    cloud, region = key.split(":")
    return Offering(
        cloud,
        region,
        itype,
        kw.get("vcpus", 4),
        Decimal(kw.get("memory", 16)),
        kw.get("accel", ""),
        kw.get("count", 0),
        Decimal(price),
        Decimal(spot) if spot is not None else None,
    )


def small_catalog(prices: dict[str, str] | None = None) -> Catalog:
    """aws (two EU regions, one US), gcp (one EU, one US), azure (one EU); one type each."""
    regions = (
        Region("aws", "eu-west-1", "IE", frozenset({"IE", "EU"}), "europe"),
        Region("aws", "eu-central-1", "DE", frozenset({"DE", "EU"}), "europe"),
        Region("aws", "us-east-1", "US", frozenset({"US"}), "north-america"),
        Region("gcp", "europe-west4", "NL", frozenset({"NL", "EU"}), "europe"),
        Region("gcp", "us-central1", "US", frozenset({"US"}), "north-america"),
        Region("azure", "westeurope", "NL", frozenset({"NL", "EU"}), "europe"),
    )
    prices = prices or {}
    offerings = tuple(_offering(r.key, f"{r.cloud}.m4", prices.get(r.key, "1")) for r in regions)
    egress = (
        EgressRate("aws", "inter-region-same-continent", Decimal("0.02")),
        EgressRate("aws", "inter-region-other-continent", Decimal("0.05")),
        EgressRate("aws", "internet", Decimal("0.09")),
        EgressRate("gcp", "inter-region-same-continent", Decimal("0.01")),
        EgressRate("gcp", "inter-region-other-continent", Decimal("0.08")),
        EgressRate("gcp", "internet", Decimal("0.12")),
        EgressRate("azure", "inter-region-same-continent", Decimal("0.02")),
        EgressRate("azure", "inter-region-other-continent", Decimal("0.05")),
        EgressRate("azure", "internet", Decimal("0.087")),
    )
    return Catalog(tuple(sorted(regions)), offerings, egress)


def spec_dict(jobs: dict[str, Any], datasets: dict[str, Any] | None = None, **top: Any) -> dict:
    d: dict[str, Any] = {"version": 1, "name": "example", **top}
    if datasets:
        d["datasets"] = datasets
    d["jobs"] = jobs
    return d


def test_one_copy_serves_all_readers_in_a_region() -> None:
    cat = small_catalog()
    d = spec_dict(
        {
            "a": {"run": "a", "hours": 1, "inputs": ["big"], "regions": ["gcp:europe-west4"]},
            "b": {"run": "b", "hours": 2, "inputs": ["big"], "regions": ["gcp:europe-west4"]},
        },
        {"big": {"size": "100GB", "location": "aws:eu-west-1"}},
    )
    plan = solve(load(d, cat), cat)
    assert [(t.dataset, t.src, t.dst, t.usd) for t in plan.transfers] == [
        ("big", "aws:eu-west-1", "gcp:europe-west4", Decimal("9.00"))  # 100 GB x aws internet
    ]
    assert plan.total_usd == Decimal(3) + Decimal(9)
    assert Fraction(plan.total_usd) == oracle(cat, d).total


def test_readers_at_home_need_no_copy() -> None:
    cat = small_catalog({"aws:eu-west-1": "5"})
    d = spec_dict(
        {"a": {"run": "a", "hours": 1, "inputs": ["big"]}},
        {"big": {"size": "1TB", "location": "aws:eu-west-1"}},
    )
    plan = solve(load(d, cat), cat)  # 5 at home beats 1 + 1000 GB x 0.02 elsewhere
    assert plan.placement("a").region_key == "aws:eu-west-1"
    assert plan.transfers == ()
    assert plan.total_usd == Decimal(5)


def test_produced_data_lives_where_its_producer_runs() -> None:
    cat = small_catalog()
    d = spec_dict(
        {
            "make": {"run": "m", "hours": 1, "outputs": {"mid": "50GB"}, "regions": ["aws:*"]},
            "use1": {"run": "u", "hours": 1, "inputs": ["mid"], "regions": ["gcp:us-central1"]},
            "use2": {"run": "u", "hours": 1, "inputs": ["mid"], "regions": ["gcp:us-central1"]},
        }
    )
    plan = solve(load(d, cat), cat)
    src = plan.placement("make").region_key
    assert src.startswith("aws:")
    assert [(t.dataset, t.src, t.dst) for t in plan.transfers] == [("mid", src, "gcp:us-central1")]
    assert plan.transfer_usd == Decimal("50") * Decimal("0.09")
    assert Fraction(plan.total_usd) == oracle(cat, d).total


def test_jurisdictions_are_inherited_by_outputs_and_their_readers() -> None:
    cat = small_catalog({"aws:us-east-1": "0.01", "gcp:us-central1": "0.01"})
    d = spec_dict(
        {
            "make": {"run": "m", "hours": 1, "inputs": ["pii"], "outputs": {"mid": "1GB"}},
            "use": {"run": "u", "hours": 1, "inputs": ["mid"]},
        },
        {"pii": {"size": "1GB", "location": "aws:eu-central-1", "jurisdictions": ["DE"]}},
    )
    plan = solve(load(d, cat), cat)
    assert {p.region_key for p in plan.placements} == {"aws:eu-central-1"}


@pytest.mark.parametrize(
    ("home", "reader", "rate"),
    [
        ("aws:eu-west-1", "gcp:europe-west4", "0.01"),  # peered, aws -> gcp
        ("gcp:europe-west4", "aws:eu-west-1", "0.01"),  # peered, gcp -> aws
        ("azure:westeurope", "aws:eu-west-1", "0.087"),  # not peered: azure's internet rate
        ("aws:eu-west-1", "azure:westeurope", "0.09"),  # not peered: aws's internet rate
        ("aws:eu-west-1", "aws:us-east-1", "0.05"),  # same cloud, other continent
        ("aws:eu-west-1", "aws:eu-central-1", "0.02"),  # same cloud, same continent
    ],
)
def test_peering_applies_in_both_directions(home: str, reader: str, rate: str) -> None:
    cat = small_catalog()
    d = spec_dict(
        {"a": {"run": "a", "hours": 1, "inputs": ["x"], "regions": [reader]}},
        {"x": {"size": "10GB", "location": home}},
        peering=[{"clouds": ["aws", "gcp"], "usd_per_gb": 0.01}],
    )
    plan = solve(load(d, cat), cat)
    (t,) = plan.transfers
    assert (t.src, t.dst, t.usd_per_gb, t.usd) == (home, reader, Decimal(rate), 10 * Decimal(rate))


@pytest.mark.parametrize(
    ("spot", "listed", "price", "uses_spot"),
    [(True, "0.3", "0.3", True), (False, "0.3", "1", False), (True, None, "1", False)],
)
def test_spot_price_only_when_asked_and_listed(
    spot: bool, listed: str | None, price: str, uses_spot: bool
) -> None:
    regions = (Region("aws", "eu-west-1", "IE", frozenset({"IE"}), "europe"),)
    offerings = (_offering("aws:eu-west-1", "m", "1", listed),)
    egress = tuple(EgressRate("aws", s, Decimal("0.02")) for s in SCOPES)
    cat = Catalog(regions, offerings, egress)
    d = spec_dict({"a": {"run": "a", "hours": 2, "nodes": 3, "resources": {"spot": spot}}})
    (p,) = solve(load(d, cat), cat).placements
    assert (p.spot, p.usd_per_hour, p.usd) == (uses_spot, Decimal(price), 6 * Decimal(price))


def test_budget_is_a_hard_cap_and_equality_is_allowed() -> None:
    cat = small_catalog()
    d = spec_dict({"a": {"run": "a", "hours": 2, "nodes": 2}})
    assert solve(load({**d, "budget_usd": "4"}, cat), cat).total_usd == 4
    with pytest.raises(InfeasibleError, match="budget"):
        solve(load({**d, "budget_usd": "3.99"}, cat), cat)


def test_quotas_count_every_job_at_once() -> None:
    regions = (
        Region("aws", "eu-west-1", "IE", frozenset({"IE"}), "europe"),
        Region("aws", "eu-central-1", "DE", frozenset({"DE"}), "europe"),
    )
    offerings = (
        _offering("aws:eu-west-1", "m", "1", vcpus=4),
        _offering("aws:eu-central-1", "m", "2", vcpus=4),
    )
    egress = tuple(EgressRate("aws", s, Decimal(0)) for s in SCOPES)
    cat = Catalog(regions, offerings, egress, (Quota("aws", "eu-west-1", "vcpus", 8),))
    d = spec_dict({n: {"run": n, "hours": 1} for n in ("a", "b", "c")})
    plan = solve(load(d, cat), cat)
    assert sorted(p.region for p in plan.placements).count("eu-west-1") == 2
    assert plan.total_usd == 1 + 1 + 2


def test_ties_give_identical_bytes_within_and_across_processes(tmp_path: Path) -> None:
    # every EU region costs the same and the data set is small: many plans share the minimum
    cat = small_catalog({k: "1" for k in ("aws:us-east-1", "gcp:us-central1")})
    d = spec_dict(
        {
            "a": {"run": "a", "hours": 1, "inputs": ["x"], "outputs": {"y": "1GB"}},
            "b": {"run": "b", "hours": 1, "inputs": ["y"]},
            "c": {"run": "c", "hours": 1},
        },
        {"x": {"size": "1GB", "location": "azure:westeurope", "jurisdictions": ["EU"]}},
        peering=[{"clouds": ["aws", "gcp"], "usd_per_gb": 0}],
    )
    spec = load(d, cat)
    runs = {plan_to_json(solve(spec, cat)) for _ in range(3)}
    runs.add(plan_to_json(solve(load(reordered(d), cat), cat)))
    assert len(runs) == 1

    # across processes with different hash seeds (set iteration order differs between them)
    _write_catalog(cat, tmp_path / "catalog")
    (tmp_path / "sky.yaml").write_text(yaml.safe_dump(d, sort_keys=False), encoding="utf-8")
    script = textwrap.dedent(
        """
        import sys
        from pathlib import Path
        from skyplan.catalog.load import load_catalog
        from skyplan.plan import plan_to_json
        from skyplan.solver.solve import Limits, solve, solve_detailed
        from skyplan.spec.resolve import load_spec
        cat = load_catalog(Path(sys.argv[1]))
        sys.stdout.write(plan_to_json(solve(load_spec(Path(sys.argv[2]), cat), cat)))
        """
    )
    for seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", script, str(tmp_path / "catalog"), str(tmp_path / "sky.yaml")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        runs.add(out.stdout)
    assert len(runs) == 1, runs
    assert json.loads(runs.pop())["solver"] == {"status": "OPTIMAL"}


def _write_catalog(cat: Catalog, folder: Path) -> None:
    folder.mkdir()
    rows = ["cloud,region,country,jurisdictions,continent,lat,lon"]
    rows += [
        f"{r.cloud},{r.region},{r.country},{';'.join(sorted(r.tags - {r.country}))},"
        f"{r.continent},0,0"
        for r in cat.regions
    ]
    (folder / "regions.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = [
        "cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,"
        "price_usd_hour,spot_price_usd_hour"
    ]
    rows += [
        f"{o.cloud},{o.region},{o.instance_type},{o.vcpus},{o.memory_gib},{o.accelerator},"
        f"{o.accelerator_count},{o.price},{'' if o.spot_price is None else o.spot_price}"
        for o in cat.offerings
    ]
    (folder / "offerings.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    rows = ["cloud,scope,usd_per_gb"] + [f"{e.cloud},{e.scope},{e.usd_per_gb}" for e in cat.egress]
    (folder / "egress.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def test_no_fitting_offering_without_memory_is_infeasible() -> None:
    cat = small_catalog()
    gpu = _offering(cat.regions[0].key, "gpu-a100", "3", accel="A100", count=1)
    cat = replace(cat, offerings=(*cat.offerings, gpu))
    d = spec_dict({"a": {"run": "a", "hours": 1, "resources": {"accelerators": "A100:2"}}})
    with pytest.raises(InfeasibleError, match="no offering"):
        solve(load(d, cat), cat)


def test_accelerator_no_offering_has_is_a_spec_error_not_infeasible() -> None:
    cat = small_catalog()  # CPU machines only
    d = spec_dict({"a": {"run": "a", "hours": 1, "resources": {"accelerators": "A100:1"}}})
    with pytest.raises(SpecError, match="no offering in the catalog has accelerator 'A100'"):
        load(d, cat)


def test_gpu_quota_pruning_respects_accelerator_names() -> None:
    regions = (Region("aws", "eu-west-1", "IE", frozenset({"IE"}), "europe"),)
    offerings = (
        _offering("aws:eu-west-1", "gpu-t4", "1", accel="T4", count=1),
        _offering("aws:eu-west-1", "gpu-a100", "2", accel="A100", count=1),
    )
    egress = tuple(EgressRate("aws", s, Decimal(0)) for s in SCOPES)
    cat = Catalog(regions, offerings, egress, (Quota("aws", "eu-west-1", "gpus:T4", 0),))
    d = spec_dict({"a": {"run": "a", "hours": 1}})  # any offering fits; the T4 one breaks quota
    assert oracle(cat, d).total == 2
    plan = solve(load(d, cat), cat)
    assert plan.placement("a").instance_type == "gpu-a100"
