r"""The laws of one number: ``normal``, ``glorot``, ``he``, ``uniform``, ``constant``, ``lognormal``.

Each class declares its argument names and their checks, a ``sympy.stats`` random variable, a NumPy sampler
drawing from a :class:`numpy.random.Generator` passed in, the exact moments :math:`E[w]`, :math:`E|w|`,
:math:`E[w^2]`, :math:`E\log|w|` and the partial moments split by the sign of w. Where :math:`E\log|w|` has no
closed form (a normal law with :math:`\mu \ne 0`) it is a quadrature of :math:`\log|w|` against the density,
split at the integrable singularity w = 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import sympy as sp
import sympy.stats as stats

from ..errors import SpecError
from .base import Base, Distribution, Moments, PartialMoments, exact_number


def _normal_partial(mu: sp.Expr, sigma: sp.Expr) -> PartialMoments:
    def side(m):  # E[w^k 1(w > 0)] for w ~ N(m, sigma^2), k = 0, 1, 2
        P = (1 + sp.erf(m / (sigma * sp.sqrt(2)))) / 2
        d = sigma * sp.exp(-m**2 / (2 * sigma**2)) / sp.sqrt(2 * sp.pi)
        return (P, m * P + d, (m**2 + sigma**2) * P + m * d)

    p, n = side(mu), side(-mu)
    return PartialMoments(p, (n[0], -n[1], n[2]), sp.S.Zero)


def _log_abs_normal(mu: float, sigma: float):
    r"""The integrand :math:`\log|w|\,p(w)` for :math:`w \sim N(\mu, \sigma^2)` (0 at w = 0, where it is
    integrable) and the range :math:`\mu \pm 40\sigma` it is integrated over."""
    from scipy import stats as sstats

    f = lambda w: math.log(abs(w)) * sstats.norm.pdf(w, mu, sigma) if w != 0 else 0.0  # noqa: E731
    return f, mu - 40 * sigma, mu + 40 * sigma


def _quad_side_log_normal(mu: float, sigma: float) -> tuple[float, float]:
    r""":math:`(E[\log|w|; w > 0], E[\log|w|; w < 0])` for :math:`w \sim N(\mu, \sigma^2)` by quadrature."""
    from scipy import integrate

    f, lo, hi = _log_abs_normal(mu, sigma)
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
    from scipy import integrate

    f, lo, hi = _log_abs_normal(mu, sigma)
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
        return exact_number(self.args[0]), exact_number(self.args[1])

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


def _log_antiderivative(w: sp.Expr) -> sp.Expr:
    r""":math:`w\log|w| - w`, the antiderivative of :math:`\log|w|`, continuous through 0 (where it is 0)."""
    return sp.S.Zero if w == 0 else w * sp.log(abs(w)) - w


@dataclass(frozen=True)
class Uniform(Distribution):
    NAME: ClassVar[str] = "uniform"
    ARGS: ClassVar[tuple[str, ...]] = ("a", "b")

    def check(self) -> None:
        if not self.args[0] < self.args[1]:
            raise SpecError(f"{self.spec}: a must be < b, got a = {self.args[0]:g}, b = {self.args[1]:g}")
        if not exact_number(self.args[0]) < exact_number(self.args[1]):  # the exact moments would divide by b - a = 0
            raise SpecError(f"{self.spec}: a and b are too close to tell apart (b - a = {self.args[1] - self.args[0]:g})")

    def variable(self, name: str = "w") -> sp.Expr:
        return stats.Uniform(name, exact_number(self.args[0]), exact_number(self.args[1]))

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return rng.uniform(self.args[0], self.args[1], size)

    def moments(self) -> Moments:
        a, b = map(exact_number, self.args)
        if a >= 0:
            mean_abs = (a + b) / 2
        elif b <= 0:
            mean_abs = -(a + b) / 2
        else:
            mean_abs = (a**2 + b**2) / (2 * (b - a))
        F = _log_antiderivative
        # no simplify: with large rationals (a = 99999999/100) it runs for minutes, and the form is exact as it is
        return Moments((a + b) / 2, mean_abs, (a**2 + a * b + b**2) / 3, (F(b) - F(a)) / (b - a))

    def pdf(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        a, b = self.args
        return np.where((w >= a) & (w <= b), 1.0 / (b - a), 0.0)

    def partial_moments(self) -> PartialMoments:
        a, b = map(exact_number, self.args)

        def side(lo, hi):  # E[w^k 1(lo < w < hi)]
            lo, hi = max(lo, a), min(hi, b)
            if hi <= lo:
                return (sp.S.Zero,) * 3
            return tuple((hi**(k + 1) - lo**(k + 1)) / ((k + 1) * (b - a)) for k in range(3))

        return PartialMoments(side(0, b), side(a, 0), sp.S.Zero)

    def partial_log_moments(self) -> tuple[float, float]:
        a, b = map(exact_number, self.args)
        F = _log_antiderivative
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
        return exact_number(self.args[0])

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return np.full(size, float(self.args[0]))

    def moments(self) -> Moments:
        c = exact_number(self.args[0])
        return Moments(c, abs(c), c**2, sp.log(abs(c)) if c != 0 else -sp.oo)

    @property
    def is_constant(self) -> bool:
        return True

    def partial_moments(self) -> PartialMoments:
        c = exact_number(self.args[0])
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
        return stats.LogNormal(name, exact_number(self.args[0]), exact_number(self.args[1]))

    def sample(self, rng: np.random.Generator, size) -> np.ndarray:
        return rng.lognormal(self.args[0], self.args[1], size)

    def moments(self) -> Moments:
        mu, sigma = map(exact_number, self.args)
        mean = sp.exp(mu + sigma**2 / 2)
        return Moments(mean, mean, sp.exp(2 * mu + 2 * sigma**2), mu)

    def pdf(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, dtype=float)
        mu, sigma = self.args
        safe = np.where(w > 0, w, 1.0)
        dens = np.exp(-(np.log(safe) - mu) ** 2 / (2 * sigma**2)) / (safe * sigma * math.sqrt(2 * math.pi))
        return np.where(w > 0, dens, 0.0)

    def partial_moments(self) -> PartialMoments:
        mu, sigma = map(exact_number, self.args)
        return PartialMoments((sp.S.One, sp.exp(mu + sigma**2 / 2), sp.exp(2 * mu + 2 * sigma**2)),
                              (sp.S.Zero,) * 3, sp.S.Zero)

    def partial_log_moments(self) -> tuple[float, float]:
        return float(self.args[0]), 0.0

    def base(self) -> Base:
        return Base("lognormal", float(self.args[0]), float(self.args[1]))

