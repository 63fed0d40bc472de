"""The runner-up: the cheapest other allowed region for one job, within quotas, and its cost."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from skyplan.catalog.load import load_catalog
from skyplan.solver.explain import runner_ups
from skyplan.solver.solve import solve
from skyplan.spec.resolve import load_spec

REGIONS = """cloud,region,country,jurisdictions,continent,lat,lon
aws,eu-west-1,IE,EU,europe,0,0
aws,eu-west-3,FR,EU,europe,0,0
aws,eu-central-1,DE,EU,europe,0,0
"""
OFFERINGS = (
    "cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,"
    "price_usd_hour,spot_price_usd_hour\n"
    """aws,eu-west-1,m.large,2,8,,0,1.00,
aws,eu-west-3,m.large,2,8,,0,2.00,
aws,eu-central-1,m.large,2,8,,0,3.00,
"""
)
EGRESS = """cloud,scope,usd_per_gb
aws,inter-region-same-continent,0.02
aws,inter-region-other-continent,0.02
aws,internet,0.09
"""


def _setup(tmp_path: Path, quotas: str | None) -> tuple[object, object]:
    cat_dir = tmp_path / "cat"
    cat_dir.mkdir()
    (cat_dir / "regions.csv").write_text(REGIONS)
    (cat_dir / "offerings.csv").write_text(OFFERINGS)
    (cat_dir / "egress.csv").write_text(EGRESS)
    if quotas:
        (cat_dir / "quotas.csv").write_text("cloud,region,resource,limit\n" + quotas)
    spec = tmp_path / "sky.yaml"
    spec.write_text(
        "version: 1\nname: ru\nclouds: [aws]\n"
        "datasets:\n  d: {size: 100GB, location: 'aws:eu-west-1'}\n"
        "jobs:\n  a: {run: x, hours: 10, inputs: [d]}\n"
    )
    cat = load_catalog(cat_dir)
    return load_spec(spec, cat), cat


def test_runner_up_is_next_cheapest_region_with_its_extra_cost(tmp_path: Path) -> None:
    spec, cat = _setup(tmp_path, None)
    plan = solve(spec, cat)  # type: ignore[arg-type]
    ru = runner_ups(spec, cat, plan)["a"]  # type: ignore[arg-type]
    assert plan.placement("a").region == "eu-west-1"
    assert ru is not None and ru.region == "aws:eu-west-3"
    # $10 more compute plus a 100 GB copy at $0.02
    assert ru.extra_usd == Decimal("12.00")


def test_runner_up_respects_quotas(tmp_path: Path) -> None:
    spec, cat = _setup(tmp_path, "aws,eu-west-3,vcpus,1\n")
    plan = solve(spec, cat)  # type: ignore[arg-type]
    ru = runner_ups(spec, cat, plan)["a"]  # type: ignore[arg-type]
    assert ru is not None and ru.region == "aws:eu-central-1"
    assert ru.extra_usd == Decimal("22.00")
