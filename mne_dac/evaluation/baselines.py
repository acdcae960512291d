"""Classic transform-coding baselines, with every bit counted, and rate–quality curves.

The baselines code codec-domain signals (float in [-1, 1] at the codec rate, as made by
:func:`mne_dac.signal.preprocessing.to_codec_domain`), so that they see exactly what the codec
sees and are compared with it at the same number of bits per second per channel.

Each baseline is a complete, decodable coder:

1. every channel is cut into blocks of ``block`` samples (the last one padded by
   mirroring), and each block is transformed with an orthonormal transform: the DCT-II
   (:class:`DCTCoder`) or a periodised discrete wavelet transform
   (:class:`WaveletCoder`);
2. all coefficients are quantized with one uniform dead-zone quantizer of step
   ``step``: ``q = sign(c) * floor(|c| / step + rounding)``, reconstructed as
   ``q * step``. Coefficients smaller than ``(1 - rounding) * step`` become zero, so
   the coder keeps the largest-magnitude coefficients of each block, as many as the
   budget allows (threshold coding); one step for all channels and blocks is the
   MSE-optimal allocation of an orthonormal transform (reverse water-filling);
3. the quantized symbols are zigzag-mapped to unsigned integers, laid out
   coefficient-major (coefficient index, then channel, then block: runs of zeros at
   high frequencies become long and cheap), split into byte planes and compressed with
   LZMA (an adaptive range coder). The positions of the kept coefficients are thus
   coded by the entropy coder as runs of zeros;
4. the payload is a real file: an 11-byte header (number of channels ``uint16``,
   number of samples ``uint32``, step ``float32``, number of byte planes ``uint8``)
   followed by the LZMA stream. ``n_bits`` is ``8 * len(payload)``: the header, the
   positions and the values are all counted. :meth:`TransformCoder.decode` needs only
   the payload (and the coder's fixed configuration: transform and block length).

The step is found by bisection (on its logarithm) so that the payload takes at most
``bits_per_second * n_channels * duration`` bits, as close to it as possible: the
average rate per channel never exceeds ``bits_per_second``. Like any entropy coder,
the baselines spend their bits unevenly across channels and time, while the codec
spends exactly ``n_codebooks * log2(codebook_size)`` bits per frame on each channel.

Keeping the first ``K`` (lowest-frequency) coefficients of each block instead, which
needs no positions, was measured to be no better on the eegmat EEG: the entropy coder
makes the zero high-frequency coefficients nearly free, and thresholding adapts to
each block. The dead-zone rounding offset of 1/3 (as in H.264 intra coding) lowers
the PRD by a few points at low rates compared with plain rounding (0.5).

Lossless baselines (:class:`LosslessCoder`) code the recording itself, at its own rate
and without the codec's preprocessing, as 16-bit samples: :func:`to_int16` quantises
Volts with a fixed step (:data:`INT16_RESOLUTION`, 0.1 µV), then FLAC, gzip or zstd
compress the samples exactly. They say what storing the recording without loss costs.
"""

from __future__ import annotations

import gzip
import io
import lzma
import math
import struct
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from mne.utils import logger, verbose

from mne_dac.signal.groups import group_kwargs, resolve_groups
from mne_dac.utils._docs import fill_doc

if TYPE_CHECKING:  # pragma: no cover
    import mne
    import pandas as pd
    from matplotlib.figure import Figure

    from mne_dac.signal.preprocessing import PreprocessingSettings

__all__ = [
    "BASELINES",
    "INT16_RESOLUTION",
    "LOSSLESS",
    "CodedSignal",
    "DCTCoder",
    "LosslessCoder",
    "TransformCoder",
    "WaveletCoder",
    "lossless_quality",
    "make_coder",
    "plot_rate_quality",
    "rate_quality",
    "to_int16",
]

#: Header of a payload: n_channels (uint16), n_samples (uint32), step (float32), n_planes (uint8).
_HEADER = struct.Struct("<HIfB")
#: LZMA1 raw stream (no container): 1 MiB dictionary, no literal context (best measured).
_LZMA_FILTERS = ({"id": lzma.FILTER_LZMA1, "preset": 9, "dict_size": 1 << 20, "lc": 0, "lp": 0, "pb": 0},)
#: Quantized values are kept below 2**30 in magnitude (the finest step searched).
_MAX_LOG2_RANGE = 28


@dataclass(frozen=True)
class CodedSignal:
    """A coded signal: the bytes a file would hold.

    Attributes
    ----------
    payload : bytes
        Header and entropy-coded coefficients; all :meth:`TransformCoder.decode` needs.
    n_channels : int
        Number of channels (informative: also in the payload).
    n_samples : int
        Number of samples per channel (informative: also in the payload).
    sfreq : float
        Sampling rate of the signal, to express the size in bits per second.
    """

    payload: bytes
    n_channels: int
    n_samples: int
    sfreq: float

    @property
    def n_bits(self) -> int:
        """Exact size of the payload in bits (everything counted)."""
        return 8 * len(self.payload)

    @property
    def duration(self) -> float:
        """Duration of the signal in seconds."""
        return self.n_samples / self.sfreq

    @property
    def bits_per_second(self) -> float:
        """Average bits per second per channel."""
        return self.n_bits / (self.n_channels * self.duration)

    @property
    def compression_ratio(self) -> float:
        """Size of the signal as 16-bit samples at ``sfreq`` over the size of the payload."""
        return 16 * self.n_channels * self.n_samples / self.n_bits


