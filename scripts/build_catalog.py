#!/usr/bin/env python3
"""Build skyplan's embedded default catalog from the shared reference data.

Reads the public price snapshots, region list and egress notes under the shared data folder
(default ``../shared/data`` beside the repository, override with ``--shared DIR``) and writes the
catalog that ships inside the package (default ``skyplan/catalog/data``, override with ``--out``):

- ``offerings.csv``: the mainstream instance families of AWS, GCP and Azure plus the synthetic
  ``local`` cloud, one row per (cloud, region, instance_type), each with the id of its source;
- ``regions.csv``: every region of the reference list plus ``local-a`` and ``local-b``;
- ``egress.csv``: first-tier list egress rates per cloud and scope;
- ``metadata.json``: the source, date and licence of every figure, counts and shipped families.

The build is deterministic: the same inputs give byte-identical outputs (no build timestamps,
sorted rows and keys, prices written as their source strings in minimal decimal form). Rows that
are dropped or corrected are reported on stderr; a summary of what was written goes to stdout.
Standard library only, and skyplan's own stdlib-only families table (the N1 GPU hosts a refresh
offers). Rebuild with ``.venv/bin/python scripts/build_catalog.py``.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the repository's skyplan, whichever is installed

from skyplan.catalog.refresh.families import (  # noqa: E402  (stdlib only, like this script)
    GCP_N1_GPU_HOST_VCPUS,
    GCP_N1_GPUS,
    n1_gpu_host_fits,
)

DEFAULT_SHARED = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "skyplan" / "catalog" / "data"

OFFERING_HEADER = [
    "cloud",
    "region",
    "instance_type",
    "vcpus",
    "memory_gib",
    "accelerator",
    "accelerator_count",
    "price_usd_hour",
    "spot_price_usd_hour",
    "source",
]
REGION_HEADER = [
    "cloud",
    "region",
    "country",
    "jurisdictions",
    "continent",
    "lat",
    "lon",
    "display_name",
]
EGRESS_HEADER = ["cloud", "scope", "usd_per_gb", "source"]
EGRESS_SCOPES = ("inter-region-same-continent", "inter-region-other-continent", "internet")

# --- sources --------------------------------------------------------------------------------

SRC_AWS_2024 = "aws-sparecores-2024-02-21"
SRC_AWS_2026 = "aws-karpenter-us-east-1-2026-07-20"
SRC_GCP = "gcp-karpenter-2026-08-03"
SRC_GCP_N1_GPU = "gcp-n1-gpu-2026-05-20"
SRC_AZURE = "azure-karpenter-2026-06-18"
SRC_LOCAL = "skyplan-synthetic"

EGRESS_DATE = "2023-06-30"
EGRESS_DATE_NOTE = (
    "approximate: egress.md gives no date; its figures are first-tier list rates as quoted by "
    "skyplane (2022-23) and SkyPilot, not re-verified against the clouds' current price pages"
)

SOURCES: dict[str, dict] = {
    SRC_AWS_2024: {
        "description": "AWS on-demand Linux list prices (USD/hour) and instance specs, "
        "public regions; no spot prices",
        "origin": "Spare Cores data (PyPI sparecores-data 0.1.0, its bundled SQLite database)",
        "date": "2024-02-21",
        "license": "CC BY-SA 4.0; attribution: Spare Cores",
        "files": ["prices/aws.csv"],
    },
    SRC_AWS_2026: {
        "description": "AWS us-east-1 on-demand Linux list prices (USD/hour); preferred over "
        f"{SRC_AWS_2024} for us-east-1, and the only source of the g6 and gr6 (L4) and g6e "
        "(L40S) families, which the 2024 snapshot predates; no spot prices",
        "origin": "generated on-demand price table of the public Karpenter AWS provider; specs "
        "from the Kubernetes cluster-autoscaler AWS instance tables",
        "date": "2026-07-20",
        "license": "Apache-2.0 (Karpenter AWS provider)",
        "files": ["prices/aws-us-east-1-2026.csv"],
    },
    SRC_GCP: {
        "description": "GCP machine-type on-demand and spot prices (USD/hour); g2/a2/a3 prices "
        "include their GPUs",
        "origin": "generated initial price table of the public Karpenter GCP provider; shapes "
        "from a public GCP pricing calculator's pricing.yml",
        "date": "2026-08-03",
        "files": ["prices/gcp.csv"],
    },
    SRC_GCP_N1_GPU: {
        "description": "GCP n1-standard host with attached GPUs, named "
        "n1-standard-<N>+<K>x<gpu>: price = host price + K x per-GPU-hour price (spot only "
        "when both have spot); hosts "
        + ", ".join(f"n1-standard-{n}" for n in GCP_N1_GPU_HOST_VCPUS)
        + " where within Google's per-GPU-count vCPU and memory limits (the hosts a refresh "
        "offers too). "
        "Host prices dated 2026-08-03, GPU prices 2026-05-20. gpu-addon rows for GPUs that do "
        "not attach to N1 hosts were skipped: L4 (g2 only), A100 and A100-80GB (a2 only), "
        "H100 (a3 only); those GPUs ship as the g2/a2/a3 machine types instead",
        "origin": "n1-standard prices from the Karpenter GCP provider table; attachable-GPU "
        "prices (T4, V100) from a public SkyPilot-format catalog; N1 GPU limits from "
        "cloud.google.com/compute/docs/gpus (as tabulated in SkyPilot's gcp_catalog.py)",
        "date": "2026-05-20",
        "files": ["prices/gcp.csv"],
    },
    SRC_AZURE: {
        "description": "Azure on-demand Linux consumption prices (USD/hour); no spot prices",
        "origin": "generated price table of the public Karpenter Azure provider (from the Azure "
        "Retail Prices API); specs from the Kubernetes cluster-autoscaler instance tables",
        "date": "2026-06-18",
        "license": "Apache-2.0 (Karpenter Azure provider)",
        "files": ["prices/azure.csv"],
    },
    SRC_LOCAL: {
        "description": "synthetic local cloud for laptop tests: regions local-a and local-b, "
        "CPU-only types, local-b 1.5x local-a, spot in local-a only at 30% of on demand",
        "origin": "defined by skyplan (SPEC section 3)",
        "date": "",  # filled in with the catalog's as_of date
        "files": [],
    },
}

EGRESS: dict[str, tuple[str, str, str]] = {
    "aws": ("0.02", "0.02", "0.09"),
    "gcp": ("0.02", "0.08", "0.12"),
    "azure": ("0.02", "0.05", "0.087"),
    "local": ("0.01", "0.01", "0.01"),
}
EGRESS_ORIGINS = {
    "aws": "egress.md: AWS inter-region $0.02 typical (US/EU sources), internet first paid tier "
    "$0.09/GB (SkyPilot aws.py get_egress_cost, third-party summaries)",
    "gcp": "egress.md: GCP Premium tier, EU inter-region $0.02, inter-continent $0.08 (skyplane; "
    "Google changed inter-region rates in 2024, to be verified), internet $0.12 (0-1 TiB)",
    "azure": "egress.md: Azure NA/EU inter-region $0.02, inter-continent from NA/EU $0.05, "
    "internet ~$0.087 after the first 100 GB/month (skyplane, third-party summaries)",
}

# --- families ---------------------------------------------------------------------------------

AWS_MAIN = {"m6i", "m7i", "c6i", "c7i", "r6i", "r7i"}
AWS_FALLBACK = {"m5": ("m6i", "m7i"), "c5": ("c6i", "c7i"), "r5": ("r6i", "r7i")}
_ONE = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1}
AWS_GPUS: dict[str, tuple[str, dict[str, int]]] = {
    "g4dn": ("T4", {**_ONE, "12xlarge": 4}),
    "g5": ("A10G", {**_ONE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    # g6/gr6/g6e rows exist only in the 2026 us-east-1 file (the 2024 snapshot predates them)
    "g6": ("L4", {**_ONE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    "gr6": ("L4", {"4xlarge": 1, "8xlarge": 1}),
    "g6e": ("L40S", {**_ONE, "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}),
    "p3": ("V100", {"2xlarge": 1, "8xlarge": 4, "16xlarge": 8}),
    "p4d": ("A100", {"24xlarge": 8}),
    "p4de": ("A100-80GB", {"24xlarge": 8}),
    "p5": ("H100", {"4xlarge": 1, "48xlarge": 8}),
}

GCP_FAMILIES = {
    "e2-standard",
    "n2-standard",
    "n2-highmem",
    "n2-highcpu",
    "n2d-standard",
    "c2-standard",
    "c3-standard",
    "n1-standard",
    "g2-standard",
    "a2-highgpu",
    "a2-ultragpu",
    "a3-highgpu",
}
GCP_GPU_FAMILIES = {"a2-highgpu": "A100", "a2-ultragpu": "A100-80GB", "a3-highgpu": "H100"}
G2_L4_COUNTS = {4: 1, 8: 1, 12: 1, 16: 1, 32: 1, 24: 2, 48: 4, 96: 8}
# GPUs that attach to N1 hosts, and the hosts offered with them: the refresh's definitions
# (skyplan/catalog/refresh/families.py), so a refreshed catalog has the same N1+GPU offerings.
N1_GPUS = {api: (accel, limits) for api, accel, limits in GCP_N1_GPUS}

# Azure series: name, pattern, accelerator, {vCPUs in the size name: GPU count}. A GPU size
# missing from its table is a fractional-GPU size (e.g. NV6ads_A10_v5 = 1/6 A10) and is dropped.
AZURE_SERIES: list[tuple[str, str, str, dict[int, int]]] = [
    ("Dsv5", r"Standard_D(\d+)s_v5", "", {}),
    ("Dasv5", r"Standard_D(\d+)as_v5", "", {}),
    ("Esv5", r"Standard_E(\d+)s_v5", "", {}),
    ("Fsv2", r"Standard_F(\d+)s_v2", "", {}),
    ("NCasT4_v3", r"Standard_NC(\d+)as_T4_v3", "T4", {4: 1, 8: 1, 16: 1, 64: 4}),
    ("NVadsA10_v5", r"Standard_NV(\d+)adm?s_A10_v5", "A10", {36: 1, 72: 2}),
    ("NCv3", r"Standard_NC(\d+)r?s_v3", "V100", {6: 1, 12: 2, 24: 4}),
    ("NDasrA100_v4", r"Standard_ND(\d+)asr_v4", "A100", {96: 8}),
    ("NC_A100_v4", r"Standard_NC(\d+)ads_A100_v4", "A100-80GB", {24: 1, 48: 2, 96: 4}),
    ("NDm_A100_v4", r"Standard_ND(\d+)amsr_A100_v4", "A100-80GB", {96: 8}),
    ("NCads_H100_v5", r"Standard_NC(\d+)adi?s_H100_v5", "H100", {40: 1, 80: 2}),
    ("NDisr_H100_v5", r"Standard_ND(\d+)isr_H100_v5", "H100", {96: 8}),
]
# Spec corrections where the source table disagrees with the cloud's documentation.
MEMORY_FIXES = {("azure", "Standard_ND96amsr_A100_v4"): "1900"}  # learn.microsoft.com NDm A100 v4

LOCAL_TYPES = [
    ("local.small", 2, 4),
    ("local.medium", 4, 16),
    ("local.large", 8, 32),
    ("local.xlarge", 16, 64),
]
LOCAL_A_PRICES = ["0.01", "0.02", "0.04", "0.08"]
LOCAL_REGIONS = [
    ["local", "local-a", "ZZ", "LOCAL", "europe", "0", "0", "Local A (this machine)"],
    ["local", "local-b", "ZZ", "LOCAL", "europe", "0", "0", "Local B (this machine)"],
]
ACCEL_ALIASES = {"A100-40GB": "A100", "A100 80GB": "A100-80GB", "H100-80GB": "H100"}


class Log:
    """Collects stderr notes (drops, corrections), counted so that repeats print once."""

    def __init__(self) -> None:
        """Start with no notes."""
        self.notes: Counter[str] = Counter()

    def note(self, message: str) -> None:
        """Record one occurrence of a message."""
        self.notes[message] += 1

    def flush(self) -> None:
        """Print every note with its row count to stderr, sorted."""
        for message, n in sorted(self.notes.items()):
            print(f"build_catalog: {message} ({n} row{'s' if n != 1 else ''})", file=sys.stderr)


# --- helpers ----------------------------------------------------------------------------------


def dec(text: str) -> str:
    """A number string in minimal plain decimal form ('96.0' -> '96', '0.0960' -> '0.096')."""
    d = Decimal(text.strip())
    out = format(d.normalize(), "f")
    return "0" if out in ("-0", "") else out


def read_csv(path: Path) -> list[dict[str, str]]:
    """All rows of a CSV file with a header, as dicts."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def norm_accel(name: str) -> str:
    """A source accelerator name in the catalog's normalised spelling."""
    name = name.strip()
    return ACCEL_ALIASES.get(name, name)


