"""quotas.csv from the clouds: AWS Service Quotas, GCP regional quotas, Azure compute usages.

The catalog counts `vcpus` and `gpus:<NAME>` per region while the clouds count vCPUs per
instance class (AWS, Azure) or series (GCP). Where the two differ the row is the most the cloud
could admit (sums of the class limits, GPUs at the fewest vCPUs per GPU of the shipped sizes):
a plan is never ruled out by a limit stricter than the cloud's, and a limit of 0 stays 0.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skyplan.catalog.refresh.families import (
    AWS_GPU_QUOTAS,
    AWS_QUOTA_NAMES,
    AZURE_SERIES,
)
from skyplan.catalog.refresh.model import CredentialError, Progress, missing_sdk, region_error
from skyplan.errors import InputError

if TYPE_CHECKING:
    from skyplan.catalog.refresh.aws_account import AwsClients

QUOTA_HEADER = ("cloud", "region", "resource", "limit", "source")
GCP_REGIONS_URL = "https://compute.googleapis.com/compute/v1/projects/{project}/regions"
GCP_SCOPE = "https://www.googleapis.com/auth/compute.readonly"


def _limits(n: int) -> str:
    return f"{n} limit{'' if n == 1 else 's'}"


@dataclass(frozen=True)
class QuotaRow:
    """One limit for quotas.csv, with the cloud's own quota it came from."""

    cloud: str
    region: str
    resource: str
    limit: int
    source: str


@dataclass(frozen=True)
class QuotaResult:
    """A cloud's quota rows, the regions whose quotas could not be read, and those skipped."""

    cloud: str
    rows: tuple[QuotaRow, ...]
    failed: tuple[tuple[str, str], ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (region, why): not read, and not a failure


# --- AWS -------------------------------------------------------------------------------------


def _aws_value(client: Any, code: str) -> float:
    """The applied quota, or AWS's default where the account has none applied."""
    try:
        return float(client.get_service_quota(ServiceCode="ec2", QuotaCode=code)["Quota"]["Value"])
    except client.exceptions.NoSuchResourceException:
        found = client.get_aws_default_service_quota(ServiceCode="ec2", QuotaCode=code)
        return float(found["Quota"]["Value"])


def fetch_aws_quotas(
    regions: Sequence[str], clients: AwsClients, progress: Progress
) -> QuotaResult:
    """vCPU limits of the on-demand Standard, G and P classes of each region the account has
    enabled (opt-in regions it has not are skipped, as the price refresh skips them)."""
    from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

    from skyplan.catalog.refresh.aws_account import NOT_ENABLED, AccountRegions, aws_credentials

    rows: list[QuotaRow] = []
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[str, str]] = []
    with aws_credentials():
        account = AccountRegions.read(clients)
        for region in regions:
            if account.skip("aws", region, progress):
                skipped.append((region, NOT_ENABLED))
                continue
            try:
                client = clients.service_quotas(region)
                values = {code: _aws_value(client, code) for code in AWS_QUOTA_NAMES}
            except (ClientError, BotoCoreError) as exc:
                account.failed(exc)
                failed.append((region, region_error(exc)))
                progress("aws", region, f"failed: {region_error(exc)}")
                continue
            account.worked()
            found = _aws_rows(region, values)
            rows += found
            progress("aws", region, _limits(len(found)))
        account.settle()
    return QuotaResult("aws", tuple(rows), tuple(failed), tuple(skipped))


def _aws_rows(region: str, values: dict[str, float]) -> list[QuotaRow]:
    codes = "+".join(sorted(values))
    out = [QuotaRow("aws", region, "vcpus", int(sum(values.values())), codes)]
    for gpu, (code, per_gpu) in sorted(AWS_GPU_QUOTAS.items()):
        limit = int(values[code]) // per_gpu
        out.append(QuotaRow("aws", region, f"gpus:{gpu}", limit, f"{code}/{per_gpu} vCPUs per GPU"))
    return out


# --- GCP -------------------------------------------------------------------------------------


def gcp_session() -> tuple[Any, str]:
    """An authorized HTTP session from Application Default Credentials, and the project."""
    try:
        import google.auth
        from google.auth import exceptions as ax
        from google.auth.transport.requests import AuthorizedSession
    except ImportError as exc:
        raise missing_sdk("gcp") from exc
    try:
        creds, project = google.auth.default(scopes=[GCP_SCOPE])
    except ax.DefaultCredentialsError as exc:
        raise CredentialError("gcp", exc) from exc
    project = os.environ.get("GOOGLE_CLOUD_PROJECT") or project
    if not project:
        raise InputError(
            "no GCP project: quotas are per project",
            hint="set GOOGLE_CLOUD_PROJECT, or run `gcloud config set project PROJECT`",
        )
    return AuthorizedSession(creds), project


def _gcp_gpu(metric: str) -> str | None:
    """NVIDIA_A100_80GB_GPUS -> A100-80GB; None for other metrics."""
    m = re.fullmatch(r"NVIDIA_(\w+)_GPUS", metric)
    return m.group(1).replace("_", "-") if m else None


