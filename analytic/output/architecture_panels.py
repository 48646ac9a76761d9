r"""The ``architectures`` figure's data and drawing: the back-propagated gradient across depth in a plain, a
residual and a recurrent (tied-weight) chain (:func:`chain_panel`, :func:`draw_chain`), and the correlation of
the gradients of two inputs across depth in a wide plain and residual network (:func:`correlation_panel`,
:func:`draw_correlation`; Balduzzi et al. 2017, "The shattered gradients problem").

Left: :math:`E|\prod_{t=1}^r g_t|` at x = 1, weights :data:`WEIGHTS`, for the plain chain
(:math:`g_t = w_t\varphi'(v_t)`, :func:`analytic.exact_chain`), the residual chain with the post branch
(:math:`g_t = 1 + \alpha w_t\varphi'(v_t)`, ``architecture=residual(alpha)``, :math:`\alpha = 1` and
:math:`\alpha = 1/\sqrt R` fixed at the figure's depth R) and the tied chain (one weight w for every layer,
:func:`analytic.theory.recurrent.recurrent_chain`). A value withheld there (``converged`` False) is not drawn:
the line stops. Monte Carlo points are the same chains simulated (:func:`analytic.simulate_chain`, seeded with
``budget.seed``) with 95 % bars from their standard errors (a lower limit below zero is drawn down to a thousandth
of the point); a point whose mean rests on fewer than :data:`MIN_ESS` effective samples (a few chains carry it,
as for the plain ReLU chain, non-zero with probability :math:`2^{-r}`) is not drawn. The residual tanh chain with :math:`\alpha = 1` is
left out (:data:`LEFT_OUT`): its transfer operator needs many refinements and withholds at these depths.

Right: the gradient correlation after d blocks back-propagated from the output of a wide ReLU network with He
weights (:math:`\sigma_w^2 = 2, \sigma_b^2 = 0`) and a tanh network (:math:`\sigma_w^2 = 1`), inputs with
correlation :math:`c_0 = 1/2`. Residual: :func:`analytic.residual_mean_field`. Plain ReLU: the same model without
the skip, :math:`\prod_l E_{q,c_l}[\varphi'\varphi']/E_q[\varphi'^2]` with :math:`c_{l+1}` from
:func:`analytic.theory.correlation.correlation_map` and the expectations from
:func:`analytic.theory.bivariate.bivariate_expectation` (for ReLU the length is the same at every layer, so the
correlation map at that length is exact). Hollow squares: the residual networks' width-:data:`TWIN_WIDTH` twin
(:func:`analytic.mc.residual_wide.simulate_residual_wide`, seeded with ``budget.seed``); deep ReLU networks with
:math:`\alpha = 1` depart from the mean field at that width (docs/guide/residual_meanfield.md, "Where width
matters").

>>> from analytic.output.budget import QUICK
>>> [c.network for c in chain_panel("relu", QUICK).curves]
['plain', 'residual α = 1', 'residual α = 1/√R', 'recurrent (tied)']
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from matplotlib.ticker import MaxNLocator

from .budget import DEFAULT, Budget
from .panels import Z95
from .plotting import OKABE_ITO

#: The activations of the left panels, the weight law and the input.
ACTIVATIONS = ("sigmoid", "tanh", "relu")
WEIGHTS = "normal(0, 1)"
#: The networks of the left panels: (name, colour, line style).
NETWORKS = (("plain", "black", "-"), ("residual α = 1", "vermillion", "-"), ("residual α = 1/√R", "blue", "--"),
            ("recurrent (tied)", "green", ":"))
#: Curves not drawn, with the reason (said in the figure's legend).
LEFT_OUT = {("tanh", "residual α = 1"): "tanh, residual α = 1: withheld, not drawn"}
#: Monte Carlo points whose mean rests on fewer effective samples (ChainSimulation.ess) are not drawn.
MIN_ESS = 100
#: The right panel: correlation of the two inputs, and (activation, sigma_w^2) of its networks.
C0 = 0.5
CORRELATION_NETWORKS = (("relu", 2.0), ("tanh", 1.0))
#: What the twin is to the mean-field lines (said in the figure's legend).
TWIN_NOTE = "below: lines are the limit n → ∞ at fixed\ndepth; deep ReLU nets depart at finite n"
#: The width-n twin of the residual curves: width, pairs of inputs and networks per curve.
TWIN_WIDTH, TWIN_PAIRS, TWIN_NETWORKS = 256, 2, 8


@dataclass(frozen=True)
class ChainCurve:
    r"""One network: :math:`E|\prod|` at depths 1..R (NaN where withheld) and the Monte Carlo estimates at
    ``mc_depths`` with 95 % limits."""

    network: str
    colour: str
    style: str
    exact: np.ndarray
    mc_depths: np.ndarray
    mc: np.ndarray
    mc_lower: np.ndarray
    mc_upper: np.ndarray


@dataclass(frozen=True)
class ChainPanel:
    act: str
    depth: int
    samples: int
    curves: tuple[ChainCurve, ...]


def _architecture(network: str, depth: int):
    from ..architecture import PLAIN, recurrent, residual

    return {"plain": PLAIN, "residual α = 1": residual(1.0), "residual α = 1/√R": residual(1 / math.sqrt(depth)),
            "recurrent (tied)": recurrent()}[network]


def _exact(act: str, network: str, depth: int):
    from ..theory.chain import exact_chain
    from ..theory.recurrent import recurrent_chain

    if network == "recurrent (tied)":
        return recurrent_chain(act, depth, WEIGHTS)
    return exact_chain(act, depth, WEIGHTS, architecture=_architecture(network, depth))


def drawn_values(series) -> np.ndarray:
    """The values of a :class:`~analytic.quantities.QuantitySeries` as floats, NaN where withheld."""
    return np.array([math.nan if q.value is None else float(q.value) for q in series])


def mc_depths(budget: Budget) -> tuple[int, ...]:
    """The depths of the Monte Carlo points: the budget's depth points below ``arch_depth``, and ``arch_depth``."""
    R = budget.arch_depth
    return tuple(d for d in budget.depth_points if d < R) + (R,)


