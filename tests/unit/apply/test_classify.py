"""Terraform failures classified from real provider messages (data/terraform-failures.md)."""

from __future__ import annotations

import re

import pytest

from skyplan.apply.classify import (
    Failure,
    TerraformError,
    blocks_for,
    classify,
    classify_error,
    classify_output,
    split_errors,
)
from skyplan.solver.blocked import Block

SUB = "00000000-0000-0000-0000-000000000000"
AWS_SDK = "operation error EC2: RunInstances, https response error StatusCode: {status}, RequestID: 8f6c1e2a-5d3b-4c1f-9e8a-0b7d6c5e4f3a, api error "  # noqa: E501
AZ_VM = (
    f'creating Linux Virtual Machine (Subscription: "{SUB}"\n'
    'Resource Group Name: "skyplan-demo-westeurope"\n'
    'Virtual Machine Name: "align-0"): '
)
AZ_409 = AZ_VM + "performing CreateOrUpdate: unexpected status 409 (409 Conflict) with error: "


def error_block(summary: str, address: str, detail: str = "", line: int = 461) -> str:
    """Terraform's -no-color rendering of one diagnostic (format.DiagnosticPlain)."""
    m = re.search(r"([a-z0-9_]+)\.([\w-]+)(?:\[[^\]]*\])?$", address)
    assert m is not None
    kind, name = m.groups()
    text = f"\nError: {summary}\n\n  with {address},\n"
    text += f'  on main.tf line {line}, in resource "{kind}" "{name}":\n'
    text += f'{line:4d}: resource "{kind}" "{name}" {{\n\n'
    return text + (f"{detail}\n" if detail else "")


def framed(plain: str, color: bool = False) -> str:
    """The same diagnostic as Terraform draws it on a terminal (format.Diagnostic)."""
    red, reset = ("\x1b[31m", "\x1b[0m") if color else ("", "")
    lines = plain.strip("\n").split("\n")
    body = [f"{red}│{reset} {s}" if s else f"{red}│{reset}" for s in lines]
    return "\n".join([f"{red}╷{reset}", *body, f"{red}╵{reset}"]) + "\n"


