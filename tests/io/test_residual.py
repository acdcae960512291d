"""The residual layer: the bound holds on every sample, bit-exact means bit-exact, layers read apart."""

from __future__ import annotations

import struct
import warnings
from pathlib import Path

import mne
import numpy as np
import pytest

from mne_dac import EEGDACFormatError, read_raw_dac, write_raw_dac
from mne_dac.commands import main
from mne_dac.io.container import read_header
from mne_dac.io.integer_coding import MAX_MAGNITUDE, decode_integers, encode_integers
from mne_dac.io.residual import decode_residual, encode_residual
from mne_dac.io.side_channels import Grid

DATA = Path(__file__).parents[1] / "data"
BOUNDS = [0.0, 0.5e-6, 1e-6, 5e-6]


def _sequences(rng):
    yield np.array([], dtype=np.int64)
    yield np.array([7])
    yield np.zeros(300, dtype=np.int64)
    yield rng.integers(-3, 4, 1000)
    yield np.cumsum(rng.normal(size=5000) * 40).astype(np.int64)  # a random walk: prediction pays
    yield np.round(np.sin(np.arange(4000) / 7) * 30000 + rng.normal(size=4000)).astype(np.int64)
    yield rng.choice([-MAX_MAGNITUDE, MAX_MAGNITUDE, 0], 700)  # the extremes
    yield (rng.laplace(size=2000) * 10 ** rng.uniform(0, 6, 2000)).astype(np.int64)  # levels that jump


def test_predictors_solve_the_normal_equations(rng):
    """The Levinson–Durbin recursion gives each order's predictor as solving its Toeplitz system does."""
    from scipy.linalg import solve_toeplitz
    from scipy.signal.windows import tukey

    from mne_dac.io.integer_coding import _quantised, fit_predictors

    orders, noises = [2, 3, 8, 32], (0.0, 0.5)
    for v in list(_sequences(rng))[3:6]:
        taper = tukey(len(v), 0.1)
        x = (v - v.mean()) * taper
        r = np.array([x[: len(x) - k] @ x[k:] for k in range(33)])
        r[1:] *= np.exp(-0.5 * (2 * np.pi * 0.002 * np.arange(1, 33)) ** 2)
        expected = []
        for order in orders:
            for noise in noises:
                column = np.r_[r[0] * (1 + 1e-9) + noise * (taper @ taper), r[1:order]]
                shift, coefficients = _quantised(solve_toeplitz(column, r[1 : order + 1]))
                expected.append((coefficients, shift))
        for (coefficients, shift), (want, want_shift) in zip(fit_predictors(v, orders, noises), expected, strict=True):
            assert shift == want_shift and np.array_equal(coefficients, want)


def test_integer_coding_is_exact(rng):
    for values in _sequences(rng):
        buf = encode_integers(values)
        np.testing.assert_array_equal(decode_integers(buf, len(values)), values)
    with pytest.raises(ValueError, match="within"):
        encode_integers(np.array([MAX_MAGNITUDE + 1]))
    counted = _with_count(encode_integers(np.arange(10)), 10)  # as written before exact-signal-codec-ans3
    np.testing.assert_array_equal(decode_integers(counted, 10), np.arange(10))
    with pytest.raises(ValueError, match="expected"):
        decode_integers(counted, 11)


def _with_count(payload: bytes, n: int) -> bytes:
    """An integer payload in the layout of files before ``exact-signal-codec-ans3``: its count after the header."""
    return bytes([payload[0], payload[1], payload[2] - 128, payload[3]]) + struct.pack("<I", n) + payload[4:]


