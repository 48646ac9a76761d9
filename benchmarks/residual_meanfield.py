"""Residual mean field against the width-n twin: gradient ratio and gradient correlation across the whole depth.

For relu (He, sigma_w^2 = 2), tanh and sigmoid (sigma_w^2 = 1, sigma_b^2 = 0.05), post and pre branch, alpha = 1
and 1/sqrt(L): the mean field's E|dL/dx_0|^2 / E|dL/dx_L|^2 and gradient correlation of two inputs (c_0 = 0.5)
after L blocks, the twin's mean over networks +- standard error, and z = (twin - mean field) / standard error.
Then the finite-width correction where the mean field is known to need n >> (gamma/chi)^L (relu, post, alpha = 1):
n (R_twin / R_mean_field - 1) at several widths, which stays put when the departure is O(1/n).

    python benchmarks/residual_meanfield.py [--depth 20] [--width 256] [--pairs 4] [--networks 16] [--seed 0]
"""
from __future__ import annotations

import argparse
import time

from analytic.architecture import residual
from analytic.mc.residual_wide import simulate_residual_wide
from analytic.theory.residual_meanfield import residual_mean_field

CASES = (("relu", 2.0, 0.0), ("tanh", 1.0, 0.05), ("sigmoid", 1.0, 0.05))


def _z(mf, twin) -> str:
    if mf.value is None:
        return "withheld"
    return f"{(twin.value - mf.value) / twin.stderr:+.2f}" if twin.stderr > 0 else "-"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--depth", type=int, default=20)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--pairs", type=int, default=4)
    p.add_argument("--networks", type=int, default=16)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    start = time.process_time()
    L = a.depth
    print(f"depth L = {L}, width {a.width}, {a.pairs} input pairs x {a.networks} networks, seed {a.seed}, c_0 = 0.5")
    print(f"{'activation':<11}{'branch':<7}{'alpha':<10}{'R mean field':>14}{'R twin':>22}{'z':>7}"
          f"{'rho mean field':>16}{'rho twin':>20}{'z':>7}")
    for k, (act, sw, sb) in enumerate(CASES):
        for branch in ("post", "pre"):
            for j, alpha in enumerate((1.0, "1/sqrt(r)")):
                arch = residual(alpha, branch)
                r = residual_mean_field(act, sw, sb, arch, depth=L)
                s = simulate_residual_wide(act, sw, sb, arch, depth=L, width=a.width, pairs=a.pairs,
                                           networks=a.networks, seed=a.seed + 10 * k + 2 * j + (branch == "pre"))
                R, rho = r.gradient_ratio[L - 1], r.gradient_correlation[L - 1]
                Rt, rhot = s.gradient_ratio[L - 1], s.gradient_correlation[L - 1]
                shown = "1" if alpha == 1.0 else "1/sqrt(L)"
                print(f"{act:<11}{branch:<7}{shown:<10}{R.value:>14.6g}{f'{Rt.value:.6g} ± {Rt.stderr:.2g}':>22}"
                      f"{_z(R, Rt):>7}{rho.value:>16.6f}{f'{rhot.value:.6f} ± {rhot.stderr:.2g}':>20}{_z(rho, rhot):>7}")
    depth = 10
    r = residual_mean_field("relu", 2.0, 0.0, residual(1.0), depth=depth)
    R = r.gradient_ratio[depth - 1].value
    print(f"\nrelu, post, alpha = 1, He, depth {depth}: mean field R = {R:.6g} (= 2^{depth}), p_L/p_0 = "
          f"{r.length[depth - 1].value:.6g}")
    print(f"{'width':>6}{'R twin':>22}{'n (R_twin/R - 1)':>24}")
    for n in (64, 128, 256, 512, 1024):
        s = simulate_residual_wide("relu", 2.0, 0.0, residual(1.0), depth=depth, width=n, pairs=a.pairs,
                                   networks=a.networks, seed=a.seed + 100)
        t = s.gradient_ratio[depth - 1]
        print(f"{n:>6}{f'{t.value:.6g} ± {t.stderr:.2g}':>22}"
              f"{f'{n * (t.value / R - 1):.3g} ± {n * t.stderr / R:.2g}':>24}")
    print(f"CPU {time.process_time() - start:.1f} s")


if __name__ == "__main__":
    main()
