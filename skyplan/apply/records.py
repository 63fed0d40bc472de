"""What skyplan records of each command it runs (DIR/.skyplan/children.json), and how such a
record is checked and signalled: only processes that carry the command's token in their
environment (SKYPLAN_CHILD=<token>) are ever signalled. children.py starts and supervises the
commands; orphans.py stops what a dead skyplan left running."""

from __future__ import annotations

import os
import time
from contextlib import suppress
from dataclasses import asdict, dataclass
from pathlib import Path

from skyplan.apply.state import StackState, pid_alive, process_start, read_json, write_json

#: How often an empty /proc/PID/environ is read before it counts as empty (see _environ).
ENVIRON_READS = 5
#: The environment variable that tags every process of a command skyplan started.
TOKEN_VAR = "SKYPLAN_CHILD"


@dataclass(frozen=True)
class Members:
    """The live processes of a command: those that carry its token, and those whose
    environment could not be read (never signalled)."""

    tagged: tuple[int, ...] = ()
    unknown: tuple[int, ...] = ()


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
    token: str | None = None  # SKYPLAN_CHILD=<token> in the environment of all its processes
    boot: str | None = None  # /proc/sys/kernel/random/boot_id when it started
    step: str | None = None  # the runner's step (`job:count`), for `skyplan status`
    cwd: str | None = None
    log: str | None = None  # the scrubbed log skyplan writes (terraform)
    raw: str | None = None  # the command's own output file (0600): appended to `log` when done
    interrupted: bool = False  # SIGINT sent already (terraform: never a second one)

    def members(self) -> Members:
        """The processes of this command still running. With a token: the processes of its
        group that carry it (whether or not the leader still runs). A record without one (an
        older skyplan wrote it): the group, only while its leader runs with the recorded start
        time."""
        group = _group_members(self.pid)
        if group is None:  # no /proc: only the leader can be checked
            alive = pid_alive(self.pid, self.started) and self.started is not None
            return Members((self.pid,) if alive else ())
        if self.token is None:
            leader = self.started is not None and process_start(self.pid) == self.started
            return Members(tuple(group) if leader and self.pid in group else ())
        tagged, unknown = [], []
        needle = f"{TOKEN_VAR}={self.token}".encode()
        for pid in group:
            environ = _environ(pid)
            if environ is None:
                unknown.append(pid)
            elif needle in environ:
                tagged.append(pid)
        return Members(tuple(tagged), tuple(unknown))

    def group_alive(self) -> bool:
        """Whether any process of this command still runs."""
        return bool(self.members().tagged)

    def signal(self, signum: int) -> Members:
        """Send `signum` to every process of this command (those that carry its token); returns
        who was found, the processes it could not check included (not signalled)."""
        found = self.members()
        for pid in found.tagged:
            with suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signum)
        return found

    @property
    def step_name(self) -> str | None:
        """The runner's step this command belongs to (older records: from `what`)."""
        if self.step:
            return self.step
        if self.kind in ("job", "transfer"):
            return self.what.split(" ", 1)[0]
        return None


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


def _environ(pid: int) -> bytes | None:
    """The environment a process started with (/proc/PID/environ), or None when it cannot be
    read (another user's process); b"" when the process is gone.

    While a process execs a new program the kernel swaps its memory and the file reads empty
    for a moment (5 of 150 reads right after a command's gate opened, on a loaded machine), so
    an empty read is tried again a few times before it counts as an empty environment."""
    for attempt in range(ENVIRON_READS):
        data = _read_environ(pid)
        if data != b"\0":  # unreadable (None), gone (b""), or read
            return data
        if attempt + 1 < ENVIRON_READS:
            time.sleep(0.002)
    return b"\0"


def _read_environ(pid: int) -> bytes | None:
    try:
        with open(f"/proc/{pid}/environ", "rb") as fh:
            return b"\0" + fh.read()
    except FileNotFoundError:
        return b""
    except OSError:
        return None


def _file(state: StackState) -> Path:
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


def save(state: StackState, items: list[Child]) -> None:
    write_json(_file(state), {"version": 1, "children": [asdict(c) for c in items]})
