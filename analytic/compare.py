r"""Analytic values against Monte Carlo: one :class:`Check` (a z-score) per quantity, and a verdict.

:func:`simulate` (what the ``simulate`` command prints) runs the one model asked for and compares like with like,
reading every quantity by name through the shared vocabulary of :mod:`analytic.quantities`: ``analytic[q]``
against ``mc[q]`` for ``q`` in :data:`~analytic.quantities.NAMES`.

* exact chain (width 1, no ``preact``): against :func:`analytic.theory.chain.exact_chain`, the same network;
* independence model (``preact``): against :func:`analytic.theory.independence.independence_product`, the formulas;
* width > 1: the slope of :math:`\log E\|g_l\|^2` per layer against :math:`\ln\chi_1` of mean-field theory, or
  against the exact finite-width law where there is one.

A check agrees when :math:`|z| \le 4` (:data:`Z_AGREE`). A check is *decisive* when it has a reason to trust
both sides; otherwise it carries the reason it cannot decide (:data:`REASONS`): the analytic value missed its
tolerance (``converged`` False: its error then never widens the band, the check is simply not decisive), the
standard error is undefined (nan), it rests on few effective samples (heavy tails), or the analytic value is a
mean-field reference (:math:`n \to \infty`) for a finite-width network, from which an :math:`O(1/n)` bias is
expected (reported with its size, never as a disagreement). The verdict is "agree" when every check agrees and
is decisive, "DISAGREE" on a decisive disagreement, "inconclusive (reason): statistics" otherwise.

>>> s = simulate("relu", 3, "constant(1)", samples=20_000, preact="normal(0, 1)")
>>> s.check("mean").agree
True
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from .architecture import canonical_architecture
from .core.display import displayable, html_table
from .core.calculus import resolve
from .core.registry import BoundActivation
from .distributions import Distribution, Normal, distribution
from .errors import AnalyticError, SimulationError, canonical_int
from .mc import ChainSimulation, ScaledStat, Stat, WideSimulation, simulate_chain, simulate_wide
from .mc.chain import check_progress
from .mc.wide import MAX_BATCH, MAX_NETWORKS, MAX_WIDTH
from .quantities import STANDARD_NORMAL, exp_or_inf

#: :math:`|z|` above which a simulated and an analytic value disagree.
Z_AGREE = 4.0
#: Effective sample size below which a mean's standard error is flagged as unreliable.
ESS_WARN = 1000.0
#: Smallest number of non-zero products for the log_mean check to decide, and of expected zeros (or non-zeros)
#: for the zero_probability check: below, the normal approximation behind the z-score is not to be trusted.
MIN_DECIDING = 1000
MIN_BINOMIAL = 10
#: The moments, compared in log space (the others of :data:`analytic.quantities.NAMES` are plain numbers).
MOMENTS = ("mean", "mean_abs", "mean_square")
#: Why a check cannot decide (its ``reason``), in the order the verdict lists them.
NOT_CONVERGED = "analytic value not converged"
NO_STDERR = "standard error undefined"
HEAVY_TAILS = "heavy tails"
TOO_FEW = "too few samples"
MEAN_FIELD = "mean-field reference: finite-width bias expected, O(1/n)"
REASONS = (NOT_CONVERGED, NO_STDERR, HEAVY_TAILS, TOO_FEW, MEAN_FIELD)


@displayable(title=lambda c: f"check of {c.statistic}: analytic vs Monte Carlo", name="Check",
             headline=("statistic", ("analytic", lambda c: f"withheld ({c.reason})" if c.withheld else c.analytic),
                       "z", "agree"))
@dataclass(frozen=True)
class Check:
    r"""One simulated statistic against its analytic value: :math:`z = (\text{analytic} - \text{simulated}) /
    \text{stderr}`, ``agree`` when :math:`|z| \le 4` (for a one-sided bound: when :math:`z \ge -4`).
    ``reliable`` is False when the check cannot decide, and ``reason`` (one of :data:`REASONS`) says why: the
    simulated mean rests on few effective samples (heavy tails), the standard error is undefined (then ``z`` is
    nan and ``agree`` False), the analytic value did not converge, or it is a mean-field reference.

    ``analytic``/``simulated``/``stderr`` are floats (possibly 0 after underflow); :meth:`of_logs` computes ``z``
    from natural logs, so it is exact on the linear scale even where the floats underflow.

    >>> Check.of("mean", 1.0, 0.9, 0.01).agree
    False
    """

    statistic: str
    analytic: float
    simulated: float
    stderr: float
    z: float
    agree: bool
    note: str = ""
    one_sided: bool = False
    log_analytic: float = math.nan
    log_simulated: float = math.nan
    reliable: bool = True
    log_stderr: float = math.nan
    reason: str = ""
    #: True when the analytic value missed its tolerance: it is kept here only to size the comparison's notes and
    #: is shown nowhere (``analytic`` and ``z`` are null in :meth:`as_dict`, "not converged" in text).
    withheld: bool = False

    @classmethod
    def of(cls, statistic: str, analytic: float, simulated: float, stderr: float, note: str = "",
           one_sided: bool = False) -> "Check":
        """A check from linear-scale values."""
        diff = analytic - simulated
        if math.isnan(stderr):  # no standard error: no z-score, and no decision
            return dataclasses.replace(cls._make(statistic, analytic, simulated, stderr, math.nan, note, one_sided),
                                       reliable=False, reason=NO_STDERR)
        if stderr > 0:
            z = diff / stderr
        else:
            z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        return cls._make(statistic, analytic, simulated, stderr, z, note, one_sided)

    @classmethod
    def of_logs(cls, statistic: str, log_analytic: float, sign_analytic: int, simulated: ScaledStat,
                note: str = "", one_sided: bool = False) -> "Check":
        r"""A check from :math:`\log|a|`, sign of :math:`a`, and a :class:`ScaledStat`; ``z`` is the linear-scale
        z-score computed as :math:`\mathrm{sign}_a e^{\log|a| - \log se} - \mathrm{sign}_s e^{\log|s| - \log se}`
        (no delta method needed: nothing is transformed, only rescaled)."""
        ls = simulated.log_stderr
        a = sign_analytic * exp_or_inf(log_analytic) if sign_analytic else 0.0
        if not math.isfinite(ls):  # zero spread: exact agreement or infinitely many stderrs apart
            return cls.of(statistic, a, simulated.value, simulated.stderr, note, one_sided)
        za = sign_analytic * exp_or_inf(log_analytic - ls) if sign_analytic else 0.0
        zs = simulated.sign * exp_or_inf(simulated.log_abs - ls) if simulated.sign else 0.0
        z = za - zs if not (math.isinf(za) and math.isinf(zs) and za == zs) else 0.0
        if math.isnan(log_analytic) and sign_analytic:  # no analytic value: no z-score
            z = math.nan
        return dataclasses.replace(
            cls._make(statistic, a, simulated.value, simulated.stderr, z, note, one_sided,
                      log_analytic if sign_analytic else -math.inf, simulated.log_abs), log_stderr=ls)

    def undecided(self, reason: str, note: str = "") -> "Check":
        """This check marked as unable to decide, for ``reason`` (the first reason given is kept)."""
        return dataclasses.replace(self, reliable=False, reason=self.reason or reason,
                                   note="; ".join(n for n in (self.note, note) if n))

    @classmethod
    def _make(cls, statistic, analytic, simulated, stderr, z, note, one_sided, log_a=math.nan,
              log_s=math.nan) -> "Check":
        agree = (z >= -Z_AGREE) if one_sided else (abs(z) <= Z_AGREE)
        return cls(statistic, float(analytic), float(simulated), float(stderr), float(z), bool(agree), note,
                   one_sided, float(log_a), float(log_s))

    def as_dict(self) -> dict:
        shown = not self.withheld
        return {"statistic": self.statistic, "analytic": self.analytic if shown else None,
                "simulated": self.simulated, "stderr": self.stderr, "z": self.z if shown else None,
                "agree": self.agree if shown else None, "note": self.note, "withheld": self.withheld,
                "one_sided": self.one_sided, "log_abs_analytic": self.log_analytic if shown else None,
                "log_abs_simulated": self.log_simulated, "reliable": self.reliable, "log_stderr": self.log_stderr,
                "reason": self.reason or None}


def _checks_html(s: "Simulation") -> str:
    rows = [(c.statistic, c.analytic, c.simulated, c.stderr, c.z, "yes" if c.agree else "no") for c in s.checks]
    return html_table(rows, ("statistic", "analytic", "simulated", "stderr", "z", "agree"),
                      f"verdict: {s.verdict}")


@displayable(title=lambda s: f"simulate {s.act} (width {s.width}): Monte Carlo against the analytic values",
             name=lambda s: ("MonteCarloCheck" if s.width > 1 else
                             "MonteCarloCheckOfIndependence" if getattr(s.result, "preact", None) else "MonteCarloCheckOfChain"),
             headline=("act", "width", "agree", "verdict"),
             extra_html=_checks_html, rows=lambda s: [c.as_dict() for c in s.checks])
@dataclass(frozen=True)
class Simulation:
    """What the ``simulate`` command shows: the simulation, the analytic values and one :class:`Check` each.

    ``result`` is a :class:`ChainSimulation` (width 1) or a :class:`WideSimulation`, the one model asked for;
    ``independent`` is None (no second model is simulated; the field keeps the JSON key).
    """

    act: str
    width: int
    result: ChainSimulation | WideSimulation
    independent: ChainSimulation | None
    analytic: dict
    checks: tuple[Check, ...]
    notes: tuple[str, ...] = ()
    verdict: str = "no analytic value to compare with"

    @property
    def agree(self) -> bool:
        """Every check agrees and every standard error is reliable (a check resting on few effective samples
        makes the verdict "inconclusive", never "agree"); false without analytic values to compare with."""
        return bool(self.checks) and all(c.agree and c.reliable for c in self.checks)

    def check(self, statistic: str) -> Check | None:
        return next((c for c in self.checks if c.statistic == statistic), None)

    def as_dict(self) -> dict:
        """JSON form. The top-level ``mean``/``stderr`` are the simulated :math:`E[\\prod]` for a chain; for a wide
        network (``width`` > 1) they hold the fitted ``slope`` and its standard error, keys kept as they are for
        the scripts that read them (``simulation`` has the slope under its own name)."""
        r = self.result
        head = self.checks[0] if self.checks else None
        if isinstance(r, ChainSimulation):
            top = {"mean": r.mean.value, "stderr": r.mean.stderr, "median_abs": r.median_abs.value,
                   "log_mean": r.log_mean.value,
                   "framework_underflow": {k: v.value for k, v in r.framework_underflow.items()},
                   "framework_underflow_stderr": {k: v.stderr for k, v in r.framework_underflow.items()}}
        else:
            top = {"mean": r.slope.value, "stderr": r.slope.stderr, "median_abs": None, "log_mean": None}
        return {
            **top,
            "statistic": head.statistic if head else None,
            "analytic": head.analytic if head else None,
            "z": head.z if head else None,
            "agree": self.agree,
            "width": self.width,
            "checks": [c.as_dict() for c in self.checks],
            "analytic_values": self.analytic,
            "simulation": r.as_dict(),
            "independent": self.independent.as_dict() if self.independent else None,
            "notes": list(self.notes),
            "verdict": self.verdict,
            **({} if getattr(r, "architecture", None) is None else {"architecture": r.architecture.to_json()}),
        }




# ---------------------------------------------------------------- checks of the chain

def _analytic(route, *args, **kwargs) -> tuple[Any, str | None]:
    """``route(*args, **kwargs)``, or None and a sentence saying why there is no analytic value."""
    try:
        return route(*args, **kwargs), None
    except AnalyticError as exc:
        return None, f"no analytic value: {exc}"


def _with_error(sim: ScaledStat, log_error: float) -> ScaledStat:
    """``sim`` with the analytic value's error added in quadrature to its standard error (in log space)."""
    if not math.isfinite(log_error):
        return sim
    if not math.isfinite(sim.log_stderr):
        return dataclasses.replace(sim, log_error=log_error)
    top = max(sim.log_stderr, log_error)
    both = top + 0.5 * math.log(math.exp(2 * (sim.log_stderr - top)) + math.exp(2 * (log_error - top)))
    return dataclasses.replace(sim, log_error=both)


