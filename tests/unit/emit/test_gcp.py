"""The GCP emitter: one root module per plan, checked by parsing the HCL and scripts it writes."""

from __future__ import annotations

import base64
import json
import re
import shlex
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skyplan.emit.clouds.gcp import condition_title, prefix_condition, unique_ids
from skyplan.emit.naming import dataset_tag
from skyplan.errors import InputError
from skyplan.validate.hcl import HclBlock, HclFile

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

FEATURES = "Features.Extracted.From.The.Raw.Landing.Batch.For.Training"
SPEC = """\
version: 1
name: gct
clouds: [gcp]
datasets:
  raw: {size: 100GB, location: "gcp:europe-west4", uri: "gs://acme-raw/landing/batch-1"}
jobs:
  Prep-Step.v2:
    run: ./prep.sh --in "$SKYPLAN_INPUT_RAW"
    resources: {cpus: 4, spot: true}
    nodes: 2
    hours: 1
    inputs: [raw]
    outputs: {clean.set: 20GB, @FEATURES@: 5GB}
    regions: ["gcp:europe-west4"]
  train:
    run: |
@TRAIN@
    resources: {accelerators: "V100:2"}
    hours: 2
    inputs: [clean.set, raw]
    outputs: {model: 1GB}
    regions: ["gcp:europe-west4"]
  t4:
    run: python t4.py
    resources: {accelerators: "T4:1"}
    hours: 1
    inputs: [model, raw]
    regions: ["gcp:europe-west1"]
  report:
    run: ./report.sh
    resources: {cpus: 2}
    hours: 1
    inputs: [model]
    regions: ["gcp:europe-west4"]
""".replace("@TRAIN@", textwrap.indent(TRAIN, " " * 6).rstrip("\n")).replace("@FEATURES@", FEATURES)

COMMANDS = {
    "Prep_Step_v2": './prep.sh --in "$SKYPLAN_INPUT_RAW"',
    "train": TRAIN.rstrip("\n"),
    "t4": "python t4.py",
    "report": "./report.sh",
}
JOBS = {"Prep_Step_v2": "Prep-Step.v2", "train": "train", "t4": "t4", "report": "report"}
ALIASES = {"europe-west4": "europe_west4", "europe-west1": "europe_west1"}
GPUS = {"train", "t4"}
LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
LABEL_VALUE = re.compile(r"[a-z0-9_-]{0,63}")


# ------------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------------


@pytest.fixture
def files(emitted: Emitted) -> dict[str, str]:
    """Every file of SPEC, by path."""
    return emitted(SPEC)


@pytest.fixture
def main(files: dict[str, str], hcl: Parse) -> HclFile:
    """gcp/main.tf of SPEC, parsed."""
    return hcl(files["gcp/main.tf"])


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
    prefix, suffix = "gcp/scripts/", ".sh.tftpl"
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


def offering(instance_type: str) -> tuple[str, list[dict[str, Any]]]:
    """The machine type and attached GPUs a catalog type names (`n1-standard-4+2xnvidia-...`)."""
    m = re.fullmatch(r"(?P<machine>[^+]+)(?:\+(?P<count>\d+)x(?P<kind>.+))?", instance_type)
    assert m, instance_type
    gpus = [{"type": m["kind"], "count": int(m["count"])}] if m["kind"] else []
    return m["machine"], gpus


# ------------------------------------------------------------------------------------------------
# The module
# ------------------------------------------------------------------------------------------------


def test_the_plan_uses_the_placements_the_tests_rely_on(files: dict[str, str]) -> None:
    """Two regions, spot and two nodes for prep, N1 offerings with T4s and V100s for the GPUs."""
    placed = placements(files)
    assert {job: (p["region"], p["spot"]) for job, p in placed.items()} == {
        "Prep-Step.v2": ("europe-west4", True),
        "train": ("europe-west4", False),
        "t4": ("europe-west1", False),
        "report": ("europe-west4", False),
    }
    assert placed["Prep-Step.v2"]["nodes"] == 2
    assert re.fullmatch(r"n1-[a-z0-9-]+\+2xnvidia-tesla-v100", placed["train"]["instance_type"])
    assert re.fullmatch(r"n1-[a-z0-9-]+\+1xnvidia-tesla-t4", placed["t4"]["instance_type"])


