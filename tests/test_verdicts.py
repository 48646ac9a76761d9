"""Verdicts: a check decides only with a converged analytic value, a defined standard error, enough effective
samples and an exact (not mean-field) reference; otherwise it says which of these it lacks, never DISAGREE."""
from __future__ import annotations

import dataclasses
import math

from analytic.compare import (HEAVY_TAILS, MEAN_FIELD, NO_STDERR, NOT_CONVERGED, Check, _verdict, simulate)
from analytic.quantities import LogQuantity


def test_an_undefined_standard_error_gives_no_z_and_no_decision():
    c = Check.of("slope", 0.5, 0.1, math.nan)
    assert math.isnan(c.z) and not c.agree and not c.reliable and c.reason == NO_STDERR
    v = _verdict([c])
    assert v.startswith(f"inconclusive ({NO_STDERR}): slope") and "DISAGREE" not in v


def test_two_tiny_networks_have_no_standard_error_and_are_inconclusive():
    s = simulate("relu", 5, "he(2)", width=2, networks=2, seed=0)
    assert any(math.isnan(c.stderr) for c in s.checks)  # the premise: a jackknife over networks that died
    assert not s.agree and s.verdict.startswith("inconclusive") and "DISAGREE" not in s.verdict
    assert all(c.reason == NO_STDERR for c in s.checks if math.isnan(c.stderr))


# relu with normal(1, 0.5) weights: the exact chain has a closed form (a product of independent factors)
RELU = ("relu", 4, "normal(1, 0.5)")


def test_an_unconverged_analytic_value_is_inconclusive_and_does_not_widen_the_band(monkeypatch):
    import analytic.theory.chain as chain

    real = chain.exact_chain

    def unconverged(*args, **kwargs):
        c = real(*args, **kwargs)
        m = c["mean"]
        # twice the true value, with an error as large as the value, flagged as having missed its tolerance
        off = LogQuantity(m.log_abs + math.log(2), m.sign, m.log_abs + math.log(2), converged=False)
        return dataclasses.replace(c, quantities={**c.quantities, "mean": off})

    honest = simulate(*RELU, samples=50_000, seed=1)
    assert honest.verdict.startswith("agree")  # the premise: the true values agree
    monkeypatch.setattr(chain, "exact_chain", unconverged)
    s = simulate(*RELU, samples=50_000, seed=1)
    c = s.check("mean")
    assert not c.reliable and c.reason == NOT_CONVERGED
    # the analytic error (as large as the value) is not added to the band: the standard error is the simulation's
    assert c.stderr == honest.check("mean").stderr and abs(c.z) > 10
    assert s.verdict.startswith(f"inconclusive ({NOT_CONVERGED}): mean") and "DISAGREE" not in s.verdict
    assert all(o.agree and o.reliable for o in s.checks if o.statistic != "mean")


def test_a_decisive_disagreement_outranks_every_reason_to_doubt():
    bad = Check.of("mean", 1.0, 0.5, 0.01)
    loose = dataclasses.replace(Check.of("mean_abs", 1.0, 0.99, 0.01)).undecided(HEAVY_TAILS)
    assert _verdict([bad, loose]).startswith("DISAGREE: mean")
    assert _verdict([loose]).startswith(f"inconclusive ({HEAVY_TAILS}): mean_abs")
    assert _verdict([Check.of("mean", 1.0, 0.99, 0.01)]).startswith("agree")


def test_a_wide_network_against_mean_field_reports_the_finite_width_bias_not_disagree():
    s = simulate("sigmoid", 20, "glorot(256, 256)", width=256, seed=0)
    c = s.check("slope_log")
    assert not c.agree  # the premise: at width 256 the typical rate sits O(1/n) below ln chi_1, many stderrs off
    assert c.reason == MEAN_FIELD and "finite-width bias expected, O(1/n)" in c.note
    gap = c.simulated - c.analytic
    assert f"{gap:.3g}" in c.note and abs(gap) < 5 / 256  # the bias, with its size: a few times 1/n
    assert "DISAGREE" not in s.verdict and s.verdict.startswith(f"inconclusive ({MEAN_FIELD})")


def test_a_wide_relu_against_its_exact_finite_width_law_still_decides():
    """Where an exact finite-width law exists the checks are decisive: a wrong reference would be DISAGREE."""
    s = simulate("relu", 12, "he(64)", width=64, seed=0, networks=16)
    assert all(c.reliable and not c.reason for c in s.checks) and s.verdict.startswith("agree")
    wrong = Check.of("slope", s.analytic["finite_width_slope"] + 10 * s.check("slope").stderr,
                     s.check("slope").simulated, s.check("slope").stderr)
    assert wrong.reliable and _verdict([wrong]).startswith("DISAGREE")
