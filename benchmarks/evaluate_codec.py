"""Model-card evaluation: rate–quality of a codec against classic transform coding.

For each validation recording of eegmat (both recordings of each subject, the first
``--seconds`` seconds, EEG channels only, high-passed at the codec's cutoff so that the
figures measure the coding, not the removal of the recordings' offsets and drifts that
every method shares), the codec codes the recording at each depth ``k = 1 … n_codebooks``
as ``tokenize_raw(..., n_codebooks=k)`` does, with the tokens' band gains
(``--no-restore-bands``: the codec's decode alone): one point of the rate–quality curve at
``k * log2(codebook_size) * frame_rate`` bits/s per channel, plus the gains' bits. The DCT and wavelet baselines of :mod:`mne_dac.evaluation.baselines` code the same
preprocessed signals at the same bits/s per channel (all their bits counted). Every
reconstruction is scored by :func:`mne_dac.signal.metrics.fidelity_report` against the
original; metrics are averaged over recordings.

Outputs a Markdown table (printed, and written with ``--out``), a JSON file with every
number (``--json``) and a rate–quality plot (``--plot``). ``--compare`` adds the
spectrogram loss and PRD of other codecs at each depth (e.g. the codec trained without
GAN losses).

Usage::

    python benchmarks/evaluate_codec.py --seconds 10 --subjects 20       # quick check
    python benchmarks/evaluate_codec.py --out card.md --json card.json --plot card.png
    python benchmarks/evaluate_codec.py --codec train-gan/codec.pt --compare train-nogan/codec.pt
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import mne
import numpy as np
import pandas as pd

import mne_dac
from mne_dac.evaluation.baselines import plot_rate_quality, rate_quality

ROOT = Path(__file__).resolve().parents[1]
VALID_SUBJECTS = [20, 21, 22, 23]
#: Bands whose relative power error the tables report (the EEG bands of the targets).
BANDS = ("delta", "theta", "alpha", "beta")
METRICS = ["prd", *(f"err_{b}" for b in BANDS), "spectrogram_loss"]
SHORT = dict(
    prd="PRD %",
    err_delta="δ err",
    err_theta="θ err",
    err_alpha="α err",
    err_beta="β err",
    spectrogram_loss="spec loss",
    snr_db="SNR dB",
    band_error="band err",
)


def read_recordings(
    folder: Path, subjects: list[int], seconds: float | None, highpass: float | None = 0.1
) -> dict[str, mne.io.BaseRaw]:
    """First ``seconds`` (``None``: all) of both recordings of each subject, EEG channels only, high-passed."""
    raws = {}
    for subject in subjects:
        for run in (1, 2):
            fname = folder / f"Subject{subject:02d}_{run}.edf"
            raw = mne.io.read_raw_edf(fname, preload=False, verbose="error")
            raw.set_channel_types({"ECG ECG": "ecg", "EEG A2-A1": "misc"}, verbose="error")
            if seconds is not None:
                raw.crop(0, min(seconds, raw.times[-1] + 1 / raw.info["sfreq"]), include_tmax=False)
            raw.load_data(verbose="error").pick("eeg")
            if highpass is not None:  # the codec's own high-pass (4th-order Butterworth, zero phase)
                iir = dict(order=4, ftype="butter", output="sos")
                raw.filter(highpass, None, method="iir", iir_params=iir, verbose="error")
            raws[fname.stem] = raw
    return raws


def _label(source: str) -> str:
    path = Path(source)
    return path.parent.name + "/" + path.stem if path.suffix else source


def evaluate(args: argparse.Namespace) -> dict:
    """Run the evaluation; return everything as a JSON-serialisable dict."""
    codec = mne_dac.load_codec(args.codec, device=args.device)
    others = {_label(src): mne_dac.load_codec(src, device=args.device) for src in args.compare}
    depths = list(range(1, codec.n_codebooks + 1))
    raws = read_recordings(Path(args.data), args.subjects, args.seconds, codec.preprocessing.highpass)
    frames = []
    for name, raw in raws.items():
        t0 = time.perf_counter()
        levels = None  # the codec's own scaling
        if args.channel_levels:
            levels = mne_dac.preprocessing_at_level(raw, codec, per_channel=True)
        elif args.fixed_clip:
            levels = codec.preprocessing
        df = rate_quality(raw, codec, depths, label="codec", restore_bands=args.restore_bands, preprocessing=levels,
                          verbose="error")  # fmt: skip
        for label, other in others.items():
            other_depths = [k for k in depths if k <= other.n_codebooks]
            extra = rate_quality(raw, other, other_depths, baselines=(), label=label, preprocessing_row=False,
                                 restore_bands=args.restore_bands, verbose="error")  # fmt: skip
            df = pd.concat([df, extra])
        df.insert(0, "recording", name)
        frames.append(df)
        print(
            f"{name}: {len(raw.ch_names)} channels, {raw.times[-1] + 1 / raw.info['sfreq']:.0f} s, "
            f"{time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    per_recording = pd.concat(frames, ignore_index=True)
    usage = (
        pd.concat(  # entries each codebook uses per recording (1: collapsed), averaged
            mne_dac.signal.metrics.codebook_usage(
                mne_dac.tokenize_raw(raw, codec, n_codebooks=codec.n_codebooks, restore_bands=False, verbose="error")
            )
            for raw in raws.values()
        )
        .groupby("codebook")
        .mean()
    )
    numeric = [c for c in per_recording.columns if c not in ("recording", "method", "n_codebooks")]
    mean = per_recording.groupby(["method", "n_codebooks"], sort=False)[numeric].mean().reset_index()
    return dict(
        codec=dict(source=args.codec, identity=codec.identity.to_dict(), repr=repr(codec)),
        compare={
            label: dict(source=src, identity=other.identity.to_dict())
            for (label, other), src in zip(others.items(), args.compare)
        },
        data=dict(folder=str(args.data), subjects=args.subjects, seconds=args.seconds, recordings=list(raws)),
        restore_bands=args.restore_bands,
        channel_levels=args.channel_levels or (codec.channel_levels and not args.fixed_clip),
        platform=dict(python=platform.python_version(), machine=platform.machine(), mne_dac=mne_dac.__version__),
        per_recording=_records(per_recording),
        mean=_records(mean),
        codebook_usage=_records(usage.reset_index()),
        others=list(others),
    )


def _to_json(obj: object) -> object:
    """numpy scalars as Python numbers."""
    return obj.item() if hasattr(obj, "item") else str(obj)


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts, NaN as None (valid JSON)."""
    rows = df.to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()} for row in rows]


