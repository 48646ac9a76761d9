"""Hostile input through the library: each class of bad input is refused with an AnalyticError, and a result that
has no value is withheld with its reason, never returned as a number.

The values that must be withheld are shown to have no value by an independent route (a quadrature that grows
without bound, a product that is zero by hand); the SymPy route is held to the string route's strictness by
feeding it the string corpus of refused formulas through SymPy's own parser.
"""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from scipy import integrate

import analytic
from analytic import AnalyticError
from analytic.errors import ArgumentError, ConvergenceError, FormulaError
from analytic.output.budget import QUICK, Budget
from analytic.quantities import LogQuantity
from analytic.theory.undefined import checked_quantity, quantity_reason, require_finite

from hang_guard import guard

x = sp.Symbol("x")
DATA = Path(__file__).parent / "data"


def _deep(levels: int) -> sp.Expr:
    e = x
    for _ in range(levels):
        e = sp.tanh(e, evaluate=False)  # SymPy's own evaluation of a deep tanh tower never finishes
    return e


# ----------------------------------------------------------------------------- class 1: no NaN is ever a result

def test_a_diverging_exact_chain_is_withheld_not_zero():
    # phi = exp(x^2), w ~ N(0, 1), x = 1: E[prod^2] at depth 1 is E[w^2 (2w exp(w^2))^2] = ∫ 4 w^4 e^{2w^2} dN(w),
    # whose integrand grows like e^{1.5 w^2}: the integral over [0, R] has no bound (independent quadrature)
    density = lambda w: 4 * w**4 * np.exp(1.5 * w**2) / math.sqrt(2 * math.pi)
    partial = [integrate.quad(density, 0, r)[0] for r in (5, 10, 20)]
    assert partial[0] < partial[1] < partial[2] and partial[2] > 1e100
    with np.errstate(all="ignore"):
        g = analytic.gradient("exp(x**2)", 3, "normal(0, 1)", preact="normal(0, 0.1)")  # independence: finite
    chain = g.exact_chain
    for name in ("mean_abs", "mean_square"):
        q = chain[name]
        assert not q.converged and math.isnan(q.log_abs), (name, q)
    assert any(n.startswith("withheld:") and "mean_square" in n for n in chain.notes)
    assert g.ratios["mean_square"] is None and g.depth_to_threshold["exact_chain"]["mean_square"] is None
    assert math.isfinite(g.independence.log_mean_square)  # q = 0.01 < 1/4: E[phi'(v)^2] is finite there


def test_a_direct_exact_chain_call_withholds_what_is_not_a_number():
    # the same diverging chain as above, asked of exact_chain itself (not through gradient): no converged NaN
    with np.errstate(all="ignore"):
        chain = analytic.exact_chain("exp(x**2)", 3, "normal(0, 1)")
    for name in ("mean_abs", "mean_square"):
        q = chain[name]
        assert not q.converged and q.value is None, (name, q)
    every = [chain.by_depth[n] for n in ("mean_abs", "mean_square")]
    assert all(not s.converged[k] for s in every for k in range(len(s.converged)) if math.isnan(s.log_abs[k]))


def test_log_mean_of_products_that_are_all_zero_is_withheld():
    # x = 0 and relu'(0) = 0: the first factor is w_1 * relu'(w_1 * 0) = 0, so every product is 0 (by hand); the
    # mean log over the non-zero products is over an empty set
    g = analytic.gradient("relu", 3, "normal(0, 1)", x=0)
    assert g.exact_chain["zero_probability"].value == 1.0
    lm = g.exact_chain["log_mean"]
    assert not lm.converged and math.isnan(lm.log_abs)
    assert any("every product is exactly 0" in n for n in g.exact_chain.notes)
    assert g.ratios["typical"] is None and g.depth_to_threshold["exact_chain"]["typical"] is None
    ok = analytic.gradient("relu", 3, "normal(0, 1)", x=1)  # the same chain from x = 1 keeps its log mean
    assert ok.exact_chain["log_mean"].converged and math.isfinite(ok.exact_chain["log_mean"].value)


