"""Tests of mne_dac.signal.metrics."""

import subprocess
import sys
import warnings

import mne
import numpy as np
import pytest

from mne_dac.signal.metrics import (
    BANDS,
    MEL_LOSS_CONFIG,
    FidelityReport,
    band_power_error,
    fidelity_report,
    mel_loss_module,
    prd,
    snr,
    spectrogram_loss,
)

SFREQ = 250.0


def synthetic_eeg(n_channels: int, n_times: int, sfreq: float, seed: int = 0) -> np.ndarray:
    """EEG-like signals in Volts: alpha/theta/beta sinusoids plus pink noise (~20 µV)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_times) / sfreq
    freqs = np.fft.rfftfreq(n_times, 1 / sfreq)
    spectrum = rng.standard_normal((n_channels, freqs.size)) + 1j * rng.standard_normal((n_channels, freqs.size))
    spectrum /= np.sqrt(np.maximum(freqs, 1.0))  # 1/f power
    pink = np.fft.irfft(spectrum, n=n_times)
    pink /= pink.std(axis=1, keepdims=True)
    rhythms = sum(
        amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (n_channels, 1)))
        for f, amp in ((6.0, 0.5), (10.0, 1.0), (20.0, 0.3))
    )
    return 10e-6 * (pink + rhythms)


@pytest.fixture(scope="module")
def eeg() -> np.ndarray:
    return synthetic_eeg(4, int(10 * SFREQ), SFREQ)


@pytest.fixture(scope="module")
def codec_signals() -> tuple[np.ndarray, np.ndarray]:
    """Codec-domain signals at 512 Hz in [-1, 1] and the noise added to make estimates."""
    x = synthetic_eeg(3, 4096, 512.0, seed=1) / 100e-6
    noise = np.random.default_rng(2).standard_normal(x.shape) * x.std()
    return x, noise


def test_import_is_light():
    code = "import sys, mne_dac.signal.metrics; print('torch' in sys.modules or 'dac' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_spectrogram_loss_identical_and_monotonic(codec_signals):
    x, noise = codec_signals
    assert spectrogram_loss(x, x, 512.0) == 0.0
    low = spectrogram_loss(x + 0.05 * noise, x, 512.0)
    high = spectrogram_loss(x + 0.5 * noise, x, 512.0)
    assert 0 < low < high


def test_spectrogram_loss_matches_dac(codec_signals):
    import torch
    from audiotools import AudioSignal
    from dac.nn.loss import MelSpectrogramLoss

    x, noise = codec_signals
    y = x + 0.1 * noise
    reference = MelSpectrogramLoss(
        n_mels=[5, 10, 20, 40, 80, 160, 320],
        window_lengths=[32, 64, 128, 256, 512, 1024, 2048],
        mel_fmin=[0.0] * 7,
        mel_fmax=[None] * 7,
        pow=1.0,
        clamp_eps=1e-5,
        mag_weight=0.0,
        log_weight=1.0,
    )

    def signal(a):
        return AudioSignal(torch.from_numpy(a[:, None].astype(np.float32)), sample_rate=512.0)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(reference(signal(y), signal(x)))
        configured = float(mel_loss_module()(signal(y), signal(x)))
    assert configured == pytest.approx(expected, rel=1e-6)
    assert spectrogram_loss(y, x, 512.0) == pytest.approx(expected, rel=1e-5)
    # torch tensors and 1D input
    per_channel = spectrogram_loss(torch.from_numpy(y), x, 512.0, per_channel=True)
    assert per_channel.shape == (3,)
    assert per_channel.mean() == pytest.approx(expected, rel=1e-5)
    assert spectrogram_loss(y[1], x[1], 512.0) == pytest.approx(per_channel[1], rel=1e-5)
    assert len(MEL_LOSS_CONFIG["n_mels"]) == len(MEL_LOSS_CONFIG["window_lengths"]) == 7


def test_spectrogram_loss_no_mel_warning(codec_signals):
    x, noise = codec_signals
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "Empty filters")
        warnings.filterwarnings("error", "stft_data changed shape")
        spectrogram_loss(x + noise, x, 300.0)  # a new rate: mel filters not cached


def test_spectrogram_loss_errors(codec_signals):
    x, _ = codec_signals
    with pytest.raises(ValueError, match="same shape"):
        spectrogram_loss(x, x[:2], 512.0)
    with pytest.raises(ValueError, match="NaN"):
        spectrogram_loss(np.where(x > 0.5, np.nan, x), x, 512.0)
    with pytest.raises(ValueError, match="at least 1025 samples"):
        spectrogram_loss(x[:, :1000], x[:, :1000], 512.0)


def test_prd_snr(eeg):
    assert np.all(prd(eeg, eeg) == 0)
    assert np.all(np.isinf(snr(eeg, eeg)))
    noise = 0.1 * eeg.std(axis=1, keepdims=True) * np.random.default_rng(3).standard_normal(eeg.shape)
    p, s = prd(eeg, eeg + noise), snr(eeg, eeg + noise)
    assert p.shape == s.shape == (4,)
    np.testing.assert_allclose(p, 10, rtol=0.05)
    np.testing.assert_allclose(s, -20 * np.log10(p / 100))  # SNR = -20 log10(PRD / 100)
    assert np.isscalar(prd(eeg[0], eeg[0] + noise[0]))
    with pytest.raises(ValueError, match="shapes differ"):
        prd(eeg, eeg[:, :-1])
    with pytest.raises(ValueError, match="NaN"):
        snr(eeg, np.full_like(eeg, np.nan))


def test_band_power_error(eeg):
    errors = band_power_error(eeg, 2 * eeg, SFREQ)
    assert list(errors) == list(BANDS)
    for err in errors.values():
        assert err.shape == (4,)
        np.testing.assert_allclose(err, 3.0)
    assert all(np.all(e == 0) for e in band_power_error(eeg, eeg, SFREQ).values())
    low_rate = band_power_error(eeg[:, ::4], eeg[:, ::4], SFREQ / 4)  # Nyquist 31.25 Hz
    assert "gamma" not in low_rate and "beta" in low_rate


def test_fidelity_report_raw(eeg):
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz"], SFREQ, "eeg")
    rng = np.random.default_rng(4)
    original = mne.io.RawArray(eeg, info, verbose=False)
    good = mne.io.RawArray(eeg + 1e-6 * rng.standard_normal(eeg.shape), info, verbose=False)
    report = fidelity_report(original, good, verbose=False)
    assert isinstance(report, FidelityReport)
    expected = ["spectrogram_loss", "prd", "snr_db", *(f"err_{b}" for b in BANDS)]
    assert list(report.per_channel.columns) == expected
    assert list(report.per_channel.index) == info.ch_names
    assert list(report.overall) == expected
    assert report.overall["spectrogram_loss"] == pytest.approx(report.per_channel["spectrogram_loss"].mean())
    text = str(report)
    assert "Fz" in text and "spectrogram_loss" in text and "overall" in text
    frame = report.to_frame()
    assert frame.shape == (5, len(expected)) and frame.index[-1] == "overall"
    # identical recordings; channels matched by name, reconstruction may be reordered
    same = fidelity_report(original, original.copy().reorder_channels(["Oz", "Pz", "Cz", "Fz"]))
    assert same.overall["spectrogram_loss"] == 0 and same.overall["prd"] == 0
    assert np.isinf(same.overall["snr_db"])


def test_fidelity_report_arrays_and_errors(eeg):
    report = fidelity_report(eeg, 0.9 * eeg, SFREQ, ch_names=list("abcd"), verbose=False)
    assert list(report.per_channel.index) == list("abcd")
    np.testing.assert_allclose(report.per_channel["prd"], 10)
    with pytest.raises(ValueError, match="sfreq must be given"):
        fidelity_report(eeg, eeg)
    with pytest.raises(ValueError, match="shapes differ"):
        fidelity_report(eeg, eeg[:, :-10], SFREQ)
    with pytest.raises(ValueError, match="channel names"):
        fidelity_report(eeg, eeg, SFREQ, ch_names=["a"])
    raw = mne.io.RawArray(eeg, mne.create_info(4, SFREQ, "eeg"), verbose=False)
    with pytest.raises(TypeError, match="both"):
        fidelity_report(raw, eeg, SFREQ)
    other = mne.io.RawArray(eeg, mne.create_info(list("wxyz"), SFREQ, "eeg"), verbose=False)
    with pytest.raises(ValueError, match="no channel in common"):
        fidelity_report(raw, other)


def test_codebook_usage(excerpt_raw):
    from conftest import make_tiny_codec

    from mne_dac import tokenize_raw
    from mne_dac.signal.metrics import codebook_usage

    tokens = tokenize_raw(excerpt_raw.copy().crop(0, 10), make_tiny_codec(), verbose=False)
    usage = codebook_usage(tokens)
    assert list(usage.index) == list(range(1, tokens.n_codebooks + 1))
    assert (usage["n_used"] > 1).all() and (usage["perplexity"] > 1).all()
    tokens.codes[...] = 7  # a collapsed encoder
    usage = codebook_usage(tokens)
    assert (usage["n_used"] == 1).all() and np.allclose(usage["perplexity"], 1.0)
    assert np.allclose(usage["fraction"], 1 / tokens.codebook_size)
