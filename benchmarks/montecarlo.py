"""Benchmark: the chain Monte Carlo against drawing its random numbers, against PyTorch autograd, as a whole
process, and its peak memory. A script printing ratios measured in one run, not a test.

For each activation (sigmoid, tanh, relu and the user formula ``x/(1+exp(-x))``), chain of depth ``--depth``,
weights normal(1, 0.5), x = 1, float64 everywhere:

(a) in-process Monte Carlo time (``simulate_chain``) / time to draw the same normals alone on one thread (same
    generator, same blocks and rows), with 1 thread and with 2 — goal <= 1.0 on both cores, <= 1.6 on one; also
    the CPU-time ratios and the speed-up a second thread gives the Monte Carlo and the drawing alone (on a shared
    machine the latter shows how much of a second core there is to have);
(b) PyTorch autograd time (forward pass, then ``backward`` for d y_r / d y_0; best of 1 and 2 threads) / Monte
    Carlo time on 2 threads, same chain and sample count — goal >= 2; skipped when torch is not importable;
(c) whole-process ``python cli.py simulate ... --json`` time / whole-process time of drawing the same normals
    (``python -c``: import NumPy, draw), for 10^8 layer-samples — goal <= 2;
(d) peak RSS (VmHWM) of that ``simulate`` process — goal <= 300 MB.

Then wide networks (``simulate_wide``, relu, width 256, depth 20, batch 64, 16 networks): networks per second
with 1 and 2 threads (BLAS pinned to one thread per network).

Every in-process timing is the best of ``--repeat`` runs; the whole-process ones the best of 2. The load
average is printed first and last: the machine may be shared. Usage:
``python benchmarks/montecarlo.py [--act sigmoid ...] [--depth 10] [--samples 1000000] [--repeat 3]``
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytic.distributions import distribution  # noqa: E402
from analytic.mc import simulate_chain, simulate_wide  # noqa: E402
from analytic.mc.chain import BLOCK, ROWS  # noqa: E402

GOALS = {"a2": 1.0, "a1": 1.6, "b": 2.0, "c": 2.0, "d": 300.0}
ACTS = ["sigmoid", "tanh", "relu", "x/(1+exp(-x))"]
WEIGHTS = "normal(1, 0.5)"
BIG = (10, 10_000_000)  # depth x chains = 10^8 layer-samples for (c) and (d)

DRAW_CODE = """
import numpy as np
w_mu, w_sigma, depth, samples, block, rows = 1.0, 0.5, {depth}, {samples}, {block}, {rows}
for index, child in enumerate(np.random.SeedSequence(0).spawn(-(-samples // block))):
    b = min(block, samples - index * block)
    rng = np.random.default_rng(child.spawn(3)[0])
    for done in range(0, depth, rows):
        rng.normal(w_mu, w_sigma, (min(rows, depth - done), b))
"""
# VmHWM of the simulate process itself, printed on stderr at exit (ru_maxrss would include a forking parent)
SIMULATE_CODE = """
import re, sys
sys.path.insert(0, {root!r})
from analytic.cli import main
status = main({argv!r})
print("VmHWM", re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1), file=sys.stderr)
raise SystemExit(status)
"""


def best(fn, repeat: int) -> float:
    return best_cpu(fn, repeat)[0]


def best_cpu(fn, repeat: int) -> tuple[float, float]:
    """(best wall-clock time, CPU time of this process, all threads, in that run)."""
    times = []
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    return min(times)


def draw_only(depth: int, samples: int, seed: int = 0, threads: int = 1) -> None:
    """The weights the chain draws, drawn the same way (one stream per block of chains, ROWS layers at a time),
    the blocks spread over ``threads`` threads."""
    w = distribution(WEIGHTS)
    children = list(enumerate(np.random.SeedSequence(seed).spawn(-(-samples // BLOCK))))

    def work(part):
        for index, child in part:
            b = min(BLOCK, samples - index * BLOCK)
            rng = np.random.default_rng(child.spawn(3)[0])
            for done in range(0, depth, ROWS):
                w.sample(rng, (min(ROWS, depth - done), b))

    if threads == 1:
        work(children)
        return
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, [children[k::threads] for k in range(threads)]))


def torch_chain(act: str, depth: int, samples: int, threads: int) -> tuple[float, float]:
    """Forward and backward through the chain with autograd; returns (seconds, mean of d y_r / d y_0)."""
    import torch

    torch.set_num_threads(threads)
    fn = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu,
          "x/(1+exp(-x))": lambda v: v / (1 + torch.exp(-v))}[act]
    gen = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    x = torch.ones(samples, dtype=torch.float64, requires_grad=True)
    w = torch.normal(1.0, 0.5, (depth, samples), generator=gen, dtype=torch.float64)
    y = x
    for t in range(depth):
        y = fn(w[t] * y)
    y.sum().backward()
    grad = x.grad
    return time.perf_counter() - start, float(grad.mean())


def whole_process(code: str) -> tuple[float, str]:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - start, out.stderr


def load() -> str:
    return "load average " + ", ".join(f"{v:.2f}" for v in os.getloadavg())


def run(act: str, depth: int, samples: int, repeat: int, rows: list) -> None:
    n = depth * samples
    simulate_chain(act, 2, WEIGHTS, samples=1000, progress=False)  # compile the NumPy forms once
    draw, draw_cpu = best_cpu(lambda: draw_only(depth, samples), repeat)
    timed = {k: best_cpu(lambda: simulate_chain(act, depth, WEIGHTS, samples=samples, progress=False, threads=k),
                         repeat) for k in (1, 2)}
    mc = {k: v[0] for k, v in timed.items()}
    print(f"{act}: {n:.3g} layer-samples; drawing the normals alone {draw:.3f} s ({draw / n * 1e9:.2f} ns each)")
    print(f"  (a) Monte Carlo 1 thread {mc[1]:.3f} s, ratio {mc[1] / draw:.2f} (goal <= {GOALS['a1']:g}); "
          f"2 threads {mc[2]:.3f} s, ratio {mc[2] / draw:.2f} (goal <= {GOALS['a2']:g})")
    draw2 = best(lambda: draw_only(depth, samples, threads=2), repeat)
    print(f"      CPU time (all threads) / drawing's CPU time: 1 thread {timed[1][1] / draw_cpu:.2f}, 2 threads "
          f"{timed[2][1] / draw_cpu:.2f}; speed-up from a second thread: Monte Carlo {mc[1] / mc[2]:.2f}, "
          f"drawing alone {draw / draw2:.2f} (what this machine gives a second thread now)")
    b = None
    if importlib.util.find_spec("torch") is None:
        print("  (b) skipped: torch is not importable")
    else:
        import torch

        sim = simulate_chain(act, depth, WEIGHTS, samples=samples, progress=False)
        ts = {k: min(torch_chain(act, depth, samples, k) for _ in range(repeat)) for k in (1, 2)}
        k, (t, mean) = min(ts.items(), key=lambda kv: kv[1][0])
        b = t / mc[2]
        print(f"  (b) PyTorch {torch.__version__} autograd, 1 thread {ts[1][0]:.3f} s, 2 threads {ts[2][0]:.3f} s; "
              f"best / Monte Carlo (2 threads) {b:.2f} (goal >= {GOALS['b']:g}); its mean gradient {mean:.6g} vs "
              f"Monte Carlo {sim.mean.value:.6g} ± {sim.mean.stderr:.2g}")
    d_big, s_big = BIG
    rng_s = min(whole_process(DRAW_CODE.format(depth=d_big, samples=s_big, block=BLOCK, rows=ROWS))[0]
                for _ in range(2))
    argv = ["simulate", act, "--depth", str(d_big), "--weights", WEIGHTS, "--samples", str(s_big), "--json",
            "--quiet"]
    runs = [whole_process(SIMULATE_CODE.format(root=str(ROOT), argv=argv)) for _ in range(2)]
    sim_s = min(r[0] for r in runs)
    rss = max(int(r[1].split("VmHWM")[-1].split()[0]) for r in runs) / 1024
    print(f"  (c) whole process, {d_big * s_big:.0e} layer-samples: simulate {sim_s:.2f} s, drawing alone "
          f"{rng_s:.2f} s, ratio {sim_s / rng_s:.2f} (goal <= {GOALS['c']:g})")
    print(f"  (d) peak RSS of that simulate process {rss:.0f} MB (goal <= {GOALS['d']:g} MB)")
    rows.append((act, mc[1] / draw, mc[2] / draw, b, sim_s / rng_s, rss))


def wide(repeat: int) -> None:
    kwargs = dict(act="relu", depth=20, width=256, weights="he(256)", batch=64, networks=16, seed=0)
    simulate_wide(**{**kwargs, "networks": 2})
    for threads in (1, 2):
        t = best(lambda: simulate_wide(**kwargs, threads=threads), repeat)
        print(f"wide relu, width 256, depth 20, batch 64: {kwargs['networks'] / t:.1f} networks per second "
              f"with {threads} thread(s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--act", nargs="+", default=ACTS)
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{load()}; {len(os.sched_getaffinity(0))} cores; weights {WEIGHTS}, depth {args.depth}, "
          f"{args.samples} chains in process")
    rows: list = []
    for act in args.act:
        run(act, args.depth, args.samples, args.repeat, rows)
    wide(args.repeat)
    print(f"\nsummary ({load()}):")
    print("| activation | (a) 1 thread (<= 1.6) | (a) 2 threads (<= 1.0) | (b) PyTorch / MC (>= 2) | "
          "(c) whole process (<= 2) | (d) peak RSS (<= 300 MB) |")
    print("|---|---|---|---|---|---|")
    for act, a1, a2, b, c, d in rows:
        print(f"| {act} | {a1:.2f} | {a2:.2f} | {'-' if b is None else f'{b:.2f}'} | {c:.2f} | {d:.0f} MB |")


if __name__ == "__main__":
    main()
