"""Cells of the catalog commands' display rows: numbers shown as text, written as JSON numbers."""

from __future__ import annotations

from decimal import Decimal


class Num(str):
    """A number's display text (`0.0100`, `+5.0%`, `72`) that `--format json` writes as the
    number itself (`value`; None, written as null, for an empty cell)."""

    value: int | float | None

    def __new__(cls, text: str, value: Decimal | int | None) -> Num:
        """The cell `text`, standing for `value`."""
        cell = super().__new__(cls, text)
        cell.value = _json_number(value)
        return cell


def _json_number(value: Decimal | int | None) -> int | float | None:
    if value is None or isinstance(value, int):
        return value
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def json_value(cell: object) -> object:
    """What a cell is in JSON: a Num's number, anything else as it is."""
    return cell.value if isinstance(cell, Num) else cell
