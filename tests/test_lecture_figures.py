"""The lecture figures: the per-layer picture, sparsity and born-dead networks, checked against independent
computations written here (Gauss–Hermite mean field, closed forms, NumPy simulations), with calibrated Monte
Carlo errors, legends present and no warning escaping a plot_* call."""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import replace

import numpy as np
import pytest
from scipy.special import expit, ndtr

from analytic.distributions import distribution
from analytic.errors import ArgumentError
from analytic.mc import simulate_born_dead, simulate_wide
from analytic.output import api
from analytic.output import figures as F
from analytic.output.budget import QUICK
from analytic.output.layer_panels import INITS, born_dead_panel, layer_profile_panel, sparsity_panel
from analytic.output.style import new_figure
from analytic.theory.profile import born_alive_probability, layer_profile

#: QUICK with more networks, so that the standard errors the points are held to have 15 degrees of freedom.
MORE = replace(QUICK, profile_networks=16)
#: QUICK with three layers, for the chain figures (whose exact chains cost most at depth).
SHALLOW = replace(QUICK, max_depth=3, depth_points=(1, 3), chains=500)


# ---------------------------------------------------------------- mean field, independently

@functools.lru_cache(maxsize=None)
def _hermegauss(nodes: int):
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    return z, w / math.sqrt(2 * math.pi)


def _hermite_profile(phi, dphi, sigma_w2: float, depth: int, nodes: int = 300):
    """q_l and sum_{k>l} ln chi_k by Gauss–Hermite (probabilists') quadrature, from scratch."""
    z, w = _hermegauss(nodes)
    q = [1.0, sigma_w2 * 1.0]
    log_chi = [0.0]
    for l in range(1, depth + 1):
        x = math.sqrt(q[l]) * z
        log_chi.append(math.log(sigma_w2 * float(np.sum(w * dphi(x) ** 2))))
        if l < depth:
            q.append(sigma_w2 * float(np.sum(w * phi(x) ** 2)))
    log_chi = np.array(log_chi)
    grad = np.array([log_chi[l + 1:].sum() for l in range(depth + 1)])
    return np.array(q), grad


SMOOTH = {
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2),
    "sigmoid": (expit, lambda x: expit(x) * (1 - expit(x))),
}


@pytest.mark.parametrize("act", ["sigmoid", "tanh"])
@pytest.mark.parametrize("sigma_w2", [1 / 3, 1.0, 2.0])
def test_mean_field_lines_match_gauss_hermite(act, sigma_w2):
    p = layer_profile(act, sigma_w2, 30)
    q, grad = _hermite_profile(*SMOOTH[act], sigma_w2, 30)
    assert p.reason is None
    np.testing.assert_allclose(p.q, q, rtol=1e-9, atol=0)
    np.testing.assert_allclose(p.log_gradient, grad, rtol=0, atol=1e-8)
    # the reported errors are small and cover the difference to the independent route
    assert max(p.log_gradient_error) < 1e-8
    assert np.all(np.abs(np.array(p.log_gradient) - grad) <= np.array(p.log_gradient_error) + 1e-9)


@pytest.mark.parametrize("sigma_w2", [1 / 3, 1.0, 2.0])
def test_relu_mean_field_is_the_closed_form(sigma_w2):
    p = layer_profile("relu", sigma_w2, 20)
    l = np.arange(21)
    np.testing.assert_allclose(p.q[1:], sigma_w2 * (sigma_w2 / 2) ** (l[1:] - 1), rtol=1e-12)
    np.testing.assert_allclose(p.log_gradient, (20 - l) * math.log(sigma_w2 / 2), rtol=0, atol=1e-10)
    np.testing.assert_allclose(p.off[1:], 0.5, rtol=0, atol=1e-15)


@pytest.mark.parametrize("bias", [0.3, -0.3])
def test_relu_off_fraction_with_bias_matches_the_closed_gaussian_moments(bias):
    """P(v_l <= 0) = Phi(-b/s_l) with s_{l+1}^2 = 2 E[relu(N(b, s_l^2))^2], the second moment in closed form:
    (b^2 + s^2) Phi(b/s) + b s phi(b/s)."""
    L = 8  # with b = -0.3, s_l collapses to 0 (every unit off) a few layers later
    s2 = [2.0]
    for _ in range(L - 1):
        s = math.sqrt(s2[-1])
        m2 = (bias ** 2 + s * s) * ndtr(bias / s) + bias * s * math.exp(-0.5 * (bias / s) ** 2) / math.sqrt(2 * math.pi)
        s2.append(2.0 * m2)
    expected = ndtr(-bias / np.sqrt(s2))
    p = layer_profile("relu", 2.0, L, bias_mean=bias)
    np.testing.assert_allclose(p.off[1:], expected, rtol=0, atol=1e-10)
    np.testing.assert_allclose(p.q[1:], np.array(s2) + bias ** 2, rtol=1e-10)


