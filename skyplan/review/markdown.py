"""A plan as a pull-request comment (GitHub-flavoured markdown)."""

from __future__ import annotations

from decimal import Decimal

from skyplan.plan import Plan
from skyplan.review.summary import (
    PLACEMENT_HEADERS,
    TRANSFER_HEADERS,
    Row,
    count_of,
    placement_rows,
    solver_text,
    transfer_rows,
)
from skyplan.solver.explain import RunnerUp
from skyplan.units import fmt_usd


def _table(headers: tuple[str, ...], rows: list[Row]) -> str:
    def esc(cell: str) -> str:
        return cell.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(esc(c) for c in r.cells) + " |" for r in rows]
    return "\n".join(lines)


def plan_markdown(
    plan: Plan,
    runner_ups: dict[str, RunnerUp | None] | None = None,
    budget: Decimal | None = None,
) -> str:
    """The plan with totals, placements and transfers; ends with a newline."""
    clouds = ", ".join(plan.clouds())
    jobs = count_of(len(plan.placements), "job")
    out = [
        f"### skyplan plan `{plan.stack}`: {fmt_usd(plan.total_usd)}",
        "",
        f"**{fmt_usd(plan.total_usd)}** total = {fmt_usd(plan.compute_usd)} compute + "
        f"{fmt_usd(plan.transfer_usd)} transfer, {jobs} on {clouds}.",
    ]
    if budget is not None:
        out.append(f"Budget {fmt_usd(budget)}: {fmt_usd(budget - plan.total_usd)} to spare.")
    out += ["", f"Solver: {solver_text(plan)}.", "", "#### Placements", ""]
    out.append(_table(PLACEMENT_HEADERS, placement_rows(plan, runner_ups)))
    out += ["", "#### Transfers", ""]
    rows = transfer_rows(plan)
    out.append(
        _table(TRANSFER_HEADERS, rows)
        if rows
        else "No transfers: every job runs where its data lives."
    )
    return "\n".join(out) + "\n"
