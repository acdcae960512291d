"""Classic baselines, with every bit counted, and rate–quality curves.

The transform coders of :mod:`mne_dac.signal.transform_coding` (block DCT, wavelets) code the
same codec-domain signals as the codec, so that they see exactly what the codec sees and are
compared with it at the same number of bits per second per channel.

Lossless baselines (:class:`LosslessCoder`) code the recording itself, at its own rate
and without the codec's preprocessing, as 16-bit samples: :func:`to_int16` quantises
Volts with a fixed step (:data:`INT16_RESOLUTION`, 0.1 µV), then FLAC, gzip or zstd
compress the samples exactly. They say what storing the recording without loss costs.
"""

from __future__ import annotations

import gzip
import io
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from mne.utils import logger, verbose

from mne_dac.signal.groups import group_kwargs, resolve_groups
from mne_dac.signal.transform_coding import CodedSignal, CrossChannelDCTCoder, DCTCoder, TransformCoder, WaveletCoder
from mne_dac.utils._docs import fill_doc

if TYPE_CHECKING:  # pragma: no cover
    import mne
    import pandas as pd
    from matplotlib.figure import Figure

    from mne_dac.signal.preprocessing import PreprocessingSettings


__all__ = [
    "BASELINES",
    "INT16_RESOLUTION",
    "LEVEL_BITS",
    "LOSSLESS",
    "LosslessCoder",
    "lossless_quality",
    "make_coder",
    "plot_rate_quality",
    "rate_quality",
    "to_int16",
]

#: Baseline coders by name.
BASELINES: dict[str, type[TransformCoder]] = {"dct": DCTCoder, "wavelet": WaveletCoder, "klt-dct": CrossChannelDCTCoder}


def make_coder(method: str, bits_per_second: float, sfreq: float = 512.0, **kwargs: Any) -> TransformCoder:
    """Build a baseline coder by name.

    Parameters
    ----------
    method : str
        ``"dct"``, ``"wavelet"`` or ``"klt-dct"`` (see :data:`BASELINES`).
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


#: Bits that :func:`rate_quality` counts for a channel's own clip level (a level to three significant digits).
LEVEL_BITS = 16


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
    restore_bands: bool = True,
    preprocessing: PreprocessingSettings | None = None,
    preprocessing_row: bool = True,
    verbose: bool | str | int | None = None,
) -> pd.DataFrame:
    """Fidelity of the codec at several depths and of the baselines at the same bitrates.

    The EEG channels of ``raw`` are coded at each depth ``k`` as ``tokenize_raw(...,
    n_codebooks=k, restore_bands=restore_bands)`` codes them: tokenized once with the most
    codebooks and decoded with the first ``k``, but at the depths below the codec's
    :attr:`~mne_dac.DACCodec.nested_depth` (a beam search's), whose codes are not the first
    ones of a deeper code, tokenized again. The bits of the tokens' band gains count in the
    codec's rate. Each baseline codes the same
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
        Baselines to run at the same bitrates (``"dct"``, ``"wavelet"``, ``"klt-dct"``); empty
        for none.
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
    restore_bands : bool
        Code with band gains (:attr:`~mne_dac.EEGTokens.band_gains`, the default of tokens and
        files); ``False``: the codec's decode alone.
    preprocessing : PreprocessingSettings | None
        The tokens' preprocessing (``None``: the codec's, :func:`~mne_dac.tokenize_raw`); with a clip level per channel
        (:func:`~mne_dac.preprocessing_at_level`), :data:`LEVEL_BITS` per channel count in the codec's
        rate. The baselines code the signals of the codec's preprocessing.
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
        ``target_bits_per_second`` (the codec's bitrate per channel at that depth, band gains included),
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
    from mne_dac.io.raw import reconstruct_raw, tokenize_at_depths, tokens_preprocessing
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
    preprocessing = preprocessing or tokens_preprocessing(raw, codec)
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
    coded = tokenize_at_depths(raw, codec, depths, **group_kwargs(groups), restore_bands=restore_bands,
                               preprocessing=preprocessing, verbose=False)  # fmt: skip
    n_streams = coded[depths[0]].codes.shape[0]
    level_bits = LEVEL_BITS * n_channels if preprocessing.per_channel else 0
    targets = {}  # the bits/s per channel of each depth: its codes (shared by a DAC-MC group), band gains, levels
    for k, tokens in coded.items():
        recon = reconstruct_raw(tokens, codec, n_codebooks=k, verbose=False)
        levels = level_bits / tokens.duration / n_channels
        targets[k] = tokens.bits_per_second + tokens.band_gain_bits_per_second + levels  # tokens' codes are k deep
        row = coded_row(label, k, targets[k], tokens.n_bits + tokens.band_gain_bits + level_bits, targets[k])
        entropy = sum(_entropy_bits(tokens.codes[:, j]) for j in range(k))
        row["entropy_bits_per_second"] = entropy * codec.frame_rate * n_streams / n_channels
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
            target = targets[k]
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
