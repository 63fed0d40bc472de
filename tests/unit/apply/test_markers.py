"""Completion markers and logs read through each cloud's own SDK, offline: botocore's Stubber, and
google-cloud-storage and azure-storage-blob over a requests transport that answers like the real
services."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import socket
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import boto3
import botocore.session
import google_crc32c
import pytest
import requests
import urllib3
from azure.core.credentials import AccessToken
from azure.core.pipeline.transport import RequestsTransport
from azure.identity import ChainedTokenCredential, DefaultAzureCredential, EnvironmentCredential
from azure.storage.blob import ContainerClient
from botocore.config import Config
from botocore.credentials import CredentialResolver
from botocore.exceptions import EndpointConnectionError
from botocore.response import StreamingBody
from botocore.stub import Stubber
from google.auth.credentials import AnonymousCredentials
from google.auth.transport.requests import AuthorizedSession
from google.cloud import storage

from skyplan.apply import stores
from skyplan.apply.markers import MarkerReadError, NodeMarker, read_markers, read_text
from skyplan.errors import InputError


def body(node: int, state: str, status: int | None, job: str = "align") -> bytes:
    """A marker exactly as the startup script writes it."""
    shown = "null" if status is None else str(status)
    text = f'{{"job": "{job}", "node": {node}, "exit_status": {shown}, "state": "{state}"}}\n'
    return text.encode()


# Node 0 was preempted and then finished; node 1 failed; node 2 is down again; node 3's marker is
# torn; node 4's upload failed once and succeeded at the next boot; the log is no marker.
OBJECTS = {
    "node-0.interrupted": body(0, "interrupted", 143),
    "node-0.done": body(0, "done", 0),
    "node-0.log": b"line 1\nline 2\nthe end\n",
    "node-1.failed": body(1, "failed", 3),
    "node-2.interrupted": body(2, "interrupted", 143),
    "node-3.done": b'{"job": "align", "no',
    "node-4.failed": body(4, "failed", 1),
    "node-4.done": body(4, "done", 0),
}


def expected(base: str) -> dict[int, NodeMarker]:
    """What read_markers returns for OBJECTS under `base`."""
    return {
        0: NodeMarker(0, "done", 0, base + "node-0.done"),
        1: NodeMarker(1, "failed", 3, base + "node-1.failed"),
        2: NodeMarker(2, "interrupted", 143, base + "node-2.interrupted"),
        3: NodeMarker(3, "failed", None, base + "node-3.done"),
        4: NodeMarker(4, "done", 0, base + "node-4.done"),
    }


# The objects read_markers fetches, in its order: per node, the best-ranked marker.
FETCHED = ["node-0.done", "node-1.failed", "node-2.interrupted", "node-3.done", "node-4.done"]


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test may open a connection: every answer comes from the fakes below."""

    def refuse(self: socket.socket, *args: object) -> None:
        raise OSError("network disabled in unit tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    # google-cloud-storage looks up bucket metadata in a background thread for tracing.
    monkeypatch.setenv("DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA", "true")


class FakeHTTP(requests.adapters.HTTPAdapter):
    """A requests transport that answers from `handler`, as urllib3 responses, never the network."""

    def __init__(self, handler: Callable[[requests.PreparedRequest], tuple[int, dict, bytes]]):
        super().__init__()
        self.handler = handler
        self.seen: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.seen.append(request)
        status, headers, content = self.handler(request)
        raw = urllib3.HTTPResponse(
            body=io.BytesIO(b"" if request.method == "HEAD" else content),
            headers={"Date": formatdate(usegmt=True), **headers},
            status=status,
            preload_content=False,
            decode_content=False,
            request_method=request.method,
        )
        return self.build_response(request, raw)


def session(adapter: FakeHTTP) -> requests.Session:
    """A requests session whose every request goes to `adapter`."""
    http = requests.Session()
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def tail_of(data: bytes, header: str | None) -> tuple[int, bytes, str | None]:
    """Status, bytes and Content-Range for a Range header (`bytes=A-B`, `bytes=A-`, `bytes=-N`)."""
    if header is None:
        return 200, data, None
    first, last = re.fullmatch(r"bytes=(\d*)-(\d*)", header).groups()  # type: ignore[union-attr]
    if not data:
        return 416, b"", f"bytes */{len(data)}"
    start = max(0, len(data) - int(last)) if first == "" else int(first)
    end = len(data) - 1 if first == "" or last == "" else min(int(last), len(data) - 1)
    return 206, data[start : end + 1], f"bytes {start}-{end}/{len(data)}"


# --- file:// --------------------------------------------------------------------------------


def write_objects(folder: Path) -> None:
    folder.mkdir(parents=True)
    for name, data in OBJECTS.items():
        (folder / name).write_bytes(data)


def test_file_markers_relative_to_the_stack_folder(tmp_path: Path) -> None:
    write_objects(tmp_path / ".skyplan/buckets/local/_skyplan/align")
    (tmp_path / ".skyplan/buckets/local/_skyplan/align/node-9.done").mkdir()  # not a file
    base = "file://.skyplan/buckets/local/_skyplan/align/"
    assert read_markers(base, tmp_path) == expected(base)
    assert read_markers(base.rstrip("/"), tmp_path) == expected(base)


def test_file_markers_of_a_job_not_started_are_none(tmp_path: Path) -> None:
    assert read_markers("file://nowhere/", tmp_path) == {}


def test_file_absolute_path_and_log_tail(tmp_path: Path) -> None:
    write_objects(tmp_path / "runs")
    base = f"file://{tmp_path}/runs/"
    assert read_markers(base)[1] == NodeMarker(1, "failed", 3, base + "node-1.failed")
    assert read_text(base + "node-0.log") == "line 1\nline 2\nthe end\n"
    assert read_text(base + "node-0.log", limit=8) == "the end\n"
    assert read_text(base + "node-7.log") is None


def test_marker_bodies_that_are_not_objects_count_as_failed(tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "node-0.done").write_bytes(b"[0]")
    (folder / "node-1.done").write_bytes(b"\xff\xfe")
    (folder / "node-2.done").write_bytes(b'{"exit_status": "zero"}')
    found = read_markers("file://runs/", tmp_path)
    assert [(m.state, m.exit_status) for m in found.values()] == [
        ("failed", None),
        ("failed", None),
        ("done", None),
    ]


def test_unsupported_uris_are_input_errors(tmp_path: Path) -> None:
    for uri in ("http://x/y/", "s3:///prefix/", "az://account/", "runs/"):
        with pytest.raises(InputError) as caught:
            read_markers(uri, tmp_path)
        assert "unsupported storage URI" in caught.value.message
        assert "s3://BUCKET/prefix/" in (caught.value.hint or "")
    with pytest.raises(InputError) as caught:
        read_text("s3://bucket", tmp_path)
    assert "names no object" in caught.value.message


# --- S3 (boto3 + botocore.stub.Stubber) -------------------------------------------------------

BUCKET = "skyplan-genomics-eu-west-1"
PREFIX = "_skyplan/align/"
S3_BASE = f"s3://{BUCKET}/{PREFIX}"
MODIFIED = datetime(2025, 7, 1, 10, 0, tzinfo=UTC)


def s3(region: str = "eu-west-1") -> Any:
    """A real boto3 S3 client with dummy keys and no retries."""
    return boto3.session.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ).client("s3", region_name=region, config=Config(retries={"total_max_attempts": 1}))


