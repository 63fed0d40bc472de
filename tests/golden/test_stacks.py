"""Golden tests for the example stacks in stacks/*/.

Each stack's committed output (plan.json, manifest.json and one Terraform module per cloud)
must be exactly what `skyplan plan` produces today, byte for byte. After an intended change of
the planner, the catalog or the templates, regenerate them with

    .venv/bin/pytest tests/golden --update-golden

and review the diff of stacks/*/ like any other change. The story tests below check
that each stack still shows what it was written to show (its comments quote the numbers).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from skyplan.catalog import Catalog, load_embedded_catalog

STACKS = Path(__file__).resolve().parents[2] / "stacks"
EXPECTED_STACKS = {"analytics", "genomics", "local-demo", "ml-training"}

RunPlan = Callable[[Path], Any]  # conftest.run_plan: spec path -> Planned (.text, .data)
RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


def stack_names() -> list[str]:
    """Every folder under stacks/ holding a sky.yaml, sorted."""
    return sorted(p.parent.name for p in STACKS.glob("*/sky.yaml"))


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    """The embedded catalog the stacks are planned against."""
    return load_embedded_catalog()


def spec_of(name: str) -> dict[str, Any]:
    """The parsed sky.yaml of a stack."""
    data: dict[str, Any] = yaml.safe_load((STACKS / name / "sky.yaml").read_text("utf-8"))
    return data


def golden(name: str) -> dict[str, Any]:
    """The committed plan.json of a stack."""
    data: dict[str, Any] = json.loads((STACKS / name / "plan.json").read_text("utf-8"))
    return data


def placement(plan: dict[str, Any], job: str) -> dict[str, Any]:
    """The placement of `job` in a plan.json."""
    return next(p for p in plan["placements"] if p["job"] == job)


def region_key(p: dict[str, Any]) -> str:
    """`cloud:region` of a placement."""
    return f"{p['cloud']}:{p['region']}"


def write_variant(tmp_path: Path, spec: dict[str, Any]) -> Path:
    """Write a modified copy of a spec; returns its path."""
    path = tmp_path / "variant" / "sky.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


# --- golden files ------------------------------------------------------------------------


def test_every_example_stack_is_here() -> None:
    assert set(stack_names()) >= EXPECTED_STACKS


def stack_envs() -> list[tuple[str, str | None]]:
    """(stack, environment) for every example stack and each environment of its `envs:`."""
    return [
        (name, env)
        for name in stack_names()
        for env in [None, *sorted(spec_of(name).get("envs", {}))]
    ]


@pytest.mark.parametrize(("name", "env"), stack_envs(), ids=lambda v: v or "")
def test_generated_stack_matches_golden(
    name: str, env: str | None, skyplan_cli: RunCli, update_golden: bool
) -> None:
    """plan.json, manifest.json and every Terraform file under stacks/<name>/ (and
    stacks/<name>/<env>/) are exactly what `skyplan plan` generates today (`--check` compares in
    memory and writes nothing; a promoted environment is re-pinned, not re-solved)."""
    folder = STACKS / name / env if env else STACKS / name
    args = ["plan", str(STACKS / name / "sky.yaml"), "--out", str(folder), "--format", "json"]
    if env:
        args += ["--env", env]
    proc = skyplan_cli(*args) if update_golden else skyplan_cli(*args, "--check")
    assert proc.returncode == 0, (
        f"{folder} is out of date; if the change is intended, run "
        f"`pytest tests/golden --update-golden` and review the diff:\n{proc.stderr}"
    )
    plan = json.loads((folder / "plan.json").read_text("utf-8"))
    assert plan["solver"]["status"] in ("OPTIMAL", "PINNED")
    assert plan["stack"] == (f"{name}-{env}" if env else name)
    clouds = {p["cloud"] for p in plan["placements"]}
    assert {p.name for p in folder.iterdir() if (p / "main.tf").exists()} == clouds


@pytest.mark.parametrize("name", stack_names())
def test_budget_holds(name: str) -> None:
    budget = spec_of(name).get("budget_usd")
    if budget is not None:
        assert Decimal(str(golden(name)["total_usd"])) <= Decimal(str(budget))


# --- genomics: EU patient data, and everything derived from it, stays in the EU ----------


def test_genomics_stays_in_the_eu_by_inheritance(catalog: Catalog) -> None:
    spec, plan = spec_of("genomics"), golden("genomics")
    # Only the data set carries the restriction; no stack-wide policy does the work.
    assert "jurisdictions" not in spec.get("policy", {})
    assert spec["datasets"]["patients"]["jurisdictions"] == ["EU"]
    assert "jurisdictions" not in spec["datasets"]["reference"]
    regions = catalog.region_by_key
    assert "EU" not in regions[spec["datasets"]["reference"]["location"]].tags
    for p in plan["placements"]:
        assert "EU" in regions[region_key(p)].tags, p
    for t in plan["transfers"]:
        assert "EU" in regions[t["to"]].tags, t
    # The US reference genome is copied into the EU.
    assert any(t["dataset"] == "reference" for t in plan["transfers"])


def test_genomics_leaves_the_eu_without_the_restriction(
    tmp_path: Path, run_plan: RunPlan, catalog: Catalog
) -> None:
    """The walkthrough's first experiment: drop `jurisdictions` and the plan moves out."""
    spec = spec_of("genomics")
    del spec["datasets"]["patients"]["jurisdictions"]
    plan = run_plan(write_variant(tmp_path, spec)).data
    regions = catalog.region_by_key
    assert any("EU" not in regions[region_key(p)].tags for p in plan["placements"])
    assert plan["total_usd"] < golden("genomics")["total_usd"]


