"""The residual mean field against recursions derived by hand in closed form, and against the width-n twin.

Hand derivations (W_ij ~ N(0, s/n), z ~ N(0, 1)):

* identity, post, no bias: x_l = (I + a W) x_{l-1}, E|x_l|^2 = |x|^2 + 2a E[x'Wx] + a^2 E|Wx|^2 = (1 + a^2 s)|x|^2;
  with bias b_l ~ N(0, t): p_l = p_{l-1} + a^2 (s p_{l-1} + t), and the two inputs' cross moment likewise.
* ReLU: E[relu(sqrt(q) z)^2] = q/2, E[relu(sqrt(q) z)] = sqrt(q/(2 pi)), E[relu'^2] = 1/2; for a pair of variance q
  and correlation c (theta = arccos c, Cho & Saul's arc-cosine kernels):
  E[relu(u1) relu(u2)] = q (sin theta + (pi - theta) c)/(2 pi), E[relu'(u1) relu'(u2)] = (pi - theta)/(2 pi).
* ReLU post, He (s = 2), a = 1: m_1 = sqrt(p_0/pi), p_1 = 2 p_0, p_2 = 4 p_0 + 2 sqrt(2) p_0/pi (the skip carries the
  mean m_1 into the cross term 2 m_1 E[relu(h_2)]).
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hang_guard import WALL_SECONDS

from analytic.architecture import normalised, residual
from analytic.errors import ArgumentError, SimulationError
from analytic.mc.residual_wide import simulate_residual_wide
from analytic.theory.residual_meanfield import residual_mean_field

#: Width, input pairs and networks of the twin (kept small; the z tolerance below holds at these sizes).
WIDTH, PAIRS, NETWORKS = 256, 4, 16
#: |z| beyond which the twin and the mean field disagree.
Z_LIMIT = 4.0


def _close(q, exact: float, rel: float = 1e-10) -> None:
    """The value equals ``exact`` to ``rel`` and the reported error covers the true error."""
    assert q.value is not None, q.reason
    assert q.value == pytest.approx(exact, rel=rel, abs=1e-14)
    assert abs(q.value - exact) <= q.error + 4e-16 * abs(exact) * 8


@pytest.mark.parametrize("alpha,sw,sb", [(1.0, 1.0, 0.0), (0.5, 2.0, 0.0), (0.3, 1.5, 0.2)])
@pytest.mark.parametrize("branch", ["post", "pre"])
def test_identity_network(alpha, sw, sb, branch):
    L, q0, c0 = 8, 1.3, 0.4
    r = residual_mean_field("identity", sw, sb, residual(alpha, branch), depth=L, q0=q0, c0=c0)
    p, P = q0, c0 * q0
    for l in range(L):
        p, P = p + alpha**2 * (sw * p + sb), P + alpha**2 * (sw * P + sb)
        _close(r.length[l], p)
        _close(r.correlation[l], P / p)
    for d in range(L):
        _close(r.gradient_ratio[d], (1 + alpha**2 * sw) ** (d + 1))
        _close(r.gradient_correlation[d], 1.0)  # phi' = 1 for both inputs
    if sb == 0:
        assert r.length[L - 1].value == pytest.approx((1 + alpha**2 * sw) ** L * q0, rel=1e-12)


def _relu_pair(q: float, c: float) -> tuple[float, float]:
    theta = math.acos(max(-1.0, min(1.0, c)))
    return q * (math.sin(theta) + (math.pi - theta) * c) / (2 * math.pi), (math.pi - theta) / (2 * math.pi)


@pytest.mark.parametrize("alpha", [1.0, 0.5, "1/sqrt(r)"])
def test_relu_pre_closed_forms(alpha):
    """Pre branch, He weights: p_l = (1 + alpha^2)^l p_0 and the correlation / gradient correlation by the
    arc-cosine kernels, each block by hand."""
    L, sw, q0, c0 = 12, 2.0, 0.7, 0.3
    arch = residual(alpha, "pre")
    a = arch.alpha_at(L)
    r = residual_mean_field("relu", sw, 0.0, arch, depth=L, q0=q0, c0=c0)
    p, P, factors = q0, c0 * q0, []
    for l in range(L):
        kphi, kd = _relu_pair(p, P / p)
        factors.append((1 + a * a * sw * kd) / (1 + a * a * sw / 2))
        p, P = p + a * a * sw * p / 2, P + a * a * sw * kphi
        _close(r.length[l], p)
        _close(r.correlation[l], P / p, rel=1e-9)
    assert r.length[L - 1].value == pytest.approx((1 + a * a) ** L * q0, rel=1e-12)
    rho = 1.0
    for d in range(L):
        rho *= factors[L - 1 - d]
        _close(r.gradient_ratio[d], (1 + a * a) ** (d + 1))
        _close(r.gradient_correlation[d], rho, rel=1e-9)
    growth = {g.quantity: g for g in r.growth}
    assert growth["gradient_ratio"].rate == pytest.approx(1 + a * a, rel=1e-12) and growth["gradient_ratio"].exact


def test_relu_post_he_doubles_the_gradient_and_carries_the_mean():
    L, q0 = 25, 1.0
    r = residual_mean_field("relu", 2.0, 0.0, residual(1.0), depth=L, q0=q0, c0=0.5)
    for d in range(L):
        _close(r.gradient_ratio[d], 2.0 ** (d + 1))
    _close(r.length[0], 2 * q0)
    _close(r.mean[0], math.sqrt(q0 / math.pi))
    _close(r.length[1], (4 + 2 * math.sqrt(2) / math.pi) * q0)  # not 4 q0: the cross term of the mean
    # the growth rate: the positive root of t^3 + 2 t^2 - t - 2/pi, squared after adding 1 (hand: A = 1, B = 1/pi)
    t = np.roots([1, 2, -1, -2 / math.pi])
    t = float(max(t.real[abs(t.imag) < 1e-12]))
    growth = {g.quantity: g for g in r.growth}
    assert growth["length"].rate == pytest.approx((1 + t) ** 2, rel=1e-12)
    assert r.length[L - 1].value / r.length[L - 2].value == pytest.approx((1 + t) ** 2, rel=1e-6)


def test_saturating_laws():
    """tanh: K = int sech^4 = 4/3, v_inf = 1, mu_inf = 0; sigmoid: K = int (s(1-s))^2 = 1/6, v_inf = mu_inf = 1/2."""
    sw, sb, a = 1.5, 0.1, 0.8
    tanh = {g.quantity: g for g in residual_mean_field("tanh", sw, sb, residual(a, "pre"), depth=2).growth}
    assert tanh["gradient_ratio"].rate == pytest.approx(2 * a * sw * (4 / 3) / math.sqrt(2 * math.pi * (sw + sb)),
                                                        rel=1e-9)
    post = {g.quantity: g for g in residual_mean_field("tanh", sw, sb, residual(a), depth=2).growth}
    assert post["gradient_ratio"].rate == pytest.approx(2 * a * math.sqrt(sw) * (4 / 3) / math.sqrt(2 * math.pi),
                                                        rel=1e-9)
    sig = {g.quantity: g for g in residual_mean_field("sigmoid", sw, sb, residual(a), depth=2).growth}
    assert (sig["length"].law, sig["length"].rate) == ("power", 2.0)
    assert sig["gradient_ratio"].rate == pytest.approx(a * math.sqrt(sw) / 6 / (math.sqrt(2 * math.pi) * 0.5),
                                                       rel=1e-9)


def test_observed_rate_approaches_the_derived_law():
    """sigmoid, post, alpha = 1: L ln chi_L at L = 60 is within 1 % of the derived exponent beta = K/(sqrt(2 pi)
    mu_inf) = (1/6)/(sqrt(2 pi)/2), and the length's local exponent within 1 % of 2."""
    r = residual_mean_field("sigmoid", 1.0, 0.0, residual(1.0), depth=60)
    g = {x.quantity: x for x in r.growth}
    assert g["gradient_ratio"].rate == pytest.approx(1 / (3 * math.sqrt(2 * math.pi)), rel=1e-9)
    assert g["gradient_ratio"].observed == pytest.approx(g["gradient_ratio"].rate, rel=0.01)
    assert g["length"].observed == pytest.approx(2.0, rel=0.01)


