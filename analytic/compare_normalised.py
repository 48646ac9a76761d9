r"""A simulated network with BatchNorm or LayerNorm (:func:`analytic.mc.normalised.simulate_normalised`) beside the
mean-field :math:`\lambda` of :mod:`analytic.theory.normalisation`: one :class:`~analytic.compare.Check` per rate.

``rate`` (the mean per-layer ratio :math:`R_l`) is checked against :math:`\lambda` and ``log_rate`` (the mean of
:math:`\ln R_l`) against :math:`\ln\lambda`. :math:`\lambda` is the :math:`n \to \infty` value at this very batch
size, so the simulation differs from it by :math:`O(1/n)` (and ``log_rate`` sits below :math:`\ln` ``rate`` by
about :math:`\mathrm{Var}\,R/(2\lambda^2)`, also :math:`O(1/n)`): both checks are mean-field references, as for
the plain wide network (:func:`analytic.compare.simulate`) — a disagreement is reported as the finite-width bias,
never as DISAGREE. A withheld :math:`\lambda` leaves the checks undecided.

>>> from analytic.architecture import normalised
>>> c = compare_normalised("identity", normalised("batch", 8), width=64, depth=8, networks=4, seed=1)
>>> round(c.analytic["lambda"]["value"], 12)
1.2
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .architecture import Architecture, canonical_architecture
from .compare import NOT_CONVERGED, Check, _mean_field_reference, _verdict
from .core.calculus import resolve
from .errors import SimulationError
from .mc.normalised import NormalisedSimulation, simulate_normalised
from .quantities import LogQuantity
from .theory.normalisation import normalised_growth


@dataclass(frozen=True)
class NormalisedComparison:
    """The simulation, the analytic values (:meth:`analytic.theory.normalisation.NormalisedGrowth.as_dict`), the
    checks and the verdict."""

    act: str
    architecture: Architecture
    result: NormalisedSimulation
    lam: LogQuantity
    analytic: dict
    checks: tuple[Check, ...]
    notes: tuple[str, ...]
    verdict: str

    @property
    def agree(self) -> bool:
        return bool(self.checks) and all(c.agree and c.reliable for c in self.checks)

    def check(self, statistic: str) -> Check | None:
        return next((c for c in self.checks if c.statistic == statistic), None)

    def as_dict(self) -> dict:
        r = self.result
        head = self.checks[0] if self.checks else None
        return {"architecture": self.architecture.to_json(), "width": r.width,
                "statistic": head.statistic if head else None, "analytic": head.analytic if head else None,
                "z": head.z if head else None, "agree": self.agree,
                "lambda": self.analytic["lambda"], "checks": [c.as_dict() for c in self.checks],
                "analytic_values": self.analytic,
                "simulation": {"act": r.act, "norm": r.norm, "batch": r.batch, "width": r.width, "depth": r.depth,
                               "networks": r.networks, "seed": r.seed, "sigma_w2": r.sigma_w2,
                               "burn_in": r.burn_in, "log_norm2": list(r.log_norm2), "rate": r.rate.as_dict(),
                               "log_rate": r.log_rate.as_dict()},
                "notes": list(self.notes), "verdict": self.verdict}


def compare_normalised(act, architecture: Architecture, width: int = 256, depth: int = 30, networks: int = 8,
                       seed: int = 0, params: dict[str, float] | None = None, sigma_w2: float = 1.0,
                       threads: int | None = None) -> NormalisedComparison:
    r"""Simulate ``networks`` width-``width`` networks of ``depth`` layers normalised as ``architecture``
    (``normalised("batch", B)`` or ``normalised("layer")``; LayerNorm simulates a batch of 8 independent inputs)
    and check their rates against :math:`\lambda` (module docstring)."""
    arch = canonical_architecture(architecture)
    if arch.kind != "normalised":
        raise SimulationError(f"a normalised simulation needs normalised(...), not {arch.describe()}")
    a = resolve(act, params)
    batch = arch.batch if arch.norm == "batch" else 8
    sim = simulate_normalised(a, arch.norm, batch=batch, width=width, depth=depth, networks=networks, seed=seed,
                              sigma_w2=sigma_w2, threads=threads)
    g = normalised_growth(a, arch)
    lam = g.lam
    note = (f"mean per-layer ratio ||g_(l-1)||^2/||g_l||^2 over layers {sim.burn_in + 1}..{sim.depth - sim.burn_in} "
            "(stderr over networks) vs lambda (n -> infinity)")
    checks = []
    if lam.withheld:
        for stat, value in (("rate", sim.rate), ("log_rate", sim.log_rate)):
            chk = Check.of(stat, lam.estimate, value.value, value.error, note)
            checks.append(dataclasses.replace(chk.undecided(NOT_CONVERGED), withheld=True))
    else:
        checks.append(_mean_field_reference(Check.of("rate", lam.value, sim.rate.value, sim.rate.error, note),
                                            sim.width))
        typical = Check.of("log_rate", math.log(lam.value), sim.log_rate.value, sim.log_rate.error,
                           "mean of ln R_l vs ln lambda (below ln rate by O(1/n) at finite width)")
        checks.append(_mean_field_reference(typical, sim.width))
    notes = []
    if arch.norm == "layer":
        notes.append("LayerNorm normalises each input across the units: the batch (8 inputs) only adds samples")
    return NormalisedComparison(a.name, arch, sim, lam, g.as_dict(), tuple(checks), tuple(notes), _verdict(checks))
