"""Derivatives and NumPy forms of every catalogue entry, each checked against an independent route."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings, strategies as st

from analytic.core.activations import catalogue, names
from analytic.core.special import to_elementary
from analytic.core.calculus import derivative, derive, numpy_function, resolve
from analytic.core.registry import X

NAMES = names()
# 24 points in [-6, 6] that avoid every catalogue kink (0, ±1, ±3) by at least 0.05
POINTS = np.array([-5.9, -5.1, -4.4, -3.6, -3.2, -2.9, -2.5, -2.05, -1.7, -1.3, -0.8, -0.45, -0.1,
                   0.12, 0.37, 0.7, 0.95, 1.25, 1.8, 2.35, 2.8, 3.3, 4.6, 5.75])


def _mp_function(expr: sp.Expr):
    """The SymPy expression (with sigmoid/softplus rewritten) as an mpmath function: an independent evaluator."""
    return sp.lambdify([X], to_elementary(expr), modules="mpmath")


def _kink_free(act, xs, margin):
    kinks = [float(k.at) for k in act.kinks]
    return np.array([x for x in xs if all(abs(x - k) > margin for k in kinks)])


def _five_point(f, x, h):
    """Fourth-order central finite difference of a NumPy function."""
    return (-f(x + 2 * h) + 8 * f(x + h) - 8 * f(x - h) + f(x - 2 * h)) / (12 * h)


@pytest.mark.parametrize("name", NAMES)
def test_symbolic_derivative_matches_finite_difference_of_numpy_phi(name):
    act = resolve(name)
    phi = numpy_function(act, 0)
    dphi = _mp_function(derivative(act, 1))
    h = 1e-3
    xs = _kink_free(act, POINTS, 3 * h)
    assert len(xs) >= 20
    fd = _five_point(phi, xs, h)
    symbolic = np.array([float(dphi(mp.mpf(float(x)))) for x in xs])
    np.testing.assert_allclose(fd, symbolic, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("order", [0, 1])
def test_numpy_form_matches_high_precision_sympy_on_a_grid_to_40(name, order):
    act = resolve(name)
    grid = np.linspace(-40, 40, 81)
    ours = numpy_function(act, order)(grid)
    reference = _mp_function(derivative(act, order))
    with mp.workdps(400):  # enough digits that 1 + erf(-28) or 1 - tanh(40)^2 keeps its value
        exact = np.array([float(reference(mp.mpf(float(x)))) for x in grid])
    kinks = {float(k.at) for k in act.kinks}
    keep = np.array([x not in kinks for x in grid])  # at a kink the convention is pinned separately
    np.testing.assert_allclose(ours[keep], exact[keep], rtol=1e-12, atol=1e-250)


@pytest.mark.parametrize("name", NAMES)
def test_numpy_forms_finite_and_silent_up_to_1e4(name):
    xs = np.concatenate([-np.logspace(-8, 4, 200), [0.0], np.logspace(-8, 4, 200)])
    with np.errstate(all="raise"):
        for order in (0, 1):
            y = numpy_function(name, order)(xs)
            assert np.all(np.isfinite(y)), (name, order, xs[~np.isfinite(y)][:5])


@pytest.mark.parametrize("act", [a for a in catalogue() if a.kinks], ids=lambda a: a.name)
def test_kink_conventions_are_what_the_derivative_gives(act):
    """The stated PyTorch convention at each kink equals both the symbolic and the NumPy φ′ there."""
    dphi = derivative(act, 1)
    for kink in act.kinks:
        at = sp.sympify(kink.at)
        assert sp.simplify(dphi.subs(X, at) - kink.dphi) == 0
        numeric = numpy_function(act, 1)(np.array([float(at.subs(act.bind(None)))]))[0]
        assert numeric == pytest.approx(float(sp.sympify(kink.dphi).subs(act.bind(None))), rel=1e-14)


def test_published_pytorch_kink_values():
    """Values documented for torch autograd, written independently of the catalogue's records."""
    expected = {"relu": [(0, 0)], "leaky_relu": [(0, 0.01)], "elu": [(0, 1)], "hardtanh": [(-1, 0), (1, 0)],
                "hard_sigmoid": [(-3, 0), (3, 0)], "hard_swish": [(-3, -0.5), (3, 1.5)], "celu": [(0, 1)]}
    for name, pairs in expected.items():
        f = numpy_function(name, 1)
        for x, value in pairs:
            assert f(np.array([float(x)]))[0] == pytest.approx(value, abs=1e-15), name


def test_sigmoid_derivative_is_sigma_times_one_minus_sigma():
    from analytic.core.special import sigmoid

    s = sigmoid(X)
    assert sp.simplify(derivative("sigmoid") - s * (1 - s)) == 0


def test_gelu_second_derivative_closed_form():
    """GELU'' = φ_N(x)(2 − x²), the fact behind its closed-form extrema at ±√2."""
    pdf = sp.exp(-X**2 / 2) / sp.sqrt(2 * sp.pi)
    assert sp.simplify(derivative("gelu", 2) - pdf * (2 - X**2)) == 0


def test_silu_is_swish_at_beta_one():
    swish = resolve("swish")
    assert sp.simplify(swish.replace({"beta": 1}).expr - resolve("silu").expr) == 0


def test_user_formula_equals_mish():
    ours = derive("x*tanh(log(1+exp(x)))", at=[-3.0, 0.5, 40.0])
    ref = derive("mish", at=[-3.0, 0.5, 40.0])
    np.testing.assert_allclose(ours.dphi_values, ref.dphi_values, rtol=1e-14)
    assert sp.simplify(to_elementary(ours.dphi - ref.dphi)) == 0


def test_parameters_change_values():
    d = derive("leaky_relu", {"negative_slope": 0.2}, at=[-2.0])
    assert d.phi_values == (-0.4,) and d.dphi_values == (0.2,)


PARAM_RANGES = {"alpha": (0.2, 3.0), "beta": (0.2, 4.0), "negative_slope": (-0.5, 0.9), "a": (-0.5, 0.9),
                "c": (0.1, 10.0), "scale": (0.5, 2.0)}


@settings(max_examples=60, deadline=None, derandomize=True)
@given(name=st.sampled_from(NAMES), x=st.floats(-8, 8), u=st.floats(0, 1))
def test_property_derivative_matches_mpmath_diff(name, x, u):
    """At random points and parameters, NumPy φ′ equals mpmath's numerical derivative of φ (30 digits)."""
    act = resolve(name)
    params = {p.name: PARAM_RANGES[p.name][0] + u * (PARAM_RANGES[p.name][1] - PARAM_RANGES[p.name][0])
              for p in act.record.params}
    for k in act.replace(params).kinks:
        if abs(x - float(k.at)) < 1e-3:
            return
    phi = _mp_function(act.replace(params).expr)
    with mp.workdps(30):
        expected = float(mp.diff(phi, mp.mpf(x)))
    got = numpy_function(act, 1, params)(np.array([x]))[0]
    assert got == pytest.approx(expected, rel=1e-10, abs=1e-13)


def test_catalogue_output_does_not_depend_on_a_clock(monkeypatch):
    """Time budgets apply to user formulas only: with a budget no simplification could meet, a catalogue
    entry still prints its simplified derivative (so what it prints does not depend on machine load)."""
    from analytic.core import calculus

    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 1e-4)
    calculus._simplified.cache_clear()
    try:
        expected = sp.sqrt(2) * (2 - X**2) * sp.exp(-X**2 / 2) / (2 * sp.sqrt(sp.pi))
        assert derivative("gelu", 2) == expected  # structurally, not just mathematically
    finally:
        calculus._simplified.cache_clear()
