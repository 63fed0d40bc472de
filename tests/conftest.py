"""Options shared by the whole test suite (pytest only reads pytest_addoption from here)."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    """--update-golden: rewrite the committed golden files instead of comparing with them."""
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the committed generated stacks (stacks/*/) instead of comparing",
    )