def test_error_law_fits_the_errors(rng):
    """Gaussian errors are coded under the Gaussian law and Laplace errors under Laplace's, exactly."""
    from mne_dac.io.integer_coding import ERROR_LAWS, _error_table, _gauss_octaves

    for scale in (0.3, 3.0, 40.0, 3000.0):
        for law, noise in enumerate((rng.laplace(size=4000), rng.normal(size=4000))):
            values = np.round(noise * scale).astype(np.int64)
            buf = encode_integers(values)
            assert buf[2] % 64 // 16 == law, (ERROR_LAWS[law], scale)
            np.testing.assert_array_equal(decode_integers(buf, len(values)), values)
    for level in range(0, 160, 7):  # every table is a law; a scaled one keeps its level's mean magnitude
        octaves = _gauss_octaves(level)
        assert 0.9999 < octaves.sum() <= 1 + 1e-12  # the top levels lose a little beyond the last octave
        assert _error_table(level, 1).min() > 0
    mean = sum(p * 1.5 * 2 ** (o - 1) for o, p in enumerate(_gauss_octaves(100)) if o)  # octave midpoints
    assert 0.9 < mean / 2 ** (100 / 4 - 6) < 1.3


def test_partitions_follow_the_scale(rng):
    """Errors whose scale changes every 64 samples are coded in partitions of 64 samples, steady ones in
    partitions of 128 (fewer levels to code), both exactly."""
    changing = np.round(rng.laplace(size=6400) * np.repeat(10 ** rng.uniform(0, 3, 100), 64)).astype(np.int64)
    steady = np.round(rng.laplace(size=6400) * 30).astype(np.int64)
    for values, short in ((changing, True), (steady, False)):
        buf = encode_integers(values)
        assert bool(buf[2] & 64) == short
        np.testing.assert_array_equal(decode_integers(buf, len(values)), values)


def test_every_cascade_of_adaptive_stages_inverts(rng):
    from mne_dac.io.integer_coding import LMS_CASCADES, _adapt

    errors = np.cumsum(rng.laplace(size=3000) * 30).astype(np.int64)
    for cascade in range(len(LMS_CASCADES)):
        np.testing.assert_array_equal(_adapt(_adapt(errors, cascade), cascade, inverse=True), errors)


def test_damaged_integer_payloads_raise(rng):
    """Any change to a payload gives a ValueError or other values, never a crash or a hang."""
    values = np.cumsum(rng.normal(size=1000) * 40).astype(np.int64)
    buf = bytearray(encode_integers(values))
    for _ in range(300):
        mutant = bytearray(buf)
        for i in rng.integers(0, len(buf), rng.integers(1, 4)):
            mutant[i] = rng.integers(0, 256)
        cut = mutant[: rng.integers(0, len(mutant) + 1)] if rng.random() < 0.2 else mutant
        try:
            decoded = decode_integers(bytes(cut), len(values))
        except ValueError:
            continue
        assert decoded.shape == values.shape


@pytest.mark.parametrize(("on_reader_grid", "with_codec"), [(False, True), (True, True), (False, False)])
def test_residual_payload_damage_raises(rng, on_reader_grid, with_codec):
    grid = Grid(0.3, 0.0, 1e-6) if on_reader_grid else None  # with it, channels of the kind G
    x = np.cumsum(rng.normal(size=(3, 800)), axis=1) * 1e-6
    x = grid.values(grid.integers(x)) if grid else x
    max_error = 0.5e-6 if with_codec else 5e-6  # without: channels with error feedback (P)
    buf = encode_residual(x, x + 1e-6 if with_codec else None, max_error, margin=2e-11, grids=[grid] * 3)
    for _ in range(200):
        mutant = bytearray(buf)
        mutant[rng.integers(0, len(buf))] ^= 1 << int(rng.integers(0, 8))
        try:
            decode_residual(bytes(mutant), 3, 800, max_error=max_error, margin=2e-11, grids=[grid] * 3)
        except EEGDACFormatError:
            pass


