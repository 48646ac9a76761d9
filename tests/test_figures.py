"""Figures: every one renders on Agg, bytes are reproducible across processes, saves are atomic, bad output
paths fail cleanly, and the data drawn agrees with independent computations."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

from analytic.output import figures as F
from analytic.output.budget import QUICK
from analytic.output.network_panels import (PHASE_SIGMA_B2, PHASE_SIGMA_W2_MAX, finite_width_panel, isometry_panels,
                                            phase_panel, relu_phase_panel)
from analytic.output.panels import Z95, activation_panel, dead_panel, softmax_jacobians
from analytic.output.save import DPI, save
from analytic.output.style import STYLE_NAMES, figure_size, style
from analytic.core.activations import catalogue
from analytic.errors import ArgumentError, OutputError, UnknownFigure
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- the list of figures

def test_the_list_is_derived_from_the_registry():
    names = F.figure_names()
    assert [n for n in names if n.startswith("activation_")] == [f"activation_{a.name}" for a in catalogue()]
    for fixed in ("activations", "softmax_jacobian"):
        assert fixed in names
    assert len(names) == len(set(names))


def test_select_accepts_patterns_and_refuses_unknown_names():
    chosen = [f.name for f in F.select(["activation_s*", "activations"])]
    assert chosen[0] == "activations"
    assert set(chosen[1:]) == {f"activation_{a.name}" for a in catalogue() if a.name.startswith("s")}
    with pytest.raises(UnknownFigure, match="no_such_figure"):
        F.select(["no_such_figure"])


@pytest.mark.parametrize("figure, plot, expected", [
    ("gradient_depth", "plot_gradient_depth", ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu"]),
    ("preactivation_law", "plot_preactivation_law", ["sigmoid", "tanh"]),
    ("histogram", "plot_histogram", ["sigmoid", "tanh"]),
])
def test_shared_figures_draw_the_activations_the_registry_tags_for_them(monkeypatch, figure, plot, expected):
    tagged = [a.name for a in catalogue() if figure in a.figures]
    assert F.figure_activations(figure) == tuple(tagged) == tuple(expected)
    calls = []
    monkeypatch.setattr(F, plot, lambda name, ax=None, **k: calls.append(name) or ax)
    F.build(figure, QUICK)
    assert calls == expected


@pytest.mark.parametrize("style_name", STYLE_NAMES)
@pytest.mark.parametrize("name", F.figure_names())
def test_every_figure_renders_on_agg_with_all_its_text_on_the_canvas(name, style_name):
    """Every figure in every style (QUICK; the data are memoised per budget, so the second style redraws only):
    drawn on Agg, every text artist inside the canvas, no two titles or labels of one axes overlapping, and in the
    slides style a 16:9 landscape canvas."""
    fig = F.build(name, QUICK, style_name)
    assert isinstance(fig.canvas, FigureCanvasAgg)
    fig.canvas.draw()
    width, height = fig.canvas.get_width_height()
    assert width > 100 and height > 100
    if style_name == "slides":
        assert abs(width / height - 16 / 9) < 0.01, (name, width, height)
    drawn = [ax for ax in fig.axes if ax.get_visible() and (ax.lines or ax.collections or ax.patches)]
    assert drawn, f"{name} drew nothing"
    for dpi in (fig.dpi, DPI):  # on screen and as saved (hinted text is not exactly proportional to the dpi)
        fig.set_dpi(dpi)
        fig.canvas.draw()
        assert _text_outside_the_canvas(fig) == [], (name, dpi)
        assert _overlapping_labels(fig) == [], (name, dpi)


def _drawn_texts(fig) -> list:
    """Every text artist the canvas draws (visible, not empty, in a visible axes); of the tick labels only those
    of ticks inside the view (matplotlib keeps labels of the ticks beyond it, undrawn)."""
    from matplotlib.text import Text

    tick_labels, out = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                tick_labels.update({id(tick.label1), id(tick.label2)})
            drawn = ax.get_visible() and ax.axison
            shown = axis._update_ticks() if drawn else []  # the ticks the next draw places
            out += [label for tick in shown for label in (tick.label1, tick.label2) if label.get_visible()]
    for t in fig.findobj(lambda a: isinstance(a, Text)):
        if id(t) not in tick_labels and t.get_visible() and (t.axes is None or t.axes.get_visible()):
            out.append(t)
    return [t for t in out if t.get_text().strip()]


def _text_outside_the_canvas(fig) -> list:
    renderer = fig.canvas.get_renderer()
    canvas = fig.bbox
    outside = []
    for t in _drawn_texts(fig):
        box = t.get_window_extent(renderer)
        if box.x0 < canvas.x0 - 0.5 or box.y0 < canvas.y0 - 0.5 or box.x1 > canvas.x1 + 0.5 \
                or box.y1 > canvas.y1 + 0.5:
            outside.append((t.get_text()[:60], tuple(round(v) for v in box.extents)))
    return outside


def _overlapping_labels(fig) -> list:
    """Pairs of titles and axis labels that overlap: within one axes, and between the figure's own (suptitle,
    supxlabel, supylabel) and those of any axes."""
    renderer = fig.canvas.get_renderer()

    def shown(texts):
        return [t for t in texts if t is not None and t.get_visible() and t.get_text().strip()]

    own = shown([fig._suptitle, fig._supxlabel, fig._supylabel])
    groups = [own]
    for ax in fig.axes:
        if ax.get_visible():
            groups.append(own + shown([ax.title, ax._left_title, ax._right_title, ax.xaxis.label, ax.yaxis.label]))
    clashes = set()
    for labels in groups:
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                if a.get_window_extent(renderer).overlaps(b.get_window_extent(renderer)):
                    clashes.add((a.get_text()[:40], b.get_text()[:40]))
    return sorted(clashes)


def test_every_activation_figure_renders():
    for a in catalogue():
        fig = F.build(f"activation_{a.name}", QUICK)
        ax_phi, ax_dphi = fig.axes[:2]
        assert ax_phi.lines and ax_dphi.lines


# ---------------------------------------------------------------- data drawn vs independent routes

def test_kink_marks_follow_the_pytorch_convention():
    relu = activation_panel("relu", 201)
    assert relu.dphi.marks == ((0.0, 0.0),)                # PyTorch's ReLU'(0) = 0 ...
    assert relu.dphi.holes == ((0.0, 0.0), (0.0, 1.0))     # ... between the one-sided limits 0 and 1
    assert relu.dphi.breaks == (0.0,)
    swish = activation_panel("hard_swish", 201)          # x/3 + 1/2 on [-3, 3], PyTorch takes 3/2 at 3
    np.testing.assert_allclose(swish.dphi.marks, [(-3.0, -0.5), (3.0, 1.5)])
    np.testing.assert_allclose(swish.dphi.holes, [(-3.0, 0.0), (-3.0, -0.5), (3.0, 1.5), (3.0, 1.0)], atol=1e-8)
    assert activation_panel("softsign", 201).dphi.breaks == ()   # continuous derivative: no jump drawn


def _softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def test_softmax_jacobian_entries_match_finite_differences_and_bounds():
    data = softmax_jacobians([3], samples=5, seed=7)
    # rebuild the same logits the function drew, and differentiate softmax numerically
    rng = np.random.default_rng(7)
    tau = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=(5, 1)))
    z = rng.standard_normal((5, 3)) * tau
    h = 1e-6
    diag, off, norm = [], [], []
    for row in z:
        J = np.empty((3, 3))
        for j in range(3):
            e = np.zeros(3)
            e[j] = h
            J[:, j] = (_softmax(row + e) - _softmax(row - e)) / (2 * h)
        diag += list(np.diag(J))
        off += list(J[~np.eye(3, dtype=bool)])
        norm.append(np.linalg.norm(J, 2))
    np.testing.assert_allclose(data.diagonal[0], diag, atol=1e-8)
    np.testing.assert_allclose(data.off_diagonal[0], off, atol=1e-8)
    np.testing.assert_allclose(data.norm[0], norm, atol=1e-8)
    big = softmax_jacobians([2, 5, 9], samples=2000, seed=1)
    assert max(d.max() for d in big.diagonal) <= 0.25 + 1e-15
    assert min(d.min() for d in big.off_diagonal) >= -0.25 - 1e-15
    assert max(d.max() for d in big.norm) <= 0.5 + 1e-12
    assert max(d.max() for d in big.norm) > 0.49     # the bound is approached, not merely respected


def test_dying_relu_curve_is_the_normal_cdf_and_the_simulations_agree():
    from scipy.stats import norm

    d = dead_panel(QUICK)
    np.testing.assert_allclose(d.curve_y, norm.cdf(-d.curve_x / np.sqrt(2.0)), atol=1e-12)
    p = d.points
    expected = norm.cdf(-p.x / np.sqrt(2.0))
    stderr = (p.upper - p.lower) / (2 * Z95)
    assert np.all(np.abs(p.value - expected) <= 4 * stderr + 1e-12)
    # the wide network's first layer: v ~ N(mu, |W_i|^2), |W_i|^2 ≈ 2; a loose band for the finite width
    assert np.all(np.abs(d.extra_y - norm.cdf(-d.extra_x / np.sqrt(2.0))) < 0.05)


def test_phase_diagram_regions_agree_with_simulated_networks():
    from analytic.theory.correlation import signal_propagation
    from analytic.theory.meanfield import mean_field

    panel = phase_panel(QUICK)
    for sw, sb in zip(panel.critical_sigma_w2[::7], panel.sigma_b2[::7]):
        if sb > 1e-3:  # at sigma_b^2 -> 0 the critical q* -> 0 and q_0 = 1 needs many layers to get there
            assert abs(mean_field("tanh", float(sw), float(sb)).chi1 - 1) < 1e-6
    # tanh's own end point only (sigma_b^2 = 0: chi_1 = sigma_w^2 E[tanh'(0)^2] at q* = 0, so sigma_w^2 = 1);
    # ReLU's sigma_w^2 = 2 belongs to another activation and is not drawn on tanh's plane
    assert [(round(x, 9), y) for x, y, _ in panel.points] == [(1.0, 0.0)]
    assert not any("ReLU" in label for _, _, label in panel.points)   # ReLU's point only on its own diagram
    relu = relu_phase_panel(QUICK)
    assert relu.points[0][0] == pytest.approx(2.0)              # ReLU: chi_1 = sigma_w^2 / 2
    # the xi_c grid is the library's value at each grid point, and diverges towards the critical line
    j, i = 2, 3
    s = signal_propagation("tanh", float(panel.contour_sigma_w2[i]), float(panel.contour_sigma_b2[j]))
    assert panel.xi_c[j, i] == s.xi_c
    # the adaptive critical line has no corner: successive segments turn by less than 3 degrees
    x = np.asarray(panel.critical_sigma_w2) / PHASE_SIGMA_W2_MAX
    y = np.asarray(panel.sigma_b2) / (PHASE_SIGMA_B2[1] - PHASE_SIGMA_B2[0])
    angles = np.unwrap(np.arctan2(np.diff(y), np.diff(x)))
    assert np.max(np.abs(np.diff(angles))) < np.radians(3)
    for sw, sb, measured, theory in panel.checks:
        critical = np.interp(sb, panel.sigma_b2, panel.critical_sigma_w2)
        assert (measured < 1) == (sw < critical) == (theory < 1)
        assert abs(measured - theory) < 0.05


# ---------------------------------------------------------------- reproducible bytes

_SCRIPT = """
import sys
from pathlib import Path
from analytic.output.budget import QUICK
from analytic.output.figures import build
from analytic.output.save import FORMATS, save
out = Path(sys.argv[1]); out.mkdir()
for name in sys.argv[2:]:
    fig = build(name, QUICK)
    for fmt in FORMATS:
        save(fig, out / f"{name}.{fmt}")
