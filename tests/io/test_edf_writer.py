"""The chunked EDF writer writes what MNE's exporter writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import mne
import numpy as np
import pytest

from mne_dac.io import edf_writer

DATA = Path(__file__).parents[1] / "data"


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
    mne.export.export_raw(tmp_path / "mne.edf", raw, physical_range="channelwise", verbose="error")
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


@pytest.mark.parametrize("source", ["eegmat", "eegmmidb"])
def test_samples_on_their_grid_are_written_exactly(source, tmp_path):
    """On the grids its reader computed them on, an EDF's samples are written back bit for bit."""
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.side_channels import reader_grids

    if source == "eegmat":  # physical ranges of 8 digits, a channel's own (-32768 … 32767)
        raw = read_excerpt(0, "rest").crop(0, 10)
    else:  # physical range -8092 … 8092 µV on digital -8092 … 8092: whole µV
        raw = mne.io.read_raw_edf(DATA / "eegmmidb_excerpt_S_R_128Hz.edf", verbose="error").crop(0, 10)
    raw.load_data()
    grids = reader_grids(raw, range(len(raw.ch_names)))
    raw._data[1, 5] += 1e-9  # off its grid: written as MNE's exporter writes it
    deviations = edf_writer.write_edf(raw, tmp_path / "exact.edf", grids)
    assert [name for name, deviation in deviations.items() if deviation > 0] == [raw.ch_names[1]]
    written = mne.io.read_raw_edf(tmp_path / "exact.edf", verbose="error").get_data()[:, : raw.n_times]
    np.testing.assert_array_equal(written[exact_picks := np.r_[0, 2 : len(raw.ch_names)]], raw.get_data()[exact_picks])
    assert np.abs(written[1] - raw.get_data()[1]).max() * 1e6 == pytest.approx(deviations[raw.ch_names[1]], rel=1e-6)


def test_grids_no_edf_header_states_are_written_as_mne_does(raw, tmp_path):
    from mne_dac.io.side_channels import Grid

    grids = [Grid(1e-7, 0.0, 1.0), Grid(0.1, 0.0, 3.7e-6), None, None]  # 0.1 µV steps: data off them; no unit
    deviations = edf_writer.write_edf(raw, tmp_path / "x.edf", grids)
    assert all(deviations[name] > 0 for name in ("Fp1", "Cz", "ECG"))  # the stimulus's few values come back exactly
    mne.export.export_raw(tmp_path / "mne.edf", raw, physical_range="channelwise", verbose="error")
    np.testing.assert_array_equal(mne.io.read_raw_edf(tmp_path / "x.edf", verbose="error").get_data(),
                                  mne.io.read_raw_edf(tmp_path / "mne.edf", verbose="error").get_data())  # fmt: skip


def test_each_channel_its_own_range_and_unit(tmp_path):
    """A channel at -12 V (a Nihon Kohden marker read as EEG) neither coarsens the others nor overflows EDF's
    8-character fields: it is written in mV, the others keep µV resolution."""
    rng = np.random.default_rng(0)
    info = mne.create_info(["Fp1", "Cz", "$A2"], 200.0, "eeg")
    data = np.concatenate([rng.normal(scale=30e-6, size=(2, 2000)), -12.0029 + rng.integers(0, 3, (1, 2000)) * 0.25])
    raw = mne.io.RawArray(data, info, verbose=False)
    deviations = edf_writer.write_edf(raw, tmp_path / "x.edf")
    back = mne.io.read_raw_edf(tmp_path / "x.edf", verbose="error")
    assert back._raw_extras[0]["units"].tolist() == [1e-6, 1e-6, 1e-3]
    written = back.get_data()
    assert np.abs(written[:2] - data[:2]).max() < 0.01e-6 and max(deviations["Fp1"], deviations["Cz"]) < 0.01
    assert np.abs(written[2] - data[2]).max() <= deviations["$A2"] * 1e-3 * (1 + 1e-9)


def test_digital_range_of_the_samples_extremes(tmp_path):
    """An EDF whose header states its samples' extremes as its digital range (as Nihon Kohden's export does) is
    written back bit for bit on its grid."""
    import pyedflib

    from mne_dac.io.side_channels import reader_grids

    digital = np.random.default_rng(1).integers(-12200, 12010, 400).astype(np.int32)
    digital[[0, 1]] = -12200, 12009
    writer = pyedflib.EdfWriter(str(tmp_path / "nk.edf"), 1, file_type=pyedflib.FILETYPE_EDFPLUS)
    writer.setSignalHeaders([dict(label="Fp1", dimension="uV", sample_frequency=200, physical_min=-1191.4,
                                  physical_max=1172.753, digital_min=-12200, digital_max=12009, transducer="",
                                  prefilter="")])  # fmt: skip
    writer.writeDigitalSamples(digital)
    writer.close()
    raw = mne.io.read_raw_edf(tmp_path / "nk.edf", verbose="error")
    deviations = edf_writer.write_edf(raw, tmp_path / "back.edf", reader_grids(raw, [0]))
    assert deviations == {"Fp1": 0.0}
    np.testing.assert_array_equal(mne.io.read_raw_edf(tmp_path / "back.edf", verbose="error").get_data(),
                                  raw.get_data())  # fmt: skip
