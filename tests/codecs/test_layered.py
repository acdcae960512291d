"""Layered coding: a cross-channel codec base and a cross-channel DCT of its residual, within one budget."""

import numpy as np
import pytest

from mne_dac.codecs.layered import LayeredCode, decode_layered, encode_layered, refinement_coder
from mne_dac.codecs.spatial import decode_spatial, encode_spatial

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _squared_error(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((x.astype(np.float64) - y) ** 2))


@pytest.mark.parametrize(("n_channels", "bits_per_second"), [(19, 30.0), (19, 88.0), (6, 200.0)])
def test_never_worse_than_either_layer(shipped_codec, shipped_codec_eeg, n_channels, bits_per_second):
    """Within the budget, everything counted; no worse than the codec base or the DCT alone at the same bits."""
    x = shipped_codec_eeg[:n_channels]
    code = encode_layered(shipped_codec, x, bits_per_second)
    assert isinstance(code, LayeredCode) and (code.n_channels, code.n_samples) == x.shape
    assert code.n_bits(shipped_codec.bits_per_code) <= bits_per_second * x.size / shipped_codec.sfreq
    y = decode_layered(shipped_codec, code)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(decode_layered(shipped_codec, code), y)
    spatial = decode_spatial(shipped_codec, encode_spatial(shipped_codec, x, bits_per_second))
    dct, _ = refinement_coder(bits_per_second, shipped_codec.sfreq).code(x)
    assert _squared_error(x, y) <= min(_squared_error(x, spatial), _squared_error(x, dct)) * (1 + 1e-6)


def test_shares_pick_the_layers(shipped_codec, shipped_codec_eeg):
    """A share of 1 is the cross-channel code alone; a share of 0 the DCT alone; both decode as those."""
    x = shipped_codec_eeg[:8]
    base_only = encode_layered(shipped_codec, x, 60.0, base_shares=[1.0])
    assert base_only.refinement is None
    np.testing.assert_array_equal(
        decode_layered(shipped_codec, base_only), decode_spatial(shipped_codec, encode_spatial(shipped_codec, x, 60.0))
    )
    dct_only = encode_layered(shipped_codec, x, 60.0, base_shares=[0.0])
    assert dct_only.base is None
    np.testing.assert_array_equal(
        decode_layered(shipped_codec, dct_only), refinement_coder(60.0, shipped_codec.sfreq).code(x)[0]
    )
    both = encode_layered(shipped_codec, x, 60.0, base_shares=[0.25])
    assert both.base is not None and both.refinement is not None


def test_bad_input(shipped_codec, tiny_mc_codec, shipped_codec_eeg):
    x = shipped_codec_eeg[:4]
    for rate in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="must be positive"):
            encode_layered(shipped_codec, x, rate)
    for shares in ([], [1.5], [-0.1], [[0.5]]):
        with pytest.raises(ValueError, match="base_shares"):
            encode_layered(shipped_codec, x, 60.0, base_shares=shares)
    with pytest.raises(ValueError, match="too low"):
        encode_layered(shipped_codec, x[:, :64], 0.5, base_shares=[0.0, 1.0])
    with pytest.raises(ValueError, match="DAC-SC"):
        encode_layered(tiny_mc_codec, x, 60.0)
