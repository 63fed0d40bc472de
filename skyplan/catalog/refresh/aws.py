"""AWS prices and shapes from boto3: the Price List API, EC2 instance types, offerings and spot."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from skyplan.catalog.refresh.aws_account import (
    NOT_ENABLED,
    AccountRegions,
    AwsClients,
    aws_credentials,
)
from skyplan.catalog.refresh.families import (
    AWS_FALLBACK,
    AWS_TYPE_PATTERNS,
    aws_family,
    aws_gpu_name,
)
from skyplan.catalog.refresh.model import (
    CloudResult,
    EgressFinding,
    PricedOffering,
    Progress,
    RegionResult,
    fetched_region,
    median_rate,
    rate_detail,
    region_error,
    sdk_versions,
)

SOURCE_ID = "aws-api"
API = (
    "AWS Price List Query API (pricing.get_products, AmazonEC2: Linux, shared tenancy, on demand) "
    "with EC2 describe_instance_types, describe_instance_type_offerings (LocationType=region) "
    "and describe_spot_price_history (Linux/UNIX, the dearest availability zone)"
)
EGRESS_API = "AWS Price List Query API (pricing.get_products, AWSDataTransfer)"


def fetch_aws(
    regions: Sequence[str],
    continent_of: dict[str, str],
    clients: AwsClients,
    progress: Progress,
    now: datetime,
) -> CloudResult:
    """Prices and shapes of the shipped families in each region; a failing region is recorded."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    with aws_credentials():
        account = AccountRegions.read(clients)
        pricing = clients.pricing()
        results: list[RegionResult] = []
        egress: dict[str, list[Decimal]] = {}
        notes: list[str] = []
        for region in regions:
            if account.skip("aws", region, progress):
                results.append(RegionResult("aws", region, skipped=NOT_ENABLED))
                continue
            try:
                offers = _region_offerings(pricing, clients.ec2(region), region, now)
            except (ClientError, BotoCoreError) as exc:
                account.failed(exc)
                results.append(RegionResult("aws", region, error=region_error(exc)))
                progress("aws", region, f"failed: {region_error(exc)}")
                continue
            account.worked()
            results.append(fetched_region("aws", region, offers, progress))
            if not results[-1].ok:
                continue
            try:
                for scope, rate in _egress_rates(pricing, region, continent_of):
                    egress.setdefault(scope, []).append(rate)
            except (ClientError, BotoCoreError) as exc:
                account.failed(exc)
                notes.append(f"egress prices of {region} not read: {region_error(exc)}")
        account.settle()
    findings = tuple(
        EgressFinding(scope, mid, rate_detail(values, "region rates, first paid tier"))
        for scope, values in sorted(egress.items())
        if (mid := median_rate(values)) is not None
    )
    return CloudResult(
        cloud="aws",
        source_id=SOURCE_ID,
        api=API,
        sdk=sdk_versions("boto3", "botocore"),
        regions=tuple(results),
        egress=findings,
        egress_api=EGRESS_API,
        notes=tuple(notes),
    )


def _type_filter() -> list[dict[str, Any]]:
    return [{"Name": "instance-type", "Values": list(AWS_TYPE_PATTERNS)}]


def _region_offerings(
    pricing: Any, ec2: Any, region: str, now: datetime
) -> tuple[PricedOffering, ...]:
    """The region's offerings: priced, described and really offered there."""
    offered = {
        o["InstanceType"]
        for page in ec2.get_paginator("describe_instance_type_offerings").paginate(
            LocationType="region", Filters=_type_filter()
        )
        for o in page.get("InstanceTypeOfferings", [])
    }
    shapes = {
        t["InstanceType"]: shape
        for page in ec2.get_paginator("describe_instance_types").paginate(Filters=_type_filter())
        for t in page.get("InstanceTypes", [])
        if (shape := _shape(t)) is not None
    }
    prices = _on_demand_prices(pricing, region)
    spot = _spot_prices(ec2, now)
    offers = []
    for itype in sorted(offered & set(shapes) & set(prices)):
        family = aws_family(itype)
        if family is None:
            continue
        vcpus, memory, accel, count = shapes[itype]
        offers.append(
            PricedOffering(
                "aws",
                region,
                itype,
                vcpus,
                memory,
                accel,
                count,
                prices[itype],
                spot.get(itype),
                family,
            )
        )
    return _drop_redundant_gen5(offers)


