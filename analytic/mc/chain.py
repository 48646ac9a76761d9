r"""Monte Carlo of the chain gradient :math:`\prod_{t=1}^r w_t\varphi'(v_t)`: blocks of chains on threads.

:math:`N` independent chains of :math:`r` layers of one neuron, :math:`y_0 = x`, :math:`v_t = w_t y_{t-1} + b_t`,
:math:`y_t = \varphi(v_t)`; with ``preact`` given, the **independence model** instead: :math:`v_t` drawn from
``preact`` independently of the weights, under which :math:`E[\prod] = (E[w]E[\varphi'(v)])^r` holds exactly.

Products are kept as a float mantissa times an integer power of two (every factor split exactly by ``frexp``,
the mantissa renormalised every :data:`RENORM` layers), so depth :math:`10^6` neither underflows nor overflows, an
exact zero stays zero and the sign is kept. Where the float :math:`\varphi'(v)` is too small to trust (below
:data:`~analytic.core.logforms.TINY`, 0.0 after underflow included) and :math:`\varphi'` does not vanish there,
the factor is taken from :math:`\log|\varphi'(v)|` and its sign (:func:`~analytic.core.logforms.log_abs_dphi`),
so an exact zero is a true one: :math:`\varphi' \equiv 0` on an interval (ReLU, hard activations) or
:math:`w_t = 0`. Beside it, :class:`_Framework` multiplies the same factors naively in float64 and in float32,
counting the products a framework would see underflow to 0. The chains are cut in blocks of :data:`BLOCK` with their own random
streams (``SeedSequence(seed).spawn``), run on a pool of threads and merged in block order
(:mod:`analytic.mc.stats`), so the numbers depend neither on the chunk size nor on the number of threads.
:math:`\varphi` and :math:`\varphi'` come from :func:`~analytic.core.calculus.numpy_kernel`.

>>> s = simulate_chain("relu", depth=1, weights="constant(1)", samples=10_000, preact="normal(0, 1)", seed=0)
>>> abs(s.mean.value - 0.5) < 4 * s.mean.stderr  # E[relu'(v)] = 1/2 for v ~ N(0, 1)
True
"""
from __future__ import annotations

import dataclasses
import itertools
import math
import os
import sys
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from ..architecture import canonical_architecture
from ..core.calculus import numpy_kernel, resolve
from ..core.logforms import TINY, float_dphi_exact, log_abs_dphi, np_dead, prepare
from ..core.registry import BoundActivation
from ..distributions import Distribution, distribution, scalar
from ..errors import SimulationError, canonical_float, canonical_int
from ..limits import check_array
from ..quantities import exp_or_inf
from .residual import residual_layers
from .results import ChainSimulation
from .stats import LN2, ScaledWelford, Stat, Welford, median_of_logs, summary, summary4

#: Chains per random stream. Fixed, so that results do not depend on ``chunk``.
BLOCK = 16384
#: Layers between renormalisations of the running product (fixed, for the same reason).
RENORM = 16
#: Most layers of weights drawn at once per block (fewer when ``chunk`` asks for less memory).
ROWS = 16
#: Largest ``threads`` accepted.
MAX_THREADS = 256
#: Largest depth accepted.
MAX_DEPTH = 10**6
#: Largest depth × samples accepted (layer-samples) — about ten minutes of computing.
MAX_LAYER_SAMPLES = 10**10
#: Default number of layer-samples drawn at once (bounds the memory: 8 bytes each, per drawn quantity).
DEFAULT_CHUNK = 2**20
#: Chains whose log|∏| is kept for the median (the first ones; all of them when there are fewer).
MEDIAN_KEEP = 2**23
#: Largest number of chains :func:`chain_log_products` returns (two arrays of this length).
MAX_RETURNED = 2**25


# ---------------------------------------------------------------- running a simulation

def seed_sequence(seed: Any) -> np.random.SeedSequence:
    """The root of a simulation's random streams; ``seed`` is a non-negative integer."""
    return np.random.SeedSequence(canonical_int("seed", seed, 0, error=SimulationError))


