"""What the encoder search buys: the codec's error with DAC's greedy codes and with searched codes.

On eegmat's validation recordings (the first ``--seconds`` of both recordings of each subject,
EEG channels, high-passed at the codec's cutoff, as in ``evaluate_codec.py``), each depth is
coded with the codec's nearest-entry lookup (``search=0``) and with the analysis-by-synthesis
search (``search=N``, :mod:`mne_dac.models.code_search`), and by the block DCT at the same bits
per second per channel. Searched codes decode with the same decoder and take the same bits.
Prints a Markdown table (PRD, band-power errors, encoding speed), averaged over recordings.

Usage::

    python benchmarks/encoder_search.py --search 4 --depths 1 2 --threads 2 [--out search.md]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import evaluate_codec  # benchmarks/evaluate_codec.py: the script's folder is on sys.path
import numpy as np
import pandas as pd
import torch

import mne_dac
from mne_dac.evaluation.baselines import rate_quality
from mne_dac.signal.metrics import fidelity_report

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="default", help="codec name or file (load_codec)")
    parser.add_argument("--search", type=int, default=4, help="entries tried per codebook")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "eegmat")
    parser.add_argument("--subjects", type=int, nargs="+", default=evaluate_codec.VALID_SUBJECTS)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    codecs = {0: mne_dac.load_codec(args.codec), args.search: mne_dac.load_codec(args.codec, search=args.search)}
    codec = codecs[0]
    raws = evaluate_codec.read_recordings(args.data, args.subjects, args.seconds, codec.preprocessing.highpass)
    rows = []
    for name, raw in raws.items():
        dct = rate_quality(raw, codec, args.depths, baselines=("dct",), preprocessing_row=False, verbose="error")
        for _, row in dct[dct.method == "dct"].iterrows():
            rows.append(dict(coder="block DCT", depth=row.n_codebooks, bits=row.bits_per_second, prd=row.prd,
                             **{b: row[f"err_{b}"] for b in evaluate_codec.BANDS}, speed=np.nan))  # fmt: skip
        for search, searched_codec in codecs.items():
            for depth in args.depths:
                t0 = time.perf_counter()
                tokens = mne_dac.tokenize_raw(raw, searched_codec, n_codebooks=depth, verbose="error")
                seconds = time.perf_counter() - t0
                report = fidelity_report(raw, mne_dac.reconstruct_raw(tokens, verbose="error"),
                                         codec_sfreq=codec.sfreq, verbose="error")  # fmt: skip
                overall = report.overall
                rows.append(dict(coder=f"codec, search={search}", depth=depth, bits=codec.bits_per_second(depth),
                                 prd=overall["prd"], **{b: overall[f"err_{b}"] for b in evaluate_codec.BANDS},
                                 speed=len(raw.ch_names) * raw.times[-1] / seconds))  # fmt: skip
        print(f"{name}: done", flush=True)
    mean = pd.DataFrame(rows).groupby(["depth", "coder"], sort=False).mean().reset_index()
    lines = [
        "| depth | coder | bits/s per channel | PRD % | δ / θ / α / β error | encoding (channel-s/s) |",
        "|---:|---|---:|---:|---|---:|",
    ]
    for _, r in mean.sort_values(["depth"], kind="stable").iterrows():
        bands = " / ".join(f"{r[b]:.2f}" for b in evaluate_codec.BANDS)
        speed = "–" if np.isnan(r.speed) else f"{r.speed:.0f}"
        lines.append(f"| {r.depth} | {r.coder} | {r.bits:.1f} | {r.prd:.1f} | {bands} | {speed} |")
    lines.append(f"\n{len(raws)} recordings × {args.seconds:g} s, {codec.identity.describe()}, "
                 f"{args.threads} torch threads.")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
