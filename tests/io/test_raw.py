"""tokenize_raw / reconstruct_raw on real EEG."""

from __future__ import annotations

import mne
import numpy as np
import pytest
from conftest import make_tiny_codec

from mne_dac import CodecMismatchError, EEGTokens, PreprocessingSettings, load_codec, reconstruct_raw, tokenize_raw


def test_round_trip_keeps_metadata(excerpt_raw, tiny_codec):
    raw = excerpt_raw
    raw.set_annotations(mne.Annotations([1.0, 5.5], [0.5, 2.0], ["blink", "task"], orig_time=raw.info["meas_date"]))
    tokens = tokenize_raw(raw, tiny_codec, verbose=False)
    assert isinstance(tokens, EEGTokens)
    n_eeg = len(mne.pick_types(raw.info, eeg=True))
    assert tokens.codes.shape == (n_eeg, 4, 20)
    assert tokens.other_ch_names == ["A2-A1", "ECG"]
    recon = reconstruct_raw(tokens, tiny_codec, verbose=False)
    assert recon.ch_names == raw.ch_names
    assert recon.get_channel_types() == raw.get_channel_types()
    assert recon.info["sfreq"] == raw.info["sfreq"]
    assert recon.n_times == raw.n_times
    assert recon.first_samp == raw.first_samp
    assert recon.info["meas_date"] == raw.info["meas_date"]
    assert recon.annotations == raw.annotations or (
        np.allclose(recon.annotations.onset, raw.annotations.onset)
        and list(recon.annotations.description) == list(raw.annotations.description)
    )
    pos = raw.get_montage().get_positions()["ch_pos"]
    pos2 = recon.get_montage().get_positions()["ch_pos"]
    assert pos.keys() == pos2.keys()
    np.testing.assert_allclose(np.array(list(pos.values())), np.array(list(pos2.values())))
    # channels that are not EEG are kept losslessly
    np.testing.assert_array_equal(recon.get_data("ecg"), raw.get_data("ecg"))
    assert recon.get_data("eeg").std() > 0


def test_n_codebooks_and_clip_counts(excerpt_raw, tiny_codec):
    tokens = tokenize_raw(excerpt_raw, tiny_codec, n_codebooks=2, verbose=False)
    assert tokens.n_codebooks == 2 and tokens.bits_per_second == 16.0
    assert tokens.clip_counts.shape == (tokens.n_channels,)
    assert tokens.compression_ratio == pytest.approx(16 * 500 / 16)
    tokens = tokenize_raw(excerpt_raw, tiny_codec, preprocessing=PreprocessingSettings(clip=5e-6), verbose=False)
    assert tokens.clip_counts.sum() > 0
    assert tokens.preprocessing.clip == 5e-6


def test_codec_mismatch(excerpt_raw, tiny_codec):
    tokens = tokenize_raw(excerpt_raw, tiny_codec, verbose=False)
    with pytest.raises(CodecMismatchError, match="random-seed0.*random-seed1"):
        reconstruct_raw(tokens, make_tiny_codec(seed=1))
    with pytest.raises(ValueError, match="pass it as codec="):
        reconstruct_raw(tokens)


def test_default_codec_resolved(excerpt_raw):
    raw = excerpt_raw.crop(0, 3, include_tmax=False)
    tokens = tokenize_raw(raw, verbose=False)
    assert tokens.codec.name == load_codec("default", verbose=False).name
    recon = reconstruct_raw(tokens, verbose=False)  # codec found from the identity
    assert recon.n_times == raw.n_times


def test_bad_recordings(excerpt_raw, tiny_codec):
    no_eeg = excerpt_raw.copy().pick(["ECG", "A2-A1"])
    with pytest.raises(ValueError, match="no EEG channels.*set_channel_types"):
        tokenize_raw(no_eeg, tiny_codec)
    short = excerpt_raw.copy().crop(0, 0.5)
    with pytest.warns(RuntimeWarning, match="shorter than one codec frame"):
        tokens = tokenize_raw(short, tiny_codec, verbose=False)
    assert reconstruct_raw(tokens, tiny_codec, verbose=False).n_times == short.n_times
    with pytest.raises(TypeError, match="raw"):
        tokenize_raw(np.zeros((2, 100)), tiny_codec)
    with pytest.raises(TypeError, match="tokens"):
        reconstruct_raw(np.zeros((2, 4, 3)), tiny_codec)
    micro = excerpt_raw.copy().apply_function(lambda x: x * 1e6, picks="eeg")
    with pytest.warns(RuntimeWarning, match="probably in µV"):
        tokenize_raw(micro, tiny_codec, verbose=False)


