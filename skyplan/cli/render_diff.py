"""A change of plan on the terminal: what the pull-request comment shows, with nothing cut."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from skyplan.cli.render import console, table
from skyplan.review.diff import StackDiff
from skyplan.review.diff_markdown import gb_text, signed, source_text, where_text
from skyplan.review.summary import (
    PLACEMENT_HEADERS,
    TRANSFER_HEADERS,
    Row,
    placement_rows,
    transfer_rows,
)
from skyplan.units import fmt_usd


def _plain(text: str) -> str:
    return text


def _changes(
    title: str, heads: tuple[str, ...], rows: Sequence[Sequence[str]], right: int = 1
) -> Table:
    """A table whose last `right` columns (numbers) are right-aligned."""
    t = Table(title=title, title_justify="left", header_style="bold")
    for i, head in enumerate(heads):
        numeric = i >= len(heads) - right
        t.add_column(head, justify="right" if numeric else "left", overflow="fold")
    for row in rows:
        t.add_row(*(Text(c) for c in row))  # data, never markup
    return t


def print_diff(d: StackDiff, against: str) -> None:
    """Rich tables of what changed (placements with nodes and hours, copies with source and
    destination, Terraform blocks, every rule), then the new plan's full tables."""
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
        places = [
            (c.job, c.kind, where_text(c.old, _plain), where_text(c.new, _plain), signed(c.delta))
            for c in d.placements
        ]
        con.print(_changes("Placements", ("job", "change", "from", "to", "cost change"), places))
    else:
        con.print("No placement changes.")
    if d.transfers:
        copies = [
            (c.dataset, c.kind, source_text(c, _plain), c.dst, gb_text(c), signed(c.delta))
            for c in d.transfers
        ]
        heads = ("data set", "change", "from", "to", "GB", "cost change")
        con.print(_changes("Transfers", heads, copies, right=2))
    else:
        con.print("No transfer changes.")
    if d.modules:
        rows = [
            (f"{m.cloud}/", str(len(m.added)), str(len(m.changed)), str(len(m.destroyed)))
            for m in d.modules
        ]
        con.print(_changes("Terraform blocks", ("module", "add", "change", "destroy"), rows, 3))
        for m in d.modules:
            for sign, addrs in (("+", m.added), ("~", m.changed), ("-", m.destroyed)):
                for addr in addrs:
                    con.print(Text(f"  {sign} {m.cloud}: {addr}"))
    if d.unchecked:
        con.print(Text(d.unchecked, style="yellow"))
    for r in d.rules:
        con.print(Text(f"{'ok' if r.ok else 'BROKEN'}: {r.text}", style="green" if r.ok else "red"))
    every = [Row(r.cells[:-1]) for r in placement_rows(d.new, None)]  # no runner-up column
    con.print(table(f"All placements ({len(every)})", PLACEMENT_HEADERS[:-1], every))
    moves = transfer_rows(d.new)
    if moves:
        con.print(table(f"All transfers ({len(moves)})", TRANSFER_HEADERS, moves))
    else:
        con.print("All transfers (0): every job runs where its data lives.")
