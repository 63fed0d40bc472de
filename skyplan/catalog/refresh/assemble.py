"""The files of a refreshed catalog: fetched rows merged into a base catalog, with metadata."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from skyplan.catalog.load import EGRESS_COLUMNS, EMBEDDED_DIR, OFFERING_COLUMNS, REGION_COLUMNS
from skyplan.catalog.refresh.model import CloudResult, PricedOffering

OFFERING_HEADER = (*OFFERING_COLUMNS, "source")
EGRESS_HEADER = (*EGRESS_COLUMNS, "source")
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Base:
    """The catalog a refresh starts from: the --out folder's, or the embedded regions and egress."""

    regions: tuple[dict[str, str], ...]
    region_header: tuple[str, ...]
    offerings: tuple[dict[str, str], ...]
    egress: tuple[dict[str, str], ...]
    metadata: dict[str, Any]
    embedded_sources: dict[str, Any]
    existing: bool


def _rows(path: Path) -> tuple[tuple[str, ...], tuple[dict[str, str], ...]]:
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        rows = tuple({k: (v or "").strip() for k, v in r.items() if k} for r in reader)
        return tuple(reader.fieldnames or ()), rows


def read_rows(path: Path) -> tuple[dict[str, str], ...]:
    """The rows of a CSV file with a header, as dicts."""
    return _rows(path)[1]


