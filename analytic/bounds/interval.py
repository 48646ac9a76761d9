r"""Interval arithmetic for proofs: :func:`compile_interval` turns a SymPy expression into a function from an
mpmath interval to an enclosure of the expression's range over it.

Arithmetic is mpmath's outward-rounded interval arithmetic at :data:`PRECISION` bits. Each special function's
interval rule is generated from its record (:mod:`analytic.core.special`): a monotone function is evaluated at
the interval's ends (in an mpmath context :math:`8` bits finer), widened by a relative :math:`2^{8-p}` and clamped
to the integer ends of its range (:math:`\sigma \in [0, 1]`, :math:`\tanh \in [-1, 1]`, :math:`e^u \ge 0`); an
even function increasing on :math:`[0, \infty)` is evaluated on the interval folded onto :math:`[0, \infty)`;
``sin`` and ``cos`` use mpmath's interval versions.
"""
from __future__ import annotations

import math
from typing import Callable

import mpmath
import sympy as sp
from mpmath.ctx_iv import MPIntervalContext

from ..core.registry import X
from ..core.special import SPECIALS, Special
from ..errors import BoundError

__all__ = ["compile_interval", "IntervalFn", "PRECISION"]

#: Working precision (bits) of the interval arithmetic.
PRECISION = 96

IV_CONTEXT = MPIntervalContext()
IV_CONTEXT.prec = PRECISION
MP_CONTEXT = mpmath.MPContext()
MP_CONTEXT.prec = PRECISION + 8
IV_INF = mpmath.mpf("inf")

IntervalFn = Callable[[object], object]


def _widen(lo, hi):
    """An interval containing [lo, hi] where lo, hi are mpmath values accurate to a few ulps."""
    eps = mpmath.mpf(2) ** (8 - PRECISION)
    lo = lo - abs(lo) * eps if mpmath.isfinite(lo) else lo
    hi = hi + abs(hi) * eps if mpmath.isfinite(hi) else hi
    return IV_CONTEXT.mpf([lo, hi])



def _monotone(f: Callable, increasing: bool = True, domain_lo=None, range_=None) -> IntervalFn:
    """Interval extension of a monotone function; ``range_`` = (lo, hi) clamps the widened result to the
    function's known range (σ ∈ [0, 1], tanh ∈ [−1, 1], …)."""
    lo_r, hi_r = range_ or (-IV_INF, IV_INF)

    def g(v):
        a, b = lower_end(v), upper_end(v)
        if domain_lo is not None and a < domain_lo:
            raise BoundError(f"interval argument {v} leaves the domain of {f.__name__}")
        fa, fb = f(a), f(b)
        if MP_CONTEXT.isnan(fa) or MP_CONTEXT.isnan(fb):
            raise BoundError(f"{f.__name__} is undefined on {v}")
        r = _widen(fa, fb) if increasing else _widen(fb, fa)
        return IV_CONTEXT.mpf([max(lower_end(r), lo_r), min(upper_end(r), hi_r)])

    return g



def _even(f: Callable) -> IntervalFn:
    """An even function increasing on [0, ∞) (cosh, Abs)."""
    inc = _monotone(f)

    def g(v):
        a, b = lower_end(v), upper_end(v)
        if a >= 0:
            return inc(v)
        if b <= 0:
            return inc(IV_CONTEXT.mpf([-b, -a]))
        return inc(IV_CONTEXT.mpf([0, max(-a, b)]))

    return g


def _clamp(s: Special) -> tuple:
    """The integer (or infinite) ends of the range of ``s``: what its widened enclosure is clamped to."""
    lo = hi = None
    if isinstance(s.range, sp.Interval):
        lo, hi = s.range.start, s.range.end
    lo = lo if lo is not None and (lo.is_Integer or lo is sp.S.NegativeInfinity) else sp.S.NegativeInfinity
    hi = hi if hi is not None and (hi.is_Integer or hi is sp.oo) else sp.oo
    as_mp = {sp.oo: IV_INF, sp.S.NegativeInfinity: -IV_INF}
    return tuple(as_mp.get(e, None) if e.is_infinite else int(e) for e in (lo, hi))


def interval_rule(s: Special) -> IntervalFn:
    """The interval extension of the special function ``s``, built from its declared rule."""
    def f(u):
        return s.mpmath(MP_CONTEXT, u)

    f.__name__ = s.name
    if s.interval == "mpmath":
        return getattr(IV_CONTEXT, s.name)
    if s.interval == "even":
        return _even(f)
    domain_lo = None if s.entire else s.domain_lo
    return _monotone(f, s.interval == "increasing", domain_lo, _clamp(s))


#: SymPy class -> interval extension, one per special function.
_FUNCTIONS: dict[type, IntervalFn] = {s.sympy: interval_rule(s) for s in SPECIALS}


def _constant(expr: sp.Expr):
    """A rigorous interval for a constant SymPy expression."""
    if expr.is_Integer:
        return IV_CONTEXT.mpf(int(expr))
    if expr.is_Rational:
        return IV_CONTEXT.mpf(int(expr.p)) / IV_CONTEXT.mpf(int(expr.q))
    if expr.is_Float:
        return IV_CONTEXT.mpf(str(expr))
    if expr is sp.pi:
        return IV_CONTEXT.pi
    if expr is sp.E:
        return IV_CONTEXT.e
    if expr is sp.oo:
        return IV_CONTEXT.mpf(IV_INF)
    if expr is sp.S.NegativeInfinity:
        return IV_CONTEXT.mpf(-IV_INF)
    return None


