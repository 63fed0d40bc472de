"""A stack's run state: atomic JSON, the event journal, blocked offerings and the stack lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skyplan.apply.state import (
    CAPACITY_TTL_S,
    BlockRecord,
    StackState,
    live_holder,
    load_blocked,
    locked,
    process_start,
    process_state,
    read_json,
    save_blocked,
    write_json,
)
from skyplan.errors import ApplyError, InputError
from skyplan.solver.blocked import Block

HOLDER = """
import sys
from pathlib import Path
from skyplan.apply.state import StackState, locked
with locked(StackState(Path(sys.argv[1])), "skyplan apply"):
    print("held", flush=True)
    sys.stdin.read()
"""


# --- write_json / read_json ----------------------------------------------------------------


def test_write_json_replaces_the_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "runs.json"
    write_json(path, {"b": 1, "a": [1, 2]})
    write_json(path, {"b": 2})
    assert read_json(path) == {"b": 2}
    assert path.read_text(encoding="utf-8").endswith("}\n")
    assert [p.name for p in path.parent.iterdir()] == ["runs.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path: Path) -> None:
    path = tmp_path / "blocked.json"
    write_json(path, {"version": 1, "blocked": []})
    before = path.read_bytes()
    with pytest.raises(TypeError):
        write_json(path, {"version": 1, "blocked": [object()]})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["blocked.json"]


def test_read_json_of_a_missing_file_is_none(tmp_path: Path) -> None:
    assert read_json(tmp_path / "nothing.json") is None


def test_read_json_of_a_corrupt_file_is_an_input_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "runs.json"
    path.write_text('{"steps": {', encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_json(path)
    assert info.value.where is not None
    assert info.value.where.file == str(path)
    assert str(path) in info.value.render()
    assert info.value.hint is not None and "delete" in info.value.hint


# --- the journal -----------------------------------------------------------------------------


def test_events_are_appended_as_json_lines_oldest_first(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    assert state.events() == []
    state.event("apply.attempt", attempt=1, total_usd=3.5)
    state.event("step.start", step="job:a")
    lines = state.journal.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["apply.attempt", "step.start"]
    events = state.events()
    assert [e["event"] for e in events] == ["apply.attempt", "step.start"]
    assert events[0]["attempt"] == 1 and events[0]["total_usd"] == 3.5
    assert events[1]["step"] == "job:a"
    assert abs(events[0]["at"] - time.time()) < 60


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    state.event("first")
    state.event("second")
    with state.journal.open("a", encoding="utf-8") as fh:
        fh.write('{"at": 1.0, "event": "thi')  # the process died mid-write
    assert [e["event"] for e in state.events()] == ["first", "second"]


def test_the_first_event_after_a_torn_line_is_kept(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    state.event("first")
    with state.journal.open("a", encoding="utf-8") as fh:
        fh.write('{"at": 1.0, "event": "thi')
    state.event("after.crash")
    assert [e["event"] for e in state.events()] == ["first", "after.crash"]


# --- blocked offerings -----------------------------------------------------------------------

CAPACITY = Block("aws:eu-west-1", "p4d.24xlarge", reason="capacity")
QUOTA = Block("gcp:europe-west4", resource="gpus:A100", reason="quota")
UNSUPPORTED = Block("azure:westeurope", "Standard_ND96", reason="unsupported")


def test_blocked_round_trips(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    records = (
        BlockRecord(QUOTA, 1000.0, "Quota 'NVIDIA_A100_GPUS' exceeded"),
        BlockRecord(CAPACITY, 1000.5, "InsufficientInstanceCapacity"),
        BlockRecord(UNSUPPORTED, 999.0),
    )
    save_blocked(state, records)
    assert read_json(state.blocked_file)["version"] == 1
    assert set(load_blocked(state, now=1001.0)) == set(records)


def test_save_blocked_keeps_one_entry_per_block_the_latest(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    save_blocked(state, (BlockRecord(CAPACITY, 2000.0, "new"), BlockRecord(CAPACITY, 10.0, "old")))
    assert load_blocked(state, now=2001.0) == (BlockRecord(CAPACITY, 2000.0, "new"),)


def test_capacity_blocks_expire_but_quota_and_unsupported_do_not(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    save_blocked(
        state,
        (BlockRecord(CAPACITY, 0.0), BlockRecord(QUOTA, 0.0), BlockRecord(UNSUPPORTED, 0.0)),
    )
    fresh = {r.block for r in load_blocked(state, now=CAPACITY_TTL_S - 1.0)}
    assert fresh == {CAPACITY, QUOTA, UNSUPPORTED}
    later = {r.block for r in load_blocked(state, now=CAPACITY_TTL_S + 1.0)}
    assert later == {QUOTA, UNSUPPORTED}
    years = {r.block for r in load_blocked(state, now=100 * CAPACITY_TTL_S)}
    assert years == {QUOTA, UNSUPPORTED}


def test_no_blocked_file_means_nothing_blocked(tmp_path: Path) -> None:
    assert load_blocked(StackState(tmp_path)) == ()


# --- the lock --------------------------------------------------------------------------------


def _lock_file(state: StackState, pid: int, host: str, since: float = 0.0) -> Path:
    state.dir.mkdir(parents=True, exist_ok=True)
    path = state.dir / "lock"
    data = {"pid": pid, "host": host, "command": "skyplan apply", "since": since}
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_second_holder_in_another_process_is_refused_naming_the_first(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ApplyError) as info, locked(state, "skyplan destroy"):
            pass
        assert (state.dir / "lock").exists()
    finally:
        if holder.stdin is not None:
            holder.stdin.close()
        holder.wait(timeout=30)
    assert f"pid {holder.pid} on {socket.gethostname()}" in info.value.message
    assert "skyplan apply" in info.value.message
    assert holder.returncode == 0
    assert not (state.dir / "lock").exists()  # the holder removed it on exit
    with locked(state, "skyplan destroy") as me:
        assert me.pid == os.getpid()


def test_the_lock_names_its_holder_and_is_removed_on_exit(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    with locked(state, "skyplan apply") as me:
        data = json.loads((state.dir / "lock").read_text(encoding="utf-8"))
        assert data["pid"] == os.getpid() == me.pid
        assert data["host"] == socket.gethostname()
        assert data["command"] == "skyplan apply"
    assert not (state.dir / "lock").exists()


def test_the_lock_is_removed_when_the_body_raises(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    with pytest.raises(RuntimeError), locked(state, "skyplan apply"):
        raise RuntimeError("boom")
    assert not (state.dir / "lock").exists()


def test_a_lock_left_by_a_dead_process_on_this_host_is_taken_over(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    dead = _dead_pid()
    _lock_file(state, dead, socket.gethostname())
    with locked(state, "skyplan apply") as me:
        assert me.pid == os.getpid()
        assert json.loads((state.dir / "lock").read_text(encoding="utf-8"))["pid"] == os.getpid()
    stale = [e for e in state.events() if e["event"] == "lock.stale"]
    assert len(stale) == 1
    assert stale[0]["holder"]["pid"] == dead
    assert not (state.dir / "lock").exists()


def test_a_lock_of_another_host_is_refused_and_left_in_place(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    path = _lock_file(state, _dead_pid(), "build-agent-7.example.com")
    before = path.read_bytes()
    with pytest.raises(ApplyError) as info, locked(state, "skyplan apply"):
        pass
    assert "build-agent-7.example.com" in info.value.message
    assert info.value.hint is not None and str(path) in info.value.hint
    assert path.read_bytes() == before
    assert [e for e in state.events() if e["event"] == "lock.stale"] == []


def test_an_unreadable_lock_is_refused_while_young_and_taken_over_when_old(
    tmp_path: Path,
) -> None:
    state = StackState(tmp_path)
    state.dir.mkdir(parents=True)
    path = state.dir / "lock"
    path.write_text("", encoding="utf-8")  # another process between open() and write
    with pytest.raises(ApplyError) as info, locked(state, "skyplan apply"):
        pass
    assert "taking it right now" in info.value.message
    old = time.time() - 60
    os.utime(path, (old, old))
    with locked(state, "skyplan apply") as me:
        assert me.pid == os.getpid()
    assert [e["holder"] for e in state.events() if e["event"] == "lock.stale"] == [None]


RACER = """
import sys, time
from pathlib import Path
from skyplan.apply.state import StackState, locked
from skyplan.errors import ApplyError
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
try:
    with locked(StackState(Path(sys.argv[1])), "skyplan apply"):
        print("won", flush=True)
        time.sleep(2.0)  # hold it while the others try