def _ess_note(ess: float, n: int) -> str:
    return "" if ess >= ESS_WARN else (f"effective sample size {ess:.3g} of {n}: heavy tails make this standard "
                                       "error unreliable")


def _converged(chk: Check, analytic) -> Check:
    """``chk`` marked not decisive when the analytic value missed its tolerance."""
    if getattr(analytic, "converged", True):
        return chk
    return dataclasses.replace(chk, withheld=True).undecided(NOT_CONVERGED, f"the analytic value missed its tolerance (error {analytic.error:.2g}); "
                                        "it is not a reference to decide against")


def _moment_check(q: str, analytic, simulated: ScaledStat, ess: float, n: int) -> Check:
    r"""A moment ``q`` in log space: ``analytic`` is a :class:`~analytic.quantities.LogQuantity` whose error (when
    converged and known) is combined with the simulation's; not decisive when the analytic value did not converge
    (its error is then left out) or the effective sample size is below :data:`ESS_WARN` (heavy tails)."""
    sim = _with_error(simulated, analytic.log_error) if analytic.converged else simulated
    chk = Check.of_logs(q, analytic.log_abs, analytic.sign, sim)
    if ess < ESS_WARN:
        chk = chk.undecided(HEAVY_TAILS, _ess_note(ess, n))
    return _converged(chk, analytic)


