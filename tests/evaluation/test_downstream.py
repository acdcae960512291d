"""Tests of the downstream protocol (mne_dac.evaluation.downstream) on small eegmat and TUAB trees."""

from __future__ import annotations

import warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import pytest
import torch
from braindecode.datasets import BaseConcatDataset
from braindecode.models import BDTCN, Deep4Net, ShallowFBCSPNet
from braindecode.preprocessing import Preprocessor, create_fixed_length_windows
from conftest import make_tiny_codec

from mne_dac import downstream, read_tokens
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.evaluation.corpora import eegmat, standardize_channels, tuab
from mne_dac.evaluation.downstream import (
    RESULT_COLUMNS,
    Condition,
    cache_key,
    crop_recording,
    evaluate_downstream,
    recording_predictions,
    score_recordings,
    summary_markdown,
    summary_table,
    tokenize_dataset,
)
from mne_dac.evaluation.testing import make_eegmat_tree, make_tuab_tree

#: Eight channels spread over the head, to keep coding fast.
CHANNELS = ["Fp1", "F7", "F4", "C3", "Cz", "P4", "P8", "O1"]
PREPARE = [
    Preprocessor(standardize_channels, apply_on_array=False),
    Preprocessor("pick", picks=CHANNELS, apply_on_array=False),
]
#: Fast protocol settings: 3 windows of 4 s per 12 s recording, at 32 Hz.
FAST = {
    "model": "shallow",
    "window_seconds": 4.0,
    "sfreq": 32.0,
    "n_epochs": 1,
    "batch_size": 8,
    "prepare": PREPARE,
    "progress": False,
}


