"""Golden pull-request comments: each example stack as a new stack, and dev -> prod of genomics.

Regenerate with `pytest tests/golden --update-golden` and review the diff of tests/golden/review/.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

STACKS = Path(__file__).resolve().parents[2] / "stacks"
GOLDEN = Path(__file__).resolve().parent / "review"
RunCli = Callable[..., "subprocess.CompletedProcess[str]"]


def stack_names() -> list[str]:
    """Every folder under stacks/ holding a sky.yaml, sorted."""
    return sorted(p.parent.name for p in STACKS.glob("*/sky.yaml"))


def check(name: str, text: str, update: bool) -> None:
    """Compare with (or rewrite) the golden file."""
    path = GOLDEN / name
    if update:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run pytest with --update-golden"
    assert text == path.read_text(encoding="utf-8"), (
        f"{path} is out of date; if intended, run `pytest tests/golden --update-golden`"
    )


@pytest.mark.parametrize("name", stack_names())
def test_new_stack_comment(name: str, update_golden: bool) -> None:
    """The comment a pull request adding the stack gets (everything is new)."""
    from skyplan.catalog import load_embedded_catalog
    from skyplan.cli.diff_cmd import stack_files
    from skyplan.review.diff import diff_stacks
    from skyplan.review.diff_markdown import diff_markdown
    from skyplan.spec.resolve import load_spec

    catalog = load_embedded_catalog()
    spec = load_spec(STACKS / name / "sky.yaml", catalog)
    d = diff_stacks(None, stack_files(STACKS / name), spec, catalog)
    text = diff_markdown(d, "nothing (new stack)")
    check(f"{name}.md", text, update_golden)
    assert text.startswith(f"<!-- skyplan:{name} -->\n")
    assert all(r.ok for r in d.rules)


def test_genomics_dev_to_prod_comment(skyplan_cli: RunCli, update_golden: bool) -> None:
    """What promoting genomics from dev to prod would change (nodes differ, backends differ)."""
    folder = STACKS / "genomics"
    proc = skyplan_cli("diff", str(folder / "dev"), str(folder / "prod"), "--format", "markdown")
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.replace(str(folder / "dev"), "stacks/genomics/dev")
    check("genomics-dev-to-prod.md", text, update_golden)
    assert "| `call-variants` | changed |" in text
