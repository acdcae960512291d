"""The mne-dac command line on real files of several formats."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import mne
import pytest
from conftest import DATA_DIR

from mne_dac.commands import main

FORMATS = {
    "edf": DATA_DIR / "eegmmidb_excerpt_S_R_128Hz.edf",
    "eeglab": DATA_DIR / "test_raw.set",
    "nihon": DATA_DIR / "MB0400FU.EEG",
    "fif": DATA_DIR / "data_resting_EO_200Hz_raw.fif",
}


@pytest.mark.parametrize("fmt", sorted(FORMATS))
def test_compress_decompress(fmt, tmp_path, tiny_codec_file, capsys):
    src = FORMATS[fmt]
    raw = mne.io.read_raw(src, verbose="error")
    if fmt == "fif":  # bipolar F4-A1, CZ-A2 typed EEG
        assert raw.ch_names == ["F4-A1", "CZ-A2"]
    out = tmp_path / "rec.eegdac"
    clipping = ["--allow-clipping"] if fmt == "nihon" else []  # a clinical file: 16 % of its EEG beyond ±200 µV
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file), "--n-codebooks", "3", *clipping]) == 0
    printed = capsys.readouterr().out
    assert "bits/s per channel" in printed and "Compression ratio" in printed
    for suffix in (".fif", ".edf"):
        dest = tmp_path / f"rec_raw{suffix}"
        assert main(["decompress", str(out), str(dest), "--codec", str(tiny_codec_file)]) == 0
        back = mne.io.read_raw(dest, verbose="error")
        assert back.ch_names == raw.ch_names
        assert back.info["sfreq"] == raw.info["sfreq"]
        assert back.n_times == raw.n_times
        assert len(back.annotations) == len(raw.annotations)
        if suffix == ".fif":
            assert list(back.annotations.description) == list(raw.annotations.description)
            assert back.info["description"].startswith("Lossy reconstruction by mne-dac codec 'random-seed0'")
            assert "bits/s per channel" in back.info["description"]
        else:  # EDF has no description: the EDF+ recording field says it
            with open(dest, "rb") as fid:
                recording = fid.read(168)[88:].decode("ascii")
            assert "lossy_reconstruction mne-dac_random-seed0 24bps" in recording and "bps" in recording


def test_eegmat_edf_with_default_codec(tmp_path, capsys):
    """The shipped eegmat EDF through compress/decompress with the default codec."""
    from mne_dac.evaluation.datasets import excerpt_fnames

    src = excerpt_fnames(0, "arithmetic")[0]
    out = tmp_path / "sub0.eegdac"
    assert main(["compress", str(src), str(out)]) == 0
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "88 bits/s per channel" in text and "Coded channels:    21" in text
    assert main(["decompress", str(out), str(tmp_path / "sub0_raw.fif")]) == 0
    raw = mne.io.read_raw_edf(src, verbose="error")
    back = mne.io.read_raw_fif(tmp_path / "sub0_raw.fif", verbose="error")
    assert back.ch_names == raw.ch_names and back.n_times == raw.n_times
    assert back.info["sfreq"] == raw.info["sfreq"] and back.annotations == raw.annotations


@pytest.mark.parametrize(
    "coder, fmt, decodes_with", [("klt-dct", "edf", "no codec"), ("klt-codec", "fif", "'linear-2026.12'")]
)
def test_transform_coder(tmp_path, capsys, coder, fmt, decodes_with):
    """compress --codec klt-dct / klt-codec: no tokens; options of codecs refused in one line."""
    src, out = FORMATS[fmt], tmp_path / "rec.eegdac"
    assert main(["compress", str(src), str(out), "--codec", coder, "--bitrate", "200"]) == 0
    text = capsys.readouterr().out
    assert coder in text and "200 bits/s per channel nominal" in text and decodes_with in text
    assert "Band powers:       at least 90% kept in each 64-s block" in text
    assert (
        main(
            ["compress", str(src), str(out), "--codec", coder, "--bitrate", "200", "--no-restore-bands", "--overwrite"]
        )
        == 0
    )
    assert "Band powers:       not kept" in capsys.readouterr().out
    assert main(["decompress", str(out), str(tmp_path / "rec_raw.fif"), "--tmin", "1", "--tmax", "3"]) == 0
    back = mne.io.read_raw_fif(tmp_path / "rec_raw.fif", verbose="error")
    assert back.info["description"].startswith(f"Lossy reconstruction by mne-dac codec '{coder}' at 200 bits/s")
    for extra, message in [
        (["--n-codebooks", "2"], "--n-codebooks does not apply"),
        (["--grouping", "pivot"], "--grouping does not apply"),
        (["--bitrate", "0"], "positive"),
    ]:
        assert main(["compress", str(src), str(tmp_path / "x.eegdac"), "--codec", coder, *extra]) == 1
        assert message in capsys.readouterr().err


def test_codec_within_a_bitrate(tmp_path, capsys):
    """compress --bitrate with a codec: the default codec on each channel, its depth chosen per 4 s."""
    from mne_dac.evaluation.datasets import read_excerpt

    src, out = tmp_path / "rec_raw.fif", tmp_path / "rec.eegdac"
    read_excerpt(0, "rest", verbose=False).crop(0, 8).save(src, verbose="error")
    assert main(["compress", str(src), str(out), "--bitrate", "30"]) == 0
    text = capsys.readouterr().out
    assert "klt-codec: codec 'levels-2026.12'" in text and "on each channel, depth chosen per 4 s" in text
    assert "30 bits/s per channel nominal" in text
    assert main(["decompress", str(out), str(tmp_path / "back_raw.fif")]) == 0
    assert main(["compress", str(src), str(tmp_path / "x.eegdac"), "--bitrate", "30", "--n-codebooks", "2"]) == 1
    assert "--bitrate and --n-codebooks exclude each other" in capsys.readouterr().err


def test_compress_clip_at_level(tmp_path, capsys):
    """--clip-at-level: tokens of EEG thirty times as loud are clipped at thirty times the codec's level (the file
    says so); refused with --bitrate, where each block is scaled; --channel-levels: a level per channel."""
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 4).load_data()
    raw.apply_function(lambda x: x * 30, picks="eeg")
    src = tmp_path / "loud_raw.fif"
    raw.save(src, verbose="error")
    assert main(["compress", str(src), str(tmp_path / "x.eegdac"), "--clip-at-level", "--n-codebooks", "1"]) == 0
    assert re.search(r"clip ±\d{4} µV \(0 samples clipped\)", capsys.readouterr().out)
    assert main(["compress", str(src), str(tmp_path / "y.eegdac"), "--clip-at-level", "--bitrate", "30"]) == 1
    assert "scale each block themselves" in capsys.readouterr().err
    assert main(["compress", str(src), str(tmp_path / "z.eegdac"), "--channel-levels", "--n-codebooks", "1"]) == 0
    assert re.search(r"clip ±\d{4}–\d{4,5} µV \(one level per channel\) \(0 samples clipped\)", capsys.readouterr().out)
    with pytest.raises(SystemExit):  # one or the other
        main(["compress", str(src), str(tmp_path / "z.eegdac"), "--channel-levels", "--clip-at-level"])


def test_compress_with_search(tmp_path, tiny_codec_file, capsys):
    """--search codes with the encoder search (the file decodes as any other); refused where it cannot apply."""
    src, out = FORMATS["fif"], tmp_path / "rec.eegdac"
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file), "--search", "2"]) == 0
    assert main(["decompress", str(out), str(tmp_path / "rec_raw.fif"), "--codec", str(tiny_codec_file)]) == 0
    capsys.readouterr()
    for extra, message in [
        (["--search", "-1"], "--search must be >= 0"),
        (["--search", "2", "--codec", "klt-dct"], "transform coder"),
        (["--search", "2", "--codec", "mc-pivot"], "DAC-SC codecs only"),
    ]:
        assert main(["compress", str(src), str(tmp_path / "x.eegdac"), *extra]) == 1
        assert message in capsys.readouterr().err


def test_errors(tmp_path, tiny_codec_file, capsys):
    out = tmp_path / "a.eegdac"
    src = FORMATS["fif"]
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file)]) == 0
    capsys.readouterr()
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file)]) == 1
    assert "exists; use --overwrite" in capsys.readouterr().err
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file), "--overwrite"]) == 0
    unknown = tmp_path / "notes.xyz"
    unknown.write_text("hello")
    assert main(["compress", str(unknown), str(tmp_path / "b.eegdac")]) == 1
    assert "Could not read" in capsys.readouterr().err
    garbage = tmp_path / "bad.edf"
    garbage.write_bytes(b"\x00" * 300)
    assert main(["compress", str(garbage), str(tmp_path / "c.eegdac")]) == 1
    assert "Could not read" in capsys.readouterr().err
    assert main(["compress", str(tmp_path / "missing.edf"), str(tmp_path / "d.eegdac")]) == 1
    assert "No such file" in capsys.readouterr().err
    assert main(["decompress", str(out), str(tmp_path / "x.wav")]) == 1
    assert "must end with" in capsys.readouterr().err
    truncated = tmp_path / "t.eegdac"
    truncated.write_bytes(out.read_bytes()[:-50])
    assert (
        main(["decompress", str(truncated), str(tmp_path / "t_raw.fif"), "--codec", str(tiny_codec_file)]) == 2
    )  # an invalid .eegdac file
    assert "corrupted or truncated" in capsys.readouterr().err
    assert not (tmp_path / "t_raw.fif").exists()
    assert main(["decompress", str(out), str(tmp_path / "m_raw.fif"), "--codec", "random"]) == 1
    assert "CodecMismatch" not in capsys.readouterr().err  # one clear line, no traceback
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_console_script():
    exe = shutil.which("mne-dac")
    cmd = [exe] if exe else [sys.executable, "-m", "mne_dac.commands"]
    out = subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=True)
    for sub in ("compress", "decompress", "info", "demo"):
        assert sub in out.stdout


def test_demo_reports_against_dct(tmp_path, tiny_codec_file, capsys):
    """The demo prints the metrics' legend and DCT at the same bitrate, and titles its figure."""
    out = tmp_path / "demo"
    assert main(["demo", "--out-dir", str(out), "--codec", str(tiny_codec_file), "--n-codebooks", "2"]) == 0
    printed = capsys.readouterr().out
    assert "At 16 bits/s per channel:          codec       DCT   KLT+DCT klt-codec" in printed
    assert "lower is better" in printed and "96 % of it is lost" in printed
    assert (out / "fidelity.png").stat().st_size > 0
    back = mne.io.read_raw_fif(next(out.glob("*_raw.fif")), verbose="error")
    assert "Lossy reconstruction" in back.info["description"] and "16 bits/s" in back.info["description"]


