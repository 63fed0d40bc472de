"""Commands left running by a skyplan that died are found and stopped before anything else."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from skyplan.apply import children, records
from skyplan.apply.children import Child, load, supervised
from skyplan.apply.orphans import reap_orphans
from skyplan.apply.state import StackState, boot_id, process_start, process_state, write_json
from skyplan.errors import ApplyError

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


# --- processes are recognised by their token, never by a pid or a group alone ---------------


def _group_alive(pgid: int) -> list[int]:
    """The live processes of a process group."""
    return records._group_members(pgid) or []


def _stray_group(tmp_path: Path, token: str | None = None) -> tuple[int, int]:
    """A process group whose leader has exited and whose other member sleeps on: an unrelated
    one (no token), or one of ours (SKYPLAN_CHILD=token). (group id, sleeping pid)"""
    env = (
        {**os.environ, children.TOKEN_VAR: token}
        if token
        else {k: v for k, v in os.environ.items() if k != children.TOKEN_VAR}
    )
    pidfile = tmp_path / f"sleeper-{token}"
    leader = subprocess.Popen(
        ["sh", "-c", f'sleep 30 & echo $! > "{pidfile}"'], start_new_session=True, env=env
    )
    leader.wait()
    sleeper = int(pidfile.read_text())
    return leader.pid, sleeper


def test_an_unrelated_group_whose_leader_is_gone_is_never_signalled(tmp_path: Path) -> None:
    """The recorded pid now names a group of unrelated processes (its leader gone): neither an
    old record (no token) nor a tagged one makes skyplan stop them."""
    state = StackState(tmp_path)
    pgid, sleeper = _stray_group(tmp_path)
    try:
        old = Child(pgid, "job", "job:a node 0", _dead_pid(), socket.gethostname(), 12345)
        _record(state, old)
        assert reap_orphans(state, lambda text: None) == []
        assert _running(sleeper)
        assert load(state) == []
        _record(state, replace(old, what="job:b node 0", token="f" * 32))
        assert reap_orphans(state, lambda text: None) == []
        assert _running(sleeper)
        assert load(state) == []
    finally:
        os.kill(sleeper, signal.SIGKILL)


def test_the_tagged_processes_of_an_orphan_are_stopped_after_their_leader_is_gone(
    tmp_path: Path,
) -> None:
    state = StackState(tmp_path)
    pgid, sleeper = _stray_group(tmp_path, token="a" * 32)
    try:
        record = Child(pgid, "job", "job:a node 0", _dead_pid(), socket.gethostname(), 1)
        _record(state, replace(record, token="a" * 32, boot=boot_id()))
        (stopped,) = reap_orphans(state, lambda text: None)
        assert stopped.pid == pgid
        _wait_until(lambda: not _running(sleeper))
    finally:
        with suppress(ProcessLookupError):
            os.kill(sleeper, signal.SIGKILL)


def test_records_of_an_earlier_boot_are_dropped_unsignalled(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    pgid, sleeper = _stray_group(tmp_path, token="b" * 32)
    try:
        record = Child(pgid, "job", "job:a node 0", _dead_pid(), socket.gethostname(), 1)
        _record(state, replace(record, token="b" * 32, boot="another-boot"))
        assert reap_orphans(state, lambda text: None) == []
        assert _running(sleeper)
        assert load(state) == []
    finally:
        os.kill(sleeper, signal.SIGKILL)


def test_processes_whose_environment_cannot_be_read_are_named_and_not_signalled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = StackState(tmp_path)
    pgid, sleeper = _stray_group(tmp_path, token="c" * 32)
    monkeypatch.setattr(records, "_environ", lambda pid: None)  # as for another user's process
    try:
        record = Child(pgid, "job", "job:a node 0", _dead_pid(), socket.gethostname(), 1)
        _record(state, replace(record, token="c" * 32, boot=boot_id()))
        notes: list[str] = []
        assert reap_orphans(state, notes.append) == []
        assert _running(sleeper)
        assert any(f"pid(s) {sleeper}" in n and "not signalling them" in n for n in notes), notes
    finally:
        os.kill(sleeper, signal.SIGKILL)


def test_spawned_commands_carry_their_token_and_are_recorded_with_the_boot(
    tmp_path: Path,
) -> None:
    state = StackState(tmp_path)
    with supervised(state, lambda text: None):
        proc = children.spawn(["sleep", "5"], "job", "job:x node 0", step="job:x")
        try:
            (child,) = load(state)
            # the gate's bash execs the command once released: while the kernel swaps the
            # program, /proc/<pid>/environ reads empty, so wait for the command itself
            cmdline = Path(f"/proc/{proc.pid}/cmdline")
            _wait_until(lambda: cmdline.read_bytes().split(b"\0")[0] == b"sleep")
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
            assert f"{children.TOKEN_VAR}={child.token}".encode() in environ
            assert child.boot == boot_id() and child.step == "job:x"
            assert child.members().tagged == (proc.pid,)
        finally:
            proc.kill()
            proc.wait()
            children.release(proc)


# --- a terraform is never killed -------------------------------------------------------------

#: A terraform stand-in that takes long to stop: it counts the SIGINTs it gets.
SLOW_TO_STOP = "trap 'echo int >> \"$1\"' INT; while :; do sleep 0.1; done"


def test_a_terraform_still_running_after_the_wait_is_left_running_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKYPLAN_ORPHAN_WAIT_SECONDS", "1")
    state = StackState(tmp_path)
    ints = tmp_path / "ints"
    tf = _orphan(SLOW_TO_STOP, str(ints))
    try:
        _record(state, _child(tf, "terraform", "terraform apply in local/", _dead_pid()))
        for _ in range(2):
            with pytest.raises(ApplyError) as info:
                reap_orphans(state, lambda text: None)
            assert info.value.exit_code == 4
            assert tf.poll() is None  # never SIGKILLed
            assert f"terraform apply in local/ (pid {tf.pid})" in info.value.message
            assert "skyplan does not kill a terraform" in info.value.message
            hint = info.value.hint or ""
            assert f"kill {tf.pid}" in hint and "force-unlock" in hint
            assert f"terraform -chdir={tmp_path} force-unlock" in hint
            (kept,) = load(state)
            assert kept.pid == tf.pid and kept.interrupted
        assert ints.read_text().split() == ["int"]  # one SIGINT only: a second is a hard stop
    finally:
        tf.kill()
        tf.wait()


# --- what outlives a command's first process is stopped -------------------------------------


def test_processes_left_when_a_jobs_leader_exits_are_stopped_before_it_is_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(children, "OTHER_GRACE_S", 0.5)
    state = StackState(tmp_path)
    job = "sh -c 'trap \"\" TERM INT; sleep 30' & wait"
    with supervised(state, lambda text: None):
        proc = children.spawn(["bash", "-c", job], "job", "job:x node 0")
        time.sleep(0.5)  # the background shell has set its traps
        assert len(_group_alive(proc.pid)) >= 2
        os.kill(proc.pid, signal.SIGTERM)  # the leader stops; its background shell does not
        proc.wait()
        children.release(proc)
        assert _group_alive(proc.pid) == []
        assert load(state) == []


# --- once interrupted, nothing new starts ---------------------------------------------------


def test_once_stopping_no_command_starts(tmp_path: Path) -> None:
    state = StackState(tmp_path)
    with supervised(state, lambda text: None) as registry:
        registry.forward(signal.SIGTERM)
        children._STOPPING.set()
        assert children.stopping() and children.pause(30)  # a backoff ends at once
        with pytest.raises(children.Stopping):
            children.spawn(["true"], "job", "job:x node 0")
        assert load(state) == []


def test_a_second_interrupt_never_reaches_terraform(tmp_path: Path) -> None:
    """Terraform stops at once, without saving its state, on a second SIGINT: skyplan passes
    on only the first, whatever it gets."""
    state = StackState(tmp_path)
    ints = tmp_path / "ints"
    with supervised(state, lambda text: None) as registry:
        proc = children.spawn(["sh", "-c", SLOW_TO_STOP, "sh", str(ints)], "terraform", "tf")
        time.sleep(0.3)
        try:
            registry.forward(signal.SIGINT)
            registry.forward(signal.SIGTERM)
            registry.forward(signal.SIGINT)
            time.sleep(0.5)
            assert ints.read_text().split() == ["int"]
            (child,) = load(state)
            assert child.interrupted
        finally:
            proc.kill()
            proc.wait()
            children.release(proc)


def _running(pid: int) -> bool:
    return process_state(pid) not in (None, "Z", "X")


def _wait_until(check: Callable[[], bool], timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.05)


def test_a_command_is_itself_the_recorded_process_and_starts_once_recorded(
    tmp_path: Path,
) -> None:
    """The gate execs the command: the pid skyplan records is the command's own, and by the
    time the command runs its record is on disk."""
    state = StackState(tmp_path)
    seen = tmp_path / "seen"
    script = f"echo $$ > {seen}; cat {state.dir}/children.json >> {seen}"
    with supervised(state, lambda text: None):
        proc = children.spawn(["bash", "-c", script], "job", "job:x")
        assert children.wait(proc) == 0
        children.release(proc)
    pid, recorded = seen.read_text().split("\n", 1)
    assert int(pid) == proc.pid
    assert [c["pid"] for c in json.loads(recorded)["children"]] == [proc.pid]


def test_a_command_never_starts_when_skyplan_fails_to_record_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A skyplan that dies between starting a command and recording it (kill -9) leaves nothing
    running that a later apply could not find: the gate closes empty and the command exits."""
    state = StackState(tmp_path)
    ran = tmp_path / "ran"

    def fail(self: object, proc: subprocess.Popen[bytes], child: Child) -> Child:
        started.append(proc)
        raise RuntimeError("killed before the record was saved")

    started: list[subprocess.Popen[bytes]] = []
    monkeypatch.setattr(children.Registry, "add", fail)
    with supervised(state, lambda text: None), pytest.raises(RuntimeError):
        children.spawn(["bash", "-c", f"touch {ran}"], "job", "job:x")
    (proc,) = started
    assert proc.wait(timeout=10) == 125
    assert not ran.exists()


def test_an_environment_read_mid_exec_is_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc/PID/environ reads empty while the process execs: the read is tried again, so a
    command's process is never taken for untagged (and left running) in that moment."""
    reads = [b"\0", b"\0", b"\0SKYPLAN_CHILD=t\0"]
    monkeypatch.setattr(records, "_read_environ", lambda pid: reads.pop(0))
    monkeypatch.setattr(records.time, "sleep", lambda s: None)
    assert records._environ(1) == b"\0SKYPLAN_CHILD=t\0"
    assert not reads
    always_empty = [b"\0"] * records.ENVIRON_READS
    monkeypatch.setattr(records, "_read_environ", lambda pid: always_empty.pop(0))
    assert records._environ(1) == b"\0"  # a truly empty environment, after the retries
    gone = [b""]
    monkeypatch.setattr(records, "_read_environ", lambda pid: gone.pop(0))
    assert records._environ(1) == b""  # the process is gone: no retry
