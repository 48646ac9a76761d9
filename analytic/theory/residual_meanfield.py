r"""Mean field of wide residual networks: the signal's length and correlation, the gradient ratio and the
gradient correlation across depth (Yang & Schoenholz 2017, "Mean field residual networks: on the edge of chaos";
Balduzzi et al. 2017, "The shattered gradients problem").

**The network.** Width :math:`n \to \infty`, :math:`W_{ij} \sim N(0, \sigma_w^2/n)`, :math:`b_i \sim N(0,
\sigma_b^2)`, fresh in every block, branch scale :math:`\alpha` (:func:`analytic.architecture.residual`; a depth
scaling is resolved at the total depth L):

* post: :math:`x_l = x_{l-1} + \alpha\,\varphi(h_l)`, :math:`h_l = W_l x_{l-1} + b_l`;
* pre (the reduced residual of Yang & Schoenholz): :math:`x_l = x_{l-1} + \alpha\,(W_l\varphi(x_{l-1}) + b_l)`.

The input's units are i.i.d. :math:`N(0, q_0)`, two inputs a, b with correlation :math:`c_0` per unit (what the
width-n twin :mod:`analytic.mc.residual_wide` draws). :math:`p_l = \|x_l\|^2/n`, :math:`m_l = \sum_i x_{l,i}/n`,
:math:`P_l = \langle x^a_l, x^b_l\rangle/n`, :math:`c_l = P_l/p_l`. Expectations are over :math:`z \sim N(0, 1)`;
:math:`\mu(q) = E\varphi(\sqrt q z)`, :math:`V(q) = E\varphi(\sqrt q z)^2`, :math:`W(q) = E\varphi'(\sqrt q z)^2`,
and :math:`E_{q,c}[f g]` the expectation of :math:`f(u_1)g(u_2)` for a centred Gaussian pair of variance q and
correlation c.

**Length, post.** Given :math:`x_{l-1}`, the rows of :math:`W_l` are independent of it, so the :math:`h_{l,i}` are
i.i.d. :math:`N(0, q_l)`, :math:`q_l = \sigma_w^2 p_{l-1} + \sigma_b^2`, and :math:`h_{l,i}` is independent of
:math:`x_{l-1,i}` (its law given :math:`x_{l-1}` depends on :math:`x_{l-1}` only through :math:`p_{l-1}`, which
concentrates). Hence :math:`E[x_{l-1,i}\varphi(h_{l,i})] = m_{l-1}\mu(q_l)`: the cross term is **not** zero
whenever :math:`\varphi` has a non-zero Gaussian mean (ReLU, sigmoid), because the skip sums those means into a
common offset of every unit:

.. math:: p_l = p_{l-1} + 2\alpha m_{l-1}\mu(q_l) + \alpha^2 V(q_l), \qquad m_l = m_{l-1} + \alpha\mu(q_l),
          \qquad m_0 = 0,

equivalently the per-unit variance :math:`p_l - m_l^2` grows by :math:`\alpha^2\,\mathrm{Var}\,\varphi(\sqrt{q_l} z)`
per block. (Dropping the cross term, as for a zero-mean branch, understates ReLU's growth: with He weights and
:math:`\alpha = 1` it gives :math:`p_l = 2^l p_0`, while the network grows by a factor that tends to 2.9041;
see below.) Two inputs: :math:`P_l = P_{l-1} + 2\alpha m_{l-1}\mu(q_l) + \alpha^2 E_{q_l, C_l/q_l}[\varphi\varphi]`,
:math:`C_l = \sigma_w^2 P_{l-1} + \sigma_b^2`.

**Length, pre.** :math:`W_l` has mean zero and is independent of :math:`x_{l-1}`, so the cross terms vanish and the
increment is Gaussian given the past: every :math:`x_{l,i}` is :math:`N(0, p_l)` and

.. math:: p_l = p_{l-1} + \alpha^2(\sigma_w^2 V(p_{l-1}) + \sigma_b^2), \qquad
          P_l = P_{l-1} + \alpha^2(\sigma_w^2 E_{p_{l-1}, c_{l-1}}[\varphi\varphi] + \sigma_b^2).

**Gradients** (the usual gradient-independence assumption: the backward weights are treated as independent of the
forward pass; the neglected correlations are :math:`O(n^{-1/2})` relative). With :math:`g_l = \partial L/\partial
x_l`, post: :math:`g_{l-1} = g_l + \alpha W_l^\top(\varphi'(h_l)\odot g_l)`; the cross term has mean zero and the
last term has :math:`E\|\cdot\|^2 = \sigma_w^2 W(q_l)\|g_l\|^2`, so

.. math:: E\|g_{l-1}\|^2 = E\|g_l\|^2\,\chi_l, \qquad \chi_l = 1 + \alpha^2\sigma_w^2 W(q_l)
          \quad(\text{pre: } W(p_{l-1})).

The **gradient ratio** after d blocks is :math:`E\|g_{L-d}\|^2/E\|g_L\|^2 = \prod_{l=L-d+1}^L \chi_l`.
**Gradient correlation** (Balduzzi et al.): both inputs share the output gradient :math:`g^a_L = g^b_L` (one loss
direction), and :math:`\langle g^a_{l-1}, g^b_{l-1}\rangle = \langle g^a_l, g^b_l\rangle\,\chi^{ab}_l`,
:math:`\chi^{ab}_l = 1 + \alpha^2\sigma_w^2 E_{q_l, C_l/q_l}[\varphi'\varphi']` (pre: at
:math:`p_{l-1}, c_{l-1}`); the norms are equal by symmetry, so the correlation after d blocks is
:math:`\prod \chi^{ab}_l/\chi_l`. In a plain network each factor is :math:`E[\varphi'\varphi']/E[\varphi'^2]` and
the correlation decays exponentially; the skip's 1 keeps each factor near 1.

**Growth laws** (derived below each; printed beside the numbers by :class:`Growth`):

* positively homogeneous :math:`\varphi` (ReLU, leaky ReLU, identity; :math:`V = aq`, :math:`\mu = k\sqrt q`,
  :math:`W = a`): :math:`\chi_l = 1 + A` exactly, :math:`A = \alpha^2\sigma_w^2 a`, so the gradient ratio is
  :math:`(1 + A)^d` at every depth (ReLU, He, :math:`\alpha = 1`: :math:`2^d`). Pre: :math:`p_l = (1 + A)p_{l-1}
  + \alpha^2\sigma_b^2` exactly. Post, :math:`\sigma_b = 0`: with :math:`r_l = m_l/\sqrt{p_l}`,
  :math:`p_l/p_{l-1} = 1 + A + 2\alpha k\sigma_w r_{l-1}` and :math:`r_l = (r_{l-1} + \alpha k\sigma_w)/
  \sqrt{p_l/p_{l-1}}`; at the fixed point :math:`\gamma = (1 + t)^2` where t is the positive root of
  :math:`t^3 + 2t^2 - At - 2B = 0`, :math:`B = \alpha^2\sigma_w^2 k^2` (one root: the cubic is convex on t > 0 and
  :math:`\le 0` at 0), so :math:`p_l \sim \gamma^l` (a bias only shifts the early layers). ReLU, He,
  :math:`\alpha = 1`: :math:`A = 1`, :math:`B = 1/\pi`, :math:`\gamma = 2.9041`; identity: :math:`\gamma = 1 + A`.
* :math:`\varphi` with finite limits :math:`\varphi(\pm\infty)` and :math:`K = \int\varphi'^2 dx < \infty`
  (tanh, sigmoid): as :math:`q \to \infty`, :math:`V \to v_\infty = (\varphi(\infty)^2 + \varphi(-\infty)^2)/2`,
  :math:`\mu \to \mu_\infty = (\varphi(\infty) + \varphi(-\infty))/2`, :math:`W(q) \approx K/\sqrt{2\pi q}`. Pre:
  :math:`p_l \approx \alpha^2(\sigma_w^2 v_\infty + \sigma_b^2)\,l`, and :math:`\ln\chi_l \approx
  \alpha^2\sigma_w^2 K/\sqrt{2\pi p_l}` sums to :math:`\ln R_L \approx \beta\sqrt L`, :math:`\beta =
  2\alpha\sigma_w^2K/\sqrt{2\pi(\sigma_w^2 v_\infty + \sigma_b^2)}` (a stretched exponential, Yang & Schoenholz's
  :math:`\exp\Theta(\sqrt l)` for tanh). Post with :math:`\mu_\infty = 0` (tanh): :math:`p_l \approx \alpha^2
  v_\infty l`, :math:`\beta = 2\alpha\sigma_w K/\sqrt{2\pi v_\infty}`. Post with :math:`\mu_\infty \ne 0`
  (sigmoid): :math:`m_l \approx \alpha\mu_\infty l`, :math:`p_l \approx \alpha^2\mu_\infty^2 l^2`, and
  :math:`\ln\chi_l \approx \beta/l` with :math:`\beta = \alpha\sigma_w K/(\sqrt{2\pi}|\mu_\infty|)`: a power law
  :math:`R_L \sim L^\beta`. These laws are leading orders for a fixed :math:`\alpha` as :math:`L \to \infty`; with
  :math:`\alpha = 1/\sqrt L` the homogeneous ratio :math:`(1 + \sigma_w^2 a/L)^L \to e^{\sigma_w^2 a}` stays bounded.

**Where finite width departs.** For positively homogeneous :math:`\varphi` without bias each block is
homogeneous of degree 1 in :math:`x`, so :math:`J_l x_{l-1} = x_l` and :math:`\langle x_l, g_l\rangle =
\langle x_L, u\rangle` at every l, exactly, at any width: the gradient's component along the signal grows like the
signal, :math:`p_L/p_l`, not like :math:`\prod\chi`. Post with :math:`E\varphi \ne 0` (ReLU) the length grows
faster (:math:`\gamma > 1 + A`), and that direction's share, of order :math:`(\gamma/(1 + A))^d/n`, overtakes the
mean field after :math:`\sim\ln n/\ln(\gamma/(1 + A))` blocks. The width-n twin shows it as a :math:`1/n`
correction: ReLU, He, :math:`\alpha = 1`, 10 blocks, :math:`n(R_{\text{twin}}/R - 1) \approx 83` at widths 64
to 1024 (benchmarks/residual_meanfield.py); the mean field is the :math:`n \to \infty` limit at fixed depth.

**LayerNorm first** (``residual(alpha, branch, norm="layer")``; Yang et al. 2019's normalised residual networks):
every block reads its input through LayerNorm, :math:`N(x) = (x - \bar x\mathbf 1)/s` per input across the units,
:math:`\bar x = \sum_i x_i/n`, :math:`s^2 = \|x - \bar x\mathbf 1\|^2/n` (no affine, no :math:`\epsilon`: the
same layer as :mod:`analytic.theory.normalisation`):

* post: :math:`x_l = x_{l-1} + \alpha\,\varphi(W_l N(x_{l-1}) + b_l)`;
* pre (the pre-activation ResNet): :math:`x_l = x_{l-1} + \alpha\,(W_l\varphi(N(x_{l-1})) + b_l)`.

As :math:`n \to \infty` the unit mean of :math:`x_{l-1}` is :math:`m_{l-1}` and :math:`s^2 = v_{l-1} = p_{l-1} -
m_{l-1}^2`, the **centred** length (the skip's common offset m is removed by the centring). :math:`N(x_{l-1})` has
unit mean 0 and second moment exactly 1 whatever :math:`p_{l-1}`, so every block reads :math:`\varphi` at one fixed
length: post :math:`h_{l,i} \sim N(0, q)`, :math:`q = \sigma_w^2 + \sigma_b^2`; pre :math:`N(x)_i \sim N(0, 1)`.
Forward (the cross terms as above):

.. math:: \text{post: } m_l = m_{l-1} + \alpha\mu(q),\quad v_l = v_{l-1} + \alpha^2(V(q) - \mu(q)^2);\qquad
          \text{pre: } m_l = 0,\quad v_l = p_l = p_{l-1} + \alpha^2(\sigma_w^2 V(1) + \sigma_b^2),

so :math:`v_l = q_0 + a\,l` is **linear** in l (post :math:`a = \alpha^2\mathrm{Var}\,\varphi(\sqrt q z)`, pre
:math:`a = \alpha^2(\sigma_w^2 V(1) + \sigma_b^2)`), and :math:`p_l = v_l + m_l^2` (post with
:math:`\mu \ne 0`: :math:`\sim \alpha^2\mu^2 l^2`). Two inputs: their centred covariance :math:`P_l - m_l^2` grows
by :math:`\alpha^2(E_{q, C/q}[\varphi\varphi] - \mu^2)` (post; :math:`C = \sigma_w^2 \hat c + \sigma_b^2`,
:math:`\hat c = (P_{l-1} - m_{l-1}^2)/v_{l-1}` the correlation of the normalised inputs) or
:math:`\alpha^2(\sigma_w^2 E_{1, \hat c}[\varphi\varphi] + \sigma_b^2)` (pre). Backward, LayerNorm's Jacobian is
:math:`(G - uu^\top)/s` (:math:`G` the centring, :math:`u` the unit vector along :math:`N(x)`): it divides by
:math:`\sqrt{v_{l-1}}` and projects out 2 of n directions (negligible as :math:`n \to \infty`), so

.. math:: \chi_l = 1 + \frac{c}{v_{l-1}}, \qquad c = \alpha^2\sigma_w^2 W(q)\ (\text{pre: } W(1)),
          \qquad \chi^{ab}_l = 1 + \alpha^2\sigma_w^2 E_{q, C/q}[\varphi'\varphi']/v_{l-1}.

The gradient ratio across all L blocks is then a ratio of Gamma functions, and **polynomial** in L, not
exponential:

.. math:: R_L = \prod_{k=0}^{L-1}\frac{q_0 + c + ka}{q_0 + ka}
          = \frac{\Gamma(L + (q_0 + c)/a)\,\Gamma(q_0/a)}{\Gamma(L + q_0/a)\,\Gamma((q_0 + c)/a)}
          \sim \frac{\Gamma(q_0/a)}{\Gamma((q_0 + c)/a)}\,L^{c/a}.

The exponent :math:`c/a`: post :math:`\sigma_w^2 W(q)/\mathrm{Var}\,\varphi(\sqrt q z)`, pre :math:`\sigma_w^2
W(1)/(\sigma_w^2 V(1) + \sigma_b^2)`. ReLU without bias: post :math:`\frac{1/2}{1/2 - 1/(2\pi)} = \pi/(\pi - 1) =
1.46694` (the plain BatchNorm network's :math:`\lambda_\infty`, now an exponent, not a rate), pre :math:`1`
(linear growth); identity: 1 on both branches. Compare a plain LayerNorm network, whose ratio is
:math:`\lambda_{LN}^L` (:mod:`analytic.theory.normalisation`): exponential. A depth-dependent :math:`\alpha`
(``"1/sqrt(r)"``) is resolved at L as everywhere; no law is printed for it.

**Numerics.** Every expectation is a composite Gauss–Legendre rule in z on :math:`[-11, 11]` (the panels of
:mod:`analytic.theory.bivariate`), cut at the kinks and at :math:`x \in \{0, \pm\frac12, \pm1, \pm2, \dots, \pm32\}`
so that the scale of :math:`\varphi` is resolved however large q grows. The whole recursion runs twice, with
:data:`~analytic.theory.bivariate.ORDER` and twice as many nodes per panel; the error of each value is the
difference of the two runs plus the rounding of the sums, and a value whose relative error (absolute, for the
correlations) exceeds :data:`TOLERANCE` is withheld. Where :math:`\varphi^2` is not negligible at
:math:`|z| = 11` (an activation growing so fast that the rule's range misses its mass) the values are withheld.

>>> from analytic.architecture import residual
>>> r = residual_mean_field("relu", 2.0, 0.0, residual(1.0), depth=10)
>>> round(r.gradient_ratio[9].value, 9)  # (1 + alpha^2 sigma_w^2 E[relu'^2])^10 = 2^10
1024.0
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from ..core.display import displayable, quantity_text, with_model
from ..architecture import Architecture, canonical_architecture
from ..core.calculus import numpy_function, resolve
from ..core.registry import X, Activation, BoundActivation
from ..errors import ArgumentError, canonical_float, canonical_int
from ..quantities import QuantitySeries
from .bivariate import MAX_VARIANCE, ORDER, PANELS, ROUNDING, Z_MAX, _inner_mean, _normal_pdf, _panel_nodes
from .gaussian import _breakpoints
from .meanfield import _canonical_variances, _homogeneous

#: Relative tolerance of lengths and gradient ratios; absolute tolerance of the correlations.
TOLERANCE = 1e-8
#: Largest depth of the recursion (each block costs a few tens of milliseconds: 1000 blocks, about half a minute).
MAX_DEPTH = 1000
#: Points in x where every rule is cut (besides the kinks), so the scale of phi is resolved at any length q.
SCALE_CUTS = (0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 4.0, -4.0, 8.0, -8.0, 16.0, -16.0, 32.0, -32.0)
#: Offsets (in units of s/|c|) around a kink's image z_1 = k/(c sqrt q), where the inner integral bends.
_BEND = (-12.0, -6.0, -3.0, -1.5, -0.5, 0.5, 1.5, 3.0, 6.0, 12.0)

_ASSUMPTION = ("mean field of a residual network: width -> infinity, W_ij ~ N(0, sigma_w^2/n), b_i ~ N(0, "
               "sigma_b^2) fresh in every block; input units i.i.d. N(0, q_0), two inputs with correlation c_0 per "
               "unit; gradients under the gradient-independence assumption, both inputs sharing the output gradient")


@dataclass(frozen=True)
class Growth:
    r"""A growth law of the recursion as :math:`L \to \infty`: ``quantity`` (``"length"`` or ``"gradient_ratio"``),
    ``law`` (``"geometric"``: rate per block; ``"power"``: exponent of L; ``"stretched exponential"``:
    :math:`\ln R \approx \beta\sqrt L`), ``rate`` (the rate, exponent or β), ``exact`` (True when the law holds at
    every depth, not only to leading order), ``text`` (the law and its argument in one line) and ``observed``: the
    same rate read off the recursion at the last block L, to set beside it — geometric: :math:`p_L/p_{L-1}` or
    :math:`\chi_L`; power: :math:`\ln(p_L/p_{L-1})/\ln(L/(L-1))` or :math:`L\ln\chi_L`; stretched exponential:
    :math:`2\sqrt L\ln\chi_L` (None when L < 2 or a value is withheld)."""

    quantity: str
    law: str
    rate: float
    exact: bool
    text: str
    observed: float | None = None

    def as_dict(self) -> dict:
        return {"quantity": self.quantity, "law": self.law, "rate": self.rate, "exact": self.exact,
                "text": self.text, "observed": self.observed}


@displayable(title=lambda r: f"mean field (width -> infinity) of a residual network: {r.activation}, depth {r.depth}",
             name="ResidualMeanField",
             headline=(("act", lambda r: r.activation), "sigma_w2", "sigma_b2", "alpha", "depth",
                       ("gradient_ratio", lambda r: quantity_text(r.gradient_ratio[-1]))),
             summary=with_model("mean field of a residual network (width -> infinity)"),
             rows=lambda r: [{"depth": t + 1, **{k: quantity_text(getattr(r, k)[t]) for k in
                                                 ("length", "correlation", "gradient_ratio", "gradient_correlation")}}
                             for t in range(len(r.gradient_ratio))])
@dataclass(frozen=True)
class ResidualMeanField:
    r"""The residual mean field over ``depth`` blocks (see the module docstring for the model).

    Forward series (index k is the value after block k + 1): ``length`` :math:`p_l`, ``mean`` :math:`m_l` (0 for
    the pre branch), ``correlation`` :math:`c_l = P_l/p_l`. Backward series (index k: after d = k + 1 blocks
    back-propagated from the output): ``gradient_ratio`` :math:`E\|g_{L-d}\|^2/E\|g_L\|^2` and
    ``gradient_correlation`` :math:`\langle g^a_{L-d}, g^b_{L-d}\rangle/(\|g^a_{L-d}\|\|g^b_{L-d}\|)`. Each is a
    :class:`~analytic.quantities.QuantitySeries` with errors, withheld where the tolerance is missed.
    ``alpha`` is the branch scale resolved at ``depth``; ``growth`` the derived laws (:class:`Growth`).
    """

    activation: str
    architecture: Architecture
    sigma_w2: float
    sigma_b2: float
    q0: float
    c0: float
    depth: int
    alpha: float
    length: QuantitySeries
    mean: QuantitySeries
    correlation: QuantitySeries
    gradient_ratio: QuantitySeries
    gradient_correlation: QuantitySeries
    growth: tuple[Growth, ...]
    method: str
    assumptions: tuple[str, ...]

    def as_dict(self) -> dict:
        """JSON-ready form: ``activation``, ``architecture``, ``sigma_w2``, ``sigma_b2``, ``q0``, ``c0``, ``depth``,
        ``alpha``; ``length``, ``mean``, ``correlation``, ``gradient_ratio``, ``gradient_correlation`` as lists of
        quantities (``value`` null + ``reason`` where withheld); ``growth``, ``method``, ``assumptions``."""
        def series(s: QuantitySeries) -> list[dict]:
            return [q.as_dict() for q in s]

        return {"activation": self.activation, "architecture": self.architecture.to_json(),
                "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2, "q0": self.q0, "c0": self.c0,
                "depth": self.depth, "alpha": self.alpha, "length": series(self.length),
                "mean": series(self.mean), "correlation": series(self.correlation),
                "gradient_ratio": series(self.gradient_ratio),
                "gradient_correlation": series(self.gradient_correlation),
                "growth": [g.as_dict() for g in self.growth], "method": self.method,
                "assumptions": list(self.assumptions)}


# ---------------------------------------------------------------- one block's Gaussian expectations


@functools.lru_cache(maxsize=None)
def _cuts(act: BoundActivation) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(the kinks of phi and phi', every cut point in x: the kinks and :data:`SCALE_CUTS`)."""
    kinks = _breakpoints(act, "dphi")
    return kinks, tuple(sorted(set(kinks) | set(SCALE_CUTS)))


