"""Per-layer growth lambda of the squared gradient norm with BatchNorm and LayerNorm: the mean-field values (finite
batch B from the batch sphere, B -> infinity, LayerNorm) beside simulated width-n networks, with z-scores.

For each activation: BatchNorm at B = 8, 32, 128 (theory lambda_B, Monte Carlo rate, z = (MC - theory)/s.e.), the
B -> infinity limit E[phi'^2]/Var phi beside the Monte Carlo rates extrapolated in 1/B to 0 (quadratic through the
three batches), and LayerNorm E[phi'^2]/E[phi^2] beside its simulation. The theory is n -> infinity: at width n the
rates differ by O(1/n) (a few thousandths at n = 256), so |z| of a few is the finite-width bias, not an error of
the theory. Then the identity's (B-2)/(B-3) and ReLU's pi/(pi-1) to the digits the method gives.

    python benchmarks/normalisation.py [--width 256] [--depth 16] [--networks 8] [--seed 0] [--acts relu,tanh]
"""
from __future__ import annotations

import argparse
import math
import time
from fractions import Fraction

from analytic.architecture import normalised
from analytic.core.registry import names
from analytic.mc.normalised import simulate_normalised
from analytic.theory.normalisation import batchnorm_lambda, growth, layernorm_lambda, linear_batchnorm_fraction

BATCHES = (8, 32, 128)


def _theory(q) -> str:
    return f"{'withheld':>9}" if q.withheld else f"{q.value:>9.6f}"


def _z(mc: float, se: float, q) -> str:
    return f"{'-':>6}" if q.withheld else f"{(mc - q.value) / se:>6.1f}"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=16)
    p.add_argument("--networks", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--acts", default=None, help="comma-separated activations (default: the catalogue)")
    a = p.parse_args()
    acts = a.acts.split(",") if a.acts else [n for n in names() if n not in ("softmax",)]
    start = time.process_time()
    print(f"width {a.width}, depth {a.depth}, {a.networks} networks, seed {a.seed}; theory n -> infinity; "
          "MC = simulated rate ± s.e.; z = (MC - theory)/s.e.")
    cols = [f"B={b}" for b in BATCHES] + ["B=inf (MC: 1/B->0)", "LayerNorm"]
    print(f"{'activation':<12}" + "".join(f"{c:^34}" for c in cols))
    print(f"{'':<12}" + "".join(f"{'theory':>9}{'MC':>9}{'± s.e.':>10}{'z':>6}" for _ in cols))
    for act in acts:
        row = f"{act:<12}"
        rates = []
        for b in BATCHES:
            lam = batchnorm_lambda(act, architecture=normalised("batch", b))
            s = simulate_normalised(act, "batch", batch=b, width=a.width, depth=a.depth, networks=a.networks,
                                    seed=a.seed)
            rates.append(s.rate)
            row += f"{_theory(lam)}{s.rate.value:>9.4f}{s.rate.error:>10.4f}{_z(s.rate.value, s.rate.error, lam)}"
        x = [1 / b for b in BATCHES]  # Lagrange weights of the value at 1/B = 0
        w = [math.prod(x[j] / (x[j] - x[k]) for j in range(len(x)) if j != k) for k in range(len(x))]
        lim = sum(wk * r.value for wk, r in zip(w, rates))
        lim_se = math.sqrt(sum((wk * r.error) ** 2 for wk, r in zip(w, rates)))
        inf = batchnorm_lambda(act)
        row += f"{_theory(inf)}{lim:>9.4f}{lim_se:>10.4f}{_z(lim, lim_se, inf)}"
        ln = layernorm_lambda(act)
        s = simulate_normalised(act, "layer", batch=8, width=a.width, depth=a.depth, networks=a.networks,
                                seed=a.seed)
        row += f"{_theory(ln)}{s.rate.value:>9.4f}{s.rate.error:>10.4f}{_z(s.rate.value, s.rate.error, ln)}"
        print(row, flush=True)
    print()
    print("identity, finite B (batch sphere) against (B-2)/(B-3):")
    for b in (4, 5, 8, 32, 128, 1024, 4096):
        lam = batchnorm_lambda("identity", architecture=normalised("batch", b))
        exact = linear_batchnorm_fraction(b)
        print(f"  B = {b:>4}: {lam.value:.15f} ± {lam.error:.1e}   exact {exact} = {float(exact):.15f}   "
              f"difference {float(Fraction(lam.value) - exact):.1e}")
    print("relu, lambda_B (batch sphere) -> pi/(pi-1):")
    limit = math.pi / (math.pi - 1)
    for b in (8, 32, 128, 1024, 4096):
        lam = batchnorm_lambda("relu", architecture=normalised("batch", b))
        g = growth(lam)
        print(f"  B = {b:>4}: {lam.value:.12f} ± {lam.error:.1e}   B x (lambda_B - pi/(pi-1)) = "
              f"{b * (lam.value - limit):.6f}   depth of a 1e6 growth {g.growth_depth.value:.4f}")
    inf = batchnorm_lambda("relu")
    print(f"  B = inf: {inf.value:.15f} ± {inf.error:.1e}   pi/(pi-1) = {limit:.15f}   "
          f"DKS 1.466942206924260361: difference {inf.value - 1.466942206924260361:.1e}")
    print(f"CPU {time.process_time() - start:.1f} s")


if __name__ == "__main__":
    main()
