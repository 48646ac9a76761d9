r"""Exact finite-width law of the squared Jacobian norm of ReLU-family networks with Gaussian weights.

Network of depth L and widths :math:`n_0, \dots, n_L`, no bias, :math:`W^{(l)}_{ij} \sim N(0, \sigma_w^2/n_{l-1})`,
:math:`\varphi(x) = x` for :math:`x > 0` and :math:`a x` for :math:`x < 0` (ReLU :math:`a = 0`, leaky ReLU, the
identity :math:`a = 1`; a positive factor in front is allowed). For the input-output Jacobian J at an input
:math:`x_0 \ne 0` and any unit vector u (Hanin & Nica 2019, "Products of many large random matrices and
gradients in deep neural networks"):

.. math::
    \|J u\|^2 \overset{d}{=} \prod_{l=1}^{L} \frac{\sigma_w^2}{n_{l-1}}\,
        \bigl(\chi^2_{k_l} + a^2 \chi^2_{n_l - k_l}\bigr), \qquad k_l \sim \mathrm{Bin}(n_l, \tfrac12),

all factors independent. Why: write :math:`W u = \alpha\, W\hat x + \beta\, W u_\perp`; the pattern of active units
depends on :math:`W\hat x` only, and :math:`(W u)_i^2` has the same law given either sign of :math:`(W \hat x)_i`
(flip the whole row), so given the pattern the squares are independent :math:`(\sigma_w^2/n)\chi^2_1`; the next
layer sees a fresh Gaussian matrix. For ReLU the network is dead (:math:`J = 0`) when some :math:`k_l = 0`.

Everything below follows from the law with finite sums over the binomial and one-dimensional integrals:
:math:`E\ln\chi^2_k = \psi(k/2) + \ln 2`, :math:`\mathrm{Var}\ln\chi^2_k = \psi'(k/2)`; for :math:`0 < a^2 \ne 1`,
:math:`\chi^2_k + a^2\chi^2_{n-k} = T\,(a^2 + (1-a^2)B)` with :math:`T \sim \chi^2_n` independent of
:math:`B \sim \mathrm{Beta}(k/2, (n-k)/2)`, whose log moments are integrated by quadrature.

>>> fw = finite_width("relu", depth=10, sigma_w2=2.0, widths=16)
>>> round(fw.mean.exact, 12), fw.log_mean.exact < 0
(1.0, True)
"""
from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from ..core.display import displayable, quantity_rows, quantity_text, with_model
from ..core.calculus import numpy_pair, resolve
from ..core.registry import BoundActivation
from ..errors import ArgumentError, DepthError, canonical_bool, canonical_int, canonical_ints, canonical_text
from .meanfield import _canonical_variances

#: Largest width accepted (the binomial sums run over k = 0..n).
MAX_WIDTH = 100_000


@dataclass(frozen=True)
class Value:
    """An exact value beside its large-width approximation and the mean-field (n → ∞) limit."""

    exact: float
    error: float
    large_width: float
    mean_field: float

    def as_dict(self) -> dict:
        gap = self.exact - self.large_width if math.isfinite(self.exact) and math.isfinite(self.large_width) else None
        return {"exact": self.exact, "error": self.error, "large_width": self.large_width,
                "mean_field": self.mean_field, "gap": gap}


@displayable(title=lambda f: f"finite-width network (exact law): {f.act}, widths {list(f.widths)}",
             name="FiniteWidthNetwork",
             headline=("act", ("widths", lambda f: ",".join(map(str, f.widths[:4])) + ("…" if len(f.widths) > 4 else "")),
                       "sigma_w2", ("mean", lambda f: quantity_text(f.mean))),
             summary=with_model("finite-width network, exact law"),
             rows=lambda f: quantity_rows({q: getattr(f, q) for q in ("mean", "mean_square", "log_mean", "log_variance",
                                                                      "dead_probability", "median", "log_median")},
                                          model="finite-width network, exact law"))
