r"""One result vocabulary: a quantity with an error, kept in log space so that depth never under- or overflows.

The analytic routes (closed form, transfer operator, independence approximation) and Monte Carlo all describe the
gradient product :math:`\prod_t w_t\varphi'(v_t)` by the same named quantities, :data:`NAMES`, each a
:class:`LogQuantity`. A comparison is then ``analytic[q]`` against ``simulated[q]``.

>>> q = LogQuantity.of(-0.25, 1e-17)
>>> q.value, q.sign, round(q.log_abs, 6)
(-0.25, -1, -1.386294)
"""
from __future__ import annotations

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


@dataclass(frozen=True)
class LogQuantity:
    r"""A value :math:`s\,e^{\ell}` (sign :math:`s \in \{-1, 0, 1\}`, :math:`\ell` = ``log_abs``) with an absolute
    error :math:`e^{\ell_e}` (``log_error``; ``-inf`` for an exact value, ``nan`` when unknown).

    ``value`` and ``error`` are the floats (0 or inf outside the float range); the logs are what is exact.
    ``converged`` is False when the error estimate missed the tolerance the producer asked for.
    """

    log_abs: float
    sign: int
    log_error: float
    converged: bool = True

    @classmethod
    def of(cls, value: float, error: float = 0.0, converged: bool = True) -> "LogQuantity":
        """From plain floats."""
        v, e = float(value), abs(float(error))
        sign = 0 if v == 0 else (1 if v > 0 else -1)
        return cls(log_or_minus_inf(abs(v)) if math.isfinite(v) else math.inf, sign,
                   log_or_minus_inf(e) if math.isfinite(e) else (math.nan if math.isnan(e) else math.inf),
                   converged)

    @property
    def value(self) -> float:
        return self.sign * exp_or_inf(self.log_abs) if self.sign else 0.0

    @property
    def error(self) -> float:
        return math.nan if math.isnan(self.log_error) else exp_or_inf(self.log_error)

    @property
    def relative_error(self) -> float:
        """error / |value| (inf for a zero value with a non-zero error, 0 for an exact zero)."""
        if self.sign == 0:
            return 0.0 if self.log_error == -math.inf else math.inf
        return exp_or_inf(self.log_error - self.log_abs)

    def as_dict(self) -> dict:
        """``value``, ``error`` (floats) and the exact ``log_abs``, ``sign``, ``log_error``, ``converged``."""
        return {"value": self.value, "error": self.error, "log_abs": self.log_abs, "sign": self.sign,
                "log_error": self.log_error, "converged": self.converged}


@dataclass(frozen=True)
class QuantitySeries:
    """A quantity at depths 1…r as arrays (``log_abs``, ``sign``, ``log_error``, ``converged``); indexing gives a
    :class:`LogQuantity` (index k is depth k + 1), so a million depths cost four arrays, not a million objects."""

    log_abs: "object"
    sign: "object"
    log_error: "object"
    converged: "object"

    def __len__(self) -> int:
        return len(self.log_abs)

    def __getitem__(self, k: int) -> LogQuantity:
        return LogQuantity(float(self.log_abs[k]), int(self.sign[k]), float(self.log_error[k]),
                           bool(self.converged[k]))

    def __iter__(self):
        return (self[k] for k in range(len(self)))

    @property
    def values(self):
        """The plain floats (0 or inf outside the float range)."""
        import numpy as np

        with np.errstate(over="ignore", under="ignore"):
            return np.where(self.sign != 0, self.sign * np.exp(np.minimum(self.log_abs, 709.78)), 0.0)
