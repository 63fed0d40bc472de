"""The processes skyplan starts (terraform, job scripts, copies) and what happens to them when
skyplan dies.

Each command runs in its own process group (`start_new_session`), recorded while it runs in
DIR/.skyplan/children.json with the skyplan process that owns it. When skyplan is killed
(kill -9 of just its own process), those groups keep running: the next skyplan, once it holds
the stack's lock, finds them there and stops them before it does anything (a terraform gets
SIGINT, Terraform's graceful stop, and a bounded wait; a job or a copy SIGTERM; then SIGKILL),
so a second terraform never meets the first one's state lock and a job is never started beside
the run that is still going. While skyplan runs, SIGINT and SIGTERM are passed on to its
commands' groups, which no longer share its own group and so no longer get Ctrl-C from the
terminal.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from typing import Any

from skyplan.apply.state import StackState, pid_alive, process_start, read_json, write_json
from skyplan.errors import ApplyError

#: How long a terraform left running gets to stop after SIGINT (it finishes what it is creating
#: and saves its state) before it is killed; SKYPLAN_ORPHAN_WAIT_SECONDS overrides.
TERRAFORM_GRACE_S = 120.0
#: The same for a job's or a copy's process group after SIGTERM.
OTHER_GRACE_S = 10.0
KILL_WAIT_S = 10.0


@dataclass(frozen=True)
class Child:
    """One command skyplan started: its process group and who started it."""

    pid: int  # also its process group: it leads its own session
    kind: str  # terraform | job | transfer
    what: str  # for messages: `terraform apply in local/`, `job:count node 0`
    owner: int  # the skyplan process
    host: str
    started: int | None = None  # process start time (clock ticks since boot, Linux)
    owner_started: int | None = None
    at: float = 0.0

    def group_alive(self) -> bool:
        """Whether any process of this command's group still runs (and the group is ours: a
        leader that lives with another start time is an unrelated process that got the pid)."""
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return False  # not ours to signal
        members = _group_members(self.pid)
        if members is not None and not members:
            return False  # only zombies nobody has reaped yet
        now = process_start(self.pid)
        return now is None or self.started is None or now == self.started

    def signal(self, signum: int) -> None:
        """Send `signum` to every process of the group (gone already: nothing to do)."""
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signum)


def _group_members(pgid: int) -> list[int] | None:
    """The live (not zombie) processes of a process group, from /proc; None without /proc."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    members = []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(name))
    return members


def _file(state: StackState) -> Any:
    return state.dir / "children.json"


def load(state: StackState) -> list[Child]:
    """The commands recorded as running."""
    data = read_json(_file(state)) or {}
    out = []
    for item in data.get("children", []):
        try:
            out.append(Child(**item))
        except TypeError:
            continue
    return out


class Registry:
    """The commands this skyplan process runs for one stack, mirrored to children.json."""

    def __init__(self, state: StackState):
        self.state = state
        self.host = socket.gethostname()
        self.me = os.getpid()
        self.me_started = process_start(self.me)
        self.kept: list[Child] = []  # recorded by others we could not check (another host)
        self.mine: dict[int, Child] = {}
        self._lock = threading.Lock()

    def add(self, proc: subprocess.Popen[Any], kind: str, what: str) -> None:
        """Record a command that just started."""
        child = Child(
            proc.pid, kind, what, self.me, self.host, process_start(proc.pid),
            self.me_started, round(time.time(), 3),
        )  # fmt: skip
        with self._lock:
            self.mine[proc.pid] = child
            self._save()

    def remove(self, proc: subprocess.Popen[Any]) -> None:
        """Forget a command that finished."""
        with self._lock:
            if self.mine.pop(proc.pid, None) is not None:
                self._save()

    def forward(self, signum: int) -> None:
        """Pass a signal on to every running command's group."""
        for child in list(self.mine.values()):
            child.signal(signum)

    def _save(self) -> None:
        items = [asdict(c) for c in [*self.kept, *self.mine.values()]]
        write_json(_file(self.state), {"version": 1, "children": items})


_ACTIVE: Registry | None = None


