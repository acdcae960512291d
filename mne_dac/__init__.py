"""Compress and tokenize EEG with neural audio codecs (DAC).

Heavy dependencies (torch, dac, MNE, Braindecode) are imported lazily, so
``import mne_dac`` is fast; they load on first use of the object that needs them.
"""

import lazy_loader as _lazy

from ._version import __version__

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=[
        "baselines", "bulk", "channels", "cli", "corpora", "crops", "datasets", "downstream", "groups", "losses", "mc_model",
        "metrics", "recipe", "testing", "token_model", "training", "viz",
    ],
    submod_attrs={
        "codec": ["DACCodec", "CodecIdentity", "CodecMismatchError"],
        "mc_codec": ["DACMCCodec"],
        "loading": ["load_codec", "DEFAULT_CODEC"],
        "preprocessing": ["PreprocessingSettings"],
        "tokens": ["EEGTokens"],
        "raw": ["tokenize_raw", "reconstruct_raw"],
        "container": [
            "write_raw_dac",
            "read_raw_dac",
            "write_tokens",
            "read_tokens",
            "EEGDACFormatError",
        ],
        "transformer": ["DACTokenizer", "DACRoundTrip"],
        "bulk": ["compress_dir"],
        "downstream": ["Condition", "evaluate_downstream", "tokenize_dataset", "summary_table", "summary_markdown"],
        "token_model": ["TokenClassifier"],
        "windows": ["tokenize_windows", "roundtrip_windows"],
    },
)
__all__ = [*__all__, "__version__"]
