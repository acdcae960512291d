"""Rate–quality of codecs against lossless and lossy classic coding, on eegmat's validation subjects.

For each recording (both recordings of each validation subject, EEG channels), each codec
codes at each depth ``k`` as ``tokenize_raw(..., n_codebooks=k)`` does, with the tokens' band gains
(``--no-restore-bands``: the codec's decode alone; :func:`mne_dac.evaluation.baselines.rate_quality`); DCT and wavelet transform coding, channel by
channel, and the DCT of the channels' principal components (``klt-dct``) code the same
preprocessed signals at the same bits/s per channel, every bit counted. Lossless
baselines (:func:`mne_dac.evaluation.baselines.lossless_quality`) compress the recording itself, at
500 Hz, as 16-bit samples with FLAC, gzip and zstd, under two conventions:

- ``edf``: the EDF file's own samples (its digital resolution and offset per channel), so
  the copy is bit-exact: the cost of archiving the recording as distributed;
- ``0.1uV``: a fixed 0.1 µV step (int16 spans ±3.28 mV), a usual amplifier resolution,
  independent of how a file's header was written.

Every reconstruction is scored by :func:`mne_dac.signal.metrics.fidelity_report` (spectrogram
loss, PRD, SNR, band-power error); metrics are averaged over recordings. Writes to
``--out-dir``: ``rate_quality.md`` (the tables, also printed), ``rate_quality.json`` (every
number) and ``rate_quality_<metric>.png`` (one rate–quality plot per metric).

Usage::

    python benchmarks/rate_quality.py --seconds 20 --subjects 20            # quick check
    python benchmarks/rate_quality.py --out-dir doc/_static/benchmarks       # the docs figures
    python benchmarks/rate_quality.py --codec default /path/mc.pt --grouping pivot
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import torch
from evaluate_codec import floor_line  # benchmarks/ is on sys.path when run as a script

import mne_dac
from mne_dac.evaluation.baselines import BASELINES, LOSSLESS, lossless_quality, plot_rate_quality, rate_quality
from mne_dac.evaluation.datasets import excerpt_fnames

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("/work/shared/data/eegmat")
VALID_SUBJECTS = [20, 21, 22, 23]
METRICS = {
    "spectrogram_loss": "spectrogram loss",
    "prd": "PRD (%)",
    "snr_db": "SNR (dB)",
    "band_error": "band-power error",
}
#: Lossless conventions: label suffix -> how the int16 samples are made.
CONVENTIONS = {"edf": "EDF samples (bit-exact)", "0.1uV": "0.1 µV step"}


def edf_calibration(raw: mne.io.BaseRaw, picks: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Digital resolution and offset in Volts of channels of an EDF read by MNE.

    MNE reads sample ``d`` of channel ``i`` as ``(d * cal[i] + offsets[i]) * units[i]``; these
    are in the reader's ``_raw_extras`` (private, but the only place MNE keeps them).
    """
    extras = raw._raw_extras[0]
    index = [raw.ch_names.index(ch) for ch in picks]
    units = np.asarray(extras["units"], dtype=float)[index]
    return np.asarray(extras["cal"])[index] * units, np.asarray(extras["offsets"])[index] * units


def read_recordings(folder: Path, subjects: list[int], seconds: float | None) -> dict[str, tuple]:
    """``{name: (raw with EEG channels only, resolution, offset)}``; the shipped excerpt if ``folder`` is missing."""
    if folder.is_dir():
        fnames = [folder / f"Subject{s:02d}_{run}.edf" for s in subjects for run in (1, 2)]
    else:
        fnames = excerpt_fnames()
        print(
            f"No eegmat folder at {folder}: using the shipped excerpt ({len(fnames)} recordings of 60 s, "
            "training subjects 00 and 01, so not a validation figure)."
        )
    recordings = {}
    for fname in fnames:
        raw = mne.io.read_raw_edf(fname, preload=False, verbose="error")
        raw.set_channel_types({"ECG ECG": "ecg", "EEG A2-A1": "misc"}, verbose="error")
        if seconds is not None:
            raw.crop(0, min(seconds, raw.times[-1] + 1 / raw.info["sfreq"]), include_tmax=False)
        raw.load_data(verbose="error")
        eeg = [raw.ch_names[i] for i in mne.pick_types(raw.info, eeg=True)]
        resolution, offset = edf_calibration(raw, eeg)
        recordings[Path(fname).stem] = (raw.pick(eeg), resolution, offset)
    return recordings


