r"""What the simulations return: :class:`ChainSimulation` (the chain, width 1) and :class:`WideSimulation` (a
width-:math:`n` network), frozen, with ``as_dict`` for JSON.

A chain simulation speaks the shared vocabulary of :mod:`analytic.quantities`: ``sim[q]`` for ``q`` in
:data:`~analytic.quantities.NAMES` is the simulated estimate of that quantity, so a comparison reads
``analytic[q]`` against ``sim[q]``.

>>> from analytic.mc import simulate_chain
>>> s = simulate_chain("identity", 2, "constant(-2)", samples=4)
>>> round(s["mean"].value, 12), s["zero_probability"].value
(4.0, 0.0)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ..core.display import displayable, html_table
from .stats import ScaledStat, Stat

@displayable(title=lambda s: f"Monte Carlo of {s.act}: {s.model}, depth {s.depth}, {s.samples} chains",
             name=lambda s: "MonteCarloChain" if s.preact is None else "MonteCarloIndependence",
             headline=("act", "depth", "samples", ("mean", lambda s: s.mean.value),
                       ("stderr", lambda s: s.mean.stderr)))
@dataclass(frozen=True)
class ChainSimulation:
    r"""Statistics of :math:`\prod_{t=1}^r w_t\varphi'(v_t)` over ``samples`` chains.

    ``mean``, ``mean_abs``, ``mean_square`` are sample means over all finite chains (zeros included);
    ``log_mean`` is :math:`E[\log|\prod|]` over the non-zero products, ``log_std`` the standard deviation of
    :math:`\log|\prod|` there; ``median_abs`` is the sample median of :math:`|\prod|` (zeros included) over the
    finite ones (``median_samples`` of them) among the first :data:`MEDIAN_KEEP` chains, with the standard error
    from the distribution-free order-statistic interval (ranks :math:`n/2 \pm \sqrt n/2`, about 68 %, halved);
    ``zero_fraction`` counts exactly-zero products (dead ReLU paths, :math:`w_t = 0`); ``ess`` is the effective
    sample size :math:`(\sum|g|)^2/\sum g^2` of the mean (and ``ess_square`` :math:`(\sum g^2)^2/\sum g^4` of the
    mean square; ``ess_log`` :math:`(\sum d^2)^2/\sum d^4` of the deviations of :math:`\log|\prod|` from their mean,
    for ``log_mean``) — far below ``samples``, a few chains carry the mean and its standard error is unreliable;
    ``nonfinite`` counts chains whose forward pass overflowed or whose :math:`\log|\varphi'(v)|` could not be
    resolved (``unresolved`` of them), left out of every statistic.

    ``framework_underflow`` (``"float64"``, ``"float32"``) is what a framework would see, not the chain: the
    fraction of chains whose product is not 0 but becomes exactly 0 when multiplied naively, layer by layer, in
    that float type (φ′ evaluated in it too), with its binomial standard error. The simulation itself keeps
    :math:`\log|\varphi'|` where the float φ′ underflows, so ``zero_fraction`` counts true zeros only.
    """

    act: str
    depth: int
    weights: str
    bias: str | None
    preact: str | None
    x: float
    samples: int
    seed: int
    params: dict
    mean: ScaledStat
    mean_abs: ScaledStat
    mean_square: ScaledStat
    log_mean: Stat
    log_std: float
    median_abs: Stat
    log_median_abs: Stat
    median_samples: int
    zero_fraction: Stat
    ess: float
    nonfinite: int
    ess_square: float = math.nan
    framework_underflow: dict = field(default_factory=dict)
    ess_log: float = math.nan
    unresolved: int = 0
    architecture: Any = None  # the Architecture record of a residual or recurrent chain; None for the plain chain

    @property
    def model(self) -> str:
        return "independence" if self.preact else "exact chain"

    def __getitem__(self, name: str) -> ScaledStat | Stat:
        r"""The estimate of the quantity ``name`` (:data:`analytic.quantities.NAMES`): a :class:`ScaledStat` for
        the moments, a :class:`Stat` for ``log_mean`` and ``zero_probability`` (:math:`P(\prod = 0)`, the
        fraction of exact zeros)."""
        return self.quantities()[name]

    def quantities(self) -> dict[str, ScaledStat | Stat]:
        """Every quantity of :data:`analytic.quantities.NAMES`, by name."""
        return {"mean": self.mean, "mean_abs": self.mean_abs, "mean_square": self.mean_square,
                "log_mean": self.log_mean, "zero_probability": self.zero_fraction}

    def as_dict(self) -> dict:
        return {
            "act": self.act, "depth": self.depth, "weights": self.weights, "bias": self.bias,
            "preact": self.preact, "x": self.x, "samples": self.samples, "seed": self.seed, "params": self.params,
            "model": self.model,
            "mean": self.mean.value, "stderr": self.mean.stderr,
            "mean_abs": self.mean_abs.value, "mean_abs_stderr": self.mean_abs.stderr,
            "mean_square": self.mean_square.value, "mean_square_stderr": self.mean_square.stderr,
            "log_abs_mean": self.mean.log_abs, "mean_sign": self.mean.sign, "log_stderr": self.mean.log_stderr,
            "log_mean_abs": self.mean_abs.log_abs, "log_mean_abs_stderr": self.mean_abs.log_stderr,
            "log_mean_square": self.mean_square.log_abs, "log_mean_square_stderr": self.mean_square.log_stderr,
            "log_mean": self.log_mean.value, "log_mean_stderr": self.log_mean.stderr, "log_std": self.log_std,
            "median_abs": self.median_abs.value, "median_abs_stderr": self.median_abs.stderr,
            "log_median_abs": self.log_median_abs.value, "log_median_abs_stderr": self.log_median_abs.stderr,
            "median_samples": self.median_samples,
            "zero_fraction": self.zero_fraction.value, "zero_fraction_stderr": self.zero_fraction.stderr,
            "ess": self.ess, "ess_square": self.ess_square, "nonfinite": self.nonfinite,
            "unresolved": self.unresolved, "ess_log": self.ess_log,
            "framework_underflow": {k: v.value for k, v in self.framework_underflow.items()},
            "framework_underflow_stderr": {k: v.stderr for k, v in self.framework_underflow.items()},
            **({} if self.architecture is None else {"architecture": self.architecture.to_json()}),
        }


def _layer_rows(s: "WideSimulation") -> list[dict]:
    """One record per layer l = 0..L: the per-layer profile (see :data:`LAYER_COLUMNS`)."""
    return [{"layer": l, "log_mean_norm2": s.log_mean_norm2[l], "mean_log_norm2": s.mean_log_norm2[l].value,
             "mean_log_norm2_stderr": s.mean_log_norm2[l].stderr, "q": s.q[l],
             "dead_unit_fraction": s.dead_unit_fraction[l], "zero_dphi_fraction": s.zero_dphi_fraction[l]}
            for l in range(len(s.log_mean_norm2))]


#: The columns of :meth:`WideSimulation.to_frame`, one row per layer.
LAYER_COLUMNS = ("layer", "log_mean_norm2", "mean_log_norm2", "mean_log_norm2_stderr", "q", "dead_unit_fraction",
                 "zero_dphi_fraction")


@displayable(title=lambda s: f"Monte Carlo of a width-{s.width} {s.act} network, depth {s.depth} "
                             f"(slope of ln mean ||g||^2 per layer: {s.slope.value:.4g} ± {s.slope.stderr:.2g})",
             name="MonteCarloWideNetwork",
             headline=("act", "depth", "width", "sigma_w2", ("slope", lambda s: s.slope.value)),
             summary=lambda s: {"model": f"Monte Carlo of a width-{s.width} network", "act": s.act,
                                "depth": s.depth, "width": s.width, "weights": s.weights, "sigma_w2": s.sigma_w2,
                                "sigma_b2": s.sigma_b2, "networks": s.networks, "batch": s.batch, "seed": s.seed,
                                "slope": s.slope.value, "slope_stderr": s.slope.stderr,
                                "slope_log": s.slope_log.value, "slope_log_stderr": s.slope_log.stderr,
                                "dead_inputs": s.dead_inputs},
             rows=_layer_rows,
             extra_html=lambda s: html_table([[r[c] for c in LAYER_COLUMNS] for r in _layer_rows(s)], LAYER_COLUMNS))
@dataclass(frozen=True)
class WideSimulation:
    r"""Per-layer gradient norms of a width-:math:`n` MLP, over ``networks`` independent weight draws.

    Layer :math:`l = 0..L` (0 = input, :math:`L` = output); :math:`g_l = \partial L/\partial y_l` with
    :math:`L = \langle u, y_L\rangle`, :math:`u \sim N(0, I_n)` drawn per input, so :math:`g_L = u`.
    ``log_mean_norm2[l]`` is :math:`\log` of the mean of :math:`\|g_l\|^2` over all inputs and networks — the
    **per-layer profile** of the gradient (Glorot & Bengio 2010), which mean field predicts as
    :math:`\log n + \sum_{k > l}\ln\chi_k` (:func:`analytic.theory.profile.layer_profile`) — and
    ``log_mean_norm2_stderr[l]`` its jackknife standard error over the networks (the independent units; inputs
    of one network share its weights);
    ``mean_log_norm2[l]`` the mean of :math:`\log\|g_l\|^2` over the inputs whose gradient reaches the input
    (:math:`g_0 \ne 0`; ``dead_inputs`` counts the others) with its standard error across networks;
    ``slope`` is the least-squares slope of ``log_mean_norm2`` against the number of layers back-propagated
    through, :math:`d = L - l`, over :math:`l \ge` ``burn_in`` (mean field: :math:`\ln\chi_1`), with a jackknife
    standard error over networks; ``slope_log`` the same for ``mean_log_norm2`` (the typical rate), with the
    standard error of the per-network slopes. ``q[l]`` is the mean :math:`v_l^2` (the length map);
    ``dead_unit_fraction[l]`` the fraction of units with :math:`\varphi'(v) = 0` for every input of the batch,
    ``zero_dphi_fraction[l]`` the fraction of (input, unit) pairs with :math:`\varphi'(v) = 0` (both averaged
    over networks; index 0 is unused and 0). ``q_stderr`` and ``zero_dphi_fraction_stderr`` are the standard
    errors of ``q`` and ``zero_dphi_fraction`` across networks (sd of the per-network values over
    :math:`\sqrt{K}`).

    **Per-layer profile** (fields, one entry per layer :math:`l = 0..L`): ``log_mean_norm2``,
    ``mean_log_norm2``, ``q``, ``dead_unit_fraction``, ``zero_dphi_fraction``. ``to_frame()`` gives them as a
    DataFrame with one row per layer and the columns :data:`LAYER_COLUMNS` (``mean_log_norm2`` split into value
    and ``mean_log_norm2_stderr``); the HTML display shows the headline numbers and the same per-layer table.
    """

    act: str
    depth: int
    width: int
    weights: str
    bias: str | None
    batch: int
    networks: int
    seed: int
    params: dict
    sigma_w2: float
    sigma_b2: float
    weight_mean: float
    burn_in: int
    log_mean_norm2: tuple[float, ...]
    mean_log_norm2: tuple[Stat, ...]
    q: tuple[float, ...]
    dead_unit_fraction: tuple[float, ...]
    zero_dphi_fraction: tuple[float, ...]
    slope: Stat
    slope_log: Stat
    nonfinite: int
    dead_inputs: int = 0
    log_mean_norm2_stderr: tuple[float, ...] = ()
    q_stderr: tuple[float, ...] = ()
    zero_dphi_fraction_stderr: tuple[float, ...] = ()

    def as_dict(self) -> dict:
        return {
            "act": self.act, "depth": self.depth, "width": self.width, "weights": self.weights, "bias": self.bias,
            "batch": self.batch, "networks": self.networks, "seed": self.seed, "params": self.params,
            "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2, "weight_mean": self.weight_mean,
            "burn_in": self.burn_in,
            "log_mean_norm2": list(self.log_mean_norm2),
            "mean_log_norm2": [s.value for s in self.mean_log_norm2],
            "mean_log_norm2_stderr": [s.stderr for s in self.mean_log_norm2],
            "q": list(self.q), "dead_unit_fraction": list(self.dead_unit_fraction),
            "zero_dphi_fraction": list(self.zero_dphi_fraction),
            "slope": self.slope.value, "slope_stderr": self.slope.stderr,
            "slope_log": self.slope_log.value, "slope_log_stderr": self.slope_log.stderr,
            "nonfinite": self.nonfinite, "dead_inputs": self.dead_inputs,
            "log_mean_norm2_stderr": list(self.log_mean_norm2_stderr), "q_stderr": list(self.q_stderr),
            "zero_dphi_fraction_stderr": list(self.zero_dphi_fraction_stderr),
        }

