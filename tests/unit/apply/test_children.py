"""Commands left running by a skyplan that died are found and stopped before anything else."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest

from skyplan.apply import children
from skyplan.apply.children import Child, load, reap_orphans, supervised
from skyplan.apply.state import StackState, process_start, write_json

#: A terraform stand-in: stops on SIGINT (after "saving its state"), like terraform does.
GRACEFUL = "trap 'echo saved > \"$1\"; exit 130' INT; while :; do sleep 0.1; done"
#: A job that ignores SIGTERM: only SIGKILL stops it.
STUBBORN = "trap '' TERM; while :; do sleep 0.1; done"


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _orphan(script: str, *args: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(["sh", "-c", script, "sh", *args], start_new_session=True)
    time.sleep(0.3)  # its traps are set
    return proc


def _record(state: StackState, *entries: Child) -> None:
    write_json(
        state.dir / "children.json", {"version": 1, "children": [asdict(c) for c in entries]}
    )


def _child(
    proc: subprocess.Popen[bytes], kind: str, what: str, owner: int, host: str = ""
) -> Child:
    return Child(proc.pid, kind, what, owner, host or socket.gethostname(), process_start(proc.pid))


def test_a_terraform_left_running_is_asked_to_stop_and_waited_for(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    saved = tmp_path / "saved"
    tf = _orphan(GRACEFUL, str(saved))
    dead = _dead_pid()
    _record(state, _child(tf, "terraform", "terraform apply in local/", dead))
    notes: list[str] = []
    try:
        stopped = reap_orphans(state, notes.append)
        assert tf.wait(timeout=10) == 130  # SIGINT: terraform's graceful stop
    finally:
        tf.kill()
    assert saved.read_text().strip() == "saved"
    assert [c.pid for c in stopped] == [tf.pid]
    assert (
        notes
        and f"terraform apply in local/ (pid {tf.pid}) was left running by skyplan pid {dead}"
        in notes[0]
    )
    assert "SIGINT" in notes[0]
    assert load(state) == []
    assert [e["event"] for e in state.events()] == ["orphans", "orphans.stopped"]


def test_a_job_that_ignores_sigterm_is_killed_after_the_grace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(children, "OTHER_GRACE_S", 0.5)
    state = StackState(tmp_path)
    job = _orphan(STUBBORN)
    _record(state, _child(job, "job", "job:count node 0", _dead_pid()))
    notes: list[str] = []
    try:
        reap_orphans(state, notes.append)
        assert job.wait(timeout=10) == -signal.SIGKILL
    finally:
        job.kill()
    assert any("did not stop: killing it (SIGKILL)" in n for n in notes)


def test_finished_commands_and_live_owners_and_other_hosts_are_left_alone(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    done = subprocess.Popen(["true"], start_new_session=True)
    done.wait()
    alive = _orphan(STUBBORN)
    elsewhere = _orphan(STUBBORN)
    try:
        mine = os.getppid()  # a live skyplan (here: whoever runs the tests) owns `alive`
        _record(
            state,
            _child(done, "job", "job:a node 0", _dead_pid()),
            _child(alive, "job", "job:b node 0", mine),
            _child(elsewhere, "job", "job:c node 0", _dead_pid(), host="build-7.example.com"),
        )
        notes: list[str] = []
        assert reap_orphans(state, notes.append) == []
        assert alive.poll() is None and elsewhere.poll() is None
        assert [c.what for c in load(state)] == ["job:c node 0", "job:b node 0"]
        assert notes == [
            f"job:c node 0 (pid {elsewhere.pid} on build-7.example.com) may still be running: "
            "check that host"
        ]
    finally:
        alive.kill()
        elsewhere.kill()
        alive.wait()
        elsewhere.wait()


def test_commands_are_recorded_while_they_run_in_their_own_group(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    with supervised(state, lambda text: None):
        proc = children.spawn(["sleep", "0.5"], "job", "job:x node 0")
        assert os.getpgid(proc.pid) == proc.pid  # its own process group
        (child,) = load(state)
        assert (child.pid, child.kind, child.owner) == (proc.pid, "job", os.getpid())
        proc.wait()
        children.release(proc)
        assert load(state) == []


def test_sigterm_is_passed_on_to_the_running_commands(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    with pytest.raises(SystemExit) as info, supervised(state, lambda text: None):
        proc = children.spawn(["sleep", "30"], "job", "job:x node 0")
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # interrupted by the handler
    assert info.value.code == 128 + signal.SIGTERM
    assert proc.wait(timeout=10) == -signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
