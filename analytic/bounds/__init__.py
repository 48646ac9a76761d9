r"""Proven bounds: :math:`\sup` and :math:`\inf` of :math:`\varphi'` (or of :math:`\varphi`) over the real line.

"Proved" means one of two things, and each result records which (:attr:`Bound.method`):

* **exact** — the value is a SymPy expression with the argument that makes it exact: the formula is split at its
  kinks; on each smooth piece the critical points (zeros of :math:`\varphi''`) are found by ``solveset`` over the
  piece's open interval and accepted only as a complete ``FiniteSet``; the candidates are the values at these
  points, the one-sided limits at the kinks and the limits at :math:`\pm\infty` (Gruntz's algorithm). When
  :math:`\varphi'` is a polynomial in :math:`s = \sigma(u)` or :math:`t = \tanh u` with :math:`u` linear in
  :math:`x` (sigmoid, tanh, softmax), the monotone substitution gives the proof directly.
* **certified** — where SymPy cannot settle the critical points (SiLU, Mish, the tanh form of GELU, most user
  formulas), an interval branch-and-bound with centred-form enclosures (``mpmath`` interval arithmetic, outward
  rounding) over a box :math:`[-R, R]`, a proved tail outside it (the sign of the derivative is enclosed on
  :math:`[R, \infty)` in interval arithmetic, so the function is monotone there and lies between its value at
  :math:`R` and its limit), and an interval bisection on the sign of :math:`\varphi''` that encloses the argmax.
  The value's enclosure is at most :data:`TARGET_WIDTH` wide.

A grid maximum is never reported. Kink convention values (PyTorch's autograd value of :math:`\varphi'` at a kink)
are reported beside the bound but never count as attaining it.

>>> from analytic.bounds import bound
>>> b = bound("sigmoid")
>>> b.sup.exact, b.sup.attained, b.sup.at
(1/4, True, '0')
"""
from __future__ import annotations

import functools
import heapq
import math
from dataclasses import dataclass, field
from typing import Callable

import mpmath
import sympy as sp
from mpmath.ctx_iv import MPIntervalContext
from sympy.calculus.util import continuous_domain

from ..core.special import sigmoid, softplus, to_elementary
from ..core.calculus import resolve
from ..core.display import displayable
from ..errors import AnalyticError, BoundError, ComputationTimeout, canonical_float, canonical_text, time_limit
from .proof import Math, Step, step, steps_text, tex_set
from .proof import math as part
from ..core.registry import X, Activation

__all__ = ["Extremum", "Bound", "SoftmaxJacobianBounds", "bound", "softmax_jacobian_bounds", "TARGET_WIDTH"]

#: Widest enclosure of a certified extremum's value.
TARGET_WIDTH = 1e-12
#: Working precision (bits) of the interval arithmetic.
PRECISION = 96
#: Seconds allowed for one limit (Gruntz's algorithm).
LIMIT_SECONDS = 10.0
#: Range of the ``timeout`` of :func:`bound` (seconds per SymPy step).
MIN_TIMEOUT, MAX_TIMEOUT = 1e-4, 3600.0
#: Tail radii tried, in order, for the certified route.
RADII = (8, 16, 32, 64, 128)
#: Most boxes the branch-and-bound may examine per piece.
MAX_BOXES = 5000
#: Seconds allowed for the certified route on one piece.
CERTIFY_SECONDS = 30.0
#: The branch and bound stops when every surviving box's upper bound is within this of the best value found;
#: the surviving clusters are then classified and the extremum enclosed by bisection on the sign of the slope.
ISOLATION_GAP = 1e-6
_NAIVE_WIDTH = 1e-2
_ARG_WIDTH = mpmath.mpf(2) ** -64

_IV = MPIntervalContext()
_IV.prec = PRECISION
_MP = mpmath.MPContext()
_MP.prec = PRECISION + 8
_INF = mpmath.mpf("inf")
_Y = sp.Symbol("y", positive=True)


# ---------------------------------------------------------------- result objects

@dataclass(frozen=True)
class Extremum:
    """A supremum or infimum: exact value (or None), a float enclosure, whether attained, and where.

    ``at`` is a point (``"0"``, ``"sqrt(2)"``), a limit (``"oo"``, ``"-oo"``, ``"±oo"``, ``"0-"`` from the left,
    ``"3-"``), an enclosure (``"≈2.39935728"``) or a set of points attaining it (``"(0, oo)"``).
    ``at_lower``/``at_upper`` enclose a finite argmax numerically.
    """

    exact: sp.Expr | None
    lower: float
    upper: float
    attained: bool
    at: str
    at_lower: float | None = None
    at_upper: float | None = None
    at_tex: str = ""

    @property
    def at_latex(self) -> str:
        """``at`` in LaTeX (from the SymPy objects it was made of; falls back to the text)."""
        return self.at_tex or self.at

    def as_dict(self) -> dict:
        """JSON-ready form: ``exact`` (string or None), ``lower``, ``upper``, ``attained``, ``at``, ``at_lower``,
        ``at_upper``."""
        return {"exact": None if self.exact is None else str(self.exact), "lower": self.lower, "upper": self.upper,
                "attained": self.attained, "at": self.at, "at_lower": self.at_lower, "at_upper": self.at_upper}


@dataclass(frozen=True)
class SoftmaxJacobianBounds:
    r"""Bounds on the softmax Jacobian :math:`J = \operatorname{diag}(s) - s s^\top`, valid for every size n."""

    diagonal: Extremum
    off_diagonal: Extremum
    spectral_norm: Extremum
    steps: tuple[Step, ...]

    @property
    def proof(self) -> tuple[str, ...]:
        """The proof as plain text, one string per step."""
        return steps_text(self.steps)

    def as_dict(self) -> dict:
        """JSON-ready form: ``diagonal_sup``, ``off_diagonal_inf``, ``spectral_norm_sup``, ``proof``."""
        return {"diagonal_sup": self.diagonal.as_dict(), "off_diagonal_inf": self.off_diagonal.as_dict(),
                "spectral_norm_sup": self.spectral_norm.as_dict(), "proof": list(self.proof)}


def _extremum_text(e: Extremum) -> str:
    value = str(e.exact) if e.exact is not None else f"[{e.lower!r}, {e.upper!r}]"
    return f"{value} ({'attained at' if e.attained else 'approached at'} {e.at})"


def _bound_summary(b: "Bound") -> dict:
    return {"sup": _extremum_text(b.sup), "inf": _extremum_text(b.inf), "method": b.method}


def _proof_html(b: "Bound") -> str:
    import html

    items = "".join(f"<li>{html.escape(s.markdown())}</li>" for s in b.steps)
    return f"<p>Proof:</p><ol>{items}</ol>"


@displayable(title=lambda b: f"bound {b.name}: sup and inf of {'φ′' if b.of == 'dphi' else 'φ'}",
             headline=("name", "of", ("sup", lambda b: _extremum_text(b.sup)), ("inf", lambda b: _extremum_text(b.inf))),
             summary=_bound_summary, extra_html=_proof_html,
             rows=lambda b: [{"kind": k, "exact": None if e.exact is None else str(e.exact), "lower": e.lower,
                              "upper": e.upper, "attained": e.attained, "at": e.at}
                             for k, e in (("sup", b.sup), ("inf", b.inf))])
