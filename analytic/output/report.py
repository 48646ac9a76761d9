r"""The derivation report: lecture notes, in Markdown and LaTeX, regenerated from scratch by the library.

For every catalogue activation (the list is the registry's) the report gives φ and φ′ (SymPy, via
:mod:`analytic.core.calculus`), the proved sup and inf of φ′ with the proof steps (:mod:`analytic.bounds`), the
gradient product across depth — crude bound, :math:`|E\prod|`, :math:`E[\prod^2]`, typical value — for the
chain with weights :data:`~analytic.output.panels.CHAIN_WEIGHTS` (:mod:`analytic.theory.gaussian`), a Monte Carlo check
of the mean at depth :data:`MC_DEPTH` with its z-score (:mod:`analytic.mc`), and its figure. The figures
the report links are written into its own ``figures/`` folder, so the folder is self-contained.

Every number is printed with :data:`DIGITS` significant digits and comes from one library call, so the report
can be read back and checked against the library (the tests do).

>>> r = build_report(["sigmoid"], budget=QUICK)
>>> "## sigmoid" in r.markdown()
True
"""
from __future__ import annotations

import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence


from ..core.activations import catalogue
from ..core.calculus import derivative, latex, resolve
from ..errors import AnalyticError, ArgumentError, OutputError, canonical_callable
from .budget import DEFAULT, QUICK, Budget
from .figures import write_figures
from .panels import CHAIN_WEIGHTS, PREACT
from ..core.files import atomic_write_text, output_folder
from ..bounds.proof import Step, tex_prose
from ..core.registry import Activation

__all__ = ["build_report", "write_report", "Report", "ActivationSection", "GradientRow", "MonteCarloCheck",
           "ReportFiles", "REPORT_DEPTHS", "MC_DEPTH", "DIGITS", "QUICK"]

