"""Training DAC on EEG: random crops, the skorch trainer, GAN phases, checkpoints."""

from __future__ import annotations

import shutil

import mne
import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("skorch")

from mne_dac import load_codec  # noqa: E402
from mne_dac.evaluation.datasets import excerpt_fnames, read_excerpt  # noqa: E402
from mne_dac.training.crops import RandomCropDataset, recordings_from  # noqa: E402

#: 3-s crops: the shortest whole number of frames the mel loss accepts (> 1024 samples).
CROP = 3.0
#: A small discriminator (one STFT discriminator, no period discriminator) for speed.
SMALL_GAN = dict(gan_periods=(), gan_fft_sizes=(128,))


def _codec(seed: int = 0, n_codebooks: int = 4):
    return load_codec(
        "random",
        n_codebooks=n_codebooks,
        codebook_size=256,
        dac_kwargs=dict(encoder_dim=4, decoder_dim=16),
        seed=seed,
        device="cpu",
        verbose=False,
    )


def _trainer(codec=None, **kwargs):
    from mne_dac.training.trainer import CodecTrainer

    kwargs.setdefault("batch_size", 4)
    kwargs.setdefault("lr", 1e-3)
    kwargs.setdefault("verbose", 0)
    kwargs.setdefault("device", "cpu")
    return CodecTrainer.from_codec(codec or _codec(), **kwargs)


@pytest.fixture(scope="module")
def lazy_raw():
    """60 s of real EEG, not preloaded (19 EEG, 1 ECG and 1 misc channel)."""
    return read_excerpt(0, "rest", preload=False, verbose=False)


@pytest.fixture(scope="module")
def crops(lazy_raw):
    """Four 3-s crops: one batch per epoch."""
    return RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=4, seed=0)


# ---------------------------------------------------------------------- crops
def test_random_crops(lazy_raw):
    """Crops are single-channel, lazy, deterministic, EEG-only and in [-1, 1]."""
    ds = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=20, seed=3)
    assert len(ds) == 20 and ds.crop_samples == 1536
    x = ds[0]
    assert x.shape == (1, 1536) and x.dtype == torch.float32
    assert not lazy_raw.preload  # read segment by segment
    assert float(x.abs().max()) <= 1 and float(x.std()) > 0
    same = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=20, seed=3)
    other = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=20, seed=4)
    torch.testing.assert_close(ds[5], same[5])
    assert not torch.equal(ds[5], other[5])
    eeg = {name for name, kind in zip(lazy_raw.ch_names, lazy_raw.get_channel_types()) if kind == "eeg"}
    channels = {ds.crop_info(i)["channel"] for i in range(len(ds))}
    assert channels <= eeg and len(channels) > 3  # never ECG or A2-A1
    # the crop is the preprocessed segment (margins trimmed)
    from mne_dac.signal.preprocessing import PreprocessingSettings, to_codec_domain

    info = ds.crop_info(0)
    whole = to_codec_domain(
        lazy_raw.get_data(picks=[info["pick"]]), lazy_raw.info["sfreq"], 512.0, PreprocessingSettings()
    ).data[0]
    start = int(round(info["start"] * 512 / lazy_raw.info["sfreq"]))
    assert np.corrcoef(whole[start : start + 1536], x[0].numpy())[0, 1] > 0.99


@pytest.mark.parametrize("preload", [False, True])
def test_crops_at_channel_levels(lazy_raw, preload):
    """channel_levels: the crops of a recording whose channels are a fifth and thirty times as loud are those of
    the recording as it is (each channel at the codec's level, as a channel-levels codec codes it); a trainer of
    such a codec gives back a codec with the flag."""
    raw = lazy_raw.copy().crop(0, 20, include_tmax=False).pick("eeg").load_data()
    scales = np.where(np.arange(len(raw.ch_names)) % 2, 0.2, 30.0)[:, None]
    mixed = mne.io.RawArray(raw.get_data() * scales, raw.info, verbose="error")
    as_is, scaled = (RandomCropDataset([r], crop_duration=CROP, n_crops=6, seed=1, channel_levels=True,
                                       preload=preload) for r in (raw, mixed))  # fmt: skip
    for i in range(len(as_is)):
        assert as_is.crop_info(i) == scaled.crop_info(i)
        torch.testing.assert_close(scaled[i], as_is[i], rtol=0, atol=0.01 * float(as_is[i].abs().max()))
    plain = RandomCropDataset([mixed], crop_duration=CROP, n_crops=6, seed=1, preload=preload)
    assert max(float((plain[i] - as_is[i]).abs().max()) for i in range(6)) > 0.1

    codec = _codec()
    codec.channel_levels = True
    assert _trainer(codec).initialize().to_codec().channel_levels