def test_save_reconstruction_is_honest(excerpt_raw, tiny_codec, tmp_path):
    """EDF lists what it cannot hold; FIF keeps the channels kept aside bit-exact."""
    from mne_dac.io.raw import save_reconstruction

    raw = excerpt_raw.copy().crop(0, 4)
    raw.info["bads"] = ["Fp1"]
    raw.set_montage("standard_1020", on_missing="ignore", verbose="error")
    tokens = tokenize_raw(raw, tiny_codec, n_codebooks=2, verbose=False)
    recon = reconstruct_raw(tokens, tiny_codec, verbose=False)
    with pytest.warns(RuntimeWarning, match=r"EDF cannot hold .*; the bad channels \(Fp1\); the electrode positions"):
        save_reconstruction(recon, tmp_path / "rec.edf")
    save_reconstruction(recon, tmp_path / "rec_raw.fif")
    back = mne.io.read_raw_fif(tmp_path / "rec_raw.fif", verbose=False)
    assert back.info["bads"] == ["Fp1"]
    other = [n for n, t in zip(raw.ch_names, raw.get_channel_types()) if t != "eeg"]
    np.testing.assert_array_equal(back.get_data(picks=other), raw.get_data(picks=other))


def test_edf_at_any_sampling_rate(tmp_path):
    """A rate that is no whole number of Hz (173.61) writes, padded to whole records, and says so."""
    from datetime import datetime, timezone

    from mne_dac.io.raw import save_reconstruction

    info = mne.create_info(["Fp1", "Cz"], 173.61, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (2, 1737)), info, verbose=False)
    raw.set_meas_date(datetime(2020, 1, 1, tzinfo=timezone.utc))
    with pytest.warns(RuntimeWarning, match="EDF holds whole data records of 173 samples: 166 copies"):
        save_reconstruction(raw, tmp_path / "odd.edf")
    back = mne.io.read_raw_edf(tmp_path / "odd.edf", verbose=False)
    assert back.n_times == 1737 + 166 and "BAD_ACQ_SKIP" in back.annotations.description
    np.testing.assert_allclose(back.get_data()[:, :1737], raw.get_data(), atol=1e-8)


def test_edf_names_the_channels_it_cannot_hold_exactly(tmp_path):
    """Samples to be kept exactly: EDF names the channels on no grid it can state (here Cz, on none)."""
    from datetime import datetime, timezone

    from mne_dac.io.raw import save_reconstruction
    from mne_dac.io.side_channels import Grid

    info = mne.create_info(["Fp1", "Cz"], 100.0, "eeg")
    grid = Grid(0.5, 0.0, 1e-6)  # half µV: header -16384 … 16383.5 µV on -32768 … 32767
    data = np.stack([grid.values(np.arange(-300, 300)), np.random.default_rng(0).normal(0, 1e-5, 600)])
    raw = mne.io.RawArray(data, info, verbose=False)
    raw.set_meas_date(datetime(2020, 1, 1, tzinfo=timezone.utc))
    with pytest.warns(RuntimeWarning, match=r"holds the samples of Cz up to .* away from those decoded \(µV"):
        save_reconstruction(raw, tmp_path / "exact.edf", exact=True, grids={"Fp1": grid})
    np.testing.assert_array_equal(mne.io.read_raw_edf(tmp_path / "exact.edf", verbose=False).get_data()[0], data[0])


def test_edf_says_it_loses_channel_types_and_fif_takes_any_case(tmp_path):
    """EDF warns that it loses the channel types; an upper-case .FIF output writes."""
    from datetime import datetime, timezone

    from mne_dac.io.raw import save_reconstruction

    info = mne.create_info(["Fp1", "Cz", "ECG", "EOG1"], 256.0, ["eeg", "eeg", "ecg", "eog"])
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 1e-5, (4, 512)), info, verbose=False)
    raw.set_meas_date(datetime(2020, 1, 1, tzinfo=timezone.utc))
    with pytest.warns(RuntimeWarning, match=r"EDF cannot hold channel types \(ecg, eog: EDF readers see EEG\)"):
        save_reconstruction(raw, tmp_path / "typed.edf")
    assert mne.io.read_raw_edf(tmp_path / "typed.edf", verbose=False).ch_names == raw.ch_names
    save_reconstruction(raw, tmp_path / "UPPER_raw.FIF")
    assert mne.io.read_raw_fif(tmp_path / "UPPER_raw.FIF", verbose=False).ch_names == raw.ch_names