def test_module_files(files: dict[str, str], hcl: Parse) -> None:
    assert sorted(p for p in files if p.startswith("gcp/")) == [
        "gcp/main.tf",
        "gcp/outputs.tf",
        "gcp/scripts/Prep_Step_v2.sh.tftpl",
        "gcp/scripts/report.sh.tftpl",
        "gcp/scripts/t4.sh.tftpl",
        "gcp/scripts/train.sh.tftpl",
        "gcp/variables.tf",
        "gcp/versions.tf",
    ]
    (terraform_block,) = hcl(files["gcp/versions.tf"]).blocks
    providers = value(child(terraform_block, "required_providers"), "google")
    assert providers == {"source": "hashicorp/google", "version": "~> 6.50"}


def test_one_provider_per_region_in_the_given_project(
    main: HclFile, files: dict[str, str], hcl: Parse
) -> None:
    providers = [b for b in main.blocks if b.type == "provider"]
    assert [b.labels for b in providers] == [("google",)] * 2
    assert {value(b, "alias"): value(b, "region") for b in providers} == {
        "europe_west1": "europe-west1",
        "europe_west4": "europe-west4",
    }
    for b in providers:
        assert value(b, "project") == "${var.project_id}"
        assert value(b, "default_labels") == "${local.labels}"
    variables = {b.labels[0]: b for b in hcl(files["gcp/variables.tf"]).blocks}
    assert value(variables["project_id"], "type") == "string"
    assert variables["project_id"].attribute("default") is None


def test_every_block_uses_the_provider_of_its_region(main: HclFile, files: dict[str, str]) -> None:
    """Per-job blocks take their job's region, per-region blocks are named after theirs."""
    placed = placements(files)
    job_alias = {ident: ALIASES[placed[job]["region"]] for ident, job in JOBS.items()}
    checked = 0
    for b in main.blocks:
        if b.type not in ("resource", "data"):
            continue
        name = b.labels[1]
        owners = [j for j in job_alias if name == j or name.startswith(f"{j}_")]
        if owners:
            (job,) = owners
            alias = job_alias[job]
        else:
            (alias,) = [a for a in ALIASES.values() if name == a or name.startswith(f"{a}_")]
        assert value(b, "provider") == f"${{google.{alias}}}", ".".join(b.labels)
        checked += 1
    assert checked > 25


def test_instances_are_private_and_shielded(
    main: HclFile, files: dict[str, str], hcl: Parse
) -> None:
    placed = placements(files)
    instances = blocks(main, "resource", "google_compute_instance")
    assert sorted(instances) == sorted(JOBS)
    for ident, job in JOBS.items():
        inst = instances[ident]
        region = ALIASES[placed[job]["region"]]
        assert value(inst, "count") == placed[job]["nodes"]
        (nic,) = children(inst, "network_interface")
        assert not children(nic, "access_config") and not children(nic, "ipv6_access_config")
        assert nic.attribute("access_config") is None
        assert value(nic, "subnetwork") == f"${{google_compute_subnetwork.{region}.id}}"
        shielded = child(inst, "shielded_instance_config")
        assert {a.name: a.value for a in shielded.attributes} == {
            "enable_secure_boot": True,
            "enable_vtpm": True,
            "enable_integrity_monitoring": True,
        }
        email = value(child(inst, "service_account"), "email")
        assert email == f"${{google_service_account.{ident}.email}}"
        metadata = value(inst, "metadata")
        assert metadata["block-project-ssh-keys"] == "true"
        assert metadata["enable-oslogin"] == "TRUE"
        assert "startup-script" not in metadata  # metadata_startup_script replaces the node
        startup = value(inst, "metadata_startup_script")
        m = re.fullmatch(
            r'\$\{templatefile\("\$\{path\.module\}/scripts/([^"]+)", (\{.*\})\)\}', startup
        )
        assert m, startup
        assert m[1] == f"{ident}.sh.tftpl"
        assert f"gcp/scripts/{m[1]}" in files
        assert literal(hcl, m[2]) == {"node": "${count.index}"}


