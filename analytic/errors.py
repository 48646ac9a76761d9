"""Exceptions raised by :mod:`analytic`, and the time budget for symbolic work.

Every error a user can provoke with bad input is an :class:`AnalyticError`; the CLI prints its message on one
line and exits with status 2.

>>> from analytic.errors import time_limit, ComputationTimeout
>>> with time_limit(1.0):
...     1 + 1
2
"""
from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator


class AnalyticError(ValueError):
    """Base class of every error caused by the caller's input."""


class UnknownActivation(AnalyticError, KeyError):
    """An activation name that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class FormulaError(AnalyticError):
    """A formula string that the whitelist parser refuses."""


class SpecError(AnalyticError):
    """A distribution spec such as ``normal(0, -1)`` that is malformed or has invalid parameters."""


class ParameterError(AnalyticError):
    """An activation parameter (``--param k=v``) that is unknown or invalid."""


class ComputationTimeout(AnalyticError, TimeoutError):
    """A symbolic computation that did not finish within its time budget."""


class BoundError(AnalyticError):
    """A sup or inf that cannot be proved (no limit at infinity, interval evaluation fails, no proved tail)."""


class Limit:
    """The handle :func:`time_limit` yields: ``expired`` becomes true when *this* limit ran out.

    A caller that falls back on timeout checks it, so that an outer limit running out inside an inner block is
    passed on rather than taken for the inner one.
    """

    def __init__(self) -> None:
        self.expired = False


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "symbolic computation") -> Iterator[Limit]:
    """Raise :class:`ComputationTimeout` if the block runs longer than ``seconds``.

    Uses ``SIGALRM``, so the limit applies only in the main thread of a POSIX process; elsewhere the block
    runs unlimited. Nested limits keep the tighter outer deadline. To fall back on this limit only::

        try:
            with time_limit(5.0) as limit:
                ...
        except ComputationTimeout:
            if not limit.expired:
                raise  # an outer limit ran out
            ...  # fallback
    """
    limit = Limit()
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield limit
        return

    def _raise(signum, frame):  # pragma: no cover - timing dependent
        limit.expired = True
        raise ComputationTimeout(f"{what} did not finish within {seconds:g} s")

    remaining, _ = signal.getitimer(signal.ITIMER_REAL)
    if remaining and remaining < seconds:
        yield limit  # an outer, tighter limit is already running
        return
    previous = signal.signal(signal.SIGALRM, _raise)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield limit
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if remaining:  # give the outer limit back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - started), 1e-3))
