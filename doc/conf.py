"""Sphinx configuration of the mne-dac documentation.

Build (offline, warnings are errors)::

    python -m sphinx -W --keep-going -b html doc doc/_build/html

or ``make -C doc html``. ``make -C doc html-noplot`` skips running the gallery scripts.
Cross-references to other projects' documentation (intersphinx) need the network, so
they are off unless the environment variable ``MNE_DAC_INTERSPHINX=1`` is set.
"""

from __future__ import annotations

import os
import re
import sys
from datetime import date
from pathlib import Path

from docutils import nodes

# Headless plotting, also for the gallery scripts that sphinx-gallery runs.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("MNE_BROWSER_BACKEND", "matplotlib")

import matplotlib  # noqa: E402

matplotlib.use("Agg")

# Document the package of this checkout even when it is not installed.
_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(_ROOT))

import mne_dac  # noqa: E402

# -- Project information -----------------------------------------------------

project = "mne-dac"
author = "mne-dac developers"
copyright = f"2025-{date.today().year}, {author}"
release = mne_dac.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext"}

templates_path = ["_templates"]
# ``generated/cli_commands.rst`` is written from the parser (below) and included by
# ``cli.rst``; it is no page of its own.
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "generated/cli_commands.rst"]
root_doc = "index"
default_role = "py:obj"
# Unresolved references are not reported (the build is offline, see intersphinx
# below); every other warning fails the build (``-W``).
nitpicky = False

# -- autodoc / autosummary ---------------------------------------------------

autosummary_generate = True
autodoc_default_options = {"members": True}
# Types are documented by numpydoc in the docstrings, not in the signatures.
autodoc_typehints = "none"

# -- numpydoc ----------------------------------------------------------------

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = True
numpydoc_xref_aliases = {
    # NumPy
    "array": "numpy.ndarray",
    "ndarray": "numpy.ndarray",
    # MNE
    "Raw": "mne.io.Raw",
    "Info": "mne.Info",
    "Epochs": "mne.Epochs",
    "Annotations": "mne.Annotations",
    # torch
    "Tensor": "torch.Tensor",
    "device": "torch.device",
    # mne-dac
    "DACCodec": "mne_dac.DACCodec",
    "CodecIdentity": "mne_dac.CodecIdentity",
    "PreprocessingSettings": "mne_dac.PreprocessingSettings",
    "EEGTokens": "mne_dac.EEGTokens",
}
# No :term: aliases: a term missing from the (offline) inventories is a warning even
# when ``nitpicky`` is off.
numpydoc_xref_ignore = {
    "path-like",
    "file-like",
    "array-like",
    "of",
    "or",
    "and",
    "shape",
    "optional",
    "default",
    "instance",
    "like",
    "n_channels",
    "n_times",
    "n_codebooks",
    "n_frames",
    "n_windows",
    "n_epochs",
}

# -- intersphinx (optional: needs the network) -------------------------------

_INTERSPHINX = os.environ.get("MNE_DAC_INTERSPHINX", "0") == "1"
_INVENTORIES = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable", None),
    "mne": ("https://mne.tools/stable", None),
    "torch": ("https://docs.pytorch.org/docs/stable", None),
    "sklearn": ("https://scikit-learn.org/stable", None),
    "braindecode": ("https://braindecode.org/stable", None),
}
intersphinx_mapping = _INVENTORIES if _INTERSPHINX else {}
intersphinx_timeout = 10

# Labels of other projects' documentation used without an inventory prefix by
# docstrings that mne-dac takes from MNE (``%(verbose)s`` of ``mne.utils.verbose``).
_EXTERNAL_LABELS = {"tut-logging"}


def _offline_missing_reference(app, env, node, contnode):
    """Render references into other projects' documentation as plain text offline.

    Without intersphinx, references to other projects cannot resolve: numpydoc writes
    types such as ``int`` as ``:class:`python:int``` and ``bool`` as
    ``:ref:`bool <python:bltin-boolean-values>```, and MNE's ``%(verbose)s`` points to
    its label ``tut-logging``. ``:ref:`` and ``:term:`` warn when unresolved even with
    ``nitpicky`` off, and the others would show their ``python:`` prefix; show their
    text instead. Unresolved references within mne-dac still warn.
    """
    target = node.get("reftarget", "")
    prefix, sep, _ = target.partition(":")
    if not (sep and prefix in _INVENTORIES) and target not in _EXTERNAL_LABELS:
        return None
    text = contnode.astext()
    if sep and text.startswith(prefix + ":"):
        new = contnode.copy()  # same node type and classes, without children
        new += nodes.Text(text[len(prefix) + 1 :])
        return new
    return contnode


