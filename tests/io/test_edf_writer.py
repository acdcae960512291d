"""The chunked EDF writer writes what MNE's exporter writes."""

from __future__ import annotations

import datetime as dt

import mne
import numpy as np
import pytest

from mne_dac.io import edf_writer


@pytest.fixture
def raw() -> mne.io.RawArray:
    rng = np.random.default_rng(0)
    sfreq, n = 100.0, 1234  # not whole records: the end is padded
    info = mne.create_info(["Fp1", "Cz", "ECG", "STI"], sfreq, ["eeg", "eeg", "ecg", "stim"])
    data = np.concatenate([rng.normal(scale=30e-6, size=(3, n)), rng.integers(0, 3, (1, n))])
    raw = mne.io.RawArray(data, info, first_samp=250, verbose=False)
    raw.set_meas_date(dt.datetime(2021, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc))
    raw.set_annotations(mne.Annotations([3.0, 5.5], [1.0, 0.0], ["BAD_move", "seizure"],
                                        orig_time=raw.info["meas_date"]))  # fmt: skip
    raw.annotations.onset += raw.first_time
    return raw


def test_chunked_edf_equals_mne_export(raw, tmp_path, monkeypatch):
    monkeypatch.setattr(edf_writer, "CHUNK_SECONDS", 3)  # several chunks, the last one short
    edf_writer.write_edf(raw, tmp_path / "chunked.edf")
    mne.export.export_raw(tmp_path / "mne.edf", raw, verbose="error")
    ours = mne.io.read_raw_edf(tmp_path / "chunked.edf", verbose="error")
    theirs = mne.io.read_raw_edf(tmp_path / "mne.edf", verbose="error")
    assert ours.ch_names == theirs.ch_names and ours.n_times == theirs.n_times == 1300
    np.testing.assert_array_equal(ours.get_data(), theirs.get_data())
    assert ours.info["meas_date"] == theirs.info["meas_date"]
    for a, b in zip(ours.annotations, theirs.annotations):
        assert (a["onset"], a["duration"], a["description"]) == pytest.approx(
            (b["onset"], b["duration"], b["description"])
        )
    assert len(ours.annotations) == len(theirs.annotations) == 3  # with the end's BAD_ACQ_SKIP
    assert not list(tmp_path.glob(".*samples"))  # the temporary samples are removed


def test_labels_longer_than_edf_holds_are_refused(raw, tmp_path):
    raw.rename_channels({"Fp1": "a-very-long-electrode-name"})
    with pytest.raises(ValueError, match="16 characters"):
        edf_writer.write_edf(raw, tmp_path / "x.edf")
