#!/usr/bin/env python3
"""Build the provider-schema subset that `skyplan validate` checks generated Terraform against.

Reads `terraform providers schema -json` documents of hashicorp/aws, hashicorp/google and
hashicorp/azurerm (default ``../shared/data/provider-schemas`` beside the repository, override with
``--shared DIR``) and writes, into ``skyplan/validate/data`` (override with ``--out``):

- ``<provider>.json.gz``: for the types in ``skyplan.validate.types.EMITTED_TYPES`` only, the
  entry of ``provider_schemas`` with descriptions dropped: per block the attributes with their
  required/optional/computed flags and type, and the nested block types with nesting mode and
  min/max items, recursively; plus the provider configuration block when the input has one;
- ``terraform.json.gz``: the same for Terraform's builtin provider (``terraform_data``), taken from
  a real ``terraform providers schema -json`` run in a temporary module (offline: the builtin
  provider needs no download). Without terraform on PATH the committed file is kept;
- ``metadata.json``: provider source address, version, input file and SHA-256, the input's
  ``_provenance`` and the types shipped.

Output is deterministic: sorted keys, no whitespace, gzip with mtime 0. ``--check`` compares instead
of writing and exits 1 when the shipped files are out of date. Rebuild with
``.venv/bin/python scripts/build_provider_schemas.py``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from skyplan.validate.types import EMITTED_TYPES, ProviderTypes  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared" / "data" / "provider-schemas"
DEFAULT_OUT = ROOT / "skyplan" / "validate" / "data"
METADATA_SCHEMA_VERSION = 1

# Input document per provider local name; the version is the part after the last '-'.
INPUTS = {
    "aws": "aws-6.47.0.schema.json",
    "google": "google-6.50.0.schema.json",
    "azurerm": "azurerm-4.65.0.schema.json",
}

Json = dict[str, Any]


def compact(value: object) -> bytes:
    """Deterministic JSON: sorted keys, no whitespace, one newline at the end."""
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


def strip_attribute(attr: Json) -> Json:
    """An attribute's flags and type, without descriptions."""
    out: Json = {k: attr[k] for k in ("required", "optional", "computed", "type") if attr.get(k)}
    nested = attr.get("nested_type")
    if nested:
        out["nested_type"] = {
            "nesting_mode": nested.get("nesting_mode"),
            "attributes": {n: strip_attribute(a) for n, a in nested["attributes"].items()},
        }
    return out


def strip_block(block: Json) -> Json:
    """A block's attributes and nested block types, recursively, without descriptions."""
    out: Json = {}
    attrs = block.get("attributes") or {}
    if attrs:
        out["attributes"] = {name: strip_attribute(a) for name, a in attrs.items()}
    kinds = block.get("block_types") or {}
    if kinds:
        out["block_types"] = {
            name: {
                **{k: bt[k] for k in ("nesting_mode", "min_items", "max_items") if bt.get(k)},
                "block": strip_block(bt.get("block") or {}),
            }
            for name, bt in kinds.items()
        }
    return out


def subset(entry: Json, types: ProviderTypes, label: str) -> Json:
    """The shipped part of one `provider_schemas` entry; fails when a listed type is missing."""
    out: Json = {"resource_schemas": {}, "data_source_schemas": {}}
    for key, names in (
        ("resource_schemas", types.resources),
        ("data_source_schemas", types.data_sources),
    ):
        have = entry.get(key) or {}
        missing = [n for n in names if n not in have]
        if missing:
            sys.exit(f"{label}: {key} lacks {', '.join(missing)}")
        out[key] = {n: {"block": strip_block(have[n]["block"])} for n in names}
    provider = entry.get("provider")
    if provider is not None:
        out["provider"] = {"block": strip_block(provider.get("block") or {})}
    return out


def build_registry_provider(shared: Path, types: ProviderTypes) -> tuple[Json, Json]:
    """Subset and metadata for one provider read from the shared schema documents."""
    path = shared / INPUTS[types.name]
    raw = path.read_bytes()
    doc = json.loads(raw)
    entry = doc["provider_schemas"].get(types.address)
    if entry is None:
        sys.exit(f"{path}: no provider_schemas entry {types.address!r}")
    version = path.name.removesuffix(".schema.json").rsplit("-", 1)[1]
    provenance = doc.get("_provenance")
    if provenance and provenance.get("provider_version", version) != version:
        sys.exit(f"{path}: _provenance.provider_version disagrees with the file name")
    meta = {
        "input": path.name,
        "input_sha256": hashlib.sha256(raw).hexdigest(),
        "provenance": provenance,
        "version": version,
    }
    return subset(entry, types, path.name), meta


