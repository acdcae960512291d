"""Compressing a tree of recordings: mirrored outputs, resuming, failures, index, CLI, parallel jobs."""

from __future__ import annotations

import os
import shutil

import mne
import numpy as np
import pandas as pd
import pytest

from mne_dac.commands import main
from mne_dac.io.band_gains import BAND_EDGES
from mne_dac.io.bulk import INDEX_COLUMNS, compress_dir, summarize_index
from mne_dac.io.container import read_header, read_tokens

PICKS = ["Fp1", "Fz", "Cz", "O1", "ECG"]
N_EEG = 4  # ECG is typed EEG once written to EDF: exclude=["ECG"] keeps it out of the codec
SFREQ = 500  # the eegmat excerpt's rate
OPTS = {"n_codebooks": 2, "exclude": ["ECG"], "progress": False}
EXPECTED = {"sub-01/rec.edf": "sub-01/rec.eegdac", "sub-02/ses-1/rec_raw.fif": "sub-02/ses-1/rec_raw.eegdac"}


@pytest.fixture
def corpus(tmp_path, excerpt_raw):
    """3 s of real EEG as EDF and FIF files in nested folders, plus files to be ignored."""
    raw = excerpt_raw.crop(0, 3, include_tmax=False).pick(PICKS)
    in_dir = tmp_path / "in"
    (in_dir / "sub-01").mkdir(parents=True)
    (in_dir / "sub-02" / "ses-1").mkdir(parents=True)
    mne.export.export_raw(in_dir / "sub-01" / "rec.edf", raw, verbose="error")
    raw.save(in_dir / "sub-02" / "ses-1" / "rec_raw.fif", verbose="error")
    (in_dir / "sub-01" / "notes.txt").write_text("not a recording")
    (in_dir / ".cache").mkdir()
    (in_dir / ".cache" / "junk.edf").write_bytes(b"\x00" * 300)  # hidden: ignored
    return in_dir


def _outputs(out_dir):
    return sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())


