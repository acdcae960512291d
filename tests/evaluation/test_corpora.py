"""Tests of the corpora (mne_dac.evaluation.corpora) on small trees written by mne_dac.evaluation.testing."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import mne
import numpy as np
import pandas as pd
import pytest

from mne_dac.evaluation.corpora import TUEP, eegmat, standardize_channels, subject_split, tuab
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.evaluation.testing import make_eegmat_tree, make_tuab_tree, make_tuep_tree
from mne_dac.signal.channels import CHANNELS_10_20

COMMON_COLUMNS = ["path", "subject", "target", "split"]
#: The TUH names of the 10-20 channels in the order of CHANNELS_10_20.
TUH_10_20 = ["FP1", "FP2", "F7", "F3", "FZ", "F4", "F8", "T3", "C3", "CZ", "C4", "T4"]
TUH_10_20 += ["T5", "P3", "PZ", "P4", "T6", "O1", "O2"]


@pytest.fixture(scope="module")
def tuab_root(tmp_path_factory) -> Path:
    return make_tuab_tree(tmp_path_factory.mktemp("tuab"), n_per_class=2, duration=20)


@pytest.fixture(scope="module")
def tuep_root(tmp_path_factory) -> Path:
    return make_tuep_tree(tmp_path_factory.mktemp("tuep"), n_per_class=5, duration=20)


@pytest.fixture(scope="module")
def eegmat_root(tmp_path_factory) -> Path:
    return make_eegmat_tree(tmp_path_factory.mktemp("eegmat"), n_subjects=6, duration=20)


def _raw(ch_names: list[str], sfreq: float = 100.0) -> mne.io.RawArray:
    data = np.random.default_rng(0).standard_normal((len(ch_names), 200)) * 1e-5
    return mne.io.RawArray(data, mne.create_info(ch_names, sfreq, "eeg"), verbose="error")


def _tree_digest(root: Path) -> dict[str, str]:
    return {
        str(fname.relative_to(root)): hashlib.sha256(fname.read_bytes()).hexdigest()
        for fname in sorted(root.rglob("*.edf"))
    }


# --- standardize_channels ---------------------------------------------------------------


@pytest.mark.parametrize(
    "names",
    [
        [f"EEG {name}-REF" for name in TUH_10_20],  # TUH, 01_tcp_ar
        [f"EEG {name}-LE" for name in TUH_10_20],  # TUH, 02_tcp_le
        [f"{name}-REF" for name in TUH_10_20],  # TUH read with infer_types=True
        [f"EEG {name.capitalize()}" for name in TUH_10_20],  # eegmat ("EEG Fp1" ...)
    ],
    ids=["tuh-ref", "tuh-le", "tuh-inferred", "eegmat"],
)
def test_standardize_channels_names(names):
    """TUH (REF and LE) and eegmat names map to the 10-20 channels; extras are dropped."""
    extras = ["EEG A1-REF", "EEG A2-A1", "EEG EKG1-REF", "PHOTIC-REF", "EEG FP1-F7", "ECG ECG", "IBI"]
    # a shuffled order, extras in between: the output order is CHANNELS_10_20's
    order = np.random.default_rng(1).permutation(len(names) + len(extras))
    ch_names = [(names + extras)[i] for i in order]
    raw = _raw(ch_names)
    expected = {name: raw.get_data(picks=[orig])[0] for name, orig in zip(CHANNELS_10_20, names)}
    out = standardize_channels(raw)
    assert out is raw
    assert raw.ch_names == list(CHANNELS_10_20)
    assert set(raw.get_channel_types()) == {"eeg"}
    for name in CHANNELS_10_20:
        np.testing.assert_array_equal(raw.get_data(picks=[name])[0], expected[name])
    positions = raw.get_montage().get_positions()["ch_pos"]
    assert set(positions) == set(CHANNELS_10_20)
    assert np.all(np.isfinite(np.array(list(positions.values()))))


def test_standardize_channels_excerpt():
    """The excerpt (old temporal names, ECG, A2-A1) gives the 19 channels, data unchanged."""
    raw = read_excerpt(0, "rest").crop(0, 2)
    t3 = raw.get_data(picks=["T3"])
    standardize_channels(raw)
    assert raw.ch_names == list(CHANNELS_10_20)
    np.testing.assert_array_equal(raw.get_data(picks=["T7"]), t3)


def test_standardize_channels_errors():
    """Missing channels are named; two channels for one electrode and bad types are refused."""
    names = [f"EEG {name}-REF" for name in TUH_10_20]
    raw = _raw([name for name in names if name not in ("EEG O2-REF", "EEG T5-REF")] + ["EEG EKG1-REF"])
    with pytest.raises(ValueError, match=r"Missing 2 of the 19 channels.*\['P7', 'O2'\]") as err:
        standardize_channels(raw)
    assert "EEG EKG1-REF" in str(err.value)  # the message lists what the recording has
    with pytest.raises(ValueError, match="Missing 19"):
        standardize_channels(_raw([f"EEG {name}-F7" for name in ("FP1", "C3", "O1")]))  # bipolar only
    with pytest.raises(ValueError, match=r"same electrode.*'T7': \['EEG T3-REF', 'EEG T7-REF'\]"):
        standardize_channels(_raw([*names, "EEG T7-REF"]))
    with pytest.raises(TypeError, match="raw must be"):
        standardize_channels(np.zeros((19, 10)))


# --- TUAB ---------------------------------------------------------------------------------


def test_tuab(tuab_root):
    """Labels and official split come from the paths, through Braindecode's TUHAbnormal."""
    from braindecode.datasets import TUHAbnormal

    with pytest.warns(UserWarning, match="Expected 2993 files but found 12"):
        ds = tuab(tuab_root, verbose=False)
    assert isinstance(ds, TUHAbnormal)
    description = ds.description
    assert len(ds.datasets) == 12
    assert set(COMMON_COLUMNS) <= set(description.columns)
    assert (description["version"] == "v3.0.1").all()
    for _, row in description.iterrows():
        parts = Path(row["path"]).parts
        assert row["split"] == parts[-4] and row["target"] == int(parts[-3] == "abnormal")
        assert parts[-1].startswith(row["subject"] + "_")
    assert description.groupby(["split", "target"]).size().to_dict() == {
        ("eval", 0): 3,
        ("eval", 1): 3,
        ("train", 0): 3,
        ("train", 1): 3,
    }
    # the target of the datasets is the int label
    _, y = ds.datasets[0][0]
    assert y == description["target"][0] and isinstance(y, (int, np.integer))
    assert ds.datasets[0].raw.info["sfreq"] == 250.0
    assert "EKG1-REF" in ds.datasets[0].raw.ch_names and "PHOTIC-REF" in ds.datasets[0].raw.ch_names
    assert set(description["gender"]) <= {"M", "F"}

    with pytest.raises(RuntimeError, match="Expected 2993 files"):
        tuab(tuab_root, on_missing_files="raise")
    with pytest.raises(FileNotFoundError, match="No v3.0.1 folder"):
        tuab(tuab_root / "v3.0.1")


