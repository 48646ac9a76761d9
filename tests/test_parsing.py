"""The formula parser against hostile input: every payload refused, nothing executed, the limits hold.

The corpus lives in ``tests/data/hostile_formulas.txt`` (format described at its top). A canary proves that no
payload ran: payloads would create a file, set or read an environment variable, or print a marker; after the
run the file does not exist, the variable is unset and the marker is absent from everything written to the
file descriptors 1 and 2. Valid formulas are checked against independent NumPy expressions.
"""
from __future__ import annotations

import base64
import math
import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import numpy as np
import pytest
import scipy.special
import sympy as sp

from analytic.core import parsing
from analytic.errors import AnalyticError, FormulaError
from analytic.core.parsing import parse_formula, parse_spec, user_activation
from analytic.core.registry import X, BoundActivation

from hang_guard import WALL_SECONDS, guard

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).with_name("data") / "hostile_formulas.txt"
#: Hard stop for one refusal: a hang guard, not a speed measurement.
GUARD_SECONDS = 10

RUN = uuid.uuid4().hex[:12]
CANARY = f"/tmp/analytic-canary-{RUN}"
ENV = f"ANALYTIC_CANARY_{RUN.upper()}"
M1, M2 = f"MARKER{RUN[:6]}", f"RAN{RUN[6:]}"
MARKER = M1 + M2


def corpus() -> list[str]:
    """The payloads, decoded and with the canary placeholders filled in."""
    payloads = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("b64:"):
            line = base64.b64decode(line[4:]).decode("utf-8", "surrogateescape")
        payloads.append(line.replace("{CANARY}", CANARY).replace("{ENV}", ENV).replace("{M1}", M1)
                        .replace("{M2}", M2))
    return payloads


PAYLOADS = corpus()


def generated() -> dict[str, str]:
    """Payloads too large for the corpus file."""
    return {
        "nested parentheses 1e5": "(" * 10**5 + "x" + ")" * 10**5,
        "nested calls 1e5": "exp(" * 10**5 + "x" + ")" * 10**5,
        "unary minus 1e5": "-" * 10**5 + "x",
        "sum of 1e5 terms": "+".join(["x"] * 10**5),
        "long literal": "1" * 10**5,
        "1e6 characters": "x" + " " * 10**6,
        "501 characters": " " * 500 + "x",
        "long canary": f"__import__('os').system('touch {CANARY}')" + " " * 10**4,
        "61 brackets": "(" * 61 + "x" + ")" * 61,
        "61 levels of operators": "-" * 61 + "x",
    }


def assert_refused(text: str, parse=parse_formula, error=FormulaError) -> str:
    with guard(GUARD_SECONDS):
        with pytest.raises(error) as info:
            parse(text)
    message = str(info.value)
    assert message and "\n" not in message and "\r" not in message, repr(message)
    return message


@pytest.fixture
def canary(monkeypatch):
    """Arms the canary; afterwards checks that the file, the variable and the marker never appeared."""
    monkeypatch.delenv(ENV, raising=False)
    monkeypatch.setenv(ENV + "_READ", MARKER)  # a payload reading it would print the marker
    Path(CANARY).unlink(missing_ok=True)
    environ = _environment()
    yield
    assert not Path(CANARY).exists(), "a payload created the canary file"
    assert ENV not in os.environ and os.getenv(ENV) is None, "a payload set the canary variable"
    assert _environment() == environ, "a payload changed the environment"


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}


def test_corpus_is_large_and_covers_the_categories():
    assert len(PAYLOADS) >= 60
    text = "\n".join(PAYLOADS)
    for needle in ("__", "lambda", "exec", "eval", "import", " for ", "f'", ":=", "[0]", "*[", "=1", "\uff58",
                   "\u0445", "\U0001d465", "1e400", "10**10**10", "Piecewise", "open(", "getattr", "sympify",
                   "Symbol", "Function", "Integral", "\x00", "\udcff", "\n", CANARY, ENV, M1):
        assert needle in text, needle
    assert "" in PAYLOADS and "   " in PAYLOADS


def test_every_hostile_formula_is_refused_and_nothing_runs(canary, capfd):
    payloads = PAYLOADS + [p.replace(ENV, ENV + "_READ") for p in PAYLOADS if ENV in p]
    payloads += list(generated().values())
    refused = 0
    from analytic.core.calculus import resolve

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning would be a second line on the CLI's stderr
        for text in payloads:
            assert_refused(text)
            refused += 1
            with guard(GUARD_SECONDS), pytest.raises(AnalyticError):  # the same text as a catalogue name or a formula
                resolve(text)
    out, err = capfd.readouterr()
    assert MARKER not in out and MARKER not in err
    assert refused == len(payloads)


