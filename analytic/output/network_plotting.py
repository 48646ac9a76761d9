r"""Axes-level drawing of wide networks: the mean-field phase diagram in the :math:`(\sigma_w^2, \sigma_b^2)`
plane, a sweep's heatmap over the same plane, Jacobian singular-value densities and the finite-width rate.

As in :mod:`analytic.output.plotting` (whose palette and primitives these use), each function takes the data to
show and a matplotlib ``ax``, draws, and returns the artists it drew; the numbers arrive computed.

>>> import numpy as np
>>> from matplotlib.figure import Figure
>>> ax = Figure().add_subplot()
>>> out = draw_phase_diagram(ax, PhasePanel("demo", np.array([0.0, 1.0]), np.array([1.0, 1.5]), 3.0))
>>> ax.get_title()
'demo'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ArgumentError
from .plotting import BOUND_COLOR, OKABE_ITO, SERIES, Band, draw_curve


# ---------------------------------------------------------------- mean-field phase diagram

@dataclass(frozen=True)
class PhasePanel:
    r"""The mean-field critical line :math:`\sigma_w^2(\sigma_b^2)` where :math:`\chi_1 = 1`, marked points, and
    ``checks``: :math:`(\sigma_w^2, \sigma_b^2, \chi_1` measured by simulation, :math:`\chi_1` of mean field)."""

    title: str
    sigma_b2: np.ndarray
    critical_sigma_w2: np.ndarray
    sigma_w2_max: float
    points: tuple[tuple[float, float, str], ...] = ()
    checks: tuple[tuple[float, float, float, float], ...] = ()
    checks_label: str = ""
    contour_sigma_w2: np.ndarray | None = None
    contour_sigma_b2: np.ndarray | None = None
    xi_c: np.ndarray | None = None
    xi_levels: tuple[float, ...] = ()
    chaotic: np.ndarray | None = None
    right_label: str = "chaotic, $\\chi_1 > 1$\n(gradients explode)"
    boundary_label: str = ""


#: The words of each marker shape of a simulated check in the legend of a phase diagram.
CHECK_MARKERS = {"v": r"simulated $\chi_1 < 1$ (vanishing)", "^": r"simulated $\chi_1 \geq 1$ (exploding)"}
#: Behind text drawn over the phase regions and contours: a pale box, so lines never cross a label.
_TEXT_BOX = dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.8)
#: Heights (fractions of the sigma_b^2 range) at which neighbouring xi_c contours are labelled, in turn.
_XI_LABEL_HEIGHTS = (0.3, 0.6, 0.45)


def _draw_xi_contours(ax, panel: PhasePanel) -> tuple[Any, list]:
    r"""Contours of :math:`\xi_c` on ``ax``, labelled at staggered heights so that neighbouring labels never meet.

    The rate :math:`1/\xi_c = -\ln\chi_c` is contoured, signed negative in the chaotic phase: it passes through 0
    at the critical line instead of diverging there (:math:`\xi_c`) or turning back (the unsigned rate)."""
    with np.errstate(divide="ignore"):
        rate = 1.0 / np.asarray(panel.xi_c, float)
    chaotic = np.zeros(rate.shape, bool) if panel.chaotic is None else np.asarray(panel.chaotic, bool)
    signed = np.ma.masked_invalid(np.where(chaotic, -rate, rate))
    levels = sorted([1.0 / v for v in panel.xi_levels] + [-1.0 / v for v in panel.xi_levels])
    cs = ax.contour(panel.contour_sigma_w2, panel.contour_sigma_b2, signed, levels=levels, colors="0.25",
                    linewidths=1.0)
    lo, hi = float(np.min(panel.contour_sigma_b2)), float(np.max(panel.contour_sigma_b2))
    where = []
    for k, path in enumerate(cs.get_paths()):
        if len(path.vertices):
            target = lo + _XI_LABEL_HEIGHTS[k % len(_XI_LABEL_HEIGHTS)] * (hi - lo)
            where.append(tuple(path.vertices[np.argmin(np.abs(path.vertices[:, 1] - target))]))
    labels = ax.clabel(cs, fmt=lambda v: rf"$\xi_c = {1 / abs(v):.3g}$", fontsize="small", manual=where) \
        if where else []
    return cs, labels


def draw_phase_diagram(ax, panel: PhasePanel) -> dict[str, Any]:
    r"""The :math:`(\sigma_w^2, \sigma_b^2)` plane: ordered region (:math:`\chi_1 < 1`, gradients vanish) left of the
    critical line, the other region (chaotic, or unbounded length) right of it, and contours of the correlation
    depth scale :math:`\xi_c` where the panel has them."""
    sb, sw = np.asarray(panel.sigma_b2, float), np.asarray(panel.critical_sigma_w2, float)
    out: dict[str, Any] = {}
    out["ordered"] = ax.fill_betweenx(sb, 0, sw, color=OKABE_ITO["sky"], alpha=0.35, linewidth=0)
    out["chaotic"] = ax.fill_betweenx(sb, sw, panel.sigma_w2_max, color=OKABE_ITO["orange"], alpha=0.35,
                                      linewidth=0)
    if panel.boundary_label:
        out["critical"] = draw_curve(ax, sw, sb, color=BOUND_COLOR, linewidth=2.2, linestyle="--",
                                     label=panel.boundary_label)
    else:
        out["critical"] = draw_curve(ax, sw, sb, color=BOUND_COLOR, linewidth=2.2,
                                     label=rf"critical line $\chi_1 = 1$ ({panel.title})")
    if panel.xi_c is not None and np.any(np.isfinite(panel.xi_c)):
        out["xi_c"], out["xi_labels"] = _draw_xi_contours(ax, panel)
    top = sb[0] + 0.98 * (sb[-1] - sb[0])  # along the top edge, where both regions are wide and no check sits
    edge = float(np.interp(top, sb, sw))
    out["labels"] = [
        ax.text(0.5 * edge, top, "ordered, $\\chi_1 < 1$\n(gradients vanish)", ha="center", va="top",
                fontsize="small", bbox=_TEXT_BOX, zorder=3),
        ax.text(0.5 * (edge + panel.sigma_w2_max), top, panel.right_label, ha="center", va="top",
                fontsize="small", bbox=_TEXT_BOX, zorder=3),
    ]
    markers = ("o", "D", "^", "v")
    out["points"] = []
    for i, (x, y, label) in enumerate(panel.points):
        out["points"].append(ax.plot([x], [y], linestyle="none", marker=markers[i % len(markers)], markersize=10,
                                     color=SERIES[(i + 1) % len(SERIES)], markeredgecolor="black",
                                     label=label, clip_on=False, zorder=4)[0])
    out["checks"] = []
    labelled = set()
    for x, y, measured, theory in panel.checks:
        marker = "v" if measured < 1 else "^"
        # one legend entry per marker shape: each shape drawn is explained
        label = None if marker in labelled else CHECK_MARKERS[marker] + (
            ": " + panel.checks_label if not labelled else "")  # the networks and the numbers said once
        labelled.add(marker)
        out["checks"].append(ax.plot([x], [y], linestyle="none", marker=marker, markersize=9, color="white",
                                     markeredgecolor="black", markeredgewidth=1.5, zorder=4, label=label)[0])
        out["checks"].append(ax.annotate(f"{measured:.2f} ({theory:.2f})", (x, y), xytext=(0, -16),
                                         textcoords="offset points", ha="center", va="top", fontsize="small",
                                         bbox=_TEXT_BOX, zorder=3))
    ax.set_xlim(0, panel.sigma_w2_max)
    ax.set_ylim(sb[0], sb[-1])
    ax.set_xlabel(r"weight variance $\sigma_w^2$")
    ax.set_ylabel(r"bias variance $\sigma_b^2$")
    ax.set_title(panel.title)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncols=1 if len(panel.points) + bool(panel.checks) < 3
              else 2, frameon=False)  # below: covers nothing
    return out


# ---------------------------------------------------------------- sweep heatmap

def _cell_edges(values: np.ndarray) -> np.ndarray:
    """Edges of cells centred on sorted non-negative ``values`` (midpoints; half a step beyond the ends, but not
    below 0: the values are variances)."""
    v = np.asarray(values, float)
    if v.size == 1:
        half = 0.5 * abs(v[0]) if v[0] != 0 else 0.5
        edges = np.array([v[0] - half, v[0] + half])
    else:
        mid = (v[1:] + v[:-1]) / 2
        edges = np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])
    edges[0] = max(edges[0], 0.0)
    return edges


def sweep_heatmap(table, ax=None, *, activation: str | None = None, depth: int | None = None,
                  width: int | None = None):
    r"""Heatmap of a sweep's ``log_grad`` (mean log squared gradient at depth :math:`L`, see
    :mod:`analytic.sweep`) over :math:`\sigma_w^2 \times \sigma_b^2` for one activation, depth and width, with the
    mean-field critical line :math:`\chi_1 = 1` on top; returns the Figure.

    ``table`` is ``results.json``'s content or a :class:`~analytic.sweep.SweepResult`; the selection defaults to
    the first activation, the largest depth and the smallest width. Colours diverge at 0 (blue: vanishing, red:
    exploding); grey cells have no finite value ("all 0": every chain's product is exactly 0). With ``ax=None`` a
    new Figure is made.
    """
    from matplotlib import patheffects
    from matplotlib.figure import Figure

    from ..sweep import heatmap_data

    from matplotlib.axes import Axes

    if ax is not None and not isinstance(ax, Axes):
        raise ArgumentError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    data = heatmap_data(table, activation=activation, depth=depth, width=width)
    if ax is None:
        ax = Figure(figsize=(7.0, 4.8), layout="constrained").add_subplot()
    fig = ax.figure
    xe, ye = _cell_edges(data.sigma_w2), _cell_edges(data.sigma_b2)
    values = np.ma.masked_invalid(data.values)
    finite = data.values[np.isfinite(data.values)]
    limit = float(np.max(np.abs(finite))) if finite.size else 1.0
    limit = limit if limit > 0 else 1.0
    ax.set_facecolor("0.82")
    mesh = ax.pcolormesh(xe, ye, values, cmap="RdBu_r", vmin=-limit, vmax=limit, shading="flat")
    fig.colorbar(mesh, ax=ax, label=data.label)
    if data.values.size <= 64:  # the number in each cell, at the centre of its visible part
        for j in range(len(data.sigma_b2)):
            for i in range(len(data.sigma_w2)):
                v = data.values[j, i]
                text = f"{v:.3g}" if np.isfinite(v) else data.missing[j][i]
                dark = np.isfinite(v) and abs(v) > 0.6 * limit
                halo = [patheffects.withStroke(linewidth=2.5, foreground="black" if dark else "white")]
                ax.text((xe[i] + xe[i + 1]) / 2, (ye[j] + ye[j + 1]) / 2, text, ha="center", va="center",
                        fontsize=9, color="white" if dark else "black", path_effects=halo, zorder=5)
    line = None
    if data.critical_sigma_w2.size > 1:
        (line,) = ax.plot(data.critical_sigma_w2, data.critical_sigma_b2, color=BOUND_COLOR, linewidth=2.2,
                          label=r"critical line $\chi_1 = 1$ (mean field)")
    elif data.critical_sigma_w2.size == 1:
        line = ax.axvline(data.critical_sigma_w2[0], color=BOUND_COLOR, linewidth=2.2,
                          label=r"critical $\chi_1 = 1$ (mean field)")
    ax.set_xlim(xe[0], xe[-1])
    ax.set_ylim(ye[0], ye[-1])
    ax.set_xlabel(r"weight variance $\sigma_w^2$")
    ax.set_ylabel(r"bias variance $\sigma_b^2$")
    model = "chain" if data.width == 1 else f"width {data.width}"
    ax.set_title(f"{data.activation}: depth $L = {data.depth}$, {model}")
    if line is not None:
        ax.legend(loc="upper left", framealpha=0.95)
    return fig


# ---------------------------------------------------------------- Jacobian spectra and finite width

@dataclass(frozen=True)
class SpectrumSeries:
    r"""One depth's singular-value density: analytic curve over :math:`\log_{10} s` and a sampled histogram."""

    label: str
    x: np.ndarray
    density: np.ndarray
    edges: np.ndarray
    heights: np.ndarray


@dataclass(frozen=True)
class SpectrumPanel:
    """Singular-value densities of one activation and weight ensemble at several depths."""

    title: str
    series: tuple[SpectrumSeries, ...]
    note: str = ""


def draw_singular_values(ax, panel: SpectrumPanel) -> dict[str, list]:
    r"""Analytic densities of :math:`\log_{10} s` (lines) over Monte Carlo histograms (steps, filled lightly)."""
    out: dict[str, list] = {"curves": [], "hists": []}
    for color, s in zip(SERIES, panel.series):
        out["hists"].append(ax.stairs(s.heights, s.edges, color=color, alpha=0.25, fill=True))
        out["curves"].append(ax.plot(s.x, s.density, color=color, label=s.label)[0])
    lo = min(float(s.edges[0]) for s in panel.series)
    hi = max(float(s.edges[-1]) for s in panel.series)
    pad = 0.04 * (hi - lo)
    ax.set_xlim(lo - pad, hi + pad)  # the axis spans where the densities live
    ax.set_xlabel(r"$\log_{10}$ singular value of $J$")
    ax.set_ylabel("density")
    ax.set_title(panel.title)
    if panel.note:
        ax.text(0.02, 0.97, panel.note, transform=ax.transAxes, va="top", fontsize="small")
    ax.grid(True, color="0.92")
    ax.legend(loc="upper right", fontsize="small")
    return out


@dataclass(frozen=True)
class FiniteWidthPanel:
    r"""Per-layer :math:`E\ln\|Ju\|^2` against 1/n: exact curve, large-width approximation, sampled points."""

    title: str
    inv_n: np.ndarray
    exact: np.ndarray
    approx: np.ndarray
    mean_field: float
    points: Band
    points_label: str


def draw_finite_width(ax, panel: FiniteWidthPanel) -> dict[str, Any]:
    """Exact finite-width rate (dots at the integer widths, where the law is defined: no line between them), its
    1/n approximation (dashed), mean field (dotted), Monte Carlo points at every simulated width."""
    out = {"exact": ax.plot(panel.inv_n, panel.exact, linestyle="none", marker="o", markersize=3,
                            color=OKABE_ITO["blue"], label=r"exact ($\chi^2$ law), integer $n$")[0],
           "approx": ax.plot(panel.inv_n, panel.approx, color=OKABE_ITO["green"], linestyle="--",
                             label=r"large width: $\ln\chi_1 - 5/(2n)$")[0],
           "mean_field": ax.axhline(panel.mean_field, color=BOUND_COLOR, linestyle=":",
                                    label=r"mean field $\ln\chi_1$")}
    p = panel.points
    out["points"] = ax.errorbar(p.x, p.value, yerr=[p.value - p.lower, p.upper - p.value], linestyle="none",
                                marker="o", markersize=8, markerfacecolor="white",
                                markeredgecolor=OKABE_ITO["vermillion"], ecolor=OKABE_ITO["vermillion"],
                                capsize=3, label=panel.points_label, zorder=3)
    ax.set_xlabel(r"$1/n$")
    ax.set_ylabel(r"$E\,\ln\|J u\|^2$ per layer")
    ax.set_title(panel.title)
    ax.grid(True, color="0.9")
    ax.legend(loc="lower left", fontsize="x-small")
    return out


# ---------------------------------------------------------------- the per-layer picture and sparsity

#: How each quantity of the per-layer figure is labelled on its axis.
PROFILE_YLABELS = {"gradient": r"gradient norm $E\,\|\partial L/\partial y_l\|^2$",
                   "q": r"pre-activation variance $q_l = E[v_l^2]$"}


def _band_points(ax, band: Band, color: str, marker: str, label: str | None = None, log: bool = False) -> dict:
    """Monte Carlo estimates as hollow markers over a light 95 % band (on a log axis the band stops at positive
    values)."""
    x, v, lo, hi = (np.asarray(a, float) for a in (band.x, band.value, band.lower, band.upper))
    ok = np.isfinite(v) & ((v > 0) if log else True)
    lo = np.where(np.isfinite(lo) & ((lo > 0) if log else True), lo, np.where(ok, v, np.nan) * (0.5 if log else 1))
    band_artist = ax.fill_between(x, lo, hi, where=ok, color=color, alpha=0.2, linewidth=0, zorder=1)
    points = ax.plot(x[ok], v[ok], linestyle="none", marker=marker, markersize=4, markerfacecolor="white",
                     markeredgecolor=color, markeredgewidth=1.1, label=label, zorder=3)[0]
    return {"band": band_artist, "points": points}


def draw_layer_profile(ax, panel, quantity: str = "gradient", *, color: str = SERIES[0],
                       marker: str = "o") -> dict[str, Any]:
    r"""One activation and initialisation across layers on a log axis: the mean-field line (the per-layer
    :math:`\chi` product for ``quantity="gradient"``, the length map for ``"q"``) over the Monte Carlo points and
    their 95 % band. The line carries the initialisation's label with its :math:`\sigma_w^2`."""
    if quantity not in PROFILE_YLABELS:
        raise ArgumentError(f"quantity must be one of {', '.join(PROFILE_YLABELS)}, got {quantity!r}")
    line_y = panel.gradient if quantity == "gradient" else panel.q
    band = panel.mc_gradient if quantity == "gradient" else panel.mc_q
    label = rf"{panel.label}, $\sigma_w^2 = {panel.sigma_w2:.3g}$"
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(np.asarray(line_y) > 0, line_y, np.nan)
    out: dict[str, Any] = {"line": ax.plot(panel.layers, y, color=color, linewidth=1.8, label=label, zorder=2)[0]}
    out.update(_band_points(ax, band, color, marker, log=True))
    ax.set_yscale("log")
    ax.set_xlabel(r"layer $l$ (0 = input)")
    ax.set_ylabel(PROFILE_YLABELS[quantity])
    ax.set_xlim(-0.5, panel.layers[-1] + 0.5)
    ax.grid(True, which="major", color="0.9", linewidth=0.8)
    return out


def draw_sparsity(ax, panel) -> dict[str, Any]:
    r"""The fraction of units off per layer: mean-field :math:`P(v_l \le 0)` lines, Monte Carlo points with 95 %
    bars, one colour per bias."""
    out: dict[str, Any] = {"lines": [], "points": []}
    for color, marker, s in zip(SERIES, ("o", "s", "^", "D"), panel.series):
        out["lines"].append(ax.plot(s.layers, s.mean_field, color=color, linewidth=1.8,
                                    label=s.label)[0])
        p = s.mc
        out["points"].append(ax.errorbar(p.x, p.value, yerr=[p.value - p.lower, p.upper - p.value],
                                         linestyle="none", marker=marker, markersize=4, markerfacecolor="white",
                                         markeredgecolor=color, ecolor=color, elinewidth=1.0, capsize=2,
                                         zorder=3))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(r"layer $l$")
    ax.set_ylabel(r"fraction of zero activations")
    ax.set_title(panel.title)
    ax.grid(True, color="0.9")
    return out


def draw_born_dead(ax, panel) -> dict[str, Any]:
    r"""The probability that a narrow ReLU network is alive for a given input against depth: exact
    :math:`(1 - 2^{-n})^L` lines, Monte Carlo points with 95 % bars, one colour per width."""
    out: dict[str, Any] = {"lines": [], "points": []}
    for color, s in zip(SERIES, panel.series):
        out["lines"].append(ax.plot(s.depth, s.exact, color=color, linewidth=1.8,
                                    label=rf"$n = {s.width}$")[0])
        p = s.mc
        out["points"].append(ax.errorbar(p.x, p.value, yerr=[p.value - p.lower, p.upper - p.value],
                                         linestyle="none", marker="o", markersize=4, markerfacecolor="white",
                                         markeredgecolor=color, ecolor=color, elinewidth=1.0, capsize=2,
                                         zorder=3))
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(r"depth $L$ (layers of width $n$)")
    ax.set_ylabel("P(output not all zero) for one input")
    ax.set_title(panel.title)
    ax.grid(True, color="0.9")
    return out
