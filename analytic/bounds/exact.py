r"""The exact route and :func:`bound`, which runs the routes in order and assembles the proof.

The formula is split at its kinks; on each smooth piece the critical points (zeros of :math:`\varphi''`) are found
by ``solveset`` over the piece's open interval and accepted only as a complete ``FiniteSet``; the candidates are
the values at these points, the one-sided limits at the kinks and the limits at :math:`\pm\infty` (Gruntz's
algorithm). A polynomial in :math:`\sigma(u)` or :math:`\tanh u` goes by monotone substitution
(:mod:`analytic.bounds.substitution`); a piece whose critical points SymPy cannot settle goes to the certified
route (:mod:`analytic.bounds.certified`).

No clock decides a catalogue entry's bound: every SymPy step runs to its end, so the route, the value and the
proof text are the same on a busy machine and an idle one. Only a user formula's steps have deadlines
(:mod:`analytic.bounds.pieces`).
"""
from __future__ import annotations

import dataclasses
import functools

import mpmath
import sympy as sp

from ..core.calculus import resolve
from ..core.registry import X, Activation
from ..errors import BoundError, ComputationTimeout, canonical_float, canonical_text, within
from .candidates import Candidate, choose_extremum, describe_value, exact_candidate, same_value
from .certified import CERTIFY_SECONDS, certified_piece
from .interval import MP_CONTEXT
from .notation import format_set, set_part, short_text, where_tex
from .pieces import (check_continuous, critical_points_of, one_limit, one_sided_limits, piece_sets, tidy_value,
                     witnessed)
from .proof import Math, Step, step, tex_set
from .proof import math as part
from .result import Bound
from .softmax import SOFTMAX_JACOBIAN, softmax_jacobian_bounds
from .substitution import substitution_bound

__all__ = ["bound"]

#: Range of the ``timeout`` of :func:`bound` (seconds ``solveset`` may spend on a user formula's critical points).
MIN_TIMEOUT, MAX_TIMEOUT = 1e-4, 3600.0


def bound(act: Activation | str, of: str = "dphi", params: dict[str, float] | None = None,
          timeout: float = 10.0) -> Bound:
    r"""Proved :math:`\sup` and :math:`\inf` of :math:`\varphi'` (``of="dphi"``) or :math:`\varphi` (``"phi"``).

    ``act`` is a catalogue name, an :class:`~analytic.core.registry.Activation`, a formula in ``x`` or a SymPy
    expression in one free symbol (see :func:`~analytic.core.calculus.resolve`). ``params``
    override the defaults. Raises :class:`~analytic.errors.BoundError` when neither route can prove a bound.

    A catalogue entry's bound takes no deadline (``timeout`` is checked, then ignored): the same SymPy steps run to
    their end, so the result and its proof never depend on the machine's load. For a user formula ``timeout`` is the
    time ``solveset`` may spend on the critical points of a piece before the certified interval route takes over
    (the proof says so); its other SymPy steps have :data:`~analytic.bounds.pieces.LIMIT_SECONDS` each and the
    certified route :data:`~analytic.bounds.certified.CERTIFY_SECONDS`, and one that runs out refuses the
    formula with :class:`~analytic.errors.ComputationTimeout`.

    >>> b = bound("gelu")
    >>> b.sup.at, round(b.sup.lower, 4)
    ('sqrt(2)', 1.1289)
    """
    canonical_text("of", of, ("dphi", "phi"))
    timeout = canonical_float("timeout", timeout, MIN_TIMEOUT, MAX_TIMEOUT)
    act = resolve(act, params)
    kinks = act.kinks if of == "dphi" else ()
    sup, inf, proof, method = _bound_formula(act.expr, of, kinks, float(timeout) if act.user_defined else None)
    jac = softmax_jacobian_bounds() if act.vector else None
    if jac is not None:
        proof = proof + (step("Full softmax Jacobian ", SOFTMAX_JACOBIAN, ", for every n:"),) + jac.steps
    return Bound(act.name, of, sup, inf, proof, method, tuple(kinks), act.params, jac)



@functools.lru_cache(maxsize=256)
def _bound_formula(phi: sp.Expr, of: str, kinks: tuple, timeout: float | None):
    """(sup, inf, proof, method) for a formula with its parameters bound (cached: swish with β = 1 is SiLU).

    The steps: φ′ itself; the monotone substitution when it applies (a proof on its own); otherwise the split at
    the kinks, the candidates of each piece (:func:`_piece_candidates`), the kinks, and the comparison."""
    name = "φ′" if of == "dphi" else "φ"
    proof: list[Step] = []
    pieces = piece_sets(phi)
    if of == "dphi":
        dphi_full = sp.diff(phi, X)
        proof.append(step("φ′(x) = ", part(dphi_full, short_text(dphi_full, 200)), "."))
    if len(pieces) == 1:
        try:
            sub = substitution_bound(sp.diff(phi, X) if of == "dphi" else phi, of, timeout)
        except ComputationTimeout:
            sub = None
            proof.append(step(f"Monotone substitution: SymPy could not settle the zeros of P′ within {timeout:g} s; "
                              "the general route follows."))
        if sub is not None:
            cands, steps = sub
            proof += steps
            return _conclude(cands, cands, name, "So ", proof, {"exact: monotone substitution"})
    if len(pieces) > 1:
        proof.append(_split_step(pieces, of, name))
    sup_c: list[Candidate] = []
    inf_c: list[Candidate] = []
    methods: set[str] = set()
    for e, s in pieces:
        sups, infs = _piece_candidates(e, s, of, name, timeout, proof, methods)
        sup_c += sups
        inf_c += infs
    if of == "dphi":
        _kink_steps(pieces, kinks, sup_c, inf_c, proof, timeout)
    return _conclude(sup_c, inf_c, name, "Comparing all candidates: ", proof, methods)


