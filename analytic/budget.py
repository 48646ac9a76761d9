"""Deadlines for blocks of Python code, enforced in any thread: the machinery behind
:func:`analytic.errors.time_limit`.

Each thread keeps a stack of the limited blocks it is inside. One watchdog thread per process sleeps until the
earliest deadline of any stack and then raises :class:`Expired` in the thread that owns it, through
``PyThreadState_SetAsyncExc``: CPython delivers such an exception at the target thread's next bytecode
boundary where it checks for pending work (a loop's back edge, a call), so pure-Python work such as SymPy's
is stopped wherever it runs: the main thread, a ``threading.Thread``, a thread pool, a Dask worker.

Why not ``SIGALRM``: a signal handler runs only in the main thread, so in a worker thread a block would run
unlimited. The signal's one advantage, waking a blocking system call (``time.sleep``, a read), does not
matter for symbolic work, and neither mechanism can stop a single long C call (a huge integer power): both
act when it returns. Leaving ``SIGALRM`` alone also leaves it free for the caller.

Semantics, for a thread inside limited blocks :math:`B_0 \\supset B_1 \\supset \\dots \\supset B_k` with deadlines
:math:`t_0, \\dots, t_k`: the thread's deadline is :math:`\\min_i t_i`, and it is owned by the outermost block
attaining it. When it passes, :class:`Expired` is raised in the thread; it unwinds every block inside the owner
(their ``__exit__`` re-raises it, so a fallback written for an inner limit never absorbs an outer one) and the
owner's ``__exit__`` turns it into the block's own error. The remaining blocks then keep their deadlines.

Races, and how they are closed:

* A block leaves its stack under the watchdog's lock and then clears any alarm sent to its thread but not yet
  delivered (``PyThreadState_SetAsyncExc(tid, NULL)``), so no alarm is raised after the block has exited.
* The watchdog fires only after checking, under the same lock, that the target thread is not running
  ``__enter__``/``__exit__`` of a limit (an alarm delivered there would escape the bookkeeping) and is paused
  where CPython looks for the alarm at once (not inside a C call made by an operator, after which it could run
  on into ``__exit__``); otherwise it retries after :data:`RETRY_SECONDS`. So work that spends its time in such
  C calls (NumPy on large arrays) may be stopped late; symbolic work is Python and is stopped on time. One gap
  remains: a C call that releases the interpreter lock and then raises an exception at the deadline can carry
  a pending alarm past the block's end to the entry of ``__exit__``; symbolic work makes no such calls.
* An alarm that lands in a finaliser (``__del__``, a weakref callback) is swallowed by Python: while any limit
  is live, ``sys.unraisablehook`` drops :class:`Expired` instead of printing a traceback, and the alarm repeats
  every :data:`REPEAT_SECONDS` until the owning block has unwound.

The watchdog needs the interpreter lock to fire, so a limit on a thread busy in Python fires up to one switch
interval (``sys.getswitchinterval()``, 5 ms) after its deadline. The watchdog thread starts with the first
limit and ends after :data:`IDLE_SECONDS` without one.
"""
from __future__ import annotations

import ctypes
import dis
import os
import sys
import threading
import time
from collections.abc import Callable

#: After a deadline passes, the alarm repeats at this interval (seconds) until the owning block has unwound.
REPEAT_SECONDS = 0.05
#: Delay (seconds) before the watchdog tries again when the target thread is inside a limit's own bookkeeping.
RETRY_SECONDS = 1e-3
#: The watchdog thread ends after this long (seconds) with no limited block in any thread.
IDLE_SECONDS = 0.5
#: Name of the watchdog thread.
WATCHDOG_NAME = "analytic-time-limit"


class Expired(BaseException):
    """Raised asynchronously in a thread whose deadline has passed.

    A ``BaseException``, so that library code which catches ``Exception`` on its own (SymPy's integrator does)
    cannot swallow it; the owning block turns it into its own error.
    """


