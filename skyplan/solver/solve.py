"""solve(spec, catalog, blocked) -> Plan: prune, build the CP-SAT model, solve, read back."""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass
from typing import Any

from skyplan.catalog.models import Catalog
from skyplan.errors import InfeasibleError, SkyplanError
from skyplan.plan import Plan, SolverInfo
from skyplan.solver.blocked import Block
from skyplan.solver.candidates import Candidates, Option, prune
from skyplan.solver.costs import plan_for
from skyplan.solver.explain import explain_budget, explain_no_region, explain_quotas
from skyplan.solver.heuristic import local_search, within_quotas
from skyplan.solver.model import BuiltModel, build_model, set_hint
from skyplan.solver.model_base import paused_gc
from skyplan.solver.sat import PRESOLVE_VARIABLES, run_cp_sat, status_name
from skyplan.spec.model import SkySpec
from skyplan.units import micro_usd

DEFAULT_TIME_LIMIT = 60.0
# Models with at least this many job options get a start from the LP relaxation and the
# neighbourhood search before CP-SAT, with the plain rows (the 1,000-job benchmark has about
# 39,000); below, CP-SAT with the coupled rows (see COUPLED_OPTIONS) does better within 30 s:
# synthetic specs (jobs/seed: options, this path / the coupled rows alone): 700/7: 21,811
# FEASIBLE 1.1% $16,571.81 / OPTIMAL in 22 s $16,552.51; 700/1: 22,005 FEASIBLE 4.2% $12,578.88 /
# OPTIMAL in 25 s $12,490.71; 850/7: 31,539 $17,577.07 / $18,375.85; 775/7: 33,642 $16,500.20 /
# $17,405.50. With a shorter time limit the neighbourhood search wins on smaller models too
# (400/1: 17,714 at 15 s: $8,826.76 / $9,290.40; at 30 s $8,826.76 / $8,517.05; 700/7 at 15 s:
# $16,685.90 / $17,545.87), so the threshold scales down with the time limit below LNS_SECONDS,
# to no less than COUPLED_OPTIONS. The search stops at LNS_SHARE of the time limit.
LNS_OPTIONS = 23_000
LNS_SECONDS = 30.0
LNS_SHARE = 0.7
# Models with at least this many job options (and under LNS_OPTIONS) write the copies of produced
# data with the coupled rows of coupled.py: their LP relaxation is tight where the plain rows'
# is 2-5% low, which CP-SAT needs to prove larger plans optimal, but they are 2-3 times the
# variables, which costs more than it saves on smaller models. Seconds to OPTIMAL, plain /
# coupled, on synthetic specs (benchmarks/synthetic.py, jobs/seed: options): 100/7: 3,396 0.95 /
# 1.85; 120/2: 4,808 3.6 / 2.3; 120/1: 5,041 0.8 / 4.0; 200/7: 5,317 1.6 / 3.2; 150/7: 7,025 6.2 /
# 5.4; 250/1: 8,993 9.7 / 10.4; 250/2: 9,434 3.0 / 8.5; 300/7: 10,203 not proven in 30 s (1.3%
# gap) / 10.3; 400/1: 17,714 neither in 30 s, the coupled plan 8% cheaper; 500/7: 14,167 OPTIMAL
# in 13-19 s. Above LNS_OPTIONS the
# coupled model is too large for CP-SAT's LP within the time limit (1,000 jobs: 172,000
# variables; after 30 s its plan is 5.2% above the coupled LP's bound of $23,802.30, the plain
# rows' with the neighbourhood search 2.6-3.4% above it).
COUPLED_OPTIONS = 10_000
# Large models whose coupled LP PDLP can solve within GUIDE_SHARE of the time limit take the
# LP-guided search of guide.py instead: PDLP's seconds per 1,000 job options on this 2-core
# machine (1,000-job benchmark, 39,022 options: 16.3 s with two threads, 28 s with one).
GUIDE_SECONDS_PER_KOPTION = {1: 0.75, 2: 0.45}
GUIDE_SHARE = 0.65
GUIDE_RESERVE = 0.15
# option evaluations the greedy start's local moves may spend (a count, so it is deterministic)
SMALL_EVALUATIONS = 1_000_000
LARGE_EVALUATIONS = 50_000
# (1,000-job benchmark: 50,000 take 0.69 s to a $27,016 start, 5,000 0.31 s to $27,623; the
# guided search's plan is $23,848)
GUIDED_EVALUATIONS = 5_000