def _edges(points: tuple[float, ...], r: float) -> np.ndarray:
    pts = [float(p) for p in np.linspace(-Z_MAX, Z_MAX, PANELS + 1)]
    pts += [p / r for p in points if abs(p / r) < Z_MAX]
    return np.unique(np.array(pts))


def _single(act: BoundActivation, q: float, n: int) -> tuple[float, ...]:
    r"""(:math:`\mu(q)`, :math:`V(q)`, :math:`W(q)`, the rounding allowance of each sum as an absolute error, the
    weight of :math:`\varphi^2` at :math:`|z| = ` :data:`Z_MAX` relative to V) by an n-point rule per panel."""
    f, d = numpy_function(act, 0), numpy_function(act, 1)
    r = math.sqrt(q)
    z, w = _panel_nodes(_edges(_cuts(act)[1], r), n)
    weight = w * _normal_pdf(z)
    with np.errstate(over="ignore", invalid="ignore"):
        fx, dx = f(r * z), d(r * z)
        terms = (fx * weight, fx * fx * weight, dx * dx * weight)
        sums = [float(np.sum(t)) for t in terms]
        rounding = [ROUNDING * float(np.sum(np.abs(t))) for t in terms]
        ends = f(np.array([-r * Z_MAX, r * Z_MAX]))
        tail = float(np.max(ends * ends)) * float(_normal_pdf(np.array(Z_MAX)))
    tail = tail / abs(sums[1]) if sums[1] != 0 else (0.0 if tail == 0 else math.inf)
    return (*sums, *rounding, tail)


