"""Per-layer gradient growth lambda with BatchNorm and LayerNorm: the mean-field values against closed forms derived
here, against a second quadrature route, and against simulated networks (analytic.mc.normalised) and a
brute-force network written below whose backward pass uses complex-step Jacobians instead of the normalisation's
gradient formula."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from scipy import integrate, stats
from threadpoolctl import threadpool_limits

from analytic.core.calculus import numpy_pair
from analytic.core.registry import names
from analytic.errors import AnalyticError, ArgumentError, SimulationError
from analytic.mc.normalised import layer_log_ratios, simulate_normalised
from analytic.quantities import LogQuantity
from analytic.theory.gaussian import gaussian_expectation
from analytic.theory.normalisation import (batchnorm_lambda, growth, layernorm_lambda, linear_batchnorm_fraction,
                                           linear_batchnorm_lambda)

#: Standard errors allowed between a simulation and the value it estimates.
K_SE = 4.0


# ---------------------------------------------------------------- theory

def _linear_rate_by_hand(batch: int) -> float:
    """(B - 1) E[1/chi^2_(B-1)] (1 - 1/(B-1)): the variance 1/s^2 of a unit at the fixed point B/(B-1) G, times the
    share of an independent gradient left after removing the direction z, integrated from the chi^2 density."""
    k = batch - 1
    inv_chi2, _ = integrate.quad(lambda t: stats.chi2.pdf(t, k) / t, 0, np.inf)
    return k * inv_chi2 * (1 - 1 / k)


@pytest.mark.parametrize("batch", [4, 6, 8, 33])
def test_linear_batchnorm_rate_is_the_hand_derived_one(batch):
    assert linear_batchnorm_fraction(batch) == Fraction(batch - 2, batch - 3)
    assert linear_batchnorm_lambda(batch).value == pytest.approx(_linear_rate_by_hand(batch), rel=1e-9)


def test_relu_and_identity_at_infinite_batch():
    lam = batchnorm_lambda("relu")
    assert abs(lam.value - math.pi / (math.pi - 1)) < 1e-12
    assert abs(lam.value - 1.466942206924260361) < 1e-12  # the constant published with DeepMind's DKS code
    assert lam.converged and lam.error < 1e-12
    assert batchnorm_lambda("identity").value == pytest.approx(1.0, abs=1e-14)
    # LayerNorm: E[phi'^2] / E[phi^2] = (1/2) / (1/2) for ReLU
    assert layernorm_lambda("relu").value == pytest.approx(1.0, abs=1e-14)
    assert layernorm_lambda("identity").value == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize("name", names())
def test_every_catalogue_entry_agrees_with_closed_forms_and_quad(name):
    """The Gauss-Legendre moments against gaussian_expectation's closed forms / scipy quad."""
    dphi2 = gaussian_expectation(name, "dphi2").value
    phi2 = gaussian_expectation(name, "phi2").value
    phi = gaussian_expectation(name, "phi").value
    bn, ln = batchnorm_lambda(name), layernorm_lambda(name)
    assert bn.converged and ln.converged
    assert bn.value == pytest.approx(dphi2 / (phi2 - phi * phi), rel=1e-8)
    assert ln.value == pytest.approx(dphi2 / phi2, rel=1e-8)


def test_growth_depths():
    g = growth(linear_batchnorm_lambda(4))          # lambda = 2
    assert g.depth_scale.value == pytest.approx(1 / math.log(2), rel=1e-15)
    assert g.growth_depth.value == pytest.approx(6 * math.log(10) / math.log(2), rel=1e-15)
    relu = growth(batchnorm_lambda("relu"))
    assert relu.growth_depth.value == pytest.approx(math.log(1e6) / math.log(math.pi / (math.pi - 1)), rel=1e-11)
    wide = growth(LogQuantity.of(2.0, 0.9))        # lambda in [1.1, 2.9]: 1/ln lambda in [0.939, 10.49]
    lo, hi = wide.depth_scale.value - wide.depth_scale.error, wide.depth_scale.value + wide.depth_scale.error
    assert lo <= 1 / math.log(2.9) and hi >= 1 / math.log(1.1)
    assert growth(LogQuantity.of(1.05, 0.06)).depth_scale is None    # lambda > 1 not decided
    flat = growth(batchnorm_lambda("identity"))
    assert flat.depth_scale is None and flat.growth_depth is None and "does not grow" in flat.reason


