"""The cross-channel DCT: the principal directions pay for themselves, or are left out."""

import numpy as np
import pytest
from conftest import excerpt_codec_domain

from mne_dac.signal.transform_coding import CrossChannelDCTCoder, DCTCoder, principal_directions


@pytest.fixture(scope="module")
def eeg():
    return excerpt_codec_domain(256.0)


def _error(coder, x):
    x_hat, n_bits = coder.code(x)
    return float(np.sum((x - x_hat) ** 2)), n_bits


def test_principal_directions(eeg):
    directions, variances = principal_directions(eeg)
    np.testing.assert_allclose(directions.T @ directions, np.eye(len(eeg)), atol=1e-10)
    assert np.all(np.diff(variances) <= 0) and variances[-1] >= 0
    np.testing.assert_allclose(variances, np.mean((directions.T @ eeg) ** 2, axis=1), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("bits_per_second", [30.0, 90.0])
def test_beats_the_channel_dct_on_eeg(eeg, bits_per_second):
    """On 19 correlated EEG channels the rotation pays for its directions: smaller error at the same budget."""
    klt, klt_bits = _error(CrossChannelDCTCoder(bits_per_second, 256.0), eeg)
    dct, _ = _error(DCTCoder(bits_per_second, 256.0), eeg)
    assert klt_bits <= bits_per_second * eeg.size / 256.0
    assert klt < dct


def test_weak_directions_left_out(eeg):
    """At a low rate the weakest components quantize to zero: their directions are not stored."""
    coded = CrossChannelDCTCoder(30.0, 256.0).encode(eeg)
    n_channels, n_directions = np.frombuffer(coded.payload[:4], "<u2")
    assert n_channels == 19 and 0 < n_directions < 19


def test_directions_left_out_where_they_do_not_pay(eeg):
    """Over two seconds at a low rate the directions do not pay: the channels are coded as they are."""
    x = eeg[:, :512]
    coder = CrossChannelDCTCoder(60.0, 256.0)
    coded = coder.encode(x)
    assert coded.payload[:4] == b"\x13\x00\x00\x00" and coded.n_bits <= 60 * x.size / 256.0  # 19, 0
    np.testing.assert_array_equal(coder.decode(coded), DCTCoder(60.0, 256.0).decode(coded.payload[4:]))


def test_corrupt_directions(eeg):
    coder = CrossChannelDCTCoder(90.0, 256.0)
    payload = bytearray(coder.encode(eeg[:4]).payload)
    assert payload[:2] == b"\x04\x00" and payload[2] > 0  # 20 s of 4 channels pay for their directions
    payload[4:6] = np.float16(np.nan).tobytes()
    with pytest.raises(ValueError, match="not finite"):
        coder.decode(bytes(payload))
    payload[:2] = b"\x05\x00"
    with pytest.raises(ValueError, match="Corrupt"):
        coder.decode(bytes(payload))


@pytest.mark.parametrize("seed", range(3))
def test_damaged_payloads_raise_value_error(eeg, seed):
    """Truncated, flipped or random bytes give a ValueError (or, rarely, another valid signal), never a crash."""
    rng = np.random.default_rng(seed)
    coder = CrossChannelDCTCoder(90.0, 256.0)
    payload = coder.encode(eeg[:6, :2560]).payload
    damaged = [payload[: rng.integers(len(payload))], rng.bytes(rng.integers(1, 200))]
    for _ in range(20):
        flipped = bytearray(payload)
        flipped[rng.integers(len(payload))] ^= 1 << rng.integers(8)
        damaged.append(bytes(flipped))
    for candidate in damaged:
        try:
            x_hat = coder.decode(candidate)
        except ValueError:
            continue
        assert x_hat.ndim == 2 and x_hat.dtype == np.float32


def test_decompression_cannot_exceed_the_header():
    """A stream that expands beyond what its header announces is refused without expanding it all."""
    import lzma
    import struct

    from mne_dac.signal.transform_coding import _LZMA_FILTERS

    bomb = lzma.compress(bytes(1 << 24), format=lzma.FORMAT_RAW, filters=_LZMA_FILTERS)  # 16 MiB of zeros
    payload = struct.pack("<HIfB", 1, 512, 1.0, 1) + bomb
    with pytest.raises(ValueError, match="Corrupt"):
        DCTCoder(90.0, 256.0).decode(payload)
