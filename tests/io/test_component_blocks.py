"""``"klt-codec"`` files (``write_raw_dac(codec="klt-codec")``): the shipped linear codec on the principal
components, a depth per component and second within the budget; and a codec on each channel within a rate
(``write_raw_dac(codec=..., bits_per_second=...)``); exact round trips of what is stored, random access, refusals
of crafted files."""

from __future__ import annotations

import base64
import json
import warnings

import mne
import numpy as np
import pytest
from conftest import DATA_DIR, FLOAT32_ROUNDING, CraftedFile, crafted_transform

from mne_dac import EEGDACFormatError, load_codec, read_raw_dac, write_raw_dac
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.io.component_blocks import ComponentCodecFrames, check_component_codec
from mne_dac.io.container import describe_file, read_header
from mne_dac.io.transform_blocks import COMPONENT_CODEC, DCT_BLOCK, TRANSFORM_SFREQ, TransformSpec
from mne_dac.signal.preprocessing import n_codec_samples


@pytest.fixture(scope="module")
def seventy_seconds() -> mne.io.BaseRaw:
    """The excerpt's rest recording and 10 s of its arithmetic one: 19 EEG channels, two blocks of the file."""
    return mne.concatenate_raws([read_excerpt(0, "rest", verbose=False),
                                 read_excerpt(0, "arithmetic", verbose=False).crop(0, 10)])  # fmt: skip


@pytest.fixture(scope="module")
def coded(seventy_seconds, tmp_path_factory):
    fname = tmp_path_factory.mktemp("kltcodec") / "rec.eegdac"
    write_raw_dac(fname, seventy_seconds, codec="klt-codec", bits_per_second=88)
    return fname, read_raw_dac(fname)


def _prd(original: np.ndarray, decoded: np.ndarray) -> float:
    return 100 * np.sqrt(np.sum((decoded - original) ** 2) / np.sum(original**2))


def test_round_trip_within_budget(seventy_seconds, coded):
    fname, decoded = coded
    header = read_header(fname)
    assert header.coding == "klt-codec" and header.codes_shape is None
    assert header.codec.weights_sha256 == load_codec(COMPONENT_CODEC).identity.weights_sha256
    assert header.transform.directions.shape == (19, 19) and header.transform.gains.shape == (19,)
    assert (
        header.transform.depth_seconds == 1
        and "depth_seconds" not in CraftedFile(fname.read_bytes()).header["transform"]
    )
    n_codec = n_codec_samples(seventy_seconds.n_times, 500.0, TRANSFORM_SFREQ)
    bits = 8 * header.token_bytes + header.transform.side_bits  # every bit counted
    assert 0.9 * 88 * 19 * n_codec / TRANSFORM_SFREQ <= bits <= 88 * 19 * n_codec / TRANSFORM_SFREQ
    assert header.coded_bits_per_second <= 88
    eeg = seventy_seconds.copy().pick("eeg")
    eeg.filter(0.1, None, method="iir", iir_params={"order": 4, "ftype": "butter", "output": "sos"}, verbose="error")
    assert _prd(eeg.get_data(), decoded.get_data(picks="eeg")) < 30  # the shipped codec's tokens: about 40 %
    np.testing.assert_array_equal(decoded.get_data(picks=["ECG", "A2-A1"]),
                                  seventy_seconds.get_data(picks=["ECG", "A2-A1"]))  # fmt: skip
    assert "klt-codec" in decoded.info["description"] and "Lossy" in decoded.info["description"]


def test_random_access_equals_whole_decode(coded):
    fname, decoded = coded
    for tmin, tmax in [(0, 5), (63.9, 64.2), (65, None)]:
        np.testing.assert_array_equal(read_raw_dac(fname, tmin=tmin, tmax=tmax).get_data(),
                                      decoded.copy().crop(tmin, tmax).get_data())  # fmt: skip


def test_describe_and_refusals(coded, seventy_seconds, tmp_path):
    fname, decoded = coded
    text = describe_file(fname)
    assert "klt-codec" in text and "19 principal components" in text and "found automatically" in text
    np.testing.assert_array_equal(read_raw_dac(fname, codec=COMPONENT_CODEC).get_data(), decoded.get_data())
    with pytest.raises(ValueError, match="n_codebooks does not apply"):
        read_raw_dac(fname, n_codebooks=1)
    with pytest.raises(ValueError, match="n_codebooks does not apply"):
        write_raw_dac(tmp_path / "x.eegdac", seventy_seconds, codec="klt-codec", n_codebooks=2)


