"""Transform-coded ``.eegdac`` files (``write_raw_dac(codec="klt-dct")``): exact round trips of what is
stored, the bit budget, random access, and refusal of crafted files."""

from __future__ import annotations

import base64
import json

import mne
import numpy as np
import pytest
from conftest import DATA_DIR, FLOAT32_ROUNDING, CraftedFile, crafted_transform

from mne_dac import EEGDACFormatError, read_raw_dac, read_tokens, write_raw_dac
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.io.band_gains import BAND_EDGES
from mne_dac.io.container import describe_file, read_header
from mne_dac.io.recordings import read_recording
from mne_dac.io.transform_blocks import (
    BASE_RATES,
    DCT_BLOCK,
    TRANSFORM_SFREQ,
    TransformFrames,
    TransformSpec,
    is_transform_coder,
)
from mne_dac.signal.preprocessing import n_codec_samples


@pytest.fixture(scope="module")
def two_minutes() -> mne.io.BaseRaw:
    """The shipped excerpt's rest and arithmetic recordings end to end: 120 s, 19 EEG channels, ECG and A2-A1
    aside, a boundary annotation, two blocks of the file."""
    raw = mne.concatenate_raws([read_excerpt(0, "rest", verbose=False), read_excerpt(0, "arithmetic",
                                                                                    verbose=False)])  # fmt: skip
    raw.set_annotations(
        raw.annotations + mne.Annotations([10.0], [2.0], ["blink"], orig_time=raw.annotations.orig_time)
    )
    return raw


@pytest.fixture(scope="module")
def coded(two_minutes, tmp_path_factory):
    fname = tmp_path_factory.mktemp("klt") / "rec.eegdac"
    write_raw_dac(fname, two_minutes, codec="klt-dct")
    return fname, read_raw_dac(fname)


def _highpassed_eeg(raw: mne.io.BaseRaw) -> np.ndarray:
    eeg = raw.copy().pick("eeg")
    eeg.filter(0.1, None, method="iir", iir_params={"order": 4, "ftype": "butter", "output": "sos"}, verbose="error")
    return eeg.get_data()


