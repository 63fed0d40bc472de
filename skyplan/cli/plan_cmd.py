"""`skyplan plan`: solve a spec, write plan.json, show the plan."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer


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
        None, "--out", "-o", help="Output folder [default: stacks/<name>/]."
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
        help="Solver threads; several run interleaved, so results stay byte-identical.",
    ),
) -> None:
    """Solve the spec into the cheapest plan that obeys every rule and write plan.json."""
    from skyplan.cli.files import write_atomic
    from skyplan.cli.inputs import load_spec_and_catalog
    from skyplan.plan import plan_to_json
    from skyplan.solver.solve import solve

    sky, cat = load_spec_and_catalog(spec, catalog)
    result = solve(sky, cat, time_limit=time_limit, workers=workers, work_limit=work_limit)
    text = plan_to_json(result)
    out_dir = out if out is not None else Path("stacks") / sky.name
    write_atomic(out_dir / "plan.json", text)
    if fmt is Format.json:
        typer.echo(text, nl=False)
        return
    from skyplan.solver.explain import runner_ups

    ups = runner_ups(sky, cat, result) if len(sky.jobs) <= RUNNER_UP_MAX_JOBS else None
    if fmt is Format.markdown:
        from skyplan.review.markdown import plan_markdown

        typer.echo(plan_markdown(result, ups, sky.budget_usd), nl=False)
        return
    from skyplan.cli.render import print_plan

    print_plan(result, ups, sky.budget_usd, out_dir / "plan.json")
