"""The linear-code builder (mne_dac.training.linear_code): a DAC set by hand to code as the linear code it fitted."""

from __future__ import annotations

import numpy as np
import pytest

from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.models.dac_model import quantizer_beam
from mne_dac.signal.preprocessing import to_codec_domain
from mne_dac.training.linear_code import build_linear_codec

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


def test_bad_requests_are_refused(excerpt):
    with pytest.raises(ValueError, match="at least one"):
        build_linear_codec([])
    with pytest.raises(ValueError, match="augment"):
        build_linear_codec([excerpt], augment=True, group_size=4)
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
