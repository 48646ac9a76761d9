"""report.pdf is reproducible: two compilations of the same report give the same bytes, with no build date unless
SOURCE_DATE_EPOCH gives one (then exactly that date). Skipped only when pdflatex is absent (CI installs it)."""
from __future__ import annotations

import os
import shutil

import pytest

from analytic.errors import OutputError
from analytic.output import figures as F
from analytic.output import report as R
from analytic.output.budget import QUICK

if shutil.which("pdflatex") is None and not os.environ.get("CI"):
    pytest.skip("pdflatex is not installed (CI installs it and never skips)", allow_module_level=True)


def _no_figures(out, fmt, only=None, **kwargs):
    """Every figure reported as failed: the report then compiles with a note in place of each (figures are
    reproducible on their own, tests/test_figures.py)."""
    return F.FigureFiles((), fmt, tuple(F.Failed(name, "not drawn in this test") for name in only))


@pytest.fixture
def twice(tmp_path, monkeypatch):
    """Write the report once, copy its folder, and compile report.pdf again there (the sections are reused)."""
    monkeypatch.setattr(R, "write_figures", _no_figures)

    def run() -> tuple[bytes, bytes]:
        first = tmp_path / f"first{len(list(tmp_path.iterdir()))}"
        R.write_report(first, activations=["sigmoid"], budget=QUICK, format="pdf")
        second = first.with_name(first.name + "_again")
        shutil.copytree(first, second)
        (second / "report.pdf").unlink()
        R.write_report(second, activations=["sigmoid"], budget=QUICK, format="pdf")
        return (first / "report.pdf").read_bytes(), (second / "report.pdf").read_bytes()

    return run


def test_without_source_date_epoch_the_pdf_has_no_date_and_the_same_bytes(twice, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    a, b = twice()
    assert a.startswith(b"%PDF") and a == b
    assert b"/CreationDate" not in a and b"/ModDate" not in a and b"/ID [" not in a


def test_source_date_epoch_is_the_build_date(twice, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    a, b = twice()
    assert a == b and b"/CreationDate (D:20231114221320Z)" in a and b"/ID [" not in a


def test_a_bad_source_date_epoch_is_refused_before_any_work(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(OutputError, match="SOURCE_DATE_EPOCH"):
        R.write_report(tmp_path / "out", activations=["sigmoid"], budget=QUICK, format="pdf")
    assert not (tmp_path / "out").exists()
