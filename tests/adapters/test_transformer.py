"""Tests of the scikit-learn transformers (mne_dac.adapters.transformer)."""

from __future__ import annotations

import pickle
from contextlib import nullcontext

import mne
import numpy as np
import pytest
from mne.decoding import Vectorizer
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from mne_dac import load_codec
from mne_dac.adapters.transformer import DACRoundTrip, DACTokenizer

SFREQ = 256.0
N_TIMES = 512  # 2 s: 2 codec frames at 512 Hz

# parametrize_with_checks needs its estimators when the module is collected, before
# any fixture exists: build the same tiny codec as conftest's ``tiny_codec`` here.
_CHECK_CODEC = load_codec(
    "random",
    n_codebooks=4,
    codebook_size=256,
    dac_kwargs=dict(encoder_dim=4, decoder_dim=16),
    device="cpu",
    verbose=False,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _expected_failed_checks(estimator) -> dict[str, str]:
    return {
        "check_estimators_overwrite_params": (
            "compares joblib.hash of the parameters before and after fit, and joblib's hash "
            "of a torch tensor is not content-based (two equal state dicts hash "
            "differently), so it cannot see that fit leaves the DACCodec unchanged"
        ),
    }


@pytest.mark.filterwarnings("ignore:The median absolute EEG value:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:Clipped .* samples:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:.*flat channel:RuntimeWarning")
@parametrize_with_checks(
    [
        DACTokenizer(codec=_CHECK_CODEC, sfreq=512.0, device="cpu"),
        DACRoundTrip(codec=_CHECK_CODEC, sfreq=512.0, device="cpu"),
    ],
    expected_failed_checks=_expected_failed_checks,
    xfail_strict=True,
)
def test_sklearn_compliance(estimator, check):
    """The transformers pass scikit-learn's estimator checks."""
    check(estimator)


def _eeg(rng: np.random.Generator, n_epochs: int = 20, n_channels: int = 3):
    """EEG-like epochs in Volts: class 1 has 10 Hz alpha, class 0 does not."""
    times = np.arange(N_TIMES) / SFREQ
    y = np.arange(n_epochs) % 2
    X = 1e-5 * rng.standard_normal((n_epochs, n_channels, N_TIMES))
    phase = rng.uniform(0, 2 * np.pi, (n_epochs, n_channels, 1))
    X += 2e-5 * y[:, None, None] * np.sin(2 * np.pi * 10 * times + phase)
    return X, y


def _epochs(X: np.ndarray) -> mne.EpochsArray:
    info = mne.create_info([f"EEG{i}" for i in range(X.shape[1])], SFREQ, "eeg")
    return mne.EpochsArray(X, info, verbose=False)


def test_tokens(tiny_codec, rng):
    """Tokens have shape (n_epochs, n_channels, n_codebooks, n_frames)."""
    X, _ = _eeg(rng, n_epochs=4)
    tok = DACTokenizer(tiny_codec, sfreq=SFREQ)
    tokens = tok.fit_transform(X)
    assert tokens.dtype == np.int64
    assert tokens.shape == (4, 3, tiny_codec.n_codebooks, 2)
    assert tokens.min() >= 0 and tokens.max() < tiny_codec.codebook_size
    assert (tok.sfreq_, tok.n_channels_, tok.n_times_) == (SFREQ, 3, N_TIMES)
    assert (tok.n_features_in_, tok.n_codebooks_, tok.n_frames_) == (3, 4, 2)
    # one epoch at a time gives the same tokens as the batched call
    np.testing.assert_array_equal(tok.transform(X[2:3]), tokens[2:3])
    # fewer codebooks: the first ones of the residual quantizer
    fewer = DACTokenizer(tiny_codec, n_codebooks=2, sfreq=SFREQ).fit_transform(X)
    assert fewer.shape == (4, 3, 2, 2)
    np.testing.assert_array_equal(fewer, tokens[:, :, :2])
    # 2D input is one channel per epoch
    tokens_2d = DACTokenizer(tiny_codec, sfreq=SFREQ).fit_transform(X[:, 1])
    np.testing.assert_array_equal(tokens_2d, tokens[:, 1:2])


def test_epochs_input(tiny_codec, rng):
    """mne.Epochs give the same result as their data with sfreq, at their rate."""
    X, _ = _eeg(rng, n_epochs=3)
    epochs = _epochs(X)
    tok = DACTokenizer(tiny_codec).fit(epochs)
    assert tok.sfreq_ == SFREQ
    from_epochs = tok.transform(epochs)
    from_array = DACTokenizer(tiny_codec, sfreq=SFREQ).fit_transform(X)
    np.testing.assert_array_equal(from_epochs, from_array)
    np.testing.assert_array_equal(tok.transform(X), from_epochs)  # arrays at sfreq_
    rt = DACRoundTrip(tiny_codec).fit(epochs)
    from_array = DACRoundTrip(tiny_codec, sfreq=SFREQ).fit_transform(X)
    np.testing.assert_allclose(rt.transform(epochs), from_array)
    # other channel types are coded too, with a warning
    with_eog = epochs.copy().set_channel_types({"EEG2": "eog"})
    with pytest.warns(RuntimeWarning, match=r"type\(s\) \['eog'\]"):
        DACTokenizer(tiny_codec).fit(with_eog)
    with pytest.raises(ValueError, match="sampled at"):
        DACTokenizer(tiny_codec, sfreq=2 * SFREQ).fit(epochs)
    with pytest.raises(ValueError, match="fitted on data at"):
        tok.transform(epochs.copy().resample(2 * SFREQ))


def test_inverse_transform(tiny_codec, rng):
    """Tokens decode to Volts of the input's shape; DACRoundTrip does both at once."""
    X, _ = _eeg(rng, n_epochs=4)
    tok = DACTokenizer(tiny_codec, sfreq=SFREQ).fit(X)
    tokens = tok.transform(X)
    X_hat = tok.inverse_transform(tokens)
    assert X_hat.shape == X.shape and X_hat.dtype == np.float64
    # Volts: EEG scale, not the codec's [-1, 1]
    assert 0 < np.abs(X_hat).max() <= 2 * tiny_codec.preprocessing.clip
    np.testing.assert_allclose(DACRoundTrip(tiny_codec, sfreq=SFREQ).fit_transform(X), X_hat)
    # with fewer codebooks than coded
    assert tok.inverse_transform(tokens[:, :, :1]).shape == X.shape
    # 2D in, 2D out
    tok_2d = DACTokenizer(tiny_codec, sfreq=SFREQ).fit(X[:, 0])
    assert tok_2d.inverse_transform(tok_2d.transform(X[:, 0])).shape == (4, N_TIMES)
    assert DACRoundTrip(tiny_codec, sfreq=SFREQ).fit_transform(X[:, 0]).shape == (4, N_TIMES)
    with pytest.raises(ValueError, match="shape"):
        tok.inverse_transform(tokens[0])
    with pytest.raises(ValueError, match="fitted on 3 channels"):
        tok.inverse_transform(tokens[:, :2])
    with pytest.raises(TypeError, match="integers"):
        tok.inverse_transform(tokens.astype(float))


def test_pipeline(tiny_codec, rng):
    """DACRoundTrip fits and scores in a pipeline, across clones (cross-validation)."""
    X, y = _eeg(rng)
    clf = make_pipeline(
        DACRoundTrip(tiny_codec, n_codebooks=2, sfreq=SFREQ, device="cpu"),
        Vectorizer(),
        LogisticRegression(),
    )
    scores = cross_val_score(clf, X, y, cv=StratifiedKFold(2))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    clf.fit(X, y)
    assert 0 <= clf.score(X, y) <= 1
    assert clf.predict(_epochs(X)).shape == (len(y),)  # Epochs at predict time
    # tokens flattened as features work too
    clf = make_pipeline(DACTokenizer(tiny_codec, sfreq=SFREQ), Vectorizer(), LogisticRegression())
    assert 0 <= clf.fit(X, y).score(X, y) <= 1


def test_cross_val_score_on_epochs(tiny_codec, rng):
    """scikit-learn's splitters hand a list of one-epoch Epochs: they are joined back."""
    X, y = _eeg(rng)
    epochs = _epochs(X)
    clf = make_pipeline(DACTokenizer(tiny_codec, output="embeddings"), Vectorizer(), LogisticRegression())
    scores = cross_val_score(clf, epochs, y, cv=StratifiedKFold(2))
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))
    tok = DACTokenizer(tiny_codec).fit(epochs)
    np.testing.assert_array_equal(tok.transform([epochs[i] for i in range(len(epochs))]), tok.transform(epochs))