# -- Command-line page -------------------------------------------------------

_CLI_COMMANDS = Path(__file__).resolve().parent / "generated" / "cli_commands.rst"
# Width of the ``--help`` texts: the page does not depend on the terminal of the build.
_CLI_COLUMNS = "100"


def _cli_commands_rst() -> str:
    """The ``--help`` of ``mne-dac`` and of each of its subcommands, as reST."""
    import argparse

    from mne_dac.commands import build_parser

    def section(title: str, summary: str | None, parser: argparse.ArgumentParser) -> list[str]:
        help_text = parser.format_help().rstrip()
        lines = [title, "-" * len(title), ""]
        if summary:  # the command's one-line help, as plain text
            summary = re.sub(r"([\\`*_|])", r"\\\1", summary[0].upper() + summary[1:])
            lines += [summary + ("" if summary.endswith(".") else "."), ""]
        lines += [".. code-block:: text", ""]
        lines += [f"   {line}" if line.strip() else "" for line in help_text.splitlines()]
        return [*lines, ""]

    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = _CLI_COLUMNS  # read by argparse when it formats the help
    try:
        parser = build_parser()
        lines = [
            ".. This file is generated by doc/conf.py from mne_dac.commands.build_parser: do not edit.",
            "",
            *section(f"``{parser.prog}``", None, parser),
        ]
        subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        summaries = {action.dest: action.help for action in subparsers._choices_actions}
        seen = set()
        for name, subparser in subparsers.choices.items():
            if id(subparser) in seen or summaries.get(name) == argparse.SUPPRESS:  # alias, or hidden
                continue
            seen.add(id(subparser))
            lines += section(f"``{subparser.prog}``", summaries.get(name), subparser)
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    return "\n".join(lines).rstrip() + "\n"


def _write_cli_commands(app) -> None:
    """Write ``generated/cli_commands.rst``, unless it is up to date (no needless rebuild)."""
    text = _cli_commands_rst()
    if not _CLI_COMMANDS.is_file() or _CLI_COMMANDS.read_text(encoding="utf-8") != text:
        _CLI_COMMANDS.parent.mkdir(parents=True, exist_ok=True)
        _CLI_COMMANDS.write_text(text, encoding="utf-8")


def _no_type_docstring(app, what, name, obj, options, lines):
    """Drop the docstring of a constant's type (``str``, ``bytes``…) that autodoc shows for a
    constant without a ``#:`` comment."""
    doc = getattr(type(obj), "__doc__", None)
    if what in ("data", "attribute") and doc and " ".join("\n".join(lines).split()) == " ".join(doc.split()):
        lines.clear()


def setup(app):
    """Write the command-line page; connect the offline reference handler when intersphinx is off."""
    app.connect("builder-inited", _write_cli_commands)
    # Before numpydoc (priority 500) rewrites the docstring.
    app.connect("autodoc-process-docstring", _no_type_docstring, priority=100)
    if not _INTERSPHINX:
        app.connect("missing-reference", _offline_missing_reference)


# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": ["../tutorials", "../examples"],
    "gallery_dirs": ["auto_tutorials", "auto_examples"],
    # Run the numbered scripts (``10_*.py``); others are shown without running.
    "filename_pattern": r"/\d+_",
    "ignore_pattern": r"__init__\.py|/_",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "reset_modules": ("matplotlib",),
    "doc_module": ("mne_dac",),
    "reference_url": {"mne_dac": None},
    "backreferences_dir": "generated",
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"mne-dac {release}"
html_theme_options = {
    "icon_links": [
        {
            "name": "GitHub",
            "url": "https://github.com/mne-tools/mne-dac",
            "icon": "fa-brands fa-github",
        },
    ],
    "navigation_with_keys": False,
    "show_toc_level": 1,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
}
html_show_sourcelink = False
