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
from skyplan.solver.heuristic import cheapest
from skyplan.spec.model import Dataset, SkySpec
from skyplan.units import micro_usd


def neg(literal: int) -> int:
    """The negation of a literal in CpModelProto's encoding."""
    return -literal - 1


class ProtoBuilder:
    """A thin writer of CpModelProto rows: boolean variables, clauses, linear rows, objective."""

    def __init__(self) -> None:
        from ortools.sat.python import cp_model_helper as cmh

        self.proto: Any = cmh.CpModelProto()
        self.obj_vars: list[int] = []
        self.obj_coeffs: list[int] = []
        # how derived variables follow from the placements, to complete a solution hint
        self.any_of: list[tuple[int, list[int]]] = []
        self.copy_from: list[tuple[int, int, list[int]]] = []
        self.sums: list[tuple[int, list[int]]] = []

    @property
    def num_vars(self) -> int:
        """How many variables the model has."""
        return len(self.proto.variables)

    def new_bool(self) -> int:
        """A fresh 0/1 variable."""
        v = self.proto.variables.add()
        v.domain.extend([0, 1])
        return self.num_vars - 1

    def exactly_one(self, literals: list[int]) -> None:
        """Exactly one of `literals` is true."""
        self.proto.constraints.add().exactly_one.literals.extend(literals)

    def implies(self, a: int, b: int) -> None:
        """a => b."""
        self.proto.constraints.add().bool_or.literals.extend([neg(a), b])

    def linear(
        self, variables: list[int], coeffs: list[int], lo: int, hi: int, enforce: int | None = None
    ) -> None:
        """lo <= sum(coeffs * variables) <= hi, optionally only when `enforce` is true."""
        ct = self.proto.constraints.add()
        if enforce is not None:
            ct.enforcement_literal.append(enforce)
        ct.linear.vars.extend(variables)
        ct.linear.coeffs.extend(coeffs)
        ct.linear.domain.extend([lo, hi])

    def cost(self, var: int, micro: int) -> None:
        """Add micro * var to the objective."""
        if micro:
            self.obj_vars.append(var)
            self.obj_coeffs.append(micro)

    def finish(self) -> Any:
        """The proto with its objective set; costs too large for exact 64-bit sums are refused."""
        if sum(self.obj_coeffs) >= 1 << 62:
            from skyplan.errors import InputError

            raise InputError(
                "the plan's possible costs exceed what the solver can sum exactly (4.6e12 USD)",
                hint="check hours, nodes and data sizes for a typo",
            )
        self.proto.objective.vars.extend(self.obj_vars)
        self.proto.objective.coeffs.extend(self.obj_coeffs)
        return self.proto


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
    sums: tuple[tuple[int, list[int]], ...] = ()
    any_of: tuple[tuple[int, list[int]], ...] = ()
    copy_from: tuple[tuple[int, int, list[int]], ...] = ()


def _reader_literals(
    cands: Candidates, opt_vars: list[list[int]], d: Dataset
) -> dict[str, list[int]]:
    """Region -> literals of reader options placed there."""
    index = {jo.job.name: i for i, jo in enumerate(cands.jobs)}
    out: dict[str, list[int]] = defaultdict(list)
    for reader in d.readers:
        i = index[reader]
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
    b.any_of.append((c, literals))
    return c


def _add_transfers(
    b: ProtoBuilder, spec: SkySpec, catalog: Catalog, cands: Candidates, opt_vars: list[list[int]]
) -> None:
    prices = CopyPrices(spec, catalog)
    index = {jo.job.name: i for i, jo in enumerate(cands.jobs)}
    for d in spec.datasets:
        if not d.readers:
            continue
        readers_at = _reader_literals(cands, opt_vars, d)
        if d.location is not None:
            for r in sorted(readers_at):
                micro = prices.copy(d.name, d.size_gb, d.location, r)
                if micro:
                    b.cost(_copy_literal(b, readers_at[r]), micro)
            continue
        p = index[d.producer or ""]
        producer_at: dict[str, list[int]] = defaultdict(list)
        for opt, var in zip(cands.jobs[p].options, opt_vars[p], strict=True):
            producer_at[opt.region].append(var)
        sums = _ProducerSums(b, catalog, producer_at)
        for r in sorted(readers_at):
            _copy_from_producer(b, prices, d, r, sums, readers_at[r])