@dataclass(frozen=True)
class Limits:
    """How long CP-SAT may search: wall seconds, and optionally a machine-independent work
    budget (CP-SAT deterministic time) that makes time-limited plans reproducible."""

    time_limit: float = DEFAULT_TIME_LIMIT
    work_limit: float | None = None
    workers: int = 1
    # the coupled rows for produced data (coupled.py): None chooses by size (COUPLED_OPTIONS)
    coupled: bool | None = None


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
        if self.status == "OPTIMAL" or self.objective_micro <= 0:
            return 0.0
        return min(1.0, max(0.0, (self.objective_micro - self.bound_micro) / self.objective_micro))


@dataclass(frozen=True)
class SolveResult:
    """The plan and how it was found."""

    plan: Plan
    stats: SolveStats
    # the option each job got (of the candidates solved over)
    chosen: dict[str, Option] | None = None


def large_from(time_limit: float) -> float:
    """How many job options make a model large (LP start and neighbourhood search, plain rows)
    under this time limit; see LNS_OPTIONS."""
    return max(COUPLED_OPTIONS, LNS_OPTIONS * min(1.0, time_limit / LNS_SECONDS))


def guide_seconds(options: int, threads: int) -> float:
    """What PDLP is expected to take on the coupled LP of a model with this many options."""
    return options / 1000 * GUIDE_SECONDS_PER_KOPTION[min(2, max(1, threads))]


def lp_threads(limits: Limits) -> int:
    """PDLP's threads: at least two where the machine has them, unlike CP-SAT's workers (its
    interleaved search with two workers takes 9.8 s instead of 0.9 s to prove the 100-job
    benchmark optimal). PDLP gives the same result for the same thread count, so under
    --work-limit, which promises the same plan on every machine, it takes --workers exactly."""
    if limits.work_limit is not None:
        return limits.workers
    return max(limits.workers, min(2, os.cpu_count() or 1))


def _rest(limits: Limits, started: float) -> Limits:
    """`limits` with what is left of the time limit since `started` (at least a tenth of it)."""
    left = max(limits.time_limit / 10, limits.time_limit - (time.monotonic() - started))
    return dataclasses.replace(limits, time_limit=left)


def _run(built: BuiltModel, limits: Limits) -> Any:
    presolve = built.num_vars >= PRESOLVE_VARIABLES
    return run_cp_sat(built.proto, limits.time_limit, limits.work_limit, limits.workers, presolve)


def _chosen(cands: Candidates, built: BuiltModel, response: Any) -> dict[str, Option]:
    values = response.solution
    out: dict[str, Option] = {}
    for jo, vars_ in zip(cands.jobs, built.option_vars, strict=True):
        out[jo.job.name] = next(o for o, v in zip(jo.options, vars_, strict=True) if values[v])
    return out


def _outcome(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    built: BuiltModel,
    start: list[int] | None,
    limits: Limits,
    lower: int | None = None,
    searched_all: bool = True,
) -> SolveResult | tuple[int, ...]:
    """Solve one model. Proven infeasible: the quota literals of an infeasible core. When the
    limit stops CP-SAT before its first plan, the (feasible) starting plan comes back FEASIBLE.
    `lower` is a lower bound proven elsewhere (the LP's, or the cheapest compute), used when it
    beats CP-SAT's. Without `searched_all`, `cands` leave options out: CP-SAT's own bound and
    OPTIMAL then hold for the options searched only, so `lower` alone bounds the plan."""
    response = _run(built, limits)
    status = status_name(response)
    if status == "MODEL_INVALID":
        raise SkyplanError("internal error: the solver rejected the model (MODEL_INVALID)")
    if status == "INFEASIBLE":
        return tuple(response.sufficient_assumptions_for_infeasibility)
    if status in ("OPTIMAL", "FEASIBLE"):
        chosen = _chosen(cands, built, response)
    elif start is not None and within_quotas(catalog, cands, start):
        status = "FEASIBLE"
        chosen = {jo.job.name: jo.options[k] for jo, k in zip(cands.jobs, start, strict=True)}
    else:
        raise InfeasibleError(
            "the solver found no plan before its time limit ran out",
            hint="raise --time-limit; the problem was not proven infeasible",
        )
    draft = plan_for(spec, catalog, chosen, SolverInfo(status))
    proven = response.best_objective_bound
    if not searched_all:
        proven = -(1 << 62)
        optimal = lower is not None and micro_usd(draft.total_usd) <= lower
        status = "OPTIMAL" if optimal else "FEASIBLE"
    stats = SolveStats(
        status,
        float(response.wall_time),
        built.num_vars,
        len(built.proto.constraints),
        sum(len(jo.options) for jo in cands.jobs),
        len(cands.dominated),
        micro_usd(draft.total_usd),
        max(round(proven), lower if lower is not None else -(1 << 62)),
    )
    return _result(draft, stats, chosen)