def offering(row: dict, family: str, accel: str, count: int, source: str) -> dict:
    """A catalog offering built from a source price row; family kept aside for the summary."""
    spot = row.get("spot_price_usd_hour", "").strip()
    memory = MEMORY_FIXES.get((row["cloud"], row["instance_type"]), row["memory_gib"])
    return {
        "cloud": row["cloud"],
        "region": row["region"],
        "instance_type": row["instance_type"],
        "vcpus": str(int(Decimal(row["vcpus"]))),
        "memory_gib": dec(memory),
        "accelerator": accel,
        "accelerator_count": str(count),
        "price_usd_hour": dec(row["price_usd_hour"]),
        "spot_price_usd_hour": dec(spot) if spot else "",
        "source": source,
        "_family": family,
    }


def check_gpu(row: dict, accel: str, count: int, log: Log) -> None:
    """Note (once per type) where the source's accelerator name or count differs from ours."""
    got = (norm_accel(row["accelerator"]), int(row["accelerator_count"] or 0))
    if got != (accel, count):
        cloud, itype = row["cloud"], row["instance_type"]
        log.note(
            f"{cloud} {itype}: source accelerator {got[0] or '(none)'} x{got[1]} "
            f"corrected to {accel} x{count}"
        )
    fix = MEMORY_FIXES.get((row["cloud"], row["instance_type"]))
    if fix and dec(row["memory_gib"]) != fix:
        log.note(
            f"{row['cloud']} {row['instance_type']}: source memory_gib "
            f"{row['memory_gib']} corrected to {fix}"
        )


