r"""The data of the activation and chain figures, computed through the library and handed to
:mod:`analytic.output.plotting` as frozen panel records: nothing here draws.

φ and φ′ with the proved bounds of φ′ (:func:`activation_panel`), sampled softmax Jacobians with their proved
bounds (:func:`softmax_jacobians`, :func:`softmax_bounds`), and the one-neuron chain :math:`y_0 = 1`,
:math:`v_t = w_t y_{t-1}` with weights :data:`CHAIN_WEIGHTS`: the gradient product across depth
(:func:`gradient_panel`), the law of the pre-activations (:func:`preact_panel`), histograms of
:math:`\log_{10}|\prod_t w_t\varphi'(v_t)|` (:func:`histogram_panel`), and the fraction of dead ReLU units
(:func:`dead_panel`). Monte Carlo uses the budget's fixed seed; each builder is memoised per budget, so figures
that share data compute it once per process.

>>> activation_panel("relu", 11).dphi.breaks
(0.0,)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy as sp

from . import plotting as P
from ..core.calculus import numpy_function, resolve
from ..core.registry import Activation
from ..quantities import STANDARD_NORMAL
from .budget import DEFAULT, Budget

#: Weights of the chain figures: the seed example ``normal(1, 0.5)``.
CHAIN_WEIGHTS = "normal(1, 0.5)"
#: Pre-activation distribution of the independence model drawn in the depth and histogram figures.
PREACT = STANDARD_NORMAL
#: Two-sided 95 % normal quantile.
Z95 = 1.959963984540054


# ---------------------------------------------------------------- activations

XRANGE = (-5.0, 5.0)


def _fmt_value(value: sp.Expr | None, number: float) -> str:
    """A bound's value for a label: exact when short (1/4, 1, 0), else 4 significant digits."""
    if value is not None:
        if value.is_Rational:
            p, q = int(value.p), int(value.q)
            return f"{p}" if q == 1 else f"{p}/{q}"
    return rf"\approx {number:#.4g}" if not float(number).is_integer() else f"{number:g}"


def _bound_label(symbol: str, kind: str, value: sp.Expr | None, number: float, attained: bool) -> str:
    """E.g. ``max σ′ = 1/4`` or ``sup φ′ = 1 (not attained)`` in mathtext."""
    word = {"sup": ("max", "sup"), "inf": ("min", "inf")}[kind][0 if attained else 1]
    v = _fmt_value(value, number)
    eq = "" if v.startswith(r"\approx") else "="
    symbol = r"\varphi"  # one symbol in every figure (the panel title names the activation)
    text = rf"$\{word}\ {symbol}' {eq} {v}$"
    return text if attained else text + "\n(not attained)"


def dphi_bounds(act: Activation) -> tuple[P.BoundLine, ...]:
    r"""The proved sup of φ′ (and its inf when negative) as labelled lines, from :func:`analytic.bounds.bound`."""
    from ..bounds import bound

    b = bound(act, of="dphi")  # a bound that is not proved raises: a figure never silently lacks its lines
    symbol = act.symbol
    lines = []
    for kind, ext in (("sup", b.sup), ("inf", b.inf)):
        number = 0.5 * (float(ext.lower) + float(ext.upper))
        if not math.isfinite(number) or (kind == "inf" and number >= 0):
            continue
        exact = _sympy_or_none(ext.exact)
        lines.append(P.BoundLine(number, _bound_label(symbol, kind, exact, number, bool(ext.attained)),
                                 bool(ext.attained)))
    return tuple(lines)


def _sympy_or_none(exact) -> sp.Expr | None:
    """An extremum's exact value as a SymPy expression (None when only an enclosure is known)."""
    return exact if isinstance(exact, sp.Basic) else None


#: What the softmax panels show, under their title: one output against its own logit, the others fixed.
SOFTMAX_NOTE = (r"$s_1(x) = e^{x}/(e^{x} + \sum_{j>1} e^{z_j})$ with the other logits fixed at "
                r"$\sum_{j>1} e^{z_j} = 1$, so $s_1(x) = \sigma(x)$ and $\partial s_1/\partial x = s_1(1 - s_1)$")


def _title(act: Activation) -> str:
    from .selection import label

    if act.vector:
        return r"softmax output $s_1$ vs its own logit $x$"
    return label(act)


