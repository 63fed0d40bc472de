"""The LP-guided search (guide.py) and the LP arrays it stands on (lp.py): the recorded rows are
the model's rows; the Lagrangian bound holds for any duals and is the LP optimum for optimal
ones; under exact duals the optimal plan's options cost nothing over the LP; and the guided
solve never reports a bound above the true optimum, nor OPTIMAL for a plan that is not."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from synthetic_specs import synthetic
from test_solver_properties import (
    COMMON,
    TOLERANCE,
    Scenario,
    check_consistent,
    check_lawful,
    load,
    oracle,
    scenarios,
)

from skyplan.errors import InfeasibleError
from skyplan.solver import guide as guide_mod
from skyplan.solver import solve as solve_mod
from skyplan.solver.candidates import prune
from skyplan.solver.guide import option_gains, restrict
from skyplan.solver.lp import glop, lagrangian, lp_arrays, pdlp
from skyplan.solver.model import BuiltModel, build_model
from skyplan.solver.model_base import UNBOUNDED
from skyplan.solver.solve import Limits, solve_detailed
from skyplan.units import micro_usd


@contextmanager
def guided_everywhere(blind: bool = False) -> Iterator[None]:
    """Take the LP-guided search on every model, however small. `blind`: from a bad start (each
    job's last option, not the greedy plan) and searching no option the LP picks, so that the
    search's own optimum is not the true one and only the LP's bound may be reported."""
    saved = solve_mod.LNS_OPTIONS, solve_mod.COUPLED_OPTIONS, solve_mod.local_search
    saved_keep = guide_mod.GAIN_KEEP
    solve_mod.LNS_OPTIONS = solve_mod.COUPLED_OPTIONS = 0
    if blind:
        solve_mod.local_search = lambda spec, catalog, cands, n: [  # type: ignore[assignment]
            len(jo.options) - 1 for jo in cands.jobs
        ]
        guide_mod.GAIN_KEEP = -1.0
    try:
        yield
    finally:
        solve_mod.LNS_OPTIONS, solve_mod.COUPLED_OPTIONS, solve_mod.local_search = saved
        guide_mod.GAIN_KEEP = saved_keep


def proto_rows(built: BuiltModel) -> Any:
    """The proto's constraints as a dense (rows x variables) matrix with lo and hi, read from
    the proto itself (quota rows count as plain rows)."""
    proto = built.proto
    a = np.zeros((len(proto.constraints), built.num_vars))
    lo = np.zeros(len(proto.constraints))
    hi = np.zeros(len(proto.constraints))
    for i, ct in enumerate(proto.constraints):
        if ct.has_exactly_one():
            a[i, list(ct.exactly_one.literals)] = 1
            lo[i] = hi[i] = 1
        elif ct.has_bool_or():
            negated = 0
            for lit in ct.bool_or.literals:
                if lit >= 0:
                    a[i, lit] += 1
                else:
                    a[i, -lit - 1] -= 1
                    negated += 1
            lo[i], hi[i] = 1 - negated, math.inf
        else:
            for v, c in zip(ct.linear.vars, ct.linear.coeffs, strict=True):
                a[i, v] += c
            d = list(ct.linear.domain)
            lo[i] = -math.inf if d[0] <= -UNBOUNDED else d[0]
            hi[i] = math.inf if d[-1] >= UNBOUNDED else d[-1]
    return a, lo, hi


@pytest.mark.parametrize("coupled", [False, True])
def test_the_recorded_rows_are_the_models_rows(tmp_path: Path, coupled: bool) -> None:
    spec, cat, cands = synthetic(tmp_path, 25, 4)
    built = build_model(spec, cat, cands, coupled=coupled, budget_micro=10**9)
    arrays = lp_arrays(built)
    a, lo, hi = proto_rows(built)
    assert np.array_equal(arrays.matrix.toarray(), a)
    assert np.array_equal(arrays.lo, lo) and np.array_equal(arrays.hi, hi)
    cost = np.zeros(built.num_vars)
    for v, c in zip(built.proto.objective.vars, built.proto.objective.coeffs, strict=True):
        cost[v] += c / 1e6
    assert np.array_equal(arrays.cost, cost)


def test_the_recorded_rows_are_copies_and_implications_take_variables() -> None:
    from skyplan.solver.model_base import ProtoBuilder

    b = ProtoBuilder()
    x, y, z = b.new_bool(), b.new_bool(), b.new_bool()
    terms, coeffs = [x, y], [1, 1]
    b.linear(terms, coeffs, 0, 1)
    terms.append(z)
    coeffs.append(1)
    assert b.lp_rows[-1][:2] == ([x, y], [1, 1])
    with pytest.raises(AssertionError):
        b.implies(x, -y - 1)


@settings(max_examples=120, **COMMON)
@given(scenarios(), st.integers(0, 2**32 - 1), st.booleans())
def test_the_lagrangian_bound_holds_for_any_duals(s: Scenario, seed: int, coupled: bool) -> None:
    spec = load(s.spec, s.catalog)
    cands = prune(spec, s.catalog)
    if any(not jo.options for jo in cands.jobs):
        return
    found = oracle(s.catalog, s.spec)
    if found.total is None:
        return
    arrays = lp_arrays(build_model(spec, s.catalog, cands, coupled=coupled))
    rng = np.random.default_rng(seed)
    for y in (
        rng.normal(0, 50, arrays.lo.shape[0]),
        rng.exponential(100, arrays.lo.shape[0]) * rng.choice([-1, 1], arrays.lo.shape[0]),
    ):
        assert Fraction(lagrangian(arrays, y)[0], 1_000_000) <= found.total
    exact = glop(arrays)
    assert exact is not None and exact.status == "OPTIMAL"
    bound = lagrangian(arrays, exact.y)[0]
    assert Fraction(bound, 1_000_000) <= found.total
    # near-optimal duals with some signs wrong for their rows: those must count as 0
    flips = np.where(rng.random(exact.y.shape[0]) < 0.2, -1.0, 1.0)
    near = exact.y * flips * rng.uniform(0.5, 1.5, exact.y.shape[0])
    assert Fraction(lagrangian(arrays, near)[0], 1_000_000) <= found.total
    # optimal duals prove the LP optimum itself (less the safety margin and float noise)
    assert bound == pytest.approx(float(arrays.cost @ exact.x) * 1e6, abs=1_100)


def test_a_dual_of_the_wrong_sign_for_its_row_counts_as_zero() -> None:
    """min -x subject to x >= 0.5 (no upper side): the optimum is -1 (x = 1). A negative dual on
    that row would raise x's reduced cost to 9 and 'prove' 0; it must count as 0 instead."""
    from scipy.sparse import csr_matrix

    from skyplan.solver.lp import LpArrays

    arrays = LpArrays(
        csr_matrix(np.array([[1.0]])), np.array([0.5]), np.array([math.inf]), np.array([-1.0])
    )
    assert lagrangian(arrays, np.array([-10.0]))[0] <= -1_000_000
    assert lagrangian(arrays, np.array([0.7]))[0] <= -1_000_000  # the right sign: still valid
    assert lagrangian(arrays, np.array([math.nan]))[0] <= -1_000_000


def test_a_stopped_pdlp_still_gives_its_iterate_and_a_bound(tmp_path: Path) -> None:
    spec, cat, cands = synthetic(tmp_path, 30, 2)
    arrays = lp_arrays(build_model(spec, cat, cands, coupled=True))
    stopped = pdlp(arrays, 1e-9, 20, 1)
    assert stopped is not None and stopped.status != "OPTIMAL"
    best = solve_detailed(spec, cat).plan
    assert best.solver.status == "OPTIMAL"
    early = lagrangian(arrays, stopped.y)[0]
    assert early <= micro_usd(best.total_usd)
    exact = glop(arrays)
    assert exact is not None
    assert early < lagrangian(arrays, exact.y)[0]  # a rough iterate, not the LP's optimum


def test_under_exact_duals_the_optimal_plan_costs_nothing_over_the_lp(tmp_path: Path) -> None:
    """On this 30-job spec the coupled LP's optimum is the optimal plan (test_coupled.py), so by
    complementary slackness every variable the plan sets has reduced cost 0, and so has the
    gain of each of its options; options off the optimum cost more."""
    spec, cat, cands = synthetic(tmp_path, 30, 2)
    result = solve_detailed(spec, cat, limits=Limits(coupled=True))
    assert result.plan.solver.status == "OPTIMAL"
    built = build_model(spec, cat, cands, coupled=True)
    arrays = lp_arrays(built)
    exact = glop(arrays)
    assert exact is not None
    _, reduced = lagrangian(arrays, exact.y)
    gains = option_gains(built, reduced)
    chosen = {p.job: (p.cloud, p.region, p.instance_type) for p in result.plan.placements}
    for jo, vars_ in zip(cands.jobs, built.option_vars, strict=True):
        for o, v in zip(jo.options, vars_, strict=True):
            if (o.offering.cloud, o.offering.region, o.offering.instance_type) == chosen[
                jo.job.name
            ]:
                assert gains[v] == pytest.approx(0, abs=1e-6), jo.job.name
            assert gains[v] >= max(0.0, reduced[v]) - 1e-9
    option_gains_ = [gains[v] for vs in built.option_vars for v in vs]
    assert sum(g > 1.0 for g in option_gains_) > len(option_gains_) / 4


def test_restrict_keeps_the_start_and_maps_it(tmp_path: Path) -> None:
    _, _, cands = synthetic(tmp_path, 10, 1)
    keep = tuple((0,) for _ in cands.jobs)
    start = [len(jo.options) - 1 for jo in cands.jobs]
    sub, sub_start = restrict(cands, keep, start)
    for jo, new, k, first in zip(sub.jobs, cands.jobs, sub_start, start, strict=True):
        assert jo.options[k] == new.options[first]
        assert jo.options[0] == new.options[0]
        assert len(jo.options) == (1 if first == 0 else 2)


@settings(max_examples=150, **COMMON)
@given(scenarios(), st.booleans())
def test_the_guided_search_never_claims_more_than_it_proves(s: Scenario, blind: bool) -> None:
    """Plans from the guided search cost at least the optimum, their bound is at most it, and
    OPTIMAL is said only of an optimal plan, also when the search misses the optimum."""
    spec = load(s.spec, s.catalog)
    found = oracle(s.catalog, s.spec)
    with guided_everywhere(blind):
        if found.total is None:
            with pytest.raises(InfeasibleError):
                solve_detailed(spec, s.catalog)
            return
        try:
            result = solve_detailed(spec, s.catalog)
        except InfeasibleError as e:  # only a budget below every plan it found
            assert spec.budget_usd is not None, e.message
            return
    plan = result.plan
    assert Fraction(plan.total_usd) >= found.total - TOLERANCE
    assert Fraction(result.stats.bound_micro, 1_000_000) <= found.total + TOLERANCE
    if plan.solver.status == "OPTIMAL":
        assert abs(Fraction(plan.total_usd) - found.total) <= TOLERANCE
    else:
        assert plan.solver.gap is not None and plan.solver.gap >= 0
    check_lawful(spec, s.catalog, plan)
    check_consistent(spec, s.catalog, plan)


def test_the_guided_search_is_taken_when_the_lp_fits_the_time_limit(tmp_path: Path) -> None:
    spec, cat, cands = synthetic(tmp_path, 60, 3)
    options = sum(len(jo.options) for jo in cands.jobs)
    coupled_vars = build_model(spec, cat, cands, coupled=True).num_vars
    with guided_everywhere():
        guided = solve_detailed(spec, cat, limits=Limits(time_limit=30))
        saved = solve_mod.GUIDE_SHARE
        solve_mod.GUIDE_SHARE = solve_mod.guide_seconds(options, 1) / 30 * 0.99
        try:
            # a work limit pins PDLP's threads to --workers (see lp_threads)
            searched = solve_detailed(spec, cat, limits=Limits(time_limit=30, work_limit=10))
            two = solve_detailed(spec, cat, limits=Limits(time_limit=30, work_limit=10, workers=2))
        finally:
            solve_mod.GUIDE_SHARE = saved
    assert guided.stats.variables == coupled_vars  # the LP of the coupled rows was solved
    assert searched.stats.variables < coupled_vars  # too slow with one thread: the LNS path
    assert two.stats.variables == coupled_vars  # two threads make it fit
    assert guided.stats.options == searched.stats.options == options
    assert guided.plan.total_usd <= searched.plan.total_usd * 101 / 100


REPRODUCE = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests/unit/solver"]
from pathlib import Path
from test_guide import guided_everywhere
from synthetic_specs import synthetic
from skyplan.plan import plan_to_json
from skyplan.solver.solve import Limits, solve_detailed
spec, cat, _ = synthetic(Path(sys.argv[2]), 80, 5)
with guided_everywhere():
    result = solve_detailed(spec, cat, limits=Limits(work_limit=5, workers=2))
print(result.stats.variables)
print(plan_to_json(result.plan))
"""


def test_the_guided_search_is_reproducible_under_a_work_limit(tmp_path: Path) -> None:
    """The same plan in separate processes (other hash seeds) under --work-limit."""
    root = str(Path(__file__).resolve().parents[3])
    spec, cat, cands = synthetic(tmp_path, 80, 5)
    coupled_vars = build_model(spec, cat, cands, coupled=True).num_vars
    outputs = set()
    for seed in ("1", "2"):
        proc = subprocess.run(
            [sys.executable, "-c", REPRODUCE, root, str(tmp_path)],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
            timeout=300,
        )
        variables, _, plan = proc.stdout.partition("\n")
        assert int(variables) == coupled_vars  # the guided path ran
        outputs.add(plan)
    assert len(outputs) == 1


def test_the_lp_takes_two_threads_where_it_may() -> None:
    cores = os.cpu_count() or 1
    assert solve_mod.lp_threads(Limits()) == min(2, cores)
    assert solve_mod.lp_threads(Limits(workers=4)) == 4
    assert solve_mod.lp_threads(Limits(work_limit=10)) == 1
    assert solve_mod.lp_threads(Limits(work_limit=10, workers=3)) == 3


def test_guide_seconds_scale_with_options_and_threads() -> None:
    assert solve_mod.guide_seconds(39_022, 2) == pytest.approx(17.56, abs=0.01)
    assert solve_mod.guide_seconds(39_022, 1) > solve_mod.guide_seconds(39_022, 8)
    assert solve_mod.guide_seconds(39_022, 8) == solve_mod.guide_seconds(39_022, 2)