def first_recording(dataset: BaseConcatDataset) -> BaseConcatDataset:
    return BaseConcatDataset(dataset.datasets[:1])


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """Code and train on one thread: much faster on a shared, busy CPU."""
    n_threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n_threads)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Eight eegmat recordings of 12 s: 4 subjects x (rest, arithmetic), 2 subjects held out."""
    root = make_eegmat_tree(tmp_path_factory.mktemp("eegmat"), n_subjects=4, duration=12)
    return eegmat(root, eval_subjects=(15, 23))


@pytest.fixture(scope="module")
def codec():
    return make_tiny_codec()


@pytest.fixture(scope="module")
def mc_codec(codec):
    return DACMCCodec.from_codec(codec, layout="group", group_size=4)


def test_end_to_end(dataset, codec, mc_codec, tmp_path):
    """Original, DAC-SC and DAC-MC reconstructions, cross-evaluation and tokens, two seeds."""
    conditions = {
        "original": None,
        "sc": (codec, 2),
        "mc": (mc_codec, None, "pivot"),
        "tokens": Condition("tokens", codec, 2, kind="tokens"),
        "mc-tokens": Condition("mc-tokens", mc_codec, grouping="pivot", kind="tokens"),
    }
    results = evaluate_downstream(dataset, conditions, seeds=(0, 1), cache_dir=tmp_path, **FAST)
    assert list(results.columns) == list(RESULT_COLUMNS)
    pairs = list(zip(results["train_on"], results["test_on"]))
    expected = [("original", "original"), ("original", "sc"), ("original", "mc"), ("sc", "sc"), ("mc", "mc")]
    expected += [("tokens", "tokens"), ("mc-tokens", "mc-tokens")]
    assert pairs == expected * 2
    assert results["seed"].tolist() == [0] * 7 + [1] * 7
    assert results["balanced_accuracy"].between(0, 1).all()
    assert results["window_balanced_accuracy"].between(0, 1).all()
    assert (results["n_recordings"] == 4).all()
    assert (results["n_windows"] == 12).all()  # the same windows (3 per eval recording) in every condition
    models = dict(zip(results["test_on"], results["model"]))
    assert models["original"] == models["sc"] == "ShallowFBCSPNet"
    assert models["tokens"] == models["mc-tokens"] == "TokenClassifier"
    bitrate = results.drop_duplicates("test_on").set_index("test_on")["bits_per_second"]
    assert np.isnan(bitrate["original"])
    assert bitrate["sc"] == bitrate["tokens"] == 2 * codec.bits_per_code * codec.frame_rate
    n_groups = 2  # 8 channels in pivot groups of 4
    assert bitrate["mc"] == pytest.approx(codec.bits_per_second() * n_groups / len(CHANNELS))
    # tokens were cached once per codec (and grouping), not per depth or condition
    assert len(list(tmp_path.iterdir())) == 2

    summary = summary_table(results)
    assert len(summary) == 7
    assert (summary["n_seeds"] == 2).all()
    expected_mean = results.groupby(["train_on", "test_on"], sort=False)["balanced_accuracy"].mean()
    np.testing.assert_allclose(summary["balanced_accuracy_mean"], expected_mean.to_numpy())
    table = summary_markdown(results)
    lines = table.splitlines()
    assert len(lines) == 2 + 7
    assert lines[0].startswith("| Train on | Test on |")
    assert " ± " in lines[2]


def test_cache_is_reused(dataset, codec, tmp_path):
    """A second run reads the cached tokens: no encoding, files untouched."""
    fnames = tokenize_dataset(dataset, codec, tmp_path, prepare=PREPARE, progress=False)
    assert len(fnames) == len(dataset.datasets)
    assert all(f.is_file() and f.suffix == ".eegdac" for f in fnames)
    assert all(f.is_relative_to(tmp_path / cache_key(codec)) for f in fnames)
    assert fnames[0].name == Path(dataset.description["path"][0]).with_suffix(".eegdac").name
    mtimes = [f.stat().st_mtime_ns for f in fnames]
    with mock.patch.object(downstream, "tokenize_raw", side_effect=AssertionError("encoded again")) as encode:
        results = evaluate_downstream(
            dataset,
            {"sc": (codec, 1), "tokens": Condition("t", codec, kind="tokens")},
            seeds=(0,),
            cache_dir=tmp_path,
            **FAST,
        )
        assert tokenize_dataset(dataset, codec, tmp_path, prepare=PREPARE, progress=False) == fnames
    encode.assert_not_called()
    assert [f.stat().st_mtime_ns for f in fnames] == mtimes
    assert len(results) == 2


def test_resume_after_interruption(dataset, codec, tmp_path):
    """An interrupted run leaves complete files only; the next run codes the rest."""
    real = downstream.tokenize_raw
    calls = []

    def fail_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    with mock.patch.object(downstream, "tokenize_raw", side_effect=fail_third), pytest.raises(KeyboardInterrupt):
        tokenize_dataset(dataset, codec, tmp_path, prepare=PREPARE, progress=False)
    written = sorted(tmp_path.rglob("*.eegdac"))
    assert len(written) == 2
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".eegdac"]  # no partial files
    with mock.patch.object(downstream, "tokenize_raw", wraps=real) as encode:
        fnames = tokenize_dataset(dataset, codec, tmp_path, prepare=PREPARE, progress=False)
    assert encode.call_count == len(dataset.datasets) - 2
    assert all(read_tokens(f, codec).n_channels == len(CHANNELS) for f in fnames)


def test_stale_or_corrupt_cache_is_recoded(dataset, codec, tmp_path):
    fnames = tokenize_dataset(dataset, codec, tmp_path, prepare=PREPARE, progress=False)
    fnames[0].write_bytes(fnames[0].read_bytes()[:-10])  # truncated
    with pytest.warns(RuntimeWarning, match="cannot be read"):
        tokenize_dataset(dataset, codec, tmp_path, prepare=PREPARE, progress=False)
    assert read_tokens(fnames[0], codec).n_times == dataset.datasets[0].raw.n_times
    # another crop: the cached tokens no longer match the recordings
    with pytest.warns(RuntimeWarning, match="length differ"):
        tokenize_dataset(first_recording(dataset), codec, tmp_path, prepare=PREPARE, tmax=8, progress=False)
    assert read_tokens(fnames[0], codec).duration == 8


def test_recording_aggregation():
    """Window probabilities are averaged per recording before the argmax."""
    proba = np.array(
        [
            [0.9, 0.1],  # recording "a" (class 0): windows disagree, mean (0.55, 0.45) -> 0
            [0.2, 0.8],
            [0.4, 0.6],  # recording "b" (class 1): mean (0.45, 0.55) -> 1
            [0.5, 0.5],
            [0.7, 0.3],  # recording "c" (class 1): -> 0
            [0.1, 0.9],  # recording "d" (class 0), one window: -> 1
        ]
    )
    y_true = np.array([0, 0, 1, 1, 1, 0])
    recordings = np.array(["a", "a", "b", "b", "c", "d"])
    per_recording = recording_predictions(proba, y_true, recordings)
    assert per_recording.index.tolist() == ["a", "b", "c", "d"]
    assert per_recording["prediction"].tolist() == [0, 1, 0, 1]
    assert per_recording["target"].tolist() == [0, 1, 1, 0]
    assert per_recording["n_windows"].tolist() == [2, 2, 1, 1]
    scores = score_recordings(proba, y_true, recordings)
    assert scores["balanced_accuracy"] == pytest.approx(0.5)  # recall 1/2 for class 0 and 1/2 for class 1
    # windows: predictions 0, 1, 1, 0, 0, 1 -> recall 1/3 (class 0), 1/3 (class 1)
    assert scores["window_balanced_accuracy"] == pytest.approx(1 / 3)
    assert (scores["n_recordings"], scores["n_windows"]) == (4, 6)
    with pytest.raises(ValueError, match="same target"):
        recording_predictions(proba, np.array([0, 1, 1, 1, 1, 0]), recordings)
    with pytest.raises(ValueError, match="shape"):
        recording_predictions(proba[:, 0], y_true, recordings)


def test_seeds_fix_initialisation_and_shuffling(codec):
    """The same seed gives the same classifier; another seed another one."""
    from mne_dac.models.token_model import TokenClassifier

    rng = np.random.default_rng(0)
    split = downstream._Split(
        rng.integers(0, codec.codebook_size, (16, 3, 2, 4)).astype(np.int16), np.arange(16) % 2, np.arange(16)
    )

    def build():
        return TokenClassifier.from_codec(codec, n_outputs=2, n_chans=3, n_times=4, n_codebooks=2)

    settings = {"lr": 1e-2, "weight_decay": 0.0, "n_epochs": 2, "batch_size": 4, "device": "cpu"}
    first, again, other = (downstream._fit(build, split, seed, **settings).predict_proba(split.X) for seed in (0, 0, 1))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


@pytest.mark.parametrize(
    "name, expected",
    [("deep4", Deep4Net), ("Deep4Net", Deep4Net), ("SHALLOW", ShallowFBCSPNet), ("shallowfbcspnet", ShallowFBCSPNet),
     ("tcn", BDTCN), ("BDTCN", BDTCN), (BDTCN, BDTCN)],
)  # fmt: skip
def test_model_by_name(name, expected):
    model_class, lr, weight_decay = downstream._resolve_model(name)
    assert model_class is expected
    assert lr > 0 and weight_decay >= 0


def test_unknown_model_and_short_windows(dataset, tmp_path):
    with pytest.raises(ValueError, match=r"Unknown model 'eegnet'.*deep4"):
        evaluate_downstream(dataset, {"original": None}, model="eegnet")
    with pytest.raises(ValueError, match="at least 441 samples"):
        downstream._check_window_length(Deep4Net, 19, 200, 100.0)
    downstream._check_window_length(Deep4Net, 19, 441, 100.0)
    with pytest.raises(ValueError, match=r"too short for ShallowFBCSPNet"):
        evaluate_downstream(dataset, {"original": None}, **dict(FAST, window_seconds=1.0))
    with pytest.raises(ValueError, match="shorter than one window"):
        evaluate_downstream(dataset, {"original": None}, **dict(FAST, window_seconds=13.0))


def test_conditions(dataset, codec, mc_codec):
    assert Condition("eeg").kind == "original"
    assert Condition("eeg").depth is None
    sc = Condition("sc", codec, 2)
    assert (sc.kind, sc.depth) == ("reconstruction", 2)
    assert Condition("sc", codec).depth == codec.n_codebooks
    assert Condition("t", codec, kind="tokens").kind == "tokens"
    with pytest.raises(ValueError, match="original EEG"):
        Condition("eeg", n_codebooks=2)
    with pytest.raises(ValueError, match="needs a codec"):
        Condition("t", kind="tokens")
    with pytest.raises(ValueError, match="groups are for DAC-MC"):
        Condition("sc", codec, grouping="pivot")
    with pytest.raises(ValueError, match="n_codebooks must be between"):
        Condition("sc", codec, 99)
    with pytest.raises(ValueError, match="Invalid value for the 'kind'"):
        Condition("x", codec, kind="spectrogram")
    conds = downstream._as_conditions(
        {"a": None, "b": codec, "c": (mc_codec, 1, "anatomical"), "d": Condition("ignored", codec, kind="tokens")}
    )
    assert [(c.name, c.kind, c.groups) for c in conds] == [
        ("a", "original", None),
        ("b", "reconstruction", None),
        ("c", "reconstruction", "anatomical"),
        ("d", "tokens", None),
    ]
    with pytest.raises(ValueError, match="unique"):
        downstream._as_conditions([Condition("a"), Condition("a")])
    with pytest.raises(ValueError, match="cache_dir"):
        evaluate_downstream(dataset, {"sc": codec})  # checked before any data is read


def test_cache_key(codec, mc_codec):
    assert cache_key(codec) == cache_key(make_tiny_codec())  # same weights, same folder
    assert cache_key(codec) != cache_key(make_tiny_codec(seed=1))
    assert cache_key(codec).startswith("random_seed0-dac-sc-")
    keys = {cache_key(mc_codec, g) for g in (None, "pivot", "anatomical", {"a": ["Fp1"], "b": ["O1"]})}
    assert len(keys) == 4
    assert "-pivot-" in cache_key(mc_codec, "pivot")


def test_dataset_checks(dataset, tmp_path):
    description = dataset.description
    with pytest.raises(ValueError, match="'train' and 'eval'"):
        downstream._class_indices(dataset.split("split")["train"])
    assert downstream._class_indices(dataset).tolist() == description["target"].tolist()
    windows = create_fixed_length_windows(first_recording(dataset), window_size_samples=500, on_last_window="drop")
    with pytest.raises(TypeError, match="not windows"):
        downstream._check_dataset(windows)


def test_crop_recording(dataset):
    raw = dataset.datasets[0].raw.copy()
    assert crop_recording(raw.copy(), 2.0, 100.0).n_times == raw.n_times - 2 * raw.info["sfreq"]
    assert crop_recording(raw.copy(), 0.0, 5.0).n_times == 5 * raw.info["sfreq"]
    with pytest.raises(ValueError, match="outside the recording"):
        crop_recording(raw.copy(), 20.0)
    with pytest.raises(ValueError, match="greater than tmin"):
        crop_recording(raw.copy(), 5.0, 4.0)


def test_tuab_tree(tmp_path, codec):
    """The protocol on a generated TUAB tree, with the default channel standardization."""
    root = make_tuab_tree(tmp_path / "tuab", n_per_class=1, duration=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the tree is not the whole corpus
        dataset = tuab(root)
    assert len(dataset.datasets) == 8
    settings = dict(FAST, prepare=None)
    results = evaluate_downstream(
        dataset, {"original": None, "sc": (codec, 1)}, seeds=(0,), cache_dir=tmp_path / "cache", **settings
    )
    assert results["test_on"].tolist() == ["original", "sc", "sc"]
    n_eval = int((dataset.description["split"] == "eval").sum())
    assert (results["n_recordings"] == n_eval).all()
    tokens = read_tokens(next((tmp_path / "cache").rglob("*.eegdac")), codec)
    assert tokens.n_channels == 19 and tokens.ch_names[0] == "Fp1"
    assert isinstance(summary_table(results), pd.DataFrame)


def test_downstream_preprocessors_clip_in_volts():
    from mne_dac.evaluation.downstream import downstream_preprocessors

    (step,) = [p for p in downstream_preprocessors() if p.kwargs.get("clip") is not None]
    assert step.kwargs["clip"] == pytest.approx(800.0)  # µV after scaling: 800e-6 V
    with pytest.warns(FutureWarning, match="in Volts now"):
        (old,) = [p for p in downstream_preprocessors(clip=500) if p.kwargs.get("clip") is not None]
    assert old.kwargs["clip"] == pytest.approx(500.0)
