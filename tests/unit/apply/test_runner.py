"""The job runner on the `local` cloud: a hand-written manifest.json run in a temporary folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from folder_reader import Reader

from skyplan.apply.runner import DONE, FAILED, SKIPPED, run_manifest, step_key
from skyplan.apply.state import StackState, read_json

STACK = "t"


class Recorder:
    """A StepReporter that remembers every report."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []

    def step(self, step: str, state: str, detail: str = "") -> None:
        self.seen.append((step, state, detail))

    def states(self, step: str) -> list[str]:
        return [s for name, s, _ in self.seen if name == step]


def ref(dataset: str, uri: str | None, kind: str = "INPUT") -> dict[str, Any]:
    return {"dataset": dataset, "env": f"SKYPLAN_{kind}_{dataset.upper()}", "gb": 0.0, "uri": uri}


def out(dataset: str, region: str = "local-a") -> dict[str, Any]:
    return ref(dataset, f"file://.skyplan/buckets/{region}/outputs/{dataset}/", "OUTPUT")


def job(
    name: str,
    command: str,
    *,
    after: tuple[str, ...] = (),
    inputs: tuple[dict[str, Any], ...] = (),
    outputs: tuple[dict[str, Any], ...] = (),
    nodes: int = 1,
    region: str = "local-a",
) -> dict[str, Any]:
    return {
        "name": name,
        "instance": f"{name}.{STACK}.local.{region}",
        "cloud": "local",
        "region": region,
        "instance_type": "local.small",
        "spot": False,
        "nodes": nodes,
        "hours": 1.0,
        "usd": 0.01,
        "command": command,
        "hosts": [f"{STACK}-{name}-{i}" for i in range(nodes)],
        "inputs": list(inputs),
        "outputs": list(outputs),
        "after": sorted(after),
        "runs": f"file://.skyplan/buckets/{region}/_skyplan/{name}/",
    }


def transfer(
    dataset: str, source: str | None, commands: list[list[str]], after: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "id": f"{dataset}@local:local-a",
        "dataset": dataset,
        "from": "local:local-b",
        "to": "local:local-a",
        "gb": 0.0,
        "source": source,
        "destination": f"file://.skyplan/buckets/local-a/copies/{dataset}/",
        "after": list(after),
        "commands": commands,
    }


def write_manifest(
    root: Path, jobs: list[dict[str, Any]], transfers: tuple[dict[str, Any], ...] = ()
) -> dict[str, Any]:
    steps = [f"transfer:{t['id']}" for t in transfers] + [f"job:{j['name']}" for j in jobs]
    manifest = {
        "version": 1,
        "stack": STACK,
        "storage": [],
        "jobs": jobs,
        "transfers": list(transfers),
        "steps": steps,
    }
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def run(root: Path) -> tuple[dict[str, Any], Recorder]:
    reporter = Recorder()
    return run_manifest(root, StackState(root), reporter), reporter


def test_steps_run_in_dependency_order(tmp_path: Path) -> None:
    order = tmp_path / "order.txt"
    write_manifest(
        tmp_path,
        [
            job("a", f"sleep 0.3; echo a >> {order}"),
            job("b", f"echo b >> {order}", after=("job:a",)),
            job("c", f"echo c >> {order}", after=("job:a", "job:b")),
        ],
    )
    outcomes, reporter = run(tmp_path)
    assert {s: o.state for s, o in outcomes.items()} == {
        "job:a": DONE,
        "job:b": DONE,
        "job:c": DONE,
    }
    assert order.read_text().split() == ["a", "b", "c"]
    events = [(s, st) for s, st, _ in reporter.seen]
    assert events.index(("job:a", DONE)) < events.index(("job:b", "running"))
    assert events.index(("job:b", DONE)) < events.index(("job:c", "running"))
    runs = read_json(StackState(tmp_path).runs_file)["steps"]
    assert {s: r["state"] for s, r in runs.items()} == {"job:a": DONE, "job:b": DONE, "job:c": DONE}


