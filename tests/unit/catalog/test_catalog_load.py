"""Loading a catalog folder: a tiny valid one, and every bad row with its file:line and field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from skyplan.catalog import load_catalog
from skyplan.catalog.models import Quota
from skyplan.errors import CatalogError, Problem, Where

REGIONS = (
    "cloud,region,country,jurisdictions,continent,lat,lon,display_name\n"
    "aws,eu-west-1,IE,EU;EEA,europe,53.35,-6.26,Ireland\n"
    "aws,us-east-1,US,,north-america,38.9,-77.4,Virginia\n"
    "gcp,europe-west3,de,EU;EEA,europe,50.1,8.7,Frankfurt\n"
)
OFFERINGS = (
    "cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,"
    "price_usd_hour,spot_price_usd_hour,source\n"
    "aws,eu-west-1,m.large,2,8,,0,0.10,0.03,x\n"
    "aws,us-east-1,m.large,2,8,,0,0.05,,x\n"
    "gcp,europe-west3,g.gpu,8,32,H100,1,3.00,1.00,x\n"
)
EGRESS = (
    "cloud,scope,usd_per_gb\n"
    "aws,inter-region-same-continent,0.02\n"
    "aws,inter-region-other-continent,0.05\n"
    "aws,internet,0.09\n"
    "gcp,internet,0.12\n"
)
QUOTAS = "cloud,region,resource,limit\naws,eu-west-1,vcpus,64\ngcp,europe-west3,gpus:h100,8\n"


def write_catalog(root: Path, **files: str | None) -> Path:
    """A catalog folder: the tiny defaults, with `files` (name without .csv) replaced or dropped."""
    contents: dict[str, str | None] = {
        "regions": REGIONS,
        "offerings": OFFERINGS,
        "egress": EGRESS,
    }
    contents.update(files)
    root.mkdir(parents=True, exist_ok=True)
    for name, text in contents.items():
        if text is not None:
            (root / f"{name}.csv").write_text(text, encoding="utf-8")
    return root


def problems_of(root: Path) -> tuple[Problem, ...]:
    with pytest.raises(CatalogError) as exc:
        load_catalog(root)
    assert exc.value.exit_code == 2
    return exc.value.problems


def test_tiny_catalog_loads(tmp_path: Path) -> None:
    cat = load_catalog(write_catalog(tmp_path / "cat", quotas=QUOTAS))
    assert cat.clouds == ("aws", "gcp")
    assert [r.key for r in cat.regions] == ["aws:eu-west-1", "aws:us-east-1", "gcp:europe-west3"]
    frankfurt = cat.region_by_key["gcp:europe-west3"]
    assert frankfurt.country == "DE"
    assert frankfurt.tags == frozenset({"EU", "EEA", "DE"})
    assert frankfurt.display_name == "Frankfurt"
    assert cat.region_by_key["aws:us-east-1"].tags == frozenset({"US"})
    gpu = next(o for o in cat.offerings if o.instance_type == "g.gpu")
    assert (gpu.vcpus, gpu.memory_gib, gpu.accelerator, gpu.accelerator_count) == (
        8,
        Decimal(32),
        "H100",
        1,
    )
    assert (gpu.price, gpu.spot_price) == (Decimal("3.00"), Decimal("1.00"))
    assert gpu.hourly(spot=True) == Decimal("1.00")
    assert gpu.hourly(spot=False) == Decimal("3.00")
    use1 = next(o for o in cat.offerings if o.region == "us-east-1")
    assert use1.spot_price is None
    assert use1.hourly(spot=True) == Decimal("0.05")
    assert use1.uses_spot(True) is False
    assert cat.egress_rate("aws", "internet") == Decimal("0.09")
    assert cat.egress_rate("gcp", "inter-region-same-continent") == 0  # not listed
    assert set(cat.quotas) == {
        Quota("aws", "eu-west-1", "vcpus", 64),
        Quota("gcp", "europe-west3", "gpus:H100", 8),
    }
    assert cat.source == str(tmp_path / "cat")
    assert cat.as_of is None


def test_missing_folder(tmp_path: Path) -> None:
    (p,) = problems_of(tmp_path / "nope")
    assert p.where == Where(str(tmp_path / "nope"))
    assert p.message == "catalog folder not found"


def test_missing_files_are_all_reported(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", regions=None, egress=None)
    problems = problems_of(root)
    assert [(p.where, p.message) for p in problems] == [
        (Where(str(root / "regions.csv")), "missing regions.csv"),
        (Where(str(root / "egress.csv")), "missing egress.csv"),
    ]


def test_missing_column(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", egress="cloud,usd_per_gb\naws,0.09\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "egress.csv"), 1)
    assert p.message == "missing column(s) scope"
    assert p.hint == "the header must include: cloud,scope,usd_per_gb"


def test_empty_file(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", egress="")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "egress.csv"), 1)
    assert p.message == "empty file: expected a header row"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        (
            "aws,eu-west-1,x,2,8,,0,abc,,x",
            "price_usd_hour",
            "price_usd_hour must be a number, got 'abc'",
        ),
        (
            "aws,eu-west-1,x,2,8,,0,-1,,x",
            "price_usd_hour",
            "price_usd_hour must not be negative, got '-1'",
        ),
        ("aws,eu-west-1,x,2.5,8,,0,1,,x", "vcpus", "vcpus must be a whole number, got '2.5'"),
        ("aws,eu-west-1,x,0,8,,0,1,,x", "vcpus", "vcpus must be at least 1, got '0'"),
        ("aws,eu-west-1,x,2,lots,,0,1,,x", "memory_gib", "memory_gib must be a number, got 'lots'"),
        (
            "aws,eu-west-1,x,2,8,,0,1,cheap,x",
            "spot_price_usd_hour",
            "spot_price_usd_hour must be a number, got 'cheap'",
        ),
        ("aws,eu-west-1,x,2,8,T4,0,1,,x", "accelerator_count", "accelerator 'T4' with count '0'"),
        ("aws,eu-west-1,x,2,8,,2,1,,x", "accelerator_count", "accelerator '' with count '2'"),
        ("aws,eu-west-1,,2,8,,0,1,,x", "instance_type", "instance_type is empty"),
        (
            "AWS,eu-west-1,x,2,8,,0,1,,x",
            "cloud",
            "cloud must be lower-case letters, digits and '-', got 'AWS'",
        ),
    ],
)
def test_bad_offering_rows(tmp_path: Path, row: str, field: str, message: str) -> None:
    root = write_catalog(tmp_path / "cat", offerings=OFFERINGS + row + "\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "offerings.csv"), 5, None, field)
    assert p.message == message


def test_row_with_wrong_field_count(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", offerings=OFFERINGS + "aws,eu-west-1,x,2\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "offerings.csv"), 5)
    assert p.message == "expected 10 fields, found 4"


def test_unknown_continent(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", regions=REGIONS + "aws,sa-east-1,BR,,america,0,0,x\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "regions.csv"), 5, None, "continent")
    assert p.message == "unknown continent 'america'"
    assert p.hint == (
        "use one of africa, asia, europe, middle-east, north-america, oceania, south-america"
    )


def test_bad_country(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", regions=REGIONS + "aws,sa-east-1,Brazil,,asia,0,0,x\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "regions.csv"), 5, None, "country")
    assert p.message == "country must be an ISO 3166 two-letter code, got 'BRAZIL'"


def test_offering_in_unknown_region(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", offerings=OFFERINGS + "azure,westeurope,x,2,8,,0,1,,x\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "offerings.csv"), 5, None, "region")
    assert p.message == "region azure:westeurope is not in regions.csv"


def test_duplicate_rows(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path / "cat",
        regions=REGIONS + "aws,eu-west-1,IE,EU,europe,0,0,again\n",
        offerings=OFFERINGS + "aws,eu-west-1,m.large,4,16,,0,0.2,,x\n",
        egress=EGRESS + "aws,internet,0.1\n",
    )
    problems = problems_of(root)
    assert [(p.where.file, p.where.line) for p in problems] == [
        (str(root / "regions.csv"), 5),
        (str(root / "offerings.csv"), 5),
        (str(root / "egress.csv"), 6),
    ]
    assert problems[0].message == "duplicate row aws:eu-west-1 (first at line 2)"
    assert "first at line 2" in problems[1].message
    assert "m.large" in problems[1].message
    assert "first at line 4" in problems[2].message


def test_bad_egress_scope(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", egress=EGRESS + "gcp,intra-zone,0.01\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "egress.csv"), 6, None, "scope")
    assert p.message == "unknown scope 'intra-zone'"


@pytest.mark.parametrize(
    ("row", "field", "message"),
    [
        ("aws,eu-west-1,cpus,4", "resource", "unknown resource 'cpus'"),
        ("aws,eu-west-1,gpus:,4", "resource", "unknown resource 'gpus:'"),
        ("aws,eu-west-1,vcpus,x", "limit", "limit must be a number, got 'x'"),
        ("aws,eu-west-1,vcpus,1.5", "limit", "limit must be a whole number, got '1.5'"),
        ("aws,eu-west-9,vcpus,4", "region", "region aws:eu-west-9 is not in regions.csv"),
    ],
)
def test_bad_quota_rows(tmp_path: Path, row: str, field: str, message: str) -> None:
    root = write_catalog(tmp_path / "cat", quotas=QUOTAS + row + "\n")
    (p,) = problems_of(root)
    assert p.where == Where(str(root / "quotas.csv"), 4, None, field)
    assert p.message == message


def test_all_problems_across_files_are_reported_at_once(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path / "cat",
        regions=REGIONS.replace("north-america", "america"),
        offerings=OFFERINGS + "aws,eu-west-1,x,2,8,,0,abc,,x\n",
        egress=EGRESS + "gcp,intra-zone,0.01\n",
        quotas=QUOTAS + "aws,eu-west-1,cpus,4\n",
    )
    problems = problems_of(root)
    assert sorted((Path(p.where.file).name, p.where.line, p.where.field) for p in problems) == [
        ("egress.csv", 6, "scope"),
        ("offerings.csv", 3, "region"),  # its region's row was bad, so aws:us-east-1 is unknown
        ("offerings.csv", 5, "price_usd_hour"),
        ("quotas.csv", 4, "resource"),
        ("regions.csv", 3, "continent"),
    ]


def test_problem_cap(tmp_path: Path) -> None:
    rows = "".join(f"aws,eu-west-1,x{i},2,8,,0,abc,,x\n" for i in range(30))
    root = write_catalog(tmp_path / "cat", offerings=OFFERINGS + rows)
    problems = problems_of(root)
    assert len(problems) == 26
    assert problems[-1] == Problem(None, "... and 5 more problems")


def test_extra_columns_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    egress = "cloud,scope,usd_per_gb,note\n\naws,internet,0.09,list\n\ngcp,internet,0.12,\n"
    cat = load_catalog(write_catalog(tmp_path / "cat", egress=egress))
    assert cat.egress_rate("aws", "internet") == Decimal("0.09")
    assert cat.egress_rate("gcp", "internet") == Decimal("0.12")


def test_bad_regions_header_is_not_followed_by_spurious_region_problems(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", regions=REGIONS.replace(",lon,", ",longitude,"))
    (p,) = problems_of(root)
    assert p.message == "missing column(s) lon"


def test_empty_regions_file_is_not_followed_by_spurious_region_problems(tmp_path: Path) -> None:
    root = write_catalog(tmp_path / "cat", regions="", quotas=QUOTAS)
    (p,) = problems_of(root)
    assert p.message == "empty file: expected a header row"


def test_problems_are_in_file_then_line_order(tmp_path: Path) -> None:
    root = write_catalog(
        tmp_path / "cat",
        regions=REGIONS.replace("north-america", "america"),
        offerings=OFFERINGS + "aws,eu-west-1,x,2,8,,0,abc,,x\n",
        egress=EGRESS + "gcp,intra-zone,0.01\n",
        quotas=QUOTAS + "aws,eu-west-1,cpus,4\n",
    )
    problems = problems_of(root)
    assert [(Path(p.where.file).name, p.where.line) for p in problems] == [
        ("regions.csv", 3),
        ("offerings.csv", 3),  # found by the cross-file check, after line 5's parse error
        ("offerings.csv", 5),
        ("egress.csv", 6),
        ("quotas.csv", 4),
    ]
