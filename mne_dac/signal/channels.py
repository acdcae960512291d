"""Electrode names and positions on the head, for grouping channels.

Channel names from EDF files and clinical systems are normalised to the electrode names
of MNE's standard 10-05 montage (which also has the 10-20 and 10-10 names, including the
old T3/T4/T5/T6), and looked up there, or in a montage given by the user, in the head
frame (metres).
"""

from __future__ import annotations

import re
from functools import cache

import mne
import numpy as np
from mne.utils import _validate_type

#: Sphere fitted to the positions of the standard 10-05 montage in the head frame, as
#: MNE's ``sphere`` (centre x, y, z and radius, in metres). Its centre lies 4 cm above the
#: origin of the head frame (between the ears).
HEAD_SPHERE = (0.0, 0.015, 0.04, 0.098)

#: The 19 channels of the 10-20 system, in the 10-10 names.
CHANNELS_10_20 = (
    "Fp1", "Fp2",
    "F7", "F3", "Fz", "F4", "F8",
    "T7", "C3", "Cz", "C4", "T8",
    "P7", "P3", "Pz", "P4", "P8",
    "O1", "O2",
)  # fmt: skip

#: ``EEG FP1-REF`` (TUH), ``POL Fp1`` (Nihon Kohden EDF exports).
_PREFIX = re.compile(r"^(?:EEG|POL)\s+", re.IGNORECASE)


@cache
def _builtin_positions(kind: str | None) -> dict[str, tuple[str, np.ndarray]]:
    """Names and head-frame positions of a built-in montage, keyed by upper-case name.

    ``None`` is the standard 10-05 montage.
    """
    if kind is None:  # MNE 1.13 renamed standard_1005 (same names and positions)
        kind = "colin27_1005" if "colin27_1005" in mne.channels.get_builtin_montages() else "standard_1005"
    return _positions_by_upper_name(mne.channels.make_standard_montage(kind))


def _positions_by_upper_name(montage: mne.channels.DigMontage) -> dict[str, tuple[str, np.ndarray]]:
    positions = montage.get_positions()
    if positions["coord_frame"] != "head":
        positions = mne.channels.transform_to_head(montage.copy()).get_positions()
    ch_pos = positions["ch_pos"]
    out = {}
    for name, pos in ch_pos.items():
        pos = np.array(pos, dtype=float)
        pos.flags.writeable = False
        if np.isfinite(pos).all():
            out[name.upper()] = (name, pos)
    return out


def electrode_name(ch_name: str) -> str:
    """Normalise a channel name to an electrode name of the standard 10-05 montage.

    Drops the ``EEG``/``POL`` prefixes of EDF files, the reference suffixes (``-REF``,
    ``-LE``, ``-AR``, ``-A1`` ...), the second electrode of bipolar names and the dots of
    EEGMMIDB names, then takes the montage's spelling (case-insensitive).

    Parameters
    ----------
    ch_name : str
        Channel name, e.g. ``"EEG FP1-REF"``, ``"FP1-F7"`` or ``"Fc5."``.

    Returns
    -------
    name : str
        The electrode name (``"Fp1"``, ``"Fp1"``, ``"FC5"``), or the stripped name if it
        is not an electrode of the 10-05 system (``"EEG EKG1-REF"`` -> ``"EKG1"``).
    """
    _validate_type(ch_name, str, "ch_name")
    stripped = _PREFIX.sub("", ch_name.strip())
    stripped = stripped.split("-", 1)[0].strip().strip(".") or stripped
    spelled = _builtin_positions(None).get(stripped.upper())
    return stripped if spelled is None else spelled[0]


def channel_positions(ch_names: list[str], montage: str | mne.channels.DigMontage | None = None) -> np.ndarray:
    """Head-frame positions of channels, looked up by electrode name.

    Parameters
    ----------
    ch_names : list of str
        Channel names. Each is looked up as given, then as :func:`electrode_name`
        (both case-insensitive).
    montage : str | DigMontage | None
        Where to look: ``None`` for the standard 10-05 montage (10-20, 10-10 and 10-05
        names, old T3/T4/T5/T6 included), the name of a built-in montage
        (:func:`mne.channels.get_builtin_montages`) or a montage with the positions.

    Returns
    -------
    positions : array, shape (n_channels, 3)
        Positions in metres, in the head frame.
    """
    _validate_type(montage, (None, str, mne.channels.DigMontage), "montage")
    if isinstance(montage, mne.channels.DigMontage):
        known = _positions_by_upper_name(montage)
    else:
        known = _builtin_positions(montage)
    positions, unknown = np.zeros((len(ch_names), 3)), []
    for ci, name in enumerate(ch_names):
        _validate_type(name, str, "each channel name")
        found = known.get(name.upper()) or known.get(electrode_name(name).upper())
        if found is None:
            unknown.append(name)
        else:
            positions[ci] = found[1]
    if unknown:
        if montage is None:
            where = "the standard 10-05 montage"
        else:
            where = f"montage {montage!r}" if isinstance(montage, str) else "the given montage"
        raise ValueError(
            f"No position in {where} for {len(unknown)} channel(s): {unknown}. Pass montage= "
            "(an mne.channels.DigMontage with their positions, e.g. from "
            "mne.channels.make_dig_montage)."
        )
    return positions


def _directions(positions: np.ndarray) -> np.ndarray:
    """Vectors from the centre of :data:`HEAD_SPHERE` to the electrodes, shape (n_channels, 3)."""
    positions = np.asarray(positions, dtype=float)
    if positions.ndim != 2 or positions.shape[1] != 3:
        raise ValueError(f"positions must have shape (n_channels, 3), got {positions.shape}")
    return positions - np.asarray(HEAD_SPHERE[:3])


def _angles(directions: np.ndarray, to: np.ndarray) -> np.ndarray:
    """Angles (radians) between vectors ``directions`` (..., 3) and ``to`` (broadcast), of any length."""
    cross = np.linalg.norm(np.cross(directions, to), axis=-1)
    return np.arctan2(cross, np.sum(directions * to, axis=-1))


def angular_distances(positions: np.ndarray) -> np.ndarray:
    """Great-circle angles between electrodes, seen from the centre of the head.

    The centre is that of :data:`HEAD_SPHERE`, fitted to the standard 10-05 montage in
    the head frame: it suits any montage in the head frame (positions from
    :func:`channel_positions`), and does not change with the channels present.

    Parameters
    ----------
    positions : array, shape (n_channels, 3)
        Head-frame positions in metres.

    Returns
    -------
    distances : array, shape (n_channels, n_channels)
        Angles in radians, in [0, pi], with zeros on the diagonal.
    """
    directions = _directions(positions)
    return _angles(directions[:, np.newaxis], directions[np.newaxis])
