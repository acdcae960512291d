"""Files written with any shipped codec keep decoding, unchanged, after the default changes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA_DIR

import mne_dac
from mne_dac.codecs.loading import _SHIPPED_DIR, CODEC_ALIASES, SHIPPED_CODECS, SHIPPED_RELEASES, shipped_codec_of
from mne_dac.io.container import describe_file

#: Written by mne-dac 2026.11 with its default codec (3 channels × 4 s of eegmat), with its decode.
RELEASE_FILE = DATA_DIR / "default-2026.11.eegdac"
RELEASE_DECODE = DATA_DIR / "default-2026.11_decoded.npy"


@pytest.fixture
def two_threads():
    """The release decoded with torch's 2 CPU threads: float32 sums depend on the thread count."""
    import torch

    n_threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(n_threads)


def test_release_file_decodes_bit_identically(two_threads):
    """A file of the 2026.11 release decodes exactly as it did then, with no codec given."""
    raw = mne_dac.read_raw_dac(RELEASE_FILE, verbose="error")
    np.testing.assert_array_equal(raw.get_data(), np.load(RELEASE_DECODE))
    assert raw.ch_names == ["EEG Fp1", "EEG Cz", "EEG O2"]


def test_release_file_decodes_alike_with_other_thread_counts():
    """With another number of threads, the decode differs only by float32 rounding (< 1e-4 µV)."""
    import torch

    n_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        data = mne_dac.read_raw_dac(RELEASE_FILE, verbose="error").get_data()
    finally:
        torch.set_num_threads(n_threads)
    np.testing.assert_allclose(data, np.load(RELEASE_DECODE), rtol=0, atol=1e-10)


def test_info_names_the_codec_a_file_needs():
    """mne-dac info says which shipped codec decodes a file, found by its weights."""
    assert "shipped codec 'default-2026.11' (found automatically)" in describe_file(RELEASE_FILE)


@pytest.mark.parametrize("name", sorted(SHIPPED_RELEASES))
def test_every_release_ships_with_its_weights(name):
    """Each versioned codec file is in the package, with the weights its registry entry names."""
    shipped = SHIPPED_RELEASES[name]
    assert (_SHIPPED_DIR / shipped.file).is_file()
    assert (_SHIPPED_DIR / shipped.file).with_suffix(".md").is_file()  # its model card
    codec = mne_dac.load_codec(name, device="cpu", verbose="error")
    assert codec.name == name
    assert codec.identity.weights_sha256 == shipped.weights_sha256
    assert shipped_codec_of(codec.identity) is shipped


def test_aliases_follow_a_release():
    """``"default"`` and ``"mc-pivot"`` name a versioned shipped codec."""
    for alias, name in CODEC_ALIASES.items():
        assert SHIPPED_CODECS[alias] is SHIPPED_RELEASES[name]