# (id, address, summary, kind, code, instance_type, zone, region, quota_resource, scope)
CASES = [
    # --- AWS ---------------------------------------------------------------------------------
    ("aws-sdk2-unsupported", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "Unsupported: Your requested "
     "instance type (t3.micro) is not supported in your requested Availability Zone (us-east-1e)."
     " Please retry your request by not specifying an Availability Zone or choosing us-east-1a, "
     "us-east-1b, us-east-1c, us-east-1d, us-east-1f.",
     "capacity", "Unsupported", "t3.micro", "us-east-1e", "us-east-1", None, "offering"),
    ("aws-ice-older", "aws_instance.align[0]",
     "creating EC2 Instance: InsufficientInstanceCapacity: We currently do not have sufficient "
     "m6i.xlarge capacity in the Availability Zone you requested (us-east-2a). Our system will be"
     " working on provisioning additional capacity. You can currently get m6i.xlarge capacity by "
     "not specifying an Availability Zone in your request or choosing us-east-2b, us-east-2c.",
     "capacity", "InsufficientInstanceCapacity", "m6i.xlarge", "us-east-2a", "us-east-2", None,
     "offering"),
    ("aws-ice-sdk2-status-500", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=500) + "InsufficientInstanceCapacity: We "
     "currently do not have sufficient p4d.24xlarge capacity in the Availability Zone you "
     "requested (us-east-1a). Our system will be working on provisioning additional capacity.",
     "capacity", "InsufficientInstanceCapacity", "p4d.24xlarge", "us-east-1a", "us-east-1", None,
     "offering"),
    ("aws-pre-v4", "aws_instance.align",
     "Error launching source instance: InsufficientInstanceCapacity: We currently do not have "
     "sufficient c5.large capacity in the Availability Zone you requested (eu-west-1b).\n"
     "\tstatus code: 500, request id: 3b2a1c0d-aaaa-bbbb-cccc-1234567890ab",
     "capacity", "InsufficientInstanceCapacity", "c5.large", "eu-west-1b", "eu-west-1", None,
     "offering"),
    ("aws-host", "aws_instance.align[0]",
     "creating EC2 Instance: InsufficientHostCapacity: Insufficient capacity.",
     "capacity", "InsufficientHostCapacity", None, None, None, None, "offering"),
    ("aws-reserved", "aws_instance.align[0]",
     "creating EC2 Instance: InsufficientReservedInstanceCapacity: Insufficient capacity.",
     "capacity", "InsufficientReservedInstanceCapacity", None, None, None, None, "offering"),
    ("aws-spot-price", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "SpotMaxPriceTooLow: Your Spot "
     "request price of 0.01 is lower than the minimum required Spot request fulfillment price "
     "of 0.0412.",
     "capacity", "SpotMaxPriceTooLow", None, None, None, None, "offering"),
    ("aws-config-unsupported", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "Unsupported: The requested "
     "configuration is currently not supported. Please check the documentation for supported "
     "configurations.",
     "capacity", "Unsupported", None, None, None, None, "offering"),
    ("aws-vcpu-quota", "aws_instance.train[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "VcpuLimitExceeded: You have "
     "requested more vCPU capacity than your current vCPU limit of 32 allows for the instance "
     "bucket that the specified instance type belongs to. Please visit "
     "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
     "quota", "VcpuLimitExceeded", None, None, None, "vcpus", "region"),
    ("aws-instance-limit", "aws_instance.train[0]",
     "creating EC2 Instance: InstanceLimitExceeded: You have requested more instances (21) than "
     "your current instance limit of 20 allows for the specified instance type. Please visit "
     "http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit.",
     "quota", "InstanceLimitExceeded", None, None, None, "vcpus", "region"),
    ("aws-spot-count", "aws_instance.train[0]",
     "creating EC2 Instance: MaxSpotInstanceCountExceeded: Max spot instance count exceeded",
     "quota", "MaxSpotInstanceCountExceeded", None, None, None, "vcpus", "region"),
    ("aws-opt-in", "aws_vpc.eu_south_2",
     "creating EC2 VPC: " + AWS_SDK.format(status=401) + "OptInRequired: You are not "
     "subscribed to this service. Please go to http://aws.amazon.com to subscribe.",
     "quota", "OptInRequired", None, None, None, "vcpus", "region"),
    ("aws-auth-failure", "aws_vpc.me_south_1",
     "creating EC2 VPC: " + AWS_SDK.format(status=401) + "AuthFailure: AWS was not able to "
     "validate the provided access credentials",  # bad credentials: never a quota block
     "permanent", "AuthFailure", None, None, None, None, "offering"),
    ("aws-throttle", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=503) + "RequestLimitExceeded: Request "
     "limit exceeded.",
     "transient", "RequestLimitExceeded", None, None, None, None, "offering"),
    ("aws-unauthorized", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=403) + "UnauthorizedOperation: You are "
     "not authorized to perform this operation.",
     "permanent", "UnauthorizedOperation", None, None, None, None, "offering"),
    ("aws-invalid-parameter", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "InvalidParameterValue: Value "
     "(skyplan-align) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance "
     "Profile name",
     "permanent", "InvalidParameterValue", None, None, None, None, "offering"),
    ("aws-ami", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "InvalidAMIID.NotFound: The "
     "image id '[ami-0123456789abcdef0]' does not exist",
     "permanent", "InvalidAMIID.NotFound", None, None, None, None, "offering"),
    ("aws-subnet", "aws_instance.align[0]",
     "creating EC2 Instance: " + AWS_SDK.format(status=400) + "InvalidSubnetID.NotFound: The "
     "subnet ID 'subnet-0123456789abcdef0' does not exist",
     "permanent", "InvalidSubnetID.NotFound", None, None, None, None, "offering"),
    # --- GCP ---------------------------------------------------------------------------------
    ("gcp-zone-exhausted", "google_compute_instance.align[0]",
     "Error waiting for instance to create: The zone 'projects/P/zones/us-central1-a' does not "
     "have enough resources available to fulfill the request.  Try a different zone, or try "
     "again later.",
     "capacity", "ZONE_RESOURCE_POOL_EXHAUSTED", None, "us-central1-a", "us-central1", None,
     "offering"),
    ("gcp-zone-localized", "google_compute_instance.align[0]",
     "Error waiting for instance to create: The zone 'projects/P/zones/europe-west4-a' does not "
     "have enough resources available to fulfill the request.  Try a different zone, or try "
     "again later.\nA e2-standard-2 VM instance is currently unavailable in the europe-west4-a "
     "zone. Alternatively, you can try your request again with a different VM hardware "
     "configuration or at a later time. For more information, see the troubleshooting "
     "documentation.",
     "capacity", "ZONE_RESOURCE_POOL_EXHAUSTED", "e2-standard-2", "europe-west4-a",
     "europe-west4", None, "offering"),
    ("gcp-gpu-unavailable", "google_compute_instance.train[0]",
     "Error waiting for instance to create: A a2-highgpu-1g VM instance with 1 x nvidia-tesla-"
     "a100 accelerator(s) is currently unavailable in the us-central1-c zone.",
     "capacity", "ZONE_RESOURCE_POOL_EXHAUSTED", "a2-highgpu-1g", "us-central1-c", "us-central1",
     None, "offering"),
    ("gcp-code-literal", "google_compute_instance.align[0]",
     "Error creating instance: ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS: The zone "
     "'projects/P/zones/asia-east1-b' does not have enough resources available to fulfill the "
     "request.",
     "capacity", "ZONE_RESOURCE_POOL_EXHAUSTED_WITH_DETAILS", None, "asia-east1-b", "asia-east1",
     None, "offering"),
    ("gcp-region-exhausted", "google_compute_instance.align[0]",
     "Error waiting for instance to create: The region 'projects/P/regions/us-east4' does not "
     "have enough resources available to fulfill the request.",
     "capacity", "REGION_RESOURCE_POOL_EXHAUSTED", None, None, "us-east4", None, "offering"),
    ("gcp-tpu", "google_compute_instance.align[0]",
     "Error waiting for instance to create: There is no more capacity in the zone "
     "\"us-central2-b\"; you can try in another zone where Cloud TPU Nodes are offered",
     "capacity", "RESOURCE_EXHAUSTED", None, None, None, None, "offering"),
    ("gcp-rate-exceeded-is-capacity", "google_compute_instance.align[0]",
     "Error waiting for instance to create: Operation rate exceeded for resource "
     "'projects/P/global/images/ubuntu-2204'. Too frequent operations from the source resource.",
     "capacity", "RESOURCE_OPERATION_RATE_EXCEEDED", None, None, None, None, "offering"),
    ("gcp-accelerator-not-found", "google_compute_instance.train[0]",
     "Error creating instance: googleapi: Error 400: The resource 'projects/P/zones/us-central1-f"
     "/acceleratorTypes/nvidia-tesla-v100' was not found, notFound",
     "capacity", "RESOURCE_NOT_FOUND", None, "us-central1-f", "us-central1", None, "offering"),
    ("gcp-cpus-per-family", "google_compute_instance.align[0]",
     "Error waiting for instance to create: Quota 'CPUS_PER_VM_FAMILY' exceeded.  Limit: 176.0 "
     "in region us-central1.\n\tmetric name = compute.googleapis.com/cpus_per_vm_family\n"
     "\tlimit name = CPUS-PER-VM-FAMILY-per-project-region\n\tlimit = 176.0\n"
     "\tdimensions = map[region:us-central1 vm_family:N2]",
     "quota", "QUOTA_EXCEEDED", None, None, "us-central1", "vcpus", "region"),
    ("gcp-cpus", "google_compute_instance.align[0]",
     "Error waiting for instance to create: Quota 'CPUS' exceeded.  Limit: 24.0 in region "
     "us-west1.",
     "quota", "QUOTA_EXCEEDED", None, None, "us-west1", "vcpus", "region"),
    ("gcp-gpu-sync", "google_compute_instance.train[0]",
     "Error creating instance: googleapi: Error 403: Quota 'NVIDIA_A100_GPUS' exceeded.  Limit: "
     "0.0 in region us-central1., quotaExceeded",
     "quota", "QUOTA_EXCEEDED", None, None, "us-central1", "gpus:A100", "region"),
    ("gcp-gpu-80gb-preemptible", "google_compute_instance.train[0]",
     "Error waiting for instance to create: Quota 'PREEMPTIBLE_NVIDIA_A100_80GB_GPUS' exceeded."
     "  Limit: 0.0 in region europe-west4.",
     "quota", "QUOTA_EXCEEDED", None, None, "europe-west4", "gpus:A100-80GB", "region"),
    ("gcp-gpu-family", "google_compute_instance.train[0]",
     "Error waiting for instance to create: Quota 'GPUS_PER_GPU_FAMILY' exceeded.  Limit: 0.0 in"
     " region us-central1.\n\tmetric name = compute.googleapis.com/gpus_per_gpu_family\n"
     "\tdimensions = map[gpu_family:NVIDIA_H100 region:us-central1]",
     "quota", "QUOTA_EXCEEDED", None, None, "us-central1", "gpus:H100", "region"),
    ("gcp-gpus-all-regions", "google_compute_instance.train[0]",
     "Error waiting for instance to create: Quota 'GPUS_ALL_REGIONS' exceeded. Limit: 1.0 "
     "globally.",
     "quota", "QUOTA_EXCEEDED", None, None, None, "gpus", "cloud"),
    ("gcp-cpus-all-regions", "google_compute_instance.align[0]",
     "Error waiting for instance to create: Quota 'CPUS_ALL_REGIONS' exceeded. Limit: 32.0 "
     "globally.",
     "quota", "QUOTA_EXCEEDED", None, None, None, "vcpus", "cloud"),
    ("gcp-location-unauthorized", "google_compute_instance.align[0]",
     "Error creating instance: googleapi: Error 403: Location us-east1-d is not found or access "
     "is unauthorized., forbidden",
     "permanent", "LOCATION_NOT_FOUND", None, "us-east1-d", "us-east1", None, "region"),
    ("gcp-rate-limit", "google_compute_instance.align[0]",
     "Error creating instance: googleapi: Error 403: Rate Limit Exceeded, rateLimitExceeded",
     "transient", "rateLimitExceeded", None, None, None, None, "offering"),
    ("gcp-internal", "google_compute_instance.align[0]",
     "Error waiting for instance to create: Internal error. Please try again or contact Google "
     "Support. (Code: '5A1B2C3D4E5F6')",
     "transient", "InternalError", None, None, None, None, "offering"),
    ("gcp-backend", "google_storage_bucket.us_central1",
     "googleapi: Error 503: We encountered an internal error. Please try again., backendError",
     "transient", "backendError", None, None, None, None, "offering"),
    ("gcp-disk-size", "google_compute_instance.align[0]",
     "Error waiting for instance to create: Requested disk size cannot be smaller than the image "
     "size (10 GB)",
     "permanent", "INVALID_FIELD_VALUE", None, None, None, None, "offering"),
    ("gcp-permission", "google_compute_instance.align[0]",
     "Error creating instance: googleapi: Error 403: Required 'compute.instances.create' "
     "permission for 'projects/P/zones/us-central1-a/instances/align-0', forbidden",
     "permanent", "IAM_PERMISSION_DENIED", None, "us-central1-a", "us-central1", None, "offering"),
    # --- Azure -------------------------------------------------------------------------------
    ("azure-sku-capacity", "azurerm_linux_virtual_machine.align",
     AZ_409 + "SkuNotAvailable: The requested VM size for resource 'Following SKUs have failed "
     "for Capacity Restrictions: Standard_F2' is currently not available in location "
     "'westeurope'. Please try another size or deploy to a different location or different "
     "zone. See https://aka.ms/azureskunotavailable for details.",
     "capacity", "SkuNotAvailable", "Standard_F2", None, "westeurope", None, "offering"),
    ("azure-sku-subscription", "azurerm_linux_virtual_machine.align",
     AZ_409 + "SkuNotAvailable: The requested size for resource '/subscriptions/" + SUB
     + "/resourceGroups/skyplan-demo-eastus/providers/Microsoft.Compute/virtualMachines/align-0'"
     " is currently not available in location 'eastus' zones '1' for subscription '" + SUB
     + "'. Please try another size or deploy to a different location or zones. See "
     "https://aka.ms/azureskunotavailable for details.",
     "quota", "SkuNotAvailable", None, None, "eastus", "vcpus", "offering"),
    ("azure-regional-cores", "azurerm_linux_virtual_machine.align",
     AZ_409 + "OperationNotAllowed: Operation could not be completed as it results in exceeding "
     "approved Total Regional Cores quota. Additional details - Deployment Model: Resource "
     "Manager, Location: westus2, Current Limit: 10, Current Usage: 8, Additional Required: 4, "
     "(Minimum) New Limit Required: 12.",
     "quota", "OperationNotAllowed", None, None, "westus2", "vcpus", "region"),
    ("azure-gpu-family", "azurerm_linux_virtual_machine.train",
     AZ_409 + "OperationNotAllowed: Operation could not be completed as it results in exceeding "
     "approved standardNCASv3_T4Family Cores quota. Additional details - Deployment Model: "
     "Resource Manager, Location: eastus, Current Limit: 0, Current Usage: 0, Additional "
     "Required: 4, (Minimum) New Limit Required: 4.",
     "quota", "OperationNotAllowed", None, None, "eastus", "gpus:T4", "region"),
    ("azure-low-priority", "azurerm_linux_virtual_machine.align",
     AZ_409 + "OperationNotAllowed: Operation could not be completed as it results in exceeding "
     "approved LowPriorityCores quota.",
     "quota", "OperationNotAllowed", None, None, None, "vcpus", "region"),
    ("azure-autorest", "azurerm_linux_virtual_machine.align",
     "compute.VirtualMachinesClient#CreateOrUpdate: Failure sending request: StatusCode=409 -- "
     "Original Error: failed request: autorest/azure: Service returned an error. Status=409 "
     'Code="OperationNotAllowed" Message="Operation results in exceeding quota limits of Core. '
     'Maximum allowed: 4, Current in use: 4, Additional requested: 2."',
     "quota", "OperationNotAllowed", None, None, None, "vcpus", "region"),
    ("azure-polling-allocation", "azurerm_linux_virtual_machine.align",
     AZ_VM + "polling after CreateOrUpdate: polling failed: the Azure API returned the following "
     'error:\n\nStatus: "AllocationFailed"\nCode: ""\nMessage: "Allocation failed. We do not '
     "have sufficient capacity for the requested VM size in this region. Read more about "
     'improving likelihood of allocation success at http://aka.ms/allocation-guidance"\n'
     'Activity Id: ""\n\n---\n\nAPI Response:\n\n----[start]----\n{"status":"Failed","error":'
     '{"code":"AllocationFailed"}}\n-----[end]-----',
     "capacity", "AllocationFailed", None, None, None, None, "offering"),
    ("azure-polling-quota", "azurerm_linux_virtual_machine.align",
     AZ_VM + "polling after CreateOrUpdate: polling failed: the Azure API returned the following "
     'error:\n\nStatus: "QuotaExceeded"\nCode: "OperationNotAllowed"\nMessage: "Operation could '
     "not be completed as it results in exceeding approved Total Regional Cores quota. "
     'Additional details - Deployment Model: Resource Manager, Location: westus2"',
     "quota", "OperationNotAllowed", None, None, "westus2", "vcpus", "region"),
    ("azure-zonal", "azurerm_linux_virtual_machine.align",
     AZ_409 + "ZonalAllocationFailed: Allocation failed. We do not have sufficient capacity for "
     "the requested VM size in this zone.",
     "capacity", "ZonalAllocationFailed", None, None, None, None, "offering"),
    ("azure-overconstrained", "azurerm_linux_virtual_machine.align",
     AZ_409 + "OverconstrainedAllocationRequest: Allocation failed. VM(s) with the following "
     "constraints cannot be allocated, because the condition is too restrictive.",
     "capacity", "OverconstrainedAllocationRequest", None, None, None, None, "offering"),
    ("azure-template-quota", "azurerm_linux_virtual_machine.align",
     AZ_VM + "performing CreateOrUpdate: unexpected status 400 (400 Bad Request) with error: "
     "InvalidTemplateDeployment: The template deployment failed with error: 'QuotaExceeded'.",
     "quota", "QuotaExceeded", None, None, None, "vcpus", "region"),
    ("azure-disabled", "azurerm_resource_group.westeurope",
     "creating Resource Group \"skyplan\": unexpected status 409 (409 Conflict) with error: "
     "ReadOnlyDisabledSubscription: The subscription '" + SUB + "' is disabled and therefore "
     "marked as read only.",
     "quota", "ReadOnlyDisabledSubscription", None, None, None, "vcpus", "cloud"),
    ("azure-resource-groups", "azurerm_resource_group.westeurope",
     "creating Resource Group \"skyplan-demo-westeurope\": unexpected status 400 (400 Bad "
     "Request) with error: ResourceGroupQuotaExceeded: Creating the resource group "
     "'skyplan-demo-westeurope' would exceed the quota of '980'. The current resource group "
     "count is '980', please delete some resource groups before creating a new one.",
     "quota", "ResourceGroupQuotaExceeded", None, None, None, "vcpus", "cloud"),
    ("azure-authorization", "azurerm_linux_virtual_machine.align",
     AZ_VM + "performing CreateOrUpdate: unexpected status 403 (403 Forbidden) with error: "
     "AuthorizationFailed: The client 'x' with object id 'y' does not have authorization to "
     "perform action 'Microsoft.Compute/virtualMachines/write' over scope 'z'.",
     "permanent", "AuthorizationFailed", None, None, None, None, "cloud"),
    ("azure-image", "azurerm_linux_virtual_machine.align",
     AZ_VM + "performing CreateOrUpdate: unexpected status 404 (404 Not Found) with error: "
     "ImageNotFound: The platform image 'Canonical:ubuntu:22_04-lts:latest' is not available.",
     "permanent", "ImageNotFound", None, None, None, None, "offering"),
    ("azure-invalid", "azurerm_linux_virtual_machine.align",
     AZ_VM + "performing CreateOrUpdate: unexpected status 400 (400 Bad Request) with error: "
     "InvalidParameter: The value of parameter osProfile.adminUsername is invalid.",
     "permanent", "InvalidParameter", None, None, None, None, "offering"),
    ("azure-503", "azurerm_storage_account.westeurope",
     "creating Storage Account: unexpected status 503 (503 Service Unavailable) with response: "
     "upstream connect error",
     "transient", "HTTP 503", None, None, None, None, "offering"),
    # --- any cloud: a bucket name another account already has (names are global) ----------------
    ("aws-bucket-taken", "aws_s3_bucket.eu_west_1",
     "creating S3 Bucket (skyplan-genomics-eu-west-1): operation error S3: CreateBucket, https "
     "response error StatusCode: 409, RequestID: X, HostID: Y, BucketAlreadyExists: ",
     "permanent", "BucketNameTaken", None, None, None, None, "offering"),
    ("gcp-bucket-taken", "google_storage_bucket.europe_west4",
     "googleapi: Error 409: The requested bucket name is not available. The bucket namespace is "
     "shared by all users of the system. Please select a different name and try again., conflict",
     "permanent", "BucketNameTaken", None, None, None, None, "offering"),
    ("azure-account-taken", "azurerm_storage_account.westeurope",
     "creating Storage Account: performing Create: unexpected status 409 (409 Conflict) with "
     "error: StorageAccountAlreadyTaken: The storage account named skyplangenomics0a1b2c3d4e is "
     "already taken.",
     "permanent", "BucketNameTaken", None, None, None, None, "offering"),
    # --- any cloud: the network ----------------------------------------------------------------
    ("net-io-timeout", "aws_s3_bucket.us_east_1",
     "reading S3 Bucket: operation error S3: HeadBucket, https response error StatusCode: 0, "
     "RequestID: , HostID: , request send failed, dial tcp 52.216.0.1:443: i/o timeout",
     "transient", "i/o timeout", None, None, None, None, "offering"),
    ("net-tls", "google_storage_bucket.eu",
     'Get "https://storage.googleapis.com/storage/v1/b/x": net/http: TLS handshake timeout',
     "transient", "TLS handshake timeout", None, None, None, None, "offering"),
    ("net-reset", "azurerm_storage_account.eu",
     "retrieving Storage Account: read tcp 10.0.0.2:51234->20.1.2.3:443: read: connection reset "
     "by peer",
     "transient", "connection reset", None, None, None, None, "offering"),
    ("aws-throttling", "aws_iam_role.align",
     "creating IAM Role: operation error IAM: CreateRole, https response error StatusCode: 400, "
     "RequestID: x, api error Throttling: Rate exceeded",
     "transient", "Throttling", None, None, None, None, "offering"),
]  # fmt: skip


