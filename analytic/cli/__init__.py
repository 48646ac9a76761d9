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

__all__ = ["COMMANDS", "EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_OUTPUT", "EXIT_TERMINATED", "EXIT_USAGE",
           "PROG", "Terminated", "UsageError", "build_parser", "main", "say"]


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


#: Exit statuses: 0 done, 2 bad input, 1 an error of the program itself (one line, as Python's own status for an
#: uncaught exception), 120 the output could not be written (stdout closed or full: Python's status when it
#: cannot flush stdout at exit), 130 interrupted (SIGINT), 143 terminated (SIGTERM).
EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_OUTPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 120, 130, 143


def say(line: str) -> None:
    """``line`` on stderr, if there is a stderr to write to (it may be closed, or a pipe nobody reads)."""
    with contextlib.suppress(Exception):
        if sys.stderr is not None:
            print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (see :data:`EXIT_OK` and the others; 1 also when a command
    finished but some of its parts failed): whatever happens, at most one line on stderr, never a traceback."""
    try:
        return _main(argv)
    except KeyboardInterrupt:
        say(f"{PROG}: interrupted")
        return EXIT_INTERRUPTED
    except Terminated:
        say(f"{PROG}: terminated")
        return EXIT_TERMINATED


def _main(argv: list[str] | None) -> int:
    from ..errors import AnalyticError, one_line

    try:
        with _signals_and_warnings():
            parser = build_parser()
            args = parser.parse_args(_join_negative_values(list(sys.argv[1:] if argv is None else argv)))
            if args.command is None:
                raise UsageError(f"{PROG}: a command is required ({', '.join(COMMANDS)}); try {PROG} --help")
            out = COMMANDS[args.command].run(args)
            from ..core.files import json_safe

            text = json.dumps(json_safe(out.data), sort_keys=True, allow_nan=False) if args.json else out.text
    except UsageError as exc:
        say(one_line(exc))
        return EXIT_USAGE
    except AnalyticError as exc:
        say(one_line(f"{PROG}: error: {exc}"))
        return EXIT_USAGE
    except MemoryError:
        say(f"{PROG}: error: out of memory")
        return EXIT_INTERNAL
    except RecursionError:
        say(f"{PROG}: internal error: recursion too deep")
        return EXIT_INTERNAL
    except Exception as exc:  # noqa: BLE001 - a defect of the program: one line, not a traceback
        say(one_line(f"{PROG}: internal error: {type(exc).__name__}: {exc}"))
        return EXIT_INTERNAL
    written = _write(text)
    return written if written != EXIT_OK else out.status


def _write(text: str) -> int:
    """Print ``text`` on stdout. Characters the stream's encoding lacks are written as backslash escapes
    (``\\u03c3``); a reader that closed the pipe early (``| head``) is not an error; a closed or full stdout is
    (one line, :data:`EXIT_OUTPUT`)."""
    stream = sys.stdout
    if stream is None:  # started with stdout closed
        say(f"{PROG}: cannot write the output: stdout is closed")
        return EXIT_OUTPUT
    with contextlib.suppress(AttributeError, ValueError, OSError):
        stream.reconfigure(errors="backslashreplace")
    try:
        print(text, file=stream)
        stream.flush()
    except BrokenPipeError:  # e.g. piped into `head`: not an error of ours
        _discard_stdout()
    except (OSError, ValueError) as exc:
        _discard_stdout()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        say(f"{PROG}: cannot write the output: {reason}")
        return EXIT_OUTPUT
    return EXIT_OK


def _discard_stdout() -> None:
    """Point stdout's file descriptor at the null device, so the flush at exit neither fails nor complains."""
    with contextlib.suppress(Exception):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
