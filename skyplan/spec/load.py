"""Read sky.yaml into the raw spec, turning every schema error into a Problem with its line."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from pydantic_core import ErrorDetails

from skyplan.errors import Problem, SpecError, did_you_mean
from skyplan.spec.refs import reference_problems
from skyplan.spec.schema import (
    NAME_PATTERN,
    RawDataset,
    RawJob,
    RawPeering,
    RawSpec,
    model_at,
    model_fields_at,
)
from skyplan.spec.yamlpos import Located, PathKey, dotted, load_yaml

#: What each list that may not be empty names, for "jobs must name at least one job".
ITEM_NOUNS = {"jobs": "job", "clouds": "cloud", "jurisdictions": "jurisdiction"}


def _problem(err: ErrorDetails, located: Located) -> Problem:
    loc: PathKey = tuple(p for p in err["loc"] if p != "[key]")
    kind = err["type"]
    is_key = "[key]" in err["loc"]
    if kind == "extra_forbidden":
        parent, key = loc[:-1], str(loc[-1])
        allowed = model_fields_at(parent)
        hint = did_you_mean(key, allowed) or (
            f"allowed keys here: {', '.join(allowed)}" if allowed else None
        )
        return Problem(located.where(loc), f"unknown key {key!r}", hint)
    if kind == "missing":
        return Problem(
            located.where(loc[:-1], dotted(loc)),
            f"missing required field {str(loc[-1])!r}",
            None,
        )
    if kind == "too_short" and loc and loc[-1] in ITEM_NOUNS:
        field = str(loc[-1])
        hint = None if loc == ("jobs",) else "name at least one, or leave it out"
        return Problem(
            located.where(loc), f"{field} must name at least one {ITEM_NOUNS[field]}", hint
        )
    if kind == "literal_error" and loc == ("version",):
        return Problem(located.where(loc), "unsupported version", "this skyplan reads `version: 1`")
    if kind == "string_pattern_mismatch" and loc == ("name",):
        return Problem(
            located.where(loc),
            f"invalid stack name {err.get('input')!r}",
            f"use lower-case letters, digits and '-', starting with a letter ({NAME_PATTERN})",
        )
    if kind == "string_pattern_mismatch" and is_key:
        return Problem(
            located.where(loc),
            f"invalid name {err.get('input')!r}",
            "names start with a letter and use letters, digits, '_', '.' and '-'",
        )
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return Problem(located.where(loc), msg[0].lower() + msg[1:] if msg else msg)


#: Values that stand in for a required field that is missing or broken, so that the rest of its
#: mapping can still be checked against the catalog; none of them is checked or reported.
PLACEHOLDERS: dict[type[BaseModel], dict[str, object]] = {
    RawSpec: {"version": 1, "name": "salvaged", "jobs": {"salvaged": {"run": "-", "hours": 1}}},
    RawJob: {"run": "-", "hours": 1},
    RawDataset: {"size": 1},
    RawPeering: {"usd_per_gb": 0},
}
MAX_SALVAGE_ROUNDS = 50


@dataclass(frozen=True)
class ParsedSpec:
    """A sky.yaml read against the schema: `raw` is the whole spec when `problems` is empty;
    otherwise the parts that passed (None when too little did), for the checks against the
    catalog, and `dropped` the paths left out of it or replaced by placeholders."""

    raw: RawSpec | None
    located: Located
    problems: tuple[Problem, ...] = ()
    dropped: frozenset[PathKey] = frozenset()


def _container(data: object, path: PathKey) -> object:
    for key in path:
        in_list = isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data)
        if not (in_list or (isinstance(data, dict) and key in data)):
            return None
        data = data[key]  # type: ignore[index]
    return data


def _drop(data: dict[str, object], target: PathKey, missing: bool) -> PathKey | None:
    """Leave out the broken part at `target`, or the smallest part around it that may go
    (a list as a whole, so that the other items keep their positions); the path dropped."""
    while target:
        parent, key = target[:-1], target[-1]
        container = _container(data, parent)
        if isinstance(container, list) and isinstance(key, int):
            target, missing = parent, False
            continue
        if not isinstance(container, dict) or (key not in container and not missing):
            return None  # already left out (for another error at the same place, or around it)
        model = model_at(parent)
        if model is not None and key in model.model_fields:
            if key in PLACEHOLDERS.get(model, {}):
                container[key] = copy.deepcopy(PLACEHOLDERS[model][key])
                return target
            if not missing and not model.model_fields[key].is_required():
                del container[key]
                return target
            target, missing = parent, False
            continue
        if key in container:  # an unknown key, or an entry of a mapping of names
            del container[key]
            return target
        return None
    return None


def _salvage(
    data: dict[str, object], errors: list[ErrorDetails]
) -> tuple[RawSpec, frozenset[PathKey]] | None:
    """The spec without the parts pydantic rejected, re-validated until it passes."""
    data = copy.deepcopy(data)
    dropped: set[PathKey] = set()
    for _ in range(MAX_SALVAGE_ROUNDS):
        changed = False
        for err in errors:
            loc: PathKey = tuple(p for p in err["loc"] if p != "[key]")
            gone = _drop(data, loc, err["type"] == "missing")
            if gone is not None:
                dropped.add(gone)
                changed = True
        if not changed:
            return None
        try:
            raw = RawSpec.model_validate(data)
        except PydanticError as e:
            errors = e.errors()
            continue
        return raw, frozenset(dropped)
    return None


def read_spec(located: Located) -> ParsedSpec:
    """Validate YAML data against the raw schema. On failure, every schema problem and every
    reference problem (in file order) comes with the parts of the spec that did validate, so
    that the checks against the catalog can run on them too and one run shows every problem."""
    if not isinstance(located.data, dict):
        problem = Problem(located.where(()), "a sky spec is a mapping with version, name and jobs")
        return ParsedSpec(None, located, (problem,))
    try:
        return ParsedSpec(RawSpec.model_validate(located.data), located)
    except PydanticError as e:
        errors = e.errors()
    problems = [_problem(err, located) for err in errors]
    # references in the well-formed parts too, so that one run shows every problem (rule 6)
    problems += reference_problems(located)
    raw, dropped = _salvage(located.data, errors) or (None, frozenset())
    return ParsedSpec(raw, located, tuple(sort_problems(problems)), dropped)


def sort_problems(problems: list[Problem]) -> list[Problem]:
    """Problems in file order: by line, then column (stable for problems at one place)."""
    return sorted(
        problems,
        key=lambda p: (p.where.line or 0, p.where.column or 0) if p.where else (0, 0),
    )


def parse_spec(located: Located) -> RawSpec:
    """Validate YAML data against the raw schema; SpecError lists every problem in file order."""
    parsed = read_spec(located)
    if parsed.problems or parsed.raw is None:
        raise SpecError(list(parsed.problems))
    return parsed.raw


def load_raw_spec(path: Path) -> tuple[RawSpec, Located]:
    """Load sky.yaml from disk into the raw spec plus its positions."""
    located = load_yaml(path)
    return parse_spec(located), located


def load_parsed_spec(path: Path) -> ParsedSpec:
    """Load sky.yaml from disk: the raw spec, or its problems and the parts that validated."""
    return read_spec(load_yaml(path))


__all__ = [
    "ParsedSpec",
    "did_you_mean",
    "load_parsed_spec",
    "load_raw_spec",
    "parse_spec",
    "read_spec",
    "sort_problems",
]
