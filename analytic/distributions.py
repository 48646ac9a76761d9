r"""Weight, bias and pre-activation distributions: one spec string, one symbolic variable, one sampler.

A spec such as ``normal(1, 0.5)`` is parsed by the whitelist parser (:func:`analytic.core.parsing.parse_spec`) into one
of the classes below. Each class declares its argument names and their checks, a ``sympy.stats`` random variable,
a NumPy sampler drawing from a :class:`numpy.random.Generator` passed in, and the moments the gradient formulas
need — :math:`E[w]`, :math:`E|w|`, :math:`E[w^2]`, :math:`E\log|w|` — as exact SymPy expressions.

>>> from analytic.distributions import distribution
>>> d = distribution("normal(1, 0.5)")
>>> d.moments().mean_square
5/4
>>> import numpy as np
>>> d.sample(np.random.default_rng(0), 3).shape
(3,)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp
import sympy.stats as stats

from .errors import SpecError
from .core.parsing import parse_spec


@dataclass(frozen=True)
class Moments:
    r"""Exact moments of a distribution (SymPy numbers; ``mean_log_abs`` may be ``-oo``)."""

    mean: sp.Expr
    mean_abs: sp.Expr
    mean_square: sp.Expr
    mean_log_abs: sp.Expr

    def floats(self) -> dict[str, float]:
        """The moments as floats, keyed by name."""
        return {k: float(getattr(self, k)) for k in ("mean", "mean_abs", "mean_square", "mean_log_abs")}


def _fmt(value: float) -> str:
    """A spec argument as the shortest text that reads back as the same float (``1``, ``0.5``, ``0.1234567891``)."""
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _exact(value: float) -> sp.Expr:
    """A float argument as an exact rational (0.5 → 1/2), so moments come out exact."""
    return sp.nsimplify(value, rational=True)


@dataclass(frozen=True)
class Distribution:
    """Base class: ``args`` are the spec's numbers, named by ``ARGS``."""

    args: tuple[float, ...]
    NAME: ClassVar[str] = ""
    ARGS: ClassVar[tuple[str, ...]] = ()
    #: True for laws of whole matrices (``orthogonal``), which have no per-entry moments.
    MATRIX: ClassVar[bool] = False

    def __post_init__(self) -> None:
        if len(self.args) != len(self.ARGS):
            raise SpecError(f"{self.NAME} takes {len(self.ARGS)} argument(s) ({', '.join(self.ARGS)}), "
                            f"got {len(self.args)}: {self.spec}")
        for name, value in zip(self.ARGS, self.args):
            if not math.isfinite(value):
                raise SpecError(f"{self.spec}: {name} must be finite, got {value}")
        self.check()

    @property
    def spec(self) -> str:
        """The canonical spec string, e.g. ``normal(1, 0.5)``."""
        return f"{self.NAME}({', '.join(_fmt(a) for a in self.args)})"

    def __str__(self) -> str:
        return self.spec

    def check(self) -> None:
        """Raise :class:`SpecError` for invalid arguments (overridden per class)."""

    def fail(self, name: str, rule: str) -> None:
        raise SpecError(f"{self.spec}: {name} must be {rule}, got {self.args[self.ARGS.index(name)]:g}")

    def variable(self, name: str = "w") -> sp.Expr:
        """A ``sympy.stats`` random variable (a plain number for ``constant``)."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` independent draws from ``rng``."""
        raise NotImplementedError

    def moments(self) -> Moments:
        """Exact :math:`E[w], E|w|, E[w^2], E\\log|w|`."""
        raise NotImplementedError

    def pdf(self, w: np.ndarray) -> np.ndarray:
        """Density at ``w`` (NumPy); ``constant`` has none and raises ``TypeError``."""
        raise TypeError(f"{self.spec} has no density")

    @property
    def is_constant(self) -> bool:
        return False

    def partial_moments(self) -> "PartialMoments":
        r"""Exact :math:`P(\pm w > 0)`, :math:`E[w^k; \pm w > 0]` (k = 1, 2) and :math:`P(w = 0)`."""
        raise NotImplementedError

    def partial_log_moments(self) -> tuple[float, float]:
        r""":math:`(E[\log|w|; w > 0], E[\log|w|; w < 0])` as floats (quadrature where there is no closed form)."""
        raise NotImplementedError

    def base(self) -> "Base":
        """How quadrature reaches this law: ``w = base.w(z)`` for ``z`` with density ``base.density`` on
        ``[base.lo, base.hi]`` (see :class:`Base`)."""
        raise NotImplementedError


