"""How proofs write sets, limit points and numbers: ``(0, oo) ∪ {1}``, ``3-`` (from the left), enclosures
``[a, b]`` to a stated number of digits, each as text and as LaTeX."""
from __future__ import annotations

import mpmath
import sympy as sp

from .proof import Math
from .proof import math as part


def _fmt_point(p: sp.Expr) -> str:
    return str(p)



def format_set(s: sp.Set) -> str:
    """(0, oo), [0, oo), {-1, 1}, unions joined with ' ∪ '."""
    if isinstance(s, sp.Union):
        return " ∪ ".join(format_set(a) for a in s.args)
    if isinstance(s, sp.Interval):
        left = "(" if s.left_open else "["
        right = ")" if s.right_open else "]"
        return f"{left}{s.start}, {s.end}{right}"
    if isinstance(s, sp.FiniteSet):
        items = sorted(s.args, key=lambda p: float(p))
        return ", ".join(_fmt_point(p) for p in items)
    return str(s)



def set_part(s: sp.Set) -> Math:
    """A set as a proof part: the text of :func:`format_set`, LaTeX from its SymPy parts."""
    return part(s, format_set(s))



def where_tex(where: str) -> str:
    """LaTeX of a limit point written ``oo``, ``-oo``, ``±oo`` or ``3-`` (from the left)."""
    named = {"oo": r"\infty", "-oo": r"-\infty", "±oo": r"\pm\infty"}
    if where in named:
        return named[where]
    if where[-1:] in "+-" and len(where) > 1:
        return f"{{{where[:-1]}}}^{{{where[-1]}}}"
    return where



def number_math(v, digits: int) -> Math:
    """An mpmath number as a proof part, to ``digits`` significant digits."""
    text = mpmath.nstr(v, digits)
    return Math(None, text, tex_number(text))



def tex_number(text: str) -> str:
    """``1.5e-7`` → ``1.5\\cdot 10^{-7}``; digits kept as they are."""
    mant, _, exp = text.partition("e")
    return mant if not exp else rf"{mant}\cdot 10^{{{int(exp)}}}"



def enclosure_math(lo, hi, digits: int) -> Math:
    """``[lo, hi]`` as a proof part (a line may break after the comma)."""
    a, b = mpmath.nstr(lo, digits), mpmath.nstr(hi, digits)
    return Math(None, f"[{a}, {b}]", rf"[{tex_number(a)},\allowbreak\ {tex_number(b)}]")



def short_text(e, n: int = 90) -> str:
    s = str(e)
    return s if len(s) <= n else s[: n - 1] + "…"

