"""Reading .tf files: the line scan, python-hcl2 output of both major versions, parse failures."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tfmodule import Module, line_of

from skyplan.errors import Problem, Where
from skyplan.validate import hcl
from skyplan.validate.hcl import HclAttribute, HclBlock, HclFile, parse_file
from skyplan.validate.outline import outline

Problems = Callable[..., tuple[Problem, ...]]

TRICKY = """\
# a comment with { an unbalanced brace
resource "aws_iam_role" "r" {
  /* a block comment
     resource "fake" "x" { */
  assume_role_policy = <<-EOT
    {"Statement": [{"Effect": "Allow"
    resource "fake" "y" {
  EOT
  name = "say \\"}\\" ${jsonencode({ a = "}" })}"
  tags = {
    Name = "x"
  }
  inline_policy { name = "one-line" }
  description = jsonencode({
    nested = ["{"]
  })
  max_session_duration = 3600
}
"""


def test_outline_finds_lines_past_strings_heredocs_and_comments() -> None:
    root = outline(TRICKY)
    (role,) = root.blocks("resource")
    assert (role.line, role.labels) == (2, ("aws_iam_role", "r"))
    lines = {c.name: c.line for c in role.children}
    expected = ["assume_role_policy", "name", "tags", "inline_policy", "description"]
    assert lines == {n: line_of(TRICKY, f"  {n} ") for n in [*expected, "max_session_duration"]}
    (inline,) = role.blocks("inline_policy")
    assert [(c.name, c.line, c.is_block) for c in inline.children] == [("name", 13, False)]


def test_parse_file_gives_values_and_lines(module: Module) -> None:
    path = module.write(TRICKY)
    parsed = parse_file(path)
    assert isinstance(parsed, HclFile)
    (role,) = parsed.blocks
    assert (role.type, role.labels, role.line) == ("resource", ("aws_iam_role", "r"), 2)
    assert role.attribute("tags") == HclAttribute("tags", {"Name": "x"}, 10)
    assert role.blocks == (
        HclBlock("inline_policy", (), (HclAttribute("name", "one-line", 13),), (), 13),
    )


def test_lines_after_a_heredoc_are_right(problems: Problems, module: Module) -> None:
    text = """\
        resource "aws_iam_role" "r" {
          assume_role_policy = <<EOT
        {"a": {"b": 1}
        EOT
          nam = "x"
        }
        """
    assert problems(text) == (
        Problem(
            module.where(text, "nam =", "aws_iam_role.r.nam"),
            "unknown argument 'nam'",
            "did you mean 'name'?",
        ),
    )


def _as_hcl2_v7(value: Any) -> Any:
    """python-hcl2 8.x output reshaped as 7.x returns it: no block markers, strings unquoted."""
    if isinstance(value, dict):
        return {_as_hcl2_v7(k): _as_hcl2_v7(v) for k, v in value.items() if k != "__is_block__"}
    if isinstance(value, list):
        return [_as_hcl2_v7(v) for v in value]
    if isinstance(value, str) and re.fullmatch(r'"(.*)"', value, re.S):
        return value[1:-1].replace('\\"', '"')
    return value


def test_python_hcl2_7_output_gives_the_same_tree(
    module: Module, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = """\
        resource "aws_instance" "a" {
          instance_type = "t3.micro"
          tags          = { Name = "x" }
          root_block_device {
            volume_size = 10
          }
          dynamic "ebs_block_device" {
            for_each = var.disks
            content {
              device_name = "/dev/sdf"
            }
          }
        }
        resource "aws_security_group" "g" {
          ingress = [{ from_port = 22 }]
        }
        """
    path = module.write(text)
    v8 = parse_file(path)
    loads = hcl._loads
    monkeypatch.setattr(hcl, "_loads", lambda t: _as_hcl2_v7(loads(t)))
    assert parse_file(path) == v8


def test_errors_without_a_position_still_name_the_file(
    module: Module, monkeypatch: pytest.MonkeyPatch
) -> None:
    def duplicate(text: str) -> dict[str, Any]:
        raise RuntimeError("instance_type already defined")

    monkeypatch.setattr(hcl, "_loads", duplicate)
    path = module.write('resource "aws_vpc" "v" {}\n')
    assert parse_file(path) == Problem(
        Where(str(path)),
        "not valid HCL: instance_type already defined",
        "fix the syntax here; `terraform fmt` reports the same place",
    )


def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.tf"
    path.write_bytes(b"\xff\xfe resource")
    found = parse_file(path)
    assert isinstance(found, Problem)
    assert found.where == Where(str(path))
    assert found.message.startswith("cannot read: ")
    assert found.hint == "save the file as UTF-8 text"


def test_unquoted_labels_and_escapes(module: Module) -> None:
    text = textwrap.dedent("""\
        resource aws_vpc main {
          cidr_block = "a\\"b\\\\c"
        }
        """)
    parsed = parse_file(module.write(text))
    assert isinstance(parsed, HclFile)
    (vpc,) = parsed.blocks
    assert vpc.labels == ("aws_vpc", "main")
    assert vpc.attributes == (HclAttribute("cidr_block", 'a"b\\c', 2),)