def test_tokens_at_the_recordings_level(tmp_path):
    """preprocessing_at_level: EEG a fifth or thirty times as loud is tokenized as the original (same PRD, nothing
    clipped) and decodes to its own level, in memory and in a file; EEG at the codec's level keeps its settings."""
    from mne_dac import read_raw_dac, write_raw_dac
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.raw import preprocessing_at_level

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 8).pick("eeg").load_data()
    raw.filter(0.5, None, verbose="error")
    codec = load_codec("default")
    assert preprocessing_at_level(raw, codec) == codec.preprocessing
    prds = {}
    for level in (0.2, 1.0, 30.0):
        scaled = mne.io.RawArray(raw.get_data() * level, raw.info, verbose="error")
        settings = preprocessing_at_level(scaled, codec)
        assert settings.highpass == codec.preprocessing.highpass
        assert settings.clip == pytest.approx(codec.preprocessing.clip * level, rel=0.6)
        tokens = tokenize_raw(scaled, codec, n_codebooks=2, preprocessing=settings, restore_bands=False)
        assert tokens.clip_counts.sum() == 0 and tokens.preprocessing == settings
        decoded = reconstruct_raw(tokens).get_data()
        x = scaled.get_data()
        prds[level] = 100 * np.sqrt(np.sum((x - decoded) ** 2) / np.sum(x**2))
    assert abs(prds[0.2] - prds[1.0]) < 2 and abs(prds[30.0] - prds[1.0]) < 2, prds

    fname = write_raw_dac(tmp_path / "loud.eegdac", scaled, codec, n_codebooks=2, preprocessing=settings,
                          restore_bands=False)  # fmt: skip
    np.testing.assert_allclose(read_raw_dac(fname).get_data(), decoded, rtol=0, atol=1e-3 * np.abs(x).max())
    with pytest.raises(ValueError, match="scales each block itself"):
        write_raw_dac(tmp_path / "within.eegdac", scaled, codec, bits_per_second=44, preprocessing=settings)
    raw._data *= 1e4  # microvolts read as Volts
    with pytest.raises(ValueError, match="are the data in Volts"):
        preprocessing_at_level(raw, codec)


def test_tokens_at_each_channels_level(tmp_path):
    """preprocessing_at_level(per_channel=True): channels a fifth, once and thirty times as loud in one recording
    each get their own clip level, code as they do at the recording's own level (same PRD, nothing clipped) and
    decode to their own level, in memory and in a file whose header holds the levels."""
    from mne_dac import read_raw_dac, read_tokens, write_raw_dac
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.raw import preprocessing_at_level

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 8).pick(["Fz", "Cz", "Pz"]).load_data()
    raw.filter(0.5, None, verbose="error")
    codec = load_codec("default")
    x = raw.get_data()
    level = mne.io.RawArray(x, raw.info, verbose="error")
    scaled = mne.io.RawArray(x * np.array([[0.2], [1.0], [30.0]]), raw.info, verbose="error")
    prds = []
    for recording in (level, scaled):
        settings = preprocessing_at_level(recording, codec, per_channel=True)
        assert settings.per_channel and len(settings.clip) == 3 and settings.highpass == codec.preprocessing.highpass
        tokens = tokenize_raw(recording, codec, n_codebooks=2, preprocessing=settings, restore_bands=False)
        assert tokens.clip_counts.sum() == 0 and tokens.preprocessing == settings
        decoded = reconstruct_raw(tokens).get_data()
        original = recording.get_data()
        prds.append(100 * np.sqrt(np.sum((original - decoded) ** 2, axis=1) / np.sum(original**2, axis=1)))
    np.testing.assert_allclose(prds[1], prds[0], atol=1.0)
    fname = write_raw_dac(tmp_path / "levels.eegdac", scaled, codec, n_codebooks=2, preprocessing=settings,
                          restore_bands=False)  # fmt: skip
    assert read_tokens(fname).preprocessing == settings
    np.testing.assert_allclose(read_raw_dac(fname).get_data(), decoded, rtol=0, atol=1e-3 * np.abs(original).max())
    with pytest.raises(ValueError, match="3 clip levels, one per channel, for 2 channels"):
        tokenize_raw(scaled.copy().pick([0, 1]), codec, preprocessing=settings)
