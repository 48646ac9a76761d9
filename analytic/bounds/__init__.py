r"""Proven bounds: :math:`\sup` and :math:`\inf` of :math:`\varphi'` (or of :math:`\varphi`) over the real line.

"Proved" means one of two things, and each result records which (:attr:`Bound.method`):

* **exact** — the value is a SymPy expression with the argument that makes it exact: the formula is split at its
  kinks; on each smooth piece the critical points (zeros of :math:`\varphi''`) are found by ``solveset`` over the
  piece's open interval and accepted only as a complete ``FiniteSet``; the candidates are the values at these
  points, the one-sided limits at the kinks and the limits at :math:`\pm\infty` (Gruntz's algorithm). When
  :math:`\varphi'` is a polynomial in :math:`s = \sigma(u)` or :math:`t = \tanh u` with :math:`u` linear in
  :math:`x` (sigmoid, tanh, softmax), the monotone substitution gives the proof directly.
* **certified** — where SymPy cannot settle the critical points (SiLU, Mish, the tanh form of GELU, most user
  formulas), an interval branch-and-bound with centred-form enclosures (``mpmath`` interval arithmetic, outward
  rounding) over a box :math:`[-R, R]`, a proved tail outside it (the sign of the derivative is enclosed on
  :math:`[R, \infty)` in interval arithmetic, so the function is monotone there and lies between its value at
  :math:`R` and its limit), and an interval bisection on the sign of :math:`\varphi''` that encloses the argmax.
  The value's enclosure is at most :data:`~analytic.bounds.certified.TARGET_WIDTH` wide.

The modules: :mod:`~analytic.bounds.result` (the result types), :mod:`~analytic.bounds.interval` (interval
arithmetic), :mod:`~analytic.bounds.pieces` (limits, continuity and critical points of each piece),
:mod:`~analytic.bounds.substitution`, :mod:`~analytic.bounds.tails`, :mod:`~analytic.bounds.certified`,
:mod:`~analytic.bounds.softmax`, :mod:`~analytic.bounds.exact` (:func:`bound`) and
:mod:`~analytic.bounds.proof` (structured proof steps).

A grid maximum is never reported. Kink convention values (PyTorch's autograd value of :math:`\varphi'` at a kink)
are reported beside the bound but never count as attaining it.

>>> from analytic.bounds import bound
>>> b = bound("sigmoid")
>>> b.sup.exact, b.sup.attained, b.sup.at
(1/4, True, '0')
"""
from __future__ import annotations

from .certified import TARGET_WIDTH
from .exact import bound
from .result import Bound, Extremum, SoftmaxJacobianBounds
from .softmax import softmax_jacobian_bounds

__all__ = ["Extremum", "Bound", "SoftmaxJacobianBounds", "bound", "softmax_jacobian_bounds", "TARGET_WIDTH"]
