r"""The gradient product across depth under the independence approximation, with the crude bound.

**Chain (the textbook model):** r layers of one neuron, :math:`y_0 = x`, :math:`v_t = w_t y_{t-1} + b_t`,
:math:`y_t = \varphi(v_t)`; defaults :math:`x = 1`, no bias. Back-propagation gives
:math:`\partial y_r/\partial y_0 = \prod_t w_t \varphi'(v_t)`. Crude bound:
:math:`E|\prod| \le (E|w| \cdot \sup|\varphi'|)^r`. Under the independence approximation (pre-activations drawn
from a stated distribution, independent of the weights) :math:`E[\prod] = (E[w] E[\varphi'(v)])^r`,
:math:`E[\prod^2] = (E[w^2] E[\varphi'(v)^2])^r`; the exact chain (:math:`v_t` depends on :math:`w_t` and
:math:`y_{t-1}`, :mod:`analytic.theory.chain`) is what Monte Carlo measures, and the tool reports both and the gap.

**Typical vs mean:** the product is log-normal-like; its median is :math:`\exp(r E[\log|w \varphi'(v)|])` and can
differ from the mean by orders of magnitude. Report both.

This is *not* the network's exact chain (:func:`analytic.exact_chain`); results say so in their repr and display.
:func:`gradient_product` is the former name of :func:`independence_product`, kept as a deprecated alias.

>>> from analytic.theory.independence import independence_product
>>> g = independence_product("sigmoid", 10, "constant(1)")
>>> round(g.bound / 0.25**10, 12)
1.0
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sympy as sp

from ..core.calculus import numpy_function, resolve
from ..core.display import displayable
from ..core.registry import Activation, BoundActivation
from ..distributions import Constant, Distribution, distribution, scalar
from ..errors import DepthError, canonical_float, canonical_int
from .undefined import require_finite
from ..quantities import STANDARD_NORMAL, LogQuantity, exp_or_inf, log_or_minus_inf
from .gaussian import Estimate, _kinks, _preact

#: Largest depth accepted by :func:`independence_product`.
MAX_DEPTH = 10**6

#: What every display of a :class:`GradientProduct` says it is.
MODEL = "independence approximation (not the network's exact chain)"


@displayable(title=lambda g: f"{MODEL}: gradient product of {g.activation}, depth {g.depth}, "
                             f"weights {g.weights}, pre-activations {g.preact}",
             name="IndependenceApproximation",
             headline=(("act", lambda g: g.activation), ("r", lambda g: g.depth), ("preact", lambda g: g.preact),
                       "mean", "mean_square"),
             summary=lambda g: {"model": MODEL, **{k: v for k, v in g.as_dict().items()
                                                   if v is None or isinstance(v, (str, int, float))}})
@dataclass(frozen=True)
class GradientProduct:
    r"""The back-propagated product :math:`\prod_{t=1}^r w_t \varphi'(v_t)` under the **independence
    approximation** (pre-activations from a stated law, independent of the weights; not the network's exact
    chain), in log space.

    ``log_*`` are natural logs (``-inf`` when the quantity is exactly 0) and stay finite for depth up to
    :math:`10^6`; the plain floats may underflow to 0.0. ``mean`` is :math:`E[\prod]` (sign ``mean_sign`` times
    ``exp(log_mean_abs)``). ``depth_to_threshold[k]`` is the smallest integer r with the quantity below
    ``threshold`` (for ``mean``: :math:`|E\prod|`), None when it never falls below.
    """

    depth: int
    log_bound: float
    log_mean_abs: float
    mean_sign: int
    log_mean_square: float
    log_typical: float
    bound: float
    mean: float
    mean_square: float
    typical: float
    depth_to_threshold: dict
    threshold: float
    per_layer: dict
    assumptions: tuple[str, ...]
    activation: str = ""
    weights: str = ""
    preact: str = ""
    formulas: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> LogQuantity | Estimate:
        r"""The quantity ``name`` of :data:`analytic.quantities.NAMES` under the independence formulas: a
        :class:`~analytic.quantities.LogQuantity` for ``mean`` and ``mean_square``, an :class:`Estimate` for the
        plain number ``log_mean`` (:math:`E\log|\prod|`, the log of ``typical``); errors are not propagated
        (``nan``). The formulas give no ``mean_abs`` (only its ``bound``) and no ``zero_probability``."""
        if name == "mean":
            return LogQuantity(self.log_mean_abs, int(np.sign(self.mean_sign)), math.nan)
        if name == "mean_square":
            return LogQuantity(self.log_mean_square, 0 if self.log_mean_square == -math.inf else 1, math.nan)
        if name == "log_mean":
            return Estimate(self.log_typical, math.nan, "independence formula", FORMULAS["typical"])
        raise KeyError(f"the independence formulas give no {name!r}; they give mean, mean_square and log_mean")

    def as_dict(self) -> dict:
        """JSON-ready form: ``bound``, ``mean``, ``mean_square``, ``typical``, ``depth_to_threshold``,
        ``assumptions``, the ``log_*`` values, ``mean_sign``, ``depth``, ``threshold``, ``per_layer``,
        ``formulas``, ``activation``, ``weights``, ``preact``."""
        return {
            "activation": self.activation, "weights": self.weights, "preact": self.preact, "depth": self.depth,
            "bound": self.bound, "mean": self.mean, "mean_square": self.mean_square, "typical": self.typical,
            "log_bound": self.log_bound, "log_mean_abs": self.log_mean_abs, "mean_sign": self.mean_sign,
            "log_mean_square": self.log_mean_square, "log_typical": self.log_typical,
            "depth_to_threshold": dict(self.depth_to_threshold), "threshold": self.threshold,
            "per_layer": self.per_layer, "formulas": dict(self.formulas), "assumptions": list(self.assumptions),
        }


FORMULAS = {
    "bound": "E|prod| <= (E|w| * sup|phi'|)^r",
    "mean": "E[prod] = (E[w] * E[phi'(v)])^r",
    "mean_square": "E[prod^2] = (E[w^2] * E[phi'(v)^2])^r",
    "typical": "median|prod| = exp(r * (E log|w| + E log|phi'(v)|))",
}


def _scale(r: int, log_f: float) -> float:
    return -math.inf if log_f == -math.inf else r * log_f


def first_depth_below(log_factor: float, threshold: float) -> int | None:
    r"""The smallest integer :math:`r \ge 1` with :math:`e^{r \cdot \text{log\_factor}} < \text{threshold}`.

    >>> first_depth_below(math.log(0.25), 1e-6)
    10
    """
    log_t = math.log(threshold)
    if log_factor == -math.inf:
        return 1
    if log_factor >= 0 or math.isnan(log_factor):
        return 1 if log_factor * 1 < log_t else None
    r = max(1, math.floor(log_t / log_factor) + 1)
    while r > 1 and (r - 1) * log_factor < log_t:  # guard the float division at an exact boundary
        r -= 1
    while not r * log_factor < log_t:
        r += 1
    return r


def _canonical_threshold(threshold: Any) -> float:
    return canonical_float("threshold", threshold, 0, open_low=True)


@functools.lru_cache(maxsize=256)
def _sup_abs_dphi(act: BoundActivation) -> tuple[float, str, str]:
    """(an upper bound on sup|φ′|, the method, a sentence saying where it comes from)."""
    reason = ""
    try:
        from ..bounds import bound
    except ImportError as exc:  # pragma: no cover - the package ships bounds
        bound, reason = None, f"the bounds module is unavailable ({exc})"
    if bound is not None:
        try:
            b = bound(act, of="dphi")
            ends = [float(v) for e in (b.sup, b.inf) for v in (e.lower, e.upper)]
            M = max(abs(v) for v in ends)

            def show(e):
                return str(e.exact) if e.exact is not None else f"in [{e.lower:.12g}, {e.upper:.12g}]"

            return M, "proved", (f"sup|phi'| = max(|sup phi'|, |inf phi'|) <= {M:.12g}, proved "
                                 f"(sup phi' {show(b.sup)}, inf phi' {show(b.inf)}; {b.method}); "
                                 f"the bound uses the upper end of the enclosure")
        except Exception as exc:  # noqa: BLE001 - any failure of the prover falls back, and says so
            reason = f"the prover gave no bound ({type(exc).__name__}: {exc})"
    M = _grid_sup_abs_dphi(act)
    return M, "not proved", (f"sup|phi'| ~ {M:.12g} estimated on a grid over [-60, 60] and at +-1e6, NOT proved: "
                             f"{reason}")


def _grid_sup_abs_dphi(act: BoundActivation) -> float:
    g = numpy_function(act, 1)
    kinks = set(_kinks(act))
    xs = np.concatenate([np.linspace(-60, 60, 240001), [-1e6, 1e6]])
    xs = xs[[x not in kinks for x in xs]]
    ys = np.abs(g(xs))
    return float(np.max(ys[np.isfinite(ys)])) if np.any(np.isfinite(ys)) else math.inf


def _float_moment(value: sp.Expr) -> tuple[float, str]:
    value = sp.sympify(value)
    return float(value), "quad" if value.is_Float else "exact"  # distributions give a Float only from quadrature


@functools.lru_cache(maxsize=1024)
def _per_layer(act: BoundActivation, weights: Distribution, preact: Distribution) -> tuple[dict, tuple]:
    mo = weights.moments()
    Ew, mw = _float_moment(mo.mean)
    Eaw, maw = _float_moment(mo.mean_abs)
    Ew2, mw2 = _float_moment(mo.mean_square)
    Elw, mlw = _float_moment(mo.mean_log_abs)
    pe = {fn: _preact(act, fn, preact) for fn in ("dphi", "dphi2", "log_abs_dphi")}
    M, sup_method, sup_text = _sup_abs_dphi(act)
    b = Eaw * M if Eaw != 0 else 0.0
    m = Ew * pe["dphi"].value
    ms = Ew2 * pe["dphi2"].value
    t = Elw + pe["log_abs_dphi"].value if -math.inf not in (Elw, pe["log_abs_dphi"].value) else -math.inf
    per = {
        "bound": {"value": b, "log": log_or_minus_inf(b), "E|w|": Eaw, "sup|phi'|": M,
                  "method": f"E|w|: {maw}; sup|phi'|: {sup_method}"},
        "mean": {"value": m, "log": log_or_minus_inf(abs(m)), "E[w]": Ew, "E[phi'(v)]": pe["dphi"].value,
                 "error": abs(Ew) * pe["dphi"].error, "method": f"E[w]: {mw}; E[phi'(v)]: {pe['dphi'].method}"},
        "mean_square": {"value": ms, "log": log_or_minus_inf(ms), "E[w^2]": Ew2, "E[phi'(v)^2]": pe["dphi2"].value,
                        "error": Ew2 * pe["dphi2"].error,
                        "method": f"E[w^2]: {mw2}; E[phi'(v)^2]: {pe['dphi2'].method}"},
        "typical": {"value": exp_or_inf(t), "log": t, "E log|w|": Elw, "E log|phi'(v)|": pe["log_abs_dphi"].value,
                    "error": pe["log_abs_dphi"].error,
                    "method": f"E log|w|: {mlw}; E log|phi'(v)|: {pe['log_abs_dphi'].method}"},
    }
    fl = mo.floats()
    assumptions = (
        "chain model: r layers of one neuron, v_t = w_t y_{t-1} + b_t, y_t = phi(v_t); "
        "d y_r / d y_0 = prod_t w_t phi'(v_t)",
        f"weights i.i.d. {weights.spec}: E[w] = {fl['mean']:.6g}, E|w| = {fl['mean_abs']:.6g}, "
        f"E[w^2] = {fl['mean_square']:.6g}, E log|w| = {fl['mean_log_abs']:.6g}",
        "bound: (E|w| sup|phi'|)^r holds for any pre-activations, independent or not; " + sup_text,
        f"independence approximation: pre-activations v_t i.i.d. {preact.spec}, independent of the weights "
        f"(the exact chain, where v_t depends on w_t and y_(t-1), is what Monte Carlo measures)",
        f"one-layer expectations over v ~ {preact.spec}: E[phi'(v)] ({pe['dphi'].method}), "
        f"E[phi'(v)^2] ({pe['dphi2'].method}), E log|phi'(v)| ({pe['log_abs_dphi'].method})",
        "typical = exp(r E[log|w phi'(v)|]) is the median of the log-normal-like product; it can differ from the "
        "mean by orders of magnitude",
    )
    if act.kinks and isinstance(preact, Constant):
        assumptions += ("at a kink phi' takes PyTorch's autograd value (the declared convention)",)
    return per, assumptions


def gradient_product(act: Activation | str, depth: int, weights: str | Distribution,
                     preact: str | Distribution = STANDARD_NORMAL, threshold: float = 1e-6,
                     params: dict | None = None) -> GradientProduct:
    """Deprecated former name of :func:`independence_product` (the independence approximation, not the network's
    exact chain); emits a :class:`DeprecationWarning` naming the new function."""
    warnings.warn("gradient_product is deprecated: call independence_product (the independence approximation; "
                  "the network's exact chain is exact_chain)", DeprecationWarning, stacklevel=2)
    return independence_product(act, depth, weights, preact=preact, threshold=threshold, params=params)


def independence_product(act: Activation | str, depth: int, weights: str | Distribution,
                         preact: str | Distribution = STANDARD_NORMAL, threshold: float = 1e-6,
                         params: dict | None = None) -> GradientProduct:
    r"""Bound, mean, mean square and typical value of :math:`\prod_{t=1}^r w_t \varphi'(v_t)` at depth r.

    * bound :math:`(E|w| \sup|\varphi'|)^r` with the proved :math:`\sup|\varphi'|` (upper end of its enclosure);
    * :math:`E[\prod] = (E[w] E[\varphi'(v)])^r`, :math:`E[\prod^2] = (E[w^2] E[\varphi'(v)^2])^r`
      (independence approximation);
    * typical :math:`\exp(r E[\log|w \varphi'(v)|])`;
    * for each, the first depth at which it falls below ``threshold``.

    Raises :class:`~analytic.errors.DepthError` unless ``1 <= depth <= 10**6`` is an integer.

    >>> g = independence_product("sigmoid", 10, "constant(1)", preact="constant(0)")
    >>> g.bound == g.mean == 0.25**10, g.depth_to_threshold["bound"]
    (True, 10)
    """
    depth = canonical_int("depth", depth, 1, MAX_DEPTH, DepthError)
    threshold = _canonical_threshold(threshold)
    act = resolve(act, params)
    w, v = scalar(distribution(weights)), scalar(distribution(preact), "pre-activations")
    per, assumptions = _per_layer(act, w, v)
    log_bound = _scale(depth, per["bound"]["log"])
    log_mean = _scale(depth, per["mean"]["log"])
    m1 = per["mean"]["value"]
    sign = 0 if m1 == 0 else (1 if m1 > 0 or depth % 2 == 0 else -1)
    log_ms = _scale(depth, per["mean_square"]["log"])
    log_typ = _scale(depth, per["typical"]["log"])
    require_finite(f"{act.name}: the independence approximation", "an integral over the pre-activation law "
                   "diverged or overflowed", mean=log_mean, mean_square=log_ms, typical=log_typ, bound=log_bound)
    to_threshold = {k: first_depth_below(per[k]["log"], threshold) for k in ("bound", "mean", "mean_square", "typical")}
    assumptions = assumptions + (
        f"depth_to_threshold: smallest r with the quantity < {threshold:g} (|E[prod]| for the mean; "
        f"E[prod^2] itself for the mean square)",)
    return GradientProduct(
        depth=depth, log_bound=log_bound, log_mean_abs=log_mean, mean_sign=sign, log_mean_square=log_ms,
        log_typical=log_typ, bound=exp_or_inf(log_bound), mean=sign * exp_or_inf(log_mean),
        mean_square=exp_or_inf(log_ms), typical=exp_or_inf(log_typ), depth_to_threshold=to_threshold,
        threshold=threshold, per_layer=per, assumptions=assumptions, activation=act.name, weights=w.spec,
        preact=v.spec, formulas=dict(FORMULAS))
