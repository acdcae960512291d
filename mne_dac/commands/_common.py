"""What every command shares: the one-line error, the common options and the threads."""

from __future__ import annotations

import argparse
from pathlib import Path

#: Inputs longer than this (seconds) get a progress bar.
PROGRESS_MIN_DURATION = 300.0
#: Largest share of clipped EEG samples the commands accept without --allow-clipping.
MAX_CLIPPED = 0.05


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


def add_codec_options(p: argparse.ArgumentParser, default: str | None, transform: bool = False) -> None:
    """``--codec``, ``--n-codebooks``, ``--overwrite`` and ``--quiet`` (``transform``: ``--codec`` may name a
    transform coder)."""
    p.add_argument(
        "--codec",
        default=default,
        help="codec: 'default' (shipped), a DAC tag (44khz, 24khz, 16khz), or a DAC/mne-dac "
        "checkpoint path" + ("" if default else " (default: the codec recorded in the file)")
        + ("; or a transform code, no tokens, within --bitrate: 'klt-codec', the shipped 'linear' codec on the "
           "channels' principal components, a depth chosen per component and second, or 'klt-dct', their block "
           "DCT; both keep the EEG better than a codec's tokens at the same bits" if transform else ""),
    )  # fmt: skip
    p.add_argument("--n-codebooks", type=int, default=None, help="codebooks to use (bitrate)")
    p.add_argument(
        "--trust-codec", action="store_true",
        help="load a codec file that only a full unpickle can read (a torch.package archive, pickled Python "
        "objects); this runs code from the file: only for files from authors you trust",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an existing output")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def add_exclude_option(p: argparse.ArgumentParser, help: str) -> None:
    """``--exclude`` (and its old spelling ``--not-eeg``, hidden)."""
    p.add_argument("--exclude", nargs="+", default=[], metavar="CH", help=help)
    p.add_argument("--not-eeg", nargs="+", default=[], metavar="CH", help=argparse.SUPPRESS)


def add_grouping_option(p: argparse.ArgumentParser) -> None:
    """``--grouping`` (and its old spelling ``--groups``, hidden): how a DAC-MC codec groups channels."""
    p.add_argument(
        "--grouping", choices=("pivot", "anatomical"), default=None,
        help="DAC-MC codecs: how to group the channels, around pivots or by head region (default: the codec's)",
    )  # fmt: skip
    p.add_argument("--groups", choices=("pivot", "anatomical"), default=None, help=argparse.SUPPRESS)


def add_search_option(p: argparse.ArgumentParser) -> None:
    """``--search``: the encoder's analysis-by-synthesis code search."""
    p.add_argument(
        "--search", type=int, default=0, metavar="N",
        help="DAC-SC codecs: try N entries per codebook at each frame and keep the codes whose decoded EEG is "
        "nearest the input (lower error at the same size; encoding about 20x slower with 2, 80x with 4; 0: off, the "
        "default)",
    )  # fmt: skip


def add_threads_option(p: argparse.ArgumentParser) -> None:
    """``--threads``: torch's CPU threads."""
    p.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads (default: torch's)")


def add_clipping_option(p: argparse.ArgumentParser) -> None:
    """``--allow-clipping``: code recordings in which many samples exceed the clip level."""
    p.add_argument(
        "--allow-clipping", action="store_true",
        help=f"code a recording even if more than {100 * MAX_CLIPPED:g} %% of its EEG samples exceed the clip "
        "level (by default that stops the command: data in µV stored as Volts clip everywhere)",
    )  # fmt: skip


def max_clipped(args: argparse.Namespace) -> float | None:
    """The ``max_clipped`` of the library functions, from ``--allow-clipping``."""
    return None if args.allow_clipping else MAX_CLIPPED


def add_clip_at_level_option(p: argparse.ArgumentParser, each: str = "the recording's") -> None:
    """``--clip-at-level``: scale a codec's tokens to the recording's level."""
    levels = p.add_mutually_exclusive_group()
    levels.add_argument(
        "--clip-at-level", action="store_true",
        help=f"a codec's tokens: set the clip level so that {each} EEG lies at the codec's level (for EEG far "
        "quieter or louder than the codec's training EEG; --bitrate files scale each block themselves)",
    )  # fmt: skip
    levels.add_argument(
        "--channel-levels",
        action="store_true",
        help="a codec's tokens: a clip level per channel, each channel at the codec's level (the default of a "
        "codec fitted at those levels, as the default codec)",
    )
    levels.add_argument(
        "--fixed-clip",
        action="store_true",
        help="a codec's tokens: the codec's fixed clip level (the paper's ±200 µV), even for a codec fitted at "
        "each channel's level",
    )


def clip_at_level(args: argparse.Namespace) -> bool | str | None:
    """``--clip-at-level`` (``True``), ``--channel-levels`` (``"channel"``), ``--fixed-clip`` (``False``) or none
    (``None``, the codec's own scaling); a :class:`CLIError` where the coding scales its blocks itself."""
    chosen = {"--clip-at-level": True, "--channel-levels": "channel", "--fixed-clip": False}
    given = [option for option in chosen if getattr(args, option[2:].replace("-", "_"))]
    if given and (transform_coder(args) or args.bitrate is not None):
        raise CLIError(f"{given[0]} sets how a codec's tokens are scaled; transform codes and --bitrate files "
                       "scale each block themselves")  # fmt: skip
    return chosen[given[0]] if given else None


def check_paths(input: Path, output: Path, overwrite: bool, suffixes: tuple[str, ...]) -> None:
    """Refuse, before any work, an input or output that cannot be used or would destroy data."""
    if input.is_dir():
        raise CLIError(
            f"{input} is a folder, not a recording" + (" (compress-dir codes folders)" if ".eegdac" in suffixes else "")
        )
    if not input.is_file():
        raise CLIError(f"No such file: {input}")
    if not output.name.lower().endswith(suffixes):
        raise CLIError(f"The output must end with {' or '.join(suffixes)}, got {output.name!r}")
    if output.exists() and output.resolve() == input.resolve():
        raise CLIError(f"The output {output} is the input: it would be destroyed")
    if output.is_dir():
        raise CLIError(f"The output {output} is a folder")
    if not output.parent.is_dir():
        raise CLIError(f"The output folder {output.parent} does not exist")
    check_output(output, overwrite)


def set_threads(n_threads: int) -> None:
    """Set torch's CPU threads, or raise a :class:`CLIError`."""
    if n_threads < 1:
        raise CLIError(f"--threads must be >= 1, got {n_threads}")
    import torch

    torch.set_num_threads(n_threads)


def check_output(out: Path, overwrite: bool) -> None:
    """Refuse to replace an existing output without ``--overwrite``."""
    if out.exists() and not overwrite:
        raise CLIError(f"{out} exists; use --overwrite to replace it.")


def add_max_error_option(p: argparse.ArgumentParser) -> None:
    """``--max-error UV``: a residual layer that bounds every EEG sample's error."""
    p.add_argument("--max-error", type=float, default=None, metavar="UV",
                   help="add a residual layer: every EEG sample within UV microvolts of the original; 0: bit-exact "
                   "(samples read from EDF, BDF… come back bit for bit)")  # fmt: skip


def max_error(args: argparse.Namespace) -> float | None:
    """The ``max_error`` (Volts) of the library functions, from ``--max-error`` (µV)."""
    if args.max_error is None:
        return None
    if not 0 <= args.max_error < float("inf"):
        raise CLIError(f"--max-error: a bound in µV, 0 or more, got {args.max_error}")
    return args.max_error * 1e-6


def print_info(fname: str | Path) -> None:
    """Print the description of a ``.eegdac`` file."""
    from mne_dac.io.container import describe_file

    print(describe_file(fname))


def add_transform_options(p: argparse.ArgumentParser) -> None:
    """``--bitrate BPS``, the budget of a transform coder (``--codec klt-codec`` or ``klt-dct``) or of a codec's
    depths chosen per channel and 4 s, and ``--no-restore-bands``."""
    p.add_argument("--bitrate", type=float, default=None, metavar="BPS",
                   help="bits per second per EEG channel, never exceeded: for --codec klt-codec or klt-dct (default: "
                   "88); for a DAC-SC codec at 256 Hz such as the default, each channel's depth chosen per 4 s "
                   "within it (any rate, 30 for instance; without it a codec's bitrate is set by "
                   "--n-codebooks)")  # fmt: skip
    p.add_argument("--no-restore-bands", dest="restore_bands", action="store_false",
                   help="without --max-error: decode to the least squared error (tokens: the codec's decode) instead "
                   "of keeping each channel's delta, theta, alpha and beta power in each block at 0.9 of the "
                   "original's at least (transform codes: 64-s blocks, 0.3 bits/s per channel; tokens: 16-s blocks, "
                   "1.3 bits/s per channel)")  # fmt: skip


def transform_coder(args: argparse.Namespace) -> bool:
    """Whether ``--codec`` names a transform coder, or a :class:`CLIError` when the options do not fit it."""
    from mne_dac.io.transform_blocks import is_transform_coder

    flags = {"n_codebooks": "--n-codebooks", "groups": "--grouping", "bits_per_second": "--bitrate"}
    try:
        transform = is_transform_coder(args.codec, n_codebooks=args.n_codebooks, groups=args.grouping,
                                       bits_per_second=args.bitrate, spelling=flags)  # fmt: skip
    except ValueError as err:
        raise CLIError(str(err)) from err
    if args.search < 0:
        raise CLIError(f"--search must be >= 0, got {args.search}")
    if args.search and transform:
        raise CLIError(f"--search: {args.codec!r} is a transform coder, which has no codes to search")
    return transform
