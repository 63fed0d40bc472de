"""`skyplan plan` through the real console script: output files, formats and exit codes."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Cli = Callable[..., subprocess.CompletedProcess[str]]
Write = Callable[[str, str], Path]

TINY_SPEC = """\
    version: 1
    name: tiny
    datasets:
      d: {size: 5GB, location: "aws:eu-west-1"}
    jobs:
      j:
        run: ./crunch.sh
        resources: {cpus: 2}
        hours: 10
        inputs: [d]
    """

TINY_PLAN = {
    "version": 1,
    "stack": "tiny",
    "total_usd": 0.75,
    "compute_usd": 0.5,
    "transfer_usd": 0.25,
    "placements": [
        {
            "job": "j",
            "cloud": "aws",
            "region": "us-east-1",
            "instance_type": "m.large",
            "spot": False,
            "nodes": 1,
            "hours": 10.0,
            "usd_per_hour": 0.05,
            "usd": 0.5,
        }
    ],
    "transfers": [
        {
            "dataset": "d",
            "from": "aws:eu-west-1",
            "to": "aws:us-east-1",
            "gb": 5.0,
            "usd_per_gb": 0.05,
            "usd": 0.25,
        }
    ],
    "solver": {"status": "OPTIMAL"},
}

LOCAL_SPEC = """\
    version: 1
    name: demo
    clouds: [local]
    datasets:
      raw: {size: 10GB, location: "local:local-b"}
    jobs:
      prep:
        run: echo prep
        resources: {cpus: 2}
        hours: 1
        inputs: [raw]
        outputs: {clean: 5GB}
      train:
        run: echo train
        resources: {cpus: 4, memory: 16}
        hours: 2
        inputs: [clean]
    """


#: The embedded catalog's prices are over 30 days old: `plan` says so before it solves.
STALE = "warning: the oldest prices in the embedded catalog are "


def _assert_clean_error(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """The error block of a failed run (after the stale-catalog warning, if any)."""
    assert proc.returncode == code, proc.stderr
    first, _, rest = proc.stderr.partition("\n")
    error = rest if first.startswith(STALE) else proc.stderr
    assert error.startswith("error: ")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    return error


def test_version(cli: Cli, work: Path) -> None:
    from skyplan import __version__

    proc = cli("--version", cwd=work)
    assert proc.returncode == 0
    assert proc.stdout == f"skyplan {__version__}\n"


def test_plan_writes_plan_json(cli: Cli, work: Path, write: Write, tiny_catalog: Path) -> None:
    spec = write("spec/sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "--out", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    text = (work / "out" / "plan.json").read_text(encoding="utf-8")
    assert json.loads(text) == TINY_PLAN
    # sorted keys, two-space indent, trailing newline
    assert text == json.dumps(TINY_PLAN, indent=2, sort_keys=True) + "\n"
    assert text.startswith('{\n  "compute_usd": 0.5,\n  "placements": [\n    {\n')
    assert str(work) not in text and str(spec) not in text  # no absolute paths


def test_plan_table_output(cli: Cli, work: Path, write: Write, tiny_catalog: Path) -> None:
    spec = write("spec/sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "--out", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "Plan tiny: placements" in out
    assert "us-east-1" in out and "m.large" in out
    assert "aws:eu-west-1 +$0.25" in out  # the runner-up
    assert "Transfers" in out
    assert "Total $0.75 = $0.50 compute + $0.25 transfer" in out
    # what the total leaves out: finished nodes are stopped, not deleted
    assert "nodes power off when their job is done but are not deleted" in " ".join(out.split())
    assert "Solver: OPTIMAL (proven cheapest)" in out
    assert out.rstrip().endswith("Wrote out/: aws/ (5 files), manifest.json, plan.json")


def test_format_json_prints_exactly_plan_json(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    spec = write("spec/sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "-o", "out", "--format", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (work / "out" / "plan.json").read_text(encoding="utf-8")
    assert json.loads(proc.stdout) == TINY_PLAN


def test_format_markdown(cli: Cli, work: Path, write: Write, tiny_catalog: Path) -> None:
    spec = write("spec/sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "-o", "out", "-f", "markdown", cwd=work)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == "### skyplan plan `tiny`: $0.75"
    assert "| job | cloud | region | instance | nodes | $/h | hours | cost | runner-up |" in lines
    assert "|---|---|---|---|---|---|---|---|---|" in lines
    assert (
        "| j | aws | us-east-1 | m.large | 1 | 0.0500 | 10 | $0.50 | aws:eu-west-1 +$0.25 |"
        in lines
    )
    assert "| data set | from | to | GB | $/GB | cost |" in lines
    assert "| d | aws:eu-west-1 | aws:us-east-1 | 5 | 0.0500 | $0.25 |" in lines
    assert proc.stdout.endswith("\n")
    assert (work / "out" / "plan.json").is_file()


def test_format_markdown_counts_one_job_in_the_singular(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    spec = write("spec/sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "-o", "out", "-f", "markdown", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "$0.25 transfer, 1 job on aws." in proc.stdout


def test_default_out_dir_is_stacks_name_under_cwd(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    spec = write("elsewhere/sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "--format", "json", cwd=work)
    assert proc.returncode == 0, proc.stderr
    written = work / "stacks" / "tiny" / "plan.json"
    assert written.read_text(encoding="utf-8") == proc.stdout
    assert not (spec.parent / "stacks").exists()


def test_embedded_catalog_plan_on_local_cloud(cli: Cli, work: Path, write: Write) -> None:
    spec = write("sky.yaml", LOCAL_SPEC)
    proc = cli("plan", spec, "--format", "json", "--out", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    # moving 10 GB off local-b costs more than local-a saves, so everything stays with the data
    assert [(p["job"], p["region"], p["instance_type"]) for p in plan["placements"]] == [
        ("prep", "local-b", "local.small"),
        ("train", "local-b", "local.medium"),
    ]
    assert (plan["total_usd"], plan["compute_usd"], plan["transfer_usd"]) == (0.075, 0.075, 0.0)
    assert plan["transfers"] == []


def test_same_input_gives_the_same_plan_byte_for_byte(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: twice
        datasets:
          ref: {size: 60GB, location: "gcp:us-central1"}
          eu: {size: 200GB, location: "aws:eu-west-1", jurisdictions: [EU]}
        jobs:
          a: {run: x, hours: 2, resources: {cpus: 8, memory: 32}, inputs: [ref, eu]}
          b: {run: x, hours: 1, resources: {accelerators: "T4:1"}, inputs: [ref]}
        """,
    )
    first = cli("plan", spec, "-f", "json", "-o", "one", cwd=work)
    second = cli("plan", spec, "-f", "json", "-o", "two", cwd=work)
    assert first.returncode == second.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    assert (work / "one" / "plan.json").read_bytes() == (work / "two" / "plan.json").read_bytes()
    plan = json.loads(first.stdout)
    assert [p["job"] for p in plan["placements"]] == ["a", "b"]
    from skyplan.catalog import load_embedded_catalog

    a = plan["placements"][0]
    assert "EU" in load_embedded_catalog().region_by_key[f"{a['cloud']}:{a['region']}"].tags


