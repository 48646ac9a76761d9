"""The interval rules of the bound compiler enclose the true range, and tightly.

For every special function f of the compiler, ``compile_interval(f(x))`` on [a, b] must return an interval
containing f's exact range over [a, b] (computed here with mpmath at 300 bits from the endpoints and the interior
critical points) and no wider than a few ulps of the compiler's 96-bit precision beyond it. A rule that rounds
an end the wrong way by even 2^-60 relative leaves the exact value outside; one that widens carelessly fails
the width check.
"""
from __future__ import annotations

import mpmath
import pytest
import sympy as sp
from mpmath.ctx_iv import MPIntervalContext
from sympy.codegen.cfunctions import expm1

from analytic.bounds.interval import compile_interval
from analytic.core.special import SPECIALS, sigmoid, softplus
from analytic.core.registry import X
from analytic.errors import BoundError

IV = MPIntervalContext()
IV.prec = 96
EXACT = mpmath.MPContext()
EXACT.prec = 300
#: Allowed excess width of an enclosure, relative to the size of the values it encloses.
SLACK = mpmath.mpf(2) ** -80


def _sigmoid(u):
    return 1 / (1 + EXACT.exp(-u))


def _softplus(u):
    return EXACT.log1p(EXACT.exp(u))


#: function → (its SymPy form, its value at 300 bits, its interior critical points)
RULES = {
    "exp": (sp.exp(X), EXACT.exp, ()),
    "expm1": (expm1(X), EXACT.expm1, ()),
    "log": (sp.log(X), EXACT.log, ()),
    "tanh": (sp.tanh(X), EXACT.tanh, ()),
    "erf": (sp.erf(X), EXACT.erf, ()),
    "erfc": (sp.erfc(X), EXACT.erfc, ()),
    "atan": (sp.atan(X), EXACT.atan, ()),
    "sinh": (sp.sinh(X), EXACT.sinh, ()),
    "cosh": (sp.cosh(X), EXACT.cosh, (0,)),
    "Abs": (sp.Abs(X), abs, (0,)),
    "sigmoid": (sigmoid(X), _sigmoid, ()),
    "softplus": (softplus(X), _softplus, ()),
    "sin": (sp.sin(X), EXACT.sin, tuple(EXACT.pi / 2 + k * EXACT.pi for k in range(-8, 8))),
    "cos": (sp.cos(X), EXACT.cos, tuple(k * EXACT.pi for k in range(-8, 8))),
}
#: Intervals with binary-fraction ends (exact in any precision); points included.
INTERVALS = [(-3.25, -0.5), (-0.75, 1.5), (0.125, 2.0), (1.0, 1.0), (0.5, 0.5), (-2.0, -2.0), (2.5, 19.75)]


def _exact_range(f, a: float, b: float, critical) -> tuple:
    points = [EXACT.mpf(a), EXACT.mpf(b)] + [c for c in critical if a < c < b]
    values = [f(p) for p in points]
    return min(values), max(values)


@pytest.mark.parametrize("name", sorted(RULES))
@pytest.mark.parametrize("a, b", INTERVALS)
def test_the_rule_encloses_the_exact_range_tightly(name, a, b):
    expr, f, critical = RULES[name]
    if name == "log" and a <= 0:
        a, b = 2.0 ** -3, max(b, 2.0 ** -3)  # log's domain: the same widths on the positive side
    lo, hi = _exact_range(f, a, b, critical)
    got = compile_interval(expr)(IV.mpf([a, b]))
    got_lo, got_hi = EXACT.mpf(got.a), EXACT.mpf(got.b)
    assert got_lo <= lo and hi <= got_hi, (name, a, b, got, lo, hi)
    scale = max(abs(lo), abs(hi), EXACT.mpf(2) ** -60)
    assert (lo - got_lo) <= SLACK * scale and (got_hi - hi) <= SLACK * scale, (name, a, b, got, lo, hi)


def test_every_special_function_has_a_case_here():
    assert set(RULES) == {s.name for s in SPECIALS}


def test_a_function_without_a_rule_is_refused():
    with pytest.raises(BoundError, match="no rule for gamma"):
        compile_interval(sp.gamma(X))
