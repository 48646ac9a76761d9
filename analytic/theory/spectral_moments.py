r"""Moments of the spectrum of :math:`JJ^\top` for the input-output Jacobian of a deep network at large width.

Network of depth L and width :math:`n \to \infty` at the mean-field fixed point :math:`q^*` of
:math:`(\sigma_w^2, \sigma_b^2)`: :math:`J = \prod_l D_l W_l` with :math:`D_l = \mathrm{diag}(\varphi'(h_l))`,
:math:`h \sim N(0, q^*)`, and :math:`W_l` Gaussian (entries :math:`N(0, \sigma_w^2/n)`) or :math:`\sigma_w` times
a Haar orthogonal matrix. Free probability (Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in
deep learning through dynamical isometry"; 2018, "The emergence of spectral universality in deep networks"):
the factors are asymptotically free, so S-transforms multiply,

.. math::
    S_{JJ^\top}(z) = \prod_{l=1}^L S_{D^2}(z)\, S_{WW^\top}(z), \qquad
    S_{WW^\top}^{\mathrm{Gauss}} = \frac{1}{1+z}, \quad S_{WW^\top}^{\mathrm{orth}} = 1,

with :math:`W` normalised to unit scale and :math:`\sigma_w` put into :math:`D`:
:math:`d^2 = \sigma_w^2\varphi'(h)^2`, :math:`\mu_k = E[d^{2k}]`. Writing :math:`S(z) = s_0 + s_1 z + \dots`, a
measure's :math:`m_1 = 1/s_0` and :math:`m_2/m_1^2 = 1 - s_1/s_0`, so the normalised variance adds over free
factors: :math:`\sigma^2_{JJ^\top}/m_1^2 = L(\mu_2/\mu_1^2 - 1) + L\,[\text{Gaussian}]` (Marchenko–Pastur has
normalised variance 1, the orthogonal ensemble 0), and :math:`m_1 = \mu_1^L = \chi_1^L`.

The law of :math:`d^2` is tabulated by Gauss–Legendre rules on the pieces of :math:`z \in [-8.5, 8.5]` between
the kinks (error from two orders); the density (:mod:`analytic.theory.density`) sums over a coarser table of it.

>>> s = spectrum_moments("identity", depth=4, sigma_w2=1.0, weights="gaussian")
>>> s.m1, s.variance   # Fuss-Catalan: m_2 = L + 1
(1.0, 4.0)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..core.calculus import numpy_pair, resolve
from ..core.registry import BoundActivation
from ..errors import ArgumentError, ConvergenceError, DepthError, canonical_int, canonical_text, show_value
from .meanfield import mean_field

WEIGHTS = ("gaussian", "orthogonal")
#: Gauss–Legendre nodes per piece (between kinks) of the law of d^2 over z in [-Z_MAX, Z_MAX].
NODES, Z_MAX = 200, 8.5


@dataclass(frozen=True)
class D2Law:
    r"""The law of :math:`d^2 = \sigma_w^2\varphi'(\sqrt{q^*}z)^2` as weighted atoms (``values``, ``weights``)."""

    values: tuple[float, ...]
    weights: tuple[float, ...]
    mu1: float
    mu2: float
    error: float
    zero_mass: float


@dataclass(frozen=True)
class SpectrumMoments:
    """Large-width moments of the spectrum of :math:`JJ^\\top`."""

    act: str
    depth: int
    sigma_w2: float
    sigma_b2: float
    weights: str
    q_star: float
    chi1: float
    mu1: float
    mu2: float
    m1: float
    variance: float
    error: float
    zero_mass: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("act", "depth", "sigma_w2", "sigma_b2", "weights", "q_star", "chi1",
                                              "mu1", "mu2", "m1", "variance", "error", "zero_mass")}


def _canonical_weights(weights: str) -> str:
    w = canonical_text("weights", weights).strip().lower()
    if w not in WEIGHTS:
        raise ArgumentError(f"weights must be one of {', '.join(WEIGHTS)}, got {show_value(weights)}")
    return w


def _kinks_in_z(a: BoundActivation, scale: float) -> list[float]:
    pts = []
    for k in a.kinks:
        try:
            pts.append(float(k.at) / scale)
        except TypeError:
            continue
    return sorted(p for p in set(pts) if -Z_MAX < p < Z_MAX)


def _d2_nodes(act: BoundActivation, sigma_w2: float, q: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes of :math:`d^2` and Gaussian weights: Gauss–Legendre on each piece of [-Z, Z] between kinks."""
    scale = math.sqrt(q)
    cuts = [-Z_MAX] + _kinks_in_z(act, scale) + [Z_MAX]
    x, w = np.polynomial.legendre.leggauss(nodes)
    zs, ws = [], []
    for a, b in zip(cuts, cuts[1:]):
        zs.append((a + b) / 2 + (b - a) / 2 * x)
        ws.append((b - a) / 2 * w)
    z, wt = np.concatenate(zs), np.concatenate(ws)
    wt = wt * np.exp(-z * z / 2)
    wt = wt / wt.sum()  # the mass outside |z| < 8.5 is 2e-17
    _, d = numpy_pair(act)(scale * z)
    return sigma_w2 * np.broadcast_to(d, z.shape) ** 2, wt


