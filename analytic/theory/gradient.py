r"""What the ``gradient`` command reports: the exact chain first, then the crude bound and the independence
approximation, labelled as such, with the ratio between the approximation and the exact value.

* **exact chain** (:func:`analytic.theory.chain.exact_chain`): the network the user describes, :math:`y_0 = x`,
  :math:`v_t = w_t y_{t-1} + b_t`;
* **crude bound** :math:`E|\prod| \le (E|w|\sup|\varphi'|)^r`, valid for any pre-activation law;
* **independence approximation** (:func:`analytic.theory.independence.independence_product`): :math:`v_t` drawn from a stated
  law independently of the weights, :math:`E[\prod] = (E[w]E[\varphi'(v)])^r`, and so on.

>>> g = gradient("sigmoid", 10, "normal(1, 0.5)")
>>> f"{g.exact_chain['mean'].value:.9e}", g.exact_chain.method
('1.120571837e-07', 'transfer operator')
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..architecture import Architecture, canonical_architecture
from ..core.display import displayable, quantity_rows, quantity_text
from ..core.calculus import resolve
from ..errors import ArgumentError
from ..distributions import Distribution
from ..quantities import LINEAR, NAMES, STANDARD_NORMAL, QuantitySeries, exp_or_inf
from .independence import GradientProduct, independence_product
from ..core.registry import Activation
from .chain import ChainExpectations, exact_chain
from .recurrent import Pascanu, recurrent_chain
from .undefined import checked_chain

#: The exact-chain quantity each independence formula approximates: (independence key, its log, exact quantity).
PAIRS = (("mean", "log_mean_abs", "mean"), ("mean_square", "log_mean_square", "mean_square"),
         ("typical", "log_typical", "log_mean"))


@displayable(title=lambda g: f"gradient product of {g.activation}, depth {g.depth}, weights {g.weights}: the exact "
                             "chain first, then the crude bound and the independence approximation (not the network)",
             name="Gradient",
             headline=(("act", lambda g: g.activation), ("r", lambda g: g.depth),
                       ("exact_mean", lambda g: quantity_text(g.exact_chain.quantities["mean"])),
                       ("independence_mean", lambda g: g.independence.mean)),
             summary=lambda g: {**{f"exact chain: {q}": quantity_text(v) for q, v in g.exact_chain.quantities.items()},
                                "crude bound: E|prod| <=": g.bound,
                                **{f"independence approximation: {q}": getattr(g.independence, q)
                                   for q in ("mean", "mean_square", "typical")}},
             rows=lambda g: quantity_rows(g.exact_chain.quantities, model="exact chain") + [
                 {"model": "crude bound", "quantity": "mean_abs", "value": g.bound, "error": None, "converged": True,
                  "reason": None}] + [
                 {"model": "independence approximation", "quantity": q, "value": getattr(g.independence, q),
                  "error": None, "converged": True, "reason": None} for q in ("mean", "mean_square", "typical")])
@dataclass(frozen=True)
class Gradient:
    r"""The exact chain, the crude bound and the independence approximation at depth r.

    ``exact_chain`` is vetted (:func:`vetted`): a quantity that missed the tolerance is withheld with its reason.
    ``ratios[k]`` is independence / exact for ``mean``, ``mean_square`` and ``typical`` (compared with
    :math:`\exp E[\log|\prod| \mid \prod \ne 0]` of the exact chain; None where the exact value is withheld);
    ``depth_to_threshold`` holds, per model, the first depth below the threshold (for the exact chain only depths
    1…r are known: ``None`` means not below by depth r, or not known because a value before it is withheld — then
    ``depth_to_threshold["exact_chain_withheld"][k]`` says where and why).
    A quantity that has no value at all (an integral diverged or overflowed, or ``log_mean`` when every product
    is 0) is withheld first, with the reason in ``exact_chain.notes`` (:mod:`analytic.theory.undefined`).
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


