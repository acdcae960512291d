"""Lossless coding of the channels kept aside (ECG, stimulus, excluded EEG…), block by block.

Samples read from integer files (EDF, BDF, BrainVision, …) lie on a grid: an integer times
a step plus an offset. Each channel of a block is coded as the smaller of:

- ``F``: its grid integers as FLAC (24-bit, through soundfile), the step and offset as
  float64, and the difference, in units in the last place, between the samples and
  ``integer * step + offset`` (int64, modular), zlib-compressed: a fraction of a byte per
  sample when the grid is exact to an ulp or two. Always bit-exact.
- ``Z``: the float64 samples, zlib-compressed.

Payload of a block: per channel, ``uint32`` size then ``b"F"`` or ``b"Z"`` and its data.
"""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np

from mne_dac.io.validation import EEGDACFormatError, decompress_exactly

__all__ = ["decode_side", "encode_side"]

_SIZE = struct.Struct("<I")
_GRID = struct.Struct("<ddI")  # step, offset, FLAC bytes
_FLAC_RANGE = 1 << 23  # signed 24-bit


def encode_side(data: np.ndarray) -> bytes:
    """Code samples of shape ``(n_channels, n_samples)`` losslessly."""
    parts = []
    for channel in np.asarray(data, dtype=np.float64):
        plain = b"Z" + zlib.compress(channel.astype("<f8").tobytes(), 6)
        grid = _grid_coded(channel)
        best = plain if grid is None or len(grid) >= len(plain) else grid
        parts.append(_SIZE.pack(len(best)) + best)
    return b"".join(parts)


def _grid_coded(x: np.ndarray) -> bytes | None:
    import soundfile

    if x.size < 2 or not np.isfinite(x).all():
        return None
    values = np.unique(x)
    offset = float(values[0])
    step = float(np.diff(values).min()) if len(values) > 1 else 1.0
    k = np.rint((x - offset) / step)
    if k.max() >= 2 * _FLAC_RANGE:
        return None
    step = (float(values[-1]) - offset) / k.max() if k.max() > 0 else step  # to an ulp, over the whole range
    k = np.rint((x - offset) / step) - _FLAC_RANGE
    k = k.astype(np.int32)
    estimate = _on_grid(k, step, offset)
    ulps = (x.astype("<f8").view("<i8") - estimate.view("<i8")).tobytes()  # modular: exact for any values
    buf = io.BytesIO()
    soundfile.write(buf, k[:, None] << 8, 48000, format="FLAC", subtype="PCM_24")
    flac = buf.getvalue()
    return b"F" + _GRID.pack(step, offset, len(flac)) + flac + zlib.compress(ulps, 9)


def _on_grid(k: np.ndarray, step: float, offset: float) -> np.ndarray:
    return ((k.astype(np.float64) + _FLAC_RANGE) * step + offset).astype("<f8")


def decode_side(buf: bytes, n_channels: int, n_samples: int) -> np.ndarray:
    """Invert :func:`encode_side`; :class:`EEGDACFormatError` on malformed data."""
    out = np.empty((n_channels, n_samples))
    view, pos = memoryview(buf), 0
    for i in range(n_channels):
        if pos + _SIZE.size > len(view):
            raise EEGDACFormatError("side channels: cut off")
        (size,) = _SIZE.unpack_from(view, pos)
        part = view[pos + _SIZE.size : pos + _SIZE.size + size]
        pos += _SIZE.size + size
        if len(part) != size or size < 1:
            raise EEGDACFormatError("side channels: a channel's data are cut off")
        out[i] = _decode_channel(bytes(part), n_samples)
    if pos != len(view):
        raise EEGDACFormatError("side channels: bytes left over")
    return out


def _decode_channel(part: bytes, n: int) -> np.ndarray:
    import soundfile

    kind, body = part[:1], part[1:]
    if kind == b"Z":
        return np.frombuffer(decompress_exactly(body, 8 * n, "side channels"), dtype="<f8")
    if kind != b"F" or len(body) < _GRID.size:
        raise EEGDACFormatError("side channels: unknown channel coding")
    step, offset, n_flac = _GRID.unpack_from(body)
    flac = body[_GRID.size : _GRID.size + n_flac]
    try:
        with soundfile.SoundFile(io.BytesIO(flac)) as f:
            if f.frames != n or f.channels != 1:
                raise EEGDACFormatError("side channels: the FLAC stream does not hold the block's samples")
            k = f.read(n, dtype="int32", always_2d=True)[:, 0] >> 8
    except (RuntimeError, soundfile.LibsndfileError) as err:
        raise EEGDACFormatError(f"side channels: unreadable FLAC ({err})") from err
    ulps = np.frombuffer(decompress_exactly(body[_GRID.size + n_flac :], 8 * n, "side channels"), dtype="<i8")
    return (_on_grid(k, step, offset).view("<i8") + ulps).view("<f8")
