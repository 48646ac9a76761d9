"""The exact chain's accuracy settings, its refinement, and its error estimate, against independent routes.

Expected values are derived here by hand (the identity chain with Gaussian weights and bias), by seeded Monte Carlo
within 4 standard errors, by the plain iteration of the same operator, or by a run at settings strictly finer and
wider in every respect; none is copied from the code's output.
"""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from analytic.errors import SpecError
from analytic.quantities import NAMES
from analytic.theory import accuracy, chain
from analytic.theory.accuracy import SCHEDULE, Accuracy, check_schedule
from analytic.theory.chain import exact_chain


def _all_converged(c) -> bool:
    return all(bool(np.all(c.by_depth[q].converged)) for q in NAMES)


# ---------------------------------------------------------------- the settings

def test_consecutive_levels_differ_in_every_setting():
    check_schedule(SCHEDULE)
    for a, b in zip(SCHEDULE[:-1], SCHEDULE[1:]):
        for f in dataclasses.fields(Accuracy):
            assert getattr(a, f.name) != getattr(b, f.name), f.name


def test_a_schedule_sharing_a_truncation_between_levels_is_refused():
    shared = (SCHEDULE[0], dataclasses.replace(SCHEDULE[1], outer_cut=SCHEDULE[0].outer_cut))
    with pytest.raises(SpecError, match="outer_cut"):
        exact_chain("sigmoid", 3, "uniform(-1, 2)", bias="normal(0, 0.5)", schedule=shared)


def test_the_result_records_the_settings_it_used():
    c = exact_chain("sigmoid", 4, "normal(1, 0.5)")
    coarse, fine = c.settings
    assert isinstance(coarse, Accuracy) and isinstance(fine, Accuracy)
    assert SCHEDULE.index(fine) == SCHEDULE.index(coarse) + 1 == c.refinements + 1
    d = c.as_dict()
    assert d["settings"]["fine"]["points"] == fine.points and d["refinements"] == c.refinements
    assert any(f"{fine.points} Chebyshev points" in n for n in c.notes)


# ---------------------------------------------------------------- (a) the Gaussian-bias route against closed forms

def test_identity_with_gaussian_weights_and_bias_matches_its_closed_forms():
    # phi(v) = v, so u_t = w_t and P_r = prod w_t: E[P] = mu^r, E|P| = (E|w|)^r, E[P^2] = (mu^2 + s^2)^r,
    # E log|P| = r E log|w|, P(P = 0) = 0. The law of y_t = w_t y_(t-1) + b_t (= v_t): E[y_t] = mu E[y_(t-1)] + m,
    # E[y_t^2] = (mu^2 + s^2) E[y_(t-1)^2] + 2 mu m E[y_(t-1)] + (m^2 + sb^2). With a Gaussian bias the identity
    # is not taken by the closed form: it goes through the transfer operator with the Gaussian law of w given v.
    mu, s, m, sb, x, r = 0.7, 0.6, 0.3, 0.5, 1.0, 8
    c = exact_chain("identity", r, f"normal({mu}, {s})", x=x, bias=f"normal({m}, {sb})")
    assert c.method == "transfer operator"
    e_abs = s * math.sqrt(2 / math.pi) * math.exp(-mu**2 / (2 * s**2)) + mu * math.erf(mu / (s * math.sqrt(2)))
    f = lambda w: math.log(abs(w)) * stats.norm.pdf(w, mu, s)  # noqa: E731
    e_log = sum(integrate.quad(f, a, b, limit=400, epsabs=1e-14, epsrel=1e-13)[0]
                for a, b in ((mu - 14 * s, 0.0), (0.0, mu + 14 * s)))
    for k in range(1, r + 1):
        assert c.by_depth["mean"][k - 1].value == pytest.approx(mu**k, rel=1e-10)
        assert c.by_depth["mean_abs"][k - 1].value == pytest.approx(e_abs**k, rel=1e-10)
        assert c.by_depth["mean_square"][k - 1].value == pytest.approx((mu**2 + s**2) ** k, rel=1e-10)
        assert c.by_depth["log_mean"][k - 1].value == pytest.approx(k * e_log, rel=1e-10)
    assert c["zero_probability"].value == 0
    ey, ey2 = x, x * x
    for t in range(1, r + 1):
        ev, ev2 = mu * ey + m, (mu**2 + s**2) * ey2 + 2 * mu * m * ey + m**2 + sb**2
        assert c.preact_mean[t - 1] == pytest.approx(ev, rel=1e-10)
        assert c.preact_sd[t - 1] == pytest.approx(math.sqrt(ev2 - ev**2), rel=1e-10)
        ey, ey2 = ev, ev2


# ---------------------------------------------------------------- (b) the law of v_t when E[w] E[b] != 0

def test_preactivation_law_with_a_biased_mean_agrees_with_monte_carlo():
    # E[v_t^2] has the cross term 2 E[w] E[b] E[y_(t-1)]: with E[w] E[b] = 0.5 it matters at every layer.
    c = exact_chain("sigmoid", 6, "normal(1, 0.5)", bias="normal(0.5, 0.5)")
    rng = np.random.default_rng(17)
    n = 400_000
    y = np.ones(n)
    for t in range(6):
        v = rng.normal(1, 0.5, n) * y + rng.normal(0.5, 0.5, n)
        se_mean, se_sd = v.std() / math.sqrt(n), v.std() * math.sqrt((stats.kurtosis(v) + 2) / (4 * n))
        assert abs(v.mean() - c.preact_mean[t]) < 4 * se_mean, t
        assert abs(v.std() - c.preact_sd[t]) < 4 * se_sd, t
        y = special.expit(v)


