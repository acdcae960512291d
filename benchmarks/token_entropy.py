"""What entropy coding saves on the tokens, and what each conditioning adds.

Encodes eegmat's validation subjects (20-23, both sessions, EEG only) with a codec (default:
the shipped one) and reports bits per code and bits/s per channel:

- nominal: ``log2(codebook_size)`` per code (version 1's bit packing);
- each codebook coded given the same codebook of the previous channel in the file's order;
- given the parent in the Chow-Liu tree (first codebook: the parent's latent; finer ones: the
  parent's latent minus the stream's own coarser codebooks), as written (ANS payload, all
  bits counted, the model fitted on each file's first 256 frames).

Usage::

    python benchmarks/token_entropy.py --data ../shared/data/eegmat [--codec default] [--threads 2]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def main() -> None:
    import mne
    import torch

    from mne_dac import load_codec, tokenize_raw
    from mne_dac.io.token_coding import (
        TokenModel,
        TokenTables,
        _keys,
        _rank_bits,
        _ranks,
        encode_tokens,
        fit_token_model,
    )

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data" / "eegmat")
    parser.add_argument("--codec", default="default")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    codec = load_codec(args.codec)
    tables = TokenTables.from_codec(codec)
    size, nominal = codec.codebook_size, np.log2(codec.codebook_size)
    totals = {"nominal": 0.0, "previous channel": 0.0, "tree (as written)": 0.0}
    per_q = {"previous channel": np.zeros(codec.n_codebooks), "tree": np.zeros(codec.n_codebooks)}
    n_codes = n_seconds_channels = 0
    for fname in sorted(args.data.glob("Subject2[0-3]_?.edf")):
        raw = mne.io.read_raw_edf(fname, preload=True, verbose="error")
        raw.drop_channels([c for c in ("ECG ECG", "EEG A2-A1") if c in raw.ch_names])
        codes = tokenize_raw(raw, codec, n_codebooks=codec.n_codebooks, restore_bands=False, verbose="error").codes
        n_streams, n_q, n_frames = codes.shape
        chain = TokenModel([-1, *range(n_streams - 1)], [], tables.sha256)
        tree = fit_token_model(codes, tables)
        for name, model in (("previous channel", chain), ("tree", tree)):
            for c, p in enumerate(model.parents):
                for q in range(n_q):
                    bits = n_frames * nominal if p < 0 else _rank_bits(
                        _ranks(_keys(tables, q, codes[p], codes[c, :q]), codes[c, q]), size
                    )  # fmt: skip
                    per_q[name][q] += bits
        written = sum(8 * len(encode_tokens(codes[:, :, s : s + 64], tree, tables)) for s in range(0, n_frames, 64))
        totals["tree (as written)"] += written
        totals["nominal"] += codes.size * nominal
        n_codes += n_streams * n_frames
        n_seconds_channels += n_streams * n_frames / codec.frame_rate
        print(f"{fname.name}: {written / (n_streams * n_frames / codec.frame_rate):.1f} bits/s per channel "
              f"(nominal {codec.bits_per_second():g})", flush=True)  # fmt: skip
    totals["previous channel"] = per_q["previous channel"].sum()
    print(f"\n{n_codes} frames × {codec.n_codebooks} codebooks, codec {codec.identity.describe()}\n")
    print("| conditioning | " + " | ".join(f"codebook {q + 1} bits/code" for q in range(codec.n_codebooks))
          + " | bits/s per channel | vs nominal |")  # fmt: skip
    print("|---|" + "---|" * (codec.n_codebooks + 2))
    rate = {k: v / n_seconds_channels for k, v in totals.items()}
    print(f"| none (nominal) | {' | '.join(f'{nominal:.2f}' for _ in range(codec.n_codebooks))} | "
          f"{rate['nominal']:.1f} | – |")  # fmt: skip
    key = "previous channel"
    print(f"| previous channel in the file (ideal code length) | {' | '.join(f'{b / n_codes:.2f}' for b in per_q[key])} "
          f"| {rate[key]:.1f} | {100 * (rate[key] / rate['nominal'] - 1):+.1f} % |")  # fmt: skip
    tree_q = " | ".join(f"{b / n_codes:.2f}" for b in per_q["tree"])
    print(
        f"| Chow-Liu tree, as written (ANS, all bits) | {tree_q} (ideal) | {rate['tree (as written)']:.1f} | "
        f"{100 * (rate['tree (as written)'] / rate['nominal'] - 1):+.1f} % |"
    )


if __name__ == "__main__":
    main()
