"""The branch and bound of branch.py: it proves optimal a plan the LP alone cannot (an odd cycle
of half copies), never prunes a node that holds a cheaper plan, and never claims OPTIMAL or a
bound the brute-force oracle refutes, also when it is made to branch where it could stop."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from test_guide import guided_everywhere
from test_solver_properties import (
    COMMON,
    TOLERANCE,
    Scenario,
    check_consistent,
    check_lawful,
    load,
    oracle,
    scenarios,
    with_budget,
)

from skyplan.catalog import load_embedded_catalog
from skyplan.errors import InfeasibleError
from skyplan.solver import branch as branch_mod
from skyplan.solver.branch import BranchAndBound, Node
from skyplan.solver.solve import Limits, solve_detailed
from skyplan.spec.resolve import load_spec


@contextmanager
def branching(depth: int = 1, seed: int | None = None) -> Iterator[list[Any]]:
    """Nodes with fewer than `depth` fixings are not closed by CP-SAT (they must branch, or
    stay open when nothing is fractional); yields the root LP's bound (micro-dollars) followed
    by the nodes whose LP was solved. With a `seed`, branch on any variable a plan can state
    (fractional or not, picked by the seed): every such split is a partition of the plans, so
    the proof must hold whichever is taken."""
    solved: list[Any] = []
    close, children, run = BranchAndBound._close, BranchAndBound._children, BranchAndBound.run
    variable = BranchAndBound._branch_variable

    def anything(self: BranchAndBound, node: Node) -> int | None:
        free = self.eligible.copy()
        if node.box is not None:
            free &= node.box.lower < node.box.upper
        candidates = [int(v) for v in free.nonzero()[0]]
        return candidates[seed % len(candidates)] if candidates and seed is not None else None

    def spying(self: BranchAndBound, root: Any, choice: list[int]) -> Any:
        solved.append(root.bound_micro)
        return run(self, root, choice)

    def refusing(self: BranchAndBound, node: Node) -> tuple[bool, bool]:
        if len(node.require) + _zeros(node) < depth:
            return False, True
        return close(self, node)

    def recording(self: BranchAndBound, node: Node, var: int) -> list[Node] | None:
        out = children(self, node, var)
        solved.extend(out or [])
        return out

    BranchAndBound._close = refusing  # type: ignore[method-assign]
    BranchAndBound._children = recording  # type: ignore[method-assign]
    BranchAndBound.run = spying  # type: ignore[method-assign]
    if seed is not None:
        BranchAndBound._branch_variable = anything  # type: ignore[method-assign]
    try:
        yield solved
    finally:
        BranchAndBound._close = close  # type: ignore[method-assign]
        BranchAndBound._children = children  # type: ignore[method-assign]
        BranchAndBound.run = run  # type: ignore[method-assign]
        BranchAndBound._branch_variable = variable  # type: ignore[method-assign]


def _zeros(node: Node) -> int:
    """How many variables the node fixes at 0."""
    if node.box is None:
        return 0
    return int((node.box.upper <= 0).sum())


# three readers of one 10 TB data set, each allowed in two of three regions on other clouds
# than the data (every copy $900): the LP makes each copy half-way (1.5 copies), any plan
# needs two
def _reader(*regions: str) -> dict[str, Any]:
    return {
        "hours": 1,
        "run": "./work.sh",
        "resources": {"cpus": 2},
        "inputs": ["big"],
        "regions": list(regions),
    }


ODD_CYCLE: dict[str, Any] = {
    "version": 1,
    "name": "odd-cycle",
    "datasets": {"big": {"location": "aws:us-east-1", "size": "10TB"}},
    "jobs": {
        "one": _reader("gcp:europe-west4", "azure:westeurope"),
        "two": _reader("azure:westeurope", "gcp:europe-west1"),
        "three": _reader("gcp:europe-west4", "gcp:europe-west1"),
    },
}


def _odd_cycle(tmp_path: Path) -> tuple[Any, Any]:
    """The odd cycle's spec, loaded, and the embedded catalog."""
    cat = load_embedded_catalog()
    path = tmp_path / "sky.yaml"
    path.write_text(yaml.safe_dump(ODD_CYCLE), encoding="utf-8")
    return load_spec(path, cat), cat


