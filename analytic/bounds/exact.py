r"""The exact route and :func:`bound`, which runs the routes in order and assembles the proof.

The formula is split at its kinks; on each smooth piece the critical points (zeros of :math:`\varphi''`) are found
by ``solveset`` over the piece's open interval and accepted only as a complete ``FiniteSet``; the candidates are
the values at these points, the one-sided limits at the kinks and the limits at :math:`\pm\infty` (Gruntz's
algorithm). A polynomial in :math:`\sigma(u)` or :math:`\tanh u` goes by monotone substitution
(:mod:`analytic.bounds.substitution`); a piece whose critical points SymPy cannot settle goes to the certified
route (:mod:`analytic.bounds.certified`).
"""
from __future__ import annotations

import functools

import sympy as sp

from ..core.calculus import resolve
from ..core.registry import X, Activation
from ..errors import BoundError, ComputationTimeout, canonical_float, canonical_text, time_limit
from .candidates import _Candidate, _choose, _describe_value, _exact_candidate, _same
from .certified import CERTIFY_SECONDS, _certified_piece
from .notation import _fmt_set, _set_part, _short, _where_tex
from .pieces import (LIMIT_SECONDS, _check_continuous, _critical_points, _limit, _one_sided, _piece_sets, _tidy,
                     _witnessed)
from .proof import Math, Step, step, tex_set
from .proof import math as part
from .result import Bound
from .softmax import _J, softmax_jacobian_bounds
from .substitution import _substitution

__all__ = ["bound"]

#: Range of the ``timeout`` of :func:`bound` (seconds per SymPy step).
MIN_TIMEOUT, MAX_TIMEOUT = 1e-4, 3600.0


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
    kinks = act.kinks if of == "dphi" else ()
    sup, inf, proof, method = _bound_formula(act.expr, of, kinks, float(timeout))
    jac = softmax_jacobian_bounds() if act.vector else None
    if jac is not None:
        proof = proof + (step("Full softmax Jacobian ", _J, ", for every n:"),) + jac.steps
    return Bound(act.name, of, sup, inf, proof, method, tuple(kinks), act.params, jac)



@functools.lru_cache(maxsize=256)
def _bound_formula(phi: sp.Expr, of: str, kinks: tuple, timeout: float):
    """(sup, inf, proof, method) for a formula with its parameters bound (cached: swish with β = 1 is SiLU).

    The steps: φ′ itself; the monotone substitution when it applies (a proof on its own); otherwise the split at
    the kinks, the candidates of each piece (:func:`_piece_candidates`), the kinks, and the comparison."""
    name = "φ′" if of == "dphi" else "φ"
    proof: list[Step] = []
    pieces = _piece_sets(phi)
    if of == "dphi":
        dphi_full = sp.diff(phi, X)
        proof.append(step("φ′(x) = ", part(dphi_full, _short(dphi_full, 200)), "."))
    if len(pieces) == 1:
        sub = _substitution(sp.diff(phi, X) if of == "dphi" else phi, of, timeout)
        if sub is not None:
            cands, steps = sub
            proof += steps
            return _conclude(cands, cands, name, "So ", proof, {"exact: monotone substitution"})
    if len(pieces) > 1:
        proof.append(_split_step(pieces, of, name))
    sup_c: list[_Candidate] = []
    inf_c: list[_Candidate] = []
    methods: set[str] = set()
    for e, s in pieces:
        sups, infs = _piece_candidates(e, s, of, name, timeout, proof, methods)
        sup_c += sups
        inf_c += infs
    if of == "dphi":
        _kink_steps(pieces, kinks, sup_c, inf_c, proof)
    return _conclude(sup_c, inf_c, name, "Comparing all candidates: ", proof, methods)


def _conclude(sup_c: list[_Candidate], inf_c: list[_Candidate], name: str, lead: str, proof: list[Step],
              methods: set[str]) -> tuple:
    """Choose the sup and inf among the candidates, state them as the last step; (sup, inf, proof, method)."""
    sup = _choose(sup_c, 1, "sup")
    inf = _choose(inf_c, -1, "inf")
    proof.append(step(f"{lead}sup {name} = ", *_describe_value(sup), f"; inf {name} = ", *_describe_value(inf), "."))
    return sup, inf, tuple(proof), " + ".join(sorted(methods)) or "exact: critical points + limits"


def _bounded(e: sp.Expr, of: str) -> sp.Expr:
    """The function bounded on a piece whose formula is ``e``: e′ for φ′, e itself for φ."""
    return sp.diff(e, X) if of == "dphi" else e