def terraform_schema(terraform: str, types: ProviderTypes) -> tuple[Json, Json]:
    """Subset and metadata of Terraform's builtin provider, from a real schema dump."""
    env = {**os.environ, "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        body = "".join(f'resource "{t}" "x" {{}}\n' for t in types.resources)
        Path(tmp, "main.tf").write_text(body)
        run = {"cwd": tmp, "env": env, "check": True, "capture_output": True, "text": True}
        subprocess.run([terraform, "init", "-input=false", "-no-color", "-backend=false"], **run)
        dump = subprocess.run([terraform, "providers", "schema", "-json"], **run).stdout
        version = json.loads(subprocess.run([terraform, "version", "-json"], **run).stdout)
    doc = json.loads(dump)
    entry = doc["provider_schemas"][types.address]
    tf_version = version["terraform_version"]
    meta = {
        "input": "terraform providers schema -json",
        "input_sha256": hashlib.sha256(dump.encode()).hexdigest(),
        "provenance": {
            "note": "builtin provider, schema dumped by the terraform CLI in an empty module",
            "source": f"Terraform v{tf_version} ({version.get('platform', 'unknown platform')})",
        },
        "version": tf_version,
    }
    return subset(entry, types, "terraform builtin"), meta


def build(shared: Path, out: Path, terraform: str | None) -> dict[str, bytes]:
    """Every output file, name -> bytes (the subsets uncompressed)."""
    files: dict[str, bytes] = {}
    providers: Json = {}
    for types in EMITTED_TYPES:
        name = f"{types.name}.json.gz"
        if not types.builtin:
            data, meta = build_registry_provider(shared, types)
        elif terraform:
            data, meta = terraform_schema(terraform, types)
        else:
            old = json.loads((out / "metadata.json").read_text())["providers"][types.name]
            files[name] = gzip.decompress((out / name).read_bytes())
            providers[types.name] = old
            print(f"{types.name}: terraform not found, kept the committed subset", file=sys.stderr)
            continue
        files[name] = compact(data)
        providers[types.name] = {
            **meta,
            "address": types.address,
            "data_sources": list(types.data_sources),
            "file": name,
            "provider_config": "provider" in data,
            "resources": list(types.resources),
            "source": types.source,
        }
    metadata = {
        "generated_by": "scripts/build_provider_schemas.py",
        "providers": providers,
        "schema_version": METADATA_SCHEMA_VERSION,
    }
    files["metadata.json"] = (json.dumps(metadata, sort_keys=True, indent=2) + "\n").encode()
    return files


def encode(name: str, data: bytes) -> bytes:
    """The bytes written for one output file (gzip without a timestamp for the subsets)."""
    return gzip.compress(data, compresslevel=9, mtime=0) if name.endswith(".gz") else data


def stale(out: Path, files: dict[str, bytes]) -> list[str]:
    """Output files whose content differs from `files` (compared uncompressed)."""
    bad = []
    for name, data in files.items():
        path = out / name
        have = path.read_bytes() if path.exists() else None
        if have is not None and name.endswith(".gz"):
            have = gzip.decompress(have)
        if have != data:
            bad.append(name)
    return bad


def main(argv: list[str] | None = None) -> int:
    """Build (or with --check, verify) the shipped provider-schema subset."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="input schema folder")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder")
    ap.add_argument("--terraform", default=shutil.which("terraform"), help="terraform binary")
    ap.add_argument("--check", action="store_true", help="compare, write nothing, exit 1 if stale")
    args = ap.parse_args(argv)
    files = build(args.shared, args.out, args.terraform)
    if args.check:
        bad = stale(args.out, files)
        for name in bad:
            print(f"out of date: {args.out / name}", file=sys.stderr)
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        blob = encode(name, data)
        (args.out / name).write_bytes(blob)
        print(f"{args.out / name}: {len(blob)} bytes ({len(data)} uncompressed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
