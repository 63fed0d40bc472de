"""The coupled rows for produced data (coupled.py): exact on integer plans, tighter LP."""

from __future__ import annotations

import copy
import itertools
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from synthetic_specs import synthetic

from skyplan.catalog.models import Catalog, EgressRate, Offering, Region
from skyplan.solver import solve as solve_module
from skyplan.solver.candidates import prune
from skyplan.solver.costs import choice_total
from skyplan.solver.lp import glop, lp_arrays
from skyplan.solver.model import BuiltModel, build_model, set_hint
from skyplan.solver.sat import run_cp_sat, status_name
from skyplan.solver.solve import Limits, solve_detailed
from skyplan.spec.load import parse_spec
from skyplan.spec.resolve import resolve
from skyplan.spec.yamlpos import load_yaml
from skyplan.units import micro_usd

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))


def violated(built: BuiltModel, values: list[int]) -> list[int]:
    """Indices of the model's constraints that `values` breaks (quota rows count as enforced)."""

    def lit(x: int) -> int:
        return values[x] if x >= 0 else 1 - values[-x - 1]

    bad = []
    for i, ct in enumerate(built.proto.constraints):
        if ct.has_exactly_one():
            ok = sum(lit(x) for x in ct.exactly_one.literals) == 1
        elif ct.has_bool_or():
            ok = any(lit(x) for x in ct.bool_or.literals)
        else:
            terms = zip(ct.linear.vars, ct.linear.coeffs, strict=True)
            total = sum(c * values[v] for v, c in terms)
            lo, hi = ct.linear.domain[0], ct.linear.domain[-1]
            ok = lo <= total <= hi
        if not ok:
            bad.append(i)
    return bad


def objective(built: BuiltModel, values: list[int]) -> int:
    obj = built.proto.objective
    return sum(c * values[v] for v, c in zip(obj.vars, obj.coeffs, strict=True))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_plan_is_a_solution_of_the_coupled_model_at_its_exact_price(
    tmp_path: Path, seed: int
) -> None:
    """The hint the model derives from any assignment satisfies every row, and its objective
    is the plan's price: the same as the plain rows' to the micro-dollar (both round each term
    to micro-dollars), within that rounding of the exact total. So the coupled rows neither
    forbid a plan nor misprice one."""
    spec, cat, cands = synthetic(tmp_path, 40, seed)
    built = build_model(spec, cat, cands, coupled=True)
    plain = build_model(spec, cat, cands)
    rng = random.Random(seed)
    for _ in range(25):
        choice = [rng.randrange(len(jo.options)) for jo in cands.jobs]
        set_hint(built, cands, choice)
        set_hint(plain, cands, choice)
        values = list(built.proto.solution_hint.values)
        assert violated(built, values) == []
        assert violated(plain, list(plain.proto.solution_hint.values)) == []
        price = objective(built, values)
        assert price == objective(plain, list(plain.proto.solution_hint.values))
        exact = micro_usd(choice_total(spec, cat, cands, choice))
        assert abs(price - exact) <= len(cands.jobs) + len(spec.datasets) * 10


def lp_bound(built: BuiltModel) -> float:
    arrays = lp_arrays(built)
    solution = glop(arrays)
    assert solution is not None and solution.status == "OPTIMAL"
    return float(arrays.cost @ solution.x)


def test_the_coupled_relaxation_is_tight_where_the_plain_one_is_not(tmp_path: Path) -> None:
    """On this 30-job spec the plain rows' LP is $1.31 under the optimal plan: a fractional
    producer serves several reader regions at once. The coupled rows' LP is the optimum."""
    spec, cat, cands = synthetic(tmp_path, 30, 2)
    best = solve_detailed(spec, cat, limits=Limits(coupled=False)).plan
    assert best.solver.status == "OPTIMAL"
    plain = lp_bound(build_model(spec, cat, cands))
    coupled = lp_bound(build_model(spec, cat, cands, coupled=True))
    assert plain < float(best.total_usd) - 1.0
    assert coupled == pytest.approx(float(best.total_usd), abs=1e-4)


def test_both_formulations_give_the_same_plan(tmp_path: Path) -> None:
    spec, cat, _ = synthetic(tmp_path, 60, 3)
    plain = solve_detailed(spec, cat, limits=Limits(coupled=False))
    coupled = solve_detailed(spec, cat, limits=Limits(coupled=True))
    assert plain.plan.solver.status == coupled.plan.solver.status == "OPTIMAL"
    assert plain.plan.total_usd == coupled.plan.total_usd
    assert coupled.stats.variables > plain.stats.variables


