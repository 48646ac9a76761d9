"""Bad input across every command: exit status 2, exactly one line on stderr, no traceback, nothing written.

The cases are a table keyed by command name; every name in the table must be a command of
``analytic.cli.COMMANDS`` and every command must have cases, so a renamed command fails here instead of
leaving its cases to argparse's "invalid choice". A case may name the words its refusal must contain, so that
a refusal for the wrong reason (an unknown option, say) does not count. Most cases call
``analytic.cli.main`` in-process; those marked ``real`` run ``python cli.py`` in a subprocess, as a user would,
and those marked ``heavy`` (sizes such as 10^15 samples, which must be refused or chunked, never allocated) run
only in a subprocess under a 3 GiB address-space limit and a timeout.
"""
from __future__ import annotations

import os
import resource
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from analytic import cli

from hang_guard import WALL_SECONDS, guard

ROOT = Path(__file__).resolve().parents[1]
#: Hang guard for one in-process case and timeout for one subprocess (not speed measurements).
GUARD_SECONDS = 60
MEMORY_LIMIT = 3 * 2**30


@dataclass(frozen=True)
class Case:
    argv: tuple[str | bytes, ...]
    codes: frozenset[int] = frozenset({2})
    real: bool = False   # run the real entry point in a subprocess
    heavy: bool = False  # only in a subprocess, under the memory limit
    says: str = ""       # words the refusal must contain (empty: any one-line refusal)

    def __str__(self) -> str:
        return " ".join(a.decode("utf-8", "backslashreplace") if isinstance(a, bytes) else a for a in self.argv)


def bad(*argv: str | bytes, real: bool = False, heavy: bool = False, says: str = "") -> Case:
    return Case(tuple(argv), frozenset({2}), real or heavy, heavy, says)


def either(*argv: str | bytes) -> Case:
    """Input that may be answered or refused, but never crash."""
    return Case(tuple(argv), frozenset({0, 2}))


def good(*argv: str | bytes) -> Case:
    """Input that must be answered (exit 0), through the real entry point."""
    return Case(tuple(argv), frozenset({0}), real=True)


#: Longest error line accepted (the command line cuts its messages at 300 characters).
MAX_LINE = 300

GRADIENT = ("gradient", "tanh", "--depth", "10", "--weights", "normal(0, 1)")
SIMULATE = ("simulate", "tanh", "--depth", "5", "--weights", "normal(0, 1)", "--samples", "100")


def _replace(base: tuple[str, ...], option: str, value: str) -> tuple[str, ...]:
    """``base`` with ``option``'s value replaced (or the option appended)."""
    argv = list(base)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    return tuple(argv)


def _bad_specs(base: tuple[str, ...], option: str) -> list[Case]:
    specs = ["normal(0, -1)", "normal(0, 0)", "uniform(1, 1)", "uniform(2, 1)", "normal(nan, 1)", "normal(inf, 1)",
             "cauchy(0, 1)", "normal(0)", "he(0)", "he(-3)", "he(2.5)", "glorot(1, 0)", "lognormal(0, -1)", "",
             "normal(0, 1", "__import__('os').system('true')", "normal(mu=0, sigma=1)"]
    return [bad(*_replace(base, option, spec)) for spec in specs]