def _split_step(pieces: list, of: str, name: str) -> Step:
    """The step naming each piece and the function bounded on it."""
    desc: list = []
    for e, s in pieces:
        g = _bounded(e, of)
        desc += ["; "] * bool(desc) + [_set_part(_shown(s, of)), f": {name} = ", part(g, _short(g, 60))]
    return step("Split at the kinks: ", *desc, ".")


def _piece_candidates(e: sp.Expr, s: sp.Set, of: str, name: str, timeout: float, proof: list[Step],
                      methods: set[str]) -> tuple[list[_Candidate], list[_Candidate]]:
    """The sup and the inf candidates of one piece with formula ``e`` on the set ``s``: its isolated points (for φ),
    or its constant value, or the limits at its ends and its interior extrema (exact or certified)."""
    g = _bounded(e, of)
    if isinstance(s, sp.FiniteSet):
        points = [_exact_candidate(g.subs(X, p), True, sp.FiniteSet(p)) for p in s] if of == "phi" else []
        return points, list(points)
    if not isinstance(s, sp.Interval):
        raise BoundError(f"cannot handle the piece set {s}")
    where_all = s if of == "phi" else sp.Interval.open(s.start, s.end)
    _check_continuous(e, s, "φ")
    if of == "dphi":
        _check_continuous(g, s, "φ′")
    if not g.has(X):
        c = _exact_candidate(g, True, where_all)
        proof.append(step("On ", _set_part(where_all), f", {name} = ", g, " is constant."))
        return [c], [c]
    ends, lims = _end_limits(g, s, of, name)
    crit = _critical_points(g, s, timeout)
    if not isinstance(crit, tuple):
        crit = _witnessed(g, s, crit, ends, name)
    if isinstance(crit, tuple):
        sups, infs = _certified_candidates(g, s, of, crit, timeout, proof, methods)
    else:
        sups = infs = _exact_interior(g, s, of, name, crit, proof, methods)
    joined = [p for i, lim in enumerate(lims) for p in (("; ",) if i else ()) + lim]
    proof.append(step("Limits on ", _set_part(_shown(s, of)), ": ", *joined, " (Gruntz's algorithm / continuity)."))
    return ends + sups, ends + infs


def _end_limits(g: sp.Expr, s: sp.Interval, of: str, name: str) -> tuple[list[_Candidate], list[tuple]]:
    """The candidates at the two ends of the piece (limits at ±∞, one-sided limits or, for φ, values at included
    ends) and the proof parts stating each."""
    a, b = s.start, s.end
    cands, lims = [], []
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
        cands.append(c)
    return cands, lims


def _certified_candidates(g: sp.Expr, s: sp.Interval, of: str, why: tuple, timeout: float, proof: list[Step],
                          methods: set[str]) -> tuple[list[_Candidate], list[_Candidate]]:
    """The interior sup and inf candidates by the certified route, after the step saying why SymPy's answer was not used."""
    proof.append(step("On ", _set_part(_shown(s, of)), ": ", *why, "; certified route (interval branch and bound)."))
    methods.add("certified: interval branch-and-bound")
    try:
        with time_limit(CERTIFY_SECONDS, "certified route"):
            sups, infs = _certified_piece(g, s, of, timeout, proof)
    except ComputationTimeout:
        raise BoundError(f"the certified route did not finish within {CERTIFY_SECONDS:g} s") from None
    return sups, infs


def _exact_interior(g: sp.Expr, s: sp.Interval, of: str, name: str, crit: sp.Set, proof: list[Step],
                    methods: set[str]) -> list[_Candidate]:
    """The values at the complete set of critical points (candidates for both), and the step stating them."""
    methods.add("exact: critical points + limits")
    dn = "φ″" if of == "dphi" else "φ′"
    out, vals = [], []
    for p in crit:
        v = _tidy(g.subs(X, p))
        out.append(_exact_candidate(v, True, sp.FiniteSet(p)))
        vals += [", "] * bool(vals) + [f"{name}(", p, ") = ", v]
    found = (Math(crit, "{" + _fmt_set(crit) + "}", r"\{" + tex_set(crit) + r"\}") if crit
             else Math(crit, "∅", r"\emptyset"))
    proof.append(step("On ", _set_part(_shown(s, of)), f": {dn} = 0 has the complete solution set ", found,
                      " (solveset)", *(["; ", *vals, "."] if vals else ["."])))
    return out


def _kink_steps(pieces: list, kinks: tuple, sup_c: list, inf_c: list, proof: list[Step]) -> None:
    """Points where φ is differentiable after all (candidates), and one step per declared kink convention."""
    _differentiable_kinks(pieces, sup_c, inf_c, proof, LIMIT_SECONDS)
    for k in kinks:
        if not _smooth_at(pieces, k.at, LIMIT_SECONDS):
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

