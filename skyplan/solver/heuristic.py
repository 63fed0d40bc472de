"""A quick starting plan for CP-SAT: each job at its cheapest option, then local moves.

Coordinate descent on the exact cost of SPEC section 2: move one job at a time to the option that
lowers the total most (its compute plus the copies of the data it reads and writes), until no
move helps or a fixed budget of evaluations is spent (a count, not a clock, so that the same
input always gives the same start and so the same plan). CP-SAT gets the result as a complete
hint, so a search stopped by its time limit still returns a good plan.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal

from skyplan.catalog.models import Catalog, egress_usd_per_gb
from skyplan.solver.candidates import Candidates, Option
from skyplan.spec.model import SkySpec
from skyplan.units import micro_usd


def cheapest(options: tuple[Option, ...]) -> int:
    """Index of the cheapest option (the first among equals)."""
    return min(range(len(options)), key=lambda k: (options[k].micro, k))


class _State:
    """Current choice per job with reader counts per data set and region, for cheap deltas."""

    def __init__(self, spec: SkySpec, catalog: Catalog, cands: Candidates):
        self.spec, self.catalog, self.cands = spec, catalog, cands
        self.choice = [cheapest(jo.options) for jo in cands.jobs]
        self.index = {jo.job.name: i for i, jo in enumerate(cands.jobs)}
        self.data = {d.name: d for d in spec.datasets}
        self.evaluations = 0
        self.readers: dict[str, Counter[str]] = {d.name: Counter() for d in spec.datasets}
        self.rate_cache: dict[tuple[str, str, str], int] = {}
        for d in spec.datasets:
            for r in d.readers:
                self.readers[d.name][self.region(self.index[r])] += 1
        self.touched = [[*jo.job.inputs, *(o.name for o in jo.job.outputs)] for jo in cands.jobs]

    def region(self, i: int) -> str:
        return self.cands.jobs[i].options[self.choice[i]].region

    def home(self, name: str) -> str:
        d = self.data[name]
        return d.location if d.location is not None else self.region(self.index[d.producer or ""])

    def copy_micro(self, name: str, size: Decimal, src: str, dst: str) -> int:
        key = (name, src, dst)
        if key not in self.rate_cache:
            regions = self.catalog.region_by_key
            rate = egress_usd_per_gb(self.catalog, regions[src], regions[dst], self.spec.peering)
            self.rate_cache[key] = micro_usd(size * rate)
        return self.rate_cache[key]

    def data_cost(self, names: list[str]) -> int:
        total = 0
        for name in names:
            d = self.data[name]
            home = self.home(name)
            for r, n in self.readers[name].items():
                if n and r != home:
                    total += self.copy_micro(name, d.size_gb, home, r)
        return total

    def move(self, i: int, k: int) -> None:
        """Put job i on option k, keeping reader counts right."""
        old, new = self.region(i), self.cands.jobs[i].options[k].region
        for name in self.cands.jobs[i].job.inputs:
            self.readers[name][old] -= 1
            self.readers[name][new] += 1
        self.choice[i] = k

    def improve(self, i: int) -> bool:
        """Move job i to its best option given every other job; True when it moved."""
        opts = self.cands.jobs[i].options
        current = self.choice[i]
        base = opts[current].micro + self.data_cost(self.touched[i])
        best, best_cost = current, base
        for k in range(len(opts)):
            if k == current:
                continue
            self.move(i, k)
            self.evaluations += 1
            cost = opts[k].micro + self.data_cost(self.touched[i])
            if cost < best_cost:
                best, best_cost = k, cost
        self.move(i, best)
        return best != current


def local_search(
    spec: SkySpec, catalog: Catalog, cands: Candidates, max_evaluations: int = 400_000
) -> list[int]:
    """The chosen option index per job after descent (deterministic for a given input)."""
    state = _State(spec, catalog, cands)
    for _ in range(5):
        moved = False
        for i in range(len(cands.jobs)):
            if state.evaluations > max_evaluations:
                return state.choice
            moved |= state.improve(i)
        if not moved:
            break
    return state.choice
