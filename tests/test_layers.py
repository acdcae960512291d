"""The package's layering rule: a module imports only from its own layer or below, without cycles.

Imports made inside functions and under ``TYPE_CHECKING`` count too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import mne_dac

#: Layers, lowest first; each module belongs to exactly one.
LAYERS = {
    "utilities": {"_atomic", "_deprecation", "_docs", "_imports", "_json", "_logging", "_threads", "_version"},
    "signal": {"preprocessing", "channels", "groups", "metrics", "viz"},
    "models": {"dac_model", "euclidean_vq", "mc_model", "token_model"},
    "codecs": {"codec", "mc_codec", "loading"},
    "tokens and I/O": {"tokens", "container", "raw", "recordings", "bulk"},
    "adapters": {"epoch_coding", "transformer", "windows"},
    "training": {"training", "crops", "data_init", "recipe", "losses", "finetune"},
    "evaluation": {"baselines", "downstream", "corpora", "datasets", "demo", "testing"},
    "commands": {"cli"},
}
RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}
PACKAGE = Path(mne_dac.__file__).parent


def _imports(path: Path) -> set[str]:
    """The mne_dac modules that ``path`` imports, wherever the import statement is."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            absolute = node.level == 0 and (node.module or "").startswith("mne_dac")
            if node.level == 1 or absolute:
                module = (node.module or "").removeprefix("mne_dac").lstrip(".")
                found |= {module.split(".")[0]} if module else {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("mne_dac.")}
    return found & set(RANK)


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p) - {p.stem} for p in PACKAGE.glob("*.py") if p.stem != "__init__"}


def test_every_module_has_a_layer():
    assert sorted(set(_graph()) - set(RANK)) == []
    assert sorted(set(RANK) - set(_graph())) == []


def test_imports_go_down():
    upward = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in _graph().items()
        for target in targets
        if RANK[target] > RANK[module]
    ]
    assert upward == []


def test_no_import_cycle():
    graph = _graph()
    visiting, done, cycles = [], set(), []

    def visit(module: str) -> None:
        visiting.append(module)
        for target in sorted(graph[module]):
            if target in visiting:
                cycles.append(" -> ".join([*visiting[visiting.index(target) :], target]))
            elif target not in done:
                visit(target)
        visiting.pop()
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module)
    assert cycles == []


def layer(module: str) -> str:
    return next(name for name, modules in LAYERS.items() if module in modules)