class TransformCoder:
    """Block-transform coder with a uniform dead-zone quantizer and LZMA entropy coding.

    Use :class:`DCTCoder` or :class:`WaveletCoder`; subclasses define the transform.

    Parameters
    ----------
    bits_per_second : float
        Budget in bits per second per channel. The payload never exceeds
        ``bits_per_second * n_channels * n_samples / sfreq`` bits.
    sfreq : float
        Sampling rate of the signals to code (the codec rate).
    block : int
        Block length in samples.
    rounding : float
        Rounding offset of the dead-zone quantizer, in ``(0, 0.5]`` (0.5 is plain
        rounding; smaller values widen the zero bin).
    tol : float
        The step search stops once the payload is within ``tol`` (relative) below the
        budget.
    max_iter : int
        Maximum number of bisection steps.
    """

    #: Short name of the method.
    name = "transform"

    def __init__(
        self,
        bits_per_second: float,
        sfreq: float = 512.0,
        block: int = 512,
        *,
        rounding: float = 1 / 3,
        tol: float = 0.01,
        max_iter: int = 60,
    ) -> None:
        if not (np.isfinite(bits_per_second) and bits_per_second > 0):
            raise ValueError(f"bits_per_second must be positive, got {bits_per_second}")
        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {sfreq}")
        if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 1:
            raise ValueError(f"block must be a positive int, got {block!r}")
        if not 0 < rounding <= 0.5:
            raise ValueError(f"rounding must be in (0, 0.5], got {rounding}")
        if not 0 < tol < 1:
            raise ValueError(f"tol must be in (0, 1), got {tol}")
        self.bits_per_second = float(bits_per_second)
        self.sfreq = float(sfreq)
        self.block = int(block)
        self.rounding = float(rounding)
        self.tol = float(tol)
        self.max_iter = int(max_iter)

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} | {self.bits_per_second:g} bits/s per channel at "
            f"{self.sfreq:g} Hz, blocks of {self.block}>"
        )

    # ------------------------------------------------------------------ transform
    def _forward(self, blocks: np.ndarray) -> np.ndarray:
        """Transform blocks of shape (..., block) into coefficients of the same shape."""
        raise NotImplementedError

    def _inverse(self, coefs: np.ndarray) -> np.ndarray:
        """Invert :meth:`_forward`."""
        raise NotImplementedError

    def _to_blocks(self, x: np.ndarray) -> np.ndarray:
        n_channels, n_samples = x.shape
        n_blocks = -(-n_samples // self.block)
        pad = n_blocks * self.block - n_samples
        x = np.pad(x, ((0, 0), (0, pad)), mode="symmetric") if pad else x
        return x.reshape(n_channels, n_blocks, self.block)

    # ------------------------------------------------------------------ quantizer and bitstream
    def _quantize(self, coefs: np.ndarray, step: float) -> np.ndarray:
        return (np.sign(coefs) * np.floor(np.abs(coefs) / step + self.rounding)).astype(np.int64)

    @staticmethod
    def _pack(q: np.ndarray, step: np.float32, n_samples: int) -> bytes:
        n_channels = q.shape[0]
        z = np.where(q >= 0, 2 * q, -2 * q - 1).astype(np.uint64)  # zigzag: 0, -1, 1, -2…
        z = z.transpose(2, 0, 1).ravel()  # coefficient-major
        n_planes = max(1, math.ceil(int(z.max(initial=0)).bit_length() / 8))
        shifts = [np.uint64(8 * p) for p in range(n_planes)]
        planes = b"".join(((z >> shift) & np.uint64(255)).astype(np.uint8).tobytes() for shift in shifts)
        header = _HEADER.pack(n_channels, n_samples, step, n_planes)
        return header + lzma.compress(planes, format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)

    def _unpack(self, payload: bytes) -> tuple[np.ndarray, float, int]:
        """Quantized coefficients (n_channels, n_blocks, block), step and n_samples."""
        if len(payload) < _HEADER.size:
            raise ValueError("The payload is shorter than its header.")
        n_channels, n_samples, step, n_planes = _HEADER.unpack_from(payload)
        n_blocks = -(-n_samples // self.block)
        try:
            planes = lzma.decompress(payload[_HEADER.size :], format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)
        except lzma.LZMAError as err:
            raise ValueError(f"Corrupt payload: {err}") from err
        n_coefs = n_channels * n_blocks * self.block
        if len(planes) != n_planes * n_coefs:
            raise ValueError(f"Corrupt payload, or coded with another block length than {self.block}.")
        planes = np.frombuffer(planes, dtype=np.uint8).reshape(n_planes, n_coefs).astype(np.uint64)
        z = sum(planes[p] << np.uint64(8 * p) for p in range(n_planes))
        q = np.where(z % 2 == 0, (z // 2).astype(np.int64), -((z + 1) // 2).astype(np.int64))
        q = q.reshape(self.block, n_channels, n_blocks).transpose(1, 2, 0)
        return q, float(step), n_samples

    # ------------------------------------------------------------------ public API
    def encode(self, x: np.ndarray) -> CodedSignal:
        """Code signals within the bit budget.

        Parameters
        ----------
        x : array, shape (n_channels, n_samples)
            Codec-domain signals (float, nominally in [-1, 1]) at ``sfreq``.

        Returns
        -------
        coded : CodedSignal
            The payload; ``coded.n_bits`` is its exact size.

        Raises
        ------
        ValueError
            If even an all-zero signal does not fit the budget (a very short signal at
            a very low rate: the header alone takes 88 bits).
        """
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] == 0 or x.shape[0] == 0:
            raise ValueError(f"x must have shape (n_channels, n_samples), got {x.shape}")
        if x.shape[0] >= 2**16 or x.shape[1] >= 2**32 - self.block:
            raise ValueError(f"Too many channels or samples to code: {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError("x contains NaN or Inf values.")
        n_channels, n_samples = x.shape
        budget = self.bits_per_second * n_channels * n_samples / self.sfreq
        coefs = self._forward(self._to_blocks(x))

        def payload_at(log2_step: float) -> bytes:
            step = np.float32(2.0**log2_step)  # the step as the decoder reads it
            return self._pack(self._quantize(coefs, float(step)), step, n_samples)

        c_max = float(np.abs(coefs).max())
        # Above ``hi`` every coefficient quantizes to zero: the smallest payload.
        hi = math.log2(max(c_max, 1e-30) / (1 - self.rounding)) + 0.01
        best = payload_at(hi)
        if 8 * len(best) > budget:
            raise ValueError(
                f"{self.bits_per_second:g} bits/s per channel is too low for "
                f"{n_channels} channel(s) of {n_samples / self.sfreq:g} s: even an all-zero "
                f"signal takes {8 * len(best)} bits, the budget is {budget:.0f}."
            )
        # Bracket: step down by factors of 16 until the budget is exceeded.
        lo, finest = hi, hi - _MAX_LOG2_RANGE
        while lo > finest:
            lo = max(lo - 4, finest)
            candidate = payload_at(lo)
            if 8 * len(candidate) > budget:
                break
            hi, best = lo, candidate
        else:
            lo = hi  # even the finest step fits: nothing to search
        if lo < hi:  # bisection: ``hi`` always fits the budget, ``lo`` never does
            for _ in range(self.max_iter):
                mid = (lo + hi) / 2
                candidate = payload_at(mid)
                if 8 * len(candidate) <= budget:
                    hi, best = mid, candidate
                    if 8 * len(best) >= (1 - self.tol) * budget:
                        break
                else:
                    lo = mid
                if hi - lo < 1e-6:
                    break
        coded = CodedSignal(best, n_channels, n_samples, self.sfreq)
        logger.debug(
            "%s: %d bits, %.1f bits/s per channel (budget %g)",
            self.name,
            coded.n_bits,
            coded.bits_per_second,
            self.bits_per_second,
        )
        return coded

    def decode(self, coded: CodedSignal | bytes) -> np.ndarray:
        """Rebuild the signals from a payload.

        Parameters
        ----------
        coded : CodedSignal | bytes
            The output of :meth:`encode`, or just its ``payload``.

        Returns
        -------
        x_hat : array of float32, shape (n_channels, n_samples)
            The reconstruction.
        """
        payload = coded.payload if isinstance(coded, CodedSignal) else bytes(coded)
        q, step, n_samples = self._unpack(payload)
        y = self._inverse(q * step)
        return y.reshape(y.shape[0], -1)[:, :n_samples].astype(np.float32)

    def code(self, x: np.ndarray) -> tuple[np.ndarray, int]:
        """Encode then decode.

        Parameters
        ----------
        x : array, shape (n_channels, n_samples)
            Codec-domain signals at ``sfreq``.

        Returns
        -------
        x_hat : array of float32, shape (n_channels, n_samples)
            The reconstruction.
        n_bits : int
            Exact size of the payload in bits.
        """
        coded = self.encode(x)
        return self.decode(coded), coded.n_bits

    def code_raw(self, raw: mne.io.BaseRaw, settings: PreprocessingSettings) -> tuple[mne.io.RawArray, CodedSignal]:
        """Code a recording as a codec at ``sfreq`` with ``settings`` would: preprocess, code, decode.

        Parameters
        ----------
        raw : mne.io.Raw
            The recording, in Volts (all its channels are coded).
        settings : PreprocessingSettings
            The codec's preprocessing (high-pass, clip level).

        Returns
        -------
        reconstruction : mne.io.RawArray
            The decoded recording in Volts, at the recording's rate and length.
        coded : CodedSignal
            What a file would hold.
        """
        import mne

        from mne_dac.signal.preprocessing import from_codec_domain, to_codec_domain

        sfreq = raw.info["sfreq"]
        x = to_codec_domain(raw.get_data(), sfreq, self.sfreq, settings, raw.ch_names).data
        coded = self.encode(x)
        volts = from_codec_domain(self.decode(coded.payload), self.sfreq, sfreq, raw.n_times, settings)
        return mne.io.RawArray(volts, raw.info, first_samp=raw.first_samp, verbose=False), coded


class DCTCoder(TransformCoder):
    """Block DCT coder (orthonormal DCT-II), all bits counted.

    Parameters
    ----------
    bits_per_second : float
        Budget in bits per second per channel (never exceeded).
    sfreq : float
        Sampling rate of the signals to code (the codec rate).
    block : int
        Block length in samples (512: one second at 512 Hz, one codec frame).
    **kwargs
        ``rounding``, ``tol``, ``max_iter``: see :class:`TransformCoder`.

    Examples
    --------
    >>> import numpy as np
    >>> from mne_dac.evaluation.baselines import DCTCoder
    >>> x = np.random.default_rng(0).normal(scale=0.05, size=(2, 5120))
    >>> coder = DCTCoder(bits_per_second=90)
    >>> x_hat, n_bits = coder.code(x)
    >>> n_bits <= 90 * 2 * 10
    True
    """

    name = "dct"

    def __init__(self, bits_per_second: float, sfreq: float = 512.0, block: int = 512, **kwargs: Any) -> None:
        super().__init__(bits_per_second, sfreq, block, **kwargs)

    def _forward(self, blocks: np.ndarray) -> np.ndarray:
        from scipy.fft import dct

        return dct(blocks, type=2, norm="ortho", axis=-1)

    def _inverse(self, coefs: np.ndarray) -> np.ndarray:
        from scipy.fft import idct

        return idct(coefs, type=2, norm="ortho", axis=-1)


class WaveletCoder(TransformCoder):
    """Block discrete-wavelet coder (periodised, orthonormal), all bits counted.

    Needs PyWavelets (``pip install PyWavelets``).

    Parameters
    ----------
    bits_per_second : float
        Budget in bits per second per channel (never exceeded).
    sfreq : float
        Sampling rate of the signals to code (the codec rate).
    wavelet : str
        An orthogonal wavelet known to PyWavelets (``"db10"``, ``"db4"``, ``"sym8"``…).
    level : int
        Decomposition levels; ``block`` must be a multiple of ``2**level``.
    block : int
        Block length in samples.
    **kwargs
        ``rounding``, ``tol``, ``max_iter``: see :class:`TransformCoder`.

    Notes
    -----
    Coefficients of a block are ordered coarse to fine (approximation, then details
    from the coarsest level), so that the coefficient-major layout of the bitstream
    groups each sub-band. The periodised transform is orthonormal for any level, even
    when the coarsest filters are longer than their band (PyWavelets' warning about
    boundary effects is silenced).

    The default ``db10`` (20 taps) rather than the common ``db4`` (8 taps): the
    quantization noise of a short wavelet leaks to high frequencies, where the
    preprocessed EEG has almost no power, and DAC's log-spectrogram loss penalises
    it heavily. On eegmat EEG at 30, 90 and 300 bits/s per channel, the spectrogram
    loss with ``db4`` even rises with the bitrate (8.2, 9.0, 10.0), while with ``db10``
    it falls (7.7, 6.9, 6.8), at the same SNR.
    """

    name = "wavelet"

    def __init__(
        self,
        bits_per_second: float,
        sfreq: float = 512.0,
        wavelet: str = "db10",
        level: int = 5,
        block: int = 512,
        **kwargs: Any,
    ) -> None:
        import pywt

        super().__init__(bits_per_second, sfreq, block, **kwargs)
        wav = pywt.Wavelet(wavelet)
        if not wav.orthogonal:
            raise ValueError(f"wavelet must be orthogonal, got {wavelet!r}")
        if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level < 1:
            raise ValueError(f"level must be a positive int, got {level!r}")
        if self.block % 2**level:
            raise ValueError(f"block ({self.block}) must be a multiple of 2**level ({2**level})")
        self.wavelet = wavelet
        self.level = int(level)

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", {self.wavelet} level {self.level}>"

    def _sizes(self) -> list[int]:
        # periodization: the approximation and each detail band halve at every level
        return [self.block >> self.level] + [self.block >> (self.level - i) for i in range(self.level)]

    def _forward(self, blocks: np.ndarray) -> np.ndarray:
        import pywt

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Level value of", UserWarning)
            bands = pywt.wavedec(blocks, self.wavelet, mode="periodization", level=self.level, axis=-1)
        return np.concatenate(bands, axis=-1)

    def _inverse(self, coefs: np.ndarray) -> np.ndarray:
        import pywt

        bands = np.split(coefs, np.cumsum(self._sizes())[:-1], axis=-1)
        return pywt.waverec(bands, self.wavelet, mode="periodization", axis=-1)


#: Baseline coders by name.
BASELINES: dict[str, type[TransformCoder]] = {"dct": DCTCoder, "wavelet": WaveletCoder}


def make_coder(method: str, bits_per_second: float, sfreq: float = 512.0, **kwargs: Any) -> TransformCoder:
    """Build a baseline coder by name.

    Parameters
    ----------
    method : str
        ``"dct"`` or ``"wavelet"``.
    bits_per_second : float
        Budget in bits per second per channel.
    sfreq : float
        Sampling rate of the signals to code.
    **kwargs
        Other arguments of the coder.

    Returns
    -------
    coder : TransformCoder
        The coder.
    """
    if method not in BASELINES:
        raise ValueError(f"method must be one of {list(BASELINES)}, got {method!r}")
    return BASELINES[method](bits_per_second, sfreq, **kwargs)


# ---------------------------------------------------------------------- lossless
#: Lossless compressors of 16-bit samples (:class:`LosslessCoder`).
LOSSLESS = ("flac", "gzip", "zstd")
#: Quantisation step in Volts of :func:`to_int16`: 0.1 µV, so int16 spans ±3.2767 mV.
INT16_RESOLUTION = 1e-7
#: Header of a lossless payload: n_channels (uint16), n_samples (uint32).
_LOSSLESS_HEADER = struct.Struct("<HI")
#: FLAC stream length (uint32) before each channel's stream.
_FLAC_LENGTH = struct.Struct("<I")
#: Default compression levels: libsndfile's FLAC level in [0, 1] (1 is FLAC's -8), gzip, zstd.
_LOSSLESS_LEVELS = {"flac": 1.0, "gzip": 9, "zstd": 19}


def to_int16(
    data: np.ndarray, resolution: float | np.ndarray = INT16_RESOLUTION, offset: float | np.ndarray = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """Quantise signals in Volts to 16-bit samples, ``round((data - offset) / resolution)``.

    Samples beyond the int16 range (about ±3.2767 mV with the default 0.1 µV step and no
    offset) are clipped. ``samples * resolution + offset`` is the signal the lossless
    coders store; its error is at most ``resolution / 2`` where nothing is clipped. With
    the calibration of an EDF file (its digital resolution and offset per channel), the
    samples are exactly the file's.

    Parameters
    ----------
    data : array, shape (n_channels, n_times)
        Signals in Volts.
    resolution : float | array, shape (n_channels,)
        Quantisation step in Volts, for all channels or per channel (e.g. the digital
        resolution of an EDF file).
    offset : float | array, shape (n_channels,)
        Value in Volts of the sample 0, for all channels or per channel.

    Returns
    -------
    samples : array of int16, shape (n_channels, n_times)
        The quantised samples.
    n_clipped : array of int, shape (n_channels,)
        Number of clipped samples per channel.
    """
    data = np.asarray(data, dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"data must have shape (n_channels, n_times), got {data.shape}")
    if not np.isfinite(data).all():
        raise ValueError("data contains NaN or Inf values.")
    resolution = np.broadcast_to(np.asarray(resolution, dtype=np.float64), data.shape[:1])
    offset = np.broadcast_to(np.asarray(offset, dtype=np.float64), data.shape[:1])
    if not (np.isfinite(resolution) & (resolution > 0)).all():
        raise ValueError(f"resolution must be positive, got {resolution}")
    if not np.isfinite(offset).all():
        raise ValueError(f"offset must be finite, got {offset}")
    steps = np.round((data - offset[:, None]) / resolution[:, None])
    low, high = np.iinfo(np.int16).min, np.iinfo(np.int16).max
    n_clipped = np.count_nonzero((steps < low) | (steps > high), axis=1)
    return np.clip(steps, low, high).astype(np.int16), n_clipped


class LosslessCoder:
    """Lossless coder of 16-bit samples: FLAC, gzip or zstd, all bytes counted.

    The payload is a real file: a 6-byte header (number of channels ``uint16``, number
    of samples ``uint32``) followed by

    - ``"flac"``: one mono FLAC stream per channel (libsndfile, PCM_16), each preceded
      by its length (``uint32``); FLAC's inter-channel decorrelation is for stereo pairs
      only, so one stream per channel loses little;
    - ``"gzip"``, ``"zstd"``: the samples, channel after channel (little-endian int16),
      compressed by gzip or zstd (needs ``zstandard``).

    Parameters
    ----------
    method : str
        ``"flac"``, ``"gzip"`` or ``"zstd"``.
    level : float | int | None
        Compression level: libsndfile's FLAC level in [0, 1] (1 is FLAC's highest), gzip
        1-9, zstd 1-22. ``None``: the highest that is usual (FLAC 1.0, gzip 9, zstd 19).

    Examples
    --------
    >>> import numpy as np
    >>> from mne_dac.evaluation.baselines import LosslessCoder, to_int16
    >>> x = np.random.default_rng(0).normal(scale=1e-5, size=(2, 5000))
    >>> samples, _ = to_int16(x)
    >>> coder = LosslessCoder("flac")
    >>> coded = coder.encode(samples, sfreq=500)
    >>> np.array_equal(coder.decode(coded), samples)
    True
    """

    def __init__(self, method: str = "flac", level: float | None = None) -> None:
        from mne.utils import _check_option

        _check_option("method", method, LOSSLESS)
        if method == "zstd":
            try:
                import zstandard  # noqa: F401
            except ImportError as err:
                raise ImportError("zstd needs the zstandard package: pip install zstandard") from err
        self.method = method
        self.level = _LOSSLESS_LEVELS[method] if level is None else level

    @property
    def name(self) -> str:
        """Short name of the method."""
        return self.method

    def __repr__(self) -> str:
        return f"<LosslessCoder | {self.method}, level {self.level:g}>"

    def encode(self, samples: np.ndarray, sfreq: float) -> CodedSignal:
        """Compress 16-bit samples.

        Parameters
        ----------
        samples : array of int16, shape (n_channels, n_samples)
            The samples (see :func:`to_int16`).
        sfreq : float
            Their sampling rate, to express the size in bits per second.

        Returns
        -------
        coded : CodedSignal
            The payload; ``coded.n_bits`` is its exact size.
        """
        samples = np.asarray(samples)
        if samples.dtype != np.int16 or samples.ndim != 2 or 0 in samples.shape:
            raise ValueError(
                f"samples must be int16 of shape (n_channels, n_samples), got {samples.dtype} {samples.shape}"
            )
        if samples.shape[0] >= 2**16 or samples.shape[1] >= 2**32:
            raise ValueError(f"Too many channels or samples to code: {samples.shape}")
        if not sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {sfreq}")
        n_channels, n_samples = samples.shape
        header = _LOSSLESS_HEADER.pack(n_channels, n_samples)
        if self.method == "flac":
            import soundfile

            streams = []
            for channel in samples:
                buffer = io.BytesIO()
                rate = max(1, round(sfreq))  # FLAC stores an integer rate; informative only
                soundfile.write(buffer, channel, rate, subtype="PCM_16", format="FLAC", compression_level=self.level)
                stream = buffer.getvalue()
                streams.append(_FLAC_LENGTH.pack(len(stream)) + stream)
            body = b"".join(streams)
        else:
            raw_bytes = samples.astype("<i2").tobytes()
            if self.method == "gzip":
                body = gzip.compress(raw_bytes, compresslevel=self.level, mtime=0)
            else:
                import zstandard

                body = zstandard.ZstdCompressor(level=self.level).compress(raw_bytes)
        return CodedSignal(header + body, n_channels, n_samples, float(sfreq))

    def decode(self, coded: CodedSignal | bytes) -> np.ndarray:
        """Decompress the samples, exactly.

        Parameters
        ----------
        coded : CodedSignal | bytes
            The output of :meth:`encode`, or just its ``payload``.

        Returns
        -------
        samples : array of int16, shape (n_channels, n_samples)
            The samples given to :meth:`encode`.
        """
        payload = coded.payload if isinstance(coded, CodedSignal) else bytes(coded)
        if len(payload) < _LOSSLESS_HEADER.size:
            raise ValueError("The payload is shorter than its header.")
        n_channels, n_samples = _LOSSLESS_HEADER.unpack_from(payload)
        body = memoryview(payload)[_LOSSLESS_HEADER.size :]
        try:
            if self.method == "flac":
                samples = self._decode_flac(body, n_channels)
            elif self.method == "gzip":
                samples = np.frombuffer(gzip.decompress(body), dtype="<i2")
            else:
                import zstandard

                samples = np.frombuffer(zstandard.ZstdDecompressor().decompress(body), dtype="<i2")
        except Exception as err:  # each library raises its own errors on corrupt data
            raise ValueError(f"Corrupt {self.method} payload: {err}") from err
        if samples.size != n_channels * n_samples:
            expected = n_channels * n_samples
            raise ValueError(f"Corrupt {self.method} payload: {samples.size} samples, expected {expected}.")
        return samples.reshape(n_channels, n_samples).astype(np.int16)

    @staticmethod
    def _decode_flac(body: memoryview, n_channels: int) -> np.ndarray:
        import soundfile

        channels, offset = [], 0
        for _ in range(n_channels):
            (length,) = _FLAC_LENGTH.unpack_from(body, offset)
            offset += _FLAC_LENGTH.size
            stream = io.BytesIO(body[offset : offset + length])
            channels.append(soundfile.read(stream, dtype="int16", always_2d=True)[0][:, 0])
            offset += length
        return np.concatenate(channels)


# ---------------------------------------------------------------------- evaluation
def _entropy_bits(codes: np.ndarray) -> float:
    """Empirical entropy in bits of the values in ``codes`` (any shape)."""
    counts = np.unique(codes, return_counts=True)[1]
    p = counts / counts.sum()
    return max(0.0, float(-(p * np.log2(p)).sum()))


def _metrics_row(report: Any) -> dict[str, float]:
    overall = dict(report.overall)
    bands = [v for k, v in overall.items() if k.startswith("err_")]
    overall["band_error"] = float(np.nanmean(bands)) if bands else float("nan")
    return overall


@verbose
def lossless_quality(
    raw: mne.io.BaseRaw,
    methods: Sequence[str] = LOSSLESS,
    *,
    resolution: float | np.ndarray = INT16_RESOLUTION,
    offset: float | np.ndarray = 0.0,
    codec_sfreq: float = 512.0,
    clip: float = 200e-6,
    verbose: bool | str | int | None = None,
) -> pd.DataFrame:
    """Size and fidelity of lossless coding of the EEG channels of a recording.

    The EEG channels are quantised to 16-bit samples at their own rate
    (:func:`to_int16`), compressed by each :class:`LosslessCoder`, decompressed, mapped
    back to Volts and compared with the original by
    :func:`~mne_dac.signal.metrics.fidelity_report`: what remains is the quantisation error
    alone (none with the calibration of the EDF file the recording was read from).

    Parameters
    ----------
    raw : mne.io.Raw
        The recording, in Volts. Only its EEG channels are used.
    methods : sequence of str
        Lossless coders: ``"flac"``, ``"gzip"``, ``"zstd"``.
    resolution, offset : float | array, shape (n_eeg_channels,)
        Quantisation step and offset in Volts (see :func:`to_int16`).
    codec_sfreq, clip : float
        Codec rate and clip level of the spectrogram loss (see
        :func:`~mne_dac.signal.metrics.fidelity_report`).
    %(verbose)s

    Returns
    -------
    results : pandas.DataFrame
        One row per method, with the columns of :func:`rate_quality` (``n_codebooks``
        0, NaN target) and ``n_clipped``, the samples clipped to the int16 range.
    """
    import mne
    import pandas as pd

    from mne_dac.signal.metrics import fidelity_report

    for method in methods:
        if method not in LOSSLESS:
            raise ValueError(f"Unknown lossless baseline {method!r}; choose among {list(LOSSLESS)}")
    raw = raw.copy().pick("eeg")
    sfreq, n_channels = raw.info["sfreq"], len(raw.ch_names)
    samples, n_clipped = to_int16(raw.get_data(), resolution, offset)
    if n_clipped.any():
        logger.info("%d sample(s) clipped to the int16 range.", n_clipped.sum())
    scale, zero = (np.broadcast_to(np.asarray(v, dtype=float), (n_channels,))[:, None] for v in (resolution, offset))
    rows = []
    for method in methods:
        coder = LosslessCoder(method)
        coded = coder.encode(samples, sfreq)
        recon = mne.io.RawArray(coder.decode(coded) * scale + zero, raw.info, first_samp=raw.first_samp, verbose=False)
        report = fidelity_report(raw, recon, codec_sfreq=codec_sfreq, clip=clip, verbose=False)
        rows.append(
            {
                "method": method,
                "n_codebooks": 0,
                "target_bits_per_second": float("nan"),
                "bits_per_second": coded.bits_per_second,
                "n_bits": coded.n_bits,
                "compression_ratio": coded.compression_ratio,
                **_metrics_row(report),
                "n_clipped": int(n_clipped.sum()),
            }
        )
        logger.info("%s (lossless): %s", method, rows[-1])
    return pd.DataFrame(rows)


@verbose
@fill_doc
def rate_quality(
    raw: mne.io.BaseRaw,
    codec: Any = "default",
    depths: Sequence[int] | None = None,
    *,
    baselines: Sequence[str] = ("dct", "wavelet"),
    lossless: Sequence[str] = (),
    resolution: float | np.ndarray = INT16_RESOLUTION,
    offset: float | np.ndarray = 0.0,
    groups: Any = None,
    grouping: str | None = None,
    label: str = "codec",
    preprocessing_row: bool = True,
    verbose: bool | str | int | None = None,
) -> pd.DataFrame:
    """Fidelity of the codec at several depths and of the baselines at the same bitrates.

    The EEG channels of ``raw`` are tokenized once with all codebooks, then decoded with
    the first ``k`` codebooks for each depth ``k``. Each baseline codes the same
    codec-domain signals (:func:`~mne_dac.signal.preprocessing.to_codec_domain` with the
    codec's preprocessing) at the codec's bits per second per channel for that depth;
    its output is mapped back to Volts with
    :func:`~mne_dac.signal.preprocessing.from_codec_domain`. Lossless baselines code the EEG
    channels at their own rate as 16-bit samples (:func:`to_int16`, then
    :class:`LosslessCoder`). All reconstructions are compared with the original by
    :func:`~mne_dac.signal.metrics.fidelity_report`.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording, in Volts. Only its EEG channels are used.
    codec : str | path-like | DACCodec
        The codec (see :func:`~mne_dac.load_codec`).
    depths : sequence of int | None
        Numbers of codebooks; ``None`` for ``1 … codec.n_codebooks``.
    baselines : sequence of str
        Baselines to run at the same bitrates (``"dct"``, ``"wavelet"``); empty for none.
    lossless : sequence of str
        Lossless baselines (``"flac"``, ``"gzip"``, ``"zstd"``), one row each (see
        :func:`lossless_quality`).
    resolution, offset : float | array, shape (n_eeg_channels,)
        Quantisation step and offset in Volts of the lossless baselines (see
        :func:`to_int16`).
    %(groups)s
    %(grouping)s
    label : str
        Name of the codec in the ``method`` column.
    preprocessing_row : bool
        Add a row ``method="preprocessing"`` (``n_codebooks=0``, NaN bitrates): the
        preprocessing alone, without coding, mapped back to Volts. It shows what every
        method loses before coding (high-passed drifts and filter edge effects,
        clipped samples), which bounds the PRD and SNR of all in practice.
    %(verbose)s

    Returns
    -------
    results : pandas.DataFrame
        One row per method and depth: ``method``, ``n_codebooks``,
        ``target_bits_per_second`` (the codec's bitrate per channel at that depth),
        ``bits_per_second`` (the rate actually spent, per channel), ``n_bits`` (total
        size), ``compression_ratio`` (16-bit samples at the recording's rate over
        ``n_bits``), ``spectrogram_loss``, ``prd``, ``snr_db``, ``band_error`` (mean
        relative band-power error over the bands) and ``err_<band>``. Codec rows also
        have ``entropy_bits_per_second``: the empirical entropy of the codes of each
        codebook used, summed, per second and channel (what an ideal entropy coder of
        the tokens, adapted to this recording, would spend; 0 if every code is the
        same). Lossless rows have ``n_codebooks=0`` and a NaN target.

    See Also
    --------
    lossless_quality, plot_rate_quality
    """
    groups = resolve_groups(groups, grouping)
    import mne
    import pandas as pd

    from mne_dac.codecs.loading import load_codec
    from mne_dac.io.raw import reconstruct_raw, tokenize_raw
    from mne_dac.signal.metrics import fidelity_report
    from mne_dac.signal.preprocessing import from_codec_domain, to_codec_domain

    codec = load_codec(codec)
    depths = list(range(1, codec.n_codebooks + 1)) if depths is None else [int(k) for k in depths]
    for method in baselines:
        if method not in BASELINES:
            raise ValueError(f"Unknown baseline {method!r}; choose among {list(BASELINES)}")
    for method in lossless:
        if method not in LOSSLESS:
            raise ValueError(f"Unknown lossless baseline {method!r}; choose among {list(LOSSLESS)}")
    raw = raw.copy().pick("eeg")
    sfreq, n_times, settings = raw.info["sfreq"], raw.n_times, codec.preprocessing
    n_channels = len(raw.ch_names)
    report_kw = dict(codec_sfreq=codec.sfreq, clip=settings.clip, verbose=False)

    def coded_row(method: str, n_codebooks: int, target: float, n_bits: int, rate: float) -> dict[str, Any]:
        return {
            "method": method,
            "n_codebooks": n_codebooks,
            "target_bits_per_second": target,
            "bits_per_second": rate,
            "n_bits": n_bits,
            "compression_ratio": 16 * sfreq / rate,
        }

    rows = []
    tokens = tokenize_raw(raw, codec, n_codebooks=max(depths), **group_kwargs(groups), verbose=False)
    n_streams, n_frames = tokens.codes.shape[0], tokens.codes.shape[-1]
    entropies = np.cumsum([_entropy_bits(tokens.codes[:, j]) for j in range(tokens.codes.shape[1])])
    for k in depths:
        recon = reconstruct_raw(tokens, codec, n_codebooks=k, verbose=False)
        rate = codec.bits_per_second(k) * n_streams / n_channels  # DAC-MC groups share their streams
        row = coded_row(label, k, rate, k * codec.bits_per_code * n_frames * n_streams, rate)
        row["entropy_bits_per_second"] = entropies[k - 1] * codec.frame_rate * n_streams / n_channels
        rows.append(dict(row, **_metrics_row(fidelity_report(raw, recon, **report_kw))))
        logger.info("%s, %d codebook(s): %s", label, k, rows[-1])

    if lossless:
        lossless_rows = lossless_quality(
            raw, lossless, resolution=resolution, offset=offset, codec_sfreq=codec.sfreq, clip=settings.clip
        )
        rows.extend(lossless_rows.to_dict(orient="records"))

    if not (baselines or preprocessing_row):
        return pd.DataFrame(rows)

    def score(codec_domain: np.ndarray) -> dict[str, float]:
        volts = from_codec_domain(codec_domain, codec.sfreq, sfreq, n_times, settings)
        recon = mne.io.RawArray(volts, raw.info, first_samp=raw.first_samp, verbose=False)
        return _metrics_row(fidelity_report(raw, recon, **report_kw))

    for method in baselines:
        for k in depths:
            target = codec.bits_per_second(k) * n_streams / n_channels
            recon, coded = make_coder(method, target, codec.sfreq).code_raw(raw, settings)
            row = coded_row(method, k, target, coded.n_bits, coded.bits_per_second)
            rows.append(dict(row, **_metrics_row(fidelity_report(raw, recon, **report_kw))))
            logger.info("%s at %g bits/s: %s", method, target, rows[-1])
    if preprocessing_row:
        x = to_codec_domain(raw.get_data(), sfreq, codec.sfreq, settings, raw.ch_names).data
        nan = float("nan")
        rows.append(
            dict(
                method="preprocessing",
                n_codebooks=0,
                target_bits_per_second=nan,
                bits_per_second=nan,
                n_bits=nan,
                compression_ratio=nan,
                **score(x),
            )
        )
    return pd.DataFrame(rows)


def plot_rate_quality(
    results: pd.DataFrame,
    metrics: Sequence[str] = ("spectrogram_loss", "prd"),
    *,
    xscale: str = "linear",
    show: bool = True,
) -> Figure:
    """Plot quality against bits per second, one line per method.

    Parameters
    ----------
    results : pandas.DataFrame
        Output of :func:`rate_quality` (or its average over recordings): columns
        ``method``, ``bits_per_second`` and the metrics. The ``"preprocessing"`` rows
        are drawn as a horizontal dashed line; methods with a single row (the lossless
        baselines) as a star.
    metrics : sequence of str
        Columns to plot, one panel each.
    xscale : str
        Scale of the bitrate axis, ``"linear"`` or ``"log"`` (to show lossless rates of
        thousands of bits per second beside the codec's tens).
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure.
    """
    import matplotlib.pyplot as plt
    from mne.utils import _check_option

    _check_option("xscale", xscale, ("linear", "log"))
    labels = {
        "spectrogram_loss": "Spectrogram loss",
        "prd": "PRD (%)",
        "snr_db": "SNR (dB)",
        "band_error": "Band-power error",
    }
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.5 * len(metrics), 3.6), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for method, group in results.groupby("method", sort=False):
            if method == "preprocessing":  # no bitrate: the floor of all methods
                ax.axhline(group[metric].mean(), color="0.5", ls="--", lw=1, label="preprocessing only")
                continue
            group = group.sort_values("bits_per_second")
            style = {"marker": "*", "ms": 10, "ls": "none"} if len(group) == 1 else {"marker": "o", "ms": 4}
            ax.plot(group["bits_per_second"], group[metric], label=method, **style)
        ax.set(xlabel="Bits per second per channel", ylabel=labels.get(metric, metric), xscale=xscale)
        ax.grid(alpha=0.3)
    axes[0, 0].legend()
    if show:
        plt.show()
    return fig
