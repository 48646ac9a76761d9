"""Jacobian spectrum: large-width moments and density vs known answers, quadrature and sampled networks."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special

from analytic.errors import AnalyticError
from analytic.theory.gaussian import gaussian_expectation
from analytic.theory.criticality import critical_sigma_w2
from analytic.theory.meanfield import mean_field
from analytic.theory.density import spectral_density
from analytic.theory.sampled_spectrum import sample_spectrum
from analytic.theory.spectral_moments import d2_law, spectrum_moments
from analytic.theory.spectrum import spectrum

#: Agreement rule for Monte Carlo: |difference| <= Z standard errors.
Z = 4.0


def _fuss_catalan(L: int, k: int) -> float:
    """k-th moment of the product of L square Ginibre factors W W^T (entries variance 1/n): binom((L+1)k, k)/(Lk+1)."""
    return math.comb((L + 1) * k, k) / (L * k + 1)


@pytest.mark.parametrize("L", [1, 2, 5])
def test_linear_gaussian_moments_and_density_are_fuss_catalan(L):
    m = spectrum_moments("identity", L, 1.0, weights="gaussian")
    assert m.m1 == pytest.approx(1.0, abs=1e-12)
    assert m.variance == pytest.approx(_fuss_catalan(L, 2) - 1, rel=1e-12)
    d = spectral_density("identity", L, 1.0)
    grid, rho = np.array(d.grid), np.array(d.values)
    assert grid[-1] == pytest.approx((L + 1) ** (L + 1) / L ** L, rel=1e-6)  # edge of the Fuss-Catalan law
    m3 = np.trapezoid(rho * grid ** 4, np.log(grid))                         # not fitted: a third moment
    assert m3 == pytest.approx(_fuss_catalan(L, 3), rel=2e-3)
    if L == 1:  # Marchenko-Pastur density sqrt((4 - x) x) / (2 pi x)
        mid = (grid > 0.1) & (grid < 3.9)
        exact = np.sqrt((4 - grid[mid]) * grid[mid]) / (2 * math.pi * grid[mid])
        assert np.max(np.abs(rho[mid] - exact)) < 1e-8


def test_linear_orthogonal_networks_are_isometries():
    m = spectrum_moments("identity", 10, 1.3, weights="orthogonal")
    assert m.variance == pytest.approx(0.0, abs=1e-12) and m.m1 == pytest.approx(1.3 ** 10, rel=1e-12)
    s = sample_spectrum("identity", 10, 1.3, width=40, weights="orthogonal", networks=2)
    ev = np.array(s.eigenvalues)
    assert np.max(np.abs(ev / 1.3 ** 10 - 1)) < 1e-10   # every singular value equal


def test_d2_moments_match_independent_quadrature():
    # hard-tanh: d^2 = sigma_w^2 on |h| < 1, so mu_1 = sigma_w^2 erf(1/sqrt(2 q*)), mu_2 = sigma_w^2 mu_1
    sw = critical_sigma_w2("hardtanh", 0.05)
    law, q, _ = d2_law("hardtanh", sw, 0.05)
    p = special.erf(1 / math.sqrt(2 * q))
    assert law.mu1 == pytest.approx(sw * p, rel=1e-12) and law.mu2 == pytest.approx(sw * sw * p, rel=1e-12)
    # tanh: against the expectations module's quadrature and scipy quad of tanh'^4
    sw = critical_sigma_w2("tanh", 0.05)
    law, q, chi1 = d2_law("tanh", sw, 0.05)
    assert law.mu1 == pytest.approx(sw * gaussian_expectation("tanh", "dphi2", 0.0, math.sqrt(q)).value, rel=1e-10)
    f = lambda z: (1 - math.tanh(math.sqrt(q) * z) ** 2) ** 4 * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    assert law.mu2 == pytest.approx(sw ** 2 * integrate.quad(f, -40, 40, epsabs=1e-14)[0], rel=1e-10)
    assert chi1 == pytest.approx(law.mu1, rel=1e-9)


@pytest.mark.parametrize("act, sb2, weights", [("relu", 0.0, "gaussian"), ("relu", 0.0, "orthogonal"),
                                               ("tanh", 0.05, "orthogonal"), ("hardtanh", 0.05, "gaussian"),
                                               ("hardtanh", 1e-3, "orthogonal")])
def test_density_integrates_to_one_and_reproduces_the_moments(act, sb2, weights):
    """Integrals of the solved density (plus its atoms) against the moments from mu_1, mu_2 alone; hard-tanh with
    orthogonal weights at small q* puts most of the mass in an atom at the top (a projection of trace p > 3/4
    kept by all four layers: mass 4p - 3)."""
    sw = critical_sigma_w2(act, sb2)
    m = spectrum_moments(act, 4, sw, sb2, weights)
    d = spectral_density(act, 4, sw, sb2, weights)
    assert d.mass + d.atom == pytest.approx(1.0, abs=3e-3)
    assert d.m1 == pytest.approx(m.m1, rel=1e-3) and d.variance == pytest.approx(m.variance, rel=2e-3)
    assert d.atom == pytest.approx(m.zero_mass, abs=1e-12)
    if act == "hardtanh" and weights == "orthogonal" and sb2 < 0.01:
        law, _, _ = d2_law(act, sw, sb2)
        assert d.top_atom[1] == pytest.approx(4 * law.weights[-1] - 3, rel=1e-12)


def test_relu_orthogonal_variance_is_depth_and_gaussian_doubles_it():
    """Pennington et al. 2017: ReLU at criticality, sigma^2 = L (orthogonal) and 2L (Gaussian); tanh with
    orthogonal weights spreads less than ReLU as q* -> 0."""
    assert spectrum_moments("relu", 32, 2.0, weights="orthogonal").variance == pytest.approx(32.0, rel=1e-12)
    assert spectrum_moments("relu", 32, 2.0, weights="gaussian").variance == pytest.approx(64.0, rel=1e-12)
    tanh = [spectrum_moments("tanh", 32, critical_sigma_w2("tanh", sb), sb, "orthogonal").variance
            for sb in (0.05, 1e-3, 1e-5)]
    assert tanh[0] > tanh[1] > tanh[2] and tanh[2] < 0.1


@pytest.mark.parametrize("act, sb2, weights", [("relu", 0.0, "orthogonal"), ("relu", 0.0, "gaussian"),
                                               ("tanh", 0.05, "gaussian")])
def test_sampled_spectra_approach_the_large_width_moments(act, sb2, weights):
    """Moments of sampled networks at n = 16 and 64, extrapolated to n = oo assuming an O(1/n) bias
    (Richardson: (64 v_64 - 16 v_16)/48), agree with the analytic values; at n = 16 the variance is visibly off."""
    sw, L = critical_sigma_w2(act, sb2), 4
    m = spectrum_moments(act, L, sw, sb2, weights)
    a = sample_spectrum(act, L, sw, 16, sb2, weights, networks=3000, seed=1)
    b = sample_spectrum(act, L, sw, 64, sb2, weights, networks=400, seed=2)
    for key in ("m1", "variance"):
        va, vb = getattr(a, key), getattr(b, key)
        extrap = (64 * vb.value - 16 * va.value) / 48
        se = math.hypot(64 * vb.stderr, 16 * va.stderr) / 48
        assert abs(extrap - getattr(m, key)) <= Z * se, (key, extrap, se, getattr(m, key))
    gap16 = abs(a.variance.value - m.variance)
    gap64 = abs(b.variance.value - m.variance)
    assert gap16 > Z * a.variance.stderr and gap64 < gap16


def test_relu_mean_is_exact_at_every_width():
    """E tr(J J^T)/n = (sigma_w^2/2)^L for ReLU with Gaussian weights at any n (the finite-width law's mean)."""
    s = sample_spectrum("relu", 5, 2.0, 12, networks=4000, seed=3)
    assert abs(s.m1.value - 1.0) <= Z * s.m1.stderr


def test_spectrum_bundles_the_finite_width_law_and_says_why_not():
    s = spectrum("relu", 3, 2.0, width=8, networks=4, density=False)
    assert s.finite_width["dead_probability"]["exact"] == pytest.approx(1 - (1 - 2 ** -8) ** 3, rel=1e-12)
    t = spectrum("tanh", 3, critical_sigma_w2("tanh", 0.05), 0.05, width=8, networks=4, density=False)
    assert t.finite_width is None and "no exact finite-width law" in t.finite_width_note
    d = t.as_dict()
    assert {"m1", "variance", "density", "finite_width", "mc"} <= set(d)
    assert {"m1", "m1_stderr", "variance", "variance_stderr", "density"} <= set(d["mc"])


def test_bad_requests_are_analytic_errors():
    for act, kw in (("relu", {"weights": "uniform"}), ("elu", {"sigma_w2": 4.0})):  # ELU at 4: q* = inf
        with pytest.raises(AnalyticError):
            spectrum_moments(act, 3, **{"sigma_w2": 2.0, **kw})
    with pytest.raises(AnalyticError, match="exceeds"):
        sample_spectrum("relu", 3, 2.0, 10_000, networks=100)
    assert mean_field("relu", 2.0).chi1 == 1.0
