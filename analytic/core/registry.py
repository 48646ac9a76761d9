"""The activation record, the bound activation every layer takes, and the registry that holds the catalogue.

An :class:`Activation` is what :mod:`analytic.core.activations` declares (or a user formula): φ in :data:`X` and
its parameters' symbols, with what is specific to the entry (display symbol, reference, PyTorch's gain). Its kinks
are read off its ``Piecewise`` conditions, for catalogue and user formulas alike. A :class:`BoundActivation` is a
record with every parameter given a value: the one object :func:`analytic.core.calculus.resolve` returns and every
layer below the command line takes.

>>> from analytic.core.registry import get
>>> get("sigmoid").name
'sigmoid'
"""
from __future__ import annotations

import difflib
import functools
from dataclasses import dataclass, field

import sympy as sp

from ..errors import ParameterError, UnknownActivation, canonical_params, canonical_text

#: The real variable every activation formula is written in.
X = sp.Symbol("x", real=True)


@dataclass(frozen=True)
class Param:
    """A named parameter of an activation, with its default (PyTorch's, where PyTorch has one)."""

    name: str
    default: sp.Expr
    doc: str = ""
    positive: bool = False

    @property
    def symbol(self) -> sp.Symbol:
        """The SymPy symbol standing for this parameter in the formula."""
        if self.positive:
            return sp.Symbol(self.name, positive=True)
        return sp.Symbol(self.name, real=True)


@dataclass(frozen=True)
class Kink:
    """A point where φ is not differentiable (or changes formula), with the convention used there.

    ``dphi`` is the value of φ′ that PyTorch's autograd returns at ``at``; bounds never count it as attained.
    """

    at: sp.Expr
    dphi: sp.Expr


@dataclass(frozen=True)
class TorchGain:
    """PyTorch's ``torch.nn.init.calculate_gain`` entry for an activation, written as PyTorch's table writes it.

    ``formula`` is in the whitelist syntax of :func:`~analytic.core.parsing.parse_formula`, with ``a`` standing for
    the record's parameter ``parameter`` (leaky ReLU's slope); ``note`` is shown beside it.
    """

    formula: str
    parameter: str | None = None
    note: str = ""

    @property
    def entry(self) -> str:
        """The entry as shown: ``"sqrt(2/(1 + a^2))"``, ``"1 (linear)"``."""
        return f"{self.formula} ({self.note})" if self.note else self.formula


def piecewise_boundaries(expr: sp.Expr) -> list[sp.Expr]:
    """Points in :data:`X` where a ``Piecewise`` condition of ``expr`` changes (conditions linear in x).

    >>> piecewise_boundaries(sp.Piecewise((X, X > 1), (0, True)))
    [1]
    """
    points = set()
    for pw in expr.atoms(sp.Piecewise):
        for _, cond in pw.args:
            relations = [cond] if isinstance(cond, sp.core.relational.Relational) else \
                cond.atoms(sp.core.relational.Relational)
            for rel in relations:
                diff = sp.expand(rel.lhs - rel.rhs)
                if diff.is_polynomial(X) and sp.degree(diff, X) == 1:
                    points.add(sp.solve(diff, X)[0])
    return sorted(points, key=lambda p: float(p) if p.is_number else 0.0)


@dataclass(frozen=True)
class Activation:
    """One activation, declared once.

    ``expr`` is φ as a SymPy expression in :data:`X` and the symbols of ``params``. Non-smooth activations are
    ``Piecewise`` whose conditions encode the kink convention; :attr:`kinks` reads it off the conditions.
    ``vector`` marks softmax, whose scalar formula is one component as a function of its own logit.
    ``torch_gain`` is PyTorch's ``calculate_gain`` entry, if it has one; ``self_normalising`` marks an entry whose
    published parameters are meant to make N(0, 1) a fixed point (SELU), which the initialisation checks;
    ``figures`` names the figures the entry is drawn in.
    """

    name: str
    expr: sp.Expr
    params: tuple[Param, ...] = ()
    doc: str = ""
    reference: str = ""
    symbol: str = r"\varphi"
    vector: bool = False
    torch_gain: TorchGain | None = None
    self_normalising: bool = False
    user_defined: bool = field(default=False, compare=False)
    figures: frozenset[str] = field(default=frozenset(), compare=False)

    @functools.cached_property
    def kinks(self) -> tuple[Kink, ...]:
        """Each ``Piecewise`` boundary with φ′ there as the conditions give it (PyTorch's autograd value: the
        conditions are written so), in terms of the parameter symbols."""
        slope = sp.diff(self.expr, X)
        return tuple(Kink(point, slope.subs(X, point)) for point in piecewise_boundaries(self.expr))

    @property
    def defaults(self) -> dict[str, sp.Expr]:
        """Parameter name → default value."""
        return {p.name: p.default for p in self.params}

    def bind(self, values: dict[str, float] | None = None) -> dict[sp.Symbol, sp.Expr]:
        """Map each parameter symbol to a value: ``values`` where given, the default otherwise.

        Raises :class:`ParameterError` for a name the activation does not have, or a non-positive value for a
        parameter declared positive.
        """
        values = canonical_params(values)
        known = {p.name: p for p in self.params}
        unknown = sorted(set(values) - set(known))
        if unknown:
            have = ", ".join(known) or "none"
            raise ParameterError(f"{self.name} has no parameter {unknown[0]!r} (its parameters: {have})")
        bound: dict[sp.Symbol, sp.Expr] = {}
        for name, p in known.items():
            value = sp.sympify(values[name]) if name in values else p.default
            if not value.is_finite or not value.is_real:
                raise ParameterError(f"{self.name}: parameter {name} must be a finite real number, got {value}")
            if p.positive and not value.is_positive:
                raise ParameterError(f"{self.name}: parameter {name} must be positive, got {value}")
            bound[p.symbol] = value
        return bound


