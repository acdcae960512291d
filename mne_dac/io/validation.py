"""Validation of ``.eegdac`` files before any of their content is used.

The SHA-256 at the end of a file guards against accidents only: anyone can recompute it. So
every header field is checked for its type, its range and its consistency with the others and
with the sections, each decompression is bounded by the size the header declares, and the
measurement info (a FIF block) is walked with bounded work before MNE reads it. Every failure
raises :class:`EEGDACFormatError` naming the field.
"""

from __future__ import annotations

import math
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

from mne_dac.signal.preprocessing import PreprocessingSettings, n_codec_samples

#: The sections of a version-1 file, in order.
SECTIONS = ("codes", "info", "other_data")
#: Decoded samples (all channels) a file may declare per byte of its own size: far above what any
#: codec reaches (about 400 for 10-bit codes of 512-sample frames), far below a memory bomb.
MAX_SAMPLES_PER_FILE_BYTE = 1 << 13
#: Bounds on the header's numbers.
MAX_SFREQ = 1e6
MAX_HOP = 1 << 16
MAX_CODEBOOK_SIZE = 1 << 24
MAX_CODEBOOKS = 64
#: Sample indices are 32-bit in FIF files, as in MNE.
MAX_SAMPLE_INDEX = 2**31 - 1
#: The codec architectures a file may name.
ARCHITECTURE_NAMES = ("dac-sc", "dac-mc")
#: FIF: the tags of the measurement info, their nesting and their number.
_FIF_TAG = struct.Struct(">iiii")
_FIF_BLOCK_START, _FIF_BLOCK_END, _FIF_DIR_POINTER = 104, 105, 101
_FIF_MAX_DEPTH = 32
_SHA256 = re.compile(r"[0-9a-f]{64}")


class EEGDACFormatError(OSError):
    """Raised when a ``.eegdac`` file is truncated, corrupted, crafted or not one at all."""


def _fail(field: str, problem: str) -> None:
    raise EEGDACFormatError(f"header field {field!r}: {problem}")


def _get(header: dict, field: str, kind: type | tuple[type, ...], check: Callable[[Any], bool] | None = None,
         problem: str = "out of range") -> Any:  # fmt: skip
    if field not in header:
        _fail(field, "missing")
    value = header[field]
    if isinstance(value, bool) or not isinstance(value, kind):
        _fail(field, f"expected {getattr(kind, '__name__', kind)}, got {type(value).__name__}")
    if isinstance(value, float) and not math.isfinite(value):
        _fail(field, f"not finite ({value})")
    if check is not None and not check(value):
        _fail(field, f"{problem} ({str(value)[:80]})")
    return value


def _names(header: dict, field: str) -> list[str]:
    names = _get(header, field, list)
    if not all(isinstance(n, str) and n for n in names):
        _fail(field, "expected non-empty strings")
    if len(set(names)) != len(names):
        _fail(field, "names repeat")
    return names


