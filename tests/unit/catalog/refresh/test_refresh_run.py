"""Refresh runs end to end on fixtures: region choice, merging into a base, metadata, failures."""

from __future__ import annotations

import csv
import io
import json
import shutil
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from refresh_fixtures import NOW, fixture_fetchers

from skyplan.catalog.load import EMBEDDED_DIR, load_catalog
from skyplan.catalog.refresh.assemble import read_base
from skyplan.catalog.refresh.model import CloudResult, CredentialError, RegionResult
from skyplan.catalog.refresh.run import Refreshed, parse_clouds, refresh, target_regions
from skyplan.errors import InputError

Events = list[tuple[str, str, str]]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _write(out: Path, files: dict[str, str]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
    return out


def _refresh(
    clouds: tuple[str, ...], regions: tuple[str, ...], out: Path, **kw: Any
) -> tuple[Refreshed, Events]:
    seen: Events = []
    done = refresh(
        clouds,
        regions,
        out,
        lambda c, r, m: seen.append((c, r, m)),
        kw.pop("now", NOW),
        fetchers=kw.pop("fetchers", fixture_fetchers()),
    )
    return done, seen


def test_new_folder_keeps_embedded_regions_and_egress_and_only_fetched_prices(
    tmp_path: Path,
) -> None:
    done, seen = _refresh(("aws",), ("eu-west-1", "us-east-1"), tmp_path / "new")
    files = done.files
    assert files["regions.csv"] == (EMBEDDED_DIR / "regions.csv").read_text(encoding="utf-8")
    offerings = _rows(files["offerings.csv"])
    assert {o["cloud"] for o in offerings} == {"aws", "local"}  # local is synthetic, kept
    assert {o["source"] for o in offerings if o["cloud"] == "aws"} == {"aws-api"}
    m6i = next(
        o for o in offerings if o["instance_type"] == "m6i.large" and o["region"] == "eu-west-1"
    )
    assert (m6i["price_usd_hour"], m6i["spot_price_usd_hour"], m6i["memory_gib"]) == (
        "0.107",
        "0.0451",
        "8",
    )
    egress = {
        (e["cloud"], e["scope"]): (e["usd_per_gb"], e["source"]) for e in _rows(files["egress.csv"])
    }
    assert egress[("aws", "internet")] == ("0.09", "aws-egress-api")
    assert egress[("gcp", "internet")] == ("0.12", "gcp-egress-list")  # not refreshed: embedded
    meta = json.loads(files["metadata.json"])
    assert meta["as_of"] == "2026-11-20"
    assert meta["refreshed_at"] == "2026-11-20T12:00:00Z"
    assert meta["sources"]["aws-api"]["sdk"]["boto3"]
    assert meta["sources"]["aws-api"]["regions"] == ["eu-west-1", "us-east-1"]
    assert "gcp-egress-list" in meta["sources"]  # every source a row names is described
    assert meta["regions"]["aws:eu-west-1"] == {
        "fetched_at": "2026-11-20T12:00:00Z",
        "source": "aws-api",
    }
    assert meta["egress"]["aws"]["internet"]["how"].startswith("median of 2 region rates")
    assert ("aws", "", "refreshing 2 regions") in seen
    cat = load_catalog(_write(tmp_path / "new", files))
    assert cat.as_of == "2026-11-20"
    assert len([o for o in cat.offerings if o.cloud == "aws"]) == 9


def test_all_clouds_from_fixtures_load_as_a_catalog(tmp_path: Path) -> None:
    regions = ("eu-west-1", "us-east-1", "europe-west3", "us-central1", "westeurope", "eastus")
    done, _ = _refresh(("aws", "gcp", "azure"), regions, tmp_path / "all")
    cat = load_catalog(_write(tmp_path / "all", done.files))
    by_cloud = {c: sum(o.cloud == c for o in cat.offerings) for c in ("aws", "gcp", "azure")}
    assert all(n > 0 for n in by_cloud.values()), by_cloud
    assert "L4" in cat.accelerators and "T4" in cat.accelerators
    fams = json.loads(done.files["metadata.json"])["families"]
    assert "n1-standard+nvidia-tesla-t4" in fams["gcp"] and "NCasT4_v3" in fams["azure"]


def test_existing_folder_keeps_a_failed_regions_old_rows(tmp_path: Path) -> None:
    out = tmp_path / "cat"
    first, _ = _refresh(("aws",), ("eu-west-1", "us-east-1"), out)
    _write(out, first.files)

    def flaky(regions: tuple[str, ...], progress: Any) -> CloudResult:
        good = fixture_fetchers(aws_regions=("us-east-1",))["aws"](("us-east-1",), progress)
        failed = RegionResult("aws", "eu-west-1", error="InternalError: boom")
        return CloudResult(
            "aws",
            good.source_id,
            good.api,
            good.sdk,
            (failed, *good.regions),
            good.egress,
            good.egress_api,
        )

    later = NOW + timedelta(days=3)
    done, _ = _refresh(
        ("aws",), ("eu-west-1", "us-east-1"), out, now=later, fetchers={"aws": flaky}
    )
    assert done.existing
    old = [o for o in _rows(first.files["offerings.csv"]) if o["region"] == "eu-west-1"]
    new = [o for o in _rows(done.files["offerings.csv"]) if o["region"] == "eu-west-1"]
    assert new == old and old
    meta = json.loads(done.files["metadata.json"])
    assert meta["failed"] == {"aws:eu-west-1": {"error": "InternalError: boom"}}
    assert meta["regions"]["aws:eu-west-1"]["fetched_at"] == "2026-11-20T12:00:00Z"
    assert meta["regions"]["aws:us-east-1"]["fetched_at"] == "2026-11-23T12:00:00Z"
    assert meta["as_of"] == "2026-11-20"  # the oldest price still in the catalog


@pytest.mark.parametrize("cloud", ["aws", "azure"])
def test_a_region_with_no_prices_keeps_its_old_rows(tmp_path: Path, cloud: str) -> None:
    from azure_fixtures import azure_answer, azure_compute, retail_session
    from refresh_fixtures import CONTINENTS, StubbedAws, queue_empty_region, queue_regions

    from skyplan.catalog.refresh.aws import fetch_aws
    from skyplan.catalog.refresh.azure import AzureClients, fetch_azure

    region = {"aws": "eu-west-1", "azure": "westeurope"}[cloud]
    out = tmp_path / "cat"
    first, _ = _refresh((cloud,), (region,), out)
    _write(out, first.files)

    def empty(regions: tuple[str, ...], progress: Any) -> CloudResult:
        if cloud == "azure":
            compute = azure_compute(azure_answer(empty=regions))
            return fetch_azure(regions, AzureClients(compute, retail_session()[0]), progress)
        aws = StubbedAws()
        queue_regions(aws)
        queue_empty_region(aws, region)
        return fetch_aws(regions, CONTINENTS, aws, progress, NOW)

    with pytest.raises(InputError) as info:  # the only region named: nothing to write
        _refresh((cloud,), (region,), out, fetchers={cloud: empty})
    assert f"{cloud}:{region}: no prices for the shipped instance families" in info.value.message
    both = ("eu-west-1", "us-east-1") if cloud == "aws" else ("westeurope", "eastus")
    other = fixture_fetchers()[cloud]

    def one_empty(regions: tuple[str, ...], progress: Any) -> CloudResult:
        bad, good = empty(regions[:1], progress), other(regions[1:], progress)
        return CloudResult(
            cloud, good.source_id, good.api, good.sdk, bad.regions + good.regions, good.egress
        )

    done, _ = _refresh((cloud,), both, out, fetchers={cloud: one_empty})
    old = [o for o in _rows(first.files["offerings.csv"]) if o["region"] == region]
    new = [o for o in _rows(done.files["offerings.csv"]) if o["region"] == region]
    assert new == old and old
    meta = json.loads(done.files["metadata.json"])
    assert meta["failed"] == {
        f"{cloud}:{region}": {"error": "no prices for the shipped instance families"}
    }


def test_as_of_is_the_oldest_source_date_of_the_rows_kept(tmp_path: Path) -> None:
    # a copy of the embedded catalog, one AWS region refreshed: every other AWS region keeps
    # its 2024 rows, so the catalog is as old as they are (not the base's as_of, not today)
    out = tmp_path / "cat"
    shutil.copytree(EMBEDDED_DIR, out)
    meta = json.loads((out / "metadata.json").read_text(encoding="utf-8"))
    (out / "metadata.json").write_text(
        json.dumps({**meta, "as_of": "2026-08-03"}), encoding="utf-8"
    )  # the date the embedded catalog claimed before: its newest source
    done, _ = _refresh(("aws",), ("eu-west-1",), out)
    rows = _rows(done.files["offerings.csv"])
    assert {o["source"] for o in rows if o["region"] == "eu-west-1"} == {"aws-api"}
    assert any(o["source"] == "aws-sparecores-2024-02-21" for o in rows)
    assert json.loads(done.files["metadata.json"])["as_of"] == "2024-02-21"
    # refreshing every region that held those rows leaves the next oldest source
    aws_regions = tuple(sorted({o["region"] for o in rows if o["cloud"] == "aws"}))

    def each(regions: tuple[str, ...], progress: Any) -> CloudResult:
        # the fixture's eu-west-1 offerings, as if every region had answered with them
        first = fixture_fetchers()["aws"](("eu-west-1",), progress)
        offers = first.regions[0].offerings
        assert offers
        fresh = tuple(
            RegionResult("aws", r, tuple(replace(o, region=r) for o in offers)) for r in regions
        )
        return replace(first, regions=fresh)

    again, _ = _refresh(("aws",), aws_regions, out, fetchers={"aws": each})
    assert not any(
        o["source"].startswith("aws-") and o["source"] != "aws-api"
        for o in _rows(again.files["offerings.csv"])
    )
    # the oldest left: gcp-n1-gpu-2026-05-20 (GPU prices of the N1+GPU rows)
    assert json.loads(again.files["metadata.json"])["as_of"] == "2026-05-20"


def test_egress_scope_missing_from_the_api_is_kept_and_said_so(tmp_path: Path) -> None:
    def no_egress(regions: tuple[str, ...], progress: Any) -> CloudResult:
        r = fixture_fetchers()["azure"](regions, progress)
        return CloudResult(
            r.cloud, r.source_id, r.api, r.sdk, r.regions, r.egress[:1], r.egress_api
        )

    done, _ = _refresh(("azure",), ("westeurope",), tmp_path / "az", fetchers={"azure": no_egress})
    meta = json.loads(done.files["metadata.json"])["egress"]["azure"]
    assert meta["internet"]["how"].startswith("not found in the cloud's price API: kept")
    assert meta["internet"]["source"] == "azure-egress-list"
    assert meta["inter-region-other-continent"]["source"] == "azure-egress-api"


def test_nothing_fetched_is_an_error_that_names_each_reason(tmp_path: Path) -> None:
    def down(regions: tuple[str, ...], progress: Any) -> CloudResult:
        failed = tuple(RegionResult("gcp", r, error="ServiceUnavailable: 503") for r in regions)
        return CloudResult("gcp", "gcp-api", "", (), failed)

    with pytest.raises(InputError) as info:
        _refresh(("gcp",), ("europe-west3",), tmp_path / "x", fetchers={"gcp": down})
    assert info.value.message.splitlines() == [
        f"no region could be refreshed; nothing was written to {tmp_path / 'x'}",
        "  gcp:europe-west3: ServiceUnavailable: 503",
    ]


def _no_credentials(cloud: str) -> Callable[[tuple[str, ...], Any], CloudResult]:
    def fetch(regions: tuple[str, ...], progress: Any) -> CloudResult:
        raise CredentialError(cloud, "Unable to locate credentials")

    return fetch


def test_one_cloud_without_credentials_stops_a_single_cloud_refresh(tmp_path: Path) -> None:
    with pytest.raises(CredentialError):
        _refresh(("aws",), (), tmp_path / "x", fetchers={"aws": _no_credentials("aws")})


def test_all_clouds_go_on_past_one_without_credentials(tmp_path: Path) -> None:
    fetchers = {**fixture_fetchers(), "aws": _no_credentials("aws")}
    done, seen = _refresh(
        ("aws", "gcp", "azure"), ("europe-west3", "westeurope"), tmp_path / "x", fetchers=fetchers
    )
    assert [c for c, _ in done.cloud_errors] == []  # aws had no region named: never asked
    assert ("aws", "", "skipped: no region of this cloud was named") in seen
    done, _ = _refresh(
        ("aws", "gcp"), ("eu-west-1", "europe-west3"), tmp_path / "y", fetchers=fetchers
    )
    assert [c for c, _ in done.cloud_errors] == ["aws"]
    assert {r.cloud for r in done.results} == {"gcp"}


def test_all_clouds_without_credentials_give_every_hint(tmp_path: Path) -> None:
    fetchers = {c: _no_credentials(c) for c in ("aws", "gcp", "azure")}
    with pytest.raises(InputError) as info:
        _refresh(
            ("aws", "gcp", "azure"),
            ("eu-west-1", "europe-west3", "westeurope"),
            tmp_path,
            fetchers=fetchers,
        )
    assert info.value.hint is not None
    assert [line.split(":")[0] for line in info.value.hint.split("\n  ")] == ["AWS", "GCP", "Azure"]


def test_target_regions_by_name_cloud_prefix_or_default(tmp_path: Path) -> None:
    base = read_base(tmp_path / "none")
    got = target_regions(("aws", "gcp"), ("eu-west-1", "gcp:europe-west3"), base)
    assert got == {"aws": ("eu-west-1",), "gcp": ("europe-west3",)}
    every = target_regions(("gcp",), (), base)["gcp"]
    assert "europe-west3" in every and len(every) == sum(r["cloud"] == "gcp" for r in base.regions)
    with pytest.raises(InputError) as info:
        target_regions(("aws",), ("eu-wset-1",), base)
    assert info.value.hint == "did you mean 'eu-west-1'?"
    with pytest.raises(InputError):
        target_regions(("aws",), ("europe-west3",), base)  # a GCP region for --cloud aws


def test_parse_clouds() -> None:
    assert parse_clouds("all") == ("aws", "gcp", "azure")
    assert parse_clouds("gcp") == ("gcp",)
    with pytest.raises(InputError) as info:
        parse_clouds("azur")
    assert info.value.hint == "did you mean 'azure'?"


def test_an_invalid_existing_catalog_is_refused_before_fetching(tmp_path: Path) -> None:
    out = tmp_path / "bad"
    out.mkdir()
    (out / "regions.csv").write_text("cloud,region\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        _refresh(("aws",), (), out, fetchers={})
    assert "missing offerings.csv" in info.value.render()


def _unreachable(regions: tuple[str, ...], progress: Any) -> CloudResult:
    from botocore.exceptions import EndpointConnectionError

    raise EndpointConnectionError(endpoint_url="https://pricing.us-east-1.amazonaws.com/")


def test_a_network_failure_names_other_clouds_only_when_there_are_some(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        _refresh(("aws",), ("eu-west-1",), tmp_path / "x", fetchers={"aws": _unreachable})
    assert info.value.message.startswith("aws: could not reach the cloud's APIs: ")
    assert info.value.hint == "check the network and proxy settings, then retry"
    # --cloud all with regions of one cloud only: still no other cloud to speak of
    fetchers = {**fixture_fetchers(), "aws": _unreachable}
    with pytest.raises(InputError) as info:
        _refresh(("aws", "gcp", "azure"), ("eu-west-1",), tmp_path / "x", fetchers=fetchers)
    assert "other clouds" not in info.value.render()
    done, _ = _refresh(
        ("aws", "gcp"), ("eu-west-1", "europe-west3"), tmp_path / "y", fetchers=fetchers
    )
    ((cloud, error),) = done.cloud_errors
    assert cloud == "aws"
    assert error.hint == "check the network and proxy settings; the other clouds are still read"
