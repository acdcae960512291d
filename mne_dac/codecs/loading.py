"""Build a :class:`~mne_dac.DACCodec` from a checkpoint, a DAC tag or a random init."""

from __future__ import annotations

import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mne.utils import logger, verbose

from mne_dac.codecs.codec import DACCodec
from mne_dac.codecs.codec_file import (
    CODEC_FILE_FORMAT,
    CodecFile,
    UntrustedCodeError,
    codec_file_from_dict,
    is_safetensors,
    load_tensors_only,
    read_codec_file,
)
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.models.dac_model import DAC_KWARGS, model_from_state, new_dac
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._imports import import_dac
from mne_dac.utils._logging import warn

#: Name of the codec shipped with mne-dac.
DEFAULT_CODEC = "default"


@dataclass(frozen=True)
class ShippedCodec:
    """A codec shipped with mne-dac, in ``mne_dac/data/codecs`` with its model card (``.md``).

    Attributes
    ----------
    name : str
        Its versioned name (``"default-2026.11"``): the release that first shipped it.
    file : str
        Its codec file.
    weights_sha256 : str
        SHA-256 of its weights (:attr:`~mne_dac.codecs.codec.CodecIdentity.weights_sha256`), by which
        tokens and ``.eegdac`` files find the codec that wrote them.
    """

    name: str
    file: str
    weights_sha256: str


#: Every codec mne-dac has shipped, by versioned name. They all stay in the package, so that
#: files written with any of them decode, unchanged, with no codec given.
SHIPPED_RELEASES: dict[str, ShippedCodec] = {
    c.name: c
    for c in [
        ShippedCodec(
            "beam-2026.12",
            "beam-2026.12.pt",
            "d5e56f0aae42f4c3d45b576cef7543fb2a0243cb03d98b32680610d08db8956b",
        ),
        ShippedCodec(
            "default-2026.11",
            "default-2026.11.pt",
            "62e34a3982cfbc790e1202c7d6984e2905c12ce749ecd9d2dba737582f708161",
        ),
        ShippedCodec(
            "default-2026.12",
            "default-2026.12.pt",
            "3dd6aa583201f9eb7e31baa29c5bc1d6c96226c7b3e5bbe6ed2dc55438c76ecb",
        ),
        ShippedCodec(
            "default-2026.12b",
            "default-2026.12b.pt",
            "4d1f2405f35399bef5caeacc0338dba70a4663f22df506042db4f5d1399c8b31",
        ),
        ShippedCodec(
            "linear-2026.12",
            "linear-2026.12.pt",
            "721aca9a56447204017076f5365594dae1ef4cae168afe128c80249a6cc657d8",
        ),
        ShippedCodec(
            "lapped-2026.12",
            "lapped-2026.12.pt",
            "91152cb23a48dd99617d2bf9912b1a3cc0fb9c5ac4ea1c6ba18a5b90045a78b7",
        ),
        ShippedCodec(
            "levels-2026.12",
            "levels-2026.12.pt",
            "de9a9578cb562e3281b81107c34d29aecae9e6221af0a6f2368db3f36c5c2859",
        ),
        ShippedCodec(
            "mc-pivot-2026.11",
            "mc-pivot-2026.11.pt",
            "742f441c66efbed73dff594df0a0fe6e356327ae025959d39103244ee179de83",
        ),
        ShippedCodec(
            "mc-pivot-2026.12",
            "mc-pivot-2026.12.pt",
            "5e03ef8d68ce176935adf1306c0e8131affc8e23628d36a773fbdd0560ef7f37",
        ),
        ShippedCodec(
            "mc-pivot-2026.12b",
            "mc-pivot-2026.12b.pt",
            "bc9a4fae558e09ba63a3711c451da2a198ee60223ebaf772cfd5ed2b68712487",
        ),
        ShippedCodec(
            "mc-pivot-2026.12c",
            "mc-pivot-2026.12c.pt",
            "358d44f5002ad009d7380f03468d179c8538df712df7826838e6332c2767f867",
        ),
    ]
}

#: Names that follow the newest release of a codec.
CODEC_ALIASES: dict[str, str] = {
    DEFAULT_CODEC: "levels-2026.12",
    "mc-pivot": "mc-pivot-2026.12c",
    "linear": "linear-2026.12",
    "beam": "beam-2026.12",
    "lapped": "lapped-2026.12",
    "levels": "levels-2026.12",
}

#: Every name :func:`load_codec` resolves to a shipped codec: aliases and versioned names.
SHIPPED_CODECS: dict[str, ShippedCodec] = {
    **{alias: SHIPPED_RELEASES[name] for alias, name in CODEC_ALIASES.items()},
    **SHIPPED_RELEASES,
}