def test_local_is_never_used_unless_named(cli: Cli, work: Path, write: Write) -> None:
    spec = write("sky.yaml", "version: 1\nname: nolocal\njobs:\n  a: {run: x, hours: 1}\n")
    proc = cli("plan", spec, "-f", "json", "-o", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    (placement,) = json.loads(proc.stdout)["placements"]
    assert placement["cloud"] in {"aws", "gcp", "azure"}


def test_catalog_flag_replaces_the_catalog(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    spec = write("sky.yaml", TINY_SPEC)
    embedded = cli("plan", spec, "-f", "json", "-o", "a", cwd=work)
    tiny = cli("plan", spec, "-f", "json", "-o", "b", "--catalog", tiny_catalog, cwd=work)
    assert embedded.returncode == tiny.returncode == 0, embedded.stderr + tiny.stderr
    assert json.loads(tiny.stdout)["placements"][0]["instance_type"] == "m.large"
    assert json.loads(embedded.stdout)["placements"][0]["instance_type"] != "m.large"


def test_spec_catalog_is_relative_to_the_spec_and_the_flag_wins(
    cli: Cli, work: Path, write: Write, make_catalog: Callable[[Path], Path], tmp_path: Path
) -> None:
    make_catalog(tmp_path / "project" / "prices")
    spec = write(
        "project/sky.yaml", TINY_SPEC.replace("name: tiny", "name: tiny\n    catalog: prices")
    )
    proc = cli("plan", spec, "-f", "json", "-o", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == TINY_PLAN
    # --catalog wins over the spec's catalog: a catalog without us-east-1 moves the job
    other = make_catalog(tmp_path / "other")
    (other / "offerings.csv").write_text(
        (other / "offerings.csv")
        .read_text(encoding="utf-8")
        .replace("aws,us-east-1,m.large,2,8,,0,0.05,\n", ""),
        encoding="utf-8",
    )
    proc2 = cli("plan", spec, "-f", "json", "-o", "out2", "--catalog", other, cwd=work)
    assert proc2.returncode == 0, proc2.stderr
    (placement,) = json.loads(proc2.stdout)["placements"]
    assert (placement["region"], placement["usd"]) == ("eu-west-1", 1.0)


def test_jurisdictions_are_inherited_end_to_end(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: sovereign
        datasets:
          patients: {size: 1GB, location: "aws:eu-west-1", jurisdictions: [EU]}
          public: {size: 1GB, location: "aws:eu-west-1"}
        jobs:
          clean: {run: x, hours: 1, inputs: [patients], outputs: {cleaned: 1GB}}
          train: {run: x, hours: 100, inputs: [cleaned]}
          other: {run: x, hours: 100, inputs: [public]}
        """,
    )
    proc = cli("plan", spec, "-f", "json", "-o", "out", "--catalog", tiny_catalog, cwd=work)
    assert proc.returncode == 0, proc.stderr
    regions = {p["job"]: p["region"] for p in json.loads(proc.stdout)["placements"]}
    # us-east-1 saves $5 on 100 hours; only data derived from EU-only data must stay in the EU
    assert regions == {"clean": "eu-west-1", "train": "eu-west-1", "other": "us-east-1"}


BAD_SPECS = {
    "yaml-syntax": ("version: 1\nname: demo: x\njobs:\n  a: {run: x, hours: 1}\n", ":2:11: "),
    "duplicate-key": ("version: 1\nname: a\nname: b\njobs:\n  a: {run: x, hours: 1}\n", ":3:1: "),
    "empty": ("", ":1: the file is empty"),
    "version": ("version: 2\nname: demo\njobs:\n  a: {run: x, hours: 1}\n", ":1:1: version"),
    "stack-name": ("version: 1\nname: Demo\njobs:\n  a: {run: x, hours: 1}\n", ":2:1: name"),
    "unknown-key": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, memry: 4}\n",
        ":4:25: jobs.a.memry: unknown key 'memry'",
    ),
    "unknown-input": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, inputs: [nope]}\n",
        ":4:34: jobs.a.inputs[0]: unknown data set 'nope'",
    ),
    "unknown-after": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, after: [b]}\n",
        ":4:33: jobs.a.after[0]: unknown job 'b'",
    ),
    "defined-twice": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, outputs: {o: 1}}\n"
        "  b: {run: x, hours: 1, outputs: {o: 1}}\n",
        ":5:",
    ),
    "cycle": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, after: [b]}\n"
        "  b: {run: x, hours: 1, after: [a]}\n",
        "jobs form a cycle",
    ),
    "hours": ("version: 1\nname: demo\njobs:\n  a: {run: x, hours: 0}\n", ":4:15: jobs.a.hours"),
    "size": (
        "version: 1\nname: demo\ndatasets:\n  d: {size: 0, location: 'aws:eu-west-1'}\n"
        "jobs:\n  a: {run: x, hours: 1}\n",
        ":4:7: datasets.d.size",
    ),
    "malformed-region": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, regions: [aws]}\n",
        "malformed region 'aws'",
    ),
    "unknown-region": (
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, regions: ['aws:mars-1']}\n",
        "unknown region 'aws:mars-1'",
    ),
    "unknown-cloud": (
        "version: 1\nname: demo\nclouds: [gpc]\njobs:\n  a: {run: x, hours: 1}\n",
        ":3:10: clouds[0]: unknown cloud 'gpc'\n  To fix: did you mean 'gcp'?",
    ),
    "unknown-jurisdiction": (
        "version: 1\nname: demo\npolicy: {jurisdictions: [EUU]}\njobs:\n  a: {run: x, hours: 1}\n",
        "no region carries jurisdiction 'EUU'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_specs_exit_2_without_writing(cli: Cli, work: Path, write: Write, case: str) -> None:
    text, expected = BAD_SPECS[case]
    spec = write("sky.yaml", text)
    proc = cli("plan", spec, "--out", "out", cwd=work)
    _assert_clean_error(proc, 2)
    assert f"{spec}:" in proc.stderr
    assert expected in proc.stderr
    assert list(work.iterdir()) == []


def test_missing_spec_file(cli: Cli, work: Path) -> None:
    proc = cli("plan", "missing.yaml", cwd=work)
    _assert_clean_error(proc, 2)
    assert (
        proc.stderr == "error: missing.yaml: file not found\n  To fix: check the path to sky.yaml\n"
    )
    assert list(work.iterdir()) == []


def test_several_problems_are_printed_together(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        "version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1, inputs: [nope]}\n"
        "  b: {run: x, hours: 1, after: [nah]}\n",
    )
    proc = cli("plan", spec, cwd=work)
    _assert_clean_error(proc, 2)
    assert proc.stderr.splitlines() == [
        "error: 2 problems found:",
        f"{spec}:4:34: jobs.a.inputs[0]: unknown data set 'nope'",
        "  To fix: define it under datasets or as some job's output",
        f"{spec}:5:33: jobs.b.after[0]: unknown job 'nah'",
    ]


def test_schema_problems_come_with_catalog_and_region_problems(
    cli: Cli, work: Path, write: Write
) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: demo
        clouds: [aws, gpc]
        jobs:
          a:
            run: x
            hours: 1
            resources: {memroy: 4}
            regions: ["aws-eu-west-1"]
        """,
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    _assert_clean_error(proc, 2)
    assert proc.stderr.splitlines() == [
        "error: 3 problems found:",
        f"{spec}:3:15: clouds[1]: unknown cloud 'gpc'",
        "  To fix: did you mean 'gcp'?",
        f"{spec}:8:17: jobs.a.resources.memroy: unknown key 'memroy'",
        "  To fix: did you mean 'memory'?",
        f"{spec}:9:15: jobs.a.regions[0]: malformed region 'aws-eu-west-1'",
        "  To fix: write it as cloud:region or cloud:*, e.g. aws:eu-west-1",
    ]
    assert list(work.iterdir()) == []


def test_mistyped_accelerator_is_invalid_input(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        "version: 1\nname: demo\njobs:\n"
        '  a: {run: x, hours: 1, resources: {accelerators: "a101:1"}}\n',
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    _assert_clean_error(proc, 2)
    assert proc.stderr == (
        f"error: {spec}:4:37: jobs.a.resources.accelerators: "
        "no offering in the catalog has accelerator 'a101'\n"
        "  To fix: did you mean 'A10', 'A10G' or 'A100'?\n"
    )
    assert list(work.iterdir()) == []


def test_debug_env_shows_the_traceback(cli: Cli, work: Path, write: Write) -> None:
    spec = write("sky.yaml", "version: 2\nname: demo\njobs:\n  a: {run: x, hours: 1}\n")
    proc = cli("plan", spec, cwd=work, env={"SKYPLAN_DEBUG": "1"})
    assert proc.returncode != 0
    assert "Traceback" in proc.stderr
    assert "SpecError" in proc.stderr


def test_bad_catalog_exits_2_with_csv_line(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    offerings = tiny_catalog / "offerings.csv"
    offerings.write_text(
        offerings.read_text(encoding="utf-8") + "aws,eu-west-1,x,2,8,,0,abc,\n", encoding="utf-8"
    )
    spec = write("sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", tiny_catalog, "-o", "out", cwd=work)
    _assert_clean_error(proc, 2)
    assert proc.stderr == (
        f"error: {offerings}:5: price_usd_hour: price_usd_hour must be a number, got 'abc'\n"
    )
    assert list(work.iterdir()) == []


def test_missing_catalog_dir_exits_2(cli: Cli, work: Path, write: Write) -> None:
    spec = write("sky.yaml", TINY_SPEC)
    proc = cli("plan", spec, "--catalog", "no-such-dir", cwd=work)
    _assert_clean_error(proc, 2)
    assert proc.stderr.startswith("error: no-such-dir: catalog folder not found\n")


def test_infeasible_policy_removes_every_region(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: nowhere
        clouds: [local]
        policy: {avoid: [local]}
        jobs:
          only: {run: x, hours: 1}
        """,
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    assert proc.stderr.startswith(STALE)  # warned before the solve, though it found no plan
    assert error.splitlines()[0] == (
        f"error: {spec}:6: jobs.only: "
        "no plan: job only lost its last region to policy.avoid: [local]: "
        "it ruled out local:local-a, local:local-b"
    )
    assert "To fix: relax that rule" in error
    assert list(work.iterdir()) == []


@pytest.mark.parametrize(
    ("policy", "rule"),
    [
        ('{avoid: ["aws:us-east-1"]}', "policy.avoid"),
        ("{jurisdictions: [EU]}", "policy.jurisdictions"),
    ],
)
def test_infeasible_job_regions_excluded_by_policy_names_the_policy(
    cli: Cli, work: Path, write: Write, policy: str, rule: str
) -> None:
    spec = write(
        "sky.yaml",
        f"""\
        version: 1
        name: nowhere
        policy: {policy}
        jobs:
          only: {{run: x, hours: 1, regions: ["aws:us-east-1"]}}
        """,
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    lines = error.splitlines()
    # in the order a user reads the rules: the policy took the region the job names, and the
    # job's own list took the rest, so the list is the culprit and the policy a step before it
    assert lines[0].startswith(
        f"error: {spec}:5: jobs.only: no plan: job only lost its last region to "
        "jobs.only.regions: [aws:us-east-1]: it ruled out "
    )
    assert "aws:us-east-1" not in lines[0].split("it ruled out ")[1]
    assert lines[1].startswith("  rule by rule, from the ")
    assert any(line.startswith(f"  - {rule}: ") for line in lines)
    assert lines[-2].startswith("  - jobs.only.regions: [aws:us-east-1] ruled out the other ")


def test_infeasible_explains_rule_by_rule_in_spec_order(
    cli: Cli, work: Path, write: Write, tiny_catalog: Path
) -> None:
    # `clouds` already took gcp: the job's regions are blamed for the aws regions alone
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: nowhere
        clouds: [aws]
        jobs:
          only: {run: x, hours: 1, regions: ["gcp:europe-west3"]}
        """,
    )
    proc = cli("plan", spec, "--catalog", tiny_catalog, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    assert error.splitlines()[:4] == [
        f"error: {spec}:5: jobs.only: no plan: job only lost its last region to "
        "jobs.only.regions: [gcp:europe-west3]: it ruled out aws:eu-west-1, aws:us-east-1",
        "  rule by rule, from the 3 regions with an offering that fits (any size):",
        "  - clouds: [aws] ruled out gcp:europe-west3 (2 regions left)",
        "  - jobs.only.regions: [gcp:europe-west3] ruled out the other 2 regions (none left)",
    ]


def test_infeasible_data_jurisdiction_against_policy_avoid_names_the_policy(
    cli: Cli, work: Path, write: Write
) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: nowhere
        clouds: [local]
        policy: {avoid: ["local:local-a", "local:local-b"]}
        datasets:
          d: {size: 1GB, location: "local:local-a", jurisdictions: [LOCAL]}
        jobs:
          only: {run: x, hours: 1, inputs: [d]}
        """,
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    assert error.splitlines()[0] == (
        f"error: {spec}:8: jobs.only: no plan: job only lost its last region to "
        "policy.avoid: [local:local-a, local:local-b]: it ruled out local:local-a, local:local-b"
    )


def test_infeasible_no_offering_fits(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        "version: 1\nname: h100\njobs:\n"
        "  big: {run: x, hours: 1, resources: {accelerators: H100:16, cpus: 4, memory: 8}}\n",
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    assert error.startswith(
        f"error: {spec}:4: jobs.big: no plan: job big: no offering in the catalog with H100 fits "
        "(4 vCPUs, 8 GiB, 16x H100) (the most H100 on one machine: 8)\n"
    )
    assert list(work.iterdir()) == []


def test_infeasible_no_offering_fits_without_memory(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        "version: 1\nname: h100\njobs:\n"
        "  big: {run: x, hours: 1, resources: {accelerators: h100:9}}\n",
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    assert error.startswith(
        f"error: {spec}:4: jobs.big: no plan: job big: no offering in the catalog with h100 fits "
        "(9x h100) (the most h100 on one machine: 8)\n"
    )


def test_infeasible_budget_gives_cheapest_total(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: broke
        clouds: [local]
        budget_usd: 0.01
        jobs:
          big: {run: x, resources: {cpus: 16}, hours: 10}
        """,
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    error = _assert_clean_error(proc, 3)
    lines = error.splitlines()
    assert lines[0] == (
        f"error: {spec}: budget_usd: "
        "no plan within budget_usd $0.01: the cheapest possible total is $0.80 "
        "(compute $0.80, transfer $0.00), $0.79 over. Largest costs:"
    )
    assert lines[1] == "  - $0.80 (100%) job big on local:local-a local.xlarge x1 for 10h"
    assert (
        lines[2]
        == "  To fix: raise budget_usd to at least $0.80; or allow spot, more clouds or regions; "
        "or shorten the largest jobs"
    )
    assert list(work.iterdir()) == []


def test_budget_just_enough_succeeds(cli: Cli, work: Path, write: Write) -> None:
    spec = write(
        "sky.yaml",
        """\
        version: 1
        name: enough
        clouds: [local]
        budget_usd: 0.80
        jobs:
          big: {run: x, resources: {cpus: 16}, hours: 10}
        """,
    )
    proc = cli("plan", spec, "-o", "out", cwd=work)
    assert proc.returncode == 0, proc.stderr
    assert "Budget $0.80: $0.00 to spare" in proc.stdout
