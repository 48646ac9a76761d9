r"""The special functions the library knows, each declared once as a :class:`Special` record.

A record holds the SymPy class, the stable NumPy form, the mpmath form, the interval rule the interval compiler
uses, the range, the domain and the names a formula may call it by. Everything that used to keep its own list
of functions is generated from :data:`SPECIALS`: the NumPy namespace of ``lambdify``
(:func:`numpy_namespace`), the interval compiler's function table (:mod:`analytic.bounds.interval`), the
parser's whitelist (:func:`parser_functions`), the functions continuous on all of ℝ (:data:`ENTIRE`) and the
rewrite into ``exp`` and ``log`` (:func:`to_elementary`).

Two of them are the library's own SymPy functions, whose derivatives SymPy then knows
(:math:`\sigma' = \sigma(1-\sigma)`, :math:`\operatorname{softplus}' = \sigma`) and whose NumPy forms are the stable
ones (``scipy.special.expit``, ``numpy.logaddexp(x, 0)``), so derived expressions stay readable and finite for
large :math:`|x|`: :class:`sigmoid` and :class:`softplus`.

>>> from analytic.core.special import special
>>> special(sigmoid).range
Interval.open(0, 1)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import scipy.special
import sympy as sp
from sympy.codegen.cfunctions import expm1

from ..errors import ArgumentError

__all__ = ["Special", "SPECIALS", "ENTIRE", "sigmoid", "softplus", "special", "numpy_namespace",
           "parser_functions", "to_elementary"]

#: Interval rules a record may name; :mod:`analytic.bounds.interval` builds each.
#: ``increasing`` / ``decreasing``: monotone on the domain, evaluated at the interval's ends;
#: ``even``: even and increasing on [0, ∞), evaluated on the interval folded onto [0, ∞);
#: ``mpmath``: mpmath's own interval function of the same name (``iv.sin``, ``iv.cos``).
RULES = ("increasing", "decreasing", "even", "mpmath")


def _sigmoid_elementary(u: sp.Expr) -> sp.Expr:
    return 1 / (1 + sp.exp(-u))


def _softplus_elementary(u: sp.Expr) -> sp.Expr:
    return sp.log(1 + sp.exp(u))


class _PositiveFunction(sp.Function):
    """A function of one argument, positive on the real line, evaluated numerically through its rewrite in
    ``exp``; ``_tex`` is its LaTeX name, ``_values`` its values at 0, ∞ and −∞ (kept exact by SymPy)."""

    nargs = 1
    _tex = ""
    _values: tuple = ()

    @classmethod
    def eval(cls, u):
        at_zero, at_oo, at_minus_oo = cls._values
        if u.is_zero:
            return at_zero
        if u is sp.oo:
            return at_oo
        if u is sp.S.NegativeInfinity:
            return at_minus_oo
        return None

    def _eval_evalf(self, prec):
        return self._eval_rewrite_as_exp(self.args[0])._eval_evalf(prec)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return True if self.args[0].is_real else None

    def _latex(self, printer, exp=None):
        s = r"%s\left(%s\right)" % (self._tex, printer._print(self.args[0]))
        return s if exp is None else r"%s^{%s}" % (s, exp)


class sigmoid(_PositiveFunction):
    r"""The logistic function :math:`\sigma(u) = 1/(1+e^{-u})`."""

    _tex = r"\sigma"

    _values = (sp.S.Half, sp.S.One, sp.S.Zero)

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return _sigmoid_elementary(u)


class softplus(_PositiveFunction):
    r"""The softplus function :math:`\log(1+e^{u})`."""

    _tex = r"\operatorname{softplus}"

    _values = (sp.log(2), sp.oo, sp.S.Zero)

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_exp(self, u, **kwargs):
        return _softplus_elementary(u)

    _eval_rewrite_as_log = _eval_rewrite_as_exp


@dataclass(frozen=True)
class Special:
    r"""One special function of one real argument.

    ``sympy`` is its SymPy class; ``numpy(u)`` its NumPy form, finite wherever the value is a finite float
    (the name ``lambdify`` prints is the class name); ``mpmath(ctx, u)`` its value in the mpmath context ``ctx``
    (exact limits at :math:`\pm\infty`); ``interval`` one of :data:`RULES`; ``range`` the set of its values on
    its domain; ``domain_lo`` the lower end of its (open) domain, :math:`-\infty` for functions defined on ℝ;
    ``parse`` the names a user formula may call it by (empty: not accepted in formulas, a form that only
    rewriting produces); ``elementary(u)`` its rewrite in ``exp`` and ``log`` (None for SymPy's own functions).
    """

    sympy: type
    numpy: Callable[[np.ndarray], np.ndarray]
    mpmath: Callable
    interval: str
    range: sp.Set
    domain_lo: float = -np.inf
    parse: tuple[str, ...] = ()
    elementary: Callable[[sp.Expr], sp.Expr] | None = None

    @property
    def name(self) -> str:
        """The class name: how SymPy prints the function, and the key of its NumPy form."""
        return self.sympy.__name__

    @property
    def entire(self) -> bool:
        """Defined, real and continuous at every real argument."""
        return self.domain_lo == -np.inf


def _mp_sigmoid(ctx, u):
    if u == ctx.inf:
        return ctx.mpf(1)
    if u == -ctx.inf:
        return ctx.mpf(0)
    return 1 / (1 + ctx.exp(-u)) if u >= 0 else ctx.exp(u) / (1 + ctx.exp(u))


def _mp_softplus(ctx, u):
    if u == ctx.inf:
        return ctx.inf
    if u == -ctx.inf:
        return ctx.mpf(0)
    return u + ctx.log1p(ctx.exp(-u)) if u > 0 else ctx.log1p(ctx.exp(u))


def _mp_log(ctx, u):
    return ctx.log(u) if u > 0 else -ctx.inf


def _np_softplus(u):
    return np.logaddexp(u, 0.0)


_oo = sp.oo
#: Every special function, in the order their rewrites apply (:func:`to_elementary`).
SPECIALS: tuple[Special, ...] = (
    Special(sigmoid, scipy.special.expit, _mp_sigmoid, "increasing", sp.Interval.open(0, 1),
            parse=("sigmoid",), elementary=_sigmoid_elementary),
    Special(softplus, _np_softplus, _mp_softplus, "increasing", sp.Interval.open(0, _oo),
            parse=("softplus",), elementary=_softplus_elementary),
    Special(sp.exp, np.exp, lambda ctx, u: ctx.exp(u), "increasing", sp.Interval.open(0, _oo), parse=("exp",)),
    Special(expm1, np.expm1, lambda ctx, u: ctx.expm1(u), "increasing", sp.Interval.open(-1, _oo)),
    Special(sp.log, np.log, _mp_log, "increasing", sp.S.Reals, domain_lo=0.0, parse=("log",)),
    Special(sp.tanh, np.tanh, lambda ctx, u: ctx.tanh(u), "increasing", sp.Interval.open(-1, 1), parse=("tanh",)),
    Special(sp.erf, scipy.special.erf, lambda ctx, u: ctx.erf(u), "increasing", sp.Interval.open(-1, 1),
            parse=("erf",)),
    Special(sp.erfc, scipy.special.erfc, lambda ctx, u: ctx.erfc(u), "decreasing", sp.Interval.open(0, 2)),
    Special(sp.atan, np.arctan, lambda ctx, u: ctx.atan(u), "increasing", sp.Interval.open(-sp.pi / 2, sp.pi / 2),
            parse=("atan",)),
    Special(sp.sinh, np.sinh, lambda ctx, u: ctx.sinh(u), "increasing", sp.S.Reals, parse=("sinh",)),
    Special(sp.cosh, np.cosh, lambda ctx, u: ctx.cosh(u), "even", sp.Interval(1, _oo), parse=("cosh",)),
    Special(sp.Abs, np.abs, lambda ctx, u: abs(u), "even", sp.Interval(0, _oo), parse=("Abs", "abs")),
    Special(sp.sin, np.sin, lambda ctx, u: ctx.sin(u), "mpmath", sp.Interval(-1, 1), parse=("sin",)),
    Special(sp.cos, np.cos, lambda ctx, u: ctx.cos(u), "mpmath", sp.Interval(-1, 1), parse=("cos",)),
)
assert all(s.interval in RULES for s in SPECIALS)

#: The SymPy classes of the functions defined, real and continuous on all of ℝ.
ENTIRE: tuple[type, ...] = tuple(s.sympy for s in SPECIALS if s.entire)

_BY_CLASS = {s.sympy: s for s in SPECIALS}


def special(cls: type) -> Special:
    """The record of the SymPy class ``cls``; :class:`~analytic.errors.ArgumentError` for an unknown one."""
    try:
        return _BY_CLASS[cls]
    except (KeyError, TypeError):
        raise ArgumentError(f"{getattr(cls, '__name__', cls)!r} is not a special function the library knows") from None


def numpy_namespace() -> dict[str, Callable]:
    """The ``lambdify`` namespace: each function's printed name mapped to its stable NumPy form."""
    return {s.name: s.numpy for s in SPECIALS}


def parser_functions() -> dict[str, type]:
    """The names a user formula may call, each mapped to its SymPy class."""
    return {name: s.sympy for s in SPECIALS for name in s.parse}


def to_elementary(expr: sp.Expr) -> sp.Expr:
    """Rewrite :class:`sigmoid` and :class:`softplus` in ``exp`` and ``log`` (for solvers, limits, mpmath).

    >>> from analytic.core.registry import X
    >>> to_elementary(sigmoid(X))
    1/(1 + exp(-x))
    """
    if not isinstance(expr, sp.Basic):
        raise ArgumentError(f"to_elementary needs a SymPy expression, got {type(expr).__name__}")
    for s in SPECIALS:
        if s.elementary is not None:
            expr = expr.replace(s.sympy, s.elementary)
    return expr
