"""The CpModelProto writer shared by the model's parts: boolean variables, rows, objective, and
how derived variables follow from the placements (to complete a solution hint)."""

from __future__ import annotations

import gc
import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from skyplan.catalog.models import Catalog

# rows write +-2^40 for "unbounded"; a side at or beyond 2^39 counts as none in the LP (sums of
# at most a few thousand 0/1 terms never get near it)
UNBOUNDED = 1 << 39


def neg(literal: int) -> int:
    """The negation of a literal in CpModelProto's encoding."""
    return -literal - 1


Derived = tuple[int, list[int], list[int] | None]
# one row of the LP relaxation: lo <= sum(coeffs * variables) <= hi (coeffs None: all ones)
LpRow = tuple[list[int], list[int] | None, float, float]
# a split: the literals of one reader at one region, and the variables exactly one of which is
# true when one of the literals is (which class of its producer's regions the data comes from)
Split = tuple[list[int], list[int]]


class ProtoBuilder:
    """A thin writer of CpModelProto rows: boolean variables, clauses, linear rows, objective.
    `rows_only` records the LP rows without writing them to the proto, which then holds the
    objective alone: for a model only its LP relaxation is taken of (guide.py), a third faster
    to build (1,000-job benchmark's coupled model: 2.0 -> 1.3 s)."""

    def __init__(self, rows_only: bool = False) -> None:
        from ortools.sat.python import cp_model_helper as cmh

        self.rows_only = rows_only
        self.proto: Any = cmh.CpModelProto()
        self.count = 0  # variables so far
        self.obj_vars: list[int] = []
        self.obj_coeffs: list[int] = []
        # how derived variables follow from the placements, in the order they were made, to
        # complete a solution hint: v = any(a) when b is None, else v = any(a) and any(b)
        self.derived: list[Derived] = []
        # the same rows again, for the LP relaxation (guide.py), and the splits of coupled.py
        self.lp_rows: list[LpRow] = []
        self.splits: list[Split] = []

    @property
    def num_vars(self) -> int:
        """How many variables the model has."""
        return self.count

    def new_bool(self) -> int:
        """A fresh 0/1 variable."""
        if not self.rows_only:
            self.proto.variables.add().domain.extend([0, 1])
        self.count += 1
        return self.count - 1

    def exactly_one(self, literals: list[int]) -> None:
        """Exactly one of `literals` is true."""
        if not self.rows_only:
            self.proto.constraints.add().exactly_one.literals.extend(literals)
        self.lp_rows.append((list(literals), None, 1.0, 1.0))

    def implies(self, a: int, b: int) -> None:
        """a => b (two variables, not negated literals)."""
        assert a >= 0 and b >= 0, "implies() takes variables, not negated literals"
        if not self.rows_only:
            self.proto.constraints.add().bool_or.literals.extend([neg(a), b])
        self.lp_rows.append(([a, b], [-1, 1], 0.0, math.inf))

    def linear(
        self, variables: list[int], coeffs: list[int], lo: int, hi: int, enforce: int | None = None
    ) -> None:
        """lo <= sum(coeffs * variables) <= hi, optionally only when `enforce` is true."""
        if not self.rows_only:
            ct = self.proto.constraints.add()
            if enforce is not None:
                ct.enforcement_literal.append(enforce)
            ct.linear.vars.extend(variables)
            ct.linear.coeffs.extend(coeffs)
            ct.linear.domain.extend([lo, hi])
        # a quota row is enforced by an assumption that holds in every plan: a plain row here
        low = -math.inf if lo <= -UNBOUNDED else float(lo)
        high = math.inf if hi >= UNBOUNDED else float(hi)
        self.lp_rows.append((list(variables), list(coeffs), low, high))  # copies, as the proto

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


class ProducerSums:
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
            self.b.derived.append((y, lits, None))
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


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector paused: a large model is a million small lists, none
    in a cycle, and the collector's passes over them took 1.1 of the 3.2 s the 1,000-job
    benchmark's coupled model takes to build."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