def _tolerance_limits(exact: ChainExpectations) -> dict[str, tuple]:
    r"""Per quantity, the log of the largest absolute error the exact chain allows at each depth, and how it is set:
    ``exact.tolerance`` relative to the value (to :math:`E|\prod|` for :math:`E[\prod]`, which may vanish by
    symmetry), absolute for the plain numbers ``log_mean`` and ``zero_probability``."""
    import numpy as np

    tol = exact.tolerance
    log_tol = math.log(tol)
    out = {}
    for q in NAMES:
        series = exact.by_depth[q]
        if q in LINEAR:
            out[q] = (np.full(len(series), log_tol), "absolute")
        else:
            ref = exact.by_depth["mean_abs" if q == "mean" else q].log_abs
            out[q] = (log_tol + np.asarray(ref, float), f"relative {tol:g}" + (" of E|prod|" if q == "mean" else ""))
    return out


def _agrees(series: QuantitySeries, log_limit) -> bool:
    """True when ``log_limit`` reproduces the series' own verdicts: converged exactly where the error is exact or
    at most the limit (an undefined error, nan, counts as agreeing)."""
    import numpy as np

    le = np.asarray(series.log_error, float)
    with np.errstate(invalid="ignore"):
        ok = (le == -np.inf) | (le <= log_limit)
    defined = ~np.isnan(le)
    return bool(np.array_equal(np.asarray(series.converged, bool)[defined], ok[defined]))


def vetted(exact: ChainExpectations) -> ChainExpectations:
    r"""The exact chain with every quantity that missed the tolerance withheld with a reason naming the tolerance
    it missed. Series that already carry their limits are kept as they are; a limit that does not reproduce the
    chain's own verdicts at every depth is not quoted (the reason then gives the error alone), so a reason never
    names a tolerance the chain did not apply.

    >>> c = vetted(exact_chain("sigmoid", 3, "normal(1, 0.5)"))
    >>> c["mean"].withheld, c["mean"].reason
    (False, None)
    """
    limits = _tolerance_limits(exact)
    by = {}
    for q, series in exact.by_depth.items():
        if q in limits and series.log_limit is None and _agrees(series, limits[q][0]):
            series = dataclasses.replace(series, log_limit=limits[q][0], tolerance=limits[q][1])
        by[q] = series
    return dataclasses.replace(exact, by_depth=by, quantities={q: by[q][-1] for q in exact.quantities})


def _first_below(series: QuantitySeries, threshold: float, typical: bool = False) -> tuple[int | None, str | None]:
    """(the first depth, 1-based, where the quantity — for ``typical``: exp of the log mean — is below threshold,
    None if none) and None; or (None, reason) when a depth before the first one below is withheld, so the answer
    is not known."""
    import numpy as np

    log_t = math.log(threshold)
    if typical:
        lm = np.exp(np.clip(series.log_abs, -800, 800)) * series.sign  # the log mean itself
        below = lm < log_t
    else:
        below = (series.sign == 0) | (series.log_abs < log_t)
    withheld = series.withheld
    first = int(np.argmax(below | withheld)) if (below | withheld).any() else None
    if first is not None and withheld[first]:
        return None, f"not converged at r = {first + 1} ({series[first].reason})"
    return (None if first is None else first + 1), None


def _ratios(exact: ChainExpectations, ind: GradientProduct) -> dict:
    """Independence / exact for ``mean``, ``mean_square`` and ``typical``; None where either side is not finite or
    the exact value is withheld."""
    out = {}
    for name, log_key, q in PAIRS:
        e = exact[q]
        if e.withheld:
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


def _exact_reach(exact: ChainExpectations, t: float) -> dict:
    """The first depth at which each exact quantity (mean, mean_abs, mean_square, typical = exp E log) falls below
    ``t`` (``exact_chain``), and why it is unknown where a value before it is withheld (``exact_chain_withheld``)."""
    found = {k: _first_below(exact.by_depth[q], t, typical=k == "typical")
             for k, q in (("mean", "mean"), ("mean_abs", "mean_abs"), ("mean_square", "mean_square"),
                          ("typical", "log_mean"))}
    return {"exact_chain": {k: d for k, (d, _) in found.items()},
            "exact_chain_withheld": {k: why for k, (_, why) in found.items() if why is not None}}


