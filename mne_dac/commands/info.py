"""``mne-dac info``: describe a ``.eegdac`` file."""

from __future__ import annotations

import argparse

from mne_dac.commands._common import print_info


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``info`` command to ``sub``."""
    p = sub.add_parser("info", help="describe a .eegdac file")
    p.add_argument("file")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Describe the file."""
    print_info(args.file)