except ApplyError:
    print("refused", flush=True)
"""


@pytest.mark.parametrize("trial", range(6))
def test_processes_racing_for_a_stale_lock_let_exactly_one_win(tmp_path: Path, trial: int) -> None:
    state = StackState(tmp_path / "stack")
    _lock_file(state, _dead_pid(), socket.gethostname())
    go = tmp_path / "go"
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", RACER, str(state.root), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    time.sleep(1.0)  # every racer imported skyplan and is spinning on `go`
    go.touch()
    results = [r.communicate(timeout=60) for r in racers]
    outcomes = sorted(out.strip() for out, _ in results)
    assert outcomes == ["refused", "refused", "won"], results
    assert not (state.dir / "lock").exists()
    assert len([e for e in state.events() if e["event"] == "lock.stale"]) == 1


def test_a_lock_whose_pid_now_belongs_to_another_process_is_stale(tmp_path: Path) -> None:
    """The holder died and its pid was reused: the recorded start time tells them apart."""
    state = StackState(tmp_path)
    state.dir.mkdir(parents=True)
    me = os.getpid()
    started = process_start(me)
    if started is None:
        pytest.skip("no /proc here")
    data = {"pid": me, "host": socket.gethostname(), "command": "skyplan apply", "since": 0.0}
    (state.dir / "lock").write_text(json.dumps({**data, "started": started - 1}))
    assert live_holder(state) is None
    (state.dir / "lock").write_text(json.dumps({**data, "started": started}))
    assert live_holder(state) is not None


def test_the_lock_is_not_inherited_by_children(tmp_path: Path) -> None:
    """A terraform or job left running by a killed skyplan must not keep the stack locked."""
    state = StackState(tmp_path)
    with locked(state, "skyplan apply"):
        child = subprocess.Popen(["sleep", "30"])
    try:
        with locked(state, "skyplan apply") as me:
            assert me.pid == os.getpid()
    finally:
        child.kill()
        child.wait()


# --- a dead holder that nobody has reaped (a zombie) --------------------------------------

ZOMBIE_HOLDER = """
import os, sys, time
from pathlib import Path
from skyplan.apply.state import StackState, locked
pid = os.fork()
if pid == 0:  # the child takes the lock and dies with it held; the parent never reaps it
    with locked(StackState(Path(sys.argv[1])), "skyplan apply"):
        os._exit(0)
