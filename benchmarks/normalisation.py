"""Per-layer growth lambda of the squared gradient norm with BatchNorm and LayerNorm: simulated width-n networks
against the mean-field values.

Columns: BatchNorm at B = 8, 32, 128 (Monte Carlo rate +- standard error, and its z-score against the B -> infinity
theory, or against the exact (B-2)/(B-3) for the identity), the B -> infinity theory with the depth at which
gradients grow by 10^6, and LayerNorm (theory, Monte Carlo, z). The finite-B columns show how far lambda(B) is
from its limit; finite-width corrections are O(1/n).

    python benchmarks/normalisation.py [--width 256] [--depth 16] [--networks 8] [--seed 0]
"""
from __future__ import annotations

import argparse
import math
import time

from analytic.mc.normalised import simulate_normalised
from analytic.theory.normalisation import (batchnorm_lambda, growth, layernorm_lambda, linear_batchnorm_lambda)

ACTS = ("relu", "tanh", "sigmoid", "gelu", "identity")
BATCHES = (8, 32, 128)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--depth", type=int, default=16)
    p.add_argument("--networks", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    start = time.process_time()
    print(f"width {a.width}, depth {a.depth}, {a.networks} networks, seed {a.seed}; "
          "z = (Monte Carlo - reference) / standard error")
    head = "".join(f"{f'BN B={b}':>17}{'z':>7}" for b in BATCHES)
    print(f"{'activation':<10}{head}{'1/B -> 0':>17}{'z':>7}{'BN B=inf':>11}{'depth 1e6':>11}{'LN theory':>11}"
          f"{'LN MC':>17}{'z':>7}")
    for act in ACTS:
        inf = batchnorm_lambda(act)
        row = f"{act:<10}"
        rates = []
        for b in BATCHES:
            s = simulate_normalised(act, "batch", batch=b, width=a.width, depth=a.depth, networks=a.networks,
                                    seed=a.seed)
            ref = linear_batchnorm_lambda(b).value if act == "identity" else inf.value
            row += f"{s.rate.value:>9.4f} ± {s.rate.error:.4f}{(s.rate.value - ref) / s.rate.error:>7.1f}"
            rates.append(s.rate)
        x = [1 / b for b in BATCHES]  # Lagrange weights of the value at x = 0
        w = [math.prod(x[j] / (x[j] - x[k]) for j in range(len(x)) if j != k) for k in range(len(x))]
        lim = sum(wk * r.value for wk, r in zip(w, rates))
        lim_se = math.sqrt(sum((wk * r.error) ** 2 for wk, r in zip(w, rates)))
        row += f"{lim:>9.4f} ± {lim_se:.4f}{(lim - inf.value) / lim_se:>7.1f}"
        g = growth(inf)
        depth = f"{g.growth_depth.value:.1f}" if g.growth_depth is not None else "none"
        ln = layernorm_lambda(act)
        s = simulate_normalised(act, "layer", batch=8, width=a.width, depth=a.depth, networks=a.networks,
                                seed=a.seed)
        row += (f"{inf.value:>11.6f}{depth:>11}{ln.value:>11.6f}{s.rate.value:>9.4f} ± {s.rate.error:.4f}"
                f"{(s.rate.value - ln.value) / s.rate.error:>7.1f}")
        print(row, flush=True)
    print("identity reference at finite B: (B-2)/(B-3) = "
          + ", ".join(f"{linear_batchnorm_lambda(b).value:.4f}" for b in BATCHES))
    print(f"ReLU B=inf - pi/(pi-1) = {batchnorm_lambda('relu').value - math.pi / (math.pi - 1):.1e}")
    print(f"CPU {time.process_time() - start:.1f} s")


if __name__ == "__main__":
    main()
