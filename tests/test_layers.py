"""The package's layering rule: a module imports only from its own layer or below, without cycles.

The layers are the subpackages of ``mne_dac``. Imports made inside functions and under
``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import mne_dac

#: The layers (subpackages), lowest first.
LAYERS = ["utils", "signal", "models", "codecs", "io", "adapters", "training", "evaluation", "commands"]
RANK = {layer: rank for rank, layer in enumerate(LAYERS)}
PACKAGE = Path(mne_dac.__file__).parent
TESTS = Path(__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _layer(module: str) -> str:
    return module.split(".")[0] if module.split(".")[0] in RANK else "utils"  # _version: the package's own


def _imports(module: str) -> set[str]:
    """The mne_dac modules that ``module`` imports, wherever the import statement is."""
    path, found = MODULES[module], set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] if package else [])
                target = ".".join(filter(None, [base, node.module or ""]))
            elif (node.module or "").startswith("mne_dac"):
                target = node.module.removeprefix("mne_dac").lstrip(".")
            else:
                continue
            names = [f"{target}.{a.name}".lstrip(".") for a in node.names]
            found |= {n for n in names if n in MODULES} or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("mne_dac.") for a in node.names if a.name.startswith("mne_dac.")}
    return {m for m in found if m in MODULES and m} - {module}


GRAPH = {module: _imports(module) for module in MODULES if module}


def test_every_module_is_in_a_layer():
    top_level = sorted(m for m in MODULES if m and "." not in m and m not in RANK)
    assert top_level == ["_version"]
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()) == sorted(LAYERS)


def test_imports_go_down():
    upward = [
        f"{module} ({_layer(module)}) imports {target} ({_layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if RANK[_layer(target)] > RANK[_layer(module)]
    ]
    assert upward == []


def test_no_import_cycle():
    visiting, done, cycles = [], set(), []

    def visit(module: str) -> None:
        visiting.append(module)
        for target in sorted(GRAPH[module]):
            if target in visiting:
                cycles.append(" -> ".join([*visiting[visiting.index(target) :], target]))
            elif target not in done:
                visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(GRAPH):
        if module not in done:
            visit(module)
    assert cycles == []


@pytest.mark.parametrize("layer", LAYERS)
def test_tests_mirror_the_layers(layer):
    """Every layer but the utilities has its tests in ``tests/<layer>/``."""
    if layer != "utils":
        assert list((TESTS / layer).glob("test_*.py"))
