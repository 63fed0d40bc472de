"""`skyplan diff OLD NEW`: what changes between two plans, for a terminal, a PR, or a machine."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from skyplan.catalog.models import Catalog
    from skyplan.emit.base import RenderedFile
    from skyplan.spec.model import SkySpec
    from skyplan.spec.schema import RawSpec


def register(app: typer.Typer) -> None:
    """Add the `diff` command to the app."""
    app.command("diff")(diff)


def stack_files(path: Path) -> dict[str, str]:
    """The generated files of the stack folder holding `path` (a plan.json or its folder)."""
    from skyplan.cli.stack_files import is_generated
    from skyplan.errors import InputError, Where

    folder = path.parent if path.name == "plan.json" else path
    if not (folder / "plan.json").is_file():
        hint = "name a plan.json written by `skyplan plan`, or its folder"
        raise InputError("no plan.json here", where=Where(str(path)), hint=hint)
    out = {}
    for file in sorted(folder.rglob("*")):
        rel = file.relative_to(folder).as_posix()
        if file.is_file() and is_generated(rel):
            out[rel] = file.read_text(encoding="utf-8", errors="replace")
    return out


def stack_names(raw: RawSpec) -> frozenset[str]:
    """The stacks a spec makes: its own and one per environment (`<name>-<env>`)."""
    return frozenset({raw.name, *(f"{raw.name}-{env}" for env in raw.envs)})


def _spec_beside(plan_folder: Path, stack: str) -> Path | str:
    """The spec a plan came from: sky.yaml in its folder or the one above (environments); else
    why the rules cannot be checked."""
    from skyplan.spec.load import load_raw_spec

    others = []
    for candidate in (plan_folder / "sky.yaml", plan_folder.parent / "sky.yaml"):
        if candidate.is_file():
            if stack in stack_names(load_raw_spec(candidate)[0]):
                return candidate
            others.append(str(candidate))
    if others:
        return (
            f"rules not checked: {' and '.join(others)} is not the spec of stack {stack}; "
            "pass --spec"
        )
    return f"rules not checked: no sky.yaml beside {plan_folder} (or above it); pass --spec"


def show_diff(
    old: dict[str, str] | None,
    new: dict[str, str] | tuple[RenderedFile, ...],
    spec: SkySpec | None,
    catalog: Catalog | None,
    fmt: str,
    label: str,
    unchecked: str | None = None,
    same_stack: frozenset[str] = frozenset(),
) -> None:
    """Print the review of a change in the chosen format (`unchecked`: why there is no spec;
    `same_stack`: the stacks of one spec, whose environments may be compared)."""
    from skyplan.review.diff import diff_stacks
    from skyplan.review.diff_markdown import diff_dict, diff_markdown

    files = new if isinstance(new, dict) else {f.path: f.text for f in new}
    d = diff_stacks(old, files, spec, catalog, unchecked, same_stack)
    if d.other_stack is not None:
        typer.echo(
            f"warning: comparing two different stacks: {d.other_stack} (old) and "
            f"{d.new.stack} (new); showing the diff anyway",
            err=True,
        )
    if fmt == "markdown":
        typer.echo(diff_markdown(d, label), nl=False)
    elif fmt == "json":
        typer.echo(json.dumps(diff_dict(d, label), indent=2, sort_keys=True))
    else:
        from skyplan.cli.render_diff import print_diff

        print_diff(d, label)


def diff(
    old: Path = typer.Argument(..., metavar="OLD", help="The old plan.json (or its folder)."),
    new: Path = typer.Argument(..., metavar="NEW", help="The new plan.json (or its folder)."),
    fmt: str = typer.Option(
        "table", "--format", "-f", help="table (terminal), markdown (PR comment) or json."
    ),
    spec: Path | None = typer.Option(
        None, "--spec", help="sky.yaml whose rules to check [default: beside NEW, or above it]."
    ),
    catalog: Path | None = typer.Option(None, "--catalog", help="Catalog folder to check with."),
) -> None:
    """Compare two plans: placements added, moved or removed, copies changed, Terraform blocks
    added, changed or destroyed per cloud, and whether the new plan keeps every rule."""
    from skyplan.cli.inputs import load_spec_and_catalog
    from skyplan.errors import InputError
    from skyplan.plan import plan_from_json
    from skyplan.spec.load import load_raw_spec

    if fmt not in ("table", "markdown", "json"):
        raise InputError(f"unknown format {fmt!r}", hint="use table, markdown or json")
    old_files, new_files = stack_files(old), stack_files(new)
    stack = plan_from_json(new_files["plan.json"], str(new)).stack
    folder = new.parent if new.name == "plan.json" else new
    found = spec if spec is not None else _spec_beside(folder, stack)
    if isinstance(found, str):
        show_diff(old_files, new_files, None, None, fmt, label=str(old), unchecked=found)
        return
    raw, _ = load_raw_spec(found)
    # the new plan keeps the rules of the environment its stack is named after
    env = next((e for e in raw.envs if stack == f"{raw.name}-{e}"), None)
    sky, cat = load_spec_and_catalog(found, catalog, env)
    show_diff(old_files, new_files, sky, cat, fmt, str(old), same_stack=stack_names(raw))
