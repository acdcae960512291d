"""Files written with any shipped codec keep decoding, unchanged, after the default changes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA_DIR, FLOAT32_ROUNDING

import mne_dac
from mne_dac.codecs.loading import _SHIPPED_DIR, CODEC_ALIASES, SHIPPED_CODECS, SHIPPED_RELEASES, shipped_codec_of
from mne_dac.io.container import describe_file

#: Files written with each earlier default codec (3 channels × 4 s of eegmat; 8 s for beam-2026.12) and DAC-MC
#: codec (8 channels × 8 s), with their channels; their decodes are beside them (``<name>_decoded.npy``).
RELEASE_FILES = {
    "default-2026.11": ["EEG Fp1", "EEG Cz", "EEG O2"],  # by mne-dac 2026.11
    "default-2026.12": ["Fp1", "Cz", "O2"],  # by mne-dac 0.1.0.dev0, before the default changed
    "default-2026.12b": ["Fp1", "Cz", "O2"],  # likewise, before the default became beam-2026.12
    "beam-2026.12": ["Fp1", "Cz", "O2"],  # 8 s with band gains, before the default became lapped-2026.12
    "lapped-2026.12": ["Fp1", "Cz", "O2"],  # likewise, before the default became levels-2026.12
    "mc-pivot-2026.12b": ["Fp1", "Fp2", "C3", "Cz", "C4", "O1", "O2", "Pz"],  # before "mc-pivot" changed
}


@pytest.mark.parametrize("release", sorted(RELEASE_FILES))
@pytest.mark.parametrize("n_threads", [1, 2])
def test_release_file_decodes_as_it_did(release, n_threads):
    """A file written with an earlier default codec decodes as it did then, with no codec given.

    Its codes are checked against the file's CRC as they are read; the Volts match the release's decode to
    float32 rounding (bit-identical on the release's machine).
    """
    import torch

    previous = torch.get_num_threads()
    try:
        torch.set_num_threads(n_threads)
        raw = mne_dac.read_raw_dac(DATA_DIR / f"{release}.eegdac", verbose="error")
        data = raw.get_data()
    finally:
        torch.set_num_threads(previous)
    assert raw.ch_names == RELEASE_FILES[release]
    np.testing.assert_allclose(data, np.load(DATA_DIR / f"{release}_decoded.npy"), rtol=0, atol=FLOAT32_ROUNDING)


@pytest.mark.parametrize("release", sorted(RELEASE_FILES))
def test_info_names_the_codec_a_file_needs(release):
    """mne-dac info says which shipped codec decodes a file, found by its weights."""
    assert f"shipped codec '{release}' (found automatically)" in describe_file(DATA_DIR / f"{release}.eegdac")


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