def s3_page(keys: list[str], token: str | None, next_token: str | None) -> dict[str, Any]:
    """One page of ListObjectsV2 as botocore parses it."""
    page: dict[str, Any] = {
        "IsTruncated": next_token is not None,
        "Contents": [
            {
                "Key": PREFIX + key,
                "LastModified": MODIFIED,
                "ETag": f'"{hashlib.md5(OBJECTS[key]).hexdigest()}"',
                "ChecksumAlgorithm": ["CRC64NVME"],
                "ChecksumType": "FULL_OBJECT",
                "Size": len(OBJECTS[key]),
                "StorageClass": "STANDARD",
            }
            for key in keys
        ],
        "Name": BUCKET,
        "Prefix": PREFIX,
        "Delimiter": "/",
        "MaxKeys": 1000,
        "EncodingType": "url",
        "KeyCount": len(keys),
    }
    if token:
        page["ContinuationToken"] = token
    if next_token:
        page["NextContinuationToken"] = next_token
    return page


def s3_object(data: bytes, content_range: str | None = None) -> dict[str, Any]:
    """A GetObject response with its streaming body."""
    response = {
        "Body": StreamingBody(io.BytesIO(data), len(data)),
        "ContentLength": len(data),
        "ContentType": "application/json",
        "ETag": f'"{hashlib.md5(data).hexdigest()}"',
        "LastModified": MODIFIED,
        "AcceptRanges": "bytes",
    }
    if content_range:
        response["ContentRange"] = content_range
    return response


