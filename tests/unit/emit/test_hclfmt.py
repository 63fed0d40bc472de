"""format_hcl reproduces terraform fmt's layout (every emitted file is also checked against the
real binary in tests/integration)."""

from __future__ import annotations

import textwrap

from skyplan.emit.hclfmt import format_hcl
from skyplan.emit.render import hcl_string, hcl_value


def fmt(text: str) -> str:
    return format_hcl(textwrap.dedent(text))


def test_aligns_runs_of_one_line_attributes() -> None:
    assert (
        fmt(
            """
        resource "x" "y" {
        a = 1
        long_name = "v"
        }
        """
        )
        == 'resource "x" "y" {\n  a         = 1\n  long_name = "v"\n}\n'
    )


def test_a_multi_line_value_and_a_blank_line_end_a_run() -> None:
    out = fmt(
        """
        locals {
        a = 1
        tags = merge(var.tags, {
        k = "v"
        longer = "w"
        })
        bb = 2

        cccc = 3
        }
        """
    )
    assert out == textwrap.dedent(
        """\
        locals {
          a = 1
          tags = merge(var.tags, {
            k      = "v"
            longer = "w"
          })
          bb = 2

          cccc = 3
        }
        """
    )


def test_brackets_inside_strings_and_interpolations_do_not_count() -> None:
    out = fmt(
        """
        x {
        a = "{ not a block ${var.x} ["
        bb = "${join(",", ["a"])}"
        }
        """
    )
    assert out == 'x {\n  a  = "{ not a block ${var.x} ["\n  bb = "${join(",", ["a"])}"\n}\n'


def test_blank_lines_collapse_and_never_hug_brackets() -> None:
    out = fmt("a {\n\n\n  b = 1\n\n\n\n  c {\n  }\n\n}\n\n\n")
    assert out == "a {\n  b = 1\n\n  c {\n  }\n}\n"


def test_hcl_literals() -> None:
    assert hcl_string('say "${hi}" %{x}') == '"say \\"$${hi}\\" %%{x}"'
    assert hcl_value(True) == "true"
    assert hcl_value(["a", "b"]) == '["a", "b"]'
    long = [f"item-number-{i}" for i in range(6)]
    assert hcl_value(long).splitlines()[0] == "["
    assert hcl_value(long).splitlines()[1] == '"item-number-0",'
    assert hcl_value({"b": 1, "a": "x"}) == '{\n"a" = "x"\n"b" = 1\n}'
