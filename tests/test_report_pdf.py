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
    links = re.findall(r"\\figureatsize\{([^}]+)\}", tex)
    assert links and all(link.endswith(".pdf") and (out / link).exists() for link in links)
    assert r"\includegraphics[width=" not in tex  # figures at their own size, never stretched to the text width
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


def _page_boxes(pdf: bytes) -> list[tuple[float, float]]:
    return [(float(w), float(h)) for w, h in re.findall(rb"/MediaBox ?\[ ?0 0 ([0-9.]+) ([0-9.]+) ?\]", pdf)]


def test_figures_print_at_their_own_width_so_their_text_matches_the_document(compiled):
    """A column figure (3.4 in) is not blown up to the text width: its text would print at twice the size of
    the rest. pdfTeX keeps an included PDF page as a form XObject with its own /BBox: the BBox widths in the
    report are the figures' own widths (3.4 in and 7 in, the page figures shrunk at most to the text width)."""
    import zlib

    out, _ = compiled
    raw = (out / "report.pdf").read_bytes()
    streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.DOTALL)
    inflated = [raw] + [zlib.decompress(m) for m in streams if _inflates(m)]
    # each figure is drawn by "/ImN Do": moved only ("1 0 0 1 x y cm"), or scaled by a box ("q a 0 0 a 0 0 cm q 1 0
    # 0 1 0 0 cm"); an \includegraphics[width=...] would scale it in its own "a 0 0 d x y cm"
    text = b"".join(inflated)
    total = len(re.findall(rb"/Im[0-9]+ Do", text))
    draws = re.findall(rb"(?:q\n([0-9.]+) 0 0 [0-9.]+ 0 0 cm\nq\n1 0 0 1 0 0 cm|\n1 0 0 1 [0-9.-]+ [0-9.-]+ cm)\n/Im[0-9]+ Do",
                       text)
    scales = [float(a) if a else 1.0 for a in draws]
    assert total and len(scales) == total, (total, scales)
    assert all(0.9 <= a <= 1.0 for a in scales), scales  # at their own size, or shrunk by less than 10 %
    assert scales.count(1.0) >= 2  # the column figures (dying_relu, finite_width) exactly at 3.4 in


def _inflates(data: bytes) -> bool:
    import zlib

    try:
        zlib.decompress(data)
        return True
    except zlib.error:
        return False


def _info(pdf: bytes, key: str) -> str | None:
    """The text of the document-information entry ``key`` (a PDF literal string: escapes undone, UTF-16 when it
    starts with the byte-order mark, else PDFDocEncoding, read as Latin-1), or None."""
    m = re.search(rb"/" + key.encode() + rb"\s*\(((?:\\.|[^\\)])*)\)", pdf)
    if m is None:
        return None
    data = re.sub(rb"\\([0-7]{1,3}|.)", lambda e: bytes([int(e.group(1), 8)]) if e.group(1)[:1].isdigit()
                  else {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(e.group(1), e.group(1)), m.group(1))
    return data[2:].decode("utf-16-be") if data.startswith(b"\xfe\xff") else data.decode("latin-1")


def test_the_pdf_names_its_title_and_author_and_no_file_of_the_build(compiled):
    out, _ = compiled
    raw = (out / "report.pdf").read_bytes()
    assert _info(raw, "Title") == "Why deep networks with some activations stop learning: derivation report"
    assert _info(raw, "Author") == "activation-analytic"
    assert b"PTEX.FileName" not in raw and b"PTEX.Fullbanner" not in raw


def test_a_recompiled_report_with_its_figures_has_the_same_bytes(compiled, tmp_path):
    """The whole report.pdf, vector figures included, is the same file when compiled again elsewhere."""
    out, _ = compiled
    again = tmp_path / "again"
    shutil.copytree(out, again)
    (again / "report.pdf").unlink()
    R.write_report(again, activations=ACTS, budget=QUICK, format="pdf")  # every part reused, the PDF compiled anew
    assert (again / "report.pdf").read_bytes() == (out / "report.pdf").read_bytes()


def test_markdown_links_the_png_figures_the_folder_holds(compiled):
    out, files = compiled
    md = (out / "report.md").read_text()
    links = re.findall(r"\]\((figures/[^)]+)\)", md)
    assert links and all(link.endswith(".png") and (out / link).exists() for link in links)
    assert {out / link for link in links} <= set(files.paths)
