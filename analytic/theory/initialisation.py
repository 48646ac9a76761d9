r"""Initialisation conventions side by side, compared with PyTorch's ``torch.nn.init.calculate_gain``.

Weights :math:`W_{ij} \sim N(0, \text{gain}^2/n)`, i.e. :math:`\sigma_w^2 = \text{gain}^2`. Three conventions:

* **criticality**: :math:`\chi_1 = \sigma_w^2 E[\varphi'(\sqrt{q^*} z)^2] = 1` at a *stable* fixed point
  :math:`q^*` of the length map (:func:`analytic.theory.criticality.critical_sigma_w2`); none for some activations
  (GELU, SiLU, hard swish at :math:`\sigma_b^2 = 0`: there χ₁ = 1 only at unstable fixed points);
* **variance preserving**: :math:`\text{gain} = 1/\sqrt{\mathrm{Var}\,\varphi(z)}`, z ~ N(0, 1), so a unit-variance
  pre-activation gives unit-variance pre-activations in the next layer;
* **linearised**: :math:`\text{gain} = 1/|\varphi'(0)|` (the activation replaced by its tangent at 0; undefined at a
  kink at 0 or where :math:`\varphi'(0) = 0`).

Each is compared with the ``calculate_gain`` entry: *reproduces* (relative difference below
:data:`REPRODUCES`), *approximates* (below :data:`APPROXIMATES`) or *differs*. For SELU the self-normalising fixed
point of Klambauer et al. 2017 is added: :math:`(\mu, \nu) = (0, 1)` of the map
:math:`(\mu, \nu) \mapsto (E[\mathrm{selu}(x)], \mathrm{Var}\,\mathrm{selu}(x))`, :math:`x \sim N(\mu\omega, \nu\tau)`,
at :math:`\omega = 0`, :math:`\tau = \sigma_w^2 = 1`, with its Jacobian.

>>> from analytic.theory.initialisation import initialisation
>>> initialisation("relu").sigma_w2
2.0
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import sympy as sp

from ..core.display import displayable, with_model
from ..core.activations import catalogue
from ..core.calculus import numpy_function, resolve
from ..core.parsing import parse_formula
from .gaussian import DIGITS, _OO, _gaussian, _kinks, _piece_integral, _quad_pieces, _terms
from ..core.registry import X, Activation, BoundActivation
from .criticality import _critical, _stable_edge, orbit_reaches
from .meanfield import _canonical_variances, _mean_field

#: Relative differences for the verdicts "reproduces" and "approximates".
REPRODUCES, APPROXIMATES = 1e-9, 0.05
CONVENTIONS = ("criticality", "variance_preserving", "linearised")


@functools.lru_cache(maxsize=256)
def _torch_gain(act: BoundActivation) -> float | None:
    """The value of PyTorch's ``calculate_gain`` entry in the activation's record (its ``a`` is the record's
    parameter it names, with the bound value), or None when the record has none."""
    gain = act.record.torch_gain
    if gain is None:
        return None
    values = {"a": act.params[gain.parameter]} if gain.parameter else {}
    expr = parse_formula(gain.formula, values)  # the parser declares the names; the values go in below
    return float(sp.N(expr.subs({sp.Symbol(k, real=True): v for k, v in values.items()}), 30))


@dataclass(frozen=True)
class Convention:
    """One initialisation convention: its gain (None where it is undefined, with the reason in ``note``), the
    formula, and the verdict against ``calculate_gain`` (None when PyTorch has no entry)."""

    name: str
    gain: float | None
    formula: str
    note: str
    verdict: str | None
    relative_difference: float | None

    def as_dict(self) -> dict:
        """JSON-ready form: ``gain``, ``sigma_w2``, ``formula``, ``note``, ``torch_verdict``,
        ``relative_difference``."""
        return {"gain": self.gain, "sigma_w2": None if self.gain is None else self.gain**2, "formula": self.formula,
                "note": self.note, "torch_verdict": self.verdict, "relative_difference": self.relative_difference}


def _verdict(gain: float | None, torch: float | None) -> tuple[str | None, float | None]:
    if gain is None or torch is None:
        return None, None
    d = abs(gain - torch) / torch
    return ("reproduces" if d <= REPRODUCES else "approximates" if d <= APPROXIMATES else "differs"), d


@displayable(title=lambda i: f"mean field (width -> infinity): critical initialisation of {i.activation}",
             name="MeanFieldInitialisation",
             headline=(("act", lambda i: i.activation), "sigma_b2", "sigma_w2", "gain", "chi1"),
             summary=with_model("mean field (width -> infinity)"))
@dataclass(frozen=True)
class Initialisation:
    r"""Critical initialisation (:math:`\sigma_w^2` with :math:`\chi_1 = 1` at a stable :math:`q^*`, gain
    :math:`\sqrt{\sigma_w^2}`; all None when there is none, ``method`` then says why), the three
    ``conventions`` side by side, every critical point found, and (SELU) the re-derived :math:`\alpha, \lambda`
    and the self-normalising fixed point."""

    activation: str
    sigma_b2: float
    sigma_w2: float | None
    q_star: float | None
    chi1: float | None
    gain: float | None
    method: str
    torch_gain: float | None
    torch_entry: str | None
    reproduces_torch: bool | None
    comparison: str
    alpha: float | None = None
    lam: float | None = None
    selu: dict | None = None
    assumptions: tuple[str, ...] = ()
    conventions: tuple[Convention, ...] = ()
    critical_points: tuple = ()
    stable_edge: dict | None = None

    def as_dict(self) -> dict:
        """JSON-ready form: ``sigma_w2``, ``q_star``, ``chi1``, ``gain`` (SELU: ``alpha``, ``lambda``, ``selu``),
        ``conventions`` (``criticality``, ``variance_preserving``, ``linearised``), ``critical_points``, plus
        ``activation``, ``sigma_b2``, ``method``, ``torch_gain``, ``torch_entry``, ``reproduces_torch``,
        ``comparison``, ``assumptions``, ``stable_edge`` (where chi_1 = 1 only at unstable fixed points: the
        sigma_b^2 from which it sits at a stable one, :class:`~analytic.theory.criticality.StableEdge`, or null)."""
        out = {"activation": self.activation, "sigma_b2": self.sigma_b2, "sigma_w2": self.sigma_w2,
               "q_star": self.q_star, "chi1": self.chi1, "gain": self.gain, "method": self.method,
               "torch_gain": self.torch_gain, "torch_entry": self.torch_entry,
               "reproduces_torch": self.reproduces_torch, "comparison": self.comparison,
               "conventions": {c.name: c.as_dict() for c in self.conventions},
               "critical_points": [p.as_dict() for p in self.critical_points],
               "assumptions": list(self.assumptions), "stable_edge": self.stable_edge}
        if self.alpha is not None:
            out.update(alpha=self.alpha, **{"lambda": self.lam}, selu=self.selu)
        return out


@functools.lru_cache(maxsize=1)
def selu_constants() -> dict:
    r"""Re-derive SELU's :math:`\alpha, \lambda` from :math:`E[\mathrm{selu}(z)] = 0`, :math:`E[\mathrm{selu}(z)^2]
    = 1`, :math:`z \sim N(0, 1)`, in closed form.

    With :math:`\mathrm{selu} = \lambda x` (x > 0), :math:`\lambda\alpha(e^x - 1)` (x ≤ 0), the first condition is
    linear in α and the second then fixes λ:
    :math:`\alpha = -E[z^+] / E[(e^z - 1)1_{z\le0}]`,
    :math:`\lambda = (E[(z^+)^2] + \alpha^2 E[(e^z-1)^2 1_{z\le0}])^{-1/2}`.

    >>> round(selu_constants()["alpha"], 12)
    1.673263242354
    """
    z0, oo = sp.S.Zero, _OO
    m, s = sp.S.Zero, sp.S.One
    pos1 = _piece_integral(_terms(X), z0, oo, m, s)
    neg1 = _piece_integral(_terms(sp.exp(X) - 1), -oo, z0, m, s)
    pos2 = _piece_integral(_terms(X**2), z0, oo, m, s)
    neg2 = _piece_integral(_terms((sp.exp(X) - 1)**2), -oo, z0, m, s)
    alpha = sp.simplify(-pos1 / neg1)
    lam = 1 / sp.sqrt(pos2 + alpha**2 * neg2)
    return {"alpha": float(sp.N(alpha, DIGITS)), "lambda": float(sp.N(lam, DIGITS)),
            "alpha_exact": str(alpha), "lambda_exact": str(lam),
            "alpha_30": str(sp.N(alpha, DIGITS)), "lambda_30": str(sp.N(lam, DIGITS)),
            "conditions": "E[selu(z)] = 0 and E[selu(z)^2] = 1 for z ~ N(0, 1)"}


def _z_moment(act: BoundActivation, fn) -> tuple[float, float]:
    r""":math:`E[z\,fn(z)]` by quad split at the kinks (the ν-derivatives of SELU's moment map)."""
    pts = [0.0] + list(_kinks(act))
    return _quad_pieces(lambda z: z * fn(z) * math.exp(-z * z / 2) / math.sqrt(2 * math.pi), pts)


def self_normalising(act: BoundActivation) -> dict:
    r"""SELU's fixed point :math:`(\mu, \nu) = (0, 1)` at :math:`\omega = 0, \tau = 1` and the Jacobian there.

    With :math:`x \sim N(\mu\omega, \nu\tau)`: :math:`\partial\tilde\mu/\partial\mu = \omega E[\mathrm{selu}'(x)] = 0`,
    :math:`\partial\tilde\mu/\partial\nu = \tfrac{\tau}{2} E[z\,\mathrm{selu}'(z)]`, :math:`\partial\tilde\nu/\partial\mu
    = 0`, :math:`\partial\tilde\nu/\partial\nu = \tau E[z\,\mathrm{selu}(z)\mathrm{selu}'(z)] - 2\tilde\mu\,
    \partial\tilde\mu/\partial\nu` (differentiation of :math:`E[f(\sqrt{\nu\tau} z)]` under the integral, at ν = 1).
    """
    f, d = numpy_function(act, 0), numpy_function(act, 1)
    mu = _gaussian(act, "phi", 0.0, 1.0).value
    nu = _gaussian(act, "phi2", 0.0, 1.0).value - mu * mu
    dmu, e1 = _z_moment(act, lambda z: float(d(z)))
    dnu, e2 = _z_moment(act, lambda z: float(f(z)) * float(d(z)))
    j = [[0.0, dmu / 2], [0.0, dnu - 2 * mu * dmu / 2]]
    import numpy as np

    norm = float(np.linalg.norm(np.array(j), 2))
    return {"mu": mu, "nu": nu, "sigma_w2": 1.0, "omega": 0.0, "tau": 1.0, "jacobian": j,
            "jacobian_error": max(e1, e2), "spectral_norm": norm, "eigenvalues": [0.0, j[1][1]],
            "stable": norm < 1,
            "note": "the self-normalising fixed point (mean 0, variance 1) needs sigma_w^2 = 1 (LeCun normal, "
                    "gain 1, calculate_gain('linear')); the Jacobian of (mu, nu) -> (mean, variance) there has "
                    f"spectral norm {norm:.6g} < 1, so (0, 1) attracts (Klambauer et al. 2017)"}


def _conventions(act: BoundActivation, crit_gain: float | None, crit_note: str) -> tuple[Convention, ...]:
    torch = _torch_gain(act)
    out = [Convention("criticality", crit_gain, "chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] = 1 at a stable q*",
                      crit_note, *_verdict(crit_gain, torch))]
    var = _gaussian(act, "phi2", 0.0, 1.0).value - _gaussian(act, "phi", 0.0, 1.0).value ** 2
    g = 1 / math.sqrt(var) if var > 0 else None
    out.append(Convention("variance_preserving", g, "gain = 1/sqrt(Var phi(z)), z ~ N(0, 1)",
                          f"Var phi(z) = {var:.12g}" if g else "Var phi(z) = 0", *_verdict(g, torch)))
    d = numpy_function(act, 1)
    left, right = float(d(-1e-12)), float(d(1e-12))
    if 0.0 in _kinks(act) and abs(left - right) > 1e-9 * max(abs(left), abs(right), 1.0):
        g, note = None, f"phi has a corner at 0 (phi'(0-) = {left:.6g}, phi'(0+) = {right:.6g}): no tangent"
    else:
        d0 = right if 0.0 in _kinks(act) else _gaussian(act, "dphi", 0.0, 0.0).value
        g, note = (1 / abs(d0), f"phi'(0) = {d0:.12g}") if d0 != 0 else (None, "phi'(0) = 0")
    out.append(Convention("linearised", g, "gain = 1/|phi'(0)|", note, *_verdict(g, torch)))
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _initialisation(act: BoundActivation, sb: float) -> Initialisation:
    point, points, method = _critical(act, sb)
    tg = _torch_gain(act)
    entry = None if act.record.torch_gain is None else act.record.torch_gain.entry
    assumptions = []
    edge = None
    if point is None:
        sw = q_star = chi1 = gain = None
        assumptions.append(f"no critical initialisation: {method}")
        found = _stable_edge(act)[0]
        if found is not None and any(not p.stable for p in points) and sb < found.sigma_b2:
            edge = found.as_dict()
    else:
        mf = _mean_field(act, point.sigma_w2, sb, 1.0)
        sw, q_star, chi1, gain = point.sigma_w2, point.q_star, point.chi1, math.sqrt(point.sigma_w2)
        assumptions += list(mf.assumptions) + [
            f"critical initialisation: chi_1 = 1 at the {point.kind} fixed point q* = {q_star:.12g} ({method}); "
            "re-checked: chi_1 = 1 and G(q*) = q* to 1e-10"]
        if not point.edge and point.kind != "neutral":
            reached, end, tol = orbit_reaches(act, sb, point)
            assumptions.append(
                f"the orbit from q_0 = 1 reaches this q* (it ends at the fixed point {end:.12g}; |difference| = "
                f"{abs(end - q_star):.2g} <= {tol:.2g}, the two roots' error bound)" if reached else
                f"the orbit from q_0 = 1 does not reach this q*: it ends at {end:.12g} (|difference| = "
                f"{abs(end - q_star):.3g} > {tol:.2g}, the two roots' error bound)")
    conventions = _conventions(act, gain, method if point is None else f"q* = {q_star:.12g}, {point.kind}")
    if tg is None:
        reproduces, comparison = None, f"calculate_gain has no entry for {act.name}"
    elif gain is None:
        reproduces, comparison = False, f"calculate_gain({act.name}) = {entry} = {tg:.12g}; chi_1 = 1 gives no gain"
    else:
        reproduces = abs(gain - tg) <= REPRODUCES * tg and sb == 0
        comparison = (f"calculate_gain({act.name}) = {entry} = {tg:.12g}: reproduced by chi_1 = 1 (sigma_w^2 = "
                      f"{sw:.12g})" if reproduces else
                      f"calculate_gain({act.name}) = {entry} = {tg:.12g} is a convention: chi_1 = 1 gives gain "
                      f"{gain:.12g} at sigma_b^2 = {sb:g}")
    alpha = lam = selu = None
    if act.record.self_normalising:
        selu = dict(selu_constants())
        alpha, lam = selu["alpha"], selu["lambda"]
        pa, pl = act.value("alpha"), act.value("scale")
        fixed = _mean_field(act, 1.0, 0.0, 1.0)
        selu.update(published_alpha=pa, published_lambda=pl, alpha_difference=alpha - pa,
                    lambda_difference=lam - pl, q_star_at_sigma_w2_1=fixed.q_star, chi1_at_sigma_w2_1=fixed.chi1,
                    self_normalising=self_normalising(act))
        if point is not None and point.edge:
            assumptions.append("chi_1 = 1 only as q* -> 0: the signal dies there; SELU's own fixed point is the "
                               "self-normalising one at sigma_w^2 = 1")
        assumptions.append(f"SELU's self-normalising fixed point (mean 0, variance 1) needs sigma_w^2 = 1; there "
                           f"q* = {fixed.q_star:.12g} and chi_1 = {fixed.chi1:.12g}")
    return Initialisation(act.name, sb, sw, q_star, chi1, gain, method, tg, entry, reproduces, comparison,
                          alpha, lam, selu, tuple(assumptions), conventions, points, edge)


def initialisation(act: Activation | str, sigma_b2: float = 0.0, params: dict | None = None) -> Initialisation:
    r"""The critical initialisation of ``act`` (:math:`\chi_1 = 1` at a stable :math:`q^*`, or why there is none),
    the variance-preserving and linearised gains beside it, and how each compares with ``calculate_gain``.

    >>> initialisation("gelu").sigma_w2 is None
    True
    """
    _, sb = _canonical_variances(1.0, sigma_b2)
    act = resolve(act, params)
    return _initialisation(act, sb)


def gain_table(sigma_b2: float = 0.0, names=None) -> tuple[Initialisation, ...]:
    """:func:`initialisation` for every activation in PyTorch's ``calculate_gain`` table (or for ``names``)."""
    names = names or [a.name for a in catalogue() if a.torch_gain is not None]
    return tuple(initialisation(name, sigma_b2) for name in names)