def test_steps_of_several_reader_grid_points(rng):
    """On a reader's grid finer than the bound, a step holds several of its points (kind G): smaller than
    steps of twice the bound (kind S), each sample rebuilt within the bound; where the bound is a whole
    number of half grid steps, float rounding would break it at the steps' middles, and G is not used."""
    k = np.cumsum(rng.integers(-40, 41, size=(2, 3000)), axis=1)
    grid = Grid(0.3, 0.0, 1e-6)  # 0.5 µV: 4 points, a step of 1.2 µV instead of 1
    x = grid.values(k)
    coarse = encode_residual(x, None, 0.5e-6, margin=0.0, grids=[grid, grid])
    assert _first_kind(coarse) == b"G"
    assert len(coarse) < 0.97 * len(encode_residual(x, None, 0.5e-6, margin=0.0))
    decoded = decode_residual(coarse, 2, 3000, max_error=0.5e-6, margin=0.0, grids=[grid, grid]).offsets
    assert np.abs(decoded - x).max() <= 0.5e-6
    with pytest.raises(EEGDACFormatError, match="no grid"):
        decode_residual(coarse, 2, 3000, max_error=0.5e-6, margin=0.0)
    whole_uv = Grid(1.0, 0.0, 1e-6)
    whole = encode_residual(whole_uv.values(k), None, 0.5e-6, margin=0.0, grids=[whole_uv] * 2)
    assert _first_kind(whole) in (b"R", b"S")


def test_error_feedback_loop_holds_half_a_step(rng):
    """The loop's reconstruction is within half a step of every input (of ``n`` grid points: ``(n - 1) / 2``
    of them) and rebuilds from its errors alone, whatever the predictor (fuzzed coefficients, shifts, centres,
    inputs up to its largest)."""
    from mne_dac.io.error_feedback import FRACTION_BITS, MAX_INPUT, fit_feedback, quantise, rebuild

    for _ in range(40):
        n, order = int(rng.integers(0, 400)), int(rng.integers(0, 33))
        y = np.cumsum(rng.normal(size=n)) * 10 ** rng.uniform(-2, 4)
        y = np.clip(y, -MAX_INPUT + 1, MAX_INPUT - 1)
        coefficients = rng.integers(-(1 << 15), 1 << 15, order) // int(rng.choice([1, 64, 4096]))
        shift, centre = int(rng.integers(0, 16)), int(rng.integers(-1000, 1000))
        points = int(rng.choice([1, 1, 2, 3, 8, 21]))  # > 1: y are a reader's grid integers
        y = np.rint(y) if points > 1 else y
        q, rebuilt = quantise(y, coefficients, shift, centre, points)
        np.testing.assert_array_equal(rebuild(q, coefficients, shift, centre, points), rebuilt)
        within = (points - 1) / 2 if points > 1 else 0.5
        if np.abs(q).max(initial=0) < 1 << 40:  # a predictor this wild overflows 64 bits: the writer drops it
            assert np.abs(y - rebuilt / (1 << FRACTION_BITS)).max(initial=0) <= within
    y = np.sin(np.arange(3000) * np.pi / 2) * 30 + np.cumsum(rng.normal(size=3000)) * 0.1
    coefficients, shift, centre, q = fit_feedback(y)
    np.testing.assert_array_equal(quantise(y, coefficients, shift, centre)[0], q)
    assert len(coefficients) >= 2 and np.abs(q).mean() < 0.5  # mains at a quarter of the rate: predicted


def test_error_feedback_codes_predictable_signals_smaller(rng):
    """At a coarse bound, on drifting mains at 200 Hz over a slow wander, prediction with error feedback codes the
    signal (kind P) smaller than rounding it first (S), and what a codec that kept the wander missed (Q), every
    sample within the bound; files of a residual coding without those kinds cannot hold them."""
    n, bound = 6000, 5e-6
    wander = np.cumsum(rng.normal(size=(3, n)), axis=1) * 2e-6
    t = np.arange(n)
    mains = 100e-6 * (1 + 0.5 * np.sin(t / 300)) * np.sin(t * np.pi / 2 * 1.002 + rng.uniform(0, 6, (3, 1)))
    x = wander + mains + 2e-6 * rng.normal(size=(3, n))
    decoded = wander + 1e-6 * rng.normal(size=x.shape)  # a codec that missed the mains
    signal = encode_residual(x, None, bound, margin=0.0)
    rounded_first = sum(len(encode_integers(np.rint(ch / (2 * bound * (1 - 2.0**-20))).astype(np.int64))) for ch in x)
    assert _first_kind(signal) == b"P" and len(signal) < 0.9 * rounded_first
    residual = encode_residual(x, decoded, bound, margin=2e-11)
    assert _first_kind(residual) == b"Q" and len(residual) < len(signal)
    for buf, base in ((signal, None), (residual, decoded)):
        block = decode_residual(buf, 3, n, max_error=bound, margin=2e-11 if base is not None else 0.0)
        assert np.abs(block.apply(base, 0, n) - x).max() <= bound
    with pytest.raises(EEGDACFormatError, match="kind P in a file of a residual coding without it"):
        decode_residual(signal, 3, n, max_error=bound, margin=0.0, coding="exact-signal-codec-ans3")


