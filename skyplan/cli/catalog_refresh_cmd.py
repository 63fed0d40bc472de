"""`skyplan catalog refresh|quotas|diff`: rebuild the catalog from the clouds' APIs, compare two."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from skyplan.cli.plan_cmd import Format

if TYPE_CHECKING:
    from skyplan.catalog.refresh.run import Refreshed
    from skyplan.errors import InputError

CLOUD_OPT = typer.Option(..., "--cloud", help="aws, gcp, azure or all.")
REGIONS_OPT = typer.Option(
    None,
    "--regions",
    help="Comma-separated regions, `name` or `cloud:name` [default: every region of the "
    "cloud in regions.csv].",
)
SUBSCRIPTION_OPT = typer.Option(
    None, "--subscription", help="Azure subscription id [default: $AZURE_SUBSCRIPTION_ID]."
)


def register(app: typer.Typer) -> None:
    """Add `refresh`, `quotas` and `diff` to the `catalog` sub-app."""
    app.command("refresh")(refresh)
    app.command("quotas")(quotas)
    app.command("diff")(diff)


def _split(regions: str | None) -> tuple[str, ...]:
    return tuple(r.strip() for r in (regions or "").split(",") if r.strip())


def _progress(cloud: str, region: str, message: str) -> None:
    """One progress line per cloud or region, on stderr so stdout keeps the summary."""
    place = f"{cloud} {region}" if region else cloud
    typer.echo(f"{place}: {message}", err=True)


def refresh(
    cloud: str = CLOUD_OPT,
    regions: str | None = REGIONS_OPT,
    out: Path = typer.Option(
        ..., "--out", "-o", help="Catalog folder to write; an existing one is updated in place."
    ),
    subscription: str | None = SUBSCRIPTION_OPT,
) -> None:
    """Rebuild the catalog's prices from the clouds' own APIs, with your credentials."""
    from datetime import UTC, datetime

    from skyplan.catalog.refresh.run import parse_clouds
    from skyplan.catalog.refresh.run import refresh as run_refresh

    clouds = parse_clouds(cloud)
    now = datetime.now(UTC).replace(microsecond=0)
    done = run_refresh(clouds, _split(regions), out, _progress, now, subscription=subscription)
    write_catalog_folder(out, done.files)
    _report(out, done)


def write_catalog_folder(out: Path, files: dict[str, str]) -> None:
    """Write the catalog into a temporary folder beside `out`, check it, then rename it into
    place: a reader sees the old catalog or the new one, never half of one."""
    from skyplan.catalog.load import load_catalog
    from skyplan.errors import CatalogError, InputError, Where

    parent = out.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".new", dir=parent))
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", where=Where(str(out))) from None
    try:
        if out.is_dir():
            shutil.copytree(out, tmp, dirs_exist_ok=True)  # keep quotas.csv and the user's files
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; a catalog is an ordinary folder
        for name, text in files.items():
            (tmp / name).write_text(text, encoding="utf-8", newline="")
        try:
            load_catalog(tmp)
        except CatalogError as e:  # a bug in the refresh, not the user's input
            raise RuntimeError(f"the refreshed catalog does not load: {e.render()}") from e
        _swap(tmp, out)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", where=Where(str(out))) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, out: Path) -> None:
    """Put `new` where `out` is; the old folder is restored if the second rename fails."""
    if not out.exists():
        os.rename(new, out)
        return
    old = new.with_suffix(".old")
    os.rename(out, old)
    try:
        os.rename(new, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _warn_cloud_errors(errors: tuple[tuple[str, InputError], ...]) -> None:
    for cloud, exc in errors:
        typer.echo(f"warning: {cloud} skipped: {exc.render()}", err=True)


def _report(out: Path, done: Refreshed) -> None:
    """What was written, per cloud; failed regions and skipped clouds as warnings on stderr."""
    from collections import Counter

    _warn_cloud_errors(done.cloud_errors)
    kept = "its old rows were kept" if done.existing else "it has no offerings"
    for r in done.results:
        for x in r.regions:
            if x.error:
                typer.echo(f"warning: {r.cloud}:{x.region} failed ({x.error}); {kept}", err=True)
    rows = done.files["offerings.csv"].splitlines()[1:]
    per_cloud = Counter(line.split(",", 1)[0] for line in rows)
    counts = ", ".join(f"{c} {n}" for c, n in sorted(per_cloud.items()))
    verb = "Updated" if done.existing else "Wrote"
    typer.echo(f"{verb} {out}/: {len(rows)} offerings ({counts})")
    for r in done.results:
        failed = sum(x.error is not None for x in r.regions)
        skipped = sum(x.skipped is not None for x in r.regions)
        extra = f" ({failed} failed)" if failed else ""
        extra += f" ({skipped} skipped: not enabled)" if skipped else ""
        scopes = ", ".join(f.scope for f in r.egress) or "none (kept the base catalog's rates)"
        typer.echo(
            f"  {r.cloud}: {len(r.succeeded)} of {len(r.regions)} regions refreshed{extra}; "
            f"egress from the API: {scopes}"
        )
    typer.echo(f"Plan with it: skyplan plan SPEC --catalog {out}")


def quotas(
    cloud: str = CLOUD_OPT,
    regions: str | None = REGIONS_OPT,
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="A catalog folder (e.g. from `catalog refresh`) whose quotas.csv is written or "
        "updated.",
    ),
    subscription: str | None = SUBSCRIPTION_OPT,
) -> None:
    """Write quotas.csv (vCPU and GPU limits per region) from your accounts' quotas."""
    from skyplan.catalog.refresh.run import parse_clouds, read_quotas
    from skyplan.cli.files import write_atomic

    clouds = parse_clouds(cloud)
    found = read_quotas(clouds, _split(regions), out, _progress, subscription=subscription)
    write_atomic(out / "quotas.csv", found.text)
    _warn_cloud_errors(found.cloud_errors)
    for r in found.results:
        for region, why in r.failed:
            typer.echo(f"warning: {r.cloud}:{region} quotas not read ({why})", err=True)
    rows = len(found.text.splitlines()) - 1
    skipped = sum(len(r.skipped) for r in found.results)
    extra = (
        f" ({skipped} region{'' if skipped == 1 else 's'} skipped: not enabled)" if skipped else ""
    )
    typer.echo(f"Wrote {out / 'quotas.csv'}: {rows} limit{'' if rows == 1 else 's'}{extra}")


def diff(
    old: Path = typer.Argument(..., metavar="OLD", help="The older catalog folder."),
    new: Path = typer.Argument(..., metavar="NEW", help="The newer catalog folder."),
    cloud: list[str] = typer.Option([], "--cloud", help="Only these clouds (repeatable)."),
    added_removed: bool = typer.Option(
        False, "--added-removed", help="Also list offerings only one catalog has."
    ),
    limit: int = typer.Option(30, "--limit", "-n", min=0, help="Rows to show (0 = all)."),
    fmt: Format = typer.Option(Format.table, "--format", "-f"),
) -> None:
    """Price changes per offering and region from OLD to NEW, largest first."""
    from skyplan.catalog.diff import diff_catalogs, diff_rows
    from skyplan.cli.catalog_cmd import show_rows
    from skyplan.cli.inputs import load_catalog_option

    d = diff_catalogs(load_catalog_option(old), load_catalog_option(new), tuple(cloud))
    rows = diff_rows(d, added_removed)
    if fmt is not Format.json:
        typer.echo(d.summary())
    show_rows(rows[:limit] if limit else rows, len(rows), fmt, "price change")
