"""Fuzzing ``.eegdac`` files: every mutant is refused with EEGDACFormatError, or decodes identically.

Seeded and fast, on a version-2 file (written now) and on the committed version-1 file. Random
corruption (bit flips, truncations, appended bytes) is caught by the checksums. Crafted mutants
recompute every SHA-256, as an attacker would: every header and footer field gets values of the
wrong type, out of range or inconsistent with the others (names swapped or repeated, frames and
bits per code traded, the token model changed…), and the bytes of the info and of the channels
kept aside are flipped (the token payload itself is not: other valid codes are another
recording). A crafted file that is valid and merely different (another clip level, other
annotations, other principal directions) is another file, which no check can tell from an intended
one; such values are not generated. A crafted codec identity that names another codec is refused with CodecMismatchError.
"""

from __future__ import annotations

import copy
import json
import tracemalloc
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from conftest import CraftedFile

from mne_dac import CodecMismatchError, EEGDACFormatError, read_raw_dac, write_raw_dac
from mne_dac.io.container import read_header

SEED = 20261129
DATA_DIR = Path(__file__).parents[1] / "data"
#: Peak Python/numpy memory a mutant may take to read and decode (the intact file takes ~2 MB).
MAX_PEAK_BYTES = 64 * 2**20
BAD_VALUES = [None, -1, 0, 2**62, 1.5, float("nan"), float("inf"), "x", "", [], {}, True, [1, 2, 3], {"a": 1}]


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


def _crafted_values(obj, rng):
    """(path, value) pairs: every path of ``obj`` with every bad value."""
    for path in _paths(obj):
        for value in BAD_VALUES:
            if _get(obj, path) != value:
                yield path, value


def _mutants(buf: bytes, rng: np.random.Generator):
    """(kind, bytes) pairs: a few hundred mutants of ``buf``."""
    f = CraftedFile(buf)
    header = f.header
    for _ in range(40):
        flipped = bytearray(buf)
        pos = int(rng.integers(len(buf)))
        flipped[pos] ^= 1 << int(rng.integers(8))
        yield "bit flip", bytes(flipped)
    for cut in rng.integers(1, len(buf), 15):
        yield "truncation", buf[:cut]
    yield "appended bytes", buf + b"\0" * 16
    for path, value in _crafted_values(header, rng):
        crafted = copy.deepcopy(header)
        _set(crafted, path, value)
        yield f"header field, crafted|{path}={value!r}", f.build(crafted)
    if f.footer is not None:
        for path, value in _crafted_values(f.footer, rng):
            crafted = copy.deepcopy(f.footer)
            _set(crafted, path, value)
            yield f"footer field, crafted|{path}={value!r}", f.build(footer=crafted)
        for text in ("{", "[]", "null", "{}"):
            yield "footer text, crafted", f.build(footer=text)
    lists = [name for name in ("ch_names", "other_ch_names", "codes_shape") if name in header]
    lists += ["clip_counts"] if f.version == 1 else []
    if f.version == 2 and header.get("token_model") is not None:
        model = header["token_model"]
        lists += [("token_model", "parents"), ("token_model", "octaves")]
    for field in lists:
        values = _get(header, field if isinstance(field, tuple) else (field,))
        for change in ("swap", "repeat", "drop", "extend"):
            crafted = copy.deepcopy(header)
            if change == "swap" and len(values) > 1:
                changed = [values[1], values[0], *values[2:]]
            elif change == "repeat" and values:
                changed = [values[0], *values[:-1]]
            elif change == "drop" and values:
                changed = values[:-1]
            else:
                changed = [*values, values[-1] if values else 1]
            _set(crafted, field if isinstance(field, tuple) else (field,), changed)
            yield "header lists, crafted", f.build(crafted)
    if f.version == 2 and header.get("token_model") is not None:
        for q in range(len(model["octaves"])):  # other frequencies, still summing to 2**24
            crafted = copy.deepcopy(header)
            row = crafted["token_model"]["octaves"][q]
            row[0], row[1] = row[0] + 1, row[1] - 1
            yield "token model, crafted", f.build(crafted)
    if "codes_shape" in header:  # halve the bits per code, double the frames: reinterprets the codes
        traded = copy.deepcopy(header)
        traded["bits_per_code"] //= 2
        traded["codes_shape"][2] *= 2
        yield "header lists, crafted", f.build(traded)
    for text in ("{", "[]", "null", '{"format": "eegdac"}', "\udcff", json.dumps(header)[:-1] + "," * 5000):
        yield "header text, crafted", f.build(text)
    text = json.dumps(header).encode()
    # a character of a transform's base64 directions or gains changed to another base64 one gives other valid
    # values (another file): those characters are left alone
    values = [json.dumps(v).encode() for k, v in header.get("transform", {}).items() if k in ("directions", "gains")]
    spans = [(text.index(v), text.index(v) + len(v)) for v in values if len(v) > 2]
    positions = [i for i in range(len(text)) if not any(lo < i < hi - 1 for lo, hi in spans)]
    for _ in range(100):  # random printable characters anywhere else in the header's text
        changed = bytearray(text)
        for _ in range(int(rng.integers(1, 4))):
            changed[positions[int(rng.integers(len(positions)))]] = int(rng.integers(32, 127))
        yield "header bytes, crafted", f.build(changed.decode("latin-1"))
    body = f.body if f.version == 1 else f.blocks
    regions = f.regions() + ([] if f.version == 1 else [("info", None, None)])
    for name, lo, hi in regions:
        for _ in range(60):
            if lo is None:  # v2: the info is hashed with the header
                info = bytearray(f.info)
                for _ in range(int(rng.integers(1, 4))):
                    info[int(rng.integers(len(info)))] ^= 1 << int(rng.integers(8))
                original, f.info = f.info, bytes(info)
                yield "section 'info' flip, crafted", f.build()
                f.info = original
                continue
            flipped = bytearray(body)
            for _ in range(int(rng.integers(1, 4))):
                flipped[int(rng.integers(lo, hi))] ^= 1 << int(rng.integers(8))
            kind = f"section {name!r} flip, crafted" if f.version == 1 else f"{name.split(' ', 2)[2]} flip, crafted"
            yield kind, f.build(body=bytes(flipped)) if f.version == 1 else f.build(blocks=bytes(flipped))
    for n_times in (header["n_times"] * 1000, 2**40):
        bomb = copy.deepcopy(header)
        bomb["n_times"] = n_times
        yield "size claims, crafted", f.build(bomb)


