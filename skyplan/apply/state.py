"""A stack's run state under DIR/.skyplan/: lock, journal, blocked offerings and job progress."""

from __future__ import annotations

import fcntl
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from skyplan.errors import ApplyError, InputError, Where
from skyplan.solver.blocked import Block

STATE_VERSION = 1
#: Capacity comes back: a capacity block is forgotten after this many seconds (quota stays).
CAPACITY_TTL_S = 6 * 3600


def write_json(path: Path, data: object) -> None:
    """Write JSON through a temporary file and a rename: never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, sort_keys=True)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
    """A JSON file's content, or None when it does not exist; a corrupt file is an input error."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise InputError(
            f"cannot read: {e}", where=Where(str(path)), hint="delete the file to start over"
        ) from None


@dataclass(frozen=True)
class StackState:
    """The paths of one stack folder's run state."""

    root: Path  # the stack folder (--out)

    @property
    def dir(self) -> Path:
        """DIR/.skyplan"""
        return self.root / ".skyplan"

    @property
    def logs(self) -> Path:
        """Full Terraform and job logs."""
        return self.dir / "logs"

    @property
    def journal(self) -> Path:
        """The append-only event journal."""
        return self.dir / "events.jsonl"

    @property
    def blocked_file(self) -> Path:
        """What failed applies ruled out (SPEC section 6)."""
        return self.dir / "blocked.json"

    @property
    def runs_file(self) -> Path:
        """Progress of jobs and transfers."""
        return self.dir / "runs.json"

    def event(self, kind: str, **data: Any) -> None:
        """Append one event to the journal (one JSON object per line, flushed to disk)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"at": round(time.time(), 3), "event": kind, **data}, sort_keys=True)
        torn = self.journal.exists() and not self.journal.read_bytes().endswith(b"\n")
        with self.journal.open("a", encoding="utf-8") as fh:
            fh.write(("\n" if torn and self.journal.stat().st_size else "") + line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def events(self) -> list[dict[str, Any]]:
        """Every journal event, oldest first (a torn last line from a crash is skipped)."""
        if not self.journal.exists():
            return []
        out = []
        for line in self.journal.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out


# --- blocked offerings ---------------------------------------------------------------------


@dataclass(frozen=True)
class BlockRecord:
    """A block with why and when it was added."""

    block: Block
    at: float
    message: str = ""


def load_blocked(state: StackState, now: float | None = None) -> tuple[BlockRecord, ...]:
    """The blocks still in force: quota blocks always, capacity blocks for CAPACITY_TTL_S."""
    data = read_json(state.blocked_file) or {}
    now = time.time() if now is None else now
    records = []
    for item in data.get("blocked", []):
        block = Block(
            item["region"], item.get("instance_type"), item.get("resource"), item["reason"]
        )
        at = float(item.get("at", now))
        if block.reason == "capacity" and now - at > CAPACITY_TTL_S:
            continue
        records.append(BlockRecord(block, at, item.get("message", "")))
    return tuple(records)


def save_blocked(state: StackState, records: tuple[BlockRecord, ...]) -> None:
    """Write blocked.json (sorted, one entry per block)."""
    unique = {r.block: r for r in sorted(records, key=lambda r: r.at)}
    write_json(
        state.blocked_file,
        {
            "version": STATE_VERSION,
            "blocked": [
                {
                    **{k: v for k, v in asdict(r.block).items() if v is not None},
                    "at": r.at,
                    "message": r.message,
                }
                for r in sorted(unique.values(), key=lambda r: r.block)
            ],
        },
    )


# --- the lock ------------------------------------------------------------------------------

#: How long a second skyplan keeps trying for a busy lock before it refuses (a `status` that
#: glances at the holder, a holder that is just letting go).
LOCK_WAIT_S = 1.0


@dataclass(frozen=True)
class LockInfo:
    """Who holds a stack's lock."""

    pid: int
    host: str
    command: str
    since: float = field(default_factory=time.time)
    started: int | None = None  # the holder's start time (clock ticks since boot, Linux)
    #: Written by a skyplan that holds the flock for its whole run: whether it still holds the
    #: lock is then the flock's to say (a try-lock), never the pid's. Older files have no such
    #: key: their holder counts while its pid runs.
    flock: bool = False
    boot: str | None = None  # /proc/sys/kernel/random/boot_id of the holder's machine

    def describe(self) -> str:
        """`pid 123 on host (skyplan apply) since 12:00:01`."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on {self.host} ({self.command}) since {when}"


def boot_id() -> str | None:
    """This boot of the machine (/proc/sys/kernel/random/boot_id), or None off Linux: pids and
    start times of an earlier boot name nothing now."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="utf-8") as fh:
            return fh.read().strip() or None
    except OSError:
        return None


