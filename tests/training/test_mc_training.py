"""Training DAC-MC: random-pivot group crops, the trainer, and ``mne-dac finetune --model mc``."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from conftest import make_tiny_codec

from mne_dac import load_codec, read_tokens, tokenize_raw, write_tokens
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.commands import main
from mne_dac.evaluation.datasets import excerpt_fnames, read_excerpt
from mne_dac.training.crops import RandomCropDataset
from mne_dac.training.trainer import CodecTrainer

CROP = 3.0


@pytest.fixture(scope="module")
def lazy_raw():
    return read_excerpt(0, "rest", preload=False, verbose=False)


def test_group_crops(lazy_raw):
    crops = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=20, seed=0, group_size=4)
    item = crops[0]
    assert item["x"].shape == (4, int(CROP * 512)) and item["positions"].shape == (4, 3)
    info = crops.crop_info(0)
    assert len(set(info["channel"])) == 4
    assert "× 4 channels" in repr(crops)
    np.testing.assert_array_equal(crops[3]["x"], crops[3]["x"])  # deterministic
    with pytest.raises(ValueError, match="at least 40 EEG channels"):
        RandomCropDataset([lazy_raw], crop_duration=CROP, group_size=40)


def test_anatomical_crops(lazy_raw):
    """Anatomical crops are whole regions, padded to the largest one, with a mask."""
    crops = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=50, seed=0, grouping="anatomical")
    assert crops.max_group_size == 7  # the frontal region of the 10-20 set
    sizes = set()
    for i in range(len(crops)):
        item, info = crops[i], crops.crop_info(i)
        n = int(item["mask"].sum())
        sizes.add(n)
        assert item["x"].shape == (7, int(CROP * 512)) and item["positions"].shape == (7, 3)
        assert len(info["channel"]) == n and not item["x"][n:].any() and np.isfinite(item["positions"]).all()
    assert sizes == {2, 3, 7}
    assert "anatomical regions (≤ 7 channels)" in repr(crops)
    with pytest.raises(ValueError, match="group_size=None"):
        RandomCropDataset([lazy_raw], crop_duration=CROP, grouping="anatomical", group_size=4)


@pytest.mark.parametrize("layout", ["channel", "group"])
def test_padding_mask_ignores_padding(layout):
    """With a mask, padded channels change nothing in the real channels' output."""
    from mne_dac.signal.channels import channel_positions

    codec = DACMCCodec.from_codec(make_tiny_codec(), layout=layout)
    model = codec.model.eval()
    torch.manual_seed(0)
    for p in model.parameters():  # leave the identity initialisation, so that attention matters
        p.data.add_(0.05 * torch.randn_like(p))
    x = 0.1 * torch.randn(1, 3, 1024)
    pos = torch.as_tensor(channel_positions(["C3", "Cz", "C4"]), dtype=torch.float32)[None]
    padded_x = torch.cat([x, torch.randn(1, 2, 1024)], dim=1)
    padded_pos = torch.cat([pos, pos[:, :2]], dim=1)
    mask = torch.tensor([[True, True, True, False, False]])
    with torch.no_grad():
        ref = model(x, pos, n_quantizers=4)
        out = model(padded_x, padded_pos, n_quantizers=4, mask=mask)
    torch.testing.assert_close(out["audio"][:, :3], ref["audio"], atol=1e-5, rtol=1e-4)
    if layout == "group":
        torch.testing.assert_close(out["codes"], ref["codes"])


def test_anatomical_training_lowers_loss(lazy_raw):
    crops = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=2, seed=1, grouping="anatomical")
    codec = DACMCCodec.from_codec(make_tiny_codec(), layout="group", grouping="anatomical")
    torch.manual_seed(0)
    net = CodecTrainer.from_codec(
        codec, gan=False, quantizer_dropout=0.0, max_epochs=6, batch_size=2, lr=1e-3, verbose=0, device="cpu"
    )
    net.fit(crops)
    loss = net.history[:, "train_waveform"]
    assert np.isfinite(loss).all() and loss[-1] < 0.9 * loss[0]


def _groups_of_three(lazy_raw, layout: str) -> tuple[RandomCropDataset, DACMCCodec]:
    """Two crops of pivot groups of 3 channels, and a tiny DAC-MC of ``layout`` (``"slots"``: the group layout
    with slots) for them."""
    crops = RandomCropDataset([lazy_raw], crop_duration=CROP, n_crops=2, seed=0, group_size=3)
    kwargs = dict(layout="group", pooling="slots", n_slots=4) if layout == "slots" else dict(layout=layout)
    return crops, DACMCCodec.from_codec(make_tiny_codec(), **kwargs, group_size=3)


@pytest.mark.parametrize("layout", ["channel", "group", "slots"])
def test_training_lowers_loss(lazy_raw, layout):
    crops, codec = _groups_of_three(lazy_raw, layout)
    torch.manual_seed(0)
    net = CodecTrainer.from_codec(
        codec, gan=False, quantizer_dropout=0.0, max_epochs=6, batch_size=2, lr=1e-3, verbose=0, device="cpu"
    )
    net.fit(crops)
    loss = net.history[:, "train_waveform"]
    assert loss[-1] < 0.9 * loss[0]
    assert net.predict(crops).shape == (2, 3, int(CROP * 512))
    trained = net.to_codec(grouping="anatomical", group_size=3)
    assert isinstance(trained, DACMCCodec) and trained.layout == codec.layout and trained.grouping == "anatomical"
    assert trained.model.pooling == codec.model.pooling