@dataclass(frozen=True)
class PartialMoments:
    r"""Moments of a weight law split by the sign of :math:`w` (SymPy numbers): ``pos[k]`` is
    :math:`E[w^k\,1(w > 0)]`, ``neg[k]`` is :math:`E[w^k\,1(w < 0)]` for k = 0, 1, 2, ``zero`` is :math:`P(w = 0)`."""

    pos: tuple[sp.Expr, sp.Expr, sp.Expr]
    neg: tuple[sp.Expr, sp.Expr, sp.Expr]
    zero: sp.Expr


#: Half-width, in standard deviations, of the range a normal base variable is integrated over: the mass beyond
#: 13 sd is 1.2e-38, far below any tolerance, even against integrands growing like w^2.
BASE_SD = 13.0


@dataclass(frozen=True)
class Base:
    r"""A weight law as a map from a base variable: ``kind`` ``normal`` (:math:`w = a + b z`, :math:`z \sim N(0,1)`
    cut at :data:`BASE_SD`), ``uniform`` (:math:`w = z` on :math:`[a, b]`), ``lognormal`` (:math:`w = e^{a + b z}`,
    :math:`z \sim N(0, 1)`) or ``constant`` (:math:`w = a`)."""

    kind: str
    a: float
    b: float

    @property
    def lo(self) -> float:
        return self.a if self.kind == "uniform" else -BASE_SD

    @property
    def hi(self) -> float:
        return self.b if self.kind == "uniform" else BASE_SD

    def w(self, z: np.ndarray) -> np.ndarray:
        if self.kind == "normal":
            return self.a + self.b * z
        if self.kind == "lognormal":
            return np.exp(self.a + self.b * z)
        return np.asarray(z, dtype=float) if self.kind == "uniform" else np.full(np.shape(z), self.a)

    def z(self, w: float) -> float:
        """The base point of ``w`` (clipped to the range; ``nan`` where no base point maps to it)."""
        if self.kind == "normal":
            return min(max((w - self.a) / self.b, self.lo), self.hi)
        if self.kind == "lognormal":
            return min(max((math.log(w) - self.a) / self.b, self.lo), self.hi) if w > 0 else math.nan
        return min(max(w, self.lo), self.hi) if self.kind == "uniform" else math.nan

    def density(self, z: np.ndarray) -> np.ndarray:
        z = np.asarray(z, dtype=float)
        if self.kind == "uniform":
            return np.full(z.shape, 1.0 / (self.b - self.a))
        return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _normal_partial(mu: sp.Expr, sigma: sp.Expr) -> PartialMoments:
    def side(m):  # E[w^k 1(w > 0)] for w ~ N(m, sigma^2), k = 0, 1, 2
        P = (1 + sp.erf(m / (sigma * sp.sqrt(2)))) / 2
        d = sigma * sp.exp(-m**2 / (2 * sigma**2)) / sp.sqrt(2 * sp.pi)
        return (P, m * P + d, (m**2 + sigma**2) * P + m * d)

    p, n = side(mu), side(-mu)
    return PartialMoments(p, (n[0], -n[1], n[2]), sp.S.Zero)


