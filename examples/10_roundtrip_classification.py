"""
.. _ex-roundtrip-classification:

=====================================================
What does a classifier keep after compression?
=====================================================

:class:`mne_dac.DACRoundTrip` replaces each epoch by its codec reconstruction, same
shape and units, inside a scikit-learn pipeline. Comparing the score of a pipeline with
and without it measures what a downstream classifier keeps after compression, at each
bitrate.

The task: rest versus mental arithmetic on the eegmat excerpt shipped with mne-dac
(2 subjects), with log band powers and a logistic regression, trained on one subject
and tested on the other.
"""

# %%
import os

import mne
import numpy as np
from mne.decoding import PSDEstimator, Vectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import LeaveOneGroupOut, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

import mne_dac
from mne_dac.evaluation.datasets import read_excerpt

mne.set_log_level("error")
fast = os.environ.get("MNE_DAC_FAST") == "1"  # the test suite runs a shorter version

# %%
# Epochs of 4 s from the rest and arithmetic recordings of both subjects.
X, y, groups = [], [], []
for subject in (0, 1):
    for label, task in enumerate(("rest", "arithmetic")):
        raw = read_excerpt(subject, task).pick("eeg")
        if fast:
            raw.crop(0, 12)
        epochs = mne.make_fixed_length_epochs(raw, duration=4.0, preload=True)
        X.append(epochs.get_data())
        y += [label] * len(epochs)
        groups += [subject] * len(epochs)
X, y, groups = np.concatenate(X), np.array(y), np.array(groups)
sfreq = raw.info["sfreq"]
print(f"{len(X)} epochs of {X.shape[1]} channels × {X.shape[2]} samples")

# %%
# The same features and classifier, with or without the codec round trip.
codec = mne_dac.load_codec("default", device="cpu")


def features():
    return [
        PSDEstimator(sfreq=sfreq, fmin=1.0, fmax=40.0),
        FunctionTransformer(np.log),
        Vectorizer(),
        StandardScaler(),
        LogisticRegression(max_iter=1000),
    ]


cv = LeaveOneGroupOut()
results = {"original": make_pipeline(*features())}
for n_q in (1, 2, codec.n_codebooks):
    results[f"{n_q} codebooks"] = make_pipeline(
        mne_dac.DACRoundTrip(codec=codec, n_codebooks=n_q, sfreq=sfreq), *features()
    )
for name, pipe in results.items():
    scores = cross_val_score(pipe, X, y, groups=groups, cv=cv, scoring="balanced_accuracy")
    rate = "" if name == "original" else f" ({codec.bits_per_second(int(name.split()[0])):g} bits/s/ch)"
    print(f"{name:>12}{rate}: balanced accuracy {scores.mean():.2f} (folds {np.round(scores, 2)})")

# %%
# Tokens for foundation models
# ----------------------------
# :class:`mne_dac.DACTokenizer` gives the integer tokens instead, shaped
# ``(n_epochs, n_channels, n_codebooks, n_frames)``, and inverts them.
tokenizer = mne_dac.DACTokenizer(codec=codec, sfreq=sfreq)
tokens = tokenizer.fit_transform(X[:4])
print("tokens:", tokens.shape, tokens.dtype)
print("reconstruction:", tokenizer.inverse_transform(tokens).shape)