def default_threads() -> int:
    """The number of cores this process may run on (``os.sched_getaffinity``), the default ``threads``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def thread_count(threads: Any) -> int:
    """``threads`` validated (1 … :data:`MAX_THREADS`), :func:`default_threads` for None."""
    return default_threads() if threads is None else canonical_int("threads", threads, 1, MAX_THREADS,
                                                                   SimulationError)


def check_progress(show: Any) -> None:
    """Refuse a ``progress`` that is not True, False or None."""
    if show is not None and not isinstance(show, (bool, np.bool_)):
        raise SimulationError(f"progress must be True, False or None, got {type(show).__name__}")


def progress_bar(total: int, show: bool | None, desc: str):
    """A progress bar (``tqdm.auto``: a widget in Jupyter, text on stderr elsewhere), shown after 2 s;
    ``show=None`` means: when stderr is a terminal or the code runs in a Jupyter kernel."""
    check_progress(show)
    if show is None:  # a terminal, or a Jupyter kernel (where tqdm.auto draws a widget)
        show = bool(getattr(sys.stderr, "isatty", lambda: False)()) or "ipykernel" in sys.modules
    if not show:
        return None
    import warnings

    with warnings.catch_warnings():  # Jupyter without ipywidgets: tqdm.auto falls back to text and says so
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="layer-sample", unit_scale=True, delay=2.0, file=sys.stderr,
                leave=False)


def spec(d: Distribution | None) -> str | None:
    """The canonical text of a law (None for none)."""
    return None if d is None else d.spec


# ---------------------------------------------------------------- the chain

@dataclass(frozen=True)
class _ChainSetup:
    act: BoundActivation
    depth: int
    weights: Distribution
    bias: Distribution | None
    preact: Distribution | None
    x: float
    samples: int
    seq: np.random.SeedSequence
    chunk: int
    threads: int
    tied: bool = False  # the recurrent chain: one weight per chain for every layer, ``bias`` the inputs' law
    residual: tuple | None = None   # (alpha at this depth, branch) of a residual chain


def _chain_setup(act, depth, weights, samples, seed, x, bias, preact, params, chunk, threads,
                 architecture=None) -> _ChainSetup:
    a = resolve(act, params)
    depth = canonical_int("depth", depth, 1, MAX_DEPTH, SimulationError)
    samples = canonical_int("samples", samples, 2, MAX_LAYER_SAMPLES, SimulationError)
    if depth * samples > MAX_LAYER_SAMPLES:
        raise SimulationError(f"depth x samples = {depth * samples:.3g} layer-samples exceeds the limit "
                              f"{MAX_LAYER_SAMPLES:.0e}; use fewer samples")
    chunk = DEFAULT_CHUNK if chunk is None else canonical_int("chunk", chunk, 1, 10**9, SimulationError)
    check_array("chain block (chunk layer-samples per drawn quantity)", (chunk,))
    threads = thread_count(threads)
    law = [scalar(distribution(weights))] + [None if d is None else scalar(distribution(d), role)
                                             for d, role in ((bias, "bias"), (preact, "pre-activations"))]
    x = canonical_float("x", x, error=SimulationError)
    arch = canonical_architecture(architecture)
    arch = canonical_architecture(architecture)
    res = None
    if arch.kind == "recurrent":
        if bias is not None or preact is not None:
            raise SimulationError("the recurrent chain takes neither a bias nor --preact: give the inputs' law in "
                                  "recurrent(inputs=...)")
        law[1] = arch.inputs
    elif arch.kind == "residual":
        if preact is not None or arch.norm is not None:
            raise SimulationError(f"{arch.describe()}: the residual chain takes no --preact and no normalisation")
        res = (arch.alpha_at(depth), arch.branch)
    elif not arch.is_plain:
        raise SimulationError(f"simulate_chain simulates the plain, recurrent or residual chain, not {arch.describe()}")
    return _ChainSetup(a, depth, *law, x, samples, seed_sequence(seed), chunk, threads, arch.kind == "recurrent", res)


@dataclass(frozen=True)
class _Block:
    """One block's chains: log|∏| (``-inf`` for an exact zero, ``nan`` where the forward pass overflowed), the
    signs, and the block's statistics, ready to be merged in block order."""

    logs: np.ndarray
    neg: np.ndarray
    broken: np.ndarray
    moments: tuple          # (mean, mean_abs, mean_square): each (n, exponent, mean, m2) of the scaled values
    log_moments: tuple      # (n, None, mean, m2, m3, m4) of log|∏| over the non-zero products
    zeros: int
    underflow: tuple = (0, 0)   # products non-zero, but 0 when multiplied naively in (float64, float32)
    unresolved: int = 0         # chains left out because log|φ′(v)| could not be resolved at some layer


