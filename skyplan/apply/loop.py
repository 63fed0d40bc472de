"""apply -> classify -> block -> solve -> emit -> apply, at most --max-replans times (SPEC 6)."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from skyplan.apply import children
from skyplan.apply import terraform as tfm
from skyplan.apply.classify import Failure, blocks_for, classify_output
from skyplan.apply.failure_table import HINTS
from skyplan.apply.runner import StepReporter
from skyplan.apply.scrub import Scrubber
from skyplan.apply.state import BlockRecord, StackState, load_blocked, save_blocked
from skyplan.catalog.models import Catalog
from skyplan.cli.stack_files import write_stack
from skyplan.emit.naming import tf_id, tf_ids
from skyplan.emit.stack import emit_stack
from skyplan.errors import ApplyError, InfeasibleError
from skyplan.plan import Plan
from skyplan.solver.blocked import Block
from skyplan.solver.solve import solve
from skyplan.spec.model import SkySpec

ADDRESS = re.compile(r"^(?:module\.[^.]+\.)*([A-Za-z0-9_]+)\.([A-Za-z0-9_-]+)(?:\[[^\]]*\])?$")
#: Which cloud's module a resource type lives in.
CLOUD_OF_TYPE = (
    ("aws_", "aws"),
    ("google_", "gcp"),
    ("azurerm_", "azure"),
    ("terraform_data", "local"),
)
DISK_ATTACHMENT = "azurerm_virtual_machine_data_disk_attachment"


@dataclass(frozen=True)
class ApplyOptions:
    """How `skyplan apply` behaves."""

    auto_approve: bool = False
    max_replans: int = 3
    time_limit: float = 60.0
    work_limit: float | None = None
    workers: int = 1
    retries: int = 3  # transient failures, retried in place
    retry_delay: float = 5.0  # seconds, doubled after each retry


@dataclass(frozen=True)
class Move:
    """A job the re-plan moved."""

    job: str
    old: str  # cloud:region instance_type
    new: str


@dataclass(frozen=True)
class Attempt:
    """One round of apply: the plan's total, what failed, and what was blocked for the next."""

    number: int
    total_usd: float
    failures: tuple[tuple[str, Failure], ...] = ()
    blocks: tuple[Block, ...] = ()

    def describe(self) -> str:
        """One history line per failure."""
        head = f"attempt {self.number} (plan ${self.total_usd:,.2f})"
        if not self.failures:
            return f"{head}: applied"
        parts = [
            f"{cloud}{' ' + f.address if f.address else ''}: {f.kind} {f.code}"
            for cloud, f in self.failures
        ]
        return f"{head}: " + "; ".join(parts)


class ApplyUi(StepReporter, Protocol):
    """What the apply loop shows and asks (the CLI implements it)."""

    def cloud(self, cloud: str, stage: str) -> None:
        """A cloud's module reached a stage (init, plan, apply, done, failed)."""

    def summaries(self, items: dict[str, tfm.PlanSummary]) -> None:
        """The saved plans of every module, before approval."""

    def confirm(self) -> bool:
        """Whether to apply them."""
        ...

    def replanned(
        self, moves: tuple[Move, ...], old: Plan, new: Plan, blocks: tuple[Block, ...]
    ) -> None:
        """What a re-plan changed and why."""

    def note(self, text: str) -> None:
        """Anything else worth a line."""


@dataclass
class Context:
    """Everything one apply run needs (mutable only within the loop)."""

    spec: SkySpec
    catalog: Catalog
    out: Path
    data_root: str
    opts: ApplyOptions
    ui: ApplyUi
    tf: tfm.Terraform
    state: StackState
    scrub: Scrubber = field(default_factory=Scrubber)
    history: list[Attempt] = field(default_factory=list)
    pinned: Plan | None = None  # a promoted environment's plan: applied as reviewed
    #: Modules whose state another Terraform still held after the retries: its lock ID (or "").
    state_locks: dict[str, str] = field(default_factory=dict)


