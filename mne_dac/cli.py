"""The ``mne-dac`` command line: compress, decompress, inspect, demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

#: Inputs longer than this (seconds) get a progress bar.
PROGRESS_MIN_DURATION = 300.0

#: Output formats of ``mne-dac decompress``.
DECOMPRESS_FORMATS = (".fif", ".edf")


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


def read_raw_any(fname: str | Path):
    """Read any recording MNE can read (EDF, BDF, FIF, BrainVision, EEGLAB, Nihon Kohden…).

    Parameters
    ----------
    fname : path-like
        The recording.

    Returns
    -------
    raw : mne.io.Raw
        The recording, preloaded.
    """
    import mne

    fname = Path(fname)
    if not fname.is_file():
        raise CLIError(f"No such file: {fname}")
    try:
        return mne.io.read_raw(fname, preload=True, verbose="error")
    except Exception as err:  # MNE raises ValueError, OSError, KeyError… on bad files
        raise CLIError(
            f"Could not read {fname} as EEG ({type(err).__name__}: {err}). Supported: any format "
            "mne.io.read_raw reads (EDF, BDF, FIF, BrainVision .vhdr, EEGLAB .set, Nihon Kohden .EEG…)."
        ) from err


def _compress(args: argparse.Namespace) -> None:
    import mne_dac

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; use --overwrite to replace it.")
    raw = read_raw_any(args.input)
    progress = raw.duration > PROGRESS_MIN_DURATION and not args.quiet
    codec = mne_dac.load_codec(args.codec, device=args.device)
    mne_dac.write_raw_dac(out, raw, codec=codec, n_codebooks=args.n_codebooks, overwrite=args.overwrite, progress=progress)
    _print_info(out)


def _decompress(args: argparse.Namespace) -> None:
    import mne

    import mne_dac

    from ._atomic import atomic_write

    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in DECOMPRESS_FORMATS:
        raise CLIError(f"Output must end with one of {DECOMPRESS_FORMATS}, got {out.name!r}")
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; use --overwrite to replace it.")
    tokens = mne_dac.read_tokens(args.input)
    progress = tokens.duration > PROGRESS_MIN_DURATION and not args.quiet
    raw = mne_dac.reconstruct_raw(tokens, args.codec, n_codebooks=args.n_codebooks, progress=progress)
    with atomic_write(out, overwrite=args.overwrite) as tmp:
        if suffix == ".fif":
            raw.save(tmp, overwrite=True, verbose="error")
        else:
            mne.export.export_raw(tmp, raw, fmt="edf", overwrite=True, verbose="error")
    print(f"Wrote {out}: {len(raw.ch_names)} channels, {raw.duration:.1f} s at {raw.info['sfreq']:g} Hz")


def describe_file(fname: str | Path) -> str:
    """Summarise a ``.eegdac`` file: channels, duration, codec, bitrate, compression.

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.

    Returns
    -------
    text : str
        A multi-line human-readable summary.
    """
    from .codec import CodecIdentity
    from .container import read_header

    h = read_header(fname)
    n_ch, n_q, n_frames = h["codes_shape"]
    codec = CodecIdentity.from_dict(h["codec"])
    duration = h["n_times"] / h["sfreq"]
    bitrate = n_q * h["bits_per_code"] * h["codec_sfreq"] / h["hop_length"]
    n_all = n_ch + len(h["other_ch_names"])
    codes_ratio = 16 * n_ch * h["n_times"] / (n_ch * n_q * n_frames * h["bits_per_code"])
    file_ratio = 2 * n_all * h["n_times"] / h["file_size"]
    clipped = sum(h["clip_counts"])
    names = ", ".join(h["ch_names"][:8]) + (", …" if n_ch > 8 else "")
    lines = [
        f"File:              {fname} ({h['file_size']:,} bytes, format version {h['version']})",
        f"Coded channels:    {n_ch} ({names})",
        f"Other channels:    {len(h['other_ch_names'])} kept losslessly {h['other_ch_names'] or ''}".rstrip(),
        f"Duration:          {duration:.2f} s ({h['n_times']} samples at {h['sfreq']:g} Hz)",
        f"Codec:             {codec.describe()}, {h['codebook_size']} entries × {n_q} codebooks, "
        f"{h['codec_sfreq']:g} Hz, hop {h['hop_length']}",
        f"Bitrate:           {bitrate:g} bits/s per channel",
        f"Compression ratio: {codes_ratio:.1f}× for the codes, {file_ratio:.1f}× for the whole file "
        "(against 16-bit samples at the original rate)",
        f"Preprocessing:     high-pass {h['preprocessing']['highpass']} Hz, clip ±"
        f"{h['preprocessing']['clip'] * 1e6:g} µV ({clipped} samples clipped)",
        f"Annotations:       {len(h['annotations']['onset']) if h['annotations'] else 0}",
    ]
    return "\n".join(lines)


def _print_info(fname: str | Path) -> None:
    print(describe_file(fname))


def _info(args: argparse.Namespace) -> None:
    _print_info(args.file)


def _demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(args.out_dir, codec=args.codec, n_codebooks=args.n_codebooks, show=False)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``mne-dac`` argument parser."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="mne-dac", description="Compress and tokenize EEG with neural audio codecs (DAC)."
    )
    parser.add_argument("--version", action="version", version=f"mne-dac {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def codec_options(p: argparse.ArgumentParser, default: str | None) -> None:
        p.add_argument(
            "--codec",
            default=default,
            help="codec: 'default' (shipped), a DAC tag (44khz, 24khz, 16khz), or a DAC/mne-dac "
            "checkpoint path" + ("" if default else " (default: the codec recorded in the file)"),
        )
        p.add_argument("--n-codebooks", type=int, default=None, help="codebooks to use (bitrate)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing output")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    p = sub.add_parser("compress", help="compress a recording (any format MNE reads) to .eegdac")
    p.add_argument("input", help="EDF, BDF, FIF, BrainVision, EEGLAB, Nihon Kohden… file")
    p.add_argument("output", help="output .eegdac file")
    codec_options(p, "default")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.set_defaults(func=_compress)

    p = sub.add_parser("decompress", help="decompress a .eegdac file to .fif or .edf")
    p.add_argument("input", help=".eegdac file")
    p.add_argument("output", help="output .fif or .edf file")
    codec_options(p, None)
    p.set_defaults(func=_decompress)

    p = sub.add_parser("info", help="describe a .eegdac file")
    p.add_argument("file")
    p.set_defaults(func=_info)

    p = sub.add_parser("demo", help="compress, decompress and assess the shipped EEG excerpt")
    p.add_argument("--out-dir", default="mne-dac-demo", help="folder for the outputs")
    p.add_argument("--codec", default="default")
    p.add_argument("--n-codebooks", type=int, default=None)
    p.set_defaults(func=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mne-dac`` command line.

    Parameters
    ----------
    argv : sequence of str | None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 on a reported error.
    """
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (CLIError, FileExistsError, FileNotFoundError, ValueError, OSError, ImportError) as err:
        if args.debug:
            raise
        print(f"mne-dac: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
