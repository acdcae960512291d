"""One configuration path: saving, loading, pickling and copying a codec all go through CodecConfig."""

from __future__ import annotations

import copy
import json
import pickle

import pytest
import torch

from mne_dac import load_codec
from mne_dac.codecs.codec_file import read_codec_file
from mne_dac.codecs.config import CodecConfig


@pytest.fixture(params=["sc", "mc"])
def codec(request, tiny_codec, tiny_mc_codec):
    return tiny_codec if request.param == "sc" else tiny_mc_codec


def _same_weights(a, b) -> bool:
    sa, sb = a.model.state_dict(), b.model.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_config_round_trips_through_plain_data(codec):
    config = codec.get_config()
    assert config.architecture == codec.architecture
    assert (config.mc_kwargs is None) == (codec.architecture == "dac-sc")
    assert CodecConfig.from_dict(config.to_dict()) == config
    json.dumps(config.to_dict())  # plain data


def test_from_config_rebuilds_the_codec(codec):
    rebuilt = type(codec).from_config(codec.get_config(), codec.model.state_dict(), device="cpu")
    assert rebuilt.identity == codec.identity
    assert rebuilt.get_config() == codec.get_config()


@pytest.mark.parametrize("how", ["pickle", "deepcopy", "file"])
def test_every_copy_keeps_config_weights_and_options(codec, how, tmp_path):
    if how == "pickle":
        other = pickle.loads(pickle.dumps(codec))
    elif how == "deepcopy":
        other = copy.deepcopy(codec)
    else:
        other = load_codec(codec.save(tmp_path / "codec.pt"), device="cpu", batch_size=codec.batch_size)
    assert type(other) is type(codec)
    assert other.get_config() == codec.get_config()
    assert other.runtime_options() == codec.runtime_options()
    assert _same_weights(other, codec)
    assert other.identity == codec.identity


def test_codec_file_holds_the_config_and_weights(codec, tmp_path):
    content = read_codec_file(codec.save(tmp_path / "codec.pt", metadata={"note": "x"}))
    assert content.config == codec.get_config() and content.metadata == {"note": "x"}
    assert content.state_dict.keys() == codec.model.state_dict().keys()


def test_channel_levels_round_trip(tiny_level_codec, tmp_path):
    """A codec fitted at each channel's level says so in its file, kept by every copy; the files of other codecs
    have no such key (their content is as before)."""
    assert "channel_levels" not in load_codec("random", dac_kwargs={"encoder_dim": 4, "decoder_dim": 16},
                                              device="cpu").get_config().to_dict()  # fmt: skip
    assert tiny_level_codec.get_config().to_dict()["channel_levels"] is True
    for other in (load_codec(tiny_level_codec.save(tmp_path / "levels.pt"), device="cpu"),
                  pickle.loads(pickle.dumps(tiny_level_codec)), copy.deepcopy(tiny_level_codec)):  # fmt: skip
        assert other.channel_levels and other.get_config() == tiny_level_codec.get_config()
    from mne_dac.codecs.mc_codec import DACMCCodec

    assert DACMCCodec.from_codec(tiny_level_codec, group_size=2).channel_levels
