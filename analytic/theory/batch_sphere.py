r"""BatchNorm over a finite batch :math:`B` (width :math:`n \to \infty`): the per-layer growth :math:`\lambda_B` of
the squared gradient norm for any activation, reduced exactly to one- and two-dimensional integrals.

**The forward fixed point is a sphere.** With the notation of :mod:`analytic.theory.normalisation`, a unit's
pre-activations over the batch are :math:`h \sim N(0, \sigma_w^2\Sigma)`, :math:`\Sigma` the batch Gram matrix of
the previous layer. If :math:`\Sigma` is invariant under permutations of the batch (it is for i.i.d. inputs, and
stays so: Yang et al.'s BSB1 fixed point), :math:`G\Sigma G = vG` on :math:`\mathbf 1^\perp`, so :math:`Gh` is
isotropic there: :math:`\|Gh\|^2 = \sigma_w^2 v\,\chi^2_{B-1}` independent of :math:`u = Gh/\|Gh\|`, uniform on the
unit sphere of the :math:`(B-1)`-space :math:`\mathbf 1^\perp`, and :math:`z = \sqrt B u` is uniform on the
sphere of radius :math:`\sqrt B` there, whatever :math:`\Sigma`. The next Gram matrix is :math:`E[\varphi(z)
\varphi(z)^\top]`, with diagonal :math:`E\varphi(z_1)^2` and off-diagonal :math:`E\varphi(z_1)\varphi(z_2)`, so

.. math:: v = E[\varphi(z_1)^2] - E[\varphi(z_1)\varphi(z_2)].

**Backward.** With the gradient independent of the forward pass, the batch covariance :math:`\Pi` of a unit's
incoming gradient maps linearly to :math:`\sigma_w^2 E[J D\Pi D J]`, :math:`D = \mathrm{diag}\,\varphi'(z)`,
:math:`J = (\sqrt B/\|Gh\|)P_u`, :math:`P_u = G - uu^\top`. The radius is independent of :math:`u` and
:math:`E[1/\chi^2_{k}] = 1/(k-2)`, so the map is :math:`\Pi \mapsto \frac{B}{v(B-3)}T(\Pi)`, :math:`T(\Pi) =
E[P_u D\Pi D P_u]` (:math:`\sigma_w^2` cancels). :math:`T` commutes with permutations, and the only invariant
symmetric matrix on :math:`\mathbf 1^\perp` is :math:`G`, so :math:`T(G) = \mu G`; :math:`G` is interior to the
cone of positive semi-definite matrices on :math:`\mathbf 1^\perp`, which :math:`T` preserves, hence
:math:`\Pi \preceq cG` gives :math:`T^k\Pi \preceq c\mu^kG`: :math:`\mu` is the spectral radius, and every
gradient covariance positive definite on :math:`\mathbf 1^\perp` grows at that rate. Taking the trace,
:math:`\mu = E\,\mathrm{tr}(DGDP_u)/(B-1)`, and with :math:`d = \varphi'(z)` and exchangeability

.. math:: (B-1)\mu = (B-2)\,E d_1^2 + \frac{E d_1^2 + (B-1)E d_1d_2}{B} - E d_1^2z_1^2
          + \frac{E d_1^2z_1^2 + (B-1)E d_1z_1d_2z_2}{B},
          \qquad \lambda_B = \frac{B\mu}{v(B-3)}, \quad B \ge 4.

Identity: :math:`d = 1`, :math:`Ez_1^2 = 1`, :math:`Ez_1z_2 = -1/(B-1)` give :math:`\mu = (B-2)/(B-1)`,
:math:`v = B/(B-1)`, :math:`\lambda_B = (B-2)/(B-3)`. As :math:`B \to \infty`, :math:`(z_1, z_2)` tends to two
independent standard normals and :math:`\lambda_B \to E\varphi'^2/\mathrm{Var}\,\varphi`.

**The marginals.** :math:`z_1 = \sqrt{B-1}\cos\theta_1` with density :math:`\propto \sin^{B-3}\theta_1` on
:math:`[0, \pi]` (the cosine of a uniform point of :math:`S^{B-2}` with a fixed axis); given :math:`\theta_1`, the
rest of :math:`u` is uniform on :math:`S^{B-3}`, and

.. math:: z_2 = -\frac{\cos\theta_1}{\sqrt{B-1}} + \sqrt{\frac{B(B-2)}{B-1}}\,\sin\theta_1\cos\theta_2,
          \qquad \theta_2 \text{ with density} \propto \sin^{B-4}\theta_2

(:math:`e_1, e_2` projected on :math:`\mathbf 1^\perp` have squared length :math:`1 - 1/B` and inner product
:math:`-1/B`). Every expectation above is a 1-D or an iterated 2-D integral over angles with weights
:math:`\sin^k` (integer :math:`k`: smooth).

**Quadrature.** Each angle's range is cut where :math:`\sin^k\theta < e^{-c}` (the mass left out is below
:math:`e^{-c}` relative), split at the kinks of :math:`\varphi'` (:math:`\theta_2`: where :math:`z_2` crosses a
kink; :math:`\theta_1`: where :math:`z_1` crosses one or where a kink enters the range of :math:`z_2`), and each
piece is cut into equal panels, mapped by :math:`s \mapsto (1 - \cos\pi s)/2` (which makes the square-root ends of
the inner integral smooth) and integrated by Gauss–Legendre; each rule divides the weights by their own sum (the
densities integrate to 1; a normalising constant from ``lgamma`` would lose 1e-12 relative at B = 4096). Two rules differing in the cut, the panels and the
nodes give two values of :math:`\lambda_B`; the error is their difference plus :data:`ROUNDING` relative, converged
below :data:`TOLERANCE` relative.

>>> lam = sphere_lambda("identity", 8)
>>> abs(lam.value - 6 / 5) < 1e-12, lam.converged
(True, True)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..core.calculus import numpy_function, resolve
from ..core.registry import Activation, BoundActivation
from ..errors import ArgumentError, ConvergenceError, canonical_int
from ..quantities import LogQuantity
from .gaussian import _breakpoints

#: Relative tolerance of :math:`\lambda_B` (difference of the two rules).
TOLERANCE = 1e-10
#: Relative rounding added to the error.
ROUNDING = 1e-14
#: Largest batch (the angular weights sin^B are then narrower than the rules resolve).
MAX_BATCH = 4096
#: (log cut c, least panels, widest panel in standard deviations of the weight, Gauss–Legendre nodes per panel) of
#: the coarse and the fine rule (both angles alike).
RULES = ((64.0, 10, 1.2, 20), (72.0, 12, 1.0, 24))


@dataclass(frozen=True)
class SphereMoments:
    r"""The sphere expectations of one rule: :math:`v = E\varphi_1^2 - E\varphi_1\varphi_2` and
    :math:`\mu` (module docstring)."""

    v: float
    mu: float


def _window(power: int, cut: float) -> tuple[float, float]:
    """The angles in [0, π] where sin^power θ ≥ e^-cut."""
    if power <= 0:
        return 0.0, math.pi
    lo = math.asin(min(1.0, math.exp(-cut / power)))
    return lo, math.pi - lo


def _grid(lo: float, hi: float, power: int, panels: int, width: float) -> np.ndarray:
    """Equal panels on [lo, hi], at least ``panels``, each at most ``width`` standard deviations of the weight
    sin^power (about 1/√power wide near π/2)."""
    count = max(panels, math.ceil((hi - lo) * math.sqrt(max(power, 1)) / width))
    return np.linspace(lo, hi, count + 1)


def _nodes(edges: np.ndarray, order: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on the pieces [edges[..., k], edges[..., k+1]] (last axis sorted), each mapped by
    s -> (1 - cos πs)/2 and integrated by ``order``-point Gauss–Legendre; leading axes are kept."""
    x, w = np.polynomial.legendre.leggauss(order)
    s = (x + 1) / 2
    g = (1 - np.cos(np.pi * s)) / 2
    dg = np.pi / 2 * np.sin(np.pi * s) * w / 2
    a, b = edges[..., :-1, None], edges[..., 1:, None]
    nodes = a + (b - a) * g
    weights = (b - a) * dg
    shape = edges.shape[:-1] + (-1,)
    return nodes.reshape(shape), weights.reshape(shape)


