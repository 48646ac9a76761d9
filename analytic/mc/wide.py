r"""Monte Carlo of a width-:math:`n` MLP: real back-propagation with matrix products for a batch of inputs.

Per-layer :math:`\|\partial L/\partial y_l\|^2` over ``networks`` independent weight draws; its growth rate per
layer (the least-squares slope against the number of layers back-propagated through) is what mean-field theory
predicts as :math:`\ln\chi_1`. Networks run on a thread pool with single-threaded BLAS and are merged in network
order, so the numbers do not depend on ``threads``.

>>> w = simulate_wide("relu", depth=6, width=64, weights="he(64)", batch=8, networks=4, seed=0)
>>> len(w.log_mean_norm2)
7
"""
from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

from ..core.calculus import numpy_pair, resolve
from ..core.registry import BoundActivation
from ..distributions import Distribution, distribution, scalar
from ..errors import SimulationError, canonical_int
from ..limits import check_array
from .chain import MAX_DEPTH, seed_sequence, spec, thread_count
from .results import WideSimulation
from .stats import Stat, logsumexp

#: Largest batch of inputs, number of independent networks and width of a wide simulation.
MAX_BATCH, MAX_NETWORKS, MAX_WIDTH = 10**6, 10**4, 10**6
#: Largest depth × batch × width held by :func:`simulate_wide` (φ′ of every layer is kept for back-propagation).
MAX_WIDE_ELEMENTS = 2**24
#: Largest depth × width² of weights kept per network for the backward pass (more: drawn again from their streams).
MAX_WIDE_KEPT = 2**22
#: Largest depth × batch × width² × networks (multiply-adds) accepted by :func:`simulate_wide`.
MAX_WIDE_WORK = 2 * 10**11


@dataclass(frozen=True)
class _WideSetup:
    """A validated wide simulation: the network's shape, its laws, :math:`\\sigma_w^2`, :math:`\\sigma_b^2`."""

    act: BoundActivation
    depth: int
    width: int
    batch: int
    networks: int
    burn_in: int
    weights: Distribution
    bias: Distribution | None
    weight_mean: float
    sigma_w2: float
    sigma_b2: float
    pair: Callable
    seq: np.random.SeedSequence
    threads: int