@pytest.mark.parametrize("restore_bands", [True, False])
def test_codec_on_each_channel_within_a_rate(tmp_path, restore_bands):
    """The default codec at 30 bits/s: each channel coded as it is, its depth chosen per 4 s, within the
    budget; read back with the codec the file names, by time ranges as whole."""
    raw = read_excerpt(0, "rest", verbose=False).crop(0, 16, include_tmax=False)
    fname = write_raw_dac(tmp_path / "rec.eegdac", raw, bits_per_second=30, restore_bands=restore_bands)
    header = read_header(fname)
    default = load_codec("default")
    assert header.coding == "klt-codec" and header.codec.weights_sha256 == default.identity.weights_sha256
    assert header.transform.directions.shape == (19, 0) and bool(header.band_edges) == restore_bands
    assert header.transform.depth_seconds == 4
    n_codec = n_codec_samples(raw.n_times, raw.info["sfreq"], TRANSFORM_SFREQ)
    assert 0.9 * 30 * 19 * n_codec / TRANSFORM_SFREQ <= 8 * header.token_bytes <= 30 * 19 * n_codec / TRANSFORM_SFREQ
    decoded = read_raw_dac(fname)
    eeg = raw.copy().pick("eeg")
    eeg.filter(0.1, None, method="iir", iir_params={"order": 4, "ftype": "butter", "output": "sos"}, verbose="error")
    assert _prd(eeg.get_data(), decoded.get_data(picks="eeg")) < 80  # one codebook (22 bits/s): about 65 %
    np.testing.assert_array_equal(read_raw_dac(fname, tmin=3.3, tmax=7).get_data(),
                                  decoded.copy().crop(3.3, 7).get_data())  # fmt: skip
    assert "on each channel, depth chosen per 4 s, each block scaled to the codec's level" in describe_file(fname)


@pytest.mark.parametrize("codec", ["default", "klt-codec"])
def test_loud_and_quiet_eeg_are_coded_alike(tmp_path, codec):
    """Each block's scale brings the codec's input to its level: EEG a tenth or thirty times as loud (peaks of
    millivolts, beyond the codec's ±200 µV) is coded to the same PRD, nothing clipped."""
    raw = read_excerpt(0, "rest", verbose=False).crop(0, 8).pick("eeg").load_data()
    raw.filter(0.5, None, verbose="error")
    codec = load_codec(codec) if codec == "default" else codec
    prds = {}
    for level in (0.1, 1.0, 30.0):
        scaled = mne.io.RawArray(raw.get_data() * level, raw.info, verbose="error")
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no clipping reported
            fname = write_raw_dac(tmp_path / "x.eegdac", scaled, codec, bits_per_second=44, overwrite=True)
        assert read_header(fname).transform.block_scales
        prds[level] = _prd(scaled.get_data(), read_raw_dac(fname).get_data())
    assert abs(prds[0.1] - prds[1.0]) < 2 and abs(prds[30.0] - prds[1.0]) < 2, prds


def test_codec_clipping_under_a_bound_is_reported(tmp_path):
    """Under a residual layer the codec's input keeps its ±200 µV clip (the residual bounds every sample): the
    writer says so."""
    raw = read_excerpt(0, "rest", verbose=False).crop(0, 4).pick("eeg").load_data()
    raw._data[0] += 5e-4 * np.sin(np.arange(raw.n_times) / 10)  # ±500 µV on Fp1
    with pytest.warns(RuntimeWarning, match=r"Clipped .* at ±200 µV in 1 channel\(s\); most clipped: Fp1"):
        fname = write_raw_dac(tmp_path / "x.eegdac", raw, bits_per_second=88, max_error=1e-6)
    assert not read_header(fname).transform.block_scales
    assert np.abs(read_raw_dac(fname).get_data() - raw.get_data()).max() <= 1e-6


