"""The commands that move data between stores, with each cloud's standard tool."""

from __future__ import annotations

from skyplan.emit.tools import STAGING, by_store, copy, download, put_file, split_uri, upload


def test_same_cloud_copies_are_server_side() -> None:
    (cmd,) = copy("s3://a/x/", "s3://b/y/", "eu-west-1", "us-east-1")
    assert cmd == (
        "aws", "s3", "sync", "s3://a/x/", "s3://b/y/",
        "--source-region", "eu-west-1", "--region", "us-east-1", "--only-show-errors",
    )  # fmt: skip
    (cmd,) = copy("gs://a/x/", "gs://b/y/", "us-central1", "europe-west4")
    assert cmd == ("gcloud", "storage", "rsync", "--recursive", "gs://a/x/", "gs://b/y/")


def test_into_azure_azcopy_reads_s3_and_gcs_directly() -> None:
    (cmd,) = copy("s3://a/x/", "az://acct/skyplan/copies/x/", "eu-west-1", "westeurope")
    assert cmd == (
        "azcopy", "copy", "https://s3.eu-west-1.amazonaws.com/a/x/*",
        "https://acct.blob.core.windows.net/skyplan/copies/x/", "--recursive",
    )  # fmt: skip
    (cmd,) = copy("gs://a/x/", "az://acct/c/x/", "us-central1", "eastus")
    assert cmd[2] == "https://storage.cloud.google.com/a/x/*"


def test_between_s3_and_gcs_gcloud_does_both_ends() -> None:
    (cmd,) = copy("s3://a/x/", "gs://b/x/", "eu-west-1", "europe-west4")
    assert cmd == ("gcloud", "storage", "rsync", "--recursive", "s3://a/x/", "gs://b/x/")


def test_out_of_azure_goes_through_a_staging_folder() -> None:
    cmds = copy("az://acct/c/x/", "s3://b/x/", "westeurope", "eu-west-1")
    assert cmds[0] == ("mkdir", "-p", STAGING)
    assert cmds[1][:2] == ("azcopy", "copy") and cmds[1][3] == STAGING
    assert cmds[2][:3] == ("aws", "s3", "sync") and cmds[2][3] == f"{STAGING}/"


def test_local_copies_use_only_sh_and_cp() -> None:
    cmds = copy("file://in/words.txt", "file://.skyplan/buckets/b/copies/w/", "a", "b")
    assert cmds[0] == ("mkdir", "-p", ".skyplan/buckets/b/copies/w/")
    assert cmds[1][:2] == ("sh", "-c") and cmds[1][-2:] == (
        "in/words.txt",
        ".skyplan/buckets/b/copies/w/",
    )


def test_node_side_commands() -> None:
    assert download("gs://b/x/", "/in", "r")[1][:3] == ("gcloud", "storage", "rsync")
    assert upload("/out", "s3://b/o/", "r")[0][:4] == ("aws", "s3", "sync", "/out/")
    assert put_file("/m", "az://a/c/m", "r") == (
        "azcopy", "copy", "/m", "https://a.blob.core.windows.net/c/m",
    )  # fmt: skip


def test_split_uri_and_by_store() -> None:
    assert split_uri("s3://b/outputs/x/") == ("b", "outputs/x/")
    assert split_uri("gs://b/") == ("b", "")
    assert split_uri("az://acct/skyplan/copies/x/") == ("acct/skyplan", "copies/x/")
    uris = ["gs://b/z/", "s3://a/k/", "gs://a/y/", "gs://b/x/", "gs://b/x/"]
    assert by_store(uris, "gs") == {"a": ("y/",), "b": ("x/", "z/")}
    assert by_store(uris, "az") == {}
