"""The paper's EEG preprocessing for the codec, and its inverse.

Forward (Volts → codec domain): resample to the codec rate, high-pass, clip at
``±clip`` and divide by ``clip`` so that the codec sees signals in [-1, 1].
Inverse (codec domain → Volts): multiply by ``clip``, resample to the original rate
and trim to the original number of samples. The high-passed content below
``highpass`` and the clipped excursions are not recoverable; clipping is counted per
channel so that users see how much was lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
from mne.utils import logger

from mne_dac.utils._logging import warn

#: EEG amplitudes above this (in Volts) are implausible: the data are probably in µV.
_IMPLAUSIBLE_VOLTS = 1e-2


@dataclass(frozen=True)
class PreprocessingSettings:
    """Settings of the paper's preprocessing.

    Parameters
    ----------
    highpass : float | None
        High-pass cutoff in Hz (zero-phase 4th-order Butterworth), applied at the codec
        rate. ``None`` disables it.
    clip : float | tuple of float
        Clip level in Volts: one for every channel, or one per channel (in the order of the
        channels coded; :func:`~mne_dac.preprocessing_at_level` with ``per_channel=True``).
        Samples beyond ``±clip`` are clipped, then the signal is divided by ``clip`` to lie
        in [-1, 1].
    """

    highpass: float | None = 0.1
    clip: float | tuple[float, ...] = 200e-6

    def __post_init__(self) -> None:
        if self.highpass is not None and not self.highpass > 0:
            raise ValueError(f"highpass must be positive or None, got {self.highpass}")
        if isinstance(self.clip, (list, tuple, np.ndarray)):
            levels = tuple(float(c) for c in np.ravel(self.clip))
            if not levels:
                raise ValueError("clip must be a number of Volts or one per channel, got none")
            object.__setattr__(self, "clip", levels)
        else:
            levels = (self.clip,)
        for level in levels:
            if not (np.isfinite(level) and level > 0):
                raise ValueError(f"clip must be a positive number of Volts, got {level}")
            if level > _IMPLAUSIBLE_VOLTS:
                raise ValueError(f"clip={level} V is implausible for EEG; give it in Volts (e.g. 200e-6 for ±200 µV)")

    @property
    def per_channel(self) -> bool:
        """Whether each channel has its own clip level."""
        return isinstance(self.clip, tuple)

    def levels(self, n_channels: int) -> np.ndarray:
        """The clip level of each of ``n_channels`` channels (Volts), shape ``(n_channels,)``."""
        if not self.per_channel:
            return np.full(n_channels, float(self.clip))
        if len(self.clip) != n_channels:
            raise ValueError(f"these settings have {len(self.clip)} clip levels, one per channel, for {n_channels} "
                             "channels")  # fmt: skip
        return np.array(self.clip)

    def pick(self, indices: Sequence[int]) -> PreprocessingSettings:
        """The settings of the channels ``indices`` (the same settings where every channel has the same level)."""
        if not self.per_channel:
            return self
        return replace(self, clip=tuple(self.clip[i] for i in indices))

    def describe(self) -> str:
        """The clip level as text: ``"±200 µV"``, or the range of the channels' levels."""
        if not self.per_channel:
            return f"±{self.clip * 1e6:g} µV"
        low, high = min(self.clip), max(self.clip)
        return f"±{low * 1e6:.4g}–{high * 1e6:.4g} µV (one level per channel)"

    def to_dict(self) -> dict:
        """Return the settings as a JSON-serialisable dict."""
        return {"highpass": self.highpass, "clip": list(self.clip) if self.per_channel else self.clip}

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessingSettings:
        """Build settings from :meth:`to_dict` output."""
        clip = d["clip"]
        if isinstance(clip, list) and not all(type(c) in (int, float) for c in clip):
            raise TypeError("clip must be a number or a list of numbers")
        return cls(highpass=d["highpass"], clip=clip)


def resampling_ratio(sfreq: float, codec_sfreq: float) -> Fraction:
    """Rational approximation of ``codec_sfreq / sfreq`` used for polyphase resampling.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the data.
    codec_sfreq : float
        Sampling rate of the codec.

    Returns
    -------
    ratio : Fraction
        ``up / down``, exact for rates given to within 1e-3 Hz.
    """
    return (Fraction(round(codec_sfreq * 1000)) / Fraction(round(sfreq * 1000))).limit_denominator(10_000)


