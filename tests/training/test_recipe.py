"""mne-dac's training recipe: EEG losses, the codec monitor, collapse, data init, memory, fast crops."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from mne_dac import load_codec  # noqa: E402
from mne_dac.evaluation.datasets import read_excerpt  # noqa: E402
from mne_dac.training.crops import RandomCropDataset  # noqa: E402
from mne_dac.training.losses import BandSpectralLoss, relative_mse  # noqa: E402
from mne_dac.training.recipe import RECIPE  # noqa: E402
from mne_dac.training.trainer import (  # noqa: E402
    CodebookCollapseError,
    CodecTrainer,
    check_training_memory,
    estimate_training_memory,
)

CROP = 3.0


def _codec(seed: int = 0):
    return load_codec(
        "random", n_codebooks=2, codebook_size=64, dac_kwargs=dict(encoder_dim=4, decoder_dim=16), seed=seed,
        device="cpu", verbose=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def crops():
    raw = read_excerpt(0, "rest", preload=False, verbose=False)
    return RandomCropDataset([raw], crop_duration=CROP, n_crops=8, seed=0)


def _sines(freqs, sfreq=256.0, seconds=8.0, amplitude=1.0):
    t = np.arange(int(sfreq * seconds)) / sfreq
    return torch.tensor(sum(amplitude * np.sin(2 * np.pi * f * t) for f in freqs), dtype=torch.float32)[None, None]


# ---------------------------------------------------------------------- losses
def test_relative_mse_is_prd_squared_and_scale_free():
    x = torch.randn(4, 1, 100)
    y = x + 0.1 * torch.randn_like(x)
    expected = ((y - x) ** 2).sum() / (x**2).sum()
    torch.testing.assert_close(relative_mse(y, x), expected)
    torch.testing.assert_close(relative_mse(1e-5 * y, 1e-5 * x), expected, rtol=1e-4, atol=0)


def test_band_spectral_loss_weighs_bands_alike():
    """Losing a weak band costs about as much as losing a strong one; zero when identical."""
    loss = BandSpectralLoss(256.0)
    strong, weak = _sines([2, 6, 10]), _sines([20, 35], amplitude=0.2)  # 25 times less power
    x = strong + weak
    assert float(loss(x, x)) == 0
    no_beta = float(loss(strong + _sines([35], amplitude=0.2), x))
    no_alpha = float(loss(_sines([2, 6]) + weak, x))
    assert no_beta > 0.5 * no_alpha  # the beta term weighs like the alpha term, not 25 times less
    assert float(loss(torch.zeros_like(x), x)) == pytest.approx(1.0)
    # scale-free
    assert float(loss(1e-4 * (strong + _sines([35], amplitude=0.2)), 1e-4 * x)) == pytest.approx(no_beta, rel=1e-3)


def test_band_spectral_loss_errors():
    with pytest.raises(ValueError, match="same shape"):
        BandSpectralLoss(256.0)(torch.zeros(1, 1, 600), torch.zeros(1, 1, 700))
    with pytest.raises(ValueError, match="shorter than every window"):
        BandSpectralLoss(256.0)(torch.zeros(1, 1, 10), torch.zeros(1, 1, 10))
    with pytest.raises(ValueError, match="positive"):
        BandSpectralLoss(0)


# ---------------------------------------------------------------------- trainer
def test_recipe_is_the_default(crops):
    """The trainer's defaults are the recipe; a random codec gets the data init."""
    net = CodecTrainer.from_codec(_codec(), verbose=0)
    assert net.lr == RECIPE["lr"] and net.batch_size == RECIPE["batch_size"]
    assert net.waveform_loss == "relative-mse" and net.lambda_mel == 0 and net.lambda_spectral > 0
    assert not net.gan and net.dead_code_threshold > 0 and net.data_init
    assert not CodecTrainer.from_codec(load_codec("default", device="cpu", verbose=False), verbose=0).data_init


def test_python_path_applies_the_data_init(crops):
    """fit() scales the layers and draws the codebooks from the crops, as the CLI does."""
    from mne_dac.training.data_init import init_from_data

    codec = _codec()
    net = CodecTrainer.from_codec(codec, batch_size=4, max_epochs=0, verbose=0, device="cpu")
    net.fit(crops)
    reference = _codec().model
    init_from_data(reference, torch.stack([crops[i] for i in range(len(crops))]), verbose="error")
    for (key, value), ref in zip(net.module_.state_dict().items(), reference.state_dict().values()):
        torch.testing.assert_close(value, ref, msg=key)


def test_validation_records_what_the_codec_keeps(crops):
    """Every epoch records PRD, band errors, the mel loss and codebook use."""
    from skorch.helper import predefined_split

    net = CodecTrainer.from_codec(
        _codec(), batch_size=4, max_epochs=2, train_split=predefined_split(crops), verbose=0, device="cpu"
    )
    net.fit(crops)
    row = net.history[-1]
    for key in ("valid_prd", "valid_mel", "valid_loss", "train_codes_used", "valid_codes_used"):
        assert np.isfinite(row[key]), key
    assert {f"valid_err_{b}" for b in ("delta", "theta", "alpha", "beta")} <= set(row)
    assert 0 < row["valid_prd"] and 1 <= row["valid_codes_used"] <= 64
    assert net.history[-1, "train_spectral"] > 0


