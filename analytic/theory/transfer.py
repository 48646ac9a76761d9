r"""The chain's transfer operator, discretised: Chebyshev grids in y, tanh–sinh quadrature over the weight.

:func:`build_operator` returns the matrices of

.. math:: (T_g h)(y) = E_{w,b}\big[g(w\varphi'(v))\,h(\varphi(v))\big], \qquad v = wy + b,

for the per-layer functions :data:`FUNCTIONS` of :math:`u = w\varphi'(v)`: :math:`u`, :math:`|u|`, :math:`u^2`,
:math:`Z = 1(u \ne 0)`, :math:`Z\log|u|` and 1. Writing the expectation over v, every function is
:math:`E[\,\cdot \mid v]` of the weight times a function of :math:`\varphi'(v)`:
:math:`E[u\mid v] = E[w\mid v]\varphi'(v)`, :math:`E[Z\log|u|\mid v] = 1(\varphi'(v) \ne 0)(E[\log|w|;w\ne 0\mid
v] + P(w \ne 0\mid v)\log|\varphi'(v)|)`, and so on. Three cases reduce each row to one integral:

* the bias is a constant c (0 by default): :math:`w` is integrated over its base variable, :math:`v = wy + c`,
  split at :math:`w = 0` and at :math:`w = (k - c)/y` for every kink and zero k of :math:`\varphi'` (tanh–sinh on
  the intervals next to these) and where :math:`\varphi(v)` crosses a piece boundary of the y-grid
  (Gauss–Legendre on the intervals between, where the integrand is smooth);
* weights and bias both Gaussian: :math:`v \mid y \sim N(\mu_w y + \mu_b, \sigma_w^2 y^2 + \sigma_b^2)` and
  :math:`w \mid v` is Gaussian with mean :math:`\mu_w + \sigma_w^2 y (v - \mu_v)/\sigma_v^2` and variance
  :math:`\sigma_w^2\sigma_b^2/\sigma_v^2`, whose :math:`E|w|` (folded normal) and :math:`E\log|w|` (the Poisson
  series :func:`mean_log_abs_normal`) are exact; v is integrated, split at the kinks and zeros;
* otherwise (a non-Gaussian law with a random bias), an outer integral over the bias of the first case.

Functions of y live on the closure of the range of φ, split at 0, as Chebyshev interpolants (first-kind points)
in s, with :math:`y = y_0 + L(1+s)/(1-s)` on an unbounded side.

>>> op = build_operator("sigmoid", "constant(1)", None, 1.0, SCHEDULE[0])
>>> round(float(op.start["mean"].sum()), 12)  # sigma'(1)
0.196611933241
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from ..core.calculus import numpy_function, numpy_pair, resolve
from ..core.logforms import LOG_TINY as _LOG_TINY, log_abs_underflow as _log_abs_underflow
from ..distributions import Base, Constant, Distribution, Normal, distribution
from .accuracy import SCHEDULE, Accuracy
from .gaussian import _dphi_zeros, _kinks, _zero_pieces
from ..core.registry import Activation, BoundActivation

#: Per-layer functions g of u = w phi'(v) the operator is built for.
FUNCTIONS = ("mean", "mean_abs", "mean_square", "nonzero", "log", "one")
#: Fixed cuts of a Gaussian base variable (in sd), so no piece is wider than 2 sd where the density matters; the
#: base is truncated at ±``Accuracy.gauss_cut`` (a setting of :mod:`analytic.theory.accuracy`).
_GAUSS_CUTS = (-6.0, -4.0, -2.5, -1.25, 0.0, 1.25, 2.5, 4.0, 6.0)
#: Fixed cuts (in sd) of the outer rule over a Gaussian bias, truncated at ±``Accuracy.outer_cut``.
_OUTER_CUTS = (-4.0, -2.0, 0.0, 2.0, 4.0)


@dataclass(frozen=True)
class Operator:
    r"""``T[g]`` (n×n) acting on node values and ``start[g]`` (n,) the row at :math:`y_0 = x`, for g in
    :data:`FUNCTIONS`, and for ``one_rho``, ``nonzero_rho``: the operators ``one`` and ``nonzero`` acting on
    :math:`f/\rho`, :math:`\rho = 1 + y^2`, i.e. :math:`\rho^{-1} T (\rho f)` (so functions growing like y or
    y², such as E[y_t] or E[log|P|] on an unbounded range, stay bounded); ``nodes`` the y of the nodes."""

    T: dict
    start: dict
    nodes: np.ndarray


# ---------------------------------------------------------------- special functions

def mean_log_abs_normal(mu: np.ndarray) -> np.ndarray:
    r""":math:`E\log|\mu + Z|`, :math:`Z \sim N(0, 1)`: with :math:`(\mu + Z)^2 \sim \chi^2_1(\mu^2)`, a Poisson
    mixture of :math:`\chi^2_{1+2j}`, :math:`E\log|\mu+Z| = \tfrac12\big(\ln 2 + \sum_j
    \mathrm{Pois}(j; \mu^2/2)\,\psi(\tfrac12 + j)\big)`; for :math:`|\mu| \ge 8` the expansion
    :math:`\ln|\mu| - \sum_{k=1}^{30} (2k-1)!!/(2k\,\mu^{2k})` (truncated before its terms grow; the first
    omitted one is below 1e-14).

    >>> round(float(mean_log_abs_normal(np.array([0.0]))[0]), 12)  # -(gamma + ln 2)/2
    -0.635181422731
    """
    mu = np.abs(np.asarray(mu, dtype=float))
    out = np.empty(mu.shape)
    big = mu >= 8
    m2 = mu[big] ** 2
    term, total = np.ones(m2.shape), np.zeros(m2.shape)
    for k in range(1, 31):
        term = term * (2 * k - 1) / m2
        total += term / (2 * k)
    out[big] = np.log(mu[big]) - total
    small = ~big
    if small.any():
        lam = mu[small] ** 2 / 2
        j = np.arange(int(np.max(lam) + 12 * np.sqrt(np.max(lam)) + 40))[:, None]
        logp = -lam[None, :] + j * np.log(np.where(lam > 0, lam, 1.0))[None, :] - special.gammaln(j + 1)
        logp = np.where((lam[None, :] == 0) & (j > 0), -np.inf, logp)
        out[small] = 0.5 * (math.log(2) + np.sum(np.exp(logp) * special.digamma(0.5 + j), axis=0))
    return out


# ---------------------------------------------------------------- quadrature

@functools.lru_cache(maxsize=16)
def _unit_rule(h: float, window: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tanh–sinh on [0, 1] over t in [-window, window]: nodes as (distance from 0, distance from 1) and weights,
    accurate at both ends."""
    t = np.arange(-math.ceil(window / h), math.ceil(window / h) + 1) * h
    u = (math.pi / 2) * np.sinh(t)
    left = special.expit(2 * u)  # (1 + tanh u)/2, accurate near 0
    right = special.expit(-2 * u)  # (1 - tanh u)/2, accurate near 1
    weight = h * (math.pi / 2) * np.cosh(t) / np.cosh(u) ** 2 / 2
    keep = (left > 0) & (right > 0) & (weight > 0)
    return left[keep], right[keep], weight[keep]