def test_withheld_where_the_rule_misses_the_mass():
    r = residual_mean_field("exp(x)", 1.0, 0.0, residual(1.0), depth=4)
    _close(r.length[0], 1 + math.exp(2))  # E[exp(2 h)], h ~ N(0, 1)
    assert all(q.value is None and q.reason for q in list(r.length)[1:])
    assert all(q.value is None for q in r.gradient_ratio)


def test_refusals():
    with pytest.raises(ArgumentError):
        residual_mean_field("tanh", 1.0, 0.0, None, depth=3)
    with pytest.raises(ArgumentError):
        residual_mean_field("tanh", 1.0, 0.0, normalised("layer"), depth=3)
    with pytest.raises(ArgumentError):
        residual_mean_field("tanh", 1.0, 0.0, residual(1.0, norm="batch", batch=8), depth=3)
    with pytest.raises(ArgumentError):
        residual_mean_field("tanh", 1.0, 0.0, residual(1.0), depth=0)
    with pytest.raises(ArgumentError):
        residual_mean_field("tanh", 1.0, 0.0, residual(1.0), depth=3, c0=1.5)
    with pytest.raises(SimulationError):
        simulate_residual_wide("tanh", 1.0, 0.0, residual(1.0), depth=3, networks=1)
    with pytest.raises(SimulationError):
        simulate_residual_wide("tanh", 1.0, 0.0, None, depth=3)


