"""Tests of the lazy Braindecode windows transforms (mne_dac.adapters.windows)."""

from __future__ import annotations

import inspect
import pickle

import mne
import numpy as np
import pytest

braindecode = pytest.importorskip("braindecode")
from braindecode.datasets import BaseConcatDataset  # noqa: E402
from braindecode.preprocessing import create_fixed_length_windows  # noqa: E402

from mne_dac.adapters.windows import roundtrip_windows, tokenize_windows  # noqa: E402

try:  # braindecode >= 1.0; BaseDataset is its deprecated alias
    from braindecode.datasets import RawDataset
except ImportError:  # pragma: no cover
    from braindecode.datasets import BaseDataset as RawDataset

SFREQ = 128.0
WINDOW = 256  # 2 s
CH_NAMES = ["C3", "Cz", "C4"]

pytestmark = [
    pytest.mark.filterwarnings("ignore:The provided mne.Epochs object does not meet:UserWarning"),  # lazy windows
    pytest.mark.usefixtures("one_torch_thread"),
]


def _concat_raw(n_recordings: int = 4, seconds: int = 6, scale: float = 1.0) -> BaseConcatDataset:
    """Recordings of 3 EEG channels in Volts (times ``scale``), alternating targets 0 and 1."""
    rng = np.random.default_rng(42)
    times = np.arange(int(seconds * SFREQ)) / SFREQ
    datasets = []
    for i in range(n_recordings):
        target = i % 2
        data = 1e-5 * rng.standard_normal((len(CH_NAMES), len(times)))
        data += target * 2e-5 * np.sin(2 * np.pi * 10 * times)  # alpha in class 1
        info = mne.create_info(CH_NAMES, SFREQ, "eeg")
        raw = mne.io.RawArray(scale * data, info, verbose=False)
        datasets.append(RawDataset(raw, {"target": target, "subject": i}, target_name="target"))
    return BaseConcatDataset(datasets)


def _windows(concat_ds: BaseConcatDataset, **kwargs) -> BaseConcatDataset:
    """Non-overlapping 2 s windows (``on_last_window`` replaced ``drop_last_window``)."""
    params = inspect.signature(create_fixed_length_windows).parameters
    if "on_last_window" in params:
        last = dict(on_last_window="drop")
    else:  # pragma: no cover
        last = dict(drop_last_window=True)
    kwargs = {k: v for k, v in kwargs.items() if k in params}  # use_mne_epochs: braindecode>=1
    return create_fixed_length_windows(
        concat_ds, window_size_samples=WINDOW, window_stride_samples=WINDOW, **last, **kwargs
    )


@pytest.fixture(scope="module", params=[False, True], ids=["EEGWindowsDataset", "WindowsDataset"])
def windows_ds(request) -> BaseConcatDataset:
    """Non-overlapping 2 s windows (3 per recording, 12 in all)."""
    return _windows(_concat_raw(), use_mne_epochs=request.param)


def test_roundtrip_windows(windows_ds, tiny_codec):
    """Windows are replaced lazily by float32 reconstructions; the original is untouched."""
    before = [windows_ds[i] for i in (0, len(windows_ds) - 1)]
    out = roundtrip_windows(windows_ds, tiny_codec, n_codebooks=2)
    assert isinstance(out, BaseConcatDataset)
    assert out is not windows_ds and len(out) == len(windows_ds)
    assert all(ds.transform is None for ds in windows_ds.datasets)
    assert all(new is not old for new, old in zip(out.datasets, windows_ds.datasets))
    for i, (X0, y0, inds0) in zip((0, len(windows_ds) - 1), before):
        X, y, inds = out[i]
        assert X.dtype == np.float32 and X.shape == X0.shape == (len(CH_NAMES), WINDOW)
        assert y == y0 and list(inds) == list(inds0)
        assert not np.allclose(X, X0)  # coded
        assert np.abs(X).max() < 1e-3  # still in Volts (the clip level is 200 µV)
        X1, y1, inds1 = windows_ds[i]  # the original still serves the original
        np.testing.assert_array_equal(X1, X0)
    assert "_RoundTrip" in repr(out.datasets[0].transform)


def test_pickle_for_workers(windows_ds, tiny_codec):
    """Datasets pickle with torch's multiprocessing pickler (DataLoader workers), once."""
    from multiprocessing.reduction import ForkingPickler

    import torch.multiprocessing  # noqa: F401  (registers torch's reductions)

    out = roundtrip_windows(windows_ds, tiny_codec)
    again = pickle.loads(ForkingPickler.dumps(out))
    transforms = [ds.transform for ds in again.datasets]
    assert all(t.coding.codec is transforms[0].coding.codec for t in transforms)  # one codec copy
    assert transforms[0].coding.codec is not tiny_codec
    assert transforms[0].coding.codec.identity.matches(tiny_codec.identity)
    np.testing.assert_allclose(again[0][0], out[0][0], atol=1e-9)


