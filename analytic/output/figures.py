r"""Every figure the ``figures`` command writes, byte-reproducible: the list of figures, their assembly, and
writing them.

Each figure has a name (the ``--only`` value and the file stem) and a builder that lays out axes and draws them
with the public plotting functions of :mod:`analytic.output.api`, from data computed through the library
(:mod:`analytic.output.panels`, :mod:`analytic.output.network_panels`). The list of figures is derived from the
activation registry: one ``activation_<name>`` figure per catalogue entry, plus the catalogue grid and the
softmax-Jacobian, depth, pre-activation, histogram, phase-diagram, dying-ReLU, isometry, finite-width and
normalisation figures; the activations a shared figure draws are the catalogue entries whose ``figures`` name it, in
declaration order. Figures are saved by :func:`analytic.output.save.save`, the only place a figure is written.
A figure whose builder fails is named and skipped; :func:`write_figures` keeps every file it finished under the key
of its inputs (:func:`figure_key`), so a rerun builds only the figures that are missing or stale.

>>> import tempfile, pathlib
>>> from analytic.output.budget import QUICK
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> [p.name for p in write_figures(out, "svg", only=["softmax_jacobian"], budget=QUICK).paths]
['softmax_jacobian.svg']
"""
from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
import functools
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from matplotlib.figure import Figure

from . import network_plotting as N
from . import plotting as P
from ..core.activations import catalogue
from ..core.files import code_fingerprint, file_digest, output_folder, read_part, write_part
from ..errors import AnalyticError, ArgumentError, OutputError, UnknownFigure, canonical_callable, canonical_int, canonical_names, \
    canonical_text, one_line, show_value
from .api import plot_activation, plot_dying_relu, plot_gradient_depth, plot_histogram, plot_normalisation, \
    plot_phase_diagram, plot_preactivation_law
from .budget import DEFAULT, Budget, check_budget
from .network_panels import finite_width_panel, isometry_panels
from .panels import softmax_bounds, softmax_jacobians
from .save import DPI, FORMATS, MAX_DPI, METADATA, save
from .selection import DEFAULT_SELECTION, Selection, label, selection
from .style import compact, current_style, figure_size, new_figure, style
from .workers import run_parallel


# ---------------------------------------------------------------- the list of figures

@dataclass(frozen=True)
class FigureSpec:
    """One figure: its name (file stem and ``--only`` value), what it shows, and how to build it."""

    name: str
    doc: str
    build: Callable[..., Figure]
    #: The builder takes the :class:`~analytic.output.selection.Selection` of activations as a second argument.
    selectable: bool = False


_FIXED: dict[str, FigureSpec] = {}


def _figure(name: str, doc: str, selectable: bool = False):
    def wrap(build: Callable[..., Figure]) -> Callable[..., Figure]:
        _FIXED[name] = FigureSpec(name, doc, build, selectable)
        return build
    return wrap


def figures() -> tuple[FigureSpec, ...]:
    """Every figure, in the order they are written: the fixed ones, then one per catalogue activation."""
    per_activation = tuple(
        FigureSpec(f"activation_{a.name}", f"{a.name}: phi and phi' side by side with the proved bounds of phi'",
                   functools.partial(_build_activation, a.name), selectable=True)
        for a in catalogue())
    return tuple(_FIXED.values()) + per_activation


def figure_names() -> list[str]:
    """The names accepted by ``--only`` (and the file stems)."""
    return [f.name for f in figures()]


def select(only: Sequence[str] | None = None) -> tuple[FigureSpec, ...]:
    """The figures named in ``only`` (names or shell patterns such as ``activation_*``), in the standard order.

    Raises :class:`~analytic.errors.UnknownFigure` for a name that matches nothing.
    """
    every = figures()
    if not only:
        return every
    chosen: set[str] = set()
    for pattern in only:
        hits = [f.name for f in every if fnmatch.fnmatchcase(f.name, pattern)]
        if not hits:
            raise UnknownFigure(_unknown(pattern, [f.name for f in every]))
        chosen.update(hits)
    return tuple(f for f in every if f.name in chosen)