_SET_ASYNC_EXC = (ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_ulong, ctypes.py_object)
                  (("PyThreadState_SetAsyncExc", ctypes.pythonapi)) if hasattr(ctypes, "pythonapi") else None)


def _send(tid: int, exc: type[BaseException] | None) -> None:
    """Raise ``exc`` asynchronously in thread ``tid`` (``None``: withdraw a pending one)."""
    if _SET_ASYNC_EXC is None:  # pragma: no cover - not CPython: limits are not enforced
        return
    if _SET_ASYNC_EXC(tid, ctypes.py_object(exc) if exc is not None else ctypes.py_object()) > 1:
        _SET_ASYNC_EXC(tid, ctypes.py_object())  # pragma: no cover - the C API's documented recovery


class _Thread:
    """The limited blocks one thread is inside (outermost first), and the state of its alarm."""

    __slots__ = ("stack", "sent", "due")

    def __init__(self):
        self.stack: list[Limit] = []
        self.sent = False  # an alarm was sent since the last withdrawal
        self.due: float | None = None  # when to fire next after an alarm or a retry; None: at the deadline

    def owner(self) -> Limit:
        """The outermost block with the earliest deadline."""
        return min(reversed(self.stack), key=lambda limit: limit.deadline)

    def next_time(self) -> float:
        return self.owner().deadline if self.due is None else self.due


class _State:
    """Everything the watchdog and the blocks share, guarded by ``lock`` (new after a fork)."""

    def __init__(self, keep: _Thread | None = None):
        self.lock = threading.Lock()
        self.wake = threading.Condition(self.lock)
        self.threads: dict[int, _Thread] = {}
        if keep is not None and keep.stack:
            self.threads[threading.get_ident()] = keep
        self.watchdog: threading.Thread | None = None
        self.planned = 0.0  # when the watchdog wakes next (monotonic seconds)
        self.previous_hook: Callable | None = None


_STATE = _State()


def _quiet(unraisable) -> None:
    """``sys.unraisablehook`` while limits are live: an alarm swallowed in a finaliser is expected."""
    if not isinstance(unraisable.exc_value, Expired):
        (_STATE.previous_hook or sys.__unraisablehook__)(unraisable)


def _live_changed(deadline: float | None = None) -> None:
    """Install or remove :func:`_quiet` and start the watchdog as limits come and go, and wake it if
    ``deadline`` comes before its next planned look (lock held)."""
    state = _STATE
    if state.threads and sys.unraisablehook is not _quiet:
        state.previous_hook, sys.unraisablehook = sys.unraisablehook, _quiet
    elif not state.threads and sys.unraisablehook is _quiet:
        sys.unraisablehook, state.previous_hook = state.previous_hook, None
    if state.threads and state.watchdog is None:
        state.watchdog = threading.Thread(target=_watch, args=(state,), name=WATCHDOG_NAME, daemon=True)
        state.watchdog.start()
    elif deadline is not None and deadline < state.planned:
        state.wake.notify()


class Limit:
    """A block that raises ``error()`` if it is still running ``seconds`` after it was entered.

    Use once, as ``with Limit(seconds, error):``; see the module docstring for nesting and delivery.
    """

    __slots__ = ("seconds", "error", "deadline", "expired")

    def __init__(self, seconds: float, error: Callable[[], BaseException]):
        self.seconds = seconds
        self.error = error
        self.deadline = 0.0
        self.expired = False  # set by the watchdog when it sends this block's alarm

    def __enter__(self) -> None:
        with _STATE.lock:
            self.deadline = time.monotonic() + self.seconds
            _STATE.threads.setdefault(threading.get_ident(), _Thread()).stack.append(self)
            _live_changed(self.deadline)

    def __exit__(self, kind, value, traceback) -> bool:
        while True:  # an alarm sent before the lock was held may land in here: leave the stack regardless
            try:
                outer_expired = _leave(self)
                break
            except Expired:
                kind = Expired
        if kind is not None and issubclass(kind, Expired) and not outer_expired:
            raise self.error() from None
        return False