print(pid, flush=True)
sys.stdin.read()
"""


def _zombie_holder(tmp_path: Path) -> tuple[subprocess.Popen[str], int]:
    """A skyplan that died holding the lock, left a zombie by its parent (parent, zombie pid)."""
    parent = subprocess.Popen(
        [sys.executable, "-c", ZOMBIE_HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert parent.stdout is not None
    pid = int(parent.stdout.readline())
    end = time.monotonic() + 10
    while process_state(pid) != "Z":
        assert time.monotonic() < end, "the holder never became a zombie"
        time.sleep(0.05)
    return parent, pid


def test_a_zombie_holder_does_not_keep_the_stack_locked(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    parent, zombie = _zombie_holder(tmp_path)
    try:
        recorded = json.loads((state.dir / "lock").read_text())
        assert recorded["pid"] == zombie
        assert live_holder(state) is None
        with locked(state, "skyplan apply") as me:
            assert me.pid == os.getpid()
        assert recorded.get("flock") is True  # it held the flock: the flock says it is gone
        # an older skyplan's file (no "flock"): the pid is checked, and a zombie is dead
        old = {k: v for k, v in recorded.items() if k not in ("flock", "boot")}
        (state.dir / "lock").write_text(json.dumps(old))
        assert live_holder(state) is None
        with locked(state, "skyplan apply") as me:
            assert me.pid == os.getpid()
    finally:
        parent.communicate("")


def test_a_flock_holder_that_is_gone_is_stale_even_if_its_pid_runs(tmp_path: Path) -> None:
    """A lock file written by a skyplan that takes the flock: nobody holding the flock means its
    holder is gone, whoever has its pid now (here: this very process, started as recorded)."""
    state = StackState(tmp_path)
    state.dir.mkdir(parents=True)
    me = {
        "pid": os.getpid(), "host": socket.gethostname(), "command": "skyplan apply",
        "since": 0.0, "started": process_start(os.getpid()), "flock": True,
    }  # fmt: skip
    (state.dir / "lock").write_text(json.dumps(me))
    assert live_holder(state) is None
    with locked(state, "skyplan destroy") as info:
        assert info.command == "skyplan destroy"
        assert live_holder(state) is not None  # the flock is held now


def test_a_busy_lock_on_this_host_says_to_wait_or_stop_the_holder_never_to_delete_it(
    tmp_path: Path,
) -> None:
    state = StackState(tmp_path)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(ApplyError) as info, locked(state, "skyplan destroy"):
            pass
    finally:
        holder.communicate("")
    hint = info.value.hint or ""
    assert f"kill {holder.pid}" in hint and "delete" not in hint