def test_compress_refuses_before_any_work(tmp_path, tiny_codec_file, capsys):
    """Outputs that would destroy data or cannot be written, and unusable inputs: one line, nothing touched."""
    src = tmp_path / "rec_raw.fif"
    mne.io.read_raw_edf(DATA_DIR.parent.parent / "mne_dac" / "data" / "eegmat" / "Subject00_1.edf", verbose=False).crop(
        0, 2
    ).load_data().save(src, verbose=False)
    before = src.read_bytes()
    codec = ["--codec", str(tiny_codec_file)]
    cases = {
        "must end with .eegdac": ["compress", str(src), str(src), "--overwrite", *codec],
        "must end with .eegdac, got 'x3'": ["compress", str(src), str(tmp_path / "x3"), *codec],
        "does not exist": ["compress", str(src), str(tmp_path / "missing" / "out.eegdac"), *codec],
        "is a folder, not a recording": ["compress", str(tmp_path), str(tmp_path / "out.eegdac"), *codec],
        "does not know the format of '.txt'": ["compress", str(_text_file(tmp_path)), str(tmp_path / "t.eegdac")],
    }
    for message, args in cases.items():
        assert main(args) == 1, message
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert src.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec_raw.fif", "x.txt"]


def _text_file(folder):
    (folder / "x.txt").write_text("not EEG")
    return folder / "x.txt"


