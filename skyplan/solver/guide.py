"""LP-guided search for models too large for CP-SAT to prove: which options are worth searching.

On the 1,000-job benchmark CP-SAT cannot even solve the root LP of the coupled rows
(coupled.py) within 30 s, so it never gets their tight bound. Here PDLP solves that LP roughly
instead, which gives two things:

- a lower bound on every plan (the Lagrangian bound of its duals, lp.py), within 0.2% of the
  best plan known on that benchmark where the plain rows' LP is 2.6% under it;
- per option, what choosing it costs over the LP optimum: its reduced cost plus those of the
  copies it forces (each copy of external data it reads, the producer sums it enters) plus,
  for each produced data set it reads, the cheapest way to be served by its producer (the
  split rows of coupled.py). Options whose cost stays within GAIN_KEEP of the LP optimum are
  the ones near-optimal plans are made of.

CP-SAT then searches only those options (and the starting plan's). Its plan is no worse than the
starting plan, and its gap is measured against the LP bound, never against the restricted
search's own bound (which does not hold for the options left out). On the 1,000-job benchmark:
PDLP with two threads 16 s, bound $23,801.32, 2,468 of 39,022 options kept, plan $23,848.49
found by CP-SAT in 0.6 s (the search without the LP ended at $24,424 after 30 s).

The gains also prove things: a plan costs at least the bound plus the gain of any one of its
options (one option's gain counts distinct variables; two options may share some, so gains are
never summed over a plan). So when CP-SAT, searching every option whose gain is
under the best plan's cost less the bound, finds nothing cheaper, that plan is optimal; branch.py
builds its proof on this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from skyplan.solver.candidates import Candidates, JobOptions
from skyplan.solver.lp import Box, LpArrays, LpSolution, lagrangian, lp_arrays, pdlp
from skyplan.solver.model import BuiltModel
from skyplan.solver.relax import ITERATIONS, TOLERANCE

# dollars over the LP optimum within which an option is searched (1,000-job benchmark: $0.05
# keeps 2,468 options, plan $23,848.49 in 0.6 s; $0.20 keeps 6,393, $23,848.08 in 3.3 s;
# $0.50 keeps 10,670, the same plan in 12 s)
GAIN_KEEP = 0.05


@dataclass(frozen=True)
class Guide:
    """The LP's bound (micro-dollars), per job the option indices worth searching, and the LP
    itself for the branch and bound of branch.py (arrays, solution, reduced costs)."""

    bound_micro: int
    keep: tuple[tuple[int, ...], ...]
    lp_variables: int
    arrays: LpArrays
    solution: LpSolution
    reduced: Any


def guide(built: BuiltModel, threads: int, time_limit: float | None) -> Guide | None:
    """Solve the LP of `built` (the coupled rows) with PDLP; None when PDLP returns nothing.
    `time_limit` (wall seconds) only guards a slow machine: PDLP stops at a fixed tolerance or
    iteration count, so the same model gives the same guide."""
    arrays = lp_arrays(built)
    solution = pdlp(arrays, TOLERANCE, ITERATIONS, threads, time_limit)
    if solution is None:
        return None
    bound, reduced = lagrangian(arrays, solution.y)
    keep = kept_options(built, option_gains(built, reduced), GAIN_KEEP)
    return Guide(bound, keep, built.num_vars, arrays, solution, reduced)


def kept_options(built: BuiltModel, gains: Any, limit: float) -> tuple[tuple[int, ...], ...]:
    """Per job, the indices of its options whose gain is at most `limit` dollars."""
    return tuple(
        tuple(k for k, v in enumerate(vars_) if gains[v] <= limit) for vars_ in built.option_vars
    )


def option_gains(built: BuiltModel, reduced: Any, box: Box | None = None) -> Any:
    """Per variable (read at the option variables): what setting it to 1 costs over the LP
    bound, counting the variables it forces to 1 and, per split, its cheapest member. In a
    branch (`box`), a variable fixed at 1 costs nothing more and one fixed at 0 is impossible
    (infinite)."""
    import numpy as np

    positive = np.maximum(reduced, 0.0)
    if box is not None:
        positive = np.where(box.upper <= 0, np.inf, np.where(box.lower >= 1, 0.0, positive))
    src: list[int] = []
    dst: list[int] = []
    for var, by, also in built.derived:
        if also is None:  # var = any(by): each of `by` forces var
            src.extend(by)
            dst.extend([var] * len(by))
    gains = positive.copy()
    np.add.at(gains, np.asarray(src, dtype=np.int64), positive[np.asarray(dst, dtype=np.int64)])
    if built.splits:
        members = [m for _, ms in built.splits for m in ms]
        starts = np.cumsum([0] + [len(ms) for _, ms in built.splits[:-1]])
        cheapest = np.minimum.reduceat(gains[np.asarray(members, dtype=np.int64)], starts)
        readers = [x for lits, _ in built.splits for x in lits]
        which = [k for k, (lits, _) in enumerate(built.splits) for _ in lits]
        out = gains.copy()
        np.add.at(out, np.asarray(readers, dtype=np.int64), cheapest[np.asarray(which)])
        return out
    return gains


def restrict(
    cands: Candidates, keep: Sequence[Sequence[int]], start: list[int] | None = None
) -> tuple[Candidates, list[int]]:
    """The candidates with only the kept options (and each job's starting one, if given), and
    the start in the new indices."""
    jobs: list[JobOptions] = []
    new_start: list[int] = []
    for i, (jo, kept) in enumerate(zip(cands.jobs, keep, strict=True)):
        indices = sorted({*kept} if start is None else {*kept, start[i]})
        jobs.append(JobOptions(jo.job, tuple(jo.options[k] for k in indices)))
        if start is not None:
            new_start.append(indices.index(start[i]))
    return Candidates(tuple(jobs), cands.dominated), new_start