def test_decoder_alone(crops):
    """``trainable="decoder"`` changes the decoder only, so the codec's tokens stay; no codebook learning."""
    from skorch.helper import predefined_split

    codec = _codec()
    torch.manual_seed(0)
    net = CodecTrainer.from_codec(codec, trainable="decoder", batch_size=4, max_epochs=2, dead_code_threshold=2.0,
                                  train_split=predefined_split(crops), verbose=0, device="cpu")  # fmt: skip
    net.fit(crops)
    before, after = codec.model.state_dict(), net.to_codec().model.state_dict()
    assert {k.split(".")[0] for k in after if not torch.equal(before[k], after[k])} == {"decoder"}
    row = net.history[-1]
    assert np.isfinite(row["valid_prd"]) and "train_dead_codes" not in net.history[-1, "batches", -1]
    assert "train_commitment" not in row and row["train_spectral"] > 0
    assert [group["params"] for group in net.optimizer_.param_groups] == [list(net.module_.decoder.parameters())]
    with pytest.raises(ValueError, match="data_init draws a new encoder"):
        CodecTrainer.from_codec(_codec(), trainable="decoder", data_init=True, verbose=0).initialize()
    with pytest.raises(ValueError, match="trainable"):
        CodecTrainer.from_codec(codec, trainable="encoder", verbose=0).initialize()


def test_collapse_stops_training():
    """A codec whose codebooks code everything alike stops with a clear message."""
    raw = read_excerpt(0, "rest", preload=False, verbose=False)
    crops = RandomCropDataset([raw], crop_duration=CROP, n_crops=40, seed=0)  # 120 frames per epoch
    net = CodecTrainer.from_codec(_codec(), batch_size=8, max_epochs=3, data_init=False, verbose=0, device="cpu")
    net.initialize()
    for vq in net.module_.quantizer.quantizers:
        vq.codebook.weight.data[:] = 1.0  # every entry the same: entry 0 always wins
    with pytest.raises(CodebookCollapseError, match="codebook collapse.*used only \\[1"):
        net.partial_fit(crops)
    assert net.history[-1, "collapsed"]


def test_memory_check(crops, monkeypatch):
    """A step that cannot fit raises before training, naming the knobs to turn."""
    import mne_dac.training.trainer as training

    model = _codec().model
    need = check_training_memory(model, crops, 4)
    assert need == estimate_training_memory(model, 4, crops.crop_samples)
    assert estimate_training_memory(model, 8, crops.crop_samples) > need
    monkeypatch.setattr(training, "available_memory", lambda device: need // 2)
    with pytest.raises(MemoryError, match="shorter crops.*batch-size"):
        check_training_memory(model, crops, 4)


def test_restarted_codes_keep_the_codebook_scale(crops):
    """Dead entries restart with the direction of a frame and the norm of the live entries."""
    net = CodecTrainer.from_codec(_codec(), batch_size=4, max_epochs=1, dead_code_threshold=2.0, verbose=0)
    net.fit(crops)
    assert sum(net.history[-1, "batches", :, "train_dead_codes"]) > 0
    for vq in net.module_.quantizer.quantizers:
        norms = vq.codebook.weight.detach().norm(dim=1)
        assert float(norms.max() / norms.median()) < 3


def test_euclidean_restarts_are_batch_latents(crops, monkeypatch):
    """With Euclidean lookup, a dead entry restarts at a latent of the batch (as in k-means)."""
    codec = load_codec(
        "random", n_codebooks=2, codebook_size=64, dac_kwargs=dict(encoder_dim=4, decoder_dim=16,
        codebook_lookup="euclidean"), device="cpu", verbose=False,
    )  # fmt: skip
    net = CodecTrainer.from_codec(codec, batch_size=4, max_epochs=1, dead_code_threshold=2.0, verbose=0)
    frames = []
    original = CodecTrainer._coded_frames

    def spy(self, codes, latents):
        for vq, index, batch_frames in original(self, codes, latents):
            frames.append(batch_frames.detach().clone())
            yield vq, index, batch_frames

    monkeypatch.setattr(CodecTrainer, "_coded_frames", spy)
    net.fit(crops)
    assert sum(net.history[-1, "batches", :, "train_dead_codes"]) > 0
    weight = net.module_.quantizer.quantizers[-1].codebook.weight.detach()
    distance = torch.cdist(weight, frames[-1]).min(1).values
    assert int((distance < 1e-6).sum()) > 0  # entries restarted at the last batch's latents, unscaled


# ---------------------------------------------------------------------- crops
def test_preloaded_crops_match_lazy_ones():
    """Preloaded crops are the lazily read ones, up to the slow offsets the high-pass leaves in short reads."""
    raw = read_excerpt(0, "rest", preload=False, verbose=False)
    lazy = RandomCropDataset([raw], crop_duration=CROP, n_crops=6, seed=1, preload=False)
    preloaded = RandomCropDataset([raw], crop_duration=CROP, n_crops=6, seed=1)
    assert preloaded.preload and not lazy.preload
    for i in range(6):
        a, b = lazy[i], preloaded[i]
        assert a.shape == b.shape
        assert float(torch.corrcoef(torch.stack([a[0], b[0]]))[0, 1]) > 0.97


def test_scratch_architecture_options():
    from mne_dac.training.finetune import initial_codec

    codec, prune = initial_codec(
        "scratch",
        n_codebooks=2,
        scratch=dict(codebook_size=64, codebook_dim=4, encoder_dim=4, decoder_dim=16, encoder_rates=(2, 4)),
    )
    assert prune is None and codec.hop_length == 8 and codec.codebook_size == 64
    assert [vq.codebook.weight.shape[1] for vq in codec.model.quantizer.quantizers] == [4, 4]
    with pytest.raises(ValueError, match="Unknown scratch options"):
        initial_codec("scratch", scratch=dict(codebook_width=4))
