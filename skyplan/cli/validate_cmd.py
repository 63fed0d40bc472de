"""`skyplan validate DIR`: check generated Terraform offline against the real provider schemas."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add the `validate` command to the app."""
    app.command("validate")(validate)


def validate(
    folder: Path = typer.Argument(
        ...,
        metavar="DIR",
        help="A stack folder (stacks/<name>/) or one Terraform module folder.",
        show_default=False,
    ),
) -> None:
    """Check every .tf file under DIR against hashicorp/aws 6.47, hashicorp/google 6.50 and
    hashicorp/azurerm 4.65 (shipped with skyplan; no network, no terraform init): resource and
    data types exist, every argument and nested block exists, required arguments are set."""
    from skyplan.cli.render import console
    from skyplan.errors import ValidationError
    from skyplan.validate import validate_tree
    from skyplan.validate.schema import provider_names, provider_schema

    report = validate_tree(folder)
    if not report.folders:
        from skyplan.errors import InputError, Where

        raise InputError(
            "no .tf files here",
            where=Where(str(folder)),
            hint="point at a stack folder written by `skyplan plan` (stacks/<name>/)",
        )
    if report.problems:
        raise ValidationError(report.problems)
    schemas = [provider_schema(name) for name in provider_names()]
    versions = ", ".join(s.label for s in schemas if s is not None and not s.builtin)
    n = len(report.folders)
    console().print(
        f"{folder}: {report.blocks} blocks in {n} module{'s' if n != 1 else ''} match the "
        f"provider schemas ({versions}): no problems"
    )
