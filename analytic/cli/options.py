"""Argument types and shared options: values are parsed here (ASCII digits, finite numbers), their ranges are
the library's to check."""
from __future__ import annotations

import argparse
import math

from .command import PROG, UsageError


def _number(text: str, integer: bool) -> int | float:
    from ..errors import AnalyticError, number_from_text

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


def name_list(text: str) -> list[str]:
    """argparse type: comma-separated names, e.g. ``sigmoid,tanh,relu`` (which names exist is the library's to
    check)."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"{text!r} holds no names")
    return names


def act_key_value(text: str) -> tuple[str, str, float]:
    """argparse type: ``ACT:name=value``, a parameter of one activation, e.g. ``leaky_relu:negative_slope=0.1``."""
    act, sep, rest = text.partition(":")
    if not sep or not act.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not of the form ACT:name=value")
    name, value = key_value(rest)
    return act.strip(), name, value


def act_params_of(args: argparse.Namespace) -> dict[str, dict[str, float]]:
    """The ``--param ACT:k=v`` values as ``{act: {k: v}}``; a parameter given twice is a usage error."""
    params: dict[str, dict[str, float]] = {}
    for act, name, value in getattr(args, "param", None) or []:
        if name in params.setdefault(act, {}):
            raise UsageError(f"{PROG}: --param {act}:{name} given twice")
        params[act][name] = value
    return params


def width_list(text: str) -> list[int]:
    """argparse type: one width ``400`` or comma-separated widths ``64,32,16`` (n_0, ..., n_L)."""
    return [positive_int(part.strip()) for part in text.split(",") if part.strip()] or _empty(text)


def params_of(args: argparse.Namespace) -> dict[str, float]:
    """The ``--param`` values as a mapping; a name given twice is a usage error."""
    params: dict[str, float] = {}
    for name, value in getattr(args, "param", None) or []:
        if name in params:
            raise UsageError(f"{PROG}: --param {name} given twice")
        params[name] = value
    return params


def add_activation(p: argparse.ArgumentParser, example: bool = False) -> None:
    """The positional ``ACT``: a catalogue name or a formula (with an example formula in the help if asked)."""
    more = " such as 'x*tanh(log(1+exp(x)))'" if example else ""
    p.add_argument("act", metavar="ACT", help=f"catalogue name, or a formula in x{more}")


def add_params(p: argparse.ArgumentParser) -> None:
    """``--param K=V`` (repeatable): a parameter of the activation; read back with :func:`params_of`."""
    p.add_argument("--param", action="append", type=key_value, metavar="K=V", help="parameter value (repeatable)")


def add_tied(p: argparse.ArgumentParser) -> None:
    """``--tied`` (the recurrent chain: one weight per sequence) and ``--inputs SPEC`` (its i.i.d. inputs); read
    back with :func:`architecture_of`."""
    p.add_argument("--tied", action="store_true",
                   help="recurrent chain h_t = phi(w h_(t-1) + x_t): one weight w per sequence, drawn from --weights")
    p.add_argument("--inputs", metavar="SPEC", help="law of the i.i.d. inputs x_t of the recurrent chain (needs --tied; "
                                                    "default: no inputs)")


def add_residual(p: argparse.ArgumentParser) -> None:
    """``--residual ALPHA`` and ``--branch post|pre``: a residual chain; read back with :func:`architecture_of`."""
    p.add_argument("--residual", metavar="ALPHA",
                   help="residual chain with branch scale ALPHA: a number, '1/sqrt(r)' or '1/r' (default: plain chain)")
    p.add_argument("--branch", choices=("post", "pre"), default=None,
                   help="with --residual: post-activation branch y + alpha phi(w y + b) (default) or pre-activation "
                        "y + alpha (w phi(y) + b)")


def architecture_of(args: argparse.Namespace):
    """The architecture record of ``--residual``/``--branch`` or ``--tied``/``--inputs`` (None without them: the
    plain chain); ``--branch`` without ``--residual``, ``--inputs`` without ``--tied`` and the two architectures
    together are usage errors."""
    alpha, branch = getattr(args, "residual", None), getattr(args, "branch", None)
    tied, inputs = getattr(args, "tied", False), getattr(args, "inputs", None)
    if inputs is not None and not tied:
        raise UsageError(f"{PROG}: --inputs needs --tied (the inputs of the recurrent chain)")
    if alpha is None and branch is not None:
        raise UsageError(f"{PROG}: --branch needs --residual ALPHA")
    if alpha is not None and tied:
        raise UsageError(f"{PROG}: --residual and --tied together (a residual recurrent chain) are not modelled; "
                         "give one of them")
    if tied:
        from ..architecture import recurrent

        return recurrent(inputs)
    if alpha is None:
        return None
    from ..architecture import residual

    return residual(alpha, branch or "post")