def test_tokenize_windows(windows_ds, tiny_codec):
    """Tokens of shape (n_channels, n_codebooks, n_frames), equal to direct encoding."""
    from mne_dac.signal.preprocessing import to_codec_domain

    out = tokenize_windows(windows_ds, tiny_codec)
    X0 = windows_ds[1][0]
    X, y, _ = out[1]
    n_frames = 2  # 2 s at 512 Hz, hop 512
    assert X.dtype == np.int64 and X.shape == (len(CH_NAMES), tiny_codec.n_codebooks, n_frames)
    assert y == windows_ds[1][1]
    expected = tiny_codec.encode(to_codec_domain(X0, SFREQ, tiny_codec.sfreq, tiny_codec.preprocessing).data)
    np.testing.assert_array_equal(X, expected)
    fewer = tokenize_windows(windows_ds, tiny_codec, n_codebooks=1)[1][0]
    np.testing.assert_array_equal(fewer, X[:, :1])
    # a batch of windows stacks
    Xb, yb = out[[0, 1, 2]]
    assert Xb.shape == (3, len(CH_NAMES), tiny_codec.n_codebooks, n_frames)


def test_compose_with_existing_transform(tiny_codec):
    """An existing transform is kept, on the original, and applied after the codec."""
    windows_ds = _windows(_concat_raw(2))
    windows_ds.transform = _Scale(1e6)  # to µV, e.g. for a network
    plain = roundtrip_windows(_without_transform(windows_ds), tiny_codec)
    out = roundtrip_windows(windows_ds, tiny_codec)
    assert all(isinstance(ds.transform, _Scale) for ds in windows_ds.datasets)
    np.testing.assert_allclose(out[0][0], plain[0][0] * 1e6, rtol=1e-5)


class _Scale:
    def __init__(self, factor: float) -> None:
        self.factor = factor

    def __call__(self, X: np.ndarray) -> np.ndarray:
        return X * self.factor


def _without_transform(concat_ds: BaseConcatDataset) -> BaseConcatDataset:
    import copy

    out = copy.copy(concat_ds)
    out.datasets = [copy.copy(ds) for ds in concat_ds.datasets]
    for ds in out.datasets:
        ds.transform = None
    return out


def test_windows_errors(tiny_codec):
    """Non-windowed datasets, channel targets and bad parameters are refused."""
    concat_raw = _concat_raw(2)
    with pytest.raises(TypeError, match="not a windows dataset"):
        roundtrip_windows(concat_raw, tiny_codec)
    with pytest.raises(TypeError, match="concat_ds"):
        tokenize_windows([1, 2], tiny_codec)
    windows_ds = _windows(concat_raw)
    with pytest.raises(ValueError, match="n_codebooks must be between"):
        tokenize_windows(windows_ds, tiny_codec, n_codebooks=5)
    windows_ds.datasets[1].targets_from = "channels"
    with pytest.raises(ValueError, match="targets_from='metadata'"):
        roundtrip_windows(windows_ds, tiny_codec)


def test_train_eegclassifier_on_roundtrip(tiny_codec):
    """A Braindecode model trains (1 epoch, CPU) on reconstructed windows."""
    import torch
    from braindecode import EEGClassifier
    from braindecode.models import ShallowFBCSPNet

    windows_ds = _windows(_concat_raw())
    out = roundtrip_windows(windows_ds, tiny_codec, n_codebooks=2)
    torch.manual_seed(0)
    model = ShallowFBCSPNet(n_chans=len(CH_NAMES), n_outputs=2, n_times=WINDOW)
    clf = EEGClassifier(
        model,
        max_epochs=1,
        batch_size=6,
        train_split=None,
        device="cpu",
        verbose=0,
    )
    clf.fit(out, y=None)
    assert len(clf.history) == 1
    assert np.isfinite(clf.history[-1, "train_loss"])
    proba = clf.predict_proba(out)
    assert proba.shape == (len(out), 2)


def test_windows_with_dac_mc(tiny_mc_codec):
    """A DAC-MC codec codes windows by groups, as it codes the same samples directly."""
    from mne_dac.signal.preprocessing import to_codec_domain

    ds = _windows(_concat_raw(n_recordings=2))
    groups = tiny_mc_codec.channel_groups(CH_NAMES)
    X0 = ds[1][0]
    tokens = tokenize_windows(ds, tiny_mc_codec)[1][0]
    assert tokens.shape[0] == tiny_mc_codec.n_streams(len(CH_NAMES), groups)
    direct = tiny_mc_codec.encode(
        to_codec_domain(X0, SFREQ, tiny_mc_codec.sfreq, tiny_mc_codec.preprocessing).data, ch_names=CH_NAMES
    )
    np.testing.assert_array_equal(tokens, direct)
    X = roundtrip_windows(ds, tiny_mc_codec)[1][0]
    assert X.shape == X0.shape and X.dtype == np.float32 and np.isfinite(X).all()


