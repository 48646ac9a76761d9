r"""The certified route: an interval branch and bound for the extrema of a function on one piece.

On a box :math:`[-R, R]` (or the piece's finite ends) the boxes are bounded by centred-form enclosures
:math:`g(m) + g'(B)(B - m)` and discarded when they cannot hold the extremum; the surviving clusters are
classified (monotone, or strictly concave with a sign change of :math:`g'`), and the extremum enclosed by
interval bisection on the sign of :math:`g'`. Outside the box a proved tail (:mod:`analytic.bounds.tails`) makes
the function monotone. The value's enclosure is at most :data:`TARGET_WIDTH` wide.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass

import mpmath
import sympy as sp

from ..core.registry import X
from ..errors import BoundError
from .candidates import Candidate
from .interval import IV_CONTEXT, IV_INF, MP_CONTEXT, PRECISION, IntervalFn, upper_end, lower_end, point_interval, compile_interval
from .notation import enclosure_math, number_math
from .proof import Step, step
from .tails import tail_sign

__all__ = ["TARGET_WIDTH"]

#: Widest enclosure of a certified extremum's value.
TARGET_WIDTH = 1e-12
#: Tail radii tried, in order, for the certified route.
RADII = (8, 16, 32, 64, 128)
#: Most boxes the branch-and-bound may examine per piece.
MAX_BOXES = 5000
#: Seconds allowed for the certified route on one piece of a user formula (catalogue entries have no deadline).
CERTIFY_SECONDS = 30.0
#: The branch and bound stops when every surviving box's upper bound is within this of the best value found;
#: the surviving clusters are then classified and the extremum enclosed by bisection on the sign of the slope.
ISOLATION_GAP = 1e-6
_NAIVE_WIDTH = 1e-2
_ARG_WIDTH = mpmath.mpf(2) ** -64


@dataclass(frozen=True)
class _Compiled:
    g: IntervalFn
    dg: IntervalFn
    d2g: IntervalFn

    def centred(self, a, b):
        """Enclosure of g on [a, b]: centred form g(m) + g'([a,b])([a,b] − m), intersected with the naive one."""
        box = IV_CONTEXT.mpf([a, b])
        m = (a + b) / 2
        gm = self.g(point_interval(m))
        cf = gm + self.dg(box) * (box - m)
        lo, hi = lower_end(cf), upper_end(cf)
        if b - a > _NAIVE_WIDTH:  # on wide boxes the naive enclosure can be the tighter one
            nv = self.g(box)
            lo, hi = max(lo, lower_end(nv)), min(hi, upper_end(nv))
        return lo, hi, gm



def _maximise_box(c: _Compiled, sign: int, lo, hi) -> tuple[list[tuple], object, int]:
    """Branch and bound for max of sign·g on [lo, hi]: the surviving boxes (a, b, upper), the best lower bound
    (a value of sign·g attained at a point) and the number of boxes examined."""
    def enclose(a, b):
        l, h, gm = c.centred(a, b)
        if sign < 0:
            l, h, gm = -h, -l, -gm
        return h, lower_end(gm)

    n0 = 16
    width = (hi - lo) / n0
    heap, best, examined = [], -IV_INF, 0
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
    slope = c.dg(IV_CONTEXT.mpf([a, b])) * sign
    if lower_end(slope) > 0:
        return "up", None
    if upper_end(slope) < 0:
        return "down", None
    d2 = c.d2g(IV_CONTEXT.mpf([a, b]))
    if not ((sign > 0 and upper_end(d2) < 0) or (sign < 0 and lower_end(d2) > 0)):
        return None, None

    def s(x):
        v = c.dg(point_interval(x)) * sign
        return 1 if lower_end(v) > 0 else (-1 if upper_end(v) < 0 else 0)

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



def certified_piece(g: sp.Expr, interval: sp.Interval, of: str,
                     proof: list[Step]) -> tuple[list[Candidate], list[Candidate]]:
    """Certified sup and inf candidates of g on one piece (finite ends are handled as limits by the caller)."""
    dg = sp.diff(g, X)
    d2g = sp.diff(dg, X)
    names = ("φ′", "φ″", "φ‴") if of == "dphi" else ("φ", "φ′", "φ″")
    try:
        comp = _Compiled(*(compile_interval(e, X, cse=True) for e in (g, dg, d2g)))
    except BoundError as exc:
        raise BoundError(f"interval evaluation is not available for {g}: {exc}") from None
    a, b = interval.start, interval.end
    lo_inf, hi_inf = a is sp.S.NegativeInfinity, b is sp.oo
    R, tails = _proved_tails(dg, a, b, names, proof) if (lo_inf or hi_inf) else (None, [])
    lo = MP_CONTEXT.mpf(-R) if lo_inf else MP_CONTEXT.mpf(str(sp.N(a, 40)))
    hi = MP_CONTEXT.mpf(R) if hi_inf else MP_CONTEXT.mpf(str(sp.N(b, 40)))
    sups, infs = (_box_extrema(comp, sign, lo, hi, R, tails, names, proof) for sign in (1, -1))
    return sups, infs