@dataclass(frozen=True)
class Bound:
    """The sup and inf of ``of`` (``"dphi"`` or ``"phi"``) for one activation, with the proof (in a notebook: a
    table and the proof as a numbered list)."""

    name: str
    of: str
    sup: Extremum
    inf: Extremum
    steps: tuple[Step, ...]
    method: str
    kink_conventions: tuple = ()
    params: dict = field(default_factory=dict)
    jacobian: SoftmaxJacobianBounds | None = None

    @property
    def proof(self) -> tuple[str, ...]:
        """The proof as plain text, one string per step (:attr:`steps` holds the structured steps)."""
        return steps_text(self.steps)

    def as_dict(self) -> dict:
        """JSON-ready form with the keys of the ``bound`` command: ``name``, ``of``, ``sup``, ``inf``, ``proof``,
        ``method``, ``kinks``, ``params`` (and ``jacobian`` for softmax)."""
        out = {"name": self.name, "of": self.of, "sup": self.sup.as_dict(), "inf": self.inf.as_dict(),
               "proof": list(self.proof), "method": self.method,
               "kinks": [{"at": str(k.at), "dphi": str(k.dphi), "value": float(k.dphi)} for k in self.kink_conventions],
               "params": {k: _num(v) for k, v in self.params.items()}}
        if self.jacobian is not None:
            out["jacobian"] = self.jacobian.as_dict()
        return out


def _num(v) -> float | str:
    try:
        return float(v)
    except TypeError:
        return str(v)


# ---------------------------------------------------------------- interval arithmetic

IntervalFn = Callable[[object], object]


def _widen(lo, hi):
    """An interval containing [lo, hi] where lo, hi are mpmath values accurate to a few ulps."""
    eps = mpmath.mpf(2) ** (8 - PRECISION)
    lo = lo - abs(lo) * eps if mpmath.isfinite(lo) else lo
    hi = hi + abs(hi) * eps if mpmath.isfinite(hi) else hi
    return _IV.mpf([lo, hi])


def _monotone(f: Callable, increasing: bool = True, domain_lo=None, range_=None) -> IntervalFn:
    """Interval extension of a monotone function; ``range_`` = (lo, hi) clamps the widened result to the
    function's known range (σ ∈ [0, 1], tanh ∈ [−1, 1], …)."""
    lo_r, hi_r = range_ or (-_INF, _INF)

    def g(v):
        a, b = _lo(v), _hi(v)
        if domain_lo is not None and a < domain_lo:
            raise BoundError(f"interval argument {v} leaves the domain of {f.__name__}")
        fa, fb = f(a), f(b)
        if _MP.isnan(fa) or _MP.isnan(fb):
            raise BoundError(f"{f.__name__} is undefined on {v}")
        r = _widen(fa, fb) if increasing else _widen(fb, fa)
        return _IV.mpf([max(_lo(r), lo_r), min(_hi(r), hi_r)])

    return g


def _sigmoid_mp(u):
    if u == _INF:
        return _MP.mpf(1)
    if u == -_INF:
        return _MP.mpf(0)
    return 1 / (1 + _MP.exp(-u)) if u >= 0 else _MP.exp(u) / (1 + _MP.exp(u))


def _softplus_mp(u):
    if u == _INF:
        return _INF
    if u == -_INF:
        return _MP.mpf(0)
    return u + _MP.log1p(_MP.exp(-u)) if u > 0 else _MP.log1p(_MP.exp(u))


def _even(f: Callable) -> IntervalFn:
    """An even function increasing on [0, ∞) (cosh, Abs)."""
    inc = _monotone(f)

    def g(v):
        a, b = _lo(v), _hi(v)
        if a >= 0:
            return inc(v)
        if b <= 0:
            return inc(_IV.mpf([-b, -a]))
        return inc(_IV.mpf([0, max(-a, b)]))

    return g


_FUNCTIONS: dict[type, IntervalFn] = {
    sp.exp: _monotone(lambda u: _MP.exp(u), range_=(0, _INF)),
    sp.log: _monotone(lambda u: _MP.log(u) if u > 0 else -_INF, domain_lo=0),
    sp.tanh: _monotone(lambda u: _MP.tanh(u), range_=(-1, 1)),
    sp.erf: _monotone(lambda u: _MP.erf(u), range_=(-1, 1)),
    sp.atan: _monotone(lambda u: _MP.atan(u)),
    sp.sinh: _monotone(lambda u: _MP.sinh(u)),
    sp.cosh: _even(lambda u: _MP.cosh(u)),
    sp.Abs: _even(lambda u: u),
    sigmoid: _monotone(_sigmoid_mp, range_=(0, 1)),
    softplus: _monotone(_softplus_mp, range_=(0, _INF)),
    sp.sin: lambda v: _IV.sin(v),
    sp.cos: lambda v: _IV.cos(v),
}


def _constant(expr: sp.Expr):
    """A rigorous interval for a constant SymPy expression."""
    if expr.is_Integer:
        return _IV.mpf(int(expr))
    if expr.is_Rational:
        return _IV.mpf(int(expr.p)) / _IV.mpf(int(expr.q))
    if expr.is_Float:
        return _IV.mpf(str(expr))
    if expr is sp.pi:
        return _IV.pi
    if expr is sp.E:
        return _IV.e
    if expr is sp.oo:
        return _IV.mpf(_INF)
    if expr is sp.S.NegativeInfinity:
        return _IV.mpf(-_INF)
    return None


def compile_interval(expr: sp.Expr, var: sp.Symbol = X, cse: bool = False) -> IntervalFn:
    """Compile ``expr`` (in ``var``) into a function from an mpmath interval to an enclosure of its range.

    Arithmetic is mpmath's outward-rounded interval arithmetic; monotone functions are evaluated at the interval's
    endpoints and widened by a relative :math:`2^{8-p}` (and clamped to their known range); ``cos``, ``sin`` use
    mpmath's interval versions. With ``cse`` repeated sub-expressions are evaluated once (this may re-associate
    sums; the tail forms keep their nesting with ``cse=False``). Raises :class:`~analytic.errors.BoundError` for a
    function it cannot enclose.

    >>> f = compile_interval(X**2 - 1)
    >>> f(_IV.mpf([-1, 2]))  # encloses the range of x^2 - 1 over [-1, 2]
    mpi('-1.0', '3.0')
    """
    known = {var}

    def build(e: sp.Expr) -> Callable:
        c = _constant(e)
        if c is not None:
            return lambda env, c=c: c
        if e in known:
            return lambda env, e=e: env[e]
        if not (e.free_symbols & known):
            value = sp.N(e, 45)
            if not (value.is_real and value.is_finite):
                raise BoundError(f"cannot enclose the constant {e}")
            mid = _MP.mpf(str(value))
            cc = _widen(mid, mid)
            return lambda env, c=cc: c
        if e.is_Add:
            parts = [build(a) for a in e.args]

            def add(env, parts=parts):
                total = parts[0](env)
                for p in parts[1:]:
                    total = total + p(env)
                return total

            return add
        if e.is_Mul:
            parts = [build(a) for a in e.args]

            def mul(env, parts=parts):
                total = parts[0](env)
                for p in parts[1:]:
                    total = total * p(env)
                return total

            return mul
        if e.is_Pow:
            base, expo = e.args
            fb = build(base)
            if expo.is_Integer:
                n = int(expo)
                if n >= 0:
                    return lambda env, fb=fb, n=n: fb(env) ** n
                return lambda env, fb=fb, n=-n: 1 / (fb(env) ** n)
            if expo == sp.S.Half:
                return lambda env, fb=fb: _sqrt(fb(env))
            if expo == -sp.S.Half:
                return lambda env, fb=fb: 1 / _sqrt(fb(env))
            fe = build(expo)
            flog = _FUNCTIONS[sp.log]
            fexp = _FUNCTIONS[sp.exp]
            return lambda env, fb=fb, fe=fe: fexp(fe(env) * flog(fb(env)))
        if e.func in _FUNCTIONS and len(e.args) == 1:
            f, inner = _FUNCTIONS[e.func], build(e.args[0])
            return lambda env, f=f, inner=inner: f(inner(env))
        raise BoundError(f"interval arithmetic has no rule for {e.func.__name__} (in {e})")

    if not cse:
        final = build(expr)
        return lambda v: final({var: v})
    replacements, (reduced,) = sp.cse(expr)
    steps = []
    for sym, sub in replacements:
        steps.append((sym, build(sub)))
        known.add(sym)
    final = build(reduced)

    def run(v):
        env = {var: v}
        for sym, fn in steps:
            env[sym] = fn(env)
        return final(env)

    return run