def test_a_failed_job_skips_its_dependants_but_not_an_independent_branch(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        [
            job("a", "echo starting; exit 3"),
            job("b", "true", after=("job:a",)),
            job("c", "true", after=("job:b",)),
            job("d", "sleep 0.2"),
            job("e", "true", after=("job:d",)),
        ],
    )
    outcomes, reporter = run(tmp_path)
    assert outcomes["job:a"].state == FAILED
    assert outcomes["job:a"].detail == "node 0 exited 3"
    assert (
        outcomes["job:a"].log is not None and "starting" in Path(outcomes["job:a"].log).read_text()
    )
    assert (outcomes["job:b"].state, outcomes["job:b"].detail) == (SKIPPED, "job:a did not finish")
    assert (outcomes["job:c"].state, outcomes["job:c"].detail) == (SKIPPED, "job:b did not finish")
    assert outcomes["job:d"].state == outcomes["job:e"].state == DONE
    assert reporter.states("job:b") == [SKIPPED]  # never started


def test_a_failed_dependency_skips_a_step_whose_other_dependency_is_still_running(
    tmp_path: Path,
) -> None:
    write_manifest(
        tmp_path,
        [
            job("a", "sleep 1"),
            job("b", "exit 3"),
            job("c", "true", after=("job:a", "job:b")),
        ],
    )
    outcomes, _ = run(tmp_path)
    assert outcomes["job:a"].state == DONE
    assert (outcomes["job:c"].state, outcomes["job:c"].detail) == (SKIPPED, "job:b did not finish")


def test_outputs_of_every_node_end_up_in_the_output_folder(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        [
            job(
                "shard",
                'echo "part $SKYPLAN_NODE" > "$SKYPLAN_OUTPUT_PARTS/part-$SKYPLAN_NODE.txt"',
                outputs=(out("parts"),),
                nodes=3,
            )
        ],
    )
    outcomes, _ = run(tmp_path)
    assert outcomes["job:shard"].state == DONE
    folder = tmp_path / ".skyplan/buckets/local-a/outputs/parts"
    assert sorted(p.name for p in folder.iterdir()) == ["part-0.txt", "part-1.txt", "part-2.txt"]
    assert (folder / "part-2.txt").read_text() == "part 2\n"


def test_the_environment_of_spec_section_6(tmp_path: Path) -> None:
    (tmp_path / "data" / "corpus").mkdir(parents=True)
    (tmp_path / "data" / "words.txt").write_text("alpha beta\n")
    (tmp_path / "data" / "corpus" / "one.txt").write_text("one\n")
    command = (
        'set -eu\nd="$SKYPLAN_OUTPUT_REPORT"\ntest -d "$d"\n'
        'env | grep ^SKYPLAN_ | sort > "$d/env-$SKYPLAN_NODE.txt"\n'
        'cp "$SKYPLAN_INPUT_WORDS/words.txt" "$d/words-$SKYPLAN_NODE.txt"\n'
        'cp "$SKYPLAN_INPUT_CORPUS/one.txt" "$d/one-$SKYPLAN_NODE.txt"\n'
        'echo changed > "$SKYPLAN_INPUT_WORDS/words.txt"\n'
    )
    inputs = (ref("words", "file://data/words.txt"), ref("corpus", "file://data/corpus/"))
    write_manifest(
        tmp_path,
        [job("report", command, inputs=inputs, outputs=(out("report", "local-b"),), nodes=2,
             region="local-b")],
    )  # fmt: skip
    outcomes, _ = run(tmp_path)
    assert outcomes["job:report"].state == DONE, outcomes["job:report"].detail
    folder = tmp_path / ".skyplan/buckets/local-b/outputs/report"
    for node in (0, 1):
        env = dict(
            line.split("=", 1) for line in (folder / f"env-{node}.txt").read_text().splitlines()
        )
        assert env["SKYPLAN_JOB"] == "report"
        assert env["SKYPLAN_STACK"] == STACK
        assert env["SKYPLAN_CLOUD"] == "local"
        assert env["SKYPLAN_REGION"] == "local-b"
        assert env["SKYPLAN_NODE"] == str(node)
        assert env["SKYPLAN_NODES"] == "2"
        words = Path(env["SKYPLAN_INPUT_WORDS"])
        assert words.is_relative_to((tmp_path / ".skyplan" / "nodes").resolve())
        assert Path(env["SKYPLAN_INPUT_CORPUS"]).is_absolute()
        assert Path(env["SKYPLAN_OUTPUT_REPORT"]).is_absolute()
        assert (folder / f"words-{node}.txt").read_text() == "alpha beta\n"
        assert (folder / f"one-{node}.txt").read_text() == "one\n"
    assert (tmp_path / "data" / "words.txt").read_text() == "alpha beta\n"  # a copy was changed


