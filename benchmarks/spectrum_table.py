"""Large-width moments of the spectrum of J J^T against sampled networks, and the finite-width ReLU table.

Prints two tables (not timed): m1 and the variance of the spectrum at criticality for linear, ReLU, tanh and
hard-tanh networks (tanh and hard-tanh at sigma_b^2 = 1e-3 so that q* > 0), Gaussian and orthogonal weights,
depths 8 and 32, analytic (n -> infinity) beside Monte Carlo at width n with standard errors over networks;
and the exact finite-width law of ||J u||^2 for ReLU (depth 10, sigma_w^2 = 2) at n = 8, 16, 64, 256 beside
the large-width approximation and real networks.

    python benchmarks/spectrum_table.py [--width 400] [--networks 8]
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from analytic.theory.criticality import critical_sigma_w2
from analytic.theory.finite_width import finite_width
from analytic.theory.sampled_spectrum import sample_spectrum
from analytic.theory.spectral_moments import spectrum_moments

ACTS = (("linear", "identity", 0.0), ("relu", "relu", 0.0), ("tanh", "tanh", 1e-3), ("hardtanh", "hardtanh", 1e-3))


def spectrum_table(width: int, networks: int) -> None:
    print(f"| act | weights | L | m1 (n=inf) | m1 MC (n={width}) | variance (n=inf) | variance MC | z |")
    print("|---|---|---|---|---|---|---|---|")
    for label, act, sb in ACTS:
        sw = critical_sigma_w2(act, sb)
        for weights in ("gaussian", "orthogonal"):
            for L in (8, 32):
                m = spectrum_moments(act, L, sw, sb, weights)
                s = sample_spectrum(act, L, sw, width, sb, weights, networks=networks, seed=L)
                z = (s.variance.value - m.variance) / s.variance.stderr if s.variance.stderr > 0 else 0.0
                print(f"| {label} | {weights} | {L} | {m.m1:.4g} | {s.m1.value:.4g} ± {s.m1.stderr:.2g} | "
                      f"{m.variance:.4g} | {s.variance.value:.4g} ± {s.variance.stderr:.2g} | {z:+.2f} |", flush=True)


def _relu_norms(n: int, depth: int, nets: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(0, nets, 500):
        k = min(500, nets - len(out))
        x = rng.standard_normal((k, n, 1))
        t = np.zeros((k, n, 1))
        t[:, 0, 0] = 1.0
        for _ in range(depth):
            W = rng.normal(0.0, math.sqrt(2.0 / n), (k, n, n))
            v, t = W @ x, W @ t
            d = (v > 0).astype(float)
            x, t = d * v, d * t
        out.extend((t[:, :, 0] ** 2).sum(axis=1))
    return np.array(out)


def finite_width_table(depth: int = 10) -> None:
    print(f"\nReLU, sigma_w^2 = 2, depth {depth}: exact / large-width approximation / Monte Carlo (real networks)")
    print("| n | E ln||Ju||^2 | Var ln||Ju||^2 | E||Ju||^4 | P(dead) | median |")
    print("|---|---|---|---|---|---|")
    for n in (8, 16, 64, 256):
        fw = finite_width("relu", depth, 2.0, n)
        nets = {8: 20000, 16: 20000, 64: 4000, 256: 600}[n]
        s = _relu_norms(n, depth, nets, seed=n)
        logs = np.log(s[s > 0])
        se = lambda v: v.std(ddof=1) / math.sqrt(len(v))  # noqa: E731
        cells = [f"{fw.log_mean.exact:.4f} / {fw.log_mean.large_width:.4f} / {logs.mean():.4f} ± {se(logs):.2g}",
                 f"{fw.log_variance.exact:.4f} / {fw.log_variance.large_width:.4f} / {logs.var(ddof=1):.4f}",
                 f"{fw.mean_square.exact:.4g} / {fw.mean_square.large_width:.4g} / {(s * s).mean():.4g} ± "
                 f"{se(s * s):.2g}",
                 f"{fw.dead_probability.exact:.3g} / {fw.dead_probability.large_width:.3g} / {np.mean(s == 0):.3g}",
                 f"{fw.median.exact:.4f} / {fw.median.large_width:.4f} / {np.median(s):.4f}"]
        print(f"| {n} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--width", type=int, default=400)
    ap.add_argument("--networks", type=int, default=8)
    a = ap.parse_args()
    finite_width_table()
    spectrum_table(a.width, a.networks)
