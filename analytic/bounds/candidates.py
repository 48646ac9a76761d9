"""Candidates for an extremum and the choice among them.

Every route (exact values at critical points, limits at the ends of a piece, certified enclosures) contributes
:class:`Candidate` values; :func:`choose_extremum` takes the sup or inf and merges the candidates that tie with it into
one :class:`~analytic.bounds.result.Extremum`, refusing when certified enclosures cannot be separated.
"""
from __future__ import annotations

from dataclasses import dataclass

import mpmath
import sympy as sp

from ..errors import BoundError
from .interval import round_down, enclose_exact, round_up
from .notation import format_set, tex_number, where_tex
from .proof import Math, tex_set
from .proof import math as part
from .result import Extremum


@dataclass(frozen=True)
class Candidate:
    exact: sp.Expr | None
    lo: object  # mpf
    hi: object
    attained: bool
    where: object  # sympy Set when attained, else a string like "oo", "0-"
    at_lo: object = None
    at_hi: object = None



def exact_candidate(value: sp.Expr, attained: bool, where) -> Candidate:
    lo, hi = enclose_exact(value)
    return Candidate(value, lo, hi, attained, where)



def same_value(a: sp.Expr, b: sp.Expr) -> bool:
    if a == b:
        return True
    if a.is_infinite or b.is_infinite:
        return False
    # different numbers: the difference shows at 60 digits; equal values agree to 45 (then taken as equal)
    return abs(sp.N(a - b, 60)) <= 1e-45



def choose_extremum(cands: list[Candidate], sign: int, what: str) -> Extremum:
    """The sup (sign = 1) or inf (sign = −1) among the candidates."""
    key = (lambda c: c.hi) if sign > 0 else (lambda c: -c.lo)
    top = max(cands, key=key)
    # every candidate whose enclosure overlaps the top one's
    if sign > 0:
        ties = [c for c in cands if c.hi >= top.lo]
    else:
        ties = [c for c in cands if c.lo <= top.hi]
    if any(c.exact is None for c in ties) and len(ties) > 1:
        # certified enclosures must separate unless they are the same extremum found twice
        if not all(c.exact is None for c in ties):
            raise BoundError(f"cannot separate the candidates for the {what}: enclosures overlap")
    if top.exact is not None:
        ties = [c for c in ties if c.exact is not None and same_value(c.exact, top.exact)] + \
               [c for c in ties if c.exact is None]
    exact = top.exact if all(c.exact is not None for c in ties) else None
    lo = min(c.lo for c in ties) if exact is None else top.lo
    hi = max(c.hi for c in ties) if exact is None else top.hi
    if exact is None:
        lo, hi = max(c.lo for c in ties), max(c.hi for c in ties)
        if sign < 0:
            lo, hi = min(c.lo for c in ties), min(c.hi for c in ties)
    attained = [c for c in ties if c.attained]
    at_lo = at_hi = None
    if attained:
        exact_sets = [c.where for c in attained if c.where is not None]
        numeric = [c for c in attained if c.where is None]
        parts, tex = [], []
        if exact_sets:
            parts.append(format_set(sp.Union(*exact_sets)))
            tex.append(tex_set(sp.Union(*exact_sets)))
        for c in numeric:
            parts.append("≈" + mpmath.nstr((c.at_lo + c.at_hi) / 2, 15))
            tex.append(r"\approx " + tex_number(mpmath.nstr((c.at_lo + c.at_hi) / 2, 15)))
        if numeric:
            at_lo = round_down(min(c.at_lo for c in numeric))
            at_hi = round_up(max(c.at_hi for c in numeric))
        elif len(exact_sets) == 1 and isinstance(exact_sets[0], sp.FiniteSet) and len(exact_sets[0]) == 1:
            p = next(iter(exact_sets[0]))
            pl, ph = enclose_exact(p)
            at_lo, at_hi = round_down(pl), round_up(ph)
        at = " ∪ ".join(parts)
        at_tex = r" \cup ".join(tex)
    else:
        wheres = sorted({str(c.where) for c in ties})
        at = "±oo" if wheres == ["-oo", "oo"] else ", ".join(wheres)
        at_tex = ", ".join(where_tex(w) for w in ([at] if at == "±oo" else wheres))
    return Extremum(exact, round_down(lo), round_up(hi), bool(attained), at, at_lo, at_hi, at_tex)



def describe_value(e: Extremum) -> tuple:
    """Proof parts: the value (exact, or its enclosure) and where it is attained or approached."""
    v = (part(e.exact) if e.exact is not None else
         Math(None, f"[{e.lower!r}, {e.upper!r}]", rf"[{e.lower!r},\allowbreak\ {e.upper!r}]"))
    where = Math(None, e.at, e.at_latex)
    return (v, " attained at ", where) if e.attained else (v, " approached at ", where, ", not attained")

