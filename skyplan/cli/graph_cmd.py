"""`skyplan graph PLAN_JSON`: a picture of a plan for reviewers (mermaid, SVG or PNG)."""

from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from skyplan.errors import InputError, Where

PNG_SCALE = 2  # pixels per SVG unit: crisp in a pull request
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--default-background-color=ffffffff",
)
INSTALL_HINT = (
    "install one of: `pip install cairosvg` (needs the cairo library, e.g. apt-get install "
    "libcairo2), `apt-get install librsvg2-bin` (rsvg-convert), or Chromium "
    "(`apt-get install chromium`); or use --format svg"
)


class Format(StrEnum):
    """Output formats of `skyplan graph`."""

    mermaid = "mermaid"
    svg = "svg"
    png = "png"


SUFFIXES = {".svg": Format.svg, ".png": Format.png}


def register(app: typer.Typer) -> None:
    """Add the `graph` command to the app."""
    app.command("graph")(graph)


def graph(
    plan_json: Path = typer.Argument(
        ...,
        metavar="PLAN_JSON",
        help="plan.json, or the stack folder holding it (manifest.json beside it adds detail).",
        show_default=False,
    ),
    fmt: Format | None = typer.Option(
        None,
        "--format",
        "-f",
        help="mermaid (for pull-request comments), svg or png [default: from --out's suffix, "
        "else mermaid].",
        show_default=False,
    ),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Write to this file instead of standard output."
    ),
) -> None:
    """Draw a plan: regions grouped by cloud with their jobs and data sets, copies as arrows
    labelled with data set, size and cost, the total on top. PNG uses cairosvg, rsvg-convert or
    headless Chromium, whichever is installed (SKYPLAN_PNG_CONVERTER picks one, `none` none)."""
    from skyplan.plan import read_plan
    from skyplan.review.graph import plan_graph

    path = plan_json / "plan.json" if plan_json.is_dir() else plan_json
    plan = read_plan(path)
    chosen = fmt or (SUFFIXES.get(out.suffix.lower(), Format.mermaid) if out else Format.mermaid)
    picture = plan_graph(plan, _datasets(path, plan))
    if chosen is Format.mermaid:
        from skyplan.review.graph import plan_mermaid

        _emit_text(plan_mermaid(picture), out)
        return
    from skyplan.review.svg import plan_svg

    svg = plan_svg(picture)
    if chosen is Format.svg:
        _emit_text(svg, out)
        return
    if out is None and sys.stdout.isatty():
        raise InputError(
            "a PNG is binary and standard output is a terminal",
            hint="give --out plan.png, or redirect: skyplan graph plan.json -f png > plan.png",
        )
    png = to_png(svg)
    if out is None:
        sys.stdout.buffer.write(png)
        sys.stdout.flush()
    else:
        _write_bytes(out, png)


def _datasets(path: Path, plan: Any) -> Any:
    """Data sets from the manifest.json beside plan.json when it describes the same plan."""
    from skyplan.review.graph import datasets_from_manifest, manifest_matches

    manifest = path.parent / "manifest.json"
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"cannot read manifest.json: {e}", where=Where(str(manifest))) from None
    if not manifest_matches(plan, data):
        typer.echo(
            f"note: {manifest} describes another plan; showing only the data sets plan.json names",
            err=True,
        )
        return None
    return datasets_from_manifest(data, str(manifest))


def _emit_text(text: str, out: Path | None) -> None:
    if out is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from skyplan.cli.files import write_atomic

    write_atomic(out, text)


def _write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename, like every file skyplan writes."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", where=Where(str(path))) from None


def png_converter() -> str | None:
    """The first PNG converter found: `cairosvg`, `rsvg-convert` or a Chromium path."""
    wanted = os.environ.get("SKYPLAN_PNG_CONVERTER", "")
    if wanted == "none":
        return None
    if wanted in ("", "cairosvg"):
        try:
            importlib.import_module("cairosvg")
        except (ImportError, OSError):  # OSError: the cairo C library is missing
            pass
        else:
            return "cairosvg"
    if wanted in ("", "rsvg-convert") and shutil.which("rsvg-convert"):
        return "rsvg-convert"
    if wanted in ("", "chromium"):
        for name in CHROMIUM_NAMES:
            found = shutil.which(name)
            if found:
                return found
    return None


def to_png(svg: str) -> bytes:
    """The SVG rendered to PNG by whichever converter is installed."""
    tool = png_converter()
    if tool is None:
        raise InputError("no SVG to PNG converter is installed", hint=INSTALL_HINT)
    if tool == "cairosvg":
        cairosvg = importlib.import_module("cairosvg")  # optional, untyped: looked up by name
        data: bytes = cairosvg.svg2png(bytestring=svg.encode("utf-8"), scale=PNG_SCALE)
        return data
    with tempfile.TemporaryDirectory(prefix="skyplan-graph-") as tmp:
        src, dst = Path(tmp) / "plan.svg", Path(tmp) / "plan.png"
        src.write_text(svg, encoding="utf-8")
        if tool == "rsvg-convert":
            cmd = ["rsvg-convert", "-z", str(PNG_SCALE), "-b", "white", "-o", str(dst), str(src)]
        else:
            width, height = _size(svg)
            cmd = [
                tool,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={Path(tmp) / 'profile'}",
                f"--force-device-scale-factor={PNG_SCALE}",
                f"--window-size={width},{height}",
                f"--screenshot={dst}",
                src.as_uri(),
            ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if proc.returncode != 0 or not dst.is_file():
            raise InputError(
                f"{Path(cmd[0]).name} could not convert the SVG (exit {proc.returncode}): "
                + (proc.stderr.strip().splitlines() or ["no message"])[-1],
                hint="use --format svg, or " + INSTALL_HINT,
            )
        return dst.read_bytes()


def _size(svg: str) -> tuple[int, int]:
    import re

    m = re.search(r'<svg[^>]* width="(\d+)" height="(\d+)"', svg)
    return (int(m.group(1)), int(m.group(2))) if m else (1200, 800)