def test_theory_refusals():
    with pytest.raises(ArgumentError):
        linear_batchnorm_lambda(3)        # E[1/chi^2_2] is infinite
    with pytest.raises(AnalyticError):
        growth(linear_batchnorm_lambda(4), factor=0.5)


# ---------------------------------------------------------------- the simulation against the theory

@pytest.mark.parametrize("batch, networks", [(4, 32), (6, 16), (8, 16)])
def test_linear_batchnorm_simulation(batch, networks):
    """Width 512; the finite-width bias is O(1/n) (about -1.2/n relative measured at n = 128 and 512 for B = 6, 8):
    allowed 2/n relative beside 4 standard errors. At B = 4 the per-unit factor 1/chi^2_3 has infinite variance,
    so it runs twice the networks."""
    width = 512
    s = simulate_normalised("identity", "batch", batch=batch, width=width, depth=12, networks=networks, seed=11,
                            burn_in=2)
    exact = (batch - 2) / (batch - 3)
    assert abs(s.rate.value - exact) <= K_SE * s.rate.error + 2 / width * exact, (s.rate, exact)


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_large_batch_theory_against_simulation(act):
    """B = n = 256, depth 16 (forward depth << n: deep BN networks drift at finite width). Finite-batch and
    finite-width corrections are O(1/B + 1/n): the linear network's exact excess is 1/(B-3), and each unit's
    variance s^2 comes from B samples (E[1/s^2] picks up about 2/B); allowed lambda (2/B + 2/n) beside 4
    standard errors."""
    batch = width = 256
    s = simulate_normalised(act, "batch", batch=batch, width=width, depth=16, networks=6, seed=3, sigma_w2=2.0)
    lam = batchnorm_lambda(act).value
    assert abs(s.rate.value - lam) <= K_SE * s.rate.error + lam * (2 / batch + 2 / width), (s.rate, lam)


@pytest.mark.parametrize("act", ["relu", "sigmoid", "tanh"])
def test_layernorm_theory_against_simulation(act):
    """Width 256: LayerNorm's own finite-width corrections are those of BatchNorm with B -> n (2/n relative)."""
    width = 256
    s = simulate_normalised(act, "layer", batch=8, width=width, depth=16, networks=8, seed=5)
    lam = layernorm_lambda(act).value
    assert abs(s.rate.value - lam) <= K_SE * s.rate.error + lam * 4 / width, (s.rate, lam)


# ---------------------------------------------------------------- a brute-force network

def _standardise(h, axis):
    c = h - h.mean(axis=axis, keepdims=True)
    return c / np.sqrt((c * c).mean(axis=axis, keepdims=True))  # complex-analytic: complex steps pass through


def _brute_force_log_ratios(norm, ws, x, top):
    """log R_l, l = 1..L: each layer's Jacobian of h -> tanh(N(h)) by complex steps (BatchNorm: one step per input
    moves column b of every unit's B x B block; LayerNorm: one step per unit, rows of each input's n x n block)."""
    axis = 0 if norm == "batch" else 1
    hs = []
    for w in ws:
        h = x @ w.T
        hs.append(h)
        x = np.tanh(_standardise(h, axis))
    g = top / np.linalg.norm(top)
    out = np.empty(len(ws))
    eps = 1e-30
    for l in range(len(ws), 0, -1):
        h = hs[l - 1]
        gh = np.zeros_like(h)
        for k in range(h.shape[axis]):
            step = np.zeros(h.shape, dtype=complex)
            if axis == 0:
                step[k, :] = 1j * eps
                jac = np.tanh(_standardise(h + step, axis)).imag / eps   # [b', i] = d x[b', i] / d h[k, i]
                gh[k, :] = (jac * g).sum(axis=0)
            else:
                step[:, k] = 1j * eps
                jac = np.tanh(_standardise(h + step, axis)).imag / eps   # [b, j] = d x[b, j] / d h[b, k]
                gh[:, k] = (jac * g).sum(axis=1)
        new = gh @ ws[l - 1]
        out[l - 1] = math.log((new * new).sum() / (g * g).sum())
        g = new / np.linalg.norm(new)
    return out


