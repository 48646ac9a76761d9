r"""The typical gradient: the exact median (and quantiles) of :math:`|P_r|`, :math:`P_r = \prod_{t=1}^r u_t`,
:math:`u_t = w_t\varphi'(v_t)`, of the chain of :mod:`analytic.theory.chain`, without sampling.

**Why not** :math:`e^{E\log|P_r|}`. Rare chains can dominate :math:`E\log|P_r|`: for GELU a very negative
pre-activation gives :math:`\log\varphi'(v) \approx -v^2/2`, so a chain that meets one such layer carries a huge
negative logarithm, and the mean of the logarithms sits far below where almost every chain ends. The median of
:math:`|P_r|` is what a typical chain sees.

**Characteristic function.** :math:`E[|P_r|^{i\theta}; P_r \ne 0]` is multiplicative along the chain, so with
:math:`Z = 1(u \ne 0)` the transfer operator of :mod:`analytic.theory.chain` with the per-layer function
:math:`g_\theta(u) = Z\,|u|^{i\theta}` gives

.. math:: \psi_r(\theta) = E[e^{i\theta\log|P_r|}; P_r \ne 0] = (T_{g_\theta}^r 1)(x),

for every θ on a quadrature grid at once. With :math:`p_0 = P(P_r = 0) = 1 - \psi_r(0)` and the conditional
characteristic function :math:`\phi_r = \psi_r/\psi_r(0)`, Gil-Pelaez inversion gives the conditional law of
:math:`L = \log|P_r|`,

.. math:: P(L \le m \mid P_r \ne 0) = \tfrac12 - \tfrac1\pi\int_0^\infty
          \frac{\operatorname{Im}\big(e^{-i\theta m}\phi_r(\theta)\big)}{\theta}\,d\theta,

and the median of :math:`|P_r|` is :math:`e^{m}` with :math:`p_0 + (1 - p_0)P(L \le m \mid P_r \ne 0) = 1/2`
(0 when :math:`p_0 \ge 1/2`). The integral runs over geometric panels of Gauss–Legendre points, from the scale
set by the spread of L at the deepest depth to a cut-off where :math:`|\phi_r|` is negligible at the shallowest;
the spread comes from :math:`E[L]` and :math:`E[L^2]` given :math:`P_r \ne 0`, by the same recursion
(:math:`c_k = T_{Z\log|u|}a_{k-1} + T_Z c_{k-1}`, :math:`d_k = T_{Z\log^2|u|}a_{k-1} + 2T_{Z\log|u|}c_{k-1} +
T_Z d_{k-1}`, :math:`a_k = T_Z^k 1`), which also gives the reported standard deviation of :math:`\log|P_r|`.

**Error.** Everything is computed at two settings that differ in every accuracy knob (Chebyshev points per piece
of the y-range, the tanh–sinh step of the weight integral, Gauss–Legendre points per θ-panel, the θ cut-off);
the finer median is reported with the difference as its error, and withheld (``converged = False``) above the
tolerance. A deterministic chain (constant weight, no random bias) has :math:`|P_r|` itself as its median.

>>> law = log_law("relu", 3, "normal(0, 1)")
>>> round(law.median_log[-1].log_abs, 3)   # 3 layers, half the chains die at each: P(P_3 = 0) = 7/8
-inf
"""
from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from ..core.calculus import numpy_pair
from ..core.registry import Activation, BoundActivation
from ..distributions import Constant, Distribution
from ..errors import SpecError, canonical_float
from ..quantities import LogQuantity
from .gaussian import _zero_pieces
from ..core.logforms import log_abs_underflow
from .accuracy import SCHEDULE, Accuracy
from .chain import chain_inputs
from .transfer import (Grid, _edges, _kink_and_zero_points, _outer_rule, _preimages, _rule, _split, _support_kinks,
                       _weight_nodes, phi_and_log_dphi, y_pieces)

#: Largest depth :func:`log_law` accepts (the θ-iteration costs a complex matrix–vector product per θ and depth).
MAX_DEPTH = 2000
#: Absolute tolerance of the log-median (so a relative tolerance of the median itself).
TOLERANCE = 1e-3


@dataclass(frozen=True)
class Settings:
    """One accuracy setting: Chebyshev points per piece of the y-range, the level of the exact chain's accuracy
    schedule (:data:`analytic.theory.accuracy.SCHEDULE`: weight quadrature, grading, truncations) it otherwise
    takes, Gauss–Legendre points per θ-panel and the cut-off of the θ-integral as a multiple of the shallowest
    spread's inverse."""

    points: int
    level: int
    panel_points: int
    cutoff: float

    @property
    def accuracy(self) -> Accuracy:
        return dataclasses.replace(SCHEDULE[self.level], points=self.points)


