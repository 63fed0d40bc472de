"""scripts/build_provider_schemas.py on small synthetic inputs: subset, stripping, determinism."""

from __future__ import annotations

import gzip
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

from skyplan.validate.types import EMITTED_TYPES

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "skyplan" / "validate" / "data"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    """The build script, imported from its file."""
    path = ROOT / "scripts" / "build_provider_schemas.py"
    spec = importlib.util.spec_from_file_location("build_provider_schemas", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _schema(kind: str) -> dict[str, object]:
    """A raw schema entry with descriptions, a nested block and a computed attribute."""
    return {
        "version": 1,
        "block": {
            "attributes": {
                "id": {"type": "string", "computed": True, "description_kind": "plain"},
                "name": {"type": "string", "required": True, "description": f"the {kind}"},
            },
            "block_types": {
                "rule": {
                    "nesting_mode": "list",
                    "max_items": 1,
                    "block": {"attributes": {"days": {"type": "number", "optional": True}}},
                }
            },
            "description_kind": "plain",
        },
    }


def _write_inputs(script: ModuleType, shared: Path) -> None:
    """One input document per registry provider, with every emitted type plus an extra one."""
    shared.mkdir()
    for types in EMITTED_TYPES:
        if types.builtin:
            continue
        entry = {
            "resource_schemas": {t: _schema(t) for t in (*types.resources, "extra_thing")},
            "data_source_schemas": {t: _schema(t) for t in types.data_sources},
        }
        doc = {
            "format_version": "1.0",
            "provider_schemas": {types.address: entry},
            "_provenance": {"source": f"test {types.name}"},
        }
        (shared / script.INPUTS[types.name]).write_text(json.dumps(doc))


def test_build_writes_a_stripped_deterministic_subset(script: ModuleType, tmp_path: Path) -> None:
    shared, out = tmp_path / "shared", tmp_path / "out"
    _write_inputs(script, shared)
    out.mkdir()
    for name in ("metadata.json", "terraform.json.gz"):  # kept when terraform is absent
        shutil.copy(SHIPPED / name, out / name)
    args = ["--shared", str(shared), "--out", str(out), "--terraform", ""]
    assert script.main(args) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert script.main(args) == 0
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    assert script.main([*args, "--check"]) == 0

    aws = json.loads(gzip.decompress(first["aws.json.gz"]))
    assert "extra_thing" not in aws["resource_schemas"]
    assert aws["resource_schemas"]["aws_vpc"] == {
        "block": {
            "attributes": {
                "id": {"computed": True, "type": "string"},
                "name": {"required": True, "type": "string"},
            },
            "block_types": {
                "rule": {
                    "block": {"attributes": {"days": {"optional": True, "type": "number"}}},
                    "max_items": 1,
                    "nesting_mode": "list",
                }
            },
        }
    }
    meta = json.loads(first["metadata.json"])
    assert meta["providers"]["aws"]["provenance"] == {"source": "test aws"}
    assert meta["providers"]["aws"]["version"] == "6.47.0"
    assert (
        meta["providers"]["terraform"]
        == json.loads((SHIPPED / "metadata.json").read_text())["providers"]["terraform"]
    )

    (out / "google.json.gz").write_bytes(gzip.compress(b"{}\n", mtime=0))
    assert script.main([*args, "--check"]) == 1


def test_missing_emitted_type_stops_the_build(script: ModuleType, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    _write_inputs(script, shared)
    path = shared / script.INPUTS["google"]
    doc = json.loads(path.read_text())
    del doc["provider_schemas"]["registry.terraform.io/hashicorp/google"]["resource_schemas"][
        "google_compute_instance"
    ]
    path.write_text(json.dumps(doc))
    with pytest.raises(SystemExit) as exc:
        script.build(shared, tmp_path / "out", None)
    assert str(exc.value.code).endswith("resource_schemas lacks google_compute_instance")