def _wide_setup(act, depth, width, weights, bias, batch, seed, params, networks, burn_in, threads) -> _WideSetup:
    """Validate the request (sizes, memory and time limits) and resolve the activation and the laws."""
    a = resolve(act, params)
    depth = canonical_int("depth", depth, 1, MAX_DEPTH, SimulationError)
    width = canonical_int("width", width, 1, MAX_WIDTH, SimulationError)
    batch = canonical_int("batch", batch, 1, MAX_BATCH, SimulationError)
    networks = canonical_int("networks", networks, 2, MAX_NETWORKS, SimulationError)
    if burn_in is not None:
        burn_in = canonical_int("burn_in", burn_in, 0, depth - 1, SimulationError)
    burn_in = min(10, depth // 3) if burn_in is None else burn_in
    if depth - burn_in < 1:
        raise SimulationError("the slope needs at least two layers after the burn-in")
    if depth * batch * width > MAX_WIDE_ELEMENTS:
        raise SimulationError(f"depth x batch x width = {depth * batch * width:.3g} exceeds {MAX_WIDE_ELEMENTS}"
                              " (memory); use a smaller batch, width or depth")
    check_array("wide network: a weight matrix (width x width)", (width, width))
    if depth * batch * width * width * networks > MAX_WIDE_WORK:
        raise SimulationError(f"depth x batch x width^2 x networks = {depth * batch * width**2 * networks:.3g} "
                              f"exceeds {MAX_WIDE_WORK:.0e} (time); make the network smaller")
    wd = distribution(weights)
    bd = None if bias is None else scalar(distribution(bias), "bias")
    moments = {"mean": 0.0} if wd.MATRIX else wd.moments().floats()
    sigma_w2 = wd.sigma_w2() if wd.MATRIX else width * moments["mean_square"]
    sigma_b2 = bd.moments().floats()["mean_square"] if bd is not None else 0.0
    pair = numpy_pair(a)
    seq = seed_sequence(seed)
    threads = max(1, min(thread_count(threads), networks, MAX_WIDE_ELEMENTS // (depth * batch * width)))
    return _WideSetup(a, depth, width, batch, networks, burn_in, wd, bd, moments["mean"], sigma_w2, sigma_b2,
                      pair, seq, threads)


def simulate_wide(act, depth: int, width: int, weights: str | Distribution, bias: str | Distribution | None = None,
                  batch: int = 64, seed: int = 0, params: dict[str, float] | None = None, networks: int = 8,
                  burn_in: int | None = None, threads: int | None = None) -> WideSimulation:
    r"""Back-propagation through a width-``width`` MLP of ``depth`` layers, ``networks`` independent draws.

    Every weight :math:`W^{(l)}_{ij}` is drawn from ``weights`` **as given** (the spec's own scale: ``he(n)`` is
    :math:`N(0, 2/n)`), every bias from ``bias`` (none by default). For the mean-field comparison choose
    :math:`\mathrm{Var}(w) = \sigma_w^2/n`, e.g. ``"normal(0, sqrt(2/n))"`` written as a number or ``he(n)``;
    ``sigma_w2`` is reported as :math:`n\,E[w^2]`. Inputs :math:`y_0 \sim N(0, I_n)`, forward
    :math:`v_l = W^{(l)} y_{l-1} + b_l`, :math:`y_l = \varphi(v_l)`; loss :math:`L = \langle u, y_L\rangle` with
    :math:`u \sim N(0, I_n)` per input; backward :math:`g_{l-1} = W^{(l)\top}(\varphi'(v_l)\odot g_l)`.
    Norms are carried in log space (renormalised every layer), so deep vanishing does not underflow.
    ``burn_in`` (default :math:`\min(10, \lfloor L/3\rfloor)`) layers next to the input, where the length
    :math:`q_l` is still approaching its fixed point, are left out of the slope fit.

    The per-layer profile of the gradient is ``result.log_mean_norm2`` (:math:`\log` of the mean
    :math:`\|g_l\|^2` at layer :math:`l = 0..L`) with ``result.log_mean_norm2_stderr``; its forward twin is
    ``result.q`` (the mean :math:`v_l^2`) with ``result.q_stderr`` (see
    :class:`~analytic.mc.results.WideSimulation`).
    """
    s = _wide_setup(act, depth, width, weights, bias, batch, seed, params, networks, burn_in, threads)
    sums, mlog, q, dead, zero, nonfinite, dead_inputs, per_q, per_zero = _run_networks(s)
    if nonfinite:
        raise SimulationError(f"the forward pass overflowed in {nonfinite} of {s.networks} networks; "
                              "use smaller weights")
    log_mean, slope, slope_log, mean_log = _fit(s, sums, mlog)
    root_k = math.sqrt(s.networks)
    return WideSimulation(
        act=s.act.name, depth=s.depth, width=s.width, weights=s.weights.spec, bias=spec(s.bias), batch=s.batch,
        networks=s.networks, seed=int(seed), params=s.act.given, sigma_w2=s.sigma_w2, sigma_b2=s.sigma_b2,
        weight_mean=s.weight_mean, burn_in=s.burn_in,
        log_mean_norm2=tuple(float(v) for v in log_mean), mean_log_norm2=mean_log,
        q=tuple(float(v) for v in q), dead_unit_fraction=tuple(float(v) for v in dead),
        zero_dphi_fraction=tuple(float(v) for v in zero), slope=slope, slope_log=slope_log,
        nonfinite=nonfinite, dead_inputs=dead_inputs,
        log_mean_norm2_stderr=tuple(float(v) for v in _jackknife_log_mean(sums, s.batch)),
        q_stderr=tuple(float(v) for v in per_q.std(axis=0, ddof=1) / root_k),
        zero_dphi_fraction_stderr=tuple(float(v) for v in per_zero.std(axis=0, ddof=1) / root_k))


def _run_networks(s: _WideSetup) -> tuple:
    """Run the ``s.networks`` networks (each with its own stream, on ``s.threads`` threads, merged in network
    order): per network the log sum and the mean log of :math:`\\|g_l\\|^2` over the batch; :math:`q_l`, the
    dead-unit and zero-derivative fractions averaged over networks; broken networks; inputs whose gradient died;
    :math:`q_l` and the zero-derivative fraction of each network (rows), for their standard errors."""
    L, networks = s.depth, s.networks
    sums = np.empty((networks, L + 1))      # log sum over the batch of ||g_l||^2, per network
    mlog = np.empty((networks, L + 1))      # mean over the batch of log ||g_l||^2, per network
    q, dead, zero = np.zeros(L + 1), np.zeros(L + 1), np.zeros(L + 1)
    per_q, per_zero = np.empty((networks, L + 1)), np.empty((networks, L + 1))
    nonfinite = dead_inputs = 0
    # single-threaded BLAS (pinned, so the pool and BLAS threads do not oversubscribe the cores, and every product
    # is computed the same way whatever the thread count)
    run = functools.partial(_wide_network, L=L, batch=s.batch, width=s.width, wd=s.weights, bd=s.bias,
                            pair=s.pair)
    with threadpool_limits(limits=1, user_api="blas"):
        if s.threads == 1:
            results = map(run, s.seq.spawn(networks))
        else:
            pool = ThreadPoolExecutor(max_workers=s.threads)
            results = pool.map(run, s.seq.spawn(networks))
        try:
            for k, (sums[k], mlog[k], qk, deadk, zerok, broken, lost) in enumerate(results):
                for l in range(L + 1):  # the same additions, in the same order, as one network at a time
                    q[l] += qk[l] / networks
                    dead[l] += deadk[l] / networks
                    zero[l] += zerok[l] / networks
                per_q[k], per_zero[k] = qk, zerok
                nonfinite += broken
                dead_inputs += lost
        finally:
            if s.threads > 1:
                pool.shutdown()
    return sums, mlog, q, dead, zero, nonfinite, dead_inputs, per_q, per_zero


def _jackknife_log_mean(sums: np.ndarray, batch: int) -> np.ndarray:
    r"""The jackknife standard error over the :math:`K` networks of ``log_mean_norm2`` at every layer: with
    :math:`\hat\theta_{(j)}` the log mean with network j left out,
    :math:`\mathrm{se}^2 = \tfrac{K-1}{K}\sum_j (\hat\theta_{(j)} - \bar\theta)^2` (:math:`K - 1` degrees of
    freedom; to first order sd of the per-network means over :math:`\sqrt K` times their mean)."""
    K = sums.shape[0]
    with np.errstate(invalid="ignore"):  # a layer where every gradient is 0 has no error (nan)
        loo = np.array([logsumexp(np.delete(sums, j, axis=0), axis=0) for j in range(K)]) - math.log((K - 1) * batch)
        return np.sqrt((K - 1) / K * ((loo - loo.mean(axis=0)) ** 2).sum(axis=0))


def _fit(s: _WideSetup, sums: np.ndarray, mlog: np.ndarray) -> tuple:
    r"""``log_mean_norm2`` per layer; its slope against :math:`d = L - l` over :math:`l \ge` burn-in with a
    jackknife standard error over networks (:math:`K` networks, slopes :math:`\hat s_{(j)}` with network j left
    out: :math:`\mathrm{se}^2 = \tfrac{K-1}{K}\sum_j (\hat s_{(j)} - \bar s)^2`, which has :math:`K - 1` degrees of
    freedom); the mean of the per-network slopes of the mean log norm (networks
    with an input alive through every layer) with its standard error; the mean log norm per layer."""
    L, networks, batch = s.depth, s.networks, s.batch
    log_mean = logsumexp(sums, axis=0) - math.log(networks * batch)
    dist_ = L - np.arange(L + 1)                     # layers back-propagated through
    fit = slice(s.burn_in, L + 1)
    slope = _slope(dist_[fit], log_mean[fit])
    jack = np.array([_slope(dist_[fit], (logsumexp(np.delete(sums, j, axis=0), axis=0)
                                         - math.log((networks - 1) * batch))[fit]) for j in range(networks)])
    slope_se = math.sqrt((networks - 1) / networks * float(((jack - jack.mean()) ** 2).sum()))
    ok = np.isfinite(mlog).all(axis=1)  # networks with at least one input alive through every layer
    per_net = np.array([_slope(dist_[fit], mlog[j][fit]) for j in np.flatnonzero(ok)])
    k_ok = int(ok.sum())
    if k_ok >= 2:
        mean_log = tuple(Stat(float(m), float(sd)) for m, sd in
                         zip(mlog[ok].mean(axis=0), mlog[ok].std(axis=0, ddof=1) / math.sqrt(k_ok)))
    else:  # one network or none with a live input: no mean (none) or no standard error (one), and no warning
        mean_log = tuple(Stat(float(m) if k_ok else math.nan, math.nan) for m in
                         (mlog[ok][0] if k_ok else np.full(L + 1, math.nan)))
    slope_log = Stat(float(per_net.mean()) if len(per_net) else math.nan,
                     float(per_net.std(ddof=1) / math.sqrt(len(per_net))) if len(per_net) > 1 else math.nan)
    return log_mean, Stat(slope, slope_se), slope_log, mean_log


def _wide_network(child: np.random.SeedSequence, L: int, batch: int, width: int, wd: Distribution,
                  bd: Distribution | None, pair) -> tuple:
    """One network of :func:`simulate_wide`: (log sum over the batch of ||g_l||^2, mean of log ||g_l||^2 over
    the inputs whose gradient reaches the input layer, q_l, dead-unit and zero-derivative fractions per layer,
    forward pass non-finite, inputs whose gradient died)."""
    q, dead, zero = [0.0] * (L + 1), [0.0] * (L + 1), [0.0] * (L + 1)
    layer_seeds = child.spawn(L + 1)
    rin = np.random.default_rng(layer_seeds[0])
    y = rin.standard_normal((batch, width))
    u = rin.standard_normal((batch, width))
    q[0] = float(np.mean(y * y))
    D = np.empty((L, batch, width))
    kept = [] if L * width * width <= MAX_WIDE_KEPT else None  # the weights, for the backward pass
    for l in range(1, L + 1):
        rl = np.random.default_rng(layer_seeds[l])
        W = wd.sample(rl, (width, width))
        if kept is not None:
            kept.append(W)
        v = y @ W.T
        if bd is not None:
            v += bd.sample(rl, width)
        q[l] = float(np.mean(v * v))
        y, D[l - 1] = pair(v)
        zmask = D[l - 1] == 0
        dead[l] = float(zmask.all(axis=0).mean())
        zero[l] = float(zmask.mean())
    broken = int(not (np.isfinite(y).all() and np.isfinite(D).all()))
    g = u
    acc = np.zeros(batch)
    lognorm = np.empty((L + 1, batch))
    for l in range(L, -1, -1):
        n2 = np.einsum("ij,ij->i", g, g)
        with np.errstate(divide="ignore", invalid="ignore"):
            lognorm[l] = acc + np.log(n2)
        g = g / np.where(n2 > 0, np.sqrt(n2), 1.0)[:, None]  # unit norm; the scale lives in acc
        acc = lognorm[l]
        if l == 0:
            break
        W = (kept[l - 1] if kept is not None  # or the forward pass's draw again, from its stream
             else wd.sample(np.random.default_rng(layer_seeds[l]), (width, width)))
        g = (D[l - 1] * g) @ W
    alive = np.isfinite(lognorm[0])  # g_0 = 0 exactly when some layer had phi' = 0 on every unit
    mean_log = lognorm[:, alive].mean(axis=1) if alive.any() else np.full(L + 1, np.nan)
    return logsumexp(lognorm, axis=1), mean_log, q, dead, zero, broken, int(batch - alive.sum())


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    """The least-squares slope of ``y`` against ``x`` (nan when some ``y`` is not finite)."""
    if not np.all(np.isfinite(y)):
        return math.nan
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())
