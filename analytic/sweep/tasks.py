r"""One sweep task: the analytic and the simulated columns of one row of the table.

A task at :math:`(\varphi, \sigma_w^2, \sigma_b^2, L, n)`:

* the chain (:math:`n = 1`): weights :math:`w_t \sim N(0, \sigma_w^2)`, bias :math:`b_t \sim N(0, \sigma_b^2)` (none
  when :math:`\sigma_b^2 = 0`), input :math:`x = 1`; simulated exactly (:func:`analytic.mc.simulate_chain`);
* the wide network (:math:`n > 1`): :math:`W_{ij} \sim N(0, \sigma_w^2/n)`, the same bias
  (:func:`analytic.mc.simulate_wide`);
* analytic: the mean-field fixed point :math:`q^*`, :math:`\chi_1 = \sigma_w^2 E[\varphi'(\sqrt{q^*} z)^2]`,
  :math:`L \ln\chi_1` (mean field: :math:`\ln E\|g_0\|^2 - \ln E\|g_L\|^2 \approx L \ln \chi_1`), and the
  independence-approximation logs of the chain's gradient product :math:`\prod_t w_t \varphi'(v_t)` with
  pre-activations :math:`v \sim N(0, 1)` (:func:`analytic.theory.independence.independence_product`).

The heatmap quantity ``log_grad`` is a mean of the natural log of a squared gradient at depth :math:`L`
(the typical size, not the log of the mean): for the chain
:math:`E \ln \prod_t (w_t \varphi'(v_t))^2 = 2 E\ln|\prod|` over the chains whose product is not exactly 0 (the
fraction of zeros is ``mc_zero_fraction``), with its standard error; for the wide net
:math:`E \ln\|\partial \mathcal L/\partial y_0\|^2 - E \ln\|\partial \mathcal L/\partial y_L\|^2` (means over inputs
and networks), with the two standard errors added in quadrature. Its analytic companions are ``2 log_typical``
(chain, independence approximation) and ``log_chi1_depth`` (mean field).
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..errors import AnalyticError
from ..core.files import json_safe
from ..quantities import STANDARD_NORMAL, exp_or_inf
from .spec import Task

#: Pre-activation distribution of the independence-approximation columns.
PREACT = STANDARD_NORMAL
#: Input of the chain.
CHAIN_INPUT = 1.0

#: Columns of the table, in order (CSV header; keys of every JSON row). Logs are natural logs; ``_stderr`` of a
#: log is the delta-method standard error (standard error / value).
COLUMNS: tuple[str, ...] = (
    # the task
    "index", "activation", "sigma_w2", "sigma_b2", "depth", "width", "samples", "networks", "weights", "bias",
    "seed_entropy", "seed_spawn_key", "seed",
    # analytic: mean field, and the independence approximation of the chain with v ~ PREACT
    # (GradientProduct's names: log_mean_abs = ln|E prod| with sign mean_sign, log_bound >= ln E|prod|)
    "q_star", "chi1", "depth_scale", "log_chi1_depth",
    "log_bound", "log_mean_abs", "mean_sign", "log_mean_square", "log_typical",
    # simulated: the heatmap quantity (mean log squared gradient at depth L) and its standard error
    "log_grad", "log_grad_stderr",
    # simulated, chain only (width 1)
    # (mc_log_abs_mean = ln|E prod|, the twin of log_mean_abs; mc_log_mean_of_abs = ln E|prod|)
    "mc_mean", "mc_mean_stderr", "mc_log_abs_mean", "mc_mean_sign",
    "mc_log_mean_of_abs", "mc_log_mean_of_abs_stderr", "mc_log_mean_square", "mc_log_mean_square_stderr",
    "mc_log_median_abs", "mc_log_median_abs_stderr", "mc_log_mean", "mc_log_mean_stderr", "mc_zero_fraction",
    # simulated, wide network only (width > 1)
    "mc_log_norm2_ratio", "mc_slope", "mc_slope_stderr", "mc_slope_log", "mc_slope_log_stderr",
    "mc_dead_fraction",
    # what could not be computed, and why
    "notes",
)


def _analytic(task: Task) -> dict[str, Any]:
    """The analytic columns of one task (:mod:`analytic.theory.gaussian`). A part that raises an
    :class:`~analytic.errors.AnalyticError` (no fixed point, time budget exceeded, …) is left empty and its
    message goes to the ``notes`` column; the simulation still runs."""
    from ..theory.independence import independence_product
    from ..theory.meanfield import mean_field

    out: dict[str, Any] = {}
    notes = []
    try:
        mf = mean_field(task.activation, task.sigma_w2, task.sigma_b2)
        chi1 = float(mf.chi1)
        out.update(q_star=float(mf.q_star), chi1=chi1, depth_scale=float(mf.depth_scale),
                   log_chi1_depth=task.depth * math.log(chi1) if chi1 > 0 else -math.inf)
    except AnalyticError as exc:
        notes.append(f"mean field: {exc}")
    try:
        g = independence_product(task.activation, task.depth, task.chain_weights, preact=PREACT)
        out.update(log_bound=float(g.log_bound), log_mean_abs=float(g.log_mean_abs), mean_sign=int(g.mean_sign),
                   log_mean_square=float(g.log_mean_square), log_typical=float(g.log_typical))
    except AnalyticError as exc:
        notes.append(f"gradient product: {exc}")
    out["notes"] = "; ".join(notes) or None
    return out


def _log_stat(stat: Any) -> tuple[float, float]:
    """(ln of a mean, its delta-method standard error) from a montecarlo ``ScaledStat`` (positive mean)."""
    if not stat.sign:
        return -math.inf, math.nan
    relative = float(stat.log_stderr) - float(stat.log_abs)
    return float(stat.log_abs), math.nan if math.isnan(relative) else exp_or_inf(relative)


def _simulated(task: Task) -> dict[str, Any]:
    """The Monte Carlo columns of one task (:mod:`analytic.mc`)."""
    from ..mc import simulate_chain, simulate_wide

    out: dict[str, Any] = {}
    if task.width == 1:  # one thread per task: the sweep runs tasks in parallel (the numbers do not depend on it)
        sim = simulate_chain(task.activation, task.depth, task.weights, samples=task.samples, seed=task.seed,
                             x=CHAIN_INPUT, bias=task.bias, progress=False, threads=1)
        out["mc_mean"], out["mc_mean_stderr"] = float(sim.mean.value), float(sim.mean.stderr)
        out["mc_log_abs_mean"], out["mc_mean_sign"] = float(sim.mean.log_abs), int(sim.mean.sign)
        out["mc_log_mean_of_abs"], out["mc_log_mean_of_abs_stderr"] = _log_stat(sim.mean_abs)
        out["mc_log_mean_square"], out["mc_log_mean_square_stderr"] = _log_stat(sim.mean_square)
        out["mc_log_median_abs"] = float(sim.log_median_abs.value)
        out["mc_log_median_abs_stderr"] = float(sim.log_median_abs.stderr)
        out["mc_log_mean"], out["mc_log_mean_stderr"] = float(sim.log_mean.value), float(sim.log_mean.stderr)
        out["mc_zero_fraction"] = float(sim.zero_fraction.value)
        out["log_grad"], out["log_grad_stderr"] = 2 * out["mc_log_mean"], 2 * out["mc_log_mean_stderr"]
    else:
        sim = simulate_wide(task.activation, task.depth, task.width, task.weights, bias=task.bias,
                            batch=task.batch, seed=task.seed, networks=task.networks, threads=1)
        first, last = sim.mean_log_norm2[0], sim.mean_log_norm2[-1]
        out["log_grad"] = float(first.value) - float(last.value)
        out["log_grad_stderr"] = math.hypot(float(first.stderr), float(last.stderr))
        out["mc_log_norm2_ratio"] = float(sim.log_mean_norm2[0]) - float(sim.log_mean_norm2[-1])
        out["mc_slope"], out["mc_slope_stderr"] = float(sim.slope.value), float(sim.slope.stderr)
        out["mc_slope_log"], out["mc_slope_log_stderr"] = float(sim.slope_log.value), float(sim.slope_log.stderr)
        out["mc_dead_fraction"] = float(sim.dead_unit_fraction[-1])
    return out


def run_task(task: Task) -> dict[str, Any]:
    """Simulate and compute one task; the row of the table (keys :data:`COLUMNS`, JSON-safe values).

    A pure function of the task: the same task gives the same row, bit for bit, in any process.
    """
    ss = task.seed_sequence
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(index=task.index, activation=task.activation, sigma_w2=task.sigma_w2, sigma_b2=task.sigma_b2,
               depth=task.depth, width=task.width, samples=task.samples if task.width == 1 else task.batch,
               networks=None if task.width == 1 else task.networks,
               weights=task.weights, bias=task.bias, seed_entropy=int(ss.entropy),
               seed_spawn_key=list(ss.spawn_key), seed=task.seed)
    with np.errstate(all="ignore"):  # non-finite results are recorded in the row ("-inf", None), not warned about
        row.update(_analytic(task))
        try:
            row.update(_simulated(task))
        except AnalyticError as exc:  # e.g. the forward pass overflowed: the row says so, the sweep goes on
            row["notes"] = "; ".join(filter(None, [row["notes"], f"simulation: {exc}"]))
    return {k: json_safe(row[k]) for k in COLUMNS}