@pytest.mark.parametrize("q,withheld", [
    (LogQuantity(math.nan, 0, math.nan), True),
    (LogQuantity(math.nan, -9223372036854775808, math.nan), True),  # a NaN cast to int
    (LogQuantity(math.inf, 1, 0.0), True),  # overflow: +inf is not a value
    (LogQuantity(0.0, 1, math.nan), True),  # converged, but its error is unknown
    (LogQuantity(-math.inf, 0, -math.inf), False),  # an exact 0
    (LogQuantity(2.0, -1, -10.0), False),
])
def test_checked_quantity(q, withheld):
    out, why = checked_quantity("mean", q)
    assert (why is not None) == withheld
    if withheld:
        assert not out.converged and math.isnan(out.log_abs) and "mean" in why
    else:
        assert out is q


def test_require_finite_refuses_nan_and_keeps_infinity():
    require_finite("it", "because", q_star=math.inf, chi1=1.0)
    with pytest.raises(ConvergenceError, match="chi1 not a number"):
        require_finite("it", "because", q_star=1.0, chi1=math.nan)


def test_independence_approximation_of_a_diverging_integral_is_refused():
    # E[phi'(v)^2] for phi = exp(x^2), v ~ N(0, 1): the integrand 4 v^2 e^{2v^2} e^{-v^2/2} has no bound
    with np.errstate(all="ignore"), pytest.raises(ConvergenceError, match="not a number"):
        analytic.independence_product("exp(x**2)", 3, "normal(0, 1)")
    assert quantity_reason("log_mean", LogQuantity(math.nan, 0, math.nan),
                           LogQuantity(0.0, 1, -40.0)).startswith("log_mean is undefined")


# ------------------------------------------------------------ class 2: only AnalyticError leaves the library

class _BadFloat(float):
    def __float__(self):
        raise RuntimeError("no float")


CLASS2 = [
    ("derive Integral", lambda: analytic.derive(sp.Integral(sp.exp(-x**2), x))),
    ("bound Derivative", lambda: analytic.bound(sp.Derivative(sp.tanh(x), x))),
    ("gradient Integral", lambda: analytic.gradient(sp.Integral(x, x), 2, "normal(0, 1)")),
    ("simulate Derivative", lambda: analytic.simulate(sp.Derivative(sp.tanh(x), x), 2, "normal(0, 1)", samples=64,
                                                      progress=False)),
    ("Sum", lambda: analytic.resolve(sp.Sum(x, (x, 1, 3)))),
    ("Limit", lambda: analytic.resolve(sp.Limit(sp.sin(x) / x, x, 0) * x)),
    ("5000-digit integer", lambda: analytic.derive(x * sp.Integer(10**5000))),
    ("5000-digit denominator", lambda: analytic.derive(x / sp.Integer(10**5000))),
    ("5000-digit param", lambda: analytic.derive("a*x", params={"a": 10**5000})),
    ("5000-digit at", lambda: analytic.derive("tanh", at=[10**5000])),
    ("tiny Float", lambda: analytic.derive(x * sp.Float("1e-400"))),
    ("deep tanh", lambda: analytic.derive(_deep(3000))),
    ("deep polynomial", lambda: analytic.derive(_horner(2000))),
    ("deep Activation", lambda: analytic.resolve(analytic.Activation("mine", _deep(200).subs(x, analytic.X)))),
    ("float subclass sigma_w2", lambda: analytic.mean_field("tanh", _BadFloat(1.0))),
    ("float subclass x", lambda: analytic.gradient("tanh", 2, "normal(0, 1)", x=_BadFloat(1.0))),
    ("float subclass param", lambda: analytic.derive("elu", params={"alpha": _BadFloat(1.0)})),
    ("depth_table evil", lambda: analytic.depth_table("tanh", [1, 2], "normal(0, 1)", evil=1)),
    ("plot_sweep evil", lambda: analytic.plot_sweep({}, evil=1)),
    ("haar None", lambda: analytic.haar_orthogonal(None, 3)),
    ("haar rows", lambda: analytic.haar_orthogonal(np.random.default_rng(0), 2.5)),
    ("plot_activation ax", lambda: analytic.plot_activation("tanh", ax="nope", grid=11)),
    ("plot_activation ax triple", lambda: analytic.plot_activation("tanh", ax=[1, 2, 3], grid=11)),
    ("plot_histogram ax", lambda: analytic.plot_histogram("tanh", ax=[], budget=QUICK)),
    ("Budget grid", lambda: Budget(grid=0)),
    ("Budget chains", lambda: replace(QUICK, chains=-5)),
    ("Budget tuple", lambda: replace(QUICK, hist_depths=())),
    ("Budget text", lambda: replace(QUICK, seed="0")),
]


