"""Training losses suited to EEG: the waveform error relative to the signal, and a band-balanced spectrum loss.

DAC's log-mel loss was designed for audio. On band-limited EEG at 512 Hz it weights the empty
range above 50 Hz like the EEG band, and it rewards a collapsed codec (an output of zero scores
better than a 0.1 µV near-lossless copy). mne-dac trains its codecs with two losses instead:

- :func:`relative_mse`, the squared waveform error relative to the signal's energy (the square
  of PRD, independent of the signal's scale);
- :class:`BandSpectralLoss`, a multi-resolution STFT magnitude loss in which every EEG band
  weighs the same, whatever its power. A waveform loss alone neglects theta and beta, which hold
  little of the power: codecs trained on it behave like a 13 Hz low-pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from mne_dac.signal.metrics import BANDS


def relative_mse(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Squared error relative to the energy of the reference, ``sum((y - x)**2) / sum(x**2)``.

    Parameters
    ----------
    y : torch.Tensor
        Reconstruction.
    x : torch.Tensor
        Reference, same shape.

    Returns
    -------
    loss : torch.Tensor
        A scalar: the square of the PRD (as a fraction) pooled over all samples.
    """
    return (y - x).pow(2).sum() / x.pow(2).sum().clamp_min(torch.finfo(x.dtype).tiny)


class BandSpectralLoss(nn.Module):
    """Multi-resolution STFT magnitude loss, balanced across the EEG bands.

    For each window length and each band, the loss is the L1 distance between the linear STFT
    magnitudes of the reconstruction and of the reference over the band's frequency bins,
    divided by the reference's summed magnitude there (a relative error, 0 when perfect, 1 for
    an output of zero). The loss is the mean over bands and windows: each band counts the same
    whatever its power, so that the power of theta and beta is kept as well as that of delta
    and alpha. Bands without a bin at a window's resolution are skipped for that window.

    Parameters
    ----------
    sfreq : float
        Sampling rate of the signals.
    bands : mapping of str to (float, float)
        Frequency bands in Hz, ``[low, high)`` (default: delta to gamma, 1–45 Hz).
    window_seconds : sequence of float
        STFT window lengths in seconds (Hann windows, hop of a quarter window), rounded to
        samples.
    """

    def __init__(
        self,
        sfreq: float,
        bands: Mapping[str, tuple[float, float]] = BANDS,
        window_seconds: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
    ) -> None:
        super().__init__()
        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {sfreq}")
        self.sfreq = float(sfreq)
        self.bands = dict(bands)
        self.windows = [max(4, int(round(s * sfreq))) for s in window_seconds]
        self._masks: dict[int, list[torch.Tensor]] = {}
        for n in self.windows:
            freqs = torch.fft.rfftfreq(n, 1 / self.sfreq)
            masks = [(freqs >= lo) & (freqs < hi) for lo, hi in self.bands.values() if hi <= self.sfreq / 2]
            self._masks[n] = [m for m in masks if m.any()]
        if not any(self._masks.values()):
            raise ValueError(f"No band of {self.bands} has a frequency bin at {sfreq} Hz with windows {self.windows}.")

    def _magnitude(self, x: torch.Tensor, n: int) -> torch.Tensor:
        window = torch.hann_window(n, device=x.device, dtype=x.dtype)
        spec = torch.stft(x.reshape(-1, x.shape[-1]), n, hop_length=max(1, n // 4), window=window, return_complex=True)
        return spec.abs()

    def forward(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Loss of reconstruction ``y`` against reference ``x`` (same shape, time last)."""
        if y.shape != x.shape:
            raise ValueError(f"y and x must have the same shape, got {tuple(y.shape)} and {tuple(x.shape)}")
        terms = []
        for n in self.windows:
            if x.shape[-1] < n or not self._masks[n]:
                continue
            mag_y, mag_x = self._magnitude(y.float(), n), self._magnitude(x.float(), n)
            for mask in self._masks[n]:
                mask = mask.to(x.device)
                ref = mag_x[:, mask].sum().clamp_min(torch.finfo(torch.float32).tiny)
                terms.append((mag_y[:, mask] - mag_x[:, mask]).abs().sum() / ref)
        if not terms:
            raise ValueError(f"Signals of {x.shape[-1]} samples are shorter than every window {self.windows}.")
        return torch.stack(terms).mean()

    def extra_repr(self) -> str:  # noqa: D102
        return f"sfreq={self.sfreq:g}, bands={list(self.bands)}, windows={self.windows}"