def test_the_formulation_is_chosen_by_the_number_of_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, cat, cands = synthetic(tmp_path, 60, 3)
    options = sum(len(jo.options) for jo in cands.jobs)
    monkeypatch.setattr(solve_module, "COUPLED_OPTIONS", options + 1)
    plain = solve_detailed(spec, cat).stats.variables
    monkeypatch.setattr(solve_module, "COUPLED_OPTIONS", options)
    coupled = solve_detailed(spec, cat).stats.variables
    assert plain == build_model(spec, cat, cands).num_vars
    assert coupled == build_model(spec, cat, cands, coupled=True).num_vars


BUILD_AND_PRINT = """
import hashlib, sys, yaml
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from benchmarks.synthetic import synthetic_spec
from skyplan.catalog import load_embedded_catalog
from skyplan.catalog.models import Catalog, EgressRate, Offering, Region
from skyplan.solver.candidates import prune
from skyplan.solver.model import build_model
from skyplan.spec.load import parse_spec
from skyplan.spec.resolve import load_spec, resolve
from skyplan.spec.yamlpos import load_yaml
cat = load_embedded_catalog()
path = Path(sys.argv[2])
path.write_text(yaml.safe_dump(synthetic_spec(40, cat, 2)), encoding="utf-8")
spec = load_spec(path, cat)
built = build_model(spec, cat, prune(spec, cat, frozenset()), coupled=True)
print(hashlib.sha256(str(built.proto).encode()).hexdigest())
"""


