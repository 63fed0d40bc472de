"""Filtering and ranking the catalog for `skyplan catalog offerings|regions`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from skyplan.catalog.cells import Num
from skyplan.catalog.models import CONTINENTS, Catalog, Offering
from skyplan.errors import InputError, did_you_mean
from skyplan.units import UnitError, memory_gib, parse_accelerators


@dataclass(frozen=True)
class OfferingQuery:
    """Filters for offerings; empty tuples mean 'any'."""

    clouds: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    accelerator: str | None = None
    accelerator_count: int = 0
    min_cpus: Decimal = Decimal(0)
    min_memory_gib: Decimal = Decimal(0)
    jurisdictions: tuple[str, ...] = ()
    spot: bool = False

    @classmethod
    def from_options(
        cls,
        clouds: list[str],
        regions: list[str],
        accelerator: str | None,
        min_cpus: float,
        min_memory: str | None,
        jurisdictions: list[str],
        spot: bool,
    ) -> OfferingQuery:
        """A query from command-line options; bad values raise InputError (exit 2)."""
        try:
            accel = parse_accelerators(accelerator) if accelerator else None
            memory = memory_gib(min_memory) if min_memory else Decimal(0)
        except UnitError as e:
            raise InputError(str(e), hint="e.g. --accelerator H100:8 --min-memory 64GB") from None
        return cls(
            clouds=tuple(clouds),
            regions=tuple(regions),
            accelerator=accel[0] if accel else None,
            accelerator_count=accel[1] if accel and ":" in str(accelerator) else 0,
            min_cpus=Decimal(str(min_cpus)),
            min_memory_gib=memory,
            jurisdictions=tuple(jurisdictions),
            spot=spot,
        )


def _check_filters(
    cat: Catalog, clouds: tuple[str, ...] | list[str], jurisdictions: tuple[str, ...] | list[str]
) -> None:
    """Unknown clouds or jurisdiction tags are mistakes, not empty results."""
    for c in clouds:
        if c not in cat.clouds:
            hint = did_you_mean(c, cat.clouds) or f"known clouds: {', '.join(cat.clouds)}"
            raise InputError(f"unknown cloud {c!r}", hint=hint)
    tags = {t for r in cat.regions for t in r.tags}
    for j in jurisdictions:
        if j not in tags:
            hint = did_you_mean(j, tags) or "use a tag from regions.csv or an ISO country code"
            raise InputError(f"no region carries jurisdiction {j!r}", hint=hint)


def _check_known(cat: Catalog, q: OfferingQuery) -> None:
    _check_filters(cat, q.clouds, q.jurisdictions)
    names = {r.region for r in cat.regions} | set(cat.region_by_key)
    for r in q.regions:
        if r not in names:
            hint = did_you_mean(r, names) or "see `skyplan catalog regions`"
            raise InputError(f"unknown region {r!r}", hint=hint)
    if q.accelerator and q.accelerator.lower() not in {a.lower() for a in cat.accelerators}:
        raise InputError(
            f"no offering has accelerator {q.accelerator!r}",
            hint=f"accelerators in the catalog: {', '.join(cat.accelerators)}",
        )


def _matches(cat: Catalog, o: Offering, q: OfferingQuery) -> bool:
    if q.clouds and o.cloud not in q.clouds:
        return False
    if q.regions and o.region not in q.regions and o.region_key not in q.regions:
        return False
    if o.vcpus < q.min_cpus or o.memory_gib < q.min_memory_gib:
        return False
    if q.accelerator and (
        o.accelerator.lower() != q.accelerator.lower() or o.accelerator_count < q.accelerator_count
    ):
        return False
    tags = cat.region_by_key[o.region_key].tags
    return all(j in tags for j in q.jurisdictions)


def query_offerings(cat: Catalog, q: OfferingQuery) -> list[dict[str, str]]:
    """Matching offerings as display rows, cheapest first (per accelerator when one is asked)."""
    _check_known(cat, q)
    found = [o for o in cat.offerings if _matches(cat, o, q)]
    found.sort(key=lambda o: (o.hourly(q.spot), o.cloud, o.region, o.instance_type))
    return [
        {
            "cloud": o.cloud,
            "region": o.region,
            "instance": o.instance_type,
            "vCPUs": Num(str(o.vcpus), o.vcpus),
            "GiB": Num(f"{o.memory_gib.normalize():f}", o.memory_gib),
            "accelerator": f"{o.accelerator}:{o.accelerator_count}" if o.accelerator else "",
            "$/h": Num(f"{o.price:.4f}", o.price),
            "spot $/h": Num(f"{o.spot_price:.4f}", o.spot_price)
            if o.spot_price is not None
            else Num("", None),
        }
        for o in found
    ]


def query_regions(
    cat: Catalog, clouds: list[str], jurisdictions: list[str], continent: str | None
) -> list[dict[str, str]]:
    """Regions matching the filters, by cloud then name, with their offering counts."""
    _check_filters(cat, clouds, jurisdictions)
    if continent is not None and continent not in CONTINENTS:
        hint = did_you_mean(continent, CONTINENTS) or f"one of {', '.join(CONTINENTS)}"
        raise InputError(f"unknown continent {continent!r}", hint=hint)
    counts = {k: len(v) for k, v in cat.offerings_by_region.items()}
    return [
        {
            "cloud": r.cloud,
            "region": r.region,
            "name": r.display_name,
            "country": r.country,
            "jurisdictions": ";".join(sorted(r.tags)),
            "continent": r.continent,
            "offerings": Num(str(counts.get(r.key, 0)), counts.get(r.key, 0)),
        }
        for r in cat.regions
        if (not clouds or r.cloud in clouds)
        and all(j in r.tags for j in jurisdictions)
        and (continent is None or r.continent == continent)
    ]