def test_spot_scheduling_only_where_placed_on_spot(main: HclFile, files: dict[str, str]) -> None:
    placed = placements(files)
    for ident, inst in blocks(main, "resource", "google_compute_instance").items():
        scheduling = child(inst, "scheduling")
        if placed[JOBS[ident]]["spot"]:
            assert value(scheduling, "provisioning_model") == "SPOT", ident
            assert value(scheduling, "preemptible") is True, ident
            assert value(scheduling, "automatic_restart") is False, ident
        else:
            assert value(scheduling, "provisioning_model") == "STANDARD", ident
            preemptible = scheduling.attribute("preemptible")
            assert preemptible is None or preemptible.value is False, ident
    assert [i for i in JOBS if placed[JOBS[i]]["spot"]] == ["Prep_Step_v2"]


def test_gpu_nodes_terminate_on_host_maintenance(main: HclFile) -> None:
    instances = blocks(main, "resource", "google_compute_instance")
    for ident in GPUS | {"Prep_Step_v2"}:  # GPUs and spot cannot live-migrate
        assert value(child(instances[ident], "scheduling"), "on_host_maintenance") == "TERMINATE"
    assert value(child(instances["report"], "scheduling"), "on_host_maintenance") == "MIGRATE"


def test_n1_gpu_offerings_are_a_machine_type_and_guest_accelerators(
    main: HclFile, files: dict[str, str]
) -> None:
    placed = placements(files)
    instances = blocks(main, "resource", "google_compute_instance")
    for ident, job in JOBS.items():
        machine, gpus = offering(placed[job]["instance_type"])
        inst = instances[ident]
        assert value(inst, "machine_type") == machine, ident
        attached = [
            {"type": value(g, "type"), "count": value(g, "count")}
            for g in children(inst, "guest_accelerator")
        ]
        assert attached == gpus, ident
    accelerators = {
        ident: [(value(g, "type"), value(g, "count")) for g in children(inst, "guest_accelerator")]
        for ident, inst in instances.items()
    }
    assert accelerators["train"] == [("nvidia-tesla-v100", 2)]
    assert accelerators["t4"] == [("nvidia-tesla-t4", 1)]
    assert accelerators["Prep_Step_v2"] == accelerators["report"] == []


def condition_prefixes(b: HclBlock) -> dict[str, set[str]]:
    """What the IAM Condition of a bucket role allows: `objects`, the object name prefixes
    (`projects/_/buckets/<bucket>/objects/<prefix>`), `lists`, the prefixes it may list, and
    `listed`, the exact prefixes it may list (a folder without its slash)."""
    expression = str(value(child(b, "condition"), "expression"))
    return {
        "objects": set(re.findall(r"resource\.name\.startsWith\('([^']*)'\)", expression)),
        "lists": set(re.findall(r"objectListPrefix', ''\)\.startsWith\('([^']*)'\)", expression)),
        "listed": set(re.findall(r"objectListPrefix', ''\) == '([^']*)'", expression)),
    }


LISTED = "api.getAttribute('storage.googleapis.com/objectListPrefix', '')"
CEL_TOKEN = re.compile(
    r"\s*(?:(?P<op>\|\||==|\(|\))|(?P<str>'(?:[^'\\]|\\.)*')|(?P<attr>resource\.name|"
    + re.escape(LISTED)
    + r")(?:\.startsWith\((?P<arg>'(?:[^'\\]|\\.)*')\))?)"
)


def unquote(literal: str) -> str:
    """The value of a single-quoted CEL string literal as skyplan writes them."""
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m[1], m[1]), literal[1:-1])


def cel_allows(expression: str, name: str = "projects/_/buckets/b", listed: str = "") -> bool:
    """Evaluate an IAM Condition of the form skyplan writes (`||` of parenthesised groups of
    `resource.name.startsWith('...')`, `<list prefix> == '...'` and `<list prefix>.startsWith(
    '...')`) for a request on the resource `name` that lists `listed` ('' for object requests,
    as api.getAttribute returns its default there). Anything else fails the test."""
    values = {"resource.name": name, LISTED: listed}
    tokens: list[tuple[str, str]] = []
    at = 0
    while at < len(expression):
        m = CEL_TOKEN.match(expression, at)
        assert m and m.end() > at, f"unexpected CEL at {expression[at:]!r}"
        if m["op"]:
            tokens.append(("op", m["op"]))
        elif m["str"]:
            tokens.append(("str", unquote(m["str"])))
        elif m["arg"]:
            tokens.append(("bool", str(values[m["attr"]].startswith(unquote(m["arg"])))))
        else:
            tokens.append(("str", values[m["attr"]]))
        at = m.end()

    def disjunction(i: int) -> tuple[bool, int]:
        result, i = operand(i)
        while i < len(tokens) and tokens[i] == ("op", "||"):
            right, i = operand(i + 1)
            result = result or right
        return result, i

    def operand(i: int) -> tuple[bool, int]:
        if tokens[i] == ("op", "("):
            result, i = disjunction(i + 1)
            assert tokens[i] == ("op", ")"), tokens[i:]
            return result, i + 1
        if tokens[i][0] == "bool":
            return tokens[i][1] == "True", i + 1
        left, eq, right = tokens[i : i + 3]
        assert left[0] == right[0] == "str" and eq == ("op", "=="), tokens[i:]
        return left[1] == right[1], i + 3

    result, end = disjunction(0)
    assert end == len(tokens), tokens[end:]
    return result


