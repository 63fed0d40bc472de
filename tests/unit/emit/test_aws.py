"""The AWS emitter: one root module per plan, checked by parsing the HCL and scripts it writes."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shlex
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skyplan.emit.stack import emit_stack
from skyplan.validate.hcl import HclAttribute, HclBlock, HclFile

Emitted = Callable[[str], dict[str, str]]
Parse = Callable[[str], HclFile]

TERRAFORM = Path("/usr/local/bin/terraform")
NO_TERRAFORM = f"{TERRAFORM} is not installed"

#: A command that exercises every escape: shell `${...}`, a `%{` that is not a directive, `$${`,
#: and a heredoc of its own that uses the script's default delimiter.
TRAIN = """\
set -x
echo "${SKYPLAN_INPUT_CLEAN_SET:-none}" '%{not a directive}' "$((1 + 2))" $${HOME}
cat <<'SKYPLAN_JOB_COMMAND'
a heredoc of the job's own, ended by the script's default delimiter
SKYPLAN_JOB_COMMAND
python train.py --out "$SKYPLAN_OUTPUT_MODEL"
"""

SPEC = """\
version: 1
name: awst
clouds: [aws]
datasets:
  raw: {size: 100GB, location: "aws:eu-west-1", uri: "s3://acme-raw/landing/batch-1"}
jobs:
  prep-step.v2:
    run: ./prep.sh --in "$SKYPLAN_INPUT_RAW"
    resources: {cpus: 4, spot: true}
    nodes: 2
    hours: 1
    inputs: [raw]
    outputs: {clean.set: 20GB}
    regions: ["aws:eu-west-1"]
  train:
    run: |
@TRAIN@
    resources: {accelerators: "T4:1"}
    hours: 2
    inputs: [clean.set, raw]
    outputs: {model: 1GB}
    regions: ["aws:eu-central-1"]
  score:
    run: ./score.sh
    resources: {cpus: 2}
    hours: 1
    inputs: [model]
    regions: ["aws:eu-central-1"]
""".replace("@TRAIN@", textwrap.indent(TRAIN, " " * 6).rstrip("\n"))

COMMANDS = {
    "prep_step_v2": './prep.sh --in "$SKYPLAN_INPUT_RAW"',
    "train": TRAIN.rstrip("\n"),
    "score": "./score.sh",
}
JOBS = {"prep_step_v2": "prep-step.v2", "train": "train", "score": "score"}
ALIASES = {"eu-west-1": "eu_west_1", "eu-central-1": "eu_central_1"}
WEST = "arn:aws:s3:::skyplan-awst-eu-west-1"
CENTRAL = "arn:aws:s3:::skyplan-awst-eu-central-1"
#: The prefixes each job reads: the external URI where it runs beside it, else its own copies,
#: or the output of a job in the same region.
READS = {
    "prep_step_v2": {"arn:aws:s3:::acme-raw/landing/batch-1/*", f"{WEST}/_skyplan/prep-step.v2/*"},
    "train": {
        f"{CENTRAL}/copies/clean.set/*",
        f"{CENTRAL}/copies/raw/*",
        f"{CENTRAL}/_skyplan/train/*",
    },
    "score": {f"{CENTRAL}/outputs/model/*", f"{CENTRAL}/_skyplan/score/*"},
}  # plus its own runs folder, where the runner's go-ahead (start) is
WRITES = {
    "prep_step_v2": {f"{WEST}/outputs/clean.set/*", f"{WEST}/_skyplan/prep-step.v2/*"},
    "train": {f"{CENTRAL}/outputs/model/*", f"{CENTRAL}/_skyplan/train/*"},
    "score": {f"{CENTRAL}/_skyplan/score/*"},
}
DATA_GB = {"prep_step_v2": 100 + 20, "train": 20 + 100 + 1, "score": 1}


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def files(emitted: Emitted) -> dict[str, str]:
    """Every file of SPEC, by path."""
    return emitted(SPEC)


@pytest.fixture
def main(files: dict[str, str], hcl: Parse) -> HclFile:
    """aws/main.tf of SPEC, parsed."""
    return hcl(files["aws/main.tf"])


def blocks(f: HclFile, kind: str, rtype: str) -> dict[str, HclBlock]:
    """The `kind` blocks (resource or data) of type `rtype`, by name."""
    return {b.labels[1]: b for b in f.blocks if b.type == kind and b.labels[0] == rtype}


def value(b: HclBlock, name: str) -> Any:
    """The value of the argument `name` of `b`."""
    found = b.attribute(name)
    if found is None:
        raise KeyError(f"{b.type} {'.'.join(b.labels)} sets no {name}")
    return found.value


def children(b: HclBlock, name: str) -> list[HclBlock]:
    """The nested blocks `name` of `b`."""
    return [c for c in b.blocks if c.type == name]


def child(b: HclBlock, name: str) -> HclBlock:
    """The only nested block `name` of `b`."""
    (only,) = children(b, name)
    return only


def literal(hcl: Parse, text: str) -> Any:
    """An HCL expression (an object literal, say) parsed on its own."""
    (block,) = hcl(f"locals {{\n  x = {text}\n}}\n").blocks
    return value(block, "x")


def placements(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    """plan.json's placements, by job name."""
    return {p["job"]: p for p in json.loads(files["plan.json"])["placements"]}


