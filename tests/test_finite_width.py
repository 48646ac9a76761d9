"""Finite-width law of ReLU-family networks vs a direct Monte Carlo of real networks, and its large-width limit."""
from __future__ import annotations

import math

import numpy as np
import pytest

from analytic.errors import ArgumentError
from analytic.theory.finite_width import finite_width, relu_family

#: Agreement rule: |exact - Monte Carlo| <= Z standard errors.
Z = 4.0


def _network_norms(slope: float, depth: int, n: int, sigma_w2: float, nets: int, seed: int) -> np.ndarray:
    """||J u||^2 of `nets` real networks phi(x) = max(x, 0) + slope min(x, 0), W ~ N(0, sigma_w2/n), no bias,
    input x_0 ~ N(0, I), u a fixed unit vector: the tangent t_l = D_l W_l t_(l-1) is carried with the input."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((nets, n, 1))
    t = np.zeros((nets, n, 1))
    t[:, 0, 0] = 1.0
    for _ in range(depth):
        W = rng.normal(0.0, math.sqrt(sigma_w2 / n), (nets, n, n))
        v, t = W @ x, W @ t
        d = np.where(v > 0, 1.0, slope)
        x, t = d * v, d * t
    return (t[:, :, 0] ** 2).sum(axis=1)


def _checks(fw, s: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """(exact, Monte Carlo, standard error) per statistic; standard errors from the sample itself."""
    N = len(s)
    alive = s[s > 0]
    logs = np.log(alive)
    m = logs.mean()
    c2 = (logs - m) ** 2
    dead = 1 - len(alive) / N
    out = {
        "mean": (fw.mean.exact, s.mean(), s.std(ddof=1) / math.sqrt(N)),
        "log_mean": (fw.log_mean.exact, m, logs.std(ddof=1) / math.sqrt(len(logs))),
        "log_variance": (fw.log_variance.exact, c2.mean() * len(logs) / (len(logs) - 1),
                         c2.std(ddof=1) / math.sqrt(len(logs))),
        "dead_probability": (fw.dead_probability.exact, dead,
                             math.sqrt(max(fw.dead_probability.exact * (1 - fw.dead_probability.exact), 1e-300) / N)),
        # the median: the fraction of networks below the exact median is 1/2 (binomial standard error)
        "median": (0.5, float(np.mean(s <= fw.median.exact)), 0.5 / math.sqrt(N)),
    }
    if fw.mean_square.exact / fw.mean.exact ** 2 < 20:  # E||Ju||^8 finite but heavy: only where the sample is fair
        out["mean_square"] = (fw.mean_square.exact, (s * s).mean(), (s * s).std(ddof=1) / math.sqrt(N))
    return out


@pytest.mark.parametrize("n, depth, nets", [(8, 6, 40_000), (16, 6, 20_000), (64, 4, 3_000)])
def test_relu_law_matches_real_networks(n, depth, nets):
    fw = finite_width("relu", depth, 2.0, n)
    s = _network_norms(0.0, depth, n, 2.0, nets, seed=n)
    for name, (exact, mc, se) in _checks(fw, s).items():
        assert abs(exact - mc) <= Z * se, (name, exact, mc, se)


def test_leaky_relu_and_linear_laws_match_real_networks():
    for act, slope in (("leaky_relu(negative_slope=0.3)", 0.3), ("identity", 1.0)):
        params = {"negative_slope": 0.3} if slope == 0.3 else None
        fw = finite_width("leaky_relu" if slope == 0.3 else act, 5, 1.5, 8, params=params)
        s = _network_norms(slope, 5, 8, 1.5, 20_000, seed=7)
        for name, (exact, mc, se) in _checks(fw, s).items():
            if name == "median" and not math.isfinite(fw.median.exact):
                continue
            assert abs(exact - mc) <= Z * se, (act, name, exact, mc, se)


def test_the_monte_carlo_check_sees_a_wrong_law():
    """The same comparison fails for a law off by one degree of freedom per layer (k ~ Bin(n, 1/2) + 1)."""
    fw = finite_width("relu", 6, 2.0, 8)
    s = _network_norms(0.0, 6, 8, 2.0, 40_000, seed=8)
    wrong = fw.log_mean.exact + 6 * (math.log(5.0) - math.log(4.0))  # E ln chi2_(k+1) - E ln chi2_k ~ 1/(k/2)
    m = np.log(s[s > 0])
    assert abs(wrong - m.mean()) > Z * m.std() / math.sqrt(len(m))


def test_varying_widths_follow_the_law():
    fw = finite_width("relu", 3, 2.0, [8, 16, 8, 12])
    rng = np.random.default_rng(5)
    widths, nets = [8, 16, 8, 12], 40_000
    x = rng.standard_normal((nets, 8, 1))
    t = np.zeros((nets, 8, 1))
    t[:, 0, 0] = 1.0
    for l in range(1, 4):
        W = rng.normal(0.0, math.sqrt(2.0 / widths[l - 1]), (nets, widths[l], widths[l - 1]))
        v, t = W @ x, W @ t
        d = (v > 0).astype(float)
        x, t = d * v, d * t
    s = (t[:, :, 0] ** 2).sum(axis=1)
    for name, (exact, mc, se) in _checks(fw, s).items():
        assert abs(exact - mc) <= Z * se, (name, exact, mc, se)
    assert fw.mean.exact == pytest.approx((2 / 8 * 16 / 2) * (2 / 16 * 8 / 2) * (2 / 8 * 12 / 2), rel=1e-13)


def test_relu_converges_to_mean_field_at_the_first_order_rate():
    """n (log_mean - L ln chi_1) -> -5L/2 and n log_variance -> 5L (delta method, Hanin 2018), independently of
    the digamma sums; dead probability -> 0 like L 2^-n."""
    L = 10
    for n in (1024, 4096):
        fw = finite_width("relu", L, 2.0, n)
        assert n * (fw.log_mean.exact - fw.log_mean.mean_field) == pytest.approx(-2.5 * L, rel=8 / n)
        assert n * fw.log_variance.exact == pytest.approx(5 * L, rel=8 / n)
    gaps = [abs(finite_width("relu", L, 2.0, n).log_mean.exact) for n in (16, 64, 256)]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 0.1
    assert finite_width("relu", L, 2.0, 16).dead_probability.exact == pytest.approx(L * 2.0 ** -16, rel=1e-3)


def test_exact_law_is_refused_where_it_does_not_hold():
    assert relu_family("tanh") is None and relu_family("elu") is None
    for kw in ({"act": "tanh"}, {"act": "relu", "sigma_b2": 0.1}, {"act": "relu", "weights": "orthogonal"}):
        act = kw.pop("act")
        with pytest.raises(ArgumentError, match="no exact finite-width law"):
            finite_width(act, 3, 2.0, 8, **kw)
    with pytest.raises(ArgumentError, match="depth \\+ 1 = 4 widths"):
        finite_width("relu", 3, 2.0, [8, 8])


def test_simulate_width_compares_with_the_exact_finite_width_rates():
    """The wide-network simulation's typical and mean-square slopes against the exact law (independent code:
    real back-propagation); at width 8 the typical rate is far from mean field's ln chi_1 = 0 and the
    simulation must see that."""
    import analytic

    s = analytic.simulate("relu", 16, "he(8)", width=8, batch=16, networks=24, seed=4)
    checks = {c.statistic: c for c in s.checks}
    assert set(checks) == {"slope", "slope_log"}
    assert all(c.agree for c in checks.values()), [c.as_dict() for c in checks.values()]
    typ = checks["slope_log"]
    assert typ.analytic == pytest.approx(finite_width("relu", 1, 2.0, 8).log_mean.exact, rel=1e-12)
    assert abs(typ.simulated - 0.0) > Z * typ.stderr        # mean field's typical rate is rejected
    t = analytic.simulate("tanh", 12, "normal(0, 0.25)", width=16, batch=8, networks=4)
    assert {c.statistic for c in t.checks} == {"slope", "slope_log"} and "mean field" in t.checks[1].note