@pytest.mark.parametrize("norm, batch, width", [("batch", 6, 256), ("layer", 3, 48)])
def test_backward_pass_matches_complex_step_jacobians(norm, batch, width):
    rng = np.random.default_rng(2026)
    ws = [rng.standard_normal((width, width)) * math.sqrt(1.5 / width) for _ in range(5)]
    x, top = rng.standard_normal((batch, width)), rng.standard_normal((batch, width))
    got = layer_log_ratios(numpy_pair("tanh"), norm, ws, x, top)
    assert np.allclose(got, _brute_force_log_ratios(norm, ws, x, top), rtol=0, atol=1e-10)


def test_brute_force_rate_matches_the_simulation():
    """Independent draws of the same network (tanh, BatchNorm, B = 8, width 256): the two mean rates over the same
    layers agree within 4 combined standard errors."""
    batch, width, depth, burn, networks = 8, 256, 10, 2, 12
    s = simulate_normalised("tanh", "batch", batch=batch, width=width, depth=depth, networks=networks, seed=7,
                            burn_in=burn)
    rng = np.random.default_rng(99)
    per_net = []
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(networks):
            ws = [rng.standard_normal((width, width)) / math.sqrt(width) for _ in range(depth)]
            logs = _brute_force_log_ratios("batch", ws, rng.standard_normal((batch, width)),
                                           rng.standard_normal((batch, width)))
            per_net.append(np.exp(logs[burn:depth - burn]).mean())
    per_net = np.array(per_net)
    mean, se = per_net.mean(), per_net.std(ddof=1) / math.sqrt(networks)
    assert abs(mean - s.rate.value) <= K_SE * math.hypot(se, s.rate.error), (mean, se, s.rate)


# ---------------------------------------------------------------- the simulation's own guarantees

def test_sigma_w2_cancels_and_threads_do_not_matter():
    base = simulate_normalised("tanh", "batch", batch=8, width=32, depth=8, networks=4, seed=1, threads=1)
    scaled = simulate_normalised("tanh", "batch", batch=8, width=32, depth=8, networks=4, seed=1, sigma_w2=5.0)
    assert scaled.rate.value == pytest.approx(base.rate.value, rel=1e-10)
    assert scaled.log_rate.value == pytest.approx(base.log_rate.value, rel=1e-10)
    two = simulate_normalised("tanh", "batch", batch=8, width=32, depth=8, networks=4, seed=1, threads=2)
    assert two == base


def test_standard_error_is_the_spread_of_network_means():
    """rate.error is the standard error across networks: the spread of rates from 24 independent seeds matches it
    (the ratio of the two estimates of the standard deviation has a sampling spread of about 1/sqrt(46) = 0.15)."""
    rates, errors = [], []
    for seed in range(24):
        s = simulate_normalised("tanh", "batch", batch=8, width=32, depth=9, networks=6, seed=seed, burn_in=2)
        rates.append(s.rate.value)
        errors.append(s.rate.error)
    ratio = np.std(rates, ddof=1) / np.sqrt(np.mean(np.square(errors)))
    assert 0.6 < ratio < 1.5, ratio


