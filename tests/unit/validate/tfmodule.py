"""Shared by the validator tests: write .tf modules to a folder and locate lines in them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from skyplan.errors import Where

VERSIONS = """\
terraform {
  required_version = ">= 1.6"
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 6.0"
    }
    google = {
      source  = "hashicorp/google"
      version = "~> 6.0"
    }
    azurerm = {
      source  = "hashicorp/azurerm"
      version = "~> 4.0"
    }
  }
}
"""


def line_of(text: str, needle: str, nth: int = 0) -> int:
    """1-based line of the nth occurrence of `needle` in dedented `text`."""
    text = textwrap.dedent(text)
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    return text.count("\n", 0, start) + 1


class Module:
    """A folder of .tf files under tmp_path, written from dedented text."""

    def __init__(self, root: Path):
        self.root = root

    def write(self, text: str, name: str = "main.tf") -> Path:
        """Write dedented `text` to root/name and return its path."""
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def where(
        self, text: str, needle: str, field: str, nth: int = 0, name: str = "main.tf"
    ) -> Where:
        """The Where of `needle` in file `name` holding `text`."""
        return Where(str(self.root / name), line_of(text, needle, nth), field=field)