def n_codec_samples(n_times: int, sfreq: float, codec_sfreq: float) -> int:
    """Number of samples after resampling ``n_times`` samples to the codec rate."""
    ratio = resampling_ratio(sfreq, codec_sfreq)
    return -(-n_times * ratio.numerator // ratio.denominator)


def _resample(x: np.ndarray, ratio: Fraction, n_out: int, padtype: str = "line") -> np.ndarray:
    """Polyphase resampling, padded with the last sample to ``n_out`` samples.

    ``padtype="line"`` (the whole-signal inverse of version-1 files) detrends by the line
    through the first and last samples, so every output sample depends on both ends;
    ``"edge"`` makes an output sample depend only on the input samples within the filter's
    reach, so that a window of the signal resamples exactly as the whole does.
    """
    from scipy.signal import resample_poly

    if ratio != 1:
        if padtype == "line" and x.shape[-1] < 2:
            padtype = "edge"  # a line needs two points
        x = resample_poly(x, ratio.numerator, ratio.denominator, axis=-1, padtype=padtype)
    if x.shape[-1] < n_out:
        x = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, n_out - x.shape[-1])], mode="edge")
    return x[..., :n_out]


def check_eeg_data(data: np.ndarray, ch_names: list[str]) -> None:
    """Reject non-finite data and warn about flat channels or data not in Volts.

    Parameters
    ----------
    data : array, shape (n_channels, n_times)
        EEG in Volts, or any sequence of channels with a ``shape`` (read one at a time).
    ch_names : list of str
        Channel names, used in the messages.
    """
    if len(data.shape) != 2:
        raise ValueError(f"Expected data of shape (n_channels, n_times), got {data.shape}")
    if data.shape[0] == 0:
        raise ValueError("No EEG channels to encode.")
    if data.shape[1] == 0:
        raise ValueError("The recording has no samples.")
    # one pass, channel by channel: never a copy of the whole recording
    n_bad, ptp, median_abs = np.zeros(data.shape[0], dtype=int), np.zeros(data.shape[0]), np.zeros(data.shape[0])
    for i, channel in enumerate(data):
        channel = np.asarray(channel, dtype=np.float64)
        n_bad[i] = np.count_nonzero(~np.isfinite(channel))
        if not n_bad[i]:
            ptp[i], median_abs[i] = np.ptp(channel), np.median(np.abs(channel))
    if n_bad.any():
        bad = {ch_names[i]: int(n_bad[i]) for i in np.flatnonzero(n_bad)}
        raise ValueError(
            f"EEG contains NaN or Inf samples ({bad}, as channel: count). Interpolate or "
            "mark them (e.g. raw.interpolate_bads() or cropping) before encoding."
        )
    flat = [ch_names[i] for i in np.where(ptp == 0)[0]] if data.shape[1] > 1 else []
    if flat:
        warn(
            f"{len(flat)} flat channel(s) {flat}: they are encoded, but carry no signal; consider marking them as bad."
        )
    typical = np.median(median_abs)
    if typical > _IMPLAUSIBLE_VOLTS:
        warn(
            f"The median absolute EEG value (median over channels) is {typical:.3g}, implausible for Volts "
            "(EEG is ~1e-5 V). The data are probably in µV or mV: MNE and mne-dac expect "
            "Volts (e.g. raw.apply_function(lambda x: x * 1e-6))."
        )


@dataclass(frozen=True)
class CodecInput:
    """Signals ready for the codec, with what the preprocessing lost.

    Attributes
    ----------
    data : array, shape (n_channels, n_codec_times)
        Float32 signals in [-1, 1] at the codec rate.
    clip_counts : array of int, shape (n_channels,)
        Number of samples clipped per channel (at the codec rate).
    """

    data: np.ndarray
    clip_counts: np.ndarray


#: The codec-domain signal is computed in segments of this many seconds, each from the input
#: with ``CONTEXT_SECONDS`` more on each side, so that any part of it can be computed alone
#: and equals the same part of the whole: the high-pass's transient from a window edge has
#: decayed by a factor of about 1e-9 after 90 s (slowest pole of the 4th-order 0.1 Hz
#: Butterworth: 0.24 /s), and the resampler's reach is a few samples.
SEGMENT_SECONDS = 120.0
CONTEXT_SECONDS = 90.0


