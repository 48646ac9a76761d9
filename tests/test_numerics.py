"""Numerical robustness: silent, finite NumPy forms on |x| <= 1e4, and time budgets on symbolic work.

* For every catalogue entry and a few parameter values, the NumPy :math:`\\varphi` and :math:`\\varphi'` run under
  ``warnings.simplefilter("error")`` and ``numpy.errstate(all="raise")`` (set outside the library's functions)
  without a warning and give finite values on a grid reaching :math:`\\pm 10^4`; at a few points they agree with
  the SymPy formula evaluated by mpmath at 50 digits (an independent route).
* Symbolic work on a user formula is bounded and loud: a slow simplification, differentiation or rewriting for
  NumPy raises :class:`ComputationTimeout` with a one-line message (exit 2 from the CLI), never a different form
  chosen by the clock; a formula too large to simplify (by its operation count) keeps its exact unsimplified form
  and still yields correct values. Deadlines are lowered by ``monkeypatch`` so that each case waits well under a
  second; the guards only catch a hang.
"""
from __future__ import annotations

import contextlib
import itertools
import time
import uuid
import warnings

import mpmath
import numpy as np
import pytest
import sympy as sp

from analytic import cli
from analytic.core import calculus
from analytic.core.activations import catalogue, names
from analytic.core.calculus import numpy_function
from analytic.errors import ComputationTimeout
from analytic.core.parsing import user_activation
from analytic.core.registry import X

from hang_guard import guard

GRID = np.unique(np.concatenate([
    np.linspace(-1e4, 1e4, 20001), np.linspace(-50, 50, 10001),
    [-1e4, 1e4, -745.2, 745.2, -709.8, 709.8, -88.8, 88.8, -40, 40, -3, 3, -1, 1, 0.0, -0.0, 5e-324, -5e-324,
     1e-300, -1e-300, np.nextafter(0, 1), 2.0**-1074],
]))
CHECK_POINTS = (-1e4, -1000.0, -40.0, -3.5, -0.3, 0.5, 2.0, 40.0, 1000.0, 1e4)


#: The two special functions of the catalogue, written directly in mpmath (independent of their NumPy forms).
MPMATH = {"sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)), "softplus": lambda u: mpmath.log1p(mpmath.exp(u))}


def parameter_sets(act) -> list[dict[str, float]]:
    """Defaults, then each parameter scaled by 0.1 and by 10 (and a negative value when it may be negative)."""
    sets = [{}]
    for p in act.params:
        d = float(p.default)
        values = [d * 0.1, d * 10] if d else [0.5, 2.0]
        if not p.positive:
            values.append(-abs(d) if d else -0.5)
        sets += [{p.name: v} for v in values]
    return sets


@contextlib.contextmanager
def strict():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(all="raise"):
            yield


@pytest.mark.parametrize("name", names())
def test_numpy_phi_and_dphi_are_silent_and_finite_up_to_1e4(name):
    act = next(a for a in catalogue() if a.name == name)
    for params, order in itertools.product(parameter_sets(act), (0, 1)):
        with strict():
            f = numpy_function(act, order, params)
            y = f(GRID)
            scalar = f(np.float64(-1e4))
        assert y.shape == GRID.shape and y.dtype == np.float64, (params, order)
        bad = GRID[~np.isfinite(y)]
        assert bad.size == 0, f"{name}{params} order {order}: non-finite at x = {bad[:5]}"
        assert np.isfinite(scalar)


@pytest.mark.parametrize("name", names())
def test_numpy_forms_agree_with_mpmath_at_extreme_points(name):
    """|numpy - exact| <= 1e-8 |exact| + 1e-300 (values below the float range may round to 0)."""
    act = next(a for a in catalogue() if a.name == name)
    for params, order in itertools.product(parameter_sets(act)[:2], (0, 1)):
        expr = (calculus.derivative(act, order) if order else act.expr).subs(act.bind(params))
        with strict():
            y = numpy_function(act, order, params)(np.array(CHECK_POINTS))
        exact_f = sp.lambdify([X], expr, modules=[MPMATH, "mpmath"])
        for x, value in zip(CHECK_POINTS, y):
            with guard(30), mpmath.workdps(50):
                exact = float(mpmath.mpf(exact_f(mpmath.mpf(x))))
            assert abs(value - exact) <= 1e-8 * abs(exact) + 1e-300, (name, params, order, x, value, exact)


def _fresh(formula: str) -> str:
    """The formula times a unique constant, so that no cached derivative is reused."""
    return f"({formula})*{uuid.uuid4().int % 10**5 + 2}/{10**5 + 3}"


def _slow(*args, **kwargs):
    while True:  # stands for a SymPy call that never finishes
        time.sleep(0.01)


def test_slow_simplification_is_refused_with_one_line(monkeypatch):
    act = user_activation(_fresh("x*tanh(log(1+exp(x)))"))
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 0.2)
    monkeypatch.setattr(calculus.sp, "simplify", _slow)
    with guard(300), pytest.raises(ComputationTimeout) as info:
        calculus.derivative(act, 1)
    assert str(info.value) == "simplifying a derivative of the formula did not finish within 0.2 s"


def test_slow_differentiation_raises_computation_timeout_with_one_line(monkeypatch, capsys):
    text = _fresh("x*erf(x)")
    act = user_activation(text)
    monkeypatch.setattr(calculus, "DIFF_SECONDS", 0.2)
    monkeypatch.setattr(calculus.sp, "diff", _slow)
    with guard(300), pytest.raises(ComputationTimeout) as info:
        calculus.derivative(act, 1)
    assert "\n" not in str(info.value) and "did not finish" in str(info.value)
    with guard(300):  # through the CLI: exit 2, one line (user_activation's own diff is real: patch only ours)
        monkeypatch.setattr(calculus, "user_activation", lambda t, p=None: act)
        code = cli.main(["derive", text])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and len(err.splitlines()) == 1 and "did not finish" in err


def test_slow_rewriting_for_numpy_is_refused(monkeypatch):
    act = user_activation(_fresh("x*sigmoid(x)"))
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 0.2)
    monkeypatch.setattr(calculus, "numeric_form", _slow)
    with guard(300), pytest.raises(ComputationTimeout, match="rewriting the formula for NumPy did not finish"):
        numpy_function(act, 1)


def test_a_genuinely_slow_user_formula_is_kept_unsimplified_by_its_size_and_still_correct(monkeypatch):
    """Unpatched SymPy: simplify and the expm1 rewrite of this sum take seconds; its derivative has more than
    SIMPLIFY_MAX_OPS operations, so it is kept as it is whatever the deadline, and its values are right."""
    terms = [(i, i % 7 + 2) for i in range(1, 30)]
    text = _fresh("+".join(f"sin({i}*x)**{p}" for i, p in terms))
    monkeypatch.setattr(calculus, "SIMPLIFY_SECONDS", 1e-6)
    with guard(300):
        d = calculus.derive(text, at=[0.7, -1.3])
    c = float(sp.Rational(text.rsplit(")*", 1)[1]))
    for x, value in zip(d.at, d.dphi_values):
        exact = c * sum(p * i * np.sin(i * x) ** (p - 1) * np.cos(i * x) for i, p in terms)
        assert value == pytest.approx(exact, rel=1e-10)
