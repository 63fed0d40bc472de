"""Wait for a cloud job: its nodes run it at boot and leave completion markers in the bucket."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from skyplan.apply.runner import DONE, FAILED, Outcome, StepReporter

POLL_S = 30.0
MIN_TIMEOUT_S = 3600.0
TIMEOUT_FACTOR = 3.0  # a job may take this many times its estimate before we give up
#: The cloud CLIs' output is not read: files, never a pipe that dies with skyplan (SIGPIPE).
_QUIET: dict[str, Any] = {
    "stdin": subprocess.DEVNULL,
    "stdout": subprocess.DEVNULL,
    "stderr": subprocess.DEVNULL,
}


def poll_seconds() -> float:
    """Seconds between looks at the bucket (SKYPLAN_POLL_SECONDS overrides)."""
    return float(os.environ.get("SKYPLAN_POLL_SECONDS", POLL_S))


def timeout_seconds(job: dict[str, Any]) -> float:
    """How long to wait for a job: three times its estimate, at least an hour."""
    return max(MIN_TIMEOUT_S, float(job["hours"]) * 3600 * TIMEOUT_FACTOR)


def _run_commands(argvs: tuple[tuple[str, ...], ...], root: Path) -> str | None:
    """Run commands in order, each tried 3 times; the reason they failed, or None."""
    for argv in argvs:
        if shutil.which(argv[0]) is None:
            return f"{argv[0]} is not installed here"
        for attempt in range(3):
            if subprocess.run(argv, cwd=root, check=False, **_QUIET).returncode == 0:
                break
            if attempt == 2:
                return f"{argv[0]} failed: {' '.join(argv[:3])}"
            time.sleep(5 * (attempt + 1))
    return None


def clear_outputs(job: dict[str, Any], root: Path) -> str | None:
    """Empty the output prefixes of a run that has not started yet, so that what its nodes
    upload replaces the last run's output instead of merging with it (the nodes of a multi-node
    job each add their share). A run already started (its `start` object exists: skyplan died
    while waiting for it) keeps what its nodes wrote. The reason it failed, or None."""
    from skyplan.apply.markers import MarkerReadError, read_text
    from skyplan.emit.tools import upload

    region = job["region"] if job["runs"].startswith("s3://") else None
    for attempt in range(3):
        try:
            if read_text(f"{job['runs']}start", root, 64, region=region) is not None:
                return None
            break
        except MarkerReadError as e:
            if attempt == 2:
                return f"cannot tell whether run {job.get('run', '')} started: {e}"
            time.sleep(5 * (attempt + 1))
    with tempfile.TemporaryDirectory(prefix="skyplan-empty-") as empty:
        for ref in job.get("outputs", []):
            if ref.get("uri"):
                problem = _run_commands(upload(empty, ref["uri"], job["region"]), root)
                if problem is not None:
                    return f"could not empty {ref['uri']} before the run: {problem}"
    return None


def start_run(job: dict[str, Any], root: Path) -> str | None:
    """Empty the run's output prefixes (a fresh run only), then write the run's `start` object
    (the nodes wait for it before fetching their inputs); the reason it failed, or None."""
    from skyplan.emit.tools import put_file

    with tempfile.NamedTemporaryFile("w", suffix=".start", delete=False) as fh:
        fh.write(json.dumps({"job": job["name"], "run": job.get("run", "")}) + "\n")
    try:
        argv = put_file(fh.name, f"{job['runs']}start", job["region"])
        if shutil.which(argv[0]) is None:
            return f"{argv[0]} is not installed here: it starts the job's nodes"
        if job["runs"].startswith("file://"):  # a folder of this machine, relative to the stack
            (root / job["runs"][len("file://") :]).mkdir(parents=True, exist_ok=True)
        problem = clear_outputs(job, root)
        if problem is not None:
            return problem
        for attempt in range(3):
            done = subprocess.run(argv, cwd=root, check=False, **_QUIET)
            if done.returncode == 0:
                return None
            time.sleep(5 * (attempt + 1))
        return f"could not write {job['runs']}start with {argv[0]}"
    finally:
        os.unlink(fh.name)


def cloud_job_watcher(
    root: Path,
    reporter: StepReporter,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,
) -> Callable[[dict[str, Any]], Outcome]:
    """A function that waits for one cloud job's markers and reports its progress."""
    from skyplan.apply.children import pause, stopping
    from skyplan.apply.markers import MarkerReadError, read_markers

    wait_for = sleep if sleep is not None else pause  # pause ends early when interrupted

    def watch(job: dict[str, Any]) -> Outcome:
        step = f"job:{job['name']}"
        problem = start_run(job, root)
        if problem is not None:
            return Outcome(FAILED, problem)
        reporter.step(step, "running", f"started run {job.get('run', '')}; waiting for markers")
        started = clock()
        deadline = started + timeout_seconds(job)
        seen: dict[int, str] = {}
        while True:
            try:
                region = job["region"] if job["runs"].startswith("s3://") else None
                markers = read_markers(job["runs"], root, region=region)
            except MarkerReadError as e:  # transient: look again next time
                reporter.step(step, "running", f"cannot read markers yet: {e}")
                markers = {}
            for node, marker in sorted(markers.items()):
                if seen.get(node) != marker.state:
                    seen[node] = marker.state
                    reporter.step(step, "running", f"node {node}: {marker.state}")
            terminal = {n: m for n, m in markers.items() if m.state in (DONE, FAILED)}
            hours = (clock() - started) / 3600
            usd = hours * float(job["usd"]) / float(job["hours"]) if job["hours"] else 0.0
            if any(m.state == FAILED for m in terminal.values()):
                bad = min(n for n, m in terminal.items() if m.state == FAILED)
                code = terminal[bad].exit_status
                log = job["runs"] + f"node-{bad}.log"
                return Outcome(FAILED, f"node {bad} exited {code}; log: {log}", usd, log)
            if len(terminal) >= int(job["nodes"]):
                return Outcome(DONE, f"{job['nodes']} node(s) done", usd, job["runs"])
            if clock() >= deadline:
                waiting = int(job["nodes"]) - len(terminal)
                return Outcome(
                    FAILED,
                    f"timed out after {(clock() - started) / 3600:.1f} h with {waiting} node(s) "
                    f"not done (see {job['runs']})",
                    usd,
                )
            wait_for(poll_seconds())
            if stopping():
                return Outcome(
                    FAILED, "interrupted while waiting: its nodes go on; apply again to wait", usd
                )

    return watch
