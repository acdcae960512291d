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
import json
import math
import struct
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import mne
import numpy as np
from mne.utils import _validate_type, logger, verbose

from mne_dac._version import __version__
from mne_dac.codecs.codec import CodecIdentity
from mne_dac.codecs.loading import DAC_TAGS, shipped_codec_of
from mne_dac.io.tokens import EEGTokens
from mne_dac.io.validation import EEGDACFormatError, check_fif_structure, decompress_exactly, validate_header
from mne_dac.signal.groups import ChannelGroups, group_kwargs, resolve_groups
from mne_dac.signal.preprocessing import PreprocessingSettings, n_codec_samples
from mne_dac.utils._atomic import atomic_write
from mne_dac.utils._deprecation import keyword_only, renamed_attribute
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._json import jsonable
from mne_dac.utils._logging import warn

MAGIC = b"\x89EEGDAC\n"
FORMAT_VERSION = 1
_PREAMBLE = struct.Struct("<8sHI")
_DIGEST_SIZE = 32
_PACK_CHUNK = 1 << 20  # codes packed per step: a multiple of 8, bounds memory


def pack_codes(codes: np.ndarray, n_bits: int) -> bytes:
    """Bit-pack integer codes at ``n_bits`` bits each (C order, LSB first)."""
    flat = np.ascontiguousarray(codes).ravel()
    if flat.size and (flat.min() < 0 or flat.max() >= 1 << n_bits):
        raise ValueError(f"codes do not fit in {n_bits} bits")
    shifts = np.arange(n_bits, dtype=np.uint32)
    out = []
    for start in range(0, flat.size, _PACK_CHUNK):
        part = flat[start : start + _PACK_CHUNK].astype(np.uint32)
        bits = ((part[:, None] >> shifts) & 1).astype(np.uint8)
        out.append(np.packbits(bits.ravel(), bitorder="little").tobytes())
    return b"".join(out)


