"""Codec files are data, never code: no file runs code without the explicit opt-in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import DATA_DIR, make_tiny_codec

from mne_dac import load_codec
from mne_dac.codecs.codec_file import (
    CODEC_FILE_FORMAT,
    UntrustedCodeError,
    is_safetensors,
    read_codec_file,
)
from mne_dac.codecs.loading import codec_for
from mne_dac.commands import main


class Payload:
    """Unpickling this runs ``Path.touch(marker)``: the stand-in for an attacker's code."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Benign:
    """A harmless object that only a full unpickle reads."""


def _v1_codec_file(fname: Path, metadata: dict) -> Path:
    """A working version-1 codec file (torch.save of a dict), with ``metadata`` inside."""
    codec = make_tiny_codec()
    torch.save(
        {
            "format": CODEC_FILE_FORMAT,
            "version": 1,
            **codec.get_config().to_dict(),
            "state_dict": codec.model.state_dict(),
            "metadata": metadata,
        },
        fname,
    )
    return fname


@pytest.fixture
def marker(tmp_path) -> Path:
    return tmp_path / "PAYLOAD_RAN"


def test_codec_files_are_safetensors(tiny_codec, tmp_path):
    fname = tiny_codec.save(tmp_path / "codec.pt")
    assert is_safetensors(fname)
    assert not zip_magic(fname)  # no pickle anywhere
    assert load_codec(fname, device="cpu").identity == tiny_codec.identity


def zip_magic(fname: Path) -> bool:
    return fname.read_bytes()[:2] == b"PK"


def test_version_1_files_still_load(tmp_path):
    fname = _v1_codec_file(tmp_path / "v1.pt", {"training": {"steps": 3}})
    codec = load_codec(fname, device="cpu")
    assert codec.identity.matches(make_tiny_codec().identity)
    assert read_codec_file(fname).version == 1 and read_codec_file(fname).metadata == {"training": {"steps": 3}}


@pytest.mark.parametrize("kind", ["pickle", "trojan"])
def test_malicious_codec_file_never_runs(kind, marker, tmp_path, excerpt_raw):
    """A pickled payload, alone or hidden in a working codec's metadata, is refused everywhere."""
    fname = tmp_path / "evil.pt"
    if kind == "pickle":
        torch.save({"format": CODEC_FILE_FORMAT, "payload": Payload(marker)}, fname)
    else:
        _v1_codec_file(fname, {"note": Payload(marker)})
    with pytest.raises(UntrustedCodeError, match="trust_code=True"):
        load_codec(fname)
    recording = tmp_path / "rec_raw.fif"
    excerpt_raw.copy().crop(0, 2).save(recording)
    assert main(["compress", str(recording), str(tmp_path / "out.eegdac"), "--codec", str(fname)]) == 1
    tokens_file = make_tiny_codec().save(tmp_path / "tiny.pt")
    assert main(["compress", str(recording), str(tmp_path / "ok.eegdac"), "--codec", str(tokens_file)]) == 0
    args = ["decompress", str(tmp_path / "ok.eegdac"), str(tmp_path / "back_raw.fif"), "--codec", str(fname)]
    assert main(args) == 1
    assert not marker.exists()


