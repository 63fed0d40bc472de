"""The table behind classify.py: which messages of which cloud mean capacity, quota, transient or
permanent, and the patterns that find the instance type, zone, region and cloud they name."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Kind = Literal["capacity", "quota", "transient", "permanent"]
Scope = Literal["offering", "region", "cloud"]


@dataclass(frozen=True)
class _Rule:
    clouds: tuple[str, ...]  # empty: every cloud
    kind: Kind
    pattern: re.Pattern[str]
    code: str | None = None  # None: the pattern's `code` group
    scope: Scope | None = None  # None: from the kind


def _rule(clouds: str, kind: Kind, pattern: str, code: str | None = None, **kw: Scope) -> _Rule:
    return _Rule(tuple(clouds.split()), kind, re.compile(pattern), code, kw.get("scope"))


_AWS, _GCP, _AZURE = "aws local", "gcp", "azure"
#: Bucket and storage account names are global across all accounts: someone else has this one.
BUCKET_NAME_TAKEN = "BucketNameTaken"
#: What to do about a permanent failure, by code (the CLI shows it as the "To fix" line).
HINTS = {
    BUCKET_NAME_TAKEN: "bucket (and Azure storage account) names are global across all "
    "accounts, and skyplan derives them from bucket_prefix, the stack name and the region: set "
    "`bucket_prefix:` in sky.yaml to a value of your organisation's own and plan again "
    '(docs/terraform.md, "Bucket names")',
}
# First match wins, so specific codes come before the generic 5xx and network rules (AWS
# reports InsufficientInstanceCapacity with status 500) and wrappers come last. Matching runs
# on whitespace-collapsed text, so `(?=.*X)` is "X anywhere".
# fmt: off
RULES = (
    _rule("", "permanent", r"\bBucketAlreadyExists\b|requested bucket name is not available"
          r"|\bStorageAccountAlreadyTaken\b|storage account named \S+ is already taken",
          BUCKET_NAME_TAKEN),
    # another Terraform (an apply that is still finishing) holds the state: wait and retry
    _rule("", "transient", r"Error acquiring the state lock", "StateLocked"),
    _rule(_AWS, "capacity", r"\b(?P<code>InsufficientInstanceCapacity|InsufficientHostCapacity"
          r"|InsufficientReservedInstanceCapacity|InsufficientCapacity|SpotMaxPriceTooLow"
          r"|capacity-not-available)\b"),
    _rule(_AWS, "capacity", r"\bUnsupported: |Your requested instance type \(\S+\) is not "
          r"supported|The requested configuration is currently not supported", "Unsupported"),
    # AuthFailure is a region not enabled only when it says so; bad credentials are permanent
    _rule(_AWS, "permanent", r"\b(?P<code>AuthFailure)\b(?!.*(?:opt-in|not enabled|OptIn))"),
    _rule(_AWS, "quota", r"\b(?P<code>VcpuLimitExceeded|InstanceLimitExceeded"
          r"|MaxSpotInstanceCountExceeded|OptInRequired|AuthFailure)\b"),
    _rule(_AWS, "permanent", r"\b(?P<code>UnauthorizedOperation|InvalidParameterValue"
          r"|InvalidAMIID\.\w+|InvalidSubnetID\.NotFound)\b"),
    _rule(_GCP, "capacity", r"\b(?P<code>ZONE_RESOURCE_POOL_EXHAUSTED(?:_WITH_DETAILS)?"
          r"|REGION_RESOURCE_POOL_EXHAUSTED|insufficientCapacity|UNSUPPORTED_OPERATION"
          r"|RESOURCE_NOT_READY|RESOURCE_OPERATION_RATE_EXCEEDED)\b"),
    _rule(_GCP, "capacity", r"The region '[^']*' does not have enough resources",
          "REGION_RESOURCE_POOL_EXHAUSTED"),
    _rule(_GCP, "capacity", r"does not have enough resources available to fulfill the request"
          r"|is currently unavailable in the \S+ zone", "ZONE_RESOURCE_POOL_EXHAUSTED"),
    _rule(_GCP, "capacity", r"There is no more capacity in the zone", "RESOURCE_EXHAUSTED"),
    _rule(_GCP, "capacity", r"Operation rate exceeded for resource",
          "RESOURCE_OPERATION_RATE_EXCEEDED"),
    _rule(_GCP, "capacity", r"The resource '[^']*' is not ready", "RESOURCE_NOT_READY"),
    _rule(_GCP, "capacity", r"/(?:acceleratorTypes|machineTypes)/[^']*' was not found",
          "RESOURCE_NOT_FOUND"),
    # the table: permanent, but it is the zone that is unusable: block it (its region) for good
    _rule(_GCP, "permanent", r"Location \S+ is not found or access is unauthorized",
          "LOCATION_NOT_FOUND", scope="region"),
    _rule(_GCP, "transient", r"\b(?:rateLimitExceeded|userRateLimitExceeded)\b|Quota exceeded "
          r"for quota (?:metric|group)|Rate Limit Exceeded", "rateLimitExceeded"),
    _rule(_GCP, "quota", r"Quota '[\w-]+' exceeded|\bQUOTA_EXCEEDED\b|\bquotaExceeded\b",
          "QUOTA_EXCEEDED"),
    _rule(_GCP, "permanent", r"\b(?P<code>VPC_NOT_FOUND|SUBNET_NOT_FOUND_FOR_VPC"
          r"|IAM_PERMISSION_DENIED|INVALID_FIELD_VALUE)\b"),
    _rule(_GCP, "permanent", r"Required '[\w.]+' permission", "IAM_PERMISSION_DENIED"),
    _rule(_GCP, "permanent", r"Requested disk size cannot be smaller than the image size"
          r"|Invalid value for field", "INVALID_FIELD_VALUE"),
    # subscription-wide: no region of the subscription can take more (the table: block the cloud)
    _rule(_AZURE, "quota", r"\b(?P<code>ResourceGroupQuotaExceeded"
          r"|ReadOnlyDisabledSubscription)\b", scope="cloud"),
    _rule(_AZURE, "capacity", r"^(?=.*\bSkuNotAvailable\b)(?=.*Capacity Restrictions)",
          "SkuNotAvailable"),
    _rule(_AZURE, "quota", r"^(?=.*\bSkuNotAvailable\b)(?=.*(?:for subscription"
          r"|NotAvailableForSubscription))", "SkuNotAvailable", scope="offering"),
    _rule(_AZURE, "capacity", r"\b(?P<code>SkuNotAvailable|ZonalAllocationFailed|AllocationFailed"
          r"|OverconstrainedAllocationRequest|OverconstrainedZonalAllocationRequest)\b"),
    _rule(_AZURE, "capacity", r"Allocation failed\.", "AllocationFailed"),
    _rule(_AZURE, "quota", r"^(?=.*\bOperationNotAllowed\b)(?=.*[Qq]uota)"
          r"|\bexceeding\b[^.]*\bquota", "OperationNotAllowed"),
    _rule(_AZURE, "quota", r"\bQuotaExceeded\b", "QuotaExceeded"),
    _rule(_AZURE, "permanent", r"\b(?P<code>ClientAuthenticationError|AuthorizationFailed)\b",
          scope="cloud"),
    _rule(_AZURE, "permanent", r"\bOperationNotAllowed\b", "OperationNotAllowed"),
    _rule("", "transient", r"\b(?P<code>RequestLimitExceeded|Throttling(?:Exception)?"
          r"|RequestThrottled(?:Exception)?|TooManyRequestsException|TooManyRequests|SlowDown"
          r"|EC2ThrottledException)\b"),
    _rule("", "transient", r"\bstatus 429\b|\bError 429\b", "TooManyRequests"),
    _rule("", "transient", r"\b(?P<code>InternalError|InternalFailure|InternalServerError"
          r"|ServiceUnavailable|ServerTimeout|GatewayTimeout|backendError|internalError)\b"),
    _rule("", "transient", r"\bInternal error\b", "InternalError"),
    _rule("", "transient", r"(?:StatusCode[:=] ?|Status=|unexpected status |Error )(?P<code>5\d\d)"
          r"\b"),
    _rule("", "transient", r"(?i)(?P<code>connection reset|TLS handshake timeout|i/o timeout"
          r"|context deadline exceeded|Client\.Timeout exceeded|timeout awaiting response headers"
          r"|unexpected EOF|broken pipe|timeout while waiting for state)"),
    _rule(_AZURE, "permanent", r"\b(?P<code>InvalidTemplateDeployment|InvalidParameter"
          r"|ImageNotFound)\b"),
)
# fmt: on
DEFAULT_SCOPE: dict[Kind, Scope] = {
    "capacity": "offering",
    "quota": "region",
    "transient": "offering",
    "permanent": "offering",
}
TYPE_PATTERNS = (
    r"sufficient (\S+) capacity",
    r"Your requested instance type \((\S+)\)",
    r"An? ([\w-]+) VM instance(?: with [^.]*?)? is currently unavailable",
    r"/machineTypes/([\w.-]+)'",
    r"Capacity Restrictions: ([\w.-]+)",
    r"requested VM size '?((?:Standard|Basic)_[\w.-]+)",
    r"Invalid value '([^']+)' for InstanceType",
)
ZONE_PATTERNS = (
    r"Availability Zone you requested \(([\w-]+)\)",
    r"requested Availability Zone \(([\w-]+)\)",
    r"\bzones/([a-z0-9-]+)",
    r"unavailable in the ([\w-]+) zone",
    r"Location ([a-z0-9-]+) is not found",
)
REGION_PATTERNS = (
    r"in region ([a-z0-9-]+)",
    r"/regions/([a-z0-9-]+)",
    r"location '([\w-]+)'",
    r"Location: ([\w-]+)",
    r"belongs to in ([\w-]+)",
)
CLOUD_HINTS = (
    ("local", r"local-exec|terraform_data"),
    ("gcp", r"googleapi|googleapis\.com|projects/[^/\s]+/(?:zones|regions|global)/"),
    ("azure", r"[Aa]zure|Microsoft\.\w|autorest|unexpected status \d{3} \(|aka\.ms/"),
    ("aws", r"\bEC2\b|amazonaws\.com|\bapi error\b|operation error \w+:"),
)
AZURE_GPUS = ("H100", "A100", "A10", "V100", "T4", "L4")
