"""The processes skyplan starts (terraform, job scripts, copies) and what happens to them when
skyplan dies or is interrupted.

Each command runs in its own process group (`start_new_session`), with its output going to a
file (never a pipe: a command must outlive a skyplan that dies), recorded while it runs in
DIR/.skyplan/children.json with the skyplan process that owns it, the machine's boot id and a
token that every process of the command inherits in its environment (SKYPLAN_CHILD=<token>).
Only processes that carry the token are ever signalled, so a reused pid or process group never
makes skyplan stop an unrelated process.

When skyplan is killed (kill -9 of just its own process), those commands keep running: the next
skyplan, once it holds the stack's lock, finds them there and stops them before it does
anything. A terraform gets one SIGINT, Terraform's graceful stop (it finishes what it is
creating and saves its state), and is waited for; it is never killed, since that could lose
resources it created: if it is still running after the wait, skyplan stops and says so. A job or
a copy gets SIGTERM, then SIGKILL. So a second terraform never meets the first one's state lock
and a job is never started beside the run that is still going.

While skyplan runs, SIGINT and SIGTERM are passed on to its commands' groups (which no longer
share its own group and so no longer get Ctrl-C from the terminal): terraform gets a single
SIGINT, however often skyplan is interrupted; no new command starts once skyplan is stopping;
skyplan waits for what runs to stop, and a second Ctrl-C stops it waiting (what still runs is
then left to the next skyplan).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

from skyplan.apply.records import TOKEN_VAR, Child, Members, load, save
from skyplan.apply.state import StackState, boot_id, process_start

__all__ = ["TOKEN_VAR", "Child", "Members", "load", "save"]

#: How long a terraform left running gets to stop after SIGINT (it finishes what it is creating
#: and saves its state) before skyplan gives up waiting (it never kills it);
#: SKYPLAN_ORPHAN_WAIT_SECONDS overrides.
TERRAFORM_GRACE_S = 120.0
#: The same for a job's or a copy's processes after SIGTERM, before SIGKILL.
OTHER_GRACE_S = 10.0
KILL_WAIT_S = 10.0
#: How often the wait for a terraform left running says it is still waiting.
PROGRESS_S = 10.0
POLL_S = 0.1


class Stopping(Exception):
    """skyplan is stopping (interrupted): no new command is started."""


class Abandoned(Exception):
    """skyplan was interrupted twice: it stops waiting for what still runs."""


class Registry:
    """The commands this skyplan process runs for one stack, mirrored to children.json."""

    def __init__(self, state: StackState, note: Callable[[str], None] = lambda text: None):
        self.state = state
        self.note = note
        self.host = socket.gethostname()
        self.me = os.getpid()
        self.me_started = process_start(self.me)
        self.boot = boot_id()
        self.kept: list[Child] = []  # recorded by others we could not check (another host)
        self.mine: dict[int, Child] = {}
        self.procs: dict[int, subprocess.Popen[Any]] = {}
        self._lock = threading.Lock()

    def add(self, proc: subprocess.Popen[Any], child: Child) -> Child:
        """Record a command that just started."""
        child = replace(
            child, owner=self.me, host=self.host, owner_started=self.me_started, boot=self.boot
        )
        with self._lock:
            self.mine[proc.pid] = child
            self.procs[proc.pid] = proc
            self._save()
        return child

    def remove(self, proc: subprocess.Popen[Any]) -> None:
        """Forget a command that finished."""
        with self._lock:
            self.procs.pop(proc.pid, None)
            if self.mine.pop(proc.pid, None) is not None:
                self._save()

    def forward(self, signum: int) -> None:
        """Pass a signal on to every running command. A terraform gets SIGINT (its graceful
        stop), once: a second one would make it stop at once without saving its state."""
        with self._lock:
            items = list(self.mine.items())
        changed = False
        for pid, child in items:
            if child.kind == "terraform":
                if child.interrupted:
                    continue
                sent = signal.SIGINT
                with self._lock:
                    self.mine[pid] = replace(child, interrupted=True)
                changed = True
            else:
                sent = signal.Signals(signum)
            proc = self.procs.get(pid)
            if proc is not None and proc.returncode is None:
                # not reaped yet, so the group is still ours however its processes run
                with suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, sent)
            else:
                child.signal(sent)
        if changed:
            with self._lock:
                self._save()

    def _save(self) -> None:
        save(self.state, [*self.kept, *self.mine.values()])


_ACTIVE: Registry | None = None
#: Set once skyplan is interrupted (kept after `supervised` ends: a worker thread that is still
#: finishing must not start anything), cleared when a new supervised run starts.
_STOPPING = threading.Event()
_ABANDONED = threading.Event()
_STOPPED_AT: list[float] = []
#: Every command `spawn` started and has not released, by pid (with or without a registry).
_SPAWNED: dict[int, Child] = {}
_SPAWNED_LOCK = threading.Lock()


def reset() -> None:
    """Forget an earlier interrupt (a new supervised run in the same process)."""
    _STOPPING.clear()
    _ABANDONED.clear()
    _STOPPED_AT.clear()


def stopping() -> bool:
    """Whether skyplan was interrupted: start nothing new, retry nothing."""
    return _STOPPING.is_set()


def pause(seconds: float) -> bool:
    """Wait `seconds` (a retry's backoff); True when skyplan is stopping (it ends the wait)."""
    return _STOPPING.wait(seconds)


def note(text: str) -> None:
    """Say something through the running apply's UI (stderr outside of one)."""
    registry = _ACTIVE
    if registry is not None:
        registry.note(text)
    else:
        sys.stderr.write(text + "\n")


def gate(fd: int) -> list[str]:
    """What every command runs under: wait for one line on descriptor `fd` (see spawn), close
    it, then become the command itself (same pid, same process group). bash, not sh: dash
    takes only single-digit descriptors."""
    return [
        "bash",
        "-c",
        f'IFS= read -r -u {fd} _ || exit 125; exec {fd}<&-; exec "$@"',
        "skyplan-gate",
    ]


def spawn(
    argv: list[str],
    kind: str,
    what: str,
    *,
    step: str | None = None,
    log: str | None = None,
    raw: str | None = None,
    **kwargs: Any,
) -> subprocess.Popen[Any]:
    """Start a command in its own process group (its own session), every process of it tagged
    with SKYPLAN_CHILD=<token> in its environment, and record it while it runs. Refused
    (Stopping) once skyplan is stopping."""
    if _STOPPING.is_set():
        raise Stopping(f"not starting {what}: skyplan is stopping")
    token = uuid.uuid4().hex
    env = dict(kwargs.pop("env", None) or os.environ)
    env[TOKEN_VAR] = token
    # The command waits at a gate until it is recorded in children.json: a skyplan killed in
    # between (kill -9) must not leave a command running that no later apply knows of. If
    # skyplan dies first, the gate's pipe closes empty and the command never starts.
    gate_r, gate_w = os.pipe()
    try:
        proc: subprocess.Popen[Any] = subprocess.Popen(
            [*gate(gate_r), *argv], start_new_session=True, env=env, pass_fds=(gate_r,), **kwargs
        )
    except BaseException:
        os.close(gate_w)
        raise
    finally:
        os.close(gate_r)
    cwd = kwargs.get("cwd")
    child = Child(
        proc.pid, kind, what, os.getpid(), socket.gethostname(), process_start(proc.pid),
        process_start(os.getpid()), round(time.time(), 3), token, boot_id(), step,
        str(Path(cwd).resolve()) if cwd is not None else None, log, raw,
    )  # fmt: skip
    registry = _ACTIVE
    try:
        if registry is not None:
            child = registry.add(proc, child)
        with _SPAWNED_LOCK:
            _SPAWNED[proc.pid] = child
        os.write(gate_w, b"go\n")
    finally:
        os.close(gate_w)
    return proc


def wait(proc: subprocess.Popen[Any]) -> int:
    """Wait for a command to end. Once skyplan is stopping, a job or a copy that outlives
    OTHER_GRACE_S after its SIGTERM is killed; a terraform is waited for (it saves its state).
    A second interrupt (Abandoned) stops the wait and leaves the command running."""
    while True:
        try:
            return proc.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            pass
        if _ABANDONED.is_set():
            raise Abandoned(f"left pid {proc.pid} running")
        child = _SPAWNED.get(proc.pid)
        late = _STOPPED_AT and time.monotonic() - _STOPPED_AT[0] > OTHER_GRACE_S
        if late and child is not None and child.kind != "terraform":
            child.signal(signal.SIGKILL)


def release(proc: subprocess.Popen[Any]) -> None:
    """Forget a command once it has finished (one still running stays recorded). What is left
    of it when its first process has ended (a background process that ignored SIGTERM) is
    stopped first: SIGTERM, then SIGKILL after OTHER_GRACE_S (processes that carry its token
    only), so that nothing it started runs on unrecorded."""
    if proc.poll() is None:
        return
    with _SPAWNED_LOCK:
        child = _SPAWNED.get(proc.pid)
    if child is not None and child.token is not None:
        _stop_leftovers(child)
    with _SPAWNED_LOCK:
        _SPAWNED.pop(proc.pid, None)
    registry = _ACTIVE
    if registry is not None:
        registry.remove(proc)


def _stop_leftovers(child: Child) -> None:
    if not child.members().tagged:
        return
    child.signal(signal.SIGTERM)
    if not wait_gone([child], OTHER_GRACE_S, time.sleep):
        child.signal(signal.SIGKILL)
        wait_gone([child], KILL_WAIT_S, time.sleep)


def wait_gone(children: list[Child], seconds: float, sleep: Callable[[float], None]) -> bool:
    deadline = time.monotonic() + seconds
    while any(c.group_alive() for c in children):
        if time.monotonic() >= deadline:
            return False
        sleep(POLL_S)
    return True


@contextmanager
def supervised(state: StackState, note: Callable[[str], None]) -> Iterator[Registry]:
    """While the stack's lock is held: stop what a dead skyplan left running, record the
    commands this one starts, and pass SIGINT/SIGTERM on to them."""
    global _ACTIVE
    from skyplan.apply.orphans import reap_orphans

    reap_orphans(state, note)
    registry = Registry(state, note)
    registry.kept = load(state)  # what reap_orphans could not check or stop: not ours
    reset()
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def forward(signum: int, frame: object) -> None:
            if _STOPPING.is_set():
                _ABANDONED.set()
                sys.stderr.write(
                    "interrupted again: no longer waiting; what still runs is left to the next "
                    "skyplan apply or destroy, which waits for it\n"
                )
            else:
                _STOPPED_AT.append(time.monotonic())
                _STOPPING.set()
                if registry.mine:
                    sys.stderr.write(
                        "interrupted: stopping the running commands (terraform finishes what it "
                        "is creating and saves its state); interrupt again to stop waiting\n"
                    )
            registry.forward(signum)
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise SystemExit(128 + signum)

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, forward)
    _ACTIVE = registry
    try:
        yield registry
    finally:
        _ACTIVE = None
        for number, handler in previous.items():
            signal.signal(number, handler)


def abandoned() -> bool:
    """Whether skyplan was interrupted twice: stop waiting for what runs."""
    return _ABANDONED.is_set()
