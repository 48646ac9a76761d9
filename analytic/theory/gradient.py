r"""What the ``gradient`` command reports: the exact chain first, then the crude bound and the independence
approximation, labelled as such, with the ratio between the approximation and the exact value.

* **exact chain** (:func:`analytic.theory.chain.exact_chain`): the network the user describes, :math:`y_0 = x`,
  :math:`v_t = w_t y_{t-1} + b_t`;
* **crude bound** :math:`E|\prod| \le (E|w|\sup|\varphi'|)^r`, valid for any pre-activation law;
* **independence approximation** (:func:`analytic.theory.independence.gradient_product`): :math:`v_t` drawn from a stated
  law independently of the weights, :math:`E[\prod] = (E[w]E[\varphi'(v)])^r`, and so on.

>>> g = gradient("sigmoid", 10, "normal(1, 0.5)")
>>> f"{g.exact_chain['mean'].value:.9e}", g.exact_chain.method
('1.120571837e-07', 'transfer operator')
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.calculus import resolve
from ..distributions import Distribution
from ..quantities import STANDARD_NORMAL
from .independence import GradientProduct, gradient_product
from ..core.registry import Activation
from .chain import ChainExpectations, exact_chain
from .undefined import checked_chain

#: The exact-chain quantity each independence formula approximates: (independence key, its log, exact quantity).
PAIRS = (("mean", "log_mean_abs", "mean"), ("mean_square", "log_mean_square", "mean_square"),
         ("typical", "log_typical", "log_mean"))


@dataclass(frozen=True)
class Gradient:
    r"""The exact chain, the crude bound and the independence approximation at depth r.

    A quantity of the exact chain that has no value (an integral diverged or overflowed, or ``log_mean`` when every
    product is 0) is withheld with the reason in ``exact_chain.notes`` (:mod:`analytic.theory.undefined`), and so
    are its ratio and depth to threshold.

    ``ratios[k]`` is independence / exact for ``mean``, ``mean_square`` and ``typical`` (the typical value of the
    exact chain is :math:`\exp E[\log|\prod| \mid \prod \ne 0]`); ``depth_to_threshold`` holds, per model, the
    first depth below the threshold (for the exact chain only depths 1…r are known: ``None`` means not below by
    depth r).
    """

    activation: str
    depth: int
    weights: str
    bias: str | None
    x: float
    threshold: float
    exact_chain: ChainExpectations
    independence: GradientProduct
    ratios: dict
    depth_to_threshold: dict
    assumptions: tuple

    @property
    def bound(self) -> float:
        return self.independence.bound

    def as_dict(self) -> dict:
        """JSON form: ``exact_chain`` (quantities ``{"value", "error"}``, ``method``, …), ``bound``, ``log_bound``,
        ``independence`` (the approximation's own keys), ``ratios``, ``depth_to_threshold``, ``assumptions``."""
        ind = self.independence.as_dict()
        return {"activation": self.activation, "depth": self.depth, "weights": self.weights, "bias": self.bias,
                "x": self.x, "threshold": self.threshold, "exact_chain": self.exact_chain.as_dict(),
                "bound": self.bound, "log_bound": self.independence.log_bound, "independence": ind,
                "ratios": dict(self.ratios), "depth_to_threshold": self.depth_to_threshold,
                "assumptions": list(self.assumptions)}


def _first_below(series, threshold: float, typical: bool = False) -> int | None:
    """The first depth (1-based) where the quantity (for ``typical``: exp of the log mean) is below threshold."""
    import numpy as np

    log_t = math.log(threshold)
    known = ~np.isnan(series.log_abs)  # a withheld depth (checked_chain) is neither below nor above
    with np.errstate(invalid="ignore"):
        if typical:
            lm = np.exp(np.clip(series.log_abs, -800, 800)) * series.sign  # the log mean itself
            below = known & (lm < log_t)
        else:
            below = known & ((series.sign == 0) | (series.log_abs < log_t))
    if not below.any():
        return None
    first = int(np.argmax(below))
    return first + 1 if known[:first].all() else None


def _ratios(exact: ChainExpectations, ind: GradientProduct) -> dict:
    out = {}
    for name, log_key, q in PAIRS:
        e = exact[q]
        if math.isnan(e.log_abs):  # withheld (checked_chain): no ratio
            out[name] = None
            continue
        log_exact = e.value if q == "log_mean" else e.log_abs
        log_ind = getattr(ind, log_key)
        if not (math.isfinite(log_exact) and math.isfinite(log_ind)):
            out[name] = None
            continue
        d = log_ind - log_exact
        sign = (ind.mean_sign * e.sign) if name == "mean" else 1
        out[name] = sign * math.exp(d) if d < 709 else sign * math.inf
    return out


def gradient(act: Activation | str, depth: int, weights: str | Distribution, x: float = 1.0,
             bias: str | Distribution | None = None, preact: str | Distribution = STANDARD_NORMAL,
             threshold: float = 1e-6, params: dict | None = None) -> Gradient:
    r"""The gradient product :math:`\prod_t w_t\varphi'(v_t)` of the chain at depth r: exact, bounded, approximated.

    Raises :class:`~analytic.errors.DepthError` unless ``1 <= depth <= 10**6``.
    """
    act = resolve(act, params)
    ind = gradient_product(act, depth, weights, preact=preact, threshold=threshold)
    exact = checked_chain(exact_chain(act, depth, weights, x=x, bias=bias))
    t = ind.threshold
    reach = {"exact_chain": {"mean": _first_below(exact.by_depth["mean"], t),
                             "mean_abs": _first_below(exact.by_depth["mean_abs"], t),
                             "mean_square": _first_below(exact.by_depth["mean_square"], t),
                             "typical": _first_below(exact.by_depth["log_mean"], t, typical=True)},
             "bound": ind.depth_to_threshold["bound"],
             "independence": {k: v for k, v in ind.depth_to_threshold.items() if k != "bound"}}
    assumptions = (
        f"exact chain: y_0 = x = {exact.x:g}, v_t = w_t y_(t-1) + b_t, y_t = phi(v_t), w_t i.i.d. {exact.weights}"
        + (f", b_t i.i.d. {exact.bias}" if exact.bias else ", no bias")
        + f"; computed by {exact.method} (no sampling)",
        *exact.notes,
        f"exact-chain depth_to_threshold: the first depth in 1..{depth} below {t:g}, null if none",
        *ind.assumptions,
    )
    return Gradient(exact.activation, exact.depth, exact.weights, exact.bias, exact.x, t, exact, ind,
                    _ratios(exact, ind), reach, assumptions)
