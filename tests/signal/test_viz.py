"""Tests of mne_dac.signal.viz."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import mne  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from mne_dac.signal.viz import plot_fidelity, plot_psd_comparison, plot_reconstruction  # noqa: E402

SFREQ = 250.0


@pytest.fixture(scope="module")
def raws() -> tuple[mne.io.RawArray, mne.io.RawArray]:
    rng = np.random.default_rng(0)
    n_times = int(20 * SFREQ)
    t = np.arange(n_times) / SFREQ
    pink = np.cumsum(rng.standard_normal((5, n_times)), axis=1)
    pink -= pink.mean(axis=1, keepdims=True)
    data = 10e-6 * (pink / pink.std(axis=1, keepdims=True) + np.sin(2 * np.pi * 10 * t))
    ch_types = ["eeg"] * 4 + ["stim"]
    info = mne.create_info(["Fz", "Cz", "Pz", "Oz", "STI"], SFREQ, ch_types)
    data[4] = 0
    recon = data + 1e-6 * rng.standard_normal(data.shape)
    return mne.io.RawArray(data, info, verbose=False), mne.io.RawArray(recon, info, verbose=False)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_reconstruction(raws):
    fig = plot_reconstruction(*raws, start=2.0, duration=5.0, n_channels=3, show=False)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3
    assert fig.axes[0].get_ylabel().startswith("Fz")
    fig = plot_reconstruction(*raws, picks="Oz", show=False)
    assert len(fig.axes) == 1
    with pytest.raises(ValueError, match="outside the recording"):
        plot_reconstruction(*raws, start=100.0, show=False)


def test_plot_psd_comparison(raws):
    fig = plot_psd_comparison(*raws, fmax=45.0, show=False)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0, 45.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["original", "reconstruction"]
    assert "4 channel" in ax.get_title()  # the stim channel is left out


def test_plot_fidelity(raws, tmp_path):
    fname = tmp_path / "fidelity.png"
    fig = plot_fidelity(*raws, fname=fname, n_channels=2, show=False)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 3  # 2 overlays + PSD
    assert fname.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
