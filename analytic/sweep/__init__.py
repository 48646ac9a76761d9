r"""Parameter sweeps: activation × :math:`\sigma_w^2` × :math:`\sigma_b^2` × depth × width, each point a seeded
Monte Carlo run beside the analytic numbers, run in-process or on a Dask cluster, resumable, gathered into one
table (CSV and JSON) with provenance.

**Spec.** A TOML file (or the same keys from the command line)::

    activations = ["tanh", "relu"]
    sigma_w2 = {start = 0.5, stop = 3.0, num = 6}   # or a number, or a list
    sigma_b2 = [0.0, 0.05]
    depth = [10, 50]
    width = [1]            # 1 = the chain, > 1 = a wide network of that width
    samples = 20000        # chains per task (width 1)
    batch = 64             # inputs per network (width > 1)
    networks = 8           # independent weight draws per task (width > 1)
    seed = 1

Float keys (``sigma_w2``, ``sigma_b2``) take a number, a list, or ``{start, stop, num}`` (``numpy.linspace``,
both ends included); integer keys (``depth``, ``width``) a number or a list. Only these keys are allowed.

**Tasks.** The spec expands into :math:`n` tasks in the fixed order
``itertools.product(activations, sigma_w2, sigma_b2, depth, width)`` (the last key varies fastest); task
:math:`i` draws its random numbers from ``numpy.random.SeedSequence(seed).spawn(n)[i]``, so every number depends
on the spec alone, never on which worker ran which task when.

**One task** at :math:`(\varphi, \sigma_w^2, \sigma_b^2, L, n)`:

* the chain (:math:`n = 1`): weights :math:`w_t \sim N(0, \sigma_w^2)`, bias :math:`b_t \sim N(0, \sigma_b^2)` (none
  when :math:`\sigma_b^2 = 0`), input :math:`x = 1`; simulated exactly (:func:`analytic.mc.simulate_chain`);
* the wide network (:math:`n > 1`): :math:`W_{ij} \sim N(0, \sigma_w^2/n)`, the same bias
  (:func:`analytic.mc.simulate_wide`);
* analytic: the mean-field fixed point :math:`q^*`, :math:`\chi_1 = \sigma_w^2 E[\varphi'(\sqrt{q^*} z)^2]`,
  :math:`L \ln\chi_1` (mean field: :math:`\ln E\|g_0\|^2 - \ln E\|g_L\|^2 \approx L \ln \chi_1`), and the
  independence-approximation logs of the chain's gradient product :math:`\prod_t w_t \varphi'(v_t)` with
  pre-activations :math:`v \sim N(0, 1)` (:func:`analytic.theory.gaussian.gradient_product`).

The heatmap quantity ``log_grad`` is a mean of the natural log of a squared gradient at depth :math:`L`
(the typical size, not the log of the mean): for the chain
:math:`E \ln \prod_t (w_t \varphi'(v_t))^2 = 2 E\ln|\prod|` over the chains whose product is not exactly 0 (the
fraction of zeros is ``mc_zero_fraction``), with its standard error; for the wide net
:math:`E \ln\|\partial \mathcal L/\partial y_0\|^2 - E \ln\|\partial \mathcal L/\partial y_L\|^2` (means over inputs
and networks), with the two standard errors added in quadrature. Its analytic companions are ``2 log_typical``
(chain, independence approximation) and ``log_chi1_depth`` (mean field).

**Resuming.** With an output folder, each finished task is written at once to ``OUT/tasks/<index>.json``
(temporary file + ``os.replace``) together with the spec's hash; a rerun skips every task whose file holds the
same hash, so an interrupted sweep loses at most the tasks in flight. ``results.csv`` and ``results.json`` are
assembled from the task files, atomically, and are byte-identical however the tasks were scheduled.

>>> spec = SweepSpec.from_mapping({"activations": ["relu"], "sigma_w2": [1.0, 2.0], "depth": 3, "samples": 100})
>>> [(t.index, t.sigma_w2, t.depth) for t in spec.tasks()]
[(0, 1.0, 3), (1, 2.0, 3)]
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from ..errors import (AnalyticError, ClusterError, OutputError, SweepSpecError, canonical_callable, canonical_float,
                     canonical_int, canonical_text, number_from_text, show_value)
from ..core.files import atomic_write_text, canonical_path, output_folder

#: Largest number of tasks one spec may expand into.
MAX_TASKS = 100_000
#: Largest sigma_w^2 or sigma_b^2 a sweep accepts (the limit of the mean-field maps).
MAX_VARIANCE = 1e6
#: Largest sweep spec file read (bytes): a spec is a few lines; a file that never ends (/dev/zero) is cut here.
MAX_SPEC_BYTES = 1 << 20
#: Bumped when the content of a task file changes, so old task files are recomputed rather than mixed in.
SCHEMA = 1
#: Pre-activation distribution of the independence-approximation columns.
PREACT = "normal(0, 1)"
#: Input of the chain.
CHAIN_INPUT = 1.0

_DEFAULTS: dict[str, Any] = {"sigma_b2": [0.0], "depth": [10], "width": [1], "samples": 20_000, "batch": 64,
                             "networks": 8, "seed": 0, "weights": "gaussian"}
_REQUIRED = ("activations", "sigma_w2")
_KEYS = ("activations", "sigma_w2", "sigma_b2", "depth", "width", "samples", "batch", "networks", "seed", "weights")
#: Weight ensembles of wide tasks: Gaussian N(0, sigma_w^2/n), or orthogonal(sqrt(sigma_w^2)) (Haar).
ENSEMBLES = ("gaussian", "orthogonal")

#: Columns of the table, in order (CSV header; keys of every JSON row). Logs are natural logs; ``_stderr`` of a
#: log is the delta-method standard error (standard error / value).
COLUMNS: tuple[str, ...] = (
    # the task
    "index", "activation", "sigma_w2", "sigma_b2", "depth", "width", "samples", "networks", "weights", "bias",
    "seed_entropy", "seed_spawn_key", "seed",
    # analytic: mean field, and the independence approximation of the chain with v ~ PREACT
    # (GradientProduct's names: log_mean_abs = ln|E prod| with sign mean_sign, log_bound >= ln E|prod|)
    "q_star", "chi1", "depth_scale", "log_chi1_depth",
    "log_bound", "log_mean_abs", "mean_sign", "log_mean_square", "log_typical",
    # simulated: the heatmap quantity (mean log squared gradient at depth L) and its standard error
    "log_grad", "log_grad_stderr",
    # simulated, chain only (width 1)
    # (mc_log_abs_mean = ln|E prod|, the twin of log_mean_abs; mc_log_mean_of_abs = ln E|prod|)
    "mc_mean", "mc_mean_stderr", "mc_log_abs_mean", "mc_mean_sign",
    "mc_log_mean_of_abs", "mc_log_mean_of_abs_stderr", "mc_log_mean_square", "mc_log_mean_square_stderr",
    "mc_log_median_abs", "mc_log_median_abs_stderr", "mc_log_mean", "mc_log_mean_stderr", "mc_zero_fraction",
    # simulated, wide network only (width > 1)
    "mc_log_norm2_ratio", "mc_slope", "mc_slope_stderr", "mc_slope_log", "mc_slope_log_stderr",
    "mc_dead_fraction",
    # what could not be computed, and why
    "notes",
)


# ---------------------------------------------------------------- the spec

def _fail(message: str) -> None:
    raise SweepSpecError(f"sweep spec: {message}")


def _is_int(value: Any) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return (_is_int(value) or isinstance(value, (float, np.floating))) and not isinstance(value, bool)


def _canonical_floats(key: str, value: Any, *, minimum: float, strict: bool) -> tuple[float, ...]:
    """A number, a list of numbers or ``{start, stop, num}`` as a tuple of distinct finite floats ≥ (>) minimum."""
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"start", "stop", "num"})
        if unknown or set(value) != {"start", "stop", "num"}:
            _fail(f"{key} as a range needs exactly the keys start, stop, num; got {', '.join(sorted(value))}")
        start, stop, num = value["start"], value["stop"], value["num"]
        if not (_is_number(start) and _is_number(stop)):
            _fail(f"{key}: start and stop must be numbers")
        start = canonical_float(f"sweep spec: {key} start", start, error=SweepSpecError)
        stop = canonical_float(f"sweep spec: {key} stop", stop, error=SweepSpecError)
        num = _canonical_int(f"{key} num", num, minimum=1, maximum=MAX_TASKS)
        if not start <= stop:
            _fail(f"{key}: start {start:g} is above stop {stop:g}")
        if num == 1 and start != stop:
            _fail(f"{key}: num = 1 needs start = stop")
        with np.errstate(all="ignore"):
            values = [float(v) for v in np.linspace(start, stop, int(num))]
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        values = [value]
    if not values:
        _fail(f"{key} is empty")
    out = [canonical_float(f"sweep spec: {key}", v, minimum, MAX_VARIANCE, open_low=strict, error=SweepSpecError)
           for v in values]
    _distinct(key, out)
    return tuple(out)


def _canonical_ints(key: str, value: Any, *, minimum: int, maximum: int | None = None) -> tuple[int, ...]:
    values = list(value) if isinstance(value, (list, tuple)) else [value]
    if not values:
        _fail(f"{key} is empty")
    out = tuple(_canonical_int(key, v, minimum=minimum, maximum=maximum) for v in values)
    _distinct(key, out)
    return out


def _canonical_int(key: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    if not _is_int(value):
        _fail(f"{key} must be an integer, got {show_value(value)}")
    return canonical_int(f"sweep spec: {key}", value, minimum, maximum, SweepSpecError)


def _canonical_ensemble(value: Any, widths: Any) -> str:
    """``weights``: ``gaussian`` or ``orthogonal``; orthogonal weights need every width > 1 (matrices)."""
    if not isinstance(value, str) or value.strip().lower() not in ENSEMBLES:
        _fail(f"weights must be one of {', '.join(ENSEMBLES)}, got {value!r}")
    value = value.strip().lower()
    ws = widths if isinstance(widths, (list, tuple)) else [widths]
    if value == "orthogonal" and any(w == 1 for w in ws):
        _fail("weights = orthogonal needs width > 1 (the one-neuron chain has scalar weights)")
    return value


def _distinct(key: str, values: Sequence) -> None:
    seen = set()
    for v in values:
        if v in seen:
            _fail(f"{key} lists {v!r} twice")
        seen.add(v)


@dataclass(frozen=True)
class Task:
    """One point of a sweep, with its place in the expanded order and the root seed it derives its stream from."""

    index: int
    activation: str
    sigma_w2: float
    sigma_b2: float
    depth: int
    width: int
    samples: int
    batch: int
    networks: int
    root_seed: int
    ensemble: str = "gaussian"

    @property
    def seed_sequence(self) -> np.random.SeedSequence:
        """``SeedSequence(root_seed).spawn(n)[index]`` (the same object without spawning the n − 1 others)."""
        return np.random.SeedSequence(self.root_seed, spawn_key=(self.index,))

    @property
    def seed(self) -> int:
        """The integer seed handed to the simulation: the first 64-bit word of :attr:`seed_sequence`'s state."""
        return int(self.seed_sequence.generate_state(1, np.uint64)[0])

    @property
    def weights(self) -> str:
        r"""Weight spec: :math:`N(0, \sigma_w^2)` for the chain, :math:`N(0, \sigma_w^2/n)` for width :math:`n`."""
        if self.width == 1:
            return f"normal(0, sqrt({self.sigma_w2!r}))"
        if self.ensemble == "orthogonal":
            return f"orthogonal(sqrt({self.sigma_w2!r}))"
        return f"normal(0, sqrt({self.sigma_w2!r}/{self.width}))"

    @property
    def bias(self) -> str | None:
        r"""Bias spec :math:`N(0, \sigma_b^2)`, or ``None`` when :math:`\sigma_b^2 = 0`."""
        return None if self.sigma_b2 == 0 else f"normal(0, sqrt({self.sigma_b2!r}))"


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep spec; build it with :meth:`from_mapping` or :func:`load_spec`."""

    activations: tuple[str, ...]
    sigma_w2: tuple[float, ...]
    sigma_b2: tuple[float, ...] = (0.0,)
    depth: tuple[int, ...] = (10,)
    width: tuple[int, ...] = (1,)
    samples: int = 20_000
    batch: int = 64
    networks: int = 8
    seed: int = 0
    weights: str = "gaussian"

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> "SweepSpec":
        """Validate a mapping (parsed TOML) into a spec; raises :class:`~analytic.errors.SweepSpecError`."""
        if not isinstance(mapping, Mapping):
            _fail("must be a table of keys")
        unknown = sorted(set(mapping) - set(_KEYS))
        if unknown:
            _fail(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                  f"keys: {', '.join(_KEYS)}")
        missing = [k for k in _REQUIRED if k not in mapping]
        if missing:
            _fail(f"missing {', '.join(missing)}")
        m = {**_DEFAULTS, **mapping}
        acts = m["activations"]
        acts = list(acts) if isinstance(acts, (list, tuple)) else [acts]
        if not acts:
            _fail("activations is empty")
        for a in acts:
            if not isinstance(a, str) or not a.strip():
                _fail(f"activations: {a!r} is not an activation name or formula")
        acts = [a.strip() for a in acts]
        _distinct("activations", acts)
        spec = cls(
            activations=tuple(acts),
            sigma_w2=_canonical_floats("sigma_w2", m["sigma_w2"], minimum=0.0, strict=True),
            sigma_b2=_canonical_floats("sigma_b2", m["sigma_b2"], minimum=0.0, strict=False),
            depth=_canonical_ints("depth", m["depth"], minimum=1, maximum=10**6),
            width=_canonical_ints("width", m["width"], minimum=1, maximum=10**5),
            samples=_canonical_int("samples", m["samples"], minimum=2, maximum=10**9),
            batch=_canonical_int("batch", m["batch"], minimum=1, maximum=10**6),
            networks=_canonical_int("networks", m["networks"], minimum=2, maximum=10**4),
            seed=_canonical_int("seed", m["seed"], minimum=0, maximum=2**63 - 1),
            weights=_canonical_ensemble(m["weights"], m["width"]),
        )
        if spec.n_tasks > MAX_TASKS:
            _fail(f"{spec.n_tasks} tasks ({' x '.join(str(n) for n in spec.shape)}) exceed the limit of {MAX_TASKS}")
        return spec

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values of each swept key, in the expansion order."""
        return (len(self.activations), len(self.sigma_w2), len(self.sigma_b2), len(self.depth), len(self.width))

    @property
    def n_tasks(self) -> int:
        return math.prod(self.shape)

    def as_dict(self) -> dict[str, Any]:
        """The spec as plain JSON values (every list expanded)."""
        return {"activations": list(self.activations), "sigma_w2": list(self.sigma_w2),
                "sigma_b2": list(self.sigma_b2), "depth": list(self.depth), "width": list(self.width),
                "samples": self.samples, "batch": self.batch, "networks": self.networks, "seed": self.seed,
                **({"weights": self.weights} if self.weights != "gaussian" else {})}

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of :meth:`as_dict` and the task-file schema: what a task file must match."""
        text = json.dumps({"schema": SCHEMA, "spec": self.as_dict()}, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def tasks(self) -> list[Task]:
        """The tasks in the fixed order ``product(activations, sigma_w2, sigma_b2, depth, width)``."""
        points = itertools.product(self.activations, self.sigma_w2, self.sigma_b2, self.depth, self.width)
        return [Task(i, a, sw, sb, d, n, self.samples, self.batch, self.networks, self.seed, self.weights)
                for i, (a, sw, sb, d, n) in enumerate(points)]


def _parse_option(key: str, text: str) -> Any:
    """Command-line text for one key: ``a,b,c`` (a list), ``start:stop:num`` (a range) or one value."""
    text = text.strip()
    if key == "weights":
        return text
    if key == "activations":  # split at the commas outside parentheses: 'relu,Max(x, 0.1*x)' is two
        parts, depth, current = [], 0, ""
        for ch in text:
            depth += (ch == "(") - (ch == ")")
            if ch == "," and depth == 0:
                parts.append(current)
                current = ""
            else:
                current += ch
        return [p.strip() for p in parts + [current] if p.strip()]

    def number(part: str) -> float | int:
        try:
            return number_from_text(key, part, integer=True)
        except AnalyticError:
            pass
        try:
            return number_from_text(key, part)
        except AnalyticError:
            _fail(f"{key}: {show_value(part.strip())} is not a number")

    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            _fail(f"{key}: a range is start:stop:num, got {text!r}")
        return {"start": number(parts[0]), "stop": number(parts[1]), "num": number(parts[2])}
    if "," in text:
        return [number(p) for p in text.split(",") if p.strip()]
    return number(text)


def load_spec(path: str | os.PathLike | None = None, overrides: Mapping[str, str | None] | None = None) -> SweepSpec:
    """Read a TOML spec file (optional) and apply command-line overrides (key → text, see :func:`_parse_option`).

    Raises :class:`~analytic.errors.SweepSpecError` with one line for an unreadable file, invalid TOML or an
    invalid spec, and checks every activation name or formula with :func:`analytic.core.calculus.resolve`.
    """
    mapping: dict[str, Any] = {}
    if path is not None:
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            try:
                import tomli as tomllib
            except ModuleNotFoundError:
                raise SweepSpecError("reading a TOML sweep spec needs Python >= 3.11 (or the tomli package)") from None
        text = _read_spec_file(path)
        try:
            mapping = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SweepSpecError(f"sweep spec {path} is not valid TOML: {exc}") from None
    if overrides is not None and not isinstance(overrides, Mapping):
        raise SweepSpecError(f"sweep overrides must be a mapping of keys to text, got {show_value(overrides)}")
    for key, text in (overrides or {}).items():
        if text is not None:
            if not isinstance(key, str) or not isinstance(text, str):
                raise SweepSpecError(f"sweep override {show_value(key)}: keys and values must be text, got "
                                     f"{show_value(text)}")
            mapping[key] = _parse_option(key, text)
    spec = SweepSpec.from_mapping(mapping)
    from ..core.calculus import resolve

    for name in spec.activations:
        resolve(name)  # UnknownActivation / FormulaError, before any work starts
    return spec


def _read_spec_file(path: str | os.PathLike) -> str:
    """The text of a spec file, read without blocking and at most :data:`MAX_SPEC_BYTES` long: a FIFO, a device
    (``/dev/zero``) or a folder is refused, never waited on or read forever."""
    import stat

    try:
        shown = canonical_path("sweep spec", path)
    except OutputError as exc:
        raise SweepSpecError(str(exc)) from None
    try:
        fd = os.open(shown, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise SweepSpecError(f"cannot read sweep spec {path}: {exc.strerror or exc}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SweepSpecError(f"sweep spec {path} is not a regular file")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            data = fh.read(MAX_SPEC_BYTES + 1)
    except OSError as exc:
        raise SweepSpecError(f"cannot read sweep spec {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_SPEC_BYTES:
        raise SweepSpecError(f"sweep spec {path} is longer than {MAX_SPEC_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SweepSpecError(f"sweep spec {path} is not UTF-8 text") from None


# ---------------------------------------------------------------- one task

def _finite_or_text(value: Any) -> Any:
    """JSON-safe scalars: NaN → None, ±inf → "inf"/"-inf", NumPy scalars → Python (as the CLI prints them)."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return None
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
    return value


