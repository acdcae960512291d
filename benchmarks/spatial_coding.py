"""Cross-channel and layered coding against per-channel coding and the block DCT, at equal bits/s.

On eegmat's validation subjects (both recordings, the first ``--seconds`` seconds, 19 EEG
channels, high-passed as the codec does), each recording is coded at each ``--rates`` bits/s per
channel, every bit counted:

- ``spatial``: :func:`mne_dac.codecs.spatial.encode_spatial`, the codec on the channels'
  principal components, each component and 4-s segment at the depth that the budget favours;
- ``layered``: :func:`mne_dac.codecs.layered.encode_layered`, that base at part of the rate and a
  cross-channel DCT of its residual at the rest, at the best of a few splits (all bits to either
  layer included);
- ``codec``: the codec on every channel at a fixed depth, where a depth spends that rate;
- ``dct``: the block DCT of :mod:`mne_dac.signal.transform_coding`, channel by channel;
- ``klt-dct``: the block DCT of the channels' principal components
  (:class:`mne_dac.signal.transform_coding.CrossChannelDCTCoder`), the classic cross-channel coder.

Reconstructions are mapped back to Volts and scored by
:func:`mne_dac.signal.metrics.fidelity_report` (PRD, relative band-power errors); metrics are
averaged over recordings. Prints a Markdown table; ``--out``, ``--json`` and ``--plot`` save the
table, the numbers and a PRD-against-rate plot; ``--from-json`` redoes the table and the plot.

Usage::

    python benchmarks/spatial_coding.py --data ../shared/data/eegmat --threads 2 \
        --out spatial.md --json spatial.json --plot spatial.png
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import mne
import numpy as np
import pandas as pd

import mne_dac
from mne_dac.codecs.layered import decode_layered, encode_layered
from mne_dac.codecs.spatial import decode_spatial, encode_spatial
from mne_dac.evaluation.baselines import make_coder
from mne_dac.signal.metrics import fidelity_report
from mne_dac.signal.preprocessing import from_codec_domain, to_codec_domain

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_codec import BANDS, ROOT, VALID_SUBJECTS, read_recordings

MEASURES = ["prd", *(f"err_{b}" for b in BANDS)]
METHODS = {
    "spatial": "cross-channel (spatial)",
    "layered": "layered (cross-channel codec + KLT-DCT)",
    "codec": "codec, each channel",
    "dct": "block DCT",
    "klt-dct": "KLT + block DCT",
}


def score(raw: mne.io.BaseRaw, codec_domain: np.ndarray, codec) -> dict[str, float]:
    """Fidelity of a codec-domain reconstruction, in Volts at the recording's rate."""
    volts = from_codec_domain(codec_domain, codec.sfreq, raw.info["sfreq"], raw.n_times, codec.preprocessing)
    rec = mne.io.RawArray(volts, raw.info, first_samp=raw.first_samp, verbose=False)
    overall = fidelity_report(raw, rec, codec_sfreq=codec.sfreq, clip=codec.preprocessing.clip, verbose=False).overall
    return {m: overall[m] for m in MEASURES}


def code_recording(raw: mne.io.BaseRaw, codec, rates: list[float]) -> list[dict]:
    """Rows of one recording: every method at every rate."""
    x = to_codec_domain(raw.get_data(), raw.info["sfreq"], codec.sfreq, codec.preprocessing, raw.ch_names).data
    n_channels, n_samples = x.shape
    seconds = n_samples / codec.sfreq
    codes = codec.encode(x, codec.n_codebooks)
    rows = []
    for rate in rates:
        code = encode_spatial(codec, x, rate)
        spent = code.n_bits(codec.bits_per_code) / (n_channels * seconds)
        rows.append(
            dict(method="spatial", rate=rate, bits_per_second=spent, **score(raw, decode_spatial(codec, code), codec))
        )
        layered = encode_layered(codec, x, rate)
        spent = layered.n_bits(codec.bits_per_code) / (n_channels * seconds)
        decoded = decode_layered(codec, layered)
        rows.append(dict(method="layered", rate=rate, bits_per_second=spent, **score(raw, decoded, codec)))
        depth = rate / codec.bits_per_second(1)
        if depth == int(depth) and 1 <= depth <= codec.n_codebooks:
            decoded = codec.decode(codes, int(depth), n_samples=n_samples)
            rows.append(dict(method="codec", rate=rate, bits_per_second=rate, **score(raw, decoded, codec)))
        for method in ("dct", "klt-dct"):
            decoded, n_bits = make_coder(method, rate, codec.sfreq).code(x)
            spent = n_bits / (n_channels * seconds)
            rows.append(dict(method=method, rate=rate, bits_per_second=spent, **score(raw, decoded, codec)))
    return rows