# ---------------------------------------------------------------- the width-n twin

TWIN_CASES = [  # (activation, sigma_w^2, sigma_b^2, alpha, branch, seed)
    ("tanh", 1.0, 0.05, 1.0, "post", 11),
    ("tanh", 1.5, 0.0, 1.0, "pre", 12),
    ("sigmoid", 1.0, 0.0, 1.0, "post", 13),
    ("relu", 2.0, 0.0, 1.0, "pre", 14),
    ("relu", 2.0, 0.1, "1/sqrt(r)", "pre", 15),
]


@pytest.mark.parametrize("act,sw,sb,alpha,branch,seed", TWIN_CASES)
def test_twin_agrees(act, sw, sb, alpha, branch, seed):
    """Width 256, 4 input pairs, 16 networks: the mean field's length, correlation, gradient ratio and gradient
    correlation at depths 1, 5 and 10 are within 4 standard errors of the twin's."""
    L = 10
    arch = residual(alpha, branch)
    r = residual_mean_field(act, sw, sb, arch, depth=L, c0=0.5)
    s = simulate_residual_wide(act, sw, sb, arch, depth=L, width=WIDTH, pairs=PAIRS, networks=NETWORKS, seed=seed,
                               c0=0.5)
    for name in ("length", "correlation", "gradient_ratio", "gradient_correlation"):
        for k in (0, 4, L - 1):
            mf, twin = getattr(r, name)[k], getattr(s, name)[k]
            assert mf.value is not None, (name, k, mf.reason)
            z = (twin.value - mf.value) / twin.stderr
            assert abs(z) < Z_LIMIT, (name, k, mf.value, twin.value, twin.stderr)


def test_small_branch_keeps_gradients_correlated():
    """alpha = 0.05: each block's factor is within alpha^2 sigma_w^2 of 1, so two inputs' gradients stay correlated
    (> 0.99 after 10 blocks), in the mean field and in the twin alike."""
    s = simulate_residual_wide("relu", 2.0, 0.0, residual(0.05, "pre"), depth=10, width=128, pairs=4, networks=8,
                               seed=3, c0=0.5)
    r = residual_mean_field("relu", 2.0, 0.0, residual(0.05, "pre"), depth=10, c0=0.5)
    assert r.gradient_correlation[9].value > 0.99
    assert abs(s.gradient_correlation[9].value - r.gradient_correlation[9].value) < Z_LIMIT * max(
        s.gradient_correlation[9].stderr, 1e-4)


