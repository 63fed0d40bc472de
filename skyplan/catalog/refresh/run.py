"""`skyplan catalog refresh`: which regions to fetch, each cloud in turn, and the files to write."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

from skyplan.catalog.refresh.assemble import Base, assemble, read_base, read_rows
from skyplan.catalog.refresh.model import CLOUD_NAMES, CLOUDS, CloudResult, Progress
from skyplan.catalog.refresh.quotas import QuotaResult, render_quotas
from skyplan.errors import InputError, did_you_mean

R = TypeVar("R")

# A cloud's fetch: its regions and a progress sink in, what it found out.
Fetcher = Callable[[tuple[str, ...], Progress], CloudResult]


@dataclass(frozen=True)
class Refreshed:
    """What a refresh produced: the files to write, and per cloud what was found or went wrong."""

    files: dict[str, str]
    results: tuple[CloudResult, ...]
    cloud_errors: tuple[tuple[str, InputError], ...]
    existing: bool


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def parse_clouds(cloud: str) -> tuple[str, ...]:
    """`aws`, `gcp`, `azure` or `all` as the clouds to refresh."""
    if cloud == "all":
        return CLOUDS
    if cloud not in CLOUDS:
        hint = did_you_mean(cloud, (*CLOUDS, "all")) or "use aws, gcp, azure or all"
        raise InputError(f"unknown cloud {cloud!r} for --cloud", hint=hint)
    return (cloud,)


def target_regions(
    clouds: Sequence[str], names: Sequence[str], base: Base
) -> dict[str, tuple[str, ...]]:
    """Regions to fetch per cloud: those named (`region` or `cloud:region`), else all of
    regions.csv; a region must be in regions.csv, which holds its country and jurisdictions."""
    known = {(r["cloud"], r["region"]) for r in base.regions}
    out: dict[str, list[str]] = {c: [] for c in clouds}
    if not names:
        for cloud, region in sorted(known):
            if cloud in out:
                out[cloud].append(region)
        return {c: tuple(v) for c, v in out.items()}
    for name in names:
        cloud, _, region = name.rpartition(":")
        hits = [(c, r) for c, r in sorted(known) if r == region and (not cloud or c == cloud)]
        hits = [(c, r) for c, r in hits if c in out]
        if not hits:
            options = [r for c, r in known if c in out] + [f"{c}:{r}" for c, r in known if c in out]
            hint = did_you_mean(name, options) or "see `skyplan catalog regions --cloud CLOUD`"
            raise InputError(f"unknown region {name!r} for --cloud {'/'.join(clouds)}", hint=hint)
        for c, r in hits:
            if r not in out[c]:
                out[c].append(r)
    return {c: tuple(v) for c, v in out.items()}


def default_fetchers(
    now: datetime, continent_of: Mapping[str, str], subscription: str | None
) -> dict[str, Fetcher]:
    """Fetchers that build their SDK clients from each cloud's standard credential chain."""

    def aws(regions: tuple[str, ...], progress: Progress) -> CloudResult:
        from skyplan.catalog.refresh.aws import fetch_aws
        from skyplan.catalog.refresh.aws_account import Boto3Clients

        return fetch_aws(regions, dict(continent_of), Boto3Clients.default(), progress, now)

    def gcp(regions: tuple[str, ...], progress: Progress) -> CloudResult:
        from skyplan.catalog.refresh.gcp import catalog_client, fetch_gcp

        return fetch_gcp(regions, catalog_client(), progress)

    def azure(regions: tuple[str, ...], progress: Progress) -> CloudResult:
        from skyplan.catalog.refresh.azure import azure_clients, fetch_azure

        return fetch_azure(regions, azure_clients(subscription), progress)

    return {"aws": aws, "gcp": gcp, "azure": azure}


def continents(base: Base) -> dict[str, str]:
    """Region name -> continent for the AWS regions (AWS names its egress destinations so)."""
    return {r["region"]: r["continent"] for r in base.regions if r["cloud"] == "aws"}


def refresh(
    clouds: Sequence[str],
    regions: Sequence[str],
    out: Path,
    progress: Progress,
    now: datetime,
    fetchers: Mapping[str, Fetcher] | None = None,
    subscription: str | None = None,
) -> Refreshed:
    """Fetch each cloud's regions; InputError when nothing at all could be fetched.

    A cloud that fails as a whole (no credentials, no SDK) stops a single-cloud refresh; with
    several clouds it is reported and the others go on.
    """
    base = read_base(out)
    targets = target_regions(clouds, regions, base)
    fetch = fetchers or default_fetchers(now, continents(base), subscription)
    for cloud in clouds:
        if not targets[cloud]:
            progress(cloud, "", "skipped: no region of this cloud was named")
    results, errors = each_cloud(clouds, targets, fetch, progress, "refreshing")
    if not any(r.succeeded for r in results):
        failed = [
            f"{r.cloud}:{x.region}: {x.error or x.skipped}" for r in results for x in r.regions
        ]
        raise _nothing_fetched(
            f"no region could be refreshed; nothing was written to {out}", failed, errors
        )
    files = assemble(base, results, now)
    return Refreshed(files, tuple(results), tuple(errors), base.existing)


