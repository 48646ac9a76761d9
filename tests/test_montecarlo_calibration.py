"""The chain Monte Carlo against exact values, and its standard errors calibrated over many seeds.

Exact values (no code under test involved): with x = 1 and no bias,

* ReLU, w ~ N(0, σ²): y_t > 0 iff every w_s > 0 (s ≤ t), so ∏ = ∏_t w_t 1[w_t > 0], a product of independent
  factors: E[∏] = E|∏| = (σ/√(2π))^r, E[∏²] = (σ²/2)^r, P(∏ = 0) = 1 − 2^{−r},
  E[log|∏| | ∏ ≠ 0] = r (log σ − (γ + log 2)/2);
* identity, w ~ N(μ, σ²): E[∏] = μ^r, E[∏²] = (μ² + σ²)^r, E|∏| = (E|w|)^r, E log|∏| = r E log|w| (quadrature);
* leaky ReLU (slope s), w ~ N(0, σ²): the sign of y_t is a two-state chain; with c = σ/√(2π) its transfer
  matrices give E[∏] = c^r (1 − s)(1 + s)^{r−1}, E|∏| = (c(1 + s))^r, E[∏²] = (σ²(1 + s²)/2)^r; every v_t is
  negative with probability 1/2, so E log|∏| = r (log σ − (γ + log 2)/2 + (log s)/2);
* sigmoid with constant(c) weights: one deterministic product, computed here with math.exp.

Calibration: over RUNS seeds, the nominal 95 % interval value ± 1.96 se must cover the exact value in
95 % ± 3 binomial standard deviations of the runs, for mean, mean_abs, mean_square, log_mean and (ReLU)
zero_probability (a standard error off by a factor 2 either way fails: it covers 99.99 % or 68 %). The cases are
shallow (r = 2, 3) so that the products' fourth moments stay moderate and 20 000 chains are in the normal regime
of the central limit theorem: there the nominal level is what a correct standard error must give.
"""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import integrate, stats

from analytic.compare import simulate
from analytic.mc import chain_log_products, simulate_chain, simulate_wide
from analytic.mc.stats import median_of_logs
from hang_guard import WALL_SECONDS

K = 4.0
RUNS = 400
COVER = 0.95
MARGIN = 3 * math.sqrt(RUNS * COVER * (1 - COVER))  # 3 binomial standard deviations of the count


def elog_half_normal(sigma):
    """E log|w| for w ~ N(0, sigma^2)."""
    return math.log(sigma) - (np.euler_gamma + math.log(2)) / 2


def relu_exact(r, sigma):
    c = sigma / math.sqrt(2 * math.pi)
    return {"mean": c**r, "mean_abs": c**r, "mean_square": (sigma**2 / 2) ** r,
            "log_mean": r * elog_half_normal(sigma), "zero_probability": 1 - 2.0**-r}


def identity_exact(r, mu, sigma):
    abs_w = (sigma * math.sqrt(2 / math.pi) * math.exp(-mu**2 / (2 * sigma**2))
             + mu * (1 - 2 * stats.norm.cdf(-mu / sigma)))  # E|w|, folded normal
    density = lambda w: math.log(abs(w)) * stats.norm.pdf(w, mu, sigma)  # noqa: E731
    elog = sum(integrate.quad(density, a, b, limit=200)[0] for a, b in ((mu - 12 * sigma, 0), (0, mu + 12 * sigma)))
    return {"mean": mu**r, "mean_abs": abs_w**r, "mean_square": (mu**2 + sigma**2) ** r, "log_mean": r * elog}


def leaky_exact(r, sigma, s):
    c = sigma / math.sqrt(2 * math.pi)
    return {"mean": c**r * (1 - s) * (1 + s) ** (r - 1), "mean_abs": (c * (1 + s)) ** r,
            "mean_square": (sigma**2 * (1 + s**2) / 2) ** r,
            "log_mean": r * (elog_half_normal(sigma) + math.log(s) / 2)}


CASES = {
    "relu": (dict(act="relu", depth=2, weights="normal(0, 1.5)"), relu_exact(2, 1.5)),
    "identity": (dict(act="identity", depth=3, weights="normal(0.8, 0.5)"), identity_exact(3, 0.8, 0.5)),
    "leaky_relu": (dict(act="leaky_relu", depth=2, weights="normal(0, 1)", params={"negative_slope": 0.3}),
                   leaky_exact(2, 1.0, 0.3)),
}


def within(stat, expected, k=K):
    return abs(stat.value - expected) <= k * stat.stderr


# ---------------------------------------------------------------- exact values

def test_relu_chain_exact_values():
    r, sigma = 6, 1.4142
    s = simulate_chain("relu", r, f"normal(0, {sigma})", samples=400_000, seed=11)
    exact = relu_exact(r, sigma)
    for key, value in exact.items():
        assert within(s[key], value), key


def test_identity_chain_exact_values():
    r, mu, sigma = 5, 0.9, 0.6
    s = simulate_chain("identity", r, f"normal({mu}, {sigma})", samples=300_000, seed=12)
    exact = identity_exact(r, mu, sigma)
    for key, value in exact.items():
        assert within(s[key], value), key


def test_leaky_relu_chain_exact_values():
    r, sigma, slope = 5, 1.2, 0.3
    s = simulate_chain("leaky_relu", r, f"normal(0, {sigma})", samples=300_000, seed=13,
                       params={"negative_slope": slope})
    exact = leaky_exact(r, sigma, slope)
    for key, value in exact.items():
        assert within(s[key], value), key
    assert s.zero_fraction.value == 0.0


