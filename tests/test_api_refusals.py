"""Every public function of :mod:`analytic`, called with wrong types and extreme values, either refuses with an
:class:`~analytic.AnalyticError` or answers; no bare ``TypeError``, ``OverflowError``, ``AttributeError``...

Each function has one valid, cheap call (``BASE``); the battery replaces one argument at a time by a hostile
value. A replacement listed in ``ACCEPTED`` is a legitimate input and must be answered; every other one must be
refused with an ``AnalyticError``. ``test_the_battery_covers_every_public_function`` keeps the table complete.
"""
from __future__ import annotations

import ast
import inspect
import math
from dataclasses import replace

import numpy as np
import pytest
import sympy as sp

import analytic
from analytic import AnalyticError
from analytic.output.budget import QUICK

from hang_guard import guard

HUGE = 10**400


class _Hostile:
    """An object whose every conversion fails the way a hostile caller's object might."""

    def __float__(self):
        raise RuntimeError("no float")

    def __index__(self):
        raise RuntimeError("no int")

    def __str__(self):
        raise RuntimeError("no str")

    __repr__ = __str__


NUMBERS = [None, "1", "abc", HUGE, -HUGE, math.nan, math.inf, -math.inf, -1, 2.5, 10**18, True, [], {}, b"1",
           _Hostile(), np.float64("nan"), 1j]
TEXTS = [None, 1, 1.5, HUGE, math.nan, "", "   ", "x" * 10**5, b"relu", ["relu"], {}, _Hostile(), "\x00", True]
_x = sp.Symbol("x")


def _tower(levels: int) -> sp.Expr:
    e = _x
    for _ in range(levels):
        e = sp.tanh(e, evaluate=False)
    return e


#: SymPy expressions a formula string could not say: unevaluated, undefined on part of the line, too large or deep.
SYMPY = [sp.Integral(_x, _x), sp.Derivative(sp.tanh(_x), _x), sp.Piecewise((_x, _x > 0)), _x * sp.Integer(10**5000),
         _x * sp.exp(1380), sp.I * _x, sp.Function("f")(_x), _tower(200), _x ** 2 * sp.Sum(_x, (_x, 1, 2))]
ACTS = TEXTS + SYMPY
MAPPINGS = [1, "a=1", ["a", 1], {"a": "1"}, {"a": HUGE}, {"a": math.nan}, {1: 2.0}, {None: 1.0}, _Hostile()]
ANY = [1, HUGE, math.nan, "abc", [], {}, _Hostile(), b"x", -1]
#: Not an Axes (or a pair of Axes where a pair is allowed).
AXES = ANY + ["nope", ["a", "b"], ("AX", "AX", "AX")]
#: Not a Budget, or a Budget with a field out of range.
BUDGETS = ANY + ["BUDGET:grid=0", "BUDGET:chains=-1", "BUDGET:depth_points=()", "BUDGET:hist_depths=(0,)",
                 "BUDGET:seed=-1", "BUDGET:max_depth=10000000", "BUDGET:grid=2.5"]


def _spec(tmp_path):
    return analytic.load_spec(None, {"activations": "tanh", "sigma_w2": "1", "sigma_b2": "0", "depth": "2",
                                     "width": "1", "samples": "64"})


def _figure():
    from analytic.output.style import new_figure

    fig = new_figure((1, 1))
    fig.add_subplot().plot([0, 1])
    return fig


