"""The shipped schema subset: every emitted type present, provenance kept, files deterministic."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import pytest

from skyplan.validate.schema import all_types, provider_names, provider_schema
from skyplan.validate.types import EMITTED_TYPES, ProviderTypes, provider_name

DATA = resources.files("skyplan.validate").joinpath("data")


@pytest.mark.parametrize("types", EMITTED_TYPES, ids=lambda t: t.name)
def test_shipped_subset_holds_exactly_the_emitted_types(types: ProviderTypes) -> None:
    schema = provider_schema(types.name)
    assert schema is not None
    assert (schema.source, schema.address) == (types.source, types.address)
    assert sorted(schema.resources) == sorted(types.resources)
    assert sorted(schema.data_sources) == sorted(types.data_sources)
    assert {provider_name(t) for t in (*types.resources, *types.data_sources)} == {types.name}


def test_provider_versions_and_provenance() -> None:
    meta = json.loads(DATA.joinpath("metadata.json").read_text())
    assert meta["schema_version"] == 1
    versions = {name: p["version"] for name, p in meta["providers"].items()}
    assert {k: v for k, v in versions.items() if k != "terraform"} == {
        "aws": "6.47.0",
        "azurerm": "4.65.0",
        "google": "6.50.0",
    }
    aws = meta["providers"]["aws"]["provenance"]
    assert aws["source"] == "github.com/lonegunmanb/terraform-aws-schema (generated Go consts)"
    assert meta["providers"]["terraform"]["source"] == "terraform.io/builtin/terraform"
    assert provider_names() == ("aws", "azurerm", "google", "terraform")


def test_data_files_are_compact_sorted_and_timestamp_free() -> None:
    for types in EMITTED_TYPES:
        blob = DATA.joinpath(f"{types.name}.json.gz").read_bytes()
        assert blob[4:8] == b"\0\0\0\0"  # gzip mtime
        text = gzip.decompress(blob).decode()
        assert text == json.dumps(json.loads(text), sort_keys=True, separators=(",", ":")) + "\n"
        assert "description_kind" not in text and '"deprecated":' not in text


def test_schema_flags_and_nesting() -> None:
    aws = provider_schema("aws")
    assert aws is not None
    instance = aws.resources["aws_instance"]
    assert not instance.attributes["arn"].settable
    assert instance.attributes["instance_type"].settable
    assert instance.block_types["root_block_device"].most == 1
    assert instance.block_types["timeouts"].most == 1  # nesting mode "single"
    assert instance.block_types["ebs_block_device"].most is None
    ingress = aws.resources["aws_security_group"].attributes["ingress"].fields
    assert ingress is not None and "from_port" in ingress.attributes
    azurerm = provider_schema("azurerm")
    assert azurerm is not None and azurerm.provider is not None
    assert "features" in azurerm.provider.block_types
    assert aws.provider is None  # the aws input carries no provider configuration block
    builtin = provider_schema("terraform")
    assert builtin is not None and builtin.builtin and builtin.provider is not None
    assert provider_schema("random") is None
    assert "google_compute_instance" in all_types()
