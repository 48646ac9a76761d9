r"""One-layer expectations :math:`E[f(v)]` of an activation under a Gaussian (or another stated) pre-activation
law: the building block of the independence approximation (:mod:`analytic.theory.independence`), mean field and
initialisation.

How a one-layer expectation :math:`E[f(v)]`, :math:`v \sim N(m, s^2)`, is computed (each result records it):

* ``closed form``: when every piece of :math:`f` (between kinks) is a sum of terms :math:`c\,x^n e^{kx}`, the
  integral over a piece :math:`[a, b]` is exact: completing the square,
  :math:`e^{kx} N(x; m, s^2) = e^{km + k^2 s^2/2} N(x; m + k s^2, s^2)`, and with :math:`u = (x - \mu)/s`,
  :math:`J_j = \int_\alpha^\beta u^j \phi(u)\,du` obeys :math:`J_0 = \Phi(\beta) - \Phi(\alpha)`,
  :math:`J_1 = \phi(\alpha) - \phi(\beta)`, :math:`J_j = (j-1) J_{j-2} + \alpha^{j-1}\phi(\alpha) -
  \beta^{j-1}\phi(\beta)`. This covers ReLU, leaky ReLU, PReLU, ELU, SELU, CELU, hardtanh, hard sigmoid,
  hard swish and identity (and :math:`\log|\varphi'|` where :math:`\varphi'` is a constant or
  :math:`c e^{kx}` on each piece). The SymPy expression is evaluated with 30 digits.
* ``sympy.integrate`` is not used: it finishes on few of these integrals (``E[tanh'(v)^2]`` never does), and a
  route chosen by whether it beat a clock would make the same call give different digits on a busy machine;
* ``quad``: ``scipy.integrate.quad`` in :math:`z = (x - m)/s`, split at every kink, at :math:`x = 0`, at
  :math:`z = 0` and (for :math:`\log|\varphi'|`) at every zero of :math:`\varphi'`; the error is the sum of quad's
  error estimates.

>>> from analytic.theory.gaussian import gaussian_expectation
>>> gaussian_expectation("relu", "dphi").value
0.5
"""
from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import sympy as sp

from ..core.calculus import derivative, numpy_function, resolve
from ..distributions import Constant, Distribution, LogNormal, Normal, Uniform, distribution, scalar
from ..errors import ArgumentError, canonical_float, canonical_text
from ..core.registry import X, Activation, BoundActivation
from ..quantities import STANDARD_NORMAL

#: The one-layer functions :func:`gaussian_expectation` knows.
FUNCTIONS = ("phi", "phi2", "dphi", "dphi2", "log_abs_dphi")
#: Digits used to evaluate closed forms.
DIGITS = 30

_SQRT2PI = math.sqrt(2 * math.pi)
#: A density below this is treated as 0 in quadrature (|z| > 33.9 for a normal): f there is never evaluated.
_NEGLIGIBLE = 1e-250
_OO = sp.oo


# ---------------------------------------------------------------- one-layer expectations

@dataclass(frozen=True)
class Estimate:
    """A number with its error and the method that produced it: ``closed form``, ``quad`` or ``exact``.

    ``error`` is quad's error estimate (summed over the pieces) for ``quad``, and the rounding of the final float
    (one ulp) for ``closed form`` and ``exact``. ``formula`` is the closed form as text, where there is one.
    """

    value: float
    error: float
    method: str
    formula: str | None = None

    def __float__(self) -> float:
        return float(self.value)

    def as_dict(self) -> dict:
        """JSON-ready form: ``value``, ``error``, ``method``, ``formula``."""
        return {"value": self.value, "error": self.error, "method": self.method, "formula": self.formula}


def _rational(value: float) -> sp.Rational:
    """A float as the exact rational it denotes in decimal (``0.1`` → 1/10)."""
    return sp.Rational(repr(float(value)))