def stub_listing(stub: Stubber) -> None:
    """Two pages of listing, the second after a continuation token."""
    names = list(OBJECTS)
    listing = {"Bucket": BUCKET, "Prefix": PREFIX, "Delimiter": "/"}
    stub.add_response(
        "list_objects_v2", s3_page(names[:4], None, "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J"), listing
    )
    stub.add_response(
        "list_objects_v2",
        s3_page(names[4:], "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J", None),
        {**listing, "ContinuationToken": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J"},
    )


def test_s3_markers_over_a_paginated_listing() -> None:
    client = s3()
    with Stubber(client) as stub:
        stub_listing(stub)
        for name in FETCHED:
            stub.add_response(
                "get_object", s3_object(OBJECTS[name]), {"Bucket": BUCKET, "Key": PREFIX + name}
            )
        found = read_markers(S3_BASE, client=client)
        stub.assert_no_pending_responses()
    assert found == expected(S3_BASE)


def test_s3_client_follows_the_bucket_region(monkeypatch: pytest.MonkeyPatch) -> None:
    probe, regional = s3("us-east-1"), s3("eu-west-1")
    made: list[str | None] = []

    def factory(region: str | None) -> Any:
        made.append(region)
        return probe if region is None else regional

    monkeypatch.setattr(stores, "_s3_client", factory)
    with Stubber(probe) as probe_stub, Stubber(regional) as stub:
        probe_stub.add_response(
            "get_bucket_location", {"LocationConstraint": "eu-west-1"}, {"Bucket": BUCKET}
        )
        stub.add_response("list_objects_v2", s3_page(["node-1.failed"], None, None))
        stub.add_response("get_object", s3_object(OBJECTS["node-1.failed"]))
        found = read_markers(S3_BASE)
    assert made == [None, "eu-west-1"]
    assert found == {1: NodeMarker(1, "failed", 3, S3_BASE + "node-1.failed")}


def test_s3_region_given_skips_the_location_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    client, made = s3("eu-west-1"), []
    monkeypatch.setattr(stores, "_s3_client", lambda region: made.append(region) or client)
    with Stubber(client) as stub:
        stub.add_response("list_objects_v2", s3_page([], None, None))
        assert read_markers(S3_BASE, region="eu-west-1") == {}
    assert made == ["eu-west-1"]


def test_s3_us_east_1_and_legacy_eu_locations() -> None:
    client = s3("us-east-1")
    with Stubber(client) as stub:
        stub.add_response("get_bucket_location", {})
        stub.add_response("get_bucket_location", {"LocationConstraint": "EU"})
        stub.add_client_error("get_bucket_location", "AccessDenied", "Access Denied", 403)
        assert stores._bucket_region(client, BUCKET) == "us-east-1"
        assert stores._bucket_region(client, BUCKET) == "eu-west-1"
        assert stores._bucket_region(client, BUCKET) is None


def test_s3_default_client_uses_the_standard_chain() -> None:
    assert stores._s3_client("ap-south-1").meta.region_name == "ap-south-1"


def test_s3_without_credentials_says_how_to_configure_them() -> None:
    botocore_session = botocore.session.Session()
    botocore_session.register_component("credential_provider", CredentialResolver(providers=[]))
    client = boto3.session.Session(botocore_session=botocore_session).client(
        "s3", region_name="eu-west-1"
    )
    with pytest.raises(InputError) as caught:
        read_markers(S3_BASE, client=client)
    assert caught.value.exit_code == 2
    assert "AWS credentials" in caught.value.message
    assert "aws configure" in (caught.value.hint or "")
    assert "AWS_PROFILE" in (caught.value.hint or "")


def test_s3_access_denied_names_the_uri() -> None:
    client = s3()
    with Stubber(client) as stub:
        stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403)
        with pytest.raises(InputError) as caught:
            read_markers(S3_BASE, client=client)
    assert caught.value.message == f"access denied reading {S3_BASE} (AWS)"
    assert "s3:ListBucket" in (caught.value.hint or "")


