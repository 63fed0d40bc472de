"""The Azure emitter: one root module per plan, checked by parsing the HCL it writes."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import hcl2
import pytest

from skyplan.cli.inputs import load_spec_and_catalog
from skyplan.emit.base import CloudInput
from skyplan.emit.clouds.azure import (
    AZCOPY_VERSION,
    AzureEmitter,
    data_access,
    image_kind,
    no_trusted_launch,
    os_disk_type,
)
from skyplan.emit.layout import StackLayout, stack_layout
from skyplan.emit.naming import AZURE_CONTAINER
from skyplan.emit.stack import emit_stack
from skyplan.solver.solve import solve

REGIONS = """\
cloud,region,country,jurisdictions,continent,lat,lon
azure,westeurope,NL,NL;EU;EEA,europe,52.37,4.9
azure,swedencentral,SE,SE;EU;EEA,europe,60.67,17.14
"""
OFFERINGS = """\
cloud,region,instance_type,vcpus,memory_gib,accelerator,accelerator_count,price_usd_hour,spot_price_usd_hour
azure,westeurope,Standard_D8as_v5,8,32,,0,0.40,0.08
azure,westeurope,Standard_D16s_v5,16,64,,0,0.90,
azure,westeurope,Standard_D4ps_v6,4,16,,0,0.15,
azure,westeurope,Standard_ND96asr_v4,96,900,A100,8,27.00,
azure,swedencentral,Standard_NC24ads_A100_v4,24,220,A100,1,4.00,
"""
EGRESS = """\
cloud,scope,usd_per_gb
azure,inter-region-same-continent,0.02
azure,inter-region-other-continent,0.05
azure,internet,0.087
"""
SPEC = """\
version: 1
name: aztest
clouds: [azure]
datasets:
  raw: {size: 200GB, location: "azure:westeurope", uri: "az://acmeraw/landing/batch-1/"}
  ref: {size: 20GB, location: "azure:swedencentral", uri: "az://acmeref/genomes/GRCh38/"}
jobs:
  prep:
    run: ./prep.sh
    resources: {cpus: 8, memory: 32GB, spot: true}
    hours: 2
    inputs: [raw]
    outputs: {clean: 150GB}
    regions: ["azure:westeurope"]
  train:
    run: python train.py
    resources: {accelerators: "A100:1"}
    hours: 4
    inputs: [clean, ref]
    outputs: {model: 5GB}
    regions: ["azure:swedencentral"]
  score:
    run: ./score.sh
    resources: {cpus: 16, memory: 64GB}
    nodes: 2
    hours: 1
    inputs: [model]
    outputs: {scores: 1GB}
    regions: ["azure:westeurope"]
  big:
    run: ./big.sh
    resources: {accelerators: "A100:8"}
    hours: 1
    after: [prep]
    regions: ["azure:westeurope"]
  tiny:
    run: ./tiny.sh
    resources: {cpus: 4, memory: 16GB}
    hours: 1
    inputs: [scores]
    regions: ["azure:westeurope"]
"""


def parse(text: str) -> dict[str, Any]:
    """python-hcl2's dict of one .tf file, string literals unquoted (8.x needs options for the
    7.x output shape; 7.x has none)."""
    options = getattr(hcl2, "SerializationOptions", None)
    if options is None:
        return dict(hcl2.loads(text))
    shape = options(with_comments=False, strip_string_quotes=True, explicit_blocks=False)
    return dict(hcl2.loads(text, serialization_options=shape))


def resources(doc: dict[str, Any], kind: str = "resource") -> dict[str, dict[str, Any]]:
    """`type.name` -> body of every resource (or data source) in a parsed file."""
    out: dict[str, dict[str, Any]] = {}
    for entry in doc.get(kind, []):
        for rtype, named in entry.items():
            for name, body in named.items():
                out[f"{rtype}.{name}"] = body
    return out


def of_type(all_: dict[str, dict[str, Any]], rtype: str) -> dict[str, dict[str, Any]]:
    """The bodies of one resource type, by name."""
    return {k.split(".", 1)[1]: v for k, v in all_.items() if k.startswith(f"{rtype}.")}


def object_arg(expr: str, call: str) -> dict[str, Any]:
    """The object literal passed as the last argument of `call(...)` inside `expr`, parsed."""
    m = re.search(re.escape(call) + r"\(.*?, (\{[^{}]*\})\)", expr)
    assert m, f"no {call}(..., {{...}}) in {expr}"
    return parse(f"x = {m.group(1)}")["x"]


def block(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The single nested block `name` of a body."""
    (only,) = body[name]
    return dict(only)


