"""Benchmark: proved bounds of phi' for the whole catalogue, cold. A script printing times measured in one run,
not a test.

(a) every catalogue entry through ``python cli.py bound NAME --json`` in its own fresh process (interpreter start,
    imports and the proof each time): the time of each and the total;
(b) every entry in one fresh process, ``analytic.bounds.bound(name)`` one after the other (imports timed apart):
    wall and CPU time of each and the totals — goal <= 5 s.

The machine's load average (1, 5, 15 minutes) is printed before and after: wall times from runs at different
loads are not comparable, CPU times roughly are.

Usage: ``python benchmarks/bounds.py [--of dphi|phi] [--skip-cli]``
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL = 5.0

IN_PROCESS = """
import json, sys, time
sys.path.insert(0, {root!r})
t0 = time.perf_counter()
from analytic.core.activations import names
from analytic.bounds import bound
imports = time.perf_counter() - t0
times, cpu = {{}}, {{}}
for name in names():
    t, c = time.perf_counter(), time.process_time()
    bound(name, of={of!r})
    times[name] = time.perf_counter() - t
    cpu[name] = time.process_time() - c
print(json.dumps({{"imports": imports, "times": times, "cpu": cpu}}))
"""


def names() -> list[str]:
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from analytic.core.activations import names; print(' '.join(names()))"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--of", choices=["dphi", "phi"], default="dphi")
    parser.add_argument("--skip-cli", action="store_true", help="only the in-process measurement")
    args = parser.parse_args()
    print(f"load average before: {_load()}")
    catalogue = names()

    if not args.skip_cli:
        print(f"(a) python cli.py bound NAME --of {args.of} --json, one fresh process each")
        total = 0.0
        for name in catalogue:
            t = time.perf_counter()
            out = subprocess.run([sys.executable, str(ROOT / "cli.py"), "bound", name, "--of", args.of, "--json"],
                                 capture_output=True, text=True, cwd=ROOT)
            dt = time.perf_counter() - t
            total += dt
            status = "ok" if out.returncode == 0 and json.loads(out.stdout).get("sup") else f"FAILED: {out.stderr.strip()}"
            print(f"    {name:14s} {dt:6.2f} s  {status}")
        print(f"    total          {total:6.2f} s  ({len(catalogue)} processes)")

    print(f"(b) bound(name, of={args.of!r}) for every entry in one fresh process")
    out = subprocess.run([sys.executable, "-c", IN_PROCESS.format(root=str(ROOT), of=args.of)],
                         capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    print(f"    {'':14s} {'wall':>6s}    {'CPU':>6s}")
    for name, dt in data["times"].items():
        print(f"    {name:14s} {dt:6.2f} s  {data['cpu'][name]:6.2f} s")
    total, cpu = sum(data["times"].values()), sum(data["cpu"].values())
    print(f"    imports        {data['imports']:6.2f} s")
    print(f"    total          {total:6.2f} s  {cpu:6.2f} s  (goal <= {GOAL:g} s wall: "
          f"{'met' if total <= GOAL else 'NOT met'}); wall with imports {total + data['imports']:.2f} s")
    print("    (on a shared machine the wall time includes waiting for the CPU; the CPU column does not)")
    print(f"load average after: {_load()}")


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg()) if hasattr(os, "getloadavg") else "not available"


if __name__ == "__main__":
    main()
