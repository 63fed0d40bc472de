"""GCP fixtures: billing_v1.Sku messages and a CloudCatalogClient with its transport mocked."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

# --- GCP --------------------------------------------------------------------------------------

# description | resource group | usage type | region | USD rate | usage unit
GCP_SKU_TABLE = """\
N2 Instance Core running in Frankfurt|CPU|OnDemand|europe-west3|0.03797|h
N2 Instance Ram running in Frankfurt|RAM|OnDemand|europe-west3|0.00509|GiBy.h
Spot Preemptible N2 Instance Core running in Frankfurt|CPU|Preemptible|europe-west3|0.00918|h
Spot Preemptible N2 Instance Ram running in Frankfurt|RAM|Preemptible|europe-west3|0.00123|GiBy.h
N2 Instance Core running in Americas|CPU|OnDemand|us-central1|0.031611|h
N2 Instance Ram running in Americas|RAM|OnDemand|us-central1|0.004237|GiBy.h
E2 Instance Core running in Frankfurt|CPU|OnDemand|europe-west3|0.02624|h
E2 Instance Ram running in Frankfurt|RAM|OnDemand|europe-west3|0.003517|GiBy.h
N1 Predefined Instance Core running in Frankfurt|N1Standard|OnDemand|europe-west3|0.0456|h
N1 Predefined Instance Ram running in Frankfurt|N1Standard|OnDemand|europe-west3|0.0061|GiBy.h
Nvidia Tesla T4 GPU running in Frankfurt|GPU|OnDemand|europe-west3|0.41|h
Spot Preemptible Nvidia Tesla T4 GPU running in Frankfurt|GPU|Preemptible|europe-west3|0.14|h
G2 Instance Core running in Americas|CPU|OnDemand|us-central1|0.02486|h
G2 Instance Ram running in Americas|RAM|OnDemand|us-central1|0.002912|GiBy.h
Nvidia L4 GPU running in Americas|GPU|OnDemand|us-central1|0.56|h
Custom Instance Core running in Frankfurt|CPU|OnDemand|europe-west3|9|h
Commitment v1: N2 Cpu in Frankfurt for 1 Year|CPU|Commit1Yr|europe-west3|0.02|h
N2 Sole Tenancy Instance Core running in Frankfurt|CPU|OnDemand|europe-west3|9|h
"""
# The last three are other purchase models that must not be taken for predefined machines.
# description | group (+ 'Egress'; Internet: PremiumInternet) | region | tiers (start GiB:USD/GiB)
# Inter-region SKUs go from a place or a billing area (Americas, EMEA) to a place, as the real
# ones do ("... from Americas to Los Angeles", "... from Japan to Seoul").
GCP_NETWORK_TABLE = """\
Network Inter Region Data Transfer Out from Frankfurt to Netherlands|Interregion|europe-west3|0:0.02
Network Inter Region Data Transfer Out from Frankfurt to Los Angeles|Interregion|europe-west3|0:0.05
Network Inter Region Data Transfer Out from EMEA to Frankfurt|Interregion|europe-west1|0:0.02
Network Inter Region Data Transfer Out from Americas to Los Angeles|Interregion|us-central1|0:0.02
Network Inter Region Data Transfer Out from Americas to Frankfurt|Interregion|us-central1|0:0.05
Network Inter Region Data Transfer Out from Americas to Sao Paulo|Interregion|us-central1|0:0.08
Network Data Transfer GCP Inter Region within Northern America|Interregion|us-central1|0:0.02
Network Internet Data Transfer Out from EMEA to Americas|Internet|europe-west3|0:0,1:0.12,1e3:0.1
Network Internet Data Transfer Out from Americas to Americas|Internet|us-central1|0:0.12
Network Internet Data Transfer Out from Americas to China|Internet|us-central1|0:0.23
"""


def _table(text: str) -> list[list[str]]:
    return [line.split("|") for line in text.splitlines()]


def _money(usd: str) -> Any:
    from google.type import money_pb2

    d = Decimal(usd)
    units = int(d)
    return money_pb2.Money(currency_code="USD", units=units, nanos=int((d - units) * 10**9))


def gcp_sku(
    n: int,
    description: str,
    family: str,
    group: str,
    usage: str,
    regions: tuple[str, ...],
    tiers: list[tuple[float, str]],
    unit: str,
) -> Any:
    """A billing_v1.Sku exactly as list_skus yields it."""
    from google.cloud import billing_v1

    return billing_v1.Sku(
        name=f"services/6F81-5844-456A/skus/{n:04X}-0000-0000",
        sku_id=f"{n:04X}-0000-0000",
        description=description,
        category=billing_v1.Category(
            service_display_name="Compute Engine",
            resource_family=family,
            resource_group=group,
            usage_type=usage,
        ),
        service_regions=list(regions),
        pricing_info=[
            billing_v1.PricingInfo(
                summary="",
                pricing_expression=billing_v1.PricingExpression(
                    usage_unit=unit,
                    usage_unit_description="hour" if unit == "h" else "gibibyte",
                    base_unit="s" if unit == "h" else "By",
                    display_quantity=1,
                    tiered_rates=[
                        billing_v1.PricingExpression.TierRate(
                            start_usage_amount=start, unit_price=_money(usd)
                        )
                        for start, usd in tiers
                    ],
                ),
                currency_conversion_rate=1.0,
            )
        ],
        service_provider_name="Google",
    )


def gcp_skus() -> list[Any]:
    """The fixture SKUs, plus one without pricing_info (missing fields are skipped)."""
    from google.cloud import billing_v1

    out = [
        gcp_sku(i, d, "Compute", g, u, (r,), [(0, usd)], unit)
        for i, (d, g, u, r, usd, unit) in enumerate(_table(GCP_SKU_TABLE))
    ]
    for i, (d, g, r, tiers) in enumerate(_table(GCP_NETWORK_TABLE)):
        rates = [(float(t.split(":")[0]), t.split(":")[1]) for t in tiers.split(",")]
        out.append(
            gcp_sku(
                100 + i,
                d,
                "Network",
                {"Internet": "PremiumInternet"}.get(g, g) + "Egress",
                "OnDemand",
                (r,),
                rates,
                "GiBy",
            )
        )
    out.append(
        billing_v1.Sku(name="services/6F81-5844-456A/skus/FFFF", description="N2 Instance Core")
    )
    return out


def gcp_client(pages: list[list[Any]] | None = None) -> tuple[Any, Any]:
    """A CloudCatalogClient whose list_skus transport answers `pages` (default: two pages)."""
    from unittest import mock

    from google.auth.credentials import AnonymousCredentials
    from google.cloud import billing_v1

    client = billing_v1.CloudCatalogClient(credentials=AnonymousCredentials())
    skus = gcp_skus()
    pages = pages if pages is not None else [skus[:7], skus[7:]]
    responses = [
        billing_v1.ListSkusResponse(
            skus=p, next_page_token=f"page-{i + 2}" if i + 1 < len(pages) else ""
        )
        for i, p in enumerate(pages)
    ]
    patch = mock.patch.object(type(client.transport.list_skus), "__call__", side_effect=responses)
    return client, patch