def _gcp_rows(region: str, quotas: Iterable[dict[str, Any]]) -> list[QuotaRow]:
    cpus, metrics, out = 0.0, [], []
    for q in quotas:
        metric, limit = str(q.get("metric", "")), float(q.get("limit", 0))
        if metric.startswith(("PREEMPTIBLE_", "COMMITTED_")) or "ALL_REGIONS" in metric:
            continue
        if metric == "CPUS" or metric.endswith("_CPUS"):
            cpus += limit
            metrics.append(metric)
        elif gpu := _gcp_gpu(metric):
            out.append(QuotaRow("gcp", region, f"gpus:{gpu}", int(limit), metric))
    if metrics:
        out.insert(0, QuotaRow("gcp", region, "vcpus", int(cpus), "+".join(sorted(metrics))))
    return out


def fetch_gcp_quotas(
    regions: Sequence[str], session: Any, project: str, progress: Progress
) -> QuotaResult:
    """Each region's CPU and GPU quotas from Compute Engine `regions.list` (every page)."""
    import requests
    from google.auth import exceptions as ax

    wanted, found = set(regions), {}
    url, params = GCP_REGIONS_URL.format(project=project), dict[str, str]()
    try:
        while True:
            resp = session.get(url, params=params, timeout=60)
            _gcp_check(resp)
            page = resp.json()
            for item in page.get("items", []):
                if item.get("name") in wanted:
                    found[item["name"]] = _gcp_rows(item["name"], item.get("quotas", []))
            if not page.get("nextPageToken"):
                break
            params = {"pageToken": page["nextPageToken"]}
    except ax.RefreshError as exc:
        raise CredentialError("gcp", exc) from exc
    except (requests.RequestException, ax.TransportError, ValueError) as exc:
        return QuotaResult("gcp", (), tuple((r, region_error(exc)) for r in regions))
    rows: list[QuotaRow] = []
    failed: list[tuple[str, str]] = []
    for region in regions:
        if region in found:
            rows += found[region]
            progress("gcp", region, _limits(len(found[region])))
        else:
            failed.append((region, "not among the project's regions"))
            progress("gcp", region, "failed: not among the project's regions")
    return QuotaResult("gcp", tuple(rows), tuple(failed))


def _gcp_check(resp: Any) -> None:
    if resp.status_code in (401, 403):
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = resp.text
        raise CredentialError("gcp", message, denied=resp.status_code == 403)
    resp.raise_for_status()


# --- Azure -----------------------------------------------------------------------------------


def fetch_azure_quotas(regions: Sequence[str], compute: Any, progress: Progress) -> QuotaResult:
    """Total regional vCPUs and the GPU series' family vCPU limits from compute usages."""
    from azure.core.exceptions import AzureError

    from skyplan.catalog.refresh.azure import azure_credentials, is_credential_problem

    rows: list[QuotaRow] = []
    failed: list[tuple[str, str]] = []
    with azure_credentials():
        for region in regions:
            try:
                usages = {u.name.value.lower(): int(u.limit) for u in compute.usage.list(region)}
            except AzureError as exc:
                if is_credential_problem(exc):
                    raise
                failed.append((region, region_error(exc)))
                progress("azure", region, f"failed: {region_error(exc)}")
                continue
            found = _azure_rows(region, usages)
            rows += found
            progress("azure", region, _limits(len(found)))
    return QuotaResult("azure", tuple(rows), tuple(failed))


def _azure_rows(region: str, usages: dict[str, int]) -> list[QuotaRow]:
    out = []
    if "cores" in usages:
        out.append(QuotaRow("azure", region, "vcpus", usages["cores"], "cores"))
    gpus: dict[str, tuple[int, list[str]]] = {}
    for s in AZURE_SERIES:
        family = s.quota_family.lower()
        if not s.accelerator or family not in usages:
            continue
        total, names = gpus.get(s.accelerator, (0, []))
        gpus[s.accelerator] = (total + usages[family] // s.vcpus_per_gpu, [*names, s.quota_family])
    for gpu, (limit, names) in sorted(gpus.items()):
        out.append(QuotaRow("azure", region, f"gpus:{gpu}", limit, "+".join(names)))
    return out


def render_quotas(
    existing: Iterable[dict[str, str]], results: Iterable[QuotaResult], known: set[tuple[str, str]]
) -> str:
    """quotas.csv: the new rows of each region read, the old rows of every other region."""
    import csv
    import io

    results = tuple(results)
    fresh = [r for res in results for r in res.rows if (r.cloud, r.region) in known]
    read = {(r.cloud, r.region) for r in fresh}
    rows = [dict(e) for e in existing if (e.get("cloud"), e.get("region")) not in read]
    rows += [
        {"cloud": r.cloud, "region": r.region, "resource": r.resource, "limit": str(r.limit)}
        | {"source": r.source}
        for r in fresh
    ]
    rows.sort(key=lambda r: (r.get("cloud", ""), r.get("region", ""), r.get("resource", "")))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(QUOTA_HEADER)
    writer.writerows([r.get(c, "") for c in QUOTA_HEADER] for r in rows)
    return buf.getvalue()
