"""The residual layer: every EEG sample within a bound of the original, or bit-exact, block by block.

The tokens are a lossy base layer. The residual layer holds, for each EEG channel of a block,
integers from which a reader rebuilds the original samples at the recording's own rate, as
the smallest of:

- ``R``: the channel's integers on the reader's grid (its calibration for EDF, BDF, Nihon
  Kohden and other integer files, see :class:`~mne_dac.io.side_channels.Grid`; stored once, in
  the file's header) and the difference between the samples and the grid's values in units in
  the last place (zlib; nothing when it is all zeros, as on the reader's grid). Bit-exact.
- ``E``: as ``R``, on a grid estimated from the block's samples and stored with it.
- ``S``: the signal on a grid of step ``Δ = 2 · max_error``: ``x̃ = q Δ``.
- ``G``: the signal on the reader's grid of step ``g``, ``n`` of its points to a step, each
  sample rebuilt as the middle of its step's points (within ``(n - 1) g / 2``); ``n`` is the
  largest with ``(n - 1) g <= Δ``, so the step ``n g`` is longer than ``S``'s by up to ``g``
  (JPEG-LS's ``2 NEAR + 1``): on a 16-bit EDF of step 0.098 µV, 1.07 µV at 0.5 µV instead of 1.
- ``C``: what the codec's reconstruction ``x̂`` missed, on a grid of step
  ``Δ = 2 · (max_error - margin)``: ``x̃ = x̂ + q Δ``. The ``margin`` covers the decoder's
  float rounding on another machine (a reader's ``x̂`` may differ from the writer's by that
  much, measured differences are 100 times smaller).
- ``P``, ``F`` and ``Q``: as ``S``, ``G`` and ``C``, each sample predicted from the past as the
  reader rebuilds it and only the prediction error rounded to a step (error feedback, as in
  JPEG-LS's near-lossless mode; :mod:`mne_dac.io.error_feedback`): the rebuilt samples lie on a
  grid shifted by each prediction. Rounding first and predicting the integers (``S``, ``G``,
  ``C``) predicts from values that carry up to half a step of rounding noise each; at coarse
  steps on a predictable signal (EEG at 500 Hz, mains at 200 Hz) error feedback codes 10–40 %
  smaller.
- ``Z``: the float64 samples, zlib-compressed (when nothing else holds the bound).

``R`` and ``E`` are the only kinds when ``max_error`` is 0; ``G`` takes the place of ``S`` for a
channel on the reader's grid when its step is at least 1 % longer. The steps of ``S``, ``C``,
``P`` and ``Q`` are a hair inside (``1 - 2 ** -20`` times) so that the bound holds after rounding.

The integers are coded by :mod:`mne_dac.io.integer_coding`, after subtracting a multiple of
an earlier channel's integers when that codes smaller (EEG channels are correlated). The
writer checks the bound on every sample as the reader will compute it.

Payload of a block: per channel, its size, a kind byte and its data (see :data:`KINDS`); sizes
are unsigned LEB128 varints (``uint32`` in files written before residual coding
``"exact-signal-codec-ans3"``). ``P``, ``F`` and ``Q`` are in files of residual
coding ``"exact-signal-codec-ans4"`` only.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

from mne_dac.io.error_feedback import FRACTION_BITS, MAX_INPUT, ORDERS, fit_feedback, rebuild
from mne_dac.io.integer_coding import MAX_MAGNITUDE, decode_integers, encode_integers
from mne_dac.io.side_channels import Grid, on_grid
from mne_dac.io.validation import RESIDUAL_CODINGS, EEGDACFormatError, decompress_exactly

__all__ = [
    "KINDS",
    "MARGIN",
    "ResidualBlock",
    "decode_residual",
    "encode_residual",
    "grids_from_header",
    "grids_to_header",
]

#: What a channel's residual can be (see the module's description).
KINDS = {b"R": "exact on the reader's grid", b"E": "exact on an estimated grid", b"S": "signal on a grid",
         b"G": "signal on the reader's grid, n points to a step", b"C": "codec residual on a grid",
         b"P": "signal on a grid, with error feedback",
         b"F": "signal on the reader's grid, n points to a step, with error feedback",
         b"Q": "codec residual on a grid, with error feedback",
         b"Z": "float64 samples"}  # fmt: skip
#: The margin kept for the decoder's float rounding, as a fraction of the clip level.
MARGIN = 1e-4
#: Most points of the reader's grid to a step of ``G``.
_MAX_POINTS = 1 << 20
#: How much longer than ``S``'s a step of ``G`` must be for ``G`` to take ``S``'s place.
_STEP_GAIN = 1.01
#: Candidates of a channel (the smallest without a reference) tried with a reference to an earlier channel: on
#: the clinical-style files two give the same sizes as all, and the writer codes 3 integer payloads fewer.
_REFERENCED_CANDIDATES = 2
#: Multiples of an earlier channel are subtracted in steps of ``2 ** -_REF_SHIFT``.
_REF_SHIFT = 4

#: The residual codings whose sizes are ``uint32``, not varints (files written before 2026-12-01's ans3).
_FIXED_SIZE_CODINGS = ("exact-signal-codec-ans", "exact-signal-codec-ans2")
#: The residual codings without the kinds ``P``, ``F`` and ``Q``, whose references are an ``int8`` channel and an
#: ``int16`` multiple (files written before 2026-12-01's ans4).
_CODINGS_BEFORE_ANS4 = (*_FIXED_SIZE_CODINGS, "exact-signal-codec-ans3")
#: Most bytes of a varint size.
_MAX_SIZE_BYTES = 5

_SIZE = struct.Struct("<I")
_REF = struct.Struct("<bh")  # before ans4: earlier channel (-1: none), its multiple in steps of 2 ** -_REF_SHIFT
_MULTIPLE = struct.Struct("<h")
_GRID = struct.Struct("<dddi")  # step, offset, scale, shift
_PREDICTOR = struct.Struct("<BB")  # order, shift of the error-feedback predictor


@dataclass(frozen=True)
class ResidualBlock:
    """A block's samples as ``weights * x̂ + offsets`` (``x̂``: the codec's reconstruction).

    Attributes
    ----------
    weights : array, shape (n_channels,)
        1 where the residual is added to the codec's reconstruction, 0 where it is the sample.
    offsets : array, shape (n_channels, n_samples)
        What is added.
    """

    weights: np.ndarray
    offsets: np.ndarray

    def apply(self, decoded: np.ndarray | None, start: int, stop: int) -> np.ndarray:
        """Samples ``[start, stop)`` of the block, from the codec's reconstruction of them."""
        offsets = self.offsets[:, start:stop]
        if not self.weights.any():
            return offsets.copy()
        return self.weights[:, np.newaxis] * decoded + offsets

    @property
    def needs_codec(self) -> bool:
        """Whether the codec's reconstruction is needed."""
        return bool(self.weights.any())

    @property
    def crc(self) -> int:
        """CRC-32 of the weights and offsets (float64): what the block's residual decodes to."""
        crc = zlib.crc32(np.ascontiguousarray(self.weights, dtype="<f8").tobytes())
        return zlib.crc32(np.ascontiguousarray(self.offsets, dtype="<f8").tobytes(), crc)