def summary_of(case_id: str) -> str:
    """The summary of one case of the table."""
    return next(c[2] for c in CASES if c[0] == case_id)


@pytest.mark.parametrize(
    ("address", "summary", "kind", "code", "itype", "zone", "region", "resource", "scope"),
    [pytest.param(*c[1:], id=c[0]) for c in CASES],
)
def test_real_messages_are_classified(
    address: str,
    summary: str,
    kind: str,
    code: str,
    itype: str | None,
    zone: str | None,
    region: str | None,
    resource: str | None,
    scope: str,
) -> None:
    (failure,) = classify(error_block(summary, address))
    got = (failure.kind, failure.code, failure.instance_type, failure.zone, failure.region)
    assert got == (kind, code, itype, zone, region)
    assert (failure.quota_resource, failure.scope, failure.address) == (resource, scope, address)
    cloud = {"aws": "aws", "goo": "gcp", "azu": "azure"}[address[:3]]
    assert failure.cloud == cloud
    assert failure.message and "\n" not in failure.message and "API Response" not in failure.message


def test_a_failed_apply_with_two_resources_splits_into_two_failures() -> None:
    output = (
        "aws_instance.align[0]: Creating...\naws_instance.train[0]: Creating...\n"
        + error_block(summary_of("aws-ice-older"), "aws_instance.align[0]")
        + error_block(summary_of("aws-vcpu-quota"), "module.gpu.aws_instance.train[0]")
    )
    errors = split_errors(output)
    assert [e.address for e in errors] == [
        "aws_instance.align[0]",
        "module.gpu.aws_instance.train[0]",
    ]
    assert errors[0].summary.startswith("creating EC2 Instance: InsufficientInstanceCapacity")
    assert errors[1].detail == ""
    capacity, quota = classify(output)
    assert (capacity.kind, capacity.address) == ("capacity", "aws_instance.align[0]")
    assert (quota.kind, quota.cloud, quota.address) == (
        "quota",
        "aws",
        "module.gpu.aws_instance.train[0]",
    )