def _quad_side_log_normal(mu: float, sigma: float) -> tuple[float, float]:
    from scipy import integrate, stats as sstats

    f = lambda w: math.log(abs(w)) * sstats.norm.pdf(w, mu, sigma) if w != 0 else 0.0  # noqa: E731
    lo, hi = mu - 40 * sigma, mu + 40 * sigma
    pos = integrate.quad(f, max(0.0, lo), hi, limit=200, epsabs=1e-14, epsrel=1e-12)[0] if hi > 0 else 0.0
    neg = integrate.quad(f, lo, min(0.0, hi), limit=200, epsabs=1e-14, epsrel=1e-12)[0] if lo < 0 else 0.0
    return pos, neg


def _normal_moments(mu: sp.Expr, sigma: sp.Expr) -> Moments:
    # E|w| for w ~ N(mu, sigma^2): sigma*sqrt(2/pi)*exp(-mu^2/(2 sigma^2)) + mu*erf(mu/(sigma*sqrt(2)))
    mean_abs = sigma * sp.sqrt(2 / sp.pi) * sp.exp(-mu**2 / (2 * sigma**2)) + mu * sp.erf(mu / (sigma * sp.sqrt(2)))
    if mu == 0:  # E log|sigma z| = log sigma - (gamma + log 2)/2
        log_abs = sp.log(sigma) - (sp.EulerGamma + sp.log(2)) / 2
    else:
        log_abs = sp.Float(_quad_log_abs_normal(float(mu), float(sigma)), 17)
    return Moments(mu, mean_abs, mu**2 + sigma**2, log_abs)


def _quad_log_abs_normal(mu: float, sigma: float) -> float:
    """E log|mu + sigma z| by quadrature, split at the singularity w = 0 (where log|w| is integrable)."""
    from scipy import integrate, stats as sstats

    f = lambda w: math.log(abs(w)) * sstats.norm.pdf(w, mu, sigma) if w != 0 else 0.0  # noqa: E731
    lo, hi = mu - 40 * sigma, mu + 40 * sigma
    pieces = [(lo, min(0.0, hi)), (max(0.0, lo), hi)] if lo < 0 < hi else [(lo, hi)]
    return sum(integrate.quad(f, a, b, limit=200, epsabs=1e-13, epsrel=1e-12)[0] for a, b in pieces if b > a)


@dataclass(frozen=True)
class Normal(Distribution):
    NAME: ClassVar[str] = "normal"
    ARGS: ClassVar[tuple[str, ...]] = ("mu", "sigma")

    def check(self) -> None:
        if not self.args[1] > 0:
            self.fail("sigma", "> 0")

    @property
    def mu(self) -> float:
        return self.args[0]

    @property
    def sigma(self) -> float:
        return self.args[-1] if self.NAME == "normal" else self._sigma()

    def _sigma(self) -> float:
        raise NotImplementedError

    def exact_params(self) -> tuple[sp.Expr, sp.Expr]:
        return _exact(self.args[0]), _exact(self.args[1])

    def variable(self, name: str = "w") -> sp.Expr:
        mu, sigma = self.exact_params()
        return stats.Normal(name, mu, sigma)

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return rng.normal(self.mu, self.sigma, size)

    def moments(self) -> Moments:
        return _normal_moments(*self.exact_params())

    def pdf(self, w: np.ndarray) -> np.ndarray:
        z = (np.asarray(w, dtype=float) - self.mu) / self.sigma
        return np.exp(-z * z / 2) / (self.sigma * math.sqrt(2 * math.pi))

    def partial_moments(self) -> PartialMoments:
        return _normal_partial(*self.exact_params())

    def partial_log_moments(self) -> tuple[float, float]:
        mu, sigma = self.exact_params()
        if mu == 0:  # half of E log|sigma z| on each side
            half = float((sp.log(sigma) - (sp.EulerGamma + sp.log(2)) / 2) / 2)
            return half, half
        return _quad_side_log_normal(float(mu), float(sigma))

    def base(self) -> Base:
        return Base("normal", float(self.mu), float(self.sigma))


