"""Tests of the scikit-learn transformers (mne_dac.transformer)."""

from __future__ import annotations

import pickle

import mne
import numpy as np
import pytest
from mne.decoding import Vectorizer
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from mne_dac import load_codec
from mne_dac.transformer import DACRoundTrip, DACTokenizer

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


def _expected_failed_checks(estimator) -> dict[str, str]:
    return {
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
)
def test_sklearn_compliance(estimator, check):
    """The transformers pass scikit-learn's estimator checks."""
    check(estimator)
