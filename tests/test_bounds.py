"""Proven bounds, each checked against a route that does not use the code under test: hand-derived closed forms,
dense NumPy sampling, mpmath root finding at 30 digits on hand-written formulas, random softmax Jacobians."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy as sp

from analytic.core.activations import SELU_ALPHA, SELU_SCALE, names
from analytic.bounds import bound, softmax_jacobian_bounds
from analytic.core.calculus import numpy_function
from analytic.core.registry import X
from analytic.core.special import sigmoid
from analytic.errors import AnalyticError, BoundError, FormulaError
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]

# Hand-known facts: (sup attained?, inf attained?) of phi' over the points where phi is differentiable.
ATTAINED = {
    "sigmoid": (True, False), "tanh": (True, False), "relu": (True, True), "leaky_relu": (True, True),
    "prelu": (True, True), "elu": (True, False), "selu": (False, False), "gelu": (True, True),
    "gelu_tanh": (True, True), "swish": (True, True), "silu": (True, True), "mish": (True, True),
    "softplus": (False, False), "logsigmoid": (False, False), "softsign": (True, False), "hardtanh": (True, True),
    "hard_sigmoid": (True, True), "hard_swish": (False, False), "celu": (True, False), "identity": (True, True),
    "softmax": (True, False),
}

# Closed forms written here by hand (Phi(sqrt 2) = (1 + erf(1))/2 for GELU).
_gelu_max = (1 + sp.erf(1)) / 2 + sp.exp(-1) / sp.sqrt(sp.pi)
EXACT = {
    "sigmoid": (sp.Rational(1, 4), 0), "tanh": (1, 0), "relu": (1, 0), "leaky_relu": (1, sp.Rational(1, 100)),
    "prelu": (1, sp.Rational(1, 4)), "elu": (1, 0), "selu": (SELU_SCALE * SELU_ALPHA, 0),
    "gelu": (_gelu_max, 1 - _gelu_max), "softplus": (1, 0), "logsigmoid": (1, 0), "softsign": (1, 0), "hardtanh": (1, 0),
    "hard_sigmoid": (sp.Rational(1, 6), 0), "hard_swish": (sp.Rational(3, 2), -sp.Rational(1, 2)),
    "celu": (1, 0), "identity": (1, 1), "softmax": (sp.Rational(1, 4), 0),
}
WHERE = {  # where the sup / inf is attained or approached
    "sigmoid": ("0", "±oo"), "tanh": ("0", "±oo"), "softplus": ("oo", "-oo"), "logsigmoid": ("-oo", "oo"), "selu": ("0-", "-oo"),
    "softsign": ("0", "±oo"), "gelu": ("sqrt(2)", "-sqrt(2)"), "hard_swish": ("3-", "-3+"),
    "relu": ("(0, oo)", "(-oo, 0)"),
}
CERTIFIED = ("gelu_tanh", "swish", "silu", "mish")


@pytest.fixture(scope="module")
def bounds():
    return {name: bound(name) for name in names()}


def test_the_catalogue_is_covered():
    assert set(ATTAINED) == set(names())


@pytest.mark.parametrize("name", sorted(ATTAINED))
def test_attained_flags(bounds, name):
    b = bounds[name]
    assert (b.sup.attained, b.inf.attained) == ATTAINED[name]


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_values_agree_symbolically(bounds, name):
    b = bounds[name]
    sup, inf = EXACT[name]
    assert b.sup.exact is not None and b.inf.exact is not None
    for got, want in ((b.sup.exact, sup), (b.inf.exact, inf)):
        assert sp.simplify(sp.sympify(got) - sp.sympify(want)) == 0, (got, want)
    assert b.method.startswith("exact")


@pytest.mark.parametrize("name", sorted(EXACT))
def test_float_enclosures_contain_the_exact_values(bounds, name):
    b = bounds[name]
    for e, want in ((b.sup, EXACT[name][0]), (b.inf, EXACT[name][1])):
        value = mpmath.mpf(sp.N(sp.sympify(want), 40))
        assert e.lower <= value <= e.upper
        assert e.upper - e.lower <= 4e-16 * max(1.0, abs(float(value)))


@pytest.mark.parametrize("name", sorted(WHERE))
def test_where(bounds, name):
    b = bounds[name]
    assert (b.sup.at, b.inf.at) == WHERE[name]


@pytest.mark.parametrize("name", CERTIFIED)
def test_certified_enclosures(bounds, name):
    b = bounds[name]
    assert b.method == "certified: interval branch-and-bound"
    assert b.sup.exact is None and b.inf.exact is None
    assert b.sup.lower > 1 and b.inf.upper < 0
    for e in (b.sup, b.inf):
        assert 0 <= e.upper - e.lower <= 1e-12
        assert e.at_lower is not None and 0 <= e.at_upper - e.at_lower <= 1e-12
    assert any("Tail" in step for step in b.proof) and any("Branch and bound" in step for step in b.proof)


@pytest.mark.parametrize("name", sorted(ATTAINED))
def test_dense_sampling_stays_inside_and_reaches_attained_bounds(bounds, name):
    b = bounds[name]
    dphi = numpy_function(name, 1)
    xs = [np.linspace(-40, 40, 200_001), np.linspace(-4, 4, 200_001)]
    for e in (b.sup, b.inf):
        if e.at_lower is not None:
            xs.append(np.linspace(e.at_lower - 1e-3, e.at_upper + 1e-3, 2001))
    x = np.concatenate(xs)
    # bounds are over the points where phi is differentiable: drop the kinks where the one-sided slopes differ
    kinks = [k for k in (float(k.at) for k in b.kink_conventions)
             if abs(dphi(np.array([k - 1e-9]))[0] - dphi(np.array([k + 1e-9]))[0]) > 1e-6]
    x = x[~np.isin(x, kinks)]
    y = dphi(x)
    slack = 1e-14  # rounding of the NumPy form
    assert y.max() <= b.sup.upper + slack
    assert y.min() >= b.inf.lower - slack
    if b.sup.attained:
        assert y.max() >= b.sup.lower - 1e-6
    if b.inf.attained:
        assert y.min() <= b.inf.upper + 1e-6


# Hand-written phi in mpmath; phi' and phi'' by mpmath's numerical differentiation at 30 digits.
_PHI = {
    "silu": lambda x: x / (1 + mpmath.exp(-x)),
    "swish": lambda x: x / (1 + mpmath.exp(-x)),
    "mish": lambda x: x * mpmath.tanh(mpmath.log(1 + mpmath.exp(x))),
    "gelu_tanh": lambda x: x / 2 * (1 + mpmath.tanh(mpmath.sqrt(2 / mpmath.pi) * (x + mpmath.mpf("0.044715") * x**3))),
}


@pytest.mark.parametrize("name", CERTIFIED)
def test_findroot_on_phi2_agrees_with_the_argmax_enclosure(bounds, name):
    b = bounds[name]
    phi = _PHI[name]
    with mpmath.workdps(30):
        for e in (b.sup, b.inf):
            start = mpmath.mpf((e.at_lower + e.at_upper) / 2)
            root = mpmath.findroot(lambda x: mpmath.diff(phi, x, 2), start + mpmath.mpf("0.01"))
            assert e.at_lower - 1e-15 <= root <= e.at_upper + 1e-15
            value = mpmath.diff(phi, root, 1)
            assert e.lower - 1e-25 <= value <= e.upper + 1e-25


def test_silu_closed_form_argmax_condition(bounds):
    # silu'' = s(1-s)(2 + x(1 - 2s)), s = sigma(x): the max of silu' solves x tanh(x/2) = 2
    with mpmath.workdps(30):
        root = mpmath.findroot(lambda x: x * mpmath.tanh(x / 2) - 2, 2.4)
    assert bounds["silu"].sup.at_lower <= root <= bounds["silu"].sup.at_upper
    assert bounds["silu"].inf.at_lower <= -root <= bounds["silu"].inf.at_upper


def test_sigmoid_proof_steps_hold_the_substitution_and_its_maximiser(bounds):
    # by hand: sigma' = s(1 - s) with s = sigma(x), maximal at s = 1/2, i.e. x = 0
    b = bounds["sigmoid"]
    objects = [p.value for st in b.steps for p in st.parts if not isinstance(p, str) and p.value is not None]
    assert sigmoid(X) in objects
    assert sp.Integer(0) in objects and sp.Rational(1, 4) in objects
    assert b.method == "exact: monotone substitution"


def test_kink_conventions_are_reported_not_counted(bounds):
    b = bounds["hard_swish"]
    conventions = {float(k.at): float(k.dphi) for k in b.kink_conventions}
    assert conventions == {-3.0: -0.5, 3.0: 1.5}
    assert not b.sup.attained and not b.inf.attained
    selu = bounds["selu"]
    assert float(selu.kink_conventions[0].dphi) == pytest.approx(float(SELU_SCALE * SELU_ALPHA))
    assert not selu.sup.attained and selu.sup.at == "0-"


def test_swish_is_silu_at_beta_one_and_scales_with_beta(bounds):
    assert bounds["swish"].sup.lower == bounds["silu"].sup.lower
    b2 = bound("swish", params={"beta": 2})  # swish_beta'(x) = silu'(beta x): same values, argmax / beta
    assert b2.sup.lower <= bounds["silu"].sup.upper and b2.sup.upper >= bounds["silu"].sup.lower
    assert b2.sup.at_lower * 2 == pytest.approx(bounds["silu"].sup.at_lower, abs=1e-12)


def test_parameters():
    elu = bound("elu", params={"alpha": 2})
    assert elu.sup.exact == 2 and not elu.sup.attained and elu.sup.at == "0-"
    soft = bound("softmax", params={"c": 2})
    assert soft.sup.exact == sp.Rational(1, 4) and sp.simplify(sp.sympify(soft.sup.at) - sp.log(2)) == 0


def test_user_formula_equals_mish(bounds):
    user = bound("x*tanh(log(1+exp(x)))")
    mish = bounds["mish"]
    for a, m in ((user.sup, mish.sup), (user.inf, mish.inf)):
        assert a.lower <= m.upper and m.lower <= a.upper
        assert a.at_lower <= m.at_upper and m.at_lower <= a.at_upper


def test_unsettled_critical_points_fall_back_with_a_note():
    b = bound("x*sigmoid(2*x) + x/10", timeout=1e-4)
    assert b.method == "certified: interval branch-and-bound"
    assert any("could not settle the critical points within" in step for step in b.proof)
    b = bound("x*tanh(log(1+exp(x)))")
    assert any("not a complete finite set" in step and "certified route" in step for step in b.proof)


def test_user_formulas_with_exact_answers():
    b = bound("x*exp(-x**2)")  # phi' = (1 - 2x^2) e^{-x^2}
    assert b.sup.exact == 1 and b.sup.at == "0"
    assert sp.simplify(b.inf.exact + 2 * sp.exp(-sp.Rational(3, 2))) == 0
    b = bound("x/(1+abs(x))")  # softsign
    assert b.sup.exact == 1 and b.sup.attained and b.sup.at == "0"


def test_errors():
    with pytest.raises(BoundError):
        bound("sin(x)")  # cos has no limit at infinity
    for formula in ("1/x", "log(x)", "x/(x**2-1)"):  # not real and continuous on the whole line
        with pytest.raises((BoundError, FormulaError), match="continuous|real-valued"):  # refused when parsed
            bound(formula)
    with pytest.raises(AnalyticError):
        bound("sigmoid", of="range")


def test_range_of_phi():
    s = bound("sigmoid", of="phi")
    assert (s.sup.exact, s.inf.exact, s.sup.attained, s.inf.attained) == (1, 0, False, False)
    r = bound("relu", of="phi")
    assert r.inf.exact == 0 and r.inf.attained and r.sup.exact == sp.oo and not r.sup.attained
    silu = bound("silu", of="phi")  # min of x sigma(x) is -W(1/e) at x = -1 - W(1/e)
    with mpmath.workdps(30):
        w = mpmath.lambertw(1 / mpmath.e).real
    assert silu.inf.lower <= -w <= silu.inf.upper
    assert silu.inf.at_lower <= -1 - w <= silu.inf.at_upper
    hs = bound("hard_swish", of="phi")
    assert hs.inf.exact == -sp.Rational(3, 8) and hs.inf.at == "-3/2"


def test_softmax_jacobian_bounds_hold_and_are_approached():
    jb = softmax_jacobian_bounds()
    assert (jb.diagonal.exact, jb.off_diagonal.exact, jb.spectral_norm.exact) == (
        sp.Rational(1, 4), -sp.Rational(1, 4), sp.Rational(1, 2))
    rng = np.random.default_rng(20261125)

    def jacobian(z):
        s = np.exp(z - z.max())
        s /= s.sum()
        return np.diag(s) - np.outer(s, s)

    for n in (2, 3, 5, 10, 50):
        for _ in range(200):
            J = jacobian(rng.normal(0, rng.uniform(0.1, 5), size=n))
            off = J[~np.eye(n, dtype=bool)]
            assert np.all(np.diag(J) > 0) and np.all(np.diag(J) <= 0.25 + 1e-15)
            assert np.all(off < 0) and np.all(off >= -0.25 - 1e-15)
            assert np.linalg.norm(J, 2) <= 0.5 + 1e-15
        z = np.zeros(n)
        z[:2] = 30.0  # s -> (1/2, 1/2, 0, ...)
        J = jacobian(z)
        assert abs(np.linalg.norm(J, 2) - 0.5) < 1e-9 and abs(J[0, 1] + 0.25) < 1e-9 and abs(J[0, 0] - 0.25) < 1e-9
    assert bound("softmax").jacobian is not None


def test_as_dict_keys(bounds):
    d = bounds["gelu"].as_dict()
    assert {"name", "of", "sup", "inf", "proof", "method", "kinks"} <= set(d)
    assert {"exact", "lower", "upper", "attained", "at"} <= set(d["sup"])
    json.dumps(d)


def test_cli_bound_sigmoid_json():
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "bound", "sigmoid", "--json"],
                         capture_output=True, text=True, timeout=WALL_SECONDS, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["sup"]["exact"] == "1/4" and data["sup"]["attained"] is True and data["sup"]["at"] == "0"
    assert data["inf"]["exact"] == "0" and data["inf"]["attained"] is False
    assert data["sup"]["lower"] == 0.25 == data["sup"]["upper"]
    assert data["proof"] and all(isinstance(step, str) for step in data["proof"]) and "1/4" in data["proof"][-1]


def test_cli_bound_bad_input_exits_2():
    out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "bound", "sin(x)"],
                         capture_output=True, text=True, timeout=WALL_SECONDS, cwd=ROOT)
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


@pytest.mark.parametrize("formula", ["tanh(x)*sigmoid(x)", "sigmoid(x)*sigmoid(2*x)", "tanh(x)**2*sigmoid(-x)"])
def test_bounded_smooth_products_are_proved_and_match_an_independent_search(formula):
    """Tails proved in t = e^(-|x|) (tanh σ), and a solveset answer that misses a zero (σ(x)σ(2x): it says ∅)
    caught by a witness point: both checked against a dense grid refined by scipy's bounded scalar search."""
    from scipy.optimize import minimize_scalar

    b = bound(formula)
    f = numpy_function(formula, 1)
    grid = np.linspace(-30, 30, 600_001)
    values = f(grid)
    for sign, ext in ((1, b.sup), (-1, b.inf)):
        i = int(np.argmax(sign * values))
        best = minimize_scalar(lambda x: -sign * float(f(np.array([x]))[0]),
                               bounds=(grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]), method="bounded",
                               options={"xatol": 1e-12})
        found = -best.fun * sign
        assert ext.lower - 1e-12 <= found <= ext.upper + 1e-12 or (not ext.attained and abs(found - ext.lower) < 1e-9)
        assert np.all(values <= b.sup.upper + 1e-12) and np.all(values >= b.inf.lower - 1e-12)
