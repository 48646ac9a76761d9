r"""How much work each figure does: the :class:`Budget` of grid points, Monte Carlo samples, depths and seed that
every figure and the report take, with the full :data:`DEFAULT` and the small :data:`QUICK` used by tests.

>>> QUICK.grid < DEFAULT.grid
True
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import ArgumentError, canonical_int, canonical_ints


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
    fw_widths: tuple[int, ...] = (2, 3, 4, 8, 16, 32, 64)
    fw_networks: int = 24
    seed: int = 0
    profile_depth: int = 30
    profile_width: int = 256
    profile_batch: int = 16
    profile_networks: int = 8
    born_dead_samples: int = 20_000
    arch_depth: int = 50
    arch_samples: int = 20_000

    def __post_init__(self) -> None:
        """Every field checked where the budget is made (:class:`~analytic.errors.ArgumentError` naming it), so a
        figure never starts on a count it cannot use: integers in their :data:`LIMITS`, tuples non-empty."""
        for name, (low, high) in LIMITS.items():
            value = getattr(self, name)
            if isinstance(value, tuple) or name in TUPLES:
                checked = canonical_ints(f"budget.{name}", value, low, high)
            else:
                checked = canonical_int(f"budget.{name}", value, low, high, ArgumentError)
            object.__setattr__(self, name, checked)


#: The tuple fields of a :class:`Budget`.
TUPLES = ("depth_points", "hist_depths", "jacobian_sizes", "isometry_depths", "fw_widths")
#: The range of each field of a :class:`Budget` (for tuples: of each entry).
LIMITS = {"grid": (3, 10**5), "chains": (16, 10**7), "max_depth": (1, 10**4), "depth_points": (1, 10**4),
          "hist_chains": (16, 10**7), "hist_depths": (1, 10**4), "phase_points": (2, 1000), "dead_points": (2, 1000),
          "dead_width": (2, 10**4), "dead_batch": (2, 10**5), "jacobian_samples": (2, 10**6),
          "jacobian_sizes": (2, 1000), "isometry_depths": (1, 10**4), "isometry_width": (2, 10**4),
          "isometry_networks": (1, 10**4), "isometry_points": (3, 10**5), "fw_widths": (1, 10**4),
          "fw_networks": (2, 10**5), "seed": (0, 2**63 - 1),
          "profile_depth": (2, 10**3), "profile_width": (2, 10**4), "profile_batch": (1, 10**4),
          "profile_networks": (2, 10**4), "born_dead_samples": (16, 10**7),
          "arch_depth": (2, 10**3), "arch_samples": (16, 10**7)}


DEFAULT = Budget()
QUICK = Budget(grid=201, chains=2_000, max_depth=20, depth_points=(1, 2, 5, 10, 20), hist_chains=5_000,
               hist_depths=(5, 10), phase_points=7, dead_points=5, dead_width=64, dead_batch=16,
               jacobian_samples=60, jacobian_sizes=(2, 3, 5), isometry_depths=(2, 6), isometry_width=40,
               isometry_networks=2, isometry_points=17, fw_widths=(2, 16), fw_networks=4, profile_depth=8,
               profile_width=32, profile_batch=4, profile_networks=4, born_dead_samples=2_000, arch_depth=8,
               arch_samples=2_000)


def check_budget(budget: object) -> None:
    """Refuse anything but a :class:`Budget` (:class:`~analytic.errors.ArgumentError`)."""
    if not isinstance(budget, Budget):
        raise ArgumentError(f"budget must be a Budget, got {type(budget).__name__}")
