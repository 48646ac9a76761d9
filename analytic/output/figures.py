r"""Figure assembly and the one save helper: every figure the ``figures`` command writes, byte-reproducible.

Each figure has a name (the ``--only`` value and the file stem) and a builder that computes its data through the
library — derivatives from :mod:`analytic.core.calculus`, proved bounds from :mod:`analytic.bounds`, expectations from
:mod:`analytic.theory.gaussian`, simulations from :mod:`analytic.mc` with fixed seeds — and lays out axes
that :mod:`analytic.output.plotting` draws on. The list of figures is derived from the activation registry: one
``activation_<name>`` figure per catalogue entry, plus the catalogue grid and the depth, histogram, phase-diagram,
dying-ReLU and softmax-Jacobian figures.

:func:`save` is the only place a figure is written. Figures are built on the Agg canvas (no GUI backend, no
``pyplot`` state); ``svg.hashsalt`` is fixed and per-format metadata drops dates and version strings, so the same
figure gives the same bytes in PNG, SVG and PDF on every run. It writes a temporary file in the target folder
and renames it over the target (``os.replace``), so a failed or interrupted save never leaves a partial file.

>>> import tempfile, pathlib
>>> out = pathlib.Path(tempfile.mkdtemp())
>>> [p.name for p in write_figures(out, "svg", only=["softmax_jacobian"], budget=QUICK).paths]
['softmax_jacobian.svg']
"""
from __future__ import annotations

import contextlib
import contextvars
import fnmatch
import functools
import math
import os
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Sequence

import matplotlib
import numpy as np
import sympy as sp
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from . import plotting as P
from ..core.activations import catalogue
from ..core.calculus import numpy_function, resolve
from ..errors import (AnalyticError, ArgumentError, OutputError, UnknownFigure, canonical_callable, canonical_int,
                     canonical_names, canonical_text, show_value)
from ..core.files import atomic_write, canonical_path, output_folder, remove_temporaries
from ..core.registry import Activation
from ..quantities import STANDARD_NORMAL

#: Output formats :func:`save` writes, with the metadata that makes their bytes reproducible.
#: (Each backend accepts only its own keys: PDF would silently ignore SVG's ``Date``.)
CREATOR = "activation-analytic"
METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": CREATOR},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": CREATOR},
}
FORMATS = tuple(METADATA)
#: Salt for the ids matplotlib writes into SVG files (random per run unless fixed).
HASHSALT = "activation-analytic"
DPI = 150
#: Highest PNG resolution accepted (dots per inch).
MAX_DPI = 1200

#: rcParams shared by every style: no TeX install needed (mathtext); Type 42 (TrueType) fonts in PDF and PS,
#: which publishers' checks accept (Type 3 they often reject); SVG text as paths.
BASE_STYLE = {
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(P.SERIES)),
    "mathtext.fontset": "dejavusans", "svg.fonttype": "path", "svg.hashsalt": HASHSALT,
    "pdf.fonttype": 42, "ps.fonttype": 42,
    "savefig.dpi": DPI, "figure.dpi": 100, "path.simplify": True,
}


@dataclass(frozen=True)
class FigureStyle:
    """A figure style: the widths figures are made at (one journal column or the full page / slide) and the
    text sizes, in points at that size (so text is that size when the figure is printed at its own width)."""

    name: str
    column: float  # inches
    page: float  # inches
    rc: dict


#: ``paper`` (default): 3.4 in (one column) or 7 in (two columns) wide, 8–9 pt text, the smallest text
#: (``fontsize="small"``) 7.5 pt. ``slides``: 6.5 or 13.3 in wide (a 16:9 slide), 12–16 pt text.
STYLES = {
    "paper": FigureStyle("paper", 3.4, 7.0, {
        "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
        "legend.fontsize": 8, "figure.titlesize": 9, "lines.linewidth": 1.3, "lines.markersize": 4.5,
        "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6, "grid.linewidth": 0.5,
        "legend.handlelength": 1.8}),
    "slides": FigureStyle("slides", 6.5, 13.3, {
        "font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13, "xtick.labelsize": 12, "ytick.labelsize": 12,
        "legend.fontsize": 11, "figure.titlesize": 16, "lines.linewidth": 2.0}),
}
STYLE_NAMES = tuple(STYLES)
_CURRENT = contextvars.ContextVar("figure_style", default="paper")

#: Activations of the depth figure (the seed's list).
DEPTH_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu")
#: Weights of the chain figures: the seed example ``normal(1, 0.5)``.
CHAIN_WEIGHTS = "normal(1, 0.5)"


@dataclass(frozen=True)
class Budget:
    """How much work each figure does: grid points per curve, Monte Carlo sample counts, depths, seed.

    The defaults cost about 17 s of CPU for the whole set (``benchmarks/figures.py`` measures it), shared by two
    worker processes; :data:`QUICK` runs the same code with smaller numbers, for tests. The data functions are
    memoised per budget, so figures that share data compute it once per process.
    """

    grid: int = 801
    chains: int = 20_000
    max_depth: int = 50
    depth_points: tuple[int, ...] = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50)
    hist_chains: int = 100_000
    hist_depths: tuple[int, ...] = (5, 10, 20)
    phase_points: int = 11
    dead_points: int = 13
    dead_width: int = 256
    dead_batch: int = 64
    jacobian_samples: int = 400
    jacobian_sizes: tuple[int, ...] = tuple(range(2, 11))
    isometry_depths: tuple[int, ...] = (4, 16)
    isometry_width: int = 200
    isometry_networks: int = 4
    isometry_points: int = 41
    fw_widths: tuple[int, ...] = (8, 16, 32, 64)
    fw_networks: int = 24
    seed: int = 0


DEFAULT = Budget()
QUICK = Budget(grid=201, chains=2_000, max_depth=20, depth_points=(1, 2, 5, 10, 20), hist_chains=5_000,
               hist_depths=(5, 10), phase_points=7, dead_points=5, dead_width=64, dead_batch=16,
               jacobian_samples=60, jacobian_sizes=(2, 3, 5), isometry_depths=(2, 6), isometry_width=40,
               isometry_networks=2, isometry_points=17, fw_widths=(4, 16), fw_networks=4)


# ---------------------------------------------------------------- the save helper

def _style(name: str | None) -> FigureStyle:
    name = _CURRENT.get() if name is None else name
    if name not in STYLES:
        raise OutputError(f"unknown figure style {name!r}; styles: {', '.join(STYLES)}")
    return STYLES[name]


@contextlib.contextmanager
def style(name: str | None = None) -> Iterable[FigureStyle]:
    """The rcParams a figure is built and saved under, for the style ``name`` (``paper`` or ``slides``; default:
    the current one, ``paper`` outside any ``style`` block). A context: nothing global is changed."""
    chosen = _style(name)
    token = _CURRENT.set(chosen.name)
    try:
        with matplotlib.rc_context({**BASE_STYLE, **chosen.rc}):
            yield chosen
    finally:
        _CURRENT.reset(token)


