r"""Monte Carlo of width-:math:`n` MLPs with BatchNorm or LayerNorm: the per-layer growth :math:`\lambda` of the
squared gradient norm, measured on real networks (the twin of :mod:`analytic.theory.normalisation`).

The network: inputs :math:`x_0` (:math:`B \times n`, i.i.d. :math:`N(0, 1)`), :math:`h_l = x_{l-1}W_l^\top`,
:math:`W_l` with i.i.d. :math:`N(0, \sigma_w^2/n)` entries, :math:`z_l = N(h_l)`, :math:`x_l = \varphi(z_l)`;
``norm="batch"`` standardises each unit over the batch (mean 0, biased variance 1, no :math:`\epsilon`, no affine),
``norm="layer"`` each input over the units. Backward from a random direction :math:`g_L` (i.i.d. normal entries,
the gradient of a fixed random linear readout) through

.. math:: \partial L/\partial z = \varphi'(z)\odot g,\quad
          \partial L/\partial h = \bigl(\partial L/\partial z - \overline{\partial L/\partial z}
          - z\,\overline{z\,\partial L/\partial z}\bigr)/s,\quad g_{l-1} = (\partial L/\partial h)\,W_l,

the bars being means along the normalised axis and :math:`s` its standard deviation. Per layer
:math:`R_l = \|g_{l-1}\|^2/\|g_l\|^2` (Frobenius norms over the whole batch; the gradient is renormalised every
layer, so nothing under- or overflows).

Reported, over the layers :math:`l` with ``burn_in`` :math:`< l \le L -` ``burn_in`` (the forward pass reaches its
fixed point near the input, the arbitrary top direction loses its mean component near the output):

* ``rate``: the mean of :math:`R_l` — the growth of the mean squared norm, what mean field calls :math:`\lambda`;
* ``log_rate``: the mean of :math:`\ln R_l` — the slope of :math:`\ln\|g_l\|^2` per layer (the typical growth;
  below :math:`\ln` ``rate`` by about :math:`\mathrm{Var}\,R/(2\lambda^2) = O(1/n)` at finite width).

Each with the standard error of the mean of the per-network averages across the ``networks`` independent networks
(independent streams from one :class:`numpy.random.SeedSequence`). With BatchNorm over a small batch the per-unit
factor :math:`1/s^2` is heavy-tailed (:math:`1/\chi^2_{B-1}`: infinite variance at :math:`B = 4`), so the spread of
the per-network averages is skewed there and needs more networks.

Finite size: ``rate`` differs from the mean-field :math:`\lambda` by :math:`O(1/B + 1/n)` (the linear network's
:math:`\lambda_B - 1 = 1/(B - 3)`; at width 256 the linear network's rate is about :math:`1.2/n` below
:math:`(B-2)/(B-3)`), and deep BatchNorm networks drift at finite width over a depth of the order of :math:`n`
(ReLU, :math:`B = n = 256`, 60 layers: the rate is about 1.46 in layers 5-20 and 1.44 in layers 25-60), so keep
the depth well below the width. BLAS runs on one thread and networks are merged
in order, so the numbers do not depend on ``threads``.

>>> s = simulate_normalised("identity", "batch", batch=8, width=64, depth=8, networks=4, seed=1)
>>> s.depth, len(s.log_norm2)
(8, 9)
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
from ..errors import SimulationError, canonical_float, canonical_int, canonical_text
from ..quantities import LogQuantity
from .chain import seed_sequence, thread_count

#: The normalisations simulated.
NORMS = ("batch", "layer")
#: Largest depth, width, batch and number of networks.
MAX_DEPTH, MAX_WIDTH, MAX_BATCH, MAX_NETWORKS = 10**4, 10**5, 10**5, 10**4
#: Largest memory held at once (bytes): weights kept for the backward pass (or one matrix when they are drawn again)
#: and the per-layer activations, for every network in flight.
MAX_BYTES = 2 * 2**30
#: Largest memory of the weights kept per network (bytes); above it they are drawn again from their streams.
MAX_KEPT = 2**28
#: Largest depth x batch x width^2 x networks (multiply-adds).
MAX_WORK = 2 * 10**11


@dataclass(frozen=True)
class NormalisedSimulation:
    r"""Gradient growth through a width-``width`` network with ``norm`` normalisation, ``networks`` independent
    draws (module docstring). ``log_norm2[l]`` is the mean over networks of :math:`\ln\|g_l\|^2 - \ln\|g_L\|^2`,
    :math:`l = 0..L`; ``rate`` and ``log_rate`` carry their standard error as ``error``."""

    act: str
    norm: str
    batch: int
    width: int
    depth: int
    networks: int
    seed: int
    sigma_w2: float
    burn_in: int
    log_norm2: tuple[float, ...]
    rate: LogQuantity
    log_rate: LogQuantity


@dataclass(frozen=True)
class _Setup:
    norm: str
    batch: int
    width: int
    depth: int
    networks: int
    burn_in: int
    scale: float
    pair: Callable
    seq: np.random.SeedSequence
    threads: int
    keep: bool


def _setup(act, norm, batch, width, depth, networks, seed, params, sigma_w2, burn_in, threads):
    a = resolve(act, params)
    norm = canonical_text("norm", norm, NORMS, SimulationError)
    # BatchNorm removes 2 of B directions per unit: B = 2 leaves no gradient, B = 3 an infinite mean square
    batch = canonical_int("batch", batch, 4 if norm == "batch" else 1, MAX_BATCH, SimulationError)
    width = canonical_int("width", width, 4 if norm == "layer" else 1, MAX_WIDTH, SimulationError)
    depth = canonical_int("depth", depth, 3, MAX_DEPTH, SimulationError)
    networks = canonical_int("networks", networks, 2, MAX_NETWORKS, SimulationError)
    sigma_w2 = canonical_float("sigma_w2", sigma_w2, 0, 1e6, open_low=True, error=SimulationError)
    burn_in = min(5, (depth - 1) // 4) if burn_in is None else burn_in
    burn_in = canonical_int("burn_in", burn_in, 0, (depth - 1) // 2, SimulationError)
    if depth * batch * width * width * networks > MAX_WORK:
        raise SimulationError(f"depth x batch x width^2 x networks = {depth * batch * width**2 * networks:.3g} "
                              f"exceeds {MAX_WORK:.0e} (time); make the network smaller")
    threads = max(1, min(thread_count(threads), networks))
    keep = 8 * depth * width * width <= MAX_KEPT
    need = 8 * threads * (width * width * (depth if keep else 1) + 3 * depth * batch * width)
    if need > MAX_BYTES:
        raise SimulationError(f"the simulation needs {need / 2**30:.3g} GiB (8 bytes per entry of each "
                              f"{width} x {width} weight matrix and of the activations); the limit is "
                              f"{MAX_BYTES / 2**30:g} GiB")
    return _Setup(norm, batch, width, depth, networks, burn_in, math.sqrt(sigma_w2 / width), numpy_pair(a),
                  seed_sequence(seed), threads, keep), a, sigma_w2


def simulate_normalised(act, norm: str = "batch", batch: int = 32, width: int = 256, depth: int = 30,
                        networks: int = 8, seed: int = 0, params: dict[str, float] | None = None,
                        sigma_w2: float = 1.0, burn_in: int | None = None,
                        threads: int | None = None) -> NormalisedSimulation:
    r"""Simulate ``networks`` independent networks (module docstring) and measure the gradient growth per layer.

    ``burn_in`` (default :math:`\min(5, \lfloor (L-1)/4\rfloor)`) layers at each end are left out of ``rate`` and
    ``log_rate``. :math:`\sigma_w^2` does not change the result beyond rounding (the normalisation undoes it).
    """
    s, a, sigma_w2 = _setup(act, norm, batch, width, depth, networks, seed, params, sigma_w2, burn_in, threads)
    run = functools.partial(_network, s=s)
    logs = np.empty((s.networks, s.depth))
    with threadpool_limits(limits=1, user_api="blas"):
        if s.threads == 1:
            results = map(run, s.seq.spawn(s.networks))
            for k, r in enumerate(results):
                logs[k] = r
        else:
            with ThreadPoolExecutor(max_workers=s.threads) as pool:
                for k, r in enumerate(pool.map(run, s.seq.spawn(s.networks))):
                    logs[k] = r
    if not np.isfinite(logs).all():
        raise SimulationError("the gradient norm is not finite in some layer (a unit or input with zero "
                              "variance, or overflow); use a larger batch or width")
    # logs[k, j] = ln R for layer l = j + 1 (from g_{j+1} to g_j)
    fit = slice(s.burn_in, s.depth - s.burn_in)
    per_net_rate = np.exp(logs[:, fit]).mean(axis=1)
    per_net_log = logs[:, fit].mean(axis=1)
    k = s.networks
    rate = LogQuantity.of(float(per_net_rate.mean()), float(per_net_rate.std(ddof=1) / math.sqrt(k)))
    log_rate = LogQuantity.of(float(per_net_log.mean()), float(per_net_log.std(ddof=1) / math.sqrt(k)))
    cum = np.concatenate([np.cumsum(logs[:, ::-1], axis=1)[:, ::-1], np.zeros((k, 1))], axis=1).mean(axis=0)
    return NormalisedSimulation(a.name, s.norm, s.batch, s.width, s.depth, s.networks, int(seed), sigma_w2,
                                s.burn_in, tuple(float(v) for v in cum), rate, log_rate)


def _network(child: np.random.SeedSequence, s: _Setup) -> np.ndarray:
    streams = child.spawn(s.depth + 1)
    r0 = np.random.default_rng(streams[0])
    x = r0.standard_normal((s.batch, s.width))
    top = r0.standard_normal((s.batch, s.width))

    def weights(l: int) -> np.ndarray:  # layer l = 1..depth, always drawn the same way from its stream
        return s.scale * np.random.default_rng(streams[l]).standard_normal((s.width, s.width))

    kept = [weights(l) for l in range(1, s.depth + 1)] if s.keep else None
    return layer_log_ratios(s.pair, s.norm, kept if kept is not None else weights, x, top, s.depth)


def _normalise(h: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    c = h - h.mean(axis=axis, keepdims=True)
    sd = np.sqrt((c * c).mean(axis=axis, keepdims=True))
    with np.errstate(divide="ignore", invalid="ignore"):
        return c / sd, sd


def layer_log_ratios(pair: Callable, norm: str, weights, x: np.ndarray, top: np.ndarray,
                     depth: int | None = None) -> np.ndarray:
    r""":math:`\ln R_l` for :math:`l = 1..L` (index :math:`l - 1`) of one network: ``pair`` maps :math:`z` to
    :math:`(\varphi(z), \varphi'(z))`, ``weights`` is the list :math:`W_1..W_L` (or a function of :math:`l`
    returning :math:`W_l`), ``x`` the :math:`B \times n` inputs, ``top`` the gradient at :math:`x_L`.

    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ws = [rng.standard_normal((16, 16)) / 4 for _ in range(3)]
    >>> pair = lambda z: (z, np.ones_like(z))
    >>> layer_log_ratios(pair, "layer", ws, rng.standard_normal((2, 16)), rng.standard_normal((2, 16))).shape
    (3,)
    """
    axis = 0 if norm == "batch" else 1
    get = weights if callable(weights) else (lambda l: weights[l - 1])
    depth = len(weights) if depth is None else depth
    zs, sds, ds = [], [], []
    for l in range(1, depth + 1):
        z, sd = _normalise(x @ get(l).T, axis)
        x, d = pair(z)
        zs.append(z)
        sds.append(sd)
        ds.append(d)
    g = top / np.sqrt(np.vdot(top, top))
    out = np.empty(depth)
    for l in range(depth, 0, -1):
        z, gz = zs[l - 1], ds[l - 1] * g
        gh = (gz - gz.mean(axis=axis, keepdims=True) - z * (z * gz).mean(axis=axis, keepdims=True)) / sds[l - 1]
        g = gh @ get(l)
        n2 = float(np.vdot(g, g))
        out[l - 1] = math.log(n2) if n2 > 0 else -math.inf
        if not (n2 > 0 and math.isfinite(n2)):
            out[:l - 1] = math.nan
            break
        g = g / math.sqrt(n2)
    return out
