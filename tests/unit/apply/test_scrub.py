"""Secrets are masked in what skyplan prints and logs; ordinary Terraform output is untouched."""

from __future__ import annotations

import pytest

from skyplan.apply.scrub import MASK, Scrubber

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SESSION_KEY = "ASIAY34FZKBOKMUTVV7A"
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0.c2lnbmF0dXJl"
SAS_SIG = "Xp9s2F%2BqL7%2FabcdEFGh1234567890%3D"


def scrub(line: str, env: dict[str, str] | None = None) -> str:
    return Scrubber(env={} if env is None else env)(line)


@pytest.mark.parametrize("key", [ACCESS_KEY, SESSION_KEY])
def test_aws_access_key_ids_are_masked(key: str) -> None:
    out = scrub(f"aws_iam_access_key.ci: Creation complete after 1s [id={key}]")
    assert key not in out
    assert out == f"aws_iam_access_key.ci: Creation complete after 1s [id={MASK}]"


def test_bearer_tokens_are_masked_keeping_the_scheme() -> None:
    out = scrub(f"GET /v1/things HTTP/1.1 Authorization: Bearer {JWT}")
    assert JWT not in out
    assert "signature" not in out
    assert out.endswith(f"Authorization: Bearer {MASK}")


def test_sas_signatures_are_masked_and_the_rest_of_the_url_kept() -> None:
    url = (
        "https://acct.blob.core.windows.net/skyplan/copies/x?sv=2022-11-02&ss=b&srt=co"
        f"&sp=rl&se=2030-01-01T00:00:00Z&sig={SAS_SIG}"
    )
    out = scrub(f"azcopy copy {url} /tmp/x --recursive")
    assert SAS_SIG not in out
    assert f"&sig={MASK}" in out
    assert out.startswith("azcopy copy https://acct.blob.core.windows.net/skyplan/copies/x?")
    assert out.endswith(" /tmp/x --recursive")


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("connecting with password=hunter2hunter2 to db", "hunter2hunter2"),
        ('{"client_secret": "c1i3nt-s3cr3t-v4lue", "tenant": "t"}', "c1i3nt-s3cr3t-v4lue"),
        ("export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "wJalrXUtnFEMI"),
        ("api_key: 0123456789abcdef", "0123456789abcdef"),
    ],
)
def test_password_and_secret_values_are_masked(line: str, secret: str) -> None:
    out = scrub(line)
    assert secret not in out
    assert MASK in out


def test_the_key_names_and_neighbours_of_a_masked_value_are_kept() -> None:
    assert scrub('{"client_secret": "c1i3nt-s3cr3t", "tenant": "t"}') == (
        f'{{"client_secret": "{MASK}", "tenant": "t"}}'
    )
    assert scrub("password=hunter2hunter2 next") == f"password={MASK} next"


def test_a_multi_line_pem_private_key_is_masked_whole() -> None:
    lines = [
        "private_key_pem = <<EOT",
        "-----BEGIN RSA PRIVATE KEY-----",
        "MIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MaZL1Ws1Xn4b",
        "n6ZKjNNoW1i2Y4ZX6tGzFh5lBYYcU2Grs7Q0pBk2Pp6cS6MOxwIDAQAB",
        "-----END RSA PRIVATE KEY-----",
        "EOT",
        "aws_instance.align[0]: Creating...",
    ]
    scrubber = Scrubber(env={})
    out = [scrubber(line) for line in lines]
    assert out[1:5] == [MASK] * 4
    assert out[0] == "private_key_pem = <<EOT"
    assert out[5:] == ["EOT", "aws_instance.align[0]: Creating..."]


def test_a_pem_key_on_one_line_is_masked() -> None:
    line = (
        '"key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\n'
        '-----END PRIVATE KEY-----\\n"'
    )
    out = scrub(line)
    assert "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC" not in out
    assert "BEGIN" not in out


def test_values_of_secret_looking_environment_variables_are_masked() -> None:
    env = {
        "ARM_CLIENT_SECRET": "n0t-a-pattern-but-secret",
        "GITHUB_TOKEN": "ghp_abcdefghijklmnop",
        "DB_PASSWORD": "tiny",
        "API_KEY": "abc",  # shorter than 4: too likely to appear by chance
        "HOME": "/home/runner",  # not secret-looking
    }
    scrubber = Scrubber(env=env)
    out = scrubber("auth n0t-a-pattern-but-secret then ghp_abcdefghijklmnop tiny abc /home/runner")
    assert out == f"auth {MASK} then {MASK} {MASK} abc /home/runner"


@pytest.mark.parametrize("value", ["abcd", "s3cr", "pw-1234"])
def test_short_secret_environment_values_are_masked_where_they_stand_alone(value: str) -> None:
    scrubber = Scrubber(env={"DB_PASSWORD": value, "SERVICE_TOKEN": "q9"})
    assert scrubber(f"login {value} ok") == f"login {MASK} ok"
    assert scrubber(f"url=https://u:{value}@db:5432/x") == f"url=https://u:{MASK}@db:5432/x"
    assert scrubber(f'"{value}",') == f'"{MASK}",'
    assert scrubber("q9 stays") == "q9 stays"  # 2 characters: never masked


def test_a_short_secret_inside_a_longer_word_is_left_alone() -> None:
    scrubber = Scrubber(env={"DB_PASSWORD": "test"})
    assert scrubber("terraform test latest") == f"terraform {MASK} latest"


@pytest.mark.parametrize(
    "token",
    [
        "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
        "gho_" + "16C7e42F292c6912E7710c838347Ae178B4a",
        "ghs_" + "abcdefghijklmnopqrstuvwxyz0123456789",
        "github_pat_11ABCDEFG0123456789abc_" + "x" * 59,
    ],
)
def test_github_tokens_are_masked(token: str) -> None:
    out = scrub(f"cloning with {token}, then {token}.")
    assert token not in out and token[:12] not in out
    assert out == f"cloning with {MASK}, then {MASK}."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"secret_key": "abc123def456"}', f'{{"secret_key": "{MASK}"}}'),
        ("aws_secret_key=abc123def456 next", f"aws_secret_key={MASK} next"),
        ("SECRET-KEY: abc123def456", f"SECRET-KEY: {MASK}"),
        ('token_value = "abc123def456"', f'token_value = "{MASK}"'),
    ],
)
def test_a_key_name_followed_by_key_or_value_is_masked(line: str, expected: str) -> None:
    assert scrub(line) == expected


def test_the_process_environment_is_used_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYPLAN_TEST_SAS", "sv2022sigvalue-xyz")
    assert Scrubber()("uploading with sv2022sigvalue-xyz") == f"uploading with {MASK}"


@pytest.mark.parametrize(
    "line",
    [
        "aws_instance.align[0]: Creating...",
        "aws_instance.align[0]: Creation complete after 32s [id=i-0abc123def4567890]",
        "module.net.google_compute_instance.train_gpu[0]: Still creating... [10s elapsed]",
        "azurerm_managed_disk.align_data[1]: Destroying... [id=/subscriptions/0000/disks/d]",
        "terraform_data.job_top[0]: Provisioning with 'local-exec'...",
        "Apply complete! Resources: 3 added, 0 changed, 0 destroyed.",
        "Plan: 3 to add, 1 to change, 0 to destroy.",
        "  + token_count   = 5",
        "Initializing the backend...",
        "",
    ],
)
def test_ordinary_terraform_output_is_untouched(line: str) -> None:
    assert scrub(line, {"HOME": "/home/runner", "AWS_REGION": "eu-west-1"}) == line
