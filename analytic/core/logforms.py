r""":math:`\log|\varphi'(v)|` and the sign of :math:`\varphi'(v)` where the float :math:`\varphi'` underflows.

For :math:`v` far in a tail the float :math:`\varphi'(v)` is 0.0 although :math:`\varphi'(v) \ne 0` (GELU:
:math:`\varphi'(-40) \approx -5.8 \cdot 10^{-347}`; SiLU, sigmoid, tanh, softplus and most user formulas alike). The
exact chain and its Monte Carlo both need :math:`\log|\varphi'(v)|` there, and both take it from here:

* :func:`log_abs_form` rewrites :math:`\varphi'` into an expression for :math:`\log|\varphi'|` that does not
  underflow: logs of products are sums, :math:`\log e^u = u`, :math:`\log\sigma(u) = -\operatorname{softplus}(-u)`,
  :math:`\log\operatorname{erfc}` by ``erfcx``, :math:`\log\cosh` and :math:`\log\operatorname{softplus}` by their
  own stable forms, and a sum by a signed log-sum-exp of its terms (:class:`log_abs_sum`); :func:`sign_form`
  is the matching sign;
* where that float form is not finite, or its log-sum-exp cancels so much that fewer than nine digits of the log
  remain, :func:`mp_dphi` evaluates :math:`\varphi'` in mpmath at rising precision until two precisions agree;
* :func:`dead_form` tells the intervals where :math:`\varphi' \equiv 0` (ReLU for :math:`v \le 0`, hardtanh
  beyond :math:`\pm 1`), where the zero is true, not an underflow.

:func:`log_abs_dphi` combines them (true zeros give :math:`-\infty`); :func:`log_abs_underflow` is the
transfer operator's variant (a value that cannot be resolved is clamped at the log of the smallest float).

>>> import numpy as np
>>> from analytic.core.calculus import resolve
>>> logs, signs = log_abs_dphi(resolve("gelu"), np.array([-40.0, -1.0]))
>>> round(float(logs[0]), 6), int(signs[0])  # GELU'(-40) = Phi(-40) - 40 phi(40) (float64 stops at exp(-745))
(-797.230684, -1)
"""
from __future__ import annotations

import functools
import math
import threading

import numpy as np
import sympy as sp
from scipy import special

from .calculus import NUMPY_NAMESPACE, derivative, numeric_form
from .registry import X, BoundActivation
from .special import sigmoid, softplus, to_elementary

__all__ = ["LOG_TINY", "TINY", "log_erfc", "log_cosh", "log_softplus", "log_tanh_ratio", "log_abs_sum",
           "sign_sum", "np_log_erfc", "np_log_cosh", "np_log_softplus", "np_log_tanh_ratio", "np_log_abs_sum",
           "np_sign_sum", "sign_form", "log_abs_form", "dead_form", "np_log_abs_dphi", "np_sign_dphi", "np_dead",
           "float_dphi_exact", "mp_dphi", "mp_log_abs_dphi", "prepare", "log_abs_dphi", "log_abs_underflow"]

#: The log of the smallest positive float (a subnormal): where an unresolved log|φ′| is clamped.
LOG_TINY = math.log(5e-324)
#: |φ′| below which the float value is not trusted to full relative precision (subnormals and their
#: neighbourhood, 2^-960 ≈ 1e-289): such entries take the log route.
TINY = 2.0**-960
#: Largest loss of relative precision a log-sum-exp may have before mpmath is asked instead: the log keeps
#: about nine correct digits (unit roundoff × |largest log| / |sum| ≤ 1e-9).
_CANCEL = 1e-9
#: mpmath precisions (decimal digits) tried in turn; a value is accepted when two successive ones agree.
_DPS = (30, 60, 120, 240, 480)
#: Agreement in log|φ′| between two precisions that accepts a value.
_AGREE = 1e-12
#: mpmath's working precision is global to the process: one evaluation at a time, so that threads running
#: chains in parallel never see each other's precision.
_MP_LOCK = threading.Lock()


# ---------------------------------------------------------------- SymPy functions with stable NumPy forms

class log_erfc(sp.Function):
    """log erfc(u), evaluated without underflow (NumPy: :func:`np_log_erfc`)."""

    nargs = 1


class log_cosh(sp.Function):
    """log cosh(u), evaluated without overflow (NumPy: :func:`np_log_cosh`)."""

    nargs = 1


class log_softplus(sp.Function):
    """log softplus(u) = log log(1 + e^u), evaluated without underflow (NumPy: :func:`np_log_softplus`)."""

    nargs = 1


class log_tanh_ratio(sp.Function):
    """log(tanh(u)/u) (0 at u = 0), so that log|tanh u| = log|u| + log_tanh_ratio(u) when u underflows."""

    nargs = 1