def floor_line(mean: pd.DataFrame) -> str:
    """Fidelity of the preprocessing alone (no coding): what every method loses before coding."""
    row = mean[mean.method == "preprocessing"]
    if row.empty:
        return ""
    row = row.iloc[0]
    return (
        "Preprocessing alone (resample, 0.1 Hz high-pass, clip; no coding), lost by every "
        f"method before coding: spec loss {row['spectrogram_loss']:.3g}, PRD {row['prd']:.3g} %, "
        f"SNR {row['snr_db']:.3g} dB, band err {row['band_error']:.3g}.\n"
    )


def markdown_table(mean: pd.DataFrame, others: list[str]) -> str:
    """Rows: bits/s per channel; columns: PRD of each method, then band errors and spectrogram loss."""
    codec = mean[mean.method == "codec"].set_index("n_codebooks")
    header = ["depth", "bits/s"]
    methods = ("codec", "dct", "wavelet")
    columns = [(method, "prd") for method in methods]
    for metric in METRICS[1:]:
        columns += [(method, metric) for method in methods]
    for label in others:
        columns += [(label, m) for m in ("spectrogram_loss", "prd")]
    header += [f"{method} {SHORT[m]}" for method, m in columns]
    table = mean.set_index(["method", "n_codebooks"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for k, row in codec.iterrows():
        cells = [str(k), f"{row['bits_per_second']:g}"]
        for method, metric in columns:
            value = table[metric].get((method, k), np.nan)
            cells.append("–" if pd.isna(value) else f"{value:.3g}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="default", help="codec name or file (load_codec)")
    parser.add_argument("--compare", nargs="*", default=[], metavar="CODEC", help="other codecs to compare")
    parser.add_argument("--data", default="../shared/data/eegmat", help="eegmat folder (relative to the repo root)")
    parser.add_argument("--subjects", type=int, nargs="+", default=VALID_SUBJECTS, help="validation subjects")
    parser.add_argument("--seconds", type=float, default=60.0, help="first seconds of each recording")
    parser.add_argument("--device", default=None, help="torch device (default: GPU if available)")
    parser.add_argument("--no-restore-bands", dest="restore_bands", action="store_false",
                        help="the codec's decode alone, without the tokens' band gains")  # fmt: skip
    levels = parser.add_mutually_exclusive_group()
    levels.add_argument("--channel-levels", action="store_true",
                        help="tokens of each channel at the codec's level (preprocessing_at_level(per_channel=True); "
                        "16 bits per channel counted; the default of a codec fitted at those levels)")  # fmt: skip
    levels.add_argument(
        "--fixed-clip", action="store_true", help="tokens at the codec's fixed clip level (the paper's ±200 µV)"
    )
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--plot", type=Path, help="write the rate-quality plot here (PNG)")
    args = parser.parse_args()
    args.data = Path(args.data) if Path(args.data).is_absolute() else (ROOT / args.data).resolve()
    mne.set_log_level("error")

    results = evaluate(args)
    mean = pd.DataFrame(results["mean"])
    n_rec = len(results["data"]["recordings"])
    title = (
        f"Codec {results['codec']['repr']}\n\n"
        f"eegmat subjects {args.subjects}, {n_rec} recordings, first {args.seconds:g} s, EEG channels; "
        f"metrics averaged over recordings. Baselines at the codec's bits/s per channel "
        f"(achieved: DCT {_achieved(mean, 'dct')}, wavelet {_achieved(mean, 'wavelet')}).\n"
    )
    table = markdown_table(mean, results["others"]) + "\n\n" + floor_line(mean)
    print(title)
    print(table)
    if args.out:
        args.out.write_text(title + "\n" + table)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=_to_json, allow_nan=False))
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_rate_quality(mean, show=False)
        fig.suptitle(f"Rate–quality on eegmat ({n_rec} recordings, {args.seconds:g} s each)")
        fig.savefig(args.plot, dpi=150)


def _achieved(mean: pd.DataFrame, method: str) -> str:
    rows = mean[mean.method == method]
    ratio = rows["bits_per_second"] / rows["target_bits_per_second"]
    return f"{100 * ratio.min():.0f}–{100 * ratio.max():.0f} % of the target"


if __name__ == "__main__":
    main()
