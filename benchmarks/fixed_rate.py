"""What a fixed rate per frame costs: why the codec trails the block DCT at low rates.

The DAC codec spends the same bits on every frame of every channel (``k`` codes of
``log2(codebook_size)`` bits). The block DCT spends them where the energy is: one quantiser
step for the whole recording, its coefficients entropy-coded, so loud blocks take more bits
than quiet ones. This script measures what each coder gains or loses under the other's rule,
on eegmat's validation recordings, in the codec's domain (after the preprocessing, which every
coder shares), at each rate in bits/s per channel:

- **block DCT, Laplacian entropy coder**: each frequency's quantised coefficients coded with a
  Laplacian fitted to the recording (its scales not counted), blocks of one codec frame and of
  one second; *variable rate*: one step for the recording; *fixed rate*: each block its own
  step, the largest whose code fits the same bits in every block (the steps not counted);
- **block DCT**: :class:`~mne_dac.signal.transform_coding.DCTCoder`, every bit of its payload
  counted (the model card's baseline, 1-s blocks);
- **codec, same depth everywhere** (fixed rate): the codec as it codes at that depth;
- **codec, depth per channel and segment**: every channel's depth (0 to all codebooks) chosen
  per segment so that the squared error is smallest within the rate
  (:func:`mne_dac.codecs.spatial.allocate_depths`), the depths coded adaptively (see below);
  the codes either at their nominal ``log2(codebook_size)`` bits, or, like the DCT's
  coefficients, by an adaptive coder of each codebook's codes in the recording: the code length
  of a Krichevsky–Trofimov estimator, within 2 bits of what an arithmetic coder that learns the
  frequencies as it goes writes. (A recording's empirical entropy is no such rate: a minute of
  codes is too few to learn the frequencies of 2048 entries, and it undercounts them by up to
  3 bits per code.) The depths choose among the first codes of the deepest code; for a codec whose
  encoder searches its first codes together (``beam_codebooks``), a third row lets each depth below
  its nested depth take the codes searched for that depth, as tokens at that depth hold them;
- with ``--search N``, the codec's codes come from its encoder search at depth 2 (``load_codec(...,
  search=N)``), the finer codebooks greedy given them.

Usage::

    python benchmarks/fixed_rate.py --rates 44 88 [--codec default] [--search 4] [--threads 2]
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import evaluate_codec  # benchmarks/evaluate_codec.py: the script's folder is on sys.path
import numpy as np
import pandas as pd
import torch
from scipy.fft import dct
from scipy.special import gammaln

import mne_dac
from mne_dac.codecs.spatial import allocate_depths, codes_at_each_depth, codes_of_depths, segment_errors
from mne_dac.evaluation.baselines import make_coder
from mne_dac.signal.preprocessing import to_codec_domain

HERE = Path(__file__).resolve().parent


def adaptive_bits(symbols: np.ndarray, alphabet: int) -> float:
    """Bits of ``symbols`` (integers below ``alphabet``) through an adaptive coder: the Krichevsky–Trofimov
    estimator's code length, which learns the frequencies from the symbols coded before."""
    counts = np.bincount(np.asarray(symbols).ravel(), minlength=alphabet)
    nats = gammaln(counts.sum() + alphabet / 2) - gammaln(alphabet / 2) - (gammaln(counts + 0.5) - gammaln(0.5)).sum()
    return float(nats / np.log(2))


