"""The paper's preprocessing and its inverse."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac import PreprocessingSettings
from mne_dac.signal.preprocessing import from_codec_domain, n_codec_samples, to_codec_domain

NAMES = ["C3", "C4"]


def _eeg(rng, n_times, amp=20e-6):
    return amp * rng.standard_normal((2, n_times))


@pytest.mark.parametrize(
    "sfreq, codec_sfreq", [(500.0, 512.0), (256.0, 512.0), (200.0, 256.0), (512.0, 512.0), (1000.0, 256.0)]
)
@pytest.mark.parametrize("n_times", [1, 99, 5000])
def test_exact_lengths(rng, sfreq, codec_sfreq, n_times):
    settings = PreprocessingSettings()
    ci = to_codec_domain(_eeg(rng, n_times), sfreq, codec_sfreq, settings, NAMES)
    assert ci.data.shape == (2, n_codec_samples(n_times, sfreq, codec_sfreq))
    assert ci.data.dtype == np.float32 and np.abs(ci.data).max() <= 1
    back = from_codec_domain(ci.data, codec_sfreq, sfreq, n_times, settings)
    assert back.shape == (2, n_times)


def test_round_trip_without_codec(rng):
    """Scaling and resampling invert each other (what's lost: < 0.1 Hz and clipping)."""
    sfreq, n = 500.0, 500 * 20
    t = np.arange(n) / sfreq
    x = 30e-6 * np.vstack([np.sin(2 * np.pi * 10 * t), np.sin(2 * np.pi * 3 * t + 1)])
    settings = PreprocessingSettings(highpass=None)
    back = from_codec_domain(to_codec_domain(x, sfreq, 512.0, settings).data, 512.0, sfreq, n, settings)
    inner = slice(500, -500)
    np.testing.assert_allclose(back[:, inner], x[:, inner], atol=1e-7)


def test_highpass_removes_drift(rng):
    sfreq, n = 512.0, 512 * 60
    drift = np.linspace(-100e-6, 100e-6, n)[None].repeat(2, 0)
    ci = to_codec_domain(drift + _eeg(rng, n, 5e-6), sfreq, sfreq, PreprocessingSettings(), NAMES)
    assert np.abs(ci.data[:, n // 4 : -n // 4].mean()) < 0.02
    kept = to_codec_domain(drift, sfreq, sfreq, PreprocessingSettings(highpass=None), NAMES)
    assert np.abs(kept.data[:, -10:]).mean() > 0.4


def test_clip_counts_and_scale(rng):
    x = _eeg(rng, 5000, 10e-6)
    x[0, 1000:1100] = 500e-6  # a large artifact on channel 0
    settings = PreprocessingSettings(highpass=None, clip=100e-6)
    ci = to_codec_domain(x, 512.0, 512.0, settings, NAMES)
    assert ci.clip_counts[0] == 100 and ci.clip_counts[1] == 0
    assert ci.data.max() == 1.0
    np.testing.assert_allclose(ci.data[1], x[1] / 100e-6, rtol=1e-5, atol=1e-6)


def test_heavy_clipping_warns(rng):
    with pytest.warns(RuntimeWarning, match="Clipped .* most clipped: C3"):
        to_codec_domain(_eeg(rng, 5000, 1e-3), 512.0, 512.0, PreprocessingSettings(), NAMES)


def test_bad_data(rng):
    x = _eeg(rng, 1000)
    x[1, 10] = np.nan
    x[1, 20] = np.inf
    with pytest.raises(ValueError, match=r"NaN or Inf samples \(\{'C4': 2\}"):
        to_codec_domain(x, 512.0, 512.0, PreprocessingSettings(), NAMES)
    flat = _eeg(rng, 1000)
    flat[0] = 3e-6
    with pytest.warns(RuntimeWarning, match=r"flat channel\(s\) \['C3'\]") as record:
        to_codec_domain(flat, 512.0, 512.0, PreprocessingSettings(), NAMES)
    assert record[0].filename == __file__  # the warning points at the caller's line, not mne-dac's
    with pytest.warns(RuntimeWarning, match="probably in µV"):
        to_codec_domain(_eeg(rng, 1000, 20.0), 512.0, 512.0, PreprocessingSettings(), NAMES)
    with pytest.raises(ValueError, match="No EEG channels"):
        to_codec_domain(np.zeros((0, 10)), 512.0, 512.0, PreprocessingSettings())
    with pytest.raises(ValueError, match="no samples"):
        to_codec_domain(np.zeros((2, 0)), 512.0, 512.0, PreprocessingSettings())


def test_settings():
    s = PreprocessingSettings(highpass=0.5, clip=150e-6)
    assert PreprocessingSettings.from_dict(s.to_dict()) == s
    with pytest.raises(ValueError, match="highpass"):
        PreprocessingSettings(highpass=0)
    with pytest.raises(ValueError, match="Volts"):
        PreprocessingSettings(clip=200.0)
    with pytest.raises(ValueError, match="positive"):
        PreprocessingSettings(clip=-1e-6)


def test_a_clip_level_per_channel(rng):
    """One clip level per channel: each channel is clipped and scaled at its own, as it would be alone, and the
    inverse restores each; the levels follow the channels picked and survive a round trip through a dict."""
    x = _eeg(rng, 5000, 10e-6) * np.array([[1.0], [20.0]])
    x[0, 1000:1100] = 500e-6
    settings = PreprocessingSettings(highpass=None, clip=[100e-6, 4e-3])
    assert settings.clip == (100e-6, 4e-3) and settings.per_channel
    ci = to_codec_domain(x, 512.0, 512.0, settings, NAMES)
    for k, level in enumerate(settings.clip):
        alone = to_codec_domain(
            x[[k]], 512.0, 512.0, PreprocessingSettings(highpass=None, clip=level), NAMES[k : k + 1]
        )
        np.testing.assert_array_equal(ci.data[k], alone.data[0])
        assert ci.clip_counts[k] == alone.clip_counts[0]
    assert ci.clip_counts.tolist() == [100, 0]
    back = from_codec_domain(ci.data, 512.0, 512.0, 5000, settings)
    np.testing.assert_allclose(back[1], x[1], rtol=1e-5, atol=1e-9)
    assert settings.pick([1]) == PreprocessingSettings(highpass=None, clip=(4e-3,))
    assert PreprocessingSettings.from_dict(settings.to_dict()) == settings
    assert settings.describe() == "±100–4000 µV (one level per channel)"
    assert PreprocessingSettings().pick([0]) == PreprocessingSettings()
    with pytest.raises(ValueError, match="2 clip levels, one per channel, for 3 channels"):
        to_codec_domain(np.vstack([x, x[:1]]), 512.0, 512.0, settings, [*NAMES, "Cz"])
    with pytest.raises(ValueError, match="positive"):
        PreprocessingSettings(clip=[1e-4, 0.0])
    with pytest.raises(ValueError, match="none"):
        PreprocessingSettings(clip=[])
    with pytest.raises(TypeError, match="list of numbers"):
        PreprocessingSettings.from_dict({"highpass": None, "clip": [1e-4, "x"]})
