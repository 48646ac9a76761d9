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
from dataclasses import dataclass

import numpy as np

from ..core.calculus import resolve
from ..errors import ConvergenceError
from .undefined import require_finite
from ..core.registry import Activation, BoundActivation
from .meanfield import (MARGINAL, Q_TINY, VERIFY, _V, _W, _attracts_zero, _canonical_variances, _classify,
                        _dV, _grid, _grid_errors, _grid_rules, _homogeneous, _mean_field, _sign_changes,
                        _zero_is_fixed)


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
    if _zero_is_fixed(act, sb):
        w0 = _W(act, Q_TINY)
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
    if not out and np.any(ok):
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
        reached = [p for p in interior if _mean_field(act, p.sigma_w2, sb, 1.0).q_star == p.q_star]
        return (reached or sorted(interior, key=lambda p: p.sigma_w2))[0], points, method
    if stable:
        return stable[0], points, (method + "; the only stable one is the q* -> 0 edge: chi_1 = 1 in the limit "
                                   "where the signal dies")
    if not points:
        return None, points, f"no sigma_w^2 gives chi_1 = 1 at a fixed point: {method}"
    shown = ", ".join(f"sigma_w^2 = {p.sigma_w2:.6g} at q* = {p.q_star:.6g} (slope {p.slope:.4g}, {p.kind})"
                      for p in points)
    return None, points, f"chi_1 = 1 only at unstable fixed points: {shown}; {_stable_chi_range(act, sb)}"


def _stable_chi_range(act: BoundActivation, sb: float) -> str:
    """Why: the range of chi_1 over the stable fixed points along the curve sigma_w^2(q) = (q - sb)/V(q)."""
    q, V, W = _grid(act)
    dV = _grid_rules(act)[2]
    chis = []
    for x, v, w, dv in zip(q, V, W, dV):
        if x > sb and v > 0:
            sw = (x - sb) / v
            if abs(sw * dv) < 1 - MARGINAL:
                chis.append((sw * w, x))
    edge = ""
    if _zero_is_fixed(act, sb):
        w0 = _W(act, Q_TINY)
        edge = (f"q* = 0 is stable for sigma_w^2 < {1 / w0:.6g}, where chi_1 = sigma_w^2 * {w0:.6g} < 1 (the signal "
                "dies); ")
    if not chis:
        return edge + "no fixed point q* > 0 on the grid is stable"
    hi = max(chis)
    return edge + (f"at every stable fixed point on the grid chi_1 < 1 (largest {hi[0]:.6g}, at q* = {hi[1]:.3g}): "
            "raising sigma_w^2 makes the fixed point unstable before chi_1 reaches 1, and the length then jumps to "
            "another fixed point or grows without bound")


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
