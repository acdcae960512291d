"""Data-dependent initialisation of a DAC trained from scratch (LSUV, codebooks from data)."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from mne_dac import load_codec
from mne_dac.evaluation.datasets import read_excerpt
from mne_dac.training.crops import RandomCropDataset
from mne_dac.training.data_init import init_from_data


@pytest.fixture(scope="module")
def eeg_crops():
    """64 real 3-s EEG crops in the codec domain, shape (64, 1, 1536)."""
    raw = read_excerpt(0, "rest", preload=False, verbose=False)
    ds = RandomCropDataset([raw], crop_duration=3.0, n_crops=64, seed=0)
    return torch.stack([ds[i] for i in range(len(ds))])


def _model(seed=0):
    codec = load_codec(
        "random", n_codebooks=3, codebook_size=64, dac_kwargs=dict(encoder_dim=4, decoder_dim=16), seed=seed
    )
    return codec.model


def test_init_scales_layers_and_codebooks(eeg_crops):
    """Latents reach unit scale, the output the input's scale, and codebooks span the data."""
    model = _model()
    with torch.no_grad():
        latent_before = model.encoder(eeg_crops).std().item()
    assert latent_before < 0.05  # DAC's init shrinks EEG-scale input: the cause of collapse
    assert init_from_data(model, eeg_crops, verbose=False) is model
    model.eval()
    with torch.no_grad():
        latent = model.encoder(eeg_crops)
        out = model(eeg_crops)
    assert latent.std().item() == pytest.approx(1.0, rel=0.2)
    assert out["audio"].std().item() == pytest.approx(eeg_crops.std().item(), rel=0.3)
    for i in range(3):
        n_used = len(out["codes"][:, i].unique())
        assert n_used > 32, f"codebook {i} uses {n_used} of 64 entries"
    assert model.training is False  # the mode is kept


def test_init_is_deterministic_and_keeps_training_mode(eeg_crops):
    a, b = _model(), _model()
    a.train()
    init_from_data(a, eeg_crops, seed=1, verbose=False)
    init_from_data(b, eeg_crops, seed=1, verbose=False)
    assert a.training
    for (name, pa), pb in zip(a.state_dict().items(), b.state_dict().values()):
        np.testing.assert_array_equal(pa.numpy(), pb.numpy(), err_msg=name)


def test_trained_codec_keeps_its_codebooks(eeg_crops):
    """A few training steps after the init leave every codebook in use (no collapse)."""
    from mne_dac.training.trainer import CodecTrainer

    codec = load_codec(
        "random", n_codebooks=3, codebook_size=64, dac_kwargs=dict(encoder_dim=4, decoder_dim=16), seed=0
    )
    init_from_data(codec.model, eeg_crops, verbose=False)
    torch.manual_seed(0)
    net = CodecTrainer.from_codec(
        codec,
        gan=False,
        max_epochs=4,
        batch_size=16,
        lr=1e-3,
        lambda_mel=0.0,
        waveform_loss="relative-mse",
        lambda_waveform=10.0,
        data_init=False,  # done above
        verbose=0,
        device="cpu",
    )
    net.fit(torch.utils.data.TensorDataset(eeg_crops))
    with torch.no_grad():
        codes = net.module_.eval()(eeg_crops)["codes"]
    n_used = [len(codes[:, i].unique()) for i in range(3)]
    assert min(n_used) > 4, n_used  # a collapsed codebook uses 1 entry


@pytest.mark.parametrize(
    "x, match",
    [
        (torch.zeros(4, 1, 1024), "constant"),
        (torch.randn(4, 1024), "shape"),
        (torch.full((4, 1, 1024), float("nan")), "finite"),
    ],
)
def test_init_errors(x, match):
    with pytest.raises(ValueError, match=match):
        init_from_data(_model(), x, verbose=False)
    with pytest.raises(ValueError, match="residual_scale"):
        init_from_data(_model(), torch.randn(4, 1, 1024), residual_scale=0, verbose=False)
