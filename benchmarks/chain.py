"""Exact-chain timing and the catalogue table: exact chain vs independence approximation vs Monte Carlo.

Run: ``python benchmarks/chain.py [--samples N]``. Prints, per catalogue activation, the time of
:func:`analytic.theory.chain.exact_chain` at r = 10 and r = 100 (both resolutions, one core, cache cleared), then a
table at r = 10, w ~ normal(1, 0.5), x = 1, no bias: the exact E[prod] with its error, the independence
approximation and its ratio to the exact value, and a seeded Monte Carlo of the same chain with its z-score.
"""
from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from analytic import names  # noqa: E402
from analytic.theory.independence import independence_product  # noqa: E402
from analytic.mc import simulate_chain  # noqa: E402
from analytic.theory import chain, transfer  # noqa: E402

WEIGHTS = "normal(1, 0.5)"


def _timed(act: str, depth: int) -> tuple[float, object]:
    chain._exact_chain.cache_clear()
    transfer._build.cache_clear()
    start = time.perf_counter()
    c = chain.exact_chain(act, depth, WEIGHTS)
    return time.perf_counter() - start, c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    acts = [a for a in names() if a != "softmax"]
    print(f"load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'activation':13s} {'r=10 s':>7s} {'r=100 s':>8s}  method")
    rows = []
    for a in acts:
        t10, c = _timed(a, 10)
        t100, _ = _timed(a, 100)
        print(f"{a:13s} {t10:7.2f} {t100:8.2f}  {c.method}")
        rows.append((a, c))
    print(f"\nr = 10, w ~ {WEIGHTS}, x = 1, no bias; Monte Carlo: {args.samples} chains, seed 0")
    print(f"{'activation':13s} {'exact E[prod]':>14s} {'rel.err':>8s} {'independence':>13s} {'ratio':>7s} "
          f"{'Monte Carlo':>12s} {'stderr':>9s} {'z':>6s}")
    for a, c in rows:
        g = independence_product(a, 10, WEIGHTS)
        s = simulate_chain(a, 10, WEIGHTS, samples=args.samples, seed=0, progress=False)
        e = c["mean"]
        if e.withheld:  # no exact value to compare with
            print(f"{a:13s} {'not converged':>14s} {e.relative_error:8.1e} {g.mean:13.6g} {'-':>7s} "
                  f"{s.mean.value:12.6g} {s.mean.stderr:9.2g} {'-':>6s}")
            continue
        ratio = g.mean / e.value if e.value else math.nan
        z = (s.mean.value - e.value) / math.hypot(s.mean.stderr, e.error)
        print(f"{a:13s} {e.value:14.8g} {e.relative_error:8.1e} {g.mean:13.6g} {ratio:7.3f} "
              f"{s.mean.value:12.6g} {s.mean.stderr:9.2g} {z:6.2f}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