def _ulp(value: float) -> float:
    return math.ulp(value) if math.isfinite(value) else 0.0


@functools.lru_cache(maxsize=None)
def _integrand(act: BoundActivation, fn: str) -> sp.Expr:
    """f(x) for ``fn`` with parameters bound (``log_abs_dphi`` returns φ′; the log is taken piece by piece)."""
    f = act.expr if fn in ("phi", "phi2") else derivative(act, 1)
    if fn in ("phi2", "dphi2"):
        f = sp.piecewise_fold(f**2)
    return sp.piecewise_fold(f)


@functools.lru_cache(maxsize=None)
def _pieces(f: sp.Expr) -> tuple[tuple[sp.Expr, sp.Expr, sp.Expr], ...] | None:
    """``f`` as (expression, a, b) on intervals of positive length covering the real line; None if unknown."""
    if not isinstance(f, sp.Piecewise):
        return ((f, -_OO, _OO),)
    out = []
    try:
        pairs = f.as_expr_set_pairs(sp.Interval(-_OO, _OO))
    except (NotImplementedError, TypeError, ValueError):
        return None
    for e, s in pairs:
        for part in (s.args if isinstance(s, sp.Union) else (s,)):
            if isinstance(part, sp.Interval):
                if (part.end - part.start).is_extended_positive:
                    out.append((e, part.start, part.end))
            elif not (part.is_empty or isinstance(part, sp.FiniteSet)):
                return None
    return tuple(sorted(out, key=lambda p: float(p[1])))


def _terms(expr: sp.Expr) -> list[tuple[sp.Expr, int, sp.Expr]] | None:
    r"""``expr`` as a sum of :math:`c\,x^n e^{kx}` (c, n, k constants), or None."""
    if any(not isinstance(g, sp.exp) for g in expr.atoms(sp.Function) if g.has(X)):
        return None  # tanh, sigmoid, erf, ... of x: not in the class (and expanding them can be slow)
    expr = sp.expand(sp.powsimp(sp.expand(expr), combine="exp"))
    if expr == 0:
        return []
    out = []
    for term in sp.Add.make_args(expr):
        c, dep = term.as_independent(X, as_Add=False)
        n, k = 0, sp.S.Zero
        for factor in sp.Mul.make_args(dep):
            if factor == 1:
                continue
            if factor == X:
                n += 1
            elif factor.is_Pow and factor.base == X and factor.exp.is_Integer and factor.exp > 0:
                n += int(factor.exp)
            elif isinstance(factor, sp.exp) or (factor.is_Pow and isinstance(factor.base, sp.exp)):
                arg = factor.args[0] if isinstance(factor, sp.exp) else factor.base.args[0] * factor.exp
                arg = sp.expand(arg)
                slope = arg.coeff(X, 1)
                rest = sp.expand(arg - slope * X)
                if rest.has(X) or slope.has(X) or not slope.is_number:
                    return None
                k += slope
                c *= sp.exp(rest)
            else:
                return None
        if not c.is_number or not (c.is_real is not False):
            return None
        out.append((c, n, k))
    return out


def _phi(u: sp.Expr) -> sp.Expr:
    return sp.S.Zero if u.is_infinite else sp.exp(-u**2 / 2) / sp.sqrt(2 * sp.pi)


def _Phi_diff(alpha: sp.Expr, beta: sp.Expr) -> sp.Expr:
    r""":math:`\Phi(\beta) - \Phi(\alpha)` for numbers, written with ``erfc`` so tails keep their relative
    accuracy (the form is chosen by the signs of α and β)."""
    r2 = sp.sqrt(2)

    def erfc(u):
        return sp.S.Zero if u is _OO else (2 * sp.S.One if u is -_OO else sp.erfc(u / r2))

    if alpha is _OO or alpha.is_nonnegative:
        return (erfc(alpha) - erfc(beta)) / 2
    if beta is -_OO or beta.is_nonpositive:
        return (erfc(-beta) - erfc(-alpha)) / 2
    return 1 - erfc(beta) / 2 - erfc(-alpha) / 2


