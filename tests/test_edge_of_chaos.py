"""Edge of chaos for SiLU and GELU: chi_1 = 1 at unstable fixed points, the bias variance from which it is stable,
and what the text says about the stable fixed points.

Independent route: scipy's adaptive quadrature of V(q) = E[phi(sqrt q z)^2], W(q) = E[phi'(sqrt q z)^2] and
V'(q) = E[z phi phi'(sqrt q z)]/sqrt q with the activations written here, scipy's brentq, and the length map
q -> sigma_w^2 V(q) + sigma_b^2 iterated directly.
"""
from __future__ import annotations

import math
import re

import pytest
from scipy.integrate import quad
from scipy.optimize import brentq
from scipy.special import erf, expit

from analytic.theory import criticality
from analytic.theory.criticality import critical_points
from analytic.theory.initialisation import initialisation

ACTS = {
    "silu": (lambda x: x * expit(x), lambda x: expit(x) * (1 + x * (1 - expit(x)))),
    "gelu": (lambda x: 0.5 * x * (1 + erf(x / math.sqrt(2))),
             lambda x: 0.5 * (1 + erf(x / math.sqrt(2))) + x * math.exp(-x * x / 2) / math.sqrt(2 * math.pi)),
}


def mean(f, q: float) -> float:
    r = math.sqrt(q)
    g = lambda z: f(r * z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    return sum(quad(g, a, b, epsabs=0, epsrel=1e-12, limit=400)[0] for a, b in ((-14, 0), (0, 14)))


def maps(name: str):
    f, d = ACTS[name]
    V = lambda q: mean(lambda x: f(x) ** 2, q)  # noqa: E731
    W = lambda q: mean(lambda x: d(x) ** 2, q)  # noqa: E731
    dV = lambda q: mean(lambda x: x * f(x) * d(x), q) / q  # noqa: E731
    return V, W, dV


@pytest.mark.parametrize("name, sb", [("silu", 0.01), ("gelu", 0.04)])  # sigma_b = 0.1, 0.2
def test_the_edge_of_chaos_sits_on_an_unstable_fixed_point(name, sb):
    V, W, dV = maps(name)
    q = brentq(lambda x: (x - sb) * W(x) - V(x), 0.05, 5.0, xtol=1e-15, rtol=1e-14)  # chi_1 = 1 on the curve
    sw = (q - sb) / V(q)
    slope = sw * dV(q)
    assert slope > 1.05  # unstable: G'(q*) = 1.072 (SiLU), 1.095 (GELU)
    (p,) = [p for p in critical_points(name, sb) if not p.edge]
    assert p.q_star == pytest.approx(q, rel=1e-8) and p.sigma_w2 == pytest.approx(sw, rel=1e-8)
    assert p.slope == pytest.approx(slope, rel=1e-6) and not p.stable and p.kind == "unstable"
    for start in (q * (1 - 1e-4), q * (1 + 1e-4)):  # the length map runs away on either side
        x = start
        for _ in range(100):
            x = sw * V(x) + sb
        assert abs(x - q) > 10 * abs(start - q) and (x - q) * (start - q) > 0
    i = initialisation(name, sb)
    assert i.sigma_w2 is None and "runs away from q* on either side" in i.method


@pytest.mark.parametrize("name", ["silu", "gelu"])
def test_the_bias_variance_from_which_the_edge_of_chaos_is_stable(name):
    # along chi_1 = 1, G'(q) = 1 + sigma_w^2 (V'(q) - W(q)): stable where V' < W; sigma_b^2 = q - V(q)/W(q) there
    V, W, dV = maps(name)
    qc = brentq(lambda x: dV(x) - W(x), 1.0, 50.0, xtol=1e-14, rtol=1e-13)
    sbc = qc - V(qc) / W(qc)
    e = criticality.stable_edge(name)
    assert e.sigma_b2 == pytest.approx(sbc, abs=1e-6) and e.q_star == pytest.approx(qc, rel=1e-6)
    assert abs(e.sigma_b2 - sbc) <= e.error < 1e-5  # the stated error covers the independent value
    assert e.sigma_w2 == pytest.approx(1 / W(qc), rel=1e-9)
    for sb in (sbc - 0.05, sbc + 0.05):  # chi_1 = 1 on the curve below and above the threshold
        q = brentq(lambda x: (x - sb) * W(x) - V(x), sb + 1e-9, 200.0, xtol=1e-14, rtol=1e-13)
        slope = (q - sb) * dV(q) / V(q)
        assert (slope > 1) == (sb < sbc)
    assert initialisation(name, sbc + 0.05).sigma_w2 == pytest.approx((q - sbc - 0.05) / V(q), rel=1e-8)
    below = initialisation(name, sbc - 0.05)
    assert below.sigma_w2 is None and below.stable_edge["sigma_b2"] == e.sigma_b2


def test_silu_stable_fixed_points_and_the_largest_chi1_agree():
    # sigma_b^2 = 0.01: the text names the largest chi_1 at a stable fixed point; it must be below 1 when it says
    # "chi_1 < 1", and an independent quadrature must find that fixed point stable with that chi_1
    V, W, dV = maps("silu")
    i = initialisation("silu", 0.01)
    said = re.search(r"chi_1 < 1 \(largest ([0-9.e+-]+), at q\* = ([0-9.e+-]+)\)", i.method)
    assert said is not None
    chi, q = float(said.group(1)), float(said.group(2))
    q = 10 ** (round(20 * math.log10(q)) / 20)  # the grid point shown to 3 digits (20 per decade)
    sw = (q - 0.01) / V(q)
    assert chi < 1 and sw * dV(q) < 1 and sw * W(q) == pytest.approx(chi, rel=1e-5)
    # and no grid point with a slope within 1e-6 of 1 is called stable with chi_1 > 1 (q* >= 1e4)
    assert "chi_1 > 1 at the fixed points" not in i.method


def test_the_commands_print_the_boundary_cases():
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(root / "cli.py"), *args], capture_output=True, text=True,
                              cwd=root, timeout=300)

    out = run("init", "silu", "--sigma-b2", "0.01")
    assert out.returncode == 0 and "largest 1.0027" not in out.stdout
    assert "  unstable     chi_1 = 1 at sigma_w^2 = 3.3125882717" in out.stdout
    assert "runs away from q* on either side" in out.stdout and "  stable from  sigma_b^2 > 0.555143" in out.stdout
    d = json.loads(run("init", "silu", "--sigma-b2", "0.01", "--json").stdout)
    assert d["sigma_w2"] is None and d["stable_edge"]["sigma_b2"] == pytest.approx(0.5551431707, abs=1e-6)
    for key in ("sigma_w2", "q_star", "chi1", "gain", "critical_points", "method"):
        assert key in d
    w4 = run("window", "sigmoid", "--w", "4")
    assert w4.returncode == 0 and "no such input" not in w4.stdout and "a in [0, 0]" in w4.stdout
