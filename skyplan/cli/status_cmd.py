"""`skyplan status DIR`: resources, jobs, transfers, and spent vs planned cost of a stack."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `status` command to the app."""
    app.command("status")(status)


def status(
    folder: Path = typer.Argument(..., metavar="DIR", help="The stack folder.", show_default=False),
) -> None:
    """Show what the stack's Terraform state holds, each job and transfer, and the cost so far."""
    from rich.table import Table
    from rich.text import Text

    from skyplan.apply.runner import PENDING, RUNNING, step_key
    from skyplan.apply.state import StackState, live_holder, read_json
    from skyplan.apply.terraform import find_terraform, state_resources
    from skyplan.cli.apply_ui import STYLES
    from skyplan.cli.render import console
    from skyplan.errors import InputError, Where
    from skyplan.units import fmt_usd

    manifest = read_json(folder / "manifest.json")
    plan = read_json(folder / "plan.json")
    if manifest is None or plan is None:
        raise InputError(
            "no plan.json and manifest.json here",
            where=Where(str(folder)),
            hint="run `skyplan plan` or `skyplan apply` with --out pointing here",
        )
    state = StackState(folder)
    runs = (read_json(state.runs_file) or {}).get("steps", {})
    live = live_holder(state) is not None
    con = console()

    resources = Table(title=f"Stack {manifest['stack']}: resources", title_justify="left")
    for head in ("module", "resources in state"):
        resources.add_column(head)
    modules = sorted(p.parent for p in folder.glob("*/main.tf"))
    tf = find_terraform() if modules else None
    for module in modules:
        found = state_resources(tf, module) if tf else ()
        resources.add_row(f"{module.name}/", str(len(found)) if found else "none (not applied)")
    con.print(resources)

    steps = Table(title="Steps", title_justify="left")
    for head in ("step", "where", "state", "detail / log"):
        steps.add_column(head)
    items = {f"transfer:{t['id']}": t for t in manifest["transfers"]}
    items |= {f"job:{j['name']}": j for j in manifest["jobs"]}
    spent = 0.0
    for step in manifest["steps"]:
        item, entry = items[step], runs.get(step, {})
        current = entry.get("key") == step_key(item)
        state_name = entry.get("state", PENDING) if current else PENDING
        if state_name == RUNNING and not live:
            state_name = "interrupted"
        spent += float(entry.get("usd") or 0.0) if current else 0.0
        where = (
            f"{item['cloud']}:{item['region']} {item['instance_type']} x{item['nodes']}"
            if step.startswith("job:")
            else f"{item['from']} -> {item['to']}"
        )
        detail = entry.get("detail") or ""
        log = entry.get("log") or (item.get("runs") if step.startswith("job:") else "")
        steps.add_row(
            step, where, Text(state_name, STYLES.get(state_name, "")),
            Text(" ".join(x for x in (detail, f"log: {log}" if log else "") if x)),
        )  # fmt: skip
    con.print(steps)
    con.print(
        Text(f"Spent {fmt_usd(spent)} of {fmt_usd(plan['total_usd'])} planned (compute so far)")
    )
