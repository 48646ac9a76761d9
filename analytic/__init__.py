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
    "Activation": "core.registry", "BoundActivation": "core.registry", "TorchGain": "core.registry", "Param": "core.registry", "Kink": "core.registry", "X": "core.registry",
    "get": "core.activations", "names": "core.activations", "catalogue": "core.activations",
    "sigmoid": "core.special", "softplus": "core.special", "to_elementary": "core.special",
    "SELU_ALPHA": "core.activations", "SELU_SCALE": "core.activations",
    "parse_formula": "core.parsing", "parse_spec": "core.parsing", "user_activation": "core.parsing",
    "resolve": "core.calculus", "derivative": "core.calculus", "numpy_function": "core.calculus", "numpy_pair": "core.calculus",
    "derive": "core.calculus", "Derivation": "core.calculus", "latex": "core.calculus",
    "AnalyticError": "errors", "UnknownActivation": "errors", "FormulaError": "errors", "SpecError": "errors",
    "ParameterError": "errors", "ComputationTimeout": "errors",
    "bound": "bounds", "Bound": "bounds", "Extremum": "bounds", "BoundError": "errors",
    "softmax_jacobian_bounds": "bounds", "SoftmaxJacobianBounds": "bounds",
    "distribution": "distributions", "Distribution": "distributions.base", "Moments": "distributions.base",
    "exact_chain": "theory.chain", "ChainExpectations": "theory.chain", "gradient": "theory.gradient",
    "recurrent_chain": "theory.recurrent", "RecurrentChain": "theory.recurrent", "pascanu": "theory.recurrent",
    "Pascanu": "theory.recurrent",
    "Gradient": "theory.gradient", "LogQuantity": "quantities", "QuantitySeries": "quantities",
    "Estimate": "theory.gaussian", "gaussian_expectation": "theory.gaussian", "preact_expectations": "theory.gaussian",
    "GradientProduct": "theory.independence", "gradient_product": "theory.independence",
    "MeanField": "theory.meanfield", "mean_field": "theory.meanfield", "critical_sigma_w2": "theory.criticality",
    "FixedPoint": "theory.meanfield", "SignalPropagation": "theory.correlation",
    "signal_propagation": "theory.correlation", "correlation_map": "theory.correlation",
    "CriticalPoint": "theory.criticality", "critical_points": "theory.criticality",
    "bivariate_expectation": "theory.bivariate",
    "Initialisation": "theory.initialisation", "initialisation": "theory.initialisation",
    "selu_constants": "theory.initialisation", "gain_table": "theory.initialisation",
    "Convention": "theory.initialisation",
    "window": "theory.window", "widest_window": "theory.window", "Window": "theory.window",
    "WidestWindow": "theory.window", "Endpoint": "theory.window",
    "ArgumentError": "errors", "DepthError": "errors", "ConvergenceError": "errors",  # expectations
    "Stat": "mc", "ScaledStat": "mc", "Check": "compare", "ChainSimulation": "mc",
    "WideSimulation": "mc", "Simulation": "compare", "simulate_chain": "mc",
    "chain_log_products": "mc", "simulate_wide": "mc", "simulate": "compare",
    "SimulationError": "errors",  # montecarlo
    "save": "output.save", "write_figures": "output.figures", "figure_names": "output.figures", "FigureFiles": "output.figures",
    "Budget": "output.budget", "write_report": "output.report", "build_report": "output.report", "Report": "output.report",
    "UnknownFigure": "errors", "OutputError": "errors",  # figures
    "SweepSpec": "sweep", "SweepResult": "sweep", "load_spec": "sweep", "run_sweep": "sweep",
    "SweepSpecError": "errors", "ClusterError": "errors", "sweep_heatmap": "output.network_plotting",
    "plot_activation": "output.api", "plot_gradient_depth": "output.api", "plot_preactivation_law": "output.api", "plot_histogram": "output.api",
    "plot_phase_diagram": "output.api", "plot_dying_relu": "output.api", "plot_sweep": "output.api",
    "depth_table": "output.tables", "DepthTable": "output.tables", "aliases": "core.activations", "expression_activation": "core.parsing",
    "Step": "bounds.proof",
    "haar_orthogonal": "distributions.matrices", "finite_width": "theory.finite_width", "FiniteWidth": "theory.finite_width",
    "spectrum": "theory.spectrum", "Spectrum": "theory.spectrum", "spectrum_moments": "theory.spectral_moments",
    "spectral_density": "theory.density", "sample_spectrum": "theory.sampled_spectrum",
    "Architecture": "architecture", "residual": "architecture", "recurrent": "architecture",
    "normalised": "architecture", "PLAIN": "architecture",
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