def _analytic(task: Task) -> dict[str, Any]:
    """The analytic columns of one task (:mod:`analytic.theory.gaussian`). A part that raises an
    :class:`~analytic.errors.AnalyticError` (no fixed point, time budget exceeded, …) is left empty and its
    message goes to the ``notes`` column; the simulation still runs."""
    from ..theory.gaussian import gradient_product
    from ..theory.meanfield import mean_field

    out: dict[str, Any] = {}
    notes = []
    try:
        mf = mean_field(task.activation, task.sigma_w2, task.sigma_b2)
        chi1 = float(mf.chi1)
        out.update(q_star=float(mf.q_star), chi1=chi1, depth_scale=float(mf.depth_scale),
                   log_chi1_depth=task.depth * math.log(chi1) if chi1 > 0 else -math.inf)
    except AnalyticError as exc:
        notes.append(f"mean field: {exc}")
    try:
        g = gradient_product(task.activation, task.depth, _chain_weights(task), preact=PREACT)
        out.update(log_bound=float(g.log_bound), log_mean_abs=float(g.log_mean_abs), mean_sign=int(g.mean_sign),
                   log_mean_square=float(g.log_mean_square), log_typical=float(g.log_typical))
    except AnalyticError as exc:
        notes.append(f"gradient product: {exc}")
    out["notes"] = "; ".join(notes) or None
    return out


