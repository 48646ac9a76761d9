r"""Axes-level drawing functions: each takes the data to show and a matplotlib ``ax``, draws, and returns the
artists it drew. No figure is created or saved here (that is :mod:`analytic.output.figures`), and no mathematics
beyond what is needed to place ink: the numbers arrive computed.

Colours are the Okabe–Ito palette (distinguishable with every common colour-vision deficiency); labels use
matplotlib's mathtext, so no TeX installation is needed.

>>> import numpy as np
>>> from matplotlib.figure import Figure
>>> ax = Figure().add_subplot()
>>> line = draw_curve(ax, np.array([0.0, 1.0]), np.array([0.0, 1.0]), label="y = x")
>>> line.get_label()
'y = x'
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np

from ..errors import ArgumentError

#: The Okabe–Ito colour-blind-safe palette.
OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky": "#56B4E9", "green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7",
}
PHI_COLOR = OKABE_ITO["blue"]
DPHI_COLOR = OKABE_ITO["vermillion"]
BOUND_COLOR = OKABE_ITO["black"]
#: Colours for a sequence of series (depths, activations), in order; yellow is kept for fills only.
SERIES = tuple(OKABE_ITO[k] for k in ("blue", "vermillion", "green", "purple", "orange", "sky", "black"))


# ---------------------------------------------------------------- data carried to the drawing functions

@dataclass(frozen=True)
class Curve:
    """A function sampled on a grid, with the points where it jumps (``breaks``), the one-sided limits there
    (``holes``, drawn open) and the conventional value used there (``marks``, drawn as filled diamonds)."""

    x: np.ndarray
    y: np.ndarray
    breaks: tuple[float, ...] = ()
    marks: tuple[tuple[float, float], ...] = ()
    holes: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class BoundLine:
    """A proved bound to draw as a dashed horizontal line, with its label (mathtext allowed)."""

    value: float
    label: str
    attained: bool = True


@dataclass(frozen=True)
class ActivationPanel:
    """φ and φ′ of one activation with the proved bounds of φ′."""

    name: str
    title: str
    phi: Curve
    dphi: Curve
    bounds: tuple[BoundLine, ...] = ()


@dataclass(frozen=True)
class Band:
    """Values with a lower and upper 95 % limit at the positions ``x``; ``reliable`` (optional, boolean) marks
    the estimates whose standard error can be trusted (enough effective samples)."""

    x: np.ndarray
    value: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    reliable: np.ndarray | None = None


@dataclass(frozen=True)
class GradientPanel:
    """Gradient magnitude against depth for one activation (all values positive; log axis)."""

    title: str
    depth: np.ndarray
    bound: np.ndarray
    mean: np.ndarray
    typical: np.ndarray
    mc_mean: Band
    mc_median: Band
    note: str = ""
    independence_mean: np.ndarray | None = None
    independence_typical: np.ndarray | None = None


@dataclass(frozen=True)
class PreactPanel:
    """Mean and standard deviation of the pre-activation v_t against depth t, and the law the independence
    approximation assumes instead."""

    title: str
    depth: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    assumed: str
    assumed_mean: float = 0.0
    assumed_sd: float = 1.0


@dataclass(frozen=True)
class HistogramPanel:
    r"""Samples of :math:`\log_{10}|\prod_t w_t\varphi'(v_t)|` at several depths, with the log10 of the mean of
    :math:`|\prod|` and of its median (typical value) for each depth."""

    title: str
    depths: tuple[int, ...]
    samples: tuple[np.ndarray, ...]
    log10_mean: tuple[float, ...]
    log10_median: tuple[float, ...]
    zero_fraction: tuple[float, ...] = ()


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


@dataclass(frozen=True)
class DeadPanel:
    """Fraction of dead units against the bias mean: an analytic curve and Monte Carlo points with 95 % bars."""

    title: str
    xlabel: str
    curve_x: np.ndarray
    curve_y: np.ndarray
    curve_label: str
    points: Band
    points_label: str
    extra_x: np.ndarray | None = None
    extra_y: np.ndarray | None = None
    extra_label: str = ""


@dataclass(frozen=True)
class JacobianPanel:
    """Entries of softmax Jacobians sampled at input size ``n`` (one array per n), and the proved bound."""

    title: str
    ylabel: str
    n: tuple[int, ...]
    values: tuple[np.ndarray, ...]
    bound: BoundLine
    extra: dict = field(default_factory=dict)


# ---------------------------------------------------------------- primitives

def draw_curve(ax, x: np.ndarray, y: np.ndarray, *, label: str | None = None, color: str = PHI_COLOR,
               linestyle: str = "-", linewidth: float = 2.0, zorder: float = 2):
    """One line; returns the ``Line2D``."""
    (line,) = ax.plot(x, y, color=color, linestyle=linestyle, linewidth=linewidth, label=label, zorder=zorder)
    return line


def broken(curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """The curve with a NaN inserted at each break, so a jump is not drawn as a vertical segment."""
    x, y = np.asarray(curve.x, float), np.asarray(curve.y, float)
    for b in sorted(curve.breaks):
        i = int(np.searchsorted(x, b))
        if 0 < i < len(x):
            x = np.insert(x, i, b)
            y = np.insert(y, i, np.nan)
    return x, y


def draw_function(ax, curve: Curve, *, label: str | None = None, color: str = PHI_COLOR,
                  linestyle: str = "-", linewidth: float = 2.0, mark_label: str | None = None,
                  marker_size: float = 28) -> list:
    """A function with its jumps respected: open dots at the one-sided limits, a filled diamond at the
    conventional value (labelled ``mark_label`` for a legend)."""
    x, y = broken(curve)
    artists = [draw_curve(ax, x, y, label=label, color=color, linestyle=linestyle, linewidth=linewidth)]
    if curve.holes:
        hx, hy = zip(*curve.holes)
        artists.append(ax.scatter(hx, hy, s=marker_size, facecolors="white", edgecolors=color, linewidths=1.5,
                                  zorder=3))
    if curve.marks:
        mx, my = zip(*curve.marks)
        artists.append(ax.scatter(mx, my, s=0.8 * marker_size, marker="D", color=BOUND_COLOR, zorder=4,
                                  label=mark_label))
    return artists


def draw_bound(ax, bound: BoundLine, *, color: str = BOUND_COLOR, text: bool = True,
               fontsize: float | None = None, va: str = "bottom", ha: str = "right") -> list:
    """A dashed horizontal line at a proved bound, labelled at the right (or, ``ha="left"``, the left) end, just
    above (or below) it."""
    artists = [ax.axhline(bound.value, color=color, linestyle="--", linewidth=1.3, zorder=1)]
    if text:
        offset = 3 if va == "bottom" else -3
        artists.append(ax.annotate(bound.label, xy=(0.98 if ha == "right" else 0.02, bound.value),
                                   xycoords=("axes fraction", "data"),
                                   xytext=(0, offset), textcoords="offset points", ha=ha, va=va,
                                   color=color, fontsize=fontsize,
                                   bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85)))
    return artists


# ---------------------------------------------------------------- activations

def draw_activation_pair(ax_phi, ax_dphi, panel: ActivationPanel) -> dict[str, list]:
    r"""φ on ``ax_phi`` and φ′ on ``ax_dphi`` side by side, with the proved sup (and a negative inf) of φ′ dashed."""
    phi = draw_function(ax_phi, panel.phi, color=PHI_COLOR)
    ax_phi.set_title(rf"{panel.title}: $\varphi(x)$")
    dphi = draw_function(ax_dphi, panel.dphi, color=DPHI_COLOR, marker_size=40)
    ax_dphi.set_title(rf"{panel.title}: $\varphi'(x)$")
    bounds = []
    for i, b in enumerate(panel.bounds):
        bounds += draw_bound(ax_dphi, b, va="bottom" if i == 0 else "top", ha=_label_side(panel, b))
    for ax in (ax_phi, ax_dphi):
        ax.axhline(0, color="0.75", linewidth=0.8, zorder=0)
        ax.axvline(0, color="0.75", linewidth=0.8, zorder=0)
        ax.set_xlabel("$x$")
        ax.set_xlim(panel.phi.x[0], panel.phi.x[-1])
    if panel.dphi.marks:  # explained under the axis, where it cannot cover the curve
        ax_dphi.set_xlabel("$x$\n\u25c6 PyTorch's value at the kink, \u25cb one-sided limits", fontsize="small")
    _headroom(ax_dphi, [c.value for c in panel.bounds] + [0.0], panel.dphi.y)
    ax_dphi.ticklabel_format(axis="y", useOffset=False)
    return {"phi": phi, "dphi": dphi, "bounds": bounds}


def _label_side(panel: ActivationPanel, bound: BoundLine) -> str:
    """Where a bound's label goes: at the right end, unless the bound is not attained and a filled kink marker
    (PyTorch's value) sits on its line in the right half; then at the left end, away from the marker, so that
    "(not attained)" is never drawn beside a filled marker."""
    if bound.attained:
        return "right"
    span = max(float(np.nanmax(panel.dphi.y)) - float(np.nanmin(panel.dphi.y)), 1e-12)
    x0, x1 = float(panel.phi.x[0]), float(panel.phi.x[-1])
    on_line = [x for x, y in panel.dphi.marks if abs(y - bound.value) <= 0.05 * span]
    if any(x >= (x0 + x1) / 2 for x in on_line):
        return "left"
    return "right"


def draw_catalogue_cell(ax, panel: ActivationPanel) -> dict[str, list]:
    r"""φ (solid) and φ′ (dashed) of one activation on one axes, the sup of φ′ as a thin dotted line."""
    ax.axhline(0, color="0.8", linewidth=0.7, zorder=0)
    ax.axvline(0, color="0.8", linewidth=0.7, zorder=0)
    phi = draw_function(ax, panel.phi, color=PHI_COLOR, linewidth=1.8)
    dphi = draw_function(ax, replace(panel.dphi, marks=()), color=DPHI_COLOR, linewidth=1.8, linestyle="--",
                         marker_size=18)
    bounds = []
    if panel.bounds:
        b = panel.bounds[0]
        bounds.append(ax.axhline(b.value, color=BOUND_COLOR, linestyle=":", linewidth=1.0, zorder=1))
    ax.set_title(panel.title)
    ax.set_xlim(panel.phi.x[0], panel.phi.x[-1])
    return {"phi": phi, "dphi": dphi, "bounds": bounds}


def _headroom(ax, levels: Sequence[float], y: np.ndarray) -> None:
    """Extend the y-range so that labelled lines near the top or bottom keep their label inside the axes."""
    finite = np.asarray(y, float)[np.isfinite(y)]
    values = list(finite) + [v for v in levels if np.isfinite(v)]
    if not values:
        return
    lo, hi = min(values), max(values)
    span = hi - lo if hi - lo > 1e-6 * max(1.0, abs(hi), abs(lo)) else max(1.0, abs(hi))
    ax.set_ylim(lo - 0.18 * span, hi + 0.22 * span)


# ---------------------------------------------------------------- gradient across depth

def draw_gradient_depth(ax, panel: GradientPanel, *, legend: bool = False) -> dict[str, Any]:
    r"""Gradient magnitude against depth on a log axis: the exact chain's mean and typical value, the Monte Carlo
    mean and median of the same chain with 95 % bands, the crude bound, and (thin) the independence
    approximation."""
    c_bound, c_mean, c_typ = BOUND_COLOR, OKABE_ITO["blue"], OKABE_ITO["vermillion"]
    out: dict[str, Any] = {}
    out["bound"] = draw_curve(ax, panel.depth, panel.bound, color=c_bound, linestyle="--", linewidth=1.5,
                              label=r"crude bound $(E|w|\,\sup|\varphi'|)^r$")
    out["mean"] = draw_curve(ax, panel.depth, panel.mean, color=c_mean, linewidth=2.0,
                             label=r"exact chain: mean $|E[g_r]|$")
    out["typical"] = draw_curve(ax, panel.depth, panel.typical, color=c_typ, linewidth=2.0,
                                label=r"exact chain: typical $e^{E\log|g_r|}$")
    if panel.independence_mean is not None:
        out["independence_mean"] = draw_curve(ax, panel.depth, panel.independence_mean, color=c_mean,
                                              linewidth=0.8, linestyle=":",
                                              label=r"independence approx.: $|E[w]E[\varphi'(v)]|^r$")
        out["independence_typical"] = draw_curve(ax, panel.depth, panel.independence_typical, color=c_typ,
                                                 linewidth=0.8, linestyle=":",
                                                 label=r"independence approx.: $e^{rE\log|w\varphi'(v)|}$")
    ax.set_yscale("log")

    def positive(*arrays) -> np.ndarray:
        v = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
        return v[np.isfinite(v) & (v > 0)]

    others = positive(panel.mean, panel.typical, panel.mc_mean.value, panel.mc_median.value)
    every = positive(panel.bound, others)
    floor = float(every.min()) / 30 if every.size else 1e-300
    for key, band, color, marker, label in (
            ("mc_mean", panel.mc_mean, c_mean, "o", r"Monte Carlo of the chain: mean $|\bar g_r|$, 95 % band"),
            ("mc_median", panel.mc_median, c_typ, "s", r"Monte Carlo of the chain: median $|g_r|$, 95 % band")):
        ok = np.isfinite(band.value) & (band.value > 0)
        good = ok & (band.reliable if band.reliable is not None else True)
        lo = np.where(np.isfinite(band.lower) & (band.lower > 0), band.lower, floor)
        out[key + "_band"] = ax.fill_between(band.x, lo, np.where(good, band.upper, np.nan), where=good,
                                             color=color, alpha=0.18, linewidth=0)
        out[key] = ax.plot(band.x[good], band.value[good], linestyle="none", marker=marker, markersize=6,
                           markerfacecolor="white", markeredgecolor=color, markeredgewidth=1.5, label=label)[0]
        if band.reliable is not None:
            bad = ok & ~band.reliable
            out[key + "_unreliable"] = ax.plot(band.x[bad], band.value[bad], linestyle="none", marker="x",
                                               markersize=6, color=color, markeredgewidth=1.5,
                                               label="Monte Carlo mean, fewer than 1000\neffective samples "
                                                     "(no reliable band)")[0]
    ax.set_ylim(bottom=floor)
    if others.size and every.max() > 1e3 * others.max():  # a bound far above everything else: let it leave
        ax.set_ylim(top=1e3 * float(others.max()))
    if panel.note:
        out["note"] = ax.text(0.03, 0.04, panel.note, transform=ax.transAxes, ha="left", va="bottom",
                              fontsize="small", bbox=dict(boxstyle="round,pad=0.3", fc="white", ec="0.7"))
    ax.set_title(panel.title)
    ax.set_xlabel("depth $r$")
    ax.grid(True, which="major", color="0.9", linewidth=0.8)
    if legend:
        ax.legend(loc="best", fontsize="small")
    return out


def draw_preactivation_law(ax, panel: PreactPanel) -> dict[str, Any]:
    """Mean ± sd of v_t against depth, over the band of the law the independence approximation assumes."""
    m0, s0 = panel.assumed_mean, panel.assumed_sd
    out: dict[str, Any] = {}
    out["assumed"] = ax.axhspan(m0 - s0, m0 + s0, color="0.85", linewidth=0,
                                label=rf"independence approx. assumes {panel.assumed}: mean $\pm$ sd")
    out["band"] = ax.fill_between(panel.depth, panel.mean - panel.sd, panel.mean + panel.sd,
                                  color=OKABE_ITO["blue"], alpha=0.25, linewidth=0, label=r"exact chain: mean $\pm$ sd")
    out["mean"] = ax.plot(panel.depth, panel.mean, color=OKABE_ITO["blue"], linewidth=2.0, marker="o",
                          markersize=3, label=r"exact chain: $E[v_t]$")[0]
    ax.set_title(panel.title)
    ax.set_xlabel("layer $t$")
    ax.grid(True, color="0.9", linewidth=0.8)
    return out


# ---------------------------------------------------------------- histogram of the log product

def draw_log_histogram(ax, panel: HistogramPanel, *, bins: int = 60) -> dict[str, Any]:
    r"""Histograms of :math:`\log_{10}|\prod|` per depth, with the mean's and the median's log10 as vertical lines
    (dashed: :math:`\log_{10} E|\prod|`, dotted: :math:`\log_{10}` median)."""
    finite = [s[np.isfinite(s)] for s in panel.samples]
    lo = min(float(np.percentile(s, 0.2)) for s in finite if s.size)
    hi = max([float(np.percentile(s, 99.8)) for s in finite if s.size] + list(panel.log10_mean))
    edges = np.linspace(lo, hi, bins + 1)
    out: dict[str, Any] = {"hist": [], "mean": [], "median": []}
    for i, (depth, s) in enumerate(zip(panel.depths, finite)):
        color = SERIES[i % len(SERIES)]
        label = f"$r = {depth}$"
        if panel.zero_fraction and panel.zero_fraction[i] > 0:
            label += f" ({100 * panel.zero_fraction[i]:.0f} % exactly 0)"
        out["hist"].append(ax.hist(s, bins=edges, density=True, histtype="stepfilled", alpha=0.25, color=color)[2])
        ax.hist(s, bins=edges, density=True, histtype="step", linewidth=1.6, color=color, label=label)
        out["mean"].append(ax.axvline(panel.log10_mean[i], color=color, linestyle="--", linewidth=1.8))
        out["median"].append(ax.axvline(panel.log10_median[i], color=color, linestyle=":", linewidth=1.8))
    ax.set_title(panel.title)
    ax.set_xlabel(r"$\log_{10}\,|w_1\varphi'(v_1)\cdots w_r\varphi'(v_r)|$")
    ax.set_ylabel("density")
    return out


# ---------------------------------------------------------------- mean-field phase diagram

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
    for i, (x, y, measured, theory) in enumerate(panel.checks):
        marker = "v" if measured < 1 else "^"
        out["checks"].append(ax.plot([x], [y], linestyle="none", marker=marker, markersize=9, color="white",
                                     markeredgecolor="black", markeredgewidth=1.5, zorder=4,
                                     label=panel.checks_label if i == 0 else None)[0])
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


# ---------------------------------------------------------------- dying ReLU

def draw_dead_fraction(ax, panel: DeadPanel) -> dict[str, Any]:
    """Analytic fraction of dead units (curve) against Monte Carlo estimates (points with 95 % bars)."""
    out = {"curve": draw_curve(ax, panel.curve_x, panel.curve_y, color=OKABE_ITO["blue"], label=panel.curve_label)}
    p = panel.points
    # hollow, small markers: the 95 % bars stay visible through them, on the axes and in the legend
    out["points"] = ax.errorbar(p.x, p.value, yerr=[p.value - p.lower, p.upper - p.value], linestyle="none",
                                marker="o", markersize=5, markerfacecolor="none",
                                markeredgecolor=OKABE_ITO["vermillion"], ecolor=OKABE_ITO["vermillion"],
                                elinewidth=1.2, capsize=4, capthick=1.2, label=panel.points_label, zorder=3)
    if panel.extra_x is not None:
        out["extra"] = ax.plot(panel.extra_x, panel.extra_y, linestyle="none", marker="x", markersize=6,
                               markeredgewidth=1.8, color=OKABE_ITO["green"], label=panel.extra_label, zorder=4)[0]
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(r"fraction of dead units ($\varphi'(v) = 0$)")
    ax.set_title(panel.title)
    ax.grid(True, color="0.9")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), frameon=False)  # below the axes: covers nothing
    return out


# ---------------------------------------------------------------- softmax Jacobian

def draw_jacobian_entries(ax, panel: JacobianPanel, *, color: str = OKABE_ITO["blue"], seed: int = 0) -> dict:
    r"""Sampled Jacobian entries (or norms) against the input size n, jittered horizontally, with the proved bound
    dashed. ``seed`` fixes the jitter so the picture is reproducible."""
    rng = np.random.default_rng(seed)
    dots = []
    for n, v in zip(panel.n, panel.values):
        jitter = rng.uniform(-0.28, 0.28, size=len(v))
        dots.append(ax.scatter(n + jitter, v, s=5, color=color, alpha=0.35, linewidth=0, rasterized=False))
    bound = draw_bound(ax, panel.bound, va="bottom" if panel.bound.value >= 0 else "top")
    ax.set_xticks(list(panel.n))
    ax.set_xlabel("number of logits $n$")
    ax.set_ylabel(panel.ylabel)
    ax.set_title(panel.title)
    return {"dots": dots, "bound": bound}


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
    """Exact finite-width rate (solid), its 1/n approximation (dashed), mean field (dotted), Monte Carlo points."""
    out = {"exact": ax.plot(panel.inv_n, panel.exact, color=OKABE_ITO["blue"], label="exact (χ² law)")[0],
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
