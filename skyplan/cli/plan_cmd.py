"""`skyplan plan`: solve a spec, write plan.json, show the plan."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from skyplan.catalog.models import Catalog
    from skyplan.emit.base import RenderedFile
    from skyplan.plan import Plan
    from skyplan.spec.model import SkySpec


class Format(StrEnum):
    """Output formats of `skyplan plan`."""

    table = "table"
    markdown = "markdown"
    json = "json"


RUNNER_UP_MAX_JOBS = 300


def register(app: typer.Typer) -> None:
    """Add the `plan` command to the app."""
    app.command("plan")(plan)


def plan(
    spec: Path = typer.Argument(..., metavar="SPEC", help="Path to sky.yaml.", show_default=False),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Output folder [default: the spec's folder if it is stacks/<name>/, "
        "else ./stacks/<name>/].",
    ),
    catalog: Path | None = typer.Option(
        None, "--catalog", help="Catalog folder replacing the embedded one."
    ),
    fmt: Format = typer.Option(Format.table, "--format", "-f", help="What to print."),
    time_limit: float = typer.Option(
        60.0,
        "--time-limit",
        min=0.1,
        help="Wall seconds CP-SAT may search (pruning and the starting plan come before).",
    ),
    work_limit: float | None = typer.Option(
        None,
        "--work-limit",
        min=0.1,
        help="Machine-independent search budget (CP-SAT deterministic time): a plan stopped "
        "by it is the same on every machine.",
    ),
    workers: int = typer.Option(
        1,
        "--workers",
        min=1,
        max=64,
        help="CP-SAT workers; several run interleaved, so results stay byte-identical (the LP "
        "of large models takes at least two threads where there are two cores).",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Write nothing; exit 5 listing the generated files that are out of date.",
    ),
    env: str | None = typer.Option(
        None, "--env", "-e", help="Plan this environment of `envs:` (output: stacks/<name>/<env>/)."
    ),
    against: str | None = typer.Option(
        None,
        "--against",
        help="Show the change from the plan committed at this git ref (e.g. origin/main) "
        "instead of the plan alone.",
    ),
    replan: bool = typer.Option(
        False, "--replan", help="Solve afresh even where a promotion pinned the placements."
    ),
) -> None:
    """Solve the spec into the cheapest plan that obeys every rule and write plan.json,
    manifest.json and one Terraform root module per cloud the plan uses."""
    from skyplan.cli.inputs import default_out, load_spec_and_catalog
    from skyplan.cli.stack_files import write_stack
    from skyplan.emit.stack import emit_stack
    from skyplan.plan import plan_to_json
    from skyplan.solver.solve import solve

    sky, cat = load_spec_and_catalog(spec, catalog, env)
    warn_if_stale(cat)  # before solving: an infeasible plan (exit 3) warns too
    out_dir = out if out is not None else default_out(spec, sky.name, env)
    pinned = None if replan else pinned_plan(sky, cat, out_dir)
    result = pinned or solve(
        sky, cat, time_limit=time_limit, workers=workers, work_limit=work_limit
    )
    files = emit_stack(sky, result, data_root(spec, out_dir))
    remote = sky.backend.type != "local"
    if check:
        _check(out_dir, files, remote)
        return
    kept = write_stack(out_dir, files, remote)
    if against is not None:
        from skyplan.cli.diff_cmd import show_diff
        from skyplan.cli.gitref import committed_stack

        old = committed_stack(out_dir, against)
        show_diff(old, files, sky, cat, fmt.value, label=f"{against} -> working tree")
        return
    text = plan_to_json(result)
    if fmt is Format.json:
        typer.echo(text, nl=False)
        return
    from skyplan.solver.explain import runner_ups

    ups = runner_ups(sky, cat, result) if len(sky.jobs) <= RUNNER_UP_MAX_JOBS else None
    if fmt is Format.markdown:
        from skyplan.review.markdown import plan_markdown

        typer.echo(plan_markdown(result, ups, sky.budget_usd), nl=False)
        return
    from skyplan.cli.render import print_plan, print_written

    print_plan(result, ups, sky.budget_usd)
    print_written(out_dir, files, kept)


def warn_if_stale(cat: Catalog) -> None:
    """On stderr, never a failure: the catalog's oldest prices are over 30 days old (once per
    command: `plan` before it solves, `apply` before its first solve and its re-plans)."""
    from skyplan.catalog.diff import stale_warning

    if (stale := stale_warning(cat, date.today())) is not None:
        typer.echo(stale, err=True)


def pinned_plan(sky: SkySpec, cat: Catalog, out_dir: Path) -> Plan | None:
    """A promoted stack keeps its placements (like a lock file): the committed plan, re-priced
    and re-checked against the spec; None when the stack is not pinned."""
    from skyplan.errors import InfeasibleError
    from skyplan.plan import read_plan
    from skyplan.review.promote import PINNED, pin

    path = out_dir / "plan.json"
    if not path.is_file():
        return None
    committed = read_plan(path)
    if committed.solver.status != PINNED:
        return None
    plan, problems = pin(sky, cat, committed, committed.solver.origin or "a promotion")
    if plan is None:
        raise InfeasibleError(
            f"{path}: the pinned placements break this spec's rules:\n  " + "\n  ".join(problems),
            hint="change the spec back, promote again, or pass --replan to solve afresh",
        )
    return plan


def data_root(spec: Path, out: Path) -> str:
    """The spec's folder relative to the output folder: `file://` data sets are relative to the
    spec, and the manifest names them relative to itself (never as absolute paths)."""
    import os

    return Path(os.path.relpath(spec.resolve().parent, out.resolve())).as_posix()


def _check(out: Path, files: tuple[RenderedFile, ...], remote: bool) -> None:
    from skyplan.cli.stack_files import compare
    from skyplan.errors import StaleError

    drift = compare(out, files, remote)
    for cloud in drift.kept:
        typer.echo(
            f"note: {out / cloud}/ is no longer used; kept until its resources are destroyed"
        )
    if drift.clean:
        typer.echo(f"{out}: {len(files)} generated files are up to date")
        return
    lines = [f"  changed: {out / p}" for p in drift.changed]
    lines += [f"  missing: {out / p}" for p in drift.missing]
    lines += [f"  no longer generated: {out / p}" for p in drift.stale]
    raise StaleError(
        f"{out}: generated files are out of date\n" + "\n".join(lines),
        hint=f"run `skyplan plan` without --check and commit the result in {out}",
    )
