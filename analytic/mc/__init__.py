r"""Monte Carlo simulation of back-propagated gradients, with standard errors.

* :func:`simulate_chain` (:mod:`analytic.mc.chain`) — the **chain** (the textbook model): :math:`N` independent
  chains of :math:`r` layers of one neuron and the exact back-propagated gradient
  :math:`\partial y_r/\partial y_0 = \prod_t w_t \varphi'(v_t)`; with ``preact`` given, the **independence
  model** (:math:`v_t` drawn independently of the weights). :func:`chain_log_products` returns the per-chain
  products for histograms.
* :func:`simulate_wide` (:mod:`analytic.mc.wide`) — a width-:math:`n` MLP, real back-propagation with matrix
  products for a batch, per-layer :math:`\|\partial L/\partial y_l\|^2`.
* :func:`simulate_born_dead` (:mod:`analytic.mc.born_dead`) — narrow ReLU networks born dead, layer by layer.
* :mod:`analytic.mc.stats` — the streaming statistics (:class:`Stat`, :class:`ScaledStat`, block merges, the
  median); :mod:`analytic.mc.results` — :class:`ChainSimulation`, :class:`WideSimulation`.

The comparison with the analytic values (z-scores, verdicts, the ``simulate`` command) is
:mod:`analytic.compare`. Every simulation is seeded and reproducible, whatever the chunk size and the number of
threads.

>>> s = simulate_chain("sigmoid", 10, "normal(1, 0.5)", samples=1000, seed=1)
>>> s.mean.value > 0, s.zero_fraction.value
(True, 0.0)
"""
from __future__ import annotations

from .born_dead import BornDead, simulate_born_dead
from .chain import chain_log_products, default_threads, simulate_chain
from .results import ChainSimulation, WideSimulation
from .stats import ScaledStat, Stat
from .wide import simulate_wide

__all__ = ["BornDead", "ChainSimulation", "ScaledStat", "Stat", "WideSimulation", "chain_log_products", "default_threads",
           "simulate_born_dead", "simulate_chain", "simulate_wide"]
