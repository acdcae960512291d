"""Transform-coding baselines: decodable payloads, honest bitrates, rate–quality."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac.evaluation.baselines import (
    BASELINES,
    INT16_RESOLUTION,
    LOSSLESS,
    LosslessCoder,
    make_coder,
    plot_rate_quality,
    rate_quality,
    to_int16,
)
from mne_dac.signal.metrics import prd, snr, spectrogram_loss
from mne_dac.signal.preprocessing import PreprocessingSettings, to_codec_domain
from mne_dac.signal.transform_coding import CodedSignal, DCTCoder, WaveletCoder

pytest.importorskip("pywt")

SFREQ = 512.0
METHODS = sorted(BASELINES)


@pytest.fixture(scope="module")
def eeg_codec_domain() -> np.ndarray:
    """10 s of real EEG (eegmat subject 0, rest, 19 channels) at 512 Hz in [-1, 1]."""
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest", verbose="error").pick("eeg").crop(0, 10, include_tmax=False)
    return to_codec_domain(raw.get_data(), raw.info["sfreq"], SFREQ, PreprocessingSettings()).data


@pytest.mark.parametrize("method", METHODS)
def test_round_trip_shapes(method, rng):
    """Any length (not a multiple of the block) and any number of channels comes back."""
    x = rng.normal(scale=0.1, size=(3, 1234)).astype(np.float32)
    coder = make_coder(method, 2000, SFREQ)
    coded = coder.encode(x)
    assert isinstance(coded, CodedSignal)
    assert (coded.n_channels, coded.n_samples) == x.shape
    assert coded.n_bits == 8 * len(coded.payload)
    x_hat, n_bits = coder.code(x)
    assert x_hat.shape == x.shape and x_hat.dtype == np.float32
    assert n_bits == coded.n_bits
    assert prd(x.ravel(), x_hat.ravel()) < 50  # many bits: a fair reconstruction


@pytest.mark.parametrize("method", METHODS)
def test_bitrate_honest_and_close(method, eeg_codec_domain):
    """Never above the target, within 10 % of it, and n_bits is the payload's size."""
    x = eeg_codec_domain
    duration = x.shape[1] / SFREQ
    for target in (30, 90, 300):
        coded = make_coder(method, target, SFREQ).encode(x)
        rate = coded.n_bits / (x.shape[0] * duration)
        assert rate == pytest.approx(coded.bits_per_second)
        assert 0.9 * target <= rate <= target, (target, rate)


@pytest.mark.parametrize("method", METHODS)
def test_quality_improves_with_bitrate(method, eeg_codec_domain):
    x = eeg_codec_domain
    losses, snrs = [], []
    for target in (30, 90, 300):
        x_hat, _ = make_coder(method, target, SFREQ).code(x)
        losses.append(spectrogram_loss(x_hat, x, SFREQ))
        snrs.append(snr(x.ravel(), x_hat.ravel()))
    assert losses[0] > losses[1] > losses[2]
    assert snrs[0] < snrs[1] < snrs[2]
    assert snrs[2] > 10  # 300 bits/s per channel: a decent reconstruction


@pytest.mark.parametrize("method", METHODS)
def test_decode_from_payload_only(method, eeg_codec_domain):
    """A fresh coder rebuilds the signal from the bytes alone, whatever its budget."""
    x = eeg_codec_domain[:4, :3000]
    coded = make_coder(method, 200, SFREQ).encode(x)
    payload = bytes(coded.payload)
    del coded
    fresh = make_coder(method, 1, SFREQ)  # the budget only matters for encoding
    x_hat = fresh.decode(payload)
    assert x_hat.shape == x.shape
    assert np.array_equal(x_hat, make_coder(method, 200, SFREQ).code(x)[0])
    with pytest.raises(ValueError, match="Corrupt|shorter"):
        fresh.decode(payload[:-5])
    with pytest.raises(ValueError, match="shorter"):
        fresh.decode(payload[:5])


def test_edge_cases():
    zeros = np.zeros((2, 512))
    x_hat, n_bits = DCTCoder(500).code(zeros)
    assert np.array_equal(x_hat, zeros) and n_bits <= 500 * 2
    with pytest.raises(ValueError, match="too low"):
        DCTCoder(1).encode(np.ones((1, 100)))  # 100 samples: a budget of 0.2 bits
    with pytest.raises(ValueError, match="shape"):
        DCTCoder(10).encode(np.zeros(100))
    with pytest.raises(ValueError, match="NaN"):
        DCTCoder(10).encode(np.full((1, 100), np.nan))
    with pytest.raises(ValueError, match="positive"):
        DCTCoder(0)
    with pytest.raises(ValueError, match="multiple"):
        WaveletCoder(10, level=5, block=100)
    with pytest.raises(ValueError, match="orthogonal"):
        WaveletCoder(10, wavelet="bior2.2")
    with pytest.raises(ValueError, match="method"):
        make_coder("mp3", 10)
    # a generous budget on a short signal: the finest step, nearly lossless
    x = np.random.default_rng(1).uniform(-1, 1, (1, 64))
    x_hat, _ = DCTCoder(1e7, block=64).code(x)
    assert np.abs(x_hat - x).max() < 1e-5


