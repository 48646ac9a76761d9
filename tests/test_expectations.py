"""One-layer expectations, the gradient product across depth, mean field and initialisation.

Every number is compared with an independent route: mpmath quadrature of the SymPy formula at 30 digits, a seeded
Monte Carlo (agreement within Z standard errors of the sample mean), a published constant, or a closed form
written out by hand here.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import mpmath
import numpy as np
import pytest
import scipy.special
import sympy as sp

from analytic.core.special import to_elementary
from analytic.core.calculus import derivative, numpy_function, resolve
from analytic.errors import AnalyticError, ArgumentError, DepthError, SpecError, UnknownActivation
from analytic.theory.gaussian import Estimate, gaussian_expectation, preact_expectations
from analytic.theory.independence import first_depth_below, independence_product
from analytic.core.registry import X
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]
#: Monte Carlo draws and the agreement rule: |analytic - sample mean| <= Z standard errors of the sample mean.
N, Z = 400_000, 5.0


# ---------------------------------------------------------------- independent routes

def _sympy_f(name: str, fn: str, params=None) -> sp.Expr:
    act = resolve(name, params)
    phi = to_elementary(act.expr)
    dphi = to_elementary(derivative(act, 1))
    return {"phi": phi, "phi2": phi**2, "dphi": dphi, "dphi2": dphi**2, "log_abs_dphi": sp.log(sp.Abs(dphi))}[fn]


def _mp_expectation(name: str, fn: str, mean: float, std: float, params=None) -> float:
    """E[f(v)], v ~ N(mean, std^2), by mpmath.quad (tanh-sinh) at 30 digits, split at kinks and at zeros of phi'."""
    f = sp.lambdify(X, _sympy_f(name, fn, params), "mpmath")
    act = resolve(name, params)
    pts = [float(k.at) for k in act.kinks]
    if fn == "log_abs_dphi":  # split at sign changes of phi' (log singularities)
        g = numpy_function(name, 1, params)
        xs = np.linspace(mean - 10 * std, mean + 10 * std, 20001)
        ys = g(xs)
        pts += [float(x) for x in xs[:-1][np.sign(ys[:-1]) * np.sign(ys[1:]) < 0]]
        pts = [float(mpmath.findroot(sp.lambdify(X, _sympy_f(name, "dphi", params), "mpmath"), p)) if p not in
               [float(k.at) for k in act.kinks] else p for p in pts]
    with mpmath.workdps(30):
        m, s = mpmath.mpf(mean), mpmath.mpf(std)
        zs = sorted({(mpmath.mpf(p) - m) / s for p in pts} | {mpmath.mpf(0)})
        h = lambda z: f(m + s * z) * mpmath.npdf(z)  # noqa: E731
        return float(mpmath.quad(h, [-mpmath.inf] + zs + [mpmath.inf], maxdegree=10))


def _monte_carlo(name: str, fn: str, mean: float, std: float, seed: int = 2024) -> tuple[float, float]:
    """Sample mean of f(v) over N seeded draws, and its standard error."""
    v = np.random.default_rng(seed).normal(mean, std, N)
    order = 0 if fn in ("phi", "phi2") else 1
    y = numpy_function(name, order)(v)
    y = {"phi": y, "dphi": y, "phi2": y * y, "dphi2": y * y}.get(fn)
    if y is None:
        with np.errstate(divide="ignore"):
            y = np.log(np.abs(numpy_function(name, 1)(v)))
    return float(y.mean()), float(y.std(ddof=1) / math.sqrt(N))


# ---------------------------------------------------------------- one-layer expectations

