"""A thread that looks at a folder as fast as it can, counting the times it was missing (for the
tests that check a folder is swapped in atomically). Test modules import it from here
(`from folder_reader import Reader`); pytest puts tests/ on sys.path with its conftest.py."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class Reader(threading.Thread):
    """Lists `path` in a loop until `done` is set; `looks` and `missing` count the tries."""

    def __init__(self, path: Path):
        super().__init__(daemon=True)
        self.path = path
        self.looks = self.missing = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.looks += 1
            try:
                os.listdir(self.path)
            except FileNotFoundError:
                self.missing += 1
