"""The recurrent (tied-weight) chain: exact values against routes derived independently here, Pascanu's bound
against scipy's CDF, the Monte Carlo twin at stated z, and the CLI."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from analytic.architecture import recurrent
from analytic.theory.recurrent import pascanu, recurrent_chain

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the identity: E[w^T] by hand

@pytest.mark.parametrize("mu,sigma", [(1.0, 0.5), (0.3, 1.2), (-0.7, 0.4)])
def test_identity_normal_moments_by_hand(mu, sigma):
    c = recurrent_chain("identity", 3, f"normal({mu}, {sigma})")
    m2 = mu * mu + sigma * sigma
    m3 = mu**3 + 3 * mu * sigma**2
    assert c.by_depth["mean"][1].value == pytest.approx(m2, rel=1e-13)
    assert c.by_depth["mean"][2].value == pytest.approx(m3, rel=1e-13)
    assert c.by_depth["mean_square"][0].value == pytest.approx(m2, rel=1e-13)
    # E[w^6] = mu^6 + 15 mu^4 s^2 + 45 mu^2 s^4 + 15 s^6
    m6 = mu**6 + 15 * mu**4 * sigma**2 + 45 * mu**2 * sigma**4 + 15 * sigma**6
    assert c["mean_square"].value == pytest.approx(m6, rel=1e-13)


@pytest.mark.parametrize("a,b,T", [(-0.5, 1.5, 5), (0.2, 0.9, 8), (-2.0, 1.0, 7)])
def test_identity_uniform_moments_by_hand(a, b, T):
    c = recurrent_chain("identity", T, f"uniform({a}, {b})")
    expected = (b ** (T + 1) - a ** (T + 1)) / ((T + 1) * (b - a))
    assert c["mean"].value == pytest.approx(expected, rel=1e-12)
    assert c["zero_probability"].value == 0.0


def test_identity_with_inputs_is_still_w_to_the_T():
    c = recurrent_chain("identity", 4, "normal(1, 0.5)", inputs="normal(0, 1)")
    assert c["mean"].value == pytest.approx(1 + 6 * 0.25 + 3 * 0.0625, rel=1e-13)  # E[w^4]


# ---------------------------------------------------------------- smooth activations: scipy quad over w

def _direct(act: str, w: float, T: int, x: float = 1.0) -> float:
    """The product prod_t w phi'(v_t) of the deterministic chain, iterated plainly in float64."""
    f = {"tanh": (np.tanh, lambda v: 1 - np.tanh(v) ** 2),
         "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2)}[act]
    h, p = x, 1.0
    for _ in range(T):
        v = w * h
        p *= w * f[1](v)
        h = f[0](v)
    return p


@pytest.mark.parametrize("act,mu,sigma,T", [("tanh", 0.0, 1.0, 8), ("tanh", 1.0, 0.5, 9),
                                            ("sigmoid", 1.0, 0.5, 10), ("sigmoid", 0.0, 2.0, 6)])
def test_smooth_chain_against_quad(act, mu, sigma, T):
    c = recurrent_chain(act, T, f"normal({mu}, {sigma})")
    assert c["zero_probability"].value == 0.0  # phi' never vanishes and w = 0 has probability 0
    pdf = stats.norm(mu, sigma).pdf
    lo, hi = mu - 14 * sigma, mu + 14 * sigma
    pts = sorted({0.0, 1.0, -1.0, 4.0, -4.0} & set(np.linspace(lo, hi, 1)) | {p for p in (0.0, 1.0, -1.0) if lo < p < hi})
    for name, g in (("mean", lambda w: _direct(act, w, T)), ("mean_abs", lambda w: abs(_direct(act, w, T))),
                    ("mean_square", lambda w: _direct(act, w, T) ** 2)):
        ref, err = integrate.quad(lambda w: g(w) * pdf(w), lo, hi, points=pts, limit=400, epsabs=0, epsrel=1e-11)
        q = c[name]
        assert not q.withheld
        scale = c["mean_abs"].value if name == "mean" else abs(ref)
        assert abs(q.value - ref) <= 1e-9 * scale + 2 * err, (name, q.value, ref)
        assert q.error <= 1e-8 * scale


def test_inputs_given_constant_weight_match_the_plain_chain_with_that_bias():
    """Given w the tied chain with inputs is the plain chain with weight constant(w) and the inputs as its bias:
    the plain chain's own rows (its outer rule over the bias) are an independent route."""
    from analytic.theory.chain import exact_chain

    c = recurrent_chain("tanh", 4, "constant(0.9)", inputs="normal(0, 1)")
    p = exact_chain("tanh", 4, "constant(0.9)", bias="normal(0, 1)")
    for q in ("mean", "mean_abs", "mean_square", "log_mean"):
        assert c[q].value == pytest.approx(p[q].value, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------- Monte Carlo with inputs

def test_inputs_against_monte_carlo_within_4_standard_errors():
    from analytic.mc import simulate_chain

    T, N = 4, 200_000
    c = recurrent_chain("tanh", T, "constant(0.9)", inputs="normal(0, 1)")  # (shared with the test above)
    s = simulate_chain("tanh", T, "constant(0.9)", samples=N, seed=3, architecture=recurrent("normal(0, 1)"))
    for q in ("mean", "mean_abs", "mean_square"):
        z = (c[q].value - s[q].value) / s[q].stderr
        assert abs(z) <= 4, (q, c[q].value, s[q].value, z)
    z = (c["log_mean"].value - s["log_mean"].value) / s["log_mean"].stderr
    assert abs(z) <= 4


def test_monte_carlo_of_the_tied_chain_uses_one_weight_per_sequence():
    from analytic.mc import simulate_chain

    # identity: prod = w^T exactly; i.i.d. weights would give E[w]^T = 1 instead of E[w^3] = 1.75
    s = simulate_chain("identity", 3, "normal(1, 0.5)", samples=100_000, seed=1, architecture=recurrent())
    assert abs(s.mean.value - 1.75) <= 4 * s.mean.stderr
    assert abs(s.mean.value - 1.0) > 10 * s.mean.stderr


def test_simulate_marks_tail_dominated_moments_inconclusive():
    from analytic.compare import simulate

    s = simulate("relu", 20, "normal(0, 1)", samples=20_000, seed=0, architecture=recurrent())
    assert not s.check("mean_square").reliable  # E[w^40; w > 0] sits at w ~ 6: no sample reaches it
    assert s.check("zero_probability").agree and s.check("zero_probability").reliable
    assert "DISAGREE" not in s.verdict


# ---------------------------------------------------------------- Pascanu

@pytest.mark.parametrize("act,law,dist,S", [("tanh", "normal(0.5, 1)", stats.norm(0.5, 1), 1.0),
                                            ("sigmoid", "normal(1, 3)", stats.norm(1, 3), 0.25),
                                            ("tanh", "uniform(-3, 1)", stats.uniform(-3, 4), 1.0)])
def test_pascanu_probability_is_the_cdf(act, law, dist, S):
    p = pascanu(act, 10, law)
    assert p.sup_dphi == pytest.approx(S, rel=1e-12)
    expected = dist.cdf(1 / S) - dist.cdf(-1 / S)
    assert p.sufficient_probability == pytest.approx(expected, rel=1e-12)


def test_pascanu_bound_from_the_absolute_moment_and_above_the_exact_value():
    p = pascanu("tanh", 6, "normal(0, 1)")
    assert p.bound == pytest.approx(15.0, rel=1e-12)  # E|w|^6 = 5!! for N(0, 1)
    c = recurrent_chain("tanh", 6, "normal(0, 1)")
    assert c["mean_abs"].value <= p.bound
    r = pascanu("relu", 5, "normal(1, 0.5)")
    ref = integrate.quad(lambda w: abs(w) ** 5 * stats.norm(1, 0.5).pdf(w), -8, 10, points=[0], epsrel=1e-12)[0]
    assert r.bound == pytest.approx(ref, rel=1e-10)


def test_relu_tied_chain_is_the_partial_moment():
    c = recurrent_chain("relu", 6, "normal(0, 1)")
    assert c["mean"].value == pytest.approx(15.0 / 2, rel=1e-10)  # E[w^6; w > 0]
    assert c["zero_probability"].value == pytest.approx(0.5, abs=1e-12)


# ---------------------------------------------------------------- CLI

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=1800)


@pytest.mark.parametrize("args", [["gradient", "tanh", "--depth", "3", "--weights", "normal(0, 1)",
                                   "--inputs", "normal(0, 1)"],
                                  ["gradient", "tanh", "--depth", "3", "--weights", "normal(0, 1)", "--tied",
                                   "--inputs", "normal(0, -1)"],
                                  ["gradient", "tanh", "--depth", "3", "--weights", "normal(0, 1)", "--tied",
                                   "--bias", "normal(0, 1)"],
                                  ["simulate", "tanh", "--depth", "3", "--weights", "normal(0, 1)", "--tied",
                                   "--width", "4"],
                                  ["gradient", "tanh", "--depth", "0", "--weights", "normal(0, 1)", "--tied"]])
def test_cli_bad_input_exits_2(args):
    r = _cli(*args)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_cli_gradient_tied_json():
    r = _cli("gradient", "identity", "--depth", "3", "--weights", "uniform(0, 2)", "--tied", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["architecture"] == {"kind": "recurrent", "inputs": None}
    assert d["exact_chain"]["mean"]["value"] == pytest.approx(2.0, rel=1e-13)  # E[w^3] = 2^4 / (4 * 2)
    assert d["pascanu"]["sufficient_probability"] == pytest.approx(0.5, rel=1e-13)
    assert d["independence"] is None and "not this network" in d["independence_omitted"]


def test_relu_deep_chain_keeps_products_whose_h_underflows():
    """h_t = w^t underflows to 0 for small w > 0 by T = 200; the product w^T is still non-zero, so P(prod = 0) is
    P(w < 0) exactly (a float iteration that let v = 0 hit ReLU's kink would count those weights as dead)."""
    c = recurrent_chain("relu", 200, "normal(1, 0.5)")
    assert c["zero_probability"].value == pytest.approx(stats.norm.cdf(-2.0), abs=1e-12)