def _unknown(name: str, known: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    close += [n for n in known if n == f"activation_{name}" and n not in close]
    hint = f"did you mean {', '.join(close)}? " if close else ""
    fixed = [n for n in known if not n.startswith("activation_")]
    return (f"unknown figure {name!r}; {hint}figures: {', '.join(fixed)}, and activation_NAME for each "
            f"catalogue activation")


def build(name: str, budget: Budget = DEFAULT, style_name: str | None = None,
          selection: Selection = DEFAULT_SELECTION) -> Figure:
    """Build the figure called ``name`` (not saved) in the style ``style_name`` (default: the current one),
    drawing the activations of ``selection`` where the figure draws activations."""
    specs = {f.name: f for f in figures()}
    if name not in specs:
        raise UnknownFigure(_unknown(name, list(specs)))
    spec = specs[name]
    with style(style_name):
        return spec.build(budget, selection) if spec.selectable else spec.build(budget)


@dataclass(frozen=True)
class Written:
    """One file written by :func:`write_figures` (``reused``: it was finished by an earlier run under the same
    key, and kept)."""

    name: str
    path: Path
    seconds: float
    reused: bool = False
    also: tuple[Path, ...] = ()  # the same figure in the other formats asked for


@dataclass(frozen=True)
class Failed:
    """A figure (or a report part) that could not be made, and why (the library's error, on one line)."""

    name: str
    reason: str

    def as_dict(self) -> dict:
        return {"name": self.name, "error": self.reason}


@dataclass(frozen=True)
class FigureFiles:
    """What :func:`write_figures` wrote, in order, and the figures that failed."""

    written: tuple[Written, ...]
    format: str
    failed: tuple[Failed, ...] = ()

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(w.path for w in self.written)

    @property
    def all_paths(self) -> tuple[Path, ...]:
        """Every file written: each figure in its format, then in the other formats asked for (``also``)."""
        return tuple(p for w in self.written for p in (w.path,) + w.also)

    def as_dict(self) -> dict:
        """JSON keys of the ``figures`` command: ``files`` (paths as strings) and ``format``; ``failed`` (a list
        of ``{"name", "error"}``) only when a figure failed."""
        out = {"files": [str(p) for p in self.paths], "format": self.format}
        if self.failed:
            out["failed"] = [f.as_dict() for f in self.failed]
        return out


#: Folder, inside an output folder, holding the key of every finished file (:func:`figure_key`).
PARTS = ".parts"


def figure_key(name: str, fmt: str, budget: Budget, dpi: int, style_name: str,
               selection: Selection = DEFAULT_SELECTION) -> dict:
    """Everything that decides the bytes of the figure ``name``: its name, format, style, resolution, the budget,
    the selection of activations (when one was made) and :func:`~analytic.core.files.code_fingerprint` (package
    version and source digest, Python and library versions). A file written under one key is reused only by a
    run with an equal key."""
    key = {"part": "figure", "name": name, "format": fmt, "style": style_name, "dpi": dpi,
           "budget": dataclasses.asdict(budget), "code": code_fingerprint()}
    if not selection.default:
        key["selection"] = selection.key()
    return key


def write_figures(out: str | os.PathLike = "figures", format: str = "png", only: Sequence[str] | None = None,
                  budget: Budget = DEFAULT, progress: Callable[[int, int, Written | Failed], None] | None = None,
                  dpi: int = DPI, jobs: int | None = None, style_name: str = "paper",
                  acts: Sequence[str] | None = None, params: dict | None = None,
                  also: Sequence[str] = ()) -> FigureFiles:
    """Build and save the selected figures into ``out`` as ``<name>.<format>``; the files are listed in the
    standard order.

    ``jobs`` worker processes build figures side by side (default: up to 2, one per core; 1 builds in this
    process). Every figure depends only on its own fixed seeds, so the bytes do not depend on ``jobs``.
    ``progress(i, total, written)`` is called as each file is done (or has failed). Bad names, a bad format or
    an ``out`` that is a file raise before anything is written. ``style_name`` is ``paper`` (default: column or
    page width, 8–9 pt text) or ``slides`` (every figure one 16:9 slide). Each figure built is also saved in the
    formats ``also`` (listed in :attr:`FigureFiles.all_paths`), from the same drawing. ``acts`` (activation names)
    and ``params`` (``{activation: {parameter: value}}``) choose what the figures that show activations draw
    (:func:`~analytic.output.selection.selection`, checked before anything is written): the catalogue grid and
    the depth, pre-activation and histogram figures draw ``acts``, and only their ``activation_<name>`` figures
    are written.

    Each file is written atomically as soon as its figure is built, and its key (:func:`figure_key`, with the
    file's SHA-256) is stored beside it in ``out/.parts/``. A figure whose builder raises an
    :class:`~analytic.errors.AnalyticError` is listed in ``failed`` and skipped; the others are written. A rerun
    keeps every file whose stored key equals its own and whose bytes are the ones recorded, and builds the rest,
    so it ends with the bytes an uninterrupted run writes.
    """
    current_style(style_name)  # an unknown style fails before any work
    fmt = canonical_text("format", format, error=OutputError).lower()
    if fmt not in METADATA:
        raise OutputError(f"unknown figure format {show_value(format)}; formats: {', '.join(FORMATS)}")
    extra = tuple(dict.fromkeys(f.lower() for f in canonical_names("also", also, OutputError) or ()))
    if any(f not in METADATA for f in extra):
        raise OutputError(f"unknown figure format in {show_value(also)}; formats: {', '.join(FORMATS)}")
    extra = tuple(f for f in extra if f != fmt)
    only = canonical_names("only", only, UnknownFigure)
    if only is not None and not only:
        raise UnknownFigure("only is empty (None means every figure)")
    chosen = selection(acts, params)
    specs = select(only)
    if chosen.acts is not None:  # the per-activation figures of the chosen activations only
        names = set(chosen.names())
        specs = tuple(s for s in specs if not s.name.startswith("activation_") or s.name[11:] in names)
    if not specs:
        raise UnknownFigure("the selection leaves no figure to write")
    check_budget(budget)
    canonical_callable("progress", progress)
    dpi = canonical_int("dpi", dpi, 10, MAX_DPI, OutputError)
    jobs = None if jobs is None else canonical_int("jobs", jobs, 1, 64)
    folder = output_folder(out)
    output_folder(folder / PARTS)
    done: dict[str, Written | Failed] = {}

    def report(w: Written | Failed) -> None:
        done[w.name] = w
        if progress is not None:
            progress(len(done), len(specs), w)

    todo = []
    for spec in specs:
        path = folder / f"{spec.name}.{fmt}"
        if all(_finished(folder / f"{spec.name}.{f}", figure_key(spec.name, f, budget, dpi, style_name, chosen))
               for f in (fmt,) + extra):
            report(Written(spec.name, path, 0.0, reused=True, also=tuple(path.with_suffix(f".{f}") for f in extra)))
        else:
            todo.append(spec.name)
    jobs = min(len(todo), jobs if jobs is not None else min(2, os.cpu_count() or 1))
    if jobs <= 1 or not hasattr(os, "fork"):
        for name in todo:
            report(_write_one(name, folder, fmt, budget, dpi, style_name, chosen, extra))
    else:
        work = functools.partial(_write_one, folder=folder, fmt=fmt, budget=budget, dpi=dpi, style_name=style_name,
                                 selection=chosen, also=extra)
        run_parallel(_groups(todo), work, jobs, report)
    results = [done[spec.name] for spec in specs]
    return FigureFiles(tuple(r for r in results if isinstance(r, Written)), fmt,
                       tuple(r for r in results if isinstance(r, Failed)))


def _key_file(path: Path) -> Path:
    return path.parent / PARTS / f"{path.name}.json"


def _finished(path: Path, key: dict) -> bool:
    """``path`` was written under ``key`` and still holds the bytes recorded then."""
    stored = read_part(_key_file(path), key)
    return stored is not None and stored.get("sha256") == file_digest(path)


def _write_one(name: str, folder: Path, fmt: str, budget: Budget, dpi: int,
               style_name: str = "paper", selection: Selection = DEFAULT_SELECTION,
               also: tuple[str, ...] = ()) -> Written | Failed:
    """Build one figure, save it in ``fmt`` and the formats ``also``, and record each file's key (in this process
    or a worker); a figure whose builder raises an :class:`~analytic.errors.AnalyticError` is returned as
    :class:`Failed`, and nothing is written."""
    start = time.perf_counter()
    paths = [folder / f"{name}.{f}" for f in (fmt,) + also]
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            _key_file(path).unlink()  # a key never outlives the file it describes
    try:
        fig = build(name, budget, style_name, selection)
    except AnalyticError as exc:
        return Failed(name, one_line(f"{type(exc).__name__}: {exc}"))
    for f, path in zip((fmt,) + also, paths):
        with style(style_name):
            save(fig, path, f, dpi, style_name)
        write_part(_key_file(path), figure_key(name, f, budget, dpi, style_name, selection),
                   {"sha256": file_digest(path)})
    return Written(name, paths[0], time.perf_counter() - start, also=tuple(paths[1:]))


def _groups(names: list[str]) -> list[list[str]]:
    """The worker tasks for ``names``: the catalogue grid and the per-activation figures share one task, so the
    proved bounds they all draw are computed once; every other figure is a task of its own."""
    shared = [n for n in names if n == "activations" or n.startswith("activation_")]
    groups = ([shared] if shared else []) + [[n] for n in names if n not in shared]
    groups.sort(key=lambda g: names.index(g[0]))
    return groups


def figure_activations(figure: str) -> tuple[str, ...]:
    """The catalogue entries a shared figure draws: those whose ``figures`` name it, in declaration order."""
    return tuple(a.name for a in catalogue() if figure in a.figures)


def _drawn(figure: str, selection: Selection) -> tuple:
    """What a shared chain figure draws: its catalogue entries by name, or (after a selection) the selected
    scalar activations, resolved with their parameters."""
    if selection.default:
        return figure_activations(figure)
    return selection.choose(figure_activations(figure), scalar=True)


def _panel_row(fig: Figure, figure: str, plot: Callable, budget: Budget, selection: Selection = DEFAULT_SELECTION,
               **subplots) -> Sequence:
    """One row of axes, one per activation drawn in ``figure``, each filled by ``plot(name, ax=, budget=)``."""
    names = _drawn(figure, selection)
    if not names:
        raise ArgumentError(f"the {figure} figure draws one-neuron chains; the selection has no scalar activation")
    axes = fig.subplots(1, len(names), squeeze=False, **subplots)[0]
    for ax, name in zip(axes, names):
        plot(name, ax=ax, budget=budget)
        if not isinstance(name, str):  # a selected activation: its parameters in the title
            ax.set_title(label(name))
    return axes


# ---------------------------------------------------------------- activations

def _build_activation(name: str, budget: Budget, selection: Selection = DEFAULT_SELECTION) -> Figure:
    from .panels import SOFTMAX_NOTE

    act = selection.bind(name)
    fig = new_figure(figure_size("page", 0.4))
    plot_activation(act if act.given else name, ax=fig.subplots(1, 2), grid=budget.grid)
    if act.vector:  # one output of a vector map: say which, and against what
        fig.suptitle(SOFTMAX_NOTE, fontsize="medium")
    return fig


@_figure("activations", "the catalogue grid: phi (solid) and phi' (dashed) of every activation, sup phi' dotted",
         selectable=True)
def _build_catalogue(budget: Budget, selection: Selection = DEFAULT_SELECTION) -> Figure:
    acts = catalogue() if selection.default else selection.choose([a.name for a in catalogue()])
    ncols = min(5 if compact() else 7, len(acts))  # a portrait page in the paper, a landscape slide otherwise
    nrows = math.ceil(len(acts) / ncols)
    fig = new_figure(figure_size("page", (3.1 * nrows + 0.8) / 17))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, act in zip(axes.flat, acts):
        title = "softmax (component)" if act.vector else act.name if selection.default else label(act)
        plot_activation(act.name if selection.default or not act.given else act, ax=ax, grid=budget.grid,
                        title=title)
        if act.vector and not compact():  # the long title fits a seventh of a slide in a smaller size, flush right
            ax.title.set(fontsize="small", x=1.0, horizontalalignment="right")
    for ax in list(axes.flat)[len(acts):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=P.PHI_COLOR, linewidth=2, label=r"$\varphi(x)$"),
               Line2D([], [], color=P.DPHI_COLOR, linewidth=2, linestyle="--", label=r"$\varphi'(x)$"),
               Line2D([], [], color=P.BOUND_COLOR, linewidth=1.2, linestyle=":", label=r"proved $\sup\varphi'$")]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False,
               fontsize=None if compact() else 14)
    return fig



