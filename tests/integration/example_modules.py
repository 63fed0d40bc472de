"""The generated Terraform modules of the committed example stacks, wherever they sit.

A stack's modules are `stacks/<name>/<cloud>/`, and those of its environments
`stacks/<name>/<env>/<cloud>/` (`stacks/genomics/prod/gcp`): every gate (terraform fmt, checkov,
the schema check) runs on all of them, found the way `skyplan validate` finds them.
"""

from __future__ import annotations

from pathlib import Path

from skyplan.validate import tf_folders

STACKS = Path(__file__).resolve().parents[2] / "stacks"


def stack_folders() -> list[Path]:
    """Every example stack folder (holding a sky.yaml), sorted."""
    return sorted(p.parent for p in STACKS.glob("*/sky.yaml"))


def module_folders() -> list[Path]:
    """Every generated cloud module under stacks/, nested environment modules included."""
    return sorted(p for p in tf_folders(STACKS) if (p / "main.tf").is_file())


def module_id(module: Path) -> str:
    """`genomics/prod/gcp`: a module's path below stacks/, for test ids."""
    return module.relative_to(STACKS).as_posix()