def test_a_second_run_skips_finished_steps_and_reruns_changed_ones(tmp_path: Path) -> None:
    count = tmp_path / "count.txt"
    jobs = [job("a", f"echo a >> {count}"), job("b", f"echo b >> {count}", after=("job:a",))]
    write_manifest(tmp_path, jobs)
    run(tmp_path)
    outcomes, reporter = run(tmp_path)
    assert {s: (o.state, o.detail) for s, o in outcomes.items()} == {
        "job:a": (DONE, "finished earlier"),
        "job:b": (DONE, "finished earlier"),
    }
    assert reporter.seen == [
        ("job:a", DONE, "finished earlier"),
        ("job:b", DONE, "finished earlier"),
    ]
    assert count.read_text().split() == ["a", "b"]

    changed = job("b", f"echo b2 >> {count}", after=("job:a",))
    assert step_key(changed) != step_key(jobs[1])
    write_manifest(tmp_path, [jobs[0], changed])
    outcomes, reporter = run(tmp_path)
    assert outcomes["job:a"].detail == "finished earlier"
    assert (outcomes["job:b"].state, outcomes["job:b"].detail) == (DONE, "")
    assert reporter.states("job:b") == ["running", DONE]
    assert count.read_text().split() == ["a", "b", "b2"]


def test_a_failed_step_runs_again_next_time(tmp_path: Path) -> None:
    flag = tmp_path / "ok"
    write_manifest(tmp_path, [job("a", f"test -f {flag}")])
    assert run(tmp_path)[0]["job:a"].state == FAILED
    flag.touch()
    outcomes, _ = run(tmp_path)
    assert (outcomes["job:a"].state, outcomes["job:a"].detail) == (DONE, "")


def test_a_transfer_copies_then_its_job_reads_the_copy(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "words.txt").write_text("hello\n")
    dst = ".skyplan/buckets/local-a/copies/words/"
    script = 'if [ -d "$1" ]; then cp -R "$1/." "$2"; else cp "$1" "$2"; fi'
    copy = transfer(
        "words",
        "file://data/words.txt",
        [["mkdir", "-p", dst], ["sh", "-c", script, "sh", "data/words.txt", dst]],
    )
    reader = job(
        "read",
        'cp "$SKYPLAN_INPUT_WORDS/words.txt" "$SKYPLAN_OUTPUT_SEEN/"',
        after=("transfer:words@local:local-a",),
        inputs=(ref("words", f"file://{dst}"),),
        outputs=(out("seen"),),
    )
    write_manifest(tmp_path, [reader], (copy,))
    outcomes, _ = run(tmp_path)
    assert outcomes["transfer:words@local:local-a"].state == DONE
    assert outcomes["job:read"].state == DONE
    seen = tmp_path / ".skyplan/buckets/local-a/outputs/seen/words.txt"
    assert seen.read_text() == "hello\n"


def test_a_transfer_without_a_source_fails_clearly(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        [job("use", "true", after=("transfer:genomes@local:local-a",))],
        (transfer("genomes", None, []),),
    )
    outcomes, _ = run(tmp_path)
    failed = outcomes["transfer:genomes@local:local-a"]
    assert (failed.state, failed.detail) == (FAILED, "data set genomes has no uri in sky.yaml")
    assert outcomes["job:use"].state == SKIPPED


