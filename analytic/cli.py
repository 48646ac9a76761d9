"""The command line: parse arguments, call one :mod:`analytic` function, print. No mathematics here.

Every command takes ``--json`` and then prints one JSON object (``sort_keys=True``) on stdout. Bad input prints
one line on stderr and exits with status 2. Heavy libraries are imported inside the commands, so ``--help`` is
fast.

Usage: ``python cli.py derive sigmoid`` or, once installed, ``analytic derive sigmoid``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable

PROG = "analytic"


class UsageError(Exception):
    """Bad command-line usage (reported on one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        raise UsageError(f"{self.prog}: {message}")

    def _parse_optional(self, arg_string: str):
        # Every option but -h is long, so a word that starts with one '-' is a value: a formula such as
        # "-log(1+exp(-x))" or "-tanh(x)", or a negative number.
        if arg_string.startswith("-") and not arg_string.startswith("--") and arg_string not in ("-h", "-"):
            return None
        return super()._parse_optional(arg_string)


@dataclass(frozen=True)
class Output:
    """What a command produces: a text rendering and the JSON object."""

    text: str
    data: dict


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], Output]


COMMANDS: dict[str, Command] = {}


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None] = lambda p: None):
    """Register ``run(args) -> Output`` as the sub-command ``name``."""

    def wrap(run: Callable[[argparse.Namespace], Output]) -> Callable[[argparse.Namespace], Output]:
        COMMANDS[name] = Command(name, help, configure, run)
        return run

    return wrap


# ---------------------------------------------------------------- argument helpers (parsing only)

def _number(text: str, integer: bool) -> int | float:
    from .errors import AnalyticError, number_from_text

    try:
        return number_from_text("value", text, integer=integer)
    except AnalyticError:
        shown = text if len(text) <= 40 else text[:39] + "…"
        raise argparse.ArgumentTypeError(f"{shown!r} is not {'an integer' if integer else 'a number'} "
                                         "(digits 0-9)") from None


