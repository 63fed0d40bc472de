"""The large-model helpers: the neighbourhood search (lns.py) only ever improves a plan and keeps
quotas; the LP relaxation's bound (relax.py) never exceeds the true optimum; and the solver with
both switched on for every model still matches the brute-force oracle."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from fractions import Fraction

from hypothesis import given, settings
from test_solver_properties import (
    COMMON,
    Scenario,
    check_against_oracle,
    load,
    oracle,
    scenarios,
    small_catalog,
)

from skyplan.solver import solve as solve_mod
from skyplan.solver.candidates import Candidates, JobOptions, build_candidates, prune
from skyplan.solver.costs import choice_total
from skyplan.solver.heuristic import within_quotas
from skyplan.solver.lns import improve_plan
from skyplan.solver.model import build_model
from skyplan.solver.relax import relax

# three one-hour readers of 1 TB kept in aws:eu-west-1
THREE_READERS = {
    "version": 1,
    "name": "three",
    "datasets": {"big": {"size": "1TB", "location": "aws:eu-west-1"}},
    "jobs": {f"j{i}": {"run": "x", "hours": 1, "inputs": ["big"]} for i in range(3)},
}


@contextmanager
def search_everywhere() -> Iterator[None]:
    """Run the neighbourhood search on every model, however small (not the LP-guided search,
    which test_guide.py covers)."""
    saved = solve_mod.LNS_OPTIONS, solve_mod.COUPLED_OPTIONS, solve_mod.GUIDE_SHARE
    solve_mod.LNS_OPTIONS = solve_mod.COUPLED_OPTIONS = 0
    solve_mod.GUIDE_SHARE = -1.0
    try:
        yield
    finally:
        solve_mod.LNS_OPTIONS, solve_mod.COUPLED_OPTIONS, solve_mod.GUIDE_SHARE = saved


@settings(max_examples=200, **COMMON)
@given(scenarios())
def test_search_never_worsens_a_plan_nor_breaks_a_quota(s: Scenario) -> None:
    spec = load(s.spec, s.catalog)
    cands = prune(spec, s.catalog)
    if any(not jo.options for jo in cands.jobs):
        return
    dearest = [len(jo.options) - 1 for jo in cands.jobs]  # options are sorted by region, cost
    if not within_quotas(s.catalog, cands, dearest):
        return
    better = improve_plan(spec, s.catalog, cands, dearest)
    assert within_quotas(s.catalog, cands, better)
    after = choice_total(spec, s.catalog, cands, better)
    assert after <= choice_total(spec, s.catalog, cands, dearest)
    found = oracle(s.catalog, s.spec)
    assert found.total is not None
    assert Fraction(after) >= found.total - Fraction(1, 100_000)


@settings(max_examples=150, **COMMON)
@given(scenarios())
def test_solver_with_the_search_on_every_model_matches_the_oracle(s: Scenario) -> None:
    with search_everywhere():
        check_against_oracle(s)


@settings(max_examples=60, **COMMON)
@given(scenarios(quota_heavy=True))
def test_solver_with_the_search_under_tight_quotas_matches_the_oracle(s: Scenario) -> None:
    with search_everywhere():
        check_against_oracle(s)


def test_readers_scattered_away_from_their_data_are_brought_home() -> None:
    """Three readers of 1 TB in aws:eu-west-1, started in three other regions (three copies,
    $20 to $90 each): one data-set neighbourhood moves them all next to the data."""
    catalog = small_catalog()
    spec = load(THREE_READERS, catalog)
    options = build_candidates(spec, catalog)  # unpruned: pruning alone would fix this start
    cands = Candidates(tuple(JobOptions(j, tuple(options[j.name])) for j in spec.jobs), ())
    regions = ["aws:us-east-1", "gcp:europe-west4", "azure:westeurope"]
    start = []
    for jo, region in zip(cands.jobs, regions, strict=True):
        start.append(next(k for k, o in enumerate(jo.options) if o.region == region))
    better = improve_plan(spec, catalog, cands, start)
    assert {cands.jobs[i].options[k].region for i, k in enumerate(better)} == {"aws:eu-west-1"}
    assert choice_total(spec, catalog, cands, better) == Decimal(3)


@settings(max_examples=200, **COMMON)
@given(scenarios())
def test_lp_bound_never_exceeds_the_optimum(s: Scenario) -> None:
    spec = load(s.spec, s.catalog)
    cands = prune(spec, s.catalog)
    if any(not jo.options for jo in cands.jobs):
        return
    relaxed = relax(build_model(spec, s.catalog, cands))
    assert relaxed is not None
    assert len(relaxed.choice) == len(cands.jobs)
    found = oracle(s.catalog, s.spec)
    if found.total is not None:
        assert Fraction(relaxed.bound_micro, 1_000_000) <= found.total


def test_lp_bound_is_close_on_a_model_without_integrality_gap() -> None:
    """Three readers of data in one region: the LP optimum is the plan ($3); PDLP's rough
    duals still give a bound within 1% of it, and the rounded plan is that plan."""
    catalog = small_catalog({"aws:us-east-1": "0.5"})
    spec = load(THREE_READERS, catalog)
    cands = prune(spec, catalog)
    relaxed = relax(build_model(spec, catalog, cands))
    assert relaxed is not None
    assert 2_970_000 <= relaxed.bound_micro <= 3_000_000
    regions = {jo.options[k].region for jo, k in zip(cands.jobs, relaxed.choice, strict=True)}
    assert regions == {"aws:eu-west-1"}
