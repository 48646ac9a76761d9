r"""The recurrent (tied-weight) one-neuron chain, exactly: condition on the weight, then integrate over it.

**Model** (Bengio, Simard & Frasconi 1994; Pascanu, Mikolov & Bengio 2013). :math:`h_0 = x`,
:math:`v_t = w h_{t-1} + x_t`, :math:`h_t = \varphi(v_t)` for t = 1…T, with **one** weight :math:`w` per sequence
drawn once from the weight law, inputs :math:`x_t` i.i.d. from the ``inputs`` law (none: :math:`x_t = 0`), input
weight u = 1 and no bias. Back-propagation through time gives

.. math:: P_T = \frac{\partial h_T}{\partial h_0} = \prod_{t=1}^T w\,\varphi'(v_t) = w^T \prod_t \varphi'(v_t).

**Exact route.** Given w the chain without inputs is deterministic: :math:`\log|P_t| = t\log|w| + \sum_{s \le t}
\log|\varphi'(v_s)|` is iterated directly (in log space) at every quadrature node of w. Given w with inputs the
chain is Markov in h, with kernel :math:`h \mapsto \varphi(wh + x_t)`: the plain chain's transfer operator
(:mod:`analytic.theory.transfer`) with the weight law a point mass at w and the input in the bias's place, its
y-grid, rows and iteration reused. Either way E[∏], E|∏|, E[∏²], P(∏ = 0) and E[log|∏| | ∏ ≠ 0] at every depth are
then integrated over w by composite Gauss–Legendre in the weight's base variable, cut at w = 0, at
:math:`|w| = 1/\sup|\varphi'|` (where the deterministic chain changes regime) and at :math:`w = k/x` for every kink
k of φ′. Each value is computed with two :class:`WeightRule` levels that differ in every setting (pieces, points per
piece, truncation of an unbounded weight range, the inner operator's :class:`~analytic.theory.accuracy.Accuracy`);
the finer is reported with the difference as its error, refined while a quantity misses the tolerance, else
withheld with the reason. The truncation keeps the range where the density times the bound
:math:`(|w|\sup|\varphi'|)^{2T}` is within ``drop`` (in log) of its largest value: the heavy part of
:math:`E[P_T^2]`, which for large T sits far in the tail of the weight law, stays inside.

**Closed form.** Linear φ (:math:`\varphi(v) = a v`, the identity) gives :math:`P_T = (aw)^T` whatever the inputs,
so :math:`E[P_T] = a^T E[w^T]` and so on, from the law's moments of order T (:func:`law_moment`), at 40 digits.

**Pascanu's bound.** :math:`|P_T| \le (|w|\sup|\varphi'|)^T`, so :math:`|w| < 1/\sup|\varphi'|` suffices for the
gradient to vanish; :func:`pascanu` gives :math:`E[(|w|\sup|\varphi'|)^T] = \sup|\varphi'|^T E|w|^T` from the
law's absolute moment and :math:`P(|w|\sup|\varphi'| < 1)` from its CDF, with the proved :math:`\sup|\varphi'|`.

>>> c = recurrent_chain("identity", 3, "normal(1, 0.5)")
>>> c["mean"].value, c.method  # E[w^3] = mu^3 + 3 mu sigma^2
(1.75, 'closed form')
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields

import mpmath
import numpy as np
from scipy import special
from threadpoolctl import threadpool_limits

from ..architecture import Architecture, recurrent
from ..core.calculus import numpy_pair
from ..core.logforms import log_abs_dphi, log_abs_underflow
from ..distributions import Constant, Distribution, LogNormal, Normal, Uniform, distribution, scalar
from ..errors import SpecError, canonical_float
from ..quantities import NAMES
from .accuracy import SCHEDULE as INNER, Accuracy
from .chain import TOLERANCE, ChainExpectations, _assemble, _first_unconverged, _homogeneous_slopes, _iterate, \
    _never_zero, chain_inputs
from .gaussian import _zero_pieces
from .independence import _sup_abs_dphi
from .transfer import (Grid, Operator, _kink_and_zero_points, _Nodes, _preimages, _rows, _tanh_sinh_on, _weight_nodes,
                       phi_and_log_dphi, y_pieces)

#: Largest depth without inputs (each level iterates every weight node T times).
MAX_DEPTH = 10_000
#: Largest depth with inputs (each weight node iterates its own transfer operator T times).
MAX_DEPTH_INPUTS = 1_000
#: The smallest positive float (subnormal).
_SMALLEST = 5e-324
#: A weight node whose neighbourhood the Monte Carlo reaches fewer than this many times in expectation is "rare".
RARE_HITS = 10.0


@dataclass(frozen=True)
class WeightRule:
    r"""One level of accuracy of the integral over the weight: ``pieces`` equal pieces of the base variable's
    range (``input_pieces`` with inputs, where each node costs a transfer operator), ``points`` Gauss–Legendre
    points per piece, ``drop``: the range of an unbounded law is cut where the density times
    :math:`(|w|\sup|\varphi'|)^{2T}` is ``drop`` (natural log) below its largest value, and at least ``min_cut``
    sd; ``inner``: the transfer operator's accuracy (with inputs)."""

    pieces: int
    input_pieces: int
    points: int
    drop: float
    min_cut: float
    inner: Accuracy

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "inner"}
        out["inner"] = self.inner.as_dict()
        return out

    def describe(self, inputs: bool) -> str:
        text = (f"{self.input_pieces if inputs else self.pieces} pieces x {self.points} Gauss-Legendre points over "
                f"the weight, range cut {self.drop:g} below the bound's peak (at least {self.min_cut:g} sd)")
        return text + (f"; operator: {self.inner.describe()}" if inputs else "")


