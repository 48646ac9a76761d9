"""The residual chain at r = 50: exact values (or withheld, with the reason) against Monte Carlo, with z-scores.

Run: ``python benchmarks/residual.py [--samples N] [--all | --act A,B]``. For each activation x branch (post, pre) x alpha
(1, 1/sqrt(r)) x weights (normal(0, 1), normal(1, 0.5)), no bias, x = 1: :func:`analytic.compare.simulate` with
``architecture=residual(alpha, branch)`` runs the exact residual chain and a seeded Monte Carlo of the same network
(N chains, default 1e5), and the table prints, per quantity, the exact value (``withheld`` where it missed its
tolerance), the simulated value and the z-score. By default the subset sigmoid, tanh, relu, gelu, silu, elu
(``--all``: the whole catalogue but softmax, which takes a vector).
"""
from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from analytic import names  # noqa: E402
from analytic.architecture import residual  # noqa: E402
from analytic.compare import simulate  # noqa: E402

DEPTH = 50
SUBSET = ("sigmoid", "tanh", "relu", "gelu", "silu", "elu")
WEIGHTS = ("normal(0, 1)", "normal(1, 0.5)")
QUANTITIES = (("mean", "E[prod]"), ("mean_abs", "E|prod|"), ("mean_square", "E[prod^2]"), ("log_mean", "E log|prod|"))


def _cell(check) -> str:
    if check is None:
        return "-"
    exact = "withheld" if check.withheld else f"{check.analytic:.6g}"
    z = "" if check.withheld else f" z={check.z:+.2f}" + ("" if check.reliable else "?")
    return f"{exact} | {check.simulated:.6g}{z}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--all", action="store_true", help="the whole catalogue (slow)")
    parser.add_argument("--act", help="comma-separated activations (instead of the subset)")
    args = parser.parse_args()
    acts = [a for a in names() if a != "softmax"] if args.all else list(SUBSET)
    if args.act:
        acts = [a.strip() for a in args.act.split(",") if a.strip()]
    print(f"load average at start: {os.getloadavg()[0]:.2f}; r = {DEPTH}, x = 1, no bias, {args.samples} chains, "
          "seed 0; each cell: exact | simulated z "
          "(? = not decisive: heavy tails or too few samples)")
    header = ["activation", "branch", "alpha", "weights", "method"] + [label for _, label in QUANTITIES] + ["s"]
    print("\t".join(header))
    reasons = []
    start_all = time.perf_counter()
    for act in acts:
        for branch in ("post", "pre"):
            for alpha in ("1", "1/sqrt(r)"):
                for weights in WEIGHTS:
                    start = time.perf_counter()
                    s = simulate(act, DEPTH, weights, samples=args.samples, seed=0, progress=False,
                                 architecture=residual(alpha, branch))
                    method = s.analytic.get("method", "-")
                    cells = [_cell(s.check(q)) for q, _ in QUANTITIES]
                    print("\t".join([act, branch, alpha, weights, method] + cells
                                    + [f"{time.perf_counter() - start:.0f}"]), flush=True)
                    for q, _ in QUANTITIES:
                        c = s.check(q)
                        if c is not None and c.withheld:
                            reasons.append(f"{act} {branch} {alpha} {weights} {q}: "
                                           f"{s.analytic.get(q, {}).get('reason')}")
                    if any(c.reliable and not c.agree for c in s.checks):
                        print(f"  verdict: {s.verdict}")
    print(f"total {time.perf_counter() - start_all:.0f} s")
    if reasons:
        print("withheld:")
        for r in reasons:
            print("  " + r)


if __name__ == "__main__":
    main()
