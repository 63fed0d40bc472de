"""Offline validation of generated Terraform against a shipped subset of provider schemas."""

from skyplan.validate.check import ValidationReport, tf_folders, validate_dir, validate_tree
from skyplan.validate.types import EMITTED_TYPES, ProviderTypes

__all__ = [
    "EMITTED_TYPES",
    "ProviderTypes",
    "ValidationReport",
    "tf_folders",
    "validate_dir",
    "validate_tree",
]
