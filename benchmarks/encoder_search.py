"""What the encoder search buys: the codec's error with DAC's greedy codes and with searched codes.

On eegmat's validation recordings (the first ``--seconds`` of both recordings of each subject,
EEG channels, high-passed at the codec's cutoff, as in ``evaluate_codec.py``), each depth is
coded with the codec's nearest-entry lookup (``search=0``) and with the analysis-by-synthesis
search (``search=N``, :mod:`mne_dac.models.code_search`), and by the block DCT at the same bits
per second per channel. Searched codes decode with the same decoder and take the same nominal
bits. The tokens are also written as an ``.eegdac`` file would hold them (entropy-coded, see
:func:`mne_dac.write_tokens`): "in file" is what they take there, and the block DCT is run a
second time at the searched tokens' rate in the file (its own bits are what its LZMA payload
takes). Prints a Markdown table (PRD, band-power errors, encoding speed), averaged over
recordings.

Usage::

    python benchmarks/encoder_search.py --search 4 --depths 1 2 --threads 2 [--out search.md]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import evaluate_codec  # benchmarks/evaluate_codec.py: the script's folder is on sys.path
import numpy as np
import pandas as pd
import torch

import mne_dac
from mne_dac.evaluation.baselines import make_coder
from mne_dac.io.container import read_header
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
    codec = mne_dac.load_codec(args.codec)
    raws = evaluate_codec.read_recordings(args.data, args.subjects, args.seconds, codec.preprocessing.highpass)
    rows = []

    def row(coder: str, depth: int, bits: float, in_file: float, raw, reconstruction, speed: float = np.nan) -> dict:
        overall = fidelity_report(raw, reconstruction, codec_sfreq=codec.sfreq, verbose="error").overall
        return dict(coder=coder, depth=depth, bits=bits, in_file=in_file, prd=overall["prd"], speed=speed,
                    **{b: overall[f"err_{b}"] for b in evaluate_codec.BANDS})  # fmt: skip

    def dct_row(coder: str, depth: int, bits: float, raw) -> dict:
        reconstruction, coded = make_coder("dct", bits, codec.sfreq).code_raw(raw, codec.preprocessing)
        return row(coder, depth, coded.bits_per_second, coded.bits_per_second, raw, reconstruction)

    for name, raw in raws.items():
        for depth in args.depths:
            rows.append(dct_row("block DCT", depth, codec.bits_per_second(depth), raw))
            for search in (0, args.search):
                codec.search = search
                t0 = time.perf_counter()
                tokens = mne_dac.tokenize_raw(raw, codec, n_codebooks=depth, restore_bands=False, verbose="error")
                speed = len(raw.ch_names) * raw.times[-1] / (time.perf_counter() - t0)
                reconstruction = mne_dac.reconstruct_raw(tokens, codec, verbose="error")
                with tempfile.TemporaryDirectory() as tmp:
                    in_file = read_header(mne_dac.write_tokens(Path(tmp) / "t.eegdac", tokens, codec=codec))
                rows.append(row(f"codec, search={search}", depth, codec.bits_per_second(depth),
                                in_file.coded_bits_per_second, raw, reconstruction, speed))  # fmt: skip
            rows.append(dct_row("block DCT at the file's rate", depth, in_file.coded_bits_per_second, raw))
        print(f"{name}: done", flush=True)
    mean = pd.DataFrame(rows).groupby(["depth", "coder"], sort=False).mean().reset_index()
    lines = [
        "| depth | coder | bits/s per channel (nominal / in file) | PRD % | δ / θ / α / β error "
        "| encoding (channel-s/s) |",
        "|---:|---|---:|---:|---|---:|",
    ]
    for _, r in mean.sort_values(["depth"], kind="stable").iterrows():
        bands = " / ".join(f"{r[b]:.2f}" for b in evaluate_codec.BANDS)
        speed = "–" if np.isnan(r.speed) else f"{r.speed:.0f}"
        lines.append(f"| {r.depth} | {r.coder} | {r.bits:.1f} / {r.in_file:.1f} | {r.prd:.1f} | {bands} | {speed} |")
    lines.append(f"\n{len(raws)} recordings × {args.seconds:g} s, {codec.identity.describe()}, "
                 f"{args.threads} torch threads.")  # fmt: skip
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
