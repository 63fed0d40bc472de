"""The generated Terraform under the real terraform binary: fmt, and init/apply of `local`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from example_modules import STACKS, module_folders, module_id

TERRAFORM = shutil.which(os.environ.get("SKYPLAN_TERRAFORM", "terraform"))
if TERRAFORM is None and os.environ.get("SKYPLAN_REQUIRE_TERRAFORM") == "1":
    raise RuntimeError("SKYPLAN_REQUIRE_TERRAFORM=1 but terraform was not found")
needs_terraform = pytest.mark.skipif(
    TERRAFORM is None, reason="terraform is not installed here (.ci/run requires it)"
)
ENV = {**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null", "TF_IN_AUTOMATION": "1"}


def tf(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run terraform in `cwd`, failing the test with its output when it fails."""
    assert TERRAFORM is not None
    proc = subprocess.run(
        [TERRAFORM, *args], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, f"terraform {' '.join(args)} in {cwd}:\n{proc.stdout}{proc.stderr}"
    return proc


def test_every_cloud_has_an_example_module() -> None:
    assert {p.name for p in module_folders()} == {"aws", "azure", "gcp", "local"}


def test_the_gates_see_the_modules_of_every_environment() -> None:
    """Modules of a stack's environments sit one level deeper (stacks/<name>/<env>/<cloud>/):
    fmt, checkov and the schema check must not miss them."""
    ids = {module_id(p) for p in module_folders()}
    assert {"genomics/dev/gcp", "genomics/staging/gcp", "genomics/prod/gcp"} <= ids
    generated = {
        p.parent
        for p in STACKS.rglob("main.tf")
        if not any(part.startswith(".") for part in p.relative_to(STACKS).parts)
    }
    assert generated == set(module_folders())


@needs_terraform
@pytest.mark.parametrize("module", module_folders(), ids=module_id)
def test_terraform_fmt_check(module: Path) -> None:
    tf("fmt", "-check", "-diff", "-recursive", ".", cwd=module)


@needs_terraform
def test_local_module_init_apply_destroy(tmp_path: Path) -> None:
    """The local-demo's generated module, applied for real: no network, only terraform_data."""
    stack = tmp_path / "local-demo"
    shutil.copytree(
        STACKS / "local-demo",
        stack,
        ignore=shutil.ignore_patterns(".skyplan", ".terraform*", "*.tfstate*"),
    )
    module = stack / "local"
    tf("init", "-input=false", "-no-color", cwd=module)
    tf("validate", "-no-color", cwd=module)
    tf("apply", "-input=false", "-auto-approve", "-no-color", cwd=module)
    outputs = json.loads(tf("output", "-json", cwd=module).stdout)
    buckets = outputs["buckets"]["value"]
    assert set(buckets) == {"local-a", "local-b"}
    for path in buckets.values():
        assert (
            Path(path).is_dir() and Path(path).parent == (stack / ".skyplan" / "buckets").resolve()
        )
    nodes = [Path(p) for paths in outputs["nodes"]["value"].values() for p in paths]
    assert nodes and all(p.is_dir() for p in nodes)
    # A second apply is a no-op: the module converges.
    again = tf("plan", "-input=false", "-detailed-exitcode", "-no-color", cwd=module)
    assert "No changes" in again.stdout
    (Path(buckets["local-a"]) / "keep.txt").write_text("data", encoding="utf-8")
    tf("destroy", "-auto-approve", "-no-color", cwd=module)
    assert not any(p.exists() for p in nodes)
    assert not Path(buckets["local-b"]).exists()  # empty bucket folders go
    assert (Path(buckets["local-a"]) / "keep.txt").exists()  # data is kept unless force_destroy
    # As with S3's force_destroy, the setting must be applied before the destroy that uses it.
    force = ("-var", "force_destroy=true")
    tf("apply", "-input=false", "-auto-approve", "-no-color", *force, cwd=module)
    tf("destroy", "-auto-approve", "-no-color", *force, cwd=module)
    assert not Path(buckets["local-a"]).exists()


@needs_terraform
def test_a_held_state_lock_is_retried_until_it_is_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another terraform (one left running by a killed skyplan) holds the state: skyplan's step
    fails with "Error acquiring the state lock", waits and tries again instead of giving up."""
    import fcntl

    from skyplan.apply import loop
    from skyplan.apply.loop import ApplyOptions, Context, _retrying
    from skyplan.apply.scrub import Scrubber
    from skyplan.apply.state import StackState
    from skyplan.apply.terraform import find_terraform
    from skyplan.apply.terraform import plan as tf_plan

    module = tmp_path / "local"
    module.mkdir()
    (module / "main.tf").write_text('resource "terraform_data" "x" {\n  input = 1\n}\n')
    tf("init", "-input=false", "-no-color", cwd=module)
    tf("apply", "-input=false", "-auto-approve", "-no-color", cwd=module)
    holder = os.open(module / "terraform.tfstate", os.O_RDWR)
    fcntl.lockf(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as terraform itself locks it
    slept: list[float] = []

    def release(seconds: float) -> bool:
        slept.append(seconds)
        os.close(holder)  # the other terraform finishes
        return False  # not interrupted

    monkeypatch.setattr(loop, "_pause", release)  # only the apply loop's backoff
    monkeypatch.setenv("TF_CLI_CONFIG_FILE", "/dev/null")

    class Ui:
        def cloud(self, cloud: str, stage: str) -> None:
            pass

    ctx = Context(
        None, None, tmp_path, ".", ApplyOptions(retries=2, retry_delay=1.0),  # type: ignore[arg-type]
        Ui(), find_terraform(), StackState(tmp_path),  # type: ignore[arg-type]
    )  # fmt: skip
    planfile = tmp_path / "x.tfplan"
    log = tmp_path / "plan.log"
    run = _retrying(ctx, "local", lambda: tf_plan(ctx.tf, module, planfile, log, Scrubber()))
    assert run.ok, run.output
    assert slept == [1.0]
    assert "Error acquiring the state lock" in log.read_text()
    assert [e["code"] for e in ctx.state.events() if e["event"] == "retry"] == ["StateLocked"]
