"""The real entry point, run in a subprocess as a user would."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest
from scipy import stats
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=WALL_SECONDS)


def test_help_lists_commands_without_importing_heavy_libraries():
    code = ("import sys; from analytic.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('sympy', 'matplotlib', 'scipy', 'numpy') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=WALL_SECONDS)
    assert "derive" in out.stdout and "list" in out.stdout
    assert "HEAVY []" in out.stdout


def test_list_json_names_every_activation():
    out = run("list", "--json")
    assert out.returncode == 0, out.stderr
    entries = json.loads(out.stdout)["activations"]
    assert {e["name"] for e in entries} >= {"sigmoid", "gelu", "softmax", "hard_swish"}
    assert all(set(e) >= {"name", "params", "formula"} for e in entries)


def test_derive_sigmoid_prints_sigma_times_one_minus_sigma():
    out = run("derive", "sigmoid")
    assert out.returncode == 0, out.stderr
    assert "phi'(x)  = (1 - sigmoid(x))*sigmoid(x)" in out.stdout


def test_derive_gelu_values_match_scipy():
    out = run("derive", "gelu", "--at", "-1,0.5", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["at"] == [-1.0, 0.5]
    for x, phi, dphi in zip(data["at"], data["phi_values"], data["dphi_values"]):
        assert phi == pytest.approx(x * stats.norm.cdf(x), rel=1e-14)
        assert dphi == pytest.approx(stats.norm.cdf(x) + x * stats.norm.pdf(x), rel=1e-14)
    assert {"name", "phi", "dphi", "phi_latex", "dphi_latex", "at", "phi_values", "dphi_values"} <= set(data)


def test_derive_user_formula():
    out = run("derive", "x*tanh(log(1+exp(x)))", "--at", "1", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    sp1 = math.log1p(math.e)
    expected = math.tanh(sp1) + 1 * (1 - math.tanh(sp1) ** 2) / (1 + math.exp(-1))
    assert data["dphi_values"][0] == pytest.approx(expected, rel=1e-13)


def test_derive_states_kink_convention():
    out = run("derive", "relu")
    assert "kink at x = 0: phi' taken as 0" in out.stdout


@pytest.mark.parametrize("args, fragment", [
    (("derive", "sigmod"), "did you mean sigmoid"),
    (("derive", "__import__('os').system('true')"), "only plain function names"),
    (("derive", "relu", "--param", "alpha=2"), "no parameter"),
    (("derive", "relu", "--at", "a"), "not a number"),
])
def test_bad_input_one_line_exit_2(args, fragment):
    out = run(*args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""


def test_meanfield_json_in_the_chaotic_phase():
    out = run("meanfield", "tanh", "--sigma-w2", "2.5", "--sigma-b2", "0.05", "--json")
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert set(d) >= {"fixed_points", "q_star", "chi1", "c_star", "chi_c", "xi_q", "xi_c", "phase"}
    assert d["phase"] == "chaotic" and 0 < d["c_star"] < 1 and d["chi_c"] < 1 < d["chi1"]
    assert d["xi_c"] == pytest.approx(-1 / math.log(d["chi_c"]), rel=1e-12)
    assert [set(f) >= {"q", "slope", "stable"} for f in d["fixed_points"]] == [True]


def test_init_gelu_says_there_is_no_critical_point_and_prints_three_conventions():
    out = run("init", "gelu")
    assert out.returncode == 0, out.stderr
    assert "NONE" in out.stdout and "unstable" in out.stdout
    for name in ("criticality", "variance_preserving", "linearised"):
        assert name in out.stdout
    d = json.loads(run("init", "tanh", "--json").stdout)
    assert {"sigma_w2", "q_star", "chi1", "gain", "conventions"} <= set(d)


def test_window_json():
    d = json.loads(run("window", "sigmoid", "--w", "6.9", "--json").stdout)
    assert {"intervals", "width"} <= set(d) and len(d["intervals"]) == 1
    w = 6.9
    assert d["width"] == pytest.approx((2 / w) * math.log(w * (1 + math.sqrt(1 - 4 / w)) / 2 - 1), rel=1e-12)
    d = json.loads(run("window", "sigmoid", "--widest", "--json").stdout)
    assert {"w", "width"} <= set(d) and 6.8 < d["w"] < 7.0
