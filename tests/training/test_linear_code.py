"""The linear-code builder (mne_dac.training.linear_code): a DAC set by hand to code as the linear code it fitted."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.models.dac_model import quantizer_beam
from mne_dac.signal.preprocessing import to_codec_domain
from mne_dac.training.linear_code import build_linear_codec, mlt_basis

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def excerpt():
    """The shipped excerpt's 60 s of EEG (4,560 frames of 64 samples at 256 Hz)."""
    return read_excerpt(0, "rest", verbose=False).pick("eeg")


def _prd(codec, raw) -> float:
    x = to_codec_domain(raw.get_data(), raw.info["sfreq"], codec.sfreq, codec.preprocessing).data
    n = codec.n_codebooks
    error = x - codec.decode(codec.encode(x, n), n, n_samples=x.shape[1])
    return 100 * np.sqrt((error**2).sum() / (x**2).sum())


@pytest.mark.parametrize("beam", [False, True], ids=["greedy", "beam"])
def test_codec_codes_as_the_linear_code(excerpt, beam):
    """The DAC it builds codes its training EEG about as well as the linear code it fitted, codebook after codebook
    better; with a beam, its encoder searches (entries of a frame's whole latent)."""
    options = dict(codebook_dim=64, beam_width=4, beam_codebooks=3) if beam else {}
    code = build_linear_codec([excerpt], n_codebooks=3, max_frames=3000, decoder_steps=1, progress=False, **options)
    assert code.n_frames == 19 * 60 * 4 and len(code.frame_prd) == 3
    assert code.frame_prd == sorted(code.frame_prd, reverse=True)
    assert quantizer_beam(code.codec.model) == ((4, 3) if beam else (1, 1))
    assert code.codec.hop_length == 64 and code.codec.n_codebooks == 3
    assert _prd(code.codec, excerpt) < 2 * code.frame_prd[-1]  # k-means memorises part of its 3,000-frame sample


@pytest.mark.parametrize("hop", [2, 64, 128])
def test_lapped_basis_is_orthogonal(hop):
    """The lapped transform's coefficients, overlapped and added back, give the signal again (aliasing cancels)."""
    basis = mlt_basis(hop)
    x = np.random.default_rng(hop).standard_normal(10 * hop)
    windows = np.lib.stride_tricks.sliding_window_view(np.pad(x, hop // 2), 2 * hop)[::hop]
    back = np.zeros(11 * hop)
    for t, window in enumerate((windows @ basis) @ basis.T):
        back[t * hop : t * hop + 2 * hop] += window
    np.testing.assert_allclose(back[hop // 2 : -hop // 2][hop:-hop], x[hop:-hop], atol=1e-12)
    np.testing.assert_allclose(basis.T @ basis, np.eye(hop), atol=1e-12)


def test_lapped_code_passes_the_eeg_and_codes_it_better(excerpt):
    """With lapped frames the encoder and decoder, quantizer aside, pass the EEG through as the block code's do, and
    the codebooks code the frames better."""
    import torch

    codes, through = {}, {}
    for lapped in (False, True):
        code = build_linear_codec([excerpt], n_codebooks=2, max_frames=3000, lapped=lapped, progress=False)
        codes[lapped], codec = code, code.codec
        x = to_codec_domain(excerpt.get_data(), excerpt.info["sfreq"], codec.sfreq, codec.preprocessing).data[:, :4096]
        with torch.no_grad():
            through[lapped] = codec.model.decoder(codec.model.encoder(torch.as_tensor(x[:, None])))[:, 0]
    inner = slice(256, -256)  # the first and last frames lack a neighbour
    np.testing.assert_allclose(through[True][:, inner], through[False][:, inner], atol=1e-4)
    assert codes[True].frame_prd[-1] < codes[False].frame_prd[-1]
    assert _prd(codes[True].codec, excerpt) < _prd(codes[False].codec, excerpt)


def test_bad_requests_are_refused(excerpt):
    with pytest.raises(ValueError, match="at least one"):
        build_linear_codec([])
    with pytest.raises(ValueError, match="augment"):
        build_linear_codec([excerpt], augment=True, group_size=4)
    with pytest.raises(ValueError, match="lapped"):
        build_linear_codec([excerpt], lapped=True, group_size=4)
    with pytest.raises(ValueError, match="even hop"):
        mlt_basis(63)
    with pytest.raises(ValueError, match="needs at least as many frames"):
        build_linear_codec([excerpt.copy().crop(0, 10)])  # 760 frames for 2048 entries


def test_build_that_cannot_fit_is_refused(excerpt, monkeypatch):
    """Before loading any EEG, a build whose frames would not fit in free memory stops with a clear error."""
    from mne_dac.training.linear_code import PEAK_COPIES, check_build_memory

    need = check_build_memory([excerpt], 256.0, augment=True)
    assert need == 8 * 19 * 60 * 256 * PEAK_COPIES[True]
    monkeypatch.setattr("mne_dac.training.trainer.available_memory", lambda device="cpu": need // 2)
    with pytest.raises(MemoryError, match=r"needs about 0.0 GiB .* frames augmented 8 times.*without augment"):
        build_linear_codec([excerpt], augment=True)


def test_channel_levels(excerpt):
    """channel_levels: each channel is fitted at the codec's level, so a recording whose channels are a fifth and
    thirty times as loud gives the code of the recording as it is (the same frames, to the levels' three digits)."""
    import mne

    scales = np.where(np.arange(len(excerpt.ch_names)) % 2, 0.2, 30.0)[:, None]
    mixed = mne.io.RawArray(excerpt.get_data() * scales, excerpt.info, verbose="error")
    options = dict(n_codebooks=2, max_frames=3000, progress=False, channel_levels=True)
    as_is, scaled = (build_linear_codec([raw], **options) for raw in (excerpt, mixed))
    np.testing.assert_allclose(scaled.frame_prd, as_is.frame_prd, rtol=0.02)
    assert as_is.codec.channel_levels  # its tokens then code at those levels
    plain = build_linear_codec([mixed], n_codebooks=2, max_frames=3000, progress=False)  # clipped, far from level
    assert plain.frame_prd[-1] > as_is.frame_prd[-1] + 2 and not plain.codec.channel_levels
