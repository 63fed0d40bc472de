"""A stack's run state under DIR/.skyplan/: lock, journal, blocked offerings and job progress."""

from __future__ import annotations

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


@dataclass(frozen=True)
class LockInfo:
    """Who holds a stack's lock."""

    pid: int
    host: str
    command: str
    since: float = field(default_factory=time.time)

    def describe(self) -> str:
        """`pid 123 on host (skyplan apply) since 12:00:01`."""
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"pid {self.pid} on {self.host} ({self.command}) since {when}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def locked(state: StackState, command: str) -> Iterator[LockInfo]:
    """Hold the stack's lock for the duration; a second holder is refused, naming the first; a
    lock left by a dead process on this host is taken over."""
    state.dir.mkdir(parents=True, exist_ok=True)
    path = state.dir / "lock"
    me = LockInfo(os.getpid(), socket.gethostname(), command)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            holder, recorded = live_holder(state), _read_lock(path)
            young = recorded is None and time.time() - _mtime(path) < 10  # being written now
            if young or holder is not None:
                who = holder.describe() if holder else "a process that is taking it right now"
                raise ApplyError(
                    f"{state.root}: another skyplan holds this stack: {who}",
                    hint="wait for it to finish; if that process is gone on another host, "
                    f"delete {path}",
                ) from None
            state.event("lock.stale", holder=asdict(recorded) if recorded else None)
            path.unlink(missing_ok=True)
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(asdict(me), fh)
        break
    else:  # pragma: no cover - lost a race twice
        raise ApplyError(f"{state.root}: could not take the stack's lock", where=Where(str(path)))
    try:
        yield me
    finally:
        holder = _read_lock(path)
        if holder is not None and holder.pid == me.pid and holder.host == me.host:
            path.unlink(missing_ok=True)


def live_holder(state: StackState) -> LockInfo | None:
    """Who holds the stack's lock now; None when nobody does, or its holder died on this host."""
    holder = _read_lock(state.dir / "lock")
    if holder is None or (holder.host == socket.gethostname() and not _alive(holder.pid)):
        return None
    return holder


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _read_lock(path: Path) -> LockInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockInfo(int(data["pid"]), str(data["host"]), str(data["command"]), data["since"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