def _result(draft: Plan, stats: SolveStats, chosen: dict[str, Option]) -> SolveResult:
    """The plan with its solver status and gap as `stats` say."""
    status = stats.status
    info = SolverInfo("OPTIMAL") if status == "OPTIMAL" else SolverInfo(status, round(stats.gap, 6))
    return SolveResult(dataclasses.replace(draft, solver=info), stats, chosen)


def solve_detailed(
    spec: SkySpec,
    catalog: Catalog,
    blocked: frozenset[Block] = frozenset(),
    *,
    limits: Limits = Limits(),
) -> SolveResult:
    """The cheapest plan that obeys every rule, or InfeasibleError saying why there is none.

    The time limit covers the whole solve: CP-SAT gets what pruning and the starting plan left
    (at least a tenth of it)."""
    with paused_gc():
        return _solve(spec, catalog, blocked, limits)


def _solve(
    spec: SkySpec, catalog: Catalog, blocked: frozenset[Block], limits: Limits
) -> SolveResult:
    started = time.monotonic()
    cands = prune(spec, catalog, blocked)
    empty = [jo.job for jo in cands.jobs if not jo.options]
    if empty:
        raise InfeasibleError(**explain_no_region(spec, catalog, blocked, empty))
    options = sum(len(jo.options) for jo in cands.jobs)
    large = options >= large_from(limits.time_limit)
    coupled = limits.coupled
    if coupled is None:
        coupled = options >= COUPLED_OPTIONS and not large
    lp_fits = (
        large
        and limits.coupled is None
        and guide_seconds(options, lp_threads(limits)) <= GUIDE_SHARE * limits.time_limit
    )
    # large models spend their time on the LP start and the neighbourhood search instead, and
    # the guided search takes its options from the LP: a short descent will do for it
    evaluations = SMALL_EVALUATIONS
    if large:
        evaluations = GUIDED_EVALUATIONS if lp_fits else LARGE_EVALUATIONS
    start = local_search(spec, catalog, cands, evaluations)
    # every plan pays at least each job's cheapest option (copies cost nothing or more)
    lower = sum(min(o.micro for o in jo.options) for jo in cands.jobs)
    guided = lp_fits and within_quotas(catalog, cands, start)
    found = _guided(spec, catalog, cands, start, limits, started, lower) if guided else None
    if found is not None:
        return _within_budget(spec, catalog, cands, found, start, _rest(limits, started), coupled)
    built = build_model(spec, catalog, cands, start=start, coupled=coupled)
    if large and within_quotas(catalog, cands, start):
        from skyplan.solver.lns import improve_start

        clock_until = None if limits.work_limit is not None else started + limits.time_limit
        start, lp_bound = improve_start(
            spec, catalog, cands, built, start, started, clock_until, LNS_SHARE
        )
        lower = max(lower, lp_bound if lp_bound is not None else lower)
        set_hint(built, cands, start)
    limits = _rest(limits, started)
    result = _outcome(spec, catalog, cands, built, start, limits, lower)
    if isinstance(result, tuple):
        raise InfeasibleError(**explain_quotas(built, result))
    return _within_budget(spec, catalog, cands, result, start, limits, coupled)