def _metadata(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def read_base(out: Path) -> Base:
    """The base for `out`: its own files when it holds a catalog (already validated), else the
    embedded regions.csv and egress.csv with only the synthetic `local` cloud's offerings."""
    from skyplan.catalog.load import load_catalog
    from skyplan.errors import InputError, Where

    if out.exists() and not out.is_dir():
        raise InputError("not a folder", where=Where(str(out)), hint="name a catalog folder")
    embedded = _metadata(EMBEDDED_DIR / "metadata.json").get("sources", {})
    existing = (out / "regions.csv").is_file()
    if existing:
        load_catalog(out)  # a refresh never builds on a catalog the planner would reject
    root = out if existing else EMBEDDED_DIR
    header, regions = _rows(root / "regions.csv")
    _, offerings = _rows(root / "offerings.csv")
    _, egress = _rows(root / "egress.csv")
    if not existing:
        offerings = tuple(o for o in offerings if o["cloud"] == "local")
    meta = _metadata(root / "metadata.json") if existing else {}
    return Base(regions, header, offerings, egress, meta, embedded, existing)


def _dec(value: Decimal) -> str:
    """A price in plain decimal form, at most 8 places, no trailing zeros."""
    text = format(value.quantize(Decimal("0.00000001")).normalize(), "f")
    return "0" if text in ("-0", "") else text


def _offering_row(o: PricedOffering, source: str) -> dict[str, str]:
    return {
        "cloud": o.cloud,
        "region": o.region,
        "instance_type": o.instance_type,
        "vcpus": str(o.vcpus),
        "memory_gib": _dec(o.memory_gib),
        "accelerator": o.accelerator,
        "accelerator_count": str(o.accelerator_count),
        "price_usd_hour": _dec(o.price),
        "spot_price_usd_hour": _dec(o.spot_price) if o.spot_price is not None else "",
        "source": source,
    }


def _csv(header: Iterable[str], rows: Iterable[dict[str, str]]) -> str:
    buf = io.StringIO()
    cols = list(header)
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(cols)
    writer.writerows([r.get(c, "") for c in cols] for r in rows)
    return buf.getvalue()


def assemble(base: Base, results: Iterable[CloudResult], now: datetime) -> dict[str, str]:
    """regions.csv, offerings.csv, egress.csv and metadata.json of the refreshed catalog.

    The offerings of every region fetched replace that region's old rows; a region that failed
    keeps what the base had. Egress scopes found in an API replace the base's; the others stay.
    """
    results = tuple(results)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    fetched = {(r.cloud, x.region): (r, x) for r in results for x in r.succeeded}
    offerings = [o for o in base.offerings if (o["cloud"], o["region"]) not in fetched]
    for cloud_result, region in fetched.values():
        offerings += [_offering_row(o, cloud_result.source_id) for o in region.offerings]
    offerings.sort(key=lambda o: (o["cloud"], o["region"], o["instance_type"]))
    egress, egress_meta = _egress(base, results)
    meta = _metadata_doc(base, results, offerings, egress, egress_meta, stamp)
    return {
        "regions.csv": _csv(base.region_header or REGION_COLUMNS, base.regions),
        "offerings.csv": _csv(OFFERING_HEADER, offerings),
        "egress.csv": _csv(EGRESS_HEADER, egress),
        "metadata.json": json.dumps(meta, indent=2, sort_keys=True) + "\n",
    }


def _egress(
    base: Base, results: tuple[CloudResult, ...]
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """Egress rows with the API's rates where found, and where each cloud's scopes came from."""
    rows = {(e["cloud"], e["scope"]): dict(e) for e in base.egress}
    meta: dict[str, Any] = {}
    for r in results:
        if not r.succeeded:
            continue
        found = {f.scope: f for f in r.egress}
        scopes = sorted({s for c, s in rows if c == r.cloud} | set(found))
        meta[r.cloud] = {}
        for scope in scopes:
            if scope in found:
                f = found[scope]
                row = {"cloud": r.cloud, "scope": scope, "usd_per_gb": _dec(f.usd_per_gb)}
                rows[(r.cloud, scope)] = {**row, "source": f"{r.cloud}-egress-api"}
                meta[r.cloud][scope] = {"source": f"{r.cloud}-egress-api", "how": f.detail}
            else:
                kept = rows[(r.cloud, scope)]
                meta[r.cloud][scope] = {
                    "source": kept.get("source", ""),
                    "how": "not found in the cloud's price API: kept from the base catalog",
                }
    return [rows[k] for k in sorted(rows)], meta


def _sources(
    base: Base, results: tuple[CloudResult, ...], used: set[str], stamp: str
) -> dict[str, Any]:
    """Every source a row names: the APIs read now, else the base's or embedded description."""
    fresh: dict[str, Any] = {}
    for r in results:
        if not r.succeeded:
            continue
        fresh[r.source_id] = {
            "description": f"{r.cloud} prices and shapes read from the cloud's own APIs",
            "api": r.api,
            "fetched_at": stamp,
            "sdk": dict(r.sdk),
            "regions": sorted(x.region for x in r.succeeded),
        }
        fresh[f"{r.cloud}-egress-api"] = {
            "description": f"{r.cloud} egress rates (USD/GB) read from the cloud's price API",
            "api": r.egress_api,
            "fetched_at": stamp,
            "sdk": dict(r.sdk),
        }
    old = {**base.embedded_sources, **base.metadata.get("sources", {})}
    return {s: fresh.get(s) or old.get(s, {"description": "unknown"}) for s in sorted(used) if s}


def _metadata_doc(
    base: Base,
    results: tuple[CloudResult, ...],
    offerings: list[dict[str, str]],
    egress: list[dict[str, str]],
    egress_meta: dict[str, Any],
    stamp: str,
) -> dict[str, Any]:
    """metadata.json: dates, sources, per-region fetch times and failures, counts, families."""
    regions: dict[str, Any] = dict(base.metadata.get("regions", {}))
    failed: dict[str, Any] = {}
    for r in results:
        for x in r.regions:
            key = f"{r.cloud}:{x.region}"
            if x.ok:
                regions[key] = {"fetched_at": stamp, "source": r.source_id}
            else:
                failed[key] = {"error": x.error} if x.error else {"skipped": x.skipped}
    used = {o.get("source", "") for o in offerings} | {e.get("source", "") for e in egress}
    egress_notes = {**base.metadata.get("egress", {}), **egress_meta}
    sources = _sources(base, results, used, stamp)
    return {
        "schema_version": SCHEMA_VERSION,
        "name": "skyplan refreshed catalog",
        "as_of": _as_of(base, offerings, regions, sources, stamp),
        "refreshed_at": stamp,
        "sources": sources,
        "regions": dict(sorted(regions.items())),
        "failed": failed,
        "egress": egress_notes,
        "notes": [f"{r.cloud}: {n}" for r in results for n in r.notes],
        "counts": {
            "offerings": len(offerings),
            "by_cloud": dict(sorted(Counter(o["cloud"] for o in offerings).items())),
        },
        "families": _families(base, results),
    }


def _as_of(
    base: Base,
    offerings: list[dict[str, str]],
    regions: dict[str, Any],
    sources: dict[str, Any],
    stamp: str,
) -> str:
    """The date of the oldest instance price in the catalog (what the planner's age warning
    reads): each row's own date, so rows kept from an older source keep the catalog old."""
    dates = {
        str(_row_date(o, regions, sources) or base.metadata.get("as_of") or stamp)[:10]
        for o in offerings
        if o["cloud"] != "local"  # synthetic: never ages
    }
    return min(dates) if dates else stamp[:10]


def _row_date(row: dict[str, str], regions: dict[str, Any], sources: dict[str, Any]) -> str | None:
    """When a row's price was read: its region's last fetch if that fetch wrote the row, else
    its source's date (`date` in the embedded catalog, `fetched_at` in a refreshed one)."""
    fetched = regions.get(f"{row['cloud']}:{row['region']}", {})
    if fetched.get("fetched_at") and fetched.get("source") == row.get("source"):
        return str(fetched["fetched_at"])
    source = sources.get(row.get("source", ""), {})
    return source.get("date") or source.get("fetched_at") or None


def _families(base: Base, results: tuple[CloudResult, ...]) -> dict[str, list[str]]:
    out = {c: set(f) for c, f in base.metadata.get("families", {}).items()}
    for r in results:
        found = {o.family for x in r.succeeded for o in x.offerings}
        if found:
            out[r.cloud] = out.get(r.cloud, set()) | found
    return {c: sorted(f) for c, f in sorted(out.items())}