def test_random_crops_short_recordings(lazy_raw):
    """Short recordings are zero-padded; recordings under 1 s are skipped."""
    short = lazy_raw.copy().crop(0, 2, include_tmax=False)
    tiny = lazy_raw.copy().crop(0, 0.5)
    ds = RandomCropDataset([short, tiny], crop_duration=CROP, n_crops=3)
    assert len(ds._entries) == 1
    x = ds[0][0].numpy()
    assert np.all(x[1024:] == 0) and np.any(x[:1024] != 0)
    with pytest.raises(ValueError, match="No recording"):
        RandomCropDataset([tiny], crop_duration=CROP)
    assert len(RandomCropDataset([short], crop_duration=1.0)) == 19 * 2  # one epoch covers the data


def test_recordings_from(tmp_path, lazy_raw):
    """Recordings from a folder, paths, Raw lists and Braindecode datasets."""
    for fname in excerpt_fnames(subjects=0):
        (tmp_path / "sub").mkdir(exist_ok=True)
        shutil.copy(fname, tmp_path / "sub" / fname.name)
    (tmp_path / "notes.txt").write_text("not EEG")
    raws = recordings_from(tmp_path)
    assert len(raws) == 2 and not any(raw.preload for raw in raws)
    assert len(recordings_from([str(p) for p in excerpt_fnames(subjects=0)])) == 2
    assert recordings_from(lazy_raw) == [lazy_raw]
    ds = RandomCropDataset(tmp_path, crop_duration=CROP, n_crops=2)
    assert ds[1].shape == (1, 1536)

    class _Sub:  # duck-typed braindecode BaseConcatDataset
        def __init__(self, raw):
            self.raw = raw

    class _Concat:
        datasets = [_Sub(lazy_raw), _Sub(lazy_raw)]

    assert recordings_from(_Concat()) == [lazy_raw, lazy_raw]
    with pytest.raises(FileNotFoundError):
        recordings_from(tmp_path / "missing")


# ---------------------------------------------------------------------- trainer
def test_training_lowers_loss(crops, lazy_raw):
    """A few epochs on a fixed set lower the loss; validation reports PRD and the mel loss."""
    from skorch.helper import predefined_split

    valid = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=4, seed=1)
    torch.manual_seed(0)
    net = _trainer(gan=False, quantizer_dropout=0.0, max_epochs=6, train_split=predefined_split(valid))
    net.fit(crops)
    waveform = net.history[:, "train_waveform"]
    assert waveform[-1] < 0.9 * waveform[0]
    assert "train_mel" not in net.history[-1]  # not trained on (weight 0), but reported on validation
    assert np.isfinite(net.history[-1, "valid_mel"])
    assert net.history[-1, "valid_prd"] < net.history[0, "valid_prd"]
    assert not any(net.history[:, "gan_active"])
    assert not hasattr(net, "discriminator_")
    # lr decays per batch, as in DAC
    assert net.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-3 * 0.999996**6)
    assert net.predict(crops).shape == (4, 1, 1536)


@pytest.fixture(scope="module")
def gan_net(crops):
    """Three epochs, the GAN for the first one only."""
    torch.manual_seed(0)
    net = _trainer(gan=True, gan_stop_epoch=1, max_epochs=3, **SMALL_GAN)
    return net.fit(crops)


def test_gan_phase_by_epoch(gan_net):
    """gan_stop_epoch ends the GAN phase; the discriminator has its own optimizer."""
    assert gan_net.history[:, "gan_active"] == [True, False, False]
    assert "train_adv" in gan_net.history[0] and "train_adv" not in gan_net.history[1]
    generator = {id(p) for g in gan_net.optimizer_.param_groups for p in g["params"]}
    disc = {id(p) for g in gan_net.optimizer_discriminator_.param_groups for p in g["params"]}
    assert generator == {id(p) for p in gan_net.module_.parameters()}
    assert disc == {id(p) for p in gan_net.discriminator_.parameters()} and not generator & disc
    assert gan_net.module_.quantizer.quantizer_dropout == 0.5
    assert gan_net.optimizer_discriminator_.param_groups[0]["betas"] == (0.8, 0.99)


