"""Downstream evaluation: does a classifier do as well on a codec's output as on the original EEG?

The protocol compares conditions (:class:`Condition`) on the same recordings, with the
same preprocessing, windows and seeds:

- ``"original"``: the EEG itself;
- ``"reconstruction"``: the EEG coded and decoded by a codec (DAC-SC or DAC-MC) at a
  given depth (number of codebooks);
- ``"tokens"``: the codec's tokens, classified by :class:`~mne_dac.models.token_model.TokenClassifier`.

Each recording is first *prepared* (standard channels, optional crop), then coded
(reconstructions and tokens), then preprocessed for the classifier (EEG channels,
resampling, scaling and clipping as in Braindecode's TUH Abnormal examples) and cut into
fixed-length windows. A Braindecode classifier is trained on the recordings of the
``"train"`` split and scored on those of the ``"eval"`` split by balanced accuracy over
recordings (window probabilities averaged per recording) and over windows. The
classifier trained on the original EEG is also scored on each reconstruction: whether
reconstructions can stand in for originals in an existing model.

Tokens are computed once per codec and grouping and cached as ``.eegdac`` files
(:func:`tokenize_dataset`), so reruns, other depths and other classifiers reuse them.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mne
import numpy as np
import pandas as pd
from mne.utils import _check_option, _validate_type, logger, verbose

from mne_dac.codecs.codec import DACCodec
from mne_dac.codecs.loading import load_codec
from mne_dac.io.container import EEGDACFormatError, read_tokens, write_tokens
from mne_dac.io.raw import reconstruct_raw, tokenize_raw
from mne_dac.signal.groups import group_kwargs, resolve_groups
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._logging import warn

if TYPE_CHECKING:  # pragma: no cover
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import Preprocessor

    from mne_dac.io.tokens import EEGTokens

#: Kinds of condition.
KINDS = ("original", "reconstruction", "tokens")

#: Classifiers by short name: Braindecode model, learning rate and weight decay (AdamW,
#: cosine annealing), as in Braindecode's trialwise decoding examples.
MODELS = {
    "deep4": ("Deep4Net", 1e-2, 5e-4),
    "shallow": ("ShallowFBCSPNet", 6.25e-4, 0.0),
    "tcn": ("BDTCN", 1e-3, 0.0),
}
#: Learning rate and weight decay of other Braindecode models (given as classes).
CUSTOM_MODEL_OPTIMIZER = (1e-3, 0.0)
#: Learning rate and weight decay of the token classifier.
TOKEN_MODEL_OPTIMIZER = (1e-3, 1e-2)

#: Columns of the results of :func:`evaluate_downstream`.
RESULT_COLUMNS = (
    "condition",
    "kind",
    "train_on",
    "test_on",
    "model",
    "seed",
    "balanced_accuracy",
    "window_balanced_accuracy",
    "n_recordings",
    "n_windows",
    "bits_per_second",
)
_GROUP_KEYS = ["condition", "kind", "train_on", "test_on", "model"]


# ---------------------------------------------------------------------------- conditions
@dataclass(frozen=True)
class Condition:
    """One input condition of the downstream protocol.

    Parameters
    ----------
    name : str
        Name in the results.
    codec : str | path-like | DACCodec | None
        The codec (DAC-SC or DAC-MC, see :func:`~mne_dac.load_codec`); ``None`` for the
        original EEG.
    n_codebooks : int | None
        Depth: codebooks used to decode (or classify, for tokens). ``None``: all.
    groups : dict | ChannelGroups | None
        DAC-MC codecs only: a partition of the channels (see
        :func:`~mne_dac.signal.groups.make_groups`).
    grouping : str | None
        DAC-MC codecs only, without ``groups``: ``"pivot"`` or ``"anatomical"``; ``None``: the
        codec's default grouping. The condition holds the two as one ``groups``.
    kind : ``"original"`` | ``"reconstruction"`` | ``"tokens"`` | None
        What the classifier sees. ``None``: ``"original"`` without a codec,
        ``"reconstruction"`` with one. ``"tokens"`` trains a
        :class:`~mne_dac.models.token_model.TokenClassifier` on the codec's tokens.
    """

    name: str
    codec: Any = None
    n_codebooks: int | None = None
    groups: Any = None
    kind: str | None = None
    grouping: str | None = None

    def __post_init__(self) -> None:
        _validate_type(self.name, str, "name")
        object.__setattr__(self, "groups", resolve_groups(self.groups, self.grouping))
        object.__setattr__(self, "grouping", None)
        kind = self.kind or ("original" if self.codec is None else "reconstruction")
        _check_option("kind", kind, KINDS)
        if kind == "original":
            if self.codec is not None or self.n_codebooks is not None or self.groups is not None:
                raise ValueError(f"Condition {self.name!r} is the original EEG: it takes no codec, depth or groups.")
        else:
            if self.codec is None:
                raise ValueError(f"Condition {self.name!r} ({kind}) needs a codec.")
            codec = load_codec(self.codec)
            codec.check_n_codebooks(self.n_codebooks)
            try:
                codec.check_groups(self.groups)
            except ValueError as err:
                raise ValueError(f"Condition {self.name!r}: {err}") from err
            object.__setattr__(self, "codec", codec)
        object.__setattr__(self, "kind", kind)

    @property
    def depth(self) -> int | None:
        """Codebooks used (``None`` for the original EEG)."""
        return None if self.codec is None else self.codec.check_n_codebooks(self.n_codebooks)


def _as_conditions(conditions: Any) -> list[Condition]:
    """Conditions from a list of :class:`Condition` or a dict name -> spec."""
    if isinstance(conditions, Condition):
        conditions = [conditions]
    if isinstance(conditions, Mapping):
        out = []
        for name, spec in conditions.items():
            if spec is None:
                out.append(Condition(name))
            elif isinstance(spec, Condition):
                out.append(dataclasses.replace(spec, name=name))
            elif isinstance(spec, (tuple, list)):
                out.append(Condition(name, *spec))
            else:
                out.append(Condition(name, spec))
    else:
        _validate_type(conditions, Iterable, "conditions")
        out = list(conditions)
        for cond in out:
            _validate_type(cond, Condition, "each condition")
    if not out:
        raise ValueError("No conditions given.")
    names = [cond.name for cond in out]
    if len(set(names)) != len(names):
        raise ValueError(f"Condition names must be unique, got {names}.")
    return out


# ---------------------------------------------------------------------------- models
def _resolve_model(model: Any) -> tuple[type, float, float]:
    """Braindecode model class, default learning rate and weight decay."""
    from braindecode import models

    if isinstance(model, type):
        return model, *CUSTOM_MODEL_OPTIMIZER
    _validate_type(model, str, "model")
    aliases = {alias: alias for alias in MODELS} | {name.lower(): alias for alias, (name, *_) in MODELS.items()}
    choices = [*MODELS, *(name for name, *_ in MODELS.values())]
    if model.lower() not in aliases:
        raise ValueError(f"Unknown model {model!r}: choose one of {choices}, or pass a Braindecode model class.")
    name, lr, weight_decay = MODELS[aliases[model.lower()]]
    return getattr(models, name), lr, weight_decay


def _model_problem(model_class: type, n_chans: int, n_times: int, sfreq: float) -> str | None:
    """Why ``model_class`` cannot take windows of ``n_times`` samples as built, or None."""
    import torch

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            module = model_class(n_chans=n_chans, n_outputs=2, n_times=n_times, sfreq=sfreq).eval()
            with torch.no_grad():
                module(torch.zeros(1, n_chans, n_times))
        except (ValueError, RuntimeError, AssertionError) as err:
            return str(err) or type(err).__name__
    for w in caught:  # Deep4Net shrinks its kernels (and warns) when windows are too short
        if "smaller than the minimum" in str(w.message):
            return str(w.message)
    return None


def _check_window_length(model_class: type, n_chans: int, n_times: int, sfreq: float) -> None:
    """Raise a clear error when windows of ``n_times`` samples are too short for the model."""
    problem = _model_problem(model_class, n_chans, n_times, sfreq)
    if problem is None:
        return
    lo, hi = n_times, max(2 * n_times, 2)
    while _model_problem(model_class, n_chans, hi, sfreq) is not None:
        if hi > 1_000_000:
            raise ValueError(f"{model_class.__name__} cannot be built for these windows: {problem}")
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _model_problem(model_class, n_chans, mid, sfreq) is None else (mid, hi)
    raise ValueError(
        f"Windows of {n_times} samples ({n_times / sfreq:g} s at {sfreq:g} Hz) are too short for "
        f"{model_class.__name__}, which needs at least {hi} samples ({hi / sfreq:g} s): use longer windows "
        f"(window_seconds) or another model."
    )


# ---------------------------------------------------------------------------- scoring
def recording_predictions(proba: np.ndarray, y_true: np.ndarray, recordings: np.ndarray) -> pd.DataFrame:
    """Aggregate window predictions per recording: mean of the window outputs, then argmax.

    Parameters
    ----------
    proba : array, shape (n_windows, n_classes)
        Class probabilities (or logits) of each window.
    y_true : array of int, shape (n_windows,)
        True class of each window (the same for all windows of a recording).
    recordings : array, shape (n_windows,)
        Recording of each window (any hashable ids).

    Returns
    -------
    predictions : pandas.DataFrame
        One row per recording, indexed by recording id in order of first appearance:
        ``target``, ``prediction`` and ``n_windows``.
    """
    proba = np.asarray(proba, dtype=float)
    y_true, recordings = np.asarray(y_true), np.asarray(recordings)
    if proba.ndim != 2 or not len(proba) == len(y_true) == len(recordings):
        raise ValueError(
            f"proba must have shape (n_windows, n_classes) and y_true and recordings (n_windows,), got "
            f"{proba.shape}, {y_true.shape} and {recordings.shape}."
        )
    frame = pd.DataFrame(proba).assign(target=y_true, recording=recordings)
    grouped = frame.groupby("recording", sort=False)
    if (grouped["target"].nunique() > 1).any():
        raise ValueError("The windows of a recording must all have the same target.")
    return pd.DataFrame(
        {
            "target": grouped["target"].first(),
            "prediction": grouped[list(range(proba.shape[1]))].mean().to_numpy().argmax(axis=1),
            "n_windows": grouped.size(),
        }
    )


def score_recordings(proba: np.ndarray, y_true: np.ndarray, recordings: np.ndarray) -> dict[str, float]:
    """Balanced accuracy of window predictions, over recordings and over windows.

    Parameters
    ----------
    proba : array, shape (n_windows, n_classes)
        Class probabilities (or logits) of each window.
    y_true : array of int, shape (n_windows,)
        True class of each window.
    recordings : array, shape (n_windows,)
        Recording of each window.

    Returns
    -------
    scores : dict
        ``balanced_accuracy`` (over recordings, see :func:`recording_predictions`),
        ``window_balanced_accuracy`` (each window on its own), ``n_recordings`` and
        ``n_windows``.
    """
    from sklearn.metrics import balanced_accuracy_score

    per_recording = recording_predictions(proba, y_true, recordings)
    with warnings.catch_warnings():  # a class that is never predicted or absent from the split
        warnings.filterwarnings("ignore", message=".*y_pred contains classes not in y_true")
        return {
            "balanced_accuracy": float(balanced_accuracy_score(per_recording["target"], per_recording["prediction"])),
            "window_balanced_accuracy": float(balanced_accuracy_score(y_true, np.asarray(proba).argmax(axis=1))),
            "n_recordings": len(per_recording),
            "n_windows": len(y_true),
        }


# ---------------------------------------------------------------------------- preparation and cache
def crop_recording(raw: mne.io.BaseRaw, tmin: float = 0.0, tmax: float | None = None) -> mne.io.BaseRaw:
    """Crop a recording in place to ``[tmin, tmax)`` seconds, ``tmax`` capped at its end.

    Usable as ``braindecode.preprocessing.Preprocessor(crop_recording, apply_on_array=False, tmax=600)``:
    unlike ``raw.crop``, recordings shorter than ``tmax`` are kept whole.
    """
    duration = raw.n_times / raw.info["sfreq"]
    if not 0 <= tmin < duration:
        raise ValueError(f"tmin={tmin} s is outside the recording ({duration:g} s).")
    if tmax is not None and tmax <= tmin:
        raise ValueError(f"tmax ({tmax}) must be greater than tmin ({tmin}).")
    if tmax is None or tmax >= duration:
        return raw.crop(tmin)
    return raw.crop(tmin, tmax, include_tmax=False)


def _prepare_steps(prepare: Sequence[Preprocessor] | None, tmin: float, tmax: float | None) -> list[Preprocessor]:
    from braindecode.preprocessing import Preprocessor

    if prepare is None:
        from mne_dac.evaluation.corpora import standardize_channels

        prepare = [Preprocessor(standardize_channels, apply_on_array=False)]
    _validate_type(prepare, (list, tuple), "prepare")
    steps = list(prepare)
    if tmin or tmax is not None:
        steps.append(Preprocessor(crop_recording, apply_on_array=False, tmin=tmin, tmax=tmax))
    return steps


def _preprocessed(ds: RawDataset, raw: mne.io.BaseRaw, steps: Sequence[Preprocessor]) -> mne.io.BaseRaw:
    """``raw`` (a copy, or a new object) run through Braindecode's ``preprocess`` with ``steps``."""
    from braindecode.datasets import BaseConcatDataset, RawDataset
    from braindecode.preprocessing import preprocess

    single = BaseConcatDataset([RawDataset(raw, ds.description)])
    if steps:
        with mne.utils.use_log_level("error"):
            preprocess(single, list(steps), n_jobs=1)
    return single.datasets[0].raw


