r"""The per-layer picture of a wide network in mean field: the pre-activation law, the gradient's per-layer factor
:math:`\chi_l` and the fraction of units that are off, layer by layer (Glorot & Bengio 2010, the profile of
gradients across layers; Poole et al. 2016 for the length map).

Width :math:`n \to \infty`, :math:`W_{ij}` of mean 0 and variance :math:`\sigma_w^2/n`, biases of mean
:math:`\mu_b` and variance :math:`\sigma_b^2`, inputs with :math:`E[y_{0,j}^2] = q_{\rm in}`. The pre-activation
:math:`v_l` of a unit is then :math:`N(\mu_b, s_l^2)` with

.. math::

    s_1^2 = \sigma_w^2 q_{\rm in} + \sigma_b^2, \qquad
    s_{l+1}^2 = \sigma_w^2\,E[\varphi(\mu_b + s_l z)^2] + \sigma_b^2, \qquad z \sim N(0, 1),

so :math:`q_l = E[v_l^2] = s_l^2 + \mu_b^2` (with :math:`\mu_b = 0` this is the length map of
:mod:`analytic.theory.meanfield`). Back-propagating :math:`g_{l-1} = W_l^\top(\varphi'(v_l)\odot g_l)` with the
backward weights independent of the forward pass (the mean-field gradient assumption),
:math:`E\|g_{l-1}\|^2 = \chi_l\,E\|g_l\|^2` with :math:`\chi_l = \sigma_w^2 E[\varphi'(v_l)^2]`, hence

.. math::

    \ln E\|g_l\|^2 = \ln E\|g_L\|^2 + \sum_{k=l+1}^{L} \ln\chi_k ,

the per-layer :math:`\chi` product (``log_gradient[l]``; :math:`E\|g_L\|^2 = n` for the loss
:math:`\langle u, y_L\rangle`, :math:`u \sim N(0, I_n)` of :func:`analytic.mc.simulate_wide`). The fraction of
units that are off at layer :math:`l` is :math:`P(v_l \le 0) = \Phi(-\mu_b/s_l)`, exact given :math:`s_l`.

For ReLU with zero bias and any symmetric weight law the gradient line is exact at every width, not only in the
limit: a sign flip of a row :math:`w_i` flips :math:`1(w_i\cdot y > 0)` and keeps :math:`(w_i\cdot a)^2`, so
:math:`E\|D W a\|^2 = \tfrac{\sigma_w^2}{2}\|a\|^2` given :math:`a` and :math:`y`, layer after layer.

The Gaussian expectations are composite Gauss–Legendre rules in z (panels split at the kinks, as in
:mod:`analytic.theory.meanfield`) at two orders; the whole recursion is run with each, and the error of every
number is the difference of the two runs plus rounding. A number whose error misses :data:`TOLERANCE` is
withheld (nan, with ``reason``).

>>> p = layer_profile("relu", 2.0, 3)
>>> [round(q, 12) for q in p.q]
[1.0, 2.0, 2.0, 2.0]
>>> [round(g, 12) + 0.0 for g in p.log_gradient]
[0.0, 0.0, 0.0, 0.0]
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr

from ..core.calculus import numpy_function, resolve
from ..core.registry import Activation, BoundActivation
from ..errors import canonical_float, canonical_int
from .bivariate import MAX_VARIANCE, ORDER, PANELS, ROUNDING, Z_MAX, _panel_nodes
from .gaussian import _SQRT2PI, _breakpoints

#: Largest depth of a profile.
MAX_PROFILE_DEPTH = 10_000
#: Largest error kept: relative for q and the off fraction, absolute for the logs (nats).
TOLERANCE = 1e-8


@dataclass(frozen=True)
class LayerProfile:
    r"""Mean field of a wide network layer by layer, index :math:`l = 0..L` (0 = the input).

    ``q[l]`` = :math:`E[v_l^2]` (``q[0]`` = :math:`q_{\rm in}`, the inputs' mean square); ``log_chi[l]`` =
    :math:`\ln\chi_l` (``log_chi[0]`` = 0, unused); ``log_gradient[l]`` = :math:`\ln E\|g_l\|^2 - \ln E\|g_L\|^2
    = \sum_{k>l}\ln\chi_k`; ``off[l]`` = :math:`P(v_l \le 0)` (``off[0]`` nan). Each with its ``*_error``; a value
    whose error missed :data:`TOLERANCE` is nan and ``reason`` says so.
    """

    act: str
    sigma_w2: float
    sigma_b2: float
    bias_mean: float
    q_in: float
    q: tuple[float, ...]
    q_error: tuple[float, ...]
    log_chi: tuple[float, ...]
    log_gradient: tuple[float, ...]
    log_gradient_error: tuple[float, ...]
    off: tuple[float, ...]
    off_error: tuple[float, ...]
    reason: str | None = None

    @property
    def depth(self) -> int:
        return len(self.q) - 1

    def log_mean_norm2(self, width: int) -> np.ndarray:
        r""":math:`\ln E\|g_l\|^2` for a width-``width`` network with :math:`E\|g_L\|^2 = n` (the loss of
        :func:`analytic.mc.simulate_wide`): :math:`\ln n` + ``log_gradient``; compare with the simulation's
        ``log_mean_norm2``."""
        return math.log(canonical_int("width", width, 1, 10**9)) + np.asarray(self.log_gradient)

    def as_dict(self) -> dict:
        return {"act": self.act, "sigma_w2": self.sigma_w2, "sigma_b2": self.sigma_b2, "bias_mean": self.bias_mean,
                "q_in": self.q_in, "q": _json(self.q), "q_error": list(self.q_error),
                "log_chi": _json(self.log_chi), "log_gradient": _json(self.log_gradient),
                "log_gradient_error": list(self.log_gradient_error), "off": _json(self.off),
                "off_error": list(self.off_error), "reason": self.reason}


def _json(values) -> list:
    return [None if not math.isfinite(v) else v for v in values]


def _expectations(act: BoundActivation, mean: float, sd: float, order: int) -> tuple[float, float, float, float]:
    r""":math:`E[\varphi(x)^2]` and :math:`E[\varphi'(x)^2]` for :math:`x \sim N(\text{mean}, \text{sd}^2)` by the
    composite Gauss–Legendre rule of ``order`` nodes per panel, with the sums of the absolute terms (for the
    rounding)."""
    f, d = numpy_function(act, 0), numpy_function(act, 1)
    edges = np.linspace(-Z_MAX, Z_MAX, PANELS + 1)
    if sd > 0:
        cuts = [min(max((k - mean) / sd, -Z_MAX), Z_MAX) for k in _breakpoints(act, "dphi")]
        edges = np.sort(np.concatenate([edges, cuts]))
    z, w = _panel_nodes(edges[None, :], order)
    z, w = z[0], w[0]
    x = mean + sd * z
    with np.errstate(over="ignore", invalid="ignore"):
        fx, dx = f(x), d(x)
    weight = w * np.exp(-z * z / 2) / _SQRT2PI
    t_phi, t_dphi = fx * fx * weight, dx * dx * weight
    return float(t_phi.sum()), float(t_dphi.sum()), float(np.abs(t_phi).sum()), float(np.abs(t_dphi).sum())


def _run(act: BoundActivation, sw: float, sb: float, mu: float, q_in: float, depth: int, order: int):
    """The recursion with one rule: (s_l^2 for l = 1..L, ln chi_l for l = 1..L, rounding size of each)."""
    s2 = np.empty(depth + 1)
    log_chi = np.zeros(depth + 1)
    size = np.zeros(depth + 1)
    s2[0] = math.nan
    s2[1] = sw * q_in + sb
    for l in range(1, depth + 1):
        V, W, aV, aW = _expectations(act, mu, math.sqrt(s2[l]), order)
        log_chi[l] = math.log(sw * W) if sw * W > 0 else -math.inf
        size[l] = aW / W if W > 0 else 0.0
        if l < depth:
            s2[l + 1] = sw * V + sb
    return s2, log_chi, size


def layer_profile(act: Activation | str, sigma_w2: float, depth: int, *, sigma_b2: float = 0.0,
                  bias_mean: float = 0.0, q_in: float = 1.0, params: dict | None = None) -> LayerProfile:
    r"""The mean-field profile of a depth-``depth`` wide network, layer by layer (see the module text): the
    pre-activation law :math:`N(\mu_b, s_l^2)`, :math:`q_l`, :math:`\ln\chi_l`, the per-layer :math:`\chi`
    product :math:`\sum_{k>l}\ln\chi_k` and :math:`P(v_l \le 0)`.

    >>> p = layer_profile("relu", 2.0 / 3.0, 2)
    >>> [round(g, 10) for g in p.log_gradient] == [round(2 * math.log(1 / 3), 10), round(math.log(1 / 3), 10), 0.0]
    True
    """
    a = resolve(act, params)
    sw = canonical_float("sigma_w2", sigma_w2, 0, MAX_VARIANCE, open_low=True)
    sb = canonical_float("sigma_b2", sigma_b2, 0, MAX_VARIANCE)
    mu = canonical_float("bias_mean", bias_mean, -1e3, 1e3)
    q_in = canonical_float("q_in", q_in, 0, MAX_VARIANCE, open_low=True)
    depth = canonical_int("depth", depth, 1, MAX_PROFILE_DEPTH)
    coarse, fine = (_run(a, sw, sb, mu, q_in, depth, n) for n in (ORDER, 2 * ORDER))
    s2, log_chi, size = fine
    layers = np.arange(depth + 1)
    q = s2 + mu * mu
    q[0] = q_in
    q_err = np.abs(fine[0] - coarse[0]) + ROUNDING * layers * np.abs(q)
    q_err[0] = 0.0
    both_dead = np.isneginf(fine[1]) & np.isneginf(coarse[1])  # phi' = 0 almost surely by both rules: exact
    with np.errstate(invalid="ignore"):
        chi_err = np.where(both_dead, 0.0, np.abs(fine[1] - coarse[1]) + ROUNDING * size)
    # sum over k > l of ln chi_k, and of its errors
    log_grad = np.concatenate([np.cumsum(log_chi[:0:-1])[::-1], [0.0]])
    grad_err = np.concatenate([np.cumsum(chi_err[:0:-1])[::-1], [0.0]])
    off = np.full(depth + 1, math.nan)
    sd = np.sqrt(s2[1:])
    off[1:] = np.where(sd > 0, ndtr(-mu / np.where(sd > 0, sd, 1.0)), float(mu <= 0))
    # P(v <= 0) moves with s_l: its error from that of s_l (dP/ds = phi(mu/s) mu / s^2), plus rounding
    s_err = np.abs(np.sqrt(fine[0][1:]) - np.sqrt(coarse[0][1:]))
    with np.errstate(divide="ignore", invalid="ignore"):
        dens = np.where(sd > 0, np.exp(-0.5 * (mu / sd) ** 2) / _SQRT2PI * abs(mu) / sd ** 2, 0.0)
    off_err = np.concatenate([[0.0], dens * s_err + ROUNDING])
    bad_q = q_err > TOLERANCE * np.abs(q)
    bad_g = ~(grad_err <= TOLERANCE)
    bad_off = off_err > TOLERANCE
    reason = None
    if bad_q.any() or bad_g.any() or bad_off[1:].any():
        reason = (f"the two quadrature orders differ by more than {TOLERANCE:g} (relative for q, absolute for the "
                  "logs) at some layers; those values are withheld")
    return LayerProfile(
        act=a.name, sigma_w2=sw, sigma_b2=sb, bias_mean=mu, q_in=q_in,
        q=tuple(float(v) for v in np.where(bad_q, np.nan, q)), q_error=tuple(float(v) for v in q_err),
        log_chi=tuple(float(v) for v in log_chi),
        log_gradient=tuple(float(v) for v in np.where(bad_g, np.nan, log_grad)),
        log_gradient_error=tuple(float(v) for v in grad_err),
        off=tuple(float(v) for v in np.where(bad_off, np.nan, off)), off_error=tuple(float(v) for v in off_err),
        reason=reason)


def born_alive_probability(width: int, depth: int) -> float:
    r"""The probability that a ReLU network of ``depth`` layers of width ``width``, without biases and with
    independent weights of a symmetric continuous law, is still alive (output not all 0) for a given input
    :math:`x \ne 0`: :math:`(1 - 2^{-n})^L`, exact.

    Given a non-zero input :math:`y_{l-1}` to layer l, the pre-activations :math:`v_i = w_i\cdot y_{l-1}` have
    independent rows :math:`w_i`; each is symmetric and continuous, so :math:`P(v_i \le 0 \mid y_{l-1}) = 1/2`,
    independently across the n units: the layer kills the input with probability :math:`2^{-n}` whatever
    :math:`y_{l-1}` is. A dead layer stays dead (no bias), and the layers' weights are independent (the Markov
    structure), so the survival probabilities multiply. (n = 3, L = 10: :math:`(7/8)^{10} \approx 0.263`.)

    >>> round(born_alive_probability(3, 10), 4)
    0.2631
    """
    n = canonical_int("width", width, 1, 10**6)
    L = canonical_int("depth", depth, 0, 10**9)
    return math.exp(L * math.log1p(-math.ldexp(1.0, -n)))