def placement_of_address(spec: SkySpec, plan: Plan) -> Callable[[str], tuple[str, str] | None]:
    """Map a resource address (`aws_instance.align[0]`, `terraform_data.job_top[0]`) to the
    (cloud:region, instance_type) of the job it belongs to, or a region's own resource
    (`aws_vpc.eu_central_1`, `aws_subnet.eu_central_1_private`, `terraform_data.bucket_local_a`)
    to (cloud:region, "")."""
    by_id: dict[tuple[str, str], tuple[str, str]] = {}
    for cloud in plan.clouds():
        names = tuple(sorted(p.job for p in plan.placements if p.cloud == cloud))
        for job, ident in tf_ids(names).items():
            p = plan.placement(job)
            by_id[(cloud, ident)] = (p.region_key, p.instance_type)
    region_keys = {p.region_key for p in plan.placements} | {t.dst for t in plan.transfers}
    regions: dict[str, dict[str, str]] = {}  # cloud -> region id -> cloud:region
    for key in region_keys:
        cloud, _, region = key.partition(":")
        regions.setdefault(cloud, {})[tf_id(region)] = key

    def region_of(cloud: str, name: str) -> tuple[str, str] | None:
        ids = regions.get(cloud, {})
        if cloud == "local":
            name = name.removeprefix("bucket_")
        hits = [i for i in ids if name == i or name.startswith(i + "_")]
        return (ids[max(hits, key=len)], "") if hits else None

    def find(address: str) -> tuple[str, str] | None:
        m = ADDRESS.match(address)
        if m is None:
            return None
        rtype, name = m.group(1), m.group(2)
        cloud = next((c for prefix, c in CLOUD_OF_TYPE if rtype.startswith(prefix)), None)
        if cloud == "local":
            name = name.removeprefix("job_")  # the local module names nodes job_<id>
        elif cloud == "azure" and rtype in ("azurerm_managed_disk", DISK_ATTACHMENT):
            name = name.removesuffix("_data")
        job = by_id.get((cloud or "", name))
        return job if job is not None else region_of(cloud or "", m.group(2))

    return find


def solve_and_write(ctx: Context, blocked: frozenset[Block]) -> Plan:
    """Solve without what is blocked, emit, write the stack folder. A pinned plan (promoted)
    is used as it is until a failure blocks one of its offerings."""
    pinned = ctx.pinned
    if pinned is not None:
        hit = [
            f"{p.job} ({b.describe()})"
            for b in blocked
            for p in pinned.placements
            if b.covers_region(p.region_key) and b.instance_type in (None, p.instance_type)
        ]
        if hit:  # never apply placements nobody reviewed in a promoted environment
            raise ApplyError(
                "the promoted placements cannot be applied: "
                + ", ".join(hit)
                + "".join(f"\n  {a.describe()}" for a in ctx.history),
                hint="promote again once capacity is back, or apply with --replan to let "
                "skyplan move these jobs (the new placements are then unreviewed)",
            )
        files = emit_stack(ctx.spec, pinned, ctx.data_root)
        write_stack(ctx.out, files, ctx.spec.backend.type != "local")
        return pinned
    try:
        plan = solve(
            ctx.spec, ctx.catalog, blocked, time_limit=ctx.opts.time_limit,
            workers=ctx.opts.workers, work_limit=ctx.opts.work_limit,
        )  # fmt: skip
    except InfeasibleError as e:
        raise ApplyError(
            "no allowed placement is left after the failures: "
            + e.message
            + "".join(f"\n  {a.describe()}" for a in ctx.history),
            hint="policies and jurisdictions are never relaxed to escape a failure; wait for "
            f"capacity or quota, or remove entries from {ctx.state.blocked_file}",
        ) from None
    files = emit_stack(ctx.spec, plan, ctx.data_root)
    kept = write_stack(ctx.out, files, ctx.spec.backend.type != "local")
    for cloud in kept:
        ctx.ui.note(f"{cloud}/ is no longer used by the plan: it will be destroyed")
    return plan


def _module_step(
    ctx: Context, cloud: str, attempt: int, destroy: bool
) -> tuple[tfm.Run, tfm.PlanSummary | None]:
    """init and plan one module; the saved plan goes to .skyplan/plans/<cloud>.tfplan."""
    module = ctx.out / cloud
    log = ctx.state.logs / f"attempt-{attempt}" / f"{cloud}.log"
    ctx.ui.cloud(cloud, "init")
    run = _retrying(ctx, cloud, lambda: tfm.init(ctx.tf, module, log, ctx.scrub))
    if not run.ok:
        return run, None
    ctx.ui.cloud(cloud, "plan")
    planfile = (ctx.state.dir / "plans" / f"{cloud}.tfplan").resolve()
    planfile.parent.mkdir(parents=True, exist_ok=True)
    run = _retrying(ctx, cloud, lambda: tfm.plan(ctx.tf, module, planfile, log, ctx.scrub, destroy))
    if not run.ok:
        return run, None
    return run, tfm.show(ctx.tf, module, planfile)


