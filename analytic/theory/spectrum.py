r"""Spectrum of :math:`JJ^\top` for the input-output Jacobian of a deep network at large width.

Network of depth L and width :math:`n \to \infty` at the mean-field fixed point :math:`q^*` of
:math:`(\sigma_w^2, \sigma_b^2)`: :math:`J = \prod_l D_l W_l` with :math:`D_l = \mathrm{diag}(\varphi'(h_l))`,
:math:`h \sim N(0, q^*)`, and :math:`W_l` Gaussian (entries :math:`N(0, \sigma_w^2/n)`) or :math:`\sigma_w` times
a Haar orthogonal matrix. Free probability (Pennington, Schoenholz & Ganguli 2017, "Resurrecting the sigmoid in
deep learning through dynamical isometry"; 2018, "The emergence of spectral universality in deep networks"):
the factors are asymptotically free, so S-transforms multiply,

.. math::
    S_{JJ^\top}(z) = \prod_{l=1}^L S_{D^2}(z)\, S_{WW^\top}(z), \qquad
    S_{WW^\top}^{\mathrm{Gauss}} = \frac{1}{1+z}, \quad S_{WW^\top}^{\mathrm{orth}} = 1,

with :math:`W` normalised to unit scale and :math:`\sigma_w` put into :math:`D`:
:math:`d^2 = \sigma_w^2\varphi'(h)^2`, :math:`\mu_k = E[d^{2k}]`. Writing :math:`S(z) = s_0 + s_1 z + \dots`, a
measure's :math:`m_1 = 1/s_0` and :math:`m_2/m_1^2 = 1 - s_1/s_0`, so the normalised variance adds over free
factors: :math:`\sigma^2_{JJ^\top}/m_1^2 = L(\mu_2/\mu_1^2 - 1) + L\,[\text{Gaussian}]` (Marchenko–Pastur has
normalised variance 1, the orthogonal ensemble 0), and :math:`m_1 = \mu_1^L = \chi_1^L`.

The density: with :math:`\psi(z) = \sum_k m_k z^k` and :math:`G(x) = (1 + \psi(1/x))/x`, the equation
:math:`x\,w\,S_{JJ^\top}(w) = 1 + w` for :math:`w = \psi(1/x)`, together with :math:`\psi_{D^2}(z) = w` for
:math:`S_{D^2}(w) = z(1+w)/w`, is solved by ``scipy.optimize.root`` at :math:`x = \lambda + i\eta`, lowering
:math:`\eta` to 0 from far off the axis (where :math:`w \approx m_1/x`); :math:`\rho(\lambda) = -\mathrm{Im}\,G/\pi`.

>>> s = spectrum_moments("identity", depth=4, sigma_w2=1.0, weights="gaussian")
>>> s.m1, s.variance   # Fuss-Catalan: m_2 = L + 1
(1.0, 4.0)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..core.calculus import numpy_pair, resolve
from ..core.registry import BoundActivation
from ..errors import ArgumentError, ConvergenceError, DepthError, canonical_int
from .meanfield import mean_field

WEIGHTS = ("gaussian", "orthogonal")
#: Gauss–Legendre nodes per piece (between kinks) of the law of d^2 over z in [-Z_MAX, Z_MAX].
NODES, Z_MAX = 200, 8.5
#: Nodes per piece of the (smaller) law the density equations sum over; the density's own moments, compared
#: with the exact ones in the output, show what this costs.
DENSITY_NODES = 64


@dataclass(frozen=True)
class D2Law:
    r"""The law of :math:`d^2 = \sigma_w^2\varphi'(\sqrt{q^*}z)^2` as weighted atoms (``values``, ``weights``)."""

    values: tuple[float, ...]
    weights: tuple[float, ...]
    mu1: float
    mu2: float
    error: float
    zero_mass: float


@dataclass(frozen=True)
class SpectrumMoments:
    """Large-width moments of the spectrum of :math:`JJ^\\top`."""

    act: str
    depth: int
    sigma_w2: float
    sigma_b2: float
    weights: str
    q_star: float
    chi1: float
    mu1: float
    mu2: float
    m1: float
    variance: float
    error: float
    zero_mass: float

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("act", "depth", "sigma_w2", "sigma_b2", "weights", "q_star", "chi1",
                                              "mu1", "mu2", "m1", "variance", "error", "zero_mass")}


def _canonical_weights(weights: str) -> str:
    w = str(weights).strip().lower()
    if w not in WEIGHTS:
        raise ArgumentError(f"weights must be one of {', '.join(WEIGHTS)}, got {weights!r}")
    return w


def _kinks_in_z(a: BoundActivation, scale: float) -> list[float]:
    pts = []
    for k in a.kinks:
        try:
            pts.append(float(k.at) / scale)
        except TypeError:
            continue
    return sorted(p for p in set(pts) if -Z_MAX < p < Z_MAX)


def _d2_nodes(act: BoundActivation, sigma_w2: float, q: float, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Nodes of :math:`d^2` and Gaussian weights: Gauss–Legendre on each piece of [-Z, Z] between kinks."""
    scale = math.sqrt(q)
    cuts = [-Z_MAX] + _kinks_in_z(act, scale) + [Z_MAX]
    x, w = np.polynomial.legendre.leggauss(nodes)
    zs, ws = [], []
    for a, b in zip(cuts, cuts[1:]):
        zs.append((a + b) / 2 + (b - a) / 2 * x)
        ws.append((b - a) / 2 * w)
    z, wt = np.concatenate(zs), np.concatenate(ws)
    wt = wt * np.exp(-z * z / 2)
    wt = wt / wt.sum()  # the mass outside |z| < 8.5 is 2e-17
    _, d = numpy_pair(act)(scale * z)
    return sigma_w2 * np.broadcast_to(d, z.shape) ** 2, wt


