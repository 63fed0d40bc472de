"""Branch and bound on the LP of the coupled rows: the proof that the guided search's plan is
optimal where the LP alone is not tight enough.

Why: on the 1,000-job benchmark the LP (guide.py) is $47 under the best plan, and almost all of
that is one half-made copy (src2 into aws:eu-west-1, its readers half there): an odd cycle of
three half copies that no plan can make. Branching on that copy closes it: "no reader there"
has an LP bound above the plan, and "a reader there" a bound within 50 cents of it.

How, per node (a set of fixings of the LP's variables, best bound first):
- its bound is the Lagrangian bound (lp.py) of PDLP's duals for the LP with those fixings,
  warm-started from the parent's solution;
- it is closed when its bound reaches the best plan, or when few enough options have a gain
  (guide.option_gains, under the node's duals) below the best plan's cost less the bound:
  every cheaper plan in the node is made of those options only (a plan costs at least the
  bound plus the gain of any one of its options: one option's gain counts distinct variables;
  gains are never summed), so CP-SAT over them, with the node's fixings as constraints and the
  objective capped under the best plan, either finds the node's best plan or proves there is
  none cheaper. A scouting search over a fifth of the gap comes first (see _close);
- otherwise it branches on a fractional variable whose fixing a plan can state on options (see
  _needs): a job's option, a copy (made when one of its readers runs there and, for produced
  data, its producer in the copy's price class), a producer's sum over a group of regions.
  Fixed at 1, the node's CP-SAT searches require those options; fixed at 0, its search is over
  a superset of the node's plans (the options it rules out get an infinite gain where it can
  tell), which can only find more plans, all real. Of those variables it picks the one whose
  rows carry most of the best plan's excess over the bound (y_i times the plan's slack in
  row i), the most fractional on a tie.

The plan is OPTIMAL once every node is closed; otherwise the bound is the least bound of the
nodes still open. Nothing is assumed of PDLP's accuracy: a rough LP only makes bounds weaker.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Any

from skyplan.catalog.models import Catalog
from skyplan.solver.candidates import Candidates
from skyplan.solver.guide import Guide, option_gains, restrict
from skyplan.solver.lp import (
    Box,
    LpArrays,
    LpSolution,
    lagrangian,
    objective_micro,
    pdlp,
    signed_duals,
)
from skyplan.solver.model import BuiltModel, build_model, completion
from skyplan.solver.sat import run_cp_sat, status_name
from skyplan.spec.model import SkySpec

# a node is closed by CP-SAT when at most this many options are within its gap (1,000-job
# benchmark, node "src2 copied into aws:eu-west-1": 10,842 options within $0.51, the node's
# best plan proven in 1.4 s; 1.7 s with CP-SAT's presolve, which leaves skip)
CLOSE_OPTIONS = 15_000
# the scouting search of a node first keeps the options within this share of its gap (1,000-job
# benchmark, the node above: 3,722 options within $0.10 hold its best plan, proven in 0.3 s)
SCOUT_SHARE = 0.2
# branch LPs: PDLP to this tolerance (the root's is relax.TOLERANCE, 3e-4; at 3e-4 the node
# above is bounded $3.30 under its best plan, at 1e-4 $0.10), at most this many iterations
BRANCH_TOLERANCE = 1e-4
BRANCH_ITERATIONS = 5_000
# LPs solved at most under --work-limit, so that the search ends the same on every machine
# (with a wall-clock limit only the clock ends it)
MAX_LPS = 16
# a variable counts as fractional between these
FRACTIONAL = 0.02


@dataclass(order=True)
class Node:
    """A set of fixings, with the LP's bound under them (micro-dollars)."""

    bound: int
    order: int
    box: Box | None = field(compare=False)
    # PDLP's solution (a warm start for the children, the fractions to branch on)
    solution: LpSolution = field(compare=False)
    # the duals the bound is of (PDLP's, or an ancestor's where those prove more under this
    # box), and their reduced costs, from which the options' gains are
    duals: Any = field(compare=False)
    reduced: Any = field(compare=False)
    # sets of option variables (of the coupled model) one of which each plan here picks
    require: tuple[tuple[int, ...], ...] = field(compare=False, default=())


@dataclass(frozen=True)
class Proof:
    """The best plan found (option index per job), its cost and the proven lower bound
    (micro-dollars, model objective), and whether every node was closed."""

    choice: list[int]
    objective: int
    bound: int
    optimal: bool


