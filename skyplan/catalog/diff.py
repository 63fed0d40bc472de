"""Comparing catalogs: price changes between two of them, and how old a catalog's prices are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from skyplan.catalog.cells import Num
from skyplan.catalog.models import Catalog, Offering

STALE_AFTER_DAYS = 30
REFRESH_COMMAND = "skyplan catalog refresh --cloud all --out DIR"


@dataclass(frozen=True)
class PriceChange:
    """One offering (cloud, region, instance type) whose prices differ between two catalogs."""

    cloud: str
    region: str
    instance_type: str
    kind: str  # "changed", "added" or "removed"
    old_price: Decimal | None
    new_price: Decimal | None
    old_spot: Decimal | None
    new_spot: Decimal | None

    @property
    def delta(self) -> Decimal:
        """New minus old on-demand price per hour (0 when either side has none)."""
        if self.old_price is None or self.new_price is None:
            return Decimal(0)
        return self.new_price - self.old_price

    @property
    def spot_delta(self) -> Decimal:
        """New minus old spot price per hour; a spot price that appeared counts as its whole
        price (+new) and one that disappeared as minus its whole price (-old), so they rank by
        the price that came or went. 0 when neither side lists spot."""
        return (self.new_spot or Decimal(0)) - (self.old_spot or Decimal(0))

    @property
    def spot_change(self) -> str:
        """The spot column: the signed change, marked when the spot price appeared or went."""
        if self.old_spot is None and self.new_spot is None:
            return ""
        mark = " (new)" if self.old_spot is None else " (gone)" if self.new_spot is None else ""
        return f"{_signed(self.spot_delta)}{mark}"

    @property
    def magnitude(self) -> Decimal:
        """The larger of the on-demand and spot changes, by size: what "largest first" sorts by."""
        return max(abs(self.delta), abs(self.spot_delta))

    @property
    def percent(self) -> Decimal | None:
        """The on-demand change in percent of the old price."""
        if not self.old_price or self.new_price is None:
            return None
        return self.delta * 100 / self.old_price


@dataclass(frozen=True)
class CatalogDiff:
    """Price changes, largest first, and the offerings only one side has."""

    changed: tuple[PriceChange, ...]
    added: tuple[PriceChange, ...]
    removed: tuple[PriceChange, ...]

    @property
    def cheaper(self) -> int:
        """How many offerings got cheaper on demand."""
        return sum(c.delta < 0 for c in self.changed)

    @property
    def dearer(self) -> int:
        """How many offerings got dearer on demand."""
        return sum(c.delta > 0 for c in self.changed)

    def summary(self) -> str:
        """One line: counts of changed, cheaper, dearer, added and removed offerings."""
        n = len(self.changed)
        return (
            f"{n} offering{'s' if n != 1 else ''} changed price ({self.cheaper} cheaper, "
            f"{self.dearer} dearer on demand), {len(self.added)} added, "
            f"{len(self.removed)} removed"
        )


def _key(o: Offering) -> tuple[str, str, str]:
    return (o.cloud, o.region, o.instance_type)


def diff_catalogs(old: Catalog, new: Catalog, clouds: tuple[str, ...] = ()) -> CatalogDiff:
    """What changed from `old` to `new`, per offering and region (only `clouds` when given)."""
    before = {_key(o): o for o in old.offerings if not clouds or o.cloud in clouds}
    after = {_key(o): o for o in new.offerings if not clouds or o.cloud in clouds}
    changed, added, removed = [], [], []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        change = PriceChange(
            *key,
            kind="changed" if a and b else ("added" if b else "removed"),
            old_price=a.price if a else None,
            new_price=b.price if b else None,
            old_spot=a.spot_price if a else None,
            new_spot=b.spot_price if b else None,
        )
        if a is None:
            added.append(change)
        elif b is None:
            removed.append(change)
        elif (a.price, a.spot_price) != (b.price, b.spot_price):
            changed.append(change)
    changed.sort(key=lambda c: (-c.magnitude, c.cloud, c.region, c.instance_type))
    return CatalogDiff(tuple(changed), tuple(added), tuple(removed))


def _money(value: Decimal | None) -> Num:
    return Num("" if value is None else f"{value:.4f}", value)


def _signed(value: Decimal) -> str:
    return f"{value:+.4f}"


def _spot_change(c: PriceChange) -> Num:
    if c.kind != "changed" or (c.old_spot is None and c.new_spot is None):
        return Num("", None)
    return Num(c.spot_change, c.spot_delta)


def diff_rows(d: CatalogDiff, with_added_removed: bool = False) -> list[dict[str, str]]:
    """Display rows: changes largest first, then (optionally) added and removed offerings."""
    rows = list(d.changed)
    if with_added_removed:
        rows += list(d.added) + list(d.removed)
    return [
        {
            "cloud": c.cloud,
            "region": c.region,
            "instance": c.instance_type,
            "kind": c.kind,
            "old $/h": _money(c.old_price),
            "new $/h": _money(c.new_price),
            "change": Num(_signed(c.delta), c.delta) if c.kind == "changed" else Num("", None),
            "%": Num(f"{c.percent:+.1f}%", round(c.percent, 1))
            if c.percent is not None
            else Num("", None),
            "old spot": _money(c.old_spot),
            "new spot": _money(c.new_spot),
            "spot change": _spot_change(c),
        }
        for c in rows
    ]


def catalog_age_days(as_of: str | None, today: date) -> int | None:
    """Days from a catalog's `as_of` date (YYYY-MM-DD, or a timestamp) to today; None if unknown."""
    if not as_of:
        return None
    try:
        return (today - date.fromisoformat(as_of[:10])).days
    except ValueError:
        return None


def stale_warning(catalog: Catalog, today: date, max_days: int = STALE_AFTER_DAYS) -> str | None:
    """A one-line warning when the catalog's oldest prices (its `as_of`) are older than
    `max_days`, saying how old they are; else None."""
    age = catalog_age_days(catalog.as_of, today)
    if age is None or age <= max_days:
        return None
    which = "the embedded catalog" if catalog.source == "embedded" else f"catalog {catalog.source}"
    return (
        f"warning: the oldest prices in {which} are {age} days old (from "
        f"{catalog.as_of[:10] if catalog.as_of else ''}); refresh it with `{REFRESH_COMMAND}` "
        "and plan with --catalog DIR"
    )