def plan_azure(root: Path, spec_text: str) -> tuple[Any, Any, StackLayout]:
    """The spec, plan and layout of `spec_text` against a tiny two-region Azure catalog."""
    catalog = root / "catalog"
    catalog.mkdir(exist_ok=True)
    for name, text in (
        ("regions.csv", REGIONS),
        ("offerings.csv", OFFERINGS),
        ("egress.csv", EGRESS),
    ):
        (catalog / name).write_text(text, encoding="utf-8")
    (root / "sky.yaml").write_text(spec_text, encoding="utf-8")
    spec, cat = load_spec_and_catalog(root / "sky.yaml", catalog)
    plan = solve(spec, cat, time_limit=10)
    return spec, plan, stack_layout(spec, plan)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any, StackLayout]:
    """SPEC, planned."""
    return plan_azure(tmp_path_factory.mktemp("azure"), SPEC)


@pytest.fixture(scope="module")
def files(stack: tuple[Any, Any, StackLayout]) -> dict[str, str]:
    """Every file emit_stack writes, by path."""
    spec, plan, _ = stack
    return {f.path: f.text for f in emit_stack(spec, plan, ".")}


@pytest.fixture(scope="module")
def main(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The resources of azure/main.tf."""
    return resources(parse(files["azure/main.tf"]))


def test_the_plan_uses_the_placements_the_tests_rely_on(stack: tuple[Any, Any, Any]) -> None:
    placed = {p.job: p for p in stack[1].placements}
    assert placed["prep"].spot and placed["prep"].instance_type == "Standard_D8as_v5"
    assert placed["train"].region == "swedencentral"
    assert placed["big"].instance_type == "Standard_ND96asr_v4"
    assert placed["score"].nodes == 2 and not placed["score"].spot
    assert placed["tiny"].instance_type == "Standard_D4ps_v6"


def test_module_files(files: dict[str, str]) -> None:
    azure = sorted(p for p in files if p.startswith("azure/"))
    assert azure == [
        "azure/main.tf",
        "azure/outputs.tf",
        "azure/scripts/big.sh.tftpl",
        "azure/scripts/prep.sh.tftpl",
        "azure/scripts/score.sh.tftpl",
        "azure/scripts/tiny.sh.tftpl",
        "azure/scripts/train.sh.tftpl",
        "azure/variables.tf",
        "azure/versions.tf",
    ]
    versions = parse(files["azure/versions.tf"])["terraform"][0]
    assert versions["required_providers"][0]["azurerm"] == {
        "source": "hashicorp/azurerm",
        "version": "~> 4.65",
    }


def test_one_provider_alias_per_region(files: dict[str, str], main: dict[str, Any]) -> None:
    providers = [p["azurerm"] for p in parse(files["azure/main.tf"])["provider"]]
    assert sorted(p["alias"] for p in providers) == ["swedencentral", "westeurope"]
    for p in providers:
        assert p["subscription_id"] == "${var.subscription_id}"
        assert p["storage_use_azuread"] is True
        assert "features" in p
    # every resource names its provider, and it is the alias of the region the resource lives in
    for address, body in main.items():
        m = re.fullmatch(r"\$\{azurerm\.(\w+)\}", body.get("provider", ""))
        assert m, f"{address} has no provider alias"
        location = body.get("location") or body.get("resource_group_name") or ""
        group = re.search(r"azurerm_resource_group\.(\w+)\.", location)
        if group:
            assert group.group(1) == m.group(1), address


def test_network_is_private(main: dict[str, Any]) -> None:
    for nic in of_type(main, "azurerm_network_interface").values():
        for ip in nic["ip_configuration"]:
            assert "public_ip_address_id" not in ip
            assert ip["private_ip_address_allocation"] == "Dynamic"
    for vm in of_type(main, "azurerm_linux_virtual_machine").values():
        assert "public_ip_address_id" not in vm
    # the only public addresses are the NAT gateways'
    ips = of_type(main, "azurerm_public_ip")
    assert sorted(ips) == ["swedencentral_nat", "westeurope_nat"]
    nat_ips = {
        a["public_ip_address_id"]
        for a in of_type(main, "azurerm_nat_gateway_public_ip_association").values()
    }
    assert nat_ips == {f"${{azurerm_public_ip.{name}.id}}" for name in ips}
    for region, subnet in of_type(main, "azurerm_subnet").items():
        assert subnet["default_outbound_access_enabled"] is False
        assoc = of_type(main, "azurerm_subnet_nat_gateway_association")[region]
        assert assoc["subnet_id"] == f"${{azurerm_subnet.{region}.id}}"
    for region, nsg in of_type(main, "azurerm_network_security_group").items():
        rules = {r["destination_port_range"]: r for r in nsg["security_rule"]}
        assert set(rules) == {"22", "3389", "*"}
        for r in rules.values():
            assert (r["access"], r["direction"], r["source_address_prefix"]) == (
                "Deny",
                "Inbound",
                "Internet",
            )
        assert len({r["priority"] for r in rules.values()}) == 3
        assoc = of_type(main, "azurerm_subnet_network_security_group_association")[region]
        assert (
            assoc["network_security_group_id"] == f"${{azurerm_network_security_group.{region}.id}}"
        )


def test_storage_accounts(main: dict[str, Any], stack: tuple[Any, Any, StackLayout]) -> None:
    accounts = of_type(main, "azurerm_storage_account")
    names = {b.region: b.name for b in stack[2].buckets_of("azure")}
    assert {region: a["name"] for region, a in accounts.items()} == names
    for region, a in accounts.items():
        assert a["account_kind"] == "StorageV2"
        assert a["min_tls_version"] == "TLS1_2"
        assert a["https_traffic_only_enabled"] is True
        assert a["allow_nested_items_to_be_public"] is False
        assert a["shared_access_key_enabled"] is False
        assert a["infrastructure_encryption_enabled"] is True
        rules = block(a, "network_rules")
        assert rules["default_action"] == "Deny"
        assert sorted(rules["virtual_network_subnet_ids"]) == [
            "${azurerm_subnet.swedencentral.id}",
            "${azurerm_subnet.westeurope.id}",
        ]
        blob = block(a, "blob_properties")
        assert blob["versioning_enabled"] is True
        assert block(blob, "delete_retention_policy")["days"] >= 1
        container = of_type(main, "azurerm_storage_container")[region]
        assert container["name"] == AZURE_CONTAINER
        assert container["storage_account_id"] == f"${{azurerm_storage_account.{region}.id}}"
        policy = of_type(main, "azurerm_storage_management_policy")[region]
        copies = next(r for r in policy["rule"] if r["name"] == "expire-copies")
        assert block(copies, "filters")["prefix_match"] == [f"{AZURE_CONTAINER}/copies/"]
        actions = block(copies, "actions")
        assert block(actions, "base_blob") == {
            "delete_after_days_since_modification_greater_than": "${var.copy_expiry_days}"
        }
        versions = next(r for r in policy["rule"] if r["name"] == "expire-old-versions")
        assert block(block(versions, "actions"), "version") == {
            "delete_after_days_since_creation": "${var.noncurrent_version_days}"
        }


def test_spot_only_where_placed_on_spot(main: dict[str, Any]) -> None:
    vms = of_type(main, "azurerm_linux_virtual_machine")
    prep = vms["prep"]
    assert (prep["priority"], prep["eviction_policy"], prep["max_bid_price"]) == (
        "Spot",
        "Deallocate",
        -1,
    )
    for name in ("big", "score", "tiny", "train"):
        assert not {"priority", "eviction_policy", "max_bid_price"} & set(vms[name]), name


def test_vms(main: dict[str, Any]) -> None:
    vms = of_type(main, "azurerm_linux_virtual_machine")
    nics = of_type(main, "azurerm_network_interface")
    assert vms["score"]["count"] == nics["score"]["count"] == 2
    assert vms["score"]["network_interface_ids"] == [
        "${azurerm_network_interface.score[count.index].id}"
    ]
    for name, vm in vms.items():
        assert vm["admin_username"] == "skyplan"
        assert vm["disable_password_authentication"] is True
        assert vm["allow_extension_operations"] is False
        assert vm["encryption_at_host_enabled"] is True
        assert block(vm, "admin_ssh_key")["public_key"] == "${var.admin_ssh_public_key}"
        assert block(vm, "identity") == {
            "type": "UserAssigned",
            "identity_ids": [f"${{azurerm_user_assigned_identity.{name}.id}}"],
        }
        disk = block(vm, "os_disk")
        assert disk["storage_account_type"] == "Premium_LRS"
        assert isinstance(disk["disk_size_gb"], int) and disk["disk_size_gb"] >= 50
        # either the override image ID or the platform image reference, never both
        assert vm["source_image_id"].startswith("${lookup(var.image_ids, ")
        (dynamic,) = vm["dynamic"]
        assert "contains(keys(var.image_ids)" in dynamic["source_image_reference"]["for_each"]
        assert f"azurerm_role_assignment.{name}_data" in " ".join(vm["depends_on"])
    assert block(vms["prep"], "os_disk")["disk_size_gb"] == 400  # 200 + 150 GB of data + 50
    # Trusted Launch everywhere except on the size that does not support it
    for name, vm in vms.items():
        expected = name != "big"
        assert (vm["secure_boot_enabled"], vm["vtpm_enabled"]) == (expected, expected), name


def test_images_per_region_and_architecture(main: dict[str, Any], files: dict[str, str]) -> None:
    images = resources(parse(files["azure/main.tf"]), "data")
    platform = of_type(images, "azurerm_platform_image")
    assert {k: v["sku"] for k, v in platform.items()} == {
        "swedencentral_x64": "server",
        "westeurope_arm64": "server-arm64",
        "westeurope_x64": "server",
    }
    assert {v["offer"] for v in platform.values()} == {"ubuntu-24_04-lts"}
    vms = of_type(main, "azurerm_linux_virtual_machine")
    reference = vms["tiny"]["dynamic"][0]["source_image_reference"]["for_each"]
    assert "data.azurerm_platform_image.westeurope_arm64" in reference


def test_custom_data_passes_both_template_variables(main: dict[str, Any]) -> None:
    for name, vm in of_type(main, "azurerm_linux_virtual_machine").items():
        expr = vm["custom_data"]
        assert expr.startswith("${base64encode(templatefile(")
        assert f"/scripts/{name}.sh.tftpl" in expr
        arch = "arm64" if name == "tiny" else "amd64"  # tiny is a Standard_D4ps_v6 (Arm)
        assert object_arg(expr, "templatefile") == {
            "node": "${count.index}",
            "identity_client_id": f"${{azurerm_user_assigned_identity.{name}.client_id}}",
            "azcopy_version": "${var.azcopy_version}",
            "azcopy_sha256": f'${{var.azcopy_sha256["{arch}"]}}',
        }


def test_scripts_use_only_the_template_variables(files: dict[str, str]) -> None:
    for path, text in files.items():
        if path.startswith("azure/scripts/"):
            names = set(re.findall(r"(?<!\$)\$\{([^}]*)\}", text))
            assert names == {"node", "identity_client_id", "azcopy_version", "azcopy_sha256"}, path
            # AzCopy: the pinned release, its checksum verified before it is unpacked
            assert "aka.ms" not in text
            check = text.index("sha256sum --check --strict")
            assert text.index("curl -fsSL -o") < check < text.index("tar -xzf")


def test_role_assignments(main: dict[str, Any]) -> None:
    roles = of_type(main, "azurerm_role_assignment")
    jobs = of_type(main, "azurerm_user_assigned_identity")
    regions = {"big": "westeurope", "prep": "westeurope", "score": "westeurope"}
    regions |= {"tiny": "westeurope", "train": "swedencentral"}
    for job in jobs:
        own = roles[f"{job}_data"]
        role = f"azurerm_role_definition.{regions[job]}_job_data.role_definition_resource_id"
        assert own["role_definition_id"] == f"${{{role}}}"
        assert "role_definition_name" not in own
        assert own["scope"] == f"${{azurerm_storage_container.{regions[job]}.id}}"
        assert own["principal_id"] == f"${{azurerm_user_assigned_identity.{job}.principal_id}}"
        assert own["principal_type"] == "ServicePrincipal"
    # every input is read in place or from a copy in the job's own region: no cross-region reads
    assert not [name for name in roles if "_read_" in name]
    operators = {k: v for k, v in roles.items() if k.endswith("_operators")}
    assert sorted(operators) == ["swedencentral_operators", "westeurope_operators"]
    assert {v["for_each"] for v in operators.values()} == {"${toset(var.operator_principal_ids)}"}


BLOBS = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs"


def allowed(condition: str) -> dict[str, set[str]]:
    """What an ABAC condition on a blob role allows, clause by clause: the path prefixes a blob
    may be read under (`read`), listed under (`list`) and written under (`write`)."""
    m = re.fullmatch(r'\$\{join\(" AND ", \[(.*)\]\)\}', condition, re.DOTALL)
    assert m, condition
    clauses = parse(f"x = [{m[1]}]")["x"]
    out: dict[str, set[str]] = {}
    for clause in clauses:
        guard, _, rule = clause.partition(") OR (")
        if "NOT SubOperationMatches{'Blob.List'}" in guard:
            kind = "read"
        elif "SubOperationMatches{'Blob.List'}" in guard:
            kind = "list"
        else:
            assert guard.count("ActionMatches") == 3, guard  # add/action, delete and write
            for action in ("add/action", "delete", "write"):
                assert f"{BLOBS}/{action}'" in guard, guard
            kind = "write"
        attribute = "@Request" if kind == "list" else "@Resource"
        found = re.findall(
            rf"{attribute}\[{BLOBS}:(?:path|prefix)\] StringStartsWith '([^']*)'", rule
        )
        exact = re.findall(rf"@Resource\[{BLOBS}:path\] StringEquals '([^']*)'", rule)
        assert found and rule.count(" OR ") == len(found) + len(exact) - 1, rule
        out[kind] = set(found)
        if kind == "read":
            # azcopy reads the prefix without its slash too (a 404 there means "a folder")
            assert set(exact) == {p.rstrip("/") for p in found}, rule
        else:
            assert not exact, rule
    return out


ABAC_TOKEN = re.compile(
    r"\s*(?:(?P<op>\(|\)|!|AND\b|OR\b|NOT\b)"
    r"|(?P<call>ActionMatches|SubOperationMatches)\{'(?P<name>[^']*)'\}"
    r"|(?P<attr>@(?:Resource|Request)\[[^\]]*\]) "
    r"(?P<cmp>StringStartsWith|StringEquals) '(?P<v>[^']*)')"
)


def abac_allows(condition: str, action: str, path: str = "", listed: str | None = None) -> bool:
    """Evaluate an ABAC condition of the form skyplan writes for one request: the data action
    (`read`, `write`, `delete`, ... under BLOBS), the blob's path, and for a list (the Blob.List
    sub-operation of read) the prefix it lists."""
    m = re.fullmatch(r'\$\{join\(" AND ", \[(.*)\]\)\}', condition, re.DOTALL)
    assert m, condition
    text = " AND ".join(f"({c})" for c in parse(f"x = [{m[1]}]")["x"])
    values = {f"@Resource[{BLOBS}:path]": path, f"@Request[{BLOBS}:prefix]": listed}
    tokens: list[Any] = []
    at = 0
    while at < len(text):
        t = ABAC_TOKEN.match(text, at)
        assert t and t.end() > at, f"unexpected ABAC at {text[at:]!r}"
        if t["op"]:
            tokens.append(t["op"])
        elif t["call"] == "ActionMatches":
            tokens.append(t["name"] == f"{BLOBS}/{action}")
        elif t["call"]:
            tokens.append(t["name"] == "Blob.List" and listed is not None)
        else:
            have = values[t["attr"]]
            if have is None:  # not in this request (a list prefix outside a list): no match
                tokens.append(False)
            elif t["cmp"] == "StringStartsWith":
                tokens.append(have.startswith(t["v"]))
            else:
                tokens.append(have == t["v"])
        at = t.end()

    def either(i: int) -> tuple[bool, int]:
        result, i = both(i)
        while i < len(tokens) and tokens[i] == "OR":
            right, i = both(i + 1)
            result = result or right
        return result, i

    def both(i: int) -> tuple[bool, int]:
        result, i = unary(i)
        while i < len(tokens) and tokens[i] == "AND":
            right, i = unary(i + 1)
            result = result and right
        return result, i

    def unary(i: int) -> tuple[bool, int]:
        if tokens[i] in ("!", "NOT"):
            result, i = unary(i + 1)
            return not result, i
        if tokens[i] == "(":
            result, i = either(i + 1)
            assert tokens[i] == ")", tokens[i:]
            return result, i + 1
        assert isinstance(tokens[i], bool), tokens[i:]
        return tokens[i], i + 1

    result, end = either(0)
    assert end == len(tokens), tokens[end:]
    return result


def test_each_job_reads_and_writes_only_its_own_prefixes(main: dict[str, Any]) -> None:
    """The region's container is shared by every job: each job's role assignment carries a
    condition that lets it read only its inputs (and the runner's go-ahead in its marker
    folder), list only those prefixes, and write or delete only its outputs and markers; its
    role cannot delete a blob version, a blob for good, or the container."""
    roles = of_type(main, "azurerm_role_assignment")
    expected = {  # job: (reads in its own container, writes)
        "prep": (set(), {"outputs/clean/"}),  # its input is external, read in place
        "train": ({"copies/clean/"}, {"outputs/model/"}),
        "score": ({"copies/model/"}, {"outputs/scores/"}),
        "big": (set(), set()),
        "tiny": ({"outputs/scores/"}, set()),
    }
    for job, (reads, writes) in expected.items():
        own = roles[f"{job}_data"]
        assert own["condition_version"] == "2.0"
        writes = writes | {f"_skyplan/{job}/"}
        assert allowed(own["condition"]) == {
            "read": reads | writes,
            "list": reads | writes,
            "write": writes,
        }, job
    for region, definition in of_type(main, "azurerm_role_definition").items():
        if not region.endswith("_job_data"):
            continue
        (permissions,) = definition["permissions"]
        assert permissions["actions"] == [
            "Microsoft.Storage/storageAccounts/blobServices/containers/read"
        ]
        assert permissions["data_actions"] == [
            f"{BLOBS}/add/action",
            f"{BLOBS}/delete",
            f"{BLOBS}/read",
            f"{BLOBS}/write",
        ]
        assert not [a for a in permissions["data_actions"] if "Version" in a or "permanent" in a]
        assert "not_data_actions" not in permissions


def test_a_node_deletes_only_under_its_write_prefixes(main: dict[str, Any]) -> None:
    """`azcopy sync --delete-destination=true` (one node mirroring its outputs) deletes what a
    resumed node no longer has: under its outputs and markers, and nowhere else."""
    roles = of_type(main, "azurerm_role_assignment")
    train = roles["train_data"]["condition"]
    for path in ("outputs/model/old.bin", "_skyplan/train/r1/node-0.log"):
        assert abac_allows(train, "delete", path), path
        assert abac_allows(train, "write", path), path
    for path in ("copies/clean/part-0", "outputs/model", "outputs/modelx/a", "outputs/clean/a"):
        assert not abac_allows(train, "delete", path), path
    for action in ("deleteBlobVersion/action", "permanentDelete/action"):
        assert not [
            d for d in of_type(main, "azurerm_role_definition").values() if action in str(d)
        ]


def test_azcopy_sync_of_a_prefix_is_allowed_and_nothing_beside_it(main: dict[str, Any]) -> None:
    """azcopy's traverser reads the properties of `outputs/scores/`, then of `outputs/scores`
    (a 404 there means a folder; a 403 stops it), then lists `outputs/scores/`."""
    tiny = of_type(main, "azurerm_role_assignment")["tiny_data"]["condition"]
    for path in ("outputs/scores/", "outputs/scores", "outputs/scores/part-0.parquet"):
        assert abac_allows(tiny, "read", path), path
    assert abac_allows(tiny, "read", listed="outputs/scores/")
    for path in ("outputs/scoresx", "outputs/scores-old/a", "outputs/model/a", "outputs"):
        assert not abac_allows(tiny, "read", path), path
    assert not abac_allows(tiny, "delete", "outputs/scores/part-0.parquet")  # read, not written
    assert not abac_allows(tiny, "read", listed="outputs/")
    # reading the bare name is all: it cannot be written
    assert not abac_allows(tiny, "write", "outputs/scores")
    assert not abac_allows(tiny, "write", "outputs/scores/a")


def test_nodes_may_deallocate_themselves_and_nothing_more(
    main: dict[str, Any], files: dict[str, str]
) -> None:
    """A VM that shuts itself down stays billed on Azure: each node deallocates itself."""
    definitions = {
        k: v for k, v in of_type(main, "azurerm_role_definition").items() if "deallocate" in k
    }
    assert sorted(definitions) == ["swedencentral_deallocate", "westeurope_deallocate"]
    for region, body in definitions.items():
        rg = f"${{azurerm_resource_group.{region.removesuffix('_deallocate')}.id}}"
        assert body["scope"] == rg and body["assignable_scopes"] == [rg]
        assert block(body, "permissions")["actions"] == [
            "Microsoft.Compute/virtualMachines/deallocate/action",
            "Microsoft.Compute/virtualMachines/read",
        ]
    # assigned on the job's own VMs, one per node, never on the resource group (where any node
    # could deallocate any VM of the stack)
    roles = of_type(main, "azurerm_role_assignment")
    vms = of_type(main, "azurerm_linux_virtual_machine")
    for job, vm in vms.items():
        mine = roles[f"{job}_deallocate"]
        assert mine["count"] == vm["count"]
        assert mine["scope"] == f"${{azurerm_linux_virtual_machine.{job}[count.index].id}}"
        assert mine["principal_id"] == f"${{azurerm_user_assigned_identity.{job}.principal_id}}"
        # the VM must not wait for an assignment that waits for the VM
        assert f"${{azurerm_role_assignment.{job}_deallocate}}" not in vm["depends_on"]
    assert vms["score"]["count"] == 2
    assert not [r for r in roles.values() if "azurerm_resource_group" in r["scope"]]
    train = roles["train_deallocate"]
    assert "azurerm_role_definition.swedencentral_deallocate" in train["role_definition_id"]
    script = files["azure/scripts/train.sh.tftpl"]
    finish = script[script.index("finish() {") : script.index("trap finish EXIT")]
    assert "set +e" in finish
    assert "retry curl -fsS -X POST" in finish and "/deallocate?api-version=" in finish
    assert finish.index("/deallocate?") < finish.index("shutdown -h now")


def test_reading_another_regions_container(stack: tuple[Any, Any, StackLayout]) -> None:
    spec, _, layout = stack
    buckets = {b.region: b for b in layout.buckets_of("azure")}
    train = next(j for j in layout.jobs if j.job.name == "train")
    moved = tuple(
        dataclasses.replace(i, uri=f"{buckets['westeurope'].uri}outputs/clean/")
        if i.dataset == "clean"
        else i
        for i in train.inputs
    )
    train = dataclasses.replace(train, inputs=moved)
    reads, external = data_access(train, layout.buckets_of("azure"))
    assert reads == ["westeurope"]
    assert external == ["https://acmeref.blob.core.windows.net/genomes"]

    jobs = tuple(train if j.job.name == "train" else j for j in layout.jobs)
    given = CloudInput(spec, dataclasses.replace(layout, jobs=jobs), "azure")
    text = next(f.text for f in AzureEmitter().files(given) if f.path == "azure/main.tf")
    doc = resources(parse(text))
    read = of_type(doc, "azurerm_role_assignment")["train_read_westeurope"]
    assert read["role_definition_name"] == "Storage Blob Data Reader"
    assert read["condition_version"] == "2.0"
    assert allowed(read["condition"]) == {"read": {"outputs/clean/"}, "list": {"outputs/clean/"}}
    assert read["scope"] == "${azurerm_storage_container.westeurope.id}"
    assert read["provider"] == "${azurerm.swedencentral}"
    vm = of_type(doc, "azurerm_linux_virtual_machine")["train"]
    assert "${azurerm_role_assignment.train_read_westeurope}" in vm["depends_on"]


def test_external_containers(files: dict[str, str]) -> None:
    outputs = {k: v for o in parse(files["azure/outputs.tf"])["output"] for k, v in o.items()}
    assert outputs["external_containers"]["value"] == {
        "big": [],
        "prep": ["https://acmeraw.blob.core.windows.net/landing"],
        "score": [],
        "tiny": [],
        "train": ["https://acmeref.blob.core.windows.net/genomes"],
    }
    comment = files["azure/main.tf"].split('resource "azurerm_network_interface" "train"')[0]
    assert (
        "#   https://acmeref.blob.core.windows.net/genomes" in comment.rsplit("# Job train", 1)[1]
    )


def test_custom_role_names_differ_per_subscription(
    main: dict[str, Any], files: dict[str, str]
) -> None:
    """Custom role names are unique across the Entra directory: the same stack in dev and prod
    subscriptions of one tenant needs different names, the same in every plan."""
    locals_ = parse(files["azure/main.tf"])["locals"][0]
    assert locals_["role_suffix"] == "${substr(sha1(var.subscription_id), 0, 8)}"
    names = {k: v["name"] for k, v in of_type(main, "azurerm_role_definition").items()}
    groups = {
        "westeurope": "skyplan-aztest-westeurope",
        "swedencentral": "skyplan-aztest-swedencentral",
    }
    assert names == {
        f"{region}_{kind.replace('-', '_')}": f"{group}-{kind}-${{local.role_suffix}}"
        for region, group in groups.items()
        for kind in ("deallocate", "job-data")
    }


def test_tags(main: dict[str, Any], files: dict[str, str]) -> None:
    locals_ = parse(files["azure/main.tf"])["locals"][0]
    assert object_arg(locals_["tags"], "merge") == {
        "managed-by": "skyplan",
        "skyplan-stack": "aztest",
    }
    assert locals_["tags"].startswith("${merge(var.tags, ")
    tagged = {k: v for k, v in main.items() if "tags" in v}
    untaggable = {
        "azurerm_nat_gateway_public_ip_association",
        "azurerm_role_assignment",
        "azurerm_role_definition",
        "azurerm_storage_container",
        "azurerm_storage_management_policy",
        "azurerm_subnet",
        "azurerm_subnet_nat_gateway_association",
        "azurerm_subnet_network_security_group_association",
    }
    assert {k for k in main if k.split(".")[0] not in untaggable} == set(tagged)
    for address, body in tagged.items():
        assert body["tags"].startswith(("${local.tags}", "${merge(local.tags, ")), address
    vms = of_type(main, "azurerm_linux_virtual_machine")
    assert object_arg(vms["prep"]["tags"], "merge") == {
        "skyplan-job": "prep",
        "skyplan-dataset": "clean",
    }
    assert object_arg(vms["big"]["tags"], "merge") == {"skyplan-job": "big"}
    identity = of_type(main, "azurerm_user_assigned_identity")["train"]
    assert object_arg(identity["tags"], "merge") == {"skyplan-job": "train"}
    accounts = of_type(main, "azurerm_storage_account")
    assert object_arg(accounts["westeurope"]["tags"], "merge") == {
        "skyplan-dataset": "clean+model+scores"
    }


def test_variables_and_outputs_are_typed_and_described(files: dict[str, str]) -> None:
    variables = {k: v for o in parse(files["azure/variables.tf"])["variable"] for k, v in o.items()}
    for name, body in variables.items():
        assert body.get("type") and body.get("description"), name
    for required in ("subscription_id", "admin_ssh_public_key", "azcopy_sha256"):
        assert "default" not in variables[required]
    # a pinned AzCopy release; its checksum, which skyplan cannot vouch for, is the user's
    assert variables["azcopy_version"]["default"] == AZCOPY_VERSION
    (check,) = variables["azcopy_sha256"]["validation"]
    assert '["amd64", "arm64"]' in check["condition"]  # the architectures the nodes use
    assert "inbound SSH" in variables["admin_ssh_public_key"]["description"]
    assert variables["image_ids"]["type"] == "${map(string)}"
    outputs = {k: v for o in parse(files["azure/outputs.tf"])["output"] for k, v in o.items()}
    assert {
        "storage_accounts",
        "vm_ids",
        "identity_principal_ids",
        "identity_client_ids",
        "external_containers",
    } <= set(outputs)
    for name, body in outputs.items():
        assert body.get("description"), name


def test_names_that_clash_once_cleaned_get_a_hash(tmp_path: Path) -> None:
    jobs = "".join(
        f"""  {name}:\n    run: ./x.sh\n    resources: {{cpus: 2}}\n    hours: 1\n"""
        f"""    regions: ["azure:westeurope"]\n"""
        for name in ("a_b", "a.b", "c")
    )
    spec, _, layout = plan_azure(
        tmp_path, f"version: 1\nname: clash\nclouds: [azure]\njobs:\n{jobs}"
    )
    hosts = CloudInput(spec, layout, "azure").host_names()
    assert hosts["c"] == "clash-c"
    assert hosts["a_b"] != hosts["a.b"]
    assert all(re.fullmatch(r"clash-a-b-[0-9a-f]{6}", hosts[n]) for n in ("a_b", "a.b"))


def test_data_beyond_the_os_disk_limit_goes_on_a_data_disk(tmp_path: Path) -> None:
    spec_text = """\
