"""The instance families a refreshed catalog keeps: the embedded catalog's, so the two compare."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

# --- AWS -------------------------------------------------------------------------------------

AWS_MAIN = frozenset({"m6i", "m7i", "c6i", "c7i", "r6i", "r7i"})
# m5/c5/r5 are kept only in a region that has neither newer generation of the same kind.
AWS_FALLBACK = {"m5": ("m6i", "m7i"), "c5": ("c6i", "c7i"), "r5": ("r6i", "r7i")}
AWS_GPU_FAMILIES = frozenset({"g4dn", "g5", "g6", "gr6", "g6e", "p3", "p4d", "p4de", "p5"})
AWS_FAMILIES = AWS_MAIN | frozenset(AWS_FALLBACK) | AWS_GPU_FAMILIES
# EC2 filters take wildcards: one pattern per family ("m6i.*") keeps the listings short.
AWS_TYPE_PATTERNS = tuple(sorted(f"{f}.*" for f in AWS_FAMILIES))


def aws_family(instance_type: str) -> str | None:
    """The shipped family of an EC2 type ('m6i.large' -> 'm6i'), None for others and metal."""
    family, _, size = instance_type.partition(".")
    if family not in AWS_FAMILIES or not size or size.startswith("metal"):
        return None
    return family


def aws_gpu_name(name: str, memory_mib: int) -> str:
    """EC2's GPU name in the catalog's spelling: an 80 GB A100 is 'A100-80GB'."""
    name = name.strip().upper()
    if name == "A100" and memory_mib >= 80 * 1024:
        return "A100-80GB"
    return name


# The quota each on-demand vCPU class is counted against, and the fewest vCPUs per GPU of the
# shipped sizes of each GPU (g4dn.xlarge: 4 vCPUs for one T4): the most GPUs a quota can admit.
AWS_QUOTA_STANDARD = "L-1216C47A"  # Running On-Demand Standard (A, C, D, H, I, M, R, T, Z)
AWS_QUOTA_G = "L-DB2E81BA"  # Running On-Demand G and VT instances
AWS_QUOTA_P = "L-417A185B"  # Running On-Demand P instances
AWS_QUOTA_NAMES = {
    AWS_QUOTA_STANDARD: "Running On-Demand Standard instances (vCPUs)",
    AWS_QUOTA_G: "Running On-Demand G and VT instances (vCPUs)",
    AWS_QUOTA_P: "Running On-Demand P instances (vCPUs)",
}
AWS_GPU_QUOTAS: dict[str, tuple[str, int]] = {
    "T4": (AWS_QUOTA_G, 4),
    "A10G": (AWS_QUOTA_G, 4),
    "L4": (AWS_QUOTA_G, 4),  # g6.xlarge
    "L40S": (AWS_QUOTA_G, 4),  # g6e.xlarge
    "V100": (AWS_QUOTA_P, 8),
    "A100": (AWS_QUOTA_P, 12),
    "A100-80GB": (AWS_QUOTA_P, 12),
    "H100": (AWS_QUOTA_P, 16),
}

# --- GCP -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GcpShape:
    """A predefined machine type: its series, vCPUs, memory and bundled GPUs."""

    name: str
    series: str
    vcpus: int
    memory_gib: Decimal
    accelerator: str = ""
    accelerator_count: int = 0


def _sizes(family: str, per_cpu: str, cpus: tuple[int, ...]) -> list[GcpShape]:
    series = family.split("-", 1)[0]
    return [GcpShape(f"{family}-{n}", series, n, Decimal(per_cpu) * n) for n in cpus]


# Shapes from cloud.google.com/compute/docs/machine-resource (the billing API prices vCPUs and
# GiB, never machine types): the families the embedded catalog ships.
GCP_SHAPES: tuple[GcpShape, ...] = tuple(
    _sizes("e2-standard", "4", (2, 4, 8, 16, 32))
    + _sizes("n2-standard", "4", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128))
    + _sizes("n2-highmem", "8", (2, 4, 8, 16, 32, 48, 64, 80, 96))
    + _sizes("n2d-standard", "4", (2, 4, 8, 16, 32, 48, 64, 80, 96, 128, 224))
    + _sizes("c2-standard", "4", (4, 8, 16, 30, 60))
    + _sizes("c3-standard", "4", (4, 8, 22, 44, 88, 176))
    + _sizes("n1-standard", "3.75", (1, 2, 4, 8, 16, 32, 64, 96))
    + [
        GcpShape(f"g2-standard-{n}", "g2", n, Decimal(4 * n), "L4", k)
        for n, k in ((4, 1), (8, 1), (12, 1), (16, 1), (24, 2), (32, 1), (48, 4), (96, 8))
    ]
    + [GcpShape(f"a2-highgpu-{k}g", "a2", 12 * k, Decimal(85 * k), "A100", k) for k in (1, 2, 4, 8)]
    + [
        GcpShape(f"a2-ultragpu-{k}g", "a2", 12 * k, Decimal(170 * k), "A100-80GB", k)
        for k in (1, 2, 4, 8)
    ]
    + [GcpShape("a3-highgpu-8g", "a3", 208, Decimal(1872), "H100", 8)]
)

# Billing SKU description of each series' per-vCPU and per-GiB SKUs ("N2 Instance Core running
# in Frankfurt"), as SkyPilot's fetcher matches them.
GCP_SERIES_DESCRIPTION = {
    "e2": "E2 Instance",
    "n2": "N2 Instance",
    "n2d": "N2D AMD Instance",
    "c2": "Compute optimized",
    "c3": "C3 Instance",
    "n1": "N1 Predefined Instance",
    "g2": "G2 Instance",
    "a2": "A2 Instance",
    "a3": "A3 Instance",
}
# Billing SKU description of each GPU's per-GPU-hour SKU ("Nvidia Tesla T4 GPU running in ...").
GCP_GPU_DESCRIPTION = {
    "T4": "T4 GPU",
    "V100": "V100 GPU",
    "L4": "L4 GPU",
    "A100": "A100 GPU",
    "A100-80GB": "A100 80GB GPU",
    "H100": "H100 80GB GPU",
}
# SKUs for other purchase models that share a series' description.
GCP_SKIP_WORDS = ("custom", "premium", "reserved", "sole tenancy", "commitment", "dws", "duration")
# GPUs that attach to N1 hosts: API name, catalog name, {count: (max vCPUs, max memory GiB)}
# (cloud.google.com/compute/docs/gpus). scripts/build_catalog.py builds the embedded catalog's
# n1-standard-<N>+<K>x<gpu> offerings from these too, so a refresh and the embedded catalog offer
# the same ones and `catalog diff` compares their prices.
GCP_N1_GPUS: tuple[tuple[str, str, dict[int, tuple[int, int]]], ...] = (
    ("nvidia-tesla-t4", "T4", {1: (48, 312), 2: (48, 312), 4: (96, 624)}),
    ("nvidia-tesla-v100", "V100", {1: (12, 78), 2: (24, 156), 4: (48, 312), 8: (96, 624)}),
)
# The n1-standard hosts offered with attached GPUs, where they fit the count's limits.
GCP_N1_GPU_HOST_VCPUS = (4, 8, 16)


def n1_gpu_host_fits(vcpus: int, memory_gib: Decimal, limit: tuple[int, int]) -> bool:
    """True for an n1-standard host offered with GPUs under `limit` (max vCPUs, max GiB)."""
    return vcpus in GCP_N1_GPU_HOST_VCPUS and vcpus <= limit[0] and memory_gib <= limit[1]


# --- Azure -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AzureSeries:
    """A VM series: size-name pattern, GPU, GPUs per size (by vCPUs) and its quota family."""

    name: str
    pattern: str
    accelerator: str
    gpus: dict[int, int]
    quota_family: str

    def gpu_count(self, size: str) -> int | None:
        """GPUs of a size of this series; None for a fractional-GPU size (dropped)."""
        if not self.accelerator:
            return 0
        m = re.fullmatch(self.pattern, size)
        return self.gpus.get(int(m.group(1))) if m else None

    @property
    def vcpus_per_gpu(self) -> int:
        """The fewest vCPUs per whole GPU among the series' sizes."""
        return min(cpus // count for cpus, count in self.gpus.items())


AZURE_SERIES: tuple[AzureSeries, ...] = (
    AzureSeries("Dsv5", r"Standard_D(\d+)s_v5", "", {}, "standardDSv5Family"),
    AzureSeries("Dasv5", r"Standard_D(\d+)as_v5", "", {}, "standardDASv5Family"),
    AzureSeries("Esv5", r"Standard_E(\d+)s_v5", "", {}, "standardESv5Family"),
    AzureSeries("Fsv2", r"Standard_F(\d+)s_v2", "", {}, "standardFSv2Family"),
    AzureSeries(
        "NCasT4_v3",
        r"Standard_NC(\d+)as_T4_v3",
        "T4",
        {4: 1, 8: 1, 16: 1, 64: 4},
        "standardNCASv3_T4Family",
    ),
    AzureSeries(
        "NVadsA10_v5",
        r"Standard_NV(\d+)adm?s_A10_v5",
        "A10",
        {36: 1, 72: 2},
        "standardNVADSA10v5Family",
    ),
    AzureSeries(
        "NCv3", r"Standard_NC(\d+)r?s_v3", "V100", {6: 1, 12: 2, 24: 4}, "standardNCSv3Family"
    ),
    AzureSeries(
        "NDasrA100_v4", r"Standard_ND(\d+)asr_v4", "A100", {96: 8}, "standardNDASv4_A100Family"
    ),
    AzureSeries(
        "NC_A100_v4",
        r"Standard_NC(\d+)ads_A100_v4",
        "A100-80GB",
        {24: 1, 48: 2, 96: 4},
        "standardNCADSA100v4Family",
    ),
    AzureSeries(
        "NDm_A100_v4",
        r"Standard_ND(\d+)amsr_A100_v4",
        "A100-80GB",
        {96: 8},
        "standardNDAMSv4_A100Family",
    ),
    AzureSeries(
        "NCads_H100_v5",
        r"Standard_NC(\d+)adi?s_H100_v5",
        "H100",
        {40: 1, 80: 2},
        "standardNCadsH100v5Family",
    ),
    AzureSeries(
        "NDisr_H100_v5", r"Standard_ND(\d+)isr_H100_v5", "H100", {96: 8}, "standardNDSH100v5Family"
    ),
)


def azure_series(size: str) -> AzureSeries | None:
    """The shipped series of an Azure VM size ('Standard_D2s_v5' -> Dsv5), else None."""
    return next((s for s in AZURE_SERIES if re.fullmatch(s.pattern, size)), None)
