"""Fuzzing ``.eegdac`` files: every mutant is refused with EEGDACFormatError, or decodes identically.

Seeded and fast. Random corruption (bit flips, truncations, appended bytes) is caught by the
checksum. Crafted mutants recompute the SHA-256, as an attacker would: every header field gets
values of the wrong type, out of range or inconsistent with the others (names swapped or
repeated, frames and bits per code traded…), and the bytes of the info and of the channels kept
aside are flipped (the codes are the payload: other valid codes are another recording). A crafted
file that is valid and merely different (another clip level, other annotations) is another file,
which no check can tell from an intended one; such values are not generated. A crafted codec
identity that is well formed but names another codec is refused with CodecMismatchError.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tracemalloc
from collections import Counter

import numpy as np
import pytest

from mne_dac import CodecMismatchError, EEGDACFormatError, read_raw_dac, write_raw_dac
from mne_dac.io.container import _PREAMBLE, MAGIC

SEED = 20261129
#: Peak Python/numpy memory a mutant may take to read and decode (the intact file takes ~2 MB).
MAX_PEAK_BYTES = 64 * 2**20
BAD_VALUES = [None, -1, 0, 2**62, 1.5, float("nan"), float("inf"), "x", "", [], {}, True, [1, 2, 3], {"a": 1}]


def _parse(buf: bytes) -> tuple[int, dict, bytes]:
    _, version, size = _PREAMBLE.unpack_from(buf)
    start = _PREAMBLE.size
    return version, json.loads(buf[start : start + size]), buf[start + size : -32]


def _build(version: int, header: dict | str, body: bytes) -> bytes:
    """A file with ``header`` and ``body`` and a correct SHA-256: what a crafter writes."""
    text = header if isinstance(header, str) else json.dumps(header)
    head = text.encode("utf-8", "surrogatepass")
    content = _PREAMBLE.pack(MAGIC, version, len(head)) + head + body
    return content + hashlib.sha256(content).digest()


def _paths(obj, prefix=()):
    """Every path to a value in the header (dict keys and the first list items)."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield (*prefix, key)
            yield from _paths(value, (*prefix, key))
    elif isinstance(obj, list):
        for i, value in enumerate(obj[:2]):
            yield (*prefix, i)
            yield from _paths(value, (*prefix, i))


def _set(obj, path, value):
    for key in path[:-1]:
        obj = obj[key]
    obj[path[-1]] = value


def _get(obj, path):
    for key in path:
        obj = obj[key]
    return obj


def _mutants(buf: bytes, rng: np.random.Generator):
    """(kind, bytes) pairs: a few hundred mutants of ``buf``."""
    version, header, body = _parse(buf)
    for _ in range(40):
        flipped = bytearray(buf)
        pos = int(rng.integers(len(buf)))
        flipped[pos] ^= 1 << int(rng.integers(8))
        yield "bit flip", bytes(flipped)
    for cut in rng.integers(1, len(buf), 15):
        yield "truncation", buf[:cut]
    yield "appended bytes", buf + b"\0" * 16
    for path in _paths(header):
        for value in BAD_VALUES:
            if _get(header, path) == value:
                continue
            crafted = copy.deepcopy(header)
            _set(crafted, path, value)
            yield f"header field, crafted|{path}={value!r}", _build(version, crafted, body)
    for field in ("ch_names", "other_ch_names", "codes_shape", "clip_counts"):
        values = header[field]
        for change in ("swap", "repeat", "drop", "extend"):
            crafted = copy.deepcopy(header)
            if change == "swap" and len(values) > 1:
                crafted[field] = [values[1], values[0], *values[2:]]
            elif change == "repeat" and values:
                crafted[field] = [values[0], *values[:-1]]
            elif change == "drop" and values:
                crafted[field] = values[:-1]
            else:
                crafted[field] = [*values, values[-1] if values else 1]
            yield "header lists, crafted", _build(version, crafted, body)
    traded = copy.deepcopy(header)  # halve the bits per code, double the frames: reinterprets the codes
    traded["bits_per_code"] //= 2
    traded["codes_shape"][2] *= 2
    yield "header lists, crafted", _build(version, traded, body)
    for text in ("{", "[]", "null", '{"format": "eegdac"}', "\udcff", json.dumps(header)[:-1] + "," * 5000):
        yield "header text, crafted", _build(version, text, body)
    text = json.dumps(header).encode()
    for _ in range(100):  # random printable characters anywhere in the header's text
        changed = bytearray(text)
        for _ in range(int(rng.integers(1, 4))):
            changed[int(rng.integers(len(changed)))] = int(rng.integers(32, 127))
        yield "header bytes, crafted", _build(version, changed.decode("latin-1"), body)
    offsets = np.cumsum([0] + [s["size"] for s in header["sections"]])
    for name, lo, hi in zip([s["name"] for s in header["sections"]], offsets[:-1], offsets[1:]):
        if name == "codes":  # the payload itself: other valid codes are another recording
            continue
        for _ in range(60):
            flipped = bytearray(body)
            for _ in range(int(rng.integers(1, 4))):
                flipped[int(rng.integers(lo, hi))] ^= 1 << int(rng.integers(8))
            yield f"section {name!r} flip, crafted", _build(version, header, bytes(flipped))
    for n_times in (header["n_times"] * 1000, 2**40):
        bomb = copy.deepcopy(header)
        bomb["n_times"] = n_times
        yield "size claims, crafted", _build(version, bomb, body)