def validate_header(header: Any, version: int, file_size: int) -> None:
    """Check every field of a parsed JSON header, and their consistency.

    Raises
    ------
    EEGDACFormatError
        Naming the first field at fault.
    """
    if not isinstance(header, dict):
        raise EEGDACFormatError("the header is not a JSON object")
    _get(header, "format", str, lambda v: v == "eegdac", "not an eegdac header")
    _get(header, "version", int, lambda v: v == version, f"differs from the preamble's version {version}")
    _get(header, "writer", str)
    ch_names = _names(header, "ch_names")
    if not ch_names:
        _fail("ch_names", "no coded channel")
    other = _names(header, "other_ch_names")
    if set(other) & set(ch_names):
        _fail("other_ch_names", "a channel is both coded and kept aside")
    sfreq = float(_get(header, "sfreq", (int, float), lambda v: 0 < v <= MAX_SFREQ))
    n_times = _get(header, "n_times", int, lambda v: 1 <= v <= MAX_SAMPLE_INDEX)
    _get(header, "first_samp", int, lambda v: 0 <= v <= MAX_SAMPLE_INDEX - n_times)
    hop = _get(header, "hop_length", int, lambda v: 1 <= v <= MAX_HOP)
    codec_sfreq = float(_get(header, "codec_sfreq", (int, float), lambda v: 0 < v <= MAX_SFREQ))
    n_samples = n_times * (len(ch_names) + len(other))
    if n_samples > MAX_SAMPLES_PER_FILE_BYTE * file_size:
        _fail("n_times", f"{n_samples} samples from a file of {file_size} bytes")
    n_coded = n_codec_samples(n_times, sfreq, codec_sfreq)  # samples per channel at the codec's rate
    n_frames = max(1, -(-n_coded // hop))
    coding = header.get("coding", "tokens") if version >= 2 else "tokens"
    if coding not in FILE_CODINGS:
        _fail("coding", f"expected one of {FILE_CODINGS}")
    if coding == "tokens":
        n_streams, n_codebooks, bits = _validate_token_fields(header, ch_names, n_frames, codec_sfreq)
    else:  # a transform code of every channel; checked in full by mne_dac.io.transform_blocks
        if not isinstance(header.get("transform"), dict):
            _fail("transform", "expected an object")
        if coding == "klt-codec":  # and the codec of its components
            _validate_codec(_get(header, "codec", dict), codec_sfreq)
        n_streams, n_codebooks, bits = len(ch_names), 1, None
    clip_counts = _get(header, "clip_counts", list, lambda v: len(v) == len(ch_names), "one count per channel")
    if not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c <= n_coded for c in clip_counts):
        _fail("clip_counts", f"expected counts between 0 and the {n_coded} samples coded per channel")
    _validate_preprocessing(_get(header, "preprocessing", dict), len(ch_names))
    if "annotations" not in header:
        _fail("annotations", "missing")
    _validate_annotations(header["annotations"])
    positions = header.get("positions")
    if positions is not None and not (
        isinstance(positions, list)
        and len(positions) == len(ch_names)
        and all(isinstance(p, list) and len(p) == 3 and all(_finite(x) for x in p) for p in positions)
    ):
        _fail("positions", "expected one finite (x, y, z) per coded channel")
    if "info_names" in header:
        _get(header, "info_names", str, lambda v: v == "unicode_escape", "unknown spelling")
    if version >= 2:
        _validate_blocks(header, n_streams, n_codebooks, n_frames, bits, file_size)
        return
    sections = _get(header, "sections", list)
    names = [s.get("name") if isinstance(s, dict) else None for s in sections]
    if names != list(SECTIONS):
        _fail("sections", f"expected the sections {list(SECTIONS)}, got {names}")
    sizes = [s.get("size") for s in sections]
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in sizes):
        _fail("sections", "sizes must be non-negative integers")
    codes_bytes = -(-n_streams * n_codebooks * n_frames * bits // 8)
    if sizes[0] != codes_bytes:
        _fail("sections", f"the codes take {sizes[0]} bytes; codes_shape and bits_per_code give {codes_bytes}")


#: What a version-2 file holds for its EEG: tokens, or a transform code (see :mod:`mne_dac.io.transform_blocks`).
FILE_CODINGS = ("tokens", "klt-dct", "klt-codec")
#: How a version-2 file may code its tokens and side channels.
TOKEN_CODINGS = ("packed", "ans-tree")
SIDE_CODINGS = ("flac-grid-or-zlib",)
#: How a version-2 file may code its residual layer (see :mod:`mne_dac.io.residual`): the
#: integer payloads' error symbols under a discrete Laplace law (``"exact-signal-codec-ans"``,
#: written until 2026-12-01), or under the law of :data:`~mne_dac.io.integer_coding.ERROR_LAWS`
#: in each payload's header (``"exact-signal-codec-ans2"``, written on 2026-12-01), or, with
#: channels also of the kind ``b"G"``, varint sizes and payloads that do not repeat their number
#: of values (``"exact-signal-codec-ans3"``, written on 2026-12-01), or with channels also of the
#: kinds ``b"P"``, ``b"F"`` and ``b"Q"`` (error feedback) and varint references
#: (``"exact-signal-codec-ans4"``, written since).
RESIDUAL_CODINGS = ("exact-signal-codec-ans", "exact-signal-codec-ans2", "exact-signal-codec-ans3",
                    "exact-signal-codec-ans4")  # fmt: skip


def _validate_token_fields(header: dict, ch_names: list[str], n_frames: int,
                           codec_sfreq: float) -> tuple[int, int, int]:  # fmt: skip
    """The fields of a file of tokens: the codes' shape, the codebooks, the codec; returns the number of
    token streams, of codebooks and the bits per code."""
    codebook_size = _get(header, "codebook_size", int, lambda v: 2 <= v <= MAX_CODEBOOK_SIZE)
    bits = _get(header, "bits_per_code", int, lambda v: v == max(1, math.ceil(math.log2(codebook_size))),
                f"must be ceil(log2(codebook_size = {codebook_size}))")  # fmt: skip
    shape = _get(header, "codes_shape", list, lambda v: len(v) == 3, "expected 3 numbers")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape):
        _fail("codes_shape", "expected positive integers")
    n_streams, n_codebooks, n_coded_frames = shape
    if n_codebooks > MAX_CODEBOOKS:
        _fail("codes_shape", f"{n_codebooks} codebooks (at most {MAX_CODEBOOKS})")
    if n_coded_frames != n_frames:
        _fail("codes_shape", f"{n_coded_frames} frames, but n_times, sfreq, codec_sfreq and hop_length give {n_frames}")
    n_groups = _validate_groups(header.get("groups"), ch_names)
    if n_streams not in (len(ch_names), n_groups):
        _fail("codes_shape", f"{n_streams} token streams for {len(ch_names)} channels")
    _validate_codec(_get(header, "codec", dict), codec_sfreq)
    return n_streams, n_codebooks, bits


