"""The flat layout's module paths (``mne_dac.codec``…), forwarded to their layer for one release.

``import mne_dac.codec`` and ``mne_dac.codec`` still work, with a :class:`FutureWarning` that
names the new path, and return the module itself (so ``monkeypatch`` and pickles see one object).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from types import ModuleType

#: Old module name (under ``mne_dac``) -> its path in the layered tree.
MOVED_MODULES = {
    **dict.fromkeys(["_atomic", "_deprecation", "_docs", "_imports", "_json", "_logging", "_threads"], "utils"),
    **dict.fromkeys(["preprocessing", "channels", "groups", "metrics", "viz"], "signal"),
    **dict.fromkeys(["dac_model", "euclidean_vq", "mc_model", "token_model"], "models"),
    **dict.fromkeys(["codec", "mc_codec", "loading"], "codecs"),
    **dict.fromkeys(["tokens", "container", "raw", "recordings", "bulk"], "io"),
    **dict.fromkeys(["epoch_coding", "transformer", "windows"], "adapters"),
    **dict.fromkeys(["crops", "data_init", "recipe", "losses", "finetune"], "training"),
    **dict.fromkeys(["baselines", "downstream", "corpora", "datasets", "demo", "testing"], "evaluation"),
}
MOVED_MODULES = {old: f"mne_dac.{layer}.{old}" for old, layer in MOVED_MODULES.items()}
MOVED_MODULES["cli"] = "mne_dac.commands"


def import_moved(name: str) -> ModuleType:
    """Import the module that ``mne_dac.<name>`` was, with a FutureWarning naming its new path."""
    new = MOVED_MODULES[name]
    warnings.warn(
        f"mne_dac.{name} moved to {new}; the old path will be removed in the next release.",
        FutureWarning,
        stacklevel=3,
    )
    return importlib.import_module(new)


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``mne_dac.<old name>`` and loads the moved module in its place."""

    def find_spec(self, fullname: str, path=None, target=None):  # noqa: D102
        package, _, name = fullname.rpartition(".")
        if package != "mne_dac" or name not in MOVED_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):  # noqa: D102
        return None

    def exec_module(self, module: ModuleType) -> None:  # noqa: D102
        # The import system returns what sys.modules holds once this returns: the moved module.
        sys.modules[module.__name__] = import_moved(module.__name__.rpartition(".")[2])


def install() -> None:
    """Forward the old module paths (once per interpreter).

    The finder goes first, so that no stale file of the flat layout (an old editable install)
    shadows the moved module.
    """
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
