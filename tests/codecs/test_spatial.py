"""Cross-channel transform coding: variable depth in the codecs, the transform, the allocation and the code."""

import numpy as np
import pytest
from conftest import excerpt_codec_domain

from mne_dac.codecs.spatial import (
    SpatialCode,
    allocate_depths,
    codes_at_each_depth,
    codes_of_depths,
    components,
    decode_spatial,
    encode_spatial,
    fit_transform,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def eeg():
    """20 s of real EEG (19 channels) in the codec domain of the tiny codecs (512 Hz)."""
    return excerpt_codec_domain(512.0)


def test_absent_codes_decode_as_fewer_codebooks(tiny_codec, tiny_mc_codec, eeg):
    """A code of -1 adds nothing: -1 beyond depth d decodes exactly as d codebooks, frame by frame."""
    x = eeg[:4, :5120]
    codes = tiny_codec.encode(x)
    depth = np.array([0, 1, 2, 4, 3, 1, 4, 2, 2, 0])[None, :].repeat(4, 0)  # per frame
    masked = np.where(np.arange(4)[None, :, None] < depth[:, None, :], codes, -1)
    assert tiny_codec.decode(masked).shape == x.shape
    uniform = np.where(np.arange(4)[None, :, None] < 2, codes, -1)
    np.testing.assert_array_equal(tiny_codec.decode(uniform), tiny_codec.decode(codes, n_codebooks=2))
    with pytest.raises(ValueError, match="or be -1"):
        tiny_codec.decode(np.full_like(codes, -2))

    names = ["Fp1", "Fp2", "C3", "C4"]
    mc_codes = tiny_mc_codec.encode(x, ch_names=names)
    absent = mc_codes.copy()
    absent[..., 2:, :] = -1
    np.testing.assert_array_equal(
        tiny_mc_codec.decode(absent, ch_names=names), tiny_mc_codec.decode(mc_codes, 2, ch_names=names)
    )


def test_transform(eeg):
    """Orthonormal directions by decreasing variance; components invert to the channels."""
    transform, gains = fit_transform(eeg)
    assert transform.dtype == gains.dtype == np.float16
    t = transform.astype(np.float64)
    np.testing.assert_allclose(t.T @ t, np.eye(len(t)), atol=3e-3)
    assert np.all(np.diff(gains.astype(np.float64)) <= 0) and gains[0] > 1  # the first direction is shared
    y = components(eeg, transform, gains)
    assert np.abs(y).max() <= 1
    rebuilt = t @ (gains.astype(np.float64)[:, None] * y)
    np.testing.assert_allclose(rebuilt, eeg, atol=1e-5)


@pytest.mark.parametrize("seed", range(5))
def test_allocation(seed):
    """Within the budget; more budget never raises the error; zero and ample budgets give the extremes."""
    rng = np.random.default_rng(seed)
    n_units, n_depths = 40, 5
    steps = rng.uniform(0.2, 0.9, size=(n_depths - 1, n_units))
    errors = np.vstack([np.ones(n_units), np.cumprod(steps, axis=0)]) * rng.uniform(0.1, 10, n_units)
    unit_bits = rng.integers(1, 4, n_units) * 10.0

    def total(depths):
        return errors[depths, np.arange(n_units)].sum(), (depths * unit_bits).sum()

    previous = np.inf
    for budget in np.linspace(0, (n_depths - 1) * unit_bits.sum(), 12):
        depths = allocate_depths(errors, unit_bits, budget)
        error, spent = total(depths)
        assert spent <= budget + 1e-9 and error <= previous + 1e-12
        previous = error
    assert (allocate_depths(errors, unit_bits, 0) == 0).all()
    assert (allocate_depths(errors, unit_bits, 1e9) == n_depths - 1).all()


@pytest.mark.parametrize(
    ("n_channels", "bits_per_second"), [(19, 12.0), (19, 30.0), (19, 88.0), (6, 100.0), (6, 400.0)]
)
def test_encode_decode(shipped_codec, shipped_codec_eeg, n_channels, bits_per_second):
    """Every bit counted within the budget; codes kept exactly to each segment's depth; decoding is repeatable."""
    x = shipped_codec_eeg[:n_channels]
    code = encode_spatial(shipped_codec, x, bits_per_second, segment_seconds=4.0)
    assert isinstance(code, SpatialCode) and code.n_channels == n_channels
    assert code.segment_frames == 4 * shipped_codec.frame_rate
    seconds = x.shape[1] / shipped_codec.sfreq
    assert code.n_bits(shipped_codec.bits_per_code) <= bits_per_second * n_channels * seconds
    frame_depth = np.repeat(code.depths, code.segment_frames, axis=1)[:, : code.codes.shape[2]]
    kept = np.arange(shipped_codec.n_codebooks)[None, :, None] < frame_depth[:, None, :]
    assert (code.codes[kept] >= 0).all() and (code.codes[~kept] == -1).all()
    assert code.depths[0].mean() >= code.depths[-1].mean()  # the strongest component gets the most codebooks
    y = decode_spatial(shipped_codec, code)
    assert y.shape == x.shape and y.dtype == np.float32
    np.testing.assert_array_equal(decode_spatial(shipped_codec, code), y)
    assert np.sum((x - y) ** 2) < np.sum(x**2)


def test_full_depth_decodes_as_the_codec(tiny_codec, eeg):
    """Components coded with every codebook decode as the codec decodes them, mapped back to the channels."""
    x = eeg[:3, :2048]
    transform, gains = fit_transform(x)
    codes = tiny_codec.encode(components(x, transform, gains))
    depths = np.full((3, 1), tiny_codec.n_codebooks, np.uint8)
    code = SpatialCode(transform, gains, codes, depths, segment_frames=4, n_samples=x.shape[1])
    decoded = tiny_codec.decode(codes, n_samples=x.shape[1])
    expected = transform.astype(np.float64) @ (gains.astype(np.float64)[:, None] * decoded)
    np.testing.assert_allclose(decode_spatial(tiny_codec, code), expected, rtol=1e-5, atol=1e-6)
    empty = SpatialCode(transform[:, :0], gains[:0], codes[:0], depths[:0], segment_frames=4, n_samples=2048)
    assert empty.n_bits(tiny_codec.bits_per_code) == 0
    np.testing.assert_array_equal(decode_spatial(tiny_codec, empty), np.zeros_like(x))


def test_weak_components_are_left_out(shipped_codec, shipped_codec_eeg):
    """At a low rate only the strongest components are coded, and only their directions are paid for."""
    x = shipped_codec_eeg
    low, high = encode_spatial(shipped_codec, x, 20.0), encode_spatial(shipped_codec, x, 88.0)
    assert 0 < len(low.gains) < len(high.gains) <= 19
    assert low.transform.shape == (19, len(low.gains)) and low.codes.shape[0] == low.depths.shape[0] == len(low.gains)
    assert low.depths.any(axis=1).all()


def test_bad_input(tiny_codec, tiny_mc_codec, eeg):
    with pytest.raises(ValueError, match="n_channels >= 2"):
        encode_spatial(tiny_codec, eeg[:1], 100.0)
    with pytest.raises(ValueError, match="too low"):
        encode_spatial(tiny_codec, eeg[:19, :512], 10.0)
    with pytest.raises(ValueError, match="NaN"):
        encode_spatial(tiny_codec, np.full((3, 512), np.nan), 100.0)
    for rate, segment in ((0.0, 4.0), (np.inf, 4.0), (100.0, 0.0)):
        with pytest.raises(ValueError, match="must be positive"):
            encode_spatial(tiny_codec, eeg[:3], rate, segment_seconds=segment)
    with pytest.raises(ValueError, match="DAC-SC"):
        encode_spatial(tiny_mc_codec, eeg[:4], 100.0)


@pytest.mark.parametrize("seed", range(5))
def test_codes_of_depths(seed):
    """Each segment takes the first codes of its own depth's code, -1 beyond (depth 0: none)."""
    rng = np.random.default_rng(seed)
    n_components, n_q, frames_in = 3, 4, rng.integers(1, 4, size=5)
    n_frames = int(frames_in.sum())
    depth_codes = [rng.integers(0, 50, size=(n_components, d, n_frames)) for d in range(1, n_q + 1)]
    depths = rng.integers(0, n_q + 1, size=(n_components, len(frames_in)))
    codes = codes_of_depths(depth_codes, depths, frames_in)
    frame_depth = np.repeat(depths, frames_in, axis=1)
    for c, f in np.ndindex(n_components, n_frames):
        d = frame_depth[c, f]
        expected = [] if d == 0 else list(depth_codes[d - 1][c, :, f])
        assert list(codes[c, :, f]) == expected + [-1] * (n_q - d)


def test_codes_at_each_depth(tiny_codec, eeg):
    """A greedy codec's depths are the first codes of its full-depth code."""
    x = eeg[:2, :2048]
    depth_codes = codes_at_each_depth(tiny_codec, x)
    full = tiny_codec.encode(x)
    assert [c.shape[1] for c in depth_codes] == list(range(1, tiny_codec.n_codebooks + 1))
    for depth, codes in enumerate(depth_codes, start=1):
        np.testing.assert_array_equal(codes, full[:, :depth])
