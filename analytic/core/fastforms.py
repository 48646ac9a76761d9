r"""Fused NumPy kernels :math:`v \mapsto (\varphi(v), \varphi'(v))` for catalogue entries, written into buffers.

A kernel ``k(v, y, d, t)`` writes :math:`\varphi(v)` into ``y`` and :math:`\varphi'(v)` into ``d``, using ``t`` as
scratch; ``v`` is left unchanged, and all four arrays have one shape and must be distinct. Piecewise entries
use masked copies (``numpy.copyto(..., where=)``) instead of ``numpy.select``/``numpy.piecewise``, and every
branch is evaluated on arguments where it stays finite (``expm1(min(v, 0))``), so no branch overflows. The
conventions at the kinks are the catalogue's (PyTorch's): ReLU′(0) = 0, leaky′(0) = slope, ELU′(0) = α,
hardtanh′(±1) = 0, hard_swish′(−3) = −1/2. Stable forms:

* sigmoid: with :math:`e = e^{-|v|}`, :math:`\sigma(|v|) = 1/(1+e)`, :math:`\sigma(-|v|) = e/(1+e)`, and
  :math:`\sigma'(v) = \sigma(|v|)\,\sigma(-|v|)` (full relative precision in both tails);
* tanh: :math:`\tanh' = 1/\cosh^2 v` (never :math:`1 - \tanh^2`, which loses every digit for large :math:`|v|`);
* ELU/SELU/CELU: :math:`\alpha\,\mathrm{expm1}(v)` and :math:`\alpha e^{v}` on :math:`v \le 0`.

Kernels are run inside ``numpy.errstate(all="ignore")`` by their callers.

>>> import numpy as np
>>> k = fused_kernel("relu", {})
>>> v = np.array([-1.0, 0.0, 2.0]); y, d, t = (np.empty(3) for _ in range(3))
>>> k(v, y, d, t)
>>> y.tolist(), d.tolist()
([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
"""
from __future__ import annotations

from typing import Callable

import numpy as np

Kernel = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


def _sigmoid(v, y, d, t):
    np.abs(v, out=t)
    np.negative(t, out=t)
    np.exp(t, out=t)                 # e = exp(-|v|)
    np.add(t, 1.0, out=d)
    np.divide(1.0, d, out=d)         # sigma(|v|)
    np.multiply(t, d, out=t)         # sigma(-|v|)
    np.copyto(y, t)
    np.copyto(y, d, where=v >= 0)
    np.multiply(d, t, out=d)


def _tanh(v, y, d, t):
    np.tanh(v, out=y)
    np.cosh(v, out=d)
    np.multiply(d, d, out=d)
    np.divide(1.0, d, out=d)


def _relu(v, y, d, t):
    np.maximum(v, 0.0, out=y)
    np.greater(v, 0.0, out=d)


def _identity(v, y, d, t):
    np.copyto(y, v)
    d.fill(1.0)


def _linear_below(slope: float) -> Kernel:
    """x for x > 0, slope·x otherwise (leaky ReLU, PReLU); φ′(0) = slope."""
    def kernel(v, y, d, t):
        above = v > 0
        np.multiply(v, slope, out=y)
        np.copyto(y, v, where=above)
        d.fill(slope)
        np.copyto(d, 1.0, where=above)
    return kernel


def _exponential_below(alpha: float, scale: float, inner: float) -> Kernel:
    r"""scale·x for x > 0, scale·α·(e^{x·inner} − 1) otherwise; φ′ = scale, scale·α·inner·e^{x·inner}
    (ELU: scale = inner = 1; SELU: inner = 1; CELU: scale = 1, inner = 1/α)."""
    slope = scale * alpha * inner

    def kernel(v, y, d, t):
        above = v > 0
        np.minimum(v, 0.0, out=t)
        if inner != 1.0:
            np.multiply(t, inner, out=t)
        np.expm1(t, out=y)
        np.exp(t, out=d)
        if scale * alpha != 1.0:
            np.multiply(y, scale * alpha, out=y)
        if slope != 1.0:
            np.multiply(d, slope, out=d)
        if scale != 1.0:
            np.multiply(v, scale, out=t)
            np.copyto(y, t, where=above)
        else:
            np.copyto(y, v, where=above)
        np.copyto(d, scale, where=above)
    return kernel


def _hardtanh(v, y, d, t):
    np.clip(v, -1.0, 1.0, out=y)
    np.abs(v, out=t)
    np.less(t, 1.0, out=d)


def _hard_sigmoid(v, y, d, t):
    np.add(v, 3.0, out=t)
    np.divide(t, 6.0, out=t)
    np.clip(t, 0.0, 1.0, out=y)
    np.abs(v, out=t)
    np.less(t, 3.0, out=d)
    np.multiply(d, 1.0 / 6.0, out=d)


def _hard_swish(v, y, d, t):
    # middle piece x(x+3)/6 on [-3, 3], φ′ = (2x+3)/6 there (exact near its zero at -3/2)
    np.add(v, 3.0, out=t)
    np.multiply(t, v, out=y)
    np.divide(y, 6.0, out=y)
    np.multiply(v, 2.0, out=d)
    np.add(d, 3.0, out=d)
    np.divide(d, 6.0, out=d)
    above = v > 3.0
    np.copyto(y, v, where=above)
    np.copyto(d, 1.0, where=above)
    below = v < -3.0
    np.copyto(y, 0.0, where=below)
    np.copyto(d, 0.0, where=below)


def _softsign(v, y, d, t):
    np.abs(v, out=t)
    np.add(t, 1.0, out=t)
    np.divide(v, t, out=y)
    np.multiply(t, t, out=t)
    np.divide(1.0, t, out=d)


_FIXED = {"sigmoid": _sigmoid, "tanh": _tanh, "relu": _relu, "identity": _identity, "hardtanh": _hardtanh,
          "hard_sigmoid": _hard_sigmoid, "hard_swish": _hard_swish, "softsign": _softsign}
_FAMILIES: dict[str, Callable[[dict[str, float]], Kernel]] = {
    "leaky_relu": lambda p: _linear_below(p["negative_slope"]),
    "prelu": lambda p: _linear_below(p["a"]),
    "elu": lambda p: _exponential_below(p["alpha"], 1.0, 1.0),
    "selu": lambda p: _exponential_below(p["alpha"], p["scale"], 1.0),
    "celu": lambda p: _exponential_below(p["alpha"], 1.0, 1.0 / p["alpha"]),
}
#: Catalogue entries with a fused kernel.
NAMES = tuple(sorted({*_FIXED, *_FAMILIES}))


def fused_kernel(name: str, params: dict[str, float]) -> Kernel | None:
    """The fused kernel of catalogue entry ``name`` with parameter values ``params`` (name → float), or None
    when the entry has none (its generated NumPy forms are used instead)."""
    if name in _FIXED:
        return _FIXED[name]
    family = _FAMILIES.get(name)
    return family(params) if family is not None else None