@functools.lru_cache(maxsize=256)
def _d2_law(act: BoundActivation, sigma_w2: float, q: float, nodes: int = NODES) -> D2Law:
    vals, wts = _d2_nodes(act, sigma_w2, q, nodes)
    vals2, wts2 = _d2_nodes(act, sigma_w2, q, nodes // 2)
    mu = [float(wts @ vals), float(wts @ vals ** 2)]
    mu_c = [float(wts2 @ vals2), float(wts2 @ vals2 ** 2)]
    err = max(abs(a - b) / max(abs(a), 1e-300) for a, b in zip(mu, mu_c)) + 1e-14
    # merge equal values (piecewise-constant phi' such as ReLU's gives a handful of atoms)
    u, inv = np.unique(np.round(vals, 14), return_inverse=True)
    merged = np.bincount(inv, weights=wts)
    zero = float(merged[u == 0].sum()) if (u == 0).any() else 0.0
    return D2Law(tuple(u.tolist()), tuple(merged.tolist()), mu[0], mu[1], err, zero)


def d2_law(act, sigma_w2: float, sigma_b2: float = 0.0, params: dict | None = None,
           nodes: int = NODES) -> tuple[D2Law, float, float]:
    """The law of :math:`d^2` at the mean-field fixed point, with :math:`q^*` and :math:`\\chi_1`."""
    a = resolve(act, params)
    mf = mean_field(a, sigma_w2, sigma_b2)
    q = float(mf.q_star)
    from .finite_width import relu_family

    if not (math.isfinite(q) and q > 0) and relu_family(a) is not None:
        # positively homogeneous phi: the law of phi'(h), h ~ N(0, q), is the same for every q > 0
        return _d2_law(a, float(mf.sigma_w2), 1.0, nodes), float(mf.q_star), float(mf.chi1)
    if not math.isfinite(q):
        raise ConvergenceError(f"the length map has no finite fixed point at sigma_w2 = {sigma_w2:g}, "
                               f"sigma_b2 = {sigma_b2:g} (q* = {q:g}): no stationary Jacobian spectrum")
    if q == 0:  # every pre-activation is 0: d^2 = sigma_w^2 phi'(0)^2 (the kink convention where there is one)
        _, d0 = numpy_pair(a)(np.zeros(1))
        v = float(mf.sigma_w2) * float(np.ravel(d0)[0]) ** 2
        return D2Law((v,), (1.0,), v, v * v, 0.0, 1.0 if v == 0 else 0.0), q, float(mf.chi1)
    return _d2_law(a, float(mf.sigma_w2), q, nodes), q, float(mf.chi1)


def spectrum_moments(act, depth: int, sigma_w2: float, sigma_b2: float = 0.0, weights: str = "gaussian",
                     params: dict | None = None) -> SpectrumMoments:
    r""":math:`m_1 = \mu_1^L` and :math:`\sigma^2_{JJ^\top} = m_1^2 L(\mu_2/\mu_1^2 - 1 + [\text{Gaussian}])`.

    >>> round(spectrum_moments("relu", 8, 2.0, weights="orthogonal").variance, 12)
    8.0
    """
    depth = canonical_int("depth", depth, 1, 10**4, DepthError)
    weights = _canonical_weights(weights)
    act = resolve(act, params)
    law, q, chi1 = d2_law(act, sigma_w2, sigma_b2)
    if law.mu1 > 0 and not (0 < law.mu1 ** 2 < math.inf and law.mu2 > 0):
        raise ArgumentError(f"sigma_w2 = {float(sigma_w2):g}: mu_1 = {law.mu1:.3g}, mu_2 = {law.mu2:.3g}; mu_2/mu_1^2 "
                            "leaves the float range")
    ratio = (law.mu2 / law.mu1 ** 2 if law.mu1 > 0 else 1.0) - 1 + (1.0 if weights == "gaussian" else 0.0)
    m1 = law.mu1 ** depth
    return SpectrumMoments(act.name, depth, float(sigma_w2), float(sigma_b2), weights, q, chi1,
                           law.mu1, law.mu2, m1, m1 * m1 * depth * ratio, law.error * 2 * depth, law.zero_mass)