"""


def _digests(folder: Path) -> dict[str, str]:
    """The figure files in ``folder`` (the stored keys of finished figures sit in ``folder/.parts``)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def test_two_processes_write_identical_bytes(tmp_path):
    """PNG, SVG and PDF bytes of three figures (one drawn from Monte Carlo samples) agree across processes with
    different hash seeds."""
    names = ["softmax_jacobian", "activation_selu", "histogram"]
    runs = []
    for i, hashseed in enumerate(("1", "2")):
        out = tmp_path / f"run{i}"
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        subprocess.run([sys.executable, "-c", _SCRIPT, str(out), *names], check=True, cwd=ROOT, env=env,
                       timeout=WALL_SECONDS)
        runs.append(_digests(out))
    assert runs[0] == runs[1]
    assert {Path(n).suffix for n in runs[0]} == {".png", ".svg", ".pdf"}
    assert len(runs[0]) == 3 * len(names)


def test_parallel_and_serial_writes_give_the_same_bytes(tmp_path):
    names = ["softmax_jacobian", "activation_relu"]
    serial = F.write_figures(tmp_path / "serial", "png", only=names, budget=QUICK, jobs=1)
    parallel = F.write_figures(tmp_path / "parallel", "png", only=names, budget=QUICK, jobs=2)
    assert [p.name for p in serial.paths] == [p.name for p in parallel.paths] == [f"{n}.png" for n in names]
    assert _digests(tmp_path / "serial") == _digests(tmp_path / "parallel")


