"""Fixtures for the golden tests: `--update-golden` and running the real `skyplan` CLI.

The `--update-golden` option itself is declared in tests/conftest.py: pytest only reads
pytest_addoption from conftest files it loads at start-up.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

#: The console entry point in a fresh interpreter, so exit codes and file writing are real.
CLI = (sys.executable, "-c", "from skyplan.cli.app import main; main()")

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


@dataclass(frozen=True)
class Planned:
    """What `skyplan plan` produced for one spec."""

    text: str  # plan.json, byte for byte
    stdout: str  # the table

    @property
    def data(self) -> dict[str, Any]:
        """plan.json parsed."""
        result: dict[str, Any] = json.loads(self.text)
        return result


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    """True when pytest runs with --update-golden."""
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture
def skyplan_cli(tmp_path: Path) -> RunCli:
    """Run `skyplan ARGS...` from tmp_path (never from the repository), without raising."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*CLI, *args], cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
        )

    return run


@pytest.fixture
def run_plan(tmp_path: Path, skyplan_cli: RunCli) -> Callable[[Path], Planned]:
    """Plan a spec into a fresh folder under tmp_path; the command must exit 0."""
    counter = iter(range(1_000_000))

    def run(spec: Path) -> Planned:
        out = tmp_path / f"plan{next(counter)}"
        proc = skyplan_cli("plan", str(spec), "--out", str(out))
        assert proc.returncode == 0, f"skyplan plan {spec} exited {proc.returncode}:\n{proc.stderr}"
        return Planned((out / "plan.json").read_bytes().decode("utf-8"), proc.stdout)

    return run