#: The refinement ladder: consecutive settings differ in every knob, so the difference of two consecutive ones
#: sees every source of error. The first two are computed; the next only where a value missed its tolerance.
SETTINGS = (Settings(10, 0, 12, 16.0), Settings(14, 1, 16, 24.0), Settings(18, 2, 20, 32.0))


@dataclass(frozen=True)
class LogLaw:
    r"""The law of :math:`\log|P_k|` at depths k = 1…r.

    ``median_log[k-1]`` is the median of :math:`|P_k|` as a :class:`~analytic.quantities.LogQuantity` (its
    ``log_abs`` is the log-median, ``-inf`` when at least half the products are exactly 0);
    ``quantiles[q][k-1]`` the same for the other levels q; ``log_mean``, ``log_sd`` (arrays) the mean and standard
    deviation of :math:`\log|P_k|` given :math:`P_k \ne 0`; ``zero_probability`` (array) :math:`P(P_k = 0)`.
    """

    activation: str
    depth: int
    weights: str
    bias: str | None
    x: float
    method: str
    median_log: tuple
    quantiles: dict
    log_mean: np.ndarray
    log_sd: np.ndarray
    zero_probability: np.ndarray
    tolerance: float
    notes: tuple = ()

    @property
    def converged(self) -> bool:
        return all(q.converged for q in self.median_log)


# ---------------------------------------------------------------- one row: (v, weight, w) triples

