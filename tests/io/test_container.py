"""The .eegdac container: round trip, bit packing, integrity, atomic writes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_tiny_codec

from mne_dac import (
    CodecMismatchError,
    EEGDACFormatError,
    read_raw_dac,
    read_tokens,
    tokenize_raw,
    write_raw_dac,
    write_tokens,
)
from mne_dac.io.container import MAGIC, pack_codes, read_header, unpack_codes


@pytest.mark.parametrize("n_bits", [1, 7, 8, 10, 12])
def test_bit_packing(rng, n_bits):
    codes = rng.integers(0, 1 << n_bits, size=(3, 5, 17))
    buf = pack_codes(codes, n_bits)
    assert len(buf) == -(-codes.size * n_bits // 8)
    np.testing.assert_array_equal(unpack_codes(buf, n_bits, codes.shape), codes)
    with pytest.raises(ValueError, match="do not fit"):
        pack_codes(codes + (1 << n_bits), n_bits)


def test_round_trip(excerpt_raw, tiny_codec, tmp_path):
    fname = tmp_path / "rec.eegdac"
    write_raw_dac(fname, excerpt_raw, codec=tiny_codec, verbose=False)
    tokens = tokenize_raw(excerpt_raw, tiny_codec, verbose=False)
    read = read_tokens(fname, tiny_codec)
    np.testing.assert_array_equal(read.codes, tokens.codes)
    np.testing.assert_array_equal(read.clip_counts, tokens.clip_counts)
    np.testing.assert_array_equal(read.other_data, tokens.other_data)
    assert read.codec == tokens.codec and read.preprocessing == tokens.preprocessing
    assert read.ch_names == tokens.ch_names and read.n_times == tokens.n_times
    raw = read_raw_dac(fname, codec=tiny_codec, verbose=False)
    assert raw.ch_names == excerpt_raw.ch_names and raw.n_times == excerpt_raw.n_times
    header = read_header(fname)
    assert header.version == 2 and header.bits_per_code == 8 and header.codes_shape == tokens.codes.shape
    assert header.bits_per_second == tokens.bits_per_second and header.duration == tokens.duration
    # codes take n_channels * n_codebooks * n_frames bytes at 8 bits per code
    assert header.codes_compression_ratio == 16 * len(tokens.ch_names) * tokens.n_times / (8 * tokens.codes.size)


def test_n_codebooks_and_overwrite(excerpt_raw, tiny_codec, tmp_path):
    fname = tmp_path / "rec.eegdac"
    write_raw_dac(fname, excerpt_raw, codec=tiny_codec, n_codebooks=2, verbose=False)
    assert read_tokens(fname, tiny_codec).n_codebooks == 2
    with pytest.raises(FileExistsError, match="overwrite"):
        write_raw_dac(fname, excerpt_raw, codec=tiny_codec)
    write_raw_dac(fname, excerpt_raw, codec=tiny_codec, overwrite=True, verbose=False)
    assert read_tokens(fname, tiny_codec).n_codebooks == 4


def test_corrupted_and_truncated(excerpt_raw, tiny_codec, tmp_path):
    fname = tmp_path / "rec.eegdac"
    write_raw_dac(fname, excerpt_raw, codec=tiny_codec, verbose=False)
    buf = fname.read_bytes()
    for i, damaged in enumerate([buf[:-1], buf[: len(buf) // 2], buf[:20]]):
        (tmp_path / f"t{i}.eegdac").write_bytes(damaged)
        with pytest.raises(EEGDACFormatError, match="corrupted or truncated|not an .eegdac"):
            read_raw_dac(tmp_path / f"t{i}.eegdac", codec=tiny_codec)
    flipped = bytearray(buf)
    flipped[len(buf) // 2] ^= 0x10
    (tmp_path / "flip.eegdac").write_bytes(bytes(flipped))
    with pytest.raises(EEGDACFormatError, match="SHA-256 does not match"):
        read_tokens(tmp_path / "flip.eegdac", tiny_codec)
    (tmp_path / "other.eegdac").write_bytes(b"0" * 100)
    with pytest.raises(EEGDACFormatError, match="not an .eegdac"):
        read_tokens(tmp_path / "other.eegdac", tiny_codec)
    newer = bytearray(buf)
    newer[len(MAGIC)] = 99
    (tmp_path / "newer.eegdac").write_bytes(bytes(newer))
    with pytest.raises(EEGDACFormatError, match="upgrade mne-dac"):
        read_tokens(tmp_path / "newer.eegdac", tiny_codec)
    with pytest.raises(FileNotFoundError):
        read_tokens(tmp_path / "missing.eegdac", tiny_codec)


def test_codec_mismatch_on_decode(excerpt_raw, tiny_codec, tmp_path):
    fname = tmp_path / "rec.eegdac"
    write_raw_dac(fname, excerpt_raw, codec=tiny_codec, verbose=False)
    with pytest.raises(CodecMismatchError, match="another codec would give wrong signals"):
        read_raw_dac(fname, codec=make_tiny_codec(seed=3))


def test_failed_write_leaves_nothing(excerpt_raw, tiny_codec, tmp_path, monkeypatch):
    import mne_dac.io.container as container

    tokens = tokenize_raw(excerpt_raw, tiny_codec, verbose=False)

    def broken(*args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(container, "pack_codes", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        write_tokens(tmp_path / "rec.eegdac", tokens)
    monkeypatch.undo()
    real = tmp_path / "keep.eegdac"
    write_tokens(real, tokens)
    before = real.read_bytes()

    def crash_midway(fid_bytes):
        raise OSError("interrupted")

    monkeypatch.setattr(container, "_info_to_bytes", crash_midway)
    with pytest.raises(OSError, match="interrupted"):
        write_tokens(real, tokens, overwrite=True)
    assert real.read_bytes() == before  # the old file is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.eegdac"]


def test_bitrate_is_the_old_name_of_bits_per_second(excerpt_raw, tiny_codec, tmp_path):
    tokens = tokenize_raw(excerpt_raw, tiny_codec, n_codebooks=2, verbose=False)
    write_tokens(tmp_path / "t.eegdac", tokens)
    header = read_header(tmp_path / "t.eegdac")
    for obj in (tokens, header):
        with pytest.warns(FutureWarning, match="use .bits_per_second"):
            assert obj.bitrate == obj.bits_per_second
