"""Writing a Raw to EDF+ in memory bounded whatever its length.

:func:`mne.export.export_raw` holds the whole recording, several times over: a day of 21
channels needs more than 10 GB. :func:`write_edf` writes what MNE's exporter writes with
``physical_range="channelwise"`` (each channel's own physical range, so that one channel's
extremes do not coarsen the others' resolution; digital values, units, annotations and end
padding) in two passes over chunks of the Raw: the first finds the ranges and keeps the samples
in a temporary file next to the output, the second writes the data records with pyedflib. A
voltage whose range takes more than EDF's 8 characters in µV (beyond 10 V) is written in mV.

Given the grids that a source's reader computed its samples on (a bit-exact ``.eegdac`` file
records them), a channel whose samples all lie on its grid is written as the source's integers,
on a header that states the grid exactly: MNE reads it back bit for bit.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import mne
import numpy as np

from mne_dac.io.side_channels import Grid

__all__ = ["write_edf"]

#: Digital range of 16-bit EDF, symmetric so that zero maps to a digital value (as MNE writes).
DIGITAL_MAX = 32767

#: Seconds of samples held at once.
CHUNK_SECONDS = 64

#: Digital ranges of EDF files (2**b values, or 2**b - 1 around zero), tried when looking for a
#: header that states a grid exactly.
DIGITAL_RANGES = [(-32768, 32767), (-32767, 32767), (-16384, 16383), (-16383, 16383), (-8192, 8191),
                  (-8191, 8191), (-4096, 4095), (-4095, 4095), (-2048, 2047), (-2047, 2047)]  # fmt: skip

#: EDF's physical dimension of a grid's scale, as MNE's reader maps it back.
DIMENSIONS = {1e-6: "uV", 1e-3: "mV", 1.0: "V"}


def _round_to_8_characters(value: float, round_func: Callable[[float], int]) -> float:
    """``value`` rounded so that it fits EDF's 8-character field (as edfio rounds it)."""
    if float(value).is_integer():
        return float(value)
    integer_part_length = str(value).find(".")
    if integer_part_length == 8:
        return float(round_func(value))
    factor = 10 ** (8 - 1 - integer_part_length)
    return round_func(value * factor) / factor


def _decimals(value: float) -> list[float]:
    """The numbers of at most 8 characters (EDF's field) closest to ``value``, most precise first."""
    texts = (f"{value:.{places}f}" for places in range(7, -1, -1))
    texts = (text.rstrip("0").rstrip(".") if "." in text else text for text in texts)
    return list(dict.fromkeys(float(text) for text in texts if len(text) <= 8))


def _exact_header(grid: Grid, k_low: float, k_high: float) -> dict | None:
    """A signal header on which MNE's EDF reader computes ``grid``'s values exactly, else ``None``.

    The header's physical range is sought among numbers of at most 8 characters, its digital
    range among ``k_low … k_high`` (files that state their samples' extremes) and the usual
    ranges holding them.
    """
    dimension = DIMENSIONS.get(grid.scale)
    if dimension is None or grid.shift or not -DIGITAL_MAX - 1 <= k_low < k_high <= DIGITAL_MAX:
        return None
    for d_min, d_max in [(int(k_low), int(k_high)), *DIGITAL_RANGES]:
        if not d_min <= k_low < k_high <= d_max:
            continue
        for p_min in _decimals(grid.offset + d_min * grid.step):
            for p_max in _decimals(grid.offset + d_max * grid.step):
                header = dict(physical_min=p_min, physical_max=p_max, digital_min=d_min, digital_max=d_max,
                              dimension=dimension)  # fmt: skip
                if _grid_read_from(header) == grid:
                    return header
    return None


def _grid_read_from(header: dict) -> Grid:
    """The grid on which MNE's EDF reader computes a signal's samples from its header.

    MNE computes ``(k * cal + offset) * unit`` with ``cal = (pmax - pmin) / (dmax - dmin)`` and
    ``offset = pmin - dmin * cal``.
    """
    cal = (header["physical_max"] - header["physical_min"]) / (float(header["digital_max"]) - header["digital_min"])
    scale = {dimension: scale for scale, dimension in DIMENSIONS.items()}.get(header["dimension"], 1.0)
    return Grid(cal, header["physical_min"] - header["digital_min"] * cal, scale)