def test_the_standard_init_spec_has_sigma_w2_one_third():
    """Glorot & Bengio's standard U[-1/sqrt(n), 1/sqrt(n)] is a weight spec for a wide network: n E[w^2] = 1/3."""
    for n in (64, 256):
        d = distribution(INITS["standard"].spec(n))
        assert d.args == (-1 / math.sqrt(n), 1 / math.sqrt(n))
        assert n * float(d.moments().mean_square) == pytest.approx(1 / 3, rel=1e-14)
        assert n * float(distribution(INITS["glorot"].spec(n)).moments().mean_square) == pytest.approx(1, rel=1e-14)
    assert layer_profile_panel("relu", "standard", QUICK).sigma_w2 == pytest.approx(1 / 3, rel=1e-14)


# ---------------------------------------------------------------- Monte Carlo errors, calibrated

def test_per_layer_standard_errors_are_calibrated_where_the_line_is_exact():
    """ReLU without bias and a symmetric weight law: E||g_l||^2 = n (sigma_w^2/2)^(L-l) and
    E[q_l] = sigma_w^2 (sigma_w^2/2)^(l-1) and half the units off, exactly at every width. Over 40 seeds the
    reported standard errors of log_mean_norm2, q and zero_dphi_fraction give z-scores inside +-1.96 about 92 % of the time (t with 9 degrees of freedom)."""
    n, L, K = 64, 6, 10
    sw = 1 / 3
    spec = f"uniform(-1/sqrt({n}), 1/sqrt({n}))"
    l = np.arange(L + 1)
    grad_truth = math.log(n) + (L - l) * math.log(sw / 2)
    q_truth = np.concatenate([[1.0], sw * (sw / 2) ** (l[1:] - 1)])
    zg, zq, z0 = [], [], []
    for seed in range(40):
        w = simulate_wide("relu", L, n, spec, batch=4, networks=K, seed=seed)
        zg.append((np.array(w.log_mean_norm2[:-1]) - grad_truth[:-1]) / np.array(w.log_mean_norm2_stderr[:-1]))
        zq.append((np.array(w.q[1:]) - q_truth[1:]) / np.array(w.q_stderr[1:]))
        z0.append((np.array(w.zero_dphi_fraction[1:]) - 0.5) / np.array(w.zero_dphi_fraction_stderr[1:]))
    for z in (np.concatenate(zg), np.concatenate(zq), np.concatenate(z0)):
        inside = float(np.mean(np.abs(z) < 1.96))
        assert 0.82 <= inside <= 0.99, inside


def test_the_figure_points_agree_with_the_exact_relu_line():
    """The per-layer figure's ReLU points (He and standard weights) within 4 of their standard errors of the exact
    line, at every layer."""
    for init in ("he", "standard"):
        p = layer_profile_panel("relu", init, MORE)
        band = p.mc_gradient
        se = (np.log(band.upper) - np.log(band.value)) / 1.959963984540054
        z = (np.log(band.value[:-1]) - np.log(p.gradient[:-1])) / se[:-1]
        assert np.all(np.abs(z) < 4), z


# ---------------------------------------------------------------- born dead

def _numpy_alive(n: int, L: int, samples: int, seed: int) -> float:
    """Fraction of independent width-n, depth-L ReLU nets (uniform weights, no bias) alive on x = (1, -2, 3, ...)."""
    rng = np.random.default_rng(seed)
    y = np.tile(np.arange(1.0, n + 1) * (-1.0) ** np.arange(n), (samples, 1))
    for _ in range(L):
        W = rng.uniform(-1, 1, (samples, n, n))
        y = np.maximum(np.einsum("kij,kj->ki", W, y), 0)
    return float(np.mean(np.any(y > 0, axis=1)))


@pytest.mark.parametrize("n, L", [(3, 10), (2, 4), (5, 20)])
def test_born_dead_law_matches_a_numpy_simulation(n, L):
    """(1 - 2^-n)^L (n = 3, L = 10: 26 %) against 40,000 networks simulated here, within z = 4."""
    p = born_alive_probability(n, L)
    if (n, L) == (3, 10):
        assert p == pytest.approx((7 / 8) ** 10, rel=1e-14) and round(p, 2) == 0.26
    N = 40_000
    hat = _numpy_alive(n, L, N, seed=n * 100 + L)
    assert abs(hat - p) / math.sqrt(p * (1 - p) / N) < 4


