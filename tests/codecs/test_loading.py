"""load_codec: DAC checkpoints, DAC tags through DAC's cache, mne-dac files, random."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from mne_dac import DACCodec, load_codec
from mne_dac.utils._imports import import_dac


def test_dac_checkpoint(tiny_dac_checkpoint, rng):
    """A checkpoint in DAC's own format (DAC.save(package=False)) loads exactly."""
    import dac

    codec = load_codec(tiny_dac_checkpoint, device="cpu", verbose=False)
    assert codec.n_codebooks == 6 and codec.codebook_size == 512
    assert codec.sfreq == 512.0 and codec.name == "weights.pth"
    reference = dac.DAC.load(str(tiny_dac_checkpoint))  # DAC's own loader
    for (k, v), (k2, v2) in zip(codec.model.state_dict().items(), reference.state_dict().items()):
        assert k == k2
        torch.testing.assert_close(v, v2)
    assert load_codec(tiny_dac_checkpoint, sfreq=256, verbose=False).sfreq == 256.0


def test_dac_torch_package(tmp_path):
    """DAC's default save format (a torch.package) runs code: refused, unless trust_code=True."""
    import dac

    from mne_dac.codecs.codec_file import UntrustedCodeError

    model = dac.DAC(encoder_dim=4, decoder_dim=16, n_codebooks=3, codebook_size=256)
    fname = tmp_path / "packaged.pth"
    model.save(str(fname))
    with pytest.raises(UntrustedCodeError, match=r"torch.package archive.*trust_code=True"):
        load_codec(fname, verbose=False)
    with pytest.warns(UserWarning, match="runs the code it holds"):
        codec = load_codec(fname, trust_code=True, verbose=False)
    assert codec.n_codebooks == 3
    for v, v2 in zip(codec.model.state_dict().values(), model.state_dict().values()):
        torch.testing.assert_close(v, v2)


def test_codec_file_round_trip(tiny_codec, tiny_codec_file, rng):
    codec = load_codec(tiny_codec_file, verbose=False)
    assert codec.identity.matches(tiny_codec.identity)
    x = (0.3 * rng.standard_normal((2, 3000))).astype(np.float32)
    np.testing.assert_array_equal(codec.encode(x), tiny_codec.encode(x))
    assert codec.preprocessing == tiny_codec.preprocessing
    with pytest.raises(FileExistsError, match="overwrite"):
        tiny_codec.save(tiny_codec_file)


def test_dac_tag_from_cache(tiny_dac_checkpoint, tmp_path, monkeypatch):
    """A DAC tag resolves through DAC's cache folder, without a download."""
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = tmp_path / ".cache" / "descript" / "dac"
    cache.mkdir(parents=True)
    (cache / "weights_44khz_8kbps_0.0.1.pth").write_bytes(Path(tiny_dac_checkpoint).read_bytes())
    codec = load_codec("44khz", verbose=False)
    assert codec.name == "44khz" and codec.n_codebooks == 6


def test_dac_tag_offline(tmp_path, monkeypatch):
    """Offline and not cached: the error names the file and where to put it."""
    import requests

    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Name or service not known")

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(requests, "get", offline)
    with pytest.raises(OSError, match="weights.pth") as excinfo:
        load_codec("44khz", verbose=False)
    msg = str(excinfo.value)
    assert "weights_44khz_8kbps_0.0.1.pth" in msg and "descript" in msg and "ConnectionError" in msg


def test_random_and_errors(tmp_path):
    codec = load_codec(
        "random",
        n_codebooks=3,
        codebook_size=512,
        sfreq=256,
        dac_kwargs=dict(encoder_dim=4, decoder_dim=16),
        verbose=False,
    )
    assert isinstance(codec, DACCodec) and codec.bits_per_second() == 3 * 9 * 0.5
    assert load_codec(codec) is codec
    with pytest.raises(ValueError, match='source="random"'):
        load_codec("default", n_codebooks=3)
    with pytest.raises(ValueError, match="Unknown dac_kwargs"):
        load_codec("random", dac_kwargs=dict(bogus=1))
    with pytest.raises(FileNotFoundError, match="DAC tags"):
        load_codec(tmp_path / "nope.pth")
    with pytest.raises(TypeError, match="source"):
        load_codec(3)
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(OSError, match="not a readable"):
        load_codec(bad)
    torch.save({"something": 1}, tmp_path / "other.pth")
    with pytest.raises(OSError, match="neither a DAC checkpoint"):
        load_codec(tmp_path / "other.pth")


def test_mismatched_checkpoint(tmp_path):
    import dac

    model = dac.DAC(encoder_dim=4, decoder_dim=16, n_codebooks=2, codebook_size=256)
    obj = {
        "state_dict": model.state_dict(),
        "metadata": {"kwargs": dict(encoder_dim=8, decoder_dim=16, n_codebooks=2, codebook_size=256)},
    }
    torch.save(obj, tmp_path / "w.pth")
    with pytest.raises(OSError, match="do not fit"):
        load_codec(tmp_path / "w.pth")


def test_import_dac_mismatch_message(monkeypatch):
    """A torch/torchaudio mismatch names both versions and the fix."""
    import mne_dac.utils._imports as imports

    def broken(name):
        raise OSError("libc10_cuda.so: cannot open shared object file: No such file or directory")

    monkeypatch.setattr(imports, "import_module", broken)
    with pytest.raises(ImportError) as excinfo:
        imports.import_dac()
    msg = str(excinfo.value)
    assert torch.__version__.split("+")[0] in msg
    assert 'pip install "torch==2.11.0" "torchaudio==2.11.0"' in msg


def test_import_dac():
    assert import_dac() is sys.modules["dac"]
