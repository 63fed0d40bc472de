"""The schema check (`skyplan validate`) on every committed example stack: every resource and
data block of every module, the nested environment modules included, matches the provider
schemas shipped in the package."""

from __future__ import annotations

from pathlib import Path

import pytest
from example_modules import STACKS, module_folders, stack_folders

from skyplan.validate import validate_tree


@pytest.mark.parametrize("stack", stack_folders(), ids=lambda p: p.name)
def test_example_stack_matches_the_provider_schemas(stack: Path) -> None:
    report = validate_tree(stack)
    assert [p.render() for p in report.problems] == []
    # every generated module of the stack was checked, and each holds blocks to check
    mine = [m for m in module_folders() if stack in m.parents]
    assert sorted(Path(f) for f in report.folders) == mine
    assert report.blocks >= len(mine)


def test_every_example_module_belongs_to_a_stack() -> None:
    stacks = stack_folders()
    assert stacks and all(any(s in m.parents for s in stacks) for m in module_folders())
    assert all(s.parent == STACKS for s in stacks)