class log_abs_sum(sp.Function):
    """log|sum_i s_i e^{l_i}| for arguments (l_1, s_1, l_2, s_2, ...), evaluated without underflow."""


class sign_sum(sp.Function):
    """The sign of sum_i s_i e^{l_i} for arguments (l_1, s_1, l_2, s_2, ...)."""


def np_log_erfc(u):
    r""":math:`\log\operatorname{erfc}(u)`: :math:`\log\operatorname{erfcx}(u) - u^2` for :math:`u > 0`."""
    u = np.asarray(u, dtype=float)
    with np.errstate(all="ignore"):
        return np.where(u > 0, np.log(special.erfcx(np.maximum(u, 0.0))) - u * u, np.log(special.erfc(u)))


def np_log_cosh(u):
    r""":math:`\log\cosh u = |u| + \operatorname{log1p}(e^{-2|u|}) - \ln 2`."""
    a = np.abs(np.asarray(u, dtype=float))
    with np.errstate(all="ignore"):
        return a + np.log1p(np.exp(-2 * a)) - math.log(2.0)


def np_log_softplus(u):
    r""":math:`\log\log(1 + e^u)`: :math:`u + \operatorname{log1p}(-e^u/2)` for :math:`u < -30` (the series
    :math:`\log(1+t) = t(1 - t/2 + \dots)`, :math:`t = e^u < 10^{-13}`), else directly."""
    u = np.asarray(u, dtype=float)
    with np.errstate(all="ignore"):
        low = u + np.log1p(-np.exp(np.minimum(u, 0.0)) / 2)
        return np.where(u < -30, low, np.log(np.logaddexp(np.maximum(u, -30.0), 0.0)))


def np_log_tanh_ratio(u):
    r""":math:`\log(\tanh u / u)`, :math:`-u^2/3` for :math:`|u| < 10^{-4}` (the next term is below 1e-17)."""
    u = np.asarray(u, dtype=float)
    with np.errstate(all="ignore"):
        safe = np.where(np.abs(u) < 1e-4, 1.0, u)
        return np.where(np.abs(u) < 1e-4, -u * u / 3, np.log(np.tanh(safe) / safe))


def _stacked(args):
    logs, signs = np.broadcast_arrays(*args[0::2]), np.broadcast_arrays(*args[1::2])
    return np.stack(logs).astype(float), np.stack(signs).astype(float)


def np_log_abs_sum(*args):
    r""":math:`\log|\sum_i s_i e^{l_i}|`, shifted by the largest :math:`l_i`; ``nan`` where the terms cancel so
    much that fewer than nine digits of the log are left (the unit roundoff times the largest :math:`|l_i|` times
    the sum of the terms' sizes over the size of the sum, relative to the log, exceeds 1e-9), so that the caller
    asks mpmath instead."""
    L, S = _stacked(args)
    live = (S != 0) & np.isfinite(L)
    with np.errstate(all="ignore"):
        top = np.max(np.where(live, L, -np.inf), axis=0)
        terms = np.where(live, np.exp(L - top), 0.0)
        total = np.sum(S * terms, axis=0)
        size = np.sum(terms, axis=0)
        scale = np.max(np.where(live, np.abs(L), 0.0), axis=0)
        out = np.log(np.abs(total)) + top
        lost = np.finfo(float).eps * np.maximum(scale, 1.0) * size > _CANCEL * np.abs(total) * np.maximum(np.abs(out), 1.0)
        inf_term = np.any((S != 0) & (L == np.inf), axis=0)
    out = np.where(lost & ~inf_term & np.isfinite(top), np.nan, out)
    return out


def np_sign_sum(*args):
    """The sign of :math:`\\sum_i s_i e^{l_i}` (computed like :func:`np_log_abs_sum`)."""
    L, S = _stacked(args)
    live = (S != 0) & np.isfinite(L)
    with np.errstate(all="ignore"):
        top = np.max(np.where(live, L, -np.inf), axis=0)
        return np.sign(np.sum(np.where(live, S * np.exp(L - top), 0.0), axis=0))


# ---------------------------------------------------------------- rewriting φ′

def sign_form(e: sp.Expr) -> sp.Expr:
    """The sign of e as an expression that does not underflow (positive factors drop out, a sum's sign is
    :class:`sign_sum` of its terms' logs and signs)."""
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(sign_form(piece), cond) for piece, cond in e.args])
    if e.is_Mul:
        return sp.Mul(*[sign_form(f) for f in e.args])
    if e.is_Pow and e.exp.is_integer:
        return sign_form(e.base) ** e.exp
    if isinstance(e, (sp.exp, sp.erfc, sp.cosh, sigmoid, softplus)) or e.is_positive:
        return sp.S.One
    if isinstance(e, sp.tanh):
        return sign_form(e.args[0])
    if e.is_Add and e.has(X):
        return sign_sum(*[a for t in e.args for a in (log_abs_form(t), sign_form(t))])
    return sp.sign(e)


