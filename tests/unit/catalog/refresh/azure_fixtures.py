"""Azure fixtures: a fake azure-core transport for ARM, recorded Retail Prices API pages."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest._requests_basic import RestRequestsTransportResponse

DATA = Path(__file__).parent / "data"

# --- Azure ------------------------------------------------------------------------------------


class AzureCredential:
    """A credential that signs every request with a dummy token."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token that never expires."""
        return AccessToken("dummy-token", 4102444800)


class FakeAzureTransport(HttpTransport):
    """An azure-core transport answering from a function of (method, url)."""

    def __init__(self, answer: Callable[[str, str], tuple[int, dict[str, Any]]]):
        self.answer = answer
        self.urls: list[str] = []

    def __enter__(self) -> FakeAzureTransport:
        return self

    def __exit__(self, *args: object) -> None:
        return None

    def open(self) -> None:
        """Nothing to open."""

    def close(self) -> None:
        """Nothing to close."""

    def send(self, request: Any, **kwargs: Any) -> Any:
        """The recorded answer as a requests-backed transport response."""
        self.urls.append(request.url)
        status, body = self.answer(request.method, request.url)
        raw = requests.Response()
        raw.status_code = status
        raw.headers["Content-Type"] = "application/json"
        raw.raw = io.BytesIO(json.dumps(body).encode())
        raw.url = request.url
        return RestRequestsTransportResponse(request=request, internal_response=raw)


def azure_compute(answer: Callable[[str, str], tuple[int, dict[str, Any]]]) -> Any:
    """A ComputeManagementClient over FakeAzureTransport, with no retries to wait for."""
    from azure.mgmt.compute import ComputeManagementClient

    return ComputeManagementClient(
        AzureCredential(),
        "00000000-0000-0000-0000-000000000000",
        transport=FakeAzureTransport(answer),
        retry_total=0,
    )


def azure_sku(
    name: str,
    family: str,
    vcpus: str,
    memory: str,
    region: str,
    restrictions: list[dict[str, Any]] | None = None,
    gpus: str | None = None,
) -> dict[str, Any]:
    """A resource SKU in the REST API's camelCase shape."""
    caps = [
        {"name": "vCPUs", "value": vcpus},
        {"name": "MemoryGB", "value": memory},
        {"name": "HyperVGenerations", "value": "V1,V2"},
        {"name": "LowPriorityCapable", "value": "True"},
    ]
    if gpus is not None:
        caps.append({"name": "GPUs", "value": gpus})
    return {
        "resourceType": "virtualMachines",
        "name": name,
        "tier": "Standard",
        "size": name.removeprefix("Standard_"),
        "family": family,
        "locations": [region],
        "locationInfo": [{"location": region, "zones": ["1", "2", "3"], "zoneDetails": []}],
        "capabilities": caps,
        "restrictions": restrictions or [],
    }


def azure_skus(region: str) -> list[dict[str, Any]]:
    """Sizes of one region: usable, restricted (region and every zone), fractional, other."""
    blocked = [
        {
            "type": "Location",
            "values": [region],
            "restrictionInfo": {"locations": [region]},
            "reasonCode": "NotAvailableForSubscription",
        }
    ]
    zones = [
        {
            "type": "Zone",
            "values": [region],
            "restrictionInfo": {"locations": [region], "zones": ["1", "2", "3"]},
            "reasonCode": "NotAvailableForSubscription",
        }
    ]
    some_zones = [{**zones[0], "restrictionInfo": {"locations": [region], "zones": ["3"]}}]
    return [
        azure_sku("Standard_D2s_v5", "standardDSv5Family", "2", "8", region),
        azure_sku("Standard_D4s_v5", "standardDSv5Family", "4", "16", region, some_zones),
        azure_sku("Standard_E2s_v5", "standardESv5Family", "2", "16", region, blocked),
        azure_sku("Standard_F2s_v2", "standardFSv2Family", "2", "4", region, zones),
        azure_sku("Standard_NC4as_T4_v3", "standardNCASv3_T4Family", "4", "28", region),
        azure_sku("Standard_NV6ads_A10_v5", "standardNVADSA10v5Family", "6", "55", region),
        azure_sku("Standard_B2s", "standardBSFamily", "2", "4", region),
        {
            **azure_sku("Standard_D8s_v5", "standardDSv5Family", "8", "32", region),
            "capabilities": [],
        },
        {"resourceType": "disks", "name": "Premium_LRS", "locations": [region]},
    ]


