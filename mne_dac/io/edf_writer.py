"""Writing a Raw to EDF+ in memory bounded whatever its length.

:func:`mne.export.export_raw` holds the whole recording, several times over: a day of 21
channels needs more than 10 GB. :func:`write_edf` writes what MNE's exporter writes (the same
physical ranges per channel type, digital values, units, annotations and end padding) in two
passes over chunks of the Raw: the first finds the ranges and keeps the samples in a temporary
file next to the output, the second writes the data records with pyedflib.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path

import mne
import numpy as np

__all__ = ["write_edf"]

#: Digital range of 16-bit EDF, symmetric so that zero maps to a digital value (as MNE writes).
DIGITAL_MAX = 32767

#: Seconds of samples held at once.
CHUNK_SECONDS = 64


def _round_to_8_characters(value: float, round_func: Callable[[float], int]) -> float:
    """``value`` rounded so that it fits EDF's 8-character field (as edfio rounds it)."""
    if float(value).is_integer():
        return float(value)
    integer_part_length = str(value).find(".")
    if integer_part_length == 8:
        return float(round_func(value))
    factor = 10 ** (8 - 1 - integer_part_length)
    return round_func(value * factor) / factor


def _scalers(raw: mne.io.BaseRaw) -> tuple[np.ndarray, list[str]]:
    """Factor and EDF unit of each channel: voltages in µV, other channels as they are."""
    si_units = mne.defaults.DEFAULTS["si_units"]
    types = raw.get_channel_types()
    volts = [si_units.get(t) == "V" for t in types]
    return np.where(volts, 1e6, 1.0), ["uV" if v else "" for v in volts]


def write_edf(raw: mne.io.BaseRaw, fname: str | Path) -> None:
    """Write ``raw`` (integer sampling rate) to an EDF+ file, chunk by chunk.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording; read in chunks of :data:`CHUNK_SECONDS`, so it need not be loaded.
    fname : path-like
        The EDF file to write. A temporary file of the samples in float64 is written next
        to it and removed.
    """
    import pyedflib

    sfreq = raw.info["sfreq"]
    if not float(sfreq).is_integer():
        raise ValueError(f"write_edf writes integer sampling rates (one-second records), got {sfreq} Hz")
    record = int(sfreq)
    types = np.array(raw.get_channel_types())
    for name in raw.ch_names:
        if len(name) > 16:
            raise ValueError(f"EDF labels hold 16 characters: shorten the channel name {name!r} first")
    scale, units = _scalers(raw)
    chunk = CHUNK_SECONDS * record
    bounds = [(a, min(a + chunk, raw.n_times)) for a in range(0, raw.n_times, chunk)]
    low, high = {t: np.inf for t in types}, {t: -np.inf for t in types}
    samples = Path(fname).with_name(f".{Path(fname).name}.samples")
    try:
        with open(samples, "wb") as fid:  # plain file I/O: the samples stay out of the process's memory
            for a, b in bounds:
                data = raw.get_data(start=a, stop=b) * scale[:, np.newaxis]
                for t in low:
                    low[t], high[t] = min(low[t], data[types == t].min()), max(high[t], data[types == t].max())
                data.tofile(fid)
        writer = pyedflib.EdfWriter(str(fname), len(raw.ch_names), file_type=pyedflib.FILETYPE_EDFPLUS)
        try:
            gains, offsets = _write_header(writer, raw, types, units, low, high, record)
            with open(samples, "rb") as fid:
                for a, b in bounds:
                    data = np.fromfile(fid, count=len(types) * (b - a)).reshape(len(types), b - a)
                    if b == raw.n_times and (b - a) % record:  # the last record: edge values, as MNE pads
                        data = np.pad(data, ((0, 0), (0, -(b - a) % record)), "edge")
                    digital = np.clip(np.rint(data / gains - offsets), -DIGITAL_MAX, DIGITAL_MAX).astype(np.int32)
                    for r in range(0, digital.shape[1], record):
                        writer.blockWriteDigitalSamples(np.ascontiguousarray(digital[:, r : r + record]).ravel())
            _write_annotations(writer, raw, record)
        finally:
            writer.close()
    finally:
        samples.unlink(missing_ok=True)


def _write_header(writer, raw, types, units, low, high, record) -> tuple[np.ndarray, np.ndarray]:
    """Signal headers (MNE's ranges per channel type), patient and start; each channel's gain and offset."""
    info = raw.info
    prefilter = f"HP:{info['highpass']}Hz LP:{info['lowpass']}Hz"
    if info["line_freq"] is not None:
        prefilter += f" N:{info['line_freq']}Hz"
    headers, gains, offsets = [], [], []
    for name, t, unit in zip(raw.ch_names, types, units):
        pmin, pmax = low[t], high[t] + (low[t] == high[t])  # a flat type gets a range of one unit
        pmin, pmax = _round_to_8_characters(pmin, math.floor), _round_to_8_characters(pmax, math.ceil)
        gain = (pmax - pmin) / (2 * DIGITAL_MAX)
        gains.append(gain)
        offsets.append(pmax / gain - DIGITAL_MAX)
        headers.append(dict(label=name, dimension=unit, sample_frequency=record, physical_min=pmin,
                            physical_max=pmax, digital_min=-DIGITAL_MAX, digital_max=DIGITAL_MAX,
                            transducer="", prefilter=prefilter))  # fmt: skip
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
    return np.array(gains)[:, np.newaxis], np.array(offsets)[:, np.newaxis]


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