def encode_residual(x: np.ndarray, decoded: np.ndarray | None, max_error: float, *, margin: float,
                    grids: list[Grid | None] | None = None) -> bytes:  # fmt: skip
    """Code a block's EEG samples ``x`` (Volts, ``(n_channels, n_samples)``) within ``max_error``.

    Parameters
    ----------
    x : array
        The original samples.
    decoded : array | None
        The codec's reconstruction of them (``None``: the ``C`` kind is not tried).
    max_error : float
        The bound in Volts; 0: bit-exact.
    margin : float
        Volts kept for the decoder's float rounding (``C``).
    grids : list of Grid | None
        Per channel, the reader's grid when known (the file's header holds them, see
        :func:`grids_to_header`).
    """
    x = np.asarray(x, dtype=np.float64)
    parts, integers = [], []
    for c, channel in enumerate(x):
        grid = None if grids is None else grids[c]
        exact = on_grid(channel, grid)  # on the reader's grid, else on one estimated from the samples
        candidates = list(_exact(exact, on_reader_grid=grid is not None))
        if max_error > 0:
            points = _reader_grid_points(exact if grid is not None else None, max_error)
            signal = []  # on the reader's grid (G, F) where it pays, else on steps of twice the bound (S, P)
            if points:
                signal = [*_on_reader_grid(channel, exact, max_error, points),
                          *_with_feedback_on_reader_grid(channel, exact, max_error, points)]  # fmt: skip
            candidates += signal or [*_on_grid(channel, None, max_error, 0.0),
                                     *_with_feedback(channel, None, max_error, 0.0)]  # fmt: skip
            if decoded is not None and margin < max_error / 2:
                candidates += list(_on_grid(channel, decoded[c], max_error, margin))
                candidates += list(_with_feedback(channel, decoded[c], max_error, margin))
        best, best_ints = b"Z" + zlib.compress(channel.astype("<f8").tobytes(), 6), None
        unreferenced = [_channel_part(*candidate, -1, 0, integers) for candidate in candidates]
        ranked = sorted((len(part), i) for i, part in enumerate(unreferenced) if part is not None)
        for rank, (_, i) in enumerate(ranked):
            v, tries = candidates[i][2], [unreferenced[i]]
            if rank < _REFERENCED_CANDIDATES:  # less a multiple of an earlier channel
                tries += [_channel_part(*candidates[i], *reference, integers) for reference in _reference(v, integers)]
            for part in tries:
                if part is not None and len(part) < len(best):
                    best, best_ints = part, v
        integers.append(best_ints)
        parts.append(_varint(len(best)) + best)
    return b"".join(parts)


