r"""The width-n twin of the residual mean field (:mod:`analytic.theory.residual_meanfield`): a real residual MLP,
real back-propagation, standard errors over independent networks.

Per network: :math:`W_l` with i.i.d. :math:`N(0, \sigma_w^2/n)` entries and :math:`b_l` with :math:`N(0,
\sigma_b^2)` entries, fresh in every block; ``pairs`` input pairs :math:`x^a = \sqrt{q_0}z_1`,
:math:`x^b = \sqrt{q_0}(c_0 z_1 + \sqrt{1 - c_0^2}z_2)` (:math:`z_1, z_2 \sim N(0, I_n)`); forward
post :math:`x_l = x_{l-1} + \alpha\varphi(W_l x_{l-1} + b_l)` or pre :math:`x_l = x_{l-1} + \alpha(W_l
\varphi(x_{l-1}) + b_l)`; the loss :math:`L = \langle u, x^a_L\rangle + \langle u, x^b_L\rangle` with one
:math:`u \sim N(0, I_n)` per pair, so both inputs start back-propagation from the same gradient :math:`u`; backward
post :math:`g_{l-1} = g_l + \alpha W_l^\top(\varphi'(h_l)\odot g_l)`, pre :math:`g_{l-1} = g_l +
\alpha\varphi'(x_{l-1})\odot(W_l^\top g_l)` (the same weights as the forward pass: no independence assumed).
With ``norm="layer"`` (:func:`analytic.architecture.residual`) every block reads its input through LayerNorm first,
:math:`N(x) = (x - \bar x)/s` per input across the units (no affine, no :math:`\epsilon`): post
:math:`x_l = x_{l-1} + \alpha\varphi(W_l N(x_{l-1}) + b_l)`, pre :math:`x_l = x_{l-1} + \alpha(W_l
\varphi(N(x_{l-1})) + b_l)`, and back-propagation goes through the LayerNorm's Jacobian
:math:`(G - zz^\top/n)/s` (:math:`G` the centring), not around it.

Measured per network and per depth: the length :math:`p_l = \|x_l\|^2/n` (mean over the batch), the mean cosine of
:math:`x^a_l, x^b_l` over the pairs, the gradient ratio :math:`\sum\|g_{L-d}\|^2/\sum\|g_L\|^2` over the batch
(kept in log space, renormalised every block) and the mean cosine of :math:`g^a_{L-d}, g^b_{L-d}`. Each is averaged
over the ``networks`` independent networks, with the standard error :math:`s/\sqrt K` of those K network values
(networks are independent and identically distributed, so this error is calibrated whatever the law within a
network). Networks run on a thread pool with single-threaded BLAS and are merged in network order, so the numbers
do not depend on ``threads``.

>>> from analytic.architecture import residual
>>> s = simulate_residual_wide("relu", 2.0, 0.0, residual(1.0), depth=4, width=32, pairs=2, networks=3, seed=1)
>>> len(s.gradient_ratio), s.networks
(4, 3)
"""
from __future__ import annotations

import functools
import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..core.display import displayable, with_model
from ..architecture import Architecture, canonical_architecture
from ..core.calculus import numpy_pair, resolve
from ..errors import SimulationError, canonical_float, canonical_int
from ..limits import check_array
from .chain import seed_sequence, thread_count
from .stats import Stat

#: Largest depth, width, number of input pairs and of networks of the twin.
MAX_DEPTH, MAX_WIDTH, MAX_PAIRS, MAX_NETWORKS = 10_000, 8192, 4096, 10_000
#: Largest depth x width^2 x networks x (2 pairs) multiply-adds accepted.
MAX_WORK = 2 * 10**11


@displayable(title=lambda s: f"Monte Carlo of width-{s.width} residual {s.activation} networks, depth {s.depth}",
             name="MonteCarloResidualNetwork",
             headline=(("act", lambda s: s.activation), "width", "depth", "sigma_w2", "alpha"),
             summary=with_model("Monte Carlo of a residual network"))
@dataclass(frozen=True)
class ResidualWideSimulation:
    r"""The twin's measurements: forward series (index k: after block k + 1) ``length`` and ``correlation``,
    backward series (index k: after d = k + 1 blocks back-propagated from the output) ``gradient_ratio`` and
    ``gradient_correlation``, each a :class:`~analytic.mc.stats.Stat` (mean over networks, its standard error)."""

    activation: str
    architecture: Architecture
    sigma_w2: float
    sigma_b2: float
    q0: float
    c0: float
    depth: int
    alpha: float
    width: int
    pairs: int
    networks: int
    seed: int
    length: tuple[Stat, ...]
    correlation: tuple[Stat, ...]
    gradient_ratio: tuple[Stat, ...]
    gradient_correlation: tuple[Stat, ...]

    def as_dict(self) -> dict:
        """JSON-ready form: the set-up, ``architecture`` and the four series as lists of {value, stderr}."""
        return {"activation": self.activation, "architecture": self.architecture.to_json(),
                "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2, "q0": self.q0, "c0": self.c0,
                "depth": self.depth, "alpha": self.alpha, "width": self.width, "pairs": self.pairs,
                "networks": self.networks, "seed": self.seed,
                **{k: [s.as_dict() for s in getattr(self, k)] for k in
                   ("length", "correlation", "gradient_ratio", "gradient_correlation")}}


