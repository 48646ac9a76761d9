"""The time budget: a limit stops its block, even through code that catches ValueError, and an outer limit is
never absorbed by an inner block's fallback."""
from __future__ import annotations

import time

import pytest

from analytic.errors import ComputationTimeout, time_limit


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


def _with_fallback(seconds: float, work: float) -> str:
    try:
        with time_limit(seconds, "inner"):
            _spin(work)
            return "finished"
    except ComputationTimeout:
        return "fell back"


def test_a_limit_stops_its_block():
    started = time.monotonic()
    with pytest.raises(ComputationTimeout, match="within 0.2 s"):
        with time_limit(0.2, "spin"):
            _spin(5)
    assert time.monotonic() - started < 2


def test_code_that_swallows_value_errors_cannot_swallow_the_limit():
    """SymPy's integrator catches ValueError inside its heuristics; the limit must still stop it."""

    def stubborn():
        for _ in range(50):
            try:
                _spin(0.1)
            except (ValueError, Exception):  # noqa: BLE001 - what third-party code does
                continue

    started = time.monotonic()
    with pytest.raises(ComputationTimeout):
        with time_limit(0.3, "stubborn"):
            stubborn()
    assert time.monotonic() - started < 2


def test_inner_fallback_is_taken_for_its_own_limit():
    assert _with_fallback(0.1, 5) == "fell back"
    assert _with_fallback(5, 0.01) == "finished"


def test_outer_limit_passes_through_an_inner_fallback():
    started = time.monotonic()
    with pytest.raises(ComputationTimeout, match="outer"):
        with time_limit(0.3, "outer"):
            _with_fallback(10, 10)  # the outer deadline is tighter: the inner must not swallow it
    assert time.monotonic() - started < 3


def test_outer_limit_resumes_after_an_inner_one():
    with pytest.raises(ComputationTimeout, match="outer"):
        with time_limit(0.5, "outer"):
            assert _with_fallback(0.1, 5) == "fell back"
            _spin(5)


def test_an_alarm_swallowed_by_a_finaliser_does_not_end_the_limit(monkeypatch):
    """Python ignores an exception raised inside a finaliser; the limit must still stop the block, and the
    swallowed alarm must not reach sys.unraisablehook (which would print a traceback on stderr)."""
    import gc
    import sys
    import warnings

    reported = []
    monkeypatch.setattr(sys, "unraisablehook", reported.append)

    class Slow:
        def __del__(self):
            _spin(0.3)  # the alarm lands here and is swallowed ("Exception ignored in ...")

    started = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ComputationTimeout):
            with time_limit(0.1, "finaliser"):
                Slow()
                gc.collect()
                _spin(5)
    assert time.monotonic() - started < 2
    assert reported == []


def test_an_integral_float_is_an_integer_unless_refused():
    from analytic.errors import ArgumentError, canonical_int

    assert canonical_int("depth", 3.0, 1) == 3 and type(canonical_int("depth", 3.0, 1)) is int
    with pytest.raises(ArgumentError, match="depth must be an integer, got 3.0"):
        canonical_int("depth", 3.0, 1, error=ArgumentError, allow_float=False)
    with pytest.raises(ArgumentError, match="must be an integer"):
        canonical_int("depth", True, 0, error=ArgumentError)
