r"""Per-layer growth :math:`\lambda` of the squared gradient norm of a wide MLP with BatchNorm or LayerNorm at
initialisation (Yang, Pennington, Rao, Sohl-Dickstein & Schoenholz 2019, "A Mean Field Theory of Batch
Normalization").

The network: :math:`h_l = W_l x_{l-1}`, :math:`x_l = \varphi(N(h_l))`, :math:`W_{ij} \sim N(0, \sigma_w^2/n)`,
no bias, no learned affine, no :math:`\epsilon`. :math:`N` is

* **BatchNorm** over a batch of :math:`B` inputs: per unit :math:`i`, :math:`z_{ib} = (h_{ib} - \bar h_i)/s_i`,
  :math:`\bar h_i, s_i^2` the mean and (biased) variance of :math:`h_{i\cdot}` over the batch;
* **LayerNorm** per input across the :math:`n` units: :math:`z_{ib} = (h_{ib} - \bar h_b)/s_b`.

:math:`\lambda` is the factor by which :math:`\|\partial L/\partial x_l\|^2` grows per layer, back-propagating
from the output to the input. Depth scale :math:`1/\ln\lambda`; gradients grow by :math:`10^6` after
:math:`\ln 10^6/\ln\lambda` layers.

**The normalisation Jacobian.** For a vector :math:`h \in \mathbb R^m` (the batch of one unit, or the units of one
input), :math:`z = \sqrt m\,Gh/\|Gh\|` with :math:`G = I - \mathbf 1\mathbf 1^\top/m`. With :math:`u = Gh/\|Gh\|`,
:math:`\partial z/\partial h = (\sqrt m/\|Gh\|)(G - uu^\top)`, symmetric: back-propagation multiplies the
incoming gradient by :math:`1/s` (:math:`s = \|Gh\|/\sqrt m`) and projects out the constant and :math:`z` — two
of :math:`m` directions.

**σ_w² cancels.** Scaling :math:`W` by :math:`c` scales :math:`h` and :math:`s` by :math:`c`, so :math:`z`, hence
the whole forward pass, is unchanged; backward, :math:`1/s` brings :math:`1/c` and :math:`W^\top` brings
:math:`c`. Every :math:`\lambda` below is therefore free of :math:`\sigma_w^2` (the derivations show the
cancellation: :math:`\sigma_w^2` enters the variance :math:`s^2` and the backward :math:`W^\top` once each).

**BatchNorm, B → ∞ (then n → ∞).** At large :math:`B` the batch statistics are the population ones, and at
large :math:`n` :math:`h_{i\cdot} = \sum_j W_{ij} x_{j\cdot}` is Gaussian over the inputs with variance
:math:`s^2 = \sigma_w^2 \frac1n\sum_j \mathrm{Var}(x_j) = \sigma_w^2\,\mathrm{Var}\,\varphi(z)`, :math:`z \sim
N(0, 1)` (each :math:`z_{j\cdot}` is standardised over the batch). Backward, the projection removes 2 of
:math:`B` directions (negligible), so with the gradient independent of the forward pass (Yang et al.'s
assumption), :math:`\|\partial L/\partial h\|^2 = E[\varphi'(z)^2]\,\|\partial L/\partial x\|^2/s^2`, and
:math:`W^\top` multiplies by :math:`\sigma_w^2`:

.. math:: \lambda_\infty = \frac{\sigma_w^2 E[\varphi'(z)^2]}{\sigma_w^2\,\mathrm{Var}\,\varphi(z)}
          = \frac{E[\varphi'(z)^2]}{\mathrm{Var}\,\varphi(z)}.

ReLU: :math:`E[\varphi'^2] = 1/2`, :math:`\mathrm{Var} = 1/2 - 1/(2\pi)`, so :math:`\lambda_\infty = \pi/(\pi -
1) = 1.46694\ldots` (the limit in Yang et al.); identity: 1. Checked against the simulation
(:mod:`analytic.mc.normalised`). Finite :math:`B` for any :math:`\varphi`: :mod:`analytic.theory.batch_sphere`
(exact 1-D/2-D integrals over the batch sphere; :math:`\lambda_B \to \lambda_\infty` as :math:`B \to \infty`).

**BatchNorm, linear network, finite B (n → ∞), exactly.** :math:`x = z`. The batch Gram matrix
:math:`\Sigma = \frac1n\sum_j x_{j\cdot}x_{j\cdot}^\top` has the fixed point :math:`\Sigma^* = \frac{B}{B-1}G`
(if :math:`h \sim N(0, \sigma_w^2\Sigma^*)`, :math:`u` is uniform on the unit sphere of the :math:`(B-1)`-space
:math:`\mathbf 1^\perp`, so :math:`B\,E[uu^\top] = \frac{B}{B-1}G`). There :math:`\|Gh\|^2 = \sigma_w^2
\frac{B}{B-1}\chi^2_{B-1}` independent of :math:`u`, and :math:`E[1/\chi^2_k] = 1/(k-2)`, so
:math:`E[B/\|Gh\|^2] = \frac{B-1}{\sigma_w^2(B-3)}`; for :math:`g \in \mathbf 1^\perp` independent of :math:`u`,
:math:`E\|(G - uu^\top)g\|^2 = \|g\|^2(1 - \frac1{B-1})`. With :math:`\sigma_w^2` from :math:`W^\top`:

.. math:: \lambda_B = \sigma_w^2 \cdot \frac{B-1}{\sigma_w^2(B-3)} \cdot \frac{B-2}{B-1} = \frac{B-2}{B-3},
          \qquad B \ge 4

(:math:`B = 3`: :math:`E[1/\chi^2_2] = \infty`). The backward gradient stays in :math:`\mathbf 1^\perp` per unit
(:math:`W^\top` mixes units, not inputs), so the factor repeats every layer.

**LayerNorm, n → ∞.** Per input, :math:`h_i` are i.i.d. :math:`N(0, q)` with :math:`q = \sigma_w^2
\frac1n\|x\|^2 = \sigma_w^2 E[\varphi(z)^2]` (second moment: nothing is subtracted across the batch); the unit
mean tends to 0 and :math:`s^2 \to q`, a deterministic rescaling, so :math:`z \sim N(0, 1)`. The projection
removes 2 of :math:`n` directions (negligible), so

.. math:: \lambda_{LN} = \frac{\sigma_w^2 E[\varphi'(z)^2]}{q} = \frac{E[\varphi'(z)^2]}{E[\varphi(z)^2]},

i.e. :math:`\chi_1 = \sigma_w^2 E[\varphi'(\sqrt{q^*} z)^2]` of an unnormalised layer read at unit length and
divided by :math:`q^*/\sigma_w^2`. ReLU and identity: 1.

**Quadrature.** :math:`E[\varphi'^2]`, :math:`E[\varphi^2]`, :math:`E[\varphi]` by composite Gauss–Legendre rules
in :math:`z` split at the kinks, a coarse one on :math:`[-12, 12]` and a fine one (twice the nodes per panel, on
:math:`[-14, 14]`); the error of :math:`\lambda` is the difference of the two values of :math:`\lambda` plus
:data:`ROUNDING` relative. It is
converged when that is below :data:`TOLERANCE` relative (the Gaussian mass outside :math:`|z| \le 12` is
:math:`4\cdot 10^{-33}`: negligible for activations of sub-exponential growth).

>>> round(batchnorm_lambda("relu").value, 12)
1.466942206924
>>> linear_batchnorm_lambda(4).value
2.0
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..architecture import Architecture, canonical_architecture
from ..core.calculus import numpy_function, resolve
from ..core.registry import Activation, BoundActivation
from ..errors import ArgumentError, canonical_float, canonical_int
from ..quantities import LogQuantity
from .batch_sphere import sphere_lambda
from .gaussian import _breakpoints

#: Relative tolerance of the quadrature (difference of the coarse and fine rules).
TOLERANCE = 1e-12
#: Relative rounding of the weighted sums, added to the error.
ROUNDING = 1e-15
#: (cut-off, equal panels, Gauss–Legendre nodes per panel) of the coarse and the fine rule.
RULES = ((12.0, 24, 20), (14.0, 28, 40))
#: Largest batch accepted by :func:`linear_batchnorm_lambda`.
MAX_BATCH = 10**12
#: Gradient growth whose depth :func:`growth` reports.
GROWTH = 1e6


@dataclass(frozen=True)
class Moments:
    r""":math:`E[\varphi'(z)^2]`, :math:`E[\varphi(z)^2]`, :math:`E[\varphi(z)]` of a standard normal z, by one
    rule."""

    dphi2: float
    phi2: float
    phi: float


def _rule(act: BoundActivation, cut: float, panels: int, order: int) -> Moments:
    f, d = numpy_function(act, 0), numpy_function(act, 1)
    kinks = [k for k in _breakpoints(act, "dphi") if -cut < k < cut]
    edges = np.unique(np.concatenate([np.linspace(-cut, cut, panels + 1), kinks]))
    x, w = np.polynomial.legendre.leggauss(order)
    a, b = edges[:-1, None], edges[1:, None]
    z = (a + (b - a) / 2 * (x + 1)).ravel()
    weight = ((b - a) / 2 * w).ravel() * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    with np.errstate(over="ignore", invalid="ignore"):
        fz = np.asarray(f(z), dtype=float) * np.ones_like(z)
        dz = np.asarray(d(z), dtype=float) * np.ones_like(z)
    return Moments(float(weight @ (dz * dz)), float(weight @ (fz * fz)), float(weight @ fz))


@functools.lru_cache(maxsize=256)
def _moments(act: BoundActivation) -> tuple[Moments, Moments]:
    return tuple(_rule(act, *r) for r in RULES)  # type: ignore[return-value]


def _ratio(act: BoundActivation, denominator) -> LogQuantity:
    values = []
    for m in _moments(act):
        num, den = m.dphi2, denominator(m)
        if not (math.isfinite(num) and math.isfinite(den)):
            raise ArgumentError(f"{act.name}: E[phi'(z)^2] or the moments of phi(z) are not finite")
        if den <= 1e-13 * max(m.phi2, 1e-300) or den <= 0:
            raise ArgumentError(f"{act.name}: the denominator of lambda vanishes (phi(z) is constant)")
        values.append(num / den)
    err = abs(values[1] - values[0]) + ROUNDING * abs(values[1])
    return LogQuantity.of(values[1], err, err <= TOLERANCE * abs(values[1]))


def _normalised(architecture, norm: str) -> Architecture | None:
    if architecture is None:
        return None
    arch = canonical_architecture(architecture)
    if arch.kind != "normalised" or arch.norm != norm:
        want = "normalised('batch', B)" if norm == "batch" else "normalised('layer')"
        raise ArgumentError(f"this lambda is for {want}, not {arch.describe()}")
    return arch


def batchnorm_lambda(act: Activation | str | BoundActivation, params: dict[str, float] | None = None,
                     architecture: Architecture | None = None) -> LogQuantity:
    r"""The per-layer growth of the squared gradient norm with BatchNorm, width :math:`n \to \infty`: with no
    ``architecture``, batch :math:`B \to \infty`, :math:`\lambda_\infty = E[\varphi'(z)^2]/\mathrm{Var}\,
    \varphi(z)` (module docstring); with ``architecture=normalised("batch", B)``, :math:`B \ge 4`, the finite-batch
    :math:`\lambda_B` of :func:`analytic.theory.batch_sphere.sphere_lambda`.

    >>> import math
    >>> abs(batchnorm_lambda("relu").value - math.pi / (math.pi - 1)) < 1e-12
    True
    >>> from analytic.architecture import normalised
    >>> abs(batchnorm_lambda("identity", architecture=normalised("batch", 8)).value - 6 / 5) < 1e-12
    True
    """
    arch = _normalised(architecture, "batch")
    if arch is not None:
        return sphere_lambda(act, arch.batch, params)
    return _ratio(resolve(act, params), lambda m: m.phi2 - m.phi * m.phi)


def layernorm_lambda(act: Activation | str | BoundActivation, params: dict[str, float] | None = None,
                     architecture: Architecture | None = None) -> LogQuantity:
    r""":math:`\lambda_{LN} = E[\varphi'(z)^2]/E[\varphi(z)^2]`: the per-layer growth of the squared gradient norm
    with LayerNorm, width :math:`n \to \infty` (module docstring); ``architecture`` may be ``normalised("layer")``.

    >>> layernorm_lambda("relu").value
    1.0
    """
    _normalised(architecture, "layer")
    return _ratio(resolve(act, params), lambda m: m.phi2)


def normalised_lambda(act: Activation | str | BoundActivation, architecture: Architecture,
                      params: dict[str, float] | None = None) -> LogQuantity:
    r""":math:`\lambda` of the network ``architecture`` (``normalised("batch", B)`` or ``normalised("layer")``).

    >>> from analytic.architecture import normalised
    >>> normalised_lambda("relu", normalised("layer")).value
    1.0
    """
    arch = canonical_architecture(architecture)
    if arch.kind != "normalised":
        raise ArgumentError(f"lambda of a normalised network needs normalised(...), not {arch.describe()}")
    if arch.norm == "batch":
        return batchnorm_lambda(act, params, arch)
    return layernorm_lambda(act, params, arch)


def linear_batchnorm_fraction(batch: int) -> Fraction:
    r""":math:`(B-2)/(B-3)` as an exact fraction, :math:`B \ge 4` (module docstring).

    >>> linear_batchnorm_fraction(8)
    Fraction(6, 5)
    """
    b = canonical_int("batch", batch, 4, MAX_BATCH, ArgumentError)
    return Fraction(b - 2, b - 3)


def linear_batchnorm_lambda(batch: int) -> LogQuantity:
    r"""The linear network's :math:`\lambda_B = (B-2)/(B-3)` with BatchNorm over a batch of :math:`B \ge 4`,
    width :math:`n \to \infty`; its error is the rounding of the float (half an ulp).

    >>> linear_batchnorm_lambda(6).value
    1.3333333333333333
    """
    f = linear_batchnorm_fraction(batch)
    v = float(f)
    return LogQuantity.of(v, 0.0 if Fraction(v) == f else math.ulp(v) / 2)


@dataclass(frozen=True)
class Growth:
    r"""Depths implied by a per-layer factor :math:`\lambda > 1`: ``depth_scale`` :math:`= 1/\ln\lambda`,
    ``growth_depth`` :math:`= \ln(\text{factor})/\ln\lambda` (layers until the squared gradient norm has grown by
    ``factor``), each with an error enclosing the image of :math:`\lambda`'s error interval. Both are ``None``
    with a ``reason`` when :math:`\lambda \le 1` or its error does not decide :math:`\lambda > 1`."""

    lam: LogQuantity
    factor: float
    depth_scale: LogQuantity | None
    growth_depth: LogQuantity | None
    reason: str | None = None


def growth(lam: LogQuantity, factor: float = GROWTH) -> Growth:
    r"""Depth scale and the depth of a growth by ``factor`` from :math:`\lambda \pm \delta` (error: the larger
    distance to the ends of the image of :math:`[\lambda - \delta, \lambda + \delta]`, i.e.
    :math:`1/\ln(\lambda - \delta) - 1/\ln\lambda`, and ``ln(factor)`` times it).

    >>> g = growth(linear_batchnorm_lambda(4))
    >>> round(g.growth_depth.value, 6)  # ln 10^6 / ln 2
    19.931569
    """
    factor = canonical_float("factor", factor, 1, open_low=True)
    if lam.withheld:
        return Growth(lam, factor, None, None, f"lambda withheld: {lam.reason}")
    v, e = lam.value, lam.error
    if not (math.isfinite(v) and v > 1):
        return Growth(lam, factor, None, None, "lambda <= 1: the squared gradient norm does not grow")
    if not (math.isfinite(e) and v - e > 1 and lam.converged):
        return Growth(lam, factor, None, None, "lambda > 1 is not decided by its error")
    log_l = math.log(v)
    scale_err = 1 / math.log(v - e) - 1 / log_l  # 1/ln is decreasing and convex: the lower end is the far one
    scale = LogQuantity.of(1 / log_l, scale_err)
    depth = LogQuantity.of(math.log(factor) / log_l, math.log(factor) * scale_err)
    return Growth(lam, factor, scale, depth)


#: What the normalised mean field assumes, in words.
ASSUMPTIONS = ("width n -> infinity; no bias, no learned affine map, no epsilon in the normalisation",
               "the back-propagated gradient is independent of the forward pass (gradient independence)",
               "BatchNorm: the batch Gram matrix is permutation-symmetric (Yang et al.'s BSB1 fixed point; i.i.d. "
               "inputs start there), so each unit's normalised batch is uniform on the sphere of radius sqrt(B) "
               "in the (B-1)-space orthogonal to the ones vector",
               "sigma_w^2 cancels (the normalisation undoes the weights' scale)")


@dataclass(frozen=True)
class NormalisedGrowth:
    r""":math:`\lambda` of a normalised network with its depths (:func:`growth`) and, for BatchNorm, the
    :math:`B \to \infty` limit beside it."""

    activation: str
    architecture: Architecture
    lam: LogQuantity
    growth: Growth
    limit: LogQuantity | None

    def as_dict(self) -> dict:
        def depth(q: LogQuantity | None) -> dict | None:
            return None if q is None else {"value": q.value, "error": q.error}

        lam = self.lam
        return {"activation": self.activation, "architecture": self.architecture.to_json(),
                "lambda": {"value": lam.value, "error": lam.error, "converged": lam.converged,
                           "reason": lam.reason if lam.withheld else None},
                "depth_scale": depth(self.growth.depth_scale), "depth_1e6": depth(self.growth.growth_depth),
                "growth_reason": self.growth.reason,
                "lambda_infinite_batch": None if self.limit is None else self.limit.as_dict(),
                "assumptions": [a for a in ASSUMPTIONS
                                if self.architecture.norm == "batch" or not a.startswith("BatchNorm")]}


def normalised_growth(act: Activation | str | BoundActivation, architecture: Architecture,
                      params: dict[str, float] | None = None) -> NormalisedGrowth:
    r""":func:`normalised_lambda` with the depth scale :math:`1/\ln\lambda`, the depth of a :math:`10^6` growth and
    (BatchNorm) the :math:`B \to \infty` limit.

    >>> from analytic.architecture import normalised
    >>> g = normalised_growth("identity", normalised("batch", 4))
    >>> round(g.growth.growth_depth.value, 6)
    19.931569
    """
    arch = canonical_architecture(architecture)
    a = resolve(act, params)
    lam = normalised_lambda(a, arch)
    limit = batchnorm_lambda(a) if arch.norm == "batch" else None
    return NormalisedGrowth(a.name, arch, lam, growth(lam), limit)