def test_s3_missing_bucket_is_an_input_error() -> None:
    client = s3()
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_objects_v2", "NoSuchBucket", "The specified bucket does not exist", 404
        )
        with pytest.raises(InputError) as caught:
            read_markers(S3_BASE, client=client)
    assert S3_BASE in caught.value.message


def test_s3_throttling_and_network_errors_may_be_retried() -> None:
    client = s3()
    with Stubber(client) as stub:
        stub.add_client_error(
            "list_objects_v2", "SlowDown", "Please reduce your request rate.", 503
        )
        with pytest.raises(MarkerReadError) as caught:
            read_markers(S3_BASE, client=client)
    assert S3_BASE in caught.value.message

    def unreachable(**kwargs: Any) -> None:
        raise EndpointConnectionError(endpoint_url=f"https://{BUCKET}.s3.eu-west-1.amazonaws.com/")

    client = s3()
    client.meta.events.register("before-send.s3.ListObjectsV2", unreachable)
    with pytest.raises(MarkerReadError) as caught:
        read_markers(S3_BASE, client=client)
    assert "Could not connect to the endpoint URL" in caught.value.message


def test_s3_log_tail() -> None:
    client = s3()
    log, key = OBJECTS["node-0.log"], PREFIX + "node-0.log"
    with Stubber(client) as stub:
        ranged = {"Bucket": BUCKET, "Key": key, "Range": "bytes=-8"}
        stub.add_response("get_object", s3_object(log[-8:], f"bytes 15-22/{len(log)}"), ranged)
        stub.add_client_error("get_object", "NoSuchKey", "The specified key does not exist.", 404)
        stub.add_client_error(
            "get_object", "InvalidRange", "The requested range is not satisfiable", 416
        )
        assert read_text(S3_BASE + "node-0.log", limit=8, client=client) == "the end\n"
        assert read_text(S3_BASE + "node-7.log", client=client) is None
        assert read_text(S3_BASE + "empty.log", client=client) == ""


# --- GCS (google-cloud-storage over a fake requests transport) --------------------------------

GCS_BUCKET = "skyplan-genomics-europe-west4"
GCS_BASE = f"gs://{GCS_BUCKET}/{PREFIX}"


def gcs_resource(name: str, data: bytes) -> dict[str, Any]:
    """An object resource as the JSON API returns it."""
    crc = base64.b64encode(google_crc32c.Checksum(data).digest()).decode()
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    quoted = quote(name, safe="")
    return {
        "kind": "storage#object",
        "id": f"{GCS_BUCKET}/{name}/1751364000000000",
        "selfLink": f"https://www.googleapis.com/storage/v1/b/{GCS_BUCKET}/o/{quoted}",
        "mediaLink": f"https://storage.googleapis.com/download/storage/v1/b/{GCS_BUCKET}/o/"
        f"{quoted}?generation=1751364000000000&alt=media",
        "name": name,
        "bucket": GCS_BUCKET,
        "generation": "1751364000000000",
        "metageneration": "1",
        "contentType": "application/json",
        "storageClass": "STANDARD",
        "size": str(len(data)),
        "md5Hash": md5,
        "crc32c": crc,
        "etag": "CIDw7d7Cz4YDEAE=",
        "timeCreated": "2025-07-01T10:00:00.000Z",
        "updated": "2025-07-01T10:00:00.000Z",
        "timeStorageClassUpdated": "2025-07-01T10:00:00.000Z",
    }


