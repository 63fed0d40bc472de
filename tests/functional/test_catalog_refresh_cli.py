"""`skyplan catalog refresh|quotas|diff` and a refreshed catalog planned by the real CLI.

The clouds are never reached: credential failures run the real console script with every
credential hidden (and a sitecustomize that makes socket.connect raise); successful refreshes
run the typer app in-process with the fixture fetchers of tests/unit/catalog/refresh.
"""

from __future__ import annotations

import importlib
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from skyplan.cli.app import app

SKYPLAN = Path(sys.executable).with_name("skyplan")

Cli = Callable[..., subprocess.CompletedProcess[str]]
FIXTURES = Path(__file__).parents[1] / "unit" / "catalog" / "refresh"
EMBEDDED = Path(__file__).parents[2] / "skyplan" / "catalog" / "data"
REGIONS = "eu-west-1,us-east-1,europe-west3,us-central1,westeurope,eastus"
SPEC = """\
version: 1
name: eu
policy: {jurisdictions: [EU]}
jobs:
  crunch: {run: ./crunch.sh, resources: {cpus: 2, memory: 8}, hours: 10}
"""
BLOCK_NETWORK = """\
import socket


def _refuse(*args, **kwargs):
    raise RuntimeError("a functional test tried to reach the network")


socket.socket.connect = _refuse
socket.socket.connect_ex = _refuse
"""