def tanh_sinh(edges: list[float], h: float, window: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the tanh–sinh rule of step ``h`` over ``|t| <= window`` on each interval between
    consecutive ``edges``."""
    e = np.asarray(edges, dtype=float)
    a, b = e[:-1], e[1:]
    keep = b > a
    return _tanh_sinh_on(a[keep], b[keep], h, window)


def _tanh_sinh_on(a: np.ndarray, b: np.ndarray, h: float, window: float) -> tuple[np.ndarray, np.ndarray]:
    left, right, weight = _unit_rule(h, window)
    a, b = a[:, None], b[:, None]
    x = np.where(left < 0.5, a + (b - a) * left, b - (b - a) * right)
    return x.ravel(), ((b - a) * weight).ravel()


# ---------------------------------------------------------------- the y grid

@dataclass(frozen=True)
class Grid:
    r"""Chebyshev interpolation on pieces of the y-range: ``pieces`` are (lo, hi) (either end may be infinite),
    each with ``n`` first-kind points."""

    pieces: tuple
    n: int

    @functools.cached_property
    def _s(self) -> tuple[np.ndarray, np.ndarray]:
        j = np.arange(self.n)
        theta = (2 * j + 1) * math.pi / (2 * self.n)
        return np.cos(theta), (-1.0) ** j * np.sin(theta)

    def to_s(self, piece: int, y: np.ndarray) -> np.ndarray:
        lo, hi = self.pieces[piece]
        with np.errstate(invalid="ignore", divide="ignore"):
            if math.isfinite(lo) and math.isfinite(hi):
                s = (2 * y - lo - hi) / (hi - lo) if hi > lo else np.zeros_like(y)
            elif math.isfinite(lo):
                d = y - lo
                s = np.where(np.isinf(d), 1.0, (d - self.scale(piece)) / (d + self.scale(piece)))
            else:
                d = hi - y
                s = np.where(np.isinf(d), -1.0, (self.scale(piece) - d) / (self.scale(piece) + d))
        return np.clip(s, -1.0, 1.0)

    def from_s(self, piece: int, s: np.ndarray) -> np.ndarray:
        lo, hi = self.pieces[piece]
        if math.isfinite(lo) and math.isfinite(hi):
            return lo + (hi - lo) * (1 + s) / 2
        if math.isfinite(lo):
            return lo + self.scale(piece) * (1 + s) / (1 - s)
        return hi - self.scale(piece) * (1 - s) / (1 + s)

    def scale(self, piece: int) -> float:
        """L of the algebraic map of an unbounded piece: its finite end (the grading's last width), at least 1."""
        lo, hi = self.pieces[piece]
        return max(1.0, abs(lo) if math.isfinite(lo) else abs(hi))

    @functools.cached_property
    def nodes(self) -> np.ndarray:
        return np.concatenate([self.from_s(p, self._s[0]) for p in range(len(self.pieces))])

    @property
    def size(self) -> int:
        return self.n * len(self.pieces)

    def locate(self, y: np.ndarray, normalised: bool = True) -> tuple[np.ndarray, np.ndarray] | tuple:
        """The piece of each ``y`` (clipped to the range) and its ``n`` barycentric interpolation weights
        (len(y) × n): interpolation at y is a combination of the values at the nodes of that piece only. With
        ``normalised=False`` the weights come undivided, with their sums as a third array."""
        s_nodes, lam = self._s
        y = np.asarray(y, dtype=float).ravel()
        bounds = np.array([p[1] for p in self.pieces[:-1]])
        which = np.searchsorted(bounds, y, side="left") if bounds.size else np.zeros(y.size, dtype=int)
        ends = np.array(self.pieces, dtype=float)
        lo, hi = ends[which, 0], ends[which, 1]
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            s = np.clip(np.where(hi > lo, (2 * y - lo - hi) / (hi - lo), 0.0), -1.0, 1.0)
        for p in range(len(self.pieces)):  # the unbounded pieces: their algebraic map
            if not np.all(np.isfinite(ends[p])):
                idx = np.flatnonzero(which == p)
                s[idx] = self.to_s(p, y[idx])
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = lam[None, :] / (s[:, None] - s_nodes[None, :])
            total = terms.sum(axis=1)
        hit = np.flatnonzero(~np.isfinite(total))  # y on a node: its value
        terms[hit] = s[hit, None] == s_nodes[None, :]
        total[hit] = 1.0
        if not normalised:
            return which, terms, total
        terms /= total[:, None]
        return which, terms

    def interpolation(self, y: np.ndarray) -> np.ndarray:
        """The dense (len(y), n·pieces) matrix whose product with node values interpolates at ``y`` (clipped to
        the range); :meth:`locate` gives its non-zero blocks."""
        which, terms = self.locate(y)
        L = np.zeros((which.size, self.size))
        cols = which[:, None] * self.n + np.arange(self.n)[None, :]
        L[np.arange(which.size)[:, None], cols] = terms
        return L


#: Without a bias, T h is smooth but not analytic at y = 0 (v = wy reaches every value only through the Gaussian
#: tail of w), and pieces graded geometrically (ratio 4) towards 0 restore geometric convergence; the number of
#: graded pieces is a setting (``Accuracy.grading_zero``, ``Accuracy.grading_infinity``).
_GRADING_RATIO = 4.0


def _graded(lo: float, hi: float, acc: Accuracy) -> list[tuple[float, float]]:
    """[lo, hi] with one end at 0, cut geometrically towards 0 ([0, 4^-J], …, [1/4, 1] times the far end, J =
    ``acc.grading_zero``); an unbounded side is cut geometrically towards infinity too ([1, 4], …,
    [4^(K-1), 4^K], [4^K, oo), K = ``acc.grading_infinity``), where log y / y^k terms of T h live."""
    if lo != 0:
        return [(-b, -a) for a, b in reversed(_graded(0.0, -lo, acc))]
    far = hi if math.isfinite(hi) else 1.0
    edges = [0.0] + [far * _GRADING_RATIO**-j for j in range(acc.grading_zero, 0, -1)] + [far]
    if not math.isfinite(hi):
        edges += [_GRADING_RATIO**j for j in range(1, acc.grading_infinity + 1)] + [hi]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def y_pieces(act: BoundActivation, acc: Accuracy) -> tuple:
    """The closure of the range of φ (proved bounds of φ), split at 0 and graded towards it."""
    from ..bounds import bound

    b = bound(act, of="phi")
    lo, hi = float(b.inf.lower), float(b.sup.upper)
    if not hi > lo:
        return ((lo, lo),)
    if lo < 0 < hi:
        return tuple(_graded(lo, 0.0, acc) + _graded(0.0, hi, acc))
    if lo == 0 or hi == 0:
        return tuple(_graded(lo, hi, acc))
    return ((lo, hi),)


def _scan_points() -> np.ndarray:
    far = np.geomspace(1e-6, 1e9, 4001)
    return np.concatenate([-far[::-1], [0.0], far])


@functools.lru_cache(maxsize=64)
def _preimages(act: BoundActivation, values: tuple) -> tuple:
    """The v where φ(v) crosses one of ``values`` (the boundaries between pieces of the y-grid), from the sign
    changes of φ − β on a geometric scan of ±[1e-6, 1e9], refined by 80 bisection steps. The interpolant of a
    function of y is a polynomial on each piece only, so the integrand over the weight is smooth between these
    points and the quadrature is cut there."""
    pair = numpy_pair(act)
    v = _scan_points()
    with np.errstate(all="ignore"):
        phi = pair(v)[0]
    out = set()
    for beta in values:
        s = np.sign(phi - beta)
        lo = np.flatnonzero(s[:-1] * s[1:] < 0)
        isolated = np.flatnonzero((s[1:-1] == 0) & (s[:-2] * s[2:] < 0)) + 1
        out.update(float(x) for x in v[isolated])
        a, b = v[lo], v[lo + 1]
        sa = s[lo]
        for _ in range(80):
            m = (a + b) / 2
            with np.errstate(all="ignore"):
                sm = np.sign(pair(m)[0] - beta)
            left = sm == sa
            a, b = np.where(left, m, a), np.where(left, b, m)
        out.update(float(x) for x in (a + b) / 2)
    return tuple(sorted(x for x in out if math.isfinite(x)))


def _support_kinks(w: Distribution, b: Distribution | None, ks: tuple) -> tuple:
    r"""The y where a kink or zero k of φ′ reaches an end e of a bounded weight law, :math:`y = (k - c)/e`
    (bias the constant c): there the rows of T have a kink in y (a part of the integral over w appears or leaves),
    so the y-grid is split there too."""
    base = w.base()
    if base.kind != "uniform" or not (b is None or isinstance(b, Constant)):
        return ()
    c = 0.0 if b is None else float(b.args[0])
    return tuple(sorted({(k - c) / e for k in ks for e in (base.lo, base.hi) if e != 0}))


def _split(pieces: tuple, points: tuple) -> tuple:
    """``pieces`` split at ``points`` inside them (not within 1e-6 of the piece's width from an end)."""
    out = []
    for lo, hi in pieces:
        width = hi - lo if math.isfinite(hi - lo) else max(abs(lo), abs(hi), 1.0) if math.isfinite(lo) or math.isfinite(hi) else 1.0
        if not math.isfinite(width):
            width = 1.0
        cuts = sorted(p for p in points if lo + 1e-6 * width < p < hi - 1e-6 * width)
        edges = [lo] + cuts + [hi]
        out += list(zip(edges[:-1], edges[1:]))
    return tuple(out)


# ---------------------------------------------------------------- one row: the integration nodes at one y

@dataclass(frozen=True)
class _Nodes:
    """Integration nodes of one row: v, weights q, and the conditional moments of w given v."""

    v: np.ndarray
    q: np.ndarray
    m1: np.ndarray
    mabs: np.ndarray
    m2: np.ndarray
    pnz: np.ndarray
    lw: np.ndarray


def _edges(base: Base, cuts, acc: Accuracy) -> list[float]:
    """The base range cut at ``cuts`` (base points) and at the fixed cuts of its kind; a Gaussian base truncated
    at ±``acc.gauss_cut``, a uniform one cut into ``acc.uniform_pieces`` equal pieces."""
    if base.kind == "uniform":
        lo, hi = base.lo, base.hi
        fixed = [lo + (hi - lo) * i / acc.uniform_pieces for i in range(1, acc.uniform_pieces)]
    else:
        lo, hi = max(base.lo, -acc.gauss_cut), min(base.hi, acc.gauss_cut)
        fixed = list(_GAUSS_CUTS)
    inside = {z for z in list(cuts) + fixed if math.isfinite(z) and lo < z < hi}
    return [lo] + sorted(inside) + [hi]


def _deterministic(v, q, w) -> _Nodes:
    nz = w != 0
    with np.errstate(divide="ignore"):
        lw = np.where(nz, np.log(np.abs(np.where(nz, w, 1.0))), 0.0)
    return _Nodes(v, q, w, np.abs(w), w * w, nz.astype(float), lw)


def _point(v: float, w: Distribution) -> _Nodes:
    """y = 0 without a random bias: v = c, and w integrates out in its exact moments."""
    mo = w.moments().floats()
    pm = w.partial_moments()
    lp, ln = w.partial_log_moments()
    one = lambda value: np.array([float(value)])  # noqa: E731
    return _Nodes(one(v), one(1.0), one(mo["mean"]), one(mo["mean_abs"]), one(mo["mean_square"]),
                  one(1 - float(pm.zero)), one(lp + ln))


def _rule(edges: list[float], singular: set, acc: Accuracy) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights over the intervals between ``edges``: tanh–sinh (step ``acc.step``, window
    ``acc.window``) on an interval that ends at, or lies within its own width of, one of the ``singular`` points
    (w = 0, where log|w| is singular, a kink or a zero of φ′), Gauss–Legendre with ``acc.legendre_points`` points
    on the others, where the integrand is smooth well beyond both ends."""
    t, wt = _legendre(acc.legendre_points)
    near = np.array(sorted(z for z in singular if math.isfinite(z)))
    e = np.asarray(edges, dtype=float)
    a, b = e[:-1], e[1:]
    keep = b > a
    a, b = a[keep], b[keep]
    if near.size:
        # a singular point closer to the interval than its width slows Gauss–Legendre down: tanh–sinh there too
        dist = np.min(np.minimum(np.abs(near[None, :] - a[:, None]), np.abs(near[None, :] - b[:, None])), axis=1)
        ts = dist < b - a
    else:
        ts = np.zeros(a.size, dtype=bool)
    xt, qt = _tanh_sinh_on(a[ts], b[ts], acc.step, acc.window)
    ag, bg = a[~ts, None], b[~ts, None]
    xg, qg = (ag + (bg - ag) * (t + 1) / 2).ravel(), (wt * (bg - ag) / 2).ravel()
    return np.concatenate([xt, xg]), np.concatenate([qt, qg])


@functools.lru_cache(maxsize=16)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(n)


def _weight_nodes(y: float, c: float, base: Base, ks: tuple, pre: tuple, acc: Accuracy) -> _Nodes:
    """Constant bias c: integrate over the weight's base variable, split where w = 0, where w y + c hits a kink or
    a zero of φ′ (``ks``) and where it hits a preimage of the y-grid's piece boundaries (``pre``)."""
    if base.kind == "constant":
        return _deterministic(np.array([base.a * y + c]), np.array([1.0]), np.array([base.a]))
    singular = {base.z(0.0)} | {base.z((k - c) / y) for k in ks}
    z, q = _rule(_edges(base, singular | {base.z((p - c) / y) for p in pre}, acc), singular, acc)
    w = base.w(z)
    return _deterministic(w * y + c, q * base.density(z), w)


def _gaussian_nodes(y: float, w: Normal, b: Normal, ks: tuple, pre: tuple, acc: Accuracy) -> _Nodes:
    """Gaussian weight and bias: integrate over v with the Gaussian law of w given v."""
    mw, sw, mb, sb = float(w.mu), float(w.sigma), float(b.mu), float(b.sigma)
    mv = mw * y + mb
    sv = math.sqrt(sw * sw * y * y + sb * sb)
    singular = {(k - mv) / sv for k in ks}
    z, q = _rule(_edges(Base("normal", 0.0, 1.0), singular | {(p - mv) / sv for p in pre}, acc), singular, acc)
    v = mv + sv * z
    m = mw + sw * sw * y * z / sv
    s = sw * sb / sv
    r = m / s
    mabs = s * math.sqrt(2 / math.pi) * np.exp(-r * r / 2) + m * special.erf(r / math.sqrt(2))
    lw = math.log(s) + mean_log_abs_normal(r)
    return _Nodes(v, q * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), m, mabs, m * m + s * s, np.ones(z.size), lw)


def _row_nodes(y: float, w: Distribution, bias: Distribution | None, ks: tuple, pre: tuple,
               acc: Accuracy) -> _Nodes:
    """The integration nodes of the row at y: ``ks`` are the kinks and zeros of φ′, ``pre`` the preimages of the
    y-grid's piece boundaries (the points of v where the integrand is not smooth)."""
    if bias is None or isinstance(bias, Constant):
        c = 0.0 if bias is None else float(bias.args[0])
        return _point(c, w) if y == 0 and not w.is_constant else _weight_nodes(y, c, w.base(), ks, pre, acc)
    if isinstance(w, Normal) and isinstance(bias, Normal):
        return _gaussian_nodes(y, w, bias, ks, pre, acc)
    return _mixed_nodes(y, w, bias, ks, pre, acc)


def _outer_rule(base: Base, cuts, acc: Accuracy) -> tuple[np.ndarray, np.ndarray]:
    """A Gauss–Legendre rule over a bias's base variable (``acc.outer_points`` points per piece, cut at ``cuts``;
    a Gaussian base over ±``acc.outer_cut`` sd, also cut at :data:`_OUTER_CUTS` so that the points per sd do not
    thin out as the window widens): the outer integral of :func:`_mixed_nodes` is smooth, and its cost multiplies
    the inner one."""
    lo, hi = (base.lo, base.hi) if base.kind == "uniform" else (-acc.outer_cut, acc.outer_cut)
    inside = sorted({z for z in cuts if math.isfinite(z) and lo < z < hi}
                    | (set(_OUTER_CUTS) if base.kind != "uniform" else set()))
    edges = [lo] + inside + [hi]
    t, wt = np.polynomial.legendre.leggauss(acc.outer_points)
    zs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        zs.append(a + (b - a) * (t + 1) / 2)
        ws.append(wt * (b - a) / 2)
    z, q = np.concatenate(zs), np.concatenate(ws)
    return z, q * base.density(z)


def _mixed_nodes(y: float, w: Distribution, bias: Distribution, ks: tuple, pre: tuple, acc: Accuracy) -> _Nodes:
    """A random bias with a weight law that is not Gaussian (or the reverse): the constant-bias rows averaged
    over the bias by :func:`_outer_rule`."""
    bb = bias.base()
    mean_w = float(w.moments().mean)
    zb, qb = _outer_rule(bb, {bb.z(k - mean_w * y) for k in ks}, acc)
    parts = []
    for b_value, weight in zip(bb.w(zb), qb):
        n = (_point(b_value, w) if y == 0 and not w.is_constant
             else _weight_nodes(y, float(b_value), w.base(), ks, pre, acc))
        parts.append(_Nodes(n.v, n.q * weight, n.m1, n.mabs, n.m2, n.pnz, n.lw))
    return _concatenate(parts)


def _concatenate(parts: list) -> _Nodes:
    return _Nodes(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Nodes.__dataclass_fields__))


