"""The ``.eegdac`` version-2 layout: blocks of time, an index, random access by seeking.

Layout (all integers little-endian)::

    magic        8 bytes   b"\\x89EEGDAC\\n"
    version      uint16    2
    header_size  uint32    size of the JSON header
    header       JSON      UTF-8: the recording, the codec, the token model, the block size
    info         bytes     the measurement info as a FIF file (``info_size`` bytes)
    blocks       bytes     per block: its tokens (or its transform code), its side channels, its
                           residual (if any)
    footer       JSON      UTF-8: per block [token bytes, side bytes, SHA-256, content CRC-32]
                           and, in files with a residual layer, its residual bytes and the
                           CRC-32 of what the residual decodes to; the clip counts
    footer_size  uint64
    digest       32 bytes  SHA-256 of preamble, header, info and footer
    magic        8 bytes   b"\\x89EEGDAC\\n" again: the file is complete

Block ``k`` holds frames ``[k * block_frames, (k + 1) * block_frames)`` of every token
stream and the samples of the side channels over the same time span. A reader checks the
digest (header, info and footer, hence every block's hash), then each block's SHA-256 when
it reads it: a damaged block is reported by its time span and the others stay readable.
After decoding a block, the CRC-32 of its codes (int32) and side samples (float64) must
match too: a model or field that would make the payload decode to other values is caught.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from mne_dac.io.validation import EEGDACFormatError
from mne_dac.signal.preprocessing import resampling_ratio
from mne_dac.utils._atomic import atomic_write
from mne_dac.utils._json import jsonable

MAGIC = b"\x89EEGDAC\n"
VERSION = 2
PREAMBLE = struct.Struct("<8sHI")
TRAILER = struct.Struct("<Q32s8s")
#: Seconds of recording per block (rounded to whole frames): random access reads one or two.
BLOCK_SECONDS = 16.0
#: A footer larger than this is refused (about 100 bytes per block: over 1,000 days of 16-s blocks).
MAX_FOOTER = 1 << 28


def block_frames_for(frame_rate: float) -> int:
    """Frames per block: ``BLOCK_SECONDS`` of recording, at least one frame."""
    return max(1, round(BLOCK_SECONDS * frame_rate))


def sample_bounds(header: dict, n_blocks: int) -> list[int]:
    """First original sample of each block, and ``n_times`` at the end."""
    ratio = resampling_ratio(header["sfreq"], header["codec_sfreq"])
    step = header["block_frames"] * header["hop_length"]
    n_times = header["n_times"]
    return [min(n_times, k * step * ratio.denominator // ratio.numerator) for k in range(n_blocks)] + [n_times]


class BlockWriter:
    """Write a version-2 file block by block (see :func:`open_writer`)."""

    def __init__(self, fid: BinaryIO, header: dict, info: bytes) -> None:
        header = {**header, "info_size": len(info)}
        header_bytes = json.dumps(jsonable(header), separators=(",", ":")).encode()
        self._fid, self._digest = fid, hashlib.sha256()
        self._blocks: list[list] = []
        for part in (PREAMBLE.pack(MAGIC, VERSION, len(header_bytes)), header_bytes, info):
            fid.write(part)
            self._digest.update(part)

    def add(self, tokens: bytes, side: bytes, codes: np.ndarray, samples: np.ndarray,
            residual: tuple[bytes, int] | None = None) -> None:  # fmt: skip
        """Append a block: its payloads, the codes and samples they decode to, and its residual with its CRC-32."""
        payload = tokens + side + (b"" if residual is None else residual[0])
        self._fid.write(payload)
        entry = [len(tokens), len(side), hashlib.sha256(payload).hexdigest(), content_crc(codes, samples)]
        self._blocks.append(entry if residual is None else [*entry, len(residual[0]), residual[1]])

    def finish(self, footer: dict) -> None:
        footer_bytes = json.dumps(jsonable({**footer, "blocks": self._blocks}), separators=(",", ":")).encode()
        self._digest.update(footer_bytes)
        self._fid.write(footer_bytes)
        self._fid.write(TRAILER.pack(len(footer_bytes), self._digest.digest(), MAGIC))

    @property
    def payload_bytes(self) -> tuple[int, int, int]:
        """Bytes of tokens, of side channels and of residual written so far."""
        return tuple(sum(entry_sizes(b)[i] for b in self._blocks) for i in range(3))


@contextmanager
def open_writer(fname: Path, header: dict, info: bytes, *, overwrite: bool) -> Iterator[BlockWriter]:
    """A :class:`BlockWriter` on a temporary file, renamed to ``fname`` when the block ends."""
    with atomic_write(fname, overwrite=overwrite) as tmp, open(tmp, "wb") as fid:
        yield BlockWriter(fid, header, info)


class BlockFile:
    """A version-2 file opened for reading: header, info and index checked, blocks read on demand.

    Parameters
    ----------
    fname : path-like
        The file.
    validate : callable
        ``validate(header, footer, file_size)`` checks the header's and the footer's fields.
    """

    def __init__(self, fname: str | Path, validate: Any) -> None:
        self.fname = Path(fname)
        self.file_size = self.fname.stat().st_size
        with open(self.fname, "rb") as fid:
            preamble = fid.read(PREAMBLE.size)
            if len(preamble) < PREAMBLE.size or self.file_size < PREAMBLE.size + TRAILER.size:
                raise EEGDACFormatError("corrupted or truncated: too short for an .eegdac file")
            _, version, header_size = PREAMBLE.unpack(preamble)
            fid.seek(self.file_size - TRAILER.size)
            footer_size, digest, magic = TRAILER.unpack(fid.read(TRAILER.size))
            if magic != MAGIC:
                raise EEGDACFormatError("corrupted or truncated: its closing magic bytes are missing")
            if footer_size > MAX_FOOTER or PREAMBLE.size + header_size + footer_size + TRAILER.size > self.file_size:
                raise EEGDACFormatError(f"preamble or trailer: sizes {header_size} and {footer_size} exceed the file")
            header_bytes = fid.read(header_size) if fid.seek(PREAMBLE.size) == PREAMBLE.size else b""
            self.header = _json(header_bytes, "header")
            info_size = self.header.get("info_size")
            if not isinstance(info_size, int) or not 0 <= info_size <= self.file_size:
                raise EEGDACFormatError("header field 'info_size': out of range")
            self.info_bytes = fid.read(info_size)
            self.blocks_start = fid.tell()
            fid.seek(self.file_size - TRAILER.size - footer_size)
            footer_bytes = fid.read(footer_size)
        check = hashlib.sha256(preamble + header_bytes + self.info_bytes + footer_bytes).digest()
        if check != digest:
            raise EEGDACFormatError("corrupted or truncated: the SHA-256 of its header, info and index does not match")
        self.footer = _json(footer_bytes, "footer")
        self.version = version
        validate(self.header, self.footer, self.file_size)
        sizes = [sum(entry_sizes(b)) for b in self.footer["blocks"]]
        self.offsets = [self.blocks_start + o for o in np.concatenate([[0], np.cumsum(sizes)]).tolist()]
        if self.offsets[-1] != self.file_size - TRAILER.size - footer_size:
            raise EEGDACFormatError("footer field 'blocks': sizes do not add up to the file size")
        self.bounds = sample_bounds(self.header, len(sizes))

    @property
    def n_blocks(self) -> int:
        return len(self.footer["blocks"])

    def span(self, k: int) -> str:
        """Block ``k``'s time span, for messages."""
        sfreq = self.header["sfreq"]
        return f"block {k} ({self.bounds[k] / sfreq:.2f}–{self.bounds[k + 1] / sfreq:.2f} s)"

    def read_block(self, k: int) -> tuple[memoryview, memoryview, memoryview]:
        """The token, side-channel and residual payloads of block ``k``, checked against their SHA-256."""
        entry = self.footer["blocks"][k]
        n_tokens, n_side, n_residual = entry_sizes(entry)
        with open(self.fname, "rb") as fid:
            fid.seek(self.offsets[k])
            buf = fid.read(n_tokens + n_side + n_residual)
        if hashlib.sha256(buf).hexdigest() != entry[2]:
            raise DamagedBlockError(
                f"{self.fname}: {self.span(k)} is damaged (its SHA-256 does not match); the other blocks can "
                "still be read (salvage=True, mne-dac decompress --salvage)",
                k,
            )
        view = memoryview(buf)
        return view[:n_tokens], view[n_tokens : n_tokens + n_side], view[n_tokens + n_side :]

    def damaged_blocks(self) -> list[int]:
        """Blocks whose SHA-256 does not match (reads the whole file once, decodes nothing)."""
        damaged = []
        with open(self.fname, "rb") as fid:
            for k, entry in enumerate(self.footer["blocks"]):
                fid.seek(self.offsets[k])
                if hashlib.sha256(fid.read(sum(entry_sizes(entry)))).hexdigest() != entry[2]:
                    damaged.append(k)
        return damaged

    def blocks_for_frames(self, lo: int, hi: int) -> range:
        """Blocks holding frames ``[lo, hi)``."""
        step = self.header["block_frames"]
        return range(lo // step, min(self.n_blocks, -(-hi // step)))


def entry_sizes(entry: list) -> tuple[int, int, int]:
    """Bytes of a block's tokens, side channels and residual, from its index entry."""
    return entry[0], entry[1], entry[4] if len(entry) > 4 else 0


def content_crc(codes: np.ndarray, samples: np.ndarray) -> int:
    """CRC-32 of a block's codes (as int32) and side samples (as float64)."""
    crc = zlib.crc32(np.ascontiguousarray(codes, dtype="<i4").tobytes())
    return zlib.crc32(np.ascontiguousarray(samples, dtype="<f8").tobytes(), crc)


class DamagedBlockError(EEGDACFormatError):
    """A block of a version-2 file does not match its checksum."""

    def __init__(self, message: str, block: int) -> None:
        super().__init__(message)
        self.block = block


def _json(buf: bytes, what: str) -> dict:
    try:
        value = json.loads(bytes(buf).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise EEGDACFormatError(f"the {what} is not valid JSON ({type(err).__name__})") from err
    if not isinstance(value, dict):
        raise EEGDACFormatError(f"the {what} is not a JSON object")
    return value
