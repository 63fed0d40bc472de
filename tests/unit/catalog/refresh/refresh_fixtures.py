"""Offline AWS clients (Stubbers answering with aws_fixtures.py) and fetchers for every cloud.

Every response is shaped like the real API's: botocore validates the AWS ones against its
model; the Google ones (gcp_fixtures.py) are the SDK's own proto messages; the Azure ones
(azure_fixtures.py) go through the SDK's deserializer or are recorded Retail Prices pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
from aws_fixtures import (
    AWS_OFFERED,
    AWS_PRICES,
    AWS_SPOT,
    AWS_TYPES,
    ec2_type,
    egress_items,
    price_item,
)
from botocore.stub import ANY, Stubber

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CONTINENTS = {"eu-west-1": "europe", "eu-central-1": "europe", "us-east-1": "north-america"}
FAMILIES = ("m6i", "m7i", "c6i", "c7i", "r6i", "r7i", "m5", "c5", "r5")
FAMILIES += ("g4dn", "g5", "g6", "gr6", "g6e", "p3", "p4d", "p4de", "p5")
PATTERNS = [{"Name": "instance-type", "Values": sorted(f"{f}.*" for f in FAMILIES)}]

# --- AWS --------------------------------------------------------------------------------------


def aws_session() -> Any:
    """A session with dummy keys: Stubber answers before anything is signed or sent."""
    return boto3.session.Session(
        aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret", region_name="us-east-1"
    )


@dataclass
class StubbedAws:
    """AwsClients backed by Stubbers: one stubbed client per service and region."""

    session: Any = field(default_factory=aws_session)
    clients: dict[tuple[str, str], tuple[Any, Stubber]] = field(default_factory=dict)
    stubs: list[Stubber] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pricing_stub = self.stub("pricing", "us-east-1")

    def client(self, service: str, region: str) -> Any:
        """The stubbed `service` client of `region` (made on first use)."""
        if (service, region) not in self.clients:
            client = self.session.client(service, region_name=region)
            stub = Stubber(client)
            stub.activate()
            self.stubs.append(stub)
            self.clients[(service, region)] = (client, stub)
        return self.clients[(service, region)][0]

    def stub(self, service: str, region: str) -> Stubber:
        """The Stubber of `region`'s `service` client."""
        self.client(service, region)
        return self.clients[(service, region)][1]

    def pricing(self) -> Any:
        """The stubbed Price List client."""
        return self.client("pricing", "us-east-1")

    def ec2(self, region: str) -> Any:
        """The stubbed EC2 client of `region`."""
        return self.client("ec2", region)

    def service_quotas(self, region: str) -> Any:
        """The stubbed Service Quotas client of `region`."""
        return self.client("service-quotas", region)

    def ec2_stub(self, region: str) -> Stubber:
        """The Stubber of `region`'s EC2 client."""
        return self.stub("ec2", region)

    def assert_done(self) -> None:
        """Every queued response was asked for."""
        for stub in self.stubs:
            stub.assert_no_pending_responses()


def queue_regions(aws: StubbedAws, opted_out: tuple[str, ...] = ()) -> None:
    """describe_regions: two ordinary regions, and opt-in ones (enabled or not)."""
    regions = [
        {"RegionName": "eu-west-1", "Endpoint": "ec2.eu-west-1.amazonaws.com"},
        {"RegionName": "us-east-1", "Endpoint": "ec2.us-east-1.amazonaws.com"},
    ]
    for r in regions:
        r["OptInStatus"] = "opt-in-not-required"
    for name in opted_out:
        regions.append(
            {
                "RegionName": name,
                "Endpoint": f"ec2.{name}.amazonaws.com",
                "OptInStatus": "not-opted-in",
            }
        )
    aws.ec2_stub("us-east-1").add_response(
        "describe_regions", {"Regions": regions}, {"AllRegions": True}
    )