class CodecDomainStream:
    """The paper's preprocessing of a recording, computed piece by piece in bounded memory.

    Codec-domain sample ``j`` is always computed the same way, whatever part of the
    signal is asked for: from the segment of ``SEGMENT_SECONDS`` that holds it, with
    ``CONTEXT_SECONDS`` of input on each side. So streamed codes equal whole-signal codes.

    Parameters
    ----------
    read : callable
        ``read(start, stop)`` returns the input samples ``[start, stop)`` of every channel,
        in Volts, shape ``(n_channels, stop - start)``.
    n_channels, n_times : int
        Shape of the input.
    sfreq, codec_sfreq : float
        Rates of the input and of the codec.
    settings : PreprocessingSettings
        High-pass and clip level.
    ch_names : list of str | None
        Channel names for messages.
    check : bool
        Check the input as it is read (:func:`check_eeg_data` on the first segment, finite samples):
        ``False`` for a second stream of an input that another one checks.
    """

    def __init__(self, read, n_channels: int, n_times: int, sfreq: float, codec_sfreq: float,
                 settings: PreprocessingSettings, ch_names: list[str] | None = None,
                 check: bool = True) -> None:  # fmt: skip
        self.read, self.n_channels, self.n_times, self.check = read, int(n_channels), int(n_times), check
        self.sfreq, self.codec_sfreq, self.settings = float(sfreq), float(codec_sfreq), settings
        self.ch_names = ch_names or [str(i) for i in range(n_channels)]
        self.ratio = resampling_ratio(sfreq, codec_sfreq)
        self.n_codec = n_codec_samples(n_times, sfreq, codec_sfreq)
        self.segment = max(1, round(SEGMENT_SECONDS * codec_sfreq))
        self.context = round(CONTEXT_SECONDS * codec_sfreq)
        self.clip_counts = np.zeros(n_channels, dtype=np.int64)
        self._counted: set[int] = set()
        self._cache: dict[int, np.ndarray] = {}

    def get(self, start: int, stop: int) -> np.ndarray:
        """Codec-domain samples ``[start, stop)`` (float32, in [-1, 1]), within ``[0, n_codec)``."""
        if not 0 <= start <= stop <= self.n_codec:
            raise ValueError(f"samples [{start}, {stop}) are outside [0, {self.n_codec})")
        first, last = start // self.segment, max(start, stop - 1) // self.segment
        parts = [self._segment(k) for k in range(first, last + 1)]
        out = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)
        return out[:, start - first * self.segment : stop - first * self.segment]

    def _segment(self, k: int) -> np.ndarray:
        if k not in self._cache:
            if len(self._cache) >= 2:  # the segments of one request, or of consecutive ones
                self._cache.pop(next(iter(self._cache)))
            self._cache[k] = self._compute(k)
        return self._cache[k]

    def _compute(self, k: int) -> np.ndarray:
        num, den = self.ratio.numerator, self.ratio.denominator
        lo, hi = k * self.segment, min((k + 1) * self.segment, self.n_codec)
        start = max(0, (lo - self.context) * den // num) // den * den  # codec sample start * num / den: whole
        stop = min(self.n_times, -(-(hi + self.context) * den // num))
        x = np.asarray(self.read(start, stop), dtype=np.float64)
        if self.check and k == 0:
            check_eeg_data(x, self.ch_names)
        elif self.check and not np.isfinite(x).all():
            bad = [self.ch_names[i] for i in np.flatnonzero(~np.isfinite(x).all(axis=1))]
            raise ValueError(
                f"EEG contains NaN or Inf samples between {start / self.sfreq:.1f} s and {stop / self.sfreq:.1f} s "
                f"(channels {bad}). Interpolate or mark them before encoding."
            )
        offset = start * num // den
        n_out = n_codec_samples(stop - start, self.sfreq, self.codec_sfreq)
        if stop == self.n_times:
            n_out = self.n_codec - offset
        x = _resample(x, self.ratio, n_out, padtype="edge")
        if self.settings.highpass is not None:
            from mne.filter import filter_data

            x = filter_data(
                x,
                self.codec_sfreq,
                self.settings.highpass,
                None,
                method="iir",
                iir_params=dict(order=4, ftype="butter", output="sos"),
                verbose=False,
            )
        x = x[:, lo - offset : hi - offset]
        clip = self.settings.levels(self.n_channels)[:, np.newaxis]
        if k not in self._counted:
            self._counted.add(k)
            self.clip_counts += np.count_nonzero(np.abs(x) > clip, axis=1)
        return (np.clip(x, -clip, clip) / clip).astype(np.float32)

    @property
    def n_counted(self) -> int:
        """Codec samples per channel whose clipping is counted in :attr:`clip_counts`."""
        return sum(min(self.segment, self.n_codec - k * self.segment) for k in self._counted)

    def report_clipping(self) -> None:
        """Log (or warn about) the samples clipped so far."""
        report_clipping(self.clip_counts, self.n_codec, self.ch_names, self.settings)


def to_codec_domain(
    data: np.ndarray,
    sfreq: float,
    codec_sfreq: float,
    settings: PreprocessingSettings,
    ch_names: list[str] | None = None,
) -> CodecInput:
    """Apply the paper's preprocessing: resample, high-pass, clip and scale.

    Long signals are processed in segments (:class:`CodecDomainStream`), so that the
    result equals what streaming gives.

    Parameters
    ----------
    data : array, shape (n_channels, n_times)
        EEG in Volts.
    sfreq : float
        Sampling rate of ``data``.
    codec_sfreq : float
        Sampling rate of the codec.
    settings : PreprocessingSettings
        High-pass and clip level.
    ch_names : list of str | None
        Channel names for messages.

    Returns
    -------
    codec_input : CodecInput
        The scaled signals and the number of clipped samples per channel.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"Expected data of shape (n_channels, n_times), got {data.shape}")
    stream = CodecDomainStream(lambda a, b: data[:, a:b], *data.shape, sfreq, codec_sfreq, settings, ch_names)
    if data.shape[1] == 0:
        check_eeg_data(data, stream.ch_names)
    out = stream.get(0, stream.n_codec)
    stream.report_clipping()
    return CodecInput(data=out, clip_counts=stream.clip_counts)


def report_clipping(counts: np.ndarray, n_times: int, ch_names: list[str],
                    clip: float | PreprocessingSettings) -> None:  # fmt: skip
    """Log the samples clipped at ``clip`` (Volts, or the settings' levels) of each signal of ``n_times`` samples;
    warn above 1 %."""
    level = clip.describe() if isinstance(clip, PreprocessingSettings) else f"±{clip * 1e6:g} µV"
    if not counts.any():
        logger.debug("No sample exceeded the %s clip level.", level)
        return
    worst = np.argsort(counts)[::-1][: min(5, np.count_nonzero(counts))]
    detail = ", ".join(f"{ch_names[i]}: {counts[i]} ({100 * counts[i] / n_times:.2f}%)" for i in worst)
    total = 100 * counts.sum() / (n_times * len(counts))
    msg = (
        f"Clipped {counts.sum()} samples ({total:.2f}% overall) at {level} in "
        f"{np.count_nonzero(counts)} channel(s); most clipped: {detail}."
    )
    if total > 1:
        warn(msg + " Clipping discards large excursions (artifacts, seizures).")
    else:
        logger.info(msg)


def from_codec_domain(
    data: np.ndarray,
    codec_sfreq: float,
    sfreq: float,
    n_times: int,
    settings: PreprocessingSettings,
) -> np.ndarray:
    """Invert the scaling and resampling of :func:`to_codec_domain`.

    Parameters
    ----------
    data : array, shape (n_channels, n_codec_times)
        Codec output in [-1, 1] at the codec rate.
    codec_sfreq : float
        Sampling rate of the codec.
    sfreq : float
        Original sampling rate.
    n_times : int
        Original number of samples; the output has exactly this length.
    settings : PreprocessingSettings
        The settings used for encoding (their clip levels set the scale).

    Returns
    -------
    data : array, shape (n_channels, n_times)
        Signals in Volts at the original rate.
    """
    ratio = resampling_ratio(sfreq, codec_sfreq)
    out = np.empty((data.shape[0], n_times), dtype=np.float64)
    for ci, (channel, clip) in enumerate(zip(data, settings.levels(len(data)))):
        x = channel[np.newaxis].astype(np.float64) * clip
        out[ci] = _resample(x, 1 / ratio, n_times)[0]
    return out
