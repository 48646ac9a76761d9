r"""The chain's transfer operator, discretised: Chebyshev grids in y, tanh–sinh quadrature over the weight.

:func:`build_operator` returns the matrices of

.. math:: (T_g h)(y) = E_{w,b}\big[g(w\varphi'(v))\,h(\varphi(v))\big], \qquad v = wy + b,

for the per-layer functions :data:`FUNCTIONS` of :math:`u = w\varphi'(v)`: :math:`u`, :math:`|u|`, :math:`u^2`,
:math:`Z = 1(u \ne 0)`, :math:`Z\log|u|` and 1. Writing the expectation over v, every function is
:math:`E[\,\cdot \mid v]` of the weight times a function of :math:`\varphi'(v)`:
:math:`E[u\mid v] = E[w\mid v]\varphi'(v)`, :math:`E[Z\log|u|\mid v] = 1(\varphi'(v) \ne 0)(E[\log|w|;w\ne 0\mid
v] + P(w \ne 0\mid v)\log|\varphi'(v)|)`, and so on. Three cases reduce each row to one integral:

* the bias is a constant c (0 by default): :math:`w` is integrated over its base variable, :math:`v = wy + c`,
  split at :math:`w = 0` and at :math:`w = (k - c)/y` for every kink and zero k of :math:`\varphi'`;
* weights and bias both Gaussian: :math:`v \mid y \sim N(\mu_w y + \mu_b, \sigma_w^2 y^2 + \sigma_b^2)` and
  :math:`w \mid v` is Gaussian with mean :math:`\mu_w + \sigma_w^2 y (v - \mu_v)/\sigma_v^2` and variance
  :math:`\sigma_w^2\sigma_b^2/\sigma_v^2`, whose :math:`E|w|` (folded normal) and :math:`E\log|w|` (the Poisson
  series :func:`mean_log_abs_normal`) are exact; v is integrated, split at the kinks and zeros;
* otherwise (a non-Gaussian law with a random bias), an outer integral over the bias of the first case.

Functions of y live on the closure of the range of φ, split at 0, as Chebyshev interpolants (first-kind points)
in s, with :math:`y = y_0 + L(1+s)/(1-s)` on an unbounded side.

>>> op = build_operator("sigmoid", "constant(1)", None, 1.0, 16, 1 / 8)
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
from .gaussian import _dphi_zeros, _kinks, _zero_pieces
from ..core.registry import Activation, BoundActivation

#: Per-layer functions g of u = w phi'(v) the operator is built for.
FUNCTIONS = ("mean", "mean_abs", "mean_square", "nonzero", "log", "one")
#: The tanh–sinh rule runs over t in [-T_MAX, T_MAX]: its weights there are below 1e-40 of the largest.
_T_MAX = 3.3
#: Fixed cuts of a Gaussian base variable (in sd), so no piece is wider than 2 sd where the density matters.
_GAUSS_CUTS = (-9.0, -6.0, -4.0, -2.5, -1.25, 0.0, 1.25, 2.5, 4.0, 6.0, 9.0)
#: A uniform base is cut into this many equal pieces.
_UNIFORM_PIECES = 6


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
def _unit_rule(h: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tanh–sinh on [0, 1]: nodes as (distance from 0, distance from 1) and weights, accurate at both ends."""
    t = np.arange(-math.ceil(_T_MAX / h), math.ceil(_T_MAX / h) + 1) * h
    u = (math.pi / 2) * np.sinh(t)
    left = special.expit(2 * u)  # (1 + tanh u)/2, accurate near 0
    right = special.expit(-2 * u)  # (1 - tanh u)/2, accurate near 1
    weight = h * (math.pi / 2) * np.cosh(t) / np.cosh(u) ** 2 / 2
    keep = (left > 0) & (right > 0) & (weight > 0)
    return left[keep], right[keep], weight[keep]