def test_a_prefix_condition_allows_what_gcloud_storage_rsync_asks_and_no_more() -> None:
    """`gcloud storage rsync gs://b/outputs/x/ ...` first lists `outputs/x` (no slash,
    delimiter `/`), then reads and writes objects under `outputs/x/`."""
    expression = prefix_condition("b", "outputs/x/")
    objects = "projects/_/buckets/b/objects/"
    for listed in ("outputs/x", "outputs/x/", "outputs/x/part-1/"):
        assert cel_allows(expression, listed=listed), listed
    assert cel_allows(expression, name=f"{objects}outputs/x/a.bin")
    assert cel_allows(expression, name=f"{objects}outputs/x/deep/a.bin")
    for listed in ("", "outputs", "outputs/", "outputs/xy", "outputs/xy/", "outputs/x.bak"):
        assert not cel_allows(expression, listed=listed), listed
    for name in ("outputs/x", "outputs/xy/a.bin", "outputs/y/a.bin", "_skyplan/x/a"):
        assert not cel_allows(expression, name=objects + name), name
    assert not cel_allows(expression, name="projects/_/buckets/c/objects/outputs/x/a.bin")


def test_bucket_roles_are_limited_to_the_jobs_own_prefixes(main: HclFile) -> None:
    """Every job shares its region's bucket with the others, so each object role carries an IAM
    Condition: objectUser on its outputs and its marker folder, objectViewer on its inputs,
    and nothing else; bucketViewer (bucket metadata, which `gcloud storage rsync` reads, no
    object) takes no condition. The external bucket read in place gets no grant at all."""
    own = {a: f"${{google_storage_bucket.{a}.name}}" for a in ALIASES.values()}
    user, viewer = "roles/storage.objectUser", "roles/storage.objectViewer"
    meta = "roles/storage.bucketViewer"
    w4, w1 = own["europe_west4"], own["europe_west1"]
    names = {w4: "skyplan-gct-europe-west4", w1: "skyplan-gct-europe-west1"}
    expected: dict[str, dict[tuple[str, str], set[str]]] = {
        "Prep_Step_v2": {
            (w4, user): {"_skyplan/Prep-Step.v2/", f"outputs/{FEATURES}/", "outputs/clean.set/"},
            (w4, meta): set(),
        },
        "train": {
            (w4, user): {"_skyplan/train/", "outputs/model/"},
            (w4, viewer): {"outputs/clean.set/"},
            (w4, meta): set(),
        },
        # reads copies in its own region
        "t4": {(w1, user): {"_skyplan/t4/"}, (w1, viewer): {"copies/model/", "copies/raw/"}}
        | {(w1, meta): set()},
        # reads the model beside it
        "report": {(w4, user): {"_skyplan/report/"}, (w4, viewer): {"outputs/model/"}}
        | {(w4, meta): set()},
    }
    members = blocks(main, "resource", "google_storage_bucket_iam_member")
    instances = blocks(main, "resource", "google_compute_instance")
    for ident in JOBS:
        got = bindings_of(main, ident)
        assert set(got) == set(expected[ident]), ident
        for (bucket, role), prefixes in expected[ident].items():
            if role == meta:
                (b,) = got[(bucket, role)]
                assert not children(b, "condition"), (ident, bucket)
                continue
            where = f"projects/_/buckets/{names[bucket]}/objects/"
            assert_one_binding_per_prefix(got[(bucket, role)], where, prefixes)
        mine = {n for n, b in members.items() if value(b, "member") == member(ident)}
        depends = set(value(instances[ident], "depends_on"))
        assert {f"${{google_storage_bucket_iam_member.{n}}}" for n in mine} <= depends
    assert len(members) == sum(max(len(e), 1) for x in expected.values() for e in x.values())
    # no role on a whole bucket's objects, and no legacy role (they list every object)
    assert not [b for b in members.values() if "legacy" in value(b, "role")]
    assert not [b for b in members.values() if "google_storage_bucket." not in value(b, "bucket")]