@functools.lru_cache(maxsize=None)
def activation_panel(name, grid: int = DEFAULT.grid, xlim: tuple[float, float] = XRANGE) -> P.ActivationPanel:
    """φ and φ′ of an activation (a name, or a bound activation with its parameters) on ``xlim`` (default
    :data:`XRANGE`), with its kinks and bounds; the title names the parameters set away from their defaults.

    At a kink where φ′ jumps the φ′ line is broken, both one-sided limits are open dots (φ′ does not exist
    there) and PyTorch's autograd value at the kink is a filled diamond.
    """
    act = resolve(name)
    x = np.linspace(*xlim, grid)
    phi, dphi = numpy_function(act, 0), numpy_function(act, 1)
    eps = 1e-9
    breaks, marks, holes = [], [], []
    for k in act.kinks:
        a = float(k.at)
        if not xlim[0] < a < xlim[1]:
            continue
        left, right = dphi(np.array([a - eps, a + eps]))
        if abs(left - right) > 1e-6:
            breaks.append(a)
            marks.append((a, float(k.dphi)))
            holes += [(a, float(left)), (a, float(right))]
    if breaks:  # approach each jump from both sides; the convention value is the dot, not a grid point
        x = np.union1d(x[np.all(np.abs(x[:, None] - np.array(breaks)) > 2 * eps, axis=1)],
                       [b + s for b in breaks for s in (-eps, eps)])
    return P.ActivationPanel(
        name=act.name, title=_title(act),
        phi=P.Curve(x, phi(x)),
        dphi=P.Curve(x, dphi(x), tuple(breaks), tuple(marks), tuple(holes)),
        bounds=dphi_bounds(act))


# ---------------------------------------------------------------- softmax Jacobian

@dataclass(frozen=True)
class SoftmaxJacobians:
    r"""Entries of :math:`J = \operatorname{diag}(s) - s s^\top` for sampled logits, grouped by input size."""

    n: tuple[int, ...]
    diagonal: tuple[np.ndarray, ...]
    off_diagonal: tuple[np.ndarray, ...]
    norm: tuple[np.ndarray, ...]


def softmax_jacobians(sizes: Sequence[int], samples: int, seed: int = 0) -> SoftmaxJacobians:
    r"""Sample logits :math:`z \sim N(0, \tau^2 I_n)` with :math:`\tau` log-uniform in [0.05, 5] (so both nearly
    uniform and nearly one-hot softmaxes occur) and compute :math:`J = \operatorname{diag}(s) - s s^\top` from its
    definition: diagonal entries, off-diagonal entries and the spectral norm (largest eigenvalue; J is symmetric
    positive semi-definite).

    >>> j = softmax_jacobians([2], 10)
    >>> bool(np.all(j.diagonal[0] <= 0.25))
    True
    """
    rng = np.random.default_rng(seed)
    diag, off, norm = [], [], []
    for n in sizes:
        tau = np.exp(rng.uniform(np.log(0.05), np.log(5.0), size=(samples, 1)))
        z = rng.standard_normal((samples, n)) * tau
        z -= z.max(axis=1, keepdims=True)
        s = np.exp(z)
        s /= s.sum(axis=1, keepdims=True)
        J = np.einsum("ki,ij->kij", s, np.eye(n)) - s[:, :, None] * s[:, None, :]
        diag.append(np.diagonal(J, axis1=1, axis2=2).reshape(-1))
        off.append(J[:, ~np.eye(n, dtype=bool)].reshape(-1))
        norm.append(np.linalg.eigvalsh(J)[:, -1])
    return SoftmaxJacobians(tuple(sizes), tuple(diag), tuple(off), tuple(norm))


def softmax_bounds() -> dict[str, P.BoundLine]:
    r"""The proved bounds from :func:`analytic.bounds.softmax_jacobian_bounds`: :math:`\partial s_i/\partial z_i
    \le 1/4`, :math:`\partial s_i/\partial z_j \ge -1/4`, :math:`\|J\|_2 \le 1/2`, as labelled lines."""
    from ..bounds import softmax_jacobian_bounds

    b = softmax_jacobian_bounds()

    def line(ext, kind: str, what: str) -> P.BoundLine:
        number = 0.5 * (float(ext.lower) + float(ext.upper))
        word = {"sup": ("max", "sup"), "inf": ("min", "inf")}[kind][0 if ext.attained else 1]
        value = _fmt_value(_sympy_or_none(ext.exact), number)
        label = rf"$\{word}\ {what} {'' if value.startswith(chr(92) + 'approx') else '='} {value}$"
        return P.BoundLine(number, label + ("" if ext.attained else " (not attained)"), bool(ext.attained))

    return {"diagonal": line(b.diagonal, "sup", r"s_i(1-s_i)"),
            "off_diagonal": line(b.off_diagonal, "inf", r"(-s_i s_j)"),
            "norm": line(b.spectral_norm, "sup", r"\|J\|_2")}


# ---------------------------------------------------------------- gradient across depth

def _exp(log_value: float) -> float:
    return math.exp(log_value) if log_value > -745 else 0.0