# ---------------------------------------------------------------- the operator

#: Below this a float φ′ is subnormal (fewer than 53 significant bits): log|φ′| comes from the log form instead.
_SUBNORMAL = 2.2250738585072014e-308


def phi_and_log_dphi(pair, v: np.ndarray, dead: tuple, logfix=None) -> tuple:
    """(φ(v), φ′(v), whether u = wφ′(v) can be non-zero for w ≠ 0, log|φ′(v)|) at the nodes ``v``: φ′ is zero only
    inside the intervals ``dead`` where it vanishes identically (or where it is exactly 0 there); a φ′ that is 0
    or subnormal elsewhere has too few digits, and ``logfix(v)`` gives its log (else the log of the smallest
    float)."""
    phi, d = pair(v)
    outside = ~_in_any(v, dead)
    nz = (d != 0) | outside
    with np.errstate(divide="ignore"):
        logd = np.where(d != 0, np.log(np.abs(np.where(d != 0, d, 1.0))), _LOG_TINY)
    inexact = (np.abs(d) < _SUBNORMAL) & outside  # 0 or subnormal: too few digits for log|φ′|
    if logfix is not None and inexact.any():
        logd[inexact] = logfix(v[inexact])
    return phi, d, nz, logd


def _rows(chunk: list, pair, grid: Grid, dead: tuple, logfix=None) -> np.ndarray:
    """The rows of every operator at the points whose integration nodes are ``chunk`` (one :class:`_Nodes` per
    point): an array (8, len(chunk), grid.size), the g of :data:`FUNCTIONS`, then ``one`` and ``nonzero`` acting
    on f/rho. ``dead`` are the intervals where φ′ ≡ 0: there, and only there (or at an exact zero), u = 0; a φ′
    that merely underflows counts as non-zero, with log|φ′| clamped at the log of the smallest float.

    Each integration node falls in one piece of the y-grid (where φ(v) lies) and contributes its weight times
    the n interpolation weights of that piece: the nodes are grouped by (point, piece) and each group summed into
    one block of n entries, never a dense matrix per row."""
    from scipy import sparse

    nodes = _concatenate(chunk)
    phi, d, nz, logd = phi_and_log_dphi(pair, nodes.v, dead, logfix)
    rho = 1.0 + np.minimum(phi * phi, 1e300)
    G = np.stack([nodes.m1 * d, nodes.mabs * np.abs(d), nodes.m2 * d * d, nodes.pnz * nz,
                  np.where(nz, nodes.lw + nodes.pnz * logd, 0.0), np.ones(d.size)]) * nodes.q
    G = np.vstack([G, G[5] * rho, G[3] * rho])
    which, terms, total = grid.locate(np.where(np.isnan(phi), 0.0, phi), normalised=False)
    G /= total  # the barycentric normalisation, on the node weights rather than on every interpolation weight
    point = np.repeat(np.arange(len(chunk)), [c.v.size for c in chunk])
    key = point * len(grid.pieces) + which  # the (point, piece) block each node adds to
    m, blocks = key.size, len(chunk) * len(grid.pieces)
    out = np.empty((G.shape[0], len(chunk), grid.size))
    for g in range(G.shape[0]):  # sparse (blocks × nodes, one entry per node) times dense (nodes × n)
        S = sparse.csc_matrix((G[g], key, np.arange(m + 1)), shape=(blocks, m))
        out[g] = (S @ terms).reshape(len(chunk), grid.size)
    return out


