"""DAC-SC: the DAC codec applied to each EEG channel independently."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from mne.utils import logger

from mne_dac.codecs.config import CodecConfig
from mne_dac.models.code_search import search_codes
from mne_dac.models.dac_model import dac_config, decoder_context_frames, encoder_context_frames, quantizer_beam
from mne_dac.models.quantizer import latents_from_codes
from mne_dac.signal.preprocessing import PreprocessingSettings
from mne_dac.utils._deprecation import renamed_attribute
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._json import jsonable

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from mne_dac.signal.groups import ChannelGroups


class CodecMismatchError(ValueError):
    """Raised when tokens are decoded with a codec other than the one that made them."""


@dataclass(frozen=True)
class CodecIdentity:
    """What identifies a codec: its configuration and a hash of its weights.

    Attributes
    ----------
    name : str
        Human-readable name (``"default"``, a DAC tag, a file name…). Informative only.
    architecture : str
        ``"dac-sc"`` (one channel at a time).
    config : dict
        Architecture (``dac.DAC`` arguments) and EEG sampling rate ``sfreq``.
    weights_sha256 : str
        SHA-256 of the weights (parameters and buffers, in key order).
    """

    name: str
    architecture: str
    config: dict = field(hash=False)
    weights_sha256: str

    def matches(self, other: CodecIdentity) -> bool:
        """Whether ``other`` is the same codec (same architecture, config and weights)."""
        return (
            self.architecture == other.architecture
            and jsonable(self.config) == jsonable(other.config)
            and self.weights_sha256 == other.weights_sha256
        )

    def check_matches(self, other: CodecIdentity) -> None:
        """Raise :class:`CodecMismatchError` unless ``other`` is the same codec."""
        if not self.matches(other):
            raise CodecMismatchError(
                f"These tokens were made with codec {self.describe()} but the codec given "
                f"is {other.describe()}. Decoding them with another codec would give "
                "wrong signals: load the codec they were written with (load_codec)."
            )

    def describe(self) -> str:
        """One-line description: name, architecture and short weight hash."""
        return f"{self.name!r} ({self.architecture}, weights {self.weights_sha256[:12]})"

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict."""
        return jsonable(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> CodecIdentity:
        """Build from :meth:`to_dict` output."""
        return cls(d["name"], d["architecture"], d["config"], d["weights_sha256"])


@dataclass(frozen=True)
class _Chunk:
    """Frames [start, stop) of one token stream, computed from frames [lo, hi)."""

    stream: int
    lo: int
    start: int
    stop: int
    hi: int


def _chunks(n_streams: int, n_frames: int, chunk_frames: int, context: int) -> list[_Chunk]:
    return [
        _Chunk(
            stream,
            max(0, start - context),
            start,
            min(start + chunk_frames, n_frames),
            min(n_frames, start + chunk_frames + context),
        )
        for stream in range(n_streams)
        for start in range(0, n_frames, chunk_frames)
    ]


def _batches(chunks: list[_Chunk], batch_size: int, by_stream: bool) -> Iterator[list[_Chunk]]:
    """Group chunks of equal span (and, with ``by_stream``, of one stream) into batches."""
    by_key: dict[tuple[int, int], list[_Chunk]] = {}
    for c in chunks:
        by_key.setdefault((c.hi - c.lo, c.stream if by_stream else 0), []).append(c)
    for group in by_key.values():
        for i in range(0, len(group), batch_size):
            yield group[i : i + batch_size]


@fill_doc
class DACCodec:
    """DAC-SC: a ``dac.DAC`` model coding EEG one channel at a time.

    Channels are folded into the batch. Signals of any length are padded to whole
    frames and trimmed exactly; long signals are processed in overlapping chunks
    whose overlap covers the receptive field, so the codes equal those of a
    whole-signal pass, with bounded memory.

    Parameters
    ----------
    model : dac.DAC
        The underlying DAC model (audio-pretrained, fine-tuned or random).
    sfreq : float
        EEG sampling rate the codec works at (512 Hz in the paper, or 256 Hz).
    name : str
        Name recorded in the codec identity.
    preprocessing : PreprocessingSettings | None
        Default preprocessing for this codec. ``None`` means the paper's.
    default_n_codebooks : int | None
        Codebooks to code with when none are asked for (``None``: all of them). A deep codec
        can code at a modest rate by default and at finer depths on request.
    channel_levels : bool
        Scale each EEG channel to the codec's level by default (a clip level per channel,
        :func:`~mne_dac.preprocessing_at_level` with ``per_channel=True``) instead of at ``preprocessing``'s fixed
        clip level: for a codec fitted at those levels (:attr:`CodecConfig.channel_levels
        <mne_dac.codecs.config.CodecConfig.channel_levels>`). Passing ``preprocessing=`` still sets the scaling.
    %(device)s
    batch_size : int
        Number of chunks processed at once.
    chunk_frames : int
        Frames per chunk for long signals (memory is bounded by
        ``batch_size * chunk_frames * hop_length`` samples).
    mixed_precision : bool
        Use bfloat16 autocast on CUDA devices (ignored on CPU, which is exact).
    search : int
        Encoder search: entries tried per codebook at each frame, keeping those whose decoded
        waveform is nearest the signal (:mod:`mne_dac.models.code_search`). ``0`` (default) takes
        DAC's nearest entries. Lower error at the same bits (default codec, ``search=4``: PRD
        36.0 %% against 38.3 %% at 88 bits/s per channel), slower encoding (on CPU, ``search=2``:
        about 20×, ``search=4``: about 80×);
        decoding and files are unchanged. The codes then depend on where the chunks fall
        (``chunk_frames``). DAC-SC only.

    Notes
    -----
    One frame is ``hop_length`` samples (512 for DAC's 44 kHz model), so at 512 Hz
    there is one frame per second and ``n_codebooks * log2(codebook_size)`` bits per
    second per channel (90 for 9 codebooks of 1024 entries).
    """

    architecture = "dac-sc"

    def __init__(
        self,
        model: torch.nn.Module,
        sfreq: float = 512.0,
        *,
        name: str = "custom",
        preprocessing: PreprocessingSettings | None = None,
        default_n_codebooks: int | None = None,
        channel_levels: bool = False,
        device: str | None = None,
        batch_size: int = 16,
        chunk_frames: int = 128,
        mixed_precision: bool = False,
        search: int = 0,
    ) -> None:
        import torch

        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {sfreq}")
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = model.to(device).eval()
        self.sfreq = float(sfreq)
        self.name = name
        self.preprocessing = preprocessing or PreprocessingSettings()
        self.default_n_codebooks = default_n_codebooks
        self.channel_levels = bool(channel_levels)
        self.device = torch.device(device)
        self.batch_size = int(batch_size)
        self.chunk_frames = int(chunk_frames)
        self.mixed_precision = bool(mixed_precision)
        self.search = search
        self._identity_cache: tuple[int, CodecIdentity] | None = None
        #: Frames of signal each side of a frame that its code depends on (chunked coding is exact).
        self.encoder_context = encoder_context_frames(model)
        #: Frames of codes each side of a frame that its decoded samples depend on.
        self.decoder_context = decoder_context_frames(model)

    # ------------------------------------------------------------------ properties
    @property
    def hop_length(self) -> int:
        """Samples per frame."""
        return int(self.model.hop_length)

    @property
    def search(self) -> int:
        """Entries the encoder search tries per codebook at each frame (``0``: DAC's nearest entries)."""
        return self._search

    @search.setter
    def search(self, search: int) -> None:
        if int(search) < 0:
            raise ValueError(f"search must be >= 0, got {search}")
        self._search = int(search)

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sfreq / self.hop_length

    @property
    def n_codebooks(self) -> int:
        """Number of residual codebooks of the model."""
        return int(self.model.n_codebooks)

    @property
    def default_n_codebooks(self) -> int | None:
        """Codebooks coded with when none are asked for (``None``: all of them); settable."""
        return self._default_n_codebooks

    @default_n_codebooks.setter
    def default_n_codebooks(self, n_codebooks: int | None) -> None:
        self._default_n_codebooks = None if n_codebooks is None else self.check_n_codebooks(n_codebooks)

    @property
    def codebook_size(self) -> int:
        """Entries per codebook."""
        return int(self.model.codebook_size)

    @property
    def bits_per_code(self) -> int:
        """Bits needed for one code, ``ceil(log2(codebook_size))``."""
        return max(1, math.ceil(math.log2(self.codebook_size)))

    @property
    def nested_depth(self) -> int:
        """The depth from which a deeper code starts with the shallower one.

        Coding with ``k`` codebooks gives the first ``k`` codes of coding with more for every ``k``
        at least this: 1 for DAC's greedy quantizer; for a beam search
        (:class:`~mne_dac.models.beam_search.BeamResidualVectorQuantize`) its searched codebooks,
        which a shallower code searches for itself. Below it, decoding the first ``k`` codes of a
        deeper code is not what coding with ``k`` codebooks gives.
        """
        beam_width, beam_codebooks = quantizer_beam(self.dac_model)
        return int(beam_codebooks) if beam_width > 1 else 1

    def bits_per_second(self, n_codebooks: int | None = None) -> float:
        """Bits per second per channel with ``n_codebooks`` codebooks (``None``: the default depth)."""
        return self.check_n_codebooks(n_codebooks) * self.bits_per_code * self.frame_rate

    bitrate = renamed_attribute("bits_per_second")

    @property
    def dac_model(self) -> torch.nn.Module:
        """The ``dac.DAC`` model (the whole model, for DAC-SC)."""
        return self.model

    @property
    def config(self) -> dict:
        """Architecture (``dac.DAC`` arguments) and EEG sampling rate."""
        return dict(dac_config(self.dac_model), sfreq=self.sfreq)

    @property
    def identity(self) -> CodecIdentity:
        """Configuration plus a SHA-256 of the weights (recomputed after training)."""
        state = self.model.state_dict()
        version = sum(t._version for t in state.values())
        if self._identity_cache is None or self._identity_cache[0] != version:
            digest = hashlib.sha256()
            for key in sorted(state):
                tensor = state[key].detach().to("cpu", dtype=state[key].dtype).contiguous()
                digest.update(key.encode())
                digest.update(tensor.numpy().tobytes())
            ident = CodecIdentity(self.name, self.architecture, self.config, digest.hexdigest())
            self._identity_cache = (version, ident)
        return self._identity_cache[1]

    def __repr__(self) -> str:
        n_params = sum(p.numel() for p in self.model.parameters())
        depth = (
            ""
            if self.default_n_codebooks is None
            else f" with {self.default_n_codebooks}, up to {self.bits_per_second(self.n_codebooks):g}"
        )
        return (
            f"<DACCodec {self.name!r} | {self.sfreq:g} Hz, hop {self.hop_length}, "
            f"{self.n_codebooks}×{self.codebook_size} codebooks "
            f"({self.bits_per_second():g} bits/s/channel{depth}), {n_params / 1e6:.2f} M parameters, "
            f"{self.device}>"
        )

    # ------------------------------------------------------------------ helpers
    def check_n_codebooks(self, n_codebooks: int | None) -> int:
        """Check a number of codebooks to code with; ``None`` means the default depth (all codebooks unless set)."""
        if n_codebooks is None:
            return self.n_codebooks if self.default_n_codebooks is None else self.default_n_codebooks
        if isinstance(n_codebooks, bool) or not isinstance(n_codebooks, (int, np.integer)):
            raise TypeError(f"n_codebooks must be an int or None, got {type(n_codebooks).__name__}")
        if not 1 <= n_codebooks <= self.n_codebooks:
            raise ValueError(f"n_codebooks must be between 1 and {self.n_codebooks}, got {n_codebooks}")
        return int(n_codebooks)

    def _check_codes(
        self, codes: np.ndarray, n_codebooks: int | None, n_streams: int | None = None, what: str = "n_channels"
    ) -> int:
        """Check codes of shape ``(n_streams, n_codebooks, n_frames)``; return the codebooks to decode."""
        if codes.ndim != 3 or (n_streams is not None and codes.shape[0] != n_streams):
            dim = what if n_streams is None else f"{what}={n_streams}"
            raise ValueError(f"codes must have shape ({dim}, n_codebooks, n_frames), got {codes.shape}")
        if not np.issubdtype(codes.dtype, np.integer):
            raise TypeError(f"codes must be integers, got {codes.dtype}")
        if codes.shape[1] > self.n_codebooks:
            raise ValueError(f"codes have {codes.shape[1]} codebooks but the codec has {self.n_codebooks}")
        if codes.size and (codes.min() < -1 or codes.max() >= self.codebook_size):
            raise ValueError(
                f"codes must lie in [0, {self.codebook_size}) (or be -1: a codebook not used at that frame), "
                f"got [{codes.min()}, {codes.max()}]"
            )
        n_q = codes.shape[1] if n_codebooks is None else self.check_n_codebooks(n_codebooks)
        if n_q > codes.shape[1]:
            raise ValueError(f"Asked for {n_q} codebooks but codes hold only {codes.shape[1]}")
        return n_q

    def n_frames(self, n_samples: int) -> int:
        """Frames needed for ``n_samples`` samples at the codec rate."""
        return max(1, -(-n_samples // self.hop_length))

    def _autocast(self):
        import torch

        if self.mixed_precision and self.device.type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def to(self, device: str) -> DACCodec:
        """Move the codec to ``device`` (in place) and return it."""
        import torch

        self.device = torch.device(device)
        self.model.to(self.device)
        return self

    # ------------------------------------------------------------------ channels
    def channel_groups(
        self, ch_names: list[str], groups: Any = None, *, grouping: str | None = None, montage: Any = None
    ) -> ChannelGroups | None:
        """The groups channels are coded in: ``None``, as DAC-SC codes each channel alone.

        Raises
        ------
        ValueError
            If ``groups`` or ``grouping`` is given: only DAC-MC codecs code channels in groups.
        """
        self.check_groups(groups if groups is not None else grouping)
        return None

    def check_groups(self, groups: Any) -> None:
        """Check that the codec can code channels in ``groups``: DAC-SC only takes ``None``."""
        if groups is not None:
            raise ValueError(f"groups are for DAC-MC codecs; {self.identity.describe()} codes each channel alone.")

    def channel_positions(self, ch_names: list[str], montage: Any = None) -> np.ndarray | None:
        """Electrode positions the codec needs: ``None``, as DAC-SC does not use them."""
        return None

    def n_streams(self, n_channels: int, groups: ChannelGroups | None = None) -> int:
        """Number of token streams for ``n_channels`` channels: one per channel."""
        return n_channels

    # ------------------------------------------------------------------ coding
    def _run_chunked(
        self,
        n_streams: int,
        n_frames: int,
        context: int,
        step: Callable[[list[_Chunk]], None],
        *,
        desc: str,
        progress: bool,
        by_stream: bool = False,
    ) -> None:
        """Run ``step`` on batches of overlapping chunks of every stream, without gradients.

        Each chunk holds ``chunk_frames`` frames plus ``context`` frames each side, so that a
        chunk's central frames equal those of a whole-signal pass. ``by_stream`` keeps the
        chunks of a batch within one stream.
        """
        import torch

        chunks = _chunks(n_streams, n_frames, self.chunk_frames, context)
        with torch.inference_mode(), self._autocast(), _progress(len(chunks), progress, desc) as bar:
            for batch in _batches(chunks, self.batch_size, by_stream):
                step(batch)
                bar.update(len(batch))

    def _check_data(self, data: np.ndarray, ch_names: list[str] | None) -> np.ndarray:
        data = np.asarray(data, dtype=np.float32)
        if data.ndim != 2:
            raise ValueError(f"data must have shape (n_channels, n_samples), got {data.shape}")
        if ch_names is not None and len(ch_names) != data.shape[0]:
            raise ValueError(f"Got {len(ch_names)} channel names for {data.shape[0]} channels.")
        return data

    @fill_doc
    def encode(
        self,
        data: np.ndarray,
        n_codebooks: int | None = None,
        *,
        ch_names: list[str] | None = None,
        groups: ChannelGroups | None = None,
        positions: np.ndarray | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Encode codec-domain signals into codes.

        Parameters
        ----------
        data : array, shape (n_channels, n_samples)
            Signals at the codec rate, scaled to [-1, 1] (see
            :func:`mne_dac.signal.preprocessing.to_codec_domain`).
        %(n_codebooks)s
        %(codec_channels)s
        progress : bool
            Show a progress bar.

        Returns
        -------
        codes : array of int64, shape (n_streams, n_codebooks, n_frames)
            One stream per channel (per group for a DAC-MC codec in the ``"group"`` layout);
            ``n_frames = ceil(n_samples / hop_length)``.
        """
        import torch

        n_q = self.check_n_codebooks(n_codebooks)
        data = self._check_data(data, ch_names)
        self.channel_groups(ch_names, groups)
        n_channels, n_samples = data.shape
        n_frames = self.n_frames(n_samples)
        hop = self.hop_length
        codes = np.empty((n_channels, n_q, n_frames), dtype=np.int64)

        def chunk_signal(c: _Chunk) -> torch.Tensor:  # a view of data; only the last chunk is zero-padded
            lo, hi = c.lo * hop, c.hi * hop
            segment = torch.from_numpy(data[c.stream, lo : min(hi, n_samples)])
            return segment if hi <= n_samples else torch.nn.functional.pad(segment, (0, hi - n_samples))

        def step(batch: list[_Chunk]) -> None:
            x = torch.stack([chunk_signal(c) for c in batch])
            z = self.model.encoder(x[:, None].to(self.device)).float()
            _, c_out, *_ = self.model.quantizer(z, n_q)
            c_out = c_out[:, :n_q]
            if self.search:
                searched = torch.zeros(c_out.shape[0], c_out.shape[2], dtype=torch.bool, device=c_out.device)
                for i, c in enumerate(batch):
                    searched[i, c.start - c.lo : c.stop - c.lo] = True
                c_out = search_codes(self.model, x.to(self.device).float(), z, c_out, self.search, searched)
            for c, cc in zip(batch, c_out.cpu().numpy()):
                codes[c.stream, :, c.start : c.stop] = cc[:, c.start - c.lo : c.stop - c.lo]

        self._run_chunked(n_channels, n_frames, self.encoder_context, step, desc="Encoding", progress=progress)
        return codes

    @fill_doc
    def decode(
        self,
        codes: np.ndarray,
        n_codebooks: int | None = None,
        *,
        ch_names: list[str] | None = None,
        groups: ChannelGroups | None = None,
        positions: np.ndarray | None = None,
        n_samples: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Decode codes into codec-domain signals.

        Parameters
        ----------
        codes : array of int, shape (n_streams, n_codebooks, n_frames)
            Codes from :meth:`encode`. ``-1`` marks a codebook not used at that frame: the
            frame is decoded with its other codebooks (a depth that varies along time).
        n_codebooks : int | None
            Decode with only the first ``n_codebooks`` codebooks (at most as many as
            ``codes`` holds). ``None`` uses all those in ``codes``.
        %(codec_channels)s
        n_samples : int | None
            Trim the output to this many samples (default ``n_frames * hop_length``).
        progress : bool
            Show a progress bar.

        Returns
        -------
        data : array of float32, shape (n_channels, n_samples)
            Signals at the codec rate in [-1, 1].
        """
        import torch

        codes = np.asarray(codes)
        self.channel_groups(ch_names, groups)
        n_q = self._check_codes(codes, n_codebooks, None if ch_names is None else len(ch_names))
        n_channels, _, n_frames = codes.shape
        hop = self.hop_length
        out = np.empty((n_channels, n_frames * hop), dtype=np.float32)
        codes_t = torch.from_numpy(np.ascontiguousarray(codes[:, :n_q], dtype=np.int64))

        def step(batch: list[_Chunk]) -> None:
            c_in = torch.stack([codes_t[c.stream, :, c.lo : c.hi] for c in batch]).to(self.device)
            z = latents_from_codes(self.model.quantizer, c_in)
            y = self.model.decoder(z).float()[:, 0].cpu().numpy()
            for c, yy in zip(batch, y):
                out[c.stream, c.start * hop : c.stop * hop] = yy[(c.start - c.lo) * hop : (c.stop - c.lo) * hop]

        self._run_chunked(n_channels, n_frames, self.decoder_context, step, desc="Decoding", progress=progress)
        return out if n_samples is None else out[:, :n_samples]

    def encode_epochs(self, data: np.ndarray, n_codebooks: int | None = None, **channels: Any) -> np.ndarray:
        """Encode epochs of shape ``(n_epochs, n_channels, n_samples)`` (codec domain).

        ``channels`` are :meth:`encode`'s ``ch_names``, ``groups`` and ``positions``. Returns codes
        of shape ``(n_epochs, n_streams, n_codebooks, n_frames)``. DAC-SC codes all the epochs'
        channels in one pass.
        """
        data = np.asarray(data, dtype=np.float32)
        if data.ndim != 3:
            raise ValueError(f"data must have shape (n_epochs, n_channels, n_samples), got {data.shape}")
        n_epochs, n_channels, n_samples = data.shape
        self._check_data(data[0], channels.get("ch_names"))
        codes = self.encode(data.reshape(n_epochs * n_channels, n_samples), n_codebooks, groups=channels.get("groups"))
        return codes.reshape(n_epochs, n_channels, *codes.shape[1:])

    def decode_epochs(
        self, codes: np.ndarray, n_codebooks: int | None = None, *, n_samples: int | None = None, **channels: Any
    ) -> np.ndarray:
        """Decode codes of shape ``(n_epochs, n_streams, n_codebooks, n_frames)`` into epochs."""
        n_epochs, n_streams = codes.shape[:2]
        self.channel_groups(channels.get("ch_names"), channels.get("groups"))
        flat = codes.reshape(n_epochs * n_streams, *codes.shape[2:])
        decoded = self.decode(flat, n_codebooks, n_samples=n_samples)
        return decoded.reshape(n_epochs, n_streams, -1)

    # ------------------------------------------------------------------ saving
    def get_config(self) -> CodecConfig:
        """Architecture, model arguments, rate, name and preprocessing: what rebuilds the codec."""
        return CodecConfig(
            self.architecture,
            self.name,
            self.sfreq,
            dac_config(self.dac_model),
            self.preprocessing,
            default_n_codebooks=self.default_n_codebooks,
            channel_levels=self.channel_levels,
        )

    @classmethod
    def from_config(cls, config: CodecConfig, state_dict: dict, **options: Any) -> DACCodec:
        """Build the codec of ``config`` with ``state_dict``'s weights.

        Parameters
        ----------
        config : CodecConfig
            The codec's configuration (:meth:`get_config`).
        state_dict : dict
            The model's weights.
        **options
            Run-time options: ``device``, ``batch_size``, ``chunk_frames``, ``mixed_precision``, ``search``.
        """
        return cls(config.build_model(state_dict), config.sfreq, **config.codec_kwargs(), **options)

    def runtime_options(self) -> dict:
        """Run-time options (device, batching, precision, encoder search): not part of the codec's configuration."""
        return dict(
            device=str(self.device),
            batch_size=self.batch_size,
            chunk_frames=self.chunk_frames,
            mixed_precision=self.mixed_precision,
            search=self.search,
        )

    def _cpu_weights(self) -> dict:
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def __getstate__(self) -> dict:
        """Pickle (and deep-copy) as configuration, weights and run-time options.

        DAC's weight-normalised layers hold non-leaf tensors, which neither
        ``copy.deepcopy`` nor torch's multiprocessing pickler accept once the model has
        run, so the model is rebuilt from its state dict instead.
        """
        return {"config": self.get_config().to_dict(), "state_dict": self._cpu_weights(), **self.runtime_options()}

    def __copy__(self) -> DACCodec:
        """Shallow copy: shares the model (unlike pickling and ``copy.deepcopy``)."""
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __setstate__(self, state: dict) -> None:
        """Rebuild the codec from :meth:`__getstate__`'s configuration and weights."""
        state = dict(state)
        config = CodecConfig.from_dict(state.pop("config"))
        self.__init__(config.build_model(state.pop("state_dict")), config.sfreq, **config.codec_kwargs(), **state)

    def save(
        self,
        fname: str | Path,
        *,
        overwrite: bool = False,
        metadata: dict | None = None,
    ) -> Path:
        """Save as an mne-dac codec file (reload with :func:`mne_dac.load_codec`).

        The file holds the weights as safetensors and the configuration and ``metadata`` as
        JSON (:mod:`mne_dac.codecs.codec_file`): loading it runs no code.

        Parameters
        ----------
        fname : path-like
            Output file (``.safetensors`` or ``.pt`` by convention).
        overwrite : bool
            Overwrite an existing file.
        metadata : dict | None
            Extra JSON-serialisable information (e.g. training provenance).

        Returns
        -------
        fname : Path
            The file written.
        """
        from mne_dac.codecs.codec_file import write_codec_file
        from mne_dac.utils._atomic import atomic_write

        fname = Path(fname)
        with atomic_write(fname, overwrite=overwrite) as tmp:
            write_codec_file(tmp, self.get_config(), self._cpu_weights(), metadata)
        logger.info("Saved codec %s to %s", self.identity.describe(), fname)
        return fname


def _progress(total: int, enabled: bool, desc: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="chunk", disable=not enabled)
