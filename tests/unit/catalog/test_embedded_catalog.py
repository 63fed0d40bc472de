"""The embedded catalog: loads fast and holds what SPEC section 3 and the README promise."""

from __future__ import annotations

import csv
import json
import re
import time
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest

from skyplan.catalog import Catalog, load_catalog, load_embedded_catalog
from skyplan.catalog.load import EMBEDDED_DIR
from skyplan.catalog.models import CONTINENTS, EGRESS_SCOPES, egress_usd_per_gb

DATA = Path(EMBEDDED_DIR)


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_embedded_catalog()


def test_loads_fast() -> None:
    start = time.perf_counter()
    fresh = load_catalog(DATA)
    elapsed = time.perf_counter() - start
    assert elapsed < 2.0, f"embedded catalog took {elapsed:.2f} s to load"
    assert fresh.source == "embedded"
    assert len(fresh.offerings) > 1000


def test_embedded_is_loaded_once(cat: Catalog) -> None:
    assert load_embedded_catalog() is cat


def test_has_the_three_clouds_and_local(cat: Catalog) -> None:
    assert cat.clouds == ("aws", "azure", "gcp", "local")
    with_offerings = {o.cloud for o in cat.offerings}
    assert with_offerings == {"aws", "azure", "gcp", "local"}