class GCSServer:
    """The JSON API's objects.list (paged) and media downloads for one bucket."""

    def __init__(self, objects: dict[str, bytes], page: int = 3):
        self.objects, self.page = objects, page

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        url = urlsplit(request.url or "")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == f"/storage/v1/b/{GCS_BUCKET}/o" and request.method == "GET":
            return self.list(query)
        media = re.fullmatch(rf"/download/storage/v1/b/{GCS_BUCKET}/o/([^/]+)", url.path)
        if media and query.get("alt") == "media" and unquote(media[1]) in self.objects:
            data = self.objects[unquote(media[1])]
            status, content, content_range = tail_of(data, request.headers.get("range"))
            crc = base64.b64encode(google_crc32c.Checksum(data).digest()).decode()
            md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
            headers = {
                "Content-Type": "application/json",
                "Content-Length": str(len(content)),
                "X-Goog-Generation": "1751364000000000",
                "X-Goog-Metageneration": "1",
                "X-Goog-Stored-Content-Encoding": "identity",
                "X-Goog-Stored-Content-Length": str(len(data)),
                "X-Goog-Hash": f"crc32c={crc},md5={md5}",
                "X-Goog-Storage-Class": "STANDARD",
                "Accept-Ranges": "bytes",
                "ETag": "CIDw7d7Cz4YDEAE=",
            }
            if content_range:
                headers["Content-Range"] = content_range
            return status, headers, content
        if media:
            name = unquote(media[1])
            return (
                404,
                {"Content-Type": "text/html; charset=UTF-8"},
                f"No such object: {GCS_BUCKET}/{name}".encode(),
            )
        return gcs_error(404, "The specified bucket does not exist.", "notFound")

    def list(self, query: dict[str, str]) -> tuple[int, dict, bytes]:
        prefix, start = query.get("prefix", ""), int(query.get("pageToken", "0"))
        names = sorted(
            n for n in self.objects if n.startswith(prefix) and "/" not in n[len(prefix) :]
        )
        page: dict[str, Any] = {
            "kind": "storage#objects",
            "items": [gcs_resource(n, self.objects[n]) for n in names[start : start + self.page]],
        }
        if start + self.page < len(names):
            page["nextPageToken"] = str(start + self.page)
        return 200, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(page).encode()


def gcs_error(code: int, message: str, reason: str) -> tuple[int, dict, bytes]:
    """An error response of the JSON API."""
    error = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
        }
    }
    return code, {"Content-Type": "application/json; charset=UTF-8"}, json.dumps(error).encode()


def gcs(
    handler: Callable[[requests.PreparedRequest], tuple[int, dict, bytes]],
) -> tuple[Any, FakeHTTP]:
    """A real storage client, anonymous, whose HTTP goes to `handler`."""
    adapter = FakeHTTP(handler)
    http = AuthorizedSession(AnonymousCredentials())  # the session type the client makes itself
    http.mount("https://", adapter)
    client = storage.Client(project="acme-genomics", credentials=AnonymousCredentials(), _http=http)
    return client, adapter


def gcs_objects() -> dict[str, bytes]:
    return {PREFIX + name: data for name, data in OBJECTS.items()} | {
        PREFIX + "nested/node-5.done": body(5, "done", 0)
    }


def test_gcs_markers_over_a_paginated_listing() -> None:
    client, adapter = gcs(GCSServer(gcs_objects()))
    assert read_markers(GCS_BASE, client=client) == expected(GCS_BASE)
    lists = [r for r in adapter.seen if urlsplit(r.url or "").path.endswith("/o")]
    assert len(lists) == 3  # 8 objects, 3 a page
    assert "pageToken=3" in (lists[1].url or "")
    assert "delimiter=%2F" in (lists[0].url or "") and "prefix=_skyplan%2Falign%2F" in (
        lists[0].url or ""
    )
    downloads = [unquote(urlsplit(r.url or "").path.rsplit("/", 1)[1]) for r in adapter.seen[3:]]
    assert downloads == [PREFIX + name for name in FETCHED]