def has_price(row: dict, log: Log) -> bool:
    """True when the row has a positive on-demand price; notes the drop otherwise."""
    text = row["price_usd_hour"].strip()
    if text and Decimal(text) > 0:
        return True
    log.note(f"dropped {row['cloud']} rows with zero or empty price")
    return False


# --- AWS --------------------------------------------------------------------------------------


def aws_pick(row: dict, log: Log) -> dict | None:
    """The offering for a wanted AWS row (wanted family, not metal, priced), else None."""
    family, _, size = row["instance_type"].partition(".")
    if family not in AWS_MAIN and family not in AWS_FALLBACK and family not in AWS_GPUS:
        return None
    if size.startswith("metal") or not has_price(row, log):
        return None
    if family not in AWS_GPUS:
        return offering(row, family, "", 0, "")
    accel, counts = AWS_GPUS[family]
    if size not in counts:
        log.note(f"dropped aws {row['instance_type']}: GPU size not in the verified table")
        return None
    check_gpu(row, accel, counts[size], log)
    return offering(row, family, accel, counts[size], "")


def aws_offerings(shared: Path, log: Log) -> list[dict]:
    """AWS offerings: aws.csv, with us-east-1 taken from the 2026 file where it has the type."""
    picked: dict[tuple[str, str], dict] = {}
    inputs = [("aws.csv", SRC_AWS_2024), ("aws-us-east-1-2026.csv", SRC_AWS_2026)]
    for name, source in inputs:
        for row in read_csv(shared / "prices" / name):
            if source == SRC_AWS_2026 and row["region"] != "us-east-1":
                continue
            off = aws_pick(row, log)
            if off:
                off["source"] = source
                picked[(row["region"], row["instance_type"])] = off
    for off in picked.values():
        if off["region"] == "us-east-1" and off["source"] == SRC_AWS_2024:
            log.note("aws us-east-1 type missing from the 2026 file: kept its 2024 price")
    return aws_drop_redundant_gen5(list(picked.values()), log)