def test_born_dead_twin_and_panel_agree_with_the_law():
    b = simulate_born_dead(3, 20, samples=20_000, seed=3)
    exact = np.array([born_alive_probability(3, L) for L in range(1, 21)])
    z = (np.array(b.alive) - exact) / np.sqrt(exact * (1 - exact) / b.samples)
    assert np.all(np.abs(z) < 4)
    panel = born_dead_panel(QUICK)
    for s in panel.series:
        np.testing.assert_allclose(s.exact, (1 - 2.0 ** -s.width) ** s.depth, rtol=1e-13)


def test_sparsity_points_agree_with_mean_field_without_bias():
    """Without bias half the ReLU units are off at every layer, exactly at any width (symmetric weights); the
    panel's points (16 networks) lie within 4 standard errors of it."""
    s = sparsity_panel(MORE).series[0]
    assert s.label == "no bias"
    np.testing.assert_allclose(s.mean_field, 0.5, atol=1e-15)
    se = (s.mc.upper - s.mc.value) / 1.959963984540054
    assert np.all(np.abs(s.mc.value - 0.5) < 4 * se), (s.mc.value - 0.5) / se


# ---------------------------------------------------------------- what the figures show

def _legend_texts(fig) -> list[str]:
    return [t.get_text() for leg in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]
            for t in leg.get_texts()]


def test_layer_profile_figure_has_every_init_and_the_mean_field_and_mc_entries():
    fig = F.build("layer_profile", QUICK)
    texts = _legend_texts(fig)
    for init in ("standard", "Glorot", "He"):
        assert any(t.startswith(init) for t in texts), texts
    assert any(r"\chi_k" in t for t in texts) and any("Monte Carlo" in t for t in texts)
    assert [ax.get_title() for ax in fig.axes[:3]] == ["sigmoid", "tanh", "relu"]
    assert all(len(ax.lines) >= 3 for ax in fig.axes)


def test_sparsity_figure_legends_name_biases_widths_and_the_law():
    fig = F.build("sparsity", QUICK)
    texts = _legend_texts(fig)
    for want in ("no bias", "bias $b = +0.1$", "bias $b = -0.1$", "$n = 3$", r"exact $(1 - 2^{-n})^L$"):
        assert want in texts, texts
    assert sum("Monte Carlo" in t for t in texts) == 2


def test_plot_layer_profile_refuses_unknown_init_and_quantity():
    with pytest.raises(ArgumentError, match="initialisations: standard, glorot, he"):
        api.plot_layer_profile("tanh", "kaiming", budget=QUICK)
    with pytest.raises(ArgumentError, match="quantity"):
        api.plot_layer_profile("tanh", "he", quantity="variance", budget=QUICK)


@pytest.mark.parametrize("call", [
    lambda ax: api.plot_layer_profile("sigmoid", "standard", ax=ax, budget=QUICK),
    lambda ax: api.plot_layer_profile("relu", "glorot", ax=ax, quantity="q", budget=QUICK),
    lambda ax: api.plot_sparsity(ax=ax, budget=QUICK),
    lambda ax: api.plot_born_dead(ax=ax, budget=QUICK),
])
def test_no_warning_escapes_the_new_plot_calls(call):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = call(new_figure((4, 3)).subplots())
        ax.figure.canvas.draw()


def test_new_figures_are_byte_identical_when_computed_afresh(tmp_path):
    """Same seed, same bytes: each figure built twice from scratch (caches cleared) saves identical PNGs."""
    from analytic.output import layer_panels

    digests = []
    for run in range(2):
        for cached in (layer_panels.layer_profile_panel, layer_panels.sparsity_panel, layer_panels.born_dead_panel):
            cached.cache_clear()
        out = tmp_path / f"run{run}"
        F.write_figures(out, "png", only=["layer_profile", "sparsity"], budget=QUICK, jobs=1)
        digests.append({p.name: p.read_bytes() for p in sorted(out.glob("*.png"))})
    assert set(digests[0]) == {"layer_profile.png", "sparsity.png"}
    assert digests[0] == digests[1]


# ---------------------------------------------------------------- figure defects, each visible to a test