def test_as_of_comes_from_metadata(cat: Catalog) -> None:
    meta = json.loads((DATA / "metadata.json").read_text(encoding="utf-8"))
    assert cat.as_of == meta["as_of"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", cat.as_of or "")


def test_as_of_is_the_date_of_the_oldest_price() -> None:
    # the planner's stale-catalog warning reads as_of: it must not understate the prices' age
    meta = json.loads((DATA / "metadata.json").read_text(encoding="utf-8"))
    with (DATA / "offerings.csv").open(newline="", encoding="utf-8") as fh:
        used = {row["source"] for row in csv.DictReader(fh) if row["cloud"] != "local"}
    assert meta["as_of"] == min(meta["sources"][s]["date"] for s in used) == "2024-02-21"


def test_local_cloud_regions(cat: Catalog) -> None:
    local = [r for r in cat.regions if r.cloud == "local"]
    assert [r.region for r in local] == ["local-a", "local-b"]
    for r in local:
        assert r.country == "ZZ"
        assert "LOCAL" in r.tags
        assert "ZZ" in r.tags


def test_local_offerings_are_cpu_only_and_local_a_is_cheaper(cat: Catalog) -> None:
    prices: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for o in cat.offerings:
        if o.cloud == "local":
            assert o.accelerator == ""
            assert o.accelerator_count == 0
            prices[o.instance_type][o.region] = o.price
    assert prices, "no local offerings"
    for itype, by_region in prices.items():
        assert set(by_region) == {"local-a", "local-b"}, itype
        assert by_region["local-a"] < by_region["local-b"], itype


@pytest.mark.parametrize("accel", ["T4", "L4", "A10G", "V100", "A100", "A100-80GB", "H100"])
def test_accelerators_present(cat: Catalog, accel: str) -> None:
    assert accel in cat.accelerators
    assert any(o.accelerator == accel and o.accelerator_count >= 1 for o in cat.offerings)


@pytest.mark.parametrize(
    ("cloud", "accel"),
    [(c, a) for c in ("aws", "gcp", "azure") for a in ("T4", "V100", "A100", "A100-80GB", "H100")]
    + [("aws", "A10G"), ("aws", "L4"), ("gcp", "L4"), ("azure", "A10")],
)
def test_each_cloud_ships_its_mainstream_gpus(cat: Catalog, cloud: str, accel: str) -> None:
    assert any(o.cloud == cloud and o.accelerator == accel for o in cat.offerings)


def test_aws_l4_and_l40s_come_from_the_2026_us_east_1_prices(cat: Catalog) -> None:
    # the 2024 snapshot predates g6, gr6 and g6e: us-east-1 is the only region with prices
    rows = {r["instance_type"]: r for r in _csv("offerings.csv") if r["cloud"] == "aws"}
    families = {t.split(".")[0] for t, r in rows.items() if r["accelerator"] in ("L4", "L40S")}
    assert families == {"g6", "gr6", "g6e"}
    g6 = rows["g6.xlarge"]
    assert (g6["region"], g6["vcpus"], g6["memory_gib"]) == ("us-east-1", "4", "16")
    assert (g6["accelerator"], g6["accelerator_count"], g6["price_usd_hour"]) == (
        "L4",
        "1",
        "0.8048",
    )
    assert g6["source"] == "aws-karpenter-us-east-1-2026-07-20"
    counts = {t: int(r["accelerator_count"]) for t, r in rows.items() if t.startswith("g6.")}
    assert counts["g6.12xlarge"] == counts["g6.24xlarge"] == 4
    assert counts["g6.48xlarge"] == 8
    assert rows["g6e.48xlarge"]["accelerator"] == "L40S"
    assert rows["gr6.4xlarge"]["accelerator"] == "L4"
    assert (
        "g6" in json.loads((DATA / "metadata.json").read_text(encoding="utf-8"))["families"]["aws"]
    )


SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"


@pytest.mark.skipif(not (SHARED / "prices").is_dir(), reason="no shared reference data here")
def test_the_build_script_rebuilds_the_embedded_catalog_byte_for_byte(tmp_path: Path) -> None:
    import subprocess
    import sys

    script = Path(__file__).resolve().parents[3] / "scripts" / "build_catalog.py"
    out = tmp_path / "catalog"
    cmd = [sys.executable, str(script), "--shared", str(SHARED), "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    for name in ("offerings.csv", "regions.csv", "egress.csv", "metadata.json"):
        assert (out / name).read_bytes() == (DATA / name).read_bytes(), name


@pytest.mark.parametrize("accel", ["T4", "V100"])
def test_gcp_n1_hosts_with_attached_gpus(cat: Catalog, accel: str) -> None:
    n1 = [
        o
        for o in cat.offerings
        if o.cloud == "gcp" and o.instance_type.startswith("n1-") and o.accelerator == accel
    ]
    assert n1, f"no GCP n1 + {accel} offerings"
    assert {o.accelerator_count for o in n1} >= {1, 2, 4}
    example = next(o for o in n1 if o.accelerator_count == 1)
    assert "+1x" in example.instance_type


def test_every_offering_region_is_in_regions_csv(cat: Catalog) -> None:
    regions = {(r["cloud"], r["region"]) for r in _csv("regions.csv")}
    missing = {(r["cloud"], r["region"]) for r in _csv("offerings.csv")} - regions
    assert missing == set()
    assert all(o.region_key in cat.region_by_key for o in cat.offerings)


def test_every_region_has_a_known_continent_and_country_tag(cat: Catalog) -> None:
    for r in cat.regions:
        assert r.continent in CONTINENTS, r.key
        assert re.fullmatch(r"[A-Z]{2}", r.country), r.key
        assert r.country in r.tags, r.key


def test_egress_rates_for_every_cloud_and_scope(cat: Catalog) -> None:
    got = {(e.cloud, e.scope) for e in cat.egress}
    assert got == {(c, s) for c in cat.clouds for s in EGRESS_SCOPES}


def test_every_source_id_has_a_dated_source_in_metadata() -> None:
    meta = json.loads((DATA / "metadata.json").read_text(encoding="utf-8"))
    sources = meta["sources"]
    used = {row["source"] for row in _csv("offerings.csv")} | {
        row["source"] for row in _csv("egress.csv")
    }
    assert "" not in used, "a row has no source"
    assert used - set(sources) == set()
    for sid in used:
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", str(sources[sid].get("date", ""))), sid


def test_offerings_are_sane(cat: Catalog) -> None:
    for o in cat.offerings:
        assert o.vcpus >= 1
        assert o.memory_gib > 0
        assert o.price > 0, (o.region_key, o.instance_type)
        assert o.spot_price is None or o.spot_price > 0
        assert bool(o.accelerator) == (o.accelerator_count > 0)


def test_egress_rule_same_region_same_cloud_and_across(cat: Catalog) -> None:
    r = cat.region_by_key
    eu1, eu3, use1 = r["aws:eu-west-1"], r["aws:eu-west-3"], r["aws:us-east-1"]
    gcp = r["gcp:europe-west4"]
    assert egress_usd_per_gb(cat, eu1, eu1) == 0
    assert egress_usd_per_gb(cat, eu1, eu3) == cat.egress_rate("aws", EGRESS_SCOPES[0])
    assert egress_usd_per_gb(cat, eu1, use1) == cat.egress_rate("aws", EGRESS_SCOPES[1])
    assert egress_usd_per_gb(cat, eu1, gcp) == cat.egress_rate("aws", "internet")
    assert egress_usd_per_gb(cat, gcp, eu1) == cat.egress_rate("gcp", "internet")
