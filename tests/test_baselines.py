"""Transform-coding baselines: decodable payloads, honest bitrates, rate–quality."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac.baselines import (
    BASELINES,
    CodedSignal,
    DCTCoder,
    WaveletCoder,
    make_coder,
    plot_rate_quality,
    rate_quality,
)
from mne_dac.metrics import prd, snr, spectrogram_loss
from mne_dac.preprocessing import PreprocessingSettings, to_codec_domain

pytest.importorskip("pywt")

SFREQ = 512.0
METHODS = sorted(BASELINES)


@pytest.fixture(scope="module")
def eeg_codec_domain() -> np.ndarray:
    """10 s of real EEG (eegmat subject 0, rest, 19 channels) at 512 Hz in [-1, 1]."""
    from mne_dac.datasets import read_excerpt

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
