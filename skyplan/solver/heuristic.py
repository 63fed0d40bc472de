"""A quick starting plan for CP-SAT: each job at its cheapest option, then local moves.

Coordinate descent on the exact cost of SPEC section 2: move one job at a time to the option that
lowers the total most (its compute plus the copies of the data it reads and writes), until no
move helps or a fixed budget of evaluations is spent (a count, not a clock, so that the same
input always gives the same start and so the same plan). CP-SAT gets the result as a complete
hint, so a search stopped by its time limit still returns a good plan.
"""

from __future__ import annotations

from collections import Counter

from skyplan.catalog.models import Catalog
from skyplan.solver.candidates import Candidates, JobOptions, Option
from skyplan.solver.costs import CopyPrices
from skyplan.spec.model import SkySpec


def cheapest(options: tuple[Option, ...]) -> int:
    """Index of the cheapest option (the first among equals)."""
    return min(range(len(options)), key=lambda k: (options[k].micro, k))


class _State:
    """Current choice per job with reader counts per data set and region, for cheap deltas."""

    def __init__(self, spec: SkySpec, catalog: Catalog, cands: Candidates):
        self.spec, self.catalog, self.cands = spec, catalog, cands
        self.index = {jo.job.name: i for i, jo in enumerate(cands.jobs)}
        self.data = {d.name: d for d in spec.datasets}
        self.evaluations = 0
        self.readers: dict[str, Counter[str]] = {d.name: Counter() for d in spec.datasets}
        self.prices = CopyPrices(spec, catalog)
        self.choice: list[int] = []
        self.set_choice(self._greedy())
        self.touched = [[*jo.job.inputs, *(o.name for o in jo.job.outputs)] for jo in cands.jobs]

    def _greedy(self) -> list[int]:
        """Jobs in DAG order, each where it costs least given the copies made so far."""
        choice: list[int] = []
        region_of: dict[str, str] = {}
        copies: set[tuple[str, str]] = set()
        for jo in self.cands.jobs:
            if not jo.options:
                choice.append(0)
                continue
            best, best_cost = 0, None
            for k, opt in enumerate(jo.options):
                cost = opt.micro
                for name in jo.job.inputs:
                    d = self.data[name]
                    home = d.location or region_of.get(d.producer or "")
                    if home is not None and home != opt.region and (name, opt.region) not in copies:
                        cost += self.prices.copy(name, d.size_gb, home, opt.region)
                if best_cost is None or cost < best_cost:
                    best, best_cost = k, cost
            choice.append(best)
            region_of[jo.job.name] = jo.options[best].region
            copies.update((name, region_of[jo.job.name]) for name in jo.job.inputs)
        return choice

    def set_choice(self, choice: list[int]) -> None:
        """Adopt a whole assignment and recount readers per region."""
        self.choice = list(choice)
        self.readers = {d.name: Counter() for d in self.spec.datasets}
        for d in self.spec.datasets:
            for r in d.readers:
                self.readers[d.name][self.region(self.index[r])] += 1

    def total(self) -> int:
        """The exact cost of the current assignment in micro-dollars."""
        compute = sum(
            jo.options[k].micro
            for jo, k in zip(self.cands.jobs, self.choice, strict=True)
            if jo.options
        )
        return compute + self.data_cost(list(self.data))

    def option_at(self, i: int, region: str) -> int | None:
        """Job i's cheapest option in `region`, if it has one."""
        opts = self.cands.jobs[i].options
        at = [k for k, o in enumerate(opts) if o.region == region]
        return min(at, key=lambda k: (opts[k].micro, k)) if at else None

    def total_of(self, jobs: list[int], names: list[str]) -> int:
        """Compute of `jobs` plus the copies of data sets `names`."""
        opts = self.cands.jobs
        return sum(opts[i].options[self.choice[i]].micro for i in jobs) + self.data_cost(names)

    def hub(self, region: str, keep: list[str]) -> list[int]:
        """Every job that may run in `region` there, unless it sits in a region of `keep`."""
        out = list(self.choice)
        for i in range(len(self.cands.jobs)):
            if self.cands.jobs[i].options and self.region(i) in keep:
                continue
            k = self.option_at(i, region)
            if k is not None:
                out[i] = k
        return out

    def region(self, i: int) -> str:
        return self.cands.jobs[i].options[self.choice[i]].region

    def home(self, name: str) -> str:
        d = self.data[name]
        return d.location if d.location is not None else self.region(self.index[d.producer or ""])

    def data_cost(self, names: list[str]) -> int:
        total = 0
        for name in names:
            d = self.data[name]
            home = self.home(name)
            for r, n in self.readers[name].items():
                if n and r != home:
                    total += self.prices.copy(name, d.size_gb, home, r)
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


