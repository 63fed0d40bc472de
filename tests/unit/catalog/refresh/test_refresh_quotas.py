"""quotas.csv from Service Quotas (Stubber), Compute regions.list (recorded HTTP), Azure usages."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from azure_fixtures import azure_answer, azure_compute
from refresh_fixtures import NOW, StubbedAws, fixture_fetchers, queue_regions

from skyplan.catalog.load import EMBEDDED_DIR, load_catalog
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
from skyplan.errors import InputError

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


INVALID_TOKEN = "The security token included in the request is invalid."
EXPIRED_TOKEN = "The security token included in the request is expired"


def _aws(plan: dict[str, list[tuple[str, Any]]], regions: str = "listed") -> StubbedAws:
    """Service Quotas answers per region, after EC2 describe_regions: `listed` (af-south-1 an
    opt-in region not enabled) or `denied` (no ec2:DescribeRegions: every region is tried)."""
    aws = StubbedAws()
    if regions == "listed":
        queue_regions(aws, opted_out=("af-south-1",))
    else:
        aws.ec2_stub("us-east-1").add_client_error(
            "describe_regions",
            service_error_code="UnauthorizedOperation",
            service_message="You are not authorized to perform this operation.",
            http_status_code=403,
        )
    errors = {
        "error": ("ServiceException", "Service is unavailable", 500),
        "expired": (
            "ExpiredTokenException",
            "The security token included in the request is expired",
            403,
        ),
        "unrecognized": ("UnrecognizedClientException", INVALID_TOKEN, 400),
    }
    for region, calls in plan.items():
        stub = aws.stub("service-quotas", region)
        for code, value in calls:
            params = {"ServiceCode": "ec2", "QuotaCode": code}
            if value == "missing":
                stub.add_client_error(
                    "get_service_quota",
                    service_error_code="NoSuchResourceException",
                    expected_params=params,
                )
                stub.add_response("get_aws_default_service_quota", _quota(code, 0.0), params)
            elif value in errors:
                error, message, status = errors[value]
                stub.add_client_error(
                    "get_service_quota",
                    service_error_code=error,
                    service_message=message,
                    http_status_code=status,
                    expected_params=params,
                )
            else:
                stub.add_response("get_service_quota", _quota(code, value), params)
    return aws


def _quiet(cloud: str, region: str, message: str) -> None:
    """A progress sink."""


def test_aws_quotas_applied_default_and_failing_region() -> None:
    aws = _aws(
        {
            "eu-west-1": [(STANDARD, 64.0), (G, "missing"), (P, 96.0)],
            "us-east-1": [(STANDARD, "error")],
        }
    )
    result = fetch_aws_quotas(("eu-west-1", "us-east-1"), aws, _quiet)
    aws.assert_done()
    limits = {r.resource: r.limit for r in result.rows}
    # vCPUs: every class summed; GPUs: the class's vCPUs over the fewest vCPUs per GPU
    assert limits == {
        "vcpus": 160,
        "gpus:T4": 0,
        "gpus:A10G": 0,
        "gpus:L4": 0,
        "gpus:L40S": 0,
        "gpus:V100": 12,
        "gpus:A100": 8,
        "gpus:A100-80GB": 8,
        "gpus:H100": 6,
    }
    assert {r.region for r in result.rows} == {"eu-west-1"}
    assert result.failed[0][0] == "us-east-1" and "ServiceException" in result.failed[0][1]


def test_aws_opt_in_region_not_enabled_is_skipped_not_the_cloud() -> None:
    # every region of regions.csv, af-south-1 first: an opt-in region this account never enabled
    aws = _aws({"eu-west-1": [(STANDARD, 64.0), (G, 8.0), (P, 0.0)]})
    seen: list[tuple[str, str, str]] = []
    result = fetch_aws_quotas(("af-south-1", "eu-west-1"), aws, lambda *e: seen.append(e))
    aws.assert_done()  # af-south-1 was never called
    assert {r.region for r in result.rows} == {"eu-west-1"}
    assert result.skipped == (("af-south-1", "not enabled in this account"),)
    assert result.failed == ()
    assert ("aws", "af-south-1", "skipped: an opt-in region not enabled in this account") in seen


def test_aws_unrecognized_client_in_one_region_fails_only_that_region() -> None:
    # describe_regions is not allowed, so af-south-1 is tried and answers like bad credentials;
    # eu-west-1 then proves the credentials: af-south-1 failed, not the cloud
    aws = _aws(
        {
            "af-south-1": [(STANDARD, "unrecognized")],
            "eu-west-1": [(STANDARD, 64.0), (G, 8.0), (P, 0.0)],
        },
        regions="denied",
    )
    result = fetch_aws_quotas(("af-south-1", "eu-west-1"), aws, _quiet)
    aws.assert_done()
    assert {r.region for r in result.rows} == {"eu-west-1"}
    assert result.failed == (("af-south-1", f"UnrecognizedClientException: {INVALID_TOKEN}"),)


def test_aws_unrecognized_client_everywhere_is_the_credentials() -> None:
    aws = _aws(
        {"af-south-1": [(STANDARD, "unrecognized")], "eu-west-1": [(STANDARD, "unrecognized")]},
        regions="denied",
    )
    with pytest.raises(CredentialError) as info:
        fetch_aws_quotas(("af-south-1", "eu-west-1"), aws, _quiet)
    assert info.value.message.startswith("no usable AWS credentials: ")
    assert "UnrecognizedClientException" in info.value.message


def test_aws_expired_credentials_stop_the_cloud() -> None:
    aws = _aws({"eu-west-1": [(STANDARD, "expired")]})
    with pytest.raises(CredentialError) as info:
        fetch_aws_quotas(("eu-west-1", "us-east-1"), aws, _quiet)
    assert "ExpiredTokenException" in info.value.message


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


def test_quotas_need_a_catalog_folder(tmp_path: Path) -> None:
    def never(regions: tuple[str, ...], progress: Any) -> QuotaResult:
        raise AssertionError("no cloud is asked before the folder is checked")

    with pytest.raises(InputError) as info:
        read_quotas(("aws",), (), tmp_path / "new", _quiet, fetchers={"aws": never})
    assert info.value.message == (
        f"no catalog in {tmp_path / 'new'}: quotas.csv is written beside a catalog's offerings.csv"
    )
    assert "skyplan catalog refresh --cloud CLOUD --out" in (info.value.hint or "")
    assert not (tmp_path / "new").exists()


def test_no_quotas_read_says_quotas(tmp_path: Path) -> None:
    out = tmp_path / "cat"
    shutil.copytree(EMBEDDED_DIR, out)

    def down(regions: tuple[str, ...], progress: Any) -> QuotaResult:
        return QuotaResult("gcp", (), (("europe-west3", "HTTPError: 503"),))

    with pytest.raises(InputError) as info:
        read_quotas(("gcp",), ("europe-west3",), out, _quiet, fetchers={"gcp": down})
    assert info.value.message.splitlines() == [
        f"no region's quotas could be read; nothing was written to {out / 'quotas.csv'}",
        "  gcp:europe-west3: HTTPError: 503",
    ]
