"""Long writes keep their finished parts: a part that fails is named and skipped, the others are written, and a
rerun makes only what is missing and ends with the bytes of an uninterrupted run.

Faults are planted in-process (one builder raises an :class:`~analytic.errors.AnalyticError`); figure workers are
forked, so they inherit the planted builder. Reuse is checked by counting builder calls (serial runs) and by the
inode and modification time of the files a rerun must not touch.
"""
from __future__ import annotations

import functools
import re
import shutil
from pathlib import Path

import pytest

from analytic.cli import main
from analytic.core.calculus import resolve
from analytic.core.registry import BoundActivation
from analytic.errors import BoundError, ComputationTimeout, OutputError
from analytic.output import figures as F
from analytic.output import report as R
from analytic.output.budget import QUICK
from analytic.output.sections import OVERVIEW

FIGURES = ["activation_sigmoid", "activation_tanh", "activation_relu"]  # catalogue order
ACTS = ["sigmoid", "relu"]


def _tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (the stored parts included) by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Inode and modification time of every file below ``folder``: a file rewritten gets a new inode (atomic
    replace) and a new time."""
    return {p.relative_to(folder).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _plant(monkeypatch, module, name: str, faulty: set[str], calls: list[str]):
    """Replace ``module.name(act_or_name, ...)`` by a version that records each call and raises for the names in
    ``faulty`` (emptied to remove the fault)."""
    original = getattr(module, name)

    def planted(first, *args, **kwargs):
        key = getattr(first, "name", first)
        calls.append(key)
        if key in faulty:
            raise ComputationTimeout(f"planted fault in {key}")
        return original(first, *args, **kwargs)

    monkeypatch.setattr(module, name, planted)


# ---------------------------------------------------------------- figures

def test_a_failing_figure_is_skipped_and_the_rerun_builds_only_it(tmp_path, monkeypatch):
    clean = F.write_figures(tmp_path / "clean", "svg", only=FIGURES, budget=QUICK, jobs=1)
    assert not clean.failed
    calls: list[str] = []
    faulty = {"tanh"}
    _plant(monkeypatch, F, "_build_activation", faulty, calls)
    out = tmp_path / "run"
    files = F.write_figures(out, "svg", only=FIGURES, budget=QUICK, jobs=1)
    assert [(f.name, f.reason) for f in files.failed] == [("activation_tanh",
                                                           "ComputationTimeout: planted fault in tanh")]
    assert [p.name for p in files.paths] == ["activation_sigmoid.svg", "activation_relu.svg"]
    assert calls == ["sigmoid", "tanh", "relu"]  # the figure after the failing one was built too
    assert not (out / "activation_tanh.svg").exists()
    for path in files.paths:  # complete: the bytes of the clean run
        assert path.read_bytes() == (tmp_path / "clean" / path.name).read_bytes()
    before = _stamps(out)

    faulty.clear()
    calls.clear()
    again = F.write_figures(out, "svg", only=FIGURES, budget=QUICK, jobs=1)
    assert calls == ["tanh"] and not again.failed
    assert [(w.name, w.reused) for w in again.written] == [("activation_sigmoid", True), ("activation_tanh", False),
                                                           ("activation_relu", True)]
    after = _stamps(out)
    assert {k: v for k, v in after.items() if "tanh" not in k} == before
    assert _tree(out) == _tree(tmp_path / "clean")


def test_a_file_made_under_another_key_or_altered_is_built_again(tmp_path, monkeypatch):
    calls: list[str] = []
    _plant(monkeypatch, F, "_build_activation", set(), calls)
    only = ["activation_relu"]
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, jobs=1)
    first = (tmp_path / "activation_relu.svg").read_bytes()
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, jobs=1)
    assert calls == ["relu"]                                  # same key: reused
    coarse = QUICK.__class__(**{**QUICK.__dict__, "grid": 101})
    F.write_figures(tmp_path, "svg", only=only, budget=coarse, jobs=1)
    assert calls == ["relu"] * 2                              # another budget: built again
    assert (tmp_path / "activation_relu.svg").read_bytes() != first
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, style_name="slides", jobs=1)
    assert calls == ["relu"] * 3                              # another style
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, jobs=1)
    assert calls == ["relu"] * 4 and (tmp_path / "activation_relu.svg").read_bytes() == first
    (tmp_path / "activation_relu.svg").write_bytes(first.replace(b"</svg>", b"<!-- edited --></svg>"))
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, jobs=1)
    assert calls == ["relu"] * 5                              # bytes not the ones recorded: built again
    assert (tmp_path / "activation_relu.svg").read_bytes() == first
    key = tmp_path / F.PARTS / "activation_relu.svg.json"
    key.write_text(key.read_text().replace('"grid": 201', '"grid": 202'))
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, jobs=1)
    assert calls == ["relu"] * 6                              # a stored key that differs: built again
    F.write_figures(tmp_path, "svg", only=only, budget=QUICK, jobs=1)
    assert calls == ["relu"] * 6


def test_cli_figures_exits_1_naming_the_failed_figure_and_writes_the_others(tmp_path, monkeypatch, capsys):
    _plant(monkeypatch, F, "_build_activation", {"tanh"}, [])  # forked workers inherit the planted builder
    status = main(["figures", "--out", str(tmp_path), "--format", "svg", "--only", *FIGURES, "--json"])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert err[-1].startswith("analytic: figures: 1 of 3 parts failed (activation_tanh)")
    assert "ComputationTimeout: planted fault in tanh" in err[-1] and "Traceback" not in "\n".join(err)
    assert sorted(p.name for p in tmp_path.glob("*.svg")) == ["activation_relu.svg", "activation_sigmoid.svg"]


def test_help_states_the_exit_statuses(capsys):
    for command in ("figures", "report"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        assert "1 some parts failed" in text and "2 bad input" in text


# ---------------------------------------------------------------- report

@pytest.fixture(scope="module")
def clean_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("clean_report")
    files = R.write_report(out, activations=ACTS, budget=QUICK)
    assert not files.failed
    return out


def _sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## ", markdown, flags=re.MULTILINE)
    return {p.split("\n", 1)[0].strip(): p for p in parts[1:]}


def test_a_failing_section_and_figure_are_named_and_the_rerun_completes_byte_identical(clean_report, tmp_path,
                                                                                       monkeypatch):
    sections: list[str] = []
    faulty = {"relu"}
    _plant(monkeypatch, R, "section", faulty, sections)
    spec = F._FIXED["dying_relu"]

    def broken(budget):
        raise BoundError("planted fault in dying_relu")

    monkeypatch.setitem(F._FIXED, "dying_relu", F.FigureSpec(spec.name, spec.doc, broken))
    out = tmp_path / "report"
    files = R.write_report(out, activations=ACTS, budget=QUICK)
    assert [(f.name, f.reason) for f in files.failed] == [
        ("section relu", "ComputationTimeout: planted fault in relu"),
        ("figure dying_relu", "BoundError: planted fault in dying_relu")]
    assert sections == ["sigmoid", "relu"]
    md = (out / "report.md").read_text()
    clean_md = (clean_report / "report.md").read_text()
    got, want = _sections(md), _sections(clean_md)
    assert got["sigmoid"] == want["sigmoid"]  # the finished section is complete
    assert got["relu"].strip() == ("relu\n\n*This section is missing: it could not be computed (ComputationTimeout: "
                                   "planted fault in relu).*")
    assert ("*The figure dying_relu is missing: it could not be made (BoundError: planted fault in dying_relu).*"
            in md and "figures/dying_relu.png" not in md)
    tex = (out / "report.tex").read_text()
    assert r"\section{relu}" in tex and "This section is missing: it could not be computed (ComputationTimeout" in tex
    assert "figures/dying_relu.png" not in tex and tex.rstrip().endswith(r"\end{document}")
    written = {p.name for p in (out / "figures").glob("*.png")}
    assert written == {f"{n}.png" for n, _ in OVERVIEW if n != "dying_relu"} | {"activation_sigmoid.png"}
    for name in written:
        assert (out / "figures" / name).read_bytes() == (clean_report / "figures" / name).read_bytes()
    before = _stamps(out)

    faulty.clear()
    sections.clear()
    monkeypatch.setitem(F._FIXED, "dying_relu", spec)
    again = R.write_report(out, activations=ACTS, budget=QUICK)
    assert not again.failed and sections == ["relu"]  # the finished section was read back, not computed
    after = _stamps(out)
    redone = {"report.md", "report.tex", ".parts/section_relu.json", "figures/activation_relu.png",
              "figures/.parts/activation_relu.png.json", "figures/dying_relu.png", "figures/.parts/dying_relu.png.json"}
    assert set(after) - set(before) == redone - {"report.md", "report.tex"}
    kept = {k: v for k, v in before.items() if k not in redone}
    assert {k: v for k, v in after.items() if k not in redone} == kept and kept  # every other file untouched
    assert _tree(out) == _tree(clean_report)  # byte-identical to the uninterrupted run, stored parts included


def test_cli_report_exits_1_and_a_rerun_exits_0(clean_report, tmp_path, monkeypatch, capsys):
    """Only the new section is computed (every figure and the other sections are reused from the clean run)."""
    out = tmp_path / "report"
    shutil.copytree(clean_report, out)
    monkeypatch.setattr(R, "write_report", functools.partial(R.write_report, budget=QUICK))
    faulty = {"softmax"}
    _plant(monkeypatch, R, "section", faulty, [])
    status = main(["report", "--out", str(out), "--act", *ACTS, "softmax", "--json"])
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert status == 1 and "Traceback" not in captured.err
    assert err[-1].startswith("analytic: report: 1 of ") and "(section softmax)" in err[-1]
    assert "ComputationTimeout: planted fault in softmax" in err[-1]
    assert '"failed": [{"error": "ComputationTimeout: planted fault in softmax", "name": "section softmax"}]' \
        in captured.out
    assert "*This section is missing: it could not be computed" in (out / "report.md").read_text()
    faulty.clear()
    assert main(["report", "--out", str(out), "--act", *ACTS, "softmax"]) == 0
    assert "This section is missing" not in (out / "report.md").read_text()


def test_a_stored_section_is_reused_only_under_its_own_key(tmp_path, monkeypatch):
    act = resolve("sigmoid")
    real = R.section(act, QUICK, "png")
    calls: list[str] = []
    monkeypatch.setattr(R, "section", lambda a, budget, fmt: calls.append((a.name, budget.seed)) or real)
    report = R.Report((), R.CHAIN_WEIGHTS, R.PREACT, R.REPORT_DEPTHS, R.MC_DEPTH, QUICK.chains, QUICK.seed, "png")
    piece, reused = R._section_piece(act, QUICK, report, tmp_path)
    assert not reused and calls == [("sigmoid", 0)]
    again, reused = R._section_piece(act, QUICK, report, tmp_path)
    assert reused and again == piece and calls == [("sigmoid", 0)]
    other = QUICK.__class__(**{**QUICK.__dict__, "seed": 1})
    _, reused = R._section_piece(act, other, report, tmp_path)
    assert not reused and calls[-1] == ("sigmoid", 1)        # another budget: computed again
    _, reused = R._section_piece(resolve("elu"), QUICK, report, tmp_path)
    _, reused = R._section_piece(act, QUICK, report, tmp_path)
    assert not reused and len(calls) == 4                     # the part now holds seed 1's key
    stored = tmp_path / "section_sigmoid.json"
    stored.write_text(stored.read_text().replace('"activation": "sigmoid"', '"activation": "tanh"'))
    _, reused = R._section_piece(act, QUICK, report, tmp_path)
    assert not reused and len(calls) == 5                     # a key that differs in any field is not reused
    stored.write_text(stored.read_text()[:-40])               # a truncated part (cannot happen, atomic writes)
    _, reused = R._section_piece(act, QUICK, report, tmp_path)
    assert not reused and len(calls) == 6
    assert R.section_key(act, QUICK) != R.section_key(resolve("elu"), QUICK)
    elu = resolve("elu")
    assert R.section_key(elu, QUICK) != R.section_key(BoundActivation.of(elu.record, {"alpha": 2}), QUICK)


def test_a_failing_pdflatex_run_is_a_failed_part_and_the_sources_are_written(tmp_path, monkeypatch):
    def failing_pdflatex(tex, seconds=R.PDFLATEX_SECONDS):
        raise OutputError(f"pdflatex failed on {tex}: ! planted error")

    monkeypatch.setattr(R.shutil, "which", lambda name: "/usr/bin/pdflatex")
    monkeypatch.setattr(R, "compile_pdf", failing_pdflatex)
    monkeypatch.setattr(R, "write_figures", lambda out, fmt, **k: F.FigureFiles((), fmt))  # no figures needed here
    files = R.write_report(tmp_path, activations=["sigmoid"], budget=QUICK, format="pdf")
    assert [f.name for f in files.failed] == ["report.pdf"] and "planted error" in files.failed[0].reason
    assert [p.name for p in files.paths] == ["report.md", "report.tex"] and not (tmp_path / "report.pdf").exists()
    assert r"\section{sigmoid}" in (tmp_path / "report.tex").read_text()


def test_an_interrupted_report_keeps_its_finished_sections_and_resumes(clean_report, tmp_path, monkeypatch):
    """Ctrl-C while the second section is computed: the first is kept, and the rerun computes only the second."""
    sections: list[str] = []
    original = R.section

    def interrupted(act, *args):
        sections.append(act.name)
        if act.name == "relu" and len(sections) == 2:
            raise KeyboardInterrupt
        return original(act, *args)

    monkeypatch.setattr(R, "section", interrupted)
    monkeypatch.setattr(R, "write_figures", lambda out, fmt, **k: F.FigureFiles((), fmt))  # figures: tested above
    with pytest.raises(KeyboardInterrupt):
        R.write_report(tmp_path, activations=ACTS, budget=QUICK)
    assert sorted(p.name for p in (tmp_path / ".parts").iterdir()) == ["section_sigmoid.json"]
    assert not (tmp_path / "report.md").exists() and not list(tmp_path.rglob("*.part"))
    R.write_report(tmp_path, activations=ACTS, budget=QUICK)
    assert sections == ["sigmoid", "relu", "relu"]
    for name in ("report.md", "report.tex", ".parts/section_sigmoid.json", ".parts/section_relu.json"):
        assert (tmp_path / name).read_bytes() == (clean_report / name).read_bytes(), name
