"""The ``mne-dac`` command: one parser with a sub-command per module of this package."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mne_dac.commands import compress, compress_dir, decompress, demo, finetune, info
from mne_dac.commands._common import CLIError, set_threads

#: Exit statuses: a reported error, an invalid ``.eegdac`` file, an interruption (Ctrl-C).
EXIT_ERROR, EXIT_INVALID_FILE, EXIT_INTERRUPTED = 1, 2, 130
#: The sub-commands, in the order ``mne-dac --help`` lists them.
COMMANDS = (compress, compress_dir, decompress, info, demo, finetune)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``mne-dac`` argument parser."""
    from mne_dac._version import __version__

    parser = argparse.ArgumentParser(
        prog="mne-dac", description="Compress and tokenize EEG with neural audio codecs (DAC)."
    )
    parser.add_argument("--version", action="version", version=f"mne-dac {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
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
        0 on success, 2 for an invalid ``.eegdac`` file, 130 when interrupted, 1 for any other
        reported error.
    """
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if getattr(args, "not_eeg", None):
        print("mne-dac: warning: --not-eeg is deprecated and will be removed: use --exclude.", file=sys.stderr)
        args.exclude = [*args.exclude, *args.not_eeg]
    if getattr(args, "groups", None):
        print("mne-dac: warning: --groups is deprecated and will be removed: use --grouping.", file=sys.stderr)
        args.grouping = args.grouping or args.groups
    try:
        if getattr(args, "threads", None) is not None and args.command != "compress-dir":  # its workers set theirs
            set_threads(args.threads)
        args.func(args)
    except (CLIError, FileExistsError, FileNotFoundError, ValueError, OSError, ImportError) as err:
        if args.debug:
            raise
        print(f"mne-dac: error: {err}", file=sys.stderr)
        return EXIT_INVALID_FILE if _is_invalid_file(err) else EXIT_ERROR
    except MemoryError:
        if args.debug:
            raise
        print("mne-dac: error: out of memory (try fewer --n-jobs, or a smaller --batch-size)", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("mne-dac: interrupted; finished outputs are complete, unfinished ones were not written", file=sys.stderr)
        return EXIT_INTERRUPTED
    return 0


def _is_invalid_file(err: Exception) -> bool:
    from mne_dac.io.validation import EEGDACFormatError

    return isinstance(err, EEGDACFormatError)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
