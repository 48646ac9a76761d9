r"""Two-dimensional Gaussian expectations :math:`E[f(u_1) g(u_2)]` for the correlation map of mean field.

The pair is :math:`u_1 = \sqrt q\,z_1`, :math:`u_2 = \sqrt q\,(c z_1 + \sqrt{1 - c^2}\,z_2)` with
:math:`z_1, z_2` independent standard normals, so :math:`\mathrm{Var}\,u_i = q` and :math:`\mathrm{corr} = c`.
f and g are :math:`\varphi` or :math:`\varphi'` of a resolved activation.

**Route: conditional integration with composite Gauss–Legendre rules split at the kinks.** Given :math:`z_1`,
:math:`u_2 \sim N(\sqrt q\,c z_1, q(1 - c^2))`, so

.. math:: E[f(u_1) g(u_2)] = \int \phi(z_1) f(\sqrt q z_1)\, h(z_1)\,dz_1, \qquad
          h(z_1) = \int \phi(z_2)\, g(\sqrt q (c z_1 + s z_2))\,dz_2, \quad s = \sqrt{1 - c^2}.

Both integrals run over :math:`[-L, L]` (:data:`Z_MAX`; the normal mass outside is below :math:`10^{-27}`),
cut into :data:`PANELS` equal panels and further cut wherever the integrand has a kink: the inner one at
:math:`z_2 = (k - \sqrt q c z_1)/(\sqrt q s)` for every kink k of g (these move with :math:`z_1`), the outer one
at :math:`z_1 = k/\sqrt q` (kinks of f) and around :math:`z_1 = k/(c\sqrt q)`, where h bends on the scale
:math:`s/|c|` (it tends to a kink of g as c → 1). On each smooth panel a Gauss–Legendre rule converges
exponentially, where a Gauss–Hermite product rule over a kink converges only algebraically.

**Error estimate:** the same sum with :data:`ORDER` and ``2 * ORDER`` nodes per panel; the value is the finer one,
the error the difference (an estimate of the coarse rule's error, so a conservative one for the fine rule) plus
the rounding of the sums (:data:`ROUNDING` times the sum of the absolute values of the terms). The
tests hold it against ``scipy.integrate.dblquad`` and the arc-cosine kernel of ReLU.

>>> from analytic.theory.bivariate import bivariate_expectation
>>> e = bivariate_expectation("relu", "dphi", "dphi", q=1.0, c=0.0)
>>> round(e.value, 12)
0.25
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..core.calculus import numpy_function, resolve
from ..errors import ArgumentError, canonical_float, canonical_text
from .gaussian import Estimate, _breakpoints
from ..core.registry import Activation, BoundActivation

#: Largest variance (q, and the weight and bias variances of the mean-field maps) accepted: q stays far below
#: the range where the quadrature loses the tails for every activation of sub-exponential growth.
MAX_VARIANCE = 1e6

#: Half-width of the integration range in standard-normal units.
Z_MAX = 11.0
#: Equal panels over [-Z_MAX, Z_MAX] before the kinks are added.
PANELS = 12
#: Gauss–Legendre nodes per panel of the coarse rule (the fine one has twice as many).
ORDER = 10
#: Offsets (in units of s/|c|) around z_1 = k/(c sqrt q) where the outer integral is cut.
_BEND = (-12.0, -6.0, -3.0, -1.5, -0.5, 0.0, 0.5, 1.5, 3.0, 6.0, 12.0)
_FUNCTIONS = ("phi", "dphi")
#: Relative rounding of the sums (times the sum of the absolute values of the terms), added to the error.
ROUNDING = 1e-14


@functools.lru_cache(maxsize=None)
def _legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(n)
    return x, w


def _panel_nodes(edges: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights of an n-point Gauss–Legendre rule on each panel; ``edges`` has shape (..., P + 1),
    sorted along the last axis. Returns arrays of shape (..., P * n)."""
    x, w = _legendre(n)
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    half = (b - a) / 2
    nodes = (a + half * (x + 1)).reshape(*edges.shape[:-1], -1)
    weights = (half * w).reshape(*edges.shape[:-1], -1)
    return nodes, weights


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _outer_edges(kinks: tuple[float, ...], q: float, c: float) -> np.ndarray:
    r = math.sqrt(q)
    s = math.sqrt(max(0.0, 1 - c * c))
    pts = list(np.linspace(-Z_MAX, Z_MAX, PANELS + 1))
    for k in kinks:
        pts.append(k / r)
        if c != 0 and s > 0:
            pts += [k / (c * r) + j * s / abs(c) for j in _BEND]
    pts = np.array([p for p in pts if -Z_MAX <= p <= Z_MAX])
    return np.unique(pts)


