r"""The derivation report as a standalone LaTeX document, in pieces that :mod:`analytic.output.report` joins:
:func:`latex_head`, the overview figures, one :func:`latex_section` per collected section
(:mod:`analytic.output.sections`) with its figure, and the notes that stand in for a part that is missing. For
``pdflatex``, ASCII only: T1 fonts, Greek letters and symbols in math mode, proofs typeset from their SymPy steps,
numbers as :math:`m\cdot 10^{e}`, figures from ``figures/``.
"""
from __future__ import annotations

import re

import sympy as sp

from ..bounds.proof import Step, TexError, tex_name, tex_prose
from .sections import ActivationSection, num

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


#: The PDF's title and author (its document information), as pdflatex writes them.
PDF_TITLE = "Why deep networks with some activations stop learning: derivation report"
PDF_AUTHOR = "activation-analytic"


def latex_head(*, weights: str, preact: str, chains: int, seed: int, mc_depth: int) -> list[str]:
    """The preamble and the model section of the report, up to the heading of the overview figures: the chain
    ``weights``, the independence model's ``preact``, ``chains`` Monte Carlo chains from ``seed`` at depth
    ``mc_depth``. The document embeds no date (``\\date{}``)."""
    return [
        r"\documentclass[11pt]{article}",
        r"\usepackage[T1]{fontenc}",
        r"\IfFileExists{lmodern.sty}{\usepackage{lmodern}}{\usepackage{mathptmx}}",
        r"\usepackage[margin=2.2cm]{geometry}",
        r"\usepackage{amsmath,amssymb,graphicx,booktabs,float}",
        r"\usepackage[hidelinks]{hyperref}",
        rf"\hypersetup{{pdftitle={{{PDF_TITLE}}}, pdfauthor={{{PDF_AUTHOR}}}, pdfcreator={{{PDF_AUTHOR}}}}}",
        r"\DeclareMathOperator{\erf}{erf}",
        # a figure at its own size (text in it then prints at the document's size), shrunk only when wider
        # than the line
        r"\newsavebox{\figurebox}",
        r"\newcommand{\figureatsize}[1]{\sbox{\figurebox}{\includegraphics{#1}}%",
        r"  \ifdim\wd\figurebox>\linewidth\resizebox{\linewidth}{!}{\usebox{\figurebox}}\else"
        r"\usebox{\figurebox}\fi}",
        r"\emergencystretch=4em \tolerance=1000",
        r"\title{Why deep networks with some activations stop learning\\ \large derivation report}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        r"\section*{The model}",
        r"A chain of $r$ layers of one neuron: $y_0 = x = 1$, $v_t = w_t y_{t-1}$, $y_t = \varphi(v_t)$. "
        r"Back-propagation gives $\partial y_r/\partial y_0 = \prod_{t=1}^{r} w_t\,\varphi'(v_t)$. "
        rf"Weights $w_t \sim$ \texttt{{{tex_text(weights)}}}; under the independence approximation the "
        rf"pre-activations are $v_t \sim$ \texttt{{{tex_text(preact)}}} independent of the weights, and then",
        r"\[ E\Big[\prod_t w_t\varphi'(v_t)\Big] = \big(E[w]\,E[\varphi'(v)]\big)^r,\qquad "
        r"E\Big[\prod_t (w_t\varphi'(v_t))^2\Big] = \big(E[w^2]\,E[\varphi'(v)^2]\big)^r, \]",
        r"the typical value (median) is $e^{r\,E\log|w\varphi'(v)|}$ and the crude bound is "
        r"$E|\prod| \le (E|w|\sup|\varphi'|)^r$. The Monte Carlo check simulates both the independence model "
        r"(which must agree with the formula) and the exact chain (whose gap shows what the approximation "
        rf"costs): {chains} chains, seed {seed}, depth {mc_depth}; "
        r"$z = (\text{analytic} - \text{simulated})/\text{stderr}$, agreement when $|z| \le 4$.",
        r"\section*{Overview figures}",
    ]


def latex_overview_figure(name: str, caption: str, fmt: str) -> list[str]:
    """The overview figure ``name`` (``figures/<name>.<fmt>``) with its caption (:data:`OVERVIEW_TEX`, else the
    text ``caption``)."""
    return [r"\begin{figure}[H]\centering", rf"\figureatsize{{figures/{name}.{fmt}}}",
            rf"\caption{{{OVERVIEW_TEX.get(name) or tex_text(caption)}}}", r"\end{figure}"]


