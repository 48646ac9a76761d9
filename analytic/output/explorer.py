r"""The explorer: one self-contained HTML page with an activation menu and sliders for :math:`\sigma_w^2`,
:math:`\sigma_b^2` and the depth, for the lecture hall (offline, from a file).

Every value on the page is computed here, in Python, at the points of an :class:`ExplorerGrid`; the page's
callbacks only select the precomputed values of the grid point the widgets name (no interpolation). Four panels:

* (a) :math:`\varphi` and :math:`\varphi'` on :math:`[-5, 5]`, with the proved :math:`\sup\varphi'` and
  :math:`\inf\varphi'` of :func:`analytic.bound` as horizontal lines, each said attained or not;
* (b) the length map :math:`G(q) = \sigma_w^2 V(q) + \sigma_b^2`, :math:`V(q) = E[\varphi(\sqrt q z)^2]`, on
  :math:`q \in [0, 10]` beside the diagonal, with the fixed points of :func:`analytic.mean_field`, and
  :math:`q_l = G(q_{l-1})`, :math:`q_0 = 1`, across depth;
* (c) the per-layer factor :math:`\chi_l = \sigma_w^2 W(q_l)`, :math:`W(q) = E[\varphi'(\sqrt q z)^2]`, with
  :math:`\chi_1` at the fixed point reached (:func:`analytic.mean_field`), and the mean-field gradient across depth
  :math:`E\|\delta_0\|^2/E\|\delta_L\|^2 = \prod_{l<L}\chi_l` (gradient independence, Schoenholz et al. 2017);
* (d) the phase diagram: :math:`\log_{10}\chi_1` over the grid (:func:`analytic.mean_field`), the points with
  :math:`\chi_1 = 1` (:func:`analytic.critical_points`, stable and unstable) and the current point.

The library has no function for :math:`V`, :math:`W` at many lengths at once, which the trajectories need
(:func:`analytic.gaussian_expectation` takes milliseconds a call); :func:`length_moments` computes them here from
the public :func:`analytic.numpy_function` and the activation's kinks, by composite Gauss–Legendre rules whose
error is the difference of two levels. Each trajectory is computed at two levels; an entry where they differ by
more than :data:`TOLERANCE` (relative) is refined at the next level, and withheld with the reason when the last
level does not meet it. A withheld value is NaN in the page's data (not drawn) and its reason is printed.

The page uses Bokeh's standalone output with its JavaScript inline (no network), and its bytes depend only on the
inputs: the document's identifiers are renumbered in the order they first appear (:func:`_stable_ids`).

>>> g = ExplorerGrid(activations=("relu",), sigma_w2=(1.0, 2.0, 1.0), sigma_b2=(0.0, 0.1, 0.1), depth=3)
>>> t = explorer_tables(g)
>>> [round(float(x), 12) for x in t.q[0, 1, 0]]  # relu, sigma_w^2 = 2, sigma_b^2 = 0: q_l = q_0
[1.0, 1.0, 1.0, 1.0]
"""
from __future__ import annotations

import functools
import html
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.calculus import numpy_function, resolve
from ..core.files import atomic_write_text, output_folder
from ..errors import AnalyticError, ArgumentError, OutputError

#: The activations on the page's menu (catalogue names).
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "identity")
#: Relative tolerance of every trajectory value (q_l, chi_l, their product) and of G(q).
TOLERANCE = 1e-9
#: Accuracy levels of :func:`length_moments`: (Gauss–Legendre order, panels on [-Z_MAX, Z_MAX]).
LEVELS = ((8, 12), (16, 24), (32, 48), (64, 96))
#: The integrals run over |z| <= Z_MAX: the normal mass beyond is 1.5e-23, and every catalogue phi grows at most
#: linearly, so the tail adds less than 1e-20 relative.
Z_MAX = 10.0
#: Extra panel edges at these values of x = sqrt(q) z, where a smooth phi bends (scale 1 in x).
X_CUTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
#: Where phi and phi' are drawn, and the lengths q where G(q) is drawn.
X_PLOT = tuple(float(x) for x in np.linspace(-5.0, 5.0, 201))
Q_PLOT = tuple(round(0.25 * k, 10) for k in range(41))
#: sigma_b^2 values of the critical line in the phase diagram (finer than the slider grid).
CRITICAL_STEP = 0.01


def _axis(lo: float, hi: float, step: float) -> tuple[float, ...]:
    n = int(round((hi - lo) / step))
    return tuple(round(lo + k * step, 10) for k in range(n + 1))