def finite_float(text: str) -> float:
    """argparse type: a finite float written with ASCII digits (ranges are the library's to check)."""
    value = _number(text, integer=False)
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def integer(text: str) -> int:
    """argparse type: an integer written with ASCII digits (ranges are the library's to check)."""
    return _number(text, integer=True)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (upper limits are the library's to check)."""
    value = integer(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def folder(text: str) -> str:
    """argparse type: an output folder; an empty or blank path (which would mean the current folder) is refused."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder name")
    return text


def float_list(text: str) -> list[float]:
    """argparse type: comma-separated finite floats, e.g. ``-1,0.5``."""
    return [finite_float(part.strip()) for part in text.split(",") if part.strip()] or _empty(text)


def _empty(text: str):
    raise argparse.ArgumentTypeError(f"{text!r} holds no numbers")


def key_value(text: str) -> tuple[str, float]:
    """argparse type: ``name=value`` with a finite float value."""
    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form name=value")
    return name.strip(), finite_float(value.strip())


def params_of(args: argparse.Namespace) -> dict[str, float]:
    params: dict[str, float] = {}
    for name, value in getattr(args, "param", None) or []:
        if name in params:
            raise UsageError(f"{PROG}: --param {name} given twice")
        params[name] = value
    return params


# ---------------------------------------------------------------- text output helpers

def table(rows: list[list[str]], header: list[str]) -> str:
    """Left-aligned plain-text table."""
    cells = [header] + rows
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


_LATEX_WORDS = {r"\sigma": "σ", r"\alpha": "α", r"\beta": "β", r"\lambda": "λ", r"\varphi": "φ", r"\Phi": "Φ",
                r"\pi": "π", r"\le": "≤", r"\ge": "≥", r"\pm": "±", r"\approx": "≈", r"\ne": "≠", r"\sum": "Σ",
                r"\top": "ᵀ", r"\left": "", r"\right": "", r"\tanh": "tanh", r"\log": "log", r"\sqrt": "√",
                r"\,": " "}


def _group(text: str) -> str:
    return text if re.fullmatch(r"[\w.]+", text) else f"({text})"


def plain(doc: str) -> str:
    """A docstring with its reST math markup turned into plain Unicode text for the terminal."""
    text = doc.replace(":math:", "").replace("`", "")
    text = re.sub(r"\^\{([^{}]*)\}", lambda m: "^" + _group(m.group(1)), text)
    text = re.sub(r"_\{([^{}]*)\}", lambda m: "_" + _group(m.group(1)), text)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: f"{_group(m.group(1))}/{_group(m.group(2))}", text)
    text = re.sub(r"\\operatorname\{([^{}]*)\}", r"\1", text)
    for word in sorted(_LATEX_WORDS, key=len, reverse=True):
        tail = r"(?![A-Za-z])" if word[-1].isalpha() else ""
        text = re.sub(re.escape(word) + tail, _LATEX_WORDS[word], text)
    return text.replace("{", "").replace("}", "")


def number(value: Any) -> str:
    """A SymPy or Python number as short text (``0.2``, not ``0.200000000000000``)."""
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return str(value) if getattr(value, "is_Rational", False) else f"{f:.12g}"


def short(expr: Any) -> str:
    """A SymPy expression as text with its floating-point constants cut to 12 significant digits."""
    import sympy as sp

    if not isinstance(expr, sp.Basic):
        return str(expr)
    return str(expr.xreplace({f: sp.Float(f, 12) for f in expr.atoms(sp.Float)}))


def _sci(value: float, log_abs: float = math.nan, digits: int = 6) -> str:
    """A float as text; where it underflowed to 0 (or overflowed) but its natural log is known, from the log."""
    if (value == 0 or math.isinf(value)) and math.isfinite(log_abs):
        exponent = math.floor(log_abs / math.log(10))
        mantissa = math.copysign(10 ** (log_abs / math.log(10) - exponent), value if value else 1.0)
        return f"{mantissa:.{digits}g}e{exponent:+d}"
    return f"{value:.{digits}g}"


def _zscore(z: float) -> str:
    return f"{z:.2f}" if abs(z) < 1e4 else f"{z:.3g}"


# ---------------------------------------------------------------- commands

@command("list", "the activation catalogue")
def _list(args: argparse.Namespace) -> Output:
    from .core.activations import aliases, catalogue

    entries = [{"name": a.name, "params": {p.name: float(p.default) for p in a.params}, "formula": str(a.expr),
                "vector": a.vector, "aliases": aliases(a.name)} for a in catalogue()]
    rows = [[e["name"] + "".join(f" (= {n})" for n in e["aliases"]),
             ", ".join(f"{k}={v:g}" for k, v in e["params"].items()) or "-", e["formula"]] for e in entries]
    return Output(table(rows, ["name", "parameters", "phi(x)"]), {"activations": entries})


def _configure_derive(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x such as 'x*tanh(log(1+exp(x)))'")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")
    p.add_argument("--at", type=float_list, default=[], metavar="X1,X2,...", help="points at which to evaluate")


@command("derive", "phi, phi', phi'' symbolically, and values at points", _configure_derive)
def _derive(args: argparse.Namespace) -> Output:
    from .core.calculus import derive

    d = derive(args.act, params_of(args), args.at)
    data = d.as_dict()
    lines = [f"{d.name}: {plain(d.doc)}"]
    if d.params:
        lines.append("parameters: " + ", ".join(f"{k} = {number(v)}" for k, v in d.params.items()))
    lines += [f"  phi(x)   = {short(d.phi)}", f"  phi'(x)  = {short(d.dphi)}", f"  phi''(x) = {short(d.d2phi)}"]
    if d.vector:
        lines.append("  Jacobian of the full softmax: diag(s) - s s^T")
    for k in d.kinks:
        lines.append(f"  kink at x = {number(k.at)}: phi' taken as {number(k.dphi)} there (PyTorch's autograd value)")
    if d.at:
        rows = [[f"{x:g}", f"{p:.12g}", f"{q:.12g}"] for x, p, q in zip(d.at, d.phi_values, d.dphi_values)]
        lines += ["", table(rows, ["x", "phi(x)", "phi'(x)"])]
    return Output("\n".join(lines), data)


def _configure_bound(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x such as 'x*tanh(log(1+exp(x)))'")
    p.add_argument("--of", choices=["dphi", "phi"], default="dphi", help="bound phi' (default) or phi (its range)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")
    p.add_argument("--timeout", type=finite_float, default=10.0, metavar="S",
                   help="seconds SymPy may spend on critical points before the certified route takes over (default 10)")


def _extremum_line(label: str, e) -> str:
    value = str(e.exact) if e.exact is not None else "no closed form"
    enclosure = f"[{e.lower!r}, {e.upper!r}]"
    if e.attained:
        where = f"attained at x = {e.at}" if not e.at.startswith(("(", "[")) else f"attained on {e.at}"
    else:
        where = f"approached as x -> {e.at}, not attained"
    arg = f" (x in [{e.at_lower!r}, {e.at_upper!r}])" if e.at_lower is not None and e.exact is None else ""
    return f"  {label} = {value}  {enclosure}  {where}{arg}"


@command("bound", "proved sup and inf of phi' (or phi) with the proof", _configure_bound)
def _bound(args: argparse.Namespace) -> Output:
    from .bounds import bound

    b = bound(args.act, of=args.of, params=params_of(args), timeout=args.timeout)
    f = "phi'" if b.of == "dphi" else "phi"
    scope = " over the points where phi is differentiable" if b.of == "dphi" else " (its range)"
    lines = [f"{b.name}: bounds of {f}(x){scope}"]
    if b.params:
        lines.append("parameters: " + ", ".join(f"{k} = {number(v)}" for k, v in b.params.items()))
    lines += [_extremum_line(f"sup {f}", b.sup), _extremum_line(f"inf {f}", b.inf), f"  method: {b.method}"]
    for k in b.kink_conventions:
        lines.append(f"  kink at x = {number(k.at)}: PyTorch's phi' there is {number(k.dphi)} (reported, not counted)")
    if b.jacobian is not None:
        j = b.jacobian
        lines += ["  softmax Jacobian, every n >= 2:",
                  f"    0 < ds_i/dz_i <= {j.diagonal.exact}; {j.off_diagonal.exact} <= ds_i/dz_j < 0 (i != j); "
                  f"||J||_2 <= {j.spectral_norm.exact}"]
    lines.append("proof:")
    lines += [f"  {i}. {step}" for i, step in enumerate(b.proof, 1)]
    return Output("\n".join(lines), b.as_dict())


def _configure_gradient(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x")
    p.add_argument("--depth", type=integer, required=True, metavar="R", help="number of layers r (1 to 10**6)")
    p.add_argument("--weights", required=True, metavar="SPEC", help="weight distribution, e.g. 'normal(1, 0.5)'")
    p.add_argument("--x", type=finite_float, default=1.0, metavar="X", help="chain input y_0 (default 1)")
    p.add_argument("--bias", metavar="SPEC", help="bias distribution (default: no bias)")
    p.add_argument("--preact", default="normal(0, 1)", metavar="SPEC",
                   help="pre-activation distribution of the independence approximation (default normal(0, 1))")
    p.add_argument("--threshold", type=finite_float, default=1e-6, metavar="T",
                   help="report the first depth at which each quantity falls below T (default 1e-6)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")


def _reach(depth: int | None, threshold: float, within: int | None = None) -> str:
    if depth is not None:
        return f"below {threshold:g} from r = {depth}"
    return f"not below {threshold:g} by r = {within}" if within else f"never below {threshold:g}"


@command("gradient", "the gradient product across depth: exact chain, crude bound, independence approximation",
         _configure_gradient)
def _gradient(args: argparse.Namespace) -> Output:
    from .theory.gradient import gradient

    g = gradient(args.act, args.depth, args.weights, x=args.x, bias=args.bias, preact=args.preact,
                 threshold=args.threshold, params=params_of(args))
    c, ind, r, t = g.exact_chain, g.independence, g.depth, g.threshold
    per = ind.per_layer
    b, m, ms, ty = per["bound"], per["mean"], per["mean_square"], per["typical"]
    reach, er = g.depth_to_threshold, g.depth_to_threshold["exact_chain"]

    def q(name: str) -> str:
        v = c[name]
        flag = "" if v.converged else "  NOT CONVERGED"
        return f"{_sci(v.value, v.log_abs if v.sign else -math.inf, 10)} ± {_sci(v.error, v.log_error, 2)}{flag}"

    def ratio(key: str) -> str:
        v = g.ratios.get(key)
        return "-" if v is None else f"{v:.4g}"

    lm = c["log_mean"].value
    sup, edphi, edphi2, elog = b["sup|phi'|"], m["E[phi'(v)]"], ms["E[phi'(v)^2]"], ty["E log|phi'(v)|"]
    lines = [f"{g.activation}: gradient prod_t w_t phi'(v_t) over r = {r} layers, weights {g.weights}, x = {g.x:g}, "
             + (f"bias {g.bias}" if g.bias else "no bias"),
             f"exact chain ({c.method}):",
             f"  E[prod]          = {q('mean')}  [{_reach(er['mean'], t, r)}]",
             f"  E|prod|          = {q('mean_abs')}  [{_reach(er['mean_abs'], t, r)}]",
             f"  E[prod^2]        = {q('mean_square')}  [{_reach(er['mean_square'], t, r)}]",
             f"  E log|prod|      = {lm:.10g} ± {c['log_mean'].error:.2g} over non-zero products; typical "
             f"exp(E log) = {_sci(math.exp(lm) if lm < 700 else math.inf, lm)}  [{_reach(er['typical'], t, r)}]",
             f"  P(prod = 0)      = {c['zero_probability'].value:.10g} ± {c['zero_probability'].error:.2g}",
             f"crude bound  {ind.formulas['bound']} = ({b['E|w|']:.6g} * {sup:.6g})^{r} = "
             f"{_sci(g.bound, ind.log_bound)}  [{_reach(reach['bound'], t)}]",
             f"independence approximation (v_t ~ {ind.preact}, independent of w_t; NOT this network), "
             "ratio to the exact chain:",
             f"  mean         {ind.formulas['mean']} = ({m['E[w]']:.6g} * {edphi:.6g})^{r} = "
             f"{_sci(ind.mean, ind.log_mean_abs)}  (x {ratio('mean')})",
             f"  mean square  {ind.formulas['mean_square']} = ({ms['E[w^2]']:.6g} * {edphi2:.6g})^{r}"
             f" = {_sci(ind.mean_square, ind.log_mean_square)}  (x {ratio('mean_square')})",
             f"  typical      {ind.formulas['typical']} = exp({r} * ({ty['E log|w|']:.6g} + "
             f"{elog:.6g})) = {_sci(ind.typical, ind.log_typical)}  (x {ratio('typical')})",
             "assumptions:"]
    lines += [f"  - {a}" for a in g.assumptions]
    return Output("\n".join(lines), g.as_dict())


def _configure_init(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x")
    p.add_argument("--sigma-b2", dest="sigma_b2", type=finite_float, default=0.0, metavar="V",
                   help="bias variance sigma_b^2 (default 0)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")


@command("init", "initialisation: chi_1 = 1 at a stable fixed point, variance preserving and linearised gains, "
                 "compared with calculate_gain", _configure_init)
def _init(args: argparse.Namespace) -> Output:
    from .theory.initialisation import initialisation

    i = initialisation(args.act, args.sigma_b2, params=params_of(args))
    lines = [f"{i.activation}: initialisation at sigma_b^2 = {i.sigma_b2:g}",
             "  criticality  chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2] = 1 at a stable fixed point q* = sigma_w^2 "
             "E[phi(sqrt(q*) z)^2] + sigma_b^2"]
    if i.sigma_w2 is None:
        lines.append(f"  NONE         {i.method}")
    else:
        lines += [f"  sigma_w^2    {i.sigma_w2:.12g}  ({i.method})", f"  q*           {i.q_star:.12g}",
                  f"  chi_1        {i.chi1:.12g}", f"  gain         sqrt(sigma_w^2) = {i.gain:.12g}"]
    lines.append(f"  PyTorch      {i.comparison}")
    rows = [[c.name, "-" if c.gain is None else f"{c.gain:.10g}", c.formula,
             "-" if c.verdict is None else f"{c.verdict} ({c.relative_difference:.2%})", c.note]
            for c in i.conventions]
    lines += ["", table(rows, ["convention", "gain", "formula", f"vs calculate_gain ({i.torch_entry or 'none'})",
                               "note"]), ""]
    if i.alpha is not None:
        sl = i.selu
        sn = sl["self_normalising"]
        j = sn["jacobian"]
        lines += [f"  SELU         from {sl['conditions']}:",
                  f"    alpha  = {sl['alpha_exact']} = {sl['alpha_30']} (published {sl['published_alpha']!r}, "
                  f"difference {sl['alpha_difference']:.3g})",
                  f"    lambda = {sl['lambda_30']} (published {sl['published_lambda']!r}, "
                  f"difference {sl['lambda_difference']:.3g})",
                  f"    self-normalising fixed point (mu, nu) = ({sn['mu']:.3g}, {sn['nu']:.12g}) at sigma_w^2 = 1; "
                  f"Jacobian [[{j[0][0]:.6g}, {j[0][1]:.6g}], [{j[1][0]:.6g}, {j[1][1]:.6g}]], spectral norm "
                  f"{sn['spectral_norm']:.6g}"]
    lines.append("assumptions:")
    lines += [f"  - {a}" for a in i.assumptions]
    return Output("\n".join(lines), i.as_dict())


def _configure_meanfield(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x")
    p.add_argument("--sigma-w2", dest="sigma_w2", type=finite_float, required=True, metavar="V",
                   help="weight variance sigma_w^2 (W_ij ~ N(0, sigma_w^2/n))")
    p.add_argument("--sigma-b2", dest="sigma_b2", type=finite_float, required=True, metavar="V",
                   help="bias variance sigma_b^2")
    p.add_argument("--q0", type=finite_float, default=1.0, metavar="V", help="input length q_0 = |x|^2/n (default 1)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")


def _opt(value: float | None, digits: int = 10) -> str:
    return "-" if value is None else f"{value:.{digits}g}"


@command("meanfield", "mean field: fixed points with stability, chi_1, correlation map c*, chi_c, depth scales, "
                      "phase", _configure_meanfield)
def _meanfield(args: argparse.Namespace) -> Output:
    from .theory.meanfield import signal_propagation

    s = signal_propagation(args.act, args.sigma_w2, args.sigma_b2, params=params_of(args), q0=args.q0)
    m = s.mean_field
    rows = [[f"{f.q:.12g}", f"{f.slope:.10g}", f.kind, "yes" if f.reached else ""] for f in m.fixed_points]
    lines = [f"{s.activation}: mean field at sigma_w^2 = {m.sigma_w2:g}, sigma_b^2 = {m.sigma_b2:g}, q_0 = {m.q0:g}",
             "fixed points of q_l = sigma_w^2 E[phi(sqrt(q_(l-1)) z)^2] + sigma_b^2:",
             table(rows, ["q*", "slope dq_(l+1)/dq_l", "stability", "reached from q_0"]) if rows else "  none",
             f"  q*       {m.q_star:.12g}  ({m.status})",
             f"  chi_1    {m.chi1:.12g}  (gradient norm^2 per layer)",
             f"  c*       {_opt(s.c_star, 12)} ± {s.c_star_error:.2g}",
             f"  chi_c    {_opt(s.chi_c, 12)} ± {s.chi_c_error:.2g}",
             f"  xi_q     {_opt(s.xi_q)}  (layers over which q_l settles: -1/ln slope at q*)",
             f"  xi_c     {_opt(s.xi_c)}  (depth over which correlations propagate: -1/ln chi_c)",
             f"  phase    {s.phase}",
             "  depth    " + ("chi_1 = 0: gradients vanish" if m.chi1 == 0 else
                             "gradients neither shrink nor grow (chi_1 = 1)" if s.depth_1e6 is None else
                             f"gradients {'shrink' if m.chi1 < 1 else 'grow'} by 1e6 over {s.depth_1e6:.6g} layers"),
             "assumptions:"]
    lines += [f"  - {a}" for a in s.assumptions]
    return Output("\n".join(lines), s.as_dict())


def _configure_window(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--w", type=finite_float, metavar="W", help="the weight w")
    which.add_argument("--widest", action="store_true", help="the |w| whose window is widest, and its width")
    p.add_argument("--b", type=finite_float, default=0.0, metavar="B", help="the bias b (default 0)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")


def _endpoint(e) -> str:
    if e.exact is not None:
        return e.exact if len(e.exact) <= 60 else f"{e.value:.15g} (exact, {len(e.exact)} characters)"
    return f"[{e.lower:.15g}, {e.upper:.15g}]"


@command("window", "the inputs a with |w phi'(w a + b)| >= 1, proved (or the |w| with the widest such set)",
         _configure_window)
def _window(args: argparse.Namespace) -> Output:
    from .theory.window import widest_window, window

    if args.widest:
        ww = widest_window(args.act, params=params_of(args))
        lines = [f"{ww.activation}: widest window of |w phi'(w a)| >= 1", f"  w      {ww.w:.10g}",
                 f"  width  {ww.width:.12g}", f"  note   {ww.note}"]
        if ww.window is not None:
            lines += [f"  a in   [{_endpoint(lo)}, {_endpoint(hi)}]" for lo, hi in ww.window.intervals]
        return Output("\n".join(lines), ww.as_dict())
    if args.w == 0:
        raise UsageError(f"{PROG} window: --w must be non-zero")
    win = window(args.act, args.w, args.b, params=params_of(args))
    lines = [f"{win.activation}: inputs a with |w phi'(w a + b)| >= 1 at w = {win.w:g}, b = {win.b:g} ({win.method})"]
    lines += [f"  a in [{_endpoint(lo)}, {_endpoint(hi)}]" for lo, hi in win.intervals] or ["  no such input"]
    lines += [f"  width {win.width:.15g}" + ("" if win.method == "exact" or math.isinf(win.width) else
                                             f" in [{win.width_lower:.15g}, {win.width_upper:.15g}]"), "proof:"]
    lines += [f"  - {step}" for step in win.proof]
    return Output("\n".join(lines), win.as_dict())


def width_list(text: str) -> list[int]:
    """argparse type: one width ``400`` or comma-separated widths ``64,32,16`` (n_0, ..., n_L)."""
    return [positive_int(part.strip()) for part in text.split(",") if part.strip()] or _empty(text)


def _configure_spectrum(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x")
    p.add_argument("--depth", type=positive_int, required=True, metavar="L", help="number of layers L")
    p.add_argument("--sigma-w2", dest="sigma_w2", type=finite_float, required=True, metavar="V",
                   help="weight variance sigma_w^2 (Gaussian entries N(0, sigma_w^2/n); orthogonal: gain^2)")
    p.add_argument("--sigma-b2", dest="sigma_b2", type=finite_float, default=0.0, metavar="V",
                   help="bias variance sigma_b^2 (default 0)")
    p.add_argument("--weights", default="gaussian", metavar="gaussian|orthogonal",
                   help="weight ensemble (default gaussian)")
    p.add_argument("--width", type=width_list, metavar="N[,N...]",
                   help="finite width n (or n_0,...,n_L): exact finite-width law and a Monte Carlo spectrum")
    p.add_argument("--networks", type=positive_int, default=8, metavar="K", help="sampled networks (default 8)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")


@command("spectrum", "spectrum of J J^T (dynamical isometry): moments, density, exact finite-width laws",
         _configure_spectrum)
def _spectrum(args: argparse.Namespace) -> Output:
    from .theory.spectrum import spectrum

    width = None if args.width is None else (args.width[0] if len(args.width) == 1 else args.width)
    s = spectrum(args.act, args.depth, args.sigma_w2, args.sigma_b2, args.weights, width, args.networks,
                 args.seed, params_of(args))
    m, d = s.moments, s.density
    lines = [f"{m.act}: depth {m.depth}, sigma_w^2 = {m.sigma_w2:g}, sigma_b^2 = {m.sigma_b2:g}, {m.weights} "
             f"weights; fixed point q* = {m.q_star:.6g}, chi_1 = {m.chi1:.6g}",
             f"  mu_1 = E[(sigma_w phi')^2] = {m.mu1:.6g}, mu_2 = E[(sigma_w phi')^4] = {m.mu2:.6g}",
             f"  large width: m1 = mu_1^L = {m.m1:.6g}, variance of the spectrum of J J^T = {m.variance:.6g}"
             f" (m1^2 L (mu_2/mu_1^2 - 1{' + 1' if m.weights == 'gaussian' else ''}))"]
    if d is not None and len(d.grid) > 1:
        lines.append(f"  density on [{d.grid[0]:.4g}, {d.grid[-1]:.4g}] ({len(d.grid)} points), atom at 0: "
                     f"{d.atom:.4g}; integrals of the density: mass + atom {d.mass + d.atom:.4f}, m1 {d.m1:.6g}, "
                     f"variance {d.variance:.6g}")
    cmp = s.comparison()
    if cmp:
        rows = [[k, f"{c['analytic']:.6g}", f"{c['simulated']:.6g}", f"{c['stderr']:.2g}", _zscore(c["z"]),
                 f"{c['relative_gap']:+.3g}", "yes" if c["agree"] else "NO"] for k, c in cmp.items()]
        lines += ["", f"Monte Carlo: {s.mc.networks} networks of width {s.mc.width}, seed {s.mc.seed}",
                  table(rows, ["moment", "large width", "simulated", "stderr", "z", "rel. gap", "agree"])]
    fw = s.finite_width
    if fw:
        rows = [[k, number(fw[k]["exact"]), number(fw[k]["large_width"]), number(fw[k]["mean_field"])]
                for k in ("mean", "mean_square", "log_mean", "log_variance", "dead_probability", "median")]
        lines += ["", f"exact finite-width law of ||J u||^2, widths {', '.join(map(str, fw['widths']))}:",
                  table(rows, ["quantity", "exact", "large width (approx.)", "mean field"])]
        lines += [f"  - {n}" for n in fw["notes"]]
    elif s.finite_width_note:
        lines.append(f"finite width: {s.finite_width_note}")
    lines += [f"note: {n}" for n in s.notes]
    return Output("\n".join(lines), s.as_dict())


def _configure_simulate(p: argparse.ArgumentParser) -> None:
    p.add_argument("act", metavar="ACT", help="catalogue name, or a formula in x")
    p.add_argument("--depth", type=positive_int, required=True, metavar="R", help="number of layers r")
    p.add_argument("--weights", required=True, metavar="SPEC",
                   help="weight distribution, e.g. 'normal(1, 0.5)'; with --width n the spec's own scale is used "
                        "(he(n) = N(0, 2/n))")
    p.add_argument("--width", type=positive_int, default=1, metavar="N",
                   help="1 (default): the chain of one neuron per layer; N > 1: an MLP of width N")
    p.add_argument("--samples", type=positive_int, default=100_000, metavar="N", help="chains (default 100000)")
    p.add_argument("--seed", type=integer, default=0, help="random seed (default 0)")
    p.add_argument("--x", type=finite_float, default=1.0, metavar="X", help="chain input y_0 (default 1)")
    p.add_argument("--bias", metavar="SPEC", help="bias distribution (default: no bias)")
    p.add_argument("--preact", metavar="SPEC",
                   help="simulate the independence model: v_t drawn from SPEC, independent of the weights")
    p.add_argument("--batch", type=positive_int, default=64, metavar="B", help="inputs per network (width > 1)")
    p.add_argument("--networks", type=positive_int, default=8, metavar="K",
                   help="independent weight draws (width > 1; default 8)")
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--threads", type=positive_int, default=None, metavar="N",
                   help="threads for the chain (default: the cores available); the numbers do not depend on it")


@command("simulate", "Monte Carlo of the gradient product vs the analytic values, with z-scores", _configure_simulate)
def _simulate(args: argparse.Namespace) -> Output:
    from .compare import simulate
    from .mc import ChainSimulation

    s = simulate(args.act, args.depth, args.weights, width=args.width, samples=args.samples, seed=args.seed,
                 x=args.x, bias=args.bias, preact=args.preact, params=params_of(args),
                 progress=False if args.quiet else None, batch=args.batch, networks=args.networks,
                 threads=args.threads)
    r = s.result
    lines = []
    if isinstance(r, ChainSimulation):
        where = f"v_t ~ {r.preact}, independent of w_t" if r.preact else \
            f"exact chain, x = {r.x:g}" + (f", bias {r.bias}" if r.bias else "")
        lines += [f"{r.act}: depth {r.depth}, weights {r.weights}, {r.samples} chains ({where}), seed {r.seed}",
                  f"  E[prod]        = {_sci(r.mean.value, r.mean.log_abs)} ± {_sci(r.mean.stderr, r.mean.log_stderr)}",
                  f"  E|prod|        = {_sci(r.mean_abs.value, r.mean_abs.log_abs)}"
                  f" ± {_sci(r.mean_abs.stderr, r.mean_abs.log_stderr)}",
                  f"  E[prod^2]      = {_sci(r.mean_square.value, r.mean_square.log_abs)}"
                  f" ± {_sci(r.mean_square.stderr, r.mean_square.log_stderr)}",
                  f"  median |prod|  = {_sci(r.median_abs.value, r.log_median_abs.value)}"
                  f" (log {r.log_median_abs.value:.6g} ± {r.log_median_abs.stderr:.2g})",
                  f"  E log|prod|    = {r.log_mean.value:.6g} ± {r.log_mean.stderr:.2g} (over non-zero products; "
                  f"sd {r.log_std:.4g})",
                  f"  zero products  = {r.zero_fraction.value:.6g} ± {r.zero_fraction.stderr:.2g}; effective "
                  f"sample size of the mean {r.ess:.3g}" + (f"; {r.nonfinite} overflowed" if r.nonfinite else "")]
    else:
        lines += [f"{r.act}: depth {r.depth}, width {r.width}, weights {r.weights} (sigma_w^2 = n E[w^2] = "
                  f"{r.sigma_w2:.6g}), {r.networks} networks x {r.batch} inputs, seed {r.seed}",
                  f"  slope of log E||dL/dy_l||^2 per layer = {r.slope.value:.6g} ± {r.slope.stderr:.2g}"
                  f" (typical: mean log, {r.slope_log.value:.6g} ± {r.slope_log.stderr:.2g})",
                  f"  q at the last layer {r.q[-1]:.6g}; dead units (phi' = 0 for the whole batch) "
                  f"{max(r.dead_unit_fraction):.4g} at most per layer; zero phi' {r.zero_dphi_fraction[-1]:.4g} "
                  "at the last layer"]
    if s.checks:
        twin = {c["statistic"]: c for c in s.analytic.get("independent_checks", [])}
        header = ["statistic", "analytic", "simulated", "stderr", "z", "agree"]
        if twin:
            header += ["indep. model", "z (indep.)"]
        rows = []
        for c in s.checks:
            row = [c.statistic + (" (<=)" if c.one_sided else ""), _sci(c.analytic, c.log_analytic),
                   _sci(c.simulated, c.log_simulated), _sci(c.stderr, c.log_stderr, 2), _zscore(c.z),
                   ("yes" if c.agree else "NO") + ("" if c.reliable else "?")]
            if twin:
                t = twin.get(c.statistic)
                row += [_sci(t["simulated"], t["log_abs_simulated"]), _zscore(t["z"])] if t else ["-", "-"]
            rows.append(row)
        lines += ["", table(rows, header)]
        lines += [f"  {c.statistic}: {c.note}" for c in s.checks if c.note]
        if any(not c.reliable for c in s.checks):
            lines.append("  ? = the standard error rests on few effective samples (heavy tails): not decisive")
    lines += [f"note: {n}" for n in s.notes]
    lines.append(f"verdict: {s.verdict}")
    return Output("\n".join(lines), s.as_dict())


def _configure_figures(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="figures", type=folder, metavar="DIR",
                   help="output folder, created if missing (default: figures)")
    p.add_argument("--format", default="png", choices=["png", "svg", "pdf"], help="file format (default: png)")
    p.add_argument("--only", nargs="+", metavar="NAME",
                   help="write only these figures (names or patterns such as 'activation_*'; default: all)")
    p.add_argument("--style", default="paper", choices=["paper", "slides"],
                   help="paper (default): 3.4 or 7 in wide, 8-9 pt text; slides: 6.5 or 13.3 in wide, 12-16 pt")


@command("figures", "write every figure into a folder (byte-reproducible PNG, SVG or PDF)", _configure_figures)
def _figures(args: argparse.Namespace) -> Output:
    from .output.figures import write_figures

    def progress(i: int, total: int, written) -> None:
        print(f"[{i}/{total}] {written.name}: {written.seconds:.1f} s", file=sys.stderr, flush=True)

    files = write_figures(args.out, args.format, args.only, progress=progress, style_name=args.style)
    return Output("\n".join(str(path) for path in files.paths), files.as_dict())


def _configure_report(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", default="report", type=folder, metavar="DIR",
                   help="output folder, created if missing (default: report)")
    p.add_argument("--act", nargs="+", default=None, metavar="NAME",
                   help="only these activations (catalogue names or formulas; default: the whole catalogue)")
    p.add_argument("--format", default="png", choices=("png", "pdf"),
                   help="figure format; pdf writes vector figures and, with pdflatex on the PATH, report.pdf")


@command("report", "write the derivation report (Markdown and LaTeX, with its figures) into a folder",
         _configure_report)
def _report(args: argparse.Namespace) -> Output:
    from .output.report import write_report

    def progress(step: str) -> None:
        print(step, file=sys.stderr, flush=True)

    report = write_report(args.out, activations=args.act, progress=progress, format=args.format)
    return Output("\n".join(str(path) for path in report.paths), report.as_dict())


def _configure_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", nargs="?", metavar="SPEC",
                   help="TOML sweep spec (keys: activations, sigma_w2, sigma_b2, depth, width, samples, batch, "
                        "networks, seed, weights); the options below override its keys")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDR",
                       help="run on the Dask cluster at tcp://host:port (default: a local cluster of --workers "
                            "processes on this machine)")
    where.add_argument("--serial", action="store_true", help="run the tasks one by one in this process, without Dask")
    p.add_argument("--workers", type=positive_int, default=2, metavar="N",
                   help="worker processes of the local cluster (default 2)")
    p.add_argument("--out", default="sweep-out", type=folder, metavar="DIR",
                   help="output folder: tasks/, results.csv, results.json, heatmaps (default: sweep-out)")
    p.add_argument("--format", default="png", choices=["png", "svg", "pdf"], help="heatmap file format")
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    for flag, key, meta in (("--act", "activations", "A,B"), ("--sigma-w2", "sigma_w2", "V,V|START:STOP:NUM"),
                            ("--sigma-b2", "sigma_b2", "V,V|START:STOP:NUM"), ("--depth", "depth", "L,L"),
                            ("--width", "width", "N,N"), ("--samples", "samples", "N"), ("--batch", "batch", "B"),
                            ("--networks", "networks", "K"), ("--seed", "seed", "S"),
                            ("--weights", "weights", "gaussian|orthogonal")):
        p.add_argument(flag, dest=f"spec_{key}", metavar=meta, help=f"sweep key {key}")


_SWEEP_KEYS = ("activations", "sigma_w2", "sigma_b2", "depth", "width", "samples", "batch", "networks", "seed",
               "weights")


@command("sweep", "sweep activation x sigma_w^2 x sigma_b^2 x depth x width (Dask; resumable), table and heatmap",
         _configure_sweep)
def _sweep(args: argparse.Namespace) -> Output:
    import time
    from pathlib import Path

    from .sweep import heatmap_file, load_spec, run_sweep

    overrides = {key: getattr(args, f"spec_{key}") for key in _SWEEP_KEYS}
    if args.spec is None and not any(overrides.values()):
        raise UsageError(f"{PROG} sweep: give a SPEC file or the sweep keys as options (--act, --sigma-w2, ...)")
    spec = load_spec(args.spec, overrides)
    started = time.perf_counter()
    tty = bool(getattr(sys.stderr, "isatty", lambda: False)())
    step = max(1, spec.n_tasks // 20)

    def progress(done: int, total: int) -> None:
        if args.quiet:
            return
        line = f"sweep: {done}/{total} tasks, {time.perf_counter() - started:.1f} s"
        if tty:
            print("\r" + line, end="\n" if done == total else "", file=sys.stderr, flush=True)
        elif done == total or done % step == 0:
            print(line, file=sys.stderr, flush=True)

    result = run_sweep(spec, args.out, scheduler=args.scheduler, serial=args.serial, n_workers=args.workers,
                       progress=progress)
    seconds = time.perf_counter() - started
    from .output.figures import save, style
    from .output.plotting import sweep_heatmap

    depth = max(spec.depth)
    heatmaps = []
    for act in spec.activations:
        for width in spec.width:
            with style():
                fig = sweep_heatmap(result, activation=act, depth=depth, width=width)
            heatmaps.append(save(fig, Path(args.out) / heatmap_file(spec, act, width, args.format)))
    data = {**result.as_dict(), "heatmaps": [str(p) for p in heatmaps], "seconds": seconds}
    executor = ("nothing left to compute" if result.computed == 0 else "serial" if args.serial
                else f"Dask at {args.scheduler}" if args.scheduler else f"local Dask cluster, {args.workers} workers")
    lines = [f"{len(result.rows)} tasks ({result.computed} computed, {result.reused} reused from "
             f"{Path(args.out) / 'tasks'}) in {seconds:.1f} s, {executor}"]
    shown = result.rows[:12]
    rows = [[r["activation"], f"{r['sigma_w2']:.4g}", f"{r['sigma_b2']:.4g}", str(r["depth"]),
             "chain" if r["width"] == 1 else str(r["width"]),
             "-" if not isinstance(r["log_grad"], float) else f"{r['log_grad']:.4g} ± {r['log_grad_stderr']:.2g}",
             number(r["log_chi1_depth"]) if not isinstance(r["log_chi1_depth"], float)
             else f"{r['log_chi1_depth']:.4g}"] for r in shown]
    lines += ["", table(rows, ["act", "sigma_w2", "sigma_b2", "L", "width", "log_grad (MC)", "L ln chi1"])]
    if len(result.rows) > len(shown):
        lines.append(f"... {len(result.rows) - len(shown)} more rows in {result.files[0]}")
    lines += [""] + [str(p) for p in (*result.files, *heatmaps)]
    return Output("\n".join(lines), data)


# ---------------------------------------------------------------- entry point

def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Why deep networks with some activations stop learning: "
                                            "derivatives, proven bounds, gradient products, simulations, figures.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def _join_negative_values(argv: list[str]) -> list[str]:
    """``--at -1,0.5`` → ``--at=-1,0.5``: argparse would take a value starting with '-' for an option."""
    out: list[str] = []
    for token in argv:
        if (out and out[-1].startswith("--") and "=" not in out[-1] and len(token) > 1 and token[0] == "-"
                and (token[1].isdigit() or token[1] == ".")):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


class Terminated(BaseException):
    """SIGTERM arrived: unwinds like Ctrl-C, so temporary files are removed and workers are stopped."""


@contextlib.contextmanager
def _signals_and_warnings():
    """While a command runs: SIGTERM raises :class:`Terminated` (main thread only), and NumPy/SciPy
    ``RuntimeWarning``s stay off stderr (a result they concern is refused or labelled by the library)."""
    import signal
    import threading
    import warnings

    def terminate(signum, frame):
        raise Terminated()

    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, terminate) if main_thread else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            yield
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 bad input, 130 interrupted, 143 terminated)."""
    from .errors import AnalyticError, one_line

    parser = build_parser()
    try:
        with _signals_and_warnings():
            args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
            if args.command is None:
                raise UsageError(f"{PROG}: a command is required ({', '.join(COMMANDS)}); try {PROG} --help")
            out = COMMANDS[args.command].run(args)
    except UsageError as exc:
        print(one_line(exc), file=sys.stderr)
        return 2
    except AnalyticError as exc:
        print(one_line(f"{PROG}: error: {exc}"), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"{PROG}: terminated", file=sys.stderr)
        return 143
    try:
        print(json.dumps(_jsonable(out.data), sort_keys=True, allow_nan=False) if args.json else out.text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