def test_embeddings(tiny_codec, rng):
    """Embeddings are the quantized latent of the tokens: the sum of their codebook vectors."""
    from mne_dac.models.token_model import codebook_vectors

    X, _ = _eeg(rng, n_epochs=2)
    tokens = DACTokenizer(tiny_codec, sfreq=SFREQ, n_codebooks=2).fit_transform(X)
    emb_tok = DACTokenizer(tiny_codec, sfreq=SFREQ, n_codebooks=2, output="embeddings").fit(X)
    emb = emb_tok.transform(X)
    vectors = codebook_vectors(tiny_codec, 2).numpy()
    assert emb.dtype == np.float32 and emb.shape == (*tokens.shape[:2], vectors.shape[-1], tokens.shape[-1])
    e, c, f = 1, 2, 0
    np.testing.assert_allclose(
        emb[e, c, :, f], vectors[0, tokens[e, c, 0, f]] + vectors[1, tokens[e, c, 1, f]], rtol=1e-6
    )
    with pytest.raises(ValueError, match="output='tokens'"):
        emb_tok.inverse_transform(tokens)
    with pytest.raises(ValueError, match="output"):
        DACTokenizer(tiny_codec, sfreq=SFREQ, output="ids").fit(X)


def test_clone_params(tiny_codec, tiny_codec_file, rng):
    """clone shares a DACCodec parameter; get_params/set_params; codec from a file."""
    rt = DACRoundTrip(tiny_codec, n_codebooks=2, sfreq=SFREQ)
    params = rt.get_params()
    assert set(params) == {
        "codec",
        "n_codebooks",
        "sfreq",
        "device",
        "batch_size",
        "preprocessing",
        "ch_names",
        "groups",
        "grouping",
    }
    assert params["codec"] is tiny_codec and params["batch_size"] == 16
    X, _ = _eeg(rng, n_epochs=2)
    rt.fit(X)
    new = clone(rt)
    assert new.codec is tiny_codec and new.get_params() == params
    assert not hasattr(new, "codec_")
    assert new.set_params(n_codebooks=3) is new
    assert new.fit(X).n_codebooks_ == 3 and rt.n_codebooks_ == 2
    # a fitted transformer pickles
    again = pickle.loads(pickle.dumps(rt))
    np.testing.assert_allclose(again.transform(X), rt.transform(X))
    # a batch size other than the codec's: a shallow copy, the parameter is untouched
    tok = DACTokenizer(tiny_codec, sfreq=SFREQ, batch_size=3).fit(X)
    assert tok.codec_ is not tiny_codec and tok.codec_.model is tiny_codec.model
    assert tok.codec_.batch_size == 3 and tiny_codec.batch_size == 16
    # the codec as a file: loaded at fit, same tokens
    from_file = DACTokenizer(str(tiny_codec_file), sfreq=SFREQ, device="cpu")
    np.testing.assert_array_equal(
        clone(from_file).fit_transform(X), DACTokenizer(tiny_codec, sfreq=SFREQ).fit_transform(X)
    )


