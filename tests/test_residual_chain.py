"""The exact residual chain against routes that do not share its code: closed forms derived here by hand, nested
quadrature over the weights of a two-block network, a NumPy simulation written here, and the Monte Carlo twin;
and the command line's handling of --residual / --branch."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, stats

from analytic.architecture import residual
from analytic.compare import simulate
from analytic.mc.chain import simulate_chain
from analytic.theory.chain import exact_chain
from analytic.theory.gradient import gradient

ROOT = Path(__file__).resolve().parents[1]


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


# ---------------------------------------------------------------- identity: the factors are i.i.d. 1 + alpha w

@pytest.mark.parametrize("branch", ["post", "pre"])
def test_identity_closed_form_by_hand(branch):
    mu, sd, alpha, r = 0.3, 0.8, 0.7, 6
    c = exact_chain("identity", r, f"normal({mu}, {sd})", architecture=residual(alpha, branch))
    m, s = 1 + alpha * mu, alpha * sd                       # u = 1 + alpha w ~ N(m, s^2)
    mean_abs = s * math.sqrt(2 / math.pi) * math.exp(-m * m / (2 * s * s)) + m * (1 - 2 * stats.norm.cdf(-m / s))
    elog = integrate.quad(lambda u: math.log(abs(u)) * stats.norm.pdf(u, m, s), -np.inf, 0, limit=200)[0] + \
        integrate.quad(lambda u: math.log(abs(u)) * stats.norm.pdf(u, m, s), 0, np.inf, limit=200)[0]
    for k in range(1, r + 1):
        assert _rel(c.by_depth["mean"][k - 1].value, m ** k) < 1e-12
        assert _rel(c.by_depth["mean_square"][k - 1].value, (1 + 2 * alpha * mu + alpha ** 2 * (sd ** 2 + mu ** 2)) ** k) < 1e-12
        assert _rel(c.by_depth["mean_abs"][k - 1].value, mean_abs ** k) < 1e-10
        assert abs(c.by_depth["log_mean"][k - 1].value - k * elog) < 1e-8 * k
    assert c["zero_probability"].value == 0
    assert c.architecture == residual(alpha, branch)
    assert c.as_dict()["architecture"] == residual(alpha, branch).to_json()


def test_identity_uniform_weights_and_a_bias_through_the_transfer_operator():
    """Uniform weights have no closed form here, so the transfer operator runs; the factor 1 + alpha w is
    independent of y (and of the bias), so E[prod] = (1 + alpha E[w])^r and E[prod^2] = E[(1 + alpha w)^2]^r."""
    alpha, r = 0.5, 4
    c = exact_chain("identity", r, "uniform(-1, 2)", bias="constant(0.3)", architecture=residual(alpha, "pre"))
    assert c.method == "transfer operator"
    ew, ew2 = 0.5, (8 + 1) / 9  # E[w], E[w^2] = (b^3 - a^3) / (3 (b - a))
    assert _rel(c["mean"].value, (1 + alpha * ew) ** r) < 1e-9
    assert _rel(c["mean_square"].value, (1 + 2 * alpha * ew + alpha ** 2 * ew2) ** r) < 1e-9


def test_alpha_scaling_is_taken_at_the_depth():
    c = exact_chain("identity", 16, "normal(1, 1)", architecture=residual("1/sqrt(r)"))
    assert _rel(c["mean"].value, 1.25 ** 16) < 1e-12


def test_relu_post_branch_with_positive_input_by_hand():
    """ReLU, post-activation branch, x > 0: y' = y (1 + alpha max(w, 0)) stays positive, so the factors
    u_t = 1 + alpha max(w_t, 0) are i.i.d.: E[prod] = (1 + alpha E[w+])^r, E log|prod| = r E log(1 + alpha w+).
    At r = 40, y_t reaches ~e^16, far beyond the graded part of the y-grid."""
    mu, sd, alpha, r = 1.0, 0.5, 1.0, 40
    c = exact_chain("relu", r, f"normal({mu}, {sd})", architecture=residual(alpha, "post"))
    f = lambda g: integrate.quad(lambda w: g(w) * stats.norm.pdf(w, mu, sd), 0, mu + 14 * sd,  # noqa: E731
                                 epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    m1 = 1 + alpha * f(lambda w: w)
    m2 = stats.norm.cdf(0, mu, sd) + f(lambda w: (1 + alpha * w) ** 2)
    elog = f(lambda w: math.log1p(alpha * w))
    for k in (1, 10, 25, 40):
        assert _rel(c.by_depth["mean"][k - 1].value, m1 ** k) < 1e-9
        assert _rel(c.by_depth["mean_square"][k - 1].value, m2 ** k) < 1e-9
        assert abs(c.by_depth["log_mean"][k - 1].value - k * elog) < 1e-8 * k


# ---------------------------------------------------------------- two blocks: nested quadrature over w_1, w_2

def _two_blocks(act: str, branch: str, alpha: float, mu: float, sd: float, g, x: float = 1.0) -> float:
    r""":math:`E[g(u_1 u_2)]` by nested adaptive quadrature over :math:`w_1, w_2 \sim N(\mu, sd^2)`."""
    phi, dphi = {"tanh": (np.tanh, lambda v: 1 - np.tanh(v) ** 2),
                 "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2),
                 "relu": (lambda v: max(v, 0.0), lambda v: float(v > 0))}[act]

    def step(y, w):
        if branch == "post":
            return y + alpha * phi(w * y), 1 + alpha * w * dphi(w * y)
        return y + alpha * w * phi(y), 1 + alpha * w * dphi(y)

    lo, hi = mu - 12 * sd, mu + 12 * sd
    pdf = lambda w: math.exp(-((w - mu) / sd) ** 2 / 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731

    def outer(w1):
        y1, u1 = step(x, w1)
        inner = integrate.quad(lambda w2: g(u1 * step(y1, w2)[1]) * pdf(w2), lo, hi, epsabs=1e-13, epsrel=1e-12,
                               limit=400, points=[0.0])[0]
        return inner * pdf(w1)

    return integrate.quad(outer, lo, hi, epsabs=1e-12, epsrel=1e-11, limit=400, points=[0.0])[0]


@pytest.mark.parametrize("act,branch", [("tanh", "post"), ("tanh", "pre"), ("sigmoid", "post"), ("relu", "post"),
                                        ("relu", "pre")])
def test_two_blocks_against_nested_quadrature(act, branch):
    alpha, mu, sd = 0.8, 0.5, 1.0
    c = exact_chain(act, 2, f"normal({mu}, {sd})", architecture=residual(alpha, branch))
    for q, g in (("mean", lambda p: p), ("mean_square", lambda p: p * p)):
        ref = _two_blocks(act, branch, alpha, mu, sd, g)
        assert _rel(c[q].value, ref) < 1e-7, (q, c[q].value, ref)


# ---------------------------------------------------------------- a NumPy simulation written here

def test_three_blocks_against_a_numpy_simulation():
    """tanh, pre-activation branch, r = 3, 10^6 chains: |z| <= 4.5 for E[prod] and E|prod| (the standard error
    from the sample itself)."""
    alpha, r, n = 1.0, 3, 1_000_000
    rng = np.random.default_rng(20261207)
    y, p = np.ones(n), np.ones(n)
    for _ in range(r):
        w = rng.normal(0.5, 1.0, n)
        p *= 1 + alpha * w * (1 - np.tanh(y) ** 2)
        y = y + alpha * w * np.tanh(y)
    c = exact_chain("tanh", r, "normal(0.5, 1)", architecture=residual(alpha, "pre"))
    for q, s in (("mean", p), ("mean_abs", np.abs(p))):
        z = (s.mean() - c[q].value) / (s.std() / math.sqrt(n))
        assert abs(z) <= 4.5, (q, z)


# ---------------------------------------------------------------- the Monte Carlo twin

@pytest.mark.parametrize("act,branch,alpha,depth", [("tanh", "post", 1.0, 3), ("sigmoid", "pre", "1/sqrt(r)", 6),
                                                    ("relu", "post", 0.5, 6), ("gelu", "post", "1/r", 6)])
def test_monte_carlo_twin_agrees(act, branch, alpha, depth):
    """|z| <= 4 (the simulation's standard error combined with the exact chain's error) on every decisive check;
    E[prod] and E|prod| must decide (E[prod^2] may rest on too few effective samples)."""
    s = simulate(act, depth, "normal(0.5, 1)", samples=40_000, seed=11, architecture=residual(alpha, branch),
                 progress=False)
    decisive = [c for c in s.checks if c.reliable]
    assert {c.statistic for c in decisive} >= {"mean", "mean_abs", "log_mean"}
    assert all(c.agree for c in decisive), s.verdict
    assert s.as_dict()["architecture"] == residual(alpha, branch).to_json()


def test_monte_carlo_sees_a_wrong_value():
    """The twin's z-scores can fail: the same simulation against the exact chain of another branch disagrees."""
    sim = simulate_chain("tanh", 6, "normal(0.5, 1)", samples=40_000, seed=11, architecture=residual(1, "post"))
    other = exact_chain("tanh", 6, "normal(0.5, 1)", architecture=residual(1, "pre"))
    z = (sim["mean"].value - other["mean"].value) / sim["mean"].stderr
    assert abs(z) > 10


