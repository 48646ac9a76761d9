"""No clock decides a catalogue result. Every catalogue entry's bound of phi', phi' and NumPy phi' are computed
without starting a single deadline (a user formula's are not); and a process whose clocks run 100 times fast,
asking for the smallest timeout ``bound`` accepts, prints the same bounds and proofs and writes the same figure
bytes (the catalogue grid and gelu_tanh's panel, both drawing its proved max and min of phi') as a process with
normal clocks."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from analytic import errors
from analytic.bounds import exact
from analytic.bounds.certified import CERTIFY_SECONDS
from analytic.bounds.pieces import LIMIT_SECONDS
from analytic.core import calculus
from analytic.core.activations import names

ROOT = Path(__file__).resolve().parents[1]

#: Run in a fresh interpreter as ``python -c SCRIPT fast|normal OUT``: with ``fast`` every clock of the time module
#: runs 100 times fast (before anything is imported, so forked workers inherit it) and bound() gets its smallest
#: timeout. Prints one JSON line per result, then the SHA-256 of each figure file and gelu_tanh's bound lines.
SCRIPT = r"""
import sys, time
if sys.argv[1] == "fast":
    def fast(real):
        start = real()
        return lambda: start + 100 * (real() - start)
    for name in ("monotonic", "perf_counter", "time", "monotonic_ns", "perf_counter_ns", "time_ns"):
        clock = fast(getattr(time, name))
        setattr(time, name, (lambda c: lambda: int(c()))(clock) if name.endswith("_ns") else clock)
import hashlib, json
from pathlib import Path
from analytic.bounds import bound
from analytic.bounds.exact import MIN_TIMEOUT
from analytic.core.activations import names
from analytic.output.budget import QUICK
from analytic.output.figures import write_figures
from analytic.output.panels import dphi_bounds
from analytic.core.calculus import resolve
timeout = {"timeout": MIN_TIMEOUT} if sys.argv[1] == "fast" else {}
for name in names():
    print(json.dumps(bound(name, **timeout).as_dict(), sort_keys=True))
files = write_figures(sys.argv[2], "png", only=["activations", "activation_gelu_tanh"], budget=QUICK, jobs=1)
for path in files.paths:
    print(path.name, hashlib.sha256(path.read_bytes()).hexdigest())
print("gelu_tanh lines:", " | ".join(line.label for line in dphi_bounds(resolve("gelu_tanh"))))
"""


def test_catalogue_work_starts_no_deadline(monkeypatch):
    """A deadline asked for by any step of a catalogue entry's bound of phi', phi' or NumPy phi' fails here."""
    asked = []

    def no_deadline(seconds, function, *args):
        asked.append((seconds, getattr(function, "__name__", function)))
        return function(*args)

    monkeypatch.setattr(errors, "run", no_deadline)
    for cache in (exact._bound_formula, calculus._raw_derivative, calculus._simplified, calculus._numpy_function,
                  calculus._numpy_pair):
        cache.cache_clear()
    for name in names():
        exact.bound(name, timeout=exact.MIN_TIMEOUT)
        calculus.derivative(name, 1)
        calculus.numpy_function(name, 1)
    assert asked and all(seconds is None for seconds, _ in asked), [a for a in asked if a[0] is not None][:3]


def test_a_user_formula_does_ask_for_deadlines(monkeypatch):
    """The counterpart: the same steps on a user formula run under deadlines (so the test above can fail)."""
    asked = []

    def record(seconds, function, *args):
        asked.append(seconds)
        return function(*args)

    monkeypatch.setattr(errors, "run", record)
    exact.bound("x*tanh(x) + x/11", timeout=7.0)
    assert {7.0, LIMIT_SECONDS, CERTIFY_SECONDS} <= set(asked)  # critical points, limits, the certified route


def test_a_fast_clock_and_the_smallest_timeout_change_no_catalogue_output(tmp_path):
    runs = {}
    for mode in ("normal", "fast"):
        runs[mode] = subprocess.Popen([sys.executable, "-c", SCRIPT, mode, str(tmp_path / mode)], cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env={**_env(), "PYTHONPATH": str(ROOT)})
    out = {}
    for mode, process in runs.items():
        stdout, stderr = process.communicate()
        assert process.returncode == 0, stderr[-2000:]
        out[mode] = stdout
    assert out["fast"] == out["normal"]
    lines = out["normal"].splitlines()
    assert len(lines) == len(names()) + 3
    gelu_tanh = json.loads(lines[names().index("gelu_tanh")])
    assert gelu_tanh["method"] == "certified: interval branch-and-bound"
    labels = lines[-1]
    assert r"\max\ \varphi'" in labels and r"\min\ \varphi'" in labels  # the proved lines are drawn
    for mode in runs:
        for name in ("activations", "activation_gelu_tanh"):
            digest = hashlib.sha256((tmp_path / mode / f"{name}.png").read_bytes()).hexdigest()
            assert f"{name}.png {digest}" in lines


def _env() -> dict:
    import os

    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"MPLBACKEND": "Agg"}


@pytest.mark.parametrize("name", ["gelu_tanh", "mish", "silu", "gelu"])
def test_the_smallest_timeout_gives_a_catalogue_entry_the_same_proof(name):
    exact._bound_formula.cache_clear()
    quick = exact.bound(name, timeout=exact.MIN_TIMEOUT)
    exact._bound_formula.cache_clear()
    assert exact.bound(name).as_dict() == quick.as_dict()


def test_a_panel_whose_bound_is_not_proved_fails_instead_of_drawing_no_line(monkeypatch):
    import analytic.bounds
    from analytic.core.calculus import resolve
    from analytic.errors import BoundError
    from analytic.output.panels import dphi_bounds

    assert len(dphi_bounds(resolve("gelu_tanh"))) == 2  # max and min of phi'

    def unproved(*args, **kwargs):
        raise BoundError("not proved")

    monkeypatch.setattr(analytic.bounds, "bound", unproved)
    with pytest.raises(BoundError, match="not proved"):
        dphi_bounds(resolve("gelu_tanh"))