def _arccos_points(values: np.ndarray) -> np.ndarray:
    return np.arccos(np.clip(values, -1.0, 1.0))


def _rule(act: BoundActivation, batch: int, cut: float, panels: int, width: float, order: int) -> SphereMoments:
    f, d = numpy_function(act, 0), numpy_function(act, 1)
    kinks = np.array(_breakpoints(act, "dphi"), dtype=float)
    b = batch
    r1 = math.sqrt(b - 1)
    c_in = math.sqrt(b * (b - 2) / (b - 1))
    p1, p2 = b - 3, b - 4
    lo1, hi1 = _window(p1, cut)
    lo2, hi2 = _window(p2, cut)
    # outer split points: z_1 at a kink; a kink at the end of z_2's range (z_2 = -cos/r1 ± c_in sin)
    pts = list(_grid(lo1, hi1, p1, panels, width))
    if kinks.size:
        pts += list(_arccos_points(kinks / r1))
        amp = math.hypot(1 / r1, c_in)
        for sign in (1.0, -1.0):
            # -cos t / r1 + sign c_in sin t = amp cos(t - phase)
            phase = math.atan2(sign * c_in, -1 / r1)
            for k in kinks:
                if abs(k) <= amp:
                    base = math.acos(k / amp)
                    for t in (phase + base, phase - base):
                        t = (t + math.pi) % (2 * math.pi) - math.pi
                        pts.append(t)
    edges1 = np.unique(np.clip(np.array(pts), lo1, hi1))
    t1, w1 = _nodes(edges1, order)
    w1 = w1 * np.exp(p1 * np.log(np.sin(t1)))
    w1 = w1 / math.fsum(w1)  # the rule's own mass: no normalising constant from lgamma (it loses 1e-12 at B = 4096)
    z1 = r1 * np.cos(t1)
    with np.errstate(over="ignore", invalid="ignore"):
        f1 = np.asarray(f(z1), dtype=float) * np.ones_like(z1)
        d1 = np.asarray(d(z1), dtype=float) * np.ones_like(z1)
    # inner angle, one row per outer node
    a2 = -np.cos(t1) / r1
    c2 = c_in * np.sin(t1)
    cols = [np.full_like(t1, x) for x in _grid(lo2, hi2, p2, panels, width)]
    for k in kinks:
        cols.append(np.clip(_arccos_points((k - a2) / c2), lo2, hi2))
    edges2 = np.sort(np.stack(cols, axis=1), axis=1)
    t2, w2 = _nodes(edges2, order)
    if p2 > 0:
        w2 = w2 * np.exp(p2 * np.log(np.sin(t2)))
    w2 = w2 / np.sum(w2, axis=1, keepdims=True)  # each row's density integrates to 1
    z2 = a2[:, None] + c2[:, None] * np.cos(t2)
    with np.errstate(over="ignore", invalid="ignore"):
        f2 = np.asarray(f(z2), dtype=float) * np.ones_like(z2)
        d2 = np.asarray(d(z2), dtype=float) * np.ones_like(z2)
    e_f11 = float(w1 @ (f1 * f1))
    e_d11 = float(w1 @ (d1 * d1))
    e_dz11 = float(w1 @ (d1 * d1 * z1 * z1))
    e_f12 = float(w1 @ (f1 * np.sum(w2 * f2, axis=1)))
    e_d12 = float(w1 @ (d1 * np.sum(w2 * d2, axis=1)))
    e_dz12 = float(w1 @ (d1 * z1 * np.sum(w2 * d2 * z2, axis=1)))
    values = (e_f11, e_d11, e_dz11, e_f12, e_d12, e_dz12)
    if not all(math.isfinite(x) for x in values):
        raise ArgumentError(f"{act.name}: the moments of phi(z) or phi'(z) over the batch sphere are not finite")
    v = e_f11 - e_f12
    mu = ((b - 2) * e_d11 + (e_d11 + (b - 1) * e_d12) / b - e_dz11 + (e_dz11 + (b - 1) * e_dz12) / b) / (b - 1)
    return SphereMoments(v, mu)