def _conclude(sup_c: list[Candidate], inf_c: list[Candidate], name: str, lead: str, proof: list[Step],
              methods: set[str]) -> tuple:
    """Choose the sup and inf among the candidates, state them as the last step; (sup, inf, proof, method)."""
    sup = choose_extremum(sup_c, 1, "sup")
    inf = choose_extremum(inf_c, -1, "inf")
    proof.append(step(f"{lead}sup {name} = ", *describe_value(sup), f"; inf {name} = ", *describe_value(inf), "."))
    return sup, inf, tuple(proof), " + ".join(sorted(methods)) or "exact: critical points + limits"


def _bounded(e: sp.Expr, of: str) -> sp.Expr:
    """The function bounded on a piece whose formula is ``e``: e′ for φ′, e itself for φ."""
    return sp.diff(e, X) if of == "dphi" else e


def _split_step(pieces: list, of: str, name: str) -> Step:
    """The step naming each piece and the function bounded on it."""
    desc: list = []
    for e, s in pieces:
        g = _bounded(e, of)
        desc += ["; "] * bool(desc) + [set_part(_shown(s, of)), f": {name} = ", part(g, short_text(g, 60))]
    return step("Split at the kinks: ", *desc, ".")


def _piece_candidates(e: sp.Expr, s: sp.Set, of: str, name: str, timeout: float | None, proof: list[Step],
                      methods: set[str]) -> tuple[list[Candidate], list[Candidate]]:
    """The sup and the inf candidates of one piece with formula ``e`` on the set ``s``: its isolated points (for φ),
    or its constant value, or the limits at its ends and its interior extrema (exact or certified)."""
    g = _bounded(e, of)
    if isinstance(s, sp.FiniteSet):
        points = [exact_candidate(g.subs(X, p), True, sp.FiniteSet(p)) for p in s] if of == "phi" else []
        return points, list(points)
    if not isinstance(s, sp.Interval):
        raise BoundError(f"cannot handle the piece set {s}")
    where_all = s if of == "phi" else sp.Interval.open(s.start, s.end)
    check_continuous(e, s, "φ", timeout)
    if of == "dphi":
        check_continuous(g, s, "φ′", timeout)
    if not g.has(X):
        c = exact_candidate(g, True, where_all)
        proof.append(step("On ", set_part(where_all), f", {name} = ", g, " is constant."))
        return [c], [c]
    ends, lims = _end_limits(g, s, of, name, timeout)
    crit = critical_points_of(g, s, timeout)
    if not isinstance(crit, tuple):
        crit = witnessed(g, s, crit, ends, name, timeout)
    if isinstance(crit, tuple):
        sups, infs = _certified_candidates(g, s, of, crit, timeout, proof, methods)
    else:
        sups = infs = _exact_interior(g, s, of, name, crit, proof, methods, timeout)
    joined = [p for i, lim in enumerate(lims) for p in (("; ",) if i else ()) + lim]
    proof.append(step("Limits on ", set_part(_shown(s, of)), ": ", *joined, " (Gruntz's algorithm / continuity)."))
    return ends + sups, ends + infs


def _end_limits(g: sp.Expr, s: sp.Interval, of: str, name: str,
                timeout: float | None) -> tuple[list[Candidate], list[tuple]]:
    """The candidates at the two ends of the piece (limits at ±∞, one-sided limits or, for φ, values at included
    ends) and the proof parts stating each."""
    a, b = s.start, s.end
    cands, lims = [], []
    for end, side, inf_end in ((a, "+", a is sp.S.NegativeInfinity), (b, "-", b is sp.oo)):
        if inf_end:
            direction = sp.oo if side == "-" else -sp.oo
            L = one_limit(g, direction, timeout)
            c = exact_candidate(L, False, "oo" if side == "-" else "-oo")
            lims.append((f"{name} → ", L, f" as x → {'∞' if side == '-' else '−∞'}"))
        else:
            L = one_sided_limits(g, end, side, timeout)
            included = of == "phi" and end in s
            c = exact_candidate(L, included, sp.FiniteSet(end) if included else f"{end}{side}")
            lims.append((f"{name}(", Math(end, f"{end}{side}", where_tex(f"{end}{side}")), ") = ", L)
                        + ((" (attained)",) if included else ()))
        cands.append(c)
    return cands, lims