def _level(k: int) -> WeightRule:
    return WeightRule(pieces=24 * 2**k, input_pieces=4 * 2**k, points=10 + 2 * k, drop=30.0 + 8 * k,
                      min_cut=8.0 + k, inner=INNER[k])


#: Levels, coarsest first; consecutive levels differ in every setting.
SCHEDULE = tuple(_level(k) for k in range(5))
#: Levels the route with inputs may use (each weight node builds an operator: a count, not a clock).
INPUT_LEVELS = 3


# ---------------------------------------------------------------- moments of the weight law of any order

def _mp(value) -> mpmath.mpf:
    import sympy as sp

    return mpmath.mpf(str(sp.N(value, 60)))


def law_moment(law: Distribution, n: int, absolute: bool = False) -> tuple[float, int]:
    r"""(log|m|, sign of m) for :math:`m = E[w^n]` (``absolute``: :math:`E|w|^n`), exactly from the law, at 60
    digits: normal :math:`\sum_k \binom{n}{2k}\mu^{n-2k}\sigma^{2k}(2k-1)!!` and
    :math:`E|w|^n = \sigma^n 2^{n/2}\Gamma(\tfrac{n+1}{2})\pi^{-1/2} e^{-\mu^2/2\sigma^2}
    {}_1F_1(\tfrac{n+1}{2}; \tfrac12; \tfrac{\mu^2}{2\sigma^2})`; uniform :math:`(b^{n+1} - a^{n+1})/((n+1)(b-a))`;
    log-normal :math:`e^{n\mu + n^2\sigma^2/2}`; constant :math:`c^n`.

    >>> round(math.exp(law_moment(distribution("normal(1, 0.5)"), 3)[0]), 12)
    1.75
    """
    with mpmath.workdps(60):
        if isinstance(law, Normal):
            mu, sigma = (_mp(p) for p in law.exact_params())
            if absolute:
                if mu == 0:
                    m = sigma**n * 2 ** (mpmath.mpf(n) / 2) * mpmath.gamma((n + 1) / mpmath.mpf(2)) / mpmath.sqrt(mpmath.pi)
                else:
                    r = mu**2 / (2 * sigma**2)
                    m = (sigma**n * 2 ** (mpmath.mpf(n) / 2) * mpmath.gamma((n + 1) / mpmath.mpf(2))
                         / mpmath.sqrt(mpmath.pi) * mpmath.exp(-r) * mpmath.hyp1f1((n + 1) / mpmath.mpf(2), 0.5, r))
            else:
                m = mpmath.fsum(mpmath.binomial(n, 2 * k) * mu ** (n - 2 * k) * sigma ** (2 * k)
                                * mpmath.fac2(2 * k - 1) for k in range(n // 2 + 1))
        elif isinstance(law, Uniform):
            a, b = (_mp(v) for v in law.args)
            if absolute:
                m = (mpmath.sign(b) * abs(b) ** (n + 1) - mpmath.sign(a) * abs(a) ** (n + 1)) / ((n + 1) * (b - a))
            else:
                m = (b ** (n + 1) - a ** (n + 1)) / ((n + 1) * (b - a))
        elif isinstance(law, LogNormal):
            mu, sigma = (_mp(v) for v in law.args)
            return float(n * mu + n * n * sigma**2 / 2), 1
        elif isinstance(law, Constant):
            c = _mp(law.args[0])
            m = abs(c) ** n if absolute else c**n
        else:
            raise SpecError(f"{law.spec}: no moments of order {n} for the recurrent chain's closed form")
        if m == 0:
            return -math.inf, 0
        return float(mpmath.log(abs(m))), int(mpmath.sign(m))


def _cdf_abs_below(law: Distribution, c: float) -> float:
    r""":math:`P(|w| < c)` from the law's CDF."""
    if c <= 0:
        return 0.0
    if math.isinf(c):
        return 1.0
    if isinstance(law, Normal):
        mu, sigma = float(law.mu), float(law.sigma)
        return float(special.ndtr((c - mu) / sigma) - special.ndtr((-c - mu) / sigma))
    if isinstance(law, Uniform):
        a, b = law.args
        return max(0.0, min(b, c) - max(a, -c)) / (b - a)
    if isinstance(law, LogNormal):
        mu, sigma = law.args
        return float(special.ndtr((math.log(c) - mu) / sigma))
    if isinstance(law, Constant):
        return 1.0 if abs(law.args[0]) < c else 0.0
    raise SpecError(f"{law.spec}: no CDF for Pascanu's probability")


# ---------------------------------------------------------------- Pascanu's bound

@dataclass(frozen=True)
class Pascanu:
    r"""Pascanu, Mikolov & Bengio (2013): :math:`|P_T| \le (|w| S)^T` with :math:`S = \sup|\varphi'|` (the upper end
    of its proved enclosure). ``log_bound`` is :math:`\log E[(|w|S)^T]` (a bound on E|∏|), ``log_mean_square_bound``
    :math:`\log E[(|w|S)^{2T}]` (on E[∏²]), ``sufficient_probability`` :math:`P(|w| S < 1)`: the chance that the
    sufficient condition for vanishing holds for a sequence's weight."""

    depth: int
    sup_dphi: float
    log_bound: float
    log_mean_square_bound: float
    sufficient_probability: float
    sup_method: str
    sup_text: str

    @property
    def bound(self) -> float:
        from ..quantities import exp_or_inf

        return exp_or_inf(self.log_bound)

    @property
    def mean_square_bound(self) -> float:
        from ..quantities import exp_or_inf

        return exp_or_inf(self.log_mean_square_bound)

    def as_dict(self) -> dict:
        return {"bound": self.bound, "log_bound": self.log_bound, "mean_square_bound": self.mean_square_bound,
                "log_mean_square_bound": self.log_mean_square_bound,
                "sufficient_probability": self.sufficient_probability, "sup_dphi": self.sup_dphi,
                "sup_method": self.sup_method,
                "formula": "E|prod| <= E[(|w| sup|phi'|)^T] = sup|phi'|^T E|w|^T; vanishing if |w| < 1/sup|phi'|"}


def pascanu(act, depth: int, weights: str | Distribution, params: dict | None = None) -> Pascanu:
    r"""Pascanu's bound at depth T and the probability that its sufficient condition holds.

    >>> p = pascanu("tanh", 10, "uniform(-2, 2)")
    >>> p.sufficient_probability, round(p.bound, 12)  # P(|w| < 1) = 1/2; E|w|^10 = 2^10/11
    (0.5, 93.090909090909)
    """
    a, depth, w, _, _ = chain_inputs(act, depth, weights, None, params, TOLERANCE, MAX_DEPTH)
    return _pascanu(a, depth, w)


def _pascanu(a, depth: int, w: Distribution) -> Pascanu:
    S, method, text = _sup_abs_dphi(a)

    def log_bound(n: int) -> float:
        la, sa = law_moment(w, n, absolute=True)
        if sa == 0 or S == 0:
            return -math.inf
        return n * math.log(S) + la if math.isfinite(S) else math.inf

    prob = _cdf_abs_below(w, 1.0 / S if S > 0 else math.inf) if math.isfinite(S) else (
        1.0 if w.is_constant and w.args[0] == 0 else 0.0)
    return Pascanu(depth, S, log_bound(depth), log_bound(2 * depth), prob, method, text)


# ---------------------------------------------------------------- the result

@dataclass(frozen=True)
class RecurrentChain(ChainExpectations):
    r"""The exact quantities of the tied chain (the fields of
    :class:`~analytic.theory.chain.ChainExpectations`), with the ``architecture`` it is about, ``pascanu`` (the
    bound and the probability, :class:`Pascanu`) and ``tails``: per moment, the base-variable tail probability of
    each weight node and the log of its share of the moment at depth T, from which :meth:`rare_share` says how much
    of a moment comes from weights a simulation of N sequences rarely draws."""

    architecture: Architecture | None = None
    pascanu: Pascanu | None = None
    tails: dict = field(default_factory=dict, compare=False, repr=False)

    def rare_share(self, name: str, samples: int) -> float:
        r"""The share of the moment ``name`` at depth T carried by weights whose tail (beyond them, on their side)
        a simulation of ``samples`` sequences reaches fewer than :data:`RARE_HITS` times in expectation (0 when
        not known)."""
        if name not in self.tails:
            return 0.0
        tail, log_part = self.tails[name]
        rare = samples * tail < RARE_HITS
        if not np.any(np.isfinite(log_part)):
            return 0.0
        top = float(np.max(log_part))
        parts = np.exp(log_part - top)
        total = float(parts.sum())
        return float(parts[rare].sum() / total) if total > 0 else 0.0

    def as_dict(self) -> dict:
        out = super().as_dict()
        out["architecture"] = None if self.architecture is None else self.architecture.to_json()
        out["pascanu"] = None if self.pascanu is None else self.pascanu.as_dict()
        out["settings"] = {k: a.as_dict() for k, a in zip(("coarse", "fine"), self.settings)}
        return out


# ---------------------------------------------------------------- the weight rule

def _log_density_bound(base, z: np.ndarray, S: float, depth: int) -> np.ndarray:
    """log of the base density times the bound (|w| S)^(2T) on P_T^2 (|w| growth when S is not finite)."""
    w = np.abs(base.w(z))
    with np.errstate(divide="ignore"):
        grow = np.log(w * S) if 0 < S < math.inf else np.log1p(w)
    return -z * z / 2 + 2 * depth * grow


def _range(base, S: float, depth: int, rule: WeightRule) -> tuple[float, float]:
    """The base range the rule integrates over: a uniform law's support; an unbounded base cut where the density
    times the bound is ``rule.drop`` below its peak (at least ``rule.min_cut`` sd)."""
    if base.kind == "uniform":
        return base.lo, base.hi
    G = 20.0 + 2 * math.sqrt(2 * depth) + (2 * depth * abs(base.b) if base.kind == "lognormal" else 0.0)
    z = np.linspace(-G, G, 40001)
    ell = _log_density_bound(base, z, S, depth)
    keep = np.flatnonzero(ell >= np.max(ell) - rule.drop)
    return min(float(z[keep[0]]), -rule.min_cut), max(float(z[keep[-1]]), rule.min_cut)


def _weight_rule(act, w: Distribution, x: float, depth: int, rule: WeightRule, inputs: bool,
                 smooth_zero: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(w, base z, quadrature weight × density, tail probability of z) of the weight rule at this level;
    ``smooth_zero``: the integrand has no singularity at w = 0 (its log|w| part is taken out exactly), so the
    pieces there take Gauss–Legendre."""
    base = w.base()
    if base.kind == "constant":  # a point mass: one node
        return np.array([base.a]), np.zeros(1), np.ones(1), np.full(1, 0.5)
    S = _sup_abs_dphi(act)[0]
    lo, hi = _range(base, S, depth, rule)
    n = rule.input_pieces if inputs else rule.pieces
    edges = set(np.linspace(lo, hi, n + 1).tolist())
    special_w = set() if smooth_zero else {0.0}
    if inputs:  # the input noise smooths the chain in w: only log|w| is singular (at w = 0)
        pass
    elif 0 < S < math.inf:
        special_w |= {1.0 / S, -1.0 / S}
    if x != 0 and not inputs:
        special_w |= {k / x for k in _kink_and_zero_points(act)}
    singular = set()
    zero = base.z(0.0) if base.kind != "lognormal" else math.nan
    for sw in special_w:
        if base.kind == "lognormal" and sw <= 0:
            continue
        zz = base.z(sw)
        if math.isfinite(zz) and lo <= zz <= hi:
            edges.add(zz)
            singular.add(zz)
    near = lambda p: any(abs(p - c) <= 1e-9 * (hi - lo) for c in singular) and p not in singular  # noqa: E731
    e = np.array(sorted(p for p in edges if not near(p)))
    a, b = e[:-1], e[1:]
    # log|w| (and log|phi'| at a kink) is singular at these points: tanh-sinh on the pieces that end there
    ts = np.isin(a, list(singular)) | np.isin(b, list(singular))
    zt, qt = _tanh_sinh_on(a[ts], b[ts], rule.inner.step, rule.inner.window)
    wt_ = _weights_near_ends(base, a[ts], b[ts], rule.inner.step, rule.inner.window, zero)
    t, wt = np.polynomial.legendre.leggauss(rule.points)
    ag, bg = a[~ts, None], b[~ts, None]
    zg = (ag + (bg - ag) * (t + 1) / 2).ravel()
    z = np.concatenate([zt, zg])
    q = np.concatenate([qt, (wt * (bg - ag) / 2).ravel()]) * base.density(z)
    if base.kind == "uniform":
        tail = np.minimum(z - base.lo, base.hi - z) / (base.hi - base.lo)
    else:
        tail = special.ndtr(-np.abs(z))
    return np.concatenate([wt_, base.w(zg)]), z, q, tail


def _weights_near_ends(base, a: np.ndarray, b: np.ndarray, step: float, window: float, zero: float) -> np.ndarray:
    """The weights at the tanh-sinh nodes of the pieces [a, b], computed from the distance to the nearer end, so a
    node a hair's breadth from w = 0 (base point ``zero``) keeps its tiny, non-zero weight instead of rounding to
    0."""
    from .transfer import _unit_rule

    left, right, _ = _unit_rule(step, window)
    slope = base.b if base.kind == "normal" else 1.0
    if base.kind not in ("normal", "uniform"):
        return base.w(np.where(left < 0.5, a[:, None] + (b - a)[:, None] * left, b[:, None] - (b - a)[:, None] * right)).ravel()
    wa = np.where(a == zero, 0.0, base.w(a))[:, None]
    wb = np.where(b == zero, 0.0, base.w(b))[:, None]
    width = (b - a)[:, None]
    return np.where(left < 0.5, wa + slope * width * left, wb - slope * width * right).ravel()


# ---------------------------------------------------------------- without inputs: the deterministic chain

def _signed_log_sum(logs: np.ndarray, signs: np.ndarray) -> tuple[float, int]:
    live = (signs != 0) & np.isfinite(logs)
    if np.any(np.isnan(logs[signs != 0])):
        return math.nan, 1
    if not live.any():
        return -math.inf, 0
    top = float(np.max(logs[live]))
    total = float(np.sum(signs[live] * np.exp(logs[live] - top)))
    return (math.log(abs(total)) + top, int(np.sign(total))) if total != 0 else (-math.inf, 0)


def _deterministic(act, depth: int, w: np.ndarray, q: np.ndarray, x: float) -> tuple[dict, dict]:
    r"""Iterates of the deterministic chain at every weight node, integrated against ``q``: the per-depth arrays
    of :func:`analytic.theory.chain._iterate` (and E[v_t], E[v_t^2] as ``v1``, ``v2``), and the per-node log
    contributions to the moments at depth T."""
    pair = numpy_pair(act)
    dead = tuple(_zero_pieces(act))
    logfix = functools.partial(log_abs_underflow, act)
    out = {k: np.full(depth, np.nan) for k in ("mean_log", "mean_sign", "mean_abs_log", "mean_square_log",
                                              "nonzero_log", "log_mean", "v1", "v2")}
    with np.errstate(divide="ignore"):
        logq = np.log(q)
        logw = np.log(np.abs(w))
    h = np.full(w.size, float(x))
    L = np.zeros(w.size)
    sign = np.ones(w.size)
    alive = w != 0
    sign[~alive] = 0
    hs = np.full(w.size, float(np.sign(x)))  # the sign of h_t in exact arithmetic, kept when h underflows to 0
    with np.errstate(all="ignore"):
        for t in range(depth):
            v = w * h
            sv = np.sign(w) * hs
            # an underflowed v of known sign is the smallest float of that sign: a kink at 0 sees its true side
            v = np.where((v == 0) & (sv != 0), sv * _SMALLEST, v)
            out["v1"][t], out["v2"][t] = float(q @ v), float(q @ (v * v))
            phi, d, nz, logd = phi_and_log_dphi(pair, v, dead, logfix)
            s = np.sign(d)
            fix = (d == 0) & nz
            if fix.any():
                s[fix] = log_abs_dphi(act, v[fix])[1]
            alive &= nz
            L = np.where(alive, L + logw + logd, -np.inf)
            sign = np.where(alive, sign * np.sign(w) * s, 0)
            h = phi
            hs = np.where(phi != 0, np.sign(phi), np.where(nz, np.sign(d) * np.sign(v), 0.0))
            lm = logq + L
            out["mean_log"][t], out["mean_sign"][t] = _signed_log_sum(lm, sign)
            out["mean_abs_log"][t] = _signed_log_sum(lm, alive.astype(float))[0]
            out["mean_square_log"][t] = _signed_log_sum(logq + 2 * L, alive.astype(float))[0]
            pz = float(np.sum(q[~alive]))
            out["nonzero_log"][t] = math.log1p(-min(pz, 1.0))
            pa = float(np.sum(q[alive]))
            out["log_mean"][t] = float(np.sum(q[alive] * L[alive])) / pa if pa > 0 else math.nan
    parts = {"mean_abs": logq + L, "mean_square": logq + 2 * L}
    parts["mean"] = parts["mean_abs"]
    return out, parts


# ---------------------------------------------------------------- with inputs: the transfer operator given w

@functools.lru_cache(maxsize=8)
def _grid(act, inputs: Distribution, acc: Accuracy) -> tuple:
    ks = _kink_and_zero_points(act)
    grid = Grid(y_pieces(act, acc), acc.points)
    pre = _preimages(act, tuple(p[1] for p in grid.pieces[:-1]))
    return ks, grid, pre


def tied_operator(act, w: float, inputs: Distribution, x: float, acc: Accuracy) -> Operator:
    r"""The chain's transfer operator given the weight w: :math:`(T_g f)(y) = E_x[g(w\varphi'(wy + x))\,
    f(\varphi(wy + x))]` over the input law — the plain chain's rows with the weight a point mass at w and the
    input integrated in the bias's place (its base variable cut at the kinks, zeros and grid preimages)."""
    pair = numpy_pair(act)
    ks, grid, pre = _grid(act, inputs, acc)
    dead = tuple(_zero_pieces(act))
    logfix = functools.partial(log_abs_underflow, act)
    base = inputs.base()
    nodes = grid.nodes
    points = np.append(nodes, x)
    lw = math.log(abs(w)) if w != 0 else 0.0
    chunk = []
    for y in points:
        n = _weight_nodes(1.0, float(w * y), base, ks, pre, acc)  # v = x_t + w y, x_t over the input's base
        one = np.ones(n.v.size)
        chunk.append(_Nodes(n.v, n.q, w * one, abs(w) * one, w * w * one, float(w != 0) * one, lw * one))
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        T = _rows(chunk, pair, grid, dead, logfix)
    names = ("mean", "mean_abs", "mean_square", "nonzero", "log", "one", "one_rho", "nonzero_rho")
    start = T[:, -1]
    T = T[:, :-1]
    T[6:] /= (1.0 + nodes**2)[None, :, None]
    return Operator({g: T[i] for i, g in enumerate(names)}, {g: start[i] for i, g in enumerate(names)}, nodes)


def _with_inputs(act, depth: int, w: np.ndarray, q: np.ndarray, inputs: Distribution, x: float,
                 acc: Accuracy, smooth: bool = False, mean_log_w: float = math.nan) -> tuple[dict, dict]:
    """The conditional chains given each weight node (:func:`tied_operator`, iterated), integrated against q.
    ``smooth``: no product is 0, and E[log|prod_t|] is t E log|w| (``mean_log_w``, exact) plus the integral of
    E[log|prod_t| | w] - t log|w|, which is smooth through w = 0."""
    rows = {k: np.empty((w.size, depth)) for k in ("mean_log", "mean_sign", "mean_abs_log", "mean_square_log",
                                                    "nonzero_log", "log_mean", "y1", "y2")}
    with threadpool_limits(limits=1, user_api="blas"):
        for i, wi in enumerate(w):
            it = _iterate(tied_operator(act, float(wi), inputs, x, acc), depth)
            for k in rows:
                rows[k][i] = it[k]
    mx = inputs.moments().floats()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        logq = np.log(q)[:, None]
        out = {}
        mean = [_signed_log_sum(logq[:, 0] + rows["mean_log"][:, t], rows["mean_sign"][:, t]) for t in range(depth)]
        out["mean_log"] = np.array([m[0] for m in mean])
        out["mean_sign"] = np.array([m[1] for m in mean], dtype=float)
        for k in ("mean_abs_log", "mean_square_log"):
            out[k] = np.array([_signed_log_sum(logq[:, 0] + rows[k][:, t], np.ones(w.size))[0] for t in range(depth)])
        pnz = np.exp(rows["nonzero_log"])
        pz = q @ (-np.expm1(rows["nonzero_log"]))
        out["nonzero_log"] = np.log1p(-np.minimum(pz, 1.0))
        if smooth:
            t = np.arange(1, depth + 1)
            rest = rows["log_mean"] - t[None, :] * np.log(np.abs(w))[:, None]
            out["log_mean"] = t * mean_log_w + (q @ rest) / q.sum()
        else:
            num = q @ np.where(pnz > 0, pnz * np.nan_to_num(rows["log_mean"], nan=0.0), 0.0)
            den = q @ pnz
            out["log_mean"] = np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)
        ey = np.concatenate([np.full((w.size, 1), x), rows["y1"][:, 1:]], axis=1)
        ey2 = np.concatenate([np.full((w.size, 1), x * x), rows["y2"][:, 1:]], axis=1)
        out["v1"] = q @ (w[:, None] * ey) + mx["mean"]
        out["v2"] = q @ (w[:, None] ** 2 * ey2 + 2 * w[:, None] * ey * mx["mean"]) + mx["mean_square"]
    last = logq[:, 0]
    parts = {"mean_abs": last + rows["mean_abs_log"][:, -1], "mean_square": last + rows["mean_square_log"][:, -1]}
    parts["mean"] = parts["mean_abs"]
    return out, parts


# ---------------------------------------------------------------- closed form: linear phi

def _linear_slope(act) -> float | None:
    slopes = _homogeneous_slopes(act)
    if slopes is None or slopes[0] != slopes[1]:
        return None
    return float(slopes[0])


def _closed(act, depth: int, w: Distribution, x: float, inputs: Distribution | None, a: float,
            tolerance: float) -> dict:
    r""":math:`P_t = (aw)^t`: every quantity from the law's moments of order t and 2t."""
    out = {k: np.full(depth, np.nan) for k in ("mean_log", "mean_sign", "mean_abs_log", "mean_square_log",
                                              "nonzero_log", "log_mean", "v1", "v2")}
    la = math.log(abs(a)) if a != 0 else -math.inf
    elog = float(w.moments().mean_log_abs)
    p_zero = 1.0 if a == 0 else float(w.partial_moments().zero)
    for t in range(1, depth + 1):
        lm, sm = law_moment(w, t)
        out["mean_log"][t - 1] = t * la + lm if sm else -math.inf
        out["mean_sign"][t - 1] = (1 if a > 0 or t % 2 == 0 else -1) * sm if a != 0 else 0
        lab, sab = law_moment(w, t, absolute=True)
        out["mean_abs_log"][t - 1] = t * la + lab if sab and a != 0 else -math.inf
        l2, s2 = law_moment(w, 2 * t)
        out["mean_square_log"][t - 1] = 2 * t * la + l2 if s2 and a != 0 else -math.inf
        out["nonzero_log"][t - 1] = math.log1p(-p_zero) if p_zero < 1 else -math.inf
        out["log_mean"][t - 1] = t * (la + elog) if p_zero < 1 else math.nan
    # without inputs h_t = x (aw)^t, v_t = w h_(t-1); with them the pre-activation law is not needed for the product
    if inputs is None:
        for t in range(1, depth + 1):
            l1, s1 = law_moment(w, t)
            l2, s2 = law_moment(w, 2 * t)
            out["v1"][t - 1] = x * a ** (t - 1) * s1 * math.exp(min(l1, 700.0))
            out["v2"][t - 1] = x * x * a ** (2 * t - 2) * s2 * math.exp(min(l2, 700.0))
    return out


# ---------------------------------------------------------------- the public function

def recurrent_chain(act, depth: int, weights: str | Distribution, x: float = 1.0,
                    inputs: str | Distribution | None = None, params: dict | None = None,
                    tolerance: float = TOLERANCE, schedule: tuple = SCHEDULE) -> RecurrentChain:
    r"""E[∏], E|∏|, E[∏²], E[log|∏| | ∏ ≠ 0] and P(∏ = 0) of the tied chain at depths 1…``depth``, exactly, with
    Pascanu's bound; ``inputs`` the law of the i.i.d. inputs :math:`x_t` (None: none). Tolerances as
    :func:`~analytic.theory.chain.exact_chain` (relative for the moments, absolute for ``zero_probability``,
    ``tolerance`` × t for ``log_mean``); a quantity that misses it at the finest level the work budget allows is
    withheld with the reason.

    >>> c = recurrent_chain("relu", 4, "uniform(-1, 1)")
    >>> round(c["mean"].value, 12), round(c["zero_probability"].value, 12)  # E[w^4; w > 0] = 1/10
    (0.1, 0.5)
    """
    law_in = None if inputs is None else scalar(distribution(inputs), "inputs")
    limit = MAX_DEPTH if law_in is None else MAX_DEPTH_INPUTS
    a, depth, w, _, tolerance = chain_inputs(act, depth, weights, None, params, tolerance, limit)
    if law_in is not None and law_in.is_constant and float(law_in.args[0]) == 0:
        law_in = None
    x = canonical_float("x", x, error=SpecError)
    schedule = tuple(schedule)
    if len(schedule) < 2 or not all(isinstance(s, WeightRule) for s in schedule):
        raise SpecError("weight schedule: at least two WeightRule levels are needed")
    return _recurrent_chain(a, depth, w, x, law_in, tolerance, schedule)


def _preact(it: dict) -> tuple[np.ndarray, np.ndarray]:
    m = np.asarray(it["v1"], float)
    with np.errstate(invalid="ignore", over="ignore"):
        return m, np.sqrt(np.maximum(np.asarray(it["v2"], float) - m * m, 0.0))


@functools.lru_cache(maxsize=8)
def _recurrent_chain(act, depth: int, w: Distribution, x: float, inputs: Distribution | None, tolerance: float,
                     schedule: tuple) -> RecurrentChain:
    arch = recurrent(inputs)
    pas = _pascanu(act, depth, w)
    model = ("h_t = phi(w h_(t-1)" + (" + x_t)" if inputs is not None else ")")
             + f", h_0 = x = {x:g}, one weight w ~ {w.spec} per sequence"
             + (f", inputs x_t i.i.d. {inputs.spec}" if inputs is not None else ", no inputs") + ", no bias")
    slope = _linear_slope(act)
    if slope is not None or w.is_constant and inputs is None:
        if slope is not None:
            it = _closed(act, depth, w, x, inputs, slope, tolerance)
            method, how = "closed form", (f"closed form: phi is linear (phi(v) = {slope:g} v), so prod = "
                                          f"({slope:g} w)^T whatever the inputs; E[w^T], E|w|^T, E[w^2T] exactly "
                                          "from the weight law (60 digits)")
        else:
            it, _ = _deterministic(act, depth, np.array([float(w.args[0])]), np.array([1.0]), x)
            method, how = "deterministic", "a constant weight without inputs: the chain is iterated once, exactly"
        by = _assemble(it, None, tolerance)
        pm, psd = _preact(it)
        return RecurrentChain(act.name, depth, w.spec, None, x, method, {q: by[q][-1] for q in NAMES}, by, pm, psd,
                              tolerance, (model, how), {}, (), 0, arch, pas, {})

    def run(rule: WeightRule) -> tuple[dict, dict]:
        wn, z, q, tail = _weight_rule(act, w, x, depth, rule, inputs is not None, smooth)
        if inputs is None:
            it, parts = _deterministic(act, depth, wn, q, x)
        else:
            it, parts = _with_inputs(act, depth, wn, q, inputs, x, rule.inner, smooth,
                                     float(w.moments().mean_log_abs))
        return it, {k: (tail, v) for k, v in parts.items()}

    # with inputs and a product that is never 0, E log|prod| = t E log|w| (exact) + the integral of a function
    # smooth through w = 0: no tanh-sinh pieces (each node costs an operator)
    smooth = inputs is not None and _never_zero(act, w)

    levels = len(schedule) if inputs is None else min(len(schedule), INPUT_LEVELS)
    level = 1
    (coarse, _), (fine, tails) = run(schedule[0]), run(schedule[1])
    by = _assemble(fine, coarse, tolerance)
    while not all(bool(np.all(by[q].converged)) for q in NAMES) and level + 1 < levels:
        level += 1
        coarse, (fine, tails) = fine, run(schedule[level])
        by = _assemble(fine, coarse, tolerance)
    used = (schedule[level - 1], schedule[level])
    route = ("the deterministic chain given w, iterated in log space at every weight node" if inputs is None else
             "the transfer operator given w (the plain chain's rows, weight a point mass, the input in the bias's "
             "place), iterated at every weight node")
    notes = (model,
             f"exact by conditioning on w: {route}, then integrated over w by composite Gauss-Legendre in its base "
             "variable, cut at w = 0, |w| = 1/sup|phi'| and w = kink/x; each value the finer of two estimates that "
             f"differ in every setting, its error their difference (tolerance {tolerance:g}); "
             f"coarse: {used[0].describe(inputs is not None)}; fine: {used[1].describe(inputs is not None)}")
    if level > 1:
        notes += (f"refined {level - 1} time(s) beyond the first pair of settings to meet the tolerance",)
    first = _first_unconverged(by)
    if first is not None:
        notes += (f"NOT converged to the tolerance with the finest settings the work budget allows ({levels} of "
                  f"{len(schedule)} levels): first at depth {first[0]} ({', '.join(first[1])}); see the errors",)
    pm, psd = _preact(fine)
    method = "tied weights: deterministic chain given w" if inputs is None else \
        "tied weights: transfer operator given w"
    return RecurrentChain(act.name, depth, w.spec, None, x, method, {q: by[q][-1] for q in NAMES}, by, pm, psd,
                          tolerance, notes, {}, used, level - 1, arch, pas, tails)