def test_tuab_standardize_preprocessor(tuab_root):
    """standardize_channels runs as a Braindecode Preprocessor on lazily read TUH files."""
    from braindecode.preprocessing import Preprocessor, preprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # not the full corpus
        ds = tuab(tuab_root, recording_ids=[0, 5], verbose=False)
    preprocess(ds, [Preprocessor(standardize_channels, apply_on_array=False)], n_jobs=1)
    raw = ds.datasets[1].raw
    assert raw.ch_names == list(CHANNELS_10_20)
    # real EEG of the excerpt, in Volts, through the EDF round trip
    data = raw.get_data()
    assert data.shape == (19, 20 * 250)
    assert 1e-6 < np.median(data.std(axis=1)) < 1e-4


# --- TUEP ---------------------------------------------------------------------------------


def test_tuep(tuep_root):
    """Labels from the class folders, description columns, subject-wise stratified split."""
    ds = TUEP(tuep_root, verbose=False)
    description = ds.description
    assert set(COMMON_COLUMNS + ["session", "segment", "montage"]) <= set(description.columns)
    assert len(ds.datasets) == len(list(tuep_root.rglob("*.edf"))) == 24
    for _, row in description.iterrows():
        parts = Path(row["path"]).parts
        assert row["target"] == {"00_epilepsy": 1, "01_no_epilepsy": 0}[parts[-5]]
        assert parts[-4] == row["subject"] and parts[-2] == row["montage"]
        assert parts[-1] == f"{row['subject']}_s{row['session']:03d}_t{row['segment']:03d}.edf"
    assert set(description["montage"]) == {"01_tcp_ar", "02_tcp_le"}
    # subject-wise: no subject in both sets; 20 % of the 5 subjects of each class held out
    splits = description.groupby("subject")["split"].nunique()
    assert (splits == 1).all()
    eval_subjects = description[description["split"] == "eval"].groupby("target")["subject"].nunique()
    assert eval_subjects.to_dict() == {0: 1, 1: 1}
    assert description.groupby("subject")["target"].nunique().max() == 1
    # the target of the datasets, and TUH channel names (REF and LE) that standardize
    assert ds.datasets[0][0][1] == description["target"][0]
    for montage, suffix in (("01_tcp_ar", "-REF"), ("02_tcp_le", "-LE")):
        index = int(np.flatnonzero(description["montage"] == montage)[0])
        raw = ds.datasets[index].raw
        assert all(name.endswith(suffix) for name in raw.ch_names)
        assert standardize_channels(raw).ch_names == list(CHANNELS_10_20)

    # deterministic, and independent of which recordings are read
    again = TUEP(tuep_root, recording_ids=[23, 4, 11], verbose=False).description
    expected = description.iloc[[23, 4, 11]].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected)
    assert len(TUEP(tuep_root, recording_ids=2, verbose=False).datasets) == 2
    # a larger held-out fraction keeps at least one subject of each class for training
    big = TUEP(tuep_root, eval_fraction=0.9, verbose=False).description
    assert big[big["split"] == "train"].groupby("target")["subject"].nunique().to_dict() == {0: 1, 1: 1}


