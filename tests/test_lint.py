"""The linter's rule set (``[tool.ruff.lint]`` in pyproject.toml) holds over the package, the tests, the benchmarks
and the command-line script."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _ruff(*paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", *paths],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_the_code_passes_the_stated_rules():
    result = _ruff("analytic", "tests", "benchmarks", "cli.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_catch_a_planted_defect(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text('import os\n\n\ndef f(x=[]):\n    return eval("x")\n')
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--config",
                             str(ROOT / "pyproject.toml"), "--output-format", "concise", str(planted)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    for rule in ("F401", "B006", "S307"):
        assert rule in result.stdout, result.stdout
