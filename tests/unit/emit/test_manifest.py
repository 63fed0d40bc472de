"""manifest.json: jobs with placements and data, transfers with commands, a runnable order."""

from __future__ import annotations

import json
from collections.abc import Callable


def test_manifest_shape_and_order(
    emitted: Callable[[str], dict[str, str]], two_clouds: str
) -> None:
    files = emitted(two_clouds.replace("name: lay", "name: man"))
    text = files["manifest.json"]
    m = json.loads(text)
    assert text.endswith("}\n") and text == json.dumps(m, indent=2, sort_keys=True) + "\n"
    assert m["version"] == 1 and m["stack"] == "man"
    assert m["steps"] == [
        "job:prep",
        "transfer:raw@gcp:europe-west4",
        "transfer:clean@gcp:europe-west4",
        "job:train",
    ]
    steps = m["steps"]
    assert steps.index("transfer:clean@gcp:europe-west4") < steps.index("job:train")
    assert steps.index("transfer:raw@gcp:europe-west4") < steps.index("job:train")
    train = next(j for j in m["jobs"] if j["name"] == "train")
    assert train["instance"] == "train.man.gcp.europe-west4"
    assert train["after"] == [
        "job:prep",
        "transfer:clean@gcp:europe-west4",
        "transfer:raw@gcp:europe-west4",
    ]
    assert train["inputs"][0]["env"] == "SKYPLAN_INPUT_CLEAN"
    assert train["command"] == "./train"
    clean = next(t for t in m["transfers"] if t["dataset"] == "clean")
    assert clean["after"] == ["job:prep"]
    assert clean["commands"] == [
        [
            "gcloud", "storage", "rsync", "--recursive", "--delete-unmatched-destination-objects",
            "s3://skyplan-man-eu-west-1/outputs/clean/",
            "gs://skyplan-man-europe-west4/copies/clean/",
        ]
    ]  # fmt: skip
    assert {s["uri"] for s in m["storage"]} == {
        "s3://skyplan-man-eu-west-1/",
        "gs://skyplan-man-europe-west4/",
    }


def test_a_data_set_without_uri_has_no_commands(
    emitted: Callable[[str], dict[str, str]], two_clouds: str
) -> None:
    m = json.loads(emitted(two_clouds.replace("    uri: s3://acme-raw/in\n", ""))["manifest.json"])
    raw = next(t for t in m["transfers"] if t["dataset"] == "raw")
    assert raw["source"] is None and raw["commands"] == []
