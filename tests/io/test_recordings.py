"""Tests of the one recording scanner (mne_dac.io.recordings)."""

from __future__ import annotations

import pytest

from mne_dac.io.recordings import (
    RECORDING_EXTENSIONS,
    UnreadableRecordingError,
    check_extensions,
    find_recordings,
    read_recording,
)


def test_find_recordings_one_per_name(tmp_path):
    """Sidecars and exports of a recording are skipped; hidden and skipped folders too.

    Other files that share a name are all recordings (compress-dir reports the clash).
    """
    names = [
        "bv/rec.vhdr", "bv/rec.eeg", "bv/rec.vmrk",  # BrainVision: the header is the recording
        "nk/MB01.EEG", "nk/MB01.EDF", "nk/MB01.PNT",  # Nihon Kohden and its EDF export
        "bvx/r.vhdr", "bvx/r.eeg", "bvx/r.edf",  # BrainVision with an EDF copy: both recordings
        "fif/run_raw.fif.gz", "edf/a.edf", "edf/b.BDF", "edf/b.fif", "set/x.set", "set/x.fdt",
        ".hidden/c.edf", "out/d.edf", "notes.txt",
    ]  # fmt: skip
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    found = [p.relative_to(tmp_path).as_posix() for p in find_recordings(tmp_path, skip=tmp_path / "out")]
    assert found == [
        "bv/rec.vhdr", "bvx/r.edf", "bvx/r.vhdr", "edf/a.edf", "edf/b.BDF", "edf/b.fif", "fif/run_raw.fif.gz",
        "nk/MB01.EEG", "set/x.set",
    ]  # fmt: skip
    only_edf = find_recordings(tmp_path / "nk", [".edf"])
    assert [p.name for p in only_edf] == ["MB01.EDF"]


def test_extensions_checked():
    assert check_extensions([".EDF", ".edf", ".fif.gz"]) == (".edf", ".fif.gz")
    assert ".eeg" in RECORDING_EXTENSIONS and ".fif.gz" in RECORDING_EXTENSIONS
    with pytest.raises(ValueError, match="start with '.'"):
        check_extensions(["edf"])
    with pytest.raises(ValueError, match="at least one"):
        check_extensions([])


def test_read_recording_errors(tmp_path):
    with pytest.raises(UnreadableRecordingError, match="No such file"):
        read_recording(tmp_path / "missing.edf")
    bad = tmp_path / "bad.edf"
    bad.write_bytes(b"not an EDF")
    with pytest.raises(UnreadableRecordingError, match="Could not read"):
        read_recording(bad)
