"""Each special-function record against SymPy's own evaluation of its class: the NumPy form to a relative 1e-13
and the mpmath form to a relative 1e-25 on a grid reaching ±40; its interval rule (through the interval compiler)
enclosing the values at 50 digits on random small intervals; and the tables generated from the records."""
from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp

from analytic.bounds.interval import IV_CONTEXT, upper_end, lower_end, compile_interval
from analytic.core.parsing import parse_formula
from analytic.core.registry import X
from analytic.core.special import ENTIRE, SPECIALS, numpy_namespace, parser_functions, sigmoid, softplus, special
from analytic.errors import ArgumentError, BoundError, FormulaError

GRID = np.linspace(-40.0, 40.0, 321)  # step 1/4: every point is an exact binary fraction
TINY = np.finfo(float).tiny


def _grid(s) -> np.ndarray:
    return GRID[GRID > s.domain_lo]


def _sympy_value(s, x: float, digits: int) -> sp.Expr:
    value = sp.N(s.sympy(sp.Rational(x)), digits)
    assert value.is_real, (s.name, x, value)
    return value


@pytest.mark.parametrize("s", SPECIALS, ids=lambda s: s.name)
def test_numpy_form_agrees_with_sympy_evalf(s):
    xs = _grid(s)
    with np.errstate(all="raise"):
        got = np.asarray(s.numpy(xs), dtype=float)
    want = np.array([float(_sympy_value(s, x, 30)) for x in xs])
    normal = np.abs(want) >= TINY  # below the smallest normal float only the absolute size can be asked for
    np.testing.assert_allclose(got[normal], want[normal], rtol=1e-13, atol=0.0)
    assert np.all(np.abs(got[~normal]) < TINY)


@pytest.mark.parametrize("s", SPECIALS, ids=lambda s: s.name)
def test_mpmath_form_agrees_with_sympy_evalf(s):
    with mpmath.workdps(40):
        for x in _grid(s):
            want = mpmath.mpf(str(_sympy_value(s, x, 45)))
            got = s.mpmath(mpmath.mp, mpmath.mpf(x))
            assert abs(got - want) <= 1e-25 * abs(want), (s.name, x, got, want)


@pytest.mark.parametrize("s", SPECIALS, ids=lambda s: s.name)
def test_values_lie_in_the_declared_range(s):
    with mpmath.workdps(30):
        for x in _grid(s):
            v = sp.Float(str(s.mpmath(mpmath.mp, mpmath.mpf(x))), 30)
            # at the ends of the grid a value can round onto an open end of the range (tanh(40) = 1 to 30 digits)
            assert s.range.contains(v) or any(sp.Abs(v - e) < 1e-25 for e in s.range.boundary), (s.name, x, v)


@pytest.mark.parametrize("s", SPECIALS, ids=lambda s: s.name)
def test_mpmath_form_at_infinity_is_sympys_limit(s):
    for end in (sp.oo, -sp.oo):
        if s.domain_lo > -np.inf and end < 0:
            continue
        limit = sp.limit(s.sympy(sp.Symbol("u", real=True)), sp.Symbol("u", real=True), end)
        if not (limit.is_extended_real and limit.is_number):
            continue  # sin, cos: no limit
        with mpmath.workdps(30):
            got = s.mpmath(mpmath.mp, mpmath.inf if end > 0 else -mpmath.inf)
            if limit.is_finite:
                assert abs(got - mpmath.mpf(str(sp.N(limit, 35)))) <= 1e-25, (s.name, end, got, limit)
            else:
                assert got == (mpmath.inf if limit > 0 else -mpmath.inf), (s.name, end, got, limit)


def test_the_parser_whitelist_comes_from_the_records():
    functions = parser_functions()
    assert set(functions) == {n for s in SPECIALS for n in s.parse}
    for name, cls in functions.items():
        assert isinstance(parse_formula(f"{name}(x/3 + 1)"), (cls, sp.Expr))
        assert parse_formula(f"{name}(x/3 + 1)").has(cls) or cls is sp.Abs  # Abs becomes Piecewise
    with pytest.raises(FormulaError, match="not allowed"):
        parse_formula("erfc(x)")  # a record without parser names: produced by rewriting, never typed


def test_the_numpy_namespace_and_the_entire_functions_come_from_the_records():
    assert numpy_namespace() == {s.sympy.__name__: s.numpy for s in SPECIALS}
    assert numpy_namespace()["sigmoid"] is special(sigmoid).numpy
    assert sp.log not in ENTIRE and {sp.exp, sp.erf, sigmoid, softplus, sp.Abs} <= set(ENTIRE)
    with pytest.raises(ArgumentError):
        special(sp.gamma)


def _intervals(s, rng: np.random.Generator) -> list[tuple[float, float]]:
    """Random intervals of widths 1e-12 to 1 inside the domain and the grid, and a few around 0 and at the ends."""
    low = max(s.domain_lo, -40.0)
    out = []
    for _ in range(150):
        a = rng.uniform(low, 40.0)
        out.append((a, a + 10.0 ** rng.uniform(-12, 0)))
    fixed = [(-0.5, 0.25), (-1e-9, 1e-9), (-3.0, -2.0), (0.0, 0.0), (39.0, 40.0), (-40.0, -39.0)]
    return out + [(a, b) for a, b in fixed if a > s.domain_lo]


@pytest.mark.parametrize("s", SPECIALS, ids=lambda s: s.name)
def test_interval_rule_encloses_the_mpmath_value(s):
    f = compile_interval(s.sympy(X))
    rng = np.random.default_rng(20260101)
    for a, b in _intervals(s, rng):
        r = f(IV_CONTEXT.mpf([a, b]))
        with mpmath.workdps(50):
            for t in (a, a + (b - a) / 3, (a + b) / 2, b):
                v = s.mpmath(mpmath.mp, mpmath.mpf(t))
                assert lower_end(r) <= v <= upper_end(r), (s.name, a, b, t)
        point = f(IV_CONTEXT.mpf([a, a]))  # and a tight one: a point is enclosed to a few units in the last place
        assert upper_end(point) - lower_end(point) <= 1e-20 * max(1, abs(lower_end(point))), (s.name, a, point)


def test_interval_rules_refuse_to_leave_the_domain():
    with pytest.raises(BoundError, match="domain of log"):
        compile_interval(sp.log(X))(IV_CONTEXT.mpf([-1, 1]))