@functools.lru_cache(maxsize=256)
def _d2_law(act: BoundActivation, sigma_w2: float, q: float, nodes: int = NODES) -> D2Law:
    vals, wts = _d2_nodes(act, sigma_w2, q, nodes)
    vals2, wts2 = _d2_nodes(act, sigma_w2, q, nodes // 2)
    mu = [float(wts @ vals), float(wts @ vals ** 2)]
    mu_c = [float(wts2 @ vals2), float(wts2 @ vals2 ** 2)]
    err = max(abs(a - b) / max(abs(a), 1e-300) for a, b in zip(mu, mu_c)) + 1e-14
    # merge equal values (piecewise-constant phi' such as ReLU's gives a handful of atoms)
    u, inv = np.unique(np.round(vals, 14), return_inverse=True)
    merged = np.bincount(inv, weights=wts)
    zero = float(merged[u == 0].sum()) if (u == 0).any() else 0.0
    return D2Law(tuple(u.tolist()), tuple(merged.tolist()), mu[0], mu[1], err, zero)


def d2_law(act, sigma_w2: float, sigma_b2: float = 0.0, params: dict | None = None,
           nodes: int = NODES) -> tuple[D2Law, float, float]:
    """The law of :math:`d^2` at the mean-field fixed point, with :math:`q^*` and :math:`\\chi_1`."""
    a = resolve(act, params)
    mf = mean_field(a, sigma_w2, sigma_b2)
    q = float(mf.q_star)
    from .finite_width import relu_family

    if not (math.isfinite(q) and q > 0) and relu_family(a) is not None:
        # positively homogeneous phi: the law of phi'(h), h ~ N(0, q), is the same for every q > 0
        return _d2_law(a, float(mf.sigma_w2), 1.0, nodes), float(mf.q_star), float(mf.chi1)
    if not math.isfinite(q):
        raise ConvergenceError(f"the length map has no finite fixed point at sigma_w2 = {sigma_w2:g}, "
                               f"sigma_b2 = {sigma_b2:g} (q* = {q:g}): no stationary Jacobian spectrum")
    if q == 0:  # every pre-activation is 0: d^2 = sigma_w^2 phi'(0)^2 (the kink convention where there is one)
        _, d0 = numpy_pair(a)(np.zeros(1))
        v = float(mf.sigma_w2) * float(np.ravel(d0)[0]) ** 2
        return D2Law((v,), (1.0,), v, v * v, 0.0, 1.0 if v == 0 else 0.0), q, float(mf.chi1)
    return _d2_law(a, float(mf.sigma_w2), q, nodes), q, float(mf.chi1)


def spectrum_moments(act, depth: int, sigma_w2: float, sigma_b2: float = 0.0, weights: str = "gaussian",
                     params: dict | None = None) -> SpectrumMoments:
    r""":math:`m_1 = \mu_1^L` and :math:`\sigma^2_{JJ^\top} = m_1^2 L(\mu_2/\mu_1^2 - 1 + [\text{Gaussian}])`.

    >>> round(spectrum_moments("relu", 8, 2.0, weights="orthogonal").variance, 12)
    8.0
    """
    depth = canonical_int("depth", depth, 1, 10**4, DepthError)
    weights = _canonical_weights(weights)
    act = resolve(act, params)
    law, q, chi1 = d2_law(act, sigma_w2, sigma_b2)
    ratio = law.mu2 / law.mu1 ** 2 - 1 + (1.0 if weights == "gaussian" else 0.0)
    m1 = law.mu1 ** depth
    return SpectrumMoments(act.name, depth, float(sigma_w2), float(sigma_b2), weights, q, chi1,
                           law.mu1, law.mu2, m1, m1 * m1 * depth * ratio, law.error * 2 * depth, law.zero_mass)


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


def spectral_density(act, depth: int, sigma_w2: float, sigma_b2: float = 0.0, weights: str = "gaussian",
                     params: dict | None = None, points: int = 161) -> Density:
    r"""Eigenvalue density of :math:`JJ^\top` from the S-transform composition (module docstring).

    Solved for the normalised matrix :math:`JJ^\top/m_1` (per layer :math:`d^2/\mu_1`) on a log grid between
    the edges of the continuous part (a log scan of [1e-8, 1e4] refined by bisection), then scaled back. The atom at 0 is :math:`P(d^2 = 0)` (rank of a product of free
    factors in general position); with orthogonal weights the largest value :math:`d^2_{max}` of mass p gives an
    atom at :math:`(d^2_{max}/\mu_1)^L m_1` of mass :math:`\max(0, Lp - (L - 1))` (the subspace kept whole by
    every layer), counted in ``mass`` and the moments. Raises :class:`~analytic.errors.ConvergenceError` when
    the root finder leaves a residual above 1e-8, except within 1 % of an edge where the density diverges (free projections,
    as ReLU with orthogonal weights at small depth): those points are left out and counted in ``dropped``.

    >>> d = spectral_density("identity", 1, 1.0)   # Marchenko-Pastur on [0, 4]
    >>> round(d.m1, 3), round(d.variance, 3)
    (1.0, 1.0)
    """
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
    f = _equations(a, p, L, gaussian)
    cache: dict[float, tuple[np.ndarray, float]] = {}

    def at(lam, start=None):
        if lam not in cache:
            cache[lam] = _solve_at(f, lam, start)
        return cache[lam]

    inside = lambda lam: _rho(at(lam)[0], lam) > 0  # noqa: E731
    lo, hi = _support(inside, top_value ** L)
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
    if res > 1e-8:
        raise ConvergenceError(f"the S-transform equations left a residual {res:.2g} at some grid point")
    grid = np.array(kept[::-1])
    rho = np.array(vals[::-1])
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
    if top_atom:  # the atom at the top joins the moments (not the tabulated values)
        mass += top
        m1 += top * top_value ** L
        m2 += top * top_value ** (2 * L)
    return Density(tuple((grid * s).tolist()), tuple((rho / s).tolist()), law.zero_mass, float(mass), float(m1 * s),
                   float((m2 - m1 * m1) * s * s), res, dropped, top_atom)


# ---------------------------------------------------------------- the sampled twin

#: Sampled eigenvalues at most this times the largest count as zero (SVD rounds a rank-deficient product's zero
#: singular values to about 1e-16 times the largest, so their squares fall near 1e-32).
ZERO_EIGENVALUE = 1e-24
#: Largest depth × width³ × networks (multiply-adds) accepted by :func:`sample_spectrum`.
MAX_SPECTRUM_WORK = 4e11


@dataclass(frozen=True)
class Sampled:
    """A Monte Carlo mean with its standard error (across independent networks)."""

    value: float
    stderr: float


@dataclass(frozen=True)
class SampledSpectrum:
    r"""Spectra of :math:`JJ^\top` of ``networks`` sampled width-``width`` networks: per network
    :math:`\hat m_1 = \mathrm{tr}(JJ^\top)/n` and :math:`\hat\sigma^2 = \mathrm{tr}((JJ^\top)^2)/n - \hat m_1^2`,
    averaged with standard errors across networks; ``eigenvalues`` pooled (sorted) for histograms."""

    width: int
    networks: int
    seed: int
    m1: Sampled
    variance: Sampled
    eigenvalues: tuple[float, ...]

    def as_dict(self, bins: int = 60) -> dict:
        ev = np.array(self.eigenvalues)
        zero = ev <= ZERO_EIGENVALUE * ev.max() if len(ev) else ev > 0
        pos = ev[~zero]
        edges = np.geomspace(pos.min(), pos.max(), bins + 1) if len(pos) > 1 else np.array([0.0, 1.0])
        counts, _ = np.histogram(pos, edges)
        values = counts / (len(ev) * np.diff(edges))
        return {"width": self.width, "networks": self.networks, "seed": self.seed,
                "m1": self.m1.value, "m1_stderr": self.m1.stderr,
                "variance": self.variance.value, "variance_stderr": self.variance.stderr,
                "density": {"variable": "eigenvalue lambda of J J^T", "edges": edges.tolist(),
                            "values": values.tolist(), "zero_fraction": float(np.mean(zero)),
                            "zero_threshold": f"lambda <= {ZERO_EIGENVALUE:g} x the largest (rounding of a "
                                              "rank-deficient product)"}}


def _weights_matrix(rng: np.random.Generator, n: int, sigma_w2: float, weights: str) -> np.ndarray:
    from ..distributions import haar_orthogonal

    if weights == "gaussian":
        return rng.normal(0.0, math.sqrt(sigma_w2 / n), (n, n))
    return math.sqrt(sigma_w2) * haar_orthogonal(rng, n)


def sample_spectrum(act, depth: int, sigma_w2: float, width: int, sigma_b2: float = 0.0, weights: str = "gaussian",
                    networks: int = 8, seed: int = 0, params: dict | None = None) -> SampledSpectrum:
    r"""The Monte Carlo twin of :func:`spectrum_moments`: real networks of width n at the fixed point.

    Input :math:`x_0 = \varphi(h_0)`, :math:`h_0 \sim N(0, q^* I)` (so every layer starts at :math:`q^*`);
    :math:`h_l = W_l x_{l-1} + b_l`, :math:`b_l \sim N(0, \sigma_b^2)`; :math:`J = \prod_l D_l W_l`. The
    eigenvalues of :math:`JJ^\top` are the squared singular values of J (``numpy.linalg.svd``, which keeps the
    small ones that ``eigvalsh`` of the product would lose to rounding). Network k draws from
    ``SeedSequence(seed).spawn(networks)[k]``.

    >>> s = sample_spectrum("identity", 2, 1.0, width=50, weights="orthogonal", networks=2)
    >>> round(s.m1.value, 12), round(s.variance.value, 12)
    (1.0, 0.0)
    """
    depth = canonical_int("depth", depth, 1, 10**4, DepthError)
    width = canonical_int("width", width, 2, 10**4, ArgumentError)
    networks = canonical_int("networks", networks, 2, 10**5, ArgumentError)
    weights = _canonical_weights(weights)
    if depth * width ** 3 * networks > MAX_SPECTRUM_WORK:
        raise ArgumentError(f"depth x width^3 x networks = {depth * width ** 3 * networks:.3g} exceeds "
                            f"{MAX_SPECTRUM_WORK:.0e} (time); use a smaller width or fewer networks")
    a = resolve(act, params)
    mf = mean_field(a, sigma_w2, sigma_b2)
    q = float(mf.q_star)
    from .finite_width import relu_family

    if not (math.isfinite(q) and q > 0) and relu_family(a) is not None:
        q = 1.0  # positively homogeneous phi: the law of phi'(h) does not depend on q
    if not math.isfinite(q):
        raise ConvergenceError(f"no finite fixed point q* at sigma_w2 = {sigma_w2:g}, sigma_b2 = {sigma_b2:g}")
    pair = numpy_pair(a)
    sw, sb = float(mf.sigma_w2), float(mf.sigma_b2)
    m1s, vs, evs = [], [], []
    for child in np.random.SeedSequence(int(seed)).spawn(networks):
        rng = np.random.default_rng(child)
        x, _ = pair(math.sqrt(q) * rng.standard_normal(width))
        J = np.eye(width)
        for _ in range(depth):
            W = _weights_matrix(rng, width, sw, weights)
            h = W @ x + (rng.normal(0.0, math.sqrt(sb), width) if sb > 0 else 0.0)
            x, d = pair(h)
            J = np.broadcast_to(d, (width,))[:, None] * (W @ J)
        lam = np.linalg.svd(J, compute_uv=False) ** 2
        m1s.append(lam.mean())
        vs.append(np.mean(lam ** 2) - lam.mean() ** 2)
        evs.append(lam)
    se = lambda v: float(np.std(v, ddof=1) / math.sqrt(len(v)))  # noqa: E731
    return SampledSpectrum(width, networks, int(seed), Sampled(float(np.mean(m1s)), se(m1s)),
                           Sampled(float(np.mean(vs)), se(vs)), tuple(np.sort(np.concatenate(evs)).tolist()))


# ---------------------------------------------------------------- everything the spectrum command prints

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
    >>> s.finite_width["mean"]["exact"], s.mc.width
    (1.0, 8)
    """
    from .finite_width import canonical_widths, exact_law_reason, finite_width

    act = resolve(act, params)
    mom = spectrum_moments(act, depth, sigma_w2, sigma_b2, weights)
    notes = [f"large width n -> infinity at the fixed point q* = {mom.q_star:.6g}; factors asymptotically free"]
    if not (math.isfinite(mom.q_star) and mom.q_star > 0):
        notes.append("phi is positively homogeneous: the law of phi'(h), h ~ N(0, q), is the same at every q > 0, "
                     "so the spectrum does not need q to settle")
    dens = spectral_density(act, depth, sigma_w2, sigma_b2, weights) if density else None
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
            fw = finite_width(act, mom.depth, sigma_w2, ns).as_dict()
    return Spectrum(mom, dens, fw, fw_note, mc, tuple(notes))