# ---------------------------------------------------------------- softmax Jacobian

@_figure("softmax_jacobian", "softmax Jacobian diag(s) - s s^T: sampled entries and norms against the proved bounds")
def _build_softmax(budget: Budget) -> Figure:
    data = softmax_jacobians(budget.jacobian_sizes, budget.jacobian_samples, budget.seed)
    bounds = softmax_bounds()
    fig = new_figure(figure_size("page", 0.36))
    axes = fig.subplots(1, 3)
    panels = [
        P.JacobianPanel(r"diagonal $\partial s_i/\partial z_i$", r"$s_i(1-s_i)$", data.n, data.diagonal,
                        bounds["diagonal"]),
        P.JacobianPanel(r"off-diagonal $\partial s_i/\partial z_j$", r"$-s_i s_j$", data.n, data.off_diagonal,
                        bounds["off_diagonal"]),
        P.JacobianPanel(r"spectral norm", r"$\|\mathrm{diag}(s) - s s^{\top}\|_2$", data.n, data.norm,
                        bounds["norm"]),
    ]
    colors = (P.OKABE_ITO["blue"], P.OKABE_ITO["vermillion"], P.OKABE_ITO["green"])
    for i, (ax, panel, color) in enumerate(zip(axes, panels, colors)):
        P.draw_jacobian_entries(ax, panel, color=color, seed=budget.seed + i)
    axes[0].set_ylim(-0.01, 0.29)
    axes[1].set_ylim(-0.29, 0.01)
    axes[2].set_ylim(-0.02, 0.58)
    fig.suptitle(r"Softmax Jacobian $J = \mathrm{diag}(s) - s s^{\top}$ at random logits: every entry and norm "
                 r"within the proved bounds")
    return fig