def render(template: str, node: int = 0) -> tuple[str, set[str]]:
    """A templatefile() template rendered as Terraform does with only `node` set, and every
    interpolation or directive left in it (`$${` and `%%{` are the escapes of `${` and `%{`)."""
    out: list[str] = []
    found: set[str] = set()
    i = 0
    while i < len(template):
        if template.startswith(("$${", "%%{"), i):
            out.append(template[i + 1 : i + 3])
            i += 3
        elif template.startswith(("${", "%{"), i):
            end = template.index("}", i) + 1
            found.add(template[i:end])
            out.append(str(node) if template[i:end] == "${node}" else template[i:end])
            i = end
        else:
            out.append(template[i])
            i += 1
    return "".join(out), found


def heredoc(script: str) -> str:
    """The body of the script's first quoted heredoc (the job's command)."""
    m = re.search(r"<<'(?P<end>\w+)'\n(?P<body>.*?)\n(?P=end)\n", script, re.DOTALL)
    assert m, "no quoted heredoc"
    return m["body"]


def exports(script: str) -> dict[str, str]:
    """The variables a script exports, values unquoted."""
    found = re.finditer(r"^export (\w+)=(.*)$", script, re.MULTILINE)
    return {m[1]: " ".join(shlex.split(m[2])) for m in found}


def scripts(files: dict[str, str]) -> dict[str, str]:
    """The startup scripts, by job identifier."""
    prefix, suffix = "aws/scripts/", ".sh.tftpl"
    return {
        p[len(prefix) : -len(suffix)]: t
        for p, t in files.items()
        if p.startswith(prefix) and p.endswith(suffix)
    }


def write(files: dict[str, str], root: Path, prefix: str) -> Path:
    """Write the files under `prefix` below `root`; the folder of `prefix`."""
    for path, text in files.items():
        if path.startswith(prefix):
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_text(text, encoding="utf-8")
    return root / prefix