def gradient(act: Activation | str, depth: int, weights: str | Distribution, x: float = 1.0,
             bias: str | Distribution | None = None, preact: str | Distribution = STANDARD_NORMAL,
             threshold: float = 1e-6, params: dict | None = None, architecture=None) -> Gradient:
    r"""The gradient product :math:`\prod_t w_t\varphi'(v_t)` of the chain at depth r: exact, bounded, approximated.

    ``architecture=recurrent(inputs)``: the tied-weight chain instead (:func:`recurrent_gradient`); a residual
    ``architecture`` gives a :class:`ResidualGradient` (:func:`residual_gradient`).
    Raises :class:`~analytic.errors.DepthError` unless ``1 <= depth <= 10**6``.
    """
    arch = canonical_architecture(architecture)
    if arch.kind == "recurrent":
        if bias is not None:
            raise ArgumentError("the recurrent chain has no bias (h_t = phi(w h_(t-1) + x_t)); give the inputs' law "
                                "in recurrent(inputs=...)")
        return recurrent_gradient(act, depth, weights, x, arch, threshold, params)
    if arch.kind == "residual":
        return residual_gradient(act, depth, weights, arch, x, bias, preact, threshold, params)
    act = resolve(act, params)
    ind = independence_product(act, depth, weights, preact=preact, threshold=threshold)
    exact = vetted(checked_chain(exact_chain(act, depth, weights, x=x, bias=bias)))
    t = ind.threshold
    reach = {**_exact_reach(exact, t), "bound": ind.depth_to_threshold["bound"],
             "independence": {k: v for k, v in ind.depth_to_threshold.items() if k != "bound"}}
    assumptions = (
        f"exact chain: y_0 = x = {exact.x:g}, v_t = w_t y_(t-1) + b_t, y_t = phi(v_t), w_t i.i.d. {exact.weights}"
        + (f", b_t i.i.d. {exact.bias}" if exact.bias else ", no bias")
        + f"; computed by {exact.method} (no sampling)",
        *exact.notes,
        f"exact-chain depth_to_threshold: the first depth in 1..{depth} below {t:g}, null if none or if a value "
        "before it is not converged (then exact_chain_withheld says where)",
        *ind.assumptions,
    )
    return Gradient(exact.activation, exact.depth, exact.weights, exact.bias, exact.x, t, exact, ind,
                    _ratios(exact, ind), reach, assumptions)


# ---------------------------------------------------------------- the recurrent (tied-weight) chain

#: Why the independence approximation is left out for the recurrent chain.
NO_INDEPENDENCE = ("the independence approximation (v_t drawn independently of i.i.d. weights) is about the plain "
                   "chain, not this network: one weight is shared by every step, so the factors w phi'(v_t) are "
                   "dependent through w and the formulas (E[w] E[phi'(v)])^T do not apply")


@dataclass(frozen=True)
class RecurrentGradient:
    r"""The tied-weight chain at depth T: its exact values (``exact_chain``, vetted), Pascanu's bound and the
    probability that its sufficient condition holds (``pascanu``), the first depths below the threshold; the
    independence approximation is left out (:data:`NO_INDEPENDENCE`)."""

    activation: str
    depth: int
    weights: str
    x: float
    threshold: float
    exact_chain: ChainExpectations
    pascanu: Pascanu
    architecture: Architecture
    depth_to_threshold: dict
    assumptions: tuple

    @property
    def bound(self) -> float:
        return self.pascanu.bound

    def as_dict(self) -> dict:
        """JSON as the plain chain's (``independence`` null, with ``independence_omitted`` saying why), plus
        ``architecture`` and ``pascanu`` {``bound``, ``sufficient_probability``, ...}."""
        return {"activation": self.activation, "depth": self.depth, "weights": self.weights, "bias": None,
                "x": self.x, "threshold": self.threshold, "exact_chain": self.exact_chain.as_dict(),
                "bound": self.bound, "log_bound": self.pascanu.log_bound, "independence": None,
                "independence_omitted": NO_INDEPENDENCE, "ratios": {}, "depth_to_threshold": self.depth_to_threshold,
                "assumptions": list(self.assumptions), "architecture": self.architecture.to_json(),
                "pascanu": self.pascanu.as_dict()}