def _pair(act: BoundActivation, order: int, q: float, c: float, n: int) -> tuple[float, float]:
    r""":math:`E[f(u_1)f(u_2)]` (f = :math:`\varphi^{(\text{order})}`) for the pair of variance q, correlation c,
    by conditional integration (:mod:`analytic.theory.bivariate`'s route with the cuts of :func:`_cuts`); returns
    (the sum, its rounding allowance)."""
    g = numpy_function(act, order)
    kinks, cuts = _cuts(act)
    r = math.sqrt(q)
    c = min(1.0, max(-1.0, c))
    s = math.sqrt(max(0.0, 1 - c * c))
    bends = [k / (c * r) + j * s / abs(c) for k in kinks for j in _BEND] if c != 0 and s > 0 else []
    edges = np.unique(np.concatenate([_edges(cuts, r), [b for b in bends if abs(b) < Z_MAX]]))
    z1, w1 = _panel_nodes(edges, n)
    with np.errstate(over="ignore", invalid="ignore"):
        h = g(r * z1) if s * r == 0 else _inner_mean(g, cuts, r * c * z1, r * s, n)
        terms = g(r * z1) * h * w1 * _normal_pdf(z1)
    return float(np.sum(terms)), ROUNDING * float(np.sum(np.abs(terms)))


