"""Band gains of a decoded block (:mod:`mne_dac.io.band_gains`): they lift each band's power to 90 % of the
original's, leave a good decode alone, and take any block length."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac import EEGDACFormatError
from mne_dac.io.band_gains import BAND_EDGES, apply_band_gains, band_gains, gain_bytes

SFREQ = 256.0


def test_gains_bring_band_power_back():
    """A decode that lost power towards β (a low-pass) gets each band's power back to 90 %, by the metrics'
    measure."""
    from scipy.signal import butter, resample_poly, sosfiltfilt

    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.signal.metrics import band_power_error

    x = resample_poly(read_excerpt(0, "rest", verbose=False).get_data(picks="eeg")[:3], 256, 500, axis=1)
    x -= x.mean(axis=1, keepdims=True)
    decoded = sosfiltfilt(butter(1, 20.0, fs=SFREQ, output="sos"), x, axis=1)
    payload = band_gains(x, decoded, SFREQ, BAND_EDGES)
    assert len(payload) == gain_bytes(3, len(BAND_EDGES) - 1)
    restored = apply_band_gains(decoded, payload, SFREQ, BAND_EDGES)
    before, after = band_power_error(x, decoded, SFREQ), band_power_error(x, restored, SFREQ)
    assert before["beta"].mean() > 0.5
    for band in ("delta", "theta", "alpha", "beta"):
        assert after[band].max() < 0.15, band  # 10 % and a step of the stored gains at most
    assert (after["beta"] < before["beta"] / 3).all()
    assert np.sum((restored - x) ** 2) < np.sum((decoded - x) ** 2)  # here the lost power was mostly a scale


def test_perfect_decode_is_left_alone(rng):
    x = rng.standard_normal((4, 1000))
    restored = apply_band_gains(x, band_gains(x, x, SFREQ, BAND_EDGES), SFREQ, BAND_EDGES)
    np.testing.assert_allclose(restored, x, atol=1e-12)


@pytest.mark.parametrize("n_samples", [1, 2, 3, 7, 100, 511, 512, 700])
@pytest.mark.parametrize("n_channels", [1, 3])
@pytest.mark.parametrize("silent", [False, True])
def test_any_block_length_and_silent_bands(n_samples, n_channels, silent):
    """Any block, a silent decode included, gets finite gains and a finite decode of its shape."""
    x = np.random.default_rng(n_samples).standard_normal((n_channels, n_samples))
    decoded = np.zeros_like(x) if silent else 0.5 * x
    restored = apply_band_gains(decoded, band_gains(x, decoded, SFREQ, BAND_EDGES), SFREQ, BAND_EDGES)
    assert restored.shape == x.shape and np.isfinite(restored).all()
    if silent:
        np.testing.assert_array_equal(restored, 0)


def test_malformed_payload_is_refused():
    with pytest.raises(EEGDACFormatError, match="1 bytes, expected 5"):
        apply_band_gains(np.zeros((2, 100)), b"\x00", SFREQ, BAND_EDGES)


def _prd_and_band_errors(raw, decoded) -> tuple[float, dict[str, float]]:
    """PRD (%) and mean band-power errors of the decoded EEG against the high-passed original."""
    from mne_dac.signal.metrics import fidelity_report

    overall = fidelity_report(raw, decoded, codec_sfreq=256.0, verbose="error").overall
    return overall["prd"], {band: overall[f"err_{band}"] for band in ("delta", "theta", "alpha", "beta")}


def test_token_files_keep_band_powers(shipped_codec, tmp_path):
    """A file of the default codec's tokens keeps each block's band powers (the β the codec loses), for a
    point of PRD; its tokens are those of a file without gains, a time range decodes as the whole, and decoding
    at a lower depth, under a residual layer or with ``restore_bands=False`` goes without the gains."""
    from mne_dac import read_raw_dac, read_tokens, reconstruct_raw, write_raw_dac
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.container import describe_file, read_header

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 20)
    kept = write_raw_dac(tmp_path / "kept.eegdac", raw, shipped_codec, verbose="error")
    least = write_raw_dac(tmp_path / "least.eegdac", raw, shipped_codec, restore_bands=False, verbose="error")
    assert read_header(kept).band_edges == BAND_EDGES and read_header(least).band_edges == ()
    assert "Band powers:       at least 90% kept in each 16-s block (1-4, 4-8" in describe_file(kept)
    assert "Band powers:       not kept" in describe_file(least)
    n_blocks = -(-read_header(kept).codes_shape[2] // read_header(kept).block_frames)
    assert read_header(kept).token_bytes == read_header(least).token_bytes + n_blocks * gain_bytes(19, 4)
    np.testing.assert_array_equal(read_tokens(kept).codes, read_tokens(least).codes)
    decoded = read_raw_dac(kept, verbose="error")
    (prd_kept, errors_kept), (prd_least, errors_least) = (
        _prd_and_band_errors(raw, decoded), _prd_and_band_errors(raw, read_raw_dac(least, verbose="error"))
    )  # fmt: skip
    assert errors_least["beta"] > 0.3 and max(errors_kept.values()) < 0.15
    assert prd_kept < prd_least + 2
    part = read_raw_dac(kept, tmin=10.0, tmax=19.0, verbose="error")  # across a block's edge (16 s)
    np.testing.assert_allclose(part.get_data(), decoded.copy().crop(10.0, 19.0).get_data(), rtol=0, atol=1e-12)
    shallow = read_raw_dac(kept, n_codebooks=1, verbose="error").get_data()
    expected = reconstruct_raw(read_tokens(kept), shipped_codec, n_codebooks=1).get_data()
    np.testing.assert_allclose(shallow, expected, rtol=0, atol=1e-9)  # float rounding of decodes in other chunks
    bounded = write_raw_dac(tmp_path / "b.eegdac", raw.copy().crop(0, 5), shipped_codec, max_error=5e-6)
    assert read_header(bounded).band_edges == ()
    with pytest.raises(TypeError, match="restore_bands"):
        write_raw_dac(tmp_path / "x.eegdac", raw, shipped_codec, restore_bands=1)


def test_tokens_keep_band_powers_as_their_files(shipped_codec, tmp_path):
    """Tokens carry the band gains that a file of them keeps (the same gains, the same decode), through
    ``write_tokens`` / ``read_tokens`` too; decoding fewer codebooks, a time range's tokens and ``restore_bands=False``
    go without them (``test_nested_depth``: :func:`tokenize_at_depths`' shallower depths get their own)."""
    import dataclasses

    from mne_dac import read_raw_dac, read_tokens, reconstruct_raw, tokenize_raw, write_raw_dac, write_tokens
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 20)
    tokens = tokenize_raw(raw, shipped_codec, verbose="error")
    assert tokens.band_gains.shape == (2, 19, 4) and "band gains" in repr(tokens)
    assert tokenize_raw(raw.copy().crop(0, 6), shipped_codec, restore_bands=False).band_gains is None
    file = write_raw_dac(tmp_path / "kept.eegdac", raw, shipped_codec, verbose="error")
    np.testing.assert_array_equal(read_tokens(file).codes, tokens.codes)
    np.testing.assert_array_equal(read_tokens(file).band_gains, tokens.band_gains)
    restored = reconstruct_raw(tokens, shipped_codec, verbose="error")
    np.testing.assert_allclose(restored.get_data(), read_raw_dac(file, verbose="error").get_data(), rtol=0, atol=1e-9)
    codec_alone = reconstruct_raw(tokens, shipped_codec, restore_bands=False, verbose="error")
    assert _prd_and_band_errors(raw, codec_alone)[1]["beta"] > 0.3
    assert max(_prd_and_band_errors(raw, restored)[1].values()) < 0.15
    written = write_tokens(tmp_path / "tokens.eegdac", tokens)
    np.testing.assert_array_equal(read_tokens(written).band_gains, tokens.band_gains)
    np.testing.assert_allclose(read_raw_dac(written, verbose="error").get_data(), restored.get_data(), rtol=0,
                               atol=1e-9)  # fmt: skip
    assert read_tokens(written, tmin=2.0, tmax=5.0).band_gains is None
    shallow = reconstruct_raw(dataclasses.replace(tokens, band_gains=None), shipped_codec, n_codebooks=1).get_data()
    np.testing.assert_array_equal(reconstruct_raw(tokens, shipped_codec, n_codebooks=1).get_data(), shallow)
    for bad in (tokens.band_gains[:1], tokens.band_gains + 32, tokens.band_gains.astype(float)):
        with pytest.raises(ValueError, match="band_gains must be None or integers from 0 to 31"):
            dataclasses.replace(tokens, band_gains=bad)
    with pytest.raises(TypeError, match="restore_bands"):
        tokenize_raw(raw, shipped_codec, restore_bands="yes")


