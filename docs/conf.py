"""Sphinx configuration: MyST Markdown pages, notebooks executed at build time, the API from the docstrings.

The build needs no network: no intersphinx, no remote images. ``sphinx-build -W -b html docs OUT`` turns every
warning into an error, and a cell that raises stops the build (``nb_execution_raise_on_error``), so a page whose
numbers stop agreeing with the library fails it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")
# the executed pages import this tree's package, whatever is installed
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import analytic  # noqa: E402

project = "activation-analytic"
author = "activation-analytic contributors"
copyright = "activation-analytic contributors, MIT licence"
release = version = analytic.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
exclude_patterns = ["_build", "jupyter_execute", ".jupyter_cache", "**.ipynb_checkpoints"]

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3

# notebooks: executed at every build, in a fresh kernel per page; a raised exception fails the build
nb_execution_mode = "force"
nb_execution_timeout = 300
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_preserve_defaults = True
napoleon_google_docstring = False
napoleon_numpy_docstring = True

html_theme = "furo"
html_title = f"activation-analytic {release}"
html_static_path: list[str] = []
html_last_updated_fmt = None


def _napoleon_for_callables_only(app) -> None:
    """Napoleon reads the words before the first colon of a constant's ``#:`` comment as its type; the comments
    here are prose ("Tolerance of the re-check: ..."), so constants and attributes keep their text as written."""
    from sphinx.ext import napoleon

    for listener in list(app.events.listeners.get("autodoc-process-docstring", [])):
        if listener.handler is napoleon._process_docstring:
            app.disconnect(listener.id)

    def process(app, what, name, obj, options, lines):
        if what not in ("data", "attribute"):
            napoleon._process_docstring(app, what, name, obj, options, lines)

    app.connect("autodoc-process-docstring", process)


def setup(app):
    _napoleon_for_callables_only(app)
