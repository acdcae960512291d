"""``mne-dac compress-dir``: compress every recording under a folder."""

from __future__ import annotations

import argparse

from mne_dac.commands._common import (
    CLIError,
    add_clip_at_level_option,
    add_clipping_option,
    add_codec_options,
    add_exclude_option,
    add_grouping_option,
    add_max_error_option,
    add_search_option,
    add_transform_options,
    clip_at_level,
    max_clipped,
    max_error,
    transform_coder,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``compress-dir`` command to ``sub``."""
    from mne_dac.io.recordings import RECORDING_EXTENSIONS

    p = sub.add_parser(
        "compress-dir",
        help="compress every recording under a folder to the same tree of .eegdac files (parallel, resumable)",
        description="Compress every recording under IN_DIR (searched recursively; any format MNE reads) to "
        "OUT_DIR/<same relative path>.eegdac. Finished outputs are skipped, so an interrupted run can be rerun; "
        "unreadable recordings are reported and skipped. Writes an index (CSV) with one row per recording: "
        "status, error, duration, channels, bits/s per channel, compression ratio (EEG as 16-bit samples over "
        "the .eegdac file) and fidelity (spectrogram loss, PRD), and prints a summary. Exits with status 1 "
        "if any recording failed.",
        epilog="On a Dask cluster, from Python: client = distributed.Client(...); with "
        "joblib.parallel_config(backend='dask'): mne_dac.io.bulk.compress_dir(in_dir, out_dir, codec, n_jobs=-1).",
    )
    p.add_argument("in_dir", help="folder of recordings (EDF, BDF, FIF, BrainVision, EEGLAB…), searched recursively")
    p.add_argument("out_dir", help="output folder: the same tree of .eegdac files, and the index")
    p.add_argument(
        "--ext", nargs="+", default=list(RECORDING_EXTENSIONS), metavar="EXT",
        help=f"file name endings of the recordings (default: {' '.join(RECORDING_EXTENSIONS)})",
    )  # fmt: skip
    add_grouping_option(p)
    add_exclude_option(p, "channels to keep out of coding, e.g. typed EEG but not EEG (ECG, ear references…): where "
                   "present, kept losslessly")  # fmt: skip
    add_codec_options(p, "default", transform=True)
    add_transform_options(p)
    add_search_option(p)
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="torch CPU threads of each worker (default: the cores split between the workers)",
    )  # fmt: skip
    p.add_argument(
        "--n-jobs", type=int, default=1, metavar="N",
        help="recordings compressed at once, in worker processes that each load the codec once (-1: all cores)",
    )  # fmt: skip
    p.add_argument(
        "--fidelity", action=argparse.BooleanOptionalAction, default=True,
        help="decode each output and measure its spectrogram loss and PRD (default: on)",
    )  # fmt: skip
    add_clipping_option(p)
    add_clip_at_level_option(p, "each recording's")
    add_max_error_option(p)
    p.add_argument("--index", default="index.csv", help="index file, relative to OUT_DIR (default index.csv)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run the command."""
    from mne_dac.codecs.loading import load_codec
    from mne_dac.io.bulk import compress_dir, summarize_index

    transform = transform_coder(args)  # and the options fit the coder
    codec = (
        load_codec(args.codec, device=args.device, trust_code=args.trust_codec, search=args.search)
        if (args.trust_codec or args.search) and not transform
        else args.codec
    )
    index = compress_dir(
        args.in_dir, args.out_dir, codec, n_codebooks=args.n_codebooks, grouping=args.grouping, max_clipped=max_clipped(args),
        max_error=max_error(args), bits_per_second=args.bitrate, restore_bands=args.restore_bands,
        clip_at_level=clip_at_level(args), exclude=args.exclude, extensions=args.ext, n_jobs=args.n_jobs,
        n_threads=args.threads, overwrite=args.overwrite, fidelity=args.fidelity, index=args.index, device=args.device,
        progress=not args.quiet, verbose="warning",
    )  # fmt: skip
    print(summarize_index(index))
    failed = int((index["status"] == "failed").sum())
    if failed:
        raise CLIError(f"{failed} of {len(index)} recordings failed (listed above and in the index).")
