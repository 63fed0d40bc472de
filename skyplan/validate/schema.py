"""The shipped provider-schema subset, typed and read-only, loaded lazily once per provider."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Any

from skyplan.errors import SkyplanError

METADATA_SCHEMA_VERSION = 1
EMPTY: Mapping[str, Any] = MappingProxyType({})


@dataclass(frozen=True)
class Attribute:
    """One argument of a block: whether it must, may or cannot be set in configuration."""

    name: str
    required: bool = False
    optional: bool = False
    computed: bool = False
    # Fields of an object-typed attribute, which Terraform also accepts written as blocks.
    fields: Block | None = None

    @property
    def settable(self) -> bool:
        """False for computed-only attributes: the provider sets them, configuration cannot."""
        return self.required or self.optional


@dataclass(frozen=True)
class BlockType:
    """A nested block type: its schema and how many blocks of it a body may hold."""

    name: str
    nesting_mode: str
    min_items: int
    max_items: int | None
    block: Block

    @property
    def most(self) -> int | None:
        """The largest number of blocks allowed (single and group blocks allow one)."""
        if self.max_items:
            return self.max_items
        return 1 if self.nesting_mode in ("single", "group") else None


@dataclass(frozen=True)
class Block:
    """The schema of one block body: its arguments and its nested block types."""

    attributes: Mapping[str, Attribute] = field(default_factory=lambda: EMPTY)
    block_types: Mapping[str, BlockType] = field(default_factory=lambda: EMPTY)


@dataclass(frozen=True)
class ProviderSchema:
    """The shipped schema of one provider: configuration block, resources and data sources."""

    name: str
    source: str
    address: str
    version: str
    provider: Block | None
    resources: Mapping[str, Block]
    data_sources: Mapping[str, Block]

    @property
    def builtin(self) -> bool:
        """True for a provider built into Terraform (no download, no required_providers entry)."""
        return self.address.startswith("terraform.io/builtin/")

    @property
    def label(self) -> str:
        """Source and version, as named in messages (e.g. 'hashicorp/aws 6.47.0')."""
        return f"{self.source} {self.version}"


def _object_fields(cty: object) -> Block | None:
    """Fields of an object, list-of-object or set-of-object cty type; None for anything else."""
    if isinstance(cty, list) and len(cty) == 2 and cty[0] in ("list", "set"):
        cty = cty[1]
    if not (isinstance(cty, list) and len(cty) >= 2 and cty[0] == "object"):
        return None
    attrs = {
        name: Attribute(name, optional=True, fields=_object_fields(sub))
        for name, sub in sorted(cty[1].items())
    }
    return Block(attributes=MappingProxyType(attrs))


def _attribute(name: str, raw: Mapping[str, Any]) -> Attribute:
    """One attribute from its JSON form."""
    return Attribute(
        name,
        required=bool(raw.get("required")),
        optional=bool(raw.get("optional")),
        computed=bool(raw.get("computed")),
        fields=_object_fields(raw.get("type")),
    )


def block_from_json(raw: Mapping[str, Any]) -> Block:
    """A Block from the `block` object of `terraform providers schema -json`."""
    attrs = {n: _attribute(n, a) for n, a in sorted((raw.get("attributes") or {}).items())}
    kinds = {
        n: BlockType(
            n,
            nesting_mode=bt.get("nesting_mode", "list"),
            min_items=int(bt.get("min_items") or 0),
            max_items=int(bt["max_items"]) if bt.get("max_items") else None,
            block=block_from_json(bt.get("block") or {}),
        )
        for n, bt in sorted((raw.get("block_types") or {}).items())
    }
    return Block(MappingProxyType(attrs), MappingProxyType(kinds))


def _read(name: str) -> bytes:
    """One file of the shipped data folder."""
    return resources.files("skyplan.validate").joinpath("data", name).read_bytes()


@cache
def _metadata() -> Mapping[str, Any]:
    """The shipped metadata.json (provider sources, versions, provenance)."""
    meta = json.loads(_read("metadata.json"))
    if meta.get("schema_version") != METADATA_SCHEMA_VERSION:
        raise SkyplanError(
            f"skyplan/validate/data/metadata.json has schema version {meta.get('schema_version')}"
            f", expected {METADATA_SCHEMA_VERSION}",
            hint="rebuild it with scripts/build_provider_schemas.py",
        )
    return MappingProxyType(meta["providers"])


def provider_names() -> tuple[str, ...]:
    """Local names of the providers with a shipped schema, sorted."""
    return tuple(sorted(_metadata()))


@cache
def provider_schema(name: str) -> ProviderSchema | None:
    """The shipped schema of provider `name` (local name, e.g. 'aws'), or None when not shipped."""
    info = _metadata().get(name)
    if info is None:
        return None
    doc = json.loads(gzip.decompress(_read(info["file"])))
    provider = doc.get("provider")

    def blocks(key: str) -> Mapping[str, Block]:
        """The typed schemas of one table (resource_schemas or data_source_schemas)."""
        items = sorted((doc.get(key) or {}).items())
        return MappingProxyType({t: block_from_json(s["block"]) for t, s in items})

    return ProviderSchema(
        name=name,
        source=info["source"],
        address=info["address"],
        version=info["version"],
        provider=block_from_json(provider.get("block") or {}) if provider is not None else None,
        resources=blocks("resource_schemas"),
        data_sources=blocks("data_source_schemas"),
    )


def all_types() -> tuple[str, ...]:
    """Every resource and data-source type of every shipped provider, sorted."""
    names: set[str] = set()
    for provider in provider_names():
        schema = provider_schema(provider)
        if schema is not None:
            names.update(schema.resources, schema.data_sources)
    return tuple(sorted(names))
