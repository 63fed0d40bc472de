"""Fixtures for validator tests: a module folder under tmp_path and its problems."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tfmodule import VERSIONS, Module

from skyplan.errors import Problem
from skyplan.validate import validate_dir


@pytest.fixture
def module(tmp_path: Path) -> Module:
    """An empty module folder."""
    return Module(tmp_path / "mod")


@pytest.fixture
def problems(module: Module) -> Callable[..., tuple[Problem, ...]]:
    """Write `text` as main.tf next to a versions.tf pinning every provider; validate the folder."""

    def run(text: str, versions: bool = True) -> tuple[Problem, ...]:
        module.write(text)
        if versions:
            module.write(VERSIONS, "versions.tf")
        return validate_dir(module.root)

    return run