def _inner_mean(g, kinks: tuple[float, ...], m: np.ndarray, sd: float, n: int) -> np.ndarray:
    r""":math:`E[g(m + sd\,z)]` for an array of means m, z standard normal, split at the kinks of g."""
    base = np.linspace(-Z_MAX, Z_MAX, PANELS + 1)
    cuts = [np.clip((k - m) / sd, -Z_MAX, Z_MAX) for k in kinks]
    edges = np.sort(np.concatenate([np.broadcast_to(base, m.shape + base.shape)] +
                                   [cut[..., None] for cut in cuts], axis=-1), axis=-1)
    z, w = _panel_nodes(edges, n)
    values = g(m[..., None] + sd * z)
    return np.sum(values * w * _normal_pdf(z), axis=-1)


def _rule(f, g, kinks: tuple[float, ...], q: float, c: float, n: int) -> tuple[float, float]:
    """(the rule's sum, the sum of the absolute values of its terms)."""
    r = math.sqrt(q)
    s = math.sqrt(max(0.0, 1 - c * c))
    z1, w1 = _panel_nodes(_outer_edges(kinks, q, c), n)
    if s * r == 0:
        h = g(r * z1)
    else:
        h = _inner_mean(g, kinks, r * c * z1, r * s, n)
    terms = f(r * z1) * h * w1 * _normal_pdf(z1)
    return float(np.sum(terms)), float(np.sum(np.abs(terms)))


@functools.lru_cache(maxsize=65536)
def _bivariate_value(act: BoundActivation, f: str, g: str, q: float, c: float) -> float:
    """The fine rule only, without its error estimate (inside root searches)."""
    ff = numpy_function(act, _FUNCTIONS.index(f))
    gg = numpy_function(act, _FUNCTIONS.index(g))
    with np.errstate(over="ignore", invalid="ignore"):
        return _rule(ff, gg, _breakpoints(act, "dphi"), q, c, 2 * ORDER)[0]


@functools.lru_cache(maxsize=65536)
def _bivariate(act: BoundActivation, f: str, g: str, q: float, c: float) -> Estimate:
    ff = numpy_function(act, _FUNCTIONS.index(f))
    gg = numpy_function(act, _FUNCTIONS.index(g))
    kinks = _breakpoints(act, "dphi")
    with np.errstate(over="ignore", invalid="ignore"):
        coarse, _ = _rule(ff, gg, kinks, q, c, ORDER)
        fine, size = _rule(ff, gg, kinks, q, c, 2 * ORDER)
    if not math.isfinite(fine):
        raise ArgumentError(f"{act.name}: E[{f}(u1) {g}(u2)] is not finite at q = {q:g}, c = {c:g}")
    return Estimate(fine, abs(fine - coarse) + ROUNDING * size, "gauss-legendre")


def bivariate_expectation(act: Activation | str, f: str, g: str, q: float, c: float,
                          params: dict | None = None) -> Estimate:
    r""":math:`E[f(u_1) g(u_2)]` with :math:`u_1, u_2 \sim N(0, q)`, correlation c; f, g ∈ {``phi``, ``dphi``}.

    The value carries an error estimate from two orders of the rule (see the module docstring).

    >>> round(bivariate_expectation("identity", "phi", "phi", q=2.0, c=0.3).value, 12)
    0.6
    """
    f = canonical_text("f", f, tuple(_FUNCTIONS))
    g = canonical_text("g", g, tuple(_FUNCTIONS))
    q = canonical_float("q", q, 0, MAX_VARIANCE, open_low=True)
    c = canonical_float("the correlation c", c, -1.0, 1.0)
    act = resolve(act, params)
    return _bivariate(act, f, g, q, c)
