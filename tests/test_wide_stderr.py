"""Coverage of the wide-network slope's jackknife standard error, against the exact finite-width rate.

ReLU with He weights at width n has an exact per-layer rate of log E||g_l||^2 (Hanin & Nica 2019, through
:func:`analytic.theory.finite_width.finite_width`): :math:`\\ln E S - \\ln(1 - P_0)`. Over many seeds the nominal
95 % interval slope ± t_(K-1) · stderr (K networks, the jackknife's K - 1 degrees of freedom) must cover it at a
rate inside a binomial band around 0.95. The jackknife variance carries the factor (K - 1)/K; with 1/K instead the
standard error shrinks by sqrt(K - 1) = 3 and the coverage falls near 0.5, which the same band rejects (checked
below on the same simulations).
"""
from __future__ import annotations

import math

from scipy import stats

from analytic.core.calculus import resolve
from analytic.mc import simulate_wide
from analytic.theory.finite_width import finite_width

WIDTH, DEPTH, BATCH, NETWORKS, TRIALS = 32, 6, 16, 10, 300


def _coverage(zs, t: float) -> float:
    return sum(abs(z) <= t for z in zs) / len(zs)


def test_the_jackknife_interval_covers_the_exact_finite_width_rate():
    one = finite_width(resolve("relu"), 1, 2.0, WIDTH, median=False)
    exact = math.log(one.mean.exact) - math.log1p(-one.dead_probability.exact)
    zs = []
    for seed in range(TRIALS):
        s = simulate_wide("relu", DEPTH, WIDTH, f"he({WIDTH})", batch=BATCH, seed=seed, networks=NETWORKS,
                          threads=1)
        assert s.sigma_w2 == 2.0
        zs.append((s.slope.value - exact) / s.slope.stderr)
    t = stats.t.ppf(0.975, NETWORKS - 1)
    band = 3 * math.sqrt(0.95 * 0.05 / TRIALS)  # three binomial standard errors: 0.95 ± 0.038
    assert abs(_coverage(zs, t) - 0.95) <= band, _coverage(zs, t)
    # the same simulations with the factor 1/K in place of (K - 1)/K: every stderr smaller by sqrt(K - 1)
    wrong = [z * math.sqrt(NETWORKS - 1) for z in zs]
    assert abs(_coverage(wrong, t) - 0.95) > band
