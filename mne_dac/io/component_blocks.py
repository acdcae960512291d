"""Blocks of a ``"klt-codec"`` file: a DAC-SC codec on the channels' principal components (or on each channel),
depth chosen per second.

A codec that spends the same codebooks on every frame of every channel wastes its bits on the
weak directions and the quiet seconds; the block DCT of the principal components does not, and
so keeps the EEG better at the same bits. This coding gives the codec the same freedom: the
channels are rotated onto their principal directions (:func:`~mne_dac.io.transform_blocks.fit_transform`,
stored with each component's gain), each block's components are coded at every depth of the codec,
and each component's depth in each second (0 to all codebooks) is chosen so that the block's
squared error is smallest within its share of the budget
(:func:`~mne_dac.codecs.spatial.allocate_depths`, a Lagrangian bisection). Below the codec's
:attr:`~mne_dac.DACCodec.nested_depth`, a depth's codes are those its encoder searches for that depth
(:func:`~mne_dac.codecs.spatial.codes_at_each_depth`). ``write_raw_dac(codec=<a codec>, bits_per_second=...)``
writes the same blocks without directions, a depth per channel and :data:`CHANNEL_SEGMENT_SECONDS`: that codec
on each channel as it is, at any rate.

The codec clips its input at its own level (``±200 µV`` for the shipped codecs), where an ictal
recording or an artifact may reach millivolts, and it codes best the level of the EEG it was trained
on: on an eegmat minute (RMS 9 to 18 µV) at 88 bits/s per channel the default codec's PRD is 32.6 %,
34.8 % at half that level, 48.1 % at a quarter, 39.5 % at twice and 48.6 % at four times. With the
spec's ``block_scales`` (what the writer uses unless a residual layer bounds every sample), each block
codes each component divided by a power of :data:`SCALE_STEP` octaves: the one that brings an RMS
outside :data:`CODEC_RMS` to its middle, or, if larger, the smallest that keeps every sample within
the codec's level, so no sample of the EEG is clipped below the file's ±10 mV.

A block's payload holds the scales (with ``block_scales``), the depths, then the codes they keep,
bit-packed (:func:`~mne_dac.io.bit_packing.pack_codes`): one byte, the bits of the block's largest
scale step, then each component's step at those bits, zigzag-coded (0, -1, 1, -2, … as 0, 1, 2, 3,
…; none in a block whose scales are all 1); each
component's *width*, the bits of its largest depth in the block (so a component never coded in the
block costs its width alone), then each component's depths at its width, choice by choice; then the
codes (``bits_per_code`` bits each, component by component, codebook by codebook, frame by frame). A
component of depth 0 is zero for that choice. A choice spans the spec's ``depth_seconds``. The
scales' and depths' bits come out of the block's budget.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mne_dac.codecs.spatial import (
    allocate_depths,
    codes_at_each_depth,
    codes_of_depths,
    largest_fitting,
    segment_errors,
)
from mne_dac.io.bit_packing import pack_codes, unpack_codes
from mne_dac.io.residual import MARGIN
from mne_dac.io.transform_blocks import (
    DCT_BLOCK,
    TRANSFORM_PREPROCESSING,
    TRANSFORM_SFREQ,
    BlockFrames,
    TransformSpec,
)
from mne_dac.signal.preprocessing import report_clipping

__all__ = [
    "CHANNEL_SEGMENT_SECONDS",
    "CODEC_RMS",
    "MAX_SCALE_STEP",
    "SCALE_STEP",
    "SEGMENT_SECONDS",
    "ComponentCodecFrames",
    "check_component_codec",
]

#: Seconds of each depth choice of the principal components (``codec="klt-codec"``).
SEGMENT_SECONDS = 1
#: Seconds of each depth choice of a codec on each channel (``bits_per_second`` with a codec): on eegmat's
#: validation minutes at 30 bits/s per channel, 4-s choices code to 0.5 points of PRD less than 1-s ones (their
#: depths take a quarter of the bits) and 0.1 less than 2-s ones.
CHANNEL_SEGMENT_SECONDS = 4
#: Octaves between two block scales: a block's component of step ``k`` is coded divided by ``2 ** (k * SCALE_STEP)``.
SCALE_STEP = 0.25
#: The largest step (6 bits zigzag-coded): a scale of about 215, beyond the ±10 mV that a file keeps of a ±200-µV
#: codec's input (50); the smallest is ``-MAX_SCALE_STEP - 1`` (1/256).
MAX_SCALE_STEP = 31
#: RMS (in units of the codec's clip level) of the components that a block codes as they are; one outside is
#: scaled to the range's geometric middle. Eegmat's channels lie within (0.047 to 0.089 of 200 µV).
CODEC_RMS = (0.035, 0.09)
#: What the messages call the coding with a depth chosen per segment.
_DEPTH_PER_SEGMENT = "A depth chosen per segment (codec='klt-codec', or a codec with bits_per_second)"


def check_component_codec(codec: Any) -> None:
    """Raise a :class:`ValueError` unless ``codec`` can code a file's components: a DAC-SC codec at
    :data:`~mne_dac.io.transform_blocks.TRANSFORM_SFREQ` whose hop divides a file's frame."""
    if hasattr(codec, "layout"):
        raise ValueError(f"{_DEPTH_PER_SEGMENT} needs a DAC-SC codec (it codes every signal alone), got {codec.name!r}")
    if codec.sfreq != TRANSFORM_SFREQ or DCT_BLOCK % codec.hop_length:
        raise ValueError(f"{_DEPTH_PER_SEGMENT} needs a codec at {TRANSFORM_SFREQ:g} Hz whose hop divides "
                         f"{DCT_BLOCK} samples; {codec.name!r} works at {codec.sfreq:g} Hz with hop "
                         f"{codec.hop_length}")  # fmt: skip


