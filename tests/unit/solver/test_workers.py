"""Several search workers run interleaved: the plan stays byte-identical."""

from __future__ import annotations

from pathlib import Path

from skyplan.catalog import load_embedded_catalog
from skyplan.plan import plan_to_json
from skyplan.solver.solve import solve
from skyplan.spec.resolve import load_spec

STACKS = Path(__file__).resolve().parents[3] / "stacks"


def test_two_workers_give_the_same_bytes_as_one() -> None:
    cat = load_embedded_catalog()
    for name in ("genomics", "analytics"):
        spec = load_spec(STACKS / name / "sky.yaml", cat)
        one = plan_to_json(solve(spec, cat, workers=1))
        assert plan_to_json(solve(spec, cat, workers=2)) == one
        assert plan_to_json(solve(spec, cat, workers=2)) == one
        assert one == (STACKS / name / "plan.json").read_text(encoding="utf-8")
