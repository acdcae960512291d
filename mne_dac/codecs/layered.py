"""Layered coding: a cross-channel codec base, and a cross-channel DCT of what the base misses.

:func:`encode_layered` codes a recording's channels with the codec on their principal
components (:mod:`mne_dac.codecs.spatial`) at part of the budget, then the residual with
:class:`~mne_dac.signal.transform_coding.CrossChannelDCTCoder` at the rest. It tries several
splits of the budget, including all bits to either layer, and keeps the one of smallest squared
error: on the recording it codes, a layered code is never worse than either layer alone at the
same bits.

On eegmat the codec base wins only at the lowest rates (about 22 bits/s per channel and
below). From about 30 bits/s the DCT of the principal components alone is better: the codec
behaves as a low-pass and keeps little β, and its base leaves a residual that costs the DCT
more than it saves (see the benchmarks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from mne.utils import logger

from mne_dac.codecs.spatial import SpatialCode, analyse_spatial, decode_spatial
from mne_dac.signal.transform_coding import CodedSignal, CrossChannelDCTCoder
from mne_dac.utils._docs import fill_doc

#: Shares of the budget that :func:`encode_layered` tries for the codec base.
BASE_SHARES = (0.0, 0.1, 0.25, 0.5, 1.0)


def refinement_coder(bits_per_second: float, sfreq: float) -> CrossChannelDCTCoder:
    """The refinement layer's coder: a cross-channel block DCT of 512 samples (the budget matters to the encoder only)."""
    return CrossChannelDCTCoder(bits_per_second, sfreq, block=512)


@dataclass(frozen=True)
class LayeredCode:
    """A recording coded as a codec base and a DCT refinement (:func:`encode_layered`).

    Attributes
    ----------
    base : SpatialCode | None
        The codec on the channels' principal components; ``None`` when the DCT alone was best.
    refinement : CodedSignal | None
        The cross-channel DCT of the channels minus the base; ``None`` when the base alone was best.
    n_channels, n_samples : int
        Channels and samples per channel, at the codec's rate.
    """

    base: SpatialCode | None
    refinement: CodedSignal | None
    n_channels: int
    n_samples: int

    def n_bits(self, bits_per_code: int) -> int:
        """Bits of both layers, everything counted."""
        base = self.base.n_bits(bits_per_code) if self.base is not None else 0
        return base + (self.refinement.n_bits if self.refinement is not None else 0)


@fill_doc
def encode_layered(
    codec: Any,
    data: np.ndarray,
    bits_per_second: float,
    *,
    base_shares: Sequence[float] = BASE_SHARES,
    segment_seconds: float = 4.0,
) -> LayeredCode:
    """Code channels as a codec base plus a cross-channel DCT of the residual, at the best split of the budget.

    Parameters
    ----------
    %(spatial_data)s
    bits_per_second : float
        Budget per channel, both layers and all side information counted.
    base_shares : sequence of float
        Shares of the budget, in ``[0, 1]``, to try for the base. Shares too small for one
        codebook are skipped.
    %(segment_seconds)s

    Returns
    -------
    code : LayeredCode
        Of all splits tried, the one of smallest squared error; its
        :meth:`~LayeredCode.n_bits` is within the budget.
    """
    if not (np.isfinite(bits_per_second) and bits_per_second > 0):
        raise ValueError(f"bits_per_second must be positive, got {bits_per_second}")
    shares = np.asarray(base_shares, dtype=np.float64)
    if shares.ndim != 1 or not len(shares) or not ((shares >= 0) & (shares <= 1)).all():
        raise ValueError(f"base_shares must be shares of the budget in [0, 1], got {base_shares!r}")
    analysis = analyse_spatial(codec, data, segment_seconds=segment_seconds)
    data = np.asarray(data, dtype=np.float32)
    reference = data.astype(np.float64)
    n_channels, n_samples = data.shape
    budget = bits_per_second * n_channels * n_samples / codec.sfreq
    best, best_error = None, np.inf
    for share in sorted(set(shares.tolist())):
        if 0 < share * bits_per_second < analysis.min_bits_per_second:
            continue
        base = analysis.code(share * bits_per_second) if share else None
        decoded = decode_spatial(codec, base) if base is not None else np.zeros_like(data)
        left = budget - (base.n_bits(codec.bits_per_code) if base is not None else 0)
        refinement = None
        if share < 1 and left > 0:
            coder = refinement_coder(left * codec.sfreq / (n_channels * n_samples), codec.sfreq)
            try:
                refinement = coder.encode(data - decoded)
            except ValueError:  # the bits left cannot hold even an all-zero refinement
                refinement = None
        if base is None and refinement is None:
            continue
        if refinement is not None:
            decoded = decoded + coder.decode(refinement)
        error = float(np.sum((reference - decoded) ** 2))
        logger.debug("layered: base share %.2f, squared error %.4g", share, error)
        if error < best_error:
            best, best_error = LayeredCode(base, refinement, n_channels, n_samples), error
    if best is None:
        raise ValueError(f"{bits_per_second:g} bits/s per channel is too low for any layer of {data.shape} signals.")
    return best


def decode_layered(codec: Any, code: LayeredCode) -> np.ndarray:
    """Rebuild the channels of a :class:`LayeredCode`: the base, plus the decoded refinement.

    Parameters
    ----------
    codec : DACCodec
        The DAC-SC codec that made it.
    code : LayeredCode
        The code.

    Returns
    -------
    data : array of float32, shape (n_channels, n_samples)
        Codec-domain signals.
    """
    data = np.zeros((code.n_channels, code.n_samples), np.float32)
    if code.base is not None:
        data += decode_spatial(codec, code.base)
    if code.refinement is not None:
        data += refinement_coder(1.0, codec.sfreq).decode(code.refinement)
    return data
