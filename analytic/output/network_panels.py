r"""The data of the wide-network figures, computed through the library and handed to
:mod:`analytic.output.network_plotting` as frozen panel records: nothing here draws.

The mean-field phase diagrams in the :math:`(\sigma_w^2, \sigma_b^2)` plane (tanh's critical line with
:math:`\xi_c` contours and simulated checks, :func:`phase_panel`; ReLU's critical point,
:func:`relu_phase_panel`), the singular-value densities of the input-output Jacobian at criticality
(:func:`isometry_panels`) and ReLU's finite-width gradient rate (:func:`finite_width_panel`). Each builder is
memoised per budget.

>>> from analytic.output.budget import QUICK
>>> relu_phase_panel(QUICK).critical_sigma_w2.tolist()
[2.0, 2.0]
"""
from __future__ import annotations

import functools
import math

import numpy as np

from . import network_plotting as N
from . import plotting as P
from .budget import DEFAULT, Budget
from .panels import Z95

# ---------------------------------------------------------------- mean-field phase diagram

#: The plotted range of sigma_b^2 and the largest sigma_w^2 shown.
PHASE_SIGMA_B2 = (0.0, 0.3)
PHASE_SIGMA_W2_MAX = 4.0
#: (sigma_w^2, sigma_b^2) where a simulated wide network checks chi_1, away from the critical line.
PHASE_CHECKS = ((0.7, 0.05), (2.9, 0.05), (1.2, 0.2), (3.5, 0.2))
#: xi_c levels drawn as contours (layers over which correlations between inputs propagate).
XI_LEVELS = (2, 3, 5, 10, 20)


def _adaptive_curve(f, t0: float, t1: float, scale: tuple[float, float], tol: float = 2e-4, depth: int = 12):
    """Points of the curve t -> f(t) on [t0, t1], bisected until each midpoint lies within ``tol`` (in units of
    the axes' ``scale``) of its chord and the two half-chords turn by at most 1 degree, so the drawn polyline shows
    no corners."""
    def refine(a, pa, b, pb, level):
        m = (a + b) / 2
        pm = f(m)
        dx, dy = (pb[0] - pa[0]) / scale[0], (pb[1] - pa[1]) / scale[1]
        ex, ey = (pm[0] - pa[0]) / scale[0], (pm[1] - pa[1]) / scale[1]
        gap = abs(dx * ey - dy * ex) / max(math.hypot(dx, dy), 1e-300)
        turn = abs(math.atan2(dy - ey, dx - ex) - math.atan2(ey, ex))
        turn = min(turn, 2 * math.pi - turn)
        if level >= depth or (gap <= tol and turn <= math.radians(1.0)):
            return [pm, pb]
        return refine(a, pa, m, pm, level + 1) + refine(m, pm, b, pb, level + 1)

    ts = np.linspace(t0, t1, 9)
    pts = [f(ts[0])]
    for a, b in zip(ts[:-1], ts[1:]):
        pts += refine(a, f(a), b, f(b), 0)
    return np.array(pts)


def _xi_grid(name: str, budget: Budget) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from ..theory.correlation import signal_propagation

    # sigma_b^2 = 0 itself is left out: there q* = 0 below the critical point, a different limit
    sw = np.linspace(0.25, PHASE_SIGMA_W2_MAX, 2 * budget.phase_points + 4)
    sb = np.linspace(0.01, PHASE_SIGMA_B2[1], budget.phase_points + 1)
    xi = np.full((len(sb), len(sw)), np.nan)
    chaotic = np.zeros((len(sb), len(sw)), bool)
    for j, b in enumerate(sb):
        for i, w in enumerate(sw):
            s = signal_propagation(name, float(w), float(b))
            xi[j, i] = np.nan if s.xi_c is None else s.xi_c
            chaotic[j, i] = s.phase == "chaotic"
    return sw, sb, xi, chaotic


