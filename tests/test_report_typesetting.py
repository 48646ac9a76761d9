"""The report reads like a paper: parameter names set as words, constants with a sensible number of digits (in full
only where they are defined), formulas in proofs set as one formula, and Markdown linking the figures a viewer
shows. Checked on the LaTeX and Markdown text (no pdflatex needed)."""
from __future__ import annotations

import re

import pytest
import sympy as sp

from analytic.bounds.proof import step, tex_expr
from analytic.output.budget import QUICK
from analytic.output.report import build_report

#: Significant digits above which a number counts as unrounded (the report rounds to 6, proofs to 10).
MAX_DIGITS = 12


@pytest.fixture(scope="module")
def report():
    """The report of leaky_relu and SELU with a one-row gradient table and a Monte Carlo check at depth 1 (the
    text under test does not depend on the depths)."""
    from analytic.output import sections

    with pytest.MonkeyPatch.context() as m:
        m.setattr(sections, "REPORT_DEPTHS", (1,))
        m.setattr(sections, "MC_DEPTH", 1)
        r = build_report(["leaky_relu", "selu"], budget=QUICK, format="pdf")
        return r.latex(), r.markdown()


def _significant(number: str) -> int:
    return len(number.replace(".", "").lstrip("0"))


def test_parameter_names_are_upright_words_not_subscripts_or_products(report):
    tex, md = report
    for text in (tex, md):
        assert r"\mathrm{negative\_slope}" in text and "negative_{slope}" not in text
        # SymPy's 'scale x' is the product s·c·a·l·e·x in math mode; every 'scale' in a formula is a word
        math = re.findall(r"\$[^$]+\$|\\begin\{gather\*\}.*?\\end\{gather\*\}|\$\$.*?\$\$", text, re.DOTALL)
        assert any(r"\mathrm{scale}" in m for m in math)
        assert all(re.sub(r"\\mathrm\{scale\}", "", m).count("scale") == 0 for m in math), \
            [m for m in math if "scale" in re.sub(r"\\mathrm\{scale\}", "", m)]


def test_long_constants_are_printed_in_full_once_where_they_are_defined(report):
    tex, md = report
    for text in (tex, md):
        long = [(i, n) for i, line in enumerate(text.splitlines())
                for n in re.findall(r"[0-9]+\.[0-9]+", line) if _significant(n) > MAX_DIGITS]
        lines = {i for i, _ in long}
        assert len(lines) == 1, long  # SELU's parameter line, and no other
        line = text.splitlines()[lines.pop()]
        assert "Parameters (defaults)" in line and sorted(n for _, n in long) == sorted(
            ["1.6732632423543772848170429916717", "1.0507009873554804934193349852946"])
    assert "1.758099341" in tex  # λα in the bound and the proof, to 10 digits


def test_proof_formulas_are_one_math_run_and_a_display_carries_its_punctuation(report):
    tex, _ = report
    assert r"$\varphi'$(" not in tex and "$(x)" not in tex
    assert r"\varphi'(x) = \begin{cases}" in tex
    assert not re.search(r"\\\]\s*[.,;]", tex)  # no stray punctuation after a display
    assert not re.search(r" x \$\\to\$", tex)  # 'as x → −∞' is one formula


def test_a_long_formula_is_one_display_with_its_start_and_its_full_stop():
    x = sp.Symbol("x")
    long = sum(sp.erf(x / (i + 1)) * sp.Symbol(f"a_{i}") for i in range(12))
    tex = step("φ′(x) = ", long, ".").latex()
    assert tex.startswith(r"\[ \begin{aligned} &\varphi'(x) = ") and tex.endswith(r"\,. \end{aligned} \]")


def test_tex_expr_rounds_floats_and_sets_words_upright():
    value = sp.Float("1.0507009873554804934193349852946", 33) * sp.Symbol("scale") * sp.Symbol("x")
    tex = tex_expr(value)
    assert re.findall(r"[0-9]+\.[0-9]+", tex) == ["1.050700987"]
    assert r"\mathrm{scale}" in tex and "scale x" not in tex
    assert tex_expr(sp.Symbol("alpha") * sp.Symbol("x_0")) == r"\alpha x_{0}"


def test_markdown_links_png_even_when_the_latex_takes_pdf(report):
    tex, md = report
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert links and all(link.endswith(".png") for link in links)
    assert re.search(r"\\figureatsize\{figures/[a-z_]+\.pdf\}", tex)
