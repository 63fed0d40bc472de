"""The commands that move data between stores, with each cloud's standard tool: every copy is
a mirror (a re-run replaces the destination, never merges into it)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from folder_reader import Reader

from skyplan.emit.tools import (
    STAGING,
    by_store,
    copy,
    download,
    local_copy,
    put_file,
    split_uri,
    upload,
)

AZ = "https://acct.blob.core.windows.net/skyplan/copies/x/"


def test_same_cloud_copies_are_server_side_mirrors() -> None:
    (cmd,) = copy("s3://a/x/", "s3://b/y/", "eu-west-1", "us-east-1")
    assert cmd == (
        "aws", "s3", "sync", "s3://a/x/", "s3://b/y/", "--delete",
        "--source-region", "eu-west-1", "--region", "us-east-1", "--only-show-errors",
    )  # fmt: skip
    (cmd,) = copy("gs://a/x/", "gs://b/y/", "us-central1", "europe-west4")
    assert cmd == (
        "gcloud", "storage", "rsync", "--recursive", "--delete-unmatched-destination-objects",
        "gs://a/x/", "gs://b/y/",
    )  # fmt: skip
    (cmd,) = copy("az://acct/skyplan/outputs/x/", "az://acct/skyplan/copies/x/", "a", "b")
    assert cmd == (
        "azcopy", "sync", "https://acct.blob.core.windows.net/skyplan/outputs/x/", AZ,
        "--recursive", "--delete-destination=true",
    )  # fmt: skip


def test_between_s3_and_gcs_gcloud_mirrors_both_ends() -> None:
    (cmd,) = copy("s3://a/x/", "gs://b/x/", "eu-west-1", "europe-west4")
    assert cmd == (
        "gcloud", "storage", "rsync", "--recursive", "--delete-unmatched-destination-objects",
        "s3://a/x/", "gs://b/x/",
    )  # fmt: skip


@pytest.mark.parametrize("source", ["s3://a/x/", "gs://a/x/"])
def test_into_azure_goes_through_a_staging_folder_azcopy_sync_can_mirror(source: str) -> None:
    """azcopy sync reads only local folders and Azure: `azcopy copy` from S3 or GCS cannot
    delete what the source no longer has."""
    cmds = copy(source, "az://acct/skyplan/copies/x/", "eu-west-1", "westeurope")
    assert cmds[0] == ("mkdir", "-p", STAGING)
    deletes = ("--delete", "--delete-unmatched-destination-objects")
    assert STAGING in cmds[1] and any(flag in cmds[1] for flag in deletes)
    assert cmds[2] == (
        "azcopy", "sync", f"{STAGING}/", AZ, "--recursive", "--delete-destination=true",
    )  # fmt: skip


def test_out_of_azure_goes_through_a_staging_folder() -> None:
    cmds = copy("az://acct/c/x/", "s3://b/x/", "westeurope", "eu-west-1")
    assert cmds[0] == ("mkdir", "-p", STAGING)
    assert cmds[1] == (
        "azcopy", "sync", "https://acct.blob.core.windows.net/c/x/", STAGING,
        "--recursive", "--delete-destination=true",
    )  # fmt: skip
    assert cmds[2][:5] == ("aws", "s3", "sync", f"{STAGING}/", "s3://b/x/")
    assert "--delete" in cmds[2]


def test_local_copies_use_only_sh_and_posix_tools() -> None:
    cmds = copy("file://in/words.txt", "file://.skyplan/buckets/b/copies/w/", "a", "b")
    assert cmds[0] == ("mkdir", "-p", ".skyplan/buckets/b/copies/w/")
    assert cmds[1][:2] == ("sh", "-c") and cmds[1][-2:] == (
        "in/words.txt",
        ".skyplan/buckets/b/copies/w/",
    )


def test_node_side_commands_mirror() -> None:
    assert download("gs://b/x/", "/in", "r")[1] == (
        "gcloud", "storage", "rsync", "--recursive", "--delete-unmatched-destination-objects",
        "gs://b/x/", "/in",
    )  # fmt: skip
    s3 = download("s3://b/x/", "/in", "r")[1]
    assert s3[:6] == ("aws", "s3", "sync", "s3://b/x/", "/in", "--delete")
    assert download("az://a/c/x/", "/in", "r")[1] == (
        "azcopy", "sync", "https://a.blob.core.windows.net/c/x/", "/in", "--recursive",
        "--delete-destination=true",
    )  # fmt: skip
    assert upload("/out", "s3://b/o/", "r")[0][:6] == (
        "aws", "s3", "sync", "/out/", "s3://b/o/", "--delete",
    )  # fmt: skip
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


def test_the_nodes_of_a_multi_node_job_add_their_share_without_deleting() -> None:
    for uri in ("s3://b/o/", "gs://b/o/", "az://a/c/o/"):
        (cmd,) = upload("/out", uri, "r", mirror=False)
        assert not any(a.startswith("--delete") for a in cmd), cmd


def _run(cmds: tuple[tuple[str, ...], ...], cwd: Path) -> None:
    for argv in cmds:
        subprocess.run(argv, cwd=cwd, check=True)


def test_a_local_copy_replaces_the_destination(tmp_path: Path) -> None:
    src = tmp_path / "out" / "words"
    src.mkdir(parents=True)
    (src / "first.txt").write_text("1")
    (src / "sub").mkdir()
    (src / "sub" / "deep.txt").write_text("d")
    cmds = copy("file://out/words/", "file://buckets/b/copies/words/", "a", "b")
    _run(cmds, tmp_path)
    dst = tmp_path / "buckets" / "b" / "copies" / "words"
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == [
        "first.txt", "sub", "sub/deep.txt",
    ]  # fmt: skip
    (src / "first.txt").unlink()
    (src / "second.txt").write_text("2")
    _run(cmds, tmp_path)  # the re-run: first.txt must not survive
    assert sorted(p.relative_to(dst).as_posix() for p in dst.rglob("*")) == [
        "second.txt", "sub", "sub/deep.txt",
    ]  # fmt: skip
    assert sorted(p.name for p in dst.parent.iterdir()) == ["words"]  # no temporary left
    assert oct(dst.stat().st_mode & 0o777) != oct(0o700)  # not mktemp's private mode


def test_a_local_copy_of_a_single_file_and_a_failed_one(tmp_path: Path) -> None:
    (tmp_path / "text.txt").write_text("t")
    dst = tmp_path / "copies" / "text"
    dst.mkdir(parents=True)
    (dst / "stale.txt").write_text("old")
    subprocess.run(local_copy("text.txt", "copies/text/"), cwd=tmp_path, check=True)
    assert sorted(p.name for p in dst.iterdir()) == ["text.txt"]
    failed = subprocess.run(local_copy("missing", "copies/text"), cwd=tmp_path, check=False)
    assert failed.returncode != 0
    assert sorted(p.name for p in dst.iterdir()) == ["text.txt"]  # untouched
    assert sorted(p.name for p in dst.parent.iterdir()) == ["text"]  # no temporary left


def test_a_reader_never_finds_the_destination_of_a_local_copy_missing(tmp_path: Path) -> None:
    """The copy is swapped in by one atomic exchange: there is no instant between taking the old
    folder away and putting the new one in."""
    src = tmp_path / "src"
    src.mkdir()
    dst = tmp_path / "copies" / "words"
    dst.mkdir(parents=True)
    (dst / "n.txt").write_text("start")
    reader = Reader(dst)
    reader.start()
    try:
        for n in range(25):
            for old in src.iterdir():
                old.unlink()
            (src / f"{n}.txt").write_text(str(n))
            subprocess.run(local_copy(str(src), str(dst)), check=True)
            assert [p.name for p in dst.iterdir()] == [f"{n}.txt"]
    finally:
        reader.done.set()
        reader.join()
    assert reader.looks > 1000 and reader.missing == 0
    assert sorted(p.name for p in dst.parent.iterdir()) == ["words"]  # nothing left aside


def test_an_interrupted_local_copy_leaves_the_destination_and_no_temporary(
    tmp_path: Path,
) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    started = tmp_path / "cp-started"
    cp = bin_dir / "cp"  # a slow cp: the copy is under way when it is interrupted
    cp.write_text(f'#!/bin/sh\ntouch "{started}"\nsleep 30\n')
    cp.chmod(0o755)
    src = tmp_path / "src"
    src.mkdir()
    (src / "new.txt").write_text("new")
    dst = tmp_path / "dst"
    dst.mkdir()
    (dst / "old.txt").write_text("old")
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    proc = subprocess.Popen(local_copy(str(src), str(dst)), env=env, start_new_session=True)
    try:
        end = time.monotonic() + 30
        while not started.exists():
            assert time.monotonic() < end
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) != 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert [p.name for p in dst.iterdir()] == ["old.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin", "cp-started", "dst", "src"]
