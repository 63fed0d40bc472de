"""Rows a person reads: one per placement and transfer, shared by the table and markdown views."""

from __future__ import annotations

from dataclasses import dataclass

from skyplan.plan import Plan
from skyplan.solver.explain import RunnerUp
from skyplan.units import fmt_usd


@dataclass(frozen=True)
class Row:
    """Cells of one line, already formatted."""

    cells: tuple[str, ...]


PLACEMENT_HEADERS = (
    "job",
    "cloud",
    "region",
    "instance",
    "nodes",
    "$/h",
    "hours",
    "cost",
    "runner-up",
)
TRANSFER_HEADERS = ("data set", "from", "to", "GB", "$/GB", "cost")


def _num(value: object) -> str:
    text = f"{value:f}" if not isinstance(value, str) else value
    return text.rstrip("0").rstrip(".") if "." in text else text


#: What a cloud plan's totals leave out: skyplan powers finished nodes off but never deletes them.
STANDING_COST_NOTE = (
    "Not in the total: nodes power off when their job is done but are not deleted, so their "
    "disks (and the data in the buckets) are billed until `skyplan destroy`."
)


def cost_notes(plan: Plan) -> tuple[str, ...]:
    """Notes on what the plan's totals leave out (none for a plan on the `local` cloud only)."""
    return (STANDING_COST_NOTE,) if any(c != "local" for c in plan.clouds()) else ()


def count_of(n: int, noun: str) -> str:
    """`1 job`, `3 jobs`: a count with its noun in the right number."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def runner_up_text(r: RunnerUp | None) -> str:
    """`gcp:europe-west1 +$1.20`, or `none` when the job has nowhere else to go."""
    if r is None:
        return "none"
    sign = "+" if r.extra_usd >= 0 else "-"
    return f"{r.region} {sign}{fmt_usd(abs(r.extra_usd))}"


def placement_rows(plan: Plan, runner_ups: dict[str, RunnerUp | None] | None) -> list[Row]:
    """One row per placement, in job order."""
    rows = []
    for p in sorted(plan.placements, key=lambda p: p.job):
        instance = p.instance_type + (" (spot)" if p.spot else "")
        ru = runner_up_text(runner_ups.get(p.job)) if runner_ups is not None else "-"
        rows.append(
            Row(
                (
                    p.job,
                    p.cloud,
                    p.region,
                    instance,
                    str(p.nodes),
                    f"{p.usd_per_hour:.4f}",
                    _num(p.hours),
                    fmt_usd(p.usd),
                    ru,
                )
            )
        )
    return rows


def transfer_rows(plan: Plan) -> list[Row]:
    """One row per transfer, by data set then destination."""
    return [
        Row((t.dataset, t.src, t.dst, _num(t.gb), f"{t.usd_per_gb:.4f}", fmt_usd(t.usd)))
        for t in sorted(plan.transfers, key=lambda t: (t.dataset, t.dst))
    ]


def solver_text(plan: Plan) -> str:
    """`OPTIMAL` or `FEASIBLE (gap 1.23%: time limit reached before optimality was proven)`."""
    if plan.solver.status == "OPTIMAL":
        return "OPTIMAL (proven cheapest)"
    gap = f"gap {plan.solver.gap:.2%}" if plan.solver.gap is not None else "gap unknown"
    return f"{plan.solver.status} ({gap}: stopped by the time limit before optimality was proven)"