class _ProducerSums:
    """Sums of one producer's option literals over groups of regions, as short rows.

    A price class of source regions is written with at most a few terms: whole (cloud,
    continent) groups and whole clouds by one aggregate variable each (y = the sum of the
    producer's literals there), the rest region by region; a group that the class holds all
    but a few regions of is written as y_group minus those regions. Same LP as the long rows,
    a fraction of the non-zeros."""

    def __init__(self, b: ProtoBuilder, catalog: Catalog, producer_at: dict[str, list[int]]):
        self.b, self.at = b, producer_at
        regions = catalog.region_by_key
        self.group_of = {s: (regions[s].cloud, regions[s].continent) for s in producer_at}
        self.groups: dict[tuple[str, str], list[str]] = defaultdict(list)
        for s in sorted(producer_at):
            self.groups[self.group_of[s]].append(s)
        self.clouds: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for g in sorted(self.groups):
            self.clouds[g[0]].append(g)
        self.cache: dict[object, int] = {}

    def _sum_var(self, key: object, lits: list[int]) -> int:
        if len(lits) == 1:
            return lits[0]
        if key not in self.cache:
            y = self.b.new_bool()
            self.b.linear([y, *lits], [1] + [-1] * len(lits), 0, 0)
            self.b.sums.append((y, lits))
            self.cache[key] = y
        return self.cache[key]

    def terms(self, members: set[str]) -> tuple[list[int], list[int]]:
        """(variables, coefficients) whose sum is the producer's literals in `members`."""
        variables: list[int] = []
        coeffs: list[int] = []
        for cloud, groups in self.clouds.items():
            if len(groups) > 1 and all(set(self.groups[g]) <= members for g in groups):
                lits = [x for g in groups for s in self.groups[g] for x in self.at[s]]
                variables.append(self._sum_var(cloud, lits))
                coeffs.append(1)
                continue
            for g in groups:
                inside = [s for s in self.groups[g] if s in members]
                outside = [s for s in self.groups[g] if s not in members]
                if len(inside) > len(outside) + 1:
                    lits = [x for s in self.groups[g] for x in self.at[s]]
                    variables.append(self._sum_var(g, lits))
                    coeffs.append(1)
                    for s in outside:
                        variables.extend(self.at[s])
                        coeffs.extend([-1] * len(self.at[s]))
                else:
                    for s in inside:
                        variables.extend(self.at[s])
                        coeffs.extend([1] * len(self.at[s]))
        return variables, coeffs


def _copy_from_producer(
    b: ProtoBuilder,
    prices: CopyPrices,
    d: Dataset,
    r: str,
    sums: _ProducerSums,
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
        b.copy_from.append((w, copy, [x for s in sorted(members) for x in sums.at[s]]))
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
) -> BuiltModel:
    """Variables: one per job option; one per (data set, reader region) copy; one per
    (produced data set, reader region, egress price class of the producer's region)."""
    b = ProtoBuilder()
    opt_vars: list[list[int]] = []
    for jo in cands.jobs:
        vars_ = [b.new_bool() for _ in jo.options]
        b.exactly_one(vars_)
        for var, opt in zip(vars_, jo.options, strict=True):
            b.cost(var, opt.micro)
        opt_vars.append(vars_)
    _add_transfers(b, spec, catalog, cands, opt_vars)
    limits = catalog.quota_limits if quota_limits is None else quota_limits
    quota_rows = _add_quotas(b, limits, cands, opt_vars)
    if budget_micro is not None:
        b.linear(list(b.obj_vars), list(b.obj_coeffs), 0, budget_micro)
    proto = b.finish()
    built = BuiltModel(
        proto,
        tuple(tuple(v) for v in opt_vars),
        tuple(quota_rows),
        b.num_vars,
        tuple(b.sums),
        tuple(b.any_of),
        tuple(b.copy_from),
    )
    set_hint(built, cands, start)
    return built


def set_hint(built: BuiltModel, cands: Candidates, start: list[int] | None) -> None:
    """A complete starting solution: `start` (or each job's cheapest option), copies implied.

    (With quotas it may be infeasible; CP-SAT then just repairs or ignores it.)
    """
    values = [0] * built.num_vars
    for i, (jo, vars_) in enumerate(zip(cands.jobs, built.option_vars, strict=True)):
        if vars_:
            best = start[i] if start is not None else cheapest(jo.options)
            values[vars_[best]] = 1
    for y, lits in built.sums:
        values[y] = int(any(values[x] for x in lits))
    for c, sources in built.any_of:
        values[c] = int(any(values[s] for s in sources))
    for w, copy, lits in built.copy_from:
        values[w] = int(bool(values[copy]) and any(values[s] for s in lits))
    built.proto.clear_solution_hint()
    built.proto.solution_hint.vars.extend(range(built.num_vars))
    built.proto.solution_hint.values.extend(values)
