"""Near-lossless archiving: bits per second per channel against the guaranteed error bound.

For each recording and bound, the EEG channels are coded five ways, every sample within the
bound (bit-exact at 0), at the recording's own rate:

- ``mne-dac``: :func:`mne_dac.write_raw_dac` with ``max_error``: tokens plus the residual layer
  (all the EEG bytes of the file: tokens and residual);
- ``mne-dac, KLT + DCT base``: ``write_raw_dac(codec="klt-dct", max_error=...)``: the block DCT of
  the channels' principal components as the base, at the rate of
  :data:`~mne_dac.io.transform_blocks.BASE_RATES` that makes three 16-s excerpts smallest (all the EEG
  bytes of the file: base, directions and residual);
- ``same coder, no codec``: the residual layer's coder on the signal alone (no tokens, the
  codec's reconstruction not subtracted): does subtracting the codec help?
- ``FLAC of quantised``: ``round(x / 2·bound)`` per channel as FLAC (FLAC's highest level; 24-bit
  where 16 do not hold it), or FLAC of the file's integers at 0;
- ``JPEG-LS-style``: near-lossless prediction with error feedback on the file's integers
  (LOCO-I's scheme in one dimension: a fixed predictor of order 1 or 2 from the reconstructed
  past, whichever codes smaller per channel, bias correction and adaptive Golomb–Rice codes
  per context of local gradients; NEAR is the largest integer error within the bound; no run
  mode). Its size is the exact length of its codes.

Against FLAC of the file's 16-bit integers (lossless, at FLAC's highest level, as
:class:`mne_dac.evaluation.baselines.LosslessCoder` codes them). Recordings: eegmat validation
subjects (``--subjects``, default 20–23, both sessions) and the clinical-style files in the tests' data.

Usage::

    python benchmarks/residual_bound.py --data ../shared/data/eegmat --out residual_bound.json --threads 2

The whole table takes hours on 2 cores; ``--resume`` continues a stopped run from its ``--out``.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
from pathlib import Path

import numpy as np

BOUNDS_UV = (0.0, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
TEST_DATA = Path(__file__).parents[1] / "tests" / "data"


def recordings(data: Path, subjects: list[int]) -> dict:
    """The recordings: name -> Raw (EEG channels only, integer files)."""
    import mne

    out = {}
    for subject in subjects:
        for session in (1, 2):
            raw = mne.io.read_raw_edf(data / f"Subject{subject}_{session}.edf", preload=True, verbose="error")
            out[f"eegmat {subject}_{session}"] = raw.pick(
                [n for n in raw.ch_names if n not in ("EEG A2-A1", "ECG ECG")]
            )
    out["eegmmidb (64 ch, 128 Hz)"] = mne.io.read_raw_edf(TEST_DATA / "eegmmidb_excerpt_S_R_128Hz.edf", preload=True,
                                                          verbose="error")  # fmt: skip
    nk = mne.io.read_raw_nihon(TEST_DATA / "MB0400FU.EEG", preload=True, verbose="error")
    out["Nihon Kohden (clinical, 200 Hz)"] = nk.pick("eeg")
    return out


def flac_bits(k: np.ndarray, sfreq: float) -> int:
    """Bits of FLAC (its highest level) of integer channels: mne-dac's lossless baseline, 24-bit beyond 16."""
    import soundfile

    from mne_dac.evaluation.baselines import LosslessCoder

    if np.abs(k).max(initial=0) < 2**15:
        return LosslessCoder("flac").encode(k.astype(np.int16), sfreq).n_bits
    bits = 0
    for channel in k:
        buf = io.BytesIO()
        soundfile.write(buf, (channel.astype(np.int32) << 8), int(round(sfreq)), format="FLAC", subtype="PCM_24",
                        compression_level=1.0)  # fmt: skip
        bits += 8 * len(buf.getvalue())
    return bits