@functools.lru_cache(maxsize=None)
def gradient_panel(name: str, budget: Budget = DEFAULT, weights: str = CHAIN_WEIGHTS) -> P.GradientPanel:
    r"""Gradient magnitude against depth for the chain of one activation with ``weights`` (x = 1, no bias).

    The exact chain (:func:`analytic.theory.chain.exact_chain`, vetted by :func:`analytic.theory.gradient.vetted`):
    :math:`|E\prod|` and :math:`e^{E\log|\prod|}` at every depth where they converged (a withheld value is not
    handed on); the crude bound :math:`(E|w|\sup|\varphi'|)^r`; the independence approximation (:math:`v \sim`
    :data:`PREACT` independent of the weights) as thin lines; and a Monte Carlo of the same chain at
    ``budget.depth_points``: :math:`|` mean :math:`|` with :math:`\pm 1.96` standard errors (flagged when the
    effective sample size is below 1000) and the simulated median of :math:`|\prod|` with its interval.
    """
    from ..theory.independence import independence_product
    from ..mc import simulate_chain
    from ..theory.chain import exact_chain
    from ..theory.gradient import vetted

    depth = np.arange(1, budget.max_depth + 1)
    exact = vetted(exact_chain(name, budget.max_depth, weights))
    rows = [independence_product(name, int(r), weights, preact=PREACT) for r in depth]
    points = np.array([r for r in budget.depth_points if r <= budget.max_depth])
    sims = [simulate_chain(name, int(r), weights, samples=budget.chains, seed=budget.seed, progress=False)
            for r in points]
    mean = np.array([_exp(s.mean.log_abs) if s.mean.sign else 0.0 for s in sims])
    mean_se = np.array([_exp(s.mean.log_stderr) for s in sims])
    median = np.array([s.median_abs.value for s in sims])
    median_se = np.array([s.median_abs.stderr for s in sims])
    m, lm = exact.by_depth["mean"], exact.by_depth["log_mean"]
    with np.errstate(invalid="ignore"):
        exp_log_mean = np.exp(np.clip(lm.values, -745, 700))  # nan where withheld or undefined
    exact_lines = (P.DepthLine("mean", np.abs(m.values), m.withheld),
                   P.DepthLine("exp_log_mean", exp_log_mean, lm.withheld), _median_line(name, budget.max_depth, weights))
    note = ""
    if sims[-1].zero_fraction.value > 0.5:
        p0 = exact["zero_probability"]
        share = (f"{100 * p0.value:.1f} % of the products" if not p0.withheld else
                 f"{100 * sims[-1].zero_fraction.value:.1f} % of the simulated products")
        note = f"median 0: {share}\nare exactly 0 at $r = {budget.max_depth}$ (dead paths)"
    return P.GradientPanel(
        title=exact.activation or str(name), depth=depth,
        bound=np.array([_exp(g.log_bound) for g in rows]), exact=exact_lines,
        mc_mean=P.Band(points, mean, mean - Z95 * mean_se, mean + Z95 * mean_se,
                       reliable=np.array([s.ess >= 1000 for s in sims])),
        mc_median=P.Band(points, median, median - Z95 * median_se, median + Z95 * median_se), note=note,
        independence_mean=np.array([_exp(g.log_mean_abs) for g in rows]),
        independence_exp_log_mean=np.array([_exp(g.log_typical) for g in rows]))


def _median_line(name: str, depth: int, weights: str) -> P.DepthLine:
    r"""The exact median of :math:`|\prod|` at depths 1…``depth`` (:func:`analytic.theory.typical.log_law`): nan
    where withheld, and where at least half the products are exactly 0 (a median of 0 has no place on a log axis;
    the panel's note says so)."""
    from ..theory.typical import log_law

    med = log_law(name, depth, weights).median_log
    withheld = np.array([q.withheld for q in med])
    y = np.array([math.exp(q.log_abs) if q.sign and not q.withheld and q.log_abs > -745 else math.nan for q in med])
    return P.DepthLine("median", y, withheld)


# ---------------------------------------------------------------- the law of the pre-activations

@functools.lru_cache(maxsize=None)
def preact_panel(name: str, budget: Budget = DEFAULT, weights: str = CHAIN_WEIGHTS) -> P.PreactPanel:
    r"""Mean ± sd of :math:`v_t` against t in the exact chain (:func:`analytic.theory.chain.exact_chain`), beside
    the :math:`N(0, 1)` the independence approximation assumes."""
    from ..theory.chain import exact_chain

    from ..distributions import distribution

    c = exact_chain(name, budget.max_depth, weights)
    m = distribution(PREACT).moments().floats()
    return P.PreactPanel(c.activation, np.arange(1, budget.max_depth + 1), np.asarray(c.preact_mean),
                         np.asarray(c.preact_sd), PREACT, m["mean"], math.sqrt(m["mean_square"] - m["mean"] ** 2))


