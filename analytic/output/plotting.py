r"""Axes-level drawing functions: each takes the data to show and a matplotlib ``ax``, draws, and returns the
artists it drew. No figure is created or saved here (that is :mod:`analytic.output.figures`), and no mathematics
beyond what is needed to place ink: the numbers arrive computed. This module draws activations and the one-neuron
chain; :mod:`analytic.output.network_plotting` draws wide networks with the same palette and primitives.

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
class DepthLine:
    """One exact-chain statistic at depths ``GradientPanel.depth``: ``y`` (nan where withheld, so it is not drawn)
    and ``withheld`` (True at the depths whose value missed its tolerance); ``key`` names the statistic
    (:data:`EXACT_STYLES`)."""

    key: str
    y: np.ndarray
    withheld: np.ndarray


@dataclass(frozen=True)
class GradientPanel:
    """Gradient magnitude against depth for one activation (all values positive; log axis): the crude bound, the
    exact-chain statistics (``exact``, one :class:`DepthLine` each, drawn in order), the Monte Carlo mean and
    median of the same chain, and the independence approximation."""

    title: str
    depth: np.ndarray
    bound: np.ndarray
    exact: tuple[DepthLine, ...]
    mc_mean: Band
    mc_median: Band
    note: str = ""
    independence_mean: np.ndarray | None = None
    independence_exp_log_mean: np.ndarray | None = None

    def line(self, key: str) -> DepthLine | None:
        """The exact-chain line of statistic ``key`` (None when the panel has none)."""
        return next((line for line in self.exact if line.key == key), None)


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
    artists = [ax.axhline(bound.value, color=color, linestyle="--", linewidth=1.3, zorder=1,
                          label=bound.label.replace("\n", " "))]
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
    phi = draw_function(ax_phi, panel.phi, color=PHI_COLOR, label=r"$\varphi(x)$")
    ax_phi.set_title(rf"{panel.title}: $\varphi(x)$")
    # a kink value on the line of a bound that is not attained is drawn hollow: not a value phi' takes
    unattained = [b.value for b in panel.bounds if not b.attained]
    limit_marks = tuple(m for m in panel.dphi.marks if any(_on_level(m[1], v) for v in unattained))
    filled = tuple(m for m in panel.dphi.marks if m not in limit_marks)
    dphi = draw_function(ax_dphi, replace(panel.dphi, marks=filled), color=DPHI_COLOR, marker_size=40,
                         label=r"$\varphi'(x)$")
    if limit_marks:
        mx, my = zip(*limit_marks)
        dphi.append(ax_dphi.scatter(mx, my, s=32, marker="D", facecolors="white", edgecolors=BOUND_COLOR,
                                    linewidths=1.5, zorder=4))
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
        words = []
        if filled:
            words.append("\u25c6 PyTorch's value at the kink")
        if limit_marks:
            words.append("\u25c7 PyTorch's value at the kink,\non a bound that is not attained")
        # one item per line: a column-width panel is too narrow for them side by side
        ax_dphi.set_xlabel("$x$\n" + "\n".join(words + ["\u25cb one-sided limits"]), fontsize="small")
    _headroom(ax_dphi, [c.value for c in panel.bounds] + [0.0], panel.dphi.y)
    ax_dphi.ticklabel_format(axis="y", useOffset=False)
    return {"phi": phi, "dphi": dphi, "bounds": bounds}


def _on_level(y: float, level: float) -> bool:
    """``y`` lies on the horizontal line at ``level`` (to rounding)."""
    return abs(y - level) <= 1e-9 * max(1.0, abs(level))


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
    phi = draw_function(ax, panel.phi, color=PHI_COLOR, linewidth=1.8, label=r"$\varphi(x)$")
    dphi = draw_function(ax, replace(panel.dphi, marks=()), color=DPHI_COLOR, linewidth=1.8, linestyle="--",
                         marker_size=18, label=r"$\varphi'(x)$")
    bounds = []
    if panel.bounds:
        b = panel.bounds[0]
        bounds.append(ax.axhline(b.value, color=BOUND_COLOR, linestyle=":", linewidth=1.0, zorder=1,
                                 label=r"proved $\sup\varphi'$"))
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

#: How each exact-chain statistic of the depth figure is drawn: (legend label, short name for notes, colour). The
#: Monte Carlo estimate of a statistic takes the same colour; two different statistics never share one.
#: :math:`e^{E\log|g_r|}` is not the median (rare chains can dominate :math:`E\log|g_r|`), so it is not called typical.
EXACT_STYLES = {
    "mean": (r"exact chain: mean $|E[g_r]|$", r"$|E[g_r]|$", OKABE_ITO["blue"]),
    "exp_log_mean": (r"exact chain: $e^{E\log|g_r|}$", r"$e^{E\log|g_r|}$", OKABE_ITO["vermillion"]),
    "median": (r"exact chain: median $|g_r|$", r"median $|g_r|$", OKABE_ITO["green"]),
}
#: Colour of the median, simulated or exact.
MEDIAN_COLOR = EXACT_STYLES["median"][2]


def withheld_note(name: str, depth: np.ndarray, withheld: np.ndarray) -> str:
    """Where a statistic is withheld, e.g. ``"$|E[g_r]|$: $r > 16$"`` or ``"...: $r$ = 2–5, 9"``; empty when
    nothing is."""
    depth, withheld = np.asarray(depth), np.asarray(withheld, bool)
    if not withheld.any():
        return ""
    first = int(np.argmax(withheld))
    if withheld[first:].all():
        where = f"$r > {int(depth[first - 1])}$" if first > 0 else "every depth"
    else:
        runs, start = [], None
        for i, w in enumerate(list(withheld) + [False]):
            if w and start is None:
                start = i
            elif not w and start is not None:
                a, b = int(depth[start]), int(depth[i - 1])
                runs.append(f"{a}" if a == b else f"{a}–{b}")
                start = None
        where = "$r$ = " + ", ".join(runs)
    return f"{name}: {where}"


#: The heading of the note under a depth panel that lists the withheld statistics.
WITHHELD_HEADING = "not converged, not drawn:"


def draw_gradient_depth(ax, panel: GradientPanel, *, legend: bool = False) -> dict[str, Any]:
    r"""Gradient magnitude against depth on a log axis: the exact chain's statistics (:data:`EXACT_STYLES`; a
    withheld value is not drawn and a note under the axis says where, ``out["withheld_note"]``), the Monte Carlo
    mean and median of the same chain with 95 % bands, the crude bound, and (thin) the independence
    approximation."""
    c_bound, c_mean, c_log = BOUND_COLOR, EXACT_STYLES["mean"][2], EXACT_STYLES["exp_log_mean"][2]
    out: dict[str, Any] = {}
    out["bound"] = draw_curve(ax, panel.depth, panel.bound, color=c_bound, linestyle="--", linewidth=1.5,
                              label=r"crude bound $(E|w|\,\sup|\varphi'|)^r$")
    notes = []
    for line in panel.exact:
        label, short, color = EXACT_STYLES[line.key]
        out[line.key] = draw_curve(ax, panel.depth, np.where(line.withheld, np.nan, line.y), color=color,
                                   linewidth=2.0, label=label, zorder=2.5)  # over the Monte Carlo markers
        notes.append(withheld_note(short, panel.depth, line.withheld))
    if panel.independence_mean is not None:
        out["independence_mean"] = draw_curve(ax, panel.depth, panel.independence_mean, color=c_mean,
                                              linewidth=0.8, linestyle=":",
                                              label=r"independence approx.: $|E[w]E[\varphi'(v)]|^r$")
    if panel.independence_exp_log_mean is not None:
        out["independence_exp_log_mean"] = draw_curve(ax, panel.depth, panel.independence_exp_log_mean,
                                                      color=c_log, linewidth=0.8, linestyle=":",
                                                      label=r"independence approx.: $e^{rE\log|w\varphi'(v)|}$")
    ax.set_yscale("log")

    def positive(*arrays) -> np.ndarray:
        v = np.concatenate([np.asarray(a, float).ravel() for a in arrays])
        return v[np.isfinite(v) & (v > 0)]

    others = positive(*[out[line.key].get_ydata() for line in panel.exact], panel.mc_mean.value,
                      panel.mc_median.value)
    every = positive(panel.bound, others)
    floor = float(every.min()) / 30 if every.size else 1e-300
    for key, band, color, marker, label in (
            ("mc_mean", panel.mc_mean, c_mean, "o", r"Monte Carlo of the chain: mean $|\bar g_r|$, 95 % band"),
            ("mc_median", panel.mc_median, MEDIAN_COLOR, "s",
             r"Monte Carlo of the chain: simulated median $|g_r|$, 95 % band")):
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
    withheld = [n for n in notes if n]
    if withheld:  # under the axis label, where it covers nothing
        out["withheld_note"] = ax.annotate("\n".join([WITHHELD_HEADING] + withheld), xy=(0.5, 0),
                                           xycoords=ax.xaxis.label, xytext=(0, -2), textcoords="offset points",
                                           ha="center", va="top", fontsize="x-small", color="0.25")
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


# ---------------------------------------------------------------- dying ReLU

def draw_dead_fraction(ax, panel: DeadPanel) -> dict[str, Any]:
    """Analytic fraction of dead units (curve) against Monte Carlo estimates (points with 95 % bars)."""
    out = {"curve": draw_curve(ax, panel.curve_x, panel.curve_y, color=OKABE_ITO["blue"], label=panel.curve_label)}
    p = panel.points
    # hollow markers under the 95 % bars: the bars are drawn last, above the markers, so a bar shorter than a
    # marker still shows; the legend shows marker and bar together
    color = OKABE_ITO["vermillion"]
    out["markers"] = ax.plot(p.x, p.value, linestyle="none", marker="o", markersize=6, markerfacecolor="none",
                             markeredgecolor=color, markeredgewidth=1.2, zorder=3)[0]
    out["points"] = ax.errorbar(p.x, p.value, yerr=[p.value - p.lower, p.upper - p.value], fmt="none",
                                ecolor="black", elinewidth=1.4, capsize=4, capthick=1.4, zorder=5)
    handles, labels = [out["curve"], (out["markers"], out["points"])], [panel.curve_label, panel.points_label]
    if panel.extra_x is not None:
        out["extra"] = ax.plot(panel.extra_x, panel.extra_y, linestyle="none", marker="x", markersize=6,
                               markeredgewidth=1.8, color=OKABE_ITO["green"], label=panel.extra_label, zorder=4)[0]
        handles.append(out["extra"])
        labels.append(panel.extra_label)
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel(panel.xlabel)
    ax.set_ylabel(r"fraction of dead units ($\varphi'(v) = 0$)")
    ax.set_title(panel.title)
    ax.grid(True, color="0.9")
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18),
              frameon=False)  # below the axes: covers nothing
    return out


# ---------------------------------------------------------------- softmax Jacobian

def draw_jacobian_entries(ax, panel: JacobianPanel, *, color: str = OKABE_ITO["blue"], seed: int = 0) -> dict:
    r"""Sampled Jacobian entries (or norms) against the input size n, jittered horizontally, with the proved bound
    dashed. ``seed`` fixes the jitter so the picture is reproducible."""
    rng = np.random.default_rng(seed)
    dots = []
    for n, v in zip(panel.n, panel.values):
        jitter = rng.uniform(-0.28, 0.28, size=len(v))
        dots.append(ax.scatter(n + jitter, v, s=5, color=color, alpha=0.35, linewidth=0, rasterized=True))
    bound = draw_bound(ax, panel.bound, va="bottom" if panel.bound.value >= 0 else "top")
    ax.set_xticks(list(panel.n))
    ax.set_xlabel("number of logits $n$")
    ax.set_ylabel(panel.ylabel)
    ax.set_title(panel.title)
    return {"dots": dots, "bound": bound}