# ---------------------------------------------------------------- gradient across depth

@_figure("gradient_depth", "gradient magnitude against depth: the exact chain's mean and typical value, Monte "
                           "Carlo of the same chain with 95 % bands, the crude bound and the independence "
                           "approximation", selectable=True)
def _build_gradient_depth(budget: Budget, selection: Selection = DEFAULT_SELECTION) -> Figure:
    names = _drawn("gradient_depth", selection)
    if not names:
        raise ArgumentError("the gradient_depth figure draws one-neuron chains; the selection has no scalar "
                            "activation")
    cells = len(names) + (0 if compact() and not selection.default else 1)  # one cell more, for the legend
    rows = math.ceil(cells / 4)
    fig = new_figure(figure_size("page", 0.62 if selection.default else 0.25 + 0.3 * rows))
    axes = fig.subplots(rows, 4, squeeze=False)
    for ax, name in zip(axes.flat, names):
        plot_gradient_depth(name, ax=ax, budget=budget)
        if not isinstance(name, str):  # a selected activation: its parameters in the title
            ax.set_title(label(name).replace(" (", "\n("))
    fig.supylabel(r"gradient magnitude $|g_r|$")  # once: beside each row it is taller than the row's panels
    legend_ax = axes.flat[len(names)] if cells > len(names) else None
    for ax in axes.flat[cells:]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat[1:len(names)]:  # the 'unreliable' marker may appear in any panel
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    if legend_ax is not None:
        legend_ax.axis("off")
    if compact():  # at page width the eighth cell is too narrow for the legend: it goes under the panels
        fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    else:
        legend_ax.legend(handles, labels, loc="center", frameon=False, fontsize=12)
    fig.suptitle(r"Gradient $g_r = w_1\varphi'(v_1)\cdots w_r\varphi'(v_r)$ of the chain $y_0 = 1$, "
                 r"$v_t = w_t y_{t-1}$, $w \sim \mathcal{N}(1, 0.5^2)$:"
                 "\n" f"exact chain, Monte Carlo of the same chain ({budget.chains:,} "
                 "chains per depth), independence approximation (thin)")
    return fig



