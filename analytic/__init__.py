"""activation-analytic: why deep networks with some activations stop learning, with proofs and numbers.

The public API is :data:`__all__`. Attributes load on first use, so importing the package (and running the
command line's ``--help``) does not import SymPy or matplotlib.

>>> import analytic
>>> analytic.derive("sigmoid").dphi
(1 - sigmoid(x))*sigmoid(x)
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it
_EXPORTS = {
    "Activation": "registry", "Param": "registry", "Kink": "registry", "X": "registry",
    "get": "activations", "names": "activations", "catalogue": "activations",
    "sigmoid": "activations", "softplus": "activations", "to_elementary": "activations",
    "SELU_ALPHA": "activations", "SELU_SCALE": "activations",
    "parse_formula": "parsing", "parse_spec": "parsing", "user_activation": "parsing",
    "resolve": "calculus", "derivative": "calculus", "numpy_function": "calculus", "numpy_pair": "calculus",
    "derive": "calculus", "Derivation": "calculus", "latex": "calculus",
    "AnalyticError": "errors", "UnknownActivation": "errors", "FormulaError": "errors", "SpecError": "errors",
    "ParameterError": "errors", "ComputationTimeout": "errors",
    "bound": "bounds", "Bound": "bounds", "Extremum": "bounds", "BoundError": "errors",
    "softmax_jacobian_bounds": "bounds", "SoftmaxJacobianBounds": "bounds",
    "distribution": "distributions", "Distribution": "distributions", "Moments": "distributions",
    "exact_chain": "theory.chain", "ChainExpectations": "theory.chain", "gradient": "theory.gradient",
    "Gradient": "theory.gradient", "LogQuantity": "quantities", "QuantitySeries": "quantities",
    "Estimate": "expectations", "gaussian_expectation": "expectations", "preact_expectations": "expectations",
    "GradientProduct": "expectations", "gradient_product": "expectations",
    "MeanField": "theory.meanfield", "mean_field": "theory.meanfield", "critical_sigma_w2": "theory.criticality",
    "FixedPoint": "theory.meanfield", "SignalPropagation": "theory.meanfield",
    "signal_propagation": "theory.meanfield", "correlation_map": "theory.meanfield",
    "CriticalPoint": "theory.criticality", "critical_points": "theory.criticality",
    "bivariate_expectation": "theory.bivariate",
    "Initialisation": "theory.initialisation", "initialisation": "theory.initialisation",
    "selu_constants": "theory.initialisation", "gain_table": "theory.initialisation",
    "Convention": "theory.initialisation",
    "window": "theory.window", "widest_window": "theory.window", "Window": "theory.window",
    "WidestWindow": "theory.window", "Endpoint": "theory.window",
    "ArgumentError": "errors", "DepthError": "errors", "ConvergenceError": "errors",  # expectations
    "Stat": "montecarlo", "ScaledStat": "montecarlo", "Check": "montecarlo", "ChainSimulation": "montecarlo",
    "WideSimulation": "montecarlo", "Simulation": "montecarlo", "simulate_chain": "montecarlo",
    "chain_log_products": "montecarlo", "simulate_wide": "montecarlo", "simulate": "montecarlo",
    "SimulationError": "errors",  # montecarlo
    "save": "figures", "write_figures": "figures", "figure_names": "figures", "FigureFiles": "figures",
    "Budget": "figures", "write_report": "report", "build_report": "report", "Report": "report",
    "UnknownFigure": "errors", "OutputError": "errors",  # figures
    "SweepSpec": "sweep", "SweepResult": "sweep", "load_spec": "sweep", "run_sweep": "sweep",
    "SweepSpecError": "errors", "ClusterError": "errors", "sweep_heatmap": "plotting",
    "plot_activation": "figures", "plot_gradient_depth": "figures", "plot_preactivation_law": "figures", "plot_histogram": "figures",
    "plot_phase_diagram": "figures", "plot_dying_relu": "figures", "plot_sweep": "figures",
    "depth_table": "tables", "DepthTable": "tables", "aliases": "activations", "expression_activation": "parsing",
    "Step": "proofs",
    "haar_orthogonal": "distributions", "finite_width": "theory.finite_width", "FiniteWidth": "theory.finite_width",
    "spectrum": "theory.spectrum", "Spectrum": "theory.spectrum", "spectrum_moments": "theory.spectrum",
    "spectral_density": "theory.spectrum", "sample_spectrum": "theory.spectrum",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analytic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
