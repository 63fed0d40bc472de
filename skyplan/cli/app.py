"""The `skyplan` typer app and its one error boundary: SkyplanError -> message + exit code."""

from __future__ import annotations

import os
import sys

import typer

from skyplan import __version__

app = typer.Typer(
    name="skyplan",
    help="Compile one sky spec into the cheapest lawful placement across AWS, GCP and Azure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"skyplan {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """skyplan: plan and apply work across clouds as if they were one."""


def _register() -> None:
    from skyplan.cli import (
        apply_cmd,
        catalog_cmd,
        diff_cmd,
        graph_cmd,
        plan_cmd,
        promote_cmd,
        status_cmd,
        validate_cmd,
    )

    plan_cmd.register(app)
    validate_cmd.register(app)
    apply_cmd.register(app)
    status_cmd.register(app)
    diff_cmd.register(app)
    promote_cmd.register(app)
    graph_cmd.register(app)
    app.add_typer(catalog_cmd.catalog_app, name="catalog")


_register()


def main() -> None:
    """Console entry point: run the app, turning every SkyplanError into its exit code."""
    from skyplan.errors import SkyplanError

    if not os.environ.get("SKYPLAN_DEBUG"):
        import logging

        # cloud SDKs log credential-chain probing as warnings; skyplan's own message says it all
        for name in ("azure", "google", "botocore", "urllib3"):
            logging.getLogger(name).setLevel(logging.ERROR)
    try:
        # typer turns a KeyboardInterrupt into Exit(130) and, outside standalone mode, returns
        # the exit code instead of exiting: it must not be dropped (an interrupted run exiting 0)
        rc = app(standalone_mode=False)
    except SkyplanError as e:
        _print_error(e.render())
        if os.environ.get("SKYPLAN_DEBUG"):
            raise
        sys.exit(e.exit_code)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except typer.Abort:
        _print_error("aborted")
        sys.exit(130)
    except KeyboardInterrupt:
        _print_error("interrupted")
        sys.exit(130)
    except typer.TyperException as e:
        # typer vendors click; its usage errors (exit 2) and other click errors derive from this
        _show_usage_error(e)
        sys.exit(e.exit_code)
    except Exception as e:  # a real bug
        if os.environ.get("SKYPLAN_DEBUG"):
            raise
        _print_error(
            f"internal error (a bug in skyplan): {type(e).__name__}: {e}\n"
            "  To fix: re-run with SKYPLAN_DEBUG=1 for the traceback and report it"
        )
        sys.exit(1)
    if type(rc) is int and rc != 0:  # a command returns None; typer returns an exit code
        if rc == 130:
            _print_error("interrupted")
        sys.exit(rc)


def _show_usage_error(e: typer.TyperException) -> None:
    """Print a typer/click error the way click does: usage line, hint, `Error: ...`."""
    show = getattr(e, "show", None)
    if callable(show):
        show()
    else:
        sys.stderr.write(f"Error: {e.format_message()}\n")


def _print_error(text: str) -> None:
    lines = text.splitlines() or [""]
    sys.stderr.write("error: " + lines[0] + "\n")
    for line in lines[1:]:
        sys.stderr.write(line + "\n")