def test_tree_mirrored_and_rerun_skips(corpus, tmp_path, tiny_codec_file):
    out_dir = tmp_path / "out"
    index = compress_dir(corpus, out_dir, tiny_codec_file, **OPTS)
    assert list(index.columns) == list(INDEX_COLUMNS)
    assert dict(zip(index["input"], index["output"])) == EXPECTED
    assert (index["status"] == "compressed").all() and (index["error"] == "").all()
    assert _outputs(out_dir) == sorted([*EXPECTED.values(), "index.csv"])
    for rel in EXPECTED.values():
        assert read_header(out_dir / rel).ch_names == PICKS[:N_EEG]
    assert (index["n_eeg_channels"] == N_EEG).all() and (index["n_channels"] == len(PICKS)).all()
    assert np.allclose(index["duration_s"], 3.0)
    assert (index["bits_per_second"] == 2 * 8).all()  # 2 codebooks of 256 entries, 1 frame/s
    n_times = 3 * SFREQ
    assert np.allclose(index["compression_ratio"], 2 * len(PICKS) * n_times / index["output_bytes"])  # 16-bit
    assert (index["input_bytes"] > index["output_bytes"]).all()
    assert index["input_sha256"].str.fullmatch("[0-9a-f]{64}").all()
    assert np.isfinite(index[["spectrogram_loss", "prd"]].to_numpy()).all()
    on_disk = pd.read_csv(out_dir / "index.csv", keep_default_na=False)
    assert list(on_disk["input"]) == list(index["input"])
    assert np.allclose(on_disk["prd"], index["prd"])
    assert index.attrs["fname"] == str(out_dir / "index.csv")
    summary = summarize_index(index)
    assert "2 compressed, 0 skipped (already done), 0 failed" in summary and "mean PRD" in summary

    mtimes = {rel: (out_dir / rel).stat().st_mtime_ns for rel in EXPECTED.values()}
    again = compress_dir(corpus, out_dir, tiny_codec_file, **OPTS)
    assert (again["status"] == "skipped").all()
    assert {rel: (out_dir / rel).stat().st_mtime_ns for rel in EXPECTED.values()} == mtimes
    # what the run that compressed them measured is kept
    cols = ["duration_s", "n_eeg_channels", "bits_per_second", "input_bytes", "output_bytes", "spectrogram_loss", "prd"]
    pd.testing.assert_frame_equal(again[cols], index[cols])
    assert "0 compressed, 2 skipped" in summarize_index(again)

    changed = corpus / next(iter(EXPECTED))  # an input replaced after its output was written
    future = (out_dir / EXPECTED[next(iter(EXPECTED))]).stat().st_mtime + 10
    os.utime(changed, (future, future))
    refreshed = compress_dir(corpus, out_dir, tiny_codec_file, **OPTS).set_index("input")["status"]
    assert refreshed[next(iter(EXPECTED))] == "compressed" and (refreshed.drop(next(iter(EXPECTED))) == "skipped").all()
    companion = corpus / "sub-02" / "ses-1" / "rec_raw.notes"  # a file of the recording (same stem) changed
    companion.write_text("changed")
    later = (out_dir / EXPECTED["sub-02/ses-1/rec_raw.fif"]).stat().st_mtime + 10
    os.utime(companion, (later, later))
    assert (
        compress_dir(corpus, out_dir, tiny_codec_file, **OPTS).set_index("input")["status"]["sub-02/ses-1/rec_raw.fif"]
        == "compressed"
    )

    # same size, same modification time, other content (a copy that kept the times)
    os.utime(companion, (0, 0))  # back in the past: only the EDF below changes
    edf = corpus / "sub-01" / "rec.edf"
    stat = edf.stat()
    samples = bytearray(edf.read_bytes())
    first = int(samples[184:192])  # the header's size: the first sample follows
    samples[first : first + 2] = bytes(255 - b for b in samples[first : first + 2])  # inverted
    edf.write_bytes(samples)
    os.utime(edf, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    status = compress_dir(corpus, out_dir, tiny_codec_file, **OPTS).set_index("input")["status"]
    assert status.to_dict() == {"sub-01/rec.edf": "compressed", "sub-02/ses-1/rec_raw.fif": "skipped"}

    redone = compress_dir(corpus, out_dir, tiny_codec_file, overwrite=True, fidelity=False, **OPTS)
    assert (redone["status"] == "compressed").all() and redone["prd"].isna().all()


def test_partial_outputs_are_not_finished(corpus, tmp_path, tiny_codec_file):
    out_dir = tmp_path / "out"
    compress_dir(corpus, out_dir, tiny_codec_file, fidelity=False, **OPTS)
    edf_out, fif_out = (out_dir / rel for rel in EXPECTED.values())
    edf_out.write_bytes(edf_out.read_bytes()[:-100])  # truncated at the final name
    # a run killed while writing leaves atomic_write's temporary folder and no final file
    stale = fif_out.parent / f".{fif_out.name}.x1y2z3.part"
    stale.mkdir()
    (stale / fif_out.name).write_bytes(fif_out.read_bytes()[:200])
    fif_out.unlink()
    index = compress_dir(corpus, out_dir, tiny_codec_file, fidelity=False, **OPTS)
    assert (index["status"] == "compressed").all()
    assert not stale.exists()
    assert _outputs(out_dir) == sorted([*EXPECTED.values(), "index.csv"])
    for fname in (edf_out, fif_out):
        read_header(fname)


def test_interrupted_run_keeps_its_journal(corpus, tmp_path, tiny_codec_file):
    """Rows are journaled as they finish: a run killed before writing the index keeps its fidelity."""
    out_dir = tmp_path / "out"
    first = compress_dir(corpus, out_dir, tiny_codec_file, **OPTS)
    (out_dir / "index.csv").rename(out_dir / "index.csv.part")  # as left by a killed run
    again = compress_dir(corpus, out_dir, tiny_codec_file, **OPTS)
    assert (again["status"] == "skipped").all()
    assert np.allclose(again["prd"], first["prd"])
    assert not (out_dir / "index.csv.part").exists()


def test_bad_recordings_are_reported_and_skipped(corpus, tmp_path, tiny_codec_file, capsys):
    (corpus / "sub-03").mkdir()
    (corpus / "sub-03" / "bad.edf").write_bytes(b"\x00" * 300)
    shutil.copy(corpus / "sub-02" / "ses-1" / "rec_raw.fif", corpus / "sub-01" / "rec.fif")  # same output name
    out_dir = tmp_path / "out"
    index = compress_dir(corpus, out_dir, tiny_codec_file, fidelity=False, **OPTS).set_index("input")
    assert list(index.index) == ["sub-01/rec.edf", "sub-01/rec.fif", "sub-02/ses-1/rec_raw.fif", "sub-03/bad.edf"]
    assert list(index["status"]) == ["compressed", "failed", "compressed", "failed"]
    assert "Could not read" in index.loc["sub-03/bad.edf", "error"]
    assert "same output sub-01/rec.eegdac as sub-01/rec.edf" in index.loc["sub-01/rec.fif", "error"]
    assert "Failed sub-03/bad.edf: Could not read" in capsys.readouterr().out  # logged
    on_disk = pd.read_csv(out_dir / "index.csv", keep_default_na=False).set_index("input")
    assert "Could not read" in on_disk.loc["sub-03/bad.edf", "error"]
    assert not (out_dir / "sub-03").exists()
    assert "2 failed" in summarize_index(index.reset_index())


def test_cli(corpus, tmp_path, tiny_codec_file, capsys):
    out_dir = tmp_path / "out"
    args = ["compress-dir", str(corpus), str(out_dir), "--codec", str(tiny_codec_file), "--n-codebooks", "2"]
    args += ["--exclude", "ECG", "--no-fidelity", "--quiet", "--index", "files.csv", "--threads", "1"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "2 recordings: 2 compressed" in printed and "bits/s per channel" in printed
    assert _outputs(out_dir) == sorted([*EXPECTED.values(), "files.csv"])

    (corpus / "sub-01" / "broken.edf").write_bytes(b"\x00" * 300)
    assert main(args) == 1  # after finishing the others
    captured = capsys.readouterr()
    assert "0 compressed, 2 skipped (already done), 1 failed" in captured.out
    assert "Failed: sub-01/broken.edf: Could not read" in captured.out
    assert "1 of 3 recordings failed" in captured.err
    assert len(pd.read_csv(out_dir / "files.csv")) == 3


def test_cli_search(corpus, tmp_path, tiny_codec_file, capsys):
    """compress-dir --search: the workers get the codec with its search (a run-time option that pickles)."""
    args = ["compress-dir", str(corpus), str(tmp_path / "out"), "--codec", str(tiny_codec_file), "--search", "2"]
    assert main([*args, "--exclude", "ECG", "--no-fidelity", "--quiet", "--threads", "1"]) == 0
    assert "2 recordings: 2 compressed" in capsys.readouterr().out
    assert main([*args[:3], "--codec", "klt-dct", "--search", "2"]) == 1
    assert "transform coder" in capsys.readouterr().err


def test_n_jobs(corpus, tmp_path, tiny_codec_file):
    """Two jobs at once give the same files as one. Threads keep the test cheap; worker processes (loky, the
    default) run the same code after a few seconds of start-up each."""
    import joblib
    from mne.utils import logger

    sequential = compress_dir(corpus, tmp_path / "seq", tiny_codec_file, fidelity=False, **OPTS)
    level = logger.level
    with joblib.parallel_config(backend="threading"):
        parallel = compress_dir(corpus, tmp_path / "par", tiny_codec_file, n_jobs=2, fidelity=False, **OPTS)
    assert logger.level == level  # worker threads leave MNE's (process-wide) log level alone
    _assert_same_outputs(parallel, sequential, tmp_path / "par", tmp_path / "seq", tiny_codec_file)


def _assert_same_outputs(index, reference, out_dir, reference_dir, codec):
    """Every recording compressed, into the same bytes and codes as the reference run's."""
    assert (index["status"] == "compressed").all()
    pd.testing.assert_series_equal(index["output_bytes"], reference["output_bytes"])
    for rel in EXPECTED.values():
        np.testing.assert_array_equal(read_tokens(out_dir / rel, codec).codes,
                                      read_tokens(reference_dir / rel, codec).codes)  # fmt: skip


def test_dask_cluster(corpus, tmp_path, tiny_codec_file):
    """On a real Dask cluster (two worker processes on loopback), through joblib's Dask backend."""
    import joblib

    distributed = pytest.importorskip("distributed")
    sequential = compress_dir(corpus, tmp_path / "seq", tiny_codec_file, fidelity=False, **OPTS)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None,
                                 processes=True) as cluster,
        distributed.Client(cluster),
        joblib.parallel_config(backend="dask"),
    ):  # fmt: skip
        clustered = compress_dir(corpus, tmp_path / "dask", tiny_codec_file, n_jobs=-1, fidelity=False, **OPTS)
    _assert_same_outputs(clustered, sequential, tmp_path / "dask", tmp_path / "seq", tiny_codec_file)


