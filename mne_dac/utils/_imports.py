"""Lazy imports of the heavy dependencies, with actionable errors."""

from __future__ import annotations

from importlib import import_module, metadata
from types import ModuleType

#: The torch/torchaudio pair known to load together with descript-audio-codec.
TESTED_TORCH = "2.11.0"


def _installed_version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def import_dac() -> ModuleType:
    """Import :mod:`dac` (descript-audio-codec) or explain why it cannot load.

    ``dac`` imports ``audiotools``, which imports ``torchaudio``. A torchaudio
    built against another torch fails with an obscure ``OSError`` (for example
    ``libc10_cuda.so`` missing); this turns it into an error naming both versions.

    Returns
    -------
    module : module
        The :mod:`dac` module.
    """
    try:
        return import_module("dac")
    except (OSError, ImportError) as err:
        torch_v = _installed_version("torch")
        torchaudio_v = _installed_version("torchaudio")
        dac_v = _installed_version("descript-audio-codec")
        if dac_v == "not installed":
            raise ImportError("mne-dac needs descript-audio-codec: pip install descript-audio-codec") from err
        raise ImportError(
            "descript-audio-codec could not be imported because torchaudio "
            f"({torchaudio_v}) does not load against the installed torch ({torch_v}). "
            "torchaudio must be built for the exact torch release. Install a matching "
            f'pair, e.g. pip install "torch=={TESTED_TORCH}" "torchaudio=={TESTED_TORCH}". '
            f"Original error: {type(err).__name__}: {err}"
        ) from err


def import_torch() -> ModuleType:
    """Import :mod:`torch`."""
    return import_module("torch")