HUBS = 12


def _best_start(state: _State) -> None:
    """Gather jobs in hub regions: try each of the regions most jobs may use as a hub for every
    job not already in a hub, keep the best, and repeat for a second and third hub. Single moves
    cannot find a hub: moving one job there costs a copy that only pays off once its neighbours
    follow."""
    reach: Counter[str] = Counter(o.region for jo in state.cands.jobs for o in jo.options)
    hubs = [r for r, _ in sorted(reach.items(), key=lambda kv: (-kv[1], kv[0]))[:HUBS]]
    chosen: list[str] = []
    best, best_cost = list(state.choice), state.total()
    for _ in range(3):
        base = list(best)
        found = None
        for region in hubs:
            if region in chosen:
                continue
            state.set_choice(base)
            state.set_choice(state.hub(region, keep=chosen))
            cost = state.total()
            if cost < best_cost:
                best, best_cost, found = list(state.choice), cost, region
        if found is None:
            break
        chosen.append(found)
    state.set_choice(best)


def _group_move(state: _State, movers: list[int], destinations: list[str]) -> bool:
    """Move `movers` together to the destination that lowers the total most (those without an
    option there stay); True when they moved."""
    names = sorted({n for i in movers for n in state.touched[i]})
    before = state.total_of(movers, names)
    old = [state.choice[i] for i in movers]
    best: tuple[int, list[int]] | None = None
    for dst in destinations:
        moved = [
            k if k is not None else c
            for k, c in zip((state.option_at(i, dst) for i in movers), old, strict=True)
        ]
        for i, k in zip(movers, moved, strict=True):
            state.move(i, k)
        state.evaluations += len(movers)
        gain = before - state.total_of(movers, names)
        if gain > 0 and (best is None or gain > best[0]):
            best = (gain, moved)
        for i, k in zip(movers, old, strict=True):
            state.move(i, k)
    if best is None:
        return False
    for i, k in zip(movers, best[1], strict=True):
        state.move(i, k)
    return True


def _merge_regions(state: _State) -> bool:
    """Move every job of one used region to another used region where that lowers the total."""
    jobs = [i for i, jo in enumerate(state.cands.jobs) if jo.options]
    used = sorted({state.region(i) for i in jobs})
    improved = False
    for src in used:
        movers = [i for i in jobs if state.region(i) == src]
        if movers:
            improved |= _group_move(state, movers, [r for r in used if r != src])
    return improved


def _gather_readers(state: _State) -> bool:
    """For each data set, biggest first: move its readers in one region to the data's home or
    to another region that reads it, where that saves more than it costs."""
    improved = False
    for d in sorted(state.data.values(), key=lambda d: (-d.size_gb, d.name)):
        readers = [state.index[r] for r in d.readers if state.cands.jobs[state.index[r]].options]
        at = sorted({state.region(i) for i in readers})
        home = state.home(d.name)
        for src in at:
            movers = [i for i in readers if state.region(i) == src]
            dests = sorted({home, *at} - {src})
            if movers and dests:
                improved |= _group_move(state, movers, dests)
    return improved


def local_search(
    spec: SkySpec, catalog: Catalog, cands: Candidates, max_evaluations: int = 1_000_000
) -> list[int]:
    """The chosen option index per job after descent (deterministic for a given input)."""
    state = _State(spec, catalog, cands)
    _best_start(state)
    for _ in range(8):
        moved = False
        for i in range(len(cands.jobs)):
            if state.evaluations > max_evaluations:
                return state.choice
            moved |= state.improve(i)
        moved |= _gather_readers(state)
        moved |= _merge_regions(state)
        if not moved:
            break
    return state.choice


def quota_use(jo: JobOptions, opt: Option) -> Counter[tuple[str, str]]:
    """What running a job as `opt` draws on the quotas of quotas.csv: (region, resource) -> use."""
    o = opt.offering
    use: Counter[tuple[str, str]] = Counter({(opt.region, "vcpus"): o.vcpus * jo.job.nodes})
    if o.accelerator:
        use[(opt.region, f"gpus:{o.accelerator.upper()}")] = o.accelerator_count * jo.job.nodes
    return use


def within_quotas(catalog: Catalog, cands: Candidates, choice: list[int]) -> bool:
    """Whether an assignment keeps every quota of quotas.csv (all jobs counted at once)."""
    used: Counter[tuple[str, str]] = Counter()
    for jo, k in zip(cands.jobs, choice, strict=True):
        used.update(quota_use(jo, jo.options[k]))
    return all(used[key] <= limit for key, limit in catalog.quota_limits.items())