def _chain_weights(task: Task) -> str:
    return f"normal(0, sqrt({task.sigma_w2!r}))"


def _log_stat(stat: Any) -> tuple[float, float]:
    """(ln of a mean, its delta-method standard error) from a montecarlo ``ScaledStat`` (positive mean)."""
    if not stat.sign:
        return -math.inf, math.nan
    return float(stat.log_abs), _exp_or_inf(float(stat.log_stderr) - float(stat.log_abs))


def _exp_or_inf(x: float) -> float:
    return math.inf if x > 709 else math.exp(x)


def _simulated(task: Task) -> dict[str, Any]:
    """The Monte Carlo columns of one task (:mod:`analytic.mc`)."""
    from ..mc import simulate_chain, simulate_wide

    out: dict[str, Any] = {}
    if task.width == 1:  # one thread per task: the sweep runs tasks in parallel (the numbers do not depend on it)
        sim = simulate_chain(task.activation, task.depth, task.weights, samples=task.samples, seed=task.seed,
                             x=CHAIN_INPUT, bias=task.bias, progress=False, threads=1)
        out["mc_mean"], out["mc_mean_stderr"] = float(sim.mean.value), float(sim.mean.stderr)
        out["mc_log_abs_mean"], out["mc_mean_sign"] = float(sim.mean.log_abs), int(sim.mean.sign)
        out["mc_log_mean_of_abs"], out["mc_log_mean_of_abs_stderr"] = _log_stat(sim.mean_abs)
        out["mc_log_mean_square"], out["mc_log_mean_square_stderr"] = _log_stat(sim.mean_square)
        out["mc_log_median_abs"] = float(sim.log_median_abs.value)
        out["mc_log_median_abs_stderr"] = float(sim.log_median_abs.stderr)
        out["mc_log_mean"], out["mc_log_mean_stderr"] = float(sim.log_mean.value), float(sim.log_mean.stderr)
        out["mc_zero_fraction"] = float(sim.zero_fraction.value)
        out["log_grad"], out["log_grad_stderr"] = 2 * out["mc_log_mean"], 2 * out["mc_log_mean_stderr"]
    else:
        sim = simulate_wide(task.activation, task.depth, task.width, task.weights, bias=task.bias,
                            batch=task.batch, seed=task.seed, networks=task.networks, threads=1)
        first, last = sim.mean_log_norm2[0], sim.mean_log_norm2[-1]
        out["log_grad"] = float(first.value) - float(last.value)
        out["log_grad_stderr"] = math.hypot(float(first.stderr), float(last.stderr))
        out["mc_log_norm2_ratio"] = float(sim.log_mean_norm2[0]) - float(sim.log_mean_norm2[-1])
        out["mc_slope"], out["mc_slope_stderr"] = float(sim.slope.value), float(sim.slope.stderr)
        out["mc_slope_log"], out["mc_slope_log_stderr"] = float(sim.slope_log.value), float(sim.slope_log.stderr)
        out["mc_dead_fraction"] = float(sim.dead_unit_fraction[-1])
    return out