def figure_size(width: str, aspect: float) -> tuple[float, float]:
    """(width, height) in inches for the current style: ``width`` is ``"column"`` or ``"page"``, the height is
    ``aspect`` times the width."""
    st = _style(None)
    w = st.column if width == "column" else st.page
    return (w, round(w * aspect, 3))


def _compact() -> bool:
    """True in the paper style (where legends and titles are laid out more tightly)."""
    return _style(None).name == "paper"


def new_figure(figsize: tuple[float, float], **kwargs) -> Figure:
    """A figure on the Agg canvas, with constrained layout (no ``pyplot``, so no GUI backend and no global list)."""
    fig = Figure(figsize=figsize, layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig


def save(fig: Figure, path: str | os.PathLike, format: str | None = None, dpi: int = DPI,
         style_name: str | None = None) -> Path:
    """Write ``fig`` to ``path`` with reproducible bytes; return the path.

    ``format`` is ``png``, ``svg`` or ``pdf`` (default: the path's suffix); ``dpi`` sets the PNG resolution
    (SVG and PDF are vector). The figure is rendered by Agg with
    ``svg.hashsalt`` fixed and the format's metadata from :data:`METADATA` (no dates, no version strings) into a
    temporary file in the same folder, which then replaces ``path`` atomically: on any error — or an interrupt —
    the temporary file is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> fig = new_figure((2, 2)); _ = fig.add_subplot().plot([0, 1])
    >>> save(fig, pathlib.Path(tempfile.mkdtemp()) / "line.svg").suffix
    '.svg'
    """
    if not isinstance(fig, Figure):
        raise OutputError(f"save needs a matplotlib Figure, got {type(fig).__name__}")
    path = canonical_path("figure path", path)
    fmt = (canonical_text("format", format, error=OutputError) if format is not None
           else path.suffix.lstrip(".")).lower()
    dpi = canonical_int("dpi", dpi, 10, MAX_DPI, OutputError)
    if fmt not in METADATA:
        raise OutputError(f"unknown figure format {show_value(fmt)}; formats: {', '.join(FORMATS)}")
    folder = path.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is not a folder")
    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)

    def render(fh):
        with style(style_name):
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=METADATA[fmt])

    atomic_write(path, render)
    return path


# ---------------------------------------------------------------- the list of figures

@dataclass(frozen=True)
class FigureSpec:
    """One figure: its name (file stem and ``--only`` value), what it shows, and how to build it."""

    name: str
    doc: str
    build: Callable[[Budget], Figure]


_FIXED: dict[str, FigureSpec] = {}


def _figure(name: str, doc: str):
    def wrap(build: Callable[[Budget], Figure]) -> Callable[[Budget], Figure]:
        _FIXED[name] = FigureSpec(name, doc, build)
        return build
    return wrap


def figures() -> tuple[FigureSpec, ...]:
    """Every figure, in the order they are written: the fixed ones, then one per catalogue activation."""
    per_activation = tuple(
        FigureSpec(f"activation_{a.name}", f"{a.name}: phi and phi' side by side with the proved bounds of phi'",
                   functools.partial(_build_activation, a.name))
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


def build(name: str, budget: Budget = DEFAULT, style_name: str | None = None) -> Figure:
    """Build the figure called ``name`` (not saved) in the style ``style_name`` (default: the current one)."""
    specs = {f.name: f for f in figures()}
    if name not in specs:
        raise UnknownFigure(_unknown(name, list(specs)))
    spec = specs[name]
    with style(style_name):
        return spec.build(budget)


@dataclass(frozen=True)
class Written:
    """One file written by :func:`write_figures`."""

    name: str
    path: Path
    seconds: float


@dataclass(frozen=True)
class FigureFiles:
    """What :func:`write_figures` wrote, in order."""

    written: tuple[Written, ...]
    format: str

    @property
    def paths(self) -> tuple[Path, ...]:
        return tuple(w.path for w in self.written)

    def as_dict(self) -> dict:
        """JSON keys of the ``figures`` command: ``files`` (paths as strings) and ``format``."""
        return {"files": [str(p) for p in self.paths], "format": self.format}


def write_figures(out: str | os.PathLike = "figures", format: str = "png", only: Sequence[str] | None = None,
                  budget: Budget = DEFAULT, progress: Callable[[int, int, Written], None] | None = None,
                  dpi: int = DPI, jobs: int | None = None, style_name: str = "paper") -> FigureFiles:
    """Build and save the selected figures into ``out`` as ``<name>.<format>``; the files are listed in the
    standard order.

    ``jobs`` worker processes build figures side by side (default: up to 2, one per core; 1 builds in this
    process). Every figure depends only on its own fixed seeds, so the bytes do not depend on ``jobs``.
    ``progress(i, total, written)`` is called as each file is done. Bad names, a bad format or an ``out`` that
    is a file raise before anything is written. ``style_name`` is ``paper`` (default: column or page width,
    8–9 pt text) or ``slides``.
    """
    _style(style_name)  # an unknown style fails before any work
    fmt = canonical_text("format", format, error=OutputError).lower()
    if fmt not in METADATA:
        raise OutputError(f"unknown figure format {show_value(format)}; formats: {', '.join(FORMATS)}")
    only = canonical_names("only", only, UnknownFigure)
    if only is not None and not only:
        raise UnknownFigure("only is empty (None means every figure)")
    specs = select(only)
    _check_budget(budget)
    canonical_callable("progress", progress)
    dpi = canonical_int("dpi", dpi, 10, MAX_DPI, OutputError)
    jobs = None if jobs is None else canonical_int("jobs", jobs, 1, 64)
    folder = output_folder(out)
    jobs = min(len(specs), jobs if jobs is not None else min(2, os.cpu_count() or 1))
    done: dict[str, Written] = {}

    def report(w: Written) -> None:
        done[w.name] = w
        if progress is not None:
            progress(len(done), len(specs), w)

    if jobs <= 1 or not hasattr(os, "fork"):
        for spec in specs:
            report(_write_one(spec.name, folder, fmt, budget, dpi, style_name))
    else:
        _write_parallel([s.name for s in specs], folder, fmt, budget, dpi, jobs, report, style_name)
    return FigureFiles(tuple(done[spec.name] for spec in specs), fmt)


def _check_budget(budget: object) -> None:
    if not isinstance(budget, Budget):
        raise ArgumentError(f"budget must be a Budget, got {type(budget).__name__}")


def _write_one(name: str, folder: Path, fmt: str, budget: Budget, dpi: int, style_name: str = "paper") -> Written:
    """Build and save one figure (in this process or a worker)."""
    start = time.perf_counter()
    fig = build(name, budget, style_name)
    with style(style_name):
        path = save(fig, folder / f"{name}.{fmt}", fmt, dpi, style_name)
    return Written(name, path, time.perf_counter() - start)


_QUEUE = None


def _set_queue(queue, parent: int | None = None) -> None:
    global _QUEUE  # a worker process's channel back to the parent (set once, at the worker's start)
    _QUEUE = queue
    _die_with_parent(parent)


def _die_with_parent(parent: int | None) -> None:
    """Tie this worker to the process that forked it: on Linux the kernel sends SIGKILL when the parent dies
    (``prctl(PR_SET_PDEATHSIG)``), elsewhere a daemon thread polls the parent's pid. Ctrl-C and SIGTERM are left
    to the parent, which cancels the work and stops the pool; so no file is written after the command ended."""
    import signal
    import sys
    import threading

    def stop(signum, frame):  # remove the file being written, then go (raising could be swallowed by a finaliser)
        remove_temporaries()
        os._exit(1)

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, stop)
    if parent is None:
        return
    if sys.platform.startswith("linux"):
        import ctypes

        PR_SET_PDEATHSIG = 1
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the tie was made
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


