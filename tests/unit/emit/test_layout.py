"""Where data lives once a plan runs: buckets, read locations, copies and stable names."""

from __future__ import annotations

from collections.abc import Callable

from skyplan.emit.layout import StackLayout, local_uri
from skyplan.emit.naming import bucket_name, host_name, tf_ids


def test_reads_at_home_copies_elsewhere(
    layout_of: Callable[[str], StackLayout], two_clouds: str
) -> None:
    layout = layout_of(two_clouds)
    prep, train = layout.jobs
    assert [i.uri for i in prep.inputs] == ["s3://acme-raw/in/"]
    assert prep.outputs[0].uri == "s3://skyplan-lay-eu-west-1/outputs/clean/"
    assert prep.outputs[0].env == "SKYPLAN_OUTPUT_CLEAN"
    assert [i.uri for i in train.inputs] == [
        "gs://skyplan-lay-europe-west4/copies/clean/",
        "gs://skyplan-lay-europe-west4/copies/raw/",
    ]
    assert train.transfers == ("clean@gcp:europe-west4", "raw@gcp:europe-west4")
    assert train.depends_on == ("prep",)
    assert train.runs_uri == f"gs://skyplan-lay-europe-west4/_skyplan/train/{train.run}/"
    # run ids: a digest of the step and of everything upstream
    assert len(train.run) == 12 and train.run != prep.run
    clean, raw = layout.transfers
    assert (clean.source, clean.destination, clean.after) == (
        "s3://skyplan-lay-eu-west-1/outputs/clean/",
        "gs://skyplan-lay-europe-west4/copies/clean/",
        ("prep",),
    )
    assert (raw.source, raw.after) == ("s3://acme-raw/in/", ())
    assert [b.key for b in layout.buckets] == ["aws:eu-west-1", "gcp:europe-west4"]
    assert layout.clouds() == ("aws", "gcp")


def test_local_uris_are_relative_to_the_output_folder() -> None:
    assert local_uri("file://data/words.txt", ".") == "file://data/words.txt"
    assert local_uri("file://./data/in/", "../spec") == "file://../spec/data/in/"
    assert local_uri("file:///abs/in/", "../spec") == "file:///abs/in/"


def test_bucket_names_fit_every_cloud() -> None:
    assert bucket_name("skyplan", "lay", "aws", "eu-west-1") == "skyplan-lay-eu-west-1"
    long_stack = "a" * 39
    name = bucket_name("acme-research-lab", long_stack, "gcp", "northamerica-northeast2")
    assert len(name) <= 63 and name.startswith("acme-research-lab-aaa")
    assert name != bucket_name("acme-research-lab", long_stack, "gcp", "northamerica-northeast1")
    account = bucket_name("skyplan", "genomics", "azure", "westeurope")
    assert len(account) == 24 and account.isalnum() and account.islower()
    assert account != bucket_name("skyplan", "genomics", "azure", "northeurope")


def test_identifiers_are_unique_and_hosts_are_valid() -> None:
    ids = tf_ids(("a-b", "a.b", "c"))
    assert ids["c"] == "c"
    assert len(set(ids.values())) == 3
    assert all(i.startswith("a_b") for k, i in ids.items() if k != "c")
    assert host_name("Big.Job", "stack", 3) == "stack-big-job-3"
    assert len(host_name("j" * 63, "s" * 39)) <= 56


def test_a_change_reruns_its_step_and_everything_downstream(
    layout_of: Callable[[str], StackLayout], two_clouds: str
) -> None:
    before = layout_of(two_clouds)
    after = layout_of(two_clouds.replace("run: ./prep", "run: ./prep --v2"))
    leaf = layout_of(two_clouds.replace("run: ./train", "run: ./train --v2"))
    runs = {j.job.name: j.run for j in before.jobs}
    assert {j.job.name: j.run != runs[j.job.name] for j in after.jobs} == {
        "prep": True,
        "train": True,  # reads prep's output
    }
    assert {j.job.name: j.run != runs[j.job.name] for j in leaf.jobs} == {
        "prep": False,
        "train": True,
    }
    clean = {t.dataset: t.run for t in before.transfers}
    assert {t.dataset: t.run != clean[t.dataset] for t in after.transfers} == {
        "clean": True,  # produced by prep
        "raw": False,
    }


def test_what_a_job_may_read_and_write(
    layout_of: Callable[[str], StackLayout], two_clouds: str
) -> None:
    """The prefixes every cloud's grants are built from: inputs and the marker folder of every
    run (the runner's go-ahead) to read; outputs and that folder to write; nothing else."""
    layout = layout_of(two_clouds)
    jobs = {j.job.name: j for j in layout.jobs}
    train = jobs["train"]
    markers = f"{train.bucket.uri}_skyplan/train/"
    assert train.runs_uri.startswith(markers) and train.runs_uri != markers
    assert set(train.reads()) == {i.uri for i in train.inputs} | {markers}
    assert set(train.writes()) == {f"{train.bucket.uri}outputs/model/", markers}
    assert list(train.reads()) == sorted(train.reads())
