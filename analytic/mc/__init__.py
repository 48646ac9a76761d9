r"""Monte Carlo simulation of back-propagated gradients, with standard errors and a verdict against the analytic values.

Three simulations, all seeded and reproducible:

* :func:`simulate_chain` — the **chain** (the textbook model): :math:`N` independent chains of :math:`r` layers of
  one neuron, :math:`y_0 = x`, :math:`v_t = w_t y_{t-1} + b_t`, :math:`y_t = \varphi(v_t)`, and the exact
  back-propagated gradient :math:`\partial y_r/\partial y_0 = \prod_t w_t \varphi'(v_t)`. With ``preact`` given it
  simulates the **independence model** instead: :math:`v_t` drawn from ``preact`` independently of the weights,
  which is the model under which :math:`E[\prod] = (E[w]E[\varphi'(v)])^r` holds exactly.
* :func:`simulate_wide` — a width-:math:`n` MLP, real back-propagation with matrix products for a batch,
  per-layer :math:`\|\partial L/\partial y_l\|^2`, whose growth rate per layer is compared with
  :math:`\ln\chi_1` of mean-field theory.
* :func:`simulate` — what the ``simulate`` command prints: one of the above plus a :class:`Check` (z-score,
  ``agree`` when :math:`|z| \le 4`) for every statistic that has an analytic value.

Products are kept as a float mantissa times an integer power of two (every factor split exactly by ``frexp``,
the mantissa renormalised every :data:`RENORM` layers), so depth :math:`10^6` neither underflows nor overflows, an
exact zero stays zero and the sign is kept; means are merged across blocks of chains with a common power-of-two
exponent, so :math:`E[\prod]` is exact even when it is :math:`10^{-500}`. Memory is bounded by chunking: the
chains are cut in blocks of :data:`BLOCK` with their own random streams (``SeedSequence(seed).spawn``), so the
numbers do not depend on the chunk size; blocks run on a pool of threads and are merged in block order, so
they do not depend on the number of threads either. :math:`\varphi` and :math:`\varphi'` come from
:func:`~analytic.core.calculus.numpy_kernel` (fused forms for the catalogue's entries).

>>> from analytic.mc import simulate_chain
>>> s = simulate_chain("relu", depth=1, weights="constant(1)", samples=10_000, preact="normal(0, 1)", seed=0)
>>> abs(s.mean.value - 0.5) < 4 * s.mean.stderr  # E[relu'(v)] = 1/2 for v ~ N(0, 1)
True
"""
from __future__ import annotations

import dataclasses
import functools
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
from threadpoolctl import threadpool_limits

from ..core.calculus import numpy_kernel, numpy_pair, resolve
from ..distributions import Distribution, distribution, scalar
from ..core.display import displayable, html_table
from ..errors import AnalyticError, SimulationError, canonical_float, canonical_int

#: Largest batch of inputs and number of independent networks of a wide simulation.
MAX_BATCH, MAX_NETWORKS, MAX_WIDTH = 10**6, 10**4, 10**6
#: Chains per random stream. Fixed, so that results do not depend on ``chunk``.
BLOCK = 16384
#: Layers between renormalisations of the running product (fixed, for the same reason).
RENORM = 16
#: Most layers of weights drawn at once per block (fewer when ``chunk`` asks for less memory).
ROWS = 16
#: Largest ``threads`` accepted.
MAX_THREADS = 256
LN2 = math.log(2.0)
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
#: |z| above which a simulated and an analytic value disagree.
Z_AGREE = 4.0
#: Effective sample size below which a mean's standard error is flagged as unreliable.
ESS_WARN = 1000.0
#: Largest depth × batch × width held by :func:`simulate_wide` (φ′ of every layer is kept for back-propagation).
MAX_WIDE_ELEMENTS = 2**24
#: Largest depth × width² of weights kept per network for the backward pass (more: drawn again from their streams).
MAX_WIDE_KEPT = 2**22
#: Largest depth × batch × width² × networks (multiply-adds) accepted by :func:`simulate_wide`.
MAX_WIDE_WORK = 2 * 10**11


# ---------------------------------------------------------------- results

@dataclass(frozen=True)
class Stat:
    """An estimate and its standard error."""

    value: float
    stderr: float

    def as_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr}


@dataclass(frozen=True)
class ScaledStat:
    r"""A sample mean that may under- or overflow a float: value :math:`= \mathrm{sign}\cdot e^{\text{log\_abs}}`,
    standard error :math:`e^{\text{log\_stderr}}`. ``value``/``stderr`` give the floats (0 or inf when outside
    the float range); the logs are exact.
    """

    log_abs: float
    sign: int
    log_stderr: float

    @property
    def value(self) -> float:
        return self.sign * _exp(self.log_abs) if self.sign else 0.0

    @property
    def stderr(self) -> float:
        return _exp(self.log_stderr)

    def as_dict(self) -> dict:
        return {"value": self.value, "stderr": self.stderr, "log_abs": self.log_abs, "sign": self.sign,
                "log_stderr": self.log_stderr}


@displayable(title=lambda s: f"Monte Carlo of {s.act}: {s.model}, depth {s.depth}, {s.samples} chains",
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
    mean square) — far below ``samples``, a few chains carry the mean and its standard error is unreliable;
    ``nonfinite`` counts chains whose forward pass overflowed (left out of every statistic).
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

    @property
    def model(self) -> str:
        return "independence" if self.preact else "exact chain"

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
        }


@displayable(title=lambda s: f"Monte Carlo of a width-{s.width} {s.act} network, depth {s.depth}",
             headline=("act", "depth", "width"))