def test_cli_says_how_to_trust(marker, tmp_path, excerpt_raw, capsys):
    fname = _v1_codec_file(tmp_path / "benign.pt", {"note": Benign()})
    recording = tmp_path / "rec_raw.fif"
    excerpt_raw.copy().crop(0, 2).save(recording)
    assert main(["compress", str(recording), str(tmp_path / "out.eegdac"), "--codec", str(fname)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--trust-codec" in err and "Traceback" not in err
    with pytest.warns(UserWarning, match="trust_code=True"):
        assert (
            main(["compress", str(recording), str(tmp_path / "out.eegdac"), "--codec", str(fname), "--trust-codec"])
            == 0
        )


def test_trust_code_loads_with_a_warning(tmp_path):
    fname = _v1_codec_file(tmp_path / "benign.pt", {"note": Benign()})
    with pytest.warns(UserWarning, match="runs any code"):
        codec = load_codec(fname, trust_code=True, device="cpu")
    assert codec.identity.matches(make_tiny_codec().identity)


@pytest.mark.parametrize(
    "header, match",
    [
        ({"format": "other"}, "not an mne-dac codec file"),
        ({"format": CODEC_FILE_FORMAT, "version": "9"}, "version '9'"),
        ({"format": CODEC_FILE_FORMAT, "version": "2", "config": "{not json"}, "not valid JSON"),
        ({"format": CODEC_FILE_FORMAT, "version": "2", "config": "[]"}, "not a JSON object"),
        ({"format": CODEC_FILE_FORMAT, "version": "2", "config": "{}"}, "no 'architecture'"),
    ],
)
def test_invalid_codec_file_headers(header, match, tmp_path):
    from safetensors.torch import save_file

    fname = tmp_path / "bad.safetensors"
    save_file({"w": torch.zeros(2)}, str(fname), metadata=header)
    with pytest.raises(OSError, match=match):
        load_codec(fname)


def test_weights_that_do_not_fit_the_config(tiny_codec, tmp_path):
    from safetensors.torch import save_file

    header = {"format": CODEC_FILE_FORMAT, "version": "2", "config": json.dumps(tiny_codec.get_config().to_dict())}
    save_file({"w": torch.zeros(2)}, str(tmp_path / "bad.safetensors"), metadata=header)
    with pytest.raises(OSError, match="do not fit"):
        load_codec(tmp_path / "bad.safetensors")


@pytest.mark.parametrize("depth, match", [(9, "between 1 and 4"), ("two", "invalid")])
def test_default_depth_the_codec_cannot_have(tiny_codec, depth, match, tmp_path):
    from safetensors.torch import save_file

    config = {**tiny_codec.get_config().to_dict(), "default_n_codebooks": depth}
    header = {"format": CODEC_FILE_FORMAT, "version": "2", "config": json.dumps(config)}
    save_file(tiny_codec._cpu_weights(), str(tmp_path / "bad.safetensors"), metadata=header)
    with pytest.raises(OSError, match=match):
        load_codec(tmp_path / "bad.safetensors")


@pytest.mark.parametrize("flag", ["yes", 1, None])
def test_channel_levels_a_file_cannot_hold(tiny_codec, flag, tmp_path):
    """channel_levels is true or false in a codec file, nothing else."""
    from safetensors.torch import save_file

    config = {**tiny_codec.get_config().to_dict(), "channel_levels": flag}
    header = {"format": CODEC_FILE_FORMAT, "version": "2", "config": json.dumps(config)}
    save_file(tiny_codec._cpu_weights(), str(tmp_path / "bad.safetensors"), metadata=header)
    with pytest.raises(OSError, match="channel_levels must be true or false"):
        load_codec(tmp_path / "bad.safetensors")


@pytest.mark.parametrize("beam_width", [10**9, 0])
def test_beam_a_file_cannot_ask_for(tiny_codec, beam_width, tmp_path):
    """A crafted beam width is refused before any search could exhaust memory."""
    from safetensors.torch import save_file

    config = tiny_codec.get_config().to_dict()
    config["dac_kwargs"] = {**config["dac_kwargs"], "beam_width": beam_width, "beam_codebooks": 2}
    header = {"format": CODEC_FILE_FORMAT, "version": "2", "config": json.dumps(config)}
    save_file(tiny_codec._cpu_weights(), str(tmp_path / "bad.safetensors"), metadata=header)
    with pytest.raises(OSError, match="beam_width"):
        load_codec(tmp_path / "bad.safetensors")


def test_a_file_never_makes_mne_dac_download(tmp_path, monkeypatch):
    """Tokens whose codec is a DAC tag not on disk: an error naming it and how to get it, no download."""
    import dac

    from mne_dac.codecs.codec import CodecIdentity

    def no_download(**kwargs):
        raise AssertionError("mne-dac downloaded without being asked")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(dac.utils, "download", no_download)
    identity = CodecIdentity("44khz", "dac-sc", {"sfreq": 512.0}, "0" * 64)
    with pytest.raises(FileNotFoundError, match=r"'44khz' weights are not on this machine.*downloads only when asked"):
        codec_for(identity)


def test_shipped_codecs_load_without_unpickling():
    """The shipped version-1 files load with weights_only=True, like any version-1 file."""
    for name in ("default-2026.11", "mc-pivot-2026.11"):
        assert read_codec_file(Path(DATA_DIR).parents[1] / "mne_dac" / "data" / "codecs" / f"{name}.pt").version == 1
