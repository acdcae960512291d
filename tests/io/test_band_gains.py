"""Band gains of a decoded block (:mod:`mne_dac.io.band_gains`): they lift each band's power to 90 % of the
original's, leave a good decode alone, and take any block length."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac import EEGDACFormatError
from mne_dac.io.band_gains import BAND_EDGES, apply_band_gains, band_gains, gain_bytes

SFREQ = 256.0


def test_gains_bring_band_power_back():
    """A decode that lost power towards β (a low-pass) gets each band's power back to 90 %, by the metrics'
    measure."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.signal.metrics import band_power_error

    x = resample_poly(read_excerpt(0, "rest", verbose=False).get_data(picks="eeg")[:3], 256, 500, axis=1)
    x -= x.mean(axis=1, keepdims=True)
    decoded = sosfiltfilt(butter(1, 20.0, fs=SFREQ, output="sos"), x, axis=1)
    payload = band_gains(x, decoded, SFREQ, BAND_EDGES)
    assert len(payload) == gain_bytes(3, len(BAND_EDGES) - 1)
    restored = apply_band_gains(decoded, payload, SFREQ, BAND_EDGES)
    before, after = band_power_error(x, decoded, SFREQ), band_power_error(x, restored, SFREQ)
    assert before["beta"].mean() > 0.5
    for band in ("delta", "theta", "alpha", "beta"):
        assert after[band].max() < 0.15, band  # 10 % and a step of the stored gains at most
    assert (after["beta"] < before["beta"] / 3).all()
    assert np.sum((restored - x) ** 2) < np.sum((decoded - x) ** 2)  # here the lost power was mostly a scale


def test_perfect_decode_is_left_alone(rng):
    x = rng.standard_normal((4, 1000))
    restored = apply_band_gains(x, band_gains(x, x, SFREQ, BAND_EDGES), SFREQ, BAND_EDGES)
    np.testing.assert_allclose(restored, x, atol=1e-12)


@pytest.mark.parametrize("n_samples", [1, 2, 3, 7, 100, 511, 512, 700])
@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("silent", [False, True])
def test_any_block_length_and_silent_bands(n_samples, n_channels, silent):
    """Any block, a silent decode included, gets finite gains and a finite decode of its shape."""
    x = np.random.default_rng(n_samples).standard_normal((n_channels, n_samples))
    decoded = np.zeros_like(x) if silent else 0.5 * x
    restored = apply_band_gains(decoded, band_gains(x, decoded, SFREQ, BAND_EDGES), SFREQ, BAND_EDGES)
    assert restored.shape == x.shape and np.isfinite(restored).all()
    if silent:
        np.testing.assert_array_equal(restored, 0)


def test_malformed_payload_is_refused():
    with pytest.raises(EEGDACFormatError, match="1 bytes, expected 5"):
        apply_band_gains(np.zeros((2, 100)), b"\x00", SFREQ, BAND_EDGES)