def shipped_codec_of(identity) -> ShippedCodec | None:
    """The shipped codec with the weights of ``identity`` (a :class:`~mne_dac.codecs.codec.CodecIdentity`), or None."""
    return next((c for c in SHIPPED_RELEASES.values() if c.weights_sha256 == identity.weights_sha256), None)


#: DAC model tags resolved through DAC's own cache and downloader: tag -> (type, bitrate).
DAC_TAGS = {
    "44khz": ("44khz", "8kbps"),
    "24khz": ("24khz", "8kbps"),
    "16khz": ("16khz", "8kbps"),
    "44khz-16kbps": ("44khz", "16kbps"),
}

#: Architecture of the compact codec (about 2 M parameters, hop 512).
COMPACT_DAC = dict(encoder_dim=16, decoder_dim=128)

_SHIPPED_DIR = Path(__file__).parents[1] / "data" / "codecs"


#: Codec classes by the architecture name their files record.
ARCHITECTURES: dict[str, type[DACCodec]] = {cls.architecture: cls for cls in (DACCodec, DACMCCodec)}


@verbose
@fill_doc
def load_codec(
    source: Any = DEFAULT_CODEC,
    *,
    sfreq: float | None = None,
    n_codebooks: int | None = None,
    codebook_size: int | None = None,
    dac_kwargs: dict | None = None,
    seed: int = 0,
    device: str | None = None,
    batch_size: int = 16,
    chunk_frames: int = 128,
    mixed_precision: bool = False,
    search: int = 0,
    trust_code: bool = False,
    download: bool = True,
    verbose: bool | str | int | None = None,
) -> DACCodec:
    """Load or build a codec (DAC-SC or DAC-MC).

    Parameters
    ----------
    source : str | path-like | DACCodec
        What to load:

        - ``"default"``: the newest DAC-SC codec shipped with mne-dac (its model card:
          ``mne_dac/data/codecs/<name>.md``);
        - ``"mc-pivot"``: the newest DAC-MC codec shipped with mne-dac (``"group"``
          layout: one token stream per pivot group of at most 4 channels, coded jointly);
        - ``"linear"``: the shipped DAC-SC codec set to a linear transform code of the
          training recordings (``benchmarks/linear_code.py``), which ``"klt-codec"`` files use;
        - ``"beam"``: the shipped DAC-SC codec whose tokens keep each channel best (a
          linear code of whole 0.5-s frames, encoded by beam search: PRD level with the block
          DCT at 88 bits/s), four times slower to encode than ``"default"``;
        - a versioned shipped codec (``"default-2026.11"``…, :data:`SHIPPED_RELEASES`):
          every codec mne-dac has shipped stays loadable by that name;
        - a DAC tag (``"44khz"``, ``"24khz"``, ``"16khz"``, ``"44khz-16kbps"``): the
          audio-pretrained weights, from DAC's cache (``~/.cache/descript/dac``) or
          downloaded by DAC's own downloader;
        - the path of a DAC checkpoint (``weights.pth`` as written by ``DAC.save``) or
          of an mne-dac codec file (:meth:`DACCodec.save`);
        - ``"random"``: a randomly initialised DAC with ``n_codebooks``,
          ``codebook_size`` and ``dac_kwargs`` (the paper's from-scratch baseline);
        - a :class:`DACCodec`, returned unchanged.
    sfreq : float | None
        EEG sampling rate the codec works at (512 or 256 Hz in the paper). ``None``
        keeps the file's rate, or 512 Hz for DAC checkpoints and random codecs.
    n_codebooks : int | None
        Only with ``"random"``: number of residual codebooks (default 9).
    codebook_size : int | None
        Only with ``"random"``: entries per codebook (default 1024).
    dac_kwargs : dict | None
        Only with ``"random"``: other ``dac.DAC`` arguments (``encoder_dim``,
        ``decoder_dim``, ``encoder_rates``…). Default: the compact codec
        (``encoder_dim=16, decoder_dim=128``, hop 512, about 2 M parameters).
    seed : int
        Only with ``"random"``: seed of the initialisation.
    %(device)s
    batch_size : int
        Chunks processed at once.
    chunk_frames : int
        Frames per chunk of long signals.
    mixed_precision : bool
        bfloat16 autocast on CUDA.
    search : int
        DAC-SC codecs: encoder search, entries tried per codebook at each frame (see
        :class:`~mne_dac.DACCodec`); ``0`` takes DAC's nearest entries.
    trust_code : bool
        Load files that only a full unpickle can read (a ``torch.package`` archive, a
        checkpoint holding Python objects other than tensors and plain data). A full unpickle
        runs any code the file holds: pass True only for files from authors you trust. By
        default such files are refused (:class:`~mne_dac.codecs.codec_file.UntrustedCodeError`);
        codec files written by mne-dac and DAC's checkpoints never need it.
    download : bool
        Only for DAC tags: download the weights with DAC's downloader when they are not in
        DAC's cache. False raises an error that says where to put them.
    %(verbose)s

    Returns
    -------
    codec : DACCodec
        The codec, in eval mode on ``device``.
    """
    if isinstance(source, DACCodec):
        return source
    if not isinstance(source, (str, Path)):
        raise TypeError(f"source must be a str, a path or a DACCodec, got {type(source).__name__}")
    opts = dict(
        device=device,
        batch_size=batch_size,
        chunk_frames=chunk_frames,
        mixed_precision=mixed_precision,
        search=search,
    )
    is_random = str(source) == "random"
    if not is_random and (n_codebooks is not None or codebook_size is not None or dac_kwargs):
        raise ValueError(
            "n_codebooks, codebook_size and dac_kwargs define a new random codec and need "
            f'source="random"; to use fewer codebooks of {source!r}, pass n_codebooks when '
            "encoding instead"
        )
    if is_random:
        return _random_codec(sfreq, n_codebooks, codebook_size, dac_kwargs, seed, opts)
    if str(source) in SHIPPED_CODECS:
        return _shipped_codec(str(source), sfreq, opts)
    if str(source) in DAC_TAGS:
        path = _dac_weights_path(str(source), download=download)
        return _load_file(path, sfreq, opts, name=str(source), trust_code=trust_code)
    path = Path(source).expanduser()
    if not path.exists():
        raise FileNotFoundError(
            f"No codec file {str(path)!r}. source must be one of the shipped codecs {sorted(SHIPPED_CODECS)}, 'random', one of the "
            f"DAC tags {sorted(DAC_TAGS)}, or the path to a DAC checkpoint or mne-dac codec file."
        )
    return _load_file(path, sfreq, opts, name=path.name, trust_code=trust_code)


