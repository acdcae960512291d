"""Tests of the beam-search residual quantizer (mne_dac.models.beam_search)."""

from __future__ import annotations

import copy
import itertools
import pickle

import numpy as np
import pytest
import torch

from mne_dac import load_codec
from mne_dac.models.beam_search import MAX_BEAM_WIDTH, BeamResidualVectorQuantize, beam_search
from mne_dac.models.dac_model import clone_model, dac_config, new_dac, quantizer_beam

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SMALL = dict(encoder_dim=4, decoder_dim=16, encoder_rates=[2, 4], decoder_rates=[4, 2], codebook_lookup="euclidean")


def _beam_codec(beam_width: int = 4):
    return load_codec(
        "random",
        sfreq=256.0,
        n_codebooks=3,
        codebook_size=16,
        dac_kwargs=dict(SMALL, beam_width=beam_width, beam_codebooks=2),
        device="cpu",
        verbose=False,
    )


@pytest.fixture(scope="module")
def beam_codec():
    return _beam_codec()


def test_wide_beam_is_exhaustive(rng):
    """A beam as wide as a codebook finds the best pair of entries; a beam of 1 is greedy in the same error."""
    codebooks = [torch.as_tensor(rng.standard_normal((8, 5)), dtype=torch.float32) for _ in range(2)]
    frames = torch.as_tensor(rng.standard_normal((50, 5)), dtype=torch.float32)
    pairs = torch.stack([codebooks[0][i] + codebooks[1][j] for i, j in itertools.product(range(8), range(8))])
    best = torch.cdist(frames, pairs).argmin(1)
    np.testing.assert_array_equal(beam_search(frames, codebooks, 8).numpy(), np.stack([best // 8, best % 8], 1))
    first = torch.cdist(frames, codebooks[0]).argmin(1)
    second = torch.cdist(frames - codebooks[0][first], codebooks[1]).argmin(1)
    np.testing.assert_array_equal(beam_search(frames, codebooks, 1).numpy(), np.stack([first, second], 1))


def test_beam_never_worse_than_greedy(rng):
    """Over two codebooks the greedy pair is among the candidates: the searched codes leave at most its residual."""
    codebooks = [torch.as_tensor(rng.standard_normal((32, 6)), dtype=torch.float32) for _ in range(2)]
    frames = torch.as_tensor(3 * rng.standard_normal((200, 6)), dtype=torch.float32)

    def error(codes):
        return (frames - sum(c[codes[:, i]] for i, c in enumerate(codebooks))).pow(2).sum(1)

    greedy, searched = error(beam_search(frames, codebooks, 1)), error(beam_search(frames, codebooks, 4))
    assert (searched <= greedy + 1e-5).all() and searched.mean() < greedy.mean()


def test_codec_codes_by_beam_search(beam_codec):
    """The codec's codes are the beam search's over the first codebooks; the later ones extend them."""
    x = np.random.default_rng(1).standard_normal((2, 640)).astype(np.float32) * 0.1
    codes = beam_codec.encode(x, 3)
    np.testing.assert_array_equal(beam_codec.encode(x, 2), codes[:, :2])  # deeper codes start with shallower ones
    greedy = copy.deepcopy(beam_codec)
    greedy.model.quantizer.beam_width = 1
    assert not np.array_equal(greedy.encode(x, 2), codes[:, :2])
    model = beam_codec.model
    with torch.no_grad():
        z = model.encoder(torch.as_tensor(x)[:, None])
        latent_error = []
        for c in (codes[:, :2], greedy.encode(x, 2)):
            z_q = model.quantizer.from_codes(torch.as_tensor(c))[0]
            latent_error.append(float((z - z_q).pow(2).sum()))
    assert latent_error[0] < latent_error[1]
    assert beam_codec.decode(codes, 2).shape == x.shape


def test_training_forward_is_dacs(beam_codec):
    """In training mode the quantizer is DAC's greedy one, with its losses."""
    model = clone_model(beam_codec.model).train()
    model.quantizer.quantizer_dropout = 0.0
    z = torch.randn(2, model.latent_dim, 5)
    beam_out = model.quantizer(z)
    model.quantizer.beam_width = 1
    greedy_out = model.quantizer(z)
    for a, b in zip(beam_out, greedy_out):
        torch.testing.assert_close(a, b)


def test_beam_recorded_and_kept(beam_codec, tmp_path):
    """The beam is in the configuration and survives saving, pickling and copying; greedy codecs record none."""
    assert beam_codec.config["beam_width"] == 4 and beam_codec.config["beam_codebooks"] == 2
    fname = beam_codec.save(tmp_path / "beam.pt")
    x = np.random.default_rng(2).standard_normal((1, 320)).astype(np.float32) * 0.1
    for copied in (load_codec(fname, verbose=False), pickle.loads(pickle.dumps(beam_codec)), copy.deepcopy(beam_codec)):
        assert quantizer_beam(copied.model) == (4, 2)
        assert copied.identity.matches(beam_codec.identity)
        np.testing.assert_array_equal(copied.encode(x), beam_codec.encode(x))
    assert quantizer_beam(clone_model(beam_codec.model, n_codebooks=2)) == (4, 2)
    assert "beam_width" not in dac_config(new_dac(**SMALL))


def test_beam_width_is_bounded():
    """A crafted configuration cannot ask for a beam that exhausts memory."""
    with pytest.raises(ValueError, match="beam_width"):
        new_dac(beam_width=MAX_BEAM_WIDTH + 1, **SMALL)
    with pytest.raises(ValueError, match="beam_codebooks"):
        BeamResidualVectorQuantize(8, 2, 4, 2, beam_width=2, beam_codebooks=0)


def test_beam_dac_is_the_greedy_dac():
    """A DAC built with a beam has the weights of the greedy DAC of the same seed, and draws nothing more."""
    torch.manual_seed(0)
    greedy = new_dac(**SMALL)
    after_greedy = torch.rand(1)
    torch.manual_seed(0)
    searched = new_dac(beam_width=4, **SMALL)
    assert torch.equal(torch.rand(1), after_greedy)
    assert isinstance(searched.quantizer, BeamResidualVectorQuantize)
    for (name, a), (_, b) in zip(greedy.state_dict().items(), searched.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    with pytest.raises(TypeError, match="ResidualVectorQuantize"):
        BeamResidualVectorQuantize.from_greedy(searched.quantizer, beam_width=2, beam_codebooks=2)


def test_nested_depth(beam_codec):
    """From the nested depth on, a deeper code starts with the shallower one; below it, tokenize_at_depths codes for
    itself, as tokenize_raw does."""
    import mne

    from mne_dac.io.raw import tokenize_at_depths, tokenize_raw

    greedy = copy.deepcopy(beam_codec)
    greedy.model.quantizer.beam_width = 1
    assert (beam_codec.nested_depth, greedy.nested_depth) == (2, 1)
    x = np.random.default_rng(2).standard_normal((3, 1280)).astype(np.float32) * 0.1
    deepest = beam_codec.encode(x, 3)
    for k in range(beam_codec.nested_depth, 4):
        np.testing.assert_array_equal(beam_codec.encode(x, k), deepest[:, :k])
    info = mne.create_info(["C3", "Cz", "C4"], 256.0, "eeg")
    raw = mne.io.RawArray(x.astype(np.float64) * 50e-6, info, verbose=False)
    coded = tokenize_at_depths(raw, beam_codec, [1, 2, 3], verbose=False)
    assert (coded[2].n_codebooks, coded[3].n_codebooks) == (2, 3)
    np.testing.assert_array_equal(coded[2].codes, coded[3].codes[:, :2])
    np.testing.assert_array_equal(coded[2].band_gains, tokenize_raw(raw, beam_codec, n_codebooks=2,
                                                                    verbose=False).band_gains)  # fmt: skip
    np.testing.assert_array_equal(coded[1].codes, tokenize_raw(raw, beam_codec, n_codebooks=1, verbose=False).codes)
    assert not np.array_equal(coded[1].codes[:, 0], coded[3].codes[:, 0])