def _channel_part(kind: bytes, head: bytes, v: np.ndarray, tail: bytes, ref: int, multiple: int, integers: list
                  ) -> bytes | None:  # fmt: skip
    """A channel's data: kind, head, reference, the size and payload of its integers (less the reference's), tail."""
    body = _ref_coded(v, ref, multiple, integers)
    if body is None:
        return None
    reference = _varint(ref + 1) + (_MULTIPLE.pack(multiple) if ref >= 0 else b"")
    return kind + head + reference + _varint(len(body)) + body + tail


def grids_to_header(grids: list[Grid | None] | None, n_channels: int) -> list:
    """The reader's grids as the header stores them: per channel ``[step, offset, scale, shift]`` or ``None``."""
    grids = grids or [None] * n_channels
    return [None if g is None else [g.step, g.offset, g.scale, g.shift] for g in grids]


def grids_from_header(entries: list) -> list[Grid | None]:
    """Invert :func:`grids_to_header`."""
    return [None if e is None else Grid(float(e[0]), float(e[1]), float(e[2]), int(e[3])) for e in entries]


def _exact(exact: tuple | None, on_reader_grid: bool):
    """The ``R`` (``exact`` on the reader's grid) or ``E`` candidate (:func:`on_grid`'s ``exact``): integers, and
    the samples' difference in ulps."""
    if exact is None or np.abs(exact[1]).max() > MAX_MAGNITUDE:
        return
    found, k, ulps = exact
    tail = zlib.compress(ulps.tobytes(), 9) if ulps.any() else b""  # none: on the reader's grid
    if on_reader_grid:
        yield b"R", b"", k.astype(np.int64), tail
    else:
        yield b"E", _GRID.pack(found.step, found.offset, found.scale, found.shift), k.astype(np.int64), tail


def _quantisation_step(max_error: float, margin: float) -> float:
    """The step of the ``S`` (``margin`` 0) and ``C`` grids: a hair inside, so that the bound holds after rounding."""
    return 2 * (max_error - margin) * (1 - 2.0**-20)