def test_errors(tiny_codec, rng):
    """Clear errors for missing sfreq, non-finite data and mismatched shapes."""
    X, _ = _eeg(rng, n_epochs=2)
    with pytest.raises(ValueError, match="needs the sampling rate"):
        DACTokenizer(tiny_codec).fit(X)
    tok = DACTokenizer(tiny_codec, sfreq=SFREQ)
    with pytest.raises(NotFittedError):
        tok.transform(X)
    tok.fit(X)
    bad = X.copy()
    bad[0, 1, 10] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        tok.transform(bad)
    bad[0, 1, 10] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        DACRoundTrip(tiny_codec, sfreq=SFREQ).fit(bad)
    with pytest.raises(ValueError, match="X has 2 channels, but DACTokenizer was fitted on 3"):
        tok.transform(X[:, :2])
    with pytest.raises(ValueError, match="time samples"):
        tok.transform(X[:, :, :-1])
    with pytest.raises(ValueError, match="dimensions"):
        DACRoundTrip(tiny_codec, sfreq=SFREQ).fit(X[:, 0]).transform(X[:, :1])
    with pytest.raises(ValueError, match="n_codebooks must be between"):
        DACTokenizer(tiny_codec, n_codebooks=5, sfreq=SFREQ).fit(X)
    with pytest.raises(TypeError, match="n_codebooks"):
        DACTokenizer(tiny_codec, n_codebooks=1.5, sfreq=SFREQ).fit(X)
    with pytest.raises(TypeError, match="codec"):
        DACTokenizer(codec=3, sfreq=SFREQ).fit(X)
    with pytest.raises(ValueError, match="sfreq must be positive"):
        DACTokenizer(tiny_codec, sfreq=-1.0).fit(X)
    with pytest.raises(ValueError, match="the codec given is on cpu"):
        DACTokenizer(tiny_codec, sfreq=SFREQ, device="cuda").fit(X)


