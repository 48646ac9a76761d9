"""Memory caps: every array whose size a caller controls is checked here before it is allocated.

One cap, :data:`MAX_ARRAY_BYTES` = 2 GiB per array, for every call site; an array over it is refused with
:class:`MemoryLimitError` (an :class:`~analytic.errors.AnalyticError`: one line, exit status 2 on the command
line) saying what it is and how much it would take. The estimate of each call site is the size of its largest
array, ``8 bytes x the number of float64 entries``:

- wide-network Monte Carlo (:func:`analytic.mc.simulate_wide`): a weight matrix ``width x width`` (its derivatives,
  ``depth x batch x width``, are held to 2**24 entries there);
- sampled Jacobian spectrum (:func:`analytic.theory.sample_spectrum`): ``width x width`` (weights, the product J);
- Haar orthogonal matrices (:func:`analytic.distributions.haar_orthogonal`): ``rows x cols``;
- curves of a figure (:func:`analytic.plot_activation`): ``grid`` points per curve;
- the tabulated spectral density (:func:`analytic.theory.density.spectral_density`): ``3 x points`` (its grid);
- chain Monte Carlo blocks (:func:`analytic.mc.simulate_chain`): ``chunk`` layer-samples per drawn quantity.

A sweep spec is checked against the wide-network estimates before any task starts.

>>> check_array("weight matrix", (1000, 1000))
8000000
>>> check_array("weight matrix", (100_000, 100_000))
Traceback (most recent call last):
    ...
analytic.limits.MemoryLimitError: weight matrix: 100000 x 100000 float64 entries would take 74.5 GiB, over the cap of 2 GiB per array
"""
from __future__ import annotations

import math
import numbers

from .errors import AnalyticError

__all__ = ["FLOAT_BYTES", "MAX_ARRAY_BYTES", "MemoryLimitError", "array_bytes", "check_array"]

#: Largest array (bytes) a computation may allocate for sizes a caller chose.
MAX_ARRAY_BYTES = 2 * 2**30
#: Bytes per entry of a float64 array.
FLOAT_BYTES = 8


class MemoryLimitError(AnalyticError):
    """An array that a requested size would make larger than :data:`MAX_ARRAY_BYTES`."""


def array_bytes(shape: tuple[int, ...], itemsize: int = FLOAT_BYTES) -> int:
    """Bytes of an array of ``shape`` with ``itemsize`` bytes per entry (exact: Python integers).

    >>> array_bytes((3, 4))
    96
    """
    return math.prod(int(n) for n in shape) * int(itemsize)


def check_array(what: str, shape: tuple[int, ...], itemsize: int = FLOAT_BYTES) -> int:
    """The bytes of an array of ``shape`` (see :func:`array_bytes`) if at most :data:`MAX_ARRAY_BYTES`, else
    :class:`MemoryLimitError` naming ``what``; call it before allocating."""
    if any(isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0 for n in shape):
        raise MemoryLimitError(f"{what}: the sizes {shape} are not counts")
    size = array_bytes(shape, itemsize)
    if size > MAX_ARRAY_BYTES:
        dims = " x ".join(str(int(n)) for n in shape)
        raise MemoryLimitError(f"{what}: {dims} float64 entries would take {_gib(size)}, over the cap of "
                               f"{_gib(MAX_ARRAY_BYTES)} per array")
    return size


def _gib(size: int) -> str:
    return f"{size / 2**30:.3g} GiB"
