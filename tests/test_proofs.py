"""Structured proof steps: one step, three renderings; the LaTeX comes from sympy.latex, not from the text."""
from __future__ import annotations

import pytest
import sympy as sp

from analytic.bounds import bound
from analytic.bounds.proof import TexError, math, step, tex_prose

x = sp.Symbol("x", real=True)


def test_a_step_renders_text_markdown_and_latex_from_the_same_objects():
    s = step("φ′(x) = ", x ** 2 * sp.exp(-x), " on ", sp.Interval.open(0, sp.oo), ".")
    assert s.text() == "φ′(x) = x**2*exp(-x) on Interval.open(0, oo)."
    assert s.markdown() == r"φ′(x) = $x^{2} e^{- x}$ on $(0, \infty)$."
    assert "**" not in s.latex() and "oo" not in s.latex()
    assert s.latex().startswith(r"$\varphi'$(x) = $x^{2} e^{- x}$")


def test_prose_symbols_go_to_math_mode_and_unknown_characters_are_refused():
    assert tex_prose("a ≤ b, x → ∞ on ℝ") == r"a $\le$ b, x $\to$ $\infty$ on $\mathbb{R}$"
    assert tex_prose("φ‴") == r"$\varphi'''$"
    with pytest.raises(TexError):
        tex_prose("a ☃ b")


def test_a_long_sum_is_a_display_broken_at_its_terms():
    long = sum(sp.Symbol(f"a_{i}") * sp.erf(x / (i + 1)) for i in range(12))
    tex = step("φ′ = ", math(long), ".").latex()
    assert r"\begin{aligned}" in tex and tex.count(r"\\") >= 2


@pytest.mark.parametrize("name", ["sigmoid", "relu", "gelu", "silu", "softmax"])
def test_bound_steps_keep_the_text_proof(name):
    b = bound(name)
    assert b.proof == tuple(s.text() for s in b.steps)
    for s in b.steps:
        tex = s.latex()
        assert "**" not in tex and "sqrt(" not in tex and "?" not in tex
