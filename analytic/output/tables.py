r"""Tables across depth: :func:`depth_table` collects :func:`~analytic.theory.independence.gradient_product` at several
depths into one object that prints, shows as HTML in a notebook, and turns into a DataFrame.

Each row is the chain model's gradient product at depth :math:`r` (the crude bound
:math:`(E|w|\sup|\varphi'|)^r`, the independence approximation's :math:`E[\prod]`, :math:`E[\prod^2]` and typical
value), computed by the library; nothing here adds mathematics.

>>> t = depth_table("sigmoid", [1, 2], "normal(1, 0.5)")
>>> [round(r.bound, 4) for r in t.rows]
[0.2521, 0.0636]
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..core.display import displayable, html_table
from ..errors import DepthError, canonical_ints, canonical_keywords
from ..quantities import STANDARD_NORMAL
from ..theory.independence import GradientProduct, gradient_product

__all__ = ["DepthTable", "depth_table", "COLUMNS"]

#: The columns of a depth table, in order.
COLUMNS = ("depth", "bound", "mean", "mean_square", "typical")


def _rows(t: "DepthTable") -> list[dict]:
    return [{k: getattr(g, k) for k in COLUMNS} for g in t.rows]


def _html(t: "DepthTable") -> str:
    return html_table([[r[k] for k in COLUMNS] for r in _rows(t)], COLUMNS)


@displayable(title=lambda t: f"gradient product of {t.activation} across depth (weights {t.weights}, "
                             f"pre-activations {t.preact or 'exact chain'})",
             headline=("activation", "weights", "depths"), summary=lambda t: {}, extra_html=_html, rows=_rows)
@dataclass(frozen=True)
class DepthTable:
    """:class:`~analytic.theory.independence.GradientProduct` rows, one per depth, for one activation and weight law."""

    activation: str
    weights: str
    preact: str | None
    rows: tuple[GradientProduct, ...]

    @property
    def depths(self) -> tuple[int, ...]:
        return tuple(g.depth for g in self.rows)

    def as_dict(self) -> dict:
        """JSON-ready form: ``activation``, ``weights``, ``preact`` and ``rows`` (each a gradient product)."""
        return {"activation": self.activation, "weights": self.weights, "preact": self.preact,
                "rows": [g.as_dict() for g in self.rows]}


def depth_table(act: Any, depths: Sequence[int], weights: str, preact: str | None = STANDARD_NORMAL,
                **kwargs) -> DepthTable:
    r"""The gradient product of ``act`` at each depth in ``depths`` (keyword arguments go to
    :func:`~analytic.theory.independence.gradient_product`); ``to_frame()`` gives a DataFrame with :data:`COLUMNS`."""
    kwargs = canonical_keywords("depth_table", kwargs, ("threshold", "params"))
    depths = canonical_ints("depths", depths, 1, 10**6, DepthError)
    rows = tuple(gradient_product(act, r, weights, preact=preact, **kwargs) for r in depths)
    return DepthTable(rows[0].activation, weights, preact, rows)
