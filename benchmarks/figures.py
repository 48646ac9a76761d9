"""Benchmark: wall time of ``python cli.py figures`` on defaults (every figure, PNG), cold, in a fresh process.

Goal: the whole set in at most 30 s on two cores. Prints each figure's time (from the command's progress lines
on stderr), the total wall time including interpreter start-up and imports, and the ratio to the goal. A second
run checks that the bytes are identical.

Usage: ``python benchmarks/figures.py [--format png|svg|pdf] [--keep DIR]``
"""
from __future__ import annotations

import argparse
import hashlib
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 30.0


def run(out: Path, fmt: str) -> tuple[float, float, list[tuple[str, float]]]:
    """Wall time, CPU time (the command and every process it started) and per-figure times of one run. The keys
    of figures finished by an earlier run into ``out`` are removed first, so every figure is built."""
    shutil.rmtree(out / ".parts", ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run([sys.executable, str(ROOT / "cli.py"), "figures", "--out", str(out), "--format", fmt],
                         capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if res.returncode != 0:
        sys.exit(f"figures failed ({res.returncode}): {res.stderr.strip()}")
    steps = [(m.group(1), float(m.group(2)))
             for m in re.finditer(r"^\[\d+/\d+\] (\S+): ([0-9.]+) s$", res.stderr, re.MULTILINE)]
    return wall, cpu, steps


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--format", default="png", choices=["png", "svg", "pdf"])
    parser.add_argument("--keep", type=Path, help="write the first run's files here instead of a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        first = args.keep or Path(tmp) / "first"
        load = os.getloadavg()[0]
        wall, cpu, steps = run(first, args.format)
        width = max(len(name) for name, _ in steps)
        for name, seconds in steps:
            print(f"  {name.ljust(width)}  {seconds:6.2f} s")
        in_figures = sum(s for _, s in steps)
        print(f"{len(steps)} figures: {in_figures:.1f} s summed over figures (two workers), {wall:.1f} s wall for "
              f"the command (start-up and imports included), {cpu:.1f} s CPU in all its processes")
        print(f"machine: {os.cpu_count()} cores, load average {load:.2f} before the run "
              f"(CPU / wall = {cpu / wall:.2f}; other processes competing for the cores inflate the wall time)")
        print(f"wall / goal = {wall:.1f} / {GOAL_SECONDS:.0f} = {wall / GOAL_SECONDS:.2f}  "
              f"({'within' if wall <= GOAL_SECONDS else 'OVER'} the goal)")
        wall2, _, _ = run(Path(tmp) / "second", args.format)
        same = digests(first) == digests(Path(tmp) / "second")
        print(f"second run: {wall2:.1f} s wall; bytes identical to the first run: {same}")


if __name__ == "__main__":
    main()
