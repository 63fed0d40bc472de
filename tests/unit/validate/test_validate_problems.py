"""Each kind of schema violation is reported once, at its line, with the block address and a fix."""

from __future__ import annotations

from collections.abc import Callable

from tfmodule import Module

from skyplan.errors import Problem, Where

Problems = Callable[..., tuple[Problem, ...]]


def test_unknown_resource_type_did_you_mean(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_instanc" "align" {
          instance_type = "t3.micro"
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "resource", "aws_instanc.align"),
            "unknown resource type 'aws_instanc' in hashicorp/aws 6.47.0",
            "did you mean 'aws_instance'?",
        ),
    )


def test_data_source_declared_as_resource(problems: Problems, module: Module) -> None:
    text = 'resource "aws_ami" "ubuntu" {}\n'
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "resource", "aws_ami.ubuntu"),
            "unknown resource type 'aws_ami' in hashicorp/aws 6.47.0",
            'aws_ami is a data source: write data "aws_ami" ...',
        ),
    )


def test_type_of_a_provider_without_schema(problems: Problems, module: Module) -> None:
    text = 'resource "random_id" "x" {}\n\ndata "googl_project" "p" {}\n'
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "resource", "random_id.x"),
            "no offline schema for the provider of resource type 'random_id'",
            "skyplan checks only the providers aws, azurerm, google, terraform",
        ),
        Problem(
            module.where(text, "data", "data.googl_project.p"),
            "no offline schema for the provider of data source type 'googl_project'",
            "did you mean 'google_project'?",
        ),
    )


def test_unknown_argument_did_you_mean(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_instance" "align" {
          ami          = "ami-123"
          instance_typ = "t3.micro"
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "instance_typ", "aws_instance.align.instance_typ"),
            "unknown argument 'instance_typ'",
            "did you mean 'instance_type'?",
        ),
    )


def test_computed_only_attribute_cannot_be_set(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_instance" "align" {
          instance_type = "t3.micro"
          arn           = "arn:aws:ec2:eu-west-1:1:instance/i-1"
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "arn", "aws_instance.align.arn"),
            "'arn' is computed by the provider and cannot be set",
            "remove it; the provider sets it (read it as aws_instance.align.arn)",
        ),
    )


def test_unknown_nested_block_did_you_mean(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_instance" "align" {
          root_block_devic {
            volume_size = 10
          }
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "root_block_devic", "aws_instance.align.root_block_devic"),
            "unknown block 'root_block_devic'",
            "did you mean 'root_block_device'?",
        ),
    )


def test_unknown_argument_inside_nested_block(problems: Problems, module: Module) -> None:
    text = """\
        resource "google_compute_instance" "vm" {
          name         = "vm"
          machine_type = "e2-small"
          boot_disk {
            initialize_params {
              imag = "debian-12"
            }
          }
          network_interface {
            network = "default"
          }
        }
        """
    field = "google_compute_instance.vm.boot_disk.initialize_params.imag"
    assert problems(text) == (
        Problem(
            module.where(text, "imag", field), "unknown argument 'imag'", "did you mean 'image'?"
        ),
    )


def test_missing_required_attribute(problems: Problems, module: Module) -> None:
    text = """\
        resource "google_compute_network" "main" {
          auto_create_subnetworks = false
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "resource", "google_compute_network.main.name"),
            "missing required argument 'name'",
            "set name = ...",
        ),
    )


def test_missing_required_nested_block(problems: Problems, module: Module) -> None:
    text = """\
        resource "google_compute_instance" "vm" {
          name         = "vm"
          machine_type = "e2-small"
          network_interface {
            network = "default"
          }
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "resource", "google_compute_instance.vm.boot_disk"),
            "missing required block 'boot_disk'",
            "add boot_disk { ... }",
        ),
    )


def test_too_many_blocks_for_max_items_one(problems: Problems, module: Module) -> None:
    text = """\
        resource "azurerm_linux_virtual_machine" "vm" {
          name                  = "vm"
          location              = "westeurope"
          resource_group_name   = "rg"
          size                  = "Standard_B2s"
          network_interface_ids = []
          os_disk {
            caching = "ReadWrite"
          }
          os_disk {
            caching = "None"
          }
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "os_disk", "azurerm_linux_virtual_machine.vm.os_disk", nth=1),
            "too many 'os_disk' blocks: 2 given, at most 1 allowed",
            "merge them into one block",
        ),
    )


def test_block_written_as_argument_and_argument_as_block(
    problems: Problems, module: Module
) -> None:
    text = """\
        resource "aws_instance" "a" {
          root_block_device = { volume_size = 10 }
          ami {
            id = "ami-1"
          }
          lifecycle = { prevent_destroy = true }
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "root_block_device", "aws_instance.a.root_block_device"),
            "'root_block_device' is a block, not an argument",
            "write root_block_device { ... }",
        ),
        Problem(
            module.where(text, "ami {", "aws_instance.a.ami"),
            "'ami' is an argument, not a block",
            "write ami = ...",
        ),
        Problem(
            module.where(text, "lifecycle", "aws_instance.a.lifecycle"),
            "'lifecycle' is a block, not an argument",
            "write lifecycle { ... }",
        ),
    )


def test_count_and_for_each_together(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_vpc" "v" {
          count    = 2
          for_each = toset(["a"])
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "resource", "aws_vpc.v.for_each"),
            "count and for_each cannot both be set",
            "keep one of them",
        ),
    )


def test_meta_block_in_data_source_is_not_accepted(problems: Problems, module: Module) -> None:
    text = """\
        data "aws_region" "here" {
          provisioner "local-exec" {
            command = "true"
          }
        }
        """
    found = problems(text)
    assert found == (
        Problem(
            module.where(text, "provisioner", "data.aws_region.here.provisioner"),
            "unknown block 'provisioner'",
            "remove it; blocks here: lifecycle",
        ),
    )


def test_unparseable_file_is_a_problem_with_its_line(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_vpc" "v" {
          cidr_block =
        }
        """
    found = problems(text)
    path = str(module.root / "main.tf")
    assert len(found) == 1
    assert found[0].where == Where(path, 2, 15)
    assert found[0].message.startswith("not valid HCL: Unexpected token")
    assert found[0].hint == "fix the syntax here; `terraform fmt` reports the same place"


def test_unparseable_file_does_not_hide_the_others(problems: Problems, module: Module) -> None:
    module.write("resource {\n", "broken.tf")
    text = 'resource "aws_vpc" "v" {\n  cidr_blok = "10.0.0.0/16"\n}\n'
    found = problems(text)
    assert [(p.where.file, p.where.line) for p in found if p.where] == [
        (str(module.root / "broken.tf"), 2),
        (str(module.root / "main.tf"), 2),
    ]
    assert found[1].message == "unknown argument 'cidr_blok'"
