r"""activation-analytic: why deep networks with some activations stop learning, with proofs and numbers.

The public API is :data:`__all__`. Attributes load on first use, so importing the package (and running the
command line's ``--help``) does not import SymPy or matplotlib.

The names are grouped in :data:`SECTIONS` (and :data:`__all__` follows that order), a map of the package:

* **activations** — the catalogue, formulas, symbolic φ′ (``get``, ``derive``, ``Derivation``…);
* **bounds** — proved sup/inf of φ′ and the windows where :math:`|w\varphi'| \ge 1` (``bound``, ``window``…);
* **laws** — weight/input distributions and the architecture record (``distribution``, ``residual``…);
* **chain** — one neuron per layer: the *exact chain* first (``exact_chain``, ``gradient``,
  ``depth_table(model="exact")``), the independence approximation named as such (``independence_product``);
* **wide** — width → ∞ (mean field, criticality, ``sigma_w2_range``), finite width, spectra, normalisation;
* **montecarlo** — the simulated twins (``simulate``, ``simulate_chain``, ``simulate_wide``…);
* **output** — figures, plots into your own axes, the report, sweeps;
* **errors** — the :class:`AnalyticError` family.

>>> import analytic
>>> analytic.derive("sigmoid").dphi
(1 - sigmoid(x))*sigmoid(x)
>>> "independence_product" in analytic.SECTIONS["chain"]
True
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
    "independence_product": "theory.independence",
    "MeanField": "theory.meanfield", "mean_field": "theory.meanfield", "critical_sigma_w2": "theory.criticality",
    "sphere_lambda": "theory.batch_sphere", "normalised_lambda": "theory.normalisation",
    "batchnorm_lambda": "theory.normalisation", "layernorm_lambda": "theory.normalisation",
    "ResidualMeanField": "theory.residual_meanfield", "residual_mean_field": "theory.residual_meanfield",
    "sigma_w2_range": "theory.sigma_range", "SigmaW2Range": "theory.sigma_range",
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
    "ResidualWideSimulation": "mc.residual_wide", "simulate_residual_wide": "mc.residual_wide",
    "SimulationError": "errors",  # montecarlo
    "save": "output.save", "write_figures": "output.figures", "figure_names": "output.figures", "FigureFiles": "output.figures",
    "write_explorer": "output.explorer", "ExplorerGrid": "output.explorer",
    "Budget": "output.budget", "write_report": "output.report", "build_report": "output.report", "Report": "output.report",
    "UnknownFigure": "errors", "OutputError": "errors",  # figures
    "SweepSpec": "sweep", "SweepResult": "sweep", "load_spec": "sweep", "run_sweep": "sweep",
    "SweepSpecError": "errors", "ClusterError": "errors", "sweep_heatmap": "output.network_plotting",
    "plot_activation": "output.api", "plot_gradient_depth": "output.api", "plot_preactivation_law": "output.api", "plot_histogram": "output.api",
    "plot_phase_diagram": "output.api", "plot_dying_relu": "output.api", "plot_sweep": "output.api",
    "plot_normalisation": "output.api",
    "plot_architectures": "output.api",
    "plot_layer_profile": "output.api", "plot_sparsity": "output.api", "plot_born_dead": "output.api",
    "layer_profile": "theory.profile", "LayerProfile": "theory.profile", "born_alive_probability": "theory.profile",
    "simulate_born_dead": "mc.born_dead", "BornDead": "mc.born_dead",
    "depth_table": "output.tables", "DepthTable": "output.tables", "aliases": "core.activations", "expression_activation": "core.parsing",
    "Step": "bounds.proof",
    "haar_orthogonal": "distributions.matrices", "finite_width": "theory.finite_width", "FiniteWidth": "theory.finite_width",
    "spectrum": "theory.spectrum", "Spectrum": "theory.spectrum", "spectrum_moments": "theory.spectral_moments",
    "spectral_density": "theory.density", "sample_spectrum": "theory.sampled_spectrum",
    "Architecture": "architecture", "residual": "architecture", "recurrent": "architecture",
    "normalised": "architecture", "PLAIN": "architecture",
}

#: The public names by section (a map of the package); a name in no section is listed under "other".
SECTIONS: dict[str, tuple[str, ...]] = {
    "activations": ("Activation", "BoundActivation", "TorchGain", "Param", "Kink", "X", "get", "names", "catalogue",
                    "aliases", "sigmoid", "softplus", "to_elementary", "SELU_ALPHA", "SELU_SCALE", "parse_formula",
                    "parse_spec", "user_activation", "expression_activation", "resolve", "derivative",
                    "numpy_function", "numpy_pair", "derive", "Derivation", "latex"),
    "bounds": ("bound", "Bound", "Extremum", "Step", "softmax_jacobian_bounds", "SoftmaxJacobianBounds", "window",
               "widest_window", "Window", "WidestWindow", "Endpoint"),
    "laws": ("distribution", "Distribution", "Moments", "haar_orthogonal", "Architecture", "residual", "recurrent",
             "normalised", "PLAIN"),
    "chain": ("exact_chain", "ChainExpectations", "gradient", "Gradient", "depth_table", "DepthTable",
              "LogQuantity", "QuantitySeries", "independence_product", "GradientProduct", "gradient_product",
              "Estimate", "gaussian_expectation", "preact_expectations"),
    "wide": ("mean_field", "MeanField", "FixedPoint", "signal_propagation", "SignalPropagation", "correlation_map",
             "bivariate_expectation", "critical_sigma_w2", "critical_points", "CriticalPoint", "initialisation",
             "Initialisation", "Convention", "selu_constants", "gain_table", "sigma_w2_range", "SigmaW2Range",
             "residual_mean_field", "ResidualMeanField", "sphere_lambda", "normalised_lambda", "batchnorm_lambda",
             "layernorm_lambda", "finite_width", "FiniteWidth", "spectrum", "Spectrum", "spectrum_moments",
             "spectral_density", "sample_spectrum"),
    "montecarlo": ("simulate", "Simulation", "Check", "simulate_chain", "ChainSimulation", "chain_log_products",
                   "simulate_wide", "WideSimulation", "simulate_residual_wide", "ResidualWideSimulation", "Stat",
                   "ScaledStat"),
    "output": ("plot_activation", "plot_gradient_depth", "plot_preactivation_law", "plot_histogram",
               "plot_phase_diagram", "plot_dying_relu", "plot_sweep", "plot_normalisation", "plot_architectures",
               "sweep_heatmap",
               "write_figures", "figure_names", "FigureFiles", "Budget", "save", "write_report", "build_report",
               "Report", "SweepSpec", "SweepResult", "load_spec", "run_sweep"),
    "errors": ("AnalyticError", "UnknownActivation", "FormulaError", "SpecError", "ParameterError",
               "ComputationTimeout", "BoundError", "ArgumentError", "DepthError", "ConvergenceError",
               "SimulationError", "UnknownFigure", "OutputError", "SweepSpecError", "ClusterError"),
}
SECTIONS = {k: tuple(n for n in v if n in _EXPORTS) for k, v in SECTIONS.items()}
SECTIONS["other"] = tuple(sorted(set(_EXPORTS) - {n for v in SECTIONS.values() for n in v}))

__all__ = [n for v in SECTIONS.values() for n in v] + ["__version__"]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'analytic' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