def test_codec_within_a_rate_refusals(tmp_path, tiny_codec, tiny_mc_codec):
    raw = read_excerpt(0, "rest", verbose=False).crop(0, 2)
    for kwargs, message in [
        ({"n_codebooks": 2}, "bits_per_second and n_codebooks exclude each other"),
        ({"grouping": "pivot"}, "bits_per_second and groups exclude each other"),
        ({"codec": tiny_codec}, "needs a codec at 256 Hz"),
        ({"codec": tiny_mc_codec}, "needs a DAC-SC codec"),
        ({"bits_per_second": -1}, "positive"),
    ]:
        with pytest.raises(ValueError, match=message):
            write_raw_dac(tmp_path / "x.eegdac", raw, **{"bits_per_second": 30, **kwargs})
    assert not (tmp_path / "x.eegdac").exists()


def test_the_codec_must_code_components(tiny_codec, tiny_mc_codec):
    with pytest.raises(ValueError, match="DAC-SC"):
        check_component_codec(tiny_mc_codec)
    with pytest.raises(ValueError, match="256 Hz"):
        check_component_codec(tiny_codec)  # 512 Hz
    check_component_codec(load_codec(COMPONENT_CODEC))


@pytest.mark.parametrize("seconds, rate, n_directions", [(4.0, 88, 0), (0.01, 4000, 0), (20.0, 22, 0), (20.0, 88, 19)])
def test_short_recordings_and_low_rates(tmp_path, seconds, rate, n_directions):
    """Without directions where they would take a quarter of the budget; within the budget at any length."""
    raw = read_excerpt(0, "rest", verbose=False).crop(0, seconds, include_tmax=False)
    fname = write_raw_dac(tmp_path / "short.eegdac", raw, codec="klt-codec", bits_per_second=rate)
    header = read_header(fname)
    assert header.transform.directions.shape == (19, n_directions)
    assert read_raw_dac(fname).n_times == raw.n_times
    n_codec = n_codec_samples(raw.n_times, raw.info["sfreq"], TRANSFORM_SFREQ)
    assert 8 * header.token_bytes + header.transform.side_bits <= rate * 19 * n_codec / TRANSFORM_SFREQ + 8


@pytest.mark.parametrize("seconds, n_channels, rate", [(0.3, 1, 4.0), (64.2, 1, 4.0), (64.2, 3, 22.0)])
def test_any_length_and_rate_is_coded(tmp_path, rng, seconds, n_channels, rate):
    """Random walks of any length, one channel or a flat one among three, a short last block, a budget too low
    for any code: written within the budget (but by the scales and depths of a last block) and read back whole."""
    data = rng.standard_normal((n_channels, int(seconds * TRANSFORM_SFREQ))).cumsum(axis=1) * 1e-6
    if n_channels > 1:
        data[-1] = 0  # among three channels, a flat one
    raw = mne.io.RawArray(data, mne.create_info(n_channels, TRANSFORM_SFREQ, "eeg"), verbose="error")
    fname = write_raw_dac(tmp_path / "x.eegdac", raw, codec="klt-codec", bits_per_second=rate)
    header = read_header(fname)
    assert 8 * header.token_bytes + header.transform.side_bits <= rate * n_channels * seconds + 24
    decoded = read_raw_dac(fname).get_data()
    assert decoded.shape == data.shape and np.isfinite(decoded).all()


@pytest.mark.parametrize("block_scales", [False, True])
def test_frames_round_trip_and_checks(rng, block_scales):
    codec = load_codec(COMPONENT_CODEC)
    directions = np.linalg.qr(rng.normal(size=(3, 3)))[0].astype("<f2")
    spec = TransformSpec("klt-codec", 176.0, directions, np.array([2.0, 1.0, 0.5], "<f2"), block_scales=block_scales)
    back = TransformSpec.from_dict(json.loads(json.dumps(spec.to_dict())), 3)
    np.testing.assert_array_equal(back.gains, spec.gains)
    assert back.block_scales == block_scales
    x = rng.normal(scale=2e-3, size=(3, 2 * DCT_BLOCK - 100))  # 20 µV in the file's units (10 mV)
    frames = ComponentCodecFrames.for_writing(spec, codec, x.shape[1])
    payload = frames.encode_block(x)
    assert 8 * len(payload) <= frames.bits_per_sample * x.shape[1] + 7
    decoded = frames.decode_block(payload, 2, x.shape[1])
    assert decoded.shape == (3, DCT_BLOCK, 2) and decoded.dtype == np.float32
    reader = ComponentCodecFrames(back, codec)
    np.testing.assert_array_equal(reader.decode_block(payload, 2, x.shape[1]), decoded)
    for broken in (payload[:-1], payload + b"\0", payload[:1]):
        with pytest.raises(ValueError, match="bytes"):
            reader.decode_block(broken, 2, x.shape[1])
    with pytest.raises(ValueError, match="block scales of 255 bits" if block_scales else "depth exceeds"):
        reader.decode_block(b"\xff" * len(payload), 2, x.shape[1])


