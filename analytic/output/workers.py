r"""Forked worker processes that build figures side by side: :func:`run_parallel` runs a function on every item of
a list of groups, one group per task, and hands each result to the parent as soon as it is ready.

Workers are tied to the parent: they die with it, ignore Ctrl-C (the parent cancels the work and stops the
pool) and, on SIGTERM, remove the file they were writing before they exit, so no file is written after the
command ended and none is left half-written.

>>> out = []
>>> run_parallel([["a", "b"], ["c"]], str.upper, 2, out.append)
>>> sorted(out)
['A', 'B', 'C']
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Callable, Sequence, TypeVar

from ..core.files import remove_temporaries

T = TypeVar("T")

_QUEUE = None


def _set_queue(queue, parent: int | None = None) -> None:
    global _QUEUE  # a worker process's channel back to the parent (set once, at the worker's start)
    _QUEUE = queue
    _die_with_parent(parent)


def _die_with_parent(parent: int | None) -> None:
    """Tie this worker to the process that forked it: on Linux the kernel sends SIGKILL when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``), elsewhere a daemon thread polls the parent's pid. Ctrl-C and SIGTERM are left
    to the parent, which cancels the work and stops the pool; so no file is written after the command ended."""
    import signal
    import sys
    import threading

    def stop(signum, frame):  # remove the file being written, then go (raising could be swallowed by a finaliser)
        remove_temporaries()
        os._exit(1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the tie was made
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def _run_group(work: Callable[[str], T], items: Sequence[str]) -> None:
    for item in items:
        _QUEUE.put(work(item))


def run_parallel(groups: Sequence[Sequence[str]], work: Callable[[str], T], jobs: int,
                 report: Callable[[T], None]) -> None:
    """Run ``work(item)`` for every item with ``jobs`` forked workers, one task per group (the items of a group
    run in order in one worker, so they share its caches); ``report(result)`` is called in this process as each
    result arrives. ``work`` must be picklable (a module-level function or a ``functools.partial`` of one). A
    worker's exception is raised here; on any error or an interrupt the workers are stopped at once."""
    import concurrent.futures
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.SimpleQueue()
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_set_queue,
                                                initargs=(queue, os.getpid())) as pool:
        pending = {pool.submit(_run_group, work, list(g)) for g in groups}
        try:
            while pending:
                finished, pending = concurrent.futures.wait(pending, timeout=0.05)
                while not queue.empty():
                    report(queue.get())
                for f in finished:
                    f.result()  # a worker's exception is raised here
            while not queue.empty():
                report(queue.get())
        except BaseException:
            _stop_workers(pool)  # (not Future.cancel: the pool's manager thread then fails on the cancelled ones)
            raise


def _stop_workers(pool) -> None:
    """Stop the pool's workers now (an interrupt or an error: what they are writing is not wanted any more). Each
    gets SIGTERM, removes the temporary file it was writing and exits; this returns when they are gone."""
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.join(2)
