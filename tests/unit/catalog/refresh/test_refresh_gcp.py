"""GCP refresh through CloudCatalogClient with its transport mocked: SKUs summed into machines."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from gcp_fixtures import gcp_client

from skyplan.catalog.refresh.gcp import SERVICE, catalog_client, fetch_gcp
from skyplan.catalog.refresh.model import CloudResult, CredentialError


def _fetch(regions: tuple[str, ...], client: Any = None, patch: Any = None) -> CloudResult:
    if client is None:
        client, patch = gcp_client()
    seen: list[tuple[str, str, str]] = []
    with patch as call:
        result = fetch_gcp(regions, client, lambda c, r, m: seen.append((c, r, m)))
    _fetch.calls = call.call_args_list  # type: ignore[attr-defined]
    _fetch.seen = seen  # type: ignore[attr-defined]
    return result


def _prices(result: CloudResult, region: str) -> dict[str, tuple[Any, ...]]:
    found = next(r for r in result.regions if r.region == region)
    return {
        o.instance_type: (
            o.vcpus,
            o.memory_gib,
            o.accelerator,
            o.accelerator_count,
            o.price,
            o.spot_price,
        )
        for o in found.offerings
    }


def test_both_pages_are_read_and_vcpu_and_ram_skus_summed() -> None:
    result = _fetch(("europe-west3", "us-central1"))
    calls = _fetch.calls  # type: ignore[attr-defined]
    assert len(calls) == 2
    assert calls[0].args[0].parent == SERVICE
    assert calls[1].args[0].page_token == "page-2"
    eu = _prices(result, "europe-west3")
    # n2-standard-8 = 8 x core + 32 GiB x RAM, on demand and spot
    assert eu["n2-standard-8"] == (
        8,
        Decimal(32),
        "",
        0,
        8 * Decimal("0.03797") + 32 * Decimal("0.00509"),
        8 * Decimal("0.00918") + 32 * Decimal("0.00123"),
    )
    assert eu["n2-highmem-16"][4] == 16 * Decimal("0.03797") + 128 * Decimal("0.00509")
    assert eu["e2-standard-4"][5] is None  # no E2 spot SKU in the fixture
    # custom, commitment and sole-tenancy SKUs are not taken for predefined machines
    assert eu["n2-standard-2"][4] == 2 * Decimal("0.03797") + 8 * Decimal("0.00509")
    assert not any(t.startswith(("c2-", "a2-", "g2-")) for t in eu)  # no SKUs for them here


def test_bundled_and_attached_gpus_are_priced_per_gpu() -> None:
    result = _fetch(("europe-west3", "us-central1"))
    us = _prices(result, "us-central1")
    core, ram, l4 = Decimal("0.02486"), Decimal("0.002912"), Decimal("0.56")
    assert us["g2-standard-48"] == (48, Decimal(192), "L4", 4, 48 * core + 192 * ram + 4 * l4, None)
    eu = _prices(result, "europe-west3")
    host = 8 * Decimal("0.0456") + Decimal("30.00") * Decimal("0.0061")
    combo = eu["n1-standard-8+2xnvidia-tesla-t4"]
    assert combo[:4] == (8, Decimal("30.00"), "T4", 2)
    assert combo[4] == host + 2 * Decimal("0.41")
    assert combo[5] is None  # the N1 host has no spot SKU, so the pair has none
    # the embedded catalog's hosts (n1-standard-4, -8 and -16), within N1's per-GPU limits
    assert sorted(t for t in eu if t.endswith("+1xnvidia-tesla-t4")) == [
        "n1-standard-16+1xnvidia-tesla-t4",
        "n1-standard-4+1xnvidia-tesla-t4",
        "n1-standard-8+1xnvidia-tesla-t4",
    ]


def test_n1_gpu_offerings_are_the_embedded_catalogs() -> None:
    # so `catalog diff embedded refreshed` shows price changes, not offerings added and removed
    from skyplan.catalog.load import load_embedded_catalog

    result = _fetch(("europe-west3",))
    fetched = {t for t in _prices(result, "europe-west3") if "+" in t}
    embedded = {
        o.instance_type
        for o in load_embedded_catalog().offerings
        if o.region_key == "gcp:europe-west3" and "+" in o.instance_type
    }
    assert fetched == embedded and len(fetched) == 9


def test_a_region_without_skus_is_reported_and_the_others_kept() -> None:
    result = _fetch(("me-central2", "europe-west3"))
    missing, eu = result.regions
    assert missing.error == "no prices for the shipped instance families"
    assert eu.ok and eu.offerings
    assert ("gcp", "me-central2", f"failed: {missing.error}") in _fetch.seen  # type: ignore[attr-defined]


def test_egress_from_network_skus() -> None:
    result = _fetch(("europe-west3",))
    found = {f.scope: f for f in result.egress}
    # the internet SKU's free first tier is skipped; China has its own rate and is left out
    assert {scope: f.usd_per_gb for scope, f in found.items()} == {
        "internet": Decimal("0.12"),
        "inter-region-same-continent": Decimal("0.02"),
        "inter-region-other-continent": Decimal("0.05"),
    }
    # same: Frankfurt->Netherlands, EMEA->Frankfurt, Americas->Los Angeles, within N. America
    assert found["inter-region-same-continent"].detail.startswith("median of 4 Network SKUs")
    assert found["inter-region-other-continent"].detail.startswith("median of 3 Network SKUs")


@pytest.mark.parametrize(
    ("description", "region", "scope"),
    [
        ("from Americas to Los Angeles", "us-central1", "same"),
        ("from Americas to Montreal", "us-central1", "same"),
        ("from EMEA to Frankfurt", "europe-west1", "same"),
        ("from Japan to Seoul", "asia-northeast1", "same"),
        ("from Sao Paulo to Sao Paulo", "southamerica-east1", "same"),
        ("from Americas to Sao Paulo", "us-central1", "other"),
        ("from Sydney to Jakarta", "australia-southeast1", "other"),
        ("from Finland to Singapore", "europe-north1", "other"),
        ("from EMEA to Americas", "europe-west1", "other"),  # the older area-to-area SKUs
        ("from Doha to Tel Aviv", "me-central1", "same"),
        ("from Atlantis to Frankfurt", "europe-west3", "same"),  # source: the SKU's region
        ("from Americas to Atlantis", "us-central1", None),  # an unknown place: left out
    ],
)
def test_inter_region_skus_classified_by_continent(
    description: str, region: str, scope: str | None
) -> None:
    from skyplan.catalog.refresh.gcp import SkuRate, _egress_scope

    sku = SkuRate(
        description=f"Network Inter Region Data Transfer Out {description}",
        family="Network",
        group="InterregionEgress",
        usage="OnDemand",
        unit="GiBy",
        regions=frozenset({region}),
        rate=Decimal("0.02"),
    )
    want = None if scope is None else f"inter-region-{scope}-continent"
    assert _egress_scope(sku) == want


def test_listing_failure_fails_every_region() -> None:
    from google.api_core import exceptions as gx

    client, _ = gcp_client()
    from unittest import mock

    patch = mock.patch.object(
        type(client.transport.list_skus), "__call__", side_effect=gx.ServiceUnavailable("down")
    )
    result = _fetch(("europe-west3", "us-central1"), client, patch)
    assert [r.error for r in result.regions] == ["ServiceUnavailable: 503 down"] * 2
    assert result.succeeded == ()


@pytest.mark.parametrize(
    ("error", "first"),
    [
        ("PermissionDenied", "GCP refused access: Cloud Billing API has not been used"),
        ("Unauthenticated", "no usable GCP credentials: Cloud Billing API has not been used"),
    ],
)
def test_refused_credentials_raise_credential_error(error: str, first: str) -> None:
    from unittest import mock

    from google.api_core import exceptions as gx

    client, _ = gcp_client()
    exc = getattr(gx, error)("Cloud Billing API has not been used in project 123")
    patch = mock.patch.object(type(client.transport.list_skus), "__call__", side_effect=exc)
    with pytest.raises(CredentialError) as info:
        _fetch(("europe-west3",), client, patch)
    assert info.value.message.startswith(first)
    assert "cloudbilling.googleapis.com" in (info.value.hint or "")


PLUGIN_FAILED = "Getting metadata from plugin failed with error: "
INVALID_GRANT = (
    "('invalid_grant: Token has been expired or revoked.', {'error': 'invalid_grant', "
    "'error_description': 'Token has been expired or revoked.'})"
)


def _expired(kind: str) -> Exception:
    """An expired sign-in as list_skus raises it: over gRPC, or from google-auth directly."""
    from google.api_core import exceptions as gx
    from google.auth import exceptions as ax

    if kind == "grpc":  # the auth plugin failed: gRPC reports UNAVAILABLE
        return gx.ServiceUnavailable(
            f"Getting metadata from plugin failed with error: {INVALID_GRANT}"
        )
    if kind == "reauth":
        return gx.ServiceUnavailable(
            f"{PLUGIN_FAILED}Reauthentication is needed. Please run "
            "`gcloud auth application-default login` to reauthenticate."
        )
    return ax.RefreshError(
        "invalid_grant: Token has been expired or revoked.",
        {"error": "invalid_grant", "error_description": "Token has been expired or revoked."},
    )


@pytest.mark.parametrize(
    ("kind", "first"),
    [
        (
            "grpc",
            "no usable GCP credentials: the sign-in could not be refreshed (invalid_grant: Token "
            "has been expired or revoked.)",
        ),
        ("reauth", "no usable GCP credentials: the sign-in could not be refreshed (Reauth"),
        ("refresh", "no usable GCP credentials: ('invalid_grant: Token has been expired"),
    ],
)
def test_an_expired_sign_in_is_a_credential_error(kind: str, first: str) -> None:
    from unittest import mock

    client, _ = gcp_client()
    patch = mock.patch.object(
        type(client.transport.list_skus), "__call__", side_effect=_expired(kind)
    )
    with pytest.raises(CredentialError) as info:
        _fetch(("europe-west3",), client, patch)
    assert info.value.message.startswith(first)
    assert (info.value.hint or "").startswith("run `gcloud auth application-default login`")
    assert info.value.exit_code == 2


def test_absent_application_default_credentials() -> None:
    # GOOGLE_APPLICATION_CREDENTIALS points at a missing file (conftest): google-auth refuses
    with pytest.raises(CredentialError) as info:
        catalog_client()
    assert info.value.message.startswith("no usable GCP credentials: File ")
    assert "gcloud auth application-default login" in (info.value.hint or "")
