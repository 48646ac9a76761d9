r"""The one place a figure is written: :func:`save`, with reproducible bytes in PNG, SVG and PDF.

Figures are rendered by Agg under their style (:mod:`analytic.output.style`, where ``svg.hashsalt`` is fixed);
the per-format metadata in :data:`METADATA` drops dates and version strings, so the same figure gives the same
bytes on every run. :func:`save` writes a temporary file in the target folder and renames it over the target
(``os.replace``), so a failed or interrupted save never leaves a partial file.
"""
from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..core.files import atomic_write, canonical_path
from ..errors import OutputError, canonical_int, canonical_text, show_value
from .style import DPI, style

#: Output formats :func:`save` writes, with the metadata that makes their bytes reproducible.
#: (Each backend accepts only its own keys: PDF would silently ignore SVG's ``Date``.)
CREATOR = "activation-analytic"
METADATA: dict[str, dict[str, str | None]] = {
    "png": {"Software": None},
    "svg": {"Date": None, "Creator": CREATOR},
    "pdf": {"CreationDate": None, "ModDate": None, "Producer": None, "Creator": CREATOR},
}
FORMATS = tuple(METADATA)
#: Highest PNG resolution accepted (dots per inch).
MAX_DPI = 1200


def save(fig: Figure, path: str | os.PathLike, format: str | None = None, dpi: int = DPI,
         style_name: str | None = None) -> Path:
    """Write ``fig`` to ``path`` with reproducible bytes; return the path.

    ``format`` is ``png``, ``svg`` or ``pdf`` (default: the path's suffix); ``dpi`` sets the PNG resolution
    (SVG and PDF are vector). The figure is rendered by Agg with
    ``svg.hashsalt`` fixed and the format's metadata from :data:`METADATA` (no dates, no version strings) into a
    temporary file in the same folder, which then replaces ``path`` atomically: on any error — or an interrupt —
    the temporary file is removed and ``path`` is left as it was.

    >>> import tempfile, pathlib
    >>> from analytic.output.style import new_figure
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
        with style(style_name), _quiet_font_dates():
            fig.savefig(fh, format=fmt, dpi=dpi, metadata=METADATA[fmt])

    atomic_write(path, render)
    return path


#: fontTools' logger for the ``head`` table of a font it reads.
_HEAD_LOGGER = "fontTools.ttLib.tables._h_e_a_d"


def _font_date_note(record: logging.LogRecord) -> bool:
    """False for fontTools' note that a font's ``head`` dates look like Unix times (it then reads them as such)."""
    return "timestamp seems very low" not in record.getMessage()


@contextlib.contextmanager
def _quiet_font_dates():
    """While a figure is saved, drop fontTools' note "'created' timestamp seems very low; regarding as unix
    timestamp". mathtext takes the prime of φ′ from matplotlib's BaKoMa Computer Modern fonts (cmsy10.ttf and its
    kin), whose ``head`` table stores its dates as Unix times; fontTools reads such a font when it subsets it for a
    PDF or PS file and warns, twice per font and figure, on stderr. The dates it then writes are fixed by the font
    file (not by the clock or ``SOURCE_DATE_EPOCH``), so the note says nothing about the output."""
    logger = logging.getLogger(_HEAD_LOGGER)
    logger.addFilter(_font_date_note)
    try:
        yield
    finally:
        logger.removeFilter(_font_date_note)
