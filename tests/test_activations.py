"""The catalogue: exactly the entries of NAMES, each declared once, with PyTorch's definitions and defaults."""
from __future__ import annotations

import math

import numpy as np
import pytest
import sympy as sp
from scipy import special, stats

from analytic.core.activations import SELU_ALPHA, SELU_SCALE, catalogue, get, names
from analytic.core.calculus import numpy_function
from analytic.errors import ParameterError, UnknownActivation

NAMES = ["sigmoid", "tanh", "relu", "leaky_relu", "prelu", "elu", "selu", "gelu", "gelu_tanh", "silu",
         "swish", "mish", "softplus", "softsign", "hardtanh", "hard_sigmoid", "hard_swish", "celu",
         "identity", "softmax", "logsigmoid"]

# Independent NumPy/SciPy definitions written from the PyTorch documentation, not from our formulas.
XS = np.linspace(-7, 7, 57)
REFERENCE = {
    "sigmoid": special.expit(XS),
    "tanh": np.tanh(XS),
    "relu": np.maximum(XS, 0),
    "leaky_relu": np.where(XS > 0, XS, 0.01 * XS),
    "prelu": np.where(XS > 0, XS, 0.25 * XS),
    "elu": np.where(XS > 0, XS, np.expm1(XS)),
    "selu": 1.0507009873554805 * np.where(XS > 0, XS, 1.6732632423543772 * np.expm1(XS)),
    "gelu": XS * stats.norm.cdf(XS),
    "gelu_tanh": 0.5 * XS * (1 + np.tanh(math.sqrt(2 / math.pi) * (XS + 0.044715 * XS**3))),
    "silu": XS * special.expit(XS),
    "swish": XS * special.expit(XS),
    "mish": XS * np.tanh(np.log1p(np.exp(XS))),
    "softplus": np.log1p(np.exp(XS)),
    "softsign": XS / (1 + np.abs(XS)),
    "hardtanh": np.clip(XS, -1, 1),
    "hard_sigmoid": np.clip(XS + 3, 0, 6) / 6,
    "hard_swish": XS * np.clip(XS + 3, 0, 6) / 6,
    "celu": np.where(XS > 0, XS, np.expm1(XS)),
    "identity": XS,
    "logsigmoid": np.log(special.expit(XS)),
    "softmax": np.exp(XS) / (np.exp(XS) + 1.0),  # two logits (x, 0): c = e^0 = 1
}


def test_catalogue_holds_exactly_the_listed_entries():
    assert sorted(names()) == sorted(NAMES)


def test_pytorch_spellings_are_the_same_records():
    from analytic.core.activations import get

    assert get("hardswish") is get("hard_swish")
    assert get("hardsigmoid") is get("hard_sigmoid")
    assert get("linear") is get("identity")
    assert "hardswish" not in names() and "linear" not in names()  # aliases, not copies in the catalogue


def test_logsigmoid_is_smooth_with_derivative_sigmoid_of_minus_x():
    from analytic.core.activations import get

    act = get("logsigmoid")
    assert act.kinks == ()
    far = np.array([-40.0, -5.0, 0.0, 5.0, 40.0])
    np.testing.assert_allclose(numpy_function(act, 1)(far), special.expit(-far), rtol=1e-14)
    np.testing.assert_allclose(numpy_function(act)(far), -np.logaddexp(0.0, -far), rtol=1e-14)


@pytest.mark.parametrize("name", NAMES)
def test_definition_matches_pytorch_documentation(name):
    np.testing.assert_allclose(numpy_function(name)(XS), REFERENCE[name], rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("act", catalogue(), ids=lambda a: a.name)
def test_each_entry_is_documented_and_in_one_real_variable(act):
    assert act.doc and act.reference
    assert act.expr.free_symbols <= {sp.Symbol("x", real=True)} | {p.symbol for p in act.params}
    for p in act.params:
        assert p.default.is_real and p.default.is_finite


def test_selu_constants_are_the_published_digits():
    assert float(SELU_ALPHA) == 1.6732632423543772
    assert float(SELU_SCALE) == 1.0507009873554805


def test_softmax_component_matches_vector_softmax():
    rng = np.random.default_rng(3)
    z = rng.normal(size=6)
    s = np.exp(z) / np.exp(z).sum()
    c = float(np.exp(z[1:]).sum())
    ours = numpy_function("softmax", 0, {"c": c})(np.array([z[0]]))[0]
    assert ours == pytest.approx(s[0], rel=1e-14)
    # and its derivative is the Jacobian's diagonal entry s_0 (1 - s_0)
    jac = np.diag(s) - np.outer(s, s)
    assert numpy_function("softmax", 1, {"c": c})(np.array([z[0]]))[0] == pytest.approx(jac[0, 0], rel=1e-13)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(UnknownActivation, match="sigmoid"):
        get("sigmod")


def test_bad_parameters_are_refused():
    with pytest.raises(ParameterError, match="no parameter"):
        get("relu").bind({"alpha": 1.0})
    with pytest.raises(ParameterError, match="positive"):
        get("elu").bind({"alpha": -1.0})
