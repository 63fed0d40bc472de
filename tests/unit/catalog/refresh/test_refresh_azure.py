"""Azure refresh: resource SKUs over a fake azure-core transport, recorded Retail Prices pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from azure_fixtures import azure_answer, azure_compute, retail_session

from skyplan.catalog.refresh.azure import AzureClients, azure_clients, fetch_azure
from skyplan.catalog.refresh.azure_prices import vm_prices
from skyplan.catalog.refresh.model import CloudResult, CredentialError
from skyplan.errors import InputError


def _fetch(
    regions: tuple[str, ...],
    failing: tuple[str, ...] = (),
    retail_fail: tuple[str, ...] = (),
    empty: tuple[str, ...] = (),
) -> tuple[CloudResult, Any, list[tuple[str, str, str]]]:
    http, adapter = retail_session(retail_fail)
    seen: list[tuple[str, str, str]] = []
    clients = AzureClients(azure_compute(azure_answer(failing, empty)), http)
    return fetch_azure(regions, clients, lambda c, r, m: seen.append((c, r, m))), adapter, seen


def test_retail_prices_follow_next_page_link_to_the_end() -> None:
    http, adapter = retail_session()
    prices = vm_prices(http, "westeurope")
    assert [u.rsplit("$skip=", 1)[-1] if "$skip" in u else "first" for u in adapter.urls] == [
        "first",
        "1000",
        "2000",
    ]
    # Linux consumption only: Windows, Cloud Services, Low Priority and zero prices are dropped
    assert prices["Standard_D2s_v5"] == (Decimal("0.1056"), Decimal("0.02112"))
    assert prices["Standard_NC4as_T4_v3"] == (Decimal("0.5786"), Decimal("0.23144"))
    assert "Standard_D16s_v5" not in prices


def test_usable_sizes_priced_restricted_and_fractional_ones_dropped() -> None:
    result, _, seen = _fetch(("westeurope", "eastus"))
    we = {o.instance_type: o for o in result.regions[0].offerings}
    assert sorted(we) == ["Standard_D2s_v5", "Standard_D4s_v5", "Standard_NC4as_T4_v3"]
    # E2s_v5: not available for the subscription in the region; F2s_v2: in none of its zones;
    # D4s_v5 is blocked in one zone only and stays; NV6ads_A10_v5 is a sixth of a GPU;
    # B2s is not a shipped series; D8s_v5 came without capabilities
    t4 = we["Standard_NC4as_T4_v3"]
    assert (t4.vcpus, t4.memory_gib, t4.accelerator, t4.accelerator_count) == (
        4,
        Decimal(28),
        "T4",
        1,
    )
    assert (t4.price, t4.spot_price, t4.family) == (
        Decimal("0.5786"),
        Decimal("0.23144"),
        "NCasT4_v3",
    )
    assert {o.instance_type: o.price for o in result.regions[1].offerings}[
        "Standard_D2s_v5"
    ] == Decimal("0.096")
    assert ("azure", "westeurope", "3 offerings (3 with spot)") in seen
    assert dict(result.sdk)["azure-mgmt-compute"]


def test_resource_skus_follow_next_link_to_the_last_page() -> None:
    urls: list[str] = []
    answer = azure_answer()

    def recording(method: str, url: str) -> tuple[int, dict[str, Any]]:
        urls.append(url)
        return answer(method, url)

    clients = AzureClients(azure_compute(recording), retail_session()[0])
    result = fetch_azure(("westeurope",), clients, lambda c, r, m: None)
    skus = [u for u in urls if "/providers/Microsoft.Compute/skus" in u]
    assert len(skus) == 2 and "$skiptoken=page-2" in skus[1]
    # D2s_v5 came on the first page, NC4as_T4_v3 on the second
    assert [o.instance_type for o in result.regions[0].offerings] == [
        "Standard_D2s_v5",
        "Standard_D4s_v5",
        "Standard_NC4as_T4_v3",
    ]


def test_bandwidth_rates_first_paid_tier() -> None:
    result, _, _ = _fetch(("westeurope", "eastus"))
    assert {f.scope: f.usd_per_gb for f in result.egress} == {
        "internet": Decimal("0.087"),  # after the free first 100 GB
        "inter-region-same-continent": Decimal("0.02"),
        "inter-region-other-continent": Decimal("0.05"),
    }


def test_a_failing_region_is_reported_and_the_others_kept() -> None:
    result, _, seen = _fetch(("westeurope", "eastus"), failing=("westeurope",))
    we, us = result.regions
    assert we.error is not None and we.error.startswith("HttpResponseError: ")
    assert "LocationNotAvailableForResourceType" in we.error
    assert us.ok and us.offerings
    assert seen[0][:2] == ("azure", "westeurope") and seen[0][2].startswith("failed: ")


def test_a_region_with_no_prices_fails_and_reads_no_bandwidth() -> None:
    result, adapter, seen = _fetch(("westeurope", "eastus"), empty=("westeurope",))
    we, us = result.regions
    assert not we.ok and we.error == "no prices for the shipped instance families"
    assert ("azure", "westeurope", "failed: no prices for the shipped instance families") in seen
    assert us.ok and us.offerings
    assert not any("Bandwidth" in u and "westeurope" in u for u in adapter.urls)


def test_retail_api_failure_fails_only_its_region() -> None:
    result, _, _ = _fetch(("westeurope", "eastus"), retail_fail=("eastus",))
    we, us = result.regions
    assert we.ok
    assert us.error is not None and us.error.startswith("HTTPError: 500 Server Error")


def test_refused_sign_in_stops_the_cloud() -> None:
    from azure.core.exceptions import ClientAuthenticationError

    class Expired:
        def get_token(self, *scopes: str, **kwargs: Any) -> Any:
            raise ClientAuthenticationError("AADSTS700082: The refresh token has expired")

    from azure.mgmt.compute import ComputeManagementClient

    http, _ = retail_session()
    compute = ComputeManagementClient(Expired(), "sub", retry_total=0)  # type: ignore[arg-type]
    with pytest.raises(CredentialError) as info:
        fetch_azure(("westeurope",), AzureClients(compute, http), lambda c, r, m: None)
    assert info.value.message == (
        "no usable Azure credentials: AADSTS700082: The refresh token has expired"
    )
    assert "az login" in (info.value.hint or "")


def test_forbidden_subscription_is_refused_access() -> None:
    def answer(method: str, url: str) -> tuple[int, dict[str, Any]]:
        return 403, {"error": {"code": "AuthorizationFailed", "message": "no read permission"}}

    http, _ = retail_session()
    clients = AzureClients(azure_compute(answer), http)
    with pytest.raises(CredentialError) as info:
        fetch_azure(("westeurope",), clients, lambda c, r, m: None)
    assert info.value.message.startswith("Azure refused access: ")


def test_no_subscription_says_how_to_set_it() -> None:
    with pytest.raises(InputError) as info:
        azure_clients(None)
    assert "AZURE_SUBSCRIPTION_ID" in (info.value.hint or "")
