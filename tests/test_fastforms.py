"""The NumPy (φ, φ′) pairs used by the Monte Carlo, against an independent route: the catalogue's SymPy formula
evaluated by mpmath at 400 digits, on a grid reaching ±40 and at every kink (where the truth is the SymPy
``Piecewise`` evaluated exactly at the kink, i.e. the declared convention: ReLU′(0) = 0, hardtanh′(±1) = 0, …).
"""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
import sympy as sp

from analytic.core.activations import names
from analytic.core.special import to_elementary
from analytic.core.calculus import derivative, numpy_kernel, numpy_pair, resolve
from analytic.core.fastforms import NAMES as FUSED
from analytic.core.registry import X

GRID = np.concatenate([np.linspace(-40, 40, 161), [-1e-8, 1e-8, 0.5, -0.5, 2.9999, -2.9999, 700.0, -700.0]])
#: Entries whose forms compiled together lose a stable form, so numpy_pair evaluates the two separate functions.
SEPARATE = {"gelu", "gelu_tanh"}
USER = ["x/(1+exp(-x))", "x*tanh(log(1+exp(x)))", "x*sigmoid(x)"]


def _truth(act, order: int, xs: np.ndarray) -> np.ndarray:
    expr = derivative(act, order) if order else act.expr
    expr = expr.subs(act.subs)
    f = sp.lambdify([X], to_elementary(expr), modules="mpmath")
    kinks = {float(k.at): k for k in act.kinks}
    out = []
    with mp.workdps(400):
        for x in xs:
            if float(x) in kinks:  # the convention: the Piecewise at the exact kink
                out.append(float(expr.subs(X, kinks[float(x)].at)))
            else:
                out.append(float(f(mp.mpf(float(x)))))
    return np.array(out)


def _points(act) -> np.ndarray:
    return np.concatenate([GRID, [float(k.at) for k in act.kinks]])


@pytest.mark.parametrize("name", names() + USER)
def test_pair_matches_high_precision_sympy_including_kinks(name):
    act = resolve(name)
    xs = _points(act)
    y, d = numpy_pair(act)(xs)
    np.testing.assert_allclose(y, _truth(act, 0, xs), rtol=1e-12, atol=1e-300, err_msg=f"{name} phi")
    np.testing.assert_allclose(d, _truth(act, 1, xs), rtol=1e-12, atol=1e-300, err_msg=f"{name} dphi")


@pytest.mark.parametrize("name", names() + USER)
def test_kernel_writes_the_pair_into_its_buffers(name):
    act = resolve(name)
    xs = _points(act)
    y, d, t = np.full_like(xs, np.nan), np.full_like(xs, np.nan), np.empty_like(xs)
    v = xs.copy()
    with np.errstate(all="ignore"):
        numpy_kernel(act)(v, y, d, t)
    assert np.array_equal(v, xs)  # the input is left alone
    ry, rd = numpy_pair(act)(xs)
    assert np.array_equal(y, ry) and np.array_equal(d, rd)


def test_the_fast_forms_are_the_ones_in_use():
    """A fast form that is wrong must fail a test, not fall back silently to a slower correct one."""
    for name in names():
        pair = numpy_pair(name)
        if name in FUSED:
            assert getattr(pair, "fused", False), name
        elif name not in SEPARATE:
            assert getattr(pair, "shared", False), name
    for formula in USER:
        assert getattr(numpy_pair(formula), "shared", False), formula


def test_kink_conventions_of_the_pairs():
    pinned = {("relu", 0.0): 0.0, ("hardtanh", 1.0): 0.0, ("hardtanh", -1.0): 0.0, ("leaky_relu", 0.0): 0.01,
              ("elu", 0.0): 1.0, ("hard_swish", -3.0): -0.5, ("hard_swish", 3.0): 1.5, ("hard_sigmoid", 3.0): 0.0,
              ("hard_sigmoid", -3.0): 0.0, ("celu", 0.0): 1.0, ("softsign", 0.0): 1.0, ("prelu", 0.0): 0.25}
    for (name, x), value in pinned.items():
        assert numpy_pair(name)(np.array([x]))[1][0] == value, (name, x)
