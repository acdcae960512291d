"""Bit-packing of integer codes: ``n_bits`` bits each, C order, least significant bit first."""

from __future__ import annotations

import numpy as np

from mne_dac.io.validation import EEGDACFormatError

__all__ = ["pack_codes", "unpack_codes"]

#: Codes packed per step: a multiple of 8, bounds memory.
_PACK_CHUNK = 1 << 20


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
