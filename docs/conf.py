"""Sphinx configuration: numpydoc API reference and a sphinx-gallery of every figure kind."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("NEURON_MODULE_OPTIONS", "-nogui")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "examples" / "gallery"))  # the gallery's shared _runs helper

import signals  # noqa: E402
from signals.cli import build_parser  # noqa: E402

project = "signals"
author = "the signals developers"
copyright = "the signals developers"  # noqa: A001  (Sphinx's name for it)
release = signals.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

html_theme = "pydata_sphinx_theme"
html_title = "signals"
html_theme_options = {"navigation_with_keys": False}
exclude_patterns = ["_build", "generated/cli_*.txt"]

templates_path = ["_templates"]
autosummary_generate = True
autodoc_default_options = {"members": True, "inherited-members": False}
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

intersphinx_mapping = {}  # the build needs no network; types link within these pages only

sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples" / "gallery"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"(^|[\\/])(__init__|_runs)\.py$",  # the name or the whole path
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "remove_config_comments": True,
    "download_all_examples": False,
    "within_subsection_order": "FileNameSortKey",
    "abort_on_example_error": True,
    "show_memory": False,
}

# The CLI reference is the parser's own help, written at build time so it cannot drift.
generated = HERE / "generated"
generated.mkdir(exist_ok=True)
parser = build_parser()
(generated / "cli_signals.txt").write_text(parser.format_help())
for name, sub in parser._subparsers._group_actions[0].choices.items():
    (generated / f"cli_{name}.txt").write_text(sub.format_help())
