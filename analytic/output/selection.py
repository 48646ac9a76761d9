r"""Which activations the figures draw, with which parameters: one frozen :class:`Selection`, made (and checked)
once where the figures are asked for and handed to every figure builder as data.

``acts`` (catalogue names or formulas) replaces the activations a shared figure draws (the catalogue grid, the
depth, pre-activation and histogram figures) and limits the per-activation figures to those names; ``params``
(``{activation: {parameter: value}}``) sets parameters wherever that activation is drawn. Without either, every
figure draws its default list with default parameters, and nothing about the figures changes.

>>> s = selection(["sigmoid", "leaky_relu"], {"leaky_relu": {"negative_slope": 0.1}})
>>> [label(a) for a in s.acts]
['sigmoid', 'leaky_relu (negative_slope = 0.1)']
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

from ..core.calculus import resolve
from ..core.registry import BoundActivation
from ..errors import ArgumentError, canonical_text, show_value

#: Most activations one selection names.
MAX_ACTS = 64


@dataclass(frozen=True)
class Selection:
    """The activations to draw (``acts``, resolved; None: each figure's own list) and the parameters set for
    named activations (``params``: (name, ((parameter, value), ...)) pairs, sorted)."""

    acts: tuple[BoundActivation, ...] | None = None
    params: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()

    @property
    def default(self) -> bool:
        """True when nothing is selected: every figure as it is by default."""
        return self.acts is None and not self.params

    def bind(self, name: str | BoundActivation) -> BoundActivation:
        """``name`` resolved with the parameters this selection sets for it."""
        act = resolve(name)
        given = dict(self.params).get(act.name)
        return act.replace(dict(given)) if given else act

    def names(self) -> tuple[str, ...] | None:
        """The names of the selected activations (None: no choice was made)."""
        return None if self.acts is None else tuple(a.name for a in self.acts)

    def choose(self, default: Sequence[str], scalar: bool = False) -> tuple[BoundActivation, ...]:
        """The activations a shared figure draws: the selected ones, else ``default``, each with its parameters;
        ``scalar`` leaves out vector activations (softmax), which have no one-neuron chain."""
        acts = self.acts if self.acts is not None else tuple(self.bind(n) for n in default)
        return tuple(a for a in acts if not (scalar and a.vector))

    def key(self) -> dict:
        """What the selection changes in a figure's bytes, for the figure's key (empty when default)."""
        if self.default:
            return {}
        return {"acts": None if self.acts is None else [[a.name, sorted(a.given.items())] for a in self.acts],
                "params": [[n, [list(kv) for kv in values]] for n, values in self.params]}


#: The selection that changes nothing.
DEFAULT_SELECTION = Selection()


def label(act: BoundActivation) -> str:
    """An activation's name with the parameters set away from their defaults, e.g.
    ``leaky_relu (negative_slope = 0.1)``."""
    given = act.given
    if not given:
        return act.name
    return f"{act.name} ({', '.join(f'{k} = {v:g}' for k, v in given.items())})"


def selection(acts: Sequence[str] | None = None,
              params: Mapping[str, Mapping[str, float]] | None = None) -> Selection:
    """Check and resolve a selection: every name in ``acts`` must be an activation
    (:class:`~analytic.errors.UnknownActivation` naming the closest), every parameter in ``params`` one of its
    activation's (:class:`~analytic.errors.ParameterError`), and an activation given parameters must be among
    ``acts`` when ``acts`` is given (:class:`~analytic.errors.ArgumentError`)."""
    if params is not None and not isinstance(params, Mapping):
        raise ArgumentError(f"params must map an activation to its parameter values, got {show_value(params)}")
    given: dict[str, dict[str, float]] = {}
    for name, values in (params or {}).items():
        act = resolve(canonical_text("activation", name))
        if not isinstance(values, Mapping) or not values:
            raise ArgumentError(f"params[{act.name!r}] must map parameter names to values, got {show_value(values)}")
        act = act.replace(dict(values))  # unknown names and values out of range are refused here
        given.setdefault(act.name, {}).update({k: float(v) for k, v in act.given.items()} or
                                              {k: float(act.value(k)) for k in values})
    chosen = None
    if acts is not None:
        if isinstance(acts, str) or not isinstance(acts, Sequence):
            raise ArgumentError(f"acts must be a list of activation names, got {show_value(acts)}")
        if not acts:
            raise ArgumentError("acts is empty (None means each figure's own activations)")
        if len(acts) > MAX_ACTS:
            raise ArgumentError(f"acts names {len(acts)} activations; at most {MAX_ACTS}")
        chosen = []
        for name in acts:
            act = resolve(canonical_text("activation", name))
            if act.name not in (a.name for a in chosen):
                chosen.append(act.replace(given.get(act.name)))
        missing = sorted(set(given) - {a.name for a in chosen})
        if missing:
            raise ArgumentError(f"parameters are given for {', '.join(missing)}, which the selected activations "
                                f"({', '.join(a.name for a in chosen)}) do not include")
        chosen = tuple(chosen)
    frozen = tuple(sorted((n, tuple(sorted(v.items()))) for n, v in given.items()))
    return Selection(chosen, frozen)