def test_range_reads_decode_each_block_once(shipped_codec, tmp_path, monkeypatch):
    """A token file with gains read in 1-s pieces (a Raw not preloaded, a browser scrolling) decodes each 16-s
    block once, and gives what reading the whole file gives."""
    from mne_dac import read_raw_dac, write_raw_dac
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.container import read_header

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 40)
    fname = write_raw_dac(tmp_path / "kept.eegdac", raw, shipped_codec, verbose="error")
    whole = read_raw_dac(fname, shipped_codec, verbose="error").get_data()
    calls, decode = [], shipped_codec.decode
    monkeypatch.setattr(shipped_codec, "decode", lambda *args, **kwargs: calls.append(1) or decode(*args, **kwargs))
    lazy, step = read_raw_dac(fname, shipped_codec, preload=False, verbose="error"), int(raw.info["sfreq"])
    pieces = [lazy.get_data(start=start, stop=start + step) for start in range(0, len(raw.times), step)]
    np.testing.assert_allclose(np.concatenate(pieces, axis=1), whole, rtol=0, atol=1e-9)  # decodes of other ranges
    header = read_header(fname)
    assert len(calls) == -(-header.codes_shape[2] // header.block_frames)


def test_short_token_file_has_no_gains(shipped_codec, tmp_path):
    """Under 5 s the gains would take more than a twentieth of the bits: none."""
    from mne_dac import read_raw_dac, write_raw_dac
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.io.container import read_header

    raw = read_excerpt(0, "rest", verbose=False).crop(0, 4)
    fname = write_raw_dac(tmp_path / "s.eegdac", raw, shipped_codec, verbose="error")
    assert read_header(fname).band_edges == ()
    assert read_raw_dac(fname, verbose="error").n_times == raw.n_times


@pytest.fixture(scope="module")
def token_files(shipped_codec, tmp_path_factory) -> dict:
    """Files of 10 s of two channels, with band gains and with a residual layer."""
    from mne_dac import write_raw_dac
    from mne_dac.evaluation.datasets import read_excerpt

    raw = read_excerpt(0, "rest", verbose=False).pick([0, 1]).crop(0, 10)
    folder = tmp_path_factory.mktemp("tokens")
    return {
        "gains": write_raw_dac(folder / "gains.eegdac", raw, shipped_codec, verbose="error"),
        "residual": write_raw_dac(folder / "residual.eegdac", raw, shipped_codec, max_error=5e-6, verbose="error"),
    }


@pytest.mark.parametrize(
    ("change", "match", "kind"),
    [
        ({"band_edges": [1, 4, 8, 13, 45]}, "'band_edges': expected", "gains"),
        ({"band_edges": "1 4 8 13 30"}, "'band_edges': expected", "gains"),
        ({"band_edges": [1, 4, 8, 13, 30]}, "without a residual layer", "residual"),
    ],
)
def test_crafted_token_band_edges_are_refused(token_files, tmp_path, change, match, kind):
    import json

    from conftest import CraftedFile

    from mne_dac import read_raw_dac

    crafted = CraftedFile(token_files[kind].read_bytes())
    header = {**json.loads(json.dumps(crafted.header)), **change}
    (tmp_path / "c.eegdac").write_bytes(crafted.build(header))
    with pytest.raises(EEGDACFormatError, match=match):
        read_raw_dac(tmp_path / "c.eegdac", verbose="error")


def test_token_payload_shorter_than_its_gains_is_refused(token_files, tmp_path):
    """A crafted block whose payload cannot hold its gains."""
    import json

    from conftest import CraftedFile

    from mne_dac import read_raw_dac

    crafted = CraftedFile(token_files["gains"].read_bytes())
    footer = json.loads(json.dumps(crafted.footer))
    n_tokens = footer["blocks"][0][0]
    footer["blocks"][0][0] = 2  # of the 5 bytes of 2 channels' gains
    blocks = crafted.blocks[:2] + crafted.blocks[n_tokens:]
    (tmp_path / "c.eegdac").write_bytes(crafted.build(footer=footer, blocks=blocks))
    with pytest.raises(EEGDACFormatError, match="cannot hold the block's band gains"):
        read_raw_dac(tmp_path / "c.eegdac", verbose="error")
