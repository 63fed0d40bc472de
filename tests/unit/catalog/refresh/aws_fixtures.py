"""AWS answers as the APIs send them: Price List documents (JSON in strings) and EC2 shapes.

The fixture account's instance types, prices per region, offerings and spot prices; botocore's
Stubber checks every response built here against the service model.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

# type: (vCPUs, MiB, GPU name, GPU count, GPU MiB); r6i.large comes without MemoryInfo.
AWS_TYPES: dict[str, tuple[int, int, str, int, int]] = {
    "m6i.large": (2, 8192, "", 0, 0),
    "m6i.xlarge": (4, 16384, "", 0, 0),
    "m6i.metal": (128, 524288, "", 0, 0),
    "m5.large": (2, 8192, "", 0, 0),
    "c5.large": (2, 4096, "", 0, 0),
    "r6i.large": (2, 0, "", 0, 0),
    "g5.xlarge": (4, 16384, "A10G", 1, 24576),
    "p4de.24xlarge": (96, 1179648, "A100", 8, 81920),
    "t3.micro": (2, 1024, "", 0, 0),
}
# region: {type: on-demand USD/hour}
AWS_PRICES = {
    "eu-west-1": {
        "m6i.large": "0.1070000000",
        "m6i.xlarge": "0.2140000000",
        "m6i.metal": "6.8480000000",
        "m5.large": "0.1070000000",
        "c5.large": "0.0960000000",
        "r6i.large": "0.1410000000",
        "g5.xlarge": "1.1230000000",
        "p4de.24xlarge": "45.0000000000",
    },
    "us-east-1": {
        "m6i.large": "0.0960000000",
        "m6i.xlarge": "0.1920000000",
        "m5.large": "0.0960000000",
        "c5.large": "0.0850000000",
        "g5.xlarge": "1.0060000000",
        "p4de.24xlarge": "40.9657300000",
    },
}
AWS_OFFERED = {
    "eu-west-1": ["m6i.large", "m6i.xlarge", "m6i.metal", "m5.large", "c5.large", "g5.xlarge"],
    "us-east-1": ["m6i.large", "m6i.xlarge", "m5.large", "c5.large", "g5.xlarge", "p4de.24xlarge"],
}
# (type, zone, price): eu-west-1 m6i.large has two zones, the dearer one wins.
AWS_SPOT = {
    "eu-west-1": [
        ("m6i.large", "eu-west-1a", "0.041900"),
        ("m6i.large", "eu-west-1b", "0.045100"),
        ("g5.xlarge", "eu-west-1a", "0.421000"),
    ],
    "us-east-1": [("m6i.large", "us-east-1a", "0.038200"), ("c5.large", "us-east-1b", "0.0321")],
}


def _on_demand_terms(sku: str, dims: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    """OnDemand terms like the Price List's: (begin, end, USD, unit) per price dimension."""
    code = f"{sku}.JRTCKXETXF"
    return {
        code: {
            "offerTermCode": "JRTCKXETXF",
            "sku": sku,
            "effectiveDate": "2026-11-01T00:00:00Z",
            "termAttributes": {},
            "priceDimensions": {
                f"{code}.{i:010d}": {
                    "rateCode": f"{code}.{i:010d}",
                    "description": f"${usd} per {unit}",
                    "beginRange": begin,
                    "endRange": end,
                    "unit": unit,
                    "appliesTo": [],
                    "pricePerUnit": {"USD": usd},
                }
                for i, (begin, end, usd, unit) in enumerate(dims)
            },
        }
    }


