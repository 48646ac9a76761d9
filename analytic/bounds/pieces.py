r"""What SymPy proves about a formula piece by piece: the split at its kinks (:func:`piece_sets`), limits at
the ends of a piece (Gruntz's algorithm), continuity on it, and the complete set of critical points
(``solveset``), with a witness check that catches an incomplete answer.

Each SymPy step takes ``timeout``: ``None`` for catalogue entries, which run every step to the end (what they print
never depends on how busy the machine is); for a user formula the seconds ``solveset`` may spend on the critical
points before the certified route takes over (and the proof says so), while every other step runs under
:data:`LIMIT_SECONDS` and a step that does not finish refuses the formula with
:class:`~analytic.errors.ComputationTimeout`."""
from __future__ import annotations

import mpmath
import sympy as sp
from sympy.calculus.util import continuous_domain

from ..core.registry import X
from ..core.special import ENTIRE, to_elementary
from ..errors import BoundError, ComputationTimeout, within
from .candidates import Candidate, exact_candidate
from .interval import upper_end, lower_end, point_interval, compile_interval
from .notation import format_set, short_text
from .proof import Math

#: Seconds allowed for one limit, continuity check or simplification of a user formula.
LIMIT_SECONDS = 10.0


def _step_seconds(timeout: float | None) -> float | None:
    """The deadline of a step other than the critical points: none for a catalogue entry (``timeout`` None)."""
    return None if timeout is None else LIMIT_SECONDS


def piece_sets(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Set]]:
    expr = sp.piecewise_fold(expr)
    if not isinstance(expr, sp.Piecewise):
        return [(expr, sp.S.Reals)]
    remaining: sp.Set = sp.S.Reals
    out = []
    for e, cond in expr.args:
        s = remaining if cond is sp.true else cond.as_set().intersect(remaining)
        remaining = remaining - s
        if s is not sp.S.EmptySet:
            parts = s.args if isinstance(s, sp.Union) else (s,)
            out += [(e, p) for p in parts]
    return out



def one_limit(expr: sp.Expr, direction, timeout: float | None) -> sp.Expr:
    """Limit of ``expr`` as x → ±∞ by Gruntz's algorithm (``sympy.limit`` mishandles some sigmoid forms)."""
    e = to_elementary(expr)
    try:
        value = within(_step_seconds(timeout), f"the limit of {short_text(expr)} as x -> {direction}", sp.gruntz, e, X,
                       direction)
    except ComputationTimeout:
        raise
    except (NotImplementedError, ValueError, TypeError, RecursionError) as exc:
        raise BoundError(f"cannot find the limit of {expr} as x -> {direction}: {type(exc).__name__}") from None
    if value.has(sp.AccumBounds, sp.Limit, sp.nan, sp.zoo) or value.has(X) or not (value.is_real or value.is_infinite):
        raise BoundError(f"{expr} has no limit as x -> {direction} (got {value})")
    return value



def one_sided_limits(expr: sp.Expr, point: sp.Expr, side: str, timeout: float | None) -> sp.Expr:
    """One-sided limit at a finite point: the value when the expression is finite there, else ``sympy.limit``."""
    value = expr.subs(X, point)
    if value.is_finite and value.is_real and not value.has(sp.nan, sp.zoo):
        return value
    try:
        value = within(_step_seconds(timeout), f"the limit of {short_text(expr)} at {point}{side}", sp.limit,
                       to_elementary(expr), X, point, side)
    except ComputationTimeout:
        raise
    except (NotImplementedError, ValueError) as exc:
        raise BoundError(f"cannot find the limit of {expr} at {point}{side}: {type(exc).__name__}") from None
    if value.has(sp.AccumBounds, sp.Limit, sp.nan, sp.zoo):
        raise BoundError(f"{expr} has no limit at {point}{side}")
    return value