def _lo(v):
    """Lower end of an mpmath interval as an mpf."""
    return _MP.mpf(v._mpi_[0])


def _hi(v):
    """Upper end of an mpmath interval as an mpf."""
    return _MP.mpf(v._mpi_[1])


def _sqrt(v):
    if _lo(v) < 0:
        raise BoundError(f"sqrt of an interval reaching below 0: {v}")
    return _IV.sqrt(v)


def _point(x) -> object:
    return _IV.mpf([x, x])


# ---------------------------------------------------------------- exact helpers

def _limit(expr: sp.Expr, direction, timeout: float) -> sp.Expr:
    """Limit of ``expr`` as x → ±∞ by Gruntz's algorithm (``sympy.limit`` mishandles some sigmoid forms),
    cross-checked against ``limit`` of the ``together`` form when the two disagree."""
    e = to_elementary(expr)
    try:
        with time_limit(timeout, "limit"):
            value = sp.gruntz(e, X, direction)
    except (ComputationTimeout, NotImplementedError, ValueError, TypeError, RecursionError) as exc:
        raise BoundError(f"cannot find the limit of {expr} as x -> {direction}: {type(exc).__name__}") from None
    if value.has(sp.AccumBounds, sp.Limit, sp.nan, sp.zoo) or value.has(X) or not (value.is_real or value.is_infinite):
        raise BoundError(f"{expr} has no limit as x -> {direction} (got {value})")
    return value


def _one_sided(expr: sp.Expr, point: sp.Expr, side: str, timeout: float) -> sp.Expr:
    """One-sided limit at a finite point: the value when the expression is finite there, else ``sympy.limit``."""
    value = expr.subs(X, point)
    if value.is_finite and value.is_real and not value.has(sp.nan, sp.zoo):
        return value
    try:
        with time_limit(timeout, "limit"):
            value = sp.limit(to_elementary(expr), X, point, side)
    except (ComputationTimeout, NotImplementedError, ValueError) as exc:
        raise BoundError(f"cannot find the limit of {expr} at {point}{side}: {type(exc).__name__}") from None
    if value.has(sp.AccumBounds, sp.Limit, sp.nan, sp.zoo):
        raise BoundError(f"{expr} has no limit at {point}{side}")
    return value


def _enclose_exact(value: sp.Expr):
    """mpmath (lo, hi) enclosing an exact real number (±inf for infinities)."""
    if value is sp.oo:
        return _INF, _INF
    if value is sp.S.NegativeInfinity:
        return -_INF, -_INF
    c = _constant(value)
    if c is None:
        c = compile_interval(value)(_point(0))
    return _lo(c), _hi(c)


def _same(a: sp.Expr, b: sp.Expr) -> bool:
    if a == b:
        return True
    if a.is_infinite or b.is_infinite:
        return False
    # different numbers: the difference shows at 60 digits; equal values agree to 45 (then taken as equal)
    return abs(sp.N(a - b, 60)) <= 1e-45


def _down(x) -> float:
    if x == -_INF:
        return -math.inf
    if x == _INF:
        return math.inf
    f = float(x)
    return f if mpmath.mpf(f) <= x else math.nextafter(f, -math.inf)


def _up(x) -> float:
    if x == _INF:
        return math.inf
    if x == -_INF:
        return -math.inf
    f = float(x)
    return f if mpmath.mpf(f) >= x else math.nextafter(f, math.inf)


def _fmt_point(p: sp.Expr) -> str:
    return str(p)


def _fmt_set(s: sp.Set) -> str:
    """(0, oo), [0, oo), {-1, 1}, unions joined with ' ∪ '."""
    if isinstance(s, sp.Union):
        return " ∪ ".join(_fmt_set(a) for a in s.args)
    if isinstance(s, sp.Interval):
        left = "(" if s.left_open else "["
        right = ")" if s.right_open else "]"
        return f"{left}{s.start}, {s.end}{right}"
    if isinstance(s, sp.FiniteSet):
        items = sorted(s.args, key=lambda p: float(p))
        return ", ".join(_fmt_point(p) for p in items)
    return str(s)


def _set_part(s: sp.Set) -> Math:
    """A set as a proof part: the text of :func:`_fmt_set`, LaTeX from its SymPy parts."""
    return part(s, _fmt_set(s))


def _where_tex(where: str) -> str:
    """LaTeX of a limit point written ``oo``, ``-oo``, ``±oo`` or ``3-`` (from the left)."""
    named = {"oo": r"\infty", "-oo": r"-\infty", "±oo": r"\pm\infty"}
    if where in named:
        return named[where]
    if where[-1:] in "+-" and len(where) > 1:
        return f"{{{where[:-1]}}}^{{{where[-1]}}}"
    return where


# ---------------------------------------------------------------- candidates

@dataclass(frozen=True)
class _Candidate:
    exact: sp.Expr | None
    lo: object  # mpf
    hi: object
    attained: bool
    where: object  # sympy Set when attained, else a string like "oo", "0-"
    at_lo: object = None
    at_hi: object = None


def _exact_candidate(value: sp.Expr, attained: bool, where) -> _Candidate:
    lo, hi = _enclose_exact(value)
    return _Candidate(value, lo, hi, attained, where)


@dataclass(frozen=True)
class _Piece:
    phi: sp.Expr
    g: sp.Expr  # the function being bounded on this piece (phi or dphi)
    interval: sp.Interval  # open interior for dphi; the piece's set for phi
    points: sp.Set  # the piece's set (for phi: where values are attained)


def _piece_sets(expr: sp.Expr) -> list[tuple[sp.Expr, sp.Set]]:
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


# ---------------------------------------------------------------- the certified route

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
    if _lo(r) >= 0:
        return 1
    if _hi(r) <= 0:
        return -1
    return 0


