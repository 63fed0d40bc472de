"""A change of plan on the terminal: headline, changed placements and copies, Terraform, rules."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text

from skyplan.cli.render import console
from skyplan.review.diff import StackDiff
from skyplan.review.diff_markdown import signed
from skyplan.units import fmt_usd


def print_diff(d: StackDiff, against: str) -> None:
    """Rich tables of what changed."""
    con = console()
    before = fmt_usd(d.old.total_usd) if d.old else "nothing"
    con.print(
        Text.assemble(
            (f"{d.new.stack}: ", "bold"),
            f"{before} -> {fmt_usd(d.new.total_usd)} ({signed(d.delta)}) compared with {against}",
        )
    )
    if d.other_stack:
        con.print(
            Text(f"Warning: different stacks: {d.other_stack} (old), {d.new.stack} (new)"),
            style="yellow",
        )
    if d.placements:
        table = Table(title="Placements", title_justify="left")
        for head in ("job", "change", "from", "to", "cost change"):
            table.add_column(head, justify="right" if head == "cost change" else "left")
        for c in d.placements:
            old = f"{c.old.region_key} {c.old.instance_type}" if c.old else "-"
            new = f"{c.new.region_key} {c.new.instance_type}" if c.new else "-"
            table.add_row(Text(c.job), c.kind, Text(old), Text(new), signed(c.delta))
        con.print(table)
    else:
        con.print("No placement changes.")
    if d.transfers:
        table = Table(title="Transfers", title_justify="left")
        for head in ("data set", "change", "to", "cost change"):
            table.add_column(head, justify="right" if head == "cost change" else "left")
        for t in d.transfers:
            table.add_row(Text(t.dataset), t.kind, Text(t.dst), signed(t.delta))
        con.print(table)
    if d.modules:
        table = Table(title="Terraform blocks", title_justify="left")
        for head in ("module", "add", "change", "destroy"):
            table.add_column(head)
        for m in d.modules:
            table.add_row(
                f"{m.cloud}/", str(len(m.added)), str(len(m.changed)), str(len(m.destroyed))
            )
        con.print(table)
    if d.unchecked:
        con.print(Text(d.unchecked, style="yellow"))
    for r in d.rules:
        con.print(Text(f"{'ok' if r.ok else 'BROKEN'}: {r.text}", style="green" if r.ok else "red"))
