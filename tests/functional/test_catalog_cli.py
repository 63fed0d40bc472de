"""`skyplan catalog offerings|regions` and argument errors through the real console script."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]


def test_offerings_h100_in_eu_cheapest_first(cli: Cli, work: Path) -> None:
    as_json = cli(
        "catalog",
        "offerings",
        "--accelerator",
        "H100",
        "--jurisdiction",
        "EU",
        "-f",
        "json",
        "-n",
        "0",
        cwd=work,
    )
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert rows
    prices = [Decimal(r["$/h"]) for r in rows]
    assert prices == sorted(prices)
    assert all(r["accelerator"].startswith("H100:") for r in rows)
    assert all(r["cloud"] in {"aws", "gcp", "azure"} for r in rows)

    table = cli("catalog", "offerings", "--accelerator", "H100", "--jurisdiction", "EU", cwd=work)
    assert table.returncode == 0, table.stderr
    shown = min(len(rows), 30)
    title = f"{shown} of {len(rows)} offerings" if len(rows) > 30 else f"{len(rows)} offerings"
    assert table.stdout.lstrip().startswith(title)
    body = [line for line in table.stdout.splitlines() if "H100:" in line]
    assert len(body) == shown
    first = rows[0]
    assert first["instance"] in body[0] and first["region"] in body[0]
    assert f"{first['$/h']:.4f}" in body[0]
    for row in rows:  # numbers are JSON numbers, not strings
        assert isinstance(row["vCPUs"], int) and isinstance(row["GiB"], int | float)
        assert isinstance(row["$/h"], int | float)
        assert row["spot $/h"] is None or isinstance(row["spot $/h"], int | float)


def test_offerings_json_keeps_exact_prices_and_null_spot(
    cli: Cli, work: Path, tiny_catalog: Path
) -> None:
    proc = cli(
        "catalog", "offerings", "--catalog", tiny_catalog, "--cloud", "aws", "-f", "json", cwd=work
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == [
        {
            "cloud": "aws",
            "region": "us-east-1",
            "instance": "m.large",
            "vCPUs": 2,
            "GiB": 8,
            "accelerator": "",
            "$/h": 0.05,
            "spot $/h": None,
        },
        {
            "cloud": "aws",
            "region": "eu-west-1",
            "instance": "m.large",
            "vCPUs": 2,
            "GiB": 8,
            "accelerator": "",
            "$/h": 0.1,
            "spot $/h": 0.03,
        },
    ]


def test_offerings_limit_and_markdown(cli: Cli, work: Path) -> None:
    proc = cli("catalog", "offerings", "--cloud", "local", "-n", "2", "-f", "markdown", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "| cloud | region | instance | vCPUs | GiB | accelerator | $/h | spot $/h |",
        "|---|---|---|---|---|---|---|---|",
        "| local | local-a | local.small | 2 | 4 |  | 0.0100 | 0.0030 |",
        "| local | local-b | local.small | 2 | 4 |  | 0.0150 |  |",
    ]


def test_offerings_no_match(cli: Cli, work: Path) -> None:
    proc = cli("catalog", "offerings", "--cloud", "local", "--min-cpus", "999", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "No offerings match.\n"


def test_one_offering_and_one_region_are_counted_in_the_singular(
    cli: Cli, work: Path, tiny_catalog: Path
) -> None:
    offerings = cli("catalog", "offerings", "--catalog", tiny_catalog, "-a", "H100", cwd=work)
    assert offerings.returncode == 0, offerings.stderr
    assert offerings.stdout.splitlines()[0].split() == ["1", "offering"]
    regions = cli("catalog", "regions", "--catalog", tiny_catalog, "--cloud", "gcp", cwd=work)
    assert regions.returncode == 0, regions.stderr
    assert regions.stdout.splitlines()[0].split() == ["1", "region"]


def test_regions_gcp_only(cli: Cli, work: Path) -> None:
    as_json = cli("catalog", "regions", "--cloud", "gcp", "--format", "json", cwd=work)
    assert as_json.returncode == 0, as_json.stderr
    rows = json.loads(as_json.stdout)
    assert rows
    assert {r["cloud"] for r in rows} == {"gcp"}
    assert all(isinstance(r["offerings"], int) for r in rows)
    assert "europe-west4" in {r["region"] for r in rows}

    table = cli("catalog", "regions", "--cloud", "gcp", cwd=work)
    assert table.returncode == 0, table.stderr
    assert table.stdout.lstrip().startswith(f"{len(rows)} regions")
    assert "europe-west4" in table.stdout
    assert " aws " not in table.stdout and " azure " not in table.stdout


def test_regions_with_tiny_catalog(cli: Cli, work: Path, tiny_catalog: Path) -> None:
    proc = cli("catalog", "regions", "--catalog", tiny_catalog, "-j", "EU", "-f", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert [(r["cloud"], r["region"], r["offerings"]) for r in json.loads(proc.stdout)] == [
        ("aws", "eu-west-1", 1),
        ("gcp", "europe-west3", 1),
    ]


@pytest.mark.parametrize(
    ("args", "stderr"),
    [
        (
            ("catalog", "offerings", "--cloud", "nope"),
            "error: unknown cloud 'nope'\n  To fix: known clouds: aws, azure, gcp, local\n",
        ),
        (
            ("catalog", "regions", "--cloud", "nope"),
            "error: unknown cloud 'nope'\n  To fix: known clouds: aws, azure, gcp, local\n",
        ),
        (
            ("catalog", "offerings", "--accelerator", "A100:0"),
            "error: accelerator count must be at least 1, got 'A100:0'\n"
            "  To fix: e.g. --accelerator H100:8 --min-memory 64GB\n",
        ),
        (
            ("catalog", "offerings", "--accelerator", "B200"),
            "error: no offering has accelerator 'B200'\n  To fix: accelerators in the catalog: "
            "A10, A100, A100-80GB, A10G, H100, L4, L40S, T4, V100\n",
        ),
        (
            ("catalog", "offerings", "--min-memory", "5XB"),
            "error: unknown unit 'XB' in '5XB'; use one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, "
            "TiB, PiB\n  To fix: e.g. --accelerator H100:8 --min-memory 64GB\n",
        ),
        (
            ("catalog", "offerings", "--catalog", "no-such-dir"),
            "error: no-such-dir: catalog folder not found\n"
            "  To fix: pass a folder holding offerings.csv, regions.csv and egress.csv\n",
        ),
    ],
)
def test_bad_catalog_arguments_exit_2(
    cli: Cli, work: Path, args: tuple[str, ...], stderr: str
) -> None:
    proc = cli(*args, cwd=work)
    assert proc.returncode == 2
    assert proc.stderr == stderr
    assert proc.stdout == ""


@pytest.mark.parametrize(
    "args",
    [
        ("plan",),
        ("plan", "sky.yaml", "--format", "xml"),
        ("plan", "sky.yaml", "--workers", "0"),
        ("no-such-command",),
        ("catalog", "offerings", "--limit", "-1"),
        ("catalog", "offerings", "--no-such-option"),
    ],
)
def test_usage_errors_exit_2_without_traceback(cli: Cli, work: Path, args: tuple[str, ...]) -> None:
    proc = cli(*args, cwd=work)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "Error" in proc.stderr or "error" in proc.stderr


def test_no_arguments_shows_help(cli: Cli, work: Path) -> None:
    proc = cli(cwd=work)
    assert proc.returncode in (0, 2)
    assert "Traceback" not in proc.stderr
    assert "Usage:" in proc.stdout + proc.stderr


def test_help(cli: Cli, work: Path) -> None:
    proc = cli("--help", cwd=work)
    assert proc.returncode == 0
    assert "plan" in proc.stdout and "catalog" in proc.stdout
