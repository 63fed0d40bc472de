"""The plan: frozen placements and transfers, and plan.json read and write (schema version 1)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from skyplan.errors import InputError, Where
from skyplan.units import round_usd

PLAN_VERSION = 1


@dataclass(frozen=True)
class Placement:
    """Where a job runs and what it costs."""

    job: str
    cloud: str
    region: str
    instance_type: str
    spot: bool
    nodes: int
    hours: Decimal
    usd_per_hour: Decimal
    usd: Decimal

    @property
    def region_key(self) -> str:
        """`cloud:region`."""
        return f"{self.cloud}:{self.region}"


@dataclass(frozen=True)
class Transfer:
    """One copy of a data set from its home region to a region where it is read."""

    dataset: str
    src: str
    dst: str
    gb: Decimal
    usd_per_gb: Decimal
    usd: Decimal


@dataclass(frozen=True)
class SolverInfo:
    """How the plan was made: OPTIMAL, FEASIBLE with the relative gap to the bound, or PINNED to
    the placements reviewed in another environment (`origin`)."""

    status: str
    gap: float | None = None
    origin: str | None = None


@dataclass(frozen=True)
class Plan:
    """A whole plan; money as exact Decimals, rounded only when written."""

    stack: str
    placements: tuple[Placement, ...]
    transfers: tuple[Transfer, ...]
    solver: SolverInfo

    @property
    def compute_usd(self) -> Decimal:
        """Sum of placement costs."""
        return sum((p.usd for p in self.placements), Decimal(0))

    @property
    def transfer_usd(self) -> Decimal:
        """Sum of transfer costs."""
        return sum((t.usd for t in self.transfers), Decimal(0))

    @property
    def total_usd(self) -> Decimal:
        """compute + transfer."""
        return self.compute_usd + self.transfer_usd

    def placement(self, job: str) -> Placement:
        """The placement of `job`."""
        return next(p for p in self.placements if p.job == job)

    def clouds(self) -> tuple[str, ...]:
        """Clouds the plan uses, sorted."""
        return tuple(sorted({p.cloud for p in self.placements}))


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    """plan.json as a dict, money rounded to 4 decimals (SPEC section 4)."""
    solver: dict[str, Any] = {"status": plan.solver.status}
    if plan.solver.gap is not None:
        solver["gap"] = round(plan.solver.gap, 6)
    if plan.solver.origin is not None:
        solver["from"] = plan.solver.origin
    return {
        "version": PLAN_VERSION,
        "stack": plan.stack,
        "total_usd": round_usd(plan.total_usd),
        "compute_usd": round_usd(plan.compute_usd),
        "transfer_usd": round_usd(plan.transfer_usd),
        "placements": [
            {
                "job": p.job,
                "cloud": p.cloud,
                "region": p.region,
                "instance_type": p.instance_type,
                "spot": p.spot,
                "nodes": p.nodes,
                "hours": float(p.hours),
                "usd_per_hour": round_usd(p.usd_per_hour),
                "usd": round_usd(p.usd),
            }
            for p in sorted(plan.placements, key=lambda p: p.job)
        ],
        "transfers": [
            {
                "dataset": t.dataset,
                "from": t.src,
                "to": t.dst,
                "gb": float(t.gb),
                "usd_per_gb": round_usd(t.usd_per_gb),
                "usd": round_usd(t.usd),
            }
            for t in sorted(plan.transfers, key=lambda t: (t.dataset, t.dst))
        ],
        "solver": solver,
    }


def plan_to_json(plan: Plan) -> str:
    """plan.json text: sorted keys, two-space indent, trailing newline."""
    return json.dumps(plan_to_dict(plan), indent=2, sort_keys=True) + "\n"


def _dec(value: Any) -> Decimal:
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value))


def plan_from_dict(data: dict[str, Any], source: str = "plan.json") -> Plan:
    """A Plan read back from plan.json (as written by `plan_to_json`)."""
    try:
        if data.get("version") != PLAN_VERSION:
            raise InputError(
                f"unsupported plan version {data.get('version')!r}",
                where=Where(source, field="version"),
                hint=f"this skyplan reads plan.json version {PLAN_VERSION}; re-run skyplan plan",
            )
        placements = tuple(
            Placement(
                p["job"],
                p["cloud"],
                p["region"],
                p["instance_type"],
                bool(p["spot"]),
                int(p["nodes"]),
                _dec(p["hours"]),
                _dec(p["usd_per_hour"]),
                _dec(p["usd"]),
            )
            for p in data["placements"]
        )
        transfers = tuple(
            Transfer(
                t["dataset"],
                t["from"],
                t["to"],
                _dec(t["gb"]),
                _dec(t["usd_per_gb"]),
                _dec(t["usd"]),
            )
            for t in data["transfers"]
        )
        s = data["solver"]
        solver = SolverInfo(s["status"], s.get("gap"), s.get("from"))
        return Plan(data["stack"], placements, transfers, solver)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise InputError(f"not a skyplan plan.json: {e}", where=Where(source)) from None


def plan_from_json(text: str, source: str = "plan.json") -> Plan:
    """A Plan from plan.json text."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"invalid JSON: {e.msg}", where=Where(source, e.lineno, e.colno)) from None
    if not isinstance(data, dict):
        raise InputError("not a skyplan plan.json", where=Where(source))
    return plan_from_dict(data, source)


def read_plan(path: Path) -> Plan:
    """Load plan.json from disk."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("file not found", where=Where(str(path))) from None
    except json.JSONDecodeError as e:
        raise InputError(
            f"invalid JSON: {e.msg}", where=Where(str(path), e.lineno, e.colno)
        ) from None
    return plan_from_dict(data, str(path))