def test_compress_stops_on_heavy_clipping(tmp_path, tiny_codec_file, capsys):
    """Data in µV stored as Volts clip everywhere: an error that says why, unless --allow-clipping."""
    raw = mne.io.read_raw_edf(DATA_DIR.parent.parent / "mne_dac" / "data" / "eegmat" / "Subject00_1.edf", verbose=False)
    raw.crop(0, 2).load_data().apply_function(lambda x: x * 1e6)  # µV given as V
    src = tmp_path / "uv_raw.fif"
    raw.save(src, verbose=False)
    out = tmp_path / "uv.eegdac"
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file)]) == 1
    err = capsys.readouterr().err
    assert "exceed the ±200 µV clip level" in err and "in Volts" in err and "--allow-clipping" in err
    assert not out.exists()
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file), "--allow-clipping"]) == 0


def test_stale_temporary_files_are_removed(tmp_path, tiny_codec_file):
    """A writer killed before its rename leaves a temporary folder; the next write of that output removes it."""
    src = DATA_DIR.parent.parent / "mne_dac" / "data" / "eegmat" / "Subject00_1.edf"
    stale = tmp_path / ".out.eegdac.abc123.part"
    stale.mkdir()
    (stale / "out.eegdac").write_bytes(b"partial")
    assert (
        main(
            ["compress", str(src), str(tmp_path / "out.eegdac"), "--codec", str(tiny_codec_file), "--n-codebooks", "1"]
        )
        == 0
    )
    assert not stale.exists()


def test_decompress_says_when_names_do_not_fit(tmp_path, tiny_codec_file, capsys):
    """Non-ASCII channel names round-trip through .eegdac; FIF and EDF cannot spell them: said before decoding."""
    import numpy as np

    import mne_dac

    info = mne.create_info(["Fp1", "Ö2"], 256.0, "eeg")
    raw = mne.io.RawArray(np.random.default_rng(0).normal(0, 2e-5, (2, 512)), info, verbose=False)
    fname = mne_dac.write_raw_dac(
        tmp_path / "u.eegdac", raw, codec=mne_dac.load_codec(tiny_codec_file), verbose="error"
    )
    assert mne_dac.read_raw_dac(fname, codec=str(tiny_codec_file), verbose="error").ch_names == ["Fp1", "Ö2"]
    for suffix in ("_raw.fif", ".edf"):
        assert main(["decompress", str(fname), str(tmp_path / f"u{suffix}"), "--codec", str(tiny_codec_file)]) == 1
        err = capsys.readouterr().err
        assert "channel names in ASCII only, and ['Ö2'] are not" in err and err.count("\n") == 1
    assert not list(tmp_path.glob("u_raw.fif")) and not list(tmp_path.glob("u.edf"))


@pytest.mark.parametrize(
    "error, status, message", [(MemoryError, 1, "out of memory"), (KeyboardInterrupt, 130, "interrupted")]
)
def test_no_traceback_on_memory_or_interruption(error, status, message, monkeypatch, capsys):
    import mne_dac.commands.info as info

    def fail(args):
        raise error()

    monkeypatch.setattr(info, "run", fail)
    assert main(["info", "x.eegdac"]) == status
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
