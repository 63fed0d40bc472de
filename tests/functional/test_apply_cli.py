"""`skyplan apply`, `status` and `destroy` with the real terraform binary on the `local` cloud."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

SKYPLAN = Path(sys.executable).with_name("skyplan")


def run_cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `skyplan ARGS` in `cwd` with extra environment, capturing its output."""
    full = {k: v for k, v in os.environ.items() if k not in ("SKYPLAN_DEBUG", "SKYPLAN_LOCAL_FAIL")}
    return subprocess.run(
        [str(SKYPLAN), *map(str, args)], cwd=cwd, env={**full, **(env or {})},
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


if shutil.which("terraform") is None and os.environ.get("SKYPLAN_REQUIRE_TERRAFORM") == "1":
    raise RuntimeError("SKYPLAN_REQUIRE_TERRAFORM=1 but terraform was not found")
pytestmark = pytest.mark.skipif(
    shutil.which("terraform") is None,
    reason="terraform is not installed here (.ci/run requires it)",
)

Cli = Callable[..., subprocess.CompletedProcess[str]]

#: A three-job DAG: `split` in one region feeds `count` and `report`; data moves between them.
SPEC = """\
version: 1
name: dag
clouds: [local]
datasets:
  text: {size: 1KB, location: "local:local-b", uri: "file://data/text.txt"}
jobs:
  split:
    run: |
      set -eu
      tr -s ' ' '\\n' < "$SKYPLAN_INPUT_TEXT/text.txt" > "$SKYPLAN_OUTPUT_WORDS/words.txt"
      echo "$SKYPLAN_JOB $SKYPLAN_STACK $SKYPLAN_CLOUD $SKYPLAN_REGION" \\
        > "$SKYPLAN_OUTPUT_WORDS/env"
    resources: {cpus: 2}
    hours: 1
    inputs: [text]
    outputs: {words: 1KB}
  count:
    run: |
      wc -l < "$SKYPLAN_INPUT_WORDS/words.txt" | tr -d ' ' > "$SKYPLAN_OUTPUT_TOTAL/total"
      SLEEP
    resources: {cpus: 2}
    hours: 1
    inputs: [words]
    outputs: {total: 1KB}
  report:
    run: cat "$SKYPLAN_INPUT_TOTAL/total" > "$SKYPLAN_OUTPUT_REPORT/report.txt"
    resources: {cpus: 2}
    hours: 1
    inputs: [total]
    outputs: {report: 1KB}
"""


@pytest.fixture
def stack(tmp_path: Path) -> Callable[..., Path]:
    """Write the DAG spec (optionally with a slow `count`) and its data; returns sky.yaml."""

    def make(sleep: float = 0, extra: str = "") -> Path:
        root = tmp_path / "proj"
        (root / "data").mkdir(parents=True, exist_ok=True)
        (root / "data" / "text.txt").write_text("the quick brown fox jumps\nover the dog\n")
        text = SPEC.replace("SLEEP", f"sleep {sleep}" if sleep else "true")
        path = root / "sky.yaml"
        path.write_text(text + textwrap.dedent(extra), encoding="utf-8")
        return path

    return make


def apply(
    spec: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`skyplan apply SPEC --out build --auto-approve ARGS` in the spec's folder."""
    return run_cli(
        "apply", spec, "--out", "build", "--auto-approve", *args, cwd=spec.parent, env=env
    )


def events(root: Path) -> list[dict[str, object]]:
    """The journal of a stack folder."""
    path = root / "build" / ".skyplan" / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def bucket(root: Path, region: str) -> Path:
    """A local bucket folder."""
    return root / "build" / ".skyplan" / "buckets" / region


def test_a_dag_with_a_transfer_runs_and_its_outputs_appear(stack: Callable[..., Path]) -> None:
    spec = stack()
    root = spec.parent
    proc = apply(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "[local] done" in proc.stdout
    plan = json.loads((root / "build" / "plan.json").read_text())
    where = {p["job"]: p["region"] for p in plan["placements"]}
    assert where == {"split": "local-a", "count": "local-a", "report": "local-a"}
    assert [t["dataset"] for t in plan["transfers"]] == ["text"]  # text lives in local-b
    out = bucket(root, "local-a") / "outputs"
    assert (out / "words" / "env").read_text().split() == ["split", "dag", "local", "local-a"]
    assert (out / "total" / "total").read_text().strip() == "8"
    assert (out / "report" / "report.txt").read_text().strip() == "8"
    status = run_cli("status", "build", cwd=root)
    assert status.returncode == 0, status.stderr
    assert "local/ │ 4" in status.stdout or "local/ | 4" in status.stdout
    assert status.stdout.count(" done ") >= 4
    # applying again changes nothing and runs nothing twice
    again = apply(spec)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("finished earlier") == 4
    starts = [e for e in events(root) if e["event"] == "step.start"]
    assert len(starts) == 4
    gone = run_cli("destroy", "build", "--auto-approve", cwd=root)
    assert gone.returncode == 0, gone.stderr
    assert not (root / "build" / ".skyplan" / "nodes").exists() or not any(
        (root / "build" / ".skyplan" / "nodes").iterdir()
    )


def test_capacity_failure_moves_the_plan_to_local_b(stack: Callable[..., Path]) -> None:
    spec = stack()
    root = spec.parent
    proc = apply(spec, env={"SKYPLAN_LOCAL_FAIL": "local-a=capacity"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "capacity InsufficientInstanceCapacity" in proc.stdout
    assert "Re-planned:" in proc.stdout and "-> local:local-b local.small" in proc.stdout
    plan = json.loads((root / "build" / "plan.json").read_text())
    assert {p["region"] for p in plan["placements"]} == {"local-b"}
    assert (bucket(root, "local-b") / "outputs" / "report" / "report.txt").exists()
    blocked = json.loads((root / "build" / ".skyplan" / "blocked.json").read_text())["blocked"]
    assert {(b["region"], b.get("instance_type"), b["reason"]) for b in blocked} == {
        ("local:local-a", "local.small", "capacity")
    }
    assert [e["event"] for e in events(root)].count("replan") == 1
    # the embedded catalog's prices are old: said once, not again at the re-plan
    assert proc.stderr.count("warning: the oldest prices in the embedded catalog are ") == 1


def test_quota_failure_blocks_the_region(stack: Callable[..., Path]) -> None:
    spec = stack()
    proc = apply(spec, env={"SKYPLAN_LOCAL_FAIL": "local-a=quota"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "quota VcpuLimitExceeded" in proc.stdout
    blocked = json.loads((spec.parent / "build" / ".skyplan" / "blocked.json").read_text())
    (entry,) = blocked["blocked"]
    assert entry["region"] == "local:local-a" and entry["reason"] == "quota"
    assert entry["resource"] == "vcpus" and "instance_type" not in entry


def test_permanent_failure_stops_at_once(stack: Callable[..., Path]) -> None:
    spec = stack()
    proc = apply(spec, env={"SKYPLAN_LOCAL_FAIL": "local-a=permanent"})
    assert proc.returncode == 4
    assert "apply failed" in proc.stderr and "permanent InvalidParameterValue" in proc.stderr
    assert "Re-planned" not in proc.stdout
    assert "Traceback" not in proc.stderr


def test_failures_everywhere_exit_4_with_the_history(stack: Callable[..., Path]) -> None:
    spec = stack()
    proc = apply(spec, env={"SKYPLAN_LOCAL_FAIL": "local-a=capacity,local-b=capacity"})
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "attempt 1" in proc.stderr and "attempt 2" in proc.stderr
    assert "capacity InsufficientInstanceCapacity" in proc.stderr
    assert "To fix:" in proc.stderr


def test_a_replan_never_breaks_a_jurisdiction(stack: Callable[..., Path], tmp_path: Path) -> None:
    """local-a is the only EU region of this catalog: EU data cannot escape its capacity failure."""
    catalog = tmp_path / "catalog"
    shutil.copytree(Path(__file__).resolve().parents[2] / "skyplan" / "catalog" / "data", catalog)
    regions = (catalog / "regions.csv").read_text()
    regions = regions.replace("ZZ,LOCAL,europe,0,0,Local A", "ZZ,LOCAL;EU,europe,0,0,Local A")
    (catalog / "regions.csv").write_text(regions)
    spec = stack()
    text = spec.read_text().replace('location: "local:local-b"', 'location: "local:local-a"')
    text = text.replace('"file://data/text.txt"}', '"file://data/text.txt", jurisdictions: [EU]}')
    spec.write_text(text)
    fail = {"SKYPLAN_LOCAL_FAIL": "local-a=capacity"}
    proc = apply(spec, "--catalog", str(catalog), "--max-replans", "10", env=fail)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    # every instance type of local-a was tried in turn, local-b never
    assert proc.stderr.count("capacity InsufficientInstanceCapacity") >= 4
    assert "local:local-b" not in proc.stdout
    assert "no allowed placement is left" in proc.stderr
    assert "never relaxed" in proc.stderr
    plan = json.loads((spec.parent / "build" / "plan.json").read_text())
    assert {p["region"] for p in plan["placements"]} == {"local-a"}


def test_approval_is_never_asked_without_a_terminal(stack: Callable[..., Path]) -> None:
    spec = stack()
    proc = run_cli("apply", spec, "--out", "build", cwd=spec.parent)
    assert proc.returncode == 2
    assert "standard input is not a terminal" in proc.stderr and "--auto-approve" in proc.stderr
    assert not (spec.parent / "build" / "local").exists()


def _start(spec: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(SKYPLAN), "apply", str(spec), "--out", "build", "--auto-approve"],
        cwd=spec.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip


def _wait_for(path: Path, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.1)


def test_two_applies_at_once(stack: Callable[..., Path]) -> None:
    spec = stack(sleep=8)
    first = _start(spec)
    _wait_for(spec.parent / "build" / ".skyplan" / "lock")
    second = apply(spec)
    assert second.returncode == 4
    assert "another skyplan holds this stack: pid" in second.stderr
    assert f"pid {first.pid}" in second.stderr
    assert first.wait(timeout=120) == 0


def test_kill_9_during_apply_then_apply_again_converges(stack: Callable[..., Path]) -> None:
    spec = stack(sleep=30)
    root = spec.parent
    first = _start(spec)
    _wait_for(bucket(root, "local-a") / "outputs" / "words" / "words.txt")
    time.sleep(0.5)  # `count` is running now
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    spec.write_text(spec.read_text().replace("sleep 30", "true"))  # `count` changes, `split` not
    proc = apply(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "job:split done  finished earlier" in proc.stdout  # not run twice after it finished
    starts = [e["step"] for e in events(root) if e["event"] == "step.start"]
    assert starts.count("job:split") == 1
    assert (bucket(root, "local-a") / "outputs" / "report" / "report.txt").exists()
    listed = subprocess.run(
        ["terraform", "state", "list"], cwd=root / "build" / "local",
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert len(listed) == len(set(listed)) == 4  # 1 bucket + 3 nodes, no duplicates


def test_a_promoted_environment_is_applied_as_reviewed(stack: Callable[..., Path]) -> None:
    """promote pins staging's placements into prod; apply --env prod keeps them."""
    spec = stack(extra="envs:\n  staging: {}\n  prod:\n    budget_usd: 5\n")
    root = spec.parent
    assert run_cli("plan", spec, "--env", "staging", cwd=root).returncode == 0
    promoted = run_cli("promote", spec, "--from", "staging", "--to", "prod", cwd=root)
    assert promoted.returncode == 0, promoted.stderr
    proc = run_cli("apply", spec, "--env", "prod", "--auto-approve", cwd=root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    prod = json.loads((root / "stacks" / "dag" / "prod" / "plan.json").read_text())
    assert prod["solver"] == {"status": "PINNED", "from": "staging"}
    report = root / "stacks/dag/prod/.skyplan/buckets/local-a/outputs/report/report.txt"
    assert report.read_text().strip() == "8"


def test_giving_up_after_max_replans_keeps_the_last_rounds_blocks(
    stack: Callable[..., Path],
) -> None:
    spec = stack()
    root = spec.parent
    fail = {"SKYPLAN_LOCAL_FAIL": "local-a=capacity,local-b=capacity"}
    proc = apply(spec, "--max-replans", "0", env=fail)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "still failing after 0 re-plans" in proc.stderr
    blocked = json.loads((root / "build" / ".skyplan" / "blocked.json").read_text())["blocked"]
    assert {(b["region"], b.get("instance_type"), b["reason"]) for b in blocked} == {
        ("local:local-a", "local.small", "capacity")
    }
    # the next apply starts from what the last one learnt: it goes straight to local-b
    again = apply(spec, "--max-replans", "0", env={"SKYPLAN_LOCAL_FAIL": "local-b=capacity"})
    assert again.returncode == 4, again.stdout + again.stderr
    plan = json.loads((root / "build" / "plan.json").read_text())
    assert {p["region"] for p in plan["placements"]} == {"local-b"}


RENAMES = """\
version: 1
name: mirror
clouds: [local]
jobs:
  make:
    run: echo data > "$SKYPLAN_OUTPUT_OUT/NAME"
    resources: {cpus: 2}
    hours: 1
    outputs: {out: 1KB}
    regions: ["local:local-a"]
  read:
    run: ls "$SKYPLAN_INPUT_OUT" > "$SKYPLAN_OUTPUT_LISTING/listing"
    resources: {cpus: 2}
    hours: 1
    inputs: [out]
    outputs: {listing: 1KB}
    regions: ["local:local-b"]
"""


def test_a_rerun_replaces_outputs_and_copies_rather_than_merging(tmp_path: Path) -> None:
    """`make` renames its output file between two applies: `read`, in the other region (so the
    output is copied there), must see only the new file, and so must the bucket folders."""
    root = tmp_path / "proj"
    root.mkdir()
    spec = root / "sky.yaml"
    spec.write_text(RENAMES.replace("NAME", "first.txt"))
    proc = apply(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listing = bucket(root, "local-b") / "outputs" / "listing" / "listing"
    assert listing.read_text().split() == ["first.txt"]
    spec.write_text(RENAMES.replace("NAME", "second.txt"))
    again = apply(spec)
    assert again.returncode == 0, again.stdout + again.stderr
    assert listing.read_text().split() == ["second.txt"]
    assert [p.name for p in (bucket(root, "local-a") / "outputs" / "out").iterdir()] == [
        "second.txt"
    ]
    assert [p.name for p in (bucket(root, "local-b") / "copies" / "out").iterdir()] == [
        "second.txt"
    ]
    leftovers = [p for p in (root / "build" / ".skyplan" / "buckets").rglob("*skyplan-new*")]
    assert leftovers == []


ORPHAN = """\
version: 1
name: orphan
clouds: [local]
jobs:
  slow:
    run: |
      echo "start $$" >> LOGFILE
      sleep 6
      echo "end $$" >> LOGFILE
      echo done > "$SKYPLAN_OUTPUT_OUT/x"
    resources: {cpus: 2}
    hours: 1
    outputs: {out: 1KB}
"""


def _running(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaped does not count)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def test_kill_9_of_only_skyplan_stops_its_orphaned_job_before_running_it_again(
    tmp_path: Path,
) -> None:
    """kill -9 of the skyplan process alone leaves its job running (its own process group): the
    next apply stops that run and starts the job once, never beside it."""
    root = tmp_path / "proj"
    root.mkdir()
    runs = tmp_path / "runs.log"
    spec = root / "sky.yaml"
    spec.write_text(ORPHAN.replace("LOGFILE", str(runs)))
    first = _start(spec)
    end = time.monotonic() + 60
    while not (runs.exists() and runs.read_text().startswith("start")):
        assert time.monotonic() < end and first.poll() is None, first.communicate()
        time.sleep(0.1)
    os.kill(first.pid, signal.SIGKILL)  # only skyplan: not its group, not its children
    first.wait()
    (orphan,) = [int(line.split()[1]) for line in runs.read_text().splitlines()]
    assert _running(orphan)
    status = run_cli("status", "build", cwd=root)
    row = _rows(status.stdout)["job:slow"]
    assert row[2] == f"running (left by pid {first.pid})"  # its orphan still runs it
    assert row[-1] == str(Path("build/.skyplan/logs/jobs/slow-0.log"))
    proc = apply(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"job:slow node 0 (pid {orphan}) was left running by skyplan pid {first.pid}" in (
        " ".join(proc.stdout.split())
    )
    assert not _running(orphan)
    lines = runs.read_text().split("\n")
    second = int(lines[1].split()[1])
    assert [line for line in lines if line] == [
        f"start {orphan}",
        f"start {second}",
        f"end {second}",
    ]  # the orphan never finished, the job ran once more, alone
    kinds = [e["event"] for e in events(root)]
    assert "orphans" in kinds and "orphans.stopped" in kinds
    left = json.loads((root / "build" / ".skyplan" / "children.json").read_text())
    assert left["children"] == []


def _rows(text: str) -> dict[str, list[str]]:
    """Table rows of `skyplan status` by their first cell, cells stripped."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.replace("|", "│").split("│")]
        cells = [c for c in cells if c != ""] if "│" in line else []
        if cells:
            rows.setdefault(cells[0], cells)
    return rows


def test_status_shows_outputs_and_the_real_log_of_each_step(stack: Callable[..., Path]) -> None:
    spec = stack()
    root = spec.parent
    text = spec.read_text().replace(
        'wc -l < "$SKYPLAN_INPUT_WORDS/words.txt"',
        'exit 3; wc -l < "$SKYPLAN_INPUT_WORDS/words.txt"',
    )
    spec.write_text(text)
    proc = apply(spec)
    assert proc.returncode == 4, proc.stdout + proc.stderr  # count fails, report is skipped
    status = run_cli("status", "build", cwd=root)
    assert status.returncode == 0, status.stderr
    out = status.stdout
    assert "Outputs" in out
    buckets = [line for line in out.splitlines() if " buckets " in line]
    assert any("local-a" in line and ".skyplan/buckets/local-a" in line for line in buckets), out
    assert any(" nodes " in line and "dag-split-0" in line for line in out.splitlines()), out
    rows = _rows(out)
    logs = root / "build" / ".skyplan" / "logs"
    assert rows["job:split"][-1] == str(Path("build/.skyplan/logs/jobs/split-0.log"))
    assert (logs / "jobs" / "split-0.log").exists()
    assert rows["job:count"][2] == "failed" and rows["job:count"][-1].endswith("count-0.log")
    assert rows["job:report"][2] == "skipped" and rows["job:report"][-1] == "-"
    assert "_skyplan" not in out  # no folder that does not exist
    transfer = next(k for k in rows if k.startswith("transfer:"))
    assert rows[transfer][-1].endswith(".log") and Path(root / rows[transfer][-1]).exists()


def test_destroy_removes_the_local_buckets_and_their_data(stack: Callable[..., Path]) -> None:
    spec = stack()
    root = spec.parent
    proc = apply(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    buckets = root / "build" / ".skyplan" / "buckets"
    assert (buckets / "local-a" / "outputs" / "report" / "report.txt").exists()
    (buckets / "local-b").mkdir(parents=True, exist_ok=True)  # an earlier placement's folder
    (buckets / "local-b" / "old.txt").write_text("left by a job that moved")
    gone = run_cli("destroy", "build", "--auto-approve", cwd=root)
    assert gone.returncode == 0, gone.stdout + gone.stderr
    assert not buckets.exists()
    assert not (root / "build" / ".skyplan" / "nodes").exists()
    listed = subprocess.run(
        ["terraform", "state", "list"], cwd=root / "build" / "local",
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert listed == []
    assert (root / "data" / "text.txt").exists()  # the input data set is the user's: kept
    # a second destroy has nothing left to do and still succeeds
    again = run_cli("destroy", "build", "--auto-approve", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr


# --- interrupts and deaths in the middle of terraform ----------------------------------------

#: PATH stand-ins that make the local module's terraform slow, for the tests that interrupt it:
#: creating a node (its provisioner runs `sh .../create-node.sh`) or destroying one (`rm -rf`)
#: first touches $SLOW_MARK and sleeps $SLOW_SECONDS (creation: only in $SLOW_REGION, if set).
SLOW_SH = """#!/bin/sh
case "${1:-}" in
  */create-node.sh)
    region="${SLOW_REGION:-$SKYPLAN_REGION}"
    if [ -n "${SLOW_MARK:-}" ] && [ "$region" = "$SKYPLAN_REGION" ]; then
      touch "$SLOW_MARK"; echo "slow node $SKYPLAN_PATH"; sleep "$SLOW_SECONDS"
    fi ;;
esac
exec /bin/sh "$@"
"""
SLOW_RM = """#!/bin/sh
if [ -n "${SKYPLAN_PATH:-}" ] && [ -n "${SLOW_MARK:-}" ]; then
  touch "$SLOW_MARK"; echo "slow removal $SKYPLAN_PATH"; sleep "$SLOW_SECONDS"
fi
exec /bin/rm "$@"
"""


def slow(tmp_path: Path, seconds: float, region: str = "") -> tuple[dict[str, str], Path]:
    """The environment that makes terraform slow, and the file that says it has got there."""
    bin_dir = tmp_path / "slow-bin"
    bin_dir.mkdir(exist_ok=True)
    for name, text in (("sh", SLOW_SH), ("rm", SLOW_RM)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    mark = tmp_path / "slow-mark"
    mark.unlink(missing_ok=True)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}", "SLOW_MARK": str(mark),
        "SLOW_SECONDS": str(seconds), "SLOW_REGION": region,
    }  # fmt: skip
    return env, mark


def start(*args: str | Path, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`skyplan ARGS` in the background, in its own session (signals reach skyplan alone)."""
    full = {k: v for k, v in os.environ.items() if k not in ("SKYPLAN_DEBUG", "SKYPLAN_LOCAL_FAIL")}
    return subprocess.Popen(
        [str(SKYPLAN), *map(str, args)], cwd=cwd, env={**full, **env},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def state_list(module: Path) -> list[str]:
    return subprocess.run(
        ["terraform", "state", "list"], cwd=module, capture_output=True, text=True, check=True
    ).stdout.split()


def recorded(root: Path) -> list[dict[str, object]]:
    path = root / "build" / ".skyplan" / "children.json"
    return json.loads(path.read_text())["children"] if path.exists() else []


def test_a_terraform_outlives_a_skyplan_killed_mid_apply_and_finishes_its_apply(
    stack: Callable[..., Path], tmp_path: Path
) -> None:
    """Terraform's output goes to a file, not to a pipe that dies with skyplan: killed with
    skyplan gone, it goes on, and its state holds everything it created."""
    spec = stack()
    root = spec.parent
    env, mark = slow(tmp_path, 4)
    first = start("apply", spec, "--out", "build", "--auto-approve", cwd=root, env=env)
    _wait_for(mark)
    (tf,) = [c for c in recorded(root) if c["kind"] == "terraform"]
    os.kill(first.pid, signal.SIGKILL)  # only skyplan
    first.wait()
    end = time.monotonic() + 120
    while _running(int(tf["pid"])):
        assert time.monotonic() < end, "terraform never finished"
        time.sleep(0.2)
    assert len(state_list(root / "build" / "local")) == 4  # 1 bucket + 3 nodes: all in state
    raw = Path(str(tf["raw"]))
    assert raw.stat().st_mode & 0o777 == 0o600
    assert "Apply complete! Resources: 4 added" in raw.read_text()
    proc = apply(spec)  # the next apply keeps what terraform printed and converges
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not raw.exists()
    log = Path(str(tf["log"])).read_text()
    assert f"--- the whole output of pid {tf['pid']}" in log
    assert "Apply complete! Resources: 4 added" in log
    assert (bucket(root, "local-a") / "outputs" / "report" / "report.txt").exists()


def test_ctrl_c_after_a_replan_reaches_terraform_and_exits_130(
    stack: Callable[..., Path], tmp_path: Path
) -> None:
    """The re-plan's CP-SAT solve must not take skyplan's SIGINT handler away: terraform gets
    the interrupt and saves its state, the lock goes, exit 130."""
    spec = stack()
    root = spec.parent
    env, mark = slow(tmp_path, 30, region="local-b")
    env["SKYPLAN_LOCAL_FAIL"] = "local-a=capacity"
    proc = start("apply", spec, "--out", "build", "--auto-approve", cwd=root, env=env)
    _wait_for(mark)  # round 2, after the re-plan: creating nodes in local-b
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "Re-planned:" in out
    assert "error: interrupted" in err
    assert not (root / "build" / ".skyplan" / "lock").exists()
    log = (root / "build" / ".skyplan" / "logs" / "attempt-2" / "local.log").read_text()
    assert "Interrupt received" in log  # terraform's own graceful stop
    assert log.rstrip().splitlines()[-1].startswith("[exit ")  # skyplan waited for it
    assert recorded(root) == []
    assert [e["event"] for e in events(root)].count("apply.attempt") == 2
    state_list(root / "build" / "local")  # the state is readable, not locked


def test_ctrl_c_during_destroy_waits_for_terraform_and_exits_130(
    stack: Callable[..., Path], tmp_path: Path
) -> None:
    spec = stack()
    root = spec.parent
    assert apply(spec).returncode == 0
    env, mark = slow(tmp_path, 30)
    proc = start("destroy", "build", "--auto-approve", cwd=root, env=env)
    _wait_for(mark)
    os.kill(proc.pid, signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, out + err
    assert "error: interrupted" in err
    assert not (root / "build" / ".skyplan" / "lock").exists()
    log = (root / "build" / ".skyplan" / "logs" / "destroy" / "local.log").read_text()
    assert "Interrupt received" in log and log.rstrip().splitlines()[-1].startswith("[exit ")
    assert recorded(root) == []
    again = run_cli("destroy", "build", "--auto-approve", cwd=root)
    assert again.returncode == 0, again.stdout + again.stderr
    assert state_list(root / "build" / "local") == []


def test_destroy_refuses_a_force_destroy_step_that_would_change_more(
    stack: Callable[..., Path],
) -> None:
    """The jobs moved and `skyplan plan` rewrote the stack folder: setting force_destroy on the
    buckets in the state would now destroy local-a's bucket with force_destroy=false. destroy
    refuses, before changing anything."""
    spec = stack()
    root = spec.parent
    proc = apply(spec)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    moved = spec.read_text().replace(
        "    resources: {cpus: 2}\n", '    resources: {cpus: 2}\n    regions: ["local:local-b"]\n'
    )
    spec.write_text(moved)
    assert run_cli("plan", spec, "--out", "build", cwd=root).returncode == 0
    # every step changed: pending, and no log of the earlier run is shown for it
    rows = _rows(run_cli("status", "build", cwd=root).stdout)
    assert all(rows[s][2] == "pending" and rows[s][-1] == "-" for s in ("job:split", "job:count"))
    before = state_list(root / "build" / "local")
    gone = run_cli("destroy", "build", "--auto-approve", cwd=root)
    assert gone.returncode == 4, gone.stdout + gone.stderr
    text = " ".join(gone.stderr.split())
    assert "refused before changing anything" in text
    assert "terraform_data.bucket_local_a: delete" in text
    assert state_list(root / "build" / "local") == before
    assert (bucket(root, "local-a") / "outputs" / "report" / "report.txt").exists()