@dataclass(frozen=True)
class ExplorerGrid:
    r"""The slider grid: activations, :math:`\sigma_w^2` and :math:`\sigma_b^2` as (first, last, step), and the
    largest depth (the depth slider runs over 1, …, ``depth``)."""

    activations: tuple[str, ...] = ACTIVATIONS
    sigma_w2: tuple[float, float, float] = (0.5, 4.0, 0.1)
    sigma_b2: tuple[float, float, float] = (0.0, 0.3, 0.05)
    depth: int = 50

    @property
    def sw(self) -> tuple[float, ...]:
        return _axis(*self.sigma_w2)

    @property
    def sb(self) -> tuple[float, ...]:
        return _axis(*self.sigma_b2)

    def describe(self) -> str:
        """The grid in words, as the page states it."""
        (w0, w1, ws), (b0, b1, bs) = self.sigma_w2, self.sigma_b2
        return (f"σ_w² on {w0:g}…{w1:g} step {ws:g}, σ_b² on {b0:g}…{b1:g} step {bs:g}, depth 1…{self.depth}, "
                f"activations {', '.join(self.activations)}; values at grid points, no interpolation")


def _canonical_grid(grid: ExplorerGrid) -> ExplorerGrid:
    if not isinstance(grid, ExplorerGrid):
        raise ArgumentError(f"grid must be an ExplorerGrid, not {type(grid).__name__}")
    for name, (lo, hi, step) in (("sigma_w2", grid.sigma_w2), ("sigma_b2", grid.sigma_b2)):
        if not (all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lo, hi, step)) and step > 0
                and hi >= lo and (name == "sigma_b2" and lo >= 0 or lo > 0) and (hi - lo) / step <= 1000):
            raise ArgumentError(f"grid {name} = {(lo, hi, step)!r} is not (first, last, step) with 0 < step, "
                                f"first <= last, at most 1000 steps and {name} in its range")
    if not (isinstance(grid.depth, int) and 1 <= grid.depth <= 1000):
        raise ArgumentError(f"grid depth must be an integer in 1..1000, not {grid.depth!r}")
    if not grid.activations:
        raise ArgumentError("grid needs at least one activation")
    for a in grid.activations:
        resolve(a)
    return grid


# ---------------------------------------------------------------- V and W at many lengths


@functools.lru_cache(maxsize=None)
def _nodes(order: int) -> tuple[np.ndarray, np.ndarray]:
    return np.polynomial.legendre.leggauss(order)


def length_moments(act: str, q: np.ndarray, level: int = 0) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`V(q) = E[\varphi(\sqrt q z)^2]` and :math:`W(q) = E[\varphi'(\sqrt q z)^2]`, z standard normal,
    at every length in ``q`` (> 0), by the composite Gauss–Legendre rule of :data:`LEVELS` ``[level]`` on
    :math:`|z| \le` :data:`Z_MAX`, its panels split at the kinks of φ and at :data:`X_CUTS` (both as
    :math:`z = x/\sqrt q`). Built from the public :func:`analytic.numpy_function`; the error of a level is its
    difference from the next.

    >>> V, W = length_moments("relu", np.array([1.0, 4.0]))
    >>> [round(float(v), 12) for v in V], [round(float(w), 12) for w in W]
    ([0.5, 2.0], [0.5, 0.5])
    """
    b = resolve(act)
    f, d = numpy_function(b, 0), numpy_function(b, 1)
    order, panels = LEVELS[level]
    q = np.asarray(q, dtype=float)
    r = np.sqrt(q)[:, None]
    kinks = [float(k.at) for k in b.kinks]
    xs = np.array(sorted(set(kinks) | set(X_CUTS) | {-x for x in X_CUTS}))
    base = np.broadcast_to(np.linspace(-Z_MAX, Z_MAX, panels + 1), (len(q), panels + 1))
    edges = np.sort(np.concatenate([base, np.clip(xs[None, :] / r, -Z_MAX, Z_MAX)], axis=1), axis=1)
    t, w = _nodes(order)
    lo, hi = edges[:, :-1, None], edges[:, 1:, None]
    z = (lo + hi) / 2 + (hi - lo) / 2 * t  # (q, panel, node)
    weight = (hi - lo) / 2 * w * np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    x = r[:, :, None] * z
    with np.errstate(over="ignore", invalid="ignore"):
        fx, dx = f(x), d(x)
    return np.sum(fx * fx * weight, axis=(1, 2)), np.sum(dx * dx * weight, axis=(1, 2))


def _trajectories(act: str, sw: np.ndarray, sb: np.ndarray, depth: int, level: int
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(q_0..q_depth, chi_0..chi_(depth-1), products P_0..P_depth) at level ``level`` for the points (sw, sb)."""
    n = len(sw)
    q = np.empty((n, depth + 1))
    chi = np.empty((n, depth))
    q[:, 0] = 1.0
    for l in range(depth):
        V, W = length_moments(act, q[:, l], level)
        chi[:, l] = sw * W
        q[:, l + 1] = sw * V + sb
    prod = np.concatenate([np.ones((n, 1)), np.cumprod(chi, axis=1)], axis=1)
    return q, chi, prod


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return np.isfinite(a) & np.isfinite(b) & (np.abs(a - b) <= TOLERANCE * np.abs(b))