def _write_group(names: list[str], folder: Path, fmt: str, budget: Budget, dpi: int, style_name: str) -> None:
    for name in names:
        _QUEUE.put(_write_one(name, folder, fmt, budget, dpi, style_name))


def _write_parallel(names: list[str], folder: Path, fmt: str, budget: Budget, dpi: int, jobs: int,
                    report: Callable[[Written], None], style_name: str = "paper") -> None:
    """Write ``names`` with ``jobs`` forked workers. The catalogue grid and the per-activation figures share one
    task, so the proved bounds they all draw are computed once; every file is reported as soon as it is written."""
    import concurrent.futures
    import multiprocessing

    shared = [n for n in names if n == "activations" or n.startswith("activation_")]
    groups = ([shared] if shared else []) + [[n] for n in names if n not in shared]
    groups.sort(key=lambda g: names.index(g[0]))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.SimpleQueue()
    with concurrent.futures.ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_set_queue,
                                                initargs=(queue, os.getpid())) as pool:
        pending = {pool.submit(_write_group, g, folder, fmt, budget, dpi, style_name) for g in groups}
        try:
            while pending:
                finished, pending = concurrent.futures.wait(pending, timeout=0.05)
                while not queue.empty():
                    report(queue.get())
                for f in finished:
                    f.result()  # a worker's exception is raised here
            while not queue.empty():
                report(queue.get())
        except BaseException:
            _stop_workers(pool)  # (not Future.cancel: the pool's manager thread then fails on the cancelled ones)
            raise


def _stop_workers(pool) -> None:
    """Stop the pool's workers now (an interrupt or an error: what they are writing is not wanted any more). Each
    gets SIGTERM, removes the temporary file it was writing and exits; this returns when they are gone."""
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.terminate()
    for process in list(getattr(pool, "_processes", {}).values()):
        with contextlib.suppress(Exception):
            process.join(2)


# ---------------------------------------------------------------- activations

XRANGE = (-5.0, 5.0)


def _fmt_value(value: sp.Expr | None, number: float) -> str:
    """A bound's value for a label: exact when short (1/4, 1, 0), else 4 significant digits."""
    if value is not None:
        if value.is_Rational:
            p, q = int(value.p), int(value.q)
            return f"{p}" if q == 1 else f"{p}/{q}"
    return rf"\approx {number:#.4g}" if not float(number).is_integer() else f"{number:g}"


def _bound_label(symbol: str, kind: str, value: sp.Expr | None, number: float, attained: bool) -> str:
    """E.g. ``max σ′ = 1/4`` or ``sup φ′ = 1 (not attained)`` in mathtext."""
    word = {"sup": ("max", "sup"), "inf": ("min", "inf")}[kind][0 if attained else 1]
    v = _fmt_value(value, number)
    eq = "" if v.startswith(r"\approx") else "="
    symbol = r"\varphi"  # one symbol in every figure (the panel title names the activation)
    text = rf"$\{word}\ {symbol}' {eq} {v}$"
    return text if attained else text + "\n(not attained)"


def dphi_bounds(act: Activation) -> tuple[P.BoundLine, ...]:
    r"""The proved sup of φ′ (and its inf when negative) as labelled lines, from :func:`analytic.bounds.bound`."""
    from ..bounds import bound

    try:
        b = bound(act, of="dphi")
    except AnalyticError:  # not proved (e.g. a timeout): draw no line rather than an unproved one
        return ()
    symbol = act.symbol
    lines = []
    for kind, ext in (("sup", b.sup), ("inf", b.inf)):
        number = 0.5 * (float(ext.lower) + float(ext.upper))
        if not math.isfinite(number) or (kind == "inf" and number >= 0):
            continue
        exact = _sympy_or_none(ext.exact)
        lines.append(P.BoundLine(number, _bound_label(symbol, kind, exact, number, bool(ext.attained)),
                                 bool(ext.attained)))
    return tuple(lines)


def _sympy_or_none(exact) -> sp.Expr | None:
    """An extremum's exact value as a SymPy expression (None when only an enclosure is known)."""
    return exact if isinstance(exact, sp.Basic) else None


def _title(act: Activation) -> str:
    if act.vector:
        return r"softmax component $\sigma(x-\log c)$, $c=1$"
    return act.name


@functools.lru_cache(maxsize=None)
def activation_panel(name: str, grid: int = DEFAULT.grid) -> P.ActivationPanel:
    """φ and φ′ of a catalogue activation on :data:`XRANGE` at its default parameters, with its kinks and bounds.

    At a kink where φ′ jumps the φ′ line is broken, both one-sided limits are open dots (φ′ does not exist
    there) and PyTorch's autograd value at the kink is a filled diamond.
    """
    act = resolve(name)
    x = np.linspace(*XRANGE, grid)
    phi, dphi = numpy_function(act, 0), numpy_function(act, 1)
    eps = 1e-9
    breaks, marks, holes = [], [], []
    for k in act.kink_points():
        a = float(k.at)
        if not XRANGE[0] < a < XRANGE[1]:
            continue
        left, right = dphi(np.array([a - eps, a + eps]))
        if abs(left - right) > 1e-6:
            breaks.append(a)
            marks.append((a, float(k.dphi)))
            holes += [(a, float(left)), (a, float(right))]
    if breaks:  # approach each jump from both sides; the convention value is the dot, not a grid point
        x = np.union1d(x[np.all(np.abs(x[:, None] - np.array(breaks)) > 2 * eps, axis=1)],
                       [b + s for b in breaks for s in (-eps, eps)])
    return P.ActivationPanel(
        name=act.name, title=_title(act),
        phi=P.Curve(x, phi(x)),
        dphi=P.Curve(x, dphi(x), tuple(breaks), tuple(marks), tuple(holes)),
        bounds=dphi_bounds(act))


def _build_activation(name: str, budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.4))
    plot_activation(name, ax=fig.subplots(1, 2), grid=budget.grid)
    return fig


