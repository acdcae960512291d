"""Lossless coding of the channels kept aside (ECG, stimulus, excluded EEG…), block by block.

Samples read from integer files (EDF, BDF, BrainVision, …) lie on a grid: MNE computes them
as ``((k + shift) * step + offset) * scale`` from the file's integers ``k``. Each channel of a
block is coded as the smaller of:

- ``F``: ``step``, ``offset``, ``scale`` (float64), ``shift`` (int32), the integers ``k`` as
  FLAC (mono, 24-bit, through soundfile), and the difference, in units in the last place,
  between the samples and the grid's values (int64, modular), zlib-compressed. With the
  reader's own calibration (:class:`Grid`, from EDF and BDF files) the difference is all
  zeros and the channel costs what FLAC of its integers costs; otherwise the grid is
  estimated from the samples. Always bit-exact.
- ``Z``: the float64 samples, zlib-compressed.

Payload of a block: per channel, ``uint32`` size then ``b"F"`` or ``b"Z"`` and its data.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from mne_dac.io.validation import EEGDACFormatError, decompress_exactly

__all__ = ["Grid", "decode_side", "encode_side", "estimated_grid", "on_grid", "reader_grids", "side_grids"]

_SIZE = struct.Struct("<I")
_GRID = struct.Struct("<dddiI")  # step, offset, scale, shift, FLAC bytes
_FLAC_RANGE = 1 << 23  # signed 24-bit


@dataclass(frozen=True)
class Grid:
    """How a reader made a channel's samples from the file's integers: ``((k + shift) * step + offset) * scale``."""

    step: float
    offset: float = 0.0
    scale: float = 1.0
    shift: int = 0

    def values(self, k: np.ndarray) -> np.ndarray:
        """The samples of integers ``k``, computed as the reader computes them."""
        return (((k.astype(np.float64) + self.shift) * self.step + self.offset) * self.scale).astype("<f8")

    def integers(self, x: np.ndarray) -> np.ndarray:
        """The nearest integers of samples ``x``."""
        return np.rint((x / self.scale - self.offset) / self.step) - self.shift

    def samples(self, k: np.ndarray, ulps: np.ndarray) -> np.ndarray:
        """The samples of integers ``k`` that differ from the grid's values by ``ulps`` (see :func:`on_grid`)."""
        return (self.values(k).view("<i8") + ulps).view("<f8")


def on_grid(x: np.ndarray, grid: Grid | None) -> tuple[Grid, np.ndarray, np.ndarray] | None:
    """Samples ``x`` as integers on ``grid`` (``None``: the grid estimated from them), bit-exact.

    Returns the grid, the integers (float64) and the samples' difference from the grid's values
    in units in the last place (``int64``, modular: exact for any values); ``None`` when ``x``
    has fewer than two samples, is not finite, or lies on no usable grid.
    """
    if x.size < 2 or not np.isfinite(x).all():
        return None
    grid = grid or estimated_grid(x)
    if grid is None or not (grid.step and grid.scale):
        return None
    k = grid.integers(x)
    return grid, k, x.astype("<f8").view("<i8") - grid.values(k).view("<i8")


def encode_side(data: np.ndarray, grids: list[Grid | None] | None = None) -> bytes:
    """Code samples of shape ``(n_channels, n_samples)`` losslessly.

    ``grids``: per channel, the reader's :class:`Grid` when known (``None``: estimated).
    """
    data = np.asarray(data, dtype=np.float64)
    parts = []
    for i, channel in enumerate(data):
        plain = b"Z" + zlib.compress(channel.astype("<f8").tobytes(), 6)
        grid = _grid_coded(channel, None if grids is None else grids[i])
        best = plain if grid is None or len(grid) >= len(plain) else grid
        parts.append(_SIZE.pack(len(best)) + best)
    return b"".join(parts)


def reader_grids(raw: Any, picks: Any) -> list[Grid | None] | None:
    """The :class:`Grid` of each picked channel of an EDF, BDF or Nihon Kohden file read by MNE, else ``None``.

    MNE's EDF reader computes ``(k * cal + offset) * unit``, its Nihon Kohden reader
    ``(k * cal + offset) * gain``, and the readers of other integer files (BrainVision int16,
    FIF ``short`` and ``int``, …) ``k * cal``; a channel whose samples do not follow it (a
    preloaded and modified Raw) is still coded exactly, only larger.
    """
    extras = getattr(raw, "_raw_extras", [None])
    extras = extras[0] if len(extras) == 1 and isinstance(extras[0], dict) else {}
    read_picks = getattr(raw, "_read_picks", [np.arange(len(raw.ch_names))])[0]  # the file's channels, once picked
    scale_key = "units" if "units" in extras else "gains"  # EDF and BDF; Nihon Kohden
    if not {"cal", "offsets", scale_key} <= set(extras) or len(read_picks) != len(raw.ch_names):
        if getattr(raw, "orig_format", None) in ("short", "int") and len(raw._cals) == len(raw.ch_names):
            return [Grid(float(raw._cals[i])) for i in picks]
        return None
    cal, offsets, units = (np.asarray(extras[key], dtype=np.float64).ravel() for key in ("cal", "offsets", scale_key))
    if max(read_picks, default=-1) >= min(len(cal), len(offsets), len(units)):
        return None
    return [Grid(float(cal[read_picks[i]]), float(offsets[read_picks[i]]), float(units[read_picks[i]])) for i in picks]