def aws_drop_redundant_gen5(offers: list[dict], log: Log) -> list[dict]:
    """Keep m5/c5/r5 only in regions that have neither the 6i nor the 7i family of that kind."""
    present = {(o["region"], o["_family"]) for o in offers}
    kept = []
    for o in offers:
        newer = AWS_FALLBACK.get(o["_family"], ())
        if any((o["region"], f) in present for f in newer):
            continue
        if newer:
            log.note(f"kept aws {o['_family']} in {o['region']} (no {'/'.join(newer)} there)")
        kept.append(o)
    return kept


# --- GCP --------------------------------------------------------------------------------------


def gcp_family(itype: str) -> str:
    """The machine family of a GCP type: 'n2-standard-8' -> 'n2-standard'."""
    return re.sub(r"-\d+g?$", "", itype)


def gcp_gpu(itype: str, family: str) -> tuple[str, int]:
    """The (accelerator, count) a GCP machine type bundles, ('', 0) for none."""
    if family == "g2-standard":
        return "L4", G2_L4_COUNTS[int(itype.rsplit("-", 1)[1])]
    if family in GCP_GPU_FAMILIES:
        match = re.search(r"-(\d+)g$", itype)
        return GCP_GPU_FAMILIES[family], int(match.group(1)) if match else 0
    return "", 0