def _proved_tails(dg: sp.Expr, a: sp.Expr, b: sp.Expr, names: tuple, proof: list[Step]):
    """The first radius R of :data:`RADII` at which the sign of g′ is proved on each infinite end of (a, b), and
    the signs ``[(side, sign, reason)]``; one proof step per tail."""
    name, dname, _ = names
    lo_inf, hi_inf = a is sp.S.NegativeInfinity, b is sp.oo
    R, tails = None, []
    for r in RADII:
        if (not hi_inf or r > a) and (not lo_inf or -r < b):
            signs = [(side, *tail_sign(dg, side, r))
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
    return R, tails


def _box_extrema(comp: _Compiled, sign: int, lo, hi, R, tails: list, names: tuple,
                 proof: list[Step]) -> list[Candidate]:
    """Candidates for the max (sign = 1) or min (−1) of g inside the box [lo, hi], and the proof step saying how
    the branch and bound found them."""
    name, dname, d2name = names
    survivors, best, examined = _maximise_box(comp, sign, lo, hi)
    cands = [c for p, q, _ in _clusters(survivors)
             if (c := _cluster_candidate(comp, sign, p, q, lo, hi, R, tails, name)) is not None]
    kind = "max" if sign > 0 else "min"
    if cands:
        best_c = max(cands, key=lambda c: c.hi) if sign > 0 else min(cands, key=lambda c: c.lo)
        proof.append(step(
            f"Branch and bound for the {kind} of {name} on ", enclosure_math(lo, hi, 6),
            f" ({examined} boxes, centred-form interval enclosures) discards every box but those near x ≈ ",
            number_math(best_c.at_lo, 12), f"; there {d2name} {'< 0' if sign > 0 else '> 0'} on the remaining "
            f"boxes and {dname} changes sign, so the {kind} is the unique zero of {dname}, enclosed by interval "
            f"bisection in ", enclosure_math(best_c.at_lo, best_c.at_hi, 22), "; value in ",
            enclosure_math(best_c.lo, best_c.hi, 22), "."))
    else:
        proof.append(step(f"Branch and bound for the {kind} of {name} on ", enclosure_math(lo, hi, 6),
                          f" ({examined} boxes) finds no interior {kind}: it is approached at an end of the piece."))
    return cands


def _cluster_candidate(comp: _Compiled, sign: int, p, q, lo, hi, R, tails: list, name: str) -> Candidate | None:
    """The interior extremum in the cluster [p, q] of surviving boxes, enclosed to :data:`TARGET_WIDTH`; None when
    the cluster is monotone (its extreme is a limit at an end of the piece, a candidate of its own). Raises
    :class:`BoundError` when the cluster can be classified neither way."""
    at_lo, at_hi = p <= lo, q >= hi
    kind_, arg = _refine_argmax(comp, sign, p, q)
    if kind_ in ("up", "down") and not (at_lo or at_hi):
        return None  # monotone between pruned neighbours: its values stay below the best point found
    if (kind_ == "up" and at_hi) or (kind_ == "down" and at_lo):
        # increasing towards an end of the box: towards a piece end, the extreme over this cluster is the
        # one-sided limit there (a candidate of its own); towards ±R it continues into the tail only if
        # the tail is monotone the same way, and then it is the limit at infinity (also a candidate)
        edge_side = 1 if at_hi else -1
        tail = dict((side, s_) for side, s_, _ in tails)
        if edge_side in tail and tail[edge_side] * sign * edge_side < 0:
            raise BoundError(f"the {('max' if sign > 0 else 'min')} of {name} sits at the edge of the box "
                             f"±{R}; no proof")
        return None
    if kind_ != "max":
        raise BoundError(f"could not isolate the extremum of {name} near [{mpmath.nstr(p, 8)}, "
                         f"{mpmath.nstr(q, 8)}] (neither monotone nor strictly concave there)")
    ca, cb = arg
    v = comp.g(IV_CONTEXT.mpf([ca, cb]))
    vlo, vhi = lower_end(v), upper_end(v)
    if vhi - vlo > TARGET_WIDTH:
        raise BoundError(f"enclosure of the extremum of {name} is {mpmath.nstr(vhi - vlo, 3)} wide")
    return Candidate(None, vlo, vhi, True, None, ca, cb)
