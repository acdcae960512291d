"""Version-2 files: streaming writes, random access, entropy-coded tokens, lossless side channels."""

from __future__ import annotations

import zlib
from pathlib import Path

import mne
import numpy as np
import pytest

from mne_dac import EEGDACFormatError, read_raw_dac, read_tokens, tokenize_raw, write_raw_dac
from mne_dac.io.container import read_header
from mne_dac.io.side_channels import Grid, decode_side, encode_side, side_grids
from mne_dac.io.token_coding import TokenTables, decode_tokens, encode_tokens, fit_token_model
from mne_dac.signal import preprocessing

#: Decoding a range, or the whole, differs by the float32 rounding of the decoder: 1e-6 of the clip level.
ATOL = 200e-6 * 1e-6


def _long_raw(seconds: float, sfreq: float = 100.0, seed: int = 0) -> mne.io.RawArray:
    """Correlated 1/f-like EEG in Volts, two EEG channels and an ECG kept aside (on a 16-bit grid)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sfreq)
    common = np.cumsum(rng.normal(size=n)) * 1e-6
    common -= np.convolve(common, np.ones(201) / 201, mode="same")
    eeg = np.stack([common + rng.normal(scale=5e-6, size=n) for _ in range(3)])
    ecg = np.round(rng.normal(scale=300, size=(1, n))) * 0.25e-6  # integers times a step, as read from EDF
    info = mne.create_info(["Fp1", "Fp2", "Cz", "ECG"], sfreq, ["eeg"] * 3 + ["ecg"])
    return mne.io.RawArray(np.concatenate([eeg, ecg]), info, verbose=False)


@pytest.fixture(scope="module")
def long_file(tmp_path_factory, tiny_codec):
    raw = _long_raw(300)
    fname = tmp_path_factory.mktemp("v2") / "long.eegdac"
    write_raw_dac(fname, raw, codec=tiny_codec, verbose="error")
    return fname, raw


def test_streamed_codes_equal_whole_signal_codes(long_file, tiny_codec, tmp_path, monkeypatch):
    fname, raw = long_file
    raw.save(tmp_path / "long_raw.fif", verbose="error")
    lazy = mne.io.read_raw_fif(tmp_path / "long_raw.fif", preload=False, verbose="error")
    write_raw_dac(tmp_path / "lazy.eegdac", lazy, codec=tiny_codec, verbose="error")
    streamed = read_tokens(tmp_path / "lazy.eegdac", tiny_codec)
    np.testing.assert_array_equal(streamed.codes, read_tokens(fname, tiny_codec).codes)
    # without segments: the whole signal preprocessed at once (300 s > one 120-s segment)
    monkeypatch.setattr(preprocessing, "SEGMENT_SECONDS", 1e6)
    whole = tokenize_raw(raw, tiny_codec, verbose="error")
    np.testing.assert_array_equal(streamed.codes, whole.codes)
    np.testing.assert_array_equal(streamed.clip_counts, whole.clip_counts)


def test_random_access_equals_the_cropped_whole(long_file, tiny_codec):
    fname, raw = long_file
    full = read_raw_dac(fname, tiny_codec, verbose="error")
    for tmin, tmax in [(0, 0.5), (151.23, 161.23), (290, 299.99), (17, 17)]:
        part = read_raw_dac(fname, tiny_codec, tmin=tmin, tmax=tmax, verbose="error")
        expected = full.copy().crop(tmin, tmax)
        assert part.n_times == expected.n_times and part.first_samp == expected.first_samp
        np.testing.assert_allclose(part.get_data(), expected.get_data(), rtol=0, atol=ATOL)
        np.testing.assert_array_equal(part.get_data(picks="ECG"), expected.get_data(picks="ECG"))
    with pytest.raises(ValueError, match="within the recording"):
        read_raw_dac(fname, tiny_codec, tmin=299, tmax=400)


def test_read_tokens_of_a_range(long_file, tiny_codec):
    fname, raw = long_file
    whole = read_tokens(fname, tiny_codec)
    frame_seconds = whole.hop_length / whole.codec_sfreq
    for tmin, tmax in [(0, 0.5), (151.23, 161.23), (290, 299.99)]:
        part = read_tokens(fname, tiny_codec, tmin=tmin, tmax=tmax)
        f0 = int(np.floor(tmin / frame_seconds + 1e-9))
        np.testing.assert_array_equal(part.codes, whole.codes[:, :, f0 : f0 + part.n_frames])
        assert (
            part.first_samp / raw.info["sfreq"] <= tmin and (part.first_samp + part.n_times) / raw.info["sfreq"] > tmax
        )
        assert part.n_frames * frame_seconds >= part.n_times / raw.info["sfreq"]  # whole frames span the samples
        np.testing.assert_array_equal(
            part.other_data, raw.get_data(picks="ECG")[:, part.first_samp :][:, : part.n_times]
        )
    with pytest.raises(ValueError, match="within the recording"):
        read_tokens(fname, tiny_codec, tmin=299, tmax=400)
    v1 = Path(__file__).parents[1] / "data" / "default-2026.11.eegdac"  # version 1: read whole, then cut
    whole, part = read_tokens(v1), read_tokens(v1, tmin=1, tmax=2.5)
    f0 = int(1 * whole.codec_sfreq / whole.hop_length)
    np.testing.assert_array_equal(part.codes, whole.codes[:, :, f0 : f0 + part.n_frames])


def test_first_samp_does_not_shift_the_samples(tiny_codec, tmp_path):
    raw = _long_raw(40)
    shifted = mne.io.RawArray(raw.get_data(), raw.info, first_samp=1234, verbose=False)
    for r, name in [(raw, "zero.eegdac"), (shifted, "shifted.eegdac")]:
        write_raw_dac(tmp_path / name, r, codec=tiny_codec, verbose="error")
    zero = read_raw_dac(tmp_path / "zero.eegdac", tiny_codec, verbose="error")
    decoded = read_raw_dac(tmp_path / "shifted.eegdac", tiny_codec, verbose="error")
    assert decoded.first_samp == 1234
    np.testing.assert_allclose(decoded.get_data(), zero.get_data(), rtol=0, atol=ATOL)
    part = read_raw_dac(tmp_path / "shifted.eegdac", tiny_codec, tmin=20, tmax=30, verbose="error")
    np.testing.assert_allclose(part.get_data(), zero.copy().crop(20, 30).get_data(), rtol=0, atol=ATOL)


def test_lazy_raw_saves_what_the_loaded_one_holds(long_file, tiny_codec, tmp_path):
    fname, raw = long_file
    lazy = read_raw_dac(fname, tiny_codec, preload=False, verbose="error")
    assert not lazy.preload
    lazy.save(tmp_path / "rec_raw.fif", fmt="double", verbose="error")
    saved = mne.io.read_raw_fif(tmp_path / "rec_raw.fif", verbose="error").get_data()
    np.testing.assert_allclose(saved, read_raw_dac(fname, tiny_codec, verbose="error").get_data(), rtol=0, atol=ATOL)
    # the channel kept aside is bit-exact
    np.testing.assert_array_equal(saved[3], raw.get_data(picks="ECG")[0])


def test_real_rate_is_reported(long_file):
    fname, _ = long_file
    header = read_header(fname)
    assert header.version == 2 and header.block_frames >= 1
    assert 0 < header.coded_bits_per_second <= header.bits_per_second * 1.05
    assert header.token_bytes == sum(b[0] for b in header_blocks(fname))


def header_blocks(fname):
    from mne_dac.io.block_format import BlockFile

    return BlockFile(fname, lambda *args: None).footer["blocks"]


def test_damaged_block_names_its_time_span(long_file, tiny_codec, tiny_codec_file, tmp_path):
    fname, _ = long_file
    from mne_dac.io.block_format import BlockFile

    blocks = BlockFile(fname, lambda *args: None)
    buf = bytearray(fname.read_bytes())
    buf[blocks.offsets[2] + 3] ^= 0xFF  # inside block 2
    damaged = tmp_path / "damaged.eegdac"
    damaged.write_bytes(bytes(buf))
    with pytest.raises(EEGDACFormatError, match=r"block 2 \(\d+\.\d+–\d+\.\d+ s\) is damaged"):
        read_raw_dac(damaged, tiny_codec, verbose="error")
    # the other blocks still read
    read_raw_dac(damaged, tiny_codec, tmin=0, tmax=1, verbose="error")
    with pytest.warns(RuntimeWarning, match="1 damaged block"):
        salvaged = read_raw_dac(damaged, tiny_codec, salvage=True)
    intact = read_raw_dac(fname, tiny_codec, verbose="error")
    a, b = blocks.bounds[2], blocks.bounds[3]
    assert not salvaged.get_data(start=a, stop=b).any()
    np.testing.assert_array_equal(salvaged.get_data(picks="ECG", stop=a), intact.get_data(picks="ECG", stop=a))
    (bad,) = [x for x in salvaged.annotations if x["description"] == "BAD_damaged"]
    assert np.isclose(bad["onset"], a / salvaged.info["sfreq"]) and np.isclose(bad["duration"], (b - a) / 100)
    from mne_dac.commands import main

    out = tmp_path / "out_raw.fif"
    assert main(["decompress", str(damaged), str(out), "--codec", str(tiny_codec_file)]) == 2
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert main(["decompress", str(damaged), str(out), "--codec", str(tiny_codec_file), "--salvage"]) == 0


@pytest.mark.parametrize("seed", range(3))
def test_token_coding_is_exact(tiny_codec, seed):
    rng = np.random.default_rng(seed)
    tables = TokenTables.from_codec(tiny_codec)
    x = np.cumsum(rng.normal(size=(5, 512 * 20)), axis=1) / 100
    codes = tiny_codec.encode(np.clip(x + rng.normal(scale=0.01, size=x.shape), -1, 1).astype(np.float32))
    noise = rng.integers(0, tiny_codec.codebook_size, size=codes.shape)  # incompressible codes too
    for block in (codes, noise, codes[:1], codes[:, :1]):
        model = fit_token_model(block, tables)
        payload = encode_tokens(block, model, tables)
        np.testing.assert_array_equal(decode_tokens(payload, block.shape, model, tables), block)


def test_token_tables_are_reproducible(tiny_codec):
    """The same tables from a fresh copy of the codec; computed once per codec and weights, anew once trained."""
    import copy

    import torch

    codec = copy.deepcopy(tiny_codec)
    tables = TokenTables.from_codec(codec)
    assert TokenTables.from_codec(codec) is tables and TokenTables.from_codec(tiny_codec).sha256 == tables.sha256
    with torch.no_grad():
        codec.model.quantizer.quantizers[0].codebook.weight.mul_(2)
    assert TokenTables.from_codec(codec).sha256 != tables.sha256


def test_side_channels_are_bit_exact():
    rng = np.random.default_rng(0)
    grid = np.round(rng.normal(scale=1000, size=(2, 3000))) * 0.0305e-6 + 1e-7
    odd = np.array([[np.nan, np.inf, -np.inf, 0.0, -0.0, 1e300, 5e-324] * 10])
    for data in (grid, rng.normal(size=(3, 1000)), odd, np.zeros((1, 1)), np.zeros((0, 5))):
        back = decode_side(encode_side(data), *data.shape)
        np.testing.assert_array_equal(back.view(np.uint64), np.asarray(data, dtype=np.float64).view(np.uint64))
    assert len(encode_side(grid)) < 0.6 * len(zlib.compress(grid.tobytes()))  # on a grid: FLAC of the integers
    with pytest.raises(EEGDACFormatError):
        decode_side(encode_side(grid)[:-5], *grid.shape)


def test_side_payloads_name_their_reader_grids():
    """Only a reader's grid is reported: an estimated grid (shifted) or float64 samples give None."""
    rng = np.random.default_rng(0)
    reader = Grid(0.0305e-6, 1e-7)
    data = np.stack([reader.values(np.round(rng.normal(scale=1000, size=3000))),
                     np.round(rng.normal(scale=1000, size=3000)) * 0.5e-6, rng.normal(size=3000)])  # fmt: skip
    payload = encode_side(data, [reader, None, None])
    assert side_grids(payload, 3) == [reader, None, None]
    with pytest.raises(EEGDACFormatError, match="cut off"):
        side_grids(payload[:4], 3)