def test_gcs_log_tail() -> None:
    client, adapter = gcs(GCSServer(gcs_objects() | {PREFIX + "empty.log": b""}))
    assert read_text(GCS_BASE + "node-0.log", limit=8, client=client) == "the end\n"
    assert adapter.seen[-1].headers["range"] == "bytes=-8"
    assert (
        read_text(GCS_BASE + "node-0.log", limit=1000, client=client)
        == OBJECTS["node-0.log"].decode()
    )
    assert read_text(GCS_BASE + "node-7.log", client=client) is None
    assert read_text(GCS_BASE + "empty.log", client=client) == ""


def test_gcs_access_denied_names_the_uri() -> None:
    message = (
        "ci@acme.iam.gserviceaccount.com does not have storage.objects.list access to the Google "
        "Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may "
        "not exist)."
    )
    client, _ = gcs(lambda request: gcs_error(403, message, "forbidden"))
    with pytest.raises(InputError) as caught:
        read_markers(GCS_BASE, client=client)
    assert caught.value.message == f"access denied reading {GCS_BASE} (GCP)"
    assert "roles/storage.objectViewer" in (caught.value.hint or "")


def test_gcs_missing_bucket_is_an_input_error() -> None:
    client, _ = gcs(
        lambda request: gcs_error(404, "The specified bucket does not exist.", "notFound")
    )
    with pytest.raises(InputError) as caught:
        read_markers(GCS_BASE, client=client)
    assert GCS_BASE in caught.value.message


