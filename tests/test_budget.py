"""Time budgets hold wherever the work runs: the main thread, a threading.Thread, a thread pool, a Dask worker
(threads and processes). An alarm never fires after its block has exited, the watchdog thread ends when no
limit is live, and a slow user formula's simplification falls back within the documented budget."""
from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import sympy as sp

from analytic import budget
from analytic.core import calculus
from analytic.core.parsing import parse_formula
from analytic.core.registry import X
from analytic.errors import ComputationTimeout, time_limit
from test_errors import _spin, _with_fallback

#: A user formula whose simplification takes far longer than a minute (eight tanh/exp terms SymPy tries to merge).
SLOW = "+".join(f"tanh({i}*x+{i})**{i % 3 + 1}*exp(-{i}*x)" for i in range(1, 9))
#: A limit stops within this many times its length (the bound leaves room for a loaded machine).
SLACK = 5


def limited(seconds: float, work: str) -> tuple[bool, float]:
    """Run ``work`` ("spin": a pure-Python busy loop of 60 s; "simplify": simplify the SLOW formula) under a
    ``seconds`` limit; return whether ComputationTimeout was raised and the time taken."""
    started = time.monotonic()
    try:
        with time_limit(seconds, work):
            if work == "spin":
                _spin(60)
            else:
                sp.simplify(parse_formula(SLOW))
    except ComputationTimeout:
        return True, time.monotonic() - started
    return False, time.monotonic() - started


def _in_thread(function, *args, timeout: float = 60.0):
    """``function(*args)`` in a new daemon thread; its result, or its exception re-raised here."""
    out: dict = {}

    def run():
        try:
            out["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - carried to the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"still running after {timeout} s: the limit did not hold in the thread"
    if "error" in out:
        raise out["error"]
    return out["value"]


def _in_pool(function, *args):
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result(timeout=60)


RUNNERS = {"main thread": lambda f, *a: f(*a), "threading.Thread": _in_thread, "thread pool": _in_pool}


@pytest.mark.parametrize("runner", RUNNERS)
@pytest.mark.parametrize("work, seconds", [("spin", 0.5), ("simplify", 1.0)])
def test_a_limit_stops_its_block_in_any_thread(runner, work, seconds):
    stopped, took = RUNNERS[runner](limited, seconds, work)
    assert stopped
    assert seconds <= took < SLACK * seconds


@pytest.mark.parametrize("processes", [False, True], ids=["worker threads", "worker process"])
def test_a_limit_stops_its_block_in_a_dask_worker(processes):
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # a worker process cannot import this file
    try:
        where = {"host": "127.0.0.1"} if processes else {}  # worker threads talk in-process, not over TCP
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=processes, dashboard_address=None,
                          **where) as cluster, Client(cluster) as client:
            spin = client.submit(limited, 0.5, "spin", pure=False).result(timeout=120)
            simplify = client.submit(limited, 1.0, "simplify", pure=False).result(timeout=120)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert spin[0] and 0.5 <= spin[1] < SLACK * 0.5
    assert simplify[0] and 1.0 <= simplify[1] < SLACK * 1.0


def _nested() -> list[str]:
    """The nesting rules, checked in whatever thread runs this."""
    seen = [_with_fallback(0.1, 5), _with_fallback(5, 0.01)]
    try:
        with time_limit(0.3, "outer"):
            _with_fallback(10, 10)  # the outer deadline is tighter: the inner fallback must not absorb it
    except ComputationTimeout as exc:
        seen.append(str(exc))
    try:
        with time_limit(0.5, "outer"):
            seen.append(_with_fallback(0.1, 5))
            _spin(5)  # the outer limit resumes after the inner one
    except ComputationTimeout as exc:
        seen.append(str(exc))
    return seen


