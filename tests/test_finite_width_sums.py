r"""The finite-width law's summaries against closed sums over the binomial, computed here with mpmath.

For ReLU-family networks with Gaussian weights, per layer :math:`\|Ju\|^2` gains the independent factor
:math:`(\sigma_w^2/n_{l-1})(\chi^2_{k} + a^2\chi^2_{n_l-k})`, :math:`k \sim \mathrm{Bin}(n_l, 1/2)` (Hanin & Nica
2019). Hence, with :math:`p_k = \binom{n}{k}2^{-n}`:

* :math:`E\|Ju\|^4 = \prod_l (\sigma_w^2/n_{l-1})^2 \sum_k p_k\,E[(\chi^2_k + a^2\chi^2_{n-k})^2]`, where
  :math:`E[X^2] = \mathrm{Var}\,X + (EX)^2 = 2k + 2a^4(n-k) + (k + a^2(n-k))^2`;
* for ReLU (:math:`a = 0`), over the networks that are alive (every :math:`k_l \ge 1`; the layers stay
  independent given that), :math:`E\ln\|Ju\|^2 = \sum_l [\ln(\sigma_w^2/n_{l-1}) + E(\psi(k/2) + \ln 2 \mid k \ge
  1)]` and :math:`\mathrm{Var}\ln\|Ju\|^2 = \sum_l [E(\psi'(k/2) \mid k \ge 1) + \mathrm{Var}(\psi(k/2) \mid k \ge
  1)]` (law of total variance; :math:`\mathrm{Var}\ln\chi^2_k = \psi'(k/2)`);
* the identity (:math:`a = 1`): :math:`\chi^2_{n_l}` per layer, no binomial;
* ReLU is dead with probability :math:`1 - \prod_l (1 - 2^{-n_l})`.

These sums are written out here, independently of :mod:`analytic.theory.finite_width`.
"""
from __future__ import annotations

import mpmath as mp
import pytest

from analytic.theory.finite_width import finite_width

mp.mp.dps = 30


def _p(n: int, k: int):
    return mp.binomial(n, k) / mp.mpf(2) ** n


def _fourth_moment(widths, sigma_w2, a2):
    total = mp.mpf(1)
    for n_in, n in zip(widths[:-1], widths[1:]):
        layer = mp.fsum(_p(n, k) * (2 * k + 2 * a2 ** 2 * (n - k) + (k + a2 * (n - k)) ** 2) for k in range(n + 1))
        total *= (mp.mpf(sigma_w2) / n_in) ** 2 * layer
    return total


def _relu_log_moments(widths, sigma_w2):
    mean = var = mp.mpf(0)
    for n_in, n in zip(widths[:-1], widths[1:]):
        alive = 1 - mp.mpf(2) ** -n
        ks = range(1, n + 1)
        m1 = mp.fsum(_p(n, k) * mp.digamma(mp.mpf(k) / 2) for k in ks) / alive
        m2 = mp.fsum(_p(n, k) * mp.digamma(mp.mpf(k) / 2) ** 2 for k in ks) / alive
        trigamma = mp.fsum(_p(n, k) * mp.polygamma(1, mp.mpf(k) / 2) for k in ks) / alive
        mean += mp.log(mp.mpf(sigma_w2) / n_in) + m1 + mp.log(2)
        var += trigamma + (m2 - m1 ** 2)
    return mean, var


@pytest.mark.parametrize("widths", [(2, 2, 2, 2), (3, 3, 3), (2, 3, 2, 3, 2), (3, 2, 3)])
@pytest.mark.parametrize("sigma_w2", [2.0, 1.3])
def test_relu_fourth_moment_log_moments_and_death_against_binomial_sums(widths, sigma_w2):
    depth = len(widths) - 1
    fw = finite_width("relu", depth, sigma_w2, list(widths))
    expected_m4 = _fourth_moment(widths, sigma_w2, 0)
    assert fw.mean_square.exact == pytest.approx(float(expected_m4), rel=1e-12)
    mean, var = _relu_log_moments(widths, sigma_w2)
    assert fw.log_mean.exact == pytest.approx(float(mean), rel=1e-10, abs=1e-12)
    assert fw.log_variance.exact == pytest.approx(float(var), rel=1e-10)
    dead = 1 - mp.fprod(1 - mp.mpf(2) ** -n for n in widths[1:])
    assert fw.dead_probability.exact == pytest.approx(float(dead), rel=1e-13)
    # the stated errors cover the distance to the sums
    assert abs(fw.log_variance.exact - float(var)) <= max(fw.log_variance.error, 1e-13)


@pytest.mark.parametrize("n", [2, 3])
def test_leaky_relu_fourth_moment_against_binomial_sums(n):
    slope = 0.1
    fw = finite_width("leaky_relu", 3, 2.0, n, params={"negative_slope": slope})
    expected = _fourth_moment((n,) * 4, 2.0, slope ** 2)
    assert fw.mean_square.exact == pytest.approx(float(expected), rel=1e-12)


@pytest.mark.parametrize("n", [2, 3])
def test_linear_network_log_variance_is_a_sum_of_trigammas(n):
    fw = finite_width("identity", 4, 1.0, n)
    assert fw.log_variance.exact == pytest.approx(float(4 * mp.polygamma(1, mp.mpf(n) / 2)), rel=1e-10)
    assert fw.log_mean.exact == pytest.approx(float(4 * (mp.log(mp.mpf(1) / n) + mp.digamma(mp.mpf(n) / 2)
                                                         + mp.log(2))), rel=1e-10, abs=1e-12)
    assert fw.mean_square.exact == pytest.approx(float(_fourth_moment((n,) * 5, 1.0, 1)), rel=1e-12)
