"""The provider types skyplan emits: the list the shipped schema subset is built from."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProviderTypes:
    """The resource and data-source types skyplan emits for one provider."""

    name: str
    source: str
    resources: tuple[str, ...]
    data_sources: tuple[str, ...] = ()
    builtin: bool = False

    @property
    def address(self) -> str:
        """The fully qualified provider address, as keys of `terraform providers schema -json`."""
        return self.source if self.builtin else f"registry.terraform.io/{self.source}"


AWS = ProviderTypes(
    name="aws",
    source="hashicorp/aws",
    resources=(
        "aws_vpc",
        "aws_subnet",
        "aws_internet_gateway",
        "aws_eip",
        "aws_nat_gateway",
        "aws_route_table",
        "aws_route_table_association",
        "aws_vpc_endpoint",
        "aws_default_security_group",
        "aws_security_group",
        "aws_vpc_security_group_egress_rule",
        "aws_vpc_security_group_ingress_rule",
        "aws_flow_log",
        "aws_s3_bucket",
        "aws_s3_bucket_versioning",
        "aws_s3_bucket_server_side_encryption_configuration",
        "aws_s3_bucket_public_access_block",
        "aws_s3_bucket_lifecycle_configuration",
        "aws_s3_bucket_ownership_controls",
        "aws_s3_bucket_policy",
        "aws_s3_bucket_logging",
        "aws_s3_bucket_notification",
        "aws_iam_role",
        "aws_iam_role_policy",
        "aws_iam_instance_profile",
        "aws_instance",
        "aws_kms_key",
        "aws_kms_alias",
        "aws_cloudwatch_log_group",
        "aws_sns_topic",
    ),
    data_sources=(
        "aws_ami",
        "aws_iam_policy_document",
        "aws_caller_identity",
        "aws_availability_zones",
        "aws_partition",
        "aws_region",
    ),
)

GOOGLE = ProviderTypes(
    name="google",
    source="hashicorp/google",
    resources=(
        "google_compute_network",
        "google_compute_subnetwork",
        "google_compute_router",
        "google_compute_router_nat",
        "google_compute_firewall",
        "google_storage_bucket",
        "google_storage_bucket_iam_member",
        "google_service_account",
        "google_compute_instance",
        "google_kms_key_ring",
        "google_kms_crypto_key",
        "google_kms_crypto_key_iam_member",
        "google_project_iam_member",
    ),
    data_sources=(
        "google_compute_image",
        "google_compute_zones",
        "google_project",
        "google_storage_project_service_account",
        "google_client_config",
    ),
)

AZURERM = ProviderTypes(
    name="azurerm",
    source="hashicorp/azurerm",
    resources=(
        "azurerm_resource_group",
        "azurerm_virtual_network",
        "azurerm_subnet",
        "azurerm_network_security_group",
        "azurerm_network_security_rule",
        "azurerm_subnet_network_security_group_association",
        "azurerm_public_ip",
        "azurerm_nat_gateway",
        "azurerm_nat_gateway_public_ip_association",
        "azurerm_subnet_nat_gateway_association",
        "azurerm_storage_account",
        "azurerm_storage_container",
        "azurerm_storage_management_policy",
        "azurerm_user_assigned_identity",
        "azurerm_role_assignment",
        "azurerm_role_definition",
        "azurerm_managed_disk",
        "azurerm_virtual_machine_data_disk_attachment",
        "azurerm_network_interface",
        "azurerm_linux_virtual_machine",
        "azurerm_key_vault",
        "azurerm_key_vault_key",
        "azurerm_storage_account_customer_managed_key",
        "azurerm_network_watcher_flow_log",
        "azurerm_log_analytics_workspace",
    ),
    data_sources=(
        "azurerm_platform_image",
        "azurerm_client_config",
        "azurerm_subscription",
    ),
)

# Built into Terraform itself: no download, no required_providers entry.
TERRAFORM = ProviderTypes(
    name="terraform",
    source="terraform.io/builtin/terraform",
    resources=("terraform_data",),
    builtin=True,
)

EMITTED_TYPES: tuple[ProviderTypes, ...] = (AWS, GOOGLE, AZURERM, TERRAFORM)


def provider_name(type_name: str) -> str:
    """The provider local name Terraform infers from a type: the part before the first '_'."""
    return type_name.split("_", 1)[0]