def test_metadata_carries_no_date_or_version(tmp_path):
    fig = F.build("activation_relu", QUICK)
    svg = save(fig, tmp_path / "a.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    png = save(fig, tmp_path / "a.png").read_bytes()
    assert b"Software" not in png and b"Matplotlib" not in png
    pdf = save(fig, tmp_path / "a.pdf").read_bytes()
    assert b"/CreationDate" not in pdf and b"/Producer" not in pdf


# ---------------------------------------------------------------- atomic saves and bad paths

def test_an_interrupted_save_leaves_no_partial_and_no_temporary_file(tmp_path, monkeypatch):
    fig = F.build("activation_relu", QUICK)
    target = tmp_path / "relu.png"
    target.write_bytes(b"previous version")
    original = type(fig).savefig

    def savefig_then_fail(self, fname, **kwargs):
        fname.write(b"\x89PNG half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(type(fig), "savefig", savefig_then_fail)
    with pytest.raises(KeyboardInterrupt):
        save(fig, target)
    assert target.read_bytes() == b"previous version"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["relu.png"]
    (tmp_path / "relu.png").unlink()
    with pytest.raises(KeyboardInterrupt):
        save(fig, tmp_path / "new.svg")
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(type(fig), "savefig", original)
    assert save(fig, tmp_path / "new.svg").stat().st_size > 1000


def test_bad_output_paths_raise_a_library_error(tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="is a file"):
        F.write_figures(a_file, "png", only=["activation_relu"], budget=QUICK)
    with pytest.raises(OutputError, match="format"):
        F.write_figures(tmp_path, "jpg", only=["activation_relu"], budget=QUICK)
    with pytest.raises(OutputError, match="not a folder"):
        save(F.build("activation_relu", QUICK), tmp_path / "missing" / "relu.png")
    assert a_file.read_text() == "x"


def _cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *args], capture_output=True, text=True,
                          cwd=cwd, timeout=WALL_SECONDS)


