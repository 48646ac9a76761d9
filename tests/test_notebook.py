"""Notebook ergonomics: short reprs, HTML/LaTeX display, to_frame, depth_table, the public plotting API, and
examples/tour.ipynb executed end to end (so it cannot rot)."""
from __future__ import annotations

import math
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy import stats

import analytic
from analytic.output import figures as F
from analytic.output.budget import QUICK
from analytic.core.display import REPR_CHARS
from hang_guard import WALL_SECONDS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def results():
    return {
        "derivation": analytic.derive("silu", at=[0.0, 1.0]),
        "bound": analytic.bound("gelu"),
        "gradient": analytic.independence_product("tanh", 10, "normal(1, 0.5)"),
        "simulation": analytic.simulate("sigmoid", 5, "normal(1, 0.5)", samples=2000, seed=3),
        "mean_field": analytic.mean_field("tanh", 1.5, 0.05),
    }


def test_reprs_are_short_and_free_of_markup(results):
    for name, r in results.items():
        text = repr(r)
        assert len(text) <= REPR_CHARS and ":math:" not in text and "\n" not in text, (name, text)


def test_rich_display(results):
    latex = results["derivation"]._repr_latex_()
    assert latex.startswith("$") and r"\sigma" in latex and "**" not in latex
    b = results["bound"]
    page = b._repr_html_()
    assert page.count("<li>") == len(b.steps) and "<ol>" in page  # the proof as a numbered list
    for key in ("gradient", "simulation", "mean_field"):
        assert "<table>" in results[key]._repr_html_()
    assert "verdict" in results["simulation"]._repr_html_()


def test_to_frame_carries_the_same_numbers(results):
    pytest.importorskip("pandas")
    d = results["derivation"].to_frame()
    assert list(d["dphi"]) == pytest.approx(list(results["derivation"].dphi_values))
    b = results["bound"].to_frame()
    assert b.loc[b.kind == "sup", "lower"].item() == pytest.approx(1.1289041451851547)
    s = results["simulation"].to_frame()
    assert set(s.statistic) >= {"mean"}


def test_depth_table_matches_closed_forms_for_the_identity():
    pytest.importorskip("pandas")
    depths = [1, 3, 7]
    frame = analytic.depth_table("identity", depths, "normal(1, 0.5)").to_frame()
    mu, sigma = 1.0, 0.5  # E|w| of N(mu, sigma^2), the folded normal's mean
    e_abs = sigma * math.sqrt(2 / math.pi) * math.exp(-mu ** 2 / (2 * sigma ** 2)) + mu * (1 - 2 * stats.norm.cdf(-mu / sigma))
    assert list(frame.depth) == depths
    assert np.allclose(frame["mean"], 1.0, rtol=1e-9)
    assert np.allclose(frame["mean_square"], [1.25 ** r for r in depths], rtol=1e-9)
    assert np.allclose(frame["bound"], [e_abs ** r for r in depths], rtol=1e-6)


def test_plot_functions_draw_into_the_given_axes_and_leave_rcparams_alone():
    before = dict(matplotlib.rcParams)
    ax = Figure().add_subplot()
    assert analytic.plot_activation("relu", ax=ax, grid=101) is ax and ax.lines
    pair = Figure().subplots(1, 2)
    out = analytic.plot_activation("selu", ax=pair, grid=101)
    assert out is pair and pair[1].texts  # the bound label
    ax = Figure().add_subplot()
    assert analytic.plot_gradient_depth("sigmoid", ax=ax, budget=QUICK) is ax and ax.get_yscale() == "log"
    new = analytic.plot_dying_relu(budget=QUICK)
    assert new.figure.get_size_inches()[0] == pytest.approx(3.4)
    assert dict(matplotlib.rcParams) == before


def test_figures_are_drawn_through_the_public_api(monkeypatch):
    calls = []
    real = F.plot_activation
    monkeypatch.setattr(F, "plot_activation", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    F.build("activation_tanh", QUICK)
    assert calls == ["tanh"]


def test_public_plotting_names_are_exported():
    for name in ("plot_activation", "plot_gradient_depth", "plot_histogram", "plot_phase_diagram",
                 "plot_dying_relu", "plot_sweep", "depth_table"):
        assert name in analytic.__all__ and callable(getattr(analytic, name))


def test_the_tour_notebook_executes():
    import nbclient  # in the test extra: never skipped
    import nbformat

    nb = nbformat.read(ROOT / "examples" / "tour.ipynb", as_version=4)
    start = time.perf_counter()
    nbclient.NotebookClient(nb, timeout=WALL_SECONDS, kernel_name="python3",
                            resources={"metadata": {"path": str(ROOT / "examples")}}).execute()
    seconds = time.perf_counter() - start
    print(f"tour.ipynb executed in {seconds:.1f} s")
    kinds = [set(o.get("data", {})) for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert any("text/latex" in k for k in kinds) and any("text/html" in k for k in kinds)
    assert any("image/png" in k for k in kinds)  # the figure drawn into the user's own axes
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
