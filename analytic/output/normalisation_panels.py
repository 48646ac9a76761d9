r"""The ``normalisation`` figure's data and drawing: the per-layer growth :math:`\lambda` of the squared gradient
norm with BatchNorm against the batch size (:func:`batch_panel`, :func:`draw_batch`) and the squared gradient norm
across depth for plain, BatchNorm and LayerNorm networks (:func:`depth_panel`, :func:`draw_depth`).

Analytic values come from :mod:`analytic.theory.normalisation` (a value withheld there is not drawn), Monte
Carlo points from :func:`analytic.mc.normalised.simulate_normalised` and :func:`analytic.mc.simulate_wide`,
seeded with ``budget.seed`` (same seed, same points, whatever the threads). Builders are memoised per budget.

>>> from analytic.output.budget import QUICK
>>> p = batch_panel(QUICK)
>>> p.batches[0], p.curves[-1][0]
(4, 'identity')
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .budget import DEFAULT, Budget
from .plotting import OKABE_ITO

#: The activations of the left panel, in drawing order, with their colours.
BATCH_ACTIVATIONS = (("relu", "vermillion"), ("tanh", "blue"), ("sigmoid", "green"), ("gelu", "purple"),
                     ("identity", "black"))
#: Batch sizes of the analytic curves (log-spaced, 4 .. 1024) and of the Monte Carlo points.
CURVE_BATCHES = (4, 5, 6, 8, 11, 16, 23, 32, 64, 128, 256, 512, 1024)
MC_BATCHES = (8, 32, 128)
#: Width, depth and networks of every simulated network of the figure (small: the figure draws in seconds).
MC_WIDTH, MC_DEPTH, MC_NETWORKS = 128, 12, 4
#: The right panel: layers shown, BatchNorm's batch, and sigma_w^2 of the plain networks (ReLU at He's 2, tanh at
#: 1.5). The networks are :data:`TRANSIENT` layers deeper than shown: the layers next to the input, whose forward
#: pass has not reached its fixed point (tanh's q_l settles over several layers), are left out.
DEPTH, DEPTH_BATCH, TRANSIENT = 20, 32, 8
PLAIN_SIGMA_W2 = {"relu": 2.0, "tanh": 1.5}


@dataclass(frozen=True)
class BatchPanel:
    r""":math:`\lambda_B` against :math:`B`: per activation (name, colour, :math:`\lambda_B` at ``batches``
    (NaN where withheld), the :math:`B \to \infty` limit (NaN where withheld), Monte Carlo rates at
    :data:`MC_BATCHES` with their standard errors)."""

    batches: tuple[int, ...]
    curves: tuple[tuple[str, str, np.ndarray, float, np.ndarray, np.ndarray], ...]
    mc_batches: tuple[int, ...]
    mc_label: str


@dataclass(frozen=True)
class DepthPanel:
    r""":math:`\log_{10}` of the squared gradient norm relative to the output, against the layers
    back-propagated through :math:`d = 0..L`: per network (label, colour, line style, mean-field line, Monte Carlo
    points: mean of :math:`\log_{10}` over networks)."""

    depths: np.ndarray
    series: tuple[tuple[str, str, str, np.ndarray, np.ndarray], ...]
    mc_label: str


def _value(q) -> float:
    return math.nan if q.withheld else q.value


@functools.lru_cache(maxsize=None)
def batch_panel(budget: Budget = DEFAULT) -> BatchPanel:
    r"""Analytic :math:`\lambda_B` (:func:`analytic.theory.batch_sphere.sphere_lambda`) at
    :data:`CURVE_BATCHES`, :math:`\lambda_\infty`, and simulated rates of width-:data:`MC_WIDTH` networks."""
    from ..architecture import normalised
    from ..mc.normalised import simulate_normalised
    from ..theory.normalisation import batchnorm_lambda

    curves = []
    for name, colour in BATCH_ACTIVATIONS:
        lam = np.array([_value(batchnorm_lambda(name, architecture=normalised("batch", b))) for b in CURVE_BATCHES])
        sims = [simulate_normalised(name, "batch", batch=b, width=MC_WIDTH, depth=MC_DEPTH, networks=MC_NETWORKS,
                                    seed=budget.seed) for b in MC_BATCHES]
        curves.append((name, colour, lam, _value(batchnorm_lambda(name)),
                       np.array([s.rate.value for s in sims]), np.array([s.rate.error for s in sims])))
    return BatchPanel(CURVE_BATCHES, tuple(curves), MC_BATCHES,
                      f"Monte Carlo (width {MC_WIDTH}, {MC_NETWORKS} networks, ±2 s.e.)")


@functools.lru_cache(maxsize=None)
def depth_panel(budget: Budget = DEFAULT) -> DepthPanel:
    r"""Mean field: :math:`\chi_1^d` (plain, :func:`analytic.theory.meanfield.mean_field` at
    :data:`PLAIN_SIGMA_W2`, no bias) and :math:`\lambda^d` (BatchNorm over :data:`DEPTH_BATCH`, LayerNorm);
    Monte Carlo: the mean over networks of :math:`\log_{10}\|g_{L-d}\|^2/\|g_L\|^2`, :math:`d \le` :data:`DEPTH`,
    in networks of :data:`DEPTH` + :data:`TRANSIENT` layers."""
    from ..architecture import normalised
    from ..mc import simulate_wide
    from ..mc.normalised import simulate_normalised
    from ..theory.meanfield import mean_field
    from ..theory.normalisation import normalised_lambda

    d = np.arange(DEPTH + 1)
    total = DEPTH + TRANSIENT
    series = []
    styles = {"plain": "-", "batch": "--", "layer": ":"}
    for name, colour in (("relu", "vermillion"), ("tanh", "blue")):
        s2 = PLAIN_SIGMA_W2[name]
        chi1 = float(mean_field(name, s2, 0.0).chi1)
        wide = simulate_wide(name, total, MC_WIDTH, f"normal(0, {math.sqrt(s2 / MC_WIDTH)!r})", batch=8,
                             seed=budget.seed, networks=MC_NETWORKS)
        logs = np.array([s.value for s in wide.mean_log_norm2])
        series.append((f"{name}, plain (σ_w² = {s2:g})", colour, styles["plain"], d * math.log10(chi1),
                       (logs[::-1][:DEPTH + 1] - logs[-1]) / math.log(10)))
        for norm, label in (("batch", f"BatchNorm B = {DEPTH_BATCH}"), ("layer", "LayerNorm")):
            arch = normalised("batch", DEPTH_BATCH) if norm == "batch" else normalised("layer")
            lam = _value(normalised_lambda(name, arch))
            sim = simulate_normalised(name, norm, batch=DEPTH_BATCH if norm == "batch" else 8, width=MC_WIDTH,
                                      depth=total, networks=MC_NETWORKS, seed=budget.seed)
            points = np.array(sim.log_norm2[::-1][:DEPTH + 1]) / math.log(10)
            series.append((f"{name}, {label}", colour, styles[norm], d * math.log10(lam), points))
    return DepthPanel(d, tuple(series), f"Monte Carlo (width {MC_WIDTH}, {MC_NETWORKS} networks)")


def draw_batch(ax, panel: BatchPanel) -> dict[str, Any]:
    r""":math:`\lambda_B` solid, :math:`\lambda_\infty` dashed, Monte Carlo points with 2-s.e. bars; log x."""
    out: dict[str, Any] = {}
    b = np.array(panel.batches, dtype=float)
    for name, colour, lam, limit, rate, err in panel.curves:
        c = OKABE_ITO.get(colour, colour)
        out[name] = ax.plot(b, lam, color=c, label=name)[0]
        if math.isfinite(limit):
            out[f"{name}_limit"] = ax.axhline(limit, color=c, linestyle="--", linewidth=0.8)
        out[f"{name}_mc"] = ax.errorbar(panel.mc_batches, rate, yerr=2 * err, linestyle="none", marker="o",
                                        markersize=3, color=c, capsize=2, zorder=3)
    ax.plot([], [], linestyle="none", marker="o", markersize=3, color="0.3", label=panel.mc_label)
    ax.plot([], [], linestyle="--", linewidth=0.8, color="0.3", label=r"$B \to \infty$: $E\varphi'^2/\mathrm{Var}\,\varphi$")
    ax.set_xscale("log")
    ax.set_xlabel("batch size $B$")
    ax.set_ylabel(r"$\lambda$: squared gradient norm per layer")
    ax.set_title("BatchNorm, width $n \\to \\infty$")
    ax.grid(True, color="0.9")
    ax.legend(loc="upper right", fontsize="x-small")
    return out


def draw_depth(ax, panel: DepthPanel) -> dict[str, Any]:
    r"""Mean-field lines and Monte Carlo points of :math:`\log_{10}\|g\|^2` (relative to the output)."""
    out: dict[str, Any] = {}
    for label, colour, style, line, points in panel.series:
        c = OKABE_ITO.get(colour, colour)
        out[label] = ax.plot(panel.depths, line, color=c, linestyle=style, label=label)[0]
        out[f"{label} mc"] = ax.plot(panel.depths, points, linestyle="none", marker="o", markersize=2.5,
                                     color=c, zorder=3)[0]
    ax.plot([], [], linestyle="none", marker="o", markersize=2.5, color="0.3", label=panel.mc_label)
    ax.set_xlabel("layers back-propagated through")
    ax.set_ylabel(r"$\log_{10}\|\partial L/\partial x\|^2$ (relative to the output)")
    ax.set_title("Squared gradient norm across depth")
    ax.grid(True, color="0.9")
    ax.legend(loc="upper left", fontsize="xx-small", ncol=2)
    return out
