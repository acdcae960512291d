"""Small corpora on disk, for tests and examples: TUH-like trees and an eegmat folder.

The TUH corpora (TUAB, TUEP) need a data agreement, so tests cannot download them.
These generators write trees with the folders, file names and channel names of the
real corpora, holding real EEG from the excerpt shipped with mne-dac
(:func:`mne_dac.evaluation.datasets.read_excerpt`: eegmat subjects 0 and 1, 60 s of rest and 60 s
of arithmetic each). They are deterministic: the same arguments write the same files.

The class of a recording is carried by the task of the excerpt it comes from:
``"rest"`` for the negative class (normal, no epilepsy), ``"arithmetic"`` for the
positive class (abnormal, epilepsy), the two excerpt subjects alternating in both
classes, so a classifier has something real, if weak, to learn.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import mne
import numpy as np
from mne.utils import _validate_type

from mne_dac.evaluation.corpora import EEGMAT_TASKS, TUAB_VERSION, TUEP_CLASSES
from mne_dac.evaluation.datasets import excerpt_fnames, read_excerpt

__all__ = ["make_eegmat_tree", "make_tuab_tree", "make_tuep_tree"]

#: Version folder of the TUEP trees.
TUEP_VERSION = "v2.0.1"
#: Montage folder -> suffix of the channel names in TUH files.
_TUH_MONTAGES = {"01_tcp_ar": "REF", "02_tcp_le": "LE"}
#: TUH channel (without prefix and suffix) -> channel of the excerpt, in the order of TUH files:
#: the 19 channels of the 10-20 system, then A2 (the excerpt's A2-A1 derivation) and EKG1 (its ECG).
_TUH_FROM_EXCERPT = {
    **{name.upper(): name for name in ("Fp1", "Fp2", "F3", "F4", "C3", "C4", "P3", "P4", "O1", "O2")},
    **{name.upper(): name for name in ("F7", "F8", "T3", "T4", "T5", "T6")},
    "A2": "A2-A1",
    **{name.upper(): name for name in ("Fz", "Cz", "Pz")},
    "EKG1": "ECG",
}
#: Length of the excerpt recordings in seconds.
_EXCERPT_DURATION = 60
#: Excerpt task of each class (0 negative, 1 positive).
_TASK_OF_CLASS = {0: "rest", 1: "arithmetic"}


def _check_args(root: str | os.PathLike, n: int, n_name: str, duration: int, seed: int) -> Path:
    _validate_type(root, "path-like", "root")
    _validate_type(n, "int-like", n_name)
    _validate_type(duration, "int-like", "duration")
    _validate_type(seed, "int-like", "seed")
    if n < 1:
        raise ValueError(f"{n_name} must be at least 1, got {n}.")
    if not 1 <= duration <= _EXCERPT_DURATION:
        raise ValueError(f"duration must be 1-{_EXCERPT_DURATION} s (the excerpt's length), got {duration}.")
    return Path(root)


def _subject_ids(n: int, rng: np.random.Generator) -> list[str]:
    """``n`` distinct TUH-style subject ids (8 lower-case letters, ``"aaaa"`` + 4 random)."""
    ids: list[str] = []
    while len(ids) < n:
        subject = "aaaa" + "".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), 4))
        if subject not in ids:
            ids.append(subject)
    return ids


class _TUHWriter:
    """Writes excerpt EEG as TUH EDF files, from the excerpt resampled once."""

    def __init__(self, duration: int, sfreq: float, rng: np.random.Generator) -> None:
        self.duration, self.rng = int(duration), rng
        self.sources = {
            (subject, task): read_excerpt(subject, task, verbose="error").resample(sfreq, verbose="error")
            for subject in (0, 1)
            for task in _TASK_OF_CLASS.values()
        }
        self.n_written = 0

    def write(self, fname: Path, target: int, subject: str, suffix: str, date: dt.date) -> Path:
        """One recording of class ``target``: a random excerpt stretch with TUH channel names."""
        source = self.sources[(self.n_written % 2, _TASK_OF_CLASS[target])]
        self.n_written += 1
        sfreq = source.info["sfreq"]
        start = round(int(self.rng.integers(0, _EXCERPT_DURATION - self.duration + 1)) * sfreq)
        stop = start + round(self.duration * sfreq)
        data = source.get_data(picks=list(_TUH_FROM_EXCERPT.values()), start=start, stop=stop)
        photic = np.zeros((1, data.shape[1]))  # the photic stimulator, off
        ch_names = [f"EEG {name}-{suffix}" for name in _TUH_FROM_EXCERPT] + [f"PHOTIC-{suffix}"]
        info = mne.create_info(ch_names, sfreq, "eeg")
        raw = mne.io.RawArray(np.concatenate([data, photic]), info, verbose="error")
        raw.set_meas_date(dt.datetime(date.year, date.month, date.day, 9, tzinfo=dt.timezone.utc))
        sex = int(self.rng.integers(1, 3))
        birthday = dt.date(date.year - int(self.rng.integers(18, 80)), 1, 1)
        raw.info["subject_info"] = {"his_id": subject, "last_name": subject, "sex": sex, "birthday": birthday}
        return _export(raw, fname)


def _export(raw: mne.io.BaseRaw, fname: Path) -> Path:
    fname.parent.mkdir(parents=True, exist_ok=True)
    mne.export.export_raw(fname, raw, fmt="edf", physical_range="channelwise", overwrite=True, verbose="error")
    return fname


def make_tuab_tree(
    root: str | os.PathLike,
    n_per_class: int = 2,
    *,
    duration: int = 30,
    sfreq: float = 250.0,
    seed: int = 0,
) -> Path:
    """Write a small tree of the TUH Abnormal EEG Corpus v3.0.1 (TUAB).

    Parameters
    ----------
    root : path-like
        The folder to write in (created if needed); the tree goes in ``root/v3.0.1``.
    n_per_class : int
        Number of subjects per class (normal, abnormal) in each split (train, eval).
        The first subject of each class and split has two recordings (sessions
        ``s001`` and ``s002``), the others one, so the tree holds
        ``4 * (n_per_class + 1)`` files.
    duration : int
        Length of each recording in seconds, at most 60.
    sfreq : float
        Sampling rate in Hz (250 Hz, like most TUH recordings).
    seed : int
        Seed of the subject ids, the stretches of excerpt, the dates, ages and sexes.

    Returns
    -------
    root : pathlib.Path
        ``root``, the folder to pass to :func:`mne_dac.evaluation.corpora.tuab` (with
        ``on_missing_files="warn"``, the default, since the tree is not the full corpus).

    Notes
    -----
    Files are ``root/v3.0.1/edf/<train|eval>/<normal|abnormal>/01_tcp_ar/<subject>_sNNN_tNNN.edf``,
    the layout of TUAB v3.0.1, with 22 channels named as in TUH's ``01_tcp_ar`` files:
    ``"EEG FP1-REF"`` … (the 19 channels of the 10-20 system, with the old names T3-T6),
    ``"EEG A2-REF"`` (the excerpt's A2-A1 derivation), ``"EEG EKG1-REF"`` (its ECG) and
    ``"PHOTIC-REF"`` (zeros). Normal recordings hold the excerpt's rest EEG, abnormal
    ones its arithmetic EEG. The EDF headers hold the subject id, sex and birth date, as
    TUH's do.
    """
    root = _check_args(root, n_per_class, "n_per_class", duration, seed)
    rng = np.random.default_rng(seed)
    subjects = iter(_subject_ids(4 * n_per_class, rng))
    writer = _TUHWriter(duration, sfreq, rng)
    for split in ("train", "eval"):
        for label, target in (("normal", 0), ("abnormal", 1)):
            folder = root / TUAB_VERSION / "edf" / split / label / "01_tcp_ar"
            for index in range(n_per_class):
                subject = next(subjects)
                for session in range(1, 3 if index == 0 else 2):
                    date = dt.date(int(rng.integers(2002, 2017)), int(rng.integers(1, 13)), int(rng.integers(1, 29)))
                    fname = folder / f"{subject}_s{session:03d}_t000.edf"
                    writer.write(fname, target, subject, "REF", date)
    return root


def make_tuep_tree(
    root: str | os.PathLike,
    n_per_class: int = 5,
    *,
    duration: int = 30,
    sfreq: float = 250.0,
    seed: int = 0,
) -> Path:
    """Write a small tree of the TUH EEG Epilepsy Corpus v2.0.1 (TUEP).

    Parameters
    ----------
    root : path-like
        The folder to write in (created if needed); the tree goes in ``root/v2.0.1``.
    n_per_class : int
        Number of subjects per class (epilepsy, no epilepsy). Subject ``i`` of a class
        has ``i % 3 + 1`` sessions, and its first session two recordings (``t000`` and
        ``t001``) when ``i`` is even.
    duration : int
        Length of each recording in seconds, at most 60.
    sfreq : float
        Sampling rate in Hz.
    seed : int
        Seed of the subject ids, the stretches of excerpt, the years, ages and sexes.

    Returns
    -------
    root : pathlib.Path
        ``root``, a folder to pass to :class:`mne_dac.evaluation.corpora.TUEP`.

    Notes
    -----
    Files are ``root/v2.0.1/<00_epilepsy|01_no_epilepsy>/<subject>/<sNNN_YYYY>/<montage>/<subject>_sNNN_tNNN.edf``,
    the layout of TUEP v2.x. Subjects alternate between the montages ``01_tcp_ar`` (channels
    ``"EEG FP1-REF"`` …) and ``02_tcp_le`` (``"EEG FP1-LE"`` …); the channels are those
    of :func:`make_tuab_tree`. Epilepsy recordings hold the excerpt's arithmetic EEG,
    the others its rest EEG.
    """
    root = _check_args(root, n_per_class, "n_per_class", duration, seed)
    rng = np.random.default_rng(seed)
    subjects = iter(_subject_ids(2 * n_per_class, rng))
    writer = _TUHWriter(duration, sfreq, rng)
    montages = list(_TUH_MONTAGES)
    for label, target in TUEP_CLASSES.items():
        for index in range(n_per_class):
            subject = next(subjects)
            montage = montages[index % 2]
            year = int(rng.integers(2002, 2012))
            for session in range(1, index % 3 + 2):
                date = dt.date(year + session - 1, int(rng.integers(1, 13)), int(rng.integers(1, 29)))
                folder = root / TUEP_VERSION / label / subject / f"s{session:03d}_{date.year}" / montage
                for segment in range(2 if session == 1 and index % 2 == 0 else 1):
                    fname = folder / f"{subject}_s{session:03d}_t{segment:03d}.edf"
                    writer.write(fname, target, subject, _TUH_MONTAGES[montage], date)
    return root


def make_eegmat_tree(
    root: str | os.PathLike,
    n_subjects: int = 6,
    *,
    duration: int = 30,
    seed: int = 0,
) -> Path:
    """Write a small folder of PhysioNet's eegmat: ``SubjectNN_1.edf`` and ``SubjectNN_2.edf``.

    Parameters
    ----------
    root : path-like
        The folder to write the files in (created if needed).
    n_subjects : int
        Number of subjects, at most 24. Their numbers are spread evenly over 0-23 (the
        subjects used by mne-dac), so that the last falls among the default evaluation
        subjects of :func:`mne_dac.evaluation.corpora.eegmat` (20-23) when ``n_subjects >= 2``.
    duration : int
        Length of each recording in seconds, at most 60.
    seed : int
        Seed of the stretches of excerpt.

    Returns
    -------
    root : pathlib.Path
        ``root``, the folder to pass to :func:`mne_dac.evaluation.corpora.eegmat`.

    Notes
    -----
    Each file is a stretch of the excerpt's file of the same task (subjects 0 and 1 of
    the excerpt alternating), at 500 Hz with eegmat's channel names (``"EEG Fp1"`` …,
    ``"EEG A2-A1"``, ``"ECG ECG"``).
    """
    root = _check_args(root, n_subjects, "n_subjects", duration, seed)
    if n_subjects > 24:
        raise ValueError(f"n_subjects must be at most 24, got {n_subjects}.")
    rng = np.random.default_rng(seed)
    numbers = np.linspace(0, 23, n_subjects).round().astype(int)
    for index, number in enumerate(numbers):
        for suffix, (task, _) in EEGMAT_TASKS.items():
            (source,) = excerpt_fnames(subjects=index % 2, tasks=task)
            raw = mne.io.read_raw_edf(source, preload=True, verbose="error")
            start = int(rng.integers(0, _EXCERPT_DURATION - duration + 1))
            raw.crop(start, start + duration, include_tmax=False)
            raw.info["subject_info"] = {"his_id": str(number), "last_name": f"Subject{number}", "sex": 1}
            _export(raw, root / f"Subject{number:02d}_{suffix}.edf")
    return root
