"""The derivation report: its numbers, read back from the Markdown, equal the library's; the files it links exist;
bad output paths fail cleanly."""
from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special

from analytic.output import report as R
from analytic.bounds import bound
from analytic.errors import OutputError
from analytic.theory.independence import independence_product
from analytic.output.budget import QUICK
from analytic.output.panels import CHAIN_WEIGHTS, PREACT
from analytic.output.sections import MC_DEPTH, OVERVIEW, REPORT_DEPTHS
from analytic.mc import simulate_chain
from analytic.theory.chain import exact_chain
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]
ACTS = ("sigmoid", "relu", "softmax")
NUMBER = r"(-?(?:\d+\.?\d*(?:e[+-]?\d+)?|inf|nan))"


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    files = R.write_report(out, activations=ACTS, budget=QUICK)
    return out, files


def _sections(markdown: str) -> dict[str, str]:
    parts = re.split(r"^## ", markdown, flags=re.MULTILINE)
    return {p.split("\n", 1)[0].strip(): p for p in parts[1:]}


def _close(a: float, b: float, rel: float = 1e-5) -> bool:
    if math.isinf(a) or math.isinf(b) or a == 0 or b == 0:
        return a == b or abs(a - b) <= 1e-300
    return abs(a - b) <= rel * max(abs(a), abs(b))


def test_files_are_written_and_every_linked_figure_exists(written):
    out, files = written
    names = sorted(p.name for p in files.paths if p.parent == out)
    assert names == ["report.md", "report.tex"]
    md = (out / "report.md").read_text()
    links = re.findall(r"\]\((figures/[^)]+\.png)\)", md)
    assert len(links) == len(OVERVIEW) + len(ACTS)
    for link in links:
        assert (out / link).stat().st_size > 1000, link
    tex = (out / "report.tex").read_text()
    for link in re.findall(r"\\includegraphics\[[^]]*\]\{([^}]+)\}", tex):
        assert (out / link).exists(), link
    assert not [p for p in out.rglob("*.part")]


def test_gradient_tables_equal_the_library(written):
    out, _ = written
    sections = _sections((out / "report.md").read_text())
    assert set(ACTS) <= set(sections)
    for name in ACTS:
        rows = re.findall(rf"^\| (\d+) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$", sections[name],
                          flags=re.MULTILINE)
        assert [int(r[0]) for r in rows] == list(REPORT_DEPTHS)
        exact = exact_chain(name, max(REPORT_DEPTHS), CHAIN_WEIGHTS)
        for r, b, m, ms, t in rows:
            g = independence_product(name, int(r), CHAIN_WEIGHTS, preact=PREACT)
            e = {q: exact.by_depth[q][int(r) - 1].value for q in ("mean", "mean_square", "log_mean")}
            for text, value in ((b, g.bound), (m, e["mean"]), (ms, e["mean_square"]), (t, math.exp(e["log_mean"]))):
                assert _close(float(text), float(value)), (name, r, text, value)
        # the independence approximation, labelled as such, with its ratio to the exact chain
        indep = re.findall(rf"^\| (\d+) \(indep\.\) \| {NUMBER} \| {NUMBER} \| {NUMBER} \|", sections[name],
                           flags=re.MULTILINE)
        assert [int(r[0]) for r in indep] == list(REPORT_DEPTHS)
        for r, m, ratio, ms in indep:
            g = independence_product(name, int(r), CHAIN_WEIGHTS, preact=PREACT)
            assert _close(float(m), float(g.mean)) and _close(float(ms), float(g.mean_square))


def test_sigmoid_table_matches_an_independent_quadrature(written):
    """E[prod] = (E[w] E[sigma'(v)])^r with E[sigma'(v)] by quadrature, E[w] = 1 for normal(1, 0.5)."""
    out, _ = written
    sigmoid_section = _sections((out / "report.md").read_text())["sigmoid"]
    rows = re.findall(rf"^\| (\d+) \| {NUMBER} \| {NUMBER} \|", sigmoid_section, flags=re.MULTILINE)
    indep = dict(re.findall(rf"^\| (\d+) \(indep\.\) \| {NUMBER} \|", sigmoid_section, flags=re.MULTILINE))
    e_dphi, _ = integrate.quad(lambda v: special.expit(v) * special.expit(-v) * np.exp(-v * v / 2)
                               / math.sqrt(2 * math.pi), -np.inf, np.inf, epsabs=1e-14)
    for r, b, _ in rows:
        assert _close(float(indep[r]), e_dphi ** int(r), rel=2e-5)
        e_abs_w = 0.5 * math.sqrt(2 / math.pi) * math.exp(-2) + 1 * (1 - 2 * special.ndtr(-2))  # E|N(1, 0.25)|
        assert _close(float(b), (e_abs_w * 0.25) ** int(r), rel=2e-5)