def test_cli_out_pointing_at_a_file_exits_2_with_one_line(tmp_path):
    a_file = tmp_path / "taken"
    a_file.write_text("keep me")
    res = _cli("figures", "--out", str(a_file), "--only", "activation_relu")
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and "is a file" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert a_file.read_text() == "keep me"
    res = _cli("figures", "--out", str(tmp_path), "--only", "nonexistent")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1


def test_cli_writes_files_reports_progress_and_json(tmp_path):
    import json

    res = _cli("figures", "--out", str(tmp_path), "--format", "svg", "--only", "activation_tanh",
               "activation_relu", "--json")
    assert res.returncode == 0, res.stderr
    files = json.loads(res.stdout)["files"]
    assert [Path(f).name for f in files] == ["activation_tanh.svg", "activation_relu.svg"]
    assert all(Path(f).stat().st_size > 0 for f in files)
    progress = sorted(res.stderr.strip().splitlines())   # figures are built in parallel: any order
    assert [line.split(":")[0] for line in progress] == ["[1/2] activation_relu", "[2/2] activation_tanh"] or \
        [line.split(":")[0] for line in progress] == ["[1/2] activation_tanh", "[2/2] activation_relu"]
    # the same command again keeps both files (same key, same bytes) and says so
    stamps = [(Path(f).stat().st_ino, Path(f).stat().st_mtime_ns) for f in files]
    again = _cli("figures", "--out", str(tmp_path), "--format", "svg", "--only", "activation_tanh", "activation_relu")
    assert again.returncode == 0 and again.stdout.split() == files
    assert again.stderr.strip().splitlines() == ["[1/2] activation_tanh: finished before, reused",
                                                 "[2/2] activation_relu: finished before, reused"]
    assert [(Path(f).stat().st_ino, Path(f).stat().st_mtime_ns) for f in files] == stamps