def _horner(n: int) -> sp.Expr:
    e = x
    for _ in range(n):
        e = e * x + 1
    return e


@pytest.mark.parametrize("label,call", CLASS2, ids=[c[0] for c in CLASS2])
def test_bad_input_raises_an_analytic_error(label, call):
    with guard(60), np.errstate(all="ignore"):
        with pytest.raises(AnalyticError) as info:
            call()
    message = str(info.value)
    assert message and "\n" not in message and len(message) <= 400, message


# ------------------------------------------------------------- class 3: bad input that used to be accepted

def test_a_piecewise_that_leaves_part_of_the_line_undefined_is_refused_by_both_routes():
    half = sp.Piecewise((x, x > 0))
    for call in (lambda: analytic.resolve(half), lambda: analytic.bound(half),
                 lambda: analytic.mean_field(half, 2.0)):
        with pytest.raises(FormulaError, match=r"nowhere on \(-oo, 0\]"):
            call()
    with pytest.raises(FormulaError):  # the string route refused it already
        analytic.resolve("Piecewise((x, x > 0))")
    # completed with a piece for x <= 0 it is ReLU, and the mean field agrees with the catalogue entry
    full = analytic.mean_field(sp.Piecewise((x, x > 0), (0, True)), 2.0)
    relu = analytic.mean_field("relu", 2.0)
    assert full.q_star == relu.q_star and full.chi1 == relu.chi1


def test_piecewise_pieces_that_cover_the_line_without_true_are_accepted():
    act = analytic.resolve(sp.Piecewise((x, x > 0), (0, x <= 0)))
    assert analytic.numpy_function(act, 0)(np.array([-1.0, 2.0])).tolist() == [0.0, 2.0]


def _sympy_corpus() -> list[sp.Expr]:
    out = []
    for line in (DATA / "non_real_formulas.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            out.append(sp.sympify(line, locals={"x": x}))  # trusted test data: SymPy's own parser
    return out


@pytest.mark.parametrize("expr", _sympy_corpus(), ids=str)
def test_the_sympy_route_is_as_strict_as_the_string_route(expr):
    with guard(60), pytest.raises(FormulaError):
        analytic.resolve(expr)


@pytest.mark.parametrize("call", [
    lambda: analytic.spectral_density("tanh", 2, 1.0, points=0),
    lambda: analytic.spectral_density("tanh", 2, 1.0, points=2.5),
    lambda: analytic.plot_activation("tanh", grid=0),
    lambda: analytic.plot_activation("tanh", grid=10**9),
    lambda: analytic.plot_activation("tanh", grid=11, title="\x00"),
    lambda: analytic.plot_gradient_depth("tanh", legend="yes", budget=QUICK),
    lambda: analytic.finite_width("relu", 2, 2.0, 4, median="no"),
    lambda: analytic.spectrum("tanh", 2, 1.0, density=1),
    lambda: analytic.sample_spectrum("tanh", 2, 1.0, 4, seed=-1),
    lambda: analytic.bivariate_expectation("tanh", "phi", "phi", "1", 0.5),
    lambda: analytic.window("tanh", True),
])
def test_numbers_and_sizes_that_were_accepted_are_refused(call):
    with guard(60), pytest.raises(ArgumentError):
        call()


def test_the_valid_neighbours_still_work():
    d = analytic.spectral_density("identity", 1, 1.0, points=11)
    assert len(d.grid) >= 11 and abs(d.m1 - 1.0) < 0.05  # Marchenko-Pastur (mean 1) on a coarse grid
    ax = analytic.plot_activation("tanh", grid=3, title="")
    assert len(ax) == 2
    assert analytic.haar_orthogonal(np.random.default_rng(0), 3, 2).shape == (3, 2)
