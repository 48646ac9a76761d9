r"""The records of a weight law: :class:`Distribution` (the base of every law), its exact :class:`Moments` and
:class:`PartialMoments`, and :class:`Base`, the map from a base variable by which quadrature reaches it.

For a law of w: :math:`E[w]`, :math:`E|w|`, :math:`E[w^2]`, :math:`E\log|w|` (:class:`Moments`), and split by the
sign of w, :math:`E[w^k\,1(\pm w > 0)]` for k = 0, 1, 2 and :math:`P(w = 0)` (:class:`PartialMoments`), all exact
SymPy numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from ..errors import SpecError


@dataclass(frozen=True)
class Moments:
    r"""Exact moments of a distribution (SymPy numbers; ``mean_log_abs`` may be ``-oo``)."""

    mean: sp.Expr
    mean_abs: sp.Expr
    mean_square: sp.Expr
    mean_log_abs: sp.Expr

    def floats(self) -> dict[str, float]:
        """The moments as floats, keyed by name."""
        return {k: float(getattr(self, k)) for k in ("mean", "mean_abs", "mean_square", "mean_log_abs")}


def _fmt(value: float) -> str:
    """A spec argument as the shortest text that reads back as the same float (``1``, ``0.5``, ``0.1234567891``)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def exact_number(value: float) -> sp.Expr:
    """A float argument as an exact rational (0.5 → 1/2), so moments come out exact."""
    return sp.nsimplify(value, rational=True)


@dataclass(frozen=True)
class Distribution:
    """Base class: ``args`` are the spec's numbers, named by ``ARGS``."""

    args: tuple[float, ...]
    NAME: ClassVar[str] = ""
    ARGS: ClassVar[tuple[str, ...]] = ()
    #: True for laws of whole matrices (``orthogonal``), which have no per-entry moments.
    MATRIX: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if len(self.args) != len(self.ARGS):
            raise SpecError(f"{self.NAME} takes {len(self.ARGS)} argument(s) ({', '.join(self.ARGS)}), "
                            f"got {len(self.args)}: {self.spec}")
        for name, value in zip(self.ARGS, self.args):
            if not math.isfinite(value):
                raise SpecError(f"{self.spec}: {name} must be finite, got {value}")
        self.check()

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``normal(1, 0.5)``."""
        return f"{self.NAME}({', '.join(_fmt(a) for a in self.args)})"

    def __str__(self) -> str:
        return self.spec

    def check(self) -> None:
        """Raise :class:`SpecError` for invalid arguments (overridden per class)."""

    def fail(self, name: str, rule: str) -> None:
        raise SpecError(f"{self.spec}: {name} must be {rule}, got {self.args[self.ARGS.index(name)]:g}")

    def variable(self, name: str = "w") -> sp.Expr:
        """A ``sympy.stats`` random variable (a plain number for ``constant``)."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` independent draws from ``rng``."""
        raise NotImplementedError

    def moments(self) -> Moments:
        """Exact :math:`E[w], E|w|, E[w^2], E\\log|w|`."""
        raise NotImplementedError

    def pdf(self, w: np.ndarray) -> np.ndarray:
        """Density at ``w`` (NumPy); ``constant`` has none and raises ``TypeError``."""
        raise TypeError(f"{self.spec} has no density")

    @property
    def is_constant(self) -> bool:
        return False

    def partial_moments(self) -> "PartialMoments":
        r"""Exact :math:`P(\pm w > 0)`, :math:`E[w^k; \pm w > 0]` (k = 1, 2) and :math:`P(w = 0)`."""
        raise NotImplementedError

    def partial_log_moments(self) -> tuple[float, float]:
        r""":math:`(E[\log|w|; w > 0], E[\log|w|; w < 0])` as floats (quadrature where there is no closed form)."""
        raise NotImplementedError

    def base(self) -> "Base":
        """How quadrature reaches this law: ``w = base.w(z)`` for ``z`` with density ``base.density`` on
        ``[base.lo, base.hi]`` (see :class:`Base`)."""
        raise NotImplementedError


@dataclass(frozen=True)
class PartialMoments:
    r"""Moments of a weight law split by the sign of :math:`w` (SymPy numbers): ``pos[k]`` is
    :math:`E[w^k\,1(w > 0)]`, ``neg[k]`` is :math:`E[w^k\,1(w < 0)]` for k = 0, 1, 2, ``zero`` is :math:`P(w = 0)`."""

    pos: tuple[sp.Expr, sp.Expr, sp.Expr]
    neg: tuple[sp.Expr, sp.Expr, sp.Expr]
    zero: sp.Expr


#: Half-width, in standard deviations, of the range a normal base variable is integrated over: the mass beyond
#: 13 sd is 1.2e-38, far below any tolerance, even against integrands growing like w^2.
BASE_SD = 13.0


@dataclass(frozen=True)
class Base:
    r"""A weight law as a map from a base variable: ``kind`` ``normal`` (:math:`w = a + b z`, :math:`z \sim N(0,1)`
    cut at :data:`BASE_SD`), ``uniform`` (:math:`w = z` on :math:`[a, b]`), ``lognormal`` (:math:`w = e^{a + b z}`,
    :math:`z \sim N(0, 1)`) or ``constant`` (:math:`w = a`)."""

    kind: str
    a: float
    b: float

    @property
    def lo(self) -> float:
        return self.a if self.kind == "uniform" else -BASE_SD

    @property
    def hi(self) -> float:
        return self.b if self.kind == "uniform" else BASE_SD

    def w(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "normal":
            return self.a + self.b * z
        if self.kind == "lognormal":
            return np.exp(self.a + self.b * z)
        return np.asarray(z, dtype=float) if self.kind == "uniform" else np.full(np.shape(z), self.a)

    def z(self, w: float) -> float:
        """The base point of ``w`` (clipped to the range; ``nan`` where no base point maps to it)."""
        if self.kind == "normal":
            return min(max((w - self.a) / self.b, self.lo), self.hi)
        if self.kind == "lognormal":
            return min(max((math.log(w) - self.a) / self.b, self.lo), self.hi) if w > 0 else math.nan
        return min(max(w, self.lo), self.hi) if self.kind == "uniform" else math.nan

    def density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self.kind == "uniform":
            return np.full(z.shape, 1.0 / (self.b - self.a))
        return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)

