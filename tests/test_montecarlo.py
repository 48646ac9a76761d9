"""Monte Carlo engine: reproducibility, one-layer closed forms, the chain where the independence result is exact,
wide-network slopes vs ln chi_1, the verdict, underflow at depth 1000, validation and the command line.

Every statistical assertion allows K standard errors, the standard error being the one the code reports (whose
coverage over many seeds is tested in test_montecarlo_calibration.py); the reference values come from closed forms,
scipy quadrature or mpmath, never from the code under test.
"""
from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
import sympy as sp
from scipy import integrate, optimize, stats

from analytic.compare import Check, simulate
from analytic.core.activations import names
from analytic.core.special import to_elementary
from analytic.core.calculus import derivative, numpy_function, numpy_kernel, resolve
from analytic.core.fastforms import NAMES as FUSED
from analytic.core.registry import X
from analytic.errors import AnalyticError, SimulationError
from analytic.mc import ScaledStat, chain_log_products, simulate_chain, simulate_wide
from analytic.quantities import NAMES, LogQuantity
from analytic.theory.independence import independence_product
from hang_guard import WALL_SECONDS

K = 4.0  # standard errors allowed
ROOT = Path(__file__).resolve().parents[1]


def normal_expectation(f, mu=0.0, sigma=1.0) -> float:
    """E f(v), v ~ N(mu, sigma^2), by adaptive quadrature (kinks at 0 are split)."""
    g = lambda v: f(np.array([v]))[0] * stats.norm.pdf(v, mu, sigma)  # noqa: E731
    lo, hi = mu - 12 * sigma, mu + 12 * sigma
    return sum(integrate.quad(g, a, b, limit=200)[0] for a, b in ((lo, 0.0), (0.0, hi)) if b > a)


def within(stat, expected, k=K) -> bool:
    return abs(stat.value - expected) <= k * stat.stderr


# ---------------------------------------------------------------- reproducibility

def test_same_seed_gives_identical_arrays():
    a = chain_log_products("tanh", 7, "normal(0.5, 1)", samples=20_000, seed=5, bias="normal(0, 0.1)")
    b = chain_log_products("tanh", 7, "normal(0.5, 1)", samples=20_000, seed=5, bias="normal(0, 0.1)")
    c = chain_log_products("tanh", 7, "normal(0.5, 1)", samples=20_000, seed=6, bias="normal(0, 0.1)")
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_results_do_not_depend_on_the_chunk_size():
    args = ("sigmoid", 40, "normal(1, 0.5)")
    small = simulate_chain(*args, samples=20_000, seed=2, chunk=1)
    large = simulate_chain(*args, samples=20_000, seed=2, chunk=10**7)
    assert small == large


def test_chain_log_products_agree_with_the_statistics():
    logs, signs = chain_log_products("elu", 6, "normal(0.2, 1)", samples=30_000, seed=3)
    s = simulate_chain("elu", 6, "normal(0.2, 1)", samples=30_000, seed=3)
    values = signs * np.exp(logs)
    assert math.isclose(s.mean.value, values.mean(), rel_tol=1e-9)
    assert math.isclose(s.mean_square.value, (values**2).mean(), rel_tol=1e-9)
    assert math.isclose(s.median_abs.value, np.median(np.abs(values)), rel_tol=1e-9)


#: Inputs away from every kink of the catalogue (the kinks' conventions are pinned in test_fastforms.py).
POINTS = (-7.3, -2.2, -0.61, 0.37, 1.45, 2.6, 8.9)
#: Entries whose forms compiled together lose a stable form, so their kernel evaluates two separate functions.
SEPARATE = {"gelu", "gelu_tanh"}


