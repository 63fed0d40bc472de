"""The AWS account a refresh or a quota read uses: boto3 clients, credential errors, regions.

Shared by the price refresh (aws.py) and `catalog quotas` (quotas.py): both skip the opt-in
regions the account has not enabled, and both tell a region's failure from the credentials'.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol

from skyplan.catalog.refresh.model import CredentialError, Progress, missing_sdk

PRICING_REGION = "us-east-1"  # the Price List API is served from a few regions; it prices all
# Codes about the credentials themselves, whatever the region: they stop the cloud.
CREDENTIAL_CODES = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "RequestExpired",
        "AccessDeniedException",
    }
)
# Codes an opt-in region the account has not enabled also answers with (EC2 AuthFailure, the
# other services UnrecognizedClientException or InvalidClientTokenId): about the credentials only
# until a call somewhere has proven them; after that, about that region.
REGION_CODES = frozenset({"AuthFailure", "UnrecognizedClientException", "InvalidClientTokenId"})
ENABLED = frozenset({"opt-in-not-required", "opted-in"})
NOT_ENABLED = "not enabled in this account"


class AwsClients(Protocol):
    """Where a refresh gets its boto3 clients (tests pass stubbed ones)."""

    def pricing(self) -> Any:
        """The Price List client."""

    def ec2(self, region: str) -> Any:
        """An EC2 client for `region`."""

    def service_quotas(self, region: str) -> Any:
        """A Service Quotas client for `region`."""


@dataclass(frozen=True)
class Boto3Clients:
    """Clients from one boto3 session: the standard credential chain, standard retries."""

    session: Any

    @classmethod
    def default(cls) -> Boto3Clients:
        """A session from the environment, profile, SSO or instance role."""
        try:
            import boto3  # type: ignore[import-untyped]
        except ImportError as exc:
            raise missing_sdk("aws") from exc
        with aws_credentials():  # a named profile that does not exist fails here
            return cls(boto3.session.Session())

    def _client(self, service: str, region: str) -> Any:
        from botocore.config import Config  # type: ignore[import-untyped]

        config = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=60)
        return self.session.client(service, region_name=region, config=config)

    def pricing(self) -> Any:
        """The Price List client (us-east-1)."""
        return self._client("pricing", PRICING_REGION)

    def ec2(self, region: str) -> Any:
        """An EC2 client for `region`."""
        return self._client("ec2", region)

    def service_quotas(self, region: str) -> Any:
        """A Service Quotas client for `region`."""
        return self._client("service-quotas", region)


def error_code(exc: Any) -> str:
    """The AWS error code of a botocore ClientError ('' for anything else)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _no_credentials() -> tuple[type[Exception], ...]:
    from botocore import exceptions as bx  # type: ignore[import-untyped]

    return (
        bx.NoCredentialsError,
        bx.PartialCredentialsError,
        bx.ProfileNotFound,
        bx.CredentialRetrievalError,
        bx.TokenRetrievalError,
        bx.SSOError,
    )


def is_credential_problem(exc: BaseException) -> bool:
    """True when an exception is about the credentials whatever the region."""
    return isinstance(exc, _no_credentials()) or error_code(exc) in CREDENTIAL_CODES


@contextmanager
def aws_credentials() -> Iterator[None]:
    """Turn botocore's missing, expired or refused credentials into a CredentialError."""
    from botocore.exceptions import ClientError  # type: ignore[import-untyped]

    try:
        yield
    except _no_credentials() as exc:
        raise CredentialError("aws", exc) from exc
    except ClientError as exc:
        code = error_code(exc)
        if code in CREDENTIAL_CODES | REGION_CODES:
            raise CredentialError("aws", exc, denied=code == "AccessDeniedException") from exc
        raise


@dataclass
class AccountRegions:
    """The regions an account may use, and whether its credentials have worked yet.

    A region the account has not enabled answers like bad credentials; such an answer stops the
    cloud only while nothing has proven the credentials (a successful call anywhere). Proven,
    it is that region's failure. Never proven, it was the credentials after all (`settle`).
    """

    enabled: frozenset[str] | None  # None: unknown (describe_regions not allowed or failed)
    proven: bool = False
    doubtful: list[BaseException] = field(default_factory=list)

    @classmethod
    def read(cls, clients: AwsClients) -> AccountRegions:
        """Ask EC2 which regions are enabled (the call proves the credentials)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            found = clients.ec2(PRICING_REGION).describe_regions(AllRegions=True)
        except ClientError as exc:
            if is_credential_problem(exc) or error_code(exc) in REGION_CODES:
                raise  # us-east-1 is never opt-in: these are the credentials
            return cls(None)  # e.g. no ec2:DescribeRegions permission: try every region
        except BotoCoreError:
            return cls(None)
        enabled = frozenset(
            r["RegionName"]
            for r in found.get("Regions", [])
            if r.get("OptInStatus", "opt-in-not-required") in ENABLED
        )
        return cls(enabled, proven=True)

    def skip(self, cloud: str, region: str, progress: Progress) -> bool:
        """True (and reported) for an opt-in region the account has not enabled."""
        if self.enabled is None or region in self.enabled:
            return False
        progress(cloud, region, f"skipped: an opt-in region {NOT_ENABLED}")
        return True

    def worked(self) -> None:
        """A call succeeded: the credentials are good."""
        self.proven = True

    def failed(self, exc: BaseException) -> None:
        """Re-raise a failure that is about the credentials; return for a region's failure."""
        if is_credential_problem(exc):
            raise exc
        if error_code(exc) in REGION_CODES and not self.proven:
            self.doubtful.append(exc)

    def settle(self) -> None:
        """After every region: credential-like failures and nothing proved the credentials."""
        if self.doubtful and not self.proven:
            raise CredentialError("aws", self.doubtful[0])