@functools.lru_cache(maxsize=None)
def chain_panel(act: str, budget: Budget = DEFAULT) -> ChainPanel:
    r""":math:`E|\prod|` of ``act``'s plain, residual and tied chains at depths 1..``budget.arch_depth``, exact
    and Monte Carlo (``budget.arch_samples`` chains per point)."""
    from ..mc.chain import simulate_chain

    R = budget.arch_depth
    depths = mc_depths(budget)
    curves = []
    for network, colour, style in NETWORKS:
        if (act, network) in LEFT_OUT:
            continue
        exact = drawn_values(_exact(act, network, R).by_depth["mean_abs"])
        arch = _architecture(network, R)
        mc, lo, hi = [], [], []
        for d in depths:
            s = simulate_chain(act, d, WEIGHTS, samples=budget.arch_samples, seed=budget.seed, threads=1,
                               architecture=None if arch.kind == "plain" else arch)
            m, se = float(s.mean_abs.value), float(s.mean_abs.stderr)
            if not s.ess >= MIN_ESS:  # a few chains carry the mean: its standard error cannot be trusted
                m = se = math.nan
            mc.append(m)
            lo.append(m - Z95 * se)
            hi.append(m + Z95 * se)
        curves.append(ChainCurve(network, colour, style, exact, np.array(depths), np.array(mc), np.array(lo),
                                 np.array(hi)))
    return ChainPanel(act, R, budget.arch_samples, tuple(curves))


@dataclass(frozen=True)
class CorrelationPanel:
    r"""Gradient correlation after d = 1..L blocks back-propagated: per network (label, colour, style, values,
    NaN where withheld), and per residual network (label, colour, depths, twin means, 95 % lower, upper)."""

    depth: int
    curves: tuple[tuple[str, str, str, np.ndarray], ...]
    twins: tuple[tuple[str, str, np.ndarray, np.ndarray, np.ndarray, np.ndarray], ...]


def plain_gradient_correlation(act: str, sigma_w2: float, depth: int, c0: float = C0, q: float = 1.0) -> np.ndarray:
    r"""The gradient correlation after d = 1..``depth`` layers back-propagated from the output of a wide plain
    network whose pre-activations keep the length ``q`` (ReLU with He weights and no bias): forward
    :math:`c_1 = c_0`, :math:`c_{l+1} = F(c_l)`, backward factors :math:`E_{q,c_l}[\varphi'\varphi']/
    E_q[\varphi'^2]` multiplied from the last layer down. NaN where an expectation's error exceeds 1e-8."""
    from ..theory.bivariate import bivariate_expectation
    from ..theory.correlation import correlation_map

    cs = [c0]
    for _ in range(depth - 1):
        cs.append(min(1.0, correlation_map(act, cs[-1], sigma_w2, 0.0, q).value))
    norm = bivariate_expectation(act, "dphi", "dphi", q, 1.0)
    factors = []
    for c in cs:
        e = bivariate_expectation(act, "dphi", "dphi", q, c)
        ok = e.error <= 1e-8 * abs(e.value) and norm.error <= 1e-8 * abs(norm.value)
        factors.append(e.value / norm.value if ok else math.nan)
    return np.cumprod(factors[::-1])