# ---------------------------------------------------------------- the law of the pre-activations

@_figure("preactivation_law", "mean and standard deviation of the pre-activation v_t across depth in the exact "
                              "chain, for sigmoid and tanh, against the N(0, 1) of the independence approximation",
         selectable=True)
def _build_preact(budget: Budget, selection: Selection = DEFAULT_SELECTION) -> Figure:
    fig = new_figure(figure_size("page", 0.42))
    axes = _panel_row(fig, "preactivation_law", plot_preactivation_law, budget, selection, sharey=True)
    axes[0].set_ylabel(r"pre-activation $v_t$: mean $\pm$ sd")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(r"Why $v_t \sim \mathcal{N}(0, 1)$ is the wrong law: the exact chain $y_0 = 1$, "
                 r"$v_t = w_t y_{t-1}$, $w \sim \mathcal{N}(1, 0.5^2)$")
    return fig



# ---------------------------------------------------------------- histogram of log|product|

@_figure("histogram", "histogram of log10|prod w_t phi'(v_t)| at a few depths: the mean sits far right of the "
                      "typical value", selectable=True)
def _build_histogram(budget: Budget, selection: Selection = DEFAULT_SELECTION) -> Figure:
    fig = new_figure(figure_size("page", 0.4))
    axes = _panel_row(fig, "histogram", plot_histogram, budget, selection)
    from matplotlib.lines import Line2D
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", linestyle="--", linewidth=1.8),
                Line2D([], [], color="0.3", linestyle=":", linewidth=1.8)]
    labels += ["mean (of the absolute value)", "median (typical value)"]
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    fig.suptitle(rf"Why mean and typical differ: $w \sim \mathcal{{N}}(1, 0.5^2)$, $v \sim \mathcal{{N}}(0,1)$, "
                 rf"{budget.hist_chains:,} chains per depth")
    return fig



