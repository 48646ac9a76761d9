"""The exact chain: closed forms, the transfer operator, and independent routes that check them.

No expected value here comes from the code under test: closed forms are derived by hand in the test, the transfer
operator is held against the closed forms on the same chain, against a finer discretisation, and against seeded
Monte Carlo of the same chain within 4 standard errors.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from analytic.mc import simulate_chain
from analytic.quantities import NAMES
from analytic.theory import chain
from analytic.theory.accuracy import SCHEDULE
from analytic.theory.chain import _assemble, _iterate, exact_chain
from analytic.theory.transfer import build_operator, mean_log_abs_normal


def _transfer(act, depth, weights, bias=None, x=1.0, levels=SCHEDULE[:2]):
    """The transfer-operator route, even where a closed form exists."""
    runs = [_iterate(build_operator(act, weights, bias, x, acc), depth) for acc in levels]
    return _assemble(runs[-1], runs[0], chain.TOLERANCE)


# ---------------------------------------------------------------- closed forms, derived here by hand

@pytest.mark.parametrize("sigma", [0.5, 1.4142, 2.0])
def test_relu_mean_is_the_partial_first_moment_to_the_power_r(sigma):
    # x > 0, no bias: P_r != 0 iff every w_t > 0, and then P_r = prod w_t, so E[P_r] = (E[w 1(w>0)])^r
    # = (sigma / sqrt(2 pi))^r, E[P_r^2] = (sigma^2 / 2)^r, P(P_r = 0) = 1 - 2^-r.
    c = exact_chain("relu", 10, f"normal(0, {sigma})")
    assert c.method == "closed form"
    assert c["mean"].value == pytest.approx((sigma / math.sqrt(2 * math.pi)) ** 10, rel=1e-13)
    assert c["mean_square"].value == pytest.approx((sigma**2 / 2) ** 10, rel=1e-13)
    assert c["zero_probability"].value == pytest.approx(1 - 2.0**-10, rel=1e-15)
    # E[log w | w > 0] for w = sigma |z|: log sigma - (gamma + log 2)/2
    assert c["log_mean"].value == pytest.approx(10 * (math.log(sigma) - (np.euler_gamma + math.log(2)) / 2),
                                                rel=1e-12)


def test_relu_normal_1_4142_mean_is_sigma_over_sqrt_2pi_to_the_depth():
    c = exact_chain("relu", 10, "normal(0,1.4142)")
    assert c["mean"].value == pytest.approx((1.4142 / math.sqrt(2 * math.pi)) ** 10, rel=1e-13)


def test_leaky_relu_two_state_sign_chain_by_hand():
    # slope a. From y > 0: w > 0 gives v > 0 (factor w, y' > 0), w < 0 gives v < 0 (factor a w, y' < 0).
    # From y < 0: w < 0 gives v > 0 (factor w, y' > 0), w > 0 gives v < 0 (factor a w, y' < 0).
    # With w ~ N(0, 1): E[w; w>0] = -E[w; w<0] = m = 1/sqrt(2 pi), so on (+, -): M = [[m, -a m], [-m, a m]].
    a, r = 0.01, 7
    m = 1 / math.sqrt(2 * math.pi)
    M = np.array([[m, -a * m], [-m, a * m]])
    expected = (np.linalg.matrix_power(M, r) @ np.ones(2))[0]
    c = exact_chain("leaky_relu", r, "normal(0, 1)")
    assert c["mean"].value == pytest.approx(expected, rel=1e-12)
    # E|P| with |factors|: [[m, a m], [a m, m]]
    Mabs = np.abs(M)
    assert c["mean_abs"].value == pytest.approx((np.linalg.matrix_power(Mabs, r) @ np.ones(2))[0], rel=1e-12)
    # starting from x < 0 the chain starts in the other state
    c_neg = exact_chain("leaky_relu", r, "normal(0, 1)", x=-2.0)
    assert c_neg["mean"].value == pytest.approx((np.linalg.matrix_power(M, r) @ np.ones(2))[1], rel=1e-12)


def test_identity_is_a_product_of_independent_weights():
    c = exact_chain("identity", 6, "uniform(-0.5, 2)")
    assert c["mean"].value == pytest.approx(0.75**6, rel=1e-13)
    assert c["mean_square"].value == pytest.approx(((0.25 + (-0.5) * 2 + 4) / 3) ** 6, rel=1e-13)
    # the law of v_t = w_t y_(t-1): E[v_t] = E[w]^t, Var = E[w^2]^t - E[w]^(2t)
    assert c.preact_mean[2] == pytest.approx(0.75**3, rel=1e-12)


def test_relu_with_x_zero_is_dead_from_the_start():
    c = exact_chain("relu", 3, "normal(0, 1)", x=0.0)
    assert c["zero_probability"].value == 1.0 and c["mean_square"].value == 0.0


# ---------------------------------------------------------------- the general route against the closed forms

@pytest.mark.parametrize("act, weights, x", [("relu", "normal(0.3, 1.2)", 1.0), ("leaky_relu", "normal(0, 1)", 0.5),
                                             ("identity", "normal(1, 0.5)", -1.5), ("relu", "uniform(-1, 2)", 2.0)])
def test_transfer_operator_matches_the_closed_form(act, weights, x):
    closed = exact_chain(act, 8, weights, x=x)
    assert closed.method == "closed form"
    general = _transfer(act, 8, weights, x=x)
    for q in ("mean", "mean_abs", "mean_square"):
        assert general[q][-1].value == pytest.approx(closed[q].value, rel=1e-8), q
    assert general["zero_probability"][-1].value == pytest.approx(closed["zero_probability"].value, abs=1e-10)
    assert general["log_mean"][-1].value == pytest.approx(closed["log_mean"].value, abs=1e-7)


# ---------------------------------------------------------------- symmetry, refinement, special functions

def test_tanh_with_a_symmetric_weight_law_has_mean_zero():
    c = exact_chain("tanh", 10, "normal(0, 1)")
    assert abs(c["mean"].value) < 1e-14 * c["mean_abs"].value * 1e6
    assert c["mean_abs"].value > 1e-3


@pytest.mark.parametrize("act, weights, bias", [("sigmoid", "normal(1, 0.5)", None), ("tanh", "normal(0, 1)", None),
                                                ("elu", "normal(0, 1.2)", None),
                                                ("relu", "normal(0, 1.4142)", "normal(0.1, 0.2)")])
def test_reported_error_bounds_the_distance_to_a_much_finer_solution(act, weights, bias):
    c = exact_chain(act, 6, weights, bias=bias)
    finer = _transfer(act, 6, weights, bias=bias, levels=SCHEDULE[-1:])  # one run, no error of its own
    for q in ("mean", "mean_abs", "mean_square", "log_mean", "zero_probability"):
        if c.method == "closed form":
            continue
        reported = c[q]
        gap = abs(reported.value - finer[q][-1].value)
        assert gap <= reported.error + 1e-15 * max(1.0, abs(reported.value)), (q, gap, reported.error)


def test_sigmoid_normal_1_half_chain_converges_to_the_tolerance():
    c = exact_chain("sigmoid", 10, "normal(1,0.5)")
    assert c.converged
    assert c["mean"].relative_error < 1e-8


@pytest.mark.parametrize("mu", [0.0, 0.3, 2.0, 7.5, 29.0, 31.0, 80.0])
def test_mean_log_abs_normal_against_quadrature(mu):
    f = lambda z: math.log(abs(mu + z)) * stats.norm.pdf(z)  # noqa: E731
    pieces = [(-40.0, -mu), (-mu, 40.0)] if -40 < -mu < 40 else [(-40.0, 40.0)]
    ref = sum(integrate.quad(f, a, b, limit=400, epsabs=1e-14, epsrel=1e-13)[0] for a, b in pieces)
    assert float(mean_log_abs_normal(np.array([mu]))[0]) == pytest.approx(ref, abs=1e-11)


# ---------------------------------------------------------------- the transfer operator against Monte Carlo

CASES = [("sigmoid", "normal(1, 0.5)", None, 1.0), ("tanh", "normal(0.5, 1)", None, 1.0),
         ("tanh", "normal(0.2, 1.2)", "normal(0, 0.3)", 0.7), ("gelu", "normal(0, 1)", None, 1.0),
         ("sigmoid", "normal(0.5, 1)", "uniform(-0.2, 0.4)", -0.5), ("elu", "normal(0, 1.2)", None, 1.0),
         ("softplus", "uniform(-1, 1.5)", None, 2.0), ("hardtanh", "normal(0, 2)", None, 1.0),
         ("relu", "normal(0, 1.4142)", "normal(0.1, 0.2)", 1.0), ("softsign", "lognormal(0, 0.5)", None, 1.0),
         ("sigmoid", "normal(0, 3)", "constant(0.5)", 3.0)]


@pytest.mark.parametrize("act, weights, bias, x", CASES)
def test_transfer_operator_agrees_with_monte_carlo_of_the_same_chain(act, weights, bias, x):
    depth = 5
    c = exact_chain(act, depth, weights, x=x, bias=bias)
    assert c.method == "transfer operator"
    s = simulate_chain(act, depth, weights, samples=200_000, seed=11, x=x, bias=bias, progress=False)
    for q in ("mean", "mean_abs", "mean_square"):  # estimates, converged or not, weighed by their errors
        sim = getattr(s, q)
        z = (sim.value - c[q].estimate) / math.hypot(sim.stderr, c[q].error)
        assert abs(z) < 4, (q, sim.value, c[q].estimate, z)
    z = (s.zero_fraction.value - c["zero_probability"].estimate) / max(s.zero_fraction.stderr, 1e-12)
    assert abs(z) < 4 or abs(s.zero_fraction.value - c["zero_probability"].estimate) < 1e-9
    z = (s.log_mean.value - c["log_mean"].estimate) / s.log_mean.stderr
    assert abs(z) < 4, ("log_mean", s.log_mean.value, c["log_mean"].estimate)


def test_preactivation_law_agrees_with_monte_carlo():
    # E[v_t] and sd(v_t) for a sigmoid chain, against the sample mean and sd of v_t in simulated chains
    c = exact_chain("sigmoid", 6, "normal(1, 0.5)", bias="normal(0, 0.5)")
    rng = np.random.default_rng(5)
    n = 400_000
    y = np.ones(n)
    for t in range(6):
        v = rng.normal(1, 0.5, n) * y + rng.normal(0, 0.5, n)
        assert abs(v.mean() - c.preact_mean[t]) < 4 * v.std() / math.sqrt(n)
        assert v.std() == pytest.approx(c.preact_sd[t], rel=4 * math.sqrt(2 / n) + 1e-9)
        y = 1 / (1 + np.exp(-v))


def test_all_depths_come_from_one_run():
    c = exact_chain("relu", 4, "normal(0, 2)")
    m = 2 / math.sqrt(2 * math.pi)
    assert [q.value for q in c.by_depth["mean"]] == pytest.approx([m, m**2, m**3, m**4], rel=1e-13)
    assert set(c.by_depth) == set(NAMES)


# ---------------------------------------------------------------- simulate compares like with like

def test_simulate_compares_the_chain_with_the_exact_chain():
    from analytic.compare import simulate

    s = simulate("sigmoid", 6, "normal(1, 1)", samples=100_000, seed=3, bias="normal(0, 0.5)", x=0.5)
    assert s.analytic["model"] == "exact chain"
    assert {c.statistic for c in s.checks} >= {"mean", "mean_abs", "mean_square", "zero_probability", "log_mean"}
    assert s.agree and s.verdict.startswith("agree")
    # the same simulation against a wrong analytic value (the exact chain of another weight law) disagrees
    wrong = exact_chain("sigmoid", 6, "normal(1.1, 1)", x=0.5, bias="normal(0, 0.5)")
    z = (s.result.mean_square.value - wrong["mean_square"].value) / s.result.mean_square.stderr
    assert abs(z) > 4


def test_relu_normal_1_4142_chain_is_inconclusive_not_agree_at_the_default_sample_size():
    from analytic.compare import simulate

    # E[prod] = 3.267e-3 rests on the ~1e-3 of chains whose every weight is positive: too few effective samples
    s = simulate("relu", 10, "normal(0,1.4142)", samples=100_000, seed=0)
    assert not s.agree and s.verdict.startswith("inconclusive")
    assert s.check("mean").analytic == pytest.approx((1.4142 / math.sqrt(2 * math.pi)) ** 10, rel=1e-12)


# ---------------------------------------------------------------- figures draw the exact chain

def test_gradient_depth_panel_draws_the_exact_chain_and_labels_the_approximation():
    from scipy.stats import norm

    from analytic.output.budget import QUICK
    from analytic.output.panels import gradient_panel

    p = gradient_panel("relu", QUICK)
    # relu, w ~ N(1, 1/4), x = 1: E[prod] = (E[w 1(w > 0)])^r with E[w 1(w>0)] = mu Phi(mu/s) + s phi(mu/s)
    m = 1.0 * norm.cdf(2.0) + 0.5 * norm.pdf(2.0)
    assert p.line("mean").y[:5] == pytest.approx(m ** np.arange(1, 6), rel=1e-12)
    # the independence approximation is there, and differs: E[w] E[relu'(v)] = 1/2 for v ~ N(0, 1)
    assert p.independence_mean[:3] == pytest.approx(0.5 ** np.arange(1, 4), rel=1e-12)


def test_preactivation_panel_starts_from_the_input():
    from analytic.output.budget import QUICK
    from analytic.output.panels import preact_panel

    p = preact_panel("sigmoid", QUICK)
    # v_1 = w_1 x with x = 1, w ~ N(1, 1/4): mean 1, sd 1/2; v_2 = w_2 sigmoid(v_1): mean E[sigmoid(v_1)]
    assert p.mean[0] == pytest.approx(1.0, rel=1e-12) and p.sd[0] == pytest.approx(0.5, rel=1e-12)
    z, wz = np.polynomial.hermite_e.hermegauss(80)
    e_sig = np.sum(wz / (1 + np.exp(-(1 + 0.5 * z)))) / np.sqrt(2 * np.pi)
    assert p.mean[1] == pytest.approx(e_sig, rel=1e-9)


def test_the_exact_chain_gives_the_same_digits_for_any_number_of_blas_threads():
    """A threaded matrix product sums in an order set by the thread count; the exact chain must not depend on it
    (same call, same numbers on every machine). Each run is a fresh process with OPENBLAS_NUM_THREADS set."""
    import os
    import subprocess
    import sys

    code = ("from analytic.theory.chain import exact_chain; c = exact_chain('sigmoid', 50, 'normal(1, 0.5)'); "
            "print([repr(v.log_abs) for q in ('mean', 'log_mean') for v in c.by_depth[q]])")
    out = {n: subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "OPENBLAS_NUM_THREADS": n, "OMP_NUM_THREADS": n}).stdout
           for n in ("1", "2")}
    assert out["1"] and out["1"] == out["2"]