@_figure("activations", "the catalogue grid: phi (solid) and phi' (dashed) of every activation, sup phi' dotted")
def _build_catalogue(budget: Budget) -> Figure:
    acts = catalogue()
    ncols = 5
    nrows = math.ceil(len(acts) / ncols)
    fig = new_figure(figure_size("page", (3.1 * nrows + 0.8) / 17))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, act in zip(axes.flat, acts):
        plot_activation(act.name, ax=ax, grid=budget.grid, title="softmax (component)" if act.vector else act.name)
    for ax in list(axes.flat)[len(acts):]:
        ax.set_visible(False)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=P.PHI_COLOR, linewidth=2, label=r"$\varphi(x)$"),
               Line2D([], [], color=P.DPHI_COLOR, linewidth=2, linestyle="--", label=r"$\varphi'(x)$"),
               Line2D([], [], color=P.BOUND_COLOR, linewidth=1.2, linestyle=":", label=r"proved $\sup\varphi'$")]
    fig.legend(handles=handles, loc="outside upper center", ncols=3, frameon=False,
               fontsize=None if _compact() else 14)
    return fig


# ---------------------------------------------------------------- softmax Jacobian

@dataclass(frozen=True)
class SoftmaxJacobians:
    r"""Entries of :math:`J = \operatorname{diag}(s) - s s^\top` for sampled logits, grouped by input size."""

    n: tuple[int, ...]
    diagonal: tuple[np.ndarray, ...]
    off_diagonal: tuple[np.ndarray, ...]
    norm: tuple[np.ndarray, ...]


def softmax_jacobians(sizes: Sequence[int], samples: int, seed: int = 0) -> SoftmaxJacobians:
    r"""Sample logits :math:`z \sim N(0, \tau^2 I_n)` with :math:`\tau` log-uniform in [0.05, 5] (so both nearly
    uniform and nearly one-hot softmaxes occur) and compute :math:`J = \operatorname{diag}(s) - s s^\top` from its
    definition: diagonal entries, off-diagonal entries and the spectral norm (largest eigenvalue; J is symmetric
    positive semi-definite).

    >>> j = softmax_jacobians([2], 10)
    >>> bool(np.all(j.diagonal[0] <= 0.25))
    True
    """
    rng = np.random.default_rng(seed)
    diag, off, norm = [], [], []
    for n in sizes:
        tau = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=(samples, 1)))
        z = rng.standard_normal((samples, n)) * tau
        z -= z.max(axis=1, keepdims=True)
        s = np.exp(z)
        s /= s.sum(axis=1, keepdims=True)
        J = np.einsum("ki,ij->kij", s, np.eye(n)) - s[:, :, None] * s[:, None, :]
        diag.append(np.diagonal(J, axis1=1, axis2=2).reshape(-1))
        off.append(J[:, ~np.eye(n, dtype=bool)].reshape(-1))
        norm.append(np.linalg.eigvalsh(J)[:, -1])
    return SoftmaxJacobians(tuple(sizes), tuple(diag), tuple(off), tuple(norm))


def softmax_bounds() -> dict[str, P.BoundLine]:
    r"""The proved bounds from :func:`analytic.bounds.softmax_jacobian_bounds`: :math:`\partial s_i/\partial z_i
    \le 1/4`, :math:`\partial s_i/\partial z_j \ge -1/4`, :math:`\|J\|_2 \le 1/2`, as labelled lines."""
    from ..bounds import softmax_jacobian_bounds

    b = softmax_jacobian_bounds()

    def line(ext, kind: str, what: str) -> P.BoundLine:
        number = 0.5 * (float(ext.lower) + float(ext.upper))
        word = {"sup": ("max", "sup"), "inf": ("min", "inf")}[kind][0 if ext.attained else 1]
        value = _fmt_value(_sympy_or_none(ext.exact), number)
        label = rf"$\{word}\ {what} {'' if value.startswith(chr(92) + 'approx') else '='} {value}$"
        return P.BoundLine(number, label + ("" if ext.attained else " (not attained)"), bool(ext.attained))

    return {"diagonal": line(b.diagonal, "sup", r"s_i(1-s_i)"),
            "off_diagonal": line(b.off_diagonal, "inf", r"(-s_i s_j)"),
            "norm": line(b.spectral_norm, "sup", r"\|J\|_2")}


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

#: Pre-activation distribution of the independence model drawn in the depth and histogram figures.
PREACT = STANDARD_NORMAL
#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054


def _exp(log_value: float) -> float:
    return math.exp(log_value) if log_value > -745 else 0.0


@functools.lru_cache(maxsize=None)
def gradient_panel(name: str, budget: Budget = DEFAULT, weights: str = CHAIN_WEIGHTS) -> P.GradientPanel:
    r"""Gradient magnitude against depth for the chain of one activation with ``weights`` (x = 1, no bias).

    The exact chain (:func:`analytic.theory.chain.exact_chain`): :math:`|E\prod|` and the typical value
    :math:`e^{E\log|\prod|}` at every depth; the crude bound :math:`(E|w|\sup|\varphi'|)^r`; the independence
    approximation (:math:`v \sim` :data:`PREACT` independent of the weights) as thin lines; and a Monte Carlo of
    the same chain at ``budget.depth_points``: :math:`|` mean :math:`|` with :math:`\pm 1.96` standard errors
    (flagged when the effective sample size is below 1000) and the median of :math:`|\prod|` with its interval.
    """
    from ..theory.independence import gradient_product
    from ..mc import simulate_chain
    from ..theory.chain import exact_chain

    depth = np.arange(1, budget.max_depth + 1)
    exact = exact_chain(name, budget.max_depth, weights)
    rows = [gradient_product(name, int(r), weights, preact=PREACT) for r in depth]
    points = np.array([r for r in budget.depth_points if r <= budget.max_depth])
    sims = [simulate_chain(name, int(r), weights, samples=budget.chains, seed=budget.seed, progress=False)
            for r in points]
    mean = np.array([_exp(s.mean.log_abs) if s.mean.sign else 0.0 for s in sims])
    mean_se = np.array([_exp(s.mean.log_stderr) for s in sims])
    median = np.array([s.median_abs.value for s in sims])
    median_se = np.array([s.median_abs.stderr for s in sims])
    lm = exact.by_depth["log_mean"]
    typical = np.where(lm.sign != 0, np.exp(np.clip(lm.values, -745, 700)), 1.0)  # exp(E log|prod|)
    note = ""
    if sims[-1].zero_fraction.value > 0.5:
        note = (f"median 0: {100 * exact['zero_probability'].value:.1f} % of the products\nare exactly 0 at "
                f"$r = {budget.max_depth}$ (dead paths)")
    return P.GradientPanel(
        title=exact.activation or str(name), depth=depth,
        bound=np.array([_exp(g.log_bound) for g in rows]),
        mean=np.abs(exact.by_depth["mean"].values), typical=typical,
        mc_mean=P.Band(points, mean, mean - Z95 * mean_se, mean + Z95 * mean_se,
                       reliable=np.array([s.ess >= 1000 for s in sims])),
        mc_median=P.Band(points, median, median - Z95 * median_se, median + Z95 * median_se), note=note,
        independence_mean=np.array([_exp(g.log_mean_abs) for g in rows]),
        independence_typical=np.array([_exp(g.log_typical) for g in rows]))