def test_edf_side_channels_cost_what_flac_costs(tiny_codec, tmp_path):
    import io

    import soundfile

    from mne_dac.evaluation.datasets import _fname

    src = _fname(0, "rest")  # the shipped eegmat excerpt
    raw = mne.io.read_raw_edf(src, preload=False, verbose="error")
    aside = [n for n in raw.ch_names if n.startswith("EEG")][:2]
    raw.set_channel_types(dict.fromkeys(aside, "misc"), verbose="error")
    fname = write_raw_dac(tmp_path / "rec.eegdac", raw, codec=tiny_codec, verbose="error")
    original = mne.io.read_raw_edf(src, preload=True, verbose="error").get_data(picks=aside)
    back = read_raw_dac(fname, tiny_codec, verbose="error").get_data(picks=aside)
    np.testing.assert_array_equal(back.view(np.uint64), original.view(np.uint64))
    flac = 0
    for channel in original:  # FLAC of the file's 16-bit integers, whole channel
        values = np.unique(channel)
        k = np.rint((channel - values[0]) / np.diff(values).min()).astype(np.int32) - 32768
        buf = io.BytesIO()
        soundfile.write(buf, k.astype(np.int16), 500, format="FLAC", subtype="PCM_16")
        flac += len(buf.getvalue())
    header = read_header(fname)
    side = sum(b[1] for b in header_blocks(fname))
    assert side < 1.25 * flac, (side, flac)
    assert header.file_size > side


def test_integer_readers_give_their_grid(tmp_path):
    """Nihon Kohden and FIF ``short`` samples are rebuilt bit for bit from the reader's own calibration."""
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.side_channels import reader_grids

    excerpt = read_excerpt(0, "rest").crop(0, 10).load_data()
    for ch in excerpt.info["chs"]:
        ch["cal"], ch["range"] = 1e-7, 1.0  # 0.1 µV steps in int16
    excerpt.save(tmp_path / "short_raw.fif", fmt="short", verbose="error")
    readers = [mne.io.read_raw_nihon(Path(__file__).parents[1] / "data" / "MB0400FU.EEG", verbose="error"),
               mne.io.read_raw_fif(tmp_path / "short_raw.fif", verbose="error")]  # fmt: skip
    for raw in readers:
        raw.pick(raw.ch_names[:8]).load_data()
        grids = reader_grids(raw, range(8))
        assert grids is not None
        for grid, channel in zip(grids, raw.get_data()):
            np.testing.assert_array_equal(grid.values(grid.integers(channel)), channel)
        encoded = encode_side(raw.get_data(), grids)
        np.testing.assert_array_equal(decode_side(encoded, 8, raw.n_times), raw.get_data())