@pytest.fixture(scope="module")
def intact(tmp_path_factory, excerpt_raw_module, tiny_codec):
    fname = tmp_path_factory.mktemp("fuzz") / "intact.eegdac"
    write_raw_dac(fname, excerpt_raw_module, codec=tiny_codec, n_codebooks=2, verbose="error")
    return fname


@pytest.fixture(scope="module")
def intact_bounded(tmp_path_factory, excerpt_raw_module, tiny_codec):
    """A file with a residual layer (every EEG sample within 1 µV)."""
    fname = tmp_path_factory.mktemp("fuzz") / "bounded.eegdac"
    write_raw_dac(fname, excerpt_raw_module, codec=tiny_codec, n_codebooks=2, max_error=1e-6, verbose="error")
    return fname


@pytest.fixture(scope="module")
def intact_band_gains(tmp_path_factory, tiny_codec):
    """A file of tokens whose block starts with its band gains (16 s: the gains take at most a twentieth of the
    bits), each channel at its own clip level (a list in the header)."""
    from mne_dac import preprocessing_at_level
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest").pick(["Fp1", "Cz", "O2", "ECG"]).crop(0, 16, include_tmax=False).load_data()
    fname = tmp_path_factory.mktemp("fuzz") / "gains.eegdac"
    levels = preprocessing_at_level(raw, tiny_codec, per_channel=True, verbose="error")
    write_raw_dac(fname, raw, codec=tiny_codec, preprocessing=levels, verbose="error")
    assert read_header(fname).band_edges and read_header(fname).preprocessing.per_channel
    return fname


@pytest.fixture(scope="module")
def intact_klt_codec(tmp_path_factory, excerpt_raw_module):
    """A ``"klt-codec"`` file: the shipped linear codec on the principal components."""
    fname = tmp_path_factory.mktemp("fuzz") / "klt_codec.eegdac"
    write_raw_dac(fname, excerpt_raw_module, codec="klt-codec", bits_per_second=2000, verbose="error")
    return fname


@pytest.fixture(scope="module")
def excerpt_raw_module():
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest").pick(["Fp1", "Cz", "O2", "ECG"]).crop(0, 2, include_tmax=False)
    return raw.load_data()


@pytest.mark.parametrize("version", ["2", "2 with a residual layer", "2 with band gains", "2 klt-codec", "1"])
def test_every_mutant_is_refused_or_identical(version, intact, intact_bounded, intact_band_gains, intact_klt_codec,
                                              tiny_codec, tmp_path, one_torch_thread):  # fmt: skip
    if version == "1":  # the committed file an earlier release wrote, with that release's codec
        from mne_dac import load_codec

        fname, codec = DATA_DIR / "default-2026.11.eegdac", load_codec("default-2026.11")
    elif version == "2 klt-codec":  # the shipped codec of its components
        from mne_dac import load_codec

        fname, codec = intact_klt_codec, load_codec("linear")
    else:
        files = {"2": intact, "2 with a residual layer": intact_bounded, "2 with band gains": intact_band_gains}
        fname, codec = files[version], tiny_codec
    reference = read_raw_dac(fname, codec=codec, verbose="error").get_data()  # with one thread, as the mutants
    rng = np.random.default_rng(SEED)
    outcomes: Counter = Counter()
    problems = []
    for i, (kind, buf) in enumerate(_mutants(fname.read_bytes(), rng)):
        mutant = tmp_path / f"m{i}.eegdac"
        mutant.write_bytes(buf)
        tracemalloc.start()
        try:
            data = read_raw_dac(mutant, codec=codec, verbose="error").get_data()
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

    f = CraftedFile(intact.read_bytes())
    header = copy.deepcopy(f.header)
    header["ch_names"] = [header["ch_names"][1], header["ch_names"][0], *header["ch_names"][2:]]
    crafted = tmp_path / "crafted.eegdac"
    crafted.write_bytes(f.build(header))
    for args in (["info", str(crafted)], ["decompress", str(crafted), str(tmp_path / "out_raw.fif")]):
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "'ch_names'" in err and "Traceback" not in err
    assert not (tmp_path / "out_raw.fif").exists()
