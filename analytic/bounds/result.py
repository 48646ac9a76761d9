"""The results of :func:`~analytic.bounds.bound`: an :class:`Extremum` (exact value or enclosure, attained or
approached, where), a :class:`Bound` (sup and inf with the structured proof and the method that produced it) and
:class:`SoftmaxJacobianBounds`, with their plain-text, JSON and notebook renderings."""
from __future__ import annotations

from dataclasses import dataclass, field

import sympy as sp

from ..core.display import displayable
from .proof import Step, steps_text

__all__ = ["Extremum", "Bound", "SoftmaxJacobianBounds"]


@dataclass(frozen=True)
class Extremum:
    """A supremum or infimum: exact value (or None), a float enclosure, whether attained, and where.

    ``at`` is a point (``"0"``, ``"sqrt(2)"``), a limit (``"oo"``, ``"-oo"``, ``"±oo"``, ``"0-"`` from the left,
    ``"3-"``), an enclosure (``"≈2.39935728"``) or a set of points attaining it (``"(0, oo)"``).
    ``at_lower``/``at_upper`` enclose a finite argmax numerically.
    """

    exact: sp.Expr | None
    lower: float
    upper: float
    attained: bool
    at: str
    at_lower: float | None = None
    at_upper: float | None = None
    at_tex: str = ""

    @property
    def at_latex(self) -> str:
        """``at`` in LaTeX (from the SymPy objects it was made of; falls back to the text)."""
        return self.at_tex or self.at

    def as_dict(self) -> dict:
        """JSON-ready form: ``exact`` (string or None), ``lower``, ``upper``, ``attained``, ``at``, ``at_lower``,
        ``at_upper``."""
        return {"exact": None if self.exact is None else str(self.exact), "lower": self.lower, "upper": self.upper,
                "attained": self.attained, "at": self.at, "at_lower": self.at_lower, "at_upper": self.at_upper}



@dataclass(frozen=True)
class SoftmaxJacobianBounds:
    r"""Bounds on the softmax Jacobian :math:`J = \operatorname{diag}(s) - s s^\top`, valid for every size n."""

    diagonal: Extremum
    off_diagonal: Extremum
    spectral_norm: Extremum
    steps: tuple[Step, ...]

    @property
    def proof(self) -> tuple[str, ...]:
        """The proof as plain text, one string per step."""
        return steps_text(self.steps)

    def as_dict(self) -> dict:
        """JSON-ready form: ``diagonal_sup``, ``off_diagonal_inf``, ``spectral_norm_sup``, ``proof``."""
        return {"diagonal_sup": self.diagonal.as_dict(), "off_diagonal_inf": self.off_diagonal.as_dict(),
                "spectral_norm_sup": self.spectral_norm.as_dict(), "proof": list(self.proof)}



def _extremum_text(e: Extremum) -> str:
    value = str(e.exact) if e.exact is not None else f"[{e.lower!r}, {e.upper!r}]"
    return f"{value} ({'attained at' if e.attained else 'approached at'} {e.at})"



def _bound_summary(b: "Bound") -> dict:
    return {"sup": _extremum_text(b.sup), "inf": _extremum_text(b.inf), "method": b.method}



def _proof_html(b: "Bound") -> str:
    import html

    items = "".join(f"<li>{html.escape(s.markdown())}</li>" for s in b.steps)
    return f"<p>Proof:</p><ol>{items}</ol>"



@displayable(title=lambda b: f"bound {b.name}: sup and inf of {'φ′' if b.of == 'dphi' else 'φ'}",
             headline=("name", "of", ("sup", lambda b: _extremum_text(b.sup)), ("inf", lambda b: _extremum_text(b.inf))),
             summary=_bound_summary, extra_html=_proof_html,
             rows=lambda b: [{"kind": k, "exact": None if e.exact is None else str(e.exact), "lower": e.lower,
                              "upper": e.upper, "attained": e.attained, "at": e.at}
                             for k, e in (("sup", b.sup), ("inf", b.inf))])
@dataclass(frozen=True)
class Bound:
    """The sup and inf of ``of`` (``"dphi"`` or ``"phi"``) for one activation, with the proof (in a notebook: a
    table and the proof as a numbered list)."""

    name: str
    of: str
    sup: Extremum
    inf: Extremum
    steps: tuple[Step, ...]
    method: str
    kink_conventions: tuple = ()
    params: dict = field(default_factory=dict)
    jacobian: SoftmaxJacobianBounds | None = None

    @property
    def proof(self) -> tuple[str, ...]:
        """The proof as plain text, one string per step (:attr:`steps` holds the structured steps)."""
        return steps_text(self.steps)

    def as_dict(self) -> dict:
        """JSON-ready form with the keys of the ``bound`` command: ``name``, ``of``, ``sup``, ``inf``, ``proof``,
        ``method``, ``kinks``, ``params`` (and ``jacobian`` for softmax)."""
        out = {"name": self.name, "of": self.of, "sup": self.sup.as_dict(), "inf": self.inf.as_dict(),
               "proof": list(self.proof), "method": self.method,
               "kinks": [{"at": str(k.at), "dphi": str(k.dphi), "value": float(k.dphi)} for k in self.kink_conventions],
               "params": {k: _num(v) for k, v in self.params.items()}}
        if self.jacobian is not None:
            out["jacobian"] = self.jacobian.as_dict()
        return out



def _num(v) -> float | str:
    try:
        return float(v)
    except TypeError:
        return str(v)