def test_identical_errors_are_reported_once() -> None:
    one = error_block(summary_of("aws-ice-older"), "aws_instance.align[0]")
    other = error_block(summary_of("aws-ice-older"), "aws_instance.align[1]")
    assert len(classify(one + one + other)) == 2


@pytest.mark.parametrize("color", [False, True])
def test_the_framed_form_is_read_like_the_plain_one(color: bool) -> None:
    plain = error_block(
        summary_of("gcp-zone-localized"), "google_compute_instance.align[0]", "More detail here."
    )
    output = "google_compute_instance.align[0]: Creating...\n" + framed(plain, color)
    (error,) = split_errors(output)
    assert error.address == "google_compute_instance.align[0]"
    assert error.detail == "More detail here."
    assert error.summary == split_errors(plain)[0].summary
    assert classify(output) == classify(plain)
    assert classify(output)[0].instance_type == "e2-standard-2"


def test_a_framed_detail_line_starting_with_error_does_not_start_a_block() -> None:
    plain = error_block("local-exec provisioner error", "terraform_data.job_a[0]", "x\n\nError: y")
    assert len(split_errors(framed(plain))) == 1


def test_warnings_and_success_give_no_failures() -> None:
    output = (
        "\nWarning: Argument is deprecated\n\n  with aws_s3_bucket.x,\n\nUse y.\n\nApply complete!"
    )
    assert split_errors(output) == ()
    assert classify("Apply complete! Resources: 3 added, 0 changed, 0 destroyed.") == ()


