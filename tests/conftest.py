"""Shared fixtures: tiny random codecs (DAC's own checkpoint format) and real EEG."""

from __future__ import annotations

import copy
import hashlib
import json
import os
from pathlib import Path

import matplotlib
import mne
import numpy as np
import pytest

matplotlib.use("Agg")

#: A tiny DAC (0.1 M parameters) with DAC's hop of 512: 1 frame/s at 512 Hz.
TINY_DAC = dict(encoder_dim=4, decoder_dim=16)
DATA_DIR = Path(__file__).parent / "data"
#: The decoder's float32 sums depend on the CPU's instructions and on the threads: on another machine
#: than the release's, the same codes decode to Volts that differ by float32 rounding (seen: 3e-11 V on
#: one machine, 1.2e-10 V on another; a float32 step at the codec's full scale of 200 µV is 2.4e-11 V).
FLOAT32_ROUNDING = 5e-10


def pytest_configure(config):
    """Under pytest-xdist, each worker (and the scripts it runs) gets one thread of torch, BLAS and OpenMP: the
    workers share the cores, and threads beyond them spin against each other."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        threadpool_limits(1)
        os.environ.update(dict.fromkeys(("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"), "1"))


def make_tiny_codec(seed: int = 0, n_codebooks: int = 4, codebook_size: int = 256, **kwargs):
    """A tiny randomly initialised codec, fast enough for tests."""
    from mne_dac import load_codec

    return load_codec(
        "random",
        n_codebooks=n_codebooks,
        codebook_size=codebook_size,
        dac_kwargs=TINY_DAC,
        seed=seed,
        device="cpu",
        verbose=False,
        **kwargs,
    )


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for the module: tiny codecs are fastest so (and tests run side by side)."""
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="session")
def tiny_codec():
    """A tiny random DAC-SC codec on CPU."""
    return make_tiny_codec()


@pytest.fixture(scope="session")
def tiny_level_codec(tiny_codec):
    """The tiny codec, coding each channel at the codec's level by default (``channel_levels``)."""
    codec = copy.copy(tiny_codec)  # shares the model
    codec.channel_levels = True
    return codec


@pytest.fixture(scope="session")
def tiny_level_codec_file(tmp_path_factory, tiny_level_codec) -> Path:
    """The tiny channel-levels codec saved as an mne-dac codec file."""
    return tiny_level_codec.save(tmp_path_factory.mktemp("codec") / "tiny-levels.pt")


@pytest.fixture(scope="session", params=["channel", "group"])
def tiny_mc_codec(request, tiny_codec):
    """A tiny DAC-MC codec around the tiny codec, in each token layout, groups of 2."""
    from mne_dac.codecs.mc_codec import DACMCCodec

    return DACMCCodec.from_codec(tiny_codec, layout=request.param, grouping="pivot", group_size=2)


@pytest.fixture(scope="session")
def tiny_codec_file(tmp_path_factory, tiny_codec) -> Path:
    """The tiny codec saved as an mne-dac codec file."""
    fname = tmp_path_factory.mktemp("codec") / "tiny.pt"
    return tiny_codec.save(fname)


@pytest.fixture(scope="session")
def tiny_dac_checkpoint(tmp_path_factory) -> Path:
    """A tiny random ``dac.DAC`` saved with DAC's own ``save`` (the weights.pth format)."""
    import dac
    import torch

    torch.manual_seed(1)
    model = dac.DAC(n_codebooks=6, codebook_size=512, **TINY_DAC)
    fname = tmp_path_factory.mktemp("dac") / "weights.pth"
    model.save(str(fname), package=False)
    return fname


@pytest.fixture
def excerpt_raw() -> mne.io.BaseRaw:
    """20 s of real EEG (eegmat subject 0, rest), shipped with the package."""
    from mne_dac.evaluation.datasets import read_excerpt

    return read_excerpt(0, "rest").crop(0, 20, include_tmax=False)


def excerpt_codec_domain(sfreq: float) -> np.ndarray:
    """20 s of the excerpt's 19 EEG channels in the codec domain at ``sfreq`` (default preprocessing)."""
    from mne_dac.evaluation.datasets import read_excerpt
    from mne_dac.signal.preprocessing import PreprocessingSettings, to_codec_domain

    raw = read_excerpt(0, "rest", verbose=False).pick("eeg").crop(0, 20, include_tmax=False)
    return to_codec_domain(raw.get_data(), raw.info["sfreq"], sfreq, PreprocessingSettings()).data


