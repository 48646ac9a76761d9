r"""The data of the per-layer figures, computed through the library and handed to
:mod:`analytic.output.network_plotting` as frozen panel records: nothing here draws.

* :func:`layer_profile_panel` — the classic per-layer picture (Glorot & Bengio 2010; Nielsen, ch. 5): in a wide
  network, the gradient norm :math:`E\|g_l\|^2` and the pre-activation variance :math:`q_l` at every layer, the
  mean field (:func:`analytic.theory.profile.layer_profile`, the per-layer :math:`\chi` product) against real
  back-propagation (:func:`analytic.mc.simulate_wide`, ``log_mean_norm2`` and ``q`` with their standard errors),
  for one activation and one initialisation (:data:`INITS`).
* :func:`sparsity_panel` — the fraction of ReLU units that are off at each layer, with and without a bias
  (mean field :math:`P(v_l \le 0) = \Phi(-\mu_b/s_l)` against the simulation's ``zero_dphi_fraction``), and
  :func:`born_dead_panel` — the probability that a narrow ReLU network is alive for a given input,
  :math:`(1 - 2^{-n})^L` (:func:`analytic.theory.profile.born_alive_probability`) against
  :func:`analytic.mc.simulate_born_dead`.

Every builder is memoised per budget and uses the budget's seed.

>>> from analytic.output.budget import QUICK
>>> layer_profile_panel("relu", "he", QUICK).sigma_w2
2.0
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from ..errors import ArgumentError, canonical_text, show_value
from .budget import DEFAULT, Budget
from .panels import Z95
from .plotting import Band


@dataclass(frozen=True)
class Init:
    """A weight initialisation of a width-n layer: its name, its label and its weight spec at width n."""

    name: str
    label: str
    template: str

    def spec(self, n: int) -> str:
        return self.template.format(n=n, two_n=2 * n)


#: The initialisations of the per-layer figure: Glorot & Bengio's "standard" heuristic
#: :math:`U[-1/\sqrt n, 1/\sqrt n]` (:math:`\sigma_w^2 = 1/3`), their normalised init (Glorot, uniform,
#: :math:`\sigma_w^2 = 2n/(n_{in} + n_{out}) = 1`) and He's :math:`N(0, 2/n)` (:math:`\sigma_w^2 = 2`).
INITS = {
    "standard": Init("standard", r"standard $U[\pm 1/\sqrt{n}]$", "uniform(-1/sqrt({n}), 1/sqrt({n}))"),
    "glorot": Init("glorot", r"Glorot $U[\pm\sqrt{6/(2n)}]$", "uniform(-sqrt(6/{two_n}), sqrt(6/{two_n}))"),
    "he": Init("he", r"He $\mathcal{N}(0, 2/n)$", "he({n})"),
}


def canonical_init(init) -> Init:
    """``init`` as an :class:`Init`: a name of :data:`INITS` (an :class:`~analytic.errors.ArgumentError` for
    another)."""
    text = canonical_text("init", init, error=ArgumentError)
    if text not in INITS:
        raise ArgumentError(f"unknown initialisation {show_value(text)}; initialisations: {', '.join(INITS)}")
    return INITS[text]


@dataclass(frozen=True)
class LayerProfilePanel:
    r"""One activation and one initialisation, layers :math:`l = 0..L`: the mean-field :math:`E\|g_l\|^2` and
    :math:`q_l` (nan where withheld), and the simulation's estimates with 95 % bands (:math:`\pm 1.96` standard
    errors; for the gradient in log space)."""

    act: str
    init: str
    label: str
    sigma_w2: float
    width: int
    layers: np.ndarray
    gradient: np.ndarray
    q: np.ndarray
    mc_gradient: Band
    mc_q: Band
    networks: int
    batch: int


def _sigma_w2(spec: str, n: int) -> float:
    from ..distributions import distribution

    return n * float(distribution(spec).moments().mean_square)


@functools.lru_cache(maxsize=None)
def layer_profile_panel(act: str, init: str, budget: Budget = DEFAULT) -> LayerProfilePanel:
    r"""The per-layer picture of ``act`` under the initialisation ``init`` (:data:`INITS`) in a network of
    ``budget.profile_depth`` layers of width ``budget.profile_width``, inputs :math:`N(0, I_n)`, no bias."""
    from ..mc import simulate_wide
    from ..theory.profile import layer_profile

    ini = canonical_init(init)
    n, L = budget.profile_width, budget.profile_depth
    spec = ini.spec(n)
    sw = _sigma_w2(spec, n)
    mf = layer_profile(act, sw, L)
    sim = simulate_wide(act, L, n, spec, batch=budget.profile_batch, networks=budget.profile_networks,
                        seed=budget.seed)
    lm, se = np.array(sim.log_mean_norm2), np.array(sim.log_mean_norm2_stderr)
    q, qse = np.array(sim.q), np.array(sim.q_stderr)
    layers = np.arange(L + 1)
    with np.errstate(over="ignore", under="ignore"):
        mc_g = Band(layers, np.exp(lm), np.exp(lm - Z95 * se), np.exp(lm + Z95 * se))
        mf_g = np.exp(mf.log_mean_norm2(n))
    return LayerProfilePanel(
        act=mf.act, init=ini.name, label=ini.label, sigma_w2=sw, width=n, layers=layers, gradient=mf_g,
        q=np.array(mf.q), mc_gradient=mc_g, mc_q=Band(layers, q, q - Z95 * qse, q + Z95 * qse),
        networks=budget.profile_networks, batch=budget.profile_batch)


# ---------------------------------------------------------------- sparsity

#: The constant biases of the sparsity figure (None: no bias), ReLU with He weights.
SPARSITY_BIASES = (None, 0.1, -0.1)
#: The widths of the born-dead panel.
BORN_DEAD_WIDTHS = (2, 3, 4, 6, 8)
#: Depth of the born-dead panel.
BORN_DEAD_DEPTH = 50


@dataclass(frozen=True)
class SparsitySeries:
    """The fraction of units off at layers 1..L for one bias: mean field and Monte Carlo with 95 % bars."""

    label: str
    layers: np.ndarray
    mean_field: np.ndarray
    mc: Band


@dataclass(frozen=True)
class SparsityPanel:
    title: str
    series: tuple[SparsitySeries, ...]
    mc_label: str


@functools.lru_cache(maxsize=None)
def sparsity_panel(budget: Budget = DEFAULT) -> SparsityPanel:
    r"""The fraction of zero activations per layer of a width-``budget.profile_width`` ReLU network with He
    weights, for the biases :data:`SPARSITY_BIASES`: mean field :math:`P(v_l \le 0) = \Phi(-\mu_b/s_l)`
    (:func:`analytic.theory.profile.layer_profile`, exact given :math:`s_l`) against the simulated fraction of
    (input, unit) pairs with :math:`\varphi'(v) = 0` (:func:`analytic.mc.simulate_wide`)."""
    from ..mc import simulate_wide
    from ..theory.profile import layer_profile

    n, L = budget.profile_width, budget.profile_depth
    series = []
    for b in SPARSITY_BIASES:
        mf = layer_profile("relu", 2.0, L, bias_mean=0.0 if b is None else b)
        sim = simulate_wide("relu", L, n, f"he({n})", bias=None if b is None else f"constant({b!r})",
                            batch=budget.profile_batch, networks=budget.profile_networks, seed=budget.seed)
        v, se = np.array(sim.zero_dphi_fraction[1:]), np.array(sim.zero_dphi_fraction_stderr[1:])
        layers = np.arange(1, L + 1)
        label = "no bias" if b is None else f"bias $b = {b:+g}$"
        series.append(SparsitySeries(label, layers, np.array(mf.off[1:]), Band(layers, v, v - Z95 * se,
                                                                                 v + Z95 * se)))
    return SparsityPanel(f"ReLU, width {n}, He weights: units off per layer", tuple(series),
                         f"Monte Carlo: {budget.profile_networks} networks × {budget.profile_batch} inputs,"
                         "\n95 % bars")


@dataclass(frozen=True)
class BornDeadSeries:
    width: int
    depth: np.ndarray
    exact: np.ndarray
    mc: Band


@dataclass(frozen=True)
class BornDeadPanel:
    title: str
    series: tuple[BornDeadSeries, ...]
    mc_label: str


@functools.lru_cache(maxsize=None)
def born_dead_panel(budget: Budget = DEFAULT) -> BornDeadPanel:
    r"""The probability that a narrow ReLU network (no bias, He weights) is alive for a given input after L
    layers: exact :math:`(1 - 2^{-n})^L` against ``budget.born_dead_samples`` simulated networks per width,
    Monte Carlo at every fifth depth with 95 % bars."""
    from ..mc import simulate_born_dead
    from ..theory.profile import born_alive_probability

    depth = np.arange(0, BORN_DEAD_DEPTH + 1)
    series = []
    for i, n in enumerate(BORN_DEAD_WIDTHS):
        exact = np.array([born_alive_probability(n, int(L)) for L in depth])
        sim = simulate_born_dead(n, BORN_DEAD_DEPTH, budget.born_dead_samples, seed=budget.seed + i)
        at = np.arange(5, BORN_DEAD_DEPTH + 1, 5)
        v, se = np.array(sim.alive)[at - 1], np.array(sim.stderr)[at - 1]
        series.append(BornDeadSeries(n, depth, exact, Band(at, v, v - Z95 * se, v + Z95 * se)))
    return BornDeadPanel("Narrow ReLU nets born dead", tuple(series),
                         f"Monte Carlo, {budget.born_dead_samples:,} networks\nper width, 95 % bars")
