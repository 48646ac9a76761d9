"""The exact median of |prod| (analytic.theory.typical) against routes that share none of its code: the law of
log|u| at depth 1 by a fine grid over the weight, the identity chain's i.i.d. sum of log|w_t| by numerical
convolution, the ReLU chain's atom at 0, and the Monte Carlo median of the same chain."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats

from analytic.mc import simulate_chain
from analytic.theory.typical import TOLERANCE, log_law


def _grid_median(logs: np.ndarray, mass: np.ndarray, level: float = 0.5) -> float:
    """The ``level`` quantile of a law given as point masses: the CDF interpolated linearly between points."""
    order = np.argsort(logs)
    x, cdf = logs[order], np.cumsum(mass[order])
    cdf = (cdf - 0.5 * mass[order]) / cdf[-1]  # each mass centred on its point
    return float(np.interp(level, cdf, x))


def test_depth_one_median_against_a_grid_over_the_weight():
    # y_0 = 1, no bias: u = w gelu'(w), w ~ N(1, 1/2); the median of log|u| by a 4·10^6-point grid over w
    w = np.linspace(-5.0, 7.0, 4_000_001)
    d = 0.5 * special.erfc(-w / math.sqrt(2)) + w * np.exp(-w * w / 2) / math.sqrt(2 * math.pi)
    with np.errstate(divide="ignore"):
        reference = _grid_median(np.log(np.abs(w * d)), stats.norm.pdf(w, 1.0, 0.5))
    law = log_law("gelu", 1, "normal(1, 0.5)")
    m = law.median_log[0]
    assert m.converged
    assert abs(m.log_abs - reference) <= TOLERANCE
    # the reported error covers the true one (within a factor 3 and the grid's own resolution)
    assert abs(m.log_abs - reference) <= 3 * m.relative_error + 1e-5


def _identity_reference(r: int, mu: float, sigma: float) -> tuple[float, float, float]:
    """Quartiles and median of sum_t log|w_t|, w_t ~ N(mu, sigma) i.i.d., by FFT convolution on a fine grid."""
    step = 5e-4
    grid = np.arange(-40.0, 4.0, step)
    e = np.exp(grid)
    density = (stats.norm.pdf(e, mu, sigma) + stats.norm.pdf(-e, mu, sigma)) * e * step
    n = r * grid.size
    f = np.fft.rfft(density, n)
    total = np.fft.irfft(f**r, n)[: n - r + 1]
    support = r * grid[0] + step * np.arange(total.size)
    total = np.clip(total, 0.0, None)
    return tuple(_grid_median(support, total, q) for q in (0.25, 0.5, 0.75))


def test_identity_chain_median_and_quartiles_against_convolution():
    r = 5
    q25, q50, q75 = _identity_reference(r, 1.0, 0.5)
    law = log_law("identity", r, "normal(1, 0.5)")
    for got, want in ((law.quantiles[0.25][-1], q25), (law.median_log[-1], q50), (law.quantiles[0.75][-1], q75)):
        assert got.converged
        assert abs(got.log_abs - want) <= TOLERANCE
        # and the reported error is honest: within 3 times it (plus the reference's own accuracy, ~1e-5)
        assert abs(got.log_abs - want) <= 3 * got.relative_error + 2e-5


def test_relu_median_is_zero_when_half_the_products_vanish():
    # x = 1, symmetric weights: P(w_1 < 0) = 1/2, so at least half of the products are exactly 0 at every depth
    law = log_law("relu", 4, "normal(0, 1)")
    for k in range(4):
        assert law.median_log[k].sign == 0 and law.median_log[k].value == 0.0
    assert law.zero_probability[-1] == pytest.approx(1 - 0.5**4, abs=1e-9)


@pytest.mark.parametrize("act,depth", [("gelu", 20), ("tanh", 20), ("sigmoid", 10)])
def test_median_agrees_with_the_monte_carlo_median(act, depth):
    law = log_law(act, depth, "normal(1, 0.5)")
    sim = simulate_chain(act, depth, "normal(1, 0.5)", samples=200_000, seed=7, progress=False)
    exact = law.median_log[-1]
    assert exact.converged
    # median_of_logs' interval between ranks n/2 ± sqrt(n)/2 is a 68 % interval: its half-length is one standard
    # error; 4 of them (plus the analytic tolerance) is the band
    mc = sim.log_median_abs
    assert abs(exact.log_abs - mc.value) <= 4 * mc.stderr + TOLERANCE


def test_deterministic_chain_is_its_own_median():
    law = log_law("sigmoid", 3, "constant(1)")
    assert law.method == "deterministic chain"
    y, p = 1.0, 1.0
    for _ in range(3):
        s = 1 / (1 + math.exp(-y))
        p *= s * (1 - s)
        y = s
    assert law.median_log[-1].log_abs == pytest.approx(math.log(p), abs=1e-12)