class _Builder:
    """Turns a SymPy expression into nested closures ``env -> interval``; ``known`` are the symbols read from
    ``env`` (the variable, and the sub-expressions of a common-subexpression elimination)."""

    def __init__(self, known: set):
        self.known = known

    def build(self, e: sp.Expr) -> Callable:
        c = _constant(e)
        if c is not None:
            return lambda env, c=c: c
        if e in self.known:
            return lambda env, e=e: env[e]
        if not (e.free_symbols & self.known):
            return self._number(e)
        if e.is_Add or e.is_Mul:
            return self._fold([self.build(a) for a in e.args], e.is_Add)
        if e.is_Pow:
            return self._power(*e.args)
        if e.func in _FUNCTIONS and len(e.args) == 1:
            f, inner = _FUNCTIONS[e.func], self.build(e.args[0])
            return lambda env, f=f, inner=inner: f(inner(env))
        raise BoundError(f"interval arithmetic has no rule for {e.func.__name__} (in {e})")

    @staticmethod
    def _number(e: sp.Expr) -> Callable:
        """A constant without a rule of its own: its 45-digit value, widened."""
        value = sp.N(e, 45)
        if not (value.is_real and value.is_finite):
            raise BoundError(f"cannot enclose the constant {e}")
        mid = MP_CONTEXT.mpf(str(value))
        cc = _widen(mid, mid)
        return lambda env, c=cc: c

    @staticmethod
    def _fold(parts: list, add: bool) -> Callable:
        """A sum or product, evaluated left to right."""
        if add:
            def fold(env, parts=parts):
                total = parts[0](env)
                for p in parts[1:]:
                    total = total + p(env)
                return total
        else:
            def fold(env, parts=parts):
                total = parts[0](env)
                for p in parts[1:]:
                    total = total * p(env)
                return total
        return fold

    def _power(self, base: sp.Expr, expo: sp.Expr) -> Callable:
        """Integer powers by repeated multiplication, ±1/2 by the interval square root, any other exponent as
        :math:`\\exp(q \\log b)`."""
        fb = self.build(base)
        if expo.is_Integer:
            n = int(expo)
            if n >= 0:
                return lambda env, fb=fb, n=n: fb(env) ** n
            return lambda env, fb=fb, n=-n: 1 / (fb(env) ** n)
        if expo == sp.S.Half:
            return lambda env, fb=fb: _sqrt(fb(env))
        if expo == -sp.S.Half:
            return lambda env, fb=fb: 1 / _sqrt(fb(env))
        fe = self.build(expo)
        flog = _FUNCTIONS[sp.log]
        fexp = _FUNCTIONS[sp.exp]
        return lambda env, fb=fb, fe=fe: fexp(fe(env) * flog(fb(env)))


def compile_interval(expr: sp.Expr, var: sp.Symbol = X, cse: bool = False) -> IntervalFn:
    """Compile ``expr`` (in ``var``) into a function from an mpmath interval to an enclosure of its range.

    Arithmetic is mpmath's outward-rounded interval arithmetic; the special functions follow their interval rules
    (module docstring). With ``cse`` repeated sub-expressions are evaluated once (this may re-associate sums; the
    tail forms keep their nesting with ``cse=False``). Raises :class:`~analytic.errors.BoundError` for a function
    it cannot enclose.

    >>> f = compile_interval(X**2 - 1)
    >>> f(IV_CONTEXT.mpf([-1, 2]))  # encloses the range of x^2 - 1 over [-1, 2]
    mpi('-1.0', '3.0')
    """
    builder = _Builder({var})
    if not cse:
        final = builder.build(expr)
        return lambda v: final({var: v})
    replacements, (reduced,) = sp.cse(expr)
    steps = []
    for sym, sub in replacements:
        steps.append((sym, builder.build(sub)))
        builder.known.add(sym)
    final = builder.build(reduced)

    def run(v):
        env = {var: v}
        for sym, fn in steps:
            env[sym] = fn(env)
        return final(env)

    return run


def lower_end(v):
    """Lower end of an mpmath interval as an mpf."""
    return MP_CONTEXT.mpf(v._mpi_[0])



def upper_end(v):
    """Upper end of an mpmath interval as an mpf."""
    return MP_CONTEXT.mpf(v._mpi_[1])



def _sqrt(v):
    if lower_end(v) < 0:
        raise BoundError(f"sqrt of an interval reaching below 0: {v}")
    return IV_CONTEXT.sqrt(v)



def point_interval(x) -> object:
    return IV_CONTEXT.mpf([x, x])



def round_down(x) -> float:
    if x == -IV_INF:
        return -math.inf
    if x == IV_INF:
        return math.inf
    f = float(x)
    return f if mpmath.mpf(f) <= x else math.nextafter(f, -math.inf)



def round_up(x) -> float:
    if x == IV_INF:
        return math.inf
    if x == -IV_INF:
        return -math.inf
    f = float(x)
    return f if mpmath.mpf(f) >= x else math.nextafter(f, math.inf)



def enclose_exact(value: sp.Expr):
    """mpmath (lo, hi) enclosing an exact real number (±inf for infinities)."""
    if value is sp.oo:
        return IV_INF, IV_INF
    if value is sp.S.NegativeInfinity:
        return -IV_INF, -IV_INF
    c = _constant(value)
    if c is None:
        c = compile_interval(value)(point_interval(0))
    return lower_end(c), upper_end(c)

