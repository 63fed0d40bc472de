"""The clouds' object stores behind markers.py: S3, GCS and Azure Blob, through their SDKs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from skyplan.apply.markers import MarkerReadError
from skyplan.errors import InputError

_GCS_RETRY_SECONDS = 30.0  # the SDK's own retry budget; the caller retries MarkerReadError
_CREDENTIALS = {
    "AWS": "run `aws configure` (or `aws sso login`), or set AWS_PROFILE to a profile that has "
    "credentials",
    "GCP": "run `gcloud auth application-default login`, or set GOOGLE_APPLICATION_CREDENTIALS "
    "to a service account key file",
    "Azure": "run `az login`, or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
}
_READ_ACCESS = {
    "AWS": "grant your identity s3:ListBucket on the bucket and s3:GetObject on the prefix",
    "GCP": "grant your identity roles/storage.objectViewer on the bucket",
    "Azure": "add your principal to operator_principal_ids (Storage Blob Data Contributor) and "
    "your IP to storage_allowed_ip_ranges, then apply again",
}


def _missing_sdk(cloud: str, extra: str, package: str) -> InputError:
    """The error for a cloud whose SDK is not installed."""
    return InputError(
        f"reading {cloud} storage needs {package}, which is not installed",
        hint=f"pip install 'skyplan[{extra}]'",
    )


def _no_credentials(cloud: str, uri: str, detail: object) -> InputError:
    """The error for a cloud whose credential chain found nothing usable."""
    return InputError(
        f"no usable {cloud} credentials to read {uri}: {detail}", hint=_CREDENTIALS[cloud]
    )


def _denied(cloud: str, uri: str) -> InputError:
    """The error for a store that refused to let us read."""
    return InputError(f"access denied reading {uri} ({cloud})", hint=_READ_ACCESS[cloud])


def _transient(cloud: str, uri: str, detail: object) -> MarkerReadError:
    """The retryable error for a store that could not be reached."""
    return MarkerReadError(
        f"could not read {uri} from {cloud} storage: {detail}", hint="check the network; retry"
    )


def _first_line(exc: BaseException) -> str:
    """An SDK's message without the request ids, traces and links that follow it."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


_AWS_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken"}
_AWS_CREDENTIAL_CODES |= {"InvalidToken", "TokenRefreshRequired"}
_AWS_TRANSIENT_CODES = {"SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout"}


@contextmanager
def _aws_errors(uri: str) -> Iterator[None]:
    """Translate botocore's exceptions into skyplan's."""
    try:
        from botocore import exceptions as bx  # type: ignore[import-untyped]
    except ImportError as exc:
        raise _missing_sdk("AWS", "aws", "boto3") from exc
    no_credentials = (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.ProfileNotFound,
        bx.CredentialRetrievalError,
        bx.TokenRetrievalError,
    )
    try:
        yield
    except no_credentials as exc:
        raise _no_credentials("AWS", uri, exc) from exc
    except bx.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        if code in ("AccessDenied", "AllAccessDisabled", "403"):
            raise _denied("AWS", uri) from exc
        if code in _AWS_CREDENTIAL_CODES:
            raise _no_credentials("AWS", uri, exc) from exc
        if code in _AWS_TRANSIENT_CODES or status >= 500 or status == 429:
            raise _transient("AWS", uri, exc) from exc
        if code == "NoSuchBucket":
            raise InputError(f"bucket of {uri} does not exist", hint="apply the stack") from exc
        raise InputError(f"cannot read {uri}: {exc}") from exc
    except (bx.ConnectionError, bx.HTTPClientError, bx.IncompleteReadError) as exc:
        raise _transient("AWS", uri, exc) from exc


def _s3_client(region: str | None) -> Any:
    """An S3 client for `region` (None: the configured default) from the standard chain."""
    import boto3  # type: ignore[import-untyped]

    return boto3.session.Session().client("s3", region_name=region)