def _retrying(ctx: Context, cloud: str, action: Callable[[], tfm.Run]) -> tfm.Run:
    """Run a Terraform step, retrying it in place while it fails only transiently (never once
    skyplan is stopping: an interrupted run is not started again)."""
    delay = ctx.opts.retry_delay
    for attempt in range(ctx.opts.retries + 1):
        run = action()
        if run.ok or children.stopping():
            return run
        failures = classify_output(run.output)
        if any(f.kind != "transient" for f in failures) or attempt == ctx.opts.retries:
            return run
        ctx.ui.cloud(cloud, f"transient failure ({failures[0].code}); retrying in {delay:.0f} s")
        ctx.state.event("retry", cloud=cloud, code=failures[0].code)
        if _pause(delay):
            return run
        delay *= 2
    return run  # pragma: no cover


def _pause(seconds: float) -> bool:
    """A retry's backoff; True when skyplan is stopping (the wait ends at once then)."""
    return children.pause(seconds)


def apply_round(ctx: Context, plan: Plan, attempt: int) -> list[tuple[str, Failure]]:
    """Plan, approve and apply every module of this round (clouds in parallel)."""
    used = list(plan.clouds())
    dropped = [
        c for c in ("aws", "azure", "gcp", "local")
        if c not in used and (ctx.out / c / "main.tf").exists()
    ]  # fmt: skip
    modules = [(c, False) for c in used] + [(c, True) for c in dropped]
    with ThreadPoolExecutor(max_workers=len(modules) or 1) as pool:
        planned = list(pool.map(lambda m: (m[0], *_module_step(ctx, m[0], attempt, m[1])), modules))
    failures = _failures(ctx, [(cloud, run) for cloud, run, summary in planned if summary is None])
    if failures:
        return failures
    summaries = {cloud: s for cloud, _, s in planned if s is not None}
    ctx.ui.summaries(summaries)
    changes = any(s.changes for s in summaries.values())
    if changes and not ctx.opts.auto_approve and not ctx.ui.confirm():
        raise ApplyError("apply cancelled: nothing was changed", hint="run it again to apply")
    ctx.state.event("apply.approved", attempt=attempt, clouds=sorted(summaries))

    def apply_one(cloud: str) -> tuple[str, tfm.Run]:
        module = ctx.out / cloud
        planfile = (ctx.state.dir / "plans" / f"{cloud}.tfplan").resolve()
        log = ctx.state.logs / f"attempt-{attempt}" / f"{cloud}.log"
        ctx.ui.cloud(cloud, "apply")
        run = tfm.apply(ctx.tf, module, planfile, log, ctx.scrub)
        transient = all(f.kind == "transient" for f in classify_output(run.output))
        if not run.ok and transient and not children.stopping():
            destroying = cloud in dropped
            run = _retrying(
                ctx, cloud, lambda: _replan_apply(ctx, cloud, planfile, log, destroying)
            )
        ctx.ui.cloud(cloud, "done" if run.ok else "failed")
        ctx.state.event("terraform.apply", cloud=cloud, ok=run.ok, attempt=attempt)
        return cloud, run

    with ThreadPoolExecutor(max_workers=len(summaries) or 1) as pool:
        applied = list(pool.map(apply_one, sorted(summaries)))
    return _failures(ctx, [(cloud, run) for cloud, run in applied if not run.ok])


def _replan_apply(
    ctx: Context, cloud: str, planfile: Path, log: Path, destroy: bool = False
) -> tfm.Run:
    """After a transient apply failure the saved plan is stale: plan again (a destroy plan for a
    module being removed), then apply."""
    module = ctx.out / cloud
    run = tfm.plan(ctx.tf, module, planfile, log, ctx.scrub, destroy)
    return tfm.apply(ctx.tf, module, planfile, log, ctx.scrub) if run.ok else run


def _failures(ctx: Context, runs: list[tuple[str, tfm.Run]]) -> list[tuple[str, Failure]]:
    out = []
    for cloud, run in runs:
        if lock_id := state_lock_id(run.output):
            ctx.state_locks[cloud] = lock_id
        for failure in classify_output(run.output):
            ctx.ui.cloud(cloud, f"failed: {failure.kind} {failure.code}")
            ctx.state.event(
                "failure", cloud=cloud, failure=failure.kind, code=failure.code,
                address=failure.address, message=failure.message, log=str(run.log),
            )  # fmt: skip
            out.append((cloud, failure))
    return out


