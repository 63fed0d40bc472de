"""Resolving a spec against itself and the catalog: references, duplicates, cycles, regions."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from skyplan.errors import Problem, SpecError, Where

ProblemsOf = Callable[..., tuple[Problem, ...]]
Pos = Callable[..., tuple[int, int]]


def _where(tmp_path: Path, text: str, pos: Pos, needle: str, field: str, nth: int = 0) -> Where:
    line, col = pos(text, needle, nth)
    return Where(str(tmp_path / "sky.yaml"), line, col, field)


def test_unknown_input_data_set_did_you_mean(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        datasets:
          patients: {size: 2TB, location: "aws:eu-west-1"}
        jobs:
          align: {run: x, hours: 1, inputs: [patients, patiens]}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "patiens]", "jobs.align.inputs[1]")
    assert p.message == "unknown data set 'patiens'"
    assert p.hint == "did you mean 'patients'?"


def test_unknown_input_without_close_match(problems_of: ProblemsOf) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          align: {run: x, hours: 1, inputs: [zzz]}
        """
    )
    assert p.message == "unknown data set 'zzz'"
    assert p.hint == "define it under datasets or as some job's output"


def test_job_output_names_are_data_sets_for_did_you_mean(problems_of: ProblemsOf) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, outputs: {aligned: 1GB}}
          b: {run: x, hours: 1, inputs: [alined]}
        """
    )
    assert p.message == "unknown data set 'alined'"
    assert p.hint == "did you mean 'aligned'?"


def test_unknown_job_in_after(problems_of: ProblemsOf, pos: Pos, tmp_path: Path) -> None:
    text = """\
        version: 1
        name: demo
        jobs:
          prep: {run: x, hours: 1}
          train: {run: x, hours: 1, after: [prepp]}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "prepp", "jobs.train.after[0]")
    assert p.message == "unknown job 'prepp'"
    assert p.hint == "did you mean 'prep'?"


def test_data_set_defined_in_datasets_and_as_output(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        datasets:
          raw: {size: 1, location: "aws:eu-west-1"}
        jobs:
          a:
            run: x
            hours: 1
            outputs: {raw: 1GB}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "raw: 1GB", "jobs.a.outputs.raw")
    assert p.message == "data set 'raw' is defined twice (also in datasets)"
    assert p.hint == "give it one definition"


def test_data_set_output_by_two_jobs(problems_of: ProblemsOf, pos: Pos, tmp_path: Path) -> None:
    text = """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, outputs: {o: 1GB}}
          b: {run: x, hours: 1, outputs: {o: 2GB}}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "o: 2GB", "jobs.b.outputs.o")
    assert p.message == "data set 'o' is defined twice (also in job a)"


def test_cycle_through_inputs(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, inputs: [bo], outputs: {ao: 1GB}}
          b: {run: x, hours: 1, inputs: [ao], outputs: {bo: 1GB}}
        """
    )
    assert p.where == Where(str(tmp_path / "sky.yaml"), 4, 3, "jobs.a")
    assert p.message == "jobs form a cycle: a -> b -> a"
    assert p.hint == "break the cycle in inputs or after"


def test_cycle_through_after(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, after: [c]}
          b: {run: x, hours: 1, after: [a]}
          c: {run: x, hours: 1, after: [b]}
        """
    )
    assert p.where.file == str(tmp_path / "sky.yaml")
    assert p.where.line in (4, 5, 6)
    assert p.message.startswith("jobs form a cycle: ")
    cycle = p.message.removeprefix("jobs form a cycle: ").split(" -> ")
    assert cycle[0] == cycle[-1]
    assert sorted(cycle[:-1]) == ["a", "b", "c"]


def test_cycle_through_inputs_and_after(problems_of: ProblemsOf) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, outputs: {ao: 1GB}, after: [b]}
          b: {run: x, hours: 1, inputs: [ao]}
        """
    )
    assert p.message == "jobs form a cycle: a -> b -> a"


