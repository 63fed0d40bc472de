"""Helpers for spec tests: write a sky.yaml to tmp_path, load it, collect the problems."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from skyplan.catalog import Catalog, load_embedded_catalog
from skyplan.errors import Problem, SpecError
from skyplan.spec.model import SkySpec
from skyplan.spec.resolve import load_spec


def pos(text: str, needle: str, nth: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the nth occurrence of `needle` in dedented `text`."""
    text = textwrap.dedent(text)
    start = -1
    for _ in range(nth + 1):
        start = text.index(needle, start + 1)
    line = text.count("\n", 0, start) + 1
    col = start - (text.rfind("\n", 0, start) + 1) + 1
    return line, col


@pytest.fixture(name="pos")
def pos_fixture() -> Callable[..., tuple[int, int]]:
    """The `pos` helper as a fixture."""
    return pos


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The embedded catalog (loaded once)."""
    return load_embedded_catalog()


@pytest.fixture
def write_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write dedented YAML to tmp_path/<name> and return its path."""

    def write(text: str, name: str = "sky.yaml") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


@pytest.fixture
def resolve_ok(write_spec: Callable[..., Path], catalog: Catalog) -> Callable[[str], SkySpec]:
    """Load and resolve a spec that must be valid."""

    def run(text: str) -> SkySpec:
        return load_spec(write_spec(text), catalog)

    return run


@pytest.fixture
def problems_of(
    write_spec: Callable[..., Path], catalog: Catalog
) -> Callable[..., tuple[Problem, ...]]:
    """Load a spec that must be invalid; return every problem the SpecError carries."""

    def run(text: str, cat: Catalog | None = None) -> tuple[Problem, ...]:
        path = write_spec(text)
        with pytest.raises(SpecError) as exc:
            load_spec(path, cat or catalog)
        return exc.value.problems

    return run
