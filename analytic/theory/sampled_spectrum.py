r"""The sampled spectrum of :math:`JJ^\top`: real networks of finite width at the mean-field fixed point.

The Monte Carlo twin of :func:`analytic.theory.spectral_moments.spectrum_moments`: per network
:math:`\hat m_1 = \mathrm{tr}(JJ^\top)/n` and :math:`\hat\sigma^2 = \mathrm{tr}((JJ^\top)^2)/n - \hat m_1^2`, with
standard errors across independent networks; its moments differ from the large-width values by
:math:`O(1/n)` besides the sampling error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.calculus import numpy_pair, resolve
from ..errors import ArgumentError, ConvergenceError, DepthError, canonical_int
from ..limits import check_array
from .meanfield import mean_field
from .spectral_moments import _canonical_weights

#: Sampled eigenvalues at most this times the largest count as zero (SVD rounds a rank-deficient product's zero
#: singular values to about 1e-16 times the largest, so their squares fall near 1e-32).
ZERO_EIGENVALUE = 1e-24
#: Largest depth × width³ × networks (multiply-adds) accepted by :func:`sample_spectrum`.
MAX_SPECTRUM_WORK = 4e11


@dataclass(frozen=True)
class Sampled:
    """A Monte Carlo mean with its standard error (across independent networks)."""

    value: float
    stderr: float


@dataclass(frozen=True)
class SampledSpectrum:
    r"""Spectra of :math:`JJ^\top` of ``networks`` sampled width-``width`` networks: per network
    :math:`\hat m_1 = \mathrm{tr}(JJ^\top)/n` and :math:`\hat\sigma^2 = \mathrm{tr}((JJ^\top)^2)/n - \hat m_1^2`,
    averaged with standard errors across networks; ``eigenvalues`` pooled (sorted) for histograms."""

    width: int
    networks: int
    seed: int
    m1: Sampled
    variance: Sampled
    eigenvalues: tuple[float, ...]

    def as_dict(self, bins: int = 60) -> dict:
        ev = np.array(self.eigenvalues)
        zero = ev <= ZERO_EIGENVALUE * ev.max() if len(ev) else ev > 0
        pos = ev[~zero]
        edges = np.geomspace(pos.min(), pos.max(), bins + 1) if len(pos) > 1 else np.array([0.0, 1.0])
        counts, _ = np.histogram(pos, edges)
        values = counts / (len(ev) * np.diff(edges))
        return {"width": self.width, "networks": self.networks, "seed": self.seed,
                "m1": self.m1.value, "m1_stderr": self.m1.stderr,
                "variance": self.variance.value, "variance_stderr": self.variance.stderr,
                "density": {"variable": "eigenvalue lambda of J J^T", "edges": edges.tolist(),
                            "values": values.tolist(), "zero_fraction": float(np.mean(zero)),
                            "zero_threshold": f"lambda <= {ZERO_EIGENVALUE:g} x the largest (rounding of a "
                                              "rank-deficient product)"}}


def _weights_matrix(rng: np.random.Generator, n: int, sigma_w2: float, weights: str) -> np.ndarray:
    from ..distributions import haar_orthogonal

    if weights == "gaussian":
        return rng.normal(0.0, math.sqrt(sigma_w2 / n), (n, n))
    return math.sqrt(sigma_w2) * haar_orthogonal(rng, n)


def sample_spectrum(act, depth: int, sigma_w2: float, width: int, sigma_b2: float = 0.0, weights: str = "gaussian",
                    networks: int = 8, seed: int = 0, params: dict | None = None) -> SampledSpectrum:
    r"""The Monte Carlo twin of :func:`spectrum_moments`: real networks of width n at the fixed point.

    Input :math:`x_0 = \varphi(h_0)`, :math:`h_0 \sim N(0, q^* I)` (so every layer starts at :math:`q^*`);
    :math:`h_l = W_l x_{l-1} + b_l`, :math:`b_l \sim N(0, \sigma_b^2)`; :math:`J = \prod_l D_l W_l`. The
    eigenvalues of :math:`JJ^\top` are the squared singular values of J (``numpy.linalg.svd``, which keeps the
    small ones that ``eigvalsh`` of the product would lose to rounding). Network k draws from
    ``SeedSequence(seed).spawn(networks)[k]``.

    >>> s = sample_spectrum("identity", 2, 1.0, width=50, weights="orthogonal", networks=2)
    >>> round(s.m1.value, 12), abs(round(s.variance.value, 12))  # the variance may round to -0.0
    (1.0, 0.0)
    """
    depth = canonical_int("depth", depth, 1, 10**4, DepthError)
    width = canonical_int("width", width, 2, 10**4, ArgumentError)
    networks = canonical_int("networks", networks, 2, 10**5, ArgumentError)
    weights = _canonical_weights(weights)
    seed = canonical_int("seed", seed, 0, error=ArgumentError)
    check_array("sampled spectrum: a weight matrix and the Jacobian (width x width)", (width, width))
    if depth * width ** 3 * networks > MAX_SPECTRUM_WORK:
        raise ArgumentError(f"depth x width^3 x networks = {depth * width ** 3 * networks:.3g} exceeds "
                            f"{MAX_SPECTRUM_WORK:.0e} (time); use a smaller width or fewer networks")
    a = resolve(act, params)
    mf = mean_field(a, sigma_w2, sigma_b2)
    q = float(mf.q_star)
    from .finite_width import relu_family

    if not (math.isfinite(q) and q > 0) and relu_family(a) is not None:
        q = 1.0  # positively homogeneous phi: the law of phi'(h) does not depend on q
    if not math.isfinite(q):
        raise ConvergenceError(f"no finite fixed point q* at sigma_w2 = {sigma_w2:g}, sigma_b2 = {sigma_b2:g}")
    pair = numpy_pair(a)
    sw, sb = float(mf.sigma_w2), float(mf.sigma_b2)
    m1s, vs, evs = [], [], []
    for child in np.random.SeedSequence(int(seed)).spawn(networks):
        rng = np.random.default_rng(child)
        x, _ = pair(math.sqrt(q) * rng.standard_normal(width))
        J = np.eye(width)
        for _ in range(depth):
            W = _weights_matrix(rng, width, sw, weights)
            h = W @ x + (rng.normal(0.0, math.sqrt(sb), width) if sb > 0 else 0.0)
            x, d = pair(h)
            J = np.broadcast_to(d, (width,))[:, None] * (W @ J)
        lam = np.linalg.svd(J, compute_uv=False) ** 2
        m1s.append(lam.mean())
        vs.append(np.mean(lam ** 2) - lam.mean() ** 2)
        evs.append(lam)
    se = lambda v: float(np.std(v, ddof=1) / math.sqrt(len(v)))  # noqa: E731
    return SampledSpectrum(width, networks, int(seed), Sampled(float(np.mean(m1s)), se(m1s)),
                           Sampled(float(np.mean(vs)), se(vs)), tuple(np.sort(np.concatenate(evs)).tolist()))
