"""Frozen values a refresh produces per cloud and region, and the errors it raises."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata

from skyplan.errors import InputError

CLOUDS = ("aws", "gcp", "azure")
CLOUD_NAMES = {"aws": "AWS", "gcp": "GCP", "azure": "Azure"}

# (cloud, region or "" for the cloud as a whole, message): the CLI prints these as they come.
Progress = Callable[[str, str, str], None]


def no_progress(cloud: str, region: str, message: str) -> None:
    """A progress sink that drops everything (the default outside the CLI)."""


@dataclass(frozen=True)
class PricedOffering:
    """One instance type in one region with its shape and hourly prices (USD)."""

    cloud: str
    region: str
    instance_type: str
    vcpus: int
    memory_gib: Decimal
    accelerator: str
    accelerator_count: int
    price: Decimal
    spot_price: Decimal | None
    family: str


@dataclass(frozen=True)
class RegionResult:
    """What one region gave: its offerings, or why it has none (failed or skipped)."""

    cloud: str
    region: str
    offerings: tuple[PricedOffering, ...] = ()
    error: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        """True when the region was fetched and priced (see `fetched_region`)."""
        return self.error is None and self.skipped is None


NO_PRICES = "no prices for the shipped instance families"


def fetched_region(
    cloud: str, region: str, offers: Iterable[PricedOffering], progress: Progress
) -> RegionResult:
    """A fetched region's result, reported: its offerings, or a failure when it has none.

    The one rule for every cloud: an empty answer never replaces a region's rows. A price API
    that returns nothing for a region (a new region, an outage, a filter that stopped matching)
    would otherwise delete its old prices; the region counts as failed and keeps them.
    """
    offers = tuple(offers)
    if not offers:
        progress(cloud, region, f"failed: {NO_PRICES}")
        return RegionResult(cloud, region, error=NO_PRICES)
    spot = sum(o.spot_price is not None for o in offers)
    progress(cloud, region, f"{len(offers)} offerings ({spot} with spot)")
    return RegionResult(cloud, region, offers)


@dataclass(frozen=True)
class EgressFinding:
    """One egress scope's USD/GB rate found in a cloud's price API, and how it was chosen."""

    scope: str
    usd_per_gb: Decimal
    detail: str


@dataclass(frozen=True)
class CloudResult:
    """Everything a refresh of one cloud found, with the API and SDK versions it used."""

    cloud: str
    source_id: str
    api: str
    sdk: tuple[tuple[str, str], ...]
    regions: tuple[RegionResult, ...]
    egress: tuple[EgressFinding, ...] = ()
    egress_api: str = ""
    notes: tuple[str, ...] = ()

    @property
    def succeeded(self) -> tuple[RegionResult, ...]:
        """The regions that were fetched."""
        return tuple(r for r in self.regions if r.ok)


def sdk_versions(*packages: str) -> tuple[tuple[str, str], ...]:
    """(package, installed version) for each package that is installed."""
    out = []
    for name in packages:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            continue
    return tuple(out)


def median_rate(values: Iterable[Decimal]) -> Decimal | None:
    """The middle rate of a list (the lower middle for an even count): a real list price."""
    ordered = sorted(values)
    return ordered[(len(ordered) - 1) // 2] if ordered else None


def rate_detail(values: list[Decimal], what: str) -> str:
    """How a median rate was chosen, for metadata.json."""
    low, high = min(values), max(values)
    spread = f"{low:f}" if low == high else f"{low:f} to {high:f}"
    return f"median of {len(values)} {what} (range {spread} USD/GB)"


CREDENTIAL_HINTS = {
    "aws": "run `aws configure` (or `aws sso login`), or set AWS_PROFILE to a profile with "
    "credentials; the refresh needs pricing:GetProducts and ec2:Describe* "
    "(quotas: servicequotas:GetServiceQuota; ec2:DescribeRegions to skip regions not enabled)",
    "gcp": "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS "
    "to a service account key file; enable the Cloud Billing API (cloudbilling.googleapis.com) "
    "in the project (quotas: the Compute Engine API and GOOGLE_CLOUD_PROJECT)",
    "azure": "run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET; "
    "and set AZURE_SUBSCRIPTION_ID (`az account show --query id -o tsv`)",
}
SDK_EXTRAS = {
    "aws": ("boto3", "aws"),
    "gcp": ("google-cloud-billing", "gcp"),
    "azure": ("azure-mgmt-compute and azure-identity", "azure"),
}


class CredentialError(InputError):
    """A cloud's credential chain found nothing usable, or the cloud refused them (exit 2)."""

    def __init__(self, cloud: str, detail: object, *, denied: bool = False):
        name = CLOUD_NAMES[cloud]
        what = f"{name} refused access" if denied else f"no usable {name} credentials"
        super().__init__(f"{what}: {first_line(detail)}", hint=CREDENTIAL_HINTS[cloud])
        self.cloud = cloud


def missing_sdk(cloud: str) -> InputError:
    """The error for a cloud whose SDK is not installed."""
    package, extra = SDK_EXTRAS[cloud]
    return InputError(
        f"refreshing {cloud} needs {package}, which is not installed",
        hint=f"pip install 'skyplan[{extra}]'",
    )


def first_line(detail: object) -> str:
    """An SDK's message without the request ids, traces and links that follow it."""
    text = str(detail).strip()
    return (text.splitlines() or [type(detail).__name__])[0][:300]


def region_error(exc: BaseException) -> str:
    """A one-line reason for a region that failed."""
    code = getattr(exc, "response", None)
    if isinstance(code, dict):
        err = code.get("Error", {})
        if err.get("Code"):
            return f"{err['Code']}: {first_line(err.get('Message', ''))}"
    return f"{type(exc).__name__}: {first_line(exc)}"
