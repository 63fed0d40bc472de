"""How `skyplan apply` shows its progress: one line per cloud and per step, and the questions."""

from __future__ import annotations

import sys
import threading

from rich.markup import escape
from rich.progress import Progress, SpinnerColumn, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

from skyplan.apply.loop import Move
from skyplan.apply.terraform import PlanSummary
from skyplan.cli.render import console
from skyplan.plan import Plan
from skyplan.solver.blocked import Block
from skyplan.units import fmt_usd

STYLES = {"done": "green", "failed": "red", "skipped": "yellow", "running": "cyan"}


class ConsoleUi:
    """ApplyUi on the terminal (thread-safe: clouds and steps report from worker threads)."""

    def __init__(self) -> None:
        self.con = console()
        self.lock = threading.RLock()
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    def _line(self, text: Text) -> None:
        with self.lock:
            self._stop()
            self.con.print(text)

    def _stop(self) -> None:
        """End the live per-cloud display (before a table, a question or a plain line)."""
        if self.progress is not None:
            self.progress.stop()
            self.progress, self.tasks = None, {}

    def cloud(self, cloud: str, stage: str) -> None:
        """A cloud module's stage: a live spinner per cloud on a terminal, else `[gcp] plan`."""
        style = STYLES.get(stage.split(":")[0], "")
        if not self.con.is_terminal:
            self._line(Text.assemble((f"[{cloud}] ", "bold"), (stage, style)))
            return
        with self.lock:
            if self.progress is None:
                self.progress = Progress(
                    SpinnerColumn(), TextColumn("[bold]{task.fields[cloud]}"),
                    TextColumn("{task.description}"), console=self.con,
                )  # fmt: skip
                self.progress.start()
            described = f"[{style or 'default'}]{escape(stage)}"
            if cloud in self.tasks:
                self.progress.update(self.tasks[cloud], description=described)
            else:
                self.tasks[cloud] = self.progress.add_task(described, cloud=cloud, total=None)

    def summaries(self, items: dict[str, PlanSummary]) -> None:
        """The table of saved plans."""
        table = Table(title="Terraform plans", title_justify="left")
        for head in ("cloud", "add", "change", "replace", "destroy"):
            table.add_column(head, justify="left" if head == "cloud" else "right")
        for cloud, s in sorted(items.items()):
            table.add_row(cloud, str(s.create), str(s.update), str(s.replace), str(s.delete))
        with self.lock:
            self._stop()
            self.con.print(table)

    def confirm(self) -> bool:
        """Ask on the terminal (the command refuses earlier when stdin is not one)."""
        with self.lock:
            self._stop()
            self.con.print("Apply these plans? Only 'yes' is accepted: ", end="")
            answer = sys.stdin.readline().strip()
        return answer == "yes"

    def replanned(
        self, moves: tuple[Move, ...], old: Plan, new: Plan, blocks: tuple[Block, ...]
    ) -> None:
        """What moved and what it costs."""
        change = new.total_usd - old.total_usd
        sign = "+" if change >= 0 else "-"
        with self.lock:
            self._stop()
            self.con.print(
                Text(f"Blocked: {', '.join(b.describe() for b in blocks)}", style="yellow")
            )
            self.con.print(
                Text(
                    f"Re-planned: {fmt_usd(old.total_usd)} -> {fmt_usd(new.total_usd)} "
                    f"({sign}{fmt_usd(abs(change))})",
                    style="bold",
                )
            )
            for m in moves:
                self.con.print(Text(f"  {m.job}: {m.old} -> {m.new}"))

    def note(self, text: str) -> None:
        """A plain line."""
        self._line(Text(text))

    def step(self, step: str, state: str, detail: str = "") -> None:
        """A transfer or job changed state."""
        text = Text.assemble((f"{step} ", "bold"), (state, STYLES.get(state, "")))
        if detail:
            text.append(f"  {detail}")
        self._line(text)