def _refined(compute, n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Values of ``compute(level, rows)`` (a tuple of arrays with ``n`` rows) at the first level that agrees with
    the next to :data:`TOLERANCE`, row by row; entries that never agree are NaN. Returns (values, converged)."""
    rows = np.arange(n)
    prev = compute(0, rows)
    out = [np.full_like(p, np.nan) for p in prev]
    ok = [np.zeros(p.shape, bool) for p in prev]
    for level in range(1, len(LEVELS)):
        cur = compute(level, rows)
        good = [_close(p, c) for p, c in zip(prev, cur)]
        for o, k, g, c in zip(out, ok, good, cur):
            o[rows] = np.where(g, c, o[rows])
            k[rows] |= g
        done = np.all(np.stack([g.reshape(len(rows), -1).all(axis=1) for g in good]), axis=0)
        keep = ~done
        rows, prev = rows[keep], tuple(c[keep] for c in cur)
        if not len(rows):
            break
    return out, ok


# ---------------------------------------------------------------- the tables


@dataclass(frozen=True)
class ExplorerTables:
    r"""Every value the page shows, indexed [activation, σ_w² index, σ_b² index, …].

    ``q`` (…, depth + 1), ``chi`` (…, depth), ``gradient`` (…, depth + 1, :math:`\prod_{l<L}\chi_l`), ``G``
    (…, len(:data:`Q_PLOT`)); NaN where withheld, with ``withheld[a][i][j]`` saying why ("" when nothing is).
    ``q_star``, ``chi1`` from :func:`analytic.mean_field` (NaN where it refused; ``withheld`` says why);
    ``summary[a][i][j]`` is the sentence shown for the point. ``phi``, ``dphi`` on :data:`X_PLOT`; ``bounds[a]``
    is (sup, inf, sup text, inf text) of φ′; ``critical[a]`` lists (σ_w², σ_b², stable) with χ₁ = 1."""

    grid: ExplorerGrid
    q: np.ndarray
    chi: np.ndarray
    gradient: np.ndarray
    G: np.ndarray
    q_star: np.ndarray
    chi1: np.ndarray
    withheld: tuple
    summary: tuple
    fixed_points: tuple
    phi: np.ndarray
    dphi: np.ndarray
    bounds: tuple
    critical: tuple
    critical_notes: tuple = field(default=())


def _fmt(v: float) -> str:
    if math.isnan(v):
        return "withheld"
    if math.isinf(v):
        return "∞" if v > 0 else "−∞"
    return f"{v:.6g}"


def _bound_lines(act: str) -> tuple[float, float, str, str]:
    from ..bounds import bound

    b = bound(act)

    def say(name: str, e) -> tuple[float, str]:
        value = e.lower if e.lower == e.upper else (e.lower + e.upper) / 2
        exact = str(e.exact) if e.exact is not None else f"in [{e.lower:.12g}, {e.upper:.12g}]"
        how = f"attained at x = {e.at}" if e.attained else f"not attained (approached as x → {e.at})"
        return value, f"{name} φ′ = {exact} ≈ {value:.6g}, {how}"

    (s, st), (i, it) = say("sup", b.sup), say("inf", b.inf)
    return s, i, st, it


def _mean_field_point(act: str, sw: float, sb: float):
    from ..theory.meanfield import mean_field

    try:
        return mean_field(act, sw, sb), ""
    except AnalyticError as exc:
        return None, f"mean field withheld: {exc}"


def _phase_word(m) -> str:
    if m is None:
        return "withheld"
    if m.q_star == math.inf:
        return "q_l grows without bound"
    return "ordered (χ₁ < 1)" if m.chi1 < 1 else "chaotic (χ₁ > 1)" if m.chi1 > 1 else "critical (χ₁ = 1)"


def explorer_tables(grid: ExplorerGrid = ExplorerGrid()) -> ExplorerTables:
    r"""Precompute every value of the page on ``grid`` (see :class:`ExplorerTables`)."""
    from ..theory.criticality import critical_points

    grid = _canonical_grid(grid)
    sw_axis, sb_axis, L = np.array(grid.sw), np.array(grid.sb), grid.depth
    A, I, J = len(grid.activations), len(sw_axis), len(sb_axis)
    SW, SB = (a.ravel() for a in np.meshgrid(sw_axis, sb_axis, indexing="ij"))
    qs, chis, grads, Gs, qstar, chi1 = [], [], [], [], np.full((A, I, J), np.nan), np.full((A, I, J), np.nan)
    withheld, summary, fixed, phis, dphis, bounds, critical, notes = [], [], [], [], [], [], [], []
    q_plot = np.array(Q_PLOT)
    for a, act in enumerate(grid.activations):
        (q, chi, prod), (okq, okc, okp) = _refined(
            lambda level, rows: _trajectories(act, SW[rows], SB[rows], L, level), len(SW))
        (V,), (okv,) = _refined(
            lambda level, rows: length_moments(act, np.maximum(q_plot[rows], 1e-300), level)[:1], len(q_plot))
        G = SW[:, None] * V[None, :] + SB[:, None]
        qs.append(q.reshape(I, J, L + 1)), chis.append(chi.reshape(I, J, L)), grads.append(prod.reshape(I, J, L + 1))
        Gs.append(G.reshape(I, J, len(q_plot)))
        w_rows, s_rows, f_rows = [], [], []
        for i, sw in enumerate(sw_axis):
            w_row, s_row, f_row = [], [], []
            for j, sb in enumerate(sb_axis):
                k = i * J + j
                m, why = _mean_field_point(act, float(sw), float(sb))
                reasons = [why] if why else []
                for name, ok in (("q_l", okq[k]), ("chi_l", okc[k]), ("the gradient product", okp[k])):
                    if not ok.all():
                        first = int(np.argmin(ok))
                        reasons.append(f"{name} withheld from l = {first} on: the Gauss–Legendre levels "
                                       f"{LEVELS[-2]} and {LEVELS[-1]} differ by more than {TOLERANCE:g} relative")
                if m is not None:
                    qstar[a, i, j], chi1[a, i, j] = m.q_star, m.chi1
                    pts = ", ".join(f"{f.q:.6g} ({f.kind})" for f in m.fixed_points) or "none"
                    text = (f"{act}, σ_w² = {sw:g}, σ_b² = {sb:g}: q* = {_fmt(m.q_star)} ({m.status}), "
                            f"χ₁ = {_fmt(m.chi1)}, gradient depth scale −1/ln χ₁ = {_fmt(m.depth_scale)}; "
                            f"{_phase_word(m)}; fixed points of the length map: {pts}")
                    f_row.append(tuple((f.q, f.stable) for f in m.fixed_points))
                else:
                    text = f"{act}, σ_w² = {sw:g}, σ_b² = {sb:g}: q*, χ₁ withheld"
                    f_row.append(())
                w_row.append("; ".join(reasons))
                s_row.append(text)
            w_rows.append(tuple(w_row)), s_rows.append(tuple(s_row)), f_rows.append(tuple(f_row))
        if not okv.all():
            w_rows = [tuple(("; ".join(filter(None, [w, "G(q) withheld where the quadrature levels disagree"])))
                            for w in row) for row in w_rows]
        withheld.append(tuple(w_rows)), summary.append(tuple(s_rows)), fixed.append(tuple(f_rows))
        f, d = numpy_function(act, 0), numpy_function(act, 1)
        phis.append(f(np.array(X_PLOT))), dphis.append(d(np.array(X_PLOT)))
        bounds.append(_bound_lines(act))
        pts, said = [], []
        for sb in _axis(grid.sigma_b2[0], grid.sigma_b2[1], CRITICAL_STEP):
            try:
                pts += [(p.sigma_w2, sb, p.stable) for p in critical_points(act, sb)]
            except AnalyticError as exc:
                said.append(f"σ_b² = {sb:g}: withheld: {exc}")
        critical.append(tuple(pts)), notes.append(tuple(said))
    return ExplorerTables(grid, np.array(qs), np.array(chis), np.array(grads), np.array(Gs), qstar, chi1,
                          tuple(withheld), tuple(summary), tuple(fixed), np.array(phis), np.array(dphis),
                          tuple(bounds), tuple(critical), tuple(notes))


# ---------------------------------------------------------------- the page

#: The point the page opens at: (activation, sigma_w^2, sigma_b^2, depth), each moved to the nearest grid value.
START = ("tanh", 1.5, 0.05, 30)

#: The page's callback: it selects the precomputed values of the grid point the widgets name; no arithmetic on
#: values, no interpolation.
_CALLBACK = """
const a = Math.max(0, names.indexOf(act.value));
const i = Math.round((sw.value - grid.sw0) / grid.sws);
const j = Math.round((sb.value - grid.sb0) / grid.sbs);
const D = depth.value;
const L = grid.depth, NI = grid.ni, NJ = grid.nj, NX = grid.nx, NQ = grid.nq;
const k = (a * NI + i) * NJ + j;
const cut = (arr, off, n) => Array.from(arr.slice(off, off + n));
const upto = (n) => Array.from({length: n}, (_, l) => l);
const fin = (v) => (Number.isFinite(v) ? v : null);
src_q.data = {l: upto(D + 1), q: cut(store.q, k * (L + 1), D + 1)};
src_chi.data = {l: upto(D), chi: cut(store.chi, k * L, D)};
src_grad.data = {l: upto(D + 1), gradient: cut(store.gradient, k * (L + 1), D + 1)};
src_G.data = {q: grid.q_plot, G: cut(store.G, k * NQ, NQ)};
src_act.data = {x: grid.x_plot, phi: cut(store.phi, a * NX, NX), dphi: cut(store.dphi, a * NX, NX)};
src_bounds.data = {x: [grid.x_plot[0], grid.x_plot[NX - 1]], sup: [store.sup[a], store.sup[a]],
                   inf: [store.inf[a], store.inf[a]]};
src_fp_stable.data = {q: store.fp_stable[k], G: store.fp_stable[k]};
src_fp_unstable.data = {q: store.fp_unstable[k], G: store.fp_unstable[k]};
src_phase.data = {x: src_phase.data.x, y: src_phase.data.y,
                  log10_chi1: cut(store.log10_chi1, a * NI * NJ, NI * NJ),
                  chi1: cut(store.chi1, a * NI * NJ, NI * NJ)};
src_crit_stable.data = {x: store.crit_stable_x[a], y: store.crit_stable_y[a]};
src_crit_unstable.data = {x: store.crit_unstable_x[a], y: store.crit_unstable_y[a]};
src_point.data = {x: [grid.sw_axis[i]], y: [grid.sb_axis[j]]};
span_qstar.location = fin(store.q_star[k]);
span_chi1.location = fin(store.chi1_point[k]);
status.text = store.summary[k];
missing.text = store.withheld[k];
bounds_text.text = store.bounds_text[a];
"""


def _nearest(axis: tuple[float, ...], value: float) -> int:
    return int(np.argmin(np.abs(np.array(axis) - value)))


def _finite_list(values) -> list:
    return [float(v) for v in values]


def _store(t: ExplorerTables) -> dict:
    """The page's precomputed data, flat, in the order the callback indexes it."""
    A = len(t.grid.activations)
    stable = [[f for f, s in fps if s and math.isfinite(f)] for act in t.fixed_points for row in act for fps in row]
    unstable = [[f for f, s in fps if not s and math.isfinite(f)] for act in t.fixed_points for row in act
                for fps in row]
    esc = html.escape
    summary = [esc(s) for act in t.summary for row in act for s in row]
    withheld = [("<b>Withheld (not drawn):</b> " + esc(w)) if w else "Nothing withheld at this point."
                for act in t.withheld for row in act for w in row]
    with np.errstate(divide="ignore", invalid="ignore"):
        log_chi = np.where(t.chi1 > 0, np.log10(t.chi1), np.nan)
    crit = {f"crit_{kind}_{c}": [[p[n] for p in pts if p[2] == (kind == "stable")] for pts in t.critical]
            for kind in ("stable", "unstable") for c, n in (("x", 0), ("y", 1))}
    bounds_text = []
    for (_, _, st, it), notes in zip(t.bounds, t.critical_notes):
        extra = "".join(f"<br>critical points {esc(n)}" for n in notes)
        bounds_text.append(f"Proved bounds of φ′ (analytic.bound): {esc(st)}; {esc(it)}{extra}")
    return {"q": t.q.ravel(), "chi": t.chi.ravel(), "gradient": t.gradient.ravel(), "G": t.G.ravel(),
            "phi": t.phi.ravel(), "dphi": t.dphi.ravel(), "sup": [b[0] for b in t.bounds],
            "inf": [b[1] for b in t.bounds], "bounds_text": bounds_text, "fp_stable": stable, "fp_unstable": unstable,
            "log10_chi1": log_chi.ravel(), "chi1": t.chi1.ravel(), "chi1_point": t.chi1.ravel(),
            "q_star": t.q_star.ravel(), "summary": summary, "withheld": withheld, **crit,
            "activations": A}


def _stable_ids(text: str) -> str:
    """Bokeh's identifiers (``p1234`` counters and random UUIDs, each a whole quoted string in the page's body)
    renumbered in the order they first appear, so the page's bytes depend only on its content. The head, which
    holds BokehJS itself, is left as it is; base64 data never holds a quote, so it is never touched."""
    pattern = re.compile(r"(?<=[\"'])(?:p\d+|(?:bk-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
                         r"(?=[\"'])")
    cut = text.rindex("</head>")  # the last one: BokehJS itself holds the string
    seen: dict[str, str] = {}

    def rename(m: re.Match) -> str:
        return seen.setdefault(m.group(0), f"e{len(seen) + 1}")

    return text[:cut] + pattern.sub(rename, text[cut:])


def _require_bokeh() -> None:
    import importlib.util

    if importlib.util.find_spec("bokeh") is None:
        raise OutputError("the explorer needs Bokeh: pip install 'activation-analytic[explore]'")


def explorer_html(tables: ExplorerTables) -> str:
    """The page as one HTML string: Bokeh standalone output, JavaScript inline, identifiers deterministic."""
    _require_bokeh()
    from bokeh.embed import file_html
    from bokeh.layouts import column, gridplot, row
    from bokeh.models import (BasicTicker, ColorBar, ColumnDataSource, CustomJS, Div, HoverTool, LinearColorMapper,
                              Select, Slider, Span)
    from bokeh.palettes import RdBu11
    from bokeh.plotting import figure
    from bokeh.resources import INLINE

    t, g = tables, tables.grid
    sw_axis, sb_axis = g.sw, g.sb
    acts = list(g.activations)
    start_act = START[0] if START[0] in acts else acts[0]
    a, i, j = acts.index(start_act), _nearest(sw_axis, START[1]), _nearest(sb_axis, START[2])
    D = min(START[3], g.depth)
    store = _store(t)
    I, J, L = len(sw_axis), len(sb_axis), g.depth
    k = (a * I + i) * J + j
    nq, nx = len(Q_PLOT), len(X_PLOT)

    def cut(name, off, n):
        return [float(v) for v in store[name][off:off + n]]

    src_q = ColumnDataSource({"l": list(range(D + 1)), "q": cut("q", k * (L + 1), D + 1)}, name="q_source")
    src_chi = ColumnDataSource({"l": list(range(D)), "chi": cut("chi", k * L, D)}, name="chi_source")
    src_grad = ColumnDataSource({"l": list(range(D + 1)), "gradient": cut("gradient", k * (L + 1), D + 1)},
                                name="gradient_source")
    src_G = ColumnDataSource({"q": list(Q_PLOT), "G": cut("G", k * nq, nq)}, name="length_map_source")
    src_act = ColumnDataSource({"x": list(X_PLOT), "phi": cut("phi", a * nx, nx), "dphi": cut("dphi", a * nx, nx)},
                               name="activation_source")
    src_bounds = ColumnDataSource({"x": [X_PLOT[0], X_PLOT[-1]], "sup": [store["sup"][a]] * 2,
                                   "inf": [store["inf"][a]] * 2}, name="bounds_source")
    src_fp_stable = ColumnDataSource({"q": store["fp_stable"][k], "G": store["fp_stable"][k]},
                                     name="fixed_points_stable")
    src_fp_unstable = ColumnDataSource({"q": store["fp_unstable"][k], "G": store["fp_unstable"][k]},
                                       name="fixed_points_unstable")
    SW, SB = (x.ravel().tolist() for x in np.meshgrid(np.array(sw_axis), np.array(sb_axis), indexing="ij"))
    src_phase = ColumnDataSource({"x": SW, "y": SB, "log10_chi1": cut("log10_chi1", a * I * J, I * J),
                                  "chi1": cut("chi1", a * I * J, I * J)}, name="phase_source")
    src_crit_stable = ColumnDataSource({"x": store["crit_stable_x"][a], "y": store["crit_stable_y"][a]},
                                       name="critical_stable")
    src_crit_unstable = ColumnDataSource({"x": store["crit_unstable_x"][a], "y": store["crit_unstable_y"][a]},
                                         name="critical_unstable")
    src_point = ColumnDataSource({"x": [sw_axis[i]], "y": [sb_axis[j]]}, name="point_source")

    act = Select(title="activation", value=start_act, options=acts, name="activation")
    sw = Slider(title="σ_w²", start=sw_axis[0], end=sw_axis[-1], step=g.sigma_w2[2], value=sw_axis[i],
                name="sigma_w2", format="0[.]00")
    sb = Slider(title="σ_b²", start=sb_axis[0], end=sb_axis[-1], step=g.sigma_b2[2], value=sb_axis[j],
                name="sigma_b2", format="0[.]000")
    depth = Slider(title="depth L", start=1, end=L, step=1, value=D, name="depth")
    status = Div(text=store["summary"][k], name="status", width=1100)
    missing = Div(text=store["withheld"][k], name="missing", width=1100)
    bounds_text = Div(text=store["bounds_text"][a], name="bounds_text", width=1100)

    size = {"width": 420, "height": 300, "tools": "pan,wheel_zoom,box_zoom,reset,save"}
    f_act = figure(title="(a) φ and φ′ with the proved sup and inf of φ′", x_axis_label="x", **size)
    f_act.line("x", "phi", source=src_act, color="#1f77b4", line_width=2, legend_label="φ")
    f_act.line("x", "dphi", source=src_act, color="#d62728", line_width=2, legend_label="φ′")
    f_act.line("x", "sup", source=src_bounds, color="#2ca02c", line_dash="dashed", legend_label="sup φ′ (proved)")
    f_act.line("x", "inf", source=src_bounds, color="#9467bd", line_dash="dotted", legend_label="inf φ′ (proved)")
    f_act.legend.location = "top_left"

    f_G = figure(title="(b) length map G(q) = σ_w² V(q) + σ_b²", x_axis_label="q", y_axis_label="G(q)",
                 **size)
    f_G.line([0, Q_PLOT[-1]], [0, Q_PLOT[-1]], color="gray", line_dash="dashed", legend_label="G(q) = q")
    f_G.line("q", "G", source=src_G, color="#1f77b4", line_width=2, legend_label="G(q)")
    f_G.scatter("q", "G", source=src_fp_stable, size=9, color="#2ca02c", legend_label="stable fixed point")
    f_G.scatter("q", "G", source=src_fp_unstable, size=9, fill_color="white", line_color="#d62728",
                legend_label="unstable fixed point")
    f_G.x_range.start, f_G.x_range.end = 0, Q_PLOT[-1]
    f_G.legend.location = "top_left"

    f_q = figure(title="(b) q_l across depth (q_0 = 1)", x_axis_label="layer l", y_axis_label="q_l",
                 y_axis_type="log", **size)
    f_q.line("l", "q", source=src_q, color="#1f77b4", line_width=2)
    f_q.scatter("l", "q", source=src_q, size=4, color="#1f77b4")
    span_qstar = Span(location=_span(t.q_star.ravel()[k]), dimension="width", line_color="gray",
                      line_dash="dashed", name="span_q_star")
    f_q.add_layout(span_qstar)
    f_q.add_tools(HoverTool(tooltips=[("l", "@l"), ("q_l", "@q")]))

    f_chi = figure(title="(c) χ_l = σ_w² E[φ′(√q_l z)²]; χ₁ at q* dashed", x_axis_label="layer l",
                   y_axis_label="χ_l", **size)
    f_chi.line("l", "chi", source=src_chi, color="#d62728", line_width=2)
    f_chi.scatter("l", "chi", source=src_chi, size=4, color="#d62728")
    span_chi1 = Span(location=_span(t.chi1.ravel()[k]), dimension="width", line_color="gray", line_dash="dashed",
                     name="span_chi1")
    f_chi.add_layout(span_chi1)
    f_chi.add_layout(Span(location=1.0, dimension="width", line_color="black", line_alpha=0.4))
    f_chi.add_tools(HoverTool(tooltips=[("l", "@l"), ("χ_l", "@chi")]))

    f_grad = figure(title="(c) gradient ratio E‖δ_0‖²/E‖δ_L‖² = ∏ χ_l", x_axis_label="depth L",
                    y_axis_label="squared-gradient ratio", y_axis_type="log", **size)
    f_grad.line("l", "gradient", source=src_grad, color="#ff7f0e", line_width=2)
    f_grad.scatter("l", "gradient", source=src_grad, size=4, color="#ff7f0e")
    f_grad.add_tools(HoverTool(tooltips=[("L", "@l"), ("∏ χ_l", "@gradient")]))

    mapper = LinearColorMapper(palette=RdBu11[::-1], low=-1.0, high=1.0, nan_color="#bbbbbb")
    f_phase = figure(title="(d) phase diagram: log10 χ₁ (grey: withheld)", x_axis_label="σ_w²",
                     y_axis_label="σ_b²", **size)
    f_phase.rect("x", "y", width=g.sigma_w2[2], height=g.sigma_b2[2], source=src_phase,
                 fill_color={"field": "log10_chi1", "transform": mapper}, line_color=None)
    f_phase.scatter("x", "y", source=src_crit_stable, size=6, color="black", legend_label="χ₁ = 1, stable q*")
    f_phase.scatter("x", "y", source=src_crit_unstable, size=6, fill_color="white", line_color="black",
                    legend_label="χ₁ = 1, unstable q*")
    f_phase.scatter("x", "y", source=src_point, size=14, marker="x", line_width=3, color="#ff7f0e",
                    legend_label="current point")
    f_phase.add_layout(ColorBar(color_mapper=mapper, ticker=BasicTicker(), title="log10 χ₁"), "right")
    f_phase.x_range.start, f_phase.x_range.end = sw_axis[0] - g.sigma_w2[2] / 2, sw_axis[-1] + g.sigma_w2[2] / 2
    f_phase.y_range.start, f_phase.y_range.end = sb_axis[0] - g.sigma_b2[2] / 2, sb_axis[-1] + g.sigma_b2[2] / 2
    f_phase.legend.location = "top_left"
    f_phase.add_tools(HoverTool(tooltips=[("σ_w²", "@x"), ("σ_b²", "@y"), ("χ₁", "@chi1")]))

    grid_info = {"sw0": sw_axis[0], "sws": g.sigma_w2[2], "sb0": sb_axis[0], "sbs": g.sigma_b2[2], "depth": L,
                 "ni": I, "nj": J, "nx": nx, "nq": nq, "q_plot": list(Q_PLOT), "x_plot": list(X_PLOT),
                 "sw_axis": list(sw_axis), "sb_axis": list(sb_axis)}
    store_js = {key: (np.asarray(v, dtype=float) if isinstance(v, np.ndarray) else v) for key, v in store.items()}
    callback = CustomJS(args=dict(names=acts, act=act, sw=sw, sb=sb, depth=depth, grid=grid_info, store=store_js,
                                  src_q=src_q, src_chi=src_chi, src_grad=src_grad, src_G=src_G, src_act=src_act,
                                  src_bounds=src_bounds, src_fp_stable=src_fp_stable,
                                  src_fp_unstable=src_fp_unstable, src_phase=src_phase,
                                  src_crit_stable=src_crit_stable, src_crit_unstable=src_crit_unstable,
                                  src_point=src_point, span_qstar=span_qstar, span_chi1=span_chi1, status=status,
                                  missing=missing, bounds_text=bounds_text), code=_CALLBACK)
    for widget in (act, sw, sb, depth):
        widget.js_on_change("value", callback)
    head = Div(text=_HEAD.format(grid=html.escape(g.describe()), tol=TOLERANCE, levels=LEVELS), width=1100)
    layout = column(head, row(act, sw, sb, depth), status, missing, bounds_text,
                    gridplot([[f_act, f_G, f_q], [f_chi, f_grad, f_phase]], toolbar_location="right"))
    return _stable_ids(file_html(layout, resources=INLINE, title="activation-analytic explorer"))


def _span(v: float) -> float | None:
    return float(v) if math.isfinite(v) else None


_HEAD = """<h2>activation-analytic: explorer</h2>
<p>Wide networks (mean field): width → ∞, W<sub>ij</sub> ~ (0, σ_w²/n), bias ~ (0, σ_b²), z ~ N(0, 1).
Length map q<sub>l</sub> = σ_w² E[φ(√q<sub>l−1</sub> z)²] + σ_b² from q<sub>0</sub> = 1; per-layer factor
χ<sub>l</sub> = σ_w² E[φ′(√q<sub>l</sub> z)²]; squared-gradient ratio across L layers ∏<sub>l&lt;L</sub> χ<sub>l</sub>
(gradient independence); q*, χ₁ and the fixed points from <code>analytic.mean_field</code>, χ₁ = 1 points from
<code>analytic.critical_points</code>, the bounds of φ′ from <code>analytic.bound</code>.</p>
<p><b>Grid:</b> {grid}. q<sub>l</sub>, χ<sub>l</sub>, their product and G(q) by Gauss–Legendre rules of two levels
(order, panels) from {levels}, refined until they agree to {tol:g} relative; a value that does not is withheld
(not drawn) and the reason is printed below.</p>"""


@dataclass(frozen=True)
class ExplorerFiles:
    """What :func:`write_explorer` wrote: ``paths`` (the page) and the grid in words."""

    paths: tuple[Path, ...]
    grid: str

    def as_dict(self) -> dict:
        """JSON-ready form: ``files`` (paths as strings), ``grid``."""
        return {"files": [str(p) for p in self.paths], "grid": self.grid}


#: The page's file name inside the output folder.
PAGE = "explorer.html"


def write_explorer(out: str | Path, grid: ExplorerGrid = ExplorerGrid()) -> ExplorerFiles:
    """Write the explorer page :data:`PAGE` into the folder ``out`` (created if missing), atomically.

    >>> import tempfile
    >>> g = ExplorerGrid(activations=("relu",), sigma_w2=(1.0, 2.0, 1.0), sigma_b2=(0.0, 0.1, 0.1), depth=2)
    >>> files = write_explorer(tempfile.mkdtemp(), g)
    >>> files.paths[0].name
    'explorer.html'
    """
    grid = _canonical_grid(grid)
    _require_bokeh()
    folder = output_folder(out)
    text = explorer_html(explorer_tables(grid))
    path = atomic_write_text(folder / PAGE, text)
    return ExplorerFiles((path,), grid.describe())