# ---------------------------------------------------------------- the recursion


def _run(act: BoundActivation, sw: float, sb: float, alpha: float, branch: str, q0: float, c0: float, L: int,
         n: int, norm: str | None = None) -> tuple[np.ndarray, ...]:
    """One run of the recursion with an n-point rule per panel, per block l = 1..L: p, m, P, log chi, log chi_ab,
    the rounding of the block's step relative to p_l, the rounding of its log chi and log chi_ab (absolute), and the
    largest relative tail weight up to it. ``norm="layer"``: LayerNorm first in every block (the centred length
    v = p - m^2 and covariance P - m^2 are carried themselves, so no cancellation enters)."""
    p, m, P = q0, 0.0, c0 * q0
    v, Pc = q0, c0 * q0                           # centred length and covariance (m_0 = 0)
    out = np.full((8, L), np.nan)
    a2 = alpha * alpha
    tail_max = 0.0
    for l in range(L):
        if not (math.isfinite(p) and p > 0):
            break
        if norm == "layer":
            # N(x) has unit-mean 0 and unit variance: post reads h at q = sigma_w^2 + sigma_b^2, pre reads phi at 1
            cn = Pc / v
            q, cq = (sw + sb, (sw * cn + sb) / (sw + sb)) if branch == "post" else (1.0, cn)
        elif branch == "post":
            q, cq = sw * p + sb, (sw * P + sb) / (sw * p + sb)
        else:
            q, cq = p, P / p
        mu, V, Wd, r_mu, r_V, r_W, tail = _single(act, q, n)
        ff, round2 = _pair(act, 0, q, cq, n)
        dd, round3 = _pair(act, 1, q, cq, n)
        tail_max = max(tail_max, tail)
        back = 1.0 if norm is None else 1.0 / v  # the LayerNorm Jacobian divides the gradient by its scale sqrt(v)
        if branch == "post":
            cross = 2 * alpha * m * mu
            if norm == "layer":
                v, Pc = v + a2 * (V - mu * mu), Pc + a2 * (ff - mu * mu)
            p, P, m = p + cross + a2 * V, P + cross + a2 * ff, m + alpha * mu
            step_round = 2 * abs(alpha * m) * r_mu + a2 * max(r_V, round2)
        else:
            step = a2 * (sw * V + sb), a2 * (sw * ff + sb)
            p, P = p + step[0], P + step[1]
            v, Pc = v + step[0], Pc + step[1]
            step_round = a2 * sw * max(r_V, round2)
        chi, chi_ab = 1 + a2 * sw * Wd * back, 1 + a2 * sw * dd * back
        out[:, l] = (p, m, P, math.log(chi), math.log(chi_ab), step_round / p,
                     a2 * sw * back * max(r_W, round3) / min(chi, chi_ab), tail_max)
    return tuple(out)


