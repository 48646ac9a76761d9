"""The report typesets: pdflatex compiles it with no error, no missing glyph and no overfull line over 5 pt.

Runs for a certified (silu), an exact (sigmoid) and a piecewise (relu) activation with vector figures. CI installs
TeX (.ci/run), so there the test always runs; elsewhere it is skipped only when pdflatex is absent.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from analytic.output import report as R
from analytic.output.budget import QUICK
from analytic.output.sections import OVERVIEW
from hang_guard import WALL_SECONDS

ACTS = ("silu", "sigmoid", "relu")
MAX_OVERFULL_PT = 5.0

if shutil.which("pdflatex") is None and not os.environ.get("CI"):
    pytest.skip("pdflatex is not installed (CI installs it and never skips)", allow_module_level=True)


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    out = tmp_path_factory.mktemp("report_pdf")
    files = R.write_report(out, activations=ACTS, budget=QUICK, format="pdf")
    return out, files


def test_pdf_is_written_with_vector_figures(compiled):
    out, files = compiled
    names = {p.name for p in files.paths}
    assert {"report.md", "report.tex", "report.pdf"} <= names
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    tex = (out / "report.tex").read_text()
    links = re.findall(r"\\includegraphics\[[^]]*\]\{([^}]+)\}", tex)
    assert links and all(link.endswith(".pdf") and (out / link).exists() for link in links)
    assert sum(f"\\section{{{a}}}" in tex for a in ACTS) == len(ACTS)
    assert "\\section{tanh}" not in tex  # --act limits the report


def test_log_has_no_error_no_missing_glyph_and_no_wide_overfull_box(compiled):
    out, _ = compiled
    log = (out / "report.log").read_text(errors="replace")
    errors = [ln for ln in log.splitlines() if ln.startswith("!")]
    assert not errors, errors
    assert "Missing character" not in log
    widths = [float(w) for w in re.findall(r"Overfull \\hbox \(([0-9.]+)pt too wide\)", log)]
    assert all(w <= MAX_OVERFULL_PT for w in widths), widths
    assert "?" not in (out / "report.tex").read_text()  # no glyph replaced by '?'


def test_text_symbols_are_in_math_mode_and_proofs_are_not_python(compiled):
    out, _ = compiled
    tex = (out / "report.tex").read_text()
    body = tex.split(r"\begin{document}", 1)[1]
    prose = re.sub(r"\$[^$]*\$|\\\[.*?\\\]|\\begin\{gather\*\}.*?\\end\{gather\*\}", "", body, flags=re.DOTALL)
    assert not re.search(r"[<>]", prose)  # relations only in math mode (T1 would print them, OT1 would not)
    assert "**" not in body and not re.search(r"\boo\b", body) and "sqrt(" not in body
    assert r"\usepackage[T1]{fontenc}" in tex and re.search(r"\\usepackage\{[^}]*\bfloat\b", tex)
    assert body.count(r"\begin{figure}[H]") == len(OVERVIEW) + len(ACTS)  # placed with their section


def test_cli_limits_the_report_and_refuses_a_bad_format(tmp_path):
    res = subprocess.run([sys.executable, "-m", "analytic", "report", "--out", str(tmp_path), "--format", "eps"],
                         capture_output=True, text=True, timeout=WALL_SECONDS)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert not any(tmp_path.iterdir())