def jpegls_bits(k: np.ndarray, near: int) -> int:
    """Exact code length of 1-D near-lossless LOCO-I-style coding of integers ``k`` (error <= ``near``)."""
    import numba

    @numba.njit(cache=True)
    def run(x, near, order):
        step = 2 * near + 1
        n_ctx = 9 * 9
        a = np.full(n_ctx, 4, dtype=np.int64)
        b = np.zeros(n_ctx, dtype=np.int64)
        c = np.zeros(n_ctx, dtype=np.int64)
        nn = np.ones(n_ctx, dtype=np.int64)
        r = np.zeros(len(x), dtype=np.int64)  # reconstruction
        bits = 0
        thresholds = np.array([-21, -7, -3, -1, 0, 1, 3, 7, 21])
        for i in range(len(x)):
            r1 = r[i - 1] if i >= 1 else 0
            r2 = r[i - 2] if i >= 2 else r1
            r3 = r[i - 3] if i >= 3 else r2
            g1, g2 = (r1 - r2) // step, (r2 - r3) // step
            q1 = np.searchsorted(thresholds, g1)
            q2 = np.searchsorted(thresholds, g2)
            ctx = min(q1, 8) * 9 + min(q2, 8)
            pred = (2 * r1 - r2 if order == 2 else r1) + c[ctx]
            err = x[i] - pred
            qerr = (abs(err) + near) // step * (1 if err >= 0 else -1)
            r[i] = pred + qerr * step
            kk = 0
            while (nn[ctx] << kk) < a[ctx]:
                kk += 1
            mapped = 2 * qerr if qerr >= 0 else -2 * qerr - 1
            bits += min((mapped >> kk) + 1 + kk, 32 + 24)
            a[ctx] += abs(qerr)
            b[ctx] += qerr
            nn[ctx] += 1
            if nn[ctx] == 64:
                a[ctx] >>= 1
                b[ctx] >>= 1
                nn[ctx] >>= 1
            if b[ctx] <= -nn[ctx]:
                c[ctx] -= 1
                b[ctx] += nn[ctx]
            elif b[ctx] > 0:
                c[ctx] += 1
                b[ctx] -= nn[ctx]
        return bits

    return int(
        sum(min(run(channel.astype(np.int64), near, 1), run(channel.astype(np.int64), near, 2)) for channel in k)
    )


def measure(name: str, raw, codec, bounds_uv) -> list[dict]:
    """The rows of one recording."""
    from mne_dac import write_raw_dac
    from mne_dac.io.container import read_header
    from mne_dac.io.residual import encode_residual
    from mne_dac.io.side_channels import reader_grids

    x, sfreq = raw.get_data(), raw.info["sfreq"]
    grids = reader_grids(raw, range(len(raw.ch_names)))
    k = np.stack([g.integers(ch) for g, ch in zip(grids, x)]).astype(np.int64)
    steps = np.array([g.step * g.scale for g in grids])
    channel_seconds = x.shape[0] * x.shape[1] / sfreq
    flac = flac_bits(k, sfreq) / channel_seconds
    block = int(16 * sfreq)
    rows = []
    for bound_uv in bounds_uv:
        bound = bound_uv * 1e-6
        with tempfile.TemporaryDirectory() as tmp:
            fname = write_raw_dac(Path(tmp) / "rec.eegdac", raw, codec=codec, max_error=bound, verbose="error")
            header = read_header(fname)
        ours = 8 * (header.token_bytes + header.residual_bytes) / channel_seconds
        with tempfile.TemporaryDirectory() as tmp:
            fname = write_raw_dac(Path(tmp) / "rec.eegdac", raw, codec="klt-dct", max_error=bound, verbose="error")
            transform = read_header(fname)
        klt = 8 * (transform.token_bytes + transform.residual_bytes + 2 * transform.transform.directions.size)
        alone = sum(len(encode_residual(x[:, s : s + block], None, bound, margin=0.0, grids=grids))
                    for s in range(0, x.shape[1], block)) * 8 / channel_seconds  # fmt: skip
        if bound == 0:
            flac_q = flac
        else:
            flac_q = flac_bits(np.rint(x / (2 * bound * (1 - 2.0**-20))), sfreq) / channel_seconds
        near = np.floor(bound / steps + 1e-9).astype(np.int64)
        jls = sum(jpegls_bits(k[i : i + 1], int(near[i])) for i in range(len(k))) / channel_seconds
        rows.append(dict(recording=name, bound_uv=bound_uv, flac_lossless=flac, mne_dac=ours,
                         tokens=8 * header.token_bytes / channel_seconds, klt_dct_base=klt / channel_seconds,
                         klt_dct_rate=transform.bits_per_second, same_coder_no_codec=alone,
                         flac_quantised=flac_q, jpegls_style=jls))  # fmt: skip
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    import torch

    from mne_dac import load_codec

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / "data" / "eegmat")
    parser.add_argument("--codec", default="default")
    parser.add_argument("--subjects", type=int, nargs="*", default=[20, 21, 22, 23],
                        help="eegmat subjects (none: the clinical-style files only)")  # fmt: skip
    parser.add_argument("--bounds", type=float, nargs="+", default=list(BOUNDS_UV), help="bounds in µV")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("residual_bound.json"))
    parser.add_argument("--plot", type=Path, default=None, help="save the rate–bound curve (PNG)")
    parser.add_argument("--replot", action="store_true", help="print and plot the rows of --out, measuring nothing")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows of --out and measure only the recordings and bounds it lacks")  # fmt: skip
    args = parser.parse_args()
    if args.replot:
        rows = json.loads(args.out.read_text())
        print_table(rows)
        if args.plot:
            plot(rows, args.plot)
        return
    torch.set_num_threads(args.threads)
    codec = load_codec(args.codec)
    rows = json.loads(args.out.read_text()) if args.resume and args.out.exists() else []
    done = {(row["recording"], row["bound_uv"]) for row in rows}
    for name, raw in recordings(args.data, args.subjects).items():
        bounds = [bound for bound in args.bounds if (name, bound) not in done]
        if bounds:
            rows += measure(name, raw, codec, bounds)
            args.out.write_text(json.dumps(rows, indent=1))  # after each recording: a stopped run keeps them
    print_table(rows)
    if args.plot:
        plot(rows, args.plot)


