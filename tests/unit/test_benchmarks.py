"""The benchmarks' defaults match what the README reports."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_solver_scale_defaults_to_the_readme_time_limit() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(r"benchmarks/solver_scale\.py --time-limit (\d+)", readme)
    assert match, "the README's performance table names its --time-limit"
    script = ROOT / "benchmarks" / "solver_scale.py"
    help_text = subprocess.run(
        [sys.executable, str(script), "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert f"(default: {match.group(1)}," in " ".join(help_text.split())
    doc = script.read_text(encoding="utf-8").split('"""')[1]
    assert f"[--time-limit {match.group(1)}]" in doc
    assert f"defaults to {match.group(1)} s" in " ".join(doc.split())
