"""Waiting for a cloud job's completion markers, over a file:// runs folder with a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skyplan.apply.runner import DONE, FAILED, Outcome
from skyplan.apply.watch import MIN_TIMEOUT_S, cloud_job_watcher, timeout_seconds

RUNS = "file://runs/train/"
POLL = 30.0


class Recorder:
    """A StepReporter that remembers every report."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str, str]] = []
        self.started = ""

    def step(self, step: str, state: str, detail: str = "") -> None:
        if detail.startswith("started run"):  # the go-ahead written before watching
            self.started = detail
            return
        self.seen.append((step, state, detail))

    def details(self) -> list[str]:
        return [detail for _, _, detail in self.seen]


class Clock:
    """A monotonic clock that only moves when the watcher sleeps; `script[i]` runs at sleep i."""

    def __init__(self, script: dict[int, Callable[[], None]] | None = None) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []
        self.script = script or {}

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if action := self.script.get(len(self.sleeps)):
            action()


@pytest.fixture(autouse=True)
def _poll(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SKYPLAN_POLL_SECONDS", str(POLL))


def job(nodes: int = 2, hours: float = 2.0, usd: float = 4.0) -> dict[str, Any]:
    return {
        "name": "train",
        "cloud": "gcp",
        "region": "europe-west4",
        "nodes": nodes,
        "hours": hours,
        "usd": usd,
        "runs": RUNS,
    }


def marker(root: Path, node: int, state: str, status: int | None) -> Callable[[], None]:
    def write() -> None:
        folder = root / "runs" / "train"
        folder.mkdir(parents=True, exist_ok=True)
        body = {"job": "train", "node": node, "exit_status": status}
        (folder / f"node-{node}.{state}").write_text(json.dumps(body) + "\n")

    return write


def both(*actions: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        for action in actions:
            action()

    return run


def watch(root: Path, clock: Clock, j: dict[str, Any]) -> tuple[Outcome, Recorder]:
    reporter = Recorder()
    watcher = cloud_job_watcher(root, reporter, clock=clock, sleep=clock.sleep)
    return watcher(j), reporter


def test_done_when_every_node_has_a_done_marker(tmp_path: Path) -> None:
    clock = Clock({2: marker(tmp_path, 0, "done", 0), 4: marker(tmp_path, 1, "done", 0)})
    outcome, _ = watch(tmp_path, clock, job())
    assert (outcome.state, outcome.detail) == (DONE, "2 node(s) done")
    assert outcome.log == RUNS
    assert clock.sleeps == [POLL] * 4  # it looked until the last node was done, then stopped
    assert outcome.usd == pytest.approx(4 * POLL / 3600 * 4.0 / 2.0)


def test_the_reporter_sees_each_node_state_change_once(tmp_path: Path) -> None:
    clock = Clock({1: marker(tmp_path, 0, "done", 0), 5: marker(tmp_path, 1, "done", 0)})
    _, reporter = watch(tmp_path, clock, job())
    assert reporter.seen == [
        ("job:train", "running", "node 0: done"),
        ("job:train", "running", "node 1: done"),
    ]


def test_a_failed_marker_fails_the_job_naming_node_status_and_log(tmp_path: Path) -> None:
    clock = Clock({1: both(marker(tmp_path, 0, "done", 0), marker(tmp_path, 1, "failed", 3))})
    outcome, reporter = watch(tmp_path, clock, job())
    assert outcome.state == FAILED
    assert outcome.detail == f"node 1 exited 3; log: {RUNS}node-1.log"
    assert outcome.log == f"{RUNS}node-1.log"
    assert "node 1: failed" in reporter.details()
    assert clock.sleeps == [POLL]


def test_a_failed_node_fails_the_job_before_the_others_finish(tmp_path: Path) -> None:
    clock = Clock({1: marker(tmp_path, 2, "failed", 137)})
    outcome, _ = watch(tmp_path, clock, job(nodes=4))
    assert (outcome.state, outcome.detail) == (FAILED, f"node 2 exited 137; log: {RUNS}node-2.log")


def test_an_interrupted_node_that_finishes_later_is_done(tmp_path: Path) -> None:
    clock = Clock(
        {
            1: both(marker(tmp_path, 0, "interrupted", 143), marker(tmp_path, 1, "done", 0)),
            3: marker(tmp_path, 0, "done", 0),
        }
    )
    outcome, reporter = watch(tmp_path, clock, job())
    assert outcome.state == DONE
    assert clock.sleeps == [POLL] * 3  # an interrupted node is not finished
    assert reporter.details() == ["node 0: interrupted", "node 1: done", "node 0: done"]


def test_no_markers_until_the_deadline_times_out(tmp_path: Path) -> None:
    j = job(nodes=2, hours=0.1)
    assert timeout_seconds(j) == MIN_TIMEOUT_S
    clock = Clock()
    start = clock.now
    outcome, reporter = watch(tmp_path, clock, j)
    assert outcome.state == FAILED
    assert outcome.detail.startswith("timed out after 1.0 h with 2 node(s) not done")
    assert RUNS in outcome.detail
    assert clock.now - start == MIN_TIMEOUT_S  # not a poll earlier, not a poll later
    assert reporter.seen == []


def test_a_long_job_gets_three_times_its_estimate(tmp_path: Path) -> None:
    j = job(nodes=1, hours=2.0)
    assert timeout_seconds(j) == 3 * 2.0 * 3600
    clock = Clock({int(5.9 * 3600 / POLL): marker(tmp_path, 0, "done", 0)})
    outcome, _ = watch(tmp_path, clock, j)
    assert outcome.state == DONE


def test_nodes_that_finished_are_counted_in_a_timeout(tmp_path: Path) -> None:
    clock = Clock({1: marker(tmp_path, 0, "done", 0)})
    outcome, _ = watch(tmp_path, clock, job(nodes=3, hours=0.1))
    assert outcome.state == FAILED
    assert "with 2 node(s) not done" in outcome.detail


def test_the_run_is_started_before_its_markers_are_awaited(tmp_path: Path) -> None:
    """The watcher writes the run's `start` object: the nodes fetch their inputs only then."""
    reporter = Recorder()
    spec = {**job(nodes=1), "run": "abc123"}
    runs = tmp_path / "runs" / "train"
    clock = Clock({1: marker(tmp_path, 0, "done", 0)})
    outcome = cloud_job_watcher(tmp_path, reporter, clock, clock.sleep)(spec)
    assert outcome.state == "done"
    assert json.loads((runs / "start").read_text()) == {"job": spec["name"], "run": "abc123"}
    assert reporter.started.startswith("started run abc123")


def test_a_fresh_run_starts_with_its_output_prefixes_emptied(tmp_path: Path) -> None:
    """What the nodes upload replaces the last run's output: the runner empties the prefix
    before it writes `start`; a run already started keeps what its nodes wrote."""
    from skyplan.apply.watch import start_run

    out = tmp_path / "bucket" / "outputs" / "result"
    out.mkdir(parents=True)
    (out / "old-name.txt").write_text("from the last run")
    spec = {
        **job(),
        "runs": "file://bucket/_skyplan/train/abc/",
        "outputs": [{"dataset": "result", "uri": "file://bucket/outputs/result/"}],
    }
    assert start_run(spec, tmp_path) is None
    assert (tmp_path / "bucket" / "_skyplan" / "train" / "abc" / "start").exists()
    assert out.is_dir() and list(out.iterdir()) == []
    (out / "new-name.txt").write_text("this run, node 0")
    assert start_run(spec, tmp_path) is None  # skyplan died and waits for the same run again
    assert [p.name for p in out.iterdir()] == ["new-name.txt"]