@dataclass(frozen=True)
class FiniteWidth:
    r"""The exact law's summaries of :math:`\|Ju\|^2`; ``log_*`` over the networks that are not dead."""

    act: str
    widths: tuple[int, ...]
    sigma_w2: float
    slopes2: tuple[float, float]
    mean: Value
    mean_square: Value
    log_mean: Value
    log_variance: Value
    dead_probability: Value
    median: Value
    log_median: Value
    layer_log_mean: tuple[float, ...]
    notes: tuple[str, ...]

    def as_dict(self) -> dict:
        out = {k: getattr(self, k).as_dict() for k in
               ("mean", "mean_square", "log_mean", "log_variance", "dead_probability", "median", "log_median")}
        out.update(act=self.act, widths=list(self.widths), sigma_w2=self.sigma_w2,
                   dphi2=list(self.slopes2), layer_log_mean=list(self.layer_log_mean), notes=list(self.notes),
                   law="prod_l (sigma_w^2/n_(l-1)) (chi2_(k_l) + a^2 chi2_(n_l - k_l)), k_l ~ Bin(n_l, 1/2)")
        return out


def relu_family(act, params: dict | None = None) -> tuple[float, float] | None:
    r""":math:`(\varphi'(+)^2, \varphi'(-)^2)` when :math:`\varphi(x) = c_\pm x` on each side of 0, else None.

    Checked numerically on a grid of ±[1e-3, 1e3]: φ′ constant on each side and φ(x) = φ′(x) x.

    >>> relu_family("relu"), relu_family("tanh")
    ((1.0, 0.0), None)
    """
    a = resolve(act, params)
    x = np.concatenate([np.geomspace(1e-3, 1e3, 13), -np.geomspace(1e-3, 1e3, 13)])
    try:
        y, d = numpy_pair(a)(x)
    except Exception:  # noqa: BLE001 -- an activation NumPy cannot evaluate has no law here
        return None
    y, d = np.broadcast_to(y, x.shape), np.broadcast_to(d, x.shape)
    if not (np.all(np.isfinite(y)) and np.all(np.isfinite(d))):
        return None
    pos, neg = d[:13], d[13:]
    ok = (np.ptp(pos) <= 1e-12 * max(1.0, abs(pos[0])) and np.ptp(neg) <= 1e-12 * max(1.0, abs(neg[0]))
          and np.allclose(y, d * x, rtol=1e-12, atol=0.0) and pos[0] != 0)
    return (float(pos[0]) ** 2, float(neg[0]) ** 2) if ok else None


def exact_law_reason(act, sigma_b2: float = 0.0, weights: str = "gaussian", params: dict | None = None) -> str | None:
    """Why there is no exact finite-width law for this network (None when there is one)."""
    act = resolve(act, params)
    if relu_family(act) is None:
        return ("no exact finite-width law: it is known for positively homogeneous piecewise-linear activations "
                "(ReLU, leaky ReLU, linear), where each unit's derivative is one of two constants")
    if weights != "gaussian":
        return ("no exact finite-width law: the chi-square product law needs Gaussian weights (rows of an "
                "orthogonal matrix are not independent)")
    if sigma_b2 != 0:
        return "no exact finite-width law: with a bias the active units no longer number Bin(n, 1/2)"
    return None


def canonical_widths(widths: int | Sequence[int], depth: int) -> tuple[int, ...]:
    """``n`` → (n,)·(L+1); a sequence of 1 or L + 1 widths :math:`n_0, \\dots, n_L`."""
    if isinstance(widths, (numbers.Number, np.generic)) and not isinstance(widths, bool):
        ns = (canonical_int("width", widths, 1, MAX_WIDTH, ArgumentError),)
    else:
        ns = canonical_ints("widths", widths, 1, MAX_WIDTH)
    if len(ns) == 1:
        return ns * (depth + 1)
    if len(ns) != depth + 1:
        raise ArgumentError(f"give one width or depth + 1 = {depth + 1} widths (n_0, ..., n_L), got {len(ns)}")
    return ns


@dataclass(frozen=True)
class _Layer:
    mean: float          # E[S], S = chi2_k + a^2 chi2_(n-k)
    mean_square: float   # E[S^2]
    log_mean: float      # E[ln S | alive]
    log_var: float       # Var[ln S | alive]
    log_error: float
    dead: float          # P(S = 0)


def _binomial(n: int) -> tuple[np.ndarray, np.ndarray]:
    """k and Bin(n, 1/2) probabilities, leaving out k where the pmf is below 1e-300 (no effect in doubles)."""
    k = np.arange(n + 1)
    p = stats.binom.pmf(k, n, 0.5)
    keep = p > 1e-300
    return k[keep], p[keep]