def test_external_buckets_are_granted_by_their_owners(
    files: dict[str, str], main: HclFile, hcl: Parse
) -> None:
    """The stack would need setIamPolicy on a bucket it does not own (and a destroy would take
    the grants away): it grants nothing there, and says what the owner must grant."""
    outputs = {b.labels[0]: b for b in hcl(files["gcp/outputs.tf"]).blocks}
    grants = value(outputs["external_bucket_grants"], "value")
    assert list(grants) == ["acme-raw"]
    expected = []
    for ident, job in (("Prep_Step_v2", "Prep-Step.v2"), ("train", "train")):
        account = f"${{google_service_account.{ident}.email}}"
        meta = {"job": job, "service_account": account, "role": "roles/storage.bucketViewer"}
        viewer = meta | {"role": "roles/storage.objectViewer"}
        expected.append(meta | {"condition": None})
        condition = {"title": f"{job} reads landing/batch-1/"}
        condition["expression"] = prefix_condition("acme-raw", "landing/batch-1/")
        expected.append(viewer | {"condition": condition})
    assert grants["acme-raw"] == expected
    expression = grants["acme-raw"][1]["condition"]["expression"]
    assert cel_allows(expression, listed="landing/batch-1")
    assert cel_allows(expression, name="projects/_/buckets/acme-raw/objects/landing/batch-1/a")
    assert not cel_allows(expression, name="projects/_/buckets/acme-raw/objects/landing/b/a")
    # and the module says so above each job that reads one
    note = files["gcp/main.tf"].split('resource "google_compute_instance" "train"')[0]
    note = note.rsplit("# Job train", 1)[1]
    assert "#   gs://acme-raw: roles/storage.bucketViewer\n" in note
    assert '#   gs://acme-raw: roles/storage.objectViewer if "train reads landing/batch-1/"' in note
    resources = [b for b in main.blocks if b.type == "resource"]
    assert not [b.labels for b in resources if "acme-raw" in str(b.attributes)]


def test_without_external_buckets_the_output_is_empty(emitted: Emitted, hcl: Parse) -> None:
    outputs = {b.labels[0]: b for b in hcl(emitted(wide_spec(2))["gcp/outputs.tf"]).blocks}
    assert value(outputs["external_bucket_grants"], "value") == {}


def member(ident: str) -> str:
    """The member of a job's bucket roles."""
    return f"${{google_service_account.{ident}.member}}"


def bindings_of(main: HclFile, ident: str) -> dict[tuple[str, str], list[HclBlock]]:
    """The bucket role bindings of a job, by bucket and role."""
    out: dict[tuple[str, str], list[HclBlock]] = {}
    for b in blocks(main, "resource", "google_storage_bucket_iam_member").values():
        if value(b, "member") == member(ident):
            out.setdefault((value(b, "bucket"), value(b, "role")), []).append(b)
    return out


def logical_operators(expression: str) -> int:
    """The logical operators (`&&`, `||`, `!`) of a CEL expression, as IAM counts them."""
    outside = re.sub(r"'(?:[^'\\]|\\.)*'", "''", expression)  # not inside string literals
    return len(re.findall(r"&&|\|\||!(?!=)", outside))


def assert_one_binding_per_prefix(found: list[HclBlock], where: str, prefixes: set[str]) -> None:
    """One conditional binding per prefix, each condition allowing that prefix alone, with
    distinct titles, within IAM's limits (12 logical operators, 100 title characters, 20
    bindings of one role for one principal on a bucket)."""
    assert len(found) == len(prefixes) <= 20, [b.labels for b in found]
    titles = set()
    allowed = set()
    for b in found:
        condition = child(b, "condition")
        expression, title = str(value(condition, "expression")), str(value(condition, "title"))
        assert logical_operators(expression) == 2 <= 12, expression
        assert 0 < len(title) <= 100 and title not in titles, title
        titles.add(title)
        got = condition_prefixes(b)
        (prefix,) = got["lists"]
        assert got == {"objects": {where + prefix}, "lists": {prefix}, "listed": {prefix[:-1]}}
        allowed.add(prefix)
    assert allowed == prefixes


