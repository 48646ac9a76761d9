"""Packaging conventions: licence, citation, changelog, typing marker, ``python -m analytic``, ``--version``."""
from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import analytic
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]


def test_licence_citation_changelog_and_typing_marker_exist():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert f"version: {project['project']['version']}" in (ROOT / "CITATION.cff").read_text()
    assert "## Unreleased" in (ROOT / "CHANGELOG.md").read_text()
    assert (ROOT / "analytic" / "py.typed").exists()
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["analytic"]


def test_version_and_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "analytic", "--version"], capture_output=True, text=True, timeout=WALL_SECONDS)
    assert out.returncode == 0 and out.stdout.strip() == f"analytic {analytic.__version__}"
    listing = subprocess.run([sys.executable, "-m", "analytic", "list"], capture_output=True, text=True, timeout=WALL_SECONDS)
    assert listing.returncode == 0
    assert "hard_swish (= hardswish)" in listing.stdout and "identity (= linear)" in listing.stdout
    assert "logsigmoid" in listing.stdout
