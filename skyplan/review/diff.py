"""What changes between two generated stacks: placements, transfers, Terraform resources, rules."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from decimal import Decimal

from skyplan.catalog.models import Catalog
from skyplan.plan import Placement, Plan, Transfer, plan_from_json
from skyplan.spec.model import SkySpec, satisfies

#: Generated files of a stack folder by relative path (plan.json, aws/main.tf, ...).
StackFiles = Mapping[str, str]

BLOCK = re.compile(r'^(resource|data) "([^"]+)" "([^"]+)" \{$', re.M)
SCRIPT = re.compile(r"scripts/([A-Za-z0-9_-]+\.sh\.tftpl)")


@dataclass(frozen=True)
class PlacementChange:
    """A job added, moved (region or instance type), resized, or removed."""

    job: str
    kind: str  # added | moved | changed | removed
    old: Placement | None
    new: Placement | None

    @property
    def delta(self) -> Decimal:
        """Cost change of this job."""
        return (self.new.usd if self.new else Decimal(0)) - (self.old.usd if self.old else 0)


@dataclass(frozen=True)
class TransferChange:
    """A copy added, removed, or repriced."""

    dataset: str
    dst: str
    kind: str  # added | removed | changed
    old: Transfer | None
    new: Transfer | None

    @property
    def delta(self) -> Decimal:
        """Cost change of this copy."""
        return (self.new.usd if self.new else Decimal(0)) - (self.old.usd if self.old else 0)


@dataclass(frozen=True)
class ModuleChanges:
    """Terraform blocks of one cloud's module added, changed or destroyed."""

    cloud: str
    added: tuple[str, ...]
    changed: tuple[str, ...]
    destroyed: tuple[str, ...]


@dataclass(frozen=True)
class RuleCheck:
    """One rule of the spec checked against the new plan."""

    ok: bool
    text: str


@dataclass(frozen=True)
class StackDiff:
    """Everything a reviewer needs to judge a change of plan."""

    old: Plan | None
    new: Plan
    placements: tuple[PlacementChange, ...]
    transfers: tuple[TransferChange, ...]
    modules: tuple[ModuleChanges, ...]
    rules: tuple[RuleCheck, ...]
    unchecked: str | None = None  # why the rules were not checked (no spec to check them with)
    same_stack: frozenset[str] = frozenset()  # stack names of one spec (its environments)

    @property
    def delta(self) -> Decimal:
        """Total cost change."""
        return self.new.total_usd - (self.old.total_usd if self.old else Decimal(0))

    @property
    def other_stack(self) -> str | None:
        """The old plan's stack when it is another stack than the new plan's, not merely
        another environment of the same spec (`genomics-dev` and `genomics-prod`)."""
        if self.old is None or self.old.stack == self.new.stack:
            return None
        return None if {self.old.stack, self.new.stack} <= self.same_stack else self.old.stack


def _where(p: Placement) -> tuple[str, str, bool]:
    return (p.region_key, p.instance_type, p.spot)


def placement_changes(old: Plan | None, new: Plan) -> tuple[PlacementChange, ...]:
    """Jobs added, moved, changed (nodes, hours or price) or removed, by job name."""
    before = {p.job: p for p in old.placements} if old else {}
    after = {p.job: p for p in new.placements}
    out = []
    for job in sorted(before.keys() | after.keys()):
        a, b = before.get(job), after.get(job)
        if a is None:
            out.append(PlacementChange(job, "added", None, b))
        elif b is None:
            out.append(PlacementChange(job, "removed", a, None))
        elif _where(a) != _where(b):
            out.append(PlacementChange(job, "moved", a, b))
        elif a != b:
            out.append(PlacementChange(job, "changed", a, b))
    return tuple(out)


def transfer_changes(old: Plan | None, new: Plan) -> tuple[TransferChange, ...]:
    """Copies added, removed or repriced, by (data set, destination)."""
    before = {(t.dataset, t.dst): t for t in old.transfers} if old else {}
    after = {(t.dataset, t.dst): t for t in new.transfers}
    out = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        kind = "added" if a is None else "removed" if b is None else "changed" if a != b else ""
        if kind:
            out.append(TransferChange(key[0], key[1], kind, a, b))
    return tuple(out)


def _blocks(text: str) -> dict[str, str]:
    """Top-level resource and data blocks of a canonical (terraform fmt) file, by address."""
    out: dict[str, str] = {}
    for m in BLOCK.finditer(text):
        end = text.find("\n}\n", m.start())  # canonical layout: a block ends at a bare "}"
        body = text[m.start() : end + 2 if end >= 0 else len(text)]
        prefix = "data." if m.group(1) == "data" else ""
        out[f"{prefix}{m.group(2)}.{m.group(3)}"] = body
    return out