def _validate_blocks(header: dict, n_streams: int, n_codebooks: int, n_frames: int, bits: int | None,
                     file_size: int) -> None:  # fmt: skip
    """The fields of a version-2 file: the block size, the token model and the block index (``bits``: ``None``
    in a transform-coded file)."""
    _get(header, "info_size", int, lambda v: 0 <= v <= file_size)
    block_frames = _get(header, "block_frames", int, lambda v: 1 <= v <= MAX_SAMPLE_INDEX)
    _get(header, "side_coding", str, lambda v: v in SIDE_CODINGS, f"expected one of {SIDE_CODINGS}")
    coding = None
    if bits is not None:
        coding = _get(header, "token_coding", str, lambda v: v in TOKEN_CODINGS, f"expected one of {TOKEN_CODINGS}")
        model = header.get("token_model")
        if (coding == "ans-tree") != isinstance(model, dict):
            _fail("token_model", "expected an object with ans-tree coding, null otherwise")
        if model is not None:
            from mne_dac.io.token_coding import TokenModel

            try:
                TokenModel.from_dict(model)
            except (KeyError, TypeError, ValueError) as err:
                _fail("token_model", f"{type(err).__name__}: {err}")
    residual = header.get("residual")
    if residual is not None and not (
        isinstance(residual, dict)
        and set(residual) == {"max_error", "margin", "coding", "grids"}
        and _finite(residual["max_error"])
        and residual["max_error"] >= 0
        and _finite(residual["margin"])
        and 0 <= residual["margin"] < 1
        and residual["coding"] in RESIDUAL_CODINGS
        and isinstance(residual["grids"], list)
        and len(residual["grids"]) == len(header["ch_names"])
        and all(grid is None or _is_grid(grid) for grid in residual["grids"])
    ):
        _fail("residual", f"expected null or {{max_error >= 0, margin, coding in {RESIDUAL_CODINGS}, grids: "
                          "per EEG channel null or [step, offset, scale, shift]}")  # fmt: skip
    blocks = _get(header, "blocks", list, lambda v: len(v) == -(-n_frames // block_frames),
                  f"expected one entry per block of {block_frames} frames")  # fmt: skip
    packed = -(-n_streams * n_codebooks * block_frames * (bits or 0) // 8)
    packed += 3 * len(header["ch_names"]) if "band_edges" in header else 0  # band gains: 20 bits a channel
    n_fields = 4 if residual is None else 6
    for entry in blocks:
        if not (
            isinstance(entry, list)
            and len(entry) == n_fields
            and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in (*entry[:2], *entry[3:]))
            and isinstance(entry[2], str)
            and _SHA256.fullmatch(entry[2])
        ):
            _fail("blocks", "expected [token bytes, side bytes, SHA-256, CRC-32] per block"
                  + (", then residual bytes and CRC-32" if residual is not None else ""))  # fmt: skip
        if coding == "packed" and entry[0] > packed or bits is not None and entry[0] > 4 * packed + 64:
            _fail("blocks", f"a block's tokens take {entry[0]} bytes, more than its codes can")


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _is_grid(grid: Any) -> bool:
    """Whether ``grid`` is ``[step, offset, scale, shift]``: finite numbers, an ``int32`` shift."""
    return (
        isinstance(grid, list)
        and len(grid) == 4
        and all(map(_finite, grid[:3]))
        and isinstance(grid[3], int)
        and not isinstance(grid[3], bool)
        and -(2**31) <= grid[3] < 2**31
    )


def _validate_groups(groups: Any, ch_names: list[str]) -> int | None:
    if groups is None:
        return None
    if not (
        isinstance(groups, dict)
        and isinstance(groups.get("method"), str)
        and isinstance(groups.get("groups"), list)
        and all(isinstance(g, list) and g and all(isinstance(n, str) for n in g) for g in groups["groups"])
    ):
        _fail("groups", "expected {'method': str, 'groups': [[names]]}")
    grouped = [n for g in groups["groups"] for n in g]
    if sorted(grouped) != sorted(ch_names):
        _fail("groups", "not a partition of ch_names")
    return len(groups["groups"])


def _validate_codec(codec: dict, codec_sfreq: float) -> None:
    if not isinstance(codec.get("name"), str):
        _fail("codec.name", "expected a string")
    if codec.get("architecture") not in ARCHITECTURE_NAMES:
        _fail("codec.architecture", f"expected one of {list(ARCHITECTURE_NAMES)}, got {codec.get('architecture')!r}")
    if not isinstance(codec.get("config"), dict):
        _fail("codec.config", "expected an object")
    sfreq = codec["config"].get("sfreq")  # the rate the codec is loaded at
    if sfreq is not None and not (_finite(sfreq) and sfreq == codec_sfreq):
        _fail("codec.config.sfreq", f"expected the codec's rate, codec_sfreq ({codec_sfreq:g})")
    if not (isinstance(codec.get("weights_sha256"), str) and _SHA256.fullmatch(codec["weights_sha256"])):
        _fail("codec.weights_sha256", "expected 64 hexadecimal digits")


def _validate_preprocessing(d: dict, n_channels: int) -> None:
    try:
        PreprocessingSettings.from_dict(d).levels(n_channels)
    except (KeyError, TypeError, ValueError) as err:
        _fail("preprocessing", f"{type(err).__name__}: {err}")


def _validate_annotations(d: Any) -> None:
    if d is None:
        return
    if not isinstance(d, dict):
        _fail("annotations", "expected an object or null")
    n = None
    for key, check in (
        ("onset", _finite),
        ("duration", lambda v: _finite(v) and v >= 0),
        ("description", lambda v: isinstance(v, str)),
        ("ch_names", lambda v: isinstance(v, list) and all(isinstance(c, str) for c in v)),
    ):
        values = d.get(key)
        if not isinstance(values, list) or not all(check(v) for v in values):
            _fail(f"annotations.{key}", "invalid values")
        if n is not None and len(values) != n:
            _fail(f"annotations.{key}", "lengths differ")
        n = len(values)
    if "orig_time" not in d or not (d["orig_time"] is None or isinstance(d["orig_time"], str)):
        _fail("annotations.orig_time", "expected an ISO date or null")


def decompress_exactly(data: bytes, size: int, field: str) -> bytes:
    """zlib-decompress ``data``, which must inflate to exactly ``size`` bytes (never more is allocated)."""
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data, size)
        complete = inflater.eof and not inflater.unconsumed_tail and not inflater.unused_data
    except zlib.error as err:
        raise EEGDACFormatError(f"section {field!r}: not valid zlib data ({err})") from err
    if len(out) != size or not complete:
        raise EEGDACFormatError(f"section {field!r}: does not inflate to the {size} bytes the header declares")
    return out


