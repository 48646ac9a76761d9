"""Whitelisted parsers for user formulas and distribution specs. Nothing here ever calls ``eval``.

A string is parsed by :func:`ast.parse` (which only builds a syntax tree and runs nothing), then every node
is checked against a whitelist and translated into SymPy by hand. ``sympify`` is never applied to user text,
because SymPy documents that it evaluates its input. A user formula becomes an activation record
(:func:`user_activation`, :func:`expression_activation`) only after the checks of :mod:`analytic.core.domain`
(size limits, real-valued on all of ℝ) pass.

>>> from analytic.core.parsing import parse_formula, parse_spec
>>> parse_formula("x*tanh(log(1+exp(x)))")
x*tanh(softplus(x))
>>> parse_spec("normal(1, 0.5)")
('normal', (1.0, 0.5))
"""
from __future__ import annotations

import ast
import math
import numbers
import re
import warnings

import sympy as sp

from ..errors import ComputationTimeout, FormulaError, SpecError, canonical_params, one_line, within
from .domain import MAX_EXPONENT, check_expression, growth_problem, real_on_line
from .registry import X, Activation
from .special import parser_functions, sigmoid, softplus

#: Longest formula or spec accepted, in characters.
MAX_LENGTH = 500
#: Largest absolute value of a numeric literal (constant exponents: :data:`analytic.core.domain.MAX_EXPONENT`).
MAX_LITERAL = 1e6
#: Deepest expression tree accepted.
MAX_DEPTH = 60
#: Largest absolute value of a constant sub-expression (``exp(40)``, ``2**64``): keeps every constant a finite float.
MAX_CONSTANT = 1e300
#: Seconds allowed for turning one formula into SymPy (``Abs``/``Max`` folding can grow exponentially).
PARSE_SECONDS = 3.0

