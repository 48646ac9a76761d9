r"""The monotone-substitution route: when :math:`\varphi'` (or :math:`\varphi`) is a polynomial :math:`P` in
:math:`s = \sigma(u)` or :math:`t = \tanh u` with :math:`u` linear in :math:`x` (sigmoid, tanh, softmax), its
extrema are those of :math:`P` over the open range of the substitution, mapped back to :math:`x`."""
from __future__ import annotations

import sympy as sp

from ..core.registry import X
from ..core.special import sigmoid
from ..errors import within
from .candidates import exact_candidate
from .notation import set_part
from .pieces import tidy_value
from .proof import Math, Step, step
from .proof import math as part


def _sigma_proof(h: sp.Expr, hu: str, x0: sp.Expr) -> Step:
    return step(Math(None, "σ′ = σ(1−σ)", r"\sigma' = \sigma(1-\sigma)"), "; with s = ", part(h, hu),
                Math(None, " ∈ (0,1)", r"{}\in (0,1)"), ", ",
                Math(None, "s(1−s) = 1/4 − (s−1/2)² ≤ 1/4", r"s(1-s) = \tfrac14 - (s-\tfrac12)^2 \le \tfrac14"),
                ", equality iff s = 1/2 iff x = ", x0, ".")



def substitution_bound(g: sp.Expr, of: str, timeout: float | None):
    r"""If g = P(h(u)) with h ∈ {σ, tanh}, u = p x + q (p ≠ 0) and P a polynomial: sup/inf candidates of P over
    h's open range (0, 1) or (−1, 1), mapped back to x. Returns (candidates, proof steps) or None; raises
    :class:`~analytic.errors.ComputationTimeout` when, for a user formula, ``solveset`` does not finish within
    ``timeout``."""
    atoms = g.atoms(sigmoid) | g.atoms(sp.tanh)
    if len(atoms) != 1:
        return None
    h = atoms.pop()
    u = h.args[0]
    slope = sp.diff(u, X)
    if slope.has(X) or not slope.is_nonzero or not slope.is_real:
        return None
    s = sp.Dummy("s", real=True)
    P = sp.expand(g.subs(h, s))
    if P.has(X) or not P.is_polynomial(s):
        return None
    if P.free_symbols - {s}:
        return None
    low, high = (sp.S.Zero, sp.S.One) if h.func is sigmoid else (-sp.S.One, sp.S.One)
    hname = "σ" if h.func is sigmoid else "tanh"
    crit = within(timeout, "solveset", sp.solveset, sp.diff(P, s), s, sp.Interval.open(low, high))
    if not isinstance(crit, sp.FiniteSet) and crit is not sp.S.EmptySet:
        return None
    inverse = (lambda v: sp.log(v / (1 - v))) if h.func is sigmoid else sp.atanh

    def x_of(v):
        return tidy_value(sp.solve(sp.Eq(u, inverse(v)), X)[0], timeout)

    cands = [exact_candidate(tidy_value(P.subs(s, c), timeout), True, sp.FiniteSet(x_of(c))) for c in crit]
    ends = [(low, "-oo" if slope.is_positive else "oo"), (high, "oo" if slope.is_positive else "-oo")]
    cands += [exact_candidate(P.subs(s, v), False, where) for v, where in ends]
    hu = f"{hname}({u})"
    proof = []
    if sp.expand(P - s * (1 - s)) == 0 and h.func is sigmoid:
        x0 = x_of(sp.S.Half)
        proof.append(_sigma_proof(h, hu, x0))
        proof.append(step("Also s(1−s) > 0 on (0,1) and → 0 as s → 0 or 1, i.e. x → ±∞: the inf 0 is not attained."))
    else:
        t = sp.Symbol("t")
        span = part(sp.Interval.open(low, high), f"({low}, {high})")
        proof.append(step("Substitute t = ", part(h, hu), ", a strictly monotone bijection of ℝ onto ", span,
                          f"; {'φ′' if of == 'dphi' else 'φ'} = P(t) with P(t) = ", P.subs(s, t), "."))
        zeros = ("vanishes in ", span, " exactly at t = ", set_part(crit)) if crit else ("has no zero in ", span)
        proof.append(step("P′(t) = ", sp.diff(P, s).subs(s, t), " ", *zeros, " (solveset, complete); the ends t → ",
                          low, ", ", high, " (x → ±∞) give the limits ", P.subs(s, low), ", ", P.subs(s, high),
                          ", not attained."))
    return cands, proof

