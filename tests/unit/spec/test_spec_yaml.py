"""Reading sky.yaml: syntax errors, duplicate keys, empty and missing files, positions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from skyplan.catalog import Catalog
from skyplan.errors import Problem, SpecError, Where
from skyplan.spec.load import load_raw_spec
from skyplan.spec.resolve import load_spec
from skyplan.spec.yamlpos import dotted, load_yaml

ProblemsOf = Callable[..., tuple[Problem, ...]]


def test_yaml_syntax_error_has_line_and_column(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo: x
        jobs:
          a: {run: x, hours: 1}
        """
    )
    assert p.where == Where(str(tmp_path / "sky.yaml"), 2, 11)
    assert p.message == "invalid YAML: mapping values are not allowed here"
    assert p.hint == "check the indentation and quoting on that line"


def test_yaml_tab_indentation_is_a_syntax_error(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of("version: 1\nname: demo\njobs:\n\ta: 1\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 4, 1)
    assert p.message == "invalid YAML: found character '\\t' that cannot start any token"


def test_unclosed_flow_mapping(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of("version: 1\nname: demo\njobs:\n  a: {run: x, hours: 1\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 5, 1)
    assert p.message == "invalid YAML: expected ',' or '}', but got '<stream end>'"


def test_duplicate_top_level_key(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of(
        """\
        version: 1
        name: demo
        name: demo2
        jobs:
          a: {run: x, hours: 1}
        """
    )
    assert p.where == Where(str(tmp_path / "sky.yaml"), 3, 1, "name")
    assert p.message == "duplicate key 'name'"
    assert p.hint == "each key may appear once in a mapping; merge the two entries"


def test_duplicate_job_names_are_all_reported(problems_of: ProblemsOf, tmp_path: Path) -> None:
    problems = problems_of(
        """\
        version: 1
        name: demo
        jobs:
          a: {run: x, hours: 1}
          a: {run: y, hours: 2}
          b: {run: x, hours: 1, inputs: [d, d2]}
        datasets:
          d: {size: 1, location: "aws:eu-west-1"}
          d: {size: 2, location: "aws:eu-west-1"}
        """
    )
    file = str(tmp_path / "sky.yaml")
    assert [p.where for p in problems] == [
        Where(file, 5, 3, "jobs.a"),
        Where(file, 9, 3, "datasets.d"),
    ]
    assert [p.message for p in problems] == ["duplicate key 'a'", "duplicate key 'd'"]


def test_empty_file(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of("")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 1)
    assert p.message == "the file is empty"
    assert p.hint == "start with `version: 1`"


def test_file_with_only_comments_is_empty(problems_of: ProblemsOf) -> None:
    (p,) = problems_of("# nothing here yet\n\n")
    assert p.message == "the file is empty"


def test_missing_file(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "nope" / "sky.yaml"
    with pytest.raises(SpecError) as exc:
        load_spec(path, catalog)
    (p,) = exc.value.problems
    assert p.where == Where(str(path))
    assert p.message == "file not found"
    assert p.hint == "check the path to sky.yaml"
    assert exc.value.exit_code == 2


def test_spec_that_is_not_a_mapping(problems_of: ProblemsOf, tmp_path: Path) -> None:
    (p,) = problems_of("- 1\n- 2\n")
    assert p.where == Where(str(tmp_path / "sky.yaml"), 1, 1)
    assert p.message == "a sky spec is a mapping with version, name and jobs"


def test_positions_of_keys_and_list_items(tmp_path: Path) -> None:
    path = tmp_path / "sky.yaml"
    path.write_text(
        "version: 1\nname: demo\njobs:\n  align:\n    run: x\n    inputs: [a, b]\n",
        encoding="utf-8",
    )
    located = load_yaml(path)
    assert located.where(("jobs", "align")) == Where(str(path), 4, 3, "jobs.align")
    assert located.where(("jobs", "align", "inputs", 1)) == Where(
        str(path), 6, 17, "jobs.align.inputs[1]"
    )
    # an unknown path walks up to its closest known parent
    assert located.where(("jobs", "align", "nothing"), "x") == Where(str(path), 4, 3, "x")


def test_dotted_names() -> None:
    assert dotted(("jobs", "align", "resources", "cpus")) == "jobs.align.resources.cpus"
    assert dotted(("jobs", "align", "inputs", 1)) == "jobs.align.inputs[1]"
    assert dotted(()) == ""


def test_anchors_and_aliases_are_read(write_spec: Callable[..., Path]) -> None:
    raw, _ = load_raw_spec(
        write_spec(
            """\
            version: 1
            name: demo
            jobs:
              a: {run: x, hours: 1, resources: &res {cpus: 4}}
              b: {run: x, hours: 1, resources: *res}
            """
        )
    )
    assert raw.jobs["b"].resources.cpus == 4


def test_yaml_merge_keys_are_supported(write_spec: Callable[..., Path]) -> None:
    raw, _ = load_raw_spec(
        write_spec(
            """\
            version: 1
            name: demo
            jobs:
              a: &base
                run: echo
                hours: 2
              b:
                <<: *base
                nodes: 3
            """
        )
    )
    assert raw.jobs["b"].run == "echo"
    assert raw.jobs["b"].nodes == 3


def test_yaml_merge_keys_let_own_keys_win_but_not_repeat(
    write_spec: Callable[..., Path], catalog: Catalog
) -> None:
    raw, _ = load_raw_spec(
        write_spec(
            """\
            version: 1
            name: demo
            jobs:
              a: &base
                run: echo
                hours: 2
              b:
                <<: *base
                hours: 5
            """
        )
    )
    assert (raw.jobs["b"].run, raw.jobs["b"].hours) == ("echo", 5)
    path = write_spec(
        """\
        version: 1
        name: demo
        jobs:
          a: &base {run: echo, hours: 2}
          b:
            <<: *base
            hours: 5
            hours: 6
        """
    )
    with pytest.raises(SpecError) as exc:
        load_spec(path, catalog)
    (p,) = exc.value.problems
    assert (p.where.line, p.message) == (8, "duplicate key 'hours'")
