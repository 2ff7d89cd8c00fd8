"""Sphinx configuration of the minisnu site.

Build it from the repository root (after ``pip install -e ".[docs]"``)::

    python -m sphinx -W -b html docs docs/_build/html

The tutorials are executed during the build, in their quick mode (``--quick``), by
sphinx-gallery; every figure on a tutorial page is drawn by the code above it. The API
reference is generated from the docstrings (NumPy style, equations in ``.. math::``).
"""

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))                  # document this checkout, not another install
sys.path.insert(0, str(DOCS / "sphinxext"))    # the gallery's hooks, imported by name below

import minisnu  # noqa: E402

project = "minisnu"
author = "the minisnu authors"
copyright = "the minisnu authors, MIT license"
release = version = minisnu.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",       # MathJax served with the site: the pages need no network
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "tutorial_gallery",
]

highlight_language = "none"     # literal blocks hold equations; code is marked as Python where it is code
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build"]
templates_path = ["_templates"]
nitpicky = True                 # a cross-reference that points nowhere is a warning, so an error

# --- API reference ------------------------------------------------------------------------
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "undoc-members": True, "show-inheritance": True,
                           "ignore-module-all": True}
autodoc_member_order = "bysource"
autodoc_typehints = "none"          # the docstrings say the types and shapes in words
numpydoc_show_class_members = False  # autodoc lists the members; numpydoc renders the sections
numpydoc_xref_param_type = False
numpydoc_class_members_toctree = False

# --- the tutorials ------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../tutorials",
    "gallery_dirs": "tutorials",                 # generated here, ignored by git
    "filename_pattern": r"/[0-9][0-9]_",         # execute every numbered tutorial
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "tutorial_gallery.quick_argv",  # ... in its quick mode, figures into the build
    "image_scrapers": ("matplotlib", "tutorial_gallery.written_figures"),
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "show_signature": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "capture_repr": (),
    "min_reported_time": 1,
}

# --- Markdown pages (README and RESULTS are included as they are) -------------------------
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 3

# --- HTML ---------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"minisnu {release}"
html_static_path = ["_static"]
html_css_files = ["minisnu.css"]
html_favicon = "_static/favicon.svg"   # without one the browser asks for /favicon.ico and logs a 404
html_context = {"default_mode": "light"}   # no stored choice on a first visit: light, without a console error
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_show_sourcelink = False
