"""Benchmark: ``python cli.py explore`` on defaults, cold, in a fresh process, twice.

Goal: well under a minute on a quiet machine, and a page under 10 MB. Prints the wall and CPU seconds of each run
(the command and every process it started), the machine's load average before and after (wall times at different
loads do not compare), the page's size, its ratio to the 10 MB limit, and whether the two runs wrote identical
bytes.

Usage: ``python benchmarks/explorer.py [--keep DIR]``
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 60.0
LIMIT_BYTES = 10 * 2**20


def run(out: Path) -> tuple[float, float, Path]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    res = subprocess.run([sys.executable, str(ROOT / "cli.py"), "explore", "--out", str(out)], capture_output=True,
                         text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        sys.exit(f"explore failed ({res.returncode}): {res.stderr.strip()}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), out / "explorer.html"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", metavar="DIR", help="write the pages here (default: a temporary folder)")
    args = parser.parse_args()
    base = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="explore-bench-"))
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    digests = []
    for name in ("first", "second"):
        wall, cpu, page = run(base / name)
        size = page.stat().st_size
        digests.append(hashlib.sha256(page.read_bytes()).hexdigest())
        print(f"{name} run: wall {wall:.1f} s, CPU {cpu:.1f} s (CPU / goal {cpu / GOAL_SECONDS:.2f}); "
              f"page {size / 2**20:.2f} MB (size / limit {size / LIMIT_BYTES:.2f})")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("identical bytes" if digests[0] == digests[1] else "the two runs DIFFER")


if __name__ == "__main__":
    main()
