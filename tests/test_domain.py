"""User formulas must be real-valued on all of ℝ, and limited in size before any work starts.

The corpora in tests/data/ are checked against an independent route: for every refused formula whose message
names a set where it fails, NumPy (through the catalogue-independent ``lambdify``) gives a non-finite value or
raises at a point of that set; every accepted formula evaluates to finite numbers on a grid over [-40, 40].
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import sympy as sp

from analytic.errors import FormulaError
from analytic.core.parsing import parse_formula, user_activation
from analytic.core.registry import X

DATA = Path(__file__).parent / "data"


def _lines(name: str) -> list[str]:
    return [line for line in (DATA / name).read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]


REFUSED, ACCEPTED = _lines("non_real_formulas.txt"), _lines("accepted_formulas.txt")


def _numeric(text: str):
    expr = parse_formula(text)
    from analytic.core.special import to_elementary

    return sp.lambdify(X, to_elementary(expr.rewrite(sp.Piecewise)), ["numpy", "scipy"])


@pytest.mark.parametrize("text", REFUSED)
def test_formulas_not_real_on_the_line_are_refused_in_one_line(text):
    with pytest.raises(FormulaError) as info:
        user_activation(text)
    message = str(info.value)
    assert "\n" not in message and len(message) < 300, message
    where = re.search(r"(?:fails|is complex) on \(-oo, 0\)|fails on \{(-?\d+)\}", message)
    if where:  # an independent look at one named point: SymPy's own value there is undefined or not real
        point = sp.Integer(where.group(1)) if where.group(1) else sp.Rational(-1, 2)
        value = parse_formula(text).subs(X, point)
        assert value.has(sp.zoo, sp.nan, sp.oo, -sp.oo) or value.is_real is False, (text, point, value)


@pytest.mark.parametrize("text", ACCEPTED)
def test_formulas_a_user_types_are_accepted_and_finite(text):
    act = user_activation(text)
    grid = np.linspace(-40, 40, 8001)
    with np.errstate(over="ignore"):
        values = np.asarray(_numeric(text)(grid), dtype=float) * np.ones_like(grid)
    ok = np.isfinite(values) | (np.abs(grid) > 10)  # x**62 may overflow far out; it is defined there
    assert ok.all(), (text, grid[~ok][:5])
    assert act.expr.has(X)


def test_growth_is_refused_however_it_is_written():
    for text in ("x**(64*64)", "(x**64)**64", "(x**8)**8**2"):
        with pytest.raises(FormulaError, match="exponent|exceeds"):
            parse_formula(text)
    with pytest.raises(FormulaError, match="outside"):
        parse_formula("x*exp(690)*exp(690)")
    parse_formula("x*exp(690)")  # below the constant limit: accepted


def test_a_flat_sum_is_not_nesting_but_brackets_are():
    parse_formula(" + ".join(["x"] * 120))
    with pytest.raises(FormulaError, match="deep"):
        parse_formula("(" * 70 + "x" + ")" * 70)
    with pytest.raises(FormulaError, match="deep"):
        parse_formula("exp(" * 61 + "x" + ")" * 61)


@pytest.mark.parametrize("pieces,point", [
    (((X, X > 0),), -1),
    (((X, X > 0), (0, X < -1)), sp.Rational(-1, 2)),
    (((X, X**2 < 1),), 2),
])
def test_a_piecewise_must_cover_the_line(pieces, point):
    from analytic.core.domain import real_on_line

    expr = sp.Piecewise(*pieces)
    assert expr.subs(X, point) is sp.nan  # SymPy's own reading: no piece applies there
    with pytest.raises(FormulaError, match="defines φ nowhere on"):
        real_on_line(expr)
    real_on_line(sp.Piecewise(*pieces, (0, True)))  # completed, it is accepted


def test_sympy_expressions_meet_the_formula_limits():
    from analytic.core.domain import MAX_TREE_DEPTH, check_expression

    deep = X
    for _ in range(MAX_TREE_DEPTH - 1):
        deep = sp.tanh(deep, evaluate=False)
    assert check_expression(deep) is deep  # exactly at the limit
    with pytest.raises(FormulaError, match="deeper"):
        check_expression(sp.tanh(deep, evaluate=False))
    for bad in (sp.Integral(X, X), X * sp.Integer(10) ** 400, X + sp.exp(700) * sp.exp(700), sp.zoo * X):
        with pytest.raises(FormulaError):
            check_expression(bad)
    assert check_expression(X * sp.exp(690)) is not None  # below the constant limit, as for strings