LOCAL_CMD = "Error running command 'if [ \"$SKYPLAN_FAIL\" = capacity ]; then exit 1; fi': exit status 1. Output: "  # noqa: E501
LOCAL = [
    ("capacity", "InsufficientInstanceCapacity: We currently do\nnot have sufficient local.medium "
     "capacity in the Availability Zone you requested (local-a). Our\nsystem will be working on "
     "provisioning additional capacity.",
     "InsufficientInstanceCapacity", "local.medium", "local-a"),
    ("quota", "VcpuLimitExceeded: You have requested more vCPU capacity than your current vCPU "
     "limit of 0 allows for the instance bucket that the specified instance type belongs to in "
     "local-a.", "VcpuLimitExceeded", None, "local-a"),
    ("permanent", "InvalidParameterValue: Invalid value 'local.medium' for InstanceType.",
     "InvalidParameterValue", "local.medium", None),
]  # fmt: skip


def local_block(output: str, width: int = 0) -> str:
    """The local module's provisioner failure; `width` wraps the detail as a terminal would."""
    detail = LOCAL_CMD + output
    if width:
        words, lines, line = detail.split(), [], ""
        for w in words:
            if line and len(line) + 1 + len(w) > width:
                lines.append(line)
                line = w
            else:
                line = f"{line} {w}" if line else w
        detail = "\n".join([*lines, line])
    return error_block("local-exec provisioner error", "terraform_data.job_count[0]", detail, 61)


