"""Cross-channel transform coding with a DAC-SC codec: decorrelate the channels, then spend the bits where the energy is.

EEG channels share much of their signal (volume conduction, the common reference): on eegmat the
first principal component of 19 channels holds about half the energy. Coding each channel with
the same number of codebooks spends as many bits on the weakest direction as on the strongest.
:func:`encode_spatial` rotates the channels onto their principal components (the Karhunen–Loève
transform of the recording), codes every component with the codec, and chooses how many codebooks
each component gets in each segment so that the total squared error is smallest within a budget
of bits per second (reverse water-filling, solved with a Lagrange multiplier). A component's
depth can be 0: a component with no codebook in any segment is left out, direction included.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mne_dac.signal.transform_coding import principal_directions
from mne_dac.utils._docs import fill_doc

#: Bits of each stored transform and gain value (float16).
VALUE_BITS = 16


@dataclass(frozen=True)
class SpatialCode:
    """Channels coded as decorrelated components at chosen depths (:func:`encode_spatial`).

    The channels are ``transform @ (gains[:, None] * components)``, and component ``k`` of
    segment ``s`` is decoded with its first ``depths[k, s]`` codebooks. Only the components
    coded in some segment are kept.

    Attributes
    ----------
    transform : array of float16, shape (n_channels, n_components)
        Columns: the coded components' principal directions, strongest first (orthonormal up
        to float16 rounding).
    gains : array of float16, shape (n_components,)
        Scale of each component: coded components have about the spread of one channel.
    codes : array of int64, shape (n_components, n_codebooks, n_frames)
        The components' codes; codes beyond a segment's depth are ``-1`` (not stored).
    depths : array of uint8, shape (n_components, n_segments)
        Codebooks used by each component in each segment of ``segment_frames`` frames.
    segment_frames : int
        Frames per segment (the last segment may be shorter).
    n_samples : int
        Samples per channel (at the codec's rate).
    """

    transform: np.ndarray
    gains: np.ndarray
    codes: np.ndarray
    depths: np.ndarray
    segment_frames: int
    n_samples: int

    @property
    def n_channels(self) -> int:
        """Channels."""
        return int(self.transform.shape[0])

    def n_bits(self, bits_per_code: int) -> int:
        """Bits of the code: the directions and gains, a depth per segment and component, and the codes."""
        return (
            side_bits(self.n_channels, *self.depths.shape, self.codes.shape[1])
            + int((self.codes >= 0).sum()) * bits_per_code
        )


def side_bits(n_channels: int, n_components: int, n_segments: int, n_codebooks: int) -> int:
    """Bits of a code's directions, gains and depths (:meth:`SpatialCode.n_bits` without the codes)."""
    depth_bits = int(np.ceil(np.log2(n_codebooks + 1)))
    return n_components * ((n_channels + 1) * VALUE_BITS + n_segments * depth_bits)


def fit_transform(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Principal directions of the channels and the gain that scales each component to one channel's spread.

    Parameters
    ----------
    data : array, shape (n_channels, n_samples)
        Codec-domain signals.

    Returns
    -------
    transform : array of float16, shape (n_channels, n_channels)
        Orthonormal columns, by decreasing variance.
    gains : array of float16, shape (n_channels,)
        Each component's RMS over the channels' mean RMS (at least the smallest float16 normal).
    """
    directions, variances = principal_directions(data)
    return directions.astype(np.float16), component_gains(variances, np.mean(np.asarray(data, dtype=np.float64) ** 2))


def component_gains(variances: np.ndarray, channel_variance: float) -> np.ndarray:
    """Each component's RMS over the channels' mean RMS, as float16 (at least float16's smallest normal).

    ``variances``: the components' variances; ``channel_variance``: the channels' mean variance, in the
    same units.
    """
    gains = np.sqrt(np.asarray(variances, dtype=np.float64) / max(float(channel_variance), np.finfo(np.float64).tiny))
    return np.maximum(gains, np.finfo(np.float16).smallest_normal).astype(np.float16)


def components(data: np.ndarray, transform: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """The scaled components of ``data``: the solution of ``transform @ (gains * y) = data``, clipped to [-1, 1]."""
    y = np.linalg.solve(transform.astype(np.float64), np.asarray(data, dtype=np.float64))
    return np.clip(y / gains.astype(np.float64)[:, None], -1, 1).astype(np.float32)


def allocate_depths(errors: np.ndarray, unit_bits: np.ndarray, budget: float) -> np.ndarray:
    """Depths that minimise the total error within a bit budget (Lagrangian bisection).

    Parameters
    ----------
    errors : array, shape (n_depths, n_units)
        Squared error of each unit (a component's segment) at each depth ``0 … n_depths - 1``.
    unit_bits : array, shape (n_units,)
        Bits of one codebook in each unit (its frames times the bits per code).
    budget : float
        Bits for all units' codebooks together.

    Returns
    -------
    depths : array of int, shape (n_units,)
        Each unit's depth minimising ``error + multiplier * bits``, for the smallest multiplier
        (found by bisection) whose depths fit the budget.
    """
    errors = np.asarray(errors, dtype=np.float64)
    cost = np.arange(errors.shape[0])[:, None] * np.asarray(unit_bits, dtype=np.float64)[None]

    def choose(multiplier: float) -> np.ndarray:
        return np.argmin(errors + multiplier * cost, axis=0)

    def spent(depths: np.ndarray) -> float:
        return float(cost[depths, np.arange(errors.shape[1])].sum())

    # above ``hi`` a codebook costs more than the largest error it could remove: all depths are 0
    lo, hi = 0.0, 2 * max(float(errors.max()), 1e-30) / max(float(np.min(unit_bits)), 1.0)
    if spent(choose(lo)) <= budget:
        return choose(lo)
    for _ in range(100):
        mid = (lo + hi) / 2
        if spent(choose(mid)) > budget:
            lo = mid
        else:
            hi = mid
    return choose(hi)


def largest_fitting(
    allocation: Callable[[float], tuple[np.ndarray, float]], budget: float, lo: float = 0.0, n_iter: int = 40
) -> np.ndarray:
    """Depths for the largest budget of codes whose total (side information included) fits ``budget``.

    ``allocation(code_budget)`` returns the depths within ``code_budget`` bits of codes and all the bits
    they take; the total grows with the code budget (the side information grows with the depths used), so
    the largest code budget in ``[lo, budget]`` is found by bisection (``n_iter`` steps) from ``lo``'s depths.
    """
    hi, depths = budget, allocation(lo)[0]
    for _ in range(n_iter):
        mid = (lo + hi) / 2
        candidate, spent = allocation(mid)
        if spent <= budget:
            lo, depths = mid, candidate
        else:
            hi = mid
    return depths


def codes_at_each_depth(codec: Any, y: np.ndarray) -> list[np.ndarray]:
    """The codes of ``y`` at every depth ``1 … n_codebooks``: element ``d - 1`` holds depth ``d``'s,
    shape ``(n_components, d, n_frames)``.

    Below the codec's :attr:`~mne_dac.DACCodec.nested_depth`, the codes its encoder searches for that
    depth (a beam search's shallower code is not the start of its deeper one); from it on, the first
    codes of the full-depth code.
    """
    full = codec.encode(y, codec.n_codebooks)
    return [codec.encode(y, depth) if depth < codec.nested_depth else full[:, :depth]
            for depth in range(1, codec.n_codebooks + 1)]  # fmt: skip


def codes_of_depths(depth_codes: list[np.ndarray], depths: np.ndarray, frames_in: np.ndarray) -> np.ndarray:
    """Each component's code with each segment at its depth, taken from that depth's codes (-1 beyond it).

    Parameters
    ----------
    depth_codes : list of array of int
        Every depth's codes (:func:`codes_at_each_depth`).
    depths : array of int, shape (n_components, n_segments)
        Each segment's depth (0: no code).
    frames_in : array of int, shape (n_segments,)
        Frames of each segment.

    Returns
    -------
    codes : array of int64, shape (n_components, n_codebooks, n_frames)
    """
    n_components, n_q, n_frames = depth_codes[-1].shape
    frame_depth = np.repeat(depths, frames_in, axis=1)[:, None, :]
    codes = np.full((n_components, n_q, n_frames), -1, dtype=np.int64)
    for depth, codes_at_depth in enumerate(depth_codes, start=1):
        codes[:, :depth] = np.where(frame_depth == depth, codes_at_depth, codes[:, :depth])
    return codes


def segment_errors(codec: Any, depth_codes: list[np.ndarray], y: np.ndarray, weights: np.ndarray,
                   segment_frames: int) -> np.ndarray:  # fmt: skip
    """Squared error of each component's segments at each depth ``0 … n_codebooks``.

    Parameters
    ----------
    codec : DACCodec
        The codec of the codes.
    depth_codes : list of array of int
        The components' codes at every depth (:func:`codes_at_each_depth`).
    y : array, shape (n_components, n_samples)
        The components the codes code (codec domain).
    weights : array, shape (n_components, 1)
        Each component's scale in the units the error is measured in.
    segment_frames : int
        Frames per segment (the last may be shorter).

    Returns
    -------
    errors : array, shape (n_codebooks + 1, n_components, n_segments)
        Depth 0 is the components' own energy.
    """
    n_components, n_q, n_frames = depth_codes[-1].shape
    n_samples, hop = y.shape[1], codec.hop_length
    starts = np.arange(0, n_frames, segment_frames)
    errors = np.empty((n_q + 1, n_components, len(starts)))
    padded = np.zeros((n_components, n_frames * hop))
    for depth in range(n_q + 1):
        decoded = codec.decode(depth_codes[depth - 1], depth, n_samples=n_samples) if depth else 0.0
        padded[:, :n_samples] = ((y - decoded) * weights) ** 2
        errors[depth] = np.add.reduceat(padded.reshape(n_components, n_frames, hop).sum(-1), starts, axis=1)
    return errors


@dataclass(frozen=True)
class SpatialAnalysis:
    """A recording's components, coded at full depth, and each segment's error at each depth.

    :func:`analyse_spatial` makes it once; :meth:`code` then codes the recording at any budget
    without running the codec again.

    Attributes
    ----------
    transform, gains : array of float16
        All principal directions and gains (:func:`fit_transform`).
    codes : array of int64, shape (n_channels, n_codebooks, n_frames)
        Every component's codes at the codec's full depth.
    errors : array of float, shape (n_codebooks + 1, n_channels, n_segments)
        Squared error of each component's segment at each depth, in the codec's domain.
    segment_frames : int
        Frames per segment.
    n_samples : int
        Samples per channel.
    sfreq, bits_per_code : float, int
        The codec's rate and bits per code.
    """

    transform: np.ndarray
    gains: np.ndarray
    codes: np.ndarray
    errors: np.ndarray
    segment_frames: int
    n_samples: int
    sfreq: float
    bits_per_code: int

    @property
    def frames_in_segment(self) -> np.ndarray:
        """Frames of each segment."""
        n_frames = self.codes.shape[2]
        return np.diff(np.append(np.arange(0, n_frames, self.segment_frames), n_frames))

    @property
    def min_bits_per_second(self) -> float:
        """The smallest budget per channel that codes one component's segment with one codebook."""
        n_channels, n_q, _ = self.codes.shape
        least = side_bits(n_channels, 1, self.errors.shape[2], n_q) + self.frames_in_segment.min() * self.bits_per_code
        return float(least * self.sfreq / (n_channels * self.n_samples))

    def code(self, bits_per_second: float) -> SpatialCode:
        """The code within ``bits_per_second`` per channel, everything counted, of smallest error."""
        if not (np.isfinite(bits_per_second) and bits_per_second > 0):
            raise ValueError(f"bits_per_second must be positive, got {bits_per_second}")
        n_channels, n_q, _ = self.codes.shape
        n_segments = self.errors.shape[2]
        if bits_per_second < self.min_bits_per_second:
            raise ValueError(
                f"{bits_per_second:g} bits/s per channel is too low for {n_channels} channels of "
                f"{self.n_samples / self.sfreq:g} s: one component's segment with its direction and depths "
                f"needs {self.min_bits_per_second:.3g} bits/s per channel."
            )
        budget = bits_per_second * n_channels * self.n_samples / self.sfreq
        frames_in = self.frames_in_segment
        unit_bits = np.tile(frames_in * self.bits_per_code, n_channels)

        def allocation(code_budget: float) -> tuple[np.ndarray, float]:
            """Depths within ``code_budget`` bits of codes, and all the bits they take with their side information."""
            depths = allocate_depths(self.errors.reshape(n_q + 1, -1), unit_bits, code_budget).reshape(n_channels, -1)
            n_coded = int(depths.any(axis=1).sum())
            return depths, float((depths.ravel() * unit_bits).sum()) + side_bits(n_channels, n_coded, n_segments, n_q)

        # the more bits the codes get, the more components they use and the more directions must be paid for
        depths = largest_fitting(allocation, budget)
        coded = depths.any(axis=1)
        frame_depth = np.repeat(depths[coded], frames_in, axis=1)  # (n_components, n_frames)
        kept = np.arange(n_q)[None, :, None] < frame_depth[:, None, :]
        return SpatialCode(
            self.transform[:, coded],
            self.gains[coded],
            np.where(kept, self.codes[coded], -1),
            depths[coded].astype(np.uint8),
            self.segment_frames,
            self.n_samples,
        )


@fill_doc
def analyse_spatial(codec: Any, data: np.ndarray, *, segment_seconds: float = 4.0) -> SpatialAnalysis:
    """Code a recording's components at full depth and measure each segment's error at each depth.

    Parameters
    ----------
    %(spatial_data)s
    %(segment_seconds)s

    Returns
    -------
    analysis : SpatialAnalysis
        Its :meth:`~SpatialAnalysis.code` codes the recording at a budget.

    Notes
    -----
    Each depth's error is measured with that depth everywhere. Near a segment's edges the
    decoder also sees its neighbours' depths, so the decoded error differs slightly from
    the estimate the allocation uses.
    """
    data = np.asarray(data, dtype=np.float32)
    if data.ndim != 2 or data.shape[0] < 2 or data.shape[1] == 0:
        raise ValueError(f"data must have shape (n_channels >= 2, n_samples > 0), got {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("data contains NaN or Inf values.")
    if not (np.isfinite(segment_seconds) and segment_seconds > 0):
        raise ValueError(f"segment_seconds must be positive, got {segment_seconds}")
    if hasattr(codec, "layout"):
        raise ValueError("Cross-channel transform coding needs a DAC-SC codec: it codes every component alone.")
    n_samples = data.shape[1]
    segment_frames = max(1, round(segment_seconds * codec.frame_rate))
    transform, gains = fit_transform(data)
    y = components(data, transform, gains)
    codes = codec.encode(y, codec.n_codebooks)
    nested = [codes[:, :depth] for depth in range(1, codec.n_codebooks + 1)]
    errors = segment_errors(codec, nested, y, gains.astype(np.float64)[:, None], segment_frames)
    return SpatialAnalysis(
        transform, gains, codes, errors, segment_frames, n_samples, float(codec.sfreq), codec.bits_per_code
    )


@fill_doc
def encode_spatial(
    codec: Any,
    data: np.ndarray,
    bits_per_second: float,
    *,
    segment_seconds: float = 4.0,
) -> SpatialCode:
    """Code channels as decorrelated components, each segment at the depth that the budget favours.

    Parameters
    ----------
    %(spatial_data)s
    bits_per_second : float
        Budget per channel, everything counted (:meth:`SpatialCode.n_bits`).
    %(segment_seconds)s

    Returns
    -------
    code : SpatialCode
        Its :meth:`~SpatialCode.n_bits` is within the budget.

    See Also
    --------
    analyse_spatial : the analysis it codes from, to code one recording at several budgets.
    """
    if not (np.isfinite(bits_per_second) and bits_per_second > 0):
        raise ValueError(f"bits_per_second must be positive, got {bits_per_second}")
    return analyse_spatial(codec, data, segment_seconds=segment_seconds).code(bits_per_second)


def decode_spatial(codec: Any, code: SpatialCode) -> np.ndarray:
    """Rebuild the channels of a :class:`SpatialCode`.

    Every component is decoded once, each frame with its segment's codebooks (see
    :meth:`~mne_dac.DACCodec.decode`'s ``-1`` codes); a segment of depth 0 is zero.

    Parameters
    ----------
    codec : DACCodec
        The DAC-SC codec that made it.
    code : SpatialCode
        The code.

    Returns
    -------
    data : array of float32, shape (n_channels, n_samples)
        Codec-domain signals.
    """
    if not len(code.gains):  # no component was worth its bits
        return np.zeros((code.n_channels, code.n_samples), np.float32)
    frame_depth = np.repeat(code.depths, code.segment_frames, axis=1)[:, : code.codes.shape[2]]
    sample_depth = np.repeat(frame_depth, codec.hop_length, axis=1)[:, : code.n_samples]
    y = codec.decode(code.codes, n_samples=code.n_samples)
    y[sample_depth == 0] = 0
    x = code.transform.astype(np.float64) @ (code.gains.astype(np.float64)[:, None] * y)
    return x.astype(np.float32)
