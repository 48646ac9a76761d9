"""The deadline on a user formula's symbolic work refuses loudly, even work that swallows every Exception, and
never touches the calling process; and the canonical argument checks."""
from __future__ import annotations

import os
import time

import pytest

from analytic.errors import ComputationTimeout, within


def _stubborn() -> None:
    """What third-party heuristics do: catch everything and carry on (here: for ever)."""
    while True:
        try:
            time.sleep(0.01)
        except (ValueError, Exception):  # noqa: BLE001
            continue


def test_a_deadline_refuses_work_that_swallows_every_exception():
    with pytest.raises(ComputationTimeout) as info:
        within(0.2, "stubborn work", _stubborn)
    assert str(info.value) == "stubborn work did not finish within 0.2 s"
    assert isinstance(info.value, TimeoutError)


def test_work_within_its_deadline_returns_its_value_from_another_process():
    pid = os.getpid()
    assert within(30.0, "work", os.getpid) != pid
    assert within(None, "work", os.getpid) == pid


def test_an_integral_float_is_an_integer_unless_refused():
    from analytic.errors import ArgumentError, canonical_int

    assert canonical_int("depth", 3.0, 1) == 3 and type(canonical_int("depth", 3.0, 1)) is int
    with pytest.raises(ArgumentError, match="depth must be an integer, got 3.0"):
        canonical_int("depth", 3.0, 1, error=ArgumentError, allow_float=False)
    with pytest.raises(ArgumentError, match="must be an integer"):
        canonical_int("depth", True, 0, error=ArgumentError)