def test_clip_at_level(shipped_codec, excerpt_raw):
    """``preprocessing="clip-at-level"``: fit learns the clip level of the epochs' level (eegmat's: the codec's own),
    so EEG thirty times as loud round-trips as well as the original (with the fixed ±200 µV it clips); pickled
    and cloned as any parameter; an unknown string is refused."""
    from mne_dac.signal.metrics import prd

    epochs = mne.make_fixed_length_epochs(excerpt_raw.copy().pick("eeg"), duration=4.0, preload=True, verbose=False)
    X = epochs.get_data()
    errors = {}
    fixed = shipped_codec.preprocessing  # the paper's ±200 µV
    for factor, preprocessing in ((1, "clip-at-level"), (30, "clip-at-level"), (30, fixed)):
        loud = factor * X
        trip = DACRoundTrip(shipped_codec, sfreq=epochs.info["sfreq"], preprocessing=preprocessing).fit(loud)
        assert trip.preprocessing_.clip == (200e-6 if factor == 1 or preprocessing is fixed else
                                            pytest.approx(factor * 200e-6, rel=0.5))  # fmt: skip
        with pytest.warns(RuntimeWarning, match="Clipped") if preprocessing is fixed else nullcontext():
            decoded = trip.transform(loud)
        errors[factor, str(preprocessing)] = prd(*(np.ravel(x - x.mean(-1, keepdims=True)) for x in (loud, decoded)))
    at_level = errors[1, "clip-at-level"]
    assert abs(errors[30, "clip-at-level"] - at_level) < 2 < errors[30, str(fixed)] - at_level, errors
    tokenizer = pickle.loads(pickle.dumps(DACTokenizer(shipped_codec, preprocessing="clip-at-level").fit(epochs)))
    assert clone(tokenizer).preprocessing == "clip-at-level" and tokenizer.preprocessing_.clip == 200e-6
    with pytest.raises(ValueError, match="Invalid value for the 'preprocessing' parameter"):
        DACTokenizer(shipped_codec, preprocessing="at-level").fit(epochs)


def test_channel_levels(shipped_codec, excerpt_raw):
    """``preprocessing="channel-levels"``: fit learns a clip level per channel, so that channels a fifth, once and
    thirty times as loud in the same epochs round-trip as well as at their own level (with the fixed ±200 µV the
    loud one clips and the quiet one loses its detail)."""
    from mne_dac.signal.metrics import prd

    epochs = mne.make_fixed_length_epochs(excerpt_raw.copy().pick(["Fz", "Cz", "Pz"]), duration=4.0, preload=True,
                                          verbose=False)  # fmt: skip
    X = epochs.get_data()
    mixed = X * np.array([0.2, 1.0, 30.0])[:, None]
    errors, levels = {}, {}
    for name, data, preprocessing in (("level", X, "channel-levels"), ("mixed", mixed, "channel-levels"),
                                      ("fixed", mixed, shipped_codec.preprocessing)):  # fmt: skip
        trip = DACRoundTrip(shipped_codec, sfreq=epochs.info["sfreq"], preprocessing=preprocessing).fit(data)
        with pytest.warns(RuntimeWarning, match="Clipped") if name == "fixed" else nullcontext():
            decoded = trip.transform(data)
        centred = [x - x.mean(-1, keepdims=True) for x in (data, decoded)]
        errors[name] = [prd(*(np.ravel(x[:, c]) for x in centred)) for c in range(3)]
        levels[name] = trip.preprocessing_.clip
    assert levels["mixed"] == pytest.approx(np.multiply(levels["level"], [0.2, 1.0, 30.0]), rel=0.01)
    np.testing.assert_allclose(errors["mixed"], errors["level"], atol=2)
    assert errors["fixed"][0] > errors["level"][0] + 2 and errors["fixed"][2] > errors["level"][2] + 2, errors


def test_codec_levels_by_default(tiny_codec, tiny_level_codec, excerpt_raw):
    """A codec fitted at each channel's level: DACTokenizer's default is ``"channel-levels"``; a codec without it
    keeps its fixed clip level."""
    epochs = mne.make_fixed_length_epochs(excerpt_raw.copy().pick(["Fz", "Cz", "Pz"]), duration=4.0, preload=True,
                                          verbose=False)  # fmt: skip
    X = epochs.get_data() * np.array([0.2, 1.0, 30.0])[:, None]
    sfreq = epochs.info["sfreq"]
    levels = DACTokenizer(tiny_codec, sfreq=sfreq, preprocessing="channel-levels").fit(X).preprocessing_
    assert DACTokenizer(tiny_level_codec, sfreq=sfreq).fit(X).preprocessing_ == levels
    assert DACTokenizer(tiny_codec, sfreq=sfreq).fit(X).preprocessing_ == tiny_codec.preprocessing
