r"""Eigenvalue density of :math:`JJ^\top` at large width, by free probability.

The factors of :math:`J = \prod_l D_l W_l` are asymptotically free (Pennington, Schoenholz & Ganguli 2017, 2018),
so S-transforms multiply: :math:`S_{JJ^\top}(z) = \prod_{l=1}^L S_{D^2}(z)\, S_{WW^\top}(z)` with
:math:`S_{WW^\top}^{\mathrm{Gauss}} = 1/(1+z)`, :math:`S_{WW^\top}^{\mathrm{orth}} = 1` and :math:`d^2` the law of
:mod:`analytic.theory.spectral_moments`. With :math:`\psi(z) = \sum_k m_k z^k` and :math:`G(x) = (1 + \psi(1/x))/x`,
the equation :math:`x\,w\,S_{JJ^\top}(w) = 1 + w` for :math:`w = \psi(1/x)`, together with
:math:`\psi_{D^2}(z) = w` for :math:`S_{D^2}(w) = z(1+w)/w`, is solved by ``scipy.optimize.root`` at
:math:`x = \lambda + i\eta`, lowering :math:`\eta` to 0 from far off the axis (where :math:`w \approx m_1/x`);
:math:`\rho(\lambda) = -\mathrm{Im}\,G/\pi`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.calculus import resolve
from ..errors import ArgumentError, ConvergenceError, canonical_int
from ..limits import check_array
from .spectral_moments import d2_law, spectrum_moments

#: Nodes per piece of the (smaller) law the density equations sum over; the density's own moments, compared
#: with the exact ones in the output, show what this costs.
DENSITY_NODES = 64

#: Most grid points of a tabulated density.
MAX_POINTS = 10**5


@dataclass(frozen=True)
class Density:
    r"""Density of the eigenvalues :math:`\lambda` of :math:`JJ^\top` (``atom`` is the mass at 0, not in
    ``values``; ``top_atom`` is (position, mass) of an atom at the top, if any); ``mass``, ``m1``, ``variance`` are
    integrals of the tabulated density (trapezoid in :math:`\ln\lambda`, the tail below the grid extrapolated as
    a power law) plus the top atom, for checking."""

    grid: tuple[float, ...]
    values: tuple[float, ...]
    atom: float
    mass: float
    m1: float
    variance: float
    residual: float
    dropped: int = 0
    top_atom: tuple[float, float] | None = None

    def as_dict(self) -> dict:
        return {"variable": "eigenvalue lambda of J J^T (singular value s = sqrt(lambda): density 2 s rho(s^2))",
                "grid": list(self.grid), "values": list(self.values), "atom": self.atom, "mass": self.mass,
                "m1": self.m1, "variance": self.variance, "residual": self.residual,
                "dropped_near_edges": self.dropped,
                "top_atom": None if self.top_atom is None else {"at": self.top_atom[0], "mass": self.top_atom[1]}}


#: Most grid points of a tabulated density (each is a root solve).
MAX_POINTS = 10**5

def _equations(a: np.ndarray, p: np.ndarray, depth: int, gaussian: bool):
    """Residuals of (psi_D(z) = w, x w y^L = 1 + w) in the unknowns (w, y), y = S_D(w) S_W(w) (see module)."""

    def f(v: np.ndarray, x: complex) -> np.ndarray:
        w, y = complex(v[0], v[1]), complex(v[2], v[3])
        z = y * w if gaussian else y * w / (1 + w)
        with np.errstate(divide="ignore", invalid="ignore"):  # the root finder may probe a pole z = 1/a
            e1 = np.sum(p * z * a / (1 - z * a)) - w
        e2 = x * w * y ** depth / (1 + w) - 1
        return np.array([e1.real, e1.imag, e2.real, e2.imag])

    return f


def _solve_at(f, lam: float, start: np.ndarray | None, steps: int = 16) -> tuple[np.ndarray, float]:
    """Root at x = lam + 0i, reached by lowering eta from 10 (1 + lam) geometrically (each step starting from
    the last root); ``start`` skips the homotopy when it converges to a root on the right branch."""
    from scipy.optimize import root

    def run(v, x):
        r = root(f, v, args=(x,), method="hybr", tol=1e-13)
        return r.x, float(np.abs(f(r.x, x)).max())

    if start is not None:
        v, res = run(start, complex(lam, 0.0))
        if res < 1e-9 and v[1] <= 1e-12:
            return v, res
    eta0 = 10 * (1 + lam)
    x = complex(lam, eta0)
    w0 = 1 / x
    v = np.array([w0.real, w0.imag, 1.0, 0.0])
    for eta in eta0 * np.geomspace(1, 1e-9, steps):
        v, _ = run(v, complex(lam, eta))
    v, res = run(v, complex(lam, 0.0))
    if res > 1e-10 and steps < 64:  # near an edge (a branch point) smaller steps reach the root
        return _solve_at(f, lam, None, steps * 4)
    return v, res


def _rho(v: np.ndarray, lam: float) -> float:
    """rho = -Im G / pi with G = (1 + w)/x; an imaginary part at the root finder's tolerance counts as 0."""
    im = -v[1]
    return im / (math.pi * lam) if im > 1e-10 * (1 + abs(complex(v[0], v[1]))) else 0.0


