"""Tests of the shipped EEG excerpt (mne_dac.evaluation.datasets)."""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest

from mne_dac.evaluation.datasets import excerpt_fnames, read_excerpt

EEG_NAMES = [
    "Fp1", "Fp2", "F3", "F4", "F7", "F8", "T3", "T4", "C3", "C4",
    "T5", "T6", "P3", "P4", "O1", "O2", "Fz", "Cz", "Pz",
]  # fmt: skip


def test_excerpt_fnames_exist():
    """All four shipped EDF files exist, in subject-then-task order."""
    fnames = excerpt_fnames()
    assert [f.name for f in fnames] == [
        "Subject00_1.edf",
        "Subject00_2.edf",
        "Subject01_1.edf",
        "Subject01_2.edf",
    ]
    for fname in fnames:
        assert fname.is_file()
        assert fname.stat().st_size < 2_000_000
    # the attribution travels with the data
    folder = fnames[0].parent
    assert (folder / "LICENSE.txt").is_file()
    assert "Zyma I" in (folder / "LICENSE.txt").read_text(encoding="utf-8")


def test_excerpt_fnames_selection():
    """Single values and custom orders are accepted."""
    assert [f.name for f in excerpt_fnames(subjects=1, tasks="arithmetic")] == ["Subject01_2.edf"]
    assert [f.name for f in excerpt_fnames([1, 0], ["arithmetic", "rest"])] == [
        "Subject01_2.edf",
        "Subject01_1.edf",
        "Subject00_2.edf",
        "Subject00_1.edf",
    ]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"subjects": 2}, "subject must be one of"),
        ({"subjects": [0, 5]}, "subject must be one of"),
        ({"subjects": "Subject00"}, "subject must be one of"),
        ({"subjects": True}, "subject must be one of"),
        ({"tasks": "task"}, "task must be one of"),
        ({"tasks": ["rest", 1]}, "task must be one of"),
    ],
)
def test_excerpt_fnames_errors(kwargs, match):
    """Unknown subjects and tasks raise a clear ValueError."""
    with pytest.raises(ValueError, match=match):
        excerpt_fnames(**kwargs)


def test_read_excerpt_errors():
    """read_excerpt validates its arguments."""
    with pytest.raises(ValueError, match="subject must be one of"):
        read_excerpt(3)
    with pytest.raises(ValueError, match="task must be one of"):
        read_excerpt(0, "sleep")


@pytest.mark.parametrize("subject", [0, 1])
@pytest.mark.parametrize("task", ["rest", "arithmetic"])
def test_read_excerpt(subject, task):
    """The excerpt reads with standard names, channel types and a montage."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no deprecated montage name, no unit warning
        raw = read_excerpt(subject, task, verbose="error")
    assert raw.info["sfreq"] == 500.0
    assert raw.n_times == 30000
    assert raw.times[-1] == pytest.approx(60.0 - 1 / 500.0)
    assert raw.ch_names == [*EEG_NAMES, "A2-A1", "ECG"]
    types = raw.get_channel_types()
    assert types.count("eeg") == 19
    assert types.count("ecg") == 1
    assert types.count("misc") == 1
    assert raw.get_channel_types(picks="ECG") == ["ecg"]
    assert raw.get_channel_types(picks="A2-A1") == ["misc"]
    montage = raw.get_montage()
    assert montage is not None
    assert sorted(montage.ch_names) == sorted(EEG_NAMES)
    pos = np.array([ch["loc"][:3] for ch in raw.info["chs"][:19]])
    assert np.all(np.isfinite(pos)) and np.all(np.linalg.norm(pos, axis=1) > 0.05)
    data = raw.get_data(picks="eeg")
    assert data.shape == (19, 30000)
    # real EEG in Volts: tens of µV, not constant
    assert 1e-6 < np.median(np.std(data, axis=1)) < 1e-4


def test_read_excerpt_matches_edf():
    """read_excerpt only renames and retypes: the data are those of the EDF."""
    (fname,) = excerpt_fnames(subjects=0, tasks="arithmetic")
    raw_edf = mne.io.read_raw_edf(fname, preload=True, verbose="error")
    raw = read_excerpt(0, "arithmetic", preload=False, verbose="error")
    np.testing.assert_array_equal(raw.get_data(), raw_edf.get_data())