def wide_spec(outputs: int) -> str:
    """A GCP job writing `outputs` data sets and a second one reading them all."""
    names = [f"set-{i}" for i in range(outputs)]
    produced = ", ".join(f"{n}: 1GB" for n in names)
    return f"""\
version: 1
name: wide
clouds: [gcp]
jobs:
  Wide-Job:
    run: ./wide.sh
    resources: {{cpus: 2}}
    hours: 1
    outputs: {{{produced}}}
    regions: ["gcp:europe-west4"]
  reader:
    run: ./read.sh
    resources: {{cpus: 2}}
    hours: 1
    inputs: [{", ".join(names)}]
    regions: ["gcp:europe-west4"]
"""


def test_a_job_with_eight_outputs_gets_one_binding_per_prefix(emitted: Emitted, hcl: Parse) -> None:
    """All of a bucket's prefixes in one condition would need 3 logical operators a prefix, and
    IAM refuses more than 12: eight outputs and the marker folder are nine bindings."""
    main = hcl(emitted(wide_spec(8))["gcp/main.tf"])
    bucket = "${google_storage_bucket.europe_west4.name}"
    where = "projects/_/buckets/skyplan-wide-europe-west4/objects/"
    outputs = {f"outputs/set-{i}/" for i in range(8)}
    user, viewer = "roles/storage.objectUser", "roles/storage.objectViewer"
    wide = bindings_of(main, "Wide_Job")
    assert set(wide) == {(bucket, user), (bucket, "roles/storage.bucketViewer")}
    assert_one_binding_per_prefix(wide[(bucket, user)], where, outputs | {"_skyplan/Wide-Job/"})
    reader = bindings_of(main, "reader")
    assert_one_binding_per_prefix(reader[(bucket, viewer)], where, outputs)
    assert_one_binding_per_prefix(reader[(bucket, user)], where, {"_skyplan/reader/"})
    members = blocks(main, "resource", "google_storage_bucket_iam_member")
    assert len(members) == 9 + 1 + 8 + 1 + 1
    assert "Wide_Job_own_write_outputs_set_7" in members


def test_prefixes_that_clean_to_one_identifier_get_distinct_resources() -> None:
    user = "roles/storage.objectUser"
    found = [
        {"id": "own_write_a_b", "role": user, "origin": ("b", "a.b/")},
        {"id": "own_write_a_b", "role": user, "origin": ("b", "a_b/")},
        {"id": "own_write_c", "role": user, "origin": ("b", "c/")},
    ]
    ids = [g["id"] for g in unique_ids(found)]
    assert len(set(ids)) == 3 and ids[2] == "own_write_c", ids
    assert all(i.startswith("own_write_a_b_") for i in ids[:2]), ids


def test_a_job_needing_more_than_twenty_bindings_of_a_role_fails_the_plan(
    emitted: Emitted,
) -> None:
    with pytest.raises(InputError) as raised:
        emitted(wide_spec(20))  # 20 outputs and the marker folder: 21 objectUser bindings
    assert raised.value.exit_code == 2
    assert "job 'Wide-Job' would need 21 conditional bindings of roles/storage.objectUser" in (
        raised.value.message
    )
    assert "at most 20" in raised.value.message
    assert emitted(wide_spec(19))  # 20 bindings: within the limit


def test_long_condition_titles_are_cut_and_stay_distinct() -> None:
    long = "x" * 120
    titles = {condition_title("job", "writes", f"outputs/{long}{i}/") for i in range(3)}
    assert len(titles) == 3 and all(len(t) <= 100 for t in titles)
    assert condition_title("job", "writes", "outputs/a/") == "job writes outputs/a/"