def test_every_cycle_is_reported_in_one_run(problems_of: ProblemsOf, tmp_path: Path) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, after: [a]}
          b: {run: x, hours: 1, after: [a]}
          c: {run: x, hours: 1, inputs: [co], outputs: {co: 1GB}}
          d: {run: x, hours: 1, after: [c]}
          e: {run: x, hours: 1, after: [f]}
          f: {run: x, hours: 1, after: [e, d]}
        """
    )
    file = str(tmp_path / "sky.yaml")
    assert [(p.where, p.message) for p in problems] == [
        (Where(file, 4, 3, "jobs.a"), "jobs form a cycle: a -> a"),
        (Where(file, 6, 3, "jobs.c"), "jobs form a cycle: c -> c"),
        (Where(file, 8, 3, "jobs.e"), "jobs form a cycle: e -> f -> e"),
    ]


def test_one_cycle_per_group_of_jobs_that_wait_for_each_other(problems_of: ProblemsOf) -> None:
    # b -> c -> b and b -> c -> d -> b share jobs: one group, its shortest cycle from b
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          b: {run: x, hours: 1, after: [c]}
          c: {run: x, hours: 1, after: [d, b]}
          d: {run: x, hours: 1, after: [b]}
        """
    )
    assert [p.message for p in problems] == ["jobs form a cycle: b -> c -> b"]


def test_every_cycle_is_reported_beside_schema_problems(problems_of: ProblemsOf) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, after: [a], memroy: 4}
          e: {run: x, hours: 1, after: [f]}
          f: {run: x, hours: 1, after: [e]}
        """
    )
    assert [(p.where.line, p.message) for p in problems] == [
        (4, "jobs form a cycle: a -> a"),
        (4, "unknown key 'memroy'"),
        (5, "jobs form a cycle: e -> f -> e"),
    ]


def test_job_reading_its_own_output_is_a_cycle(problems_of: ProblemsOf) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, inputs: [o], outputs: {o: 1GB}}
        """
    )
    assert "jobs form a cycle: a -> a" in [p.message for p in problems]


@pytest.mark.parametrize(
    ("location", "message", "hint"),
    [
        (
            "aws-eu-west-1",
            "malformed region 'aws-eu-west-1'",
            "write it as cloud:region, e.g. aws:eu-west-1",
        ),
        (
            ":eu-west-1",
            "malformed region ':eu-west-1'",
            "write it as cloud:region, e.g. aws:eu-west-1",
        ),
        ("aws:", "malformed region 'aws:'", "write it as cloud:region, e.g. aws:eu-west-1"),
        ("aws:eu-west-11", "unknown region 'aws:eu-west-11'", "did you mean 'aws:eu-west-1'?"),
        ("awz:eu-west-1", "unknown cloud 'awz'", "did you mean 'aws'?"),
        ("aws:*", "'aws:*' names no single region", "name one region, e.g. aws:eu-west-1"),
        (
            "aws:qqqqqqqq",
            "unknown region 'aws:qqqqqqqq'",
            "see `skyplan catalog regions --cloud aws`",
        ),
    ],
)
def test_bad_data_set_location(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path, location: str, message: str, hint: str
) -> None:
    text = f"""\
        version: 1
        name: demo
        datasets:
          d:
            size: 1
            location: "{location}"
        jobs:
          a: {{run: x, hours: 1, inputs: [d]}}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "location", "datasets.d.location")
    assert p.message == message
    assert p.hint == hint


def test_bad_regions_in_allow_list_clouds_and_avoid(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        clouds: [aws, gpc]
        policy:
          avoid: [azur, "aws:us-east-9", "gcp:*"]
        jobs:
          a:
            run: x
            hours: 1
            regions: ["aws:*", "gcp", "awz:foo", "gcp:europe-west99"]
        """
    problems = problems_of(text)
    assert [(p.where, p.message, p.hint) for p in problems] == [
        (
            _where(tmp_path, text, pos, "gpc", "clouds[1]"),
            "unknown cloud 'gpc'",
            "did you mean 'gcp'?",
        ),
        (
            _where(tmp_path, text, pos, "azur", "policy.avoid[0]"),
            "unknown cloud 'azur'",
            "did you mean 'azure'?",
        ),
        (
            _where(tmp_path, text, pos, '"aws:us-east-9"', "policy.avoid[1]"),
            "unknown region 'aws:us-east-9'",
            "did you mean 'aws:us-east-2'?",
        ),
        (
            _where(tmp_path, text, pos, '"gcp"', "jobs.a.regions[1]"),
            "malformed region 'gcp'",
            "write it as cloud:region or cloud:*, e.g. aws:eu-west-1",
        ),
        (
            _where(tmp_path, text, pos, '"awz:foo"', "jobs.a.regions[2]"),
            "unknown cloud 'awz'",
            "did you mean 'aws'?",
        ),
        (
            _where(tmp_path, text, pos, '"gcp:europe-west99"', "jobs.a.regions[3]"),
            "unknown region 'gcp:europe-west99'",
            "did you mean 'gcp:europe-west9'?",
        ),
    ]