@pytest.fixture(scope="session")
def shipped_codec():
    """The shipped codec: a trained one, whose codebooks lower the error (a random codec's raise it)."""
    from mne_dac import load_codec

    return load_codec("default", device="cpu", verbose=False)


@pytest.fixture(scope="session")
def shipped_codec_eeg(shipped_codec) -> np.ndarray:
    """The excerpt's EEG in the shipped codec's domain."""
    return excerpt_codec_domain(shipped_codec.sfreq)


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded random generator."""
    return np.random.default_rng(0)


class CraftedFile:
    """An ``.eegdac`` file's parts, and :meth:`build` to put them back with every checksum recomputed (as a
    crafter would)."""

    def __init__(self, buf: bytes) -> None:
        from mne_dac.io.block_format import PREAMBLE as _PREAMBLE
        from mne_dac.io.block_format import TRAILER

        _, self.version, size = _PREAMBLE.unpack_from(buf)
        start = _PREAMBLE.size
        self.header = json.loads(buf[start : start + size])
        self.footer = self.info = None
        if self.version == 1:
            self.body = buf[start + size : -32]
            return
        footer_size = TRAILER.unpack_from(buf, len(buf) - TRAILER.size)[0]
        info_end = start + size + self.header["info_size"]
        self.info = buf[start + size : info_end]
        self.blocks = buf[info_end : len(buf) - TRAILER.size - footer_size]
        self.footer = json.loads(buf[len(buf) - TRAILER.size - footer_size : len(buf) - TRAILER.size])

    def build(self, header=None, footer=None, *, blocks: bytes | None = None, body: bytes | None = None) -> bytes:
        """A file with these parts and correct checksums: what a crafter writes."""
        from mne_dac.io.block_format import MAGIC, TRAILER
        from mne_dac.io.block_format import PREAMBLE as _PREAMBLE

        header = self.header if header is None else header
        text = header if isinstance(header, str) else json.dumps(header)
        head = text.encode("utf-8", "surrogatepass")
        preamble = _PREAMBLE.pack(MAGIC, self.version, len(head))
        if self.version == 1:
            content = preamble + head + (self.body if body is None else body)
            return content + hashlib.sha256(content).digest()
        blocks = self.blocks if blocks is None else blocks
        footer = copy.deepcopy(self.footer if footer is None else footer)
        try:  # block hashes recomputed, where the crafted index still has them
            offset = 0
            for entry in footer["blocks"]:
                size = entry[0] + entry[1] + (entry[4] if len(entry) > 4 else 0)
                entry[2] = hashlib.sha256(blocks[offset : offset + size]).hexdigest()
                offset += size
        except (TypeError, KeyError, IndexError):
            pass
        foot = (footer if isinstance(footer, str) else json.dumps(footer)).encode("utf-8", "surrogatepass")
        digest = hashlib.sha256(preamble + head + self.info + foot).digest()
        return preamble + head + self.info + blocks + foot + TRAILER.pack(len(foot), digest, MAGIC)

    def regions(self) -> list[tuple[str, int, int]]:
        """(name, start, stop) of the parts of the body (v1) or blocks (v2) that crafting flips."""
        if self.version == 1:
            offsets = np.cumsum([0] + [s["size"] for s in self.header["sections"]])
            names = [s["name"] for s in self.header["sections"]]
            return [(n, lo, hi) for n, lo, hi in zip(names, offsets[:-1], offsets[1:]) if n != "codes"]
        out, offset = [], 0
        for k, (n_tokens, n_side, *rest) in enumerate(self.footer["blocks"]):
            n_residual = rest[2] if len(rest) > 2 else 0
            if n_side:
                out.append((f"block {k} side channels", offset + n_tokens, offset + n_tokens + n_side))
            if n_residual:
                start = offset + n_tokens + n_side
                out.append((f"block {k} residual", start, start + n_residual))
            offset += n_tokens + n_side + n_residual
        return out


def crafted_transform(fname: Path, change: dict, out: Path) -> Path:
    """Write to ``out`` the transform-coded file ``fname`` with its header's ``transform`` field changed by
    ``change`` (a value of ``None`` removes the key), every checksum recomputed."""
    crafted = CraftedFile(Path(fname).read_bytes())
    header = json.loads(json.dumps(crafted.header))
    header["transform"] = {k: v for k, v in {**header["transform"], **change}.items() if v is not None}
    out.write_bytes(crafted.build(header))
    return out