@functools.lru_cache(maxsize=4096)
def _beta_log(k: int, n: int, a2: float) -> tuple[float, float, float]:
    r"""E and Var of :math:`\ln(a^2 + (1-a^2)B)`, :math:`B \sim \mathrm{Beta}(k/2, (n-k)/2)`, by quad (with error)."""
    if k == 0:
        return math.log(a2), 0.0, 0.0
    if k == n:
        return 0.0, 0.0, 0.0
    pdf = stats.beta(k / 2, (n - k) / 2).pdf
    f1 = lambda b: math.log(a2 + (1 - a2) * b) * pdf(b)  # noqa: E731
    m, e1 = integrate.quad(f1, 0, 1, limit=200, epsabs=1e-13, epsrel=1e-12)
    f2 = lambda b: (math.log(a2 + (1 - a2) * b) - m) ** 2 * pdf(b)  # noqa: E731
    v, e2 = integrate.quad(f2, 0, 1, limit=200, epsabs=1e-13, epsrel=1e-12)
    return m, v, e1 + e2


@functools.lru_cache(maxsize=1024)
def _layer(n: int, b_pos: float, b_neg: float) -> _Layer:
    r"""Law of :math:`S = b_+\chi^2_k + b_-\chi^2_{n-k}`, :math:`k \sim \mathrm{Bin}(n, 1/2)`."""
    k, p = _binomial(n)
    mean_k = b_pos * k + b_neg * (n - k)
    var_k = 2 * (b_pos ** 2 * k + b_neg ** 2 * (n - k))
    mean, mean_square = float(p @ mean_k), float(p @ (var_k + mean_k ** 2))
    if b_neg == 0:  # ReLU-like: S = b+ chi2_k, dead when k = 0
        alive = k > 0
        k, p = k[alive], p[alive]
        dead = 0.5 ** n
        p = p / p.sum()
        m_k = special.digamma(k / 2) + math.log(2) + math.log(b_pos)
        v_k = special.polygamma(1, k / 2)
        err = 0.0
    else:  # S = b+ T (r + (1 - r) B), r = b-/b+, T ~ chi2_n
        r = b_neg / b_pos
        beta = np.array([_beta_log(int(j), n, r) for j in k]) if r != 1 else np.zeros((len(k), 3))
        m_k = special.digamma(n / 2) + math.log(2) + math.log(b_pos) + beta[:, 0]
        v_k = special.polygamma(1, n / 2) + beta[:, 1]
        err, dead = float(p @ beta[:, 2]), 0.0
    log_mean = float(p @ m_k)
    log_var = float(p @ v_k + p @ (m_k - log_mean) ** 2)
    return _Layer(mean, mean_square, log_mean, log_var, err + 1e-15 * (abs(log_mean) + log_var), dead)


def _mixture(n: int, b_neg: float, b_pos: float) -> tuple[np.ndarray, np.ndarray, float]:
    """(k, weights, mass left out) of the alive law: k = n for linear layers, else Bin(n, 1/2) given k >= 1
    with the k whose pmf is below 1e-17 left out."""
    if b_neg == b_pos:
        return np.array([n]), np.array([1.0]), 0.0
    k, p = _binomial(n)
    keep = (k > 0) & (p > 1e-17)
    total = p[k > 0].sum()
    return k[keep], p[keep] / total, float(p[(k > 0) & ~keep].sum() / total)


def _char(mix, scale: float, u: np.ndarray) -> np.ndarray:
    r"""Characteristic function of :math:`\ln S` given alive: :math:`E S^{iu} = \sum_k p_k (2s)^{iu}
    \Gamma(k/2 + iu)/\Gamma(k/2)` for S = s·χ²_k."""
    k, p, _ = mix
    lg = special.loggamma(k[None, :] / 2 + 1j * u[:, None]) - special.loggamma(k[None, :] / 2)
    return np.exp(1j * u * math.log(2 * scale)) * (np.exp(lg) @ p)