#: Functions a formula may call: the special functions' parser names (:mod:`analytic.core.special`) and three
#: constructions that are not functions of one argument with a class of their own (``sqrt`` is a power; ``Max``
#: and ``Min`` take several arguments and become ``Piecewise``).
_FUNCTIONS = {**parser_functions(), "sqrt": sp.sqrt, "Max": sp.Max, "Min": sp.Min}
_ARITY = {"Max": (2, 8), "Min": (2, 8)}
_CONSTANTS = {"pi": sp.pi, "E": sp.E}
_BINOPS = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a**b,
}
_FAMILY = {ast.Add: "sum", ast.Sub: "sum", ast.Mult: "product", ast.Div: "product"}
_COMPARE = {ast.Gt: sp.Gt, ast.GtE: sp.Ge, ast.Lt: sp.Lt, ast.LtE: sp.Le}
# Typographic characters pasted from papers, mapped to ASCII; any other non-ASCII character is refused.
_TYPOGRAPHY = str.maketrans({"\u2212": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*"})


def _clean(text: str, what: str, error: type[Exception]) -> str:
    if not isinstance(text, str):
        raise error(f"{what} must be text, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise error(f"{what} is {len(text)} characters long; the limit is {MAX_LENGTH}")
    text = text.translate(_TYPOGRAPHY)
    bad = next((i for i, ch in enumerate(text) if not (ch.isascii() and (ch.isprintable() or ch in " \t"))), None)
    if bad is not None:
        raise error(f"{what} contains the character {text[bad]!r} at position {bad}; use plain ASCII")
    if not text.strip():
        raise error(f"{what} is empty")
    return text.strip()


def _tree(text: str, what: str, error: type[Exception]) -> ast.expr:
    # Parenthesis nesting is checked before ast.parse so that a deep nest costs nothing.
    depth = deepest = 0
    for ch in text:
        depth += ch in "([{"
        depth -= ch in ")]}"
        deepest = max(deepest, depth)
    if deepest > MAX_DEPTH:
        raise error(f"{what} nests brackets {deepest} deep; the limit is {MAX_DEPTH}")
    try:
        with warnings.catch_warnings():  # "1if x else 2" would print a SyntaxWarning; refuse it instead
            warnings.simplefilter("error", SyntaxWarning)
            return ast.parse(text, mode="eval").body
    except (MemoryError, RecursionError):  # Python's own parser gives up on very deep operator chains
        raise error(f"{what} is nested too deeply to parse") from None
    except (SyntaxError, ValueError) as exc:
        msg = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
        col = getattr(exc, "offset", None)
        where = f" at position {col}" if col else ""
        raise error(f"{what} is not a valid expression{where}: {msg}") from None


def _number(node: ast.Constant, error: type[Exception], what: str) -> sp.Expr:
    value = node.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise error(f"{what}: literal {value!r} is not a real number")
    if not math.isfinite(value) or abs(value) > MAX_LITERAL:
        raise error(f"{what}: literal {value!r} is outside [-{MAX_LITERAL:g}, {MAX_LITERAL:g}]")
    return sp.Integer(value) if isinstance(value, int) else sp.nsimplify(value, rational=True)


class _FormulaBuilder:
    def __init__(self, params: dict[str, sp.Symbol], what: str):
        self.names: dict[str, sp.Expr] = {"x": X, **_CONSTANTS, **params}
        self.what = what

    def fail(self, node: ast.AST, message: str):
        col = getattr(node, "col_offset", None)
        where = f" at position {col}" if col is not None else ""
        raise FormulaError(f"{self.what}: {message}{where}")

    def build(self, node: ast.AST, depth: int = 0) -> sp.Expr:
        if depth > MAX_DEPTH:
            self.fail(node, f"expression deeper than {MAX_DEPTH} levels")
        try:
            value = self._build(node, depth)
        except (TypeError, ValueError, ArithmeticError, RecursionError, NotImplementedError) as exc:
            if isinstance(exc, FormulaError):
                raise
            self.fail(node, f"SymPy cannot build this ({type(exc).__name__}: {one_line(exc, 60)})")
        return self._checked(node, value)

    def _checked(self, node: ast.AST, value: sp.Expr) -> sp.Expr:
        """Refuse infinite, undefined, complex or huge constants, e.g. ``log(0)``, ``sqrt(-1)``, ``exp(1e6)``, and
        growth that SymPy folds together: ``(x**64)**64`` is ``x**4096``, ``exp(690)*exp(690)`` is ``exp(1380)``."""
        if value.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.AccumBounds):
            self.fail(node, "the value is infinite or undefined")
        if value.has(sp.I):
            self.fail(node, "the value is not a real number")
        problem = growth_problem(value)
        if problem:
            self.fail(node, problem)
        if value.is_Add or value.is_Mul:  # constants folded from several factors or terms
            for arg in value.args:
                if arg.is_number and not arg.is_Rational:
                    self._checked(node, arg)
        if value.is_number:
            try:
                z = complex(value.evalf(17))
            except (TypeError, ValueError, ArithmeticError):
                z = complex(math.inf)
            if z.imag != 0:
                self.fail(node, f"the constant {one_line(value, 60)} is not a real number")
            if not abs(z.real) <= MAX_CONSTANT:
                self.fail(node, f"the constant {one_line(value, 60)} is outside [-{MAX_CONSTANT:g}, {MAX_CONSTANT:g}]")
        return value

    def _build(self, node: ast.AST, depth: int) -> sp.Expr:
        if isinstance(node, ast.Constant):
            return _number(node, FormulaError, self.what)
        if isinstance(node, ast.Name):
            if node.id in self.names:
                return self.names[node.id]
            if node.id in _FUNCTIONS:
                self.fail(node, f"function {node.id!r} used without arguments")
            self.fail(node, f"unknown name {node.id!r} (allowed: x, pi, E, declared parameters)")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            value = self.build(node.operand, depth + 1)
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            # a chain a + b - c + ... (or a * b / c ...) is a flat list, not nesting: its left-leaning tree
            # does not add depth
            chain = isinstance(node.left, ast.BinOp) and _FAMILY.get(type(node.left.op)) is not None and \
                _FAMILY.get(type(node.left.op)) == _FAMILY.get(type(node.op))
            left = self.build(node.left, depth if chain else depth + 1)
            right = self.build(node.right, depth + 1)
            if isinstance(node.op, ast.Pow):
                self._check_power(node, left, right)
            result = _BINOPS[type(node.op)](left, right)
            if result.has(sp.zoo, sp.nan):
                self.fail(node, "division by zero or an undefined constant")
            return result
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        self.fail(node, f"{type(node).__name__} is not allowed in a formula")

    def _check_power(self, node: ast.AST, base: sp.Expr, exponent: sp.Expr) -> None:
        if exponent.is_number and abs(float(exponent)) > MAX_EXPONENT:
            self.fail(node, f"constant exponent {exponent} exceeds {MAX_EXPONENT}")
        if base.is_number and exponent.is_number and abs(float(base)) > 1 and abs(float(exponent)) * math.log10(
                abs(float(base))) > 300:
            self.fail(node, "constant power too large")

    def _call(self, node: ast.Call, depth: int) -> sp.Expr:
        if not isinstance(node.func, ast.Name):
            self.fail(node, "only plain function names may be called (no attributes)")
        name = node.func.id
        if node.keywords:
            self.fail(node, f"{name}() takes no keyword arguments")
        if name == "Piecewise":
            return self._piecewise(node, depth)
        if name not in _FUNCTIONS:
            self.fail(node, f"function {name!r} is not allowed (allowed: {', '.join(sorted(_FUNCTIONS))}, Piecewise)")
        lo, hi = _ARITY.get(name, (1, 1))
        if not lo <= len(node.args) <= hi:
            self.fail(node, f"{name}() takes {lo if lo == hi else f'{lo} to {hi}'} argument(s)")
        args = [self.build(arg, depth + 1) for arg in node.args]
        return _FUNCTIONS[name](*args)

    def _piecewise(self, node: ast.Call, depth: int) -> sp.Expr:
        if not node.args:
            self.fail(node, "Piecewise() needs (expression, condition) pairs")
        pieces = []
        for arg in node.args:
            if not (isinstance(arg, ast.Tuple) and len(arg.elts) == 2):
                self.fail(arg, "each Piecewise argument must be a pair (expression, condition)")
            expr = self.build(arg.elts[0], depth + 1)
            pieces.append((expr, self._condition(arg.elts[1], depth + 1)))
        if pieces[-1][1] is not sp.true:
            self.fail(node, "the last Piecewise pair must have the condition True")
        return sp.Piecewise(*pieces)

    def _condition(self, node: ast.AST, depth: int):
        if isinstance(node, ast.Constant) and node.value is True:
            return sp.true
        if isinstance(node, ast.Compare) and len(node.ops) == 1 and type(node.ops[0]) in _COMPARE:
            left = self.build(node.left, depth + 1)
            right = self.build(node.comparators[0], depth + 1)
            return _COMPARE[type(node.ops[0])](left, right)
        self.fail(node, "a Piecewise condition must be one comparison (<, <=, >, >=) or True")


def stabilise(expr: sp.Expr) -> sp.Expr:
    """Replace ``log(1 + exp(u))`` by ``softplus(u)`` and ``1/(1 + exp(-u))`` by ``sigmoid(u)``.

    The replacements are exact identities; they let the NumPy forms avoid overflow for large ``|u|``.
    """
    u = sp.Wild("u")
    expr = expr.replace(sp.log(1 + sp.exp(u)), softplus(u))
    expr = expr.replace(1 / (1 + sp.exp(-u)), sigmoid(u))
    expr = expr.replace(sp.exp(u) / (1 + sp.exp(u)), sigmoid(u))
    return expr


def parse_formula(text: str, params: dict[str, float] | None = None) -> sp.Expr:
    """Parse a formula in ``x`` into SymPy, refusing everything outside the whitelist.

    Allowed: ``x``; numbers; ``+ - * / **`` (``^`` is read as a power); the functions ``exp log tanh sinh cosh
    erf sqrt Abs Max Min sigmoid softplus atan sin cos``; ``Piecewise((expr, cond), ..., (expr, True))``;
    ``pi``, ``E``; and the names in ``params``. ``Abs``, ``Max`` and ``Min`` are turned into ``Piecewise`` so that
    their kinks are explicit. Every constant sub-expression must be a finite real number of size at most
    ``MAX_CONSTANT``. Raises :class:`~analytic.errors.FormulaError`, also when the work takes longer than
    ``PARSE_SECONDS``.
    """
    params = canonical_params(params, FormulaError)
    try:
        return within(PARSE_SECONDS, "parsing the formula", _parse_formula, text, params)
    except ComputationTimeout:
        raise FormulaError(f"formula: too complex, parsing it took longer than {PARSE_SECONDS:g} s") from None


def _parse_formula(text: str, params: dict[str, float] | None) -> sp.Expr:
    text = _clean(text, "formula", FormulaError).replace("^", "**")
    symbols = {}
    for name in params or {}:
        if (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name in _FUNCTIONS
                or name in ("x", "pi", "E")):
            raise FormulaError(f"formula: {name!r} cannot be used as a parameter name")
        symbols[name] = sp.Symbol(name, real=True)
    tree = _tree(text, "formula", FormulaError)
    expr = _FormulaBuilder(symbols, "formula").build(tree)
    if expr.has(sp.Abs, sp.Max, sp.Min):
        expr = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    extra = expr.free_symbols - {X} - set(symbols.values())
    if extra:  # pragma: no cover - the builder admits no other names
        raise FormulaError(f"formula: unexpected symbols {sorted(map(str, extra))}")
    return stabilise(expr)


def user_activation(text: str, params: dict[str, float] | None = None) -> Activation:
    """An :class:`~analytic.core.registry.Activation` for a user formula; parameters take the values in ``params``."""
    from .registry import Param

    params = canonical_params(params, FormulaError)
    expr = parse_formula(text, params)
    declared = tuple(Param(name, _parameter_value(name, value), "user parameter")
                     for name, value in (params or {}).items())
    return _user_record(expr, text.strip(), declared, f"User formula {text.strip()}")


def _kinks(record: Activation) -> tuple:
    return record.kinks


def _user_record(expr: sp.Expr, name: str, declared: tuple, doc: str) -> Activation:
    """The record of a user activation ``expr`` (in :data:`X` and the ``declared`` parameters' symbols)."""
    bound = expr.subs({sp.Symbol(p.name, real=True): p.default for p in declared})
    values = ", ".join(f"{p.name} = {p.default}" for p in declared)
    if bound.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I):
        raise FormulaError(f"formula: with {values} it is {one_line(bound, 60)}, not a finite real function")
    problem = growth_problem(bound)
    if problem:
        raise FormulaError(f"formula: with {values}, {problem}")
    real_on_line(bound)
    record = Activation(name, expr, params=declared, doc=doc, user_defined=True)
    try:  # read off the Piecewise now, within the deadline (the record keeps them)
        record.__dict__["kinks"] = within(PARSE_SECONDS, "locating the kinks", _kinks, record)
    except ComputationTimeout:
        raise FormulaError(f"formula: too complex, locating its kinks took longer than {PARSE_SECONDS:g} s") from None
    return record


def expression_activation(expr: sp.Basic, params: dict[str, float] | None = None) -> Activation:
    r"""An :class:`~analytic.core.registry.Activation` for a SymPy expression in one free symbol, of any name and with
    any assumptions (``Symbol("x")``, ``Symbol("t", positive=True)``): that symbol is replaced by the library's
    real variable :data:`~analytic.core.registry.X`, so :math:`\varphi'` is taken with respect to it.

    Symbols named in ``params`` are parameters and take those values. More than one other free symbol, an
    undefined function (``Function("f")(x)``) or anything that is not a SymPy expression raises
    :class:`~analytic.errors.FormulaError`. ``Abs``, ``Max`` and ``Min`` become ``Piecewise`` (explicit kinks),
    as in :func:`parse_formula`.

    >>> import sympy as sp
    >>> t = sp.Symbol("t", positive=True)
    >>> expression_activation(sp.tanh(t)).expr
    tanh(x)
    """
    from sympy.core.function import AppliedUndef

    from .registry import Param

    check_expression(expr)  # the formula string's whitelist and limits, before SymPy does anything with it
    if expr.atoms(AppliedUndef):
        f = sorted(map(str, expr.atoms(AppliedUndef)))[0]
        raise FormulaError(f"expression: {f} is an undefined function; write it out in elementary functions")
    if sp.count_ops(expr) > 4 * MAX_LENGTH:
        raise FormulaError(f"expression: {sp.count_ops(expr)} operations; the limit is {4 * MAX_LENGTH}")
    names = canonical_params(params, FormulaError)
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) or name == "x":
            raise FormulaError(f"expression: {name!r} cannot be used as a parameter name")
    free = sorted(expr.free_symbols, key=str)
    variables = [s for s in free if s.name not in names]
    if len(variables) > 1:
        raise FormulaError(
            f"expression: {len(variables)} free symbols ({', '.join(map(str, variables))}); an activation has "
            f"one variable; pass the others' values as params")
    mapping = {s: sp.Symbol(s.name, real=True) for s in free if s.name in names}
    mapping.update({v: X for v in variables})
    expr = expr.xreplace(mapping)
    if expr.has(sp.Abs, sp.Max, sp.Min, sp.Heaviside, sp.sign):
        expr = sp.piecewise_fold(expr.rewrite(sp.Piecewise))
    expr = stabilise(expr)
    declared = tuple(Param(name, _parameter_value(name, value), "user parameter") for name, value in names.items())
    name = one_line(expr, 200)
    return _user_record(expr, name, declared, f"User expression {name}")



