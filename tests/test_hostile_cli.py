"""The command line under hostile conditions: stdout closed or full, an output encoding without the characters,
Ctrl-C while it loads, a defect escaping a command; numbers past the float range answered correctly or refused;
sizes over the memory cap refused before anything is allocated.

Every run of ``cli.py`` here is the real entry point in a subprocess; the timeouts are hang guards, not measurements.
"""
from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from analytic import cli
from analytic.errors import AnalyticError
from analytic.limits import MAX_ARRAY_BYTES, MemoryLimitError, array_bytes, check_array

ROOT = Path(__file__).resolve().parents[1]
#: Hang guard for one subprocess (seconds; not a measurement).
TIMEOUT = 300


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg", **extra}


def _default_sigint() -> None:
    # a test runner started in the background ignores SIGINT, and children inherit that; a user's shell does not
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def run(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, timeout=TIMEOUT,
                          env=env or _env(), cwd=ROOT, **kwargs)


def one_line(stderr: bytes) -> str:
    text = stderr.decode("utf-8", "replace")
    assert "Traceback" not in text, text
    lines = text.splitlines()
    assert len(lines) == 1 and lines[0].startswith("analytic: "), text
    return lines[0]


# --- the output stream ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [("list",), ("list", "--json"), ("derive", "sigmoid")], ids=" ".join)
def test_a_closed_stdout_is_one_line_and_status_120(args):
    result = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, timeout=TIMEOUT, env=_env(), cwd=ROOT,
                            preexec_fn=lambda: os.close(1))
    assert result.returncode == cli.EXIT_OUTPUT == 120
    assert "stdout is closed" in one_line(result.stderr)


@pytest.mark.parametrize("args", [("list",), ("list", "--json"), ("derive", "relu")], ids=" ".join)
def test_a_full_stdout_is_one_line_and_status_120(args):
    with open("/dev/full", "wb") as full:
        result = subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], stdout=full, stderr=subprocess.PIPE,
                                timeout=TIMEOUT, env=_env(), cwd=ROOT)
    assert result.returncode == 120
    assert "cannot write the output" in one_line(result.stderr)


