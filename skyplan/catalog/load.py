"""Load a catalog folder of CSV files (SPEC section 3), reporting every bad row with file:line."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TypeVar

from skyplan.catalog.models import (
    CONTINENTS,
    EGRESS_SCOPES,
    Catalog,
    EgressRate,
    Offering,
    Quota,
    Region,
)
from skyplan.errors import CatalogError, Problem, Where
from skyplan.units import UnitError, to_decimal

EMBEDDED_DIR = Path(__file__).parent / "data"
MAX_PROBLEMS = 25

REGION_COLUMNS = ("cloud", "region", "country", "jurisdictions", "continent", "lat", "lon")
OFFERING_COLUMNS = (
    "cloud",
    "region",
    "instance_type",
    "vcpus",
    "memory_gib",
    "accelerator",
    "accelerator_count",
    "price_usd_hour",
    "spot_price_usd_hour",
)
EGRESS_COLUMNS = ("cloud", "scope", "usd_per_gb")
QUOTA_COLUMNS = ("cloud", "region", "resource", "limit")
FILES = ("regions.csv", "offerings.csv", "egress.csv", "quotas.csv")
_NAME_RE = re.compile(r"^[a-z][a-z0-9-]*$")

T = TypeVar("T")


class _RowError(Exception):
    """A bad field in one row; becomes a Problem with the row's line."""

    def __init__(self, column: str, message: str, hint: str | None = None):
        super().__init__(message)
        self.column, self.message, self.hint = column, message, hint