def process_state(pid: int) -> str | None:
    """The process's state letter from /proc (R, S, D, Z for a zombie...), or None."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def process_start(pid: int) -> int | None:
    """When process `pid` started (clock ticks since boot, from /proc), or None when it does not
    exist or this is not Linux: with the pid it names one process, even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8", errors="replace") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def pid_alive(pid: int, started: int | None = None) -> bool:
    """Whether process `pid` lives (and is the one that started at `started`, when known). A
    zombie (dead, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if process_state(pid) in ("Z", "X"):
        return False
    if started is not None:
        now = process_start(pid)
        return now is None or now == started  # another process got the pid: the holder died
    return True


@contextmanager
def locked(state: StackState, command: str) -> Iterator[LockInfo]:
    """Hold the stack's lock for the duration; a second holder is refused, naming the first; a
    lock left by a dead process on this host is taken over.

    The lock is an exclusive flock() on DIR/.skyplan/lock held for the whole run (the kernel
    lets go of it when the process dies, however it dies), with the holder written inside for
    messages (with `"flock": true`). Taking over a stale lock is therefore atomic: of processes
    racing for it exactly one gets the flock, the others are refused. A holder that wrote
    `"flock": true` is gone once we hold the flock, whatever its pid does now (a zombie, a
    reused pid); one recorded by a process that holds no flock (an older skyplan) still counts
    while that process lives (a zombie does not); a holder on another host is never taken
    over."""
    state.dir.mkdir(parents=True, exist_ok=True)
    path = state.dir / "lock"
    me = LockInfo(
        os.getpid(), socket.gethostname(), command, started=process_start(os.getpid()),
        flock=True, boot=boot_id(),
    )  # fmt: skip
    fd, created = _flock(state, path)
    mine = False
    try:
        recorded = _read_fd(fd)
        if recorded is not None and recorded.host != me.host:
            raise _busy(state, path, recorded)
        if recorded is not None and not recorded.flock and _old_holder_alive(recorded):
            raise _busy(state, path, recorded)  # an older skyplan, which takes no flock
        if recorded is None and not created and time.time() - _mtime(path) < 10:
            raise _busy(state, path, None)  # an older skyplan between open() and write
        if not created:
            state.event("lock.stale", holder=asdict(recorded) if recorded else None)
        _write_fd(fd, me)
        mine = True
        yield me
    finally:
        if (mine or created) and _same_file(fd, path):
            path.unlink(missing_ok=True)  # still holding the flock: nobody took it meanwhile
        os.close(fd)  # lets go of the flock


def _flock(state: StackState, path: Path) -> tuple[int, bool]:
    """An open descriptor of the lock file holding its exclusive flock, and whether this call
    created the file; refuses (ApplyError) while another process holds it."""
    deadline = time.monotonic() + LOCK_WAIT_S
    while True:
        try:  # descriptors are not inherited by children: a running terraform never holds it
            fd, created = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644), True
        except FileExistsError:
            try:
                fd, created = os.open(path, os.O_RDWR), False
            except FileNotFoundError:
                continue  # its holder removed it as we looked: create it
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if time.monotonic() >= deadline:
                raise _busy(state, path, _read_lock(path)) from None
            time.sleep(0.05)
            continue
        except BaseException:
            os.close(fd)
            raise
        if _same_file(fd, path):
            return fd, created
        os.close(fd)  # its holder removed the file as we opened it: open the new one


def _old_holder_alive(holder: LockInfo) -> bool:
    """Whether the holder recorded by an older skyplan (no flock) still runs on this host."""
    if holder.boot is not None and holder.boot != boot_id():
        return False
    return pid_alive(holder.pid, holder.started)


def _same_file(fd: int, path: Path) -> bool:
    try:
        ours, now = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return (ours.st_dev, ours.st_ino) == (now.st_dev, now.st_ino)


def _busy(state: StackState, path: Path, holder: LockInfo | None) -> ApplyError:
    who = holder.describe() if holder else "a process that is taking it right now"
    if holder is None:
        hint = "try again in a moment"
    elif holder.host != socket.gethostname():
        hint = (
            f"wait for it to finish; if that process is gone on {holder.host}, delete {path} "
            "(a lock recorded on another machine is never taken over)"
        )
    else:  # its lock goes with it, however it ends: never delete the file
        hint = (
            f"wait for it to finish, or stop it (`kill {holder.pid}`: it stops its commands "
            "and lets go of the lock)"
        )
    return ApplyError(f"{state.root}: another skyplan holds this stack: {who}", hint=hint)


def _read_fd(fd: int) -> LockInfo | None:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
    return _parse_lock(b"".join(chunks).decode("utf-8", errors="replace"))


def _write_fd(fd: int, me: LockInfo) -> None:
    data = json.dumps(asdict(me)).encode("utf-8")
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)
    os.fsync(fd)


def live_holder(state: StackState) -> LockInfo | None:
    """Who holds the stack's lock now; None when nobody does, or its holder died on this host
    (for a holder that takes the flock: nobody holds the flock, a try-lock says)."""
    path = state.dir / "lock"
    holder = _read_lock(path)
    if holder is None or holder.host != socket.gethostname():
        return holder
    if holder.flock:
        return holder if _flock_held(path) else None
    return holder if _old_holder_alive(holder) else None


def _flock_held(path: Path) -> bool:
    """Whether some process holds the exclusive flock of `path` (a shared try-lock fails)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # lets go of the shared lock we may have taken
    return False


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read_lock(path: Path) -> LockInfo | None:
    try:
        return _parse_lock(path.read_text(encoding="utf-8"))
    except OSError:
        return None


def _parse_lock(text: str) -> LockInfo | None:
    try:
        data = json.loads(text)
        started = data.get("started")
        boot = data.get("boot")
        return LockInfo(
            int(data["pid"]), str(data["host"]), str(data["command"]), data["since"],
            int(started) if started is not None else None, data.get("flock") is True,
            str(boot) if boot else None,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