def test_unknown_cloud_without_close_match_lists_known_clouds(problems_of: ProblemsOf) -> None:
    (p,) = problems_of("version: 1\nname: demo\nclouds: [oracle]\njobs:\n  a: {run: x, hours: 1}\n")
    assert p.message == "unknown cloud 'oracle'"
    assert p.hint == "known clouds: aws, azure, gcp, local"


def test_unknown_jurisdiction_tags(problems_of: ProblemsOf, pos: Pos, tmp_path: Path) -> None:
    text = """\
        version: 1
        name: demo
        policy:
          jurisdictions: [EU, XX]
        datasets:
          d: {size: 1, location: "aws:eu-west-1", jurisdictions: [EUU]}
        jobs:
          a: {run: x, hours: 1, inputs: [d]}
        """
    problems = problems_of(text)
    assert [(p.where, p.message, p.hint) for p in problems] == [
        (
            _where(tmp_path, text, pos, "XX", "policy.jurisdictions[1]"),
            "no region carries jurisdiction 'XX'",
            "use a tag from the catalog's regions.csv or an ISO country code",
        ),
        (
            _where(tmp_path, text, pos, "EUU", "datasets.d.jurisdictions[0]"),
            "no region carries jurisdiction 'EUU'",
            "did you mean 'EU'?",
        ),
    ]


def test_jurisdiction_differing_only_in_case_gets_a_suggestion(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        policy:
          jurisdictions: [eu]
        jobs:
          a: {run: x, hours: 1}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "eu]", "policy.jurisdictions[0]")
    assert p.message == "no region carries jurisdiction 'eu'"
    assert p.hint == "did you mean 'EU'?"


def test_country_codes_and_catalog_tags_are_known_jurisdictions(
    resolve_ok: Callable[[str], object],
) -> None:
    resolve_ok(
        """\
        version: 1
        name: demo
        policy: {jurisdictions: [EU, DE, EEA, EU-adequacy, US, LOCAL]}
        jobs:
          a: {run: x, hours: 1}
        """
    )


def test_data_set_outside_its_own_jurisdiction(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        datasets:
          raw: {size: 1GB, location: "aws:us-east-1", jurisdictions: [EU]}
        jobs:
          j: {run: x, hours: 1, inputs: [raw]}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "location", "datasets.raw.location")
    assert p.message == "raw lives in aws:us-east-1, outside its own jurisdictions EU"


def test_unsupported_uri(problems_of: ProblemsOf, pos: Pos, tmp_path: Path) -> None:
    text = """\
        version: 1
        name: demo
        datasets:
          d: {size: 1, location: "aws:eu-west-1", uri: "http://x/y"}
        jobs:
          a: {run: x, hours: 1, inputs: [d]}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "uri", "datasets.d.uri")
    assert p.message == "unsupported uri 'http://x/y'"


@pytest.mark.parametrize(
    "uri", ["s3://bucket/raw/", "gs://bucket/x", "az://account/container/p", "file:///tmp/x"]
)
def test_supported_uris(resolve_ok: Callable[[str], object], uri: str) -> None:
    resolve_ok(
        f"""\
        version: 1
        name: demo
        datasets:
          d: {{size: 1, location: "aws:eu-west-1", uri: "{uri}"}}
        jobs:
          a: {{run: x, hours: 1, inputs: [d]}}
        """
    )


def test_peering_problems(problems_of: ProblemsOf) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        peering:
          - {clouds: [aws, aws], usd_per_gb: 0}
          - {clouds: [aws, gcp], usd_per_gb: 0}
          - {clouds: [gcp, aws], usd_per_gb: 0.01}
        jobs:
          a: {run: x, hours: 1}
        """
    )
    assert [(p.where.line, p.where.field, p.message) for p in problems] == [
        (4, "peering[0].clouds", "a peering agreement names two different clouds"),
        (6, "peering[2].clouds", "peering between aws and gcp given twice"),
    ]