def _plain_check(q: str, analytic, simulated: Stat) -> Check:
    """A plain number ``q``: the :class:`~analytic.quantities.LogQuantity` ``analytic`` against ``simulated``,
    the errors combined in quadrature when the analytic value converged (else the simulation's alone, and the
    check is not decisive); an unknown (``nan``) standard error gives no z-score and no decision."""
    error = analytic.error if analytic.converged and not math.isnan(analytic.error) else 0.0
    return _converged(Check.of(q, analytic.estimate, simulated.value, math.hypot(simulated.stderr, error)), analytic)


def _ess(sim: ChainSimulation) -> dict[str, float]:
    """The effective sample size behind each moment's standard error."""
    return {"mean": sim.ess, "mean_abs": sim.ess, "mean_square": sim.ess_square}


def _exact_checks(sim: ChainSimulation, exact) -> list[Check]:
    r"""The simulated chain against the exact chain, quantity by quantity: ``z`` uses the standard error of the
    simulation combined with the analytic error; a check whose standard error rests on too few effective samples
    (:data:`ESS_WARN`, :data:`MIN_DECIDING`, :data:`MIN_BINOMIAL`) is marked unreliable and cannot make the
    verdict "agree"."""
    n = sim.samples - sim.nonfinite
    ess = _ess(sim)
    checks = [_moment_check(q, exact[q], sim[q], ess[q], n) for q in MOMENTS]
    p = exact["zero_probability"]
    p0 = p.estimate  # (a withheld value is only used to size the binomial error; the check is then not decisive)
    se0 = math.sqrt(max(p0 * (1 - p0), 0.0) / n)  # the binomial standard error under the exact value
    chk = _plain_check("zero_probability", p, Stat(sim["zero_probability"].value, se0))
    if not (p0 == 0 or min(n * p0, n * (1 - p0)) >= MIN_BINOMIAL):
        chk = chk.undecided(TOO_FEW, f"expected number of zero (or non-zero) products below {MIN_BINOMIAL}")
    checks.append(chk)
    lm, slm = exact["log_mean"], sim["log_mean"]
    nonzero = n - int(round(sim["zero_probability"].value * n))
    if math.isfinite(lm.estimate) and math.isfinite(slm.value):
        chk = _plain_check("log_mean", lm, slm)
        if nonzero < MIN_DECIDING:
            chk = chk.undecided(TOO_FEW, f"only {nonzero} non-zero products: too few to decide")
        if sim.ess_log < ESS_WARN:  # (nan, no fourth moment kept: not judged)
            chk = chk.undecided(HEAVY_TAILS, f"effective sample size {sim.ess_log:.3g} of the spread of log|prod| "
                                             f"(sd {sim.log_std:.3g}): a few chains carry it, so its standard "
                                             "error is unreliable")
        checks.append(chk)
    return [ch for ch in checks if not math.isnan(ch.analytic)]