def _gil_pelaez(layers, b_pos: float, b_neg: float, mean: float, sd: float, target: float, panels: int) -> float:
    r"""Quantile of :math:`Y = \sum_l \ln(c_l S_l)` from
    :math:`F(y) = \tfrac12 - \tfrac1\pi\int_0^U \mathrm{Im}(e^{-iuy}E e^{iuY})/u\,du` (Gil-Pelaez), composite
    16-point Gauss–Legendre on ``panels`` panels of [0, U], U where :math:`|E e^{iuY}| < 10^{-17}`."""
    from scipy.optimize import brentq

    groups: dict[tuple[int, float], int] = {}
    for n, c in layers:
        groups[(n, c)] = groups.get((n, c), 0) + 1
    mixes = [(_mixture(n, b_neg, b_pos), c * b_pos, count) for (n, c), count in groups.items()]

    def cf(u):
        out = np.exp(-1j * u * mean)
        for mix, scale, count in mixes:
            out = out * _char(mix, scale, u) ** count
        return out

    U = 1.0 / sd
    while abs(cf(np.array([U]))[0]) > 1e-17 and U < 1e6:
        U *= 1.5
    x, w = np.polynomial.legendre.leggauss(16)
    a = np.arange(panels) * U / panels
    u = (a[:, None] + (x[None, :] + 1) * U / (2 * panels)).ravel()
    wu = np.tile(w * U / (2 * panels), panels)
    g = cf(u) / u
    F = lambda t: 0.5 - float(np.imag(np.exp(-1j * u * t) * g) @ wu) / math.pi - target  # noqa: E731
    lo, hi = -sd, sd
    while F(lo) > 0:
        lo *= 2
    while F(hi) < 0:
        hi *= 2
    return mean + brentq(F, lo, hi, xtol=1e-13 * max(1.0, sd))


def _log_median(layers, b_pos: float, b_neg: float, mean: float, sd: float, target: float
                ) -> tuple[float, float, float]:
    """The ``target`` quantile of the alive law, the change from 64 to 128 panels (its error estimate), and
    the probability mass left out (k with pmf below 1e-17), which shifts the quantile level at most by that."""
    coarse = _gil_pelaez(layers, b_pos, b_neg, mean, sd, target, 64)
    fine = _gil_pelaez(layers, b_pos, b_neg, mean, sd, target, 128)
    tail = sum(_mixture(n, b_neg, b_pos)[2] for n, _ in layers)
    return fine, abs(fine - coarse) + 1e-12 * max(1.0, abs(fine)), tail


def _median_summary(wanted: bool, dead: float, layers: list, b_pos: float, b_neg: float, log_mean: float,
                    log_var: float) -> tuple[float, float, str]:
    r"""(log median, its error, a note) of :math:`\|Ju\|^2`: 0 when more than half the networks are dead, by
    Gil-Pelaez inversion of the alive law for ReLU and the linear case, else not computed (nan)."""
    if not wanted:
        return math.nan, math.nan, ""
    if dead >= 0.5:
        return -math.inf, 0.0, "more than half of the networks are dead: the median is 0"
    if b_neg == 0 or b_neg == b_pos:
        q = (0.5 - dead) / (1 - dead)
        med, med_err, tail = _log_median(layers, b_pos, b_neg, log_mean, math.sqrt(log_var), q)
        return med, med_err, (f"median: quantile {q:.17g} of the alive law by Gil-Pelaez inversion of its "
                              f"characteristic function; error estimate {med_err:.2g} in the log (64 vs 128 panels)"
                              + (f", mass {tail:.1g} left out" if tail else ""))
    return math.nan, math.nan, "median: not computed for 0 < |a| != 1 (its law is a chi-square-times-beta mixture)"


