"""Exact pruning: drop regions and options that no optimal plan needs (proofs in docstrings)."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from skyplan.catalog.models import Catalog
from skyplan.solver.candidates import Option
from skyplan.solver.costs import CopyPrices
from skyplan.spec.model import Dataset, Job, SkySpec
from skyplan.units import micro_usd

Options = dict[str, list[Option]]


def _classes(spec: SkySpec, options: Options) -> dict[str, dict[tuple[object, ...], Decimal]]:
    """Region -> job class -> hourly price; jobs with the same needs and rules share a class."""
    price: dict[str, dict[tuple[object, ...], Decimal]] = defaultdict(dict)
    for job in spec.jobs:
        opts = options[job.name]
        key = (
            job.cpus,
            job.memory_gib,
            job.accelerator,
            job.accelerator_count,
            job.spot,
            tuple(sorted({o.region for o in opts})),
        )
        for o in opts:
            price[o.region][key] = o.hourly
    return price


def _beats(a: dict[tuple[object, ...], Decimal], b: dict[tuple[object, ...], Decimal]) -> bool:
    return len(a) >= len(b) and all(k in a and a[k] <= v for k, v in b.items())


def dominated_regions(
    spec: SkySpec, catalog: Catalog, options: Options, quota_regions: frozenset[str]
) -> frozenset[str]:
    """Regions another region of the same cloud and continent beats for every job.

    Region A dominates region B when both are in one cloud and continent, neither has quotas,
    B holds no data today, and A is allowed for every job B is at no higher price. Moving every
    job from B to A then never raises compute, never adds a copy (egress to and from A and B is
    priced alike, copies into B merge with those into A) and can only save copies of data that
    lives in A. So some optimal plan avoids B. Ties are broken by name, which keeps the relation
    acyclic, so every dropped region is dominated by one that stays.
    """
    homes = {d.location for d in spec.datasets if d.location}
    price = _classes(spec, options)
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key in sorted(price):
        if key not in quota_regions:
            region = catalog.region_by_key[key]
            groups[(region.cloud, region.continent)].append(key)
    dropped: set[str] = set()
    for members in groups.values():
        for b in members:
            if b in homes:
                continue
            for a in members:
                if (
                    a != b
                    and _beats(price[a], price[b])
                    and (a < b or not _beats(price[b], price[a]))
                ):
                    dropped.add(b)
                    break
    return frozenset(dropped)


class _Egress(CopyPrices):
    """Copy prices plus the bounds the dominance rules need."""

    def __init__(self, spec: SkySpec, catalog: Catalog):
        super().__init__(spec, catalog)
        self.dearest_cache: dict[tuple[str, tuple[str, ...], str], int] = {}
        self.groups_cache: dict[tuple[str, ...], list[list[str]]] = {}
        rates: dict[str, list[Decimal]] = defaultdict(list)
        for e in catalog.egress:
            rates[e.cloud].append(e.usd_per_gb)
        for p in spec.peering:
            for cloud in p.clouds:
                rates[cloud].append(p.usd_per_gb)
        self.max_rate = {c: max(v) for c, v in rates.items()}

    def dearest(self, dataset: str, size: Decimal, homes: list[str], dst: str) -> int:
        """The dearest copy of a data set to `dst` from any of its possible homes."""
        key = (dataset, tuple(homes), dst)
        if key not in self.dearest_cache:
            self.dearest_cache[key] = max(
                (self.copy(dataset, size, h, dst) for h in self._sources(key[1], dst)), default=0
            )
        return self.dearest_cache[key]

    def _sources(self, homes: tuple[str, ...], dst: str) -> list[str]:
        """One home per (cloud, continent) other than `dst` where there is one, else `dst`: the
        price of a copy depends only on the source's cloud and continent unless it is `dst`
        itself, so these give the same maximum as all homes."""
        if homes not in self.groups_cache:
            regions = self.catalog.region_by_key
            groups: dict[tuple[str, str], list[str]] = defaultdict(list)
            for h in homes:
                members = groups[(regions[h].cloud, regions[h].continent)]
                if len(members) < 2:
                    members.append(h)
            self.groups_cache[homes] = list(groups.values())
        return [next((h for h in g if h != dst), g[0]) for g in self.groups_cache[homes]]

    def same_group(self, cloud: str, size: Decimal) -> int:
        return micro_usd(size * self.catalog.egress_rate(cloud, "inter-region-same-continent"))

    def worst(self, cloud: str, size: Decimal) -> int:
        return micro_usd(size * self.max_rate.get(cloud, Decimal(0)))


def _two_best(items: list[tuple[int, str]]) -> list[tuple[int, str]]:
    return sorted(items)[:2]


def _best_other(best: list[tuple[int, str]], region: str) -> int | None:
    for value, key in best:
        if key != region:
            return value
    return None


def dominated_options(
    spec: SkySpec,
    catalog: Catalog,
    options: Options,
    quota_regions: frozenset[str],
    rounds: int = 4,
) -> Options:
    """Drop options of a job that moving that job alone always improves on.

    For job j on option o in region R, and a quota-free region S where j has an option o*, moving
    j from R to S changes the plan's cost by at most
        o*.cost - o.cost
        + for each input: one new copy to S from the data's home (the dearest home it can have)
        + for each output: if S and R share cloud and continent, one copy back to R; otherwise
          one copy per reader at the dearest egress rate of S's cloud,
    since removing j from R never adds a copy, and any other region is priced alike from R and S
    when they share cloud and continent. When that bound is negative for some S, every plan with
    j on o can be made strictly cheaper, so no optimal plan uses o. Repeated, because a producer
    with fewer places leaves fewer possible homes for the data its readers copy.
    """
    eg = _Egress(spec, catalog)
    data = {d.name: d for d in spec.datasets}
    opts = {k: list(v) for k, v in options.items()}
    for _ in range(rounds):
        homes = {
            d.name: [d.location]
            if d.location
            else sorted({o.region for o in opts[d.producer or ""]})
            for d in spec.datasets
        }
        changed = False
        slack: dict[str, dict[str, int | None]] = {}
        for job in spec.jobs:
            mine = opts[job.name]
            if len(mine) < 2:
                slack[job.name] = {o.region: None for o in mine}
                continue
            limits = _limits(job, mine, homes, data, eg, quota_regions)
            kept = [(o, lim) for o, lim in zip(mine, limits, strict=True) if _within(o, lim)]
            slack[job.name] = _slack_by_region(kept)
            changed |= len(kept) < len(mine)
            opts[job.name] = [o for o, _ in kept]
        changed |= _unshared_copies(spec, opts, slack, homes, eg)
        if not changed:
            break
    return opts


def _within(o: Option, limit: int | None) -> bool:
    return limit is None or o.micro <= limit


def _slack_by_region(kept: list[tuple[Option, int | None]]) -> dict[str, int | None]:
    """Per region, the most any of the job's options there gains over its alternatives (None:
    unbounded)."""
    out: dict[str, int | None] = {}
    for o, limit in kept:
        gain = None if limit is None else limit - o.micro
        if o.region not in out:
            out[o.region] = gain
        else:
            prev = out[o.region]
            out[o.region] = None if prev is None or gain is None else max(prev, gain)
    return out


def _unshared_copies(
    spec: SkySpec,
    opts: Options,
    slack: dict[str, dict[str, int | None]],
    homes: dict[str, list[str]],
    eg: _Egress,
) -> bool:
    """Drop region R for every reader of data set d when the copy of d into R cannot pay off.

    Each reader j of d kept at R satisfies o.cost <= limit, where limit bounds what moving j
    alone elsewhere costs whatever the others do (see dominated_options); slack = limit - o.cost.
    Those bounds add up, so moving every reader of d out of R changes the total by at most
    sum(slack) - (the copy of d into R, which is no longer needed). When that copy costs more
    than the readers' slack summed over all readers that may be at R, a plan with any reader of
    d at R is never optimal, and R goes from all of d's readers.
    """
    changed = False
    for d in spec.datasets:
        readers = list(d.readers)
        if not readers or not homes[d.name]:
            continue
        at: dict[str, int] = defaultdict(int)
        unbounded: set[str] = set()
        for r in readers:
            for region, s in slack[r].items():
                if s is None:
                    unbounded.add(region)
                else:
                    at[region] += s
        for region, total in at.items():
            if region in unbounded or region in homes[d.name]:
                continue
            copy = min(eg.copy(d.name, d.size_gb, h, region) for h in homes[d.name])
            if copy > total:
                for r in readers:
                    kept = [o for o in opts[r] if o.region != region]
                    if len(kept) < len(opts[r]):
                        opts[r] = kept
                        changed = True
    return changed


def _limits(
    job: Job,
    mine: list[Option],
    homes: dict[str, list[str]],
    data: dict[str, Dataset],
    eg: _Egress,
    quota_regions: frozenset[str],
) -> list[int | None]:
    """Per option, the cost above which moving the job alone provably improves any plan
    (None: no quota-free alternative bounds it); see dominated_options."""
    regions = eg.catalog.region_by_key
    outs = [data[o.name] for o in job.outputs if data[o.name].readers]
    base: dict[str, int] = {}
    for o in mine:
        if o.region not in quota_regions:
            extra = sum(eg.dearest(n, data[n].size_gb, homes[n], o.region) for n in job.inputs)
            base[o.region] = o.micro + extra
    far = _two_best(
        [
            (v + sum(len(d.readers) * eg.worst(regions[r].cloud, d.size_gb) for d in outs), r)
            for r, v in base.items()
        ]
    )
    near: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
    for r, v in base.items():
        near[(regions[r].cloud, regions[r].continent)].append((v, r))
    out: list[int | None] = []
    for o in mine:
        reg = regions[o.region]
        limits = [_best_other(far, o.region)]
        same = _best_other(_two_best(near.get((reg.cloud, reg.continent), [])), o.region)
        if same is not None:
            limits.append(same + sum(eg.same_group(reg.cloud, d.size_gb) for d in outs))
        out.append(min((b for b in limits if b is not None), default=None))
    return out
