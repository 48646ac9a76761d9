r"""Figure styles: the rcParams every figure is built and saved under, the widths it is made at, and the one way a
figure is created (on the Agg canvas, no ``pyplot`` state).

A style fixes the figure widths (one journal column or the full page / slide) and the text sizes in points at
that size, so text is that size when the figure is printed at its own width. Styles are contexts: nothing global
is changed, and the current style is a context variable (``paper`` outside any :func:`style` block).

>>> with style("slides"):
...     figure_size("column", 0.5)
(13.33, 7.5)
>>> figure_size("column", 0.5)
(3.4, 1.7)
"""
from __future__ import annotations

import contextlib
import contextvars
from dataclasses import dataclass
from typing import Iterable

import matplotlib
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..errors import OutputError
from .plotting import SERIES

#: Salt for the ids matplotlib writes into SVG files (random per run unless fixed).
HASHSALT = "activation-analytic"
DPI = 150

#: rcParams shared by every style: no TeX install needed (mathtext); Type 42 (TrueType) fonts in PDF and PS,
#: which publishers' checks accept (Type 3 they often reject); SVG text as paths.
BASE_STYLE = {
    "axes.spines.top": False, "axes.spines.right": False,
    "axes.prop_cycle": matplotlib.cycler(color=list(SERIES)),
    "mathtext.fontset": "dejavusans", "svg.fonttype": "path", "svg.hashsalt": HASHSALT,
    "pdf.fonttype": 42, "ps.fonttype": 42,
    "savefig.dpi": DPI, "figure.dpi": 100, "path.simplify": True,
}


@dataclass(frozen=True)
class FigureStyle:
    """A figure style: the widths figures are made at (one journal column or the full page) and the text sizes,
    in points at that size (so text is that size when the figure is printed at its own width). A style with a
    ``canvas`` (width, height in inches) makes every figure that size: a slide is one shape, whatever the figure."""

    name: str
    column: float  # inches
    page: float  # inches
    rc: dict
    canvas: tuple[float, float] | None = None


#: The 16:9 slide (PowerPoint's and Beamer's widescreen page), in inches.
SLIDE = (13.33, 7.5)

#: ``paper`` (default): 3.4 in (one column) or 7 in (two columns) wide, 8–9 pt text, the smallest text
#: (``fontsize="small"``) 7.5 pt. ``slides``: every figure is one 16:9 slide, 13.33 × 7.5 in (:data:`SLIDE`),
#: laid out in landscape, 12–16 pt text.
STYLES = {
    "paper": FigureStyle("paper", 3.4, 7.0, {
        "font.size": 9, "axes.titlesize": 9, "axes.labelsize": 9, "xtick.labelsize": 8, "ytick.labelsize": 8,
        "legend.fontsize": 8, "figure.titlesize": 9, "lines.linewidth": 1.3, "lines.markersize": 4.5,
        "axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6, "grid.linewidth": 0.5,
        "legend.handlelength": 1.8}),
    "slides": FigureStyle("slides", 6.5, 13.3, {
        "font.size": 13, "axes.titlesize": 14, "axes.labelsize": 13, "xtick.labelsize": 12, "ytick.labelsize": 12,
        "legend.fontsize": 11, "figure.titlesize": 16, "lines.linewidth": 2.0}, canvas=SLIDE),
}
STYLE_NAMES = tuple(STYLES)
_CURRENT = contextvars.ContextVar("figure_style", default="paper")


def current_style(name: str | None = None) -> FigureStyle:
    """The style called ``name``, or the current one (``paper`` outside any :func:`style` block)."""
    name = _CURRENT.get() if name is None else name
    if name not in STYLES:
        raise OutputError(f"unknown figure style {name!r}; styles: {', '.join(STYLES)}")
    return STYLES[name]


@contextlib.contextmanager
def style(name: str | None = None) -> Iterable[FigureStyle]:
    """The rcParams a figure is built and saved under, for the style ``name`` (``paper`` or ``slides``; default:
    the current one, ``paper`` outside any ``style`` block). A context: nothing global is changed."""
    chosen = current_style(name)
    token = _CURRENT.set(chosen.name)
    try:
        with matplotlib.rc_context({**BASE_STYLE, **chosen.rc}):
            yield chosen
    finally:
        _CURRENT.reset(token)


def figure_size(width: str, aspect: float) -> tuple[float, float]:
    """(width, height) in inches for the current style: ``width`` is ``"column"`` or ``"page"``, the height is
    ``aspect`` times the width; in a style with a fixed canvas (``slides``), that canvas."""
    st = current_style()
    if st.canvas is not None:
        return st.canvas
    w = st.column if width == "column" else st.page
    return (w, round(w * aspect, 3))


def compact() -> bool:
    """True in the paper style (where legends and titles are laid out more tightly)."""
    return current_style().name == "paper"


def new_figure(figsize: tuple[float, float], **kwargs) -> Figure:
    """A figure on the Agg canvas, with constrained layout (no ``pyplot``, so no GUI backend and no global list)."""
    fig = Figure(figsize=figsize, layout="constrained", **kwargs)
    FigureCanvasAgg(fig)
    return fig

