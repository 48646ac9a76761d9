r"""Monte Carlo of narrow ReLU networks born dead: the fraction of independent networks whose output is exactly 0
for a given input, layer by layer (the twin of :func:`analytic.theory.profile.born_alive_probability`).

Each sample is its own network of ``depth`` ReLU layers of width ``width``, no biases, weights drawn from
``weights`` (default He, :math:`N(0, 2/n)`), input :math:`x = (1, \dots, 1)`. The input dies at layer
:math:`l` when every pre-activation is :math:`\le 0` there (then every later layer is 0 too).

>>> b = simulate_born_dead(3, 10, samples=4000, seed=0)
>>> round(b.alive[-1], 2)
0.26
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..distributions import distribution, scalar
from ..errors import SimulationError, canonical_int
from ..limits import check_array
from .chain import seed_sequence


@dataclass(frozen=True)
class BornDead:
    """``alive[l - 1]``: the fraction of the ``samples`` networks whose layer-``l`` output is not all zero, for
    l = 1..depth, with its binomial standard error ``stderr`` (:math:`\\sqrt{p(1-p)/N}`)."""

    width: int
    depth: int
    weights: str
    samples: int
    seed: int
    alive: tuple[float, ...]
    stderr: tuple[float, ...]


def simulate_born_dead(width: int, depth: int, samples: int = 20_000, seed: int = 0,
                       weights: str | None = None) -> BornDead:
    r"""Simulate ``samples`` independent width-``width``, depth-``depth`` ReLU networks without biases on the
    input :math:`(1, \dots, 1)` and report the fraction still alive after each layer (see the module text)."""
    width = canonical_int("width", width, 1, 64, SimulationError)
    depth = canonical_int("depth", depth, 1, 10_000, SimulationError)
    samples = canonical_int("samples", samples, 2, 10**7, SimulationError)
    wd = scalar(distribution(weights if weights is not None else f"he({width})"))
    check_array("born-dead simulation: the weights of one layer (samples x width x width)", (samples, width, width))
    rng = np.random.default_rng(seed_sequence(seed))
    y = np.ones((samples, width))
    alive = np.empty(depth)
    for l in range(depth):
        W = wd.sample(rng, (samples, width, width))
        y = np.maximum(np.einsum("kij,kj->ki", W, y), 0.0)
        alive[l] = float(np.mean(np.any(y > 0, axis=1)))
    se = np.sqrt(alive * (1 - alive) / samples)
    return BornDead(width, depth, wd.spec, samples, int(seed), tuple(float(v) for v in alive),
                    tuple(float(v) for v in se))