def test_max_error(corpus, tmp_path, tiny_codec_file):
    """A bound gives outputs with a residual layer, their fidelity measured against the EEG as it is; a rerun
    with another bound compresses again."""
    out_dir = tmp_path / "out"
    bounded = compress_dir(corpus, out_dir, tiny_codec_file, max_error=1e-6, **OPTS)
    assert (bounded["status"] == "compressed").all()
    assert (bounded["prd"] < 10).all(), bounded["prd"]  # ±1 µV on EEG of 10 µV RMS: about 6 %
    for rel in EXPECTED.values():
        assert read_header(out_dir / rel).residual["max_error"] == 1e-6
    assert (compress_dir(corpus, out_dir, tiny_codec_file, max_error=1e-6, fidelity=False, **OPTS)["status"]
            == "skipped").all()  # fmt: skip
    assert (compress_dir(corpus, out_dir, tiny_codec_file, fidelity=False, **OPTS)["status"] == "compressed").all()
    assert read_header(out_dir / EXPECTED["sub-01/rec.edf"]).residual is None


def test_clip_at_level(corpus, tmp_path, tiny_codec_file, capsys):
    """clip_at_level: each recording at the codec's level (a loud one's clip level raised, the others' kept); a
    rerun skips them all, and one without it compresses the loud one again; refused where blocks scale themselves;
    ``"channel"``: a clip level per channel, kept on a rerun."""
    quiet = mne.io.read_raw(corpus / "sub-02" / "ses-1" / "rec_raw.fif", verbose="error")
    (corpus / "sub-03").mkdir()
    mne.io.RawArray(30 * quiet.get_data(), quiet.info, verbose="error").save(corpus / "sub-03" / "loud_raw.fif")
    loud, out_dir = "sub-03/loud_raw.eegdac", tmp_path / "out"
    index = compress_dir(corpus, out_dir, tiny_codec_file, clip_at_level=True, fidelity=False, **OPTS)
    clips = {rel: read_header(out_dir / rel).preprocessing.clip for rel in index["output"]}
    assert clips == {**dict.fromkeys(EXPECTED.values(), 200e-6), loud: pytest.approx(30 * 200e-6, rel=0.5)}
    assert (index["clipped_share"] == 0).all()
    again = compress_dir(corpus, out_dir, tiny_codec_file, clip_at_level=True, fidelity=False, **OPTS)
    assert (again["status"] == "skipped").all()
    with pytest.warns(RuntimeWarning, match="Clipped"):  # the loud one, at the codec's own level
        plain = compress_dir(corpus, out_dir, tiny_codec_file, fidelity=False, **OPTS)
    assert dict(zip(plain["output"], plain["status"])) == {**dict.fromkeys(EXPECTED.values(), "skipped"),
                                                           loud: "compressed"}  # fmt: skip
    assert read_header(out_dir / loud).preprocessing.clip == 200e-6
    for coding in ({"codec": "klt-dct"}, {"codec": "default", "bits_per_second": 30}):
        with pytest.raises(ValueError, match="clip_at_level sets how a codec's tokens are scaled"):
            compress_dir(corpus, tmp_path / "x", clip_at_level=True, **coding)

    args = ["compress-dir", str(corpus), str(tmp_path / "cli"), "--clip-at-level", "--no-fidelity", "--quiet"]
    assert main([*args, "--codec", str(tiny_codec_file), "--n-codebooks", "2", "--exclude", "ECG"]) == 0
    assert read_header(tmp_path / "cli" / loud).preprocessing.clip == clips[loud]
    assert main([*args, "--codec", "klt-dct"]) == 1
    assert "--clip-at-level sets how a codec's tokens are scaled" in capsys.readouterr().err

    channel = compress_dir(corpus, out_dir, tiny_codec_file, clip_at_level="channel", fidelity=False, **OPTS)
    assert (channel["status"] == "compressed").all()  # another clip level than the recording's one
    levels = read_header(out_dir / loud).preprocessing
    assert levels.per_channel and max(levels.clip) == pytest.approx(30 * 200e-6, rel=0.7)
    assert (compress_dir(corpus, out_dir, tiny_codec_file, clip_at_level="channel", fidelity=False,
                         **OPTS)["status"] == "skipped").all()  # fmt: skip
    with pytest.raises(ValueError, match="Invalid value for the 'clip_at_level' parameter"):
        compress_dir(corpus, out_dir, tiny_codec_file, clip_at_level="channels")


