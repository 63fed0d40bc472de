"""The raw schema: unknown keys with 'did you mean', bad values, version, stack name, positions."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from skyplan.errors import Problem, Where
from skyplan.spec.load import did_you_mean, load_raw_spec

ProblemsOf = Callable[..., tuple[Problem, ...]]
Pos = Callable[..., tuple[int, int]]

HEAD = "version: 1\nname: demo\n"


def _job(body: str) -> str:
    """A spec with one job `a` whose mapping lines are `body` (indented by 4)."""
    lines = "".join(f"    {line}\n" for line in body.splitlines())
    return HEAD + "jobs:\n  a:\n" + lines


@pytest.mark.parametrize(
    ("text", "needle", "field", "message", "hint"),
    [
        (
            _job("run: x\nhours: 1\nresources: {cpus: 2, memry: 4}"),
            "memry",
            "jobs.a.resources.memry",
            "unknown key 'memry'",
            "did you mean 'memory'?",
        ),
        (
            _job("run: x\nhours: 1\ninput: [d]"),
            "input",
            "jobs.a.input",
            "unknown key 'input'",
            "did you mean 'inputs'?",
        ),
        (
            HEAD + "polcy: {avoid: [azure]}\njobs:\n  a: {run: x, hours: 1}\n",
            "polcy",
            "polcy",
            "unknown key 'polcy'",
            "did you mean 'policy'?",
        ),
        (
            HEAD + "policy: {jurisdiction: [EU]}\njobs:\n  a: {run: x, hours: 1}\n",
            "jurisdiction",
            "policy.jurisdiction",
            "unknown key 'jurisdiction'",
            "did you mean 'jurisdictions'?",
        ),
        (
            HEAD + "datasets:\n  d: {size: 1, loction: 'aws:eu-west-1'}\n"
            "jobs:\n  a: {run: x, hours: 1}\n",
            "loction",
            "datasets.d.loction",
            "unknown key 'loction'",
            "did you mean 'location'?",
        ),
        (
            HEAD + "peering:\n  - {clouds: [aws, gcp], usd_per_gbb: 0}\n"
            "jobs:\n  a: {run: x, hours: 1}\n",
            "usd_per_gbb",
            "peering[0].usd_per_gbb",
            "unknown key 'usd_per_gbb'",
            "did you mean 'usd_per_gb'?",
        ),
        (
            _job("run: x\nhours: 1\nzzz: 1"),
            "zzz",
            "jobs.a.zzz",
            "unknown key 'zzz'",
            "allowed keys here: run, resources, nodes, hours, inputs, outputs, regions, after",
        ),
    ],
)
def test_unknown_keys_did_you_mean(
    problems_of: ProblemsOf,
    pos: Pos,
    tmp_path: Path,
    text: str,
    needle: str,
    field: str,
    message: str,
    hint: str,
) -> None:
    # a misspelt required key also leaves that field missing; the unknown key is what we check
    (p,) = [p for p in problems_of(text) if p.message.startswith("unknown key")]
    line, col = pos(text, needle)
    assert p.where == Where(str(tmp_path / "sky.yaml"), line, col, field)
    assert p.message == message
    assert p.hint == hint


def test_did_you_mean() -> None:
    assert did_you_mean("memry", ["cpus", "memory", "spot"]) == "did you mean 'memory'?"
    assert did_you_mean("qqqq", ["cpus", "memory"]) is None


def test_did_you_mean_ignores_case_and_names_the_option_as_spelled() -> None:
    assert did_you_mean("eu", {"EU", "EEA", "US"}) == "did you mean 'EU'?"
    assert did_you_mean("a101", ["A100", "A100-80GB", "H100"]) == "did you mean 'A100'?"
    assert did_you_mean("Memroy", ["cpus", "memory"]) == "did you mean 'memory'?"
    assert did_you_mean("GPC", ["aws", "gcp"]) == "did you mean 'gcp'?"


def test_version_must_be_one(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of("version: 2\nname: demo\njobs:\n  a: {run: x, hours: 1}\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 1, 1, "version")
    assert p.message == "unsupported version"
    assert p.hint == "this skyplan reads `version: 1`"


@pytest.mark.parametrize("name", ["Demo", "1demo", "de_mo", "a" * 40, "-demo", "demo x"])
def test_bad_stack_name(problems_of: ProblemsOf, tmp_path: Path, name: str) -> None:
    (p,) = problems_of(f"version: 1\nname: '{name}'\njobs:\n  a: {{run: x, hours: 1}}\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 2, 1, "name")
    assert p.message == f"invalid stack name {name!r}"
    assert p.hint is not None
    assert "^[a-z][a-z0-9-]{0,38}$" in p.hint


@pytest.mark.parametrize("name", ["a", "demo", "gen-omics-2", "a" * 39])
def test_good_stack_names(write_spec: Callable[..., Path], name: str) -> None:
    raw, _ = load_raw_spec(
        write_spec(f"version: 1\nname: {name}\njobs:\n  a: {{run: x, hours: 1}}\n")
    )
    assert raw.name == name


def test_missing_required_fields(problems_of: ProblemsOf, tmp_path: Path) -> None:
    problems = problems_of("version: 1\nname: demo\njobs:\n  a:\n    run: x\n")
    file = str(tmp_path / "sky.yaml")
    assert [(p.where, p.message) for p in problems] == [
        (Where(file, 4, 3, "jobs.a.hours"), "missing required field 'hours'"),
    ]


def test_missing_jobs(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of("version: 1\nname: demo\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 1, 1, "jobs")
    assert p.message == "missing required field 'jobs'"


def test_empty_jobs_must_name_a_job(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of(HEAD + "jobs: {}\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 3, 1, "jobs")
    assert p.message == "jobs must name at least one job"


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("clouds: []", "clouds", "clouds must name at least one cloud"),
        (
            "policy: {jurisdictions: []}",
            "policy.jurisdictions",
            "jurisdictions must name at least one jurisdiction",
        ),
    ],
)
def test_empty_optional_lists(problems_of: ProblemsOf, line: str, field: str, message: str) -> None:
    (p,) = problems_of(HEAD + line + "\njobs:\n  a: {run: x, hours: 1}\n")
    assert p.where.field == field
    assert p.message == message
    assert p.hint == "name at least one, or leave it out"


@pytest.mark.parametrize(
    ("line", "field", "message"),
    [
        ("hours: 0", "jobs.a.hours", "hours must be a positive number, got 0"),
        ("hours: -1.5", "jobs.a.hours", "hours must be a positive number, got -1.5"),
        ("nodes: 0", "jobs.a.nodes", "input should be greater than or equal to 1"),
        ("resources: {cpus: 0}", "jobs.a.resources.cpus", "cpus must be a positive number, got 0"),
        (
            "resources: {memory: 0GB}",
            "jobs.a.resources.memory",
            "must be a positive size, got '0GB'",
        ),
        (
            "resources: {memory: 5XB}",
            "jobs.a.resources.memory",
            "unknown unit 'XB' in '5XB'; use one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB",
        ),
        (
            "resources: {accelerators: 'A100:0'}",
            "jobs.a.resources.accelerators",
            "accelerator count must be at least 1, got 'A100:0'",
        ),
        (
            "resources: {accelerators: 'A100:two'}",
            "jobs.a.resources.accelerators",
            "accelerator count must be a whole number, got 'A100:two'",
        ),
        ("outputs: {o: 0}", "jobs.a.outputs.o", "must be a positive size, got 0"),
        (
            "outputs: {o: -2TB}",
            "jobs.a.outputs.o",
            "must be a positive size, got '-2TB'",
        ),
    ],
)
def test_bad_job_values(
    problems_of: ProblemsOf, tmp_path: Path, line: str, field: str, message: str
) -> None:
    hours = "" if line.startswith("hours") else "hours: 1\n"
    text = _job(f"run: x\n{hours}{line}")
    (p,) = problems_of(text)
    assert p.where.file == str(tmp_path / "sky.yaml")
    assert p.where.field == field
    assert p.where.line == text.count("\n")  # the last line of the spec
    assert p.message == message


def test_dataset_size_must_be_positive(problems_of: ProblemsOf, tmp_path: Path) -> None:
    text = (
        HEAD
        + "datasets:\n  d:\n    size: 0\n    location: aws:eu-west-1\n"
        + "jobs:\n  a: {run: x, hours: 1}\n"
    )
    (p,) = problems_of(text)
    assert p.where == Where(str(tmp_path / "sky.yaml"), 5, 5, "datasets.d.size")
    assert p.message == "must be a positive size, got 0"


def test_budget_must_be_positive(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of(HEAD + "budget_usd: 0\njobs:\n  a: {run: x, hours: 1}\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 3, 1, "budget_usd")
    assert p.message == "input should be greater than 0"


def test_bad_data_set_name(problems_of: ProblemsOf, tmp_path: Path) -> None:
    text = (
        HEAD
        + "datasets:\n  1abc: {size: 1, location: 'aws:eu-west-1'}\n"
        + "jobs:\n  a: {run: x, hours: 1}\n"
    )
    (p,) = problems_of(text)
    assert p.where == Where(str(tmp_path / "sky.yaml"), 4, 3, "datasets.1abc")
    assert p.message == "invalid name '1abc'"


def test_every_schema_problem_is_reported_in_line_order(
    problems_of: ProblemsOf, tmp_path: Path
) -> None:
    text = """\
        version: 2
        name: Demo
        datasets:
          d: {size: 0, location: "aws:eu-west-1"}
        jobs:
          a:
            run: x
            hours: -1
            resources: {cpus: 2, memry: 4}
        """
    problems = problems_of(text)
    file = str(tmp_path / "sky.yaml")
    assert [(p.where, p.message) for p in problems] == [
        (Where(file, 1, 1, "version"), "unsupported version"),
        (Where(file, 2, 1, "name"), "invalid stack name 'Demo'"),
        (Where(file, 4, 7, "datasets.d.size"), "must be a positive size, got 0"),
        (Where(file, 8, 5, "jobs.a.hours"), "hours must be a positive number, got -1"),
        (Where(file, 9, 26, "jobs.a.resources.memry"), "unknown key 'memry'"),
    ]


def test_resources_parse_to_exact_numbers(write_spec: Callable[..., Path]) -> None:
    raw, _ = load_raw_spec(
        write_spec(
            """\
            version: 1
            name: demo
            datasets:
              d: {size: 2TB, location: "aws:eu-west-1"}
            jobs:
              a:
                run: x
                hours: 3.5
                nodes: 2
                resources: {cpus: 16, memory: 64GB, accelerators: {A100: 2}, spot: true}
                outputs: {o: 400GiB}
              b:
                run: x
                hours: 1
                resources: {memory: 64, accelerators: H100}
            """
        )
    )
    a, b = raw.jobs["a"], raw.jobs["b"]
    assert raw.datasets["d"].size == Decimal(2000)
    assert a.hours == Decimal("3.5")
    assert a.nodes == 2
    assert a.resources.cpus == Decimal(16)
    assert a.resources.memory == Decimal("59.604644775390625")
    assert a.resources.accelerators == ("A100", 2)
    assert a.resources.spot is True
    assert a.outputs == {"o": Decimal("429.4967296")}
    assert b.resources.memory == Decimal(64)
    assert b.resources.accelerators == ("H100", 1)
    assert b.resources.spot is False
    assert b.nodes == 1
