"""Valid modules of every provider pass: nested, dynamic and attribute-as-block syntax, meta."""

from __future__ import annotations

from collections.abc import Callable

from skyplan.errors import Problem

Problems = Callable[..., tuple[Problem, ...]]

AWS = """\
provider "aws" {
  region = var.region
}

data "aws_availability_zones" "available" {
  state = "available"
}

data "aws_ami" "ubuntu" {
  most_recent = true
  owners      = ["099720109477"]
  filter {
    name   = "name"
    values = ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"]
  }
  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_vpc" "main" {
  cidr_block           = "10.0.0.0/16"
  enable_dns_hostnames = true
  tags = {
    Name = "skyplan-${var.stack}"
  }
}

resource "aws_security_group" "job" {
  name   = "job"
  vpc_id = aws_vpc.main.id
  # Attribute written as blocks: Terraform's "attributes as blocks" mode.
  egress {
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }
}

resource "aws_s3_bucket" "data" {
  bucket_prefix = "skyplan-"
  force_destroy = false
}

resource "aws_s3_bucket_server_side_encryption_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.data.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "data" {
  bucket = aws_s3_bucket.data.id
  rule {
    id     = "expire"
    status = "Enabled"
    filter {
      prefix = "tmp/"
    }
    expiration {
      days = 30
    }
  }
}

resource "aws_kms_key" "data" {
  description         = "skyplan data"
  enable_key_rotation = true
}

resource "aws_iam_role" "job" {
  name_prefix        = "job-"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "job" {
  role   = aws_iam_role.job.id
  policy = <<-EOT
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
  EOT
}

resource "aws_instance" "align" {
  count                  = var.nodes
  ami                    = data.aws_ami.ubuntu.id
  instance_type          = "p4d.24xlarge"
  subnet_id              = var.subnet_id
  vpc_security_group_ids = [aws_security_group.job.id]
  user_data              = "echo \\"{ not a block }\\""
  root_block_device {
    volume_size = 200
    encrypted   = true
  }
  dynamic "ebs_block_device" {
    for_each = var.disks
    iterator = disk
    content {
      device_name = disk.value.device
      volume_size = disk.value.size
    }
  }
  metadata_options {
    http_tokens = "required"
  }
  timeouts {
    create = "20m"
  }
  lifecycle {
    create_before_destroy = true
    ignore_changes        = [ami]
  }
  depends_on = [aws_s3_bucket.data]
}

resource "terraform_data" "ready" {
  input            = aws_instance.align[*].id
  triggers_replace = [aws_instance.align[0].id]
  provisioner "local-exec" {
    command = "echo ready"
  }
}
"""

GOOGLE = """\
provider "google" {
  project = var.project
}

data "google_compute_image" "debian" {
  family  = "debian-12"
  project = "debian-cloud"
}

data "google_client_config" "current" {}

resource "google_compute_network" "main" {
  name                    = "skyplan"
  auto_create_subnetworks = false
}

resource "google_compute_subnetwork" "main" {
  name          = "skyplan"
  ip_cidr_range = "10.10.0.0/20"
  region        = var.region
  network       = google_compute_network.main.id
}

resource "google_compute_firewall" "ssh" {
  name    = "ssh"
  network = google_compute_network.main.name
  dynamic "allow" {
    for_each = toset(["22", "443"])
    content {
      protocol = "tcp"
      ports    = [allow.value]
    }
  }
  source_ranges = ["35.235.240.0/20"]
}

resource "google_storage_bucket" "data" {
  name                        = "skyplan-data"
  location                    = "EU"
  uniform_bucket_level_access = true
  versioning {
    enabled = true
  }
  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = 30
    }
  }
}

resource "google_compute_instance" "align" {
  for_each     = var.jobs
  name         = each.key
  machine_type = each.value
  zone         = "${var.region}-a"
  boot_disk {
    initialize_params {
      image = data.google_compute_image.debian.self_link
      size  = 100
    }
  }
  network_interface {
    subnetwork = google_compute_subnetwork.main.id
    access_config {}
  }
  service_account {
    scopes = ["cloud-platform"]
  }
}
"""

AZURERM = """\
provider "azurerm" {
  features {
    resource_group {
      prevent_deletion_if_contains_resources = true
    }
  }
  subscription_id = var.subscription_id
}

resource "azurerm_resource_group" "main" {
  name     = "skyplan"
  location = "westeurope"
}

resource "azurerm_network_interface" "vm" {
  name                = "vm"
  location            = azurerm_resource_group.main.location
  resource_group_name = azurerm_resource_group.main.name
  ip_configuration {
    name                          = "internal"
    subnet_id                     = var.subnet_id
    private_ip_address_allocation = "Dynamic"
  }
}

resource "azurerm_linux_virtual_machine" "align" {
  name                  = "align"
  location              = azurerm_resource_group.main.location
  resource_group_name   = azurerm_resource_group.main.name
  size                  = "Standard_NC24ads_A100_v4"
  admin_username        = "skyplan"
  network_interface_ids = [azurerm_network_interface.vm.id]
  admin_ssh_key {
    username   = "skyplan"
    public_key = var.ssh_key
  }
  os_disk {
    caching              = "ReadWrite"
    storage_account_type = "Premium_LRS"
  }
  source_image_reference {
    publisher = "Canonical"
    offer     = "ubuntu-24_04-lts"
    sku       = "server"
    version   = "latest"
  }
  identity {
    type = "SystemAssigned"
  }
}

data "azurerm_client_config" "current" {}
"""


def test_valid_aws_module(problems: Problems) -> None:
    assert problems(AWS) == ()


def test_valid_google_module(problems: Problems) -> None:
    assert problems(GOOGLE) == ()


def test_valid_azurerm_module(problems: Problems) -> None:
    assert problems(AZURERM) == ()


def test_valid_terraform_data_alone_needs_no_required_providers(problems: Problems) -> None:
    text = """\
        resource "terraform_data" "bootstrap" {
          input = { stack = "demo" }
          lifecycle {
            replace_triggered_by = [terraform_data.other]
          }
        }
        """
    assert problems(text, versions=False) == ()


def test_meta_arguments_are_accepted(problems: Problems) -> None:
    text = """\
        resource "aws_instance" "a" {
          for_each      = toset(["x", "y"])
          provider      = aws.eu
          instance_type = "t3.micro"
          depends_on    = [aws_vpc.v]
          lifecycle {
            prevent_destroy = true
          }
          connection {
            host = self.public_ip
          }
          provisioner "remote-exec" {
            inline = ["true"]
          }
        }

        resource "aws_vpc" "v" {
          count = 2
        }

        data "aws_region" "here" {
          provider   = aws.eu
          depends_on = [aws_vpc.v]
          lifecycle {
            postcondition {
              condition     = self.region != ""
              error_message = "no region"
            }
          }
        }

        provider "aws" {
          alias = "eu"
        }
        """
    assert problems(text) == ()
