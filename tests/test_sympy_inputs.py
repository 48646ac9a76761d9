"""Every public function takes a SymPy expression in one free symbol of any name and assumptions.

The derivative is checked against central finite differences of the NumPy form of φ itself (an independent
route: no symbolic differentiation involved), and the bound / gradient results against the catalogue entry
written with the library's own variable.
"""
from __future__ import annotations

import numpy as np
import pytest
import sympy as sp

import analytic
from analytic.core.calculus import derive, numpy_function, resolve
from analytic.errors import AnalyticError, FormulaError

x = sp.Symbol("x")  # what every SymPy user types: no assumptions, not the library's real x
t = sp.Symbol("t", positive=True)
z = sp.Symbol("z", real=True)

CASES = [
    ("x*sigmoid", x / (1 + sp.exp(-x))),
    ("tanh(t), t positive", sp.tanh(t)),
    ("softplus in z", sp.log(1 + sp.exp(z))),
    ("x*erf(x)", x * sp.erf(x) + sp.exp(-x ** 2)),
    ("Max(x, 0)", sp.Max(x, 0)),
    ("abs", sp.Abs(t - 1)),
]
GRID = np.linspace(-4.0, 4.0, 81) + 0.0123  # off the kinks at 0 and 1


@pytest.mark.parametrize("label,expr", CASES, ids=[c[0] for c in CASES])
def test_dphi_matches_finite_differences(label, expr):
    act = resolve(expr)
    phi = numpy_function(act, 0)
    h = 1e-5
    fd = (phi(GRID + h) - phi(GRID - h)) / (2 * h)
    d = derive(expr, at=list(GRID))
    assert np.allclose(d.dphi_values, fd, rtol=1e-6, atol=1e-7)
    assert np.max(np.abs(fd)) > 0.1  # not the silent φ′ = 0 of an unmapped symbol
    assert d.dphi.free_symbols <= {analytic.X}


def test_phi_values_match_the_expression_itself():
    points = [-1.5, 0.5, 2.0]
    values = derive(sp.tanh(t) * t, at=points).phi_values
    assert values == pytest.approx([np.tanh(v) * v for v in points], rel=1e-12)


def test_bound_of_a_plain_symbol_expression_is_the_catalogue_bound():
    b = analytic.bound(sp.tanh(x))
    assert b.sup.exact == 1 and b.sup.attained
    assert float(b.inf.upper) == 0.0 and not b.inf.attained
    s = analytic.bound(1 / (1 + sp.exp(-x)))
    assert s.sup.exact == sp.Rational(1, 4)


def test_independence_product_and_simulation_agree_with_the_catalogue():
    mine = analytic.independence_product(sp.tanh(sp.Symbol("u")), 5, "normal(1, 0.5)", preact="normal(0, 1)")
    ref = analytic.independence_product("tanh", 5, "normal(1, 0.5)", preact="normal(0, 1)")
    assert float(mine.mean) == pytest.approx(float(ref.mean), rel=1e-9)
    assert float(mine.mean) != 0.0


def test_parameters_by_name_and_too_many_symbols():
    a = sp.Symbol("a")
    act = resolve(sp.Piecewise((x, x > 0), (a * x, True)), {"a": 0.2})
    assert numpy_function(act, 1)(np.array([-1.0, 1.0])).tolist() == pytest.approx([0.2, 1.0])
    with pytest.raises(FormulaError, match="2 free symbols"):
        resolve(a * x)
    assert issubclass(FormulaError, AnalyticError)


@pytest.mark.parametrize("bad", [sp.Function("f")(x), sp.Eq(x, 1), 3, None, sp.Integral(sp.exp(-x**2), x),
                                 sp.Derivative(sp.tanh(x), x), sp.Piecewise((x, x > 0)), x * sp.Integer(10**5000),
                                 x * sp.exp(1380), sp.Piecewise((x, (x > 0) & (x < 1)), (0, True)), sp.EulerGamma * x],
                         ids=lambda e: type(e).__name__)
def test_refused_inputs(bad):
    with pytest.raises(FormulaError):
        resolve(bad)