def test_errors(corpus, tmp_path, tiny_codec_file):
    with pytest.raises(FileNotFoundError, match="No such folder"):
        compress_dir(tmp_path / "missing", tmp_path / "out", tiny_codec_file)
    with pytest.raises(FileNotFoundError, match="No codec file"):
        compress_dir(corpus, tmp_path / "out", tmp_path / "nope.pt")
    with pytest.raises(ValueError, match="DAC-MC"):
        compress_dir(corpus, tmp_path / "out", tiny_codec_file, grouping="pivot")
    with pytest.raises(ValueError, match="start with '.'"):
        compress_dir(corpus, tmp_path / "out", tiny_codec_file, extensions=["edf"])
    assert not (tmp_path / "out").exists()


def test_extensions_and_no_index(corpus, tmp_path, tiny_codec_file):
    out_dir = tmp_path / "out"
    index = compress_dir(corpus, out_dir, tiny_codec_file, extensions=[".FIF"], index=None, fidelity=False, **OPTS)
    assert list(index["input"]) == ["sub-02/ses-1/rec_raw.fif"] and index.attrs["fname"] is None
    assert _outputs(out_dir) == ["sub-02/ses-1/rec_raw.eegdac"]


def test_old_spellings_warn(corpus, tmp_path, tiny_codec_file, capsys):
    """not_eeg= and --not-eeg still work for one release, with a warning."""
    with pytest.warns(FutureWarning, match=r"compress_dir\(not_eeg=\) is deprecated"):
        index = compress_dir(corpus, tmp_path / "a", tiny_codec_file, not_eeg=["ECG"], n_codebooks=2, progress=False,
                             fidelity=False, index=None)  # fmt: skip
    assert (index["n_eeg_channels"] == N_EEG).all()
    args = ["compress-dir", str(corpus), str(tmp_path / "b"), "--codec", str(tiny_codec_file), "--n-codebooks", "2"]
    assert main([*args, "--not-eeg", "ECG", "--no-fidelity", "--quiet"]) == 0
    assert "--not-eeg is deprecated" in capsys.readouterr().err