def test_round_trip_keeps_eeg_within_budget(two_minutes, coded):
    fname, decoded = coded
    header = read_header(fname)
    assert header.coding == "klt-dct" and header.codec is None and header.codes_shape is None
    assert header.transform.directions.shape == (19, 19)
    assert header.n_frames == -(-n_codec_samples(two_minutes.n_times, 500.0, TRANSFORM_SFREQ) // DCT_BLOCK)
    # every bit counted: the payloads and the directions within the budget
    n_codec = n_codec_samples(two_minutes.n_times, 500.0, TRANSFORM_SFREQ)
    bits = 8 * header.token_bytes + 16 * header.transform.directions.size
    assert bits <= 88 * 19 * n_codec / TRANSFORM_SFREQ
    assert bits >= 0.9 * 88 * 19 * n_codec / TRANSFORM_SFREQ  # the budget is used
    # the EEG kept far better than the shipped codec at the same bits (about 40 %)
    original, error = _highpassed_eeg(two_minutes), decoded.get_data(picks="eeg") - _highpassed_eeg(two_minutes)
    assert 100 * np.sqrt(np.sum(error**2) / np.sum(original**2)) < 30
    # what is not coded is exact: other channels, annotations, info
    assert decoded.ch_names == two_minutes.ch_names and decoded.n_times == two_minutes.n_times
    np.testing.assert_array_equal(decoded.get_data(picks=["ECG", "A2-A1"]),
                                  two_minutes.get_data(picks=["ECG", "A2-A1"]))  # fmt: skip
    assert list(decoded.annotations.description) == list(two_minutes.annotations.description)
    assert "klt-dct" in decoded.info["description"] and "Lossy" in decoded.info["description"]


def test_random_access_equals_whole_decode(coded):
    fname, decoded = coded
    for tmin, tmax in [(0, 5), (60.5, 70), (63.9, 64.2), (110, None)]:
        part = read_raw_dac(fname, tmin=tmin, tmax=tmax)
        whole = decoded.copy().crop(tmin, tmax)
        np.testing.assert_array_equal(part.get_data(), whole.get_data())
    lazy = read_raw_dac(fname, preload=False)
    np.testing.assert_array_equal(lazy.get_data(start=30000, stop=40000), decoded.get_data(start=30000, stop=40000))
    for tmin, tmax in [(500, None), (5, 2), (-1, 3)]:
        with pytest.raises(ValueError, match="must lie within the recording's 120 s, tmin before tmax"):
            read_raw_dac(fname, tmin=tmin, tmax=tmax)


def test_describe_and_refusals(coded):
    fname, _ = coded
    text = describe_file(fname)
    assert "klt-dct" in text and "19 principal components" in text and "no codec" in text
    with pytest.raises(ValueError, match="not tokens"):
        read_tokens(fname)
    with pytest.raises(ValueError, match="needs no codec"):
        read_raw_dac(fname, codec="default")
    with pytest.raises(ValueError, match="n_codebooks does not apply"):
        read_raw_dac(fname, n_codebooks=1)


@pytest.mark.parametrize("seconds, rate, n_directions", [(20.0, 88, 19), (4.0, 88, 0), (0.01, 4000, 0)])
def test_short_recordings(tmp_path, seconds, rate, n_directions):
    """The directions are left out where they would take more than a quarter of the budget; a recording
    shorter than one DCT block is coded too."""
    raw = read_excerpt(0, "rest", verbose=False).crop(0, seconds, include_tmax=False)
    fname = write_raw_dac(tmp_path / "short.eegdac", raw, codec="klt-dct", bits_per_second=rate)
    header = read_header(fname)
    assert header.transform.directions.shape == (19, n_directions)
    decoded = read_raw_dac(fname)
    assert decoded.n_times == raw.n_times
    n_codec = n_codec_samples(raw.n_times, raw.info["sfreq"], TRANSFORM_SFREQ)
    assert 8 * header.token_bytes + 16 * n_directions * 19 <= rate * 19 * n_codec / TRANSFORM_SFREQ


def test_short_last_block_at_the_lowest_rate(tmp_path):
    """A last block of half a second, whose share of the lowest base rate is less than its payload's own header,
    is given the share of a whole block."""
    raw = mne.concatenate_raws([read_excerpt(0, "rest", verbose=False),
                                read_excerpt(0, "arithmetic", verbose=False).crop(0, 4.5)])  # fmt: skip
    fname = write_raw_dac(tmp_path / "tail.eegdac", raw, codec="klt-dct", bits_per_second=BASE_RATES[0])  # 64 s + 0.5 s
    assert read_raw_dac(fname).n_times == raw.n_times


def _random_walk(rng: np.random.Generator, n_channels: int, seconds: float) -> mne.io.RawArray:
    """EEG channels of random walks in µV steps, at the transform's rate."""
    data = rng.standard_normal((n_channels, int(seconds * TRANSFORM_SFREQ))).cumsum(axis=1) * 1e-6
    return mne.io.RawArray(data, mne.create_info(n_channels, float(TRANSFORM_SFREQ), "eeg"), verbose="error")


@pytest.mark.parametrize("seconds", [0.3, 64.2])
@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("rate", [4.0, 22.0])
def test_any_length_is_coded_or_refused_with_the_reason(tmp_path, rng, seconds, n_channels, rate):
    """Recordings of any length, a short last block included, are written and read back whole; only a
    budget below a payload's own header (one channel, a whole block at 4 bits/s) is refused, saying so."""
    raw = _random_walk(rng, n_channels, seconds)
    if n_channels == 1 and rate == 4.0 and seconds > 64:
        with pytest.raises(ValueError, match="too low"):
            write_raw_dac(tmp_path / "x.eegdac", raw, codec="klt-dct", bits_per_second=rate)
        return
    fname = write_raw_dac(tmp_path / "x.eegdac", raw, codec="klt-dct", bits_per_second=rate)
    assert read_raw_dac(fname).n_times == raw.n_times


def test_chosen_base_rate_holds_a_whole_block(tmp_path, rng):
    """The base rate is chosen on excerpts of 16 s, each one block shorter than a whole one and given a whole
    block's share; rates at which a whole block cannot hold its payload's header (2 channels at 1 or 4 bits/s) are
    not tried."""
    raw = _random_walk(rng, 2, 70.0)
    fname = write_raw_dac(tmp_path / "two.eegdac", raw, codec="klt-dct", max_error=1e-6)
    assert read_header(fname).bits_per_second > BASE_RATES[0]
    assert np.abs(read_raw_dac(fname).get_data() - raw.get_data()).max() <= 1e-6


def test_short_bit_exact_recording(tmp_path):
    """A bit-exact file of 6 s of 4 channels (its base at the lowest rate, a block shorter than its header's share)."""
    raw = read_recording(DATA_DIR / "MB0400FU.EEG").pick(["Fp1", "Fp2", "C3", "C4"]).crop(10, 16, include_tmax=False)
    fname = write_raw_dac(tmp_path / "short.eegdac", raw, codec="klt-dct", max_error=0.0)
    np.testing.assert_array_equal(read_raw_dac(fname).get_data(), raw.get_data())


def test_option_checks(tmp_path, excerpt_raw):
    assert not is_transform_coder("default") and is_transform_coder("klt-dct", bits_per_second=44)
    for kwargs, match in [
        ({"n_codebooks": 1}, "n_codebooks does not apply"),
        ({"grouping": "pivot"}, "groups does not apply"),
        ({"bits_per_second": -3}, "positive"),
        ({"bits_per_second": float("nan")}, "positive"),
    ]:
        with pytest.raises(ValueError, match=match):
            write_raw_dac(tmp_path / "x.eegdac", excerpt_raw, codec="klt-dct", **kwargs)
    with pytest.raises(ValueError, match="bits_per_second and n_codebooks exclude each other"):
        write_raw_dac(tmp_path / "x.eegdac", excerpt_raw, codec="default", bits_per_second=44, n_codebooks=2)
    with pytest.raises(ValueError, match="too low"):  # a budget below an empty payload's size
        write_raw_dac(tmp_path / "x.eegdac", excerpt_raw, codec="klt-dct", bits_per_second=0.01)
    assert not (tmp_path / "x.eegdac").exists()


def test_spec_round_trip_and_frames(rng):
    directions = np.linalg.qr(rng.normal(size=(5, 5)))[0].astype("<f2")
    spec = TransformSpec("klt-dct", 44.0, directions)
    back = TransformSpec.from_dict(json.loads(json.dumps(spec.to_dict())), 5)
    np.testing.assert_array_equal(back.directions, directions)
    x = rng.normal(scale=0.1, size=(5, 3 * DCT_BLOCK - 100))
    frames = TransformFrames.for_writing(spec, x.shape[1])
    payload = frames.encode_block(x)
    decoded = frames.decode_block(payload, 3, x.shape[1])
    assert decoded.shape == (5, DCT_BLOCK, 3) and decoded.dtype == np.float32
    samples = frames.decode(decoded)
    assert samples.shape == (5, 3 * DCT_BLOCK)
    np.testing.assert_array_equal(samples[:, x.shape[1] :], np.repeat(samples[:, x.shape[1] - 1 : x.shape[1]], 100, 1))
    with pytest.raises(ValueError, match="expected"):  # a payload is checked against its block before decoding
        frames.decode_block(payload, 4)
    # with band gains: the spec names the bands, each payload starts with the gains
    spec = TransformSpec("klt-dct", 44.0, directions, band_edges=BAND_EDGES)
    back = TransformSpec.from_dict(json.loads(json.dumps(spec.to_dict())), 5)
    assert back.band_edges == BAND_EDGES and back.block_bits(5) == 8 * 13  # 5 channels × 4 bands × 5 bits
    frames = TransformFrames.for_writing(spec, x.shape[1])
    payload = frames.encode_block(x)
    assert frames.decode_block(payload, 3, x.shape[1]).shape == (5, DCT_BLOCK, 3)
    with pytest.raises(ValueError, match="cannot hold the block's band gains"):
        frames.decode_block(payload[:12], 3, x.shape[1])


@pytest.mark.parametrize(
    "change",
    [
        {"method": "dct"},
        {"bits_per_second": 0},
        {"bits_per_second": "88"},
        {"n_channels": 18},
        {"n_directions": 3},
        {"directions": "not base64!"},
        {"directions": base64.b64encode(b"\x00" * 10).decode()},
        {"directions": base64.b64encode(np.full(361, np.inf, "<f2").tobytes()).decode()},
        {"extra": 1},
        {"band_edges": [1, 4, 8, 13]},
        {"band_edges": [1, 4, 8, 13, 45]},
        {"band_edges": "1 4 8 13 30"},
        {"band_edges": [True, 4, 8, 13, 30]},
        {"band_edges": []},
    ],
)
def test_crafted_transform_header_is_refused(coded, tmp_path, change):
    with pytest.raises(EEGDACFormatError, match="transform"):
        read_raw_dac(crafted_transform(coded[0], change, tmp_path / "c.eegdac"))


def test_crafted_payload_cannot_exhaust_memory(coded, tmp_path):
    """A block whose payload announces more samples than its block holds is refused before decompressing."""
    import struct

    fname, _ = coded
    crafted = CraftedFile(fname.read_bytes())
    first = crafted.footer["blocks"][0][0]
    payload = bytearray(crafted.blocks[:first])
    gains = read_header(fname).transform.block_bits(19) // 8  # the block's band gains come first
    struct.pack_into("<HI", payload, gains, 19, 2**31)  # 2**31 samples of 19 channels
    (tmp_path / "c.eegdac").write_bytes(crafted.build(blocks=bytes(payload) + crafted.blocks[first:]))
    with pytest.raises(EEGDACFormatError, match="block 0 .*transform code does not decode"):
        read_raw_dac(tmp_path / "c.eegdac")
    header = json.loads(json.dumps(crafted.header))
    header["coding"] = "wavelet"
    (tmp_path / "d.eegdac").write_bytes(crafted.build(header))
    with pytest.raises(EEGDACFormatError, match="'coding'"):
        read_raw_dac(tmp_path / "d.eegdac")


@pytest.mark.parametrize(
    "coder, max_error, rate", [("klt-dct", 0.0, None), ("klt-dct", 5e-6, None), ("klt-codec", 0.0, 22.0),
                               ("klt-codec", 5e-6, 88.0)]
)  # fmt: skip
def test_residual_layer_on_the_transform_bounds_every_sample(tmp_path, coder, max_error, rate):
    """A transform base with a residual layer: every EEG sample of a clinical recording within the bound, or
    bit-exact; the base rate chosen per file when none is given; the base alone readable."""
    raw = read_recording(DATA_DIR / "MB0400FU.EEG").crop(0, 10).load_data(verbose="error")
    fname = write_raw_dac(tmp_path / "nk.eegdac", raw, codec=coder, max_error=max_error, bits_per_second=rate)
    header = read_header(fname)
    assert header.max_error == max_error and header.residual["margin"] < 1e-6
    assert header.bits_per_second in BASE_RATES if rate is None else header.bits_per_second == rate
    eeg = raw.get_data(picks="eeg")
    decoded = read_raw_dac(fname).get_data(picks="eeg")
    if max_error == 0:
        np.testing.assert_array_equal(decoded, eeg)
    else:
        assert np.abs(decoded - eeg).max() <= max_error
    part = read_raw_dac(fname, tmin=3, tmax=7).get_data(picks="eeg")
    assert np.abs(part - eeg[:, 600:1401]).max() <= max_error
    base = read_raw_dac(fname, layer="tokens").get_data(picks="eeg")
    assert np.abs(base - eeg).max() > max_error  # the lossy base alone


def test_residual_layer_subtracts_a_good_base(tmp_path, excerpt_raw):
    """On eegmat EEG at 5 µV, a KLT + DCT base at 176 bits/s makes the file smaller than the smallest base."""
    sizes = {}
    excerpt_raw.crop(0, 10)
    for rate in (BASE_RATES[0], 176.0):
        fname = write_raw_dac(tmp_path / f"{rate}.eegdac", excerpt_raw, codec="klt-dct", max_error=5e-6,
                              bits_per_second=rate)  # fmt: skip
        header = read_header(fname)
        sizes[rate] = header.token_bytes + header.residual_bytes
        decoded = read_raw_dac(fname).get_data(picks="eeg")
        assert np.abs(decoded - excerpt_raw.get_data(picks="eeg")).max() <= 5e-6
    assert sizes[176.0] < 0.8 * sizes[BASE_RATES[0]]


@pytest.mark.parametrize("field, value", [("hop_length", 1), ("codec_sfreq", 1e6), ("block_frames", 2**30)])
def test_crafted_geometry_is_refused(coded, tmp_path, field, value):
    """A transform-coded file has the rate and blocks this version writes: others would size what a reader
    allocates."""
    fname, _ = coded
    crafted = CraftedFile(fname.read_bytes())
    header = {**crafted.header, field: value}
    (tmp_path / "c.eegdac").write_bytes(crafted.build(header))
    with pytest.raises(EEGDACFormatError):
        read_raw_dac(tmp_path / "c.eegdac")


def _band_errors(raw: mne.io.BaseRaw, decoded: mne.io.BaseRaw) -> tuple[float, dict[str, float]]:
    """PRD (%) and mean band-power errors of the decoded EEG against the high-passed original."""
    from mne_dac.signal.metrics import fidelity_report

    overall = fidelity_report(raw, decoded, codec_sfreq=TRANSFORM_SFREQ, verbose="error").overall
    return overall["prd"], {band: overall[f"err_{band}"] for band in ("delta", "theta", "alpha", "beta")}


@pytest.mark.parametrize("coder", ["klt-dct", "klt-codec"])
def test_band_powers_kept(tmp_path, coder):
    """By default each block keeps its band powers, for little PRD; ``restore_bands=False`` and files with a
    residual layer do without the gains."""
    raw = read_excerpt(0, "rest", verbose=False)
    results = {}
    for restore in (True, False):
        fname = write_raw_dac(tmp_path / f"{restore}.eegdac", raw, codec=coder, bits_per_second=44,
                              restore_bands=restore)  # fmt: skip
        header = read_header(fname)
        assert header.transform.band_edges == (BAND_EDGES if restore else ())
        assert "Band powers:       " + (
            "at least 90% kept in each 64-s block (1-4, 4-8" if restore else "not kept"
        ) in describe_file(fname)
        n_codec = n_codec_samples(raw.n_times, 500.0, TRANSFORM_SFREQ)
        assert 8 * header.token_bytes + header.transform.side_bits <= 44 * 19 * n_codec / TRANSFORM_SFREQ
        results[restore] = _band_errors(raw, read_raw_dac(fname))
    (prd_kept, kept), (prd_least, least) = results[True], results[False]
    assert least["beta"] > 0.25 and max(kept.values()) < 0.15  # every band kept to 90 %, within a step
    assert prd_kept < prd_least + 0.5
    bounded = write_raw_dac(tmp_path / "b.eegdac", raw.copy().crop(0, 10), codec=coder, max_error=5e-6,
                            bits_per_second=44)  # fmt: skip
    assert read_header(bounded).transform.band_edges == ()
    with pytest.raises(TypeError, match="restore_bands"):
        write_raw_dac(tmp_path / "x.eegdac", raw, codec=coder, restore_bands="yes")


#: Transform-coded files written before blocks kept their band powers (8 channels × 8 s of the excerpt at
#: 88 bits/s), with the Volts they decoded to then (float32).
TRANSFORM_RELEASE_FILES = ("klt-dct-2026.12", "klt-codec-2026.12")


@pytest.mark.parametrize("name", TRANSFORM_RELEASE_FILES)
def test_files_written_before_band_gains_decode_as_they_did(name):
    raw = read_raw_dac(DATA_DIR / f"{name}.eegdac", verbose="error")
    assert read_header(DATA_DIR / f"{name}.eegdac").transform.band_edges == ()
    np.testing.assert_allclose(raw.get_data(), np.load(DATA_DIR / f"{name}_decoded.npy"), rtol=0, atol=FLOAT32_ROUNDING)


def test_klt_codec_files_with_band_gains_decode_as_they_did():
    """A ``"klt-codec"`` file with band gains, written with ``linear-2026.12`` (the shipped ``"linear"`` codec of
    2026-12-02), decodes as it did, through the codec named in it: a guard for when that codec changes."""
    fname = DATA_DIR / "klt-codec-linear-2026.12.eegdac"
    header = read_header(fname)
    assert header.codec.name == "linear-2026.12" and header.transform.band_edges
    raw = read_raw_dac(fname, verbose="error")
    np.testing.assert_allclose(raw.get_data(), np.load(DATA_DIR / "klt-codec-linear-2026.12_decoded.npy"), rtol=0,
                               atol=FLOAT32_ROUNDING)  # fmt: skip
