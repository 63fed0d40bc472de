"""The CP-SAT model (built as a CpModelProto, no I/O): placements, copies and their egress.

Money is an integer number of micro-dollars (1e-6 USD); every cost term is rounded to the nearest
micro-dollar before it enters the objective.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from skyplan.catalog.models import Catalog
from skyplan.solver.candidates import Candidates
from skyplan.solver.costs import CopyPrices
from skyplan.solver.coupled import add_produced_copies
from skyplan.solver.heuristic import cheapest
from skyplan.solver.model_base import (
    Derived,
    LpRow,
    ProducerSums,
    ProtoBuilder,
    Split,
    paused_gc,
)
from skyplan.spec.model import Dataset, SkySpec
from skyplan.units import micro_usd


@dataclass(frozen=True)
class QuotaRow:
    """A quota constraint of the model, with the literal that enforces it."""

    region: str
    resource: str
    limit: int
    literal: int


@dataclass(frozen=True)
class BuiltModel:
    """The proto plus how to read a solution back: one variable per option of each job."""

    proto: Any
    option_vars: tuple[tuple[int, ...], ...]
    quota_rows: tuple[QuotaRow, ...]
    num_vars: int
    # how the derived variables follow from the placements (see ProtoBuilder)
    derived: tuple[Derived, ...] = ()
    # the rows again for the LP relaxation, and the splits of the coupled rows (guide.py)
    lp_rows: tuple[LpRow, ...] = ()
    splits: tuple[Split, ...] = ()


def _regions_of(cands: Candidates, opt_vars: list[list[int]], i: int) -> dict[str, list[int]]:
    """Region -> literals of job i's options there."""
    out: dict[str, list[int]] = defaultdict(list)
    for opt, var in zip(cands.jobs[i].options, opt_vars[i], strict=True):
        out[opt.region].append(var)
    return out


def _copy_literal(b: ProtoBuilder, literals: list[int]) -> int:
    """A literal true when some reader runs in a region (a copy must be made there)."""
    if len(literals) == 1:
        return literals[0]
    c = b.new_bool()
    for lit in literals:
        b.implies(lit, c)
    b.derived.append((c, literals, None))
    return c


def _add_transfers(
    b: ProtoBuilder,
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    opt_vars: list[list[int]],
    coupled: bool,
) -> None:
    prices = CopyPrices(spec, catalog)
    index = {jo.job.name: i for i, jo in enumerate(cands.jobs)}
    for d in spec.datasets:
        if not d.readers:
            continue
        readers = {name: _regions_of(cands, opt_vars, index[name]) for name in d.readers}
        readers_at: dict[str, list[int]] = defaultdict(list)
        for at in readers.values():
            for r, lits in at.items():
                readers_at[r].extend(lits)
        if d.location is not None:
            for r in sorted(readers_at):
                micro = prices.copy(d.name, d.size_gb, d.location, r)
                if micro:
                    b.cost(_copy_literal(b, readers_at[r]), micro)
            continue
        producer_at = _regions_of(cands, opt_vars, index[d.producer or ""])
        sums = ProducerSums(b, catalog, producer_at)
        if coupled:
            add_produced_copies(b, catalog, prices, d, sums, [readers[n] for n in sorted(readers)])
            continue
        for r in sorted(readers_at):
            _copy_from_producer(b, prices, d, r, sums, readers_at[r])


def _copy_from_producer(
    b: ProtoBuilder,
    prices: CopyPrices,
    d: Dataset,
    r: str,
    sums: ProducerSums,
    readers: list[int],
) -> None:
    """Price the copy of a produced data set to reader region r, whatever region the producer is in.

    Producer regions are grouped by their egress price to r (a handful of classes: r itself, same
    cloud and continent, same cloud other continent, each other cloud). w_k says the copy comes
    from class k: w_k <= [producer in k] and sum_k w_k >= [a reader is in r]. Unlike the textbook
    product linearisation this keeps the LP relaxation tight, which is what lets CP-SAT prove
    optimality on large plans.
    """
    by_rate: dict[Decimal, set[str]] = defaultdict(set)
    for s in sums.at:
        by_rate[prices.rate(s, r)].add(s)
    by_micro: dict[int, set[str]] = defaultdict(set)
    for rate, members in by_rate.items():
        by_micro[micro_usd(d.size_gb * rate)] |= members
    if set(by_micro) == {0}:
        return
    copy = _copy_literal(b, readers)
    ws: list[int] = []
    for micro in sorted(by_micro):
        members = by_micro[micro]
        w = b.new_bool()
        variables, coeffs = sums.terms(members)
        b.linear([w, *variables], [1] + [-c for c in coeffs], -(1 << 40), 0)
        b.cost(w, micro)
        b.derived.append((w, [copy], [x for s in sorted(members) for x in sums.at[s]]))
        ws.append(w)
    b.linear([*ws, copy], [1] * len(ws) + [-1], 0, 1 << 40)