def check_continuous(g: sp.Expr, interval: sp.Interval, what: str, timeout: float | None) -> None:
    """Raise :class:`BoundError` unless g is real and continuous on the open interval.

    Sums, products and non-negative integer powers of functions continuous on ℝ (exp, erf, tanh, σ, softplus, …)
    pass at once; anything else goes to SymPy's ``continuous_domain``."""
    def entire(e):
        if e == X:
            return True
        if not e.has(X):
            return bool(e.is_real and e.is_finite)
        if e.is_Add or e.is_Mul:
            return all(entire(a) for a in e.args)
        if e.is_Pow:
            return e.exp.is_Integer and e.exp >= 0 and entire(e.base)
        return isinstance(e, ENTIRE) and all(entire(a) for a in e.args)

    if entire(g):
        return
    inside = sp.Interval.open(interval.start, interval.end)
    try:
        domain = within(_step_seconds(timeout), f"the continuity check of {what}", continuous_domain,
                        to_elementary(g), X, inside)
    except ComputationTimeout:
        raise
    except (NotImplementedError, ValueError, TypeError) as exc:
        raise BoundError(f"cannot establish that {what} = {short_text(g)} is continuous on {format_set(inside)} "
                         f"({type(exc).__name__})") from None
    missing = inside - domain
    if missing is not sp.S.EmptySet:
        raise BoundError(f"{what} = {short_text(g)} is not real and continuous on all of {format_set(inside)}: "
                         f"it fails on {format_set(missing)}")



def witnessed(g: sp.Expr, interval: sp.Interval, crit, ends: list[Candidate], name: str, timeout: float | None):
    """``crit`` if the values at the critical points and the ends enclose g at a few witness points of the piece;
    otherwise the reason why not (SymPy's solveset then missed a zero: σ(x)σ(2x) has φ″ = 0 somewhere, yet
    solveset answers ∅), so that the certified route takes over. A check of the proof, never a proof."""
    try:
        values = [exact_candidate(tidy_value(g.subs(X, p), timeout), True, None) for p in crit] + ends
        lo, hi = min(c.lo for c in values), max(c.hi for c in values)
        f = compile_interval(g)
        a = max(float(interval.start), -8.0) if interval.start.is_finite or interval.start is sp.S.NegativeInfinity \
            else -8.0
        b = min(float(interval.end), 8.0)
    except (BoundError, TypeError, ValueError, ZeroDivisionError):
        return crit
    for k in range(1, 40):
        w = a + (b - a) * k / 40
        try:
            r = f(point_interval(w))
        except (BoundError, ZeroDivisionError, ValueError):
            continue
        if lower_end(r) > hi or upper_end(r) < lo:
            return (f"the solution set SymPy's solveset gives for the zeros of the derivative is incomplete "
                    f"({name}({mpmath.nstr(w, 6)}) lies outside the values at its points and ends)",)
    return crit



def critical_points_of(g: sp.Expr, interval: sp.Interval, timeout: float | None):
    """The complete finite set of zeros of g' in the open interval, or proof parts (a tuple) saying why not
    (``solveset`` gave no complete finite set, or, for a user formula, did not finish within ``timeout``)."""
    dg = to_elementary(sp.diff(g, X))
    try:
        sol = within(timeout, "solveset", sp.solveset, dg, X, sp.Interval.open(interval.start, interval.end))
    except ComputationTimeout:
        return (f"SymPy could not settle the critical points within {timeout:g} s",)
    except (NotImplementedError, ValueError, TypeError, RecursionError) as exc:
        return (f"solveset failed ({type(exc).__name__})",)
    if isinstance(sol, sp.FiniteSet) and all(p.is_real and p.is_finite for p in sol):
        return sol
    if sol is sp.S.EmptySet:
        return sp.S.EmptySet
    return ("solveset returned ", Math(sol, short_text(sol), r"\text{a " + type(sol).__name__ + "}"),
            ", not a complete finite set")



def tidy_value(value: sp.Expr, timeout: float | None) -> sp.Expr:
    """``simplify`` (for a user formula under :data:`LIMIT_SECONDS`, else refused); a number or symbol as it is."""
    if value.is_Atom:
        return value
    return within(_step_seconds(timeout), f"simplifying {short_text(value)}", sp.simplify, value)