@_figure("gradient_depth", "gradient magnitude against depth: the exact chain's mean and typical value, Monte "
                           "Carlo of the same chain with 95 % bands, the crude bound and the independence "
                           "approximation")
def _build_gradient_depth(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.62))
    axes = fig.subplots(2, 4)
    for ax, name in zip(axes.flat, DEPTH_ACTIVATIONS):
        plot_gradient_depth(name, ax=ax, budget=budget)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"gradient magnitude $|g_r|$")
    legend_ax = axes.flat[len(DEPTH_ACTIVATIONS)]
    handles, labels = axes.flat[0].get_legend_handles_labels()
    for ax in axes.flat[1:len(DEPTH_ACTIVATIONS)]:  # the 'unreliable' marker may appear in any panel
        for h, l in zip(*ax.get_legend_handles_labels()):
            if l not in labels:
                handles.append(h)
                labels.append(l)
    legend_ax.axis("off")
    if _compact():  # at page width the eighth cell is too narrow for the legend: it goes under the panels
        fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    else:
        legend_ax.legend(handles, labels, loc="center", frameon=False, fontsize=12)
    fig.suptitle(rf"Gradient $g_r = w_1\varphi'(v_1)\cdots w_r\varphi'(v_r)$ of the chain $y_0 = 1$, "
                 rf"$v_t = w_t y_{{t-1}}$, $w \sim \mathcal{{N}}(1, 0.5^2)$:"
                 + ("\n" if _compact() else " ") + f"exact chain, Monte Carlo of the same chain ({budget.chains:,} "
                 "chains per depth), independence approximation (thin)")
    return fig


# ---------------------------------------------------------------- the law of the pre-activations

PREACT_ACTIVATIONS = ("sigmoid", "tanh")


@functools.lru_cache(maxsize=None)
def preact_panel(name: str, budget: Budget = DEFAULT, weights: str = CHAIN_WEIGHTS) -> P.PreactPanel:
    r"""Mean ± sd of :math:`v_t` against t in the exact chain (:func:`analytic.theory.chain.exact_chain`), beside
    the :math:`N(0, 1)` the independence approximation assumes."""
    from ..theory.chain import exact_chain

    from ..distributions import distribution

    c = exact_chain(name, budget.max_depth, weights)
    m = distribution(PREACT).moments().floats()
    return P.PreactPanel(c.activation, np.arange(1, budget.max_depth + 1), np.asarray(c.preact_mean),
                         np.asarray(c.preact_sd), PREACT, m["mean"], math.sqrt(m["mean_square"] - m["mean"] ** 2))


@_figure("preactivation_law", "mean and standard deviation of the pre-activation v_t across depth in the exact "
                              "chain, for sigmoid and tanh, against the N(0, 1) of the independence approximation")
def _build_preact(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.42))
    axes = fig.subplots(1, len(PREACT_ACTIVATIONS), sharey=True)
    for ax, name in zip(axes, PREACT_ACTIVATIONS):
        plot_preactivation_law(name, ax=ax, budget=budget)
    axes[0].set_ylabel(r"pre-activation $v_t$: mean $\pm$ sd")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(r"Why $v_t \sim \mathcal{N}(0, 1)$ is the wrong law: the exact chain $y_0 = 1$, "
                 r"$v_t = w_t y_{t-1}$, $w \sim \mathcal{N}(1, 0.5^2)$")
    return fig


def plot_preactivation_law(act, weights: str = CHAIN_WEIGHTS, ax=None, *, budget: Budget = DEFAULT):
    """Mean ± sd of the pre-activation v_t of the chain of ``act`` against depth, with the N(0, 1) band; returns
    the Axes."""
    axes = _axes(ax, "column", 0.75)
    P.draw_preactivation_law(axes, preact_panel(act, budget, weights))
    return axes


# ---------------------------------------------------------------- histogram of log|product|

HIST_ACTIVATIONS = ("sigmoid", "tanh")
LN10 = math.log(10.0)


@functools.lru_cache(maxsize=None)
def histogram_panel(name: str, budget: Budget = DEFAULT) -> P.HistogramPanel:
    r"""Samples of :math:`\log_{10}|\prod|` at ``budget.hist_depths`` (independence model, same seed), with the
    Monte Carlo :math:`\log_{10}E|\prod|` and :math:`\log_{10}` median of the same chains."""
    from ..mc import chain_log_products, simulate_chain

    samples, means, medians, zeros = [], [], [], []
    for r in budget.hist_depths:
        logs, _ = chain_log_products(name, r, CHAIN_WEIGHTS, budget.hist_chains, seed=budget.seed, preact=PREACT)
        s = simulate_chain(name, r, CHAIN_WEIGHTS, samples=budget.hist_chains, seed=budget.seed, preact=PREACT)
        samples.append(logs[np.isfinite(logs)] / LN10)
        means.append(s.mean_abs.log_abs / LN10)
        medians.append(s.log_median_abs.value / LN10)
        zeros.append(s.zero_fraction.value)
    return P.HistogramPanel(name, tuple(budget.hist_depths), tuple(samples), tuple(means), tuple(medians),
                            tuple(zeros))


@_figure("histogram", "histogram of log10|prod w_t phi'(v_t)| at a few depths: the mean sits far right of the "
                      "typical value")
def _build_histogram(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.4))
    axes = fig.subplots(1, len(HIST_ACTIVATIONS))
    for ax, name in zip(axes, HIST_ACTIVATIONS):
        plot_histogram(name, ax=ax, budget=budget)
    from matplotlib.lines import Line2D
    handles, labels = axes[0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", linestyle="--", linewidth=1.8),
                Line2D([], [], color="0.3", linestyle=":", linewidth=1.8)]
    labels += ["mean (of the absolute value)", "median (typical value)"]
    fig.legend(handles, labels, loc="outside right center", frameon=False)
    fig.suptitle(rf"Why mean and typical differ: $w \sim \mathcal{{N}}(1, 0.5^2)$, $v \sim \mathcal{{N}}(0,1)$, "
                 rf"{budget.hist_chains:,} chains per depth")
    return fig


# ---------------------------------------------------------------- mean-field phase diagram

PHASE_SIGMA_B2 = (0.0, 0.3)
PHASE_SIGMA_W2_MAX = 4.0
#: (sigma_w^2, sigma_b^2) where a simulated wide network checks chi_1, away from the critical line.
PHASE_CHECKS = ((0.7, 0.05), (2.9, 0.05), (1.2, 0.2), (3.5, 0.2))


#: xi_c levels drawn as contours (layers over which correlations between inputs propagate).
XI_LEVELS = (2, 3, 5, 10, 20)