def _independence_checks(sim: ChainSimulation, formulas) -> list[Check]:
    """The independence-model simulation against the independence formulas (the formulas, not the network)."""
    n = sim.samples - sim.nonfinite
    ess = _ess(sim)
    checks = [_moment_check(q, formulas[q], sim[q], ess[q], n) for q in ("mean", "mean_square")]
    typical = formulas["log_mean"]
    if math.isfinite(typical.value):  # (the quadrature errors behind the formulas are not propagated)
        checks.append(_converged(Check.of("log_mean", typical.value, sim["log_mean"].value,
                                          sim["log_mean"].stderr), typical))
    return [c for c in checks if not math.isnan(c.analytic)]


def _bound_check(sim: ChainSimulation, formulas) -> Check:
    return Check.of_logs("bound", formulas.log_bound, 1, sim["mean_abs"], one_sided=True,
                         note="one-sided: the crude bound must not lie below the simulated E|prod|")


def _verdict(checks) -> str:
    """"agree" only when every check agrees and is decisive; a decisive disagreement is "DISAGREE"; otherwise
    "inconclusive (reason): statistics", one group per reason of :data:`REASONS`."""
    if not checks:
        return "no analytic value to compare with"
    wrong = [c for c in checks if c.reliable and not c.agree]
    if wrong:
        return "DISAGREE: " + ", ".join(f"{c.statistic} (z = {c.z:.3g})" for c in wrong)
    loose = [c for c in checks if not c.reliable]
    if not loose:
        return f"agree: every check within {Z_AGREE:g} standard errors"
    advice = {HEAVY_TAILS: "simulate more chains", TOO_FEW: "simulate more chains",
              NO_STDERR: "simulate more networks or chains"}
    groups = []
    for reason in REASONS + ("",):
        names = [c.statistic for c in loose if (c.reason or HEAVY_TAILS) == reason]
        if names:
            groups.append(f"inconclusive ({reason}): {', '.join(names)}"
                          + (f" ({advice[reason]})" if reason in advice else ""))
    decisive = len(checks) - len(loose)
    return "; ".join(groups) + (f"; every decisive check ({decisive}) agrees" if decisive else "; no check decides")


