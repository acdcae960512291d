"""EEG corpora for the evaluation suite, as Braindecode datasets with a common description.

Each builder returns a :class:`braindecode.datasets.BaseConcatDataset` of
:class:`braindecode.datasets.RawDataset`, one per recording, whose ``description`` has
at least the columns ``path`` (str), ``subject`` (str), ``target`` (int label, the
target of the datasets) and ``split`` (``"train"`` or ``"eval"``):

- :func:`tuab`: the TUH Abnormal EEG Corpus v3.0.1 (normal 0 / abnormal 1) through
  Braindecode's :class:`~braindecode.datasets.TUHAbnormal`, with its official split;
- :class:`TUEP`: the TUH EEG Epilepsy Corpus v2.x (no epilepsy 0 / epilepsy 1), with a
  deterministic subject-wise split;
- :func:`eegmat`: PhysioNet's open "EEG During Mental Arithmetic Tasks" (rest 0 /
  arithmetic 1), the stand-in that needs no data agreement.

:func:`standardize_channels` picks the 19 channels of the 10-20 system from the channel
names of these corpora and gives them standard names, so that all corpora share one
channel layout (it can run as a Braindecode ``Preprocessor``).
:mod:`mne_dac.evaluation.testing` writes small trees of these corpora for tests and examples.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from braindecode.datasets import BaseConcatDataset, RawDataset, TUHAbnormal
from joblib import Parallel, delayed
from mne.utils import _validate_type, logger, verbose

from mne_dac.signal.channels import CHANNELS_10_20, electrode_name
from mne_dac.utils._docs import fill_doc

__all__ = ["TUEP", "eegmat", "standardize_channels", "subject_split", "tuab"]

#: The version of the TUH Abnormal EEG Corpus read by :func:`tuab`.
TUAB_VERSION = "v3.0.1"
#: Class folders of the TUH EEG Epilepsy Corpus -> target.
TUEP_CLASSES = {"00_epilepsy": 1, "01_no_epilepsy": 0}
#: Tasks of eegmat: file suffix (``SubjectNN_<suffix>.edf``) -> (task, target).
EEGMAT_TASKS = {1: ("rest", 0), 2: ("arithmetic", 1)}
#: The subjects of eegmat held out by default (those held out to validate the codecs).
EEGMAT_EVAL_SUBJECTS = (20, 21, 22, 23)

#: Old 10-20 names of the temporal electrodes -> their 10-10 names.
_OLD_TO_NEW = {"T3": "T7", "T4": "T8", "T5": "P7", "T6": "P8"}
#: ``aaaaaanr_s001_t001.edf``: subject, session, segment (TUH EEG v2 and later).
_TUH_FNAME = re.compile(r"^(?P<subject>[^_]+)_s(?P<session>\d+)_t(?P<segment>\d+)\.edf$")
#: ``Subject07_2.edf``: subject number and task.
_EEGMAT_FNAME = re.compile(r"^Subject(?P<number>\d+)_(?P<task>[12])\.edf$")


def _standard_name(ch_name: str) -> str | None:
    """10-10 name of a referential 10-20 channel (``"EEG T3-REF"`` -> ``"T7"``), else None."""
    name = electrode_name(ch_name)
    name = _OLD_TO_NEW.get(name, name)
    if name not in CHANNELS_10_20:
        return None
    _, _, other = ch_name.partition("-")
    if other:  # the reference (REF, LE, A1 ...), unless it is another scalp electrode
        other = electrode_name(other)
        if _OLD_TO_NEW.get(other, other) in CHANNELS_10_20:
            return None  # a bipolar derivation, e.g. "FP1-F7"
    return name


def _montage() -> mne.channels.DigMontage:
    # MNE 1.13 renames standard_1005 colin27_1005 (same names and positions)
    kind = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
    return mne.channels.make_standard_montage(kind)


@verbose
@fill_doc
def standardize_channels(raw: mne.io.BaseRaw, *, verbose: bool | str | int | None = None) -> mne.io.BaseRaw:
    """Keep the 19 channels of the 10-20 system, with standard names, types and positions.

    Reads the channel names of the TUH corpora (``"EEG FP1-REF"``, ``"EEG FP1-LE"``, or
    ``"FP1-REF"`` once read with ``infer_types=True`` as Braindecode does) and of eegmat
    (``"EEG Fp1"``, ``"Fp1"``), whatever their case. Other channels (``"EEG EKG1-REF"``,
    ``"PHOTIC-REF"``, ``"EEG A2-A1"``, bipolar derivations such as ``"FP1-F7"``) are
    dropped.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording, modified in place (it need not be loaded).
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        The same object, with the 19 channels of :data:`mne_dac.signal.channels.CHANNELS_10_20`
        in that order, named ``"Fp1"`` … (``T3``, ``T4``, ``T5`` and ``T6`` become
        ``T7``, ``T8``, ``P7`` and ``P8``), typed ``"eeg"``, with the standard 10-05
        montage (``"colin27_1005"``, ``"standard_1005"`` before MNE 1.13).

    Raises
    ------
    ValueError
        If some of the 19 channels are missing (the message names them), or if several
        channels stand for the same electrode.

    Notes
    -----
    As a Braindecode preprocessing step::

        from braindecode.preprocessing import Preprocessor, preprocess

        preprocess(dataset, [Preprocessor(standardize_channels, apply_on_array=False)])
    """
    _validate_type(raw, mne.io.BaseRaw, "raw")
    found: dict[str, list[str]] = {}
    for ch_name in raw.ch_names:
        name = _standard_name(ch_name)
        if name is not None:
            found.setdefault(name, []).append(ch_name)
    missing = [name for name in CHANNELS_10_20 if name not in found]
    if missing:
        raise ValueError(
            f"Missing {len(missing)} of the 19 channels of the 10-20 system: {missing} (looked for names "
            f"such as 'EEG {missing[0].upper()}-REF', 'EEG {missing[0].upper()}-LE' or 'EEG {missing[0]}'; "
            f"old names T3/T4/T5/T6 count for T7/T8/P7/P8). The recording has channels {raw.ch_names}."
        )
    duplicated = {name: chs for name, chs in found.items() if len(chs) > 1}
    if duplicated:
        raise ValueError(f"Several channels stand for the same electrode: {duplicated}.")
    mapping = {found[name][0]: name for name in CHANNELS_10_20}
    logger.debug("Standardizing channels: %s", mapping)
    raw.pick(list(mapping))
    raw.rename_channels(mapping)
    raw.reorder_channels(list(CHANNELS_10_20))
    raw.set_channel_types(dict.fromkeys(CHANNELS_10_20, "eeg"), on_unit_change="ignore")
    raw.set_montage(_montage())
    return raw


def _select_recordings(descriptions: pd.DataFrame, recording_ids: int | Iterable[int] | None) -> pd.DataFrame:
    """The rows of ``descriptions`` chosen by ``recording_ids`` (as Braindecode's TUH)."""
    _validate_type(recording_ids, ("int-like", Iterable, None), "recording_ids")
    if recording_ids is None:
        return descriptions
    if not isinstance(recording_ids, Iterable):
        recording_ids = range(int(recording_ids))
    return descriptions.iloc[list(recording_ids)].reset_index(drop=True)


def _read_recording(description: pd.Series, preload: bool) -> RawDataset:
    raw = mne.io.read_raw_edf(description["path"], preload=preload, infer_types=True, verbose="error")
    return RawDataset(raw, description, target_name="target")


def _read_recordings(descriptions: pd.DataFrame, preload: bool, n_jobs: int, desc: str) -> list[RawDataset]:
    """One RawDataset per row of ``descriptions``, with a progress bar when logging at INFO."""
    from tqdm.auto import tqdm

    _validate_type(preload, bool, "preload")
    _validate_type(n_jobs, "int-like", "n_jobs")
    rows = [row for _, row in descriptions.iterrows()]
    progress = tqdm(rows, desc=desc, unit="file", disable=not logger.isEnabledFor(logging.INFO))
    if n_jobs == 1:
        return [_read_recording(row, preload) for row in progress]
    return Parallel(n_jobs=int(n_jobs))(delayed(_read_recording)(row, preload) for row in progress)


def _hash_key(subject: str) -> str:
    """A key that orders subjects pseudo-randomly but independently of anything else."""
    return hashlib.sha256(subject.encode("utf-8")).hexdigest()


def subject_split(subjects: pd.Series, targets: pd.Series, eval_fraction: float) -> pd.Series:
    """Split recordings subject-wise, stratified by class, deterministically.

    Each subject takes the class of its recordings (the highest target if they differ).
    Within each class, subjects are ordered by the SHA-256 hash of their id and the first
    ``round(eval_fraction * n_subjects)`` go to the evaluation set, at least one and at
    most all but one when the class has two subjects or more (so that both sets hold
    every class when possible). The split depends only on the subject ids and classes,
    not on the order of the recordings.

    Parameters
    ----------
    subjects : pandas.Series of str, shape (n_recordings,)
        Subject id of each recording.
    targets : pandas.Series of int, shape (n_recordings,)
        Class of each recording.
    eval_fraction : float
        Fraction of the subjects of each class held out, in (0, 1).

    Returns
    -------
    split : pandas.Series of str, shape (n_recordings,)
        ``"train"`` or ``"eval"`` for each recording (same index as ``subjects``).
    """
    _validate_type(eval_fraction, "numeric", "eval_fraction")
    if not 0 < eval_fraction < 1:
        raise ValueError(f"eval_fraction must be in (0, 1), got {eval_fraction}.")
    subject_class = targets.groupby(subjects.astype(str)).max()
    eval_subjects = []
    for _, members in subject_class.groupby(subject_class):
        ordered = sorted(members.index, key=_hash_key)
        n_eval = int(np.floor(eval_fraction * len(ordered) + 0.5))
        if len(ordered) > 1:
            n_eval = min(max(n_eval, 1), len(ordered) - 1)
        else:
            n_eval = 0  # a lone subject of a class is kept for training
        eval_subjects.extend(ordered[:n_eval])
    return pd.Series(np.where(subjects.astype(str).isin(eval_subjects), "eval", "train"), index=subjects.index)


class _TUHAbnormalV3(TUHAbnormal):
    """Braindecode's TUHAbnormal, reading split and label at their places in the v3 layout.

    Braindecode looks for ``"train"`` and ``"abnormal"`` anywhere in the path and reads
    the version 9 folders up, which fails on short paths and is wrong in v3.0.1
    (``.../v3.0.1/edf/<train|eval>/<normal|abnormal>/01_tcp_ar/<file>.edf``).
    """

    @staticmethod
    def _parse_additional_description_from_file_path(file_path):
        *_, split, label, _montage, _name = Path(file_path).parts
        if split not in ("train", "eval") or label not in ("normal", "abnormal"):
            raise ValueError(
                f"Unexpected TUAB {TUAB_VERSION} file path {file_path!r}: expected "
                ".../edf/<train|eval>/<normal|abnormal>/<montage>/<subject>_sNNN_tNNN.edf."
            )
        return {"train": split == "train", "pathological": label == "abnormal"}


@verbose
@fill_doc
def tuab(
    path: str | os.PathLike,
    *,
    recording_ids: int | Iterable[int] | None = None,
    preload: bool = False,
    n_jobs: int = 1,
    on_missing_files: str = "warn",
    verbose: bool | str | int | None = None,
) -> TUHAbnormal:
    """Read the TUH Abnormal EEG Corpus (TUAB) v3.0.1 with its official split.

    Parameters
    ----------
    path : path-like
        The folder that holds ``v3.0.1/`` (e.g. ``.../tuh_eeg_abnormal``), whose EDF
        files are ``v3.0.1/edf/<train|eval>/<normal|abnormal>/01_tcp_ar/<subject>_sNNN_tNNN.edf``.
    recording_ids : int | list of int | None
        The recordings to read: ``None`` for all, an int ``n`` for the first ``n``, or
        their positions in the sorted list (in the order given). The split does not
        depend on this selection.
    preload : bool
        Whether to load the data into memory.
    n_jobs : int
        Number of jobs reading the files in parallel (joblib).
    on_missing_files : ``"warn"`` | ``"raise"``
        What to do when the corpus does not hold its 2993 files (e.g. a partial
        download, or a tree from :func:`mne_dac.evaluation.testing.make_tuab_tree`).
    %(verbose)s

    Returns
    -------
    dataset : braindecode.datasets.TUHAbnormal
        One :class:`~braindecode.datasets.RawDataset` per recording, sorted by date,
        subject, session and segment, with Braindecode's description (``path``,
        ``version``, ``subject``, ``session``, ``segment``, ``age``, ``gender``,
        ``year``, ``month``, ``day``, ``train``, ``pathological``) plus ``target``
        (1 abnormal, 0 normal; the target of the datasets) and ``split`` (``"train"``
        or ``"eval"``, the official split). Channels keep their TUH names as read by
        MNE with ``infer_types=True`` (``"FP1-REF"`` …); see :func:`standardize_channels`.
    """
    _validate_type(path, "path-like", "path")
    path = Path(path)
    if not (path / TUAB_VERSION).is_dir():
        raise FileNotFoundError(f"No {TUAB_VERSION} folder in {path}: pass the folder that holds it.")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Cannot save date file")  # read-only corpus
        dataset = _TUHAbnormalV3(
            str(path),
            recording_ids=recording_ids,
            preload=preload,
            on_missing_files=on_missing_files,
            version=TUAB_VERSION,
            n_jobs=n_jobs,
        )
    description = dataset.description
    dataset.set_description(
        {
            "target": description["pathological"].astype(int),
            "split": np.where(description["train"], "train", "eval"),
        }
    )
    for ds in dataset.datasets:
        ds.target_name = "target"
    logger.info("TUAB: %s", _summary(dataset.description))
    return dataset


def _summary(description: pd.DataFrame) -> str:
    counts = description.groupby(["split", "target"]).size()
    per_split = ", ".join(f"{split}/{target}: {n}" for (split, target), n in counts.items())
    return f"{len(description)} recordings of {description['subject'].nunique()} subjects ({per_split})"


@fill_doc
class TUEP(BaseConcatDataset):
    """The TUH EEG Epilepsy Corpus (TUEP) v2.x, with a subject-wise split.

    A dataset in the style of Braindecode's :class:`~braindecode.datasets.TUH`
    datasets: it indexes the EDF files from their paths, then reads them (lazily
    unless ``preload``), one :class:`~braindecode.datasets.RawDataset` per recording.

    Parameters
    ----------
    path : path-like
        A folder holding ``00_epilepsy/`` and ``01_no_epilepsy/`` (the corpus version
        folder, e.g. ``.../tuh_eeg_epilepsy/v2.0.1``, or a folder above it). EDF files
        are found recursively; their paths must be
        ``<00_epilepsy|01_no_epilepsy>/<subject>/<sNNN_YYYY>/<montage>/<subject>_sNNN_tNNN.edf``.
    recording_ids : int | list of int | None
        The recordings to read: ``None`` for all, an int ``n`` for the first ``n``, or
        their positions in the sorted list (in the order given). The split does not
        depend on this selection.
    preload : bool
        Whether to load the data into memory.
    n_jobs : int
        Number of jobs reading the files in parallel (joblib).
    eval_fraction : float
        Fraction of the subjects of each class held out for evaluation, in (0, 1);
        see :func:`subject_split`.
    %(verbose)s

    Attributes
    ----------
    description : pandas.DataFrame
        One row per recording, sorted by subject, session and segment: ``path``,
        ``subject``, ``session`` (int), ``segment`` (int), ``montage`` (e.g.
        ``"02_tcp_le"``), ``target`` (1 epilepsy, 0 no epilepsy; the target of the
        datasets) and ``split`` (``"train"`` or ``"eval"``).

    Notes
    -----
    The split is by subject (no subject in both sets), stratified by class, and
    deterministic: within each class, subjects are ordered by the SHA-256 hash of their
    id, so it depends on neither the order of the files nor ``recording_ids``. Channels
    keep their TUH names as read by MNE with ``infer_types=True`` (``"FP1-LE"`` …); see
    :func:`standardize_channels`.
    """

    @verbose
    def __init__(
        self,
        path: str | os.PathLike,
        *,
        recording_ids: int | Iterable[int] | None = None,
        preload: bool = False,
        n_jobs: int = 1,
        eval_fraction: float = 0.2,
        verbose: bool | str | int | None = None,
    ) -> None:
        _validate_type(path, "path-like", "path")
        file_paths = sorted(Path(path).rglob("*.edf"))
        if not file_paths:
            raise FileNotFoundError(f"No EDF file under {path}.")
        descriptions = pd.DataFrame([self._parse_description_from_file_path(f) for f in file_paths])
        descriptions = descriptions.sort_values(["subject", "session", "segment", "path"], ignore_index=True)
        descriptions["split"] = subject_split(descriptions["subject"], descriptions["target"], eval_fraction)
        descriptions = _select_recordings(descriptions, recording_ids)
        super().__init__(_read_recordings(descriptions, preload, n_jobs, desc="Reading TUEP"))
        logger.info("TUEP: %s", _summary(self.description))

    @staticmethod
    def _parse_description_from_file_path(file_path: str | os.PathLike) -> dict:
        """Description of one recording from its path (TUEP v2.x layout)."""
        parts = Path(file_path).parts
        match = _TUH_FNAME.match(parts[-1])
        if len(parts) < 5 or parts[-5] not in TUEP_CLASSES or match is None or parts[-4] != match["subject"]:
            raise ValueError(
                f"Unexpected TUEP file path {str(file_path)!r}: expected <{'|'.join(TUEP_CLASSES)}>/<subject>/"
                "<sNNN_YYYY>/<montage>/<subject>_sNNN_tNNN.edf."
            )
        return {
            "path": str(file_path),
            "subject": match["subject"],
            "session": int(match["session"]),
            "segment": int(match["segment"]),
            "montage": parts[-2],
            "target": TUEP_CLASSES[parts[-5]],
        }


@verbose
@fill_doc
def eegmat(
    path: str | os.PathLike,
    *,
    subjects: Iterable[int] | None = None,
    eval_subjects: Iterable[int] = EEGMAT_EVAL_SUBJECTS,
    preload: bool = False,
    n_jobs: int = 1,
    verbose: bool | str | int | None = None,
) -> BaseConcatDataset:
    """Read PhysioNet's "EEG During Mental Arithmetic Tasks" (eegmat), rest vs arithmetic.

    Parameters
    ----------
    path : path-like
        The folder of the EDF files ``SubjectNN_1.edf`` (rest before the task) and
        ``SubjectNN_2.edf`` (serial subtraction).
    subjects : iterable of int | None
        The subjects to read (numbers ``NN``); ``None`` for all in ``path``.
    eval_subjects : iterable of int
        The subjects of the evaluation set; the default, subjects 20-23, are those
        held out to validate the codecs of mne-dac.
    preload : bool
        Whether to load the data into memory.
    n_jobs : int
        Number of jobs reading the files in parallel (joblib).
    %(verbose)s

    Returns
    -------
    dataset : braindecode.datasets.BaseConcatDataset
        One :class:`~braindecode.datasets.RawDataset` per recording, sorted by subject
        and task, described by ``path``, ``subject`` (``"Subject07"``), ``task``
        (``"rest"`` or ``"arithmetic"``), ``target`` (0 rest, 1 arithmetic; the target
        of the datasets) and ``split`` (``"train"`` or ``"eval"``). Channels are read
        with ``infer_types=True`` (``"Fp1"`` …, ``"A2-A1"``, ``"ECG"`` typed ``"ecg"``);
        see :func:`standardize_channels`.

    Notes
    -----
    The recordings are those of Zyma et al. (2019), 19 channels of the 10-20 system at
    500 Hz, referenced to the linked ears, 3 min of rest and 1 min of arithmetic per
    subject (36 subjects on PhysioNet). The data are licensed under the Open Data
    Commons Attribution License 1.0; any use must cite Zyma I, Tukaev S, Seleznov I, et
    al. Electroencephalograms during Mental Arithmetic Task Performance. Data.
    2019;4(1):14, and Goldberger A, et al. PhysioBank, PhysioToolkit, and PhysioNet.
    Circulation 101(23):e215–e220, 2000.
    """
    _validate_type(path, "path-like", "path")
    eval_subjects = _check_subject_numbers(eval_subjects, "eval_subjects")
    rows = []
    for fname in sorted(Path(path).glob("Subject*_*.edf")):
        match = _EEGMAT_FNAME.match(fname.name)
        if match is None:
            continue
        number = int(match["number"])
        task, target = EEGMAT_TASKS[int(match["task"])]
        rows.append(
            {
                "path": str(fname),
                "subject": f"Subject{number:02d}",
                "number": number,
                "task": task,
                "target": target,
                "split": "eval" if number in eval_subjects else "train",
            }
        )
    if not rows:
        raise FileNotFoundError(f"No eegmat file (SubjectNN_1.edf, SubjectNN_2.edf) in {path}.")
    descriptions = pd.DataFrame(rows).sort_values(["number", "target"], ignore_index=True)
    if subjects is not None:
        subjects = _check_subject_numbers(subjects, "subjects")
        absent = sorted(set(subjects) - set(descriptions["number"]))
        if absent:
            raise ValueError(f"No files of subject(s) {absent} in {path}.")
        descriptions = descriptions[descriptions["number"].isin(subjects)].reset_index(drop=True)
    descriptions = descriptions.drop(columns="number")
    dataset = BaseConcatDataset(_read_recordings(descriptions, preload, n_jobs, desc="Reading eegmat"))
    logger.info("eegmat: %s", _summary(dataset.description))
    return dataset


def _check_subject_numbers(subjects: Iterable[int], name: str) -> tuple[int, ...]:
    _validate_type(subjects, Iterable, name)
    numbers = tuple(subjects)
    for number in numbers:
        _validate_type(number, "int-like", f"each of {name}")
    return tuple(int(number) for number in numbers)
