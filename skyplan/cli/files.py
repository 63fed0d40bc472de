"""Writing files so that nothing is ever half-written: write beside, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from skyplan.errors import InputError, Where


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temporary file and an atomic rename."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; files we write are ordinary
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise InputError(f"cannot write: {e.strerror or e}", where=Where(str(path))) from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
