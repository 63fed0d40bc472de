"""Units: data sizes, memory, accelerators and money, parsed exactly (Decimal, never float)."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

_SIZE_RE = re.compile(r"^\s*([-+]?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([A-Za-z]*)\s*$")

DECIMAL_UNITS = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12, "PB": 10**15}
BINARY_UNITS = {"KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40, "PIB": 2**50}
UNIT_NAMES = "B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB"

#: Money in the solver is an integer count of micro-dollars (1 unit = 1e-6 USD).
MICRO_USD = Decimal(1_000_000)
GIB = Decimal(2**30)
GB = Decimal(10**9)


class UnitError(ValueError):
    """A value that is not a valid quantity; the message says what was expected."""


def to_decimal(value: object, what: str | None = None) -> Decimal:
    """A finite Decimal from an int, float or numeric string (floats via their shortest repr)."""
    if isinstance(value, bool):
        raise UnitError(_not_a_number(value, what))
    try:
        if isinstance(value, float):
            d = Decimal(repr(value))
        elif isinstance(value, int | str | Decimal):
            d = Decimal(str(value).strip())
        else:
            raise UnitError(_not_a_number(value, what))
    except InvalidOperation:
        raise UnitError(_not_a_number(value, what)) from None
    if not d.is_finite():
        raise UnitError(_not_a_number(value, what, "finite number"))
    return d


def _not_a_number(value: object, what: str | None, kind: str = "number") -> str:
    """`hours must be a number, got '3h'`, or `expected a number, got '3h'` for no field name."""
    got = f"got {value!r}"
    return f"{what} must be a {kind}, {got}" if what else f"expected a {kind}, {got}"


def parse_bytes(value: object, bare_unit: str) -> Decimal:
    """Bytes in a size such as `2TB`, `60 GiB` or a bare number taken in `bare_unit`."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        number, unit = to_decimal(value), ""
    elif isinstance(value, str):
        m = _SIZE_RE.match(value)
        if not m:
            raise UnitError(f"expected a size like 2TB, 500GB or 64GiB, got {value!r}")
        number, unit = Decimal(m.group(1)), m.group(2)
    else:
        raise UnitError(f"expected a size like 2TB, 500GB or 64GiB, got {value!r}")
    unit = (unit or bare_unit).upper()
    factor = DECIMAL_UNITS.get(unit) or BINARY_UNITS.get(unit)
    if factor is None:
        raise UnitError(f"unknown unit {unit!r} in {value!r}; use one of {UNIT_NAMES}")
    if number <= 0:
        raise UnitError(f"must be a positive size, got {value!r}")
    return number * factor


def size_gb(value: object) -> Decimal:
    """A data size in GB (10^9 bytes); a bare number means GB."""
    return parse_bytes(value, "GB") / GB


def memory_gib(value: object) -> Decimal:
    """A memory amount in GiB (2^30 bytes); a bare number means GiB."""
    return parse_bytes(value, "GIB") / GIB


def positive(value: object, what: str) -> Decimal:
    """A strictly positive Decimal, or UnitError naming `what`."""
    d = to_decimal(value, what)
    if d <= 0:
        raise UnitError(f"{what} must be a positive number, got {value!r}")
    return d


def parse_accelerators(value: object) -> tuple[str, int] | None:
    """`A100:1`, `A100` or `{A100: 1}` as (name, count); None for no accelerator."""
    if value is None or value == "" or value == {}:
        return None
    if isinstance(value, dict):
        if len(value) != 1:
            raise UnitError(f"name exactly one accelerator, like {{A100: 1}}, got {value!r}")
        ((name, count),) = value.items()
    elif isinstance(value, str):
        name, sep, count_s = value.partition(":")
        count = count_s.strip() if sep else 1
        if sep and not count:
            raise UnitError(f"accelerator count is missing after ':', got {value!r}")
    else:
        raise UnitError(f"expected NAME:COUNT like A100:1, got {value!r}")
    name = str(name).strip()
    if not name or not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", name):
        raise UnitError(f"expected NAME:COUNT like A100:1, got {value!r}")
    try:
        n = int(str(count))
    except ValueError:
        raise UnitError(f"accelerator count must be a whole number, got {value!r}") from None
    if n <= 0:
        raise UnitError(f"accelerator count must be at least 1, got {value!r}")
    return name, n


def micro_usd(usd: Decimal) -> int:
    """USD as an integer count of micro-dollars, rounded half to even."""
    return int((usd * MICRO_USD).to_integral_value(rounding=ROUND_HALF_EVEN))


def round_usd(usd: Decimal) -> float:
    """Money as plan.json shows it: rounded to 4 decimals, half to even."""
    return float(usd.quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN))


def fmt_usd(usd: Decimal | float) -> str:
    """Money for people: `$1,234.50`."""
    return f"${Decimal(str(usd)):,.2f}"
