"""The paper's EEG preprocessing for the codec, and its inverse.

Forward (Volts → codec domain): resample to the codec rate, high-pass, clip at
``±clip`` and divide by ``clip`` so that the codec sees signals in [-1, 1].
Inverse (codec domain → Volts): multiply by ``clip``, resample to the original rate
and trim to the original number of samples. The high-passed content below
``highpass`` and the clipped excursions are not recoverable; clipping is counted per
channel so that users see how much was lost.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
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
    clip : float
        Clip level in Volts. Samples beyond ``±clip`` are clipped, then the signal is
        divided by ``clip`` to lie in [-1, 1].
    """

    highpass: float | None = 0.1
    clip: float = 200e-6

    def __post_init__(self) -> None:
        if self.highpass is not None and not self.highpass > 0:
            raise ValueError(f"highpass must be positive or None, got {self.highpass}")
        if not (np.isfinite(self.clip) and self.clip > 0):
            raise ValueError(f"clip must be a positive number of Volts, got {self.clip}")
        if self.clip > _IMPLAUSIBLE_VOLTS:
            raise ValueError(f"clip={self.clip} V is implausible for EEG; give it in Volts (e.g. 200e-6 for ±200 µV)")

    def to_dict(self) -> dict:
        """Return the settings as a JSON-serialisable dict."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> PreprocessingSettings:
        """Build settings from :meth:`to_dict` output."""
        return cls(highpass=d["highpass"], clip=d["clip"])


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


def _resample(x: np.ndarray, ratio: Fraction, n_out: int) -> np.ndarray:
    from scipy.signal import resample_poly

    if ratio != 1:
        padtype = "line" if x.shape[-1] > 1 else "edge"  # a line needs two points
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


def to_codec_domain(
    data: np.ndarray,
    sfreq: float,
    codec_sfreq: float,
    settings: PreprocessingSettings,
    ch_names: list[str] | None = None,
) -> CodecInput:
    """Apply the paper's preprocessing: resample, high-pass, clip and scale.

    Parameters
    ----------
    data : array, shape (n_channels, n_times)
        EEG in Volts, or any sequence of channels with a ``shape``: they are read and
        processed one at a time, so that memory holds one channel, not the recording.
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
    from mne.filter import filter_data

    if not hasattr(data, "shape"):
        data = np.asarray(data, dtype=np.float64)
    ch_names = ch_names or [str(i) for i in range(data.shape[0])]
    check_eeg_data(data, ch_names)
    ratio = resampling_ratio(sfreq, codec_sfreq)
    n_out = n_codec_samples(data.shape[1], sfreq, codec_sfreq)
    out = np.empty((data.shape[0], n_out), dtype=np.float32)
    clip_counts = np.zeros(data.shape[0], dtype=np.int64)
    for ci, channel in enumerate(data):  # channel by channel: bounded memory
        x = _resample(np.asarray(channel, dtype=np.float64)[np.newaxis], ratio, n_out)
        if settings.highpass is not None:
            x = filter_data(
                x,
                codec_sfreq,
                settings.highpass,
                None,
                method="iir",
                iir_params=dict(order=4, ftype="butter", output="sos"),
                verbose=False,
            )
        clip_counts[ci] = int(np.count_nonzero(np.abs(x) > settings.clip))
        out[ci] = np.clip(x[0], -settings.clip, settings.clip) / settings.clip
    _report_clipping(clip_counts, n_out, ch_names, settings.clip)
    return CodecInput(data=out, clip_counts=clip_counts)


def _report_clipping(counts: np.ndarray, n_times: int, ch_names: list[str], clip: float) -> None:
    if not counts.any():
        logger.debug("No sample exceeded the ±%g µV clip level.", clip * 1e6)
        return
    worst = np.argsort(counts)[::-1][: min(5, np.count_nonzero(counts))]
    detail = ", ".join(f"{ch_names[i]}: {counts[i]} ({100 * counts[i] / n_times:.2f}%)" for i in worst)
    total = 100 * counts.sum() / (n_times * len(counts))
    msg = (
        f"Clipped {counts.sum()} samples ({total:.2f}% overall) at ±{clip * 1e6:g} µV in "
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
        The settings used for encoding (their clip level sets the scale).

    Returns
    -------
    data : array, shape (n_channels, n_times)
        Signals in Volts at the original rate.
    """
    ratio = resampling_ratio(sfreq, codec_sfreq)
    out = np.empty((data.shape[0], n_times), dtype=np.float64)
    for ci, channel in enumerate(data):
        x = channel[np.newaxis].astype(np.float64) * settings.clip
        out[ci] = _resample(x, 1 / ratio, n_times)[0]
    return out