def downstream_preprocessors(sfreq: float = 100.0, *, scale: float = 1e6, clip: float = 800e-6) -> list[Preprocessor]:
    """The classifier's preprocessing, as in Braindecode's TUH Abnormal examples.

    Keeps the EEG channels, resamples to ``sfreq``, clips at ``±clip`` Volts (800 µV) and
    converts Volts to µV (``scale``).

    Parameters
    ----------
    sfreq : float
        Sampling rate of the windows, in Hz.
    scale : float
        Factor applied to the signals (``1e6``: Volts to µV).
    clip : float
        Clip level in Volts, like :class:`~mne_dac.signal.preprocessing.PreprocessingSettings`'s.
        A level above 1 is taken for µV (this parameter's unit before 0.1), with a warning.

    Returns
    -------
    preprocessors : list of braindecode.preprocessing.Preprocessor
        For :func:`braindecode.preprocessing.preprocess`.
    """
    from braindecode.preprocessing import Preprocessor

    if clip > 1:
        warn(
            f"downstream_preprocessors(clip=) is in Volts now, like the codec's clip: {clip:g} is taken for µV; "
            f"pass clip={clip * 1e-6:g}.",
            FutureWarning,
        )
        clip *= 1e-6
    return [
        Preprocessor("pick", picks="eeg", apply_on_array=False),
        Preprocessor("resample", sfreq=sfreq, apply_on_array=False),
        Preprocessor(scale_and_clip, factor=scale, clip=clip * scale),
    ]