def gcp_offerings(shared: Path, log: Log) -> list[dict]:
    """GCP offerings: the wanted machine families, plus n1-standard hosts with attached GPUs."""
    rows = read_csv(shared / "prices" / "gcp.csv")
    offers, addons = [], []
    for row in rows:
        itype = row["instance_type"]
        if itype.startswith("gpu-addon:"):
            addons.append(row)
            continue
        family = gcp_family(itype)
        if family not in GCP_FAMILIES or not has_price(row, log):
            continue
        accel, count = gcp_gpu(itype, family)
        if accel:
            check_gpu(row, accel, count, log)
        offers.append(offering(row, family, accel, count, SRC_GCP))
    hosts = [o for o in offers if o["_family"] == "n1-standard"]
    return offers + n1_gpu_offerings(hosts, addons, log)


def n1_gpu_offerings(hosts: list[dict], addons: list[dict], log: Log) -> list[dict]:
    """n1-standard-<N>+<K>x<gpu> offerings from per-GPU prices of GPUs that attach to N1."""
    by_region: dict[str, list[dict]] = defaultdict(list)
    for host in hosts:
        by_region[host["region"]].append(host)
    out = []
    for addon in addons:
        api = addon["instance_type"].split(":", 1)[1]
        if api not in N1_GPUS:
            log.note(f"skipped gcp gpu-addon:{api}: it does not attach to N1 hosts")
            continue
        accel, limits = N1_GPUS[api]
        region_hosts = sorted(by_region[addon["region"]], key=lambda h: int(h["vcpus"]))
        for k, limit in sorted(limits.items()):
            fits = [
                h
                for h in region_hosts
                if n1_gpu_host_fits(int(h["vcpus"]), Decimal(h["memory_gib"]), limit)
            ]
            out += [n1_combo(h, addon, api, accel, k) for h in fits]
    return out


def n1_combo(host: dict, addon: dict, api: str, accel: str, k: int) -> dict:
    """One N1 host with k attached GPUs, priced as host + k x GPU (spot only if both have it)."""
    price = Decimal(host["price_usd_hour"]) + k * Decimal(addon["price_usd_hour"])
    spot = ""
    if host["spot_price_usd_hour"] and addon["spot_price_usd_hour"].strip():
        total = Decimal(host["spot_price_usd_hour"]) + k * Decimal(addon["spot_price_usd_hour"])
        spot = dec(str(total))
    return {
        **host,
        "instance_type": f"{host['instance_type']}+{k}x{api}",
        "accelerator": accel,
        "accelerator_count": str(k),
        "price_usd_hour": dec(str(price)),
        "spot_price_usd_hour": spot,
        "source": SRC_GCP_N1_GPU,
        "_family": f"n1-standard+{api}",
    }