def test_hostile_text_as_a_distribution_spec_is_refused(canary, capfd):
    from analytic.distributions import distribution

    for text in PAYLOADS + list(generated().values()):
        assert_refused(text, parse=distribution, error=AnalyticError)
    out, err = capfd.readouterr()
    assert MARKER not in out + err


def test_hostile_parameter_values_are_refused_not_sympified(canary, capfd):
    payload = f"__import__('os').system('touch {CANARY}')"
    for value in (payload, b"1", None, [1.0], float("nan"), float("inf"), True, 1 + 2j):
        assert_refused("a*x", parse=lambda t: user_activation(t, {"a": value}))
    for name in ("__class__", "x", "exp", "pi", "1a", "a b", "", 3):
        assert_refused("x", parse=lambda t: parse_formula(t, {name: 1.0}))
    assert not Path(CANARY).exists()
    assert MARKER not in "".join(capfd.readouterr())


def test_a_parameter_value_that_makes_the_formula_undefined_is_refused():
    assert "a = 0" in assert_refused("x/a", parse=lambda t: user_activation(t, {"a": 0.0}))
    assert_refused("log(a)*x", parse=lambda t: user_activation(t, {"a": -1.0}))
    assert BoundActivation.of(user_activation("x/a", {"a": 2.0})).expr == X / 2


def _sample() -> list[str]:
    """One payload of each kind for the (slower) subprocess runs; argv cannot carry NUL, so none with NUL."""
    kinds = [lambda p: CANARY in p, lambda p: p.startswith("exec("), lambda p: ENV in p and "print" in p,
             lambda p: M1 in p, lambda p: p == "", lambda p: p == "   ", lambda p: "\udcff" in p,
             lambda p: "\n" in p, lambda p: "\uff58" in p, lambda p: p == "x**10**10**10",
             lambda p: p.startswith("Piecewise((x, x > 0))"), lambda p: p == "x.__class__"]
    return [next(p for p in PAYLOADS if kind(p) and "\x00" not in p) for kind in kinds]


SAMPLE = _sample()


@pytest.mark.parametrize("text", SAMPLE, ids=[f"payload{i}" for i in range(len(SAMPLE))])
def test_hostile_formulas_through_the_real_cli(text):
    """A sample of the corpus through ``python cli.py derive PAYLOAD``: exit 2, one stderr line, no traceback."""
    env = {**os.environ, ENV + "_READ": MARKER}
    env.pop(ENV, None)
    Path(CANARY).unlink(missing_ok=True)
    argv = [sys.executable, "cli.py", "derive", os.fsencode(text)]
    result = subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=WALL_SECONDS, env=env)
    stdout, stderr = result.stdout.decode("utf-8", "replace"), result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, (text, stdout, stderr)
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), (text, stderr)
    assert "Traceback" not in stderr and stdout == ""
    assert MARKER not in stdout + stderr
    assert not Path(CANARY).exists()


# ---------------------------------------------------------------- limits, each just inside and just outside

def test_length_limit():
    parse_formula(" " * (parsing.MAX_LENGTH - 1) + "x")
    assert f"{parsing.MAX_LENGTH + 1} characters" in assert_refused(" " * parsing.MAX_LENGTH + "x")


def test_depth_limits():
    n = parsing.MAX_DEPTH
    assert parse_formula("(" * n + "x" + ")" * n) == X
    assert f"{n + 1} deep" in assert_refused("(" * (n + 1) + "x" + ")" * (n + 1))
    for k in (n - 2, n - 1):  # k minus signs give (-1)^k x; both parities
        assert parse_formula("-" * k + "x") == (-1) ** k * X, k
    assert_refused("-" * (n + 1) + "x")


def test_deep_input_beyond_the_length_limit_is_refused_by_the_depth_checks(monkeypatch):
    """With the length limit lifted, the other guards still refuse 1e5-deep input without a crash."""
    monkeypatch.setattr(parsing, "MAX_LENGTH", 10**7)
    for text in generated().values():
        if "canary" not in text and text.strip() != "x":
            assert_refused(text)
    for text in ("x" + ".a" * 10**5, "x" + "[0]" * 10**5, "not " * 10**5 + "x", "x**" * 10**5 + "x"):
        assert_refused(text)


def test_literal_exponent_and_constant_limits():
    assert parse_formula(f"{parsing.MAX_LITERAL:g}*x") == int(parsing.MAX_LITERAL) * X
    assert_refused(f"{int(parsing.MAX_LITERAL) + 1}*x")
    assert parse_formula(f"x**{parsing.MAX_EXPONENT}") == X**parsing.MAX_EXPONENT
    assert parse_formula(f"x**-{parsing.MAX_EXPONENT}") == X**-parsing.MAX_EXPONENT
    assert_refused(f"x**{parsing.MAX_EXPONENT + 1}")
    # exp(690) < 1e300 < exp(691): the largest constant is MAX_CONSTANT.
    assert math.exp(690) < parsing.MAX_CONSTANT < math.exp(691)
    assert parse_formula("exp(690)*x") == sp.exp(690) * X
    assert "outside" in assert_refused("exp(691)*x")