#: command name (None: no particular command) → cases. {FILE} is an existing file, {UNDER_FILE} a path below it,
#: {UNWRITABLE} an existing folder that cannot be written into.
CASES: dict[str | None, list[Case]] = {
    None: [
        bad(real=True),
        bad("bogus", real=True),
        bad("--bogus"),
        bad("derive2", "relu"),
        bad("--json"),
        bad(b"\xff\xfe"),
    ],
    "list": [
        bad("list", "--bogus", real=True),
        bad("list", "extra"),
        bad("list", "--json", "extra"),
    ],
    "derive": [
        bad("derive", real=True),
        bad("derive", "", real=True),
        bad("derive", b"x\xff", real=True),
        bad("derive", "nosuch", real=True),
        bad("derive", "relu", "--param", "a=1", real=True),
        bad("derive", "prelu", "--param", "a=1", "--param", "a=2", real=True),
        bad("derive", "log(0)", real=True),
        bad("derive", "1if x else 2", real=True),  # Python warns (SyntaxWarning) before refusing
        bad("derive", "prelu", "--param", "a=nan", real=True),
        bad("derive", "   "),
        bad("derive", "\t"),
        bad("derive", "relu\nimport os"),
        bad("derive", "x" * 10**5),
        bad("derive", "nosuch", "--json"),
        bad("derive", "prelu", "--param", "a=inf"),
        bad("derive", "prelu", "--param", "a"),
        bad("derive", "prelu", "--param", "=1"),
        bad("derive", "prelu", "--param", "a=1=2"),
        bad("derive", "prelu", "--param", "a=x"),
        bad("derive", "prelu", "--param", b"\xff=1"),
        bad("derive", "elu", "--param", "alpha=-1"),
        bad("derive", "elu", "--param", "alpha=0"),
        bad("derive", "softplus", "--param", "beta=0"),
        bad("derive", "softmax", "--param", "c=-1"),
        bad("derive", "relu", "--at", "nan"),
        bad("derive", "relu", "--at", "1e400"),
        bad("derive", "relu", "--at", ","),
        bad("derive", "relu", "--at", "x"),
        bad("derive", "relu", "--at"),
        bad("derive", "relu", "--bogus"),
        bad("derive", "relu", "extra"),
        bad("derive", "x/a", "--param", "a=0"),
        bad("derive", "x", "--param", "x=1"),
        bad("derive", "x", "--param", "__class__=1"),
        bad("derive", "sqrt(-1)*x"),
        bad("derive", "exp(1e6)*x"),
        either("derive", "relu", "--at", "1e308,-1e308"),
        good("derive", "-log(1+exp(-x))"),
        good("derive", "-x", "--at", "-1,2"),
        bad("derive", "(x**64)**64", real=True),
        bad("derive", "((x**64)**64)**64"),
        bad("derive", "x*exp(690)*exp(690)"),
        bad("derive", "log(x)"),
        bad("derive", "1/x"),
        bad("derive", "Piecewise((x, sin(x) > 0), (0, True))"),
        bad("derive", "x**(1/3)"),
        bad("derive", "y" * 400),
        bad("derive", "relu", "--at", "\uff11"),
        either("derive", "x**x**x", "--at", "-1,0,1"),
    ],
    "bound": [
        bad("bound", real=True),
        bad("bound", "nosuch"),
        bad("bound", "", real=True),
        bad("bound", "log(0)"),
        bad("bound", b"\xff"),
        bad("bound", "relu", "--of", "phi3"),
        bad("bound", "relu", "--of"),
        bad("bound", "relu", "--param", "a=1"),
        bad("bound", "elu", "--param", "alpha=-1"),
        bad("bound", "relu", "--bogus"),
        good("bound", "-tanh(x)"),
        bad("bound", "tanh", "--timeout", "1e10", real=True),
        bad("bound", "tanh", "--timeout", "1e-7", real=True),  # below 1e-4 s
        bad("bound", "tanh", "--timeout", "0"),
        bad("bound", "tanh", "--timeout", "nan"),
        bad("bound", "log(x)"),
        bad("bound", "Piecewise((x, sin(x) > 0), (0, True))", real=True),
        bad("bound", "Piecewise((1/x, x > 1), (log(-x), True))"),
    ],
    "gradient": [
        bad("gradient", real=True),
        bad(*_replace(GRADIENT, "--depth", "0"), real=True),
        bad(*_replace(GRADIENT, "--depth", "-3")),
        bad(*_replace(GRADIENT, "--depth", "2.5")),
        bad(*_replace(GRADIENT, "--depth", "1e12")),
        bad(*_replace(GRADIENT, "--depth", "1000000000000")),
        bad(*_replace(GRADIENT, "--depth", "nan")),
        bad(*_replace(GRADIENT, "--depth", "ten")),
        bad(*_replace(GRADIENT, "--weights", "normal(0, -1)"), real=True),
        *_bad_specs(GRADIENT, "--weights"),
        bad(*_replace(GRADIENT, "--preact", "normal(0, -1)")),
        bad(*_replace(GRADIENT, "--preact", "cauchy(0, 1)")),
        bad(*_replace(GRADIENT, "--threshold", "0")),
        bad(*_replace(GRADIENT, "--threshold", "-1")),
        bad(*_replace(GRADIENT, "--threshold", "nan")),
        bad(*_replace(GRADIENT, "--threshold", "inf")),
        bad(*_replace(GRADIENT, "--x", "nan"), says="argument --x: 'nan' is not a finite number"),
        bad(*_replace(GRADIENT, "--x", "inf"), says="argument --x: 'inf' is not a finite number"),
        bad(*_replace(GRADIENT, "--bias", "normal(0, -1)")),
        bad("gradient", "nosuch", *GRADIENT[2:]),
        bad("gradient", "log(0)", *GRADIENT[2:]),
        bad(*GRADIENT, "--param", "a=1"),
        bad(*GRADIENT, "--bogus"),
        either(*_replace(GRADIENT, "--weights", "lognormal(1000, 10)")),
        good("gradient", "-tanh(x)", *GRADIENT[2:]),
        bad("gradient", "log(x)", *GRADIENT[2:], real=True),
        bad("gradient", "sqrt(x)", *GRADIENT[2:]),
        bad("gradient", "1/x", *GRADIENT[2:]),
        bad("gradient", "x*exp(690)*exp(690)", *GRADIENT[2:]),
        bad(*_replace(GRADIENT, "--depth", "\uff13"), real=True),
        bad(*_replace(GRADIENT, "--depth", "\u0663")),
        bad(*_replace(GRADIENT, "--depth", "1_0")),
        bad(*_replace(GRADIENT, "--threshold", "1e400")),
        either(*_replace(GRADIENT, "--weights", "normal(0, 1e-300)")),
    ],
    "simulate": [
        bad("simulate", real=True),
        bad(*_replace(SIMULATE, "--samples", "0"), real=True),
        bad(*_replace(SIMULATE, "--samples", "-1")),
        bad(*_replace(SIMULATE, "--samples", "2.5")),
        bad(*_replace(SIMULATE, "--samples", "nan")),
        bad(*_replace(SIMULATE, "--samples", "1e15"), heavy=True),
        bad(*_replace(SIMULATE, "--samples", "1000000000000000"), heavy=True),
        bad(*_replace(SIMULATE, "--width", "0")),
        bad(*_replace(SIMULATE, "--width", "-1")),
        bad(*_replace(SIMULATE, "--width", "1e12"), heavy=True),
        bad(*_replace(SIMULATE, "--depth", "0")),
        bad(*_replace(SIMULATE, "--depth", "-3")),
        bad(*_replace(SIMULATE, "--depth", "2.5")),
        bad(*_replace(SIMULATE, "--depth", "1e12"), heavy=True),
        bad(*_replace(SIMULATE, "--seed", "-1")),
        bad(*_replace(SIMULATE, "--seed", "2.5")),
        bad(*_replace(SIMULATE, "--seed", "abc")),
        bad(*_replace(SIMULATE, "--weights", "uniform(2, 1)"), real=True),
        *_bad_specs(SIMULATE, "--weights")[:6],
        bad("simulate", "nosuch", *SIMULATE[2:]),
        good("simulate", "-tanh(x)", *SIMULATE[2:]),
        bad("simulate", "log(x)", *SIMULATE[2:], real=True),
        bad("simulate", "Piecewise((1/x, x > 1), (log(-x), True))", *SIMULATE[2:]),
        bad(*_replace(SIMULATE, "--seed", "\u0663")),
        bad(*_replace(SIMULATE, "--x", "1e400"), says="argument --x: '1e400' is not a finite number"),
        bad(*SIMULATE, "--bogus"),
    ],
    "init": [
        bad("init", real=True),
        bad("init", "nosuch"),
        bad("init", "log(0)"),
        bad("init", "tanh", "--sigma-b2", "-1", real=True),
        bad("init", "tanh", "--sigma-b2", "nan"),
        bad("init", "tanh", "--sigma-b2", "inf"),
        bad("init", "tanh", "--sigma-b2", "abc"),
        bad("init", "elu", "--param", "alpha=0"),
        bad("init", "tanh", "--bogus"),
        good("init", "-tanh(x)"),
        bad("init", "log(x)"),
    ],
    "meanfield": [
        bad("meanfield", real=True),
        bad("meanfield", "tanh", "--sigma-w2", "2.5", real=True),
        bad("meanfield", "tanh", "--sigma-b2", "0.05"),
        bad("meanfield", "nosuch", "--sigma-w2", "1", "--sigma-b2", "0"),
        bad("meanfield", "log(0)", "--sigma-w2", "1", "--sigma-b2", "0"),
        bad("meanfield", "tanh", "--sigma-w2", "0", "--sigma-b2", "0", real=True),
        bad("meanfield", "tanh", "--sigma-w2", "-1", "--sigma-b2", "0"),
        bad("meanfield", "tanh", "--sigma-w2", "nan", "--sigma-b2", "0"),
        bad("meanfield", "tanh", "--sigma-w2", "inf", "--sigma-b2", "0"),
        bad("meanfield", "tanh", "--sigma-w2", "abc", "--sigma-b2", "0"),
        bad("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "-0.1"),
        bad("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", "--q0", "0"),
        bad("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", "--q0", "-1"),
        bad("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", "--q0", "inf"),
        bad("meanfield", "elu", "--sigma-w2", "1", "--sigma-b2", "0", "--param", "alpha=0"),
        bad("meanfield", "tanh", "--sigma-w2", "1", "--sigma-b2", "0", "--bogus"),
        either("meanfield", "tanh", "--sigma-w2", "1e300", "--sigma-b2", "0"),
        either("meanfield", "tanh", "--sigma-w2", "1e-300", "--sigma-b2", "1e300"),
    ],
    "window": [
        bad("window", real=True),
        bad("window", "sigmoid", real=True),
        bad("window", "sigmoid", "--w", "0", real=True),
        bad("window", "sigmoid", "--w", "5", "--widest"),
        bad("window", "sigmoid", "--w", "nan"),
        bad("window", "sigmoid", "--w", "inf"),
        bad("window", "sigmoid", "--w", "abc"),
        bad("window", "sigmoid", "--w", "5", "--b", "nan"),
        bad("window", "nosuch", "--w", "5"),
        bad("window", "log(0)", "--w", "5"),
        bad("window", "sigmoid", "--w", "5", "--bogus"),
        bad("window", "elu", "--w", "5", "--param", "alpha=-1"),
        either("window", "sigmoid", "--w", "1e300"),
        either("window", "sigmoid", "--w", "1e-300"),
    ],
    "figures": [
        bad("figures", "--out", "{FILE}", real=True),
        bad("figures", "--out", "{UNDER_FILE}"),
        bad("figures", "--out", "{UNWRITABLE}", real=True),
        bad("figures", "--out", ""),
        bad("figures", "--format", "gif"),
        bad("figures", "--format", "PNG;rm"),
        bad("figures", "--only", "no_such_figure"),
        bad("figures", "--bogus"),
        bad("figures", "--out", "{WORK}/" + "n" * 300, real=True),
        bad("figures", "--out", "{FILE}/x", "--only", "activation_relu"),
    ],
    "sweep": [
        bad("sweep", real=True),
        bad("sweep", "{FILE}"),
        bad("sweep", "{WORK}/no-such-spec.toml"),
        bad("sweep", "--serial", "--act", "nosuch", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--depth", "0", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--sigma-w2", "-1", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--sigma-w2", "nan", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--width", "0", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--samples", "1e15", "--out", "{WORK}/out", heavy=True),
        bad("sweep", "--serial", "--act", "tanh", "--out", "{FILE}"),
        bad("sweep", "--serial", "--act", "tanh", "--out", ""),
        bad("sweep", "--workers", "0", "--act", "tanh"),
        bad("sweep", "--serial", "--scheduler", "tcp://127.0.0.1:1", "--act", "tanh"),
        bad("sweep", "/dev/zero", "--out", "{WORK}/out", real=True),
        bad("sweep", "{FIFO}", "--out", "{WORK}/out", real=True),
        bad("sweep", "{WORK}", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--sigma-w2", "1e308", "--out", "{WORK}/out", real=True),
        bad("sweep", "--serial", "--act", "tanh", "--sigma-w2", "1e400", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--sigma-w2", "inf:1:3", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--sigma-w2", "1:2:1e400", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "tanh", "--depth", "\u0663", "--out", "{WORK}/out"),
        bad("sweep", "--serial", "--act", "log(x)", "--sigma-w2", "1", "--out", "{WORK}/out"),
        bad("sweep", "--scheduler", "ucx://127.0.0.1:1", "--act", "tanh", "--sigma-w2", "1",
            "--out", "{WORK}/out", real=True),
        bad("sweep", "--scheduler", "tls://127.0.0.1:1", "--act", "tanh", "--sigma-w2", "1",
            "--out", "{WORK}/out"),
        bad("sweep", "--scheduler", "tcp://127.0.0.1:1", "--act", "tanh", "--sigma-w2", "1",
            "--out", "{WORK}/out", real=True),
    ],
    "explore": [
        bad("explore", "--out", "{FILE}", real=True),
        bad("explore", "--out", "{UNDER_FILE}"),
        bad("explore", "--out", "{UNWRITABLE}"),
        bad("explore", "--out", ""),
        bad("explore", "--bogus"),
        bad("explore", "--out", "{WORK}/" + "n" * 300, real=True),
    ],
    "report": [
        bad("report", "--out", "{FILE}"),
        bad("report", "--out", "{UNDER_FILE}", real=True),
        bad("report", "--out", "{UNWRITABLE}"),
        bad("report", "--out", ""),
        bad("report", "--bogus"),
        bad("report", "--out", "{WORK}/" + "n" * 300, real=True),
    ],
    "spectrum": [
        bad("spectrum", real=True),
        bad("spectrum", "relu", "--depth", "4", real=True),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--weights", "uniform", real=True),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "-1"),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "nan"),
        bad("spectrum", "relu", "--depth", "0", "--sigma-w2", "2"),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--width", "8,8"),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--width", "0"),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--width", ","),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--width", "1"),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--width", "100000", heavy=True),
        bad("spectrum", "elu", "--depth", "4", "--sigma-w2", "4"),  # q* = inf
        bad("spectrum", "nosuch", "--depth", "4", "--sigma-w2", "2"),
        bad("spectrum", "relu", "--depth", "4", "--sigma-w2", "2", "--bogus"),
    ],
}
CASES["simulate"] += [
        bad(*_replace(SIMULATE, "--weights", "orthogonal(1)"), real=True),
        bad(*_replace(GRADIENT, "--weights", "orthogonal(1)")),
        bad(*_replace(SIMULATE, "--weights", "orthogonal(0)")),
        bad("simulate", "tanh", "--depth", "3", "--width", "8", "--weights", "normal(0, 1)", "--bias",
            "orthogonal(1)"),
]


#: Numbers that leave the float range, and sizes over the memory cap (analytic.limits): refused with one line, or,
#: where the answer exists, answered.
FLOAT_RANGE = "leave"
CASES["spectrum"] += [
        bad("spectrum", "tanh", "--depth", "3", "--sigma-w2", "1", "--seed", "-1", real=True, says="seed"),
        bad("spectrum", "tanh", "--depth", "3", "--sigma-w2", "1", "--seed", "1.5", says="integer"),
        bad("spectrum", "tanh", "--depth", "3", "--sigma-w2", "1", "--width", "8", "--seed", "-7", says="seed"),
        bad("spectrum", "tanh", "--depth", "3", "--sigma-w2", "1e-300", real=True, says=FLOAT_RANGE),
        bad("spectrum", "cosh(x)**64", "--depth", "3", "--sigma-w2", "1", real=True, says=FLOAT_RANGE),
        good("spectrum", "relu", "--depth", "1000", "--sigma-w2", "2", "--width", "2"),
]
CASES["gradient"] += [
        bad("gradient", "cosh(x)**64", "--depth", "3", "--weights", "normal(0,1)", real=True, says=FLOAT_RANGE),
        bad("gradient", "cosh(x)**64", "--depth", "3", "--weights", "normal(0,1)", "--bias", "normal(0,1)",
            says=FLOAT_RANGE),
        good("gradient", "celu", "--param", "alpha=1e-300", "--depth", "3", "--weights", "normal(0,1)"),
]
CASES["meanfield"] += [
        bad("meanfield", "cosh(x)**64", "--sigma-w2", "1", "--sigma-b2", "0", real=True, says=FLOAT_RANGE),
        bad("meanfield", "cosh(x)**64", "--sigma-w2", "0.5", "--sigma-b2", "0.1", says=FLOAT_RANGE),
        good("meanfield", "celu", "--param", "alpha=1e-300", "--sigma-w2", "1", "--sigma-b2", "0"),
]
CASES["init"] += [
        bad("init", "cosh(x)**64", real=True, says=FLOAT_RANGE),
        bad("init", "cosh(x)**64", "--sigma-b2", "1", says=FLOAT_RANGE),
        good("init", "x**63"),
]
CASES["simulate"] += [
        good("simulate", "cosh(x)**64", "--depth", "3", "--weights", "normal(0,1)", "--samples", "1000"),
        good("simulate", "celu", "--param", "alpha=1e-300", "--depth", "3", "--weights", "normal(0,1)", "--samples",
             "1000"),
        bad("simulate", "relu", "--depth", "3", "--weights", "he(4)", "--width", "100000", "--batch", "1",
            "--networks", "2", heavy=True, says="GiB"),
        bad("simulate", "relu", "--depth", "3", "--weights", "he(4)", "--width", "17000", "--batch", "1",
            "--networks", "2", heavy=True, says="GiB"),
]


def collected(real: bool) -> list[Case]:
    """Every case of the table that runs in process (``real`` false) or in a subprocess (``real`` true)."""
    return [case for cases in CASES.values() for case in cases if case.real == real]


IN_PROCESS, SUBPROCESS = collected(False), collected(True)


@pytest.fixture
def places(tmp_path):
    """The placeholder paths, and a check afterwards that nothing was written into them."""
    file = tmp_path / "existing-file"
    file.write_text("keep\n")
    if os.geteuid() == 0:  # root writes through permission bits; /proc/self exists and takes no new files
        unwritable = Path("/proc/self")
    else:
        unwritable = tmp_path / "read-only"
        unwritable.mkdir()
        unwritable.chmod(0o500)
    work = tmp_path / "work"
    work.mkdir()
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    places = {"{FILE}": str(file), "{UNDER_FILE}": str(file / "sub"), "{UNWRITABLE}": str(unwritable),
              "{WORK}": str(work), "{FIFO}": str(fifo)}
    yield places
    assert file.read_text() == "keep\n", "an output overwrote a file"
    expected = {"existing-file", "work", "fifo"} | ({unwritable.name} if unwritable.parent == tmp_path else set())
    assert {p.name for p in tmp_path.iterdir()} == expected, "bad input left files behind"
    assert not any(work.iterdir()), f"bad input left files behind: {list(work.iterdir())}"
    if unwritable.parent == tmp_path:
        assert not any(unwritable.iterdir())
        unwritable.chmod(0o700)


def _argv(case: Case, places: dict[str, str]) -> list[str | bytes]:
    out = []
    for arg in case.argv:
        if isinstance(arg, str):
            for key, value in places.items():
                arg = arg.replace(key, value)
        out.append(arg)
    return out


def check(case: Case, code: int, stdout: str, stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert code in case.codes, (code, stdout, stderr)
    if code == 2:
        lines = stderr.splitlines()
        assert len(lines) == 1 and lines[0].strip(), f"expected one line on stderr, got {stderr!r}"
        assert len(lines[0]) <= MAX_LINE, lines[0]
        assert case.says in lines[0], f"expected a refusal saying {case.says!r}, got {lines[0]!r}"
        assert stdout == "", stdout
    else:
        assert stdout.strip()


@pytest.mark.parametrize("case", IN_PROCESS, ids=str)
def test_bad_input_in_process(case, places, capsys, monkeypatch):
    monkeypatch.chdir(places["{WORK}"])  # a default output folder would land here and be caught
    argv = [os.fsdecode(a) for a in _argv(case, places)]  # bytes → str as Python decodes sys.argv
    with guard(GUARD_SECONDS):
        code = cli.main(argv)
    out, err = capsys.readouterr()
    check(case, code, out, err)


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


@pytest.mark.parametrize("case", SUBPROCESS, ids=str)
def test_bad_input_through_the_real_entry_point(case, places):
    argv = [sys.executable, str(ROOT / "cli.py"), *_argv(case, places)]
    result = subprocess.run(argv, cwd=places["{WORK}"], capture_output=True, timeout=WALL_SECONDS,
                            preexec_fn=_limit_memory)
    check(case, result.returncode, result.stdout.decode("utf-8", "replace"),
          result.stderr.decode("utf-8", "replace"))


def test_the_table_reaches_every_command_and_enough_real_runs():
    assert set(cli.COMMANDS) <= set(CASES), f"commands without bad-input cases: {set(cli.COMMANDS) - set(CASES)}"
    named = set(CASES) - {None}
    assert named <= set(cli.COMMANDS), f"cases for commands that do not exist: {named - set(cli.COMMANDS)}"
    assert len(SUBPROCESS) >= 15
    assert len(IN_PROCESS) + len(SUBPROCESS) >= 60


def test_help_exits_zero_and_is_not_an_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out, err = capsys.readouterr()
    assert "COMMAND" in out and err == ""
