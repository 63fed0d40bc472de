"""The LP relaxation of a built model as sparse arrays, solved by OR-Tools' LP solvers (PDLP,
GLOP) through model_builder, and the lower bound any row duals prove.

The bound is the Lagrangian bound of the duals y (each signed to match a finite side of its row):
  L(y) = sum_i y_i side_i + sum_j min(0, c_j - sum_i y_i a_ij)
is at most the cost of every plan, because each feasible x in [0, 1] has y_i (a_i x - side_i) >= 0.
So it holds however far the LP solver is from converging; it only gets tighter as it converges.
A dual with the wrong sign for its row (its side is infinite) counts as 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from skyplan.solver.model import BuiltModel

SAFETY_MICRO = 1_000  # a tenth of a cent below the float sum, far above its rounding error


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


@dataclass(frozen=True)
class LpSolution:
    """The LP solver's primal values and row duals (numpy arrays)."""

    x: Any
    y: Any
    status: str


def pdlp_parameters(
    tolerance: float, iterations: int, threads: int, seconds: float | None = None
) -> str:
    """PDLP's parameters: stop at `tolerance` (relative and absolute), after `iterations`, or
    (a guard only) after `seconds` of wall time."""
    clock = "" if seconds is None else f" time_sec_limit: {seconds:.3f}"
    return (
        f"num_threads: {threads} termination_criteria {{ simple_optimality_criteria {{ "
        f"eps_optimal_relative: {tolerance} eps_optimal_absolute: {tolerance} }} "
        f"iteration_limit: {iterations}{clock} }}"
    )


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


def solve_lp(arrays: LpArrays, solver: str, parameters: str = "") -> LpSolution | None:
    """Solve the relaxation with an OR-Tools LP solver ("pdlp" or "glop"); None when that
    solver is unavailable or returns no solution."""
    import numpy as np
    from ortools.linear_solver.python import model_builder_helper as mbh

    helper = mbh.ModelSolverHelper(solver)
    if not helper.solver_is_supported():
        return None
    model = mbh.ModelBuilderHelper()
    n = arrays.num_vars
    zeros: Any = np.zeros(n)  # (the stubs' ndarray types are narrower than numpy's)
    ones: Any = np.ones(n)
    model.fill_model_from_sparse_data(zeros, ones, arrays.cost, arrays.lo, arrays.hi, arrays.matrix)
    if parameters:
        helper.set_solver_specific_parameters(parameters)
    helper.solve(model)
    status = str(helper.status()).rsplit(".", 1)[-1]
    if not helper.has_response():
        return None
    # PDLP stopped by its iteration or time limit reports NOT_SOLVED, yet returns its last
    # iterate, whose duals still prove a bound
    response = helper.response()
    if len(response.variable_value) != n or len(response.dual_value) != arrays.lo.shape[0]:
        return None
    return LpSolution(np.array(response.variable_value), np.array(response.dual_value), status)


def lagrangian(arrays: LpArrays, y: Any) -> tuple[int, Any]:
    """L(y) of the module docstring in micro-dollars (rounded down, less SAFETY_MICRO), and the
    reduced costs c - A^T y of every variable under the signed duals."""
    import numpy as np

    y = np.nan_to_num(np.asarray(y, dtype=np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    use_lo = (y > 0) & np.isfinite(arrays.lo)
    use_hi = (y < 0) & np.isfinite(arrays.hi)
    y = np.where(use_lo | use_hi, y, 0.0)
    side = np.where(use_lo, arrays.lo, np.where(use_hi, arrays.hi, 0.0))
    reduced = arrays.cost - arrays.matrix.T @ y
    total = float(np.dot(y, side)) + float(np.minimum(reduced, 0.0).sum())
    return math.floor(total * 1e6) - SAFETY_MICRO, reduced
