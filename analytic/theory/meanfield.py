r"""Mean field of wide networks: every fixed point of the length map, its stability and :math:`\chi_1`.

Width :math:`n \to \infty`, :math:`W_{ij} \sim (0, \sigma_w^2/n)`, biases :math:`(0, \sigma_b^2)`, z a standard
normal (Poole et al. 2016; Schoenholz et al. 2017, "Deep information propagation").

* **Length map** :math:`q_l = G(q_{l-1}) = \sigma_w^2 V(q_{l-1}) + \sigma_b^2`, :math:`V(q) = E[\varphi(\sqrt q z)^2]`.
  Its slope is :math:`G'(q) = \sigma_w^2 V'(q)` with :math:`V'(q) = E[z\,\varphi(\sqrt q z)\varphi'(\sqrt q z)]/\sqrt q`
  (differentiation under the integral; for :math:`C^2` φ Gaussian integration by parts turns it into
  :math:`E[\varphi'^2] + E[\varphi\varphi'']`, so :math:`G'(q^*) = \chi_1 + \sigma_w^2 E[\varphi''\varphi]`, the
  argument of Schoenholz et al.'s eq. (4)). A fixed point is stable when :math:`|G'(q^*)| < 1`.
* **Gradients** :math:`E\|\partial L/\partial y_0\|^2 \propto \chi_1^L`, :math:`\chi_1 = \sigma_w^2 W(q^*)`,
  :math:`W(q) = E[\varphi'(\sqrt q z)^2]`; the gradient's depth scale is :math:`-1/\ln\chi_1`.
* The **correlation map**, the signal's depth scales and the phase are in :mod:`analytic.theory.correlation`;
  **critical initialisation** (:math:`\chi_1 = 1` at a stable fixed point) is in :mod:`analytic.theory.criticality`.

Fixed points are found as the sign changes of :math:`G(q) - q` on :data:`Q_GRID` (V there by composite
Gauss–Legendre rules split at the kinks, error from two orders; 20 points per decade over
:math:`[10^{-6}, 10^6]`), each refined by ``brentq`` on the same rule, plus the edge q = 0 when :math:`\sigma_b^2 = 0` and
:math:`\varphi(0) = 0`. Two fixed points closer than a grid step (a near-tangency) would be missed; above
:math:`10^6` the length is reported as growing without bound. A sign change counts only where the function
exceeds ten times its quadrature error on one side, and a critical point only once its re-check passes.

>>> from analytic.theory.meanfield import mean_field
>>> mean_field("relu", 2.0).chi1
1.0
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core.calculus import numpy_function, resolve
from ..core.display import displayable
from ..errors import ConvergenceError, canonical_float
from .gaussian import _SQRT2PI, Estimate, _breakpoints, _gaussian
from ..core.registry import Activation, BoundActivation
from .undefined import require_finite
from .bivariate import MAX_VARIANCE, ORDER, PANELS, ROUNDING, Z_MAX, _panel_nodes

#: Grid on which G(q) - q and chi_1(q) - 1 are scanned for sign changes.
Q_GRID = tuple(float(q) for q in np.logspace(-6, 6, 241))
#: q bounds standing for 0 and infinity in the limits of W.
Q_TINY, Q_HUGE = 1e-300, 1e30
#: A slope within this of 1 is marginal.
MARGINAL = 1e-9
#: Tolerance of the re-check of a critical point: :math:`|\chi_1 - 1|` and :math:`|G(q^*) - q^*|/q^*`.
VERIFY = 1e-10
#: Iterations of the length map when its orbit is not monotone.
MF_ITERATIONS = 400

_ASSUMPTION = ("mean field: width -> infinity, W_ij ~ (0, sigma_w^2/n), bias ~ (0, sigma_b^2); "
               "q_l = sigma_w^2 E[phi(sqrt(q_(l-1)) z)^2] + sigma_b^2, z ~ N(0, 1)")


# ---------------------------------------------------------------- one-layer pieces


def _canonical_variances(sigma_w2: Any, sigma_b2: Any) -> tuple[float, float]:
    return (canonical_float("sigma_w2", sigma_w2, 0, MAX_VARIANCE, open_low=True),
            canonical_float("sigma_b2", sigma_b2, 0, MAX_VARIANCE))


def _canonical_q0(q0: Any, name: str = "q0") -> float:
    return canonical_float(name, q0, 0, MAX_VARIANCE, open_low=True)


def _V(act: BoundActivation, q: float) -> float:
    r""":math:`V(q) = E[\varphi(\sqrt q z)^2]`."""
    return _gaussian(act, "phi2", 0.0, math.sqrt(q)).value


def _W(act: BoundActivation, q: float) -> float:
    r""":math:`W(q) = E[\varphi'(\sqrt q z)^2]`."""
    return _gaussian(act, "dphi2", 0.0, math.sqrt(q)).value


@functools.lru_cache(maxsize=65536)
def _dV(act: BoundActivation, q: float) -> Estimate:
    r""":math:`V'(q) = E[z\,\varphi(\sqrt q z)\varphi'(\sqrt q z)]/\sqrt q` by the Gauss–Legendre rule of
    :func:`_rules_at` (split at the kinks; error from two orders)."""
    g = _rules_at(act, np.array([q]))
    return Estimate(float(g[2][0]), float(g[5][0]), "gauss-legendre")


def _rules_at(act: BoundActivation, q: np.ndarray) -> tuple[np.ndarray, ...]:
    r"""V, W and V' at the lengths ``q`` by composite Gauss–Legendre rules in z split at the kinks
    (:mod:`analytic.theory.bivariate`'s panels), with errors from two orders: (V, W, V', eV, eW, eV')."""
    f, d = numpy_function(act, 0), numpy_function(act, 1)
    r = np.sqrt(q)
    base = np.linspace(-Z_MAX, Z_MAX, PANELS + 1)
    cuts = [np.clip(k / r, -Z_MAX, Z_MAX)[:, None] for k in _breakpoints(act, "dphi")]
    edges = np.sort(np.concatenate([np.broadcast_to(base, (len(q), len(base)))] + cuts, axis=1), axis=1)
    sums = []
    for n in (ORDER, 2 * ORDER):
        z, w = _panel_nodes(edges, n)
        x = r[:, None] * z
        with np.errstate(over="ignore", invalid="ignore"):
            fx, dx = f(x), d(x)
        weight = w * np.exp(-z * z / 2) / _SQRT2PI
        terms = (fx * fx * weight, dx * dx * weight, z * fx * dx * weight / r[:, None])
        sums.append([(np.sum(t, axis=1), np.sum(np.abs(t), axis=1)) for t in terms])
    out = [fine for fine, _ in sums[1]]
    errs = [np.abs(fine - coarse) + ROUNDING * size for (fine, size), (coarse, _) in zip(sums[1], sums[0])]
    return (*out, *errs)


@functools.lru_cache(maxsize=None)
def _grid_rules(act: BoundActivation) -> tuple[np.ndarray, ...]:
    """:func:`_rules_at` on :data:`Q_GRID`."""
    return _rules_at(act, np.array(Q_GRID))


@functools.lru_cache(maxsize=65536)
def _V_rule(act: BoundActivation, q: float) -> float:
    """V(q) by the Gauss–Legendre rule (the fast twin of :func:`_V`, used inside root searches)."""
    return float(_rules_at(act, np.array([q]))[0][0])


def _grid(act: BoundActivation) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q, V, W) on the grid."""
    g = _grid_rules(act)
    return np.array(Q_GRID), g[0], g[1]


def _grid_errors(act: BoundActivation) -> tuple[np.ndarray, np.ndarray]:
    """Error estimates of V and W on the grid."""
    g = _grid_rules(act)
    return g[3], g[4]


def _sign_changes(values: np.ndarray, errors: np.ndarray) -> list[int]:
    """Indices i where values[i], values[i+1] differ in sign and one of them exceeds ten times its error."""
    out = []
    for i in range(len(values) - 1):
        a, b = values[i], values[i + 1]
        if not (np.isfinite(a) and np.isfinite(b)) or np.sign(a) * np.sign(b) > 0 or (a == 0 and i > 0):
            continue
        if abs(a) > 10 * errors[i] or abs(b) > 10 * errors[i + 1]:
            out.append(i)
    return out


@functools.lru_cache(maxsize=None)
def _homogeneous(act: BoundActivation) -> float | None:
    """a with V(q) = a q and W(q) = a for every q (positively homogeneous φ of degree 1: ReLU, leaky ReLU, PReLU,
    identity), else None. Checked on the whole grid by the Gauss–Legendre rule; a itself is E[phi'(z)^2] from
    :func:`_W` (a closed form for these)."""
    q, V, W = _grid(act)
    a = W[0]
    if a > 0 and np.all(np.abs(V / q - a) <= 1e-12 * a) and np.all(np.abs(W - a) <= 1e-12 * a):
        return _W(act, 1.0)  # the closed form (or quad) value, not the rule's
    return None


def _zero_is_fixed(act: BoundActivation, sb: float) -> bool:
    return sb == 0 and _gaussian(act, "phi2", 0.0, 0.0).value == 0


def _attracts_zero(act: BoundActivation, sw: float) -> bool:
    """Whether G(q) < q just above q = 0 (decides a fixed point 0 of slope 1): the sign of G(q) - q at the first
    grid point where it exceeds ten times its error (G(q) - q keeps one sign below the first positive fixed point)."""
    q, V, _ = _grid(act)
    h = sw * V - q
    err = sw * _grid_errors(act)[0] + 4e-16 * q
    significant = np.nonzero(np.abs(h) > 10 * err)[0]
    return bool(significant.size and h[significant[0]] < 0)


# ---------------------------------------------------------------- fixed points of the length map

@dataclass(frozen=True)
class FixedPoint:
    r"""A fixed point q of the length map with its slope :math:`G'(q)`.

    ``kind``: ``stable`` (:math:`|G'| < 1`), ``unstable`` (:math:`|G'| > 1`), ``marginal, attracting`` /
    ``marginal, repelling`` (:math:`G' = 1`, decided by the sign of G(q) - q beside it), ``neutral`` (every q is a
    fixed point: homogeneous φ at :math:`\sigma_w^2 E[\varphi'^2] = 1`, no bias). ``stable`` is True for
    ``stable``, ``marginal, attracting`` and ``neutral``. ``reached``: the orbit from q₀ ends here.
    """

    q: float
    slope: float
    kind: str
    stable: bool
    reached: bool = False

    def as_dict(self) -> dict:
        """JSON-ready form: ``q``, ``slope``, ``stable``, ``kind``, ``reached``."""
        return {"q": self.q, "slope": self.slope, "stable": self.stable, "kind": self.kind, "reached": self.reached}


def _classify(slope: float, attracting: bool | None = None) -> tuple[str, bool]:
    if abs(slope) < 1 - MARGINAL:
        return "stable", True
    if abs(slope) > 1 + MARGINAL:
        return "unstable", False
    if attracting is None:
        return "marginal", False
    return ("marginal, attracting", True) if attracting else ("marginal, repelling", False)


def _fixed_points(act: BoundActivation, sw: float, sb: float) -> list[FixedPoint]:
    from scipy.optimize import brentq

    q, V, _ = _grid(act)
    h = sw * V + sb - q
    out = []
    if _zero_is_fixed(act, sb):
        slope = sw * _W(act, Q_TINY)  # G(q)/q -> sigma_w^2 lim W as q -> 0
        out.append(FixedPoint(0.0, slope, *_classify(slope, attracting=_attracts_zero(act, sw))))
    hq = lambda x: sw * _V_rule(act, x) + sb - x  # noqa: E731
    for i in _sign_changes(h, sw * _grid_errors(act)[0] + 4e-16 * q):
        root = float(q[i]) if h[i] == 0 else brentq(hq, q[i], q[i + 1], xtol=1e-300, rtol=1e-15)
        slope = sw * _dV(act, root).value
        out.append(FixedPoint(root, slope, *_classify(slope)))
    return out


def _same_fixed_point(act: BoundActivation, sw: float, sb: float, a: float, b: float, slope: float
                      ) -> tuple[bool, float]:
    r"""Whether a and b are one fixed point of :math:`G(q) = \sigma_w^2 V(q) + \sigma_b^2` (each found by a root
    search on its own function), and the bound on :math:`|a - b|` that decides it.

    Near a simple fixed point :math:`h(q) = G(q) - q` has slope :math:`G' - 1`, so each of a, b lies within
    :math:`(|h(q)| + 10\,\sigma_w^2 e_V(q))/|1 - G'|` of the true root (:math:`e_V`: the quadrature error of V);
    a and b are the same fixed point when :math:`|a - b|` is within the sum of the two (fixed points closer than a
    grid step are not told apart anyway)."""
    if a == b:
        return True, 0.0
    if not (math.isfinite(a) and math.isfinite(b)) or min(a, b) <= 0:
        return False, 0.0
    g = _rules_at(act, np.array([a, b]))
    h = sw * g[0] + sb - np.array([a, b])
    gap = max(abs(1 - slope), MARGINAL)
    tol = float(np.sum(np.abs(h) + 10 * sw * g[3] + 4e-16 * np.array([a, b]))) / gap
    return abs(a - b) <= tol, tol


@displayable(title=lambda m: f"mean field (width -> infinity){': ' + m.activation if m.activation else ''}",
             headline=(("act", lambda m: m.activation or "?"), "sigma_w2", "sigma_b2", "q_star", "chi1", "status"),
             summary=lambda m: {"model": "mean field (width -> infinity)", "activation": m.activation,
                                **{k: v for k, v in m.as_dict().items() if isinstance(v, (str, int, float))}})
@dataclass(frozen=True)
class MeanField:
    r"""The length map at :math:`(\sigma_w^2, \sigma_b^2)`: every fixed point, the one reached from ``q0``
    (``q_star``; 0 when the signal dies, ``inf`` when it grows without bound) and
    :math:`\chi_1 = \sigma_w^2 W(q^*)` there (a limit at 0 and ∞).

    ``depth_scale`` is :math:`-1/\ln\chi_1`, the gradient's depth scale (negative when gradients grow: a factor e
    every :math:`|\xi|` layers); the signal's depth scales ξ_q, ξ_c are in :class:`SignalPropagation`.
    ``slope`` is :math:`G'(q^*)`; ``activation`` names φ (not in the JSON form).
    """

    sigma_w2: float
    sigma_b2: float
    q_star: float
    chi1: float
    depth_scale: float
    status: str = "converged"
    iterations: int = 0
    assumptions: tuple[str, ...] = ()
    fixed_points: tuple[FixedPoint, ...] = ()
    q0: float = 1.0
    slope: float = math.nan
    activation: str = ""

    def as_dict(self) -> dict:
        """JSON-ready form: ``sigma_w2``, ``sigma_b2``, ``q0``, ``q_star``, ``chi1``, ``depth_scale``, ``slope``,
        ``status``, ``iterations``, ``fixed_points``, ``assumptions``."""
        return {"sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2, "q0": self.q0, "q_star": self.q_star,
                "chi1": self.chi1, "depth_scale": self.depth_scale, "slope": self.slope, "status": self.status,
                "iterations": self.iterations, "fixed_points": [f.as_dict() for f in self.fixed_points],
                "assumptions": list(self.assumptions)}


def _depth_scale(chi: float) -> float:
    r""":math:`-1/\ln\chi` (inf at χ = 1 up to the rounding of its last operations, 0 at χ = 0)."""
    if abs(chi - 1.0) <= 4 * 2.0**-52:
        return math.inf
    if chi == 0:
        return 0.0
    return -1.0 / math.log(chi)


def _monotone_between(act: BoundActivation, a: float, b: float) -> bool:
    q, V, _ = _grid(act)
    lo, hi = min(a, b), max(a, b)
    inside = V[(q >= lo) & (q <= hi)]
    return bool(np.all(np.diff(inside) >= 0))


def _target(fps: list[FixedPoint], h0: float, q0: float) -> FixedPoint | None:
    """The fixed point an increasing length map moves to from q0 (None: it grows without bound)."""
    if h0 > 0:
        above = [f for f in fps if f.q > q0]
        return min(above, key=lambda f: f.q) if above else None
    below = [f for f in fps if f.q < q0]
    return max(below, key=lambda f: f.q) if below else None


def _iterate(act: BoundActivation, sw: float, sb: float, q0: float) -> tuple[float, int]:
    q = q0
    for it in range(1, MF_ITERATIONS + 1):
        prev, q = q, sw * _V(act, q) + sb
        if not math.isfinite(q) or q > Q_GRID[-1]:
            return math.inf, it
        if q < Q_GRID[0] and _zero_is_fixed(act, sb):
            return 0.0, it
        if abs(q - prev) <= 1e-13 * max(q, prev):
            return q, it
    raise ConvergenceError(f"{act.name}: the length map from q_0 = {q0:g} does not settle in {MF_ITERATIONS} "
                           f"iterations at sigma_w^2 = {sw:g}, sigma_b^2 = {sb:g}")


@functools.lru_cache(maxsize=4096)
def _mean_field(act: BoundActivation, sw: float, sb: float, q0: float = 1.0) -> MeanField:
    notes = [_ASSUMPTION, f"the length map starts at q_0 = {q0:g} (inputs with |x|^2/n = q_0)"]
    a = _homogeneous(act)
    if a is not None:  # G(q) = sigma_w^2 a q + sigma_b^2: every answer in closed form
        return _homogeneous_mean_field(act, sw, sb, q0, a, notes)
    fps = _fixed_points(act, sw, sb)
    h0 = sw * _V(act, q0) + sb - q0
    iterations = 0
    at = [f for f in fps if abs(f.q - q0) <= 1e-12 * q0]
    if abs(h0) <= 1e-14 * q0 or at:
        target = at[0] if at else None
        status = "at a fixed point" if target is None or target.stable else "at an unstable fixed point"
        if target is None:
            slope = sw * _dV(act, q0).value
            target = FixedPoint(q0, slope, *_classify(slope))
            fps = sorted(fps + [target], key=lambda f: f.q)
        if not target.stable:
            notes.append(f"q_0 = {q0:g} is itself an unstable fixed point (slope {target.slope:.6g}): any "
                         "perturbation leaves it")
    else:
        target = _target(fps, h0, q0)
        end = math.inf if target is None else target.q
        if end != math.inf and not _monotone_between(act, q0, end):  # G not increasing there: iterate
            q_end, iterations = _iterate(act, sw, sb, q0)
            near = [f for f in fps if abs(f.q - q_end) <= 1e-8 * max(q_end, 1e-300)]
            target = near[0] if near else None
        status = "diverges" if target is None else ("to zero" if target.q == 0 else "converged")
        notes.append("V(q) is increasing between q_0 and q* (checked on the grid), so the orbit moves monotonically "
                     "to the first fixed point in the direction of G(q_0) - q_0" if not iterations else
                     f"V(q) is not monotone between q_0 and q*: the map was iterated ({iterations} steps)")
    if target is None:
        q_star, w, slope = math.inf, _W(act, Q_HUGE), math.nan
        notes.append("q_l grows without bound (q* = inf); chi_1 is the limit of sigma_w^2 E[phi'(sqrt(q) z)^2] "
                     "as q -> inf (evaluated at q = 1e30)")
    else:
        q_star, slope = target.q, target.slope
        w = _W(act, q_star if q_star > 0 else Q_TINY)
        if q_star == 0:
            notes.append("q_l -> 0 (q* = 0: the signal dies); chi_1 is the limit as q -> 0 (at q = 1e-300)")
    fps = [replace(f, reached=f is target) for f in fps]
    chi1 = sw * w
    return MeanField(sw, sb, q_star, chi1, _depth_scale(chi1), status, iterations, tuple(notes), tuple(fps), q0,
                     slope, act.name)


def _homogeneous_mean_field(act: BoundActivation, sw: float, sb: float, q0: float, a: float, notes: list) -> MeanField:
    g = sw * a
    notes.append(f"phi is positively homogeneous: V(q) = {a:.15g} q, so G(q) = {g:.15g} q + {sb:g}")
    chi1 = g
    if sb == 0 and abs(g - 1) <= 4 * 2.0**-52:
        fps = (FixedPoint(q0, 1.0, "neutral", True, True),)
        notes.append("every q is a fixed point (a neutral line): q* = q_0")
        return MeanField(sw, sb, q0, 1.0, math.inf, "converged", 1, tuple(notes), fps, q0, 1.0, act.name)
    fps: list[FixedPoint] = []
    if g < 1:
        q_star = sb / (1 - g)
        fps.append(FixedPoint(q_star, g, "stable", True, True))
        status = "to zero" if q_star == 0 else "converged"
    else:
        if sb == 0:
            fps.append(FixedPoint(0.0, g, *_classify(g, attracting=False)))
        q_star, status = math.inf, "diverges"
    return MeanField(sw, sb, q_star, chi1, _depth_scale(chi1), status, 0, tuple(notes), tuple(fps), q0,
                     g if q_star != math.inf else math.nan, act.name)


def mean_field(act: Activation | str, sigma_w2: float, sigma_b2: float = 0.0, params: dict | None = None,
               q0: float = 1.0) -> MeanField:
    r"""Every fixed point of :math:`q_l = \sigma_w^2 E[\varphi(\sqrt{q_{l-1}} z)^2] + \sigma_b^2` with its slope and
    stability, the one reached from :math:`q_0`, and :math:`\chi_1 = \sigma_w^2 E[\varphi'(\sqrt{q^*} z)^2]` there.

    >>> m = mean_field("gelu", 2.35, 0.0)
    >>> [(round(f.q, 4), f.kind) for f in m.fixed_points]
    [(0.0, 'stable'), (1.0051, 'unstable')]
    """
    sw, sb = _canonical_variances(sigma_w2, sigma_b2)
    act = resolve(act, params)
    m = _mean_field(act, sw, sb, _canonical_q0(q0))
    require_finite(f"{act.name}: the mean field at sigma_w^2 = {sw:g}, sigma_b^2 = {sb:g}",
                   "a Gaussian integral of phi or phi' diverged or overflowed", q_star=m.q_star, chi1=m.chi1,
                   **({"slope": m.slope} if math.isfinite(m.q_star) else {}))
    return m
