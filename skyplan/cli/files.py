"""Writing files so that nothing is ever half-written: write beside, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from skyplan.errors import InputError, Where


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and an atomic rename."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", where=Where(str(path))) from None


def write_all(files: dict[Path, str]) -> None:
    """Write several files, each atomically, in a stable order."""
    for path in sorted(files):
        write_atomic(path, files[path])