class PhiDiff(sp.Function):
    r""":math:`\Phi(\beta) - \Phi(\alpha)`, kept unevaluated in closed forms with symbolic mean and std; it is
    evaluated by :func:`_mp_phidiff`, which picks the ``erfc`` form that does not cancel."""

    nargs = 2


def _mp_phidiff(alpha, beta):
    import mpmath

    r2 = mpmath.sqrt(2)
    if alpha >= 0:
        return (mpmath.erfc(alpha / r2) - mpmath.erfc(beta / r2)) / 2
    if beta <= 0:
        return (mpmath.erfc(-beta / r2) - mpmath.erfc(-alpha / r2)) / 2
    return 1 - mpmath.erfc(beta / r2) / 2 - mpmath.erfc(-alpha / r2) / 2


def _piece_integral(terms, a: sp.Expr, b: sp.Expr, m: sp.Expr, s: sp.Expr) -> sp.Expr:
    r""":math:`\int_a^b \sum c x^n e^{kx} N(x; m, s^2) dx` exactly (see the module docstring); m, s may be
    symbols, in which case :math:`\Phi(\beta) - \Phi(\alpha)` stays a :class:`PhiDiff`."""
    numeric = m.is_number and s.is_number
    total = sp.S.Zero
    for c, n, k in terms:
        mu = m + k * s**2
        alpha = (a - mu) / s if a.is_finite else a
        beta = (b - mu) / s if b.is_finite else b
        J = [_Phi_diff(alpha, beta) if numeric else PhiDiff(alpha, beta), _phi(alpha) - _phi(beta)]
        for j in range(2, n + 1):
            ta = sp.S.Zero if alpha.is_infinite else alpha**(j - 1) * _phi(alpha)
            tb = sp.S.Zero if beta.is_infinite else beta**(j - 1) * _phi(beta)
            J.append((j - 1) * J[j - 2] + ta - tb)
        poly = sum(sp.binomial(n, j) * mu**(n - j) * s**j * J[j] for j in range(n + 1))
        total += c * sp.exp(k * m + k**2 * s**2 / 2) * poly
    return total


def _log_abs_piece(e: sp.Expr) -> sp.Expr | None:
    r""":math:`\log|e|` as a polynomial when e is :math:`c e^{kx}` (c ≠ 0); ``-oo`` when e ≡ 0; else None."""
    if e == 0:
        return -_OO
    terms = _terms(e)
    if terms is None or len(terms) != 1 or terms[0][1] != 0 or terms[0][0] == 0:
        return None
    c, _, k = terms[0]
    return sp.log(sp.Abs(c)) + k * X


@functools.lru_cache(maxsize=None)
def _closed_pieces(act: BoundActivation, fn: str):
    """Pieces with their :math:`c x^n e^{kx}` terms, or None when some piece is outside that class."""
    pieces = _pieces(_integrand(act, fn))
    if pieces is None:
        return None
    out = []
    for e, a, b in pieces:
        if fn == "log_abs_dphi":
            e = _log_abs_piece(e)
            if e is None:
                return None
            if e == -_OO:
                out.append((None, a, b))
                continue
        terms = _terms(e)
        if terms is None:
            return None
        out.append((terms, a, b))
    return tuple(out)


_M, _S = sp.Symbol("m", real=True), sp.Symbol("s", positive=True)


@functools.lru_cache(maxsize=None)
def _closed_symbolic(act: BoundActivation, fn: str):
    """(closed form in the symbols m, s, its mpmath evaluator) or None; ``-oo`` for log|φ′| with φ′ ≡ 0 on an
    interval."""
    pieces = _closed_pieces(act, fn)
    if pieces is None:
        return None
    if any(terms is None for terms, _, _ in pieces):  # log|φ′| with φ′ ≡ 0 on an interval: probability > 0
        return -_OO, None
    expr = sum((_piece_integral(terms, a, b, _M, _S) for terms, a, b in pieces), sp.S.Zero)
    evaluate = sp.lambdify([_M, _S], expr, modules=[{"PhiDiff": _mp_phidiff}, "mpmath"])
    return expr, evaluate


