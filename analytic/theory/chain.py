r"""The exact chain: expectations of the gradient product of the network that is simulated, without sampling.

**Model.** r layers of one neuron, :math:`y_0 = x`, :math:`v_t = w_t y_{t-1} + b_t`, :math:`y_t = \varphi(v_t)`,
with i.i.d. weights :math:`w_t` and biases :math:`b_t` (none by default). Back-propagation gives
:math:`P_r = \partial y_r/\partial y_0 = \prod_{t=1}^r u_t`, :math:`u_t = w_t\varphi'(v_t)`.

**Transfer operator.** The pairs (:math:`y_t`, product so far) form a Markov chain, and the chain is the same at
every layer, so for a per-layer function :math:`g` (:math:`u`, :math:`|u|`, :math:`u^2`)

.. math:: E[g(P_k) \mid y_0 = y] = (T_g^k 1)(y), \qquad (T_g h)(y) = E_{w,b}\big[g(w\varphi'(wy + b))\,
          h(\varphi(wy + b))\big].

One application of :math:`T_g` per layer gives every depth 1…r (cost linear in r). With
:math:`Z = 1(u \ne 0)` and :math:`a_k = T_Z^k 1`, :math:`c_k = T_{Z\log|u|}\,a_{k-1} + T_Z\,c_{k-1}`,
:math:`P(P_k \ne 0) = a_k(x)` and :math:`E[\log|P_k|\,;P_k \ne 0] = c_k(x)`, so
``log_mean`` :math:`= E[\log|P_k| \mid P_k \ne 0] = c_k(x)/a_k(x)`. The law of :math:`y_t` comes from
:math:`E[f(y_t)] = (T_1^t f)(x)` for :math:`f = y, y^2`, and the pre-activation moments from
:math:`E[v_t] = E[w]E[y_{t-1}] + E[b]`, :math:`E[v_t^2] = E[w^2]E[y_{t-1}^2] + 2E[w]E[b]E[y_{t-1}] + E[b^2]`.

**Discretisation** (:func:`exact_chain`, ``method = "transfer operator"``): functions of :math:`y` are represented
by Chebyshev interpolation on the closure of the range of :math:`\varphi`, split at 0 (without a bias, a kink of
:math:`\varphi'` at 0 makes :math:`T h` kink there), with an algebraic map :math:`y = y_0 \pm L(1+s)/(1-s)` on an
unbounded side (functions with an expansion in :math:`1/y` stay smooth in s). Each row's expectation is a 1-D
integral over the base variable of the weight law (or, with Gaussian weights and bias, over :math:`v` with the
Gaussian conditional law of :math:`w` given :math:`v`), split at :math:`w = 0` and at every preimage of a kink or a
zero of :math:`\varphi'` (tanh–sinh quadrature there, which absorbs the logarithmic end-point singularities of
:math:`\log|u|`) and where :math:`\varphi(v)` crosses a piece boundary of the y-grid (Gauss–Legendre between).
Every accuracy setting is a field of :class:`~analytic.theory.accuracy.Accuracy`; everything is computed at two
consecutive levels of :data:`~analytic.theory.accuracy.SCHEDULE`, which differ in every setting (resolution,
grading, truncation windows), and the finer value is reported with the difference as its error. While some
quantity at some depth misses its tolerance (relative ``tolerance`` for the moments, absolute for
``zero_probability``, ``tolerance`` × t for ``log_mean`` at depth t), the chain moves up one level and is
recomputed; a quantity still above its tolerance at the last level is marked ``converged = False``.

**Closed form** (``method = "closed form"``): for positively homogeneous piecewise-linear :math:`\varphi`
(:math:`\varphi(v) = a_+ v` for v > 0, :math:`a_- v` for v < 0: ReLU, leaky ReLU, PReLU, identity) without a bias,
:math:`u_t` depends on :math:`y_{t-1}` only through its sign, so the operator acts on the three states
:math:`\operatorname{sign} y \in \{+, -, 0\}`; its 3×3 matrices are built from the exact partial moments
:math:`E[w^k 1(\pm w > 0)]` of the weight law (ReLU: :math:`E[P_r] = (E[w\,1(w > 0)])^r` for x > 0), and
:math:`y_t = x P_t` gives the law of :math:`y_t`.

>>> c = exact_chain("relu", 3, "normal(0, 2)")
>>> round(c.quantities["mean"].value / (2 / (2 * 3.141592653589793) ** 0.5) ** 3, 12), c.method
(1.0, 'closed form')
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits
import sympy as sp

from ..architecture import canonical_architecture
from ..core.display import displayable, quantity_rows, quantity_text
from ..core.calculus import resolve
from ..distributions import Constant, Distribution, Normal, distribution, scalar
from ..errors import ArgumentError, DepthError, SpecError, canonical_float, canonical_int
from ..quantities import NAMES, LogQuantity, QuantitySeries
from ..core.registry import X, Activation, BoundActivation
from .accuracy import SCHEDULE, Accuracy, check_schedule
from . import residual
from .transfer import FUNCTIONS, Operator, build_operator
from .undefined import checked_chain

#: Largest depth :func:`exact_chain` accepts.
MAX_DEPTH = 10**6
#: Layers of the pre-activation law included in the JSON form (all of them up to this depth).
PREACT_JSON = 1000
#: Tolerance of the reported quantities: relative for the moments, absolute for ``zero_probability``, and
#: ``tolerance`` × r (absolute) for ``log_mean`` at depth r, a sum of r per-layer terms.
TOLERANCE = 1e-8


# ---------------------------------------------------------------- results

@displayable(title=lambda c: f"exact chain: gradient product of {c.activation}, depth {c.depth}, weights {c.weights}"
                             f" ({c.method})", name="ExactChain",
             headline=(("act", lambda c: c.activation), ("r", lambda c: c.depth), ("weights", lambda c: c.weights),
                       ("mean", lambda c: quantity_text(c.quantities["mean"])),
                       ("", lambda c: "converged" if c.converged else "partly withheld")),
             summary=lambda c: {"model": "exact chain", "method": c.method,
                                **{q: quantity_text(v) for q, v in c.quantities.items()}},
             rows=lambda c: quantity_rows(c.quantities, model="exact chain", depth=c.depth))
@dataclass(frozen=True)
class ChainExpectations:
    r"""The exact-chain quantities at depth ``depth`` and at every depth 1…r.

    ``quantities[q]`` (q in :data:`analytic.quantities.NAMES`) is a :class:`~analytic.quantities.LogQuantity` at
    depth r; ``by_depth[q]`` the same at depths 1…r (a :class:`~analytic.quantities.QuantitySeries`).
    ``preact_mean[t-1]``, ``preact_sd[t-1]`` (arrays) are the
    mean and standard deviation of :math:`v_t`. ``method`` is ``closed form`` or ``transfer operator``;
    ``settings`` the two levels of accuracy (coarse, fine) whose difference is the error (empty for the closed
    form), ``refinements`` how many times the chain moved one level up to meet the tolerance.
    """

    activation: str
    depth: int
    weights: str
    bias: str | None
    x: float
    method: str
    quantities: dict
    by_depth: dict
    preact_mean: np.ndarray
    preact_sd: np.ndarray
    tolerance: float = TOLERANCE
    notes: tuple = ()
    formulas: dict = field(default_factory=dict)
    settings: tuple = ()
    refinements: int = 0
    architecture: Any = None

    def __getitem__(self, name: str) -> LogQuantity:
        return self.quantities[name]

    @property
    def converged(self) -> bool:
        return all(q.converged for q in self.quantities.values())

    def as_dict(self) -> dict:
        """JSON form: each quantity as ``{"value", "error", ...}``, ``method``, the law of v_t, notes."""
        out = {q: self.quantities[q].as_dict() for q in NAMES}
        out.update(method=self.method, depth=self.depth, weights=self.weights, bias=self.bias, x=self.x,
                   tolerance=self.tolerance, converged=self.converged, notes=list(self.notes),
                   formulas=dict(self.formulas),
                   settings={k: a.as_dict() for k, a in zip(("coarse", "fine"), self.settings)},
                   refinements=self.refinements,
                   preactivation={"mean": [float(v) for v in self.preact_mean[:PREACT_JSON]],
                                  "sd": [float(v) for v in self.preact_sd[:PREACT_JSON]]})
        if self.architecture is not None:
            out["architecture"] = self.architecture.to_json()
        return out


# ---------------------------------------------------------------- recursions shared by both routes

def _iterate(op: Operator, depth: int) -> dict[str, np.ndarray]:
    r"""Apply the operator ``depth`` times. Per-depth arrays (index k: depth k + 1): ``mean_log``/``mean_sign``,
    ``mean_abs_log``, ``mean_square_log`` (natural logs), ``nonzero_log`` (log P(P ≠ 0)), ``log_mean``, and
    ``y1``, ``y2`` = E[y_k], E[y_k^2] (index 0 left nan: the caller knows :math:`y_0 = x`).

    Iterates are renormalised to max-norm 1 with their log scale kept aside, so depth 10^6 neither under- nor
    overflows; :math:`c_k` and the moments of y are carried as :math:`f/\rho`."""
    n = len(op.nodes)
    out = {q: np.full(depth, np.nan) for q in ("mean_log", "mean_sign", "mean_abs_log", "mean_square_log",
                                               "nonzero_log", "log_mean", "y1", "y2")}
    h = {g: np.ones(n) for g in ("mean", "mean_abs", "mean_square")}
    scale = dict.fromkeys(h, 0.0)
    rho = 1.0 + op.nodes**2
    a, c, a_scale = np.ones(n), np.zeros(n), 0.0
    f1, f2 = op.nodes / rho, op.nodes**2 / rho
    T, S = op.T, op.start
    for k in range(depth):
        for g in h:
            val = float(S[g] @ h[g])
            out[f"{g}_log"][k] = (math.log(abs(val)) + scale[g]) if val != 0 else -math.inf
            if g == "mean":
                out["mean_sign"][k] = np.sign(val)
            h[g], step = _normalised(T[g] @ h[g])
            scale[g] += step
        pnz = float(S["nonzero"] @ a)
        out["nonzero_log"][k] = (math.log(pnz) + a_scale) if pnz > 0 else -math.inf
        out["log_mean"][k] = float(S["log"] @ a + S["nonzero_rho"] @ c) / pnz if pnz > 0 else math.nan
        a, c = T["nonzero"] @ a, T["log"] @ a / rho + T["nonzero_rho"] @ c
        a, step = _normalised(a)
        c, a_scale = c / math.exp(step), a_scale + step
        if k > 0:
            out["y1"][k], out["y2"][k] = float(S["one_rho"] @ f1), float(S["one_rho"] @ f2)
            f1, f2 = T["one_rho"] @ f1, T["one_rho"] @ f2
        if k + 1 >= _STEADY_AFTER and k + 1 < depth and (k + 1) % _WINDOW == 0 and _steady(out, k):
            _extrapolate(out, k, depth)
            break
    return out


#: Depth from which a deep run may stop iterating once every series grows at a constant rate.
_STEADY_AFTER = 2048
#: Window of increments that must agree (to 1e-13) before the rest is extrapolated.
_WINDOW = 16
_SERIES = ("mean_log", "mean_abs_log", "mean_square_log", "nonzero_log", "log_mean", "y1", "y2")


def _steady(out: dict, k: int) -> bool:
    r"""True when, over the last :data:`_WINDOW` depths, every series changes by a constant step (to 1e-13
    relative, plus the rounding of the values themselves) and the sign of E[∏] repeats with period 1 or 2: the iterates have converged to the dominant
    eigenvector of each operator, so :math:`\log E[\cdot]` is affine in the depth from here on."""
    lo = k - _WINDOW
    for q in _SERIES:
        seg = out[q][lo:k + 1]
        if np.all(seg == -np.inf) or np.all(np.isnan(seg)):
            continue
        if not np.all(np.isfinite(seg)):
            return False
        d = np.diff(seg)
        noise = 64 * 2.0**-52 * float(np.max(np.abs(seg)))  # rounding of values of this size
        if np.max(np.abs(d - d[-1])) > 1e-13 * max(1.0, abs(d[-1])) + noise:
            return False
    signs = out["mean_sign"][lo:k + 1]
    return bool(np.all(signs == signs[-1]) or np.all(signs[2:] == signs[:-2]))


def _extrapolate(out: dict, k: int, depth: int) -> None:
    steps = np.arange(1, depth - k)
    for q in _SERIES:
        last, d = out[q][k], out[q][k] - out[q][k - 1]
        out[q][k + 1:] = last + (d if np.isfinite(d) else 0.0) * steps
    signs = out["mean_sign"]
    signs[k + 1:] = np.where(steps % 2 == 0, signs[k], signs[k - 1])


def _normalised(h: np.ndarray) -> tuple[np.ndarray, float]:
    m = float(np.max(np.abs(h))) if h.size else 0.0
    if m > 0 and math.isfinite(m):
        return h / m, math.log(m)
    return h, 0.0


def _quantity_arrays(it: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The per-depth (log|value|, sign) arrays of every named quantity."""
    out = {}
    s = it["mean_sign"].astype(int)
    out["mean"] = (np.where(s != 0, it["mean_log"], -np.inf), s)
    for q in ("mean_abs", "mean_square"):
        v = it[f"{q}_log"]
        out[q] = (v, (v > -np.inf).astype(int))
    lm = it["log_mean"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["log_mean"] = (np.where(np.isfinite(lm), np.log(np.abs(lm)), lm),
                           np.where(np.isfinite(lm), np.sign(lm), 0).astype(int))
        nzl = it["nonzero_log"]
        pz = np.clip(np.where(nzl < 0, -np.expm1(nzl), 0.0), 0.0, 1.0)
        out["zero_probability"] = (np.where(pz > 0, np.log(pz), -np.inf), (pz > 0).astype(int))
    return out


def _log_difference(a: tuple, b: tuple) -> np.ndarray:
    """log|s_a e^{l_a} - s_b e^{l_b}| elementwise (−inf where equal)."""
    (la, sa), (lb, sb) = a, b
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        top = np.maximum(np.where(sa != 0, la, -np.inf), np.where(sb != 0, lb, -np.inf))
        safe = np.where(np.isfinite(top), top, 0.0)
        d = (np.where(sa != 0, sa * np.exp(la - safe), 0.0) - np.where(sb != 0, sb * np.exp(lb - safe), 0.0))
        return np.where(d != 0, np.log(np.abs(d)) + safe, -np.inf)


#: Rounding floor of every error, per layer, relative to the value (absolute for the linear quantities).
_ROUNDING = 4e-15


def _assemble(fine: dict, coarse: dict | None, tolerance: float, rounding: float = _ROUNDING) -> dict:
    r"""Per-depth :class:`QuantitySeries`: the fine value with ``|fine - coarse|`` as its error (no coarse run:
    an exact route), never below the rounding floor ``rounding`` × depth × |value|, and checked against
    ``tolerance``: relative for the moments (for ``mean`` relative to E|∏|, since E[∏] may vanish by symmetry),
    absolute for ``zero_probability``, and ``tolerance`` × r (absolute) for ``log_mean`` at depth r, a sum of r
    per-layer terms whose rounding alone grows like r·|value|. ``log_mean`` is nan where every product is zero."""
    F = _quantity_arrays(fine)
    C = _quantity_arrays(coarse) if coarse is not None else None
    log_depth = np.log(np.arange(1, len(fine["log_mean"]) + 1))
    layers = math.log(rounding) + log_depth
    out = {}
    for q in NAMES:
        l, s = F[q]
        linear = q in ("log_mean", "zero_probability")
        size = np.maximum(np.where(np.isfinite(l), l, 0.0), 0.0) if linear else l
        floor = np.where((s != 0) | linear, layers + size, -np.inf)
        le = np.maximum(floor, _log_difference(F[q], C[q]) if C is not None else -np.inf)
        ref = (log_depth if q == "log_mean" else 0.0) if linear else (F["mean_abs"][0] if q == "mean" else l)
        with np.errstate(invalid="ignore"):
            ok = (le == -np.inf) | (le <= math.log(tolerance) + np.where(np.isfinite(ref), ref, 0.0))
        if q == "log_mean":
            undefined = np.isnan(fine["log_mean"])
            l, le, ok = np.where(undefined, np.nan, l), np.where(undefined, np.nan, le), ok | undefined
        out[q] = QuantitySeries(l, s, le, ok)
    return out


# ---------------------------------------------------------------- closed form: the sign chain

def _homogeneous_slopes(act: BoundActivation) -> tuple[sp.Expr, sp.Expr, sp.Expr] | None:
    r"""(:math:`a_+`, :math:`a_-`, :math:`\varphi'(0)`) when :math:`\varphi(v) = a_\pm v` on :math:`\pm v > 0`
    (the positively homogeneous piecewise-linear activations), else None."""
    from ..core.calculus import derivative

    phi = act.expr
    p, n = sp.Symbol("p", positive=True), sp.Symbol("n", negative=True)
    try:
        a_pos = sp.simplify(phi.subs(X, p) / p)
        a_neg = sp.simplify(phi.subs(X, n) / n)
        if a_pos.free_symbols or a_neg.free_symbols:
            return None
        d0 = sp.sympify(derivative(act, 1).subs(X, 0))
    except (TypeError, ValueError, NotImplementedError, ZeroDivisionError, AttributeError):
        return None
    if not all(v.is_real and v.is_finite for v in (a_pos, a_neg, d0)):
        return None
    return a_pos, a_neg, d0


def _sign(value: float) -> int:
    return 0 if value == 0 else (1 if value > 0 else -1)


def _sign_chain(slopes, w: Distribution) -> dict[str, np.ndarray]:
    r"""The 3×3 operator on :math:`\operatorname{sign} y \in (+, -, 0)`: from state s, a weight of sign
    :math:`\varepsilon` gives :math:`v = wy` of sign :math:`\varepsilon s`, slope :math:`a = a_{\varepsilon s}`,
    :math:`u = a w` and the next state :math:`\operatorname{sign}(a)\,\varepsilon s`; from 0, :math:`v = 0`,
    :math:`u = \varphi'(0) w` and y stays 0. Entries are partial moments of w, evaluated with 30 digits."""
    a_pos, a_neg, d0 = slopes
    pm = w.partial_moments()
    lpos, lneg = w.partial_log_moments()
    states = (1, -1, 0)
    T = {g: np.zeros((3, 3)) for g in FUNCTIONS}
    for i, s in enumerate(states):
        for mom, eps, lmom in ((pm.pos, 1, lpos), (pm.neg, -1, lneg)):
            if mom[0] == 0:
                continue
            a = d0 if s == 0 else (a_pos if eps * s > 0 else a_neg)
            j = states.index(0 if s == 0 else _sign(a) * eps * s)
            T["one"][i, j] += float(mom[0])
            T["mean"][i, j] += float(sp.N(a * mom[1], 30))
            T["mean_abs"][i, j] += float(sp.N(abs(a) * eps * mom[1], 30))
            T["mean_square"][i, j] += float(sp.N(a**2 * mom[2], 30))
            if a != 0:
                T["nonzero"][i, j] += float(mom[0])
                T["log"][i, j] += float(sp.N(sp.log(abs(a)), 30)) * float(mom[0]) + lmom
        if pm.zero != 0:  # w = 0: u = 0 and y' = phi(0) = 0
            T["one"][i, 2] += float(pm.zero)
    return T


def _closed_form(act: BoundActivation, depth: int, w: Distribution, x: float,
                 tolerance: float) -> ChainExpectations | None:
    slopes = _homogeneous_slopes(act)
    if slopes is None:
        return None
    T = _sign_chain(slopes, w)
    T["one_rho"], T["nonzero_rho"] = T["one"], T["nonzero"]  # rho = 1 on the states: only signs matter
    i = (1, -1, 0).index(_sign(x))
    op = Operator(T, {g: M[i] for g, M in T.items()}, np.zeros(3))
    it = _iterate(op, depth)
    by = _assemble(it, None, tolerance)
    # y_t = x P_t (phi(v) = v phi'(v)): E[y_t] = x E[P_t], E[y_t^2] = x^2 E[P_t^2]
    ey = np.concatenate([[x], x * by["mean"].values[:-1]])
    ey2 = np.concatenate([[x * x], x * x * by["mean_square"].values[:-1]])
    pm, psd = _preact_law(ey, ey2, w, None)
    a_pos, a_neg, d0 = slopes
    notes = (f"closed form: phi(v) = {a_pos} v for v > 0 and {a_neg} v for v < 0 (phi'(0) = {d0}), so "
             "w_t phi'(v_t) depends on y_(t-1) only through its sign: a 3-state chain on sign(y) whose matrix "
             "entries are the exact partial moments E[w^k 1(+-w > 0)] of the weight law",)
    return ChainExpectations(act.name, depth, w.spec, None, x, "closed form", {q: by[q][-1] for q in NAMES}, by,
                             pm, psd, tolerance, notes, {"mean": _closed_formula(slopes, w, x)})


def _closed_formula(slopes, w: Distribution, x: float) -> str:
    a_pos, a_neg, _ = slopes
    pm = w.partial_moments()
    if a_neg == a_pos:
        return f"E[prod] = ({sp.simplify(a_pos * (pm.pos[1] + pm.neg[1]))})^r  (linear: (a E[w])^r)"
    if a_neg == 0 and x > 0:
        return f"E[prod] = ({sp.simplify(a_pos * pm.pos[1])})^r  (= (a_+ E[w 1(w > 0)])^r)"
    return "E[prod] = e_sign(x)^T M^r 1, M the sign-chain matrix of partial moments a_(+-) E[w 1(+-w > 0)]"


def _preact_law(ey, ey2, w: Distribution, bias: Distribution | None) -> tuple[np.ndarray, np.ndarray]:
    r"""Mean and sd of :math:`v_t = w_t y_{t-1} + b_t` from :math:`E[y_{t-1}]`, :math:`E[y_{t-1}^2]`."""
    mo = w.moments().floats()
    bm = bias.moments().floats() if bias is not None else {"mean": 0.0, "mean_square": 0.0}
    ey, ey2 = np.asarray(ey, dtype=float), np.asarray(ey2, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        m = mo["mean"] * ey + bm["mean"]
        var = mo["mean_square"] * ey2 + 2 * mo["mean"] * bm["mean"] * ey - m * m + bm["mean_square"]
    return m, np.sqrt(np.maximum(var, 0.0))


# ---------------------------------------------------------------- the public function

def _never_zero(act: BoundActivation, w: Distribution) -> bool:
    """True when a product can be 0 only on a null set: φ′ vanishes on no interval and P(w = 0) = 0."""
    from .gaussian import _zero_pieces

    return not _zero_pieces(act) and w.partial_moments().zero == 0


def _canonical_x(x) -> float:
    return canonical_float("x", x, error=SpecError)


def chain_inputs(act, depth, weights, bias, params, tolerance, max_depth: int) -> tuple:
    """The chain's inputs, checked and resolved once: (bound activation, depth in 1…``max_depth``, weight law,
    bias law or None — ``constant(0)`` is no bias —, tolerance in (0, 1])."""
    depth = canonical_int("depth", depth, 1, max_depth, DepthError)
    a = resolve(act, params)
    w = scalar(distribution(weights))
    b = None if bias is None else scalar(distribution(bias), "bias")
    if b is not None and b.is_constant and float(b.args[0]) == 0:
        b = None
    return a, depth, w, b, canonical_float("tolerance", tolerance, 0, 1, open_low=True)


def exact_chain(act: Activation | str, depth: int, weights: str | Distribution, x: float = 1.0,
                bias: str | Distribution | None = None, params: dict | None = None,
                tolerance: float = TOLERANCE, schedule: tuple = SCHEDULE, architecture: Any = None
                ) -> ChainExpectations:
    r"""E[∏], E|∏|, E[∏²], E[log|∏| | ∏ ≠ 0] and P(∏ = 0) of the chain at depths 1…``depth``, and the law of
    :math:`v_t`, without sampling.

    The closed form (sign chain) is used for positively homogeneous piecewise-linear φ without a bias; every other
    case goes through the discretised transfer operator at two consecutive levels of ``schedule`` (see
    :mod:`analytic.theory.accuracy`), the finer value reported with the difference as its error. A quantity is
    converged when its error is at most ``tolerance`` relative (the moments; ``mean`` relative to E|∏|), at most
    ``tolerance`` absolute (``zero_probability``), or at most ``tolerance`` × t (``log_mean`` at depth t: a sum of
    t per-layer terms). While some quantity at some depth is not converged, the chain moves one level up and is
    recomputed, until every one is or the schedule is spent; what is still not converged is flagged
    (``converged = False``) with its error. ``bias=None`` is no bias; ``constant(0)`` is the same chain.

    >>> c = exact_chain("tanh", 5, "normal(0, 1)")
    >>> abs(c["mean"].value) < 1e-14, c.method  # tanh is odd and the weight law symmetric: E[prod] = 0
    (True, 'transfer operator')

    ``architecture`` (:mod:`analytic.architecture`; None is the plain chain): a residual network goes to
    :func:`analytic.theory.residual.residual_chain`.
    """
    arch = canonical_architecture(architecture)
    if arch.kind == "residual":
        return checked_chain(_residual_inputs(act, depth, weights, arch, x, bias, params, tolerance, schedule))
    a, depth, w, b, tolerance = chain_inputs(act, depth, weights, bias, params, tolerance, MAX_DEPTH)
    schedule = _checked_schedule(schedule)
    # a quantity that is not a number (NaN, an overflow to +inf, a NaN sign) is withheld here too, not only in
    # gradient(): a direct call never hands on a converged NaN
    return checked_chain(_exact_chain(a, depth, w, b, _canonical_x(x), tolerance, schedule))


def _all_converged(by: dict) -> bool:
    return all(bool(np.all(by[q].converged)) for q in NAMES)


def _first_unconverged(by: dict) -> tuple[int, list[str]] | None:
    """The first depth at which some quantity misses its tolerance, and those quantities (None: none does)."""
    firsts = {q: int(np.argmin(by[q].converged)) for q in NAMES if not np.all(by[q].converged)}
    if not firsts:
        return None
    k = min(firsts.values())
    return k + 1, [q for q in NAMES if q in firsts and not by[q].converged[k]]


def _checked_schedule(schedule) -> tuple:
    """``schedule`` as a tuple of at least two :class:`Accuracy` levels that pass :func:`check_schedule`; a
    :class:`SpecError` otherwise."""
    schedule = tuple(schedule)
    try:
        if len(schedule) < 2 or not all(isinstance(s, Accuracy) for s in schedule):
            raise ValueError("accuracy schedule: at least two Accuracy levels are needed")
        check_schedule(schedule)
    except ValueError as e:
        raise SpecError(str(e)) from None
    return schedule


def _refine(run, schedule: tuple, levels: int, tolerance: float) -> tuple[dict, dict, int]:
    """Run the chain at the first two levels of ``schedule`` and move one level up while some quantity at some
    depth misses ``tolerance`` and fewer than ``levels`` levels are used (a count, never a clock): (the assembled
    quantities, the finest run, the index of the finest level)."""
    level = 1
    coarse, fine = run(schedule[0]), run(schedule[1])
    by = _assemble(fine, coarse, tolerance)
    while not _all_converged(by) and level + 1 < levels:
        level += 1
        coarse, fine = fine, run(schedule[level])
        by = _assemble(fine, coarse, tolerance)
    return by, fine, level


def _refinement_notes(by: dict, level: int, levels: int, schedule: tuple) -> tuple[str, ...]:
    """The notes on how far the refinement went and, when some quantity is still not converged, where first."""
    notes: tuple[str, ...] = ()
    if level > 1:
        notes += (f"refined {level - 1} time(s) beyond the first pair of settings to meet the tolerance",)
    first = _first_unconverged(by)
    if first is not None:
        notes += (f"NOT converged to the tolerance with the finest settings the work budget allows ({levels} of "
                  f"{len(schedule)} levels): first at depth {first[0]} ({', '.join(first[1])}); see the errors",)
    return notes


#: Levels of the schedule the route with an outer integral over the bias may use (its rows cost the outer rule's
#: points times the others').
_MIXED_LEVELS = 3


@functools.lru_cache(maxsize=16)
def _exact_chain(act: BoundActivation, depth: int, w: Distribution, b: Distribution | None, x: float,
                 tolerance: float, schedule: tuple = SCHEDULE) -> ChainExpectations:
    if b is None:
        closed = _closed_form(act, depth, w, x, tolerance)
        if closed is not None:
            return closed
    never_zero = _never_zero(act, w)

    def run(acc: Accuracy) -> dict:
        # One BLAS thread: threaded matrix products sum in an order that depends on the thread count, and the
        # same call must give the same digits whatever the machine.
        with threadpool_limits(limits=1, user_api="blas"):
            it = _iterate(build_operator(act, w, b, x, acc), depth)
        if never_zero:  # no interval where phi' = 0 and no atom of w at 0: P(prod = 0) = 0 exactly
            it["nonzero_log"][:] = 0.0
        return it

    # Work budget: a random bias with a non-Gaussian weight law (or the reverse) multiplies every row by the outer
    # rule over the bias, so that route refines at most to level _MIXED_LEVELS - 1 (a count, not a clock).
    mixed = b is not None and not isinstance(b, Constant) and not (isinstance(w, Normal) and isinstance(b, Normal))
    levels = min(len(schedule), _MIXED_LEVELS) if mixed else len(schedule)
    by, fine, level = _refine(run, schedule, levels, tolerance)
    ey = np.concatenate([[x], fine["y1"][1:]])
    ey2 = np.concatenate([[x * x], fine["y2"][1:]])
    pm, psd = _preact_law(ey, ey2, w, b)
    used = (schedule[level - 1], schedule[level])
    notes = (f"transfer operator: y-range of phi split at 0 and graded geometrically towards 0 and infinity, "
             f"Chebyshev interpolation, tanh-sinh quadrature; each value is the finer of two estimates that differ "
             f"in every accuracy setting, its error their difference (tolerance {tolerance:g}: relative for the "
             f"moments, absolute for zero_probability, {tolerance:g} x depth for log_mean); "
             f"coarse: {used[0].describe()}; fine: {used[1].describe()}",)
    notes += _refinement_notes(by, level, levels, schedule)
    if depth > _STEADY_AFTER:
        notes += (f"beyond depth {_STEADY_AFTER}, once every log-quantity grew by a constant step over "
                  f"{_WINDOW} layers (the dominant eigenvector reached to 1e-13), the rest is extrapolated "
                  "linearly in the depth",)
    return ChainExpectations(act.name, depth, w.spec, None if b is None else b.spec, x, "transfer operator",
                             {q: by[q][-1] for q in NAMES}, by, pm, psd, tolerance, notes, {}, used, level - 1)


# ---------------------------------------------------------------- the residual chain (theory.residual)

def _residual_inputs(act, depth, weights, arch, x, bias, params, tolerance, schedule) -> ChainExpectations:
    """The residual chain's inputs checked, then :func:`_residual_chain`."""
    if arch.norm is not None:
        raise ArgumentError(f"{arch.describe()}: normalisation acts across the units of a wide network; the "
                            "one-neuron residual chain has none")
    a, depth, w, b, tolerance = chain_inputs(act, depth, weights, bias, params, tolerance, MAX_DEPTH)
    schedule = _checked_schedule(schedule)
    return _residual_chain(residual.Setup(a, w, b, arch.alpha_at(depth), arch.branch), depth, _canonical_x(x),
                           tolerance, schedule, arch)


@functools.lru_cache(maxsize=16)
def _residual_chain(s, depth: int, x: float, tolerance: float, schedule: tuple, arch) -> ChainExpectations:
    r"""The residual chain (:mod:`analytic.theory.residual`): closed form for a linear φ with Gaussian or constant
    weights, else the residual transfer operator refined through ``schedule`` exactly as the plain chain."""
    model = (f"{arch.describe()}: alpha = {s.alpha:.17g} at depth {depth}; "
             + ("y_t = y_(t-1) + alpha phi(w_t y_(t-1) + b_t), factor 1 + alpha w_t phi'(w_t y_(t-1) + b_t)"
                if s.branch == "post" else
                "y_t = y_(t-1) + alpha (w_t phi(y_(t-1)) + b_t), factor 1 + alpha w_t phi'(y_(t-1))"))
    bias = None if s.b is None else s.b.spec
    slope = residual.linear_slope(s.act)
    f = residual.factor_moments(s.alpha * slope, s.w) if slope is not None else None
    if f is not None:
        by = _assemble(residual.closed_iterates(f, depth), None, tolerance)
        pm, psd = residual.argument_law(s, *residual.linear_y_moments(slope, s, x, depth, f))
        notes = (model, f"closed form: phi(v) = {slope:g} v, so the factors u_t = 1 + {s.alpha * slope:.17g} w_t are "
                        "i.i.d. and independent of y: every quantity is a power of one layer's (E|u| folded normal, "
                        "E log|u| by the Poisson series of E log|mu + Z|)")
        formulas = {"mean": f"E[prod] = (1 + alpha a E[w])^r = {f['mean']:.17g}^r",
                    "mean_square": f"E[prod^2] = E[(1 + alpha a w)^2]^r = {f['mean_square']:.17g}^r"}
        return ChainExpectations(s.act.name, depth, s.w.spec, bias, x, "closed form", {q: by[q][-1] for q in NAMES},
                                 by, pm, psd, tolerance, notes, formulas, architecture=arch)
    never_zero = not s.w.is_constant

    def run(acc: Accuracy) -> dict:
        with threadpool_limits(limits=1, user_api="blas"):
            it = _iterate(residual.build_operator(s, x, acc), depth)
        if never_zero:  # u = 1 + alpha w phi'(.) vanishes on a null set of a continuous weight law
            it["nonzero_log"][:] = 0.0
        return it

    mixed = s.b is not None and not isinstance(s.b, Constant)
    levels = min(len(schedule), _MIXED_LEVELS) if mixed else len(schedule)
    by, fine, level = _refine(run, schedule, levels, tolerance)
    pm, psd = residual.argument_law(s, np.concatenate([[x], fine["y1"][1:]]),
                                    np.concatenate([[x * x], fine["y2"][1:]]))
    used = (schedule[level - 1], schedule[level])
    notes = (model,
             "transfer operator on the whole y-line (y_t is unbounded): pieces split at 0 and graded geometrically "
             "towards 0 and towards +-infinity, algebraic map on the two unbounded ends, split where the rows are not "
             "analytic in y; Chebyshev interpolation; the weight integral cut where u = 0 (tanh-sinh), at kinks of "
             "phi' and where y' crosses a piece boundary; each value is the finer of two estimates that differ in "
             "every accuracy setting (resolution, grading towards 0 and infinity, the weight's truncation), its "
             f"error their difference (tolerance {tolerance:g}: relative for the moments, absolute for "
             f"zero_probability, {tolerance:g} x depth for log_mean); coarse: {used[0].describe()}; "
             f"fine: {used[1].describe()}",)
    notes += _refinement_notes(by, level, levels, schedule)
    if depth > _STEADY_AFTER:
        notes += (f"beyond depth {_STEADY_AFTER}, once every log-quantity grew by a constant step over {_WINDOW} "
                  "layers, the rest is extrapolated linearly in the depth",)
    return ChainExpectations(s.act.name, depth, s.w.spec, bias, x, "transfer operator", {q: by[q][-1] for q in NAMES},
                             by, pm, psd, tolerance, notes, {}, used, level - 1, arch)
