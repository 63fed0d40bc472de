"""checkov (its own venv, offline) on every generated example module: 0 failed checks.

Checks that truly do not apply are skipped inline in the templates, each with its reason. Every
module under stacks/ is scanned, the nested environment modules (`genomics/prod/gcp`) included.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from example_modules import module_folders, module_id

REPO_VENV = Path(__file__).resolve().parents[2] / ".venv-checkov" / "bin" / "checkov"


def find_checkov() -> str | None:
    """SKYPLAN_CHECKOV, the repository's .venv-checkov (made by .ci/run), or one on PATH."""
    if os.environ.get("SKYPLAN_CHECKOV"):
        return os.environ["SKYPLAN_CHECKOV"]
    if REPO_VENV.exists():
        return str(REPO_VENV)
    return shutil.which("checkov")


CHECKOV = find_checkov()
REQUIRED = os.environ.get("SKYPLAN_REQUIRE_CHECKOV") == "1"


@pytest.mark.parametrize("module", module_folders(), ids=module_id)
def test_checkov_passes(module: Path) -> None:
    if CHECKOV is None:
        if REQUIRED:
            pytest.fail("SKYPLAN_REQUIRE_CHECKOV=1 but checkov was not found")
        pytest.skip("checkov is not installed (.ci/run installs it in .venv-checkov)")
    proc = subprocess.run(
        [
            CHECKOV,
            "-d",
            str(module),
            "--framework",
            "terraform",
            "--skip-download",
            "--quiet",
            "--compact",
            "-o",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(proc.stdout)
    report = report[0] if isinstance(report, list) else report
    failed = sorted(
        f"{c['check_id']} {c['resource']}: {c['check_name']}"
        for c in report.get("results", {}).get("failed_checks", [])
    )
    assert failed == [], "\n".join(failed)
    summary = report.get("summary", {})
    assert summary.get("parsing_errors", 0) == 0
    assert summary.get("passed", 0) > 0 or module.name == "local"
