"""The job runner: manifest.json in DAG order, each step once the steps it needs are done."""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from skyplan.apply import children
from skyplan.apply.state import StackState, read_json, write_json
from skyplan.emit.tools import STAGING

DONE, FAILED, SKIPPED, RUNNING, PENDING = "done", "failed", "skipped", "running", "pending"
MAX_PARALLEL = 8


class StepReporter(Protocol):
    """Where the runner reports progress (the CLI renders it)."""

    def step(self, step: str, state: str, detail: str = "") -> None:
        """A step changed state."""


@dataclass(frozen=True)
class Outcome:
    """How one step ended."""

    state: str
    detail: str = ""
    usd: float = 0.0
    log: str | None = None


def step_key(item: dict[str, Any]) -> str:
    """The step's run id (a digest of what it does and of everything upstream, computed when the
    stack is emitted): a changed step, or one downstream of a change, runs again; others never."""
    if item.get("run"):
        return str(item["run"])
    return hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:16]


class Runs:
    """runs.json: each step's state, written atomically after every change."""

    def __init__(self, state: StackState):
        self.state = state
        data = read_json(state.runs_file) or {}
        self.steps: dict[str, dict[str, Any]] = dict(data.get("steps", {}))

    def finished(self, step: str, key: str) -> bool:
        """Whether this exact step already finished successfully."""
        entry = self.steps.get(step)
        return entry is not None and entry.get("state") == DONE and entry.get("key") == key

    def record(self, step: str, **fields: Any) -> None:
        """Update a step and write runs.json."""
        self.steps[step] = {**self.steps.get(step, {}), **fields}
        write_json(self.state.runs_file, {"version": 1, "steps": self.steps})


def _local_path(root: Path, uri: str) -> Path:
    path = uri[len("file://") :]
    return Path(path) if path.startswith("/") else root / path


