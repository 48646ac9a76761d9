"""Residual networks with LayerNorm first in every block: the mean field against recursions derived by hand, the
polynomial growth law against the Gamma-function product, and the width-n twin (real back-propagation through
LayerNorm).

Hand derivations (W_ij ~ N(0, s/n), b_i ~ N(0, t), z ~ N(0, 1), LayerNorm N(x) = (x - mean)/std across units):

* N(x) has unit mean 0 and second moment 1, so a post block reads h ~ N(0, s + t) and a pre block reads N(x)_i ~
  N(0, 1) whatever the length; the LayerNorm Jacobian divides the gradient by the std sqrt(v) of its input
  (v = p - m^2 the centred length).
* identity: the branch adds a centred Gaussian of variance a^2 (s + t) per unit (both branches), so v_l = p_l =
  q_0 + l a^2 (s + t), m_l = 0; E[phi'^2] = 1, so chi_l = 1 + a^2 s / p_(l-1). Two inputs: the normalised pair has
  correlation P/p, so P_l = P_(l-1) + a^2 (s P_(l-1)/p_(l-1) + t); E[phi' phi'] = 1, so the gradients stay parallel.
* ReLU: E[relu(sqrt(q) z)] = sqrt(q/(2 pi)), E[relu^2] = q/2, E[relu'^2] = 1/2. Post: v grows by
  a^2 q (1/2 - 1/(2 pi)) with q = s + t, chi_l = 1 + a^2 s/(2 v_(l-1)); pre: p grows by a^2 (s/2 + t),
  chi_l = 1 + a^2 s/(2 p_(l-1)). With chi_l = 1 + c/(q_0 + (l - 1) A):
  R_L = prod_(k<L) (q_0 + c + k A)/(q_0 + k A) = Gamma(L + (q_0 + c)/A) Gamma(q_0/A)/(Gamma(L + q_0/A) Gamma((q_0 + c)/A))
  ~ L^(c/A): post, no bias, c/A = pi/(pi - 1); pre, no bias, 1.
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
from scipy.special import gammaln

from analytic.architecture import residual
from analytic.errors import ArgumentError, SimulationError
from analytic.mc.residual_wide import simulate_residual_wide
from analytic.theory.normalisation import batchnorm_lambda, layernorm_lambda
from analytic.theory.residual_meanfield import residual_mean_field

#: Width, input pairs and networks of the twin (the z tolerance below holds at these sizes).
WIDTH, PAIRS, NETWORKS = 256, 4, 12
#: |z| beyond which the twin and the mean field disagree.
Z_LIMIT = 4.0


def _close(q, exact: float, rel: float = 1e-10) -> None:
    """The value equals ``exact`` to ``rel`` and the reported error covers the true error."""
    assert q.value is not None, q.reason
    assert q.value == pytest.approx(exact, rel=rel, abs=1e-14)
    assert abs(q.value - exact) <= q.error + 4e-16 * abs(exact) * 8


def _gamma_ratio(L: int, q0: float, c: float, A: float) -> float:
    return math.exp(gammaln(L + (q0 + c) / A) + gammaln(q0 / A) - gammaln(L + q0 / A) - gammaln((q0 + c) / A))


@pytest.mark.parametrize("alpha,sw,sb", [(1.0, 1.0, 0.0), (0.5, 2.0, 0.3)])
@pytest.mark.parametrize("branch", ["post", "pre"])
def test_identity_by_hand(alpha, sw, sb, branch):
    L, q0, c0 = 8, 1.7, 0.4
    r = residual_mean_field("identity", sw, sb, residual(alpha, branch, norm="layer"), depth=L, q0=q0, c0=c0)
    a2 = alpha * alpha
    p, P, chis = q0, c0 * q0, []
    for k in range(L):
        chis.append(1 + a2 * sw / p)
        p, P = p + a2 * (sw + sb), P + a2 * (sw * P / p + sb)
        _close(r.length[k], p)
        _close(r.correlation[k], P / p)
        assert r.mean[k].value == pytest.approx(0.0, abs=1e-12)
    for d in range(1, L + 1):
        _close(r.gradient_ratio[d - 1], math.prod(chis[L - d:]))
        assert r.gradient_correlation[d - 1].value == pytest.approx(1.0, abs=1e-12)
    assert r.gradient_ratio[L - 1].value == pytest.approx(_gamma_ratio(L, q0, a2 * sw, a2 * (sw + sb)), rel=1e-12)


@pytest.mark.parametrize("branch,sw,sb", [("post", 2.0, 0.0), ("post", 1.0, 0.5), ("pre", 1.5, 0.25)])
def test_relu_gamma_law_and_exponent(branch, sw, sb):
    """ReLU: the recursion's R_L equals the Gamma-function product at every L, and the printed exponent c/A is the
    hand-derived one (pi/(pi - 1) post and 1 pre without bias)."""
    L, q0, alpha = 24, 1.0, 0.8
    a2 = alpha * alpha
    if branch == "post":
        q = sw + sb
        c, A = a2 * sw / 2, a2 * q * (0.5 - 0.5 / math.pi)
    else:
        c, A = a2 * sw / 2, a2 * (sw / 2 + sb)
    r = residual_mean_field("relu", sw, sb, residual(alpha, branch, norm="layer"), depth=L, q0=q0)
    for d in (1, 5, 12, L):
        # the last d blocks: prod over l = L-d+1..L of 1 + c/(q0 + (l-1) A)
        exact = math.prod(1 + c / (q0 + (l - 1) * A) for l in range(L - d + 1, L + 1))
        _close(r.gradient_ratio[d - 1], exact, rel=1e-9)
    assert r.gradient_ratio[L - 1].value == pytest.approx(_gamma_ratio(L, q0, c, A), rel=1e-12)
    law = next(g for g in r.growth if g.quantity == "gradient_ratio")
    assert law.law == "power"
    assert law.rate == pytest.approx(c / A, rel=1e-10)
    if sb == 0:
        assert law.rate == pytest.approx(math.pi / (math.pi - 1) if branch == "post" else 1.0, rel=1e-10)
    # the local exponent L ln chi_L tends to c/A like 1/L; R_L / L^(c/A) tends to Gamma(q0/A)/Gamma((q0+c)/A)
    assert abs(law.observed - c / A) < 2.0 * (c / A) * (1 + q0 / A + c / A) / L
    constant = math.exp(gammaln(q0 / A) - gammaln((q0 + c) / A))
    assert r.gradient_ratio[L - 1].value / L ** (c / A) == pytest.approx(constant, rel=4 * (1 + q0 / A + c / A) / L)


@pytest.mark.parametrize("act", ["tanh", "sigmoid", "relu"])
def test_exponent_is_the_plain_normalised_rate(act):
    """Without bias the exponent of the normalised residual network is the per-layer rate of the plain normalised
    network computed by theory.normalisation: pre, E[phi'^2]/E[phi^2] at unit variance = lambda_LN; post at
    sigma_w^2 = 1, E[phi'^2]/Var phi = lambda_BN (B -> oo). Polynomial L^lambda against exponential lambda^L."""
    pre = residual_mean_field(act, 1.0, 0.0, residual(1.0, "pre", norm="layer"), depth=2)
    post = residual_mean_field(act, 1.0, 0.0, residual(1.0, "post", norm="layer"), depth=2)
    rate = {b: next(g.rate for g in r.growth if g.quantity == "gradient_ratio") for b, r in (("pre", pre),
                                                                                               ("post", post))}
    assert rate["pre"] == pytest.approx(layernorm_lambda(act).value, rel=1e-9)
    assert rate["post"] == pytest.approx(batchnorm_lambda(act).value, rel=1e-9)


def test_polynomial_against_exponential():
    """tanh, sigma_w^2 = 1, pre: the plain LayerNorm network's last L/2 layers multiply the squared gradient by
    lambda^(L/2); the LayerNorm-first residual network's last L/2 blocks by about 2^(c/A) (R_L/R_(L/2) -> 2^(c/A)),
    c/A = lambda, whatever L."""
    L = 40
    r = residual_mean_field("tanh", 1.0, 0.0, residual(1.0, "pre", norm="layer"), depth=L)
    lam = layernorm_lambda("tanh").value
    assert lam > 1.1
    R, R_last_half = r.gradient_ratio[L - 1].value, r.gradient_ratio[L // 2 - 1].value
    assert R < lam ** L / 10
    assert 2 ** (0.8 * lam) < R_last_half < 2 ** (1.2 * lam)
    assert R_last_half < lam ** (L // 2) / 5


# ---------------------------------------------------------------- the width-n twin

TWIN_CASES = [  # (activation, sigma_w^2, sigma_b^2, alpha, branch, seed)
    ("relu", 2.0, 0.0, 1.0, "post", 21),
    ("tanh", 1.0, 0.1, 1.0, "pre", 22),
    ("sigmoid", 1.0, 0.0, 1.0, "post", 23),
    ("relu", 2.0, 0.1, "1/sqrt(r)", "pre", 24),
]


@pytest.mark.parametrize("act,sw,sb,alpha,branch,seed", TWIN_CASES)
def test_twin_agrees(act, sw, sb, alpha, branch, seed):
    """Width 256, 4 input pairs, 12 networks, depth 12: length and gradient ratio within 4 standard errors of the
    twin; the correlations within 4 standard errors plus 4/n (their finite-width bias is of order 1/n)."""
    L = 12
    arch = residual(alpha, branch, norm="layer")
    r = residual_mean_field(act, sw, sb, arch, depth=L, c0=0.5)
    s = simulate_residual_wide(act, sw, sb, arch, depth=L, width=WIDTH, pairs=PAIRS, networks=NETWORKS, seed=seed,
                               c0=0.5)
    for name, slack in (("length", 0.0), ("gradient_ratio", 0.0), ("correlation", 4 / WIDTH),
                        ("gradient_correlation", 4 / WIDTH)):
        for k in (0, 5, L - 1):
            mf, twin = getattr(r, name)[k], getattr(s, name)[k]
            assert mf.value is not None, (name, k, mf.reason)
            assert abs(twin.value - mf.value) < Z_LIMIT * twin.stderr + slack, (name, k, mf.value, twin.value,
                                                                               twin.stderr)


@pytest.mark.parametrize("act,post", [("tanh", True), ("relu", False), ("sigmoid", True)])
def test_twin_back_propagation_through_layer_norm_is_the_gradient(act, post):
    """The twin's back-propagated g_0 equals central finite differences of L = sum_i <u_i, x_L(x_0,i)>."""
    from analytic.core.calculus import numpy_pair
    from analytic.mc.residual_wide import _backward, _forward, _inputs

    n, L, B, alpha, sw, sb = 6, 4, 1, 0.7, 1.3, 0.2
    seeds = np.random.SeedSequence(8).spawn(L + 1)
    pair = numpy_pair(act)
    x0, u = _inputs(np.random.default_rng(seeds[0]), B, n, 1.0, 0.3)

    def loss(x: np.ndarray) -> float:
        return float(np.sum(u * _forward(x, seeds[1:], n, sw, sb, alpha, post, pair, True)[0]))

    _, weights, slopes, _, _, normed = _forward(x0, seeds[1:], n, sw, sb, alpha, post, pair, True)
    log_ratio, _, g = _backward(u, weights, slopes, alpha, post, normed)
    g0 = g * math.exp(log_ratio[-1] / 2)
    h = 1e-6
    fd = np.zeros_like(x0)
    for idx in np.ndindex(*x0.shape):
        e = np.zeros_like(x0)
        e[idx] = h
        fd[idx] = (loss(x0 + e) - loss(x0 - e)) / (2 * h)
    assert np.allclose(g0, fd, rtol=1e-6, atol=1e-8)


def test_twin_is_deterministic_whatever_the_threads():
    kw = dict(depth=4, width=48, pairs=2, networks=4, seed=5)
    arch = residual(1.0, "post", norm="layer")
    one = simulate_residual_wide("tanh", 1.0, 0.1, arch, threads=1, **kw)
    two = simulate_residual_wide("tanh", 1.0, 0.1, arch, threads=2, **kw)
    assert one.as_dict() == two.as_dict()
    assert one.as_dict()["architecture"]["norm"] == "layer"


def test_refusals():
    with pytest.raises(ArgumentError):
        residual_mean_field("tanh", 1.0, 0.0, residual(1.0, norm="batch", batch=8), depth=3)
    with pytest.raises(SimulationError):
        simulate_residual_wide("tanh", 1.0, 0.0, residual(1.0, norm="batch", batch=8), depth=3)


# ---------------------------------------------------------------- the command line

def _cli(*args: str) -> subprocess.CompletedProcess:
    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "analytic", *args], capture_output=True, text=True, cwd=root,
                          timeout=WALL_SECONDS)


def test_cli_json_carries_the_norm_and_the_law():
    out = _cli("meanfield", "identity", "--sigma-w2", "1", "--sigma-b2", "0", "--residual", "1", "--branch", "pre",
               "--norm", "layer", "--depth", "5", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["architecture"] == {"kind": "residual", "alpha": 1.0, "branch": "pre", "norm": "layer", "batch": None}
    # identity, pre, LayerNorm: R over the last d of 5 blocks = prod_(l=6-d..5) (1 + 1/l) = 6/(6 - d)
    assert [q["value"] for q in d["gradient_ratio"]] == pytest.approx([6 / (6 - k) for k in range(1, 6)], rel=1e-12)
    law = [g for g in d["growth"] if g["quantity"] == "gradient_ratio"]
    assert law[0]["law"] == "power" and law[0]["rate"] == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize("args", [("--norm", "batch", "--batch", "8"), ("--norm", "layer", "--batch", "8")])
def test_cli_refuses_what_is_not_modelled(args):
    out = _cli("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", "--residual", "1", *args)
    assert out.returncode == 2 and out.stdout == "" and len(out.stderr.strip().splitlines()) == 1, out.stderr
