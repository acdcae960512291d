"""The API page (``doc/api.rst``) lists every public object of mne-dac.

Public: in each module ``mne_dac/<layer>/<name>.py`` whose name does not start with ``_``
(except the utilities, which are private, and the commands, which have their own page made
from their parser), every module-level
function and class whose name does not start with ``_``, and every module-level UPPERCASE
constant. Read from the sources and the page's text: no import, no Sphinx build.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mne_dac"
API_PAGE = ROOT / "doc" / "api.rst"

_CURRENTMODULE = re.compile(r"^\s*\.\. currentmodule::\s+(\S+)\s*$")
_AUTODOC = re.compile(r"^\s*\.\. auto(?:data|class|function|exception|attribute)::\s+(\S+)")
_AUTOSUMMARY = re.compile(r"^(\s*)\.\. autosummary::")


def documented_names(text: str) -> set[str]:
    """Full names (``mne_dac.module.name``) that an API page lists.

    ``autosummary`` entries and ``autodata``, ``autoclass``, ``autofunction``… directives,
    relative to the last ``currentmodule`` unless they start with ``mne_dac``.
    """
    module = "mne_dac"
    names = set()
    summary_indent = None  # indentation of the autosummary directive we are in, if any

    def add(name: str) -> None:
        name = name.lstrip("~")
        names.add(name if name.split(".")[0] == "mne_dac" else f"{module}.{name}")

    for line in text.splitlines():
        if summary_indent is not None:
            indent = len(line) - len(line.lstrip())
            if not line.strip():
                continue
            if indent > summary_indent:
                entry = line.strip()
                if not entry.startswith(":"):  # not an option such as :toctree:
                    add(entry.split()[0])
                continue
            summary_indent = None
        if m := _CURRENTMODULE.match(line):
            module = m.group(1)
        elif m := _AUTODOC.match(line):
            add(m.group(1))
        elif m := _AUTOSUMMARY.match(line):
            summary_indent = len(m.group(1))
    return names


def public_modules() -> list[Path]:
    """The modules whose objects the API page documents."""
    return [
        p
        for p in sorted(PACKAGE.glob("*/*.py"))
        if not p.stem.startswith("_") and p.parent.name not in ("utils", "commands")
    ]


def public_names(tree: ast.Module) -> list[str]:
    """Module-level public functions, classes and UPPERCASE constants, in source order."""
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if not node.name.startswith("_"):
                names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                    if isinstance(t, ast.Name) and t.id.isupper() and not t.id.startswith("_"):
                        names.append(t.id)
    return list(dict.fromkeys(names))


def reexports() -> dict[str, str]:
    """``{name: module}`` of the objects ``mne_dac`` exports from its modules (lazily, ``__init__.pyi``)."""
    tree = ast.parse((PACKAGE / "__init__.pyi").read_text(encoding="utf-8"))
    return {
        alias.name: f"mne_dac.{node.module}"
        for node in tree.body
        if isinstance(node, ast.ImportFrom) and node.module
        for alias in node.names
    }


def test_documented_names_parser():
    text = """
.. currentmodule:: mne_dac

.. autosummary::
   :toctree: generated/

   load_codec
   ~mne_dac.signal.viz.plot_fidelity

Title
-----

.. currentmodule:: mne_dac.io.bulk

.. autodata:: INDEX_COLUMNS

.. autoclass:: mne_dac.codecs.codec.DACCodec
"""
    assert documented_names(text) == {
        "mne_dac.load_codec",
        "mne_dac.signal.viz.plot_fidelity",
        "mne_dac.io.bulk.INDEX_COLUMNS",
        "mne_dac.codecs.codec.DACCodec",
    }


def test_public_names_parser():
    tree = ast.parse("A = 1\n_B = 2\nc = 3\nD: int = 4\nE, F = 5, 6\ndef g(): pass\nclass H: pass\ndef _i(): pass\n")
    assert public_names(tree) == ["A", "D", "E", "F", "g", "H"]


def test_api_page_lists_every_public_object():
    documented = documented_names(API_PAGE.read_text(encoding="utf-8"))
    exported = reexports()
    missing = []
    for path in public_modules():
        module = "mne_dac." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
        for name in public_names(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            listed = f"{module}.{name}" in documented or (
                f"mne_dac.{name}" in documented and exported.get(name) == module
            )
            if not listed:
                missing.append(f"{module}.{name}")
    assert not missing, f"{len(missing)} public object(s) missing from {API_PAGE.relative_to(ROOT)}:\n" + "\n".join(
        missing
    )