def _scalers(raw: mne.io.BaseRaw, low: np.ndarray, high: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Factor and EDF unit of each channel from its range: voltages in µV (mV, V when µV take more
    than 8 characters), other channels as they are."""
    si_units = mne.defaults.DEFAULTS["si_units"]
    factors, units = [], []
    for channel_type, lowest, highest in zip(raw.get_channel_types(), low, high):
        volts = [(factor, unit) for factor, unit in ((1e6, "uV"), (1e3, "mV"), (1.0, "V"))
                 if -1e7 < lowest * factor and highest * factor < 1e8]  # fmt: skip
        factor, unit = (volts or [(1.0, "V")])[0] if si_units.get(channel_type) == "V" else (1.0, "")
        factors.append(factor)
        units.append(unit)
    return np.array(factors), units


def write_edf(raw: mne.io.BaseRaw, fname: str | Path, grids: list[Grid | None] | None = None) -> dict[str, float]:
    """Write ``raw`` (integer sampling rate) to an EDF+ file, chunk by chunk.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording; read in chunks of :data:`CHUNK_SECONDS`, so it need not be loaded.
    fname : path-like
        The EDF file to write. A temporary file of the samples in float64 is written next
        to it and removed.
    grids : list of Grid | None
        Per channel, the grid that the source's reader computed its samples on (see
        :func:`~mne_dac.io.container.read_grids`), or ``None``. A channel whose
        samples all lie on its grid, and whose grid a 16-bit EDF header can state, is
        written as its integers; the others as MNE's exporter writes them.

    Returns
    -------
    deviations : dict of str to float
        Per channel, the largest difference between the samples of ``raw`` and those that
        MNE's reader computes from the file, in the file's unit (µV for voltages): 0 for a
        channel written bit-exactly.
    """
    import pyedflib

    sfreq = raw.info["sfreq"]
    if not float(sfreq).is_integer():
        raise ValueError(f"write_edf writes integer sampling rates (one-second records), got {sfreq} Hz")
    record = int(sfreq)
    n_channels = len(raw.ch_names)
    for name in raw.ch_names:
        if len(name) > 16:
            raise ValueError(f"EDF labels hold 16 characters: shorten the channel name {name!r} first")
    grids = grids or [None] * n_channels
    chunk = CHUNK_SECONDS * record
    bounds = [(a, min(a + chunk, raw.n_times)) for a in range(0, raw.n_times, chunk)]
    low, high = np.full(n_channels, np.inf), np.full(n_channels, -np.inf)  # each channel's range
    on_grid = [g is not None for g in grids]  # whether every sample lies on the channel's grid
    k_low, k_high = np.full(n_channels, np.inf), np.full(n_channels, -np.inf)
    samples = Path(fname).with_name(f".{Path(fname).name}.samples")
    try:
        with open(samples, "wb") as fid:  # plain file I/O: the samples stay out of the process's memory
            for a, b in bounds:
                volts = raw.get_data(start=a, stop=b)
                low, high = np.minimum(low, volts.min(axis=1)), np.maximum(high, volts.max(axis=1))
                for c in np.flatnonzero(on_grid):
                    k = grids[c].integers(volts[c])
                    on_grid[c] = np.array_equal(grids[c].values(k), volts[c])
                    k_low[c], k_high[c] = min(k_low[c], k.min()), max(k_high[c], k.max())
                volts.tofile(fid)
        exact = [_exact_header(grids[c], k_low[c], k_high[c]) if on_grid[c] else None for c in range(n_channels)]
        stated = [c for c, header in enumerate(exact) if header is not None]
        deviations = np.zeros(n_channels)
        scale, units = _scalers(raw, low, high)
        writer = pyedflib.EdfWriter(str(fname), len(raw.ch_names), file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            gains, offsets, read_as = _write_header(writer, raw, units, low * scale, high * scale, record, exact)
            with open(samples, "rb") as fid:
                for a, b in bounds:
                    volts = np.fromfile(fid, count=n_channels * (b - a)).reshape(n_channels, b - a)
                    if b == raw.n_times and (b - a) % record:  # the last record: edge values, as MNE pads
                        volts = np.pad(volts, ((0, 0), (0, -(b - a) % record)), "edge")
                    digital = np.clip(
                        np.rint(volts * scale[:, np.newaxis] / gains - offsets), -DIGITAL_MAX, DIGITAL_MAX
                    )
                    for c in stated:
                        digital[c] = grids[c].integers(volts[c])
                    for c, grid in enumerate(read_as):
                        deviation = np.abs(grid.values(digital[c]) - volts[c]).max() * scale[c]
                        deviations[c] = max(deviations[c], deviation)
                    digital = digital.astype(np.int32)
                    for r in range(0, digital.shape[1], record):
                        writer.blockWriteDigitalSamples(np.ascontiguousarray(digital[:, r : r + record]).ravel())
            _write_annotations(writer, raw, record)
        finally:
            writer.close()
    finally:
        samples.unlink(missing_ok=True)
    return dict(zip(raw.ch_names, deviations.tolist()))


def _write_header(writer, raw, units, low, high, record, exact) -> tuple[np.ndarray, np.ndarray, list[Grid]]:
    """Signal headers (``exact`` where given, else each channel's range), patient and start.

    Returns each channel's gain and offset from its physical to its digital values (edfio's,
    which MNE's exporter uses), and the grid on which MNE's reader computes its samples back.
    """
    info = raw.info
    prefilter = f"HP:{info['highpass']}Hz LP:{info['lowpass']}Hz"
    if info["line_freq"] is not None:
        prefilter += f" N:{info['line_freq']}Hz"
    headers, gains, offsets, read_as = [], [], [], []
    for name, unit, lowest, highest, stated in zip(raw.ch_names, units, low, high, exact):
        pmin, pmax = lowest, highest + (lowest == highest)  # a flat channel gets a range of one unit
        pmin, pmax = _round_to_8_characters(pmin, math.floor), _round_to_8_characters(pmax, math.ceil)
        header = dict(label=name, dimension=unit, sample_frequency=record, physical_min=pmin, physical_max=pmax,
                      digital_min=-DIGITAL_MAX, digital_max=DIGITAL_MAX, transducer="", prefilter=prefilter)  # fmt: skip
        header |= stated or {}
        headers.append(header)
        read_as.append(_grid_read_from(header))
        gain = (pmax - pmin) / (2 * DIGITAL_MAX)
        gains.append(gain)
        offsets.append(pmax / gain - DIGITAL_MAX)
    writer.setSignalHeaders(headers)
    meas_date = info["meas_date"]
    writer.setStartdatetime(dt.datetime(1985, 1, 1) if meas_date is None else meas_date.replace(tzinfo=None))
    subject = info.get("subject_info") or {}
    name = "_".join(filter(None, [subject.get(k) for k in ("first_name", "middle_name", "last_name")]))
    writer.setPatientCode(subject.get("his_id") or "X")
    writer.setPatientName(name or "X")
    if subject.get("sex") in (1, 2):
        writer.setSex(subject["sex"])
    if subject.get("birthday") is not None:
        writer.setBirthdate(subject["birthday"])
    if (info.get("device_info") or {}).get("type"):
        writer.setEquipment(info["device_info"]["type"])
    return np.array(gains)[:, np.newaxis], np.array(offsets)[:, np.newaxis], read_as


def _write_annotations(writer, raw: mne.io.BaseRaw, record: int) -> None:
    """The annotations, from the first sample (EDF has no ``first_samp``), and the end's padding."""
    from mne.annotations import _sync_onset

    annotations = raw.annotations
    onsets = _sync_onset(raw, annotations.onset, inverse=False)
    for onset, duration, description, ch_names in zip(onsets, annotations.duration, annotations.description,
                                                      annotations.ch_names):  # fmt: skip
        for label in [f"{description}@@{ch}" for ch in ch_names] or [description]:
            writer.writeAnnotation(onset, duration, label)
    pad = -raw.n_times % record
    if pad:
        writer.writeAnnotation(raw.n_times / raw.info["sfreq"], pad / raw.info["sfreq"], "BAD_ACQ_SKIP")