def price_item(region: str, itype: str, usd: str) -> str:
    """One GetProducts PriceList entry: a JSON document in a string, as the API sends it."""
    vcpus, mib, _, gpus, _ = AWS_TYPES[itype]
    sku = f"SKU{zlib.crc32((region + itype).encode()):012d}"
    doc = {
        "product": {
            "productFamily": "Compute Instance",
            "sku": sku,
            "attributes": {
                "servicecode": "AmazonEC2",
                "instanceType": itype,
                "vcpu": str(vcpus),
                "memory": f"{mib // 1024} GiB" if mib else "NA",
                "gpu": str(gpus),
                "regionCode": region,
                "location": "EU (Ireland)" if region == "eu-west-1" else "US East (N. Virginia)",
                "locationType": "AWS Region",
                "operatingSystem": "Linux",
                "tenancy": "Shared",
                "preInstalledSw": "NA",
                "capacitystatus": "Used",
                "licenseModel": "No License required",
                "usagetype": f"BoxUsage:{itype}",
                "operation": "RunInstances",
            },
        },
        "serviceCode": "AmazonEC2",
        "terms": {"OnDemand": _on_demand_terms(sku, [("0", "Inf", usd, "Hrs")])},
        "version": "20261101000000",
        "publicationDate": "2026-11-01T00:00:00Z",
    }
    return json.dumps(doc)


def egress_item(region: str, kind: str, to: str, tiers: list[tuple[str, str, str]]) -> str:
    """One AWSDataTransfer product: transfers out of `region` (tiers: begin, end, USD per GB)."""
    sku = f"DT{zlib.crc32((region + kind + to).encode()):012d}"
    doc = {
        "product": {
            "productFamily": "Data Transfer",
            "sku": sku,
            "attributes": {
                "servicecode": "AWSDataTransfer",
                "transferType": kind,
                "fromRegionCode": region,
                "fromLocationType": "AWS Region",
                "toRegionCode": to,
                "toLocationType": "AWS Region" if to else "Other",
                "usagetype": f"{region}-{to or 'Internet'}-Out-Bytes",
            },
        },
        "serviceCode": "AWSDataTransfer",
        "terms": {"OnDemand": _on_demand_terms(sku, [(b, e, u, "GB") for b, e, u in tiers])},
        "version": "20261101000000",
        "publicationDate": "2026-11-01T00:00:00Z",
    }
    return json.dumps(doc)


def egress_items(region: str) -> list[str]:
    """Internet (free first GB, then tiers), two inter-region routes, and an unknown region."""
    other = "us-east-1" if region != "us-east-1" else "eu-west-1"
    near = "eu-central-1" if region == "eu-west-1" else "us-east-2"
    return [
        egress_item(
            region,
            "AWS Outbound",
            "",
            [("0", "1", "0.0000000000"), ("1", "10240", "0.09"), ("10240", "Inf", "0.085")],
        ),
        egress_item(region, "InterRegion Outbound", other, [("0", "Inf", "0.0200000000")]),
        egress_item(region, "InterRegion Outbound", near, [("0", "Inf", "0.0200000000")]),
        egress_item(region, "InterRegion Outbound", "xx-nowhere-1", [("0", "Inf", "0.5")]),
    ]


def ec2_type(itype: str) -> dict[str, Any]:
    """A describe_instance_types entry; GPU types carry GpuInfo, r6i.large lacks MemoryInfo."""
    vcpus, mib, gpu, count, gpu_mib = AWS_TYPES[itype]
    out: dict[str, Any] = {
        "InstanceType": itype,
        "VCpuInfo": {"DefaultVCpus": vcpus, "DefaultCores": max(1, vcpus // 2)},
        "ProcessorInfo": {"SupportedArchitectures": ["x86_64"]},
        "CurrentGeneration": True,
    }
    if mib:
        out["MemoryInfo"] = {"SizeInMiB": mib}
    if gpu:
        out["GpuInfo"] = {
            "Gpus": [
                {
                    "Name": gpu,
                    "Manufacturer": "NVIDIA",
                    "Count": count,
                    "MemoryInfo": {"SizeInMiB": gpu_mib},
                }
            ],
            "TotalGpuMemoryInMiB": gpu_mib * count,
        }
    return out