def test_rate_quality(excerpt_raw):
    """The codec at each depth and the baselines at the same bitrates, same metrics."""
    import matplotlib.pyplot as plt
    from conftest import make_tiny_codec

    codec = make_tiny_codec()  # 4 codebooks of 256: 8 bits/s per codebook
    raw = excerpt_raw.copy().crop(0, 10, include_tmax=False)
    df = rate_quality(raw, codec, depths=(2, 4), label="tiny", verbose="error")
    methods = ["tiny", "tiny", "dct", "dct", "wavelet", "wavelet", "preprocessing"]
    assert list(df["method"]) == methods
    assert list(df["n_codebooks"]) == [2, 4, 2, 4, 2, 4, 0]
    assert df.loc[df.method == "tiny", "bits_per_second"].tolist() == [16.0, 32.0]
    coded = df[df.method != "preprocessing"]
    assert (coded["bits_per_second"] <= coded["target_bits_per_second"] + 1e-9).all()
    assert (coded["bits_per_second"] >= 0.85 * coded["target_bits_per_second"]).all()
    for col in ("spectrogram_loss", "prd", "snr_db", "band_error", "err_alpha"):
        assert np.isfinite(df[col]).all(), col
    base = coded[coded.method != "tiny"].set_index(["method", "n_codebooks"])
    assert (base.loc[(slice(None), 4), "prd"].values < base.loc[(slice(None), 2), "prd"].values).all()
    floor = df[df.method == "preprocessing"].iloc[0]  # no coding: better than any method
    assert (floor["prd"] < coded["prd"]).all()
    assert (floor["spectrogram_loss"] < coded["spectrogram_loss"]).all()
    fig = plot_rate_quality(df, show=False)
    assert len(fig.axes) == 2 and len(fig.axes[0].lines) == 4  # 3 methods + the floor
    plt.close(fig)
    only_codec = rate_quality(raw, codec, depths=(1,), baselines=(), preprocessing_row=False)
    assert list(only_codec["method"]) == ["codec"]
    with pytest.raises(ValueError, match="baseline"):
        rate_quality(raw, codec, depths=(1,), baselines=("mp3",))


# ---------------------------------------------------------------------- lossless baselines
@pytest.fixture(scope="module")
def eeg_int16() -> np.ndarray:
    """30 s of real EEG (eegmat subject 0, rest, 19 channels, 500 Hz) as 0.1 µV int16 samples."""
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest", verbose="error").pick("eeg").crop(0, 30, include_tmax=False)
    samples, n_clipped = to_int16(raw.get_data())
    assert not n_clipped.any()
    return samples


def test_to_int16():
    x = np.array([[0.0, 0.26e-7, -0.26e-7, 1.04e-7, 5e-3, -5e-3], [0, 1e-6, 2e-6, 3e-6, 4e-6, 5e-6]])
    samples, n_clipped = to_int16(x)
    assert samples.dtype == np.int16
    assert samples[0].tolist() == [0, 0, 0, 1, 32767, -32768]  # rounded, clipped to int16
    assert n_clipped.tolist() == [2, 0]
    assert np.abs(samples[1] * INT16_RESOLUTION - x[1]).max() <= INT16_RESOLUTION / 2
    # an EDF's calibration per channel: samples = (Volts - offset) / resolution
    per_channel, _ = to_int16(x, resolution=[1e-3, 1e-6], offset=[0, 2e-6])
    assert per_channel[1].tolist() == [-2, -1, 0, 1, 2, 3]
    with pytest.raises(ValueError, match="positive"):
        to_int16(x, resolution=0)
    with pytest.raises(ValueError, match="shape"):
        to_int16(np.zeros(5))
    with pytest.raises(ValueError, match="NaN"):
        to_int16(np.full((1, 3), np.nan))


@pytest.mark.parametrize("method", LOSSLESS)
def test_lossless_round_trip_exact(method, eeg_int16):
    """Every sample comes back exactly, from the payload alone, in fewer bits than 16-bit samples."""
    if method == "zstd":
        pytest.importorskip("zstandard")
    coder = LosslessCoder(method)
    coded = coder.encode(eeg_int16, sfreq=500.0)
    assert (coded.n_channels, coded.n_samples) == eeg_int16.shape
    assert coded.n_bits == 8 * len(coded.payload)
    assert coded.bits_per_second == pytest.approx(coded.n_bits / (19 * 30))
    assert coded.compression_ratio == pytest.approx(16 * 500 / coded.bits_per_second)
    assert coded.compression_ratio > 1.2, coded.compression_ratio  # real EEG is compressible
    decoded = LosslessCoder(method).decode(bytes(coded.payload))
    assert decoded.dtype == np.int16
    assert np.array_equal(decoded, eeg_int16)
    with pytest.raises(ValueError, match="Corrupt|shorter"):
        coder.decode(coded.payload[:-7])
    with pytest.raises(ValueError, match="shorter"):
        coder.decode(coded.payload[:3])