def test_simulation_refusals():
    with pytest.raises(SimulationError, match="GiB"):
        simulate_normalised("relu", "batch", batch=4, width=20000, depth=3, networks=2)
    with pytest.raises(SimulationError):
        simulate_normalised("relu", "batch", batch=3, width=16, depth=4, networks=2)
    with pytest.raises(SimulationError):
        simulate_normalised("relu", "group", batch=8, width=16, depth=4, networks=2)
    with pytest.raises(SimulationError):
        simulate_normalised("relu", "layer", batch=8, width=16, depth=4, networks=1)


# ---------------------------------------------------------------- finite batch (analytic.theory.batch_sphere)

from analytic.architecture import PLAIN, normalised  # noqa: E402
from analytic.core.calculus import resolve  # noqa: E402
from analytic.theory import batch_sphere  # noqa: E402
from analytic.theory.batch_sphere import sphere_lambda  # noqa: E402
from analytic.theory.normalisation import normalised_lambda  # noqa: E402


@pytest.mark.parametrize("batch", [4, 5, 7, 64, 1024])
def test_finite_batch_identity_is_the_linear_rate(batch):
    lam = batchnorm_lambda("identity", architecture=normalised("batch", batch))
    assert lam.converged
    if batch <= 64:  # quad of the chi^2 density loses digits at large B
        assert abs(lam.value - _linear_rate_by_hand(batch)) < 1e-9
    assert abs(lam.value - (batch - 2) / (batch - 3)) < 1e-10


@pytest.mark.parametrize("batch", [4, 6, 9])
def test_finite_batch_hard_sigmoid_is_affine_on_the_small_sphere(batch):
    """|z_i| <= sqrt(B - 1) <= 3 on the batch sphere, where hard_sigmoid is x/6 + 1/2: the linear network's rate."""
    assert abs(sphere_lambda("hard_sigmoid", batch).value - (batch - 2) / (batch - 3)) < 1e-10


def _sphere_by_sampling(name: str, batch: int, samples: int, seed: int):
    """v and mu straight from points uniform on the batch sphere (no marginals, no exchangeability): per sample,
    phi(z) phi(z)^T's mean diagonal minus mean off-diagonal, and tr(D G D P_u)/(B - 1)."""
    pair = numpy_pair(resolve(name))
    rng = np.random.default_rng(seed)
    g = rng.standard_normal((samples, batch))
    g -= g.mean(axis=1, keepdims=True)
    u = g / np.linalg.norm(g, axis=1, keepdims=True)
    f, d = pair(math.sqrt(batch) * u)
    sq, tot = (f * f).sum(axis=1), f.sum(axis=1) ** 2
    v = sq / batch - (tot - sq) / (batch * (batch - 1))
    G = np.eye(batch) - 1 / batch
    DGD = d[:, :, None] * G[None] * d[:, None, :]
    P = G[None] - u[:, :, None] * u[:, None, :]
    mu = np.einsum("sij,sji->s", DGD, P) / (batch - 1)
    return [(float(x.mean()), float(x.std(ddof=1) / math.sqrt(samples))) for x in (v, mu)]


@pytest.mark.parametrize("name,batch", [("relu", 5), ("tanh", 8), ("gelu", 6), ("hardtanh", 4)])
def test_sphere_marginals_against_points_sampled_on_the_sphere(name, batch):
    coarse, fine = batch_sphere._moments(resolve(name), batch)
    (v, v_se), (mu, mu_se) = _sphere_by_sampling(name, batch, 100_000, 7)
    assert abs(fine.v - v) < K_SE * v_se, (fine.v, v, v_se)
    assert abs(fine.mu - mu) < K_SE * mu_se, (fine.mu, mu, mu_se)


