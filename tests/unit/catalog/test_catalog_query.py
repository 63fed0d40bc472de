"""Filtering and ranking offerings and regions for `skyplan catalog`."""

from __future__ import annotations

from decimal import Decimal

import pytest

from skyplan.catalog import Catalog, load_embedded_catalog
from skyplan.catalog.query import OfferingQuery, query_offerings, query_regions
from skyplan.errors import InputError


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return load_embedded_catalog()


def _q(**kw: object) -> OfferingQuery:
    opts: dict[str, object] = {
        "clouds": [],
        "regions": [],
        "accelerator": None,
        "min_cpus": 0,
        "min_memory": None,
        "jurisdictions": [],
        "spot": False,
    }
    opts.update(kw)
    return OfferingQuery.from_options(**opts)  # type: ignore[arg-type]


def test_from_options_parses_accelerator_and_memory() -> None:
    q = _q(accelerator="H100:8", min_memory="64GB", min_cpus=4.5, clouds=["aws"])
    assert (q.accelerator, q.accelerator_count) == ("H100", 8)
    assert q.min_memory_gib == Decimal("59.604644775390625")
    assert q.min_cpus == Decimal("4.5")
    assert q.clouds == ("aws",)
    bare = _q(accelerator="H100")
    assert (bare.accelerator, bare.accelerator_count) == ("H100", 0)  # any count


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"accelerator": "A100:0"}, "accelerator count must be at least 1, got 'A100:0'"),
        (
            {"min_memory": "5XB"},
            "unknown unit 'XB' in '5XB'; use one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB",
        ),
    ],
)
def test_from_options_rejects_bad_values(kw: dict[str, object], message: str) -> None:
    with pytest.raises(InputError) as exc:
        _q(**kw)
    assert exc.value.message == message
    assert exc.value.exit_code == 2


def test_h100_in_eu_cheapest_first(cat: Catalog) -> None:
    rows = query_offerings(cat, _q(accelerator="H100", jurisdictions=["EU"]))
    assert rows
    prices = [Decimal(r["$/h"]) for r in rows]
    assert prices == sorted(prices)
    for r in rows:
        assert r["accelerator"].startswith("H100:")
        assert "EU" in cat.region_by_key[f"{r['cloud']}:{r['region']}"].tags
    assert set(rows[0]) == {
        "cloud",
        "region",
        "instance",
        "vCPUs",
        "GiB",
        "accelerator",
        "$/h",
        "spot $/h",
    }


def test_accelerator_match_is_case_insensitive_and_count_is_at_least(cat: Catalog) -> None:
    lower = query_offerings(cat, _q(accelerator="h100"))
    upper = query_offerings(cat, _q(accelerator="H100"))
    assert lower == upper
    eight = query_offerings(cat, _q(accelerator="H100:8"))
    assert eight
    assert all(int(r["accelerator"].split(":")[1]) >= 8 for r in eight)
    assert len(eight) < len(upper)


def test_cloud_region_cpu_and_memory_filters(cat: Catalog) -> None:
    rows = query_offerings(
        cat, _q(clouds=["gcp"], regions=["europe-west4"], min_cpus=16, min_memory="64")
    )
    assert rows
    for r in rows:
        assert (r["cloud"], r["region"]) == ("gcp", "europe-west4")
        assert int(r["vCPUs"]) >= 16
        assert Decimal(r["GiB"]) >= 64
    by_key = query_offerings(cat, _q(regions=["gcp:europe-west4"], min_cpus=16, min_memory="64"))
    assert by_key == rows


def test_several_jurisdictions_must_all_hold(cat: Catalog) -> None:
    rows = query_offerings(cat, _q(jurisdictions=["EU", "DE"]))
    assert rows
    assert {cat.region_by_key[f"{r['cloud']}:{r['region']}"].country for r in rows} == {"DE"}


def test_spot_ranking_uses_spot_price_where_listed(cat: Catalog) -> None:
    rows = query_offerings(cat, _q(clouds=["local"], spot=True))
    ranked = [Decimal(r["spot $/h"] or r["$/h"]) for r in rows]
    assert ranked == sorted(ranked)
    assert rows[0] == {
        "cloud": "local",
        "region": "local-a",
        "instance": "local.small",
        "vCPUs": "2",
        "GiB": "4",
        "accelerator": "",
        "$/h": "0.0100",
        "spot $/h": "0.0030",
    }


def test_unknown_cloud_and_accelerator(cat: Catalog) -> None:
    with pytest.raises(InputError) as exc:
        query_offerings(cat, _q(clouds=["oracle"]))
    assert exc.value.message == "unknown cloud 'oracle'"
    assert exc.value.hint == "known clouds: aws, azure, gcp, local"
    with pytest.raises(InputError) as exc2:
        query_offerings(cat, _q(accelerator="B200"))
    assert exc2.value.message == "no offering has accelerator 'B200'"


def test_regions_by_cloud(cat: Catalog) -> None:
    rows = query_regions(cat, ["gcp"], [], None)
    assert {r["cloud"] for r in rows} == {"gcp"}
    assert len(rows) == sum(1 for r in cat.regions if r.cloud == "gcp")
    assert [r["region"] for r in rows] == sorted(r["region"] for r in rows)
    west4 = next(r for r in rows if r["region"] == "europe-west4")
    assert west4["country"] == "NL"
    assert west4["continent"] == "europe"
    assert west4["jurisdictions"] == "EEA;EU;NL"
    assert int(west4["offerings"]) == len(cat.offerings_by_region["gcp:europe-west4"])


def test_regions_by_jurisdiction_and_continent(cat: Catalog) -> None:
    de = query_regions(cat, [], ["DE"], None)
    assert {(r["cloud"], r["country"]) for r in de} == {
        ("aws", "DE"),
        ("azure", "DE"),
        ("gcp", "DE"),
    }
    local = query_regions(cat, ["local"], [], "europe")
    assert [r["region"] for r in local] == ["local-a", "local-b"]
    assert query_regions(cat, ["local"], [], "asia") == []


def test_regions_unknown_cloud(cat: Catalog) -> None:
    with pytest.raises(InputError) as exc:
        query_regions(cat, ["gpc"], [], None)
    assert exc.value.message == "unknown cloud 'gpc'"