@pytest.mark.parametrize("width", [0, 40, 79])
@pytest.mark.parametrize(("kind", "text", "code", "itype", "region"), LOCAL)
def test_the_local_clouds_injected_failures(
    kind: str, text: str, code: str, itype: str | None, region: str | None, width: int
) -> None:
    (failure,) = classify(local_block(text, width))
    assert (failure.kind, failure.code, failure.cloud) == (kind, code, "local")
    assert (failure.instance_type, failure.region) == (itype, region)
    assert failure.address == "terraform_data.job_count[0]"
    assert failure.message.startswith(f"local-exec provisioner error: {code}: ")


def test_only_the_commands_output_counts_not_the_command() -> None:
    detail = (
        "Error running command 'echo \"VcpuLimitExceeded: fake\" >&2; exit 1': exit status 1. "
        "Output: InsufficientInstanceCapacity: We currently do not have sufficient local.small "
        "capacity in the Availability Zone you requested (local-b)."
    )
    (failure,) = classify(
        error_block("local-exec provisioner error", "terraform_data.job_a", detail)
    )
    assert (failure.kind, failure.code, failure.zone) == (
        "capacity",
        "InsufficientInstanceCapacity",
        "local-b",
    )
    plain = "Error running command 'mkdir -p x': exit status 1. Output: mkdir: Permission denied"
    (other,) = classify(error_block("local-exec provisioner error", "terraform_data.job_a", plain))
    assert (other.kind, other.code, other.cloud) == ("permanent", "unknown", "local")


