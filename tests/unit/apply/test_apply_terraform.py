"""Finding Terraform or OpenTofu and reading saved plans, with fake binaries in a temp folder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from skyplan.apply.terraform import (
    BUCKETS,
    PlanSummary,
    Terraform,
    describe_change,
    find_terraform,
    force_destroy_only,
    show,
    state_resources,
)
from skyplan.errors import ApplyError, InputError, SkyplanError

FAKE = """#!/bin/sh
printf '%s\\n' "$@" > "$(dirname "$0")/args-$1.txt"
if [ "$1" = version ]; then
  printf '%s\\n' '{"terraform_version": "VERSION", "platform": "linux_amd64"}'
  exit 0
fi
if [ "$1" = show ]; then
  cat "$(dirname "$0")/show.json"
  exit SHOW_EXIT
fi
exit 1
"""


def fake(folder: Path, name: str = "terraform", version: str = "1.9.0", show_exit: int = 0) -> Path:
    """An executable that answers `version -json` and `show -json PLAN` like Terraform."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(FAKE.replace("VERSION", version).replace("SHOW_EXIT", str(show_exit)))
    path.chmod(0o755)
    return path


def env(**extra: str) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **extra}


# --- find_terraform --------------------------------------------------------------------------


def test_an_old_terraform_is_refused(tmp_path: Path) -> None:
    path = fake(tmp_path, version="1.4.7")
    with pytest.raises(InputError) as info:
        find_terraform(env(SKYPLAN_TERRAFORM=str(path)))
    assert "1.4.7" in info.value.message
    assert "1.5 or newer" in info.value.message
    assert (tmp_path / "args-version.txt").read_text().split() == ["version", "-json"]


@pytest.mark.parametrize("version", ["1.5.0", "1.9.0", "1.10.2"])
def test_skyplan_terraform_is_honoured(tmp_path: Path, version: str) -> None:
    path = fake(tmp_path, version=version)
    assert find_terraform(env(SKYPLAN_TERRAFORM=str(path))) == Terraform(
        str(path), version, "terraform"
    )


def test_opentofu_is_recognised_by_its_name(tmp_path: Path) -> None:
    path = fake(tmp_path, name="tofu", version="1.8.3")
    found = find_terraform(env(SKYPLAN_TERRAFORM=str(path)))
    assert (found.name, found.version, found.path) == ("tofu", "1.8.3", str(path))


def test_a_name_in_skyplan_terraform_is_looked_up_on_path(tmp_path: Path) -> None:
    fake(tmp_path / "bin", name="tofu-1.8")
    found = find_terraform({"PATH": str(tmp_path / "bin"), "SKYPLAN_TERRAFORM": "tofu-1.8"})
    assert found.path == str(tmp_path / "bin" / "tofu-1.8")
    assert found.name == "tofu"


def test_without_skyplan_terraform_terraform_is_preferred_then_tofu(tmp_path: Path) -> None:
    fake(tmp_path / "bin", name="tofu", version="1.8.0")
    assert find_terraform({"PATH": str(tmp_path / "bin")}).name == "tofu"
    fake(tmp_path / "bin", name="terraform", version="1.9.5")
    found = find_terraform({"PATH": str(tmp_path / "bin")})
    assert (found.name, found.version) == ("terraform", "1.9.5")


def test_a_missing_binary_gives_the_install_hint(tmp_path: Path) -> None:
    with pytest.raises(InputError) as info:
        find_terraform(env(SKYPLAN_TERRAFORM=str(tmp_path / "nope" / "terraform")))
    assert str(tmp_path / "nope" / "terraform") in info.value.message
    assert "not found" in info.value.message
    assert info.value.hint is not None
    assert "install Terraform >= 1.5" in info.value.hint
    assert "SKYPLAN_TERRAFORM" in info.value.hint


def test_nothing_on_path_gives_the_install_hint(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError) as info:
        find_terraform({"PATH": str(tmp_path / "empty")})
    assert info.value.message == "terraform not found on PATH"
    assert info.value.hint is not None and "OpenTofu" in info.value.hint


def test_a_binary_that_does_not_report_a_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "terraform"
    path.write_text("#!/bin/sh\necho 'Terraform v1.9.0' \necho oops >&2\n")
    path.chmod(0o755)
    with pytest.raises(InputError) as info:
        find_terraform(env(SKYPLAN_TERRAFORM=str(path)))
    assert "did not report its version" in info.value.message
    assert "oops" in info.value.message


# --- show ------------------------------------------------------------------------------------


def change(address: str, *actions: str) -> dict[str, object]:
    return {"address": address, "mode": "managed", "change": {"actions": list(actions)}}


def write_show(folder: Path, changes: list[dict[str, object]] | None) -> None:
    doc: dict[str, object] = {"format_version": "1.2", "terraform_version": "1.9.0"}
    if changes is not None:
        doc["resource_changes"] = changes
    (folder / "show.json").write_text(json.dumps(doc))


def tf(path: Path) -> Terraform:
    return Terraform(str(path), "1.9.0", "terraform")


def test_show_counts_each_action(tmp_path: Path) -> None:
    path = fake(tmp_path / "bin")
    write_show(
        tmp_path / "bin",
        [
            change("aws_instance.a[0]", "create"),
            change("aws_instance.a[1]", "create"),
            change("aws_s3_bucket.b", "update"),
            change("aws_instance.c[0]", "delete", "create"),
            change("aws_instance.d[0]", "create", "delete"),
            change("aws_vpc.e", "delete"),
            change("aws_subnet.f", "no-op"),
            change("data.aws_ami.g", "read"),
        ],
    )
    planfile = tmp_path / "plans" / "aws.tfplan"
    summary = show(tf(path), tmp_path, planfile)
    assert summary == PlanSummary(create=2, update=1, replace=2, delete=1)
    assert summary.changes
    assert summary.describe() == "2 to add, 1 to change, 2 to replace, 1 to destroy"
    args = (tmp_path / "bin" / "args-show.txt").read_text().splitlines()
    assert args == ["show", "-json", str(planfile)]


