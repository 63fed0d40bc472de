"""Read sky.yaml into the raw spec, turning every schema error into a Problem with its line."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError as PydanticError
from pydantic_core import ErrorDetails

from skyplan.errors import Problem, SpecError, did_you_mean
from skyplan.spec.refs import reference_problems
from skyplan.spec.schema import NAME_PATTERN, RawSpec, model_fields_at
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


def parse_spec(located: Located) -> RawSpec:
    """Validate YAML data against the raw schema; SpecError lists every problem in file order."""
    if not isinstance(located.data, dict):
        raise SpecError(
            [Problem(located.where(()), "a sky spec is a mapping with version, name and jobs")]
        )
    try:
        return RawSpec.model_validate(located.data)
    except PydanticError as e:
        problems = [_problem(err, located) for err in e.errors()]
    # references in the well-formed parts too, so that one run shows every problem (rule 6)
    problems += reference_problems(located)
    problems.sort(key=lambda p: (p.where.line or 0, p.where.column or 0) if p.where else (0, 0))
    raise SpecError(problems)


def load_raw_spec(path: Path) -> tuple[RawSpec, Located]:
    """Load sky.yaml from disk into the raw spec plus its positions."""
    located = load_yaml(path)
    return parse_spec(located), located


__all__ = ["did_you_mean", "load_raw_spec", "parse_spec"]