# ---------------------------------------------------------------- simulate

def simulate(act, depth: int, weights: str | Distribution, width: int = 1, samples: int = 100_000, seed: int = 0,
             x: float = 1.0, bias: str | Distribution | None = None, preact: str | Distribution | None = None,
             params: dict[str, float] | None = None, progress: bool | None = None, batch: int = 64,
             networks: int = 8, threads: int | None = None, architecture=None) -> Simulation:
    r"""Simulate and compare like with like; what the ``simulate`` command prints.

    Width 1, exact chain (``preact=None``): the simulated chain against the exact chain's values
    (:func:`analytic.theory.chain.exact_chain`, the same network) for ``mean``, ``mean_abs``, ``mean_square``,
    ``zero_probability`` and ``log_mean``, plus the one-sided crude ``bound``. Independence model (``preact``
    given): its simulation against the independence formulas, which checks the formulas only. Only the model asked
    for is simulated. ``z`` combines the simulation's standard error with the analytic error; "agree" needs every
    check within 4 standard errors **and** reliable standard errors, else the verdict is "inconclusive".

    Width > 1: :func:`~analytic.mc.simulate_wide` (``samples``, ``x``, ``preact`` unused); check ``slope`` of
    :math:`\log E\|g_l\|^2` per layer vs :math:`\ln\chi_1` at :math:`\sigma_w^2 = n E[w^2]`,
    :math:`\sigma_b^2 = E[b^2]`.

    >>> s = simulate("sigmoid", 10, "normal(1, 0.5)", samples=20_000, seed=1)
    >>> s.analytic["model"], s.check("mean").agree
    ('exact chain', True)
    """
    width = canonical_int("width", width, 1, MAX_WIDTH, SimulationError)
    canonical_int("batch", batch, 1, MAX_BATCH, SimulationError)
    canonical_int("networks", networks, 2, MAX_NETWORKS, SimulationError)
    check_progress(progress)
    act = resolve(act, params)
    arch = canonical_architecture(architecture)
    if arch.kind == "recurrent":
        if width > 1:
            raise SimulationError("the recurrent chain is one neuron per step: width 1")
        sim = simulate_chain(act, depth, weights, samples, seed, x, bias, preact, progress=progress,
                             threads=threads, architecture=arch)
        return _compare_recurrent(sim, act, depth, weights, arch)
    if arch.kind == "residual":
        if width > 1:
            raise SimulationError("the residual chain is simulated at width 1 (the wide residual network has its "
                                  "mean field: meanfield --residual)")
        sim = simulate_chain(act, depth, weights, samples, seed, x, bias, preact, progress=progress, threads=threads,
                             architecture=arch)
        return _compare_chain(sim, act, depth, weights, bias, arch)
    if width > 1:
        return _compare_wide(act, depth, width, weights, bias, batch, seed, networks, preact, x, threads)
    sim = simulate_chain(act, depth, weights, samples, seed, x, bias, preact, progress=progress, threads=threads)
    return _compare_chain(sim, act, depth, weights, bias)


