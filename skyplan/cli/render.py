"""Rich terminal views of plans and catalog listings."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from skyplan.emit.base import RenderedFile
from skyplan.plan import Plan
from skyplan.review.summary import (
    PLACEMENT_HEADERS,
    TRANSFER_HEADERS,
    Row,
    cost_notes,
    placement_rows,
    solver_text,
    transfer_rows,
)
from skyplan.solver.explain import RunnerUp
from skyplan.units import fmt_usd

RIGHT = {"nodes", "$/h", "hours", "cost", "GB", "$/GB", "vCPUs", "GiB", "spot $/h", "count"}


def console() -> Console:
    """A console for stdout; wide and plain when stdout is a pipe or a file (CI logs)."""
    import sys

    tty = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=False, width=None if tty else 200)


def table(title: str, headers: tuple[str, ...], rows: list[Row]) -> Table:
    """A rich table with numeric columns right-aligned."""
    t = Table(title=title, title_justify="left", show_lines=False, header_style="bold")
    for h in headers:
        numeric = h in RIGHT
        t.add_column(
            h,
            justify="right" if numeric else "left",
            no_wrap=numeric,
            overflow="fold",
            min_width=len(h),
        )
    for r in rows:
        t.add_row(*(Text(c) for c in r.cells))  # data, never markup
    return t


def print_plan(plan: Plan, ups: dict[str, RunnerUp | None] | None, budget: Decimal | None) -> None:
    """Placements, transfers and totals as a person reads them at a glance."""
    con = console()
    con.print(table(f"Plan {plan.stack}: placements", PLACEMENT_HEADERS, placement_rows(plan, ups)))
    rows = transfer_rows(plan)
    if rows:
        con.print(table("Transfers", TRANSFER_HEADERS, rows))
    else:
        con.print("No transfers: every job runs where its data lives.")
    con.print(
        f"Total [bold]{fmt_usd(plan.total_usd)}[/bold] = {fmt_usd(plan.compute_usd)} compute"
        f" + {fmt_usd(plan.transfer_usd)} transfer"
    )
    if budget is not None:
        con.print(f"Budget {fmt_usd(budget)}: {fmt_usd(budget - plan.total_usd)} to spare")
    for note in cost_notes(plan):
        con.print(Text(note))
    con.print(f"Solver: {solver_text(plan)}")


def print_written(out: Path, files: tuple[RenderedFile, ...], kept: tuple[str, ...]) -> None:
    """Which files `skyplan plan` wrote, folder by folder, and modules it left for destroy."""
    groups: dict[str, int] = {}
    for f in files:
        top = f.path.split("/", 1)[0] + ("/" if "/" in f.path else "")
        groups[top] = groups.get(top, 0) + 1
    parts = [
        name if not name.endswith("/") else f"{name} ({n} files)" for name, n in groups.items()
    ]
    con = console()
    con.print(Text(f"Wrote {out}/: {', '.join(parts)}"))
    for cloud in kept:
        con.print(
            Text(
                f"Note: {out / cloud}/ is no longer used by the plan but its resources may still "
                "exist (its state records some, or state is in a remote backend): its files were "
                "kept so that `terraform destroy` there removes them; delete the folder after."
            )
        )