class _Product:
    r"""Running products :math:`\prod_t w_t\varphi'(v_t) = m\,2^{E}` of a block of chains.

    Every factor is split exactly by ``frexp`` into a mantissa in :math:`[1/2, 1)` and a power of two; the
    mantissas multiply into :math:`m`, the exponents add into the integer :math:`E`. After :data:`RENORM` layers
    :math:`|m| \ge 2^{-2\cdot\mathrm{RENORM}-1}`, when it is renormalised by ``frexp`` again, so no partial
    product under- or overflows at any depth; a factor that is exactly 0 makes :math:`m = 0` for good, and the
    sign lives in :math:`m`. Only rounding (half an ulp per multiplication) separates :math:`m 2^E` from the
    exact product of the floats :math:`w_t` and :math:`\varphi'(v_t)`.
    """

    def __init__(self, b: int) -> None:
        self.m = np.ones(b)
        self.E = np.zeros(b, dtype=np.int64)
        self.acc = np.zeros(b, dtype=np.int32)  # exponents of the current RENORM layers (|sum| < 2^16)
        self.mant = np.empty(b)
        self.exp = np.empty(b, dtype=np.int32)
        self.layers = 0

    def renormalise(self) -> None:
        np.frexp(self.m, out=(self.m, self.exp))
        np.add(self.acc, self.exp, out=self.acc)
        np.add(self.E, self.acc, out=self.E)
        self.acc.fill(0)


#: frexp's exponent of TINY: a float with a larger exponent is at least TINY in magnitude.
_TINY_EXPONENT = int(np.frexp(TINY)[1])


class _LogRoute:
    r"""Factors whose float :math:`\varphi'(v)` is below :data:`~analytic.core.logforms.TINY` (0.0 after underflow
    included) and that do not lie where :math:`\varphi' \equiv 0`: their mantissa and exponent are rebuilt from
    :math:`\log|\varphi'(v)|` and the sign (:func:`~analytic.core.logforms.log_abs_dphi`). The exponent goes
    straight into the running int64 exponent (it may be far below :math:`-2^{31}`); the entries of the fast path
    are left as they are. A factor that cannot be resolved is ``nan`` and its chain is marked ``unresolved``."""

    def __init__(self, act: BoundActivation, b: int) -> None:
        self.act, self.dead = act, np_dead(act)
        self.small = np.empty(b, dtype=bool)
        self.unresolved = np.zeros(b, dtype=bool)

    @staticmethod
    def needed(act: BoundActivation) -> bool:
        """False when the float φ′ is exact (every piece a constant): nothing can underflow."""
        return not float_dphi_exact(act)

    def fix(self, v: np.ndarray, d: np.ndarray, mant: np.ndarray, ex: np.ndarray, E: np.ndarray,
            t: np.ndarray) -> None:
        """Rebuild ``mant``, ``ex`` (the ``frexp`` of ``d``) where ``d`` is tiny and not a true zero. Two
        reductions over ``frexp``'s output answer "none here" for most layers (no 0.0 and every exponent above
        that of TINY) without a pass that writes."""
        if ex.min() > _TINY_EXPONENT and np.count_nonzero(mant) == mant.size:
            return
        np.abs(d, out=t)
        np.less(t, TINY, out=self.small)
        if not self.small.any():
            return
        idx = np.flatnonzero(self.small)
        vv = v[idx]
        keep = np.isfinite(vv)
        if self.dead is not None:
            keep &= ~self.dead(vv)
        if not keep.all():
            idx, vv = idx[keep], vv[keep]
        if idx.size == 0:
            return
        logs, signs = log_abs_dphi(self.act, vv)
        ok = np.isfinite(logs)
        b2 = np.where(ok, logs, 0.0) / LN2
        k = np.floor(b2)
        mant[idx] = np.where(ok, signs * np.exp2(b2 - k - 1.0), np.where(np.isnan(logs), np.nan, 0.0))
        ex[idx] = 0
        E[idx] += (k + 1.0).astype(np.int64)
        self.unresolved[idx[np.isnan(logs)]] = True