def test_a_transfer_whose_tool_is_missing_fails_naming_it(tmp_path: Path) -> None:
    write_manifest(
        tmp_path,
        [],
        (transfer("x", "s3://bucket/x/", [["skyplan-no-such-tool", "sync", "a", "b"]]),),
    )
    outcomes, _ = run(tmp_path)
    failed = outcomes["transfer:x@local:local-a"]
    assert failed.state == FAILED
    assert failed.detail == "skyplan-no-such-tool is not installed here"


def test_a_failing_transfer_command_names_its_exit_status(tmp_path: Path) -> None:
    write_manifest(tmp_path, [], (transfer("x", "file://nowhere", [["sh", "-c", "exit 4"]]),))
    failed = run(tmp_path)[0]["transfer:x@local:local-a"]
    assert (failed.state, failed.detail) == (FAILED, "sh exited 4")
    assert failed.log is not None and "$ sh -c exit 4" in Path(failed.log).read_text()


def test_nodes_writing_the_same_output_file_fail_the_job(tmp_path: Path) -> None:
    """A multi-node job's data set is the union of its nodes' files: two nodes writing one name
    would lose data silently, so the job fails and says how to fix it."""
    manifest = {
        "version": 1,
        "stack": "s",
        "storage": [],
        "transfers": [],
        "jobs": [
            {
                "name": "j", "instance": "j.s.local.local-a", "cloud": "local",
                "region": "local-a", "instance_type": "local.small", "spot": False,
                "nodes": 2, "hours": 1.0, "usd": 0.02,
                "hosts": ["s-j-0", "s-j-1"], "command": 'echo x > "$SKYPLAN_OUTPUT_OUT/same.txt"',
                "inputs": [],
                "outputs": [{"dataset": "out", "env": "SKYPLAN_OUTPUT_OUT", "gb": 1.0,
                             "uri": "file://.skyplan/buckets/local-a/outputs/out/"}],
                "after": [], "runs": "file://.skyplan/buckets/local-a/_skyplan/j/r/", "run": "r",
            }
        ],
        "steps": ["job:j"],
    }  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    outcomes = run_manifest(tmp_path, StackState(tmp_path), Recorder())
    assert outcomes["job:j"].state == FAILED
    assert "nodes 0 and 1 both wrote out/same.txt" in outcomes["job:j"].detail


def test_a_rerun_replaces_a_local_jobs_output_with_nothing_left_from_the_last(
    tmp_path: Path,
) -> None:
    from skyplan.apply.runner import replace_dir

    target = tmp_path / "bucket" / "outputs" / "words"
    first, second = tmp_path / "n0", tmp_path / "n1"
    (first / "sub").mkdir(parents=True)
    (first / "old.txt").write_text("old")
    (first / "sub" / "a").write_text("a")
    replace_dir(target, [first])
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "old.txt", "sub", "sub/a",
    ]  # fmt: skip
    (second / "sub").mkdir(parents=True)
    (second / "new.txt").write_text("new")
    (second / "sub" / "b").write_text("b")
    replace_dir(target, [second, first / "sub"])
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        "a", "new.txt", "sub", "sub/b",
    ]  # fmt: skip
    assert [p.name for p in target.parent.iterdir()] == ["words"]  # no temporary left


def test_a_reader_never_finds_a_local_jobs_output_missing(tmp_path: Path) -> None:
    """replace_dir swaps the new output in with one atomic exchange (renameat2)."""
    from skyplan.apply.runner import replace_dir

    target = tmp_path / "bucket" / "outputs" / "words"
    replace_dir(target, [])
    (target / "start").write_text("s")
    reader = Reader(target)
    reader.start()
    try:
        for n in range(300):
            folder = tmp_path / f"n{n}"
            folder.mkdir()
            (folder / f"{n}.txt").write_text(str(n))
            replace_dir(target, [folder])
    finally:
        reader.done.set()
        reader.join()
    assert [p.name for p in target.iterdir()] == ["299.txt"]
    assert reader.missing == 0, f"missing {reader.missing} of {reader.looks} looks"
    assert [p.name for p in target.parent.iterdir()] == ["words"]