def _means(rows: list[dict], eegmat: bool) -> dict:
    """Mean of each column over the recordings (eegmat's, or the others), per bound."""
    keys = (
        "flac_lossless",
        "mne_dac",
        "tokens",
        "klt_dct_base",
        "same_coder_no_codec",
        "flac_quantised",
        "jpegls_style",
    )
    chosen = [r for r in rows if r["recording"].startswith("eegmat") == eegmat]
    out = {}
    for bound in sorted({r["bound_uv"] for r in chosen}):
        at = [r for r in chosen if r["bound_uv"] == bound]
        out[bound] = {key: float(np.mean([r[key] for r in at])) for key in keys}
    return out


def print_table(rows: list[dict]) -> None:
    """Markdown tables: eegmat's validation subjects (mean), then each other recording."""
    head = ("| bound (µV) | FLAC lossless | mne-dac: tokens + residual | × smaller than FLAC | of which residual "
            "| mne-dac: KLT + DCT base + residual | × smaller than FLAC | same coder, no codec | FLAC of quantised "
            "| JPEG-LS-style |\n|---|---|---|---|---|---|---|---|---|---|")  # fmt: skip

    def line(bound: float, m: dict) -> str:
        flac = m["flac_lossless"]
        return (f"| {bound:g} | {flac:.0f} | {m['mne_dac']:.0f} | {flac / m['mne_dac']:.2f} "
                f"| {m['mne_dac'] - m['tokens']:.0f} | {m['klt_dct_base']:.0f} | {flac / m['klt_dct_base']:.2f} "
                f"| {m['same_coder_no_codec']:.0f} | {m['flac_quantised']:.0f} | {m['jpegls_style']:.0f} |")  # fmt: skip

    eegmat = sorted({r["recording"] for r in rows if r["recording"].startswith("eegmat")})
    if eegmat:
        print(f"\n**eegmat, validation recordings {', '.join(n.split()[1] for n in eegmat)} (mean bits/s per channel)**"
              "\n\n" + head)  # fmt: skip
    for bound, m in _means(rows, True).items():
        print(line(bound, m))
    for name in sorted({r["recording"] for r in rows if not r["recording"].startswith("eegmat")}):
        print(f"\n**{name}** (bits/s per channel)\n\n" + head)
        for r in rows:
            if r["recording"] == name:
                print(line(r["bound_uv"], r))


def plot(rows: list[dict], fname: Path) -> None:
    """Bits/s per channel against the bound, a panel per data set (eegmat's mean, each other recording): mne-dac
    against the other coders, and the sizes 2× (at 0.5 and 1 µV) and 5× (at 5 µV) smaller than FLAC lossless."""
    import matplotlib.pyplot as plt

    eegmat = _means(rows, True)
    panels = [("eegmat validation recordings (mean)", eegmat)] if eegmat else []
    for name in sorted({r["recording"] for r in rows if not r["recording"].startswith("eegmat")}):
        panels.append((name, {r["bound_uv"]: r for r in rows if r["recording"] == name}))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.6), layout="constrained", squeeze=False)
    for ax, (title, means) in zip(axes[0], panels):
        bounds = sorted(b for b in means if b > 0)
        for key, label, style in [("mne_dac", "mne-dac: tokens + residual", "o-"),
                                  ("klt_dct_base", "mne-dac: KLT + DCT base + residual", "D-"),
                                  ("same_coder_no_codec", "same coder, no codec", "s--"),
                                  ("flac_quantised", "FLAC of quantised", "^-"),
                                  ("jpegls_style", "JPEG-LS-style", "v-")]:  # fmt: skip
            ax.plot(bounds, [means[b][key] for b in bounds], style, label=label)
        flac = means[min(means)]["flac_lossless"]
        ax.axhline(flac, color="k", lw=1, label="FLAC lossless (16-bit)")
        if 0 in means:
            ax.axhline(means[0]["klt_dct_base"], color="C1", lw=1, ls=":", label="mne-dac bit-exact (KLT + DCT)")
        targets = [(b, flac / ratio) for b, ratio in ((0.5, 2), (1, 2), (5, 5)) if b in means]
        ax.plot(*zip(*targets), "kx", ms=9, mew=2, label="2× and 5× smaller than FLAC")
        ax.set(xscale="log", yscale="log", xlabel="guaranteed bound on every sample (µV)", title=title)
        ax.title.set_fontsize(10)
    axes[0, 0].set_ylabel("bits/s per channel")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncols=4, fontsize=8)
    fig.savefig(fname, dpi=120)


if __name__ == "__main__":
    main()
