"""Sphinx configuration of the fairopt documentation (``make docs``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import fairopt

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))  # the gallery's figure scraper

project = "fairopt"
author = "The fairopt developers"
copyright = "2026, The fairopt developers"
release = fairopt.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py", "auto_examples/*.zip"]
html_theme = "alabaster"
html_static_path: list = []
html_title = f"fairopt {release}"

autosummary_generate = True
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"  # numpydoc writes the types from the docstrings
numpydoc_show_class_members = False  # attributes and methods are listed in the docstrings themselves
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}  # no network during the build

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # fairopt draws on matplotlib Figures outside pyplot: the scraper saves the ones an example leaves.
    "image_scrapers": ("gallery_scraper.fairopt_figures",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "plot_gallery": os.environ.get("FAIROPT_DOCS_PLOT", "True"),
    "within_subsection_order": "FileNameSortKey",
}