def test_buckets_and_firewalls(main: HclFile) -> None:
    buckets = blocks(main, "resource", "google_storage_bucket")
    assert {a: value(b, "name") for a, b in buckets.items()} == {
        "europe_west1": "skyplan-gct-europe-west1",
        "europe_west4": "skyplan-gct-europe-west4",
    }
    firewalls = blocks(main, "resource", "google_compute_firewall")
    for alias, bucket in buckets.items():
        assert value(bucket, "uniform_bucket_level_access") is True
        assert value(bucket, "public_access_prevention") == "enforced"
        assert value(child(bucket, "versioning"), "enabled") is True
        conditions = [child(r, "condition") for r in children(bucket, "lifecycle_rule")]
        copies = [c for c in conditions if c.attribute("matches_prefix")]
        assert all(value(c, "matches_prefix") == ["copies/"] for c in copies)
        # copies and their old versions expire alike, after copy_expiry_days
        assert {
            (a.name, a.value) for c in copies for a in c.attributes if a.name != "matches_prefix"
        } == {
            ("age", "${var.copy_expiry_days}"),
            ("days_since_noncurrent_time", "${var.copy_expiry_days}"),
        }
        inbound = [f for n, f in firewalls.items() if n.startswith(f"{alias}_")]
        inbound = [f for f in inbound if value(f, "direction") == "INGRESS"]
        allowed = [f for f in inbound if children(f, "allow")]
        # only the region's own subnet may reach the nodes (multi-node jobs), ahead of a deny-all
        assert [value(f, "source_ranges") for f in allowed] == [["${var.subnet_cidr}"]]
        (deny,) = [f for f in inbound if children(f, "deny")]
        assert value(deny, "source_ranges") == ["0.0.0.0/0"]
        assert value(allowed[0], "priority") < value(deny, "priority")


def test_labels_are_valid_gcp_labels(main: HclFile, hcl: Parse) -> None:
    (local,) = [b for b in main.blocks if b.type == "locals"]
    m = re.fullmatch(r"\$\{merge\(var\.labels, (\{.*\})\)\}", value(local, "labels"), re.DOTALL)
    assert m, value(local, "labels")
    maps = [literal(hcl, m[1])]
    for rtype in ("google_compute_instance", "google_storage_bucket"):
        maps += [value(b, "labels") for b in blocks(main, "resource", rtype).values()]
    for labels in maps:
        for key, label in labels.items():
            assert LABEL_KEY.fullmatch(key), key
            assert LABEL_VALUE.fullmatch(label), (key, label)
    instances = blocks(main, "resource", "google_compute_instance")
    prep = value(instances["Prep_Step_v2"], "labels")
    assert prep["skyplan-job"] == "prep-step_v2"
    # the two names joined are 67 characters, over a label's 63: a summary, never a cut name
    produced = dataset_tag("gcp", [FEATURES, "clean.set"])
    assert prep["skyplan-dataset"] == produced and re.fullmatch(r"2-datasets-[0-9a-f]{8}", produced)
    assert "skyplan-dataset" not in value(instances["report"], "labels")


def test_jobs_whose_names_clean_to_the_same_host_get_distinct_instances(
    emitted: Emitted, hcl: Parse
) -> None:
    jobs = "".join(
        f"  {name}: {{run: ./x.sh, resources: {{cpus: 2}}, hours: 1, "
        f'regions: ["gcp:europe-west4"]}}\n'
        for name in ("a_b", "a.b", "Prep", "prep")
    )
    files = emitted(f"version: 1\nname: clash\nclouds: [gcp]\njobs:\n{jobs}")
    instances = blocks(hcl(files["gcp/main.tf"]), "resource", "google_compute_instance")
    names = sorted(value(b, "name") for b in instances.values())
    assert len(set(names)) == len(names) == 4, names


def test_module_validates_against_the_provider_schema(
    files: dict[str, str], tmp_path: Path
) -> None:
    check = pytest.importorskip("skyplan.validate.check")
    assert check.validate_dir(write(files, tmp_path / "stack", "gcp/")) == ()


