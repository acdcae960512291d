"""The command layer: ``mne-dac`` and its sub-commands, one module each, that parse, call the library and print.

Only this layer knows :class:`CLIError`.
"""

from mne_dac.commands._common import CLIError
from mne_dac.commands.main import build_parser, main

__all__ = ["CLIError", "build_parser", "main"]