def _cosines(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the cosine of the rows of a and b."""
    na, nb = np.einsum("ij,ij->i", a, a), np.einsum("ij,ij->i", b, b)
    return float(np.mean(np.einsum("ij,ij->i", a, b) / np.sqrt(na * nb)))


def _layer_norm(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """LayerNorm of every row across the units (no affine, no epsilon): (z, the rows' scales s as a column)."""
    xc = x - x.mean(axis=1, keepdims=True)
    s = np.sqrt(np.mean(xc * xc, axis=1, keepdims=True))
    return xc / s, s


def _layer_norm_back(gz: np.ndarray, z: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The gradient at x of a row-wise LayerNorm given the gradient ``gz`` at its output z = (x - mean)/s:
    (gz - mean(gz) - z mean(gz z))/s (the Jacobian's projection removes the constant and z)."""
    return (gz - gz.mean(axis=1, keepdims=True) - z * np.mean(gz * z, axis=1, keepdims=True)) / s


def _forward(x: np.ndarray, seeds: list, n: int, sw: float, sb: float, alpha: float, post: bool, pair,
             norm: bool = False) -> tuple[np.ndarray, list, list, np.ndarray, np.ndarray, list]:
    """The forward pass from the batch ``x`` (rows: the B inputs a, then their B partners b), block l drawing its
    weights and biases from ``seeds[l]``: (x_L, the weights, phi' of every block, the length and the mean cosine of
    the pairs after every block, and with ``norm`` the LayerNorm output and scales of every block)."""
    L, B = len(seeds), x.shape[0] // 2
    sdw, sdb = math.sqrt(sw / n), math.sqrt(sb)
    weights, slopes, normed = [], [], []
    length, corr = np.empty(L), np.empty(L)
    for l in range(L):
        rl = np.random.default_rng(seeds[l])
        W = sdw * rl.standard_normal((n, n))
        b = sdb * rl.standard_normal(n)
        u = x
        if norm:
            u, s = _layer_norm(x)
            normed.append((u, s))
        if post:
            f, d = pair(u @ W.T + b)
            x = x + alpha * f
        else:
            f, d = pair(u)
            x = x + alpha * (f @ W.T + b)
        weights.append(W)
        slopes.append(d)
        length[l] = float(np.mean(x * x))
        corr[l] = _cosines(x[:B], x[B:])
    return x, weights, slopes, length, corr, normed


def _backward(g: np.ndarray, weights: list, slopes: list, alpha: float, post: bool, normed: list | None = None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Back-propagation of the batch gradient ``g`` (at x_L) to x_0, renormalised after every block: (log of
    sum |g_(L-d)|^2 / sum |g_L|^2 and the mean cosine of the pairs' gradients for d = 1..L, the last g, whose
    true value is that g times exp(log ratio / 2)). ``normed``: the LayerNorm outputs and scales of the blocks,
    through which the branch's gradient is carried back."""
    L, B = len(weights), g.shape[0] // 2
    norm0 = float(np.sum(g * g))
    log_scale = 0.0
    log_ratio, gcorr = np.empty(L), np.empty(L)
    for k, l in enumerate(range(L - 1, -1, -1)):
        W, d = weights[l], slopes[l]
        branch = alpha * ((d * g) @ W) if post else alpha * d * (g @ W)
        if normed:
            branch = _layer_norm_back(branch, *normed[l])
        g = g + branch
        s = float(np.sum(g * g)) / norm0
        log_scale += math.log(s)
        g = g / math.sqrt(s)
        log_ratio[k] = log_scale
        gcorr[k] = _cosines(g[:B], g[B:])
    return log_ratio, gcorr, g


def _inputs(rng: np.random.Generator, B: int, n: int, q0: float, c0: float) -> tuple[np.ndarray, np.ndarray]:
    """B input pairs stacked (a rows, then b rows) and the shared output gradient u of each pair, stacked alike."""
    z1, z2, u = (rng.standard_normal((B, n)) for _ in range(3))
    x = math.sqrt(q0) * np.concatenate([z1, c0 * z1 + math.sqrt(max(0.0, 1 - c0 * c0)) * z2])
    return x, np.concatenate([u, u])


def _network(child: np.random.SeedSequence, L: int, n: int, B: int, sw: float, sb: float, alpha: float,
             post: bool, q0: float, c0: float, pair, norm: bool = False) -> tuple[np.ndarray, ...]:
    """One network: (length, correlation) per block, (log gradient ratio, gradient correlation) per d."""
    seeds = child.spawn(L + 1)
    x, g = _inputs(np.random.default_rng(seeds[0]), B, n, q0, c0)
    x, weights, slopes, length, corr, normed = _forward(x, seeds[1:], n, sw, sb, alpha, post, pair, norm)
    if not np.isfinite(x).all():
        raise SimulationError("the forward pass of the residual network overflowed; use a smaller depth, alpha or "
                              "sigma_w^2")
    log_ratio, gcorr, _ = _backward(g, weights, slopes, alpha, post, normed)
    return length, corr, log_ratio, gcorr


def _stats(values: np.ndarray) -> tuple[Stat, ...]:
    K = values.shape[0]
    mean = values.mean(axis=0)
    se = values.std(axis=0, ddof=1) / math.sqrt(K)
    return tuple(Stat(float(m), float(e)) for m, e in zip(mean, se))


def _ratio_stats(logs: np.ndarray) -> tuple[Stat, ...]:
    """Mean and standard error of exp(logs) over networks (axis 0), scaled by the largest value per depth."""
    K = logs.shape[0]
    top = logs.max(axis=0)
    scaled = np.exp(logs - top)
    with np.errstate(over="ignore"):
        scale = np.exp(top)
    return tuple(Stat(float(s * m), float(s * e)) for s, m, e in
                 zip(scale, scaled.mean(axis=0), scaled.std(axis=0, ddof=1) / math.sqrt(K)))


def simulate_residual_wide(act, sigma_w2: float, sigma_b2: float, architecture: Any, depth: int, width: int = 256,
                           pairs: int = 8, networks: int = 16, seed: int = 0, q0: float = 1.0, c0: float = 0.5,
                           params: dict | None = None, threads: int | None = None) -> ResidualWideSimulation:
    r"""Simulate ``networks`` independent width-``width`` residual MLPs of ``depth`` blocks (module docstring) and
    return the per-depth length, correlation, gradient ratio and gradient correlation with standard errors."""
    a = resolve(act, params)
    arch = canonical_architecture(architecture)
    if not arch.is_residual or arch.norm == "batch":
        raise SimulationError(f"the residual twin needs a residual architecture, plain or with LayerNorm first, "
                              f"not {arch.describe()}")
    sw = canonical_float("sigma_w2", sigma_w2, 0, 1e6, open_low=True)
    sb = canonical_float("sigma_b2", sigma_b2, 0, 1e6)
    L = canonical_int("depth", depth, 1, MAX_DEPTH, SimulationError)
    n = canonical_int("width", width, 1, MAX_WIDTH, SimulationError)
    B = canonical_int("pairs", pairs, 1, MAX_PAIRS, SimulationError)
    K = canonical_int("networks", networks, 2, MAX_NETWORKS, SimulationError)
    q0 = canonical_float("q0", q0, 0, 1e6, open_low=True)
    c0 = canonical_float("c0", c0, -1.0, 1.0)
    check_array("residual twin: the weights of one network (depth x width x width)", (L, n, n))
    if L * n * n * 2 * B * K > MAX_WORK:
        raise SimulationError(f"depth x width^2 x 2 pairs x networks = {L * n * n * 2 * B * K:.3g} exceeds "
                              f"{MAX_WORK:.0e} (time); make the network smaller")
    alpha = arch.alpha_at(L)
    seq = seed_sequence(seed)
    run = functools.partial(_network, L=L, n=n, B=B, sw=sw, sb=sb, alpha=alpha, post=arch.branch == "post",
                            q0=q0, c0=c0, pair=numpy_pair(a), norm=arch.norm == "layer")
    workers = max(1, min(thread_count(threads), K))
    with threadpool_limits(limits=1, user_api="blas"), np.errstate(over="ignore", invalid="ignore"):
        if workers == 1:
            results = list(map(run, seq.spawn(K)))
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                results = list(pool.map(run, seq.spawn(K)))
    length, corr, log_ratio, gcorr = (np.array([r[i] for r in results]) for i in range(4))
    return ResidualWideSimulation(a.name, arch, sw, sb, q0, c0, L, alpha, n, B, K, int(seed), _stats(length),
                                  _stats(corr), _ratio_stats(log_ratio), _stats(gcorr))
