"""Azure sizes from azure-mgmt-compute (capabilities, restrictions), priced by Retail Prices."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from skyplan.catalog.refresh.azure_prices import bandwidth_rates, vm_prices
from skyplan.catalog.refresh.families import azure_series
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
from skyplan.errors import InputError

SOURCE_ID = "azure-api"
API = (
    "Azure Resource SKUs API (ComputeManagementClient.resource_skus.list: vCPUs, memory, "
    "restrictions for the subscription) with the Azure Retail Prices API (Virtual Machines, "
    "Linux consumption and Spot meters)"
)
EGRESS_API = "Azure Retail Prices API (serviceName Bandwidth, first paid tier)"
_CREDENTIAL_STATUS = (401, 403)
_SUBSCRIPTION_CODES = ("SubscriptionNotFound", "InvalidSubscriptionId", "AuthorizationFailed")


@dataclass(frozen=True)
class AzureClients:
    """The management client (signed in) and an HTTP session for the Retail Prices API."""

    compute: Any
    http: Any


def subscription_id(given: str | None) -> str:
    """The subscription to read: the option, else AZURE_SUBSCRIPTION_ID."""
    sub = given or os.environ.get("AZURE_SUBSCRIPTION_ID", "")
    if not sub:
        raise InputError(
            "no Azure subscription: refreshing Azure reads the sizes your subscription may use",
            hint="set AZURE_SUBSCRIPTION_ID (`az account show --query id -o tsv`) or pass "
            "--subscription",
        )
    return sub


def azure_clients(subscription: str | None) -> AzureClients:
    """Clients from DefaultAzureCredential (environment, managed identity, `az login`)."""
    sub = subscription_id(subscription)
    try:
        import requests
        from azure.identity import DefaultAzureCredential
        from azure.mgmt.compute import ComputeManagementClient
    except ImportError as exc:
        raise missing_sdk("azure") from exc
    return AzureClients(ComputeManagementClient(DefaultAzureCredential(), sub), requests.Session())


@contextmanager
def azure_credentials() -> Iterator[None]:
    """Turn azure-identity's and ARM's sign-in and authorization errors into CredentialError."""
    from azure.core import exceptions as zx

    try:
        yield
    except zx.ClientAuthenticationError as exc:  # CredentialUnavailableError derives from it
        raise CredentialError("azure", exc) from exc
    except zx.HttpResponseError as exc:
        code = getattr(getattr(exc, "error", None), "code", None) or ""
        if exc.status_code in _CREDENTIAL_STATUS or code in _SUBSCRIPTION_CODES:
            raise CredentialError("azure", exc, denied=exc.status_code == 403) from exc
        raise


def is_credential_problem(exc: BaseException) -> bool:
    """True when an exception is about the sign-in or the subscription, not about one region."""
    from azure.core import exceptions as zx

    if isinstance(exc, zx.ClientAuthenticationError):
        return True
    code = getattr(getattr(exc, "error", None), "code", None) or ""
    status = getattr(exc, "status_code", None)
    return isinstance(exc, zx.HttpResponseError) and (
        status in _CREDENTIAL_STATUS or code in _SUBSCRIPTION_CODES
    )


def fetch_azure(regions: Sequence[str], clients: AzureClients, progress: Progress) -> CloudResult:
    """Priced, unrestricted sizes of the shipped series in each region, and bandwidth rates."""
    import requests
    from azure.core.exceptions import AzureError

    results: list[RegionResult] = []
    egress: dict[str, list[Decimal]] = {}
    notes: list[str] = []
    with azure_credentials():
        for region in regions:
            try:
                offers = _region_offerings(clients, region)
            except (AzureError, requests.RequestException, RuntimeError, ValueError) as exc:
                if is_credential_problem(exc):
                    raise
                results.append(RegionResult("azure", region, error=region_error(exc)))
                progress("azure", region, f"failed: {region_error(exc)}")
                continue
            results.append(fetched_region("azure", region, offers, progress))
            if not results[-1].ok:
                continue
            try:
                for scope, rate in bandwidth_rates(clients.http, region).items():
                    egress.setdefault(scope, []).append(rate)
            except (requests.RequestException, RuntimeError, ValueError) as exc:
                notes.append(f"bandwidth prices of {region} not read: {region_error(exc)}")
    findings = tuple(
        EgressFinding(scope, mid, rate_detail(values, "region rates, first paid tier"))
        for scope, values in sorted(egress.items())
        if (mid := median_rate(values)) is not None
    )
    return CloudResult(
        cloud="azure",
        source_id=SOURCE_ID,
        api=API,
        sdk=sdk_versions("azure-mgmt-compute", "azure-identity", "azure-core", "requests"),
        regions=tuple(results),
        egress=findings,
        egress_api=EGRESS_API,
        notes=tuple(notes),
    )


def _region_offerings(clients: AzureClients, region: str) -> tuple[PricedOffering, ...]:
    """Sizes the subscription may use in the region that have a Linux on-demand price."""
    skus = clients.compute.resource_skus.list(filter=f"location eq '{region}'")
    shapes = {s.name: shape for s in skus if (shape := _shape(s, region)) is not None}
    prices = vm_prices(clients.http, region)
    offers = []
    for size in sorted(shapes):
        on_demand, spot = prices.get(size, (None, None))
        if on_demand is None:
            continue
        vcpus, memory, accel, count, family = shapes[size]
        offers.append(
            PricedOffering(
                "azure", region, size, vcpus, memory, accel, count, on_demand, spot, family
            )
        )
    return tuple(offers)


def _capabilities(sku: Any) -> dict[str, str]:
    return {c.name: c.value for c in sku.capabilities or () if c.name and c.value is not None}


def _shape(sku: Any, region: str) -> tuple[int, Decimal, str, int, str] | None:
    """(vCPUs, GiB, accelerator, count, series) of a usable VM size of a shipped series."""
    if sku.resource_type != "virtualMachines" or not sku.name:
        return None
    series = azure_series(sku.name)
    if series is None or _restricted(sku, region):
        return None
    count = series.gpu_count(sku.name)
    caps = _capabilities(sku)
    try:
        vcpus = int(Decimal(caps["vCPUs"]))
        memory = Decimal(caps["MemoryGB"])
    except (KeyError, InvalidOperation):
        return None  # a size without its capabilities cannot be placed
    if count is None or vcpus < 1:
        return None  # a fractional-GPU size
    return vcpus, memory, series.accelerator, count, series.name


def _restricted(sku: Any, region: str) -> bool:
    """True when the subscription may not create the size in the region (or in any of its zones)."""
    zones = {z for info in sku.location_info or () for z in info.zones or ()}
    for r in sku.restrictions or ():
        kind = str(getattr(r.type, "value", r.type) or "")
        info = r.restriction_info
        if kind == "Location":
            where = {v.lower() for v in (r.values_property or ())}
            where |= {v.lower() for v in (info.locations if info and info.locations else ())}
            if not where or region.lower() in where:
                return True
        elif kind == "Zone":
            blocked = set(info.zones or ()) if info else set()
            if zones and blocked >= zones:
                return True
    return False