version: 1
name: huge
clouds: [azure]
datasets:
  lake: {size: 6TB, location: "azure:westeurope", uri: "az://acmelake/all/"}
jobs:
  scan:
    run: ./scan.sh
    resources: {cpus: 2}
    hours: 1
    inputs: [lake]
    regions: ["azure:westeurope"]
"""
    spec, plan, _ = plan_azure(tmp_path, spec_text)
    files = {f.path: f.text for f in emit_stack(spec, plan, ".")}
    found = resources(parse(files["azure/main.tf"]))
    vm = of_type(found, "azurerm_linux_virtual_machine")["scan"]
    assert block(vm, "os_disk")["disk_size_gb"] == 64  # the OS only
    disk = of_type(found, "azurerm_managed_disk")["scan_data"]
    assert disk["disk_size_gb"] == 6050 and disk["count"] == vm["count"]
    assert disk["create_option"] == "Empty" and disk["network_access_policy"] == "DenyAll"
    attach = of_type(found, "azurerm_virtual_machine_data_disk_attachment")["scan_data"]
    assert attach["lun"] == 0
    assert attach["virtual_machine_id"] == "${azurerm_linux_virtual_machine.scan[count.index].id}"
    script = files["azure/scripts/scan.sh.tftpl"]
    mount = script.index('mount "$dev" /var/lib/skyplan')
    assert "/dev/disk/azure/scsi1/lun0" in script and "mkfs.ext4" in script
    assert mount < script.index("state=/var/lib/skyplan")  # mounted before anything is written


@pytest.mark.parametrize(
    ("size", "trusted", "kind", "disk"),
    [
        ("Standard_D8as_v5", True, "x64", "Premium_LRS"),
        ("Standard_NC24ads_A100_v4", True, "x64", "Premium_LRS"),
        ("Standard_NC6s_v3", True, "x64", "Premium_LRS"),
        ("Standard_ND96asr_v4", False, "x64", "Premium_LRS"),
        ("Standard_ND96amsr_A100_v4", False, "x64", "Premium_LRS"),
        ("Standard_D4ps_v5", False, "arm64", "Premium_LRS"),
        ("Standard_D4ps_v6", True, "arm64", "Premium_LRS"),
        ("Standard_NC6", False, "x64_gen1", "StandardSSD_LRS"),
        ("Standard_D4_v3", False, "x64_gen1", "StandardSSD_LRS"),
        ("Standard_D4_v5", True, "x64", "StandardSSD_LRS"),
    ],
)
def test_size_table(size: str, trusted: bool, kind: str, disk: str) -> None:
    assert (no_trusted_launch(size) is None) is trusted
    assert image_kind(size) == kind
    assert os_disk_type(size) == disk


def test_module_validates_against_the_provider_schema(
    files: dict[str, str], tmp_path: Path
) -> None:
    check = pytest.importorskip("skyplan.validate.check")
    for path, text in files.items():
        if path.startswith("azure/"):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text, encoding="utf-8")
    assert check.validate_dir(tmp_path / "azure") == ()


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_fmt_accepts_the_module(files: dict[str, str], tmp_path: Path) -> None:
    for path, text in files.items():
        if path.endswith(".tf"):
            (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / path).write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(tmp_path)],
        capture_output=True,
        text=True,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/local/bin:/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
