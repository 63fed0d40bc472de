"""The LP relaxation of a built model as sparse arrays, solved by OR-Tools' LP solvers (PDLP,
and GLOP for exact duals), and the lower bound any row duals prove.

The bound is the Lagrangian bound of the duals y (each signed to match a finite side of its row):
  L(y) = sum_i y_i side_i + sum_j min(0, c_j - sum_i y_i a_ij)
is at most the cost of every plan, because each feasible x in [0, 1] has y_i (a_i x - side_i) >= 0
(in a branch whose box fixes variables, each min is over that variable's bounds, not [0, 1]).
So it holds however far the LP solver is from converging; it only gets tighter as it converges.
A dual with the wrong sign for its row (its side is infinite) counts as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from skyplan.solver.model import BuiltModel

SAFETY_MICRO = 1_000  # a tenth of a cent below the float sum, far above its rounding error
RELATIVE_SAFETY = 1e-9  # and this share of the magnitudes summed (1,000-job benchmark: 6e-5 $)


@dataclass(frozen=True)
class LpArrays:
    """min cost.x subject to lo <= A x <= hi, 0 <= x <= 1 (money in dollars)."""

    matrix: Any  # scipy.sparse.csr_matrix, rows x variables
    lo: Any  # numpy arrays; -inf / inf for a missing side
    hi: Any
    cost: Any

    @property
    def num_vars(self) -> int:
        """How many variables (columns)."""
        return int(self.cost.shape[0])

    @cached_property
    def magnitude(self) -> Any:
        """|A|, for the bound's float margin and the branching scores (computed once)."""
        return abs(self.matrix)


@dataclass(frozen=True)
class LpSolution:
    """The LP solver's primal values and row duals (numpy arrays); for PDLP also the primal
    weight it ended with, which a warm start of a nearby LP needs to resume where it stopped."""

    x: Any
    y: Any
    status: str
    weight: float | None = None


@dataclass(frozen=True)
class Box:
    """Bounds on the variables other than [0, 1]: a branch's fixings (numpy arrays)."""

    lower: Any
    upper: Any


def lp_arrays(built: BuiltModel) -> LpArrays:
    """The model's rows (as ProtoBuilder recorded them) and objective as sparse arrays."""
    import numpy as np
    from scipy.sparse import csr_matrix

    rows = built.lp_rows
    lengths = np.fromiter((len(v) for v, _, _, _ in rows), dtype=np.int64, count=len(rows))
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    nnz = int(indptr[-1])
    cols = np.fromiter((v for vs, _, _, _ in rows for v in vs), dtype=np.int32, count=nnz)
    vals = np.fromiter(
        (a for vs, cs, _, _ in rows for a in (cs if cs is not None else [1] * len(vs))),
        dtype=np.float64,
        count=nnz,
    )
    lo = np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows))
    hi = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
    cost = np.zeros(built.num_vars)
    objective = built.proto.objective
    np.add.at(cost, np.asarray(objective.vars, dtype=np.int64), np.asarray(objective.coeffs) / 1e6)
    matrix = csr_matrix((vals, cols, indptr), shape=(len(rows), built.num_vars))
    matrix.sum_duplicates()
    return LpArrays(matrix, lo, hi, cost)


def objective_micro(built: BuiltModel) -> Any:
    """The objective's coefficient of every variable, in micro-dollars (an int64 array)."""
    import numpy as np

    cost = np.zeros(built.num_vars, dtype=np.int64)
    objective = built.proto.objective
    variables = np.asarray(objective.vars, dtype=np.int64)
    np.add.at(cost, variables, np.asarray(objective.coeffs, dtype=np.int64))
    return cost