CASES = [  # (activation, function, mean, std, method expected)
    ("relu", "dphi", 0.0, 1.0, "closed form"),
    ("leaky_relu", "dphi2", 0.0, 1.0, "closed form"),
    ("prelu", "phi2", 0.3, 1.2, "closed form"),
    ("elu", "dphi", 0.0, 1.0, "closed form"),
    ("elu", "log_abs_dphi", 0.0, 1.0, "closed form"),
    ("selu", "phi2", 0.0, 1.0, "closed form"),
    ("selu", "dphi", -0.4, 0.8, "closed form"),
    ("celu", "phi2", 0.2, 0.7, "closed form"),
    ("hardtanh", "dphi", 0.3, 2.0, "closed form"),
    ("hard_sigmoid", "phi2", 1.0, 2.5, "closed form"),
    ("hard_swish", "dphi2", -0.5, 1.5, "closed form"),
    ("sigmoid", "dphi", 0.0, 1.0, "quad"),
    ("sigmoid", "log_abs_dphi", 0.0, 1.0, "quad"),
    ("tanh", "dphi", 0.0, 1.0, "quad"),
    ("tanh", "dphi2", 0.0, 1.0, "quad"),
    ("silu", "dphi2", 0.5, 2.0, "quad"),
    ("softsign", "dphi", 0.0, 1.0, "quad"),
    ("softplus", "phi2", 0.0, 1.0, "quad"),
    ("mish", "log_abs_dphi", 0.0, 1.0, "quad"),
    ("gelu_tanh", "dphi", 0.0, 1.0, "quad"),
]


@pytest.mark.parametrize("name, fn, mean, std, method", CASES)
def test_one_layer_expectation_vs_mpmath_and_monte_carlo(name, fn, mean, std, method):
    e = gaussian_expectation(name, fn, mean, std)
    assert isinstance(e, Estimate) and e.method == method
    reference = _mp_expectation(name, fn, mean, std)
    assert abs(e.value - reference) <= max(1e-10, 10 * e.error, 1e-12 * abs(reference)), (e, reference)
    if e.method == "quad":
        assert 0 <= e.error < 1e-8
    mc, se = _monte_carlo(name, fn, mean, std)
    assert abs(mc - e.value) <= Z * se, (mc, se, e.value)


def test_closed_forms_written_out_by_hand():
    a = 0.01
    assert gaussian_expectation("relu", "dphi").value == 0.5          # P(v > 0)
    assert gaussian_expectation("relu", "dphi").formula == "1/2"
    assert gaussian_expectation("relu", "phi2", std=3.0).value == pytest.approx(4.5, rel=1e-15)  # s^2/2
    assert gaussian_expectation("leaky_relu", "dphi").value == pytest.approx((1 + a) / 2, rel=1e-15)
    assert gaussian_expectation("leaky_relu", "dphi2").value == pytest.approx((1 + a * a) / 2, rel=1e-15)
    assert gaussian_expectation("leaky_relu", "log_abs_dphi").value == pytest.approx(math.log(a) / 2, rel=1e-15)
    # ELU: E[phi'] = P(v > 0) + E[e^v; v <= 0] = 1/2 + e^(1/2) Phi(-1);  E[log phi'] = E[v; v <= 0] = -1/sqrt(2 pi)
    assert gaussian_expectation("elu", "dphi").value == pytest.approx(
        0.5 + math.exp(0.5) * scipy.special.ndtr(-1), rel=1e-14)
    assert gaussian_expectation("elu", "log_abs_dphi").value == pytest.approx(-1 / math.sqrt(2 * math.pi), rel=1e-14)
    # hardtanh: P(|v| < 1);  hard_swish: E[phi'] = 1/2 exactly (by symmetry of v/3 on [-3, 3])
    assert gaussian_expectation("hardtanh", "dphi").value == pytest.approx(math.erf(1 / math.sqrt(2)), rel=1e-15)
    assert gaussian_expectation("hard_swish", "dphi").value == pytest.approx(0.5, rel=1e-15)
    assert gaussian_expectation("identity", "phi2", mean=2.0, std=3.0).value == pytest.approx(13.0, rel=1e-15)
    # GELU: E[Phi(v) + v phi(v)] = 1/2 for v ~ N(0, 1), whichever route finds it
    assert gaussian_expectation("gelu", "dphi").value == pytest.approx(0.5, abs=1e-10)


def test_tails_keep_relative_accuracy():
    # Phi(-30) ~ 4.9e-198: a difference of erf values would give 0 here
    e = gaussian_expectation("relu", "dphi", mean=-30.0, std=1.0)
    assert e.value == pytest.approx(scipy.special.ndtr(-30.0), rel=1e-12)
    # e^(2 s^2) times a tiny erfc: E[elu'(v)^2] with s = 20 must stay between 1/2 and 1
    big = gaussian_expectation("elu", "dphi2", std=20.0)
    assert big.value == pytest.approx(_mp_expectation("elu", "dphi2", 0.0, 20.0), rel=1e-10)
    assert 0.5 < big.value < 1.0


