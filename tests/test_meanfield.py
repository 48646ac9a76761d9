"""Mean field: fixed points with their stability, the correlation map, depth scales and critical initialisation.

Independent routes: brute-force iteration of the length map (with V by Gauss-Hermite quadrature written here) from
many q_0; ``scipy.integrate.dblquad`` and ReLU's arc-cosine kernel for the 2-D expectations; the measured decay of
|c_l - c*| and |q_l - q*| along iterated maps; mpmath quadrature of E[phi'' phi] for xi_q; a wide network simulated
by ``analytic.mc.simulate_wide`` for chi_1.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from scipy import integrate

from analytic.core.activations import catalogue
from analytic.core.calculus import numpy_function
from analytic.errors import ArgumentError, ConvergenceError
from analytic.theory.bivariate import bivariate_expectation
from analytic.theory.correlation import correlation_map, signal_propagation
from analytic.theory.criticality import critical_points, critical_sigma_w2
from analytic.theory.meanfield import mean_field

_GH_X, _GH_W = np.polynomial.hermite_e.hermegauss(150)
_GH_W = _GH_W / math.sqrt(2 * math.pi)


def V_gh(name: str, q: float) -> float:
    """E[phi(sqrt(q) z)^2] by a 150-node Gauss-Hermite rule (smooth phi only)."""
    f = numpy_function(name, 0)
    return float(np.sum(_GH_W * f(math.sqrt(q) * _GH_X) ** 2))


def iterate_length(name: str, sw: float, sb: float, q0: float, steps: int = 400) -> float:
    q = q0
    for _ in range(steps):
        q = sw * V_gh(name, q) + sb
        if q > 1e8:
            return math.inf
        if q < 1e-30:
            return 0.0
    return q


# ---------------------------------------------------------------- the length map and its fixed points

@pytest.mark.parametrize("sw, sb", [(0.5, 0.0), (1.0, 0.0), (2.0, 0.0), (3.0, 0.0), (1.5, 0.1), (2.0, 0.3)])
def test_relu_chi1_is_half_sigma_w2(sw, sb):
    mf = mean_field("relu", sw, sb)
    assert mf.chi1 == pytest.approx(sw / 2, rel=1e-14)
    if sb == 0 and sw < 2:
        assert mf.q_star == 0.0
    if sw > 2 or (sw == 2 and sb > 0):
        assert mf.q_star == math.inf
    if sw == 2 and sb == 0:
        assert mf.q_star == 1.0 and mf.depth_scale == math.inf
        assert mf.fixed_points[0].kind == "neutral"
    if sb > 0 and sw < 2:
        assert mf.q_star == pytest.approx(sb / (1 - sw / 2), rel=1e-14)


def _tanh_V_W(q: float) -> tuple[float, float]:
    with mpmath.workdps(25):
        s = mpmath.sqrt(q)
        V = mpmath.quad(lambda z: mpmath.tanh(s * z) ** 2 * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
        W = mpmath.quad(lambda z: mpmath.sech(s * z) ** 4 * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
    return float(V), float(W)


def test_tanh_fixed_point_and_chi1_by_an_independent_route():
    mf = mean_field("tanh", 1.5, 0.05)
    V, W = _tanh_V_W(mf.q_star)
    assert mf.q_star == pytest.approx(1.5 * V + 0.05, rel=1e-9)
    assert mf.chi1 == pytest.approx(1.5 * W, rel=1e-9)
    assert mf.depth_scale == pytest.approx(-1 / math.log(mf.chi1), rel=1e-12)


@pytest.mark.parametrize("name, sw, sb", [("tanh", 2.5, 0.05), ("tanh", 0.8, 0.0), ("gelu", 2.351715614073422, 0.0),
                                          ("silu", 2.810761124074239, 0.0), ("sigmoid", 20.0, 0.0),
                                          ("gelu", 3.0, 0.2), ("softplus", 1.5, 0.1)])
def test_fixed_points_against_brute_force_iteration_from_many_starts(name, sw, sb):
    fps = mean_field(name, sw, sb).fixed_points
    for q0 in np.logspace(-2, 1.5, 12):
        m = mean_field(name, sw, sb, q0=float(q0))
        end = iterate_length(name, sw, sb, float(q0))
        if m.status == "at an unstable fixed point":
            continue  # a point exactly on an unstable fixed point: iteration in floats drifts off either way
        if math.isinf(m.q_star) or m.q_star == 0:
            assert end == m.q_star or (m.q_star == 0 and end < 1e-6), (q0, end, m.q_star)
        else:
            assert end == pytest.approx(m.q_star, rel=1e-6), (q0, end, m.q_star)
            assert next(f for f in m.fixed_points if f.reached).stable
    for f in fps:  # each listed fixed point is one, and its label matches the iteration beside it
        if f.q > 0:
            assert sw * V_gh(name, f.q) + sb == pytest.approx(f.q, rel=1e-9)
            if f.kind in ("stable", "unstable"):
                near = iterate_length(name, sw, sb, f.q * 1.01, steps=300)
                assert (abs(near - f.q) < 1e-6 * f.q) == f.stable


def test_gelu_silu_hard_swish_had_no_critical_point_at_the_old_answers():
    """The old answers put q_0 = 1 on an unstable fixed point: 0.9 falls to 0 and 1.1 grows without bound."""
    for name, old in (("gelu", 2.351715614073422), ("silu", 2.810761124074239)):
        assert iterate_length(name, old, 0.0, 0.9) < 1e-6
        assert iterate_length(name, old, 0.0, 1.1) == math.inf
        m = mean_field(name, old, 0.0)
        assert m.status == "at an unstable fixed point" and not next(f for f in m.fixed_points if f.reached).stable
    for name in ("gelu", "silu", "hard_swish"):
        with pytest.raises(ConvergenceError, match="unstable"):
            critical_sigma_w2(name)
        assert all(not p.stable for p in critical_points(name))


def test_chi1_is_one_at_every_critical_point_of_the_catalogue():
    found = 0
    for act in catalogue():
        if act.name == "softmax":
            continue
        try:
            sw = critical_sigma_w2(act.name, 0.05)
        except ConvergenceError:
            continue
        found += 1
        m = mean_field(act.name, sw, 0.05)
        p = next(p for p in critical_points(act.name, 0.05) if p.sigma_w2 == sw)
        assert p.stable
        from analytic.theory.gaussian import gaussian_expectation
        W = gaussian_expectation(act.name, "dphi2", std=math.sqrt(p.q_star)).value
        V = gaussian_expectation(act.name, "phi2", std=math.sqrt(p.q_star)).value
        assert abs(sw * W - 1) <= 1e-10 and abs(sw * V + 0.05 - p.q_star) <= 1e-10 * p.q_star
        if m.q_star == p.q_star:
            assert abs(m.chi1 - 1) <= 1e-10
    assert found >= 8


def test_tanh_critical_line():
    assert critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-6)  # q* = 0, chi_1 = sigma_w^2 tanh'(0)^2
    sw = critical_sigma_w2("tanh", 0.05)
    q = mean_field("tanh", sw, 0.05).q_star
    V, W = _tanh_V_W(q)
    assert q == pytest.approx(sw * V + 0.05, rel=1e-8)   # q* is the fixed point
    assert sw * W == pytest.approx(1.0, rel=1e-8)         # and chi_1 = 1 there
    assert 1.5 < sw < 2.0


def test_he_and_leaky_derivations_match_their_closed_forms():
    assert critical_sigma_w2("relu") == 2.0
    for a in (0.01, 0.2):
        assert critical_sigma_w2("leaky_relu", params={"negative_slope": a}) == pytest.approx(2 / (1 + a * a), rel=1e-14)
    assert critical_sigma_w2("prelu") == pytest.approx(2 / (1 + 0.25**2), rel=1e-14)
    assert critical_sigma_w2("identity") == 1.0
    with pytest.raises(ConvergenceError, match="without bound"):
        critical_sigma_w2("relu", 0.1)


# ---------------------------------------------------------------- 2-D expectations

def _arc_cosine(q: float, c: float) -> tuple[float, float]:
    th = math.acos(c)
    return q * (math.sin(th) + (math.pi - th) * c) / (2 * math.pi), (math.pi - th) / (2 * math.pi)


@pytest.mark.parametrize("q, c", [(1.0, 0.0), (2.5, 0.7), (0.3, 0.999), (1.0, 0.99999), (4.0, -0.5), (1.0, 1.0),
                                  (7.0, -0.99999)])
def test_relu_against_the_arc_cosine_kernel_and_the_error_estimate_covers_the_error(q, c):
    phi, dphi = _arc_cosine(q, c)
    e = bivariate_expectation("relu", "phi", "phi", q, c)
    d = bivariate_expectation("relu", "dphi", "dphi", q, c)
    assert abs(e.value - phi) <= e.error + 1e-15 * q
    assert abs(d.value - dphi) <= d.error + 1e-15
    assert e.error < 1e-12 * max(q, 1) and d.error < 1e-12


@pytest.mark.parametrize("name, f, g, q, c", [("tanh", "phi", "phi", 1.0, 0.3), ("tanh", "dphi", "dphi", 3.0, 0.9),
                                              ("gelu", "phi", "phi", 2.0, 0.6), ("elu", "dphi", "dphi", 1.5, 0.8)])
def test_against_scipy_dblquad(name, f, g, q, c):
    F = numpy_function(name, 0 if f == "phi" else 1)
    G = numpy_function(name, 0 if g == "phi" else 1)
    r, s = math.sqrt(q), math.sqrt(1 - c * c)
    v, err = integrate.dblquad(lambda z2, z1: float(F(r * z1)) * float(G(r * (c * z1 + s * z2)))
                               * math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi), -12, 12, -12, 12,
                               epsabs=1e-12, epsrel=1e-11)
    e = bivariate_expectation(name, f, g, q, c)
    assert abs(e.value - v) <= e.error + 10 * err + 1e-12


# ---------------------------------------------------------------- correlation map and depth scales

def test_tanh_chaotic_c_star_and_chi_c_against_dblquad():
    s = signal_propagation("tanh", 2.5, 0.05)
    assert s.phase == "chaotic" and 0 < s.c_star < 1
    q, c = s.mean_field.q_star, s.c_star
    r, t = math.sqrt(q), math.sqrt(1 - c * c)
    th, dth = numpy_function("tanh", 0), numpy_function("tanh", 1)

    def E(f):
        return integrate.dblquad(lambda z2, z1: float(f(r * z1)) * float(f(r * (c * z1 + t * z2)))
                                 * math.exp(-(z1 * z1 + z2 * z2) / 2) / (2 * math.pi), -12, 12, -12, 12,
                                 epsabs=1e-12, epsrel=1e-11)[0]

    assert (2.5 * E(th) + 0.05) / q == pytest.approx(c, abs=1e-9)   # c* is the fixed point of the map
    assert 2.5 * E(dth) == pytest.approx(s.chi_c, abs=1e-9)
    assert s.chi_c < 1 < s.mean_field.chi1


@pytest.mark.parametrize("sw, sb", [(2.5, 0.05), (4.0, 0.05), (1.5, 0.05), (1.0, 0.05)])
def test_xi_c_matches_the_decay_of_iterated_correlations(sw, sb):
    s = signal_propagation("tanh", sw, sb)
    q, cs = s.mean_field.q_star, s.c_star
    c = cs - 0.05 if cs == 1 else cs + 0.05
    gaps = []
    for _ in range(60):
        c = correlation_map("tanh", c, sw, sb, q).value
        gaps.append(abs(c - cs))
        if gaps[-1] < 1e-9:
            break
    rates = [b / a for a, b in zip(gaps[:-1], gaps[1:]) if a > 1e-8]
    assert math.exp(-1 / s.xi_c) == pytest.approx(rates[-1], abs=2e-3)   # measured per-layer decay vs chi_c
    assert s.phase == ("chaotic" if s.mean_field.chi1 > 1 else "ordered")


def test_xi_q_is_the_slope_chi1_plus_e_phi2_phi_and_matches_the_decay_of_q():
    sw, sb = 2.5, 0.05
    s = signal_propagation("tanh", sw, sb)
    q = s.mean_field.q_star
    with mpmath.workdps(25):
        r = mpmath.sqrt(q)
        # tanh'' = -2 tanh sech^2
        e = mpmath.quad(lambda z: -2 * mpmath.tanh(r * z) ** 2 * mpmath.sech(r * z) ** 2 * mpmath.npdf(z),
                        [-mpmath.inf, 0, mpmath.inf])
    slope = s.mean_field.chi1 + sw * float(e)           # Schoenholz et al. 2017, eq. (4)
    assert math.exp(-1 / s.xi_q) == pytest.approx(slope, rel=1e-9)
    q_l, gaps = q * 1.2, []
    for _ in range(12):
        q_l = sw * V_gh("tanh", q_l) + sb
        gaps.append(abs(q_l - q))
    assert gaps[-1] / gaps[-2] == pytest.approx(slope, abs=1e-3)


def test_tanh_phase_at_the_textbook_points():
    phases = [signal_propagation("tanh", sw, 0.05).phase for sw in (1.0, 1.5, 2.0, 2.5, 4.0)]
    assert phases == ["ordered", "ordered", "chaotic", "chaotic", "chaotic"]
    crit = signal_propagation("tanh", critical_sigma_w2("tanh", 0.05), 0.05)
    assert crit.phase == "critical" and crit.xi_c == math.inf and crit.depth_1e6 is None


def test_wide_network_measures_chi1_in_each_phase():
    """log E||g_l||^2 falls by ln chi_1 per layer. The tolerance is 4 standard errors of the simulated slope plus
    0.02 for the O(1/n) finite-width correction at n = 128 (the figure test sees gaps below 0.02 at four points)."""
    from analytic.mc import simulate_wide

    n = 128
    for sw, sb in ((1.2, 0.05), (2.5, 0.05)):
        wide = simulate_wide("tanh", 24, n, f"normal(0, {math.sqrt(sw / n)!r})", bias=f"normal(0, {math.sqrt(sb)!r})",
                             batch=16, networks=4, seed=3)
        chi1 = mean_field("tanh", sw, sb).chi1
        assert abs(wide.slope.value - math.log(chi1)) <= 4 * wide.slope.stderr + 0.02


@pytest.mark.parametrize("call", [
    lambda: mean_field("tanh", 0.0), lambda: mean_field("tanh", -1.0), lambda: mean_field("tanh", 1.0, -0.1),
    lambda: mean_field("tanh", math.inf), lambda: critical_sigma_w2("tanh", -1.0),
    lambda: mean_field("tanh", 1.0, q0=0.0), lambda: signal_propagation("tanh", 1.0, q0=-1),
    lambda: bivariate_expectation("tanh", "phi", "phi", 1.0, 1.5), lambda: bivariate_expectation("tanh", "x", "phi", 1, 0),
])
def test_bad_variances_raise(call):
    with pytest.raises(ArgumentError):
        call()


@pytest.mark.parametrize("sw, sb, c0", [(2.5, 0.05, 0.9), (1.2, 0.05, 0.5)])
def test_wide_network_correlations_follow_the_correlation_map(sw, sb, c0):
    """Two inputs with pre-activation correlation c0 at length q* through width-1000 tanh layers (a NumPy network
    written here): the measured correlation after L layers agrees with the iterated map within 4 standard errors
    over independent networks plus 2/n for the O(1/n) finite-width bias."""
    n, L, nets = 1000, 12, 6
    s = signal_propagation("tanh", sw, sb)
    q = s.mean_field.q_star
    c = c0
    for _ in range(L):
        c = correlation_map("tanh", c, sw, sb, q).value
    rng = np.random.default_rng(11)
    measured = []
    for _ in range(nets):
        z1, z2 = rng.standard_normal(n), rng.standard_normal(n)
        h = np.stack([math.sqrt(q) * z1, math.sqrt(q) * (c0 * z1 + math.sqrt(1 - c0 * c0) * z2)])
        for _ in range(L):
            W = rng.standard_normal((n, n)) * math.sqrt(sw / n)
            b = rng.standard_normal(n) * math.sqrt(sb)
            h = np.tanh(h) @ W.T + b
        measured.append(h[0] @ h[1] / math.sqrt((h[0] @ h[0]) * (h[1] @ h[1])))
    mean, se = np.mean(measured), np.std(measured, ddof=1) / math.sqrt(nets)
    assert abs(mean - c) <= 4 * se + 2 / n, (mean, se, c)
    assert 0 < (c - s.c_star) / (c0 - s.c_star) < 1   # on the way to the stable fixed point, from the same side