def main() -> None:
    import torch

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", default="../shared/data/eegmat", help="eegmat folder (relative to the repo root)")
    parser.add_argument("--codec", default="default")
    parser.add_argument("--rates", type=float, nargs="+", default=[22.0, 30.0, 44.0, 66.0, 88.0])
    parser.add_argument("--seconds", type=float, default=60.0, help="first seconds of each recording")
    parser.add_argument("--subjects", type=int, nargs="+", default=VALID_SUBJECTS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    parser.add_argument("--json", type=Path, help="write every number here")
    parser.add_argument("--plot", type=Path, help="write the PRD-against-rate plot here")
    parser.add_argument("--from-json", type=Path, help="only redo the table and the plot from a --json file")
    args = parser.parse_args()
    if args.from_json:
        results = json.loads(args.from_json.read_text())
    else:
        torch.set_num_threads(args.threads)
        results = measure(args)
    mean = pd.DataFrame(results["mean"])
    text = f"{results['setup']}\n\n{markdown(mean)}\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    if args.json and not args.from_json:
        args.json.write_text(json.dumps(results, indent=1))
    if args.plot:
        plot(mean, args.plot)


def measure(args: argparse.Namespace) -> dict:
    """Code every recording at every rate; return the setup line, the means and every row."""
    data = Path(args.data) if Path(args.data).is_absolute() else (ROOT / args.data).resolve()
    codec = mne_dac.load_codec(args.codec, verbose="error")
    raws = read_recordings(data, args.subjects, args.seconds, codec.preprocessing.highpass)
    t0 = time.perf_counter()
    rows = []
    for name, raw in raws.items():
        rows += [dict(recording=name, **row) for row in code_recording(raw, codec, args.rates)]
        print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    per_recording = pd.DataFrame(rows)
    mean = per_recording.groupby(["rate", "method"], sort=False)[["bits_per_second", *MEASURES]].mean().reset_index()
    setup = (
        f"Machine: {os.cpu_count()} cores ({args.threads} torch threads), {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}, {time.perf_counter() - t0:.0f} s. Codec `{codec.identity.name}`; eegmat "
        f"subjects {', '.join(map(str, args.subjects))}, both recordings, first {args.seconds:g} s, "
        f"{len(next(iter(raws.values())).ch_names)} channels; mean over the {len(raws)} recordings. Bits/s per "
        "channel, every bit counted (cross-channel: the directions, gains and depths too). "
        "`python benchmarks/spatial_coding.py`."
    )
    return dict(setup=setup, codec=repr(codec), mean=mean.to_dict(orient="records"), rows=rows)


def markdown(mean: pd.DataFrame) -> str:
    """The means as a Markdown table, one row per rate and method."""
    table = mean.assign(method=mean["method"].map(METHODS)).rename(
        columns=dict(
            rate="bits/s", bits_per_second="bits/s spent", prd="PRD %", **{f"err_{b}": f"{b} err" for b in BANDS}
        )
    )
    return table.to_markdown(index=False, floatfmt=".3g")


def plot(mean: pd.DataFrame, fname: Path) -> None:
    """PRD against bits/s per channel, one line per method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    for method, rows in mean.groupby("method", sort=False):
        style = dict(ls="--", marker="x", zorder=3) if method == "layered" else dict(marker="o")  # on top of its layers
        ax.plot(rows["bits_per_second"], rows["prd"], label=METHODS[method], **style)
    ax.set(xlabel="bits/s per channel", ylabel="PRD % (lower is better)", title="eegmat validation subjects")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(fname, dpi=150)


if __name__ == "__main__":
    main()
