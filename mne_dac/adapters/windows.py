"""Braindecode windows datasets seen through a DAC codec, lazily, window by window.

:func:`roundtrip_windows` replaces each window by its codec reconstruction and
:func:`tokenize_windows` by its tokens, as on-the-fly dataset transforms: nothing is
computed until a window is read, so datasets of any size can be used for training.
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mne.utils import _check_option, _validate_type

from mne_dac.adapters.epoch_coding import EpochCoding
from mne_dac.codecs.codec import DACCodec
from mne_dac.codecs.loading import load_codec
from mne_dac.io.raw import (
    CHANNEL_LEVELS,
    CLIP_AT_LEVEL,
    channel_rms,
    codec_scaling,
    preprocessing_at_level,
    preprocessing_at_rms,
)
from mne_dac.signal.groups import resolve_groups
from mne_dac.signal.preprocessing import PreprocessingSettings
from mne_dac.utils._docs import fill_doc

if TYPE_CHECKING:  # pragma: no cover
    from braindecode.datasets import BaseConcatDataset


class _CodecTransform:
    """Picklable window transform: the codec applied to one window.

    Parameters
    ----------
    coding : EpochCoding
        The codec, depth, preprocessing and channels of the windows. Transforms of one dataset
        share the codec, so a pickled dataset (e.g. for DataLoader workers) holds one copy of it
        (pickle memoizes it).
    then : callable | None
        A transform applied to the output (the dataset's previous transform).
    cache_dir : path-like | None
        Folder of this transform's outputs, by the SHA-256 of the window they came from.
    """

    def __init__(self, coding: EpochCoding, then: Callable | None = None, cache_dir: Path | None = None) -> None:
        self.coding = coding
        self.then = then
        self.cache_dir = None if cache_dir is None else Path(cache_dir)

    def _check(self, window: np.ndarray) -> np.ndarray:
        window = np.asarray(window)
        if window.ndim != 2:
            raise ValueError(f"Expected a window of shape (n_channels, n_times), got {window.shape}")
        return window

    def _apply(self, window: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, window: np.ndarray) -> Any:
        """Transform one window of shape (n_channels, n_times), in Volts."""
        window = self._check(window)
        out = self._apply(window) if self.cache_dir is None else self._cached(window)
        return out if self.then is None else self.then(out)

    def _cached(self, window: np.ndarray) -> np.ndarray:
        """The output for ``window`` from the cache, computed and stored on a miss."""
        digest = hashlib.sha256(f"{window.shape}{window.dtype.str}".encode())
        digest.update(np.ascontiguousarray(window).view(np.uint8))
        fname = self.cache_dir / f"{digest.hexdigest()}.npy"
        if fname.is_file():
            try:
                return np.load(fname, allow_pickle=False)
            except (OSError, ValueError):  # a torn or foreign file: recompute and replace it
                pass
        out = self._apply(window)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = fname.with_name(f".{fname.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fid:
            np.save(fid, out, allow_pickle=False)
        os.replace(tmp, fname)  # atomic: workers sharing the cache never read a partial file
        return out

    def __repr__(self) -> str:
        then = "" if self.then is None else f", then {self.then!r}"
        return (
            f"{type(self).__name__}({self.coding.codec.name!r}, {self.coding.sfreq:g} Hz, "
            f"n_codebooks={self.coding.n_codebooks}{then})"
        )


class _RoundTrip(_CodecTransform):
    """Replace a window by its codec reconstruction (float32 Volts, same shape)."""

    name = "roundtrip"

    def _apply(self, window: np.ndarray) -> np.ndarray:
        codes = self.coding.encode(window[np.newaxis])
        return self.coding.decode(codes, window.shape[-1])[0].astype(np.float32)


class _Tokenize(_CodecTransform):
    """Replace a window by its tokens, int64 of shape (n_streams, n_codebooks, n_frames)."""

    name = "tokens"

    def _apply(self, window: np.ndarray) -> np.ndarray:
        return self.coding.encode(window[np.newaxis])[0]


def _window_info(ds: Any, i: int):
    from braindecode.datasets import EEGWindowsDataset, WindowsDataset

    if isinstance(ds, WindowsDataset):
        info = ds.windows.info
    elif isinstance(ds, EEGWindowsDataset):
        info = ds.raw.info
    else:
        raise TypeError(
            f"concat_ds.datasets[{i}] is a {type(ds).__name__}, not a windows dataset "
            "(WindowsDataset or EEGWindowsDataset): window it first, e.g. with "
            "braindecode.preprocessing.create_fixed_length_windows or "
            "create_windows_from_events."
        )
    if ds.targets_from != "metadata":
        raise ValueError(
            f"concat_ds.datasets[{i}] has targets_from={ds.targets_from!r}: its windows "
            "include the target (misc) channels, which the codec would transform too. "
            "Only targets_from='metadata' is supported."
        )
    return info


def _with_transform(
    concat_ds: BaseConcatDataset,
    codec: Any,
    n_codebooks: int | None,
    preprocessing: PreprocessingSettings | str | None,
    groups: Any,
    cache_dir: Any,
    kind: type[_CodecTransform],
) -> BaseConcatDataset:
    from braindecode.datasets import BaseConcatDataset

    _validate_type(concat_ds, BaseConcatDataset, "concat_ds")
    _validate_type(codec, (str, "path-like", DACCodec), "codec")
    _validate_type(n_codebooks, ("int-like", None), "n_codebooks")
    _validate_type(preprocessing, (PreprocessingSettings, str, None), "preprocessing")
    if isinstance(preprocessing, str):
        _check_option("preprocessing", preprocessing, (CLIP_AT_LEVEL, CHANNEL_LEVELS))
    _validate_type(cache_dir, ("path-like", None), "cache_dir")
    infos = [_window_info(ds, i) for i, ds in enumerate(concat_ds.datasets)]
    codec = load_codec(codec)
    datasets = []
    for ds, info in zip(concat_ds.datasets, infos):
        new = copy.copy(ds)  # shallow: shares the signals and metadata
        settings = codec_scaling(codec, preprocessing)
        if settings in (CLIP_AT_LEVEL, CHANNEL_LEVELS):
            settings = _preprocessing_at_level(ds, codec, settings == CHANNEL_LEVELS)
        coding = EpochCoding.create(codec, info["sfreq"], n_codebooks, settings, info["ch_names"], groups)
        cache = None if cache_dir is None else Path(cache_dir) / f"{kind.name}-{coding.fingerprint()[:16]}"
        new.transform = kind(coding, then=ds.transform, cache_dir=cache)
        datasets.append(new)
    out = copy.copy(concat_ds)
    out.datasets = datasets
    return out


def _preprocessing_at_level(ds: Any, codec: DACCodec, per_channel: bool) -> PreprocessingSettings:
    """The codec's preprocessing at the level of a windows dataset's recording, or of each of its channels (its
    windows, where it has no continuous recording)."""
    from braindecode.datasets import WindowsDataset

    if isinstance(ds, WindowsDataset):
        windows = ds.windows.get_data(picks="eeg")
        rms = channel_rms(windows, ds.windows.info["sfreq"], codec.preprocessing.highpass)
        return preprocessing_at_rms(codec.preprocessing, rms, per_channel)
    return preprocessing_at_level(ds.raw, codec, per_channel=per_channel, verbose=False)


_NOTES = """
    The original dataset is left untouched: the result is a shallow copy whose
    sub-datasets share its signals and metadata, each with a new ``transform``
    (a picklable object holding the codec) that runs the codec on every window
    when it is read, one window at a time. A ``transform`` already set on a
    sub-dataset is applied after the codec, to its output.

    Windows are expected in Volts and are preprocessed as in the paper (resampled
    to the codec rate, high-passed, clipped and scaled) window by window, so the
    high-pass sees only the window (edge effects differ from coding the continuous
    recording). Only ``targets_from="metadata"`` is supported: with
    ``targets_from="channels"`` the windows would include the target channels.

    With a DataLoader using worker processes, load the codec on the CPU
    (``codec=load_codec(..., device="cpu")``): CUDA cannot be used in forked workers.
"""


def _fill_notes(f: Callable) -> Callable:
    if f.__doc__:
        f.__doc__ = f.__doc__.replace("{windows_notes}", _NOTES.rstrip())
    return f


@_fill_notes
@fill_doc
def roundtrip_windows(
    concat_ds: BaseConcatDataset,
    codec: Any = "default",
    *,
    n_codebooks: int | None = None,
    preprocessing: PreprocessingSettings | str | None = None,
    groups: Any = None,
    grouping: str | None = None,
    cache_dir: str | Path | None = None,
) -> BaseConcatDataset:
    """Replace each window of a Braindecode dataset by its codec reconstruction.

    Parameters
    ----------
    %(windows)s
    %(codec)s
    %(n_codebooks)s
    %(windows_preprocessing)s
    %(groups)s
    %(grouping)s
    %(cache_dir)s

    Returns
    -------
    concat_ds : braindecode.datasets.BaseConcatDataset
        A shallow copy whose windows ``X`` are the reconstructions: float32 arrays of
        shape ``(n_channels, n_times)`` in Volts, as the originals.

    See Also
    --------
    tokenize_windows
    mne_dac.adapters.transformer.DACRoundTrip

    Notes
    -----{windows_notes}
    """
    return _with_transform(
        concat_ds, codec, n_codebooks, preprocessing, resolve_groups(groups, grouping), cache_dir, _RoundTrip
    )


@_fill_notes
@fill_doc
def tokenize_windows(
    concat_ds: BaseConcatDataset,
    codec: Any = "default",
    *,
    n_codebooks: int | None = None,
    preprocessing: PreprocessingSettings | str | None = None,
    groups: Any = None,
    grouping: str | None = None,
    cache_dir: str | Path | None = None,
) -> BaseConcatDataset:
    """Replace each window of a Braindecode dataset by its DAC tokens.

    Parameters
    ----------
    %(windows)s
    %(codec)s
    %(n_codebooks)s
    %(windows_preprocessing)s
    %(groups)s
    %(grouping)s
    %(cache_dir)s

    Returns
    -------
    concat_ds : braindecode.datasets.BaseConcatDataset
        A shallow copy whose windows ``X`` are int64 tokens of shape
        ``(n_streams, n_codebooks, n_frames)``: one stream per channel (per group for a
        DAC-MC codec in the ``"group"`` layout).

    See Also
    --------
    roundtrip_windows
    mne_dac.adapters.transformer.DACTokenizer

    Notes
    -----{windows_notes}
    """
    return _with_transform(
        concat_ds, codec, n_codebooks, preprocessing, resolve_groups(groups, grouping), cache_dir, _Tokenize
    )