class BranchAndBound:
    """The search over one model: `built` is the coupled model whose LP `arrays` are."""

    def __init__(
        self,
        spec: SkySpec,
        catalog: Catalog,
        cands: Candidates,
        built: BuiltModel,
        arrays: LpArrays,
        threads: int,
        deadline: float,
        work_limit: float | None,
        workers: int = 1,
    ):
        import numpy as np

        self.spec, self.catalog, self.cands, self.built = spec, catalog, cands, built
        self.arrays, self.threads = arrays, threads
        self.deadline, self.work_limit, self.workers = deadline, work_limit, workers
        self.where = {
            v: (i, k) for i, vars_ in enumerate(built.option_vars) for k, v in enumerate(vars_)
        }
        self.needs = _needs(built, self.where)
        self.eligible = np.zeros(arrays.num_vars, dtype=bool)
        self.eligible[list(self.needs)] = True
        self.costs = objective_micro(built)
        self.lps = 0
        self.counter = 0

    def run(self, root: Guide, choice: list[int]) -> Proof:
        """Prove or improve `choice` starting from the root LP."""
        self._incumbent(list(choice))
        pending = [self._node(root.solution, None, ())]
        stuck: list[Node] = []
        while pending:
            node = heapq.heappop(pending)
            if node.bound >= self.upper:
                continue
            if self._left() <= 0:
                stuck.append(node)
                break
            closed, can_branch = self._close(node)
            if closed:
                continue
            var = self._branch_variable(node) if can_branch else None
            children = self._children(node, var) if var is not None else None
            if children is None:
                stuck.append(node)
                continue
            for child in children:
                heapq.heappush(pending, child)
        open_bounds = [n.bound for n in stuck + pending if n.bound < self.upper]
        return Proof(self.choice, self.upper, min([self.upper, *open_bounds]), not open_bounds)

    def _incumbent(self, choice: list[int]) -> None:
        """Take the plan that picks `choice` as the best: its variables and model objective."""
        import numpy as np

        self.choice = choice
        self.values = np.asarray(completion(self.built, self.cands, choice), dtype=np.int64)
        self.upper = int(self.costs @ self.values)

    def _left(self) -> float:
        """Wall seconds left for the search (infinite under a work limit, where MAX_LPS and
        each CP-SAT run's work limit end it, so that it ends the same on every machine)."""
        if self.work_limit is not None:
            return float("inf")
        return self.deadline - time.monotonic()

    def _node(
        self,
        solution: LpSolution,
        box: Box | None,
        require: tuple[tuple[int, ...], ...],
        parent: Node | None = None,
    ) -> Node:
        """The node of `solution` under `box`. A child's LP, solved roughly, can prove less
        than its parent's duals do under the child's (smaller) box: then those are kept, so
        that a child's bound never falls below its parent's (on an 850-job synthetic spec the
        children's own duals proved $5 to $22 less than the root's)."""
        bound, reduced = lagrangian(self.arrays, solution.y, box)
        duals = solution.y
        if parent is not None:
            inherited, again = lagrangian(self.arrays, parent.duals, box)
            if inherited > bound:
                bound, reduced, duals = inherited, again, parent.duals
        self.counter += 1
        return Node(bound, self.counter, box, solution, duals, reduced, require)

    def _children(self, node: Node, var: int) -> list[Node] | None:
        """The two LPs with `var` fixed at 0 and at 1; None when the LP limit or the clock
        does not allow both, or PDLP fails."""
        import numpy as np

        if self.work_limit is not None and self.lps + 2 > MAX_LPS:
            return None
        out = []
        for value in (0.0, 1.0):
            left = self._left()
            if left <= 0:
                return None
            n = self.arrays.num_vars
            lower = np.zeros(n) if node.box is None else node.box.lower.copy()
            upper = np.ones(n) if node.box is None else node.box.upper.copy()
            lower[var] = upper[var] = value
            box = Box(lower, upper)
            seconds = None if self.work_limit is not None else left
            solution = pdlp(
                self.arrays,
                BRANCH_TOLERANCE,
                BRANCH_ITERATIONS,
                self.threads,
                seconds,
                box,
                node.solution,
            )
            self.lps += 1
            if solution is None:
                return None
            require = node.require + (self.needs[var] if value else ())
            out.append(self._node(solution, box, require, node))
        return out

    def _branch_variable(self, node: Node) -> int | None:
        """The fractional variable to branch on (see the module docstring), or None."""
        import numpy as np

        x = node.solution.x
        free = self.eligible & (x > FRACTIONAL) & (x < 1 - FRACTIONAL)
        if node.box is not None:
            free &= node.box.lower < node.box.upper
        if not free.any():
            return None
        y, side = signed_duals(self.arrays, node.solution.y)
        slack = np.maximum(y * (self.arrays.matrix @ self.values - side), 0.0)
        score = np.where(free, self.arrays.magnitude.T @ slack, -1.0)
        fraction = np.where(free, np.minimum(x, 1 - x), -1.0)
        # the largest score, then the most fractional, then the lowest index
        order = np.lexsort((np.arange(x.shape[0]), -fraction, -score))
        return int(order[0])

    def _close(self, node: Node) -> tuple[bool, bool]:
        """Try to close `node` by CP-SAT over the options within its gap: (closed, whether
        branching may still help). A scouting search over the options within SCOUT_SHARE of
        the gap comes first: when it finds the node's best plan, that plan's own gap is often
        within what it searched, and the node is closed without the larger search."""
        gains = option_gains(self.built, node.reduced, node.box)
        for share in (SCOUT_SHARE, 1.0):
            gap = (self.upper - 1 - node.bound) / 1e6
            limit = gap * share
            keep = [
                [k for k, v in enumerate(vars_) if gains[v] <= limit]
                for vars_ in self.built.option_vars
            ]
            scouting = share < 1.0
            if any(not k for k in keep):
                if scouting:
                    continue
                return True, False  # some job has no option cheap enough: nothing cheaper
            if sum(len(k) for k in keep) > CLOSE_OPTIONS:
                if scouting:
                    continue
                return False, True
            status = self._search(node, keep)
            if status is None:
                return False, False
            # every plan cheaper than the best has only options within ITS gap of the bound
            if status in ("OPTIMAL", "INFEASIBLE") and limit >= (self.upper - 1 - node.bound) / 1e6:
                return True, False
            if not scouting:
                return False, False
        return False, False

    def _search(self, node: Node, keep: list[list[int]]) -> str | None:
        """CP-SAT over the kept options (per job, their indices) with the node's fixings and the
        objective under the best plan's; a plan it finds becomes the best. Its status, or None
        when no time is left."""
        sub, _ = restrict(self.cands, keep)
        built = build_model(self.spec, self.catalog, sub)
        proto = built.proto
        for options in node.require:
            literals = []
            for v in options:
                i, k = self.where[v]
                if k in keep[i]:
                    literals.append(built.option_vars[i][keep[i].index(k)])
            if not literals:
                return "INFEASIBLE"  # no kept option meets a fixing
            proto.constraints.add().bool_or.literals.extend(literals)
        proto.objective.domain.extend([0, self.upper - 1])  # every cost is >= 0
        proto.clear_solution_hint()
        if self._left() <= 0:
            return None
        # as in solve._outcome, the time limit stays a guard under a work limit too
        seconds = max(0.1, self.deadline - time.monotonic())
        response = run_cp_sat(proto, seconds, self.work_limit, self.workers, presolve=False)
        status = status_name(response)
        if status in ("OPTIMAL", "FEASIBLE"):
            values = response.solution
            self._incumbent(
                [
                    kept[next(j for j, v in enumerate(vars_) if values[v])]
                    for kept, vars_ in zip(keep, built.option_vars, strict=True)
                ]
            )
        return status