#: function name → (valid keyword arguments, {parameter: battery}); ``tmp`` in a value is the test's folder.
BASE: dict[str, tuple] = {
    "get": ({"name": "relu"}, {"name": TEXTS}),
    "names": ({}, {}),
    "aliases": ({}, {"name": TEXTS[1:]}),
    "expression_activation": ({"expr": analytic.X ** 2}, {"expr": ANY, "params": MAPPINGS}),
    "catalogue": ({}, {}),
    "to_elementary": ({"expr": analytic.X}, {"expr": ANY}),
    "parse_formula": ({"text": "x"}, {"text": TEXTS, "params": MAPPINGS}),
    "parse_spec": ({"text": "normal(0, 1)"}, {"text": TEXTS}),
    "user_activation": ({"text": "a*x", "params": {"a": 1.0}}, {"text": TEXTS, "params": MAPPINGS}),
    "resolve": ({"name_or_formula": "tanh"}, {"name_or_formula": ACTS, "params": MAPPINGS}),
    "derivative": ({"act": "tanh"}, {"act": ACTS, "order": NUMBERS, "params": MAPPINGS}),
    "numpy_function": ({"act": "tanh"}, {"act": ACTS, "order": NUMBERS, "params": MAPPINGS}),
    "numpy_pair": ({"act": "tanh"}, {"act": ACTS, "params": MAPPINGS}),
    "derive": ({"act": "tanh", "at": [0.5]}, {"act": ACTS, "params": MAPPINGS, "at": ANY + [[HUGE], [math.nan],
                                                                                          ["a"], [None]]}),
    "latex": ({"expr": analytic.X}, {"expr": ANY}),
    "bound": ({"act": "relu"}, {"act": ACTS, "of": TEXTS, "params": MAPPINGS, "timeout": NUMBERS + [1e-7, 1e10]}),
    "softmax_jacobian_bounds": ({}, {}),
    "distribution": ({"spec": "normal(0, 1)"}, {"spec": TEXTS + ["normal(1e400, 1)", "normal(0, 1e308*10)"]}),
    "gaussian_expectation": ({"act": "tanh", "fn": "dphi2"},
                             {"act": ACTS, "fn": TEXTS, "mean": NUMBERS, "std": NUMBERS, "params": MAPPINGS}),
    "preact_expectations": ({"act": "tanh"}, {"act": ACTS, "preact": TEXTS, "params": MAPPINGS}),
    "independence_product": ({"act": "tanh", "depth": 3, "weights": "normal(0, 1)"},
                             {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "preact": TEXTS,
                              "threshold": NUMBERS, "params": MAPPINGS}),
    "gradient_product": ({"act": "tanh", "depth": 3, "weights": "normal(0, 1)"},  # the deprecated alias
                         {"depth": NUMBERS, "threshold": NUMBERS}),
    "exact_chain": ({"act": "tanh", "depth": 3, "weights": "normal(0, 1)"},
                    {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "x": NUMBERS, "bias": TEXTS[1:],
                     "params": MAPPINGS}),
    "gradient": ({"act": "tanh", "depth": 3, "weights": "normal(0, 1)"},
                 {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "x": NUMBERS, "bias": TEXTS[1:], "preact": TEXTS,
                  "threshold": NUMBERS, "params": MAPPINGS}),
    "mean_field": ({"act": "tanh", "sigma_w2": 1.5}, {"act": ACTS, "sigma_w2": NUMBERS + [1e308],
                                                      "sigma_b2": NUMBERS, "params": MAPPINGS}),
    "residual_mean_field": ({"act": "tanh", "sigma_w2": 1.0, "sigma_b2": 0.0, "architecture": analytic.residual(1.0),
                             "depth": 2},
                            {"act": ACTS, "sigma_w2": NUMBERS, "sigma_b2": NUMBERS, "architecture": ANY + [None],
                             "depth": NUMBERS, "q0": NUMBERS, "c0": NUMBERS, "params": MAPPINGS}),
    "simulate_residual_wide": ({"act": "tanh", "sigma_w2": 1.0, "sigma_b2": 0.0,
                                "architecture": analytic.residual(1.0), "depth": 2, "width": 4, "pairs": 1,
                                "networks": 2},
                               {"act": ACTS, "sigma_w2": NUMBERS, "sigma_b2": NUMBERS, "architecture": ANY + [None],
                                "depth": NUMBERS, "width": NUMBERS, "pairs": NUMBERS, "networks": NUMBERS,
                                "seed": NUMBERS, "q0": NUMBERS, "c0": NUMBERS, "params": MAPPINGS,
                                "threads": NUMBERS[1:]}),
    "critical_sigma_w2": ({"act": "tanh"}, {"act": ACTS, "sigma_b2": NUMBERS, "params": MAPPINGS}),
    "sigma_w2_range": ({"act": "relu", "depth": 3}, {"act": ACTS, "depth": NUMBERS, "sigma_b2": NUMBERS,
                                                     "factor": NUMBERS, "params": MAPPINGS}),
    "sphere_lambda": ({"act": "relu", "batch": 8}, {"act": ACTS, "batch": NUMBERS + [3, 10**6], "params": MAPPINGS}),
    "batchnorm_lambda": ({"act": "relu"}, {"act": ACTS, "params": MAPPINGS,
                                           "architecture": ANY + [analytic.normalised("layer")]}),
    "layernorm_lambda": ({"act": "relu"}, {"act": ACTS, "params": MAPPINGS,
                                           "architecture": ANY + [analytic.normalised("batch", 8)]}),
    "normalised_lambda": ({"act": "relu", "architecture": analytic.normalised("batch", 8)},
                          {"act": ACTS, "params": MAPPINGS, "architecture": ANY + [None, analytic.PLAIN]}),
    "initialisation": ({"act": "tanh"}, {"act": ACTS, "sigma_b2": NUMBERS, "params": MAPPINGS}),
    "selu_constants": ({}, {}),
    "gain_table": ({}, {"sigma_b2": NUMBERS}),
    "simulate_chain": ({"act": "tanh", "depth": 2, "weights": "normal(0, 1)", "samples": 64},
                       {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "samples": NUMBERS, "seed": NUMBERS,
                        "x": NUMBERS, "bias": TEXTS[1:], "preact": TEXTS[1:], "params": MAPPINGS, "chunk": NUMBERS[1:],
                        "progress": ANY}),
    "chain_log_products": ({"act": "tanh", "depth": 2, "weights": "normal(0, 1)", "samples": 64},
                           {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "samples": NUMBERS, "seed": NUMBERS,
                            "x": NUMBERS, "bias": TEXTS[1:], "preact": TEXTS[1:], "params": MAPPINGS}),
    "simulate_wide": ({"act": "tanh", "depth": 2, "width": 4, "weights": "he(4)", "batch": 4, "networks": 2},
                      {"act": ACTS, "depth": NUMBERS, "width": NUMBERS, "weights": TEXTS, "bias": TEXTS[1:],
                       "batch": NUMBERS, "seed": NUMBERS, "params": MAPPINGS, "networks": NUMBERS,
                       "burn_in": NUMBERS[1:]}),
    "simulate": ({"act": "tanh", "depth": 2, "weights": "normal(0, 1)", "samples": 64, "progress": False},
                 {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "width": NUMBERS, "samples": NUMBERS,
                  "seed": NUMBERS, "x": NUMBERS, "bias": TEXTS[1:], "preact": TEXTS[1:], "params": MAPPINGS,
                  "progress": ANY, "batch": NUMBERS, "networks": NUMBERS}),
    "save": ({"fig": "FIG", "path": "tmp/a.png"}, {"fig": ANY, "path": ANY + ["tmp", "tmp/missing/a.png",
                                                                             "tmp/" + "n" * 300 + ".png"],
                                                    "format": TEXTS[1:], "dpi": NUMBERS[1:]}),
    "write_figures": ({"out": "tmp/f", "only": ["activation_relu"], "budget": QUICK, "jobs": 1},
                      {"out": ANY + ["", "tmp/" + "n" * 300], "format": TEXTS, "only": ANY + [[None], [1]],
                       "budget": ANY, "progress": ANY, "dpi": NUMBERS, "jobs": NUMBERS[1:]}),
    "figure_names": ({}, {}),
    "write_explorer": ({"out": "tmp/e", "grid": analytic.ExplorerGrid(activations=("relu",), sigma_w2=(1.0, 2.0, 1.0),
                                                                     sigma_b2=(0.0, 0.1, 0.1), depth=2)},
                       {"out": ANY + ["", "tmp/" + "n" * 300], "grid": ANY + [None]}),
    "build_report": ({"activations": ["NOSUCH"], "budget": QUICK},
                     {"activations": ANY + [[None], [1]], "budget": ANY, "progress": ANY}),
    "write_report": ({"out": "tmp/r", "activations": ["NOSUCH"], "budget": QUICK},
                     {"out": ANY + ["", "tmp/" + "n" * 300], "activations": ANY + [[None], [1]], "budget": ANY,
                      "progress": ANY}),
    "load_spec": ({"overrides": {"activations": "tanh", "sigma_w2": "1"}},
                  {"path": ANY + ["", "/dev/zero", "tmp", "tmp/missing.toml"],
                   "overrides": MAPPINGS + [{"activations": 1}, {"depth": "1e400"}, {"sigma_w2": "1e308"},
                                            {"sigma_w2": "nan"}, {"nosuch": "1"}]}),
    "run_sweep": ({"spec": "SPEC", "out": None, "serial": True},
                  {"spec": ANY, "out": ANY + ["", "tmp/" + "n" * 300], "scheduler": TEXTS[1:] + [
                      "ucx://127.0.0.1:1", "tls://127.0.0.1:1", "http://x", "tcp://"],
                   "serial": ANY, "n_workers": NUMBERS, "progress": ANY}),
    "sweep_heatmap": ({"table": "TABLE"}, {"table": ANY, "ax": ANY, "activation": TEXTS, "depth": NUMBERS,
                                           "width": NUMBERS}),
    "depth_table": ({"act": "tanh", "depths": [1, 2], "weights": "normal(0, 1)"},
                    {"act": ACTS, "depths": ANY + [[0], [HUGE], [1.5], [None], ["1"], [], [10**7]],
                     "weights": TEXTS, "preact": TEXTS[1:], "evil": ANY}),
    "plot_activation": ({"act": "tanh", "grid": 21}, {"act": ACTS, "ax": AXES, "grid": NUMBERS + [0, 1, 10**7],
                                                     "title": TEXTS[1:], "params": MAPPINGS,
                                                     "xlim": ANY + [(1, -1), (0, math.inf), (math.nan, 1), (0, 1e9)]}),
    "plot_dying_relu": ({"budget": QUICK}, {"ax": AXES, "budget": BUDGETS}),
    "plot_normalisation": ({"budget": QUICK}, {"ax": AXES + ["AX"], "budget": BUDGETS}),
    "plot_gradient_depth": ({"act": "tanh", "budget": QUICK}, {"act": ACTS, "weights": TEXTS, "ax": AXES,
                                                              "budget": BUDGETS, "legend": ANY}),
    "plot_histogram": ({"act": "tanh", "budget": QUICK}, {"act": ACTS, "ax": AXES, "budget": BUDGETS}),
    "plot_phase_diagram": ({"activation": "relu", "budget": QUICK}, {"ax": AXES, "activation": TEXTS,
                                                                     "budget": BUDGETS}),
    "plot_preactivation_law": ({"act": "tanh", "budget": QUICK}, {"act": ACTS, "weights": TEXTS, "ax": AXES,
                                                                  "budget": BUDGETS}),
    "plot_sweep": ({"table": "TABLE"}, {"table": ANY, "ax": AXES, "activation": TEXTS[1:], "depth": NUMBERS[1:],
                                        "width": NUMBERS[1:], "evil": ANY}),
    "bivariate_expectation": ({"act": "tanh", "f": "phi", "g": "phi", "q": 1.0, "c": 0.5},
                              {"act": ACTS, "f": TEXTS, "g": TEXTS, "q": NUMBERS + [0, 1e308],
                               "c": NUMBERS + [1.5, -1.5], "params": MAPPINGS}),
    "correlation_map": ({"act": "tanh", "c": 0.5, "sigma_w2": 1.5},
                        {"act": ACTS, "c": NUMBERS + [1.5, -1.5], "sigma_w2": NUMBERS + [0, 1e308],
                         "sigma_b2": NUMBERS, "q_star": NUMBERS + [0, 1e308], "params": MAPPINGS}),
    "critical_points": ({"act": "tanh"}, {"act": ACTS, "sigma_b2": NUMBERS + [1e308], "params": MAPPINGS}),
    "signal_propagation": ({"act": "tanh", "sigma_w2": 1.5},
                           {"act": ACTS, "sigma_w2": NUMBERS + [0, 1e308], "sigma_b2": NUMBERS,
                            "params": MAPPINGS, "q0": NUMBERS + [0, 1e308]}),
    "widest_window": ({"act": "relu"}, {"act": ACTS, "params": MAPPINGS}),
    "residual": ({"alpha": 1.0}, {"alpha": NUMBERS + ["1/log(r)", "1/sqrt(r"], "branch": TEXTS, "norm": TEXTS[1:],
                                  "batch": NUMBERS}),
    "recurrent": ({}, {"inputs": TEXTS[1:] + ["orthogonal(1)"]}),
    "pascanu": ({"act": "tanh", "depth": 5, "weights": "normal(0, 1)"},
                {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "params": MAPPINGS}),
    "recurrent_chain": ({"act": "tanh", "depth": 3, "weights": "normal(0, 1)"},
                        {"act": ACTS, "depth": NUMBERS, "weights": TEXTS, "x": NUMBERS, "inputs": TEXTS[1:],
                         "params": MAPPINGS, "tolerance": NUMBERS}),
    "plot_architectures": ({"budget": QUICK}, {"ax": AXES + ["AX"], "budget": BUDGETS}),
    "normalised": ({"norm": "layer"}, {"norm": TEXTS, "batch": NUMBERS}),
    "window": ({"act": "tanh", "w": 1.0}, {"act": ACTS, "w": NUMBERS + [1e308], "b": NUMBERS, "params": MAPPINGS}),
    "finite_width": ({"act": "relu", "depth": 2, "sigma_w2": 2.0, "widths": [4]},
                     {"act": ACTS, "depth": NUMBERS, "sigma_w2": NUMBERS + [0], "widths": ANY + [[0], [HUGE], [1.5],
                                                                                           [None], []],
                      "params": MAPPINGS, "sigma_b2": NUMBERS, "weights": TEXTS, "median": ANY}),
    "spectrum": ({"act": "tanh", "depth": 2, "sigma_w2": 1.0, "width": 4, "networks": 2, "density": False},
                 {"act": ACTS, "depth": NUMBERS, "sigma_w2": NUMBERS + [0], "sigma_b2": NUMBERS, "weights": TEXTS,
                  "width": NUMBERS[1:] + [0, 10**7], "networks": NUMBERS + [0, 10**7], "seed": NUMBERS[1:],
                  "params": MAPPINGS, "density": ANY}),
    "spectrum_moments": ({"act": "tanh", "depth": 2, "sigma_w2": 1.0},
                         {"act": ACTS, "depth": NUMBERS, "sigma_w2": NUMBERS + [0], "sigma_b2": NUMBERS,
                          "weights": TEXTS, "params": MAPPINGS}),
    "spectral_density": ({"act": "tanh", "depth": 2, "sigma_w2": 1.0, "points": 11},
                         {"act": ACTS, "depth": NUMBERS, "sigma_w2": NUMBERS + [0], "sigma_b2": NUMBERS,
                          "weights": TEXTS, "params": MAPPINGS, "points": NUMBERS + [0, 1, 10**9]}),
    "sample_spectrum": ({"act": "tanh", "depth": 2, "sigma_w2": 1.0, "width": 4, "networks": 2},
                        {"act": ACTS, "depth": NUMBERS, "sigma_w2": NUMBERS + [0], "width": NUMBERS + [0, 10**7],
                         "sigma_b2": NUMBERS, "weights": TEXTS, "networks": NUMBERS + [0, 10**7], "seed": NUMBERS,
                         "params": MAPPINGS}),
    "layer_profile": ({"act": "tanh", "sigma_w2": 1.0, "depth": 3},
                      {"act": ACTS, "sigma_w2": NUMBERS + [0, 1e308], "depth": NUMBERS, "sigma_b2": NUMBERS,
                       "bias_mean": NUMBERS, "q_in": NUMBERS + [0], "params": MAPPINGS}),
    "born_alive_probability": ({"width": 3, "depth": 10}, {"width": NUMBERS, "depth": NUMBERS}),
    "simulate_born_dead": ({"width": 3, "depth": 4, "samples": 64},
                           {"width": NUMBERS, "depth": NUMBERS, "samples": NUMBERS, "seed": NUMBERS,
                            "weights": TEXTS + ["orthogonal(1)"]}),
    "plot_layer_profile": ({"act": "tanh", "init": "he", "budget": QUICK},
                           {"act": ACTS, "init": TEXTS, "ax": AXES, "quantity": TEXTS, "budget": BUDGETS}),
    "plot_sparsity": ({"budget": QUICK}, {"ax": AXES, "budget": BUDGETS}),
    "plot_born_dead": ({"budget": QUICK}, {"ax": AXES, "budget": BUDGETS}),
    "haar_orthogonal": ({"rng": "RNG", "rows": 3}, {"rng": ANY + [None], "rows": NUMBERS + [0, 10**7],
                                                    "cols": NUMBERS[1:] + [0, 10**7]}),
}