def test_finite_batch_relu_tends_to_the_infinite_batch_limit():
    inf = math.pi / (math.pi - 1)
    gaps = [sphere_lambda("relu", b).value - inf for b in (256, 1024, 4096)]
    assert all(g > 0 for g in gaps)
    # O(1/B): each fourfold batch cuts the gap by about four
    assert 3.5 < gaps[0] / gaps[1] < 4.5 and 3.5 < gaps[1] / gaps[2] < 4.5
    # the closed form expanded to first order in eps = 1/(B - 1): theta = pi/2 + eps, K = (1 - pi eps/2)/(2 pi),
    # mu = 1/2 + (1/(2 pi) - 3/4)/B, v = (pi - 1)/(2 pi) + 1/(4B), B/(B - 3) = 1 + 3/B, so
    # B (lambda_B - pi/(pi - 1)) -> (2 pi^2 - pi - 2)/(2 (pi - 1)^2)
    c = (2 * math.pi**2 - math.pi - 2) / (2 * (math.pi - 1) ** 2)
    for b, gap in zip((256, 1024, 4096), gaps):
        assert abs(b * gap - c) < 6 / b, (b, b * gap, c)


def test_finite_batch_error_covers_a_much_finer_rule():
    for name, batch in (("tanh", 32), ("relu", 5), ("gelu", 128)):
        lam = sphere_lambda(name, batch)
        m = batch_sphere._rule(resolve(name), batch, 90.0, 24, 0.4, 40)
        fine = batch * m.mu / (m.v * (batch - 3))
        assert abs(lam.value - fine) <= lam.error, (name, batch)


def test_finite_batch_refusals():
    for bad in (3, 2, 0, 2.5, batch_sphere.MAX_BATCH + 1):
        with pytest.raises(ArgumentError):
            sphere_lambda("relu", bad)
    with pytest.raises(ArgumentError):
        batchnorm_lambda("relu", architecture=normalised("layer"))
    with pytest.raises(ArgumentError):
        layernorm_lambda("relu", architecture=normalised("batch", 8))
    with pytest.raises(ArgumentError):
        normalised_lambda("relu", PLAIN)
    with pytest.raises(ArgumentError):  # phi constant
        sphere_lambda("0*x + 1", 8)
    assert normalised_lambda("relu", normalised("layer")).value == layernorm_lambda("relu").value


# ---------------------------------------------------------------- command line