def test_log_of_a_derivative_that_vanishes_on_an_interval_is_minus_infinity():
    for name in ("relu", "hardtanh", "hard_sigmoid", "hard_swish"):
        e = gaussian_expectation(name, "log_abs_dphi")
        assert e.value == -math.inf and e.method == "exact"


def test_degenerate_and_other_preactivations():
    sig = preact_expectations("sigmoid", "constant(0)")
    assert sig["dphi"].value == 0.25 and sig["dphi"].method == "exact"
    assert sig["log_abs_dphi"].value == pytest.approx(math.log(0.25), rel=1e-15)
    assert preact_expectations("relu", "constant(0)")["dphi"].value == 0.0  # ReLU'(0) = 0 (PyTorch convention)
    u = preact_expectations("relu", "uniform(-1, 3)")
    assert u["dphi"].value == pytest.approx(0.75, abs=1e-10) and u["dphi"].method == "quad"
    assert u["log_abs_dphi"].value == -math.inf
    ln = preact_expectations("tanh", "lognormal(0, 0.5)")["dphi"]
    v = np.random.default_rng(3).lognormal(0, 0.5, N)
    y = numpy_function("tanh", 1)(v)
    assert abs(ln.value - y.mean()) <= Z * y.std(ddof=1) / math.sqrt(N)
    he = preact_expectations("tanh", "he(2)")["dphi2"]  # he(2) = N(0, 1)
    assert he.value == gaussian_expectation("tanh", "dphi2").value


def test_user_formula_and_parameters():
    assert gaussian_expectation("x", "dphi2").value == 1.0
    e = gaussian_expectation("leaky_relu", "dphi2", params={"negative_slope": 0.2})
    assert e.value == pytest.approx((1 + 0.04) / 2, rel=1e-15)
    mine = gaussian_expectation("x*sigmoid(x)", "dphi")
    assert mine.value == pytest.approx(gaussian_expectation("silu", "dphi").value, abs=1e-10)


@pytest.mark.parametrize("call", [
    lambda: gaussian_expectation("relu", "dphi3"),
    lambda: gaussian_expectation("relu", "dphi", std=-1.0),
    lambda: gaussian_expectation("relu", "dphi", mean=math.nan),
    lambda: gaussian_expectation("no_such_act", "dphi"),
    lambda: preact_expectations("relu", "normal(0, 0)"),
])
def test_bad_one_layer_input_raises(call):
    with pytest.raises(AnalyticError):
        call()


# ---------------------------------------------------------------- gradient product

def test_sigmoid_seed_bound_at_depth_10():
    g = independence_product("sigmoid", 10, "constant(1)")
    assert g.bound == pytest.approx(0.25**10, rel=1e-12)   # 9.5367e-07
    assert g.log_bound == pytest.approx(10 * math.log(0.25), rel=1e-14)
    assert g.depth_to_threshold["bound"] == 10             # 0.25^9 = 3.8e-6 >= 1e-6 > 0.25^10
    assert "proved" in " ".join(g.assumptions)
    d = g.as_dict()
    for key in ("bound", "mean", "mean_square", "typical", "depth_to_threshold", "assumptions"):
        assert key in d
    json.dumps(d)