def test_the_coupled_model_is_the_same_in_every_process(tmp_path: Path) -> None:
    """Same spec, same model, whatever the string hash seed (sets never decide an order)."""
    import os
    import subprocess

    root = str(Path(__file__).resolve().parents[3])
    digests = set()
    for seed in ("1", "2", "3"):
        proc = subprocess.run(
            [sys.executable, "-c", BUILD_AND_PRINT, root, str(tmp_path / f"sky{seed}.yaml")],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        digests.add(proc.stdout.strip())
    assert len(digests) == 1


def test_a_shorter_time_limit_sends_mid_sized_models_to_the_neighbourhood_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The coupled rows win within 30 s up to LNS_OPTIONS options, the search within 15 s: the
    threshold scales with the time limit (never below COUPLED_OPTIONS). (Large models whose LP
    fits the time limit take the LP-guided search instead: off here, see test_guide.py.)"""
    spec, cat, cands = synthetic(tmp_path, 60, 3)
    options = sum(len(jo.options) for jo in cands.jobs)
    monkeypatch.setattr(solve_module, "GUIDE_SHARE", -1.0)
    monkeypatch.setattr(solve_module, "COUPLED_OPTIONS", 0)
    monkeypatch.setattr(solve_module, "LNS_OPTIONS", options + 1)
    assert solve_module.large_from(30) == options + 1
    assert solve_module.large_from(60) == options + 1
    assert solve_module.large_from(15) == (options + 1) / 2
    coupled = solve_detailed(spec, cat, limits=Limits(time_limit=30)).stats.variables
    assert coupled == build_model(spec, cat, cands, coupled=True).num_vars
    searched = solve_detailed(spec, cat, limits=Limits(time_limit=15)).stats.variables
    assert searched == build_model(spec, cat, cands).num_vars
    monkeypatch.setattr(solve_module, "COUPLED_OPTIONS", options)
    assert solve_module.large_from(1) == options


CONTINENTS = ["europe", "north-america", "asia", "south-america"]
RATES = ["0", "0.01", "0.02", "0.05", "0.09", "0.12"]


def odd_scenario(rng: random.Random) -> tuple[Catalog, dict[str, Any]]:
    """A producer and 1-3 readers over 1-3 clouds of up to 5 regions on up to 4 continents,
    with random egress rates: zero, equal, or cheaper to other continents than within one
    (which the embedded catalog never has, and which the `f <= P_S` rows exist for)."""
    regions, offers, egress = [], [], []
    for cloud in rng.sample(["aws", "gcp", "azure"], k=rng.choice([1, 2, 2, 3])):
        for i in range(rng.randint(1, 5)):
            region = Region(cloud, f"r{i}", "US", frozenset({"US"}), rng.choice(CONTINENTS))
            regions.append(region)
            for kind in rng.sample(["a", "b", "c"], k=rng.choice([1, 2])):
                price = Decimal(rng.choice(["0.1", "0.2", "0.3"]))
                offers.append(
                    Offering(
                        cloud, region.region, f"{cloud}-{kind}", 4, Decimal(16), "", 0, price, None
                    )
                )
        for scope in ("inter-region-same-continent", "inter-region-other-continent", "internet"):
            egress.append(EgressRate(cloud, scope, Decimal(rng.choice(RATES))))
    cat = Catalog(tuple(sorted(regions)), tuple(offers), tuple(egress), ())
    clouds = sorted({r.cloud for r in regions})
    d: dict[str, Any] = {"version": 1, "name": "odd"}
    if len(clouds) >= 2 and rng.random() < 0.5:
        d["peering"] = [{"clouds": rng.sample(clouds, 2), "usd_per_gb": rng.choice(RATES[:3])}]
    jobs: dict[str, Any] = {
        "p": {"run": "x", "hours": 1, "outputs": {"out": rng.choice(["100GB", "7GB", "1TB"])}}
    }
    for k in range(rng.randint(1, 3)):
        jobs[f"r{k}"] = {"run": "x", "hours": 1, "inputs": ["out"]}
    for job in jobs.values():
        if rng.random() < 0.3:  # one region only: pruning cannot drop the plans to check
            job["regions"] = [rng.choice(regions).key]
    d["jobs"] = jobs
    return cat, d


def cheapest_completion(built: BuiltModel, choice: list[int]) -> int:
    """The model's least objective with every job's option fixed to `choice` (the price the
    model gives that plan: a missing row would let it come out lower)."""
    proto = copy.deepcopy(built.proto)
    proto.clear_solution_hint()
    for vars_, k in zip(built.option_vars, choice, strict=True):
        for j, v in enumerate(vars_):
            ct = proto.constraints.add()
            ct.linear.vars.append(v)
            ct.linear.coeffs.append(1)
            ct.linear.domain.extend([int(j == k)] * 2)
    response = run_cp_sat(proto, 30.0, presolve=False)
    assert status_name(response) == "OPTIMAL"
    return round(response.objective_value)


def test_no_plan_is_priced_below_its_cost_on_odd_egress_rates() -> None:
    """Placements fixed, the cheapest the coupled model can make a plan is its exact price, on
    catalogs with inverted and zero rates. Seed 14 is one where, without the `f <= P_S` rows, a
    reader next to its producer's continent claims the cheaper other-continent class ($10
    under)."""
    checked = 0
    for seed in range(40):
        rng = random.Random(seed)
        cat, d = odd_scenario(rng)
        located = load_yaml(Path("sky.yaml"), text=yaml.safe_dump(d, sort_keys=False))
        spec = resolve(parse_spec(located), located, cat)
        cands = prune(spec, cat, frozenset())
        built = build_model(spec, cat, cands, coupled=True)
        choices = list(itertools.product(*[range(len(jo.options)) for jo in cands.jobs]))
        rng.shuffle(choices)
        for choice in choices[:15]:
            exact = micro_usd(choice_total(spec, cat, cands, list(choice)))
            assert abs(cheapest_completion(built, list(choice)) - exact) <= 2, (seed, choice)
            checked += 1
    assert checked > 300


def test_a_reader_beside_its_producer_pays_the_same_continent_rate_when_it_is_dearer() -> None:
    """One cloud on four continents where a copy to another continent ($0.02/GB) is cheaper
    than one within a continent ($0.12/GB). With the producer in r0 and the reader in r4, both
    in North America, the copy costs $12. The producer's other-continent regions (r1-r3) are a
    cheaper class, but the producer is not there: the `f <= P_S` row stops the reader from
    claiming that class (without it, this plan was priced $10 low)."""
    continents = {"r0": "north-america", "r1": "europe", "r2": "south-america"}
    continents |= {"r3": "asia", "r4": "north-america"}
    regions = [Region("azure", r, "US", frozenset({"US"}), c) for r, c in continents.items()]
    price = {r.region: Decimal("0.1" if r.region == "r4" else "0.05") for r in regions}
    offers = [
        Offering("azure", r.region, "vm", 4, Decimal(16), "", 0, price[r.region], None)
        for r in regions
    ]
    egress = [
        EgressRate("azure", "inter-region-same-continent", Decimal("0.12")),
        EgressRate("azure", "inter-region-other-continent", Decimal("0.02")),
        EgressRate("azure", "internet", Decimal("0.09")),
    ]
    cat = Catalog(tuple(sorted(regions)), tuple(offers), tuple(egress), ())
    d = {
        "version": 1,
        "name": "inverted",
        "jobs": {
            "p": {"run": "x", "hours": 1000, "outputs": {"out": "100GB"}},
            "r": {"run": "x", "hours": 1, "inputs": ["out"], "regions": ["azure:r4"]},
        },
    }
    located = load_yaml(Path("sky.yaml"), text=yaml.safe_dump(d, sort_keys=False))
    spec = resolve(parse_spec(located), located, cat)
    cands = prune(spec, cat, frozenset())
    producer = [o.region for o in cands.jobs[0].options]
    assert cands.jobs[0].job.name == "p" and len(producer) > 2
    choice = [producer.index("azure:r0"), 0]
    assert choice_total(spec, cat, cands, choice) == Decimal("62.1")  # $50 + $0.1 + $12
    built = build_model(spec, cat, cands, coupled=True)
    assert cheapest_completion(built, choice) == micro_usd(Decimal("62.1"))
    result = solve_detailed(spec, cat, limits=Limits(coupled=True))
    assert result.plan.total_usd == Decimal("52.1")  # the producer on another continent
    assert result.stats.bound_micro == micro_usd(Decimal("52.1"))