def run_task(task: Task) -> dict[str, Any]:
    """Simulate and compute one task; the row of the table (keys :data:`COLUMNS`, JSON-safe values).

    A pure function of the task: the same task gives the same row, bit for bit, in any process.
    """
    ss = task.seed_sequence
    row: dict[str, Any] = dict.fromkeys(COLUMNS)
    row.update(index=task.index, activation=task.activation, sigma_w2=task.sigma_w2, sigma_b2=task.sigma_b2,
               depth=task.depth, width=task.width, samples=task.samples if task.width == 1 else task.batch,
               networks=None if task.width == 1 else task.networks,
               weights=task.weights, bias=task.bias, seed_entropy=int(ss.entropy),
               seed_spawn_key=list(ss.spawn_key), seed=task.seed)
    with np.errstate(all="ignore"):  # non-finite results are recorded in the row ("-inf", None), not warned about
        row.update(_analytic(task))
        try:
            row.update(_simulated(task))
        except AnalyticError as exc:  # e.g. the forward pass overflowed: the row says so, the sweep goes on
            row["notes"] = "; ".join(filter(None, [row["notes"], f"simulation: {exc}"]))
    return {k: _finite_or_text(row[k]) for k in COLUMNS}


# ---------------------------------------------------------------- files

def task_path(out: str | os.PathLike, index: int) -> Path:
    """Where task ``index``'s row is stored: ``OUT/tasks/<index>.json``."""
    return Path(out) / "tasks" / f"{index}.json"


