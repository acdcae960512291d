"""Tests of the token classifier (mne_dac.models.token_model)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from braindecode import EEGClassifier
from conftest import make_tiny_codec

from mne_dac import tokenize_raw
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.models.token_model import TokenClassifier, codebook_vectors

CH_8 = ["Fp1", "F7", "F4", "C3", "Cz", "P4", "P8", "O1"]


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One thread: much faster on a shared, busy CPU."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="module")
def codec():
    return make_tiny_codec()


def _codes(batch: int, n_chans: int, n_codebooks: int, n_frames: int, size: int = 256, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, size, (batch, n_chans, n_codebooks, n_frames), generator=gen)


def test_shapes_and_checks():
    model = TokenClassifier(n_outputs=3, n_chans=5, n_times=6, n_codebooks=4, codebook_size=256)
    assert model(_codes(2, 5, 4, 6)).shape == (2, 3)
    assert model(_codes(2, 5, 2, 6).to(torch.int16)).shape == (2, 3)  # fewer codebooks, any integer dtype
    assert model(_codes(1, 5, 4, 1)).shape == (1, 3)  # one frame
    assert model.get_output_shape() == (1, 3)
    assert "TokenClassifier" in str(model)  # Braindecode's torchinfo table, with integer codes
    with pytest.raises(ValueError, match="n_chans=5"):
        model(_codes(2, 4, 4, 6))
    with pytest.raises(ValueError, match="5 codebooks"):
        model(_codes(2, 5, 5, 6))
    with pytest.raises(ValueError, match="odd"):
        TokenClassifier(n_outputs=2, n_chans=5, n_times=6, kernel_size=2)
    with pytest.raises(ValueError, match="codebook_size must be positive"):
        TokenClassifier(n_outputs=2, n_chans=5, n_times=6, codebook_size=0)


def test_from_codec_sums_to_the_codec_latent(codec):
    """With the codec's codebook vectors, the sum over codebooks is the quantized latent."""
    model = TokenClassifier.from_codec(codec, n_outputs=2, n_chans=3, n_times=5, n_codebooks=3, embed_dim=32)
    assert (model.n_codebooks, model.codebook_size) == (3, codec.codebook_size)
    assert model.code_dim == codec.dac_model.latent_dim and model.embed_dim == 32
    assert model.sfreq == codec.frame_rate and model.input_window_seconds == 5 / codec.frame_rate
    assert codebook_vectors(codec).shape == (codec.n_codebooks, codec.codebook_size, codec.dac_model.latent_dim)
    codes = _codes(2, 3, 3, 5)
    latent = codec.model.quantizer.from_codes(codes.flatten(0, 1))[0]  # (6, latent_dim, 5)
    with torch.no_grad():
        summed = model.code_embedding(codes + model.codebook_offsets[:, None]).sum(dim=2)
    torch.testing.assert_close(summed.flatten(0, 1).transpose(1, 2), latent, atol=1e-5, rtol=1e-5)
    frozen = TokenClassifier.from_codec(codec, n_outputs=2, n_chans=3, n_times=5, freeze_embedding=True)
    assert not frozen.code_embedding.weight.requires_grad
    assert frozen.n_codebooks == codec.n_codebooks


@pytest.mark.parametrize("layout", ["channel", "group"])
def test_dac_mc_layouts(codec, excerpt_raw, layout):
    """DAC-MC tokens: a stream per channel, or per group of channels."""
    mc = DACMCCodec.from_codec(codec, layout=layout, group_size=4)
    raw = excerpt_raw.copy().crop(0, 6, include_tmax=False).rename_channels({"T6": "P8"}).pick(CH_8)
    tokens = tokenize_raw(raw, mc, grouping="pivot", verbose="error")
    n_streams = 2 if layout == "group" else len(CH_8)
    assert tokens.codes.shape == (n_streams, codec.n_codebooks, 6)
    model = TokenClassifier.from_codec(mc, n_outputs=2, n_chans=n_streams, n_times=3).eval()
    windows = torch.from_numpy(np.stack([tokens.codes[..., :3], tokens.codes[..., 3:]]))
    assert model(windows).shape == (2, 2)


def test_trains(codec):
    """The loss falls on a task that the codes determine: is the first code of codebook 0 small?"""
    torch.manual_seed(0)
    codes = _codes(64, 4, 2, 4, seed=1)
    y = (codes[:, :, 0, :].float().mean(dim=(1, 2)) < 128).long()
    model = TokenClassifier.from_codec(codec, n_outputs=2, n_chans=4, n_times=4, n_codebooks=2, drop_prob=0.0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = torch.nn.functional.cross_entropy(model(codes), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_with_braindecode_classifier(codec):
    """Braindecode's EEGClassifier trains it on int16 token windows."""
    codes = _codes(16, 3, 2, 4, seed=2).numpy().astype(np.int16)
    y = np.arange(16) % 2
    module = TokenClassifier.from_codec(codec, n_outputs=2, n_chans=3, n_times=4, n_codebooks=2)
    clf = EEGClassifier(module, max_epochs=2, batch_size=8, train_split=None, verbose=0)
    clf.fit(codes, y)
    proba = clf.predict_proba(codes)
    assert proba.shape == (16, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-5)
