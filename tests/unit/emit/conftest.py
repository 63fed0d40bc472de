"""Helpers for emitter tests: plan a small sky.yaml on the embedded catalog and emit it."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from skyplan.catalog import load_embedded_catalog
from skyplan.emit.base import RenderedFile
from skyplan.emit.layout import StackLayout, stack_layout
from skyplan.emit.stack import emit_stack
from skyplan.plan import Plan
from skyplan.solver.solve import solve
from skyplan.spec.model import SkySpec
from skyplan.spec.resolve import load_spec
from skyplan.validate.hcl import HclFile, parse_file

Planned = tuple[SkySpec, Plan]

TWO_CLOUDS = """\
version: 1
name: lay
clouds: [aws, gcp]
datasets:
  raw:
    size: 100GB
    location: aws:eu-west-1
    uri: s3://acme-raw/in
jobs:
  prep:
    run: ./prep
    resources: {cpus: 4}
    hours: 1
    inputs: [raw]
    outputs: {clean: 10GB}
    regions: ["aws:eu-west-1"]
  train:
    run: ./train
    resources: {cpus: 4}
    hours: 1
    inputs: [clean, raw]
    outputs: {model: 1GB}
    regions: ["gcp:europe-west4"]
"""


@pytest.fixture
def two_clouds() -> str:
    """A two-job spec: `prep` pinned to aws:eu-west-1, `train` to gcp:europe-west4."""
    return TWO_CLOUDS


@pytest.fixture
def planned(tmp_path: Path) -> Callable[[str], Planned]:
    """Load and solve a dedented sky.yaml text written to tmp_path."""

    def run(text: str) -> Planned:
        path = tmp_path / "sky.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        spec = load_spec(path, load_embedded_catalog())
        return spec, solve(spec, load_embedded_catalog(), time_limit=20)

    return run


@pytest.fixture
def emitted(planned: Callable[[str], Planned]) -> Callable[[str], dict[str, str]]:
    """Every generated file of a sky.yaml text, by path."""

    def run(text: str) -> dict[str, str]:
        spec, plan = planned(text)
        files: tuple[RenderedFile, ...] = emit_stack(spec, plan)
        return {f.path: f.text for f in files}

    return run


@pytest.fixture
def layout_of(planned: Callable[[str], Planned]) -> Callable[[str], StackLayout]:
    """The storage layout of a sky.yaml text."""

    def run(text: str) -> StackLayout:
        spec, plan = planned(text)
        return stack_layout(spec, plan, "../specs")

    return run


@pytest.fixture
def hcl(tmp_path: Path) -> Callable[[str], HclFile]:
    """Parse HCL text with skyplan.validate.hcl (which reads files)."""
    names = itertools.count()

    def run(text: str) -> HclFile:
        path = tmp_path / f"parsed-{next(names)}.tf"
        path.write_text(text, encoding="utf-8")
        parsed = parse_file(path)
        assert isinstance(parsed, HclFile), parsed
        return parsed

    return run
