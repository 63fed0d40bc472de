"""Drive the real `skyplan` console script in a subprocess, in a temporary working directory."""

from __future__ import annotations

import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from cli_helpers import run_cli, write_tiny_catalog


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """An empty working directory for the subprocess."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write dedented text to tmp_path/<relative path> and return the path."""

    def _write(rel: str, text: str) -> Path:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return _write


@pytest.fixture
def tiny_catalog(tmp_path: Path) -> Path:
    """A tiny catalog folder in tmp_path/tiny."""
    return write_tiny_catalog(tmp_path / "tiny")


@pytest.fixture
def cli() -> Callable[..., subprocess.CompletedProcess[str]]:
    """`run_cli` as a fixture."""
    return run_cli


@pytest.fixture
def make_catalog() -> Callable[[Path], Path]:
    """`write_tiny_catalog` as a fixture."""
    return write_tiny_catalog