_LOCK_ID = re.compile(r"Lock Info:\s*\n\s*ID:\s*(\S+)")


def state_lock_id(output: str) -> str | None:
    """The ID of the lock in Terraform's "Error acquiring the state lock" ("LOCK_ID" when it
    names none); None when the output holds no such error."""
    if "Error acquiring the state lock" not in output:
        return None
    m = _LOCK_ID.search(output)
    return m.group(1) if m else "LOCK_ID"


def force_unlock_hint(module: Path, lock_id: str) -> str:
    """What to do about a state lock that outlived the retries."""
    return (
        f"another Terraform still holds the state lock of {module.name}/: wait for it; if none "
        f"is running for this stack (a run that was killed), release the lock with "
        f"`terraform -chdir={module} force-unlock {lock_id}`"
    )


def moves(old: Plan, new: Plan) -> tuple[Move, ...]:
    """Jobs whose region or instance type changed."""
    out = []
    for p in new.placements:
        before = old.placement(p.job)
        a = f"{before.region_key} {before.instance_type}"
        b = f"{p.region_key} {p.instance_type}"
        if a != b:
            out.append(Move(p.job, a, b))
    return tuple(out)


def apply_infrastructure(ctx: Context) -> Plan:
    """Bring every module to the plan, re-planning around capacity and quota failures."""
    records = list(load_blocked(ctx.state))
    plan = solve_and_write(ctx, frozenset(r.block for r in records))
    for attempt in range(1, ctx.opts.max_replans + 2):
        ctx.state.event("apply.attempt", attempt=attempt, total_usd=float(plan.total_usd))
        failures = apply_round(ctx, plan, attempt)
        if not failures:
            ctx.history.append(Attempt(attempt, float(plan.total_usd)))
            return plan
        find = placement_of_address(ctx.spec, plan)
        found = [blocks_for(f, find) for _, f in failures]
        new_blocks: set[Block] = set().union(*found)
        blockable = all(found)  # every failure is one a block (a re-plan) gets around
        ctx.history.append(
            Attempt(attempt, float(plan.total_usd), tuple(failures), tuple(sorted(new_blocks)))
        )
        if not blockable:
            raise ApplyError(_history("apply failed", ctx), hint=_log_hint(ctx))
        now = time.time()
        messages = {b: f.message for _, f in failures for b in blocks_for(f, find)}
        records += [BlockRecord(b, now, messages.get(b, "")) for b in sorted(new_blocks)]
        save_blocked(ctx.state, tuple(records))  # kept even when we give up: the next apply
        if attempt > ctx.opts.max_replans:  # starts from what this one learnt
            raise ApplyError(
                _history(f"still failing after {ctx.opts.max_replans} re-plans", ctx),
                hint="raise --max-replans, or wait for capacity and apply again",
            )
        old = plan
        plan = solve_and_write(ctx, frozenset(r.block for r in records))
        described = [b.describe() for b in sorted(new_blocks)]
        ctx.state.event(
            "replan", attempt=attempt, blocks=described,
            old_usd=float(old.total_usd), new_usd=float(plan.total_usd),
        )  # fmt: skip
        ctx.ui.replanned(moves(old, plan), old, plan, tuple(sorted(new_blocks)))
    raise AssertionError("unreachable")  # pragma: no cover


def _history(head: str, ctx: Context) -> str:
    lines = [head + ":"] + [f"  {a.describe()}" for a in ctx.history]
    last = ctx.history[-1].failures if ctx.history else ()
    lines += [f"  {cloud}: {f.message}" for cloud, f in last]
    return "\n".join(lines)


def _log_hint(ctx: Context) -> str:
    """Where the full output is, after what to do about the last failures where that is known
    (a bucket name taken by another account: set bucket_prefix)."""
    last = ctx.history[-1].failures if ctx.history else ()
    fixes = sorted({HINTS[f.code] for _, f in last if f.code in HINTS})
    locked = sorted({c for c, f in last if f.code == "StateLocked" and c in ctx.state_locks})
    fixes += [force_unlock_hint(ctx.out / c, ctx.state_locks[c]) for c in locked]
    return "; ".join([*fixes, f"full Terraform output is in {ctx.state.logs}"])
