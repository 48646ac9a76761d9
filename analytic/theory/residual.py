r"""The exact residual chain: expectations of the gradient product of a one-neuron residual network, without
sampling.

**Model.** r residual blocks of one neuron, :math:`y_0 = x`, i.i.d. weights :math:`w_t` and biases :math:`b_t`
(none by default), branch scale :math:`\alpha` (a number, or ``"1/sqrt(r)"`` / ``"1/r"`` resolved at depth r):

* post-activation branch: :math:`y_t = y_{t-1} + \alpha\varphi(w_t y_{t-1} + b_t)`, factor
  :math:`u_t = 1 + \alpha w_t\varphi'(w_t y_{t-1} + b_t)`;
* pre-activation branch (Yang & Schoenholz 2017's reduced residual): :math:`y_t = y_{t-1} + \alpha(w_t
  \varphi(y_{t-1}) + b_t)`, factor :math:`u_t = 1 + \alpha w_t\varphi'(y_{t-1})`.

:math:`P_r = \partial y_r/\partial y_0 = \prod_t u_t`. The pairs (:math:`y_t`, product so far) form a Markov chain,
so the transfer operator of :mod:`analytic.theory.chain` applies with the residual map and factor,

.. math:: (T_g h)(y) = E_{w,b}\big[g(u)\,h(y')\big], \qquad y' = y + \alpha\varphi(wy + b) \text{ or }
          y + \alpha(w\varphi(y) + b),

for g = u, |u|, u², 1(u ≠ 0), 1(u ≠ 0) log|u| and 1, and the same recursions give E[∏], E|∏|, E[∏²],
E[log|∏| | ∏ ≠ 0] and P(∏ = 0) at every depth 1…r (the prefixes of the r-block network, α taken at depth r).

**Discretisation.** Unlike :math:`\varphi`'s range, :math:`y_t` is unbounded and spreads with depth, so functions
of y live on the whole line: Chebyshev interpolation on pieces split at 0, graded geometrically towards 0 and
towards ±∞ (``Accuracy.grading_zero``, ``grading_infinity``), with the algebraic map :math:`y = \pm(L + \ldots)`
of :class:`~analytic.theory.transfer.Grid` on the two unbounded ends, so no law of :math:`y_t` is cut off: the
outermost pieces carry all of it, and how well they resolve it is an accuracy setting like the others. Each row is
a 1-D integral over the weight's base variable (an outer Gauss–Legendre rule over a random bias), cut at every
point where the integrand is not smooth: where :math:`wy + b` meets a kink of φ′, where the factor u vanishes
(tanh–sinh there: :math:`\log|u|` has a logarithmic singularity) and where y′ crosses a boundary of the y-grid's
pieces (Gauss–Legendre between). For the post-activation branch these points are found by a scan of 257 points
over the weight's range and 60 bisection steps; for the pre-activation branch y′ and u are linear in w and the
points are exact. Everything is computed at two consecutive levels of the accuracy schedule, which differ in every
setting (resolution, grading towards 0 and ±∞, the weight's truncation), and refined while a quantity misses its
tolerance, exactly as for the plain chain; the finer value is reported with the difference as its error.

**Closed form** (``method = "closed form"``): for a linear φ (:math:`\varphi(v) = a v`, the identity) the factor
:math:`u_t = 1 + \alpha a w_t` does not depend on :math:`y_{t-1}` in either branch, so the factors are i.i.d. and
:math:`E[\prod] = (1 + \alpha a E[w])^r`, :math:`E[\prod^2] = E[(1 + \alpha a w)^2]^r`,
:math:`E|\prod| = E|1 + \alpha a w|^r` (folded normal for Gaussian weights),
:math:`E\log|\prod| = r\,E\log|1 + \alpha a w|` (:func:`~analytic.theory.transfer.mean_log_abs_normal`). Used for
Gaussian and constant weight laws; other laws go through the transfer operator, whose functions are then
constant in y.

>>> from analytic.architecture import residual
>>> from analytic.theory.chain import exact_chain
>>> c = exact_chain("identity", 4, "normal(0.5, 1)", architecture=residual(1))
>>> round(c["mean"].value, 12), c.method   # (1 + 0.5)^4
(5.0625, 'closed form')
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..core.calculus import numpy_pair
from ..core.registry import X, BoundActivation
from ..distributions import Constant, Distribution, Normal
from .accuracy import Accuracy
from .gaussian import _kinks
from .transfer import (FUNCTIONS, Grid, Operator, _edges, _graded, _outer_rule, _rule, _split, _support_kinks,
                       mean_log_abs_normal)

#: Points of the scan over the weight's range that brackets the zeros of u and the grid crossings of y'.
_SCAN = 257
#: Bisection steps refining a bracketed point (the bracket shrinks by 2^-60).
_BISECT = 60
#: Integration nodes gathered before their rows are summed (bounds memory; the sums do not depend on it).
_CHUNK_NODES = 100_000


# ---------------------------------------------------------------- the rows

@dataclass(frozen=True)
class Setup:
    """The residual chain's one-layer data: activation, weight and bias laws, branch scale at depth r, branch."""

    act: BoundActivation
    w: Distribution
    b: Distribution | None
    alpha: float
    branch: str


