"""The window {a : |w phi'(w a + b)| >= 1}: exact endpoints, certified enclosures, the widest window.

Independent routes: the sigmoid closed form written here, a dense float scan of |w phi'(w a + b)|, and the exact
tanh endpoints against the certified route forced onto the same piece.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp

from analytic.core.calculus import derivative, numpy_function
from analytic.core.registry import X
from analytic.errors import ArgumentError
from analytic.theory.window import certified_piece, widest_window, window


def sigmoid_width(w: float) -> float:
    """(2/|w|) ln(|w|(1 + sqrt(1 - 4/|w|))/2 - 1), |w| >= 4: from s(1-s) >= 1/|w|, s = sigma(w a + b)."""
    w = abs(w)
    return (2 / w) * math.log(w * (1 + math.sqrt(1 - 4 / w)) / 2 - 1)


def scan(name: str, w: float, b: float, lo: float = -40, hi: float = 40, n: int = 400001):
    a = np.linspace(lo, hi, n)
    inside = np.abs(w * numpy_function(name, 1)(w * a + b)) >= 1
    return a, inside


@pytest.mark.parametrize("w", [4.5, 6.9, -8.0, 20.0])
def test_sigmoid_matches_the_closed_form(w):
    win = window("sigmoid", w, 0.3)
    assert win.method == "exact" and len(win.intervals) == 1
    assert win.width == pytest.approx(sigmoid_width(w), rel=1e-13)
    lo, hi = win.intervals[0]
    for e in (lo, hi):  # the exact endpoint satisfies |w sigma'(w a + b)| = 1
        s = 1 / (1 + math.exp(-(w * e.value + 0.3)))
        assert abs(w) * s * (1 - s) == pytest.approx(1.0, rel=1e-10)
        assert e.exact is not None and float(sp.N(sp.sympify(e.exact), 30)) == pytest.approx(e.value, rel=1e-14)


def test_sigmoid_below_four_is_empty():
    assert window("sigmoid", 3.99).intervals == () and window("sigmoid", 3.99).width == 0


@pytest.mark.parametrize("name, w, b", [("tanh", 2.0, 0.5), ("gelu", 3.0, 1.0), ("silu", -2.5, 0.0),
                                        ("softsign", 3.0, 0.2), ("mish", 1.05, 0.0), ("hardtanh", 2.0, 0.0),
                                        ("elu", 0.8, 0.0), ("leaky_relu", 50.0, 0.0), ("relu", 0.5, 0.0)])
def test_window_against_a_dense_scan(name, w, b):
    win = window(name, w, b)
    a, inside = scan(name, w, b)
    step = a[1] - a[0]
    claimed = np.zeros_like(inside)
    for lo, hi in win.intervals:
        claimed |= (a >= lo.value) & (a <= hi.value)
    disagree = np.nonzero(claimed != inside)[0]
    # a scan point may disagree only within one grid step of an endpoint
    ends = np.array([e.value for iv in win.intervals for e in iv if math.isfinite(e.value)])
    for i in disagree:
        assert ends.size and np.min(np.abs(ends - a[i])) <= step, (name, a[i])
    if math.isfinite(win.width):
        assert win.width == pytest.approx(np.count_nonzero(inside) * step, abs=3 * step)
        assert win.width_lower <= win.width <= win.width_upper


def test_certified_endpoints_enclose_the_exact_ones():
    d = derivative("tanh", 1)
    exact = window("tanh", 2.0)
    assert exact.method == "exact"
    got, _ = certified_piece(d, 0.5, -math.inf, math.inf)
    assert len(got) == 1
    for cert, ex in zip(got[0], exact.intervals[0]):
        x = 2.0 * ex.value  # back to x = w a
        assert cert.lower <= x <= cert.upper and cert.upper - cert.lower <= 1e-11


def test_the_widest_sigmoid_window():
    ww = widest_window("sigmoid")
    ws = np.linspace(4.001, 30, 200001)
    widths = np.array([sigmoid_width(w) for w in ws])
    assert ww.w == pytest.approx(ws[np.argmax(widths)], abs=1e-3)
    assert ww.width == pytest.approx(widths.max(), abs=1e-9)
    assert 6.8 < ww.w < 7.0 and 0.447 < ww.width < 0.448


def test_relu_window_is_unbounded_and_bad_weights_are_refused():
    assert window("relu", 2.0).width == math.inf and window("relu", 2.0).intervals[0][0].exact == "0"
    assert widest_window("relu").width == math.inf
    for w in (0.0, math.inf, math.nan):
        with pytest.raises(ArgumentError):
            window("tanh", w)


@pytest.mark.parametrize("name, w, b", [("sigmoid", 4.0, 0.0), ("sigmoid", -4.0, 0.3), ("tanh", 1.0, 0.0),
                                        ("tanh", -1.0, 0.3), ("softsign", 1.0, 0.0)])
def test_at_the_boundary_the_window_is_one_point(name, w, b):
    # |w| max|phi'| = 1 (sigmoid' <= 1/4, tanh' <= 1, softsign' <= 1, each attained only at x = 0): the closed set
    # {a : |w phi'(w a + b)| >= 1} is the single point a = -b/w, of width 0
    win = window(name, w, b)
    assert win.method == "exact" and len(win.intervals) == 1 and win.width == 0
    lo, hi = win.intervals[0]
    a = -sp.Rational(repr(b)) / sp.Rational(repr(w))
    assert sp.sympify(lo.exact) == a and sp.sympify(hi.exact) == a
    d = derivative(name, 1)
    at = d.subs(X, sp.Rational(repr(w)) * a + sp.Rational(repr(b)))
    assert sp.simplify(abs(sp.Rational(repr(w)) * at)) == 1  # equality holds there, by symbolic evaluation
    for step in (-1e-3, 1e-3):  # and only there
        assert abs(w * numpy_function(name, 1)(w * (float(a) + step) + b)) < 1


def test_elu_window_at_w_one_is_closed_at_zero():
    # elu' = 1 for x > 0 and e^x < 1 for x < 0: the set is [0, oo), with e^0 = 1 at its end
    win = window("elu", 1.0)
    assert len(win.intervals) == 1 and win.intervals[0][0].exact == "0" and win.width == math.inf


@pytest.mark.parametrize("name, w, width", [("hard_sigmoid", 6.0, 1), ("hardtanh", 1.0, 2)])
def test_the_widest_window_on_its_boundary(name, w, width):
    # phi' = c on (-k, k) (hard_sigmoid: 1/6 on (-3, 3); hardtanh: 1 on (-1, 1)), 0 elsewhere: the window is
    # {|w a| < k} of width 2k/|w| for |w| >= 1/c and empty below, so the widest is at |w| = 1/c exactly
    ww = widest_window(name)
    assert ww.w == w and ww.width == width and ww.window.method == "exact"


def test_the_widest_softsign_window_is_finite_and_its_endpoints_exact():
    # softsign' = 1/(1 + |x|)^2 >= 1/w iff |x| <= sqrt(w) - 1: width 2 (sqrt(w) - 1)/w, largest (1/2) at w = 4
    ww = widest_window("softsign")
    assert ww.width == pytest.approx(0.5, abs=1e-12) and ww.w == pytest.approx(4.0, abs=1e-3)
    import mpmath
    with mpmath.workdps(40):
        wm = mpmath.mpf(repr(ww.w))
        end = (mpmath.sqrt(wm) - 1) / wm
        for e, sign in zip(ww.window.intervals[0], (-1, 1)):
            assert abs(mpmath.mpf(str(sp.N(sp.sympify(e.exact), 40))) - sign * end) < 1e-30


def test_a_certified_tangency_is_withheld_not_dropped():
    # tanh' = 1 - tanh^2 <= 1 with equality only at 0: at the level 1 interval bisection cannot decide the boxes
    # around 0, and the point must not silently vanish from the set
    from analytic.errors import BoundError

    with pytest.raises(BoundError, match="tangency"):
        certified_piece(derivative("tanh", 1), 1.0, -math.inf, math.inf)
    got, _ = certified_piece(derivative("tanh", 1), 1 - 1e-8, -math.inf, math.inf)  # a short interval around 0
    assert len(got) == 1 and got[0][0].upper < 0 < got[0][1].lower
    assert got[0][1].value - got[0][0].value == pytest.approx(2 * math.atanh(math.sqrt(1e-8)), rel=1e-6)
