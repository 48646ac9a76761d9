"""Structured proof steps: one step, three renderings; the LaTeX comes from sympy.latex, not from the text."""
from __future__ import annotations

import pytest
import sympy as sp

from analytic.bounds import bound
from analytic.bounds.proof import TexError, math, step, tex_prose

x = sp.Symbol("x", real=True)


def test_a_step_renders_text_markdown_and_latex_from_the_same_objects():
    expr, where = x ** 2 * sp.exp(-x), sp.Interval.open(0, sp.oo)
    s = step("φ′(x) = ", expr, " on ", where, ".")
    assert [p.value for p in s.parts if not isinstance(p, str)] == [expr, where]
    assert str(expr) in s.text() and str(where) in s.text() and s.text().startswith("φ′(x) = ")
    assert f"${sp.latex(expr)}$" in s.markdown() and "$(0, \\infty)$" in s.markdown()
    assert sp.latex(expr) in s.latex() and r"\varphi'" in s.latex()
    assert "**" not in s.latex() and "oo" not in s.latex()


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


def _values(b) -> list:
    """The SymPy objects of a bound's proof, step by step (prose dropped)."""
    return [[p.value for p in st.parts if not isinstance(p, str) and p.value is not None] for st in b.steps]


def _same(a, b) -> bool:
    return isinstance(a, sp.Expr) and sp.simplify(a - b) == 0


@pytest.mark.parametrize("name, dphi, sup, inf", [
    # derived by hand: sigma' = s(1 - s) <= 1/4 at s = 1/2 (x = 0); tanh' = 1 - t^2 <= 1 at t = 0;
    # GELU' = Phi(x) + x phi_N(x) with GELU'' = phi_N(x)(2 - x^2): extrema at x = ±sqrt(2)
    ("sigmoid", lambda x: 1 / (1 + sp.exp(-x)) * (1 - 1 / (1 + sp.exp(-x))), sp.Rational(1, 4), 0),
    ("tanh", lambda x: 1 - sp.tanh(x) ** 2, 1, 0),
    ("gelu", lambda x: (1 + sp.erf(x / sp.sqrt(2))) / 2 + x * sp.exp(-x ** 2 / 2) / sp.sqrt(2 * sp.pi),
     (1 + sp.erf(1)) / 2 + sp.exp(-1) / sp.sqrt(sp.pi), (1 - sp.erf(1)) / 2 - sp.exp(-1) / sp.sqrt(sp.pi)),
])
def test_proof_steps_hold_the_derivative_and_the_extrema(name, dphi, sup, inf):
    from analytic.core.special import to_elementary

    b = bound(name)
    values = _values(b)
    first = values[0][0]  # the first step states phi'
    assert sp.simplify(to_elementary(first).rewrite(sp.exp) - dphi(sp.Symbol("x", real=True)).rewrite(sp.exp)) == 0
    last = values[-1]  # the last states sup and inf, in this order
    exacts = [v for v in last if isinstance(v, sp.Expr) and v.is_number]
    assert _same(exacts[0], sup) and _same(exacts[-1], inf), last
    for st in (b.steps[0], b.steps[-1]):
        for p in st.parts:
            if not isinstance(p, str):  # each renderer shows each object
                assert p.text in st.text() and p.tex in st.markdown() and (p.tex in st.latex() or len(p.tex) > 120)


def test_sigmoid_proof_names_the_point_where_the_sup_is_attained():
    b = bound("sigmoid")
    x0 = sp.solve(sp.Eq(1 / (1 + sp.exp(-sp.Symbol("x"))), sp.Rational(1, 2)))  # s = 1/2
    points = [v for vs in _values(b) for v in vs if isinstance(v, sp.Expr) and v.is_number]
    assert x0 == [0] and 0 in points and sp.Rational(1, 4) in points