def _bisect(inside, x_in: float, x_out: float) -> float:
    """The edge between an inside and an outside point: 26 bisections in log; returns the inside end."""
    a, b = math.log(x_in), math.log(x_out)
    for _ in range(26):
        m = (a + b) / 2
        a, b = (m, b) if inside(math.exp(m)) else (a, m)
    return math.exp(a)


def _support(inside, top: float) -> tuple[float, float]:
    """Lowest and highest edge of the continuous part (normalised scale), scanning [1e-8, 1e4] on a log grid
    plus the mean 1 and points just below a top atom, then bisecting; 1e-8 when the support reaches that far."""
    scan = np.unique(np.concatenate([np.geomspace(1e-8, 1e4, 25), [1.0], top * (1 - np.geomspace(1e-4, 0.5, 12))]))
    hits = [i for i, x in enumerate(scan) if inside(float(x))]
    if not hits:
        raise ConvergenceError("no continuous part of the spectrum found on [1e-8, 1e4] times m1")
    i0, i1 = hits[0], hits[-1]
    lo = float(scan[0]) if i0 == 0 else _bisect(inside, float(scan[i0]), float(scan[i0 - 1]))
    hi = float(scan[-1]) if i1 == len(scan) - 1 else _bisect(inside, float(scan[i1]), float(scan[i1 + 1]))
    return lo, hi


