"""Warnings attributed to the user's code, as MNE attributes its own."""

from __future__ import annotations

from mne.utils import warn as _mne_warn


def warn(message: str, category: type[Warning] = RuntimeWarning) -> None:
    """Emit a warning from the first frame outside MNE and mne-dac (the user's call).

    The warning then points at the user's line, not at mne-dac's source.
    """
    _mne_warn(message, category, module="mne_dac", ignore_namespaces=("mne", "mne_dac"))