@dataclass(frozen=True)
class Glorot(Normal):
    r"""Glorot/Xavier normal: :math:`N(0, 2/(n_{in}+n_{out}))`."""

    NAME: ClassVar[str] = "glorot"
    ARGS: ClassVar[tuple[str, ...]] = ("n_in", "n_out")

    def check(self) -> None:
        for name, value in zip(self.ARGS, self.args):
            if not (value >= 1 and float(value).is_integer()):
                self.fail(name, "a positive integer")

    @property
    def mu(self) -> float:
        return 0.0

    def _sigma(self) -> float:
        return math.sqrt(2.0 / (self.args[0] + self.args[1]))

    def exact_params(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.S.Zero, sp.sqrt(sp.Rational(2, int(self.args[0]) + int(self.args[1])))


@dataclass(frozen=True)
class He(Normal):
    r"""He/Kaiming normal: :math:`N(0, 2/n_{in})`."""

    NAME: ClassVar[str] = "he"
    ARGS: ClassVar[tuple[str, ...]] = ("n_in",)

    check = Glorot.check

    @property
    def mu(self) -> float:
        return 0.0

    def _sigma(self) -> float:
        return math.sqrt(2.0 / self.args[0])

    def exact_params(self) -> tuple[sp.Expr, sp.Expr]:
        return sp.S.Zero, sp.sqrt(sp.Rational(2, int(self.args[0])))


@dataclass(frozen=True)
class Uniform(Distribution):
    NAME: ClassVar[str] = "uniform"
    ARGS: ClassVar[tuple[str, ...]] = ("a", "b")

    def check(self) -> None:
        if not self.args[0] < self.args[1]:
            raise SpecError(f"{self.spec}: a must be < b, got a = {self.args[0]:g}, b = {self.args[1]:g}")
        if not _exact(self.args[0]) < _exact(self.args[1]):  # the exact moments would divide by b - a = 0
            raise SpecError(f"{self.spec}: a and b are too close to tell apart (b - a = {self.args[1] - self.args[0]:g})")

    def variable(self, name: str = "w") -> sp.Expr:
        return stats.Uniform(name, _exact(self.args[0]), _exact(self.args[1]))

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return rng.uniform(self.args[0], self.args[1], size)

    def moments(self) -> Moments:
        a, b = map(_exact, self.args)
        if a >= 0:
            mean_abs = (a + b) / 2
        elif b <= 0:
            mean_abs = -(a + b) / 2
        else:
            mean_abs = (a**2 + b**2) / (2 * (b - a))

        def F(w):  # antiderivative of log|w|, continuous through 0
            return sp.S.Zero if w == 0 else w * sp.log(abs(w)) - w

        # no simplify: with large rationals (a = 99999999/100) it runs for minutes, and the form is exact as it is
        return Moments((a + b) / 2, mean_abs, (a**2 + a * b + b**2) / 3, (F(b) - F(a)) / (b - a))

    def pdf(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        a, b = self.args
        return np.where((w >= a) & (w <= b), 1.0 / (b - a), 0.0)

    def partial_moments(self) -> PartialMoments:
        a, b = map(_exact, self.args)

        def side(lo, hi):  # E[w^k 1(lo < w < hi)]
            lo, hi = max(lo, a), min(hi, b)
            if hi <= lo:
                return (sp.S.Zero,) * 3
            return tuple((hi**(k + 1) - lo**(k + 1)) / ((k + 1) * (b - a)) for k in range(3))

        return PartialMoments(side(0, b), side(a, 0), sp.S.Zero)

    def partial_log_moments(self) -> tuple[float, float]:
        a, b = map(_exact, self.args)

        def F(w):  # antiderivative of log|w|, continuous through 0
            return sp.S.Zero if w == 0 else w * sp.log(abs(w)) - w

        pos = (F(b) - F(max(a, 0))) / (b - a) if b > 0 else sp.S.Zero
        neg = (F(min(b, 0)) - F(a)) / (b - a) if a < 0 else sp.S.Zero
        return float(pos), float(neg)

    def base(self) -> Base:
        return Base("uniform", float(self.args[0]), float(self.args[1]))


@dataclass(frozen=True)
class Constant(Distribution):
    NAME: ClassVar[str] = "constant"
    ARGS: ClassVar[tuple[str, ...]] = ("c",)

    def variable(self, name: str = "w") -> sp.Expr:
        return _exact(self.args[0])

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return np.full(size, float(self.args[0]))

    def moments(self) -> Moments:
        c = _exact(self.args[0])
        return Moments(c, abs(c), c**2, sp.log(abs(c)) if c != 0 else -sp.oo)

    @property
    def is_constant(self) -> bool:
        return True

    def partial_moments(self) -> PartialMoments:
        c = _exact(self.args[0])
        one = (sp.S.One, c, c**2)
        nothing = (sp.S.Zero,) * 3
        return PartialMoments(one if c > 0 else nothing, one if c < 0 else nothing, sp.S.One if c == 0 else sp.S.Zero)

    def partial_log_moments(self) -> tuple[float, float]:
        c = float(self.args[0])
        return (math.log(c) if c > 0 else 0.0), (math.log(-c) if c < 0 else 0.0)

    def base(self) -> Base:
        return Base("constant", float(self.args[0]), 0.0)


@dataclass(frozen=True)
class LogNormal(Distribution):
    NAME: ClassVar[str] = "lognormal"
    ARGS: ClassVar[tuple[str, ...]] = ("mu", "sigma")

    #: E[w^2] = exp(2 mu + 2 sigma^2) must stay a finite float.
    MAX_LOG_MOMENT: ClassVar[float] = 700.0

    def check(self) -> None:
        Normal.check(self)
        mu, sigma = self.args
        if 2 * mu + 2 * sigma**2 > self.MAX_LOG_MOMENT:
            raise SpecError(f"{self.spec}: E[w^2] = exp(2 mu + 2 sigma^2) = exp({2 * mu + 2 * sigma**2:g}) overflows; "
                            f"keep mu + sigma^2 <= {self.MAX_LOG_MOMENT / 2:g}")

    def variable(self, name: str = "w") -> sp.Expr:
        return stats.LogNormal(name, _exact(self.args[0]), _exact(self.args[1]))

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return rng.lognormal(self.args[0], self.args[1], size)

    def moments(self) -> Moments:
        mu, sigma = map(_exact, self.args)
        mean = sp.exp(mu + sigma**2 / 2)
        return Moments(mean, mean, sp.exp(2 * mu + 2 * sigma**2), mu)

    def pdf(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        mu, sigma = self.args
        safe = np.where(w > 0, w, 1.0)
        dens = np.exp(-(np.log(safe) - mu) ** 2 / (2 * sigma**2)) / (safe * sigma * math.sqrt(2 * math.pi))
        return np.where(w > 0, dens, 0.0)

    def partial_moments(self) -> PartialMoments:
        mu, sigma = map(_exact, self.args)
        return PartialMoments((sp.S.One, sp.exp(mu + sigma**2 / 2), sp.exp(2 * mu + 2 * sigma**2)),
                              (sp.S.Zero,) * 3, sp.S.Zero)

    def partial_log_moments(self) -> tuple[float, float]:
        return float(self.args[0]), 0.0

    def base(self) -> Base:
        return Base("lognormal", float(self.args[0]), float(self.args[1]))


def haar_orthogonal(rng: np.random.Generator, rows: int, cols: int | None = None) -> np.ndarray:
    r"""A Haar-distributed orthogonal matrix (``rows`` × ``rows``), or for ``cols`` ≠ ``rows`` a Haar partial
    isometry (orthonormal columns if ``rows`` > ``cols``, orthonormal rows otherwise).

    QR of a standard Gaussian matrix :math:`G = QR` with the sign correction :math:`Q\,\mathrm{diag}(\mathrm{sign}\,
    \mathrm{diag} R)`: without it Q is not Haar (Mezzadri 2007, "How to generate random matrices from the classical
    compact groups").

    >>> q = haar_orthogonal(np.random.default_rng(0), 3)
    >>> bool(np.allclose(q.T @ q, np.eye(3)))
    True
    """
    cols = rows if cols is None else cols
    tall = rows >= cols
    g = rng.standard_normal((rows, cols) if tall else (cols, rows))
    q, r = np.linalg.qr(g)
    d = np.sign(np.diag(r))
    q = q * np.where(d == 0, 1.0, d)
    return q if tall else q.T


@dataclass(frozen=True)
class Orthogonal(Distribution):
    r"""``orthogonal(gain)``: an n × n weight matrix :math:`W = g\,O` with O Haar-distributed on the orthogonal
    group, so :math:`W^\top W = g^2 I` and :math:`\sigma_w^2 = n E[W_{ij}^2] = g^2`.

    A law of matrices, not of one number: the one-neuron chain, whose weights are scalars, refuses it
    (:func:`scalar`). Entries are not independent, so there are no per-entry moments or density.

    >>> w = distribution("orthogonal(2)").sample(np.random.default_rng(0), (4, 4))
    >>> bool(np.allclose(w.T @ w, 4 * np.eye(4)))
    True
    """

    NAME: ClassVar[str] = "orthogonal"
    ARGS: ClassVar[tuple[str, ...]] = ("gain",)
    MATRIX: ClassVar[bool] = True

    def check(self) -> None:
        if not self.args[0] > 0:
            self.fail("gain", "> 0")

    @property
    def gain(self) -> float:
        return float(self.args[0])

    def sigma_w2(self) -> float:
        r""":math:`\sigma_w^2 = n E[W_{ij}^2] = g^2` at every width."""
        return self.gain ** 2

    def _refuse(self):
        raise SpecError(f"{self.spec} is a law of n x n weight matrices (Haar orthogonal times the gain); use it "
                        "for width-n networks (simulate --width n, spectrum --weights orthogonal), not for the "
                        "one-neuron chain")

    def variable(self, name: str = "w") -> sp.Expr:
        self._refuse()

    def moments(self) -> Moments:
        self._refuse()

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        """``size`` = (n, n) for one matrix or (k, n, n) for k independent ones."""
        size = tuple(np.atleast_1d(size))
        if len(size) not in (2, 3) or size[-1] != size[-2]:
            self._refuse()
        if len(size) == 2:
            return self.gain * haar_orthogonal(rng, size[0])
        return np.stack([self.gain * haar_orthogonal(rng, size[-1]) for _ in range(size[0])])


def scalar(d: Distribution, role: str = "weights") -> Distribution:
    """``d`` itself when it is a law of one number; a :class:`SpecError` for a matrix law (``orthogonal``)."""
    if d.MATRIX:
        raise SpecError(f"{d.spec} is a law of n x n weight matrices and cannot give the {role} of the one-neuron "
                        "chain; use it with a width (simulate --width n) or with spectrum --weights orthogonal")
    return d


#: Spec name → class. The only list of distributions; the CLI help and the errors read it.
DISTRIBUTIONS: dict[str, type[Distribution]] = {
    cls.NAME: cls for cls in (Normal, Uniform, Constant, LogNormal, Glorot, He, Orthogonal)
}


def distribution(spec: str | Distribution) -> Distribution:
    """Parse ``spec`` (e.g. ``"normal(1, 0.5)"``, ``"he(256)"``) into a :class:`Distribution`.

    Raises :class:`~analytic.errors.SpecError` naming the offending part.
    """
    if isinstance(spec, Distribution):
        return spec
    name, args = parse_spec(spec)
    if name not in DISTRIBUTIONS:
        known = ", ".join(f"{n}({', '.join(c.ARGS)})" for n, c in DISTRIBUTIONS.items())
        raise SpecError(f"unknown distribution {name!r} in {spec.strip()!r}; known: {known}")
    return DISTRIBUTIONS[name](args)
