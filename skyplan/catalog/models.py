"""Frozen catalog values and the egress rule of SPEC section 2."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property

CONTINENTS = (
    "africa",
    "asia",
    "europe",
    "middle-east",
    "north-america",
    "oceania",
    "south-america",
)
EGRESS_SCOPES = ("inter-region-same-continent", "inter-region-other-continent", "internet")


@dataclass(frozen=True, order=True)
class Region:
    """A cloud region with the jurisdiction tags it carries (its catalog tags plus its country)."""

    cloud: str
    region: str
    country: str
    tags: frozenset[str] = field(compare=False)
    continent: str = field(compare=False)
    lat: float = field(compare=False, default=0.0)
    lon: float = field(compare=False, default=0.0)
    display_name: str = field(compare=False, default="")

    @property
    def key(self) -> str:
        """`cloud:region`, the form specs and plans use."""
        return f"{self.cloud}:{self.region}"


@dataclass(frozen=True)
class Offering:
    """One instance type in one region with its on-demand and (optional) spot price per hour."""

    cloud: str
    region: str
    instance_type: str
    vcpus: int
    memory_gib: Decimal
    accelerator: str
    accelerator_count: int
    price: Decimal
    spot_price: Decimal | None

    @cached_property
    def region_key(self) -> str:
        """`cloud:region` of this offering (asked for in every solver loop: computed once)."""
        return f"{self.cloud}:{self.region}"

    def hourly(self, spot: bool) -> Decimal:
        """The price a job pays per node-hour: spot where allowed and listed, else on demand."""
        if spot and self.spot_price is not None:
            return self.spot_price
        return self.price

    def uses_spot(self, spot: bool) -> bool:
        """Whether a job allowing spot would really get the spot price here."""
        return spot and self.spot_price is not None


@dataclass(frozen=True)
class EgressRate:
    """A cloud's price per GB for one egress scope."""

    cloud: str
    scope: str
    usd_per_gb: Decimal


@dataclass(frozen=True)
class Quota:
    """A limit on the sum of nodes x vcpus (or x GPUs) placed in one cloud region."""

    cloud: str
    region: str
    resource: str  # "vcpus" or "gpus:<NAME>" (NAME upper-cased)
    limit: int


@dataclass(frozen=True)
class Catalog:
    """Everything the solver knows about prices and places; immutable once loaded."""

    regions: tuple[Region, ...]
    offerings: tuple[Offering, ...]
    egress: tuple[EgressRate, ...]
    quotas: tuple[Quota, ...] = ()
    source: str = "embedded"
    as_of: str | None = None

    @cached_property
    def region_by_key(self) -> dict[str, Region]:
        """Regions indexed by `cloud:region`."""
        return {r.key: r for r in self.regions}

    @cached_property
    def clouds(self) -> tuple[str, ...]:
        """Every cloud the catalog has a region of, sorted."""
        return tuple(sorted({r.cloud for r in self.regions}))

    @cached_property
    def offerings_by_region(self) -> dict[str, tuple[Offering, ...]]:
        """Offerings grouped by `cloud:region`, in catalog order."""
        out: dict[str, list[Offering]] = {}
        for o in self.offerings:
            out.setdefault(o.region_key, []).append(o)
        return {k: tuple(v) for k, v in out.items()}

    @cached_property
    def accelerators(self) -> tuple[str, ...]:
        """Every accelerator name offered anywhere, sorted."""
        return tuple(sorted({o.accelerator for o in self.offerings if o.accelerator}))

    @cached_property
    def _egress(self) -> dict[tuple[str, str], Decimal]:
        return {(e.cloud, e.scope): e.usd_per_gb for e in self.egress}

    def egress_rate(self, cloud: str, scope: str) -> Decimal:
        """A cloud's egress price per GB for a scope (0 where the catalog has none)."""
        return self._egress.get((cloud, scope), Decimal(0))

    @cached_property
    def quota_limits(self) -> dict[tuple[str, str], int]:
        """Quota limits keyed by (`cloud:region`, resource)."""
        return {(f"{q.cloud}:{q.region}", q.resource): q.limit for q in self.quotas}


@dataclass(frozen=True)
class Peering:
    """A reciprocal data-peering price between two clouds."""

    clouds: frozenset[str]
    usd_per_gb: Decimal


def egress_usd_per_gb(
    catalog: Catalog, src: Region, dst: Region, peering: tuple[Peering, ...] = ()
) -> Decimal:
    """Price per GB of copying data from `src` to `dst` (SPEC section 2)."""
    if src.key == dst.key:
        return Decimal(0)
    if src.cloud == dst.cloud:
        scope = (
            "inter-region-same-continent"
            if src.continent == dst.continent
            else "inter-region-other-continent"
        )
        return catalog.egress_rate(src.cloud, scope)
    pair = frozenset((src.cloud, dst.cloud))
    for p in peering:
        if p.clouds == pair:
            return p.usd_per_gb
    return catalog.egress_rate(src.cloud, "internet")
