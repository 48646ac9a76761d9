"""Every public result names its model: short repr, HTML table, to_frame(); withheld values are never numbers;
the independence approximation is named as such and the exact-chain depth table is the transfer operator's."""
from __future__ import annotations

import math
import warnings

import pytest

import analytic


def test_gradient_product_is_a_deprecated_alias_of_independence_product():
    with pytest.warns(DeprecationWarning, match="independence_product"):
        old = analytic.gradient_product("sigmoid", 10, "normal(1, 0.5)")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new = analytic.independence_product("sigmoid", 10, "normal(1, 0.5)")
    assert old.as_dict() == new.as_dict()
    text = repr(new)
    assert text.startswith("IndependenceApproximation(") and len(text) <= 120
    assert "independence approximation (not the network&#x27;s exact chain)" in new._repr_html_()


def test_depth_tables_name_their_model_and_the_exact_one_is_the_chain():
    pd = pytest.importorskip("pandas")
    ind = analytic.depth_table("sigmoid", [1, 10], "normal(1, 0.5)")
    exact = analytic.depth_table("sigmoid", [1, 10], "normal(1, 0.5)", model="exact")
    assert repr(ind).startswith("IndependenceApproximationTable(") and repr(exact).startswith("ExactChainTable(")
    assert "(independence approx.)" in ind._repr_html_() and "(exact chain)" in exact._repr_html_()
    fe = exact.to_frame()
    assert isinstance(fe, pd.DataFrame) and set(fe.model) == {"exact chain"}
    # r = 1: E[w sigmoid'(w)] with w ~ N(1, 1/4) by an independent quadrature (Gauss-Hermite)
    import numpy as np
    z, wt = np.polynomial.hermite_e.hermegauss(80)
    w = 1 + 0.5 * z
    s = 1 / (1 + np.exp(-w))
    assert fe["mean"][0] == pytest.approx(float(wt @ (w * s * (1 - s))) / math.sqrt(2 * math.pi), rel=1e-10)
    assert fe["mean"][1] == pytest.approx(1.121e-07, rel=1e-3)  # not the approximation's 1.418e-07
    assert ind.to_frame()["mean"][1] == pytest.approx(1.418e-07, rel=1e-3)
    with pytest.raises(analytic.ParameterError):
        analytic.depth_table("sigmoid", [1], "normal(1, 0.5)", model="mean field")
    with pytest.raises(analytic.ParameterError):
        analytic.depth_table("sigmoid", [1], "normal(1, 0.5)", preact="normal(0, 2)", model="exact")