def _in_any(v: np.ndarray, intervals: tuple) -> np.ndarray:
    out = np.zeros(v.shape, dtype=bool)
    for a, b in intervals:
        out |= (v >= a) & (v <= b)
    return out


def _kink_and_zero_points(act: BoundActivation) -> tuple:
    """Kinks of φ and isolated zeros of φ′ in [-60, 60] (points inside an interval where φ′ ≡ 0 are not zeros
    to split at: the kinks bound such intervals)."""
    zero = [z for z in _dphi_zeros(act, -60.0, 60.0)]
    g = numpy_function(act, 1)
    isolated = [z for z in zero if g(np.array([z - 1e-6, z + 1e-6])).any()]
    return tuple(sorted(set(_kinks(act)) | set(isolated)))


def build_operator(act: Activation | str, weights: str | Distribution, bias: str | Distribution | None,
                   x: float, accuracy: Accuracy = SCHEDULE[1], params: dict | None = None) -> Operator:
    r"""The operator at one level of accuracy (:class:`~analytic.theory.accuracy.Accuracy`: Chebyshev points
    and grading of the y-range, tanh–sinh step and window, truncations)."""
    act = resolve(act, params)
    w = distribution(weights)
    b = None if bias is None else distribution(bias)
    return _build(act, w, b, float(x), accuracy)