def test_finite_width_exact_law_is_drawn_only_at_integer_widths_with_mc_at_every_width():
    fig = F.build("finite_width", QUICK)
    ax = fig.axes[0]
    exact = next(l for l in ax.lines if l.get_label().startswith("exact"))
    assert exact.get_linestyle() == "None" and exact.get_marker() == "o"  # dots, no line across non-integers
    n = 1 / np.asarray(exact.get_xdata())
    np.testing.assert_allclose(n, np.round(n), rtol=1e-12)
    assert set(range(2, 17)) <= set(np.round(n).astype(int))
    assert "$\\sigma_w^2 = 2$" in ax.get_title() and "σ_w²" not in ax.get_title()
    points = next(c for c in ax.containers)  # the Monte Carlo errorbar
    xs = np.asarray(points.lines[0].get_xdata())
    np.testing.assert_allclose(sorted(xs), sorted(1 / np.array(QUICK.fw_widths)))  # the narrowest width too


def test_dying_relu_bars_are_drawn_above_hollow_markers_and_the_inputs_are_explained():
    fig = F.build("dying_relu", QUICK)
    ax = fig.axes[0]
    bars = next(c for c in ax.containers)
    markers = next(l for l in ax.lines if l.get_marker() == "o")
    assert markers.get_markerfacecolor() == "none"
    assert all(b.get_zorder() > markers.get_zorder() for b in bars.lines[2])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(f"2 networks × {QUICK.dead_batch} inputs each" in t for t in texts), texts
    assert any("95 % bars" in t for t in texts)


def test_phase_diagram_legend_explains_both_check_markers_and_the_number_pairs():
    """A diagram whose checks are on both sides of chi_1 = 1 draws both triangles; the legend has both, and says
    what the number pairs under them are."""
    from analytic.output.network_plotting import PhasePanel, draw_phase_diagram

    panel = PhasePanel("demo", np.array([0.0, 0.3]), np.array([1.0, 2.0]), 4.0,
                       checks=((0.7, 0.05, 0.58, 0.58), (2.9, 0.05, 1.2, 1.19), (3.5, 0.2, 1.2, 1.22)),
                       checks_label="nets; each label reads: simulated $\\chi_1$ (mean-field $\\chi_1$)")
    ax = new_figure((5, 4)).subplots()
    draw_phase_diagram(ax, panel)
    assert {l.get_marker() for l in ax.lines if l.get_marker() in ("v", "^")} == {"v", "^"}
    legend = ax.get_legend()
    shapes = [h.get_marker() for h in legend.legend_handles if getattr(h, "get_marker", lambda: None)() in "v^"]
    assert sorted(shapes) == ["^", "v"]
    text = " ".join(t.get_text() for t in legend.get_texts())
    assert "simulated $\\chi_1$ (mean-field $\\chi_1$)" in text
    # and the figure's own tanh panel carries the same explanation
    from analytic.output.network_panels import phase_panel

    assert "simulated $\\chi_1$ (mean-field $\\chi_1$)" in phase_panel(QUICK).checks_label


def test_isometry_defines_j_and_every_panel_spends_its_axis_on_the_density():
    fig = F.build("isometry", replace(QUICK, isometry_depths=(2, 4), isometry_points=9, isometry_width=20))
    assert "J = \\partial y_L/\\partial y_0" in fig._suptitle.get_text()
    for ax in fig.axes:
        lo, hi = ax.get_xlim()
        spans = []
        for line in ax.lines:
            x, y = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
            seen = x[y > 1e-3 * np.nanmax(y)]
            spans.append((seen.min(), seen.max()))
        used = (max(s[1] for s in spans) - min(s[0] for s in spans)) / (hi - lo)
        assert used > 0.8, (ax.get_title(), used)


def test_softmax_figure_says_what_it_shows():
    fig = F.build("activation_softmax", QUICK)
    title = fig.axes[0].get_title()
    assert "log c" not in title and "own logit" in title
    assert "other logits fixed" in fig._suptitle.get_text()


@pytest.mark.parametrize("call", [
    lambda ax: api.plot_activation("selu", ax=ax),
    lambda ax: api.plot_activation("relu", ax=(ax, ax.figure.add_subplot(2, 1, 2))),
    lambda ax: api.plot_gradient_depth("relu", ax=ax, budget=SHALLOW),
    lambda ax: api.plot_preactivation_law("sigmoid", ax=ax, budget=SHALLOW),
    lambda ax: api.plot_histogram("relu", ax=ax, budget=QUICK),
    lambda ax: api.plot_phase_diagram(ax=ax, activation="tanh", budget=QUICK),
    lambda ax: api.plot_phase_diagram(ax=ax, activation="relu", budget=QUICK),
    lambda ax: api.plot_dying_relu(ax=ax, budget=QUICK),
], ids=["activation", "activation_pair", "gradient_depth", "preactivation_law", "histogram", "phase_tanh",
        "phase_relu", "dying_relu"])