def azure_answer(
    failing: tuple[str, ...] = (), empty: tuple[str, ...] = ()
) -> Callable[[str, str], tuple[int, dict[str, Any]]]:
    """resource_skus per region in two pages (nextLink), 400 for `failing`, no SKUs for `empty`;
    usages for quotas."""

    def answer(method: str, url: str) -> tuple[int, dict[str, Any]]:
        query = parse_qs(urlsplit(url).query)
        if "/usages" in url:
            region = urlsplit(url).path.split("/locations/")[1].split("/")[0]
            return 200, {"value": azure_usages(region)}
        region = query["$filter"][0].split("'")[1]
        if region in failing:
            return 400, {
                "error": {
                    "code": "LocationNotAvailableForResourceType",
                    "message": f"The location '{region}' is not available for resource type.",
                }
            }
        if region in empty:
            return 200, {"value": []}
        skus = azure_skus(region)
        if "$skiptoken" in query:  # the second page, asked for by the first one's nextLink
            return 200, {"value": skus[4:]}
        return 200, {"value": skus[:4], "nextLink": f"{url}&$skiptoken=page-2"}

    return answer


def azure_usages(region: str) -> list[dict[str, Any]]:
    """Compute usages of one region: total vCPUs, a GPU family, a family skyplan ignores."""

    def usage(name: str, label: str, limit: int, current: int) -> dict[str, Any]:
        return {
            "unit": "Count",
            "currentValue": current,
            "limit": limit,
            "name": {"value": name, "localizedValue": label},
        }

    return [
        usage("availabilitySets", "Availability Sets", 2500, 0),
        usage("cores", "Total Regional vCPUs", 100, 8),
        usage("standardDSv5Family", "Standard DSv5 Family vCPUs", 100, 8),
        usage("standardNCASv3_T4Family", "Standard NCASv3_T4 Family vCPUs", 16, 0),
        usage("StandardNCADSA100v4Family", "Standard NCADS_A100_v4 Family vCPUs", 0, 0),
        usage("lowPriorityCores", "Total Regional Low-priority vCPUs", 100, 0),
    ]


class RecordedRetailPrices(requests.adapters.BaseAdapter):
    """A requests transport serving recorded Retail Prices API pages from data/azure-retail/."""

    def __init__(self, fail: tuple[str, ...] = ()):
        super().__init__()
        self.fail = fail
        self.urls: list[str] = []

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        """The recorded page for (service, region, $skip), 404 when none was recorded."""
        self.urls.append(request.url)
        query = parse_qs(urlsplit(request.url).query)
        text = query["$filter"][0]
        service = "bandwidth" if "'Bandwidth'" in text else "vm"
        region = text.split("armRegionName eq '")[1].split("'")[0]
        path = DATA / "azure-retail" / f"{service}-{region}-{query.get('$skip', ['0'])[0]}.json"
        resp = requests.Response()
        resp.url, resp.request = request.url, request
        if region in self.fail:
            resp.status_code, resp._content = 500, b'{"Error": "internal"}'
        elif path.is_file():
            resp.status_code, resp._content = 200, path.read_bytes()
        else:
            resp.status_code, resp._content = 404, b'{"Error": "not recorded"}'
        resp.headers["Content-Type"] = "application/json"
        return resp

    def close(self) -> None:
        """Nothing to close."""


def retail_session(fail: tuple[str, ...] = ()) -> tuple[requests.Session, RecordedRetailPrices]:
    """A requests session whose https transport is the recorded one."""
    session = requests.Session()
    adapter = RecordedRetailPrices(fail)
    session.mount("https://", adapter)
    return session, adapter
