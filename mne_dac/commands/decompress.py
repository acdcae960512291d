"""``mne-dac decompress``: decode a ``.eegdac`` file to FIF or EDF."""

from __future__ import annotations

import argparse
from pathlib import Path

from mne_dac.commands._common import (
    PROGRESS_MIN_DURATION,
    CLIError,
    add_codec_options,
    add_threads_option,
    check_paths,
)

#: Output formats of ``mne-dac decompress``.
DECOMPRESS_FORMATS = (".fif", ".edf")


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``decompress`` command to ``sub``."""
    p = sub.add_parser("decompress", help="decompress a .eegdac file to .fif or .edf")
    p.add_argument("input", help=".eegdac file")
    p.add_argument("output", help="output .fif or .edf file")
    p.add_argument(
        "--tmin",
        type=float,
        default=None,
        metavar="SECONDS",
        help="decode from this time (default: the start); only the blocks needed are read",
    )
    p.add_argument(
        "--tmax",
        type=float,
        default=None,
        metavar="SECONDS",
        help="decode up to this time, included (default: the end)",
    )
    p.add_argument(
        "--layer",
        choices=["tokens"],
        default=None,
        help="decode the tokens only (lossy, faster) of a file with a residual layer (compress --max-error)",
    )
    p.add_argument("--salvage", action="store_true",
                   help="decode a file with damaged blocks: their samples are zeros, annotated BAD_damaged")  # fmt: skip
    add_codec_options(p, None)
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run the command."""
    import mne_dac
    from mne_dac.io.container import read_grids, read_header
    from mne_dac.io.raw import save_reconstruction

    out = Path(args.output)
    check_paths(Path(args.input), out, args.overwrite, DECOMPRESS_FORMATS)
    header = read_header(args.input)
    not_ascii = [name for name in [*header.ch_names, *header.other_ch_names] if not name.isascii()]
    if not_ascii:  # found before decoding: FIF and EDF files spell channel names in ASCII
        raise CLIError(
            f"{out.suffix} files hold channel names in ASCII only, and {not_ascii} are not. In Python, decode with "
            "mne_dac.read_raw_dac(), rename the channels (raw.rename_channels) and save."
        )
    progress = header.duration > PROGRESS_MIN_DURATION and not args.quiet
    codec = None if args.codec is None else mne_dac.load_codec(args.codec, trust_code=args.trust_codec)
    try:
        raw = mne_dac.read_raw_dac(args.input, codec, tmin=args.tmin, tmax=args.tmax, salvage=args.salvage,
                                   n_codebooks=args.n_codebooks, progress=progress, layer=args.layer,
                                   preload=False)  # fmt: skip
    except ValueError as err:
        raise CLIError(str(err)) from err
    exact = header.residual is not None and args.layer is None
    save_reconstruction(raw, out, overwrite=args.overwrite, exact=exact,
                        grids=read_grids(args.input))  # version 2: decoded block by block  # fmt: skip
    print(f"Wrote {out}: {len(raw.ch_names)} channels, {raw.duration:.1f} s at {raw.info['sfreq']:g} Hz")
    print(raw.info["description"])