@functools.lru_cache(maxsize=None)
def phase_panel(budget: Budget = DEFAULT) -> N.PhasePanel:
    r"""tanh in the :math:`(\sigma_w^2, \sigma_b^2)` plane: the critical line :math:`\chi_1 = 1`, its end point at
    :math:`\sigma_b^2 = 0` and contours of the correlation depth scale :math:`\xi_c`
    (:func:`analytic.theory.correlation.signal_propagation`). (ReLU's critical point :math:`\sigma_w^2 = 2` belongs
    to another activation: it is on :func:`relu_phase_panel`, not on tanh's plane.)

    The line is the curve of critical fixed points parametrised by :math:`q^*`: :math:`\sigma_w^2 = 1/W(q^*)`,
    :math:`\sigma_b^2 = q^* - V(q^*)/W(q^*)` (:math:`V = E[\varphi(\sqrt q z)^2]`, :math:`W = E[\varphi'(\sqrt q
    z)^2]`), sampled adaptively (:func:`_adaptive_curve`) so it is smooth. Checked by simulation at
    :data:`PHASE_CHECKS`: a width-128, depth-30 tanh network (:func:`analytic.mc.simulate_wide`) measures
    :math:`\chi_1 = e^{\text{slope}}` of :math:`\log\|g_l\|^2` per layer, shown beside the mean-field
    :math:`\chi_1`.
    """
    from scipy.optimize import brentq

    from ..theory.gaussian import gaussian_expectation
    from ..mc import simulate_wide
    from ..theory.criticality import critical_sigma_w2
    from ..theory.meanfield import mean_field

    def point(r: float) -> tuple[float, float]:  # r = sqrt(q*)
        V = gaussian_expectation("tanh", "phi2", std=r).value
        W = gaussian_expectation("tanh", "dphi2", std=r).value
        return 1.0 / W, r * r - V / W

    r_max = brentq(lambda r: point(r)[1] - PHASE_SIGMA_B2[1], 0.1, 10.0, xtol=1e-12)
    curve = _adaptive_curve(point, 1e-3, r_max, (PHASE_SIGMA_W2_MAX, PHASE_SIGMA_B2[1] - PHASE_SIGMA_B2[0]))
    sw2, sb2 = curve[:, 0], curve[:, 1]
    # the end point at sigma_b^2 = 0 (q* -> 0) from the library's own critical-point search, not from the curve
    end = float(critical_sigma_w2("tanh", 0.0))
    sw2, sb2 = np.concatenate([[end], sw2]), np.concatenate([[0.0], sb2])
    points = ((end, 0.0, rf"tanh: $\chi_1 = 1$ at $\sigma_w^2 = {end:.4g}$, $\sigma_b^2 = 0$"),)
    n = 128
    checks = []
    for sw, sb in PHASE_CHECKS:
        wide = simulate_wide("tanh", 30, n, f"normal(0, {math.sqrt(sw / n)!r})", bias=f"normal(0, {math.sqrt(sb)!r})",
                             batch=16, networks=4, seed=budget.seed)
        checks.append((sw, sb, math.exp(wide.slope.value), float(mean_field("tanh", sw, sb).chi1)))
    gw, gb, xi, chaotic = _xi_grid("tanh", budget)
    return N.PhasePanel("tanh", sb2, sw2, PHASE_SIGMA_W2_MAX, points, tuple(checks),
                        f"width-{n} tanh nets, depth 30;\n" + r"each label reads: simulated $\chi_1$ (mean-field $\chi_1$)",
                        gw, gb, xi, XI_LEVELS, chaotic=chaotic)


@functools.lru_cache(maxsize=None)
def relu_phase_panel(budget: Budget = DEFAULT) -> N.PhasePanel:
    r"""ReLU's own diagram: :math:`\chi_1 = \sigma_w^2/2` for every q, so the ordered region is
    :math:`\sigma_w^2 < 2`; at :math:`\sigma_w^2 \ge 2` with :math:`\sigma_b^2 > 0` the length grows without
    bound, and criticality is the single point :math:`(\sigma_w^2, \sigma_b^2) = (2, 0)` (He), from
    :func:`analytic.theory.criticality.critical_sigma_w2`. Contours of :math:`\xi_c = -1/\ln(\sigma_w^2/2)`."""
    from ..theory.criticality import critical_sigma_w2

    relu = critical_sigma_w2("relu", 0.0)
    gw, gb, xi, chaotic = _xi_grid("relu", budget)
    return N.PhasePanel("ReLU", np.array(PHASE_SIGMA_B2), np.array([relu, relu]), PHASE_SIGMA_W2_MAX,
                        ((relu, 0.0, rf"ReLU: $\chi_1 = 1$ only at $\sigma_w^2 = {relu:.4g}$, $\sigma_b^2 = 0$ (He)"),),
                        (), "", gw, gb, xi, XI_LEVELS, chaotic=chaotic,
                        right_label="unbounded\n$q_l \\to \\infty$",
                        boundary_label=r"$\sigma_w^2 = 2$: beyond it $q^* = \infty$ (for $\sigma_b^2 > 0$)")


# ---------------------------------------------------------------- dynamical isometry and finite width

#: The two activations of the isometry figure at criticality: (name, sigma_b^2).
ISOMETRY_ACTS = (("tanh", 1e-3), ("relu", 0.0))