def test_gcs_network_errors_may_be_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stores, "_GCS_RETRY_SECONDS", 0.0)

    def unreachable(request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        raise requests.exceptions.ConnectionError("Connection refused")

    client, _ = gcs(unreachable)
    with pytest.raises(MarkerReadError) as caught:
        read_markers(GCS_BASE, client=client)
    assert "Connection refused" in caught.value.message
    client, _ = gcs(lambda request: gcs_error(503, "Backend Error", "backendError"))
    with pytest.raises(MarkerReadError):
        read_markers(GCS_BASE, client=client)


def test_gcs_without_credentials_says_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from google.auth.compute_engine import _metadata

    for name in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCE_METADATA_HOST"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))  # no gcloud application-default login
    monkeypatch.setattr(_metadata, "_NO_GCE_CHECK", True)  # what NO_GCE_CHECK=true sets at import
    with pytest.raises(InputError) as caught:
        read_markers(GCS_BASE)
    assert "GCP credentials" in caught.value.message
    assert "gcloud auth application-default login" in (caught.value.hint or "")


# --- Azure Blob (azure-storage-blob over azure-core's RequestsTransport) ---------------------

ACCOUNT, CONTAINER = "skyplangenomics3f9a2c", "skyplan"
AZ_BASE = f"az://{ACCOUNT}/{CONTAINER}/{PREFIX}"
LAST_MODIFIED = "Tue, 01 Jul 2025 10:00:00 GMT"


class StaticToken:
    """A token credential that needs no sign-in."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.test", int(time.time()) + 3600)


def azure_error(status: int, code: str, message: str) -> tuple[int, dict, bytes]:
    """A Blob service error: the code in a header and in the XML body."""
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{message}\n'
        "RequestId:5e1d7a6b-401e-0045-3a5c-1f2e00000000\nTime:2025-07-01T10:00:00.0000000Z"
        "</Message></Error>"
    )
    headers = {
        "Content-Type": "application/xml",
        "x-ms-error-code": code,
        "x-ms-request-id": "5e1d7a6b-401e-0045-3a5c-1f2e00000000",
        "x-ms-version": "2025-11-05",
    }
    return status, headers, xml.encode()


def azure_blob_xml(name: str, data: bytes) -> str:
    md5 = base64.b64encode(hashlib.md5(data).digest()).decode()
    return (
        f"<Blob><Name>{name}</Name><Properties><Creation-Time>{LAST_MODIFIED}</Creation-Time>"
        f"<Last-Modified>{LAST_MODIFIED}</Last-Modified><Etag>0x8DDB8A1C2D3E4F5</Etag>"
        f"<Content-Length>{len(data)}</Content-Length><Content-Type>application/json</Content-Type>"
        f"<Content-Encoding /><Content-Language /><Content-CRC64 /><Content-MD5>{md5}</Content-MD5>"
        "<Cache-Control /><Content-Disposition /><BlobType>BlockBlob</BlobType>"
        "<AccessTier>Hot</AccessTier><AccessTierInferred>true</AccessTierInferred>"
        "<LeaseStatus>unlocked</LeaseStatus><LeaseState>available</LeaseState>"
        "<ServerEncrypted>true</ServerEncrypted></Properties><OrMetadata /></Blob>"
    )


class AzureServer:
    """The Blob service's List Blobs (paged by NextMarker), Get Blob Properties and Get Blob."""

    def __init__(self, blobs: dict[str, bytes], page: int = 3):
        self.blobs, self.page = blobs, page

    def __call__(self, request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        url = urlsplit(request.url or "")
        assert url.netloc == f"{ACCOUNT}.blob.core.windows.net"
        assert request.headers["Authorization"].startswith("Bearer ")
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == f"/{CONTAINER}" and query.get("comp") == "list":
            return self.list(query)
        name = unquote(url.path[len(CONTAINER) + 2 :])
        if name not in self.blobs:
            return azure_error(404, "BlobNotFound", "The specified blob does not exist.")
        data = self.blobs[name]
        headers = {
            "Content-Type": "application/json",
            "Last-Modified": LAST_MODIFIED,
            "ETag": '"0x8DDB8A1C2D3E4F5"',
            "Accept-Ranges": "bytes",
            "x-ms-blob-type": "BlockBlob",
            "x-ms-creation-time": LAST_MODIFIED,
            "x-ms-lease-state": "available",
            "x-ms-lease-status": "unlocked",
            "x-ms-server-encrypted": "true",
            "x-ms-request-id": "5e1d7a6b-401e-0045-3a5c-1f2e00000001",
            "x-ms-version": "2025-11-05",
        }
        if request.method == "HEAD":
            return 200, {**headers, "Content-Length": str(len(data))}, b""
        status, content, content_range = tail_of(data, request.headers.get("x-ms-range"))
        if status == 416:
            return azure_error(
                416,
                "InvalidRange",
                "The range specified is invalid for the current size of the resource.",
            )
        if content_range:
            headers["Content-Range"] = content_range
        return status, {**headers, "Content-Length": str(len(content))}, content

    def list(self, query: dict[str, str]) -> tuple[int, dict, bytes]:
        prefix, marker = query.get("prefix", ""), query.get("marker", "")
        names = sorted(n for n in self.blobs if n.startswith(prefix) and n > marker)
        shown, rest = names[: self.page], names[self.page :]
        xml = (
            '<?xml version="1.0" encoding="utf-8"?><EnumerationResults '
            f'ServiceEndpoint="https://{ACCOUNT}.blob.core.windows.net/" '
            f'ContainerName="{CONTAINER}">'
            f"<Prefix>{prefix}</Prefix>"
            + (f"<Marker>{marker}</Marker>" if marker else "")
            + "<Blobs>"
            + "".join(azure_blob_xml(n, self.blobs[n]) for n in shown)
            + "</Blobs>"
            + (f"<NextMarker>{shown[-1]}</NextMarker>" if rest else "<NextMarker />")
            + "</EnumerationResults>"
        )
        headers = {
            "Content-Type": "application/xml",
            "x-ms-request-id": "5e1d7a6b-401e-0045-3a5c-1f2e00000002",
            "x-ms-version": "2025-11-05",
        }
        return 200, headers, xml.encode()


def azure(
    handler: Callable[[requests.PreparedRequest], tuple[int, dict, bytes]], credential: Any = None
) -> tuple[ContainerClient, FakeHTTP]:
    """A real ContainerClient whose requests go to `handler`, without retries."""
    adapter = FakeHTTP(handler)
    client = ContainerClient(
        f"https://{ACCOUNT}.blob.core.windows.net",
        CONTAINER,
        credential=credential or StaticToken(),
        transport=RequestsTransport(session=session(adapter), session_owner=False),
        retry_total=0,
    )
    return client, adapter


def test_azure_markers_over_a_paginated_listing() -> None:
    client, adapter = azure(AzureServer(gcs_objects()))
    assert read_markers(AZ_BASE, client=client) == expected(AZ_BASE)
    lists = [r for r in adapter.seen if "comp=list" in (r.url or "")]
    assert len(lists) == 3
    assert "marker=" in (lists[1].url or "")


def test_azure_log_tail() -> None:
    client, _ = azure(AzureServer(gcs_objects() | {PREFIX + "empty.log": b""}))
    assert read_text(AZ_BASE + "node-0.log", limit=8, client=client) == "the end\n"
    assert read_text(AZ_BASE + "node-0.log", client=client) == OBJECTS["node-0.log"].decode()
    assert read_text(AZ_BASE + "node-7.log", client=client) is None
    assert read_text(AZ_BASE + "empty.log", client=client) == ""


def test_azure_without_credentials_says_how_to_configure_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_CLIENT_CERTIFICATE_PATH",
        "AZURE_USERNAME",
    ):
        monkeypatch.delenv(name, raising=False)
    for credential in (EnvironmentCredential(), ChainedTokenCredential(EnvironmentCredential())):
        client, adapter = azure(AzureServer({}), credential)
        with pytest.raises(InputError) as caught:
            read_markers(AZ_BASE, client=client)
        assert "Azure credentials" in caught.value.message
        assert "az login" in (caught.value.hint or "")
        assert adapter.seen == []


def test_azure_default_client_uses_default_credential() -> None:
    client = stores._azure_container(ACCOUNT, CONTAINER)
    assert client.url == f"https://{ACCOUNT}.blob.core.windows.net/{CONTAINER}"
    assert isinstance(client.credential, DefaultAzureCredential)


def test_azure_access_denied_names_the_uri() -> None:
    message = "This request is not authorized to perform this operation using this permission."
    client, _ = azure(lambda request: azure_error(403, "AuthorizationPermissionMismatch", message))
    with pytest.raises(InputError) as caught:
        read_markers(AZ_BASE, client=client)
    assert caught.value.message == f"access denied reading {AZ_BASE} (Azure)"
    assert "operator_principal_ids" in (caught.value.hint or "")


def test_azure_missing_container_is_an_input_error() -> None:
    client, _ = azure(
        lambda request: azure_error(
            404, "ContainerNotFound", "The specified container does not exist."
        )
    )
    with pytest.raises(InputError) as caught:
        read_markers(AZ_BASE, client=client)
    assert AZ_BASE in caught.value.message


def test_azure_network_and_server_errors_may_be_retried() -> None:
    def unreachable(request: requests.PreparedRequest) -> tuple[int, dict, bytes]:
        raise requests.exceptions.ConnectionError("Name or service not known")

    client, _ = azure(unreachable)
    with pytest.raises(MarkerReadError) as caught:
        read_markers(AZ_BASE, client=client)
    assert AZ_BASE in caught.value.message
    busy = "The server is currently unable to receive requests. Please retry your request."
    client, _ = azure(lambda request: azure_error(503, "ServerBusy", busy))
    with pytest.raises(MarkerReadError):
        read_markers(AZ_BASE, client=client)


# --- SDKs not installed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("module", "uri", "extra"),
    [
        ("botocore", S3_BASE, "aws"),
        ("google.cloud.storage", GCS_BASE, "gcp"),
        ("azure.identity", AZ_BASE, "azure"),
    ],
)
def test_missing_sdk_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, uri: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # import now raises ImportError
    with pytest.raises(InputError) as caught:
        read_markers(uri)
    assert caught.value.hint == f"pip install 'skyplan[{extra}]'"