def test_twin_is_deterministic_whatever_the_threads():
    kw = dict(depth=5, width=64, pairs=2, networks=4, seed=7)
    one = simulate_residual_wide("tanh", 1.0, 0.1, residual(1.0, "post"), threads=1, **kw)
    two = simulate_residual_wide("tanh", 1.0, 0.1, residual(1.0, "post"), threads=2, **kw)
    assert one.as_dict() == two.as_dict()


# ---------------------------------------------------------------- the command line

def _cli(*args: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "analytic", *args], capture_output=True, text=True, cwd=root,
                          timeout=WALL_SECONDS)


def test_cli_json_carries_the_architecture_and_the_series():
    out = _cli("meanfield", "relu", "--sigma-w2", "2", "--sigma-b2", "0", "--residual", "0.5", "--branch", "pre",
               "--depth", "6", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["architecture"] == {"kind": "residual", "alpha": 0.5, "branch": "pre", "norm": None, "batch": None}
    assert [q["value"] for q in d["gradient_ratio"]] == pytest.approx([1.25 ** k for k in range(1, 7)], rel=1e-12)
    assert len(d["gradient_correlation"]) == 6 and all(q["error"] >= 0 for q in d["gradient_correlation"])


@pytest.mark.parametrize("args", [("--residual", "foo"), ("--residual", "1", "--c0", "2"), ("--branch", "pre"),
                                  ("--depth", "5")])
def test_cli_bad_input_one_line_exit_2(args):
    out = _cli("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", *args)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, out.stderr


@pytest.mark.parametrize("act,post", [("tanh", True), ("tanh", False), ("softplus", True), ("sigmoid", False)])
def test_twin_back_propagation_is_the_gradient(act, post):
    """The twin's back-propagated g_0 equals central finite differences of L = sum_i <u_i, x_L(x_0,i)>."""
    from analytic.core.calculus import numpy_pair
    from analytic.mc.residual_wide import _backward, _forward, _inputs

    n, L, B, alpha, sw, sb = 6, 4, 1, 0.7, 1.3, 0.2
    seeds = np.random.SeedSequence(5).spawn(L + 1)
    pair = numpy_pair(act)
    x0, u = _inputs(np.random.default_rng(seeds[0]), B, n, 1.0, 0.3)

    def loss(x: np.ndarray) -> float:
        return float(np.sum(u * _forward(x, seeds[1:], n, sw, sb, alpha, post, pair)[0]))

    _, weights, slopes, _, _, _ = _forward(x0, seeds[1:], n, sw, sb, alpha, post, pair)
    log_ratio, _, g = _backward(u, weights, slopes, alpha, post)
    g0 = g * math.exp(log_ratio[-1] / 2)
    h = 1e-6
    fd = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        fd[idx] = (loss(x0 + e) - loss(x0 - e)) / (2 * h)
    assert np.allclose(g0, fd, rtol=1e-6, atol=1e-8)


def test_twin_keeps_the_signal_component_of_the_gradient():
    """ReLU without bias: each block is homogeneous of degree 1, so <x_0, g_0> = <x_L, u> exactly at any width
    (the identity behind the post branch's finite-width departure)."""
    from analytic.core.calculus import numpy_pair
    from analytic.mc.residual_wide import _backward, _forward, _inputs

    n, L, B = 32, 6, 2
    seeds = np.random.SeedSequence(9).spawn(L + 1)
    x0, u = _inputs(np.random.default_rng(seeds[0]), B, n, 1.0, 0.5)
    xL, weights, slopes, _, _, _ = _forward(x0, seeds[1:], n, 2.0, 0.0, 1.0, True, numpy_pair("relu"))
    log_ratio, _, g = _backward(u, weights, slopes, 1.0, True)
    g0 = g * math.exp(log_ratio[-1] / 2)
    assert np.allclose(np.einsum("ij,ij->i", x0, g0), np.einsum("ij,ij->i", xL, u), rtol=1e-10)