def _closed_form(act: BoundActivation, fn: str, mean: float, std: float) -> Estimate | None:
    got = _closed_symbolic(act, fn)
    if got is None:
        return None
    expr, evaluate = got
    if evaluate is None:
        return Estimate(-math.inf, 0.0, "exact", "-oo (phi' = 0 on an interval of positive probability)")
    import mpmath

    with mpmath.workdps(DIGITS):
        value = float(evaluate(mpmath.mpf(mean), mpmath.mpf(std)))
    text = None
    if len(repr(mean)) <= 5 and len(repr(std)) <= 5:  # simple numbers: show the exact closed form
        exact = expr.subs({_M: _rational(mean), _S: _rational(std)}).replace(PhiDiff, _Phi_diff)
        text = str(sp.simplify(exact)) if sp.count_ops(exact) < 80 else str(exact)
        text = text if len(text) <= 400 else None
    return Estimate(value, _ulp(value), "closed form", text)


# ---- quadrature

def _kinks(act: BoundActivation) -> list[float]:
    pts = []
    for k in act.kinks:
        try:
            pts.append(float(k.at))
        except TypeError:
            pass
    return pts


@functools.lru_cache(maxsize=None)
def _breakpoints(act: BoundActivation, fn: str) -> tuple[float, ...]:
    pts = set(_kinks(act))
    pieces = _pieces(_integrand(act, fn))
    for _, a, b in pieces or ():
        for p in (a, b):
            if p.is_finite:
                pts.add(float(p))
    return tuple(sorted(pts))


def _zero_pieces(act: BoundActivation) -> list[tuple[float, float]]:
    """Intervals where φ′ ≡ 0 (so log|φ′| = −∞ there)."""
    pieces = _pieces(_integrand(act, "dphi"))
    return [(float(a), float(b)) for e, a, b in (pieces or ()) if e == 0]


@functools.lru_cache(maxsize=None)
def _mp_dphi(act: BoundActivation):
    """φ′ as an mpmath function (for the tails, where the float φ′ underflows to 0)."""
    from ..core.special import to_elementary

    return sp.lambdify(X, to_elementary(_integrand(act, "dphi")), "mpmath")


def _mp_log_abs_dphi(act: BoundActivation, x: float) -> float:
    """log|φ′(x)| in mpmath, raising the precision until φ′ is resolved (1 − tanh² at x = 400 needs ~350 digits)."""
    import mpmath

    f = _mp_dphi(act)
    for dps in (30, 120, 500):
        with mpmath.workdps(dps):
            v = f(mpmath.mpf(x))
            if v != 0:
                return float(mpmath.log(abs(v)))
    # still unresolved: |φ′| < 10^-500 there; clamp at the log of the smallest float. Such points sit where the
    # density is negligible (|z| > 30 for a normal), so the clamp moves the integral by far less than its error.
    return math.log(5e-324)


def _scalar(act: BoundActivation, fn: str):
    """A scalar Python function x ↦ f(x) for quadrature."""
    order = 0 if fn in ("phi", "phi2") else 1
    g = numpy_function(act, order)
    if fn in ("phi", "dphi"):
        return lambda x: float(g(np.array(x)))
    if fn in ("phi2", "dphi2"):
        return lambda x: float(g(np.array(x))) ** 2

    def log_abs(x):
        d = abs(float(g(np.array(x))))
        if d > 1e-290 and math.isfinite(d):
            return math.log(d)
        return _mp_log_abs_dphi(act, x)  # underflow: evaluate in mpmath

    return log_abs


