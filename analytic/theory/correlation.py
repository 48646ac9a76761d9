r"""The correlation map of wide networks, the signal's depth scales and the phase (Schoenholz et al. 2017).

At the length :math:`q^*` reached by the length map (:mod:`analytic.theory.meanfield`), two inputs with
correlation :math:`c_l` have :math:`c_{l+1} = F(c_l) = (\sigma_w^2 E[\varphi(u_1)\varphi(u_2)] + \sigma_b^2)/q^*`,
:math:`u_1 = \sqrt{q^*} z_1`, :math:`u_2 = \sqrt{q^*}(c z_1 + \sqrt{1 - c^2} z_2)` (2-D expectations from
:mod:`analytic.theory.bivariate`). c = 1 is always a fixed point, with slope :math:`F'(1) = \chi_1`;
:math:`\chi_c = F'(c^*) = \sigma_w^2 E[\varphi'(u_1)\varphi'(u_2)]`.

* **Ordered phase** :math:`\chi_1 < 1`: :math:`c^* = 1` is stable. **Chaotic phase** :math:`\chi_1 > 1`: c = 1 is
  unstable and the stable fixed point is :math:`c^* < 1`. On [0, 1] F is convex (its Hermite coefficients are
  :math:`\ge 0`), so there is exactly one :math:`c^* \in [0, 1)` in the chaotic phase, found by ``brentq``.
* **Depth scales** :math:`\xi_q = -1/\ln G'(q^*)`, :math:`\xi_c = -1/\ln\chi_c` (in the ordered phase
  :math:`\chi_c = \chi_1`); :math:`|q_l - q^*| \sim e^{-l/\xi_q}`, :math:`|c_l - c^*| \sim e^{-l/\xi_c}`.

>>> from analytic.theory.correlation import signal_propagation
>>> signal_propagation("tanh", 2.5, 0.05).phase
'chaotic'
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

from ..core.display import displayable, with_model
from ..core.calculus import resolve
from ..core.registry import Activation, BoundActivation
from ..errors import ConvergenceError, canonical_float
from .bivariate import _bivariate, _bivariate_value
from .gaussian import Estimate
from .meanfield import MARGINAL, VERIFY, MeanField, _canonical_q0, _canonical_variances, _depth_scale, _mean_field

#: Factor by which the gradient norm must shrink or grow for ``depth_1e6``.
DEPTH_FACTOR = 1e6


@displayable(title=lambda s: f"mean field (width -> infinity): signal propagation of {s.activation}",
             name="MeanField",
             headline=(("act", lambda s: s.activation), ("sigma_w2", lambda s: s.mean_field.sigma_w2),
                       ("sigma_b2", lambda s: s.mean_field.sigma_b2), ("chi1", lambda s: s.mean_field.chi1),
                       "chi_c", "phase"),
             summary=with_model("mean field (width -> infinity)"))
@dataclass(frozen=True)
class SignalPropagation:
    r"""Mean field at :math:`(\sigma_w^2, \sigma_b^2)`: the length map (:class:`MeanField`), the correlation map's
    stable fixed point :math:`c^*` and slope :math:`\chi_c` there, the depth scales
    :math:`\xi_q = -1/\ln G'(q^*)` and :math:`\xi_c = -1/\ln\chi_c`, the phase, and ``depth_1e6``: the depth over
    which the gradient's squared norm :math:`\propto \chi_1^L` shrinks or grows by :data:`DEPTH_FACTOR`
    (None at :math:`\chi_1 = 1`). ``*_error`` are error estimates of the quadratures."""

    activation: str
    mean_field: MeanField
    c_star: float | None
    c_star_error: float
    chi_c: float | None
    chi_c_error: float
    xi_q: float | None
    xi_c: float | None
    phase: str
    depth_1e6: float | None
    method: str
    assumptions: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        """JSON-ready form: ``fixed_points``, ``q_star``, ``chi1``, ``c_star``, ``chi_c``, ``xi_q``, ``xi_c``,
        ``phase``, ``depth_1e6``, the errors, ``sigma_w2``, ``sigma_b2``, ``q0``, ``length_slope``, ``status``,
        ``method``, ``assumptions``."""
        m = self.mean_field
        return {"activation": self.activation, "sigma_w2": m.sigma_w2, "sigma_b2": m.sigma_b2, "q0": m.q0,
                "fixed_points": [f.as_dict() for f in m.fixed_points], "q_star": m.q_star, "chi1": m.chi1,
                "length_slope": m.slope, "status": m.status, "c_star": self.c_star,
                "c_star_error": self.c_star_error, "chi_c": self.chi_c, "chi_c_error": self.chi_c_error,
                "xi_q": self.xi_q, "xi_c": self.xi_c, "phase": self.phase, "depth_1e6": self.depth_1e6,
                "method": self.method, "assumptions": list(self.assumptions)}


def correlation_map(act: Activation | str, c: float, sigma_w2: float, sigma_b2: float = 0.0, q_star: float = 1.0,
                    params: dict | None = None) -> Estimate:
    r""":math:`F(c) = (\sigma_w^2 E[\varphi(u_1)\varphi(u_2)] + \sigma_b^2)/q^*` (one step of the correlation map
    at the length :math:`q^*`), with its error estimate.

    >>> round(correlation_map("relu", 0.0, 2.0, 0.0, 1.0).value, 12)  # 2 * E[relu(z)]^2 = 1/pi
    0.318309886184
    """
    sw, sb = _canonical_variances(sigma_w2, sigma_b2)
    c = canonical_float("the correlation c", c, -1.0, 1.0)
    q_star = _canonical_q0(q_star, "q_star")
    act = resolve(act, params)
    return _F(act, sw, sb, q_star, c)


def _F(act: BoundActivation, sw: float, sb: float, q: float, c: float) -> Estimate:
    e = _bivariate(act, "phi", "phi", q, c)
    return Estimate((sw * e.value + sb) / q, sw * e.error / q, e.method)


def _chaotic_c_star(act: BoundActivation, sw: float, sb: float, q: float) -> tuple[float, float]:
    """The fixed point of F in [0, 1) when F'(1) = chi_1 > 1, with an error estimate."""
    from scipy.optimize import brentq

    f0 = _F(act, sw, sb, q, 0.0)
    if f0.value <= f0.error:  # F(0) = (sigma_w^2 E[phi]^2 + sigma_b^2)/q* = 0: c* = 0
        return 0.0, max(f0.error, abs(f0.value))
    def F(c: float) -> float:  # the fine rule only, inside the search
        return (sw * _bivariate_value(act, "phi", "phi", q, c) + sb) / q

    lo, hi = 0.0, None
    for k in range(1, 50):  # F(c) - c < 0 just below 1, where F(c) ~ 1 - chi_1 (1 - c)
        c = 1 - 2.0**-k
        if F(c) - c < 0:
            hi = c
            break
        lo = c
    if hi is None:
        raise ConvergenceError(f"{act.name}: no fixed point of the correlation map below c = 1 - 2^-49 at "
                               f"sigma_w^2 = {sw:g}, sigma_b^2 = {sb:g}")
    c_star = brentq(lambda c: F(c) - c, lo, hi, xtol=1e-15, rtol=1e-15)
    chi_c = sw * _bivariate(act, "dphi", "dphi", q, c_star).value
    err = _F(act, sw, sb, q, c_star).error / max(abs(1 - chi_c), 1e-12)
    return c_star, err