def per_channel_rates(codec, ch_names: list[str], groups, depths: list[int]) -> tuple[float, ...]:
    """Bits/s per channel at each depth (DAC-MC group streams are shared by their channels)."""
    n_streams = len(ch_names)
    if codec.architecture == "dac-mc" and codec.layout == "group":
        n_streams = codec.channel_groups(ch_names, groups).n_groups
    return tuple(round(codec.bits_per_second(k) * n_streams / len(ch_names), 6) for k in depths)


def _label(source: str) -> str:
    return Path(source).stem if Path(source).suffix else source


def evaluate(args: argparse.Namespace) -> dict:
    """Run every method on every recording; return all results as a JSON-serialisable dict."""
    codecs = {
        _label(src): mne_dac.load_codec(src, device=args.device, batch_size=args.batch_size) for src in args.codec
    }
    recordings = read_recordings(args.data, args.subjects, args.seconds)
    frames = []
    for name, (raw, resolution, offset) in recordings.items():
        t0 = time.perf_counter()
        rates_done: set[tuple[float, ...]] = set()
        for i, (label, codec) in enumerate(codecs.items()):
            depths = [k for k in args.depths if k <= codec.n_codebooks]
            groups = args.grouping if codec.architecture == "dac-mc" else None
            # the baselines at this codec's bits/s per channel, unless another codec had the same
            rates = per_channel_rates(codec, raw.ch_names, groups, depths)
            df = rate_quality(
                raw,
                codec,
                depths,
                label=label,
                groups=groups,
                preprocessing_row=i == 0,
                baselines=() if rates in rates_done else tuple(BASELINES),
                lossless=LOSSLESS if i == 0 else (),
                restore_bands=args.restore_bands,
                resolution=resolution,
                offset=offset,
                verbose="error",
            )
            rates_done.add(rates)
            frames.append(df.assign(recording=name))
        fixed = lossless_quality(raw, LOSSLESS, codec_sfreq=512.0, verbose="error")
        frames.append(fixed.assign(recording=name, method=fixed.method + " 0.1uV"))
        duration = raw.times[-1] + 1 / raw.info["sfreq"]
        print(
            f"{name}: {len(raw.ch_names)} EEG channels, {duration:.0f} s, {time.perf_counter() - t0:.0f} s", flush=True
        )
    results = pd.concat(frames, ignore_index=True)
    results.loc[results.method.isin(LOSSLESS), "method"] += " edf"
    numeric = [c for c in results.columns if c not in ("recording", "method", "n_codebooks")]
    mean = results.groupby(["method", "n_codebooks"], sort=False)[numeric].mean().reset_index()
    first_raw = next(iter(recordings.values()))[0]
    return {
        "codecs": {label: {"source": src, "repr": repr(c)} for (label, c), src in zip(codecs.items(), args.codec)},
        "data": {
            "folder": str(args.data),
            "subjects": args.subjects,
            "seconds": args.seconds,
            "recordings": list(recordings),
            "n_channels": len(first_raw.ch_names),
            "sfreq": first_raw.info["sfreq"],
            "total_seconds": float(sum(r.times[-1] + 1 / r.info["sfreq"] for r, *_ in recordings.values())),
        },
        "machine": machine(args.device),
        "restore_bands": args.restore_bands,
        "per_recording": _records(results),
        "mean": _records(mean),
    }