def test_windows_groups_need_dac_mc(windows_ds, tiny_codec):
    """Groups are for DAC-MC codecs: a DAC-SC codec says so."""
    with pytest.raises(ValueError, match="groups are for DAC-MC codecs"):
        tokenize_windows(windows_ds, tiny_codec, grouping="pivot")


def test_cache_dir(windows_ds, tiny_codec, tmp_path, monkeypatch):
    """With cache_dir, each window is coded once: later reads load the same output."""
    from mne_dac.adapters.windows import _CodecTransform

    out = tokenize_windows(windows_ds, tiny_codec, n_codebooks=2, cache_dir=tmp_path)
    first = [out[i][0] for i in range(len(out))]
    files = list(tmp_path.rglob("*.npy"))
    assert len(files) == len(out)

    def fail(self, window):
        raise AssertionError("coded again")

    monkeypatch.setattr(_CodecTransform, "_apply", fail)
    again = tokenize_windows(windows_ds, tiny_codec, n_codebooks=2, cache_dir=tmp_path)
    for i, X in enumerate(first):
        np.testing.assert_array_equal(again[i][0], X)
    monkeypatch.undo()
    # another depth is another cache; a corrupted entry is recomputed
    tokenize_windows(windows_ds, tiny_codec, n_codebooks=1, cache_dir=tmp_path)[0]
    assert len({p.parent for p in tmp_path.rglob("*.npy")}) == 2
    files[0].write_bytes(b"garbage")
    assert out[0][0].shape == first[0].shape  # no error


@pytest.mark.parametrize("use_mne_epochs", [False, True], ids=["EEGWindowsDataset", "WindowsDataset"])
def test_windows_clip_at_level(tiny_codec, use_mne_epochs):
    """``preprocessing="clip-at-level"``: each recording's windows at the clip level of that recording's level
    (of its windows where a WindowsDataset has no continuous recording); an unknown string is refused."""
    from mne_dac import preprocessing_at_level

    concat = _concat_raw(scale=10)
    out = tokenize_windows(_windows(concat, use_mne_epochs=use_mne_epochs), tiny_codec, preprocessing="clip-at-level")
    for ds, recording in zip(out.datasets, concat.datasets):
        expected = preprocessing_at_level(recording.raw, tiny_codec).clip
        assert 3 * 200e-6 < expected < 30 * 200e-6
        tolerance = 0.5 if use_mne_epochs else 0  # 2-s windows high-passed alone at 0.1 Hz: their edges add energy
        assert ds.transform.coding.preprocessing.clip == pytest.approx(expected, rel=tolerance)
    assert np.isin(out[0][0], np.arange(tiny_codec.codebook_size)).all()
    with pytest.raises(ValueError, match="Invalid value for the 'preprocessing' parameter"):
        roundtrip_windows(_windows(concat), tiny_codec, preprocessing="at-level")


@pytest.mark.parametrize("use_mne_epochs", [False, True], ids=["EEGWindowsDataset", "WindowsDataset"])
def test_windows_channel_levels(tiny_codec, tiny_level_codec, use_mne_epochs):
    """``preprocessing="channel-levels"``: each recording's windows at a clip level per channel, that of the
    channel's level in its recording (in its windows where a WindowsDataset has no continuous recording); the
    round trip decodes each channel to its own level. The default of a codec fitted at those levels."""
    from mne_dac import preprocessing_at_level

    concat = _concat_raw(scale=10)
    for ds in concat.datasets:  # the second channel of each recording three times as loud
        ds.raw._data[1] *= 3
    windows = _windows(concat, use_mne_epochs=use_mne_epochs)
    out = roundtrip_windows(windows, tiny_codec, preprocessing="channel-levels")
    for ds, recording in zip(out.datasets, concat.datasets):
        expected = preprocessing_at_level(recording.raw, tiny_codec, per_channel=True).clip
        levels = ds.transform.coding.preprocessing.clip
        tolerance = 0.5 if use_mne_epochs else 0  # 2-s windows high-passed alone at 0.1 Hz: their edges add energy
        assert len(levels) == len(expected) and levels == pytest.approx(expected, rel=tolerance)
        assert levels[1] > 2 * levels[0]
    decoded, original = out[0][0], windows[0][0]
    assert decoded.shape == original.shape and np.std(decoded[1]) > 2 * np.std(decoded[0])
    with_codec = _windows_levels(roundtrip_windows(windows, tiny_level_codec))  # the codec's default
    assert with_codec == _windows_levels(out)
    fixed = roundtrip_windows(windows, tiny_level_codec, preprocessing=tiny_level_codec.preprocessing)
    assert _windows_levels(fixed) == [200e-6] * len(concat.datasets)


def _windows_levels(concat_ds) -> list:
    return [ds.transform.coding.preprocessing.clip for ds in concat_ds.datasets]
