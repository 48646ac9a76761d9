"""The chain Monte Carlo where the float phi' underflows: log|phi'| from the log forms, true zeros only, and the
products a float64 / float32 framework would see underflow, each against an independent route."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import mpmath
import sympy as sp
from scipy import special

from analytic.core.calculus import derivative, numpy_kernel, resolve
from analytic.core.logforms import log_abs_dphi, log_abs_underflow
from analytic.core.registry import X
from analytic.core.special import to_elementary
from analytic.mc import simulate_chain
from analytic.theory.chain import exact_chain

#: |z| within which a simulated value must lie of the exact one (the calibrated standard errors of
#: tests/test_montecarlo_calibration.py make |z| > 4 a 6e-5 event).
Z = 4.0


def _reference(act, v: float) -> tuple[float, int]:
    """(log|phi'(v)|, sign) from SymPy's own derivative as it is (``1 - tanh^2``, ``1/2 + erf/2``,
    ``sigmoid (1 - sigmoid)``: none of the rewrites of the log forms) in mpmath, doubling the working precision
    until two precisions agree to 1e-13: the cancellation is real there, and enough digits resolve it. The first
    precision already holds e^-|v| beside 1 (softplus(-3000) = log(1 + e^-3000) is 0 at any precision below
    1303 digits, and two such precisions would agree on the wrong value)."""
    f = sp.lambdify(X, to_elementary(derivative(act, 1)), "mpmath")
    last, dps = None, 40 + int(abs(v))
    while dps <= 16000:
        with mpmath.workdps(dps):
            d = f(mpmath.mpf(v))
            here = (float(mpmath.log(abs(d))), int(mpmath.sign(d))) if d != 0 else None
        if here and last and abs(here[0] - last[0]) <= 1e-13 * max(1.0, abs(here[0])):
            return here
        last, dps = here, dps * 2
    raise AssertionError(f"no reference value at {v}")


#: Points far in the tails (the float phi' underflows at most of them), a few near 0; for the erf and tanh forms
#: of GELU only as far as the reference stays cheap (1/2 + erf/2 at -60 needs some 800 digits).
_TAILS = [-3000.0, -900.0, -400.0, -40.0, -1.5, 0.7, 40.0, 400.0, 900.0]
_POINTS = {"gelu": [-60.0, -40.0, -1.5, 0.7, 40.0, 900.0], "gelu_tanh": [-25.0, -10.0, -1.5, 0.7, 40.0]}


@pytest.mark.parametrize("name", ["gelu", "gelu_tanh", "silu", "tanh", "sigmoid", "softplus", "mish", "elu",
                                  "x*tanh(log(1+exp(x)))", "x*erf(x)"])
def test_log_forms_match_high_precision_far_in_the_tails(name):
    act = resolve(name)
    v = np.array(_POINTS.get(name, _TAILS))
    logs, signs = log_abs_dphi(act, v)
    for x, got, sign in zip(v, logs, signs):
        want, want_sign = _reference(act, float(x))
        assert got == pytest.approx(want, rel=1e-12, abs=1e-9) and sign == want_sign, (name, x, got, want)


def test_true_zeros_are_minus_infinity_and_underflow_is_not():
    logs, signs = log_abs_dphi(resolve("relu"), np.array([-5.0, 0.0, 3.0]))
    assert logs.tolist() == [-math.inf, -math.inf, 0.0] and signs.tolist() == [0, 0, 1]
    logs, _ = log_abs_dphi(resolve("hardtanh"), np.array([-2.0, 0.5, 1e6]))
    assert logs.tolist() == [-math.inf, 0.0, -math.inf]
    # the transfer operator's variant: a tail value, never the clamp, where the log form resolves it
    assert log_abs_underflow(resolve("tanh"), np.array([1e4]))[0] == pytest.approx(math.log(4) - 2e4, rel=1e-15)


# gelu at depth 1: v = 20 w, w ~ N(0, 4), so P(v < -37) ~ 18 % of the factors underflow in float64; silu at
# depth 2 from x = 200, w ~ N(0, 16): a third of the products reach v < -745. Both need log|phi'| of v far
# below the float range, and neither has a single true zero.
CASES = [("gelu", 1, "normal(0, 2)", 20.0), ("silu", 2, "normal(0, 4)", 200.0)]


@pytest.mark.parametrize("name, depth, weights, x", CASES)
def test_underflowing_chain_agrees_with_the_exact_chain(name, depth, weights, x):
    exact = exact_chain(name, depth, weights, x=x)
    sim = simulate_chain(name, depth, weights, samples=200_000, x=x, seed=3)
    assert exact["zero_probability"].value == 0 and sim.zero_fraction.value == 0.0 and sim.nonfinite == 0
    lm = exact["log_mean"]
    # the exact value's own error (two resolutions) is far below the simulation's: it cannot decide the test
    assert lm.error < sim.log_mean.stderr / 100
    z = (sim.log_mean.value - lm.value) / sim.log_mean.stderr
    assert abs(z) <= Z, (name, sim.log_mean, lm.value)
    assert sim.ess_log > 1000  # the spread of log|prod| is carried by many chains: its standard error holds
    # the float product would have underflowed often: a case where the log route matters
    assert sim.framework_underflow["float64"].value > 0.1


def _float_threshold(kernel, dtype) -> float:
    """The largest v < 0 where the float phi' (this dtype, this kernel) is exactly 0, by bisection."""
    lo, hi = -2000.0, -1.0
    buf = [np.empty(1, dtype=dtype) for _ in range(4)]

    def zero(v: float) -> bool:
        buf[0][0] = v
        with np.errstate(all="ignore"):
            kernel(*buf)
        return buf[2][0] == 0

    assert zero(lo) and not zero(hi)
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if zero(mid) else (lo, mid)
    return lo


def test_framework_underflow_fractions_match_the_float_thresholds():
    """Depth 1, gelu, v = 20 w: a framework's product is 0 exactly when its float phi'(v) is, i.e. when v lies
    below that float type's threshold v*; P(20 w < v*) = Phi(v* / 40). The simulation counts it by multiplying
    naively; here it comes from one bisection and the normal law."""
    sim = simulate_chain("gelu", 1, "normal(0, 2)", samples=400_000, x=20.0, seed=5)
    kernel = numpy_kernel("gelu")
    for dtype, key in ((np.float64, "float64"), (np.float32, "float32")):
        p = special.ndtr(_float_threshold(kernel, dtype) / 40.0)
        got = sim.framework_underflow[key]
        se = math.sqrt(p * (1 - p) / sim.samples)
        assert abs(got.value - p) <= Z * se, (key, got, p)
        assert got.stderr == pytest.approx(se, rel=0.02)
    assert sim.framework_underflow["float32"].value > sim.framework_underflow["float64"].value


def test_relu_counts_its_true_zeros_and_no_underflow():
    sim = simulate_chain("relu", 5, "normal(0, 1)", samples=50_000, seed=0)
    assert sim.framework_underflow["float64"].value == 0.0 and sim.framework_underflow["float32"].value == 0.0
    p = 1 - 0.5**5  # every layer passes with probability 1/2 (w y > 0), independently of the rest
    assert abs(sim.zero_fraction.value - p) <= Z * sim.zero_fraction.stderr


def test_the_log_route_keeps_results_independent_of_threads_and_chunk():
    kw = dict(samples=40_000, x=20.0, seed=2)
    a = simulate_chain("gelu", 3, "normal(0, 2)", threads=1, **kw)
    b = simulate_chain("gelu", 3, "normal(0, 2)", threads=2, chunk=5000, **kw)
    assert a.framework_underflow["float64"].value > 0.1  # the log route was taken
    assert json.dumps(a.as_dict(), sort_keys=True) == json.dumps(b.as_dict(), sort_keys=True)