def scale_and_clip(data: np.ndarray, factor: float, clip: float) -> np.ndarray:
    """``clip(data * factor, -clip, clip)``: a picklable preprocessing function."""
    return np.clip(data * factor, -clip, clip)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", text).strip("_") or "codec"


def _groups_json(groups: Any) -> Any:
    from mne_dac.signal.groups import ChannelGroups

    if isinstance(groups, ChannelGroups):
        return groups.to_dict()
    if isinstance(groups, Mapping):
        return {str(k): list(v) for k, v in groups.items()}
    return groups


def cache_key(codec: DACCodec, groups: Any = None) -> str:
    """Folder name of a codec's tokens in a cache: readable name plus a hash of what defines them.

    Parameters
    ----------
    codec : DACCodec | DACMCCodec
        The codec.
    groups : str | dict | ChannelGroups | None
        DAC-MC channel groups (``None``: the codec's default).

    Returns
    -------
    key : str
        ``<name>-<architecture>[-<groups>]-<hash>``, the hash (16 hex digits) covering the
        codec's architecture, configuration, weights and the groups.
    """
    ident = codec.identity.to_dict()
    ident.pop("name")
    digest = hashlib.sha256(json.dumps([ident, _groups_json(groups)], sort_keys=True).encode()).hexdigest()
    parts = [_slug(codec.name), codec.architecture]
    if isinstance(groups, str):
        parts.append(_slug(groups))
    return "-".join([*parts, digest[:16]])