def _shape(t: dict[str, Any]) -> tuple[int, Decimal, str, int] | None:
    """(vCPUs, GiB, accelerator, count) of a describe_instance_types entry; None if incomplete."""
    vcpus = t.get("VCpuInfo", {}).get("DefaultVCpus")
    mib = t.get("MemoryInfo", {}).get("SizeInMiB")
    if not vcpus or not mib:
        return None
    gpus = t.get("GpuInfo", {}).get("Gpus", [])
    if not gpus:
        return int(vcpus), Decimal(mib) / 1024, "", 0
    first = gpus[0]
    name = aws_gpu_name(first.get("Name", ""), int(first.get("MemoryInfo", {}).get("SizeInMiB", 0)))
    count = sum(int(g.get("Count", 0)) for g in gpus)
    return int(vcpus), Decimal(mib) / 1024, name, count


def _term(field: str, value: str) -> dict[str, str]:
    return {"Type": "TERM_MATCH", "Field": field, "Value": value}


def _on_demand_prices(pricing: Any, region: str) -> dict[str, Decimal]:
    """Linux, shared-tenancy, on-demand USD/hour per instance type of the shipped families."""
    filters = [
        _term("regionCode", region),
        _term("operatingSystem", "Linux"),
        _term("tenancy", "Shared"),
        _term("preInstalledSw", "NA"),
        _term("capacitystatus", "Used"),
    ]
    out: dict[str, Decimal] = {}
    pages = pricing.get_paginator("get_products").paginate(
        ServiceCode="AmazonEC2", Filters=filters, FormatVersion="aws_v1"
    )
    for page in pages:
        for text in page.get("PriceList", []):
            item = json.loads(text)  # each entry is a JSON document in a string
            product = item.get("product", {})
            attrs = product.get("attributes", {})
            itype = attrs.get("instanceType", "")
            if product.get("productFamily") != "Compute Instance" or aws_family(itype) is None:
                continue
            if attrs.get("operation", "RunInstances") != "RunInstances":
                continue
            price = _first_paid(item.get("terms", {}).get("OnDemand", {}), unit="Hrs")
            if price is not None:
                out[itype] = max(price, out.get(itype, price))
    return out


def _first_paid(terms: dict[str, Any], unit: str | None = None) -> Decimal | None:
    """The first non-zero USD rate of a product's terms, lowest tier first."""
    dims = [d for term in terms.values() for d in term.get("priceDimensions", {}).values()]
    dims.sort(key=lambda d: _num(d.get("beginRange", "0")) or Decimal(0))
    for d in dims:
        if unit is not None and d.get("unit") != unit:
            continue
        usd = _num(d.get("pricePerUnit", {}).get("USD", ""))
        if usd is not None and usd > 0:
            return usd
    return None


def _num(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except (InvalidOperation, TypeError):
        return None


def _spot_prices(ec2: Any, now: datetime) -> dict[str, Decimal]:
    """Current Linux spot price per type: the dearest zone, so a plan never under-prices it."""
    newest: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
    pages = ec2.get_paginator("describe_spot_price_history").paginate(
        ProductDescriptions=["Linux/UNIX"], StartTime=now, Filters=_type_filter()
    )
    for page in pages:
        for row in page.get("SpotPriceHistory", []):
            price = _num(row.get("SpotPrice", ""))
            key = (row.get("InstanceType", ""), row.get("AvailabilityZone", ""))
            stamp = row.get("Timestamp") or now
            if price is None or not key[0] or (key in newest and newest[key][0] >= stamp):
                continue
            newest[key] = (stamp, price)
    out: dict[str, Decimal] = {}
    for (itype, _), (_, price) in newest.items():
        out[itype] = max(price, out.get(itype, price))
    return out


def _drop_redundant_gen5(offers: list[PricedOffering]) -> tuple[PricedOffering, ...]:
    """m5/c5/r5 only where the region has neither the 6i nor the 7i family of that kind."""
    present = {o.family for o in offers}
    return tuple(o for o in offers if not (set(AWS_FALLBACK.get(o.family, ())) & present))


def _egress_rates(
    pricing: Any, region: str, continent_of: dict[str, str]
) -> Iterator[tuple[str, Decimal]]:
    """(scope, USD/GB) pairs of transfers out of `region`: to the internet and to each region."""
    pages = pricing.get_paginator("get_products").paginate(
        ServiceCode="AWSDataTransfer",
        Filters=[_term("fromRegionCode", region)],
        FormatVersion="aws_v1",
    )
    for page in pages:
        for text in page.get("PriceList", []):
            item = json.loads(text)
            attrs = item.get("product", {}).get("attributes", {})
            rate = _first_paid(item.get("terms", {}).get("OnDemand", {}))
            kind = attrs.get("transferType", "")
            if rate is None:
                continue
            if kind == "AWS Outbound":
                yield "internet", rate
            elif kind == "InterRegion Outbound":
                here, there = (
                    continent_of.get(region),
                    continent_of.get(attrs.get("toRegionCode", "")),
                )
                if here and there:
                    same = "same" if here == there else "other"
                    yield f"inter-region-{same}-continent", rate
