r"""One result vocabulary: a quantity with an error, kept in log space so that depth never under- or overflows.

The analytic routes (closed form, transfer operator, independence approximation) and Monte Carlo all describe the
gradient product :math:`\prod_t w_t\varphi'(v_t)` by the same named quantities, :data:`NAMES`, each a
:class:`LogQuantity`. A comparison is then ``analytic[q]`` against ``simulated[q]``.

A value that missed its tolerance is *withheld*: ``value`` is None and ``reason`` says why.

>>> q = LogQuantity.of(-0.25, 1e-17)
>>> q.value, q.sign, round(q.log_abs, 6)
(-0.25, -1, -1.386294)
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

#: The named quantities of a gradient product: E[∏], E|∏|, E[∏²], E[log|∏| | ∏ ≠ 0], P(∏ = 0).
NAMES = ("mean", "mean_abs", "mean_square", "log_mean", "zero_probability")
#: The standard normal law :math:`N(0, 1)` as a distribution spec: the pre-activation law of the independence
#: approximation unless another is given.
STANDARD_NORMAL = "normal(0, 1)"
#: Quantities that are plain numbers (never huge or tiny), stored with ``log_abs`` = log|value| all the same.
LINEAR = ("log_mean", "zero_probability")


def exp_or_inf(x: float) -> float:
    """``exp(x)``, 0.0 for ``-inf`` and ``inf`` past the float range (never an OverflowError)."""
    if x == -math.inf:
        return 0.0
    return math.exp(x) if x < 709.78 else math.inf


def log_or_minus_inf(x: float) -> float:
    """``log(x)`` for x ≥ 0, ``-inf`` at 0."""
    return -math.inf if x == 0 else math.log(x)


def format_log(log_abs: float, digits: int = 2) -> str:
    r""":math:`e^{\ell}` as text with ``digits`` significant digits, from its natural log (also far outside the
    float range): ``format_log(math.log(5.4e-15))`` is ``'5.4e-15'``."""
    if math.isnan(log_abs):
        return "nan"
    if log_abs == math.inf:
        return "inf"
    if log_abs == -math.inf:
        return "0"
    exponent = math.floor(log_abs / math.log(10))
    mantissa = 10 ** (log_abs / math.log(10) - exponent)
    text = f"{mantissa:.{digits}g}"
    if float(text) >= 10:  # rounding carried into the next power of ten
        text, exponent = f"{mantissa / 10:.{digits}g}", exponent + 1
    return f"{text}e{exponent:+03d}"


def missed_tolerance(log_error: float, log_limit: float = math.nan, tolerance: str = "") -> str:
    """Why a value is withheld: its error against the largest error its producer allowed (``log_limit``, the log of
    that absolute error, with ``tolerance`` saying how it was set), or, when the limit is not known, the error
    alone.

    >>> missed_tolerance(math.log(5.4e-15), math.log(1.5e-22), "relative 1e-08")
    'error 5.4e-15 exceeds the tolerance 1.5e-22 (relative 1e-08)'
    """
    error = "unknown error" if math.isnan(log_error) else f"error {format_log(log_error)}"
    if not math.isnan(log_limit) and not log_error <= log_limit:
        digits = 2  # enough digits that the two numbers read differently
        while digits < 6 and format_log(log_error, digits) == format_log(log_limit, digits):
            digits += 1
        error = "unknown error" if math.isnan(log_error) else f"error {format_log(log_error, digits)}"
        return (f"{error} exceeds the tolerance {format_log(log_limit, digits)}"
                + (f" ({tolerance})" if tolerance else ""))
    return f"{error} misses the tolerance asked for" + (f" ({tolerance})" if tolerance else "")


@dataclass(frozen=True)
class LogQuantity:
    r"""A value :math:`s\,e^{\ell}` (sign :math:`s \in \{-1, 0, 1\}`, :math:`\ell` = ``log_abs``) with an absolute
    error :math:`e^{\ell_e}` (``log_error``; ``-inf`` for an exact value, ``nan`` when unknown).

    **Converged or withheld.** ``converged`` is False when the error missed the tolerance the producer asked for;
    the value is then *withheld*: ``value`` is None, ``reason`` says why (the error, which is honest, stays), and
    ``as_dict`` gives ``"value": None`` with the reason. ``log_abs``, ``sign`` and ``estimate`` still carry the
    unvetted estimate, for diagnostics and comparisons that weigh it by its error; never print them as the value.

    ``value`` and ``error`` are floats (0 or inf outside the float range); the logs are what is exact.

    >>> q = LogQuantity.of(0.5, 0.01, converged=False)
    >>> q.value is None, q.withheld, q.reason, q.estimate
    (True, True, 'error 1e-02 misses the tolerance asked for', 0.5)
    """

    log_abs: float
    sign: int
    log_error: float
    converged: bool = True
    reason: str | None = None

    def __post_init__(self) -> None:
        if not self.converged and self.reason is None:
            object.__setattr__(self, "reason", missed_tolerance(self.log_error))

    @classmethod
    def of(cls, value: float, error: float = 0.0, converged: bool = True, reason: str | None = None) -> "LogQuantity":
        """From plain floats."""
        v, e = float(value), abs(float(error))
        sign = 0 if v == 0 else (1 if v > 0 else -1)
        return cls(log_or_minus_inf(abs(v)) if math.isfinite(v) else math.inf, sign,
                   log_or_minus_inf(e) if math.isfinite(e) else (math.nan if math.isnan(e) else math.inf),
                   converged, reason)

    @property
    def withheld(self) -> bool:
        """True when the value missed its tolerance and must not be shown as a number."""
        return not self.converged

    def withhold(self, reason: str) -> "LogQuantity":
        """The same estimate, withheld for ``reason``."""
        return dataclasses.replace(self, converged=False, reason=reason)

    @property
    def estimate(self) -> float:
        """The unvetted estimate as a float, withheld or not (for diagnostics; the value to show is ``value``)."""
        return self.sign * exp_or_inf(self.log_abs) if self.sign else 0.0

    @property
    def value(self) -> float | None:
        """The value as a float, or None when it is withheld (see ``reason``)."""
        return None if self.withheld else self.estimate

    @property
    def error(self) -> float:
        return math.nan if math.isnan(self.log_error) else exp_or_inf(self.log_error)

    @property
    def relative_error(self) -> float:
        """``error / |estimate|`` (inf for a zero value with a non-zero error, 0 for an exact zero)."""
        if self.sign == 0:
            return 0.0 if self.log_error == -math.inf else math.inf
        return exp_or_inf(self.log_error - self.log_abs)

    def as_dict(self) -> dict:
        """``value`` (None when withheld), ``error`` (floats), the exact ``log_abs``, ``sign``, ``log_error``,
        ``converged`` and ``reason`` (None unless withheld)."""
        return {"value": self.value, "error": self.error, "log_abs": self.log_abs, "sign": self.sign,
                "log_error": self.log_error, "converged": self.converged,
                "reason": self.reason if self.withheld else None}


@dataclass(frozen=True)
class QuantitySeries:
    """A quantity at depths 1…r as arrays (``log_abs``, ``sign``, ``log_error``, ``converged``); indexing gives a
    :class:`LogQuantity` (index k is depth k + 1), withheld where not converged, so a million depths cost four
    arrays, not a million objects.

    ``log_limit`` (optional, per depth) is the log of the largest absolute error the producer allowed and
    ``tolerance`` says how it was set (e.g. ``"relative 1e-08"``); with them a withheld quantity's reason names
    the tolerance it missed.
    """

    log_abs: "object"
    sign: "object"
    log_error: "object"
    converged: "object"
    log_limit: "object" = None
    tolerance: str = ""

    def __len__(self) -> int:
        return len(self.log_abs)

    def __getitem__(self, k: int) -> LogQuantity:
        ok = bool(self.converged[k])
        reason = None
        if not ok:
            limit = math.nan if self.log_limit is None else float(self.log_limit[k])
            reason = missed_tolerance(float(self.log_error[k]), limit, self.tolerance)
        return LogQuantity(float(self.log_abs[k]), int(self.sign[k]), float(self.log_error[k]), ok, reason)

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    @property
    def withheld(self):
        """Boolean array: True at the depths whose value is withheld."""
        import numpy as np

        return ~np.asarray(self.converged, bool)

    @property
    def estimates(self):
        """The unvetted estimates as floats (0 or inf outside the float range), withheld or not: for diagnostics."""
        import numpy as np

        with np.errstate(over="ignore", under="ignore"):
            return np.where(self.sign != 0, self.sign * np.exp(np.minimum(self.log_abs, 709.78)), 0.0)

    @property
    def values(self):
        """The values as floats (0 or inf outside the float range), ``nan`` where withheld."""
        import numpy as np

        return np.where(self.withheld, np.nan, self.estimates)