def unpack_codes(buf: bytes, n_bits: int, shape: tuple[int, ...]) -> np.ndarray:
    """Invert :func:`pack_codes`."""
    n = int(np.prod(shape))
    if len(buf) != -(-n * n_bits // 8):
        raise EEGDACFormatError(f"codes section has {len(buf)} bytes, expected {-(-n * n_bits // 8)}")
    raw = np.frombuffer(buf, dtype=np.uint8)
    weights = 1 << np.arange(n_bits, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    step = _PACK_CHUNK * n_bits // 8
    for i, start in enumerate(range(0, n, _PACK_CHUNK)):
        count = min(_PACK_CHUNK, n - start)
        bits = np.unpackbits(raw[i * step : i * step + step], count=count * n_bits, bitorder="little")
        out[start : start + count] = bits.reshape(count, n_bits) @ weights
    return out.reshape(shape)


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
def write_tokens(fname: str | Path, tokens: EEGTokens, *, overwrite: bool = False) -> Path:
    """Write tokens to a ``.eegdac`` file.

    Parameters
    ----------
    fname : path-like
        Output file (``.eegdac``). Written to a temporary file, then renamed.
    tokens : EEGTokens
        The tokens, from :func:`~mne_dac.tokenize_raw`.
    %(overwrite)s

    Returns
    -------
    fname : Path
        The file written.
    """
    _validate_type(tokens, EEGTokens, "tokens")
    fname = Path(fname)
    escaped = not all(name.isascii() for name in tokens.info["ch_names"])
    sections = {
        "codes": pack_codes(tokens.codes, tokens.bits_per_code),
        "info": _info_to_bytes(_escape_names(tokens.info, True) if escaped else tokens.info),
        "other_data": zlib.compress(np.ascontiguousarray(tokens.other_data, dtype="<f8").tobytes(), 6),
    }
    header = {
        "format": "eegdac",
        "version": FORMAT_VERSION,
        "writer": f"mne-dac {__version__}",
        "ch_names": tokens.ch_names,
        "sfreq": tokens.sfreq,
        "n_times": tokens.n_times,
        "first_samp": tokens.first_samp,
        "codes_shape": list(tokens.codes.shape),
        "bits_per_code": tokens.bits_per_code,
        "codebook_size": tokens.codebook_size,
        "hop_length": tokens.hop_length,
        "codec_sfreq": tokens.codec_sfreq,
        "codec": tokens.codec.to_dict(),
        "preprocessing": tokens.preprocessing.to_dict(),
        "clip_counts": [int(c) for c in tokens.clip_counts],
        "annotations": _annotations_to_dict(tokens.annotations),
        "other_ch_names": tokens.other_ch_names,
        "groups": None if tokens.groups is None else tokens.groups.to_dict(),
        "positions": None if tokens.positions is None else tokens.positions.tolist(),
        "sections": [{"name": k, "size": len(v)} for k, v in sections.items()],
        **({"info_names": _ESCAPED_NAMES} if escaped else {}),
    }
    header_bytes = json.dumps(jsonable(header), separators=(",", ":")).encode()
    with atomic_write(fname, overwrite=overwrite) as tmp, open(tmp, "wb") as fid:
        digest = hashlib.sha256()
        for part in (
            _PREAMBLE.pack(MAGIC, FORMAT_VERSION, len(header_bytes)),
            header_bytes,
            *sections.values(),
        ):
            fid.write(part)
            digest.update(part)
        fid.write(digest.digest())
    logger.info(
        "Wrote %s: %d channels, %.1f s, %d bytes of codes (%.0f bits/s/channel)",
        fname,
        tokens.n_channels,
        tokens.duration,
        len(sections["codes"]),
        tokens.bits_per_second,
    )
    return fname


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
    codes_shape : tuple of int
        ``(n_streams, n_codebooks, n_frames)``.
    bits_per_code : int
        Bits of one code.
    codebook_size : int
        Entries per codebook.
    hop_length : int
        Codec samples per frame.
    codec_sfreq : float
        The codec's rate.
    codec : CodecIdentity
        The codec that wrote the codes.
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
    """

    version: int
    writer: str
    ch_names: list[str]
    other_ch_names: list[str]
    sfreq: float
    n_times: int
    first_samp: int
    codes_shape: tuple[int, int, int]
    bits_per_code: int
    codebook_size: int
    hop_length: int
    codec_sfreq: float
    codec: CodecIdentity
    preprocessing: PreprocessingSettings
    clip_counts: list[int]
    annotations: dict | None
    groups: ChannelGroups | None
    positions: list | None
    file_size: int

    @classmethod
    def from_dict(cls, header: dict, file_size: int) -> EEGDACHeader:
        """Build from a file's JSON header."""
        groups = header.get("groups")
        return cls(
            version=int(header["version"]),
            writer=str(header.get("writer", "")),
            ch_names=list(header["ch_names"]),
            other_ch_names=list(header["other_ch_names"]),
            sfreq=float(header["sfreq"]),
            n_times=int(header["n_times"]),
            first_samp=int(header["first_samp"]),
            codes_shape=tuple(int(n) for n in header["codes_shape"]),
            bits_per_code=int(header["bits_per_code"]),
            codebook_size=int(header["codebook_size"]),
            hop_length=int(header["hop_length"]),
            codec_sfreq=float(header["codec_sfreq"]),
            codec=CodecIdentity.from_dict(header["codec"]),
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
    def bits_per_second(self) -> float:
        """Bits per second per coded channel."""
        n_streams, n_q, _ = self.codes_shape
        return n_q * self.bits_per_code * self.codec_sfreq / self.hop_length * n_streams / len(self.ch_names)

    bitrate = renamed_attribute("bits_per_second")

    @property
    def clipped_share(self) -> float:
        """Share of the coded samples (at the codec's rate) that were clipped, 0 to 1."""
        n_coded = n_codec_samples(self.n_times, self.sfreq, self.codec_sfreq) * len(self.ch_names)
        return sum(self.clip_counts) / n_coded

    @property
    def codes_compression_ratio(self) -> float:
        """16-bit samples of the coded channels at the recording's rate over the bits of the codes."""
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
    return _read(fname)[0]


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
    if version > FORMAT_VERSION:
        raise EEGDACFormatError(
            f"{fname} is .eegdac version {version}; this mne-dac reads up to {FORMAT_VERSION}: upgrade mne-dac."
        )
    if hashlib.sha256(buf[:-_DIGEST_SIZE]).digest() != buf[-_DIGEST_SIZE:]:
        raise EEGDACFormatError(f"{fname} is corrupted or truncated: its SHA-256 checksum does not match its content.")
    start = _PREAMBLE.size
    with _naming(fname):
        if version < 1 or start + header_size > len(buf) - _DIGEST_SIZE:
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


def read_tokens(fname: str | Path) -> EEGTokens:
    """Read tokens from a ``.eegdac`` file.

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.

    Returns
    -------
    tokens : EEGTokens
        The tokens; decode with :func:`~mne_dac.reconstruct_raw`.
    """
    header, sections, info = _read(fname)
    with _naming(Path(fname)):
        n_other = 8 * len(header.other_ch_names) * header.n_times
        other = np.frombuffer(decompress_exactly(sections["other_data"], n_other, "other_data"), dtype="<f8")
        codes = unpack_codes(sections["codes"], header.bits_per_code, header.codes_shape)
        if codes.size and codes.max() >= header.codebook_size:
            raise EEGDACFormatError("section 'codes': a code is beyond the codebook")
        try:
            annotations = _annotations_from_dict(header.annotations)
        except (KeyError, ValueError, TypeError) as err:
            raise EEGDACFormatError(f"header field 'annotations': {err}") from err
        if annotations is not None and (annotations.orig_time is None) != (info["meas_date"] is None):
            raise EEGDACFormatError("header field 'annotations': its time origin disagrees with the info's date")
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
        other_data=other.reshape(len(header.other_ch_names), header.n_times).copy(),
        other_ch_names=header.other_ch_names,
        groups=header.groups,
        positions=header.positions,
    )


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
    max_clipped: float | None = None,
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
    %(codec)s
    %(n_codebooks)s
    %(overwrite)s
    %(groups)s
    %(grouping)s
    %(max_clipped)s
    progress : bool
        Show a progress bar.
    %(verbose)s

    Returns
    -------
    fname : Path
        The file written.
    """
    groups = resolve_groups(groups, grouping)
    from mne_dac.io.raw import tokenize_raw

    if codec is None:
        warn('write_raw_dac(codec=None) is deprecated: pass codec="default" (the default).', FutureWarning)
        codec = "default"
    fname = Path(fname)
    if fname.exists() and not overwrite:  # fail before the (slow) encoding
        raise FileExistsError(f"{fname} exists; pass overwrite=True (--overwrite) to replace it.")
    tokens = tokenize_raw(
        raw,
        codec,
        n_codebooks=n_codebooks,
        **group_kwargs(groups),
        max_clipped=max_clipped,
        progress=progress,
    )
    return write_tokens(fname, tokens, overwrite=overwrite)


@verbose
def read_raw_dac(
    fname: str | Path,
    codec: Any = None,
    *,
    n_codebooks: int | None = None,
    progress: bool = False,
    verbose: bool | str | int | None = None,
) -> mne.io.RawArray:
    """Read and decompress a ``.eegdac`` file.

    Parameters
    ----------
    fname : path-like
        The ``.eegdac`` file.
    codec : str | path-like | DACCodec | None
        The codec that wrote the file; ``None`` loads it when it is the shipped default
        or a DAC tag. Another codec raises :class:`~mne_dac.CodecMismatchError`.
    n_codebooks : int | None
        Decode with only the first ``n_codebooks`` codebooks.
    progress : bool
        Show a progress bar.
    verbose : bool | str | int | None
        Control verbosity of the logging output.

    Returns
    -------
    raw : mne.io.RawArray
        The reconstruction, with the original channels, rate, length, measurement
        date, montage and annotations.
    """
    from mne_dac.io.raw import reconstruct_raw

    return reconstruct_raw(read_tokens(fname), codec, n_codebooks=n_codebooks, progress=progress)


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
    n_streams, n_q, _ = h.codes_shape
    n_ch = len(h.ch_names)
    names = ", ".join(h.ch_names[:8]) + (", …" if n_ch > 8 else "")
    lines = [
        f"File:              {fname} ({h.file_size:,} bytes, format version {h.version})",
        f"Coded channels:    {n_ch} ({names})",
        f"Other channels:    {len(h.other_ch_names)} kept losslessly {h.other_ch_names or ''}".rstrip(),
        f"Duration:          {h.duration:.2f} s ({h.n_times} samples at {h.sfreq:g} Hz)",
        f"Codec:             {h.codec.describe()}, {h.codebook_size} entries × {n_q} codebooks, "
        f"{h.codec_sfreq:g} Hz, hop {h.hop_length}",
        f"Decodes with:      {_codec_needed(h.codec)}",
        f"Bitrate:           {h.bits_per_second:g} bits/s per channel",
        f"Compression ratio: {h.codes_compression_ratio:.1f}× for the codes, {h.file_compression_ratio:.1f}× for "
        "the whole file (against 16-bit samples at the original rate)",
        f"Preprocessing:     high-pass {h.preprocessing.highpass} Hz, clip ±"
        f"{h.preprocessing.clip * 1e6:g} µV ({sum(h.clip_counts)} samples clipped)",
        f"Annotations:       {len(h.annotations['onset']) if h.annotations else 0}",
    ]
    if h.groups is not None:
        layout = h.codec.config.get("mc", {}).get("layout", "channel")
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
