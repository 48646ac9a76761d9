"""Benchmark: tasks per second of one sweep, serial (in-process) vs a Dask LocalCluster of 2 worker processes.

The sweep has 32 tasks (tanh and ReLU × 4 weight variances × 2 bias variances × depth 50 × chain of 100 000
samples and width 128).
Prints tasks per second serial and on the cluster, for a cold first sweep (imports, compiled NumPy forms and
quadrature caches are built in every process) and a warm second sweep of the same points with another seed, the
ratios, the cluster's start-up time, and whether the tables are byte-identical (they must be: seeds come from
the spec, not from the scheduling).

The serial run uses one BLAS thread, as Dask's workers do (``OPENBLAS_NUM_THREADS=1`` …): with the library's
default thread count, the small matrix products of the wide net can be many times slower on a busy machine
(``--blas-threads 0`` shows it).

Usage: ``python benchmarks/sweep.py [--workers 2] [--samples 100000] [--blas-threads 1]``
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="BLAS threads of the serial run (default 1, as Dask gives each worker; 0: the "
                             "library default)")
    args = parser.parse_args()
    if args.blas_threads > 0:  # before NumPy is imported, like Dask's nanny does for its workers
        for name in BLAS_VARIABLES:
            os.environ[name] = str(args.blas_threads)
    from analytic.sweep import SweepSpec, local_cluster, run_sweep

    def spec_of(seed: int) -> SweepSpec:
        return SweepSpec.from_mapping({"activations": ["tanh", "relu"],
                                       "sigma_w2": {"start": 0.5, "stop": 3.0, "num": 4}, "sigma_b2": [0.0, 0.05],
                                       "depth": [50], "width": [1, 128], "samples": args.samples, "batch": 64,
                                       "networks": 8, "seed": seed})

    cold, warm = spec_of(1), spec_of(2)  # same points, new random numbers: the second run has warm caches only
    n = cold.n_tasks
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "library default")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"sweep: {n} tasks, {os.cpu_count()} CPUs visible, load average {load:.1f}, "
          f"BLAS threads of the serial run: {blas}")
    with tempfile.TemporaryDirectory() as tmp:
        def timed(spec: SweepSpec, name: str, **kwargs) -> float:
            start = time.perf_counter()
            run_sweep(spec, Path(tmp, name), **kwargs)
            return time.perf_counter() - start

        serial = timed(cold, "serial-cold", serial=True), timed(warm, "serial-warm", serial=True)

        start = time.perf_counter()
        cluster = local_cluster(args.workers)
        startup = time.perf_counter() - start
        try:
            address = cluster.scheduler_address
            dask = timed(cold, "dask-cold", scheduler=address), timed(warm, "dask-warm", scheduler=address)
        finally:
            cluster.close()
        print(f"LocalCluster start-up: {startup:.2f} s ({args.workers} worker processes, 1 thread each)")
        print(f"{'':22s}{'serial':>16s}{'LocalCluster':>18s}{'ratio':>8s}")
        for label, s_, d_ in (("cold (first sweep)", serial[0], dask[0]), ("warm (second sweep)", serial[1], dask[1])):
            print(f"{label:22s}{n / s_:8.2f} tasks/s{n / d_:10.2f} tasks/s{s_ / d_:8.2f}")
        print(f"{'cold, with start-up':22s}{n / serial[0]:8.2f} tasks/s{n / (dask[0] + startup):10.2f} tasks/s"
              f"{serial[0] / (dask[0] + startup):8.2f}")
        same = all(Path(tmp, f"serial-{k}", f).read_bytes() == Path(tmp, f"dask-{k}", f).read_bytes()
                   for k in ("cold", "warm") for f in ("results.json", "results.csv"))
        print(f"tables byte-identical (serial vs cluster): {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main()
