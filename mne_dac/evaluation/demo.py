"""The main job, end to end on the shipped EEG: compress, decompress, assess."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mne.utils import verbose

#: What each metric of the fidelity report means, printed by the demo.
METRIC_LEGEND = """Metrics (all: lower is better, except SNR):
  spectrogram_loss  DAC's multi-scale log-mel distance (the paper's measure; 0 = identical spectrograms)
  prd               percent root-mean-square difference: 100 * ||reconstruction - original|| / ||original||
  snr_db            signal-to-noise ratio in dB, 20 * log10(100 / PRD); higher is better
  err_<band>        relative band-power error |P_rec - P_orig| / P_orig in that band: 0.10 means the power is
                    kept to within 10 %; 0.96 means 96 % of it is lost (or added)"""


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
    plus their power spectra; titled with the bitrate and PRD), and prints a summary, the
    fidelity report with a legend of its metrics, and the same metrics for the classic
    transform coders a neural codec has to beat, at the same bitrate: the block DCT of each
    channel (:class:`~mne_dac.signal.transform_coding.DCTCoder`) and of the channels' principal
    components (:class:`~mne_dac.signal.transform_coding.CrossChannelDCTCoder`), and a
    ``"klt-codec"`` file (the shipped ``"linear"`` codec on the principal components,
    :func:`~mne_dac.write_raw_dac`).

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
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.container import describe_file
    from mne_dac.signal.metrics import fidelity_report
    from mne_dac.signal.viz import plot_fidelity

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
    report_kw = dict(codec_sfreq=codec.sfreq, clip=codec.preprocessing.clip)
    report = fidelity_report(raw, recon, **report_kw)
    print(report)
    bitrate = codec.bits_per_second(n_codebooks)
    baselines = {name: fidelity_report(raw, recon, **report_kw) for name, recon in _baselines(raw, codec, bitrate)}
    dct = baselines["DCT"]
    print(f"\n{_comparison(report, baselines, bitrate)}\n\n{METRIC_LEGEND}")
    title = f"{codec.name}: {bitrate:g} bits/s per channel, PRD {report.overall['prd']:.1f} % (DCT at the same rate: "
    title += f"{dct.overall['prd']:.1f} %)"
    fig = plot_fidelity(raw, recon, fname=out_dir / "fidelity.png", title=title, show=show)
    print(f"Figure:            {out_dir / 'fidelity.png'}")
    if not show:
        import matplotlib.pyplot as plt

        plt.close(fig)
    return report


def _baselines(raw, codec, bitrate: float):
    """``(name, reconstruction)`` of the transform coders at ``bitrate`` bits/s per channel, with the codec's
    preprocessing, and of a ``"klt-codec"`` file at that rate (every bit in the file counted)."""
    import tempfile

    import mne_dac
    from mne_dac.evaluation.baselines import make_coder

    for name, method in (("DCT", "dct"), ("KLT+DCT", "klt-dct")):
        yield name, make_coder(method, bitrate, codec.sfreq).code_raw(raw, codec.preprocessing)[0]
    with tempfile.TemporaryDirectory() as tmp:
        fname = mne_dac.write_raw_dac(Path(tmp) / "klt-codec.eegdac", raw, "klt-codec", bits_per_second=bitrate)
        yield "klt-codec", mne_dac.read_raw_dac(fname)


def _comparison(report, baselines: dict, bitrate: float) -> str:
    """The codec's and the baselines' overall metrics side by side."""
    lines = [f"{f'At {bitrate:g} bits/s per channel:':<30}" + "".join(f"{name:>10}" for name in ["codec", *baselines])]
    for key, value in report.overall.items():
        lines.append(f"  {key:<28}{value:>10.3g}" + "".join(f"{b.overall[key]:>10.3g}" for b in baselines.values()))
    lines.append(
        "codec: its tokens in the file, each 16-s block's band powers kept to 90 %; "
        "DCT: the block DCT of each channel; KLT+DCT: of the channels' principal components; "
        'klt-codec: a file of the shipped "linear" codec on them, each 64-s block\'s band powers kept to 90 % '
        '(write_raw_dac(codec="klt-codec"))'
    )
    return "\n".join(lines)