def _certified_candidates(g: sp.Expr, s: sp.Interval, of: str, why: tuple, timeout: float | None,
                          proof: list[Step], methods: set[str]) -> tuple[list[Candidate], list[Candidate]]:
    """The interior sup and inf candidates by the certified route, after the step saying why SymPy's answer was not
    used (for a user formula in a worker under :data:`CERTIFY_SECONDS`)."""
    proof.append(step("On ", set_part(_shown(s, of)), ": ", *why, "; certified route (interval branch and bound)."))
    methods.add("certified: interval branch-and-bound")
    seconds = None if timeout is None else CERTIFY_SECONDS
    sups, infs, steps = within(seconds, "the certified route", _certified_steps, g, s, of)
    proof += steps
    return [_unpacked(c) for c in sups], [_unpacked(c) for c in infs]


def _certified_steps(g: sp.Expr, s: sp.Interval, of: str) -> tuple[list[Candidate], list[Candidate], list[Step]]:
    """:func:`certified_piece` with the proof steps it adds returned and its candidates packed (so that it can
    run in a worker)."""
    steps: list[Step] = []
    sups, infs = certified_piece(g, s, of, steps)
    return [_packed(c) for c in sups], [_packed(c) for c in infs], steps


#: The fields of a candidate that hold mpmath numbers.
_NUMBERS = ("lo", "hi", "at_lo", "at_hi")


def _packed(c: Candidate) -> Candidate:
    """``c`` with its mpmath numbers as (private context?, raw mantissa-exponent tuple): numbers of the interval
    code's own mpmath context do not pickle. Lossless: :func:`_unpacked` gives back equal numbers."""
    return dataclasses.replace(c, **{f: (type(v).context is MP_CONTEXT, v._mpf_) for f in _NUMBERS
                                     if hasattr(v := getattr(c, f), "_mpf_")})


def _unpacked(c: Candidate) -> Candidate:
    return dataclasses.replace(c, **{f: (MP_CONTEXT if v[0] else mpmath.mp).make_mpf(v[1]) for f in _NUMBERS
                                     if isinstance(v := getattr(c, f), tuple)})


def _exact_interior(g: sp.Expr, s: sp.Interval, of: str, name: str, crit: sp.Set, proof: list[Step],
                    methods: set[str], timeout: float | None) -> list[Candidate]:
    """The values at the complete set of critical points (candidates for both), and the step stating them."""
    methods.add("exact: critical points + limits")
    dn = "φ″" if of == "dphi" else "φ′"
    out, vals = [], []
    for p in crit:
        v = tidy_value(g.subs(X, p), timeout)
        out.append(exact_candidate(v, True, sp.FiniteSet(p)))
        vals += [", "] * bool(vals) + [f"{name}(", p, ") = ", v]
    found = (Math(crit, "{" + format_set(crit) + "}", r"\{" + tex_set(crit) + r"\}") if crit
             else Math(crit, "∅", r"\emptyset"))
    proof.append(step("On ", set_part(_shown(s, of)), f": {dn} = 0 has the complete solution set ", found,
                      " (solveset)", *(["; ", *vals, "."] if vals else ["."])))
    return out


def _kink_steps(pieces: list, kinks: tuple, sup_c: list, inf_c: list, proof: list[Step],
                timeout: float | None) -> None:
    """Points where φ is differentiable after all (candidates), and one step per declared kink convention."""
    _differentiable_kinks(pieces, sup_c, inf_c, proof, timeout)
    for k in kinks:
        if not _smooth_at(pieces, k.at, timeout):
            proof.append(step("Kink at x = ", k.at, ": PyTorch's convention φ′(", k.at, ") = ", k.dphi,
                              " is reported but does not count as attaining a bound (φ is not differentiable "
                              "there)."))
        else:
            proof.append(step("At x = ", k.at, " the pieces join smoothly: φ′(", k.at, ") = ", k.dphi,
                              " (PyTorch's value agrees)."))


def _shown(s: sp.Set, of: str) -> sp.Set:
    """The piece as the proof names it: its interior for φ′ (kinks excluded), the piece itself for φ."""
    if of == "dphi" and isinstance(s, sp.Interval):
        return sp.Interval.open(s.start, s.end)
    return s



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
        phi_ok = same_value(one_sided_limits(left, point, "-", timeout), one_sided_limits(right, point, "+", timeout))
        d_ok = same_value(one_sided_limits(sp.diff(left, X), point, "-", timeout),
                     one_sided_limits(sp.diff(right, X), point, "+", timeout))
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
            v = one_sided_limits(sp.diff(left, X), p, "-", timeout)
            c = exact_candidate(v, True, sp.FiniteSet(p))
            sup_c.append(c), inf_c.append(c)
            proof.append(step("At x = ", p, ": φ and φ′ have equal one-sided limits, so φ is differentiable there "
                              "(mean value theorem) with φ′(", p, ") = ", v, ", attained."))