@functools.lru_cache(maxsize=None)
def correlation_panel(budget: Budget = DEFAULT) -> CorrelationPanel:
    """The right panel's curves over ``budget.arch_depth`` blocks."""
    from ..architecture import residual
    from ..mc.residual_wide import simulate_residual_wide
    from ..theory.residual_meanfield import residual_mean_field

    L = budget.arch_depth
    depths = np.array(mc_depths(budget))
    curves = [("ReLU, plain", "black", "-", plain_gradient_correlation("relu", 2.0, L, q=2.0))]
    twins = []
    for act, sw in CORRELATION_NETWORKS:
        name = "ReLU" if act == "relu" else act
        for alpha, text, colour, style in ((1.0, "1", "vermillion", "-"), (1 / math.sqrt(L), "1/√L", "blue", "--")):
            mf = residual_mean_field(act, sw, 0.0, residual(alpha), L, c0=C0)
            label = f"{name}, residual α = {text}"
            curves.append((label, colour, style if act == "relu" else ":", drawn_values(mf.gradient_correlation)))
            sim = simulate_residual_wide(act, sw, 0.0, residual(alpha), L, width=TWIN_WIDTH, pairs=TWIN_PAIRS,
                                         networks=TWIN_NETWORKS, seed=budget.seed, c0=C0, threads=1)
            stats = [sim.gradient_correlation[d - 1] for d in depths]
            m = np.array([float(st.value) for st in stats])
            se = np.array([float(st.stderr) for st in stats])
            twins.append((label, colour, depths, m, m - Z95 * se, m + Z95 * se))
    return CorrelationPanel(L, tuple(curves), tuple(twins))


def draw_chain(ax, panel: ChainPanel, *, legend: bool = False) -> dict[str, Any]:
    r"""Exact :math:`E|\prod|` as lines (gaps where withheld) and Monte Carlo points with 95 % bars; log y."""
    out: dict[str, Any] = {}
    r = np.arange(1, panel.depth + 1)
    for c in panel.curves:
        colour = OKABE_ITO[c.colour]
        out[c.network] = ax.plot(r, c.exact, color=colour, linestyle=c.style, label=c.network)[0]
        err = np.vstack([c.mc - np.maximum(c.mc_lower, c.mc * 1e-3), c.mc_upper - c.mc])
        out[f"{c.network} mc"] = ax.errorbar(c.mc_depths, c.mc, yerr=err, linestyle="none", marker="o",
                                             markersize=3, markerfacecolor="white", color=colour, capsize=2,
                                             zorder=3)
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_xlabel("depth $r$")
    ax.set_title(panel.act)
    ax.grid(True, color="0.9")
    return out


def draw_correlation(ax, panel: CorrelationPanel) -> dict[str, Any]:
    """Gradient correlation lines (mean field; gaps where withheld) and the residual networks' width-n twin as
    hollow squares with 95 % bars."""
    out: dict[str, Any] = {}
    d = np.arange(1, panel.depth + 1)
    for label, colour, style, values in panel.curves:
        out[label] = ax.plot(d, values, color=OKABE_ITO[colour], linestyle=style, label=label)[0]
    for label, colour, depths, m, lower, upper in panel.twins:
        out[f"{label} twin"] = ax.errorbar(depths, m, yerr=np.vstack([m - lower, upper - m]), linestyle="none",
                                           marker="s", markersize=3, markerfacecolor="white",
                                           color=OKABE_ITO[colour], capsize=2, zorder=3)
    ax.plot([], [], linestyle="none", marker="s", markersize=3, markerfacecolor="white", color="0.3",
            label=f"width-{TWIN_WIDTH} twin, {TWIN_NETWORKS} nets × {TWIN_PAIRS} pairs, 95 %")
    ax.set_ylim(0, 1.05)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, integer=True))
    ax.set_xlabel("blocks back-propagated $d$")
    ax.set_ylabel(r"gradient correlation $\rho_d$")
    ax.set_title("Shattered gradients (width $n \\to \\infty$)")
    ax.grid(True, color="0.9")
    ax.legend(loc="lower left", fontsize="x-small", ncols=2)
    return out