def test_error_feedback_on_the_reader_grid(rng):
    """On a reader's grid finer than the bound, error feedback takes steps of several of its points (kind F):
    smaller than without the grid (P or S), every sample within the bound; a reader needs the header's grid."""
    grid, n = Grid(0.3, 0.0, 1e-6), 6000  # 0.5 µV: 4 points, a step of 1.2 µV
    t = np.arange(n)
    x = grid.values(grid.integers(np.cumsum(rng.normal(size=(2, n)), axis=1) * 1e-6 + 80e-6 * np.sin(t * np.pi / 2)))
    buf = encode_residual(x, None, 0.5e-6, margin=0.0, grids=[grid, grid])
    assert _first_kind(buf) == b"F"
    assert len(buf) < len(encode_residual(x, None, 0.5e-6, margin=0.0))  # P or S, without the grid
    decoded = decode_residual(buf, 2, n, max_error=0.5e-6, margin=0.0, grids=[grid, grid]).offsets
    assert np.abs(decoded - x).max() <= 0.5e-6
    with pytest.raises(EEGDACFormatError, match="no grid"):
        decode_residual(buf, 2, n, max_error=0.5e-6, margin=0.0)


def test_references_beyond_the_128th_channel(rng):
    """A block of 140 correlated channels (a high-density montage) is written and read back: channels past the
    128th are tried as references (an ``int8`` reference made the writer fail before ``exact-signal-codec-ans4``)."""
    common = np.cumsum(rng.normal(size=400))
    x = (common * rng.uniform(0.5, 1, (140, 1)) + 0.1 * rng.normal(size=(140, 400))) * 1e-6
    buf = encode_residual(x, None, 0.5e-6, margin=0.0)
    assert np.abs(decode_residual(buf, 140, 400, max_error=0.5e-6, margin=0.0).offsets - x).max() <= 0.5e-6


def test_sizes_are_varints():
    """Sizes round-trip as LEB128 varints of at most 5 bytes; a longer or cut-off one raises."""
    from mne_dac.io.residual import _read_size, _varint

    for n in (0, 1, 127, 128, 300, 16383, 16384, 2**32, 2**35 - 1):
        coded = _varint(n)
        assert _read_size(b"x" + coded + b"y", 1, varints=True) == (n, 1 + len(coded))
    for bad in (b"\x80" * 5, b"\x80\x80"):
        with pytest.raises(ValueError, match="cut off"):
            _read_size(bad, 0, varints=True)


def _first_kind(residual: bytes) -> bytes:
    """The kind of a residual payload's first channel."""
    from mne_dac.io.residual import _read_size

    start = _read_size(residual, 0, varints=True)[1]
    return residual[start : start + 1]


