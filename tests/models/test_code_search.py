"""Tests of the encoder's analysis-by-synthesis code search (mne_dac.models.code_search)."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from conftest import excerpt_codec_domain

from mne_dac import load_codec

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _searching(codec, search: int):
    """The same codec (shared model) with the search on."""
    searching = copy.copy(codec)
    searching.search = search
    return searching


def _squared_errors(codec, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return ((codec.decode(codes, n_samples=x.shape[1]).astype(np.float64) - x) ** 2).sum(1)


@pytest.fixture(scope="module")
def greedy_codec():
    """A shipped codec whose encoder takes DAC's nearest entries (the default's beam search already does better)."""
    return load_codec("default-2026.12b", device="cpu", verbose=False)


@pytest.mark.parametrize("n_codebooks", [1, 2, 3])
def test_search_lowers_the_error_of_every_channel(greedy_codec, n_codebooks):
    """Searched codes decode nearer the signal than DAC's nearest entries, channel by channel."""
    x = excerpt_codec_domain(greedy_codec.sfreq)[
        :4, : 80 * greedy_codec.hop_length
    ]  # one chunk: its error is what the search saw
    greedy = greedy_codec.encode(x, n_codebooks)
    searched = _searching(greedy_codec, 2).encode(x, n_codebooks)
    assert searched.shape == greedy.shape and searched.dtype == greedy.dtype
    assert searched.min() >= 0 and searched.max() < greedy_codec.codebook_size
    before, after = _squared_errors(greedy_codec, x, greedy), _squared_errors(greedy_codec, x, searched)
    assert np.all(after <= before * (1 + 1e-6))
    assert after.sum() < 0.97 * before.sum()
    assert (searched != greedy).any(axis=(1, 2)).all()  # codes changed somewhere in every channel


@pytest.mark.parametrize("seed", range(4))
def test_search_is_never_worse(tiny_codec, seed):
    """Property: on any signal (here random, of random length within one chunk), never a larger error."""
    rng = np.random.default_rng(seed)
    n_frames = int(rng.integers(1, 12))
    x = (rng.standard_normal((3, n_frames * tiny_codec.hop_length)) * rng.uniform(0.01, 0.5)).astype(np.float32)
    n_q = int(rng.integers(1, tiny_codec.n_codebooks + 1))
    greedy = tiny_codec.encode(x, n_q)
    searched = _searching(tiny_codec, 3).encode(x, n_q)
    assert np.all(_squared_errors(tiny_codec, x, searched) <= _squared_errors(tiny_codec, x, greedy) * (1 + 1e-6))


def test_search_is_a_runtime_option(tiny_codec):
    """Kept by pickles, absent from the configuration and the identity; refused below 0 and by DAC-MC."""
    from mne_dac.codecs.mc_codec import DACMCCodec

    searching = _searching(tiny_codec, 2)
    assert pickle.loads(pickle.dumps(searching)).search == 2
    assert searching.get_config() == tiny_codec.get_config() and searching.identity == tiny_codec.identity
    with pytest.raises(ValueError, match="search must be >= 0"):
        load_codec("random", n_codebooks=2, codebook_size=16, dac_kwargs=dict(encoder_dim=4, decoder_dim=16),
                   search=-1)  # fmt: skip
    with pytest.raises(ValueError, match="DAC-SC codecs only"):
        load_codec("mc-pivot", search=2)
    mc = DACMCCodec.from_codec(searching, grouping="pivot", group_size=2)
    assert mc.search == 0
    with pytest.raises(ValueError, match="DAC-SC codecs only"):
        mc.search = 2