def test_independence_approximation_formulas():
    g = independence_product("sigmoid", 10, "normal(1, 0.5)")
    e1 = _mp_expectation("sigmoid", "dphi", 0, 1)
    e2 = _mp_expectation("sigmoid", "dphi2", 0, 1)
    el = _mp_expectation("sigmoid", "log_abs_dphi", 0, 1)
    with mpmath.workdps(30):  # E log|w|, w ~ N(1, 1/4)
        elw = float(mpmath.quad(lambda w: mpmath.log(abs(w)) * mpmath.npdf(w, 1, 0.5), [-mpmath.inf, 0, mpmath.inf]))
    assert g.mean == pytest.approx((1.0 * e1) ** 10, rel=1e-9)
    assert g.mean_square == pytest.approx((1.25 * e2) ** 10, rel=1e-9)
    assert g.typical == pytest.approx(math.exp(10 * (elw + el)), rel=1e-8)
    Eabs = 0.5 * math.sqrt(2 / math.pi) * math.exp(-2) + math.erf(2 / math.sqrt(2))  # E|w| for N(1, 1/4)
    assert g.bound == pytest.approx((Eabs * 0.25) ** 10, rel=1e-12)
    # the chain product is log-normal-like: typical below mean below root mean square
    assert g.typical < g.mean < math.sqrt(g.mean_square)


def test_gradient_product_with_negative_mean_weight_keeps_sign():
    g = independence_product("tanh", 3, "normal(-1, 0.1)")
    assert g.mean_sign == -1 and g.mean < 0
    assert independence_product("tanh", 4, "normal(-1, 0.1)").mean_sign == 1


def test_depth_one_million_gives_finite_logs():
    g = independence_product("sigmoid", 10**6, "normal(1, 0.5)")
    for v in (g.log_bound, g.log_mean_abs, g.log_mean_square, g.log_typical):
        assert math.isfinite(v) and v < -1e5
    one = independence_product("sigmoid", 1, "normal(1, 0.5)")
    assert g.log_bound == pytest.approx(10**6 * one.log_bound, rel=1e-14)
    assert g.bound == 0.0  # underflows as a float; the log keeps it
    json.dumps(g.as_dict())


def test_bound_falls_back_and_says_so_when_the_prover_gives_none():
    g = independence_product("sin(x)", 5, "constant(1)")  # cos has no limit at infinity: no proved sup
    assert g.per_layer["bound"]["sup|phi'|"] == pytest.approx(1.0, abs=1e-6)
    assert "NOT proved" in g.assumptions[2]
    assert "proved" in independence_product("tanh", 5, "constant(1)").per_layer["bound"]["method"]


def test_first_depth_below_is_the_smallest_integer():
    rng = np.random.default_rng(5)
    for f, t in zip(rng.uniform(0.01, 0.999, 200), 10 ** rng.uniform(-12, -1, 200)):
        r = first_depth_below(math.log(f), t)
        assert f**r < t and (r == 1 or f ** (r - 1) >= t)
    assert first_depth_below(0.0, 1e-6) is None and first_depth_below(-math.inf, 1e-6) == 1


@pytest.mark.parametrize("depth", [0, -3, 10**6 + 1, 2.5, "10", True, None])
def test_bad_depth_raises(depth):
    with pytest.raises(DepthError):
        independence_product("sigmoid", depth, "normal(1, 0.5)")


@pytest.mark.parametrize("kwargs, error", [
    ({"weights": "normal(1, -0.5)"}, SpecError), ({"weights": "gauss(0, 1)"}, SpecError),
    ({"preact": "uniform(1, 0)"}, SpecError), ({"threshold": 0}, ArgumentError),
    ({"threshold": -1e-6}, ArgumentError), ({"threshold": math.inf}, ArgumentError),
    ({"act": "sigmod"}, UnknownActivation),
])
def test_bad_specs_raise(kwargs, error):
    args = {"act": "sigmoid", "depth": 10, "weights": "normal(1, 0.5)", **kwargs}
    with pytest.raises(error):
        independence_product(**args)


# ---------------------------------------------------------------- command line

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, timeout=WALL_SECONDS)


def test_cli_gradient_and_init():
    out = _cli("gradient", "sigmoid", "--depth", "10", "--weights", "normal(1,0.5)")
    assert out.returncode == 0, out.stderr
    for word in ("bound", "mean", "mean square", "typical", "assumptions", "independence approximation"):
        assert word in out.stdout
    data = json.loads(_cli("init", "selu", "--json").stdout)
    assert abs(data["alpha"] - 1.6732632423543772) < 1e-10 and abs(data["lambda"] - 1.0507009873554805) < 1e-10
    bad = _cli("gradient", "sigmoid", "--depth", "0", "--weights", "normal(1,0.5)")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr
