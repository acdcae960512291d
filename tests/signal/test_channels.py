"""Electrode names and positions."""

from __future__ import annotations

import warnings

import mne
import numpy as np
import pytest
from conftest import DATA_DIR

from mne_dac.signal.channels import (
    CHANNELS_10_20,
    HEAD_SPHERE,
    _builtin_positions,
    angular_distances,
    channel_positions,
    electrode_name,
)

NAMES_10_20 = list(CHANNELS_10_20)


@pytest.fixture(scope="module")
def eegmmidb_names() -> list[str]:
    return mne.io.read_raw_edf(DATA_DIR / "eegmmidb_excerpt_S_R_128Hz.edf", verbose=False).ch_names


@pytest.mark.parametrize(
    "ch_name, expected",
    [
        ("EEG FP1-REF", "Fp1"),  # TUH
        ("EEG T3-LE", "T3"),
        ("EEG CZ-AR", "Cz"),
        ("EEG FZ-REF", "Fz"),
        ("EEG A1-REF", "A1"),
        ("POL Fp2", "Fp2"),  # Nihon Kohden EDF
        ("F4-A1", "F4"),  # bipolar: first electrode
        ("CZ-A2", "Cz"),
        ("FP1-F7", "Fp1"),
        ("Fc5.", "FC5"),  # EEGMMIDB
        ("Fpz.", "Fpz"),
        ("Afz.", "AFz"),
        ("T10.", "T10"),
        ("Iz..", "Iz"),
        (" cpz ", "CPz"),
        ("fcc1h", "FCC1h"),  # 10-05
        ("EEG EKG1-REF", "EKG1"),  # not an electrode: stripped, case kept
        ("Photic", "Photic"),
        ("EEG 000", "000"),
        ("$A1", "$A1"),
    ],
)
def test_electrode_name(ch_name, expected):
    assert electrode_name(ch_name) == expected


def test_electrode_name_eegmmidb(eegmmidb_names):
    """All 64 EEGMMIDB names are electrodes, spelled as mne.datasets.eegbci.standardize does."""
    raw = mne.io.RawArray(np.zeros((64, 1)), mne.create_info(eegmmidb_names, 160.0, "eeg"), verbose=False)
    mne.datasets.eegbci.standardize(raw)
    assert [electrode_name(name) for name in eegmmidb_names] == raw.ch_names
    assert channel_positions(eegmmidb_names).shape == (64, 3)


def test_channel_positions():
    positions = channel_positions(NAMES_10_20)
    assert positions.shape == (19, 3)
    assert np.all(np.linalg.norm(positions - HEAD_SPHERE[:3], axis=1) > 0.08)  # metres, not mm
    assert np.all(np.linalg.norm(positions - HEAD_SPHERE[:3], axis=1) < 0.12)
    cz, c3, c4 = positions[[NAMES_10_20.index(name) for name in ("Cz", "C3", "C4")]]
    assert cz[2] > c3[2] and c3[0] < 0 < c4[0]  # head frame: +z up, +x right
    tuh = ["EEG FP1-REF", "EEG CZ-REF", "EEG T3-REF", "EEG T4-LE", "EEG T5-AR", "eeg t6-ref"]
    np.testing.assert_array_equal(channel_positions(tuh), channel_positions(["Fp1", "Cz", "T7", "T8", "P7", "P8"]))
    _builtin_positions.cache_clear()
    channel_positions(NAMES_10_20)
    channel_positions(NAMES_10_20)
    assert _builtin_positions.cache_info().misses == 1


def test_default_montage_is_not_deprecated():
    """The default montage is standard_1005 under its current name."""
    _builtin_positions.cache_clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        channel_positions(["Cz"])


def test_unknown_channels_are_named():
    with pytest.raises(ValueError, match=r"2 channel\(s\): \['EEG EKG1-REF', 'Photic'\]\. Pass montage="):
        channel_positions(["Cz", "EEG EKG1-REF", "Photic"])
    with pytest.raises(ValueError, match="montage 'biosemi16'.*'Iz'"):
        channel_positions(["Cz", "Iz"], montage="biosemi16")
    with pytest.raises(TypeError, match="montage"):
        channel_positions(["Cz"], montage=1)


def test_custom_montage():
    ch_pos = {"E1": [0.0, 0.0, 0.1], "E2": [0.05, 0.0, 0.08], "Cz": [0.0, 0.01, 0.09]}
    montage = mne.channels.make_dig_montage(ch_pos, coord_frame="head")
    np.testing.assert_allclose(
        channel_positions(["E2", "EEG E1-REF", "e1", "CZ"], montage),
        [[0.05, 0.0, 0.08], [0.0, 0.0, 0.1], [0.0, 0.0, 0.1], [0.0, 0.01, 0.09]],
    )
    with pytest.raises(ValueError, match=r"the given montage for 1 channel\(s\): \['Fp1'\]"):
        channel_positions(["E1", "Fp1"], montage)
    np.testing.assert_allclose(channel_positions(["Cz"], "biosemi64"), channel_positions(["Cz"]), atol=0.03)


def test_old_names_share_positions():
    np.testing.assert_array_equal(
        channel_positions(["T3", "T4", "T5", "T6"]), channel_positions(["T7", "T8", "P7", "P8"])
    )


def test_head_sphere_fits_the_standard_montage():
    positions = np.array([pos for _, pos in _builtin_positions(None).values()])
    design = np.c_[2 * positions, np.ones(len(positions))]
    solution = np.linalg.lstsq(design, (positions**2).sum(1), rcond=None)[0]
    centre = solution[:3]
    np.testing.assert_allclose(centre, HEAD_SPHERE[:3], atol=2e-3)
    assert abs(np.sqrt(solution[3] + centre @ centre) - HEAD_SPHERE[3]) < 2e-3


def test_angular_distances():
    distances = angular_distances(channel_positions(NAMES_10_20))
    assert distances.shape == (19, 19)
    np.testing.assert_allclose(distances, distances.T, atol=1e-12)
    np.testing.assert_array_equal(np.diag(distances), 0)
    assert distances.min() >= 0 and distances.max() <= np.pi
    row = dict(zip(NAMES_10_20, distances[NAMES_10_20.index("Cz")]))
    assert row["C3"] < row["P3"] < row["O1"] and row["C4"] < row["T8"]
    assert abs(row["C3"] - row["C4"]) < np.radians(3)  # left-right symmetric
    assert np.radians(35) < row["C3"] < np.radians(55)  # 10-20: Cz to C3 is 2 x 20 % of 180°
    assert np.radians(80) < row["T7"] < np.radians(100)  # T7 on the equator
    with pytest.raises(ValueError, match=r"shape \(n_channels, 3\)"):
        angular_distances(np.zeros((3, 2)))