# --- Azure ------------------------------------------------------------------------------------


def azure_series(itype: str) -> tuple[str, str, int | None] | None:
    """(series, accelerator, GPU count or None if fractional) of a wanted Azure size, else None."""
    for name, pattern, accel, counts in AZURE_SERIES:
        match = re.fullmatch(pattern, itype)
        if match:
            return name, accel, counts.get(int(match.group(1))) if accel else 0
    return None


def azure_offerings(shared: Path, log: Log) -> list[dict]:
    """Azure offerings: the wanted series, priced, without fractional-GPU sizes."""
    offers = []
    for row in read_csv(shared / "prices" / "azure.csv"):
        found = azure_series(row["instance_type"])
        if found is None:
            continue
        series, accel, count = found
        if count is None:
            log.note(f"dropped azure {row['instance_type']}: fractional GPU size")
            continue
        if not has_price(row, log):
            continue
        if accel:
            check_gpu(row, accel, count, log)
        offers.append(offering(row, series, accel, count, SRC_AZURE))
    return offers


# --- local ------------------------------------------------------------------------------------


def local_offerings() -> list[dict]:
    """The synthetic local cloud: local-b 1.5x local-a; spot in local-a only, at 30%."""
    offers = []
    for (itype, vcpus, memory), base in zip(LOCAL_TYPES, LOCAL_A_PRICES, strict=True):
        for region, factor, spot in (("local-a", "1", "0.3"), ("local-b", "1.5", "")):
            row = {
                "cloud": "local",
                "region": region,
                "instance_type": itype,
                "vcpus": str(vcpus),
                "memory_gib": str(memory),
                "accelerator": "",
                "accelerator_count": "0",
                "price_usd_hour": str(Decimal(base) * Decimal(factor)),
                "spot_price_usd_hour": str(Decimal(base) * Decimal(spot)) if spot else "",
            }
            offers.append(offering(row, "local", "", 0, SRC_LOCAL))
    return offers


# --- regions, egress, checks ------------------------------------------------------------------


def region_rows(shared: Path) -> list[list[str]]:
    """Every region of the reference list plus the two local regions, sorted by cloud, region."""
    rows = [[r[c] for c in REGION_HEADER] for r in read_csv(shared / "regions.csv")]
    return sorted(rows + LOCAL_REGIONS, key=lambda r: (r[0], r[1]))


def egress_rows() -> list[list[str]]:
    """One row per cloud and scope, each cloud with its own source id."""
    rows = []
    for cloud, rates in sorted(EGRESS.items()):
        for scope, rate in zip(EGRESS_SCOPES, rates, strict=True):
            rows.append([cloud, scope, rate, egress_source(cloud)])
    return rows


def egress_source(cloud: str) -> str:
    """The source id of a cloud's egress rates."""
    return "local-egress-synthetic" if cloud == "local" else f"{cloud}-egress-list"


def keep_known_regions(offers: list[dict], regions: list[list[str]], log: Log) -> list[dict]:
    """Drop (and note) offerings whose (cloud, region) is not in regions.csv."""
    known = {(r[0], r[1]) for r in regions}
    kept = []
    for o in offers:
        if (o["cloud"], o["region"]) in known:
            kept.append(o)
        else:
            log.note(f"dropped {o['cloud']} {o['region']} prices: region not in regions.csv")
    return kept


def check_offerings(offers: list[dict]) -> None:
    """Fail on duplicate keys, unknown sources, bad GPU fields or a local-b not dearer."""
    keys = Counter((o["cloud"], o["region"], o["instance_type"]) for o in offers)
    dupes = [k for k, n in keys.items() if n > 1]
    if dupes:
        raise SystemExit(f"build_catalog: duplicate offerings: {dupes[:5]}")
    for o in offers:
        if o["source"] not in SOURCES or bool(o["accelerator"]) != (o["accelerator_count"] != "0"):
            raise SystemExit(f"build_catalog: bad offering {o}")
    local = {
        (o["region"], o["instance_type"]): Decimal(o["price_usd_hour"])
        for o in offers
        if o["cloud"] == "local"
    }
    for region, itype in local:
        if region == "local-a" and not local[(region, itype)] < local[("local-b", itype)]:
            raise SystemExit(f"build_catalog: local-b is not dearer than local-a for {itype}")


