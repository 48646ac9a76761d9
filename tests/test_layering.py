"""Lower modules never import higher ones (STYLE.md, habit 12)."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "analytic"
ORDER = ["errors", "outputs", "registry", "activations", "parsing", "calculus", "bounds", "distributions", "expectations",
         "montecarlo", "sweep", "plotting", "figures", "report", "cli"]


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level >= 1:
            if node.module:
                found.add(node.module.split(".")[0])
            else:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("analytic."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("analytic."))
    return found


def test_every_module_has_a_place_in_the_order():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules <= set(ORDER), f"place {sorted(modules - set(ORDER))} in ORDER"


def test_no_module_imports_a_higher_one():
    rank = {name: i for i, name in enumerate(ORDER)}
    violations = []
    for path in PACKAGE.glob("*.py"):
        if path.stem == "__init__":
            continue
        for imported in _imports(path):
            if imported in rank and rank[imported] >= rank[path.stem]:
                violations.append(f"{path.stem} imports {imported}")
    assert not violations, violations


def test_the_check_sees_a_violation(tmp_path):
    bad = tmp_path / "registry.py"
    bad.write_text("from .cli import main\nfrom analytic.figures import save\n")
    assert _imports(bad) == {"cli", "figures"}
