"""What an ``.eegdac`` file keeps: the default codec's tokens against the transform codes, written and read back.

For each validation recording of eegmat (subjects 20-23, both recordings, whole, EEG channels
high-passed at 0.1 Hz as every coder does), :func:`mne_dac.write_raw_dac` writes a file with the
default codec at 2 and 4 codebooks (44 and 88 bits/s per channel; ``--token-codec`` and
``--token-depths``: another codec's tokens), the same codec within 22, 30 and 44 bits/s per channel
(``bits_per_second``: each channel's depth chosen per 4 s; ``--codec-rates``), and with ``codec="klt-codec"``
(the shipped linear codec on the channels' principal components) and ``codec="klt-dct"`` (their
block DCT) at ``--rates``, each with its blocks' band powers kept (the default) and without
(``restore_bands=False``: the codec's decode, the transform's of least squared error);
:func:`mne_dac.read_raw_dac` reads it back. After each file of the codec with its band powers kept, the
block DCT of each channel (:class:`~mne_dac.signal.transform_coding.DCTCoder`, as in the model card)
codes the same recording within the bits per second that file's payload takes: the two at equal
bits in the file. Each reconstruction is scored by
:func:`mne_dac.signal.metrics.fidelity_report` against the recording: PRD, SNR, the relative
band-power errors and the spectrogram loss, averaged over recordings. "bits/s in file" is what
the EEG's payload takes per channel (tokens entropy-coded, or the transform code with its
directions); the rest of the file (the channels kept aside, the measurement info) is the same
for every coder. Write and read speeds are in channel-seconds per second, on ``--threads``
torch threads.

Writes ``file_coding.md`` and ``file_coding.json`` to ``--out-dir`` (with ``--plot``, also
``file_coding.png``: PRD and β error against the bits in the file, of the token files and of the DCT at
their bits); ``--coders`` measures some coders only.

Usage::

    python benchmarks/file_coding.py --data ../shared/data/eegmat --threads 2 --out-dir /tmp/files
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import torch

import mne_dac
from mne_dac.io.container import read_header
from mne_dac.signal.metrics import fidelity_report

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_codec import BANDS, VALID_SUBJECTS, read_recordings


def coders(rates: list[float], token_codec: str = "default", token_depths: tuple[int, ...] = (2, 4),
           codec_rates: tuple[float, ...] = (22, 30, 44)) -> list[tuple[str, dict]]:  # fmt: skip
    """``(label, write_raw_dac keyword arguments)`` of every coder measured: ``token_codec``'s tokens at
    ``token_depths`` codebooks, the codec within ``codec_rates`` (its depth chosen per channel and 4 s), and the
    transform codes at ``rates``."""
    kinds = (("", True), (", least squared error", False))
    tokens = [(f"{token_codec} codec, {k} codebook{'s' * (k > 1)}{kind}",
               {"codec": token_codec, "n_codebooks": k, "restore_bands": restore})
              for k in token_depths for kind, restore in (("", True), (", codec's decode", False))]  # fmt: skip
    within = [(f"{token_codec} codec within {r:g} bits/s{kind}",
               {"codec": token_codec, "bits_per_second": r, "restore_bands": restore})
              for r in codec_rates for kind, restore in kinds]  # fmt: skip
    transforms = (("KLT + codec", "klt-codec"), ("KLT + DCT", "klt-dct"))
    transform_files = [(f"{label}, {r:g} bits/s{kind}",
                        {"codec": method, "bits_per_second": r, "restore_bands": restore})
                       for r in rates for label, method in transforms for kind, restore in kinds]  # fmt: skip
    return tokens + within + transform_files


def dct_label(kwargs: dict, token_codec: str) -> str | None:
    """The label of the block DCT at the bits of the file ``kwargs`` write: after each file of ``token_codec``
    with its band powers kept; ``None`` after the others."""
    if kwargs["codec"] != token_codec or not kwargs["restore_bands"]:
        return None
    if "n_codebooks" in kwargs:
        return f"block DCT at the bits of the {kwargs['n_codebooks']}-codebook file"
    return f"block DCT at the bits of the {kwargs['bits_per_second']:g}-bits/s file"


def dct_at_the_same_bits(raw, bits_per_second: float, label: str, codec) -> dict:
    """The block DCT of each channel of ``raw`` within ``bits_per_second`` per channel, at ``codec``'s rate and
    preprocessing; its figures."""
    from mne_dac.evaluation.baselines import make_coder

    n_channel_seconds = len(raw.ch_names) * raw.n_times / raw.info["sfreq"]
    t0 = time.perf_counter()
    decoded, coded = make_coder("dct", bits_per_second, sfreq=codec.sfreq).code_raw(raw, codec.preprocessing)
    spent = coded.n_bits / coded.duration / coded.n_channels
    return _figures(raw, decoded, label, spent, spent, n_channel_seconds / (time.perf_counter() - t0), float("nan"))


def _figures(raw, decoded, label: str, nominal: float, in_file: float, write: float, read: float) -> dict:
    """A row of the table: ``decoded`` scored against ``raw``."""
    report = fidelity_report(raw, decoded, codec_sfreq=256.0, verbose="error").overall
    return dict(
        coder=label,
        nominal=nominal,
        in_file=in_file,
        **{k: float(report[k]) for k in ("prd", "snr_db", *(f"err_{b}" for b in BANDS), "spectrogram_loss")},
        write=write,
        read=read,
    )


def measure(raw, label: str, kwargs: dict, folder: Path) -> dict:
    """Write and read one file; its figures."""
    fname = folder / "rec.eegdac"
    n_channel_seconds = len(raw.ch_names) * raw.n_times / raw.info["sfreq"]
    t0 = time.perf_counter()
    mne_dac.write_raw_dac(fname, raw, overwrite=True, verbose="error", **kwargs)
    t1 = time.perf_counter()
    decoded = mne_dac.read_raw_dac(fname, verbose="error")
    t2 = time.perf_counter()
    header = read_header(fname)
    return _figures(raw, decoded, label, header.bits_per_second, header.coded_bits_per_second,
                    n_channel_seconds / (t1 - t0), n_channel_seconds / (t2 - t1))  # fmt: skip


def markdown(mean: pd.DataFrame) -> str:
    head = "| coder | bits/s per channel (nominal / in file) | PRD % | SNR dB | δ / θ / α / β error | spectrogram loss | write / read (ch·s/s) |"
    rows = [head, "|---|---|---:|---:|---|---:|---|"]
    for _, r in mean.iterrows():
        bands = " / ".join(f"{r[f'err_{b}']:.2f}" for b in BANDS)
        read = "–" if pd.isna(r["read"]) else f"{r['read']:.0f}"
        rows.append(
            f"| {r['coder']} | {r['nominal']:.4g} / {r['in_file']:.1f} | {r['prd']:.1f} | {r['snr_db']:.1f} | {bands} "
            f"| {r['spectrogram_loss']:.2f} | {r['write']:.0f} / {read} |"
        )
    return "\n".join(rows)


def plot_token_files(mean: pd.DataFrame):
    """PRD and β error against the bits/s per channel in the file: the token files (with band gains and the
    codec's decode) and the block DCT within each file's bits."""
    import matplotlib.pyplot as plt

    kinds = {
        "token files (band gains kept)": mean.coder.str.endswith(("codebook", "codebooks")),
        "token files, codec's decode": mean.coder.str.endswith("codec's decode"),
        "block DCT at each file's bits": mean.coder.str.startswith("block DCT at the bits"),
    }
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), layout="constrained")
    for (label, rows), marker in zip(kinds.items(), "osx"):
        points = mean[rows].sort_values("in_file")
        for ax, metric in zip(axes, ("prd", "err_beta")):
            ax.plot(points.in_file, points[metric], marker=marker, label=label)
    for ax, ylabel in zip(axes, ("PRD % (lower is better)", "β power error (lower is better)")):
        ax.set(xlabel="bits/s per channel in the file", ylabel=ylabel)
        ax.grid(alpha=0.3)
    axes[0].legend()
    return fig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/eegmat")
    parser.add_argument("--subjects", type=int, nargs="+", default=VALID_SUBJECTS)
    parser.add_argument("--seconds", type=float, default=None, help="first seconds of each recording (default: all)")
    parser.add_argument("--rates", type=float, nargs="+", default=[22, 44, 88, 176])
    parser.add_argument("--token-codec", default="default", help="the codec whose tokens are written (load_codec)")
    parser.add_argument("--token-depths", type=int, nargs="+", default=[2, 4], help="its numbers of codebooks")
    parser.add_argument("--codec-rates", type=float, nargs="+", default=[22, 30, 44],
                        help="bits/s per channel of the codec with its depth chosen per channel and 4 s")  # fmt: skip
    parser.add_argument("--coders", nargs="+", default=None, help="only the coders whose label starts with one of "
                        "these (e.g. 'KLT + codec'; default: all)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", type=Path, default=None)
    parser.add_argument("--plot", action="store_true", help="with --out-dir: also write file_coding.png")
    args = parser.parse_args()
    if args.plot and args.out_dir is None:
        parser.error("--plot writes file_coding.png to --out-dir: give --out-dir")
    every = coders(args.rates, args.token_codec, tuple(args.token_depths), tuple(args.codec_rates))
    measured = [(label, kwargs) for label, kwargs in every
                if args.coders is None or label.startswith(tuple(args.coders))]  # fmt: skip
    if not measured:
        parser.error(f"--coders: no coder's label starts with any of {args.coders}; the labels: "
                     + "; ".join(label for label, _ in every))  # fmt: skip
    torch.set_num_threads(args.threads)
    raws = read_recordings(args.data, args.subjects, args.seconds)
    token_codec = mne_dac.load_codec(args.token_codec, device="cpu", verbose="error")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, raw in raws.items():
            for label, kwargs in measured:
                rows.append({"recording": name, **measure(raw, label, kwargs, Path(tmp))})
                dct = dct_label(kwargs, args.token_codec)
                if dct is not None:  # the DCT at this file's bits
                    rows.append({"recording": name, **dct_at_the_same_bits(raw, rows[-1]["in_file"], dct, token_codec)})
            print(f"{name}: done", flush=True)
    per_recording = pd.DataFrame(rows)
    mean = per_recording.drop(columns="recording").groupby("coder", sort=False).mean().reset_index()
    table = markdown(mean)
    print(table)
    if args.out_dir is not None:
        args.out_dir.mkdir(parents=True, exist_ok=True)
        (args.out_dir / "file_coding.md").write_text(table + "\n")
        (args.out_dir / "file_coding.json").write_text(
            json.dumps(
                {
                    "recordings": list(raws),
                    "mean": mean.to_dict("records"),
                    "per_recording": per_recording.to_dict("records"),
                },
                indent=1,
            )  # fmt: skip
        )
        if args.plot:
            import matplotlib

            matplotlib.use("Agg")
            plot_token_files(mean).savefig(args.out_dir / "file_coding.png", dpi=150)


if __name__ == "__main__":
    main()
