"""A small real EEG excerpt shipped with mne-dac, for examples and tests.

The excerpt holds the first 60 s of both recordings of two subjects (``Subject00`` and
``Subject01``) of the PhysioNet database "EEG During Mental Arithmetic Tasks" 1.0.0
(eegmat): a resting recording (``"rest"``) and a recording during serial subtraction
(``"arithmetic"``). 21 channels at 500 Hz: 19 scalp electrodes of the 10-20 system,
the reference derivation ``A2-A1`` and an ECG channel.

The data are licensed under the Open Data Commons Attribution License 1.0 (ODC-By);
any use must cite:

    Zyma I, Tukaev S, Seleznov I, et al. Electroencephalograms during Mental
    Arithmetic Task Performance. Data. 2019;4(1):14.

    Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet.
    Circulation 101(23):e215–e220, 2000.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import mne
from mne.utils import verbose as _verbose

from mne_dac.utils._docs import fill_doc

__all__ = ["excerpt_fnames", "read_excerpt"]

#: Folder of the shipped excerpt (package data).
_EXCERPT_DIR = Path(__file__).parents[1] / "data" / "eegmat"
#: Subjects available in the excerpt.
_SUBJECTS = (0, 1)
#: Task name -> suffix of the file name (``SubjectNN_<suffix>.edf``).
_TASKS = {"rest": 1, "arithmetic": 2}
#: Channels that are not scalp EEG: original name -> (new name, channel type).
_SPECIAL_CHANNELS = {"ECG ECG": ("ECG", "ecg"), "EEG A2-A1": ("A2-A1", "misc")}


def _check_subject(subject: object) -> int:
    # bool is an int subclass; reject it along with everything that is not an integer
    if isinstance(subject, bool) or not isinstance(subject, int) or subject not in _SUBJECTS:
        raise ValueError(
            f"subject must be one of {list(_SUBJECTS)} (the subjects shipped with the excerpt), got {subject!r}."
        )
    return int(subject)


def _check_task(task: object) -> str:
    if not isinstance(task, str) or task not in _TASKS:
        raise ValueError(f"task must be one of {list(_TASKS)}, got {task!r}.")
    return task


def _as_tuple(value: object) -> tuple:
    if isinstance(value, (str, int)):
        return (value,)
    if not isinstance(value, Iterable):
        raise ValueError(f"Expected a value or an iterable of values, got {value!r}.")
    return tuple(value)


def _fname(subject: int, task: str) -> Path:
    return _EXCERPT_DIR / f"Subject{subject:02d}_{_TASKS[task]}.edf"


def excerpt_fnames(
    subjects: int | Iterable[int] = _SUBJECTS,
    tasks: str | Iterable[str] = tuple(_TASKS),
) -> list[Path]:
    """Get the paths of the EDF files of the shipped EEG excerpt.

    Parameters
    ----------
    subjects : int | iterable of int
        The subjects, among ``0`` and ``1``.
    tasks : str | iterable of str
        The recordings, among ``"rest"`` (resting EEG before the task) and
        ``"arithmetic"`` (EEG during serial subtraction).

    Returns
    -------
    fnames : list of pathlib.Path
        The EDF files, ordered by subject, then by task in the order given. Each holds
        60 s of 21-channel EEG at 500 Hz with its original channel names
        (``"EEG Fp1"`` …); use :func:`read_excerpt` to read one with standard names,
        channel types and a montage.

    Raises
    ------
    ValueError
        If a subject or a task is not in the excerpt.

    See Also
    --------
    read_excerpt

    Notes
    -----
    The files are the first 60 s of the recordings of ``Subject00`` and ``Subject01``
    of the PhysioNet database "EEG During Mental Arithmetic Tasks" 1.0.0, licensed
    under the Open Data Commons Attribution License 1.0 (ODC-By). Any use must cite Zyma I, Tukaev S, Seleznov I,
    et al. Electroencephalograms during Mental Arithmetic Task Performance. Data.
    2019;4(1):14, and Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet.
    Circulation 101(23):e215–e220, 2000.

    Examples
    --------
    >>> from mne_dac.evaluation.datasets import excerpt_fnames
    >>> [f.name for f in excerpt_fnames(subjects=0)]
    ['Subject00_1.edf', 'Subject00_2.edf']
    """
    subjects = tuple(_check_subject(s) for s in _as_tuple(subjects))
    tasks = tuple(_check_task(t) for t in _as_tuple(tasks))
    return [_fname(subject, task) for subject in subjects for task in tasks]


def _montage_name() -> str:
    # MNE 1.13 deprecates "standard_1020" (FutureWarning) in favour of "colin27_1020",
    # the same positions; older MNE versions only have "standard_1020".
    if "colin27_1020" in mne.channels.get_builtin_montages():
        return "colin27_1020"
    return "standard_1020"


@_verbose
@fill_doc
def read_excerpt(
    subject: int = 0,
    task: str = "rest",
    *,
    preload: bool = True,
    verbose: bool | str | int | None = None,
) -> mne.io.BaseRaw:
    """Read one recording of the shipped EEG excerpt.

    Parameters
    ----------
    subject : int
        The subject, ``0`` or ``1``.
    task : str
        ``"rest"`` (resting EEG before the task) or ``"arithmetic"`` (EEG during
        serial subtraction).
    preload : bool
        Whether to load the data into memory.
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        60 s of EEG at 500 Hz: 19 EEG channels, one ECG channel (``"ECG"``) and one
        ``"misc"`` channel (``"A2-A1"``), with a 10-20 montage set.

    Raises
    ------
    ValueError
        If ``subject`` or ``task`` is not in the excerpt.

    See Also
    --------
    excerpt_fnames

    Notes
    -----
    The EDF file is read with :func:`mne.io.read_raw_edf`, then:

    - the ``"EEG "`` prefix is stripped from the names of the 19 scalp channels,
      which gives the 10-20 names of the recording (``"EEG Fp1"`` → ``"Fp1"``; the
      temporal electrodes keep their old names ``T3``, ``T4``, ``T5`` and ``T6``);
    - ``"ECG ECG"`` is renamed ``"ECG"`` and typed ``"ecg"`` (MNE reads it as EEG);
    - ``"EEG A2-A1"``, the derivation between the two ear electrodes that form the
      reference, is renamed ``"A2-A1"`` and typed ``"misc"``;
    - the built-in template montage ``"colin27_1020"`` is set (``"standard_1020"``,
      the name of the same montage, on older MNE versions that lack it), with
      ``on_missing="ignore"``.

    The data are the first 60 s of the recordings of ``Subject00`` and ``Subject01``
    of the PhysioNet database "EEG During Mental Arithmetic Tasks" 1.0.0, licensed
    under the Open Data Commons Attribution License 1.0 (ODC-By). They were
    band-limited and cleaned with ICA by their authors. Any use must cite Zyma I,
    Tukaev S, Seleznov I, et al. Electroencephalograms during Mental Arithmetic Task
    Performance. Data. 2019;4(1):14, and Goldberger A, et al. PhysioBank,
    PhysioToolkit, and PhysioNet. Circulation 101(23):e215–e220, 2000.

    Examples
    --------
    >>> from mne_dac.evaluation.datasets import read_excerpt
    >>> raw = read_excerpt(subject=1, task="arithmetic")  # doctest: +SKIP
    """
    (fname,) = excerpt_fnames(subjects=subject, tasks=task)
    raw = mne.io.read_raw_edf(fname, preload=preload)
    mapping = {}
    for name in raw.ch_names:
        if name in _SPECIAL_CHANNELS:
            mapping[name] = _SPECIAL_CHANNELS[name][0]
        elif name.startswith("EEG "):
            mapping[name] = name[len("EEG ") :]
    raw.rename_channels(mapping)
    raw.set_channel_types(
        {new: kind for new, kind in _SPECIAL_CHANNELS.values() if new in raw.ch_names},
        on_unit_change="ignore",
    )
    montage = mne.channels.make_standard_montage(_montage_name())
    raw.set_montage(montage, on_missing="ignore")
    return raw
