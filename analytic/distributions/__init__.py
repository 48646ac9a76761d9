r"""Weight, bias and pre-activation distributions: one spec string, one symbolic variable, one sampler.

A spec such as ``normal(1, 0.5)`` is parsed by the whitelist parser (:func:`analytic.core.parsing.parse_spec`)
into one of the classes of :data:`DISTRIBUTIONS`: the laws of one number (:mod:`analytic.distributions.laws`)
and of whole weight matrices (:mod:`analytic.distributions.matrices`), on the records of
:mod:`analytic.distributions.base`. Each class declares its argument names and their checks, a ``sympy.stats``
random variable, a NumPy sampler drawing from a :class:`numpy.random.Generator` passed in, and the moments the
gradient formulas need — :math:`E[w]`, :math:`E|w|`, :math:`E[w^2]`, :math:`E\log|w|` — as exact SymPy
expressions.

>>> from analytic.distributions import distribution
>>> d = distribution("normal(1, 0.5)")
>>> d.moments().mean_square
5/4
>>> import numpy as np
>>> d.sample(np.random.default_rng(0), 3).shape
(3,)
"""
from __future__ import annotations

from ..core.parsing import parse_spec
from ..errors import SpecError
from .base import BASE_SD, Base, Distribution, Moments, PartialMoments
from .laws import Constant, Glorot, He, LogNormal, Normal, Uniform
from .matrices import Orthogonal, haar_orthogonal

__all__ = ["BASE_SD", "DISTRIBUTIONS", "Base", "Constant", "Distribution", "Glorot", "He", "LogNormal", "Moments",
           "Normal", "Orthogonal", "PartialMoments", "Uniform", "distribution", "haar_orthogonal", "scalar"]


def scalar(d: Distribution, role: str = "weights") -> Distribution:
    """``d`` itself when it is a law of one number; a :class:`SpecError` for a matrix law (``orthogonal``)."""
    if d.MATRIX:
        raise SpecError(f"{d.spec} is a law of n x n weight matrices and cannot give the {role} of the one-neuron "
                        "chain; use it with a width (simulate --width n) or with spectrum --weights orthogonal")
    return d


#: Spec name → class. The only list of distributions; the CLI help and the errors read it.
DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.NAME: cls for cls in (Normal, Uniform, Constant, LogNormal, Glorot, He, Orthogonal)
}


def distribution(spec: str | Distribution) -> Distribution:
    """Parse ``spec`` (e.g. ``"normal(1, 0.5)"``, ``"he(256)"``) into a :class:`Distribution`.

    Raises :class:`~analytic.errors.SpecError` naming the offending part.
    """
    if isinstance(spec, Distribution):
        return spec
    name, args = parse_spec(spec)
    if name not in DISTRIBUTIONS:
        known = ", ".join(f"{n}({', '.join(c.ARGS)})" for n, c in DISTRIBUTIONS.items())
        raise SpecError(f"unknown distribution {name!r} in {spec.strip()!r}; known: {known}")
    return DISTRIBUTIONS[name](args)