def test_lossless_flac_best_and_edge_cases(eeg_int16):
    """FLAC's linear prediction beats general-purpose compressors on EEG; odd shapes round-trip."""
    sizes = {method: LosslessCoder(method).encode(eeg_int16[:4], 500.0).n_bits for method in ("flac", "gzip")}
    assert sizes["flac"] < sizes["gzip"]
    extreme = np.array([[np.iinfo(np.int16).min, -1, 0, 1, np.iinfo(np.int16).max]], dtype=np.int16)
    for method in ("flac", "gzip"):
        coder = LosslessCoder(method, level=1 if method == "gzip" else 0.5)
        assert np.array_equal(coder.decode(coder.encode(extreme, 256.0)), extreme)
    with pytest.raises(ValueError, match="method"):
        LosslessCoder("mp3")
    with pytest.raises(ValueError, match="int16"):
        LosslessCoder("gzip").encode(eeg_int16.astype(np.int32), 500.0)
    with pytest.raises(ValueError, match="positive"):
        LosslessCoder("gzip").encode(eeg_int16, 0)


@pytest.fixture
def short_raw(excerpt_raw):
    """6 s of 8 EEG channels of the excerpt (and its non-EEG channels)."""
    eeg = excerpt_raw.copy().pick("eeg").ch_names
    return excerpt_raw.copy().drop_channels(eeg[8:]).crop(0, 6, include_tmax=False)


def test_rate_quality_lossless(short_raw):
    """Lossless rows at the recording's own rate, nearly exact at 0.1 µV, beside the codec's."""
    from conftest import make_tiny_codec

    from mne_dac.evaluation.baselines import lossless_quality

    df = rate_quality(short_raw, make_tiny_codec(), depths=(2,), baselines=(), lossless=("flac", "gzip"))
    assert list(df["method"]) == ["codec", "flac", "gzip", "preprocessing"]
    codec_row, flac, gzip_row = (df.iloc[i] for i in range(3))
    assert codec_row["compression_ratio"] == pytest.approx(16 * 500 / 16)
    assert 0 <= codec_row["entropy_bits_per_second"] <= codec_row["bits_per_second"]  # 2 codebooks of 8 bits
    assert flac["n_codebooks"] == 0 and np.isnan(flac["target_bits_per_second"])
    assert flac["compression_ratio"] > gzip_row["compression_ratio"] > 1
    assert flac["prd"] < 0.5 and flac["snr_db"] > 45  # 0.1 µV steps: nearly the original
    finer = lossless_quality(short_raw, ("gzip",), resolution=1e-8)  # ±327 µV: nothing clipped
    assert finer["n_clipped"].iloc[0] == 0 and finer["prd"].iloc[0] < 0.05
    assert finer["compression_ratio"].iloc[0] < gzip_row["compression_ratio"]  # finer steps cost more
    with pytest.raises(ValueError, match="lossless"):
        rate_quality(short_raw, make_tiny_codec(), depths=(1,), lossless=("mp3",))


def test_rate_quality_groups(short_raw):
    """DAC-MC group streams are shared by their channels; baselines get the same bits/s per channel."""
    from conftest import make_tiny_codec

    from mne_dac.codecs.mc_codec import DACMCCodec

    mc = DACMCCodec.from_codec(make_tiny_codec(), layout="group", group_size=2)
    df = rate_quality(short_raw, mc, depths=(4,), baselines=("dct",), grouping="pivot", preprocessing_row=False)
    n_groups = mc.channel_groups(short_raw.copy().pick("eeg").ch_names, "pivot").n_groups
    rate = 32 * n_groups / 8  # 32 bits/s per group stream, shared by 8 channels
    assert n_groups < 8
    assert df["target_bits_per_second"].tolist() == pytest.approx([rate, rate])
    assert df["bits_per_second"].iloc[0] == pytest.approx(rate)
    assert 0.85 * rate <= df["bits_per_second"].iloc[1] <= rate


def test_rate_quality_channel_levels(short_raw):
    """preprocessing with a clip level per channel: the tokens code at those levels and the levels' bits count in
    the codec's rate and size (the baselines at that rate too)."""
    from conftest import make_tiny_codec

    from mne_dac import preprocessing_at_level
    from mne_dac.evaluation.baselines import LEVEL_BITS

    codec = make_tiny_codec()
    raw = short_raw.copy().pick("eeg")
    levels = preprocessing_at_level(raw, codec, per_channel=True)
    plain = rate_quality(raw, codec, depths=(2,), baselines=("dct",), preprocessing_row=False)
    leveled = rate_quality(raw, codec, depths=(2,), baselines=("dct",), preprocessing=levels, preprocessing_row=False)
    n_channels, duration = len(raw.ch_names), raw.n_times / raw.info["sfreq"]
    extra = leveled.set_index("method")["target_bits_per_second"] - plain.set_index("method")["target_bits_per_second"]
    np.testing.assert_allclose(extra, LEVEL_BITS / duration)
    codec_rows = [df[df.method == "codec"].iloc[0] for df in (plain, leveled)]
    assert codec_rows[1]["n_bits"] - codec_rows[0]["n_bits"] == LEVEL_BITS * n_channels
    assert codec_rows[1]["prd"] != codec_rows[0]["prd"]