@pytest.mark.parametrize("name", names())
def test_the_chain_multiplies_the_derivatives_of_the_formula(name):
    """Two layers with weight 1 from input x: the product is phi'(x) phi'(phi(x)), here from the catalogue's
    SymPy formula evaluated by mpmath at 50 digits, a route independent of the NumPy forms the chain uses; and
    the kernel the chain uses is the fast one (a wrong fast form must fail, not fall back to a slow right one)."""
    act = resolve(name)
    bound = act.subs
    phi = sp.lambdify([X], to_elementary(act.expr.subs(bound)), modules="mpmath")
    dphi = sp.lambdify([X], to_elementary(derivative(act, 1).subs(bound)), modules="mpmath")
    with mp.workdps(50):
        for x in POINTS:
            truth = float(dphi(mp.mpf(x)) * dphi(phi(mp.mpf(x))))
            s = simulate_chain(name, 2, "constant(1)", samples=2, x=x)
            assert s.mean.value == pytest.approx(truth, rel=1e-10, abs=1e-300), (name, x)
    assert name in FUSED or name in SEPARATE or numpy_kernel(name).shared, name


# ---------------------------------------------------------------- one layer vs closed forms

def test_one_relu_layer_half_of_the_derivatives_vanish():
    s = simulate_chain("relu", 1, "constant(1)", samples=200_000, seed=0, preact="normal(0, 1)")
    assert within(s.mean, 0.5)  # E[relu'(v)] = P(v > 0) = 1/2
    assert within(s.mean_square, 0.5)
    assert within(s.zero_fraction, 0.5)


@pytest.mark.parametrize("act", ["sigmoid", "tanh", "gelu"])
def test_one_layer_matches_quadrature(act):
    d = numpy_function(act, 1)
    s = simulate_chain(act, 1, "constant(1)", samples=200_000, seed=1, preact="normal(0, 1)")
    assert within(s.mean, normal_expectation(d))
    assert within(s.mean_square, normal_expectation(lambda v: d(v) ** 2))
    with np.errstate(divide="ignore"):
        assert within(s.log_mean, normal_expectation(lambda v: np.log(np.abs(d(v)))))


def test_one_exact_layer_sees_the_weight_as_the_preactivation():
    # x = 1, no bias: v_1 = w_1, so the product is w phi'(w) with w ~ N(1, 0.5^2)
    d = numpy_function("sigmoid", 1)
    s = simulate_chain("sigmoid", 1, "normal(1, 0.5)", samples=200_000, seed=4)
    assert within(s.mean, normal_expectation(lambda w: w * d(w), 1.0, 0.5))


# ---------------------------------------------------------------- chain vs the independence result

def test_independence_model_matches_the_product_formula():
    r, mu, sigma = 5, 1.0, 0.5
    d = numpy_function("sigmoid", 1)
    s = simulate_chain("sigmoid", r, f"normal({mu}, {sigma})", samples=300_000, seed=7, preact="normal(0, 1)")
    assert within(s.mean, (mu * normal_expectation(d)) ** r)
    assert within(s.mean_square, ((mu**2 + sigma**2) * normal_expectation(lambda v: d(v) ** 2)) ** r)


def test_exact_chain_with_a_constant_preactivation_is_a_product_of_weights():
    # tanh, x = 0, no bias: v_t = w_t * 0 = 0 every layer, phi'(0) = 1, so prod = prod w_t exactly
    r, mu, sigma = 6, 0.9, 0.4
    s = simulate_chain("tanh", r, f"normal({mu}, {sigma})", samples=300_000, seed=8, x=0.0)
    assert within(s.mean, mu**r)
    assert within(s.mean_square, (mu**2 + sigma**2) ** r)
    # E log|w| for w ~ N(mu, sigma^2), by quadrature
    elog = integrate.quad(lambda w: math.log(abs(w)) * stats.norm.pdf(w, mu, sigma), mu - 12 * sigma, 0,
                          limit=200)[0] + integrate.quad(lambda w: math.log(w) * stats.norm.pdf(w, mu, sigma), 0,
                                                         mu + 12 * sigma, limit=200)[0]
    assert within(s.log_mean, r * elog)


def test_median_of_a_lognormal_product():
    # identity, weights lognormal(mu, sigma): log prod ~ N(r mu, r sigma^2), median exp(r mu)
    r, mu, sigma = 8, -0.1, 0.3
    s = simulate_chain("identity", r, f"lognormal({mu}, {sigma})", samples=200_000, seed=9)
    assert within(s.log_median_abs, r * mu)
    assert within(s.median_abs, math.exp(r * mu))
    assert within(s.log_mean, r * mu)
    assert math.isclose(s.log_std, math.sqrt(r) * sigma, rel_tol=0.01)
    assert within(s.mean, math.exp(r * (mu + sigma**2 / 2)))