# ---------------------------------------------------------------- wide networks

@_figure("phase_diagram", "mean-field phase diagrams: tanh's critical line chi_1 = 1 with contours of the correlation "
                          "depth xi_c, and ReLU's own diagram with its critical point sigma_w^2 = 2")
def _build_phase(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.6))
    left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
    plot_phase_diagram(ax=left, activation="tanh", budget=budget)
    plot_phase_diagram(ax=right, activation="relu", budget=budget)
    fig.suptitle(r"Mean-field phase diagrams: ordered ($\chi_1 < 1$) and chaotic ($\chi_1 > 1$), with the depth "
                 r"$\xi_c$" "\n" "over which correlations between inputs propagate")
    return fig



@_figure("dying_relu", "dying ReLU: fraction of dead units against the bias mean, analytic P(v < 0) vs Monte Carlo")
def _build_dead(budget: Budget) -> Figure:
    fig = new_figure(figure_size("column", 1.1))
    plot_dying_relu(ax=fig.subplots(), budget=budget)
    return fig



@_figure("isometry", "dynamical isometry: singular-value densities of the input-output Jacobian at criticality, "
                     "tanh vs ReLU, Gaussian vs orthogonal weights, analytic over Monte Carlo")
def _build_isometry(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.8))
    axes = fig.subplots(2, 2)
    for ax, panel in zip(axes.ravel(), isometry_panels(budget)):
        N.draw_singular_values(ax, panel)
    fig.suptitle(r"Singular values $s$ of the input–output Jacobian $J = \partial y_L/\partial y_0$ of an "
                 r"$L$-layer network at criticality ($\chi_1 = 1$): S-transform density (line), sampled width-"
                 f"{budget.isometry_width} networks (histogram)", wrap=True)
    return fig



