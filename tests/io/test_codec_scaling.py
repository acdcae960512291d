"""A codec fitted at each channel's level (``channel_levels``) codes at those levels wherever no preprocessing is
given: tokens, files, folders and the command line; the codec's fixed clip level stays one argument away."""

from __future__ import annotations

import mne
import numpy as np
import pytest

from mne_dac import read_tokens, tokenize_raw, write_raw_dac
from mne_dac.commands import main
from mne_dac.io.bulk import compress_dir
from mne_dac.io.container import read_header
from mne_dac.io.raw import preprocessing_at_level

#: Channels at a fifth, once and thirty times the EEG's level.
GAINS = np.array([[0.2], [1.0], [30.0]])


@pytest.fixture
def mixed_raw(excerpt_raw) -> mne.io.BaseRaw:
    """4 s of three channels a fifth, once and thirty times as loud."""
    raw = excerpt_raw.crop(0, 4, include_tmax=False).pick(["Fz", "Cz", "Pz"]).load_data()
    return mne.io.RawArray(raw.get_data() * GAINS, raw.info, verbose="error")


def test_tokens_and_files_at_each_channels_level(tiny_level_codec, tiny_codec, mixed_raw, tmp_path):
    """Tokens and files take a clip level per channel (those of preprocessing_at_level(per_channel=True)), nothing
    clipped; ``preprocessing=codec.preprocessing`` keeps the fixed level; codecs without the flag are unchanged."""
    levels = preprocessing_at_level(mixed_raw, tiny_level_codec, per_channel=True)
    tokens = tokenize_raw(mixed_raw, tiny_level_codec, n_codebooks=1, restore_bands=False)
    assert tokens.preprocessing == levels and tokens.clip_counts.sum() == 0
    assert np.diff(np.log(levels.clip)) == pytest.approx(np.diff(np.log(GAINS.ravel())), abs=0.5)
    fname = write_raw_dac(tmp_path / "levels.eegdac", mixed_raw, tiny_level_codec, n_codebooks=1,
                          restore_bands=False)  # fmt: skip
    assert read_header(fname).preprocessing == levels
    np.testing.assert_array_equal(read_tokens(fname, codec=tiny_level_codec).codes, tokens.codes)
    with pytest.warns(RuntimeWarning, match="Clipped"):  # the loud channel, at ±200 µV
        fixed = tokenize_raw(mixed_raw, tiny_level_codec, n_codebooks=1, restore_bands=False,
                             preprocessing=tiny_level_codec.preprocessing)  # fmt: skip
    assert fixed.preprocessing.clip == 200e-6
    with pytest.warns(RuntimeWarning, match="Clipped"):
        plain = tokenize_raw(mixed_raw, tiny_codec, n_codebooks=1, restore_bands=False)
    assert plain.preprocessing == tiny_codec.preprocessing


def test_folders_and_command_line(corpus_of_levels, tmp_path, tiny_level_codec_file, capsys):
    """compress_dir and mne-dac compress(-dir) code at each channel's level by default, a rerun skips those
    outputs, and ``clip_at_level=False`` / ``--fixed-clip`` code (again) at the codec's fixed level."""
    opts = dict(n_codebooks=1, restore_bands=False, fidelity=False, progress=False)
    out = tmp_path / "out"
    index = compress_dir(corpus_of_levels, out, tiny_level_codec_file, **opts)
    assert (index["status"] == "compressed").all()
    header = read_header(out / "rec_raw.eegdac")
    assert header.preprocessing.per_channel and len(set(header.preprocessing.clip)) == 3
    assert (compress_dir(corpus_of_levels, out, tiny_level_codec_file, **opts)["status"] == "skipped").all()
    with pytest.warns(RuntimeWarning, match="Clipped"):
        fixed = compress_dir(corpus_of_levels, out, tiny_level_codec_file, clip_at_level=False, **opts)
    assert (fixed["status"] == "compressed").all() and read_header(out / "rec_raw.eegdac").preprocessing.clip == 200e-6

    src, codec = corpus_of_levels / "rec_raw.fif", str(tiny_level_codec_file)
    args = ["compress", str(src), "--codec", codec, "--n-codebooks", "1", "--no-restore-bands", "--quiet"]
    assert main([*args[:2], str(tmp_path / "a.eegdac"), *args[2:]]) == 0
    assert read_header(tmp_path / "a.eegdac").preprocessing == header.preprocessing
    assert main([*args[:2], str(tmp_path / "b.eegdac"), *args[2:], "--fixed-clip", "--allow-clipping"]) == 0
    assert read_header(tmp_path / "b.eegdac").preprocessing.clip == 200e-6
    assert main([*args[:2], str(tmp_path / "c.eegdac"), "--codec", "klt-dct", "--fixed-clip", "--quiet"]) == 1
    assert "--fixed-clip sets how a codec's tokens are scaled" in capsys.readouterr().err


@pytest.fixture
def corpus_of_levels(tmp_path, mixed_raw):
    """A folder with the mixed-level recording."""
    folder = tmp_path / "in"
    folder.mkdir()
    mixed_raw.save(folder / "rec_raw.fif", verbose="error")
    return folder
