"""solve(spec, catalog, blocked) -> Plan: prune, build the CP-SAT model, solve, read back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skyplan.catalog.models import Catalog
from skyplan.errors import InfeasibleError, SkyplanError
from skyplan.plan import Plan, SolverInfo
from skyplan.solver.blocked import Block
from skyplan.solver.candidates import Candidates, Option, prune
from skyplan.solver.costs import plan_for
from skyplan.solver.explain import explain_budget, explain_no_region, explain_quotas
from skyplan.solver.heuristic import local_search
from skyplan.solver.model import BuiltModel, build_model
from skyplan.spec.model import SkySpec
from skyplan.units import micro_usd

DEFAULT_TIME_LIMIT = 60.0


@dataclass(frozen=True)
class SolveStats:
    """What the solver did, for benchmarks and --verbose (never written to plan.json)."""

    status: str
    wall_seconds: float
    variables: int
    constraints: int
    options: int
    dominated_regions: int
    objective_micro: int
    bound_micro: int

    @property
    def gap(self) -> float:
        """Relative gap between the plan found and the best bound (0 when optimal)."""
        if self.objective_micro <= 0:
            return 0.0
        return max(0.0, (self.objective_micro - self.bound_micro) / self.objective_micro)


@dataclass(frozen=True)
class SolveResult:
    """The plan and how it was found."""

    plan: Plan
    stats: SolveStats


def _run(built: BuiltModel, time_limit: float, workers: int) -> Any:
    from ortools.sat.python import cp_model_helper as cmh

    params = cmh.SatParameters()
    params.max_time_in_seconds = time_limit
    params.num_workers = workers
    params.interleave_search = workers > 1  # deterministic with several workers too
    params.random_seed = 0
    params.log_search_progress = False
    params.linearization_level = 2
    wrapper = cmh.SolveWrapper()
    wrapper.set_parameters(params)
    return wrapper.solve(built.proto)


def _chosen(cands: Candidates, built: BuiltModel, response: Any) -> dict[str, Option]:
    values = response.solution
    out: dict[str, Option] = {}
    for jo, vars_ in zip(cands.jobs, built.option_vars, strict=True):
        picked = [opt for opt, var in zip(jo.options, vars_, strict=True) if values[var]]
        out[jo.job.name] = picked[0]
    return out


def _status(response: Any) -> str:
    return str(response.status).rsplit(".", 1)[-1]


def solve_detailed(
    spec: SkySpec,
    catalog: Catalog,
    blocked: frozenset[Block] = frozenset(),
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> SolveResult:
    """The cheapest plan that obeys every rule, or InfeasibleError saying why there is none."""
    cands = prune(spec, catalog, blocked)
    empty = [jo.job for jo in cands.jobs if not jo.options]
    if empty:
        raise InfeasibleError(**explain_no_region(spec, catalog, blocked, empty))
    start = local_search(spec, catalog, cands)
    built = build_model(spec, catalog, cands, start=start)
    response = _run(built, time_limit, workers)
    status = _status(response)
    if status == "INFEASIBLE":
        raise InfeasibleError(**explain_quotas(cands, built, response))
    if status not in ("OPTIMAL", "FEASIBLE"):
        if status == "MODEL_INVALID":
            raise SkyplanError("internal error: the solver rejected the model (MODEL_INVALID)")
        raise InfeasibleError(
            f"the solver found no plan within the time limit of {time_limit:g} s (status {status})",
            hint="raise --time-limit; the problem was not proven infeasible",
        )
    stats = SolveStats(
        status,
        float(response.wall_time),
        built.num_vars,
        len(built.proto.constraints),
        sum(len(jo.options) for jo in cands.jobs),
        len(cands.dominated),
        round(response.objective_value),
        round(response.best_objective_bound),
    )
    plan = plan_for(spec, catalog, _chosen(cands, built, response), _info(stats))
    if spec.budget_usd is not None and plan.total_usd > spec.budget_usd:
        if status == "FEASIBLE":
            return _within_budget(spec, catalog, cands, plan, stats, time_limit, workers)
        raise InfeasibleError(**explain_budget(spec, plan))
    return SolveResult(plan, stats)


def _info(stats: SolveStats) -> SolverInfo:
    if stats.status == "OPTIMAL":
        return SolverInfo("OPTIMAL")
    return SolverInfo(stats.status, round(stats.gap, 6))


def _within_budget(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    over: Plan,
    stats: SolveStats,
    time_limit: float,
    workers: int,
) -> SolveResult:
    """The time limit stopped above the budget: search again with the budget as a hard limit."""
    assert spec.budget_usd is not None
    built = build_model(spec, catalog, cands, budget_micro=micro_usd(spec.budget_usd))
    response = _run(built, time_limit, workers)
    status = _status(response)
    if status not in ("OPTIMAL", "FEASIBLE"):
        raise InfeasibleError(**explain_budget(spec, over, proven=status == "INFEASIBLE"))
    new = SolveStats(
        status,
        stats.wall_seconds + float(response.wall_time),
        built.num_vars,
        len(built.proto.constraints),
        stats.options,
        stats.dominated_regions,
        round(response.objective_value),
        round(response.best_objective_bound),
    )
    return SolveResult(plan_for(spec, catalog, _chosen(cands, built, response), _info(new)), new)


def solve(
    spec: SkySpec,
    catalog: Catalog,
    blocked: frozenset[Block] = frozenset(),
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
) -> Plan:
    """The cheapest plan obeying every rule (pure and deterministic)."""
    return solve_detailed(spec, catalog, blocked, time_limit=time_limit, workers=workers).plan
