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
import numbers
import signal
import sys
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


class ArgumentError(AnalyticError):
    """A numeric argument outside its valid range: a depth, a threshold, a variance such as sigma_w^2."""


class DepthError(ArgumentError):
    """A depth that is not a positive integer at most 10**6."""


class ConvergenceError(AnalyticError):
    """A fixed point or root that the numerical iteration could not reach (the message says why)."""


class SimulationError(AnalyticError):
    """A simulation request outside the supported range: depth, samples, width, memory or time caps."""


class SweepSpecError(AnalyticError):
    """A sweep spec that cannot be run: unknown keys, bad ranges, empty lists, too many tasks, unreadable TOML."""


class ClusterError(AnalyticError):
    """A Dask scheduler that cannot be reached, or Dask not installed (``pip install -e '.[sweep]'``)."""


class UnknownFigure(AnalyticError, KeyError):
    """A figure name that is not in the list of figures."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class OutputError(AnalyticError):
    """An output path that cannot be written, e.g. a file where a folder is expected."""


def canonical_int(name: str, value: object, low: int, high: int | None = None,
                  error: type[AnalyticError] = AnalyticError) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (an integral float such as ``2.0`` is accepted, a bool is not);
    otherwise ``error`` with a one-line message naming ``name``.

    >>> canonical_int("depth", 10.0, 1)
    10
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise error(f"{name} must be an integer, got {value!r}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f">= {low}"
        raise error(f"{name} must be {allowed}, got {value}")
    return value


class _Alarm(BaseException):
    """Raised by the timer inside a :func:`time_limit` block.

    A ``BaseException``, so that library code which catches ``ValueError`` or ``Exception`` on its own (SymPy's
    integrator does) cannot swallow it; the block that owns the limit turns it into :class:`ComputationTimeout`.
    """

    def __init__(self, owner: object):
        super().__init__()
        self.owner = owner


#: After a limit runs out, its alarm repeats at this interval (seconds) until the block has unwound: an alarm
#: that lands in a finaliser or a weakref callback is swallowed by Python ("Exception ignored in ..."), and a
#: one-shot timer would then let the block run on forever.
REPEAT_SECONDS = 0.05


@contextlib.contextmanager
def time_limit(seconds: float, what: str = "symbolic computation") -> Iterator[None]:
    """Raise :class:`ComputationTimeout` if the block runs longer than ``seconds``.

    Uses ``SIGALRM``, so the limit applies only in the main thread of a POSIX process; elsewhere the block
    runs unlimited. Nested limits keep the tighter outer deadline, and an outer limit running out inside an
    inner block surfaces at the outer block: a fallback written for the inner limit never absorbs it.
    """
    if seconds is None or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return
    owner = object()
    closing = False

    def _raise(signum, frame):  # pragma: no cover - timing dependent
        if not closing:
            raise _Alarm(owner)

    remaining, interval = signal.getitimer(signal.ITIMER_REAL)
    if remaining and remaining < seconds:
        yield  # an outer, tighter limit is already running
        return
    def _quiet(unraisable):  # an alarm swallowed in a finaliser is expected: not worth a traceback on stderr
        if not isinstance(unraisable.exc_value, _Alarm):
            previous_hook(unraisable)

    previous_hook = sys.unraisablehook
    sys.unraisablehook = _quiet
    previous = signal.signal(signal.SIGALRM, _raise)
    started = time.monotonic()
    signal.setitimer(signal.ITIMER_REAL, seconds, REPEAT_SECONDS)
    try:
        yield
    except _Alarm as alarm:
        closing = True
        if alarm.owner is not owner:
            raise
        raise ComputationTimeout(f"{what} did not finish within {seconds:g} s") from None
    finally:
        closing = True
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        sys.unraisablehook = previous_hook
        if remaining:  # give the outer limit back what is left of it
            signal.setitimer(signal.ITIMER_REAL, max(remaining - (time.monotonic() - started), 1e-3), interval)