def _compare_chain(sim: ChainSimulation, act: BoundActivation, depth, weights, bias, architecture=None) -> Simulation:
    """The chain simulation ``sim`` against the analytic values of its model."""
    from .theory.chain import exact_chain
    from .theory.independence import independence_product

    formulas, problem = _analytic(independence_product, act, depth, weights, preact=sim.preact or STANDARD_NORMAL)
    if problem:
        return Simulation(sim.act, 1, sim, None, {}, (), (problem,))
    notes: list[str] = []
    if architecture is not None:
        return _compare_residual(sim, act, depth, weights, bias, architecture, formulas)
    if sim.preact is None:
        exact, problem = _analytic(exact_chain, act, depth, weights, x=sim.x, bias=bias)
        if problem:
            return Simulation(sim.act, 1, sim, None, {}, (), (problem,))
        analytic = {"model": "exact chain", "method": exact.method, **exact.as_dict()}
        checks = _exact_checks(sim, exact)
        notes.append(f"analytic values: the exact chain (x = {sim.x:g}" + (f", bias {sim.bias}" if sim.bias else "")
                     + f"), by {exact.method}, the same network as simulated")
        if exact["zero_probability"].estimate == 0 and sim["zero_probability"].value > 0:
            notes.append("some simulated products are exactly 0 although the exact chain has none (the simulation "
                         "counts only true zeros: phi' = 0 on an interval, or w = 0)")
    else:
        analytic = {"model": "independence approximation", **formulas.as_dict()}
        checks = _independence_checks(sim, formulas)
        notes.append(f"independence model: v_t ~ {sim.preact} drawn independently of w_t, compared with the "
                     "independence formulas; this checks the formulas, not a network")
    checks.append(_bound_check(sim, formulas))
    if sim.nonfinite - sim.unresolved:
        notes.append(f"{sim.nonfinite - sim.unresolved} chains overflowed in the forward pass and are left out")
    if sim.unresolved:
        notes.append(f"{sim.unresolved} chains are left out: log|phi'(v)| could not be resolved at some layer "
                     "(mpmath at up to 480 digits)")
    return Simulation(sim.act, 1, sim, None, analytic, tuple(checks), tuple(notes), _verdict(checks))


# ---------------------------------------------------------------- the recurrent (tied-weight) chain

#: Largest share of a moment that may come from weights the simulation rarely draws before its check stops deciding.
RARE_SHARE = 0.01


def _compare_recurrent(sim: ChainSimulation, act: BoundActivation, depth, weights, arch) -> Simulation:
    r"""The simulated tied chain against its exact values (:func:`~analytic.theory.recurrent.recurrent_chain`)
    and Pascanu's bound (one-sided). The tied chain's moments can sit far in the tail of the weight law
    (:math:`E[\prod^2]` of a ReLU chain at T = 50 comes from :math:`w \approx 10` under N(0, 1)): a moment more
    than :data:`RARE_SHARE` of which comes from weights the N sequences reach fewer than
    :data:`~analytic.theory.recurrent.RARE_HITS` times in expectation is not decisive (heavy tails), whatever its
    sample standard error says."""
    from .theory.recurrent import RARE_HITS, recurrent_chain

    exact, problem = _analytic(recurrent_chain, act, depth, weights, x=sim.x, inputs=arch.inputs)
    if problem:
        return Simulation(sim.act, 1, sim, None, {}, (), (problem,))
    n = sim.samples - sim.nonfinite
    checks = []
    for chk in _exact_checks(sim, exact):
        share = exact.rare_share(chk.statistic, n) if chk.statistic in MOMENTS else 0.0
        if share > RARE_SHARE and chk.reliable:
            chk = chk.undecided(HEAVY_TAILS, f"{share:.3g} of this moment comes from weights that {n} sequences "
                                             f"reach fewer than {RARE_HITS:g} times in expectation: its standard "
                                             "error cannot see them")
        checks.append(chk)
    p = exact.pascanu
    checks.append(Check.of_logs("bound", p.log_bound, 1, sim["mean_abs"], one_sided=True,
                                note="one-sided: Pascanu's bound E[(|w| sup|phi'|)^T] must not lie below the "
                                     "simulated E|prod|"))
    analytic = {"model": "exact chain", "method": exact.method, **exact.as_dict()}
    notes = [f"analytic values: the exact recurrent chain ({arch.describe()}, x = {sim.x:g}), by {exact.method}, "
             "the same network as simulated (one weight per simulated sequence)"]
    if sim.nonfinite:
        notes.append(f"{sim.nonfinite} sequences overflowed in the forward pass or could not be resolved and are "
                     "left out")
    return Simulation(sim.act, 1, sim, None, analytic, tuple(checks), tuple(notes), _verdict(checks))


