r"""Checks on a parsed formula: size limits, and that φ is a real function on all of ℝ; and the check that puts a
SymPy expression from a caller through the same whitelist as a formula string (:func:`check_expression`).

A formula that parses can still be unusable: SymPy folds ``(x**64)**64`` into ``x**4096`` and a large formula into
thousands of operations (:func:`growth_problem`), and ``log(x)``, ``sqrt(x)``, ``1/x`` or ``x**(1/3)`` are not
real-valued at every real x (:func:`real_on_line`). Real-valuedness is decided piece by piece of a ``Piecewise``
on the set where the piece applies: first by a structural sufficient test (sums, products, positive bases,
entire functions), then by SymPy's ``continuous_domain``.
"""
from __future__ import annotations

import math

import sympy as sp

from ..errors import ComputationTimeout, FormulaError, one_line, within
from .registry import X
from .special import ENTIRE, parser_functions, to_elementary

#: Largest absolute value of a constant exponent, as written or as folded by SymPy.
MAX_EXPONENT = 64
#: Seconds allowed for checking that one user formula is real-valued on ℝ (a longer check refuses it).
CHECK_SECONDS = 3.0

#: Most operations in a parsed formula (SymPy's count_ops): a formula of 500 characters stays far below it
#: unless SymPy expands something.
MAX_OPS = 2000


#: Deepest SymPy expression tree accepted (as deep as the whitelist parser lets a formula string nest).
MAX_TREE_DEPTH = 60
#: Most nodes of a SymPy expression tree accepted (a formula string of the longest length has far fewer).
MAX_NODES = 5000
#: Largest absolute value of a number in a SymPy expression, and the smallest non-zero one (as for the constants
#: of a formula string): every number stays a finite, normal float.
MAX_NUMBER, MIN_NUMBER = 1e300, 1e-300
#: Most bits of precision of a SymPy ``Float`` in an expression.
MAX_PRECISION = 1000


def _allowed_classes() -> tuple[type, ...]:
    """What a SymPy expression may be built from: what the whitelist parser builds (the special functions' classes,
    powers, sums, products, ``Piecewise`` with one comparison or ``True`` per piece, π and e), plus the
    constructions :func:`~analytic.core.parsing.expression_activation` rewrites into them (``Abs``, ``Max``,
    ``Min``, ``Heaviside``, ``sign``)."""
    from sympy.core.relational import GreaterThan, LessThan, StrictGreaterThan, StrictLessThan
    from sympy.functions.elementary.piecewise import ExprCondPair

    return (sp.Symbol, sp.Add, sp.Mul, sp.Pow, sp.Piecewise, ExprCondPair, GreaterThan, LessThan,
            StrictGreaterThan, StrictLessThan, type(sp.true), type(sp.pi), type(sp.E), sp.exp, sp.Abs, sp.Max,
            sp.Min, sp.Heaviside, sp.sign, *set(parser_functions().values()))


def _number_problem(e: sp.Number) -> str | None:
    """Why the SymPy number ``e`` is refused (``None`` if it is not): it must be a finite real whose size is within
    [:data:`MIN_NUMBER`, :data:`MAX_NUMBER`] (or zero), measured without printing it (a 5000-digit integer cannot
    be turned into text)."""
    if isinstance(e, sp.Float):
        if e._prec > MAX_PRECISION:
            return f"a Float of {e._prec} bits of precision (the limit is {MAX_PRECISION})"
        if not e.is_finite:
            return f"the number {e}"
        size = abs(e)
        return None if e.is_zero or MIN_NUMBER <= size <= MAX_NUMBER else f"the number {sp.Float(e, 3)}"
    if isinstance(e, sp.Rational):
        p, q = abs(int(e.p)), int(e.q)
        if p.bit_length() > 1100 or q.bit_length() > 1100:
            return f"a number of about {int(max(p.bit_length(), q.bit_length()) * 0.30103)} digits"
        return None if p == 0 or MIN_NUMBER <= p / q <= MAX_NUMBER else f"the number {float(e):.3g}"
    return f"the number {e}"