def _guided(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    start: list[int],
    limits: Limits,
    started: float,
    lower: int,
) -> SolveResult | None:
    """The LP-guided search of guide.py; None when PDLP gives nothing (the caller then takes
    the neighbourhood search)."""
    from skyplan.solver.guide import guide, restrict

    clock = limits.work_limit is None
    relaxation = build_model(spec, catalog, cands, coupled=True, rows_only=True)
    # PDLP may use all but GUIDE_RESERVE of the time limit; CP-SAT searches in the rest
    reserve = max(2.0, GUIDE_RESERVE * limits.time_limit)
    left = limits.time_limit - reserve - (time.monotonic() - started)
    found = guide(relaxation, lp_threads(limits), max(1.0, left) if clock else None)
    if found is None:
        return None
    sub, sub_start = restrict(cands, found.keep, start)
    built = build_model(spec, catalog, sub, start=sub_start)
    bound = max(lower, found.bound_micro)
    rest = _rest(limits, started)
    options = sum(len(jo.options) for jo in cands.jobs)
    every = sum(len(jo.options) for jo in sub.jobs) == options  # then CP-SAT's proof holds
    result = _outcome(spec, catalog, sub, built, sub_start, rest, bound, searched_all=every)
    if isinstance(result, tuple):  # the start keeps every quota, so this is not expected
        return None
    stats = dataclasses.replace(result.stats, variables=found.lp_variables, options=options)
    result = dataclasses.replace(result, stats=stats)
    if stats.status == "OPTIMAL" or result.chosen is None:
        return result
    return _branch(spec, catalog, cands, relaxation, found, result, limits, started)


def _branch(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    relaxation: BuiltModel,
    found: Any,
    result: SolveResult,
    limits: Limits,
    started: float,
) -> SolveResult:
    """The branch and bound of branch.py from the guided search's plan and LP: a proof that
    the plan (or one it finds) is optimal, or a better bound, within the time limit."""
    from skyplan.solver.branch import BranchAndBound

    assert result.chosen is not None
    choice = [jo.options.index(result.chosen[jo.job.name]) for jo in cands.jobs]
    deadline = started + limits.time_limit
    search = BranchAndBound(
        spec,
        catalog,
        cands,
        relaxation,
        found.arrays,
        lp_threads(limits),
        deadline,
        limits.work_limit,
        limits.workers,
    )
    proof = search.run(found, choice)
    chosen = {jo.job.name: jo.options[k] for jo, k in zip(cands.jobs, proof.choice, strict=True)}
    status = "OPTIMAL" if proof.optimal else "FEASIBLE"
    draft = plan_for(spec, catalog, chosen, SolverInfo(status))
    objective = micro_usd(draft.total_usd)
    # (the model rounds each cost term to the micro-dollar, the plan sums exactly: a proof's
    # bound is the model's optimum, which may differ from the plan's total by that rounding)
    bound = objective if proof.optimal else max(result.stats.bound_micro, proof.bound)
    stats = dataclasses.replace(
        result.stats, status=status, objective_micro=objective, bound_micro=bound
    )
    return _result(draft, stats, chosen)


def _within_budget(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    result: SolveResult,
    start: list[int],
    limits: Limits,
    coupled: bool,
) -> SolveResult:
    """`result` when it keeps the budget; else a search capped at the budget, or why not."""
    budget = spec.budget_usd
    if budget is None or result.plan.total_usd <= budget:
        return result
    proven = result.stats.status == "OPTIMAL"
    if not proven:
        # the limit stopped above the budget: search again with the budget as a hard limit
        capped = build_model(
            spec, catalog, cands, budget_micro=micro_usd(budget), start=start, coupled=coupled
        )
        again = _outcome(spec, catalog, cands, capped, None, limits)
        if isinstance(again, SolveResult) and again.plan.total_usd <= budget:
            return again
    raise InfeasibleError(**explain_budget(spec, result.plan, proven=proven))


def solve(
    spec: SkySpec,
    catalog: Catalog,
    blocked: frozenset[Block] = frozenset(),
    *,
    time_limit: float = DEFAULT_TIME_LIMIT,
    workers: int = 1,
    work_limit: float | None = None,
    coupled: bool | None = None,
) -> Plan:
    """The cheapest plan obeying every rule (pure; deterministic unless a wall limit stops it)."""
    limits = Limits(time_limit, work_limit, workers, coupled)
    return solve_detailed(spec, catalog, blocked, limits=limits).plan
