"""Azure: a private VNet, a storage account and per-job identities and Linux VMs in each region."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from skyplan.emit.base import (
    CloudInput,
    RenderedFile,
    bucket_tag,
    job_record,
    module_files,
    region_record,
    register,
    script_files,
)
from skyplan.emit.layout import COPIES, Bucket, JobLayout
from skyplan.emit.naming import AZURE_CONTAINER, tf_id
from skyplan.emit.tools import azure_https, by_store

UBUNTU = "24.04"
IMAGE_PUBLISHER, IMAGE_OFFER = "Canonical", "ubuntu-24_04-lts"
#: Ubuntu image SKU by image kind: Gen2 x64 (Trusted Launch capable), Gen1 x64, Arm64.
IMAGE_SKUS = {"x64": "server", "x64_gen1": "server-gen1", "arm64": "server-arm64"}
BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"
#: The AzCopy release nodes install by default (var.azcopy_version); its checksum is the user's.
AZCOPY_VERSION = "10.31.1"
SOFT_DELETE_DAYS = 7  # deleted blobs and containers stay recoverable this long
OS_DISK_MAX_GB = 4095  # the largest managed OS disk Azure creates
OS_DISK_GB = 64  # the OS disk beside a data disk
DATA_DISK_MAX_GB = 32_767  # the largest managed data disk (Premium SSD, Standard SSD)
#: Where Ubuntu on Azure shows the data disk at LUN 0 (azure-vm-utils, then walinuxagent rules).
DATA_DISK_DEVICES = ("/dev/disk/azure/data/by-lun/0", "/dev/disk/azure/scsi1/lun0")

#: The feature letters of a size name: Standard_D4pds_v5 -> "pds", Standard_E4-2ds_v5 -> "ds".
_SIZE = re.compile(r"^Standard_[A-Z]+\d+(?:-\d+)?(?P<features>[a-z]*)(?:_|$)")


@dataclass(frozen=True)
class NoTrustedLaunch:
    """A family of sizes Trusted Launch (Secure Boot + vTPM) does not support."""

    pattern: re.Pattern[str]
    gen1: bool  # the family boots Generation 1 images only
    why: str


#: Sizes without Trusted Launch, after learn.microsoft.com/azure/virtual-machines/trusted-launch
#: ("Virtual machines sizes"); every other size gets Secure Boot and a vTPM.
NO_TRUSTED_LAUNCH = (
    NoTrustedLaunch(
        re.compile(r"^Standard_ND\d+a(?:m)?sr(?:_A100)?_v4$"),
        False,
        "NDasrA100_v4 and NDm_A100_v4 sizes do not support Trusted Launch yet",
    ),
    NoTrustedLaunch(
        re.compile(r"^Standard_[DE]\d+(?:-\d+)?p[a-z]*_v5$"),
        False,
        "Arm64 v5 sizes (Dpsv5, Dpdsv5, Dplsv5, Dpldsv5, Epsv5, Epdsv5) do not support Trusted "
        "Launch yet",
    ),
    NoTrustedLaunch(
        re.compile(r"^Standard_M\d"), False, "M-family sizes do not support Trusted Launch yet"
    ),
    NoTrustedLaunch(
        re.compile(r"^Standard_(?:N[CV]\d+r?|NP\d+s)(?:_Promo)?$"),
        True,
        "NC, NV and NP (v1) sizes boot Generation 1 images only",
    ),
    NoTrustedLaunch(
        re.compile(r"^Standard_(?:A\d+m?_v2|D\d+_v[23])(?:_Promo)?$"),
        True,
        "Av2, Dv2 and Dv3 sizes boot Generation 1 images only",
    ),
)


def size_features(size: str) -> str:
    """The lower-case feature letters of an Azure size name ('' when it has none)."""
    m = _SIZE.match(size)
    return m.group("features") if m else ""


def no_trusted_launch(size: str) -> NoTrustedLaunch | None:
    """Why `size` cannot use Trusted Launch, or None when it can."""
    return next((f for f in NO_TRUSTED_LAUNCH if f.pattern.match(size)), None)


def security_note(size: str, gpu: bool) -> str:
    """The comment above a VM's Secure Boot and vTPM settings: why they are on or off."""
    family = no_trusted_launch(size)
    if family is not None:
        return f"No Trusted Launch: {family.why}."
    if gpu:
        return "Trusted Launch: ubuntu-drivers installs Canonical-signed NVIDIA modules."
    return "Trusted Launch: Secure Boot and a vTPM."


def image_kind(size: str) -> str:
    """`arm64` for Arm sizes ('p' feature), `x64_gen1` for Gen1-only sizes, else `x64`."""
    if "p" in size_features(size):
        return "arm64"
    family = no_trusted_launch(size)
    return "x64_gen1" if family and family.gen1 else "x64"


def azcopy_arch(size: str) -> str:
    """The architecture in the name of the AzCopy release a node of `size` installs."""
    return "arm64" if image_kind(size) == "arm64" else "amd64"


def os_disk_type(size: str) -> str:
    """Premium SSD where the size supports premium storage ('s' feature), else Standard SSD."""
    return "Premium_LRS" if "s" in size_features(size) else "StandardSSD_LRS"


def _account(uri: str) -> tuple[str, str]:
    account, _, rest = uri[len("az://") :].partition("/")
    return account, rest.partition("/")[0]


def data_access(j: JobLayout, buckets: tuple[Bucket, ...]) -> tuple[list[str], list[str]]:
    """The regions of the other skyplan containers the job reads (it gets Storage Blob Data
    Reader on them) and the external containers it reads (their owners must grant access)."""
    by_account = {b.name: b for b in buckets}
    reads: set[str] = set()
    external: set[str] = set()
    for i in j.inputs:
        if not (i.uri and i.uri.startswith("az://")):
            continue
        account, container = _account(i.uri)
        bucket = by_account.get(account)
        if bucket is None or container != AZURE_CONTAINER:
            external.add(azure_https(f"az://{account}/{container}"))
        elif bucket != j.bucket:
            reads.add(bucket.region)
    return sorted(reads), sorted(external)


#: The blob data actions a job's role allows (`blob_condition` limits each to the job's
#: prefixes). Deleting a blob is among them, under the job's write prefixes only: a single node
#: mirrors its outputs (`azcopy sync --delete-destination=true`), and one that resumes with a
#: changed file set deletes what it no longer has. Deleting a blob version
#: (`deleteBlobVersion/action`), or for good (`permanentDelete/action`), or the container is
#: not: with versioning on, a deleted blob stays recoverable as a previous version.
JOB_DATA_ACTIONS = tuple(f"{BLOBS}/{a}" for a in ("add/action", "delete", "read", "write"))


def blob_condition(reads: tuple[str, ...], writes: tuple[str, ...] | None) -> list[str]:
    """The clauses (joined with AND) of an Azure ABAC condition (version 2.0) on a blob data
    role assigned at container scope: read a blob only under `reads`, list only those prefixes,
    and create, write or delete a blob only under `writes` (None for a role without those
    actions, Storage Blob Data Reader; empty: none). A prefix is a blob path
    inside the container (`outputs/clean/`). azcopy reads the properties of `outputs/clean/`
    and then of `outputs/clean` (the prefix without its slash) before it lists, taking a 404
    for "a folder" and stopping at a 403, so reading that exact path is allowed too."""

    def starts(attribute: str, prefixes: tuple[str, ...]) -> str:
        # quoted as they are: data set and job names, all a prefix holds, take no quotes
        return " OR ".join(f"{attribute} StringStartsWith '{p}'" for p in prefixes)

    def under(prefixes: tuple[str, ...]) -> str:
        bare = [p.rstrip("/") for p in prefixes if p.rstrip("/")]
        return " OR ".join([starts(path, prefixes), *(f"{path} StringEquals '{b}'" for b in bare)])

    path, listed = f"@Resource[{BLOBS}:path]", f"@Request[{BLOBS}:prefix]"
    read = f"ActionMatches{{'{BLOBS}/read'}}"
    clauses = [
        f"((!({read} AND NOT SubOperationMatches{{'Blob.List'}})) OR ({under(reads)}))",
        f"((!({read} AND SubOperationMatches{{'Blob.List'}})) OR ({starts(listed, reads)}))",
    ]
    if writes is not None:
        written = " AND ".join(
            f"!(ActionMatches{{'{a}'}})" for a in JOB_DATA_ACTIONS if a != f"{BLOBS}/read"
        )
        clauses.append(f"(({written}) OR ({starts(path, writes)}))" if writes else f"({written})")
    return clauses