def _dphi_zeros(act: BoundActivation, lo: float, hi: float) -> list[float]:
    """Zeros of φ′ in [lo, hi]: sign changes on a grid, refined by brentq."""
    from scipy.optimize import brentq

    g = numpy_function(act, 1)
    xs = np.linspace(lo, hi, 4001)
    ys = g(xs)
    zeros = [float(x) for x, y in zip(xs, ys) if y == 0]
    for i in np.nonzero(np.sign(ys[:-1]) * np.sign(ys[1:]) < 0)[0]:
        zeros.append(brentq(lambda t: float(g(np.array(t))), xs[i], xs[i + 1], xtol=1e-14))
    return zeros


def _quad_pieces(f, points: list[float], lo: float = -math.inf, hi: float = math.inf, weight=None) -> tuple[float, float]:
    """∫ f(t) weight(t) dt over (lo, hi) as a sum of quad calls split at ``points``."""
    from scipy import integrate

    edges = [lo] + sorted({p for p in points if lo < p < hi and math.isfinite(p)}) + [hi]
    total, error = 0.0, 0.0
    def h(t):
        if weight is None:
            return f(t)
        w = weight(t)
        return 0.0 if w < _NEGLIGIBLE else f(t) * w

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(edges[:-1], edges[1:]):
            if b <= a:
                continue
            v, e = integrate.quad(h, a, b, limit=200, epsabs=1e-14, epsrel=1e-11)
            total += v
            error += e
    return total, error


def _gauss_quad(act: BoundActivation, fn: str, mean: float, std: float) -> Estimate:
    pts_x = list(_breakpoints(act, fn)) + [0.0]
    if fn == "log_abs_dphi":
        pts_x += _dphi_zeros(act, mean - 12 * std, mean + 12 * std)
    f = _scalar(act, fn)
    pts_z = [(p - mean) / std for p in pts_x] + [0.0]

    def integrand(z):
        w = math.exp(-z * z / 2) / _SQRT2PI
        return 0.0 if w < _NEGLIGIBLE else f(mean + std * z) * w

    value, error = _quad_pieces(integrand, pts_z)
    return Estimate(value, error, "quad")


@functools.lru_cache(maxsize=4096)
def _gaussian(act: BoundActivation, fn: str, mean: float, std: float) -> Estimate:
    if std == 0:
        return _at_point(act, fn, mean)
    if fn == "log_abs_dphi" and _prob_zero_piece(act, lambda a, b: b > a):
        return Estimate(-math.inf, 0.0, "exact", "-oo (phi' = 0 on an interval of positive probability)")
    try:
        est = _closed_form(act, fn, mean, std)
    except (OverflowError, ZeroDivisionError):  # a term of the closed form leaves the float range: integrate
        est = None
    if est is None:
        try:
            est = _gauss_quad(act, fn, mean, std)
        except (OverflowError, ZeroDivisionError):
            shown = {"phi": "phi(v)", "phi2": "phi(v)^2", "dphi": "phi'(v)", "dphi2": "phi'(v)^2"}.get(fn, fn)
            raise ArgumentError(f"{act.name}: E[{shown}] for v ~ N({mean:g}, {std:g}^2) leaves the float range "
                                "(the activation grows too fast)") from None
    return est


def _prob_zero_piece(act: BoundActivation, positive_mass) -> bool:
    return any(positive_mass(a, b) for a, b in _zero_pieces(act))


def _at_point(act: BoundActivation, fn: str, x: float) -> Estimate:
    """f(x) exactly (a constant pre-activation); at a kink φ′ takes the declared convention value."""
    f = _integrand(act, "phi" if fn in ("phi", "phi2") else "dphi")
    v = sp.N(f.subs(X, _rational(x)), DIGITS)
    if fn in ("phi2", "dphi2"):
        v = v**2
    if fn == "log_abs_dphi":
        if v == 0:
            return Estimate(-math.inf, 0.0, "exact", "log 0")
        v = sp.log(sp.Abs(v))
    value = float(v)
    return Estimate(value, _ulp(value), "exact", str(sp.nsimplify(v, rational=False)) if len(str(v)) < 60 else None)


