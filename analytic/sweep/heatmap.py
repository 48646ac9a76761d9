r"""What a sweep's heatmaps show: the mean-field critical line :math:`\chi_1 = 1` over the swept
:math:`\sigma_b^2`, and ``log_grad`` pivoted onto the :math:`\sigma_w^2 \times \sigma_b^2` grid of one activation,
depth and width (drawn by :func:`analytic.output.network_plotting.sweep_heatmap`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import AnalyticError, SweepSpecError, canonical_int, canonical_text, show_value
from .spec import SweepSpec
from .store import SweepResult, stored_value_ok


def critical_point(activation: str, sigma_b2: float) -> float | None:
    r"""The :math:`\sigma_w^2` with :math:`\chi_1 = 1` at bias variance ``sigma_b2``
    (:func:`analytic.theory.criticality.critical_sigma_w2`), or ``None`` where there is none."""
    from ..theory.criticality import critical_sigma_w2

    try:
        sw = float(critical_sigma_w2(activation, float(sigma_b2)))
    except AnalyticError:
        return None
    return sw if math.isfinite(sw) and sw > 0 else None


def critical_line(activation: str, sigma_b2: Sequence[float]) -> dict[str, list]:
    r"""The mean-field critical line :math:`\chi_1 = 1`: ``{"sigma_b2": [...], "sigma_w2": [...]}`` with
    :func:`critical_point` at each :math:`\sigma_b^2` (``None`` where there is no critical point)."""
    return {"sigma_b2": [float(s) for s in sigma_b2], "sigma_w2": [critical_point(activation, s) for s in sigma_b2]}


def critical_grid(values: Sequence[float], points: int = 9) -> list[float]:
    """σ_b² values for the critical line: the swept ones and ``points`` evenly spaced over their range."""
    lo, hi = min(values), max(values)
    grid = set(values) | ({float(v) for v in np.linspace(lo, hi, points)} if hi > lo else set())
    return sorted(grid)


@dataclass(frozen=True)
class HeatmapData:
    r"""``log_grad`` on the :math:`\sigma_w^2 \times \sigma_b^2` grid for one activation, depth and width
    (``values[j, i]`` at ``sigma_b2[j]``, ``sigma_w2[i]``; NaN where missing or :math:`-\infty`), with the
    critical line."""

    activation: str
    depth: int
    width: int
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    values: np.ndarray
    critical_sigma_b2: np.ndarray
    critical_sigma_w2: np.ndarray
    label: str
    missing: tuple[tuple[str, ...], ...] = ()


def heatmap_data(table: Mapping[str, Any] | SweepResult, activation: str | None = None, depth: int | None = None,
                 width: int | None = None) -> HeatmapData:
    """Pivot a sweep table (``results.json`` content or a :class:`SweepResult`) into a heatmap grid.

    Defaults: the first activation, the largest depth, the smallest width of the sweep.
    """
    if isinstance(table, SweepResult):
        table = table.table()
    rows = table.get("rows") if isinstance(table, Mapping) else None
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) and {"activation", "depth", "width", "sigma_w2",
                                                                          "sigma_b2", "log_grad"} <= set(r)
                                             and all(stored_value_ok(k, r[k]) for k in r) for r in rows):
        raise SweepSpecError("the sweep table must be results.json's content or a SweepResult (a 'rows' list "
                             "of task rows)")
    if not rows:
        raise SweepSpecError("the sweep table has no rows")
    activation = rows[0]["activation"] if activation is None else canonical_text("activation", activation,
                                                                                 error=SweepSpecError)
    depth = max(r["depth"] for r in rows) if depth is None else canonical_int("depth", depth, 1, None, SweepSpecError)
    width = min(r["width"] for r in rows) if width is None else canonical_int("width", width, 1, None, SweepSpecError)
    chosen = [r for r in rows if r["activation"] == activation and r["depth"] == depth and r["width"] == width]
    if not chosen:
        raise SweepSpecError(f"the sweep has no rows for activation {show_value(activation)}, depth "
                             f"{show_value(depth)}, width {show_value(width)}")
    sw = np.array(sorted({r["sigma_w2"] for r in chosen}), float)
    sb = np.array(sorted({r["sigma_b2"] for r in chosen}), float)
    values = np.full((len(sb), len(sw)), np.nan)
    missing = [["n/a"] * len(sw) for _ in sb]
    for r in chosen:
        v = r["log_grad"]
        j, i = np.searchsorted(sb, r["sigma_b2"]), np.searchsorted(sw, r["sigma_w2"])
        values[j, i] = v if isinstance(v, (int, float)) else np.nan
        if r.get("mc_zero_fraction") == 1:
            missing[j][i] = "all 0"
    line = table.get("critical_line", {}).get(activation, {"sigma_b2": [], "sigma_w2": []})
    pairs = [(b, w) for b, w in zip(line["sigma_b2"], line["sigma_w2"]) if isinstance(w, (int, float))]
    label = (r"$E\,\ln g^2$ over the chains with $g \neq 0$" if width == 1 else
             r"$E\,\ln(\|g_0\|^2/\|g_L\|^2)$")
    return HeatmapData(activation, depth, width, sw, sb, values, np.array([p[0] for p in pairs], float),
                       np.array([p[1] for p in pairs], float), label, tuple(tuple(m) for m in missing))


def heatmap_file(spec: SweepSpec, activation: str, width: int, format: str = "png") -> str:
    """File name of the heatmap of one activation and width: ``heatmap_<name>_chain.png`` or
    ``heatmap_<name>_width<n>.png``; a formula is named by its position, ``formula<k>``."""
    name = activation if activation.isidentifier() else f"formula{spec.activations.index(activation) + 1}"
    return f"heatmap_{name}_{'chain' if width == 1 else f'width{width}'}.{format}"
