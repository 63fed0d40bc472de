"""GCP prices from google-cloud-billing: per-vCPU, per-GiB and per-GPU SKUs summed per machine."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from skyplan.catalog.load import EMBEDDED_DIR
from skyplan.catalog.refresh.assemble import read_rows
from skyplan.catalog.refresh.families import (
    GCP_GPU_DESCRIPTION,
    GCP_N1_GPUS,
    GCP_SERIES_DESCRIPTION,
    GCP_SHAPES,
    GCP_SKIP_WORDS,
    GcpShape,
    n1_gpu_host_fits,
)
from skyplan.catalog.refresh.model import (
    CloudResult,
    CredentialError,
    EgressFinding,
    PricedOffering,
    Progress,
    RegionResult,
    fetched_region,
    median_rate,
    missing_sdk,
    rate_detail,
    region_error,
    sdk_versions,
)

SERVICE = "services/6F81-5844-456A"  # Compute Engine in the Cloud Billing Catalog
SOURCE_ID = "gcp-api"
API = (
    "Cloud Billing Catalog API (CloudCatalogClient.list_skus, Compute Engine): per-vCPU, per-GiB "
    "and per-GPU SKUs (OnDemand and Preemptible) summed over machine shapes shipped with skyplan"
)
EGRESS_API = "Cloud Billing Catalog API (Compute Engine Network SKUs, first paid tier)"
USAGES = {"OnDemand": "on-demand", "Preemptible": "spot"}
_FROM_TO = re.compile(r"\bfrom (.+?) to (.+?)(?: \(.*\))?$", re.IGNORECASE)
_SPECIAL_DESTINATIONS = ("china", "australia")  # internet egress there has its own dearer rate
# Billing location names that are areas, not places of regions.csv: GCP prices its oldest regions
# by area ("N2 Instance Core running in Americas": us-central1, us-east1, us-west1; EMEA:
# europe-west1, europe-west4; APAC: asia-east1), and old SKUs went from area to area.
_AREAS = {"americas": "north-america", "emea": "europe", "apac": "asia"}


@dataclass(frozen=True)
class SkuRate:
    """The fields of a billing SKU a price needs, with its first paid rate."""

    description: str
    family: str
    group: str
    usage: str
    unit: str
    regions: frozenset[str]
    rate: Decimal


def catalog_client() -> Any:
    """A CloudCatalogClient from Application Default Credentials."""
    try:
        from google.cloud import billing_v1
    except ImportError as exc:
        raise missing_sdk("gcp") from exc
    with gcp_credentials():
        return billing_v1.CloudCatalogClient()


@contextmanager
def gcp_credentials() -> Iterator[None]:
    """Turn google-auth's and api-core's credential and permission errors into CredentialError."""
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax

    try:
        yield
    except (ax.DefaultCredentialsError, ax.RefreshError) as exc:
        raise CredentialError("gcp", exc) from exc
    except (gx.Unauthenticated, gx.Unauthorized) as exc:
        raise CredentialError("gcp", exc.message) from exc
    except (gx.PermissionDenied, gx.Forbidden) as exc:
        raise CredentialError("gcp", exc.message, denied=True) from exc
    except gx.GoogleAPICallError as exc:
        if (reason := _sign_in_refused(exc)) is None:
            raise
        raise CredentialError("gcp", reason) from exc


# Over gRPC a sign-in that cannot be refreshed is no RefreshError: the auth plugin's failure comes
# back as UNAVAILABLE (ServiceUnavailable: 503 Getting metadata from plugin failed with error:
# ('invalid_grant: Token has been expired or revoked.', {...})), which is not the network.
_PLUGIN_FAILED = re.compile(r"getting metadata from plugin failed with error: \(?'?([^'{]*)", re.I)
_SIGN_IN_REFUSED = (
    "invalid_grant",
    "invalid_client",
    "unauthorized_client",
    "invalid_rapt",
    "reauthentication is needed",
    "refresherror",
    "expired or revoked",
)


def _sign_in_refused(exc: BaseException) -> str | None:
    """Why google-auth could not sign a call in, when an API error says so; else None."""
    text = str(exc)
    found = _PLUGIN_FAILED.search(text)
    if found is None or not any(m in text.lower() for m in _SIGN_IN_REFUSED):
        return None
    return f"the sign-in could not be refreshed ({found.group(1).strip() or 'no reason given'})"


@lru_cache(maxsize=1)
def gcp_places() -> dict[str, str]:
    """Lower-case GCP location -> continent, from the regions skyplan ships: each region's name
    and every place in its display name ("Osasco (Sao Paulo), Brazil": osasco, sao paulo,
    brazil), which are the names billing SKUs use ("... from Americas to Los Angeles"); and the
    billing areas above."""
    out = dict(_AREAS)
    for row in read_rows(EMBEDDED_DIR / "regions.csv"):
        if row["cloud"] != "gcp":
            continue
        places = [row["region"], *re.split(r"[,()]", row.get("display_name", ""))]
        for place in places:
            if place.strip():
                out.setdefault(place.strip().lower(), row["continent"])
    return out


def fetch_gcp(regions: Sequence[str], client: Any, progress: Progress) -> CloudResult:
    """Machine prices of the shipped shapes in each region, and egress rates, from one listing."""
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax

    progress("gcp", "", "listing Compute Engine SKUs")
    try:
        with gcp_credentials():
            skus = [s for raw in client.list_skus(parent=SERVICE) if (s := _flatten(raw))]
    except (gx.GoogleAPICallError, gx.RetryError, ax.TransportError) as exc:
        # one listing serves every region: when it fails, they all do
        reason = region_error(exc)
        progress("gcp", "", f"failed: {reason}")
        failed = tuple(RegionResult("gcp", r, error=reason) for r in regions)
        return CloudResult("gcp", SOURCE_ID, API, _sdk(), failed)
    progress("gcp", "", f"{len(skus)} priced SKUs")
    index = _index(skus)
    results = [fetched_region("gcp", r, _region_offerings(index, r), progress) for r in regions]
    return CloudResult(
        cloud="gcp",
        source_id=SOURCE_ID,
        api=API,
        sdk=_sdk(),
        regions=tuple(results),
        egress=tuple(_egress(skus)),
        egress_api=EGRESS_API,
    )


def _sdk() -> tuple[tuple[str, str], ...]:
    return sdk_versions("google-cloud-billing", "google-api-core", "google-auth")


def _money(price: Any) -> Decimal:
    return Decimal(int(price.units)) + Decimal(int(price.nanos)) / Decimal(10**9)


def _flatten(sku: Any) -> SkuRate | None:
    """The SKU's first paid rate (tiers may start with a free one), or None when it has none."""
    if not sku.pricing_info:
        return None
    expr = sku.pricing_info[0].pricing_expression
    tiers = sorted(expr.tiered_rates, key=lambda t: t.start_usage_amount)
    rate = next((r for t in tiers if (r := _money(t.unit_price)) > 0), None)
    if rate is None:
        return None
    cat = sku.category
    return SkuRate(
        description=sku.description,
        family=cat.resource_family,
        group=cat.resource_group,
        usage=cat.usage_type,
        unit=expr.usage_unit,
        regions=frozenset(sku.service_regions),
        rate=rate,
    )