def test_anything_unrecognised_is_permanent_and_unknown() -> None:
    output = error_block(
        "Unsupported argument",
        "aws_instance.align",
        'An argument named "foo" is not expected here.',
    )
    (failure,) = classify(output)
    assert (failure.kind, failure.code, failure.cloud) == ("permanent", "unknown", "aws")
    (bare,) = classify("\nError: Invalid provider configuration\n\nProvider needs a region.\n")
    assert (bare.kind, bare.code, bare.cloud, bare.address) == (
        "permanent",
        "unknown",
        "unknown",
        None,
    )
    assert bare.message == "Invalid provider configuration"


def test_without_an_address_the_cloud_comes_from_the_text() -> None:
    text = "\nError: " + summary_of("azure-sku-capacity").replace("\n", " ") + "\n"
    (failure,) = classify(text)
    assert (failure.cloud, failure.kind, failure.address) == ("azure", "capacity", None)
    (gcp,) = classify("\nError: " + summary_of("gcp-zone-exhausted") + "\n")
    assert (gcp.cloud, gcp.code) == ("gcp", "ZONE_RESOURCE_POOL_EXHAUSTED")


def test_split_errors_keeps_the_whole_block_and_a_multi_line_summary() -> None:
    output = error_block(
        summary_of("azure-polling-allocation"), "azurerm_linux_virtual_machine.align"
    )
    (error,) = split_errors(output)
    assert isinstance(error, TerraformError)
    assert error.summary.startswith("creating Linux Virtual Machine (Subscription:")
    assert 'Status: "AllocationFailed"' in error.summary and "-----[end]-----" in error.summary
    assert error.text.startswith("Error: creating Linux") and "  with azurerm_linux" in error.text
    assert error.detail == ""
    assert classify_error(error) == classify(output)[0]


def test_failure_unknown_for_output_without_an_error_block() -> None:
    failure = Failure.unknown("panic: runtime error\n\nTerraform crashed!\n")
    assert (failure.kind, failure.code, failure.message) == (
        "permanent", "unknown", "panic: runtime error Terraform crashed!"
    )  # fmt: skip


# --- blocks_for ------------------------------------------------------------------------------

PLACED = {
    "aws_instance.align[0]": ("aws:us-east-2", "m6i.xlarge"),
    "aws_instance.train[0]": ("aws:us-east-1", "p4d.24xlarge"),
    "google_compute_instance.train[0]": ("gcp:us-central1", "a2-highgpu-1g"),
    "azurerm_linux_virtual_machine.align": ("azure:eastus", "Standard_D4s_v5"),
    "terraform_data.job_count[0]": ("local:local-a", "local.medium"),
}


def one(case_id: str, address: str | None = None) -> Failure:
    default = next(c[1] for c in CASES if c[0] == case_id)
    (failure,) = classify(error_block(summary_of(case_id), address or default))
    return failure


def test_capacity_blocks_the_offering_where_it_was_placed() -> None:
    got = blocks_for(one("aws-ice-older"), PLACED.get)
    assert got == {Block("aws:us-east-2", "m6i.xlarge")}
    assert got == blocks_for(one("aws-ice-older"), lambda a: None)  # from the message alone


def test_quota_blocks_the_region_for_its_kind_of_capacity() -> None:
    assert blocks_for(one("aws-vcpu-quota"), PLACED.get) == {
        Block("aws:us-east-1", resource="vcpus", reason="quota")
    }
    gpu = one("gcp-gpu-sync")
    assert blocks_for(gpu, PLACED.get) == {
        Block("gcp:us-central1", resource="gpus:A100", reason="quota")
    }
    assert blocks_for(gpu, lambda a: None) == blocks_for(gpu, PLACED.get)


