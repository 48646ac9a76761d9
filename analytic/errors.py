"""Exceptions raised by :mod:`analytic`, and the deadline for symbolic work on user formulas.

Every error a user can provoke with bad input is an :class:`AnalyticError`; the CLI prints its message on one
line and exits with status 2.

>>> from analytic.errors import within
>>> within(1.0, "adding", sum, [1, 1])
2
"""
from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping

from .budget import Expired, run


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
                  error: type[AnalyticError] = AnalyticError, *, allow_float: bool = True) -> int:
    """``value`` as an ``int`` in ``[low, high]`` (an integral float such as ``2.0`` is accepted unless
    ``allow_float`` is False, a bool never); otherwise ``error`` with a one-line message naming ``name``.

    >>> canonical_int("depth", 10.0, 1)
    10
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if allow_float and isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise error(f"{name} must be an integer, got {show_value(value)}")
    value = int(value)
    if value < low or (high is not None and value > high):
        allowed = f"between {low} and {high}" if high is not None else f">= {low}"
        raise error(f"{name} must be {allowed}, got {show_value(value)}")
    return value


def canonical_float(name: str, value: object, low: float | None = None, high: float | None = None, *,
                    open_low: bool = False, open_high: bool = False,
                    error: type[AnalyticError] = ArgumentError) -> float:
    """``value`` as a finite ``float`` in the range ``[low, high]`` (``(low, ...`` with ``open_low``); otherwise
    ``error`` with a one-line message naming ``name``.

    Accepts real numbers only (Python, NumPy, SymPy numbers; not bools, not text): an integer too large for a
    float (``10**400``), NaN and infinities are refused here, so no ``OverflowError`` reaches the caller.

    >>> canonical_float("sigma_w2", 2, low=0, open_low=True)
    2.0
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if not (hasattr(value, "is_real") and getattr(value, "is_number", False) and value.is_real):
            raise error(f"{name} must be a number, got {show_value(value)}")
    try:
        number = float(value)
    except Exception:  # noqa: BLE001 - too large for a float, or a number type whose __float__ fails
        raise error(f"{name} must be a finite number, got {show_value(value)}") from None
    if not math.isfinite(number):
        raise error(f"{name} must be a finite number, got {show_value(value)}")
    below = low is not None and (number < low or (open_low and number == low))
    above = high is not None and (number > high or (open_high and number == high))
    if below or above:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        span = f"{'(' if open_low or low is None else '['}{lo}, {hi}{')' if open_high or high is None else ']'}"
        raise error(f"{name} must be in {span}, got {number:g}")
    return number


def canonical_text(name: str, value: object, choices: tuple[str, ...] | None = None,
                   error: type[AnalyticError] = ArgumentError, *, max_length: int | None = None) -> str:
    """``value`` as a ``str`` (one of ``choices`` when given; printable and at most ``max_length`` characters when
    that is given); otherwise ``error`` naming ``name``.

    >>> canonical_text("format", "png", ("png", "svg"))
    'png'
    """
    if not isinstance(value, str):
        raise error(f"{name} must be text, got {show_value(value)}")
    if choices is not None and value not in choices:
        raise error(f"{name} must be one of {', '.join(choices)}; got {show_value(value)}")
    if max_length is not None:
        if len(value) > max_length:
            raise error(f"{name} is {len(value)} characters long; the limit is {max_length}")
        if not value.isprintable():
            raise error(f"{name} must be printable text, got {show_value(value)}")
    return value


def canonical_bool(name: str, value: object, error: type[AnalyticError] = ArgumentError) -> bool:
    """``value`` when it is ``True`` or ``False`` (a NumPy bool too); otherwise ``error`` naming ``name``: a number
    or text is not read as a truth value.

    >>> canonical_bool("legend", False)
    False
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return bool(value)
    raise error(f"{name} must be True or False, got {show_value(value)}")


def canonical_ints(name: str, value: object, low: int, high: int | None = None,
                   error: type[AnalyticError] = ArgumentError, *, allow_empty: bool = False) -> tuple[int, ...]:
    """A list or tuple of integers in ``[low, high]`` (each as :func:`canonical_int` takes it) as a tuple; text,
    a single number or (unless ``allow_empty``) an empty list is ``error`` naming ``name``.

    >>> canonical_ints("depths", [1, 2.0], 1)
    (1, 2)
    """
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, range)) and \
            type(value).__name__ != "ndarray":
        raise error(f"{name} must be a list of integers, got {show_value(value)}")
    items = tuple(canonical_int(f"each of {name}", v, low, high, error) for v in list(value))
    if not items and not allow_empty:
        raise error(f"{name} must hold at least one integer")
    return items


def canonical_keywords(where: str, given: Mapping, allowed: tuple[str, ...],
                       error: type[AnalyticError] = ArgumentError) -> dict:
    """``given`` (the ``**kwargs`` of ``where``) when every key is one of ``allowed``; otherwise ``error`` naming
    the first unknown one, so a misspelt option is never silently ignored.

    >>> canonical_keywords("depth_table", {"x": 1.0}, ("x", "bias"))
    {'x': 1.0}
    """
    unknown = sorted(str(k) for k in given if k not in allowed)
    if unknown:
        raise error(f"{where} has no option {show_value(unknown[0])} (its options: {', '.join(allowed) or 'none'})")
    return dict(given)


def canonical_params(params: object, error: type[AnalyticError] | None = None) -> dict[str, object]:
    """``params`` (``None`` or a mapping of parameter names to finite real numbers) as a plain ``dict``.

    Values keep their exact type (``int``, ``Fraction``, a SymPy ``Rational``); NumPy scalars become ``float``.
    Text values are refused, since SymPy would evaluate them.

    >>> canonical_params({"a": 0.5})
    {'a': 0.5}
    """
    error = error or ParameterError
    if params is None:
        return {}
    if not isinstance(params, Mapping):
        raise error(f"params must be a mapping of names to numbers, got {show_value(params)}")
    out: dict[str, object] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise error(f"parameter name {show_value(name)} is not a name")
        number = canonical_float(f"parameter {name}", value, error=error)
        out[name] = value if isinstance(value, int) or getattr(value, "is_Rational", False) else number
    return out


def canonical_names(name: str, value: object, error: type[AnalyticError] = ArgumentError) -> tuple[str, ...] | None:
    """``None``, or a list or tuple of strings as a tuple; otherwise ``error`` naming ``name``.

    >>> canonical_names("only", ["a", "b"])
    ('a', 'b')
    """
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
        raise error(f"{name} must be a list of names, got {show_value(value)}")
    for item in value:
        if not isinstance(item, str):
            raise error(f"{name} must hold names (text), got {show_value(item)}")
    return tuple(value)


def canonical_callable(name: str, value: object, error: type[AnalyticError] = ArgumentError):
    """``value`` when it is ``None`` or callable; otherwise ``error``."""
    if value is not None and not callable(value):
        raise error(f"{name} must be a function or None, got {show_value(value)}")
    return value


#: Integers and decimal numbers as a user types them: ASCII digits only (``int()`` and ``float()`` would also read
#: full-width and Arabic-Indic digits, and ``1_000``).
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")
_FLOAT_TEXT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)",
                         re.IGNORECASE)


def number_from_text(name: str, text: str, integer: bool = False,
                     error: type[AnalyticError] = ArgumentError) -> int | float:
    """A number typed by a user: an ``int`` (ASCII digits, optional sign) or a ``float`` (decimal or exponent
    notation); ranges are for :func:`canonical_int` / :func:`canonical_float` to check.

    >>> number_from_text("depth", "12", integer=True), number_from_text("x", "-1.5e-3")
    (12, -0.0015)
    """
    if not isinstance(text, str):
        raise error(f"{name} must be text, got {show_value(text)}")
    text = text.strip()
    if integer:
        if not _INTEGER_TEXT.fullmatch(text) or len(text) > 4000:
            raise error(f"{name} must be an integer written with the digits 0-9, got {show_value(text)}")
        return int(text)
    if not _FLOAT_TEXT.fullmatch(text):
        raise error(f"{name} must be a number written with the digits 0-9, got {show_value(text)}")
    return float(text)


#: Longest error message the command line prints (characters); longer ones are cut with an ellipsis.
MAX_MESSAGE = 300


def one_line(text: object, limit: int = MAX_MESSAGE) -> str:
    r"""``str(text)`` on one line (whitespace runs joined) and at most ``limit`` characters.

    >>> one_line("a\n  b")
    'a b'
    """
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 1] + "…"


def show_value(value: object) -> str:
    """A value for an error message: its repr, shortened (an integer too long for ``repr`` by its size)."""
    if isinstance(value, int) and value.bit_length() > 2000:
        return f"<an integer of about {int(value.bit_length() * 0.30103)} digits>"
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - a hostile __repr__
        text = f"<{type(value).__name__}>"
    if len(text) > 60:
        text = text[:59] + "…"
    return text


#: Longest deadline (seconds) :func:`within` accepts.
MAX_SECONDS = 86400.0


def within(seconds: float | None, what: str, function, *args):
    """``function(*args)``, refused with :class:`ComputationTimeout` if it has not finished after ``seconds``
    (``None``: no deadline, the call runs here).

    For symbolic work on a user's formula only: the work runs in a worker process that is killed at the deadline
    (:mod:`analytic.budget`), so it holds in any thread; a caller refuses the formula on the timeout, or takes
    another route and says so in what it prints. Catalogue entries pass ``None``: what they print never depends
    on how busy the machine is. Zero, negative, NaN and over-long deadlines are refused with
    :class:`ArgumentError`.
    """
    if seconds is not None:
        seconds = canonical_float("time limit", seconds, 0, MAX_SECONDS, open_low=True)
    try:
        return run(seconds, function, *args)
    except Expired as exc:
        ended = "its worker process ended without an answer" if exc.args[0] != "timeout" else ""
        raise ComputationTimeout(f"{what} {ended or f'did not finish within {seconds:g} s'}") from None
