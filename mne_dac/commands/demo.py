"""``mne-dac demo``: compress, decompress and assess the shipped EEG excerpt."""

from __future__ import annotations

import argparse

from mne_dac.commands._common import add_threads_option


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``demo`` command to ``sub``."""
    p = sub.add_parser("demo", help="compress, decompress and assess the shipped EEG excerpt")
    p.add_argument("--out-dir", default="mne-dac-demo", help="folder for the outputs")
    p.add_argument("--codec", default="default")
    p.add_argument("--n-codebooks", type=int, default=None)
    add_threads_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run the command."""
    from mne_dac.evaluation.demo import run_demo

    run_demo(args.out_dir, codec=args.codec, n_codebooks=args.n_codebooks, show=False)