def _copy_into(src: Path, dst: Path) -> None:
    """Copy a file, or a folder's contents, into the folder `dst`."""
    dst.mkdir(parents=True, exist_ok=True)
    if src.is_dir():
        shutil.copytree(src, dst, dirs_exist_ok=True)
    elif src.exists():
        shutil.copy2(src, dst / src.name)
    else:
        raise FileNotFoundError(f"{src} does not exist")


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically (Linux renameat2 RENAME_EXCHANGE): at every moment each name
    holds one of the two trees. False where the system or the file system cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    at_fdcwd, rename_exchange = -100, 2
    return renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def replace_dir(target: Path, folders: list[Path]) -> None:
    """Make `target` hold exactly the union of `folders`' files: built in a temporary sibling
    (same file system), then swapped with `target` in one atomic exchange (renameat2), so a
    reader always finds `target`, with the old output or the new one, never a mix, never a file
    left from the last run, and never missing; the old tree is deleted afterwards. Without an
    atomic exchange (not Linux, or a file system without it) the old tree is renamed away and
    the new one renamed in, the old one put back if that fails."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f"{target.name}.skyplan-new.", dir=target.parent))
    old = tmp.with_name(tmp.name + ".old")
    try:
        tmp.chmod(0o755)
        for folder in folders:
            shutil.copytree(folder, tmp, dirs_exist_ok=True)
        if not (target.exists() or target.is_symlink()):
            os.rename(tmp, target)
        elif not exchange(tmp, target):
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except OSError:
                os.rename(old, target)  # put the last output back rather than lose it
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # after an exchange: the old output
        shutil.rmtree(old, ignore_errors=True)


def run_transfer(root: Path, transfer: dict[str, Any], log: Path) -> Outcome:
    """Run a copy's commands in order (the manifest's argv lists, no shell), in the stack folder."""
    if transfer["source"] is None:
        return Outcome(FAILED, f"data set {transfer['dataset']} has no uri in sky.yaml")
    log.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="skyplan-staging-") as staging, log.open("w") as fh:
        for argv in transfer["commands"]:
            argv = [a.replace(STAGING, staging) for a in argv]
            if shutil.which(argv[0]) is None:
                return Outcome(FAILED, f"{argv[0]} is not installed here", log=str(log))
            fh.write(f"$ {' '.join(argv)}\n")
            fh.flush()
            step = f"transfer:{transfer['id']}"
            proc = children.spawn(
                argv, "transfer", step, step=step, cwd=root, stdout=fh,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
            try:
                code = children.wait(proc)
            finally:
                children.release(proc)
            if code != 0:
                return Outcome(FAILED, f"{argv[0]} exited {code}", log=str(log))
    return Outcome(DONE, log=str(log))


def run_local_job(root: Path, job: dict[str, Any], logs: Path, stack: str) -> Outcome:
    """Run a `local` job's nodes as processes on this machine (SPEC section 6 environment)."""
    started = time.monotonic()
    procs: list[tuple[subprocess.Popen[bytes], Path, Path]] = []
    for node, host in enumerate(job["hosts"]):
        work = root / ".skyplan" / "nodes" / host
        env = {
            **os.environ,
            "SKYPLAN_JOB": job["name"],
            "SKYPLAN_STACK": stack,
            "SKYPLAN_CLOUD": job["cloud"],
            "SKYPLAN_REGION": job["region"],
            "SKYPLAN_NODE": str(node),
            "SKYPLAN_NODES": str(job["nodes"]),
        }
        for ref in job["inputs"]:
            path = work / "inputs" / ref["dataset"]
            shutil.rmtree(path, ignore_errors=True)
            if ref["uri"] is None:
                return Outcome(FAILED, f"data set {ref['dataset']} has no uri in sky.yaml")
            _copy_into(_local_path(root, ref["uri"]), path)
            env[ref["env"]] = str(path.resolve())
        for ref in job["outputs"]:
            path = work / "outputs" / ref["dataset"]
            shutil.rmtree(path, ignore_errors=True)
            path.mkdir(parents=True)
            env[ref["env"]] = str(path.resolve())
        run_dir = work / "run"
        shutil.rmtree(run_dir, ignore_errors=True)
        run_dir.mkdir(parents=True)
        (run_dir / "run.sh").write_text(job["command"], encoding="utf-8")
        log = logs / f"{job['name']}-{node}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        fh = log.open("wb")
        try:
            proc = children.spawn(
                ["bash", "run.sh"], "job", f"job:{job['name']} node {node}",
                step=f"job:{job['name']}", cwd=run_dir, env=env, stdout=fh,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        except children.Stopping:
            for p, _, _ in procs:  # the nodes started already: stopped (SIGTERM) and waited for
                children.wait(p)
                children.release(p)
            raise
        finally:
            fh.close()
        procs.append((proc, work, log))
    try:
        codes = [children.wait(p) for p, _, _ in procs]
    finally:
        for p, _, _ in procs:
            children.release(p)
    hours = (time.monotonic() - started) / 3600
    usd = hours * float(job["usd"]) / float(job["hours"]) if job["hours"] else 0.0
    logs_text = ", ".join(str(log) for _, _, log in procs)
    if any(codes):
        bad = next(i for i, c in enumerate(codes) if c)
        return Outcome(FAILED, f"node {bad} exited {codes[bad]}", usd, str(procs[bad][2]))
    for ref in job["outputs"]:
        folders = [work / "outputs" / ref["dataset"] for _, work, _ in procs]
        owner: dict[str, int] = {}
        for node, folder in enumerate(folders):
            for file in (f for f in folder.rglob("*") if f.is_file()):
                rel = file.relative_to(folder).as_posix()
                if rel in owner:  # the data set is the union of its nodes' files: no clobbering
                    return Outcome(
                        FAILED, f"nodes {owner[rel]} and {node} both wrote {ref['dataset']}/{rel}; "
                        "name files per node (e.g. with $SKYPLAN_NODE)", usd, logs_text,
                    )  # fmt: skip
                owner[rel] = node
        replace_dir(_local_path(root, ref["uri"]), folders)  # nothing left from the last run
    return Outcome(DONE, usd=usd, log=logs_text)


def dependencies(manifest: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each step's prerequisites, by step id."""
    deps = {f"transfer:{t['id']}": tuple(t["after"]) for t in manifest["transfers"]}
    deps |= {f"job:{j['name']}": tuple(j["after"]) for j in manifest["jobs"]}
    return deps


def run_manifest(
    root: Path,
    state: StackState,
    reporter: StepReporter,
    cloud_job: Callable[[dict[str, Any]], Outcome] | None = None,
) -> dict[str, Outcome]:
    """Run every step not yet done, dependencies first, up to MAX_PARALLEL at once; a failed step
    skips everything that depends on it. `cloud_job` waits for a cloud job's nodes."""
    manifest = read_json(root / "manifest.json")
    items = {f"transfer:{t['id']}": t for t in manifest["transfers"]}
    items |= {f"job:{j['name']}": j for j in manifest["jobs"]}
    deps = dependencies(manifest)
    runs = Runs(state)
    outcomes: dict[str, Outcome] = {}
    for step in manifest["steps"]:
        if runs.finished(step, step_key(items[step])):
            outcomes[step] = Outcome(DONE, "finished earlier")
            reporter.step(step, DONE, "finished earlier")

    def execute(step: str) -> Outcome:
        item = items[step]
        if step.startswith("transfer:"):
            return run_transfer(root, item, state.logs / "transfers" / f"{item['id']}.log")
        if item["cloud"] == "local":
            return run_local_job(root, item, state.logs / "jobs", manifest["stack"])
        if cloud_job is None:
            return Outcome(FAILED, f"no runner for cloud {item['cloud']}")
        return cloud_job(item)

    pending = [s for s in manifest["steps"] if s not in outcomes]
    running: dict[Future[Outcome], str] = {}
    with ThreadPoolExecutor(max_workers=MAX_PARALLEL) as pool:
        while pending or running:
            for step in list(pending):
                states = [outcomes[d].state if d in outcomes else None for d in deps[step]]
                if any(s in (FAILED, SKIPPED) for s in states):
                    blocker = next(
                        d for d in deps[step] if d in outcomes and outcomes[d].state != DONE
                    )
                    outcomes[step] = Outcome(SKIPPED, f"{blocker} did not finish")
                    runs.record(
                        step, state=SKIPPED, key=step_key(items[step]), detail=outcomes[step].detail
                    )
                    reporter.step(step, SKIPPED, outcomes[step].detail)
                    pending.remove(step)
                elif children.stopping():  # interrupted: nothing new starts
                    pending.remove(step)
                elif all(s == DONE for s in states) and len(running) < MAX_PARALLEL:
                    runs.record(step, state=RUNNING, key=step_key(items[step]), started=time.time())
                    state.event("step.start", step=step)
                    reporter.step(step, RUNNING)
                    running[pool.submit(execute, step)] = step
                    pending.remove(step)
            if not running:
                for step in pending:  # waiting on steps that will never run: name them
                    missing = [d for d in deps[step] if d not in items]
                    outcomes[step] = Outcome(FAILED, f"depends on unknown steps: {missing}")
                    reporter.step(step, FAILED, outcomes[step].detail)
                pending.clear()
                continue
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                step = running.pop(future)
                try:
                    outcome = future.result()
                except Exception as e:  # one step's trouble (credentials, disk) fails it alone
                    outcome = Outcome(FAILED, getattr(e, "message", None) or str(e))
                outcomes[step] = outcome
                runs.record(
                    step, state=outcome.state, finished=time.time(), detail=outcome.detail,
                    usd=round(outcome.usd, 6), log=outcome.log,
                )  # fmt: skip
                state.event("step.end", step=step, state=outcome.state, detail=outcome.detail)
                reporter.step(step, outcome.state, outcome.detail)
    return outcomes
