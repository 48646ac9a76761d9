r"""How much work each figure does: the :class:`Budget` of grid points, Monte Carlo samples, depths and seed that
every figure and the report take, with the full :data:`DEFAULT` and the small :data:`QUICK` used by tests.

>>> QUICK.grid < DEFAULT.grid
True
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArgumentError


@dataclass(frozen=True)
class Budget:
    """How much work each figure does: grid points per curve, Monte Carlo sample counts, depths, seed.

    The defaults cost about 17 s of CPU for the whole set (``benchmarks/figures.py`` measures it), shared by two
    worker processes; :data:`QUICK` runs the same code with smaller numbers, for tests. The data functions are
    memoised per budget, so figures that share data compute it once per process.
    """

    grid: int = 801
    chains: int = 20_000
    max_depth: int = 50
    depth_points: tuple[int, ...] = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50)
    hist_chains: int = 100_000
    hist_depths: tuple[int, ...] = (5, 10, 20)
    phase_points: int = 11
    dead_points: int = 13
    dead_width: int = 256
    dead_batch: int = 64
    jacobian_samples: int = 400
    jacobian_sizes: tuple[int, ...] = tuple(range(2, 11))
    isometry_depths: tuple[int, ...] = (4, 16)
    isometry_width: int = 200
    isometry_networks: int = 4
    isometry_points: int = 41
    fw_widths: tuple[int, ...] = (8, 16, 32, 64)
    fw_networks: int = 24
    seed: int = 0


DEFAULT = Budget()
QUICK = Budget(grid=201, chains=2_000, max_depth=20, depth_points=(1, 2, 5, 10, 20), hist_chains=5_000,
               hist_depths=(5, 10), phase_points=7, dead_points=5, dead_width=64, dead_batch=16,
               jacobian_samples=60, jacobian_sizes=(2, 3, 5), isometry_depths=(2, 6), isometry_width=40,
               isometry_networks=2, isometry_points=17, fw_widths=(4, 16), fw_networks=4)


def check_budget(budget: object) -> None:
    """Refuse anything but a :class:`Budget` (:class:`~analytic.errors.ArgumentError`)."""
    if not isinstance(budget, Budget):
        raise ArgumentError(f"budget must be a Budget, got {type(budget).__name__}")
