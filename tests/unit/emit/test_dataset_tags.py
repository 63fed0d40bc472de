"""The `skyplan-dataset` tag stays within each cloud's limit and keeps bills attributable.

AWS and Azure reject tag values over 256 characters and GCP label values over 63, so joining
every data set of a bucket into one value made `terraform apply` fail (AWS, Azure) or silently
cut the label (GCP). The rule: the names while they fit, else `<n>-datasets-<digest>`, mapped
back to the names by the module's `dataset_tags` output and by manifest.json.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest

from skyplan.emit.naming import TAG_VALUE_MAX, dataset_tag
from skyplan.validate.hcl import HclFile

Emitted = Callable[[str], dict[str, str]]
Parse = Callable[[str], HclFile]

#: Characters each cloud accepts in a tag or label value (AWS: letters, digits, space, _.:/=+-@).
ALLOWED = {
    "aws": re.compile(r"[\w .:/=+\-@]*"),
    "azure": re.compile(r"[^<>%&\\?/]*"),
    "gcp": re.compile(r"[a-z0-9_-]*"),
}
#: Six long data set names per job: with the `<cloud>.` prefix up to 62 characters (sky.yaml
#: allows 63), 377 joined, beyond every cloud's limit.
LONG = [f"Batch-{i:02d}.Aligned.Reads.Deduplicated.Sorted.By.Coordinate" for i in range(6)]
REGIONS = {"aws": "aws:eu-west-1", "gcp": "gcp:europe-west4", "azure": "azure:westeurope"}
TAG = re.compile(r'"skyplan-dataset"\s*=\s*"([^"]*)"')


def spec(names: list[str]) -> str:
    jobs = "".join(
        f"  make-{cloud}:\n"
        f"    run: ./make.sh\n"
        f"    resources: {{cpus: 2}}\n"
        f"    hours: 1\n"
        f"    outputs: {{{', '.join(f'{cloud}.{n}: 1GB' for n in names)}}}\n"
        f'    regions: ["{region}"]\n'
        for cloud, region in REGIONS.items()
    )
    return f"version: 1\nname: tagged\nclouds: [aws, gcp, azure]\njobs:\n{jobs}"


def test_the_names_while_they_fit() -> None:
    assert dataset_tag("aws", ["model", "clean"]) == "clean+model"
    assert dataset_tag("azure", ["clean", "model", "clean"]) == "clean+model"
    assert dataset_tag("gcp", ["Clean.Set", "model"]) == "clean_set_model"
    assert dataset_tag("aws", []) == dataset_tag("local", ["clean"]) == ""


@pytest.mark.parametrize("cloud", sorted(TAG_VALUE_MAX))
def test_a_summary_beyond_the_limit(cloud: str) -> None:
    names = [n.replace("Batch", cloud) for n in LONG]
    tag = dataset_tag(cloud, names)
    assert len(tag) <= TAG_VALUE_MAX[cloud] and ALLOWED[cloud].fullmatch(tag)
    assert re.fullmatch(r"6-datasets-[0-9a-f]{8}", tag), tag
    # stable whatever the order, and a different set of data sets gets a different value
    assert dataset_tag(cloud, reversed(names)) == tag
    assert dataset_tag(cloud, [*names[:5], "other" * 12]) != tag
    # exactly at the limit the names still fit
    fits = ["a" * (TAG_VALUE_MAX[cloud] - 2), "b"]
    assert dataset_tag(cloud, fits) == {"gcp": "_"}.get(cloud, "+").join(fits)


def test_many_long_data_sets_on_every_cloud(emitted: Emitted, hcl: Parse) -> None:
    files = emitted(spec(LONG))
    for cloud in REGIONS:
        main, outputs = files[f"{cloud}/main.tf"], files[f"{cloud}/outputs.tf"]
        tags = TAG.findall(main)
        assert len(tags) >= 2, cloud  # the bucket and the node that produces the data sets
        for tag in tags:
            assert len(tag) <= TAG_VALUE_MAX[cloud] and ALLOWED[cloud].fullmatch(tag), tag
            assert re.fullmatch(r"6-datasets-[0-9a-f]{8}", tag), tag
        # the module says which data sets each value stands for
        (output,) = [b for b in hcl(outputs).blocks if b.labels == ("dataset_tags",)]
        value = output.attribute("value")
        assert value is not None
        assert value.value == {tags[0]: sorted(f"{cloud}.{n}" for n in LONG)}
    manifest = json.loads(files["manifest.json"])
    for store in manifest["storage"]:
        assert store["datasets"] == sorted(f"{store['cloud']}.{n}" for n in LONG)
        assert store["dataset_tag"] == dataset_tag(store["cloud"], store["datasets"])
        assert store["dataset_tag"] in files[f"{store['cloud']}/main.tf"]
    for job in manifest["jobs"]:
        produced = [o["dataset"] for o in job["outputs"]]
        assert job["dataset_tag"] == dataset_tag(job["cloud"], produced)


def test_a_few_short_data_sets_are_named_in_full(emitted: Emitted) -> None:
    files = emitted(spec(["raw", "model"]))
    assert set(TAG.findall(files["aws/main.tf"])) == {"aws.model+aws.raw"}
    assert set(TAG.findall(files["azure/main.tf"])) == {"azure.model+azure.raw"}
    assert set(TAG.findall(files["gcp/main.tf"])) == {"gcp_model_gcp_raw"}