def test_block_scales_round_trip(rng):
    """Components from 100 nV to 10 mV RMS, each with its block scale (below and above 1), decode to the codec's
    relative error."""
    codec = load_codec(COMPONENT_CODEC)
    spec = TransformSpec("klt-codec", 4000.0, np.zeros((5, 0), "<f2"), np.zeros(0, "<f2"), block_scales=True)
    levels = np.array([1e-5, 1e-4, 2e-3, 0.1, 1.0])  # of the file's 10 mV
    x = rng.normal(size=(5, 4 * DCT_BLOCK)).cumsum(axis=1)
    x *= (levels / x.std(axis=1))[:, None]
    x[-1] = np.clip(x[-1], -1, 1)
    frames = ComponentCodecFrames.for_writing(spec, codec, x.shape[1])
    decoded = frames.decode_block(frames.encode_block(x), 4, x.shape[1]).transpose(0, 2, 1).reshape(5, -1)
    assert not frames.clip_counts.any()
    relative = np.linalg.norm(decoded - x, axis=1) / np.linalg.norm(x, axis=1)
    assert relative.max() < 2 * relative.min() and relative.max() < 0.5, relative
    with pytest.raises(ValueError, match="block scales"):
        ComponentCodecFrames(spec, codec).decode_block(b"\x07", 4, x.shape[1])


@pytest.mark.parametrize(
    "change",
    [
        {"gains": None},
        {"gains": base64.b64encode(np.full(19, -1.0, "<f2").tobytes()).decode()},
        {"gains": base64.b64encode(np.ones(3, "<f2").tobytes()).decode()},
        {"method": "klt-dct"},
        {"depth_seconds": 0},
        {"depth_seconds": 65},
        {"depth_seconds": 2.0},
        {"depth_seconds": True},
        {"block_scales": 1},
        {"block_scales": "yes"},
    ],
)
def test_crafted_transform_header_is_refused(coded, tmp_path, change):
    with pytest.raises(EEGDACFormatError, match="transform"):
        read_raw_dac(crafted_transform(coded[0], change, tmp_path / "c.eegdac"))


def test_crafted_codec_and_payload_are_refused(coded, tmp_path):
    fname, _ = coded
    crafted = CraftedFile(fname.read_bytes())
    identity = crafted.header["codec"]
    other_rates = [{**identity, "config": {**identity["config"], "sfreq": rate}} for rate in (1.5, -1, "x", 512.0)]
    for codec in (None, 5, {"name": "x"}, *other_rates):  # read with the codec its identity names
        header = json.loads(json.dumps(crafted.header))
        header["codec"] = codec
        if codec is None:
            del header["codec"]
        (tmp_path / "c.eegdac").write_bytes(crafted.build(header))
        with pytest.raises(EEGDACFormatError, match="'codec"):
            read_raw_dac(tmp_path / "c.eegdac")
    first = crafted.footer["blocks"][0][0]
    blocks = crafted.blocks[: first - 1] + crafted.blocks[first:]  # the first block's payload a byte short
    footer = json.loads(json.dumps(crafted.footer))
    footer["blocks"][0][0] -= 1
    (tmp_path / "d.eegdac").write_bytes(crafted.build(blocks=blocks, footer=footer))
    with pytest.raises(EEGDACFormatError, match="block 0 .*transform code does not decode"):
        read_raw_dac(tmp_path / "d.eegdac")


def test_files_of_a_codec_within_a_rate_decode_as_they_did():
    """A file of the default codec within 30 bits/s written before blocks stored their scales decodes as it did."""
    fname = DATA_DIR / "lapped-2026.12-within-30.eegdac"
    transform = read_header(fname).transform
    assert transform.depth_seconds == 4 and transform.band_edges and not transform.block_scales
    expected = np.load(DATA_DIR / "lapped-2026.12-within-30_decoded.npy")
    np.testing.assert_allclose(read_raw_dac(fname, verbose="error").get_data(), expected, rtol=0, atol=FLOAT32_ROUNDING)