def _adaptive_curve(f, t0: float, t1: float, scale: tuple[float, float], tol: float = 2e-4, depth: int = 12):
    """Points of the curve t -> f(t) on [t0, t1], bisected until each midpoint lies within ``tol`` (in units of
    the axes' ``scale``) of its chord and the two half-chords turn by at most 1 degree, so the drawn polyline shows
    no corners."""
    def refine(a, pa, b, pb, level):
        m = (a + b) / 2
        pm = f(m)
        dx, dy = (pb[0] - pa[0]) / scale[0], (pb[1] - pa[1]) / scale[1]
        ex, ey = (pm[0] - pa[0]) / scale[0], (pm[1] - pa[1]) / scale[1]
        gap = abs(dx * ey - dy * ex) / max(math.hypot(dx, dy), 1e-300)
        turn = abs(math.atan2(dy - ey, dx - ex) - math.atan2(ey, ex))
        turn = min(turn, 2 * math.pi - turn)
        if level >= depth or (gap <= tol and turn <= math.radians(1.0)):
            return [pm, pb]
        return refine(a, pa, m, pm, level + 1) + refine(m, pm, b, pb, level + 1)

    ts = np.linspace(t0, t1, 9)
    pts = [f(ts[0])]
    for a, b in zip(ts[:-1], ts[1:]):
        pts += refine(a, f(a), b, f(b), 0)
    return np.array(pts)


def _xi_grid(name: str, budget: Budget) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from ..theory.meanfield import signal_propagation

    # sigma_b^2 = 0 itself is left out: there q* = 0 below the critical point, a different limit
    sw = np.linspace(0.25, PHASE_SIGMA_W2_MAX, 2 * budget.phase_points + 4)
    sb = np.linspace(0.01, PHASE_SIGMA_B2[1], budget.phase_points + 1)
    xi = np.full((len(sb), len(sw)), np.nan)
    chaotic = np.zeros((len(sb), len(sw)), bool)
    for j, b in enumerate(sb):
        for i, w in enumerate(sw):
            s = signal_propagation(name, float(w), float(b))
            xi[j, i] = np.nan if s.xi_c is None else s.xi_c
            chaotic[j, i] = s.phase == "chaotic"
    return sw, sb, xi, chaotic


@functools.lru_cache(maxsize=None)
def phase_panel(budget: Budget = DEFAULT) -> P.PhasePanel:
    r"""tanh in the :math:`(\sigma_w^2, \sigma_b^2)` plane: the critical line :math:`\chi_1 = 1`, its end point at
    :math:`\sigma_b^2 = 0` and contours of the correlation depth scale :math:`\xi_c`
    (:func:`analytic.theory.meanfield.signal_propagation`). (ReLU's critical point :math:`\sigma_w^2 = 2` belongs
    to another activation: it is on :func:`relu_phase_panel`, not on tanh's plane.)

    The line is the curve of critical fixed points parametrised by :math:`q^*`: :math:`\sigma_w^2 = 1/W(q^*)`,
    :math:`\sigma_b^2 = q^* - V(q^*)/W(q^*)` (:math:`V = E[\varphi(\sqrt q z)^2]`, :math:`W = E[\varphi'(\sqrt q
    z)^2]`), sampled adaptively (:func:`_adaptive_curve`) so it is smooth. Checked by simulation at
    :data:`PHASE_CHECKS`: a width-128, depth-30 tanh network (:func:`analytic.mc.simulate_wide`) measures
    :math:`\chi_1 = e^{\text{slope}}` of :math:`\log\|g_l\|^2` per layer, shown beside the mean-field
    :math:`\chi_1`.
    """
    from scipy.optimize import brentq

    from ..theory.gaussian import gaussian_expectation
    from ..mc import simulate_wide
    from ..theory.criticality import critical_sigma_w2
    from ..theory.meanfield import mean_field

    def point(r: float) -> tuple[float, float]:  # r = sqrt(q*)
        V = gaussian_expectation("tanh", "phi2", std=r).value
        W = gaussian_expectation("tanh", "dphi2", std=r).value
        return 1.0 / W, r * r - V / W

    r_max = brentq(lambda r: point(r)[1] - PHASE_SIGMA_B2[1], 0.1, 10.0, xtol=1e-12)
    curve = _adaptive_curve(point, 1e-3, r_max, (PHASE_SIGMA_W2_MAX, PHASE_SIGMA_B2[1] - PHASE_SIGMA_B2[0]))
    sw2, sb2 = curve[:, 0], curve[:, 1]
    # the end point at sigma_b^2 = 0 (q* -> 0) from the library's own critical-point search, not from the curve
    end = float(critical_sigma_w2("tanh", 0.0))
    sw2, sb2 = np.concatenate([[end], sw2]), np.concatenate([[0.0], sb2])
    points = ((end, 0.0, rf"tanh: $\chi_1 = 1$ at $\sigma_w^2 = {end:.4g}$, $\sigma_b^2 = 0$"),)
    n = 128
    checks = []
    for sw, sb in PHASE_CHECKS:
        wide = simulate_wide("tanh", 30, n, f"normal(0, {math.sqrt(sw / n)!r})", bias=f"normal(0, {math.sqrt(sb)!r})",
                             batch=16, networks=4, seed=budget.seed)
        checks.append((sw, sb, math.exp(wide.slope.value), float(mean_field("tanh", sw, sb).chi1)))
    gw, gb, xi, chaotic = _xi_grid("tanh", budget)
    return P.PhasePanel("tanh", sb2, sw2, PHASE_SIGMA_W2_MAX, points, tuple(checks),
                        f"width-{n} tanh nets, depth 30:\n" + r"$\chi_1$ simulated (mean field)",
                        gw, gb, xi, XI_LEVELS, chaotic=chaotic)


@functools.lru_cache(maxsize=None)
def relu_phase_panel(budget: Budget = DEFAULT) -> P.PhasePanel:
    r"""ReLU's own diagram: :math:`\chi_1 = \sigma_w^2/2` for every q, so the ordered region is
    :math:`\sigma_w^2 < 2`; at :math:`\sigma_w^2 \ge 2` with :math:`\sigma_b^2 > 0` the length grows without
    bound, and criticality is the single point :math:`(\sigma_w^2, \sigma_b^2) = (2, 0)` (He), from
    :func:`analytic.theory.criticality.critical_sigma_w2`. Contours of :math:`\xi_c = -1/\ln(\sigma_w^2/2)`."""
    from ..theory.criticality import critical_sigma_w2

    relu = critical_sigma_w2("relu", 0.0)
    gw, gb, xi, chaotic = _xi_grid("relu", budget)
    return P.PhasePanel("ReLU", np.array(PHASE_SIGMA_B2), np.array([relu, relu]), PHASE_SIGMA_W2_MAX,
                        ((relu, 0.0, rf"ReLU: $\chi_1 = 1$ only at $\sigma_w^2 = {relu:.4g}$, $\sigma_b^2 = 0$ (He)"),),
                        (), "", gw, gb, xi, XI_LEVELS, chaotic=chaotic,
                        right_label="unbounded\n$q_l \\to \\infty$",
                        boundary_label=r"$\sigma_w^2 = 2$: beyond it $q^* = \infty$ (for $\sigma_b^2 > 0$)")


