r"""Critical initialisation: :math:`\chi_1 = 1` at a *stable* fixed point of the length map.

Along the curve of fixed points of :math:`G(q) = \sigma_w^2 V(q) + \sigma_b^2` (:mod:`analytic.theory.meanfield`),
:math:`\sigma_w^2(q) = (q - \sigma_b^2)/V(q)` and :math:`\chi_1(q) = (q - \sigma_b^2) W(q)/V(q)`, so the critical
points are the roots in q of one function (sign changes on :data:`~analytic.theory.meanfield.Q_GRID`, ``brentq``),
plus the edge :math:`q^* \to 0` (:math:`\sigma_w^2 = 1/\lim_{q\to0} W(q)`) when :math:`\sigma_b^2 = 0` and
:math:`\varphi(0) = 0`. Each is kept as *the* critical initialisation only when :math:`G'(q^*) < 1` there (or 0
attracts at slope 1), and is re-checked (:math:`\chi_1 = 1` and :math:`G(q^*) = q^*` to :data:`VERIFY`) before it
is returned; where there is none the answer says why.

>>> from analytic.theory.criticality import critical_sigma_w2
>>> critical_sigma_w2("relu")
2.0
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..core.display import displayable, with_model
from ..core.calculus import resolve
from ..errors import ConvergenceError
from .undefined import require_finite
from ..core.registry import Activation, BoundActivation
from .gaussian import _gaussian
from .meanfield import (MARGINAL, Q_TINY, VERIFY, _V, _W, _attracts_zero, _canonical_variances, _classify,
                        _dV, _fixed_points, _grid, _grid_errors, _grid_rules, _homogeneous, _mean_field,
                        _same_fixed_point, _sign_changes, _zero_is_fixed)


@displayable(title="mean field (width -> infinity): a critical point (chi1 = 1)", name="MeanFieldCriticalPoint",
             headline=("sigma_w2", "q_star", "chi1", "kind"), summary=with_model("mean field (width -> infinity)"))
@dataclass(frozen=True)
class CriticalPoint:
    r"""A point with :math:`\chi_1 = 1` at a fixed point :math:`q^*` of the length map, its slope
    :math:`G'(q^*)` and stability; ``edge``: :math:`q^* = 0` (the signal dies, :math:`\chi_1 = 1` in the limit)."""

    sigma_w2: float
    q_star: float
    chi1: float
    slope: float
    kind: str
    stable: bool
    edge: bool = False

    def as_dict(self) -> dict:
        """JSON-ready form: ``sigma_w2``, ``q_star``, ``chi1``, ``slope``, ``kind``, ``stable``, ``edge``."""
        return {"sigma_w2": self.sigma_w2, "q_star": self.q_star, "chi1": self.chi1, "slope": self.slope,
                "kind": self.kind, "stable": self.stable, "edge": self.edge}


@functools.lru_cache(maxsize=1024)
def _critical_points(act: BoundActivation, sb: float) -> tuple[tuple[CriticalPoint, ...], str]:
    """All critical points at sigma_b^2 = sb, and a sentence on how they were found."""
    from scipy.optimize import brentq

    a = _homogeneous(act)
    if a is not None:
        if sb > 0:
            return (), (f"phi is positively homogeneous (E[phi'^2] = {a:.15g} for every q): chi_1 = 1 needs "
                        f"sigma_w^2 = {1 / a:.15g}, where G(q) = q + sigma_b^2 grows without bound")
        return ((CriticalPoint(1.0 / a, 1.0, 1.0, 1.0, "neutral", True),),
                f"chi_1 = sigma_w^2 E[phi'(z)^2] for every q, so sigma_w^2 = 1/E[phi'(z)^2] = 1/{a:.15g}; every q "
                "is then a fixed point (q* = q_0 = 1)")
    q, V, W = _grid(act)
    out = []
    w0 = _W(act, Q_TINY) if _zero_is_fixed(act, sb) else 0.0
    if w0 > 0 and 1.0 / w0 < math.inf:  # else sigma_w^2 = 1/W(0+) is not a float: no critical point at q = 0
        sw = 1.0 / w0
        # G(q) - q = sigma_w^2 V(q) - q beside 0 decides whether q = 0 attracts at slope 1
        out.append(CriticalPoint(sw, 0.0, 1.0, 1.0, *_classify(1.0, attracting=_attracts_zero(act, sw)), True))
    ok = (q > sb) & (V > 0)
    chi = np.where(ok, (q - sb) * W / np.where(V > 0, V, 1.0), np.nan) - 1
    eV, eW = _grid_errors(act)
    chi_err = np.abs(chi + 1) * (eV / np.where(V > 0, V, 1.0) + eW / np.where(W > 0, W, 1.0)) + 4e-16
    g = lambda x: (x - sb) * _W(act, x) / _V(act, x) - 1  # noqa: E731
    for i in _sign_changes(chi, chi_err):
        qs = float(q[i]) if chi[i] == 0 else brentq(g, q[i], q[i + 1], xtol=1e-300, rtol=1e-15)
        sw = (qs - sb) / _V(act, qs)
        slope = sw * _dV(act, qs).value
        p = CriticalPoint(sw, qs, sw * _W(act, qs), slope, *_classify(slope))
        if abs(p.chi1 - 1) <= VERIFY:  # a sign change across a jump of the quadrature is not a root
            out.append(p)
    method = ("roots in q of chi_1(q) = (q - sigma_b^2) W(q)/V(q) = 1 along the curve of fixed points (sign changes "
              "on the q grid, brentq), sigma_w^2 = (q - sigma_b^2)/V(q)")
    if not out and np.any(ok) and not np.isfinite(chi).any():
        method += "; chi_1(q) is not a finite number anywhere on the q grid (E[phi^2] leaves the float range)"
    elif not out and np.any(ok):
        i = int(np.nanargmax(chi))
        method += (f"; on the grid chi_1(q) - 1 has one sign, largest {chi[i]:.3g} at q = {q[i]:.3g}, smallest "
                   f"{np.nanmin(chi):.3g}")
    return tuple(out), method


def _verify(act: BoundActivation, sb: float, p: CriticalPoint) -> None:
    if p.edge or p.kind == "neutral":
        return  # chi_1 = 1 there by construction: sigma_w^2 = 1/lim W, or 1/E[phi'^2] exactly
    chi1 = p.sigma_w2 * _W(act, p.q_star)
    residual = abs(p.sigma_w2 * _V(act, p.q_star) + sb - p.q_star) / p.q_star
    if not (abs(chi1 - 1) <= VERIFY and residual <= VERIFY):
        raise ConvergenceError(f"{act.name}: the critical point sigma_w^2 = {p.sigma_w2:.12g}, q* = {p.q_star:.12g} "
                               f"fails its check (chi_1 - 1 = {chi1 - 1:.3g}, fixed-point residual {residual:.3g})")


@functools.lru_cache(maxsize=1024)
def _critical(act: BoundActivation, sb: float) -> tuple[CriticalPoint | None, tuple, str]:
    """(the critical point used, all of them, the method or the reason there is none)."""
    points, method = _critical_points(act, sb)
    stable = [p for p in points if p.stable]
    for p in stable:
        _verify(act, sb, p)
    interior = [p for p in stable if not p.edge]
    if interior:
        reached = [p for p in interior if orbit_reaches(act, sb, p)[0]]
        return (reached or sorted(interior, key=lambda p: p.sigma_w2))[0], points, method
    if stable:
        return stable[0], points, (method + "; the only stable one is the q* -> 0 edge: chi_1 = 1 in the limit "
                                   "where the signal dies")
    if not points:
        return None, points, f"no sigma_w^2 gives chi_1 = 1 at a fixed point: {method}"
    shown = ", ".join(f"sigma_w^2 = {p.sigma_w2:.6g} at q* = {p.q_star:.6g} (slope {p.slope:.4g}, {p.kind}"
                      f"{_runaway(act, sb, p)})" for p in points)
    edge, said = _stable_edge(act)
    said = said if edge is not None and sb < edge.sigma_b2 else ""
    return None, points, (f"chi_1 = 1 only at unstable fixed points: {shown}; {_stable_chi_range(act, sb)}"
                          + (f"; {said}" if said else ""))


def _runaway(act: BoundActivation, sb: float, p: CriticalPoint) -> str:
    """Why an unstable critical point is no initialisation: the length map leaves it on either side."""
    if p.edge or p.slope <= 1 + MARGINAL:
        return ""
    others = [f.q for f in _fixed_points(act, p.sigma_w2, sb)
              if not _same_fixed_point(act, p.sigma_w2, sb, f.q, p.q_star, p.slope)[0]]
    below = [q for q in others if q < p.q_star]
    above = [q for q in others if q > p.q_star]
    down = f"falls to the fixed point q = {max(below):.6g}" if below else "falls towards 0"
    up = f"rises to the fixed point q = {min(above):.6g}" if above else "grows without bound"
    return (f": G'(q*) > 1, so the length map runs away from q* on either side, a deviation growing by the factor "
            f"{p.slope:.4g} per layer; below q* the length {down}, above it {up}")


def orbit_reaches(act: BoundActivation, sb: float, p: CriticalPoint) -> tuple[bool, float, float]:
    """Whether the length map from q_0 = 1 at p's sigma_w^2 ends at p's fixed point: (reached, where the orbit
    ends, the bound on the distance within which the two roots are one fixed point)."""
    end = _mean_field(act, p.sigma_w2, sb, 1.0).q_star
    same, tol = _same_fixed_point(act, p.sigma_w2, sb, end, p.q_star, p.slope)
    return same, end, tol


def _stable_chi_range(act: BoundActivation, sb: float) -> str:
    """Why: chi_1 over the fixed points along the curve sigma_w^2(q) = (q - sb)/V(q) whose stability the
    quadrature decides (|G'| below 1 - MARGINAL by more than its error), split at chi_1 = 1 by its error too."""
    q, V, W = _grid(act)
    g = _grid_rules(act)
    dV, eV, eW, edV = g[2], g[3], g[4], g[5]
    below, above, undecided = [], [], []
    for x, v, w, dv, ev, ew, edv in zip(q, V, W, dV, eV, eW, edV):
        if x > sb and v > 0:
            sw = (x - sb) / v
            chi, slope = sw * w, sw * dv
            e_slope = sw * edv + abs(slope) * ev / v
            e_chi = sw * ew + chi * ev / v
            if abs(slope) + e_slope < 1 - MARGINAL:
                if chi + e_chi < 1:
                    below.append((chi, x))
                elif chi - e_chi > 1:
                    above.append((chi, x))
                else:
                    undecided.append(x)
            elif abs(slope) - e_slope < 1 - MARGINAL:
                undecided.append(x)
    edge = ""
    if _zero_is_fixed(act, sb):
        w0 = _W(act, Q_TINY)
        edge = (f"q* = 0 is stable for sigma_w^2 < {1 / w0:.6g}, where chi_1 = sigma_w^2 * {w0:.6g} < 1 (the signal "
                "dies); ")
    open_ = (f"; at {len(undecided)} grid points (q* from {min(undecided):.3g} to {max(undecided):.3g}) the slope "
             "or chi_1 is within its quadrature error of 1, so there the grid decides nothing") if undecided else ""
    if not below and not above:
        return edge + "no fixed point q* > 0 on the grid is decided stable" + open_
    if not above:
        hi = max(below)
        return edge + (f"at every fixed point on the grid decided stable chi_1 < 1 (largest {hi[0]:.6g}, at q* = "
                       f"{hi[1]:.3g}): raising sigma_w^2 makes the fixed point unstable before chi_1 reaches 1, and "
                       "the length then jumps to another fixed point or grows without bound") + open_
    lo = min(above)
    parts = [f"chi_1 > 1 at the fixed points on the grid decided stable with q* >= {min(x for _, x in above):.3g} "
             f"(smallest {lo[0]:.6g}, at q* = {lo[1]:.3g})"]
    if below:
        hi = max(below)
        parts.insert(0, f"chi_1 < 1 at those with q* <= {max(x for _, x in below):.3g} (largest {hi[0]:.6g}, at q* = "
                        f"{hi[1]:.3g})")
    return edge + "; ".join(parts) + ": chi_1 passes 1 only where the fixed point is unstable" + open_


@dataclass(frozen=True)
class StableEdge:
    r"""The bias variance from which :math:`\chi_1 = 1` sits at a **stable** fixed point. Below it the edge of
    chaos (Hayou, Doucet & Rousseau 2019, "On the impact of the activation function on deep neural networks
    training") still exists for SiLU and GELU, but on unstable fixed points.

    Along the edge of chaos, parametrised by its fixed point q, :math:`\sigma_b^2(q) = q - V(q)/W(q)` and
    :math:`\sigma_w^2 = 1/W(q)`; there :math:`G'(q) = 1 + \sigma_w^2 (V'(q) - W(q))`, so the point is stable exactly
    where :math:`D(q) = V'(q) - W(q) < 0` (for :math:`C^2` φ, :math:`D = E[\varphi\varphi'']`). When D changes sign
    once on the grid, from + to −, at :math:`q_c` (``brentq`` to :data:`EDGE_XTOL` relative), and
    :math:`\sigma_b^2(q)` increases along the grid, the threshold is :math:`\sigma_b^2(q_c)`: below it every
    :math:`\chi_1 = 1` point is unstable, above it stable (decided on the grid up to ``checked_to``). ``error``
    bounds the threshold: the error of D over its slope, carried through :math:`d\sigma_b^2/dq`, plus the error
    of V/W."""

    sigma_b2: float
    error: float
    q_star: float
    sigma_w2: float
    checked_to: float

    def as_dict(self) -> dict:
        """JSON-ready form: ``sigma_b2``, ``error``, ``q_star``, ``sigma_w2``, ``checked_to``."""
        return {"sigma_b2": self.sigma_b2, "error": self.error, "q_star": self.q_star, "sigma_w2": self.sigma_w2,
                "checked_to": self.checked_to}


#: Relative tolerance of the root of D(q) = V'(q) - W(q) behind :class:`StableEdge`.
EDGE_XTOL = 1e-13


@functools.lru_cache(maxsize=256)
def _stable_edge(act: BoundActivation) -> tuple[StableEdge | None, str]:
    """The threshold of a stable edge of chaos (or None) and a sentence saying it, or why there is none."""
    from scipy.optimize import brentq

    if _homogeneous(act) is not None:
        return None, "phi is positively homogeneous: chi_1 does not depend on q"
    q, V, W = _grid(act)
    g = _grid_rules(act)
    D, eD = g[2] - W, g[5] + g[4]
    ok = (V > 0) & (W > 0)
    changes = [i for i in _sign_changes(np.where(ok, D, np.nan), eD)]
    if len(changes) != 1 or not D[changes[0]] > 0:
        return None, (f"V'(q) - W(q) changes sign {len(changes)} times on the grid"
                      + ("" if not changes else " (not once from + to -)"))
    i = changes[0]
    Wd = np.where(W > 0, W, 1.0)
    sbq = q - V / Wd
    e_sb = (g[3] / Wd + np.abs(V) * g[4] / Wd**2)[ok]
    if np.any(np.diff(sbq[ok]) < -(e_sb[:-1] + e_sb[1:])):
        return None, ("sigma_b^2(q) = q - V(q)/W(q) along the edge of chaos falls somewhere on the grid by more "
                      "than its quadrature error")
    d = lambda x: _dV(act, x).value - _W(act, x)  # noqa: E731
    if not (np.isfinite(d(q[i])) and np.isfinite(d(q[i + 1])) and d(q[i]) * d(q[i + 1]) < 0):
        return None, ("V'(q) - W(q) changes sign on the grid only within its quadrature error, or is not a finite "
                      f"number at q = {q[i]:.3g} or {q[i + 1]:.3g}: the sign change cannot be located")
    qc = brentq(d, q[i], q[i + 1], xtol=1e-300, rtol=EDGE_XTOL)
    slope_d = abs(D[i + 1] - D[i]) / (q[i + 1] - q[i])
    e_q = (_dV(act, qc).error + _gaussian(act, "dphi2", 0.0, math.sqrt(qc)).error) / slope_d + EDGE_XTOL * qc
    v, w = _V(act, qc), _W(act, qc)
    e_v, e_w = (_gaussian(act, f, 0.0, math.sqrt(qc)).error for f in ("phi2", "dphi2"))
    dsb = (sbq[i + 1] - sbq[i]) / (q[i + 1] - q[i])
    sb_c = qc - v / w
    err = abs(dsb) * e_q + e_v / w + v * e_w / w**2 + 4e-16 * qc
    j = i + 1  # the run of grid points above q_c where D < 0 beyond its error
    while j < len(q) and ok[j] and D[j] + eD[j] < 0:
        j += 1
    edge = StableEdge(sb_c, float(err), qc, 1 / w, float(sbq[j - 1]) if j > i + 1 else sb_c)
    return edge, (f"a stable edge of chaos exists from sigma_b^2 = {sb_c:.9g} ± {err:.1g} on (there q* = {qc:.9g}, "
                  f"sigma_w^2 = 1/W(q*) = {1 / w:.9g}): along chi_1 = 1, G'(q*) = 1 + sigma_w^2 (V'(q*) - W(q*)) and "
                  f"V' - W changes sign once on the grid, at q* = {qc:.6g} (brentq to {EDGE_XTOL:g} relative), while "
                  f"sigma_b^2(q*) = q* - V/W increases; stable checked on the grid up to sigma_b^2 = "
                  f"{edge.checked_to:.4g}")


def stable_edge(act: Activation | str, params: dict | None = None) -> StableEdge | None:
    r"""The :math:`\sigma_b^2` from which :math:`\chi_1 = 1` can sit at a stable fixed point (see
    :class:`StableEdge`), or None when the grid does not show one threshold.

    >>> round(stable_edge("gelu").sigma_b2, 6)
    0.172922
    """
    return _stable_edge(resolve(act, params))[0]


def critical_points(act: Activation | str, sigma_b2: float = 0.0, params: dict | None = None
                    ) -> tuple[CriticalPoint, ...]:
    r"""Every :math:`(\sigma_w^2, q^*)` with :math:`\chi_1 = 1` at a fixed point, stable or not.

    >>> [(round(p.sigma_w2, 6), p.kind) for p in critical_points("gelu")]
    [(4.0, 'marginal, repelling')]
    """
    _, sb = _canonical_variances(1.0, sigma_b2)
    act = resolve(act, params)
    points = _critical_points(act, sb)[0]
    for p in points:
        require_finite(f"{act.name}: a critical point", "a Gaussian integral of phi or phi' diverged or overflowed",
                       sigma_w2=p.sigma_w2, q_star=p.q_star, chi1=p.chi1)
    return points


def critical_sigma_w2(act: Activation | str, sigma_b2: float = 0.0, params: dict | None = None) -> float:
    r"""The :math:`\sigma_w^2` with :math:`\chi_1 = 1` at a **stable** fixed point :math:`q^*`, re-checked to
    :data:`VERIFY`. Raises :class:`~analytic.errors.ConvergenceError`, saying why, when there is none.

    >>> critical_sigma_w2("relu")
    2.0
    """
    _, sb = _canonical_variances(1.0, sigma_b2)
    act = resolve(act, params)
    point, _, why = _critical(act, sb)
    if point is None:
        raise ConvergenceError(f"{act.name}: no critical initialisation at sigma_b^2 = {sb:g}: {why}")
    require_finite(f"{act.name}: the critical sigma_w^2", "a Gaussian integral of phi or phi' diverged or overflowed",
                   sigma_w2=point.sigma_w2)
    return point.sigma_w2