@functools.lru_cache(maxsize=None)
def isometry_panels(budget: Budget = DEFAULT) -> tuple[N.SpectrumPanel, ...]:
    r"""Singular-value densities of J at criticality (:math:`\chi_1 = 1`) for tanh (:math:`\sigma_b^2 = 10^{-3}`)
    and ReLU, Gaussian and orthogonal weights, at ``budget.isometry_depths``: the S-transform density
    (:func:`analytic.theory.density.spectral_density`) as a density of :math:`t = \log_{10} s`,
    :math:`p(t) = 2\ln 10\,\lambda\rho(\lambda)` with :math:`\lambda = s^2`, over histograms of sampled networks
    (:func:`analytic.theory.sampled_spectrum.sample_spectrum`), normalised by the number of eigenvalues (ReLU's
    atom at 0 is left out of both)."""
    from ..theory.criticality import critical_sigma_w2
    from ..theory.density import spectral_density
    from ..theory.sampled_spectrum import sample_spectrum

    panels = []
    for act, sb in ISOMETRY_ACTS:
        sw = critical_sigma_w2(act, sb)
        for weights in ("gaussian", "orthogonal"):
            series = []
            for L in budget.isometry_depths:
                d = spectral_density(act, L, sw, sb, weights, points=budget.isometry_points)
                lam, rho = np.array(d.grid), np.array(d.values)
                mc = sample_spectrum(act, L, sw, budget.isometry_width, sb, weights,
                                     networks=budget.isometry_networks, seed=budget.seed)
                ev = np.array(mc.eigenvalues)
                t = 0.5 * np.log10(ev[ev > lam[0]])
                x, p = 0.5 * np.log10(lam), 2 * math.log(10) * lam * rho
                # the histogram spans where the density is drawn (above 1e-3 of its peak), not the whole grid:
                # a narrow law (orthogonal tanh) keeps its own bins
                seen = x[p > 1e-3 * np.max(p)]
                edges = np.linspace(float(seen.min()), float(seen.max()), 41)
                counts, _ = np.histogram(t, edges)
                series.append(N.SpectrumSeries(f"L = {L}", x, p, edges, counts / (len(ev) * np.diff(edges))))
            note = "atom 1/2 at s = 0 not shown" if act == "relu" else ""
            panels.append(N.SpectrumPanel(f"{act}, {weights} weights", tuple(series), note))
    return tuple(panels)


@functools.lru_cache(maxsize=None)
def finite_width_panel(budget: Budget = DEFAULT) -> N.FiniteWidthPanel:
    r"""ReLU's per-layer :math:`E\ln\|Ju\|^2` against 1/n at :math:`\sigma_w^2 = 2`: the exact law
    (:func:`analytic.theory.finite_width.finite_width`, depth 1), the large-width value
    :math:`-5/(2n)`, and the typical slope of real networks (:func:`analytic.mc.simulate_wide`,
    depth 12, He weights) with 95 % bars."""
    from ..mc import simulate_wide
    from ..theory.finite_width import finite_width

    # the exact law exists at integer widths only: every n up to 16, then a geometric sample of them
    ns = np.unique(np.concatenate([np.arange(2, 17), np.round(np.geomspace(16, 1024, 30)).astype(int)]))
    exact = np.array([finite_width("relu", 1, 2.0, int(n), median=False).log_mean.exact for n in ns])
    pts = np.array(budget.fw_widths)
    # narrow networks lose most inputs (all units off at some layer), so they get more networks
    nets = [budget.fw_networks * _narrow_factor(int(n)) for n in pts]
    sims = [simulate_wide("relu", 12, int(n), f"he({int(n)})", batch=8, networks=k, seed=budget.seed)
            for n, k in zip(pts, nets)]
    value = np.array([s.slope_log.value for s in sims])
    se = np.array([s.slope_log.stderr for s in sims])
    counts = f"{min(nets)}" if min(nets) == max(nets) else f"{min(nets)}–{max(nets)}"
    return N.FiniteWidthPanel(
        r"ReLU, $\sigma_w^2 = 2$: typical rate per layer", 1.0 / ns, exact, -2.5 / ns, 0.0,
        P.Band(1.0 / pts, value, value - Z95 * se, value + Z95 * se),
        f"Monte Carlo, depth 12, at every width:\n{counts} networks × 8 inputs, 95 % bars")


def _narrow_factor(n: int) -> int:
    """How many times more networks a width-n finite-width check runs (1 from width 16 on)."""
    return max(1, 16 // n)

