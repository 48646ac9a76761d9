r"""Laws of whole weight matrices: Haar-distributed orthogonal matrices and ``orthogonal(gain)``.

Entries of such a matrix are not independent, so these laws have no per-entry moments or density; the one-neuron
chain, whose weights are scalars, refuses them (:func:`analytic.distributions.scalar`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp

from ..errors import ArgumentError, SpecError, canonical_int, show_value
from ..limits import check_array
from .base import Distribution, Moments


#: Largest side of a matrix :func:`haar_orthogonal` draws.
MAX_SIDE = 10**4


def haar_orthogonal(rng: np.random.Generator, rows: int, cols: int | None = None) -> np.ndarray:
    r"""A Haar-distributed orthogonal matrix (``rows`` × ``rows``), or for ``cols`` ≠ ``rows`` a Haar partial
    isometry (orthonormal columns if ``rows`` > ``cols``, orthonormal rows otherwise).

    QR of a standard Gaussian matrix :math:`G = QR` with the sign correction :math:`Q\,\mathrm{diag}(\mathrm{sign}\,
    \mathrm{diag} R)`: without it Q is not Haar (Mezzadri 2007, "How to generate random matrices from the classical
    compact groups").

    >>> q = haar_orthogonal(np.random.default_rng(0), 3)
    >>> bool(np.allclose(q.T @ q, np.eye(3)))
    True
    """
    if not isinstance(rng, np.random.Generator):
        raise ArgumentError(f"rng must be a numpy.random.Generator, got {show_value(rng)}")
    rows = canonical_int("rows", rows, 1, MAX_SIDE, ArgumentError)
    cols = rows if cols is None else canonical_int("cols", cols, 1, MAX_SIDE, ArgumentError)
    check_array("Haar orthogonal matrix (rows x cols)", (rows, cols))
    tall = rows >= cols
    g = rng.standard_normal((rows, cols) if tall else (cols, rows))
    q, r = np.linalg.qr(g)
    d = np.sign(np.diag(r))
    q = q * np.where(d == 0, 1.0, d)
    return q if tall else q.T


@dataclass(frozen=True)
class Orthogonal(Distribution):
    r"""``orthogonal(gain)``: an n × n weight matrix :math:`W = g\,O` with O Haar-distributed on the orthogonal
    group, so :math:`W^\top W = g^2 I` and :math:`\sigma_w^2 = n E[W_{ij}^2] = g^2`.

    A law of matrices, not of one number: the one-neuron chain, whose weights are scalars, refuses it
    (:func:`analytic.distributions.scalar`). Entries are not independent, so there are no per-entry moments or
    density.

    >>> from analytic.distributions import distribution
    >>> w = distribution("orthogonal(2)").sample(np.random.default_rng(0), (4, 4))
    >>> bool(np.allclose(w.T @ w, 4 * np.eye(4)))
    True
    """

    NAME: ClassVar[str] = "orthogonal"
    ARGS: ClassVar[tuple[str, ...]] = ("gain",)
    MATRIX: ClassVar[bool] = True

    def check(self) -> None:
        if not self.args[0] > 0:
            self.fail("gain", "> 0")

    @property
    def gain(self) -> float:
        return float(self.args[0])

    def sigma_w2(self) -> float:
        r""":math:`\sigma_w^2 = n E[W_{ij}^2] = g^2` at every width."""
        return self.gain ** 2

    def _refuse(self):
        raise SpecError(f"{self.spec} is a law of n x n weight matrices (Haar orthogonal times the gain); use it "
                        "for width-n networks (simulate --width n, spectrum --weights orthogonal), not for the "
                        "one-neuron chain")

    def variable(self, name: str = "w") -> sp.Expr:
        self._refuse()

    def moments(self) -> Moments:
        self._refuse()

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` = (n, n) for one matrix or (k, n, n) for k independent ones."""
        size = tuple(np.atleast_1d(size))
        if len(size) not in (2, 3) or size[-1] != size[-2]:
            self._refuse()
        check_array("orthogonal weight matrices", tuple(int(n) for n in size))
        if len(size) == 2:
            return self.gain * haar_orthogonal(rng, size[0])
        return np.stack([self.gain * haar_orthogonal(rng, size[-1]) for _ in range(size[0])])