def _tail_sign(dg: sp.Expr, side: int, R: int, timeout: float, depth: int = 1) -> tuple[int, str]:
    """(+1 or −1, reason) if ``dg`` is ≥ 0 / ≤ 0 for every x with side·x ≥ R; (0, "") if not settled.

    First by interval evaluation of a rearranged form (:func:`_tail_form`) on [R, ∞); failing that, when the
    derivative of ``dg`` has a settled sign there (recursively), ``dg`` is monotone on the tail and so lies between
    its value at the tail's edge and its limit at infinity, whose signs then decide."""
    h = dg.subs(X, _Y if side > 0 else -_Y)
    sgn = _sign(_tail_form(h, _Y), _Y, _IV.mpf([R, _INF]))
    if sgn:
        return sgn, "interval evaluation"
    sgn = _mapped_sign(h, R, timeout)
    if sgn:
        return sgn, (f"interval evaluation in t = e^(−|x|): there the expression is a rational function of t, "
                     f"factored, on t ∈ (0, e^(−{R})]")
    if depth <= 0:
        return 0, ""
    inner, _ = _tail_sign(sp.diff(dg, X), side, R, timeout, depth - 1)
    if not inner:
        return 0, ""
    try:
        L = _limit(dg, sp.oo if side > 0 else -sp.oo, LIMIT_SECONDS)
        edge = compile_interval(dg)(_point(side * R))
    except (BoundError, ZeroDivisionError, ValueError):
        return 0, ""
    Llo, Lhi = _enclose_exact(L)
    lo, hi = min(_lo(edge), Llo), max(_hi(edge), Lhi)
    sgn = 1 if lo >= 0 else (-1 if hi <= 0 else 0)
    if not sgn:
        return 0, ""
    return sgn, (f"its own derivative has sign {'≥ 0' if inner > 0 else '≤ 0'} there (interval evaluation), so it is "
                 f"monotone and lies between its value {mpmath.nstr(_lo(edge), 6)} at {side * R} and its limit {L}")


_T = sp.Symbol("t", positive=True)


def _mapped_sign(h: sp.Expr, R: int, timeout: float) -> int:
    r"""The sign of ``h(y)`` for every y ≥ R when h is built from :math:`e^{ky}` alone (σ, tanh, sinh, cosh,
    softplus′ … rewritten in exp): with :math:`t = e^{-y} \in (0, e^{-R}]` it is a rational function of t, whose
    factored numerator and denominator are enclosed by interval arithmetic on that short interval (the mapped
    variable turns the unbounded tail into a bounded box, and factoring removes the cancellation between terms
    that all tend to 0). 0 when h has another form or the sign is not settled."""
    try:
        with time_limit(min(timeout, LIMIT_SECONDS), "tail in t = exp(-x)"):
            e = to_elementary(h).rewrite(sp.exp)

            def rate(z):
                k = sp.simplify(z.args[0] / _Y)
                return k if k.is_Integer else None

            e = e.replace(lambda z: isinstance(z, sp.exp) and rate(z) is not None, lambda z: _T ** (-rate(z)))
            if e.has(_Y) or not e.has(_T):
                return 0
            num, den = sp.fraction(sp.factor(sp.together(e), _T))
            box = _IV.mpf([0, mpmath.exp(-R)])
            sn, sd = _sign(sp.factor(num), _T, box), _sign(sp.factor(den), _T, box)
    except (ComputationTimeout, NotImplementedError, TypeError, ValueError, BoundError):
        return 0
    return sn * sd


@dataclass(frozen=True)
class _Compiled:
    g: IntervalFn
    dg: IntervalFn
    d2g: IntervalFn

    def centred(self, a, b):
        """Enclosure of g on [a, b]: centred form g(m) + g'([a,b])([a,b] − m), intersected with the naive one."""
        box = _IV.mpf([a, b])
        m = (a + b) / 2
        gm = self.g(_point(m))
        cf = gm + self.dg(box) * (box - m)
        lo, hi = _lo(cf), _hi(cf)
        if b - a > _NAIVE_WIDTH:  # on wide boxes the naive enclosure can be the tighter one
            nv = self.g(box)
            lo, hi = max(lo, _lo(nv)), min(hi, _hi(nv))
        return lo, hi, gm


