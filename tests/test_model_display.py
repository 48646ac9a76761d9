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


def _results():
    """Every public result class on cheap inputs: (object, the model name its repr starts with, to_frame columns)."""
    from analytic.architecture import residual
    from analytic.mc.results import LAYER_COLUMNS
    A = analytic
    q = ["quantity", "value", "error", "converged", "reason"]
    sim = A.simulate("sigmoid", 3, "normal(1, 0.5)", samples=200, seed=1)
    yield A.exact_chain("sigmoid", 4, "normal(1, 0.5)"), "ExactChain(", ["model", "depth"] + q
    yield A.gradient("sigmoid", 4, "normal(1, 0.5)"), "Gradient(", ["model"] + q
    yield A.independence_product("sigmoid", 4, "normal(1, 0.5)"), "IndependenceApproximation(", ["model", "mean"]
    yield A.mean_field("tanh", 1.5, 0.1), "MeanField(act='tanh'", ["model", "sigma_w2", "chi1", "q_star"]
    yield A.signal_propagation("tanh", 1.5, 0.1), "MeanField(act='tanh'", ["model", "chi_c", "phase"]
    yield A.initialisation("relu"), "MeanFieldInitialisation(", ["model", "sigma_w2", "gain"]
    yield A.critical_points("tanh", 0.1)[0], "MeanFieldCriticalPoint(", ["model", "sigma_w2", "kind"]
    yield A.spectrum("relu", 2, 2.0), "JacobianSpectrum(", ["model", "m1", "variance"]
    yield A.finite_width("relu", 2, 2.0, 8), "FiniteWidthNetwork(", ["model"] + q
    yield A.window("tanh", 2.0), "ProvedWindow(", ["model", "width"]
    yield A.widest_window("tanh"), "ProvedWidestWindow(", ["model", "w", "width"]
    yield A.depth_table("sigmoid", [1, 2], "normal(1, 0.5)", model="exact"), "ExactChainTable(", ["model", "depth", "mean", "mean_error"]
    yield A.depth_table("sigmoid", [1, 2], "normal(1, 0.5)"), "IndependenceApproximationTable(", ["model", "depth", "bound", "mean"]
    yield A.simulate_chain("sigmoid", 3, "normal(1, 0.5)", samples=100), "MonteCarloChain(", ["model", "mean", "stderr"]
    yield A.simulate_chain("sigmoid", 3, "normal(1, 0.5)", samples=100, preact="normal(0, 1)"), "MonteCarloIndependence(", ["model"]
    yield A.simulate_wide("relu", 3, 8, "normal(0, 0.5)", batch=8, networks=2), "MonteCarloWideNetwork(", list(LAYER_COLUMNS)
    yield sim, "MonteCarloCheckOfChain(", ["statistic", "analytic", "simulated", "z", "agree"]
    yield sim.checks[0], "Check(statistic=", ["statistic", "analytic", "simulated", "z", "agree"]
    yield A.residual_mean_field("relu", 2.0, 0.0, residual(0.5), 3), "ResidualMeanField(", ["depth", "gradient_ratio"]
    yield (A.simulate_residual_wide("relu", 2.0, 0.0, residual(0.5), 3, width=8, pairs=2, networks=2),
           "MonteCarloResidualNetwork(", ["model", "width"])
    yield A.sigma_w2_range("relu", 5), "MeanFieldRange(", ["model", "low", "high", "low_error", "high_error"]


def test_every_result_names_its_model_in_a_short_repr_a_table_and_a_frame():
    pd = pytest.importorskip("pandas")
    seen = set()
    for obj, head, columns in _results():
        seen.add(type(obj).__name__)
        text = repr(obj)
        assert text.startswith(head) and len(text) <= 120 and "\n" not in text, text
        assert "<table>" in obj._repr_html_(), head
        frame = obj.to_frame()
        assert isinstance(frame, pd.DataFrame) and len(frame) >= 1 and set(columns) <= set(frame.columns), (
            head, list(frame.columns))
    classes = {n for n in analytic.__all__ if isinstance(getattr(analytic, n), type)
               and n in {"Gradient", "ChainExpectations", "GradientProduct", "MeanField", "SignalPropagation",
                         "Initialisation", "Spectrum", "FiniteWidth", "Window", "WidestWindow", "DepthTable",
                         "ChainSimulation", "WideSimulation", "Simulation", "Check", "CriticalPoint",
                         "ResidualMeanField", "ResidualWideSimulation", "SigmaW2Range"}}
    assert classes <= seen, classes - seen


def test_a_withheld_value_is_shown_with_its_reason_never_as_a_number():
    import dataclasses

    pd = pytest.importorskip("pandas")
    chain = analytic.exact_chain("sigmoid", 4, "normal(1, 0.5)")
    mean = chain.quantities["mean"]
    number = f"{mean.estimate:.6g}"
    held = dataclasses.replace(chain, quantities={**chain.quantities, "mean": mean.withhold("planted: missed 1e-8")})
    for text in (repr(held), held._repr_html_()):
        assert "withheld (planted" in text and number not in text
    row = held.to_frame().set_index("quantity").loc["mean"]
    assert pd.isna(row["value"]) and row["reason"] == "planted: missed 1e-8" and not row["converged"]
    fine = chain.to_frame().set_index("quantity").loc["mean"]
    assert fine["value"] == mean.value and fine["converged"]
