"""Random single-channel EEG crops in the codec domain, for training the codec.

Crops are drawn lazily: only the needed segment of one channel is read from disk
(``raw.get_data``), then preprocessed with the paper's pipeline
(:func:`~mne_dac.signal.preprocessing.to_codec_domain`). When the recordings are small enough,
they are preprocessed once and kept in memory instead (``preload``), which makes a
training step several times faster. Each crop depends only on the dataset's seed and its
index, so crops are reproducible and identical whatever the number of ``DataLoader``
workers.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import mne
import numpy as np
import torch
from mne.utils import _check_option, logger, use_log_level

from mne_dac.io.raw import preprocessing_at_rms, recording_rms
from mne_dac.io.recordings import RECORDING_EXTENSIONS, UnreadableRecordingError, find_recordings, read_recording
from mne_dac.signal.preprocessing import PreprocessingSettings, to_codec_domain
from mne_dac.utils._logging import warn

__all__ = ["PRELOAD_MAX_BYTES", "RandomCropDataset", "recordings_from"]

#: ``preload=None`` keeps the preprocessed recordings in memory up to this size (float32).
PRELOAD_MAX_BYTES = 2 * 1024**3


def _read_raw(fname: str | Path) -> mne.io.BaseRaw:
    return read_recording(fname, preload=False)


def recordings_from(source: Any) -> list[mne.io.BaseRaw]:
    """Gather recordings from Raw objects, a Braindecode dataset, files or a folder.

    Parameters
    ----------
    source : Raw | list | BaseConcatDataset | path-like
        One of:

        - an :class:`mne.io.BaseRaw` or a list of them;
        - a Braindecode ``BaseConcatDataset`` (the ``.raw`` of each sub-dataset);
        - a folder: every recording :func:`~mne_dac.io.recordings.find_recordings` finds
          there (as ``compress-dir`` does), read with :func:`mne.io.read_raw`
          (``preload=False``); unreadable files are skipped with a warning;
        - a file path, or a list of file paths and Raw objects.

    Returns
    -------
    recordings : list of mne.io.BaseRaw
        The recordings, not preloaded when read from files.
    """
    if isinstance(source, mne.io.BaseRaw):
        return [source]
    if hasattr(source, "datasets") and not isinstance(source, (str, Path)):
        raws = [getattr(ds, "raw", None) for ds in source.datasets]
        if any(raw is None for raw in raws):
            raise TypeError(
                "Every sub-dataset of the Braindecode dataset must have a .raw attribute "
                "(RawDataset, or windows created with preload=False)."
            )
        return raws
    if isinstance(source, (str, Path)):
        path = Path(source).expanduser()
        if path.is_dir():
            raws = []
            for fname in find_recordings(path):
                try:
                    raws.append(_read_raw(fname))
                except UnreadableRecordingError as err:
                    warn(f"Skipping {fname}: {err}")
            if not raws:
                raise ValueError(f"No readable EEG file ({', '.join(RECORDING_EXTENSIONS)}) under {path}.")
            logger.info("Found %d recordings under %s", len(raws), path)
            return raws
        if not path.exists():
            raise FileNotFoundError(f"No such file or folder: {path}")
        return [_read_raw(path)]
    if isinstance(source, Iterable):
        out = []
        for item in source:
            if isinstance(item, mne.io.BaseRaw):
                out.append(item)
            elif isinstance(item, (str, Path)):
                out.append(_read_raw(Path(item).expanduser()))
            else:
                raise TypeError(f"Expected Raw objects or paths, got {type(item).__name__}")
        return out
    raise TypeError(
        "source must be a Raw, a list of Raw or paths, a Braindecode BaseConcatDataset "
        f"or a folder, got {type(source).__name__}"
    )


class RandomCropDataset(torch.utils.data.Dataset):
    """Random single-channel crops of EEG recordings, in the codec domain.

    Item ``i`` is drawn with ``np.random.default_rng((seed, i))``: a recording
    (with probability proportional to its number of EEG channels times its
    duration, so that every second of every channel is equally likely), one of its
    EEG channels, and a start time. Only that segment, plus ``margin`` seconds each
    side to absorb the edge effects of resampling and high-pass filtering, is read
    and converted with :func:`~mne_dac.signal.preprocessing.to_codec_domain`; the margins
    are then trimmed.

    Parameters
    ----------
    recordings : list of mne.io.BaseRaw | Any
        The recordings (need not be preloaded), or anything
        :func:`recordings_from` accepts. Only EEG channels not marked bad are drawn.
    codec_sfreq : float
        Sampling rate of the codec.
    crop_duration : float
        Crop duration in seconds.
    n_crops : int | None
        Number of crops (the dataset length, i.e. one epoch). ``None`` draws as
        many crops as fit in the total duration of all EEG channels.
    preprocessing : PreprocessingSettings | None
        High-pass and clip level (``None``: the paper's).
    channel_levels : bool
        Scale each channel of each recording to the codec's level (a clip level per channel,
        :func:`~mne_dac.preprocessing_at_level` with ``per_channel=True``), as a codec fitted at those levels
        (:attr:`~mne_dac.DACCodec.channel_levels`) codes them, instead of at ``preprocessing``'s clip level.
    seed : int
        Seed of the draws.
    margin : float
        Seconds read on each side of the crop, then discarded.
    min_duration : float
        Recordings shorter than this (in seconds) are skipped. Recordings shorter
        than ``crop_duration`` are used whole and zero-padded at the end.
    group_size : int | None
        ``None``: single-channel crops (DAC-SC). An int ``k``: crops of a group of
        ``k`` channels drawn around a random pivot electrode with
        :func:`~mne_dac.signal.groups.sample_pivot_group` (DAC-MC training); recordings
        with fewer EEG channels are skipped.
    grouping : ``"pivot"`` | ``"anatomical"``
        With ``"anatomical"`` (and ``group_size=None``), crops of DAC-MC training are
        whole regions of the head (:func:`~mne_dac.signal.groups.anatomical_groups` of
        each recording's EEG channels), a region drawn with probability
        proportional to its number of channels.
    montage : str | mne.channels.DigMontage | None
        DAC-MC crops: electrode positions for channel names that are not in
        the standard 10-05 montage.
    weight_fn : callable | None
        With ``group_size``: how the pivot's neighbours are weighted by distance
        (default :func:`~mne_dac.signal.groups.exponential_weights`).
    preload : bool | None
        Preprocess every drawn channel once, whole, and keep it in memory (float32 at the
        codec rate), instead of reading and preprocessing each crop with its margins. ``None``
        preloads when that takes at most :data:`PRELOAD_MAX_BYTES`. Preloaded crops are the
        more exact ones: the ``margin`` of a lazily read crop leaves part of the 0.1 Hz
        high-pass's transient in it.

    Attributes
    ----------
    recordings : list of mne.io.BaseRaw
        The recordings in use.
    crop_samples : int
        Samples per crop at ``codec_sfreq``.
    max_group_size : int | None
        Channels per item of DAC-MC crops (``None`` for single-channel crops).

    Notes
    -----
    Items are float32 tensors of shape ``(1, crop_samples)`` in [-1, 1]; with
    ``group_size=k``, dicts with ``"x"``, shape ``(k, crop_samples)``, and
    ``"positions"``, the electrodes' head-frame positions, shape ``(k, 3)``.
    Anatomical regions differ in size, so their items are padded to the largest
    region (:attr:`max_group_size` channels, zeros) and add ``"mask"``, shape
    ``(max_group_size,)``, ``True`` for real channels. The per-crop preprocessing
    messages (clipping counts) are silenced.
    """

    def __init__(
        self,
        recordings: Any,
        codec_sfreq: float = 512.0,
        crop_duration: float = 30.0,
        n_crops: int | None = None,
        preprocessing: PreprocessingSettings | None = None,
        seed: int = 0,
        *,
        channel_levels: bool = False,
        margin: float = 5.0,
        min_duration: float = 1.0,
        group_size: int | None = None,
        grouping: str = "pivot",
        montage: Any = None,
        weight_fn: Any = None,
        preload: bool | None = None,
    ) -> None:
        from mne_dac.signal.channels import channel_positions
        from mne_dac.signal.groups import anatomical_groups

        if not codec_sfreq > 0 or not crop_duration > 0 or margin < 0:
            raise ValueError("codec_sfreq and crop_duration must be positive and margin >= 0")
        self.codec_sfreq = float(codec_sfreq)
        self.crop_duration = float(crop_duration)
        self.crop_samples = int(round(crop_duration * codec_sfreq))
        self.preprocessing = preprocessing or PreprocessingSettings()
        self.seed = int(seed)
        self.epoch = 0
        self.margin = float(margin)
        if group_size is not None and int(group_size) < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        _check_option("grouping", grouping, ("pivot", "anatomical"))
        if grouping == "anatomical" and group_size is not None:
            raise ValueError("Anatomical crops are whole regions: pass group_size=None with grouping='anatomical'.")
        self.group_size = None if group_size is None else int(group_size)
        self.grouping = grouping
        self._multichannel = group_size is not None or grouping == "anatomical"
        self.weight_fn = weight_fn
        self.recordings = recordings_from(recordings)
        self._entries: list[tuple[int, np.ndarray]] = []
        self._positions: dict[int, np.ndarray] = {}  # per recording, indexed by channel (NaN: not drawn)
        self._regions: dict[int, list[np.ndarray]] = {}  # per recording, channel indices of each region
        self._levels: dict[int, np.ndarray] = {}  # per recording, clip level by channel index (channel_levels)
        seconds = []
        for ri, raw in enumerate(self.recordings):
            picks = mne.pick_types(raw.info, eeg=True, exclude="bads")
            duration = raw.n_times / raw.info["sfreq"]
            if len(picks) < (self.group_size or 1) or duration < min_duration:
                logger.info(
                    "Skipping recording %d (%s): %d EEG channels, %.1f s.",
                    ri, raw.filenames[0] if raw.filenames else "in memory", len(picks), duration,
                )  # fmt: skip
                continue
            self._entries.append((ri, picks))
            if self._multichannel:
                names = [raw.ch_names[p] for p in picks]
                positions = np.full((len(raw.ch_names), 3), np.nan)
                positions[picks] = channel_positions(names, montage)
                self._positions[ri] = positions
            if grouping == "anatomical":
                regions = anatomical_groups(names, montage=montage).indices(names)
                self._regions[ri] = [picks[region] for region in regions]
            seconds.append(len(picks) * duration)
            if channel_levels:
                levels = np.full(len(raw.ch_names), np.nan)
                rms = recording_rms(raw, picks, self.preprocessing.highpass)
                levels[picks] = preprocessing_at_rms(self.preprocessing, rms, per_channel=True).clip
                self._levels[ri] = levels
        if not self._entries:
            raise ValueError(f"No recording with at least {self.group_size or 1} EEG channels and {min_duration} s.")
        self._weights = np.asarray(seconds) / np.sum(seconds)
        if grouping == "anatomical":
            self.max_group_size = max(len(r) for regions in self._regions.values() for r in regions)
        else:
            self.max_group_size = self.group_size
        if n_crops is None:
            n_crops = max(1, int(np.sum(seconds) // crop_duration))
        if n_crops < 1:
            raise ValueError(f"n_crops must be >= 1, got {n_crops}")
        self.n_crops = int(n_crops)
        n_bytes = 4 * sum(
            len(picks) * self.recordings[ri].n_times * self.codec_sfreq / self.recordings[ri].info["sfreq"]
            for ri, picks in self._entries
        )
        self.preload = n_bytes <= PRELOAD_MAX_BYTES if preload is None else bool(preload)
        self._preloaded: dict[int, tuple[np.ndarray, np.ndarray]] = {}  # recording -> (row of each channel, data)
        if self.preload:
            for ri, picks in self._entries:
                raw = self.recordings[ri]
                rows = np.full(len(raw.ch_names), -1)
                rows[picks] = np.arange(len(picks))
                self._preloaded[ri] = (rows, self._to_codec(ri, list(picks), 0, raw.n_times))
            logger.info("Preloaded %d recordings (%.0f MB at %g Hz).", len(self._entries), n_bytes / 1e6, codec_sfreq)

    def _to_codec(self, ri: int, picks: list[int], start: int, stop: int) -> np.ndarray:
        """Channels ``picks``, samples ``[start, stop)`` of recording ``ri`` in the codec domain."""
        raw = self.recordings[ri]
        data = raw.get_data(picks=picks, start=start, stop=stop)
        names = [raw.ch_names[p] for p in picks]
        settings = self.preprocessing
        if ri in self._levels:
            settings = dataclasses.replace(settings, clip=tuple(float(c) for c in self._levels[ri][picks]))
        with use_log_level("error"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return to_codec_domain(data, raw.info["sfreq"], self.codec_sfreq, settings, names).data

    def set_epoch(self, epoch: int) -> None:
        """Draw the crops of ``epoch``: crop ``i`` of epoch ``e`` uses seed ``(seed, e, i)``."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return self.n_crops

    def crop_info(self, index: int) -> dict:
        """Where crop ``index`` comes from.

        Returns
        -------
        info : dict
            ``recording`` (index into :attr:`recordings`), ``channel`` (name),
            ``pick`` (channel index), ``start`` (first sample at the recording's
            rate) and ``n_times`` (samples of the crop at that rate). For DAC-MC
            crops, ``channel`` and ``pick`` are lists (pivot first).
        """
        if not -self.n_crops <= index < self.n_crops:
            raise IndexError(f"index {index} out of range for {self.n_crops} crops")
        index = int(index) % self.n_crops
        rng = np.random.default_rng((self.seed, self.epoch, index))
        ri, picks = self._entries[rng.choice(len(self._entries), p=self._weights)]
        raw = self.recordings[ri]
        if not self._multichannel:
            pick = int(rng.choice(picks))
            channel = raw.ch_names[pick]
        elif self.grouping == "anatomical":
            regions = self._regions[ri]
            sizes = np.array([len(region) for region in regions], dtype=float)
            pick = [int(p) for p in regions[rng.choice(len(regions), p=sizes / sizes.sum())]]
            channel = [raw.ch_names[p] for p in pick]
        else:
            from mne_dac.signal.groups import sample_pivot_group

            group = sample_pivot_group(self._positions[ri][picks], self.group_size, rng, weight_fn=self.weight_fn)
            pick = [int(picks[g]) for g in group]
            channel = [raw.ch_names[p] for p in pick]
        n_need = int(np.ceil(self.crop_samples * raw.info["sfreq"] / self.codec_sfreq))
        n_need = min(n_need, raw.n_times)
        start = int(rng.integers(0, raw.n_times - n_need + 1))
        return dict(recording=ri, channel=channel, pick=pick, start=start, n_times=n_need)

    def __getitem__(self, index: int) -> torch.Tensor | dict[str, torch.Tensor]:
        info = self.crop_info(index)
        raw = self.recordings[info["recording"]]
        sfreq = raw.info["sfreq"]
        start, n_need = info["start"], info["n_times"]
        picks = info["pick"] if self._multichannel else [info["pick"]]
        if self.preload:
            rows, x = self._preloaded[info["recording"]]
            x, lo = x[rows[picks]], 0
        else:
            pad = int(round(self.margin * sfreq))
            lo, hi = max(0, start - pad), min(raw.n_times, start + n_need + pad)
            x = self._to_codec(info["recording"], picks, lo, hi)
        offset = int(round((start - lo) * self.codec_sfreq / sfreq))
        n_rows = self.max_group_size if self._multichannel else 1
        crop = np.zeros((n_rows, self.crop_samples), dtype=np.float32)
        segment = x[:, offset : offset + self.crop_samples]
        crop[: len(picks), : segment.shape[1]] = segment
        if not self._multichannel:
            return torch.from_numpy(crop)
        positions = self._positions[info["recording"]][picks].astype(np.float32)
        item = {"x": torch.from_numpy(crop), "positions": torch.from_numpy(positions)}
        if self.grouping == "anatomical":  # pad with copies of the first position (masked out)
            item["positions"] = torch.from_numpy(np.concatenate([positions, positions[[0] * (n_rows - len(picks))]]))
            item["mask"] = torch.arange(n_rows) < len(picks)
        return item

    def _describe_groups(self) -> str:
        if self.grouping == "anatomical":
            return f" × anatomical regions (≤ {self.max_group_size} channels)"
        return "" if self.group_size is None else f" × {self.group_size} channels"

    def __repr__(self) -> str:
        return (
            f"<RandomCropDataset | {self.n_crops} crops of {self.crop_duration:g} s"
            f"{self._describe_groups()} at "
            f"{self.codec_sfreq:g} Hz from {len(self._entries)} recordings, seed {self.seed}>"
        )
