r"""Tables across depth for one activation and weight law, under a named model.

:func:`depth_table` collects the gradient product :math:`\prod_{t=1}^r w_t \varphi'(v_t)` at several depths into
one object that prints, shows as HTML in a notebook, and turns into a DataFrame. ``model`` says which model:

* ``model="exact"``: the network's **exact chain** (:func:`~analytic.theory.chain.exact_chain`, the transfer
  operator or closed form): :math:`E[\prod]`, :math:`E|\prod|`, :math:`E[\prod^2]`, :math:`E\log|\prod|` and
  :math:`P(\prod = 0)`, each with its error; a value that missed its tolerance is withheld (None, shown as
  "withheld (reason)").
* ``model="independence"`` (the default, for compatibility): the crude bound :math:`(E|w|\sup|\varphi'|)^r`
  (valid for the chain) and the **independence approximation**'s :math:`E[\prod]`, :math:`E[\prod^2]` and
  typical value (:func:`~analytic.theory.independence.independence_product`; not the network's exact chain).

Every column header and the ``model`` column of ``to_frame()`` name the model; nothing here adds mathematics.

>>> t = depth_table("sigmoid", [1, 2], "normal(1, 0.5)")
>>> [round(r.bound, 4) for r in t.rows]
[0.2521, 0.0636]
>>> t.model.startswith('independence approximation')
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..core.display import displayable, fmt, html_table
from ..errors import DepthError, ParameterError, canonical_ints, canonical_keywords
from ..quantities import NAMES, STANDARD_NORMAL
from ..theory.independence import MODEL as INDEPENDENCE, GradientProduct, independence_product

__all__ = ["DepthTable", "depth_table", "COLUMNS", "EXACT_COLUMNS", "EXACT", "INDEPENDENCE"]

#: The columns of an independence-approximation depth table, in order (``to_frame()`` adds ``model``).
COLUMNS = ("depth", "bound", "mean", "mean_square", "typical")
#: The columns of an exact-chain depth table: each quantity and its error (``to_frame()`` adds ``model``).
EXACT_COLUMNS = ("depth",) + tuple(c for q in NAMES for c in (q, f"{q}_error"))
#: The model named by an exact-chain table.
EXACT = "exact chain"
#: Column headers of the HTML table, each naming its model.
HEADERS = {"bound": "crude bound (E|w| sup|φ′|)^r", "mean": "E[∏] (independence approx.)",
           "mean_square": "E[∏²] (independence approx.)", "typical": "typical (independence approx.)"}


def _rows(t: "DepthTable") -> list[dict]:
    if t.chain is None:
        return [{**{k: getattr(g, k) for k in COLUMNS}, "model": t.model} for g in t.rows]
    out = []
    for r in t.depths:
        row: dict = {"depth": r}
        for q in NAMES:
            item = t.chain.by_depth[q][r - 1]
            row[q], row[f"{q}_error"] = item.value, item.error
        out.append({**row, "model": t.model})
    return out


def _cell(t: "DepthTable", r: int, q: str) -> str:
    item = t.chain.by_depth[q][r - 1]
    return f"withheld ({item.reason})" if item.withheld else f"{fmt(item.value)} ± {fmt(item.error, 2)}"


def _html(t: "DepthTable") -> str:
    if t.chain is None:
        return html_table([[r[k] for k in COLUMNS] for r in _rows(t)], [HEADERS.get(k, k) for k in COLUMNS])
    head = ["depth"] + [f"{q} (exact chain)" for q in NAMES]
    return html_table([[r] + [_cell(t, r, q) for q in NAMES] for r in t.depths], head)


@displayable(title=lambda t: f"{t.model}: gradient product of {t.activation} across depth (weights {t.weights}"
                             + (f", pre-activations {t.preact})" if t.chain is None else ")"),
             name=lambda t: "ExactChainTable" if t.chain is not None else "IndependenceApproximationTable",
             headline=(("act", lambda t: t.activation), ("weights", lambda t: t.weights), "depths"),
             summary=lambda t: {}, extra_html=_html, rows=_rows)
@dataclass(frozen=True)
class DepthTable:
    """The gradient product at several depths, for one activation and weight law, under one model.

    Fields: ``activation``, ``weights``, ``preact`` (the independence approximation's pre-activation law; None for
    the exact chain), ``rows`` (one :class:`~analytic.theory.independence.GradientProduct` per depth; empty for
    the exact chain), ``chain`` (the :class:`~analytic.theory.chain.ChainExpectations` at the largest depth, None
    for the independence approximation) and ``table_depths``. ``to_frame()`` has :data:`COLUMNS` (independence)
    or :data:`EXACT_COLUMNS` (exact chain; a withheld value is None), plus ``model``.
    """

    activation: str
    weights: str
    preact: str | None
    rows: tuple[GradientProduct, ...]
    chain: Any = None
    table_depths: tuple[int, ...] = ()

    @property
    def depths(self) -> tuple[int, ...]:
        return self.table_depths if self.chain is not None else tuple(g.depth for g in self.rows)

    @property
    def model(self) -> str:
        """``"exact chain"`` or ``"independence approximation (not the network's exact chain)"``."""
        return EXACT if self.chain is not None else INDEPENDENCE

    def as_dict(self) -> dict:
        """JSON-ready form: ``activation``, ``weights``, ``preact``, ``model`` and ``rows`` (each a gradient
        product, or for the exact chain each depth's quantities)."""
        rows = [g.as_dict() for g in self.rows] if self.chain is None else _rows(self)
        return {"activation": self.activation, "weights": self.weights, "preact": self.preact,
                "model": self.model, "rows": rows}


def depth_table(act: Any, depths: Sequence[int], weights: str, preact: str | None = STANDARD_NORMAL,
                model: str = "independence", **kwargs) -> DepthTable:
    r"""The gradient product of ``act`` at each depth in ``depths`` under ``model``.

    ``model="independence"``: keyword arguments go to
    :func:`~analytic.theory.independence.independence_product` (``threshold``, ``params``); ``model="exact"``:
    the exact chain (one :func:`~analytic.theory.chain.exact_chain` run to the largest depth; keywords ``x``,
    ``bias``, ``params``, ``tolerance``; ``preact`` must be left at its default, the chain has no stated law).

    >>> t = depth_table("relu", [1, 3], "normal(0, 1)", model="exact")
    >>> [round(r["mean_square"], 12) for r in t.to_frame().to_dict("records")], t.model
    ([0.5, 0.125], 'exact chain')
    """
    if model not in ("independence", "exact"):
        raise ParameterError(f"depth_table: model must be 'exact' or 'independence', not {model!r}")
    depths = canonical_ints("depths", depths, 1, 10**6, DepthError)
    if model == "exact":
        if preact is not STANDARD_NORMAL and preact is not None:
            raise ParameterError("depth_table: the exact chain takes no preact (the pre-activations follow from "
                                 "the weights); use model='independence' for a stated law")
        from ..theory.chain import exact_chain
        kwargs = canonical_keywords("depth_table", kwargs, ("x", "bias", "params", "tolerance"))
        chain = exact_chain(act, max(depths), weights, **kwargs)
        return DepthTable(chain.activation, chain.weights, None, (), chain, tuple(depths))
    kwargs = canonical_keywords("depth_table", kwargs, ("threshold", "params"))
    rows = tuple(independence_product(act, r, weights, preact=preact, **kwargs) for r in depths)
    return DepthTable(rows[0].activation, weights, preact, rows)
