"""Inputs that once crashed or hung skyplan: each now ends in a clear error or a good plan."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from cli_helpers import run_cli, write_tiny_catalog

STACKS = Path(__file__).resolve().parents[2] / "stacks"


def test_recursive_alias_is_a_spec_error(tmp_path: Path) -> None:
    (tmp_path / "sky.yaml").write_text("x: &a [*a]\n", encoding="utf-8")
    r = run_cli("plan", "sky.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert "sky.yaml:1:" in r.stderr and "nested too deeply" in r.stderr
    assert "Traceback" not in r.stderr


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    lines = ["version: 1", "name: b", "a0: &a0 [x,x,x,x,x,x,x,x,x,x]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    (tmp_path / "sky.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run_cli("plan", "sky.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert "too many values" in r.stderr


def test_absurd_numbers_are_input_errors(tmp_path: Path) -> None:
    spec = "version: 1\nname: big\njobs:\n  a: {run: x, hours: 1e400}\n"
    (tmp_path / "sky.yaml").write_text(spec, encoding="utf-8")
    r = run_cli("plan", "sky.yaml", cwd=tmp_path)
    assert r.returncode == 2
    assert "sky.yaml:4:" in r.stderr and "jobs.a.hours" in r.stderr
    assert not (tmp_path / "stacks").exists()


def test_output_path_is_not_read_as_markup_and_file_is_readable(tmp_path: Path) -> None:
    out = tmp_path / "out[/b]"
    r = run_cli("plan", STACKS / "genomics" / "sky.yaml", "--out", out, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert f"Wrote {out}/: gcp/ (" in r.stdout
    for path in (out / "plan.json", out / "gcp" / "main.tf"):
        mode = stat.S_IMODE(os.stat(path).st_mode)
        assert mode & stat.S_IRGRP and mode & stat.S_IROTH
    # no temporary left behind
    assert sorted(p.name for p in out.iterdir()) == ["gcp", "manifest.json", "plan.json"]
    assert not [p for p in out.rglob(".*") if p.is_file()]


def test_catalog_that_is_not_utf8_names_file_and_line(tmp_path: Path) -> None:
    root = write_tiny_catalog(tmp_path / "cat")
    text = (root / "offerings.csv").read_bytes()
    (root / "offerings.csv").write_bytes(text + b"aws,eu-west-1,caf\xe9,2,8,,0,0.1,\n")
    r = run_cli("catalog", "offerings", "--catalog", root, cwd=tmp_path)
    assert r.returncode == 2
    assert f"{root / 'offerings.csv'}:5: not UTF-8 text" in r.stderr


def test_catalog_filters_that_match_nothing_known_are_errors(tmp_path: Path) -> None:
    r = run_cli("catalog", "offerings", "--region", "eu-wset-1", cwd=tmp_path)
    assert r.returncode == 2
    assert "unknown region 'eu-wset-1'" in r.stderr and "did you mean 'eu-west-1'?" in r.stderr
    r = run_cli("catalog", "regions", "--continent", "europa", cwd=tmp_path)
    assert r.returncode == 2 and "did you mean 'europe'?" in r.stderr


def test_nodes_must_be_a_whole_number_not_a_boolean(tmp_path: Path) -> None:
    spec = "version: 1\nname: n\njobs:\n  a: {run: x, hours: 1, nodes: true}\n"
    (tmp_path / "sky.yaml").write_text(spec, encoding="utf-8")
    r = run_cli("plan", "sky.yaml", cwd=tmp_path)
    assert r.returncode == 2 and "jobs.a.nodes" in r.stderr