def test_workers_stop_when_their_parent_dies(monkeypatch):
    """A worker re-parented (its compress-dir was killed) stops; the launching process never does."""
    import mne_dac.io.bulk as bulk

    monkeypatch.setattr(bulk, "_first_parent", [])
    assert not bulk._parent_gone(os.getpid())  # compressing in the launching process
    assert not bulk._parent_gone(-1)  # a worker: its parent is recorded
    assert not bulk._parent_gone(-1)
    monkeypatch.setattr(bulk.os, "getppid", lambda: bulk._first_parent[0] + 1)  # re-parented
    assert bulk._parent_gone(-1)
    assert not bulk._parent_gone(os.getpid())


def test_codec_within_a_rate(corpus, tmp_path):
    """compress-dir with a codec and a rate: each channel's depth chosen per 4 s; a second run skips them
    without calling them another codec's."""
    from mne.utils import catch_logging

    index = compress_dir(corpus, tmp_path / "out", "default", bits_per_second=30, progress=False)
    assert (index["status"] == "compressed").all() and (index["codec"] == "klt-codec").all()
    assert (index["coded_bits_per_second"] <= 30).all()
    with catch_logging(verbose="warning") as log:
        again = compress_dir(corpus, tmp_path / "out", "default", bits_per_second=30, progress=False)
    assert (again["status"] == "skipped").all() and "another codec" not in log.getvalue()


@pytest.mark.parametrize("coder", ["klt-dct", "klt-codec"])
def test_transform_coder(corpus, tmp_path, capsys, coder):
    """compress-dir with a transform code: the index says what coded each file."""
    index = compress_dir(corpus, tmp_path / "out", coder, bits_per_second=300, exclude=["ECG"], progress=False)
    assert (index["status"] == "compressed").all() and (index["codec"] == coder).all()
    assert (index["bits_per_second"] == 300).all() and (index["coded_bits_per_second"] <= 300).all()
    assert index["error"].str.contains("at least 1025 samples").all()  # 3 s at 256 Hz: too short to measure
    assert read_header(tmp_path / "out" / index["output"].iloc[0]).transform.band_edges == BAND_EDGES
    if coder == "klt-dct":  # the decode of least squared error: no band gains
        index = compress_dir(corpus, tmp_path / "lsq", coder, bits_per_second=300, restore_bands=False, progress=False)
        assert read_header(tmp_path / "lsq" / index["output"].iloc[0]).transform.band_edges == ()
    with pytest.raises(TypeError, match="restore_bands"):
        compress_dir(corpus, tmp_path / "o4", coder, restore_bands="no")
    with pytest.raises(ValueError, match="n_codebooks does not apply"):
        compress_dir(corpus, tmp_path / "o2", "klt-dct", n_codebooks=2)
    args = ["compress-dir", str(corpus), str(tmp_path / "o3"), "--codec", "klt-dct", "--n-codebooks", "1"]
    assert main(args) == 1
    assert "--n-codebooks does not apply" in capsys.readouterr().err
