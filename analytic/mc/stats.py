r"""Streaming statistics of the simulations: estimates with standard errors, merged block by block.

* :class:`Stat` — an estimate and its standard error; :class:`ScaledStat` — a sample mean kept as
  :math:`\mathrm{sign}\cdot e^{\text{log\_abs}}` with a standard error :math:`e^{\text{log\_stderr}}`, so means of
  :math:`10^{\pm 500}` stay exact.
* :func:`summary` — one block's (count, exponent, mean, sum of squared deviations); :class:`ScaledWelford` and
  :class:`Welford` merge such summaries in block order (Chan's parallel update), the scaled one with a common
  power-of-two exponent :math:`c` (rescaling by a power of two is exact).
* :func:`median_of_logs` — the median of :math:`|g|` from :math:`\log|g|`, with the distribution-free
  order-statistic standard error.

>>> acc = Welford()
>>> for block in (np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0])):
...     acc.merge(summary(block, None))
>>> mean, sd = acc.stat()
>>> mean.value, round(sd, 12)  # mean 3, sample sd sqrt(2.5)
(3.0, 1.581138830084)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..quantities import LogQuantity, exp_or_inf

LN2 = math.log(2.0)


@dataclass(frozen=True)
class Stat:
    """An estimate and its standard error."""

    value: float
    stderr: float

    def as_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr}


@dataclass(frozen=True)
class ScaledStat(LogQuantity):
    r"""A sample mean that may under- or overflow a float, in the shared vocabulary: a
    :class:`~analytic.quantities.LogQuantity` whose error is the standard error, value
    :math:`= \mathrm{sign}\cdot e^{\text{log\_abs}}`, standard error :math:`e^{\text{log\_stderr}}`.
    ``value``/``stderr`` give the floats (0 or inf when outside the float range); the logs are exact.
    """

    @property
    def log_stderr(self) -> float:
        """The log of the standard error (the quantity's ``log_error``)."""
        return self.log_error

    @property
    def stderr(self) -> float:
        return self.error

    def as_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr, "log_abs": self.log_abs, "sign": self.sign,
                "log_stderr": self.log_stderr}


def summary(x: np.ndarray, c: int | None) -> tuple:
    r"""(n, exponent, mean, sum of squared deviations) of the values :math:`x 2^c` (``c`` None: no exponent)."""
    if x.size == 0:
        return (0, None, 0.0, 0.0)
    mean = float(x.mean())
    dev = x - mean
    dev *= dev  # (not np.dot: a BLAS call, slow when its threads compete for the cores)
    return (x.size, c, mean, float(dev.sum()))


class ScaledWelford:
    r"""Running count, mean and sum of squared deviations of :math:`x\,2^{-c}` (Chan's parallel merge), with a
    common power-of-two exponent :math:`c` so means of :math:`10^{\pm 500}` stay exact (rescaling by a power of
    two is exact)."""

    def __init__(self) -> None:
        self.n, self.c, self.mean, self.m2 = 0, None, 0.0, 0.0

    def merge(self, block: tuple) -> None:
        """Merge ``(n, c, mean, m2)`` of values :math:`x 2^c` (``c`` None: all values are 0)."""
        n, c, m, m2 = block
        if n == 0:
            return
        if self.n == 0:
            self.n, self.c, self.mean, self.m2 = n, c, m, m2
            return
        if c is None or self.c is None:
            C = self.c if c is None else c
        else:
            C = max(self.c, c)
        if C is None:
            self.n += n
            return
        a1 = math.ldexp(1.0, max(self.c - C, -2000)) if self.c is not None else 0.0
        a2 = math.ldexp(1.0, max(c - C, -2000)) if c is not None else 0.0
        m1, m2_ = self.mean * a1, m * a2
        total = self.n + n
        delta = m2_ - m1
        self.m2 = self.m2 * a1 * a1 + m2 * a2 * a2 + delta * delta * self.n * n / total
        self.mean = m1 + delta * n / total
        self.n, self.c = total, C

    def ess(self) -> float:
        r"""Effective sample size :math:`(\sum x)^2/\sum x^2` for non-negative values :math:`x`."""
        if self.n == 0 or self.mean == 0:
            return 0.0
        return self.n / (1.0 + self.m2 / self.n / self.mean**2)

    def stat(self) -> ScaledStat:
        r"""The mean and its standard error :math:`\sqrt{m_2/((n-1)n)}`, in logs."""
        if self.n == 0:
            return ScaledStat(math.nan, 0, math.nan)
        c = (self.c or 0) * LN2
        sign = int(np.sign(self.mean))
        log_abs = math.log(abs(self.mean)) + c if self.mean != 0 else -math.inf
        var_of_mean = self.m2 / (self.n - 1) / self.n if self.n > 1 else math.nan
        log_se = 0.5 * math.log(var_of_mean) + c if var_of_mean > 0 else -math.inf
        return ScaledStat(log_abs, sign, log_se)


