r"""Notebook display for result objects: short ``repr``\ s, HTML tables, and ``to_frame()``.

:func:`displayable` is a class decorator for the frozen result dataclasses. It gives the class

* a short ``__repr__`` (the class name and a few headline fields, at most :data:`REPR_CHARS` characters),
* ``_repr_html_`` (Jupyter shows a titled table of :meth:`summary`, and the class may add more, such as a proof
  as a numbered list), and
* ``to_frame()``: the rows as a :class:`pandas.DataFrame` (pandas is imported only then).

>>> from dataclasses import dataclass
>>> @displayable(title="Pair", headline=("a",))
... @dataclass(frozen=True)
... class Pair:
...     a: float
...     b: str
...     def as_dict(self):
...         return {"a": self.a, "b": self.b}
>>> Pair(1.0, "x" * 500)
Pair(a=1)
>>> "<table" in Pair(1.0, "y")._repr_html_()
True
"""
from __future__ import annotations

import html
import math
import numbers
from typing import Any, Callable, Sequence

from ..errors import AnalyticError

__all__ = ["displayable", "fmt", "html_table", "REPR_CHARS", "quantity_text", "quantity_rows", "with_model"]

#: Longest ``repr`` of a result object.
REPR_CHARS = 120


def fmt(value: Any, digits: int = 6) -> str:
    """A value for a table cell or a repr: floats to ``digits`` significant digits, long text cut."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        v = float(value)
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else f"{v:.{digits}g}")
    text = " ".join(str(value).split())
    return text if len(text) <= 60 else text[:59] + "…"


def html_table(rows: Sequence[Sequence[Any]], header: Sequence[str] | None = None, title: str = "") -> str:
    """A small HTML table; cells are escaped (``$…$`` math is left for the notebook's MathJax)."""
    out = [f"<p><b>{html.escape(title)}</b></p>"] if title else []
    out.append("<table>")
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(c if isinstance(c, str) else fmt(c))}</td>" for c in row)
                   + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def quantity_text(q: Any) -> str:
    """A value with its error as text, or ``"withheld (reason)"`` — never a number for a withheld value.

    ``q`` is a quantity object (``value``, ``error``, ``withheld``/``converged``, ``reason``) or its JSON dict.

    >>> quantity_text({"value": None, "error": 0.1, "reason": "missed 1e-8"})
    'withheld (missed 1e-8)'
    >>> quantity_text({"value": 0.25, "error": 1e-17})
    '0.25 ± 1e-17'
    """
    get = q.get if isinstance(q, dict) else (lambda k, d=None: getattr(q, k, d))
    value = get("value", get("exact"))
    withheld = get("withheld", False) or get("converged", True) is False or value is None
    if withheld:
        return f"withheld ({get('reason') or 'no value'})"
    error = get("error")
    return fmt(value) if error is None else f"{fmt(value)} ± {fmt(error, 2)}"


def quantity_rows(quantities: dict, **fixed: Any) -> list[dict]:
    """Records ``quantity, value, error, converged, reason`` (plus ``fixed`` columns) for ``to_frame()``: a
    withheld value is None with its reason."""
    out = []
    for name, q in quantities.items():
        get = q.get if isinstance(q, dict) else (lambda k, d=None, q=q: getattr(q, k, d))
        value = get("value", get("exact"))
        ok = not (get("withheld", False) or get("converged", True) is False or value is None)
        out.append({**fixed, "quantity": name, "value": value if ok else None, "error": get("error"),
                    "converged": ok, "reason": None if ok else (get("reason") or "no value")})
    return out


def _is_quantity(v: Any) -> bool:
    return isinstance(v, dict) and ("value" in v or "exact" in v) and "error" in v


def _scalars(d: dict) -> dict:
    """The scalar entries of ``d``, and its quantity dicts (``value``/``error``) as text (withheld with reason)."""
    return {k: (quantity_text(v) if _is_quantity(v) else v) for k, v in d.items()
            if v is None or isinstance(v, (str, numbers.Number)) or _is_quantity(v)}


def with_model(model: str | Callable[[Any], str]) -> Callable[[Any], dict]:
    """A ``summary`` for :func:`displayable`: ``model`` first, then the scalar entries of ``as_dict()``."""
    return lambda obj: {"model": model(obj) if callable(model) else model, **_scalars(obj.as_dict())}


def displayable(title: str | Callable[[Any], str], headline: Sequence[str | tuple[str, Callable]] = (),
                rows: Callable[[Any], list[dict]] | None = None,
                extra_html: Callable[[Any], str] | None = None,
                summary: Callable[[Any], dict] | None = None, html_repr: bool = True,
                name: str | Callable[[Any], str] | None = None) -> Callable[[type], type]:
    """Class decorator (above ``@dataclass``): short ``__repr__``, ``_repr_html_``, ``summary()`` and
    ``to_frame()``.

    ``headline`` names the fields the repr shows (or gives ``(label, function)`` pairs; an empty label shows the
    bare value); ``summary(obj)`` the
    entries of the HTML table (default: the scalar entries of ``obj.as_dict()``); ``rows(obj)`` the records of
    ``to_frame()`` (default: one row, the summary); ``extra_html(obj)`` is appended to the table. With
    ``html_repr=False`` no ``_repr_html_`` is added (for a class that shows itself as LaTeX). ``name`` (a string
    or a function of the object) replaces the class name at the head of the repr: it names the *model* the numbers
    come from (``ExactChain``, ``IndependenceApproximation``, ``MeanField``…).
    """
    def default_summary(self) -> dict:
        """The scalar entries of :meth:`as_dict` (what the HTML table shows)."""
        return _scalars(self.as_dict())

    def short_repr(self) -> str:
        fields = ", ".join((f"{k[0]}=" if k[0] else "") + _repr_value(k[1](self)) if isinstance(k, tuple)
                           else f"{k}={_repr_value(getattr(self, k))}" for k in headline)
        head = (name(self) if callable(name) else name) if name else type(self).__name__
        text = f"{head}({fields})"
        return text if len(text) <= REPR_CHARS else text[:REPR_CHARS - 2] + "…)"

    def repr_html(self) -> str:
        head = title(self) if callable(title) else title
        table = html_table([(k, v) for k, v in self.summary().items()], ("quantity", "value"), head)
        return table + (extra_html(self) if extra_html else "")

    def to_frame(self):
        """The result as a :class:`pandas.DataFrame` (pandas is imported only here)."""
        try:
            import pandas as pd
        except ImportError:  # pragma: no cover - depends on the environment
            raise AnalyticError("to_frame() needs pandas: pip install pandas") from None
        return pd.DataFrame(rows(self) if rows else [self.summary()])

    def wrap(cls: type) -> type:
        cls.__repr__ = short_repr
        if html_repr:
            cls._repr_html_ = repr_html
        cls.to_frame = to_frame
        cls.summary = (lambda self: summary(self)) if summary else default_summary
        cls.summary.__doc__ = "The entries of the HTML table, as a dict."
        return cls

    return wrap


def _repr_value(v: Any) -> str:
    if isinstance(v, str):
        return repr(v if len(v) <= 40 else v[:39] + "…")
    return fmt(v)