def _random_codec(sfreq, n_codebooks, codebook_size, dac_kwargs, seed, opts) -> DACCodec:
    import torch

    kwargs = dict(COMPACT_DAC)
    kwargs.update(dac_kwargs or {})
    valid = [*DAC_KWARGS, "quantizer_dropout", "codebook_lookup", "beam_width", "beam_codebooks"]
    unknown = set(kwargs) - set(valid)
    if unknown:
        raise ValueError(f"Unknown dac_kwargs {sorted(unknown)}; valid: {valid}")
    kwargs["n_codebooks"] = 9 if n_codebooks is None else int(n_codebooks)
    kwargs["codebook_size"] = 1024 if codebook_size is None else int(codebook_size)
    if kwargs["n_codebooks"] < 1:
        raise ValueError(f"n_codebooks must be >= 1, got {n_codebooks}")
    if kwargs["codebook_size"] < 2:
        raise ValueError(f"codebook_size must be >= 2, got {codebook_size}")
    sfreq = 512.0 if sfreq is None else float(sfreq)
    kwargs.setdefault("sample_rate", int(round(sfreq)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = new_dac(**kwargs)
    logger.info("Built a randomly initialised DAC (seed %d).", seed)
    return DACCodec(model, sfreq, name=f"random-seed{seed}", **opts)


def _shipped_codec(name: str, sfreq, opts) -> DACCodec:
    shipped = SHIPPED_CODECS[name]
    path = _SHIPPED_DIR / shipped.file
    if not path.is_file():
        raise FileNotFoundError(
            f"The codec {shipped.name!r} shipped with mne-dac is missing ({path}): the installation is "
            "incomplete. Reinstall mne-dac."
        )
    codec = _load_file(path, sfreq, opts, name=shipped.name)
    codec.name = shipped.name
    return codec


def _dac_weights_path(tag: str, download: bool = True) -> Path:
    """Resolve a DAC tag through DAC's cache, downloading with DAC's downloader if ``download``."""
    dac = import_dac()
    model_type, bitrate = DAC_TAGS[tag]
    version = dac.utils.__MODEL_LATEST_TAGS__[(model_type, bitrate)]
    url = dac.utils.__MODEL_URLS__[(model_type, version, bitrate)]
    cached = Path.home() / ".cache" / "descript" / "dac" / f"weights_{model_type}_{bitrate}_{version}.pth"
    if cached.exists():
        return cached
    if not download:
        raise FileNotFoundError(
            f"The DAC {tag!r} weights are not on this machine ({cached}). mne-dac downloads only when asked: "
            f"load_codec({tag!r}) or --codec {tag} downloads them, or download {url} and save it as {cached}."
        )
    logger.info("Downloading DAC %s weights from %s", tag, url)
    try:
        return Path(dac.utils.download(model_type=model_type, model_bitrate=bitrate, tag="latest"))
    except Exception as err:  # requests' network errors, HTTP errors
        raise OSError(
            f"Could not download the DAC {tag!r} weights ({type(err).__name__}: {err}). "
            f"Without internet, download {url} on a connected machine and either save it "
            f"as {cached} (DAC's cache) or pass its path: load_codec('/path/to/weights.pth')."
        ) from err


def _load_file(path: Path, sfreq, opts, name: str, trust_code: bool = False) -> DACCodec:
    if _is_torch_package(path):
        if not trust_code:
            raise UntrustedCodeError(
                f"{path} is a torch.package archive: loading it imports and runs the Python code it holds. "
                "mne-dac refuses it. If you trust its author, pass trust_code=True (command line: --trust-codec)."
            )
        warn(f"Loading the torch.package archive {path} runs the code it holds (trust_code=True).", UserWarning)
        return _load_dac_package(path, sfreq, opts, name)
    if is_safetensors(path):
        return _from_codec_file(read_codec_file(path), path, sfreq, opts)
    obj = load_tensors_only(path, trust_code)
    if isinstance(obj, dict) and obj.get("format") == CODEC_FILE_FORMAT:
        return _from_codec_file(codec_file_from_dict(obj, path), path, sfreq, opts)
    if isinstance(obj, dict) and "state_dict" in obj and "kwargs" in (obj.get("metadata") or {}):
        return _load_dac_checkpoint(obj, sfreq, opts, name)
    raise OSError(
        f"{path} is neither a DAC checkpoint (a dict with 'state_dict' and "
        "'metadata'['kwargs'], as written by DAC.save) nor an mne-dac codec file."
    )


def _is_torch_package(path: Path) -> bool:
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return any(n.endswith(".data/extern_modules") for n in archive.namelist())


def _load_dac_checkpoint(obj: dict, sfreq, opts, name: str) -> DACCodec:
    kwargs = {k: v for k, v in obj["metadata"]["kwargs"].items() if k in DAC_KWARGS}
    model = model_from_state(kwargs, obj["state_dict"])
    logger.info(
        "Loaded DAC checkpoint %s (%d codebooks of %d)",
        name,
        model.n_codebooks,
        model.codebook_size,
    )
    return DACCodec(model, 512.0 if sfreq is None else sfreq, name=name, **opts)


def _load_dac_package(path: Path, sfreq, opts, name: str) -> DACCodec:
    dac = import_dac()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        model = dac.DAC.load(str(path))
    return DACCodec(model, 512.0 if sfreq is None else sfreq, name=name, **opts)


def _from_codec_file(codec_file: CodecFile, path: Path, sfreq, opts) -> DACCodec:
    config = codec_file.config
    if config.architecture not in ARCHITECTURES:
        raise OSError(f"{path} holds a {config.architecture!r} codec, not supported by this version of mne-dac")
    if sfreq is not None and float(sfreq) != config.sfreq:
        logger.warning("Codec %s was trained at %g Hz; using it at %g Hz as requested.", path.name, config.sfreq, sfreq)
        config = replace(config, sfreq=float(sfreq))
    options = dict(opts)
    search = options.pop("search")  # a ValueError of the caller's, not of the file
    try:
        codec = ARCHITECTURES[config.architecture].from_config(config, codec_file.state_dict, **options)
    except (RuntimeError, TypeError, KeyError) as err:  # weights that do not fit the configuration
        raise OSError(f"{path}: the weights do not fit the codec's configuration ({err}).") from err
    except ValueError as err:  # settings the model cannot have (a default depth beyond its codebooks…)
        raise OSError(f"{path}: the codec file's configuration is invalid ({err}).") from err
    codec.search = search
    return codec


def codec_for(identity, codec: Any = None, **opts: Any) -> DACCodec:
    """Return the codec that made tokens, checking that ``codec`` is that codec.

    Parameters
    ----------
    identity : CodecIdentity
        Identity recorded with the tokens.
    codec : str | path-like | DACCodec | None
        The codec to decode with. ``None`` loads the shipped codec with the weights of
        ``identity`` (any release, found by its weights' hash) or the DAC tag it names, from
        DAC's cache only (a file never makes mne-dac download); any other codec must be given.
    **opts
        Passed to :func:`load_codec`.

    Returns
    -------
    codec : DACCodec
        A codec whose identity matches ``identity``.
    """
    if codec is None:
        shipped = shipped_codec_of(identity)
        if shipped is not None:
            codec = shipped.name
        elif identity.name in DAC_TAGS:
            codec = identity.name
            opts.setdefault("download", False)
        else:
            raise ValueError(
                f"These tokens were made with codec {identity.describe()}, which mne-dac "
                "cannot find by itself: pass it as codec= (a DACCodec or its file)."
            )
    codec = load_codec(codec, sfreq=identity.config.get("sfreq"), **opts)
    identity.check_matches(codec.identity)
    return codec