def _cache_names(dataset: BaseConcatDataset) -> list[Path]:
    """Cache file of each recording, relative to a codec's folder: its absolute path mirrored."""
    description = dataset.description
    if "path" not in description:
        raise ValueError("The dataset description needs a 'path' column (one file per recording) to name cache files.")
    names = []
    for path in description["path"]:
        path = Path(os.path.abspath(path))
        names.append(path.relative_to(path.anchor).with_suffix(".eegdac"))
    if len(set(names)) != len(names):
        raise ValueError("Recording paths must be unique (one file per recording) to name cache files.")
    return names


def _stale_reason(tokens: EEGTokens, raw: mne.io.BaseRaw, codec: DACCodec) -> str | None:
    """Why cached tokens are not those of ``raw`` coded by ``codec`` at full depth, or None."""
    eeg = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True, exclude=[])]
    checks = {
        "codec": tokens.codec.matches(codec.identity),
        "channels": tokens.ch_names == eeg,
        "length": tokens.n_times == raw.n_times and tokens.first_samp == raw.first_samp,
        "sampling rate": np.isclose(tokens.sfreq, raw.info["sfreq"]),
        "depth": tokens.n_codebooks == codec.n_codebooks,
    }
    differ = [what for what, same in checks.items() if not same]
    return ", ".join(differ) if differ else None


def _recording_tokens(
    raw: mne.io.BaseRaw, fname: Path, codec: DACCodec, groups: Any, overwrite: bool = False
) -> EEGTokens:
    """Tokens of a prepared recording: read from ``fname`` when valid, else coded and written."""
    if fname.is_file() and not overwrite:
        try:
            tokens = read_tokens(fname, codec)
        except (EEGDACFormatError, OSError, ValueError, KeyError) as err:
            warn(f"Cached tokens {fname} cannot be read ({err}): coding the recording again.")
        else:
            reason = _stale_reason(tokens, raw, codec)
            if reason is None:
                return tokens
            warn(f"Cached tokens {fname} were made from other data ({reason} differ): coding the recording again.")
    # decoded at each condition's depth: the codec's decode, without the band gains of the deepest
    tokens = tokenize_raw(raw, codec, n_codebooks=codec.n_codebooks, **group_kwargs(groups), restore_bands=False,
                          verbose="warning")  # fmt: skip
    fname.parent.mkdir(parents=True, exist_ok=True)
    with mne.utils.use_log_level("warning"):
        write_tokens(fname, tokens, overwrite=True, codec=codec)
    return tokens


def _check_dataset(dataset: Any) -> None:
    from braindecode.datasets import BaseConcatDataset, RawDataset

    _validate_type(dataset, BaseConcatDataset, "dataset")
    for i, ds in enumerate(dataset.datasets):
        if not isinstance(ds, RawDataset):
            raise TypeError(
                f"dataset.datasets[{i}] is a {type(ds).__name__}: expected recordings (RawDataset), not windows."
            )


def _progress(iterable: Iterable, total: int, desc: str, enabled: bool) -> Iterable:
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="recording", disable=not enabled)


@verbose
@fill_doc
def tokenize_dataset(
    dataset: BaseConcatDataset,
    codec: Any,
    cache_dir: str | os.PathLike,
    *,
    groups: Any = None,
    grouping: str | None = None,
    prepare: Sequence[Preprocessor] | None = None,
    tmin: float = 0.0,
    tmax: float | None = None,
    overwrite: bool = False,
    progress: bool = True,
    verbose: bool | str | int | None = None,
) -> list[Path]:
    """Tokenize every recording of a dataset once, caching the tokens as ``.eegdac`` files.

    Each recording is prepared (``prepare``, then the crop to ``[tmin, tmax)``) and
    coded at the codec's full depth (fewer codebooks are a prefix of these codes). Files
    are written atomically, so an interrupted run leaves only complete files and a rerun
    resumes: a file that reads back and matches the prepared recording (codec,
    channels, length, rate) is reused, any other is coded again.

    Parameters
    ----------
    dataset : braindecode.datasets.BaseConcatDataset
        Recordings (:class:`~braindecode.datasets.RawDataset`) whose description has a
        ``path`` column (one file per recording).
    %(codec)s
    cache_dir : path-like
        The cache. Files go to ``cache_dir/<cache_key(codec, groups)>/<path>.eegdac``,
        ``<path>`` mirroring each recording's absolute path (suffix replaced).
    %(groups)s
    %(grouping)s
    prepare : list of braindecode.preprocessing.Preprocessor | None
        Steps run on each recording before coding. ``None``: the 19 standard channels
        (:func:`mne_dac.evaluation.corpora.standardize_channels`); ``[]``: none.
    tmin, tmax : float | None
        Crop of each recording in seconds after ``prepare`` (``tmax`` capped at its end,
        ``None``: to the end).
    %(overwrite)s
    progress : bool
        Show a progress bar over recordings.
    %(verbose)s

    Returns
    -------
    fnames : list of Path
        The ``.eegdac`` file of each recording, in the order of ``dataset.datasets``.
    """
    groups = resolve_groups(groups, grouping)
    _check_dataset(dataset)
    codec = load_codec(codec)
    steps = _prepare_steps(prepare, tmin, tmax)
    folder = Path(cache_dir) / cache_key(codec, groups)
    fnames = [folder / name for name in _cache_names(dataset)]
    pairs = zip(dataset.datasets, fnames)
    for ds, fname in _progress(pairs, len(fnames), f"Tokenizing ({codec.name})", progress):
        _recording_tokens(_preprocessed(ds, ds.raw.copy(), steps), fname, codec, groups, overwrite)
    logger.info("Tokens of %d recordings in %s", len(fnames), folder)
    return fnames