def _leave(limit: Limit) -> bool:
    """Take ``limit`` (and any block above it) off its thread's stack and withdraw an undelivered alarm.

    Returns whether an alarm raised now belongs to an outer block, which must then see it.
    """
    state = _STATE
    with state.lock:
        tid = threading.get_ident()
        thread = state.threads.get(tid)
        if thread is None:  # left already, or entered before a fork in another thread
            return False
        depth = next((i for i, entry in enumerate(thread.stack) if entry is limit), None)
        if depth is not None:
            del thread.stack[depth:]
            if thread.sent:
                _send(tid, None)
                thread.sent = False
            thread.due = None
        if thread.stack:
            _live_changed(thread.next_time())
        else:
            del state.threads[tid]
            _live_changed()
        return not limit.expired and any(entry.expired for entry in thread.stack)


_PROTECTED = frozenset({Limit.__enter__.__code__, Limit.__exit__.__code__, _leave.__code__,
                        _live_changed.__code__})
#: Instructions after which CPython checks for an asynchronous exception before running any other bytecode
#: (a function's start, a loop's back edge, the end of a call): a thread paused at one of them raises the alarm
#: right there. A thread paused elsewhere is inside a C call made by another instruction (``a @ b`` on large
#: arrays releases the lock), and could run on into a limit's ``__exit__`` before it looks.
#: (Python 3.10 checks before every instruction; its calls and back edges carry other names.)
_SAFE_OPCODES = frozenset(dis.opmap[name] for name in (
    "RESUME", "JUMP_BACKWARD", "PRECALL", "CALL", "CALL_KW", "CALL_FUNCTION_EX",  # 3.11 and later
    "CALL_FUNCTION", "CALL_FUNCTION_KW", "CALL_METHOD", "JUMP_ABSOLUTE") if name in dis.opmap)  # 3.10


def _interruptible(frame) -> bool:
    """Whether an alarm sent now to the thread whose innermost frame is ``frame`` is raised inside its block:
    the frame is at a safe instruction and no frame is a limit's own bookkeeping."""
    if frame.f_code.co_code[frame.f_lasti] not in _SAFE_OPCODES:
        return False
    while frame is not None:
        if frame.f_code in _PROTECTED:
            return False
        frame = frame.f_back
    return True


def _fire(state: _State, now: float) -> None:
    """Send the alarm to every thread whose deadline (or repeat) is due (lock held)."""
    frames = sys._current_frames()
    for tid, thread in list(state.threads.items()):
        if thread.next_time() > now:
            continue
        if tid not in frames:  # the thread has ended
            del state.threads[tid]
        elif not _interruptible(frames[tid]):
            thread.due = now + RETRY_SECONDS
        else:
            thread.owner().expired = True
            _send(tid, Expired)
            thread.sent = True
            thread.due = now + REPEAT_SECONDS


def _watch(state: _State) -> None:
    """The watchdog: sleep until the next due deadline, fire, repeat; end when idle for IDLE_SECONDS."""
    with state.lock:
        idle_since = None
        while True:
            now = time.monotonic()
            if not state.threads:
                idle_since = now if idle_since is None else idle_since
                if now - idle_since >= IDLE_SECONDS:
                    state.watchdog = None
                    return
                state.planned = idle_since + IDLE_SECONDS
            else:
                idle_since = None
                _fire(state, now)
                state.planned = min((t.next_time() for t in state.threads.values()), default=now)
            state.wake.wait(max(state.planned - time.monotonic(), 0))


def _after_fork_in_child() -> None:
    """A forked child has only the forking thread: fresh lock, its own blocks kept, a new watchdog on demand."""
    global _STATE
    old = _STATE
    _STATE = _State(old.threads.get(threading.get_ident()))
    _STATE.previous_hook = old.previous_hook
    if _STATE.threads:
        with _STATE.lock:
            _live_changed()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