def _dataset_tags(datasets: str) -> dict[str, str]:
    return {"skyplan-dataset": datasets} if datasets else {}


def _job(given: CloudInput, j: JobLayout, ident: str, host: str) -> dict[str, Any]:
    size = j.placement.instance_type
    family = no_trusted_launch(size)
    reads, external = data_access(j, given.buckets)
    containers = {b.region: f"{b.name}/{AZURE_CONTAINER}" for b in given.buckets}
    read_in, write_in = by_store(j.reads(), "az"), by_store(j.writes(), "az")
    own = containers[j.placement.region]
    writes = write_in.get(own, ())
    own_reads = tuple(sorted(set(read_in.get(own, ())) | set(writes)))
    record = job_record(given, j, ident, disk_max=DATA_DISK_MAX_GB)
    job_tags = {"skyplan-job": j.job.name}
    data_disk = record["disk_gb"] > OS_DISK_MAX_GB
    return record | {
        # above the OS disk's limit, the node's working storage is a data disk of its own
        "data_disk_gb": record["disk_gb"] if data_disk else None,
        "disk_gb": OS_DISK_GB if data_disk else record["disk_gb"],
        "host": host,
        "job_tags": job_tags,
        "node_tags": job_tags | _dataset_tags(record["datasets"]),
        "image": f"{tf_id(j.placement.region)}_{image_kind(size)}",
        "azcopy_arch": azcopy_arch(size),
        "trusted_launch": family is None,
        "security_note": security_note(size, j.job.accelerator is not None),
        "disk_type": os_disk_type(size),
        "data_condition": blob_condition(own_reads, writes),
        "reads": [
            {"id": tf_id(r), "name": r, "condition": blob_condition(read_in[containers[r]], None)}
            for r in reads
        ],
        "external": external,
    }


def _region(given: CloudInput, b: Bucket, kinds: set[str]) -> dict[str, Any]:
    return region_record(
        b,
        group=f"skyplan-{given.spec.name}-{b.region}",
        label=f"skyplan-{given.spec.name}",
        tags=_dataset_tags(bucket_tag(given, b)),
        images=[{"id": f"{tf_id(b.region)}_{k}", "sku": IMAGE_SKUS[k]} for k in sorted(kinds)],
    )


@register("azure")
class AzureEmitter:
    """Linux VMs on a private VNet per region; blob storage for data; one identity per job."""

    cloud = "azure"

    def files(self, given: CloudInput) -> tuple[RenderedFile, ...]:
        """versions.tf, main.tf, variables.tf, outputs.tf and the startup scripts."""
        ids, hosts = given.job_ids(), given.host_names()
        jobs = [_job(given, j, ids[j.job.name], hosts[j.job.name]) for j in given.jobs]
        kinds: dict[str, set[str]] = {}
        for j in given.jobs:
            kinds.setdefault(j.placement.region, set()).add(image_kind(j.placement.instance_type))
        variables = {
            "regions": [_region(given, b, kinds.get(b.region, set())) for b in given.buckets],
            "jobs": jobs,
            "job_data_actions": list(JOB_DATA_ACTIONS),
            "azcopy_version": AZCOPY_VERSION,
            "azcopy_arches": sorted({j["azcopy_arch"] for j in jobs}),
            "container": AZURE_CONTAINER,
            "copies_prefix": f"{AZURE_CONTAINER}/{COPIES}/",
            "container_prefix": f"{AZURE_CONTAINER}/",
            "soft_delete_days": SOFT_DELETE_DAYS,
            "image_publisher": IMAGE_PUBLISHER,
            "image_offer": IMAGE_OFFER,
            "ubuntu": UBUNTU,
        }
        disks = {j["name"]: DATA_DISK_DEVICES for j in jobs if j["data_disk_gb"]}
        return module_files(given, variables, ("azure",), script_files(given, disks))
