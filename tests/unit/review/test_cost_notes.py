"""What a plan's totals leave out is said where the totals are shown (table and markdown)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skyplan.plan import read_plan
from skyplan.review.markdown import plan_markdown
from skyplan.review.summary import STANDING_COST_NOTE, cost_notes

STACKS = Path(__file__).resolve().parents[3] / "stacks"


@pytest.mark.parametrize("stack", ["genomics", "analytics", "ml-training"])
def test_cloud_plans_say_stopped_nodes_stay_billed_until_destroy(stack: str) -> None:
    """Nodes power off when done but are not deleted: their disks (and the buckets) cost money
    until `skyplan destroy`, which the total does not count."""
    plan = read_plan(STACKS / stack / "plan.json")
    assert cost_notes(plan) == (STANDING_COST_NOTE,)
    assert "skyplan destroy" in STANDING_COST_NOTE and "not deleted" in STANDING_COST_NOTE
    assert f"_{STANDING_COST_NOTE}_" in plan_markdown(plan).splitlines()


def test_a_local_plan_has_nothing_standing() -> None:
    plan = read_plan(STACKS / "local-demo" / "plan.json")
    assert cost_notes(plan) == ()
    assert "not deleted" not in plan_markdown(plan)
