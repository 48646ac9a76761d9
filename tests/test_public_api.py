"""The public API is __all__, and every name in it resolves."""
from __future__ import annotations

import subprocess
import sys

import analytic
from hang_guard import WALL_SECONDS


def test_every_public_name_resolves():
    missing = [name for name in analytic.__all__ if getattr(analytic, name, None) is None]
    assert not missing


def test_importing_the_package_is_light():
    code = "import sys, analytic; print(sorted(m for m in ('sympy', 'numpy', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WALL_SECONDS)
    assert out.stdout.strip() == "[]"


def test_unknown_attribute_raises():
    try:
        analytic.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")


def test_the_sections_are_a_map_of_every_public_name_once():
    listed = [n for names in analytic.SECTIONS.values() for n in names]
    assert len(listed) == len(set(listed))  # no name in two sections
    assert set(listed) == set(analytic.__all__) - {"__version__"}
    assert analytic.__all__[:-1] == listed  # __all__ follows the sections
    assert {"exact_chain", "depth_table", "independence_product"} <= set(analytic.SECTIONS["chain"])
    assert "sigma_w2_range" in analytic.SECTIONS["wide"]
