"""The review of a change in every format: what a reviewer must see, and the size limit."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from skyplan.cli.render_diff import print_diff
from skyplan.plan import Placement, Plan, SolverInfo, Transfer, plan_to_json
from skyplan.review.diff import ModuleChanges, RuleCheck, StackDiff, diff_stacks
from skyplan.review.diff_markdown import LIMIT, diff_dict, diff_markdown


def place(job: str, region: str, nodes: int = 1, hours: int = 2) -> Placement:
    cloud, name = region.split(":")
    rate = Decimal("0.5")
    return Placement(job, cloud, name, "m.large", False, nodes, Decimal(hours), rate,
                     rate * nodes * hours)  # fmt: skip


def copy(dataset: str, src: str, dst: str, gb: int = 20) -> Transfer:
    return Transfer(dataset, src, dst, Decimal(gb), Decimal("0.02"), Decimal("0.02") * gb)


def plan(stack: str, placements: list[Placement], transfers: list[Transfer]) -> Plan:
    return Plan(stack, tuple(placements), tuple(transfers), SolverInfo("OPTIMAL"))


def files(p: Plan) -> dict[str, str]:
    return {"plan.json": plan_to_json(p)}


#: `prep` moves to GCP, so its output `clean` is copied to `train` from there; `train` doubles.
OLD = plan("promo", [place("prep", "aws:eu-west-1"), place("train", "aws:us-east-1")],
           [copy("clean", "aws:eu-west-1", "aws:us-east-1")])  # fmt: skip
NEW = plan("promo", [place("prep", "gcp:europe-west3"), place("train", "aws:us-east-1", nodes=2)],
           [copy("clean", "gcp:europe-west3", "aws:us-east-1", gb=25)])  # fmt: skip


def terminal(d: StackDiff, capsys: pytest.CaptureFixture[str]) -> str:
    print_diff(d, "old")
    return capsys.readouterr().out


def test_a_copy_whose_source_moved_shows_old_and_new_source(
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = diff_stacks(files(OLD), files(NEW))
    [c] = d.transfers
    assert c.kind == "changed"
    md = diff_markdown(d, "old")
    assert (
        "| `clean` | changed | `aws:eu-west-1` → `gcp:europe-west3` | `aws:us-east-1` | 20 → 25 |"
        in md
    )
    [row] = diff_dict(d, "old")["transfers"]
    assert (row["from_before"], row["from_after"]) == ("aws:eu-west-1", "gcp:europe-west3")
    assert (row["gb_before"], row["gb_after"]) == (20, 25)
    out = terminal(d, capsys)
    assert "aws:eu-west-1 → gcp:europe-west3" in out and "20 → 25" in out


def test_the_terminal_shows_what_changed_and_the_full_tables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    d = diff_stacks(files(OLD), files(NEW))
    out = terminal(d, capsys)
    # a changed placement: its size before and after, not the same region twice
    assert "aws:us-east-1 m.large, 1 node × 2 h" in out
    assert "aws:us-east-1 m.large, 2 nodes × 2 h" in out
    assert "gcp:europe-west3 m.large, 1 node × 2 h" in out  # prep moved
    # the whole new plan, as the markdown details hold it
    full = out.split("All placements (2)", 1)[1]
    assert "europe-west3" in full and "train" in full and "All transfers (1)" in full


def test_the_terminal_lists_every_terraform_block(capsys: pytest.CaptureFixture[str]) -> None:
    module = ModuleChanges("aws", ("aws_instance.a",), (), ("aws_instance.b",))
    out = terminal(StackDiff(OLD, NEW, (), (), (module,), ()), capsys)
    assert "+ aws: aws_instance.a" in out and "- aws: aws_instance.b" in out


def test_rules_not_checked_is_said_in_every_format(capsys: pytest.CaptureFixture[str]) -> None:
    why = "rules not checked: no sky.yaml beside new (or above it); pass --spec"
    d = diff_stacks(files(OLD), files(NEW), None, None, why)
    assert d.rules == () and d.unchecked == why
    assert f"⚠️ {why}\n" in diff_markdown(d, "old")
    assert diff_dict(d, "old")["rules_unchecked"] == why
    assert why in terminal(d, capsys)
    assert diff_stacks(files(OLD), files(NEW)).unchecked  # never silent, even without a reason


def test_two_different_stacks_are_flagged_but_still_diffed() -> None:
    other = plan("analytics", list(OLD.placements), list(OLD.transfers))
    d = diff_stacks(files(other), files(NEW))
    assert d.other_stack == "analytics"
    md = diff_markdown(d, "old")
    title = md.splitlines()[1]
    assert "⚠️ different stack: compared with `analytics`" in title
    assert "| `train` | changed |" in md
    assert diff_dict(d, "old")["previous_stack"] == "analytics"
    # two environments of one spec are no mistake
    dev, prod = plan("promo-dev", [], []), plan("promo-prod", [], [])
    names = {"promo", "promo-dev", "promo-prod"}
    assert diff_stacks(files(dev), files(prod), same_stack=names).other_stack is None
    assert diff_stacks(files(dev), files(prod)).other_stack == "promo-dev"


def huge_rules(jobs: int = 400) -> tuple[RuleCheck, ...]:
    """Every job breaks a long avoid list and jurisdiction list (hundreds of KB of rule lines)."""
    avoid = ", ".join(f"aws:region-{i:03d}" for i in range(60))
    lands = ", ".join(f"J{i:03d}" for i in range(60))
    broken = []
    for i in range(jobs):
        broken.append(
            RuleCheck(False, f"job job-{i:03d} in aws:us-east-1 breaks policy.avoid: [{avoid}]")
        )
        broken.append(
            RuleCheck(
                False, f"job job-{i:03d} in aws:us-east-1 breaks policy.jurisdictions: [{lands}]"
            )
        )
    return (*broken, RuleCheck(True, "budget $10.00: $3.00 to spare"))  # fmt: skip


def test_huge_rule_lists_are_summarised_under_the_limit() -> None:
    d = diff_stacks(files(OLD), files(NEW))
    d = StackDiff(d.old, d.new, d.placements, d.transfers, d.modules, huge_rules())
    assert sum(len(r.text) for r in d.rules) > 2 * LIMIT
    md = diff_markdown(d, "old")
    assert len(md) <= LIMIT and md.endswith("\n")
    lines = md.splitlines()
    assert lines[-1].startswith("_Summarised") and lines[-1].endswith("_")
    assert "**Rules:** 1 holding, 800 broken" in md
    assert "more broken rules" in md and "✅ budget $10.00: $3.00 to spare" in md
    assert "| `train` | changed |" in md and "</details>" in md  # the tables survive
    assert md.count("<details>") == md.count("</details>") and md.count("```") % 2 == 0
    # every rule line is whole or clipped at a word with an ellipsis, never cut mid-line
    assert all(len(line) <= 310 for line in lines if line.startswith(("❌", "✅")))


def test_an_absurd_headline_still_gives_a_whole_comment() -> None:
    d = diff_stacks(files(OLD), files(NEW))
    d = StackDiff(d.old, d.new, d.placements, d.transfers, d.modules, huge_rules())
    md = diff_markdown(d, "x" * 70_000)
    assert len(md) <= LIMIT
    assert md.splitlines()[-1].startswith("_Summarised") and "800 broken" in md
    json.dumps(diff_dict(d, "old"))  # the machine view keeps everything