class _Framework:
    r"""The products a framework would compute: :math:`\prod_t w_t\varphi'(v_t)` multiplied naively, layer by
    layer, in float64 (the float :math:`\varphi'`) and in float32 (:math:`v_t`, :math:`w_t` rounded to float32,
    :math:`\varphi'` evaluated on float32 arrays, the product in float32), from the same forward pass. Once a
    partial product underflows to 0 it stays 0. (Back-propagation multiplies from the output side; the two
    orders see the same zero whenever a factor itself is 0, the usual cause, and can differ only when a partial
    product leaves the float range and comes back.)"""

    def __init__(self, kernel, b: int) -> None:
        self.kernel = kernel
        self.p64 = np.ones(b)
        self.p32 = np.ones(b, dtype=np.float32)
        self.v32, self.y32, self.d32, self.t32, self.w32 = (np.empty(b, dtype=np.float32) for _ in range(5))

    def layer(self, w: np.ndarray, v: np.ndarray, d: np.ndarray) -> None:
        np.multiply(self.p64, w, out=self.p64)
        np.multiply(self.p64, d, out=self.p64)
        np.copyto(self.v32, v, casting="same_kind")
        self.kernel(self.v32, self.y32, self.d32, self.t32)
        np.copyto(self.w32, w, casting="same_kind")
        np.multiply(self.p32, self.w32, out=self.p32)
        np.multiply(self.p32, self.d32, out=self.p32)