@_figure("phase_diagram", "mean-field phase diagrams: tanh's critical line chi_1 = 1 with contours of the correlation "
                          "depth xi_c, and ReLU's own diagram with its critical point sigma_w^2 = 2")
def _build_phase(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.6))
    left, right = fig.subplots(1, 2, width_ratios=(1.6, 1))
    plot_phase_diagram(ax=left, activation="tanh", budget=budget)
    plot_phase_diagram(ax=right, activation="relu", budget=budget)
    fig.suptitle(r"Mean-field phase diagrams: ordered ($\chi_1 < 1$) and chaotic ($\chi_1 > 1$), with the depth "
                 r"$\xi_c$" + ("\n" if _compact() else " ") + "over which correlations between inputs propagate")
    return fig


# ---------------------------------------------------------------- dying ReLU

DEAD_BIAS_RANGE = (-3.0, 3.0)
#: Pre-activation v = w·1 + b with w ~ N(0, 2) (He scale for unit inputs) and a constant bias b.
DEAD_STD = math.sqrt(2.0)


@functools.lru_cache(maxsize=None)
def dead_panel(budget: Budget = DEFAULT) -> P.DeadPanel:
    r"""Fraction of ReLU units with :math:`\varphi'(v) = 0` against the bias mean :math:`\mu`.

    Analytic: :math:`P(v < 0) = 1 - E[\operatorname{ReLU}'(v)]` for :math:`v \sim N(\mu, 2)`
    (:func:`analytic.theory.gaussian.gaussian_expectation`). Monte Carlo: the first layer of the chain with
    :math:`w \sim N(0, 2)`, :math:`x = 1`, bias :math:`\mu` (:func:`analytic.mc.simulate_chain`, zero
    fraction with its standard error), and the first layer of a width-``budget.dead_width`` network with He
    weights and unit Gaussian inputs (:func:`analytic.mc.simulate_wide`, fraction of (input, unit) pairs
    with :math:`\varphi'(v) = 0`), whose pre-activations have the same variance 2.
    """
    from ..theory.gaussian import gaussian_expectation
    from ..mc import simulate_chain, simulate_wide

    curve_x = np.linspace(*DEAD_BIAS_RANGE, 121)
    curve_y = np.array([1.0 - float(gaussian_expectation("relu", "dphi", mean=float(m), std=DEAD_STD))
                        for m in curve_x])
    mus = np.linspace(*DEAD_BIAS_RANGE, budget.dead_points)
    weights = f"normal(0, {DEAD_STD!r})"
    sims = [simulate_chain("relu", 1, weights, samples=budget.chains, seed=budget.seed, bias=f"constant({float(m)!r})")
            for m in mus]
    value = np.array([s.zero_fraction.value for s in sims])
    se = np.array([s.zero_fraction.stderr for s in sims])
    n = budget.dead_width
    with np.errstate(invalid="ignore"):  # all-dead batches give log 0 = -inf in the per-layer log statistics
        wide = [simulate_wide("relu", 2, n, f"he({n})", bias=f"constant({float(m)!r})", batch=budget.dead_batch,
                              networks=2, seed=budget.seed) for m in mus]
    return P.DeadPanel(
        title="Dying ReLU: a negative bias switches units off", xlabel=r"bias $\mu$",
        curve_x=curve_x, curve_y=curve_y, curve_label=r"analytic $P(v<0)$, $v \sim \mathcal{N}(\mu, 2)$",
        points=P.Band(mus, value, value - Z95 * se, value + Z95 * se),
        points_label=r"Monte Carlo, one unit $v = w + \mu$," + f"\n{budget.chains:,} draws, 95 % bars",
        extra_x=mus, extra_y=np.array([w.zero_dphi_fraction[1] for w in wide]),
        extra_label=f"Monte Carlo, first layer of width-{n} networks\n(He weights), 2 × {budget.dead_batch} inputs")


@_figure("dying_relu", "dying ReLU: fraction of dead units against the bias mean, analytic P(v < 0) vs Monte Carlo")
def _build_dead(budget: Budget) -> Figure:
    fig = new_figure(figure_size("column", 1.1))
    plot_dying_relu(ax=fig.subplots(), budget=budget)
    return fig


# ---------------------------------------------------------------- the public plotting API

def _axes(ax, width: str, aspect: float, ncols: int = 1):
    """``ax`` as given, or new axes on a new Agg figure of the current style's size (no pyplot, no global state)."""
    if ax is not None:
        return ax
    with style():
        fig = new_figure(figure_size(width, aspect))
        return fig.subplots(1, ncols) if ncols > 1 else fig.subplots()


def plot_activation(act, ax=None, *, grid: int = DEFAULT.grid, title: str | None = None):
    r"""Draw :math:`\varphi` and :math:`\varphi'` of ``act`` (a catalogue name, formula, SymPy expression or
    :class:`~analytic.core.registry.Activation`) on :math:`[-5, 5]` with the proved bounds of :math:`\varphi'`.

    ``ax`` is one Axes (φ solid, φ′ dashed, the proved sup dotted, as in the catalogue grid) or a pair of Axes
    (φ and φ′ side by side, kinks marked, bounds labelled, as in ``activation_<name>``); ``ax=None`` makes a
    pair on a new figure. Returns what it drew on (the Axes, or the pair).

    >>> ax = plot_activation("tanh", ax=new_figure((3, 2)).subplots())
    >>> ax.get_title()
    'tanh'
    """
    axes = _axes(ax, "page", 0.4, ncols=2)
    panel = activation_panel(act, grid)
    if np.ndim(axes) == 0:
        P.draw_catalogue_cell(axes, replace(panel, title=panel.title if title is None else title))
    else:
        ax_phi, ax_dphi = axes
        P.draw_activation_pair(ax_phi, ax_dphi, panel if title is None else replace(panel, title=title))
    return axes


def plot_gradient_depth(act, weights: str = CHAIN_WEIGHTS, ax=None, *, budget: Budget = DEFAULT, legend: bool = False):
    r"""Draw the gradient magnitude of the chain of ``act`` against depth (the exact chain's mean and typical value,
    Monte Carlo of the same chain with 95 % bands, the crude bound, and the independence approximation with
    :math:`v \sim` :data:`PREACT` as thin lines) for weights ``weights`` on ``ax`` (default: a new one).
    Returns the Axes."""
    axes = _axes(ax, "column", 0.85)
    P.draw_gradient_depth(axes, gradient_panel(act, budget, weights), legend=legend)
    return axes


def plot_histogram(act, ax=None, *, budget: Budget = DEFAULT):
    r"""Draw histograms of :math:`\log_{10}|\prod_t w_t\varphi'(v_t)|` of ``act`` at ``budget.hist_depths``, with
    the mean and the median marked. Returns the Axes."""
    axes = _axes(ax, "column", 0.85)
    P.draw_log_histogram(axes, histogram_panel(act, budget))
    return axes


