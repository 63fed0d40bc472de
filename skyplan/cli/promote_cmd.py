"""`skyplan promote SPEC --from A --to B`: carry the placements reviewed in A into B, unchanged."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `promote` command to the app."""
    app.command("promote")(promote)


def promote(
    spec: Path = typer.Argument(..., metavar="SPEC", help="Path to sky.yaml.", show_default=False),
    source: str = typer.Option(..., "--from", help="Environment whose reviewed plan to carry."),
    target: str = typer.Option(..., "--to", help="Environment to write."),
    replan: bool = typer.Option(
        False, "--replan", help="Solve the target afresh instead of pinning the placements."
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help="Catalog folder to use."),
    fmt: str = typer.Option("table", "--format", "-f", help="table, markdown or json."),
) -> None:
    """Write the target environment's stack with every job where the source environment's
    reviewed plan (stacks/<name>/<from>/plan.json) put it, re-priced for the target and checked
    against the target's rules and budget; refuse (exit 3) when they would be broken."""
    from skyplan.cli.diff_cmd import show_diff, stack_files
    from skyplan.cli.inputs import default_out, load_spec_and_catalog
    from skyplan.cli.plan_cmd import data_root
    from skyplan.cli.stack_files import write_stack
    from skyplan.emit.stack import emit_stack
    from skyplan.errors import InfeasibleError, InputError, Where
    from skyplan.plan import read_plan
    from skyplan.review.promote import pin
    from skyplan.solver.solve import solve

    if source == target:
        raise InputError("--from and --to name the same environment", hint="name two of `envs:`")
    src_spec, _ = load_spec_and_catalog(spec, catalog, source)
    sky, cat = load_spec_and_catalog(spec, catalog, target)
    src_dir = default_out(spec, src_spec.name, source)
    reviewed_path = src_dir / "plan.json"
    if not reviewed_path.is_file():
        raise InputError(
            f"no reviewed plan for {source}",
            where=Where(str(reviewed_path)),
            hint=f"run `skyplan plan {spec} --env {source}` and review it first",
        )
    out_dir = default_out(spec, sky.name, target)
    before = stack_files(out_dir) if (out_dir / "plan.json").is_file() else None
    if replan:
        plan = solve(sky, cat)
    else:
        pinned, problems = pin(sky, cat, read_plan(reviewed_path), source)
        if pinned is None:
            raise InfeasibleError(
                f"cannot promote {source} to {target}: the reviewed placements break "
                f"{target}'s rules:\n  " + "\n  ".join(problems),
                hint=f"fix {target}'s `envs:` entry or the placements in {source}, or pass "
                "--replan to solve the target afresh",
            )
        plan = pinned
    files = emit_stack(sky, plan, data_root(spec, out_dir))
    write_stack(out_dir, files, sky.backend.type != "local")
    label = f"{target} before promotion" if before else "nothing (new environment)"
    show_diff(before, files, sky, cat, fmt, label=label)
