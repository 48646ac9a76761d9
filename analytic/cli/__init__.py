"""The command line: parse arguments, call one :mod:`analytic` function, print. No mathematics here.

Every command takes ``--json`` and then prints one JSON object (``sort_keys=True``) on stdout. Bad input prints
one line on stderr and exits with status 2; a command that writes many parts (``figures``, ``report``) and finished
with some of them failed exits with status 1 after one summary line on stderr. Heavy libraries are imported inside the commands, so ``--help`` is
fast.

The sub-commands live in modules by topic (:mod:`~analytic.cli.catalogue`, :mod:`~analytic.cli.theory`,
:mod:`~analytic.cli.simulation`, :mod:`~analytic.cli.documents`, :mod:`~analytic.cli.sweep`) and register
themselves in :data:`~analytic.cli.command.COMMANDS`; argument types are in :mod:`~analytic.cli.options`, text
rendering in :mod:`~analytic.cli.text`.

Usage: ``python cli.py derive sigmoid`` or, once installed, ``analytic derive sigmoid``.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys

from .command import COMMANDS, PROG, UsageError
# the order of these imports is the order of the commands in --help
from . import catalogue, theory, simulation, documents, sweep  # noqa: F401  (they register their commands)

__all__ = ["COMMANDS", "PROG", "Terminated", "UsageError", "build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + error
        raise UsageError(f"{self.prog}: {message}")

    def _parse_optional(self, arg_string: str):
        # Every option but -h is long, so a word that starts with one '-' is a value: a formula such as
        # "-log(1+exp(-x))" or "-tanh(x)", or a negative number.
        if arg_string.startswith("-") and not arg_string.startswith("--") and arg_string not in ("-h", "-"):
            return None
        return super()._parse_optional(arg_string)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Why deep networks with some activations stop learning: "
                                            "derivatives, proven bounds, gradient products, simulations, figures.")
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for cmd in COMMANDS.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.configure(p)
        p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    return parser


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
    """Run the command line; returns the exit status (0 ok, 1 finished with failed parts, 2 bad input,
    130 interrupted, 143 terminated)."""
    from ..core.files import json_safe
    from ..errors import AnalyticError, one_line

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
        print(json.dumps(json_safe(out.data), sort_keys=True, allow_nan=False) if args.json else out.text)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return out.status