def log_abs_form(e: sp.Expr) -> sp.Expr:
    r"""An expression for :math:`\log|e|` that does not underflow where e does: logs of products are sums,
    :math:`\log e^u = u`, :math:`\log\sigma(u) = -\operatorname{softplus}(-u)`, log erfc by erfcx,
    :math:`\log\cosh`, :math:`\log\operatorname{softplus}` and :math:`\log|\tanh|` by their stable forms, and a
    sum by a signed log-sum-exp of its terms; anything else stays :math:`\log|\cdot|`.

    >>> log_abs_form(sp.exp(-X**2) * sigmoid(X))
    -x**2 - softplus(-x)
    """
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(log_abs_form(piece), cond) for piece, cond in e.args])
    if e.is_Mul:
        return sp.Add(*[log_abs_form(f) for f in e.args])
    if e.is_Pow and e.exp.is_number:
        return e.exp * log_abs_form(e.base)
    if isinstance(e, sp.exp):
        return e.args[0]
    if isinstance(e, sigmoid):
        return -softplus(-e.args[0])
    if isinstance(e, sp.erfc):
        return log_erfc(e.args[0])
    if isinstance(e, sp.cosh):
        return log_cosh(e.args[0])
    if isinstance(e, softplus):
        return log_softplus(e.args[0])
    if isinstance(e, sp.tanh):
        return log_abs_form(e.args[0]) + log_tanh_ratio(e.args[0])
    if e.is_Add and e.has(X):
        return log_abs_sum(*[a for t in e.args for a in (log_abs_form(t), sign_form(t))])
    if e.is_number:
        return sp.log(abs(e)) if e != 0 else sp.S.NegativeInfinity
    return sp.log(sp.Abs(e))


def dead_form(e: sp.Expr) -> sp.Expr:
    """1 where the piece of ``e`` that applies is identically 0 (φ′ ≡ 0 on an interval), else 0."""
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(dead_form(piece), cond) for piece, cond in e.args])
    return sp.S.One if e == 0 else sp.S.Zero


_EXTRA = {"log_erfc": np_log_erfc, "log_cosh": np_log_cosh, "log_softplus": np_log_softplus,
          "log_tanh_ratio": np_log_tanh_ratio, "log_abs_sum": np_log_abs_sum, "sign_sum": np_sign_sum}


def _numeric_dphi(act: BoundActivation) -> sp.Expr:
    return numeric_form(derivative(act, 1))


def _lambdify(expr: sp.Expr):
    return sp.lambdify([X], expr, modules=[_EXTRA, NUMPY_NAMESPACE, "numpy"])


@functools.lru_cache(maxsize=64)
def np_log_abs_dphi(act: BoundActivation):
    """:func:`log_abs_form` of φ′ as a NumPy function."""
    return _lambdify(log_abs_form(_numeric_dphi(act)))


@functools.lru_cache(maxsize=64)
def np_sign_dphi(act: BoundActivation):
    """:func:`sign_form` of φ′ as a NumPy function."""
    return _lambdify(sign_form(_numeric_dphi(act)))


@functools.lru_cache(maxsize=64)
def np_dead(act: BoundActivation):
    """A NumPy test of :func:`dead_form` of φ′ (True where φ′ ≡ 0 nearby), or None when φ′ has no such piece."""
    form = dead_form(_numeric_dphi(act))
    if not form.has(sp.S.One) and form == 0:
        return None
    f = _lambdify(form)
    return lambda v: np.asarray(f(v), dtype=float) * np.ones(np.shape(v)) != 0


@functools.lru_cache(maxsize=64)
def float_dphi_exact(act: BoundActivation) -> bool:
    """True when every piece of φ′ is a constant (ReLU, leaky ReLU, hardtanh, hard sigmoid, identity): its float
    value is then exact, never an underflow, and a 0.0 is a true zero.

    >>> from analytic.core.calculus import resolve
    >>> float_dphi_exact(resolve("relu")), float_dphi_exact(resolve("elu"))
    (True, False)
    """
    e = _numeric_dphi(act)
    pieces = [piece for piece, _ in e.args] if isinstance(e, sp.Piecewise) else [e]
    return all(piece.is_number for piece in pieces)