# ---------------------------------------------------------------------------- condition data
@dataclass
class _Split:
    """Windows of one split: inputs, class per window and recording per window."""

    X: Any
    y: np.ndarray
    recordings: np.ndarray


@dataclass
class _ConditionData:
    condition: Condition
    train: _Split
    eval: _Split
    n_chans: int
    n_times: int
    sfreq: float
    bits_per_second: float = np.nan


def _class_indices(dataset: BaseConcatDataset) -> np.ndarray:
    """Class index (0…n_classes-1) of each recording, from the ``target`` column."""
    description = dataset.description
    missing = [col for col in ("target", "split") if col not in description]
    if missing:
        raise ValueError(f"The dataset description needs the columns 'target' and 'split'; missing {missing}.")
    splits = set(description["split"])
    if not splits <= {"train", "eval"} or len(splits) < 2:
        raise ValueError(f"The 'split' column must hold 'train' and 'eval' (both), got {sorted(map(str, splits))}.")
    classes = np.unique(description["target"].to_numpy())
    return np.searchsorted(classes, description["target"].to_numpy())


def _stream_bitrate(tokens: EEGTokens, n_codebooks: int) -> float:
    """Bits per second per coded channel at ``n_codebooks`` codebooks."""
    return tokens.bits_per_second * n_codebooks / tokens.n_codebooks


def _condition_data(
    conditions: list[Condition],
    dataset: BaseConcatDataset,
    classes: np.ndarray,
    steps: Sequence[Preprocessor],
    preprocessors: Sequence[Preprocessor],
    cache_dir: Path | None,
    window_seconds: float,
    stride_seconds: float,
    n_jobs: int,
    progress: bool,
) -> dict[str, _ConditionData]:
    """Windows of every condition, in one pass over the recordings.

    Each recording is prepared once; its tokens are read (or coded) once per codec and
    grouping, then decoded at each reconstruction's depth or cut into token windows.
    """
    from braindecode.datasets import RawDataset

    names = _cache_names(dataset) if any(cond.codec is not None for cond in conditions) else []
    keys = {cond.name: cache_key(cond.codec, cond.groups) for cond in conditions if cond.codec is not None}
    signals: dict[str, list] = {cond.name: [] for cond in conditions if cond.kind != "tokens"}
    codes: dict[str, list] = {cond.name: [] for cond in conditions if cond.kind == "tokens"}
    bitrates: dict[str, list] = {name: [] for name in keys}
    items = enumerate(dataset.datasets)
    for i, ds in _progress(items, len(dataset.datasets), "Preparing the conditions", progress):
        prepared = _preprocessed(ds, ds.raw.copy(), steps)
        tokens: dict[str, EEGTokens] = {}
        for cond in conditions:
            if cond.codec is None:
                raw = prepared.copy()
            else:
                key = keys[cond.name]
                if key not in tokens:
                    tokens[key] = _recording_tokens(prepared, cache_dir / key / names[i], cond.codec, cond.groups)
                bitrates[cond.name].append(_stream_bitrate(tokens[key], cond.depth))
                if cond.kind == "tokens":  # the codes of the frames inside the recording
                    whole = int(np.floor(tokens[key].duration * cond.codec.frame_rate + 1e-6))
                    codes[cond.name].append(tokens[key].codes[:, : cond.depth, :whole])
                    continue
                raw = reconstruct_raw(tokens[key], cond.codec, n_codebooks=cond.depth, verbose="warning")
            description = ds.description.copy()
            description["target"] = int(classes[i])
            signals[cond.name].append(
                RawDataset(_preprocessed(ds, raw, preprocessors), description, target_name="target")
            )
    is_train = (dataset.description["split"] == "train").to_numpy()
    data = {}
    for cond in conditions:
        bitrate = float(np.mean(bitrates[cond.name])) if cond.codec is not None else np.nan
        if cond.kind == "tokens":
            data[cond.name] = _token_windows(cond, codes[cond.name], classes, is_train, window_seconds, stride_seconds)
        else:
            data[cond.name] = _signal_windows(cond, signals[cond.name], window_seconds, stride_seconds, n_jobs)
        data[cond.name].bits_per_second = bitrate
    return data


def _signal_windows(
    condition: Condition, recordings: list[RawDataset], window_seconds: float, stride_seconds: float, n_jobs: int
) -> _ConditionData:
    """Fixed-length windows of preprocessed recordings (targets and splits in their descriptions)."""
    from braindecode.datasets import BaseConcatDataset
    from braindecode.preprocessing import create_fixed_length_windows

    sfreqs = {rec.raw.info["sfreq"] for rec in recordings}
    n_chans = {len(rec.raw.ch_names) for rec in recordings}
    if len(sfreqs) > 1 or len(n_chans) > 1:
        raise ValueError(
            f"After preprocessing, recordings differ in sampling rate ({sorted(sfreqs)}) or number of channels "
            f"({sorted(n_chans)}): pick the same channels (prepare) and resample (preprocessors) for all."
        )
    (sfreq,), (n_chans,) = sfreqs, n_chans
    n_times, stride = round(window_seconds * sfreq), round(stride_seconds * sfreq)
    shortest = min(rec.raw.n_times for rec in recordings)
    if shortest < n_times:
        raise ValueError(
            f"A recording ({shortest / sfreq:g} s after preprocessing) is shorter than one window "
            f"({window_seconds:g} s): use shorter windows or drop it."
        )
    windows = create_fixed_length_windows(
        BaseConcatDataset(recordings),
        window_size_samples=n_times,
        window_stride_samples=stride,
        on_last_window="drop",
        n_jobs=n_jobs,
    )
    split = windows.split("split")
    return _ConditionData(
        condition, _windows_split(split["train"]), _windows_split(split["eval"]), n_chans, n_times, sfreq
    )