def test_all_semantic_problems_at_once_in_line_order(
    problems_of: ProblemsOf, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        datasets:
          raw: {size: 1, location: "aws:eu-west-11"}
        jobs:
          b: {run: x, hours: 1, after: [prepp]}
          a:
            run: x
            hours: 1
            inputs: [rwa]
            regions: ["gcp"]
        """
    problems = problems_of(text)
    assert [(p.where.line, p.message) for p in problems] == [
        (4, "unknown region 'aws:eu-west-11'"),
        (6, "unknown job 'prepp'"),
        (10, "unknown data set 'rwa'"),
        (11, "malformed region 'gcp'"),
    ]
    assert all(p.where.file == str(tmp_path / "sky.yaml") for p in problems)


def test_rendered_error_counts_every_problem(write_spec: Callable[..., Path], catalog) -> None:
    from skyplan.spec.resolve import load_spec

    path = write_spec(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, inputs: [nope]}
          b: {run: x, hours: 1, after: [nah]}
        """
    )
    with pytest.raises(SpecError) as exc:
        load_spec(path, catalog)
    assert exc.value.exit_code == 2
    assert exc.value.render().splitlines() == [
        "2 problems found:",
        f"{path}:4:34: jobs.a.inputs[0]: unknown data set 'nope'",
        "  To fix: define it under datasets or as some job's output",
        f"{path}:5:33: jobs.b.after[0]: unknown job 'nah'",
    ]


def test_schema_and_reference_problems_are_reported_together(problems_of: ProblemsOf) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          prep:
            run: x
            hours: 1
            resources: {cpus: 2, memry: 4}
          train:
            run: x
            hours: -1
            inputs: [clean]
            after: [prepp]
        """
    )
    assert [(p.where.line, p.message) for p in problems] == [
        (7, "unknown key 'memry'"),
        (10, "hours must be a positive number, got -1"),
        (11, "unknown data set 'clean'"),
        (12, "unknown job 'prepp'"),
    ]


def test_schema_problems_come_with_cycles_and_defined_twice(problems_of: ProblemsOf) -> None:
    problems = problems_of(
        """\
        version: 2
        name: demo
        datasets:
          raw: {size: 1, location: "aws:eu-west-1"}
        jobs:
          a: {run: x, hours: 1, after: [b], outputs: {raw: 1}}
          b: {run: x, hours: 1, after: [a]}
        """
    )
    assert [(p.where.line, p.message) for p in problems] == [
        (1, "unsupported version"),
        (6, "jobs form a cycle: a -> b -> a"),
        (6, "data set 'raw' is defined twice (also in datasets)"),
    ]


def test_unreadable_parts_give_no_made_up_reference_problems(problems_of: ProblemsOf) -> None:
    # job `a` is not a mapping, so its outputs are unknown: `b` reading `out` is not flagged
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: just a string
          b: {run: x, hours: 1, inputs: [out], after: [a]}
          c: {run: x, hours: 1, inputs: 3, after: [zz]}
        """
    )
    assert [(p.where.line, p.message) for p in problems] == [
        (4, "input should be a valid dictionary or instance of RawJob"),
        (6, "input should be a valid tuple"),
        (6, "unknown job 'zz'"),
    ]


def test_schema_problems_do_not_hide_catalog_names_or_malformed_regions(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path
) -> None:
    text = """\
        version: 1
        name: demo
        clouds: [aws, gpc]
        jobs:
          a:
            run: x
            hours: 1
            resources: {cpus: 2, memroy: 4}
            regions: ["aws-eu-west-1"]
        """
    problems = problems_of(text)
    assert [(p.where, p.message, p.hint) for p in problems] == [
        (
            _where(tmp_path, text, pos, "gpc", "clouds[1]"),
            "unknown cloud 'gpc'",
            "did you mean 'gcp'?",
        ),
        (
            _where(tmp_path, text, pos, "memroy", "jobs.a.resources.memroy"),
            "unknown key 'memroy'",
            "did you mean 'memory'?",
        ),
        (
            _where(tmp_path, text, pos, '"aws-eu-west-1"', "jobs.a.regions[0]"),
            "malformed region 'aws-eu-west-1'",
            "write it as cloud:region or cloud:*, e.g. aws:eu-west-1",
        ),
    ]


def test_catalog_checks_skip_only_the_broken_parts(problems_of: ProblemsOf) -> None:
    # broken: a's hours, b as a whole, d's location, the list policy.avoid (an item is not a
    # string) and the name of job `Bad job`; every other name is still checked
    problems = problems_of(
        """\
        version: 2
        name: demo
        policy: {jurisdictions: [eu], avoid: [azre, 3]}
        datasets:
          d: {size: 1, location: [aws], jurisdictions: [EUU]}
          e: {size: x, location: "aws:eu-wset-1"}
        jobs:
          a: {run: x, hours: -1, regions: ["gcp:europe-west44"], inputs: [d, e]}
          b: just a string
          Bad job: {run: x, hours: 1, regions: ["aws:nowhere"]}
          c: {run: x, hours: 1, resources: {accelerators: "h100:1", spot: maybe}, regions: [gcp]}
        """
    )
    assert [(p.where.line, p.message) for p in problems] == [
        (1, "unsupported version"),
        (3, "no region carries jurisdiction 'eu'"),
        (3, "input should be a valid string"),
        (5, "input should be a valid string"),
        (6, "expected a size like 2TB, 500GB or 64GiB, got 'x'"),
        (6, "unknown region 'aws:eu-wset-1'"),
        (8, "hours must be a positive number, got -1"),
        (8, "unknown region 'gcp:europe-west44'"),
        (9, "input should be a valid dictionary or instance of RawJob"),
        (10, "invalid name 'Bad job'"),
        (11, "input should be a valid boolean, unable to interpret input"),
        (11, "malformed region 'gcp'"),
    ]


