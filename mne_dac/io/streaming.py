"""Coding a recording piece by piece: codes of a range of frames, samples of a range of time.

Both directions work in bounded memory on recordings of any length, and give what the
whole-signal computation gives: a frame's code depends on ``codec.encoder_context`` frames
of signal each side, a decoded sample on ``codec.decoder_context`` frames of codes each side
and on a few codec samples around it through the resampler.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from mne_dac.signal.preprocessing import CodecDomainStream, PreprocessingSettings, _resample, resampling_ratio

__all__ = ["decode_samples", "encode_frames", "frame_blocks", "iter_code_blocks", "with_reconstruction"]

#: Codec samples of margin each side of a decoded range, for the resampler back to the original rate.
RESAMPLE_MARGIN = 64


def frame_blocks(n_frames: int, block_frames: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of each block of frames."""
    return [(f, min(f + block_frames, n_frames)) for f in range(0, n_frames, block_frames)]


def encode_frames(stream: CodecDomainStream, codec: Any, start: int, stop: int, n_codebooks: int,
                  **channels: Any) -> np.ndarray:  # fmt: skip
    """Codes of frames ``[start, stop)``, equal to those of the whole signal.

    ``channels``: ``ch_names``, ``groups``, ``positions`` as :meth:`DACCodec.encode
    <mne_dac.DACCodec.encode>` takes them.
    """
    hop, context = codec.hop_length, codec.encoder_context
    n_frames = codec.n_frames(stream.n_codec)
    lo, hi = max(0, start - context), min(n_frames, stop + context)
    signal = stream.get(lo * hop, min(hi * hop, stream.n_codec))
    codes = codec.encode(signal, n_codebooks, **channels)
    return codes[:, :, start - lo : stop - lo]


def decode_samples(
    codes_of: Callable[[int, int], np.ndarray],
    codec: Any,
    *,
    n_frames: int,
    sfreq: float,
    n_times: int,
    preprocessing: PreprocessingSettings,
    start: int,
    stop: int,
    n_codebooks: int | None = None,
    progress: bool = False,
    **channels: Any,
) -> np.ndarray:
    """Decoded EEG samples ``[start, stop)`` at the original rate, in Volts.

    Parameters
    ----------
    codes_of : callable
        ``codes_of(lo, hi)`` returns the codes of frames ``[lo, hi)``.
    codec : DACCodec
        The codec.
    n_frames, sfreq, n_times, preprocessing
        Of the recording.
    start, stop : int
        The samples to decode (original rate).
    n_codebooks : int | None
        Decode with the first ``n_codebooks`` codebooks.
    progress : bool
        Show the decoder's progress bar.
    **channels
        ``ch_names``, ``groups``, ``positions``.

    Returns
    -------
    data : array, shape (n_channels, stop - start)
        What decoding the whole recording gives on these samples, to float rounding.
    """
    ratio = resampling_ratio(sfreq, codec.sfreq)
    num, den = ratio.numerator, ratio.denominator
    hop, total = codec.hop_length, n_frames * codec.hop_length
    # codec samples [a, b): a is a multiple of num, so that it falls on an original sample
    a = max(0, start * num // den - RESAMPLE_MARGIN) // num * num
    b = min(total, -(-stop * num // den) + RESAMPLE_MARGIN)
    if stop >= n_times:
        b = total  # the whole-signal inverse resamples the padded last frame too
    f0, f1 = a // hop, -(-b // hop)
    lo, hi = max(0, f0 - codec.decoder_context), min(n_frames, f1 + codec.decoder_context)
    decoded = codec.decode(codes_of(lo, hi), n_codebooks, progress=progress, **channels)[
        :, (a - lo * hop) : (b - lo * hop)
    ]
    first = a * den // num  # the original sample of codec sample a
    n_out = stop - first if stop < n_times else n_times - first
    out = np.empty((decoded.shape[0], stop - start))
    for i, (channel, clip) in enumerate(zip(decoded, preprocessing.levels(len(decoded)))):
        x = channel[np.newaxis].astype(np.float64) * clip
        out[i] = _resample(x, 1 / ratio, n_out, padtype="edge")[0, start - first : stop - first]
    return out


def iter_code_blocks(stream: CodecDomainStream, codec: Any, n_codebooks: int, block_frames: int,
                     progress: bool = False, **channels: Any) -> Iterator[tuple[int, int, np.ndarray]]:  # fmt: skip
    """``(start, stop, codes)`` of each block of frames of the stream, in order."""
    from tqdm.auto import tqdm

    blocks = frame_blocks(codec.n_frames(stream.n_codec), block_frames)
    for start, stop in tqdm(blocks, desc="Encoding", unit="block", disable=not progress):
        yield start, stop, encode_frames(stream, codec, start, stop, n_codebooks, **channels)


def with_reconstruction(blocks: Iterator[tuple[int, int, np.ndarray]], codec: Any, *, bounds: list[int],
                        n_frames: int, sfreq: float, n_times: int, preprocessing: PreprocessingSettings,
                        **channels: Any) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:  # fmt: skip
    """Each block of codes with the codec's reconstruction of its samples, ``bounds[k]:bounds[k + 1]``.

    A block waits for the codes of the frames after it that its samples depend on, so that
    its reconstruction equals that of the whole recording (:func:`decode_samples`).
    """
    reach = codec.decoder_context + -(-RESAMPLE_MARGIN // codec.hop_length) + 1
    window: list[tuple[int, int, np.ndarray]] = []  # the codes still needed
    queue: list[tuple[int, int, int, np.ndarray]] = []  # the blocks waiting for codes after them

    def codes_of(lo: int, hi: int) -> np.ndarray:
        parts = [c[:, :, max(lo, a) - a : min(hi, b) - a] for a, b, c in window if a < hi and b > lo]
        return np.concatenate(parts, axis=2)

    def reconstructed(k: int, start: int, stop: int, codes: np.ndarray) -> tuple:
        decoded = decode_samples(codes_of, codec, n_frames=n_frames, sfreq=sfreq, n_times=n_times,
                                 preprocessing=preprocessing, start=bounds[k], stop=bounds[k + 1], **channels)  # fmt: skip
        return start, stop, codes, decoded

    for k, (start, stop, codes) in enumerate(blocks):
        window.append((start, stop, codes))
        queue.append((k, start, stop, codes))
        while queue and stop >= min(n_frames, queue[0][2] + reach):
            yield reconstructed(*queue.pop(0))
        first_needed = (queue[0][1] if queue else stop) - reach
        window = [w for w in window if w[1] > first_needed]
    for block in queue:
        yield reconstructed(*block)
