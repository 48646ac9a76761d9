"""The activation record and the registry that holds the catalogue.

This module owns no mathematics: it stores what :mod:`analytic.core.activations` declares and finds it by name.

>>> from analytic.core.registry import get
>>> get("sigmoid").name
'sigmoid'
"""
from __future__ import annotations

import difflib
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
class Activation:
    """One activation, declared once.

    ``expr`` is φ as a SymPy expression in :data:`X` and the symbols of ``params``. Non-smooth activations are
    ``Piecewise`` whose conditions encode the kink convention; ``kinks`` states it so tests can pin it.
    ``vector`` marks softmax, whose scalar formula is one component as a function of its own logit.
    """

    name: str
    expr: sp.Expr
    params: tuple[Param, ...] = ()
    kinks: tuple[Kink, ...] = ()
    doc: str = ""
    reference: str = ""
    symbol: str = r"\varphi"
    vector: bool = False
    user_defined: bool = field(default=False, compare=False)

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

    def formula(self, values: dict[str, float] | None = None) -> sp.Expr:
        """φ with parameters replaced by ``values`` (defaults for the rest)."""
        return self.expr.subs(self.bind(values))

    def kink_points(self, values: dict[str, float] | None = None) -> tuple[Kink, ...]:
        """The kinks with parameters replaced by values."""
        b = self.bind(values)
        return tuple(Kink(sp.sympify(k.at).subs(b), sp.sympify(k.dphi).subs(b)) for k in self.kinks)


_REGISTRY: dict[str, Activation] = {}
#: Other names for catalogue entries (PyTorch's spellings): alias -> catalogue name.
_ALIASES: dict[str, str] = {}


def register(act: Activation) -> Activation:
    """Add ``act`` to the catalogue (names are unique) and return it."""
    if act.name in _REGISTRY:
        raise ValueError(f"activation {act.name!r} is already registered")
    _REGISTRY[act.name] = act
    return act


def alias(other: str, name: str) -> None:
    """Let ``other`` stand for the catalogue entry ``name`` (an assignment, not a copy: ``get(other)`` *is*
    ``get(name)``)."""
    if other in _REGISTRY or other in _ALIASES:
        raise ValueError(f"name {other!r} is already taken")
    if name not in _REGISTRY:
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
    return list(_REGISTRY)


def get(name: str) -> Activation:
    """The catalogue entry called ``name`` (or one of its aliases); :class:`UnknownActivation` names the closest
    valid ones."""
    name = canonical_text("activation name", name, error=UnknownActivation)
    try:
        return _REGISTRY[_ALIASES.get(name, name)]
    except KeyError:
        close = difflib.get_close_matches(name[:100], list(_REGISTRY) + list(_ALIASES), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(_REGISTRY)}"
        shown = repr(name) if len(name) <= 60 else repr(name[:59] + "…")
        raise UnknownActivation(f"unknown activation {shown}{hint}") from None


def catalogue() -> tuple[Activation, ...]:
    """Every registered activation, in declaration order."""
    return tuple(_REGISTRY.values())