def _bucket_region(client: Any, bucket: str) -> str | None:
    """The bucket's region, or None when we may not ask (botocore then follows redirects)."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        location = client.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "AccessDenied":
            return None
        raise
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(location, location)


@dataclass(frozen=True)
class S3Store:
    """A prefix of an S3 bucket, read with boto3."""

    uri: str
    bucket: str
    prefix: str
    client: Any

    @classmethod
    def open(cls, uri: str, bucket: str, prefix: str, region: str | None, client: Any) -> S3Store:
        """The store with `client`, or one for `region`, or for the bucket's own region."""
        with _aws_errors(uri):
            if client is None:
                client = _s3_client(region)
                if region is None:
                    found = _bucket_region(client, bucket)
                    if found and found != client.meta.region_name:
                        client = _s3_client(found)
        return cls(uri, bucket, prefix, client)

    def names(self) -> Iterator[str]:
        """Object names directly under the prefix, every page of the listing."""
        with _aws_errors(self.uri):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix, Delimiter="/"
            )
            keys = [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        return (key[len(self.prefix) :] for key in keys)

    def read(self, name: str, tail: int | None) -> bytes | None:
        """The object's bytes (the last `tail` of them), or None when it does not exist."""
        args = {"Bucket": self.bucket, "Key": self.prefix + name}
        if tail is not None:
            args["Range"] = f"bytes=-{tail}"
        with _aws_errors(self.uri + name):
            try:
                return bytes(self.client.get_object(**args)["Body"].read())
            except self.client.exceptions.NoSuchKey:
                return None
            except self.client.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") == "InvalidRange":
                    return b""  # an empty object has no last bytes to range over
                raise


@contextmanager
def _gcp_errors(uri: str) -> Iterator[None]:
    """Translate google-cloud-storage's and google-auth's exceptions into skyplan's."""
    try:
        import google.cloud.storage  # type: ignore[import-untyped]  # noqa: F401
        import requests
        from google.api_core import exceptions as gx
        from google.auth import exceptions as ax
    except ImportError as exc:
        raise _missing_sdk("GCP", "gcp", "google-cloud-storage") from exc
    try:
        from google.cloud.storage.exceptions import DataCorruption  # type: ignore[import-untyped]
    except ImportError:  # google-cloud-storage 2.x
        from google.resumable_media import DataCorruption
    transient = (
        gx.ServerError,
        gx.TooManyRequests,
        gx.RetryError,
        ax.TransportError,
        requests.ConnectionError,
        requests.Timeout,
        DataCorruption,
    )
    try:
        yield
    except ax.DefaultCredentialsError as exc:
        raise _no_credentials("GCP", uri, exc) from exc
    except ax.RefreshError as exc:
        if getattr(exc, "retryable", False):  # a token endpoint that did not answer
            raise _transient("GCP", uri, exc) from exc
        raise _no_credentials("GCP", uri, exc) from exc
    except gx.Unauthorized as exc:
        raise _no_credentials("GCP", uri, exc.message) from exc
    except gx.Forbidden as exc:
        raise _denied("GCP", uri) from exc
    except gx.NotFound as exc:
        raise InputError(f"bucket of {uri} does not exist", hint="apply the stack") from exc
    except transient as exc:
        raise _transient("GCP", uri, exc) from exc
    except gx.GoogleAPICallError as exc:
        raise InputError(f"cannot read {uri}: {exc.message}") from exc


def _gcs_client() -> Any:
    """A storage client from Application Default Credentials (no project needed to read)."""
    from google.cloud import storage

    return storage.Client(project=None)


def _gcs_retry() -> Any:
    """The SDK's default retry policy, bounded so a poll does not hang for minutes."""
    from google.cloud.storage.retry import DEFAULT_RETRY  # type: ignore[import-untyped]

    return DEFAULT_RETRY.with_deadline(_GCS_RETRY_SECONDS)  # with_timeout needs api-core 2.17


@dataclass(frozen=True)
class GCSStore:
    """A prefix of a Cloud Storage bucket, read with google-cloud-storage."""

    uri: str
    bucket: str
    prefix: str
    client: Any

    @classmethod
    def open(cls, uri: str, bucket: str, prefix: str, region: str | None, client: Any) -> GCSStore:
        """The store with `client`, or with a client from the standard chain."""
        with _gcp_errors(uri):
            return cls(uri, bucket, prefix, client if client is not None else _gcs_client())

    def names(self) -> Iterator[str]:
        """Object names directly under the prefix, every page of the listing."""
        with _gcp_errors(self.uri):
            blobs = self.client.list_blobs(
                self.bucket, prefix=self.prefix, delimiter="/", retry=_gcs_retry()
            )
            names = [blob.name for blob in blobs]
        return (name[len(self.prefix) :] for name in names)

    def read(self, name: str, tail: int | None) -> bytes | None:
        """The object's bytes (the last `tail` of them), or None when it does not exist."""
        from google.api_core import exceptions as gx

        blob = self.client.bucket(self.bucket).blob(self.prefix + name)
        with _gcp_errors(self.uri + name):
            try:
                start = -tail if tail is not None else None
                return bytes(blob.download_as_bytes(start=start, retry=_gcs_retry()))
            except gx.NotFound:
                return None
            except gx.RequestRangeNotSatisfiable:
                return b""  # an empty object has no last bytes to range over


@contextmanager
def _azure_errors(uri: str) -> Iterator[None]:
    """Translate azure-core's and azure-identity's exceptions into skyplan's."""
    try:
        from azure.core import exceptions as zx
        from azure.identity import CredentialUnavailableError
    except ImportError as exc:
        raise _missing_sdk("Azure", "azure", "azure-storage-blob and azure-identity") from exc
    try:
        yield
    except (CredentialUnavailableError, zx.ClientAuthenticationError) as exc:
        raise _no_credentials("Azure", uri, _first_line(exc)) from exc
    except zx.ResourceNotFoundError as exc:
        raise InputError(f"container of {uri} does not exist", hint="apply the stack") from exc
    except (zx.ServiceRequestError, zx.ServiceResponseError) as exc:
        raise _transient("Azure", uri, _first_line(exc)) from exc
    except zx.HttpResponseError as exc:
        if exc.status_code == 403:
            raise _denied("Azure", uri) from exc
        if exc.status_code is not None and (exc.status_code >= 500 or exc.status_code == 429):
            raise _transient("Azure", uri, _first_line(exc)) from exc
        raise InputError(f"cannot read {uri}: {_first_line(exc)}") from exc


def _azure_container(account: str, container: str) -> Any:
    """A container client authenticated by DefaultAzureCredential."""
    from azure.identity import DefaultAzureCredential
    from azure.storage.blob import ContainerClient

    url = f"https://{account}.blob.core.windows.net"
    return ContainerClient(url, container, credential=DefaultAzureCredential())


@dataclass(frozen=True)
class AzureStore:
    """A prefix of an Azure Blob container, read with azure-storage-blob."""

    uri: str
    prefix: str
    client: Any

    @classmethod
    def open(cls, uri: str, account: str, container: str, prefix: str, client: Any) -> AzureStore:
        """The store with `client` (a ContainerClient), or with one from the standard chain."""
        with _azure_errors(uri):
            made = client if client is not None else _azure_container(account, container)
        return cls(uri, prefix, made)

    def names(self) -> Iterator[str]:
        """Blob names directly under the prefix, every page of the listing."""
        with _azure_errors(self.uri):
            names = [blob.name for blob in self.client.list_blobs(name_starts_with=self.prefix)]
        rests = (name[len(self.prefix) :] for name in names)
        return (rest for rest in rests if "/" not in rest)

    def read(self, name: str, tail: int | None) -> bytes | None:
        """The blob's bytes (the last `tail` of them), or None when it does not exist."""
        from azure.core.exceptions import ResourceNotFoundError

        with _azure_errors(self.uri + name):
            try:
                offset = None
                if tail is not None:
                    blob = self.client.get_blob_client(self.prefix + name)
                    size = blob.get_blob_properties().size
                    if size == 0:
                        return b""  # an empty blob has no last bytes to range over
                    offset = max(0, size - tail)
                return bytes(self.client.download_blob(self.prefix + name, offset=offset).readall())
            except ResourceNotFoundError as exc:
                if getattr(exc, "error_code", None) == "ContainerNotFound":
                    raise
                return None
