"""AWS refresh with botocore Stubber: pagination, missing fields, failing regions, credentials."""

from __future__ import annotations

from decimal import Decimal

import pytest
from refresh_fixtures import (
    CONTINENTS,
    NOW,
    StubbedAws,
    queue_empty_region,
    queue_region,
    queue_regions,
    stubbed_aws,
)

from skyplan.catalog.refresh.aws import fetch_aws
from skyplan.catalog.refresh.aws_account import Boto3Clients
from skyplan.catalog.refresh.model import CredentialError, RegionResult

Seen = list[tuple[str, str, str]]


def _run(aws: StubbedAws, regions: tuple[str, ...], seen: Seen | None = None):  # type: ignore[no-untyped-def]
    def progress(cloud: str, region: str, message: str) -> None:
        if seen is not None:
            seen.append((cloud, region, message))

    return fetch_aws(regions, CONTINENTS, aws, progress, NOW)


def _offers(region: RegionResult) -> dict[str, tuple]:  # type: ignore[type-arg]
    return {
        o.instance_type: (
            o.vcpus,
            o.memory_gib,
            o.accelerator,
            o.accelerator_count,
            o.price,
            o.spot_price,
        )
        for o in region.offerings
    }


def test_two_regions_every_page_read_and_combined() -> None:
    aws = stubbed_aws()
    seen: Seen = []
    result = _run(aws, ("eu-west-1", "us-east-1"), seen)
    aws.assert_done()  # both pages of every paginated call were asked for
    eu, us = result.regions
    assert eu.ok and us.ok
    assert _offers(eu) == {
        # the dearer of two zones' spot prices, the dearer one on the second page
        "m6i.large": (2, Decimal(8), "", 0, Decimal("0.107"), Decimal("0.0451")),
        "m6i.xlarge": (4, Decimal(16), "", 0, Decimal("0.214"), None),
        # c5 stays: the region has neither c6i nor c7i; m5 goes: m6i is there
        "c5.large": (2, Decimal(4), "", 0, Decimal("0.096"), None),
        "g5.xlarge": (4, Decimal(16), "A10G", 1, Decimal("1.123"), Decimal("0.421")),
    }
    # not offered in eu-west-1: p4de; metal and r6i (no MemoryInfo) dropped; t3 not shipped
    assert "p4de.24xlarge" in _offers(us)
    assert _offers(us)["p4de.24xlarge"][2:4] == ("A100-80GB", 8)  # an 80 GB A100
    assert {o.family for o in us.offerings} == {"m6i", "c5", "g5", "p4de"}
    assert ("aws", "eu-west-1", "4 offerings (2 with spot)") in seen
    assert result.sdk[0][0] == "boto3"


def test_spot_price_history_every_page_read() -> None:
    aws = stubbed_aws(("eu-west-1",))
    result = _run(aws, ("eu-west-1",))
    aws.assert_done()  # both describe_spot_price_history pages were asked for
    spot = {o.instance_type: o.spot_price for o in result.regions[0].offerings}
    # page 1: m6i.large in eu-west-1a (0.0419); page 2: eu-west-1b (0.0451) and g5.xlarge
    assert spot["m6i.large"] == Decimal("0.0451")
    assert spot["g5.xlarge"] == Decimal("0.421")


def test_egress_from_the_data_transfer_price_list() -> None:
    result = _run(stubbed_aws(), ("eu-west-1", "us-east-1"))
    rates = {f.scope: (f.usd_per_gb, f.detail) for f in result.egress}
    # first paid tier, after the free first GB; routes to unknown regions are ignored
    assert rates["internet"][0] == Decimal("0.09")
    assert rates["inter-region-same-continent"][0] == Decimal("0.02")
    assert rates["inter-region-other-continent"][0] == Decimal("0.02")
    assert rates["internet"][1].startswith("median of 2 region rates")


def test_a_failing_region_is_reported_and_the_others_kept() -> None:
    aws = StubbedAws()
    queue_regions(aws)
    aws.ec2_stub("eu-west-1").add_client_error(
        "describe_instance_type_offerings",
        service_error_code="InternalError",
        service_message="An internal error has occurred",
        http_status_code=500,
    )
    queue_region(aws, "us-east-1")
    seen: Seen = []
    result = _run(aws, ("eu-west-1", "us-east-1"), seen)
    eu, us = result.regions
    assert eu.error == "InternalError: An internal error has occurred"
    assert not eu.offerings
    assert us.ok and us.offerings
    assert ("aws", "eu-west-1", "failed: InternalError: An internal error has occurred") in seen
    aws.assert_done()


def test_opt_in_region_not_enabled_is_skipped() -> None:
    aws = StubbedAws()
    queue_regions(aws, opted_out=("me-south-1",))
    queue_region(aws, "eu-west-1")
    result = _run(aws, ("me-south-1", "eu-west-1"))
    skipped, eu = result.regions
    assert skipped.skipped == "not enabled in this account" and not skipped.ok
    assert eu.ok
    aws.assert_done()