def test_sigmoid_with_constant_weights_is_one_deterministic_product():
    r, c = 40, 1.7
    y, prod = 1.0, 1.0
    for _ in range(r):
        v = c * y
        sig = 1 / (1 + math.exp(-v))
        prod *= c * sig * (1 - sig)
        y = sig
    s = simulate_chain("sigmoid", r, f"constant({c})", samples=1000, seed=0)
    assert math.isclose(s.mean.value, prod, rel_tol=1e-12) and s.mean.stderr <= 1e-15 * prod  # rounding only
    assert math.isclose(s.median_abs.value, prod, rel_tol=1e-12)
    assert math.isclose(s.log_mean.value, math.log(prod), rel_tol=1e-12)


def test_deep_products_keep_exact_exponents():
    # identity, w = constant(-0.5): the product is (-1)^r 2^-r exactly, far outside the float range
    r = 100_001
    s = simulate_chain("identity", r, "constant(-0.5)", samples=2, seed=0)
    assert s.mean.log_abs == pytest.approx(-r * math.log(2), rel=1e-14)
    assert s.mean.sign == -1 and s.zero_fraction.value == 0.0
    big = simulate_chain("tanh", 3000, "constant(1e6)", samples=2, seed=0, x=0.0)  # v_t = 0, tanh′(0) = 1
    assert big.mean.log_abs == pytest.approx(3000 * 6 * math.log(10), rel=1e-12)
    z = simulate_chain("relu", 1000, "constant(-1)", samples=2, seed=0)
    assert z.zero_fraction.value == 1.0 and z.mean.value == 0.0 and z.mean.sign == 0


def test_standard_errors_equal_the_sample_formula_across_blocks():
    # 40000 chains = three blocks merged: mean, stderr of mean, mean square and its stderr vs numpy on all values
    logs, signs = chain_log_products("tanh", 4, "normal(0.3, 1)", samples=40_000, seed=5)
    s = simulate_chain("tanh", 4, "normal(0.3, 1)", samples=40_000, seed=5)
    g = signs * np.exp(logs)
    n = g.size
    for stat, values in ((s.mean, g), (s.mean_abs, np.abs(g)), (s.mean_square, g * g)):
        assert math.isclose(stat.value, values.mean(), rel_tol=1e-12)
        assert math.isclose(stat.stderr, values.std(ddof=1) / math.sqrt(n), rel_tol=1e-9)


# ---------------------------------------------------------------- calibration over seeds

@pytest.mark.parametrize("case", sorted(CASES))
def test_nominal_95_percent_intervals_cover_the_exact_value(case):
    kwargs, exact = CASES[case]
    covered = dict.fromkeys(exact, 0)
    for seed in range(RUNS):
        s = simulate_chain(**kwargs, samples=20_000, seed=seed, threads=1)
        for key, value in exact.items():
            covered[key] += abs(s[key].value - value) <= 1.96 * s[key].stderr
    for key, count in covered.items():
        assert abs(count - COVER * RUNS) <= MARGIN, (case, key, count / RUNS)


# ---------------------------------------------------------------- threads

def test_results_are_bit_identical_for_any_thread_count():
    kwargs = dict(act="tanh", depth=7, weights="normal(0.5, 1)", samples=70_000, seed=3, bias="normal(0, 0.1)")
    one = json.dumps(simulate(**kwargs, threads=1).as_dict(), sort_keys=True)
    for threads in (2, 3):
        assert json.dumps(simulate(**kwargs, threads=threads).as_dict(), sort_keys=True) == one
    a = chain_log_products("relu", 5, "normal(0, 1.5)", 40_000, seed=1, threads=1)
    b = chain_log_products("relu", 5, "normal(0, 1.5)", 40_000, seed=1, threads=2)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_wide_networks_are_identical_for_any_thread_count():
    kwargs = dict(act="tanh", depth=6, width=32, weights="normal(0, 0.25)", batch=8, networks=5, seed=4,
                  bias="normal(0, 0.1)")
    one = simulate_wide(**kwargs, threads=1)
    assert simulate_wide(**kwargs, threads=2) == one == simulate_wide(**kwargs, threads=3)


def test_median_and_its_order_statistics_match_a_full_sort():
    rng = np.random.default_rng(0)
    for n in (1, 2, 3, 4, 5, 10, 101, 1000, 12345):
        x = rng.standard_normal(n)
        x[rng.random(n) < 0.3] = -np.inf  # exact zeros
        z = np.sort(x)
        half = math.sqrt(n) / 2
        lo, hi = max(0, math.floor((n - 1) / 2 - half)), min(n - 1, math.ceil((n - 1) / 2 + half))
        _, log_median = median_of_logs(x.copy())
        expected = np.logaddexp(z[(n - 1) // 2], z[n // 2]) - math.log(2)
        assert log_median.value == expected or (expected == -np.inf and log_median.value == -np.inf), n
        if np.isfinite(z[lo]):
            assert log_median.stderr == (z[hi] - z[lo]) / 2, n


def test_cli_json_is_identical_for_one_and_two_threads():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    args = ["simulate", "relu", "--depth", "5", "--weights", "normal(0,1.5)", "--samples", "40000", "--seed", "2",
            "--json", "--quiet"]
    outs = [subprocess.run([sys.executable, str(root / "cli.py"), *args, "--threads", n], capture_output=True,
                           text=True, timeout=WALL_SECONDS, cwd=root) for n in ("1", "2")]
    assert all(o.returncode == 0 for o in outs), [o.stderr for o in outs]
    assert outs[0].stdout == outs[1].stdout and json.loads(outs[0].stdout)["simulation"]["samples"] == 40000
