"""The ``.eegdac`` container: compressed, self-describing, checksummed EEG tokens.

Layout (version 1, all integers little-endian)::

    magic        8 bytes   b"\\x89EEGDAC\\n"
    version      uint16    format version (1)
    header_size  uint32    size of the JSON header in bytes
    header       JSON      UTF-8; describes the recording, codec and sections
    sections     bytes     concatenated, in the order listed in the header
    sha256       32 bytes  SHA-256 of everything above

Sections:

- ``codes``: the codes bit-packed at ``ceil(log2(codebook_size))`` bits each, in C
  order of shape ``(n_channels, n_codebooks, n_frames)``, least significant bit first;
- ``info``: the measurement info (:class:`mne.Info`) as a FIF file;
- ``other_data``: non-EEG channels as zlib-compressed little-endian float64, kept
  losslessly.

The header holds the channel names, rates, sample count, preprocessing settings, clip
counts, annotations and the codec identity (configuration plus weight hash), so a
file can only be decoded by the codec that wrote it.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import struct
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mne
import numpy as np
from mne.utils import _check_option, _validate_type, logger, use_log_level, verbose

from mne_dac._version import __version__
from mne_dac.codecs.codec import CodecIdentity
from mne_dac.codecs.loading import DAC_TAGS, shipped_codec_of
from mne_dac.io.band_gains import (
    BAND_EDGES,
    GAIN_BITS,
    KEPT_POWER,
    REFERENCE_CLIP,
    apply_band_gains,
    band_edges_of_header,
    band_gains,
    kept_band_edges,
    reference_stream,
    split_band_gains,
)
from mne_dac.io.bit_packing import pack_codes, unpack_codes
from mne_dac.io.block_format import BlockFile, block_frames_for, content_crc, entry_sizes, sample_bounds
from mne_dac.io.streaming import decode_samples, frame_blocks
from mne_dac.io.tokens import EEGTokens
from mne_dac.io.transform_blocks import (
    BASE_RATE_SAMPLE_SECONDS,
    BASE_RATE_SAMPLES,
    BASE_RATES,
    BLOCK_FRAMES,
    COMPONENT_CODEC,
    DCT_BLOCK,
    DEFAULT_BITS_PER_SECOND,
    NO_CODES,
    TRANSFORM_PREPROCESSING,
    TRANSFORM_SFREQ,
    BlockFrames,
    TransformFrames,
    TransformSpec,
    fit_transform,
    holds_whole_block,
    is_transform_coder,
    transform_of_header,
)
from mne_dac.io.validation import (
    RESIDUAL_CODINGS,
    EEGDACFormatError,
    check_fif_structure,
    decompress_exactly,
    validate_header,
)
from mne_dac.signal.groups import ChannelGroups, resolve_groups
from mne_dac.signal.preprocessing import CodecDomainStream, PreprocessingSettings, n_codec_samples, resampling_ratio
from mne_dac.utils._deprecation import keyword_only, renamed_attribute
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._logging import warn

if TYPE_CHECKING:
    from mne_dac.io.side_channels import Grid

MAGIC = b"\x89EEGDAC\n"
#: The version written; every earlier one is read too.
FORMAT_VERSION = 2
_PREAMBLE = struct.Struct("<8sHI")
_DIGEST_SIZE = 32
#: How the info section spells channel names that FIF cannot hold (FIF names are ASCII).
_ESCAPED_NAMES = "unicode_escape"


def _escape_names(info: mne.Info, escape: bool) -> mne.Info:
    """``info`` with its channel names in ASCII (``escape``) or back from it."""
    if escape:
        mapping = {n: n.encode(_ESCAPED_NAMES).decode("ascii") for n in info["ch_names"]}
    else:
        mapping = {n: n.encode("ascii").decode(_ESCAPED_NAMES) for n in info["ch_names"]}
    info = info.copy()
    mne.rename_channels(info, {k: v for k, v in mapping.items() if k != v}, verbose="error")
    return info


def _info_to_bytes(info: mne.Info) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        fname = Path(tmp) / "info.fif"
        mne.io.write_info(fname, info)
        return fname.read_bytes()


def _info_from_bytes(buf: bytes) -> mne.Info:
    with tempfile.TemporaryDirectory() as tmp:
        fname = Path(tmp) / "info.fif"
        fname.write_bytes(buf)
        return mne.io.read_info(fname, verbose=False)


def _annotations_to_dict(annot: mne.Annotations | None) -> dict | None:
    if annot is None:
        return None
    return dict(
        onset=annot.onset.tolist(),
        duration=annot.duration.tolist(),
        description=list(annot.description),
        ch_names=[list(c) for c in annot.ch_names],
        orig_time=None if annot.orig_time is None else annot.orig_time.isoformat(),
    )


def _annotations_from_dict(d: dict | None) -> mne.Annotations | None:
    if d is None:
        return None
    orig_time = None if d["orig_time"] is None else datetime.fromisoformat(d["orig_time"])
    return mne.Annotations(
        d["onset"],
        d["duration"],
        d["description"],
        orig_time=orig_time,
        ch_names=d["ch_names"],
    )


@fill_doc
def write_tokens(fname: str | Path, tokens: EEGTokens, *, overwrite: bool = False, codec: Any = None) -> Path:
    """Write tokens to a ``.eegdac`` file (format version 2).

    Parameters
    ----------
    fname : path-like
        Output file (``.eegdac``). Written to a temporary file, then renamed.
    tokens : EEGTokens
        The tokens, from :func:`~mne_dac.tokenize_raw`.
    %(overwrite)s
    codec : DACCodec | str | None
        The codec that made the tokens, for entropy coding them (``None``: found when it
        is shipped; otherwise the tokens are bit-packed at their nominal rate).

    Returns
    -------
    fname : Path
        The file written.
    """
    _validate_type(tokens, EEGTokens, "tokens")
    codec = _codec_of(tokens.codec, codec)
    block_frames = block_frames_for(tokens.codec_sfreq / tokens.hop_length)
    bounds, gains = tokens.block_bounds, tokens.band_gains
    blocks = (
        (tokens.codes[:, :, start:stop], tokens.other_data[:, bounds[k] : bounds[k + 1]], None,
         b"" if gains is None else pack_codes(gains[k], GAIN_BITS))
        for k, (start, stop) in enumerate(frame_blocks(tokens.n_frames, block_frames))
    )  # fmt: skip
    coding, payloads = _token_payloads(codec, blocks, tokens.bits_per_code)
    coding = {**_token_fields(tokens), **coding, **({} if gains is None else {"band_edges": list(BAND_EDGES)})}
    return _write_blocks(Path(fname), tokens, coding, payloads, block_frames, tokens.clip_counts,
                         overwrite=overwrite)  # fmt: skip


def _recording_fields(recording: Any) -> dict:
    """Header fields that describe the recording and the rate it is coded at (every file)."""
    return {
        "ch_names": recording.ch_names,
        "sfreq": recording.sfreq,
        "n_times": recording.n_times,
        "first_samp": recording.first_samp,
        "hop_length": recording.hop_length,
        "codec_sfreq": recording.codec_sfreq,
        "preprocessing": recording.preprocessing.to_dict(),
        "annotations": _annotations_to_dict(recording.annotations),
        "other_ch_names": recording.other_ch_names,
    }


def _token_fields(tokens: Any) -> dict:
    """Header fields of a file of tokens: the codes and the codec that made them."""
    return {
        "codes_shape": list(tokens.codes_shape),
        "bits_per_code": tokens.bits_per_code,
        "codebook_size": tokens.codebook_size,
        "codec": tokens.codec.to_dict(),
        "groups": None if tokens.groups is None else tokens.groups.to_dict(),
        "positions": None if tokens.positions is None else np.asarray(tokens.positions).tolist(),
    }


def _codec_of(identity: CodecIdentity, codec: Any) -> Any:
    """The codec for entropy coding, or ``None`` (codes bit-packed) when it is not at hand."""
    from mne_dac.codecs.loading import codec_for

    try:
        return codec_for(identity, codec)
    except (OSError, ValueError) as err:
        logger.info("Tokens bit-packed, not entropy-coded: no codec at hand (%s)", err)
        return None


def _token_payloads(codec: Any, blocks: Iterator, bits_per_code: int) -> tuple[dict, Iterator]:
    """The header's token-coding fields, and ``(payload, codes, side, residual)`` of each ``(codes, side,
    residual, band gains)`` block: the band gains, then the codes entropy-coded by a model fitted on the first
    frames (bit-packed without a codec)."""
    from mne_dac.io.token_coding import FIT_FRAMES, TokenTables, encode_tokens, fit_token_model

    first, blocks = [], iter(blocks)
    for block in blocks:  # the token model is fitted on the first frames
        first.append(block)
        if sum(b[0].shape[2] for b in first) >= FIT_FRAMES:
            break
    tables = model = None
    if codec is not None:
        tables = TokenTables.from_codec(codec)
        model = fit_token_model(np.concatenate([b[0] for b in first], axis=2), tables)
    fields = {"token_coding": "packed" if model is None else "ans-tree",
              "token_model": None if model is None else model.to_dict()}  # fmt: skip

    def payloads() -> Iterator:
        for codes, side, layer, gains in itertools.chain(first, blocks):
            payload = pack_codes(codes, bits_per_code) if model is None else encode_tokens(codes, model, tables)
            yield gains + payload, codes, side, layer

    return fields, payloads()


def _write_blocks(fname: Path, recording: Any, coding: dict, blocks: Iterator, block_frames: int, clip_counts: Any,
                  *, overwrite: bool, grids: list | None = None, residual: dict | None = None) -> Path:  # fmt: skip
    """Write a version-2 file from ``(payload, content, side, residual)`` blocks (consumed as they come).

    ``coding``: the header's fields of the EEG's coding (tokens or a transform). ``content``: what the payload
    decodes to (codes or samples). ``residual``: the header's description of the residual layer, ``None`` when
    there is none.
    """
    from mne_dac.io.block_format import open_writer
    from mne_dac.io.side_channels import encode_side

    escaped = not all(name.isascii() for name in recording.info["ch_names"])
    info = _info_to_bytes(_escape_names(recording.info, True) if escaped else recording.info)
    header = {
        "format": "eegdac",
        "version": 2,
        "writer": f"mne-dac {__version__}",
        **_recording_fields(recording),
        **coding,
        "block_frames": block_frames,
        "side_coding": "flac-grid-or-zlib",
        **({"residual": residual} if residual is not None else {}),
        **({"info_names": _ESCAPED_NAMES} if escaped else {}),
    }
    with open_writer(fname, header, info, overwrite=overwrite) as writer:
        for payload, content, side, layer in blocks:
            writer.add(payload, encode_side(side, grids), content, side, layer)
        writer.finish({"clip_counts": [int(c) for c in np.asarray(clip_counts)]})
        eeg_bytes, _, residual_bytes = writer.payload_bytes
    seconds = recording.n_times / recording.sfreq
    logger.info(
        "Wrote %s: %d channels, %.1f s, %d bytes of %s (%.1f bits/s/channel; nominal %g)%s",
        fname,
        len(recording.ch_names),
        seconds,
        eeg_bytes,
        "tokens" if "token_coding" in coding else f"{coding['coding']} code",
        8 * eeg_bytes / seconds / len(recording.ch_names),
        recording.bits_per_second,
        ""
        if residual is None
        else f", {residual_bytes} bytes of residual "
        f"({8 * residual_bytes / seconds / len(recording.ch_names):.1f} bits/s/channel; EEG {_bound(residual)})",
    )
    return fname


def _bound(residual: dict) -> str:
    """The guarantee of a residual layer, in words."""
    if residual["max_error"] == 0:
        return "bit-exact"
    return f"within ±{residual['max_error'] * 1e6:g} µV of the original"


@dataclass(frozen=True)
class EEGDACHeader:
    """The header of a ``.eegdac`` file: what it holds, without its codes.

    Attributes
    ----------
    version : int
        Format version.
    writer : str
        The mne-dac release that wrote the file.
    ch_names : list of str
        Coded (EEG) channels.
    other_ch_names : list of str
        Channels kept losslessly.
    sfreq : float
        Sampling rate of the recording.
    n_times : int
        Samples per channel of the recording.
    first_samp : int
        The recording's first sample.
    codes_shape : tuple of int | None
        ``(n_streams, n_codebooks, n_frames)``; ``None`` in a transform-coded file.
    bits_per_code : int | None
        Bits of one code (``None``: transform-coded).
    codebook_size : int | None
        Entries per codebook (``None``: transform-coded).
    hop_length : int
        Codec samples per frame (transform-coded: samples per DCT block).
    codec_sfreq : float
        The codec's rate (transform-coded: the rate coded at).
    codec : CodecIdentity | None
        The codec that wrote the codes (``None``: transform-coded).
    preprocessing : PreprocessingSettings
        The preprocessing applied before coding.
    clip_counts : list of int
        Samples clipped per coded channel.
    annotations : dict | None
        The recording's annotations.
    groups : ChannelGroups | None
        DAC-MC channel groups.
    positions : list | None
        DAC-MC electrode positions, ``(n_channels, 3)``.
    file_size : int
        Size of the file in bytes.
    token_bytes : int
        Bytes of the tokens in the file (entropy-coded in version 2), or of the transform code.
    block_frames : int | None
        Frames per block (version 2).
    side_bytes : int
        Bytes of the channels kept aside (version 2).
    residual : dict | None
        The residual layer (version 2): ``max_error`` (Volts, 0: bit-exact), the ``margin``
        kept for the decoder's rounding, its ``coding`` and the reader's ``grids`` of the EEG
        channels; ``None``: the tokens only.
    residual_bytes : int
        Bytes of the residual layer.
    coding : str
        What the file holds for its EEG: ``"tokens"``, or ``"klt-dct"`` (the block DCT of the
        channels' principal components, :mod:`mne_dac.io.transform_blocks`).
    transform : TransformSpec | None
        The transform code's directions and budget (``None``: tokens).
    band_edges : tuple of float
        Edges (Hz) of the bands whose power each block keeps (:mod:`mne_dac.io.band_gains`): its
        payload starts with their gains. Empty: none (files under a residual layer, files written
        with ``restore_bands=False`` or before mne-dac kept band powers).
    """

    version: int
    writer: str
    ch_names: list[str]
    other_ch_names: list[str]
    sfreq: float
    n_times: int
    first_samp: int
    codes_shape: tuple[int, int, int] | None
    bits_per_code: int | None
    codebook_size: int | None
    hop_length: int
    codec_sfreq: float
    codec: CodecIdentity | None
    preprocessing: PreprocessingSettings
    clip_counts: list[int]
    annotations: dict | None
    groups: ChannelGroups | None
    positions: list | None
    file_size: int
    token_bytes: int = 0
    block_frames: int | None = None
    side_bytes: int = 0
    residual: dict | None = None
    residual_bytes: int = 0
    coding: str = "tokens"
    transform: TransformSpec | None = None
    band_edges: tuple[float, ...] = ()

    @property
    def grids(self) -> dict[str, Grid]:
        """The grids that the source's reader computed the EEG channels' samples on, by name.

        A residual layer records them (empty: none recorded, or the source had none).
        """
        from mne_dac.io.residual import grids_from_header

        if self.residual is None:
            return {}
        return {name: grid for name, grid in zip(self.ch_names, grids_from_header(self.residual["grids"])) if grid}

    @classmethod
    def from_dict(cls, header: dict, file_size: int) -> EEGDACHeader:
        """Build from a file's JSON header (version 2: with its footer's fields merged in)."""
        groups = header.get("groups")
        if "blocks" in header:
            token_bytes, side_bytes, residual_bytes = (sum(sizes) for sizes in zip(*map(entry_sizes, header["blocks"])))
        else:
            sizes = {sec["name"]: sec["size"] for sec in header["sections"]}
            token_bytes, side_bytes, residual_bytes = sizes["codes"], sizes.get("other_data", 0), 0
        coding = header.get("coding", "tokens")
        tokens = coding == "tokens"
        transform = None if tokens else transform_of_header(header)
        band_edges = band_edges_of_header(header.get("band_edges"), "band_edges") if tokens else transform.band_edges
        if tokens and band_edges and (header.get("residual") is not None or header["version"] < 2):
            raise EEGDACFormatError("header field 'band_edges': band gains need blocks without a residual layer")
        return cls(
            coding=coding,
            transform=transform,
            band_edges=band_edges,
            token_bytes=int(token_bytes),
            side_bytes=int(side_bytes),
            residual=header.get("residual"),
            residual_bytes=int(residual_bytes),
            block_frames=header.get("block_frames"),
            version=int(header["version"]),
            writer=str(header.get("writer", "")),
            ch_names=list(header["ch_names"]),
            other_ch_names=list(header["other_ch_names"]),
            sfreq=float(header["sfreq"]),
            n_times=int(header["n_times"]),
            first_samp=int(header["first_samp"]),
            codes_shape=tuple(int(n) for n in header["codes_shape"]) if tokens else None,
            bits_per_code=int(header["bits_per_code"]) if tokens else None,
            codebook_size=int(header["codebook_size"]) if tokens else None,
            hop_length=int(header["hop_length"]),
            codec_sfreq=float(header["codec_sfreq"]),
            codec=CodecIdentity.from_dict(header["codec"]) if coding in ("tokens", "klt-codec") else None,
            preprocessing=PreprocessingSettings.from_dict(header["preprocessing"]),
            clip_counts=[int(c) for c in header["clip_counts"]],
            annotations=header["annotations"],
            groups=None if groups is None else ChannelGroups.from_dict(groups),
            positions=header.get("positions"),
            file_size=int(file_size),
        )

    @property
    def duration(self) -> float:
        """Duration of the recording in seconds."""
        return self.n_times / self.sfreq

    @property
    def n_frames(self) -> int:
        """Frames of the coded EEG (transform-coded: DCT blocks)."""
        return max(1, -(-n_codec_samples(self.n_times, self.sfreq, self.codec_sfreq) // self.hop_length))

    @property
    def bits_per_second(self) -> float:
        """Bits per second per coded channel (nominal: the transform code's budget)."""
        if self.transform is not None:
            return self.transform.bits_per_second
        n_streams, n_q, _ = self.codes_shape
        return n_q * self.bits_per_code * self.codec_sfreq / self.hop_length * n_streams / len(self.ch_names)

    bitrate = renamed_attribute("bits_per_second")

    @property
    def coded_bits_per_second(self) -> float:
        """Bits per second per coded channel that the tokens take in the file (after entropy coding), or the
        transform code with its directions."""
        side_bits = 0 if self.transform is None else self.transform.side_bits
        return (8 * self.token_bytes + side_bits) / self.duration / len(self.ch_names)

    @property
    def max_error(self) -> float | None:
        """The bound of the residual layer on every EEG sample (Volts, 0: bit-exact); ``None`` without one."""
        return None if self.residual is None else self.residual["max_error"]

    @property
    def residual_bits_per_second(self) -> float:
        """Bits per second per coded channel of the residual layer."""
        return 8 * self.residual_bytes / self.duration / len(self.ch_names)

    @property
    def clipped_share(self) -> float:
        """Share of the coded samples (at the codec's rate) that were clipped, 0 to 1."""
        n_coded = n_codec_samples(self.n_times, self.sfreq, self.codec_sfreq) * len(self.ch_names)
        return sum(self.clip_counts) / n_coded

    @property
    def codes_compression_ratio(self) -> float:
        """16-bit samples of the coded channels at the recording's rate over the bits of the codes (of the
        transform code as stored)."""
        if self.transform is not None:
            return 2 * len(self.ch_names) * self.n_times / max(self.token_bytes, 1)
        return 16 * len(self.ch_names) * self.n_times / (math.prod(self.codes_shape) * self.bits_per_code)

    @property
    def file_compression_ratio(self) -> float:
        """16-bit samples of all channels at the recording's rate over the size of the file."""
        return 2 * (len(self.ch_names) + len(self.other_ch_names)) * self.n_times / self.file_size


def read_header(fname: str | Path) -> EEGDACHeader:
    """Read and check a ``.eegdac`` file's header (fast: verifies the checksum and the info too).

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.

    Returns
    -------
    header : EEGDACHeader
        The header.
    """
    return _open(fname)[0]


def read_grids(fname: str | Path) -> dict[str, Grid]:
    """The grids that the source's reader computed a file's samples on, by channel.

    Those of the EEG channels are in the residual layer's header (:attr:`EEGDACHeader.grids`),
    those of the channels kept aside in every block (read from the first). A writer of integer
    formats (:func:`~mne_dac.io.edf_writer.write_edf`) can hold such channels bit-exactly.

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.

    Returns
    -------
    grids : dict of str to Grid
        The channels whose grid the file records; a damaged first block gives those of the EEG only.
    """
    from mne_dac.io.side_channels import side_grids

    header, blocks, _ = _open(fname)
    grids = dict(header.grids)
    if header.version < 2 or not header.other_ch_names or not blocks.n_blocks:
        return grids
    try:
        side = side_grids(bytes(blocks.read_block(0)[1]), len(header.other_ch_names))
    except EEGDACFormatError:
        return grids
    return grids | {name: grid for name, grid in zip(header.other_ch_names, side) if grid is not None}


def _version(fname: Path) -> int:
    """The format version of an .eegdac file (from its preamble)."""
    if not fname.is_file():
        raise FileNotFoundError(f"No such file: {fname}" + (" (a folder)" if fname.is_dir() else ""))
    with open(fname, "rb") as fid:
        preamble = fid.read(_PREAMBLE.size)
    if len(preamble) < _PREAMBLE.size or preamble[:8] != MAGIC:
        raise EEGDACFormatError(f"{fname} is not an .eegdac file (bad magic bytes or too short).")
    version = _PREAMBLE.unpack(preamble)[1]
    if version > FORMAT_VERSION:
        raise EEGDACFormatError(
            f"{fname} is .eegdac version {version}; this mne-dac reads up to {FORMAT_VERSION}: upgrade mne-dac."
        )
    return version


def _open(fname: str | Path) -> tuple[EEGDACHeader, Any, mne.Info]:
    """Header, contents (version 1: its sections; version 2: a :class:`BlockFile`) and info of a file."""
    fname = Path(fname)
    if _version(fname) == 1:
        return _read(fname)
    with _naming(fname):
        blocks = BlockFile(fname, lambda header, footer, size: validate_header(_merged(header, footer), 2, size))
        try:
            parsed = EEGDACHeader.from_dict(_merged(blocks.header, blocks.footer), blocks.file_size)
        except (KeyError, TypeError, ValueError) as err:
            raise EEGDACFormatError(f"invalid header ({type(err).__name__}: {err})") from err
        return parsed, blocks, _info(parsed, blocks.info_bytes, escaped="info_names" in blocks.header)


def _merged(header: dict, footer: dict) -> dict:
    """A version-2 header with its footer's fields (clip counts, block index)."""
    return {**header, "clip_counts": footer.get("clip_counts"), "blocks": footer.get("blocks")}


@contextmanager
def _naming(fname: Path) -> Iterator[None]:
    """Prefix the format errors raised inside with the file's name."""
    try:
        yield
    except EEGDACFormatError as err:
        raise EEGDACFormatError(f"{fname}: {err}") from err


def _read(fname: str | Path) -> tuple[EEGDACHeader, dict[str, memoryview], mne.Info]:
    fname = Path(fname)
    if not fname.is_file():
        raise FileNotFoundError(f"No such file: {fname}" + (" (a folder)" if fname.is_dir() else ""))
    buf = fname.read_bytes()
    if len(buf) < _PREAMBLE.size + _DIGEST_SIZE or buf[:8] != MAGIC:
        raise EEGDACFormatError(f"{fname} is not an .eegdac file (bad magic bytes or too short).")
    _, version, header_size = _PREAMBLE.unpack_from(buf)
    if hashlib.sha256(buf[:-_DIGEST_SIZE]).digest() != buf[-_DIGEST_SIZE:]:
        raise EEGDACFormatError(f"{fname} is corrupted or truncated: its SHA-256 checksum does not match its content.")
    start = _PREAMBLE.size
    with _naming(fname):
        if version != 1 or start + header_size > len(buf) - _DIGEST_SIZE:
            raise EEGDACFormatError(f"preamble: version {version}, header of {header_size} bytes")
        try:
            header = json.loads(buf[start : start + header_size].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
            raise EEGDACFormatError(f"the header is not valid JSON ({type(err).__name__})") from err
        validate_header(header, version, len(buf))
        offset, view = start + header_size, memoryview(buf)  # sections without copies
        sections = {}
        for sec in header["sections"]:
            sections[sec["name"]] = view[offset : offset + sec["size"]]
            offset += sec["size"]
        if offset != len(buf) - _DIGEST_SIZE:
            raise EEGDACFormatError("header field 'sections': sizes do not add up to the file size")
        try:
            parsed = EEGDACHeader.from_dict(header, len(buf))
        except (KeyError, TypeError, ValueError) as err:  # validate_header let a malformed field through
            raise EEGDACFormatError(f"invalid header ({type(err).__name__}: {err})") from err
        return parsed, sections, _info(parsed, sections["info"], escaped="info_names" in header)


def _info(header: EEGDACHeader, buf: bytes, escaped: bool) -> mne.Info:
    """The measurement info, read with bounded work and checked against the header."""
    check_fif_structure(buf)
    try:
        info = _info_from_bytes(buf)
        if escaped:
            info = _escape_names(info, False)
        mne.io.RawArray(np.zeros((len(info["ch_names"]), 1)), info, verbose="error")  # usable as a Raw's
    except Exception as err:  # noqa: BLE001 - whatever MNE raises on a malformed block
        raise EEGDACFormatError(f"section 'info': unreadable ({type(err).__name__}: {err})") from err
    names = info["ch_names"]
    for field, listed in (("ch_names", header.ch_names), ("other_ch_names", header.other_ch_names)):
        if listed != [n for n in names if n in set(listed)]:
            raise EEGDACFormatError(f"header field {field!r}: differs from the info's channels or their order")
    if set(names) != set(header.ch_names) | set(header.other_ch_names):
        raise EEGDACFormatError("section 'info': its channels are not the header's")
    if not math.isclose(info["sfreq"], header.sfreq, rel_tol=1e-12):
        raise EEGDACFormatError(f"header field 'sfreq': {header.sfreq} differs from the info's {info['sfreq']}")
    return info


def read_tokens(fname: str | Path, codec: Any = None, *, tmin: float | None = None,
                tmax: float | None = None) -> EEGTokens:  # fmt: skip
    """Read tokens from a ``.eegdac`` file, or those of a time range.

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.
    codec : str | path-like | DACCodec | None
        The codec that wrote the file, needed to undo the entropy coding of its tokens
        (format version 2); ``None`` finds a shipped codec by its weights.
    tmin, tmax : float | None
        The frames that cover this range, in seconds from the start (``tmax`` included):
        only the blocks holding them are read (format version 2). The tokens then start at
        the first of these frames: their ``first_samp`` and ``n_times`` say which samples
        the frames span, and the side channels and annotations are those samples'.

    Returns
    -------
    tokens : EEGTokens
        The tokens, with the file's band gains when it has them and the whole file is read (a range's
        tokens go without: :func:`read_raw_dac` applies them to any range); decode with
        :func:`~mne_dac.reconstruct_raw`.
    """
    header, contents, info = _open(fname)
    start, stop = _sample_range(header, tmin, tmax)
    if header.transform is not None:
        raise ValueError(f"{fname} holds a {header.coding} transform code, not tokens: read it with read_raw_dac")
    with _naming(Path(fname)):
        if isinstance(contents, BlockFile):
            reader = _BlockReader(header, contents, codec)
            if (start, stop) != (0, header.n_times):
                return _tokens_of_range(header, reader.codes, reader.side, info, start, stop)
            codes = reader.codes(0, header.codes_shape[2])
            other = reader.side(0, header.n_times)
            band_gains = reader.band_gains()
        else:
            n_other = 8 * len(header.other_ch_names) * header.n_times
            other = np.frombuffer(decompress_exactly(contents["other_data"], n_other, "other_data"), dtype="<f8")
            other = other.reshape(len(header.other_ch_names), header.n_times).copy()
            codes = unpack_codes(contents["codes"], header.bits_per_code, header.codes_shape)
            band_gains = None
        if codes.size and codes.max() >= header.codebook_size:
            raise EEGDACFormatError("section 'codes': a code is beyond the codebook")
        if (start, stop) != (0, header.n_times):  # version 1: read whole, then cut
            return _tokens_of_range(header, lambda a, b: codes[:, :, a:b], lambda a, b: other[:, a:b], info, start,
                                    stop)  # fmt: skip
        annotations = _annotations(header, info)
    return EEGTokens(
        codes=codes,
        ch_names=header.ch_names,
        sfreq=header.sfreq,
        n_times=header.n_times,
        codec=header.codec,
        codec_sfreq=header.codec_sfreq,
        hop_length=header.hop_length,
        codebook_size=header.codebook_size,
        preprocessing=header.preprocessing,
        clip_counts=np.array(header.clip_counts, dtype=np.int64),
        info=info,
        first_samp=header.first_samp,
        annotations=annotations,
        other_data=other,
        other_ch_names=header.other_ch_names,
        groups=header.groups,
        positions=header.positions,
        coded_bits_per_second=header.coded_bits_per_second,
        band_gains=band_gains,
    )


def _sample_range(header: EEGDACHeader, tmin: float | None, tmax: float | None) -> tuple[int, int]:
    """Samples ``[start, stop)`` of ``tmin`` to ``tmax`` (included), checked to lie within the recording."""
    start = 0 if tmin is None else int(round(tmin * header.sfreq))
    stop = header.n_times if tmax is None else int(round(tmax * header.sfreq)) + 1
    if not 0 <= start < min(stop, header.n_times + 1) or stop > header.n_times:
        raise ValueError(f"tmin={tmin} and tmax={tmax} must lie within the recording's {header.duration:g} s, "
                         "tmin before tmax")  # fmt: skip
    return start, stop


def _tokens_of_range(header: EEGDACHeader, codes_of: Any, side_of: Any, info: mne.Info, start: int,
                     stop: int) -> EEGTokens:  # fmt: skip
    """The tokens of the frames covering samples ``[start, stop)``, with the samples those frames span.

    ``codes_of(f0, f1)`` and ``side_of(s0, s1)`` give the codes of frames and the side channels of samples.
    """
    ratio = resampling_ratio(header.sfreq, header.codec_sfreq)
    num, den, hop = ratio.numerator, ratio.denominator, header.hop_length
    f0 = start * num // den // hop
    f1 = min(header.codes_shape[2], -(-(-(-stop * num // den)) // hop))
    s0, s1 = f0 * hop * den // num, min(header.n_times, -(-f1 * hop * den // num))
    annotations = _annotations(header, info)
    if annotations is not None:
        offset = header.first_samp / header.sfreq if annotations.orig_time is not None else 0.0
        lo, hi = offset + s0 / header.sfreq, offset + s1 / header.sfreq
        annotations = annotations[(annotations.onset + annotations.duration >= lo) & (annotations.onset < hi)]
        if annotations.orig_time is None:
            annotations.onset -= s0 / header.sfreq
    return EEGTokens(
        codes=codes_of(f0, f1), ch_names=header.ch_names, sfreq=header.sfreq, n_times=s1 - s0,
        codec=header.codec, codec_sfreq=header.codec_sfreq, hop_length=hop, codebook_size=header.codebook_size,
        preprocessing=header.preprocessing, clip_counts=np.array(header.clip_counts, dtype=np.int64), info=info,
        first_samp=header.first_samp + s0, annotations=annotations, other_data=side_of(s0, s1),
        other_ch_names=header.other_ch_names, groups=header.groups, positions=header.positions,
        coded_bits_per_second=header.coded_bits_per_second,
    )  # fmt: skip


def _annotations(header: EEGDACHeader, info: mne.Info) -> mne.Annotations | None:
    try:
        annotations = _annotations_from_dict(header.annotations)
    except (KeyError, ValueError, TypeError) as err:
        raise EEGDACFormatError(f"header field 'annotations': {err}") from err
    if annotations is not None and (annotations.orig_time is None) != (info["meas_date"] is None):
        raise EEGDACFormatError("header field 'annotations': its time origin disagrees with the info's date")
    return annotations


#: Decoded blocks a reader keeps (a 16-s block of 64 channels at 512 Hz is about 4 MB of samples).
_CACHED_BLOCKS = 8
#: Band-restored blocks of decoded samples a token file's reader keeps (:meth:`_BlockReader._band_restored`).
_RESTORED_BLOCKS = 2


def _keep_last(cache: dict, key: Any, value: Any, size: int) -> None:
    """Add ``key: value`` to ``cache``, dropping its oldest entry when it holds ``size`` already."""
    if len(cache) >= size:
        cache.pop(next(iter(cache)))
    cache[key] = value


def _transform_frames(header: EEGDACHeader, codec: Any) -> BlockFrames:
    """The decoder of a transform-coded file's blocks; ``codec``: the user's (``"klt-codec"``), or the frames."""
    from mne_dac.codecs.loading import codec_for
    from mne_dac.io.component_blocks import ComponentCodecFrames

    if isinstance(codec, BlockFrames):
        return codec
    if header.coding != "klt-codec":
        return TransformFrames(header.transform)
    codec = codec_for(header.codec, codec)
    try:
        return ComponentCodecFrames(header.transform, codec)
    except ValueError as err:  # a crafted identity naming a codec that cannot code components
        raise EEGDACFormatError(f"header field 'codec': {err}") from err


class _BlockReader:
    """Codes and side channels of a version-2 file, read block by block as ranges need them."""

    def __init__(self, header: EEGDACHeader, blocks: BlockFile, codec: Any, salvage: bool = False,
                 layer: str | None = None) -> None:  # fmt: skip
        from mne_dac.io.residual import grids_from_header
        from mne_dac.io.token_coding import TokenModel, TokenTables

        self.header, self.blocks, self._cache = header, blocks, {}
        self._restored: dict[int, np.ndarray] = {}  # see _band_restored
        #: Whether samples are decoded to the residual layer's bound (else: the tokens only).
        self.bounded = header.residual is not None and layer != "tokens"
        #: The reader's grids of the EEG channels (residual layer).
        self.grids = None if header.residual is None else grids_from_header(header.residual["grids"])
        #: Damaged blocks, read as zeros (``salvage``); ``None``: a damaged block raises.
        self.damaged = set(blocks.damaged_blocks()) if salvage else None
        self.model = self.tables = None
        #: The decoder of a transform-coded file's blocks (``None``: tokens).
        self.frames = None if header.transform is None else _transform_frames(header, codec)
        if blocks.header.get("token_coding") == "ans-tree":
            from mne_dac.codecs.loading import codec_for

            self.model = TokenModel.from_dict(blocks.header["token_model"])
            self.tables = TokenTables.from_codec(codec_for(header.codec, codec))
            try:
                self.model.check(header.codes_shape[0], header.codes_shape[1], self.tables)
            except ValueError as err:
                raise EEGDACFormatError(f"header field 'token_model': {err}") from err

    def _block(self, k: int) -> tuple[np.ndarray, np.ndarray, Any, bytes | None]:
        """Codes, side channels, residual layer and band gains of block ``k`` (see :meth:`_decode_block`)."""
        if k not in self._cache:
            step = self.header.block_frames
            count = min(step, self.header.n_frames - k * step)
            if self.frames is None:
                shape = (*self.header.codes_shape[:2], count)
            else:  # decoded samples, frame by frame
                shape = (len(self.header.ch_names), self.header.hop_length, count)
            n_side = self.blocks.bounds[k + 1] - self.blocks.bounds[k]
            try:
                self._remember(k, self._decode_block(k, shape, n_side))
            except EEGDACFormatError as err:
                if self.damaged is None:
                    raise
                warn(f"{err}: salvaged as zeros")
                self.damaged.add(k)
                dtype = np.int64 if self.frames is None else np.float32
                self._remember(
                    k, (np.zeros(shape, dtype=dtype), np.zeros((len(self.header.other_ch_names), n_side)), None, None)
                )
        return self._cache[k]

    def _remember(self, k: int, block: tuple[np.ndarray, np.ndarray, Any, bytes | None]) -> None:
        """Keep the last few decoded blocks: a range's codes, then its side channels, share them."""
        _keep_last(self._cache, k, block, _CACHED_BLOCKS)

    def _decode_block(self, k: int, shape: tuple, n_side: int) -> tuple[np.ndarray, np.ndarray, Any, bytes | None]:
        """Codes, side channels, residual (when decoding to the bound) and band gains (a token file's, when
        its header names band edges) of block ``k``."""
        from mne_dac.io.residual import decode_residual
        from mne_dac.io.side_channels import decode_side
        from mne_dac.io.token_coding import decode_tokens

        if self.damaged is not None and k in self.damaged:
            raise EEGDACFormatError(f"{self.blocks.span(k)} is damaged (its SHA-256 does not match)")
        tokens, side, residual = self.blocks.read_block(k)
        gains = None
        try:
            if self.frames is None and self.header.band_edges:
                gains, tokens = split_band_gains(tokens, len(self.header.ch_names), self.header.band_edges)
            if self.frames is not None:
                h = self.header
                first = k * h.block_frames * h.hop_length  # the block's first sample at the coding rate
                n_samples = min(shape[2] * h.hop_length, n_codec_samples(h.n_times, h.sfreq, h.codec_sfreq) - first)
                codes = self.frames.decode_block(bytes(tokens), shape[2], max(1, n_samples))
            elif self.model is None:
                codes = unpack_codes(tokens, self.header.bits_per_code, shape)
            else:
                codes = decode_tokens(bytes(tokens), shape, self.model, self.tables)
        except ValueError as err:
            what = "tokens do" if self.frames is None else "transform code does"
            raise EEGDACFormatError(f"{self.blocks.span(k)}: its {what} not decode ({err})") from err
        other = decode_side(bytes(side), len(self.header.other_ch_names), n_side)
        if content_crc(codes if self.frames is None else NO_CODES, other) != self.blocks.footer["blocks"][k][3]:
            raise EEGDACFormatError(f"{self.blocks.span(k)}: decodes to other values than were written")
        if not self.bounded:
            return codes, other, None, gains
        try:
            layer = decode_residual(bytes(residual), len(self.header.ch_names), n_side,
                                    max_error=self.header.max_error,
                                    margin=self.header.residual["margin"], grids=self.grids,
                                    coding=self.header.residual["coding"])  # fmt: skip
        except EEGDACFormatError as err:
            raise EEGDACFormatError(f"{self.blocks.span(k)}: {err}") from err
        if layer.crc != self.blocks.footer["blocks"][k][5]:
            raise EEGDACFormatError(f"{self.blocks.span(k)}: the residual decodes to other values than were written")
        return codes, other, layer, gains

    def band_gains(self) -> np.ndarray | None:
        """Every block's band gains, shape ``(n_blocks, n_channels, n_bands)`` (:attr:`EEGTokens.band_gains
        <mne_dac.EEGTokens.band_gains>`); ``None`` when the file keeps none."""
        if self.frames is not None or not self.header.band_edges:
            return None
        shape = (len(self.header.ch_names), len(self.header.band_edges) - 1)
        return np.stack([unpack_codes(self._block(k)[3], GAIN_BITS, shape) for k in range(self.blocks.n_blocks)])

    def damaged_spans(self) -> list[tuple[int, int]]:
        """``[start, stop)`` samples of the damaged blocks found so far."""
        bounds = self.blocks.bounds
        return [(bounds[k], bounds[k + 1]) for k in sorted(self.damaged or ())]

    def codes(self, lo: int, hi: int) -> np.ndarray:
        """Codes of frames ``[lo, hi)``."""
        parts = [self._block(k)[0] for k in self.blocks.blocks_for_frames(lo, hi)]
        start = lo - self.blocks.blocks_for_frames(lo, hi).start * self.header.block_frames
        return np.concatenate(parts, axis=2)[:, :, start : start + hi - lo]

    def side(self, start: int, stop: int) -> np.ndarray:
        """Side-channel samples ``[start, stop)``."""
        out = np.empty((len(self.header.other_ch_names), stop - start))
        for k, a, b in self._pieces(start, stop):
            out[:, a - start : b - start] = self._block(k)[1][:, a - self.blocks.bounds[k] : b - self.blocks.bounds[k]]
        return out

    def eeg(self, start: int, stop: int, decode: Any, restore_bands: bool = True) -> np.ndarray:
        """EEG samples ``[start, stop)``: ``decode(start, stop)`` (the codec's), to the bound when bounded, with
        the blocks' band gains of a token file (``restore_bands``).

        The codec's reconstruction is not computed when the residual does not need it (a
        bit-exact range).
        """
        if not self.bounded:
            if restore_bands and self.frames is None and self.header.band_edges:
                return self._band_restored(start, stop, decode)
            return decode(start, stop)
        pieces = [(k, a, b, self._block(k)[2]) for k, a, b in self._pieces(start, stop)]
        needed = any(r is None or r.needs_codec for *_, r in pieces)
        decoded = decode(start, stop) if needed else None
        out = np.zeros((len(self.header.ch_names), stop - start))
        for k, a, b, residual in pieces:
            if residual is not None:  # None: salvaged, zeros
                part = None if decoded is None else decoded[:, a - start : b - start]
                out[:, a - start : b - start] = residual.apply(
                    part, a - self.blocks.bounds[k], b - self.blocks.bounds[k]
                )
        return out

    def _band_restored(self, start: int, stop: int, decode: Any) -> np.ndarray:
        """``[start, stop)`` of the decoded blocks, each block decoded whole and its bands scaled by its gains.

        The blocks not kept from an earlier range are decoded in one go (the codec's context once); the
        last few are kept, so that a range read in short pieces decodes each block once.
        """
        bounds, pieces = self.blocks.bounds, self._pieces(start, stop)
        missing = [k for k, *_ in pieces if k not in self._restored]
        fresh = {}
        if missing:
            lo = bounds[missing[0]]
            decoded = decode(lo, bounds[missing[-1] + 1])
            for k in range(missing[0], missing[-1] + 1):
                block, gains = decoded[:, bounds[k] - lo : bounds[k + 1] - lo], self._block(k)[3]
                if gains is not None:  # None: salvaged, zeros
                    block = apply_band_gains(block, gains, self.header.sfreq, self.header.band_edges)
                fresh[k] = block
        out = np.empty((len(self.header.ch_names), stop - start))
        for k, a, b in pieces:
            block = fresh[k] if k in fresh else self._restored[k]
            out[:, a - start : b - start] = block[:, a - bounds[k] : b - bounds[k]]
        for k in list(fresh)[-_RESTORED_BLOCKS:]:  # copies: a view would keep the whole decode
            _keep_last(self._restored, k, fresh[k].copy(), _RESTORED_BLOCKS)
        return out

    def _pieces(self, start: int, stop: int) -> list[tuple[int, int, int]]:
        """``(block, a, b)``: the samples ``[a, b)`` of ``[start, stop)`` in each block."""
        bounds = self.blocks.bounds
        pieces = [(k, max(start, bounds[k]), min(stop, bounds[k + 1])) for k in range(self.blocks.n_blocks)]
        return [(k, a, b) for k, a, b in pieces if a < b]


@keyword_only("n_codebooks", "overwrite")
@verbose
@fill_doc
def write_raw_dac(
    fname: str | Path,
    raw: mne.io.BaseRaw,
    codec: Any = "default",
    *,
    n_codebooks: int | None = None,
    overwrite: bool = False,
    groups: Any = None,
    grouping: str | None = None,
    preprocessing: PreprocessingSettings | None = None,
    max_clipped: float | None = None,
    max_error: float | None = None,
    bits_per_second: float | None = None,
    restore_bands: bool = True,
    progress: bool = False,
    verbose: bool | str | int | None = None,
) -> Path:
    """Compress a recording into a ``.eegdac`` file.

    Parameters
    ----------
    fname : path-like
        Output file.
    raw : mne.io.Raw
        The recording, in Volts.
    codec : str | path-like | DACCodec
        The codec (see :func:`~mne_dac.load_codec`): ``"default"``, a DAC tag, a codec
        file or a :class:`~mne_dac.DACCodec`. Or a transform code in place of tokens, within
        ``bits_per_second`` (see :mod:`mne_dac.io.transform_blocks`): ``"klt-codec"``, the shipped
        ``"linear"`` codec on the channels' principal components, each component's depth chosen per
        second (:mod:`mne_dac.io.component_blocks`); or ``"klt-dct"``, the block DCT of the
        components (:class:`~mne_dac.signal.transform_coding.CrossChannelDCTCoder`'s coder). On
        eegmat both keep the EEG far better than a codec's tokens at the same bits, ``"klt-codec"``
        the better of the two from 22 to 88 bits/s per channel, ``"klt-dct"`` at 176 and under a
        bound (:ref:`benchmarks`).
    %(n_codebooks)s
    %(overwrite)s
    %(groups)s
    %(grouping)s
    preprocessing : PreprocessingSettings | None
        A codec's tokens only: the preprocessing (high-pass, clip level); ``None`` uses the codec's (each
        channel at the codec's level for a codec fitted at those levels, :attr:`~mne_dac.DACCodec.channel_levels`).
        For EEG far quieter or louder than the codec's training EEG,
        :func:`~mne_dac.preprocessing_at_level`. Transform codes and files within a rate scale each
        block themselves.
    %(max_clipped)s
    %(max_error)s
    bits_per_second : float | None
        The budget in bits per second per EEG channel, never exceeded (but by a last block of a
        few seconds at a very low rate: it gets a whole block's share). Transform codes: ``None``,
        88, the default codec's rate; with ``max_error``, the rate of
        :data:`~mne_dac.io.transform_blocks.BASE_RATES` that makes three 16-s excerpts spread over the
        recording smallest, base and residual together (a good base is worth many bits under a loose
        bound, none under a tight one or on noisy recordings). A codec: ``None`` keeps
        ``n_codebooks`` in every frame (tokens); a rate codes each channel with the codec (a DAC-SC
        codec at 256 Hz whose hop divides 512 samples, such as the default), each channel's depth
        in each 4 s chosen so that the squared error is smallest within the rate, in a
        ``"klt-codec"`` file without principal directions (:mod:`mne_dac.io.component_blocks`); any
        rate, not only a multiple of a codebook's, such as 30 bits/s.
    %(restore_bands)s
    progress : bool
        Show a progress bar.
    %(verbose)s

    Returns
    -------
    fname : Path
        The file written.
    """
    groups = resolve_groups(groups, grouping)
    if max_error is not None and not (isinstance(max_error, (int, float)) and 0 <= max_error < math.inf):
        raise ValueError(f"max_error must be None or a bound in Volts >= 0, got {max_error!r}")
    _validate_type(restore_bands, bool, "restore_bands")
    _validate_type(preprocessing, (PreprocessingSettings, None), "preprocessing")
    transform = is_transform_coder(codec, n_codebooks=n_codebooks, groups=groups, bits_per_second=bits_per_second)
    if preprocessing is not None and (transform or bits_per_second is not None):
        raise ValueError(
            "preprocessing= sets how a codec's tokens are scaled; a transform code or a file within a rate "
            "(bits_per_second) scales each block itself: leave preprocessing out."
        )
    if transform:
        if bits_per_second is None:
            bits_per_second = DEFAULT_BITS_PER_SECOND if max_error is None else _base_rate(raw, codec, max_error)
        return _write_transform(Path(fname), raw, codec, bits_per_second, overwrite=overwrite,
                                max_clipped=max_clipped, max_error=max_error, progress=progress,
                                restore_bands=restore_bands and max_error is None)  # fmt: skip
    from types import SimpleNamespace

    from mne_dac.codecs.loading import load_codec
    from mne_dac.io.raw import check_clipping, codec_domain_of, eeg_picks, tokens_preprocessing
    from mne_dac.io.residual import MARGIN
    from mne_dac.io.side_channels import reader_grids
    from mne_dac.io.streaming import iter_code_blocks

    if codec is None:
        warn('write_raw_dac(codec=None) is deprecated: pass codec="default" (the default).', FutureWarning)
        codec = "default"
    if bits_per_second is not None:  # the codec's depth chosen per channel and 4 s (the frames check the codec)
        return _write_transform(Path(fname), raw, "klt-codec", bits_per_second, overwrite=overwrite,
                                max_clipped=max_clipped, max_error=max_error, progress=progress,
                                restore_bands=restore_bands and max_error is None, codec=load_codec(codec))  # fmt: skip
    _validate_type(raw, mne.io.BaseRaw, "raw")
    fname = Path(fname)
    if fname.exists() and not overwrite:  # fail before the (slow) encoding
        raise FileExistsError(f"{fname} exists; pass overwrite=True (--overwrite) to replace it.")
    codec = load_codec(codec)
    preprocessing = preprocessing or tokens_preprocessing(raw, codec)
    n_q = codec.check_n_codebooks(n_codebooks)
    eeg, other = eeg_picks(raw)
    ch_names = [raw.ch_names[i] for i in eeg]
    stream, groups, positions = codec_domain_of(raw, codec, eeg, preprocessing, groups=groups,
                                                max_clipped=None if max_error is not None else max_clipped)  # fmt: skip
    n_frames = codec.n_frames(stream.n_codec)
    tokens = SimpleNamespace(  # what the header says, known before any frame is coded
        ch_names=ch_names, sfreq=raw.info["sfreq"], n_times=raw.n_times, first_samp=raw.first_samp,
        codes_shape=(codec.n_streams(len(ch_names), groups), n_q, n_frames), bits_per_code=codec.bits_per_code,
        codebook_size=codec.codebook_size, hop_length=codec.hop_length, codec_sfreq=codec.sfreq,
        codec=codec.identity, preprocessing=preprocessing, annotations=raw.annotations, info=raw.info,
        other_ch_names=[raw.ch_names[i] for i in other], groups=groups, positions=positions,
        bits_per_second=codec.bits_per_second(n_q) * codec.n_streams(len(ch_names), groups) / len(ch_names),
    )  # fmt: skip
    block_frames = block_frames_for(codec.frame_rate)
    bounds = sample_bounds({**_recording_fields(tokens), "block_frames": block_frames}, -(-n_frames // block_frames))
    total_bits = tokens.bits_per_second * len(ch_names) * raw.n_times / raw.info["sfreq"]
    band_edges = kept_band_edges(restore_bands and max_error is None, len(ch_names), len(bounds) - 1, total_bits)
    coded = iter_code_blocks(stream, codec, n_q, block_frames, progress, ch_names=ch_names, groups=groups,
                             positions=positions)  # fmt: skip
    original = reference_stream(lambda start, stop: raw.get_data(picks=eeg, start=start, stop=stop), ch_names,
                                raw.n_times, raw.info["sfreq"], preprocessing.highpass)  # fmt: skip

    def band_reference(k: int) -> np.ndarray:
        return original.get(bounds[k], bounds[k + 1]) * REFERENCE_CLIP

    residual, layered = _with_layers(raw, eeg, other, bounds, coded, codec, max_error=max_error,
                                     margin=MARGIN * float(np.max(preprocessing.clip)), n_frames=n_frames,
                                     preprocessing=preprocessing, band_edges=band_edges,
                                     band_reference=band_reference, ch_names=ch_names, groups=groups,
                                     positions=positions)  # fmt: skip

    def blocks() -> Iterator:
        yield from layered
        if residual is None:  # with a residual layer, clipping loses nothing
            check_clipping(stream, max_clipped)  # raising here leaves no file (the temporary one is removed)
            stream.report_clipping()

    coding, payloads = _token_payloads(codec, blocks(), codec.bits_per_code)
    coding = {**_token_fields(tokens), **coding, **({"band_edges": list(band_edges)} if band_edges else {})}
    return _write_blocks(fname, tokens, coding, payloads, block_frames,
                         stream.clip_counts, overwrite=overwrite, grids=reader_grids(raw, other),
                         residual=residual)  # fmt: skip


def _residual_uses_base(max_error: float | None, margin: float) -> bool:
    """Whether a residual layer of ``max_error`` may be coded against the base's reconstruction: when the
    base's float rounding (``margin``) leaves room for it."""
    return max_error is not None and 0 < margin < max_error / 2


def _with_layers(raw: mne.io.BaseRaw, eeg: np.ndarray, other: np.ndarray, bounds: list[int], coded: Iterator,
                 base: Any, *, max_error: float | None, margin: float, n_frames: int,
                 preprocessing: PreprocessingSettings, band_edges: tuple[float, ...] = (),
                 band_reference: Callable | None = None, **channels: Any) -> tuple[dict | None, Iterator]:  # fmt: skip
    """``(codes, side channels, residual layer, band gains)`` of each ``(start, stop, codes)`` block of ``coded``,
    and the header's description of the residual layer (``None`` without ``max_error``).

    ``base`` decodes the codes (a codec, or a transform code's frames); ``margin``: the Volts kept for its float
    rounding on another machine; ``band_edges``: the bands whose power each block keeps by gains on the base's
    decode (:mod:`mne_dac.io.band_gains`; none: no gains, ``b""``), measured against ``band_reference(k)``, the
    EEG of block ``k`` at the recording's rate; ``channels``: ``ch_names``, ``groups``, ``positions`` as the codec
    takes them.
    """
    from mne_dac.io.residual import decode_residual, encode_residual, grids_to_header
    from mne_dac.io.side_channels import reader_grids
    from mne_dac.io.streaming import with_reconstruction

    eeg_grids, residual = reader_grids(raw, eeg), None
    if max_error is not None:  # the base's reconstruction is subtracted only where it can help
        residual = {"max_error": float(max_error), "margin": margin, "coding": RESIDUAL_CODINGS[-1],
                    "grids": grids_to_header(eeg_grids, len(eeg))}  # fmt: skip
    if band_edges or _residual_uses_base(max_error, margin):
        coded = with_reconstruction(coded, base, bounds=bounds, n_frames=n_frames, sfreq=raw.info["sfreq"],
                                    n_times=raw.n_times, preprocessing=preprocessing, **channels)  # fmt: skip

    def blocks() -> Iterator:
        for k, (_, _, codes, *decoded) in enumerate(coded):
            side = raw.get_data(picks=other, start=bounds[k], stop=bounds[k + 1]) if len(other) else None
            layer, gains = None, b""
            if band_edges:
                gains = band_gains(band_reference(k), decoded[0], raw.info["sfreq"], band_edges)
            if residual is not None:
                x = raw.get_data(picks=eeg, start=bounds[k], stop=bounds[k + 1])
                payload = encode_residual(x, decoded[0] if decoded else None, max_error, margin=margin, grids=eeg_grids)
                decoded_layer = decode_residual(payload, len(eeg), x.shape[1], max_error=max_error, margin=margin,
                                                grids=eeg_grids)  # as a reader decodes it  # fmt: skip
                layer = payload, decoded_layer.crc
            yield codes, np.zeros((0, bounds[k + 1] - bounds[k])) if side is None else side, layer, gains

    return residual, blocks()


def _base_rate(raw: mne.io.BaseRaw, method: str, max_error: float) -> float:
    """The rate of the transform base under a residual layer of ``max_error``: of :data:`BASE_RATES
    <mne_dac.io.transform_blocks.BASE_RATES>` that hold a whole block of the recording, the one whose base and
    residual take the fewest bytes on :data:`BASE_RATE_SAMPLES <mne_dac.io.transform_blocks.BASE_RATE_SAMPLES>`
    excerpts spread over it (the bytes against the rate are not convex: all are tried). A bit-exact residual does
    not use the base: the lowest rate that codes them."""
    from mne_dac.io.raw import eeg_picks

    n_eeg = len(eeg_picks(raw)[0])
    # the rates at which a whole block holds its payload (an excerpt, one block shorter than 64 s, gets its share)
    rates = [rate for rate in BASE_RATES if holds_whole_block(rate, n_eeg)]
    if max_error == 0:  # a bit-exact residual does not use the base
        logger.info("Base of the bit-exact residual layer: %s at %g bits/s per channel", method, rates[0])
        return rates[0]
    length = min(BASE_RATE_SAMPLE_SECONDS, raw.times[-1])
    n_samples = max(1, min(BASE_RATE_SAMPLES, int(raw.times[-1] // length)))  # excerpts that do not overlap
    starts = np.linspace(0, raw.times[-1] - length, n_samples)
    samples = [raw.copy().crop(t, min(t + length, raw.times[-1])).load_data(verbose="error") for t in starts]
    sizes = dict.fromkeys(rates, 0)
    with tempfile.TemporaryDirectory() as tmp, use_log_level("warning"):  # the trials are not the user's files
        for rate in rates:
            for sample in samples:
                fname = _write_transform(Path(tmp) / "sample.eegdac", sample, method, rate, overwrite=True,
                                         max_clipped=None, max_error=max_error, progress=False,
                                         restore_bands=False)  # fmt: skip
                header = read_header(fname)
                sizes[rate] += header.token_bytes + header.residual_bytes + 2 * header.transform.directions.size
    rate = min(sizes, key=sizes.get)
    logger.info("Base of the residual layer: %s at %g bits/s per channel (tried %s)", method, rate,
                ", ".join(f"{r:g}: {b} bytes" for r, b in sizes.items()))  # fmt: skip
    return rate


def _write_transform(fname: Path, raw: mne.io.BaseRaw, method: str, bits_per_second: float, *, overwrite: bool,
                     max_clipped: float | None, max_error: float | None, progress: bool, restore_bands: bool,
                     codec: Any = None) -> Path:  # fmt: skip
    """Write a transform-coded file (see :mod:`mne_dac.io.transform_blocks`): two passes over the recording.

    ``codec`` (``"klt-codec"`` only): ``None``, the shipped :data:`~mne_dac.io.transform_blocks.COMPONENT_CODEC` on
    the channels' principal components; a :class:`~mne_dac.DACCodec`, that codec on each channel as it is (one pass).
    """
    from types import SimpleNamespace

    from tqdm.auto import tqdm

    from mne_dac.io.component_blocks import CHANNEL_SEGMENT_SECONDS, SEGMENT_SECONDS, ComponentCodecFrames
    from mne_dac.io.raw import check_clipping, eeg_picks
    from mne_dac.io.side_channels import reader_grids

    _validate_type(raw, mne.io.BaseRaw, "raw")
    if fname.exists() and not overwrite:  # fail before the encoding
        raise FileExistsError(f"{fname} exists; pass overwrite=True (--overwrite) to replace it.")
    eeg, other = eeg_picks(raw)
    ch_names = [raw.ch_names[i] for i in eeg]
    stream = CodecDomainStream(lambda start, stop: raw.get_data(picks=eeg, start=start, stop=stop), len(eeg),
                               raw.n_times, raw.info["sfreq"], TRANSFORM_SFREQ, TRANSFORM_PREPROCESSING, ch_names)  # fmt: skip
    spec = fit_transform(stream, bits_per_second, method, directions=codec is None, restore_bands=restore_bands,
                         depth_seconds=SEGMENT_SECONDS if codec is None else CHANNEL_SEGMENT_SECONDS,
                         block_scales=method == "klt-codec" and max_error is None,  # a residual bounds the rest
                         progress=progress)  # fmt: skip
    check_clipping(stream, None if max_error is not None else max_clipped)
    coding = {"coding": method, "transform": spec.to_dict()}
    if method == "klt-codec":
        from mne_dac.codecs.loading import load_codec

        codec = load_codec(COMPONENT_CODEC) if codec is None else codec
        frames = ComponentCodecFrames.for_writing(spec, codec, stream.n_codec)
        coding["codec"] = codec.identity.to_dict()
    else:
        frames = TransformFrames.for_writing(spec, stream.n_codec)
    recording = SimpleNamespace(
        ch_names=ch_names, sfreq=raw.info["sfreq"], n_times=raw.n_times, first_samp=raw.first_samp,
        hop_length=DCT_BLOCK, codec_sfreq=TRANSFORM_SFREQ, preprocessing=TRANSFORM_PREPROCESSING,
        annotations=raw.annotations, other_ch_names=[raw.ch_names[i] for i in other], info=raw.info,
        bits_per_second=bits_per_second,
    )  # fmt: skip
    n_frames = max(1, -(-stream.n_codec // DCT_BLOCK))
    bounds = sample_bounds({**_recording_fields(recording), "block_frames": BLOCK_FRAMES}, -(-n_frames // BLOCK_FRAMES))
    payloads: list[bytes] = []  # coded, not yet written
    with_base = _residual_uses_base(max_error, frames.margin)  # the residual needs the decoded frames

    def coded() -> Iterator:
        spans = frame_blocks(n_frames, BLOCK_FRAMES)
        for start, stop in tqdm(spans, desc="Encoding", unit="block", disable=not progress):
            x = stream.get(start * DCT_BLOCK, min(stop * DCT_BLOCK, stream.n_codec))
            payloads.append(frames.encode_block(x))
            yield start, stop, frames.decode_block(payloads[-1], stop - start, x.shape[1]) if with_base else None

    residual, layered = _with_layers(raw, eeg, other, bounds, coded(), frames, max_error=max_error,
                                     margin=frames.margin, n_frames=n_frames,
                                     preprocessing=TRANSFORM_PREPROCESSING)  # fmt: skip

    def blocks() -> Iterator:
        for _, side, layer, _ in layered:  # the band gains are in the payload
            yield payloads.pop(0), NO_CODES, side, layer
        stream.report_clipping()
        if isinstance(frames, ComponentCodecFrames):  # the codec clips its input at its own level
            frames.report_clipping(ch_names, stream.n_codec)

    return _write_blocks(fname, recording, coding, blocks(), BLOCK_FRAMES, stream.clip_counts, overwrite=overwrite,
                         grids=reader_grids(raw, other), residual=residual)  # fmt: skip


@verbose
def read_raw_dac(
    fname: str | Path,
    codec: Any = None,
    *,
    tmin: float | None = None,
    tmax: float | None = None,
    preload: bool = True,
    salvage: bool = False,
    n_codebooks: int | None = None,
    layer: str | None = None,
    progress: bool = False,
    verbose: bool | str | int | None = None,
) -> mne.io.BaseRaw:
    """Read and decompress a ``.eegdac`` file, or a time range of it.

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.
    codec : str | path-like | DACCodec | None
        The codec that wrote the file; ``None`` loads it when it is the shipped default
        or a DAC tag. Another codec raises :class:`~mne_dac.CodecMismatchError`.
    tmin, tmax : float | None
        Decode only this range, in seconds from the start (``tmax`` included, as
        :meth:`mne.io.Raw.crop`): only the blocks it needs are read and decoded (format
        version 2). The samples equal those of the whole decode cropped, to float rounding.
    preload : bool
        Decode at once. ``False`` (format version 2) returns a :class:`RawEEGDAC` that
        decodes what is asked of it, block by block: saving it to FIF
        (:meth:`~mne.io.Raw.save`) takes memory bounded whatever the recording's length.
    salvage : bool
        Read a file with damaged blocks (format version 2): their samples are zeros,
        annotated ``BAD_damaged``, with a warning naming their time spans. By default a
        damaged block raises :class:`~mne_dac.EEGDACFormatError` naming its time span.
    n_codebooks : int | None
        Decode with only the first ``n_codebooks`` codebooks (the tokens only); fewer than the
        file holds decode without its blocks' band gains, which were measured at its whole depth.
    layer : None | "tokens"
        ``None``: every layer of the file, so EEG samples are within the file's bound of the
        original (bit-exact with a bound of 0) when it has a residual layer
        (``write_raw_dac(max_error=...)``). ``"tokens"``: the lossy base layer only, which is
        faster.
    progress : bool
        Show a progress bar.
    %(verbose)s

    Returns
    -------
    raw : mne.io.Raw
        The reconstruction, with the original channels, rate, measurement date, montage
        and annotations (those of the range).
    """
    _check_option("layer", layer, (None, "tokens"))
    from mne_dac.codecs.loading import codec_for
    from mne_dac.io.raw import lossy_description, reconstruct_raw

    header, contents, info = _open(fname)
    sfreq = header.sfreq
    start, stop = _sample_range(header, tmin, tmax)
    if not isinstance(contents, BlockFile):  # version 1: no random access
        raw = reconstruct_raw(read_tokens(fname), codec, n_codebooks=n_codebooks, progress=progress)
        return raw if (start, stop) == (0, header.n_times) else raw.crop(start / sfreq, (stop - 1) / sfreq)
    if header.transform is not None:
        if codec is not None and header.codec is None:
            raise ValueError(f"{fname} holds a {header.coding} transform code: it needs no codec (pass none)")
        if n_codebooks is not None:
            raise ValueError(f"{fname} holds a {header.coding} transform code, whose depth is chosen as it was "
                             "written: n_codebooks does not apply")  # fmt: skip
        codec = _transform_frames(header, codec)
    else:
        codec = codec_for(header.codec, codec)
    if header.residual is not None and layer is None and n_codebooks is not None:
        raise ValueError("n_codebooks applies to the tokens only: pass layer='tokens' with it")
    with _naming(Path(fname)):
        reader = _BlockReader(header, contents, codec, salvage=salvage, layer=layer)
        annotations = _annotations(header, info)
    if header.transform is not None:
        bitrate = header.bits_per_second
    else:
        n_q = header.codes_shape[1] if n_codebooks is None else n_codebooks
        bitrate = codec.bits_per_second(n_q) * header.codes_shape[0] / len(header.ch_names)
    if reader.bounded:
        note = f"Decoded by mne-dac: EEG {_bound(header.residual)} (codec {codec.name!r} and a residual layer)."
    else:
        note = lossy_description(codec.name, bitrate, header.ch_names)
    info["description"] = note + (f" Original description: {info['description']}" if info["description"] else "")
    raw = RawEEGDAC(info, reader, codec, n_codebooks, first_samp=header.first_samp, progress=progress)
    if annotations is not None:
        raw.set_annotations(annotations, verbose="error")
    if reader.damaged:
        spans = reader.damaged_spans()
        warn(f"{fname}: {len(spans)} damaged block(s) read as zeros and annotated BAD_damaged: "
             + ", ".join(reader.blocks.span(k) for k in sorted(reader.damaged)))  # fmt: skip
        offset = raw.first_time if raw.annotations.orig_time is not None else 0.0
        raw.annotations.append([offset + a / sfreq for a, _ in spans], [(b - a) / sfreq for a, b in spans],
                               "BAD_damaged")  # fmt: skip
    if (start, stop) != (0, header.n_times):
        raw.crop(start / sfreq, (stop - 1) / sfreq, verbose="error")  # annotations outside are left out
    return raw.load_data(verbose="error") if preload else raw


class RawEEGDAC(mne.io.BaseRaw):
    """A version-2 ``.eegdac`` file as a Raw decoded on demand (:func:`read_raw_dac` with ``preload=False``).

    Only the blocks a request needs are read and decoded, so that saving to FIF
    (:meth:`~mne.io.Raw.save`, buffer by buffer) or reading a time range works in memory
    bounded whatever the recording's length.
    """

    def __init__(self, info: mne.Info, reader: _BlockReader, codec: Any, n_codebooks: int | None, *,
                 first_samp: int, progress: bool = False) -> None:  # fmt: skip
        header = reader.header
        index = {name: i for i, name in enumerate(info["ch_names"])}
        extras = dict(reader=reader, codec=codec, n_codebooks=n_codebooks, progress=progress, first_samp=first_samp,
                      eeg=[index[n] for n in header.ch_names], other=[index[n] for n in header.other_ch_names])  # fmt: skip
        super().__init__(
            info, preload=False, first_samps=[first_samp], last_samps=[first_samp + header.n_times - 1],
            filenames=[reader.blocks.fname], raw_extras=[extras], orig_format="double", verbose="error",
            buffer_size_sec=header.block_frames * header.hop_length / header.codec_sfreq,  # save() asks block by block
        )  # fmt: skip

    def _read_segment_file(self, data, idx, fi, start, stop, cals, mult):  # noqa: D401 - MNE's hook
        """Decode samples ``[start, stop)`` into ``data`` (MNE's reader interface)."""
        extras = self._raw_extras[fi]
        reader = extras["reader"]
        header = reader.header
        start, stop = start - extras["first_samp"], stop - extras["first_samp"]  # MNE counts from first_samp
        one = np.empty((len(header.ch_names) + len(header.other_ch_names), stop - start))

        def decode(a: int, b: int) -> np.ndarray:  # one decode for the range: the codec's context once
            return decode_samples(
                reader.codes, extras["codec"], n_frames=header.n_frames, sfreq=header.sfreq,
                n_times=header.n_times, preprocessing=header.preprocessing, start=a, stop=b,
                n_codebooks=extras["n_codebooks"], progress=extras["progress"], ch_names=header.ch_names,
                groups=header.groups, positions=header.positions,
            )  # fmt: skip

        with _naming(reader.blocks.fname):
            n_codebooks = extras["n_codebooks"]  # the gains are the whole depth's
            restore = header.codes_shape is None or n_codebooks in (None, header.codes_shape[1])
            one[extras["eeg"]] = reader.eeg(start, stop, decode, restore_bands=restore)
            if extras["other"]:
                one[extras["other"]] = reader.side(start, stop)
            for a, b in reader.damaged_spans():  # salvaged: what a damaged block held is unknown
                one[:, max(a, start) - start : max(min(b, stop) - start, 0)] = 0
        data[:] = one[idx] if mult is None else mult @ one[idx]


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
    h = read_header(fname)
    n_ch = len(h.ch_names)
    names = ", ".join(h.ch_names[:8]) + (", …" if n_ch > 8 else "")
    if h.transform is None:
        n_q = h.codes_shape[1]
        coder = [
            f"Codec:             {h.codec.describe()}, {h.codebook_size} entries × {n_q} codebooks, "
            f"{h.codec_sfreq:g} Hz, hop {h.hop_length}",
            f"Decodes with:      {_codec_needed(h.codec)}",
        ]
    else:
        n_directions = h.transform.directions.shape[1]
        coded = f"the channels' {n_directions} principal components" if n_directions else "each channel"
        if h.codec is None:
            coder = [f"Coder:             {h.coding}: block DCT ({h.hop_length} samples at {h.codec_sfreq:g} Hz) of "
                     f"{coded}", "Decodes with:      mne-dac alone (no codec)"]  # fmt: skip
        else:
            seconds = h.transform.depth_seconds
            every = "second" if seconds == 1 else f"{seconds} s"
            scaled = ", each block scaled to the codec's level" if h.transform.block_scales else ""
            coder = [f"Coder:             {h.coding}: codec {h.codec.describe()} on {coded}, depth chosen per "
                     f"{every}{scaled}", f"Decodes with:      {_codec_needed(h.codec)}"]  # fmt: skip
    if h.version >= 2 and h.residual is None:
        edges = h.band_edges
        bands = ", ".join(f"{low:g}-{high:g}" for low, high in zip(edges[:-1], edges[1:]))
        seconds = h.block_frames * h.hop_length / h.codec_sfreq
        kept = f"at least {KEPT_POWER:.0%} kept in each {seconds:g}-s block ({bands} Hz)" if edges else "not kept"
        coder.append(f"Band powers:       {kept}")
    lines = [
        f"File:              {fname} ({h.file_size:,} bytes, format version {h.version})",
        f"Coded channels:    {n_ch} ({names})",
        f"Other channels:    {len(h.other_ch_names)} kept losslessly {h.other_ch_names or ''}".rstrip(),
        f"Duration:          {h.duration:.2f} s ({h.n_times} samples at {h.sfreq:g} Hz)",
        *coder,
        f"Bitrate:           {h.bits_per_second:g} bits/s per channel nominal, {h.coded_bits_per_second:.1f} "
        "in the file" + (" (entropy-coded tokens)" if h.version >= 2 and h.transform is None else ""),
        f"Compression ratio: {h.codes_compression_ratio:.1f}× for the codes, {h.file_compression_ratio:.1f}× for "
        "the whole file (against 16-bit samples at the original rate)",
        f"Preprocessing:     high-pass {h.preprocessing.highpass} Hz, clip {h.preprocessing.describe()} "
        f"({sum(h.clip_counts)} samples clipped)",
        f"Annotations:       {len(h.annotations['onset']) if h.annotations else 0}",
    ]
    if h.version >= 2:
        per_channel = 8 / h.duration / max(n_ch, 1)
        layers = (f"{'tokens' if h.transform is None else h.coding} {h.token_bytes:,} bytes "
                  f"({h.token_bytes * per_channel:.1f} bits/s per channel)")  # fmt: skip
        if h.residual is not None:
            layers += (f", residual {h.residual_bytes:,} bytes ({h.residual_bits_per_second:.1f} bits/s per channel): "
                       f"EEG {_bound(h.residual)}")  # fmt: skip
        else:
            layers += ", no residual: EEG lossy"
        lines.append(f"Layers:            {layers}; side channels {h.side_bytes:,} bytes")
    if h.groups is not None:
        layout = h.codec.config.get("mc", {}).get("layout", "channel")
        n_streams = h.codes_shape[0]
        lines.append(
            f"Channel groups:    {h.groups.n_groups} ({h.groups.method}; {layout} layout: "
            f"{n_streams} token streams): " + "; ".join(" ".join(g) for g in h.groups.groups)
        )
    return "\n".join(lines)


def _codec_needed(identity) -> str:
    """Which codec decodes tokens of ``identity``: a shipped codec found by its weights, or the user's."""
    shipped = shipped_codec_of(identity)
    if shipped is not None:
        return f"shipped codec {shipped.name!r} (found automatically)"
    if identity.name in DAC_TAGS:
        return f"DAC's {identity.name!r} weights (loaded automatically)"
    return f"not a shipped codec: pass its file with --codec (weights {identity.weights_sha256[:12]})"