def test_an_odd_cycle_of_half_copies_is_proven_by_branching(tmp_path: Path) -> None:
    spec, cat = _odd_cycle(tmp_path)
    exact = solve_detailed(spec, cat)  # CP-SAT alone proves this small model
    assert exact.plan.solver.status == "OPTIMAL"
    assert len(exact.plan.transfers) == 2  # two copies
    with guided_everywhere(blind=True), branching() as solved:
        result = solve_detailed(spec, cat)
    assert result.plan.solver.status == "OPTIMAL"
    assert result.plan.total_usd == exact.plan.total_usd
    optimum = float(exact.plan.total_usd)
    root, *children = solved
    assert root / 1e6 == pytest.approx(optimum - 900 / 2, abs=1)  # half a copy short
    assert len(children) == 2, "the root was not branched on"
    assert all(n.bound / 1e6 >= optimum - 1 for n in children)  # each branch is tight


def test_without_the_branches_the_bound_is_the_lps(tmp_path: Path) -> None:
    """With no LP left to solve (under --work-limit the search solves at most MAX_LPS), the
    root stays open: FEASIBLE, bounded by the LP (half a copy under the plan), never OPTIMAL."""
    spec, cat = _odd_cycle(tmp_path)
    saved = branch_mod.MAX_LPS
    branch_mod.MAX_LPS = 0
    try:
        with guided_everywhere(blind=True), branching():
            result = solve_detailed(spec, cat, limits=Limits(work_limit=10))
    finally:
        branch_mod.MAX_LPS = saved
    assert result.plan.solver.status == "FEASIBLE"
    gap = float(result.plan.total_usd) - result.stats.bound_micro / 1e6
    assert gap >= 900 / 2 - 1  # the LP's half copy is not closed


@settings(max_examples=150, **COMMON)
@given(st.one_of(scenarios(), scenarios(quota_heavy=True)), st.integers(0, 2**16))
def test_branching_never_claims_more_than_it_proves(s: Scenario, seed: int) -> None:
    """From a bad start, made to branch at the root and its children on variables the seed
    picks, with quotas and budgets (one equal to the optimum: a plan falsely called optimal
    above it would be refused as over budget): the plan costs at least the optimum, the bound
    is at most it, and OPTIMAL is said only of an optimal plan."""
    found = oracle(s.catalog, s.spec)
    d = with_budget(s, found.total)
    spec = load(d, s.catalog)
    over = found.total is not None and "budget_usd" in d and found.total > Fraction(d["budget_usd"])
    with guided_everywhere(blind=True), branching(depth=2, seed=seed):
        if found.total is None or over:
            with pytest.raises(InfeasibleError):
                solve_detailed(spec, s.catalog, limits=Limits(time_limit=60))
            return
        result = solve_detailed(spec, s.catalog, limits=Limits(time_limit=60))
    plan = result.plan
    assert Fraction(plan.total_usd) >= found.total - TOLERANCE
    assert Fraction(result.stats.bound_micro, 1_000_000) <= found.total + TOLERANCE
    if plan.solver.status == "OPTIMAL":
        assert abs(Fraction(plan.total_usd) - found.total) <= TOLERANCE
    check_lawful(spec, s.catalog, plan)
    check_consistent(spec, s.catalog, plan)


