"""Lower modules never import higher ones: a module imports only modules listed before it in ORDER.

Modules are named by their dotted path below ``analytic`` (``calculus``, ``theory.chain``); a subpackage's
``__init__`` is named by the subpackage. ORDER lists them from the lowest layer to the highest.
"""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "analytic"
ORDER = ["budget", "errors", "limits", "quantities",
         "core", "core.files", "core.display", "core.registry", "core.special", "core.activations", "core.domain",
         "core.parsing", "core.fastforms", "core.calculus", "core.logforms",
         "bounds.proof", "bounds.result", "bounds.interval", "bounds.notation", "bounds.candidates", "bounds.pieces",
         "bounds.tails", "bounds.certified", "bounds.substitution", "bounds.softmax", "bounds.exact", "bounds",
         "distributions.base", "distributions.laws", "distributions.matrices", "distributions",
         "architecture",
         "theory", "theory.undefined", "theory.gaussian", "theory.independence", "theory.accuracy", "theory.transfer", "theory.residual", "theory.chain", "theory.recurrent", "theory.typical", "theory.gradient",
         "theory.bivariate", "theory.meanfield", "theory.residual_meanfield", "theory.batch_sphere", "theory.normalisation", "theory.correlation", "theory.criticality", "theory.sigma_range", "theory.initialisation", "theory.window",
         "theory.profile", "theory.finite_width", "theory.spectral_moments", "theory.density", "theory.sampled_spectrum",
         "theory.spectrum",
         "mc.stats", "mc.results", "mc.residual", "mc.chain", "mc.born_dead", "mc.wide", "mc.residual_wide", "mc.normalised", "mc", "compare", "compare_normalised",
         "sweep.spec", "sweep.tasks", "sweep.store", "sweep.heatmap", "sweep.executors", "sweep",
         "output", "output.tables", "output.plotting", "output.network_plotting", "output.style", "output.save",
         "output.budget", "output.selection", "output.panels", "output.network_panels", "output.layer_panels", "output.normalisation_panels", "output.architecture_panels", "output.api", "output.workers", "output.figures",
         "output.sections", "output.latex", "output.report", "output.explorer",
         "cli.command", "cli.options", "cli.text", "cli.normalisation", "cli.catalogue", "cli.theory", "cli.simulation", "cli.documents",
         "cli.sweep", "cli", "__main__"]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py") if _module_name(p)}


def _imports(path: Path, name: str = "") -> set[str]:
    """Modules of the package that ``path`` (the module ``name``) imports, as dotted names below ``analytic``."""
    package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".") if name else []
    known = set(ORDER)
    found = set()

    def add(dotted: list[str]) -> None:
        # the longest prefix that is a known module ("theory.chain" over "theory")
        for k in range(len(dotted), 0, -1):
            if ".".join(dotted[:k]) in known:
                found.add(".".join(dotted[:k]))
                return
        if dotted:
            found.add(dotted[0])

    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            base = package[:len(package) - (node.level - 1)] if node.level > 1 else list(package)
            if node.module:
                add(base + node.module.split("."))
            else:
                for alias in node.names:
                    add(base + [alias.name])
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytic."):
            add(node.module.split(".")[1:])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("analytic."):
                    add(a.name.split(".")[1:])
    return found


def test_every_module_has_a_place_in_the_order():
    modules = set(_modules())
    assert modules <= set(ORDER), f"place {sorted(modules - set(ORDER))} in ORDER"


def test_no_module_imports_a_higher_one():
    rank = {name: i for i, name in enumerate(ORDER)}
    violations = []
    for name, path in _modules().items():
        for imported in _imports(path, name):
            if imported in rank and rank[imported] > rank[name]:
                violations.append(f"{name} imports {imported}")
    assert not violations, violations


def test_the_check_sees_a_violation(tmp_path):
    bad = tmp_path / "registry.py"
    bad.write_text("from .cli import main\nfrom analytic.output.figures import save\n")
    assert _imports(bad, "registry") == {"cli", "output.figures"}


def test_the_check_resolves_imports_inside_a_subpackage(tmp_path):
    bad = tmp_path / "chain.py"
    bad.write_text("from ..mc import simulate\nfrom .meanfield import x\nfrom ..core.calculus import resolve\n")
    assert _imports(bad, "theory.chain") == {"mc", "theory.meanfield", "core.calculus"}
