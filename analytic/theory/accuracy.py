r"""Every accuracy setting of the exact chain's transfer operator, in one frozen record, and the schedule of them.

The discretisation (:mod:`analytic.theory.transfer`) has three kinds of error: resolution (Chebyshev points per
piece of the y-range, the tanh–sinh step), grading (how many geometric pieces resolve y → 0 and y → ∞), and
truncation (the tanh–sinh window, the cut of a Gaussian base variable, the range of the outer rule over a
bias). An :class:`Accuracy` holds all of them; nothing else decides accuracy.

The chain is computed at two consecutive levels of :data:`SCHEDULE`, and the difference is the error. Consecutive
levels differ in **every** setting (:func:`check_schedule`), so the difference sees each kind of error: a
truncation shared by both estimates would be invisible to it. When a quantity misses its tolerance the chain
moves one level up, until the tolerance is met or the schedule (a fixed number of levels: a count, never a
clock) is spent.

>>> check_schedule(SCHEDULE)
>>> SCHEDULE[0].points < SCHEDULE[1].points and SCHEDULE[0].gauss_cut < SCHEDULE[1].gauss_cut
True
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class Accuracy:
    r"""One level of accuracy of the transfer operator.

    * ``points``: Chebyshev points per piece of the y-range;
    * ``step``: the tanh–sinh step h (on an interval of the weight that ends where the integrand is singular:
      w = 0, a kink or a zero of φ′);
    * ``legendre_points``: Gauss–Legendre points on every other interval (cut where φ(v) crosses a boundary of
      the y-grid's pieces, the integrand is smooth up to both ends);
    * ``grading_zero``: geometric pieces :math:`[4^{-(j+1)}, 4^{-j}]` towards y = 0 (then :math:`[0, 4^{-J}]`);
    * ``grading_infinity``: geometric pieces :math:`[4^{j-1}, 4^j]` towards ∞ on an unbounded side;
    * ``window``: the tanh–sinh rule runs over :math:`t \in [-\text{window}, \text{window}]`;
    * ``gauss_cut``: a Gaussian (or log-normal) base variable of the weight is cut at ±``gauss_cut`` sd;
    * ``outer_cut``, ``outer_points``: the outer Gauss–Legendre rule over a random bias (a Gaussian base over
      ±``outer_cut`` sd, ``outer_points`` points per piece);
    * ``uniform_pieces``: a uniform base variable is cut into this many equal pieces.
    """

    points: int
    step: float
    legendre_points: int
    grading_zero: int
    grading_infinity: int
    window: float
    gauss_cut: float
    outer_cut: float
    outer_points: int
    uniform_pieces: int

    def as_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        return (f"{self.points} Chebyshev points per piece, grading {self.grading_zero} towards 0 and "
                f"{self.grading_infinity} towards infinity, tanh-sinh step {self.step:.4g} over |t| <= "
                f"{self.window:g} and {self.legendre_points} Gauss-Legendre points per piece of the weight, "
                f"Gaussian base cut at {self.gauss_cut:g} sd, bias rule over {self.outer_cut:g} sd "
                f"with {self.outer_points} points per piece, {self.uniform_pieces} uniform pieces")


def _level(k: int) -> Accuracy:
    """Level k of the schedule: every setting strictly finer (or wider) than at level k - 1."""
    return Accuracy(points=16 + 4 * k, step=1 / (6 + 2 * k), legendre_points=20 + 4 * k, grading_zero=10 + 5 * k, grading_infinity=6 + k,
                    window=3.0 + 0.25 * k, gauss_cut=9.0 + k, outer_cut=7.0 + k, outer_points=8 + 4 * k,
                    uniform_pieces=6 + 2 * k)


#: The levels of accuracy, coarsest first. The chain starts with levels 0 (coarse) and 1 (fine) and moves up one
#: level while a quantity misses its tolerance, at most to the last level.
SCHEDULE = tuple(_level(k) for k in range(5))


def check_schedule(schedule: tuple) -> None:
    """Raise ValueError unless each level is finer than the one before it in every setting (more points and
    pieces, a smaller step, wider windows)."""
    for a, b in zip(schedule[:-1], schedule[1:]):
        for f in fields(Accuracy):
            lo, hi = getattr(a, f.name), getattr(b, f.name)
            if not (lo > hi if f.name == "step" else lo < hi):
                raise ValueError(f"accuracy schedule: {f.name} does not refine from {lo} to {hi}")