def test_pdf_figures_embed_no_type3_font_and_print_at_paper_size(tmp_path):
    """Every figure written as PDF embeds TrueType (Type 42) fonts, never Type 3, and is 3.4 or 7 in wide."""
    import re
    import zlib

    files = F.write_figures(tmp_path, "pdf", budget=QUICK, jobs=2)
    assert len(files.paths) == len(F.figure_names())
    for pdf in files.paths:
        raw = pdf.read_bytes()
        # font dictionaries may sit in compressed object streams: inflate every stream too
        streams = re.findall(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.DOTALL)
        text = b"".join([raw] + [zlib.decompress(m) for m in streams if _inflates(m)])
        assert b"/Type3" not in text, pdf.name
        assert b"/TrueType" in text or b"/CIDFontType2" in text, pdf.name
        width_pt = float(re.search(rb"/MediaBox \[\s*0 0 ([0-9.]+) ", raw).group(1))
        assert min(abs(width_pt - 72 * w) for w in (3.4, 7.0)) < 0.5, (pdf.name, width_pt / 72)


def test_slides_style_is_larger_and_unknown_styles_are_refused(tmp_path):
    with style("slides"):
        assert figure_size("page", 0.5) == figure_size("column", 1.1) == (13.33, 7.5)  # one 16:9 slide
    assert figure_size("column", 1.0) == (3.4, 3.4)  # paper outside any style block
    with pytest.raises(OutputError):
        F.write_figures(tmp_path, "png", only=["dying_relu"], budget=QUICK, style_name="poster")
    assert not any(tmp_path.iterdir())


def _inflates(data: bytes) -> bool:
    import zlib

    try:
        zlib.decompress(data)
        return True
    except zlib.error:
        return False


@pytest.mark.parametrize("name, level", [("selu", None), ("hard_swish", 1.5), ("hard_swish", -0.5)])
def test_not_attained_bound_has_a_hollow_marker_and_its_label_keeps_clear(name, level):
    """SELU's sup λα is approached as x → 0⁻, not attained; hard swish's sup 3/2 (x → 3⁻) and inf -1/2 (x → -3⁺)
    likewise. PyTorch's value at the kink sits on the bound's line: it is drawn hollow (not a value φ′ takes),
    no filled marker is on that line, and the "(not attained)" label is not beside the hollow one."""
    from analytic.core.activations import SELU_ALPHA, SELU_SCALE

    level = float(SELU_ALPHA * SELU_SCALE) if level is None else level
    fig = F.build(f"activation_{name}", QUICK)
    fig.canvas.draw()
    ax = fig.axes[1]

    def on_line(c):
        return [tuple(o) for o in np.asarray(c.get_offsets()) if abs(o[1] - level) < 1e-9 * max(1, abs(level))]

    diamonds = [c for c in ax.collections if len(c.get_offsets()) and on_line(c)
                and c.get_paths()[0].vertices.shape[0] == 5]  # the diamond marker's path
    hollow = [c for c in diamonds if tuple(c.get_facecolor()[0][:3]) == (1.0, 1.0, 1.0)]
    filled = [c for c in diamonds if tuple(c.get_facecolor()[0][:3]) == (0.0, 0.0, 0.0)]
    assert hollow and not filled
    assert "\u25c7 PyTorch's value at the kink,\non a bound that is not attained" in ax.get_xlabel()
    label = next(t for t in ax.texts if "not attained" in t.get_text()
                 and abs(t.xy[1] - level) < 1e-9 * max(1, abs(level)))
    box = label.get_window_extent()
    x, _ = ax.transData.transform(on_line(hollow[0])[0])
    gap = max(box.x0 - x, x - box.x1, 0.0)
    assert gap > 20, (box, x)  # pixels between the label and the marker


def test_phase_figure_is_two_panels_drawn_through_the_public_api(monkeypatch):
    """The phase figure is page wide, one panel per activation, each drawn by plot_phase_diagram; tanh's panel
    shows no ReLU point and ReLU's no tanh line."""
    calls = []
    real = F.plot_phase_diagram
    monkeypatch.setattr(F, "plot_phase_diagram", lambda *a, **k: calls.append(k["activation"]) or real(*a, **k))
    fig = F.build("phase_diagram", QUICK)
    assert calls == ["tanh", "relu"]
    assert fig.get_size_inches()[0] == pytest.approx(7.0)
    left, right = fig.axes[:2]
    assert (left.get_title(), right.get_title()) == ("tanh", "ReLU")
    left_labels = [t.get_text() for t in left.get_legend().get_texts()]
    right_labels = [t.get_text() for t in right.get_legend().get_texts()]
    assert not any("ReLU" in t or "= 2" in t for t in left_labels), left_labels
    assert not any("tanh" in t for t in right_labels), right_labels
    with pytest.raises(ArgumentError):
        F.plot_phase_diagram(activation="sigmoid", budget=QUICK)