def tanh_sinh(edges: list[float], h: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of the tanh–sinh rule of step ``h`` on each interval between consecutive ``edges``."""
    left, right, weight = _unit_rule(h)
    xs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        if not b > a:
            continue
        x = np.where(left < 0.5, a + (b - a) * left, b - (b - a) * right)
        xs.append(x)
        ws.append((b - a) * weight)
    if not xs:
        return np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ws)


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

    def interpolation(self, y: np.ndarray) -> np.ndarray:
        """The (len(y), n·pieces) matrix whose product with node values interpolates at ``y`` (clipped to the
        range)."""
        s_nodes, lam = self._s
        y = np.asarray(y, dtype=float)
        L = np.zeros((y.size, self.n * len(self.pieces)))
        bounds = [p[1] for p in self.pieces[:-1]]
        which = np.searchsorted(np.array(bounds), y, side="left") if bounds else np.zeros(y.size, dtype=int)
        for p in range(len(self.pieces)):
            idx = np.flatnonzero(which == p)
            if idx.size == 0:
                continue
            s = self.to_s(p, y[idx])
            diff = s[:, None] - s_nodes[None, :]
            exact = diff == 0
            with np.errstate(divide="ignore", invalid="ignore"):
                terms = lam[None, :] / diff
            hit = exact.any(axis=1)
            terms[hit] = exact[hit].astype(float)
            terms /= terms.sum(axis=1, keepdims=True)
            L[idx, p * self.n:(p + 1) * self.n] = terms
        return L


#: Geometric grading of the y-range towards 0: pieces [4^-(j+1), 4^-j] (times the piece's far end) for
#: j < GRADING, then [0, 4^-GRADING]. Without a bias, T h is smooth but not analytic at y = 0 (v = wy reaches
#: every value only through the Gaussian tail of w), and graded pieces restore geometric convergence.
GRADING = 6


def _graded(lo: float, hi: float) -> list[tuple[float, float]]:
    """[lo, hi] with one end at 0, cut geometrically towards 0; an unbounded side is cut geometrically towards
    infinity too ([1, 4], [4, 16], …, [4^GRADING, oo)), where log y / y^k terms of T h live."""
    if lo != 0:
        return [(-b, -a) for a, b in reversed(_graded(0.0, -lo))]
    far = hi if math.isfinite(hi) else 1.0
    edges = [0.0] + [far * 4.0**-j for j in range(GRADING, 0, -1)] + [far]
    if not math.isfinite(hi):
        edges += [4.0**j for j in range(1, GRADING + 1)] + [hi]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


def y_pieces(act: BoundActivation) -> tuple:
    """The closure of the range of φ (proved bounds of φ), split at 0 and graded towards it."""
    from ..bounds import bound

    b = bound(act, of="phi")
    lo, hi = float(b.inf.lower), float(b.sup.upper)
    if not hi > lo:
        return ((lo, lo),)
    if lo < 0 < hi:
        return tuple(_graded(lo, 0.0) + _graded(0.0, hi))
    if lo == 0 or hi == 0:
        return tuple(_graded(lo, hi))
    return ((lo, hi),)


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


def _edges(base: Base, cuts) -> list[float]:
    """The base range cut at ``cuts`` (base points) and at the fixed cuts of its kind."""
    if base.kind == "uniform":
        fixed = [base.lo + (base.hi - base.lo) * i / _UNIFORM_PIECES for i in range(1, _UNIFORM_PIECES)]
    else:
        fixed = list(_GAUSS_CUTS)
    inside = {z for z in list(cuts) + fixed if math.isfinite(z) and base.lo < z < base.hi}
    return [base.lo] + sorted(inside) + [base.hi]


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


def _weight_nodes(y: float, c: float, base: Base, ks: tuple, h: float) -> _Nodes:
    """Constant bias c: integrate over the weight's base variable, split where w = 0 or w y + c hits a kink or a
    zero of φ′."""
    if base.kind == "constant":
        return _deterministic(np.array([base.a * y + c]), np.array([1.0]), np.array([base.a]))
    cuts = {base.z(0.0)} | {base.z((k - c) / y) for k in ks}
    z, q = tanh_sinh(_edges(base, cuts), h)
    w = base.w(z)
    return _deterministic(w * y + c, q * base.density(z), w)


def _gaussian_nodes(y: float, w: Normal, b: Normal, ks: tuple, h: float) -> _Nodes:
    """Gaussian weight and bias: integrate over v with the Gaussian law of w given v."""
    mw, sw, mb, sb = float(w.mu), float(w.sigma), float(b.mu), float(b.sigma)
    mv = mw * y + mb
    sv = math.sqrt(sw * sw * y * y + sb * sb)
    z, q = tanh_sinh(_edges(Base("normal", 0.0, 1.0), [(k - mv) / sv for k in ks]), h)
    v = mv + sv * z
    m = mw + sw * sw * y * z / sv
    s = sw * sb / sv
    r = m / s
    mabs = s * math.sqrt(2 / math.pi) * np.exp(-r * r / 2) + m * special.erf(r / math.sqrt(2))
    lw = math.log(s) + mean_log_abs_normal(r)
    return _Nodes(v, q * np.exp(-z * z / 2) / math.sqrt(2 * math.pi), m, mabs, m * m + s * s, np.ones(z.size), lw)


def _row_nodes(y: float, w: Distribution, bias: Distribution | None, ks: tuple, h: float) -> _Nodes:
    if bias is None or isinstance(bias, Constant):
        c = 0.0 if bias is None else float(bias.args[0])
        return _point(c, w) if y == 0 and not w.is_constant else _weight_nodes(y, c, w.base(), ks, h)
    if isinstance(w, Normal) and isinstance(bias, Normal):
        return _gaussian_nodes(y, w, bias, ks, h)
    return _mixed_nodes(y, w, bias, ks, h)


def _outer_rule(base: Base, cuts, h: float) -> tuple[np.ndarray, np.ndarray]:
    """A modest Gauss–Legendre rule over a bias's base variable (int(1/h) points per piece, cut at ``cuts``; a
    Gaussian base over ±8 sd): the outer integral of :func:`_mixed_nodes` is smooth, and its cost multiplies the
    inner one."""
    lo, hi = (base.lo, base.hi) if base.kind == "uniform" else (-8.0, 8.0)
    inside = sorted({z for z in cuts if math.isfinite(z) and lo < z < hi} | ({0.0} if base.kind != "uniform" else set()))
    edges = [lo] + inside + [hi]
    t, wt = np.polynomial.legendre.leggauss(max(8, int(round(1 / h))))
    zs, ws = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        zs.append(a + (b - a) * (t + 1) / 2)
        ws.append(wt * (b - a) / 2)
    z, q = np.concatenate(zs), np.concatenate(ws)
    return z, q * base.density(z)


def _mixed_nodes(y: float, w: Distribution, bias: Distribution, ks: tuple, h: float) -> _Nodes:
    """A random bias with a weight law that is not Gaussian (or the reverse): the constant-bias rows averaged
    over the bias by :func:`_outer_rule`."""
    bb = bias.base()
    mean_w = float(w.moments().mean)
    zb, qb = _outer_rule(bb, {bb.z(k - mean_w * y) for k in ks}, h)
    parts = []
    for b_value, weight in zip(bb.w(zb), qb):
        n = _point(b_value, w) if y == 0 and not w.is_constant else _weight_nodes(y, float(b_value), w.base(), ks, h)
        parts.append(_Nodes(n.v, n.q * weight, n.m1, n.mabs, n.m2, n.pnz, n.lw))
    return _Nodes(*(np.concatenate([getattr(p, f) for p in parts]) for f in _Nodes.__dataclass_fields__))


# ---------------------------------------------------------------- the operator

def _row(nodes: _Nodes, pair, grid: Grid, dead: tuple, logfix=None) -> tuple[np.ndarray, np.ndarray]:
    """(the rows g of T at this y, for g in :data:`FUNCTIONS`, then ``one`` and ``nonzero`` acting on f/rho).
    ``dead`` are the intervals where φ′ ≡ 0: there, and only there (or at an exact zero), u = 0; a φ′ that merely
    underflows counts as non-zero, with log|φ′| clamped at the log of the smallest float."""
    phi, d = pair(nodes.v)
    nz = d != 0
    underflow = ~nz & ~_in_any(nodes.v, dead)
    nz |= underflow
    with np.errstate(divide="ignore"):
        logd = np.where(d != 0, np.log(np.abs(np.where(d != 0, d, 1.0))), _LOG_TINY)
    if logfix is not None and underflow.any():
        logd[underflow] = logfix(nodes.v[underflow])
    G = np.stack([nodes.m1 * d, nodes.mabs * np.abs(d), nodes.m2 * d * d, nodes.pnz * nz,
                  np.where(nz, nodes.lw + nodes.pnz * logd, 0.0), np.ones(d.size)]) * nodes.q
    L = grid.interpolation(np.where(np.isnan(phi), 0.0, phi))
    rho = 1.0 + np.minimum(phi * phi, 1e300)
    return np.vstack([G, G[5] * rho, G[3] * rho]) @ L


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
                   x: float, n: int, h: float, params: dict | None = None) -> Operator:
    r"""The operator at resolution (``n`` Chebyshev points per piece of the y-range, tanh–sinh step ``h``)."""
    act = resolve(act, params)
    w = distribution(weights)
    b = None if bias is None else distribution(bias)
    return _build(act, w, b, float(x), int(n), float(h))


@functools.lru_cache(maxsize=64)
def _build(act: BoundActivation, w: Distribution, b: Distribution | None, x: float, n: int,
           h: float) -> Operator:
    pair = numpy_pair(act)
    grid = Grid(y_pieces(act), n)
    ks = _kink_and_zero_points(act)
    dead = tuple(_zero_pieces(act))
    nodes = grid.nodes
    names = FUNCTIONS + ("one_rho", "nonzero_rho")
    logfix = functools.partial(_log_abs_underflow, act)
    T = np.empty((len(names), nodes.size, nodes.size))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        for i, y in enumerate(nodes):
            T[:, i, :] = _row(_row_nodes(float(y), w, b, ks, h), pair, grid, dead, logfix)
        start = _row(_row_nodes(x, w, b, ks, h), pair, grid, dead, logfix)
    T[len(FUNCTIONS):] /= (1.0 + nodes**2)[None, :, None]
    return Operator({g: T[i] for i, g in enumerate(names)}, {g: start[i] for i, g in enumerate(names)}, nodes)