def recurrent_gradient(act, depth: int, weights: str | Distribution, x: float = 1.0,
                       architecture: Architecture | None = None, threshold: float = 1e-6,
                       params: dict | None = None) -> RecurrentGradient:
    r"""What ``gradient --tied`` reports: the exact tied chain (:func:`~analytic.theory.recurrent.recurrent_chain`)
    with Pascanu's bound beside it.

    >>> from analytic.architecture import recurrent
    >>> g = recurrent_gradient("identity", 3, "uniform(0, 2)", architecture=recurrent())
    >>> round(g.exact_chain["mean"].value, 12), g.pascanu.sufficient_probability  # E[w^3], P(|w| < 1)
    (2.0, 0.5)
    """
    from ..errors import canonical_float

    arch = canonical_architecture(architecture)
    if arch.kind != "recurrent":
        raise ArgumentError("recurrent_gradient needs architecture=recurrent(...)")
    t = canonical_float("threshold", threshold, 0, open_low=True)
    exact = vetted(checked_chain(recurrent_chain(act, depth, weights, x=x, inputs=arch.inputs, params=params)))
    p = exact.pascanu
    reach = _exact_reach(exact, t)
    assumptions = (
        f"recurrent chain ({arch.describe()}): " + exact.notes[0] + f"; computed by {exact.method} (no sampling)",
        *exact.notes[1:],
        f"Pascanu's bound: |prod| <= (|w| sup|phi'|)^T, so E|prod| <= sup|phi'|^T E|w|^T (the law's absolute "
        f"moment of order T, exactly) and |w| < 1/sup|phi'| suffices for vanishing; {p.sup_text}",
        NO_INDEPENDENCE,
    )
    return RecurrentGradient(exact.activation, exact.depth, exact.weights, exact.x, t, exact, p, arch, reach,
                             assumptions)


# ---------------------------------------------------------------- the residual chain

@dataclass(frozen=True)
class ResidualGradient:
    r"""The exact residual chain (vetted: a quantity that missed its tolerance is withheld with its reason), the
    residual crude bound :math:`E|\prod| \le (1 + |\alpha| E|w| \sup|\varphi'|)^r` (each factor
    :math:`|1 + \alpha w_t\varphi'| \le 1 + |\alpha||w_t|\sup|\varphi'|`, a function of :math:`w_t` alone, and the
    weights are independent), and the residual independence approximation: the argument of φ′ drawn from
    ``preact`` independently of the weights, :math:`E[\prod] = (1 + \alpha E[w]E[\varphi'])^r`,
    :math:`E[\prod^2] = (1 + 2\alpha E[w]E[\varphi'] + \alpha^2 E[w^2]E[\varphi'^2])^r`."""

    activation: str
    depth: int
    weights: str
    bias: str | None
    x: float
    threshold: float
    architecture: object
    alpha: float
    exact_chain: ChainExpectations
    bound: float
    log_bound: float
    independence: dict
    ratios: dict
    depth_to_threshold: dict
    assumptions: tuple

    def as_dict(self) -> dict:
        return {"activation": self.activation, "depth": self.depth, "weights": self.weights, "bias": self.bias,
                "x": self.x, "threshold": self.threshold, "architecture": self.architecture.to_json(),
                "alpha": self.alpha, "exact_chain": self.exact_chain.as_dict(), "bound": self.bound,
                "log_bound": self.log_bound, "independence": self.independence, "ratios": dict(self.ratios),
                "depth_to_threshold": self.depth_to_threshold, "assumptions": list(self.assumptions)}


def _log_power(depth: int, base: float) -> tuple[float, int]:
    """(log|base^r|, sign)."""
    if base == 0:
        return -math.inf, 0
    return depth * math.log(abs(base)), (1 if base > 0 or depth % 2 == 0 else -1)


