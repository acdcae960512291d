"""Plots comparing a reconstruction with the original recording."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from mne.utils import logger

from mne_dac.signal.metrics import _common_channels, _paired_data, _welch

if TYPE_CHECKING:
    import mne
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_ORIG = dict(color="k", lw=1.0, label="original")
_RECON = dict(color="tab:red", lw=0.8, alpha=0.8, label="reconstruction")


def _pick_names(
    original: mne.io.BaseRaw,
    reconstructed: mne.io.BaseRaw,
    picks: str | list[str] | None,
    n_channels: int | None,
) -> list[str]:
    """Channels to plot; also checks that the recordings can be compared."""
    if original.info["sfreq"] != reconstructed.info["sfreq"]:
        raise ValueError(f"Sampling rates differ: {original.info['sfreq']} and {reconstructed.info['sfreq']} Hz.")
    if picks is None:
        return _common_channels(original, reconstructed)[:n_channels]
    return [picks] if isinstance(picks, str) else list(picks)


def _plot_overlay(
    axes: list[Axes],
    original: mne.io.BaseRaw,
    reconstructed: mne.io.BaseRaw,
    names: list[str],
    start: float,
    duration: float,
) -> None:
    sfreq = original.info["sfreq"]
    first = int(round(start * sfreq))
    stop = min(original.n_times, first + int(round(duration * sfreq)))
    if not 0 <= first < stop:
        raise ValueError(f"start={start} s is outside the recording ({original.n_times / sfreq:g} s).")
    x, y, _, _ = _paired_data(
        *(raw.get_data(picks=names, start=first, stop=stop) for raw in (original, reconstructed)),
        sfreq,
        names,
    )
    times = np.arange(first, stop) / sfreq
    for ax, name, xi, yi in zip(axes, names, x * 1e6, y * 1e6):
        ax.plot(times, xi, **_ORIG)
        ax.plot(times, yi, **_RECON)
        ax.set_ylabel(f"{name}\n(µV)")
        ax.margins(x=0)
    axes[0].legend(loc="upper right", fontsize="small", ncols=2)
    axes[-1].set_xlabel("Time (s)")


def _plot_psd(
    ax: Axes,
    original: mne.io.BaseRaw,
    reconstructed: mne.io.BaseRaw,
    names: list[str],
    fmax: float | None,
) -> None:
    x, y, sfreq, _ = _paired_data(original, reconstructed, None, names)
    fmax = sfreq / 2 if fmax is None else fmax
    for data, style in ((x, _ORIG), (y, _RECON)):
        freqs, psd = _welch(data, sfreq)
        keep = (freqs > 0) & (freqs <= fmax)
        freqs, psd = freqs[keep], psd[:, keep] * 1e12  # V²/Hz -> µV²/Hz
        ax.semilogy(freqs, psd.mean(0), **style)
        if len(psd) > 1:
            ax.fill_between(freqs, psd.min(0), psd.max(0), color=style["color"], alpha=0.15, lw=0)
    ax.set(xlabel="Frequency (Hz)", ylabel="PSD (µV²/Hz)", xlim=(0, fmax))
    ax.set_title(f"Welch PSD, mean of {len(names)} channel(s) (shaded: range)", fontsize="medium")
    ax.legend(loc="upper right", fontsize="small")


def _finish(fig: Figure, show: bool) -> Figure:
    if show:
        import matplotlib.pyplot as plt

        plt.show()
    return fig


def plot_reconstruction(
    original: mne.io.BaseRaw,
    reconstructed: mne.io.BaseRaw,
    picks: str | list[str] | None = None,
    *,
    start: float = 0.0,
    duration: float = 10.0,
    n_channels: int = 4,
    show: bool = True,
) -> Figure:
    """Overlay original and reconstructed signals, one subplot per channel.

    Parameters
    ----------
    original, reconstructed : mne.io.Raw
        The recordings (same sampling rate and length), in Volts.
    picks : str | list of str | None
        Channel names; ``None`` takes the first ``n_channels`` channels common to both.
    start, duration : float
        Time window to show, in seconds.
    n_channels : int
        Number of channels shown when ``picks`` is None.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt

    names = _pick_names(original, reconstructed, picks, n_channels)
    fig, axes = plt.subplots(
        len(names),
        1,
        sharex=True,
        squeeze=False,
        figsize=(10, 1.6 * len(names) + 1),
        layout="constrained",
    )
    _plot_overlay(list(axes[:, 0]), original, reconstructed, names, start, duration)
    return _finish(fig, show)


def plot_psd_comparison(
    original: mne.io.BaseRaw,
    reconstructed: mne.io.BaseRaw,
    picks: str | list[str] | None = None,
    *,
    fmax: float | None = None,
    show: bool = True,
) -> Figure:
    """Compare the Welch PSDs (2-s windows) of the original and the reconstruction.

    Parameters
    ----------
    original, reconstructed : mne.io.Raw
        The recordings (same sampling rate and length), in Volts.
    picks : str | list of str | None
        Channel names; ``None`` uses all channels common to both (stim excluded).
    fmax : float | None
        Highest frequency shown, in Hz; ``None`` for Nyquist.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure: mean PSD over channels in µV²/Hz (log scale), shaded between the
        channels' minimum and maximum.
    """
    import matplotlib.pyplot as plt

    names = _pick_names(original, reconstructed, picks, None)
    fig, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    _plot_psd(ax, original, reconstructed, names, fmax)
    return _finish(fig, show)


def plot_fidelity(
    original: mne.io.BaseRaw,
    reconstructed: mne.io.BaseRaw,
    fname: str | Path | None = None,
    picks: str | list[str] | None = None,
    *,
    start: float = 0.0,
    duration: float = 10.0,
    n_channels: int = 4,
    fmax: float | None = None,
    title: str | None = None,
    show: bool = True,
) -> Figure:
    """Overlay of a few channels (left) and PSD comparison (right) in one figure.

    Parameters
    ----------
    original, reconstructed : mne.io.Raw
        The recordings (same sampling rate and length), in Volts.
    fname : path-like | None
        If given, save the figure there (format from the extension, e.g. ``.png``).
    picks : str | list of str | None
        Channel names. ``None`` overlays the first ``n_channels`` channels common to
        both and averages the PSD over all of them.
    start, duration : float
        Time window of the overlay, in seconds.
    n_channels : int
        Number of channels overlaid when ``picks`` is None.
    fmax : float | None
        Highest frequency of the PSD, in Hz; ``None`` for Nyquist.
    title : str | None
        Title of the figure (e.g. the codec, its bitrate and PRD).
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt

    names = _pick_names(original, reconstructed, picks, n_channels)
    fig = plt.figure(figsize=(15, max(4.5, 1.6 * len(names) + 1)), layout="constrained")
    left, right = fig.subfigures(1, 2, width_ratios=[3, 2])
    axes = left.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0]
    _plot_overlay(list(axes), original, reconstructed, names, start, duration)
    psd_names = names if picks is not None else _pick_names(original, reconstructed, None, None)
    _plot_psd(right.subplots(), original, reconstructed, psd_names, fmax)
    if title is not None:
        fig.suptitle(title)
    if fname is not None:
        fig.savefig(fname, dpi=120)
        logger.info("Saved the fidelity figure to %s", fname)
    return _finish(fig, show)
