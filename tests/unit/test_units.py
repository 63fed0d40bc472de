"""Units: sizes (decimal and binary), memory, accelerators, positive numbers and money rounding."""

from __future__ import annotations

from decimal import Decimal

import pytest

from skyplan.units import (
    UnitError,
    fmt_usd,
    memory_gib,
    micro_usd,
    parse_accelerators,
    parse_bytes,
    positive,
    round_usd,
    size_gb,
    to_decimal,
)


@pytest.mark.parametrize(
    ("text", "expected_bytes"),
    [
        ("1B", 1),
        ("1KB", 10**3),
        ("1MB", 10**6),
        ("1GB", 10**9),
        ("1TB", 10**12),
        ("1PB", 10**15),
        ("1KiB", 2**10),
        ("1MiB", 2**20),
        ("1GiB", 2**30),
        ("1TiB", 2**40),
        ("1PiB", 2**50),
        ("2TB", 2 * 10**12),
        ("60 GiB", 60 * 2**30),
        ("1.5TB", 1_500_000_000_000),
        ("1.5e3MB", 1_500_000_000),
        ("5 gb", 5 * 10**9),
        ("3kib", 3 * 2**10),
    ],
)
def test_parse_bytes_units(text: str, expected_bytes: int) -> None:
    assert parse_bytes(text, "GB") == Decimal(expected_bytes)


def test_size_bare_number_means_gb() -> None:
    assert size_gb(2) == Decimal(2)
    assert size_gb("2") == Decimal(2)
    assert size_gb(0.5) == Decimal("0.5")


def test_size_gb_converts_units_to_decimal_gb() -> None:
    assert size_gb("2TB") == Decimal(2000)
    assert size_gb("500MB") == Decimal("0.5")
    assert size_gb("1GiB") == Decimal("1.073741824")
    assert size_gb("1KiB") == Decimal("0.000001024")


def test_memory_bare_number_means_gib() -> None:
    assert memory_gib(64) == Decimal(64)
    assert memory_gib("64") == Decimal(64)
    assert memory_gib("64GiB") == Decimal(64)


def test_memory_in_decimal_units_converts_by_two_to_the_thirty() -> None:
    assert memory_gib("64GB") == Decimal(64 * 10**9) / Decimal(2**30)
    assert memory_gib("64GB") == Decimal("59.604644775390625")
    assert memory_gib("1TiB") == Decimal(1024)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "5 G",
            "unknown unit 'G' in '5 G'; use one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB",
        ),
        (
            "5XB",
            "unknown unit 'XB' in '5XB'; use one of B, KB, MB, GB, TB, PB, KiB, MiB, GiB, TiB, PiB",
        ),
        ("GB", "expected a size like 2TB, 500GB or 64GiB, got 'GB'"),
        ("", "expected a size like 2TB, 500GB or 64GiB, got ''"),
        ("lots", "expected a size like 2TB, 500GB or 64GiB, got 'lots'"),
        ("nan", "expected a size like 2TB, 500GB or 64GiB, got 'nan'"),
        (True, "expected a size like 2TB, 500GB or 64GiB, got True"),
        (None, "expected a size like 2TB, 500GB or 64GiB, got None"),
        ([1], "expected a size like 2TB, 500GB or 64GiB, got [1]"),
        (float("inf"), "expected a finite number, got inf"),
    ],
)
def test_bad_sizes(value: object, message: str) -> None:
    with pytest.raises(UnitError) as exc:
        size_gb(value)
    assert str(exc.value) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "must be a positive size, got 0"),
        (-1, "must be a positive size, got -1"),
        ("0GB", "must be a positive size, got '0GB'"),
        ("0.0TiB", "must be a positive size, got '0.0TiB'"),
        (0.0, "must be a positive size, got 0.0"),
    ],
)
def test_non_positive_sizes(value: object, message: str) -> None:
    with pytest.raises(UnitError) as exc:
        size_gb(value)
    assert str(exc.value) == message


def test_negative_size_string_is_rejected() -> None:
    with pytest.raises(UnitError) as exc:
        size_gb("-5GB")
    assert "'-5GB'" in str(exc.value)


@pytest.mark.parametrize("value", ["-5GB", "-5", " -0.5 TiB"])
def test_negative_size_text_says_it_must_be_positive(value: str) -> None:
    with pytest.raises(UnitError) as exc:
        size_gb(value)
    assert str(exc.value) == f"must be a positive size, got {value!r}"