def machine(device: str | None = None) -> dict:
    """CPU model, cores, versions and date, for the record."""
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    gpu = torch.cuda.get_device_name() if torch.cuda.is_available() and device != "cpu" else None
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "gpu": gpu,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "mne_dac": mne_dac.__version__,
        "date": time.strftime("%Y-%m-%d"),
    }


def _records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts, NaN and inf as None (valid JSON)."""
    rows = df.to_dict(orient="records")
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()} for row in rows]


def _fmt(value: float) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:.3g}"


def metric_tables(mean: pd.DataFrame, codecs: list[str]) -> str:
    """One table per metric: rows are depths, columns the codecs and the baselines at their rates."""
    lossy = [m for m in (*codecs, *BASELINES) if m in set(mean.method)]
    first = mean[mean.method == codecs[0]].set_index("n_codebooks")
    table = mean.set_index(["method", "n_codebooks"])
    out = []
    for metric, title in METRICS.items():
        lines = [
            f"**{title}**",
            "",
            "| depth | bits/s per channel | " + " | ".join(lossy) + " |",
            "|" + "---:|" * (2 + len(lossy)),
        ]
        for k, row in first.iterrows():
            cells = [str(k), f"{row['bits_per_second']:g}"]
            cells += [_fmt(table[metric].get((method, k), np.nan)) for method in lossy]
            lines.append("| " + " | ".join(cells) + " |")
        out.append("\n".join(lines))
    return "\n\n".join(out)


def entropy_table(mean: pd.DataFrame, codecs: list[str]) -> str:
    """Bits/s per channel spent by each codec's tokens, and their empirical entropy."""
    lines = [
        "| depth | " + " | ".join(f"{c} bits/s | {c} token entropy (bits/s)" for c in codecs) + " |",
        "|---:|" + "---:|---:|" * len(codecs),
    ]
    table = mean.set_index(["method", "n_codebooks"])
    for k in sorted({k for m, k in table.index if m in codecs}):
        cells = [str(k)]
        for c in codecs:
            row = table.loc[(c, k)] if (c, k) in table.index else None
            cells += (
                ["–", "–"] if row is None else [f"{row['bits_per_second']:g}", _fmt(row["entropy_bits_per_second"])]
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def lossless_table(mean: pd.DataFrame, sfreq: float) -> str:
    """Bits/s per channel, compression ratio and fidelity of the lossless baselines."""
    lines = [
        "| method | int16 samples | bits/s per channel | bits per sample | ratio vs 16-bit | spectrogram loss | PRD % | SNR dB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for convention, text in CONVENTIONS.items():
        for method in LOSSLESS:
            rows = mean[mean.method == f"{method} {convention}"]
            if rows.empty:
                continue
            row = rows.iloc[0]
            snr = "exact" if row["prd"] < 1e-6 else _fmt(row["snr_db"])
            lines.append(
                f"| {method} | {text} | {row['bits_per_second']:.0f} | {row['bits_per_second'] / sfreq:.2f} | "
                f"{row['compression_ratio']:.2f} | {_fmt(row['spectrogram_loss'])} | {_fmt(row['prd'])} | {snr} |"
            )
    return "\n".join(lines)


def report(results: dict) -> str:
    """The Markdown report: setting, lossless table, one table per metric."""
    mean = pd.DataFrame(results["mean"])
    data, codecs, m = results["data"], list(results["codecs"]), results["machine"]
    seconds = "whole recordings" if data["seconds"] is None else f"first {data['seconds']:g} s of each"
    lossy = mean[mean.method.isin(list(BASELINES))]
    achieved = lossy["bits_per_second"] / lossy["target_bits_per_second"]
    return "\n\n".join(
        [
            (
                f"Recordings: {', '.join(data['recordings'])} ({seconds}; {data['total_seconds']:.0f} s in all), "
                f"{data['n_channels']} EEG channels at {data['sfreq']:g} Hz; metrics averaged over recordings."
            ),
            "Codecs: " + "; ".join(f"`{label}` {info['repr']}" for label, info in results["codecs"].items()),
            (
                f"Run on {m['cpu']} ({m['cores']} cores, {m['threads']} torch threads), torch {m['torch']}, "
                f"mne-dac {m['mne_dac']}, {m['date']}; {results.get('wall_seconds', float('nan')) / 60:.0f} min."
            ),
            "**Lossless baselines** (EEG channels at their own rate, 16-bit samples; ratio against 16 bits per sample):",
            lossless_table(mean, data["sfreq"]),
            (
                "**Lossy coding at equal bits/s per channel.** DCT, wavelet and KLT + DCT code the preprocessed signals within the "
                f"codec's budget, every bit counted (they spent {100 * achieved.min():.0f}–{100 * achieved.max():.0f} % of it)."
            ),
            metric_tables(mean, codecs),
            floor_line(mean),
            (
                "**Codec tokens.** Bits/s per channel that the tokens take as stored (fixed-length codes), and the "
                "empirical entropy of the codes used, per recording (averaged): what an ideal entropy coder adapted "
                "to the recording would spend. An entropy near 0 means that the codec emits (nearly) the same token "
                "whatever the input: its reconstruction then does not depend on the EEG."
            ),
            entropy_table(mean, codecs),
        ]
    )


def plot(results: dict, out_dir: Path) -> list[Path]:
    """One PNG per metric: quality against bits/s (log scale), lossless baselines as stars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    mean = pd.DataFrame(results["mean"])
    n = len(results["data"]["recordings"])
    paths = []
    for metric, title in METRICS.items():
        rows = mean.copy()  # exact copies have an infinite SNR: not drawn, but kept for the colours and legend
        rows.loc[rows.method.str.endswith(" edf") & (rows.prd < 1e-6), "snr_db"] = np.nan
        fig = plot_rate_quality(rows, metrics=(metric,), xscale="log", show=False)
        fig.axes[0].set_title(f"{title}, {n} eegmat recordings")
        fig.axes[0].legend(fontsize=7, ncols=2)
        path = out_dir / f"rate_quality_{metric}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        paths.append(path)
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", nargs="+", default=["default"], help="codecs: names or files (load_codec)")
    parser.add_argument(
        "--grouping", default=None, help="DAC-MC codecs: how to group the channels ('pivot', 'anatomical')"
    )
    parser.add_argument("--depths", type=int, nargs="+", default=list(range(1, 10)), help="numbers of codebooks")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="eegmat folder (else: the shipped excerpt)")
    parser.add_argument("--subjects", type=int, nargs="+", default=VALID_SUBJECTS, help="validation subjects")
    parser.add_argument("--seconds", type=float, default=None, help="first seconds of each recording (default: all)")
    parser.add_argument("--device", default="cpu", help="torch device of the codecs")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--no-restore-bands", dest="restore_bands", action="store_false",
                        help="the codecs' decodes alone, without the tokens' band gains")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    parser.add_argument("--out-dir", type=Path, default=Path("."), help="where to write the table, JSON and plots")
    parser.add_argument("--from-json", type=Path, help="only redo the table and plots from a rate_quality.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mne.set_log_level("error")
    args.out_dir.mkdir(parents=True, exist_ok=True)

    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        t0 = time.perf_counter()
        results = evaluate(args)
        results["wall_seconds"] = time.perf_counter() - t0
        (args.out_dir / "rate_quality.json").write_text(
            json.dumps(results, indent=1, default=_to_json, allow_nan=False)
        )
    text = report(results)
    print("\n" + text)
    (args.out_dir / "rate_quality.md").write_text(text + "\n")
    for path in plot(results, args.out_dir):
        print(f"Wrote {path}")


def _to_json(obj: object) -> object:
    return obj.item() if hasattr(obj, "item") else str(obj)


if __name__ == "__main__":
    main()
