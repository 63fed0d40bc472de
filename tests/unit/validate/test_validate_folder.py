"""Dynamic blocks, provider blocks, required_providers, and validating a whole tree of folders."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from tfmodule import VERSIONS, Module

from skyplan.errors import InputError, Problem, Where
from skyplan.validate import validate_dir, validate_tree

Problems = Callable[..., tuple[Problem, ...]]


def test_dynamic_block_of_unknown_type(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_instance" "a" {
          dynamic "ebs_block_devic" {
            for_each = var.disks
            content {
              device_name = ebs_block_devic.value
            }
          }
        }
        """
    assert problems(text) == (
        Problem(
            module.where(text, "dynamic", "aws_instance.a.ebs_block_devic"),
            "unknown block 'ebs_block_devic'",
            "did you mean 'ebs_block_device'?",
        ),
    )


def test_dynamic_content_is_checked_against_its_block(problems: Problems, module: Module) -> None:
    text = """\
        resource "google_compute_firewall" "f" {
          name    = "f"
          network = "default"
          dynamic "allow" {
            for_each = var.ports
            content {
              port = [allow.value]
            }
          }
        }
        """
    assert problems(text) == (
        Problem(
            module.where(text, "content", "google_compute_firewall.f.allow.protocol"),
            "missing required argument 'protocol'",
            "set protocol = ...",
        ),
        Problem(
            module.where(text, "port =", "google_compute_firewall.f.allow.port"),
            "unknown argument 'port'",
            "did you mean 'ports'?",
        ),
    )


def test_dynamic_without_for_each_or_content(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_instance" "a" {
          dynamic "ebs_block_device" {
            iterater = disk
          }
        }
        """
    field = "aws_instance.a.ebs_block_device"
    assert problems(text) == (
        Problem(
            module.where(text, "dynamic", field),
            "dynamic 'ebs_block_device' has no for_each",
            "add for_each = ...",
        ),
        Problem(
            module.where(text, "dynamic", field),
            "dynamic 'ebs_block_device' needs exactly one content block, found 0",
            "put the generated arguments in one content { ... }",
        ),
        Problem(
            module.where(text, "iterater", f"{field}.iterater"),
            "unknown argument 'iterater' in dynamic 'ebs_block_device'",
            "did you mean 'iterator'?",
        ),
    )


def test_dynamic_block_counts_toward_min_items(problems: Problems) -> None:
    text = """\
        resource "google_compute_instance" "vm" {
          name         = "vm"
          machine_type = "e2-small"
          dynamic "boot_disk" {
            for_each = [1]
            content {
              auto_delete = true
            }
          }
          dynamic "network_interface" {
            for_each = var.networks
            content {
              network = network_interface.value
            }
          }
        }
        """
    assert problems(text) == ()


def test_provider_block_checked_when_its_schema_is_shipped(
    problems: Problems, module: Module
) -> None:
    text = """\
        provider "azurerm" {
          featurs {}
          subscription_idd = "x"
          alias            = "second"
        }

        provider "aws" {
          region        = "eu-west-1"
          anything_goes = true
        }
        """
    assert problems(text) == (
        Problem(
            module.where(text, "featurs", "provider.azurerm.featurs"),
            "unknown block 'featurs'",
            "did you mean 'features'?",
        ),
        Problem(
            module.where(text, "subscription_idd", "provider.azurerm.subscription_idd"),
            "unknown argument 'subscription_idd'",
            "did you mean 'subscription_id'?",
        ),
    )


def test_provider_without_required_providers_entry(problems: Problems, module: Module) -> None:
    text = 'resource "aws_vpc" "v" {}\n\nresource "terraform_data" "t" {}\n'
    assert problems(text, versions=False) == (
        Problem(
            module.where(text, "resource", "aws_vpc.v"),
            "provider 'aws' has no entry in required_providers",
            'add aws = { source = "hashicorp/aws", version = "~> 6.0" } '
            "to terraform { required_providers { ... } }",
        ),
    )


def test_required_providers_with_the_wrong_source(problems: Problems, module: Module) -> None:
    versions = """\
        terraform {
          required_providers {
            google = "~> 6.0"
            azurerm = {
              source = "registry.terraform.io/hashicorp/azurerm"
            }
            aws = {
              source = "hashicorp/awss"
            }
          }
        }
        """
    module.write(versions, "versions.tf")
    text = """\
        resource "aws_vpc" "v" {}
        resource "google_compute_network" "n" {
          name = "n"
        }
        resource "azurerm_resource_group" "g" {
          name     = "g"
          location = "westeurope"
        }
        """
    assert problems(text, versions=False) == (
        Problem(
            module.where(versions, "aws =", "terraform.required_providers.aws", name="versions.tf"),
            "provider 'aws' has source 'hashicorp/awss', expected 'hashicorp/aws'",
            'set source = "hashicorp/aws"',
        ),
    )


def test_validate_tree_checks_every_folder_with_tf_files(tmp_path: Path) -> None:
    good = 'resource "aws_vpc" "v" {\n  cidr_block = "10.0.0.0/16"\n}\n'
    files = {
        "main.tf": good,
        "versions.tf": VERSIONS,
        "modules/net/main.tf": 'resource "aws_subnet" "s" {\n  vpc_idd = "x"\n}\n',
        "modules/net/versions.tf": VERSIONS,
        "modules/empty/README.md": "no terraform here\n",
        ".terraform/modules/x/main.tf": 'resource "nonsense" "x" {}\n',
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = validate_tree(tmp_path)
    assert report.root == str(tmp_path)
    assert report.folders == (str(tmp_path), str(tmp_path / "modules" / "net"))
    assert report.blocks == 2
    net = str(tmp_path / "modules/net/main.tf")
    assert report.problems == (
        Problem(
            Where(net, 1, field="aws_subnet.s.vpc_id"),
            "missing required argument 'vpc_id'",
            "set vpc_id = ...",
        ),
        Problem(
            Where(net, 2, field="aws_subnet.s.vpc_idd"),
            "unknown argument 'vpc_idd'",
            "did you mean 'vpc_id'?",
        ),
    )
    assert not report.ok


def test_validate_dir_ignores_subfolders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "main.tf").write_text('resource "nonsense" "x" {}\n')
    (tmp_path / "main.tf").write_text(textwrap.dedent(VERSIONS))
    assert validate_dir(tmp_path) == ()


def test_validate_a_missing_folder_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        validate_dir(tmp_path / "nope")
    assert exc.value.message == f"{tmp_path / 'nope'} is not a folder"
    assert exc.value.hint == "pass the folder that holds the generated .tf files"