def check_expression(expr: object) -> sp.Expr:
    """``expr`` when it is a SymPy expression built only from what a formula string may contain; otherwise
    :class:`~analytic.errors.FormulaError` saying what is not allowed.

    The same limits as for a formula string: at most :data:`MAX_TREE_DEPTH` levels and :data:`MAX_NODES` nodes
    (walked without recursion, so a deep tree costs nothing), every number a finite real within
    [:data:`MIN_NUMBER`, :data:`MAX_NUMBER`], and only whitelisted functions: an unevaluated ``Integral``,
    ``Derivative``, ``Sum`` or ``Limit``, an undefined function, ``I``, ``oo`` or ``nan`` are refused (call
    ``.doit()`` first). Real-valuedness and the size of what SymPy makes of it are checked afterwards, by
    :func:`growth_problem` and :func:`real_on_line`, for both routes.

    >>> import sympy as sp
    >>> check_expression(sp.tanh(sp.Symbol("t")))
    tanh(t)
    >>> check_expression(sp.Integral(sp.Symbol("t"), sp.Symbol("t")))
    Traceback (most recent call last):
    ...
    analytic.errors.FormulaError: expression: Integral is not allowed in an activation (evaluate it first, or write φ with elementary functions)
    """
    if not isinstance(expr, sp.Expr):
        raise FormulaError(f"expression: expected a SymPy expression, got {type(expr).__name__}")
    allowed = _allowed_classes()
    stack, nodes = [(expr, 1)], 0
    while stack:
        e, depth = stack.pop()
        nodes += 1
        if depth > MAX_TREE_DEPTH:
            raise FormulaError(f"expression: nested deeper than {MAX_TREE_DEPTH} levels")
        if nodes > MAX_NODES:
            raise FormulaError(f"expression: more than {MAX_NODES} nodes")
        if isinstance(e, sp.Number):
            problem = _number_problem(e)
            if problem:
                raise FormulaError(f"expression: {problem} is not allowed (a number must be a finite real of size "
                                   f"between {MIN_NUMBER:g} and {MAX_NUMBER:g}, or 0)")
            continue
        if not isinstance(e, allowed) or isinstance(e, sp.Dummy):
            what = type(e).__name__
            raise FormulaError(f"expression: {what} is not allowed in an activation (evaluate it first, or write φ "
                               "with elementary functions)")
        stack.extend((a, depth + 1) for a in e.args)
    stack = [expr]  # the tree is known to be small now: each outermost constant is a number too (exp(1380))
    while stack:
        e = stack.pop()
        if isinstance(e, sp.Expr) and e.args and not isinstance(e, sp.Piecewise) and not e.free_symbols:
            _check_constant(e)
        else:
            stack.extend(e.args)
    return expr


def _check_constant(e: sp.Expr) -> None:
    """A constant sub-expression must be a finite real number of size at most :data:`MAX_NUMBER`, as in a formula
    string (``exp(1380)``, ``I**2 + exp(710)``)."""
    try:
        z = complex(within(CHECK_SECONDS, "evaluating a constant", sp.N, e, 17))
    except ComputationTimeout:
        raise FormulaError(f"expression: evaluating the constant {one_line(e, 40)} took longer than "
                           f"{CHECK_SECONDS:g} s") from None
    except (TypeError, ValueError, ArithmeticError):
        z = complex(math.inf)
    if z.imag != 0 or not abs(z.real) <= MAX_NUMBER:
        raise FormulaError(f"expression: the constant {one_line(e, 40)} is not a finite real number of size at most "
                           f"{MAX_NUMBER:g}")


def growth_problem(expr: sp.Expr) -> str | None:
    """Why ``expr`` is too large to work with, or ``None``: a power with a constant exponent above
    :data:`MAX_EXPONENT` (``(x**64)**64`` folds into ``x**4096``), or more than :data:`MAX_OPS` operations."""
    for p in expr.atoms(sp.Pow):
        e = p.exp
        if e.is_number and e.is_real and abs(e) > MAX_EXPONENT:
            return f"the power {one_line(p, 60)} has exponent {one_line(e, 20)}, above {MAX_EXPONENT}"
    if sp.count_ops(expr) > MAX_OPS:
        return f"the formula has more than {MAX_OPS} operations"
    return None


def _defined_everywhere(e: sp.Expr) -> bool:
    """A quick sufficient test that ``e`` is real and continuous at every real x (by its structure and SymPy's
    sign assumptions: ``log(1 + x**2)``, ``sqrt(exp(x))``, ``1/(1 + x**2)`` pass)."""
    if not e.has(X):
        return bool(e.is_real and e.is_finite)
    if e == X:
        return True
    if e.is_Add or e.is_Mul:
        return all(_defined_everywhere(a) for a in e.args)
    if e.is_Pow:
        b, k = e.base, e.exp
        if not (_defined_everywhere(b) and not k.has(X)):
            return bool(b.is_positive and _defined_everywhere(b) and _defined_everywhere(k))
        if k.is_Integer:
            return bool(k >= 0 or b.is_nonzero)
        return bool(b.is_positive or (b.is_nonnegative and k.is_positive))
    if isinstance(e, sp.log):
        return bool(e.args[0].is_positive and _defined_everywhere(e.args[0]))
    return isinstance(e, ENTIRE) and all(_defined_everywhere(a) for a in e.args)