def test_genomics_over_budget_exits_3(tmp_path: Path, skyplan_cli: RunCli) -> None:
    """The walkthrough's second experiment: a budget below the cheapest plan is infeasible."""
    spec = spec_of("genomics")
    spec["budget_usd"] = 150
    path = write_variant(tmp_path, spec)
    proc = skyplan_cli("plan", str(path), "--out", str(tmp_path / "out"))
    assert proc.returncode == 3, proc.stderr
    total = golden("genomics")["total_usd"]
    assert "budget_usd $150.00" in proc.stderr
    assert f"${total:,.2f}" in proc.stderr


# --- ml-training: data gravity beats the cheapest GPUs ------------------------------------


def test_ml_training_trains_next_to_the_data(catalog: Catalog) -> None:
    spec, plan = spec_of("ml-training"), golden("ml-training")
    data_cloud = spec["datasets"]["code-crawl"]["location"].split(":")[0]
    train = placement(plan, "train")
    assert train["cloud"] == data_cloud
    assert train["nodes"] > 1
    assert any(p["spot"] for p in plan["placements"])
    assert not any(t["dataset"] == "tokens" for t in plan["transfers"])
    # ...although the cheapest fitting GPUs are in another cloud.
    name, count = spec["jobs"]["train"]["resources"]["accelerators"].split(":")
    fitting = [
        o
        for o in catalog.offerings
        if (o.accelerator or "").lower() == name.lower() and o.accelerator_count >= int(count)
    ]
    cheapest = min(fitting, key=lambda o: o.price)
    assert cheapest.cloud != data_cloud
    assert Decimal(str(train["usd_per_hour"])) > cheapest.price


def test_ml_training_longer_run_moves_to_the_cheaper_gpus(
    tmp_path: Path, run_plan: RunPlan
) -> None:
    """The comment's claim: at 10 hours the GPU saving beats the cost of the copy."""
    spec = spec_of("ml-training")
    spec["jobs"]["train"]["hours"] = 10
    plan = run_plan(write_variant(tmp_path, spec)).data
    data_cloud = spec["datasets"]["code-crawl"]["location"].split(":")[0]
    assert placement(plan, "train")["cloud"] != data_cloud
    assert any(t["dataset"] == "tokens" for t in plan["transfers"])


# --- analytics: the AWS-Azure peering moves the global join -------------------------------


def test_analytics_uses_the_peering() -> None:
    spec, plan = spec_of("analytics"), golden("analytics")
    (peer,) = spec["peering"]
    clouds = set(peer["clouds"])
    rate = peer["usd_per_gb"]
    peered = [
        t for t in plan["transfers"] if {t["from"].split(":")[0], t["to"].split(":")[0]} == clouds
    ]
    assert peered, "no transfer between the peered clouds"
    assert all(t["usd_per_gb"] == rate for t in peered)
    assert placement(plan, "join")["cloud"] in clouds
    avoided = set(spec["policy"]["avoid"])
    assert not any(region_key(p) in avoided for p in plan["placements"])


def test_analytics_without_peering_moves_the_join(tmp_path: Path, run_plan: RunPlan) -> None:
    spec = spec_of("analytics")
    del spec["peering"]
    plan = run_plan(write_variant(tmp_path, spec)).data
    with_peering = golden("analytics")
    assert region_key(placement(plan, "join")) != region_key(placement(with_peering, "join"))
    assert plan["total_usd"] > with_peering["total_usd"]


def test_analytics_avoid_matters(tmp_path: Path, run_plan: RunPlan) -> None:
    spec = spec_of("analytics")
    (avoided,) = spec["policy"]["avoid"]
    spec["policy"]["avoid"] = []
    plan = run_plan(write_variant(tmp_path, spec)).data
    assert region_key(placement(plan, "join")) == avoided


# --- local-demo: the local cloud only, with a copy between its regions --------------------


def test_local_demo_is_local_with_a_transfer() -> None:
    spec, plan = spec_of("local-demo"), golden("local-demo")
    assert spec["clouds"] == ["local"]
    assert {p["cloud"] for p in plan["placements"]} == {"local"}
    assert all(p["region"] in {"local-a", "local-b"} for p in plan["placements"])
    assert plan["transfers"]
    assert all(
        t["from"].startswith("local:") and t["to"].startswith("local:") for t in plan["transfers"]
    )
    assert any(t["dataset"] in spec["datasets"] for t in plan["transfers"])


def test_local_demo_input_files_ship_beside_the_spec() -> None:
    for name, ds in spec_of("local-demo")["datasets"].items():
        uri = ds["uri"]
        assert uri.startswith("file://"), name
        path = STACKS / "local-demo" / uri.removeprefix("file://")
        assert path.is_file(), f"{name}: {path} is missing"