def _on_grid(x: np.ndarray, decoded: np.ndarray | None, max_error: float, margin: float):
    """The ``S`` (``decoded`` is ``None``) or ``C`` candidate, when it holds the bound on every sample."""
    step = _quantisation_step(max_error, margin)
    base = 0.0 if decoded is None else np.asarray(decoded, dtype=np.float64)
    if not np.isfinite(x).all():
        return
    q = np.rint((x - base) / step)
    if np.abs(q).max(initial=0) > MAX_MAGNITUDE:
        return
    rebuilt = base + q * step  # what the reader computes
    if np.abs(x - rebuilt).max(initial=0) > max_error - margin:
        return
    yield (b"S" if decoded is None else b"C"), b"", q.astype(np.int64), b""


def _with_feedback(x: np.ndarray, decoded: np.ndarray | None, max_error: float, margin: float):
    """The ``P`` (``decoded`` is ``None``) or ``Q`` candidate, when it holds the bound on every sample."""
    step = _quantisation_step(max_error, margin)
    base = 0.0 if decoded is None else np.asarray(decoded, dtype=np.float64)
    y = (x - base) / step
    if not np.isfinite(y).all() or np.abs(y).max(initial=0) >= MAX_INPUT:
        return
    coefficients, shift, centre, q = fit_feedback(y)
    if np.abs(q).max(initial=0) > MAX_MAGNITUDE:
        return
    rebuilt = base + _feedback_values(rebuild(q, coefficients, shift, centre), step)  # what the reader computes
    if np.abs(x - rebuilt).max(initial=0) > max_error - margin:
        return
    yield (b"P" if decoded is None else b"Q"), _predictor_head(coefficients, shift, centre), q, b""


def _feedback_values(rebuilt: np.ndarray, step: float) -> np.ndarray:
    """The values of an error-feedback reconstruction in fixed point (:func:`~mne_dac.io.error_feedback.rebuild`)."""
    return rebuilt * (step / (1 << FRACTION_BITS))


def _reader_grid_points(exact: tuple | None, max_error: float) -> int:
    """Points of the reader's grid to a step of ``G`` and ``F``: when every sample lies on the reader's grid
    (``exact``: :func:`on_grid`'s on it) and their step is longer than ``S``'s by :data:`_STEP_GAIN` (where it
    is not, the two code alike and ``S`` and ``P`` are kept); else 0."""
    if exact is None or exact[2].any():
        return 0
    spacing = abs(exact[0].step * exact[0].scale)
    step = _quantisation_step(max_error, 0.0)  # ``S``'s: a hair inside
    points = int(step / spacing) + 1
    return points if 2 <= points <= _MAX_POINTS and points * spacing >= _STEP_GAIN * step else 0


def _with_feedback_on_reader_grid(x: np.ndarray, exact: tuple, max_error: float, points: int):
    """The ``F`` candidate (``points`` of the reader's grid to a step), when it holds the bound on every sample."""
    grid, k = exact[0], exact[1]
    if np.abs(k).max(initial=0) >= MAX_INPUT:
        return
    coefficients, shift, centre, q = fit_feedback(k.astype(np.float64), points)
    if np.abs(q).max(initial=0) > MAX_MAGNITUDE:
        return
    rebuilt = _feedback_grid_values(grid, rebuild(q, coefficients, shift, centre, points))  # as the reader computes
    if np.abs(x - rebuilt).max(initial=0) <= max_error:
        yield b"F", _varint(points) + _predictor_head(coefficients, shift, centre), q, b""


def _feedback_grid_values(grid: Grid, rebuilt: np.ndarray) -> np.ndarray:
    """The samples of an error-feedback reconstruction on the reader's grid (grid points in fixed point)."""
    return grid.values(rebuilt / float(1 << FRACTION_BITS))


def _predictor_head(coefficients: np.ndarray, shift: int, centre: int) -> bytes:
    """An error-feedback predictor as a channel's data hold it: order, shift, centre (zigzag varint), coefficients."""
    zigzag = 2 * centre if centre >= 0 else -2 * centre - 1
    return _PREDICTOR.pack(len(coefficients), shift) + _varint(zigzag) + coefficients.astype("<i2").tobytes()