@settings(max_examples=100, **COMMON)
@given(scenarios(), st.integers(0, 2**32 - 1))
def test_a_plan_in_a_box_costs_the_bound_plus_any_options_gain(s: Scenario, seed: int) -> None:
    """What the proofs rest on: for any duals (signs right or wrong) and any box of fixings,
    every plan inside the box costs at least the box's Lagrangian bound plus the gain of each
    of its options, enumerated over all plans of small models."""
    import itertools

    import numpy as np

    from skyplan.solver.candidates import prune
    from skyplan.solver.guide import option_gains
    from skyplan.solver.lp import Box, lagrangian, lp_arrays
    from skyplan.solver.model import build_model, completion

    spec = load(s.spec, s.catalog)
    cands = prune(spec, s.catalog)
    sizes = [len(jo.options) for jo in cands.jobs]
    if not all(sizes) or int(np.prod(sizes)) > 3_000:
        return
    built = build_model(spec, s.catalog, cands, coupled=bool(seed % 2))
    arrays = lp_arrays(built)
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 20, arrays.lo.shape[0]) * rng.choice([0.0, 1.0], arrays.lo.shape[0])
    plans: list[tuple[list[int], Any]] = []
    for choice in itertools.product(*(range(n) for n in sizes)):
        x = np.asarray(completion(built, cands, list(choice)), dtype=np.float64)
        row = arrays.matrix @ x
        if np.all(row >= arrays.lo - 1e-9) and np.all(row <= arrays.hi + 1e-9):
            plans.append((list(choice), x))
    if not plans:
        return
    # fix a few variables at the values one of the plans gives them
    _, model_plan = plans[int(rng.integers(len(plans)))]
    fixed = rng.random(built.num_vars) < 0.1
    box = Box(np.where(fixed, model_plan, 0.0), np.where(fixed, model_plan, 1.0))
    inside = [(c, x) for c, x in plans if np.all(x >= box.lower) and np.all(x <= box.upper)]
    assert inside
    # random duals leave much slack; zero duals make the bound the fixed costs and each gain
    # exactly what its option pays, which a plan of one option meets with equality
    for duals in (y, np.zeros_like(y)):
        bound, reduced = lagrangian(arrays, duals, box)
        gains = option_gains(built, reduced, box)
        for choice, x in inside:
            cost = float(arrays.cost @ x) * 1e6
            for vars_, k in zip(built.option_vars, choice, strict=True):
                assert cost >= bound + gains[vars_[k]] * 1e6 - 1


def test_option_gains_in_a_branch_count_what_its_fixings_leave(tmp_path: Path) -> None:
    """Under a branch's box, a copy fixed at 1 is already in the bound (its readers' options
    gain nothing from it), and one fixed at 0 makes its readers' options impossible."""
    import numpy as np

    from skyplan.solver.candidates import prune
    from skyplan.solver.guide import option_gains
    from skyplan.solver.lp import Box, lp_arrays
    from skyplan.solver.model import build_model

    spec, cat = _odd_cycle(tmp_path)
    cands = prune(spec, cat, frozenset())
    built = build_model(spec, cat, cands, coupled=True)
    options = {v for vs in built.option_vars for v in vs}
    copy, readers, _ = next(d for d in built.derived if set(d[1]) <= options and len(d[1]) > 1)
    reduced = np.full(built.num_vars, 0.25)
    reduced[copy] = 100.0
    free = option_gains(built, reduced)
    assert all(free[r] == pytest.approx(100.25) for r in readers)
    n = built.num_vars
    one = Box(np.where(np.arange(n) == copy, 1.0, 0.0), np.ones(n))
    assert all(option_gains(built, reduced, one)[r] == pytest.approx(0.25) for r in readers)
    zero = Box(np.zeros(n), np.where(np.arange(n) == copy, 0.0, 1.0))
    assert all(option_gains(built, reduced, zero)[r] == np.inf for r in readers)
    # under zero duals a reader's option gains exactly what it pays: its compute and the copy
    costs = lp_arrays(built).cost
    paid = option_gains(built, costs)
    assert costs[copy] == pytest.approx(900)
    assert all(paid[r] == pytest.approx(costs[r] + 900) for r in readers)


