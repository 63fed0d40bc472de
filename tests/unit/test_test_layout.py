"""The test suite collects in any selection and order: helpers are never imported from a
conftest.py, whose module name pytest shares between every conftest it loads."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_no_test_module_imports_from_conftest() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if re.search(r"^\s*(from conftest import|import conftest)\b", path.read_text(), re.M)
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "paths",
    [
        ("tests/unit/spec", "tests/functional/test_hostile_input.py"),
        ("tests/functional/test_hostile_input.py", "tests/unit/spec"),
    ],
)
def test_spec_and_functional_tests_collect_together(paths: tuple[str, ...]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