def test_non_positive_memory_is_rejected() -> None:
    with pytest.raises(UnitError) as exc:
        memory_gib(0)
    assert str(exc.value) == "must be a positive size, got 0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("A100:1", ("A100", 1)),
        ("A100", ("A100", 1)),
        ("H100:8", ("H100", 8)),
        ("h100:8", ("h100", 8)),
        (" A100 : 2 ", ("A100", 2)),
        ("A100-80GB:4", ("A100-80GB", 4)),
        ({"A100": 1}, ("A100", 1)),
        ({"A100": 2}, ("A100", 2)),
        ({"A100": "3"}, ("A100", 3)),
        (None, None),
        ("", None),
        ({}, None),
    ],
)
def test_accelerator_forms(value: object, expected: tuple[str, int] | None) -> None:
    assert parse_accelerators(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("A100:0", "accelerator count must be at least 1, got 'A100:0'"),
        ("A100:-1", "accelerator count must be at least 1, got 'A100:-1'"),
        ({"A100": 0}, "accelerator count must be at least 1, got {'A100': 0}"),
        ("A100:x", "accelerator count must be a whole number, got 'A100:x'"),
        ("A100:1.5", "accelerator count must be a whole number, got 'A100:1.5'"),
        ({"A100": True}, "accelerator count must be a whole number, got {'A100': True}"),
        (":1", "expected NAME:COUNT like A100:1, got ':1'"),
        ("A 100:1", "expected NAME:COUNT like A100:1, got 'A 100:1'"),
        (5, "expected NAME:COUNT like A100:1, got 5"),
        (["A100"], "expected NAME:COUNT like A100:1, got ['A100']"),
        (
            {"A100": 1, "H100": 1},
            "name exactly one accelerator, like {A100: 1}, got {'A100': 1, 'H100': 1}",
        ),
    ],
)
def test_bad_accelerator_forms(value: object, message: str) -> None:
    with pytest.raises(UnitError) as exc:
        parse_accelerators(value)
    assert str(exc.value) == message


def test_accelerator_with_empty_count_is_rejected() -> None:
    with pytest.raises(UnitError):
        parse_accelerators("A100:")


def test_accelerator_with_empty_count_says_what_is_missing() -> None:
    with pytest.raises(UnitError) as exc:
        parse_accelerators("A100:")
    assert str(exc.value) == "accelerator count is missing after ':', got 'A100:'"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("3h", "hours must be a number, got '3h'"),
        ("inf", "hours must be a finite number, got 'inf'"),
        (True, "hours must be a number, got True"),
    ],
)
def test_positive_non_number_messages(value: object, message: str) -> None:
    with pytest.raises(UnitError) as exc:
        positive(value, "hours")
    assert str(exc.value) == message


def test_to_decimal_without_a_field_name() -> None:
    with pytest.raises(UnitError) as exc:
        to_decimal("lots")
    assert str(exc.value) == "expected a number, got 'lots'"


def test_positive_accepts_numbers_and_numeric_strings() -> None:
    assert positive(3.5, "hours") == Decimal("3.5")
    assert positive("2.5", "hours") == Decimal("2.5")
    assert positive(1.1, "hours") == Decimal("1.1")  # via repr, not binary float noise


@pytest.mark.parametrize("value", [0, -1, "-0.5", 0.0])
def test_positive_rejects_non_positive(value: object) -> None:
    with pytest.raises(UnitError) as exc:
        positive(value, "hours")
    assert str(exc.value) == f"hours must be a positive number, got {value!r}"


@pytest.mark.parametrize("value", ["3h", True, None, "inf"])
def test_positive_rejects_non_numbers(value: object) -> None:
    with pytest.raises(UnitError) as exc:
        positive(value, "hours")
    assert "hours" in str(exc.value)
    assert repr(value) in str(exc.value)


def test_positive_non_number_message_is_grammatical() -> None:
    with pytest.raises(UnitError) as exc:
        positive("3h", "hours")
    assert "expected a hours" not in str(exc.value)


def test_to_decimal_uses_shortest_float_repr() -> None:
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(" 2 ") == Decimal(2)
    assert to_decimal(Decimal("1.50")) == Decimal("1.50")


def test_micro_usd_rounds_half_to_even() -> None:
    assert micro_usd(Decimal("1")) == 1_000_000
    assert micro_usd(Decimal("0.0000005")) == 0
    assert micro_usd(Decimal("0.0000015")) == 2
    assert micro_usd(Decimal("0.0000025")) == 2
    assert micro_usd(Decimal("1.2345678")) == 1_234_568


def test_round_usd_to_four_decimals_half_even() -> None:
    assert round_usd(Decimal("1.23456")) == 1.2346
    assert round_usd(Decimal("0.00005")) == 0.0
    assert round_usd(Decimal("0.00015")) == 0.0002
    assert round_usd(Decimal("0.00025")) == 0.0002
    assert round_usd(Decimal("812.5")) == 812.5
    assert isinstance(round_usd(Decimal(3)), float)


def test_fmt_usd_for_people() -> None:
    assert fmt_usd(Decimal("1234.5")) == "$1,234.50"
    assert fmt_usd(0.5) == "$0.50"
    assert fmt_usd(Decimal("1234567.891")) == "$1,234,567.89"
    assert fmt_usd(Decimal(0)) == "$0.00"