def test_a_childs_bound_and_gains_come_from_the_same_duals(tmp_path: Path) -> None:
    """A child whose own LP proves less than its parent's duals do under its box takes the
    parent's duals: its bound and reduced costs (the gains) both from them, never a mix."""
    import time

    import numpy as np

    from skyplan.solver.candidates import prune
    from skyplan.solver.lp import Box, LpSolution, glop, lagrangian, lp_arrays
    from skyplan.solver.model import build_model

    spec, cat = _odd_cycle(tmp_path)
    cands = prune(spec, cat, frozenset())
    built = build_model(spec, cat, cands, coupled=True)
    arrays = lp_arrays(built)
    search = BranchAndBound(spec, cat, cands, built, arrays, 1, time.monotonic() + 60, None)
    exact = glop(arrays)
    assert exact is not None
    parent = search._node(exact, None, ())
    n = arrays.num_vars
    var = next(iter(search.needs))
    box = Box(np.where(np.arange(n) == var, 1.0, 0.0), np.ones(n))
    rough = LpSolution(exact.x, np.zeros_like(exact.y), "ITERATION_LIMIT")
    own = LpSolution(exact.x, exact.y.copy(), "OPTIMAL")  # as good: the child's own are kept
    for solution, inherits in ((rough, True), (own, False)):
        child = search._node(solution, box, (), parent)
        assert (child.duals is parent.duals) == inherits
        bound, reduced = lagrangian(arrays, child.duals, box)
        assert child.bound == bound >= parent.bound
        assert np.array_equal(child.reduced, reduced)


def check_needs(spec: Any, catalog: Any) -> None:
    """For every variable a branch may fix and every plan of a small model: the variable is 1
    in the plan's completion exactly when the plan picks an option of each set it needs. This
    is what makes a branch's two nodes a partition of the plans, and its CP-SAT searches exact."""
    import itertools

    import numpy as np

    from skyplan.solver.branch import _needs
    from skyplan.solver.candidates import prune
    from skyplan.solver.model import build_model, completion

    cands = prune(spec, catalog)
    sizes = [len(jo.options) for jo in cands.jobs]
    if not all(sizes) or int(np.prod(sizes)) > 2_000:
        return
    built = build_model(spec, catalog, cands, coupled=True)
    where = {v: (i, k) for i, vs in enumerate(built.option_vars) for k, v in enumerate(vs)}
    needs = _needs(built, where)
    assert set(where) <= set(needs)
    for choice in itertools.product(*(range(n) for n in sizes)):
        values = completion(built, cands, list(choice))
        chosen = {vs[k] for vs, k in zip(built.option_vars, choice, strict=True)}
        for var, sets in needs.items():
            assert values[var] == int(all(chosen & set(options) for options in sets)), var


@settings(max_examples=100, **COMMON)
@given(scenarios())
def test_what_a_fixing_needs_is_exactly_when_the_variable_is_one(s: Scenario) -> None:
    check_needs(load(s.spec, s.catalog), s.catalog)


def test_a_produced_copy_needs_one_of_its_readers_and_the_producer(tmp_path: Path) -> None:
    """Two readers that may each run in either of two regions, their data made by a job on
    another cloud: the paid copy into a region is made whichever reader runs there."""
    from skyplan.solver.candidates import prune
    from skyplan.solver.model import build_model

    regions = ["gcp:europe-west4", "azure:westeurope"]
    produced = {
        "version": 1,
        "name": "produced",
        "jobs": {
            "make": {
                "hours": 1,
                "run": "./make.sh",
                "resources": {"cpus": 2},
                "outputs": {"out": "1TB"},
                "regions": ["aws:us-east-1", "aws:us-west-2"],
            },
            "one": {**_reader(*regions), "inputs": ["out"]},
            "two": {**_reader(*regions), "inputs": ["out"]},
        },
    }
    cat = load_embedded_catalog()
    path = tmp_path / "sky.yaml"
    path.write_text(yaml.safe_dump(produced), encoding="utf-8")
    spec = load_spec(path, cat)
    built = build_model(spec, cat, prune(spec, cat), coupled=True)
    options = {v for vs in built.option_vars for v in vs}
    shared = [d for d in built.derived if d[2] is None and not set(d[1]) <= options]
    assert any(len(by) == 2 for _, by, _ in shared)  # a copy two coupling variables force
    check_needs(spec, cat)