@_figure("finite_width", "finite width: ReLU's E ln||J u||^2 per layer against 1/n, exact law, large-width "
                         "approximation and Monte Carlo")
def _build_finite_width(budget: Budget) -> Figure:
    fig = new_figure(figure_size("column", 0.95))
    N.draw_finite_width(fig.subplots(), finite_width_panel(budget))
    return fig



@_figure("normalisation", "BatchNorm and LayerNorm: lambda against the batch size (finite-batch theory, B -> infinity "
                          "limits, Monte Carlo) and the squared gradient norm across depth, plain vs normalised")
def _build_normalisation(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.45))
    plot_normalisation(ax=fig.subplots(1, 2), budget=budget)
    return fig


# ---------------------------------------------------------------- the per-layer picture and sparsity

@_figure("layer_profile", "the per-layer picture of a wide network (Glorot & Bengio 2010): gradient norm and "
                          "pre-activation variance at every layer for sigmoid, tanh and ReLU under standard, "
                          "Glorot and He weights, mean field over Monte Carlo")
def _build_layer_profile(budget: Budget) -> Figure:
    from matplotlib.lines import Line2D

    from .api import PROFILE_ACTS, plot_layer_profile
    from .layer_panels import INITS

    fig = new_figure(figure_size("page", 0.72))
    axes = fig.subplots(2, len(PROFILE_ACTS), squeeze=False)
    for j, act in enumerate(PROFILE_ACTS):
        for init in INITS:
            for row, quantity in enumerate(("gradient", "q")):
                plot_layer_profile(act, init, ax=axes[row, j], quantity=quantity, budget=budget)
        axes[0, j].set_title(act)
        axes[0, j].set_xlabel("")
    for ax in axes[:, 1:].ravel():
        ax.set_ylabel("")
    axes[0, 0].set_ylabel(r"gradient $E\,\|\partial L/\partial y_l\|^2$")
    axes[1, 0].set_ylabel(r"pre-activation $q_l = E[v_l^2]$")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", linewidth=1.8),
                Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="0.3")]
    labels += [r"mean field: $n\prod_{k>l}\chi_k$, $\chi_k = \sigma_w^2 E[\varphi'(v_k)^2]$ (top); "
               r"length map $q_l$ (bottom)",
               f"Monte Carlo (real back-propagation, {budget.profile_networks} networks × {budget.profile_batch} "
               "inputs), 95 % band"]
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(f"The per-layer picture: width {budget.profile_width}, depth {budget.profile_depth}, no bias, "
                 r"inputs $\mathcal{N}(0, I_n)$, loss $\langle u, y_L\rangle$")
    return fig