def terraform(args: list[str], cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run the real terraform binary offline, with no CLI configuration."""
    env = {"TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [str(TERRAFORM), *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**env, "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(cwd)},
        check=False,
    )


# ------------------------------------------------------------------------------------------------
# The module
# ------------------------------------------------------------------------------------------------


def test_the_plan_uses_the_placements_the_tests_rely_on(files: dict[str, str]) -> None:
    """Two regions, two nodes of prep, a T4 for train; the catalog has no AWS spot prices."""
    placed = placements(files)
    assert {job: p["region"] for job, p in placed.items()} == {
        "prep-step.v2": "eu-west-1",
        "train": "eu-central-1",
        "score": "eu-central-1",
    }
    assert placed["prep-step.v2"]["nodes"] == 2
    assert placed["train"]["instance_type"].startswith("g4dn.")
    assert not any(p["spot"] for p in placed.values())


def test_module_files(files: dict[str, str], hcl: Parse) -> None:
    assert sorted(p for p in files if p.startswith("aws/")) == [
        "aws/main.tf",
        "aws/outputs.tf",
        "aws/scripts/prep_step_v2.sh.tftpl",
        "aws/scripts/score.sh.tftpl",
        "aws/scripts/train.sh.tftpl",
        "aws/variables.tf",
        "aws/versions.tf",
    ]
    (terraform_block,) = hcl(files["aws/versions.tf"]).blocks
    providers = value(child(terraform_block, "required_providers"), "aws")
    assert providers == {"source": "hashicorp/aws", "version": "~> 6.47"}


def test_one_provider_per_region(main: HclFile) -> None:
    providers = [b for b in main.blocks if b.type == "provider"]
    assert [b.labels for b in providers] == [("aws",)] * 2
    assert {value(b, "alias"): value(b, "region") for b in providers} == {
        "eu_west_1": "eu-west-1",
        "eu_central_1": "eu-central-1",
    }
    for b in providers:
        assert value(child(b, "default_tags"), "tags") == "${local.tags}"


#: Stack-wide IAM blocks (IAM is global): the VPC flow logs' role and the EC2 trust policy.
STACK_WIDE = {"assume_ec2", "assume_flow_logs", "flow_logs"}


def test_every_block_uses_the_provider_of_its_region(main: HclFile, files: dict[str, str]) -> None:
    """Per-job blocks take their job's region, per-region blocks are named after theirs."""
    placed = placements(files)
    job_alias = {ident: ALIASES[placed[job]["region"]] for ident, job in JOBS.items()}
    checked = 0
    for b in main.blocks:
        if b.type not in ("resource", "data"):
            continue
        name = b.labels[1]
        provider = value(b, "provider")
        if name in STACK_WIDE:  # IAM is global: any region's provider will do
            assert provider in {f"${{aws.{a}}}" for a in ALIASES.values()}
            continue
        if name in job_alias:
            alias = job_alias[name]
        else:
            (alias,) = [a for a in ALIASES.values() if name == a or name.startswith(f"{a}_")]
        assert provider == f"${{aws.{alias}}}", ".".join(b.labels)
        checked += 1
    assert checked > 40


def test_instances(main: HclFile, files: dict[str, str], hcl: Parse) -> None:
    placed = placements(files)
    instances = blocks(main, "resource", "aws_instance")
    assert sorted(instances) == sorted(JOBS)
    for ident, job in JOBS.items():
        inst = instances[ident]
        assert value(inst, "count") == placed[job]["nodes"]
        assert value(inst, "instance_type") == placed[job]["instance_type"]
        assert value(inst, "associate_public_ip_address") is False
        assert value(inst, "iam_instance_profile") == f"${{aws_iam_instance_profile.{ident}.name}}"
        assert value(child(inst, "metadata_options"), "http_tokens") == "required"
        disk = child(inst, "root_block_device")
        assert value(disk, "encrypted") is True
        assert value(disk, "volume_size") >= DATA_GB[ident]
        m = re.fullmatch(
            r'\$\{base64gzip\(templatefile\("\$\{path\.module\}/scripts/([^"]+)", (\{.*\})\)\)\}',
            value(inst, "user_data_base64"),
        )
        assert m, value(inst, "user_data_base64")
        assert m[1] == f"{ident}.sh.tftpl"
        assert f"aws/scripts/{m[1]}" in files
        assert literal(hcl, m[2]) == {"node": "${count.index}"}


def test_on_demand_without_a_spot_price(main: HclFile) -> None:
    """`spot: true` where the catalog lists no spot price runs on demand (SPEC section 2)."""
    for ident, inst in blocks(main, "resource", "aws_instance").items():
        assert not children(inst, "instance_market_options"), ident


def test_spot_placements_are_persistent_requests_that_stop(
    planned: Callable[[str], Any], hcl: Parse
) -> None:
    """The embedded catalog has no AWS spot prices, so the plan is placed on spot by hand."""
    spec, plan = planned(SPEC)
    on_spot = tuple(dataclasses.replace(p, spot=p.job == "train") for p in plan.placements)
    files = {
        f.path: f.text for f in emit_stack(spec, dataclasses.replace(plan, placements=on_spot))
    }
    instances = blocks(hcl(files["aws/main.tf"]), "resource", "aws_instance")
    market = child(instances["train"], "instance_market_options")
    assert value(market, "market_type") == "spot"
    options = child(market, "spot_options")
    assert value(options, "spot_instance_type") == "persistent"
    assert value(options, "instance_interruption_behavior") == "stop"
    for ident in ("prep_step_v2", "score"):
        assert not children(instances[ident], "instance_market_options"), ident


def policy(main: HclFile, ident: str) -> list[HclBlock]:
    """The statements of a job's IAM policy document."""
    return children(blocks(main, "data", "aws_iam_policy_document")[ident], "statement")


Allow = HclAttribute("effect", "Allow", None)


def granted(statements: list[HclBlock], action: str) -> set[str]:
    """The resources on which `action` is allowed."""
    allowed = [s for s in statements if (s.attribute("effect") or Allow).value == "Allow"]
    return {r for s in allowed if action in value(s, "actions") for r in value(s, "resources")}


def test_each_job_reads_its_inputs_and_writes_its_outputs_and_markers(main: HclFile) -> None:
    for ident in JOBS:
        statements = policy(main, ident)
        assert READS[ident] <= granted(statements, "s3:GetObject"), ident
        assert granted(statements, "s3:PutObject") == WRITES[ident], ident
        # `aws s3 sync --delete` of a resumed node deletes what it no longer has, there only;
        # old versions stay (versioning is on), as no version may be deleted
        assert granted(statements, "s3:DeleteObject") == WRITES[ident], ident
        assert not [a for s in statements for a in value(s, "actions") if "Version" in a]
        for s in statements:
            assert "*" not in value(s, "resources") and "s3:*" not in value(s, "actions")
        for s in statements:
            if value(s, "actions") == ["s3:ListBucket"]:
                condition = child(s, "condition")
                assert (value(condition, "test"), value(condition, "variable")) == (
                    "StringLike",
                    "s3:prefix",
                )


def test_get_object_is_granted_on_input_prefixes_only(main: HclFile) -> None:
    for ident in JOBS:
        assert granted(policy(main, ident), "s3:GetObject") == READS[ident], ident


def test_each_job_has_its_own_role_profile_and_policy(main: HclFile) -> None:
    roles = blocks(main, "resource", "aws_iam_role")
    policies = blocks(main, "resource", "aws_iam_role_policy")
    profiles = blocks(main, "resource", "aws_iam_instance_profile")
    # the one stack-wide role: VPC flow logs to CloudWatch Logs
    flow = roles.pop("flow_logs")
    assert (
        value(flow, "assume_role_policy") == "${data.aws_iam_policy_document.assume_flow_logs.json}"
    )
    assert value(policies.pop("flow_logs"), "role") == "${aws_iam_role.flow_logs.id}"
    assert sorted(roles) == sorted(policies) == sorted(profiles) == sorted(JOBS)
    for ident in JOBS:
        assert value(policies[ident], "role") == f"${{aws_iam_role.{ident}.id}}"
        assert value(policies[ident], "policy") == f"${{data.aws_iam_policy_document.{ident}.json}}"
        assert value(profiles[ident], "role") == f"${{aws_iam_role.{ident}.name}}"
        assert value(roles[ident], "assume_role_policy") == (
            "${data.aws_iam_policy_document.assume_ec2.json}"
        )


def test_buckets(main: HclFile) -> None:
    buckets = blocks(main, "resource", "aws_s3_bucket")
    assert {a: value(b, "bucket") for a, b in buckets.items()} == {
        "eu_west_1": "skyplan-awst-eu-west-1",
        "eu_central_1": "skyplan-awst-eu-central-1",
    }
    for alias in buckets:

        def of(rtype: str, alias: str = alias) -> HclBlock:
            found = blocks(main, "resource", rtype)[alias]
            assert value(found, "bucket") == f"${{aws_s3_bucket.{alias}.id}}"
            return found

        versioning = child(of("aws_s3_bucket_versioning"), "versioning_configuration")
        assert value(versioning, "status") == "Enabled"
        rule = child(of("aws_s3_bucket_server_side_encryption_configuration"), "rule")
        default = child(rule, "apply_server_side_encryption_by_default")
        assert value(default, "sse_algorithm") == "aws:kms"
        block_public = of("aws_s3_bucket_public_access_block")
        for flag in (
            "block_public_acls",
            "block_public_policy",
            "ignore_public_acls",
            "restrict_public_buckets",
        ):
            assert value(block_public, flag) is True, (alias, flag)
        rules = children(of("aws_s3_bucket_lifecycle_configuration"), "rule")
        (copies,) = [r for r in rules if any(f.attribute("prefix") for f in children(r, "filter"))]
        assert value(copies, "status") == "Enabled"
        assert value(child(copies, "filter"), "prefix") == "copies/"
        assert value(child(copies, "expiration"), "days") == "${var.copy_expiry_days}"


def test_no_security_group_allows_ingress_from_outside(main: HclFile) -> None:
    """Nodes accept traffic only from each other (multi-node jobs); defaults allow nothing."""
    groups = blocks(main, "resource", "aws_security_group")
    defaults = blocks(main, "resource", "aws_default_security_group")
    assert sorted(defaults) == sorted(ALIASES.values())
    for name, group in defaults.items():
        assert not children(group, "ingress") and group.attribute("ingress") is None, name
    for name, group in groups.items():
        (ingress,) = children(group, "ingress")
        assert value(ingress, "self") is True, name
        assert {a.name for a in ingress.attributes} == {
            "description", "protocol", "from_port", "to_port", "self",
        }  # fmt: skip
    rule_types = {"aws_security_group_rule", "aws_vpc_security_group_ingress_rule"}
    assert not [b for b in main.blocks if b.type == "resource" and b.labels[0] in rule_types]
    for ident, inst in blocks(main, "resource", "aws_instance").items():
        (group,) = value(inst, "vpc_security_group_ids")
        assert re.fullmatch(r"\$\{aws_security_group\.\w+_nodes\.id\}", group), ident


def test_tags(main: HclFile, hcl: Parse) -> None:
    (local,) = [b for b in main.blocks if b.type == "locals"]
    m = re.fullmatch(r"\$\{merge\(var\.tags, (\{.*\})\)\}", value(local, "tags"), re.DOTALL)
    assert m, value(local, "tags")
    assert literal(hcl, m[1]) == {"managed-by": "skyplan", "skyplan-stack": "awst"}
    for rtype in ("aws_iam_role", "aws_iam_instance_profile", "aws_instance"):
        for ident, b in blocks(main, "resource", rtype).items():
            if ident in STACK_WIDE:  # the flow logs' role has the stack's default tags only
                continue
            assert value(b, "tags")["skyplan-job"] == JOBS[ident], (rtype, ident)
    produced = {
        ident: value(b, "tags").get("skyplan-dataset")
        for ident, b in blocks(main, "resource", "aws_instance").items()
    }
    assert produced == {"prep_step_v2": "clean.set", "train": "model", "score": None}


def test_job_names_with_dashes_and_dots_become_identifiers(
    main: HclFile, emitted: Emitted, hcl: Parse
) -> None:
    ident = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
    for b in main.blocks:
        assert all(ident.fullmatch(label) for label in b.labels[1:]), b.labels
    assert "prep_step_v2" in blocks(main, "resource", "aws_instance")
    jobs = "".join(
        f'  {name}: {{run: ./x.sh, resources: {{cpus: 2}}, hours: 1, regions: ["aws:eu-west-1"]}}\n'
        for name in ("a_b", "a.b", "a-b")
    )
    clash = hcl(emitted(f"version: 1\nname: clash\nclouds: [aws]\njobs:\n{jobs}")["aws/main.tf"])
    names = sorted(blocks(clash, "resource", "aws_instance"))
    assert len(names) == 3
    assert all(re.fullmatch(r"a_b_[0-9a-f]{6}", n) for n in names), names


def test_script_paths_stay_apart_on_case_insensitive_file_systems(emitted: Emitted) -> None:
    jobs = "".join(
        f'  {name}: {{run: ./x.sh, resources: {{cpus: 2}}, hours: 1, regions: ["aws:eu-west-1"]}}\n'
        for name in ("Prep", "prep")
    )
    files = emitted(f"version: 1\nname: cases\nclouds: [aws]\njobs:\n{jobs}")
    paths = [p for p in files if p.startswith("aws/scripts/")]
    assert len(paths) == 2
    assert len({p.lower() for p in paths}) == 2


def test_module_validates_against_the_provider_schema(
    files: dict[str, str], tmp_path: Path
) -> None:
    check = pytest.importorskip("skyplan.validate.check")
    assert check.validate_dir(write(files, tmp_path / "stack", "aws/")) == ()


@pytest.mark.skipif(not TERRAFORM.exists(), reason=NO_TERRAFORM)
def test_terraform_fmt_accepts_the_module(files: dict[str, str], tmp_path: Path) -> None:
    folder = write(files, tmp_path / "stack", "aws/")
    result = terraform(["fmt", "-check", "-recursive", "-diff", str(folder)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------------------
# Startup scripts
# ------------------------------------------------------------------------------------------------


def test_scripts_are_bash(files: dict[str, str]) -> None:
    for ident, text in scripts(files).items():
        assert text.startswith("#!/usr/bin/env bash\n"), ident


def test_scripts_export_the_job_environment(files: dict[str, str]) -> None:
    common = {"SKYPLAN_CLOUD": "aws", "SKYPLAN_STACK": "awst"}
    inputs, outputs = "/var/lib/skyplan/inputs", "/var/lib/skyplan/outputs"
    expected = {
        "prep_step_v2": {
            "SKYPLAN_JOB": "prep-step.v2",
            "SKYPLAN_REGION": "eu-west-1",
            "SKYPLAN_NODE": "1",
            "SKYPLAN_NODES": "2",
            "SKYPLAN_INPUT_RAW": f"{inputs}/raw",
            "SKYPLAN_OUTPUT_CLEAN_SET": f"{outputs}/clean.set",
        },
        "train": {
            "SKYPLAN_JOB": "train",
            "SKYPLAN_REGION": "eu-central-1",
            "SKYPLAN_NODE": "1",
            "SKYPLAN_NODES": "1",
            "SKYPLAN_INPUT_CLEAN_SET": f"{inputs}/clean.set",
            "SKYPLAN_INPUT_RAW": f"{inputs}/raw",
            "SKYPLAN_OUTPUT_MODEL": f"{outputs}/model",
        },
        "score": {
            "SKYPLAN_JOB": "score",
            "SKYPLAN_REGION": "eu-central-1",
            "SKYPLAN_NODE": "1",
            "SKYPLAN_NODES": "1",
            "SKYPLAN_INPUT_MODEL": f"{inputs}/model",
        },
    }
    for ident, text in scripts(files).items():
        env = exports(render(text, node=1)[0])
        assert env.pop("DEBIAN_FRONTEND") == "noninteractive"  # for the tools' installers
        assert env == common | expected[ident], ident


def test_the_command_is_verbatim_in_a_quoted_heredoc(files: dict[str, str]) -> None:
    for ident, text in scripts(files).items():
        assert heredoc(render(text)[0]) == COMMANDS[ident], ident
    assert "<<'SKYPLAN_JOB_COMMAND_'\n" in scripts(files)["train"]


def test_only_node_is_left_to_templatefile_and_the_result_is_valid_bash(
    files: dict[str, str], tmp_path: Path
) -> None:
    for ident, text in scripts(files).items():
        rendered, interpolations = render(text)
        assert interpolations == {"${node}"}, ident
        script = tmp_path / f"{ident}.sh"
        script.write_text(rendered, encoding="utf-8")
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, (ident, result.stderr)


@pytest.mark.skipif(not TERRAFORM.exists(), reason=NO_TERRAFORM)
def test_terraform_renders_the_scripts_as_the_tests_do(
    files: dict[str, str], tmp_path: Path
) -> None:
    """The real templatefile() agrees with `render`, which the other script tests rely on."""
    folder = write(files, tmp_path, "aws/scripts/")
    for ident, text in scripts(files).items():
        expr = f'base64encode(templatefile("{ident}.sh.tftpl", {{ node = 1 }}))\n'
        result = terraform(["console"], folder, stdin=expr)
        assert result.returncode == 0, result.stdout + result.stderr
        assert base64.b64decode(json.loads(result.stdout)).decode() == render(text, 1)[0]


def test_a_command_using_the_template_variable_names_is_kept_verbatim(emitted: Emitted) -> None:
    command = 'for node in a b; do echo "${node}"; done; echo "${identity_client_id}"'
    files = emitted(SPEC.replace("run: ./score.sh", f"run: '{command}'"))
    rendered, interpolations = render(scripts(files)["score"])
    assert heredoc(rendered) == command
    assert interpolations == {"${node}"}


# ------------------------------------------------------------------------------------------------
# Byte stability
# ------------------------------------------------------------------------------------------------


def test_emitting_twice_gives_the_same_bytes(emitted: Emitted) -> None:
    assert emitted(SPEC) == emitted(SPEC)


def test_a_new_command_changes_only_its_script_and_the_manifest(emitted: Emitted) -> None:
    before = emitted(SPEC)
    after = emitted(SPEC.replace("run: ./score.sh", "run: ./score.sh --fast"))
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert changed == {"aws/scripts/score.sh.tftpl", "manifest.json"}
