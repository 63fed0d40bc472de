"""Catalog diff (price changes, largest first) and the planner's stale-catalog warning."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from skyplan.catalog.diff import catalog_age_days, diff_catalogs, diff_rows, stale_warning
from skyplan.catalog.models import Catalog, Offering


def _o(
    region: str, itype: str, price: str, spot: str | None = None, cloud: str = "aws"
) -> Offering:
    return Offering(
        cloud, region, itype, 2, Decimal(8), "", 0, Decimal(price), Decimal(spot) if spot else None
    )


OLD = Catalog(
    regions=(),
    offerings=(
        _o("eu-west-1", "m6i.large", "0.107", "0.04"),
        _o("eu-west-1", "m6i.xlarge", "0.214"),
        _o("us-east-1", "m6i.large", "0.096"),
        _o("us-east-1", "p5.48xlarge", "98.32"),
        _o("europe-west3", "n2-standard-8", "0.46", cloud="gcp"),
    ),
    egress=(),
)
NEW = Catalog(
    regions=(),
    offerings=(
        _o("eu-west-1", "m6i.large", "0.107", "0.05"),  # spot only: +0.01
        _o("eu-west-1", "m6i.xlarge", "0.200"),  # -0.014
        _o("us-east-1", "m6i.large", "0.096"),  # unchanged
        _o("us-east-1", "p5.48xlarge", "55.04"),  # -43.28
        _o("europe-west3", "n2-standard-8", "0.48", cloud="gcp"),  # +0.02
        _o("us-east-1", "c7i.large", "0.089"),
    ),
    egress=(),
)


def test_changes_largest_first_with_added_and_removed() -> None:
    d = diff_catalogs(OLD, NEW)
    assert [(c.region, c.instance_type) for c in d.changed] == [
        ("us-east-1", "p5.48xlarge"),
        ("europe-west3", "n2-standard-8"),
        ("eu-west-1", "m6i.xlarge"),
        ("eu-west-1", "m6i.large"),
    ]
    assert [c.instance_type for c in d.added] == ["c7i.large"] and d.removed == ()
    assert (d.cheaper, d.dearer) == (2, 1)
    assert (
        d.summary()
        == "4 offerings changed price (2 cheaper, 1 dearer on demand), 1 added, 0 removed"
    )
    first = diff_rows(d)[0]
    assert (first["change"], first["%"], first["old $/h"], first["new $/h"]) == (
        "-43.2800",
        "-44.0%",
        "98.3200",
        "55.0400",
    )
    spot_only = diff_rows(d)[3]
    assert (spot_only["change"], spot_only["spot change"]) == ("+0.0000", "+0.0100")
    rows = diff_rows(d, with_added_removed=True)
    assert rows[-1]["kind"] == "added" and rows[-1]["old $/h"] == "" and rows[-1]["change"] == ""


def test_spot_prices_that_appear_or_disappear_rank_by_that_price_and_show_it() -> None:
    before = replace(
        OLD,
        offerings=(
            _o("us-east-1", "c6i.large", "0.085"),  # spot appears: 0.035
            _o("eu-west-1", "r6i.large", "0.141", "0.05"),  # spot disappears: 0.05
            _o("eu-west-1", "m6i.xlarge", "0.214"),  # on demand -0.014
            _o("eu-west-1", "m6i.large", "0.107", "0.04"),  # spot +0.01
        ),
    )
    after = replace(
        OLD,
        offerings=(
            _o("us-east-1", "c6i.large", "0.085", "0.035"),
            _o("eu-west-1", "r6i.large", "0.141"),
            _o("eu-west-1", "m6i.xlarge", "0.200"),
            _o("eu-west-1", "m6i.large", "0.107", "0.05"),
        ),
    )
    rows = diff_rows(diff_catalogs(before, after))
    assert [
        (r["instance"], r["change"], r["old spot"], r["new spot"], r["spot change"]) for r in rows
    ] == [
        ("r6i.large", "+0.0000", "0.0500", "", "-0.0500 (gone)"),
        ("c6i.large", "+0.0000", "", "0.0350", "+0.0350 (new)"),
        ("m6i.xlarge", "-0.0140", "", "", ""),
        ("m6i.large", "+0.0000", "0.0400", "0.0500", "+0.0100"),
    ]


def test_diff_of_one_cloud_and_removed_offerings() -> None:
    d = diff_catalogs(NEW, OLD, clouds=("gcp",))
    assert [c.instance_type for c in d.changed] == ["n2-standard-8"]
    assert d.added == d.removed == ()
    assert [c.kind for c in diff_catalogs(NEW, OLD).removed] == ["removed"]


def test_age_and_stale_warning() -> None:
    today = date(2026, 11, 26)
    assert catalog_age_days("2026-10-27", today) == 30
    assert catalog_age_days("2026-10-26T08:00:00Z", today) == 31
    assert catalog_age_days(None, today) is None and catalog_age_days("garbage", today) is None
    fresh = replace(OLD, as_of="2026-10-27")
    assert stale_warning(fresh, today) is None  # 30 days is not older than 30 days
    old = replace(OLD, as_of="2026-08-03")
    assert stale_warning(old, today) == (
        "warning: the oldest prices in the embedded catalog are 115 days old (from 2026-08-03); "
        "refresh it with `skyplan catalog refresh --cloud all --out DIR` and plan with "
        "--catalog DIR"
    )
    mine = replace(OLD, as_of="2026-08-03", source="my-catalog")
    assert (stale_warning(mine, today) or "").startswith(
        "warning: the oldest prices in catalog my-catalog are 115 days old"
    )
    assert stale_warning(replace(OLD, as_of=None), today) is None  # unknown age: no warning