def residual_gradient(act, depth: int, weights, architecture, x: float = 1.0, bias=None,
                      preact: str = "normal(0, 1)", threshold: float = 1e-6, params: dict | None = None
                      ) -> ResidualGradient:
    r"""What ``gradient --residual`` reports: the exact residual chain, its crude bound and the residual
    independence approximation, with the first depth each falls below ``threshold``."""
    act = resolve(act, params)
    plain = independence_product(act, depth, weights, preact=preact, threshold=threshold)
    exact = vetted(checked_chain(exact_chain(act, depth, weights, x=x, bias=bias, architecture=architecture)))
    alpha = architecture.alpha_at(exact.depth)
    t = plain.threshold
    per = plain.per_layer
    ew, eaw, ew2 = per["mean"]["E[w]"], per["bound"]["E|w|"], per["mean_square"]["E[w^2]"]
    sup, ed, ed2 = per["bound"]["sup|phi'|"], per["mean"]["E[phi'(v)]"], per["mean_square"]["E[phi'(v)^2]"]
    b1 = 1.0 + abs(alpha) * eaw * sup
    log_bound = depth * math.log(b1) if math.isfinite(b1) else math.inf
    m1 = 1.0 + alpha * ew * ed
    m2 = 1.0 + 2 * alpha * ew * ed + alpha * alpha * ew2 * ed2
    lm, sm = _log_power(depth, m1)
    lms, _ = _log_power(depth, m2)
    ind = {"preact": plain.preact, "mean": sm * exp_or_inf(lm), "log_mean_abs": lm, "mean_sign": sm,
           "mean_square": exp_or_inf(lms), "log_mean_square": lms, "per_layer": {"mean": m1, "mean_square": m2},
           "formulas": {"mean": "(1 + alpha E[w] E[phi'(v)])^r",
                        "mean_square": "(1 + 2 alpha E[w] E[phi'(v)] + alpha^2 E[w^2] E[phi'(v)^2])^r"},
           "typical": None,
           "typical_reason": "E log|1 + alpha w phi'(v)| is not a function of the moments the approximation uses"}
    ratios = {}
    for key, log_ind, sign_ind, q in (("mean", lm, sm, "mean"), ("mean_square", lms, 1, "mean_square")):
        e = exact[q]
        if e.withheld or not (math.isfinite(log_ind) and math.isfinite(e.log_abs)) or e.sign == 0:
            ratios[key] = None
        else:
            d = log_ind - e.log_abs
            ratios[key] = sign_ind * e.sign * (math.exp(d) if d < 709 else math.inf)
    reach_bound = 1 if b1 < t else None  # b1 >= 1: the bound b1^k never decreases with k
    reach = {**_exact_reach(exact, t), "bound": reach_bound, "independence": None}
    assumptions = (
        f"exact residual chain: {architecture.describe()}, alpha = {alpha:.17g} at depth {exact.depth}; y_0 = x = "
        f"{exact.x:g}, w_t i.i.d. {exact.weights}" + (f", b_t i.i.d. {exact.bias}" if exact.bias else ", no bias")
        + f"; computed by {exact.method} (no sampling)",
        *exact.notes,
        f"exact-chain depth_to_threshold: the first depth in 1..{depth} below {t:g}, null if none or if a value "
        "before it is not converged (then exact_chain_withheld says where)",
        f"crude bound: E|prod| <= (1 + |alpha| E|w| sup|phi'|)^r with E|w| = {eaw:.6g}, sup|phi'| = {sup:.6g}; "
        "it is at least 1 and says nothing about vanishing",
        f"independence approximation (NOT this network): the argument of phi' drawn from {plain.preact} "
        f"independently of w_t, E[w] = {ew:.6g}, E[w^2] = {ew2:.6g}, E[phi'(v)] = {ed:.6g}, "
        f"E[phi'(v)^2] = {ed2:.6g}; no typical value (E log|1 + alpha w phi'(v)| is not among these moments)",
    )
    return ResidualGradient(exact.activation, exact.depth, exact.weights, exact.bias, exact.x, t, architecture, alpha,
                            exact, b1 ** depth if log_bound < 709 else math.inf, log_bound, ind, ratios, reach,
                            assumptions)