Needs = tuple[tuple[int, ...], ...]


def _needs(built: BuiltModel, where: dict[int, tuple[int, int]]) -> dict[int, Needs]:
    """The variables a branch may fix, each with what it being 1 means for a plan: one option
    of each of these sets is chosen (and 0: not so). An option variable needs itself; a copy
    of external data or a producer's sum, one of its options (v = any(a)); a coupling
    variable of coupled.py, one of the reader's options there and one of the producer's in
    the class (v = any(a) and any(b)); a paid copy of produced data, one of its readers there
    and one of the producer's options in the class, which all its coupling variables share."""
    derived = {v: (a, b) for v, a, b in built.derived}
    out: dict[int, Needs] = {v: ((v,),) for v in where}

    def options(literals: list[int] | None) -> bool:
        return literals is not None and all(u in where for u in literals)

    for var, (a, b) in derived.items():  # (derived variables come after what they read)
        if options(a) and (b is None or options(b)):
            out[var] = (tuple(a),) if b is None else (tuple(a), tuple(b))
        elif b is None and all(len(out.get(u, ())) == 2 for u in a):
            parts = [out[u] for u in a]
            if len({p[1] for p in parts}) == 1:
                out[var] = (tuple(x for p in parts for x in p[0]), parts[0][1])
    return out