#: Depths of the gradient table.
REPORT_DEPTHS = (1, 5, 10, 20, 50)
#: Depth of the Monte Carlo check.
MC_DEPTH = 10
#: Significant digits of every number in the report.
DIGITS = 6
#: Figures shown in the overview, before the per-activation sections (each with its caption).
OVERVIEW = (
    ("activations", "Every activation of the catalogue: φ (solid), φ′ (dashed) and the proved sup of φ′ (dotted)."),
    ("gradient_depth", "Gradient magnitude across depth: the exact chain's mean and typical value, Monte Carlo of "
                       "the same chain (mean and median with 95 % bands), the crude bound, and the independence "
                       "approximation as thin lines."),
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
#: LaTeX captions of the overview figures (symbols in math mode); a figure missing here gets its text caption.
OVERVIEW_TEX = {
    "activations": r"Every activation of the catalogue: $\varphi$ (solid), $\varphi'$ (dashed) and the proved "
                   r"$\sup\varphi'$ (dotted).",
    "histogram": r"Distribution of $\log_{10}|\prod_t w_t\varphi'(v_t)|$: the mean sits orders of magnitude above "
                 r"the typical value.",
    "phase_diagram": r"Mean-field phase diagrams: $\tanh$'s critical line $\chi_1 = 1$ separates vanishing from "
                     r"exploding gradients, with contours of the correlation depth $\xi_c$; ReLU's own diagram has "
                     r"the single critical point $\sigma_w^2 = 2$, $\sigma_b^2 = 0$ (He).",
    "preactivation_law": r"The law of the pre-activation $v_t$ in the exact chain (mean $\pm$ sd) against the "
                         r"$\mathcal{N}(0, 1)$ the independence approximation assumes.",
    "dying_relu": r"Dying ReLU: the fraction of units with negative pre-activation against the bias mean.",
}
#: Figure formats the report can link; ``pdf`` figures are vector graphics and also make ``report.pdf``.
REPORT_FORMATS = ("png", "pdf")


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
    and typical value :math:`e^{E\log|\prod|}`; the independence approximation's :math:`E\prod`,
    :math:`E[\prod^2]` and :math:`e^{rE\log|w\varphi'(v)|}` (``mean``, ``mean_square``, ``typical``)."""

    depth: int
    bound: float
    mean: float
    mean_square: float
    typical: float
    exact_mean: float = math.nan
    exact_mean_square: float = math.nan
    exact_typical: float = math.nan

    @staticmethod
    def ratio(a: float, b: float) -> float:
        """a / b (nan where b is 0)."""
        return a / b if b else math.nan


@dataclass(frozen=True)
class MonteCarloCheck:
    """The simulated mean of the product at one depth against the analytic one, for one model."""

    model: str
    depth: int
    samples: int
    seed: int
    analytic: float
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
            "exact_latex": None if ext.exact is None else latex(ext.exact),
            "at_latex": ext.at_latex, "value": value, "lower": float(ext.lower), "upper": float(ext.upper),
            "attained": bool(ext.attained), "at": str(ext.at)}


def section(act: Activation, budget: Budget = DEFAULT, fmt: str = "png") -> ActivationSection:
    """Collect one activation's section from the library (bounds, gradient table, Monte Carlo check); its figure
    is linked as ``fmt``."""
    from ..bounds import bound
    from ..theory.independence import gradient_product
    from ..compare import Check
    from ..mc import simulate_chain
    from ..theory.chain import exact_chain

    notes: list[str] = []
    params = tuple((p.name, str(p.default)) for p in act.params)
    kinks = tuple((str(k.at), str(k.dphi), latex(k.at), latex(k.dphi)) for k in act.kinks)
    try:
        b = bound(act, of="dphi")
        sup, inf, method, proof = _extremum(b.sup), _extremum(b.inf), b.method, tuple(b.steps)
    except AnalyticError as exc:
        sup = inf = None
        method, proof = "not proved", ()
        notes.append(f"No proved bound: {exc}")
    rows = []
    exact = exact_chain(act, max(REPORT_DEPTHS + (MC_DEPTH,)), CHAIN_WEIGHTS)
    for r in REPORT_DEPTHS:
        g = gradient_product(act, r, CHAIN_WEIGHTS, preact=PREACT)
        lm = exact.by_depth["log_mean"][r - 1].value
        rows.append(GradientRow(r, float(g.bound), float(g.mean), float(g.mean_square), float(g.typical),
                                exact.by_depth["mean"][r - 1].value, exact.by_depth["mean_square"][r - 1].value,
                                math.exp(lm) if math.isfinite(lm) and lm < 700 else math.nan))
    checks = []
    g = gradient_product(act, MC_DEPTH, CHAIN_WEIGHTS, preact=PREACT)
    e = exact.by_depth["mean"][MC_DEPTH - 1]
    # like with like: the chain against the exact chain, the independence model against its formula
    for model, preact, log_a, sign_a in (("exact chain", None, e.log_abs, e.sign),
                                         ("independence model", PREACT, g.log_mean_abs, int(g.mean_sign))):
        s = simulate_chain(act, MC_DEPTH, CHAIN_WEIGHTS, samples=budget.chains, seed=budget.seed, preact=preact,
                           progress=False)
        c = Check.of_logs("mean", log_a, sign_a, s.mean)
        checks.append(MonteCarloCheck(model, MC_DEPTH, budget.chains, budget.seed, c.analytic, c.simulated,
                                      c.stderr, c.z, c.agree and s.ess >= 1000, s.median_abs.value))
    return ActivationSection(
        name=act.name, doc=act.doc, reference=act.reference, params=params,
        phi_latex=latex(act.expr), dphi_latex=latex(derivative(act, 1)), kinks=kinks,
        sup=sup, inf=inf, method=method, proof=proof, gradient=tuple(rows), checks=tuple(checks),
        figure=f"figures/activation_{act.name}.{fmt}" if not act.user_defined else "", notes=tuple(notes))


# ---------------------------------------------------------------- the report

@dataclass(frozen=True)
class Report:
    """The collected sections and the settings they were computed with; renders Markdown and LaTeX."""

    sections: tuple[ActivationSection, ...]
    weights: str
    preact: str
    depths: tuple[int, ...]
    mc_depth: int
    chains: int
    seed: int
    format: str = "png"

    # ------------------------------------------------------------ Markdown
    def markdown(self) -> str:
        """The report as GitHub-flavoured Markdown (math in ``$…$`` and ``$$…$$``)."""
        out = [
            "# Why deep networks with some activations stop learning — derivation report",
            "",
            "Generated by `analytic report`: every formula, bound, table entry and figure below is recomputed by the "
            "library from the activation catalogue.",
            "",
            "## The model",
            "",
            "A chain of $r$ layers of one neuron: $y_0 = x = 1$, $v_t = w_t y_{t-1}$, $y_t = \\varphi(v_t)$. "
            "Back-propagation gives $\\partial y_r/\\partial y_0 = \\prod_{t=1}^{r} w_t\\,\\varphi'(v_t)$. "
            f"Weights $w_t \\sim$ `{self.weights}`; under the independence approximation the pre-activations are "
            f"$v_t \\sim$ `{self.preact}` independent of the weights, and then",
            "",
            "$$E\\Big[\\prod_t w_t\\varphi'(v_t)\\Big] = \\big(E[w]\\,E[\\varphi'(v)]\\big)^r,\\qquad "
            "E\\Big[\\prod_t (w_t\\varphi'(v_t))^2\\Big] = \\big(E[w^2]\\,E[\\varphi'(v)^2]\\big)^r,$$",
            "",
            "the typical value (median) is $e^{r\\,E\\log|w\\varphi'(v)|}$ and the crude bound is "
            "$E|\\prod| \\le (E|w|\\sup|\\varphi'|)^r$. The Monte Carlo check simulates both the independence "
            "model (which must agree with the formula) and the exact chain (whose gap shows what the "
            f"approximation costs): {self.chains} chains, seed {self.seed}, depth {self.mc_depth}; "
            "z = (analytic − simulated)/stderr, agreement when |z| ≤ 4.",
            "",
            "## Overview figures",
            "",
        ]
        for name, caption in OVERVIEW:
            out += [f"![{name}](figures/{name}.{self.format})", "", f"*{caption}*", ""]
        for s in self.sections:
            out += _markdown_section(s, self)
        return "\n".join(out).rstrip() + "\n"

    # ------------------------------------------------------------ LaTeX
    def latex(self) -> str:
        """The report as a standalone LaTeX document (``pdflatex report.tex``; figures from ``figures/``)."""
        out = [
            r"\documentclass[11pt]{article}",
            r"\usepackage[T1]{fontenc}",
            r"\IfFileExists{lmodern.sty}{\usepackage{lmodern}}{\usepackage{mathptmx}}",
            r"\usepackage[margin=2.2cm]{geometry}",
            r"\usepackage{amsmath,amssymb,graphicx,booktabs,float}",
            r"\usepackage[hidelinks]{hyperref}",
            r"\DeclareMathOperator{\erf}{erf}",
            r"\emergencystretch=4em \tolerance=1000",
            r"\title{Why deep networks with some activations stop learning\\ \large derivation report}",
            r"\date{}",
            r"\begin{document}",
            r"\maketitle",
            r"\section*{The model}",
            r"A chain of $r$ layers of one neuron: $y_0 = x = 1$, $v_t = w_t y_{t-1}$, $y_t = \varphi(v_t)$. "
            r"Back-propagation gives $\partial y_r/\partial y_0 = \prod_{t=1}^{r} w_t\,\varphi'(v_t)$. "
            rf"Weights $w_t \sim$ \texttt{{{tex_text(self.weights)}}}; under the independence approximation the "
            rf"pre-activations are $v_t \sim$ \texttt{{{tex_text(self.preact)}}} independent of the weights, and then",
            r"\[ E\Big[\prod_t w_t\varphi'(v_t)\Big] = \big(E[w]\,E[\varphi'(v)]\big)^r,\qquad "
            r"E\Big[\prod_t (w_t\varphi'(v_t))^2\Big] = \big(E[w^2]\,E[\varphi'(v)^2]\big)^r, \]",
            r"the typical value (median) is $e^{r\,E\log|w\varphi'(v)|}$ and the crude bound is "
            r"$E|\prod| \le (E|w|\sup|\varphi'|)^r$. The Monte Carlo check simulates both the independence model "
            r"(which must agree with the formula) and the exact chain (whose gap shows what the approximation "
            rf"costs): {self.chains} chains, seed {self.seed}, depth {self.mc_depth}; "
            r"$z = (\text{analytic} - \text{simulated})/\text{stderr}$, agreement when $|z| \le 4$.",
            r"\section*{Overview figures}",
        ]
        for name, caption in OVERVIEW:
            out += [r"\begin{figure}[H]\centering",
                    rf"\includegraphics[width=\textwidth]{{figures/{name}.{self.format}}}",
                    rf"\caption{{{OVERVIEW_TEX.get(name) or tex_text(caption)}}}", r"\end{figure}"]
        out.append(r"\clearpage")
        for s in self.sections:
            out += _latex_section(s, self)
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"


def _doc_markdown(doc: str) -> str:
    return re.sub(r":math:`([^`]*)`", r"$\1$", doc)


def _extremum_text(kind: str, e: dict | None) -> str:
    if e is None:
        return f"{kind} φ′: not proved"
    symbolic = e["exact"] is not None and not re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", e["exact"])
    exact = f"{e['exact']} ≈ " if symbolic and e["exact"] != num(e["value"]) else ""
    where = f"attained at {e['at']}" if e["attained"] else f"approached at {e['at']}, not attained"
    return f"{kind} φ′ = {exact}{num(e['value'])} ({where})"


def _markdown_section(s: ActivationSection, report: Report) -> list[str]:
    out = [f"## {s.name}", "", _doc_markdown(s.doc) + (f" *({s.reference})*" if s.reference else ""), ""]
    if s.params:
        out += ["Parameters (defaults): " + ", ".join(f"`{k}` = {v}" for k, v in s.params), ""]
    out += ["$$\\varphi(x) = " + s.phi_latex + "$$", "", "$$\\varphi'(x) = " + s.dphi_latex + "$$", ""]
    for at, d, *_ in s.kinks:
        out += [f"Kink at x = {at}: φ′ is taken as {d} there (PyTorch's autograd value); it never counts as "
                "attaining a bound.", ""]
    out += ["### Bound", "", f"- {_extremum_text('sup', s.sup)}", f"- {_extremum_text('inf', s.inf)}",
            f"- method: {s.method}", ""]
    if s.proof:
        out += ["Proof:", ""] + [f"{i}. {_step_markdown(step)}" for i, step in enumerate(s.proof, 1)] + [""]
    out += [f"### Gradient across depth: the exact chain (x = 1, weights `{report.weights}`, no bias)", "",
            "| depth r | crude bound | mean E[∏] | mean square E[∏²] | typical exp(E log abs ∏) |",
            "|---:|---:|---:|---:|---:|"]
    out += [f"| {g.depth} | {num(g.bound)} | {num(g.exact_mean)} | {num(g.exact_mean_square)} | "
            f"{num(g.exact_typical)} |" for g in s.gradient]
    out += ["", f"Independence approximation (pre-activations `{report.preact}` independent of the weights; not "
            "this network) and its ratio to the exact chain:", "",
            "| depth r | mean E[∏] | × exact | mean square E[∏²] | × exact | typical |",
            "|---:|---:|---:|---:|---:|---:|"]
    out += [f"| {g.depth} (indep.) | {num(g.mean)} | {num(g.ratio(g.mean, g.exact_mean))} | {num(g.mean_square)} | "
            f"{num(g.ratio(g.mean_square, g.exact_mean_square))} | {num(g.typical)} |" for g in s.gradient]
    out += ["", f"### Monte Carlo check (depth {report.mc_depth})", "",
            "| model | analytic mean | simulated mean | stderr | z | agree | simulated median |",
            "|---|---:|---:|---:|---:|---|---:|"]
    out += [f"| {c.model} | {num(c.analytic)} | {num(c.simulated)} | {num(c.stderr)} | {num(c.z)} | "
            f"{'yes' if c.agree else 'no'} | {num(c.median)} |" for c in s.checks]
    out += [""] + [f"*{n}*" for n in s.notes] + ([""] if s.notes else [])
    out += [f"![{s.name}: φ and φ′]({s.figure})", ""] if s.figure else []
    return out


def _step_markdown(step: Step | str) -> str:
    return step if isinstance(step, str) else step.markdown()


def _step_latex(step: Step | str) -> str:
    return tex_text(step) if isinstance(step, str) else step.latex()


def num_tex(value: float | None) -> str:
    r"""A number as :func:`num` prints it, in LaTeX: ``1.5e-07`` → ``$1.5\cdot 10^{-7}$``."""
    text = num(value)
    if text in ("inf", "-inf"):
        return r"$\infty$" if text == "inf" else r"$-\infty$"
    mant, _, exp = text.partition("e")
    return rf"${mant}\cdot 10^{{{int(exp)}}}$" if exp else text


def _extremum_tex(kind: str, e: dict | None) -> str:
    r"""``$\sup \varphi' = \frac14 \approx 0.25$`` (attained at $0$), the value and the point from SymPy."""
    if e is None:
        return rf"$\{kind}\varphi'$: not proved"
    value = num(e["value"])
    exact = e["exact_latex"]
    symbolic = exact is not None and not re.fullmatch(r"-?[0-9.]+(e-?[0-9]+)?", e["exact"] or "") \
        and e["exact"] != value
    mant, _, exp = value.partition("e")
    approx = rf"{mant}\cdot 10^{{{int(exp)}}}" if exp else value
    rhs = rf"{exact} \approx {approx}" if symbolic else (exact if exact is not None else approx)
    where = ("attained at" if e["attained"] else "approached at") + rf" ${e['at_latex']}$"
    return rf"$\{kind}\varphi' = {rhs}$ ({where}{'' if e['attained'] else ', not attained'})"


def _param_tex(value: str) -> str:
    """A parameter default: exact when short (1/4, 1), else :data:`DIGITS` significant digits."""
    return tex_text(value) if len(value) <= 8 else num_tex(float(value))


def _latex_section(s: ActivationSection, report: Report) -> list[str]:
    out = [rf"\section{{{tex_text(s.name)}}}",
           tex_doc(s.doc) + (rf" \emph{{({tex_text(s.reference)})}}" if s.reference else "")]
    if s.params:
        out.append(r"\par Parameters (defaults): " + ", ".join(rf"\texttt{{{tex_text(k)}}} = {_param_tex(v)}"
                                                              for k, v in s.params) + ".")
    out += [r"\begin{gather*}", r"\varphi(x) = " + s.phi_latex + r" \\",
            r"\varphi'(x) = " + s.dphi_latex, r"\end{gather*}"]
    for _, _, at, d in s.kinks:
        out.append(rf"Kink at $x = {at}$: $\varphi'$ is taken as ${d}$ there (PyTorch's autograd value); it never "
                   r"counts as attaining a bound.\par")
    out += [r"\subsection*{Bound}", r"\begin{itemize}",
            rf"\item {_extremum_tex('sup', s.sup)}", rf"\item {_extremum_tex('inf', s.inf)}",
            rf"\item method: {tex_text(s.method)}", r"\end{itemize}"]
    if s.proof:
        out += [r"\paragraph{Proof.}", r"\begin{enumerate}"] + [rf"\item {_step_latex(p)}" for p in s.proof]
        out.append(r"\end{enumerate}")
    out += [rf"\subsection*{{Gradient across depth: the exact chain ($x = 1$, weights "
            rf"\texttt{{{tex_text(report.weights)}}}, no bias)}}",
            r"\begin{tabular}{rrrrr}\toprule",
            r"depth $r$ & crude bound & mean $E[\prod]$ & mean square $E[\prod^2]$ & typical $e^{E\log|\prod|}$ "
            r"\\ \midrule"]
    out += [rf"{g.depth} & {num_tex(g.bound)} & {num_tex(g.exact_mean)} & {num_tex(g.exact_mean_square)} & "
            rf"{num_tex(g.exact_typical)} \\" for g in s.gradient]
    out += [r"\bottomrule\end{tabular}\par",
            rf"Independence approximation (pre-activations \texttt{{{tex_text(report.preact)}}} independent of the "
            r"weights; not this network) and its ratio to the exact chain:\par",
            r"{\small\begin{tabular}{rrrrrr}\toprule",
            r"depth $r$ & mean $E[\prod]$ & $\times$ exact & mean square $E[\prod^2]$ & $\times$ exact & typical "
            r"\\ \midrule"]
    out += [rf"{g.depth} & {num_tex(g.mean)} & {num_tex(g.ratio(g.mean, g.exact_mean))} & {num_tex(g.mean_square)} & "
            rf"{num_tex(g.ratio(g.mean_square, g.exact_mean_square))} & {num_tex(g.typical)} \\" for g in s.gradient]
    out += [r"\bottomrule\end{tabular}}\par",
            rf"\subsection*{{Monte Carlo check (depth {report.mc_depth})}}",
            r"{\small\begin{tabular}{lrrrrlr}\toprule",
            r"model & analytic mean & simulated mean & stderr & $z$ & agree & simulated median \\ \midrule"]
    out += [rf"{tex_text(c.model)} & {num_tex(c.analytic)} & {num_tex(c.simulated)} & {num_tex(c.stderr)} & "
            rf"{num_tex(c.z)} & {'yes' if c.agree else 'no'} & {num_tex(c.median)} \\" for c in s.checks]
    out.append(r"\bottomrule\end{tabular}}\par")
    out += [tex_text(n) + r"\par" for n in s.notes]
    if s.figure:
        out += [r"\begin{figure}[H]\centering", rf"\includegraphics[width=\textwidth]{{{s.figure}}}",
                rf"\caption{{{tex_text(s.name)}: $\varphi$ and $\varphi'$ with the proved bounds of $\varphi'$.}}",
                r"\end{figure}"]
    out.append(r"\clearpage")
    return out


# ---------------------------------------------------------------- plain text → LaTeX

def tex_text(text: str) -> str:
    """Plain (Unicode) text as LaTeX that compiles with pdflatex: specials escaped, Greek letters and symbols in
    math mode (:func:`analytic.bounds.proof.tex_prose`; a character without a LaTeX form raises rather than printing a
    wrong glyph).

    >>> print(tex_text("σ′ ≤ 1/4 at x_0"))
    $\\sigma'$ $\\le$ 1/4 at x\\_0
    """
    return tex_prose(text)


def tex_doc(doc: str) -> str:
    """A catalogue docstring (reST ``:math:`…``` roles) as LaTeX: math kept, text escaped."""
    parts = re.split(r":math:`([^`]*)`", doc)
    return "".join(f"${p}$" if i % 2 else tex_text(p) for i, p in enumerate(parts))


# ---------------------------------------------------------------- building and writing

def build_report(activations: Sequence[str] | None = None, budget: Budget = DEFAULT,
                 progress: Callable[[str], None] | None = None, format: str = "png") -> Report:
    """Collect the report for ``activations`` (default: the whole catalogue, in its order); figures are linked
    in ``format`` (``png`` or ``pdf``)."""
    fmt = _format(format)
    if activations is not None and (isinstance(activations, (str, bytes)) or not isinstance(activations, (list, tuple))):
        raise ArgumentError(f"activations must be a list, got {type(activations).__name__}")
    if activations is not None and not activations:
        raise ArgumentError("activations is empty (None means the whole catalogue)")
    if not isinstance(budget, Budget):
        raise ArgumentError(f"budget must be a Budget, got {type(budget).__name__}")
    canonical_callable("progress", progress)
    acts = [resolve(a) for a in activations] if activations else list(catalogue())
    sections = []
    for i, act in enumerate(acts, 1):
        sections.append(section(act, budget, fmt))
        if progress is not None:
            progress(f"[{i}/{len(acts)}] {act.name}")
    return Report(tuple(sections), CHAIN_WEIGHTS, PREACT, REPORT_DEPTHS, MC_DEPTH, budget.chains, budget.seed, fmt)


def _format(format: str) -> str:
    fmt = str(format).lower()
    if fmt not in REPORT_FORMATS:
        raise OutputError(f"unknown report format {format!r}; formats: {', '.join(REPORT_FORMATS)}")
    return fmt


@dataclass(frozen=True)
class ReportFiles:
    """The files :func:`write_report` wrote: the Markdown, the LaTeX (and ``report.pdf``), and the figures."""

    paths: tuple[Path, ...]

    def as_dict(self) -> dict:
        """JSON keys of the ``report`` command: ``files``."""
        return {"files": [str(p) for p in self.paths]}


#: Seconds allowed for one pdflatex run.
PDFLATEX_SECONDS = 120


def write_report(out: str | os.PathLike = "report", activations: Sequence[str] | None = None,
                 budget: Budget = DEFAULT, progress: Callable[[str], None] | None = None,
                 format: str = "png") -> ReportFiles:
    """Write ``report.md``, ``report.tex`` and the figures they link (``figures/*.png``, or vector
    ``figures/*.pdf`` with ``format="pdf"``) into ``out``. With ``format="pdf"`` and ``pdflatex`` on the PATH,
    ``report.pdf`` is compiled too (:func:`compile_pdf`).

    Only the activations named in ``activations`` get a section and a figure (default: the whole catalogue).
    An ``out`` that is a file raises :class:`~analytic.errors.OutputError` before any work is done.
    """
    fmt = _format(format)
    folder = output_folder(out)
    output_folder(folder / "figures")  # every output place checked before the work starts
    report = build_report(activations, budget, progress, fmt)
    names = [n for n in [name for name, _ in OVERVIEW] + [f"activation_{s.name}" for s in report.sections]
             if n in _figure_names()]  # a user formula has no figure of its own
    figs = write_figures(folder / "figures", fmt, only=names, budget=budget,
                         progress=(lambda i, n, w: progress(f"figure [{i}/{n}] {w.name}")) if progress else None)
    md = atomic_write_text(folder / "report.md", report.markdown())
    tex = atomic_write_text(folder / "report.tex", report.latex())
    pdf = (compile_pdf(tex),) if fmt == "pdf" and shutil.which("pdflatex") else ()
    return ReportFiles((md, tex) + pdf + figs.paths)


def _figure_names() -> set[str]:
    from .figures import figure_names

    return set(figure_names())


def compile_pdf(tex: Path, seconds: float = PDFLATEX_SECONDS) -> Path:
    """Run ``pdflatex`` (twice, non-interactive) on ``tex`` in its own folder and return the PDF beside it.

    The run happens in a temporary folder; the PDF replaces the target only when pdflatex succeeded, so a
    failed run leaves no partial ``report.pdf``. The log is kept as ``report.log``. Raises
    :class:`~analytic.errors.OutputError` with pdflatex's first error line when it fails.
    """
    import subprocess
    import tempfile

    tex = Path(tex)
    target = tex.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(dir=tex.parent, prefix=".pdflatex-") as tmp:
        cmd = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
               f"-output-directory={tmp}", tex.name]
        for _ in range(2):  # the second run settles hyperref's outline
            try:
                run = subprocess.run(cmd, cwd=tex.parent, capture_output=True, text=True, errors="replace",
                                     timeout=seconds, stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired:
                raise OutputError(f"pdflatex did not finish within {seconds:g} s") from None
            log = Path(tmp, tex.stem + ".log")
            if run.returncode != 0:
                text = log.read_text(errors="replace") if log.exists() else run.stdout
                first = next((ln for ln in text.splitlines() if ln.startswith("!")), "no error line in the log")
                raise OutputError(f"pdflatex failed on {tex}: {first}")
        os.replace(log, tex.with_suffix(".log"))
        os.replace(Path(tmp, tex.stem + ".pdf"), target)
    return target
