r"""The public plotting functions: each draws one figure's panel into the caller's ``ax`` (or new axes on a new
Agg figure of the current style's size) and returns what it drew on, changing no global state. The ``figures``
command assembles its figures from these same functions.

Data come from :mod:`analytic.output.panels` and :mod:`analytic.output.network_panels`; the drawing is
:mod:`analytic.output.plotting` and :mod:`analytic.output.network_plotting`.

>>> from analytic.output.budget import QUICK
>>> plot_histogram("tanh", budget=QUICK).get_title()
'tanh'
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from . import network_plotting as N
from . import plotting as P
from ..core.calculus import resolve
from ..errors import ArgumentError, canonical_bool, canonical_float, canonical_int, canonical_keywords, canonical_text, show_value
from ..limits import check_array
from .budget import DEFAULT, Budget, check_budget
from .network_panels import phase_panel, relu_phase_panel
from .panels import CHAIN_WEIGHTS, XRANGE, activation_panel, dead_panel, gradient_panel, histogram_panel, preact_panel
from .style import figure_size, new_figure, style


#: Most grid points of one curve.
MAX_GRID = 10**5
#: Longest title, in characters.
MAX_TITLE = 200


def _axes(ax, width: str, aspect: float, ncols: int = 1):
    """``ax`` as given (one matplotlib Axes, or for ``ncols = 2`` also a pair of them), or new axes on a new Agg
    figure of the current style's size (no pyplot, no global state); anything else is an
    :class:`~analytic.errors.ArgumentError`."""
    from matplotlib.axes import Axes

    if isinstance(ax, Axes):
        return ax
    if ax is not None:
        pair = ncols == 2 and isinstance(ax, (list, tuple, np.ndarray)) and len(ax) == 2 and all(
            isinstance(a, Axes) for a in list(ax))
        if not pair:
            wanted = "a matplotlib Axes, a pair of Axes or None" if ncols == 2 else "a matplotlib Axes or None"
            raise ArgumentError(f"ax must be {wanted}, got {show_value(ax)}")
        return ax
    with style():
        fig = new_figure(figure_size(width, aspect))
        return fig.subplots(1, ncols) if ncols > 1 else fig.subplots()


def plot_activation(act, ax=None, *, params: dict | None = None, xlim: tuple[float, float] | None = None,
                    grid: int = DEFAULT.grid, title: str | None = None):
    r"""Draw :math:`\varphi` and :math:`\varphi'` of ``act`` (a catalogue name, formula, SymPy expression or
    :class:`~analytic.core.registry.Activation`) with parameters ``params`` (e.g. ``{"negative_slope": 0.1}``;
    defaults for the rest) on ``xlim`` (default :math:`[-5, 5]`) with the proved bounds of :math:`\varphi'`.

    ``ax`` is one Axes (φ solid, φ′ dashed, the proved sup dotted, as in the catalogue grid) or a pair of Axes
    (φ and φ′ side by side, kinks marked, bounds labelled, as in ``activation_<name>``); ``ax=None`` makes a
    pair on a new figure. Every line carries a label (:math:`\varphi(x)`, :math:`\varphi'(x)`, the bound), so
    ``ax.legend()`` names them. Returns what it drew on (the Axes, or the pair).

    >>> ax = plot_activation("leaky_relu", params={"negative_slope": 0.1}, xlim=(-2, 2),
    ...                      ax=new_figure((3, 2)).subplots())
    >>> ax.get_title(), ax.get_legend_handles_labels()[1]
    ('leaky_relu (negative_slope = 0.1)', ['$\\varphi(x)$', "$\\varphi'(x)$", "proved $\\sup\\varphi'$"])
    """
    bound = resolve(act, params)  # refused here if it is not an activation or a parameter is unknown
    grid = canonical_int("grid", grid, 3, MAX_GRID, ArgumentError)
    check_array("plot_activation: a curve (grid points)", (grid,))
    if title is not None:
        title = canonical_text("title", title, max_length=MAX_TITLE)
    xlim = _canonical_xlim(xlim)
    axes = _axes(ax, "page", 0.4, ncols=2)
    key = act if isinstance(act, str) and not bound.given else bound
    panel = activation_panel(key, grid, xlim) if xlim != XRANGE else activation_panel(key, grid)
    if np.ndim(axes) == 0:
        P.draw_catalogue_cell(axes, replace(panel, title=panel.title if title is None else title))
    else:
        ax_phi, ax_dphi = axes
        P.draw_activation_pair(ax_phi, ax_dphi, panel if title is None else replace(panel, title=title))
    return axes


#: Widest x-range of :func:`plot_activation`.
MAX_XLIM = 1e6


def _canonical_xlim(xlim) -> tuple[float, float]:
    """``xlim`` as two finite floats ``lo < hi`` within :data:`MAX_XLIM` (None: :data:`XRANGE`)."""
    if xlim is None:
        return XRANGE
    if isinstance(xlim, (str, bytes)) or not hasattr(xlim, "__len__") or len(xlim) != 2:
        raise ArgumentError(f"xlim must be a pair (lo, hi), got {show_value(xlim)}")
    lo, hi = (canonical_float(f"xlim[{i}]", v, -MAX_XLIM, MAX_XLIM) for i, v in enumerate(xlim))
    if not lo < hi:
        raise ArgumentError(f"xlim must have lo < hi, got ({lo:g}, {hi:g})")
    return (lo, hi)


def plot_gradient_depth(act, weights: str = CHAIN_WEIGHTS, ax=None, *, budget: Budget = DEFAULT, legend: bool = False):
    r"""Draw the gradient magnitude of the chain of ``act`` against depth (the exact chain's mean and
    :math:`e^{E\log|\prod|}` where they converged, Monte Carlo mean and median of the same chain with 95 % bands,
    the crude bound, and the independence approximation with :math:`v \sim`
    :data:`~analytic.output.panels.PREACT` as thin lines) for weights ``weights`` on ``ax`` (default: a new one).
    Returns the Axes."""
    act, weights = _chain_inputs(act, weights, budget)
    legend = canonical_bool("legend", legend)
    axes = _axes(ax, "column", 0.85)
    P.draw_gradient_depth(axes, gradient_panel(act, budget, weights), legend=legend)
    return axes


def plot_preactivation_law(act, weights: str = CHAIN_WEIGHTS, ax=None, *, budget: Budget = DEFAULT):
    """Mean ± sd of the pre-activation v_t of the chain of ``act`` against depth, with the N(0, 1) band; returns
    the Axes."""
    act, weights = _chain_inputs(act, weights, budget)
    axes = _axes(ax, "column", 0.75)
    P.draw_preactivation_law(axes, preact_panel(act, budget, weights))
    return axes


def plot_histogram(act, ax=None, *, budget: Budget = DEFAULT):
    r"""Draw histograms of :math:`\log_{10}|\prod_t w_t\varphi'(v_t)|` of ``act`` at ``budget.hist_depths``, with
    the mean and the median marked. Returns the Axes."""
    resolve(act)
    check_budget(budget)
    axes = _axes(ax, "column", 0.85)
    P.draw_log_histogram(axes, histogram_panel(act, budget))
    return axes


#: The activations :func:`plot_phase_diagram` has a panel for.
PHASE_PANELS = {"tanh": phase_panel, "relu": relu_phase_panel}


def plot_phase_diagram(ax=None, *, activation: str = "tanh", budget: Budget = DEFAULT):
    r"""Draw one mean-field phase diagram on ``ax`` (default: a new one): ``activation="tanh"`` (critical line
    :math:`\chi_1 = 1`, ordered and chaotic regions, :math:`\xi_c` contours, simulated checks;
    :func:`~analytic.output.network_panels.phase_panel`) or ``"relu"`` (its single critical point
    :math:`\sigma_w^2 = 2`, :func:`~analytic.output.network_panels.relu_phase_panel`). Returns the Axes.

    >>> from analytic.output.budget import QUICK
    >>> plot_phase_diagram(ax=new_figure((3, 3)).subplots(), activation="relu", budget=QUICK).get_title()
    'ReLU'
    """
    activation = canonical_text("activation", activation)
    if activation not in PHASE_PANELS:
        raise ArgumentError(f"no phase diagram for {show_value(activation)}; phase diagrams: "
                            f"{', '.join(PHASE_PANELS)}")
    check_budget(budget)
    axes = _axes(ax, "column", 1.05)
    N.draw_phase_diagram(axes, PHASE_PANELS[activation](budget))
    return axes


def plot_dying_relu(ax=None, *, budget: Budget = DEFAULT):
    r"""Draw the fraction of dead ReLU units against the bias mean: analytic :math:`P(v < 0)` and Monte Carlo.
    Returns the Axes."""
    check_budget(budget)
    axes = _axes(ax, "column", 1.1)
    P.draw_dead_fraction(axes, dead_panel(budget))
    return axes


def plot_normalisation(ax=None, *, budget: Budget = DEFAULT):
    r"""Draw the normalisation figure's two panels on ``ax`` (a pair of Axes; default: a new pair): left, BatchNorm's
    per-layer growth :math:`\lambda_B` of the squared gradient norm against the batch size for relu, tanh, sigmoid,
    gelu and identity with the :math:`B \to \infty` limits dashed and Monte Carlo points
    (:func:`~analytic.output.normalisation_panels.batch_panel`); right, the squared gradient norm across depth of
    plain, BatchNorm and LayerNorm ReLU/tanh networks, mean field and Monte Carlo
    (:func:`~analytic.output.normalisation_panels.depth_panel`). Returns the pair."""
    from . import normalisation_panels as NP

    check_budget(budget)
    axes = _axes(ax, "page", 0.45, ncols=2)
    if np.ndim(axes) == 0:
        raise ArgumentError("plot_normalisation draws two panels: ax must be a pair of Axes or None")
    left, right = axes
    NP.draw_batch(left, NP.batch_panel(budget))
    NP.draw_depth(right, NP.depth_panel(budget))
    return axes


#: The activations of the per-layer figure.
PROFILE_ACTS = ("sigmoid", "tanh", "relu")
#: The marker of each initialisation in the per-layer figure, in the order of its colours.
PROFILE_MARKERS = ("o", "s", "^")


def plot_layer_profile(act, init: str = "he", ax=None, *, quantity: str = "gradient", budget: Budget = DEFAULT):
    r"""Draw the per-layer picture of a wide network (Glorot & Bengio 2010) of ``act`` under the initialisation
    ``init`` (``"standard"`` :math:`U[\pm 1/\sqrt n]`, ``"glorot"`` :math:`U[\pm\sqrt{6/(2n)}]` or ``"he"``
    :math:`N(0, 2/n)`; :data:`~analytic.output.layer_panels.INITS`) on ``ax`` (default: a new one); returns the
    Axes.

    ``quantity="gradient"``: :math:`E\|g_l\|^2` at every layer :math:`l`, the mean-field line
    :math:`n\prod_{k>l}\chi_k` with :math:`\chi_k = \sigma_w^2 E[\varphi'(v_k)^2]`
    (:func:`analytic.theory.profile.layer_profile`) over the simulation's per-layer profile
    ``log_mean_norm2`` with 95 % bands from ``log_mean_norm2_stderr`` (:func:`analytic.mc.simulate_wide`,
    width ``budget.profile_width``, depth ``budget.profile_depth``). ``quantity="q"``: its forward twin, the
    pre-activation variance :math:`q_l` (mean-field length map against the simulation's ``q``). Each
    initialisation keeps its colour and marker in every panel.

    >>> from analytic.output.budget import QUICK
    >>> ax = plot_layer_profile("tanh", "glorot", ax=new_figure((3, 2)).subplots(), budget=QUICK)
    >>> ax.get_yscale()
    'log'
    """
    from .layer_panels import INITS, canonical_init, layer_profile_panel

    name = resolve(act).name
    init = canonical_init(init).name
    k = list(INITS).index(init)
    quantity = canonical_text("quantity", quantity, error=ArgumentError)
    if quantity not in N.PROFILE_YLABELS:
        raise ArgumentError(f"quantity must be one of {', '.join(N.PROFILE_YLABELS)}, got {show_value(quantity)}")
    check_budget(budget)
    axes = _axes(ax, "column", 0.85)
    N.draw_layer_profile(axes, layer_profile_panel(name, init, budget), quantity, color=P.SERIES[k],
                         marker=PROFILE_MARKERS[k])
    return axes


def plot_sparsity(ax=None, *, budget: Budget = DEFAULT):
    r"""Draw the fraction of zero activations per layer of a wide ReLU network (He weights) with and without a
    bias: mean-field :math:`P(v_l \le 0)` lines over Monte Carlo points
    (:func:`analytic.output.layer_panels.sparsity_panel`). Returns the Axes."""
    from .layer_panels import sparsity_panel

    check_budget(budget)
    axes = _axes(ax, "column", 0.85)
    N.draw_sparsity(axes, sparsity_panel(budget))
    return axes


def plot_born_dead(ax=None, *, budget: Budget = DEFAULT):
    r"""Draw the probability that a narrow ReLU network (no bias) is alive for one input against depth, exact
    :math:`(1 - 2^{-n})^L` over Monte Carlo (:func:`analytic.output.layer_panels.born_dead_panel`). Returns the
    Axes."""
    from .layer_panels import born_dead_panel

    check_budget(budget)
    axes = _axes(ax, "column", 0.85)
    N.draw_born_dead(axes, born_dead_panel(budget))
    return axes


def plot_architectures(ax=None, *, budget: Budget = DEFAULT):
    r"""Draw the architectures figure's four panels on ``ax`` (four Axes; default: a new row): for sigmoid, tanh
    and ReLU, :math:`E|\prod|` across depth of the plain, residual (:math:`\alpha = 1`, :math:`1/\sqrt R`) and
    tied-weight chains, exact lines (stopping where a value is withheld) over Monte Carlo points
    (:func:`~analytic.output.architecture_panels.chain_panel`); last, the gradient correlation of two inputs
    across depth, plain vs residual (:func:`~analytic.output.architecture_panels.correlation_panel`). Returns a
    dict of what was drawn, keyed ``(act, network)``, ``(act, network, "mc")`` and ``("correlation", label)``."""
    from . import architecture_panels as AP

    check_budget(budget)
    from matplotlib.axes import Axes

    panels = len(AP.ACTIVATIONS) + 1
    if ax is None:
        axes = _axes(None, "page", 0.4, ncols=panels)
    elif isinstance(ax, (list, tuple, np.ndarray)) and len(ax) == panels and all(isinstance(a, Axes) for a in ax):
        axes = list(ax)
    else:
        raise ArgumentError(f"plot_architectures draws {panels} panels: ax must be {panels} Axes or None, got "
                            f"{show_value(ax)}")
    drawn: dict = {}
    for a, act in zip(axes, AP.ACTIVATIONS):
        for key, artist in AP.draw_chain(a, AP.chain_panel(act, budget)).items():
            drawn[(act,) + ((key[:-3], "mc") if key.endswith(" mc") else (key,))] = artist
    axes[0].set_ylabel(r"$E\,|g_1 \cdots g_r|$")
    for key, artist in AP.draw_correlation(axes[-1], AP.correlation_panel(budget)).items():
        drawn[("correlation", key)] = artist
    return drawn


def plot_sweep(table, ax=None, **select):
    r"""Draw a sweep's heatmap of the mean log squared gradient over :math:`\sigma_w^2 \times \sigma_b^2` with the
    critical line (``select``: ``activation``, ``depth``, ``width``; see
    :func:`analytic.output.network_plotting.sweep_heatmap`). Returns the Axes."""
    select = canonical_keywords("plot_sweep", select, ("activation", "depth", "width"))
    axes = _axes(ax, "column", 0.8)
    N.sweep_heatmap(table, ax=axes, **select)
    return axes


def _chain_inputs(act, weights, budget):
    """The activation resolved and the weight law checked (its spec text kept, as the panels take it), and the
    budget checked, before any figure is made."""
    from ..distributions import distribution

    resolve(act)
    weights = canonical_text("weights", weights, error=ArgumentError)
    distribution(weights)
    check_budget(budget)
    return act, weights