# --- metadata and writing ---------------------------------------------------------------------


def all_sources(synthetic_date: str) -> dict[str, dict]:
    """The sources table, with the egress sources and the synthetic date filled in."""
    sources = {k: dict(v) for k, v in SOURCES.items()}
    sources[SRC_LOCAL]["date"] = synthetic_date
    for cloud, origin in EGRESS_ORIGINS.items():
        sources[egress_source(cloud)] = {
            "description": f"{cloud} first-tier list egress rates (USD/GB) per scope",
            "origin": origin,
            "date": EGRESS_DATE,
            "date_note": EGRESS_DATE_NOTE,
            "files": ["egress.md"],
        }
    sources["local-egress-synthetic"] = {
        "description": "synthetic egress rate for the local test cloud",
        "origin": "defined by skyplan",
        "date": synthetic_date,
        "files": [],
    }
    return sources


def metadata(offers: list[dict], regions: list[list[str]]) -> dict:
    """The metadata document: as_of (the date of the oldest instance price: what the planner's
    age warning reads), sources (the synthetic ones dated as the newest), counts, families."""
    used = {o["source"] for o in offers} - {SRC_LOCAL}
    dates = sorted(SOURCES[s]["date"] for s in used)
    families: dict[str, set[str]] = defaultdict(set)
    for o in offers:
        families[o["cloud"]].add(o["_family"])
    clouds = sorted({r[0] for r in regions})
    by_cloud = {
        c: {
            "offerings": sum(o["cloud"] == c for o in offers),
            "regions": sum(r[0] == c for r in regions),
            "regions_with_offerings": len({o["region"] for o in offers if o["cloud"] == c}),
        }
        for c in clouds
    }
    return {
        "schema_version": 1,
        "name": "skyplan embedded catalog",
        "as_of": dates[0],
        "sources": all_sources(dates[-1]),
        "counts": {"offerings": len(offers), "regions": len(regions), "by_cloud": by_cloud},
        "families": {c: sorted(f) for c, f in sorted(families.items())},
    }


def write_csv(path: Path, header: list[str], rows: Iterable[list[str]]) -> None:
    """Write a CSV with '\\n' line endings, byte-identical for identical rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8", newline="")


def write_all(out: Path, offers: list[dict], regions: list[list[str]], meta: dict) -> None:
    """Write offerings.csv, regions.csv, egress.csv and metadata.json into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    write_csv(
        out / "offerings.csv", OFFERING_HEADER, ([o[c] for c in OFFERING_HEADER] for o in offers)
    )
    write_csv(out / "regions.csv", REGION_HEADER, regions)
    write_csv(out / "egress.csv", EGRESS_HEADER, egress_rows())
    text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
    (out / "metadata.json").write_text(text, encoding="utf-8", newline="")


def summary(offers: list[dict], out: Path) -> None:
    """Print offering counts per cloud and family, and the output folder's size, to stdout."""
    per_cloud = Counter(o["cloud"] for o in offers)
    per_family = Counter((o["cloud"], o["_family"]) for o in offers)
    print(f"wrote {out}: {len(offers)} offerings")
    for cloud in sorted(per_cloud):
        fams = ", ".join(f"{f} {n}" for (c, f), n in sorted(per_family.items()) if c == cloud)
        print(f"  {cloud}: {per_cloud[cloud]} ({fams})")
    size = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"  data folder size: {size / 1e6:.2f} MB")


def main(argv: list[str] | None = None) -> int:
    """Build the catalog from --shared into --out."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="reference data")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="catalog folder to write")
    args = parser.parse_args(argv)
    log = Log()
    regions = region_rows(args.shared)
    offers = aws_offerings(args.shared, log) + gcp_offerings(args.shared, log)
    offers += azure_offerings(args.shared, log) + local_offerings()
    offers = keep_known_regions(offers, regions, log)
    offers.sort(key=lambda o: (o["cloud"], o["region"], o["instance_type"]))
    check_offerings(offers)
    write_all(args.out, offers, regions, metadata(offers, regions))
    log.flush()
    summary(offers, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