def test_monte_carlo_does_not_depend_on_threads():
    kw = dict(samples=40_000, seed=5, architecture=residual("1/sqrt(r)", "post"))
    one = simulate_chain("silu", 7, "normal(1, 0.5)", threads=1, **kw).as_dict()
    two = simulate_chain("silu", 7, "normal(1, 0.5)", threads=2, **kw).as_dict()
    assert one == two


def test_gradient_residual_bound_and_independence():
    g = gradient("tanh", 3, "normal(0.5, 1)", architecture=residual(1, "pre"))
    d = g.as_dict()
    assert d["architecture"] == residual(1, "pre").to_json()
    assert d["independence"]["typical"] is None and d["independence"]["typical_reason"]
    assert g.bound >= g.exact_chain["mean_abs"].value   # (1 + |alpha| E|w| sup|phi'|)^r bounds E|prod|
    ew, ew2, ed, ed2 = 0.5, 1.25, None, None
    # E[phi'(v)], E[phi'(v)^2] over v ~ N(0, 1), by quadrature here
    ed = integrate.quad(lambda v: (1 - math.tanh(v) ** 2) * stats.norm.pdf(v), -40, 40)[0]
    ed2 = integrate.quad(lambda v: (1 - math.tanh(v) ** 2) ** 2 * stats.norm.pdf(v), -40, 40)[0]
    assert _rel(d["independence"]["mean"], (1 + ew * ed) ** 3) < 1e-9
    assert _rel(d["independence"]["mean_square"], (1 + 2 * ew * ed + ew2 * ed2) ** 3) < 1e-9


# ---------------------------------------------------------------- the command line

def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=1800)


@pytest.mark.parametrize("command,extra", [("gradient", ["--residual", "1/log(r)"]),
                                           ("simulate", ["--residual", "1", "--branch", "middle"]),
                                           ("gradient", ["--branch", "pre"])])
def test_cli_refuses_bad_residual_input(command, extra):
    p = _cli(command, "tanh", "--depth", "3", "--weights", "normal(0, 1)", *extra)
    assert p.returncode == 2, p.stderr
    assert p.stdout == "" and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr


def test_cli_json_carries_the_architecture_and_the_text_names_the_model():
    p = _cli("gradient", "relu", "--depth", "3", "--weights", "normal(0.5, 1)", "--residual", "1", "--branch", "pre",
             "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["architecture"] == {"kind": "residual", "alpha": 1.0, "branch": "pre", "norm": None, "batch": None}
    assert d["exact_chain"]["architecture"] == d["architecture"]
    t = _cli("simulate", "relu", "--depth", "3", "--weights", "normal(0.5, 1)", "--residual", "1", "--samples",
             "2000", "--quiet")
    assert t.returncode == 0, t.stderr
    assert "residual (post-activation branch, alpha = 1)" in t.stdout
