"""Golden pictures of the example stacks, and `skyplan graph` end to end.

tests/golden/graph/<stack>.mmd and <stack>.svg hold what `skyplan graph stacks/<stack>/plan.json`
prints today (mermaid, and `--format svg`), byte for byte. After an intended change of the
pictures or of a stack, regenerate them with

    .venv/bin/pytest tests/golden/test_graph.py --update-golden

and look at the diff (and at the SVG) like any other change.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STACKS = ROOT / "stacks"
GOLDEN = Path(__file__).resolve().parent / "graph"
CLI = (sys.executable, "-c", "from skyplan.cli.app import main; main()")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


def stacks_with_plans() -> list[str]:
    """Every stacks/<name>/ holding a plan.json, sorted."""
    return sorted(p.parent.name for p in STACKS.glob("*/plan.json"))


def graph_bytes(
    *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """`skyplan graph ARGS`, standard output as bytes (exactly what `> file` would hold)."""
    return subprocess.run(
        [*CLI, "graph", *args],
        capture_output=True,
        timeout=120,
        check=False,
        env={**os.environ, **(env or {})},
    )


def check_golden(path: Path, produced: bytes, update: bool) -> None:
    """Compare with (or, with --update-golden, rewrite) one golden file."""
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(produced)
    assert path.is_file(), f"{path} is missing: run pytest {__file__} --update-golden"
    assert produced == path.read_bytes(), (
        f"{path.name} differs from what skyplan graph prints today; if the change is intended, "
        f"run `pytest tests/golden/test_graph.py --update-golden` and review the diff"
    )


def test_there_are_pictures_of_every_example_stack() -> None:
    assert set(stacks_with_plans()) >= {"analytics", "genomics", "local-demo", "ml-training"}
    if GOLDEN.is_dir():
        names = {p.stem for p in GOLDEN.iterdir()}
        assert names <= set(stacks_with_plans()), "golden pictures of stacks that are gone"


@pytest.mark.parametrize("name", stacks_with_plans())
def test_mermaid_matches_golden(name: str, update_golden: bool) -> None:
    proc = graph_bytes(str(STACKS / name / "plan.json"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.startswith(b"---\ntitle: ")
    assert b"\nflowchart LR\n" in proc.stdout
    check_golden(GOLDEN / f"{name}.mmd", proc.stdout, update_golden)


@pytest.mark.parametrize("name", stacks_with_plans())
def test_svg_matches_golden(name: str, update_golden: bool) -> None:
    proc = graph_bytes(str(STACKS / name / "plan.json"), "--format", "svg")
    assert proc.returncode == 0, proc.stderr.decode()
    ET.fromstring(proc.stdout)  # well-formed
    check_golden(GOLDEN / f"{name}.svg", proc.stdout, update_golden)


# --- the command ---------------------------------------------------------------------------


def test_out_writes_the_same_bytes_and_takes_the_format_from_the_suffix(tmp_path: Path) -> None:
    folder = STACKS / "genomics"
    stdout = graph_bytes(str(folder / "plan.json"), "--format", "svg").stdout
    proc = graph_bytes(str(folder), "--out", str(tmp_path / "plan.svg"))
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b""
    assert (tmp_path / "plan.svg").read_bytes() == stdout
    proc = graph_bytes(str(folder), "--out", str(tmp_path / "plan.mmd"))
    assert (tmp_path / "plan.mmd").read_bytes().startswith(b"---\ntitle: ")


def test_without_manifest_only_copied_data_sets_are_drawn(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_bytes((STACKS / "genomics" / "plan.json").read_bytes())
    proc = graph_bytes(str(tmp_path / "plan.json"))
    assert proc.returncode == 0, proc.stderr.decode()
    text = proc.stdout.decode()
    assert "patients" in text and "reference" in text
    assert "aligned" not in text  # made by a job and never copied: only manifest.json knows it


def test_a_manifest_of_another_plan_is_ignored_with_a_note(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_bytes((STACKS / "genomics" / "plan.json").read_bytes())
    (tmp_path / "manifest.json").write_bytes((STACKS / "analytics" / "manifest.json").read_bytes())
    proc = graph_bytes(str(tmp_path / "plan.json"))
    assert proc.returncode == 0
    assert b"describes another plan" in proc.stderr
    assert b"ads-daily" not in proc.stdout


def test_a_missing_plan_exits_2(tmp_path: Path) -> None:
    proc = graph_bytes(str(tmp_path / "nope.json"))
    assert proc.returncode == 2
    assert b"file not found" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_png_without_a_converter_exits_2_saying_what_to_install(tmp_path: Path) -> None:
    out = tmp_path / "plan.png"
    proc = graph_bytes(
        str(STACKS / "genomics"), "--out", str(out), env={"SKYPLAN_PNG_CONVERTER": "none"}
    )
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "no SVG to PNG converter" in err
    assert "cairosvg" in err and "librsvg2-bin" in err and "chromium" in err.lower()
    assert not out.exists()


def test_png_with_the_converter_found_here(tmp_path: Path) -> None:
    from skyplan.cli.graph_cmd import png_converter

    if png_converter() is None:
        pytest.skip("no SVG to PNG converter here (pip install cairosvg, or librsvg2-bin)")
    out = tmp_path / "plan.png"
    proc = graph_bytes(str(STACKS / "analytics"), "--out", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    width = int.from_bytes(data[16:20], "big")
    svg = graph_bytes(str(STACKS / "analytics"), "--format", "svg").stdout
    root = ET.fromstring(svg)
    assert width == 2 * int(root.get("width", "0"))  # drawn at twice the size, crisp
    piped = graph_bytes(str(STACKS / "analytics"), "--format", "png")
    assert piped.returncode == 0 and piped.stdout.startswith(PNG_MAGIC)