def _component(sku: SkuRate) -> tuple[str, str] | None:
    """('core'|'ram', series) or ('gpu', NAME) of a compute SKU; None for any other SKU."""
    text = sku.description.lower()
    if any(word in text for word in GCP_SKIP_WORDS):
        return None
    if sku.group == "GPU":
        return next((("gpu", n) for n, d in GCP_GPU_DESCRIPTION.items() if d.lower() in text), None)
    if sku.group == "CPU" or (sku.group == "N1Standard" and "core" in text):
        kind = "core"
    elif sku.group == "RAM" or (sku.group == "N1Standard" and "ram" in text):
        kind = "ram"
    else:
        return None
    series = next((s for s, d in GCP_SERIES_DESCRIPTION.items() if d.lower() in text), None)
    return (kind, series) if series else None


def _index(skus: Iterable[SkuRate]) -> dict[tuple[str, str, str, str], Decimal]:
    """Rates keyed by (region, usage, kind, series or GPU); where two SKUs match, the dearer."""
    out: dict[tuple[str, str, str, str], Decimal] = {}
    for sku in skus:
        if sku.family != "Compute" or sku.usage not in USAGES:
            continue
        found = _component(sku)
        if found is None:
            continue
        for region in sku.regions:
            key = (region, sku.usage, *found)
            out[key] = max(sku.rate, out.get(key, sku.rate))
    return out


