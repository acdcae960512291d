"""Find and read EEG recordings: one list of file types for every folder mne-dac scans.

``mne-dac finetune DIR``, :class:`~mne_dac.training.crops.RandomCropDataset` and
:func:`~mne_dac.io.bulk.compress_dir` all see the same files in a folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import mne
from mne.utils import _validate_type

#: File name endings of recordings, as :func:`mne.io.read_raw` reads them, main files only (no
#: sidecars such as BrainVision's ``.vmrk`` or EEGLAB's ``.fdt``). See :data:`COMPANIONS` for the
#: files that are part of another recording.
RECORDING_EXTENSIONS = (
    ".vhdr",
    ".ahdr",
    ".eeg",
    ".fif",
    ".fif.gz",
    ".edf",
    ".bdf",
    ".gdf",
    ".set",
    ".cnt",
    ".cdt",
    ".lay",
    ".nedf",
    ".nxe",
)


#: A file with the ending on the left is part of the recording of the same name with an ending on
#: the right, and is not a recording itself: BrainVision's ``.eeg`` data file belongs to its
#: ``.vhdr`` header, and the ``.edf`` export of a Nihon Kohden system to its ``.eeg`` recording.
COMPANIONS = {".eeg": (".vhdr", ".ahdr"), ".edf": (".eeg",)}


class UnreadableRecordingError(OSError):
    """A file that is not there, or that MNE cannot read as EEG."""


def check_extensions(extensions: str | Sequence[str]) -> tuple[str, ...]:
    """Lower-cased file name endings, each starting with a dot; their order is kept."""
    extensions = (extensions,) if isinstance(extensions, str) else tuple(extensions)
    if not extensions:
        raise ValueError("extensions must name at least one file name ending, e.g. ('.edf',).")
    for ext in extensions:
        _validate_type(ext, str, "each extension")
        if not ext.startswith(".") or len(ext) < 2:
            raise ValueError(f"Extensions must start with '.', e.g. '.edf', got {ext!r}")
    return tuple(dict.fromkeys(ext.lower() for ext in extensions))


def recording_extension(fname: str | Path, extensions: Sequence[str] = RECORDING_EXTENSIONS) -> str | None:
    """The ending of ``extensions`` that ``fname`` has (the longest one), or None."""
    name = Path(fname).name.lower()
    matches = [ext for ext in extensions if name.endswith(ext)]
    return max(matches, key=len) if matches else None


def find_recordings(
    folder: str | Path,
    extensions: Sequence[str] = RECORDING_EXTENSIONS,
    *,
    skip: str | Path | None = None,
) -> list[Path]:
    """Recordings under ``folder``, searched recursively, sorted.

    Parameters
    ----------
    folder : path-like
        The folder.
    extensions : sequence of str
        File name endings of recordings, in order of preference for files that share a name
        (:data:`RECORDING_EXTENSIONS`).
    skip : path-like | None
        A folder under ``folder`` not to search (e.g. the output folder).

    Returns
    -------
    files : list of Path
        The recordings; hidden files and folders are left out.
    """
    folder = Path(folder)
    extensions = check_extensions(extensions)
    skip = None if skip is None else Path(skip)
    candidates: dict[Path, str] = {}
    for fname in sorted(folder.rglob("*")):
        rel = fname.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts) or not fname.is_file():
            continue
        if skip is not None and skip != folder and skip in fname.parents:
            continue
        ext = recording_extension(fname, extensions)
        if ext is not None:
            candidates[fname] = ext
    endings: dict[tuple[Path, str], set[str]] = {}
    for fname, ext in candidates.items():
        endings.setdefault(_stem(fname, ext), set()).add(ext)

    def is_part_of_another(fname: Path, ext: str) -> bool:
        others = endings[_stem(fname, ext)]
        owners = [owner for owner in COMPANIONS.get(ext, ()) if owner in others]
        # an owner that is itself part of another recording owns nothing (BrainVision .eeg + .edf)
        return any(not set(COMPANIONS.get(owner, ())) & others for owner in owners)

    return [fname for fname, ext in candidates.items() if not is_part_of_another(fname, ext)]


def _stem(fname: Path, ext: str) -> tuple[Path, str]:
    return fname.parent, fname.name[: -len(ext)].lower()


def read_recording(fname: str | Path, *, preload: bool = True) -> mne.io.BaseRaw:
    """Read any recording :func:`mne.io.read_raw` reads (EDF, BDF, FIF, BrainVision, EEGLAB, Nihon Kohden…).

    Parameters
    ----------
    fname : path-like
        The recording.
    preload : bool
        Load the samples into memory.

    Returns
    -------
    raw : mne.io.Raw
        The recording.

    Raises
    ------
    UnreadableRecordingError
        If the file does not exist or MNE cannot read it.
    """
    fname = Path(fname).expanduser()
    if not fname.exists():
        raise UnreadableRecordingError(f"No such file: {fname}")
    if fname.is_dir() and fname.suffix.lower() != ".mff":  # EGI's .mff recordings are folders
        raise UnreadableRecordingError(f"{fname} is a folder, not a recording.")
    try:
        return mne.io.read_raw(fname, preload=preload, verbose="error")
    except Exception as err:  # MNE raises ValueError, OSError, KeyError, AssertionError… on bad files
        known = fname.name.lower().endswith(RECORDING_EXTENSIONS)
        why = f"{type(err).__name__}: {err}" if known else f"MNE does not know the format of {fname.suffix!r} files"
        raise UnreadableRecordingError(
            f"Could not read {fname} as EEG ({why}). Supported: any format mne.io.read_raw reads (EDF, BDF, "
            "FIF, BrainVision .vhdr, EEGLAB .set, Nihon Kohden .EEG…)."
        ) from err