def spawn(argv: list[str], kind: str, what: str, **kwargs: Any) -> subprocess.Popen[Any]:
    """Start a command in its own process group (its own session), recorded while it runs."""
    proc: subprocess.Popen[Any] = subprocess.Popen(argv, start_new_session=True, **kwargs)
    registry = _ACTIVE
    if registry is not None:
        registry.add(proc, kind, what)
    return proc


def release(proc: subprocess.Popen[Any]) -> None:
    """Forget a command once it has finished (one still running stays recorded)."""
    registry = _ACTIVE
    if registry is not None and proc.poll() is not None:
        registry.remove(proc)


def orphan_wait_seconds() -> float:
    """How long a terraform left running gets to stop (SKYPLAN_ORPHAN_WAIT_SECONDS)."""
    try:
        return max(0.0, float(os.environ.get("SKYPLAN_ORPHAN_WAIT_SECONDS", TERRAFORM_GRACE_S)))
    except ValueError:
        return TERRAFORM_GRACE_S


def reap_orphans(
    state: StackState,
    note: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
) -> list[Child]:
    """Stop the commands a skyplan that died left running (their groups), bounded in time;
    returns those that were running. Records of another host are kept, with a warning."""
    host, me = socket.gethostname(), os.getpid()
    recorded = load(state)
    elsewhere = [c for c in recorded if c.host != host]
    for c in elsewhere:
        note(f"{c.what} (pid {c.pid} on {c.host}) may still be running: check that host")
    ours = [c for c in recorded if c.host == host and c.owner != me]
    living = [c for c in ours if pid_alive(c.owner, c.owner_started)]  # not ours to stop
    orphans = [c for c in ours if c not in living and c.group_alive()]
    if orphans:
        state.event("orphans", found=[asdict(c) for c in orphans])
    terraform = [c for c in orphans if c.kind == "terraform"]
    others = [c for c in orphans if c.kind != "terraform"]
    grace = orphan_wait_seconds()
    for c in terraform:
        note(
            f"{c.what} (pid {c.pid}) was left running by skyplan pid {c.owner}, which died: "
            f"asking it to stop (SIGINT) and waiting up to {grace:.0f} s for it to save its state"
        )
        c.signal(signal.SIGINT)
    for c in others:
        note(
            f"{c.what} (pid {c.pid}) was left running by skyplan pid {c.owner}, which died: "
            "stopping it; it runs again from the start"
        )
        c.signal(signal.SIGTERM)
    _wait_gone(terraform, grace, sleep)
    _wait_gone(others, OTHER_GRACE_S, sleep)
    stubborn = [c for c in orphans if c.group_alive()]
    for c in stubborn:
        note(f"{c.what} (pid {c.pid}) did not stop: killing it (SIGKILL)")
        c.signal(signal.SIGKILL)
    _wait_gone(stubborn, KILL_WAIT_S, sleep)
    left = [c for c in orphans if c.group_alive()]
    if left:
        raise ApplyError(
            "could not stop what a skyplan that died left running: "
            + ", ".join(f"{c.what} (pid {c.pid})" for c in left),
            hint="stop those processes, then run skyplan again",
        )
    if orphans:
        state.event("orphans.stopped", pids=[c.pid for c in orphans])
    kept = [asdict(c) for c in (*elsewhere, *living)]
    write_json(_file(state), {"version": 1, "children": kept})
    return orphans


def _wait_gone(children: list[Child], seconds: float, sleep: Callable[[float], None]) -> None:
    deadline = time.monotonic() + seconds
    while any(c.group_alive() for c in children) and time.monotonic() < deadline:
        sleep(0.1)


@contextmanager
def supervised(state: StackState, note: Callable[[str], None]) -> Iterator[Registry]:
    """While the stack's lock is held: stop what a dead skyplan left running, record the
    commands this one starts, and pass SIGINT/SIGTERM on to them."""
    global _ACTIVE
    reap_orphans(state, note)
    registry = Registry(state)
    registry.kept = load(state)  # what reap_orphans could not check or stop: not ours
    previous: dict[int, Any] = {}
    if threading.current_thread() is threading.main_thread():

        def forward(signum: int, frame: object) -> None:
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