def queue_region(aws: StubbedAws, region: str, egress: bool = True) -> None:
    """Every call one region makes, in order, two pages where the API pages (the data-transfer
    prices last, left out with egress=False)."""
    ec2 = aws.ec2_stub(region)
    offered = [
        {"InstanceType": t, "LocationType": "region", "Location": region}
        for t in AWS_OFFERED[region]
    ]
    params = {"LocationType": "region", "Filters": PATTERNS}
    ec2.add_response(
        "describe_instance_type_offerings",
        {"InstanceTypeOfferings": offered[:3], "NextToken": "offer-2"},
        params,
    )
    ec2.add_response(
        "describe_instance_type_offerings",
        {"InstanceTypeOfferings": offered[3:]},
        {**params, "NextToken": "offer-2"},
    )
    types = [ec2_type(t) for t in AWS_TYPES]
    ec2.add_response(
        "describe_instance_types",
        {"InstanceTypes": types[:4], "NextToken": "types-2"},
        {"Filters": PATTERNS},
    )
    ec2.add_response(
        "describe_instance_types",
        {"InstanceTypes": types[4:]},
        {"Filters": PATTERNS, "NextToken": "types-2"},
    )
    queue_prices(aws, region)
    spot = [
        {
            "AvailabilityZone": zone,
            "InstanceType": t,
            "ProductDescription": "Linux/UNIX",
            "SpotPrice": price,
            "Timestamp": NOW,
        }
        for t, zone, price in AWS_SPOT[region]
    ]
    params = {"ProductDescriptions": ["Linux/UNIX"], "StartTime": ANY, "Filters": PATTERNS}
    ec2.add_response(
        "describe_spot_price_history",
        {"SpotPriceHistory": spot[:1], "NextToken": "spot-2"},
        params,
    )
    ec2.add_response(
        "describe_spot_price_history",
        {"SpotPriceHistory": spot[1:]},
        {**params, "NextToken": "spot-2"},
    )
    if egress:
        queue_egress(aws, region)


def queue_egress(aws: StubbedAws, region: str) -> None:
    """GetProducts for the data-transfer prices out of `region`."""
    aws.pricing_stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": egress_items(region)},
        {
            "ServiceCode": "AWSDataTransfer",
            "Filters": [{"Type": "TERM_MATCH", "Field": "fromRegionCode", "Value": region}],
            "FormatVersion": "aws_v1",
        },
    )


def queue_prices(aws: StubbedAws, region: str) -> None:
    """GetProducts for a region's EC2 prices in two pages (NextToken)."""
    items = [price_item(region, t, usd) for t, usd in AWS_PRICES[region].items()]
    filters = [
        {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
        {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
        {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
        {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
    ]
    params = {"ServiceCode": "AmazonEC2", "Filters": filters, "FormatVersion": "aws_v1"}
    aws.pricing_stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": items[:4], "NextToken": "price-2"},
        params,
    )
    aws.pricing_stub.add_response(
        "get_products",
        {"FormatVersion": "aws_v1", "PriceList": items[4:]},
        {**params, "NextToken": "price-2"},
    )


def queue_empty_region(aws: StubbedAws, region: str) -> None:
    """A region whose every call succeeds and returns nothing (single pages)."""
    ec2 = aws.ec2_stub(region)
    ec2.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": []})
    ec2.add_response("describe_instance_types", {"InstanceTypes": []})
    aws.pricing_stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []})
    ec2.add_response("describe_spot_price_history", {"SpotPriceHistory": []})


def stubbed_aws(regions: tuple[str, ...] = ("eu-west-1", "us-east-1")) -> StubbedAws:
    """A full, successful AWS refresh of `regions`, queued."""
    aws = StubbedAws()
    queue_regions(aws)
    for region in regions:
        queue_region(aws, region)
    return aws


# --- whole clouds -----------------------------------------------------------------------------


def fixture_fetchers(
    aws_regions: tuple[str, ...] | None = None,
) -> dict[str, Callable[[tuple[str, ...], Any], Any]]:
    """Fetchers for run.refresh that read the fixtures above instead of the clouds."""
    from azure_fixtures import azure_answer, azure_compute, retail_session
    from gcp_fixtures import gcp_client

    from skyplan.catalog.refresh.aws import fetch_aws
    from skyplan.catalog.refresh.azure import AzureClients, fetch_azure
    from skyplan.catalog.refresh.gcp import fetch_gcp

    def aws(regions: tuple[str, ...], progress: Any) -> Any:
        stubbed = stubbed_aws(aws_regions or regions)
        return fetch_aws(regions, CONTINENTS, stubbed, progress, NOW)

    def gcp(regions: tuple[str, ...], progress: Any) -> Any:
        client, patch = gcp_client()
        with patch:
            return fetch_gcp(regions, client, progress)

    def azure(regions: tuple[str, ...], progress: Any) -> Any:
        clients = AzureClients(azure_compute(azure_answer()), retail_session()[0])
        return fetch_azure(regions, clients, progress)

    return {"aws": aws, "gcp": gcp, "azure": azure}