def _layers(s: _ChainSetup, kernel, rw, rb, rv, prod: _Product, y: np.ndarray, broken: np.ndarray,
            bar_step, route: _LogRoute | None, fw: _Framework) -> None:
    """Run the ``s.depth`` layers of one block, multiplying every factor into ``prod`` (tiny φ′ through
    ``route``) and, naively, into ``fw``."""
    b = y.size
    v, d, t = np.empty(b), np.empty(b), np.empty(b)
    m, mant, ex, acc = prod.m, prod.mant, prod.exp, prod.acc
    frexp, mul, add = np.frexp, np.multiply, np.add
    rows = max(1, min(ROWS, s.chunk // b))
    done = 0
    tied = s.weights.sample(rw, b) if s.tied else None  # the recurrent chain: one weight per chain
    while done < s.depth:
        k = min(rows, s.depth - done)
        W = np.broadcast_to(tied, (k, b)) if s.tied else s.weights.sample(rw, (k, b))
        MW, EW = frexp(W)  # the weights' mantissas and exponents, exact
        if s.preact is not None:  # independence model: v_t drawn afresh, independent of w_t
            V = s.preact.sample(rv, (k, b))
            Y, D = np.empty_like(V), np.empty_like(V)
            kernel(V, Y, D, np.empty_like(V))
            MD, ED = frexp(D)
            for row in range(k):
                fw.layer(W[row], V[row], D[row])
                if route is not None:
                    route.fix(V[row], D[row], MD[row], ED[row], prod.E, t)
                mul(m, MW[row], out=m)
                add(acc, EW[row], out=acc)
                mul(m, MD[row], out=m)
                add(acc, ED[row], out=acc)
                prod.layers += 1
                if prod.layers % RENORM == 0:
                    prod.renormalise()
        else:
            B = s.bias.sample(rb, (k, b)) if s.bias is not None else None
            for row in range(k):
                mul(W[row], y, out=v)
                if B is not None:
                    add(v, B[row], out=v)
                if not math.isfinite(float(add.reduce(v))):
                    broken |= ~np.isfinite(v)
                kernel(v, y, d, t)
                fw.layer(W[row], v, d)
                mul(m, MW[row], out=m)
                add(acc, EW[row], out=acc)
                frexp(d, out=(mant, ex))
                if route is not None:
                    route.fix(v, d, mant, ex, prod.E, t)
                mul(m, mant, out=m)
                add(acc, ex, out=acc)
                prod.layers += 1
                if prod.layers % RENORM == 0:
                    prod.renormalise()
        done += k
        bar_step(k * b)
    prod.renormalise()


def _run_block(s: _ChainSetup, kernel, child: np.random.SeedSequence, b: int, bar_step,
               keep: np.ndarray | None = None) -> _Block:
    """Simulate the ``b`` chains of one block (its own streams from ``child``) and summarise them; the first
    ``keep.size`` values of log|∏| are also written into ``keep`` (in the worker thread, which touches that
    memory first: on some systems the first touch of fresh pages costs as much as the arithmetic)."""
    rw, rb, rv = (np.random.default_rng(c) for c in child.spawn(3))
    prod = _Product(b)
    broken = np.zeros(b, dtype=bool)
    if s.residual is not None:
        return _run_residual_block(s, kernel, rw, rb, prod, broken, b, bar_step, keep)
    route = _LogRoute(s.act, b) if _LogRoute.needed(s.act) else None
    fw = _Framework(kernel, b)
    with np.errstate(all="ignore"):
        _layers(s, kernel, rw, rb, rv, prod, np.full(b, s.x), broken, bar_step, route, fw)
        m, E = prod.m, prod.E
        broken |= ~np.isfinite(m)
        unresolved = 0
        if route is not None:
            broken |= route.unresolved
            unresolved = int(np.count_nonzero(route.unresolved))
        neg = m < 0
        logs = np.log(np.abs(m)) + E * LN2  # -inf where m = 0
        logs[broken] = np.nan
    if keep is not None:
        keep[...] = logs[:keep.size]
    live = (m != 0) & ~broken
    underflow = (int(np.count_nonzero(live & (fw.p64 == 0))), int(np.count_nonzero(live & (fw.p32 == 0))))
    return dataclasses.replace(_summarise(m, E, logs, neg, broken), underflow=underflow, unresolved=unresolved)


def _run_residual_block(s: _ChainSetup, kernel, rw, rb, prod: _Product, broken: np.ndarray, b: int, bar_step,
                        keep: np.ndarray | None) -> _Block:
    """One block of residual chains (:func:`analytic.mc.residual.residual_layers`), summarised like the plain ones."""
    with np.errstate(all="ignore"):
        residual_layers(s, kernel, rw, rb, prod, np.full(b, s.x), broken, bar_step, RENORM, ROWS)
        m, E = prod.m, prod.E
        broken |= ~np.isfinite(m)
        neg = m < 0
        logs = np.log(np.abs(m)) + E * LN2
        logs[broken] = np.nan
    if keep is not None:
        keep[...] = logs[:keep.size]
    return _summarise(m, E, logs, neg, broken)


def _summarise(m, E, logs, neg, broken) -> _Block:
    ok = ~broken
    if not ok.all():
        m, E, lg, neg_ok = m[ok], E[ok], logs[ok], neg[ok]
    else:
        lg, neg_ok = logs, neg
    nonzero = m != 0
    zeros = int(m.size - np.count_nonzero(nonzero))
    if zeros < m.size:
        c = int(E[nonzero].max() if zeros else E.max())
        shift = E - c
        np.maximum(shift, -2000, out=shift)
        with np.errstate(under="ignore"):
            e = np.ldexp(m, shift.astype(np.int32))  # (int64 exponents take a slow loop)
    else:
        c, e = None, np.zeros(m.size)
    mean = summary(e, c)
    a = np.abs(e) if neg_ok.any() else e
    moments = (mean, summary(a, c) if a is not e else mean, summary(a * a, None if c is None else 2 * c))
    finite = lg[nonzero] if zeros else lg
    return _Block(logs, neg, broken, moments, summary4(finite), zeros)


def _chain_blocks(s: _ChainSetup, bar=None, kept: np.ndarray | None = None) -> Iterator[_Block]:
    """Yield the blocks of chains in block order, computed on ``s.threads`` threads.

    Block ``i`` uses the streams ``SeedSequence(seed).spawn(nblocks)[i].spawn(3)`` (weights, biases,
    pre-activations) whichever thread runs it, and the caller merges the blocks in order, so every number is
    bit-identical for any thread count. NumPy releases the GIL in its generators and ufunc loops, so the threads
    run in parallel. At most ``2 × threads`` finished blocks wait to be merged (memory stays bounded).
    ``kept``: block ``i`` also writes its log|∏| into ``kept[i * BLOCK:]``, as far as ``kept`` reaches.
    """
    nblocks = -(-s.samples // BLOCK)
    kernel = numpy_kernel(s.act)
    if _LogRoute.needed(s.act):
        prepare(s.act)  # the log forms, built once here rather than raced for by the threads
    lock = threading.Lock()

    def step(n: int) -> None:
        if bar is not None:
            with lock:
                bar.update(n)

    def keep(i: int, b: int) -> np.ndarray | None:
        if kept is None or i * BLOCK >= kept.size:
            return None
        return kept[i * BLOCK:min(i * BLOCK + b, kept.size)]

    jobs = [(child, min(BLOCK, s.samples - i * BLOCK), i) for i, child in enumerate(s.seq.spawn(nblocks))]
    threads = min(s.threads, nblocks)
    if threads == 1:
        for child, b, i in jobs:
            yield _run_block(s, kernel, child, b, step, keep(i, b))
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        pending: deque = deque()
        todo = iter(jobs)
        try:
            for child, b, i in itertools.islice(todo, 2 * threads):
                pending.append(pool.submit(_run_block, s, kernel, child, b, step, keep(i, b)))
            while pending:
                block = pending.popleft().result()
                nxt = next(todo, None)
                if nxt is not None:
                    child, b, i = nxt
                    pending.append(pool.submit(_run_block, s, kernel, child, b, step, keep(i, b)))
                yield block
        finally:
            for f in pending:
                f.cancel()


def simulate_chain(act, depth: int, weights: str | Distribution, samples: int = 100_000, seed: int = 0,
                   x: float = 1.0, bias: str | Distribution | None = None, preact: str | Distribution | None = None,
                   params: dict[str, float] | None = None, chunk: int | None = None,
                   progress: bool | None = None, threads: int | None = None, architecture=None) -> ChainSimulation:
    r"""Monte Carlo of the chain gradient :math:`\prod_{t=1}^r w_t\varphi'(v_t)` over ``samples`` chains.

    Exact chain (``preact=None``): :math:`y_0 = x`, :math:`v_t = w_t y_{t-1} + b_t`, :math:`y_t = \varphi(v_t)`,
    :math:`w_t` from ``weights``, :math:`b_t` from ``bias`` (none by default). Independence model (``preact``
    given): :math:`v_t` drawn from ``preact`` independently of everything else (``x`` and ``bias`` unused).
    ``chunk`` bounds the layer-samples drawn at once (memory about 8 bytes × chunk per drawn quantity); the
    results do not depend on it. ``threads`` (default :func:`default_threads`) runs blocks of chains in
    parallel; the results do not depend on it either. ``progress``: a bar on stderr after 2 s (``None``: only
    on a terminal). ``architecture=recurrent(inputs)``: the tied chain :math:`h_t = \varphi(w h_{t-1} + x_t)`,
    one weight per chain drawn once from ``weights`` (block i's weight stream), inputs :math:`x_t` from the
    inputs' law (its bias stream), no bias.
    A residual ``architecture`` simulates the residual chain (:mod:`analytic.mc.residual`), with
    factors :math:`1 + \alpha w_t\varphi'(\cdot)` and no ``framework_underflow``.

    >>> s = simulate_chain("sigmoid", 10, "normal(1, 0.5)", samples=1000, seed=1)
    >>> s.mean.value > 0, s.zero_fraction.value
    (True, 0.0)
    """
    s = _chain_setup(act, depth, weights, samples, seed, x, bias, preact, params, chunk, threads, architecture)
    moments, logs = (ScaledWelford(), ScaledWelford(), ScaledWelford()), Welford()
    kept = np.empty(min(s.samples, MEDIAN_KEEP))  # the median's reservoir: the first chains, written by the blocks
    zeros = nonfinite = unresolved = 0
    underflow = [0, 0]
    bar = progress_bar(s.depth * s.samples, progress,
                    f"simulate {s.act.name}" + (" (independence model)" if s.preact else ""))
    try:
        for block in _chain_blocks(s, bar, kept):
            for running, part in zip(moments, block.moments):
                running.merge(part)
            logs.merge(block.log_moments)
            zeros += block.zeros
            nonfinite += int(np.count_nonzero(block.broken))
            unresolved += block.unresolved
            underflow = [a + b for a, b in zip(underflow, block.underflow)]
    finally:
        if bar is not None:
            bar.close()
    n = s.samples - nonfinite
    if n < 2:
        raise SimulationError(f"{s.act.name}: the forward pass overflowed (or phi' could not be resolved) in "
                              f"{nonfinite} of {s.samples} chains; use smaller weights or a smaller x")
    mean, mean_abs, mean_sq = moments
    log_mean, log_std = logs.stat()
    if nonfinite:  # chains whose forward pass overflowed (nan) are left out of the median too
        kept = kept[~np.isnan(kept)]
    nkept = kept.size
    median, log_median = median_of_logs(kept)
    m_abs, m_sq = mean_abs.stat(), mean_sq.stat()
    ess = (exp_or_inf(math.log(n) + 2 * m_abs.log_abs - m_sq.log_abs)
           if m_abs.sign and math.isfinite(m_sq.log_abs) else 0.0)
    return ChainSimulation(
        act=s.act.name, depth=s.depth, weights=s.weights.spec, bias=spec(s.bias), preact=spec(s.preact), x=s.x,
        samples=s.samples, seed=int(seed), params=s.act.given,
        mean=mean.stat(), mean_abs=m_abs, mean_square=m_sq,
        log_mean=log_mean, log_std=log_std, median_abs=median, log_median_abs=log_median, median_samples=nkept,
        zero_fraction=_fraction(zeros, n), ess=ess, nonfinite=nonfinite,
        ess_square=mean_sq.ess(), ess_log=logs.ess(),
        framework_underflow=({} if s.residual is not None else
                             {"float64": _fraction(underflow[0], n), "float32": _fraction(underflow[1], n)}),
        unresolved=unresolved,
        architecture=None if not (s.tied or s.residual is not None) else canonical_architecture(architecture))


def _fraction(count: int, n: int) -> Stat:
    r"""``count / n`` with its binomial standard error :math:`\sqrt{p(1-p)/n}`."""
    p = count / n
    return Stat(p, math.sqrt(p * (1 - p) / n))


def chain_log_products(act, depth: int, weights: str | Distribution, samples: int, seed: int = 0, x: float = 1.0,
                       bias: str | Distribution | None = None, preact: str | Distribution | None = None,
                       params: dict[str, float] | None = None, threads: int | None = None
                       ) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-chain :math:`\log|\prod_t w_t\varphi'(v_t)|` (``-inf`` where the product is exactly 0, ``nan`` where
    the forward pass overflowed) and its sign (int8: −1, 0, +1), for histograms. Same chains, same seed
    semantics as :func:`simulate_chain`.

    >>> logs, signs = chain_log_products("tanh", 5, "normal(0, 1)", samples=4, seed=0)
    >>> logs.shape, signs.dtype.name
    ((4,), 'int8')
    """
    s = _chain_setup(act, depth, weights, samples, seed, x, bias, preact, params, None, threads)
    if s.samples > MAX_RETURNED:
        raise SimulationError(f"samples = {s.samples} exceeds {MAX_RETURNED} for per-chain output; "
                              "use simulate_chain for statistics of larger samples")
    logs, signs = [], []
    for block in _chain_blocks(s):
        sign = np.where(block.neg, -1, 1).astype(np.int8)
        sign[block.logs == -np.inf] = 0
        sign[block.broken] = 0
        logs.append(block.logs)
        signs.append(sign)
    return np.concatenate(logs), np.concatenate(signs)