def _fixtures(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The unit tests' fixture module (stubbed SDK clients), importable from here."""
    monkeypatch.syspath_prepend(str(FIXTURES))
    return importlib.import_module("refresh_fixtures")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs: any socket connection fails."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a functional test tried to reach the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)


@pytest.fixture
def bare(tmp_path: Path) -> Cli:
    """Run the console script with no cloud credentials or configuration, and no network."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCK_NETWORK, encoding="utf-8")
    missing = str(tmp_path / "no-such-file")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AWS_", "GOOGLE_", "AZURE_", "CLOUDSDK_")) and k != "SKYPLAN_DEBUG"
    }
    env.update(
        PYTHONPATH=str(site),
        AWS_CONFIG_FILE=missing,
        AWS_SHARED_CREDENTIALS_FILE=missing,
        AWS_EC2_METADATA_DISABLED="true",
        GOOGLE_APPLICATION_CREDENTIALS=missing,
        NO_GCE_CHECK="True",
    )

    def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(SKYPLAN), *map(str, args)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def refreshed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A catalog written by `skyplan catalog refresh --cloud all` from the fixtures."""
    fx = _fixtures(monkeypatch)
    monkeypatch.setattr(
        "skyplan.catalog.refresh.run.default_fetchers", lambda *a, **k: fx.fixture_fetchers()
    )
    out = tmp_path / "cat"
    result = CliRunner().invoke(
        app, ["catalog", "refresh", "--cloud", "all", "--regions", REGIONS, "--out", str(out)]
    )
    assert result.exit_code == 0, (result.output, result.exception)
    return out


def _error(proc: subprocess.CompletedProcess[str]) -> str:
    """The error block that ends stderr (progress lines come before it), checked for shape."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and "To fix:" in proc.stderr
    assert proc.stdout == ""
    return proc.stderr[proc.stderr.index("error: ") :]


@pytest.mark.parametrize(
    ("cloud", "first_line"),
    [
        ("aws", "error: no usable AWS credentials: Unable to locate credentials"),
        ("gcp", "error: no usable GCP credentials: File "),
        ("azure", "error: no Azure subscription: refreshing Azure reads the sizes your"),
    ],
)
def test_refresh_without_credentials_exits_2_and_writes_nothing(
    bare: Cli, work: Path, cloud: str, first_line: str
) -> None:
    proc = bare("catalog", "refresh", "--cloud", cloud, "--out", "cat", cwd=work)
    assert _error(proc).startswith(first_line)
    assert proc.stderr.startswith(f"{cloud}: refreshing ")
    assert list(work.iterdir()) == []


def test_refresh_all_without_credentials_names_every_fix(bare: Cli, work: Path) -> None:
    regions = "eu-west-1,europe-west3,westeurope"
    proc = bare(
        "catalog", "refresh", "--cloud", "all", "--regions", regions, "--out", "cat", cwd=work
    )
    error = _error(proc)
    assert error.splitlines()[:4] == [
        "error: no region could be refreshed; nothing was written to cat",
        "  aws: no usable AWS credentials: Unable to locate credentials",
        "  gcp: no usable GCP credentials: File " + error.splitlines()[2].split("File ", 1)[1],
        "  azure: no Azure subscription: refreshing Azure reads the sizes your subscription "
        "may use",
    ]
    for fix in ("aws configure", "gcloud auth application-default login", "AZURE_SUBSCRIPTION_ID"):
        assert fix in error
    assert proc.stderr.startswith("aws: refreshing 1 region\n")  # progress came first
    assert list(work.iterdir()) == []


def test_quotas_without_credentials_exits_2(bare: Cli, work: Path) -> None:
    shutil.copytree(EMBEDDED, work / "cat")
    proc = bare("catalog", "quotas", "--cloud", "aws", "--out", "cat", cwd=work)
    assert _error(proc).startswith("error: no usable AWS credentials: ")
    assert not (work / "cat" / "quotas.csv").exists()


def test_quotas_into_a_folder_without_a_catalog_exits_2(bare: Cli, work: Path) -> None:
    # a folder holding only quotas.csv would be no catalog `plan --catalog` accepts
    proc = bare("catalog", "quotas", "--cloud", "gcp", "--out", "new", cwd=work)
    assert _error(proc).startswith(
        "error: no catalog in new: quotas.csv is written beside a catalog's offerings.csv\n"
        "  To fix: write one there first (`skyplan catalog refresh --cloud CLOUD --out new`)"
    )
    assert proc.stderr.startswith("error: ")  # refused before any cloud is asked
    assert list(work.iterdir()) == []


def test_aws_quotas_skip_an_opt_in_region_not_enabled(
    refreshed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fx = _fixtures(monkeypatch)
    aws = fx.StubbedAws()
    fx.queue_regions(aws, opted_out=("af-south-1",))
    for code in ("L-1216C47A", "L-DB2E81BA", "L-417A185B"):
        aws.stub("service-quotas", "eu-west-1").add_response(
            "get_service_quota",
            {"Quota": {"ServiceCode": "ec2", "QuotaCode": code, "Value": 64.0}},
            {"ServiceCode": "ec2", "QuotaCode": code},
        )
    monkeypatch.setattr(
        "skyplan.catalog.refresh.aws_account.Boto3Clients.default", classmethod(lambda cls: aws)
    )
    args = ["catalog", "quotas", "--cloud", "aws", "--regions", "af-south-1,eu-west-1", "--out"]
    result = CliRunner().invoke(app, [*args, str(refreshed)])
    assert result.exit_code == 0, result.output
    assert "aws af-south-1: skipped: an opt-in region not enabled in this account" in (
        result.stderr
    )
    assert result.stdout == (
        f"Wrote {refreshed / 'quotas.csv'}: 9 limits (1 region skipped: not enabled)\n"
    )
    aws.assert_done()


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (("--cloud", "azur"), "error: unknown cloud 'azur' for --cloud", "did you mean 'azure'?"),
        (
            ("--cloud", "aws", "--regions", "eu-wset-1"),
            "error: unknown region 'eu-wset-1' for --cloud aws",
            "did you mean 'eu-west-1'?",
        ),
    ],
)
def test_refresh_bad_arguments_exit_2(
    cli: Cli, work: Path, args: tuple[str, ...], message: str, hint: str
) -> None:
    proc = cli("catalog", "refresh", *args, "--out", "cat", cwd=work)
    assert proc.returncode == 2
    assert proc.stderr == f"{message}\n  To fix: {hint}\n"


def test_refresh_reports_progress_and_writes_a_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fx = _fixtures(monkeypatch)
    monkeypatch.setattr(
        "skyplan.catalog.refresh.run.default_fetchers", lambda *a, **k: fx.fixture_fetchers()
    )
    out = tmp_path / "cat"
    args = ["catalog", "refresh", "--cloud", "all", "--regions", REGIONS, "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    progress = result.stderr.splitlines()
    assert "aws: refreshing 2 regions" in progress
    assert "aws eu-west-1: 4 offerings (2 with spot)" in progress
    assert "gcp: listing Compute Engine SKUs" in progress
    assert "azure westeurope: 3 offerings (3 with spot)" in progress
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"Wrote {out}/: ")
    assert "  aws: 2 of 2 regions refreshed; egress from the API: " in lines[1]
    assert sorted(p.name for p in out.iterdir()) == [
        "egress.csv",
        "metadata.json",
        "offerings.csv",
        "regions.csv",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat"]  # no temporary folder left
    # refreshing again updates the folder in place and keeps files it does not write
    (out / "quotas.csv").write_text("cloud,region,resource,limit\n", encoding="utf-8")
    again = CliRunner().invoke(app, [*args[:3], "aws", "--regions", "eu-west-1", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert again.stdout.startswith(f"Updated {out}/: ")
    assert (out / "quotas.csv").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cat"]


def test_a_refreshed_catalog_plans_end_to_end(
    cli: Cli, work: Path, write: Callable[[str, str], Path], refreshed: Path
) -> None:
    spec = write("spec/sky.yaml", SPEC)
    proc = cli("plan", spec, "--catalog", refreshed, "--out", "out", "-f", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr  # fetched today: not stale
    plan = json.loads(proc.stdout)
    # the cheapest EU offering with 2 vCPUs and 8 GiB among the fixtures:
    # gcp e2-standard-2 = 2 x 0.02624 + 8 x 0.003517 = 0.080616 (aws 0.107, azure 0.1056)
    (placement,) = plan["placements"]
    assert (placement["cloud"], placement["region"], placement["instance_type"]) == (
        "gcp",
        "europe-west3",
        "e2-standard-2",
    )
    assert placement["usd_per_hour"] == 0.0806
    assert plan["total_usd"] == 0.8062


def test_quotas_are_written_and_honoured_by_the_plan(
    cli: Cli,
    work: Path,
    write: Callable[[str, str], Path],
    refreshed: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from skyplan.catalog.refresh.quotas import QuotaResult, QuotaRow

    def gcp(regions: tuple[str, ...], progress: Any) -> QuotaResult:
        progress("gcp", regions[0], "1 limit")
        return QuotaResult("gcp", (QuotaRow("gcp", "europe-west3", "vcpus", 0, "CPUS"),))

    monkeypatch.setattr(
        "skyplan.catalog.refresh.run.default_quota_fetchers", lambda *a, **k: {"gcp": gcp}
    )
    result = CliRunner().invoke(
        app,
        [
            "catalog",
            "quotas",
            "--cloud",
            "gcp",
            "--regions",
            "europe-west3",
            "--out",
            str(refreshed),
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {refreshed / 'quotas.csv'}: 1 limit\n"
    assert "gcp europe-west3: 1 limit" in result.stderr
    spec = write("spec/sky.yaml", SPEC)
    proc = cli("plan", spec, "--catalog", refreshed, "--out", "out", "-f", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    (placement,) = json.loads(proc.stdout)["placements"]
    # europe-west3 has no vCPUs left: the next cheapest, azure westeurope D2s_v5 at 0.1056
    assert (placement["cloud"], placement["instance_type"]) == ("azure", "Standard_D2s_v5")


def test_plan_warns_on_a_stale_catalog_without_failing(
    cli: Cli, work: Path, write: Callable[[str, str], Path], refreshed: Path
) -> None:
    meta = json.loads((refreshed / "metadata.json").read_text(encoding="utf-8"))
    (refreshed / "metadata.json").write_text(
        json.dumps({**meta, "as_of": "2000-01-01"}), encoding="utf-8"
    )
    spec = write("spec/sky.yaml", SPEC)
    proc = cli("plan", spec, "--catalog", refreshed, "--out", "out", "-f", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"warning: the oldest prices in catalog {refreshed} are ")
    assert " days old (from 2000-01-01); " in line
    assert "`skyplan catalog refresh --cloud all --out DIR`" in line
    assert json.loads(proc.stdout)["placements"]


def test_diff_lists_price_changes_largest_first(cli: Cli, work: Path, refreshed: Path) -> None:
    new = work / "new"
    shutil.copytree(refreshed, new)
    text = (new / "offerings.csv").read_text(encoding="utf-8").splitlines()
    edited = []
    for line in text:
        cells = line.split(",")
        if cells[:3] == ["aws", "us-east-1", "p4de.24xlarge"]:
            cells[7] = "30.5"  # -10.46573
        elif cells[:3] == ["aws", "eu-west-1", "m6i.large"]:
            cells[7] = "0.117"  # +0.01
        elif cells[:3] == ["azure", "eastus", "Standard_D4s_v5"]:
            continue  # removed
        edited.append(",".join(cells))
    (new / "offerings.csv").write_text("\n".join(edited) + "\n", encoding="utf-8")
    proc = cli("catalog", "diff", refreshed, new, "-f", "json", "--added-removed", cwd=work)
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)
    assert [(r["region"], r["instance"], r["kind"], r["change"]) for r in rows] == [
        ("us-east-1", "p4de.24xlarge", "changed", -10.46573),
        ("eu-west-1", "m6i.large", "changed", 0.01),
        ("eastus", "Standard_D4s_v5", "removed", None),
    ]
    # every price and change is a JSON number (null where the cell is empty)
    numeric = ("old $/h", "new $/h", "change", "%", "old spot", "new spot", "spot change")
    for row in rows:
        for key in numeric:
            assert row[key] is None or isinstance(row[key], int | float), (key, row)
    assert (rows[0]["old $/h"], rows[0]["new $/h"], rows[2]["new $/h"]) == (
        pytest.approx(40.96573),
        30.5,
        None,
    )
    table = cli("catalog", "diff", refreshed, new, cwd=work)
    assert table.returncode == 0, table.stderr
    assert table.stdout.splitlines()[0] == (
        "2 offerings changed price (1 cheaper, 1 dearer on demand), 0 added, 1 removed"
    )
    assert "p4de.24xlarge" in table.stdout and "-10.4657" in table.stdout


def test_a_failing_region_is_reported_and_the_rest_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fx = _fixtures(monkeypatch)

    def aws(regions: tuple[str, ...], progress: Any) -> Any:
        from skyplan.catalog.refresh.aws import fetch_aws

        stubbed = fx.StubbedAws()
        fx.queue_regions(stubbed)
        stubbed.ec2_stub("eu-west-1").add_client_error(
            "describe_instance_type_offerings",
            service_error_code="Unavailable",
            service_message="Service unavailable",
            http_status_code=503,
        )
        fx.queue_region(stubbed, "us-east-1")
        return fetch_aws(regions, fx.CONTINENTS, stubbed, progress, fx.NOW)

    monkeypatch.setattr(
        "skyplan.catalog.refresh.run.default_fetchers", lambda *a, **k: {"aws": aws}
    )
    out = tmp_path / "cat"
    args = ["catalog", "refresh", "--cloud", "aws", "--regions", "eu-west-1,us-east-1", "--out"]
    result = CliRunner().invoke(app, [*args, str(out)])
    assert result.exit_code == 0, result.output
    assert "aws eu-west-1: failed: Unavailable: Service unavailable" in result.stderr
    assert (
        "warning: aws:eu-west-1 failed (Unavailable: Service unavailable); it has no offerings"
        in result.stderr
    )
    assert "  aws: 1 of 2 regions refreshed (1 failed); egress from the API: " in result.stdout
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    assert meta["failed"] == {"aws:eu-west-1": {"error": "Unavailable: Service unavailable"}}
    assert "aws,us-east-1,m6i.large" in (out / "offerings.csv").read_text(encoding="utf-8")