def test_spectrum_figures_carry_the_library_values_and_reproduce_across_thread_counts(tmp_path):
    """The isometry and finite-width panels draw the library's numbers (histogram mass at most 1, the exact
    curve is finite_width's), and the isometry figure (matrix products and SVDs) has the same bytes in processes
    with 1 and 2 BLAS threads."""
    from analytic.theory.finite_width import finite_width

    fw = finite_width_panel(QUICK)
    k = int(np.argmin(np.abs(fw.inv_n - 1 / 64)))
    assert fw.exact[k] == finite_width("relu", 1, 2.0, round(1 / fw.inv_n[k]), median=False).log_mean.exact
    for panel in isometry_panels(QUICK):
        for s in panel.series:
            assert 0.3 < float(np.sum(s.heights * np.diff(s.edges))) <= 1.0 + 1e-12
    runs = []
    for i, threads in enumerate(("1", "2")):
        out = tmp_path / f"run{i}"
        env = {**os.environ, "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        script = ("import sys; from pathlib import Path; from analytic.output.budget import QUICK; "
                  "from analytic.output.figures import build; from analytic.output.save import save; "
                  "out = Path(sys.argv[1]); out.mkdir(); save(build('isometry', QUICK), out / 'isometry.png')")
        subprocess.run([sys.executable, "-c", script, str(out)], check=True, cwd=ROOT, env=env, timeout=WALL_SECONDS)
        runs.append(_digests(out))
    assert runs[0] == runs[1]


def test_normalisation_figure_values_and_bytes(tmp_path):
    """The identity's curve is (B - 2)/(B - 3), the relu limit pi/(pi - 1) (closed forms, not the code's output);
    the figure's bytes repeat for the same seed; plot_normalisation needs a pair of Axes."""
    import math

    from analytic.output import normalisation_panels as NP
    from analytic.output.api import plot_normalisation
    from analytic.errors import ArgumentError

    panel = NP.batch_panel(QUICK)
    curves = {c[0]: c for c in panel.curves}
    b = np.array(panel.batches, dtype=float)
    assert np.max(np.abs(curves["identity"][2] - (b - 2) / (b - 3))) < 1e-10
    assert abs(curves["relu"][3] - math.pi / (math.pi - 1)) < 1e-12
    assert curves["identity"][3] == pytest.approx(1.0, abs=1e-14)
    depth = NP.depth_panel(QUICK)
    assert all(s[4][0] == 0 and len(s[4]) == NP.DEPTH + 1 for s in depth.series)
    first = F.write_figures(tmp_path / "a", "png", only=["normalisation"], budget=QUICK).paths[0].read_bytes()
    NP.batch_panel.cache_clear()
    NP.depth_panel.cache_clear()  # computed again, not read back
    second = F.write_figures(tmp_path / "b", "png", only=["normalisation"], budget=QUICK).paths[0].read_bytes()
    assert first == second
    from analytic.output.style import new_figure

    with pytest.raises(ArgumentError):
        plot_normalisation(ax=new_figure((3, 3)).subplots(), budget=QUICK)


def test_the_jacobian_scatter_is_rasterised_so_its_pdf_stays_small(tmp_path):
    """At the full budget the softmax-Jacobian figure draws about 40,000 points; as vector marks its PDF was
    2.2 MB, with each panel's points as one image it is about 0.1 MB."""
    from analytic.output.budget import DEFAULT

    fig = F.build("softmax_jacobian", DEFAULT)
    dots = [c for ax in fig.axes for c in ax.collections if len(c.get_offsets()) > 1000]
    assert dots and all(c.get_rasterized() for c in dots)
    path = save(fig, tmp_path / "softmax_jacobian.pdf")
    assert path.stat().st_size < 300_000, path.stat().st_size


def test_saving_a_pdf_says_nothing_about_font_dates(tmp_path, caplog):
    """The prime of φ′ comes from matplotlib's BaKoMa fonts, whose head dates fontTools calls "very low" each time
    it subsets them; save() keeps that note off stderr (the dates come from the font file, not from a clock)."""
    import logging

    fig = F.build("activation_relu", QUICK)
    with caplog.at_level(logging.WARNING, logger="fontTools"):
        save(fig, tmp_path / "relu.pdf")
    assert "timestamp" not in caplog.text
    assert b"/FontFile2" in (tmp_path / "relu.pdf").read_bytes()  # a TrueType font was subset and embedded