@dataclass(frozen=True)
class WideSimulation:
    r"""Per-layer gradient norms of a width-:math:`n` MLP, over ``networks`` independent weight draws.

    Layer :math:`l = 0..L` (0 = input, :math:`L` = output); :math:`g_l = \partial L/\partial y_l` with
    :math:`L = \langle u, y_L\rangle`, :math:`u \sim N(0, I_n)` drawn per input, so :math:`g_L = u`.
    ``log_mean_norm2[l]`` is :math:`\log` of the mean of :math:`\|g_l\|^2` over all inputs and networks;
    ``mean_log_norm2[l]`` the mean of :math:`\log\|g_l\|^2` over the inputs whose gradient reaches the input
    (:math:`g_0 \ne 0`; ``dead_inputs`` counts the others) with its standard error across networks;
    ``slope`` is the least-squares slope of ``log_mean_norm2`` against the number of layers back-propagated
    through, :math:`d = L - l`, over :math:`l \ge` ``burn_in`` (mean field: :math:`\ln\chi_1`), with a jackknife
    standard error over networks; ``slope_log`` the same for ``mean_log_norm2`` (the typical rate), with the
    standard error of the per-network slopes. ``q[l]`` is the mean :math:`v_l^2` (the length map);
    ``dead_unit_fraction[l]`` the fraction of units with :math:`\varphi'(v) = 0` for every input of the batch,
    ``zero_dphi_fraction[l]`` the fraction of (input, unit) pairs with :math:`\varphi'(v) = 0` (both averaged
    over networks; index 0 is unused and 0).
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
        }


@dataclass(frozen=True)
class Check:
    r"""One simulated statistic against its analytic value: :math:`z = (\text{analytic} - \text{simulated}) /
    \text{stderr}`, ``agree`` when :math:`|z| \le 4` (for a one-sided bound: when :math:`z \ge -4`).
    ``reliable`` is False when the simulated mean rests on few effective samples (heavy tails), where the
    standard error itself is unreliable.

    ``analytic``/``simulated``/``stderr`` are floats (possibly 0 after underflow); :meth:`of_logs` computes ``z``
    from natural logs, so it is exact on the linear scale even where the floats underflow.

    >>> Check.of("mean", 1.0, 0.9, 0.01).agree
    False
    """

    statistic: str
    analytic: float
    simulated: float
    stderr: float
    z: float
    agree: bool
    note: str = ""
    one_sided: bool = False
    log_analytic: float = math.nan
    log_simulated: float = math.nan
    reliable: bool = True
    log_stderr: float = math.nan

    @classmethod
    def of(cls, statistic: str, analytic: float, simulated: float, stderr: float, note: str = "",
           one_sided: bool = False) -> "Check":
        """A check from linear-scale values."""
        diff = analytic - simulated
        if stderr > 0:
            z = diff / stderr
        else:
            z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return cls._make(statistic, analytic, simulated, stderr, z, note, one_sided)

    @classmethod
    def of_logs(cls, statistic: str, log_analytic: float, sign_analytic: int, simulated: ScaledStat,
                note: str = "", one_sided: bool = False) -> "Check":
        r"""A check from :math:`\log|a|`, sign of :math:`a`, and a :class:`ScaledStat`; ``z`` is the linear-scale
        z-score computed as :math:`\mathrm{sign}_a e^{\log|a| - \log se} - \mathrm{sign}_s e^{\log|s| - \log se}`
        (no delta method needed: nothing is transformed, only rescaled)."""
        ls = simulated.log_stderr
        if not math.isfinite(ls):  # zero spread: exact agreement or infinitely many stderrs apart
            a = sign_analytic * _exp(log_analytic) if sign_analytic else 0.0
            return cls.of(statistic, a, simulated.value, simulated.stderr, note, one_sided)
        za = sign_analytic * _exp(log_analytic - ls) if sign_analytic else 0.0
        zs = simulated.sign * _exp(simulated.log_abs - ls) if simulated.sign else 0.0
        z = za - zs if not (math.isinf(za) and math.isinf(zs) and za == zs) else 0.0
        a = sign_analytic * _exp(log_analytic) if sign_analytic else 0.0
        return dataclasses.replace(
            cls._make(statistic, a, simulated.value, simulated.stderr, z, note, one_sided,
                      log_analytic if sign_analytic else -math.inf, simulated.log_abs), log_stderr=ls)

    @classmethod
    def _make(cls, statistic, analytic, simulated, stderr, z, note, one_sided, log_a=math.nan,
              log_s=math.nan) -> "Check":
        agree = (z >= -Z_AGREE) if one_sided else (abs(z) <= Z_AGREE)
        return cls(statistic, float(analytic), float(simulated), float(stderr), float(z), bool(agree), note,
                   one_sided, float(log_a), float(log_s))

    def as_dict(self) -> dict:
        return {"statistic": self.statistic, "analytic": self.analytic, "simulated": self.simulated,
                "stderr": self.stderr, "z": self.z, "agree": self.agree, "note": self.note,
                "one_sided": self.one_sided, "log_abs_analytic": self.log_analytic,
                "log_abs_simulated": self.log_simulated, "reliable": self.reliable, "log_stderr": self.log_stderr}


def _checks_html(s: "Simulation") -> str:
    rows = [(c.statistic, c.analytic, c.simulated, c.stderr, c.z, "yes" if c.agree else "no") for c in s.checks]
    return html_table(rows, ("statistic", "analytic", "simulated", "stderr", "z", "agree"),
                      f"verdict: {s.verdict}")


@displayable(title=lambda s: f"simulate {s.act} (width {s.width})", headline=("act", "width", "agree", "verdict"),
             extra_html=_checks_html, rows=lambda s: [c.as_dict() for c in s.checks])
@dataclass(frozen=True)
class Simulation:
    """What the ``simulate`` command shows: the simulation, the analytic values and one :class:`Check` each.

    ``result`` is a :class:`ChainSimulation` (width 1) or a :class:`WideSimulation`, the one model asked for;
    ``independent`` is None (no second model is simulated; the field keeps the JSON key).
    """

    act: str
    width: int
    result: ChainSimulation | WideSimulation
    independent: ChainSimulation | None
    analytic: dict
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()
    verdict: str = "no analytic value to compare with"

    @property
    def agree(self) -> bool:
        """Every check agrees and every standard error is reliable (a check resting on few effective samples
        makes the verdict "inconclusive", never "agree"); false without analytic values to compare with."""
        return bool(self.checks) and all(c.agree and c.reliable for c in self.checks)

    def check(self, statistic: str) -> Check | None:
        return next((c for c in self.checks if c.statistic == statistic), None)

    def as_dict(self) -> dict:
        r = self.result
        head = self.checks[0] if self.checks else None
        if isinstance(r, ChainSimulation):
            top = {"mean": r.mean.value, "stderr": r.mean.stderr, "median_abs": r.median_abs.value,
                   "log_mean": r.log_mean.value}
        else:
            top = {"mean": r.slope.value, "stderr": r.slope.stderr, "median_abs": None, "log_mean": None}
        return {
            **top,
            "statistic": head.statistic if head else None,
            "analytic": head.analytic if head else None,
            "z": head.z if head else None,
            "agree": self.agree,
            "width": self.width,
            "checks": [c.as_dict() for c in self.checks],
            "analytic_values": self.analytic,
            "simulation": r.as_dict(),
            "independent": self.independent.as_dict() if self.independent else None,
            "notes": list(self.notes),
            "verdict": self.verdict,
        }


# ---------------------------------------------------------------- helpers

def _int(name: str, value: Any, low: int, high: int | None = None) -> int:
    return canonical_int(name, value, low, high, SimulationError)



def _exp(x: float) -> float:
    if x > 709.78:
        return math.inf
    return math.exp(x) if x > -746 else 0.0


def _canonical_float(name: str, value: Any) -> float:
    return canonical_float(name, value, error=SimulationError)


def _canonical_dist(spec: str | Distribution | None) -> Distribution | None:
    return None if spec is None else distribution(spec)


def _seed_sequence(seed: Any) -> np.random.SeedSequence:
    seed = _int("seed", seed, 0)
    return np.random.SeedSequence(seed)


def _progress(total: int, show: bool | None, desc: str):
    """A progress bar (``tqdm.auto``: a widget in Jupyter, text on stderr elsewhere), shown after 2 s;
    ``show=None`` means: when stderr is a terminal or the code runs in a Jupyter kernel."""
    if show is not None and not isinstance(show, (bool, np.bool_)):
        raise SimulationError(f"progress must be True, False or None, got {type(show).__name__}")
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


def _spec(d: Distribution | None) -> str | None:
    return None if d is None else d.spec


# ---------------------------------------------------------------- the chain

@dataclass(frozen=True)
class _ChainSetup:
    act: Any
    name: str
    depth: int
    weights: Distribution
    bias: Distribution | None
    preact: Distribution | None
    x: float
    samples: int
    seq: np.random.SeedSequence
    chunk: int
    params: dict
    threads: int


def default_threads() -> int:
    """The number of cores this process may run on (``os.sched_getaffinity``), the default ``threads``."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def _chain_setup(act, depth, weights, samples, seed, x, bias, preact, params, chunk, threads) -> _ChainSetup:
    a = resolve(act, params)
    a.bind(None if a.user_defined else params)  # validates the parameter names and values
    depth = _int("depth", depth, 1, MAX_DEPTH)
    samples = _int("samples", samples, 2, MAX_LAYER_SAMPLES)
    if depth * samples > MAX_LAYER_SAMPLES:
        raise SimulationError(f"depth x samples = {depth * samples:.3g} layer-samples exceeds the limit "
                              f"{MAX_LAYER_SAMPLES:.0e}; use fewer samples")
    chunk = DEFAULT_CHUNK if chunk is None else _int("chunk", chunk, 1, 10**9)
    threads = default_threads() if threads is None else _int("threads", threads, 1, MAX_THREADS)
    law = [scalar(distribution(weights))] + [None if d is None else scalar(distribution(d), role)
                                             for d, role in ((bias, "bias"), (preact, "pre-activations"))]
    return _ChainSetup(a, a.name, depth, *law,
                       _canonical_float("x", x), samples, _seed_sequence(seed), chunk, dict(params or {}), threads)


