"""The generated files of a stack folder as committed at a git ref (for `plan --against`)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from skyplan.errors import InputError, Where


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
        )
    except FileNotFoundError:
        raise InputError("git is not installed", hint="--against reads the plan from git") from None


def committed_stack(out_dir: Path, ref: str) -> dict[str, str] | None:
    """{path relative to the stack folder: text} of the generated files at `ref`; None when the
    stack folder did not exist at that ref (a new stack)."""
    here = out_dir.resolve()
    while not here.exists():
        here = here.parent
    top = _git(["rev-parse", "--show-toplevel"], here)
    if top.returncode != 0:
        raise InputError(
            "not inside a git repository", where=Where(str(out_dir)),
            hint="--against compares with the plan committed in git; use `skyplan diff` otherwise",
        )  # fmt: skip
    root = Path(top.stdout.strip())
    if _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root).returncode != 0:
        raise InputError(
            f"unknown git ref {ref!r}", hint="fetch it first (git fetch origin main), or name a "
            "branch, tag or commit that exists",
        )  # fmt: skip
    rel = out_dir.resolve().relative_to(root.resolve()).as_posix()
    prefix = "" if rel == "." else f"{rel}/"  # the stack folder may be the repository itself
    listed = _git(["ls-tree", "-r", "--name-only", ref, "--", prefix or "."], root)
    from skyplan.cli.stack_files import is_generated

    names = [n for n in listed.stdout.splitlines() if is_generated(n.removeprefix(prefix))]
    if not names:
        return None
    files: dict[str, str] = {}
    for name in names:
        shown = _git(["show", f"{ref}:{name}"], root)
        if shown.returncode == 0:
            files[name.removeprefix(prefix)] = shown.stdout
    return files