def _parameter_value(name: str, value: object) -> sp.Expr:
    """A parameter value as an exact SymPy number; only finite real numbers (never text, which ``sympify`` evals)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise FormulaError(f"formula: parameter {name} must be a number, got {type(value).__name__}")
    if not math.isfinite(float(value)):
        raise FormulaError(f"formula: parameter {name} must be finite, got {value}")
    if isinstance(value, sp.Rational):
        return value
    if isinstance(value, numbers.Integral):
        return sp.Integer(int(value))
    return sp.nsimplify(float(value), rational=True)


def looks_like_formula(text: str) -> bool:
    """True when ``text`` is not a bare name, so it should be parsed as a formula rather than looked up.

    Text longer than ``MAX_LENGTH`` counts as a formula, so that the parser refuses it briefly instead of an
    unknown-name message quoting all of it.
    """
    return len(text) > MAX_LENGTH or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text.strip()) or text.strip() == "x"


def parse_spec(text: str) -> tuple[str, tuple[float, ...]]:
    """Parse a distribution spec ``name(a, b, ...)`` with numeric arguments (constant arithmetic allowed).

    Returns the lower-cased name and the arguments as floats; raises :class:`~analytic.errors.SpecError`.
    Which names and how many arguments are valid is for :mod:`analytic.distributions` to decide.
    """
    text = _clean(text, "distribution spec", SpecError)
    node = _tree(text, "distribution spec", SpecError)
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
        raise SpecError(f"distribution spec {text!r} must look like name(arguments), e.g. normal(0, 1)")
    if node.keywords:
        raise SpecError(f"distribution spec {text!r}: give arguments by position, e.g. normal(0, 1)")
    args = tuple(_constant(arg, text) for arg in node.args)
    return node.func.id.lower(), args


def _constant(node: ast.AST, text: str) -> float:
    what = f"distribution spec {text!r}"
    if isinstance(node, ast.Constant):
        _number(node, SpecError, what)  # the same checks as in formulas
        return float(node.value)  # the literal as typed: no rounding to a nearby simple rational
    if isinstance(node, ast.Name) and node.id in ("pi", "e", "E"):
        return math.pi if node.id == "pi" else math.e
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _constant(node.operand, text)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Div)):
        left, right = _constant(node.left, text), _constant(node.right, text)
        if isinstance(node.op, ast.Div) and right == 0:
            raise SpecError(f"{what}: division by zero")
        return _BINOPS[type(node.op)](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "sqrt" and len(node.args) == 1:
        value = _constant(node.args[0], text)
        if value < 0:
            raise SpecError(f"{what}: sqrt of a negative number")
        return math.sqrt(value)
    raise SpecError(f"{what}: argument {ast.unparse(node)!r} is not a number")
