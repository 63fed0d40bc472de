"""Where a stack goes without --out: the spec's own folder when it already is stacks/<name>/."""

from __future__ import annotations

from pathlib import Path

import pytest

from skyplan.cli.inputs import default_out


@pytest.mark.parametrize(
    ("spec", "stack", "env", "expected"),
    [
        # the spec is stacks/<name>/sky.yaml: its folder, however it is named from the cwd
        ("stacks/genomics/sky.yaml", "genomics", None, "stacks/genomics"),
        ("sky.yaml", "genomics", None, "."),
        ("../genomics/sky.yaml", "genomics", None, "../genomics"),
        ("sky.yaml", "genomics-prod", "prod", "prod"),
        ("stacks/genomics/sky.yaml", "genomics-prod", "prod", "stacks/genomics/prod"),
        # anywhere else: stacks/<name>/ under the current folder
        ("elsewhere/sky.yaml", "genomics", None, "stacks/genomics"),
        ("stacks/other/sky.yaml", "genomics", None, "stacks/genomics"),
        ("genomics/sky.yaml", "genomics", "dev", "stacks/genomics/dev"),
    ],
)
def test_default_out(
    spec: str, stack: str, env: str | None, expected: str, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cwd = tmp_path / "repo" / "stacks" / "genomics"
    cwd.mkdir(parents=True)
    monkeypatch.chdir(cwd)
    assert default_out(Path(spec), stack, env) == Path(expected)