def test_reader_grid_is_stored_once(rng):
    """On the reader's grid a channel costs no grid bytes; a reader needs the header's grid to decode it."""
    grid = Grid(0.25, 1.5, 1e-6)
    x = grid.values(np.cumsum(rng.integers(-9, 10, size=(2, 900)), axis=1))
    on_reader_grid = encode_residual(x, None, 0.0, margin=0.0, grids=[grid, grid])
    estimated = encode_residual(x, None, 0.0, margin=0.0)
    assert len(on_reader_grid) < len(estimated)
    decoded = decode_residual(on_reader_grid, 2, 900, max_error=0.0, margin=0.0, grids=[grid, grid])
    np.testing.assert_array_equal(decoded.offsets, x)
    np.testing.assert_array_equal(decode_residual(estimated, 2, 900, max_error=0.0, margin=0.0).offsets, x)
    with pytest.raises(EEGDACFormatError, match="no grid"):
        decode_residual(on_reader_grid, 2, 900, max_error=0.0, margin=0.0, grids=[None, None])


@pytest.fixture(scope="module")
def recordings():
    """Real recordings from integer files: eegmat (500 Hz, 21 channels), eegmmidb (128 Hz, 64 channels)."""
    from mne_dac.evaluation.datasets import read_excerpt

    eegmat = read_excerpt(0, "rest").crop(0, 20, include_tmax=False)
    eegmmidb = mne.io.read_raw_edf(DATA / "eegmmidb_excerpt_S_R_128Hz.edf", verbose="error").crop(0, 40)
    return {
        "eegmat": eegmat,
        "eegmmidb": eegmmidb.pick(eegmmidb.ch_names[:16]),
        "nihon": mne.io.read_raw_nihon(DATA / "MB0400FU.EEG", verbose="error"),  # clinical: large excursions
        "eeglab": mne.io.read_raw_eeglab(DATA / "test_raw.set", verbose="error"),  # float samples
        "fif": mne.io.read_raw_fif(DATA / "data_resting_EO_200Hz_raw.fif", verbose="error").crop(0, 40),
    }


@pytest.mark.parametrize(
    ("name", "max_error"),
    [(name, bound) for name in ("eegmat", "eegmmidb") for bound in BOUNDS]
    + [(name, bound) for name in ("nihon", "eeglab", "fif") for bound in (0.0, 1e-6)],
)
def test_bound_holds_on_every_sample(recordings, name, max_error, tiny_codec, tmp_path):
    raw = recordings[name]
    fname = write_raw_dac(tmp_path / "rec.eegdac", raw, codec=tiny_codec, max_error=max_error, verbose="error")
    header = read_header(fname)
    assert header.residual["max_error"] == max_error and header.residual_bytes > 0
    decoded = read_raw_dac(fname, tiny_codec, verbose="error")
    original = raw.get_data()
    if max_error == 0:
        np.testing.assert_array_equal(decoded.get_data(), original)  # bit for bit
    else:
        assert np.abs(decoded.get_data() - original).max() <= max_error
    part = read_raw_dac(fname, tiny_codec, tmin=7.3, tmax=12.1, verbose="error")  # by blocks, to the bound too
    start = int(round(7.3 * raw.info["sfreq"]))
    assert np.abs(part.get_data() - original[:, start : start + part.n_times]).max() <= max_error


def test_bit_exact_back_to_edf_with_channels_kept_aside(tmp_path):
    """The grids of the EEG (residual layer) and of the channels kept aside (their blocks) take a bit-exact file
    back to an EDF equal to the source, bit for bit."""
    from mne_dac.io.container import read_grids
    from mne_dac.io.raw import save_reconstruction
    from mne_dac.io.side_channels import reader_grids

    src = mne.io.read_raw_edf(DATA / "eegmmidb_excerpt_S_R_128Hz.edf", verbose="error").crop(0, 20, include_tmax=False)
    raw = src.copy().pick(src.ch_names[:6]).set_channel_types({src.ch_names[4]: "eog", src.ch_names[5]: "misc"})
    fname = write_raw_dac(tmp_path / "rec.eegdac", raw, codec="klt-dct", max_error=0, verbose="error")
    grids = read_grids(fname)
    assert grids == dict(zip(raw.ch_names, reader_grids(raw, range(6))))
    with pytest.warns(RuntimeWarning, match="channel types") as record:  # EDF types every channel EEG
        save_reconstruction(read_raw_dac(fname, verbose="error"), tmp_path / "back.edf", exact=True, grids=grids)
    assert len(record) == 1  # and nothing on the samples
    back = mne.io.read_raw_edf(tmp_path / "back.edf", verbose="error")
    np.testing.assert_array_equal(back.get_data()[:, : raw.n_times], raw.get_data())


