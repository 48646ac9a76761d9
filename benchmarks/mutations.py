"""Mutation spot-check: plant one known defect at a time in a copy of the project and see whether the tests
named for it fail.

Each mutant is a code snippet that must occur exactly once in the ``.py`` files under ``analytic/`` (the file is
found by its content, not by its path, so the mutant survives modules moving), its replacement, and the test
files to run. The project is copied to a temporary folder (the files ``git ls-files`` reports, tracked or new;
every file but ``.git`` when git is absent); for each mutant the snippet is replaced there, ``pytest -x -q`` runs
the mutant's test files against the copy (``PYTHONPATH`` is the copy, and the process running the tests checks
that the ``analytic`` it imports is the copy's), and the file is restored. A mutant is *killed* when pytest
exits non-zero, and *SURVIVED* otherwise: a defect the tests let through.

Before the mutants, the same test files run once on the unchanged copy, so that a kill is never a failure the
tests had anyway (``--no-baseline`` skips that run). Usage, from the project root::

    python benchmarks/mutations.py                  # every mutant
    python benchmarks/mutations.py --only relu_kink --only mc_stderr_double
    python benchmarks/mutations.py --list           # names, files and tests, nothing run

The exit status is 1 when a mutant survived, a snippet does not occur exactly once, or the baseline fails.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    snippet: str
    replacement: str
    tests: tuple[str, ...]
    what: str


MUTANTS = (
    Mutant("sigmoid_fast_dphi", "    np.copyto(y, d, where=v >= 0)\n    np.multiply(d, t, out=d)\n",
           "    np.copyto(y, d, where=v >= 0)\n    np.multiply(d, t * 1.001, out=d)\n",
           ("tests/test_fastforms.py",), "the fused NumPy sigmoid' scaled by 1.001"),
    Mutant("sigmoid_fdiff", "        s = sigmoid(self.args[0])\n        return s * (1 - s)\n",
           "        s = sigmoid(self.args[0])\n        return 1.001 * s * (1 - s)\n",
           ("tests/test_calculus.py", "tests/test_activations.py"), "the SymPy derivative of sigmoid scaled by 1.001"),
    Mutant("relu_kink", '"relu", sp.Piecewise((X, X > 0), (0, True))', '"relu", sp.Piecewise((X, X >= 0), (0, True))',
           ("tests/test_activations.py", "tests/test_calculus.py"), "relu's condition x > 0 made x >= 0: relu'(0) = 1"),
    Mutant("mc_stderr_double", "log_se = 0.5 * math.log(var_of_mean) + c if",
           "log_se = 0.5 * math.log(var_of_mean) + c + math.log(2) if",
           ("tests/test_montecarlo_calibration.py",), "the Monte Carlo standard error of the mean doubled"),
    Mutant("mc_stderr_half", "log_se = 0.5 * math.log(var_of_mean) + c if",
           "log_se = 0.5 * math.log(var_of_mean) + c - math.log(2) if",
           ("tests/test_montecarlo_calibration.py",), "the Monte Carlo standard error of the mean halved"),
    Mutant("folded_normal_sign", "np.exp(-r * r / 2) + m * special.erf(r / math.sqrt(2))",
           "np.exp(-r * r / 2) - m * special.erf(r / math.sqrt(2))",
           ("tests/test_chain.py",), "E|w| of the Gaussian w | v in the transfer operator with the sign of m flipped"),
    Mutant("bound_mean_not_mean_abs", "b = Eaw * M if Eaw != 0 else 0.0", "b = Ew * M if Ew != 0 else 0.0",
           ("tests/test_expectations.py",), "the crude bound's factor E|w| replaced by E[w]"),
    Mutant("exp_interval_rounds_down", 'Special(sp.exp, np.exp, lambda ctx, u: ctx.exp(u), "increasing"',
           'Special(sp.exp, np.exp, lambda ctx, u: ctx.exp(u) * (1 - ctx.mpf(2) ** -60), "increasing"',
           ("tests/test_interval_rules.py", "tests/test_bounds.py"),
           "exp's mpmath form (its interval rule) rounded down by 2^-60 relative, beyond the widening"),
    Mutant("catalogue_deadline", "float(timeout) if act.user_defined else None)", "float(timeout))",
           ("tests/test_no_clock.py",), "catalogue bounds run their SymPy steps under the user's timeout"),
)


def _project_files(root: Path) -> list[Path]:
    """Files to copy: what git tracks plus new files it does not ignore, or everything but .git without git."""
    try:
        out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return [p.relative_to(root) for p in root.rglob("*") if p.is_file() and ".git" not in p.parts
                and "__pycache__" not in p.parts]
    return [Path(os.fsdecode(name)) for name in out.split(b"\0") if name and (root / os.fsdecode(name)).is_file()]


def copy_project(root: Path, dest: Path) -> None:
    for rel in _project_files(root):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, dest / rel)


def locate(root: Path, snippet: str) -> tuple[Path | None, int]:
    """The file under ``root/analytic`` holding ``snippet`` (relative to root) and the total count of matches."""
    found, count = None, 0
    for path in sorted((root / "analytic").rglob("*.py")):
        n = path.read_text(encoding="utf-8").count(snippet)
        if n:
            found, count = path.relative_to(root), count + n
    return found, count


def _environment(copy: Path) -> dict[str, str]:
    env = dict(os.environ, PYTHONPATH=str(copy), PYTHONDONTWRITEBYTECODE="1", OPENBLAS_NUM_THREADS="1",
               MPLBACKEND="Agg")
    env.pop("PYTHONHOME", None)
    return env


#: Run in the test process: refuse to test anything but the copy's package, then hand over to pytest.
_RUNNER = ("import sys, pathlib, analytic\n"
           "copy = pathlib.Path(sys.argv[1]).resolve()\n"
           "here = pathlib.Path(analytic.__file__).resolve()\n"
           "if copy not in here.parents:\n"
           "    sys.exit(f'analytic imported from {here}, not from the copy {copy}')\n"
           "import pytest\n"
           "sys.exit(pytest.main(sys.argv[2:]))\n")


@dataclass(frozen=True)
class Run:
    code: int
    tests: int
    seconds: float
    tail: str


def run_tests(copy: Path, tests: tuple[str, ...], stop_first: bool = True) -> Run:
    args = [sys.executable, "-c", _RUNNER, str(copy), *(["-x"] if stop_first else []), "-q", "-p", "no:cacheprovider",
            *tests]
    started = time.monotonic()
    result = subprocess.run(args, cwd=copy, env=_environment(copy), capture_output=True, text=True)
    seconds = time.monotonic() - started
    out = result.stdout + result.stderr
    summary = out.strip().splitlines()[-1] if out.strip() else ""
    counts = {k: int(n) for n, k in re.findall(r"(\d+) (passed|failed|errors?)", summary)}
    return Run(result.returncode, sum(counts.values()), seconds, "\n".join(out.strip().splitlines()[-15:]))


def apply(copy: Path, mutant: Mutant, file: Path) -> str:
    """Replace the snippet in the copy; return the original text for :func:`restore`."""
    path = copy / file
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace(mutant.snippet, mutant.replacement), encoding="utf-8")
    return original


def _row(cells: tuple) -> str:
    widths = (26, 30, 26, 9, 8)
    return "  ".join(f"{c!s:<{w}}" for c, w in zip(cells, widths)).rstrip()


def _short(tests: tuple[str, ...]) -> str:
    return ",".join(Path(t).stem.removeprefix("test_") for t in tests)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", metavar="NAME", help="run only this mutant (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the mutants and where they apply; run nothing")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run of the tests on the unchanged copy")
    parser.add_argument("--verbose", action="store_true", help="print pytest's last lines for every run")
    args = parser.parse_args(argv)
    known = {m.name for m in MUTANTS}
    if args.only and not set(args.only) <= known:
        parser.error(f"unknown mutant(s) {sorted(set(args.only) - known)}; known: {', '.join(sorted(known))}")
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]

    located, broken = {}, False
    for m in chosen:
        file, count = locate(ROOT, m.snippet)
        if count != 1:
            print(f"{m.name}: the snippet occurs {count} times under analytic/ (must be exactly once)")
            broken = True
        located[m.name] = file
    if args.list:
        for m in chosen:
            print(_row((m.name, located[m.name] or "NOT FOUND", _short(m.tests), "", "")), "  #", m.what)
        return 1 if broken else 0
    chosen = [m for m in chosen if located[m.name] is not None and locate(ROOT, m.snippet)[1] == 1]

    with tempfile.TemporaryDirectory(prefix="mutations-") as tmp:
        copy = Path(tmp) / "project"
        copy_project(ROOT, copy)
        if not args.no_baseline:
            tests = tuple(dict.fromkeys(t for m in chosen for t in m.tests))
            base = run_tests(copy, tests, stop_first=False)
            print(f"baseline (no mutant): {base.tests} tests in {base.seconds:.0f} s, exit {base.code}", flush=True)
            if base.code != 0:
                print(base.tail)
                return 1
        print(_row(("mutant", "file", "tests run (files)", "result", "seconds")), flush=True)
        survived = []
        for m in chosen:
            file = located[m.name]
            original = apply(copy, m, file)
            try:
                r = run_tests(copy, m.tests)
            finally:
                (copy / file).write_text(original, encoding="utf-8")
            verdict = "killed" if r.code != 0 else "SURVIVED"
            if r.code == 0:
                survived.append(m.name)
            print(_row((m.name, file, f"{r.tests} ({_short(m.tests)})", verdict, f"{r.seconds:.1f}")), flush=True)
            if args.verbose or r.code not in (0, 1):  # 1: tests failed; anything else: pytest could not run them
                print("    " + r.tail.replace("\n", "\n    "))
    if survived:
        print(f"survived: {', '.join(survived)}")
    return 1 if survived or broken else 0


if __name__ == "__main__":
    sys.exit(main())