# ---------------------------------------------------------------- histogram of log|product|

LN10 = math.log(10.0)


@functools.lru_cache(maxsize=None)
def histogram_panel(name: str, budget: Budget = DEFAULT) -> P.HistogramPanel:
    r"""Samples of :math:`\log_{10}|\prod|` at ``budget.hist_depths`` (independence model, same seed), with the
    Monte Carlo :math:`\log_{10}E|\prod|` and :math:`\log_{10}` median of the same chains."""
    from ..mc import chain_log_products, simulate_chain

    samples, means, medians, zeros = [], [], [], []
    for r in budget.hist_depths:
        logs, _ = chain_log_products(name, r, CHAIN_WEIGHTS, budget.hist_chains, seed=budget.seed, preact=PREACT)
        s = simulate_chain(name, r, CHAIN_WEIGHTS, samples=budget.hist_chains, seed=budget.seed, preact=PREACT)
        samples.append(logs[np.isfinite(logs)] / LN10)
        means.append(s.mean_abs.log_abs / LN10)
        medians.append(s.log_median_abs.value / LN10)
        zeros.append(s.zero_fraction.value)
    return P.HistogramPanel(name, tuple(budget.hist_depths), tuple(samples), tuple(means), tuple(medians),
                            tuple(zeros))


# ---------------------------------------------------------------- dying ReLU

DEAD_BIAS_RANGE = (-3.0, 3.0)
#: Pre-activation v = w·1 + b with w ~ N(0, 2) (He scale for unit inputs) and a constant bias b.
DEAD_STD = math.sqrt(2.0)


@functools.lru_cache(maxsize=None)
def dead_panel(budget: Budget = DEFAULT) -> P.DeadPanel:
    r"""Fraction of ReLU units with :math:`\varphi'(v) = 0` against the bias mean :math:`\mu`.

    Analytic: :math:`P(v < 0) = 1 - E[\operatorname{ReLU}'(v)]` for :math:`v \sim N(\mu, 2)`
    (:func:`analytic.theory.gaussian.gaussian_expectation`). Monte Carlo: the first layer of the chain with
    :math:`w \sim N(0, 2)`, :math:`x = 1`, bias :math:`\mu` (:func:`analytic.mc.simulate_chain`, zero
    fraction with its standard error), and the first layer of a width-``budget.dead_width`` network with He
    weights and unit Gaussian inputs (:func:`analytic.mc.simulate_wide`, fraction of (input, unit) pairs
    with :math:`\varphi'(v) = 0`), whose pre-activations have the same variance 2.
    """
    from ..theory.gaussian import gaussian_expectation
    from ..mc import simulate_chain, simulate_wide

    curve_x = np.linspace(*DEAD_BIAS_RANGE, 121)
    curve_y = np.array([1.0 - float(gaussian_expectation("relu", "dphi", mean=float(m), std=DEAD_STD))
                        for m in curve_x])
    mus = np.linspace(*DEAD_BIAS_RANGE, budget.dead_points)
    weights = f"normal(0, {DEAD_STD!r})"
    sims = [simulate_chain("relu", 1, weights, samples=budget.chains, seed=budget.seed, bias=f"constant({float(m)!r})")
            for m in mus]
    value = np.array([s.zero_fraction.value for s in sims])
    se = np.array([s.zero_fraction.stderr for s in sims])
    n = budget.dead_width
    with np.errstate(invalid="ignore"):  # all-dead batches give log 0 = -inf in the per-layer log statistics
        wide = [simulate_wide("relu", 2, n, f"he({n})", bias=f"constant({float(m)!r})", batch=budget.dead_batch,
                              networks=2, seed=budget.seed) for m in mus]
    return P.DeadPanel(
        title="Dying ReLU: a negative bias switches units off", xlabel=r"bias $\mu$",
        curve_x=curve_x, curve_y=curve_y, curve_label=r"analytic $P(v<0)$, $v \sim \mathcal{N}(\mu, 2)$",
        points=P.Band(mus, value, value - Z95 * se, value + Z95 * se),
        points_label=r"Monte Carlo, one unit $v = w + \mu$," + f"\n{budget.chains:,} draws, 95 % bars (black)",
        extra_x=mus, extra_y=np.array([w.zero_dphi_fraction[1] for w in wide]),
        extra_label=f"Monte Carlo, first layer of width-{n} networks\n(He weights): 2 networks × {budget.dead_batch} "
                    "inputs each")