@dataclass(frozen=True)
class BoundActivation:
    r"""An activation with every parameter given a value: the object every layer below the command line takes.

    ``values`` holds each of the record's parameters, in declaration order, with its value (the default where the
    user gave none). Frozen and hashable, so results are cached on it; built by
    :func:`~analytic.core.calculus.resolve` (or :meth:`of`), never by hand.

    >>> b = BoundActivation.of(get("elu"), {"alpha": 2})
    >>> b.expr
    Piecewise((x, x > 0), (2*exp(x) - 2, True))
    >>> b.kinks[0].dphi
    2
    """

    record: Activation
    values: tuple[tuple[str, sp.Expr], ...] = ()

    @classmethod
    def of(cls, record: Activation, values: dict[str, float] | None = None) -> "BoundActivation":
        """``record`` with ``values`` (defaults for the rest); :class:`ParameterError` for an unknown name or a
        value out of its range."""
        bound = record.bind(values)
        return cls(record, tuple((p.name, bound[p.symbol]) for p in record.params))

    # what is specific to the entry, from its record
    name = property(lambda self: self.record.name)
    doc = property(lambda self: self.record.doc)
    reference = property(lambda self: self.record.reference)
    symbol = property(lambda self: self.record.symbol)
    vector = property(lambda self: self.record.vector)
    user_defined = property(lambda self: self.record.user_defined)

    @functools.cached_property
    def subs(self) -> dict[sp.Symbol, sp.Expr]:
        """Parameter symbol → value, for ``expr.subs``."""
        return {p.symbol: v for p, (_, v) in zip(self.record.params, self.values)}

    @property
    def params(self) -> dict[str, sp.Expr]:
        """Parameter name → value, in declaration order."""
        return dict(self.values)

    @functools.cached_property
    def expr(self) -> sp.Expr:
        """φ with the values substituted."""
        return self.record.expr.subs(self.subs)

    @functools.cached_property
    def kinks(self) -> tuple[Kink, ...]:
        """The record's kinks with the values substituted."""
        return tuple(Kink(sp.sympify(k.at).subs(self.subs), sp.sympify(k.dphi).subs(self.subs))
                     for k in self.record.kinks)

    @property
    def given(self) -> dict[str, float]:
        """The values set by the user, as floats: for a catalogue entry those that differ from its defaults, for a
        user formula all its parameters (what results report under ``params``)."""
        defaults = {p.name: p.default for p in self.record.params}
        return {k: float(v) for k, v in self.values if self.user_defined or v != defaults[k]}

    def value(self, name: str) -> float:
        """The value of parameter ``name`` as a float."""
        return float(dict(self.values)[name])

    def replace(self, values: dict[str, float] | None = None) -> "BoundActivation":
        """The same record with the parameters named in ``values`` changed (the others keep their values)."""
        values = canonical_params(values)
        if not values:
            return self
        given = self.record.bind(values)  # validates names and ranges
        return BoundActivation(self.record, tuple((p.name, given[p.symbol] if p.name in values else v)
                                                  for p, (_, v) in zip(self.record.params, self.values)))


REGISTRY: dict[str, Activation] = {}
#: Other names for catalogue entries (PyTorch's spellings): alias -> catalogue name.
_ALIASES: dict[str, str] = {}


def register(act: Activation) -> Activation:
    """Add ``act`` to the catalogue (names are unique) and return it."""
    if act.name in REGISTRY:
        raise ValueError(f"activation {act.name!r} is already registered")
    REGISTRY[act.name] = act
    return act


def alias(other: str, name: str) -> None:
    """Let ``other`` stand for the catalogue entry ``name`` (an assignment, not a copy: ``get(other)`` *is*
    ``get(name)``)."""
    if other in REGISTRY or other in _ALIASES:
        raise ValueError(f"name {other!r} is already taken")
    if name not in REGISTRY:
        raise ValueError(f"cannot alias unknown activation {name!r}")
    _ALIASES[other] = name


def aliases(name: str | None = None) -> dict[str, str] | list[str]:
    """Every alias → catalogue name; with ``name``, the aliases of that entry."""
    if name is None:
        return dict(_ALIASES)
    name = get(name).name  # an unknown name (or not text) is refused, as everywhere
    return [a for a, n in _ALIASES.items() if n == name]


def names() -> list[str]:
    """Catalogue names in declaration order."""
    return list(REGISTRY)


def get(name: str) -> Activation:
    """The catalogue entry called ``name`` (or one of its aliases); :class:`UnknownActivation` names the closest
    valid ones."""
    name = canonical_text("activation name", name, error=UnknownActivation)
    try:
        return REGISTRY[_ALIASES.get(name, name)]
    except KeyError:
        close = difflib.get_close_matches(name[:100], list(REGISTRY) + list(_ALIASES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(REGISTRY)}"
        shown = repr(name) if len(name) <= 60 else repr(name[:59] + "…")
        raise UnknownActivation(f"unknown activation {shown}{hint}") from None


def catalogue() -> tuple[Activation, ...]:
    """Every registered activation, in declaration order."""
    return tuple(REGISTRY.values())