def _check_fn(fn: str) -> None:
    canonical_text("fn", fn, FUNCTIONS)


def gaussian_expectation(act: Activation | str, fn: str, mean: float = 0.0, std: float = 1.0,
                         params: dict | None = None) -> Estimate:
    r""":math:`E[f(v)]`, :math:`v \sim N(\text{mean}, \text{std}^2)`, for ``fn`` one of ``phi``, ``phi2``,
    ``dphi``, ``dphi2``, ``log_abs_dphi`` (:math:`\varphi, \varphi^2, \varphi', \varphi'^2, \log|\varphi'|`).

    Closed form where the pieces of f allow it, otherwise
    quadrature split at the kinks; the result records which. ``std = 0`` evaluates f at ``mean`` (at a kink,
    φ′ is PyTorch's convention value). Results are cached.

    >>> gaussian_expectation("relu", "dphi2", std=3.0).value
    0.5
    >>> gaussian_expectation("tanh", "dphi").method
    'quad'
    """
    _check_fn(fn)
    act = resolve(act, params)
    mean, std = canonical_float("mean", mean), canonical_float("std", std, 0)
    return _gaussian(act, fn, mean, std)


def preact_expectations(act: Activation | str, preact: str | Distribution = STANDARD_NORMAL,
                        params: dict | None = None) -> dict[str, Estimate]:
    r""":math:`E[\varphi'(v)]`, :math:`E[\varphi'(v)^2]`, :math:`E\log|\varphi'(v)|` for v drawn from ``preact``.

    Normal specs (``normal``, ``glorot``, ``he``) use :func:`gaussian_expectation`; ``constant(c)`` evaluates at c
    exactly (``exact``); ``uniform`` and ``lognormal`` integrate against the density by quadrature over the
    support, split at the kinks.

    >>> preact_expectations("sigmoid", "constant(0)")["dphi"].value
    0.25
    """
    act = resolve(act, params)
    d = scalar(distribution(preact), "pre-activations")
    return {fn: _preact(act, fn, d) for fn in ("dphi", "dphi2", "log_abs_dphi")}


@functools.lru_cache(maxsize=1024)
def _preact(act: BoundActivation, fn: str, d: Distribution) -> Estimate:
    if isinstance(d, Normal):
        return _gaussian(act, fn, float(d.mu), float(d.sigma))
    if isinstance(d, Constant):
        return _at_point(act, fn, float(d.args[0]))
    if isinstance(d, Uniform):
        lo, hi = map(float, d.args)
    elif isinstance(d, LogNormal):  # the density beyond exp(mu + 40 sigma) is below e^-800
        lo, hi = 0.0, math.exp(float(d.args[0]) + 40 * float(d.args[1]))
    else:  # a distribution added later: integrate against its density over the real line
        lo, hi = -math.inf, math.inf
    if fn == "log_abs_dphi" and _prob_zero_piece(act, lambda a, b: min(b, hi) > max(a, lo)):
        return Estimate(-math.inf, 0.0, "exact", "-oo (phi' = 0 on an interval of positive probability)")
    pts = list(_breakpoints(act, fn))
    if isinstance(d, LogNormal):
        mu, sg = map(float, d.args)
        pts += [math.exp(mu + j * sg) for j in (-8, -4, -2, -1, 0, 1, 2, 4, 8)]
    if fn == "log_abs_dphi":
        a, b = (lo, hi) if math.isfinite(hi) else (0.0, math.exp(float(d.args[0]) + 12 * float(d.args[1])))
        pts += _dphi_zeros(act, a, b)
    f = _scalar(act, fn)
    value, error = _quad_pieces(f, pts, lo, hi, weight=lambda t: float(d.pdf(np.array(t))))
    return Estimate(value, error, "quad")