#: The activations :func:`plot_phase_diagram` has a panel for.
PHASE_PANELS = {"tanh": phase_panel, "relu": relu_phase_panel}


def plot_phase_diagram(ax=None, *, activation: str = "tanh", budget: Budget = DEFAULT):
    r"""Draw one mean-field phase diagram on ``ax`` (default: a new one): ``activation="tanh"`` (critical line
    :math:`\chi_1 = 1`, ordered and chaotic regions, :math:`\xi_c` contours, simulated checks; :func:`phase_panel`)
    or ``"relu"`` (its single critical point :math:`\sigma_w^2 = 2`, :func:`relu_phase_panel`). Returns the Axes.

    >>> plot_phase_diagram(ax=new_figure((3, 3)).subplots(), activation="relu", budget=QUICK).get_title()
    'ReLU'
    """
    if activation not in PHASE_PANELS:
        raise ArgumentError(f"no phase diagram for {activation!r}; phase diagrams: {', '.join(PHASE_PANELS)}")
    axes = _axes(ax, "column", 1.05)
    P.draw_phase_diagram(axes, PHASE_PANELS[activation](budget))
    return axes


def plot_dying_relu(ax=None, *, budget: Budget = DEFAULT):
    r"""Draw the fraction of dead ReLU units against the bias mean: analytic :math:`P(v < 0)` and Monte Carlo.
    Returns the Axes."""
    axes = _axes(ax, "column", 1.1)
    P.draw_dead_fraction(axes, dead_panel(budget))
    return axes


def plot_sweep(table, ax=None, **select):
    r"""Draw a sweep's heatmap of the mean log squared gradient over :math:`\sigma_w^2 \times \sigma_b^2` with the
    critical line (``select``: ``activation``, ``depth``, ``width``; see
    :func:`analytic.output.plotting.sweep_heatmap`). Returns the Axes."""
    axes = _axes(ax, "column", 0.8)
    P.sweep_heatmap(table, ax=axes, **select)
    return axes

# ---------------------------------------------------------------- dynamical isometry and finite width

#: The two activations of the isometry figure at criticality: (name, sigma_b^2).
ISOMETRY_ACTS = (("tanh", 1e-3), ("relu", 0.0))


@functools.lru_cache(maxsize=None)
def isometry_panels(budget: Budget = DEFAULT) -> tuple[P.SpectrumPanel, ...]:
    r"""Singular-value densities of J at criticality (:math:`\chi_1 = 1`) for tanh (:math:`\sigma_b^2 = 10^{-3}`)
    and ReLU, Gaussian and orthogonal weights, at ``budget.isometry_depths``: the S-transform density
    (:func:`analytic.theory.spectrum.spectral_density`) as a density of :math:`t = \log_{10} s`,
    :math:`p(t) = 2\ln 10\,\lambda\rho(\lambda)` with :math:`\lambda = s^2`, over histograms of sampled networks
    (:func:`analytic.theory.spectrum.sample_spectrum`), normalised by the number of eigenvalues (ReLU's atom at 0
    is left out of both)."""
    from ..theory.criticality import critical_sigma_w2
    from ..theory.spectrum import sample_spectrum, spectral_density

    panels = []
    for act, sb in ISOMETRY_ACTS:
        sw = critical_sigma_w2(act, sb)
        for weights in ("gaussian", "orthogonal"):
            series = []
            for L in budget.isometry_depths:
                d = spectral_density(act, L, sw, sb, weights, points=budget.isometry_points)
                lam, rho = np.array(d.grid), np.array(d.values)
                mc = sample_spectrum(act, L, sw, budget.isometry_width, sb, weights,
                                     networks=budget.isometry_networks, seed=budget.seed)
                ev = np.array(mc.eigenvalues)
                t = 0.5 * np.log10(ev[ev > lam[0]])
                edges = np.linspace(0.5 * math.log10(lam[0]), 0.5 * math.log10(lam[-1]), 41)
                counts, _ = np.histogram(t, edges)
                series.append(P.SpectrumSeries(f"L = {L}", 0.5 * np.log10(lam), 2 * math.log(10) * lam * rho,
                                               edges, counts / (len(ev) * np.diff(edges))))
            note = "atom 1/2 at s = 0 not shown" if act == "relu" else ""
            panels.append(P.SpectrumPanel(f"{act}, {weights} weights", tuple(series), note))
    return tuple(panels)


@_figure("isometry", "dynamical isometry: singular-value densities of the input-output Jacobian at criticality, "
                     "tanh vs ReLU, Gaussian vs orthogonal weights, analytic over Monte Carlo")
def _build_isometry(budget: Budget) -> Figure:
    fig = new_figure(figure_size("page", 0.8))
    axes = fig.subplots(2, 2)
    for ax, panel in zip(axes.ravel(), isometry_panels(budget)):
        P.draw_singular_values(ax, panel)
    fig.suptitle(f"Jacobian singular values at criticality (width {budget.isometry_width} for the histograms)")
    return fig


@functools.lru_cache(maxsize=None)
def finite_width_panel(budget: Budget = DEFAULT) -> P.FiniteWidthPanel:
    r"""ReLU's per-layer :math:`E\ln\|Ju\|^2` against 1/n at :math:`\sigma_w^2 = 2`: the exact law
    (:func:`analytic.theory.finite_width.finite_width`, depth 1), the large-width value
    :math:`-5/(2n)`, and the typical slope of real networks (:func:`analytic.mc.simulate_wide`,
    depth 12, He weights) with 95 % bars."""
    from ..mc import simulate_wide
    from ..theory.finite_width import finite_width

    ns = np.unique(np.round(np.geomspace(2, 1024, 60)).astype(int))
    exact = np.array([finite_width("relu", 1, 2.0, int(n), median=False).log_mean.exact for n in ns])
    pts = np.array(budget.fw_widths)
    sims = [simulate_wide("relu", 12, int(n), f"he({int(n)})", batch=8, networks=budget.fw_networks,
                          seed=budget.seed) for n in pts]
    value = np.array([s.slope_log.value for s in sims])
    se = np.array([s.slope_log.stderr for s in sims])
    return P.FiniteWidthPanel(
        "ReLU, σ_w² = 2: typical rate per layer", 1.0 / ns, exact, -2.5 / ns, 0.0,
        P.Band(1.0 / pts, value, value - Z95 * se, value + Z95 * se),
        f"Monte Carlo, depth 12,\n{budget.fw_networks} × 8 inputs, 95 % bars")


@_figure("finite_width", "finite width: ReLU's E ln||J u||^2 per layer against 1/n, exact law, large-width "
                         "approximation and Monte Carlo")
def _build_finite_width(budget: Budget) -> Figure:
    fig = new_figure(figure_size("column", 0.95))
    P.draw_finite_width(fig.subplots(), finite_width_panel(budget))
    return fig