def _nothing_fetched(
    headline: str, failed: list[str], errors: list[tuple[str, InputError]]
) -> InputError:
    """The error when no region gave anything: every reason, and how to fix the sign-ins."""
    lines = [f"  {cloud}: {exc.message}" for cloud, exc in errors] + [f"  {f}" for f in failed]
    hints = [f"{CLOUD_NAMES[c]}: {exc.hint}" for c, exc in errors if exc.hint]
    hint = "\n  ".join(hints) if hints else "check the network and the regions named, then retry"
    shown = lines[:20] + ([f"  ... and {len(lines) - 20} more"] if len(lines) > 20 else [])
    return InputError(f"{headline}\n" + "\n".join(shown), hint=hint)


# A cloud's quota fetch: its regions and a progress sink in, its rows out.
QuotaFetcher = Callable[[tuple[str, ...], Progress], QuotaResult]


def default_quota_fetchers(subscription: str | None) -> dict[str, QuotaFetcher]:
    """Quota fetchers that build their clients from each cloud's standard credential chain."""
    from skyplan.catalog.refresh import quotas as q

    def aws(regions: tuple[str, ...], progress: Progress) -> q.QuotaResult:
        from skyplan.catalog.refresh.aws_account import Boto3Clients

        return q.fetch_aws_quotas(regions, Boto3Clients.default(), progress)

    def gcp(regions: tuple[str, ...], progress: Progress) -> q.QuotaResult:
        session, project = q.gcp_session()
        return q.fetch_gcp_quotas(regions, session, project, progress)

    def azure(regions: tuple[str, ...], progress: Progress) -> q.QuotaResult:
        from skyplan.catalog.refresh.azure import azure_clients

        return q.fetch_azure_quotas(regions, azure_clients(subscription).compute, progress)

    return {"aws": aws, "gcp": gcp, "azure": azure}


@dataclass(frozen=True)
class QuotasRead:
    """quotas.csv's new text, and per cloud what was read or went wrong."""

    text: str
    results: tuple[QuotaResult, ...]
    cloud_errors: tuple[tuple[str, InputError], ...]


def read_quotas(
    clouds: Sequence[str],
    regions: Sequence[str],
    out: Path,
    progress: Progress,
    fetchers: Mapping[str, QuotaFetcher] | None = None,
    subscription: str | None = None,
) -> QuotasRead:
    """Each cloud's quotas for the regions of the catalog in `out`, which must hold one: a
    folder with only quotas.csv would be no catalog `plan --catalog` could use."""
    base = read_base(out)
    if not base.existing:
        raise InputError(
            f"no catalog in {out}: quotas.csv is written beside a catalog's offerings.csv",
            hint=f"write one there first (`skyplan catalog refresh --cloud CLOUD --out {out}`), "
            "or name a catalog folder",
        )
    targets = target_regions(clouds, regions, base)
    fetch = fetchers or default_quota_fetchers(subscription)
    results, errors = each_cloud(clouds, targets, fetch, progress, "reading quotas of")
    if not any(r.rows for r in results):
        failed = [f"{r.cloud}:{region}: {why}" for r in results for region, why in r.failed]
        failed += [
            f"{r.cloud}:{region}: skipped, {why}" for r in results for region, why in r.skipped
        ]
        headline = f"no region's quotas could be read; nothing was written to {out / 'quotas.csv'}"
        raise _nothing_fetched(headline, failed, errors)
    existing = read_rows(out / "quotas.csv") if (out / "quotas.csv").is_file() else ()
    known = {(r["cloud"], r["region"]) for r in base.regions}
    return QuotasRead(render_quotas(existing, results, known), tuple(results), tuple(errors))


def each_cloud(
    clouds: Sequence[str],
    targets: Mapping[str, tuple[str, ...]],
    fetch: Mapping[str, Callable[[tuple[str, ...], Progress], R]],
    progress: Progress,
    verb: str,
) -> tuple[list[R], list[tuple[str, InputError]]]:
    """Fetch every cloud with regions to fetch; a cloud that fails as a whole stops a
    single-cloud run, and with several clouds is reported while the others go on."""
    results: list[R] = []
    errors: list[tuple[str, InputError]] = []
    several = sum(bool(targets[c]) for c in clouds) > 1
    for cloud in clouds:
        if not targets[cloud]:
            continue
        progress(cloud, "", f"{verb} {_count(len(targets[cloud]), 'region')}")
        try:
            results.append(fetch[cloud](targets[cloud], progress))
        except Exception as exc:  # one cloud's trouble (credentials, network) loses only it
            error = exc if isinstance(exc, InputError) else _unreachable(cloud, exc, several)
            if len(clouds) == 1:
                raise error from None
            errors.append((cloud, error))
            progress(cloud, "", f"failed: {error.message}")
    return results, errors


def _unreachable(cloud: str, exc: Exception, several: bool) -> InputError:
    """An SDK error that is not about credentials: usually the network or the API endpoint."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    others = "; the other clouds are still read" if several else ", then retry"
    return InputError(
        f"{cloud}: could not reach the cloud's APIs: {type(exc).__name__}: {detail}",
        hint=f"check the network and proxy settings{others}",
    )
