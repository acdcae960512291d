from . import adapters, codecs, commands, evaluation, io, models, signal, training, utils
from ._version import __version__
from .adapters.transformer import DACRoundTrip, DACTokenizer
from .adapters.windows import roundtrip_windows, tokenize_windows
from .codecs.codec import CodecIdentity, CodecMismatchError, DACCodec
from .codecs.loading import DEFAULT_CODEC, load_codec
from .codecs.mc_codec import DACMCCodec
from .evaluation.downstream import Condition, evaluate_downstream, summary_markdown, summary_table, tokenize_dataset
from .io.bulk import compress_dir
from .io.container import read_raw_dac, read_tokens, write_raw_dac, write_tokens
from .io.raw import preprocessing_at_level, reconstruct_raw, tokenize_raw
from .io.tokens import EEGTokens
from .io.validation import EEGDACFormatError
from .models.token_model import TokenClassifier
from .signal.preprocessing import PreprocessingSettings

__all__ = [
    "CodecIdentity", "CodecMismatchError", "Condition", "DACCodec", "DACMCCodec", "DACRoundTrip", "DACTokenizer",
    "DEFAULT_CODEC", "EEGDACFormatError", "EEGTokens", "PreprocessingSettings", "TokenClassifier", "__version__",
    "adapters", "codecs", "commands", "compress_dir", "evaluate_downstream", "evaluation", "io", "load_codec",
    "models", "preprocessing_at_level", "read_raw_dac", "read_tokens", "reconstruct_raw", "roundtrip_windows", "signal", "summary_markdown",
    "summary_table", "tokenize_dataset", "tokenize_raw", "tokenize_windows", "training",
    "utils", "write_raw_dac", "write_tokens",
]  # fmt: skip
