"""The architectures figure: its drawn exact curves against closed forms derived here, withheld values left
undrawn, a legend entry for every line and marker, and bytes that repeat for the seed."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy.integrate import quad

from analytic.errors import ArgumentError
from analytic.output import architecture_panels as AP
from analytic.output import figures as F
from analytic.output.api import plot_architectures
from analytic.output.budget import QUICK
from analytic.output.style import new_figure

R = QUICK.arch_depth


def _drawn():
    fig = new_figure((8, 5))
    return plot_architectures(ax=list(fig.subplots(1, 4)), budget=QUICK)


def _normal_expectation(f) -> float:
    return quad(lambda w: f(w) * math.exp(-w * w / 2) / math.sqrt(2 * math.pi), -np.inf, np.inf, epsabs=1e-14,
                epsrel=1e-13)[0]


@pytest.mark.parametrize("network, alpha", [("residual α = 1", 1.0), ("residual α = 1/√R", 1 / math.sqrt(R)),
                                            ("plain", None)])
def test_the_relu_curves_are_the_closed_forms(network, alpha):
    """x = 1 > 0 keeps every ReLU residual state positive, so each post-branch factor is 1 + alpha max(w, 0), i.i.d.:
    E|prod_r| = E[1 + alpha max(w, 0)]^r. The plain chain is non-zero only while every w > 0: E[w; w > 0]^r."""
    if alpha is None:
        base = _normal_expectation(lambda w: max(w, 0.0))
    else:
        base = _normal_expectation(lambda w: abs(1 + alpha * max(w, 0.0)))
    line = _drawn()[("relu", network)]
    r, y = line.get_data()
    assert list(r) == list(range(1, R + 1))
    assert np.allclose(y, base ** np.arange(1, R + 1), rtol=1e-8, atol=0)


def test_the_plain_relu_gradient_correlation_is_the_arccosine_form():
    """Plain ReLU, He weights: c -> (sqrt(1 - c^2) + (pi - arccos c) c)/pi forward, and each backward factor is
    E[phi'phi']/E[phi'^2] = 1 - arccos(c)/pi (the arc-cosine kernel of degree 0), multiplied from the output down."""
    cs = [AP.C0]
    for _ in range(R - 1):
        c = cs[-1]
        cs.append((math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi)
    expected = np.cumprod([1 - math.acos(c) / math.pi for c in cs][::-1])
    y = _drawn()[("correlation", "ReLU, plain")].get_ydata()
    assert np.allclose(y, expected, rtol=1e-10, atol=0)


def test_the_residual_monte_carlo_points_agree_with_the_exact_line():
    """The residual chains' light tails make the standard errors trustworthy: every drawn point within 4 of them."""
    panel = AP.chain_panel("relu", QUICK)
    for c in panel.curves:
        if c.network.startswith("residual"):
            exact = c.exact[c.mc_depths - 1]
            se = (c.mc_upper - c.mc) / 1.959963984540054
            assert np.all(np.abs(c.mc - exact) <= 4 * se), c.network


def test_the_residual_twin_agrees_with_the_mean_field_at_the_quick_depth():
    """At depth 8 the width-256 twin's gradient correlation is within 4 of its standard errors of the mean field
    for every residual network of the panel (the finite-width departure of deep ReLU networks starts later)."""
    panel = AP.correlation_panel(QUICK)
    lines = {label: values for label, _, _, values in panel.curves}
    assert len(panel.twins) == 4
    for label, _, depths, m, lower, upper in panel.twins:
        se = (upper - m) / 1.959963984540054
        assert np.all(np.abs(m - lines[label][depths - 1]) <= 4 * np.maximum(se, 1e-12)), label


def test_a_withheld_value_is_not_drawn(monkeypatch):
    """A value the exact chain withholds at depth 3 leaves a gap in the line, not a number."""
    real = AP._exact

    def planted(act, network, depth):
        chain = real(act, network, depth)
        series = chain.by_depth["mean_abs"]
        converged = np.array(series.converged, dtype=bool).copy()
        converged[2] = False
        return dataclasses.replace(chain, by_depth={**chain.by_depth,
                                                    "mean_abs": dataclasses.replace(series, converged=converged)})

    monkeypatch.setattr(AP, "_exact", planted)
    panel = AP.chain_panel.__wrapped__("relu", QUICK)
    fig = new_figure((3, 3))
    drawn = AP.draw_chain(fig.subplots(), panel)
    for c in panel.curves:
        y = drawn[c.network].get_ydata()
        assert math.isnan(y[2]) and np.all(np.isfinite(np.delete(y, 2))), c.network


def test_the_legend_names_every_line_and_marker():
    fig = F.build("architectures", QUICK, "paper")
    texts, markers = [], []
    for ax in fig.axes:
        legend = ax.get_legend()
        if legend is not None:
            texts += [t.get_text() for t in legend.get_texts()]
            markers += [h.get_marker() for h in legend.legend_handles if hasattr(h, "get_marker")]
    joined = "\n".join(texts)
    for word in ("plain", "residual", r"\alpha = 1/\sqrt{R}", "recurrent", "Monte Carlo", "not drawn"):
        assert word in joined, word
    assert "o" in markers
    correlation_axes = fig.axes[3]
    drawn_labels = {line.get_label() for line in correlation_axes.get_lines() if not line.get_label().startswith("_")}
    assert drawn_labels <= set(texts) and len(drawn_labels) == len(AP.correlation_panel(QUICK).curves) + 1
    assert "s" in markers and "twin" in joined
    for note in (*AP.LEFT_OUT.values(), AP.TWIN_NOTE):
        assert note in joined
    for line in (fig.get_suptitle() + "\n" + joined).splitlines():  # no formula split across lines
        assert line.count("$") % 2 == 0, line


def test_the_figure_bytes_repeat_for_the_seed(tmp_path):
    first = F.write_figures(tmp_path / "a", "png", only=["architectures"], budget=QUICK).paths[0].read_bytes()
    AP.chain_panel.cache_clear()
    AP.correlation_panel.cache_clear()  # computed again, not read back
    second = F.write_figures(tmp_path / "b", "png", only=["architectures"], budget=QUICK).paths[0].read_bytes()
    assert first == second


def test_plot_architectures_needs_four_axes():
    with pytest.raises(ArgumentError):
        plot_architectures(ax=new_figure((3, 3)).subplots(), budget=QUICK)