@pytest.mark.parametrize(
    "coding, bound",
    [
        ("exact-signal-codec-ans", "bit-exact"),
        ("exact-signal-codec-ans", "1uV"),
        ("exact-signal-codec-ans2", "1uV"),
        ("exact-signal-codec-ans3", "1uV"),
        ("exact-signal-codec-ans4", "1uV"),
        ("exact-signal-codec-ans4", "5uV"),
    ],
)
def test_residual_files_written_before_decode_as_they_did(coding, bound):
    """Files with a residual layer written on 2026-11-30 (``exact-signal-codec-ans``) and 2026-12-01
    (``exact-signal-codec-ans2``, ``exact-signal-codec-ans3``: steps of several grid points, varint sizes, short
    partitions; ``exact-signal-codec-ans4``: error feedback, kinds F at 1 µV, P and Q at 5 µV; 4 Nihon Kohden
    channels, 6 s, KLT + DCT base) decode to the samples they decoded to then, bit for bit."""
    fname = DATA / f"{coding}-{bound}.eegdac"
    assert read_header(fname).residual["coding"] == coding
    np.testing.assert_array_equal(read_raw_dac(fname).get_data(), np.load(DATA / f"{coding}-{bound}_decoded.npy"))


def test_tokens_layer_reads_apart(recordings, tiny_codec, tmp_path):
    raw = recordings["eegmat"]
    bounded = write_raw_dac(tmp_path / "bounded.eegdac", raw, codec=tiny_codec, max_error=1e-6, verbose="error")
    lossy = write_raw_dac(tmp_path / "lossy.eegdac", raw, codec=tiny_codec, verbose="error")
    tokens = read_raw_dac(bounded, tiny_codec, layer="tokens", verbose="error")
    np.testing.assert_allclose(tokens.get_data(), read_raw_dac(lossy, tiny_codec, verbose="error").get_data(),
                               rtol=0, atol=1e-12)  # fmt: skip
    assert "within ±1 µV" in read_raw_dac(bounded, tiny_codec, verbose="error").info["description"]
    with pytest.raises(ValueError, match="layer"):
        read_raw_dac(bounded, tiny_codec, layer="residual")
    with pytest.raises(ValueError, match="max_error"):
        write_raw_dac(tmp_path / "bad.eegdac", raw, codec=tiny_codec, max_error=-1e-6)


def test_cli_max_error(recordings, tiny_codec_file, tmp_path, capsys):
    src = DATA / "eegmmidb_excerpt_S_R_128Hz.edf"
    out = tmp_path / "rec.eegdac"
    assert main(["compress", str(src), str(out), "--codec", str(tiny_codec_file), "--max-error", "0",
                 "--allow-clipping"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "Layers:" in printed and "bit-exact" in printed
    dest = tmp_path / "rec_raw.fif"
    assert main(["decompress", str(out), str(dest), "--codec", str(tiny_codec_file)]) == 0
    original = mne.io.read_raw_edf(src, verbose="error").get_data()
    np.testing.assert_array_equal(mne.io.read_raw_fif(dest, verbose="error").get_data(), original)
    with warnings.catch_warnings():
        warnings.simplefilter(
            "error", RuntimeWarning
        )  # nothing is lost in EDF either: the source's integers, on its scale
        assert main(["decompress", str(out), str(tmp_path / "rec.edf"), "--codec", str(tiny_codec_file)]) == 0
    np.testing.assert_array_equal(mne.io.read_raw_edf(tmp_path / "rec.edf", verbose="error").get_data(), original)
    assert main(["compress", str(src), str(tmp_path / "x.eegdac"), "--max-error", "-1"]) == 1
    assert "--max-error: a bound in µV" in capsys.readouterr().err