class _Collector:
    """Gathers problems across all files so that one run reports them all."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, where: Where, message: str, hint: str | None = None) -> None:
        self.problems.append(Problem(where, message, hint))

    def raise_if_any(self) -> None:
        if not self.problems:
            return
        ordered = sorted(self.problems, key=_file_line)
        shown = ordered[:MAX_PROBLEMS]
        if len(ordered) > MAX_PROBLEMS:
            extra = len(ordered) - MAX_PROBLEMS
            shown.append(Problem(None, f"... and {extra} more problems"))
        raise CatalogError(shown)


def _file_line(p: Problem) -> tuple[int, str, int]:
    """Problems in file order (regions, offerings, egress, quotas), then line order."""
    if p.where is None:
        return (len(FILES), "", 0)
    name = Path(p.where.file).name
    rank = FILES.index(name) if name in FILES else len(FILES)
    return (rank, p.where.file, p.where.line or 0)


def _read(path: Path, columns: tuple[str, ...], errs: _Collector) -> list[tuple[int, dict]] | None:
    """(line, row) pairs of a CSV with a header; None when the header lacks required columns."""
    try:
        return _read_rows(path, columns, errs)
    except UnicodeDecodeError as e:
        line = path.read_bytes()[: e.start].count(b"\n") + 1
        errs.add(Where(str(path), line), "not UTF-8 text", "save the file as UTF-8")
    except OSError as e:
        errs.add(Where(str(path)), f"cannot read: {e.strerror or e}")
    return None


def _read_rows(
    path: Path, columns: tuple[str, ...], errs: _Collector
) -> list[tuple[int, dict]] | None:
    out: list[tuple[int, dict]] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            errs.add(Where(str(path), 1), "empty file: expected a header row")
            return None
        header = [h.strip() for h in header]
        missing = [c for c in columns if c not in header]
        if missing:
            errs.add(
                Where(str(path), 1),
                f"missing column(s) {', '.join(missing)}",
                f"the header must include: {','.join(columns)}",
            )
            return None
        for raw in reader:
            if not raw or all(not c.strip() for c in raw):
                continue
            line = reader.line_num
            if len(raw) != len(header):
                errs.add(
                    Where(str(path), line),
                    f"expected {len(header)} fields, found {len(raw)}",
                    "quote fields that contain commas",
                )
                continue
            out.append((line, {h: v.strip() for h, v in zip(header, raw, strict=True)}))
    return out


def _parse_rows(
    path: Path,
    rows: list[tuple[int, dict]] | None,
    parse: Callable[[dict], T],
    errs: _Collector,
) -> list[tuple[int, T]]:
    """Parse every row with `parse`, recording a Problem per bad row."""
    out: list[tuple[int, T]] = []
    for line, row in rows or ():
        try:
            out.append((line, parse(row)))
        except _RowError as e:
            errs.add(Where(str(path), line, field=e.column), e.message, e.hint)
    return out


def _parse_file(
    path: Path,
    columns: tuple[str, ...],
    parse: Callable[[dict], T],
    errs: _Collector,
) -> list[tuple[int, T]]:
    """Read and parse a whole CSV file."""
    return _parse_rows(path, _read(path, columns, errs), parse, errs)


def _num(row: dict, col: str, *, integer: bool = False, optional: bool = False) -> Decimal | None:
    text = row[col]
    if text == "" and optional:
        return None
    try:
        d = to_decimal(text)
    except UnitError:
        raise _RowError(col, f"{col} must be a number, got {text!r}") from None
    if d < 0:
        raise _RowError(col, f"{col} must not be negative, got {text!r}")
    if integer and d != d.to_integral_value():
        raise _RowError(col, f"{col} must be a whole number, got {text!r}")
    return d


def _name(row: dict, col: str) -> str:
    value = row[col]
    if not _NAME_RE.match(value):
        raise _RowError(col, f"{col} must be lower-case letters, digits and '-', got {value!r}")
    return value


def _region(row: dict) -> Region:
    continent = row["continent"]
    if continent not in CONTINENTS:
        raise _RowError(
            "continent", f"unknown continent {continent!r}", f"use one of {', '.join(CONTINENTS)}"
        )
    country = row["country"].upper()
    if not re.match(r"^[A-Z]{2}$", country):
        raise _RowError("country", f"country must be an ISO 3166 two-letter code, got {country!r}")
    tags = {t.strip() for t in row["jurisdictions"].split(";") if t.strip()}
    return Region(
        cloud=_name(row, "cloud"),
        region=_name(row, "region"),
        country=country,
        tags=frozenset(tags | {country}),
        continent=continent,
        lat=_coord(row, "lat"),
        lon=_coord(row, "lon"),
        display_name=row.get("display_name", ""),
    )


def _coord(row: dict, col: str) -> float:
    text = row[col]
    if not text:
        return 0.0
    try:
        return float(text)
    except ValueError:
        raise _RowError(col, f"{col} must be a number, got {text!r}") from None


def _offering(row: dict) -> Offering:
    vcpus = _num(row, "vcpus", integer=True)
    count = _num(row, "accelerator_count", integer=True)
    accel = row["accelerator"]
    if vcpus is None or vcpus < 1:
        raise _RowError("vcpus", f"vcpus must be at least 1, got {row['vcpus']!r}")
    if bool(accel) != bool(count):
        raise _RowError(
            "accelerator_count",
            f"accelerator {accel!r} with count {row['accelerator_count']!r}",
            "leave accelerator empty with count 0, or name it with a count of at least 1",
        )
    if not row["instance_type"]:
        raise _RowError("instance_type", "instance_type is empty")
    return Offering(
        cloud=_name(row, "cloud"),
        region=_name(row, "region"),
        instance_type=row["instance_type"],
        vcpus=int(vcpus),
        memory_gib=_num(row, "memory_gib") or Decimal(0),
        accelerator=accel,
        accelerator_count=int(count or 0),
        price=_num(row, "price_usd_hour") or Decimal(0),
        spot_price=_num(row, "spot_price_usd_hour", optional=True),
    )


def _egress(row: dict) -> EgressRate:
    if row["scope"] not in EGRESS_SCOPES:
        raise _RowError(
            "scope", f"unknown scope {row['scope']!r}", f"use one of {', '.join(EGRESS_SCOPES)}"
        )
    return EgressRate(_name(row, "cloud"), row["scope"], _num(row, "usd_per_gb") or Decimal(0))


def _quota(row: dict) -> Quota:
    resource = row["resource"]
    if resource != "vcpus" and not re.match(r"^gpus:[A-Za-z0-9][A-Za-z0-9._-]*$", resource):
        raise _RowError(
            "resource", f"unknown resource {resource!r}", "use vcpus or gpus:<NAME>, e.g. gpus:A100"
        )
    if resource.startswith("gpus:"):
        resource = "gpus:" + resource[5:].upper()
    limit = _num(row, "limit", integer=True)
    return Quota(_name(row, "cloud"), _name(row, "region"), resource, int(limit or 0))


def _check_unique(
    path: Path, items: list[tuple[int, T]], key: Callable[[T], object], errs: _Collector
) -> None:
    seen: dict[object, int] = {}
    for line, item in items:
        k = key(item)
        if k in seen:
            errs.add(Where(str(path), line), f"duplicate row {k} (first at line {seen[k]})")
        else:
            seen[k] = line


def _check_regions(
    path: Path, items: list[tuple[int, T]], known: set[str] | None, errs: _Collector
) -> None:
    """Every row names a region of regions.csv (unchecked when regions.csv was unreadable)."""
    if known is None:
        return
    for line, item in items:
        key = f"{item.cloud}:{item.region}"  # type: ignore[attr-defined]
        if key not in known:
            errs.add(Where(str(path), line, field="region"), f"region {key} is not in regions.csv")


def load_catalog(directory: Path | str) -> Catalog:
    """Load and validate a catalog folder; CatalogError lists every problem found."""
    root = Path(directory)
    errs = _Collector()
    if not root.is_dir():
        raise CatalogError(
            [
                Problem(
                    Where(str(root)),
                    "catalog folder not found",
                    "pass a folder holding offerings.csv, regions.csv and egress.csv",
                )
            ]
        )
    for name in ("regions.csv", "offerings.csv", "egress.csv"):
        if not (root / name).is_file():
            errs.add(
                Where(str(root / name)),
                f"missing {name}",
                "a catalog folder needs offerings.csv, regions.csv and egress.csv (SPEC section 3)",
            )
    errs.raise_if_any()
    region_rows = _read(root / "regions.csv", REGION_COLUMNS, errs)
    regions = _parse_rows(root / "regions.csv", region_rows, _region, errs)
    offerings = _parse_file(root / "offerings.csv", OFFERING_COLUMNS, _offering, errs)
    egress = _parse_file(root / "egress.csv", EGRESS_COLUMNS, _egress, errs)
    quota_path = root / "quotas.csv"
    quotas = _parse_file(quota_path, QUOTA_COLUMNS, _quota, errs) if quota_path.is_file() else []
    _check_unique(root / "regions.csv", regions, lambda r: r.key, errs)
    _check_unique(
        root / "offerings.csv", offerings, lambda o: (o.region_key, o.instance_type), errs
    )
    _check_unique(root / "egress.csv", egress, lambda e: (e.cloud, e.scope), errs)
    _check_unique(quota_path, quotas, lambda q: (q.cloud, q.region, q.resource), errs)
    known = None if region_rows is None else {r.key for _, r in regions}
    _check_regions(root / "offerings.csv", offerings, known, errs)
    _check_regions(quota_path, quotas, known, errs)
    errs.raise_if_any()
    return Catalog(
        regions=tuple(sorted(r for _, r in regions)),
        offerings=tuple(o for _, o in offerings),
        egress=tuple(e for _, e in egress),
        quotas=tuple(q for _, q in quotas),
        source="embedded" if root.resolve() == EMBEDDED_DIR.resolve() else str(root),
        as_of=_as_of(root),
    )


def _as_of(root: Path) -> str | None:
    """The catalog's price date from metadata.json, when it has one."""
    meta = root / "metadata.json"
    if not meta.is_file():
        return None
    try:
        value = json.loads(meta.read_text(encoding="utf-8")).get("as_of")
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None


@lru_cache(maxsize=1)
def load_embedded_catalog() -> Catalog:
    """The default catalog shipped inside the package (loaded once per process)."""
    return load_catalog(EMBEDDED_DIR)
