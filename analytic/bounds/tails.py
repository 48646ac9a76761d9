r"""Proved tails for the certified route: the sign of a derivative on :math:`[R, \infty)` (or
:math:`(-\infty, -R]`), so that the function is monotone there and lies between its value at the edge and its
limit.

The sign is settled by interval evaluation of a rearranged form (common factors pulled out, sums nested in powers
of :math:`|x|`), else in the variable :math:`t = e^{-|x|} \in (0, e^{-R}]`, where functions built from
exponentials are rational in :math:`t`, else by the sign of the next derivative and the values at the edge and at
infinity.

These steps run without a deadline of their own: for a user formula the whole certified route runs under one
(:mod:`analytic.bounds.exact`), so a sign is never left unsettled because a clock ran out.
"""
from __future__ import annotations

import mpmath
import sympy as sp

from ..core.registry import X
from ..core.special import to_elementary
from ..errors import BoundError
from .interval import IV_CONTEXT, IV_INF, enclose_exact, upper_end, lower_end, point_interval, compile_interval
from .pieces import one_limit

_Y = sp.Symbol("y", positive=True)
_T = sp.Symbol("t", positive=True)


def _tail_form(e: sp.Expr, y: sp.Symbol) -> sp.Expr:
    """Rewrite for interval evaluation on [R, ∞): common factors pulled out, each sum expanded and nested in
    powers of ``y`` (Horner form, so the leading power's coefficient decides the sign for large ``y``)."""
    e = sp.factor_terms(e)
    if e.is_Mul:
        return sp.Mul(*[_tail_form(a, y) for a in e.args], evaluate=False)
    if e.is_Pow:
        return sp.Pow(_tail_form(e.base, y), e.exp, evaluate=False)
    if e.is_Add:
        expanded = sp.expand(e, power_exp=False, log=False)
        collected = sp.collect(expanded, y, evaluate=False)
        powers: dict[int, sp.Expr] = {}
        for key, coeff in collected.items():
            if key == 1:
                k = 0
            elif key == y:
                k = 1
            elif key.is_Pow and key.base == y and key.exp.is_Integer and key.exp > 0:
                k = int(key.exp)
            else:
                return e  # not a plain polynomial structure in y; keep as is
            powers[k] = powers.get(k, 0) + coeff
        if set(powers) == {0}:
            return sp.Add(*[_tail_form(a, y) for a in sp.Add.make_args(powers[0])], evaluate=False)
        horner = None
        for k in range(max(powers), -1, -1):
            c = powers.get(k, sp.S.Zero)
            term = _tail_form(c, y) if c != 0 else None
            if horner is None:
                horner = term
            else:
                horner = sp.Mul(horner, y, evaluate=False)
                horner = sp.Add(horner, term, evaluate=False) if term is not None else horner
        return horner
    return e



def _sign(e: sp.Expr, y: sp.Symbol, box) -> int:
    """+1 if e ≥ 0 on the box, −1 if e ≤ 0, 0 if not settled; products by the signs of their factors."""
    if e.is_Mul:
        sign = 1
        for a in e.args:
            sign *= _sign(a, y, box)
        return sign
    if e.is_Pow and e.exp.is_Integer:
        s = _sign(e.base, y, box)
        return 1 if int(e.exp) % 2 == 0 else s
    try:
        r = compile_interval(e, y)(box)
    except (BoundError, ZeroDivisionError, ValueError):
        return 0
    if lower_end(r) >= 0:
        return 1
    if upper_end(r) <= 0:
        return -1
    return 0



def tail_sign(dg: sp.Expr, side: int, R: int, depth: int = 1) -> tuple[int, str]:
    """(+1 or −1, reason) if ``dg`` is ≥ 0 / ≤ 0 for every x with side·x ≥ R; (0, "") if not settled.

    First by interval evaluation of a rearranged form (:func:`_tail_form`) on [R, ∞); failing that, when the
    derivative of ``dg`` has a settled sign there (recursively), ``dg`` is monotone on the tail and so lies between
    its value at the tail's edge and its limit at infinity, whose signs then decide."""
    h = dg.subs(X, _Y if side > 0 else -_Y)
    sgn = _sign(_tail_form(h, _Y), _Y, IV_CONTEXT.mpf([R, IV_INF]))
    if sgn:
        return sgn, "interval evaluation"
    sgn = _mapped_sign(h, R)
    if sgn:
        return sgn, (f"interval evaluation in t = e^(−|x|): there the expression is a rational function of t, "
                     f"factored, on t ∈ (0, e^(−{R})]")
    if depth <= 0:
        return 0, ""
    inner, _ = tail_sign(sp.diff(dg, X), side, R, depth - 1)
    if not inner:
        return 0, ""
    try:
        L = one_limit(dg, sp.oo if side > 0 else -sp.oo, None)
        edge = compile_interval(dg)(point_interval(side * R))
    except (BoundError, ZeroDivisionError, ValueError):
        return 0, ""
    Llo, Lhi = enclose_exact(L)
    lo, hi = min(lower_end(edge), Llo), max(upper_end(edge), Lhi)
    sgn = 1 if lo >= 0 else (-1 if hi <= 0 else 0)
    if not sgn:
        return 0, ""
    return sgn, (f"its own derivative has sign {'≥ 0' if inner > 0 else '≤ 0'} there (interval evaluation), so it is "
                 f"monotone and lies between its value {mpmath.nstr(lower_end(edge), 6)} at {side * R} and its limit {L}")



def _mapped_sign(h: sp.Expr, R: int) -> int:
    r"""The sign of ``h(y)`` for every y ≥ R when h is built from :math:`e^{ky}` alone (σ, tanh, sinh, cosh,
    softplus′ … rewritten in exp): with :math:`t = e^{-y} \in (0, e^{-R}]` it is a rational function of t, whose
    factored numerator and denominator are enclosed by interval arithmetic on that short interval (the mapped
    variable turns the unbounded tail into a bounded box, and factoring removes the cancellation between terms
    that all tend to 0). 0 when h has another form or the sign is not settled."""
    try:
        e = to_elementary(h).rewrite(sp.exp)

        def rate(z):
            k = sp.simplify(z.args[0] / _Y)
            return k if k.is_Integer else None

        e = e.replace(lambda z: isinstance(z, sp.exp) and rate(z) is not None, lambda z: _T ** (-rate(z)))
        if e.has(_Y) or not e.has(_T):
            return 0
        num, den = sp.fraction(sp.factor(sp.together(e), _T))
        box = IV_CONTEXT.mpf([0, mpmath.exp(-R)])
        sn, sd = _sign(sp.factor(num), _T, box), _sign(sp.factor(den), _T, box)
    except (NotImplementedError, TypeError, ValueError, BoundError):
        return 0
    return sn * sd