def laplacian_bits(q: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Code length of each integer of ``q`` under a discretised Laplacian of ``scale`` (in steps)."""
    rate = 1.0 / np.maximum(scale, 1e-6)
    tail = np.abs(q) * rate / np.log(2)  # -log2(decay ** |q|), finite where the decay underflows to 0
    return np.log2((1 + np.exp(-rate)) / -np.expm1(-rate)) + tail


def dct_squared_errors(x: np.ndarray, block: int, bits_per_block: float) -> tuple[float, float]:
    """Squared errors of the block DCT of ``x``: with one step for all blocks, spending ``bits_per_block`` on
    average; with a step per block, spending them in every block."""
    n_blocks = x.shape[1] // block
    coefs = dct(x[:, : n_blocks * block].reshape(x.shape[0], n_blocks, block), norm="ortho", axis=-1)
    scales = np.abs(coefs).mean(axis=(0, 1))

    def code(log2_step: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        step = 2.0**log2_step
        q = np.round(coefs / step)
        return laplacian_bits(q, scales / step).sum(-1), ((coefs - q * step) ** 2).sum(-1)

    def finest(spent: Callable[[np.ndarray], np.ndarray], shape: tuple[int, ...]) -> np.ndarray:
        lo, hi = np.full(shape, -30.0), np.full(shape, 10.0)  # bisection on log2 of the step
        for _ in range(50):
            mid = (lo + hi) / 2
            over = spent(mid) > bits_per_block
            lo, hi = np.where(over, mid, lo), np.where(over, hi, mid)
        return hi

    one_step = finest(lambda s: code(s)[0].mean(), ())
    per_block = finest(lambda s: code(s)[0][..., None], coefs.shape[:2] + (1,))
    return float(code(one_step)[1].sum()), float(code(per_block)[1].sum())


def allocated_squared_error(
    codec: mne_dac.DACCodec,
    x: np.ndarray,
    depth_codes: list[np.ndarray],
    frame_errors: np.ndarray,
    segment: int,
    bits: float,
    entropy_coded: bool,
) -> float:
    """Squared error of the codec with each channel's depth chosen per ``segment`` frames within ``bits``.

    ``depth_codes[d - 1]`` holds the codes of depth ``d`` (:func:`~mne_dac.codecs.spatial.codes_at_each_depth`),
    ``frame_errors[d]`` their squared error per channel and frame (depth 0: none).
    """
    n_q, n_frames = depth_codes[-1].shape[1:]
    starts = np.arange(0, n_frames, segment)
    frames_in = np.diff(np.append(starts, n_frames))
    errors = np.add.reduceat(frame_errors, starts, axis=2).reshape(n_q + 1, -1)
    unit_bits = np.tile(frames_in * codec.bits_per_code, len(x))

    def chosen_within(code_bits: float) -> tuple[np.ndarray, float]:
        """The codes of the depths chosen for ``code_bits``, and the bits they all take."""
        side = 0.0
        for _ in range(4):  # the depths' own bits come out of the budget
            depths = allocate_depths(errors, unit_bits, code_bits - side).reshape(len(x), -1)
            side = adaptive_bits(depths, n_q + 1)
        chosen = codes_of_depths(depth_codes, depths, frames_in)
        if not entropy_coded:
            return chosen, float((depths.ravel() * unit_bits).sum()) + side
        kept = chosen >= 0
        size = codec.codebook_size
        return chosen, side + sum(adaptive_bits(chosen[:, q][kept[:, q]], size) for q in range(n_q) if kept[:, q].any())

    lo, hi = 0.0, 4.0 * bits  # the most nominal bits whose total fits (the total grows with them)
    for _ in range(20):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if chosen_within(mid)[1] <= bits else (lo, mid)
    decoded = codec.decode(chosen_within(lo)[0], n_q, n_samples=x.shape[1])
    return float(((x - decoded) ** 2).sum())


def frame_errors_of(codec: mne_dac.DACCodec, x: np.ndarray, depth_codes: list[np.ndarray]) -> np.ndarray:
    """Squared error of each depth's codes against ``x`` (depth 0: none), per channel and frame."""
    return segment_errors(codec, depth_codes, x, np.ones((len(x), 1)), 1)


def searched_codes(codec: mne_dac.DACCodec, x: np.ndarray, n_candidates: int) -> np.ndarray:
    """All codebooks' codes of ``x``: the first two searched at depth 2, the finer ones greedy given them."""
    from mne_dac.models.code_search import _entry_latents, _nearest
    from mne_dac.models.quantizer import latents_from_codes

    codec.search = n_candidates
    first_two = torch.as_tensor(codec.encode(x, 2))
    codec.search = 0
    n_frames = first_two.shape[2]
    padded = torch.zeros(len(x), 1, n_frames * codec.hop_length)
    padded[:, 0, : x.shape[1]] = torch.as_tensor(x)
    with torch.no_grad():
        residual = codec.model.encoder(padded)[..., :n_frames] - latents_from_codes(codec.model.quantizer, first_two)
        codes = [first_two[:, 0], first_two[:, 1]]
        for vq in codec.model.quantizer.quantizers[2:]:
            codes.append(_nearest(vq, residual, 1)[..., 0])
            residual = residual - _entry_latents(vq, codes[-1])
    return torch.stack(codes, 1).numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="default", help="codec name or file (load_codec)")
    parser.add_argument("--rates", type=float, nargs="+", default=[44.0, 88.0], help="bits/s per channel")
    parser.add_argument("--segments", type=int, nargs="+", default=[1, 4], help="frames per depth choice")
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "eegmat")
    parser.add_argument("--subjects", type=int, nargs="+", default=evaluate_codec.VALID_SUBJECTS)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--search", type=int, default=0, help="encoder search at depth 2 (load_codec's search)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, help="also write the table here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    codec = mne_dac.load_codec(args.codec)
    raws = evaluate_codec.read_recordings(args.data, args.subjects, args.seconds, codec.preprocessing.highpass)
    hop, sfreq, per_codebook = codec.hop_length, codec.sfreq, codec.bits_per_second(1)
    rows = []
    for name, raw in raws.items():
        x = to_codec_domain(raw.get_data(), raw.info["sfreq"], sfreq, codec.preprocessing).data.astype(np.float64)
        n_channels, seconds = len(x), x.shape[1] / sfreq
        signals = x.astype(np.float32)
        searched = codes_at_each_depth(codec, signals)  # each depth as its encoder codes it
        codes = searched_codes(codec, signals, args.search) if args.search else searched[-1]
        depth_codes = [codes[:, :depth] for depth in range(1, codec.n_codebooks + 1)]  # the first codes of all
        frame_errors = frame_errors_of(codec, x, depth_codes)
        own = None
        if codec.nested_depth > 1:  # only the depths below the nested one differ
            own_errors = frame_errors.copy()
            own_errors[: codec.nested_depth] = frame_errors_of(codec, x, searched[: codec.nested_depth - 1])
            own = searched, own_errors

        def add(coder: str, rule: str, rate: float, squared_error: float, energy: float = (x**2).sum()) -> None:
            rows.append(dict(coder=coder, rule=rule, rate=rate, prd=100 * np.sqrt(squared_error / energy)))

        for rate in args.rates:
            for block, label in ((hop, f"{hop / sfreq:g}-s blocks"), (int(sfreq), "1-s blocks")):
                one_step, per_block = dct_squared_errors(x, block, rate * block / sfreq)
                energy = (x[:, : x.shape[1] // block * block] ** 2).sum()
                add(f"block DCT, {label}, Laplacian entropy coder", "one step (variable rate)", rate, one_step, energy)
                add(
                    f"block DCT, {label}, Laplacian entropy coder",
                    "a step per block (fixed rate)",
                    rate,
                    per_block,
                    energy,
                )
            reconstruction, _ = make_coder("dct", rate, sfreq=sfreq).code(x.astype(np.float32))
            add(
                "block DCT (DCTCoder, every bit counted)",
                "one step (variable rate)",
                rate,
                ((x - reconstruction) ** 2).sum(),
            )
            depth = int(rate / per_codebook)
            if float(rate / per_codebook).is_integer() and rate <= codec.bits_per_second():
                if depth < codec.nested_depth and not args.search:  # a beam search codes this depth for itself
                    add("codec", "same depth everywhere (fixed rate)", rate, own[1][depth].sum())
                else:
                    add("codec", "same depth everywhere (fixed rate)", rate, frame_errors[depth].sum())
            bits = rate * n_channels * seconds
            for segment in args.segments:
                where = f"depth per channel and {segment * hop / sfreq:g} s"
                error = allocated_squared_error(codec, x, depth_codes, frame_errors, segment, bits, entropy_coded=False)
                add("codec", f"{where}, codes at {codec.bits_per_code} bits", rate, error)
                error = allocated_squared_error(codec, x, depth_codes, frame_errors, segment, bits, entropy_coded=True)
                add("codec", f"{where}, codes coded adaptively", rate, error)
                if own is not None:
                    error = allocated_squared_error(codec, x, *own, segment, bits, entropy_coded=False)
                    add("codec", f"{where}, each depth searched for itself, codes at {codec.bits_per_code} bits",
                        rate, error)  # fmt: skip
        print(f"{name}: done", flush=True)
    mean = pd.DataFrame(rows).groupby(["coder", "rule", "rate"], sort=False)["prd"].mean().unstack("rate")
    lines = [
        "| coder | bits spent | " + " | ".join(f"PRD % at {r:g} bits/s" for r in mean.columns) + " |",
        "|---|---|" + "---:|" * len(mean.columns),
    ]
    for (coder, rule), prds in mean.iterrows():
        lines.append(f"| {coder} | {rule} | " + " | ".join("–" if np.isnan(p) else f"{p:.1f}" for p in prds) + " |")
    lines.append(f"\n{len(raws)} recordings × {args.seconds:g} s, in the codec's domain, {codec.identity.describe()}.")
    table = "\n".join(lines)
    print(table)
    if args.out:
        args.out.write_text(table + "\n")


if __name__ == "__main__":
    main()
