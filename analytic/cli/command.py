"""What a sub-command is: its name, help, options and ``run(args) -> Output``, registered in :data:`COMMANDS`
in the order ``--help`` lists them."""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Callable

PROG = "analytic"


class UsageError(Exception):
    """Bad command-line usage (reported on one line, exit status 2)."""


@dataclass(frozen=True)
class Output:
    """What a command produces: a text rendering, the JSON object, and the exit status (1: the command finished
    but some of its parts failed; they are named on stderr)."""

    text: str
    data: dict
    status: int = 0


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