class ComponentCodecFrames(BlockFrames):
    """Code and decode the blocks of a ``"klt-codec"`` file, as :class:`~mne_dac.io.transform_blocks.TransformFrames`
    does those of a ``"klt-dct"`` one.

    Parameters
    ----------
    spec : TransformSpec
        The file's coding (directions and gains).
    codec : DACCodec
        The DAC-SC codec of the components (the file's).
    bits_per_sample : float | None
        Bits per sample of the preprocessed EEG (all channels together) that a block's payload may take
        (the writer's; a reader needs none).
    """

    def __init__(self, spec: TransformSpec, codec: Any, bits_per_sample: float | None = None) -> None:
        check_component_codec(codec)
        self.spec, self.codec, self.name = spec, codec, spec.method
        self.bits_per_sample = bits_per_sample
        n_channels, n_directions = spec.directions.shape
        self._directions = spec.directions.astype(np.float64) if n_directions else np.eye(n_channels)
        gains = spec.gains.astype(np.float64) if n_directions else np.ones(n_channels)
        #: Codec input per unit of a component (the file's preprocessing scales EEG by another clip level).
        self._scale = TRANSFORM_PREPROCESSING.clip / codec.preprocessing.clip / gains
        self._segment = max(1, round(spec.depth_seconds * codec.frame_rate))  # codec frames per depth choice
        self._width_bits = int(codec.n_codebooks).bit_length().bit_length()  # bits of a depth's width
        #: Samples of each coded signal that the codec's input clipped (at its clip level), written so far.
        self.clip_counts = np.zeros(spec.n_components, dtype=np.int64)
        #: Volts kept for the decoder's float rounding on another machine, in a residual layer: the codec's
        #: margin (a share of its clip level) on every component, at its gain and largest block scale.
        largest_scale = 2.0 ** (MAX_SCALE_STEP * SCALE_STEP) if spec.block_scales else 1.0
        self.margin = float(MARGIN * codec.preprocessing.clip * gains.sum() * largest_scale)

    @classmethod
    def for_writing(cls, spec: TransformSpec, codec: Any, n_codec: int) -> ComponentCodecFrames:
        """The coder of a recording of ``n_codec`` samples: the budget left by the directions, gains and band
        gains, spread evenly over the samples."""
        return cls(spec, codec, max(cls.payload_bits(spec, n_codec), 0.0) / n_codec)

    def report_clipping(self, ch_names: list[str], n_samples: int) -> None:
        """Log (or warn about) the samples that the codec's input clipped, of each channel or component."""
        n_directions = self.spec.directions.shape[1]
        names = [f"component {k + 1}" for k in range(n_directions)] if n_directions else ch_names
        report_clipping(self.clip_counts, n_samples, names, self.codec.preprocessing.clip)

    def _segments(self, n_frames: int) -> np.ndarray:
        """Codec frames of each depth choice of a block of ``n_frames`` codec frames."""
        return np.diff(np.append(np.arange(0, n_frames, self._segment), n_frames))

    def _encode(self, x: np.ndarray) -> bytes:
        """The code of a block of preprocessed EEG ``(n_channels, n_samples)``, within its share of the budget.

        A block too short for even its depths (a last block of a few seconds at a very low rate) is given
        depth 0 everywhere: its payload is the depths alone.
        """
        codec, n_samples = self.codec, x.shape[1]
        scaled = np.linalg.solve(self._directions, x) * self._scale[:, None]
        steps = _scale_steps(scaled) if self.spec.block_scales else np.zeros(len(scaled), dtype=np.int64)
        scaled /= 2.0 ** (steps * SCALE_STEP)[:, None]
        scales = _pack_scales(steps) if self.spec.block_scales else b""
        self.clip_counts += np.count_nonzero(np.abs(scaled) > 1, axis=1)
        y = np.clip(scaled, -1, 1).astype(np.float32)
        depth_codes = codes_at_each_depth(codec, y)
        n_components, n_q, n_frames = depth_codes[-1].shape
        frames_in = self._segments(n_frames)
        eeg_units = 2.0 ** (steps * SCALE_STEP) / self._scale
        errors = segment_errors(codec, depth_codes, y, eeg_units[:, None], self._segment)  # in the EEG's units
        budget = self.bits_per_sample * n_samples - 8 * len(scales)
        unit_bits = np.tile(frames_in * codec.bits_per_code, n_components)

        def within(code_budget: float) -> tuple[np.ndarray, float]:
            """The depths within ``code_budget`` bits of codes, and the bits of the payload they make."""
            chosen = allocate_depths(errors.reshape(n_q + 1, -1), unit_bits, max(code_budget, 0.0))
            depths = chosen.reshape(n_components, -1)
            return depths, 8 * self._depth_bytes(depths) + float((chosen * unit_bits).sum())

        # the depths' own bits come out of the budget: from what the widest depths would leave
        widest = self._depth_bytes(np.full((n_components, len(frames_in)), n_q))
        depths = largest_fitting(within, budget, lo=budget - 8 * widest, n_iter=12)
        codes = codes_of_depths(depth_codes, depths, frames_in)
        if scales and not depths.any():  # nothing coded, nothing to scale
            scales = _pack_scales(np.zeros_like(steps))
        return scales + self._pack_depths(depths) + pack_codes(codes[codes >= 0], codec.bits_per_code)

    def _depth_bytes(self, depths: np.ndarray) -> int:
        """Bytes of :meth:`_pack_depths`' output, without packing."""
        widths = [int(d.max(initial=0)).bit_length() for d in depths]
        return -(-len(widths) * self._width_bits // 8) + sum(-(-depths.shape[1] * w // 8) for w in widths)

    def _pack_depths(self, depths: np.ndarray) -> bytes:
        """Each component's width (the bits of its largest depth), then the depths of each component of
        width above 0 at that width (each component's whole bytes)."""
        widths = np.array([int(d.max(initial=0)).bit_length() for d in depths])
        return pack_codes(widths, self._width_bits) + b"".join(pack_codes(d, w) for d, w in zip(depths, widths) if w)

    def _unpack_depths(self, payload: bytes, n_components: int, n_segments: int) -> tuple[np.ndarray, int]:
        """Invert :meth:`_pack_depths`: the depths, and the bytes they took; a :class:`ValueError` when the payload
        is too short for them."""
        n_bytes = -(-n_components * self._width_bits // 8)
        if len(payload) < n_bytes:
            raise ValueError(f"{len(payload)} bytes cannot hold the depths' widths ({n_bytes} bytes)")
        widths = unpack_codes(payload[:n_bytes], self._width_bits, (n_components,))
        depths = np.zeros((n_components, n_segments), dtype=np.int64)
        for k, width in enumerate(widths):
            size = -(-n_segments * int(width) // 8)
            if len(payload) < n_bytes + size:
                raise ValueError(f"{len(payload)} bytes cannot hold the depths")
            if width:
                depths[k] = unpack_codes(payload[n_bytes : n_bytes + size], int(width), (n_segments,))
            n_bytes += size
        return depths, n_bytes

    def _decode(self, payload: bytes, n_samples: int) -> np.ndarray:
        codec = self.codec
        n_components, n_q = len(self._scale), codec.n_codebooks
        n_codec_frames = codec.n_frames(n_samples)
        frames_in = self._segments(n_codec_frames)
        steps = np.zeros(n_components, dtype=np.int64)
        if self.spec.block_scales:
            steps, n_scale_bytes = _unpack_scales(payload, n_components)
            payload = payload[n_scale_bytes:]
        depths, n_depth_bytes = self._unpack_depths(payload, n_components, len(frames_in))
        if depths.max(initial=0) > n_q:
            raise ValueError(f"a depth exceeds the codec's {n_q} codebooks")
        frame_depth = np.repeat(depths, frames_in, axis=1)
        kept = np.arange(n_q)[None, :, None] < frame_depth[:, None, :]
        n_kept = int(kept.sum())
        if len(payload) - n_depth_bytes != -(-n_kept * codec.bits_per_code // 8):
            raise ValueError(f"{len(payload) - n_depth_bytes} bytes of codes where the depths keep {n_kept} codes")
        codes = np.full((n_components, n_q, n_codec_frames), -1, dtype=np.int64)
        codes[kept] = unpack_codes(payload[n_depth_bytes:], codec.bits_per_code, (n_kept,))
        if codes.max(initial=0) >= codec.codebook_size:
            raise ValueError(f"a code exceeds the codec's {codec.codebook_size} entries")
        y = codec.decode(codes, n_samples=n_samples).astype(np.float64)
        y[np.repeat(frame_depth, codec.hop_length, axis=1)[:, :n_samples] == 0] = 0
        return self._directions @ (y * (2.0 ** (steps * SCALE_STEP) / self._scale)[:, None])


def _scale_steps(x: np.ndarray) -> np.ndarray:
    """The step of each row of ``x`` (a block's components in the codec's units): the one that brings an RMS outside
    :data:`CODEC_RMS` to its middle (0 for a flat row), but at least the smallest that brings its samples within
    ±1; from ``-MAX_SCALE_STEP - 1`` to :data:`MAX_SCALE_STEP`."""
    tiny = np.finfo(np.float64).tiny
    peaks, rms = np.abs(x).max(axis=1, initial=0.0), np.sqrt(np.mean(np.square(x), axis=1))
    to_middle = np.round(np.log2(np.maximum(rms, tiny) / np.sqrt(np.prod(CODEC_RMS))) / SCALE_STEP)
    level = np.where(((rms < CODEC_RMS[0]) & (rms > 0)) | (rms > CODEC_RMS[1]), to_middle, 0.0)  # a flat row keeps 1
    within = np.ceil(np.log2(np.maximum(peaks, tiny)) / SCALE_STEP)
    within += 2.0 ** (within * SCALE_STEP) < peaks  # float rounding of the logarithm
    return np.clip(np.maximum(level, within), -MAX_SCALE_STEP - 1, MAX_SCALE_STEP).astype(np.int64)


def _pack_scales(steps: np.ndarray) -> bytes:
    """A byte, the bits of the largest zigzag-coded step, then the zigzag-coded steps at those bits."""
    zigzag = np.where(steps < 0, -2 * steps - 1, 2 * steps)
    width = int(zigzag.max(initial=0)).bit_length()
    return bytes([width]) + (pack_codes(zigzag, width) if width else b"")


def _unpack_scales(payload: bytes, n_components: int) -> tuple[np.ndarray, int]:
    """Invert :func:`_pack_scales`: the steps and the bytes they took; a :class:`ValueError` when the payload cannot
    hold them or their bits could exceed :data:`MAX_SCALE_STEP`."""
    if not payload:
        raise ValueError("an empty payload cannot hold the block's scales")
    width, max_width = payload[0], (2 * MAX_SCALE_STEP + 1).bit_length()
    if width > max_width:
        raise ValueError(f"block scales of {width} bits (at most {max_width})")
    size = 1 + -(-n_components * width // 8)
    if len(payload) < size:
        raise ValueError(f"{len(payload)} bytes cannot hold the block's scales ({size} bytes)")
    zigzag = unpack_codes(payload[1:size], width, (n_components,)) if width else np.zeros(n_components, np.int64)
    return np.where(zigzag % 2, -(zigzag + 1) // 2, zigzag // 2), size
