"""Deadlines on symbolic work run it in a forked worker that is killed at the deadline: the answer (a SymPy
expression, an exception) comes back equal to the one computed here; a worker that does not finish is refused
with ComputationTimeout and leaves no process behind; this holds in the main thread, a threading.Thread, a thread
pool and a Dask worker (thread or process). No test here measures how long anything took."""
from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sympy as sp

from analytic import budget
from analytic.core import calculus
from analytic.core.parsing import parse_formula
from analytic.core.registry import X
from analytic.errors import ComputationTimeout, FormulaError, within

#: A user formula whose simplification takes far longer than a minute (eight tanh/exp terms SymPy tries to merge).
SLOW = "+".join(f"tanh({i}*x+{i})**{i % 3 + 1}*exp(-{i}*x)" for i in range(1, 9))


def _forever(pid_file: str | None = None) -> None:
    """Never returns; writes its process id to ``pid_file`` first, and swallows every Exception it can."""
    if pid_file:
        Path(pid_file).write_text(str(os.getpid()))
    while True:
        try:
            time.sleep(0.01)
        except Exception:  # noqa: BLE001 - what third-party code does
            continue


def _refused_and_gone() -> tuple[str, bool]:
    """A worker that never finishes, under a 0.3 s deadline: the message, and whether its process is gone."""
    with tempfile.TemporaryDirectory() as folder:
        pid_file = str(Path(folder) / "pid")
        try:
            within(0.3, "spinning", _forever, pid_file)
        except ComputationTimeout as exc:
            message = str(exc)
        else:  # pragma: no cover - the failure the test looks for
            return "finished", False
        pid = int(Path(pid_file).read_text())
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return message, True
    return message, False


def _answers() -> tuple:
    """A SymPy answer, a SymPy exception and a library error from a worker, beside the same computed here."""
    e = parse_formula("x*tanh(log(1+exp(x)))")
    here = sp.simplify(sp.diff(e, X))
    there = within(30.0, "simplify", sp.simplify, sp.diff(e, X))
    errors = []
    for call in ((sp.solveset, sp.sin(X) - X ** 2, X, "reals"),  # SymPy: a ValueError of its own
                 (parse_formula, "open('f')")):  # the parser's FormulaError
        try:
            within(30.0, "work", *call)
        except Exception as exc:  # noqa: BLE001 - compared below
            errors.append((type(exc), str(exc)))
    return here, there, errors


def _in_thread(function, *args):
    out: dict = {}

    def run():
        try:
            out["value"] = function(*args)
        except BaseException as exc:  # noqa: BLE001 - carried to the test's thread
            out["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _in_pool(function, *args):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return pool.submit(function, *args).result()


RUNNERS = {"main thread": lambda f, *a: f(*a), "threading.Thread": _in_thread, "thread pool": _in_pool}


@pytest.mark.parametrize("runner", RUNNERS)
def test_a_worker_past_its_deadline_is_refused_and_killed(runner):
    message, gone = RUNNERS[runner](_refused_and_gone)
    assert message == "spinning did not finish within 0.3 s"
    assert gone


@pytest.mark.parametrize("runner", RUNNERS)
def test_answers_from_a_worker_equal_those_computed_here(runner):
    here, there, errors = RUNNERS[runner](_answers)
    assert there == here and there.free_symbols == {X}
    assert errors[0][0] is ValueError and errors[1][0] is FormulaError and "'open'" in errors[1][1]


@pytest.mark.parametrize("processes", [False, True], ids=["worker threads", "worker process"])
def test_deadlines_in_a_dask_worker(processes):
    import cloudpickle
    from distributed import Client, LocalCluster

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # a worker process cannot import this file
    try:
        where = {"host": "127.0.0.1"} if processes else {}  # worker threads talk in-process, not over TCP
        with LocalCluster(n_workers=1, threads_per_worker=2, processes=processes, dashboard_address=None,
                          **where) as cluster, Client(cluster) as client:
            refused = client.submit(_refused_and_gone, pure=False).result()
            answers = client.submit(_answers, pure=False).result()
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert refused == ("spinning did not finish within 0.3 s", True)
    here, there, errors = answers
    assert there == here and errors[1][0] is FormulaError


def test_no_deadline_runs_the_call_here():
    assert within(None, "work", os.getpid) == os.getpid()
    assert within(5.0, "work", os.getpid) != os.getpid()


def test_a_call_inside_a_worker_runs_in_that_worker():
    outer, inner = within(30.0, "outer", lambda: (os.getpid(), within(30.0, "inner", os.getpid)))
    assert outer == inner != os.getpid()


def test_a_worker_leaves_no_thread_behind():
    before = set(threading.enumerate())
    with pytest.raises(ComputationTimeout):
        within(0.1, "spinning", _forever)
    assert within(5.0, "adding", sum, [1, 2]) == 3
    assert set(threading.enumerate()) == before


def test_a_dummy_made_in_a_worker_never_equals_a_new_one_made_here():
    d = within(30.0, "a dummy", sp.Dummy, "d")
    assert sp.Dummy("d") != d


def test_an_answer_that_cannot_be_pickled_is_refused_loudly():
    with pytest.raises(TypeError, match="cannot be pickled"):
        within(30.0, "a lock", threading.Lock)


class _Unpicklable(ValueError):
    def __init__(self, a, b):
        super().__init__(f"{a} and {b}")


def _raise_unpicklable():
    raise _Unpicklable(1, 2)


def test_an_exception_that_cannot_be_pickled_arrives_as_its_builtin_class():
    with pytest.raises(ValueError, match="1 and 2"):
        within(30.0, "raising", _raise_unpicklable)


def test_a_worker_that_dies_is_refused():
    with pytest.raises(ComputationTimeout, match="ended without an answer"):
        within(30.0, "dying", os._exit, 3)


def test_bad_deadlines_are_refused():
    from analytic.errors import ArgumentError

    for seconds in (0, -1.0, float("nan"), float("inf"), 1e9):
        with pytest.raises(ArgumentError, match="time limit"):
            within(seconds, "work", sum, [])


def test_slow_simplification_of_a_user_formula_is_refused_in_a_thread(monkeypatch):
    """A user formula within the size rule whose simplification does not finish is refused in one line."""
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 0.2)
    monkeypatch.setattr(calculus, "_simplify_pieces", lambda e: _forever())
    with pytest.raises(ComputationTimeout) as info:
        _in_thread(calculus.derive, "x*tanh(x)+x/17")
    assert str(info.value) == "simplifying a derivative of the formula did not finish within 0.2 s"


def test_a_large_user_formula_is_kept_unsimplified_by_its_size_not_by_a_clock(monkeypatch):
    """Above SIMPLIFY_MAX_OPS operations the exact derivative is kept as it is, whatever the deadline."""
    formula = SLOW + "+x/7"  # not derived by another test: nothing is cached
    assert sp.count_ops(sp.diff(parse_formula(formula), X)) > calculus.SIMPLIFY_MAX_OPS
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 1e-6)
    result = _in_thread(calculus.derive, formula)
    assert result.dphi == sp.diff(parse_formula(formula), X)


def test_a_worker_whose_caller_never_kills_it_ends_itself():
    """The caller may die (SIGKILL) before the deadline: the worker then ends by its own alarm, not never."""
    import signal

    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the worker
        budget._work(read, write, 0.2, _forever, ())
    os.close(read), os.close(write)
    for _ in range(30000):  # a hang guard only (300 s): the alarm is due 1.2 s after the fork
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        time.sleep(0.01)
    else:  # pragma: no cover - the failure looked for
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        pytest.fail("the worker did not end by itself")
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGALRM
