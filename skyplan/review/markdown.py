"""A plan as a pull-request comment (GitHub-flavoured markdown)."""

from __future__ import annotations

from decimal import Decimal

from skyplan.plan import Plan
from skyplan.review.summary import (
    PLACEMENT_HEADERS,
    TRANSFER_HEADERS,
    Row,
    cost_notes,
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


LIMIT = 65_000  # GitHub refuses comments over 65,536 characters


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
    out += [f"_{note}_" for note in cost_notes(plan)]
    out += ["", f"Solver: {solver_text(plan)}.", ""]
    places, rows = placement_rows(plan, runner_ups), transfer_rows(plan)
    for keep in (None, 300, 100, 30, 0):  # stay under GitHub's comment limit
        body = ["#### Placements", "", _table(PLACEMENT_HEADERS, places[:keep])]
        body += ["", "#### Transfers", ""]
        body.append(
            _table(TRANSFER_HEADERS, rows[:keep])
            if rows
            else "No transfers: every job runs where its data lives."
        )
        if keep is not None and (len(places) > keep or len(rows) > keep):
            body += ["", f"_Tables cut to {keep} rows to stay under GitHub's comment limit; "
                         "plan.json holds them all._"]  # fmt: skip
        text = "\n".join(out + body) + "\n"
        if len(text) <= LIMIT:
            break
    return text
