"""quotas.csv from Service Quotas (Stubber), Compute regions.list (recorded HTTP), Azure usages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure_fixtures import azure_answer, azure_compute
from botocore.stub import Stubber
from refresh_fixtures import NOW, aws_session, fixture_fetchers

from skyplan.catalog.load import load_catalog
from skyplan.catalog.refresh.model import CredentialError
from skyplan.catalog.refresh.quotas import (
    QuotaResult,
    QuotaRow,
    fetch_aws_quotas,
    fetch_azure_quotas,
    fetch_gcp_quotas,
    render_quotas,
)
from skyplan.catalog.refresh.run import read_quotas, refresh

STANDARD, G, P = "L-1216C47A", "L-DB2E81BA", "L-417A185B"


def _quota(code: str, value: float) -> dict[str, Any]:
    return {
        "Quota": {
            "ServiceCode": "ec2",
            "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:eu-west-1:123456789012:ec2/{code}",
            "QuotaCode": code,
            "QuotaName": "Running On-Demand instances",
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
    }


def _aws_clients(plan: dict[str, list[tuple[str, Any]]]) -> tuple[Any, list[Stubber]]:
    session, clients, stubs = aws_session(), {}, []
    for region, calls in plan.items():
        client = session.client("service-quotas", region_name=region)
        stub = Stubber(client)
        for code, value in calls:
            params = {"ServiceCode": "ec2", "QuotaCode": code}
            if value == "missing":
                stub.add_client_error(
                    "get_service_quota",
                    service_error_code="NoSuchResourceException",
                    expected_params=params,
                )
                stub.add_response("get_aws_default_service_quota", _quota(code, 0.0), params)
            elif value == "error":
                stub.add_client_error(
                    "get_service_quota", service_error_code="ServiceException", http_status_code=500
                )
            elif value == "expired":
                stub.add_client_error(
                    "get_service_quota",
                    service_error_code="ExpiredTokenException",
                    http_status_code=403,
                )
            else:
                stub.add_response("get_service_quota", _quota(code, value), params)
        stub.activate()
        clients[region], stubs = client, [*stubs, stub]
    return clients.__getitem__, stubs


def test_aws_quotas_applied_default_and_failing_region() -> None:
    client_for, stubs = _aws_clients(
        {
            "eu-west-1": [(STANDARD, 64.0), (G, "missing"), (P, 96.0)],
            "us-east-1": [(STANDARD, "error")],
        }
    )
    result = fetch_aws_quotas(("eu-west-1", "us-east-1"), client_for, lambda c, r, m: None)
    for stub in stubs:
        stub.assert_no_pending_responses()
    limits = {r.resource: r.limit for r in result.rows}
    # vCPUs: every class summed; GPUs: the class's vCPUs over the fewest vCPUs per GPU
    assert limits == {
        "vcpus": 160,
        "gpus:T4": 0,
        "gpus:A10G": 0,
        "gpus:V100": 12,
        "gpus:A100": 8,
        "gpus:A100-80GB": 8,
        "gpus:H100": 6,
    }
    assert {r.region for r in result.rows} == {"eu-west-1"}
    assert result.failed[0][0] == "us-east-1" and "ServiceException" in result.failed[0][1]


def test_aws_expired_credentials() -> None:
    client_for, _ = _aws_clients({"eu-west-1": [(STANDARD, "expired")]})
    with pytest.raises(CredentialError):
        fetch_aws_quotas(("eu-west-1",), client_for, lambda c, r, m: None)


class RecordedCompute(requests.adapters.BaseAdapter):
    """Compute Engine regions.list in two pages, or one status for every request."""

    def __init__(self, status: int = 200):
        super().__init__()
        self.status, self.tokens = status, []

    def send(self, request: Any, **kwargs: Any) -> requests.Response:
        token = parse_qs(urlsplit(request.url).query).get("pageToken", [""])[0]
        self.tokens.append(token)
        resp = requests.Response()
        resp.status_code, resp.url, resp.request = self.status, request.url, request
        if self.status != 200:
            body: dict[str, Any] = {
                "error": {
                    "code": self.status,
                    "message": "Request had invalid authentication credentials.",
                }
            }
        elif not token:
            body = {
                "kind": "compute#regionList",
                "items": [_region("europe-west3")],
                "nextPageToken": "p2",
            }
        else:
            body = {"kind": "compute#regionList", "items": [_region("us-central1")]}
        resp._content = json.dumps(body).encode()
        return resp

    def close(self) -> None:
        """Nothing to close."""


def _region(name: str) -> dict[str, Any]:
    quotas = [
        ("CPUS", 24.0),
        ("N2_CPUS", 24.0),
        ("PREEMPTIBLE_CPUS", 0.0),
        ("NVIDIA_T4_GPUS", 4.0),
        ("NVIDIA_A100_80GB_GPUS", 0.0),
        ("PREEMPTIBLE_NVIDIA_T4_GPUS", 8.0),
        ("DISKS_TOTAL_GB", 4096.0),
    ]
    return {
        "kind": "compute#region",
        "name": name,
        "status": "UP",
        "quotas": [{"metric": m, "limit": limit, "usage": 0.0} for m, limit in quotas],
    }


def _gcp_session(status: int = 200) -> tuple[requests.Session, RecordedCompute]:
    session, adapter = requests.Session(), RecordedCompute(status)
    session.mount("https://", adapter)
    return session, adapter


def test_gcp_quotas_every_page_and_metric_names() -> None:
    session, adapter = _gcp_session()
    result = fetch_gcp_quotas(("us-central1", "asia-east1"), session, "proj", lambda c, r, m: None)
    assert adapter.tokens == ["", "p2"]
    assert [(r.region, r.resource, r.limit) for r in result.rows] == [
        ("us-central1", "vcpus", 48),  # CPUS + N2_CPUS: the most the project could run
        ("us-central1", "gpus:T4", 4),
        ("us-central1", "gpus:A100-80GB", 0),
    ]
    assert result.failed == (("asia-east1", "not among the project's regions"),)


def test_gcp_refused_credentials() -> None:
    session, _ = _gcp_session(401)
    with pytest.raises(CredentialError) as info:
        fetch_gcp_quotas(("us-central1",), session, "proj", lambda c, r, m: None)
    assert info.value.message == (
        "no usable GCP credentials: Request had invalid authentication credentials."
    )


def test_azure_usages() -> None:
    result = fetch_azure_quotas(
        ("westeurope",), azure_compute(azure_answer()), lambda c, r, m: None
    )
    assert [(r.resource, r.limit, r.source) for r in result.rows] == [
        ("vcpus", 100, "cores"),
        ("gpus:A100-80GB", 0, "standardNCADSA100v4Family"),
        ("gpus:T4", 4, "standardNCASv3_T4Family"),
    ]


def test_render_merges_with_existing_rows_and_the_solver_reads_it(tmp_path: Path) -> None:
    fetchers = fixture_fetchers()
    done = refresh(
        ("aws",), ("eu-west-1",), tmp_path / "c", lambda *a: None, NOW, fetchers=fetchers
    )
    out = tmp_path / "c"
    out.mkdir()
    for name, text in done.files.items():
        (out / name).write_text(text, encoding="utf-8")
    (out / "quotas.csv").write_text(
        "cloud,region,resource,limit\naws,eu-west-1,vcpus,1\naws,us-east-1,vcpus,5\n",
        encoding="utf-8",
    )

    def aws(regions: tuple[str, ...], progress: Any) -> QuotaResult:
        rows = (
            QuotaRow("aws", "eu-west-1", "vcpus", 32, "x"),
            QuotaRow("aws", "nowhere-1", "vcpus", 1, "x"),
        )
        return QuotaResult("aws", rows)

    found = read_quotas(("aws",), ("eu-west-1",), out, lambda *a: None, fetchers={"aws": aws})
    assert found.text.splitlines() == [
        "cloud,region,resource,limit,source",
        "aws,eu-west-1,vcpus,32,x",  # re-read: replaced
        "aws,us-east-1,vcpus,5,",  # not read this time: kept
    ]
    (out / "quotas.csv").write_text(found.text, encoding="utf-8")
    cat = load_catalog(out)
    assert cat.quota_limits[("aws:eu-west-1", "vcpus")] == 32


def test_render_quotas_drops_regions_the_catalog_lacks() -> None:
    text = render_quotas(
        [], [QuotaResult("gcp", (QuotaRow("gcp", "mars-1", "vcpus", 8, "CPUS"),))], {("gcp", "x")}
    )
    assert text == "cloud,region,resource,limit,source\n"