def _compare_residual(sim: ChainSimulation, act, depth, weights, bias, arch, formulas) -> Simulation:
    r"""The simulated residual chain against the exact residual chain (the same network), and the one-sided residual
    crude bound :math:`E|\prod| \le (1 + |\alpha| E|w| \sup|\varphi'|)^r`."""
    from .theory.chain import exact_chain

    exact, problem = _analytic(exact_chain, act, depth, weights, x=sim.x, bias=bias, architecture=arch)
    if problem:
        return Simulation(sim.act, 1, sim, None, {}, (), (problem,))
    analytic = {"model": "exact residual chain", "method": exact.method, **exact.as_dict()}
    checks = _exact_checks(sim, exact)
    per = formulas.per_layer["bound"]
    b1 = 1.0 + abs(arch.alpha_at(depth)) * per["E|w|"] * per["sup|phi'|"]
    log_bound = depth * math.log(b1) if math.isfinite(b1) else math.inf
    checks.append(Check.of_logs("bound", log_bound, 1, sim["mean_abs"], one_sided=True,
                                note="one-sided: the residual crude bound (1 + |alpha| E|w| sup|phi'|)^r must not lie "
                                     "below the simulated E|prod|"))
    notes = [f"analytic values: the exact chain of the {arch.describe()} network (x = {sim.x:g}"
             + (f", bias {sim.bias}" if sim.bias else "") + f"), by {exact.method}, the same network as simulated"]
    if sim.nonfinite:
        notes.append(f"{sim.nonfinite} chains overflowed in the forward pass and are left out")
    return Simulation(sim.act, 1, sim, None, analytic, tuple(checks), tuple(notes), _verdict(checks))


# ---------------------------------------------------------------- wide networks

def _log_chi(act: BoundActivation, sigma_w2: float, q: float) -> float:
    r""":math:`\ln(\sigma_w^2 E[\varphi'(\sqrt q z)^2])` (nan when it cannot be computed)."""
    from .theory.gaussian import gaussian_expectation

    try:
        value = sigma_w2 * gaussian_expectation(act, "dphi2", 0.0, math.sqrt(max(q, 0.0))).value
    except AnalyticError:
        return math.nan
    return math.log(value) if value > 0 else -math.inf


