r"""The network a result is about: one frozen record, passed down from the boundary to every route.

Four shapes of the one-neuron chain and of the wide network, composable where the models allow:

* **plain** (the default): :math:`y_t = \varphi(w_t y_{t-1} + b_t)`; gradient factor :math:`w_t\varphi'(v_t)`.
* **residual** with branch scale :math:`\alpha` — a number, or ``"1/sqrt(r)"`` / ``"1/r"`` (the depth scalings
  of the literature, resolved at depth :math:`r` by :meth:`Architecture.alpha_at`):

  - ``branch="post"``: :math:`y_t = y_{t-1} + \alpha\,\varphi(w_t y_{t-1} + b_t)`, factor
    :math:`1 + \alpha w_t \varphi'(w_t y_{t-1} + b_t)`;
  - ``branch="pre"`` (Yang & Schoenholz 2017's reduced residual):
    :math:`y_t = y_{t-1} + \alpha\,(w_t \varphi(y_{t-1}) + b_t)`, factor :math:`1 + \alpha w_t \varphi'(y_{t-1})`.
* **recurrent** (tied weights): :math:`h_t = \varphi(w h_{t-1} + u x_t + b)` with one weight :math:`w` per
  sequence, drawn once from the weight law; ``inputs`` the law of the i.i.d. inputs :math:`x_t` (None: no input
  noise), so :math:`\partial h_T/\partial h_0 = \prod_t w\,\varphi'(v_t)`.
* **normalised** wide networks: ``norm="batch"`` over a batch of ``batch`` inputs or ``norm="layer"`` across the
  units (Yang et al. 2019), alone or inside a residual block (normalisation first, as ResNets do).

The record names its model (:meth:`Architecture.describe`) and says what JSON carries
(:meth:`Architecture.to_json`). Defaults keep the plain chain, so every result without ``architecture=`` is the
plain one.

>>> residual(1).describe()
'residual (post-activation branch, alpha = 1)'
>>> residual("1/sqrt(r)", "pre").alpha_at(16)
0.25
>>> recurrent("normal(0, 1)").describe()
'recurrent (tied weights, inputs normal(0, 1))'
>>> PLAIN.is_plain
True
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .distributions import Distribution, distribution, scalar
from .errors import ArgumentError, canonical_float, canonical_int, canonical_text

#: The depth scalings of the residual branch, by their spec text: the value at depth r.
ALPHA_SCALINGS = {"1/sqrt(r)": lambda r: 1.0 / math.sqrt(r), "1/r": lambda r: 1.0 / r}
#: The two residual branches.
BRANCHES = ("post", "pre")
#: The two normalisation layers.
NORMS = ("batch", "layer")
#: Largest :math:`|\alpha|` accepted (a branch scale beyond it is a typo, not a network).
ALPHA_LIMIT = 1e6


@dataclass(frozen=True)
class Architecture:
    """One network shape. Build it with :data:`PLAIN`, :func:`residual`, :func:`recurrent` or :func:`normalised`
    (which check their arguments) rather than by hand.

    ``alpha`` is None for a network without a residual branch, a float, or one of :data:`ALPHA_SCALINGS`' keys.
    """

    alpha: float | str | None = None
    branch: str = "post"
    tied: bool = False
    inputs: Distribution | None = None
    norm: str | None = None
    batch: int | None = None

    @property
    def is_plain(self) -> bool:
        """Whether this is the plain network (no residual branch, no tied weights, no normalisation)."""
        return self.alpha is None and not self.tied and self.norm is None

    @property
    def is_residual(self) -> bool:
        return self.alpha is not None

    @property
    def kind(self) -> str:
        """``"plain"``, ``"residual"``, ``"recurrent"`` or ``"normalised"`` (a normalised residual network is
        ``"residual"``; :attr:`norm` says the rest)."""
        if self.alpha is not None:
            return "residual"
        if self.tied:
            return "recurrent"
        if self.norm is not None:
            return "normalised"
        return "plain"

    def alpha_at(self, depth: int) -> float:
        """The branch scale at depth ``depth`` (a number as given; ``"1/sqrt(r)"`` → :math:`1/\\sqrt r`).

        >>> residual("1/r").alpha_at(4)
        0.25
        """
        if self.alpha is None:
            raise ArgumentError("a network without a residual branch has no branch scale alpha")
        depth = canonical_int("depth", depth, 1, error=ArgumentError)
        if isinstance(self.alpha, str):
            return ALPHA_SCALINGS[self.alpha](depth)
        return float(self.alpha)

    def describe(self) -> str:
        """The model in words, as printed beside every result about it."""
        if self.alpha is not None:
            branch = "post-activation" if self.branch == "post" else "pre-activation"
            text = f"residual ({branch} branch, alpha = {_alpha_text(self.alpha)}"
            if self.norm is not None:
                text += f", {_norm_text(self.norm, self.batch)} first"
            return text + ")"
        if self.tied:
            return "recurrent (tied weights, " + (f"inputs {self.inputs.spec})" if self.inputs is not None
                                                  else "no inputs)")
        if self.norm is not None:
            return f"normalised ({_norm_text(self.norm, self.batch)})"
        return "plain"

    def to_json(self) -> dict[str, Any]:
        """The record as JSON: ``kind`` and the fields that kind uses.

        >>> residual(0.5, "pre").to_json()
        {'kind': 'residual', 'alpha': 0.5, 'branch': 'pre', 'norm': None, 'batch': None}
        """
        out: dict[str, Any] = {"kind": self.kind}
        if self.alpha is not None:
            out.update(alpha=self.alpha, branch=self.branch, norm=self.norm, batch=self.batch)
        elif self.tied:
            out.update(inputs=None if self.inputs is None else self.inputs.spec)
        elif self.norm is not None:
            out.update(norm=self.norm, batch=self.batch)
        return out


#: The plain network: every function's default.
PLAIN = Architecture()


def _alpha_text(alpha: float | str) -> str:
    return alpha if isinstance(alpha, str) else f"{alpha:g}"


def _norm_text(norm: str, batch: int | None) -> str:
    return f"BatchNorm, batch {batch}" if norm == "batch" else "LayerNorm"


def _canonical_alpha(alpha: Any) -> float | str:
    if isinstance(alpha, str):
        text = "".join(canonical_text("alpha", alpha, max_length=100).split())
        if text in ALPHA_SCALINGS:
            return text
        try:
            return _canonical_alpha(float(text))
        except ValueError:
            raise ArgumentError(f"alpha must be a number or one of {', '.join(ALPHA_SCALINGS)}, "
                                f"not {alpha!r}") from None
    value = canonical_float("alpha", alpha, low=-ALPHA_LIMIT, high=ALPHA_LIMIT)
    return value


def _canonical_norm(norm: Any, batch: Any) -> tuple[str | None, int | None]:
    if norm is None:
        if batch is not None:
            raise ArgumentError("a batch size needs norm='batch'")
        return None, None
    norm = canonical_text("norm", norm, NORMS)
    if norm == "batch":
        if batch is None:
            raise ArgumentError("BatchNorm needs a batch size (batch=B, B >= 2)")
        return norm, canonical_int("batch", batch, 2, error=ArgumentError)
    if batch is not None:
        raise ArgumentError("LayerNorm normalises across units and takes no batch size")
    return norm, None


def residual(alpha: Any = 1.0, branch: str = "post", norm: str | None = None,
             batch: int | None = None) -> Architecture:
    r"""A residual network with branch scale ``alpha`` (a number, ``"1/sqrt(r)"`` or ``"1/r"``), ``branch``
    ``"post"`` or ``"pre"``, optionally with a normalisation layer first in each block.

    >>> residual("1/sqrt(r)").alpha
    '1/sqrt(r)'
    """
    norm, batch = _canonical_norm(norm, batch)
    return Architecture(alpha=_canonical_alpha(alpha), branch=canonical_text("branch", branch, BRANCHES),
                        norm=norm, batch=batch)


def recurrent(inputs: str | Distribution | None = None) -> Architecture:
    r"""A recurrent chain with one weight per sequence; ``inputs`` the law of the i.i.d. inputs :math:`x_t`
    (a spec such as ``"normal(0, 1)"``), or None for none.

    >>> recurrent().to_json()
    {'kind': 'recurrent', 'inputs': None}
    """
    law = None if inputs is None else scalar(distribution(inputs), "inputs")
    return Architecture(tied=True, inputs=law)


def normalised(norm: str, batch: int | None = None) -> Architecture:
    r"""A wide network with BatchNorm (``norm="batch"``, over ``batch`` inputs) or LayerNorm (``norm="layer"``).

    >>> normalised("batch", 32).describe()
    'normalised (BatchNorm, batch 32)'
    """
    norm, batch = _canonical_norm(canonical_text("norm", norm, NORMS), batch)
    return Architecture(norm=norm, batch=batch)


def canonical_architecture(value: Any) -> Architecture:
    """``value`` itself when it is an :class:`Architecture`, :data:`PLAIN` for None; an :class:`ArgumentError`
    for anything else."""
    if value is None:
        return PLAIN
    if isinstance(value, Architecture):
        return value
    raise ArgumentError(f"architecture must be an Architecture record (plain, residual(...), recurrent(...), "
                        f"normalised(...)), not {type(value).__name__}")