def test_gan_divergence(crops):
    """Detected divergence ends the GAN phase (forced with a negative tolerance)."""
    from mne_dac.training.trainer import gan_diverged

    assert not gan_diverged([5.0, 4.0, 4.5, 4.2], tolerance=0.2, patience=2)
    assert gan_diverged([5.0, 4.0, 5.0, 5.1], tolerance=0.2, patience=2)
    assert not gan_diverged([5.0, 4.0, 5.0, 4.1], tolerance=0.2, patience=2)
    assert not gan_diverged([5.0], tolerance=-0.5, patience=2)
    torch.manual_seed(0)
    net = _trainer(gan=True, divergence_tolerance=-0.5, divergence_patience=1, max_epochs=2, **SMALL_GAN)
    with pytest.warns(RuntimeWarning, match="diverged"):
        net.fit(crops)
    assert net.history[:, "gan_active"] == [True, False]
    assert net.history[0, "gan_diverged"] is True


def test_default_discriminator(tiny_codec):
    """DAC's discriminator scaled to EEG: STFT windows of 1, 1/2 and 1/4 s."""
    from mne_dac.training.trainer import CodecTrainer

    assert CodecTrainer(tiny_codec.model).fft_sizes() == [512, 256, 128]
    assert CodecTrainer(tiny_codec.model, sfreq=256.0).fft_sizes() == [256, 128, 64]
    assert CodecTrainer(tiny_codec.model, gan_fft_sizes=[64]).fft_sizes() == [64]


def test_checkpoint_resume(tmp_path, crops):
    """A checkpoint (discriminator and its optimizer included) resumes exactly."""
    from mne_dac.training.trainer import checkpoint_callbacks

    torch.manual_seed(0)
    callbacks = checkpoint_callbacks(tmp_path, monitor=None)
    first = _trainer(gan=True, max_epochs=2, callbacks=callbacks, **SMALL_GAN)
    first.fit(crops)
    assert (tmp_path / "discriminator.pt").exists() and (tmp_path / "optimizer_discriminator.pt").exists()

    # a fresh trainer (other initial weights) resumes from the checkpoint
    def fresh():
        callbacks = checkpoint_callbacks(tmp_path, monitor=None)
        return _trainer(_codec(seed=1), gan=True, max_epochs=1, callbacks=callbacks, **SMALL_GAN)

    resumed = fresh().initialize()
    resumed.load_params(checkpoint=resumed.callbacks[0])
    for name in ("module_", "discriminator_"):
        a, b = getattr(first, name).state_dict(), getattr(resumed, name).state_dict()
        assert all(torch.equal(a[k], b[k]) for k in a)
    for name in ("optimizer_", "optimizer_discriminator_"):
        a, b = getattr(first, name).state_dict(), getattr(resumed, name).state_dict()
        assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"]
        assert all(torch.equal(a["state"][i]["exp_avg"], b["state"][i]["exp_avg"]) for i in a["state"])
    assert len(resumed.history) == 2

    # one more epoch: identical results (LoadInitState reloads the same checkpoint)
    resumed = fresh().initialize()
    torch.manual_seed(42)
    resumed.partial_fit(crops)
    torch.manual_seed(42)
    first.partial_fit(crops, epochs=1)
    assert len(resumed.history) == len(first.history) == 3
    assert resumed.history[-1, "gan_active"] and first.history[-1, "gan_active"]
    assert resumed.history[-1, "train_loss"] == pytest.approx(first.history[-1, "train_loss"], rel=1e-6)
    for name in ("module_", "discriminator_"):
        a, b = getattr(first, name).state_dict(), getattr(resumed, name).state_dict()
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-5, atol=1e-7)


def test_prune_codebooks(crops, lazy_raw, tmp_path):
    """Pre-prune (train k codebooks) and post-prune (encode with k) both work."""
    from mne_dac.training.trainer import prune_codebooks

    codec = _codec()
    pruned = prune_codebooks(codec, 2)
    assert pruned.n_codebooks == 2 and codec.n_codebooks == 4
    assert len(pruned.model.quantizer.quantizers) == 2
    data = crops[0].numpy()
    np.testing.assert_array_equal(pruned.encode(data), codec.encode(data, n_codebooks=2))

    torch.manual_seed(0)
    net = _trainer(codec, n_codebooks=2, gan=False, max_epochs=1)  # pre-prune
    net.fit(crops)
    trained = net.to_codec(name="pre-pruned")
    assert trained.n_codebooks == 2 and trained.name == "pre-pruned"
    assert trained.encode(data).shape == (1, 2, 3)
    reloaded = load_codec(trained.save(tmp_path / "pruned.pt"), verbose=False)
    assert reloaded.identity.matches(trained.identity)

    net = _trainer(codec, gan=False, max_epochs=1)  # post-prune
    net.fit(crops)
    full = net.to_codec()
    assert full.n_codebooks == 4
    codes = full.encode(data, n_codebooks=1)
    assert codes.shape == (1, 1, 3) and full.decode(codes, n_samples=1536).shape == (1, 1536)