def module_changes(old: StackFiles | None, new: StackFiles) -> tuple[ModuleChanges, ...]:
    """Per cloud module, the blocks added, changed (their text, or a startup script they use,
    differs) and destroyed, from the generated files."""
    old = old or {}
    clouds = sorted({p.split("/", 1)[0] for p in (*old, *new) if p.endswith("/main.tf")})
    out = []
    for cloud in clouds:
        a = _blocks(old.get(f"{cloud}/main.tf", ""))
        b = _blocks(new.get(f"{cloud}/main.tf", ""))
        folder = f"{cloud}/scripts/"
        names = {p.removeprefix(folder) for p in (*old, *new) if p.startswith(folder)}
        scripts = {n for n in names if old.get(folder + n) != new.get(folder + n)}
        changed = [
            addr
            for addr in sorted(a.keys() & b.keys())
            if a[addr] != b[addr] or scripts & set(SCRIPT.findall(b[addr]))
        ]
        added, destroyed = sorted(b.keys() - a.keys()), sorted(a.keys() - b.keys())
        if added or changed or destroyed:
            out.append(ModuleChanges(cloud, tuple(added), tuple(changed), tuple(destroyed)))
    return tuple(out)


def quota_breaks(catalog: Catalog, plan: Plan) -> list[str]:
    """The quotas of quotas.csv the plan exceeds (vCPUs and GPUs per region, all jobs at once)."""
    if not catalog.quota_limits:
        return []
    offerings = {(o.region_key, o.instance_type): o for o in catalog.offerings}
    used: dict[tuple[str, str], int] = {}
    for p in plan.placements:
        o = offerings.get((p.region_key, p.instance_type))
        if o is None:
            continue
        used[(p.region_key, "vcpus")] = used.get((p.region_key, "vcpus"), 0) + o.vcpus * p.nodes
        if o.accelerator:
            key = (p.region_key, f"gpus:{o.accelerator.upper()}")
            used[key] = used.get(key, 0) + o.accelerator_count * p.nodes
    return [
        f"quota {what} in {region}: {used[(region, what)]} needed, {limit} allowed"
        for (region, what), limit in sorted(catalog.quota_limits.items())
        if used.get((region, what), 0) > limit
    ]


def rule_checks(spec: SkySpec, catalog: Catalog, plan: Plan) -> tuple[RuleCheck, ...]:
    """Whether the plan keeps every rule of the spec: each job's regions (clouds, avoid,
    jurisdictions, its allow-list, its data's jurisdictions), each copy's, and the budget."""
    from skyplan.solver.candidates import region_rules

    regions = catalog.region_by_key
    broken: list[str] = []
    for p in plan.placements:
        job = spec.job(p.job)
        region = regions.get(p.region_key)
        failed = [n for n, rule in region_rules(spec, job) if region is None or not rule(region)]
        broken += [f"job {p.job} in {p.region_key} breaks {n}" for n in failed]
    for t in plan.transfers:
        d = spec.dataset(t.dataset)
        region = regions.get(t.dst)
        if region is None or not satisfies(region.tags, d.restriction):
            broken.append(f"copy of {t.dataset} to {t.dst} breaks its jurisdictions")
    broken += quota_breaks(catalog, plan)
    checks = [RuleCheck(False, text) for text in broken]
    if not broken:
        jobs, copies = len(plan.placements), len(plan.transfers)
        parts = [
            f"{jobs} job{'s' if jobs != 1 else ''} and {copies} cop{'ies' if copies != 1 else 'y'}"
        ]
        if spec.jurisdictions:
            parts.append(f"jurisdictions {', '.join(sorted(spec.jurisdictions))}")
        if spec.avoid:
            parts.append(f"avoid {', '.join(spec.avoid)}")
        restricted = sorted(d.name for d in spec.datasets if d.restriction)
        if restricted:
            parts.append(f"data jurisdictions of {', '.join(restricted)}")
        checks.append(RuleCheck(True, "every rule holds: " + "; ".join(parts)))
    if spec.budget_usd is not None:
        spare = spec.budget_usd - plan.total_usd
        word = "to spare" if spare >= 0 else "over"
        text = f"budget ${spec.budget_usd:,.2f}: ${abs(spare):,.2f} {word}"
        checks.append(RuleCheck(spare >= 0, text))
    return tuple(checks)


def diff_stacks(
    old: StackFiles | None,
    new: StackFiles,
    spec: SkySpec | None = None,
    catalog: Catalog | None = None,
    unchecked: str | None = None,
    same_stack: Collection[str] = (),
) -> StackDiff:
    """The whole review of a change; `old` is None for a stack that did not exist before;
    without a spec, `unchecked` says why the rules were not checked; `same_stack` names the
    stacks that are environments of one spec (comparing them is no mistake)."""
    old_plan = plan_from_json(old["plan.json"]) if old and "plan.json" in old else None
    new_plan = plan_from_json(new["plan.json"])
    checked = spec is not None and catalog is not None
    rules = rule_checks(spec, catalog, new_plan) if spec and catalog else ()
    unchecked = None if checked else unchecked or "rules not checked: no sky.yaml given"
    return StackDiff(
        old_plan,
        new_plan,
        placement_changes(old_plan, new_plan),
        transfer_changes(old_plan, new_plan),
        module_changes(old, new),
        rules,
        unchecked,
        frozenset(same_stack),
    )
