"""Build a DAC that is a linear transform code of eegmat: the command line of mne-dac's builder.

Reads the training subjects' recordings and calls :func:`mne_dac.training.linear_code.build_linear_codec`
(what the codec is, and how its weights are set: that module's docstring), then writes the codec
as an mne-dac codec file: evaluate it like any other (``benchmarks/evaluate_codec.py --codec OUT``,
``benchmarks/fixed_rate.py --codec OUT``; with ``--group-size``, ``benchmarks/compare_sc_mc.py
--mc OUT``). It prints the PRD of the training frames after each codebook.

Entries that span a frame's whole latent (``--codebook-dim`` set to the hop) and a beam search
gain (eegmat's validation frames, hop 64, 2 codebooks, PRD of the frames: 8-value entries 36.1 %
greedy, 34.6 % with a beam of 8; 64-value entries 34.2 and 32.8 %; the shipped ``beam-2026.12``'s
model card has every step). ``--lapped`` codes each frame by the lapped transform of the two hops
centred on it (no block edges; with 4 greedy codebooks of 2048 entries, validation PRD 34.3 against
35.1 % at 88 bits/s).

Usage (the shipped ``linear-2026.12``, ``beam-2026.12`` and ``mc-pivot-2026.12c``)::

    python benchmarks/linear_code.py linear.pt [--data ../shared/data/eegmat] [--decoder-steps 600] [--n-codebooks 16]
    python benchmarks/linear_code.py beam.pt --encoder-rates 2 4 4 4 --codebook-dim 128 --default-n-codebooks 4 \
        --augment --beam-width 32 --beam-codebooks 4 --max-frames 400000 --decoder-steps 600
    python benchmarks/linear_code.py mc-linear.pt --group-size 4 [--n-codebooks 16 --default-n-codebooks 8]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import evaluate_codec  # benchmarks/evaluate_codec.py: the script's folder is on sys.path
import torch

from mne_dac.training.linear_code import build_linear_codec

HERE = Path(__file__).resolve().parent
TRAIN_SUBJECTS = list(range(20))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path, help="codec file to write")
    parser.add_argument("--architecture", default="default-2026.12b",
                        help="codec whose architecture to use (load_codec; default: default-2026.12b's)")  # fmt: skip
    parser.add_argument("--n-codebooks", type=int, default=None, help="codebooks (default: the architecture's)")
    parser.add_argument("--data", type=Path, default=HERE.parents[1] / "shared" / "data" / "eegmat")
    parser.add_argument("--subjects", type=int, nargs="+", default=TRAIN_SUBJECTS, help="training subjects")
    parser.add_argument("--max-frames", type=int, default=120_000, help="frames each k-means sees")
    parser.add_argument("--decoder-steps", type=int, default=0, help="then train the decoder alone")
    parser.add_argument("--group-size", type=int, default=None, help="a DAC-MC linear code of pivot groups of K")
    parser.add_argument("--default-n-codebooks", type=int, default=None,
                        help="the codebooks it codes with by default (default: the architecture's; with "
                        "--group-size: all)")  # fmt: skip
    parser.add_argument(
        "--encoder-rates",
        type=int,
        nargs="+",
        default=None,
        help="the encoder's strides, whose product is the hop (the decoder's: the same, reversed; "
        "default: the architecture's)",
    )
    parser.add_argument(
        "--codebook-dim",
        type=int,
        nargs="+",
        default=None,
        help="dimensions of the codebooks' entries: one for all, or one per codebook (default: the architecture's)",
    )
    parser.add_argument(
        "--augment",
        action="store_true",
        help="DAC-SC: also fit on frames shifted by a quarter, half and three quarters of a hop, "
        "and on every frame's negative",
    )
    parser.add_argument(
        "--lapped",
        action="store_true",
        help="DAC-SC: code each frame by the lapped transform of the two hops centred on it (no block edges)",
    )
    parser.add_argument(
        "--channel-levels",
        action="store_true",
        help="DAC-SC: fit on each channel at the codec's level (preprocessing_at_level(per_channel=True)), the "
        "level its tokens then code best at",
    )
    parser.add_argument(
        "--beam-width",
        type=int,
        default=1,
        help="encode by beam search of this width (1: greedy; see BeamResidualVectorQuantize)",
    )
    parser.add_argument("--beam-codebooks", type=int, default=2, help="with --beam-width: codebooks searched together")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    raws = evaluate_codec.read_recordings(args.data, args.subjects, None, highpass=None)
    code = build_linear_codec(
        list(raws.values()),
        args.architecture,
        n_codebooks=args.n_codebooks,
        encoder_rates=args.encoder_rates,
        codebook_dim=args.codebook_dim[0] if args.codebook_dim and len(args.codebook_dim) == 1 else args.codebook_dim,
        augment=args.augment,
        lapped=args.lapped,
        channel_levels=args.channel_levels,
        beam_width=args.beam_width,
        beam_codebooks=args.beam_codebooks,
        group_size=args.group_size,
        default_n_codebooks=args.default_n_codebooks,
        max_frames=args.max_frames,
        decoder_steps=args.decoder_steps,
        seed=args.seed,
        verbose=False,  # the figures are printed below
    )
    print(f"{code.n_frames} training frames; PRD (%) of the frames after each codebook:")
    print(" ".join(f"{p:.1f}" for p in code.frame_prd))
    code.codec.name = args.out.stem
    provenance = {"init": "linear transform code", "subjects": args.subjects, "decoder_steps": args.decoder_steps}
    code.codec.save(args.out, overwrite=args.overwrite, metadata=provenance)


if __name__ == "__main__":
    main()