def _maximise_box(c: _Compiled, sign: int, lo, hi) -> tuple[list[tuple], object, int]:
    """Branch and bound for max of sign·g on [lo, hi]: the surviving boxes (a, b, upper), the best lower bound
    (a value of sign·g attained at a point) and the number of boxes examined."""
    def enclose(a, b):
        l, h, gm = c.centred(a, b)
        if sign < 0:
            l, h, gm = -h, -l, -gm
        return h, _lo(gm)

    n0 = 16
    width = (hi - lo) / n0
    heap, best, examined = [], -_INF, 0
    for i in range(n0):
        a = lo + i * width
        b = hi if i == n0 - 1 else lo + (i + 1) * width
        upper, low = enclose(a, b)
        best = max(best, low)
        heap.append((-upper, a, b))
        examined += 1
    heapq.heapify(heap)
    tol = mpmath.mpf(ISOLATION_GAP)
    done: list[tuple] = []
    while heap:
        neg_upper, a, b = heapq.heappop(heap)
        upper = -neg_upper
        if upper < best:
            continue
        if upper - best <= tol or (b - a) < mpmath.mpf(2) ** (-PRECISION // 2):
            done.append((a, b, upper))
            continue
        if examined > MAX_BOXES:
            raise BoundError(f"branch and bound did not converge within {MAX_BOXES} boxes")
        m = (a + b) / 2
        for (p, q) in ((a, m), (m, b)):
            u, low = enclose(p, q)
            examined += 1
            best = max(best, low)
            if u >= best:
                heapq.heappush(heap, (-u, p, q))
    survivors = sorted((d for d in done if d[2] >= best), key=lambda d: d[0])
    return survivors, best, examined


def _clusters(boxes: list[tuple]) -> list[tuple]:
    out: list[list] = []
    for a, b, u in boxes:
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
            out[-1][2] = max(out[-1][2], u)
        else:
            out.append([a, b, u])
    return [tuple(c) for c in out]


def _refine_argmax(c: _Compiled, sign: int, a, b):
    """Classify a cluster [a, b] of surviving boxes for the max of sign·g.

    Returns ``("max", (lo, hi))`` when sign·g is strictly concave on [a, b] and g' changes sign there: the unique
    maximiser, enclosed by interval bisection on the sign of g' to relative width 2^-64; ``("up", None)`` /
    ``("down", None)`` when sign·g is strictly increasing / decreasing on [a, b] (g' excludes 0, or concavity
    with g' of one sign at an end); else ``(None, None)``."""
    slope = c.dg(_IV.mpf([a, b])) * sign
    if _lo(slope) > 0:
        return "up", None
    if _hi(slope) < 0:
        return "down", None
    d2 = c.d2g(_IV.mpf([a, b]))
    if not ((sign > 0 and _hi(d2) < 0) or (sign < 0 and _lo(d2) > 0)):
        return None, None

    def s(x):
        v = c.dg(_point(x)) * sign
        return 1 if _lo(v) > 0 else (-1 if _hi(v) < 0 else 0)

    sa, sb = s(a), s(b)
    if sa == -1:
        return "down", None  # sign·g' is decreasing, so it stays < 0 right of a
    if sb == 1:
        return "up", None  # ... and > 0 left of b
    if sa != 1 or sb != -1:
        return None, None
    for _ in range(400):
        if b - a <= _ARG_WIDTH * max(1, abs(a)):
            break
        m = (a + b) / 2
        sm = s(m)
        if sm == 0:
            break
        a, b = (m, b) if sm > 0 else (a, m)
    return "max", (a, b)


def _certified_piece(g: sp.Expr, interval: sp.Interval, of: str, timeout: float,
                     proof: list[Step]) -> tuple[list[_Candidate], list[_Candidate]]:
    """Certified sup and inf candidates of g on one piece (finite ends are handled as limits by the caller)."""
    dg = sp.diff(g, X)
    d2g = sp.diff(dg, X)
    name, dname, d2name = ("φ′", "φ″", "φ‴") if of == "dphi" else ("φ", "φ′", "φ″")
    try:
        comp = _Compiled(*(compile_interval(e, X, cse=True) for e in (g, dg, d2g)))
    except BoundError as exc:
        raise BoundError(f"interval evaluation is not available for {g}: {exc}") from None
    a, b = interval.start, interval.end
    lo_inf, hi_inf = a is sp.S.NegativeInfinity, b is sp.oo
    R, tails = None, []
    if lo_inf or hi_inf:
        for r in RADII:
            if (not hi_inf or r > a) and (not lo_inf or -r < b):
                signs = [(side, *_tail_sign(dg, side, r, timeout))
                         for side in ((1,) if hi_inf else ()) + ((-1,) if lo_inf else ())]
                if all(s != 0 for _, s, _ in signs):
                    R, tails = r, signs
                    break
        if R is None:
            raise BoundError(f"no proved tail: the sign of {dname} on [R, ∞) was not settled for R up to {RADII[-1]}")
        for side, s, why in tails:
            where = "[R, ∞)" if side > 0 else "(−∞, −R]"
            trend = "non-decreasing" if s > 0 else "non-increasing"
            how = ("interval evaluation of a rearranged form (common factors pulled out, sums nested in powers of "
                   "|x|)" if why == "interval evaluation" else why)
            proof.append(step("Tail: with R = ", sp.Integer(R), f", {dname} {'≥ 0' if s > 0 else '≤ 0'} on {where} ({how}), "
                              f"so {name} is {trend} there and lies between its value at {'' if side > 0 else '−'}R "
                              f"(inside the box) and its limit at {'∞' if side > 0 else '−∞'}."))
    lo = _MP.mpf(-R) if lo_inf else _MP.mpf(str(sp.N(a, 40)))
    hi = _MP.mpf(R) if hi_inf else _MP.mpf(str(sp.N(b, 40)))
    results = []
    for sign in (1, -1):
        survivors, best, examined = _maximise_box(comp, sign, lo, hi)
        cands = []
        for (p, q, upper) in _clusters(survivors):
            at_lo, at_hi = p <= lo, q >= hi
            kind_, arg = _refine_argmax(comp, sign, p, q)
            if kind_ in ("up", "down") and not (at_lo or at_hi):
                continue  # monotone between pruned neighbours: its values stay below the best point found
            if (kind_ == "up" and at_hi) or (kind_ == "down" and at_lo):
                # increasing towards an end of the box: towards a piece end, the extreme over this cluster is the
                # one-sided limit there (a candidate of its own); towards ±R it continues into the tail only if
                # the tail is monotone the same way, and then it is the limit at infinity (also a candidate)
                edge_side = 1 if at_hi else -1
                tail = dict((side, s_) for side, s_, _ in tails)
                if edge_side in tail and tail[edge_side] * sign * edge_side < 0:
                    raise BoundError(f"the {('max' if sign > 0 else 'min')} of {name} sits at the edge of the box "
                                     f"±{R}; no proof")
                continue
            if kind_ != "max":
                raise BoundError(f"could not isolate the extremum of {name} near [{mpmath.nstr(p, 8)}, "
                                 f"{mpmath.nstr(q, 8)}] (neither monotone nor strictly concave there)")
            ca, cb = arg
            v = comp.g(_IV.mpf([ca, cb]))
            vlo, vhi = _lo(v), _hi(v)
            cands.append(_Candidate(None, vlo, vhi, True, None, ca, cb))
            if vhi - vlo > TARGET_WIDTH:
                raise BoundError(f"enclosure of the extremum of {name} is {mpmath.nstr(vhi - vlo, 3)} wide")
        kind = "max" if sign > 0 else "min"
        if cands:
            best_c = max(cands, key=lambda c: c.hi) if sign > 0 else min(cands, key=lambda c: c.lo)
            proof.append(step(
                f"Branch and bound for the {kind} of {name} on ", _enclosure(lo, hi, 6),
                f" ({examined} boxes, centred-form interval enclosures) discards every box but those near x ≈ ",
                _number(best_c.at_lo, 12), f"; there {d2name} {'< 0' if sign > 0 else '> 0'} on the remaining "
                f"boxes and {dname} changes sign, so the {kind} is the unique zero of {dname}, enclosed by interval "
                f"bisection in ", _enclosure(best_c.at_lo, best_c.at_hi, 22), "; value in ",
                _enclosure(best_c.lo, best_c.hi, 22), "."))
        else:
            proof.append(step(f"Branch and bound for the {kind} of {name} on ", _enclosure(lo, hi, 6),
                              f" ({examined} boxes) finds no interior {kind}: it is approached at an end of the piece."))
        results.append(cands)
    return results[0], results[1]


def _number(v, digits: int) -> Math:
    """An mpmath number as a proof part, to ``digits`` significant digits."""
    text = mpmath.nstr(v, digits)
    return Math(None, text, _tex_number(text))


def _tex_number(text: str) -> str:
    """``1.5e-7`` → ``1.5\\cdot 10^{-7}``; digits kept as they are."""
    mant, _, exp = text.partition("e")
    return mant if not exp else rf"{mant}\cdot 10^{{{int(exp)}}}"


def _enclosure(lo, hi, digits: int) -> Math:
    """``[lo, hi]`` as a proof part (a line may break after the comma)."""
    a, b = mpmath.nstr(lo, digits), mpmath.nstr(hi, digits)
    return Math(None, f"[{a}, {b}]", rf"[{_tex_number(a)},\allowbreak\ {_tex_number(b)}]")


# ---------------------------------------------------------------- the exact routes

_ENTIRE = (sp.exp, sp.erf, sp.tanh, sp.sinh, sp.cosh, sp.sin, sp.cos, sp.atan, sp.Abs, sigmoid, softplus)


def _check_continuous(g: sp.Expr, interval: sp.Interval, what: str) -> None:
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
        return isinstance(e, _ENTIRE) and all(entire(a) for a in e.args)

    if entire(g):
        return
    inside = sp.Interval.open(interval.start, interval.end)
    try:
        with time_limit(LIMIT_SECONDS, "continuity check"):
            domain = continuous_domain(to_elementary(g), X, inside)
    except (ComputationTimeout, NotImplementedError, ValueError, TypeError) as exc:
        raise BoundError(f"cannot establish that {what} = {_short(g)} is continuous on {_fmt_set(inside)} "
                         f"({type(exc).__name__})") from None
    missing = inside - domain
    if missing is not sp.S.EmptySet:
        raise BoundError(f"{what} = {_short(g)} is not real and continuous on all of {_fmt_set(inside)}: "
                         f"it fails on {_fmt_set(missing)}")


def _witnessed(g: sp.Expr, interval: sp.Interval, crit, ends: list[_Candidate], name: str):
    """``crit`` if the values at the critical points and the ends enclose g at a few witness points of the piece;
    otherwise the reason why not (SymPy's solveset then missed a zero: σ(x)σ(2x) has φ″ = 0 somewhere, yet
    solveset answers ∅), so that the certified route takes over. A check of the proof, never a proof."""
    try:
        values = [_exact_candidate(_tidy(g.subs(X, p)), True, None) for p in crit] + ends
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
            r = f(_point(w))
        except (BoundError, ZeroDivisionError, ValueError):
            continue
        if _lo(r) > hi or _hi(r) < lo:
            return (f"the solution set SymPy's solveset gives for the zeros of the derivative is incomplete "
                    f"({name}({mpmath.nstr(w, 6)}) lies outside the values at its points and ends)",)
    return crit


def _critical_points(g: sp.Expr, interval: sp.Interval, timeout: float):
    """The complete finite set of zeros of g' in the open interval, or proof parts (a tuple) saying why not."""
    dg = to_elementary(sp.diff(g, X))
    try:
        with time_limit(timeout, "solveset"):
            sol = sp.solveset(dg, X, sp.Interval.open(interval.start, interval.end))
    except ComputationTimeout:
        return (f"SymPy could not settle the critical points within {timeout:g} s",)
    except (NotImplementedError, ValueError, TypeError, RecursionError) as exc:
        return (f"solveset failed ({type(exc).__name__})",)
    if isinstance(sol, sp.FiniteSet) and all(p.is_real and p.is_finite for p in sol):
        return sol
    if sol is sp.S.EmptySet:
        return sp.S.EmptySet
    return ("solveset returned ", Math(sol, _short(sol), r"\text{a " + type(sol).__name__ + "}"),
            ", not a complete finite set")


def _tidy(value: sp.Expr, seconds: float = 2.0) -> sp.Expr:
    """``simplify`` under a time budget (the unsimplified value is just as exact)."""
    try:
        with time_limit(seconds, "simplification"):
            return sp.simplify(value)
    except ComputationTimeout:
        return value


def _short(e, n: int = 90) -> str:
    s = str(e)
    return s if len(s) <= n else s[: n - 1] + "…"


def _sigma_proof(h: sp.Expr, hu: str, x0: sp.Expr) -> Step:
    return step(Math(None, "σ′ = σ(1−σ)", r"\sigma' = \sigma(1-\sigma)"), "; with s = ", part(h, hu),
                Math(None, " ∈ (0,1)", r"{}\in (0,1)"), ", ",
                Math(None, "s(1−s) = 1/4 − (s−1/2)² ≤ 1/4", r"s(1-s) = \tfrac14 - (s-\tfrac12)^2 \le \tfrac14"),
                ", equality iff s = 1/2 iff x = ", x0, ".")


def _substitution(g: sp.Expr, of: str, timeout: float):
    r"""If g = P(h(u)) with h ∈ {σ, tanh}, u = p x + q (p ≠ 0) and P a polynomial: sup/inf candidates of P over
    h's open range (0, 1) or (−1, 1), mapped back to x. Returns (sup candidates, inf candidates, proof) or None."""
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
    try:
        with time_limit(timeout, "solveset"):
            crit = sp.solveset(sp.diff(P, s), s, sp.Interval.open(low, high))
    except ComputationTimeout:
        return None
    if not isinstance(crit, sp.FiniteSet) and crit is not sp.S.EmptySet:
        return None
    inverse = (lambda v: sp.log(v / (1 - v))) if h.func is sigmoid else sp.atanh

    def x_of(v):
        return _tidy(sp.solve(sp.Eq(u, inverse(v)), X)[0])

    cands = [_exact_candidate(_tidy(P.subs(s, c)), True, sp.FiniteSet(x_of(c))) for c in crit]
    ends = [(low, "-oo" if slope.is_positive else "oo"), (high, "oo" if slope.is_positive else "-oo")]
    cands += [_exact_candidate(P.subs(s, v), False, where) for v, where in ends]
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
        zeros = ("vanishes in ", span, " exactly at t = ", _set_part(crit)) if crit else ("has no zero in ", span)
        proof.append(step("P′(t) = ", sp.diff(P, s).subs(s, t), " ", *zeros, " (solveset, complete); the ends t → ",
                          low, ", ", high, " (x → ±∞) give the limits ", P.subs(s, low), ", ", P.subs(s, high),
                          ", not attained."))
    return cands, proof


# ---------------------------------------------------------------- assembling a bound

def _choose(cands: list[_Candidate], sign: int, what: str) -> Extremum:
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
        ties = [c for c in ties if c.exact is not None and _same(c.exact, top.exact)] + \
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
            parts.append(_fmt_set(sp.Union(*exact_sets)))
            tex.append(tex_set(sp.Union(*exact_sets)))
        for c in numeric:
            parts.append("≈" + mpmath.nstr((c.at_lo + c.at_hi) / 2, 15))
            tex.append(r"\approx " + _tex_number(mpmath.nstr((c.at_lo + c.at_hi) / 2, 15)))
        if numeric:
            at_lo = _down(min(c.at_lo for c in numeric))
            at_hi = _up(max(c.at_hi for c in numeric))
        elif len(exact_sets) == 1 and isinstance(exact_sets[0], sp.FiniteSet) and len(exact_sets[0]) == 1:
            p = next(iter(exact_sets[0]))
            pl, ph = _enclose_exact(p)
            at_lo, at_hi = _down(pl), _up(ph)
        at = " ∪ ".join(parts)
        at_tex = r" \cup ".join(tex)
    else:
        wheres = sorted({str(c.where) for c in ties})
        at = "±oo" if wheres == ["-oo", "oo"] else ", ".join(wheres)
        at_tex = ", ".join(_where_tex(w) for w in ([at] if at == "±oo" else wheres))
    return Extremum(exact, _down(lo), _up(hi), bool(attained), at, at_lo, at_hi, at_tex)


def _describe_value(e: Extremum) -> tuple:
    """Proof parts: the value (exact, or its enclosure) and where it is attained or approached."""
    v = (part(e.exact) if e.exact is not None else
         Math(None, f"[{e.lower!r}, {e.upper!r}]", rf"[{e.lower!r},\allowbreak\ {e.upper!r}]"))
    where = Math(None, e.at, e.at_latex)
    return (v, " attained at ", where) if e.attained else (v, " approached at ", where, ", not attained")


def bound(act: Activation | str, of: str = "dphi", params: dict[str, float] | None = None,
          timeout: float = 10.0) -> Bound:
    r"""Proved :math:`\sup` and :math:`\inf` of :math:`\varphi'` (``of="dphi"``) or :math:`\varphi` (``"phi"``).

    ``act`` is a catalogue name, an :class:`~analytic.core.registry.Activation`, a formula in ``x`` or a SymPy
    expression in one free symbol (see :func:`~analytic.core.calculus.resolve`). ``params``
    override the defaults. SymPy steps run under ``timeout`` seconds each; when one runs out the certified
    interval route takes over and the proof says so. Raises :class:`~analytic.errors.BoundError` when neither
    route can prove a bound.

    >>> b = bound("gelu")
    >>> b.sup.at, round(b.sup.lower, 4)
    ('sqrt(2)', 1.1289)
    """
    canonical_text("of", of, ("dphi", "phi"))
    timeout = canonical_float("timeout", timeout, MIN_TIMEOUT, MAX_TIMEOUT)
    act = resolve(act, params)
    values = None if act.user_defined else params
    binding = act.bind(values)
    phi = act.formula(values)
    kinks = act.kink_points(values) if of == "dphi" else ()
    sup, inf, proof, method = _bound_formula(phi, of, kinks, float(timeout))
    jac = softmax_jacobian_bounds() if act.vector else None
    if jac is not None:
        proof = proof + (step("Full softmax Jacobian ", _J, ", for every n:"),) + jac.steps
    return Bound(act.name, of, sup, inf, proof, method, tuple(kinks), {str(k): v for k, v in binding.items()}, jac)


@functools.lru_cache(maxsize=256)
def _bound_formula(phi: sp.Expr, of: str, kinks: tuple, timeout: float):
    """(sup, inf, proof, method) for a formula with its parameters bound (cached: swish with β = 1 is SiLU)."""
    name = "φ′" if of == "dphi" else "φ"
    proof: list[Step] = []
    methods: set[str] = set()

    pieces = _piece_sets(phi)
    if of == "dphi":
        dphi_full = sp.diff(phi, X)
        proof.append(step("φ′(x) = ", part(dphi_full, _short(dphi_full, 200)), "."))
    sup_c: list[_Candidate] = []
    inf_c: list[_Candidate] = []

    # sigma / tanh substitution for smooth formulas (sigmoid, tanh, softmax)
    if len(pieces) == 1:
        g = sp.diff(phi, X) if of == "dphi" else phi
        sub = _substitution(g, of, timeout)
        if sub is not None:
            cands, steps = sub
            proof += steps
            methods.add("exact: monotone substitution")
            sup = _choose(cands, 1, "sup")
            inf = _choose(cands, -1, "inf")
            proof.append(step(f"So sup {name} = ", *_describe_value(sup), f"; inf {name} = ", *_describe_value(inf), "."))
            return _finish(sup, inf, proof, methods)

    if len(pieces) > 1:
        desc: list = []
        for e, s in pieces:
            g = sp.diff(e, X) if of == "dphi" else e
            desc += ["; "] * bool(desc) + [_set_part(_shown(s, of)), f": {name} = ", part(g, _short(g, 60))]
        proof.append(step("Split at the kinks: ", *desc, "."))
    for e, s in pieces:
        g = sp.diff(e, X) if of == "dphi" else e
        if isinstance(s, sp.FiniteSet):
            if of == "phi":
                for p in s:
                    c = _exact_candidate(g.subs(X, p), True, sp.FiniteSet(p))
                    sup_c.append(c), inf_c.append(c)
            continue
        if not isinstance(s, sp.Interval):
            raise BoundError(f"cannot handle the piece set {s}")
        a, b = s.start, s.end
        where_all = s if of == "phi" else sp.Interval.open(a, b)
        _check_continuous(e, s, "φ")
        if of == "dphi":
            _check_continuous(g, s, "φ′")
        if not g.has(X):
            c = _exact_candidate(g, True, where_all)
            sup_c.append(c), inf_c.append(c)
            proof.append(step("On ", _set_part(where_all), f", {name} = ", g, " is constant."))
            continue
        # ends of the piece
        lims = []
        for end, side, inf_end in ((a, "+", a is sp.S.NegativeInfinity), (b, "-", b is sp.oo)):
            if inf_end:
                direction = sp.oo if side == "-" else -sp.oo
                L = _limit(g, direction, LIMIT_SECONDS)
                c = _exact_candidate(L, False, "oo" if side == "-" else "-oo")
                lims.append((f"{name} → ", L, f" as x → {'∞' if side == '-' else '−∞'}"))
            else:
                L = _one_sided(g, end, side, LIMIT_SECONDS)
                included = of == "phi" and end in s
                c = _exact_candidate(L, included, sp.FiniteSet(end) if included else f"{end}{side}")
                lims.append((f"{name}(", Math(end, f"{end}{side}", _where_tex(f"{end}{side}")), ") = ", L)
                            + ((" (attained)",) if included else ()))
            sup_c.append(c), inf_c.append(c)

        crit = _critical_points(g, s, timeout)
        if not isinstance(crit, tuple):
            crit = _witnessed(g, s, crit, sup_c[-2:], name)
        if isinstance(crit, tuple):
            proof.append(step("On ", _set_part(_shown(s, of)), ": ", *crit,
                              "; certified route (interval branch and bound)."))
            methods.add("certified: interval branch-and-bound")
            try:
                with time_limit(CERTIFY_SECONDS, "certified route"):
                    sups, infs = _certified_piece(g, s, of, timeout, proof)
            except ComputationTimeout:
                raise BoundError(f"the certified route did not finish within {CERTIFY_SECONDS:g} s") from None
            sup_c += sups
            inf_c += infs
        else:
            methods.add("exact: critical points + limits")
            dn = "φ″" if of == "dphi" else "φ′"
            vals = []
            for p in crit:
                v = _tidy(g.subs(X, p))
                c = _exact_candidate(v, True, sp.FiniteSet(p))
                sup_c.append(c), inf_c.append(c)
                vals += [", "] * bool(vals) + [f"{name}(", p, ") = ", v]
            found = (Math(crit, "{" + _fmt_set(crit) + "}", r"\{" + tex_set(crit) + r"\}") if crit
                     else Math(crit, "∅", r"\emptyset"))
            proof.append(step("On ", _set_part(_shown(s, of)), f": {dn} = 0 has the complete solution set ", found,
                              " (solveset)", *(["; ", *vals, "."] if vals else ["."])))
        joined = [part for i, lim in enumerate(lims) for part in (("; ",) if i else ()) + lim]
        proof.append(step("Limits on ", _set_part(_shown(s, of)), ": ", *joined, " (Gruntz's algorithm / continuity)."))

    if of == "dphi":
        _differentiable_kinks(pieces, sup_c, inf_c, proof, LIMIT_SECONDS)
        for k in kinks:
            if not _smooth_at(pieces, k.at, LIMIT_SECONDS):
                proof.append(step("Kink at x = ", k.at, ": PyTorch's convention φ′(", k.at, ") = ", k.dphi,
                                  " is reported but does not count as attaining a bound (φ is not differentiable "
                                  "there)."))
            else:
                proof.append(step("At x = ", k.at, " the pieces join smoothly: φ′(", k.at, ") = ", k.dphi,
                                  " (PyTorch's value agrees)."))
    sup = _choose(sup_c, 1, "sup")
    inf = _choose(inf_c, -1, "inf")
    proof.append(step(f"Comparing all candidates: sup {name} = ", *_describe_value(sup), f"; inf {name} = ",
                      *_describe_value(inf), "."))
    return _finish(sup, inf, proof, methods)


def _shown(s: sp.Set, of: str) -> sp.Set:
    """The piece as the proof names it: its interior for φ′ (kinks excluded), the piece itself for φ."""
    if of == "dphi" and isinstance(s, sp.Interval):
        return sp.Interval.open(s.start, s.end)
    return s


def _finish(sup, inf, proof, methods) -> tuple:
    return sup, inf, tuple(proof), " + ".join(sorted(methods)) or "exact: critical points + limits"


def _neighbours(pieces, point):
    left = right = None
    for e, s in pieces:
        if isinstance(s, sp.Interval):
            if s.end == point:
                left = e
            if s.start == point:
                right = e
    return left, right


def _smooth_at(pieces, point, timeout) -> bool:
    left, right = _neighbours(pieces, point)
    if left is None or right is None:
        return False
    try:
        phi_ok = _same(_one_sided(left, point, "-", timeout), _one_sided(right, point, "+", timeout))
        d_ok = _same(_one_sided(sp.diff(left, X), point, "-", timeout),
                     _one_sided(sp.diff(right, X), point, "+", timeout))
    except BoundError:
        return False
    return phi_ok and d_ok


def _differentiable_kinks(pieces, sup_c, inf_c, proof, timeout) -> None:
    """Piece boundaries where φ is nevertheless differentiable (equal one-sided limits of φ and φ′; by the mean
    value theorem φ′ exists there and equals the common limit): the value there is attained."""
    points = sorted({s.end for _, s in pieces if isinstance(s, sp.Interval) and s.end.is_finite}, key=float)
    for p in points:
        if _smooth_at(pieces, p, timeout):
            left, _ = _neighbours(pieces, p)
            v = _one_sided(sp.diff(left, X), p, "-", timeout)
            c = _exact_candidate(v, True, sp.FiniteSet(p))
            sup_c.append(c), inf_c.append(c)
            proof.append(step("At x = ", p, ": φ and φ′ have equal one-sided limits, so φ is differentiable there "
                              "(mean value theorem) with φ′(", p, ") = ", v, ", attained."))


# ---------------------------------------------------------------- softmax Jacobian

_J = Math(None, "J = diag(s) − s sᵀ", r"J = \operatorname{diag}(s) - s s^{\top}")

def softmax_jacobian_bounds() -> SoftmaxJacobianBounds:
    r"""Bounds on :math:`J = \partial s/\partial z = \operatorname{diag}(s) - s s^\top`, for every size :math:`n \ge 2`.

    :math:`0 < J_{ii} \le 1/4` (attained iff :math:`s_i = 1/2`), :math:`-1/4 \le J_{ij} < 0` for :math:`i \ne j`
    (attained only for :math:`n = 2`), and :math:`\|J\|_2 \le 1/2` (attained for :math:`n = 2`).

    >>> softmax_jacobian_bounds().spectral_norm.exact
    1/2
    """
    q, h = sp.Rational(1, 4), sp.Rational(1, 2)
    diag = Extremum(q, 0.25, 0.25, True, "s_i = 1/2 (z_i = log Σ_{j≠i} e^{z_j})")
    off = Extremum(-q, -0.25, -0.25, True, "n = 2, z_1 = z_2 (for n ≥ 3 approached as s → (1/2, 1/2, 0, …))")
    norm = Extremum(h, 0.5, 0.5, True, "n = 2, z_1 = z_2 (for n ≥ 3 approached as s → (1/2, 1/2, 0, …))")
    M = Math
    proof = (
        step("For finite z and n ≥ 2, every ", M(None, "s_k = e^{z_k}/Σ_j e^{z_j}", r"s_k = e^{z_k}/\sum_j e^{z_j}"),
             " lies in (0, 1) and ", M(None, "Σ_k s_k = 1", r"\sum_k s_k = 1"), "."),
        step("Diagonal: ", M(None, "∂s_i/∂z_i = s_i(1−s_i) = 1/4 − (s_i−1/2)² ∈ (0, 1/4]",
                             r"\partial s_i/\partial z_i = s_i(1-s_i) = \tfrac14 - (s_i-\tfrac12)^2 \in (0, \tfrac14]"),
             ", = 1/4 iff s_i = 1/2, which happens when ",
             M(None, "z_i = log Σ_{j≠i} e^{z_j}", r"z_i = \log \sum_{j\ne i} e^{z_j}"), " (any n ≥ 2)."),
        step("Off-diagonal (i ≠ j): ", M(None, "∂s_i/∂z_j = −s_i s_j < 0", r"\partial s_i/\partial z_j = -s_i s_j < 0"),
             ", and ", M(None, "s_i s_j ≤ ((s_i+s_j)/2)² ≤ 1/4", r"s_i s_j \le ((s_i+s_j)/2)^2 \le \tfrac14"),
             " because ", M(None, "s_i + s_j ≤ 1", r"s_i + s_j \le 1"), "; equality needs ",
             M(None, "s_i = s_j = 1/2", r"s_i = s_j = \tfrac12"), ", so all other ", M(None, "s_k = 0", "s_k = 0"),
             ": possible only for n = 2 (", M(None, "z_1 = z_2", "z_1 = z_2"), "); for n ≥ 3 the value ",
             M(None, "−1/4", r"-\tfrac14"), " is approached, not attained."),
        step("Spectral norm: J is symmetric and positive semi-definite, since ",
             M(None, "vᵀJv = Σ s_k v_k² − (Σ s_k v_k)² ≥ 0", r"v^{\top}Jv = \sum s_k v_k^2 - (\sum s_k v_k)^2 \ge 0"),
             " (Jensen, weights ", M(None, "s_k", "s_k"), " summing to 1); so ",
             M(None, "‖J‖₂ = λ_max(J)", r"\|J\|_2 = \lambda_{\max}(J)"), "."),
        step("Gershgorin: row i has centre ", M(None, "s_i − s_i²", "s_i - s_i^2"), " and radius ",
             M(None, "Σ_{j≠i} s_i s_j = s_i(1 − s_i)", r"\sum_{j\ne i} s_i s_j = s_i(1 - s_i)"),
             ", so every eigenvalue is ", M(None, "≤ max_i 2 s_i(1−s_i) ≤ 2 · 1/4 = 1/2",
                                              r"\le \max_i 2 s_i(1-s_i) \le 2 \cdot \tfrac14 = \tfrac12"),
             ". Hence ", M(None, "‖J‖₂ ≤ 1/2", r"\|J\|_2 \le \tfrac12"), "."),
        step("Sharp: for n = 2 and ", M(None, "z_1 = z_2", "z_1 = z_2"), ", ",
             M(None, "J = [[1/4, −1/4], [−1/4, 1/4]]",
               r"J = \left(\begin{smallmatrix} 1/4 & -1/4 \\ -1/4 & 1/4 \end{smallmatrix}\right)"),
             " has eigenvalues 0 and 1/2; for n ≥ 3, ", M(None, "z = (t, t, 0, …, 0)", r"z = (t, t, 0, \dots, 0)"),
             " with t → ∞ gives ", M(None, "‖J‖₂ → 1/2", r"\|J\|_2 \to \tfrac12"), "."),
        step("Not attained for n ≥ 3: ", M(None, "vᵀJv", r"v^{\top}Jv"), " is the variance of v under the weights s, "
             "and by Popoviciu's inequality it is ",
             M(None, "≤ (max v − min v)²/4 ≤ (v_max² + v_min²)/2 ≤ 1/2",
               r"\le (\max v - \min v)^2/4 \le (v_{\max}^2 + v_{\min}^2)/2 \le \tfrac12"),
             " for ", M(None, "‖v‖ = 1", r"\|v\| = 1"), ", with equality only when s puts weight 1/2 "
             "on each of two coordinates and 0 on the others, impossible for finite z when n ≥ 3."),
    )
    return SoftmaxJacobianBounds(diag, off, norm, proof)