def test_tuep_errors(tuep_root, tmp_path):
    """Bad fractions, empty folders and paths outside the TUEP layout are refused."""
    with pytest.raises(ValueError, match="eval_fraction must be in"):
        TUEP(tuep_root, eval_fraction=1.0)
    with pytest.raises(FileNotFoundError, match="No EDF file"):
        TUEP(tmp_path)
    stray = tmp_path / "v2.0.1" / "02_other" / "aaaaaaaa" / "s001_2003" / "01_tcp_ar" / "aaaaaaaa_s001_t000.edf"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"")
    with pytest.raises(ValueError, match="Unexpected TUEP file path"):
        TUEP(tmp_path)


def test_subject_split():
    """Per subject, stratified, independent of the order of recordings, both classes held out."""
    rng = np.random.default_rng(0)
    subjects = pd.Series([f"s{i:02d}" for i in range(20) for _ in range(1 + i % 3)])
    targets = pd.Series([int(s[1:]) % 2 for s in subjects])
    split = subject_split(subjects, targets, 0.3)
    assert (split.groupby(subjects).nunique() == 1).all()
    held_out = subjects[split == "eval"].unique()
    assert len(held_out) == 6  # 3 of the 10 subjects of each class
    assert sorted(targets[split == "eval"].groupby(subjects).first().value_counts().tolist()) == [3, 3]
    order = rng.permutation(len(subjects))
    shuffled = subject_split(subjects[order].reset_index(drop=True), targets[order].reset_index(drop=True), 0.3)
    assert set(subjects[order].reset_index(drop=True)[shuffled == "eval"]) == set(held_out)
    # a class with one subject keeps it for training
    lone = subject_split(pd.Series(["a", "b", "c"]), pd.Series([0, 0, 1]), 0.5)
    assert lone.tolist().count("eval") == 1 and lone[2] == "train"


# --- eegmat ---------------------------------------------------------------------------------


def test_eegmat(eegmat_root):
    """Rest/arithmetic labels, split by subject number (eval 20-23 by default)."""
    ds = eegmat(eegmat_root, verbose=False)
    description = ds.description
    assert set(COMMON_COLUMNS + ["task"]) <= set(description.columns)
    assert description["subject"].tolist() == [f"Subject{n:02d}" for n in (0, 5, 9, 14, 18, 23) for _ in (1, 2)]
    assert description["task"].tolist() == ["rest", "arithmetic"] * 6
    assert description["target"].tolist() == [0, 1] * 6
    assert description["split"].tolist() == ["train"] * 10 + ["eval"] * 2
    raw = ds.datasets[1].raw
    assert raw.info["sfreq"] == 500.0 and raw.n_times == 20 * 500
    assert raw.get_channel_types(picks=["ECG"]) == ["ecg"]
    assert standardize_channels(raw).ch_names == list(CHANNELS_10_20)
    assert ds.datasets[1][0][1] == 1

    subset = eegmat(eegmat_root, subjects=[5, 23], eval_subjects=[5], verbose=False).description
    assert subset["subject"].tolist() == ["Subject05", "Subject05", "Subject23", "Subject23"]
    assert subset["split"].tolist() == ["eval", "eval", "train", "train"]
    with pytest.raises(ValueError, match=r"No files of subject\(s\) \[7\]"):
        eegmat(eegmat_root, subjects=[0, 7])
    with pytest.raises(TypeError, match="each of eval_subjects"):
        eegmat(eegmat_root, eval_subjects=["Subject20"])


def test_eegmat_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="No eegmat file"):
        eegmat(tmp_path)


# --- generators -----------------------------------------------------------------------------


def test_generators_deterministic(tmp_path, tuep_root):
    """The same arguments write the same files; another seed other subjects."""
    again = make_tuep_tree(tmp_path / "again", n_per_class=5, duration=20)
    assert _tree_digest(again) == _tree_digest(tuep_root)
    other = make_tuep_tree(tmp_path / "other", n_per_class=1, duration=5, seed=1)
    assert {Path(p).parts[2] for p in _tree_digest(other)}.isdisjoint({Path(p).parts[2] for p in _tree_digest(again)})
    with pytest.raises(ValueError, match="duration must be"):
        make_tuab_tree(tmp_path, duration=61)
    with pytest.raises(ValueError, match="n_subjects must be at most 24"):
        make_eegmat_tree(tmp_path, n_subjects=25)
