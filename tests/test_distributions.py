"""Distributions: exact moments vs sympy.stats / quadrature vs a seeded Monte Carlo; samplers; bad specs."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
import sympy.stats as stats
from scipy import integrate
from scipy import stats as sstats

from analytic.distributions import DISTRIBUTIONS, Constant, distribution
from analytic.errors import AnalyticError, SpecError

SPECS = ["normal(1, 0.5)", "normal(0, 2)", "normal(-0.3, 1.5)", "uniform(-1, 3)", "uniform(0.5, 2)",
         "constant(-2)", "lognormal(0.1, 0.4)", "glorot(100, 50)", "he(64)"]
#: Monte Carlo draws per spec, and the agreement rule (|difference| <= Z standard errors of the sample mean).
N, Z = 400_000, 5.0


def _quad_moment(d, f) -> float:
    """E[f(w)] against d.pdf by scipy quad over the support, split at 0 (where log|w| is singular)."""
    if isinstance(d, Constant):
        return f(float(d.args[0]))
    lo, hi = {"uniform": tuple(map(float, d.args)), "lognormal": (0.0, math.inf)}.get(d.NAME, (-math.inf, math.inf))
    edges = [lo] + ([0.0] if lo < 0 < hi else []) + [hi]
    g = lambda w: f(w) * float(d.pdf(np.array(w))) if w != 0 else 0.0  # noqa: E731
    return sum(integrate.quad(g, a, b, limit=200, epsabs=1e-13, epsrel=1e-11)[0] for a, b in zip(edges, edges[1:]))


def _sympy_E(w, power: int) -> float:
    """E[w**power] by sympy.stats (its log-normal has no moment generating function, so E has no route there:
    the textbook formula exp(k mu + k^2 sigma^2 / 2) is used instead)."""
    dist = w.pspace.distribution
    if isinstance(dist, stats.crv_types.LogNormalDistribution):
        mu, sigma = float(dist.mean), float(dist.std)
        return math.exp(power * mu + power**2 * sigma**2 / 2)
    return float(sp.N(stats.E(w**power)))


@pytest.mark.parametrize("spec", SPECS)
def test_moments_match_sympy_stats_quadrature_and_monte_carlo(spec):
    d = distribution(spec)
    m = d.moments().floats()
    # 1) sympy.stats on the distribution's own random variable (mean and mean square)
    w = d.variable("w")
    if not d.is_constant:
        assert m["mean"] == pytest.approx(_sympy_E(w, 1), rel=1e-12, abs=1e-14)
        assert m["mean_square"] == pytest.approx(_sympy_E(w, 2), rel=1e-12)
    # 2) quadrature against the NumPy density
    routes = {"mean": lambda x: x, "mean_abs": abs, "mean_square": lambda x: x * x,
              "mean_log_abs": lambda x: math.log(abs(x))}
    for key, f in routes.items():
        assert m[key] == pytest.approx(_quad_moment(d, f), rel=1e-8, abs=1e-10), key
    # 3) the sampler, seeded: each moment within Z standard errors of the sample mean
    x = d.sample(np.random.default_rng(12345), N)
    for key, values in {"mean": x, "mean_abs": np.abs(x), "mean_square": x * x,
                        "mean_log_abs": np.log(np.abs(x))}.items():
        se = values.std(ddof=1) / math.sqrt(N)
        tol = Z * se + 1e-12 * abs(m[key])  # + rounding of a 400000-term float sum
        assert abs(values.mean() - m[key]) <= tol, (key, values.mean(), m[key], se)


def test_exact_values_that_have_closed_forms():
    assert distribution("normal(1, 0.5)").moments().mean_square == sp.Rational(5, 4)
    assert distribution("normal(0, 1)").moments().mean_abs == sp.sqrt(2 / sp.pi)
    # E log|z| = -(gamma + log 2)/2 for z ~ N(0, 1)
    assert sp.simplify(distribution("normal(0, 1)").moments().mean_log_abs + (sp.EulerGamma + sp.log(2)) / 2) == 0
    assert distribution("he(8)").moments().mean_square == sp.Rational(1, 4)
    assert distribution("glorot(3, 5)").moments().mean_square == sp.Rational(1, 4)
    assert distribution("lognormal(0.1, 0.4)").moments().mean_log_abs == sp.Rational(1, 10)
    assert distribution("constant(0)").moments().mean_log_abs == -sp.oo


@pytest.mark.parametrize("spec", SPECS[:-2] + ["he(64)"])
def test_pdf_is_the_sampled_density(spec):
    d = distribution(spec)
    if d.is_constant:
        with pytest.raises(TypeError):
            d.pdf(np.array([0.0]))
        return
    ref = {"normal": lambda: sstats.norm(d.mu, d.sigma), "he": lambda: sstats.norm(0, math.sqrt(2 / 64)),
           "uniform": lambda: sstats.uniform(d.args[0], d.args[1] - d.args[0]),
           "lognormal": lambda: sstats.lognorm(d.args[1], scale=math.exp(d.args[0]))}[d.NAME]()
    xs = np.linspace(-4, 6, 101)
    assert np.allclose(d.pdf(xs), ref.pdf(xs), rtol=1e-12, atol=1e-15)
    assert _quad_moment(d, lambda w: 1.0) == pytest.approx(1.0, abs=1e-9)


def test_glorot_and_he_variances():
    assert distribution("glorot(100, 50)").sigma == pytest.approx(math.sqrt(2 / 150), rel=1e-15)
    assert distribution("he(64)").sigma == pytest.approx(math.sqrt(2 / 64), rel=1e-15)
    assert distribution("he(64)").mu == 0.0


def test_same_seed_same_numbers_and_spec_round_trips():
    for spec in SPECS:
        d = distribution(spec)
        a = d.sample(np.random.default_rng(7), 5)
        b = d.sample(np.random.default_rng(7), 5)
        assert np.array_equal(a, b)
        assert distribution(d.spec) == d  # the canonical spec reads back as the same distribution
    assert distribution("normal(0.123456789, 1)").spec == "normal(0.123456789, 1)"
    assert distribution("normal(999999.9999999999, 1)").args == (999999.9999999999, 1.0)  # literals as typed


@pytest.mark.parametrize("spec, words", [
    ("normal(0, 0)", "sigma"), ("normal(0, -1)", "sigma"), ("uniform(2, 1)", "a must be < b"),
    ("uniform(1, 1)", "a must be < b"), ("glorot(0, 5)", "n_in"), ("glorot(5, 2.5)", "n_out"), ("he(-3)", "n_in"),
    ("lognormal(0, 0)", "sigma"), ("foo(1)", "unknown distribution"), ("normal(1, 2, 3)", "takes 2"),
    ("constant()", "takes 1"), ("normal(1", "is not a valid expression"), ("normal(a, 1)", "'a'"),
    ("normal", "must look like name(arguments)"), ("", "is empty"), ("normal(mu=1, sigma=2)", "position"),
    ("normal(1e400, 1)", "literal inf is outside"), ("__import__('os')", "literal 'os' is not a real number"),
    ("uniform(999999.9999999999, 1e6)", "too close"), ("uniform(1e6 - 1e-10, 1e6)", "too close"),
    ("lognormal(1000, 10)", "overflows"),
])
def test_bad_specs_raise_a_spec_error_naming_the_part(spec, words):
    with pytest.raises(SpecError) as err:
        distribution(spec)
    assert isinstance(err.value, AnalyticError)
    assert words in str(err.value)


def test_moments_near_the_refusal_limits_are_finite():
    for spec in ("uniform(999999.99, 1e6)", "lognormal(340, 3)"):
        assert all(math.isfinite(v) for v in distribution(spec).moments().floats().values()), spec


def test_the_registry_is_the_only_list():
    assert set(DISTRIBUTIONS) == {"normal", "uniform", "constant", "lognormal", "glorot", "he", "orthogonal"}


# ---------------------------------------------------------------- orthogonal(gain)

def test_orthogonal_samples_are_orthogonal_times_the_gain():
    from analytic.distributions import distribution

    w = distribution("orthogonal(1.5)").sample(np.random.default_rng(1), (3, 50, 50))
    for m in w:
        assert np.abs(m.T @ m / 2.25 - np.eye(50)).max() < 1e-12
        assert np.abs(m @ m.T / 2.25 - np.eye(50)).max() < 1e-12


def test_orthogonal_entry_has_the_haar_law():
    """For Haar O in O(n), (O_ij + 1)/2 ~ Beta((n-1)/2, (n-1)/2) (a coordinate of a uniform point on the sphere);
    without the sign correction of QR the diagonal entries are not symmetric and this fails."""
    from scipy import stats as sstats
    from analytic.distributions import haar_orthogonal

    n, rng = 5, np.random.default_rng(2)
    draws = np.array([haar_orthogonal(rng, n) for _ in range(3000)])
    for i, j in ((0, 0), (2, 2), (1, 3)):
        p = sstats.kstest((draws[:, i, j] + 1) / 2, sstats.beta((n - 1) / 2, (n - 1) / 2).cdf).pvalue
        assert p > 1e-3, (i, j, p)


def test_orthogonal_is_invariant_under_a_fixed_rotation():
    """Haar invariance: R O has the law of O; compare the first column's first entry of R O with O's by KS."""
    from scipy import stats as sstats
    from analytic.distributions import haar_orthogonal

    rng = np.random.default_rng(3)
    R = haar_orthogonal(np.random.default_rng(99), 4)
    a = np.array([haar_orthogonal(rng, 4)[0, 0] for _ in range(2000)])
    b = np.array([(R @ haar_orthogonal(rng, 4))[0, 0] for _ in range(2000)])
    assert sstats.ks_2samp(a, b).pvalue > 1e-3


def test_orthogonal_is_refused_for_the_chain_and_for_bad_gains():
    import analytic
    from analytic.errors import SpecError

    with pytest.raises(SpecError, match="n x n weight matrices"):
        analytic.independence_product("tanh", 3, "orthogonal(1)")
    with pytest.raises(SpecError, match="n x n weight matrices"):
        analytic.simulate("tanh", 3, "orthogonal(1)", samples=100)
    with pytest.raises(SpecError, match="gain must be > 0"):
        analytic.distribution("orthogonal(0)")


def test_wide_simulation_takes_sigma_w2_from_the_gain():
    import analytic

    s = analytic.simulate_wide("tanh", 4, 16, "orthogonal(1.2)", batch=4, networks=2)
    assert s.sigma_w2 == pytest.approx(1.44, rel=1e-15) and s.weight_mean == 0.0