def _windows_split(windows: BaseConcatDataset) -> _Split:
    lengths = [len(ds) for ds in windows.datasets]
    targets = windows.description["target"].to_numpy(dtype=int)
    return _Split(windows, np.repeat(targets, lengths), np.repeat(np.arange(len(lengths)), lengths))


def _token_windows(
    condition: Condition,
    codes: list[np.ndarray],
    classes: np.ndarray,
    is_train: np.ndarray,
    window_seconds: float,
    stride_seconds: float,
) -> _ConditionData:
    """Windows of ``round(window_seconds * frame_rate)`` frames of each recording's codes."""
    frame_rate = condition.codec.frame_rate
    n_frames, stride = round(window_seconds * frame_rate), round(stride_seconds * frame_rate)
    if n_frames < 1 or stride < 1:
        raise ValueError(
            f"Windows of {window_seconds:g} s (stride {stride_seconds:g} s) hold less than one codec frame "
            f"({1 / frame_rate:g} s)."
        )
    if not np.isclose(n_frames, window_seconds * frame_rate):
        logger.info("Token windows of %d frames (%g s)", n_frames, n_frames / frame_rate)
    windows, owners = [], []
    for i, recording in enumerate(codes):
        starts = range(0, recording.shape[-1] - n_frames + 1, stride)
        if not starts:
            raise ValueError(
                f"Recording {i} ({recording.shape[-1] / frame_rate:g} s of whole frames) is shorter than one window "
                f"({window_seconds:g} s)."
            )
        windows.extend(recording[..., start : start + n_frames] for start in starts)
        owners.extend([i] * len(starts))
    shapes = {w.shape for w in windows}
    if len(shapes) > 1:
        raise ValueError(f"Token windows differ in shape ({sorted(shapes)}): recordings must share their channels.")
    dtype = np.int16 if condition.codec.codebook_size <= np.iinfo(np.int16).max else np.int64
    X, owners = np.stack(windows).astype(dtype), np.asarray(owners)
    y = classes[owners].astype(np.int64)
    train = is_train[owners]
    return _ConditionData(
        condition,
        _Split(X[train], y[train], owners[train]),
        _Split(X[~train], y[~train], owners[~train]),
        n_chans=X.shape[1],
        n_times=n_frames,
        sfreq=frame_rate,
    )


# ---------------------------------------------------------------------------- training
def _fit(
    build_module: Callable[[], Any],
    data: _Split,
    seed: int,
    *,
    lr: float,
    weight_decay: float,
    n_epochs: int,
    batch_size: int,
    device: str,
) -> Any:
    """Seed, build a module and train it with Braindecode's EEGClassifier (AdamW, cosine annealing)."""
    import torch
    from braindecode import EEGClassifier
    from braindecode.util import set_random_seeds
    from skorch.callbacks import LRScheduler

    set_random_seeds(seed, cuda=torch.device(device).type == "cuda")
    n_train = len(data.y)
    clf = EEGClassifier(
        build_module(),
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        optimizer__lr=lr,
        optimizer__weight_decay=weight_decay,
        batch_size=batch_size,
        max_epochs=n_epochs,
        train_split=None,
        callbacks=[("lr_scheduler", LRScheduler("CosineAnnealingLR", T_max=max(1, n_epochs - 1)))],
        iterator_train__shuffle=True,
        iterator_train__drop_last=n_train > batch_size,
        iterator_train__generator=torch.Generator().manual_seed(seed),
        device=device,
        verbose=int(logger.isEnabledFor(logging.DEBUG)),
    )
    if isinstance(data.X, np.ndarray):
        clf.fit(data.X, data.y)
    else:
        clf.fit(data.X, y=None)
    return clf


def _score(clf: Any, data: _Split) -> dict[str, float]:
    return score_recordings(clf.predict_proba(data.X), data.y, data.recordings)


