r"""Derivatives, NumPy functions and LaTeX, all derived from the catalogue's SymPy formulas.

* :func:`derivative` — :math:`\varphi^{(k)}` simplified (piece by piece for ``Piecewise``).
* :func:`numpy_function` — a vectorised NumPy :math:`\varphi^{(k)}` built by ``lambdify`` from the *unsimplified*
  derivative, with ``sigmoid``/``softplus`` mapped to ``scipy.special.expit``/``numpy.logaddexp`` and
  ``exp(u) - 1`` to ``expm1``; finite and warning-free for :math:`|x| \le 10^4`.
* :func:`derive` — everything the ``derive`` command prints, as a frozen :class:`Derivation`.

>>> from analytic.core.calculus import derivative, resolve
>>> derivative(resolve("sigmoid"))
(1 - sigmoid(x))*sigmoid(x)
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp
from sympy.codegen.rewriting import expm1_opt, optimize
from sympy.printing.numpy import NumPyPrinter

from .activations import get
from .display import displayable
from .domain import check_expression
from ..errors import (ArgumentError, FormulaError, canonical_float, canonical_int, canonical_params,
                     canonical_text, within)
from .fastforms import Kernel, fused_kernel
from .parsing import expression_activation, looks_like_formula, user_activation
from .registry import X, Activation, BoundActivation
from .special import numpy_namespace, sigmoid

#: Seconds allowed for simplifying (or rewriting for NumPy) one derivative of a user formula; a longer one refuses
#: the formula with ComputationTimeout. Catalogue entries have no deadline: they are known to finish (the slowest,
#: gelu_tanh's phi'', in about 3 s), and a deadline would make what they print depend on how busy the machine is.
SIMPLIFY_SECONDS = 5.0
#: A user formula's derivative with more operations than this (SymPy's count_ops) is kept as it is, neither
#: simplified nor rewritten for NumPy: a rule decided by the formula, not by a clock.
SIMPLIFY_MAX_OPS = 100
#: Seconds allowed for differentiating a user formula.
DIFF_SECONDS = 10.0
#: Highest derivative order :func:`derivative` and :func:`numpy_function` compute.
MAX_ORDER = 8

#: ``lambdify``'s namespace: each special function's stable NumPy form (:mod:`analytic.core.special`).
NUMPY_NAMESPACE = numpy_namespace()


def resolve(name_or_formula: str | Activation | BoundActivation | sp.Expr,
            params: dict[str, float] | None = None) -> BoundActivation:
    """The one place a user's activation is resolved: a :class:`~analytic.core.registry.BoundActivation` (the
    record with every parameter given a value) that every layer below takes.

    Bare names are looked up (an unknown one raises :class:`~analytic.errors.UnknownActivation` naming the closest
    entries); other text is parsed by the whitelist parser. A SymPy expression in one free symbol of any name and
    assumptions is mapped onto the real variable :data:`~analytic.core.registry.X`
    (:func:`~analytic.core.parsing.expression_activation`; more free symbols raise
    :class:`~analytic.errors.FormulaError`). ``params`` give parameter values (defaults for the rest); a bound
    activation is returned as it is (``params`` given with it override its values).

    >>> import sympy as sp
    >>> resolve("elu", {"alpha": 2}).params
    {'alpha': 2}
    >>> derivative(resolve(sp.Symbol("x") ** 2))
    2*x
    """
    if isinstance(name_or_formula, BoundActivation):
        return name_or_formula.replace(params)
    if isinstance(name_or_formula, Activation):
        if name_or_formula.user_defined or not _registered(name_or_formula):
            check_expression(name_or_formula.expr)  # a record made by hand: the same whitelist as a formula
        return BoundActivation.of(name_or_formula, params)
    if isinstance(name_or_formula, sp.Basic):
        return BoundActivation.of(expression_activation(name_or_formula, params))
    params = canonical_params(params) or None
    if not isinstance(name_or_formula, str):
        raise FormulaError(f"an activation is a catalogue name, a formula, an Activation or a SymPy expression; "
                           f"got {type(name_or_formula).__name__}")
    name_or_formula = canonical_text("activation", name_or_formula, error=FormulaError)
    if not looks_like_formula(name_or_formula):
        return BoundActivation.of(get(name_or_formula.strip()), params)
    return BoundActivation.of(user_activation(name_or_formula, params))


def _registered(record: Activation) -> bool:
    """True for a catalogue record itself (not a record made by hand under a catalogue name)."""
    from .registry import REGISTRY

    return REGISTRY.get(record.name) is record


def _float_subs(b: BoundActivation) -> dict[sp.Symbol, sp.Float]:
    """The parameter values as floats, for the NumPy forms (a number is compiled as the double it rounds to)."""
    return {k: sp.Float(float(v)) for k, v in b.subs.items()}


def _budget(act: Activation | BoundActivation) -> float | None:
    """The deadline for symbolic clean-up of ``act``: :data:`SIMPLIFY_SECONDS` for user formulas, none for
    catalogue entries."""
    return SIMPLIFY_SECONDS if act.user_defined else None


def _cleaned(clean: Callable[[sp.Expr], sp.Expr], expr: sp.Expr, seconds: float | None, what: str) -> sp.Expr:
    """``clean(expr)``: at once for a catalogue entry (``seconds`` None); for a user formula ``expr`` itself when it
    has more than :data:`SIMPLIFY_MAX_OPS` operations, else ``clean(expr)`` refused with
    :class:`~analytic.errors.ComputationTimeout` if it takes longer than ``seconds``."""
    if seconds is None:
        return clean(expr)
    if sp.count_ops(expr) > SIMPLIFY_MAX_OPS:
        return expr
    return within(seconds, what, clean, expr)


def _simplify(expr: sp.Expr, seconds: float | None) -> sp.Expr:
    """``simplify`` (for all pieces together; see :func:`_cleaned` for a user formula's deadline)."""
    return _cleaned(_simplify_pieces, expr, seconds, "simplifying a derivative of the formula")


def _simplify_pieces(expr: sp.Expr) -> sp.Expr:
    """``simplify`` each piece of a Piecewise separately, keeping its conditions (and so its kink convention)."""
    if isinstance(expr, sp.Piecewise):
        return sp.Piecewise(*[(_simplify_pieces(e), c) for e, c in expr.args])
    simple = sp.simplify(expr)
    return simple if sp.count_ops(simple) <= sp.count_ops(expr) else expr


@functools.lru_cache(maxsize=None)
def _raw_derivative(act: Activation, order: int) -> sp.Expr:
    if not order:
        return act.expr
    return within(DIFF_SECONDS if act.user_defined else None, f"differentiating {act.name}", sp.diff, act.expr, X,
                  order)


def derivative(act: Activation | BoundActivation | str, order: int = 1,
               params: dict[str, float] | None = None) -> sp.Expr:
    r"""The ``order``-th derivative :math:`\varphi^{(k)}(x)`, simplified.

    For a bound activation, a user formula or with ``params``, the parameter values are substituted; for a
    catalogue name or record alone it is in terms of the parameter symbols.

    >>> derivative("gelu", 2)
    sqrt(2)*(2 - x**2)*exp(-x**2/2)/(2*sqrt(pi))
    """
    b = resolve(act, params)
    order = canonical_int("order", order, 0, MAX_ORDER, ArgumentError)
    expr = _simplified(b.record, order)
    symbolic = not (params or b.user_defined or isinstance(act, BoundActivation))
    return expr if symbolic else expr.subs(b.subs)


@functools.lru_cache(maxsize=None)
def _simplified(act: Activation, order: int) -> sp.Expr:
    return _simplify(_raw_derivative(act, order), _budget(act)) if order else act.expr


def numpy_function(act: Activation | str, order: int = 0,
                   params: dict[str, float] | None = None) -> Callable[[np.ndarray], np.ndarray]:
    r"""A vectorised NumPy function computing :math:`\varphi^{(k)}` with the given parameters.

    Built from the unsimplified derivative, whose ``sigmoid``/``softplus`` factors stay bounded; ``Piecewise``
    evaluates every branch (``numpy.select``), so overflow in a branch that is not selected is silenced and
    does not reach the result.

    >>> import numpy as np
    >>> float(numpy_function("sigmoid", 1)(np.array([0.0]))[0])
    0.25
    """
    b = resolve(act, params)
    order = canonical_int("order", order, 0, MAX_ORDER, ArgumentError)
    return _numpy_function(b, order)


@functools.lru_cache(maxsize=None)
def _numpy_function(act: BoundActivation, order: int) -> Callable[[np.ndarray], np.ndarray]:
    expr = _cleaned(numeric_form, _raw_derivative(act.record, order).subs(_float_subs(act)), _budget(act),
                    "rewriting the formula for NumPy")
    compiled = sp.lambdify([X], expr, modules=[NUMPY_NAMESPACE, "numpy"])
    constant = not expr.has(X)

    def phi(x):
        x = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            y = compiled(x)
        y = np.asarray(y, dtype=float)
        return np.broadcast_to(y, x.shape).copy() if (constant or y.shape != x.shape) else y

    phi.__name__ = f"{act.name}_d{order}" if order else act.name
    phi.__doc__ = f"NumPy form of d^{order}/dx^{order} {act.name}: {expr}"
    return phi


def numpy_pair(act: Activation | str, params: dict[str, float] | None = None
               ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    r"""A vectorised NumPy function returning :math:`(\varphi(x), \varphi'(x))` in one pass.

    Catalogue entries with a fused kernel (:data:`analytic.core.fastforms.NAMES`: the piecewise ones, sigmoid, tanh,
    softsign, identity) use it. Otherwise: the same expressions as :func:`numpy_function` orders 0 and 1, compiled
    together with common subexpressions shared (sigmoid's :math:`\sigma(x)` is evaluated once for both), for loops
    that need both; such a pair has ``shared = True``. Sharing can undo a stable form (SymPy turns ``erfc(-u)`` back
    into ``2 - erfc(u)``), so the pair is compared with the two separate functions on a grid reaching ±50 and the
    kinks; on any relative difference above :math:`10^{-12}` the separate functions are used.

    >>> import numpy as np
    >>> y, d = numpy_pair("sigmoid")(np.array([0.0]))
    >>> float(y[0]), float(d[0])
    (0.5, 0.25)
    """
    return _numpy_pair(resolve(act, params))


def numpy_kernel(act: Activation | str, params: dict[str, float] | None = None) -> Kernel:
    r"""A kernel ``k(v, y, d, t)`` writing :math:`\varphi(v)` into ``y`` and :math:`\varphi'(v)` into ``d``
    (``t`` is scratch), for loops that reuse their buffers: the fused form of :mod:`analytic.core.fastforms` for
    catalogue entries that have one, otherwise :func:`numpy_pair` copied into the buffers. Call it inside
    ``numpy.errstate(all="ignore")``.

    >>> import numpy as np
    >>> v, y, d, t = np.array([0.0]), np.empty(1), np.empty(1), np.empty(1)
    >>> numpy_kernel("sigmoid")(v, y, d, t)
    >>> float(y[0]), float(d[0])
    (0.5, 0.25)
    """
    return _numpy_kernel(resolve(act, params))


def _fused(act: BoundActivation) -> Kernel | None:
    """The fused kernel of a catalogue entry, if :mod:`analytic.core.fastforms` has one."""
    if act.user_defined:
        return None
    return fused_kernel(act.name, {str(k): float(v) for k, v in act.subs.items()})


@functools.lru_cache(maxsize=None)
def _numpy_kernel(act: BoundActivation) -> Kernel:
    fused = _fused(act)
    if fused is not None:
        return fused
    pair = _numpy_pair(act)
    raw = getattr(pair, "raw", pair)  # the compiled pair without its errstate (the caller sets it)

    def kernel(v, y, d, t):
        y[...], d[...] = raw(v)  # (broadcasts a constant)

    kernel.shared = getattr(pair, "shared", False)
    return kernel


def _fast_sigmoid(x: np.ndarray) -> np.ndarray:
    r"""σ(x) with NumPy's vectorised ``exp`` (``scipy.special.expit`` is several times slower): with
    :math:`e = e^{-|x|}`, :math:`\sigma = 1/(1+e)` for :math:`x \ge 0` and :math:`e/(1+e)` otherwise — no overflow,
    full relative precision in both tails."""
    e = np.exp(-np.abs(x))
    r = 1.0 / (1.0 + e)
    return np.where(x >= 0, r, e * r)


class _WherePrinter(NumPyPrinter):
    """Prints ``Piecewise`` as nested ``numpy.where`` (much faster than ``numpy.select`` on large arrays)."""

    def _print_Piecewise(self, expr):
        where = self._module_format("numpy.where")
        last_expr, last_cond = expr.args[-1]
        out = (self._print(last_expr) if last_cond == sp.true
               else f"{where}({self._print(last_cond)}, {self._print(last_expr)}, {self._print(sp.nan)})")
        for piece, cond in reversed(expr.args[:-1]):
            out = f"{where}({self._print(cond)}, {self._print(piece)}, {out})"
        return out


@functools.lru_cache(maxsize=None)
def _numpy_pair(act: BoundActivation) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    fused = _fused(act)
    if fused is not None:
        return _allocating(fused, act.name)
    separate = [_numpy_function(act, k) for k in (0, 1)]

    def both(x):
        return separate[0](x), separate[1](x)

    both.__name__ = f"{act.name}_pair"
    exprs = [_cleaned(numeric_form, _raw_derivative(act.record, k).subs(_float_subs(act)), _budget(act),
                      "rewriting the formula for NumPy") for k in (0, 1)]
    namespace = {**NUMPY_NAMESPACE, "sigmoid": _fast_sigmoid}
    printer = _WherePrinter({"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True,
                             "user_functions": {k: k for k in namespace}})
    compiled = sp.lambdify([X], exprs, modules=[namespace, "numpy"], cse=True, printer=printer)

    def pair(x):
        x = np.asarray(x, dtype=float)
        with np.errstate(all="ignore"):
            out = compiled(x)
        return tuple(np.broadcast_to(np.asarray(y, dtype=float), x.shape).copy()
                     if np.shape(y) != x.shape else np.asarray(y, dtype=float) for y in out)

    pair.__name__ = f"{act.name}_pair"
    pair.__doc__ = f"NumPy form of ({exprs[0]}, {exprs[1]})"
    pair.raw = compiled
    try:
        kinks = [float(k.at) for k in act.kinks]
    except (TypeError, ValueError):  # a kink location that is not a real number
        kinks = []
    grid = np.concatenate([np.linspace(-50.0, 50.0, 4001), [1e4, -1e4], kinks])
    if all(np.allclose(shared, alone(grid), rtol=1e-12, atol=0.0, equal_nan=True)
           for shared, alone in zip(pair(grid), separate)):
        pair.shared = True  # the forms compiled together passed the comparison (tests check that they do)
        return pair
    return both


def _allocating(kernel: Kernel, name: str) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A fused kernel as a function returning new arrays."""
    def pair(x):
        x = np.asarray(x, dtype=float)
        y, d, t = np.empty_like(x), np.empty_like(x), np.empty_like(x)
        with np.errstate(all="ignore"):
            kernel(x, y, d, t)
        return y, d

    pair.__name__ = f"{name}_pair"
    pair.__doc__ = f"fused NumPy form of ({name}, its derivative), from analytic.core.fastforms"
    pair.fused = True
    return pair


#: f(u) → (when the sum holds c + c·f(u), a rewrite of it; when it holds c − c·f(u), another). Each is an exact
#: identity that spares NumPy from subtracting nearly equal numbers (1 + erf(u) at u = −6 loses every digit;
#: erfc(−u) keeps them).
_COMPLEMENTS = {
    sp.erf: (lambda u: sp.erfc(-u, evaluate=False), lambda u: sp.erfc(u, evaluate=False)),
    sp.tanh: (lambda u: 2 * sigmoid(2 * u), lambda u: 2 * sigmoid(-2 * u)),
    sigmoid: (None, lambda u: sigmoid(-u)),
}


def _complement_terms(add: sp.Add) -> sp.Expr:
    """In a sum containing c and ±c·f(u) (or c·tanh(u)²), replace the pair by its complement form."""
    terms = list(add.args)
    c = next((t for t in terms if t.is_Number), None)
    if c is None:
        return add
    for t in terms:
        k, f = t.as_coeff_Mul()
        if k == -c and f.is_Pow and f.exp == 2 and isinstance(f.base, sp.tanh):  # c(1 - tanh²u) = c/cosh²u
            rest = [r for r in terms if r is not t and r is not c]
            return sp.Add(*rest, c * sp.cosh(f.base.args[0]) ** -2)
        rule = _COMPLEMENTS.get(type(f))
        if rule is None or abs(k) != abs(c):
            continue
        plus, minus = rule
        form = plus if k == c else minus
        if form is None:
            continue
        rest = [r for r in terms if r is not t and r is not c]
        return sp.Add(*rest, c * form(f.args[0]))
    return add


def numeric_form(expr: sp.Expr) -> sp.Expr:
    """``expr`` rewritten with exact identities that keep floating-point evaluation accurate.

    >>> numeric_form(1 - sigmoid(X))
    sigmoid(-x)
    """
    for _ in range(3):  # a sum may hold several pairs
        expr = expr.replace(lambda e: e.is_Add, _complement_terms)
    return optimize(expr, [expm1_opt])


def latex(expr: sp.Expr) -> str:
    """LaTeX for ``expr`` (``sigmoid`` prints as σ)."""
    if not isinstance(expr, sp.Basic):
        raise ArgumentError(f"latex needs a SymPy expression, got {type(expr).__name__}")
    return sp.latex(expr)


def _derivation_rows(d: "Derivation") -> list[dict]:
    return [{"x": x, "phi": p, "dphi": q} for x, p, q in zip(d.at, d.phi_values, d.dphi_values)]


@displayable(title=lambda d: f"derive {d.name}", headline=("name", "phi", "dphi"), rows=_derivation_rows,
             html_repr=False)
@dataclass(frozen=True)
class Derivation:
    """φ, φ′, φ″ of one activation with its parameters bound, and values at requested points.

    In a notebook it shows as LaTeX (``_repr_latex_``); ``to_frame()`` tabulates the values at ``at``.
    """

    name: str
    params: dict
    phi: sp.Expr
    dphi: sp.Expr
    d2phi: sp.Expr
    kinks: tuple
    at: tuple[float, ...]
    phi_values: tuple[float, ...]
    dphi_values: tuple[float, ...]
    doc: str
    vector: bool

    def _repr_latex_(self) -> str:
        return (rf"$\displaystyle \varphi(x) = {latex(self.phi)},\qquad \varphi'(x) = {latex(self.dphi)}$"
                + (rf" $\quad$ ({self.name})" if len(self.name) < 30 and self.name.isidentifier() else ""))

    def as_dict(self) -> dict:
        """JSON-ready form with the keys the CLI documents."""
        return {
            "name": self.name,
            "params": {k: _num(v) for k, v in self.params.items()},
            "phi": str(self.phi), "dphi": str(self.dphi), "d2phi": str(self.d2phi),
            "phi_latex": latex(self.phi), "dphi_latex": latex(self.dphi), "d2phi_latex": latex(self.d2phi),
            "kinks": [{"at": str(k.at), "dphi": str(k.dphi)} for k in self.kinks],
            "at": list(self.at), "phi_values": list(self.phi_values), "dphi_values": list(self.dphi_values),
            "doc": self.doc,
            **({"jacobian": "diag(s) - s s^T"} if self.vector else {}),
        }


def _num(v) -> float | str:
    try:
        return float(v)
    except TypeError:
        return str(v)


def derive(act: Activation | str, params: dict[str, float] | None = None,
           at: tuple[float, ...] | list[float] = ()) -> Derivation:
    """Everything the ``derive`` command reports.

    >>> d = derive("relu", at=[-1.0, 0.0, 2.0])
    >>> d.dphi_values
    (0.0, 0.0, 1.0)
    """
    act = resolve(act, params)
    if isinstance(at, (str, bytes)) or not isinstance(at, (list, tuple, np.ndarray)):
        raise ArgumentError(f"at must be a list of numbers, got {type(at).__name__}")
    points = np.asarray([canonical_float("--at point", p) for p in at], dtype=float)
    phi_v = numpy_function(act, 0)(points) if len(points) else np.array([])
    dphi_v = numpy_function(act, 1)(points) if len(points) else np.array([])
    return Derivation(
        name=act.name,
        params=act.params,
        phi=act.expr,
        dphi=derivative(act, 1),
        d2phi=derivative(act, 2),
        kinks=act.kinks,
        at=tuple(float(p) for p in points),
        phi_values=tuple(float(v) for v in phi_v),
        dphi_values=tuple(float(v) for v in dphi_v),
        doc=act.doc,
        vector=act.vector,
    )