def test_egress_failure_is_a_note_not_a_failed_region() -> None:
    aws = StubbedAws()
    queue_regions(aws)
    queue_region(aws, "eu-west-1", egress=False)  # the region's own calls succeed...
    # ...but its data-transfer prices are throttled
    aws.pricing_stub.add_client_error(
        "get_products", service_error_code="ThrottlingException", service_message="Rate exceeded"
    )
    result = _run(aws, ("eu-west-1",))
    assert result.regions[0].ok and result.regions[0].offerings
    assert result.notes == (
        "egress prices of eu-west-1 not read: ThrottlingException: Rate exceeded",
    )
    assert result.egress == ()
    aws.assert_done()


def test_a_region_with_no_prices_fails_and_reads_no_egress() -> None:
    aws = StubbedAws()
    queue_regions(aws)
    queue_empty_region(aws, "eu-west-1")
    queue_region(aws, "us-east-1")
    seen: Seen = []
    result = _run(aws, ("eu-west-1", "us-east-1"), seen)
    eu, us = result.regions
    assert not eu.ok and eu.error == "no prices for the shipped instance families"
    assert ("aws", "eu-west-1", "failed: no prices for the shipped instance families") in seen
    assert us.ok
    aws.assert_done()  # no data-transfer call for eu-west-1


@pytest.mark.parametrize(
    ("code", "first"),
    [
        ("ExpiredToken", "no usable AWS credentials: An error occurred (ExpiredToken)"),
        ("AuthFailure", "no usable AWS credentials: An error occurred (AuthFailure)"),
    ],
)
def test_expired_or_refused_credentials_stop_the_cloud(code: str, first: str) -> None:
    aws = StubbedAws()
    aws.ec2_stub("us-east-1").add_client_error(
        "describe_regions", service_error_code=code, http_status_code=401
    )
    with pytest.raises(CredentialError) as info:
        _run(aws, ("eu-west-1",))
    assert info.value.message.startswith(first)
    assert info.value.hint is not None and "aws configure" in info.value.hint
    assert info.value.exit_code == 2


def test_credentials_expiring_mid_run_stop_the_cloud() -> None:
    aws = StubbedAws()
    queue_regions(aws)
    ec2 = aws.ec2_stub("eu-west-1")
    ec2.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": []})
    ec2.add_response("describe_instance_types", {"InstanceTypes": []})
    aws.pricing_stub.add_client_error(
        "get_products", service_error_code="ExpiredTokenException", http_status_code=403
    )
    with pytest.raises(CredentialError) as info:
        _run(aws, ("eu-west-1",))
    assert "ExpiredTokenException" in info.value.message


def test_access_denied_names_the_permissions() -> None:
    aws = StubbedAws()
    queue_regions(aws)
    aws.ec2_stub("eu-west-1").add_response(
        "describe_instance_type_offerings", {"InstanceTypeOfferings": []}
    )
    aws.ec2_stub("eu-west-1").add_response("describe_instance_types", {"InstanceTypes": []})
    aws.pricing_stub.add_client_error(
        "get_products", service_error_code="AccessDeniedException", http_status_code=403
    )
    with pytest.raises(CredentialError) as info:
        _run(aws, ("eu-west-1",))
    assert info.value.message.startswith("AWS refused access: ")
    assert "pricing:GetProducts" in (info.value.hint or "")


def test_absent_credentials_from_the_real_chain() -> None:
    # the standard chain with nothing configured (conftest hides the machine's credentials)
    with pytest.raises(CredentialError) as info:
        _run(Boto3Clients.default(), ("eu-west-1",))  # type: ignore[arg-type]
    assert info.value.message == "no usable AWS credentials: Unable to locate credentials"
    assert "AWS_PROFILE" in (info.value.hint or "")


def _regions_denied(aws: StubbedAws) -> None:
    aws.ec2_stub("us-east-1").add_client_error(
        "describe_regions",
        service_error_code="UnauthorizedOperation",
        service_message="You are not authorized to perform this operation.",
        http_status_code=403,
    )


def _auth_failure(aws: StubbedAws, region: str) -> None:
    aws.ec2_stub(region).add_client_error(
        "describe_instance_type_offerings",
        service_error_code="AuthFailure",
        service_message="AWS was not able to validate the provided access credentials",
        http_status_code=401,
    )


def test_auth_failure_in_one_region_after_another_worked_fails_only_that_region() -> None:
    # without ec2:DescribeRegions every region is tried: a not-enabled one answers AuthFailure
    aws = StubbedAws()
    _regions_denied(aws)
    _auth_failure(aws, "me-south-1")
    queue_region(aws, "eu-west-1")
    result = _run(aws, ("me-south-1", "eu-west-1"))
    me, eu = result.regions
    assert me.error is not None and me.error.startswith("AuthFailure: ")
    assert eu.ok
    aws.assert_done()


def test_auth_failure_in_every_region_is_the_credentials() -> None:
    aws = StubbedAws()
    _regions_denied(aws)
    _auth_failure(aws, "me-south-1")
    _auth_failure(aws, "eu-west-1")
    with pytest.raises(CredentialError) as info:
        _run(aws, ("me-south-1", "eu-west-1"))
    assert info.value.message.startswith(
        "no usable AWS credentials: An error occurred (AuthFailure)"
    )