def test_signs_multiply():
    s = simulate_chain("identity", 3, "constant(-2)", samples=10, seed=0)
    assert math.isclose(s.mean.value, -8.0, rel_tol=1e-12) and s.mean.stderr == 0.0
    assert s.mean.sign == -1 and s.zero_fraction.value == 0.0
    assert simulate_chain("identity", 4, "constant(-2)", samples=10, seed=0).mean.sign == 1


# ---------------------------------------------------------------- depth 1000: no underflow

def test_depth_1000_constant_product_is_exact_in_log_space():
    s = simulate_chain("sigmoid", 1000, "constant(1)", samples=100, preact="constant(0)")
    assert s.mean.value == 0.0  # 0.25**1000 underflows a float ...
    assert math.isclose(s.mean.log_abs, 1000 * math.log(0.25), rel_tol=1e-12)  # ... its log does not
    assert s.mean.sign == 1 and s.zero_fraction.value == 0.0


def test_factors_whose_partial_products_underflow_are_redone_in_logs():
    s = simulate_chain("identity", 32, "constant(1e-200)", samples=10)
    assert math.isclose(s.log_mean.value, 32 * math.log(1e-200), rel_tol=1e-12)
    assert math.isclose(s.mean.log_abs, 32 * math.log(1e-200), rel_tol=1e-12)


def test_depth_1000_random_chain():
    r = 1000
    s = simulate_chain("identity", r, "uniform(0.5, 1.5)", samples=20_000, seed=3)
    elog = (1.5 * math.log(1.5) - 1.5 - (0.5 * math.log(0.5) - 0.5))  # E log w, w ~ U(0.5, 1.5)
    assert math.isfinite(s.log_mean.value) and within(s.log_mean, r * elog)
    t = simulate_chain("sigmoid", r, "normal(1, 0.5)", samples=5_000, seed=3)
    assert t.zero_fraction.value == 0.0 and -2000 < t.log_mean.value < -1000
    assert math.isfinite(t.mean.log_abs) and t.mean.value == 0.0


# ---------------------------------------------------------------- wide networks vs ln chi_1

def test_wide_relu_at_he_initialisation_keeps_the_gradient_norm():
    n = 128
    w = simulate_wide("relu", depth=20, width=n, weights=f"he({n})", batch=16, networks=8, seed=0)
    assert within(w.slope, 0.0)  # chi_1 = sigma_w^2 / 2 = 1
    assert math.isclose(w.sigma_w2, 2.0)


def test_wide_relu_below_critical_vanishes_at_rate_ln_chi1():
    n, sigma_w2 = 128, 1.5
    w = simulate_wide("relu", depth=20, width=n, weights=f"normal(0, {math.sqrt(sigma_w2 / n)})", batch=16,
                      networks=8, seed=1)
    assert within(w.slope, math.log(sigma_w2 / 2))
    assert 0.3 < w.zero_dphi_fraction[-1] < 0.7  # about half the units are off for any one input


def test_wide_tanh_slope_is_ln_chi1_at_the_fixed_point():
    n, sigma_w2 = 128, 2.0
    # q* and chi_1 by quadrature, independently of the library
    e = lambda f: integrate.quad(lambda z: f(z) * stats.norm.pdf(z), -12, 12, limit=200)[0]  # noqa: E731
    q = optimize.brentq(lambda q: q - sigma_w2 * e(lambda z: math.tanh(math.sqrt(q) * z) ** 2), 0.1, 10.0)
    chi1 = sigma_w2 * e(lambda z: math.cosh(math.sqrt(q) * z) ** -4)
    w = simulate_wide("tanh", depth=25, width=n, weights=f"normal(0, {math.sqrt(sigma_w2 / n)})", batch=8,
                      networks=8, seed=2)
    assert within(w.slope, math.log(chi1))
    assert abs(w.q[-1] - q) < 0.1 * q  # the forward pass reached the fixed point