def test_grow_codebooks(crops):
    """Added codebooks start from the data; the codec's own codebooks and codes are kept."""
    codec = _codec(n_codebooks=2)
    net = _trainer(codec, n_codebooks=4, gan=False, max_epochs=1)
    assert net.init_codebooks_from == 2
    net.initialize()
    net.init_codebooks_from_data(crops, 2)
    grown = net.to_codec(name="grown")
    assert grown.n_codebooks == 4 and codec.n_codebooks == 2
    data = crops[0].numpy()
    np.testing.assert_array_equal(grown.encode(data, n_codebooks=2), codec.encode(data))
    net.module_.eval()
    with torch.no_grad():  # every entry of an added codebook is a frame of what it codes
        out = net.module_(torch.stack([crops[i] for i in range(len(crops))]))
    for i, vq in enumerate(net.module_.quantizer.quantizers):
        frames = out["latents"][:, 8 * i : 8 * (i + 1)].transpose(1, 2).reshape(-1, 8)
        is_frame = (vq.codebook.weight[:, None] - frames[None]).abs().amax(-1).min(1).values < 1e-5
        assert is_frame.all() == (i >= 2)
    with pytest.raises(ValueError, match="first must be a codebook"):
        net.init_codebooks_from_data(crops, 4)
    torch.manual_seed(0)
    net.fit(crops)  # the added codebooks are drawn, then trained with the rest
    assert net.to_codec().encode(data).shape == (1, 4, 3)


def test_plot_history(gan_net, tmp_path):
    """The history plot is written as a PNG."""
    import matplotlib.pyplot as plt

    from mne_dac.training.trainer import plot_history

    fig = plot_history(gan_net, tmp_path / "history.png")
    assert (tmp_path / "history.png").stat().st_size > 0
    plt.close(fig)


def test_short_crops_rejected(lazy_raw):
    """Crops too short for the mel loss give a clear error."""
    ds = RandomCropDataset([lazy_raw], crop_duration=2.0, n_crops=4)
    with pytest.raises(ValueError, match="at least 1025 samples"):
        _trainer(gan=False, lambda_mel=15.0, max_epochs=1).fit(ds)


@pytest.mark.parametrize("model", ["sc", "mc"])
def test_dead_codes_are_restarted(lazy_raw, crops, model):
    """Codebook entries unused for a while are restarted from encoder outputs of the batch."""
    from mne_dac.codecs.mc_codec import DACMCCodec

    codec = _codec()
    if model == "mc":
        codec = DACMCCodec.from_codec(codec, layout="group", group_size=3)
        crops = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=4, seed=0, group_size=3)
    torch.manual_seed(0)
    net = _trainer(codec, gan=False, max_epochs=1, dead_code_threshold=0.01).initialize()
    before = net.module_.quantizer.quantizers[0].codebook.weight.detach().clone()
    net.code_usage_ = torch.zeros(4, 256)  # as if no entry had been used for a long time
    net.code_usage_[:, :10] = 1.0
    net.partial_fit(crops)
    restarts = net.history[-1]["batches"][0]["train_dead_codes"]
    after = net.module_.quantizer.quantizers[0].codebook.weight.detach()
    changed = (after - before).abs().amax(dim=1) > 0
    assert restarts > 4 * 200  # all entries but those used recently or in this batch
    assert changed[10:].float().mean() > 0.9
    assert (net.code_usage_ >= 0.01).all()
    net_off = _trainer(_codec(), gan=False, max_epochs=1, dead_code_threshold=0)
    net_off.fit(RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=4, seed=0))
    assert "train_dead_codes" not in net_off.history[-1]["batches"][0]


def test_waveform_loss(crops):
    """relative-mse is PRD squared, independent of the signal's scale; bad names are refused."""
    net = _trainer(gan=False, waveform_loss="relative-mse").initialize()
    x = torch.randn(2, 1, 1536)
    y = x + 0.5 * torch.randn(2, 1, 1536)
    expected = ((y - x) ** 2).sum() / (x**2).sum()
    assert net._waveform(y, x).item() == pytest.approx(expected.item())
    assert net._waveform(10 * y, 10 * x).item() == pytest.approx(expected.item(), rel=1e-5)
    net.set_params(waveform_loss="l1")
    assert net._waveform(y, x).item() == pytest.approx((y - x).abs().mean().item())
    with pytest.raises(ValueError, match="waveform_loss"):
        _trainer(gan=False, waveform_loss="l2").initialize()