def _write_task(out: Path, spec_hash: str, row: dict[str, Any]) -> None:
    text = json.dumps({"spec_hash": spec_hash, "row": row}, sort_keys=True, allow_nan=False)
    atomic_write_text(task_path(out, row["index"]), text + "\n")


def _read_task(out: Path, spec_hash: str, index: int) -> dict[str, Any] | None:
    """The stored row of task ``index`` if its file exists, parses and carries ``spec_hash``; else ``None``."""
    try:
        data = json.loads(task_path(out, index).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("spec_hash") != spec_hash:
        return None
    row = data.get("row")
    if not isinstance(row, dict) or row.get("index") != index or set(row) != set(COLUMNS):
        return None
    return row if all(_stored_value_ok(k, v) for k, v in row.items()) else None


_TEXT_COLUMNS = frozenset({"activation", "weights", "bias", "notes"})


def _stored_value_ok(column: str, value: Any) -> bool:
    """A value of a stored task row as this module writes it: text in the text columns, a list of integers as the
    spawn key, else a finite number, "inf", "-inf" or null. A file edited by hand (NaN, a stray string) fails, and
    its task is computed again."""
    if column in _TEXT_COLUMNS:
        return value is None or isinstance(value, str)
    if column == "seed_spawn_key":
        return isinstance(value, list) and all(_is_int(v) for v in value)
    if value is None or value in ("inf", "-inf"):
        return True
    return _is_number(value) and math.isfinite(value)


# ---------------------------------------------------------------- provenance and the critical line

def versions() -> dict[str, str | None]:
    """Installed versions of the packages the numbers depend on (``None`` when not installed)."""
    from importlib import metadata

    from .. import __version__

    out: dict[str, str | None] = {"analytic": __version__, "python": sys.version.split()[0]}
    for name in ("numpy", "scipy", "sympy", "dask", "distributed"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def critical_point(activation: str, sigma_b2: float) -> float | None:
    r"""The :math:`\sigma_w^2` with :math:`\chi_1 = 1` at bias variance ``sigma_b2``
    (:func:`analytic.theory.criticality.critical_sigma_w2`), or ``None`` where there is none."""
    from ..theory.criticality import critical_sigma_w2

    try:
        sw = float(critical_sigma_w2(activation, float(sigma_b2)))
    except AnalyticError:
        return None
    return sw if math.isfinite(sw) and sw > 0 else None


def critical_line(activation: str, sigma_b2: Sequence[float]) -> dict[str, list]:
    r"""The mean-field critical line :math:`\chi_1 = 1`: ``{"sigma_b2": [...], "sigma_w2": [...]}`` with
    :func:`critical_point` at each :math:`\sigma_b^2` (``None`` where there is no critical point)."""
    return {"sigma_b2": [float(s) for s in sigma_b2], "sigma_w2": [critical_point(activation, s) for s in sigma_b2]}


def _critical_grid(values: Sequence[float], points: int = 9) -> list[float]:
    """σ_b² values for the critical line: the swept ones and ``points`` evenly spaced over their range."""
    lo, hi = min(values), max(values)
    grid = set(values) | ({float(v) for v in np.linspace(lo, hi, points)} if hi > lo else set())
    return sorted(grid)


# ---------------------------------------------------------------- the sweep

@dataclass(frozen=True)
class SweepResult:
    """A finished sweep: the spec, one row per task (sorted by index), provenance and the critical lines."""

    spec: SweepSpec
    rows: tuple[dict[str, Any], ...]
    critical: dict[str, dict[str, list]]
    provenance: dict[str, Any]
    computed: int
    reused: int
    files: tuple[Path, ...] = ()

    def table(self) -> dict[str, Any]:
        """The content of ``results.json``: provenance, columns, rows and the critical lines."""
        return {"provenance": self.provenance, "columns": list(COLUMNS), "rows": [dict(r) for r in self.rows],
                "critical_line": self.critical}

    def as_dict(self) -> dict[str, Any]:
        """JSON keys of the ``sweep`` command: ``tasks``, ``computed``, ``reused``, ``files``, ``provenance``,
        ``critical_line`` (the rows are in ``results.json``)."""
        return {"tasks": len(self.rows), "computed": self.computed, "reused": self.reused,
                "files": [str(p) for p in self.files], "provenance": self.provenance,
                "critical_line": self.critical}


def to_csv(rows: Sequence[Mapping[str, Any]]) -> str:
    """Rows as CSV with the header :data:`COLUMNS`; floats in shortest round-trip form, ``None`` empty."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow(["" if row[k] is None else
                         " ".join(map(str, row[k])) if isinstance(row[k], list) else row[k] for k in COLUMNS])
    return buf.getvalue()


Progress = Callable[[int, int], None]


def _run_serial(pending: Sequence[Task], done: Callable[[dict], None],
                points: Sequence[tuple[str, float]]) -> list[float | None]:
    for task in pending:
        done(run_task(task))
    return [critical_point(a, sb) for a, sb in points]


#: Packages that must have the same version on every worker as here (the numbers depend on them).
_SAME_VERSIONS = ("analytic", "numpy", "scipy", "sympy")


def _check_worker_versions(client: Any, scheduler: str) -> None:
    """Raise :class:`ClusterError` unless every worker of an existing cluster runs the versions of
    :data:`_SAME_VERSIONS` that this process runs (a different NumPy could give different numbers)."""
    here = versions()
    try:
        remote = client.run(versions)
    except Exception as exc:  # a worker without this package fails to unpickle the function
        raise ClusterError(f"the workers at {scheduler} cannot run analytic ({type(exc).__name__}: {exc}); "
                           "install it there: pip install -e '.[sweep]'") from None
    if not remote:
        raise ClusterError(f"the Dask cluster at {scheduler} has no workers")
    for worker, theirs in sorted(remote.items()):
        diff = [f"{k} {theirs.get(k)} (here {here[k]})" for k in _SAME_VERSIONS if theirs.get(k) != here[k]]
        if diff:
            raise ClusterError(f"worker {worker} runs {', '.join(diff)}; the numbers must not depend on the worker")


@contextlib.contextmanager
def _workers_ignore_sigint():
    """Ignore SIGINT while the local workers are spawned (they inherit it), so Ctrl-C reaches this process alone,
    which then cancels the tasks in flight and closes the cluster; restored afterwards."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def local_cluster(n_workers: int = 2) -> Any:
    """A ``distributed.LocalCluster`` on this machine: ``n_workers`` processes with one thread each, everything
    on loopback (127.0.0.1), no dashboard (the scheduler's health endpoint on a free loopback port) and no worker
    profiler, logs below CRITICAL silenced; the workers ignore SIGINT, so Ctrl-C reaches the calling process
    alone. Close it after use.
    """
    try:
        from distributed import LocalCluster
    except ModuleNotFoundError:
        raise ClusterError("running a sweep on Dask needs the sweep extra: pip install -e '.[sweep]' "
                           "(or use --serial)") from None
    import logging

    import dask

    # the workers' statistical profiler (a stack sample every 10 ms) only feeds the dashboard, which is off
    with _workers_ignore_sigint(), dask.config.set({"distributed.worker.profile.enabled": False}):
        return LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                            dashboard_address=None, silence_logs=logging.CRITICAL,
                            scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"})


def _run_dask(pending: Sequence[Task], done: Callable[[dict], None], points: Sequence[tuple[str, float]],
              scheduler: str | None, n_workers: int, started: Callable[[], None] = lambda: None) -> list[float | None]:
    """Run the tasks (and the critical-line points, submitted first) on a Dask cluster: ``scheduler``
    (``tcp://host:port``) or a new local one, closed again at the end."""
    try:
        from distributed import Client, as_completed
    except ModuleNotFoundError:
        raise ClusterError("running a sweep on Dask needs the sweep extra: pip install -e '.[sweep]' "
                           "(or use --serial)") from None

    cluster = None
    client = None
    futures: list = []
    try:
        if scheduler is None:
            cluster = local_cluster(n_workers)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(f"cannot connect to the Dask scheduler {scheduler}: {exc}") from None
            _check_worker_versions(client, scheduler)
        started()
        line = client.map(critical_point, [a for a, _ in points], [sb for _, sb in points], pure=False)
        futures = client.map(run_task, list(pending), pure=False)
        futures += line
        for future in as_completed(futures[:len(pending)]):
            done(future.result())
        return client.gather(line)
    finally:
        if client is not None:
            with contextlib.suppress(Exception):
                client.cancel([f for f in futures if not f.done()])
            with contextlib.suppress(Exception):
                client.close()
        if cluster is not None:
            with contextlib.suppress(Exception):
                cluster.close()


def _read_critical(out: Path | None, spec_hash: str) -> dict | None:
    if out is None:
        return None
    try:
        data = json.loads((out / "critical.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("critical_line") if isinstance(data, dict) and data.get("spec_hash") == spec_hash else None


def run_sweep(spec: SweepSpec, out: str | os.PathLike | None = None, *, scheduler: str | None = None,
              serial: bool = False, n_workers: int = 2, progress: Progress | None = None) -> SweepResult:
    """Run every task of ``spec`` not already stored in ``out``, and assemble the table.

    ``serial=True`` runs the tasks one after another in this process (no Dask); otherwise on the Dask cluster at
    ``scheduler`` (``tcp://host:port``) or, by default, a ``distributed.LocalCluster`` of ``n_workers`` processes
    with one thread each, on loopback, without dashboard. ``progress(done, total)`` is called at the start and
    after every task. With ``out``, task rows are stored in ``out/tasks/`` as they finish, the critical lines in
    ``out/critical.json``, and ``results.csv`` and ``results.json`` are written at the end; none of them depends
    on ``serial``/``scheduler``.

    >>> spec = SweepSpec.from_mapping({"activations": ["relu"], "sigma_w2": [2.0], "depth": 2, "samples": 50})
    >>> run_sweep(spec, serial=True).rows[0]["chi1"]
    1.0
    """
    scheduler, n_workers = _check_run(spec, scheduler, serial, n_workers, progress)
    out_path = None if out is None else canonical_path("output folder", out)
    made = [] if out_path is None else [p for p in (out_path / "tasks", out_path) if not p.exists()]
    try:
        return _run_sweep(spec, out_path, scheduler, serial, n_workers, progress)
    except BaseException:
        for folder in made:  # a refused or failed run leaves no empty folders behind
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _check_run(spec: Any, scheduler: Any, serial: Any, n_workers: Any, progress: Any) -> tuple[str | None, int]:
    """Refuse bad arguments of :func:`run_sweep` before anything is created or connected."""
    if not isinstance(spec, SweepSpec):
        raise SweepSpecError(f"run_sweep needs a SweepSpec (see load_spec), got {type(spec).__name__}")
    if not isinstance(serial, (bool, np.bool_)):
        raise SweepSpecError(f"serial must be True or False, got {show_value(serial)}")
    canonical_callable("progress", progress)
    n_workers = canonical_int("n_workers", n_workers, 1, 256, SweepSpecError)
    if scheduler is not None:
        scheduler = canonical_text("scheduler", scheduler, error=ClusterError).strip()
        scheme, sep, where = scheduler.rpartition("://")
        host, colon, port = where.rpartition(":")
        if (sep and scheme != "tcp") or not colon or not host or not port.isascii() or not port.isdigit() \
                or not 0 < int(port) < 65536:
            raise ClusterError(f"scheduler address {show_value(scheduler)} is not supported: give tcp://host:port "
                               "(TLS and UCX need settings this command does not take)")
    return scheduler, n_workers


def _run_sweep(spec: SweepSpec, out_path: Path | None, scheduler: str | None, serial: bool, n_workers: int,
               progress: Progress | None) -> SweepResult:
    tasks = spec.tasks()
    total = len(tasks)
    spec_hash = spec.hash
    rows: dict[int, dict[str, Any]] = {}
    if out_path is not None:
        output_folder(out_path)
        output_folder(out_path / "tasks")
        for task in tasks:
            row = _read_task(out_path, spec_hash, task.index)
            if row is not None and all(row[k] == getattr(task, k) for k in ("activation", "sigma_w2", "sigma_b2",
                                                                              "depth", "width")):
                rows[task.index] = row
    reused = len(rows)
    pending = [t for t in tasks if t.index not in rows]
    grid = _critical_grid(spec.sigma_b2)
    critical = _read_critical(out_path, spec_hash)
    points = [] if critical is not None else [(a, sb) for a in spec.activations for sb in grid]
    def started() -> None:  # once the tasks can run: no progress line before a failed connection
        if progress is not None:
            progress(len(rows), total)

    def done(row: dict[str, Any]) -> None:
        if out_path is not None:
            _write_task(out_path, spec_hash, row)
        rows[row["index"]] = row
        if progress is not None:
            progress(len(rows), total)

    if serial or not pending:
        started()
        values = _run_serial(pending, done, points)
    else:
        values = _run_dask(pending, done, points, scheduler, n_workers, started)
    if critical is None:
        it = iter(values)
        critical = {a: {"sigma_b2": list(grid), "sigma_w2": [next(it) for _ in grid]} for a in spec.activations}
        if out_path is not None:
            atomic_write_text(out_path / "critical.json", json.dumps({"spec_hash": spec_hash, "critical_line": critical},
                                                                 sort_keys=True, allow_nan=False) + "\n")

    ordered = tuple(rows[i] for i in range(total))
    provenance = {"versions": versions(), "spec": spec.as_dict(), "spec_hash": spec_hash, "root_seed": spec.seed,
                  "tasks": total, "order": ["activations", "sigma_w2", "sigma_b2", "depth", "width"],
                  "seeds": "numpy.random.SeedSequence(root_seed).spawn(tasks)[index]", "preact": PREACT,
                  "chain_input": CHAIN_INPUT}
    result = SweepResult(spec, ordered, critical, provenance, computed=len(pending), reused=reused)
    if out_path is None:
        return result
    json_path, csv_path = out_path / "results.json", out_path / "results.csv"
    atomic_write_text(json_path, dump_table(result.table()))
    atomic_write_text(csv_path, to_csv(ordered))
    return SweepResult(spec, ordered, critical, provenance, len(pending), reused, (csv_path, json_path))


def dump_table(table: Mapping[str, Any]) -> str:
    """``results.json``'s text: one top-level key per line and one row per line (keys sorted; strict JSON)."""
    parts = []
    for key in sorted(table):
        value = table[key]
        if key == "rows":
            body = ",\n".join("  " + json.dumps(r, sort_keys=True, allow_nan=False) for r in value)
            parts.append(f' "rows": [\n{body}\n ]')
        else:
            parts.append(f" {json.dumps(key)}: {json.dumps(value, sort_keys=True, allow_nan=False)}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def load_results(out: str | os.PathLike) -> dict[str, Any]:
    """The table a finished sweep wrote into ``out`` (``results.json``)."""
    path = Path(out) / "results.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OutputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None


# ---------------------------------------------------------------- heatmap data (drawn by analytic.output.plotting)

@dataclass(frozen=True)
class HeatmapData:
    r"""``log_grad`` on the :math:`\sigma_w^2 \times \sigma_b^2` grid for one activation, depth and width
    (``values[j, i]`` at ``sigma_b2[j]``, ``sigma_w2[i]``; NaN where missing or :math:`-\infty`), with the
    critical line."""

    activation: str
    depth: int
    width: int
    sigma_w2: np.ndarray
    sigma_b2: np.ndarray
    values: np.ndarray
    critical_sigma_b2: np.ndarray
    critical_sigma_w2: np.ndarray
    label: str
    missing: tuple[tuple[str, ...], ...] = ()


def heatmap_data(table: Mapping[str, Any] | SweepResult, activation: str | None = None, depth: int | None = None,
                 width: int | None = None) -> HeatmapData:
    """Pivot a sweep table (``results.json`` content or a :class:`SweepResult`) into a heatmap grid.

    Defaults: the first activation, the largest depth, the smallest width of the sweep.
    """
    if isinstance(table, SweepResult):
        table = table.table()
    rows = table.get("rows") if isinstance(table, Mapping) else None
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) and {"activation", "depth", "width", "sigma_w2",
                                                                          "sigma_b2", "log_grad"} <= set(r)
                                             and all(_stored_value_ok(k, r[k]) for k in r) for r in rows):
        raise SweepSpecError("the sweep table must be results.json's content or a SweepResult (a 'rows' list "
                             "of task rows)")
    if not rows:
        raise SweepSpecError("the sweep table has no rows")
    activation = rows[0]["activation"] if activation is None else canonical_text("activation", activation,
                                                                                 error=SweepSpecError)
    depth = max(r["depth"] for r in rows) if depth is None else canonical_int("depth", depth, 1, None, SweepSpecError)
    width = min(r["width"] for r in rows) if width is None else canonical_int("width", width, 1, None, SweepSpecError)
    chosen = [r for r in rows if r["activation"] == activation and r["depth"] == depth and r["width"] == width]
    if not chosen:
        raise SweepSpecError(f"the sweep has no rows for activation {show_value(activation)}, depth "
                             f"{show_value(depth)}, width {show_value(width)}")
    sw = np.array(sorted({r["sigma_w2"] for r in chosen}), float)
    sb = np.array(sorted({r["sigma_b2"] for r in chosen}), float)
    values = np.full((len(sb), len(sw)), np.nan)
    missing = [["n/a"] * len(sw) for _ in sb]
    for r in chosen:
        v = r["log_grad"]
        j, i = np.searchsorted(sb, r["sigma_b2"]), np.searchsorted(sw, r["sigma_w2"])
        values[j, i] = v if isinstance(v, (int, float)) else np.nan
        if r.get("mc_zero_fraction") == 1:
            missing[j][i] = "all 0"
    line = table.get("critical_line", {}).get(activation, {"sigma_b2": [], "sigma_w2": []})
    pairs = [(b, w) for b, w in zip(line["sigma_b2"], line["sigma_w2"]) if isinstance(w, (int, float))]
    label = (r"$E\,\ln g^2$ over the chains with $g \neq 0$" if width == 1 else
             r"$E\,\ln(\|g_0\|^2/\|g_L\|^2)$")
    return HeatmapData(activation, depth, width, sw, sb, values, np.array([p[0] for p in pairs], float),
                       np.array([p[1] for p in pairs], float), label, tuple(tuple(m) for m in missing))


def heatmap_file(spec: SweepSpec, activation: str, width: int, format: str = "png") -> str:
    """File name of the heatmap of one activation and width: ``heatmap_<name>_chain.png`` or
    ``heatmap_<name>_width<n>.png``; a formula is named by its position, ``formula<k>``."""
    name = activation if activation.isidentifier() else f"formula{spec.activations.index(activation) + 1}"
    return f"heatmap_{name}_{'chain' if width == 1 else f'width{width}'}.{format}"
