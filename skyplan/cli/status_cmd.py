"""`skyplan status DIR`: resources, jobs, transfers, and spent vs planned cost of a stack."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from skyplan.apply.state import StackState

#: Longest value shown for an output before it is cut.
VALUE_MAX = 120


def register(app: typer.Typer) -> None:
    """Add the `status` command to the app."""
    app.command("status")(status)


def status(
    folder: Path = typer.Argument(..., metavar="DIR", help="The stack folder.", show_default=False),
) -> None:
    """Show what the stack's Terraform state holds, each job and transfer, and the cost so far."""
    from rich.table import Table
    from rich.text import Text

    from skyplan.apply.runner import PENDING, RUNNING, SKIPPED, step_key
    from skyplan.apply.scrub import Scrubber
    from skyplan.apply.state import StackState, live_holder, read_json
    from skyplan.apply.terraform import find_terraform, outputs, state_resources
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
    left = {} if live else left_running(state)  # step -> the skyplan pid that left it running
    con = console()

    resources = Table(title=f"Stack {manifest['stack']}: resources", title_justify="left")
    for head in ("module", "resources in state"):
        resources.add_column(head)
    modules = sorted(p.parent for p in folder.glob("*/main.tf"))
    tf = find_terraform() if modules else None
    scrub = Scrubber()
    values = Table(title="Outputs", title_justify="left")
    for head in ("module", "output", "key", "value"):
        values.add_column(head)
    for module in modules:
        found = state_resources(tf, module) if tf else ()
        resources.add_row(f"{module.name}/", str(len(found)) if found else "none (not applied)")
        for name, output in sorted((outputs(tf, module) if tf and found else {}).items()):
            for key, value in output_rows(output):
                values.add_row(f"{module.name}/", name, key, Text(scrub(value)))
    con.print(resources)
    if values.row_count:
        con.print(values)

    steps = Table(title="Steps", title_justify="left")
    for head in ("step", "where", "state", "detail", "log"):
        steps.add_column(head)
    items = {f"transfer:{t['id']}": t for t in manifest["transfers"]}
    items |= {f"job:{j['name']}": j for j in manifest["jobs"]}
    spent = 0.0
    for step in manifest["steps"]:
        item, entry = items[step], runs.get(step, {})
        current = entry.get("key") == step_key(item)
        state_name = entry.get("state", PENDING) if current else PENDING
        style = STYLES.get(state_name, "")
        if state_name == RUNNING and not live:
            owner = left.get(step)
            state_name = f"running (left by pid {owner})" if owner else "interrupted"
            style = STYLES.get(RUNNING if owner else state_name, "")
        spent += float(entry.get("usd") or 0.0) if current else 0.0
        where = (
            f"{item['cloud']}:{item['region']} {item['instance_type']} x{item['nodes']}"
            if step.startswith("job:")
            else f"{item['from']} -> {item['to']}"
        )
        detail = (entry.get("detail") or "") if current else ""
        log = None
        if state_name not in (PENDING, SKIPPED):  # never a log of an earlier run
            log = (entry.get("log") if current else None) or step_log(state, step, item, state_name)
        steps.add_row(
            step, where, Text(state_name, style), Text(detail), Text(log or "-"),
        )  # fmt: skip
    con.print(steps)
    con.print(
        Text(f"Spent {fmt_usd(spent)} of {fmt_usd(plan['total_usd'])} planned (compute so far)")
    )


def left_running(state: StackState) -> dict[str, int]:
    """Steps whose commands a skyplan that died left running on this machine (recorded in
    children.json, still running): step -> that skyplan's pid."""
    import socket

    from skyplan.apply.children import load
    from skyplan.apply.state import boot_id

    host, boot = socket.gethostname(), boot_id()
    out: dict[str, int] = {}
    for child in load(state):
        if child.host != host or (child.boot and boot and child.boot != boot):
            continue
        step = child.step_name
        if step and step not in out and child.group_alive():
            out[step] = child.owner
    return out


def output_rows(output: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, value) rows of one Terraform output: a map gives one row per key, a list is joined
    with commas, a sensitive value is not shown."""
    if output.get("sensitive"):
        return [("", "(sensitive)")]
    value = output.get("value")
    items = sorted(value.items()) if isinstance(value, dict) else [("", value)]
    return [(str(k), _compact(v)) for k, v in items] or [("", "{}")]


def _compact(value: Any) -> str:
    if isinstance(value, list):
        text = ", ".join(_compact(v) for v in value) if value else "(none)"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, sort_keys=True)
    return text if len(text) <= VALUE_MAX else text[: VALUE_MAX - 1] + "…"


def step_log(state: StackState, step: str, item: dict[str, Any], state_name: str) -> str | None:
    """Where a step's log is when runs.json does not say: a local job's node logs
    (logs/jobs/<job>-<node>.log) or a transfer's log, if they exist; a started cloud job's run
    folder (its nodes' logs and markers); else None."""
    if step.startswith("transfer:"):
        path = state.logs / "transfers" / f"{item['id']}.log"
        return str(path) if path.exists() else None
    if item.get("cloud") == "local":
        paths = [state.logs / "jobs" / f"{item['name']}-{n}.log" for n in range(item["nodes"])]
        found = [str(p) for p in paths if p.exists()]
        return ", ".join(found) or None
    started = state_name.startswith("running") or state_name == "interrupted"
    return str(item.get("runs")) if started else None