@functools.lru_cache(maxsize=64)
def mp_dphi(act: BoundActivation):
    r"""φ′ as an mpmath function, from the same stable form (``1 - tanh²`` as ``1/cosh²``, ``1 - σ`` as
    :math:`\sigma(-x)`), and so that it does not cancel in the left tail:
    :math:`\operatorname{erf}(u) = \operatorname{erfc}(-u) - 1` (so :math:`1 + \operatorname{erf}(u)` becomes
    :math:`\operatorname{erfc}(-u)`), sigmoid and softplus in exp and log."""
    d = to_elementary(numeric_form(derivative(act, 1)))
    d = d.replace(sp.erf, lambda u: sp.erfc(-u, evaluate=False) - 1)  # erfc(-u) would fold back to 2 - erfc(u)
    return sp.lambdify(X, d, "mpmath")


@functools.lru_cache(maxsize=64)
def _exact_dphi(act: BoundActivation) -> sp.Expr:
    return derivative(act, 1)


def mp_log_abs_dphi(act: BoundActivation, v: float) -> tuple[float, int]:
    r"""(log|φ′(v)|, sign) in mpmath at rising precision (:data:`_DPS`), accepted when two successive precisions
    agree within 1e-12; ``(-inf, 0)`` when φ′(v) is exactly 0 (SymPy decides it at the rational v), ``(nan, 0)``
    when no precision resolves it."""
    f = mp_dphi(act)
    with _MP_LOCK:
        return _mp_log_abs_dphi(act, f, v)


def _mp_log_abs_dphi(act: BoundActivation, f, v: float) -> tuple[float, int]:
    import mpmath

    last = None
    for dps in _DPS:
        with mpmath.workdps(dps):
            try:
                d = f(mpmath.mpf(float(v)))
            except (ValueError, TypeError, ZeroDivisionError, OverflowError):
                return math.nan, 0
            d = mpmath.re(d)
            here = (float(mpmath.log(abs(d))), 1 if d > 0 else -1) if d != 0 else None
        if here is not None and last is not None and abs(here[0] - last[0]) <= _AGREE * max(1.0, abs(here[0])) \
                and here[1] == last[1]:
            return here
        last = here
    exact = _exact_dphi(act).subs(X, sp.Rational(float(v)))
    if exact.is_zero:
        return -math.inf, 0
    return math.nan, 0


def prepare(act: BoundActivation) -> None:
    """Build (and cache) every form :func:`log_abs_dphi` uses, so that threads calling it later only evaluate."""
    np_log_abs_dphi(act), np_sign_dphi(act), np_dead(act), mp_dphi(act), _exact_dphi(act)


def log_abs_dphi(act: BoundActivation, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""(log|φ′(v)|, sign of φ′(v)) for points where the float φ′ is too small to trust: ``-inf`` and 0 where
    φ′ is exactly 0 (an interval where φ′ ≡ 0, or an exact zero); the float log form first, mpmath at rising
    precision where that is not finite or cancels; ``nan`` (sign 0) where nothing resolves it.

    >>> from analytic.core.calculus import resolve
    >>> logs, signs = log_abs_dphi(resolve("relu"), np.array([-1.0, 2.0]))
    >>> logs.tolist(), signs.tolist()
    ([-inf, 0.0], [0, 1])
    """
    v = np.asarray(v, dtype=float).ravel()
    with np.errstate(all="ignore"):
        logs = np.asarray(np_log_abs_dphi(act)(v), dtype=float) * np.ones(v.size)
        signs = (np.asarray(np_sign_dphi(act)(v), dtype=float) * np.ones(v.size)).astype(np.int8)
    dead = np_dead(act)
    zero = dead(v) if dead is not None else np.zeros(v.size, dtype=bool)
    logs[zero], signs[zero] = -math.inf, 0
    for i in np.flatnonzero(~zero & (~np.isfinite(logs) | (signs == 0))):
        logs[i], signs[i] = mp_log_abs_dphi(act, float(v[i]))
    return logs, signs


def log_abs_underflow(act: BoundActivation, v: np.ndarray) -> np.ndarray:
    """log|φ′(v)| where the float φ′ underflowed (outside the intervals where φ′ ≡ 0): the log form first
    (:func:`log_abs_form`), then mpmath at rising precision where that fails; the log of the smallest float
    (:data:`LOG_TINY`) if even that gives nothing finite.

    >>> from analytic.core.calculus import resolve
    >>> round(float(log_abs_underflow(resolve("tanh"), np.array([400.0]))[0]), 9)  # log 4 - 800
    -798.613705639
    """
    v = np.asarray(v, dtype=float).ravel()
    with np.errstate(all="ignore"):
        out = np.asarray(np_log_abs_dphi(act)(v), dtype=float) * np.ones(v.size)
    for i in np.flatnonzero(~np.isfinite(out)):
        log, _ = mp_log_abs_dphi(act, float(v[i]))
        out[i] = log if math.isfinite(log) else LOG_TINY
    return out