#: Integration nodes gathered before their rows are summed (a bound on memory; the sums do not depend on it).
_CHUNK_NODES = 100_000


#: Operators kept for reuse: a fine level's matrices take up to a few hundred MB, and a chain uses each level once
#: (a later call at another depth reuses the last few).
_KEPT_OPERATORS = 4


@functools.lru_cache(maxsize=_KEPT_OPERATORS)
def _build(act: BoundActivation, w: Distribution, b: Distribution | None, x: float, acc: Accuracy) -> Operator:
    pair = numpy_pair(act)
    ks = _kink_and_zero_points(act)
    grid = Grid(_split(y_pieces(act, acc), _support_kinks(w, b, ks)), acc.points)
    pre = _preimages(act, tuple(p[1] for p in grid.pieces[:-1]))
    dead = tuple(_zero_pieces(act))
    nodes = grid.nodes
    names = FUNCTIONS + ("one_rho", "nonzero_rho")
    logfix = functools.partial(_log_abs_underflow, act)
    points = np.append(nodes, x)  # every node of the grid, then the start y_0 = x
    T = np.empty((len(names), points.size, nodes.size))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        first, chunk, size = 0, [], 0
        for i, y in enumerate(points):
            chunk.append(_row_nodes(float(y), w, b, ks, pre, acc))
            size += chunk[-1].v.size
            if size >= _CHUNK_NODES or i == points.size - 1:
                T[:, first:i + 1] = _rows(chunk, pair, grid, dead, logfix)
                first, chunk, size = i + 1, [], 0
    start = T[:, -1]
    T = T[:, :-1]
    T[len(FUNCTIONS):] /= (1.0 + nodes**2)[None, :, None]
    return Operator({g: T[i] for i, g in enumerate(names)}, {g: start[i] for i, g in enumerate(names)}, nodes)
