"""`skyplan validate DIR`: exit 0 on a stack `skyplan plan` wrote, exit 2 with file:line for
every block that does not match the provider schemas."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable
from pathlib import Path

Cli = Callable[..., subprocess.CompletedProcess[str]]
Write = Callable[[str, str], Path]

SPEC = """\
version: 1
name: valdemo
clouds: [aws]
datasets:
  raw: {size: 50GB, location: "aws:eu-west-1", uri: "s3://acme-raw/in/"}
jobs:
  prep:
    run: ./prep.sh
    resources: {cpus: 4, memory: 16GB}
    hours: 2
    inputs: [raw]
    outputs: {clean: 5GB}
    regions: ["aws:eu-west-1"]
"""


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_validate_passes_a_generated_stack_and_names_each_broken_line(
    cli: Cli, work: Path, write: Write
) -> None:
    spec = write("spec/sky.yaml", SPEC)
    assert cli("plan", spec, "--out", "out", cwd=work).returncode == 0
    good = cli("validate", "out", cwd=work)
    assert good.returncode == 0, good.stderr
    assert re.search(r"out: \d+ blocks in 1 module match the provider schemas", good.stdout)
    assert "hashicorp/aws 6.47.0" in good.stdout and "no problems" in good.stdout

    main = work / "out" / "aws" / "main.tf"
    text = main.read_text("utf-8")
    text = re.sub(r"(?m)^  instance_type(\s+)=", r"  instance_typo\1=", text, count=1)
    text = text.replace('resource "aws_s3_bucket" ', 'resource "aws_s3_bucket_typo" ', 1)
    main.write_text(text, encoding="utf-8")
    bad = cli("validate", "out", cwd=work)
    assert bad.returncode == 2, bad.stderr
    assert "2 problems found" in bad.stderr
    typo = _line_of(text, "instance_typo")
    bucket = _line_of(text, 'resource "aws_s3_bucket_typo"')
    where = f"out/aws/main.tf:{typo}: aws_instance.prep.instance_typo"
    assert f"{where}: unknown argument 'instance_typo'" in bad.stderr
    assert "did you mean 'instance_type'?" in bad.stderr
    assert f"out/aws/main.tf:{bucket}: aws_s3_bucket_typo." in bad.stderr
    assert "unknown resource type 'aws_s3_bucket_typo'" in bad.stderr


def test_validate_refuses_a_folder_without_terraform(cli: Cli, work: Path) -> None:
    (work / "empty").mkdir()
    proc = cli("validate", "empty", cwd=work)
    assert proc.returncode == 2
    assert "no .tf files here" in proc.stderr
