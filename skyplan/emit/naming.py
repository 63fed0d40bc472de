"""Stable names: Terraform identifiers, bucket names, instance names, labels and URIs."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable

#: The root URI scheme of each cloud's object storage.
SCHEMES = {"aws": "s3", "gcp": "gs", "azure": "az", "local": "file"}

#: Where the local cloud keeps its buckets, relative to the stack's output folder.
LOCAL_BUCKETS = ".skyplan/buckets"

#: Azure blob container skyplan creates in each region's storage account.
AZURE_CONTAINER = "skyplan"

#: The longest tag value (AWS, Azure) or label value (GCP) each cloud accepts.
TAG_VALUE_MAX = {"aws": 256, "azure": 256, "gcp": 63}
#: What joins data set names in a `skyplan-dataset` value (GCP label values take no `+`).
TAG_SEP = {"aws": "+", "azure": "+", "gcp": "_"}


def short_hash(*parts: str, length: int = 8) -> str:
    """A stable hex digest of `parts`, for names that must be unique and short."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:length]


def tf_id(name: str) -> str:
    """A snake_case Terraform identifier for a region or job name."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return ident if re.match(r"[A-Za-z_]", ident) else f"_{ident}"


def unique(names: tuple[str, ...], stem: Callable[[str], str], sep: str = "_") -> dict[str, str]:
    """`stem(name)` for each name, with a hash of the name appended where two stems would be
    equal ignoring case (they also name files, and some file systems ignore case)."""
    first = {n: stem(n) for n in names}
    counts = Counter(s.lower() for s in first.values())
    return {
        n: s if counts[s.lower()] == 1 else stem(f"{n}{sep}{short_hash(n, length=6)}")
        for n, s in first.items()
    }


def tf_ids(names: tuple[str, ...]) -> dict[str, str]:
    """Terraform identifiers for job names, unique within a module."""
    return unique(names, tf_id)


def bucket_name(prefix: str, stack: str, cloud: str, region: str) -> str:
    """The name of skyplan's bucket (S3, GCS) or storage account (Azure) for one region."""
    if cloud == "azure":  # 3-24 lower-case letters and digits, globally unique
        stem = re.sub(r"[^a-z0-9]", "", prefix + stack)[:14]
        return stem + short_hash(prefix, stack, cloud, region, length=24 - len(stem))
    if cloud == "local":
        return region
    name = f"{prefix}-{stack}-{region}"
    if len(name) <= 63:
        return name
    return f"{name[:54].rstrip('-')}-{short_hash(prefix, stack, cloud, region)}"


def bucket_uri(cloud: str, bucket: str) -> str:
    """The root URI of a bucket, with a trailing slash."""
    if cloud == "azure":
        return f"az://{bucket}/{AZURE_CONTAINER}/"
    if cloud == "local":
        return f"file://{LOCAL_BUCKETS}/{bucket}/"
    return f"{SCHEMES[cloud]}://{bucket}/"


def instance_name(job: str, stack: str, cloud: str, region: str) -> str:
    """SPEC section 4: `<job>.<stack>.<cloud>.<region>`."""
    return f"{job}.{stack}.{cloud}.{region}"


def host_name(job: str, stack: str, node: int | None = None) -> str:
    """A host name valid on every cloud (lower-case, '-', at most 63 characters)."""
    base = re.sub(r"[^a-z0-9-]", "-", f"{stack}-{job}".lower()).strip("-")
    if len(base) > 56:
        base = f"{base[:47].rstrip('-')}-{short_hash(stack, job, length=8)}"
    return base if node is None else f"{base}-{node}"


def label(value: str) -> str:
    """A GCP label value's characters: lower-case letters, digits, '_' and '-' (the caller keeps
    it within 63 characters: job names are, `dataset_tag` summarises)."""
    return re.sub(r"[^a-z0-9_-]", "_", value.lower())


def dataset_tag(cloud: str, datasets: Iterable[str]) -> str:
    """The `skyplan-dataset` tag (a label on GCP) of a resource holding `datasets`, within the
    cloud's limit, so bills stay attributable however many data sets a bucket holds: the sorted
    names joined with `+` (`_` on GCP, lower-cased as labels must be) while that fits, else
    `<n>-datasets-<digest>`, a digest of the sorted names, stable from plan to plan, that
    manifest.json and the module's `dataset_tags` output map back to the names. '' when there
    are none or the cloud takes no tags (local)."""
    names = sorted(set(datasets))
    if not names or cloud not in TAG_VALUE_MAX:
        return ""
    joined = TAG_SEP[cloud].join(names)
    if cloud == "gcp":
        joined = label(joined)
    if len(joined) <= TAG_VALUE_MAX[cloud]:
        return joined
    return f"{len(names)}-datasets-{short_hash(*names)}"


def with_slash(uri: str) -> str:
    """A prefix URI ends with '/': data sets are folders of objects."""
    return uri if uri.endswith("/") else uri + "/"
