"""The benchmark's synthetic specs (benchmarks/synthetic.py), loaded and pruned, for tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from skyplan.catalog import load_embedded_catalog
from skyplan.solver.candidates import Candidates, prune
from skyplan.spec.model import SkySpec
from skyplan.spec.resolve import load_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from benchmarks.synthetic import synthetic_spec


def synthetic(tmp_path: Path, jobs: int, seed: int) -> tuple[SkySpec, Any, Candidates]:
    """The synthetic spec of `jobs` jobs and `seed`, written to tmp_path and loaded, with the
    embedded catalog and the pruned candidates."""
    cat = load_embedded_catalog()
    path = tmp_path / "sky.yaml"
    path.write_text(yaml.safe_dump(synthetic_spec(jobs, cat, seed)), encoding="utf-8")
    spec = load_spec(path, cat)
    return spec, cat, prune(spec, cat, frozenset())