def _series(values: np.ndarray, errors: np.ndarray, limits: np.ndarray, tolerance: str) -> QuantitySeries:
    with np.errstate(divide="ignore", invalid="ignore"):
        log_abs = np.where(values == 0, -np.inf, np.log(np.abs(values)))
        log_error = np.where(errors == 0, -np.inf, np.log(errors))
        log_limit = np.log(limits)
    ok = np.isfinite(values) & np.isfinite(errors) & (errors <= limits)
    sign = np.where(np.isnan(values), 0, np.sign(np.nan_to_num(values))).astype(int)
    return QuantitySeries(log_abs, sign, log_error, ok, log_limit, tolerance)


def _log_series(log_values: np.ndarray, log_errors: np.ndarray) -> QuantitySeries:
    """A positive quantity from its log and the absolute error of the log (relative error of the value)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_error = np.where(log_errors == 0, -np.inf, log_values + np.log(log_errors))
    limit = log_values + math.log(TOLERANCE)
    ok = np.isfinite(log_values) & np.isfinite(log_errors) & (log_errors <= TOLERANCE)
    return QuantitySeries(log_values, np.ones(len(log_values), int), log_error, ok, limit,
                          f"relative {TOLERANCE:g}")


@functools.lru_cache(maxsize=256)
def _residual_mean_field(act: BoundActivation, sw: float, sb: float, arch: Architecture, L: int, q0: float,
                         c0: float) -> ResidualMeanField:
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _assemble(act, sw, sb, arch, L, q0, c0)


def _assemble(act: BoundActivation, sw: float, sb: float, arch: Architecture, L: int, q0: float,
              c0: float) -> ResidualMeanField:
    alpha = arch.alpha_at(L)
    coarse = _run(act, sw, sb, alpha, arch.branch, q0, c0, L, ORDER, arch.norm)
    fine = _run(act, sw, sb, alpha, arch.branch, q0, c0, L, 2 * ORDER, arch.norm)
    p, m, P, lchi, lchi_ab, rel_round, log_round, tail = fine
    steps = np.arange(1, L + 1)
    bad_tail = ~(tail <= TOLERANCE * 1e-3)            # the rule's range misses the mass of phi^2
    # rounding: each block's own (relative to p_l), carried forward, and 4 ulp per operation
    slack = np.cumsum(np.nan_to_num(rel_round, nan=np.inf)) + 4e-16 * steps

    def err(a: np.ndarray, b: np.ndarray, scale: np.ndarray) -> np.ndarray:
        return np.where(bad_tail, np.inf, np.abs(a - b) + 2 * slack * np.abs(scale))

    rel = f"relative {TOLERANCE:g}"
    length = _series(p, err(p, coarse[0], p), TOLERANCE * np.abs(p), rel)
    mean = _series(m, err(m, coarse[1], np.sqrt(np.abs(p))),
                   TOLERANCE * np.maximum(np.abs(m), np.sqrt(np.abs(p))),
                   f"relative {TOLERANCE:g} of max(|m_l|, sqrt(p_l))")
    with np.errstate(invalid="ignore", divide="ignore"):
        c, c_coarse = P / p, coarse[2] / coarse[0]
    corr = _series(c, err(c, c_coarse, np.ones(L)), np.full(L, TOLERANCE), f"absolute {TOLERANCE:g}")
    # backward: d blocks from the output are blocks L-d+1..L
    log_ratio = np.cumsum(lchi[::-1])
    log_ratio_c = np.cumsum(coarse[3][::-1])
    log_rho = np.cumsum((lchi_ab - lchi)[::-1])
    log_rho_c = np.cumsum((coarse[4] - coarse[3])[::-1])
    back_slack = np.cumsum(np.nan_to_num(log_round, nan=np.inf)[::-1]) + 4e-16 * steps * (1 + np.abs(log_ratio))
    back_tail = np.maximum.accumulate(bad_tail[::-1])
    ratio_err = np.where(back_tail, np.inf, np.abs(log_ratio - log_ratio_c) + back_slack)
    ratio = _log_series(log_ratio, ratio_err)
    rho = np.exp(log_rho)
    rho_err = np.where(back_tail, np.inf, rho * (np.abs(log_rho - log_rho_c) + 2 * back_slack))
    grad_corr = _series(rho, rho_err, np.full(L, TOLERANCE), f"absolute {TOLERANCE:g}")
    notes = [_ASSUMPTION, f"{arch.describe()}, alpha = {alpha:.12g} at depth L = {L}"]
    if arch.norm == "layer":
        notes.append("LayerNorm N(x) = (x - mean)/std per input across the units, no affine, no epsilon; its "
                     "Jacobian's projection of 2 of n directions is neglected (n -> infinity)")
    if bad_tail.any():
        notes.append(f"from block {int(np.argmax(bad_tail)) + 1} phi^2 is not negligible at |z| = {Z_MAX:g}: "
                     "values withheld (the activation grows too fast for the rule's range)")
    if not np.isfinite(p).all():
        notes.append("the length leaves the float range: the values past it are withheld")
    method = (f"Gauss-Legendre rules in z on [-{Z_MAX:g}, {Z_MAX:g}] cut at the kinks and at the scale points "
              f"{SCALE_CUTS[1::2]} (both signs) of x; the recursion run with {ORDER} and {2 * ORDER} nodes per "
              "panel, error = their difference + rounding")
    growth = tuple(replace(g, observed=_observed(g, p, lchi, length.converged, ratio.converged))
                   for g in _growth(act, sw, sb, arch, alpha, q0))
    return ResidualMeanField(act.name, arch, sw, sb, q0, c0, L, alpha, length, mean, corr, ratio, grad_corr,
                             growth, method, tuple(notes))


def _observed(g: Growth, p: np.ndarray, lchi: np.ndarray, p_ok: np.ndarray, ratio_ok: np.ndarray) -> float | None:
    """The rate of ``g`` read off the last block (see :class:`Growth`)."""
    L = len(p)
    if L < 2:
        return None
    if g.quantity == "length":
        if not (p_ok[-1] and p_ok[-2]):
            return None
        step = p[-1] / p[-2]
        return float(step if g.law == "geometric" else math.log(step) / math.log(L / (L - 1)))
    if not ratio_ok[-1]:
        return None
    last = lchi[-1]
    return float({"geometric": math.exp(last), "power": L * last,
                  "stretched exponential": 2 * math.sqrt(L) * last}[g.law])


# ---------------------------------------------------------------- growth laws


def _homogeneous_growth(act: BoundActivation, sw: float, sb: float, arch: Architecture, alpha: float,
                        a: float) -> list[Growth]:
    from .gaussian import _gaussian

    A = alpha * alpha * sw * a
    out = [Growth("gradient_ratio", "geometric", 1 + A, True,
                  f"phi positively homogeneous: W(q) = E[phi'(z)^2] = {a:.12g} for every q, so chi_l = 1 + alpha^2 "
                  f"sigma_w^2 W = {1 + A:.12g} in every block and the gradient ratio is {1 + A:.12g}^d exactly")]
    if arch.branch == "pre":
        out.append(Growth("length", "geometric", 1 + A, sb == 0,
                          f"pre: p_l = (1 + alpha^2 sigma_w^2 a) p_(l-1) + alpha^2 sigma_b^2 = {1 + A:.12g} p_(l-1)"
                          + (" exactly" if sb == 0 else f" + {alpha * alpha * sb:.6g}")))
        return out
    k = _gaussian(act, "phi", 0.0, 1.0).value
    B = alpha * alpha * sw * k * k
    t = _cubic_root(A, B)
    gamma = (1 + t) ** 2
    out.append(Growth("length", "geometric", gamma, False,
                      f"post: m_l/sqrt(p_l) settles where p_l/p_(l-1) = (1 + t)^2, t the positive root of "
                      f"t^3 + 2 t^2 - A t - 2 B (A = alpha^2 sigma_w^2 a = {A:.6g}, B = alpha^2 sigma_w^2 E[phi(z)]^2 "
                      f"= {B:.6g}): p_l ~ {gamma:.10g}^l as l -> oo"))
    return out


def _cubic_root(A: float, B: float) -> float:
    """The positive root of t^3 + 2t^2 - A t - 2B (B >= 0, A > 0): sqrt(1 + A) - 1 when B = 0."""
    if B == 0:
        return math.sqrt(1 + A) - 1
    from scipy.optimize import brentq

    f = lambda t: t**3 + 2 * t**2 - A * t - 2 * B  # noqa: E731
    hi = 1.0
    while f(hi) < 0:
        hi *= 2
    return brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-15)


@functools.lru_cache(maxsize=None)
def _saturating(act: BoundActivation) -> tuple[float, float, float] | None:
    r"""(:math:`\varphi(-\infty)`, :math:`\varphi(\infty)`, :math:`K = \int\varphi'^2`) when both limits are finite
    (SymPy) and K converges (quad, relative error below 1e-9), else None."""
    import sympy as sp
    from scipy import integrate

    from ..core.special import to_elementary

    x, expr = X, to_elementary(act.expr)
    try:
        lo, hi = (sp.limit(expr, x, -sp.oo), sp.limit(expr, x, sp.oo))
        lo, hi = float(lo), float(hi)
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return None
    d = numpy_function(act, 1)
    cuts = [-math.inf] + list(_cuts(act)[1]) + [math.inf]
    K = err = 0.0
    for a, b in zip(cuts[:-1], cuts[1:]):
        v, e = integrate.quad(lambda t: float(d(np.array(t))) ** 2, a, b, limit=200, epsabs=1e-13, epsrel=1e-12)
        K, err = K + v, err + e
    if not (math.isfinite(K) and K > 0 and err <= 1e-9 * K):
        return None
    return lo, hi, K


def _saturating_growth(sw: float, sb: float, arch: Architecture, alpha: float,
                       limits: tuple[float, float, float]) -> list[Growth]:
    lo, hi, K = limits
    v_inf, mu_inf = (lo * lo + hi * hi) / 2, (lo + hi) / 2
    head = (f"phi -> {lo:g}, {hi:g} at -oo, +oo and K = int phi'^2 = {K:.10g}: V -> {v_inf:g}, mu -> {mu_inf:g}, "
            "W(q) ~ K/sqrt(2 pi q)")
    a = abs(alpha)
    if arch.branch == "pre":
        slope = alpha * alpha * (sw * v_inf + sb)
        beta = 2 * a * sw * K / math.sqrt(2 * math.pi * (sw * v_inf + sb))
        return [Growth("length", "power", 1.0, False, f"{head}; pre: p_l ~ alpha^2 (sigma_w^2 v_inf + sigma_b^2) l "
                                                      f"= {slope:.6g} l"),
                Growth("gradient_ratio", "stretched exponential", beta, False,
                       f"pre: ln chi_l ~ alpha^2 sigma_w^2 K/sqrt(2 pi p_l), so ln R_L ~ beta sqrt(L), beta = "
                       f"2 alpha sigma_w^2 K/sqrt(2 pi (sigma_w^2 v_inf + sigma_b^2)) = {beta:.6g}")]
    if mu_inf == 0:
        beta = 2 * a * math.sqrt(sw) * K / math.sqrt(2 * math.pi * v_inf)
        return [Growth("length", "power", 1.0, False, f"{head}; post, mu_inf = 0: p_l ~ alpha^2 v_inf l = "
                                                      f"{alpha * alpha * v_inf:.6g} l"),
                Growth("gradient_ratio", "stretched exponential", beta, False,
                       f"post: q_l ~ sigma_w^2 alpha^2 v_inf l, ln R_L ~ beta sqrt(L), beta = 2 alpha sigma_w K/"
                       f"sqrt(2 pi v_inf) = {beta:.6g}")]
    beta = a * math.sqrt(sw) * K / (math.sqrt(2 * math.pi) * abs(mu_inf))
    return [Growth("length", "power", 2.0, False, f"{head}; post, mu_inf != 0: m_l ~ alpha mu_inf l, so p_l ~ "
                                                  f"alpha^2 mu_inf^2 l^2 = {alpha * alpha * mu_inf**2:.6g} l^2"),
            Growth("gradient_ratio", "power", beta, False,
                   f"post: ln chi_l ~ beta/l, so R_L ~ L^beta, beta = alpha sigma_w K/(sqrt(2 pi) |mu_inf|) = "
                   f"{beta:.6g}")]


def _layer_growth(act: BoundActivation, sw: float, sb: float, arch: Architecture, alpha: float,
                  q0: float) -> list[Growth]:
    """The laws of the LayerNorm-first block (module docstring, "LayerNorm first"): every block reads phi at one
    fixed length, so the centred length grows by a fixed a per block and chi_l = 1 + c/v_(l-1)."""
    q = sw + sb if arch.branch == "post" else 1.0
    mu, V, Wd = _single(act, q, 2 * ORDER)[:3]
    a2 = alpha * alpha
    c = a2 * sw * Wd
    a = a2 * (V - mu * mu) if arch.branch == "post" else a2 * (sw * V + sb)
    where = f"sigma_w^2 + sigma_b^2 = {q:.6g}" if arch.branch == "post" else "1 (N(x) has unit length)"
    consts = f"at q = {where}: E[phi] = {mu:.10g}, E[phi^2] = {V:.10g}, E[phi'^2] = {Wd:.10g}"
    if not a > 0:
        return [Growth("gradient_ratio", "geometric", 1 + c / q0, True,
                       f"{consts}; the branch adds no variance, so v_l = q_0 and chi_l = 1 + c/q_0 every block")]
    incr = "alpha^2 Var phi(sqrt(q) z)" if arch.branch == "post" else "alpha^2 (sigma_w^2 E[phi(z)^2] + sigma_b^2)"
    out = [Growth("gradient_ratio", "power", c / a, False,
                  f"{consts}; the centred length v_l = q_0 + a l, a = {incr} = {a:.10g}, and chi_l = 1 + c/v_(l-1), "
                  f"c = alpha^2 sigma_w^2 E[phi'^2] = {c:.10g}: R_L = Gamma(L + (q_0 + c)/a) Gamma(q_0/a) / "
                  f"(Gamma(L + q_0/a) Gamma((q_0 + c)/a)) ~ L^(c/a), c/a = {c / a:.10g}")]
    if arch.branch == "post" and abs(mu) > 1e-10 * math.sqrt(V):
        out.append(Growth("length", "power", 2.0, False,
                          f"post: m_l = alpha E[phi] l, so p_l = v_l + m_l^2 ~ alpha^2 E[phi]^2 l^2 = "
                          f"{a2 * mu * mu:.6g} l^2"))
    else:
        out.append(Growth("length", "power", 1.0, False, f"p_l = q_0 + {a:.10g} l exactly (linear in l)"))
    return out


def _growth(act: BoundActivation, sw: float, sb: float, arch: Architecture, alpha: float,
            q0: float = 1.0) -> tuple[Growth, ...]:
    if arch.norm == "layer":
        return () if isinstance(arch.alpha, str) else tuple(_layer_growth(act, sw, sb, arch, alpha, q0))
    a = _homogeneous(act)
    if a is not None:
        return tuple(_homogeneous_growth(act, sw, sb, arch, alpha, a))
    if isinstance(arch.alpha, str):
        return ()  # the laws above are for a fixed alpha as L -> oo
    limits = _saturating(act)
    return tuple(_saturating_growth(sw, sb, arch, alpha, limits)) if limits is not None else ()


def residual_mean_field(act: Activation | str, sigma_w2: float, sigma_b2: float, architecture: Any,
                        depth: int, q0: float = 1.0, c0: float = 0.5,
                        params: dict | None = None) -> ResidualMeanField:
    r"""The mean field of a wide residual network over ``depth`` blocks: length, correlation, gradient ratio and
    gradient correlation per depth with errors, and the growth laws (module docstring).

    ``architecture`` is :func:`analytic.architecture.residual`, without a normalisation layer or with LayerNorm
    first (``norm="layer"``); ``q0`` the input's per-unit second moment, ``c0`` the correlation of the two inputs.

    >>> from analytic.architecture import residual
    >>> r = residual_mean_field("identity", 1.0, 0.0, residual(0.5, "pre"), depth=4)
    >>> round(r.length[3].value, 12)  # (1 + alpha^2 sigma_w^2)^4 = 1.25^4
    2.44140625
    >>> r = residual_mean_field("identity", 1.0, 0.0, residual(1.0, "pre", norm="layer"), depth=4)
    >>> round(r.gradient_ratio[3].value, 12)  # prod (1 + 1/v_l), v_l = 1 + l: 5/1, linear in L
    5.0
    """
    sw, sb = _canonical_variances(sigma_w2, sigma_b2)
    arch = canonical_architecture(architecture)
    if not arch.is_residual:
        raise ArgumentError(f"residual_mean_field needs a residual architecture, not {arch.describe()}")
    if arch.norm == "batch":
        raise ArgumentError("residual_mean_field models LayerNorm inside the block (norm='layer'), not BatchNorm")
    depth = canonical_int("depth", depth, 1, MAX_DEPTH, error=ArgumentError)
    q0 = canonical_float("q0", q0, 0, MAX_VARIANCE, open_low=True)
    c0 = canonical_float("c0", c0, -1.0, 1.0)
    act = resolve(act, params)
    if arch.alpha_at(depth) == 0:
        raise ArgumentError("alpha = 0 leaves the identity network: nothing to compute")
    return _residual_mean_field(act, sw, sb, arch, depth, q0, c0)