#: (function, parameter, value) triples that are legitimate inputs and must be answered.
ACCEPTED = {
    ("exact_chain", "x", -1), ("exact_chain", "x", 2.5), ("exact_chain", "x", 10**18),
    ("gradient", "x", -1), ("gradient", "x", 2.5), ("gradient", "x", 10**18),
    ("gradient", "threshold", 2.5), ("gradient", "threshold", 10**18),
    ("simulate_chain", "seed", 10**18), ("chain_log_products", "seed", 10**18), ("simulate_wide", "seed", 10**18),
    ("simulate", "seed", 10**18), ("simulate_chain", "seed", HUGE), ("chain_log_products", "seed", HUGE),
    ("simulate_wide", "seed", HUGE), ("simulate", "seed", HUGE),
    ("simulate_chain", "x", -1), ("chain_log_products", "x", -1), ("simulate", "x", -1),
    ("simulate_chain", "x", 2.5), ("chain_log_products", "x", 2.5), ("simulate", "x", 2.5),
    
    ("gaussian_expectation", "mean", -1), ("gaussian_expectation", "mean", 2.5), ("gaussian_expectation", "std", 2.5),
    ("gaussian_expectation", "mean", 10**18),
    ("mean_field", "sigma_w2", 2.5), ("mean_field", "sigma_b2", 2.5), ("critical_sigma_w2", "sigma_b2", 2.5),
    ("initialisation", "sigma_b2", 2.5), ("gain_table", "sigma_b2", 2.5),
    ("residual_mean_field", "sigma_w2", 2.5), ("residual_mean_field", "sigma_b2", 2.5),
    ("residual_mean_field", "q0", 2.5), ("residual_mean_field", "c0", -1),
    ("simulate_residual_wide", "sigma_w2", 2.5), ("simulate_residual_wide", "sigma_b2", 2.5),
    ("simulate_residual_wide", "q0", 2.5), ("simulate_residual_wide", "c0", -1),
    ("simulate_residual_wide", "seed", 10**18), ("simulate_residual_wide", "seed", HUGE),
    ("gradient_product", "threshold", 2.5), ("gradient_product", "depth", 10**18 // 10**12),
    ("independence_product", "threshold", 2.5), ("independence_product", "depth", 10**18 // 10**12),
    ("independence_product", "threshold", 10**18),
    ("sigma_w2_range", "factor", 2.5),
    ("bound", "timeout", 2.5),
    ("simulate_chain", "x", 10**18), ("chain_log_products", "x", 10**18), ("simulate", "x", 10**18),
    ("gradient_product", "threshold", 10**18), ("gaussian_expectation", "std", 10**18), ("derive", "at", ()),
    ("write_figures", "out", "abc"), ("run_sweep", "out", "abc"), ("write_explorer", "out", "abc"),
    ("plot_activation", "title", ""), ("plot_activation", "title", "   "), ("plot_activation", "ax", "AX"),
    ("bivariate_expectation", "q", 2.5), ("bivariate_expectation", "c", -1),
    ("correlation_map", "c", -1), ("correlation_map", "sigma_w2", 2.5), ("correlation_map", "sigma_b2", 2.5),
    ("correlation_map", "q_star", 2.5), ("critical_points", "sigma_b2", 2.5), ("signal_propagation", "sigma_w2", 2.5),
    ("signal_propagation", "sigma_b2", 2.5), ("signal_propagation", "q0", 2.5), ("window", "w", 2.5),
    ("window", "w", -1), ("window", "b", 2.5), ("window", "b", -1), ("finite_width", "sigma_w2", 2.5),
("spectrum", "sigma_w2", 2.5), ("spectrum", "sigma_b2", 2.5),
    ("spectrum_moments", "sigma_w2", 2.5), ("spectrum_moments", "sigma_b2", 2.5),
    ("spectral_density", "sigma_w2", 2.5), ("spectral_density", "sigma_b2", 2.5),
    ("sample_spectrum", "sigma_w2", 2.5), ("sample_spectrum", "sigma_b2", 2.5), ("spectrum", "seed", 10**18),
    ("sample_spectrum", "seed", 10**18), ("spectrum", "seed", HUGE), ("sample_spectrum", "seed", HUGE),
("finite_width", "widths", 1),
    ("residual", "alpha", -1), ("residual", "alpha", 2.5), ("residual", "alpha", "1"),
    ("recurrent_chain", "x", -1), ("recurrent_chain", "x", 2.5), ("recurrent_chain", "x", 10**18),
    ("layer_profile", "sigma_w2", 2.5), ("layer_profile", "sigma_b2", 2.5), ("layer_profile", "bias_mean", 2.5),
    ("layer_profile", "bias_mean", -1), ("layer_profile", "q_in", 2.5),
    ("simulate_born_dead", "seed", 10**18), ("simulate_born_dead", "seed", HUGE),
}


#: Parameters whose documented default is None (besides params and progress).
NONE_OK = {"batchnorm_lambda": {"architecture"}, "layernorm_lambda": {"architecture"}, "simulate_chain": {"bias", "preact", "chunk"}, "chain_log_products": {"bias", "preact"},
           "simulate_wide": {"bias", "burn_in"}, "simulate": {"bias", "preact"}, "save": {"format"},
           "write_figures": {"only"}, "build_report": {"activations"}, "write_report": {"activations"},
           "load_spec": {"path", "overrides"}, "run_sweep": {"out", "scheduler"},
           "sweep_heatmap": {"ax", "activation", "depth", "width"}, "plot_sweep": {"ax", "activation", "depth", "width"},
           "plot_activation": {"ax", "title", "xlim"}, "plot_dying_relu": {"ax"}, "plot_normalisation": {"ax"}, "plot_gradient_depth": {"ax"},
           "plot_histogram": {"ax"}, "plot_phase_diagram": {"ax"}, "plot_preactivation_law": {"ax"},
           "depth_table": {"preact"}, "spectrum": {"width"}, "haar_orthogonal": {"cols"},
           "residual": {"norm", "batch"}, "recurrent": {"inputs"}, "normalised": {"batch"},
           "recurrent_chain": {"inputs"}, "plot_architectures": {"ax"},
           "plot_layer_profile": {"ax"}, "plot_sparsity": {"ax"}, "plot_born_dead": {"ax"},
           "simulate_born_dead": {"weights"}}


def _substitute(value, tmp_path):
    if isinstance(value, str) and (value == "tmp" or value.startswith("tmp/")):
        return str(tmp_path) + value[3:]
    if isinstance(value, str) and value == "FIG":
        return _figure()
    if isinstance(value, str) and value == "SPEC":
        return _spec(tmp_path)
    if isinstance(value, str) and value == "RNG":
        return np.random.default_rng(0)
    if isinstance(value, str) and value == "AX":
        return _figure().axes[0]
    if isinstance(value, tuple) and value and value[0] == "AX":
        return tuple(_substitute(v, tmp_path) for v in value)
    if isinstance(value, str) and value.startswith("BUDGET:"):  # a field out of range: refused when built
        field, number = value[len("BUDGET:"):].split("=")
        return replace(QUICK, **{field: ast.literal_eval(number)})
    if isinstance(value, str) and value == "TABLE":
        return analytic.run_sweep(_spec(tmp_path), None, serial=True).table()
    return value


def _cases():
    for name, (base, battery) in BASE.items():
        for param, values in battery.items():
            for i, value in enumerate(values):
                yield pytest.param(name, param, value, id=f"{name}-{param}-{i}")


def _call(name, base, param, value, tmp_path):
    kwargs = {k: _substitute(v, tmp_path) for k, v in base.items()}
    kwargs[param] = _substitute(value, tmp_path)
    return getattr(analytic, name)(**kwargs)


@pytest.mark.parametrize("name,param,value", list(_cases()))
def test_hostile_argument_is_refused_or_answered(name, param, value, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a relative output path lands here
    base, _ = BASE[name]
    accepted = _accepted(name, param, value)
    with guard(30):
        try:
            _call(name, base, param, value, tmp_path)
        except AnalyticError as exc:
            assert not accepted, f"{name}({param}={value!r}) is a legitimate input, refused: {exc}"
            message = str(exc)
            assert message and "\n" not in message and len(message) <= 400, message
            return
    assert accepted, f"{name}({param}={value!r}) was accepted"
    leftovers = [p for p in tmp_path.rglob("*.part")]
    assert not leftovers


def _accepted(name, param, value) -> bool:
    for n, p, v in ACCEPTED:
        if n == name and p == param and (type(v) is type(value) or (v == () and value == [])) and (
                v == value or (v != v and value != value) or (v == () and value == [])):
            return True
    return value is None and param in set(NONE_OK.get(name, ())) | {"params", "progress"}


@pytest.mark.parametrize("name", sorted(BASE))
def test_the_valid_call_works(name, tmp_path):
    base, _ = BASE[name]
    if name in ("build_report", "write_report"):
        with pytest.raises(analytic.UnknownActivation):
            getattr(analytic, name)(**{k: _substitute(v, tmp_path) for k, v in base.items()})
        return
    with guard(300):  # a hang guard: the depth figure's valid call refines exact chains and medians
        getattr(analytic, name)(**{k: _substitute(v, tmp_path) for k, v in base.items()})


def test_the_battery_covers_every_public_function():
    functions = {n for n in analytic.__all__ if callable(getattr(analytic, n)) and not inspect.isclass(getattr(analytic, n))
                 and n not in ("sigmoid", "softplus")}
    assert functions == set(BASE)
    for name, (base, battery) in BASE.items():
        signature = inspect.signature(getattr(analytic, name)).parameters
        params = set(signature)
        if any(p.kind is p.VAR_KEYWORD for p in signature.values()):  # options by keyword: "evil" must be refused
            params |= {"evil", "activation", "depth", "width"}
        assert set(battery) <= params and set(base) <= params, name