def pdlp(
    arrays: LpArrays,
    tolerance: float,
    iterations: int,
    threads: int,
    seconds: float | None = None,
    box: Box | None = None,
    warm: LpSolution | None = None,
) -> LpSolution | None:
    """Solve the relaxation with PDLP (OR-Tools' first-order LP solver) to `tolerance` (relative
    and absolute), stopping after `iterations` or (a guard only) `seconds` of wall time, with
    its last iterate even then. `warm` starts from a solution of the same rows (values, duals
    and primal weight), as a branch does from its parent: on the 1,000-job benchmark a branch
    then takes 1,300-1,600 iterations where a cold start takes 2,700-3,100. None when PDLP
    returns nothing."""
    import numpy as np
    from ortools.pdlp import solve_log_pb2, solvers_pb2
    from ortools.pdlp.python import pdlp as solver

    n = arrays.num_vars
    lower = np.zeros(n) if box is None else box.lower
    upper = np.ones(n) if box is None else box.upper
    problem = solver.QuadraticProgram()
    problem.resize_and_initialize(n, arrays.lo.shape[0])
    problem.objective_vector = arrays.cost
    problem.constraint_lower_bounds = arrays.lo
    problem.constraint_upper_bounds = arrays.hi
    problem.variable_lower_bounds = lower
    problem.variable_upper_bounds = upper
    problem.constraint_matrix = arrays.matrix
    params = solvers_pb2.PrimalDualHybridGradientParams()
    params.num_threads = threads
    # Eigen's thread pool: the same iterates, 10-20% sooner than the default pool with two
    # threads (1,000-job benchmark: root 12.5 -> 9.9-11.2 s, a branch 5.3-6.0 -> 4.7 s)
    params.scheduler_type = solvers_pb2.SCHEDULER_TYPE_EIGEN_THREADPOOL
    criteria = params.termination_criteria
    criteria.simple_optimality_criteria.eps_optimal_relative = tolerance
    criteria.simple_optimality_criteria.eps_optimal_absolute = tolerance
    criteria.iteration_limit = iterations
    if seconds is not None:
        criteria.time_sec_limit = max(0.1, seconds)
    start = None
    if warm is not None:
        start = solver.PrimalAndDualSolution()
        start.primal_solution = np.clip(warm.x, lower, upper)
        start.dual_solution = warm.y
        if warm.weight:
            params.initial_primal_weight = warm.weight
    result = solver.primal_dual_hybrid_gradient(problem, params, start)
    x, y = np.asarray(result.primal_solution), np.asarray(result.dual_solution)
    if x.shape != (n,) or y.shape != arrays.lo.shape:
        return None
    log = result.solve_log
    status = solve_log_pb2.TerminationReason.Name(log.termination_reason)
    weight = float(log.solution_stats.primal_weight)
    good = math.isfinite(weight) and weight > 0
    return LpSolution(x, y, status.removeprefix("TERMINATION_REASON_"), weight if good else None)


def glop(arrays: LpArrays) -> LpSolution | None:
    """Solve the relaxation exactly with GLOP (OR-Tools' simplex) through model_builder: exact
    duals for small models (tests). None when GLOP returns no solution."""
    import numpy as np
    from ortools.linear_solver.python import model_builder_helper as mbh

    helper = mbh.ModelSolverHelper("glop")
    model = mbh.ModelBuilderHelper()
    n = arrays.num_vars
    zeros: Any = np.zeros(n)  # (the stubs' ndarray types are narrower than numpy's)
    ones: Any = np.ones(n)
    model.fill_model_from_sparse_data(zeros, ones, arrays.cost, arrays.lo, arrays.hi, arrays.matrix)
    helper.solve(model)
    if not helper.has_response():
        return None
    response = helper.response()
    if len(response.variable_value) != n or len(response.dual_value) != arrays.lo.shape[0]:
        return None
    status = str(helper.status()).rsplit(".", 1)[-1]
    return LpSolution(np.array(response.variable_value), np.array(response.dual_value), status)


def lagrangian(arrays: LpArrays, y: Any, box: Box | None = None) -> tuple[int, Any]:
    """L(y) of the module docstring in micro-dollars (rounded down, less SAFETY_MICRO), and the
    reduced costs c - A^T y of every variable under the signed duals. With a `box`, each
    variable's term is its reduced cost at whichever of its bounds makes it smaller."""
    import numpy as np

    y, side = signed_duals(arrays, y)
    reduced = arrays.cost - arrays.matrix.T @ y
    if box is None:
        least = np.minimum(reduced, 0.0)
    else:
        least = np.minimum(reduced * box.lower, reduced * box.upper)
    total = float(np.dot(y, side)) + float(least.sum())
    # float64 sums err by about 1e-16 of the magnitudes summed; RELATIVE_SAFETY covers that on
    # any sizes (a $1e12 objective would eat the fixed tenth of a cent on its own)
    magnitude = float(np.abs(y * side).sum()) + float(np.abs(arrays.cost).sum())
    magnitude += float((arrays.magnitude.T @ np.abs(y)).sum())
    margin = SAFETY_MICRO + math.ceil(magnitude * 1e6 * RELATIVE_SAFETY)
    return math.floor(total * 1e6) - margin, reduced


def signed_duals(arrays: LpArrays, y: Any) -> tuple[Any, Any]:
    """The duals with those of the wrong sign for their row (or not finite) set to 0, and per
    row the side each dual multiplies (lo for a positive dual, hi for a negative one)."""
    import numpy as np

    y = np.nan_to_num(np.asarray(y, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    use_lo = (y > 0) & np.isfinite(arrays.lo)
    use_hi = (y < 0) & np.isfinite(arrays.hi)
    y = np.where(use_lo | use_hi, y, 0.0)
    return y, np.where(use_lo, arrays.lo, np.where(use_hi, arrays.hi, 0.0))
