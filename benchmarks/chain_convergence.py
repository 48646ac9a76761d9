"""Does the exact chain converge at every depth, and what does it cost? The catalogue at r = 100.

Run: ``python benchmarks/chain_convergence.py [--depth 100] [--only tanh,gelu] [--weights SPEC ...] [--mc N]``.
For each catalogue activation (softmax aside) × weight law × {no bias, bias normal(0, 0.5)} it prints either
"converged at every depth" or the first depth at which some quantity misses its tolerance and which ones, the
number of refinements (levels of :data:`analytic.theory.accuracy.SCHEDULE` beyond the first pair), and the
CPU seconds of :func:`analytic.theory.chain.exact_chain` (one core, caches cleared; CPU time, since the machine
is shared and wall time measures the other users). With ``--mc N``, the ratio of an N-chain Monte Carlo
(:func:`analytic.mc.simulate_chain`, seed 0) to the exact E|prod| and E[prod^2], and its z-score on E|prod|.
"""
from __future__ import annotations

import argparse
import math
import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from analytic import names  # noqa: E402
from analytic.mc import simulate_chain  # noqa: E402
from analytic.quantities import NAMES  # noqa: E402
from analytic.theory import chain, transfer  # noqa: E402

WEIGHTS = ("normal(1, 0.5)", "normal(0, 1)", "normal(0, 1.4142135623730951)", "uniform(-1, 2)")
BIASES = (None, "normal(0, 0.5)")


def _status(c) -> str:
    first = chain._first_unconverged(c.by_depth)
    if first is None:
        return "converged at every depth"
    depth, bad = first
    return f"NOT converged from depth {depth}: {', '.join(bad)}"


def _run(act: str, depth: int, weights: str, bias: str | None):
    chain._exact_chain.cache_clear()
    transfer._build.cache_clear()
    start = time.process_time()
    c = chain.exact_chain(act, depth, weights, bias=bias)
    return c, time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--depth", type=int, default=100)
    parser.add_argument("--only", default="", help="comma-separated activations (default: the catalogue)")
    parser.add_argument("--weights", nargs="*", default=list(WEIGHTS))
    parser.add_argument("--no-bias-only", action="store_true")
    parser.add_argument("--mc", type=int, default=0, help="Monte Carlo chains for the ratio column (0: none)")
    args = parser.parse_args()
    acts = [a for a in (args.only.split(",") if args.only else names()) if a != "softmax"]
    biases = (None,) if args.no_bias_only else BIASES
    print(f"r = {args.depth}, x = 1; load average at start: {os.getloadavg()[0]:.2f}")
    print(f"{'activation':13s} {'weights':30s} {'bias':15s} {'cpu s':>6s} {'ref':>3s}  status"
          + ("   MC/exact E|prod|, E[prod^2], z" if args.mc else ""))
    total, worst, unconverged = 0, (0.0, ""), []
    for a in acts:
        for w in args.weights:
            for b in biases:
                c, seconds = _run(a, args.depth, w, b)
                status = _status(c) if c.method == "transfer operator" else f"{_status(c)} (closed form)"
                line = f"{a:13s} {w:30s} {str(b):15s} {seconds:6.2f} {c.refinements:3d}  {status}"
                if args.mc:
                    s = simulate_chain(a, args.depth, w, samples=args.mc, seed=0, bias=b, progress=False)
                    e1, e2 = c["mean_abs"], c["mean_square"]
                    r1 = s.mean_abs.value / e1.value if e1.value else math.nan
                    r2 = s.mean_square.value / e2.value if e2.value else math.nan
                    z = (s.mean_abs.value - e1.value) / math.hypot(s.mean_abs.stderr, e1.error)
                    line += f"   {r1:.4f} {r2:.4f} {z:+.2f}"
                print(line, flush=True)
                total += 1
                worst = max(worst, (seconds, f"{a} {w} {b}"))
                if not all(bool(c.by_depth[q].converged.all()) for q in NAMES):
                    unconverged.append(f"{a} {w} {b}")
    print(f"\n{total - len(unconverged)} of {total} converged at every depth; slowest {worst[0]:.2f} s ({worst[1]})")
    for u in unconverged:
        print(f"  not converged: {u}")
    print(f"load average at end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
