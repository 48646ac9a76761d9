"""Fuzzing the parsers and the CLI with generated formulas and distribution specs.

Formulas come from a small grammar that mixes whitelisted tokens (x, numbers, + - * / ** ^, the allowed
functions, Piecewise) with junk (attribute access, subscripts, keywords, dunder names, unicode look-alikes,
control characters, huge literals). The property: :func:`parse_formula` and :func:`distribution` either return a
value or raise :class:`AnalyticError` — never another exception and never a hang — and what they return is sane
(a real expression in x; a distribution with finite arguments). A few generated inputs also go through the real
CLI in a subprocess: it answers (exit 0) or refuses on one stderr line (exit 2). Hypothesis runs derandomised
with a fixed number of examples, so the run is the same every time.
"""
from __future__ import annotations

import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import sympy as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytic.core.calculus import resolve
from analytic.distributions import Distribution, distribution
from analytic.errors import AnalyticError
from analytic.core.parsing import parse_formula
from analytic.core.registry import X

from hang_guard import WALL_SECONDS, guard

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(max_examples=400, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
CLI_RUNS = settings(max_examples=4, derandomize=True, database=None, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

FUNCTIONS = ["exp", "log", "tanh", "sinh", "cosh", "erf", "sqrt", "Abs", "abs", "sigmoid", "softplus", "atan",
             "sin", "cos"]
JUNK = ["__import__", "__class__", ".real", "[0]", "lambda:", "x=1", ";", "'", '"', ":=", "@", "%", "//", "\x00",
        "\n", "\uff58", "\u0445", "\U0001d465", "{", "}", " if ", " for ", "os", "1e400", "10**10**10",
        "9" * 40, "y", "nan", "inf", "True", "==", "<", ">", "*", ",", "(", ")", "open", "eval", "Symbol",
        "sympify", "\udcff", "\t", " ", "**-", "Piecewise(", "Max(", "0/0", "log(0)", "sqrt(-1)"]


def _number() -> st.SearchStrategy[str]:
    return st.one_of(st.integers(-10**7, 10**7).map(str),
                     st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
                     st.sampled_from(["0", "1", "2", "0.5", "1e-3", "1e6", "1e7", "pi", "E", "64", "65"]))


def _expressions() -> st.SearchStrategy[str]:
    leaves = st.one_of(st.just("x"), _number())

    def extend(inner):
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "**", "^", " + ", "*-"]), inner).map("".join),
            st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(["Max", "Min"]), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
            st.tuples(inner, st.sampled_from([">", "<", ">=", "<="]), inner, inner).map(
                lambda t: f"Piecewise(({t[0]}, x {t[1]} {t[2]}), ({t[3]}, True))"),
            inner.map(lambda s: f"({s})"),
            inner.map(lambda s: f"-{s}"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _with_junk(expr: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Insert a junk token at some position of a generated expression."""
    return st.tuples(expr, st.sampled_from(JUNK), st.integers(0, 10**6)).map(
        lambda t: t[0][: t[2] % (len(t[0]) + 1)] + t[1] + t[0][t[2] % (len(t[0]) + 1):])


FORMULAS = st.one_of(_expressions(), _with_junk(_expressions()),
                     st.lists(st.sampled_from(JUNK + FUNCTIONS + ["x", "1", "2", "+"]), max_size=12).map("".join),
                     st.text(max_size=40))

SPEC_NAMES = ["normal", "uniform", "constant", "lognormal", "glorot", "he", "Normal", "cauchy", "__import__", "",
              "normal.mean", "x"]
SPEC_ARGS = st.one_of(_number(), st.sampled_from(
    ["-1", "0", "nan", "inf", "-inf", "1e400", "sqrt(2)", "sqrt(-1)", "1/0", "1/3", "x", "'a'", "[0]", "mu=0",
     "*[0, 1]", "2**10", "-0", "1e-300", "5e-324", "1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6*1e6"]))
SPECS = st.one_of(
    st.tuples(st.sampled_from(SPEC_NAMES), st.lists(SPEC_ARGS, max_size=4)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})"),
    _with_junk(st.tuples(st.sampled_from(SPEC_NAMES[:6]), st.lists(_number(), min_size=1, max_size=3)).map(
        lambda t: f"{t[0]}({', '.join(t[1])})")),
    st.text(max_size=30),
)


@FAST
@given(FORMULAS)
def test_parse_formula_returns_a_real_expression_in_x_or_refuses(text):
    try:
        with guard(), warnings.catch_warnings():
            warnings.simplefilter("error")  # a warning would be a second line on the CLI's stderr
            expr = parse_formula(text)
    except AnalyticError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(expr, sp.Expr)
    assert expr.free_symbols <= {X}
    assert not expr.has(sp.zoo, sp.nan, sp.oo, -sp.oo, sp.I)


@settings(FAST, max_examples=150)
@given(FORMULAS)
def test_resolve_looks_up_or_parses_or_refuses(text):
    try:
        with guard():
            resolve(text)
    except AnalyticError as exc:
        assert str(exc) and "\n" not in str(exc)


@FAST
@given(SPECS)
def test_distribution_returns_finite_arguments_or_refuses(spec):
    try:
        with guard():
            d = distribution(spec)
    except AnalyticError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(d, Distribution)
    assert all(math.isfinite(a) for a in d.args)


def _cli(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cli.py"), *(os.fsencode(a) for a in argv)], cwd=ROOT,
                          capture_output=True, timeout=WALL_SECONDS)


def _answers_or_refuses(result: subprocess.CompletedProcess) -> None:
    stdout = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    assert "Traceback" not in stderr, stderr
    assert result.returncode in (0, 2), (result.returncode, stderr)
    if result.returncode == 2:
        assert len(stderr.splitlines()) == 1 and stderr.strip() and stdout == ""
    else:
        assert stdout.strip()


SMALL = st.one_of(st.recursive(st.one_of(st.just("x"), _number()), lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["+", "*", "/", "**"]), inner).map("".join),
    st.tuples(st.sampled_from(FUNCTIONS), inner).map(lambda t: f"{t[0]}({t[1]})")), max_leaves=4),
    _with_junk(st.just("x*exp(x)")))


@CLI_RUNS
@given(SMALL)
def test_cli_derive_answers_or_refuses_generated_formulas(text):
    _answers_or_refuses(_cli("derive", text.replace("\x00", ""), "--at", "-1,0.5", "--json"))


@settings(CLI_RUNS, max_examples=3)
@given(SPECS)
def test_cli_answers_or_refuses_generated_specs(spec):
    spec = spec.replace("\x00", "")
    _answers_or_refuses(_cli("simulate", "tanh", "--depth", "2", "--samples", "200", "--quiet", "--weights", spec))
