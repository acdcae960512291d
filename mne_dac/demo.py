"""The main job, end to end on the shipped EEG: compress, decompress, assess."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mne.utils import verbose


@verbose
def run_demo(
    out_dir: str | Path = "mne-dac-demo",
    *,
    codec: Any = "default",
    n_codebooks: int | None = None,
    subject: int = 0,
    task: str = "rest",
    show: bool = False,
    verbose: bool | str | int | None = "warning",
):
    """Compress the shipped eegmat excerpt, decompress it and report the fidelity.

    Writes ``<out_dir>/<recording>.eegdac``, the decompressed ``<recording>_raw.fif``
    and ``fidelity.png`` (original and reconstruction overlaid for a few channels,
    plus their power spectra), and prints a summary and the fidelity report.

    Parameters
    ----------
    out_dir : path-like
        Output folder (created if needed; outputs in it are replaced).
    codec : str | path-like | DACCodec
        The codec (default: the one shipped with mne-dac).
    n_codebooks : int | None
        Codebooks to use (``None``: all).
    subject : int
        Shipped subject (0 or 1).
    task : str
        ``"rest"`` or ``"arithmetic"``.
    show : bool
        Show the figure.
    verbose : bool | str | int | None
        Verbosity of MNE's logging (default: warnings only).

    Returns
    -------
    report : FidelityReport
        Spectrogram loss, PRD, SNR and band-power errors, per channel and overall.
    """
    import mne_dac
    from mne_dac.cli import describe_file
    from mne_dac.datasets import read_excerpt
    from mne_dac.metrics import fidelity_report
    from mne_dac.viz import plot_fidelity

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = read_excerpt(subject, task).pick("eeg")  # ECG and A2-A1 would be kept losslessly
    stem = f"eegmat_sub-{subject:02d}_{task}"
    codec = mne_dac.load_codec(codec)
    print(f"Codec: {codec}")
    n_eeg = len(raw.ch_names)

    fname = out_dir / f"{stem}.eegdac"
    t0 = time.perf_counter()
    mne_dac.write_raw_dac(fname, raw, codec=codec, n_codebooks=n_codebooks, overwrite=True)
    t_enc = time.perf_counter() - t0
    t0 = time.perf_counter()
    recon = mne_dac.read_raw_dac(fname, codec=codec)
    t_dec = time.perf_counter() - t0
    recon.save(out_dir / f"{stem}_raw.fif", overwrite=True)

    print(describe_file(fname))
    ch_s = n_eeg * raw.duration
    print(
        f"Speed:             encode {ch_s / t_enc:.0f} channel-s/s, decode {ch_s / t_dec:.0f} "
        f"channel-s/s on {codec.device} (file I/O and preprocessing included)"
    )
    report = fidelity_report(raw, recon, codec_sfreq=codec.sfreq, clip=codec.preprocessing.clip)
    print(report)
    fig = plot_fidelity(raw, recon, fname=out_dir / "fidelity.png", show=show)
    print(f"Figure:            {out_dir / 'fidelity.png'}")
    if not show:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return report