def latex_section_figure(name: str, link: str) -> list[str]:
    """The figure of the activation ``name`` at ``link`` (a path inside the report folder)."""
    return [r"\begin{figure}[H]\centering", rf"\figureatsize{{{link}}}",
            rf"\caption{{{tex_text(name)}: $\varphi$ and $\varphi'$ with the proved bounds of $\varphi'$.}}",
            r"\end{figure}"]


def latex_missing_section(name: str, reason: str) -> list[str]:
    """The heading of the activation ``name`` and why its section is missing."""
    return [rf"\section{{{tex_text(name)}}}",
            rf"\emph{{This section is missing: it could not be computed ({tex_reason(reason)}).}}\par"]


def latex_missing_figure(name: str, reason: str) -> list[str]:
    """Why the figure ``name`` is missing, in place of the figure."""
    return [rf"\emph{{The figure {tex_text(name)} is missing: it could not be made ({tex_reason(reason)}).}}\par"]


def tex_reason(text: str) -> str:
    """An error message as LaTeX: :func:`tex_text`, with every character that has no LaTeX form dropped (a
    message must always be printable).

    >>> print(tex_reason("no bound for x_1 ⊗ y"))
    no bound for x\\_1  y
    """
    try:
        return tex_text(text)
    except TexError:
        return tex_text("".join(ch for ch in text if ord(ch) < 128))


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


def _param_tex(name: str, value: str) -> str:
    r"""A parameter and its default, as its definition: the name as the formulas set it
    (:func:`~analytic.bounds.proof.tex_name`), the value in full (SELU's constants with all their digits, here
    only; everywhere else they are rounded)."""
    symbol = tex_name(name) or sp.latex(sp.Symbol(name))
    if re.fullmatch(r"-?[0-9][0-9./e+-]*", value):
        return rf"${symbol} = {value}$"
    return rf"${symbol}$ = {tex_text(value)}"


def latex_section(s: ActivationSection, weights: str, preact: str, mc_depth: int) -> list[str]:
    """The section of one activation, without its figure (:func:`latex_section_figure`): formulas, bound and proof,
    gradient tables, Monte Carlo check and notes."""
    out = [rf"\section{{{tex_text(s.name)}}}",
           tex_doc(s.doc) + (rf" \emph{{({tex_text(s.reference)})}}" if s.reference else "")]
    if s.params:
        out.append(r"\par Parameters (defaults): " + ", ".join(_param_tex(k, v) for k, v in s.params) + ".")
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
            rf"\texttt{{{tex_text(weights)}}}, no bias)}}",
            r"\begin{tabular}{rrrrr}\toprule",
            r"depth $r$ & crude bound & mean $E[\prod]$ & mean square $E[\prod^2]$ & $e^{E\log|\prod|}$ "
            r"\\ \midrule"]
    out += [rf"{g.depth} & {num_tex(g.bound)} & {num_tex(g.exact_mean)} & {num_tex(g.exact_mean_square)} & "
            rf"{num_tex(g.exact_typical)} \\" for g in s.gradient]
    out += [r"\bottomrule\end{tabular}\par",
            rf"Independence approximation (pre-activations \texttt{{{tex_text(preact)}}} independent of the "
            r"weights; not this network) and its ratio to the exact chain:\par",
            r"{\small\begin{tabular}{rrrrrr}\toprule",
            r"depth $r$ & mean $E[\prod]$ & $\times$ exact & mean square $E[\prod^2]$ & $\times$ exact & typical "
            r"\\ \midrule"]
    out += [rf"{g.depth} & {num_tex(g.mean)} & {num_tex(g.ratio(g.mean, g.exact_mean))} & {num_tex(g.mean_square)} & "
            rf"{num_tex(g.ratio(g.mean_square, g.exact_mean_square))} & {num_tex(g.typical)} \\" for g in s.gradient]
    out += [r"\bottomrule\end{tabular}}\par",
            rf"\subsection*{{Monte Carlo check (depth {mc_depth})}}",
            r"{\small\begin{tabular}{lrrrrlr}\toprule",
            r"model & analytic mean & simulated mean & stderr & $z$ & agree & simulated median \\ \midrule"]
    out += [rf"{tex_text(c.model)} & {num_tex(c.analytic)} & {num_tex(c.simulated)} & {num_tex(c.stderr)} & "
            rf"{num_tex(c.z)} & {'yes' if c.agree else 'no'} & {num_tex(c.median)} \\" for c in s.checks]
    out.append(r"\bottomrule\end{tabular}}\par")
    out += [tex_text(n) + r"\par" for n in s.notes]
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