def test_wide_norms_do_not_underflow():
    w = simulate_wide("sigmoid", depth=400, width=16, weights="normal(0, 0.25)", batch=4, networks=2, seed=0)
    assert all(math.isfinite(v) for v in w.log_mean_norm2)
    assert w.log_mean_norm2[0] < -745  # exp() of it underflows a float
    assert len(w.q) == 401 and w.dead_unit_fraction[0] == 0.0


# ---------------------------------------------------------------- the verdict

CHAIN = ("sigmoid", 10, "normal(1, 0.5)")  # the chain where the independence formula is off by a factor 1.27


def test_a_true_model_agrees_at_enough_samples():
    s = simulate(*CHAIN, samples=100_000, seed=2)
    assert s.analytic["model"] == "exact chain" and s.verdict.startswith("agree") and s.agree
    assert {c.statistic for c in s.checks} >= {"mean", "mean_abs", "mean_square", "log_mean"}


def test_a_wrong_analytic_value_gives_disagree(monkeypatch):
    """The exact chain's E[prod] and E[prod^2] replaced by the independence formulas (which are off here)."""
    import analytic.theory.chain as chain

    real = chain.exact_chain
    formulas = independence_product(*CHAIN, preact="normal(0, 1)")

    def independence_instead(*args, **kwargs):
        c = real(*args, **kwargs)
        assert 1.2 < formulas.mean / c["mean"].value < 1.35  # the premise: the formula is off by about 1.27
        wrong = {**c.quantities, "mean": LogQuantity.of(formulas.mean),
                 "mean_square": LogQuantity.of(formulas.mean_square)}
        return dataclasses.replace(c, quantities=wrong)

    monkeypatch.setattr(chain, "exact_chain", independence_instead)
    s = simulate(*CHAIN, samples=100_000, seed=2)
    assert not s.agree and s.verdict.startswith("DISAGREE") and "mean (z" in s.verdict
    assert not s.check("mean").agree and s.check("mean").reliable
    assert s.check("log_mean").agree  # the quantities left alone still agree


def test_a_one_sided_bound_fails_only_below_the_simulated_value():
    s = simulate_chain(*CHAIN, samples=20_000, seed=2)
    above = Check.of_logs("bound", s.mean_abs.log_abs + 1.0, 1, s.mean_abs, one_sided=True)
    below = Check.of_logs("bound", s.mean_abs.log_abs - 1.0, 1, s.mean_abs, one_sided=True)
    assert above.agree and not below.agree


def test_a_chain_simulation_reads_every_quantity_by_name():
    s = simulate_chain(*CHAIN, samples=1000, seed=2)
    assert [s[q] for q in NAMES] == [s.mean, s.mean_abs, s.mean_square, s.log_mean, s.zero_fraction]
    with pytest.raises(KeyError):
        s["median_abs"]


def test_log_scale_z_equals_the_linear_z():
    stat = ScaledStat(math.log(2.0), 1, math.log(0.1))
    assert math.isclose(Check.of_logs("mean", math.log(2.5), 1, stat).z, (2.5 - 2.0) / 0.1)
    tiny = ScaledStat(-2000.0, -1, -2003.0)  # -exp(-2000) +- exp(-2003): floats underflow to 0
    z = Check.of_logs("mean", -2000.0 + math.log(0.9), -1, tiny).z
    assert math.isclose(z, (-0.9 + 1.0) * math.exp(3.0), rel_tol=1e-9)


def test_simulate_independence_model_agrees_with_the_analytic_formula():
    s = simulate("sigmoid", 5, "normal(1, 0.5)", samples=200_000, seed=1, preact="normal(0, 1)")
    assert {c.statistic for c in s.checks} >= {"mean", "mean_square", "log_mean", "bound"}
    assert s.agree, [c for c in s.checks if not c.agree]
    d = s.as_dict()
    for key in ("mean", "stderr", "median_abs", "log_mean", "analytic", "z", "agree", "checks"):
        assert key in d


