"""Tests of the DAC builder (mne_dac.models.dac_model) and the Euclidean codebook lookup."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
import torch

from mne_dac import load_codec
from mne_dac.models.dac_model import clone_model, codebook_lookup, dac_config, new_dac

pytestmark = pytest.mark.usefixtures("one_torch_thread")

EUCLIDEAN = dict(encoder_dim=4, decoder_dim=16, encoder_rates=[2, 4], decoder_rates=[4, 2], codebook_lookup="euclidean")


@pytest.fixture(scope="module")
def euclidean_codec():
    return load_codec(
        "random", sfreq=256.0, n_codebooks=2, codebook_size=64, dac_kwargs=EUCLIDEAN, device="cpu", verbose=False
    )


def test_euclidean_lookup_is_the_nearest_entry():
    """Codes are the nearest entries, scale included; DAC's lookup sees only directions."""
    torch.manual_seed(0)
    euclidean = new_dac(codebook_lookup="euclidean", **{k: v for k, v in EUCLIDEAN.items() if k != "codebook_lookup"})
    vq = euclidean.quantizer.quantizers[0]
    latents = torch.randn(3, vq.codebook_dim, 7)
    _, indices = vq.decode_latents(latents)
    frames = latents.transpose(1, 2).reshape(-1, vq.codebook_dim)
    expected = torch.cdist(frames, vq.codebook.weight).argmin(1).reshape(3, 7)
    assert torch.equal(indices, expected)
    # twice the latent: same code by direction (cosine), usually another by distance
    cosine = new_dac(**{k: v for k, v in EUCLIDEAN.items() if k != "codebook_lookup"})
    cosine.load_state_dict(euclidean.state_dict())
    cvq = cosine.quantizer.quantizers[0]
    assert torch.equal(cvq.decode_latents(latents)[1], cvq.decode_latents(2 * latents)[1])
    assert not torch.equal(vq.decode_latents(latents)[1], vq.decode_latents(2 * latents)[1])


def test_lookup_recorded_and_kept(euclidean_codec, tmp_path):
    """The lookup is in the configuration and survives saving, pickling and copying."""
    assert euclidean_codec.config["codebook_lookup"] == "euclidean"
    fname = euclidean_codec.save(tmp_path / "e.pt")
    for copied in (
        load_codec(fname, verbose=False),
        pickle.loads(pickle.dumps(euclidean_codec)),
        copy.deepcopy(euclidean_codec),
    ):
        assert codebook_lookup(copied.model) == "euclidean"
        assert copied.identity.matches(euclidean_codec.identity)
    assert codebook_lookup(clone_model(euclidean_codec.model, n_codebooks=1)) == "euclidean"
    x = np.random.default_rng(0).standard_normal((2, 600)).astype(np.float32) * 0.05
    codes = euclidean_codec.encode(x)
    np.testing.assert_array_equal(load_codec(fname, verbose=False).encode(x), codes)


def test_cosine_config_unchanged(tiny_codec):
    """DAC's own lookup adds nothing to the configuration: identities of existing codecs hold."""
    assert "codebook_lookup" not in dac_config(tiny_codec.model)
    assert codebook_lookup(tiny_codec.model) == "cosine"


def test_unknown_lookup():
    with pytest.raises(ValueError, match="codebook_lookup"):
        new_dac(codebook_lookup="manhattan", encoder_dim=4, decoder_dim=16)
