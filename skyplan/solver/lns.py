"""Large-neighbourhood search: improve a plan by re-solving small parts of it exactly with CP-SAT.

Each neighbourhood frees a few jobs (the readers and producer of one data set, or the jobs of one
region) and keeps every other job where it is. The sub-model holds the free jobs with all their
options, the kept jobs that share a data set with them (one option each, so their copies are
priced right) and only the data sets the free jobs read or write; every other cost of the plan
does not depend on the free jobs. So the sub-model's optimum, when it is below the sub-model's
cost of the current plan, is an exact improvement of the whole plan.

Everything is deterministic: neighbourhoods come in a fixed order and each sub-solve is limited
by CP-SAT's deterministic time, not the clock (a wall-clock guard only stops the search early on
a machine too slow for the user's --time-limit).
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

from skyplan.catalog.models import Catalog
from skyplan.solver.candidates import Candidates, JobOptions
from skyplan.solver.costs import choice_total
from skyplan.solver.heuristic import quota_use, within_quotas
from skyplan.solver.model import BuiltModel, build_model
from skyplan.solver.sat import run_cp_sat, status_name
from skyplan.spec.model import SkySpec

MAX_FREE = 120  # free jobs per neighbourhood (1,000-job benchmark: 60 -> $25,715, 120 -> $24,867)
SUB_WORK = 0.5  # CP-SAT deterministic time per neighbourhood


class _Search:
    def __init__(self, spec: SkySpec, catalog: Catalog, cands: Candidates, choice: list[int]):
        self.spec, self.catalog, self.cands = spec, catalog, cands
        self.choice = list(choice)
        self.index = {jo.job.name: i for i, jo in enumerate(cands.jobs)}
        self.data = {d.name: d for d in spec.datasets}
        self.touches = [[*jo.job.inputs, *(o.name for o in jo.job.outputs)] for jo in cands.jobs]

    def region(self, i: int) -> str:
        return self.cands.jobs[i].options[self.choice[i]].region

    def neighbourhoods(self) -> Iterator[list[int]]:
        """Free sets in a fixed order: per data set (largest first) its producer and readers,
        then per region in use the jobs placed there."""
        for d in sorted(self.data.values(), key=lambda d: (-d.size_gb, d.name)):
            jobs = [self.index[r] for r in d.readers]
            if d.producer is not None:
                jobs.append(self.index[d.producer])
            yield from _chunks(sorted(set(jobs)))
        used = sorted({self.region(i) for i in range(len(self.choice))})
        for r in used:
            yield from _chunks([i for i in range(len(self.choice)) if self.region(i) == r])

    def improve(self, free: list[int]) -> bool:
        """Re-solve with `free` jobs free; True when the plan got cheaper."""
        free_set = set(free)
        if all(len(self.cands.jobs[i].options) < 2 for i in free):
            return False
        names = sorted({n for i in free for n in self.touches[i]})
        members = set(free)
        for n in names:
            d = self.data[n]
            members.update(self.index[r] for r in d.readers)
            if d.producer is not None:
                members.add(self.index[d.producer])
        order = sorted(members)
        jobs: list[JobOptions] = []
        start: list[int] = []
        for i in order:
            jo = self.cands.jobs[i]
            if i in free_set:
                jobs.append(jo)
                start.append(self.choice[i])
            else:
                jobs.append(JobOptions(jo.job, (jo.options[self.choice[i]],)))
                start.append(0)
        sub_spec = dataclasses.replace(
            self.spec,
            datasets=tuple(self.data[n] for n in names),
            jobs=tuple(jo.job for jo in jobs),
        )
        sub = Candidates(tuple(jobs), ())
        limits = self._quota_room(members)
        built = build_model(sub_spec, self.catalog, sub, start=start, quota_limits=limits)
        response = run_cp_sat(built.proto, None, SUB_WORK)
        if status_name(response) not in ("OPTIMAL", "FEASIBLE"):
            return False
        current = _objective_of_hint(built.proto)
        if round(response.objective_value) >= current:
            return False
        for i, vars_ in zip(order, built.option_vars, strict=True):
            if i in free_set:
                self.choice[i] = next(k for k, v in enumerate(vars_) if response.solution[v])
        return True

    def _quota_room(self, members: set[int]) -> dict[tuple[str, str], int]:
        """Quota limits minus what the jobs outside the sub-model use."""
        if not self.catalog.quota_limits:
            return {}
        outside: Counter[tuple[str, str]] = Counter()
        for i, jo in enumerate(self.cands.jobs):
            if i not in members:
                outside.update(quota_use(jo, jo.options[self.choice[i]]))
        return {k: v - outside[k] for k, v in self.catalog.quota_limits.items()}


def _chunks(jobs: list[int]) -> Iterator[list[int]]:
    for k in range(0, len(jobs), MAX_FREE):
        yield jobs[k : k + MAX_FREE]


def _objective_of_hint(proto: Any) -> int:
    """The objective of the (complete) solution hint: the sub-model's cost of the current plan."""
    hint = dict(zip(proto.solution_hint.vars, proto.solution_hint.values, strict=True))
    obj = proto.objective
    return sum(c * hint[v] for v, c in zip(obj.vars, obj.coeffs, strict=True))


def improve_plan(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    choice: list[int],
    *,
    rounds: int = 1,
    deadline: float | None = None,
) -> list[int]:
    """`choice` improved by exact re-solves of neighbourhoods until a round finds nothing."""
    search = _Search(spec, catalog, cands, choice)
    for _ in range(rounds):
        improved = False
        for free in search.neighbourhoods():
            if deadline is not None and time.monotonic() > deadline:
                return search.choice
            improved |= search.improve(free)
        if not improved:
            break
    return search.choice


def improve_start(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    built: BuiltModel,
    start: list[int],
    started: float,
    deadline: float | None,
    share: float,
) -> tuple[list[int], int | None]:
    """On models too large for CP-SAT to settle quickly: round the LP relaxation (relax.py),
    improve that by exact re-solves of neighbourhoods, keep the cheaper of it and `start`; also
    the LP's proven lower bound (micro-dollars) when there is one.

    `deadline` is the time limit's end (monotonic clock), None under a work limit, which asks
    for reproducible plans: then no clock is looked at. Otherwise the clock only guards the time
    limit: the LP is skipped once a third of it is gone and the search stops at `share` of it."""
    from skyplan.solver.relax import relax

    base, lower = start, None
    limit = None if deadline is None else deadline - started
    if limit is None or time.monotonic() - started < limit / 3:
        relaxed = relax(built)
        if relaxed is not None:
            lower = relaxed.bound_micro
            if within_quotas(catalog, cands, relaxed.choice):
                base = relaxed.choice
    stop = None if limit is None else started + share * limit
    better = improve_plan(spec, catalog, cands, base, deadline=stop)
    return min((better, start), key=lambda c: choice_total(spec, catalog, cands, c)), lower
