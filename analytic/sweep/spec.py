r"""The sweep spec: which points a sweep visits, validated, and the tasks it expands into.

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

>>> spec = SweepSpec.from_mapping({"activations": ["relu"], "sigma_w2": [1.0, 2.0], "depth": 3, "samples": 100})
>>> [(t.index, t.sigma_w2, t.depth) for t in spec.tasks()]
[(0, 1.0, 3), (1, 2.0, 3)]
"""
from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from ..errors import (AnalyticError, OutputError, SweepSpecError, canonical_float, canonical_int, number_from_text,
                      show_value)
from ..core.files import canonical_path
from ..limits import MemoryLimitError, check_array

#: Largest number of tasks one spec may expand into.
MAX_TASKS = 100_000
#: Largest sigma_w^2 or sigma_b^2 a sweep accepts (the limit of the mean-field maps).
MAX_VARIANCE = 1e6
#: Largest sweep spec file read (bytes): a spec is a few lines; a file that never ends (/dev/zero) is cut here.
MAX_SPEC_BYTES = 1 << 20
#: Deepest nesting of tables and lists a spec may hold (``sigma_w2 = {start = 0.5, ...}`` is 2 levels below the
#: spec); deeper ones are refused before anything walks them recursively.
MAX_NESTING = 4
#: Bumped when the content of a task file changes, so old task files are recomputed rather than mixed in.
SCHEMA = 1

_DEFAULTS: dict[str, Any] = {"sigma_b2": [0.0], "depth": [10], "width": [1], "samples": 20_000, "batch": 64,
                             "networks": 8, "seed": 0, "weights": "gaussian"}
_REQUIRED = ("activations", "sigma_w2")
#: The keys a spec may have, in the order they are listed.
KEYS = ("activations", "sigma_w2", "sigma_b2", "depth", "width", "samples", "batch", "networks", "seed", "weights")
#: Weight ensembles of wide tasks: Gaussian N(0, sigma_w^2/n), or orthogonal(sqrt(sigma_w^2)) (Haar).
ENSEMBLES = ("gaussian", "orthogonal")


def _fail(message: str) -> None:
    raise SweepSpecError(f"sweep spec: {message}")


#: A TOML string or comment (their text is not looked into), and a key of MAX_NESTING or more dotted parts.
_TOML_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'|#[^\n]*')
_DOTTED_KEY = re.compile(r"(?:[A-Za-z0-9_-]+[ \t]*\.[ \t]*){%d,}" % MAX_NESTING)


def _check_dotted_keys(text: str, path: object) -> None:
    """Refuse keys of more than :data:`MAX_NESTING` dotted parts before the TOML parser reads them (its time grows
    with the square of the parts)."""
    if _DOTTED_KEY.search(_TOML_STRING.sub("s", text)):
        raise SweepSpecError(f"sweep spec {path}: a key has more than {MAX_NESTING} dotted parts")


def _check_nesting(mapping: Any) -> None:
    """Refuse tables and lists nested deeper than :data:`MAX_NESTING`, walking them without recursion."""
    stack = [(mapping, 0)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, (Mapping, list, tuple)):
            if level >= MAX_NESTING:
                _fail(f"tables and lists are nested more than {MAX_NESTING} deep")
            items = value.values() if isinstance(value, Mapping) else value
            stack.extend((item, level + 1) for item in items)


def is_int(value: Any) -> bool:
    """An integer (Python or NumPy), not a bool."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An integer or a float (Python or NumPy), not a bool."""
    return (is_int(value) or isinstance(value, (float, np.floating))) and not isinstance(value, bool)


def _canonical_floats(key: str, value: Any, *, minimum: float, strict: bool) -> tuple[float, ...]:
    """A number, a list of numbers or ``{start, stop, num}`` as a tuple of distinct finite floats ≥ (>) minimum."""
    if isinstance(value, Mapping):
        unknown = sorted(set(value) - {"start", "stop", "num"})
        if unknown or set(value) != {"start", "stop", "num"}:
            _fail(f"{key} as a range needs exactly the keys start, stop, num; got {', '.join(sorted(value))}")
        start, stop, num = value["start"], value["stop"], value["num"]
        if not (is_number(start) and is_number(stop)):
            _fail(f"{key}: start and stop must be numbers")
        start = canonical_float(f"sweep spec: {key} start", start, error=SweepSpecError)
        stop = canonical_float(f"sweep spec: {key} stop", stop, error=SweepSpecError)
        num = _int(f"{key} num", num, 1, MAX_TASKS)
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
    out = tuple(_int(key, v, minimum, maximum) for v in values)
    _distinct(key, out)
    return out



def _int(key: str, value: Any, minimum: int, maximum: int | None = None) -> int:
    """An integer key (an integral float such as ``10.0`` is refused: the spec says what it means)."""
    return canonical_int(f"sweep spec: {key}", value, minimum, maximum, SweepSpecError, allow_float=False)


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
            return self.chain_weights
        if self.ensemble == "orthogonal":
            return f"orthogonal(sqrt({self.sigma_w2!r}))"
        return f"normal(0, sqrt({self.sigma_w2!r}/{self.width}))"

    @property
    def chain_weights(self) -> str:
        r"""Weight spec of the one-neuron chain, :math:`N(0, \sigma_w^2)` (also the analytic columns' weights)."""
        return f"normal(0, sqrt({self.sigma_w2!r}))"

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
        _check_nesting(mapping)
        unknown = sorted(set(mapping) - set(KEYS))
        if unknown:
            _fail(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
                  f"keys: {', '.join(KEYS)}")
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
            samples=_int("samples", m["samples"], 2, 10**9),
            batch=_int("batch", m["batch"], 1, 10**6),
            networks=_int("networks", m["networks"], 2, 10**4),
            seed=_int("seed", m["seed"], 0, 2**63 - 1),
            weights=_canonical_ensemble(m["weights"], m["width"]),
        )
        if spec.n_tasks > MAX_TASKS:
            _fail(f"{spec.n_tasks} tasks ({' x '.join(str(n) for n in spec.shape)}) exceed the limit of {MAX_TASKS}")
        wide = [w for w in spec.width if w > 1]
        if wide:  # the memory limits of the wide-network tasks, before any task starts
            from ..mc.wide import MAX_WIDE_ELEMENTS

            held = max(spec.depth) * spec.batch * max(wide)
            if held > MAX_WIDE_ELEMENTS:
                _fail(f"the derivatives of a wide task (depth x batch x width = {held:.3g}) exceed "
                      f"{MAX_WIDE_ELEMENTS} entries; use a smaller batch, width or depth")
            try:
                check_array("a weight matrix of a wide task (width x width)", (max(wide), max(wide)))
            except MemoryLimitError as exc:
                raise SweepSpecError(f"sweep spec: {exc}") from None
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
        _check_dotted_keys(text, path)
        try:
            mapping = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SweepSpecError(f"sweep spec {path} is not valid TOML: {exc}") from None
        except RecursionError:  # the parser recurses once per nested table or list
            raise SweepSpecError(f"sweep spec {path}: tables and lists are nested too deeply") from None
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
