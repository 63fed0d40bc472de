"""Each test starts with skyplan not interrupted (a test that interrupts it leaves the flag set,
as a real process that is stopping keeps it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from skyplan.apply import children


@pytest.fixture(autouse=True)
def not_interrupted() -> Iterator[None]:
    children.reset()
    yield
    children.reset()
