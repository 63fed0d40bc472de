"""`skyplan apply` and `skyplan destroy`: real Terraform per cloud, re-planning, the job runner."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from skyplan.apply.scrub import Scrubber
    from skyplan.apply.state import StackState
    from skyplan.apply.terraform import Run, Terraform


def register(app: typer.Typer) -> None:
    """Add `apply` and `destroy` to the app."""
    app.command("apply")(apply)
    app.command("destroy")(destroy)


def _require_terminal(auto_approve: bool) -> None:
    from skyplan.errors import InputError

    if not auto_approve and not sys.stdin.isatty():
        raise InputError(
            "cannot ask for approval: standard input is not a terminal",
            hint="review `skyplan plan` and pass --auto-approve to apply without asking",
        )


def apply(
    spec: Path = typer.Argument(..., metavar="SPEC", help="Path to sky.yaml.", show_default=False),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Stack folder [default: the spec's folder if it is stacks/<name>/, "
        "else ./stacks/<name>/].",
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help="Catalog folder to use."),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Apply without asking."),
    max_replans: int = typer.Option(
        3, "--max-replans", min=0, max=50, help="Re-plans after capacity or quota failures."
    ),
    time_limit: float = typer.Option(60.0, "--time-limit", min=0.1, help="Solver seconds."),
    work_limit: float | None = typer.Option(None, "--work-limit", min=0.1),
    env: str | None = typer.Option(None, "--env", "-e", help="Apply this environment of `envs:`."),
    replan: bool = typer.Option(
        False, "--replan", help="Solve afresh even where a promotion pinned the placements."
    ),
) -> None:
    """Plan, then bring every cloud's Terraform module to the plan (re-planning around capacity
    and quota failures), then run the jobs in DAG order and wait for them."""
    from skyplan.apply.children import supervised
    from skyplan.apply.loop import ApplyOptions, Context, apply_infrastructure
    from skyplan.apply.runner import DONE, run_manifest
    from skyplan.apply.state import StackState, locked
    from skyplan.apply.terraform import find_terraform
    from skyplan.apply.watch import cloud_job_watcher
    from skyplan.cli.apply_ui import ConsoleUi
    from skyplan.cli.inputs import default_out, load_spec_and_catalog
    from skyplan.cli.plan_cmd import data_root, pinned_plan, warn_if_stale
    from skyplan.errors import ApplyError
    from skyplan.units import fmt_usd

    _require_terminal(auto_approve)
    sky, cat = load_spec_and_catalog(spec, catalog, env)
    warn_if_stale(cat)  # once, whatever the re-plans
    out_dir = out if out is not None else default_out(spec, sky.name, env)
    tf = find_terraform()
    ui = ConsoleUi()
    state = StackState(out_dir)
    opts = ApplyOptions(auto_approve, max_replans, time_limit, work_limit)
    with locked(state, "skyplan apply"), supervised(state, ui.note):
        state.event("apply.start", terraform=tf.version, spec=str(spec))
        pinned = None if replan else pinned_plan(sky, cat, out_dir)
        root = data_root(spec, out_dir)
        ctx = Context(sky, cat, out_dir, root, opts, ui, tf, state, pinned=pinned)
        plan = apply_infrastructure(ctx)
        ui.note(f"Infrastructure matches the plan ({fmt_usd(plan.total_usd)}); running the jobs")
        outcomes = run_manifest(out_dir, state, ui, cloud_job_watcher(out_dir, ui))
        failed = sorted(s for s, o in outcomes.items() if o.state != DONE)
        spent = spent_usd(state)
        state.event("apply.end", failed=failed, spent_usd=round(spent, 6))
    ui.note(f"Spent {fmt_usd(spent)} of {fmt_usd(plan.total_usd)} planned")
    if failed:
        raise ApplyError(
            f"{len(failed)} step(s) did not finish: {', '.join(failed)}",
            hint=f"see `skyplan status {out_dir}` and the logs in {state.logs}",
        )
    ui.note(f"All {len(outcomes)} steps done. `skyplan status {out_dir}` shows them.")


def spent_usd(state: StackState) -> float:
    """Compute spent so far by the stack's steps, from runs.json."""
    from skyplan.apply.runner import Runs

    return sum(float(entry.get("usd") or 0.0) for entry in Runs(state).steps.values())