def _check_roots(piece: sp.Expr, where: sp.Set) -> None:
    """A fractional power of a negative number is complex (NumPy gives NaN): ``x**(1/3)`` is refused where
    ``x < 0``, even though SymPy's ``continuous_domain`` reads it as the real cube root."""
    for p in piece.atoms(sp.Pow):
        if p.exp.is_number and not p.exp.is_Integer and p.base.has(X) and not p.base.is_nonnegative:
            bad = sp.solveset(p.base < 0, X, where)
            if bad is not sp.S.EmptySet:
                raise FormulaError(f"formula: φ = {one_line(piece, 40)} is not real-valued on all of ℝ: "
                                   f"{one_line(p, 30)} is complex on {_fmt_set(bad)}")


def _fmt_set(s: sp.Set) -> str:
    """``(-oo, 0]``, ``{0}``, ``[0, 1) ∪ {2}``: a set of reals as a person writes it."""
    if isinstance(s, sp.Interval):
        return f"{'(' if s.left_open else '['}{s.start}, {s.end}{')' if s.right_open else ']'}"
    if isinstance(s, sp.Union):
        return " ∪ ".join(_fmt_set(a) for a in s.args)
    if isinstance(s, sp.FiniteSet):
        return "{" + ", ".join(one_line(a, 20) for a in s.args) + "}"
    return one_line(s, 40)


def real_on_line(expr: sp.Expr) -> None:
    """Raise :class:`~analytic.errors.FormulaError` unless ``expr`` (in x only) is real-valued at every real x:
    each piece of a Piecewise on the set where it applies, every condition solvable in x, and the pieces together
    covering ℝ (``Piecewise((x, x > 0))`` is undefined for x ≤ 0).

    Within a piece the test is continuity (SymPy's ``continuous_domain``), so a pole such as ``1/x`` at 0 is
    refused too; jumps between pieces are allowed.

    >>> from analytic.core.parsing import parse_formula
    >>> real_on_line(parse_formula("Piecewise((log(x), x > 0), (0, True))"))
    >>> real_on_line(parse_formula("log(x)"))
    Traceback (most recent call last):
    ...
    analytic.errors.FormulaError: formula: φ = log(x) is not real-valued on all of ℝ: it fails on (-oo, 0]
    """
    try:
        within(CHECK_SECONDS, "checking the domain", _check_real, expr)
    except ComputationTimeout:
        raise FormulaError(f"formula: too complex, checking that it is real-valued on ℝ took longer than "
                           f"{CHECK_SECONDS:g} s") from None


def _check_real(expr: sp.Expr) -> None:
    """The work of :func:`real_on_line` (in a worker under :data:`CHECK_SECONDS`)."""
    from sympy.calculus.util import continuous_domain

    folded = sp.piecewise_fold(expr)
    pieces = folded.args if isinstance(folded, sp.Piecewise) else ((folded, sp.true),)
    rest = sp.S.Reals
    for piece, cond in pieces:
        try:
            region = sp.S.Reals if cond is sp.true else cond.as_set()
        except (NotImplementedError, TypeError, ValueError):
            raise FormulaError(f"formula: the Piecewise condition {one_line(cond, 40)} is not supported: "
                               "conditions must be solvable in x, such as x > 0 or x**2 < 1") from None
        where, rest = sp.Intersection(region, rest), rest - region
        if where is sp.S.EmptySet or _defined_everywhere(piece):
            continue
        _check_roots(piece, where)
        try:
            domain = continuous_domain(to_elementary(piece), X, where)
        except (NotImplementedError, TypeError, ValueError, AttributeError):
            raise FormulaError(f"formula: cannot establish that φ = {one_line(piece, 40)} is real-valued on "
                               f"{one_line(where, 40)}") from None
        missing = sp.Complement(where, domain)
        if missing is not sp.S.EmptySet:
            raise FormulaError(f"formula: φ = {one_line(piece, 40)} is not real-valued on all of ℝ: it "
                               f"fails on {_fmt_set(missing)}")
    if rest is not sp.S.EmptySet:
        raise FormulaError(f"formula: the Piecewise defines φ nowhere on {_fmt_set(rest)}; "
                           "end it with a piece whose condition is True")
