"""``mne-dac compress``: compress a recording (any format MNE reads) to ``.eegdac``."""

from __future__ import annotations

import argparse
from pathlib import Path

from mne_dac.commands._common import (
    PROGRESS_MIN_DURATION,
    CLIError,
    add_clip_at_level_option,
    add_clipping_option,
    add_codec_options,
    add_exclude_option,
    add_grouping_option,
    add_max_error_option,
    add_search_option,
    add_threads_option,
    add_transform_options,
    check_paths,
    clip_at_level,
    max_clipped,
    max_error,
    print_info,
    transform_coder,
)


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``compress`` command to ``sub``."""
    p = sub.add_parser("compress", help="compress a recording (any format MNE reads) to .eegdac")
    p.add_argument("input", help="EDF, BDF, FIF, BrainVision, EEGLAB, Nihon Kohden… file")
    p.add_argument("output", help="output .eegdac file")
    add_grouping_option(p)
    add_exclude_option(p, "channels to keep out of coding, e.g. typed EEG but not EEG (ECG, ear references…): kept "
                   "losslessly")  # fmt: skip
    add_codec_options(p, "default", transform=True)
    add_transform_options(p)
    add_search_option(p)
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    add_threads_option(p)
    add_clipping_option(p)
    add_clip_at_level_option(p)
    add_max_error_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run the command."""
    import mne_dac
    from mne_dac.io.recordings import read_recording

    out = Path(args.output)
    check_paths(Path(args.input), out, args.overwrite, (".eegdac",))
    at_level = clip_at_level(args)
    if transform_coder(args):
        codec = args.codec
    else:
        codec = mne_dac.load_codec(args.codec, device=args.device, trust_code=args.trust_codec, search=args.search)
        for option, check, value in (
            ("--grouping", codec.check_groups, args.grouping),
            ("--n-codebooks", codec.check_n_codebooks, args.n_codebooks),
        ):
            try:
                check(value)
            except (TypeError, ValueError) as err:
                raise CLIError(f"{option}: {err}") from err
    raw = read_recording(args.input)
    if args.exclude:
        missing = sorted(set(args.exclude) - set(raw.ch_names))
        if missing:
            raise CLIError(f"--exclude: no channel(s) {missing} in {args.input}; channels: {raw.ch_names}")
        raw.set_channel_types(dict.fromkeys(args.exclude, "misc"), verbose="error")
    if at_level is False:
        preprocessing = codec.preprocessing
    elif at_level:
        preprocessing = mne_dac.preprocessing_at_level(raw, codec, per_channel=at_level == "channel")
    else:
        preprocessing = None  # the codec's own
    progress = raw.duration > PROGRESS_MIN_DURATION and not args.quiet
    mne_dac.write_raw_dac(
        out, raw, codec=codec, n_codebooks=args.n_codebooks, overwrite=args.overwrite, grouping=args.grouping,
        preprocessing=preprocessing, max_clipped=max_clipped(args), progress=progress,
        max_error=max_error(args), bits_per_second=args.bitrate, restore_bands=args.restore_bands,
    )  # fmt: skip
    print_info(out)