def test_an_entitlement_blocks_only_the_offering() -> None:
    sku = one("azure-sku-subscription")
    assert blocks_for(sku, PLACED.get) == {Block("azure:eastus", "Standard_D4s_v5", reason="quota")}


def test_unsupported_types_are_blocked_without_expiry() -> None:
    got = blocks_for(one("aws-sdk2-unsupported", "aws_instance.train[0]"), PLACED.get)
    assert got == {Block("aws:us-east-1", "p4d.24xlarge", reason="unsupported")}


def test_the_local_cloud_blocks_like_any_other() -> None:
    (capacity,) = classify(local_block(LOCAL[0][1]))
    assert blocks_for(capacity, PLACED.get) == {Block("local:local-a", "local.medium")}
    (quota,) = classify(local_block(LOCAL[1][1]))
    assert blocks_for(quota, lambda a: None) == {
        Block("local:local-a", resource="vcpus", reason="quota")
    }


def test_capacity_without_an_instance_type_blocks_the_region() -> None:
    failure = one("gcp-region-exhausted", "google_compute_disk.align_data")
    assert blocks_for(failure, lambda a: None) == {Block("gcp:us-east4")}


def test_transient_permanent_and_unplaceable_give_no_block() -> None:
    for case_id in ("azure-authorization", "aws-throttle", "aws-unauthorized", "gcp-disk-size"):
        assert blocks_for(one(case_id), PLACED.get) == frozenset()
    assert blocks_for(one("aws-host"), lambda a: None) == frozenset()  # no region known


# --- output without an `Error:` block ----------------------------------------------------------

STATE_LOCKED = """
Error: Error acquiring the state lock

Error message: resource temporarily unavailable
open .terraform.tfstate.lock.info: no such file or directory

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time. Please resolve the issue above and try
again. For most commands, you can disable locking with the "-lock=false"
flag, but this is not recommended.
"""  # terraform 1.11 when another terraform holds the local state's lock


def test_a_held_state_lock_is_transient() -> None:
    (failure,) = classify_output(STATE_LOCKED)
    assert (failure.kind, failure.code) == ("transient", "StateLocked")
    assert classify(STATE_LOCKED) == (failure,)


@pytest.mark.parametrize(
    "output",
    [
        "",
        "Killed",
        "panic: runtime error: invalid memory address\n\nTerraform crashed!",
        "aws_instance.align[0]: Creating...\n[exit -9]",
    ],
)
def test_output_without_an_error_block_is_permanent_and_unknown(output: str) -> None:
    (failure,) = classify_output(output)
    assert (failure.kind, failure.code) == ("permanent", "unknown")


@pytest.mark.parametrize(
    ("output", "code"),
    [
        ("read tcp 10.0.0.2:51234->20.1.2.3:443: read: connection reset by peer",
         "connection reset"),
        ("Failed to query available provider packages: net/http: TLS handshake timeout",
         "TLS handshake timeout"),
        ("operation error EC2: DescribeVpcs, api error RequestLimitExceeded: Request limit "
         "exceeded.", "RequestLimitExceeded"),
    ],
)  # fmt: skip
def test_output_without_an_error_block_is_transient_when_it_says_so(output: str, code: str) -> None:
    (failure,) = classify_output(output)
    assert (failure.kind, failure.code) == ("transient", code)


@pytest.mark.parametrize(
    ("case_id", "block"),
    [
        ("gcp-gpus-all-regions", Block("gcp:*", resource="gpus", reason="quota")),
        ("gcp-cpus-all-regions", Block("gcp:*", resource="vcpus", reason="quota")),
        ("azure-resource-groups", Block("azure:*", resource="vcpus", reason="quota")),
        ("azure-disabled", Block("azure:*", resource="vcpus", reason="quota")),
    ],
)
def test_a_cloud_wide_quota_blocks_that_cloud_in_every_region(case_id: str, block: Block) -> None:
    failure = one(case_id)
    assert failure.scope == "cloud"
    assert blocks_for(failure, PLACED.get) == {block}
    assert blocks_for(failure, lambda a: None) == {block}


def test_an_unusable_gcp_location_blocks_its_region_for_good() -> None:
    failure = one("gcp-location-unauthorized")
    assert (failure.kind, failure.code) == ("permanent", "LOCATION_NOT_FOUND")
    expected = {Block("gcp:us-east1", reason="unsupported")}
    assert blocks_for(failure, lambda a: None) == expected
    placed = {"google_compute_instance.align[0]": ("gcp:us-east1", "n2-standard-4")}
    assert blocks_for(failure, placed.get) == expected  # the place, whatever runs there


def test_opt_in_required_on_a_regions_own_resource_blocks_that_region() -> None:
    failure = one("aws-opt-in", "aws_vpc.eu_central_1")
    assert failure.region is None  # the message does not name it: the address does
    regional = {"aws_vpc.eu_central_1": ("aws:eu-central-1", "")}
    assert blocks_for(failure, regional.get) == {
        Block("aws:eu-central-1", resource="vcpus", reason="quota")
    }