@pytest.mark.skipif(not TERRAFORM.exists(), reason=NO_TERRAFORM)
def test_terraform_fmt_accepts_the_module(files: dict[str, str], tmp_path: Path) -> None:
    folder = write(files, tmp_path / "stack", "gcp/")
    result = terraform(["fmt", "-check", "-recursive", "-diff", str(folder)], tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------------------------
# Startup scripts
# ------------------------------------------------------------------------------------------------


def test_scripts_are_bash(files: dict[str, str]) -> None:
    for ident, text in scripts(files).items():
        assert text.startswith("#!/usr/bin/env bash\n"), ident


def test_scripts_export_the_job_environment(files: dict[str, str]) -> None:
    common = {"SKYPLAN_CLOUD": "gcp", "SKYPLAN_STACK": "gct", "SKYPLAN_NODE": "1"}
    inputs, outputs = "/var/lib/skyplan/inputs", "/var/lib/skyplan/outputs"
    features = FEATURES.upper().replace(".", "_")
    expected = {
        "Prep_Step_v2": {
            "SKYPLAN_JOB": "Prep-Step.v2",
            "SKYPLAN_REGION": "europe-west4",
            "SKYPLAN_NODES": "2",
            "SKYPLAN_INPUT_RAW": f"{inputs}/raw",
            "SKYPLAN_OUTPUT_CLEAN_SET": f"{outputs}/clean.set",
            f"SKYPLAN_OUTPUT_{features}": f"{outputs}/{FEATURES}",
        },
        "train": {
            "SKYPLAN_JOB": "train",
            "SKYPLAN_REGION": "europe-west4",
            "SKYPLAN_NODES": "1",
            "SKYPLAN_INPUT_CLEAN_SET": f"{inputs}/clean.set",
            "SKYPLAN_INPUT_RAW": f"{inputs}/raw",
            "SKYPLAN_OUTPUT_MODEL": f"{outputs}/model",
        },
        "t4": {
            "SKYPLAN_JOB": "t4",
            "SKYPLAN_REGION": "europe-west1",
            "SKYPLAN_NODES": "1",
            "SKYPLAN_INPUT_MODEL": f"{inputs}/model",
            "SKYPLAN_INPUT_RAW": f"{inputs}/raw",
        },
        "report": {
            "SKYPLAN_JOB": "report",
            "SKYPLAN_REGION": "europe-west4",
            "SKYPLAN_NODES": "1",
            "SKYPLAN_INPUT_MODEL": f"{inputs}/model",
        },
    }
    for ident, text in scripts(files).items():
        env = exports(render(text, node=1)[0])
        assert env.pop("DEBIAN_FRONTEND") == "noninteractive"  # for the tools' installers
        # parallel composite uploads write parts to gcloud/tmp/, outside the job's prefixes
        assert env.pop("CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED") == "False"
        assert env == common | expected[ident], ident


def test_gcloud_uploads_whole_objects_before_any_copy(files: dict[str, str]) -> None:
    for ident, text in scripts(files).items():
        script = render(text)[0]
        # the exit trap, defined earlier, reports (small files) whenever the script stops
        trap = script.index("trap finish EXIT")
        setting = script.index("export CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED=False")
        assert trap < setting < script.index("gcloud storage", trap), ident


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
    folder = write(files, tmp_path, "gcp/scripts/")
    for ident, text in scripts(files).items():
        expr = f'base64encode(templatefile("{ident}.sh.tftpl", {{ node = 1 }}))\n'
        result = terraform(["console"], folder, stdin=expr)
        assert result.returncode == 0, result.stdout + result.stderr
        assert base64.b64decode(json.loads(result.stdout)).decode() == render(text, 1)[0]


def test_a_command_using_the_template_variable_names_is_kept_verbatim(emitted: Emitted) -> None:
    command = 'for node in a b; do echo "${node}"; done; echo "${identity_client_id}"'
    files = emitted(SPEC.replace("run: ./report.sh", f"run: '{command}'"))
    rendered, interpolations = render(scripts(files)["report"])
    assert heredoc(rendered) == command
    assert interpolations == {"${node}"}


# ------------------------------------------------------------------------------------------------
# Byte stability
# ------------------------------------------------------------------------------------------------


def test_emitting_twice_gives_the_same_bytes(emitted: Emitted) -> None:
    assert emitted(SPEC) == emitted(SPEC)


def test_a_new_command_changes_only_its_script_and_the_manifest(emitted: Emitted) -> None:
    before = emitted(SPEC)
    after = emitted(SPEC.replace("run: ./report.sh", "run: ./report.sh --html"))
    changed = {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
    assert changed == {"gcp/scripts/report.sh.tftpl", "manifest.json"}