@pytest.mark.parametrize("changes", [None, [], [change("aws_vpc.e", "no-op")]])
def test_a_plan_without_changes_has_none(tmp_path: Path, changes: list | None) -> None:
    path = fake(tmp_path)
    write_show(tmp_path, changes)
    summary = show(tf(path), tmp_path, tmp_path / "p.tfplan")
    assert summary == PlanSummary(0, 0, 0, 0)
    assert not summary.changes


def test_a_failing_show_is_an_error_not_an_empty_plan(tmp_path: Path) -> None:
    path = fake(tmp_path, show_exit=1)
    (tmp_path / "show.json").write_text("Error: Failed to read the given file as a plan\n")
    with pytest.raises(SkyplanError):
        show(tf(path), tmp_path, tmp_path / "p.tfplan")


# --- destroy: force_destroy on the buckets, and nothing else ----------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "aws_s3_bucket.eu_west_1",
        "google_storage_bucket.europe_west4",
        "terraform_data.bucket_local_a",
        "aws_s3_bucket.b[0]",
        'google_storage_bucket.b["europe-west4"]',
        'module.stack["prod"].aws_s3_bucket.b',
        "module.a.module.b[1].terraform_data.bucket_local_a[0]",
    ],
)
def test_buckets_are_found_with_indexes_and_in_modules(address: str) -> None:
    assert BUCKETS.match(address)


@pytest.mark.parametrize(
    "address",
    ["aws_s3_bucket_policy.b", "aws_instance.b[0]", "terraform_data.job_top[0]", "data.x.y"],
)
def test_other_resources_are_not_buckets(address: str) -> None:
    assert not BUCKETS.match(address)


def _update(rtype: str, before: dict[str, object], after: dict[str, object], unknown: object):
    return {
        "address": f"{rtype}.b",
        "type": rtype,
        "change": {
            "actions": ["update"],
            "before": before,
            "after": after,
            "after_unknown": unknown,
        },
    }


def test_only_an_in_place_update_of_force_destroy_is_accepted() -> None:
    # as terraform 1.x plans it for the local cloud's bucket (output follows input)
    data = _update(
        "terraform_data",
        {"id": "x", "input": {"force_destroy": False, "path": "a"},
         "output": {"force_destroy": False, "path": "a"}},
        {"id": "x", "input": {"force_destroy": True, "path": "a"}},
        {"input": {}, "output": True},
    )  # fmt: skip
    assert force_destroy_only(data)
    s3 = _update(
        "aws_s3_bucket",
        {"bucket": "b", "force_destroy": False, "tags": {"a": "1"}},
        {"bucket": "b", "force_destroy": True, "tags": {"a": "1"}},
        {},
    )
    assert force_destroy_only(s3)
    tags = _update(
        "aws_s3_bucket",
        {"bucket": "b", "force_destroy": False, "tags": {"a": "1"}},
        {"bucket": "b", "force_destroy": True, "tags": {"a": "2"}},
        {},
    )
    assert not force_destroy_only(tags)
    assert describe_change(tags) == "aws_s3_bucket.b: update (force_destroy, tags.a)"
    moved = _update(
        "terraform_data",
        {"input": {"force_destroy": False, "path": "a"}},
        {"input": {"force_destroy": True, "path": "b"}},
        {"output": True},
    )
    assert not force_destroy_only(moved)
    unknown = _update(
        "aws_s3_bucket", {"force_destroy": False}, {"force_destroy": True}, {"arn": True}
    )
    assert not force_destroy_only(unknown)
    for actions in (["delete"], ["create"], ["delete", "create"]):
        change = {"address": "aws_s3_bucket.b", "change": {"actions": actions}}
        assert not force_destroy_only(change)
        assert describe_change(change) == f"aws_s3_bucket.b: {'/'.join(actions)}"
    assert force_destroy_only({"address": "aws_s3_bucket.b", "change": {"actions": ["no-op"]}})


STATE_LIST = """#!/bin/sh
if [ "$1 $2" = "state list" ]; then
  echo "$STATE_OUT"
  echo "$STATE_ERR" >&2
  exit "$STATE_EXIT"
fi
exit 1
"""


def _state_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str, err: str, code: int):
    path = tmp_path / "terraform"
    path.write_text(STATE_LIST)
    path.chmod(0o755)
    for name, value in (("STATE_OUT", out), ("STATE_ERR", err), ("STATE_EXIT", str(code))):
        monkeypatch.setenv(name, value)
    return tf(path)


def test_a_failing_state_list_is_an_error_for_destroy_not_an_empty_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    binary = _state_list(tmp_path, monkeypatch, "", "Error: Failed to load state: AccessDenied", 1)
    assert state_resources(binary, tmp_path) == ()  # `status` shows what it can
    with pytest.raises(ApplyError) as info:
        state_resources(binary, tmp_path, strict=True)
    assert "AccessDenied" in info.value.message and "state list" in info.value.message


def test_no_state_yet_is_an_empty_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = _state_list(tmp_path, monkeypatch, "", "No state file was found!", 1)
    assert state_resources(binary, tmp_path, strict=True) == ()
    binary = _state_list(tmp_path, monkeypatch, "aws_s3_bucket.b\naws_vpc.v", "", 0)
    assert state_resources(binary, tmp_path, strict=True) == ("aws_s3_bucket.b", "aws_vpc.v")
