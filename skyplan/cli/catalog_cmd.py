"""`skyplan catalog offerings|regions`: browse the catalog, cheapest first (refresh, quotas and
diff live in catalog_refresh_cmd.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from skyplan.cli.plan_cmd import Format

catalog_app = typer.Typer(
    help="Browse, refresh and compare the catalog of regions and offerings.", no_args_is_help=True
)

CATALOG_OPT = typer.Option(None, "--catalog", help="Catalog folder [default: embedded].")


@catalog_app.command("offerings")
def offerings(
    cloud: list[str] = typer.Option([], "--cloud", help="Only these clouds (repeatable)."),
    region: list[str] = typer.Option(
        [], "--region", help="Only these regions (name or cloud:region)."
    ),
    accelerator: str | None = typer.Option(
        None, "--accelerator", "-a", help="e.g. H100 or A100:8."
    ),
    min_cpus: float = typer.Option(0, "--min-cpus", help="At least this many vCPUs."),
    min_memory: str | None = typer.Option(
        None, "--min-memory", help="At least this memory, e.g. 64GB."
    ),
    jurisdiction: list[str] = typer.Option(
        [], "--jurisdiction", "-j", help="Region must carry this tag."
    ),
    spot: bool = typer.Option(False, "--spot", help="Rank by spot price where listed."),
    limit: int = typer.Option(30, "--limit", "-n", min=0, help="Rows to show (0 = all)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    catalog: Path | None = CATALOG_OPT,
) -> None:
    """Offerings that fit, cheapest first (like `sky show-gpus`)."""
    from skyplan.catalog.query import OfferingQuery, query_offerings
    from skyplan.cli.inputs import load_catalog_option

    cat = load_catalog_option(catalog)
    q = OfferingQuery.from_options(
        cloud, region, accelerator, min_cpus, min_memory, jurisdiction, spot
    )
    rows = query_offerings(cat, q)
    show_rows(rows[:limit] if limit else rows, len(rows), fmt, "offering")


@catalog_app.command("regions")
def regions(
    cloud: list[str] = typer.Option([], "--cloud", help="Only these clouds (repeatable)."),
    jurisdiction: list[str] = typer.Option(
        [], "--jurisdiction", "-j", help="Region must carry this tag."
    ),
    continent: str | None = typer.Option(None, "--continent", help="e.g. europe."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
    catalog: Path | None = CATALOG_OPT,
) -> None:
    """Regions with their country, jurisdiction tags and how many offerings they have."""
    from skyplan.catalog.query import query_regions
    from skyplan.cli.inputs import load_catalog_option

    cat = load_catalog_option(catalog)
    rows = query_regions(cat, cloud, jurisdiction, continent)
    show_rows(rows, len(rows), fmt, "region")


def show_rows(rows: list[dict[str, str]], total: int, fmt: Format, noun: str) -> None:
    """Rows as a table, markdown or JSON (numbers as JSON numbers, empty ones as null); `total`
    is how many matched before any limit."""
    if fmt is Format.json:
        import json

        from skyplan.catalog.cells import json_value

        data = [{k: json_value(v) for k, v in row.items()} for row in rows]
        typer.echo(json.dumps(data, indent=2))
        return
    if not rows:
        typer.echo(f"No {noun}s match.")
        return
    headers = tuple(rows[0])
    if fmt is Format.markdown:
        typer.echo("| " + " | ".join(headers) + " |")
        typer.echo("|" + "|".join("---" for _ in headers) + "|")
        for r in rows:
            typer.echo("| " + " | ".join(r.values()) + " |")
        return
    from skyplan.cli.render import console, table
    from skyplan.review.summary import Row, count_of

    title = count_of(total, noun) if total == len(rows) else f"{len(rows)} of {total} {noun}s"
    console().print(table(title, headers, [Row(tuple(r.values())) for r in rows]))


def _register_refresh() -> None:
    from skyplan.cli import catalog_refresh_cmd

    catalog_refresh_cmd.register(catalog_app)


_register_refresh()