@pytest.mark.parametrize("runner", ["threading.Thread", "thread pool"])
def test_nested_limits_in_a_worker_thread(runner):
    assert RUNNERS[runner](_nested) == ["fell back", "finished", "outer did not finish within 0.3 s",
                                        "fell back", "outer did not finish within 0.5 s"]


def _short_blocks(n: int) -> tuple[int, int]:
    """``n`` blocks that end near their 1 ms deadline, most just before, some just after; any alarm that
    escapes a block propagates out of here."""
    finished = timed_out = 0
    for i in range(n):
        try:
            with time_limit(0.001, "short"):
                _spin(0.0008 if i % 4 else 0.0011)
            finished += 1
        except ComputationTimeout:
            timed_out += 1
        _spin(0.0002)  # an alarm delivered after the block would land here
    return finished, timed_out


def test_no_alarm_after_the_block_has_exited():
    finished, timed_out = _short_blocks(2000)
    assert finished + timed_out == 2000 and finished > 0 and timed_out > 0
    _spin(0.2)  # a late repeat would surface here


def test_no_alarm_after_the_block_has_exited_in_concurrent_threads():
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = [f.result(timeout=120) for f in [pool.submit(_short_blocks, 400) for _ in range(3)]]
    assert sum(f + t for f, t in results) == 1200


def test_a_block_ending_in_a_c_call_that_releases_the_lock_never_leaks_the_alarm():
    """``a @ a`` releases the interpreter lock inside BLAS; a body that ends with it must finish or raise
    ComputationTimeout, never let the raw alarm escape past the block."""
    a = np.random.default_rng(0).random((700, 700))
    for _ in range(5):
        try:
            with time_limit(0.002, "matmul"):
                a @ a
        except ComputationTimeout:
            pass
    _spin(0.2)


def _finaliser() -> list:
    """A limit whose alarm lands in a finaliser (Python swallows it there) still stops its block, and the
    swallowed alarm is not reported to sys.unraisablehook (which would print a traceback on stderr)."""
    import gc

    reported: list = []
    previous, sys.unraisablehook = sys.unraisablehook, reported.append

    class Slow:
        def __del__(self):
            _spin(0.3)

    try:
        with pytest.raises(ComputationTimeout):
            with time_limit(0.1, "finaliser"):
                Slow()
                gc.collect()
                _spin(5)
    finally:
        sys.unraisablehook = previous
    return reported


@pytest.mark.parametrize("runner", ["threading.Thread", "thread pool"])
def test_an_alarm_swallowed_by_a_finaliser_in_a_worker_thread(runner):
    assert RUNNERS[runner](_finaliser) == []


def _watchdogs() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == budget.WATCHDOG_NAME]


def _wait_for(condition, seconds: float = 10.0) -> bool:
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def test_an_exhausted_limit_leaves_no_thread_behind():
    assert _wait_for(lambda: not _watchdogs())
    baseline = {t.ident for t in threading.enumerate()}
    with pytest.raises(ComputationTimeout):
        with time_limit(0.05, "spin"):
            assert len(_watchdogs()) == 1
            _spin(5)
    assert _wait_for(lambda: {t.ident for t in threading.enumerate()} <= baseline)


def test_a_limit_leaves_sigalrm_to_the_caller():
    import signal

    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(ComputationTimeout):
        with time_limit(0.1):
            assert signal.getsignal(signal.SIGALRM) is before
            _spin(5)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_derive_in_a_thread_falls_back_within_the_simplify_budget(monkeypatch):
    """derive simplifies φ′ and φ″ under SIMPLIFY_SECONDS each and keeps the unsimplified form on timeout."""
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 1.0)
    formula = SLOW + "+x/7"  # not derived by another test: nothing is cached
    started = time.monotonic()
    result = _in_thread(calculus.derive, formula, timeout=120)
    took = time.monotonic() - started
    assert took < SLACK * 2 * calculus.SIMPLIFY_SECONDS
    assert result.dphi == sp.diff(parse_formula(formula), X)  # the unsimplified derivative, as documented