def test_no_warning_escapes_a_plot_call(call):
    """Warnings as errors: no RuntimeWarning (e.g. "Mean of empty slice" from networks whose every input died)
    or any other escapes a plot_* call, drawing included."""
    from analytic.output import panels

    panels.dead_panel.cache_clear()  # computed afresh under the filter, not taken from an earlier test
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = call(new_figure((4, 3)).add_subplot(2, 1, 1))
        fig = (ax[0] if isinstance(ax, tuple) else ax).figure
        fig.canvas.draw()


# ---------------------------------------------------------------- figures à la carte

def test_a_selection_is_passed_down_to_the_shared_figures(monkeypatch):
    from analytic.output.selection import selection

    chosen = selection(["sigmoid", "tanh", "leaky_relu", "softmax"], {"leaky_relu": {"negative_slope": 0.1}})
    calls = []

    def record(act, ax=None, **kwargs):
        calls.append(act)
        return ax

    for name in ("plot_gradient_depth", "plot_histogram"):
        monkeypatch.setattr(F, name, record)
    F.build("gradient_depth", QUICK, selection=chosen)
    assert [a.name for a in calls] == ["sigmoid", "tanh", "leaky_relu"]  # softmax has no one-neuron chain
    assert calls[2].value("negative_slope") == pytest.approx(0.1)
    calls.clear()
    F.build("histogram", QUICK, selection=chosen)
    assert [a.name for a in calls] == ["sigmoid", "tanh", "leaky_relu"]
    calls.clear()
    F.build("gradient_depth", QUICK)  # no selection: the figure's own list, by name
    assert calls == list(F.figure_activations("gradient_depth"))


def test_the_catalogue_grid_and_the_activation_figures_follow_the_selection(tmp_path):
    written = F.write_figures(tmp_path, "png", only=["activations", "activation_*"], budget=QUICK, jobs=1,
                              acts=["relu", "leaky_relu"], params={"leaky_relu": {"negative_slope": 0.1}})
    assert [p.name for p in written.paths] == ["activations.png", "activation_relu.png", "activation_leaky_relu.png"]
    from analytic.output.selection import selection

    fig = F.build("activations", QUICK, selection=selection(["relu", "leaky_relu"],
                                                            {"leaky_relu": {"negative_slope": 0.1}}))
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["relu", "leaky_relu (negative_slope = 0.1)"]
    key = F.figure_key("activations", "png", QUICK, 100, "paper")
    assert "selection" not in key  # the default run's keys are as before
    assert F.figure_key("activations", "png", QUICK, 100, "paper", selection(["relu"]))["selection"]


def test_plot_activation_takes_params_and_xlim_and_labels_its_lines():
    ax = api.plot_activation("leaky_relu", params={"negative_slope": 0.1}, xlim=(-2.0, 1.0),
                             ax=new_figure((3, 2)).subplots())
    labels = ax.get_legend_handles_labels()[1]
    assert labels[:2] == ["$\\varphi(x)$", "$\\varphi'(x)$"]
    phi = next(line for line in ax.lines if line.get_label() == "$\\varphi(x)$")
    x, y = np.asarray(phi.get_xdata()), np.asarray(phi.get_ydata())
    assert x[0] == -2.0 and x[-1] == 1.0
    np.testing.assert_allclose(y[0], -0.2, rtol=1e-12)  # slope 0.1, not the default 0.01
    pair = api.plot_activation("elu", params={"alpha": 2.0})
    assert pair[0].get_title().startswith("elu (alpha = 2)")
    with pytest.raises(ArgumentError, match="xlim"):
        api.plot_activation("relu", xlim=(1.0, -1.0))
    from analytic.errors import AnalyticError

    with pytest.raises(AnalyticError, match="no parameter 'slope'"):
        api.plot_activation("leaky_relu", params={"slope": 0.1})


@pytest.mark.parametrize("args, message", [
    (["--act", "sigmoid,nosuch"], "unknown activation 'nosuch'"),
    (["--param", "leaky_relu:bogus=1"], "leaky_relu has no parameter 'bogus'"),
    (["--act", "sigmoid", "--param", "leaky_relu:negative_slope=0.1"], "do not include"),
    (["--param", "leaky_relu"], "ACT:name=value"),
])
def test_cli_refuses_unknown_activations_and_parameters_with_one_line(tmp_path, args, message):
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "figs"
    root = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(root / "cli.py"), "figures", "--out", str(out), *args],
                       capture_output=True, text=True, cwd=tmp_path, timeout=600,
                       env={**__import__("os").environ, "PYTHONPATH": str(root)})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr
    assert not out.exists()