def _triples(y: float, w: Distribution, b: Distribution | None, ks: tuple, pre: tuple, acc: Accuracy
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integration nodes of one row with the weight explicit: pre-activations v, quadrature weights, weights w."""
    if b is None or isinstance(b, Constant):
        return _at_bias(y, 0.0 if b is None else float(b.args[0]), w, ks, pre, acc)
    bb = b.base()
    zb, qb = _outer_rule(bb, {bb.z(k - float(w.moments().mean) * y) for k in ks}, acc)
    parts = [_at_bias(y, float(c), w, ks, pre, acc) for c in bb.w(zb)]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] * q for p, q in zip(parts, qb)]),
            np.concatenate([p[2] for p in parts]))


def _at_bias(y: float, c: float, w: Distribution, ks: tuple, pre: tuple, acc: Accuracy):
    base = w.base()
    if y == 0 and not w.is_constant:  # v = c whatever w: integrate w over its base, split at w = 0
        zero = {base.z(0.0)}
        z, q = _rule(_edges(base, zero, acc), zero, acc)
        wv = base.w(z)
        return np.full(wv.size, c), q * base.density(z), wv
    n = _weight_nodes(y, c, base, ks, pre, acc)
    return n.v, n.q, n.m1


@dataclass(frozen=True)
class _Rows:
    """Per row (node y, then the start x): the log|u| of its integration nodes (masked where u = 0), their
    weights, and the interpolation of φ(v) onto the grid, by piece."""

    lu: list
    q: list
    blocks: list
    rho_next: list


def _rows(act: BoundActivation, w: Distribution, b: Distribution | None, x: float, s: Settings,
          grid: Grid) -> _Rows:
    pair = numpy_pair(act)
    ks = _kink_and_zero_points(act)
    pre = _preimages(act, tuple(p[1] for p in grid.pieces[:-1]))
    dead = tuple(_zero_pieces(act))
    logfix = functools.partial(log_abs_underflow, act)
    lus, qs, blocks, rhos = [], [], [], []
    for y in list(grid.nodes) + [x]:
        v, q, wv = _triples(float(y), w, b, ks, pre, s.accuracy)
        with np.errstate(all="ignore"):
            phi, _, nz, logd = phi_and_log_dphi(pair, v, dead, logfix)
            alive = (wv != 0) & nz
            lu = np.log(np.abs(np.where(alive, wv, 1.0))) + logd
        keep = alive & (q > 0)
        phi = np.where(np.isnan(phi[keep]), 0.0, phi[keep])
        lu, q = lu[keep], q[keep]
        which, terms = grid.locate(phi)  # each node's piece and its n interpolation weights there
        rows = [(int(p), idx, terms[idx]) for p in np.unique(which) for idx in [np.flatnonzero(which == p)]]
        lus.append(lu)
        qs.append(q)
        blocks.append(rows)
        rhos.append(1.0 + np.minimum(phi * phi, 1e300))
    return _Rows(lus, qs, blocks, rhos)


def _real_operators(rows: _Rows, grid: Grid) -> dict[str, np.ndarray]:
    r"""``Z``, ``Zl``, ``Zl2`` (per-layer :math:`Z`, :math:`Z\log|u|`, :math:`Z\log^2|u|`) and their conjugates by
    :math:`\rho = 1 + y^2` (``*_rho``: :math:`\rho^{-1}T(\rho f)`), as (rows, nodes) matrices; the last row is x."""
    N = grid.n * len(grid.pieces)
    names = ("Z", "Zl", "Zl2", "Z_rho", "Zl_rho")
    M = {k: np.zeros((len(rows.lu), N)) for k in names}
    for i, (lu, q, rows_i, rho) in enumerate(zip(rows.lu, rows.q, rows.blocks, rows.rho_next)):
        g = {"Z": q, "Zl": q * lu, "Zl2": q * lu * lu, "Z_rho": q * rho, "Zl_rho": q * lu * rho}
        for p, idx, L in rows_i:
            sl = slice(p * grid.n, (p + 1) * grid.n)
            for k in names:
                M[k][i, sl] += g[k][idx] @ L
    for k in ("Z_rho", "Zl_rho"):  # the node rows; the last row (x) is not divided
        M[k][:-1] /= (1.0 + grid.nodes**2)[:, None]
    return M


def _log_moments(M: dict, nodes: np.ndarray, depth: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""log P(P_k ≠ 0), E[log|P_k| | P_k ≠ 0] and its standard deviation at k = 1…depth (the recursions of the
    module docstring; c and d carried as :math:`f/\rho` so that they stay bounded on an unbounded y-range)."""
    T = {k: m[:-1] for k, m in M.items()}
    S = {k: m[-1] for k, m in M.items()}
    rho = 1.0 + nodes**2
    a, c, d, scale = np.ones(nodes.size), np.zeros(nodes.size), np.zeros(nodes.size), 0.0
    lognz, mean, sd = np.empty(depth), np.empty(depth), np.empty(depth)
    for k in range(depth):
        p = float(S["Z"] @ a)
        m1 = float(S["Zl"] @ a + S["Z_rho"] @ c)
        m2 = float(S["Zl2"] @ a + 2 * S["Zl_rho"] @ c + S["Z_rho"] @ d)
        lognz[k] = math.log(p) + scale if p > 0 else -math.inf
        mean[k] = m1 / p if p > 0 else math.nan
        sd[k] = math.sqrt(max(m2 / p - mean[k] ** 2, 0.0)) if p > 0 else math.nan
        a, c, d = (T["Z"] @ a, T["Zl"] @ a / rho + T["Z_rho"] @ c,
                   T["Zl2"] @ a / rho + 2 * T["Zl_rho"] @ c + T["Z_rho"] @ d)
        top = float(np.max(np.abs(a))) if a.size else 0.0
        if top > 0 and math.isfinite(top):
            a, c, d, scale = a / top, c / top, d / top, scale + math.log(top)
    return lognz, mean, sd


def _theta_rule(spread_lo: float, spread_hi: float, s: Settings) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre points on geometric panels [0, a], [a, 2a], …, up to ``s.cutoff / spread_lo``, with
    a = 1/(4 ``spread_hi``): the widest law's characteristic function is resolved near 0, the narrowest one's
    decays before the cut-off."""
    a = 0.25 / spread_hi
    top = s.cutoff / spread_lo
    edges = [0.0, a]
    while edges[-1] < top:
        edges.append(2 * edges[-1])
    t, wt = np.polynomial.legendre.leggauss(s.panel_points)
    th = np.concatenate([lo + (hi - lo) * (t + 1) / 2 for lo, hi in zip(edges[:-1], edges[1:])])
    om = np.concatenate([wt * (hi - lo) / 2 for lo, hi in zip(edges[:-1], edges[1:])])
    return th, om


#: θ values whose operators are built and iterated together (bounds memory to CHUNK × nodes² complex numbers).
CHUNK = 24


def _characteristic(rows: _Rows, grid: Grid, theta: np.ndarray, depth: int, lognz: np.ndarray) -> np.ndarray:
    r"""The conditional characteristic functions :math:`\phi_k(\theta) = \psi_k(\theta)/\psi_k(0)`, shape
    (depth, len(theta)): each θ's iterate is divided by the scale of :math:`T_Z^k 1`, which bounds it."""
    N = grid.n * len(grid.pieces)
    out = np.empty((depth, theta.size), dtype=complex)
    for lo in range(0, theta.size, CHUNK):
        th = theta[lo:lo + CHUNK]
        T = np.zeros((th.size, len(rows.lu), N), dtype=complex)
        for i, (lu, q, rows_i) in enumerate(zip(rows.lu, rows.q, rows.blocks)):
            for p, idx, L in rows_i:
                E = np.exp(1j * np.outer(th, lu[idx])) * q[idx]
                T[:, i, p * grid.n:(p + 1) * grid.n] += E @ L
        S, T = T[:, -1, :], T[:, :-1, :]
        h, sc = np.ones((th.size, N), dtype=complex), 0.0
        for k in range(depth):
            if not math.isfinite(lognz[k]):  # every product is 0 from here on
                out[k:, lo:lo + th.size] = np.nan
                break
            out[k, lo:lo + th.size] = np.einsum("jn,jn->j", S, h) * math.exp(sc - lognz[k])
            h = np.matmul(T, h[:, :, None])[:, :, 0] * math.exp(sc - lognz[k])
            sc = float(lognz[k])
    return out


def _conditional_cdf(phi: np.ndarray, theta: np.ndarray, omega: np.ndarray, m: np.ndarray) -> np.ndarray:
    r""":math:`P(L \le m \mid P \ne 0) = \tfrac12 - \tfrac1\pi\sum_j \omega_j\operatorname{Im}(e^{-i\theta_j m}
    \phi(\theta_j))/\theta_j` for an array of m."""
    integrand = np.imag(np.exp(-1j * np.outer(m, theta)) * phi[None, :]) / theta[None, :]
    return 0.5 - (integrand @ omega) / math.pi


def _quantile(phi: np.ndarray, theta: np.ndarray, omega: np.ndarray, level: float, start: float,
              spread: float) -> float:
    """The m with conditional CDF ``level``: a scan of ±12 ``spread`` around ``start`` for the one crossing, then
    Brent's method; nan when the computed CDF crosses the level other than once there (not resolved)."""
    grid = start + 12 * spread * np.linspace(-1, 1, 193)
    F = _conditional_cdf(phi, theta, omega, grid) - level
    cross = np.flatnonzero(np.sign(F[:-1]) != np.sign(F[1:]))
    if cross.size != 1:
        return math.nan
    i = int(cross[0])
    f = lambda m: float(_conditional_cdf(phi, theta, omega, np.array([m]))[0]) - level  # noqa: E731
    return float(optimize.brentq(f, grid[i], grid[i + 1], xtol=1e-13, rtol=1e-15, maxiter=200))


def _bulk_spreads(sd: np.ndarray) -> np.ndarray:
    r"""A scale of the bulk of :math:`\log|P_k|` at each depth: its standard deviation, but at most
    :math:`4\sqrt{k}` times the one-layer one, since rare chains with a huge negative :math:`\log|u|` can make
    the standard deviation of :math:`\log|P_k|` huge while the bulk stays a sum of k per-layer terms (a mass that
    far away moves the CDF in the bulk by its size only, which the error estimate sees)."""
    first = float(sd[0]) if math.isfinite(sd[0]) and sd[0] > 0 else 1.0
    cap = 4 * first * np.sqrt(np.arange(1, sd.size + 1))
    out = np.where(np.isfinite(sd) & (sd > 0), np.minimum(sd, cap), cap)
    return np.maximum(out, 1e-3)


def _one_setting(act: BoundActivation, w: Distribution, b: Distribution | None, x: float, depth: int,
                 s: Settings, levels: tuple) -> tuple[dict, np.ndarray, np.ndarray, np.ndarray]:
    grid = Grid(_split(y_pieces(act, s.accuracy), _support_kinks(w, b, _kink_and_zero_points(act))), s.points)
    rows = _rows(act, w, b, x, s, grid)
    lognz, mean, sd = _log_moments(_real_operators(rows, grid), grid.nodes, depth)
    spreads = _bulk_spreads(sd)
    theta, omega = _theta_rule(float(spreads.min()), float(spreads.max()), s)
    phi = _characteristic(rows, grid, theta, depth, lognz)
    p0 = -np.expm1(np.minimum(lognz, 0.0))
    out = {}
    for level in levels:
        ms = np.full(depth, np.nan)
        for k in range(depth):
            if p0[k] >= level - 1e-12:
                ms[k] = -math.inf  # at least a fraction `level` of the products are exactly 0
            elif np.all(np.isfinite(phi[k])):
                start = ms[k - 1] if k and math.isfinite(ms[k - 1]) else mean[k]
                ms[k] = _quantile(phi[k], theta, omega, (level - p0[k]) / (1 - p0[k]), start, spreads[k])
        out[level] = ms
    return out, mean, sd, p0


def _compare(fine: tuple, coarse: tuple, levels: tuple, tolerance: float) -> dict:
    return {lv: tuple(_as_quantity(f, c, tolerance) for f, c in zip(fine[0][lv], coarse[0][lv])) for lv in levels}


def _as_quantity(fine: float, coarse: float, tolerance: float) -> LogQuantity:
    if fine == -math.inf and coarse == -math.inf:
        return LogQuantity(-math.inf, 0, -math.inf)
    if not (math.isfinite(fine) and math.isfinite(coarse)):
        return LogQuantity(fine if math.isfinite(fine) else math.nan, 1, math.nan, False)
    err = max(abs(fine - coarse), 1e-15 * max(1.0, abs(fine)))
    return LogQuantity(fine, 1, fine + math.log(err), err <= tolerance)


def log_law(act: Activation | str, depth: int, weights: str | Distribution, x: float = 1.0,
            bias: str | Distribution | None = None, params: dict | None = None, tolerance: float = TOLERANCE,
            levels: tuple = (0.25, 0.75)) -> LogLaw:
    r"""The median of :math:`|P_k|` (and its quantiles at ``levels``) at depths 1…``depth``, the mean and standard
    deviation of :math:`\log|P_k|` given :math:`P_k \ne 0`, and :math:`P(P_k = 0)`, for the chain of
    :func:`analytic.theory.chain.exact_chain` (same arguments), by Gil-Pelaez inversion of the exact
    characteristic function of :math:`\log|P_k|` (see the module docstring).

    ``tolerance`` is absolute on the log-median (a relative tolerance on the median).

    >>> law = log_law("sigmoid", 2, "constant(1)")  # deterministic: the median is |P_2| itself
    >>> law.method
    'deterministic chain'
    """
    a, depth, w, b, tolerance = chain_inputs(act, depth, weights, bias, params, tolerance, MAX_DEPTH)
    levels = tuple(canonical_float("level", q, 0, 1, open_low=True, open_high=True) for q in levels)
    return _log_law(a, depth, w, b, canonical_float("x", x, error=SpecError), tolerance, levels)


@functools.lru_cache(maxsize=32)
def _log_law(act: BoundActivation, depth: int, w: Distribution, b: Distribution | None, x: float,
             tolerance: float, levels: tuple) -> LogLaw:
    if w.is_constant and (b is None or b.is_constant):
        return _deterministic(act, depth, w, b, x, tolerance, levels)
    want = (0.5,) + tuple(q for q in levels if q != 0.5)
    with threadpool_limits(limits=1, user_api="blas"):
        runs = [_one_setting(act, w, b, x, depth, s, want) for s in SETTINGS[:2]]
        q = _compare(runs[-1], runs[-2], want, tolerance)
        for s in SETTINGS[2:]:
            if all(v.converged for lv in want for v in q[lv]):
                break
            runs.append(_one_setting(act, w, b, x, depth, s, want))
            q = _compare(runs[-1], runs[-2], want, tolerance)
    fine = runs[-1]
    c0, f0 = SETTINGS[len(runs) - 2:len(runs)]
    notes = (f"Gil-Pelaez inversion of the exact characteristic function of log|prod| (transfer operator with "
             f"g(u) = |u|^(i theta)); settings {c0} and {f0}, the finer reported, the difference its error "
             f"(tolerance {tolerance:g} on the log-median)",)
    return LogLaw(act.name, depth, w.spec, None if b is None else b.spec, x, "Gil-Pelaez inversion",
                  q[0.5], {lv: q[lv] for lv in levels}, fine[1], fine[2], fine[3], tolerance, notes)


def _deterministic(act: BoundActivation, depth: int, w: Distribution, b: Distribution | None, x: float,
                   tolerance: float, levels: tuple) -> LogLaw:
    from .chain import exact_chain

    c = exact_chain(act, depth, w, x=x, bias=b)
    series = c.by_depth["mean_abs"]
    med = tuple(series[k] for k in range(depth))
    logs = np.array([m.log_abs if m.sign else -math.inf for m in med])
    p0 = np.array([0.0 if m.sign else 1.0 for m in med])
    return LogLaw(act.name, depth, w.spec, None if b is None else b.spec, x, "deterministic chain", med,
                  {lv: med for lv in levels}, np.where(p0 == 0, logs, np.nan), np.zeros(depth), p0, tolerance,
                  ("constant weight and no random bias: every chain is the same, so |prod| is its own median",))