@_figure("sparsity", "ReLU sparsity: the fraction of zero activations per layer of a wide network with and "
                     "without bias (mean field P(v <= 0) over Monte Carlo), and narrow networks born dead, "
                     "(1 - 2^-n)^L against Monte Carlo")
def _build_sparsity(budget: Budget) -> Figure:
    from .api import plot_born_dead, plot_sparsity

    fig = new_figure(figure_size("page", 0.62))
    left, right = fig.subplots(1, 2)
    plot_sparsity(ax=left, budget=budget)
    plot_born_dead(ax=right, budget=budget)
    from matplotlib.lines import Line2D

    from .layer_panels import born_dead_panel, sparsity_panel

    for ax, line_label, mc_label in (
            (left, r"mean field $P(v_l \leq 0) = \Phi(-b/s_l)$", sparsity_panel(budget).mc_label),
            (right, r"exact $(1 - 2^{-n})^L$", born_dead_panel(budget).mc_label)):
        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.3", linewidth=1.8),
                    Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="0.3")]
        labels += [line_label, mc_label]
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncols=2, frameon=False,
                  fontsize="small")  # below the axes: covers nothing
    return fig


# ---------------------------------------------------------------- architectures

@_figure("architectures", "plain vs residual vs recurrent: E|prod| across depth for sigmoid, tanh and ReLU, exact "
                          "over Monte Carlo, and the gradient correlation of two inputs (shattered gradients)")
def _build_architectures(budget: Budget) -> Figure:
    from matplotlib.lines import Line2D

    from . import architecture_panels as AP
    from .api import plot_architectures
    from .plotting import OKABE_ITO

    fig = new_figure(figure_size("page", 0.8))
    grid = fig.add_gridspec(2, 3)
    axes = [fig.add_subplot(grid[0, j]) for j in range(3)] + [fig.add_subplot(grid[1, :2])]
    plot_architectures(ax=axes, budget=budget)
    handles = [Line2D([], [], color=OKABE_ITO[c], linestyle=s) for _, c, s in AP.NETWORKS]
    labels = [r"plain: $g_t = w_t\varphi'(v_t)$", r"residual: $g_t = 1 + \alpha w_t\varphi'(v_t)$, $\alpha = 1$",
              r"residual, $\alpha = 1/\sqrt{R}$", r"recurrent: one tied $w$, $g_t = w\,\varphi'(v_t)$"]
    handles.append(Line2D([], [], linestyle="none", marker="o", markerfacecolor="white", markeredgecolor="0.3"))
    labels.append(f"Monte Carlo, {budget.arch_samples:,} chains, 95 % bars\n(not drawn: fewer than "
                  f"{AP.MIN_ESS} effective samples)")
    handles.append(Line2D([], [], linestyle="none"))
    labels.append("\n".join(AP.LEFT_OUT.values()))
    handles.append(Line2D([], [], linestyle="none"))
    labels.append(AP.TWIN_NOTE)
    legend_ax = fig.add_subplot(grid[1, 2])
    legend_ax.axis("off")
    legend_ax.legend(handles, labels, loc="center", frameon=False, fontsize="x-small",
                     title=f"top row: $x = 1$, $w_t \\sim \\mathcal{{N}}(0, 1)$, $R = {budget.arch_depth}$",
                     title_fontsize="x-small")
    fig.suptitle(r"Gradient across depth $r$: exact $E\,|g_1 \cdots g_r|$ (lines; a withheld value is not drawn)."
                 "\n" r"Below: the correlation $\rho_d$ of two inputs' gradients ($c_0 = 1/2$) after $d$ blocks,"
                 "\n" r"mean field, ReLU $\sigma_w^2 = 2$, tanh $\sigma_w^2 = 1$, $\sigma_b^2 = 0$")
    return fig
