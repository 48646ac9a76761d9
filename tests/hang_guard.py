"""A hang guard for tests, independent of the library's own time limits: a test that should finish quickly
fails with _Hang instead of blocking the suite."""
from __future__ import annotations

import contextlib
import signal


class _Hang(BaseException):
    """Raised when a guarded block is still running at its deadline (a BaseException: nothing swallows it)."""


@contextlib.contextmanager
def guard(seconds: float = 20):
    def fire(signum, frame):
        raise _Hang(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
