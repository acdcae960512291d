"""Transform-coded ``.eegdac`` files: the EEG's principal components coded block by block, in place of tokens.

Two coders share this layout: ``"klt-dct"``, the block DCT of the components
(:class:`~mne_dac.signal.transform_coding.CrossChannelDCTCoder`'s coder), and ``"klt-codec"``, a DAC-SC
codec on the components with a depth chosen per component and second
(:mod:`mne_dac.io.component_blocks`). A file is read by time, as a token file is:

- the channels' principal directions are fitted once, on the whole recording (a first pass),
  and stored in the file's header as float16 (``n_channels × n_channels``; counted in the
  bits; ``"klt-codec"`` also stores each component's gain); when they would take more than
  :data:`MAX_DIRECTION_SHARE` of the budget (a short recording at a low rate), the channels
  are coded as they are;
- each block of the file (:data:`BLOCK_FRAMES` frames, 64 s) holds the payload of its principal
  components (``"klt-dct"``: :class:`~mne_dac.signal.transform_coding.DCTCoder`'s), within the
  block's share of the budget, so no block needs another to decode;
- when the header names band edges (files written without a residual layer), the payload starts with
  the block's band gains (:mod:`mne_dac.io.band_gains`): each channel's δ, θ, α and β power in the
  block is the original's.

A frame is one DCT block (:data:`DCT_BLOCK` samples at :data:`TRANSFORM_SFREQ`). The EEG is
preprocessed as for the codecs (resampled, high-passed at 0.1 Hz) but clipped only at
±10 mV: no network needs its input in [-1, 1], so seizures keep their amplitude.
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from typing import Any

import numpy as np

from mne_dac.codecs.spatial import component_gains
from mne_dac.io.band_gains import (
    REFERENCE_CLIP,
    apply_band_gains,
    band_edges_of_header,
    band_gains,
    gain_bits,
    kept_band_edges,
    split_band_gains,
)
from mne_dac.io.validation import EEGDACFormatError
from mne_dac.signal.preprocessing import CodecDomainStream, PreprocessingSettings
from mne_dac.signal.transform_coding import BudgetTooLowError, DCTCoder, directions_of_covariance

__all__ = [
    "BASE_RATES",
    "BASE_RATE_SAMPLES",
    "BASE_RATE_SAMPLE_SECONDS",
    "BLOCK_FRAMES",
    "COMPONENT_CODEC",
    "DCT_BLOCK",
    "DEFAULT_BITS_PER_SECOND",
    "MAX_DEPTH_SECONDS",
    "MAX_DIRECTION_SHARE",
    "NO_CODES",
    "TRANSFORM_CODERS",
    "TRANSFORM_MARGIN",
    "TRANSFORM_PREPROCESSING",
    "TRANSFORM_SFREQ",
    "BlockFrames",
    "TransformFrames",
    "TransformSpec",
    "fit_transform",
    "holds_whole_block",
    "is_transform_coder",
    "n_file_blocks",
    "transform_of_header",
]

#: The coders a file can hold in place of tokens (``write_raw_dac(codec=...)``).
TRANSFORM_CODERS = ("klt-dct", "klt-codec")
#: The shipped DAC-SC codec that ``"klt-codec"`` writes with.
COMPONENT_CODEC = "linear"
#: The rate the EEG is coded at (Hz).
TRANSFORM_SFREQ = 256.0
#: Samples of one DCT block (a frame): 2 s at :data:`TRANSFORM_SFREQ`.
DCT_BLOCK = 512
#: Frames per block of the file: 64 s. LZMA learns the statistics of each block anew; on eegmat, 16-s blocks
#: cost 2 points of PRD at 88 bits/s per channel against the whole recording, 64-s blocks 0.7 (and a read of a
#: time range decodes a 64-s block in about 10 ms).
BLOCK_FRAMES = 32
#: The longest depth choice of a ``"klt-codec"`` file (s): a block.
MAX_DEPTH_SECONDS = BLOCK_FRAMES * DCT_BLOCK // int(TRANSFORM_SFREQ)
#: The 0.1 Hz high-pass of the codecs; clipping only beyond ±10 mV (the level that band powers are measured at).
TRANSFORM_PREPROCESSING = PreprocessingSettings(highpass=0.1, clip=REFERENCE_CLIP)
#: The directions are stored when they take at most this share of the file's bits.
MAX_DIRECTION_SHARE = 0.25
#: The default budget (bits/s per EEG channel): the default codec's with its two codebooks.
DEFAULT_BITS_PER_SECOND = 88.0
#: The base rates (bits/s per channel) tried under a residual layer (``max_error``) when none is given: the base
#: that makes the file smallest depends on the bound and the recording (on eegmat at 1 µV, 352; on a clinical
#: Nihon Kohden file, the smallest: there the base does not predict the samples better than they predict
#: themselves, and 1 bit/s, where a whole block holds it, costs 2 bits/s less than 4). Rates at which a whole
#: block cannot hold its payload's header are not tried (1 bit/s needs about 19 channels).
BASE_RATES = (1.0, 4.0, 11.0, 22.0, 44.0, 88.0, 176.0, 352.0, 704.0)
#: Seconds of each excerpt on which the base rate is chosen.
BASE_RATE_SAMPLE_SECONDS = 16.0
#: Excerpts, spread evenly from the recording's start to its end, on which the base rate is chosen (the start
#: alone can mislead: on one eegmat recording at 1 µV its first 16 s chose a base that made the file 28 %
#: larger). A recording too short for them not to overlap gets fewer.
BASE_RATE_SAMPLES = 3
#: Volts kept for the decoder's float rounding on another machine, in a residual layer on a transform code: 0.01 µV.
#: The decoded samples are float32 of at most the clip level: one rounding flip is below 1e-9 V.
TRANSFORM_MARGIN = 1e-8
#: What a block's content CRC covers of a transform code: nothing (the payload's SHA-256 guards it, and
#: decoded floats may differ in their last bit from one machine to another).
NO_CODES = np.empty(0, dtype=np.int32)


def n_file_blocks(n_codec: int) -> int:
    """Blocks of a file of ``n_codec`` samples at :data:`TRANSFORM_SFREQ` (at least one frame)."""
    return -(-max(1, -(-n_codec // DCT_BLOCK)) // BLOCK_FRAMES)


@functools.cache  # an encode of a whole block: asked for each rate of every file
def holds_whole_block(bits_per_second: float, n_channels: int) -> bool:
    """Whether a whole block of ``n_channels`` at ``bits_per_second`` holds its payload's header, the directions
    taking their largest share of the budget (:data:`MAX_DIRECTION_SHARE`).

    A shorter block (a recording's last) is given a whole block's share (:meth:`TransformFrames.encode_block`).
    """
    zeros = np.zeros((n_channels, BLOCK_FRAMES * DCT_BLOCK))
    try:
        DCTCoder(bits_per_second * (1 - MAX_DIRECTION_SHARE), TRANSFORM_SFREQ, DCT_BLOCK).encode(zeros)
    except BudgetTooLowError:
        return False
    return True


def is_transform_coder(codec: Any, *, n_codebooks: int | None = None, groups: Any = None,
                       bits_per_second: float | None = None, spelling: dict[str, str] | None = None) -> bool:  # fmt: skip
    """Whether ``codec`` names a transform coder; a :class:`ValueError` when the options do not fit it.

    ``groups`` applies to codecs only, ``n_codebooks`` to a codec's tokens only; ``bits_per_second`` (positive) to
    transform coders, and to a codec's depths chosen per channel and 4 s (then without ``n_codebooks`` or
    ``groups``). ``spelling``: how the messages name the options (the command line's flags), by parameter name.
    """
    name = {"n_codebooks": "n_codebooks", "groups": "groups", "bits_per_second": "bits_per_second", **(spelling or {})}
    if bits_per_second is not None and not (
        isinstance(bits_per_second, (int, float)) and not isinstance(bits_per_second, bool)
        and 0 < bits_per_second < float("inf")
    ):  # fmt: skip
        raise ValueError(f"{name['bits_per_second']} must be a positive number, got {bits_per_second!r}")
    if not (isinstance(codec, str) and codec in TRANSFORM_CODERS):
        for option, value in (("n_codebooks", n_codebooks), ("groups", groups)):
            if bits_per_second is not None and value is not None:
                raise ValueError(f"{name['bits_per_second']} and {name[option]} exclude each other: a codec's tokens "
                                 f"keep {name['n_codebooks']} codebooks everywhere, within {name['bits_per_second']} "
                                 "its depth is chosen per channel and 4 s (DAC-SC: no channel groups)")  # fmt: skip
        return False
    for option, value in (("n_codebooks", n_codebooks), ("groups", groups)):
        if value is not None:
            raise ValueError(f"{name[option]} does not apply to codec {codec!r} (a transform code: no tokens, no "
                             "codebooks, no channel groups)")  # fmt: skip
    return True


@dataclass(frozen=True)
class TransformSpec:
    """What a transform-coded file's header says of its coding (header field ``"transform"``).

    Attributes
    ----------
    method : str
        ``"klt-dct"`` or ``"klt-codec"``.
    bits_per_second : float
        The budget in bits per second per EEG channel, the directions included.
    directions : array of float16, shape (n_channels, n_directions)
        The principal directions of the EEG channels (``n_directions`` 0: the channels are
        coded as they are).
    gains : array of float16, shape (n_directions,) | None
        ``"klt-codec"``: each component's RMS over the channels' mean RMS (the codec codes
        ``component / gain``); ``None`` for ``"klt-dct"``.
    band_edges : tuple of float
        Edges (Hz) of the bands whose power each block keeps (:mod:`mne_dac.io.band_gains`); empty:
        none (files written under a residual layer, and before mne-dac kept band powers).
    depth_seconds : int
        ``"klt-codec"``: seconds of each depth choice (1 to a block's 64; the header names it when not 1).
    block_scales : bool
        ``"klt-codec"``: each block stores, for each coded signal, the scale that keeps it within the codec's
        input range (:class:`~mne_dac.io.component_blocks.ComponentCodecFrames`); the header names it when true.
    """

    method: str
    bits_per_second: float
    directions: np.ndarray
    gains: np.ndarray | None = None
    band_edges: tuple[float, ...] = ()
    depth_seconds: int = 1
    block_scales: bool = False

    @property
    def n_components(self) -> int:
        """Signals coded per block: the directions, or the channels without them."""
        n_channels, n_directions = self.directions.shape
        return n_directions or n_channels

    @property
    def side_bits(self) -> int:
        """Bits of the directions and gains (float16 each), counted in the budget."""
        return 16 * (self.directions.size + (0 if self.gains is None else self.gains.size))

    def block_bits(self, n_channels: int) -> int:
        """Bits that each block's band gains take before its payload (0 without band edges)."""
        return gain_bits(n_channels, self.band_edges)

    def to_dict(self) -> dict:
        """The header's field: the directions (and gains) as base64 of little-endian float16 (column-major)."""
        n_channels, n_directions = self.directions.shape
        d = {"method": self.method, "bits_per_second": self.bits_per_second, "n_channels": n_channels,
             "n_directions": n_directions, "directions": _float16_text(self.directions)}  # fmt: skip
        d = d if self.gains is None else {**d, "gains": _float16_text(self.gains)}
        d = d if self.depth_seconds == 1 else {**d, "depth_seconds": self.depth_seconds}
        d = {**d, "block_scales": True} if self.block_scales else d
        return {**d, "band_edges": list(self.band_edges)} if self.band_edges else d

    @classmethod
    def from_dict(cls, d: Any, n_channels: int) -> TransformSpec:
        """Read and check the header's field; :class:`~mne_dac.EEGDACFormatError` when it is malformed."""
        if not isinstance(d, dict) or d.get("method") not in TRANSFORM_CODERS:
            raise EEGDACFormatError(f"header field 'transform.method': expected one of {TRANSFORM_CODERS}")
        keys = {"method", "bits_per_second", "n_channels", "n_directions", "directions"}
        keys |= {"gains"} if d["method"] == "klt-codec" else set()
        optional = {"band_edges", "depth_seconds", "block_scales"} if d["method"] == "klt-codec" else {"band_edges"}
        if set(d) - optional != keys:
            raise EEGDACFormatError(f"header field 'transform': expected an object with the keys {sorted(keys)} "
                                    f"(and {' and '.join(map(repr, sorted(optional)))})")  # fmt: skip
        depth_seconds = d.get("depth_seconds", 1)
        if not (type(depth_seconds) is int and 1 <= depth_seconds <= MAX_DEPTH_SECONDS):
            raise EEGDACFormatError("header field 'transform.depth_seconds': expected an integer from 1 to "
                                    f"{MAX_DEPTH_SECONDS}")  # fmt: skip
        if type(d.get("block_scales", False)) is not bool:
            raise EEGDACFormatError("header field 'transform.block_scales': expected true or false")
        rate, n_dir = d["bits_per_second"], d["n_directions"]
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 < rate < float("inf"):
            raise EEGDACFormatError("header field 'transform.bits_per_second': expected a positive number")
        if d["n_channels"] != n_channels or not (isinstance(n_dir, int) and n_dir in (0, n_channels)):
            raise EEGDACFormatError(f"header field 'transform': expected {n_channels} channels and 0 or "
                                    f"{n_channels} directions")  # fmt: skip
        directions = _float16_array(d["directions"], n_channels * n_dir, "directions").reshape(
            n_channels, n_dir, order="F"
        )
        gains = None if "gains" not in d else _float16_array(d["gains"], n_dir, "gains")
        if gains is not None and not (gains > 0).all():
            raise EEGDACFormatError("header field 'transform.gains': expected positive gains")
        edges = band_edges_of_header(d.get("band_edges"), "transform.band_edges")
        return cls(d["method"], float(rate), directions, gains, edges, depth_seconds, d.get("block_scales", False))


def _float16_text(values: np.ndarray) -> str:
    """Base64 of little-endian float16 values (column-major)."""
    return base64.b64encode(np.asfortranarray(values, dtype="<f2").tobytes(order="F")).decode()


def _float16_array(text: Any, size: int, field: str) -> np.ndarray:
    """Invert :func:`_float16_text` for ``size`` finite values; :class:`~mne_dac.EEGDACFormatError` otherwise."""
    try:
        raw = base64.b64decode(text, validate=True) if isinstance(text, str) else None
    except ValueError:
        raw = None
    if raw is None or len(raw) != 2 * size:
        raise EEGDACFormatError(f"header field 'transform.{field}': expected base64 of {size} float16 values")
    values = np.frombuffer(raw, "<f2")
    if not np.isfinite(values).all():
        raise EEGDACFormatError(f"header field 'transform.{field}': not finite")
    return values


def transform_of_header(header: dict) -> TransformSpec:
    """The transform code of a file's (validated) JSON header, checked: its spec, and the rate, DCT block and
    file block that this version writes (any other would make a reader allocate what a crafter asks)."""
    for field, value in (("codec_sfreq", TRANSFORM_SFREQ), ("hop_length", DCT_BLOCK), ("block_frames", BLOCK_FRAMES)):
        if header.get(field) != value:
            raise EEGDACFormatError(f"header field {field!r}: a transform-coded file has {value:g}")
    spec = TransformSpec.from_dict(header.get("transform"), len(header["ch_names"]))
    if spec.method != header.get("coding"):
        raise EEGDACFormatError(f"header field 'transform.method': {spec.method!r} in a {header.get('coding')!r} file")
    return spec


def fit_transform(stream: CodecDomainStream, bits_per_second: float, method: str = "klt-dct", *,
                  directions: bool = True, depth_seconds: int = 1, block_scales: bool = False,
                  restore_bands: bool = True, progress: bool = False) -> TransformSpec:  # fmt: skip
    """The coding of a recording: its principal directions, fitted on the whole stream (one pass).

    Parameters
    ----------
    stream : CodecDomainStream
        The preprocessed EEG at :data:`TRANSFORM_SFREQ`.
    bits_per_second : float
        The budget per EEG channel.
    method : str
        One of :data:`TRANSFORM_CODERS`; ``"klt-codec"`` also gets each component's gain.
    directions : bool
        Fit the principal directions; ``False``: code the channels as they are (no first pass).
    depth_seconds : int
        ``"klt-codec"``: seconds of each depth choice.
    block_scales : bool
        ``"klt-codec"``: scale each block's signals into the codec's input range.
    restore_bands : bool
        Keep each block's band powers (:data:`~mne_dac.io.band_gains.BAND_EDGES`), where the band gains take
        at most :data:`~mne_dac.io.band_gains.MAX_BAND_GAIN_SHARE` of the budget.
    progress : bool
        Show a progress bar.

    Returns
    -------
    spec : TransformSpec
        The directions, or none when not asked for or when they would take more than
        :data:`MAX_DIRECTION_SHARE` of the budget.
    """
    from tqdm.auto import tqdm

    if not (np.isfinite(bits_per_second) and bits_per_second > 0):
        raise ValueError(f"bits_per_second must be a positive number, got {bits_per_second!r}")
    if block_scales and method != "klt-codec":
        raise ValueError(f"block scales are a codec's ('klt-codec'), not {method!r}'s")
    n_channels = stream.n_channels
    total_bits = bits_per_second * n_channels * stream.n_codec / stream.codec_sfreq
    with_gains = method == "klt-codec"
    edges = kept_band_edges(restore_bands, n_channels, n_file_blocks(stream.n_codec), total_bits)
    if not directions or 16 * n_channels * (n_channels + with_gains) > MAX_DIRECTION_SHARE * total_bits:
        none = np.zeros((n_channels, 0), dtype="<f2")
        return TransformSpec(method, float(bits_per_second), none, np.zeros(0, "<f2") if with_gains else None, edges,
                             depth_seconds, block_scales)  # fmt: skip
    covariance = np.zeros((n_channels, n_channels))
    starts = range(0, stream.n_codec, stream.segment)
    for start in tqdm(starts, desc="Fitting directions", unit="segment", disable=not progress):
        x = stream.get(start, min(start + stream.segment, stream.n_codec)).astype(np.float64)
        covariance += x @ x.T
    directions, variances = directions_of_covariance(covariance)
    gains = component_gains(variances, np.trace(covariance) / n_channels).astype("<f2") if with_gains else None
    return TransformSpec(method, float(bits_per_second), directions.astype("<f2"), gains, edges, depth_seconds,
                         block_scales)  # fmt: skip


class BlockFrames:
    """What the readers see of a transform-coded file's coder: it decodes as a codec does
    (:func:`~mne_dac.io.streaming.decode_samples`), the "codes" of a frame being its decoded samples, in an
    array of shape ``(n_channels, DCT_BLOCK, n_frames)``.

    A subclass codes a block's samples (``_encode``, ``_decode``); this class adds the block's band gains
    when the file's spec names band edges, and cuts the samples into frames.
    """

    #: Frames of context a decoded frame needs: none, each block stands alone.
    decoder_context = 0
    sfreq = TRANSFORM_SFREQ
    hop_length = DCT_BLOCK
    #: Volts kept, in a residual layer on the code, for the decoder's float rounding on another machine.
    margin = TRANSFORM_MARGIN
    spec: TransformSpec

    @staticmethod
    def payload_bits(spec: TransformSpec, n_codec: int) -> float:
        """Bits that a recording of ``n_codec`` samples leaves to its blocks' codes: the budget less the
        header's directions and gains and every block's band gains."""
        n_channels = spec.directions.shape[0]
        total = spec.bits_per_second * n_channels * n_codec / TRANSFORM_SFREQ
        return total - spec.side_bits - n_file_blocks(n_codec) * spec.block_bits(n_channels)

    def decode(self, frames: np.ndarray, n_codebooks: int | None = None, progress: bool = False,
               **channels: Any) -> np.ndarray:  # fmt: skip
        """The samples of frames ``(n_channels, DCT_BLOCK, n_frames)``, ``(n_channels, n_frames * DCT_BLOCK)``."""
        return frames.transpose(0, 2, 1).reshape(frames.shape[0], -1)

    def encode_block(self, x: np.ndarray) -> bytes:
        """The payload of a block of preprocessed EEG ``(n_channels, n_samples)``: its band gains (when the
        spec names band edges), then its code."""
        code = self._encode(x)
        if not self.spec.band_edges:
            return code
        return band_gains(x, self._decode(code, x.shape[1]), TRANSFORM_SFREQ, self.spec.band_edges) + code

    def decode_block(self, payload: bytes, n_frames: int, n_samples: int | None = None) -> np.ndarray:
        """Frames ``(n_channels, DCT_BLOCK, n_frames)`` of a block's payload (float32).

        ``n_samples``: the samples the payload holds (default: ``n_frames`` whole frames, the last block may
        hold fewer); checked before anything is decompressed. A :class:`ValueError` when the payload does not
        hold what they need.
        """
        n_samples = n_frames * DCT_BLOCK if n_samples is None else n_samples
        gains, code = split_band_gains(payload, self.spec.directions.shape[0], self.spec.band_edges)
        x = self._decode(code, n_samples)
        if gains:
            x = apply_band_gains(x, gains, TRANSFORM_SFREQ, self.spec.band_edges)
        x = np.pad(x, ((0, 0), (0, n_frames * DCT_BLOCK - n_samples)), mode="edge")
        return x.astype(np.float32).reshape(x.shape[0], n_frames, DCT_BLOCK).transpose(0, 2, 1)

    def _encode(self, x: np.ndarray) -> bytes:
        """The code of a block of preprocessed EEG ``(n_channels, n_samples)``."""
        raise NotImplementedError

    def _decode(self, code: bytes, n_samples: int) -> np.ndarray:
        """The EEG ``(n_channels, n_samples)`` (float64) of a block's code; a :class:`ValueError` when the code
        does not hold ``n_samples`` samples."""
        raise NotImplementedError


class TransformFrames(BlockFrames):
    """Code and decode the blocks of a ``"klt-dct"`` file.

    Parameters
    ----------
    spec : TransformSpec
        The file's coding.
    component_rate : float | None
        Bits per second per coded component (the writer's; a reader needs none).
    """

    def __init__(self, spec: TransformSpec, component_rate: float | None = None) -> None:
        self.spec = spec
        self.name = spec.method
        self._directions = spec.directions.astype(np.float64)  # once, not per block
        self._coder = DCTCoder(component_rate or 1.0, TRANSFORM_SFREQ, DCT_BLOCK)

    @classmethod
    def for_writing(cls, spec: TransformSpec, n_codec: int) -> TransformFrames:
        """The coder of a recording of ``n_codec`` samples at :data:`TRANSFORM_SFREQ`: the budget left by the
        directions and band gains, shared evenly by the components."""
        return cls(spec, cls.payload_bits(spec, n_codec) * TRANSFORM_SFREQ / (spec.n_components * n_codec))

    def _encode(self, x: np.ndarray) -> bytes:
        """The DCT code of a block's components.

        A last block too short for its share of the budget at a low rate (its payload's header alone takes
        about 60 bytes) is given the share of a whole block.
        """
        components = np.linalg.solve(self._directions, x) if self._directions.size else x
        try:
            return self._coder.encode(components).payload
        except BudgetTooLowError:
            if x.shape[1] >= BLOCK_FRAMES * DCT_BLOCK:
                raise
        rate = self._coder.bits_per_second * BLOCK_FRAMES * DCT_BLOCK / x.shape[1]
        return DCTCoder(rate, TRANSFORM_SFREQ, DCT_BLOCK).encode(components).payload

    def _decode(self, code: bytes, n_samples: int) -> np.ndarray:
        components = self._coder.decode(code, shape=(self.spec.n_components, n_samples))  # ValueError if malformed
        return self._directions @ components if self._directions.size else components
