r"""The :math:`\sigma_w^2` that keeps a deep wide network's gradients within a factor k (mean field).

A depth-L network of width :math:`n \to \infty` with :math:`W_{ij} \sim (0, \sigma_w^2/n)` and bias variance
:math:`\sigma_b^2` multiplies the squared gradient norm by :math:`\chi_1 = \sigma_w^2 E[\varphi'(\sqrt{q^*} z)^2]`
per layer at the fixed point :math:`q^*(\sigma_w^2, \sigma_b^2)` of the length map
(:func:`~analytic.theory.meanfield.mean_field`), so across L layers by :math:`\chi_1^L`. Within a factor k both
ways means :math:`k^{-1} \le \chi_1^L \le k`, i.e. :math:`|L \ln\chi_1| \le \ln k`. Starting from the critical
:math:`\sigma_w^2` (:math:`\chi_1 = 1`, :func:`~analytic.theory.criticality.critical_sigma_w2`) the two endpoints
are the nearest roots of :math:`L\ln\chi_1(\sigma_w^2) = \mp\ln k` below and above it, found by ``brentq`` on a
bracket found by geometric steps; :math:`L\ln\chi_1` is checked to keep one sign between the critical point and
each endpoint on the bracketing steps.

**Error of an endpoint:** the root-finder's tolerance plus the shift that :math:`\chi_1`'s relative error
:data:`CHI_ERROR` (the mean field re-checks its fixed points to :data:`~analytic.theory.meanfield.VERIFY`) causes:
:data:`CHI_ERROR` divided by :math:`|d\ln\chi_1/d\sigma_w^2|` (a central difference at the endpoint).

**Caveat:** this is the infinite-width mean field. At finite width n the squared gradient norm fluctuates around
:math:`\chi_1^L` with :math:`\operatorname{Var}\ln \approx 5L/n` for ReLU (Hanin & Nica 2019;
:func:`~analytic.theory.finite_width.finite_width`), so a network with L/n not small can leave the factor even
inside the interval.

>>> r = sigma_w2_range("relu", 10, factor=10.0)
>>> round(r.low, 6), round(r.high, 6)  # 2 * 10**(-1/10), 2 * 10**(1/10)
(1.588656, 2.517851)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from scipy.optimize import brentq

from ..core.calculus import resolve
from ..core.display import displayable
from ..core.registry import Activation
from ..errors import ConvergenceError, DepthError, canonical_float, canonical_int
from .criticality import critical_sigma_w2
from .meanfield import _canonical_variances, mean_field

__all__ = ["SigmaW2Range", "sigma_w2_range", "CHI_ERROR", "MAX_DEPTH"]

#: Relative error assumed for :math:`\chi_1` from :func:`~analytic.theory.meanfield.mean_field`.
CHI_ERROR = 1e-9
#: Largest depth accepted.
MAX_DEPTH = 10**6
#: Bracketing range of sigma_w^2 searched on either side of the critical point.
SEARCH = (1e-6, 1e6)
CAVEAT = ("infinite-width mean field: at finite width n the gradient norm fluctuates around chi1^L "
          "(Var ln ~ 5 L/n for ReLU), so keep L/n small")
MODEL = "mean field (width -> infinity)"


@displayable(title=lambda r: f"{MODEL}: sigma_w^2 keeping depth-{r.depth} {r.activation} gradients within a "
                             f"factor {r.factor:g} (sigma_b^2 = {r.sigma_b2:g}); {CAVEAT}",
             name="MeanFieldRange",
             headline=(("act", lambda r: r.activation), ("L", lambda r: r.depth), ("k", lambda r: r.factor),
                       ("sigma_b2", lambda r: r.sigma_b2), ("low", lambda r: r.low), ("high", lambda r: r.high)),
             summary=lambda r: {"model": MODEL, **{k: v for k, v in r.as_dict().items()
                                                   if isinstance(v, (str, int, float))}})
@dataclass(frozen=True)
class SigmaW2Range:
    r"""The interval ``[low, high]`` of :math:`\sigma_w^2` with :math:`k^{-1} \le \chi_1^L \le k` (mean field).

    Fields: ``activation``, ``depth`` (L), ``sigma_b2``, ``factor`` (k), ``low``, ``high`` and their errors
    ``low_error``, ``high_error`` (absolute), ``critical`` (the :math:`\sigma_w^2` with :math:`\chi_1 = 1`),
    ``caveat`` (finite width). ``to_frame()`` has one row with these columns.
    """

    activation: str
    depth: int
    sigma_b2: float
    factor: float
    low: float
    high: float
    low_error: float
    high_error: float
    critical: float
    caveat: str = CAVEAT

    def as_dict(self) -> dict:
        """JSON-ready form: every field, and ``model``."""
        return {"activation": self.activation, "depth": self.depth, "sigma_b2": self.sigma_b2,
                "factor": self.factor, "low": self.low, "low_error": self.low_error, "high": self.high,
                "high_error": self.high_error, "critical": self.critical, "model": MODEL, "caveat": self.caveat}


def _endpoint(f, crit: float, target: float, up: bool) -> tuple[float, float]:
    """The nearest root of f(s) = target from ``crit`` going up (or down), and its error."""
    step = 1.25
    a = crit
    while True:
        b = a * step if up else a / step
        if not SEARCH[0] <= b <= SEARCH[1]:
            raise ConvergenceError(f"L ln chi1 does not reach {target:+.3g} for sigma_w^2 in "
                                   f"[{SEARCH[0]:g}, {SEARCH[1]:g}]")
        fb = f(b) - target
        if fb == 0 or (fb > 0) == (target > 0):
            break
        if (f(b) > 0) != (target > 0) and f(b) != 0:  # L ln chi1 turned back across the critical value
            raise ConvergenceError("chi1 is not monotone in sigma_w^2 between the critical point and the factor")
        a = b
    lo, hi = (a, b) if up else (b, a)
    xtol, rtol = 1e-13, 4e-15
    root = brentq(lambda s: f(s) - target, lo, hi, xtol=xtol, rtol=rtol)
    h = 1e-5 * root
    slope = (f(root + h) - f(root - h)) / (2 * h)  # d(L ln chi1)/d sigma_w^2
    err = xtol + rtol * root + f.depth * CHI_ERROR / abs(slope)
    return root, err


def sigma_w2_range(act: Activation | str, depth: int, sigma_b2: float = 0.0, factor: float = 10.0,
                   params: dict | None = None) -> SigmaW2Range:
    r"""The interval of :math:`\sigma_w^2` for which a depth-``depth`` wide network with bias variance
    ``sigma_b2`` keeps its squared gradient norm within a factor ``factor`` (mean field:
    :math:`|L\ln\chi_1| \le \ln k`), each endpoint with its error. Infinite-width model: see the module's caveat.

    Raises :class:`~analytic.errors.ConvergenceError` when there is no critical :math:`\sigma_w^2` or
    :math:`\chi_1` does not cross the factor monotonically.

    >>> r = sigma_w2_range("relu", 1, factor=2.0)
    >>> round(r.low, 12), round(r.high, 12)  # chi1 = sigma_w^2 / 2 for ReLU
    (1.0, 4.0)
    """
    depth = canonical_int("depth", depth, 1, MAX_DEPTH, DepthError)
    k = canonical_float("factor", factor, 1, 1e300, open_low=True)
    _, sb = _canonical_variances(1.0, sigma_b2)
    act = resolve(act, params)
    crit = critical_sigma_w2(act, sb)

    def f(s: float) -> float:
        chi = mean_field(act, s, sb).chi1
        return depth * math.log(chi) if chi > 0 else -math.inf

    f.depth = depth
    ln_k = math.log(k)
    low, low_err = _endpoint(f, crit, -ln_k, up=False)
    high, high_err = _endpoint(f, crit, ln_k, up=True)
    return SigmaW2Range(act.name, depth, sb, k, low, high, low_err, high_err, crit)
