"""DAC-MC: the model, the codec, and their integration with tokens, files and Raw."""

from __future__ import annotations

import pickle

import mne
import numpy as np
import pytest
import torch
from conftest import make_tiny_codec

from mne_dac import load_codec, read_tokens, reconstruct_raw, tokenize_raw, write_tokens
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.models.mc_model import DACMC
from mne_dac.signal.groups import ChannelGroups, make_groups

CH_1020 = "Fp1 Fp2 F7 F3 Fz F4 F8 T7 C3 Cz C4 T8 P7 P3 Pz P4 P8 O1 O2".split()


def _perturb(module: torch.nn.Module, scale: float = 0.05) -> None:
    """Move every parameter away from its (identity) initialisation."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen))


@pytest.fixture(scope="module")
def sc_codec():
    return make_tiny_codec()


@pytest.fixture(scope="module", params=["channel", "group", "slots"])
def mc_codec(request, sc_codec):
    """DAC-MC codecs of each token layout, and the group layout with slot pooling."""
    kwargs = dict(layout="group", pooling="slots") if request.param == "slots" else dict(layout=request.param)
    codec = DACMCCodec.from_codec(sc_codec, **kwargs, grouping="pivot", group_size=4)
    _perturb(codec.model, 0.01)
    return codec


def _raw(ch_names, seconds=6.0, sfreq=256.0, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.standard_normal((len(ch_names), int(seconds * sfreq))).cumsum(axis=1) * 1e-6
    data -= data.mean(axis=1, keepdims=True)
    return mne.io.RawArray(data, mne.create_info(ch_names, sfreq, "eeg"), verbose=False)


@pytest.mark.parametrize("layout", ["channel", "group"])
def test_model_shapes(sc_codec, layout):
    model = DACMC(clone(sc_codec), layout=layout).eval()
    x = torch.randn(3, 4, 1500) * 0.1
    out = model(x, torch.randn(3, 4, 3))
    assert out["audio"].shape == x.shape
    n_frames = -(-1500 // model.hop_length)
    expected = (3, 4, model.n_codebooks, n_frames) if layout == "channel" else (3, model.n_codebooks, n_frames)
    assert out["codes"].shape == expected


def clone(codec):
    from mne_dac.training.trainer import clone_model

    return clone_model(codec.model)


def test_equals_sc_at_init(sc_codec, excerpt_raw):
    """In the channel layout, a fresh DAC-MC codes and decodes exactly as its DAC-SC."""
    mc = DACMCCodec.from_codec(sc_codec, layout="channel")
    raw = excerpt_raw.copy().crop(0, 5, include_tmax=False)
    sc_tokens = tokenize_raw(raw, sc_codec)
    mc_tokens = tokenize_raw(raw, mc, grouping="anatomical")
    np.testing.assert_array_equal(sc_tokens.codes, mc_tokens.codes)
    sc_rec = reconstruct_raw(sc_tokens, sc_codec).get_data()
    mc_rec = reconstruct_raw(mc_tokens, mc).get_data()
    np.testing.assert_allclose(mc_rec, sc_rec, atol=1e-12, rtol=1e-5)
    # the module itself, on a batch
    x = torch.randn(2, 3, 2048) * 0.1
    with torch.no_grad():
        out = mc.model(x, torch.randn(2, 3, 3))
        ref = sc_codec.model(x.reshape(6, 1, -1))
    torch.testing.assert_close(out["audio"].reshape(6, 1, -1), ref["audio"], rtol=0, atol=0)
    assert torch.equal(out["codes"].flatten(0, 1), ref["codes"])


@pytest.mark.parametrize("layout", ["channel", "group"])
def test_channel_order_invariance(sc_codec, layout):
    model = DACMC(clone(sc_codec), layout=layout)
    _perturb(model)
    model.eval()
    x, pos = torch.randn(2, 5, 1024) * 0.1, torch.randn(2, 5, 3)
    perm = torch.tensor([3, 0, 4, 1, 2])
    with torch.no_grad():
        out = model(x, pos)
        out_perm = model(x[:, perm], pos[:, perm])
    torch.testing.assert_close(out_perm["audio"], out["audio"][:, perm], rtol=1e-4, atol=1e-6)
    if layout == "channel":
        assert torch.equal(out_perm["codes"], out["codes"][:, perm])


def test_attention_and_conditioning_matter(sc_codec):
    """Once trained (here: perturbed), latents mix across channels and decoding depends on position."""
    model = DACMC(clone(sc_codec))
    _perturb(model)
    model.eval()
    z, pos = torch.randn(1, 3, model.dac.latent_dim, 2), torch.randn(1, 3, 3)
    with torch.no_grad():
        emb = model.channel_embeddings(pos)
        mixed = model.attention[0](z, emb)
        z2 = z.clone()
        z2[:, 1:] = 0
        assert not torch.allclose(model.attention[0](z2, emb)[:, 0], mixed[:, 0])
        y = model.decode(z, emb)
        emb2 = model.channel_embeddings(-pos)
        assert not torch.allclose(model.decode(z, emb2), y)


def test_slot_pooling(sc_codec):
    """Slots: each channel of a group in its own slice of the one latent, padding and missing channels zero."""
    model = DACMC(clone(sc_codec), layout="group", pooling="slots", n_slots=4)
    _perturb(model)
    model.eval()
    latent, slot = model.dac.latent_dim, model.dac.latent_dim // 4
    z, mask = torch.randn(2, 3, latent, 5), torch.tensor([[True, True, True], [True, False, True]])
    with torch.no_grad():
        pooled = model._to_slots(z, mask).reshape(2, 4, slot, 5)
        own = model.slot_in(z.flatten(0, 1)).reshape(2, 3, slot, 5)
        torch.testing.assert_close(pooled[0, :3], own[0])
        assert not pooled[1, 1].any() and not pooled[:, 3].any()
        back = model._from_slots(pooled.flatten(1, 2), 3)
        torch.testing.assert_close(back[0], model.slot_out(own[0]))
        out = model(torch.randn(2, 3, 1024) * 0.1, torch.randn(2, 3, 3))
    assert out["audio"].shape == (2, 3, 1024) and out["codes"].shape[:2] == (2, model.n_codebooks)
    fresh = DACMC(clone(sc_codec), layout="group", pooling="slots", n_slots=4)  # the truncation, and back
    torch.testing.assert_close(fresh._from_slots(fresh._to_slots(z, None), 3)[..., :slot, :], z[..., :slot, :])
    with pytest.raises(ValueError, match="at most 4 channels"):
        model(torch.randn(1, 5, 1024), torch.randn(1, 5, 3))
    with pytest.raises(ValueError, match="layout='group'"):
        DACMC(clone(sc_codec), pooling="slots")
    with pytest.raises(ValueError, match="divisor"):
        DACMC(clone(sc_codec), layout="group", pooling="slots", n_slots=7)


def test_slot_codec_groups(sc_codec):
    """A slot codec splits larger groups around pivots, and refuses a partition whose groups exceed its slots."""
    mc = DACMCCodec.from_codec(sc_codec, layout="group", pooling="slots", n_slots=4, group_size=4)
    assert "(group layout of 4 slots, pivot groups)" in repr(mc)
    raw = _raw(CH_1020)
    tokens = tokenize_raw(raw, mc, grouping="anatomical")
    assert tokens.groups.method == "anatomical" and max(tokens.groups.sizes) <= 4
    frontal = set(CH_1020[:7])  # one region of 7 channels: split, not mixed with other regions
    assert all(set(group) <= frontal or not set(group) & frontal for group in tokens.groups.groups)
    assert reconstruct_raw(tokens, mc).get_data().shape == raw.get_data().shape
    with pytest.raises(ValueError, match="up to 7 channels"):
        tokenize_raw(raw, mc, groups=make_groups(CH_1020, grouping="anatomical"))
    with pytest.raises(ValueError, match="group_size must be at most 4"):
        DACMCCodec.from_codec(sc_codec, layout="group", pooling="slots", n_slots=4, group_size=5)


def test_single_channel_decoding(sc_codec):
    model = DACMC(clone(sc_codec), channel_conditioning=False)
    assert not hasattr(model, "film")
    with pytest.raises(ValueError, match="layout='channel'"):
        DACMC(clone(sc_codec), layout="group", channel_conditioning=False)


def test_braindecode_style_inputs(sc_codec):
    """Positions default to those of chs_info, as in Braindecode models."""
    info = mne.create_info(["C3", "Cz", "C4"], 512.0, "eeg")
    model = DACMC(clone(sc_codec), n_chans=3, chs_info=info["chs"], sfreq=512.0, n_times=1024).eval()
    assert model.n_chans == 3
    with torch.no_grad():
        out = model(torch.randn(2, 3, 1024) * 0.1)
    assert out["audio"].shape == (2, 3, 1024)


@pytest.mark.parametrize(
    "ch_names",
    [
        CH_1020[:7],
        CH_1020,
        ["F4-A1", "C4-A1", "P4-A1", "O2-A1", "F3-A2", "C3-A2"],
        ["EEG FP1-REF", "EEG FP2-REF", "EEG C3-REF", "EEG C4-REF", "EEG T3-REF", "EEG O1-REF"],
    ],
    ids=["10-20 subset", "10-20", "bipolar", "TUH"],
)
@pytest.mark.parametrize("groups", ["pivot", "anatomical"])
def test_tokenize_any_montage(mc_codec, ch_names, groups, tmp_path):
    raw = _raw(ch_names)
    tokens = tokenize_raw(raw, mc_codec, groups=groups)
    assert tokens.groups.method == groups
    tokens.groups.check_partition(ch_names)
    n_streams = len(ch_names) if mc_codec.layout == "channel" else tokens.groups.n_groups
    assert tokens.codes.shape[0] == n_streams
    fname = write_tokens(tmp_path / "rec.eegdac", tokens)
    back = read_tokens(fname)
    assert back.groups == tokens.groups
    np.testing.assert_array_equal(back.codes, tokens.codes)
    np.testing.assert_array_equal(back.positions, tokens.positions)
    rec = reconstruct_raw(back, mc_codec)
    assert rec.ch_names == raw.ch_names and rec.n_times == raw.n_times
    np.testing.assert_allclose(rec.get_data(), reconstruct_raw(tokens, mc_codec).get_data())


def test_eegmmidb_montage(sc_codec):
    """The 64 EEGMMIDB names (with dots) are placed and grouped."""
    from conftest import DATA_DIR

    fname = DATA_DIR / "eegmmidb_excerpt_S_R_128Hz.edf"
    raw = mne.io.read_raw_edf(fname, preload=True, verbose=False).crop(0, 4)
    mc = DACMCCodec.from_codec(sc_codec, layout="group")
    tokens = tokenize_raw(raw, mc, grouping="pivot")
    assert tokens.codes.shape[0] == tokens.groups.n_groups == 16
    assert tokens.bits_per_second == pytest.approx(sc_codec.bits_per_second() / 4)


def test_group_layout_bits(sc_codec):
    mc = DACMCCodec.from_codec(sc_codec, layout="group", group_size=4)
    tokens = tokenize_raw(_raw(CH_1020[:8]), mc)
    assert tokens.codes.shape[0] == 2
    assert tokens.bits_per_second == pytest.approx(sc_codec.bits_per_second() / 4)
    assert "2 streams" in repr(tokens)


def test_montage_smaller_than_k(mc_codec):
    tokens = tokenize_raw(_raw(["C3", "C4"]), mc_codec)
    assert tokens.groups.n_groups == 1 and set(tokens.groups.groups[0]) == {"C3", "C4"}


def test_unknown_positions(mc_codec):
    raw = _raw(["C3", "Cz", "XYZ1", "foo"])
    with pytest.raises(ValueError, match="XYZ1.*foo|foo.*XYZ1"):
        tokenize_raw(raw, mc_codec)
    montage = mne.channels.make_dig_montage(
        {"C3": [-0.06, 0, 0.06], "Cz": [0, 0, 0.09], "XYZ1": [0.06, 0, 0.06], "foo": [0, 0.08, 0.04]},
        coord_frame="head",
    )
    tokens = tokenize_raw(raw, mc_codec, montage=montage, grouping="pivot")
    assert tokens.codes.shape[1] == mc_codec.n_codebooks
    reconstruct_raw(tokens, mc_codec)


def test_groups_only_for_mc(sc_codec):
    with pytest.raises(ValueError, match="DAC-MC"):
        tokenize_raw(_raw(CH_1020[:4]), sc_codec, grouping="pivot")


def test_custom_groups(mc_codec):
    ch_names = CH_1020[:6]
    groups = {"left": ["Fp1", "F7", "F3"], "right": ["Fp2", "Fz", "F4"]}
    tokens = tokenize_raw(_raw(ch_names), mc_codec, groups=groups)
    assert tokens.groups.method == "custom" and tokens.groups.n_groups == 2
    with pytest.raises(ValueError):
        tokenize_raw(_raw(ch_names), mc_codec, groups={"left": ["Fp1", "F7"]})


def test_chunked_coding_is_exact(mc_codec):
    """Long signals coded in chunks give the codes of a whole-signal pass."""
    data = np.random.default_rng(0).standard_normal((6, 512 * 12)).astype(np.float32) * 0.1
    names = CH_1020[:6]
    groups = make_groups(names, grouping="pivot", group_size=3)
    whole = mc_codec.encode(data, ch_names=names, groups=groups)
    chunked = DACMCCodec(mc_codec.model, mc_codec.sfreq, chunk_frames=3, batch_size=2, device="cpu")
    np.testing.assert_array_equal(chunked.encode(data, ch_names=names, groups=groups), whole)
    y_whole = mc_codec.decode(whole, ch_names=names, groups=groups)
    y_chunked = chunked.decode(whole, ch_names=names, groups=groups)
    np.testing.assert_allclose(y_chunked, y_whole, atol=1e-5)


def test_save_load_pickle(mc_codec, tmp_path):
    fname = mc_codec.save(tmp_path / "mc.pt")
    loaded = load_codec(fname)
    assert isinstance(loaded, DACMCCodec)
    assert loaded.identity.matches(mc_codec.identity)
    assert loaded.layout == mc_codec.layout and loaded.group_size == 4
    copy = pickle.loads(pickle.dumps(mc_codec))
    assert copy.identity.matches(mc_codec.identity)
    data = np.random.default_rng(1).standard_normal((4, 2048)).astype(np.float32) * 0.1
    names = CH_1020[:4]
    np.testing.assert_array_equal(loaded.encode(data, ch_names=names), mc_codec.encode(data, ch_names=names))


def test_mismatched_codes(mc_codec):
    names = CH_1020[:8]
    groups = make_groups(names, grouping="pivot", group_size=4)
    with pytest.raises(ValueError, match="codes must have shape"):
        mc_codec.decode(np.zeros((3, 2, 4), dtype=int), ch_names=names, groups=groups)
    with pytest.raises(ValueError, match="ch_names"):
        mc_codec.encode(np.zeros((8, 512), dtype=np.float32))
    with pytest.raises(ValueError):
        mc_codec.encode(
            np.zeros((8, 512), dtype=np.float32), ch_names=names, groups=ChannelGroups((("Fp1",),), "custom")
        )


@pytest.mark.parametrize("layout", ["channel", "group"])
def test_transformers_with_mc(sc_codec, layout):
    from mne_dac import DACRoundTrip, DACTokenizer

    mc = DACMCCodec.from_codec(sc_codec, layout=layout, group_size=3)
    names = CH_1020[:6]
    epochs = mne.EpochsArray(
        np.random.default_rng(0).standard_normal((3, 6, 512)) * 1e-5,
        mne.create_info(names, 256.0, "eeg"),
        verbose=False,
    )
    tok = DACTokenizer(codec=mc).fit(epochs)
    tokens = tok.transform(epochs)
    assert tokens.shape == (3, 6 if layout == "channel" else 2, mc.n_codebooks, 2)
    assert tok.inverse_transform(tokens).shape == (3, 6, 512)
    assert DACRoundTrip(codec=mc, grouping="anatomical").fit_transform(epochs).shape == (3, 6, 512)
    arrays = DACTokenizer(codec=mc, sfreq=256.0, ch_names=names).fit_transform(epochs.get_data())
    np.testing.assert_array_equal(arrays, tokens)
    with pytest.raises(ValueError, match="ch_names"):
        DACTokenizer(codec=mc, sfreq=256.0).fit(epochs.get_data())
    with pytest.raises(ValueError, match="DAC-MC"):
        DACTokenizer(codec=sc_codec, grouping="pivot").fit(epochs)


def test_shipped_mc_codec(excerpt_raw, tmp_path):
    """The shipped DAC-MC codec loads by name, codes a 19-channel Raw in pivot groups and uses its codebooks."""
    from mne_dac import read_raw_dac, write_raw_dac
    from mne_dac.signal.metrics import codebook_usage

    codec = load_codec("mc-pivot", device="cpu", verbose=False)
    assert isinstance(codec, DACMCCodec) and codec.layout == "group" and codec.grouping == "pivot"
    raw = excerpt_raw.copy().pick("eeg").crop(0, 10, include_tmax=False)
    tokens = tokenize_raw(raw, codec, verbose=False)
    assert tokens.codes.shape == (len(tokens.groups.groups), 8, 40)  # 8 codebooks, 4 frames/s
    assert codebook_usage(tokens)["n_used"].min() > 10  # not collapsed
    write_raw_dac(tmp_path / "mc.eegdac", raw, codec=codec, verbose=False)
    rec = read_raw_dac(tmp_path / "mc.eegdac", verbose=False)  # the codec is found by its name
    assert rec.ch_names == raw.ch_names and rec.n_times == raw.n_times


def test_grouping_method_as_groups_still_works(sc_codec):
    """groups="pivot" (a method where a partition belongs) codes as grouping="pivot", with a warning."""
    raw = _raw(CH_1020[:8])
    mc = DACMCCodec.from_codec(sc_codec, layout="group", group_size=4)
    new = tokenize_raw(raw, mc, grouping="pivot")
    with pytest.warns(FutureWarning, match="use grouping='pivot'"):
        old = tokenize_raw(raw, mc, groups="pivot")
    np.testing.assert_array_equal(old.codes, new.codes)
    assert old.groups == new.groups
    with pytest.raises(TypeError, match="not both"):
        tokenize_raw(raw, mc, groups=new.groups, grouping="pivot")