def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    from analytic.cli import main

    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_meanfield_norm_json_keys_and_values(capsys):
    import json

    code, out, err = _cli(capsys, "meanfield", "identity", "--norm", "batch", "--batch", "4", "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert data["architecture"] == {"kind": "normalised", "norm": "batch", "batch": 4}
    assert set(data["lambda"]) == {"value", "error", "converged", "reason"}
    assert abs(data["lambda"]["value"] - 2.0) < 1e-10 and data["lambda"]["converged"]
    # (B - 2)/(B - 3) = 2: depth scale 1/ln 2, a 1e6 growth after ln 1e6/ln 2 layers
    assert data["depth_scale"]["value"] == pytest.approx(1 / math.log(2), rel=1e-10)
    assert data["depth_1e6"]["value"] == pytest.approx(math.log(1e6) / math.log(2), rel=1e-10)
    code, out, _ = _cli(capsys, "meanfield", "relu", "--norm", "layer", "--json")
    data = json.loads(out)
    assert code == 0 and data["architecture"]["norm"] == "layer"
    assert data["lambda"]["value"] == pytest.approx(1.0, abs=1e-14)
    assert data["depth_scale"] is None and data["depth_1e6"] is None and data["growth_reason"]
    code, out, _ = _cli(capsys, "meanfield", "relu", "--norm", "batch", "--batch", "8")
    assert code == 0 and "lambda       1.78818997666" in out and "depth 1e6" in out


@pytest.mark.parametrize("argv", [
    ("meanfield", "relu", "--norm", "batch"),                       # no batch
    ("meanfield", "relu", "--norm", "batch", "--batch", "3"),       # B = 3: infinite mean square
    ("meanfield", "relu", "--norm", "layer", "--batch", "8"),       # LayerNorm takes no batch
    ("meanfield", "relu", "--norm", "group"),
    ("meanfield", "relu", "--norm", "batch", "--batch", "x"),
    ("meanfield", "relu", "--norm", "batch", "--batch", "8", "--sigma-b2", "0.1"),
    ("meanfield", "relu", "--batch", "8", "--sigma-w2", "2", "--sigma-b2", "0"),
    ("meanfield", "relu", "--sigma-w2", "2"),
    ("simulate", "relu", "--depth", "8", "--norm", "batch", "--batch", "8"),   # width 1
    ("simulate", "relu", "--depth", "8", "--width", "16", "--norm", "batch"),
    ("simulate", "relu", "--depth", "8", "--width", "16", "--norm", "batch", "--batch", "3"),
    ("simulate", "relu", "--depth", "8", "--width", "16", "--norm", "layer", "--bias", "normal(0,1)"),
    ("simulate", "relu", "--depth", "8"),
])
def test_norm_options_refused_with_exit_2(capsys, argv):
    code, out, err = _cli(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_simulate_norm_json_and_verdict(capsys):
    import json

    code, out, err = _cli(capsys, "simulate", "identity", "--depth", "10", "--width", "96", "--norm", "batch",
                          "--batch", "8", "--networks", "4", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["architecture"] == {"kind": "normalised", "norm": "batch", "batch": 8}
    assert data["lambda"]["value"] == pytest.approx(1.2, abs=1e-12)
    assert [c["statistic"] for c in data["checks"]] == ["rate", "log_rate"]
    rate = data["checks"][0]
    assert rate["analytic"] == pytest.approx(1.2, abs=1e-12) and rate["z"] is not None
    assert data["verdict"].startswith(("agree", "inconclusive"))
    code, out, _ = _cli(capsys, "simulate", "tanh", "--depth", "10", "--width", "64", "--norm", "layer",
                        "--networks", "4")
    assert code == 0 and "verdict:" in out and "LayerNorm" in out


def _brute_force_batchnorm_rates(batch: int, width: int, depth: int, networks: int, seed: int) -> np.ndarray:
    """Per-network mean of ||g_(l-1)||^2/||g_l||^2 over the middle layers of ReLU networks with BatchNorm, written
    out with every unit's B x B normalisation Jacobian (sqrt(B)/||Gh||)(G - u u^T) formed explicitly."""
    rng = np.random.default_rng(seed)
    G = np.eye(batch) - 1 / batch
    out = []
    for _ in range(networks):
        x = rng.standard_normal((width, batch))  # units x inputs
        Ws, Js, Ds = [], [], []
        for _ in range(depth):
            W = rng.standard_normal((width, width)) / math.sqrt(width)
            h = W @ x
            c = h @ G
            r = np.linalg.norm(c, axis=1)
            u = c / r[:, None]
            z = math.sqrt(batch) * u
            Js.append(math.sqrt(batch) / r[:, None, None] * (G[None] - u[:, :, None] * u[:, None, :]))
            Ds.append((z > 0).astype(float))
            Ws.append(W)
            x = np.maximum(z, 0.0)
        g = rng.standard_normal((width, batch))
        ratios = []
        for W, J, D in zip(Ws[::-1], Js[::-1], Ds[::-1]):
            dz = D * g
            dh = np.einsum("ibc,ic->ib", J, dz)  # J is symmetric
            new = W.T @ dh
            ratios.append(np.vdot(new, new) / np.vdot(g, g))
            g = new
        out.append(np.mean(ratios[2:-2]))
    return np.array(out)


def test_brute_force_batchnorm_network_against_the_finite_batch_lambda():
    """ReLU, B = 6, width 512: the simulated per-layer rate against lambda_6 (n -> infinity) within 4 standard
    errors; the B -> infinity value pi/(pi - 1) is far outside (the finite-B theory is needed)."""
    rates = _brute_force_batchnorm_rates(6, 512, 10, 12, 3)
    mean, se = rates.mean(), rates.std(ddof=1) / math.sqrt(len(rates))
    lam = sphere_lambda("relu", 6).value
    assert abs(mean - lam) < K_SE * se, (mean, se, lam)
    assert abs(mean - math.pi / (math.pi - 1)) > 10 * se


def test_simulate_norm_labels_a_gap_as_finite_width_bias_and_a_withheld_lambda_as_undecided(monkeypatch):
    from analytic import compare_normalised as CN
    from analytic.compare import MEAN_FIELD, NOT_CONVERGED

    # hard_swish at B = 128 and width 64: many standard errors above lambda_128 (the gap shrinks like 1/n)
    c = CN.compare_normalised("hard_swish", normalised("batch", 128), width=64, depth=12, networks=4)
    assert c.check("rate").z < -4 and c.check("rate").reason == MEAN_FIELD
    assert "DISAGREE" not in c.verdict and "finite-width bias" in c.check("rate").note
    real = CN.normalised_growth

    def unconverged(act, arch, params=None):
        g = real(act, arch, params)
        lam = LogQuantity.of(g.lam.value, 0.1, converged=False)
        return type(g)(g.activation, g.architecture, lam, growth(lam), g.limit)

    monkeypatch.setattr(CN, "normalised_growth", unconverged)
    c = CN.compare_normalised("relu", normalised("batch", 8), width=32, depth=6, networks=2)
    assert all(k.withheld and k.reason == NOT_CONVERGED for k in c.checks)
    assert c.as_dict()["lambda"]["value"] is None and c.as_dict()["checks"][0]["z"] is None
    assert c.verdict.startswith("inconclusive (analytic value not converged)")


@pytest.mark.parametrize("name,batch", [("relu", 8), ("relu", 32), ("tanh", 8), ("tanh", 32)])
def test_finite_batch_lambda_against_the_simulated_networks(name, batch):
    """mc.normalised at width 256 (finite-width bias well inside 4 standard errors here) against lambda_B; the
    B -> infinity value is outside at B = 8."""
    s = simulate_normalised(name, "batch", batch=batch, width=256, depth=16, networks=8, seed=0)
    lam = batchnorm_lambda(name, architecture=normalised("batch", batch)).value
    assert abs(s.rate.value - lam) < K_SE * s.rate.error, (s.rate, lam)
    if batch == 8:
        assert abs(s.rate.value - batchnorm_lambda(name).value) > 10 * s.rate.error


def _relu_lambda_by_homogeneity(batch: int) -> float:
    """ReLU's lambda_B in closed form. On the sphere z = sqrt(B) g/|g|, g ~ N(0, G) with |g| independent of g/|g|,
    so for f homogeneous of degree k, E f(z) = B^(k/2) E f(g) / E|g|^k (E|g|^2 = B - 1). (g_1, g_2) are normal
    with variance 1 - 1/B and correlation rho = -1/(B - 1), theta = arccos(rho); the arc-cosine kernels give
    E relu(z1) relu(z2) = E relu'(z1) z1 relu'(z2) z2 = (sin theta + (pi - theta) rho)/(2 pi) =: K,
    E relu'(z1) relu'(z2) = (pi - theta)/(2 pi), and E relu(z1)^2 = E relu'(z1)^2 = E relu'(z1)^2 z1^2 = 1/2."""
    b = batch
    rho = -1 / (b - 1)
    theta = math.acos(rho)
    k = (math.sqrt(1 - rho * rho) + (math.pi - theta) * rho) / (2 * math.pi)
    v = 0.5 - k
    mu = ((b - 2) / 2 + (0.5 + (b - 1) * (math.pi - theta) / (2 * math.pi)) / b - 0.5 + (0.5 + (b - 1) * k) / b) / (b - 1)
    return b * mu / (v * (b - 3))


@pytest.mark.parametrize("batch", [4, 5, 6, 8, 32, 128, 1024, 4096])
def test_finite_batch_relu_against_its_closed_form(batch):
    lam = sphere_lambda("relu", batch)
    exact = _relu_lambda_by_homogeneity(batch)
    assert lam.converged and abs(lam.value - exact) <= lam.error, (lam.value - exact, lam.error)