def _on_reader_grid(x: np.ndarray, exact: tuple, max_error: float, points: int):
    """The ``G`` candidate (``points`` of the reader's grid to a step), when it holds the bound on every sample."""
    grid = exact[0]
    q = np.floor((exact[1] + (points - 1) // 2) / points)  # steps centred on 0 when ``points`` is odd
    if np.abs(q).max(initial=0) > MAX_MAGNITUDE:
        return
    if np.abs(x - _middle_points(grid, q, points)).max(initial=0) <= max_error:  # as the reader computes it
        yield b"G", _varint(points), q.astype(np.int64), b""


def _middle_points(grid: Grid, q: np.ndarray, points: int) -> np.ndarray:
    """The samples of ``G``'s integers ``q``: the middle of the ``points`` grid points of step ``q``."""
    return grid.values(q.astype(np.float64) * points - (points - 1) // 2 + (points - 1) / 2)


def _varint(n: int) -> bytes:
    """``n`` as an unsigned LEB128 varint (7 bits a byte, low first; the high bit: more follow)."""
    out = bytearray()
    while n > 0x7F:
        out.append(0x80 | n & 0x7F)
        n >>= 7
    return bytes(out) + bytes([n])


def _read_size(buf: bytes | memoryview, pos: int, varints: bool) -> tuple[int, int]:
    """The size at ``pos`` (a varint, else a ``uint32``) and the position after it."""
    if not varints:
        return _SIZE.unpack_from(buf, pos)[0], pos + _SIZE.size
    size = 0
    for i, byte in enumerate(bytes(buf[pos : pos + _MAX_SIZE_BYTES])):
        size |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return size, pos + i + 1
    raise ValueError("a size is cut off or longer than 5 bytes")


def _read_reference(part: bytes, pos: int, coding: str) -> tuple[int, int, int]:
    """A channel's reference at ``pos`` (earlier channel, -1: none; multiple) and the position after it."""
    if coding in _CODINGS_BEFORE_ANS4:
        return *_REF.unpack_from(part, pos), pos + _REF.size
    ref, pos = _read_size(part, pos, varints=True)
    if not ref:
        return -1, 0, pos
    return ref - 1, *_MULTIPLE.unpack_from(part, pos), pos + _MULTIPLE.size


def _reference(v: np.ndarray, integers: list) -> list[tuple[int, int]]:
    """The earlier channel whose integers' steps correlate best with ``v``'s, and its multiple."""
    dv = np.diff(v).astype(np.float64)
    best = None
    for r, w in enumerate(integers):
        if w is None or len(w) != len(v):
            continue
        dw = np.diff(w).astype(np.float64)
        power = dw @ dw
        if power == 0:
            continue
        score = (dv @ dw) ** 2 / power
        if best is None or score > best[0]:
            best = (score, r, int(np.clip(np.rint((dv @ dw) / power * (1 << _REF_SHIFT)), -32767, 32767)))
    return [] if best is None or best[2] == 0 else [(best[1], best[2])]


def _ref_term(ref: int, multiple: int, integers: list) -> np.ndarray | int:
    return 0 if ref < 0 else (multiple * integers[ref]) >> _REF_SHIFT


def _ref_coded(v: np.ndarray, ref: int, multiple: int, integers: list) -> bytes | None:
    d = v - _ref_term(ref, multiple, integers)
    return encode_integers(d) if np.abs(d).max(initial=0) <= MAX_MAGNITUDE else None


def decode_residual(buf: bytes, n_channels: int, n_samples: int, *, max_error: float, margin: float,
                    grids: list[Grid | None] | None = None, coding: str = RESIDUAL_CODINGS[-1]) -> ResidualBlock:  # fmt: skip
    """Invert :func:`encode_residual` (``coding``: the file's residual coding, one of
    :data:`~mne_dac.io.validation.RESIDUAL_CODINGS`); :class:`~mne_dac.EEGDACFormatError` on malformed data."""
    weights, offsets = np.zeros(n_channels), np.empty((n_channels, n_samples))
    steps = {b"S": _quantisation_step(max_error, 0.0), b"C": _quantisation_step(max_error, margin)}
    steps.update({b"P": steps[b"S"], b"Q": steps[b"C"]})
    integers: list = []
    view, pos = memoryview(buf), 0
    for c in range(n_channels):
        try:
            size, pos = _read_size(view, pos, coding not in _FIXED_SIZE_CODINGS)
        except (ValueError, struct.error) as err:
            raise EEGDACFormatError(f"residual: cut off ({err})") from err
        part = bytes(view[pos : pos + size])
        pos += size
        if len(part) != size or size < 1:
            raise EEGDACFormatError("residual: a channel's data are cut off")
        try:
            grid = None if grids is None else grids[c]
            kind, values, ints = _decode_channel(part, n_samples, integers, steps, grid, coding)
        except (ValueError, struct.error) as err:
            raise EEGDACFormatError(f"residual: channel {c} does not decode ({err})") from err
        weights[c] = kind in (b"C", b"Q")
        offsets[c] = values
        integers.append(ints)
    if pos != len(view):
        raise EEGDACFormatError("residual: bytes left over")
    return ResidualBlock(weights, offsets)


def _decode_channel(part: bytes, n: int, integers: list, steps: dict, grid: Grid | None, coding: str
                    ) -> tuple[bytes, np.ndarray, np.ndarray | None]:  # fmt: skip
    kind, pos, varints = part[:1], 1, coding not in _FIXED_SIZE_CODINGS
    if kind == b"Z":
        return kind, np.frombuffer(decompress_exactly(part[1:], 8 * n, "residual"), dtype="<f8"), None
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    if kind in (b"R", b"G", b"F") and grid is None:
        raise ValueError("the header has no grid for this channel")
    points = 1
    if (kind == b"G" and not varints) or (kind in (b"P", b"F", b"Q") and coding in _CODINGS_BEFORE_ANS4):
        raise ValueError(f"a channel of the kind {kind.decode()} in a file of a residual coding without it")
    if kind in (b"G", b"F"):
        points, pos = _read_size(part, pos, varints)
        if not 2 <= points <= _MAX_POINTS:
            raise ValueError(f"{points} grid points to a step")
    if kind in (b"P", b"F", b"Q"):
        order, shift = _PREDICTOR.unpack_from(part, pos)
        zigzag, pos = _read_size(part, pos + _PREDICTOR.size, varints)
        centre = zigzag >> 1 if zigzag % 2 == 0 else -(zigzag >> 1) - 1
        if order > max(ORDERS) or shift > 15 or abs(centre) > MAX_INPUT or pos + 2 * order > len(part):
            raise ValueError("invalid error-feedback predictor")
        coefficients = np.frombuffer(part, dtype="<i2", count=order, offset=pos).astype(np.int64)
        pos += 2 * order
    if kind == b"E":
        grid = Grid(*_GRID.unpack_from(part, pos))
        pos += _GRID.size
        if not np.isfinite([grid.step, grid.offset, grid.scale]).all():
            raise ValueError("invalid grid")
    ref, multiple, pos = _read_reference(part, pos, coding)
    n_body, pos = _read_size(part, pos, varints)
    if not -1 <= ref < len(integers) or (ref >= 0 and integers[ref] is None):
        raise ValueError("invalid reference")
    v = decode_integers(part[pos : pos + n_body], n) + _ref_term(ref, multiple, integers)
    if kind in (b"R", b"E"):
        if pos + n_body == len(part):  # the samples are the grid's values
            return kind, grid.values(v), v
        ulps = np.frombuffer(decompress_exactly(part[pos + n_body :], 8 * n, "residual"), dtype="<i8")
        return kind, grid.samples(v, ulps), v
    if pos + n_body != len(part):
        raise ValueError("bytes left over")
    if kind == b"G":
        return kind, _middle_points(grid, v, points), v
    if kind == b"F":
        return kind, _feedback_grid_values(grid, rebuild(v, coefficients, shift, centre, points)), v
    if kind in (b"P", b"Q"):
        return kind, _feedback_values(rebuild(v, coefficients, shift, centre), steps[kind]), v
    return kind, v * steps[kind], v
