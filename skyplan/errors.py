"""One error root: every user-facing failure is a SkyplanError with a place, hint and exit code."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


def did_you_mean(word: str, options: Iterable[object], n: int = 1) -> str | None:
    """'did you mean X?' for the closest of `options` (up to `n` of them, closest first:
    'did you mean X, Y or Z?'), or None when nothing is close.

    Case is ignored when matching (`eu` -> 'EU', `a101` -> 'A100') and the option is named in
    its own spelling; among options that differ only in case, the first in sorted order wins."""
    by_folded: dict[str, str] = {}
    for option in sorted({str(o) for o in options}):
        by_folded.setdefault(option.casefold(), option)
    folded = str(word).casefold()
    if folded in by_folded and by_folded[folded] != str(word):
        return f"did you mean {by_folded[folded]!r}?"
    close = [by_folded[c] for c in difflib.get_close_matches(folded, list(by_folded), n, 0.6)]
    if not close:
        return None
    named = ", ".join(map(repr, close[:-1])) + (" or " if len(close) > 1 else "") + repr(close[-1])
    return f"did you mean {named}?"


@dataclass(frozen=True)
class Where:
    """A place in a user's file: path, 1-based line and column, and the dotted field name."""

    file: str
    line: int | None = None
    column: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        place = self.file
        if self.line is not None:
            place += f":{self.line}"
            if self.column is not None:
                place += f":{self.column}"
        if self.field:
            place += f": {self.field}"
        return place


@dataclass(frozen=True)
class Problem:
    """One finding of validation: where, what is wrong, and how to fix it."""

    where: Where | None
    message: str
    hint: str | None = None

    def render(self) -> str:
        """The problem as the lines a user reads."""
        head = f"{self.where}: {self.message}" if self.where else self.message
        return head + (f"\n  To fix: {self.hint}" if self.hint else "")


class SkyplanError(Exception):
    """Root of every error a user may see; the CLI prints it and exits with `exit_code`."""

    exit_code = 1

    def __init__(self, message: str, *, where: Where | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The findings this error carries (one, unless a validator collected several)."""
        return (Problem(self.where, self.message, self.hint),)

    def render(self) -> str:
        """All findings, one block each, as printed by the CLI."""
        return "\n".join(p.render() for p in self.problems)


class InputError(SkyplanError):
    """Invalid input: spec, catalog or arguments (exit 2)."""

    exit_code = 2


class ValidationError(InputError):
    """Several problems found at once in one input file."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        probs = tuple(problems)
        first = probs[0]
        super().__init__(first.message, where=first.where, hint=first.hint)
        self._problems = probs

    @property
    def problems(self) -> tuple[Problem, ...]:
        """Every problem found, in file order."""
        return self._problems

    def render(self) -> str:
        """A count, then each problem."""
        n = len(self._problems)
        head = f"{n} problem{'s' if n != 1 else ''} found:\n" if n > 1 else ""
        return head + "\n".join(p.render() for p in self._problems)


class SpecError(ValidationError):
    """The sky spec is invalid."""


class CatalogError(ValidationError):
    """The catalog is invalid."""


class InfeasibleError(SkyplanError):
    """No plan satisfies every rule (exit 3)."""

    exit_code = 3


class ApplyError(SkyplanError):
    """Apply failed after its retries (exit 4)."""

    exit_code = 4


class StaleError(SkyplanError):
    """`--check` found generated files out of date (exit 5)."""

    exit_code = 5