@functools.lru_cache(maxsize=4096)
def _signal(act: BoundActivation, sw: float, sb: float, q0: float) -> SignalPropagation:
    m = _mean_field(act, sw, sb, q0)
    notes = list(m.assumptions)
    chi1 = m.chi1
    depth = None if abs(chi1 - 1) <= VERIFY or chi1 == 0 else math.log(DEPTH_FACTOR) / abs(math.log(chi1))
    xi_q = None
    if math.isfinite(m.slope) and 0 <= m.slope < 1 + MARGINAL and m.q_star != math.inf:
        xi_q = 0.0 if m.slope == 0 else _depth_scale(m.slope) if m.slope < 1 - MARGINAL else math.inf
    method = "length map: closed form or quad (analytic.theory.gaussian); correlation map: Gauss-Legendre, two orders"
    if m.q_star == math.inf:
        notes.append("q* = inf: the correlation map is not defined")
        return SignalPropagation(act.name, m, None, 0.0, None, 0.0, None, None, "unbounded", depth, method,
                                 tuple(notes))
    critical = abs(chi1 - 1) <= VERIFY
    if m.q_star == 0 or chi1 < 1 or critical:
        c_star, c_err, chi_c, chi_err = 1.0, 0.0, chi1, 0.0
        phase = "critical" if critical else "ordered"
        notes.append("c* = 1, where chi_c = F'(1) = chi_1" + (" (q* = 0: the limit of the correlation map as the "
                                                               "length vanishes)" if m.q_star == 0 else ""))
    else:
        phase = "chaotic"
        c_star, c_err = _chaotic_c_star(act, sw, sb, m.q_star)
        e = _bivariate(act, "dphi", "dphi", m.q_star, c_star)
        chi_c = sw * e.value
        chi_err = sw * e.error + abs(chi_c - sw * _bivariate(act, "dphi", "dphi", m.q_star,
                                                             min(1.0, c_star + c_err)).value)
        notes.append("chaotic phase: c = 1 is unstable (F'(1) = chi_1 > 1); c* < 1 is the root of F(c) - c in "
                     "[0, 1) (brentq), chi_c = sigma_w^2 E[phi'(u1) phi'(u2)] there")
    xi_c = _depth_scale(chi_c) if chi_c < 1 + MARGINAL else None
    return SignalPropagation(act.name, m, c_star, c_err, chi_c, chi_err, xi_q, xi_c, phase, depth, method,
                             tuple(notes))


def signal_propagation(act: Activation | str, sigma_w2: float, sigma_b2: float = 0.0, params: dict | None = None,
                       q0: float = 1.0) -> SignalPropagation:
    r"""Fixed points with stability, :math:`\chi_1`, the correlation map's :math:`c^*` and :math:`\chi_c`, depth
    scales :math:`\xi_q, \xi_c` and the phase (Schoenholz et al. 2017), at :math:`(\sigma_w^2, \sigma_b^2)`.

    >>> s = signal_propagation("relu", 1.5, 0.1)
    >>> s.phase, s.c_star, round(s.xi_c, 6)
    ('ordered', 1.0, 3.476059)
    """
    sw, sb = _canonical_variances(sigma_w2, sigma_b2)
    act = resolve(act, params)
    return _signal(act, sw, sb, _canonical_q0(q0))
