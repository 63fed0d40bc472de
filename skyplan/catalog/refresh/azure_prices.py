"""The Azure Retail Prices API (no sign-in): Linux VM meters and bandwidth, page after page."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

RETAIL_URL = "https://prices.azure.com/api/retail/prices"
MAX_PAGES = 500  # a runaway NextPageLink chain stops here instead of looping for ever
TIMEOUT_SECONDS = 60
_NOT_LINUX = ("windows", "cloud services", "cloudservices")


def _filter(service: str, region: str) -> str:
    return (
        f"serviceName eq '{service}' and armRegionName eq '{region}' and priceType eq 'Consumption'"
    )


def retail_items(http: Any, service: str, region: str) -> Iterator[dict[str, Any]]:
    """Every price item of a service in a region, following NextPageLink to the last page."""
    url: str | None = RETAIL_URL
    params: dict[str, str] | None = {"$filter": _filter(service, region)}
    for _ in range(MAX_PAGES):
        if not url:
            return
        resp = http.get(url, params=params, timeout=TIMEOUT_SECONDS)
        resp.raise_for_status()
        page = resp.json()
        items = page.get("Items") or []
        yield from items
        if not items:
            return
        url, params = page.get("NextPageLink"), None  # the link carries the filter and $skip
    raise RuntimeError(f"the Retail Prices API gave more than {MAX_PAGES} pages for {region}")


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def vm_prices(http: Any, region: str) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """(on-demand, spot) USD/hour per ARM size name of Linux consumption meters in a region."""
    on_demand: dict[str, Decimal] = {}
    spot: dict[str, Decimal] = {}
    for item in retail_items(http, "Virtual Machines", region):
        size = item.get("armSkuName") or ""
        product = str(item.get("productName", "")).lower()
        sku_name = str(item.get("skuName", ""))
        price = _dec(item.get("unitPrice"))
        if not size or price is None or price <= 0 or any(w in product for w in _NOT_LINUX):
            continue
        if (
            item.get("type", "Consumption") != "Consumption"
            or item.get("unitOfMeasure") != "1 Hour"
        ):
            continue
        if sku_name.endswith(" Low Priority"):
            continue
        table = spot if sku_name.endswith(" Spot") else on_demand
        table[size] = max(price, table.get(size, price))  # two meters for one size: the dearer
    return {s: (on_demand.get(s), spot.get(s)) for s in set(on_demand) | set(spot)}


def _bandwidth_scope(item: dict[str, Any]) -> str | None:
    meter = str(item.get("meterName", "")).lower()
    product = str(item.get("productName", "")).lower()
    if "preference" in product or "data transfer out" not in meter:
        return None
    if "intra continent" in meter:
        return "inter-region-same-continent"
    if "inter continent" in meter:
        return "inter-region-other-continent"
    if meter.startswith("standard data transfer out"):
        return "internet"
    return None


def bandwidth_rates(http: Any, region: str) -> dict[str, Decimal]:
    """USD/GB per egress scope out of a region: each meter's first paid tier, the dearest meter."""
    tiers: dict[tuple[str, str], list[tuple[Decimal, Decimal]]] = {}
    for item in retail_items(http, "Bandwidth", region):
        scope = _bandwidth_scope(item)
        price = _dec(item.get("unitPrice"))
        start = _dec(item.get("tierMinimumUnits", 0)) or Decimal(0)
        if scope is None or price is None:
            continue
        key = (scope, str(item.get("meterId") or item.get("meterName")))
        tiers.setdefault(key, []).append((start, price))
    out: dict[str, Decimal] = {}
    for (scope, _), rows in tiers.items():
        paid = next((p for _, p in sorted(rows) if p > 0), None)
        if paid is not None:
            out[scope] = max(paid, out.get(scope, paid))
    return out