def _float(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _compare_wide(act: BoundActivation, depth, width, weights, bias, batch, seed, networks, preact, x,
                  threads) -> Simulation:
    r"""A wide simulation against mean field (:math:`\ln\chi_1`), or against the exact finite-width law where
    there is one (the ReLU family with zero-mean Gaussian weights and no bias)."""
    from .theory.meanfield import mean_field

    sim = simulate_wide(act, depth, width, weights, bias, batch, seed, networks=networks, threads=threads)
    notes = []
    if preact is not None or x != 1.0:
        notes.append("--preact and --x apply to the chain only (width 1); the wide network draws its inputs "
                     "from N(0, I)")
    try:
        mf = mean_field(act, sim.sigma_w2, sim.sigma_b2)
    except AnalyticError as exc:
        return Simulation(sim.act, width, sim, None, {}, (), tuple(notes + [f"no analytic value: {exc}"]))
    chi1, q_star = _float(mf.chi1), _float(mf.q_star)
    a = {"sigma_w2": sim.sigma_w2, "sigma_b2": sim.sigma_b2, "q_star": q_star, "chi1": chi1,
         "log_chi1": math.log(chi1) if chi1 > 0 else -math.inf, "depth_scale": _float(mf.depth_scale)}
    note = "slope of log E||dL/dy_l||^2 per layer back-propagated (jackknife stderr over networks) vs ln chi_1"
    if sim.weight_mean != 0:
        note += f"; mean field assumes zero-mean weights, these have mean {sim.weight_mean:g}"
    exact = _finite_width_rates(act, sim, weights)
    if exact is not None:  # the ReLU family with Gaussian weights: exact rates at this width replace mean field
        a.update(exact)
        checks = _finite_width_checks(sim, exact, note)
    elif chi1 > 0:
        checks = _mean_field_checks(act, sim, a["log_chi1"], q_star, note)
    else:
        checks = ()
    return Simulation(sim.act, width, sim, None, a, checks, tuple(notes), _verdict(checks))


def _mean_field_checks(act: BoundActivation, sim: WideSimulation, log_chi1: float, q_star: float,
                       note: str) -> tuple:
    """``slope`` and ``slope_log`` against :math:`\\ln\\chi_1`; a disagreeing slope says whether the forward pass
    had reached the fixed point :math:`q^*` over the fitted layers.

    Mean field is the :math:`n \\to \\infty` limit, and at width n the per-layer rates differ from it by
    :math:`O(1/n)`, with a constant this library does not compute for these networks. So both checks are mean-field
    *references*: a disagreement is not decisive (:data:`MEAN_FIELD`) and is reported as the bias, with its size
    and :math:`n` times it, not as DISAGREE."""
    slope = Check.of("slope", log_chi1, sim.slope.value, sim.slope.stderr, note)
    if not slope.agree:
        q0, q1 = sim.q[sim.burn_in], sim.q[-1]
        off = not (math.isfinite(q_star) and q_star > 0) or max(abs(q0 - q_star), abs(q1 - q_star)) > 0.05 * q_star
        if off:
            rates = [_log_chi(act, sim.sigma_w2, q) for q in (q0, q1)]
            extra = (f"the forward pass has not reached the fixed point: q = {q0:.4g} .. {q1:.4g} over the fitted "
                     f"layers, q* = {q_star:.4g}; there ln(sigma_w^2 E[phi'(sqrt(q) z)^2]) = {rates[0]:.4g} .. "
                     f"{rates[1]:.4g}, so the rate ln chi_1 at q* does not apply to these layers")
        else:
            extra = (f"q = {q1:.4g} at the last layer, q* = {q_star:.4g}; finite width {sim.width} adds O(1/n) "
                     "corrections to the mean-field rate")
        slope = dataclasses.replace(slope, note=note + "; " + extra)
    typical = Check.of("slope_log", log_chi1, sim.slope_log.value, sim.slope_log.stderr,
                       "typical rate vs mean field ln chi_1 (n -> infinity; no exact law at finite width for "
                       "this network, which lowers the typical rate by O(1/n))")
    return tuple(_mean_field_reference(c, sim.width) for c in (slope, typical))


def _mean_field_reference(chk: Check, width: int) -> Check:
    """``chk`` (a rate against mean field), when it disagrees, marked as a reference: its gap to the simulation is
    reported as the finite-width bias (an agreeing one stays decisive: mean field holds at this precision)."""
    if chk.reason or chk.agree:
        return chk
    gap = chk.simulated - chk.analytic
    return chk.undecided(MEAN_FIELD, f"finite-width bias expected, O(1/n): simulated - mean field = {gap:.3g} per "
                                     f"layer (n x that = {width * gap:.3g}, z = {chk.z:.3g})")


def _finite_width_checks(sim: WideSimulation, exact: dict, note: str) -> tuple:
    """``slope`` and ``slope_log`` against the exact finite-width rates."""
    fw = "exact finite-width law (Hanin & Nica 2019) at width " + str(sim.width)
    return (Check.of("slope", exact["finite_width_slope"], sim.slope.value, sim.slope.stderr,
                     note + f"; {fw}: ln(sigma_w^2 E[phi'^2]) - ln P(a layer is alive)"),
            Check.of("slope_log", exact["finite_width_slope_log"], sim.slope_log.value, sim.slope_log.stderr,
                     f"typical rate: slope of the mean log ||dL/dy_l||^2 (stderr over networks) vs the {fw}: "
                     "ln(sigma_w^2/n) + E[ln(chi2_k + a^2 chi2_(n-k)) | alive], k ~ Bin(n, 1/2)"))


def _finite_width_rates(act: BoundActivation, sim: WideSimulation, weights) -> dict | None:
    r"""Per-layer rates of :math:`\log E\|g_l\|^2` and of :math:`E\log\|g_l\|^2` from the exact law, or None.

    With :math:`u \sim N(0, I)`, :math:`\|g_l\|^2 \overset{d}{=} \|u'\|^2\,\|J_{l\to L}\hat u\|^2`
    (:math:`JJ^\top` and :math:`J^\top J` share their nonzero spectrum), and layer l is reached alive with
    probability :math:`(1 - P_0)^l`, so the mean-square slope is :math:`\ln(c\,E S) - \ln(1 - P_0)`.
    """
    from .theory.finite_width import exact_law_reason, finite_width

    wd = distribution(weights)
    if not isinstance(wd, Normal) or sim.weight_mean != 0 or sim.bias is not None:
        return None
    if exact_law_reason(act, 0.0, "gaussian") is not None:
        return None
    one = finite_width(act, 1, sim.sigma_w2, sim.width, median=False)
    dead = one.dead_probability.exact
    return {"finite_width_slope": math.log(one.mean.exact) - math.log1p(-dead),
            "finite_width_slope_log": one.log_mean.exact,
            "finite_width_mean_field_gap": one.log_mean.exact - one.log_mean.mean_field}