@verbose
@fill_doc
def evaluate_downstream(
    dataset: BaseConcatDataset,
    conditions: Mapping[str, Any] | Iterable[Condition],
    *,
    model: str | type = "deep4",
    seeds: Iterable[int] = (0, 1, 2),
    cache_dir: str | os.PathLike | None = None,
    window_seconds: float = 6.0,
    window_stride_seconds: float | None = None,
    sfreq: float = 100.0,
    tmin: float = 0.0,
    tmax: float | None = None,
    prepare: Sequence[Preprocessor] | None = None,
    preprocessors: Sequence[Preprocessor] | None = None,
    n_epochs: int = 35,
    batch_size: int = 64,
    lr: float | None = None,
    weight_decay: float | None = None,
    token_model_kwargs: dict | None = None,
    device: str | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    verbose: bool | str | int | None = None,
) -> pd.DataFrame:
    """Train and score a classifier on the original EEG, on reconstructions and on tokens.

    For every seed and condition, a classifier is trained on the windows of the
    recordings whose ``split`` is ``"train"`` and scored on those whose ``split`` is
    ``"eval"``, by balanced accuracy over recordings (window probabilities averaged per
    recording) and over windows. The classifier trained on each ``"original"``
    condition is also scored on the eval windows of every ``"reconstruction"``
    condition (train on original, test on reconstructed). Every condition sees the
    same recordings, preprocessing, windows and seeds (model initialisation and
    shuffling).

    Parameters
    ----------
    dataset : braindecode.datasets.BaseConcatDataset
        Recordings (:class:`~braindecode.datasets.RawDataset`, in Volts, e.g. from
        :mod:`mne_dac.evaluation.corpora`) whose description has the columns ``path`` (one file
        per recording), ``target`` (class) and ``split`` (``"train"`` or ``"eval"``).
        It is left unchanged.
    conditions : dict | list of Condition
        The conditions: :class:`Condition` objects, or a dict name -> ``None`` (original
        EEG), a codec, a tuple ``(codec, n_codebooks, groups)`` or a :class:`Condition`.
    model : str | type
        Classifier of the EEG windows: ``"deep4"`` (``Deep4Net``), ``"shallow"``
        (``ShallowFBCSPNet``), ``"tcn"`` (``BDTCN``), their Braindecode names, or a
        Braindecode model class (with :data:`CUSTOM_MODEL_OPTIMIZER` settings). Token conditions use
        :class:`~mne_dac.models.token_model.TokenClassifier`.
    seeds : iterable of int
        Seeds: one training per seed and condition.
    cache_dir : path-like | None
        Cache of the tokens (see :func:`tokenize_dataset`); needed by conditions with a codec.
    window_seconds : float
        Window length in seconds (Deep4Net needs at least 4.41 s at 100 Hz).
    window_stride_seconds : float | None
        Stride between windows (``None``: ``window_seconds``, no overlap).
    sfreq : float
        Sampling rate of the windows, for the default ``preprocessors``.
    tmin, tmax : float | None
        Crop of each recording in seconds, before coding.
    prepare : list of braindecode.preprocessing.Preprocessor | None
        Steps run on each recording before coding, in every condition. ``None``: the
        19 standard channels (:func:`mne_dac.evaluation.corpora.standardize_channels`); ``[]``: none.
    preprocessors : list of braindecode.preprocessing.Preprocessor | None
        The classifier's preprocessing, after coding, in every condition; it should not
        change the time span (crop with ``tmin``/``tmax``), so that token windows and
        signal windows cover the same times. ``None``: :func:`downstream_preprocessors`
        at ``sfreq``.
    n_epochs : int
        Training epochs.
    batch_size : int
        Windows per batch.
    lr, weight_decay : float | None
        AdamW settings; ``None``: those of :data:`MODELS` (token classifier:
        :data:`TOKEN_MODEL_OPTIMIZER`).
    token_model_kwargs : dict | None
        Arguments of :meth:`TokenClassifier.from_codec <mne_dac.models.token_model.TokenClassifier.from_codec>`
        (``embed_dim``, ``n_layers``, ``freeze_embedding``…).
    device : str | None
        Torch device of the classifiers (``None``: CUDA when available). Codecs run on
        their own device.
    n_jobs : int
        Jobs creating the windows.
    progress : bool
        Show progress bars over recordings.
    %(verbose)s

    Returns
    -------
    results : pandas.DataFrame
        One row per seed and (train, test) pair, with columns :data:`RESULT_COLUMNS`:
        ``condition`` (the condition tested), ``kind`` (its kind), ``train_on`` and
        ``test_on`` (condition names), ``model``, ``seed``, ``balanced_accuracy`` (over
        recordings), ``window_balanced_accuracy``, ``n_recordings`` and ``n_windows``
        (eval split) and ``bits_per_second`` (bits/s per channel, NaN for the original EEG).
        See :func:`summary_table` and :func:`summary_markdown`.

    Notes
    -----
    Order of operations per recording: ``prepare`` and crop (every condition), coding
    (cached tokens, see :func:`tokenize_dataset`; decoded at the condition's depth),
    ``preprocessors``, then windows with
    :func:`braindecode.preprocessing.create_fixed_length_windows` (the last partial
    window dropped). Token windows are cut from the frames that lie inside the
    recording, from its start, with the same length and stride in seconds (one frame
    is ``hop_length / codec.sfreq`` seconds: 1 s for the paper's codecs).

    Classifiers are trained trialwise with Braindecode's ``EEGClassifier`` (AdamW,
    cross-entropy, cosine annealing, no validation split). For each seed,
    :func:`braindecode.util.set_random_seeds` is called before every model is built, and
    the training windows are shuffled by a generator seeded with it, so that all
    conditions see the same initialisation and order.

    The preprocessed windows of all conditions are held in memory at once; for large
    corpora crop the recordings (``tmax``) or evaluate subsets.
    """
    import torch

    from mne_dac.models.token_model import TokenClassifier

    _check_dataset(dataset)
    conditions = _as_conditions(conditions)
    seeds = [int(seed) for seed in seeds]
    if not seeds:
        raise ValueError("No seeds given.")
    model_class, default_lr, default_wd = _resolve_model(model)
    if window_seconds <= 0:
        raise ValueError(f"window_seconds must be positive, got {window_seconds}")
    stride_seconds = window_seconds if window_stride_seconds is None else window_stride_seconds
    if any(cond.codec is not None for cond in conditions):
        if cache_dir is None:
            raise ValueError("Conditions with a codec need a cache_dir for their tokens.")
        cache_dir = Path(cache_dir)
    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    steps = _prepare_steps(prepare, tmin, tmax)
    preprocessors = downstream_preprocessors(sfreq) if preprocessors is None else list(preprocessors)
    classes = _class_indices(dataset)
    n_classes = int(classes.max()) + 1
    token_model_kwargs = dict(token_model_kwargs or {})

    if any(cond.kind != "tokens" for cond in conditions):  # check the windows on one recording before coding
        first = dataset.datasets[0]
        probe = _preprocessed(first, _preprocessed(first, first.raw.copy(), steps), preprocessors)
        probe_sfreq = probe.info["sfreq"]
        _check_window_length(model_class, len(probe.ch_names), round(window_seconds * probe_sfreq), probe_sfreq)
    data = _condition_data(
        conditions, dataset, classes, steps, preprocessors, cache_dir, window_seconds, stride_seconds, n_jobs, progress
    )

    rows = []

    def record(test: _ConditionData, train_on: str, model_name: str, seed: int, scores: dict) -> None:
        cond = test.condition
        rows.append(
            dict(
                condition=cond.name,
                kind=cond.kind,
                train_on=train_on,
                test_on=cond.name,
                model=model_name,
                seed=seed,
                **scores,
                bits_per_second=test.bits_per_second,
            )
        )
        logger.info(
            "seed %d, train on %s, test on %s (%s): balanced accuracy %.3f over %d recordings, %.3f over %d windows",
            seed,
            train_on,
            cond.name,
            model_name,
            scores["balanced_accuracy"],
            scores["n_recordings"],
            scores["window_balanced_accuracy"],
            scores["n_windows"],
        )

    optimizers = {  # (lr, weight decay) of the signal and token classifiers
        kind: (default[0] if lr is None else lr, default[1] if weight_decay is None else weight_decay)
        for kind, default in (("signal", (default_lr, default_wd)), ("tokens", TOKEN_MODEL_OPTIMIZER))
    }

    def build_module(cond_data: _ConditionData) -> Any:
        if cond_data.condition.kind == "tokens":
            return TokenClassifier.from_codec(
                cond_data.condition.codec,
                n_outputs=n_classes,
                n_chans=cond_data.n_chans,
                n_times=cond_data.n_times,
                n_codebooks=cond_data.condition.depth,
                **token_model_kwargs,
            )
        return model_class(
            n_chans=cond_data.n_chans, n_outputs=n_classes, n_times=cond_data.n_times, sfreq=cond_data.sfreq
        )

    for seed in seeds:
        for cond in conditions:
            cond_data = data[cond.name]
            cond_lr, cond_wd = optimizers["tokens" if cond.kind == "tokens" else "signal"]
            clf = _fit(
                partial(build_module, cond_data),
                cond_data.train,
                seed,
                lr=cond_lr,
                weight_decay=cond_wd,
                n_epochs=n_epochs,
                batch_size=batch_size,
                device=device,
            )
            model_name = type(clf.module_).__name__
            record(cond_data, cond.name, model_name, seed, _score(clf, cond_data.eval))
            if cond.kind == "original":
                for other in conditions:
                    if other.kind == "reconstruction":
                        record(data[other.name], cond.name, model_name, seed, _score(clf, data[other.name].eval))
    return pd.DataFrame(rows, columns=list(RESULT_COLUMNS))