def test_parse_time_limit(monkeypatch):
    """Abs/Max folding grows like 2^n; the parser gives up after PARSE_SECONDS with a FormulaError."""
    monkeypatch.setattr(parsing, "PARSE_SECONDS", 0.3)
    text = "*".join(f"Abs(x-{i})" for i in range(1, 15))
    assert "too complex" in assert_refused(text)


def test_errors_name_the_position():
    assert "position 4" in assert_refused("x + y")
    assert "'open'" in assert_refused("open('f')")


# ---------------------------------------------------------------- valid formulas round-trip

VALID = [  # (text, params, independent NumPy expression)
    ("x*tanh(log(1+exp(x)))", {}, lambda x: x * np.tanh(np.log1p(np.exp(x)))),
    ("x/(1+exp(-x))", {}, lambda x: x / (1 + np.exp(-x))),
    ("Max(x, 0)", {}, lambda x: np.maximum(x, 0)),
    ("Min(Max(x, -1), 1)", {}, lambda x: np.clip(x, -1, 1)),
    ("Abs(x)**1.5", {}, lambda x: np.abs(x) ** 1.5),
    ("abs(x - 0.25)", {}, lambda x: np.abs(x - 0.25)),
    ("Piecewise((x, x > 0), (0.01*x, True))", {}, lambda x: np.where(x > 0, x, 0.01 * x)),
    ("Piecewise((x, x >= 1), (x**2, x > -1), (-1, True))", {},
     lambda x: np.where(x >= 1, x, np.where(x > -1, x**2, -1))),
    ("x^2 \u2212 3\u00b7x", {}, lambda x: x**2 - 3 * x),
    ("0.5*x*(1 + erf(x/sqrt(2)))", {}, lambda x: 0.5 * x * (1 + scipy.special.erf(x / np.sqrt(2)))),
    ("sqrt(1 + x**2) - 1", {}, lambda x: np.sqrt(1 + x**2) - 1),
    ("log(cosh(x))", {}, lambda x: np.log(np.cosh(x))),
    ("exp(-x**2/2)*sin(3*x) + atan(x)*cos(x)", {},
     lambda x: np.exp(-x**2 / 2) * np.sin(3 * x) + np.arctan(x) * np.cos(x)),
    ("sigmoid(2*x)*softplus(x)", {}, lambda x: scipy.special.expit(2 * x) * np.log1p(np.exp(x))),
    ("x*E**(-pi*x**2)", {}, lambda x: x * np.exp(-np.pi * x**2)),
    ("2**-3*x + sinh(x)/7", {}, lambda x: 0.125 * x + np.sinh(x) / 7),
    ("a*x + b", {"a": 2.5, "b": -1.0}, lambda x: 2.5 * x - 1),
    ("x*tanh(beta*x)", {"beta": 0.75}, lambda x: x * np.tanh(0.75 * x)),
    ("\tx * 1_000 ", {}, lambda x: 1000 * x),
]


@pytest.mark.parametrize("text,params,reference", VALID, ids=[v[0] for v in VALID])
def test_valid_formulas_evaluate_like_an_independent_numpy_expression(text, params, reference):
    expr = parse_formula(text, params).subs({sp.Symbol(k, real=True): sp.nsimplify(v) for k, v in params.items()})
    assert expr.free_symbols <= {X}
    for x in (-3.7, -1.0, -0.2, 0.3, 1.1, 2.9):
        value = float(sp.N(expr.subs(X, sp.Rational(str(x))), 30))
        assert value == pytest.approx(float(reference(np.float64(x))), rel=1e-12, abs=1e-14), x


def test_user_activation_kinks_follow_the_piecewise_boundaries():
    act = user_activation("Piecewise((x, x > 1), (0, True))")
    assert [k.at for k in act.kinks] == [1] and act.kinks[0].dphi == 0


def test_spec_parser_accepts_constant_arithmetic_and_refuses_the_rest():
    assert parse_spec("normal(0, 1/sqrt(2))") == ("normal", (0.0, 1 / math.sqrt(2)))
    assert parse_spec(" Uniform(-pi, 2*pi) ") == ("uniform", (-math.pi, 2 * math.pi))
    for text in ("normal(0, 1)(1)", "normal(mu=0, sigma=1)", "normal(x, 1)", "normal(0, sqrt(-1))",
                 "normal(0, 1/0)", "normal(nan, 1)", "normal(1e400, 1)", "normal(0, 2**10)", "normal"):
        assert_refused(text, parse=parse_spec, error=AnalyticError)