def test_simulate_runs_only_the_model_asked_for(monkeypatch):
    import analytic.compare as compare

    calls = []
    real = compare.simulate_chain
    monkeypatch.setattr(compare, "simulate_chain", lambda *a, **k: calls.append(a[7] if len(a) > 7 else
                                                                                k.get("preact")) or real(*a, **k))
    s = compare.simulate("sigmoid", 10, "normal(1, 0.5)", samples=20_000, seed=1)
    assert calls == [None] and s.independent is None and s.result.preact is None
    assert "independent_checks" not in s.analytic
    s = compare.simulate("sigmoid", 10, "normal(1, 0.5)", samples=20_000, seed=1, preact="normal(0, 1)")
    assert calls == [None, "normal(0, 1)"] and s.result.model == "independence"


def test_heavy_tails_make_a_check_inconclusive_not_a_disagreement():
    # identity, w ~ N(0, 1): E[prod^2] = 1 but E[prod^4] = 3^10, so about N / 3^10 chains carry the mean square
    s = simulate("identity", 10, "normal(0, 1)", samples=100_000, seed=0, preact="normal(0, 1)")
    c = s.check("mean_square")
    assert not c.reliable and "effective sample size" in c.note
    assert s.result.ess_square < 1000 < s.result.samples
    # every reliable check agrees, and the unreliable one keeps the verdict from "agree"
    assert all(c.agree for c in s.checks if c.reliable)
    assert not s.agree and s.verdict.startswith("inconclusive")


def test_simulate_wide_compares_with_chi1():
    s = simulate("relu", 12, "he(64)", width=64, seed=0, batch=8, networks=6)
    c = s.check("slope")
    assert c is not None and math.isclose(c.analytic, 0.0, abs_tol=1e-9)
    assert c.agree


# ---------------------------------------------------------------- validation

@pytest.mark.parametrize("kwargs", [dict(depth=0), dict(depth=10**6 + 1), dict(samples=1), dict(depth=1.5),
                                    dict(depth=10**5, samples=10**6), dict(seed=-1), dict(x=math.inf),
                                    dict(weights="normal(0, -1)")])
def test_bad_requests_raise_a_specific_error(kwargs):
    args = dict(act="tanh", depth=3, weights="normal(0, 1)", samples=10) | kwargs
    with pytest.raises(AnalyticError):
        simulate_chain(**args)


def test_wide_validation():
    with pytest.raises(SimulationError):
        simulate_wide("relu", 3, 0, "he(1)")
    with pytest.raises(SimulationError):
        simulate_wide("relu", 10**4, 4096, "he(4096)")  # would hold 10^4 x 64 x 4096 doubles
    with pytest.raises(SimulationError):
        chain_log_products("relu", 1, "he(1)", samples=2**26)


def test_no_progress_output_when_stderr_is_not_a_terminal(capsys):
    simulate_chain("relu", 2, "he(2)", samples=1000)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- command line

def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          timeout=WALL_SECONDS, cwd=ROOT)


def test_cli_simulate_text_and_json():
    out = run_cli("simulate", "sigmoid", "--depth", "10", "--weights", "normal(1,0.5)", "--samples", "100000",
                  "--seed", "1")
    assert out.returncode == 0, out.stderr
    assert "z" in out.stdout and "mean_square" in out.stdout and "verdict" in out.stdout
    js = run_cli("simulate", "sigmoid", "--depth", "10", "--weights", "normal(1,0.5)", "--samples", "100000",
                 "--seed", "1", "--json")
    data = json.loads(js.stdout)
    assert {"mean", "stderr", "median_abs", "log_mean", "analytic", "z", "agree"} <= set(data)
    assert data["simulation"]["samples"] == 100000 and js.stderr == ""


@pytest.mark.parametrize("args", [["--depth", "0"], ["--depth", "2000000"], ["--samples", "1"],
                                  ["--depth", "100000", "--samples", "1000000"], ["--weights", "normal(0,-1)"],
                                  ["--width", "0"]])
def test_cli_simulate_bad_input(args):
    base = {"--depth": "3", "--weights": "normal(0,1)", "--samples": "100"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    out = run_cli("simulate", "tanh", *[t for kv in base.items() for t in kv])
    assert out.returncode == 2 and out.stdout == ""
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
