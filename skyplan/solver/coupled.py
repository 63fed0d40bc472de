"""The copies of a produced data set, written so that the LP relaxation is tight (pairwise
coupling of the producer's and each reader's placement).

The plain rows of model.py say "a copy into r comes from some class of source regions the
producer has weight in". In the LP relaxation one fractional producer then serves every reader
region at once: a reader spread a fifth each over five regions is served five times by the same
fifth of its producer, and on 1,000 jobs the relaxation sits about 5% under the best plan.

Here each reader j gets, per region r it may run in, variables for the joint event "j at r and
the producer in S", S ranging over a partition of the producer's regions other than r into
classes of equal egress price to r (same cloud and continent, same cloud other continent, each
other cloud), plus e_r for "j and the producer both at r":

    sum_S f[r, S] + e[r] = [j at r]                        (j's weight at r, split by source)
    e[r] <= [p at r],  f[r, S] <= [p in S]
    sum_r sum_{S in c} f[r, S] + sum_{r in c} e[r] = [p in c]        per cloud c
    sum_r sum_{S in h} f[r, S] + sum_{r in h} e[r] <= [p in h]       per (cloud, continent) h

and the copy into r from class S is paid once for all readers: z[r, S] >= f[r, S]. The cloud
and group rows are what the plain rows lack: whatever the relaxation does, reader j is matched
with each part of the producer at most as often as the producer is there. On the 100- and
300-job benchmark specs this relaxation is integral (its optimum is the optimal plan), where the
plain one is 2% lower; at 1,000 jobs it is 0.2% under the best plan known, the plain one 5%.
(There the cloud rows do the work: without the group rows the bound is the same and CP-SAT's
times are within the machine's noise, 9.9-25.9 s against 11.1-23.9 s on the 250- to 700-job
specs. The group rows are kept as the per-continent half of
the same matching, for catalogs whose prices make it bind; they are 3% of the rows.)
The `f <= P_S` rows matter where a class does not fill a cloud and is cheaper than the
producer's real place, such as other continents priced below the same continent
(tests/unit/solver/test_coupled.py has one).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from skyplan.catalog.models import Catalog
from skyplan.solver.costs import CopyPrices
from skyplan.solver.model_base import ProducerSums, ProtoBuilder
from skyplan.spec.model import Dataset


def add_produced_copies(
    b: ProtoBuilder,
    catalog: Catalog,
    prices: CopyPrices,
    d: Dataset,
    sums: ProducerSums,
    readers: list[dict[str, list[int]]],
) -> None:
    """The copies of `d` (made by the producer whose literals per region are `sums.at`) to its
    readers, each given as region -> its option literals there."""
    regions = catalog.region_by_key
    producer = sums.at
    group = {s: (regions[s].cloud, regions[s].continent) for s in producer}
    in_whole_cloud: dict[str, frozenset[str]] = defaultdict(frozenset)
    in_whole_group: dict[tuple[str, str], frozenset[str]] = defaultdict(frozenset)
    for s in producer:
        in_whole_cloud[group[s][0]] |= {s}
        in_whole_group[group[s]] |= {s}
    # per data set, what every reader shares: the classes of each region, sums, literals
    classes: dict[str, list[tuple[frozenset[str], int]]] = {}
    terms: dict[frozenset[str], tuple[list[int], list[int]]] = {}
    sources: dict[frozenset[str], list[int]] = {}

    def terms_of(members: frozenset[str]) -> tuple[list[int], list[int]]:
        if members not in terms:
            variables, coeffs = sums.terms(set(members))
            terms[members] = (variables, [-c for c in coeffs])
        return terms[members]

    paid: dict[tuple[str, frozenset[str]], list[int]] = defaultdict(list)
    price: dict[tuple[str, frozenset[str]], int] = {}
    for at in readers:
        in_cloud: dict[str, list[int]] = defaultdict(list)
        in_group: dict[tuple[str, str], list[int]] = defaultdict(list)
        for r in sorted(at):
            lits = at[r]
            split: list[int] = []
            if r in producer:
                e = b.new_bool()
                b.linear([e, *producer[r]], [1] + [-1] * len(producer[r]), -(1 << 40), 0)
                b.derived.append((e, lits, producer[r]))
                split.append(e)
                in_cloud[group[r][0]].append(e)
                in_group[group[r]].append(e)
            if r not in classes:
                classes[r] = _classes(prices, d, r, producer, group)
            for members, micro in classes[r]:
                f = b.new_bool()
                if members not in sources:
                    sources[members] = [x for s in sorted(members) for x in producer[s]]
                b.derived.append((f, lits, sources[members]))
                g = group[min(members)]
                cloud = g[0]
                if members != in_whole_cloud[cloud]:
                    variables, coeffs = terms_of(members)
                    b.linear([f, *variables], [1, *coeffs], -(1 << 40), 0)
                split.append(f)
                in_cloud[cloud].append(f)
                if members <= in_whole_group[g]:
                    in_group[g].append(f)
                if micro:
                    paid[(r, members)].append(f)
                    price[(r, members)] = micro
            b.linear([*split, *lits], [1] * len(split) + [-1] * len(lits), 0, 0)
            b.splits.append((lits, split))
        for cloud, fs in sorted(in_cloud.items()):
            variables, coeffs = terms_of(in_whole_cloud[cloud])
            b.linear([*fs, *variables], [1] * len(fs) + coeffs, 0, 0)
        for g, fs in sorted(in_group.items()):
            variables, coeffs = terms_of(in_whole_group[g])
            b.linear([*fs, *variables], [1] * len(fs) + coeffs, -(1 << 40), 0)
    for key in sorted(paid, key=lambda k: (k[0], sorted(k[1]))):
        fs = paid[key]
        if len(fs) == 1:
            b.cost(fs[0], price[key])
            continue
        z = b.new_bool()
        for f in fs:
            b.implies(f, z)
        b.derived.append((z, fs, None))
        b.cost(z, price[key])


def _classes(
    prices: CopyPrices,
    d: Dataset,
    r: str,
    producer: dict[str, list[int]],
    group: dict[str, tuple[str, str]],
) -> list[tuple[frozenset[str], int]]:
    """The producer's regions other than r, split by cloud and by the price of a copy to r
    (with the egress rules of SPEC section 2: same continent, other continent, each other
    cloud); each part with that price in micro-dollars."""
    parts: dict[tuple[str, Decimal], set[str]] = defaultdict(set)
    for s in producer:
        if s != r:
            parts[(group[s][0], prices.rate(s, r))].add(s)
    out = []
    for (_, _rate), members in sorted(parts.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        s = min(members)
        out.append((frozenset(members), prices.copy(d.name, d.size_gb, s, r)))
    return out