# ---------------------------------------------------------------- (c) the extrapolation beyond the steady depth

def test_depth_5000_extrapolated_agrees_with_the_plain_iteration(monkeypatch):
    args = ("sigmoid", 5000, "normal(1, 0.5)")
    chain._exact_chain.cache_clear()
    fast = exact_chain(*args)
    assert any("extrapolated" in n for n in fast.notes)
    monkeypatch.setattr(chain, "_STEADY_AFTER", 10**7)  # the reference iterates every layer
    chain._exact_chain.cache_clear()
    plain = exact_chain(*args)
    chain._exact_chain.cache_clear()
    assert not any("extrapolated" in n for n in plain.notes)
    for q in ("mean", "mean_abs", "mean_square", "log_mean"):
        a, b = fast.by_depth[q], plain.by_depth[q]
        assert np.array_equal(a.sign, b.sign), q
        # per-layer rounding of the iteration: 1e-13 of the value per layer at most
        tol = 1e-13 * np.arange(1, 5001) * np.maximum(np.abs(b.log_abs), 1.0)
        assert np.all(np.abs(a.log_abs - b.log_abs) <= tol), q


# ---------------------------------------------------------------- (d) zero-mean weights converge at r = 100

@pytest.mark.parametrize("act", ["tanh", "gelu", "elu", "selu"])
def test_zero_mean_weights_converge_at_every_depth_to_100(act):
    c = exact_chain(act, 100, "normal(0, 1)")
    assert c.method == "transfer operator"
    assert _all_converged(c), [n for n in c.notes if "NOT" in n]


# ---------------------------------------------------------------- (e) a truncation is seen by the error

CASE = ("sigmoid", 5, "uniform(-1, 2)")
BIAS = "normal(0, 0.5)"


def _next_level(acc: Accuracy) -> Accuracy:
    """The level after ``acc``: strictly finer and wider in every setting."""
    k = next(j for j in range(20) if accuracy._level(j) == acc)
    return accuracy._level(k + 1)


def test_reported_errors_cover_the_distance_to_strictly_wider_settings():
    c = exact_chain(*CASE, bias=BIAS)
    assert _all_converged(c)
    ref = exact_chain(*CASE, bias=BIAS, schedule=(c.settings[1], _next_level(c.settings[1])))
    for q in ("mean", "mean_abs", "mean_square", "log_mean"):
        gap = abs(c[q].estimate - ref[q].value)
        # 1e-12 relative: rounding of sums over ~1e5 nodes, which the difference of two estimates does not see
        assert gap <= c[q].error + 1e-12 * abs(ref[q].value), (q, gap, c[q].error)


def test_a_truncation_narrowed_in_the_fine_estimate_only_is_seen_by_the_error():
    # the outer bias rule of the fine estimate over +-3 sd instead of +-8 (a 1.7 % error in E[prod^2]); the coarse
    # estimate keeps its own window, so the difference of the two must report it.
    narrow = (SCHEDULE[0], dataclasses.replace(SCHEDULE[1], outer_cut=3.0, gauss_cut=SCHEDULE[0].gauss_cut + 0.5))
    with pytest.raises(SpecError):  # not finer in every setting: refused as a schedule
        exact_chain(*CASE, bias=BIAS, schedule=narrow)
    planted = (dataclasses.replace(SCHEDULE[0], outer_cut=2.0), dataclasses.replace(SCHEDULE[1], outer_cut=3.0))
    c = exact_chain(*CASE, bias=BIAS, schedule=planted)
    ref = exact_chain(*CASE, bias=BIAS)
    assert _all_converged(ref)
    worst = 0.0
    for q in ("mean", "mean_abs", "mean_square", "log_mean"):
        gap = abs(c[q].estimate - ref[q].value)  # c is withheld: its estimate is what the error must cover
        worst = max(worst, gap / abs(ref[q].value))
        assert gap <= c[q].error, (q, gap, c[q].error)
    assert worst > 1e-3  # the planted truncation is real
    assert not c.converged


def test_refinement_does_not_hide_a_truncation_narrowed_in_one_level():
    # a level whose outer bias window is +-3 sd between two ordinary ones (not a valid schedule: called below the
    # check): each difference involving it is ~1 %, so the chain cannot be declared converged.
    from analytic.core.calculus import resolve
    from analytic.distributions import distribution, scalar

    planted = (SCHEDULE[0], dataclasses.replace(SCHEDULE[1], outer_cut=3.0), SCHEDULE[2])
    c = chain._exact_chain(resolve("sigmoid"), 5, scalar(distribution("uniform(-1, 2)")),
                           scalar(distribution(BIAS), "bias"), 1.0, chain.TOLERANCE, planted)
    assert not c.converged
    assert c["mean_square"].relative_error > 1e-3


# ---------------------------------------------------------------- log_mean: a tolerance per layer

def test_a_million_deterministic_layers_converge_and_match_the_plain_sum():
    # w = 1, no bias, x = 0: y_t = sigmoid(y_(t-1)) is deterministic and log|P_r| = sum_t log sigmoid'(y_(t-1)).
    # The rounding of a sum of 10^6 terms alone exceeds an absolute 1e-8; the tolerance is 1e-8 per layer.
    r = 10**6
    c = exact_chain("sigmoid", r, "constant(1)", x=0.0)
    assert c["log_mean"].converged and c.converged
    y, terms = 0.0, []
    for _ in range(r):
        s = 1 / (1 + math.exp(-y))
        terms.append(math.log(s * (1 - s)))
        y = s
    assert c["log_mean"].value == pytest.approx(math.fsum(terms), rel=1e-9)
