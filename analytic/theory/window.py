r"""The textbook window question (Nielsen, "Neural Networks and Deep Learning", ch. 5, problem): for which inputs
a does :math:`|w\,\varphi'(w a + b)| \ge 1` hold, and which weight magnitude makes that set widest?

With :math:`x = w a + b` and :math:`t = 1/|w|` the set is :math:`A = (S_t - b)/w`, :math:`S_t = \{x : |\varphi'(x)|
\ge t\}`, and its width is :math:`|S_t|/|w|` (b only shifts it). :math:`S_t` is found piece by piece of φ′ (between
kinks; a kink itself is a single point and does not change the width):

* **exact** — a constant piece is in or out; when :math:`\varphi' = P(h(u))` with h = σ or tanh, u linear in x and
  P a polynomial, the equations :math:`P(s) = \pm t` are solved exactly over h's range and mapped back through the
  monotone bijection :math:`s = h(u)` (sigmoid: :math:`s(1-s) \ge t \iff s \in [(1 - \sqrt{1-4t})/2,
  (1 + \sqrt{1-4t})/2]`); otherwise ``solveset`` of :math:`\varphi' = \pm t` over the piece, accepted only as a
  complete finite set. Between consecutive roots the side is decided by interval evaluation at one point.
* **certified** — otherwise interval bisection (:func:`analytic.bounds.compile_interval`, outward rounding) over
  :math:`[-R, R]`: a box is in when the enclosure of :math:`|\varphi'|` lies above t, out when below; the rest is
  split down to width :data:`ENDPOINT_WIDTH`, and each run of undecided boxes encloses an endpoint. Outside
  :math:`[-R, R]` the sign of :math:`\pm\varphi' - t` is proved by the tails of :mod:`analytic.bounds`.

The widest window's w is a numerical maximiser (bounded scalar search on a float evaluation of the width); the
width there is then computed by the proved route.

>>> from analytic.theory.window import window
>>> round(window("sigmoid", 6.9).width, 4)
0.4477
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..core.display import displayable, with_model
from ..bounds.interval import IV_CONTEXT, upper_end, lower_end, point_interval, compile_interval
from ..bounds.pieces import piece_sets
from ..bounds.tails import tail_sign
from ..core.special import sigmoid
from ..core.calculus import derivative, numpy_function, resolve
from ..errors import AnalyticError, ArgumentError, BoundError, ComputationTimeout, canonical_float, within
from ..core.registry import X, Activation, BoundActivation

#: Widest enclosure of a certified endpoint.
ENDPOINT_WIDTH = 1e-12
#: Box radii tried for the certified route.
RADII = (8, 16, 32, 64)
#: Seconds for solveset on a user formula (catalogue entries have no deadline).
SOLVE_SECONDS = 5.0
#: Most boxes the certified route may examine on one piece.
MAX_BOXES = 20000

#: Largest :math:`|w|` and :math:`|b|` :func:`window` accepts.
MAX_WEIGHT = 1e6


@dataclass(frozen=True)
class Endpoint:
    """An endpoint of an interval of the window: a float, an enclosure [lower, upper] and the exact value as text
    (None when certified only); ±inf for an unbounded side."""

    value: float
    lower: float
    upper: float
    exact: str | None

    def as_dict(self) -> dict:
        """JSON-ready form: ``value``, ``lower``, ``upper``, ``exact``."""
        return {"value": self.value, "lower": self.lower, "upper": self.upper, "exact": self.exact}

    def mapped(self, w: float, b: float) -> "Endpoint":
        """The endpoint x mapped to a = (x - b)/w (the enclosure flips when w < 0)."""
        lo, hi = sorted(((self.lower - b) / w, (self.upper - b) / w))
        ex = None if self.exact is None else str((sp.sympify(self.exact) - sp.Rational(repr(b))) /
                                                 sp.Rational(repr(w)))
        return Endpoint((self.value - b) / w, lo, hi, ex)


def _exact_point(e: sp.Expr) -> Endpoint:
    if e in (sp.oo, -sp.oo):
        v = float(e)
        return Endpoint(v, v, v, str(e))
    v = float(sp.N(e, 30))
    return Endpoint(v, math.nextafter(v, -math.inf), math.nextafter(v, math.inf), str(e))


@displayable(title=lambda w: f"proved window of {w.activation}: where |w phi'(w a + b)| >= 1 (one neuron)",
             name="ProvedWindow", headline=(("act", lambda w: w.activation), "w", "b", "width"),
             summary=with_model("one neuron, proved"))
@dataclass(frozen=True)
class Window:
    r"""The set of a with :math:`|w\,\varphi'(w a + b)| \ge 1` as disjoint intervals, its width (``inf`` when
    unbounded) with a proved enclosure [``width_lower``, ``width_upper``], the method and the proof steps."""

    activation: str
    w: float
    b: float
    intervals: tuple[tuple[Endpoint, Endpoint], ...]
    width: float
    width_lower: float
    width_upper: float
    method: str
    proof: tuple[str, ...]

    def as_dict(self) -> dict:
        """JSON-ready form: ``intervals`` (list of {``lower``, ``upper``}: endpoints), ``width``, ``width_lower``,
        ``width_upper``, ``w``, ``b``, ``method``, ``proof``."""
        return {"activation": self.activation, "w": self.w, "b": self.b,
                "intervals": [{"lower": lo.as_dict(), "upper": hi.as_dict()} for lo, hi in self.intervals],
                "width": self.width, "width_lower": self.width_lower, "width_upper": self.width_upper,
                "method": self.method, "proof": list(self.proof)}


# ---------------------------------------------------------------- exact roots

def _substitution_roots(e: sp.Expr, t: sp.Expr) -> list[sp.Expr] | None:
    """Roots of e = ±t when e = P(h(u)), h ∈ {σ, tanh}, u linear in x, P polynomial; None if not of that form."""
    e = e.replace(lambda v: v.is_Pow and isinstance(v.base, sp.cosh) and v.exp == -2,
                  lambda v: 1 - sp.tanh(v.base.args[0]) ** 2)  # tanh' = sech^2 = 1 - tanh^2
    atoms = e.atoms(sigmoid) | e.atoms(sp.tanh)
    if len(atoms) != 1 or e.atoms(sp.cosh) or e.atoms(sp.sinh):
        return None
    h = atoms.pop()
    u = h.args[0]
    slope = sp.diff(u, X)
    if slope.has(X) or not slope.is_nonzero:
        return None
    s = sp.Dummy("s", real=True)
    P = sp.expand(e.subs(h, s))
    if P.has(X) or not P.is_polynomial(s) or P.free_symbols - {s}:
        return None
    low, high = (sp.S.Zero, sp.S.One) if h.func is sigmoid else (-sp.S.One, sp.S.One)
    inverse = (lambda v: sp.log(v / (1 - v))) if h.func is sigmoid else sp.atanh
    roots = []
    for rhs in (t, -t):
        sol = sp.solveset(P - rhs, s, sp.Interval.open(low, high))
        if not isinstance(sol, sp.FiniteSet) and sol is not sp.S.EmptySet:
            return None
        roots += [sp.solve(sp.Eq(u, inverse(r)), X)[0] for r in sol]
    return roots


def _solved(e: sp.Expr, t: sp.Expr, piece: sp.Interval) -> list[sp.Expr] | None:
    roots = []
    for rhs in (t, -t):
        sol = sp.solveset(e - rhs, X, piece)
        if not isinstance(sol, sp.FiniteSet) and sol is not sp.S.EmptySet:
            return None
        roots += list(sol)
    return roots


def _exact_roots(e: sp.Expr, t: sp.Expr, piece: sp.Interval, seconds: float | None) -> list[sp.Expr] | None:
    roots = _substitution_roots(e, t)
    if roots is None:
        if any(not isinstance(f, (sp.exp, sp.log)) for f in e.atoms(sp.Function)):
            return None
        try:
            roots = within(seconds, "solveset", _solved, e, t, piece)
        except (ComputationTimeout, NotImplementedError, TypeError, ValueError):
            return None
        if roots is None:
            return None
    out = []
    for r in roots:
        if not (r.is_real and r.is_finite):
            return None
        if piece.contains(r) is sp.true:
            out.append(r)
    return sorted(set(out), key=lambda r: float(sp.N(r, 30)))


def _inside_at(e: sp.Expr, t: float, x: float) -> bool:
    """|e(x)| ≥ t at one point, decided by interval arithmetic (raises BoundError when undecided)."""
    v = compile_interval(e)(point_interval(x))
    lo, hi = lower_end(v), upper_end(v)
    if lo >= t or hi <= -t:
        return True
    if -t < lo and hi < t:
        return False
    raise BoundError(f"cannot decide |phi'({x:g})| >= {t:g}")


def _exact_piece(e: sp.Expr, t: sp.Expr, tf: float, piece: sp.Interval, roots: list[sp.Expr]) -> list:
    """The closed pieces of {|e| >= t} on ``piece``: the runs between consecutive roots where |e| > t, and every
    root that no such run reaches as a single point [r, r] (there |e| = t exactly: a tangency, e.g. the maximum of
    |phi'| equal to t)."""
    pts = [piece.start] + roots + [piece.end]
    out = []
    for a, b in zip(pts[:-1], pts[1:]):
        fa, fb = float(sp.N(a, 30)), float(sp.N(b, 30))
        mid = fa + 1 if fb == math.inf and fa != -math.inf else fb - 1 if fa == -math.inf and fb != math.inf \
            else 0.0 if fa == -math.inf else (fa + fb) / 2
        if a == b or _inside_at(e, tf, mid):  # a == b: a root at the piece's end, |e| = t there
            out.append((_exact_point(a), _exact_point(b)))
    touched = {p for run in out for p in (run[0].exact, run[1].exact)}
    out += [(_exact_point(r), _exact_point(r)) for r in roots if str(r) not in touched]
    return sorted(out, key=lambda run: run[0].value)


# ---------------------------------------------------------------- certified route

def _end(x: float) -> Endpoint:
    return _exact_point(sp.oo if x == math.inf else -sp.oo) if math.isinf(x) else Endpoint(x, x, x, None)


def _classify_box(f, tf: float, a: float, b: float) -> int:
    """+1 in, -1 out, 0 undecided."""
    v = f(IV_CONTEXT.mpf([a, b]))
    lo, hi = lower_end(v), upper_end(v)  # compared as mpf: float() would round the enclosure to nearest, not outward
    if lo >= tf or hi <= -tf:
        return 1
    if -tf < lo and hi < tf:
        return -1
    return 0


def _tail_in(e: sp.Expr, tf: float, side: int, R: float) -> int | None:
    """+1: every x beyond side·R is in; -1: none is; None: not settled."""
    t = sp.nsimplify(tf, rational=True)
    s_plus, _ = tail_sign(e - t, side, R)
    s_minus, _ = tail_sign(-e - t, side, R)
    if s_plus > 0 or s_minus > 0:
        return 1
    if s_plus < 0 and s_minus < 0:
        return -1
    return None


def certified_piece(e: sp.Expr, tf: float, lo: float, hi: float) -> tuple[list, list[str]]:
    f = compile_interval(e, cse=True)
    for R in RADII:
        left = -1 if lo > -R else _tail_in(e, tf, -1, R)
        right = -1 if hi < R else _tail_in(e, tf, 1, R)
        if left is not None and right is not None:
            break
    else:
        raise BoundError(f"the tails of |phi'| - {tf:g} are not settled up to |x| = {RADII[-1]}")
    a0, b0 = max(lo, -R), min(hi, R)
    stack, boxes, count = [(a0, b0)], [], 0
    while stack:
        a, b = stack.pop()
        count += 1
        if count > MAX_BOXES:
            raise BoundError(f"the certified route needs more than {MAX_BOXES} boxes")
        c = _classify_box(f, tf, a, b)
        if c or b - a <= ENDPOINT_WIDTH * max(1.0, abs(a)):
            boxes.append((a, b, c))
        else:
            m = (a + b) / 2
            stack += [(m, b), (a, m)]
    boxes.sort()
    # runs: consecutive boxes with the same class (0 = undecided, an endpoint's enclosure)
    runs = []
    for a, b, c in boxes:
        if runs and runs[-1][2] == c:
            runs[-1][1] = b
        else:
            runs.append([a, b, c])
    if lo < a0:
        runs.insert(0, [-math.inf if left > 0 else lo, a0, left])
    if hi > b0:
        runs.append([b0, math.inf if right > 0 else hi, right])
    for i, (a, b, c) in enumerate(runs):
        if c == 0 and all(j < 0 or j >= len(runs) or runs[j][2] != 1 for j in (i - 1, i + 1)):
            raise BoundError(f"|phi'| is within rounding of {tf:.17g} on [{a:.17g}, {b:.17g}] with smaller values on "
                             "both sides: whether it reaches that level there (a tangency) is not decided")
    out, start = [], None
    for i, (a, b, c) in enumerate(runs):
        if c == 1 and start is None:
            prev = runs[i - 1] if i else None
            start = _end(a) if prev is None or prev[2] != 0 else Endpoint((prev[0] + prev[1]) / 2,
                                                                                          prev[0], prev[1], None)
        if c != 1 and start is not None:
            end = _end(a) if c != 0 else Endpoint((a + b) / 2, a, b, None)
            out.append((start, end))
            start = None
    if start is not None:
        b = runs[-1][1]
        out.append((start, _end(b)))
    steps = [f"interval bisection of |phi'| against {tf:.12g} over [{a0:g}, {b0:g}] ({count} boxes, endpoints "
             f"enclosed to {ENDPOINT_WIDTH:g}); tails beyond |x| = {R:g} proved "
             f"{'inside' if left > 0 else 'outside'} (left), {'inside' if right > 0 else 'outside'} (right)"]
    return out, steps


# ---------------------------------------------------------------- assembling

def _merge(parts: list) -> list:
    """Join intervals that touch (across a kink, a single point)."""
    parts = sorted(parts, key=lambda p: p[0].value)
    out = []
    for lo, hi in parts:
        if out and lo.lower <= out[-1][1].upper:
            if hi.value > out[-1][1].value:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


@functools.lru_cache(maxsize=1024)
def _level_set(act: BoundActivation, w_abs: float) -> tuple[tuple, str, tuple[str, ...]]:
    d = derivative(act, 1)
    t = 1 / sp.Rational(repr(w_abs))
    tf = float(t)
    shown = str(t) if len(str(t)) <= 30 else f"{tf:.12g}"
    parts, methods, proof = [], set(), []
    for e, piece in piece_sets(d):
        if not isinstance(piece, sp.Interval):
            continue  # a single point (a kink): no width
        if not e.has(X):
            if abs(float(e)) >= tf:
                parts.append((_exact_point(piece.start), _exact_point(piece.end)))
            methods.add("exact")
            proof.append(f"on {piece}: phi' = {e} is constant, {'>=' if abs(float(e)) >= tf else '<'} {shown} in size")
            continue
        roots = _exact_roots(e, t, piece, SOLVE_SECONDS if act.user_defined else None)
        if roots is not None:
            parts += _exact_piece(e, t, tf, piece, roots)
            methods.add("exact")
            proof.append(f"on {piece}: |phi'| = {shown} exactly at x in {{{', '.join(map(str, roots))}}}; the side "
                         "between consecutive roots by interval evaluation at one point; a root with |phi'| < "
                         f"{shown} on both sides is kept as a single point (the set is closed)")
            continue
        got, steps = certified_piece(e, tf, float(piece.start), float(piece.end))
        parts += got
        methods.add("certified")
        proof += [f"on {piece}: " + s for s in steps]
    method = "exact" if methods <= {"exact"} else "certified"
    return tuple(_merge(parts)), method, tuple(proof)


def _width(intervals) -> tuple[float, float, float]:
    if any(math.isinf(lo.value) or math.isinf(hi.value) for lo, hi in intervals):
        return math.inf, math.inf, math.inf
    mid = lower = upper = 0.0
    for lo, hi in intervals:
        mid += hi.value - lo.value
        lower += max(0.0, hi.lower - lo.upper)
        upper += hi.upper - lo.lower
    return mid, lower, upper


def window(act: Activation | str, w: float, b: float = 0.0, params: dict | None = None) -> Window:
    r"""The set of inputs a with :math:`|w\,\varphi'(w a + b)| \ge 1` (proved: exact endpoints or certified
    enclosures) and its width.

    >>> window("relu", 2.0).intervals[0][0].exact
    '0'
    """
    w, b = canonical_float("w", w, -MAX_WEIGHT, MAX_WEIGHT), canonical_float("b", b, -MAX_WEIGHT, MAX_WEIGHT)
    if w == 0:
        raise ArgumentError("w must be non-zero, got 0")
    act = resolve(act, params)
    xs, method, proof = _level_set(act, abs(w))
    mapped = [(lo.mapped(w, b), hi.mapped(w, b)) if w > 0 else (hi.mapped(w, b), lo.mapped(w, b)) for lo, hi in xs]
    mid, lower, upper = _width(mapped)
    proof = (f"x = w a + b: |w phi'(x)| >= 1 iff |phi'(x)| >= 1/|w| = {1 / abs(w):.12g}; a = (x - b)/w",) + proof
    return Window(act.name, w, b, tuple(mapped), mid, lower, upper, method, proof)


# ---------------------------------------------------------------- the widest window

@displayable(title=lambda w: f"widest proved window of {w.activation} (one neuron)", name="ProvedWidestWindow",
             headline=(("act", lambda w: w.activation), "w", "width"), summary=with_model("one neuron, proved"))
@dataclass(frozen=True)
class WidestWindow:
    """The weight magnitude w maximising the window's width (a numerical maximiser) and the window there."""

    activation: str
    w: float
    width: float
    window: Window | None
    note: str

    def as_dict(self) -> dict:
        """JSON-ready form: ``w``, ``width``, ``window``, ``note``."""
        return {"activation": self.activation, "w": self.w, "width": self.width,
                "window": None if self.window is None else self.window.as_dict(), "note": self.note}


def _float_width(act: BoundActivation, w: float) -> float:
    """Width of the window at w from a float scan of |phi'| on [-80, 80] (for the search only)."""
    d = numpy_function(act, 1)
    xs = np.linspace(-80, 80, 160001)
    inside = np.abs(d(xs)) * w >= 1
    if inside[0] or inside[-1]:
        return math.inf
    return float(np.count_nonzero(inside) * (xs[1] - xs[0]) / w)


def widest_window(act: Activation | str, params: dict | None = None) -> WidestWindow:
    r"""The :math:`|w|` that maximises the width of :math:`\{a : |w\,\varphi'(w a)| \ge 1\}`, and that width.

    >>> round(widest_window("sigmoid").w, 1)
    6.9
    """
    from scipy.optimize import minimize_scalar

    act = resolve(act, params)
    ws = np.logspace(-3, 4, 141)
    widths = np.array([_float_width(act, float(w)) for w in ws])
    how = "a float scan"
    for i in np.nonzero(np.isinf(widths))[0]:  # the scan reached its edge: the proved route decides
        try:
            widths[i] = window(act, float(ws[i]), 0.0).width
        except AnalyticError:
            break
        if math.isinf(widths[i]):  # S_t grows as t = 1/|w| falls: unbounded from here on
            how = "proved there; the set grows with |w|"
            break
    if np.any(np.isinf(widths)):
        w0 = float(ws[np.argmax(np.isinf(widths))])
        return WidestWindow(act.name, w0, math.inf, None, f"the window is unbounded from |w| = {w0:.4g} on "
                                                         f"({how}), so there is no widest finite one")
    if not np.any(widths > 0):
        return WidestWindow(act.name, math.nan, 0.0, None, "|w phi'| < 1 everywhere for every w on the scan")
    i = int(np.argmax(widths))
    lo, hi = math.log(ws[max(i - 1, 0)]), math.log(ws[min(i + 1, len(ws) - 1)])
    res = minimize_scalar(lambda s: -_smooth_width(act, math.exp(s)), bounds=(lo, hi), method="bounded",
                          options={"xatol": 1e-10})
    w = float(math.exp(res.x))
    win = window(act, w, 0.0)
    note = ("w is a numerical maximiser (bounded scalar search on the width); the width at that w is "
            f"{win.method} ({', '.join(win.proof[:1])})")
    edge = _edge_weight(act)
    if edge is not None:
        at_edge = window(act, edge[0], 0.0)
        if at_edge.width >= win.width:
            note = (f"|w| = {edge[1]}: the smallest |w| with a non-empty window, where |w| max|phi'| = 1 exactly "
                    f"(max|phi'| = {edge[2]}, proved and attained); its width {at_edge.width:.15g} ({at_edge.method}) "
                    f"is no less than {win.width:.15g} at the numerical maximiser w = {w:.12g} (bounded scalar "
                    "search), so the widest window sits on this boundary")
            w, win = edge[0], at_edge
    return WidestWindow(act.name, w, win.width, win, note)


def _edge_weight(act: BoundActivation) -> tuple[float, str, str] | None:
    r"""The weight :math:`|w| = 1/\max|\varphi'|` where the window first becomes non-empty, when the proved
    maximum of :math:`|\varphi'|` is exact, attained and its reciprocal is a float exactly (so the window there is
    computed at that very w): (w, w as text, the maximum as text); else None."""
    from ..bounds import bound

    try:
        bd = bound(act)
    except AnalyticError:
        return None
    ends = [(bd.sup.exact, bd.sup.attained), (None if bd.inf.exact is None else -bd.inf.exact, bd.inf.attained)]
    if any(e is None for e, _ in ends):
        return None
    top = max(ends, key=lambda e: float(sp.N(e[0], 30)))
    if not (top[1] and top[0].is_positive and top[0].is_finite):
        return None
    inv = sp.nsimplify(1 / top[0])
    if not inv.is_Rational or sp.Rational(repr(float(inv))) != inv:
        return None
    return float(inv), str(inv), str(top[0])


def _smooth_width(act: BoundActivation, w: float) -> float:
    try:
        xs, _, _ = _level_set(act, w)
    except AnalyticError:
        return _float_width(act, w)
    return _width(xs)[0] / w
