r"""Everything the ``spectrum`` command prints about :math:`JJ^\top` for the input-output Jacobian of a deep network.

At the mean-field fixed point :math:`q^*` of :math:`(\sigma_w^2, \sigma_b^2)`, :math:`J = \prod_l D_l W_l`: the
large-width moments :math:`m_1 = \mu_1^L` and variance (:mod:`analytic.theory.spectral_moments`), the
free-probability density (:mod:`analytic.theory.density`), and with a width the exact finite-width law
(:mod:`analytic.theory.finite_width`) and the sampled spectrum (:mod:`analytic.theory.sampled_spectrum`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..core.display import displayable, with_model
from ..core.calculus import resolve
from ..errors import ArgumentError, canonical_int
from .density import Density, spectral_density
from .sampled_spectrum import SampledSpectrum, sample_spectrum
from .spectral_moments import SpectrumMoments, spectrum_moments
from ..errors import canonical_bool


@displayable(title=lambda s: "spectrum of J J^T of a wide network (free probability, width -> infinity): "
                             f"{s.moments.act}, depth {s.moments.depth}",
             name="JacobianSpectrum",
             headline=(("act", lambda s: s.moments.act), ("L", lambda s: s.moments.depth),
                       ("sigma_w2", lambda s: s.moments.sigma_w2), ("weights", lambda s: s.moments.weights),
                       ("m1", lambda s: s.moments.m1), ("variance", lambda s: s.moments.variance)),
             summary=with_model("free probability (width -> infinity)"))
@dataclass(frozen=True)
class Spectrum:
    """Large-width moments and density, the exact finite-width law (ReLU family) and the sampled twin."""

    moments: SpectrumMoments
    density: Density | None
    finite_width: dict | None
    finite_width_note: str | None
    mc: SampledSpectrum | None
    notes: tuple[str, ...]

    def comparison(self) -> dict | None:
        """z-scores of the sampled moments against the large-width values, and the relative gaps."""
        if self.mc is None:
            return None
        out = {}
        for key in ("m1", "variance"):
            a, s = getattr(self.moments, key), getattr(self.mc, key)
            z = (s.value - a) / s.stderr if s.stderr > 0 else (0.0 if s.value == a else math.inf)
            out[key] = {"analytic": a, "simulated": s.value, "stderr": s.stderr, "z": z,
                        "relative_gap": (s.value - a) / a if a else s.value, "agree": abs(z) <= 4.0}
        return out

    def as_dict(self) -> dict:
        out = self.moments.as_dict()
        out.update(density=None if self.density is None else self.density.as_dict(),
                   finite_width=self.finite_width, finite_width_note=self.finite_width_note,
                   mc=None if self.mc is None else self.mc.as_dict(), comparison=self.comparison(),
                   notes=list(self.notes),
                   formulas={"m1": "mu_1^L", "variance": "m1^2 L (mu_2/mu_1^2 - 1 + [gaussian])",
                             "mu_k": "E[(sigma_w phi'(sqrt(q*) z))^(2k)]"})
        return out


def spectrum(act, depth: int, sigma_w2: float, sigma_b2: float = 0.0, weights: str = "gaussian",
             width=None, networks: int = 8, seed: int = 0, params: dict | None = None,
             density: bool = True) -> Spectrum:
    r"""What the ``spectrum`` command prints: :func:`spectrum_moments`, :func:`spectral_density`, and with
    ``width`` (one n, or :math:`n_0, \dots, n_L`) the exact finite-width law
    (:func:`analytic.theory.finite_width.finite_width`, where one exists) and :func:`sample_spectrum` (one n).

    >>> s = spectrum("relu", 2, 2.0, width=8, density=False, networks=2)
    >>> round(s.finite_width["mean"]["exact"], 12), s.mc.width
    (1.0, 8)
    """
    from .finite_width import canonical_widths, exact_law_reason, finite_width

    seed = canonical_int("seed", seed, 0, error=ArgumentError)
    density = canonical_bool("density", density)
    act = resolve(act, params)
    mom = spectrum_moments(act, depth, sigma_w2, sigma_b2, weights)
    notes = [f"large width n -> infinity at the fixed point q* = {mom.q_star:.6g}; factors asymptotically free"]
    if not (math.isfinite(mom.q_star) and mom.q_star > 0):
        notes.append("phi is positively homogeneous: the law of phi'(h), h ~ N(0, q), is the same at every q > 0, "
                     "so the spectrum does not need q to settle")
    dens = None
    if density:
        try:
            dens = spectral_density(act, depth, sigma_w2, sigma_b2, weights)
        except (OverflowError, ZeroDivisionError):
            notes.append(f"density withheld: its equations leave the float range at depth {mom.depth}")
    if dens is not None and len(dens.grid) == 1:
        notes.append(f"every eigenvalue of J J^T equals {dens.grid[0]:.6g} (orthogonal weights, constant phi'^2)"
                     + (f", apart from an atom {dens.atom:.6g} at 0" if dens.atom else ""))
    fw, fw_note, mc = None, None, None
    if width is None:
        fw_note = "give a width (--width n) for the exact finite-width law"
    else:
        ns = canonical_widths(width, mom.depth)
        if len(set(ns)) == 1:
            mc = sample_spectrum(act, mom.depth, sigma_w2, ns[0], sigma_b2, mom.weights, networks, seed)
            notes.append(f"Monte Carlo: {networks} networks of width {ns[0]}; its moments differ from the "
                         "large-width values by O(1/n) besides the sampling error")
        else:
            notes.append("Monte Carlo spectrum: needs one width for every layer")
        fw_note = exact_law_reason(act, sigma_b2, mom.weights)
        if fw_note is None:
            try:
                fw = finite_width(act, mom.depth, sigma_w2, ns).as_dict()
            except ArgumentError as exc:  # its moments leave the float range: withheld, with the reason
                fw_note = f"exact law withheld: {exc}"
    return Spectrum(mom, dens, fw, fw_note, mc, tuple(notes))