def test_bounds_equal_the_library(written):
    out, _ = written
    sections = _sections((out / "report.md").read_text())
    for name in ACTS:
        b = bound(name)
        for kind, ext in (("sup", b.sup), ("inf", b.inf)):
            m = re.search(rf"^- {kind} φ′ = (?:.* ≈ )?{NUMBER} \((attained|approached)", sections[name],
                          flags=re.MULTILINE)
            assert m, (name, kind)
            assert ext.lower - 1e-6 <= float(m.group(1)) <= ext.upper + 1e-6
            assert (m.group(2) == "attained") == ext.attained
    assert "sup φ′ = 1/4 ≈ 0.25 (attained at 0)" in sections["sigmoid"]


def test_monte_carlo_rows_equal_the_library(written):
    out, _ = written
    sections = _sections((out / "report.md").read_text())
    for name in ACTS:
        rows = re.findall(rf"^\| (exact chain|independence model) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \| "
                          rf"(yes|no) \| {NUMBER} \|$", sections[name], flags=re.MULTILINE)
        assert [r[0] for r in rows] == ["exact chain", "independence model"]
        g = independence_product(name, MC_DEPTH, CHAIN_WEIGHTS, preact=PREACT)
        exact = exact_chain(name, MC_DEPTH, CHAIN_WEIGHTS)["mean"].value
        for model, analytic, simulated, stderr, z, agree, median in rows:
            s = simulate_chain(name, MC_DEPTH, CHAIN_WEIGHTS, samples=QUICK.chains, seed=QUICK.seed,
                               preact=None if model == "exact chain" else PREACT)
            # like with like: each simulation is compared with the analytic value of its own model
            assert _close(float(analytic), exact if model == "exact chain" else g.mean)
            assert _close(float(simulated), s.mean.value) and _close(float(stderr), s.mean.stderr)
            assert _close(float(median), s.median_abs.value)
            assert (agree == "yes") == (abs(float(z)) <= 4 and s.ess >= 1000)
            if s.ess >= 1000:  # a reliable standard error: the analytic value of the same model must agree
                assert agree == "yes", (name, model, z)


def test_latex_carries_the_same_numbers_and_compiles_shape(written):
    out, _ = written
    md = (out / "report.md").read_text()
    tex = (out / "report.tex").read_text()
    assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}")
    assert tex.count(r"\begin{figure}") == tex.count(r"\end{figure}") == len(OVERVIEW) + len(ACTS)
    body = re.sub(r"\\[{}$]", "", tex)
    assert body.count("{") == body.count("}")
    md_rows = re.findall(rf"^\| (\d+) \| {NUMBER} \| {NUMBER} \| {NUMBER} \| {NUMBER} \|$", md, flags=re.MULTILINE)
    # LaTeX sets exponents as powers of ten: $5.5\cdot 10^{-7}$ is the Markdown's 5.5e-07
    plain = re.sub(r"\$(-?[\d.]+)\\cdot 10\^\{(-?\d+)\}\$", lambda m: f"{m[1]}e{int(m[2]):+03d}", tex)
    plain = plain.replace(r"$-\infty$", "-inf").replace(r"$\infty$", "inf")
    tex_rows = re.findall(rf"^(\d+) & {NUMBER} & {NUMBER} & {NUMBER} & {NUMBER} \\\\$", plain, flags=re.MULTILINE)
    assert md_rows == tex_rows and len(md_rows) == len(ACTS) * len(REPORT_DEPTHS)
    assert all(ord(c) < 128 for c in tex), "pdflatex needs ASCII (Unicode is mapped to macros)"


def test_output_that_is_a_file_fails_before_any_work(tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("keep")
    with pytest.raises(OutputError, match="is a file"):
        R.write_report(a_file, activations=["sigmoid"], budget=QUICK)
    res = subprocess.run([sys.executable, str(ROOT / "cli.py"), "report", "--out", str(a_file)],
                         capture_output=True, text=True, timeout=WALL_SECONDS)
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "is a file" in res.stderr
    assert "Traceback" not in res.stderr and a_file.read_text() == "keep"
