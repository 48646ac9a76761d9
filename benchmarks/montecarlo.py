"""Benchmark: the chain Monte Carlo against drawing its random numbers alone, against PyTorch autograd, and its
peak memory. A script printing ratios measured in one run, not a test.

(a) MC time / time to draw the same random numbers alone (same generator, same blocks) — goal <= 2;
(b) PyTorch-autograd time / MC time on the same chain (forward pass, then ``backward`` for d y_r / d y_0) —
    goal >= 1.5; skipped when torch is not importable;
(c) peak RSS of a fresh process simulating 10^8 layer-samples (``ru_maxrss``) — goal <= 300 MB; printed beside
    the RSS of a process that only imports the library, for reference.

Every timing is the best of ``--repeat`` runs. Usage:
``python benchmarks/montecarlo.py [--act sigmoid] [--depth 10] [--samples 1000000] [--repeat 3]``
"""
from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytic.distributions import distribution  # noqa: E402
from analytic.montecarlo import BLOCK, simulate_chain  # noqa: E402

GOALS = {"a": 2.0, "b": 1.5, "c": 300.0}
RSS_CASES = [(100, 1_000_000), (10, 10_000_000), (10_000, 10_000)]  # 10^8 layer-samples each
WEIGHTS = "normal(1, 0.5)"

# VmHWM (peak RSS of this process image) rather than ru_maxrss alone: on Linux ru_maxrss survives exec, so a child
# forked from a large parent reports the parent's size; both are printed.
RSS_CODE = """
import re, resource, sys
sys.path.insert(0, {root!r})
from analytic.montecarlo import simulate_chain
{run}
hwm = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def draw_only(depth: int, samples: int, seed: int = 0) -> None:
    """The random numbers the chain uses, drawn the same way (one stream per block of chains), and nothing else."""
    w = distribution(WEIGHTS)
    for index, child in enumerate(np.random.SeedSequence(seed).spawn(-(-samples // BLOCK))):
        b = min(BLOCK, samples - index * BLOCK)
        rng = np.random.default_rng(child.spawn(3)[0])
        w.sample(rng, (depth, b))


def torch_chain(act: str, depth: int, samples: int, threads: int) -> tuple[float, float]:
    """Forward and backward through the chain with autograd; returns (seconds, mean of d y_r / d y_0)."""
    import torch

    torch.set_num_threads(threads)
    fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[act]
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    x = torch.ones(samples, dtype=torch.float64, requires_grad=True)
    w = torch.normal(1.0, 0.5, (depth, samples), generator=gen, dtype=torch.float64)
    y = x
    for t in range(depth):
        y = fn(w[t] * y)
    y.sum().backward()
    grad = x.grad
    seconds = time.perf_counter() - start
    return seconds, float(grad.mean())


def peak_rss_mb(run: str) -> tuple[float, float]:
    """(VmHWM, ru_maxrss) of a fresh process that runs ``run``, in MB (both are reported in KiB)."""
    out = subprocess.run([sys.executable, "-c", RSS_CODE.format(root=str(ROOT), run=run)], capture_output=True,
                         text=True, check=True)
    hwm, maxrss = out.stdout.strip().splitlines()[-1].split()
    return int(hwm) / 1024, int(maxrss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", default="sigmoid", choices=["sigmoid", "tanh", "relu"])
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    # memory first, while this process is small (see RSS_CODE)
    rss = [peak_rss_mb("")[0]] + [
        peak_rss_mb(f"simulate_chain({args.act!r}, {d}, {WEIGHTS!r}, samples={n}, progress=False)")
        for d, n in RSS_CASES]
    n = args.depth * args.samples
    print(f"chain {args.act}, depth {args.depth}, {args.samples} chains, weights {WEIGHTS}: {n:.3g} layer-samples")

    simulate_chain(args.act, 2, WEIGHTS, samples=1000, progress=False)  # compile the NumPy forms once
    mc = best(lambda: simulate_chain(args.act, args.depth, WEIGHTS, samples=args.samples, progress=False),
              args.repeat)
    draw = best(lambda: draw_only(args.depth, args.samples), args.repeat)
    print(f"(a) Monte Carlo {mc:.3f} s ({mc / n * 1e9:.1f} ns per layer-sample); drawing the random numbers "
          f"alone {draw:.3f} s; ratio {mc / draw:.2f} (goal <= {GOALS['a']:g})")

    if importlib.util.find_spec("torch") is None:
        print("(b) skipped: torch is not importable")
    else:
        import torch

        sim = simulate_chain(args.act, args.depth, WEIGHTS, samples=args.samples, progress=False)
        for threads in (1, torch.get_num_threads()):
            ts = [torch_chain(args.act, args.depth, args.samples, threads) for _ in range(args.repeat)]
            t, mean = min(ts)
            print(f"(b) PyTorch {torch.__version__} autograd, {threads} thread(s): {t:.3f} s; ratio to Monte Carlo "
                  f"{t / mc:.2f} (goal >= {GOALS['b']:g}); its mean gradient {mean:.6g} vs Monte Carlo "
                  f"{sim.mean.value:.6g} ± {sim.mean.stderr:.2g}")

    print(f"(c) peak RSS for 1e+08 layer-samples, each in a fresh process (goal <= {GOALS['c']:g} MB); "
          f"importing the library alone: {rss[0]:.0f} MB")
    for (depth, samples), (hwm, maxrss) in zip(RSS_CASES, rss[1:]):
        print(f"    depth {depth} x {samples} chains: {hwm:.0f} MB (ru_maxrss {maxrss:.0f} MB)")


if __name__ == "__main__":
    main()