@dataclass(frozen=True)
class _Block:
    """One block's chains: log|∏| (``-inf`` for an exact zero, ``nan`` where the forward pass overflowed), the
    signs, and the block's statistics, ready to be merged in block order."""

    logs: np.ndarray
    neg: np.ndarray
    broken: np.ndarray
    moments: tuple          # (mean, mean_abs, mean_square): each (n, exponent, mean, m2) of the scaled values
    log_moments: tuple      # (n, mean, m2) of log|∏| over the non-zero products
    zeros: int


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


def _layers(s: _ChainSetup, kernel, rw, rb, rv, prod: _Product, y: np.ndarray, broken: np.ndarray,
            bar_step) -> None:
    """Run the ``s.depth`` layers of one block, multiplying every factor into ``prod``."""
    b = y.size
    v, d, t = np.empty(b), np.empty(b), np.empty(b)
    m, mant, ex, acc = prod.m, prod.mant, prod.exp, prod.acc
    frexp, mul, add = np.frexp, np.multiply, np.add
    rows = max(1, min(ROWS, s.chunk // b))
    done = 0
    while done < s.depth:
        k = min(rows, s.depth - done)
        W = s.weights.sample(rw, (k, b))
        MW, EW = frexp(W)  # the weights' mantissas and exponents, exact
        if s.preact is not None:  # independence model: v_t drawn afresh, independent of w_t
            V = s.preact.sample(rv, (k, b))
            Y, D = np.empty_like(V), np.empty_like(V)
            kernel(V, Y, D, np.empty_like(V))
            MD, ED = frexp(D)
            for row in range(k):
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
                mul(m, MW[row], out=m)
                add(acc, EW[row], out=acc)
                frexp(d, out=(mant, ex))
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
    with np.errstate(all="ignore"):
        _layers(s, kernel, rw, rb, rv, prod, np.full(b, s.x), broken, bar_step)
        m, E = prod.m, prod.E
        broken |= ~np.isfinite(m)
        neg = m < 0
        logs = np.log(np.abs(m)) + E * LN2  # -inf where m = 0
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
    mean = _summary(e, c)
    a = np.abs(e) if neg_ok.any() else e
    moments = (mean, _summary(a, c) if a is not e else mean, _summary(a * a, None if c is None else 2 * c))
    finite = lg[nonzero] if zeros else lg
    return _Block(logs, neg, broken, moments, _log_summary(finite), zeros)


def _summary(x: np.ndarray, c: int | None) -> tuple:
    """(n, exponent, mean, sum of squared deviations) of the values :math:`x 2^c`."""
    if x.size == 0:
        return (0, None, 0.0, 0.0)
    mean = float(x.mean())
    dev = x - mean
    dev *= dev  # (not np.dot: a BLAS call, slow when its threads compete for the cores)
    return (x.size, c, mean, float(dev.sum()))


def _log_summary(x: np.ndarray) -> tuple:
    if x.size == 0:
        return (0, 0.0, 0.0)
    mean = float(x.mean())
    dev = x - mean
    dev *= dev
    return (x.size, mean, float(dev.sum()))


def _chain_blocks(s: _ChainSetup, bar=None, kept: np.ndarray | None = None) -> Iterator[_Block]:
    """Yield the blocks of chains in block order, computed on ``s.threads`` threads.

    Block ``i`` uses the streams ``SeedSequence(seed).spawn(nblocks)[i].spawn(3)`` (weights, biases,
    pre-activations) whichever thread runs it, and the caller merges the blocks in order, so every number is
    bit-identical for any thread count. NumPy releases the GIL in its generators and ufunc loops, so the threads
    run in parallel. At most ``2 × threads`` finished blocks wait to be merged (memory stays bounded).
    ``kept``: block ``i`` also writes its log|∏| into ``kept[i * BLOCK:]``, as far as ``kept`` reaches.
    """
    nblocks = -(-s.samples // BLOCK)
    kernel = numpy_kernel(s.act, None if s.act.user_defined else s.params)
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


class _Moments:
    r"""Running count, mean and sum of squared deviations of :math:`x\,2^{-c}` (Chan's parallel merge), with a
    common power-of-two exponent :math:`c` so means of :math:`10^{\pm 500}` stay exact (rescaling by a power of
    two is exact)."""

    def __init__(self) -> None:
        self.n, self.c, self.mean, self.m2 = 0, None, 0.0, 0.0

    def merge(self, summary: tuple) -> None:
        """Merge ``(n, c, mean, m2)`` of values :math:`x 2^c` (``c`` None: all values are 0)."""
        n, c, m, m2 = summary
        if n == 0:
            return
        if self.n == 0:
            self.n, self.c, self.mean, self.m2 = n, c, m, m2
            return
        if c is None or self.c is None:
            C = self.c if c is None else c
        else:
            C = max(self.c, c)
        if C is None:
            self.n += n
            return
        a1 = math.ldexp(1.0, max(self.c - C, -2000)) if self.c is not None else 0.0
        a2 = math.ldexp(1.0, max(c - C, -2000)) if c is not None else 0.0
        m1, m2_ = self.mean * a1, m * a2
        total = self.n + n
        delta = m2_ - m1
        self.m2 = self.m2 * a1 * a1 + m2 * a2 * a2 + delta * delta * self.n * n / total
        self.mean = m1 + delta * n / total
        self.n, self.c = total, C

    def ess(self) -> float:
        r"""Effective sample size :math:`(\sum x)^2/\sum x^2` for non-negative values :math:`x`."""
        if self.n == 0 or self.mean == 0:
            return 0.0
        return self.n / (1.0 + self.m2 / self.n / self.mean**2)

    def stat(self) -> ScaledStat:
        if self.n == 0:
            return ScaledStat(math.nan, 0, math.nan)
        c = (self.c or 0) * LN2
        sign = int(np.sign(self.mean))
        log_abs = math.log(abs(self.mean)) + c if self.mean != 0 else -math.inf
        var_of_mean = self.m2 / (self.n - 1) / self.n if self.n > 1 else math.nan
        log_se = 0.5 * math.log(var_of_mean) + c if var_of_mean > 0 else -math.inf
        return ScaledStat(log_abs, sign, log_se)


class _Welford:
    """Running mean and sum of squared deviations (Chan's merge of per-block summaries)."""

    def __init__(self) -> None:
        self.n, self.mean, self.m2 = 0, 0.0, 0.0

    def merge(self, summary: tuple) -> None:
        n, m, m2 = summary
        if n == 0:
            return
        total = self.n + n
        delta = m - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total

    def stat(self) -> tuple[Stat, float]:
        if self.n == 0:
            return Stat(math.nan, math.nan), math.nan
        var = self.m2 / (self.n - 1) if self.n > 1 else math.nan
        return Stat(self.mean, math.sqrt(var / self.n) if self.n > 1 else math.nan), math.sqrt(var)


def _median(logs: np.ndarray) -> tuple[Stat, Stat]:
    r"""Median of :math:`|g|` from log|g| values (reordered in place), with the order-statistic standard error.

    The interval between the order statistics of ranks :math:`n/2 \pm \sqrt n/2` covers the median with
    probability about 68 % whatever the distribution; half its length is the standard error (linear and log).
    ``numpy.partition`` selects those ranks in linear time, in place.

    >>> m, lm = _median(np.log(np.array([4.0, 1.0, 3.0, 2.0, 5.0])))
    >>> round(m.value, 12)
    3.0
    """
    n = logs.size
    if n == 0:
        return Stat(math.nan, math.nan), Stat(math.nan, math.nan)
    half = math.sqrt(n) / 2
    lo = max(0, int(math.floor((n - 1) / 2 - half)))
    hi = min(n - 1, int(math.ceil((n - 1) / 2 + half)))
    mid = sorted({(n - 1) // 2, n // 2})
    # in place, no copy of up to MEDIAN_KEEP values; one rank per call (NumPy's several-ranks partition is about
    # ten times slower): rank hi, then lo below it, then the middle ranks among the few values between them
    logs.partition(hi)
    if lo < hi:
        logs[:hi].partition(lo)
    inner = [k - lo - 1 for k in mid if lo < k < hi]
    if inner:
        logs[lo + 1:hi].partition(inner)
    part = logs
    lm = float(np.logaddexp(part[mid[0]], part[mid[-1]]) - math.log(2))  # mean of the two middle values
    l_lo, l_hi = float(part[lo]), float(part[hi])
    median = Stat(_exp(lm) if lm > -math.inf else 0.0,
                  ((_exp(l_hi) if l_hi > -math.inf else 0.0) - (_exp(l_lo) if l_lo > -math.inf else 0.0)) / 2)
    log_median = Stat(lm, (l_hi - l_lo) / 2 if math.isfinite(l_hi - l_lo) else math.inf)
    return median, log_median


def simulate_chain(act, depth: int, weights: str | Distribution, samples: int = 100_000, seed: int = 0,
                   x: float = 1.0, bias: str | Distribution | None = None, preact: str | Distribution | None = None,
                   params: dict[str, float] | None = None, chunk: int | None = None,
                   progress: bool | None = None, threads: int | None = None) -> ChainSimulation:
    r"""Monte Carlo of the chain gradient :math:`\prod_{t=1}^r w_t\varphi'(v_t)` over ``samples`` chains.

    Exact chain (``preact=None``): :math:`y_0 = x`, :math:`v_t = w_t y_{t-1} + b_t`, :math:`y_t = \varphi(v_t)`,
    :math:`w_t` from ``weights``, :math:`b_t` from ``bias`` (none by default). Independence model (``preact``
    given): :math:`v_t` drawn from ``preact`` independently of everything else (``x`` and ``bias`` unused).
    ``chunk`` bounds the layer-samples drawn at once (memory about 8 bytes × chunk per drawn quantity); the
    results do not depend on it. ``threads`` (default :func:`default_threads`) runs blocks of chains in
    parallel; the results do not depend on it either. ``progress``: a bar on stderr after 2 s (``None``: only
    on a terminal).

    >>> s = simulate_chain("sigmoid", 10, "normal(1, 0.5)", samples=1000, seed=1)
    >>> s.mean.value > 0, s.zero_fraction.value
    (True, 0.0)
    """
    s = _chain_setup(act, depth, weights, samples, seed, x, bias, preact, params, chunk, threads)
    moments, logs = (_Moments(), _Moments(), _Moments()), _Welford()
    kept = np.empty(min(s.samples, MEDIAN_KEEP))  # the median's reservoir: the first chains, written by the blocks
    zeros = nonfinite = 0
    bar = _progress(s.depth * s.samples, progress,
                    f"simulate {s.name}" + (" (independence model)" if s.preact else ""))
    try:
        for block in _chain_blocks(s, bar, kept):
            for running, summary in zip(moments, block.moments):
                running.merge(summary)
            logs.merge(block.log_moments)
            zeros += block.zeros
            nonfinite += int(np.count_nonzero(block.broken))
    finally:
        if bar is not None:
            bar.close()
    n = s.samples - nonfinite
    if n < 2:
        raise SimulationError(f"{s.name}: the forward pass overflowed in {nonfinite} of {s.samples} chains; "
                              "use smaller weights or a smaller x")
    mean, mean_abs, mean_sq = moments
    log_mean, log_std = logs.stat()
    if nonfinite:  # chains whose forward pass overflowed (nan) are left out of the median too
        kept = kept[~np.isnan(kept)]
    nkept = kept.size
    median, log_median = _median(kept)
    p0 = zeros / n
    m_abs, m_sq = mean_abs.stat(), mean_sq.stat()
    ess = (_exp(math.log(n) + 2 * m_abs.log_abs - m_sq.log_abs)
           if m_abs.sign and math.isfinite(m_sq.log_abs) else 0.0)
    return ChainSimulation(
        act=s.name, depth=s.depth, weights=s.weights.spec, bias=_spec(s.bias), preact=_spec(s.preact), x=s.x,
        samples=s.samples, seed=int(seed), params=s.params,
        mean=mean.stat(), mean_abs=m_abs, mean_square=m_sq,
        log_mean=log_mean, log_std=log_std, median_abs=median, log_median_abs=log_median, median_samples=nkept,
        zero_fraction=Stat(p0, math.sqrt(p0 * (1 - p0) / n)), ess=ess, nonfinite=nonfinite,
        ess_square=mean_sq.ess())


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


# ---------------------------------------------------------------- the wide network

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

    >>> w = simulate_wide("relu", depth=6, width=64, weights="he(64)", batch=8, networks=4, seed=0)
    >>> len(w.log_mean_norm2)
    7
    """
    a = resolve(act, params)
    p = None if a.user_defined else params
    a.bind(p)
    depth = _int("depth", depth, 1, MAX_DEPTH)
    width = _int("width", width, 1, MAX_WIDTH)
    batch = _int("batch", batch, 1, MAX_BATCH)
    networks = _int("networks", networks, 2, MAX_NETWORKS)
    burn_in = min(10, depth // 3) if burn_in is None else _int("burn_in", burn_in, 0, depth - 1)
    if depth - burn_in < 1:
        raise SimulationError("the slope needs at least two layers after the burn-in")
    if depth * batch * width > MAX_WIDE_ELEMENTS:
        raise SimulationError(f"depth x batch x width = {depth * batch * width:.3g} exceeds {MAX_WIDE_ELEMENTS}"
                              " (memory); use a smaller batch, width or depth")
    if depth * batch * width * width * networks > MAX_WIDE_WORK:
        raise SimulationError(f"depth x batch x width^2 x networks = {depth * batch * width**2 * networks:.3g} "
                              f"exceeds {MAX_WIDE_WORK:.0e} (time); make the network smaller")
    wd, bd = distribution(weights), _canonical_dist(bias)
    bd = None if bd is None else scalar(bd, "bias")
    moments = {"mean": 0.0} if wd.MATRIX else wd.moments().floats()
    sigma_w2 = wd.sigma_w2() if wd.MATRIX else width * moments["mean_square"]
    sigma_b2 = bd.moments().floats()["mean_square"] if bd is not None else 0.0
    pair = numpy_pair(a, p)
    seq = _seed_sequence(seed)

    L = depth
    sums = np.empty((networks, L + 1))      # log sum over the batch of ||g_l||^2, per network
    mlog = np.empty((networks, L + 1))      # mean over the batch of log ||g_l||^2, per network
    q = np.zeros(L + 1)
    dead = np.zeros(L + 1)
    zero = np.zeros(L + 1)
    nonfinite = dead_inputs = 0
    # networks run on a thread pool, each with single-threaded BLAS (pinned, so the chain pool and BLAS threads
    # do not oversubscribe the cores, and every product is computed the same way whatever the thread count);
    # the per-network results are merged in network order, so the numbers do not depend on ``threads``
    threads = default_threads() if threads is None else _int("threads", threads, 1, MAX_THREADS)
    threads = max(1, min(threads, networks, MAX_WIDE_ELEMENTS // (L * batch * width)))
    run = functools.partial(_wide_network, L=L, batch=batch, width=width, wd=wd, bd=bd, pair=pair)
    with threadpool_limits(limits=1, user_api="blas"):
        if threads == 1:
            results = map(run, seq.spawn(networks))
        else:
            pool = ThreadPoolExecutor(max_workers=threads)
            results = pool.map(run, seq.spawn(networks))
        try:
            for k, (sums[k], mlog[k], qk, deadk, zerok, broken, lost) in enumerate(results):
                for l in range(L + 1):  # the same additions, in the same order, as one network at a time
                    q[l] += qk[l] / networks
                    dead[l] += deadk[l] / networks
                    zero[l] += zerok[l] / networks
                nonfinite += broken
                dead_inputs += lost
        finally:
            if threads > 1:
                pool.shutdown()
    if nonfinite:
        raise SimulationError(f"the forward pass overflowed in {nonfinite} of {networks} networks; "
                              "use smaller weights")
    total = math.log(networks * batch)
    log_mean = _logsumexp(sums, axis=0) - total
    dist_ = L - np.arange(L + 1)                     # layers back-propagated through
    fit = slice(burn_in, L + 1)
    slope = _slope(dist_[fit], log_mean[fit])
    jack = np.array([_slope(dist_[fit], (_logsumexp(np.delete(sums, j, axis=0), axis=0)
                                         - math.log((networks - 1) * batch))[fit]) for j in range(networks)])
    slope_se = math.sqrt((networks - 1) / networks * float(((jack - jack.mean()) ** 2).sum()))
    ok = np.isfinite(mlog).all(axis=1)  # networks with at least one input alive through every layer
    per_net = np.array([_slope(dist_[fit], mlog[j][fit]) for j in np.flatnonzero(ok)])
    k_ok = max(int(ok.sum()), 1)
    with np.errstate(invalid="ignore"):
        mean_log = tuple(Stat(float(m), float(s)) for m, s in
                         zip(mlog[ok].mean(axis=0), mlog[ok].std(axis=0, ddof=1) / math.sqrt(k_ok)))
    return WideSimulation(
        act=a.name, depth=L, width=width, weights=wd.spec, bias=_spec(bd), batch=batch, networks=networks,
        seed=int(seed), params=dict(params or {}), sigma_w2=sigma_w2, sigma_b2=sigma_b2,
        weight_mean=moments["mean"], burn_in=burn_in,
        log_mean_norm2=tuple(float(v) for v in log_mean), mean_log_norm2=mean_log,
        q=tuple(float(v) for v in q), dead_unit_fraction=tuple(float(v) for v in dead),
        zero_dphi_fraction=tuple(float(v) for v in zero),
        slope=Stat(slope, slope_se),
        slope_log=Stat(float(per_net.mean()) if len(per_net) else math.nan,
                       float(per_net.std(ddof=1) / math.sqrt(len(per_net))) if len(per_net) > 1 else math.nan),
        nonfinite=nonfinite, dead_inputs=dead_inputs)


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
    return _logsumexp(lognorm, axis=1), mean_log, q, dead, zero, broken, int(batch - alive.sum())


def _logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(m, axis=axis) + np.log(np.sum(np.exp(a - m), axis=axis))


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    if not np.all(np.isfinite(y)):
        return math.nan
    xc = x - x.mean()
    return float((xc * (y - y.mean())).sum() / (xc * xc).sum())


# ---------------------------------------------------------------- the verdict

#: Pre-activation distribution of the analytic formula when the exact chain is simulated.
#: Smallest number of non-zero products for the log_mean check to decide, and of expected zeros (or non-zeros)
#: for the zero_probability check: below, the normal approximation behind the z-score is not to be trusted.
MIN_DECIDING = 1000
MIN_BINOMIAL = 10


def _exact_analytic(act, depth, weights, x, bias, params):
    """The exact chain's values (the same network as the simulation), or a sentence saying why there are none."""
    from ..theory.chain import exact_chain

    try:
        return exact_chain(act, depth, weights, x=x, bias=bias, params=params), None
    except AnalyticError as exc:
        return None, f"no analytic value: {exc}"


def _independence_analytic(act, depth, weights, preact, params) -> tuple[Any, str | None]:
    from ..theory.gaussian import gradient_product

    try:
        return gradient_product(act, depth, weights, preact=preact, params=params), None
    except AnalyticError as exc:
        return None, f"no analytic value: {exc}"


def _with_error(sim: ScaledStat, log_error: float) -> ScaledStat:
    """``sim`` with the analytic value's error added in quadrature to its standard error (in log space)."""
    if not math.isfinite(log_error):
        return sim
    if not math.isfinite(sim.log_stderr):
        return dataclasses.replace(sim, log_stderr=log_error)
    top = max(sim.log_stderr, log_error)
    both = top + 0.5 * math.log(math.exp(2 * (sim.log_stderr - top)) + math.exp(2 * (log_error - top)))
    return dataclasses.replace(sim, log_stderr=both)


def _exact_checks(sim: ChainSimulation, c) -> list[Check]:
    r"""The simulated chain against the exact chain, quantity by quantity: ``z`` uses the standard error of the
    simulation combined with the analytic error; a check whose standard error rests on too few effective samples
    (:data:`ESS_WARN`, :data:`MIN_DECIDING`, :data:`MIN_BINOMIAL`) is marked unreliable and cannot make the
    verdict "agree"."""
    n = sim.samples - sim.nonfinite
    checks = []
    for q, ess in (("mean", sim.ess), ("mean_abs", sim.ess), ("mean_square", sim.ess_square)):
        a = c[q]
        chk = Check.of_logs(q, a.log_abs, a.sign, _with_error(getattr(sim, q), a.log_error))
        checks.append(dataclasses.replace(chk, reliable=ess >= ESS_WARN, note=_ess_note(ess, n)))
    p0 = c["zero_probability"].value
    se0 = math.sqrt(max(p0 * (1 - p0), 0.0) / n)  # the binomial standard error under the exact value
    chk = Check.of("zero_probability", p0, sim.zero_fraction.value, math.hypot(se0, c["zero_probability"].error))
    binom_ok = p0 == 0 or min(n * p0, n * (1 - p0)) >= MIN_BINOMIAL
    checks.append(dataclasses.replace(chk, reliable=binom_ok, note="" if binom_ok else
                                      f"expected number of zero (or non-zero) products below {MIN_BINOMIAL}"))
    lm = c["log_mean"]
    nonzero = n - int(round(sim.zero_fraction.value * n))
    if math.isfinite(lm.value) and math.isfinite(sim.log_mean.value):
        chk = Check.of("log_mean", lm.value, sim.log_mean.value, math.hypot(sim.log_mean.stderr, lm.error))
        ok = nonzero >= MIN_DECIDING
        checks.append(dataclasses.replace(chk, reliable=ok, note="" if ok else
                                          f"only {nonzero} non-zero products: too few to decide"))
    return [ch for ch in checks if not math.isnan(ch.z)]


def _independence_checks(sim: ChainSimulation, gp) -> list[Check]:
    """The independence-model simulation against the independence formulas (the formulas, not the network)."""
    checks = [Check.of_logs("mean", gp.log_mean_abs, int(np.sign(gp.mean_sign)), sim.mean),
              Check.of_logs("mean_square", gp.log_mean_square, 1, sim.mean_square)]
    if math.isfinite(gp.log_typical):
        checks.append(Check.of("log_mean", gp.log_typical, sim.log_mean.value, sim.log_mean.stderr))
    ess = {"mean": sim.ess, "mean_square": sim.ess_square}
    return [dataclasses.replace(c, reliable=not ess.get(c.statistic, math.inf) < ESS_WARN, note=_ess_note(
        ess.get(c.statistic, math.inf), sim.samples - sim.nonfinite)) for c in checks if not math.isnan(c.z)]


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _ess_note(ess: float, n: int) -> str:
    return "" if ess >= ESS_WARN else (f"effective sample size {ess:.3g} of {n}: heavy tails make this standard "
                                       "error unreliable")


def _bound_check(sim: ChainSimulation, gp) -> Check:
    return Check.of_logs("bound", gp.log_bound, 1, sim.mean_abs, one_sided=True,
                         note="one-sided: the crude bound must not lie below the simulated E|prod|")


def _verdict(checks) -> str:
    """"agree" only when every check agrees and every standard error is reliable; a reliable disagreement is
    "DISAGREE"; otherwise "inconclusive"."""
    if not checks:
        return "no analytic value to compare with"
    wrong = [c for c in checks if c.reliable and not c.agree]
    loose = [c for c in checks if not c.reliable]
    if wrong:
        return "DISAGREE: " + ", ".join(f"{c.statistic} (z = {c.z:.3g})" for c in wrong)
    if loose:
        return ("inconclusive: every reliable check agrees, but the standard errors of "
                + ", ".join(c.statistic for c in loose) + " rest on too few effective samples (heavy tails); "
                "simulate more chains")
    return f"agree: every check within {Z_AGREE:g} standard errors"


def simulate(act, depth: int, weights: str | Distribution, width: int = 1, samples: int = 100_000, seed: int = 0,
             x: float = 1.0, bias: str | Distribution | None = None, preact: str | Distribution | None = None,
             params: dict[str, float] | None = None, progress: bool | None = None, batch: int = 64,
             networks: int = 8, threads: int | None = None) -> Simulation:
    r"""Simulate and compare like with like; what the ``simulate`` command prints.

    Width 1, exact chain (``preact=None``): the simulated chain against the exact chain's values
    (:func:`analytic.theory.chain.exact_chain`, the same network) for ``mean``, ``mean_abs``, ``mean_square``,
    ``zero_probability`` and ``log_mean``, plus the one-sided crude ``bound``. Independence model (``preact``
    given): its simulation against the independence formulas, which checks the formulas only. Only the model asked
    for is simulated. ``z`` combines the simulation's standard error with the analytic error; "agree" needs every
    check within 4 standard errors **and** reliable standard errors, else the verdict is "inconclusive".

    Width > 1: :func:`simulate_wide` (``samples``, ``x``, ``preact`` unused); check ``slope`` of
    :math:`\log E\|g_l\|^2` per layer vs :math:`\ln\chi_1` at :math:`\sigma_w^2 = n E[w^2]`,
    :math:`\sigma_b^2 = E[b^2]`.

    >>> s = simulate("relu", 3, "constant(1)", samples=20_000, preact="normal(0, 1)")
    >>> s.check("mean").agree
    True
    """
    width = _int("width", width, 1, MAX_WIDTH)
    _int("batch", batch, 1, MAX_BATCH), _int("networks", networks, 2, MAX_NETWORKS)
    _progress(0, False if progress is None else progress, "")  # validates progress
    if width > 1:
        return _simulate_wide(act, depth, width, weights, bias, batch, seed, params, networks, preact, x)
    sim = simulate_chain(act, depth, weights, samples, seed, x, bias, preact, params, progress=progress,
                         threads=threads)
    gp, problem = _independence_analytic(act, depth, weights, sim.preact or "normal(0, 1)", params)
    if problem:
        return Simulation(sim.act, 1, sim, None, {}, (), (problem,))
    notes: list[str] = []
    if preact is None:
        c, problem = _exact_analytic(act, depth, weights, sim.x, bias, params)
        if problem:
            return Simulation(sim.act, 1, sim, None, {}, (), (problem,))
        analytic = {"model": "exact chain", "method": c.method, **c.as_dict()}
        checks = _exact_checks(sim, c)
        notes.append(f"analytic values: the exact chain (x = {sim.x:g}" + (f", bias {sim.bias}" if sim.bias else "")
                     + f"), by {c.method}, the same network as simulated")
        if c["zero_probability"].value == 0 and sim.zero_fraction.value > 0:
            notes.append("some simulated products are exactly 0 although the exact chain has none: phi' underflowed "
                         "to 0.0 in floating point for very large |v|")
    else:
        analytic = {"model": "independence approximation", **gp.as_dict()}
        checks = _independence_checks(sim, gp)
        notes.append(f"independence model: v_t ~ {sim.preact} drawn independently of w_t, compared with the "
                     "independence formulas; this checks the formulas, not a network")
    checks.append(_bound_check(sim, gp))
    if sim.nonfinite:
        notes.append(f"{sim.nonfinite} chains overflowed in the forward pass and are left out")
    return Simulation(sim.act, 1, sim, None, analytic, tuple(checks), tuple(notes), _verdict(checks))


def _log_chi(act, sigma_w2: float, q: float, params) -> float:
    r""":math:`\ln(\sigma_w^2 E[\varphi'(\sqrt q z)^2])` (nan when it cannot be computed)."""
    from ..theory.gaussian import gaussian_expectation

    try:
        value = sigma_w2 * gaussian_expectation(act, "dphi2", 0.0, math.sqrt(max(q, 0.0)), params=params).value
    except AnalyticError:
        return math.nan
    return math.log(value) if value > 0 else -math.inf


def _simulate_wide(act, depth, width, weights, bias, batch, seed, params, networks, preact, x) -> Simulation:
    sim = simulate_wide(act, depth, width, weights, bias, batch, seed, params, networks)
    notes = []
    if preact is not None or x != 1.0:
        notes.append("--preact and --x apply to the chain only (width 1); the wide network draws its inputs "
                     "from N(0, I)")
    try:
        from ..theory.meanfield import mean_field
    except ImportError:  # pragma: no cover
        return Simulation(sim.act, width, sim, None, {}, (), tuple(notes + ["analytic values unavailable"]))
    try:
        mf = mean_field(act, sim.sigma_w2, sim.sigma_b2, params=params)
    except AnalyticError as exc:
        return Simulation(sim.act, width, sim, None, {}, (), tuple(notes + [f"no analytic value: {exc}"]))
    chi1, q_star = _float(mf.chi1), _float(mf.q_star)
    a = {"sigma_w2": sim.sigma_w2, "sigma_b2": sim.sigma_b2, "q_star": q_star, "chi1": chi1,
         "log_chi1": math.log(chi1) if chi1 > 0 else -math.inf,
         "depth_scale": _float(getattr(mf, "depth_scale", math.nan))}
    note = "slope of log E||dL/dy_l||^2 per layer back-propagated (jackknife stderr over networks) vs ln chi_1"
    if sim.weight_mean != 0:
        note += f"; mean field assumes zero-mean weights, these have mean {sim.weight_mean:g}"
    checks = (Check.of("slope", a["log_chi1"], sim.slope.value, sim.slope.stderr, note),) if chi1 > 0 else ()
    if checks and not checks[0].agree:
        q0, q1 = sim.q[sim.burn_in], sim.q[-1]
        off = not (math.isfinite(q_star) and q_star > 0) or max(abs(q0 - q_star), abs(q1 - q_star)) > 0.05 * q_star
        if off:
            rates = [_log_chi(act, sim.sigma_w2, q, params) for q in (q0, q1)]
            extra = (f"the forward pass has not reached the fixed point: q = {q0:.4g} .. {q1:.4g} over the fitted "
                     f"layers, q* = {q_star:.4g}; there ln(sigma_w^2 E[phi'(sqrt(q) z)^2]) = {rates[0]:.4g} .. "
                     f"{rates[1]:.4g}, so the rate ln chi_1 at q* does not apply to these layers")
        else:
            extra = (f"q = {q1:.4g} at the last layer, q* = {q_star:.4g}; finite width {width} adds O(1/n) "
                     "corrections to the mean-field rate")
        checks = (dataclasses.replace(checks[0], note=note + "; " + extra),)
    exact = _finite_width_rates(act, sim, weights, params)
    if exact is not None:  # the ReLU family with Gaussian weights: exact rates at this width replace mean field
        a.update(exact)
        fw = "exact finite-width law (Hanin & Nica 2019) at width " + str(width)
        checks = (Check.of("slope", exact["finite_width_slope"], sim.slope.value, sim.slope.stderr,
                           note + f"; {fw}: ln(sigma_w^2 E[phi'^2]) - ln P(a layer is alive)"),
                  Check.of("slope_log", exact["finite_width_slope_log"], sim.slope_log.value, sim.slope_log.stderr,
                           f"typical rate: slope of the mean log ||dL/dy_l||^2 (stderr over networks) vs the {fw}: "
                           "ln(sigma_w^2/n) + E[ln(chi2_k + a^2 chi2_(n-k)) | alive], k ~ Bin(n, 1/2)"))
    elif chi1 > 0:
        checks += (Check.of("slope_log", a["log_chi1"], sim.slope_log.value, sim.slope_log.stderr,
                            "typical rate vs mean field ln chi_1 (n -> infinity; no exact law at finite width for "
                            "this network, which lowers the typical rate by O(1/n))"),)
    return Simulation(sim.act, width, sim, None, a, checks, tuple(notes), _verdict(checks))


def _finite_width_rates(act, sim: WideSimulation, weights, params) -> dict | None:
    r"""Per-layer rates of :math:`\log E\|g_l\|^2` and of :math:`E\log\|g_l\|^2` from the exact law, or None.

    With :math:`u \sim N(0, I)`, :math:`\|g_l\|^2 \overset{d}{=} \|u'\|^2\,\|J_{l\to L}\hat u\|^2`
    (:math:`JJ^\top` and :math:`J^\top J` share their nonzero spectrum), and layer l is reached alive with
    probability :math:`(1 - P_0)^l`, so the mean-square slope is :math:`\ln(c\,E S) - \ln(1 - P_0)`.
    """
    from ..distributions import Normal
    from ..theory.finite_width import exact_law_reason, finite_width

    wd = distribution(weights)
    if not isinstance(wd, Normal) or sim.weight_mean != 0 or sim.bias is not None:
        return None
    if exact_law_reason(act, 0.0, "gaussian", params) is not None:
        return None
    one = finite_width(act, 1, sim.sigma_w2, sim.width, params=params, median=False)
    dead = one.dead_probability.exact
    return {"finite_width_slope": math.log(one.mean.exact) - math.log1p(-dead),
            "finite_width_slope_log": one.log_mean.exact,
            "finite_width_mean_field_gap": one.log_mean.exact - one.log_mean.mean_field}