def _add_quotas(
    b: ProtoBuilder,
    quota_limits: dict[tuple[str, str], int],
    cands: Candidates,
    opt_vars: list[list[int]],
) -> list[QuotaRow]:
    rows: list[QuotaRow] = []
    for (region, resource), limit in sorted(quota_limits.items()):
        variables: list[int] = []
        coeffs: list[int] = []
        for jo, vars_ in zip(cands.jobs, opt_vars, strict=True):
            for opt, var in zip(jo.options, vars_, strict=True):
                o = opt.offering
                if opt.region != region:
                    continue
                if resource == "vcpus":
                    use = o.vcpus
                else:
                    use = o.accelerator_count if resource == f"gpus:{o.accelerator.upper()}" else 0
                if use:
                    variables.append(var)
                    coeffs.append(use * jo.job.nodes)
        if variables:
            lit = b.new_bool()
            b.linear(variables, coeffs, 0, limit, enforce=lit)
            b.proto.assumptions.append(lit)
            rows.append(QuotaRow(region, resource, limit, lit))
    return rows


def build_model(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    budget_micro: int | None = None,
    start: list[int] | None = None,
    quota_limits: dict[tuple[str, str], int] | None = None,
    coupled: bool = False,
    rows_only: bool = False,
) -> BuiltModel:
    """Variables: one per job option; one per (data set, reader region) copy; for produced
    data sets, with `coupled` the pairwise rows of coupled.py, else one per (data set, reader
    region, egress price class of the producer's region). `rows_only`: the LP rows alone
    (ProtoBuilder), for a model only the relaxation of is taken."""
    with paused_gc():
        built = _build(spec, catalog, cands, budget_micro, quota_limits, coupled, rows_only)
        if not rows_only:
            set_hint(built, cands, start)
        return built


def _build(
    spec: SkySpec,
    catalog: Catalog,
    cands: Candidates,
    budget_micro: int | None,
    quota_limits: dict[tuple[str, str], int] | None,
    coupled: bool,
    rows_only: bool,
) -> BuiltModel:
    b = ProtoBuilder(rows_only)
    opt_vars: list[list[int]] = []
    for jo in cands.jobs:
        vars_ = [b.new_bool() for _ in jo.options]
        b.exactly_one(vars_)
        for var, opt in zip(vars_, jo.options, strict=True):
            b.cost(var, opt.micro)
        opt_vars.append(vars_)
    _add_transfers(b, spec, catalog, cands, opt_vars, coupled)
    limits = catalog.quota_limits if quota_limits is None else quota_limits
    quota_rows = _add_quotas(b, limits, cands, opt_vars)
    if budget_micro is not None:
        b.linear(list(b.obj_vars), list(b.obj_coeffs), 0, budget_micro)
    proto = b.finish()
    return BuiltModel(
        proto,
        tuple(tuple(v) for v in opt_vars),
        tuple(quota_rows),
        b.num_vars,
        tuple(b.derived),
        tuple(b.lp_rows),
        tuple(b.splits),
    )


def completion(built: BuiltModel, cands: Candidates, choice: list[int] | None) -> list[int]:
    """Every variable's value for the plan that picks `choice` (or each job's cheapest option),
    the copies it needs implied."""
    values = [0] * built.num_vars
    for i, (jo, vars_) in enumerate(zip(cands.jobs, built.option_vars, strict=True)):
        if vars_:
            best = choice[i] if choice is not None else cheapest(jo.options)
            values[vars_[best]] = 1
    for var, a, b in built.derived:
        values[var] = int(any(values[x] for x in a) and (b is None or any(values[x] for x in b)))
    return values


def set_hint(built: BuiltModel, cands: Candidates, start: list[int] | None) -> None:
    """A complete starting solution: `start` (or each job's cheapest option), copies implied.

    (With quotas it may be infeasible; CP-SAT then just repairs or ignores it.)
    """
    values = completion(built, cands, start)
    built.proto.clear_solution_hint()
    built.proto.solution_hint.vars.extend(range(built.num_vars))
    built.proto.solution_hint.values.extend(values)