@functools.lru_cache(maxsize=256)
def _moments(act: BoundActivation, batch: int) -> tuple[SphereMoments, SphereMoments]:
    return tuple(_rule(act, batch, *r) for r in RULES)  # type: ignore[return-value]


def sphere_lambda(act: Activation | str | BoundActivation, batch: int,
                  params: dict[str, float] | None = None) -> LogQuantity:
    r""":math:`\lambda_B = B\mu/(v(B-3))` for BatchNorm over a batch of :math:`B \ge 4`, width
    :math:`n \to \infty`, by the two quadrature rules of the module docstring (error: their difference plus
    :data:`ROUNDING` relative; withheld above :data:`TOLERANCE` relative).

    >>> round(sphere_lambda("relu", 4).value, 9) > 2
    True
    """
    b = canonical_int("batch", batch, 4, MAX_BATCH, ArgumentError)
    a = resolve(act, params)
    values = []
    for m in _moments(a, b):
        if not (m.v > 1e-13 * max(abs(m.v), 1e-300) and m.v > 0):
            raise ArgumentError(f"{a.name}: phi(z) is constant over the batch (the variance v vanishes)")
        values.append(b * m.mu / (m.v * (b - 3)))
    if not all(math.isfinite(x) for x in values):
        raise ConvergenceError(f"{a.name}: lambda_B is not finite")
    err = abs(values[1] - values[0]) + ROUNDING * abs(values[1])
    return LogQuantity.of(values[1], err, err <= TOLERANCE * abs(values[1]))