# ---------------------------------------------------------------------------- reporting
def summary_table(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds of each (condition, train, test, model).

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`evaluate_downstream`.

    Returns
    -------
    summary : pandas.DataFrame
        One row per condition, training condition, test condition and model, in order
        of appearance: ``bits_per_second``, ``balanced_accuracy_mean``, ``balanced_accuracy_std``,
        ``window_balanced_accuracy_mean``, ``window_balanced_accuracy_std`` (standard
        deviation over seeds, ``ddof=1``; NaN with one seed) and ``n_seeds``.
    """
    _validate_type(results, pd.DataFrame, "results")
    missing = [col for col in RESULT_COLUMNS if col not in results]
    if missing:
        raise ValueError(f"results lack the columns {missing}: pass the output of evaluate_downstream.")
    grouped = results.groupby(_GROUP_KEYS, sort=False, dropna=False)
    return grouped.agg(
        bits_per_second=("bits_per_second", "first"),
        balanced_accuracy_mean=("balanced_accuracy", "mean"),
        balanced_accuracy_std=("balanced_accuracy", "std"),
        window_balanced_accuracy_mean=("window_balanced_accuracy", "mean"),
        window_balanced_accuracy_std=("window_balanced_accuracy", "std"),
        n_seeds=("seed", "nunique"),
    ).reset_index()


def _mean_std(mean: float, std: float, digits: int) -> str:
    return f"{mean:.{digits}f}" if np.isnan(std) else f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_markdown(results: pd.DataFrame, *, digits: int = 3) -> str:
    """The summary of :func:`summary_table` as a Markdown table (mean ± std over seeds).

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`evaluate_downstream`.
    digits : int
        Decimals of the accuracies.

    Returns
    -------
    table : str
        A Markdown (GitHub) table, one line per row of :func:`summary_table`.
    """
    summary = summary_table(results)
    header = [
        "Train on",
        "Test on",
        "Model",
        "Bits/s/channel",
        "Balanced accuracy",
        "Window balanced accuracy",
        "Seeds",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * 3 + ["---:"] * 4) + "|"]
    for row in summary.itertuples(index=False):
        cells = [
            row.train_on,
            row.test_on,
            row.model,
            "" if np.isnan(row.bits_per_second) else f"{row.bits_per_second:g}",
            _mean_std(row.balanced_accuracy_mean, row.balanced_accuracy_std, digits),
            _mean_std(row.window_balanced_accuracy_mean, row.window_balanced_accuracy_std, digits),
            str(row.n_seeds),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