def estimated_grid(x: np.ndarray) -> Grid | None:
    """The grid that samples ``x`` lie on, estimated from their values (``None``: too fine for 24 bits)."""
    values = np.unique(x)
    step = float(np.diff(values).min()) if len(values) > 1 else 1.0
    span = np.rint((values[-1] - values[0]) / step)
    if span >= 2 * _FLAC_RANGE:
        return None
    if span > 0:
        step = float(values[-1] - values[0]) / span  # to an ulp, over the whole range
    return Grid(step, float(values[0]), shift=_FLAC_RANGE)  # integers centred on zero for FLAC


def _grid_coded(x: np.ndarray, grid: Grid | None) -> bytes | None:
    import soundfile

    exact = on_grid(x, grid)
    if exact is None or exact[1].min() < -_FLAC_RANGE or exact[1].max() >= _FLAC_RANGE:
        return None
    grid, k, ulps = exact
    buf = io.BytesIO()
    soundfile.write(buf, k.astype(np.int32)[:, None] << 8, 48000, format="FLAC", subtype="PCM_24",
                    compression_level=1.0)  # fmt: skip
    flac = buf.getvalue()
    head = _GRID.pack(grid.step, grid.offset, grid.scale, grid.shift, len(flac))
    return b"F" + head + flac + zlib.compress(ulps.tobytes(), 9)


def decode_side(buf: bytes, n_channels: int, n_samples: int) -> np.ndarray:
    """Invert :func:`encode_side`; :class:`EEGDACFormatError` on malformed data."""
    out = np.empty((n_channels, n_samples))
    for i, part in enumerate(_channel_parts(buf, n_channels)):
        out[i] = _decode_channel(part, n_samples)
    return out


def side_grids(buf: bytes, n_channels: int) -> list[Grid | None]:
    """The reader's grid of each channel of a payload of :func:`encode_side`, without decoding it.

    ``None`` for a channel coded as float64 (``Z``) or on a grid estimated from its samples;
    :class:`EEGDACFormatError` on a malformed payload.
    """
    grids = []
    for part in _channel_parts(buf, n_channels):
        if part[:1] == b"F" and len(part) >= 1 + _GRID.size:
            step, offset, scale, shift, _ = _GRID.unpack_from(part, 1)
            grids.append(Grid(step, offset, scale) if shift == 0 else None)  # estimated grids are shifted
        else:
            grids.append(None)
    return grids


def _channel_parts(buf: bytes, n_channels: int) -> list[bytes]:
    """Each channel's data in a payload of :func:`encode_side`; :class:`EEGDACFormatError` on malformed data."""
    parts, view, pos = [], memoryview(buf), 0
    for _ in range(n_channels):
        if pos + _SIZE.size > len(view):
            raise EEGDACFormatError("side channels: cut off")
        (size,) = _SIZE.unpack_from(view, pos)
        part = view[pos + _SIZE.size : pos + _SIZE.size + size]
        pos += _SIZE.size + size
        if len(part) != size or size < 1:
            raise EEGDACFormatError("side channels: a channel's data are cut off")
        parts.append(bytes(part))
    if pos != len(view):
        raise EEGDACFormatError("side channels: bytes left over")
    return parts


def _decode_channel(part: bytes, n: int) -> np.ndarray:
    import soundfile

    kind, body = part[:1], part[1:]
    if kind == b"Z":
        return np.frombuffer(decompress_exactly(body, 8 * n, "side channels"), dtype="<f8")
    if kind != b"F" or len(body) < _GRID.size:
        raise EEGDACFormatError("side channels: unknown channel coding")
    step, offset, scale, shift, n_flac = _GRID.unpack_from(body)
    flac = body[_GRID.size : _GRID.size + n_flac]
    try:
        with soundfile.SoundFile(io.BytesIO(flac)) as f:
            if f.frames != n or f.channels != 1:
                raise EEGDACFormatError("side channels: the FLAC stream does not hold the block's samples")
            k = f.read(n, dtype="int32", always_2d=True)[:, 0] >> 8
    except (RuntimeError, soundfile.LibsndfileError) as err:
        raise EEGDACFormatError(f"side channels: unreadable FLAC ({err})") from err
    ulps = np.frombuffer(decompress_exactly(body[_GRID.size + n_flac :], 8 * n, "side channels"), dtype="<i8")
    return Grid(step, offset, scale, shift).samples(k, ulps)
