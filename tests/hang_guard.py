"""A hang guard for tests, independent of the library's own time limits: a test that should finish quickly
fails with _Hang instead of blocking the suite.

The guard counts the CPU seconds this process spends (``ITIMER_PROF``), not wall-clock seconds: a busy machine
slows a test down without bringing it nearer the guard, while a loop that never ends still trips it."""
from __future__ import annotations

import contextlib
import signal


class _Hang(BaseException):
    """Raised when a guarded block has used its CPU seconds (a BaseException: nothing swallows it)."""


@contextlib.contextmanager
def guard(seconds: float = 20):
    def fire(signum, frame):
        raise _Hang(f"still running after {seconds} s of CPU time")

    previous = signal.signal(signal.SIGPROF, fire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)