def finite_width(act, depth: int, sigma_w2: float, widths: int | Sequence[int], params: dict | None = None,
                 sigma_b2: float = 0.0, weights: str = "gaussian", median: bool = True) -> FiniteWidth:
    r"""Exact summaries of :math:`\|Ju\|^2` at finite widths, beside the large-width approximation.

    Large width (labelled so): per layer :math:`\ln(c S)` treated as normal with the delta-method mean
    :math:`\ln(c\,E S) - V/2` and variance :math:`V = \mathrm{Var}\,S/(E S)^2` (ReLU: :math:`5/n`, Hanin 2018),
    so :math:`E\|Ju\|^4 \approx (E\|Ju\|^2)^2 e^{\sum V_l}` and the median :math:`\approx e^{\text{log mean}}`;
    dead probability :math:`\approx \sum_l 2^{-n_l}`. Mean field: :math:`n \to \infty`, no spread.
    ``median=False`` skips the median (nan), the one part that needs a numerical inversion.
    Raises :class:`~analytic.errors.ArgumentError` when there is no exact law (:func:`exact_law_reason`).

    >>> p = finite_width("relu", 2, 2.0, 8).dead_probability.exact  # 1 - (1 - 2^-8)^2, to rounding
    >>> abs(p - (1 - (1 - 2**-8) ** 2)) < 1e-17
    True
    """
    depth = canonical_int("depth", depth, 1, 10**4, DepthError)
    sw, sigma_b2 = _canonical_variances(sigma_w2, sigma_b2)
    weights = canonical_text("weights", weights)
    median = canonical_bool("median", median)
    act = resolve(act, params)
    reason = exact_law_reason(act, sigma_b2, weights)
    if reason:
        raise ArgumentError(reason)
    ns = canonical_widths(widths, depth)
    try:
        return _finite_width(act, depth, sw, ns, median)
    except OverflowError:
        raise ArgumentError(f"{act.name}: the moments of ||J u||^2 over {depth} layers of widths {ns[0]}"
                            f"{'...' if len(set(ns)) > 1 else ''} leave the float range") from None


def _finite_width(act: BoundActivation, depth: int, sw: float, ns: tuple[int, ...], median: bool) -> FiniteWidth:
    """The summaries of :func:`finite_width` for validated arguments."""
    b_pos, b_neg = relu_family(act)
    cs = [sw / ns[l - 1] for l in range(1, depth + 1)]
    lays = [_layer(ns[l], b_pos, b_neg) for l in range(1, depth + 1)]
    log_mean_field = [math.log(c * ns[l + 1] * (b_pos + b_neg) / 2) for l, c in enumerate(cs)]
    V = [lay.mean_square / lay.mean ** 2 - 1 for lay in lays]
    log_mean = sum(math.log(c) + lay.log_mean for c, lay in zip(cs, lays))
    log_err = sum(lay.log_error for lay in lays)
    log_var = sum(lay.log_var for lay in lays)
    lw_log_mean = sum(m - v / 2 for m, v in zip(log_mean_field, V))
    mf = math.exp(sum(log_mean_field))
    mean = math.exp(sum(math.log(c * lay.mean) for c, lay in zip(cs, lays)))
    msq = math.exp(sum(math.log(c * c * lay.mean_square) for c, lay in zip(cs, lays)))
    alive = math.exp(sum(math.log1p(-lay.dead) for lay in lays))
    dead = -math.expm1(sum(math.log1p(-lay.dead) for lay in lays))
    lw_dead = sum(lay.dead for lay in lays)
    notes = ["input x_0 != 0, any unit direction u; weights N(0, sigma_w^2/n_(l-1)), no bias"]
    med, med_err, note = _median_summary(median, dead, list(zip(ns[1:], cs)), b_pos, b_neg, log_mean, log_var)
    notes += [note] if note else []
    rel = 1e-14 * depth
    return FiniteWidth(
        act=act.name, widths=ns, sigma_w2=sw, slopes2=(b_pos, b_neg),
        mean=Value(mean, rel * mean, mf, mf),
        mean_square=Value(msq, rel * msq, mf ** 2 * math.exp(sum(V)), mf ** 2),
        log_mean=Value(log_mean, log_err + rel * abs(log_mean), lw_log_mean, math.log(mf)),
        log_variance=Value(log_var, log_err + rel * log_var, sum(V), 0.0),
        dead_probability=Value(dead, 1e-16 * depth, lw_dead, 0.0),
        median=Value(math.exp(med), math.exp(med) * math.expm1(med_err) if math.isfinite(med) else med_err,
                     math.exp(lw_log_mean), mf),
        log_median=Value(med, med_err, lw_log_mean, math.log(mf)),
        layer_log_mean=tuple(math.log(c) + lay.log_mean for c, lay in zip(cs, lays)),
        notes=tuple(notes + [f"P(alive) = {alive:.17g}"]))
