"""Initialisation conventions side by side, SELU's constants and its self-normalising fixed point.

Independent routes: mpmath quadrature of Var phi(z) and of the defining SELU conditions, closed forms written here
(He, LeCun, 1/phi'(0)), PyTorch's published ``calculate_gain`` table, and the Jacobian Klambauer et al. 2017
print for the self-normalising map.
"""
from __future__ import annotations

import math

import mpmath
import pytest
import sympy as sp

from analytic.core.activations import SELU_ALPHA, SELU_SCALE, catalogue
from analytic.theory.initialisation import gain_table, initialisation, selu_constants


def test_selu_constants_reproduce_the_published_digits():
    c = selu_constants()
    assert abs(c["alpha"] - 1.6732632423543772) < 1e-10
    assert abs(c["lambda"] - 1.0507009873554805) < 1e-10
    assert abs(sp.Float(c["alpha_30"], 30) - SELU_ALPHA) < 1e-25
    assert abs(sp.Float(c["lambda_30"], 30) - SELU_SCALE) < 1e-25
    with mpmath.workdps(30):
        a, lam = mpmath.mpf(c["alpha_30"]), mpmath.mpf(c["lambda_30"])
        selu = lambda z: lam * z if z > 0 else lam * a * (mpmath.exp(z) - 1)  # noqa: E731
        m1 = mpmath.quad(lambda z: selu(z) * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
        m2 = mpmath.quad(lambda z: selu(z) ** 2 * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
    assert abs(m1) < 1e-25 and abs(m2 - 1) < 1e-25


def test_selu_self_normalising_fixed_point_and_the_published_jacobian():
    s = initialisation("selu")
    sn = s.selu["self_normalising"]
    assert abs(sn["mu"]) < 1e-14 and sn["nu"] == pytest.approx(1.0, abs=1e-14)
    j = sn["jacobian"]
    # Klambauer et al. 2017, at (mu, nu) = (0, 1), omega = 0, tau = 1: J = ((0, 0.088834), (0, 0.782648))
    assert j[0][0] == 0 and j[1][0] == 0
    assert j[0][1] == pytest.approx(0.088834, abs=1e-6) and j[1][1] == pytest.approx(0.782648, abs=1e-6)
    assert sn["spectral_norm"] < 1 and sn["stable"]
    assert s.selu["q_star_at_sigma_w2_1"] == pytest.approx(1.0, rel=1e-12)
    # chi_1 = 1 for SELU only where the signal dies, and it says so
    assert s.q_star == 0.0 and any("signal dies" in a for a in s.assumptions)


def test_initialisation_and_the_calculate_gain_table():
    verdicts = {n: initialisation(n).reproduces_torch for n in ("relu", "leaky_relu", "tanh", "sigmoid", "selu")}
    assert verdicts == {"relu": True, "leaky_relu": True, "tanh": False, "sigmoid": False, "selu": False}
    assert "convention" in initialisation("tanh").comparison
    for key in ("sigma_w2", "q_star", "chi1", "gain", "conventions"):
        assert key in initialisation("tanh").as_dict()
    table = {i.activation: {c.name: c for c in i.conventions} for i in gain_table()}
    assert set(table) == {"sigmoid", "tanh", "relu", "leaky_relu", "selu", "identity"}
    # which PyTorch entry each convention reproduces
    assert table["relu"]["criticality"].verdict == "reproduces"            # He: sqrt(2)
    assert table["leaky_relu"]["criticality"].verdict == "reproduces"
    assert table["tanh"]["variance_preserving"].verdict == "approximates"  # 1.5925 vs 5/3
    assert all(c.verdict == "reproduces" for c in table["identity"].values())
    assert all(c.verdict == "differs" for c in table["sigmoid"].values() if c.gain is not None)
    assert all(c.verdict in ("differs", None) for c in table["selu"].values())  # 3/4 is none of the three


def test_conventions_against_independent_values():
    with mpmath.workdps(20):
        t1 = mpmath.quad(lambda z: mpmath.tanh(z) ** 2 * mpmath.npdf(z), [-mpmath.inf, 0, mpmath.inf])
    tanh = {c.name: c for c in initialisation("tanh").conventions}
    assert tanh["variance_preserving"].gain == pytest.approx(1 / math.sqrt(float(t1)), rel=1e-10)
    assert tanh["linearised"].gain == 1.0 and tanh["criticality"].gain == pytest.approx(1.0, abs=1e-12)
    sig = {c.name: c for c in initialisation("sigmoid").conventions}
    assert sig["linearised"].gain == 4.0                                      # 1/sigma'(0)
    relu = {c.name: c for c in initialisation("relu").conventions}
    assert relu["linearised"].gain is None and "corner" in relu["linearised"].note
    assert relu["variance_preserving"].gain == pytest.approx(1 / math.sqrt(0.5 - 1 / (2 * math.pi)), rel=1e-12)
    elu = {c.name: c for c in initialisation("elu").conventions}
    assert elu["linearised"].gain == pytest.approx(1.0, rel=1e-9)  # ELU is C^1 at 0 with alpha = 1


def test_gelu_says_why_it_has_no_critical_initialisation():
    i = initialisation("gelu")
    assert i.sigma_w2 is None and i.gain is None and i.chi1 is None
    assert "unstable" in i.method and "q* = 0 is stable for sigma_w^2 < 4" in i.method
    crit = {c.name: c for c in i.conventions}["criticality"]
    assert crit.gain is None and crit.note == i.method


def test_every_catalogue_entry_gets_three_conventions_or_a_reason():
    for act in catalogue():
        if act.name == "softmax":
            continue
        i = initialisation(act.name)
        assert [c.name for c in i.conventions] == ["criticality", "variance_preserving", "linearised"]
        for c in i.conventions:
            assert c.gain is not None or c.note  # no gain without the reason
            assert c.gain is None or (math.isfinite(c.gain) and c.gain > 0)



def gaussian_mean(f) -> float:
    """E[f(z)], z ~ N(0, 1), by scipy's adaptive quadrature, split at 0."""
    from scipy.integrate import quad

    g = lambda z: f(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return quad(g, -14, 0, epsabs=0, epsrel=1e-13, limit=400)[0] + quad(g, 0, 14, epsabs=0, epsrel=1e-13,
                                                                           limit=400)[0]


def length_map_orbit(phi, sw: float, sb: float, q0: float = 1.0, steps: int = 400) -> float:
    """The end of q -> sw E[phi(sqrt(q) z)^2] + sb from q0 (stops when a step moves q by less than 1e-14 q)."""
    q = q0
    for _ in range(steps):
        q, prev = sw * gaussian_mean(lambda z: phi(math.sqrt(q) * z) ** 2) + sb, q
        if abs(q - prev) <= 1e-14 * q:
            break
    return q


def test_the_sigmoid_orbit_reaches_its_critical_fixed_point():
    i = initialisation("sigmoid")
    end = length_map_orbit(lambda x: 0.5 * (1 + math.tanh(x / 2)), i.sigma_w2, 0.0)
    assert end == pytest.approx(i.q_star, rel=1e-9)  # the orbit from q_0 = 1 ends at the critical q*
    said = [a for a in i.assumptions if "orbit from q_0 = 1" in a]
    assert len(said) == 1 and "reaches this q*" in said[0] and "does not reach" not in said[0]