@pytest.mark.parametrize("layout", ["channel", "group", "slots"])
def test_decoder_alone_keeps_the_codes(lazy_raw, layout):
    """``trainable="decoder"`` trains DAC-MC's decoder with its style, FiLM and slot-out layers, nothing else."""
    crops, codec = _groups_of_three(lazy_raw, layout)
    torch.manual_seed(0)
    net = CodecTrainer.from_codec(codec, trainable="decoder", max_epochs=3, batch_size=2, verbose=0, device="cpu")
    net.fit(crops)
    before, after = codec.model.state_dict(), net.module_.state_dict()
    changed = {k.split(".")[0] + (".decoder" if ".decoder." in k else "") for k in after
               if not torch.equal(before[k], after[k])}  # fmt: skip
    trained = {"dac.decoder", "style", "film"} | ({"slot_out"} if layout == "slots" else set())
    assert changed == trained
    loss = net.history[:, "train_waveform"]
    assert loss[-1] < loss[0]


def test_finetune_cli_mc(tmp_path, capsys):
    data = tmp_path / "eeg"
    data.mkdir()
    shutil.copy(excerpt_fnames(0, "rest")[0], data)
    out = tmp_path / "mc.pt"
    args = ["finetune", str(data), "--init", "scratch", "--encoder-dim", "4", "--decoder-dim", "16",
            "--n-codebooks", "3", "--codebook-size", "256", "--model", "mc", "--layout", "group",
            "--group-size", "3", "--crop", "3", "--batch-size", "2", "--steps", "2", "--steps-per-epoch", "1",
            "--no-gan", "--threads", "1", "--quiet", "--exclude", "ECG ECG", "EEG A2-A1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "DAC-MC (group layout)" in capsys.readouterr().out
    codec = load_codec(out)
    assert isinstance(codec, DACMCCodec) and codec.layout == "group" and codec.group_size == 3
    raw = read_excerpt(1, "rest", verbose=False).crop(0, 8)
    tokens = tokenize_raw(raw, codec)
    assert tokens.codes.shape[0] == tokens.groups.n_groups == 7  # 19 EEG channels in groups of 3
    write_tokens(tmp_path / "rec.eegdac", tokens)
    assert read_tokens(tmp_path / "rec.eegdac").groups == tokens.groups
    # continuing an MC codec as SC is refused
    sc_args = [a for a in args if a not in ("mc",)]
    sc_args[sc_args.index("--model") + 1 : sc_args.index("--model") + 1] = ["sc"]
    sc_args[sc_args.index("scratch")] = str(out)
    for option in ("--encoder-dim", "--decoder-dim", "--n-codebooks", "--codebook-size"):
        i = sc_args.index(option)
        del sc_args[i : i + 2]
    assert main([*sc_args[:-1], str(tmp_path / "sc.pt")]) == 1
    assert "--model mc" in capsys.readouterr().err


def test_finetune_cli_mc_anatomical(tmp_path, capsys):
    data = tmp_path / "eeg"
    data.mkdir()
    shutil.copy(excerpt_fnames(0, "rest")[0], data)
    out = tmp_path / "mc.pt"
    args = ["finetune", str(data), "--init", "scratch", "--encoder-dim", "4", "--decoder-dim", "16",
            "--n-codebooks", "2", "--codebook-size", "256", "--model", "mc", "--layout", "group",
            "--grouping", "anatomical", "--crop", "3", "--batch-size", "2", "--steps", "1", "--no-gan",
            "--threads", "1", "--quiet", "--exclude", "ECG ECG", "EEG A2-A1", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    assert "DAC-MC (group layout) on anatomical regions" in capsys.readouterr().out
    codec = load_codec(out)
    assert codec.grouping == "anatomical"
    tokens = tokenize_raw(read_excerpt(1, "rest", verbose=False).crop(0, 4), codec)
    assert tokens.groups.method == "anatomical" and tokens.codes.shape[0] == 6
    assert main([*args[:-1], str(tmp_path / "slots.pt"), "--pooling", "slots"]) == 1  # regions exceed the slots
    assert "trains on pivot groups" in capsys.readouterr().err


def test_cli_compress_mc(tmp_path, capsys):
    """compress / info / decompress with a DAC-MC codec file and anatomical groups."""
    import mne

    codec = DACMCCodec.from_codec(make_tiny_codec(), layout="group", group_size=4)
    codec_file = codec.save(tmp_path / "mc.pt")
    src = excerpt_fnames(0, "arithmetic")[0]
    out = tmp_path / "rec.eegdac"
    args = ["--codec", str(codec_file), "--grouping", "anatomical", "--exclude", "ECG ECG", "EEG A2-A1"]
    assert main(["compress", str(src), str(out), *args]) == 0
    text = capsys.readouterr().out
    assert "Channel groups:    6 (anatomical; group layout: 6 token streams)" in text
    assert main(["decompress", str(out), str(tmp_path / "rec_raw.fif"), "--codec", str(codec_file)]) == 0
    rec = mne.io.read_raw_fif(tmp_path / "rec_raw.fif", verbose=False)
    assert rec.n_times == mne.io.read_raw_edf(src, verbose=False).n_times
    assert main(["compress", str(src), str(tmp_path / "sc.eegdac"), "--codec", "default", "--grouping", "pivot"]) == 1
    assert "--grouping: groups are for DAC-MC" in capsys.readouterr().err
    old = tmp_path / "old.eegdac"
    assert main(["compress", str(src), str(old), *args[:2], "--groups", "anatomical", *args[4:]]) == 0
    assert "--groups is deprecated" in capsys.readouterr().err
    assert read_tokens(old, codec_file).groups.method == "anatomical"