def destroy(
    folder: Path = typer.Argument(..., metavar="DIR", help="The stack folder.", show_default=False),
    auto_approve: bool = typer.Option(False, "--auto-approve", help="Destroy without asking."),
) -> None:
    """Destroy everything the stack's Terraform modules created, the data in its buckets too."""
    from skyplan.apply.children import supervised
    from skyplan.apply.loop import force_unlock_hint, state_lock_id
    from skyplan.apply.scrub import Scrubber
    from skyplan.apply.state import StackState, locked, write_json
    from skyplan.apply.terraform import declares_variable, find_terraform, init
    from skyplan.apply.terraform import destroy as tf_destroy
    from skyplan.cli.apply_ui import ConsoleUi
    from skyplan.errors import ApplyError, InputError, Where

    modules = sorted(p.parent for p in folder.glob("*/main.tf"))
    if not modules:
        raise InputError("no Terraform modules here", where=Where(str(folder)))
    _require_terminal(auto_approve)
    ui = ConsoleUi()
    if not auto_approve:
        ui.note(
            f"This destroys every resource of {', '.join(m.name for m in modules)}, with the data "
            "in the stack's buckets (outputs and copies)."
        )
        if not ui.confirm():
            raise ApplyError("destroy cancelled: nothing was changed")
    tf, scrub, state = find_terraform(), Scrubber(), StackState(folder)
    failed: dict[str, str] = {}  # module -> why
    hints: list[str] = []
    with locked(state, "skyplan destroy"), supervised(state, ui.note):
        for module in modules:
            log = state.logs / "destroy" / f"{module.name}.log"
            ui.cloud(module.name, "destroy")
            run = init(tf, module, log, scrub)
            force = ("force_destroy=true",) if declares_variable(module, "force_destroy") else ()
            try:
                if run.ok and force:
                    run = force_destroy_buckets(tf, module, state, log, scrub, force)
            except ApplyError as e:
                ui.cloud(module.name, "failed")
                state.event("destroy", cloud=module.name, ok=False, refused=e.message)
                failed[module.name] = e.message + (f"\n  To fix: {e.hint}" if e.hint else "")
                continue
            run = tf_destroy(tf, module, log, scrub, force) if run.ok else run
            if run.ok and module.name == "local":
                remove_local_folders(folder)
            ui.cloud(module.name, "done" if run.ok else "failed")
            state.event("destroy", cloud=module.name, ok=run.ok)
            if not run.ok:
                failed[module.name] = f"see {log}"
                if lock_id := state_lock_id(run.output):
                    hints.append(force_unlock_hint(module, lock_id))
        if not failed:
            write_json(state.runs_file, {"version": 1, "steps": {}})
    if failed:
        raise ApplyError(
            f"destroy failed in {', '.join(failed)}:"
            + "".join(f"\n  {name}/: {why}" for name, why in failed.items()),
            hint="; ".join([*hints, f"see the logs in {state.logs}"]),
        )


def force_destroy_buckets(
    tf: Terraform,
    module: Path,
    state: StackState,
    log: Path,
    scrub: Scrubber,
    variables: tuple[str, ...],
) -> Run:
    """Put force_destroy=true in the state of the module's buckets, and nothing else.

    S3 and GCS refuse to delete a bucket that holds objects unless force_destroy is true in
    Terraform's state first. A targeted apply would also apply whatever else is pending for the
    buckets (a configuration changed since the last apply: a bucket no longer in it would be
    destroyed with force_destroy=false), so the change is planned to a file first and applied
    only when every action in it is an in-place update of force_destroy; any other change is
    refused (ApplyError) before anything is touched. No bucket, or nothing to change: no step.
    """
    from skyplan.apply.terraform import (
        BUCKETS,
        Run,
        apply,
        describe_change,
        force_destroy_only,
        plan,
        resource_changes,
        state_resources,
    )
    from skyplan.errors import ApplyError

    buckets = tuple(a for a in state_resources(tf, module, strict=True) if BUCKETS.match(a))
    if not buckets:
        return Run(("state", "list"), 0, "", log)
    planfile = (state.dir / "plans" / f"{module.name}.force-destroy.tfplan").resolve()
    planfile.parent.mkdir(parents=True, exist_ok=True)
    run = plan(tf, module, planfile, log, scrub, variables=variables, targets=buckets)
    if not run.ok:
        return run
    changes = resource_changes(tf, module, planfile)
    other = [c for c in changes if not force_destroy_only(c)]
    if other:
        planfile.unlink(missing_ok=True)
        raise ApplyError(
            "refused before changing anything: setting force_destroy on the buckets would "
            "also apply " + "; ".join(describe_change(c) for c in other) + ". The module's "
            "files no longer describe what was applied (a `skyplan plan` since the last apply?)",
            hint="put the stack folder back as it was applied (run `skyplan plan` again with the "
            "sky.yaml that was applied) and destroy again; or `skyplan apply` the new plan first",
        )
    if not any((c.get("change") or {}).get("actions") == ["update"] for c in changes):
        planfile.unlink(missing_ok=True)
        return run  # force_destroy is true in the state already
    run = apply(tf, module, planfile, log, scrub)
    planfile.unlink(missing_ok=True)
    return run


def remove_local_folders(folder: Path) -> None:
    """The `local` cloud's bucket folders and node folders, whatever they hold: once its module
    is destroyed, nothing of them belongs to anything (older placements' folders included)."""
    import shutil

    from skyplan.emit.naming import LOCAL_BUCKETS

    for path in (folder / LOCAL_BUCKETS, folder / ".skyplan" / "nodes"):
        shutil.rmtree(path, ignore_errors=True)
