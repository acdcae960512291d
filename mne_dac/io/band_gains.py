"""Band gains of a decoded block: each EEG channel keeps at least 90 % of its δ, θ, α and β power.

A coder that minimises the squared error within a budget leaves out the weak components first: at
88 bits/s per channel on eegmat, the transform codes keep the waveform to 21 % PRD but lose a fifth
of the β power. The writer of a block measures, for each EEG channel and each band of
:data:`BAND_EDGES`, the power the decode kept, and where it kept less than :data:`KEPT_POWER` of
the original's, the gain that lifts the band to that share; it stores the gain on a log scale
(:data:`GAIN_BITS` bits, :data:`GAIN_STEP` octaves a step, from 1 to almost 4); the reader
multiplies each band of the decoded block by its gain. Scaling what was decoded costs little error
where it was decoded well, and lifting a band only to 90 % of its power, not to all of it, scales
least the bands that were decoded worst. On eegmat's validation recordings, ``"klt-codec"`` files
at 88 bits/s per channel keep the same PRD with a β error of 0.09 instead of 0.20 (δ, θ, α: 0.02 to
0.04), and a classifier of 4-s windows trained on originals keeps its accuracy (brought to all of
their power, the bands cost 0.2 points of PRD and that classifier 4 points). The gains take
``n_channels × 4 ×`` 5 bits a 64-s block (0.3 bits/s per channel), counted in the budget.

Bands are measured and scaled in the block's DCT (type II, orthonormal): the spectrum of the block
extended by its mirror image, so its edges leak no power into the bands.

Files of a codec's tokens store them too, before each 16-s block's tokens, measured on the codec's
decode at the recording's rate against the recording high-passed as the codec's input but clipped
only at ±10 mV, as transform-coded files clip it (a raw drift or step would leak power into the
bands; on a recording that ±200 µV clips, the bands keep power that the clipping took), 1.3 bits/s
per channel beside the tokens. On
eegmat's validation recordings, the default codec's files at 88 bits/s per channel keep β with an
error of 0.10 instead of 0.46 for 1.1 points of PRD (39.1 against 37.9 %), and a classifier trained
on originals loses 2.4 points on them instead of 4.9; at 44 bits/s (β 0.30 instead of 0.94, the
largest gain short of it) it loses none instead of 42.

A block's gains follow its band energy. Where a short burst holds most of it (an artifact, or the
high-pass's start-up transient at the start of a recording with a large DC offset), they lift the
whole block towards the burst's level, and its other seconds come out too strong: on a 29-s
clinical recording (Nihon Kohden, 22 channels) that the default codec does not code (PRD 98 %),
its band errors against the recording high-passed at 0.1 Hz (δ / θ / α / β) grow from 0.98 / 2.47 /
3.97 / 5.36 to 1.47 / 8.67 / 10.13 / 9.62. Write such recordings with ``restore_bands=False``, or
with a bound (``max_error``). Gains robust to a burst were measured and not kept: the ratio of the
band powers' medians over 2-s windows keeps that file as without gains (0.86 / 2.36 / 3.95 / 6.16)
but lifts too little the blocks whose loud seconds the codec clips (eegmmidb, 7.5 % of its samples
beyond ±200 µV: 0.42 / 0.30 / 0.08 / 0.17 against 0.21 / 0.24 / 0.04 / 0.09); so does leaving out
the loudest window or the windows above ten times the median (δ 0.34 to 0.48), and lifting a band
only where its decode follows the original (its error below its power) loses eegmmidb's β (0.19).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mne_dac.io.bit_packing import pack_codes, unpack_codes
from mne_dac.io.validation import EEGDACFormatError
from mne_dac.signal.preprocessing import CodecDomainStream, PreprocessingSettings

__all__ = [
    "BAND_EDGES",
    "GAIN_BITS",
    "GAIN_STEP",
    "KEPT_POWER",
    "MAX_BAND_GAIN_SHARE",
    "MAX_GAIN_STEP",
    "REFERENCE_CLIP",
    "apply_band_gains",
    "band_edges_of_header",
    "band_gain_steps",
    "band_gains",
    "gain_bits",
    "gain_bytes",
    "kept_band_edges",
    "reference_stream",
    "scale_bands",
    "split_band_gains",
]

#: Edges (Hz) of the bands whose power a block keeps: δ, θ, α and β (:data:`mne_dac.signal.metrics.BANDS`).
BAND_EDGES = (1.0, 4.0, 8.0, 13.0, 30.0)
#: Share of each band's power that a block keeps at least.
KEPT_POWER = 0.9
#: Bits of a stored gain.
GAIN_BITS = 5
#: Octaves between two stored gains: the stored ``k`` is the gain ``2 ** (k / 16)``.
GAIN_STEP = 1 / 16
#: The largest stored gain (almost 4).
MAX_GAIN_STEP = (1 << GAIN_BITS) - 1
#: The level (Volts) at which the EEG that band powers are measured against is clipped, as transform-coded files
#: clip it (:func:`reference_stream`).
REFERENCE_CLIP = 1e-2
#: The blocks' band gains are stored when they take at most this share of the file's bits (at 88 bits/s per
#: channel they take 0.4 %; below about 6 bits/s, or in a recording shorter than about 5 s at 88, they are left out).
MAX_BAND_GAIN_SHARE = 0.05


def gain_bytes(n_channels: int, n_bands: int) -> int:
    """Bytes of a block's gains (bit-packed)."""
    return -(-n_channels * n_bands * GAIN_BITS // 8)


def gain_bits(n_channels: int, edges: tuple[float, ...]) -> int:
    """Bits of one block's band gains for bands of ``edges`` (0 without bands)."""
    return 8 * gain_bytes(n_channels, len(edges) - 1) if edges else 0


def split_band_gains(payload: bytes, n_channels: int, edges: tuple[float, ...]) -> tuple[bytes, bytes]:
    """A block's payload cut into its band gains (empty without ``edges``) and the code that follows them; a
    :class:`ValueError` when it is shorter than its gains."""
    n_bytes = gain_bits(n_channels, edges) // 8
    if len(payload) < n_bytes:
        raise ValueError(f"{len(payload)} bytes cannot hold the block's band gains ({n_bytes} bytes)")
    return bytes(payload[:n_bytes]), payload[n_bytes:]


def kept_band_edges(restore_bands: bool, n_channels: int, n_blocks: int, total_bits: float) -> tuple[float, ...]:
    """The band edges a file of ``n_blocks`` blocks and ``total_bits`` bits keeps: :data:`BAND_EDGES` when asked
    and their gains take at most :data:`MAX_BAND_GAIN_SHARE` of the bits, else none."""
    kept = restore_bands and n_blocks * gain_bits(n_channels, BAND_EDGES) <= MAX_BAND_GAIN_SHARE * total_bits
    return BAND_EDGES if kept else ()


def band_edges_of_header(edges: Any, field: str) -> tuple[float, ...]:
    """A header's band edges, checked: absent, or the bands this version keeps (:data:`BAND_EDGES`)."""
    if edges is None:
        return ()
    if not (isinstance(edges, list) and all(type(f) in (int, float) for f in edges) and tuple(edges) == BAND_EDGES):
        raise EEGDACFormatError(f"header field {field!r}: expected {list(BAND_EDGES)}")
    return BAND_EDGES


def _spectrum(x: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """The DCT of each row of ``x`` and the frequency of each coefficient (Hz)."""
    from scipy.fft import dct

    n_samples = x.shape[1]
    return dct(np.asarray(x, dtype=np.float64), type=2, norm="ortho", axis=1), np.arange(n_samples) * sfreq / (
        2 * n_samples
    )


def _band_masks(freqs: np.ndarray, edges: tuple[float, ...]) -> list[np.ndarray]:
    """Which frequencies lie in each band ``[edges[i], edges[i + 1])``."""
    return [(freqs >= low) & (freqs < high) for low, high in zip(edges[:-1], edges[1:])]


def band_gain_steps(original: np.ndarray, decoded: np.ndarray, sfreq: float, edges: tuple[float, ...]) -> np.ndarray:
    """The stored gains that lift each band of ``decoded`` to at least :data:`KEPT_POWER` of its power in ``original``.

    Parameters
    ----------
    original, decoded : array, shape (n_channels, n_samples)
        A block of EEG and its decode.
    sfreq : float
        Their rate (Hz).
    edges : tuple of float
        The bands' edges (Hz).

    Returns
    -------
    steps : array of int64, shape (n_channels, n_bands)
        Each gain in :data:`GAIN_STEP` octaves, rounded to the nearest step, from 0 to ``2 ** GAIN_BITS - 1``. A
        band decoded with enough power, or that either signal lacks (no frequency of the block in it, or no
        power), keeps a gain of 1 (step 0).
    """
    spectrum_x, freqs = _spectrum(original, sfreq)
    power_x, power_y = spectrum_x**2, _spectrum(decoded, sfreq)[0] ** 2
    steps = np.zeros((len(original), len(edges) - 1), dtype=np.int64)
    for band, mask in enumerate(_band_masks(freqs, edges)):
        p_x, p_y = power_x[:, mask].sum(1), power_y[:, mask].sum(1)
        has_power = (p_x > 0) & (p_y > 0)
        octaves = 0.5 * np.log2(KEPT_POWER * p_x[has_power] / p_y[has_power])
        steps[has_power, band] = np.clip(np.round(octaves / GAIN_STEP), 0, MAX_GAIN_STEP)
    return steps


def band_gains(original: np.ndarray, decoded: np.ndarray, sfreq: float, edges: tuple[float, ...]) -> bytes:
    """:func:`band_gain_steps`, bit-packed as a block stores them (:func:`gain_bytes` bytes)."""
    return pack_codes(band_gain_steps(original, decoded, sfreq, edges), GAIN_BITS)


def scale_bands(decoded: np.ndarray, steps: np.ndarray, sfreq: float, edges: tuple[float, ...]) -> np.ndarray:
    """Multiply each band of each channel of ``decoded`` by its gain (:func:`band_gain_steps`' ``steps``).

    Returns
    -------
    restored : array of float64, shape of ``decoded``
    """
    from scipy.fft import idct

    spectrum, freqs = _spectrum(decoded, sfreq)
    for band, mask in enumerate(_band_masks(freqs, edges)):
        spectrum[:, mask] *= 2.0 ** (steps[:, band, None] * GAIN_STEP)
    return idct(spectrum, type=2, norm="ortho", axis=1)


def apply_band_gains(decoded: np.ndarray, payload: bytes, sfreq: float, edges: tuple[float, ...]) -> np.ndarray:
    """:func:`scale_bands` with a block's stored gains (:func:`band_gains`' payload)."""
    return scale_bands(decoded, unpack_codes(payload, GAIN_BITS, (len(decoded), len(edges) - 1)), sfreq, edges)


def reference_stream(get: Callable[[int, int], np.ndarray], ch_names: list[str], n_times: int, sfreq: float,
                     highpass: float) -> CodecDomainStream:  # fmt: skip
    """The EEG that a decode's band powers are measured against, at its own rate ``sfreq``: high-passed as the
    codec's input (``highpass``), clipped only at :data:`REFERENCE_CLIP` (a drift of the raw recording would
    leak into the bands, clipping at the codec's ±200 µV lose them).

    ``get(start, stop)`` returns the EEG samples ``[start, stop)`` in Volts; the stream's samples are in units of
    :data:`REFERENCE_CLIP` (multiply by it for Volts).
    """
    return CodecDomainStream(get, len(ch_names), n_times, sfreq, sfreq, PreprocessingSettings(highpass, REFERENCE_CLIP),
                             ch_names, check=False)  # fmt: skip