def _tabulate(f, top: float, points: int) -> tuple[np.ndarray, np.ndarray, float, int]:
    r"""The normalised density :math:`\rho` on a grid over the support of its continuous part (edges from
    :func:`_support`; ``top`` is the position of a top atom or the largest value): ``(grid, rho, residual,
    dropped)``, the edges included with :math:`\rho = 0`, points near a singular edge left out and counted."""
    cache: dict[float, tuple[np.ndarray, float]] = {}

    def at(lam, start=None):
        if lam not in cache:
            cache[lam] = _solve_at(f, lam, start)
        return cache[lam]

    inside = lambda lam: _rho(at(lam)[0], lam) > 0  # noqa: E731
    lo, hi = _support(inside, top)
    near = np.geomspace(1e-7, 0.2, max(8, points // 4))
    grid = np.unique(np.concatenate([np.geomspace(lo, hi, points), np.linspace(lo, hi, points), hi - (hi - lo) * near,
                                     lo + (hi - lo) * near]))
    kept, vals, res, prev, dropped = [], [], 0.0, None, 0
    edges = {hi} | ({lo} if lo > 1e-8 else set())
    for lam in grid[::-1]:
        if lam in edges:  # an edge of the support is a branch point: the density vanishes there
            kept.append(lam)
            vals.append(0.0)
            continue
        v, r = _solve_at(f, float(lam), prev)
        if r > 1e-8 and min(abs(lam - hi), abs(lam - lo)) < 1e-2 * hi:
            dropped += 1  # a singular edge (the density diverges there, e.g. free projections): left out
            continue
        prev, res = v, max(res, r)
        kept.append(lam)
        vals.append(_rho(v, float(lam)))
    return np.array(kept[::-1]), np.array(vals[::-1]), res, dropped


def _integrals(grid: np.ndarray, rho: np.ndarray) -> tuple[float, float, float]:
    r""":math:`\int \lambda^k \rho\,d\lambda` for k = 0, 1, 2: trapezoid in :math:`t = \ln\lambda`, plus a power-law
    tail :math:`\rho \sim C\lambda^{-\alpha}` (:math:`\alpha < 1`) below the grid, integrated in closed form."""
    t = np.log(grid)
    mass = np.trapezoid(rho * grid, t)
    m1 = np.trapezoid(rho * grid ** 2, t)
    m2 = np.trapezoid(rho * grid ** 3, t)
    if rho[0] > 0 and rho[1] > 0:  # power-law tail below the grid: rho ~ C lam^-alpha
        alpha = -(math.log(rho[1]) - math.log(rho[0])) / (t[1] - t[0])
        if alpha < 1:
            mass += rho[0] * grid[0] / (1 - alpha)
            m1 += rho[0] * grid[0] ** 2 / (2 - alpha)
            m2 += rho[0] * grid[0] ** 3 / (3 - alpha)
    return mass, m1, m2


def spectral_density(act, depth: int, sigma_w2: float, sigma_b2: float = 0.0, weights: str = "gaussian",
                     params: dict | None = None, points: int = 161) -> Density:
    r"""Eigenvalue density of :math:`JJ^\top` from the S-transform composition (module docstring).

    Solved for the normalised matrix :math:`JJ^\top/m_1` (per layer :math:`d^2/\mu_1`) on a log grid between
    the edges of the continuous part (a log scan of [1e-8, 1e4] refined by bisection), then scaled back. The
    atom at 0 is :math:`P(d^2 = 0)` (rank of a product of free factors in general position); with orthogonal
    weights the largest value :math:`d^2_{max}` of mass p gives an atom at :math:`(d^2_{max}/\mu_1)^L m_1` of
    mass :math:`\max(0, Lp - (L - 1))` (the subspace kept whole by every layer), counted in ``mass`` and the
    moments. Raises :class:`~analytic.errors.ConvergenceError` when the root finder leaves a residual above
    1e-8, except within 1 % of an edge where the density diverges (free projections, as ReLU with orthogonal
    weights at small depth): those points are left out and counted in ``dropped``.

    >>> d = spectral_density("identity", 1, 1.0)   # Marchenko-Pastur on [0, 4]
    >>> round(d.m1, 3), round(d.variance, 3)
    (1.0, 1.0)
    """
    points = canonical_int("points", points, 3, MAX_POINTS, ArgumentError)
    check_array("spectral density grid (about 2.3 x points)", (3 * points,))
    act = resolve(act, params)
    mom = spectrum_moments(act, depth, sigma_w2, sigma_b2, weights)
    law, _, _ = d2_law(act, sigma_w2, sigma_b2, nodes=DENSITY_NODES)
    a, p = np.array(law.values) / law.mu1, np.array(law.weights)
    gaussian = mom.weights == "gaussian"
    L, s = mom.depth, mom.m1
    top_value = float(a.max())
    top = 0.0 if gaussian else max(0.0, L * float(p[a == a.max()].sum()) - (L - 1))
    top_atom = (s * top_value ** L, top) if top > 0 else None
    if top + law.zero_mass >= 1 - 1e-12:  # all mass in atoms (orthogonal weights, d^2 in {0, one value})
        m1 = s * top_value ** L * top
        return Density((), (), law.zero_mass, top, m1, s * s * top_value ** (2 * L) * top - m1 * m1, 0.0, 0,
                       top_atom)
    grid, rho, res, dropped = _tabulate(_equations(a, p, L, gaussian), top_value ** L, points)
    if res > 1e-8:
        raise ConvergenceError(f"the S-transform equations left a residual {res:.2g} at some grid point")
    mass, m1, m2 = _integrals(grid, rho)
    if top_atom:  # the atom at the top joins the moments (not the tabulated values)
        mass += top
        m1 += top * top_value ** L
        m2 += top * top_value ** (2 * L)
    return Density(tuple((grid * s).tolist()), tuple((rho / s).tolist()), law.zero_mass, float(mass), float(m1 * s),
                   float((m2 - m1 * m1) * s * s), res, dropped, top_atom)