def _bias_rule(b: Distribution | None, acc: Accuracy) -> tuple[np.ndarray, np.ndarray]:
    """The bias values and their weights: one point for none or a constant, else the outer Gauss–Legendre rule."""
    if b is None:
        return np.array([0.0]), np.array([1.0])
    if isinstance(b, Constant):
        return np.array([float(b.args[0])]), np.array([1.0])
    bb = b.base()
    zb, qb = _outer_rule(bb, set(), acc)
    return bb.w(zb), qb


def _weight_range(base, acc: Accuracy) -> tuple[float, float]:
    if base.kind == "uniform":
        return base.lo, base.hi
    return max(base.lo, -acc.gauss_cut), min(base.hi, acc.gauss_cut)


def _evaluate(s: Setup, pair, y: np.ndarray, c: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(y', u) at weights ``w`` (arrays broadcast together) for the rows at y with bias c."""
    if s.branch == "post":
        phi, d = pair(w * y + c)
        return y + s.alpha * phi, 1.0 + s.alpha * w * d
    phi, d = pair(y)
    return y + s.alpha * (w * phi + c), 1.0 + s.alpha * w * d


def _brackets(values: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, scan index, level index) of every level crossed between consecutive scan points of ``values``
    (rows × scan): sign changes of values − level."""
    rows, idx, lev = [], [], []
    for j, beta in enumerate(levels):
        sgn = np.sign(values - beta)
        r, i = np.nonzero(sgn[:, :-1] * sgn[:, 1:] < 0)
        rows.append(r), idx.append(i), lev.append(np.full(r.size, j))
    return np.concatenate(rows), np.concatenate(idx), np.concatenate(lev)


def _bisect(f, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Vectorised bisection of f (elementwise, sign change between a and b) in :data:`_BISECT` steps."""
    fa = np.sign(f(a, np.arange(a.size)))
    for _ in range(_BISECT):
        m = (a + b) / 2
        fm = np.sign(f(m, np.arange(a.size)))
        left = fm == fa
        a, b = np.where(left, m, a), np.where(left, b, m)
    return (a + b) / 2


def _cut_points(s: Setup, pair, base, ys: np.ndarray, cs: np.ndarray, bounds: np.ndarray, ks: tuple,
                acc: Accuracy) -> tuple[list, list]:
    """Per subrow (y, c): the base points where the integrand is singular (kinks of φ′ in v, zeros of u: tanh–sinh
    there) and where y' crosses a piece boundary of the y-grid (``bounds``)."""
    n = ys.size
    singular: list = [set() for _ in range(n)]
    plain: list = [set() for _ in range(n)]
    if base.kind == "constant":
        return singular, plain
    lo, hi = _weight_range(base, acc)
    if s.branch == "pre":  # y' and u are linear in w: the points are exact
        phi, d = pair(ys)
        for i in range(n):
            if d[i] != 0 and s.alpha != 0:
                singular[i].add(base.z(-1.0 / (s.alpha * d[i])))
            if phi[i] != 0 and s.alpha != 0:
                for beta in bounds:
                    plain[i].add(base.z(((beta - ys[i]) / s.alpha - cs[i]) / phi[i]))
        return [{z for z in p if math.isfinite(z)} for p in singular], [{z for z in p if math.isfinite(z)}
                                                                        for p in plain]
    for i in range(n):
        if ys[i] != 0:  # kinks of φ′, and v = 0: for large |y| φ(wy + c) turns within |w| ~ 1/|y| of it
            singular[i].update(base.z((k - cs[i]) / ys[i]) for k in ks + (0.0,))
    z = np.linspace(lo, hi, _SCAN)
    wz = base.w(z)[None, :]
    Y, C = ys[:, None], cs[:, None]
    with np.errstate(all="ignore"):
        yp, u = _evaluate(s, pair, Y, C, wz)
    for values, levels, target in ((u, np.array([0.0]), singular), (yp, bounds, plain)):
        r, i, j = _brackets(values, levels)
        if r.size == 0:
            continue
        which = 1 if target is singular else 0

        def f(zz, k, r=r, j=j, levels=levels, which=which):
            with np.errstate(all="ignore"):
                out = _evaluate(s, pair, ys[r[k]], cs[r[k]], base.w(zz))
            return out[which] - levels[j[k]]

        roots = _bisect(f, z[i], z[i + 1])
        for row, root in zip(r, roots):
            target[row].add(float(root))
    return ([{z for z in p if math.isfinite(z)} for p in singular],
            [{z for z in p if math.isfinite(z)} for p in plain])


def _row_arrays(s: Setup, pair, base, y: float, c: float, weight: float, singular: set, plain: set,
                acc: Accuracy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(y', u, quadrature weight) at the integration nodes of one subrow."""
    if base.kind == "constant":
        z, q = np.array([0.0]), np.array([1.0])
    else:
        lo, hi = _weight_range(base, acc)
        z, q = _rule(_edges(base, {p for p in singular | plain if lo < p < hi} | {lo, hi}, acc), singular, acc)
        q = q * base.density(z)
    with np.errstate(all="ignore"):
        yp, u = _evaluate(s, pair, y, c, base.w(z))
    return yp, u, q * weight


def _scatter(yp: np.ndarray, u: np.ndarray, q: np.ndarray, point: np.ndarray, count: int, grid: Grid) -> np.ndarray:
    """The rows (8, count, grid.size) of :data:`FUNCTIONS` and ``one``/``nonzero`` times ρ(y') at nodes y' with
    factors u and weights q, node k belonging to point ``point[k]`` (the block sums of
    :func:`analytic.theory.transfer._rows`)."""
    from scipy import sparse

    nz = u != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        logu = np.where(nz, np.log(np.abs(np.where(nz, u, 1.0))), 0.0)
    rho = 1.0 + np.minimum(yp * yp, 1e300)
    G = np.stack([u, np.abs(u), u * u, nz.astype(float), logu, np.ones(u.size)]) * q
    G = np.vstack([G, G[5] * rho, G[3] * rho])
    which, terms, total = grid.locate(np.where(np.isnan(yp), 0.0, yp), normalised=False)
    G /= total
    key = point * len(grid.pieces) + which
    m, blocks = key.size, count * len(grid.pieces)
    out = np.empty((G.shape[0], count, grid.size))
    for g in range(G.shape[0]):
        S = sparse.csc_matrix((G[g], key, np.arange(m + 1)), shape=(blocks, m))
        out[g] = (S @ terms).reshape(count, grid.size)
    return out


@functools.lru_cache(maxsize=64)
def _critical_y(act: BoundActivation, c: float, alpha: float) -> tuple:
    r"""Post-activation branch with the constant bias c: the y where the zeros of the factor u appear or merge.
    With :math:`v = wy + c`, :math:`u = 1 + \alpha(v - c)\varphi'(v)/y`, so u has a zero iff
    :math:`\psi(v) = (v - c)\varphi'(v) = -y/\alpha` has a solution; the set of such y changes where
    :math:`-y/\alpha` passes a local extreme value of ψ (or a one-sided value at a kink), and there the rows of T are
    not smooth in y (:math:`E|u|` gains a term like :math:`(y - y_c)^{3/2}`). Extrema from a scan of ψ on
    ±[1e-6, 1e9] refined by 100 golden-section steps."""
    pair = numpy_pair(act)
    far = np.geomspace(1e-6, 1e9, 20001)
    v = np.concatenate([-far[::-1], [0.0], far]) + c

    def psi(v):
        with np.errstate(all="ignore"):
            return (v - c) * pair(v)[1]

    p = psi(v)
    values = []
    inner = np.flatnonzero(((p[1:-1] > p[:-2]) & (p[1:-1] >= p[2:])) | ((p[1:-1] < p[:-2]) & (p[1:-1] <= p[2:]))) + 1
    g = (math.sqrt(5) - 1) / 2
    for i in inner:
        a, b, sign = v[i - 1], v[i + 1], (1 if p[i] > p[i - 1] else -1)
        for _ in range(100):
            m1, m2 = b - g * (b - a), a + g * (b - a)
            if sign * psi(np.array([m1]))[0] >= sign * psi(np.array([m2]))[0]:
                b = m2
            else:
                a = m1
        values.append(float(psi(np.array([(a + b) / 2]))[0]))
    for k in _kinks(act):
        values += [float(x) for x in psi(np.array([k - 1e-12 * max(1.0, abs(k)), k + 1e-12 * max(1.0, abs(k))]))]
    out = {-alpha * e for e in values if math.isfinite(e)}
    return tuple(sorted(y for y in out if math.isfinite(y) and abs(y) > 1e-12))


#: Most points of :func:`_asymptote_points` the y-grid is split at (the nearest to 0).
_ASYMPTOTE_POINTS = 24


@functools.lru_cache(maxsize=64)
def _asymptote_points(act: BoundActivation, alpha: float, reach: float, seeds: tuple = ()) -> tuple:
    r"""Post-activation branch without a random bias: a row at y reaches :math:`y' \to y + \alpha L` as
    :math:`|w| \to \infty` for each finite limit :math:`L = \varphi(\pm\infty) 
e 0`, through the weight law's tail,
    so a point where the functions of y are smooth but not analytic (0, where :math:`v = wy` degenerates) makes the
    next layer's functions non-analytic at :math:`-\alpha L` from it, and so on: the points
    :math:`-\alpha\sum_j L_j`. The y-grid is split at the :data:`_ASYMPTOTE_POINTS` of them nearest to 0 (within
    ``reach``), so that none lies inside a piece."""
    pair = numpy_pair(act)
    limits = set()
    for far in (1e6, -1e6):
        with np.errstate(all="ignore"):
            a, b = pair(np.array([far, 10 * far]))[0]
        if math.isfinite(a) and abs(a - b) <= 1e-12 * max(1.0, abs(a)) and a != 0:
            limits.add(float(a))
    start = {0.0} | set(seeds)
    points, frontier = set(start), set(start)
    while frontier and len(points) < 4 * _ASYMPTOTE_POINTS:
        frontier = {p - alpha * L for p in frontier for L in limits if abs(p - alpha * L) <= reach} - points
        points |= frontier
    return tuple(sorted(points - start, key=abs)[:_ASYMPTOTE_POINTS])


def y_grid(s: Setup, acc: Accuracy) -> Grid:
    """The whole line, split at 0 and graded towards 0 and ±∞; split too where the rows are not smooth in y: at
    the kinks of φ for the pre-activation branch; for the post-activation branch where a zero of u appears
    (:func:`_critical_y`, without a random bias) and where a kink meets an end of a bounded weight law."""
    pieces = tuple(_graded(-math.inf, 0.0, acc) + _graded(0.0, math.inf, acc))
    ks = tuple(_kinks(s.act))
    if s.branch == "pre":
        extra = ks
    else:
        extra = _support_kinks(s.w, s.b, ks)
        if s.b is None or isinstance(s.b, Constant):
            critical = _critical_y(s.act, 0.0 if s.b is None else float(s.b.args[0]), s.alpha)
            extra += critical + _asymptote_points(s.act, s.alpha, 4.0 ** acc.grading_infinity, critical)
    return Grid(_split(pieces, tuple(k for k in extra if k != 0)), acc.points)


@functools.lru_cache(maxsize=2)  # a fine level's matrices take hundreds of MB; a chain uses each level once
def build_operator(s: Setup, x: float, acc: Accuracy) -> Operator:
    pair = numpy_pair(s.act)
    grid = y_grid(s, acc)
    nodes = grid.nodes
    points = np.append(nodes, x)
    bounds = np.array([p[1] for p in grid.pieces[:-1]])
    ks = tuple(_kinks(s.act))
    base = s.w.base()
    bv, bq = _bias_rule(s.b, acc)
    ys = np.repeat(points, bv.size)
    cs, cq = np.tile(bv, points.size), np.tile(bq, points.size)
    owner = np.repeat(np.arange(points.size), bv.size)
    with np.errstate(all="ignore"):
        singular, plain = _cut_points(s, pair, base, ys, cs, bounds, ks, acc)
    names = FUNCTIONS + ("one_rho", "nonzero_rho")
    T = np.zeros((len(names), points.size, nodes.size))
    parts, size, first = [], 0, 0
    for i in range(ys.size):
        parts.append(_row_arrays(s, pair, base, float(ys[i]), float(cs[i]), float(cq[i]), singular[i], plain[i],
                                 acc))
        size += parts[-1][0].size
        last = i == ys.size - 1 or owner[i + 1] != owner[i]
        if last and (size >= _CHUNK_NODES or i == ys.size - 1):
            lo_point, hi_point = owner[first], owner[i] + 1
            yp, u, q = (np.concatenate([p[k] for p in parts]) for k in range(3))
            point = np.repeat(owner[first:i + 1] - lo_point, [p[0].size for p in parts])
            with np.errstate(all="ignore"):
                T[:, lo_point:hi_point] = _scatter(yp, u, q, point, hi_point - lo_point, grid)
            parts, size, first = [], 0, i + 1
    start = T[:, -1]
    T = T[:, :-1]
    rho = 1.0 + nodes**2
    T[len(FUNCTIONS):] /= rho[None, :, None]
    ops = {g: T[i] for i, g in enumerate(names)}
    first = {g: start[i] for i, g in enumerate(names)}
    # E[log|P|; P != 0 | y] stays bounded in y here (|log|u|| does not grow with |y|), while y_t runs far beyond
    # the grid's graded range: carried as c/rho, an interpolation error at y' would come back multiplied by
    # rho(y') ~ y'^2. So c is carried as itself: the recursion's c/rho step gets rho * T_log and the plain T_nonzero.
    ops["log"] = ops["log"] * rho[:, None]
    ops["nonzero_rho"], first["nonzero_rho"] = ops["nonzero"], first["nonzero"]
    return Operator(ops, first, nodes)


# ---------------------------------------------------------------- closed form: linear φ

def linear_slope(act: BoundActivation) -> float | None:
    """a when φ(v) = a v, else None."""
    from ..core.calculus import derivative

    try:
        d = sp.simplify(derivative(act, 1))
        if d.free_symbols or not (d.is_real and d.is_finite) or sp.simplify(act.expr.subs(X, 0)) != 0:
            return None
    except (TypeError, ValueError, NotImplementedError, AttributeError):
        return None
    return float(d)


def factor_moments(c: float, w: Distribution) -> dict | None:
    r"""E[u], E|u|, E[u²], P(u ≠ 0), E[log|u|; u ≠ 0] of :math:`u = 1 + c w` in closed form (Gaussian or constant
    w), else None."""
    if isinstance(w, Constant):
        u = 1.0 + c * float(w.args[0])
        return {"mean": u, "mean_abs": abs(u), "mean_square": u * u, "nonzero": float(u != 0),
                "log": math.log(abs(u)) if u != 0 else 0.0}
    if not isinstance(w, Normal):
        return None
    m, sd = 1.0 + c * float(w.mu), abs(c) * float(w.sigma)
    if sd == 0:
        return {"mean": m, "mean_abs": abs(m), "mean_square": m * m, "nonzero": float(m != 0),
                "log": math.log(abs(m)) if m != 0 else 0.0}
    r = m / sd
    mabs = sd * math.sqrt(2 / math.pi) * math.exp(-r * r / 2) + m * math.erf(r / math.sqrt(2))
    return {"mean": m, "mean_abs": mabs, "mean_square": m * m + sd * sd, "nonzero": 1.0,
            "log": math.log(sd) + float(mean_log_abs_normal(np.array([r]))[0])}


def closed_iterates(f: dict, depth: int) -> dict:
    """The per-depth arrays of :func:`analytic.theory.chain._iterate` for i.i.d. factors with moments ``f``."""
    k = np.arange(1, depth + 1, dtype=float)
    with np.errstate(divide="ignore"):
        out = {"mean_log": k * math.log(abs(f["mean"])) if f["mean"] != 0 else np.full(depth, -np.inf),
               "mean_sign": np.sign(f["mean"]) ** k,
               "mean_abs_log": k * math.log(f["mean_abs"]) if f["mean_abs"] > 0 else np.full(depth, -np.inf),
               "mean_square_log": k * math.log(f["mean_square"]) if f["mean_square"] > 0 else np.full(depth, -np.inf),
               "nonzero_log": k * math.log(f["nonzero"]) if f["nonzero"] > 0 else np.full(depth, -np.inf)}
    out["log_mean"] = k * f["log"] / f["nonzero"] if f["nonzero"] > 0 else np.full(depth, np.nan)
    return out


def linear_y_moments(a: float, s: Setup, x: float, depth: int, f: dict) -> tuple[np.ndarray, np.ndarray]:
    r"""E[y_t], E[y_t²] for t = 0…r−1 of the linear chain :math:`y' = u y + \beta b` (β = αa post, α pre)."""
    beta = s.alpha * (a if s.branch == "post" else 1.0)
    bm = s.b.moments().floats() if s.b is not None else {"mean": 0.0, "mean_square": 0.0}
    e1, e2 = np.empty(depth), np.empty(depth)
    y1, y2 = x, x * x
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(depth):
            e1[t], e2[t] = y1, y2
            y1, y2 = (f["mean"] * y1 + beta * bm["mean"],
                      f["mean_square"] * y2 + 2 * f["mean"] * beta * bm["mean"] * y1 + beta * beta * bm["mean_square"])
    return e1, e2


# ---------------------------------------------------------------- the chain

def argument_law(s: Setup, ey: np.ndarray, ey2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sd of the argument of φ′ at each layer: :math:`v_t = w_t y_{t-1} + b_t` (post) or :math:`y_{t-1}`
    (pre)."""
    with np.errstate(over="ignore", invalid="ignore"):
        if s.branch == "pre":
            return ey, np.sqrt(np.maximum(ey2 - ey * ey, 0.0))
        mo = s.w.moments().floats()
        bm = s.b.moments().floats() if s.b is not None else {"mean": 0.0, "mean_square": 0.0}
        m = mo["mean"] * ey + bm["mean"]
        var = mo["mean_square"] * ey2 + 2 * mo["mean"] * bm["mean"] * ey - m * m + bm["mean_square"]
        return m, np.sqrt(np.maximum(var, 0.0))