def check_fif_structure(buf: bytes) -> None:
    """Walk the tags of a FIF block with bounded work: sequential tags only, sizes within the buffer.

    MNE's reader follows the ``next`` and directory pointers of each tag; crafted pointers can make it
    loop. mne-dac writes sequential tags only, so any jump is refused before MNE reads the block.
    """
    offset, depth = 0, 0
    while offset < len(buf):
        if offset + _FIF_TAG.size > len(buf):
            raise EEGDACFormatError("section 'info': a FIF tag is cut off")
        kind, _, size, nxt = _FIF_TAG.unpack_from(buf, offset)
        if size < 0 or offset + _FIF_TAG.size + size > len(buf):
            raise EEGDACFormatError(f"section 'info': a FIF tag of {size} bytes runs past the section")
        if nxt not in (0, -1):
            raise EEGDACFormatError("section 'info': a FIF tag points elsewhere (only sequential tags are read)")
        if kind == _FIF_DIR_POINTER and int.from_bytes(buf[offset + 16 : offset + 20], "big", signed=True) != -1:
            raise EEGDACFormatError("section 'info': the FIF directory pointer is set")
        depth += (kind == _FIF_BLOCK_START) - (kind == _FIF_BLOCK_END)
        if not 0 <= depth <= _FIF_MAX_DEPTH:
            raise EEGDACFormatError("section 'info': FIF blocks are unbalanced or nested too deep")
        offset += _FIF_TAG.size + size
