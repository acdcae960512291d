"""Reconstruction fidelity: DAC's spectrogram loss, PRD, SNR and band-power errors."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from mne.utils import logger, verbose

from mne_dac.signal.preprocessing import _resample, n_codec_samples, resampling_ratio
from mne_dac.utils._imports import import_dac

if TYPE_CHECKING:
    import mne
    import pandas as pd
    import torch

#: DAC's multi-scale mel loss, as configured for training in DAC's ``conf/base.yml``.
#: The hop of each scale is ``window_length // 4``; the comparison is L1.
MEL_LOSS_CONFIG: dict[str, Any] = dict(
    n_mels=[5, 10, 20, 40, 80, 160, 320],
    window_lengths=[32, 64, 128, 256, 512, 1024, 2048],
    mel_fmin=[0.0] * 7,
    mel_fmax=[None] * 7,
    pow=1.0,
    clamp_eps=1e-5,
    mag_weight=0.0,
    log_weight=1.0,
)

#: Canonical EEG frequency bands in Hz, as ``[low, high)``.
BANDS: dict[str, tuple[float, float]] = {
    "delta": (1, 4),
    "theta": (4, 8),
    "alpha": (8, 13),
    "beta": (13, 30),
    "gamma": (30, 45),
}

#: Samples per batch of channels in :func:`spectrogram_loss` (bounds the STFT memory).
_LOSS_CHUNK_SAMPLES = 2**22


def mel_loss_module(loss_fn: Any = None) -> torch.nn.Module:
    """Build DAC's ``MelSpectrogramLoss`` with :data:`MEL_LOSS_CONFIG`.

    Parameters
    ----------
    loss_fn : callable | None
        Comparison of the log-mel spectrograms; ``None`` uses ``torch.nn.L1Loss()``
        (DAC's training loss).

    Returns
    -------
    loss : dac.nn.loss.MelSpectrogramLoss
        Called as ``loss(estimate, reference)`` on ``audiotools.AudioSignal`` objects.
    """
    import_dac()
    from dac.nn.loss import MelSpectrogramLoss
    from torch import nn

    loss_fn = nn.L1Loss() if loss_fn is None else loss_fn
    return MelSpectrogramLoss(loss_fn=loss_fn, **MEL_LOSS_CONFIG)


def _l1_per_example(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference over mels and frames, one value per batch item."""
    return (x - y).abs().mean(dim=(-2, -1)).flatten()


def _as_2d_tensor(x: Any, name: str) -> torch.Tensor:
    import torch

    if isinstance(x, torch.Tensor):
        x = x.detach().to("cpu", torch.float32)
    else:
        x = torch.from_numpy(np.asarray(x, dtype=np.float32))
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n_times,) or (n_channels, n_times), got {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or Inf values.")
    return x


def spectrogram_loss(
    x: np.ndarray | torch.Tensor,
    y: np.ndarray | torch.Tensor,
    sfreq: float,
    per_channel: bool = False,
) -> float | np.ndarray:
    """DAC's multi-scale mel-spectrogram loss (the paper's spectrogram reconstruction loss).

    It is meant for codec-domain signals: at the codec rate and scaled to [-1, 1]
    (see :func:`fidelity_report`, which does this conversion). With :data:`MEL_LOSS_CONFIG`
    it is, for each channel,

    ``sum over the 7 scales of mean |log10(clamp(mel_x, 1e-5)) - log10(clamp(mel_y, 1e-5))|``

    where ``mel`` is the magnitude mel spectrogram (window ``w``, hop ``w // 4``, ``n_mels``
    bands from 0 Hz to Nyquist). It is computed with DAC's own ``MelSpectrogramLoss``;
    the loss over several channels is the mean of the per-channel losses, as DAC's
    batched loss. At low rates the finest mel scales have empty filters: that is part
    of DAC's definition.

    Parameters
    ----------
    x, y : array | torch.Tensor, shape (n_times,) or (n_channels, n_times)
        Reconstructed and reference signals (the loss is symmetric).
    sfreq : float
        Sampling rate of both, in Hz.
    per_channel : bool
        If True, return the loss of each channel.

    Returns
    -------
    loss : float | array, shape (n_channels,)
        The loss; 0 for identical signals.
    """
    import_dac()
    import torch
    from audiotools import AudioSignal

    x, y = _as_2d_tensor(x, "x"), _as_2d_tensor(y, "y")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    min_times = max(MEL_LOSS_CONFIG["window_lengths"]) // 2 + 1
    if x.shape[1] < min_times:
        raise ValueError(
            f"The spectrogram loss needs at least {min_times} samples (its longest window "
            f"is {max(MEL_LOSS_CONFIG['window_lengths'])}), got {x.shape[1]}."
        )
    loss_module = mel_loss_module(loss_fn=_l1_per_example)
    step = max(1, _LOSS_CHUNK_SAMPLES // x.shape[1])
    losses = []
    with torch.no_grad(), warnings.catch_warnings():
        # Inherent to DAC's loss at EEG rates and to reusing one signal at several scales.
        warnings.filterwarnings("ignore", "Empty filters detected in mel frequency basis")
        warnings.filterwarnings("ignore", "stft_data changed shape")
        for start in range(0, x.shape[0], step):
            sig_x = AudioSignal(x[start : start + step, None], sample_rate=sfreq)
            sig_y = AudioSignal(y[start : start + step, None], sample_rate=sfreq)
            losses.append(loss_module(sig_x, sig_y).double().numpy())
    losses = np.concatenate(losses)
    return losses if per_channel else float(losses.mean())


def _check_pair(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"Original and reconstruction shapes differ: {x.shape} and {y.shape}")
    if x.ndim not in (1, 2) or x.shape[-1] == 0:
        raise ValueError(f"Expected signals of shape (n_times,) or (n_channels, n_times), got {x.shape}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("The signals contain NaN or Inf values.")
    return x, y


def prd(x: np.ndarray, y: np.ndarray) -> float | np.ndarray:
    """Percent root-mean-square difference, ``100 * sqrt(sum((x - y)**2) / sum(x**2))``.

    Parameters
    ----------
    x : array, shape (n_times,) or (n_channels, n_times)
        Original (reference) signal.
    y : array, same shape as ``x``
        Reconstruction.

    Returns
    -------
    prd : float | array, shape (n_channels,)
        PRD in percent along the last axis (per channel for 2D input).
    """
    x, y = _check_pair(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 100 * np.sqrt(np.sum((x - y) ** 2, axis=-1) / np.sum(x**2, axis=-1))


def snr(x: np.ndarray, y: np.ndarray) -> float | np.ndarray:
    """Signal-to-noise ratio of a reconstruction, ``10 * log10(sum(x**2) / sum((x - y)**2))``.

    Parameters
    ----------
    x : array, shape (n_times,) or (n_channels, n_times)
        Original (reference) signal.
    y : array, same shape as ``x``
        Reconstruction.

    Returns
    -------
    snr : float | array, shape (n_channels,)
        SNR in dB along the last axis; ``inf`` for a perfect reconstruction.
    """
    x, y = _check_pair(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10 * np.log10(np.sum(x**2, axis=-1) / np.sum((x - y) ** 2, axis=-1))


def _welch(x: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD with 2-s Hann windows (or the whole signal when shorter)."""
    from scipy.signal import welch

    return welch(x, fs=sfreq, nperseg=min(x.shape[-1], int(round(2 * sfreq))), axis=-1)


def band_power_error(
    x: np.ndarray,
    y: np.ndarray,
    sfreq: float,
    bands: dict[str, tuple[float, float]] = BANDS,
) -> dict[str, np.ndarray]:
    """Relative band-power error ``|P_y - P_x| / P_x`` of a reconstruction.

    Band powers are sums of the Welch PSD (2-s windows) over ``[low, high)``.

    Parameters
    ----------
    x : array, shape (n_channels, n_times)
        Original (reference) signal; 1D input is treated as one channel.
    y : array, same shape as ``x``
        Reconstruction.
    sfreq : float
        Sampling rate in Hz.
    bands : dict of str to (float, float)
        Frequency bands in Hz. Bands whose upper edge exceeds Nyquist are skipped.

    Returns
    -------
    errors : dict of str to array, shape (n_channels,)
        Relative error per band and channel (NaN where the original has no power).
    """
    x, y = _check_pair(np.atleast_2d(x), np.atleast_2d(y))
    freqs, psd_x = _welch(x, sfreq)
    _, psd_y = _welch(y, sfreq)
    errors = {}
    for band, (low, high) in bands.items():
        if high > sfreq / 2:
            logger.info("Skipping band %s (%g-%g Hz): above Nyquist (%g Hz).", band, low, high, sfreq / 2)
            continue
        mask = (freqs >= low) & (freqs < high)
        if not mask.any():
            raise ValueError(
                f"Band {band} ({low}-{high} Hz) contains no frequency bin: the signal "
                f"({x.shape[-1]} samples) is too short."
            )
        p_x, p_y = psd_x[:, mask].sum(-1), psd_y[:, mask].sum(-1)
        with np.errstate(divide="ignore", invalid="ignore"):
            errors[band] = np.where(p_x > 0, np.abs(p_y - p_x) / p_x, np.nan)
    return errors


@dataclass
class FidelityReport:
    """Fidelity of a reconstruction, per channel and overall.

    Attributes
    ----------
    per_channel : pandas.DataFrame
        One row per channel (index: channel names), columns ``spectrogram_loss``,
        ``prd`` (%), ``snr_db`` and ``err_<band>`` (relative band-power error).
    overall : dict
        The same metrics over all channels: spectrogram loss of all channels (their mean),
        PRD and SNR over all samples pooled, band errors averaged over channels.
    """

    per_channel: pd.DataFrame
    overall: dict[str, float]

    def to_frame(self) -> pd.DataFrame:
        """Return the per-channel table with an ``"overall"`` row appended."""
        import pandas as pd

        overall = pd.DataFrame([self.overall], index=["overall"])
        return pd.concat([self.per_channel, overall])

    def __str__(self) -> str:
        import pandas as pd

        fmt = "{:.4g}".format
        overall = pd.Series(self.overall).to_frame("overall").to_string(float_format=fmt)
        return (
            f"Reconstruction fidelity ({len(self.per_channel)} channels)\n\n"
            f"{overall}\n\nPer channel:\n{self.per_channel.to_string(float_format=fmt)}"
        )


def _common_channels(original: mne.io.BaseRaw, reconstructed: mne.io.BaseRaw) -> list[str]:
    """Channels present in both recordings, in the original's order, without stim channels."""
    import mne

    stim_idx = mne.pick_types(original.info, meg=False, stim=True, exclude=[])
    stim = {original.ch_names[i] for i in stim_idx}
    names = [ch for ch in original.ch_names if ch in set(reconstructed.ch_names) - stim]
    if not names:
        raise ValueError("The original and reconstructed recordings have no channel in common.")
    return names


def _paired_data(
    original: Any, reconstructed: Any, sfreq: float | None, ch_names: list[str] | None
) -> tuple[np.ndarray, np.ndarray, float, list[str]]:
    """Extract ``(x, y, sfreq, ch_names)`` from two Raws or two arrays, with checks."""
    from mne.io import BaseRaw

    if isinstance(original, BaseRaw) != isinstance(reconstructed, BaseRaw):
        raise TypeError("original and reconstructed must both be Raw objects or both be arrays.")
    if isinstance(original, BaseRaw):
        if original.info["sfreq"] != reconstructed.info["sfreq"]:
            raise ValueError(f"Sampling rates differ: {original.info['sfreq']} and {reconstructed.info['sfreq']} Hz.")
        if sfreq is not None and sfreq != original.info["sfreq"]:
            raise ValueError(f"sfreq={sfreq} contradicts the recordings' {original.info['sfreq']} Hz.")
        names = ch_names or _common_channels(original, reconstructed)
        x, y = original.get_data(picks=names), reconstructed.get_data(picks=names)
        sfreq = original.info["sfreq"]
    else:
        if sfreq is None:
            raise ValueError("sfreq must be given when the signals are arrays.")
        x, y = np.atleast_2d(original), np.atleast_2d(reconstructed)
        names = ch_names or [str(i) for i in range(x.shape[0])]
        if len(names) != x.shape[0]:
            raise ValueError(f"Got {len(names)} channel names for {x.shape[0]} channels.")
    x, y = _check_pair(x, y)
    if x.ndim != 2:
        raise ValueError(f"Expected signals of shape (n_channels, n_times), got {x.shape}")
    return x, y, float(sfreq), list(names)


@verbose
def fidelity_report(
    original: mne.io.BaseRaw | np.ndarray,
    reconstructed: mne.io.BaseRaw | np.ndarray,
    sfreq: float | None = None,
    *,
    codec_sfreq: float = 512.0,
    clip: float = 200e-6,
    ch_names: list[str] | None = None,
    verbose: bool | str | int | None = None,
) -> FidelityReport:
    """Compare a reconstruction with the original recording.

    The spectrogram loss (:func:`spectrogram_loss`) is computed as in the paper, on
    codec-domain signals: both are resampled to ``codec_sfreq``, clipped at ``±clip``
    and divided by ``clip``. PRD, SNR and band-power errors are computed in Volts at the
    original rate. No high-pass is applied: high-pass the original as the codec did
    before comparing if it has slow drifts or offsets.

    Parameters
    ----------
    original, reconstructed : mne.io.Raw | array, shape (n_channels, n_times)
        The recordings, in Volts. For Raw objects the channels present in both (stim
        channels excluded) are compared, in the original's order, and ``sfreq`` is
        read from them.
    sfreq : float | None
        Sampling rate in Hz; required for arrays.
    codec_sfreq : float
        Sampling rate of the codec, at which the spectrogram loss is computed.
    clip : float
        Clip level in Volts of the codec's preprocessing.
    ch_names : list of str | None
        Channels to compare (Raw) or names of the array rows; ``None`` for all.
    %(verbose)s

    Returns
    -------
    report : FidelityReport
        Per-channel and overall metrics; ``print(report)`` shows them as tables.
    """
    import pandas as pd

    x, y, sfreq, names = _paired_data(original, reconstructed, sfreq, ch_names)
    ratio = resampling_ratio(sfreq, codec_sfreq)
    n_out = n_codec_samples(x.shape[1], sfreq, codec_sfreq)
    x_codec, y_codec = (np.clip(_resample(d, ratio, n_out), -clip, clip) / clip for d in (x, y))
    per_channel = pd.DataFrame(
        {
            "spectrogram_loss": spectrogram_loss(y_codec, x_codec, codec_sfreq, per_channel=True),
            "prd": prd(x, y),
            "snr_db": snr(x, y),
            **{f"err_{band}": err for band, err in band_power_error(x, y, sfreq).items()},
        },
        index=pd.Index(names, name="channel"),
    )
    overall = {
        "spectrogram_loss": float(per_channel["spectrogram_loss"].mean()),
        "prd": float(prd(x.ravel(), y.ravel())),
        "snr_db": float(snr(x.ravel(), y.ravel())),
        **{col: float(per_channel[col].mean()) for col in per_channel if col.startswith("err_")},
    }
    logger.info("Spectrogram loss %.4g, PRD %.3g%%, SNR %.3g dB", *list(overall.values())[:3])
    return FidelityReport(per_channel=per_channel, overall=overall)


def codebook_usage(tokens: Any) -> pd.DataFrame:
    """How many entries of each codebook a recording's tokens use.

    A codec whose encoder has collapsed (every input mapped to the same codes) still
    outputs a plausible, EEG-like signal, but the same one for every input: its
    spectrogram loss can look good while it carries no information. Its tokens use one
    entry per codebook; those of a working codec use many.

    Parameters
    ----------
    tokens : EEGTokens
        Tokens of a recording (:func:`~mne_dac.tokenize_raw`).

    Returns
    -------
    usage : pandas.DataFrame
        One row per codebook (index ``codebook``, from 1): ``n_used`` (distinct
        entries), ``fraction`` (``n_used`` over the codebook size) and ``perplexity``
        (exponential of the entropy of the entries' frequencies, in entries; 1 for a
        collapsed codebook).
    """
    import pandas as pd

    codes = np.asarray(tokens.codes)
    per_codebook = np.moveaxis(codes, -2, 0).reshape(codes.shape[-2], -1)
    rows = []
    for entries in per_codebook:
        counts = np.bincount(entries.astype(np.int64), minlength=tokens.codebook_size)
        p = counts[counts > 0] / counts.sum()
        rows.append(
            dict(
                n_used=int((counts > 0).sum()),
                fraction=float((counts > 0).mean()),
                perplexity=float(np.exp(-(p * np.log(p)).sum())),
            )
        )
    return pd.DataFrame(rows, index=pd.Index(np.arange(1, len(rows) + 1), name="codebook"))
