"""When the search limit stops CP-SAT early, the starting plan comes back as FEASIBLE."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from skyplan.catalog import load_embedded_catalog
from skyplan.plan import plan_to_json
from skyplan.solver.solve import Limits, solve_detailed
from skyplan.spec.resolve import load_spec

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
from benchmarks.synthetic import synthetic_spec


def test_a_tiny_work_limit_still_returns_a_plan_the_same_every_time(tmp_path: Path) -> None:
    cat = load_embedded_catalog()
    path = tmp_path / "sky.yaml"
    path.write_text(yaml.safe_dump(synthetic_spec(60, cat)), encoding="utf-8")
    spec = load_spec(path, cat)
    limits = Limits(time_limit=60, work_limit=0.001)
    first = solve_detailed(spec, cat, limits=limits)
    assert first.plan.solver.status == "FEASIBLE"
    assert first.plan.solver.gap is not None and 0 < first.plan.solver.gap <= 1
    again = solve_detailed(spec, cat, limits=limits)
    assert plan_to_json(again.plan) == plan_to_json(first.plan)
    best = solve_detailed(spec, cat)
    assert best.plan.solver.status == "OPTIMAL"
    assert best.plan.total_usd <= first.plan.total_usd
