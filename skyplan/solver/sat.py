"""Running CP-SAT with skyplan's parameters (one place for the main solve and the sub-solves)."""

from __future__ import annotations

import signal
from typing import Any

# CP-SAT's presolve runs on models with at least this many variables. Below, the model is
# already small and tight and presolve costs more than it saves: seconds to OPTIMAL on the
# 100-job benchmark (6,905 variables), median of 5, re-plan 0.88 -> 0.48 and first plan
# 0.81 -> 0.77; on the 300-job one (20,606) the plan after 30 s is worse without it ($8,128 at
# 2.4% against $8,023 at 1.3%).
PRESOLVE_VARIABLES = 10_000


def run_cp_sat(
    proto: Any,
    time_limit: float | None,
    work_limit: float | None = None,
    workers: int = 1,
    presolve: bool = True,
) -> Any:
    """Solve a CpModelProto with skyplan's parameters; the CpSolverResponse. `presolve=False`
    skips CP-SAT's presolve (see PRESOLVE_VARIABLES for when that pays)."""
    from ortools.sat.python import cp_model_helper as cmh

    params = cmh.SatParameters()
    if time_limit is not None:
        params.max_time_in_seconds = time_limit
    if work_limit is not None:
        params.max_deterministic_time = work_limit
    params.num_workers = workers
    params.interleave_search = workers > 1  # deterministic with several workers too
    params.random_seed = 0
    params.log_search_progress = False
    params.linearization_level = 2
    # Measured on the 100-job benchmark (re-plan / first plan, seconds to OPTIMAL): probing costs
    # more than it saves (0.99 -> 0.60 / 0.98), and the LP with every constraint from the start
    # bounds faster than one that adds them lazily (-> 0.40 / 0.34).
    params.cp_model_probing_level = 0
    params.add_lp_constraints_lazily = False
    params.cp_model_presolve = presolve
    # CP-SAT's own SIGINT handler (on by default) resets SIGINT to the default action at the C
    # level after each solve: Ctrl-C would then kill skyplan outright instead of reaching its
    # handler, which stops the commands it runs and lets go of the stack's lock.
    params.catch_sigint_signal = False
    handlers: dict[int, Any] = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    wrapper = cmh.SolveWrapper()
    wrapper.set_parameters(params)
    try:
        return wrapper.solve(proto)
    finally:
        _reinstall(handlers)  # whatever the solver did to them


def _reinstall(handlers: dict[int, Any]) -> None:
    """Install the handlers Python knows of again, at the C level (main thread only)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    for number, handler in handlers.items():
        if handler is not None:
            signal.signal(number, handler)


def status_name(response: Any) -> str:
    """The response's status as a bare name: OPTIMAL, FEASIBLE, INFEASIBLE, UNKNOWN, ..."""
    return str(response.status).rsplit(".", 1)[-1]
