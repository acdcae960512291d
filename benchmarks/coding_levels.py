"""EEG of any level: the default codec's tokens and files on a recording made quieter and louder.

The codec was trained on EEG of a few tens of µV and clips its input at ±200 µV; an ictal
recording or an artifact reaches millivolts, a montage of close electrodes a few µV. For each
validation recording of eegmat (subjects 20-23, both recordings, EEG channels high-passed at
0.1 Hz as every coder does) and each ``--levels`` factor, the recording multiplied by it is coded
at about ``--rate`` bits/s per channel by:

- the default codec's tokens (:func:`mne_dac.tokenize_raw` at the depth nearest the rate, band
  gains kept), with the paper's fixed scaling, with the clip level of the recording's
  level (:func:`mne_dac.preprocessing_at_level`) and with each channel's (``per_channel=True``, the
  default of a codec fitted at those levels, as the default codec);
- a file of the default codec within the rate (:func:`mne_dac.write_raw_dac` with
  ``bits_per_second``: each channel's depth chosen per 4 s), whose blocks scale each channel into
  the codec's level (:data:`~mne_dac.io.component_blocks.CODEC_RMS`);
- a ``"klt-codec"`` file (the shipped linear codec on the principal components, scaled alike);
- the block DCT of each channel (:class:`~mne_dac.signal.transform_coding.DCTCoder`), which has
  no level of its own (clipped at ±10 mV, as transform-coded files are).

The PRD of each (in Volts, against the scaled recording) is averaged over recordings and printed
as a Markdown table (``--out``: also to a file), a column per level: a coder that keeps its PRD
across the columns codes EEG of any level alike.

Usage::

    python benchmarks/coding_levels.py --data ../shared/data/eegmat --seconds 60 --threads 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import torch

import mne_dac
from mne_dac.evaluation.baselines import make_coder
from mne_dac.io.transform_blocks import TRANSFORM_PREPROCESSING
from mne_dac.signal.metrics import prd

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_codec import VALID_SUBJECTS, read_recordings


def coded(raw: mne.io.BaseRaw, codec: mne_dac.DACCodec, rate: float, tmp: Path) -> dict[str, np.ndarray]:
    """``raw``'s EEG as each coder decodes it, by the coder's label."""
    depth = int(np.clip(round(rate / (codec.bits_per_code * codec.frame_rate)), 1, codec.n_codebooks))
    out = {}
    for label, preprocessing in (
        ("", codec.preprocessing),
        (", clip at the recording's level", mne_dac.preprocessing_at_level(raw, codec)),
        (", each channel's level", mne_dac.preprocessing_at_level(raw, codec, per_channel=True)),
    ):
        tokens = mne_dac.tokenize_raw(raw, codec, n_codebooks=depth, preprocessing=preprocessing, verbose="error")
        out[f"tokens, {depth} codebooks{label}"] = mne_dac.reconstruct_raw(tokens, codec, verbose="error").get_data()
    for label, coder in ((f"file within {rate:g} bits/s", codec), (f"klt-codec file, {rate:g} bits/s", "klt-codec")):
        fname = mne_dac.write_raw_dac(tmp / "x.eegdac", raw, coder, bits_per_second=rate, overwrite=True,
                                      verbose="error")  # fmt: skip
        out[label] = mne_dac.read_raw_dac(fname, verbose="error").get_data()
    recon, _ = make_coder("dct", rate, codec.sfreq).code_raw(raw, TRANSFORM_PREPROCESSING)  # clipped at 10 mV
    out[f"block DCT, {rate:g} bits/s"] = recon.get_data()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/eegmat")
    parser.add_argument("--subjects", type=int, nargs="+", default=VALID_SUBJECTS)
    parser.add_argument("--seconds", type=float, default=60.0, help="first seconds of each recording")
    parser.add_argument("--levels", type=float, nargs="+", default=[0.2, 0.5, 1, 2, 5, 30],
                        help="factors the recordings are multiplied by")  # fmt: skip
    parser.add_argument("--rate", type=float, default=44.0, help="bits/s per channel")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here (Markdown)")
    args = parser.parse_args()
    mne.set_log_level("error")  # the tokens' clipping is what the table shows
    torch.set_num_threads(args.threads)
    codec = mne_dac.load_codec("default", device="cpu", verbose="error")
    raws = read_recordings(args.data, args.subjects, args.seconds)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, raw in raws.items():
            eeg = raw.copy().pick("eeg")
            for level in args.levels:
                scaled = mne.io.RawArray(eeg.get_data() * level, eeg.info, verbose="error")
                for label, decoded in coded(scaled, codec, args.rate, Path(tmp)).items():
                    rows.append(dict(coder=label, level=level, prd=prd(scaled.get_data().ravel(), decoded.ravel())))
            print(f"{name}: done", flush=True)
    table = pd.DataFrame(rows).pivot_table(index="coder", columns="level", values="prd", sort=False)
    table.columns = [f"PRD % at ×{level:g}" for level in table.columns]
    markdown = table.reset_index().to_markdown(index=False, floatfmt=".1f")
    print(markdown)
    if args.out is not None:
        args.out.write_text(markdown + "\n")


if __name__ == "__main__":
    main()