@pytest.fixture(scope="module")
def intact(tmp_path_factory, excerpt_raw_module, tiny_codec):
    fname = tmp_path_factory.mktemp("fuzz") / "intact.eegdac"
    write_raw_dac(fname, excerpt_raw_module, codec=tiny_codec, n_codebooks=2, verbose="error")
    return fname


@pytest.fixture(scope="module")
def excerpt_raw_module():
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest").pick(["Fp1", "Cz", "O2", "ECG"]).crop(0, 2, include_tmax=False)
    return raw.load_data()


def test_every_mutant_is_refused_or_identical(intact, tiny_codec, tmp_path, one_torch_thread):
    fname = intact
    reference = read_raw_dac(fname, codec=tiny_codec, verbose="error").get_data()  # with one thread, as the mutants
    rng = np.random.default_rng(SEED)
    outcomes: Counter = Counter()
    problems = []
    for i, (kind, buf) in enumerate(_mutants(fname.read_bytes(), rng)):
        mutant = tmp_path / f"m{i}.eegdac"
        mutant.write_bytes(buf)
        tracemalloc.start()
        try:
            data = read_raw_dac(mutant, codec=tiny_codec, verbose="error").get_data()
            outcome = "identical decode" if np.array_equal(data, reference) else "DIFFERENT DECODE"
        except EEGDACFormatError:
            outcome = "EEGDACFormatError"
        except CodecMismatchError:  # a valid header naming another codec: refused, as it must be
            outcome = "CodecMismatchError"
        except Exception as err:  # noqa: BLE001 - the test's point: nothing else may escape
            outcome = f"{type(err).__name__}"
            problems.append(f"{kind}: {type(err).__name__}: {err}"[:200])
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if peak > MAX_PEAK_BYTES:
            problems.append(f"{kind}: peak memory {peak / 2**20:.0f} MB")
        if outcome == "DIFFERENT DECODE":
            problems.append(f"{kind}: decodes to different data")
        outcomes[kind.split("|")[0], outcome] += 1
        mutant.unlink()
    table = "\n".join(f"{kind:32s} {outcome:20s} {n}" for (kind, outcome), n in sorted(outcomes.items()))
    print(f"\n{sum(outcomes.values())} mutants\n{table}")
    assert sum(outcomes.values()) > 300
    assert not problems, "\n".join(problems[:60])


def test_cli_reports_an_invalid_file_in_one_line(intact, tmp_path, capsys):
    """info and decompress: one line naming the field, exit status 2, no traceback."""
    from mne_dac.commands import main

    version, header, body = _parse(intact.read_bytes())
    header["ch_names"] = [header["ch_names"][1], header["ch_names"][0], *header["ch_names"][2:]]
    crafted = tmp_path / "crafted.eegdac"
    crafted.write_bytes(_build(version, header, body))
    for args in (["info", str(crafted)], ["decompress", str(crafted), str(tmp_path / "out_raw.fif")]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'ch_names'" in err and "Traceback" not in err
    assert not (tmp_path / "out_raw.fif").exists()
