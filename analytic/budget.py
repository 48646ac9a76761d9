"""Deadlines for symbolic work on user formulas: :func:`run` calls a function in a forked worker process, which
is killed if it has not answered by the deadline.

Nothing is injected into the caller, so the deadline holds in whatever thread asks (the main thread, a thread
pool, a Dask worker thread or process), and a killed worker leaves no state behind. The result comes back
pickled (SymPy expressions pickle). The worker starts as a copy of the calling thread alone, and it only runs the
function, pickles and writes the answer, and ends with ``os._exit``: no atexit handler, no flushed buffer; should
the caller die first, the worker ends itself a second after the deadline.
A call made inside a worker runs directly, under the worker's own deadline. Without ``os.fork`` (Windows) calls
run directly, with no deadline.

>>> run(5.0, sum, [1, 2, 3])
6
"""
from __future__ import annotations

import gc
import os
import pickle
import selectors
import signal
import time

_IN_WORKER = False


class Expired(Exception):
    """The worker did not answer by its deadline (or ended without answering: ``args[0]`` says which)."""


def run(seconds: float | None, function, *args):
    """``function(*args)``, in a worker process killed after ``seconds`` (``None``: here, without a deadline);
    :class:`Expired` when it has not answered by then. An exception in the worker is raised here."""
    if seconds is None or _IN_WORKER or not hasattr(os, "fork"):
        return function(*args)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the worker (it ends in os._exit)
        _work(read, write, seconds, function, args)
    os.close(write)
    try:
        data = _receive(read, time.monotonic() + seconds)
    finally:
        os.close(read)
        os.kill(pid, signal.SIGKILL)  # a worker that answered is already ending; its pid is ours until reaped
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:  # pragma: no cover - reaped by another SIGCHLD handler
            pass
    if not data:
        raise Expired("timeout" if data is None else "ended without an answer")
    ok, value, dummies = pickle.loads(data)
    _advance_dummies(dummies)
    if not ok:
        raise value
    return value


def _receive(fd: int, deadline: float) -> bytes | None:
    """All bytes written to the pipe ``fd`` until it closes, or None at the deadline."""
    chunks = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not selector.select(left):
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def _work(read: int, write: int, seconds: float, function, args) -> None:  # pragma: no cover - in the worker
    global _IN_WORKER
    try:
        # if the caller dies before it can kill the worker, the worker ends itself a second after the deadline
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        signal.setitimer(signal.ITIMER_REAL, seconds + 1.0)
        gc.disable()  # a collection would touch, and so copy, every page of the parent's heap; the worker is short
        os.close(read)
        _IN_WORKER = True
        try:
            answer = (True, function(*args))
        except BaseException as exc:  # noqa: BLE001 - carried to the caller
            answer = (False, exc)
        with open(write, "wb") as pipe:
            pipe.write(_dumps(answer))
    finally:
        os._exit(0)


def _dumps(answer: tuple) -> bytes:  # pragma: no cover - runs in the worker
    """The answer pickled with SymPy's dummy counter; an exception that does not survive pickling is replaced by
    its nearest built-in class with the same message."""
    dummies = _dummy_count()
    try:
        data = pickle.dumps(answer + (dummies,))
        pickle.loads(data)
        return data
    except Exception:  # noqa: BLE001 - an unpicklable value or exception
        ok, value = answer
        if ok:
            value = TypeError(f"the result of the symbolic computation cannot be pickled: {type(value).__name__}")
        builtin = next(c for c in type(value).__mro__ if c.__module__ == "builtins")
        return pickle.dumps((False, builtin(str(value)), dummies))


def _dummy_count() -> int:  # pragma: no cover - runs in the worker
    import sys

    sympy = sys.modules.get("sympy")
    return getattr(sympy.Dummy, "_count", 0) if sympy else 0


def _advance_dummies(count: int) -> None:
    """Number SymPy's next dummies after those the worker made, so a dummy in its answer never equals a new one."""
    import sys

    sympy = sys.modules.get("sympy")
    if sympy is not None and getattr(sympy.Dummy, "_count", count) < count:
        sympy.Dummy._count = count
