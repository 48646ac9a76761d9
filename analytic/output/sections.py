r"""The data of the derivation report, one :class:`ActivationSection` per activation, collected from the library.

For one activation :func:`section` gathers φ and φ′ (SymPy, via :mod:`analytic.core.calculus`), the proved sup
and inf of φ′ with the proof steps (:mod:`analytic.bounds`), the gradient product across depth — crude bound,
:math:`|E\prod|`, :math:`E[\prod^2]`, :math:`e^{E\log|\prod|}` — for the chain with weights
:data:`~analytic.output.panels.CHAIN_WEIGHTS`, exact (:mod:`analytic.theory.chain`) and under the independence
approximation (:mod:`analytic.theory.independence`), and a Monte Carlo check of the mean at depth
:data:`MC_DEPTH` with its z-score (:mod:`analytic.mc`, :mod:`analytic.compare`). Every number is printed with
:data:`DIGITS` significant digits (:func:`num`). :data:`OVERVIEW` lists the figures shown before the sections, with their captions.

>>> num(1 / 3)
'0.333333'
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..bounds.proof import Step, tex_expr
from ..core.calculus import derivative
from ..core.registry import BoundActivation
from ..errors import AnalyticError
from .budget import DEFAULT, Budget
from .panels import CHAIN_WEIGHTS, PREACT

#: Depths of the gradient table.
REPORT_DEPTHS = (1, 5, 10, 20, 50)
#: Depth of the Monte Carlo check.
MC_DEPTH = 10
#: Significant digits of every number in the report.
DIGITS = 6
#: Figures shown in the overview, before the per-activation sections (each with its caption).
OVERVIEW = (
    ("activations", "Every activation of the catalogue: φ (solid), φ′ (dashed) and the proved sup of φ′ (dotted)."),
    ("gradient_depth", "Gradient magnitude across depth: the exact chain's mean and exp(E log|∏|) where they "
                       "converged (a value that missed its tolerance is not drawn; a note under the panel says where), "
                       "Monte Carlo of the same chain (mean and simulated median with 95 % bands), the crude bound, "
                       "and the independence approximation as thin lines."),
    ("preactivation_law", "The law of the pre-activation v_t in the exact chain (mean ± sd) against the N(0, 1) the "
                          "independence approximation assumes."),
    ("histogram", "Distribution of log10|∏ w_t φ′(v_t)|: the mean sits orders of magnitude above the typical value."),
    ("phase_diagram", "Mean-field phase diagrams: tanh's critical line χ₁ = 1 separates vanishing from exploding "
                      "gradients, with contours of the correlation depth ξ_c; ReLU's own diagram has the single "
                      "critical point σ_w² = 2, σ_b² = 0 (He)."),
    ("dying_relu", "Dying ReLU: the fraction of units with negative pre-activation against the bias mean."),
    ("softmax_jacobian", "Softmax Jacobian entries and norms at random logits against the proved bounds."),
    ("isometry", "Dynamical isometry: singular values of the input-output Jacobian at criticality; orthogonal "
                 "weights keep tanh's spectrum narrow, ReLU's spreads with depth in both ensembles."),
    ("finite_width", "Finite width: ReLU's typical gradient rate per layer, exact χ² law against the large-width "
                     "approximation and real networks."),
)


def num(value: float) -> str:
    """A float with :data:`DIGITS` significant digits (``inf``/``nan`` spelled out)."""
    if value is None:
        return "–"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return f"{value:.{DIGITS}g}"


# ---------------------------------------------------------------- the data of one section

@dataclass(frozen=True)
class GradientRow:
    r"""One row of the gradient tables: depth, crude bound; the exact chain's :math:`E\prod`, :math:`E[\prod^2]`
    and :math:`e^{E\log|\prod|}` (None where the value is withheld: not converged); the independence
    approximation's :math:`E\prod`, :math:`E[\prod^2]` and :math:`e^{rE\log|w\varphi'(v)|}` (``mean``,
    ``mean_square``, ``typical``)."""

    depth: int
    bound: float
    mean: float
    mean_square: float
    typical: float
    exact_mean: float | None = math.nan
    exact_mean_square: float | None = math.nan
    exact_typical: float | None = math.nan

    @staticmethod
    def ratio(a: float, b: float | None) -> float | None:
        """a / b (nan where b is 0, None where b is withheld)."""
        if b is None:
            return None
        return a / b if b else math.nan


@dataclass(frozen=True)
class MonteCarloCheck:
    """The simulated mean of the product at one depth against the analytic one, for one model."""

    model: str
    depth: int
    samples: int
    seed: int
    analytic: float | None  # None: the analytic value is withheld (not converged), so there is no z-score
    simulated: float
    stderr: float
    z: float
    agree: bool
    median: float


@dataclass(frozen=True)
class ActivationSection:
    """Everything the report says about one activation."""

    name: str
    doc: str
    reference: str
    params: tuple[tuple[str, str], ...]
    phi_latex: str
    dphi_latex: str
    kinks: tuple[tuple[str, str], ...]
    sup: dict | None
    inf: dict | None
    method: str
    proof: tuple[Step | str, ...]
    gradient: tuple[GradientRow, ...]
    checks: tuple[MonteCarloCheck, ...]
    figure: str
    notes: tuple[str, ...] = ()


def _extremum(ext) -> dict:
    value = 0.5 * (float(ext.lower) + float(ext.upper))
    return {"exact": None if ext.exact is None else str(ext.exact),
            "exact_latex": None if ext.exact is None else tex_expr(ext.exact),
            "at_latex": ext.at_latex, "value": value, "lower": float(ext.lower), "upper": float(ext.upper),
            "attained": bool(ext.attained), "at": str(ext.at)}


def section(act: BoundActivation, budget: Budget = DEFAULT, fmt: str = "png") -> ActivationSection:
    """Collect one activation's section from the library (bounds, gradient table, Monte Carlo check); its figure
    is linked as ``fmt``."""
    from ..bounds import bound
    from ..theory.independence import independence_product
    from ..compare import Check
    from ..mc import simulate_chain
    from ..theory.chain import exact_chain
    from ..theory.gradient import vetted

    notes: list[str] = []
    record = act.record  # the entry as declared: phi and its kinks in the parameter symbols, with their values
    params = tuple((name, str(value)) for name, value in act.values)
    kinks = tuple((str(k.at), str(k.dphi), tex_expr(k.at), tex_expr(k.dphi)) for k in record.kinks)
    try:
        b = bound(act, of="dphi")
        sup, inf, method, proof = _extremum(b.sup), _extremum(b.inf), b.method, tuple(b.steps)
    except AnalyticError as exc:
        sup = inf = None
        method, proof = "not proved", ()
        notes.append(f"No proved bound: {exc}")
    rows = []
    exact = vetted(exact_chain(act, max(REPORT_DEPTHS + (MC_DEPTH,)), CHAIN_WEIGHTS))
    withheld: dict[str, list[int]] = {}
    for r in REPORT_DEPTHS:
        g = independence_product(act, r, CHAIN_WEIGHTS, preact=PREACT)
        m, ms, lm = (exact.by_depth[q][r - 1] for q in ("mean", "mean_square", "log_mean"))
        for label, q in (("E[∏]", m), ("E[∏²]", ms), ("exp(E log|∏|)", lm)):
            if q.withheld:
                withheld.setdefault(label, []).append(r)
        exp_log = None if lm.withheld else (math.exp(lm.value) if math.isfinite(lm.value) and lm.value < 700
                                            else math.nan)
        rows.append(GradientRow(r, float(g.bound), float(g.mean), float(g.mean_square), float(g.typical),
                                m.value, ms.value, exp_log))
    if withheld:
        notes.append("Exact-chain values not converged to the tolerance are withheld (–): "
                     + "; ".join(f"{label} at r = {', '.join(map(str, rs))}" for label, rs in withheld.items())
                     + ".")
    checks = []
    g = independence_product(act, MC_DEPTH, CHAIN_WEIGHTS, preact=PREACT)
    e = exact.by_depth["mean"][MC_DEPTH - 1]
    # like with like: the chain against the exact chain, the independence model against its formula
    for model, preact, log_a, sign_a, held in (("exact chain", None, e.log_abs, e.sign, e.withheld),
                                               ("independence model", PREACT, g.log_mean_abs, int(g.mean_sign),
                                                False)):
        s = simulate_chain(act, MC_DEPTH, CHAIN_WEIGHTS, samples=budget.chains, seed=budget.seed, preact=preact,
                           progress=False)
        if held:  # no analytic value to compare with: no z-score, no agreement
            checks.append(MonteCarloCheck(model, MC_DEPTH, budget.chains, budget.seed, None, s.mean.value,
                                          s.mean.stderr, math.nan, False, s.median_abs.value))
            notes.append(f"Monte Carlo check of the exact chain: the exact mean at r = {MC_DEPTH} is withheld "
                         f"({e.reason}).")
            continue
        c = Check.of_logs("mean", log_a, sign_a, s.mean)
        checks.append(MonteCarloCheck(model, MC_DEPTH, budget.chains, budget.seed, c.analytic, c.simulated,
                                      c.stderr, c.z, c.agree and s.ess >= 1000, s.median_abs.value))
    return ActivationSection(
        name=act.name, doc=act.doc, reference=act.reference, params=params,
        phi_latex=tex_expr(record.expr), dphi_latex=tex_expr(derivative(record, 1)), kinks=kinks,
        sup=sup, inf=inf, method=method, proof=proof, gradient=tuple(rows), checks=tuple(checks),
        figure=f"figures/activation_{act.name}.{fmt}" if not act.user_defined else "", notes=tuple(notes))