def test_a_reader_that_stops_early_is_not_an_error():
    proc = subprocess.Popen([sys.executable, str(ROOT / "cli.py"), "list"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=TIMEOUT) == 0 and first.startswith(b"name"), err
    assert b"Traceback" not in err and b"Exception ignored" not in err, err


@pytest.mark.parametrize("args", [("derive", "sigmoid"), ("bound", "gelu"), ("list",)], ids=" ".join)
def test_an_ascii_stdout_gets_escapes_for_what_it_cannot_show(args):
    utf8 = run(*args)
    ascii_ = run(*args, env=_env(PYTHONIOENCODING="ascii"))
    assert utf8.returncode == ascii_.returncode == 0, ascii_.stderr
    assert ascii_.stderr == b""
    shown = ascii_.stdout.decode("ascii")  # pure ASCII, or this raises
    # the escapes decode back to exactly the UTF-8 output: nothing lost, nothing changed
    assert shown.encode("ascii").decode("unicode_escape") == utf8.stdout.decode("utf-8")
    if args[0] == "derive":
        assert "\\u03c3" in shown  # sigma


# --- Ctrl-C and defects -----------------------------------------------------------------------------------------

_INTERRUPT_AT_IMPORT = """
import builtins, runpy, sys
real_import = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == {module!r}:
        raise KeyboardInterrupt
    return real_import(name, *args, **kwargs)
builtins.__import__ = interrupted
sys.argv = [{script!r}, "list"]
{run}
"""


@pytest.mark.parametrize("module", ["argparse", "json", "command", "options"])
@pytest.mark.parametrize("entry", ["cli.py", "-m analytic"])
def test_ctrl_c_while_the_command_line_loads(module, entry):
    if entry == "cli.py":
        code = _INTERRUPT_AT_IMPORT.format(module=module, script=str(ROOT / "cli.py"),
                                           run=f"runpy.run_path({str(ROOT / 'cli.py')!r}, run_name='__main__')")
    else:
        code = _INTERRUPT_AT_IMPORT.format(module=module, script="analytic",
                                           run="runpy.run_module('analytic', run_name='__main__', alter_sys=True)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=TIMEOUT, env=_env(), cwd=ROOT)
    assert result.returncode == 130, result.stderr
    assert one_line(result.stderr) == "analytic: interrupted"
    assert result.stdout == b""


@pytest.mark.parametrize("delay", [0.0, 0.1, 0.3, 1.0, 2.0])
def test_ctrl_c_at_any_moment_of_a_command(delay):
    """SIGINT a fixed time after the command line has loaded (while the command parses, SymPy loads or the
    computation runs): status 130 and one line, or exit 0 if it finished first. (Ctrl-C during Python's own
    start-up, before any of the program runs, is the interpreter's to report.)"""
    proc = subprocess.Popen([sys.executable, "-X", "importtime", str(ROOT / "cli.py"), "gradient", "gelu", "--depth",
                             "20", "--weights", "normal(1, 0.5)"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=_env(), cwd=ROOT, preexec_fn=_default_sigint)
    seen = []
    for line in proc.stderr:  # one line per finished import
        seen.append(line)
        if line.rstrip().endswith(b"| analytic.cli"):
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, rest = proc.communicate(timeout=TIMEOUT)
    err = b"".join(line for line in (seen + rest.splitlines(keepends=True)) if not line.startswith(b"import time:"))
    if proc.returncode == 0:  # finished before the signal
        assert out and err == b"", err
    else:
        assert proc.returncode == 130, err
        assert one_line(err) == "analytic: interrupted" and out == b""


def test_a_defect_escaping_a_command_is_one_line_and_status_1(monkeypatch, capsys):
    from analytic.cli.command import COMMANDS, Command

    def broken(args):
        return 1 / 0

    monkeypatch.setitem(COMMANDS, "list", Command("list", "", lambda p: None, broken))
    assert cli.main(["list"]) == cli.EXIT_INTERNAL == 1
    out, err = capsys.readouterr()
    assert out == "" and err == "analytic: internal error: ZeroDivisionError: division by zero\n"


# --- numbers past the float range -------------------------------------------------------------------------------

def _json(*args: str) -> dict:
    result = run(*args, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_celu_with_a_tiny_alpha_is_relu():
    """CELU_alpha -> ReLU as alpha -> 0 (|CELU - ReLU| <= alpha, CELU' = e^(x/alpha) on x < 0): at alpha = 1e-300
    the exact chain and the mean field equal ReLU's closed forms (a different route) within their errors."""
    tiny = ("--param", "alpha=1e-300")
    chain = ("--depth", "3", "--weights", "normal(0,1)")
    c, r = _json("gradient", "celu", *tiny, *chain), _json("gradient", "relu", *chain)
    for key in ("mean", "mean_abs", "mean_square"):
        a, b = c["exact_chain"][key], r["exact_chain"][key]
        assert abs(a["value"] - b["value"]) <= 4 * (a["error"] + b["error"]) + 1e-12, key
    assert c["exact_chain"]["zero_probability"]["value"] == 0  # CELU' > 0 everywhere, however small
    for sb in ("0", "0.1"):
        m = _json("meanfield", "celu", *tiny, "--sigma-w2", "1", "--sigma-b2", sb)
        rm = _json("meanfield", "relu", "--sigma-w2", "1", "--sigma-b2", sb)
        assert m["chi1"] == pytest.approx(rm["chi1"], rel=1e-9)
        # ReLU at sigma_w^2 = 1: q = q/2 + sigma_b^2, so q* = 2 sigma_b^2, and chi_1 = 1/2
        assert m["q_star"] == pytest.approx(2 * float(sb), abs=1e-12) and m["chi1"] == pytest.approx(0.5)


def test_a_power_of_odd_degree_has_no_critical_initialisation():
    """phi = x^n is homogeneous of degree n: along the fixed points chi_1 = n^2 E[z^(2n-2)] / E[z^(2n)] =
    n^2/(2n-1), which is 1 only for n = 1; so init finds no sigma_w^2 (it used to divide by zero)."""
    for n in (3, 63):
        assert n * n / (2 * n - 1) > 1
        assert _json("init", f"x**{n}")["sigma_w2"] is None


def test_a_density_or_exact_law_past_the_float_range_is_withheld_with_its_reason():
    s = _json("spectrum", "relu", "--depth", "1000", "--sigma-w2", "2", "--width", "2")
    assert s["density"] is None and s["finite_width"] is None
    assert "float range" in s["finite_width_note"]
    assert any("density withheld" in n for n in s["notes"])
    assert s["m1"] == pytest.approx(1.0)  # m1 = mu_1^L = (sigma_w^2 E[phi'^2])^L = (2 * 1/2)^1000


@pytest.mark.parametrize("formula, n", [("cosh(x)**64", 64), ("sinh(x)**64", 64), ("cosh(x)**50", 50)])
def test_a_gaussian_expectation_past_the_float_range_is_refused(formula, n):
    from analytic.theory.gaussian import gaussian_expectation

    # phi(z)^2 >= (e^z (1 - e^-2) / 2)^(2n) for z >= 1, so E[phi(z)^2] >= P(z >= t) (e^t (1 - e^-2) / 2)^(2n) for
    # t >= 1; with the Gaussian tail P(z >= t) >= e^(-t^2/2) / ((t + 1/t) sqrt(2 pi)), in logs, at t = 2n:
    t = 2 * n
    log_lower = -t * t / 2 - math.log((t + 1 / t) * math.sqrt(2 * math.pi)) + 2 * n * t \
        + 2 * n * math.log((1 - math.exp(-2)) / 2)
    assert log_lower > math.log(sys.float_info.max)  # finite, but past the float range
    with pytest.raises(AnalyticError, match="float range"):
        gaussian_expectation(formula, "phi2", 0.0, 1.0)


# --- the memory cap ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(3,), (4, 5), (2, 3, 7), (0, 9)])
def test_the_estimate_is_numpys_size(shape):
    assert array_bytes(shape) == np.empty(shape).nbytes == check_array("a", shape)


def test_the_cap_is_inclusive_and_the_message_says_what_and_how_much():
    entries = MAX_ARRAY_BYTES // 8
    assert check_array("ok", (entries,)) == MAX_ARRAY_BYTES
    with pytest.raises(MemoryLimitError, match=r"^weights: 2 x 268435456 float64 entries would take 4 GiB, over the cap of 2 GiB"):
        check_array("weights", (2, entries))
    with pytest.raises(MemoryLimitError):
        check_array("negative", (-1, 5))


def test_every_user_size_is_capped_before_allocation():
    import analytic

    rng = np.random.default_rng(0)
    with pytest.raises(MemoryLimitError, match="Haar"):
        analytic.haar_orthogonal(rng, 100_000)
    with pytest.raises(MemoryLimitError, match="Haar"):
        analytic.haar_orthogonal(rng, 10, 10**9)
    with pytest.raises(MemoryLimitError, match="orthogonal"):
        analytic.distribution("orthogonal(1)").sample(rng, (10**4, 200, 200))
    with pytest.raises(MemoryLimitError, match="weight matrix"):
        analytic.simulate_wide("relu", 3, 20_000, "he(4)", batch=1, networks=2)
    with pytest.raises(MemoryLimitError, match="grid"):
        analytic.plot_activation("tanh", grid=10**9)
    with pytest.raises(MemoryLimitError, match="chunk"):
        analytic.simulate_chain("tanh", 3, "normal(0, 1)", samples=100, chunk=10**9)
    from analytic.theory.density import MAX_POINTS, spectral_density

    assert 3 * MAX_POINTS * 8 <= MAX_ARRAY_BYTES  # the point cap is the tighter one there
    with pytest.raises(AnalyticError, match="points"):
        spectral_density("relu", 3, 2.0, points=MAX_POINTS + 1)
    assert analytic.haar_orthogonal(rng, 3).shape == (3, 3)  # small sizes pass