def _price(
    index: dict[tuple[str, str, str, str], Decimal], region: str, usage: str, shape: GcpShape
) -> Decimal | None:
    """vCPUs x core rate + GiB x RAM rate (+ GPUs x GPU rate), or None if a part is unpriced."""
    core = index.get((region, usage, "core", shape.series))
    ram = index.get((region, usage, "ram", shape.series))
    if core is None or ram is None:
        return None
    total = shape.vcpus * core + shape.memory_gib * ram
    if shape.accelerator:
        gpu = index.get((region, usage, "gpu", shape.accelerator))
        if gpu is None:
            return None
        total += shape.accelerator_count * gpu
    return total


def _offering(shape: GcpShape, region: str, price: Decimal, spot: Decimal | None) -> PricedOffering:
    family = shape.name.rsplit("-", 1)[0]
    return PricedOffering(
        "gcp",
        region,
        shape.name,
        shape.vcpus,
        shape.memory_gib,
        shape.accelerator,
        shape.accelerator_count,
        price,
        spot,
        family,
    )


def _region_offerings(
    index: dict[tuple[str, str, str, str], Decimal], region: str
) -> tuple[PricedOffering, ...]:
    """Every shipped shape priced in the region, plus N1 hosts with attached T4 and V100 GPUs
    (the embedded catalog's hosts, so the two compare offering by offering)."""
    offers = []
    for shape in GCP_SHAPES:
        price = _price(index, region, "OnDemand", shape)
        if price is not None:
            offers.append(
                _offering(shape, region, price, _price(index, region, "Preemptible", shape))
            )
    hosts = sorted((o for o in offers if o.family == "n1-standard"), key=lambda o: o.vcpus)
    return tuple(offers) + tuple(_n1_gpu_offerings(index, region, hosts))


def _n1_gpu_offerings(
    index: dict[tuple[str, str, str, str], Decimal], region: str, hosts: list[PricedOffering]
) -> Iterator[PricedOffering]:
    """n1-standard-<N>+<K>x<gpu>: host + K x GPU (spot only when both have spot)."""
    for api, accel, limits in GCP_N1_GPUS:
        gpu = index.get((region, "OnDemand", "gpu", accel))
        if gpu is None:
            continue
        gpu_spot = index.get((region, "Preemptible", "gpu", accel))
        for k, limit in sorted(limits.items()):
            for host in (h for h in hosts if n1_gpu_host_fits(h.vcpus, h.memory_gib, limit)):
                spot = None
                if host.spot_price is not None and gpu_spot is not None:
                    spot = host.spot_price + k * gpu_spot
                yield PricedOffering(
                    "gcp",
                    region,
                    f"{host.instance_type}+{k}x{api}",
                    host.vcpus,
                    host.memory_gib,
                    accel,
                    k,
                    host.price + k * gpu,
                    spot,
                    f"n1-standard+{api}",
                )


def _egress_scope(sku: SkuRate) -> str | None:
    """The catalog scope a Network SKU prices, or None."""
    if sku.family != "Network" or sku.unit != "GiBy" or sku.usage != "OnDemand":
        return None
    text = sku.description.lower()
    if sku.group == "PremiumInternetEgress":
        return None if any(d in text for d in _SPECIAL_DESTINATIONS) else "internet"
    if sku.group != "InterregionEgress":
        return None
    if " within " in f" {text} ":
        return "inter-region-same-continent"
    m = _FROM_TO.search(text)
    if m is None:
        return None
    # "from EMEA to Frankfurt", "from Japan to Seoul": each side a place or an area, the source
    # also named by the SKU's region; a place skyplan does not know is left out
    places = gcp_places()
    sources = [m.group(1).strip(), *sorted(r.lower() for r in sku.regions)]
    here = next((c for name in sources if (c := places.get(name))), None)
    there = places.get(m.group(2).strip())
    if here is None or there is None:
        return None
    return f"inter-region-{'same' if here == there else 'other'}-continent"


def _egress(skus: Iterable[SkuRate]) -> Iterator[EgressFinding]:
    """Median first-paid-tier rate per scope over the matching Network SKUs."""
    found: dict[str, list[Decimal]] = {}
    for sku in skus:
        scope = _egress_scope(sku)
        if scope is not None:
            found.setdefault(scope, []).append(sku.rate)
    for scope, values in sorted(found.items()):
        rate = median_rate(values)
        if rate is not None:
            yield EgressFinding(scope, rate, rate_detail(values, "Network SKUs, first paid tier"))