def summary4(x: np.ndarray) -> tuple:
    """(n, None, mean, and the sums of the 2nd, 3rd and 4th powers of the deviations) of ``x``."""
    if x.size == 0:
        return (0, None, 0.0, 0.0, 0.0, 0.0)
    mean = float(x.mean())
    dev = x - mean
    d2 = dev * dev
    return (x.size, None, mean, float(d2.sum()), float((d2 * dev).sum()), float((d2 * d2).sum()))


class Welford:
    """Running mean and sum of squared deviations (Chan's merge of per-block summaries); with blocks from
    :func:`summary4`, also the sums of the 3rd and 4th powers of the deviations (Pébay's merge), for
    :meth:`ess`."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2, self.m3, self.m4 = 0, 0.0, 0.0, 0.0, 0.0

    def merge(self, block: tuple) -> None:
        """Merge ``(n, c, mean, m2)`` from :func:`summary` or ``(n, c, mean, m2, m3, m4)`` from :func:`summary4`
        (``c`` is ignored)."""
        n, _, m, m2 = block[:4]
        m3, m4 = block[4:6] if len(block) > 4 else (math.nan, math.nan)
        if n == 0:
            return
        na, total = self.n, self.n + n
        delta = m - self.mean
        self.m4 += (m4 + delta**4 * na * n * (na * na - na * n + n * n) / total**3
                    + 6 * delta**2 * (na * na * m2 + n * n * self.m2) / total**2
                    + 4 * delta * (na * m3 - n * self.m3) / total)
        self.m3 += (m3 + delta**3 * na * n * (na - n) / total**2 + 3 * delta * (na * m2 - n * self.m2) / total)
        self.m2 += m2 + delta * delta * na * n / total
        self.mean += delta * n / total
        self.n = total

    def ess(self) -> float:
        r"""Effective sample size of the sample variance, :math:`(\sum d^2)^2/\sum d^4` over the deviations
        :math:`d` from the mean (:math:`n/3` for a normal sample; a few when a few values carry the variance,
        and then the standard error of the mean is unreliable); nan without the fourth moment."""
        if self.n < 2 or not self.m4 > 0:
            return math.nan if math.isnan(self.m4) else float(self.n)
        return self.m2 * self.m2 / self.m4

    def stat(self) -> tuple[Stat, float]:
        """The mean with its standard error, and the sample standard deviation."""
        if self.n == 0:
            return Stat(math.nan, math.nan), math.nan
        var = self.m2 / (self.n - 1) if self.n > 1 else math.nan
        return Stat(self.mean, math.sqrt(var / self.n) if self.n > 1 else math.nan), math.sqrt(var)


def median_of_logs(logs: np.ndarray) -> tuple[Stat, Stat]:
    r"""Median of :math:`|g|` from log|g| values (reordered in place), with the order-statistic standard error.

    The interval between the order statistics of ranks :math:`n/2 \pm \sqrt n/2` covers the median with
    probability about 68 % whatever the distribution; half its length is the standard error (linear and log).
    ``numpy.partition`` selects those ranks in linear time, in place.

    >>> m, lm = median_of_logs(np.log(np.array([4.0, 1.0, 3.0, 2.0, 5.0])))
    >>> round(m.value, 12)
    3.0
    """
    n = logs.size
    if n == 0:
        return Stat(math.nan, math.nan), Stat(math.nan, math.nan)
    half = math.sqrt(n) / 2
    lo = max(0, int(math.floor((n - 1) / 2 - half)))
    hi = min(n - 1, int(math.ceil((n - 1) / 2 + half)))
    mid = sorted({(n - 1) // 2, n // 2})
    # in place, no copy of up to MEDIAN_KEEP values; one rank per call (NumPy's several-ranks partition is about
    # ten times slower): rank hi, then lo below it, then the middle ranks among the few values between them
    logs.partition(hi)
    if lo < hi:
        logs[:hi].partition(lo)
    inner = [k - lo - 1 for k in mid if lo < k < hi]
    if inner:
        logs[lo + 1:hi].partition(inner)
    lm = float(np.logaddexp(logs[mid[0]], logs[mid[-1]]) - math.log(2))  # mean of the two middle values
    l_lo, l_hi = float(logs[lo]), float(logs[hi])
    median = Stat(exp_or_inf(lm), (exp_or_inf(l_hi) - exp_or_inf(l_lo)) / 2)
    log_median = Stat(lm, (l_hi - l_lo) / 2 if math.isfinite(l_hi - l_lo) else math.inf)
    return median, log_median


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    r""":math:`\log\sum e^{a}` along ``axis``, shifted by the maximum (``-inf`` where every term is 0)."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))
