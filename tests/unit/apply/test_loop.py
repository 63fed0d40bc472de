"""The apply loop's pure parts: resource addresses to placements, moves, history, retries."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest

from skyplan.apply import loop
from skyplan.apply.classify import Failure
from skyplan.apply.loop import (
    ApplyOptions,
    Attempt,
    Context,
    Move,
    _retrying,
    moves,
    placement_of_address,
)
from skyplan.apply.state import StackState, load_blocked
from skyplan.apply.terraform import PlanSummary, Run, Terraform
from skyplan.plan import Placement, Plan, SolverInfo
from skyplan.solver.blocked import Block


def placement(
    job: str, cloud: str, region: str, instance_type: str, spot: bool = False
) -> Placement:
    return Placement(
        job, cloud, region, instance_type, spot, 1, Decimal("2"), Decimal("0.5"), Decimal("1.0")
    )


def plan(*placements: Placement) -> Plan:
    return Plan("demo", placements, (), SolverInfo("OPTIMAL"))


PLAN = plan(
    placement("align", "aws", "eu-west-1", "p4d.24xlarge"),
    placement("top", "local", "local-a", "local.medium"),
    placement("big-mem", "azure", "westeurope", "Standard_E64s_v5"),
    placement("train-gpu", "gcp", "europe-west4", "a2-highgpu-1g"),
)


# --- placement_of_address --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("aws_instance.align[0]", ("aws:eu-west-1", "p4d.24xlarge")),
        ("aws_instance.align", ("aws:eu-west-1", "p4d.24xlarge")),
        ("terraform_data.job_top[0]", ("local:local-a", "local.medium")),
        ("azurerm_managed_disk.big_mem_data[1]", ("azure:westeurope", "Standard_E64s_v5")),
        ("azurerm_linux_virtual_machine.big_mem[0]", ("azure:westeurope", "Standard_E64s_v5")),
        (
            "module.x.google_compute_instance.train_gpu[0]",
            ("gcp:europe-west4", "a2-highgpu-1g"),
        ),
        ('google_compute_instance.train_gpu["a"]', ("gcp:europe-west4", "a2-highgpu-1g")),
    ],
)
def test_job_resources_map_to_their_placement(address: str, expected: tuple[str, str]) -> None:
    assert placement_of_address(None, PLAN)(address) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("aws_vpc.eu_west_1", ("aws:eu-west-1", "")),
        ("aws_s3_bucket.eu_west_1[0]", ("aws:eu-west-1", "")),
        ("aws_subnet.eu_west_1_private", ("aws:eu-west-1", "")),
        ("module.net.aws_nat_gateway.eu_west_1", ("aws:eu-west-1", "")),
        ("terraform_data.bucket_local_a", ("local:local-a", "")),
        ("azurerm_resource_group.westeurope", ("azure:westeurope", "")),
        ("google_compute_router_nat.europe_west4", ("gcp:europe-west4", "")),
        ("aws_vpc.eu_west_2", None),  # a region of no job
        ("google_compute_network.eu_west_1", None),  # an AWS region, not a GCP one
    ],
)
def test_a_regions_own_resources_map_to_that_region(
    address: str, expected: tuple[str, str] | None
) -> None:
    assert placement_of_address(None, PLAN)(address) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "address",
    [
        "google_compute_instance.unknown_job[0]",
        "aws_iam_role.flow_logs",
        "data.aws_ami.ubuntu",
        "not an address",
        "",
    ],
)
def test_unrelated_addresses_map_to_nothing(address: str) -> None:
    assert placement_of_address(None, PLAN)(address) is None  # type: ignore[arg-type]


def test_a_data_disk_maps_to_its_own_job_not_a_job_named_like_it() -> None:
    both = plan(
        placement("a", "azure", "westeurope", "Standard_D4s_v5"),
        placement("a_data", "gcp", "europe-west4", "n2-standard-4"),
    )
    find = placement_of_address(None, both)  # type: ignore[arg-type]
    assert find("azurerm_managed_disk.a_data[0]") == ("azure:westeurope", "Standard_D4s_v5")


# --- moves, Attempt.describe -----------------------------------------------------------------


def test_moves_lists_exactly_the_jobs_whose_region_or_type_changed() -> None:
    old = plan(
        placement("same", "aws", "eu-west-1", "m.large"),
        placement("region", "aws", "eu-west-1", "m.large"),
        placement("kind", "aws", "eu-west-1", "m.large"),
        placement("cloud", "aws", "eu-west-1", "m.large"),
        placement("spot", "aws", "eu-west-1", "m.large"),
    )
    new = plan(
        placement("same", "aws", "eu-west-1", "m.large"),
        placement("region", "aws", "eu-central-1", "m.large"),
        placement("kind", "aws", "eu-west-1", "m.xlarge"),
        placement("cloud", "gcp", "eu-west-1", "m.large"),
        placement("spot", "aws", "eu-west-1", "m.large", spot=True),
    )
    assert moves(old, new) == (
        Move("region", "aws:eu-west-1 m.large", "aws:eu-central-1 m.large"),
        Move("kind", "aws:eu-west-1 m.large", "aws:eu-west-1 m.xlarge"),
        Move("cloud", "aws:eu-west-1 m.large", "gcp:eu-west-1 m.large"),
    )
    assert moves(old, old) == ()


def test_an_attempt_without_failures_was_applied() -> None:
    assert Attempt(1, 1234.5).describe() == "attempt 1 (plan $1,234.50): applied"


def test_an_attempt_lists_each_failure() -> None:
    failures = (
        ("aws", Failure("capacity", "InsufficientInstanceCapacity", "aws",
                        address="aws_instance.align[0]")),
        ("gcp", Failure("quota", "QUOTA_EXCEEDED", "gcp",
                        address="google_compute_instance.t[0]")),
    )  # fmt: skip
    assert Attempt(2, 10.0, failures).describe() == (
        "attempt 2 (plan $10.00): aws aws_instance.align[0]: capacity "
        "InsufficientInstanceCapacity; gcp google_compute_instance.t[0]: quota QUOTA_EXCEEDED"
    )


def test_an_attempt_failure_without_an_address_reads_cleanly() -> None:
    failures = (("gcp", Failure("quota", "QUOTA_EXCEEDED", "gcp")),)
    assert (
        Attempt(3, 1.0, failures).describe() == "attempt 3 (plan $1.00): gcp: quota QUOTA_EXCEEDED"
    )


# --- _retrying -------------------------------------------------------------------------------

TRANSIENT = """
Error: creating EC2 Instance: operation error EC2: RunInstances, https response error \
StatusCode: 503, RequestID: 8f6c1e2a, api error RequestLimitExceeded: Request limit exceeded.

  with aws_instance.align[0],
  on main.tf line 10, in resource "aws_instance" "align":
  10: resource "aws_instance" "align" {
"""
PERMANENT = TRANSIENT.replace("StatusCode: 503", "StatusCode: 403").replace(
    "RequestLimitExceeded: Request limit exceeded", "UnauthorizedOperation: You are not authorized"
)


class FakeUi:
    """Only `cloud` is used by _retrying."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def cloud(self, cloud: str, stage: str) -> None:
        self.lines.append((cloud, stage))


def context(tmp_path: Path, retries: int = 3) -> Context:
    return Context(
        spec=None,  # type: ignore[arg-type]
        catalog=None,  # type: ignore[arg-type]
        out=tmp_path,
        data_root=".",
        opts=ApplyOptions(retries=retries, retry_delay=5.0),
        ui=FakeUi(),  # type: ignore[arg-type]
        tf=Terraform("terraform", "1.9.0", "terraform"),
        state=StackState(tmp_path),
    )


def action(tmp_path: Path, *outputs: str | None) -> tuple[Callable[[], Run], list[Run]]:
    """A Terraform step returning these outputs in turn (None: success), and its calls."""
    calls: list[Run] = []

    def act() -> Run:
        output = outputs[len(calls)]
        result = Run(("apply",), 0 if output is None else 1, output or "", tmp_path / "log")
        calls.append(result)
        return result

    return act, calls


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    slept: list[float] = []

    def pause(seconds: float) -> bool:
        slept.append(seconds)
        return False  # not stopping

    monkeypatch.setattr(loop, "_pause", pause)
    return slept


def test_a_transient_failure_is_retried_with_doubling_delays(
    tmp_path: Path, sleeps: list[float]
) -> None:
    ctx = context(tmp_path)
    act, calls = action(tmp_path, TRANSIENT, TRANSIENT, None)
    run = _retrying(ctx, "aws", act)
    assert run.ok
    assert len(calls) == 3
    assert sleeps == [5.0, 10.0]
    retries = [e for e in ctx.state.events() if e["event"] == "retry"]
    assert [(e["cloud"], e["code"]) for e in retries] == [("aws", "RequestLimitExceeded")] * 2
    ui = ctx.ui
    assert isinstance(ui, FakeUi)
    assert ui.lines[0] == ("aws", "transient failure (RequestLimitExceeded); retrying in 5 s")


def test_retrying_gives_up_after_opts_retries(tmp_path: Path, sleeps: list[float]) -> None:
    ctx = context(tmp_path, retries=3)
    act, calls = action(tmp_path, *[TRANSIENT] * 10)
    run = _retrying(ctx, "aws", act)
    assert not run.ok and run is calls[-1]
    assert len(calls) == 4  # the first try and three retries
    assert sleeps == [5.0, 10.0, 20.0]


def test_no_retries_means_one_try(tmp_path: Path, sleeps: list[float]) -> None:
    act, calls = action(tmp_path, TRANSIENT, None)
    assert not _retrying(context(tmp_path, retries=0), "aws", act).ok
    assert len(calls) == 1 and sleeps == []


@pytest.mark.parametrize("output", [PERMANENT, TRANSIENT + PERMANENT, "segmentation fault"])
def test_a_permanent_or_unknown_failure_is_not_retried(
    tmp_path: Path, sleeps: list[float], output: str
) -> None:
    ctx = context(tmp_path)
    act, calls = action(tmp_path, output, None)
    run = _retrying(ctx, "aws", act)
    assert not run.ok
    assert len(calls) == 1
    assert sleeps == []
    assert [e for e in ctx.state.events() if e["event"] == "retry"] == []


def test_a_success_is_returned_at_once(tmp_path: Path, sleeps: list[float]) -> None:
    act, calls = action(tmp_path, None)
    assert _retrying(context(tmp_path), "aws", act) is calls[0]
    assert sleeps == []


def test_a_bucket_name_taken_by_another_account_points_at_bucket_prefix(tmp_path: Path) -> None:
    """Bucket names are global and derived; when one is taken the way out is bucket_prefix."""
    taken = Failure("permanent", "BucketNameTaken", "gcp", message="bucket name not available")
    other = Failure("permanent", "UnauthorizedOperation", "aws", message="not authorized")
    ctx = context(tmp_path)
    ctx.history.append(Attempt(1, 1.0, (("gcp", taken), ("aws", other))))
    hint = loop._log_hint(ctx)
    assert hint.startswith("bucket (and Azure storage account) names are global")
    assert "`bucket_prefix:` in sky.yaml" in hint and '"Bucket names"' in hint
    assert hint.endswith(f"full Terraform output is in {ctx.state.logs}")
    ctx.history[-1] = Attempt(1, 1.0, (("aws", other),))
    assert loop._log_hint(ctx) == f"full Terraform output is in {ctx.state.logs}"


# --- apply_round: a failed apply with no `Error:` block ----------------------------------------


class RoundUi(FakeUi):
    """Everything apply_round asks of the UI."""

    def summaries(self, items: object) -> None:
        pass

    def confirm(self) -> bool:
        return True

    def step(self, step: str, state: str, detail: str = "") -> None:
        pass

    def note(self, text: str) -> None:
        pass


@pytest.mark.parametrize("output", ["Killed", "", "panic: runtime error\n\nTerraform crashed!"])
def test_an_apply_failure_without_an_error_block_is_not_retried_as_transient(
    tmp_path: Path, sleeps: list[float], monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    calls: list[str] = []

    def step(name: str, code: int = 0, text: str = "") -> Callable[..., Run]:
        def run(*args: object, **kwargs: object) -> Run:
            calls.append(name)
            return Run((name,), code, text, tmp_path / "log")

        return run

    monkeypatch.setattr(loop.tfm, "init", step("init"))
    monkeypatch.setattr(loop.tfm, "plan", step("plan"))
    monkeypatch.setattr(loop.tfm, "show", lambda *a: PlanSummary(1, 0, 0, 0))
    monkeypatch.setattr(loop.tfm, "apply", step("apply", 1, output))
    ctx = context(tmp_path)
    ctx.ui = RoundUi()  # type: ignore[assignment]
    ctx.opts = ApplyOptions(auto_approve=True, retries=3, retry_delay=5.0)
    only_local = plan(placement("top", "local", "local-a", "local.small"))
    (failure,) = [f for _, f in loop.apply_round(ctx, only_local, 1)]
    assert (failure.kind, failure.code) == ("permanent", "unknown")
    assert calls == ["init", "plan", "apply"]  # no second plan and apply
    assert sleeps == []


# --- apply_infrastructure: a cloud-wide quota moves the plan to the other clouds -----------------

CLOUD_WIDE = {
    "gcp": """
Error: Error waiting for instance to create: Quota 'CPUS_ALL_REGIONS' exceeded. Limit: 32.0 \
globally.

  with google_compute_instance.etl[0],
  on main.tf line 9, in resource "google_compute_instance" "etl":
   9: resource "google_compute_instance" "etl" {
""",
    "azure": """
Error: creating Resource Group "skyplan-x": unexpected status 400 (400 Bad Request) with error: \
ResourceGroupQuotaExceeded: Creating the resource group 'skyplan-x' would exceed the quota of \
'980'. The current resource group count is '980', please delete some resource groups before \
creating a new one.

  with azurerm_resource_group.westeurope,
  on main.tf line 9, in resource "azurerm_resource_group" "westeurope":
   9: resource "azurerm_resource_group" "westeurope" {
""",
}


class LoopUi(RoundUi):
    def __init__(self) -> None:
        super().__init__()
        self.replans: list[tuple[Block, ...]] = []

    def replanned(self, moves: object, old: object, new: object, blocks: tuple) -> None:
        self.replans.append(blocks)


def test_a_cloud_wide_quota_blocks_that_cloud_and_replans_onto_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skyplan.apply.classify import classify
    from skyplan.cli.inputs import load_spec_and_catalog

    spec_path = tmp_path / "sky.yaml"
    spec_path.write_text(
        "version: 1\nname: wide\nclouds: [gcp, azure]\n"
        "jobs:\n  etl:\n    run: echo hi\n    resources: {cpus: 2}\n    hours: 1\n"
    )
    spec, catalog = load_spec_and_catalog(spec_path, None)
    rounds: list[tuple[str, ...]] = []

    def apply_round(ctx: Context, plan: Plan, attempt: int) -> list:
        rounds.append(plan.clouds())
        if attempt > 1:
            return []
        (cloud,) = plan.clouds()
        return [(cloud, f) for f in classify(CLOUD_WIDE[cloud])]

    monkeypatch.setattr(loop, "apply_round", apply_round)
    ui = LoopUi()
    ctx = Context(
        spec, catalog, tmp_path / "build", str(tmp_path), ApplyOptions(auto_approve=True),
        ui, Terraform("terraform", "1.11.0", "terraform"), StackState(tmp_path / "build"),  # type: ignore[arg-type]
    )  # fmt: skip
    final = loop.apply_infrastructure(ctx)
    first = rounds[0][0]
    other = "azure" if first == "gcp" else "gcp"
    assert rounds == [(first,), (other,)]
    assert final.clouds() == (other,)
    (blocks,) = ui.replans
    assert blocks == (Block(f"{first}:*", resource="vcpus", reason="quota"),)
    saved = load_blocked(ctx.state)
    assert [r.block for r in saved] == [Block(f"{first}:*", resource="vcpus", reason="quota")]


def test_a_whole_cloud_block_covers_every_region_of_that_cloud_only() -> None:
    from skyplan.catalog.models import Offering

    def offering(cloud: str, region: str, gpu: str = "") -> Offering:
        return Offering(cloud, region, "t", 8, Decimal(32), gpu, 1 if gpu else 0, Decimal(1), None)

    everything = Block("gcp:*", resource="vcpus", reason="quota")
    gpus = Block("gcp:*", resource="gpus", reason="quota")
    assert everything.covers(offering("gcp", "us-central1"))
    assert everything.covers(offering("gcp", "europe-west4", "A100"))
    assert not everything.covers(offering("aws", "us-east-1"))
    assert gpus.covers(offering("gcp", "asia-east1", "T4"))
    assert not gpus.covers(offering("gcp", "asia-east1"))
    assert everything.describe() == "gcp (every region) vcpus (quota)"


# --- an interrupted skyplan starts nothing again ------------------------------------------------


def test_after_an_interrupt_a_transient_failure_is_not_retried(tmp_path: Path) -> None:
    """Ctrl-C while a worker waits in its backoff: it returns, no new plan and apply start."""
    from skyplan.apply import children

    ctx = context(tmp_path)
    calls: list[Run] = []

    def act() -> Run:
        if not calls:  # skyplan is interrupted while this first try runs
            threading.Timer(0.3, children._STOPPING.set).start()
        calls.append(Run(("apply",), 1, TRANSIENT, tmp_path / "log"))
        return calls[-1]

    ctx.opts = ApplyOptions(retries=3, retry_delay=30.0)
    started = time.monotonic()
    run = _retrying(ctx, "aws", act)
    assert not run.ok and len(calls) == 1
    assert time.monotonic() - started < 10  # the 30 s backoff ended with the interrupt
    children._STOPPING.set()
    assert _retrying(ctx, "aws", act) is calls[-1] and len(calls) == 2  # one try, no retry


LOCKED = """
Error: Error acquiring the state lock

Error message: ConditionalCheckFailedException: The conditional request failed
Lock Info:
  ID:        6b3f0d6c-2a4e-1b9d-0c6a-3c1e2f4a5b6c
  Path:      my-bucket/dag/aws/terraform.tfstate
  Operation: OperationTypeApply

Terraform acquires a state lock to protect the state from being written
by multiple users at the same time.
"""


def test_a_state_lock_that_outlives_the_retries_gives_the_force_unlock_hint(
    tmp_path: Path,
) -> None:
    ctx = context(tmp_path)
    failures = loop._failures(ctx, [("aws", Run(("apply",), 1, LOCKED, tmp_path / "log"))])
    assert [f.code for _, f in failures] == ["StateLocked"]
    ctx.history.append(Attempt(1, 1.0, tuple(failures)))
    hint = loop._log_hint(ctx)
    assert (
        f"`terraform -chdir={tmp_path / 'aws'} force-unlock 6b3f0d6c-2a4e-1b9d-0c6a-3c1e2f4a5b6c`"
        in hint
    )
    assert loop.state_lock_id("Error acquiring the state lock\n") == "LOCK_ID"
    assert loop.state_lock_id("Apply complete!") is None