def test_no_catalog_checks_when_the_spec_names_a_broken_catalog(
    problems_of: ProblemsOf,
) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        catalog: [prices]
        clouds: [gpc]
        jobs:
          a: {run: x, hours: 1, memroy: 4}
        """
    )
    assert [(p.where.line, p.message) for p in problems] == [
        (3, "input should be a valid string"),
        (6, "unknown key 'memroy'"),
    ]


@pytest.mark.parametrize(
    ("accelerators", "hint"),
    [
        ('"A101:1"', "did you mean 'A10', 'A10G' or 'A100'?"),
        ("{h10: 2}", "did you mean 'H100' or 'A10'?"),
        ('"B200:8"', None),
    ],
)
def test_accelerator_no_offering_has_is_invalid_input(
    problems_of: ProblemsOf, pos: Pos, tmp_path: Path, accelerators: str, hint: str | None
) -> None:
    text = f"""\
        version: 1
        name: demo
        jobs:
          a:
            run: x
            hours: 1
            resources: {{accelerators: {accelerators}}}
        """
    (p,) = problems_of(text)
    assert p.where == _where(tmp_path, text, pos, "accelerators", "jobs.a.resources.accelerators")
    name = accelerators.strip('"{').split(":")[0]
    assert p.message == f"no offering in the catalog has accelerator {name!r}"
    assert p.hint == (
        hint
        or "accelerators in the catalog: A10, A100, A100-80GB, A10G, H100, L4, L40S, T4, V100 "
        "(see `skyplan catalog offerings`)"
    )


def test_accelerator_names_are_matched_without_case(resolve_ok: Callable[[str], object]) -> None:
    spec = resolve_ok(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1, resources: {accelerators: "h100:1"}}
        """
    )
    assert spec.jobs[0].accelerator == "h100"  # type: ignore[attr-defined]


def _mutations(rng: random.Random, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with one to four values replaced by junk, deleted, or given an unknown key."""
    junk: list[object] = [None, 0, -1, 3.5, "x", "", [], ["a", 1], {}, {"k": 1}, True, "gpc"]
    paths: list[tuple[Any, ...]] = []

    def walk(node: object, path: tuple[Any, ...]) -> None:
        if path:
            paths.append(path)
        items = (
            node.items()
            if isinstance(node, dict)
            else enumerate(node)
            if isinstance(node, list)
            else ()
        )
        for key, child in items:
            walk(child, (*path, key))

    walk(base, ())
    spec = copy.deepcopy(base)
    for _ in range(rng.randint(1, 4)):
        *parents, last = rng.choice(paths)
        node: Any = spec
        try:
            for key in parents:
                node = node[key]
            roll = rng.random()
            if roll < 0.6:
                node[last] = copy.deepcopy(rng.choice(junk))
            elif isinstance(node, dict) and roll < 0.8:
                del node[last]
            elif isinstance(node, dict):
                node["memroy"] = 1
        except (KeyError, IndexError, TypeError):
            pass  # an earlier mutation replaced the path
    return spec


@pytest.mark.parametrize("stack", ["genomics", "ml-training", "analytics", "local-demo"])
def test_broken_example_specs_give_problems_never_a_crash(
    stack: str, write_spec: Callable[..., Path], catalog
) -> None:
    from skyplan.spec.resolve import load_spec

    root = Path(__file__).resolve().parents[3] / "stacks" / stack
    base = yaml.safe_load((root / "sky.yaml").read_text(encoding="utf-8"))
    rng = random.Random(stack)
    for _ in range(150):
        path = write_spec(yaml.safe_dump(_mutations(rng, base)))
        try:
            load_spec(path, catalog)
        except SpecError as e:
            assert e.problems and all(p.where and p.where.file == str(path) for p in e.problems)
