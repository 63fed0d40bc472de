"""Completion markers and logs of a job's nodes, read from S3, GCS, Azure Blob or a folder."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from skyplan.errors import InputError, SkyplanError

MARKER = re.compile(r"node-(\d+)\.(done|failed|interrupted)")
# A node writes .failed when its upload fails and .done once a later boot uploads, but never the
# reverse, so done beats failed; both are terminal and beat an interrupted run.
_RANK = {"done": 2, "failed": 1, "interrupted": 0}


@dataclass(frozen=True)
class NodeMarker:
    """One node's completion marker: "done", "failed" or "interrupted", and its exit status."""

    node: int
    state: str
    exit_status: int | None
    uri: str


class MarkerReadError(SkyplanError):
    """Object storage could not be reached just now (network, throttling, 5xx): worth a retry."""

    exit_code = 4


class _Store(Protocol):
    """One folder of objects: the names directly inside it and their bytes."""

    @property
    def uri(self) -> str: ...

    def names(self) -> Iterator[str]: ...

    def read(self, name: str, tail: int | None) -> bytes | None: ...


def read_markers(
    runs_uri: str, root: Path | None = None, *, region: str | None = None, client: Any = None
) -> dict[int, NodeMarker]:
    """The completion marker of every node that has written one under `runs_uri`, by node."""
    store = _open(runs_uri if runs_uri.endswith("/") else runs_uri + "/", root, region, client)
    candidates: dict[int, list[str]] = {}
    for name in store.names():
        if match := MARKER.fullmatch(name):
            candidates.setdefault(int(match[1]), []).append(name)
    markers = {}
    for node, names in sorted(candidates.items()):
        for name in sorted(names, key=lambda n: -_RANK[n.rsplit(".", 1)[1]]):
            data = store.read(name, None)
            if data is not None:  # else it vanished since the listing: take the next one
                markers[node] = _parse(node, name.rsplit(".", 1)[1], data, store.uri + name)
                break
    return markers


def read_text(
    uri: str,
    root: Path | None = None,
    limit: int = 65536,
    *,
    region: str | None = None,
    client: Any = None,
) -> str | None:
    """The last `limit` bytes of the object at `uri` as text, or None when it does not exist."""

    kind, sep, rest = uri.partition("://")
    folder, _, name = rest.rpartition("/")
    if not name or not sep or (kind != "file" and not folder):
        raise InputError(f"{uri!r} names no object", hint="give the URI of a file: .../node-0.log")
    store = _open(f"{kind}://{folder}/" if folder else f"{kind}://", root, region, client)
    data = store.read(name, limit)
    return None if data is None else data.decode("utf-8", errors="replace")


def _parse(node: int, state: str, data: bytes, uri: str) -> NodeMarker:
    """A marker from its file name's state and its JSON body; unreadable JSON counts as failed."""
    try:
        body = json.loads(data.decode("utf-8"))
    except ValueError:  # also UnicodeDecodeError: a torn or foreign write
        body = None
    if not isinstance(body, dict):
        return NodeMarker(node, "failed", None, uri)
    status = body.get("exit_status")
    exit_status = status if isinstance(status, int) and not isinstance(status, bool) else None
    return NodeMarker(node, state, exit_status, uri)


def _open(uri: str, root: Path | None, region: str | None, client: Any) -> _Store:
    """The store a folder URI names, with an SDK client from the standard credential chain."""
    from skyplan.apply.stores import AzureStore, GCSStore, S3Store

    kind, sep, rest = uri.partition("://")
    bucket, _, prefix = rest.partition("/")
    if kind == "file" and sep:
        return _LocalStore(uri, root / rest if root else Path(rest))
    if kind in ("s3", "gs") and bucket:
        make = S3Store.open if kind == "s3" else GCSStore.open
        return make(uri, bucket, prefix, region, client)
    container, _, prefix = prefix.partition("/")
    if kind == "az" and bucket and container:
        return AzureStore.open(uri, bucket, container, prefix, client)
    raise InputError(
        f"unsupported storage URI {uri!r}",
        hint="use s3://BUCKET/prefix/, gs://BUCKET/prefix/, az://ACCOUNT/CONTAINER/prefix/ "
        "or file://path/",
    )


@dataclass(frozen=True)
class _LocalStore:
    """A folder on this machine (the `local` cloud)."""

    uri: str
    path: Path

    def names(self) -> Iterator[str]:
        """Files directly in the folder; none while it does not exist."""
        with self._errors():
            entries = sorted(self.path.iterdir()) if self.path.is_dir() else []
        return (entry.name for entry in entries if entry.is_file())

    def read(self, name: str, tail: int | None) -> bytes | None:
        """The file's bytes (the last `tail` of them), or None when it does not exist."""
        with self._errors():
            try:
                with (self.path / name).open("rb") as handle:
                    if tail is not None:
                        size = handle.seek(0, 2)
                        handle.seek(max(0, size - tail))
                    return handle.read()
            except (FileNotFoundError, IsADirectoryError):
                return None

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except PermissionError as exc:
            raise InputError(f"permission denied reading {self.uri}: {exc}") from exc
        except NotADirectoryError as exc:
            raise InputError(f"{self.uri} is not a folder", hint="check the manifest") from exc
