"""Scikit-learn transformers: tokenize epochs, or replace them by their reconstruction.

:class:`DACTokenizer` maps epochs to DAC tokens and back; :class:`DACRoundTrip` maps
epochs to their codec reconstruction (encode, then decode), so that any decoding
pipeline can be evaluated on compressed EEG, e.g.::

    make_pipeline(DACRoundTrip(), Vectorizer(), LogisticRegression())
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from mne import BaseEpochs, EpochsArray
from mne.utils import _check_option, _validate_type
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from mne_dac.adapters.epoch_coding import EpochCoding
from mne_dac.codecs.codec import DACCodec
from mne_dac.codecs.loading import load_codec
from mne_dac.io.raw import CHANNEL_LEVELS, CLIP_AT_LEVEL, channel_rms, codec_scaling, preprocessing_at_rms
from mne_dac.signal.groups import resolve_groups
from mne_dac.signal.preprocessing import PreprocessingSettings, n_codec_samples
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._logging import warn


def _joined_epochs(X: Any) -> Any:
    """One :class:`mne.Epochs` from a list of them (how scikit-learn's splitters index Epochs)."""
    if not isinstance(X, (list, tuple)) or not X or not all(isinstance(e, BaseEpochs) for e in X):
        return X
    first = X[0]
    for epochs in X[1:]:
        if epochs.ch_names != first.ch_names or epochs.info["sfreq"] != first.info["sfreq"]:
            raise ValueError("The Epochs objects of the list have different channels or sampling rates.")
    data = np.concatenate([epochs.get_data(copy=False) for epochs in X])
    return EpochsArray(data, first.info, tmin=first.tmin, verbose=False)


def _same_device(requested: Any, actual: Any) -> bool:
    import torch

    requested, actual = torch.device(requested), torch.device(actual)
    if requested.type != actual.type:
        return False
    return requested.index is None or actual.index is None or requested.index == actual.index


class _DACTransformerBase(TransformerMixin, BaseEstimator):
    """Parameters, validation and coding shared by the DAC transformers."""

    def __init__(
        self,
        codec: Any = "default",
        n_codebooks: int | None = None,
        sfreq: float | None = None,
        device: str | None = None,
        batch_size: int | None = 16,
        preprocessing: PreprocessingSettings | str | None = None,
        ch_names: list[str] | None = None,
        groups: Any = None,
        grouping: str | None = None,
    ) -> None:
        self.codec = codec
        self.n_codebooks = n_codebooks
        self.sfreq = sfreq
        self.device = device
        self.batch_size = batch_size
        self.preprocessing = preprocessing
        self.ch_names = ch_names
        self.groups = groups
        self.grouping = grouping

    # ------------------------------------------------------------------ sklearn API
    def __sklearn_tags__(self):
        """Declare 3D input support and that no target is needed."""
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = False
        tags.target_tags.required = False
        return tags

    def __sklearn_clone__(self) -> _DACTransformerBase:
        """Clone, sharing a :class:`~mne_dac.DACCodec` given as ``codec``.

        The codec is only read (never trained or modified) by the transformer, so
        clones share it instead of copying its weights (as a deep copy would).
        """
        if not isinstance(self.codec, DACCodec):
            return super().__sklearn_clone__()
        proxy = copy.copy(self)  # shallow: leaves ``self`` untouched
        proxy.codec = None
        new = super(_DACTransformerBase, proxy).__sklearn_clone__()
        new.codec = self.codec
        return new

    def fit(self, X: BaseEpochs | np.ndarray, y: np.ndarray | None = None) -> _DACTransformerBase:
        """Check the parameters and the data, and load the codec.

        Parameters
        ----------
        X : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | (n_epochs, n_times)
            EEG epochs in Volts. A 2D array is one channel per epoch. For an array,
            the ``sfreq`` parameter is required.
        y : None | array, shape (n_epochs,)
            Ignored; present for API consistency.

        Returns
        -------
        self : instance of DACTokenizer | DACRoundTrip
            The fitted transformer.
        """
        _validate_type(self.codec, (str, "path-like", DACCodec), "codec")
        _validate_type(self.n_codebooks, ("int-like", None), "n_codebooks")
        _validate_type(self.sfreq, ("numeric", None), "sfreq")
        _validate_type(self.batch_size, ("int-like", None), "batch_size")
        _validate_type(self.preprocessing, (PreprocessingSettings, str, None), "preprocessing")
        if isinstance(self.preprocessing, str):
            _check_option("preprocessing", self.preprocessing, (CLIP_AT_LEVEL, CHANNEL_LEVELS))
        if self.sfreq is not None and not self.sfreq > 0:
            raise ValueError(f"sfreq must be positive, got {self.sfreq}")
        if self.batch_size is not None and self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {self.batch_size}")

        X = _joined_epochs(X)
        data, sfreq = self._check_data(X, fit=True)
        self.sfreq_ = sfreq
        self._fit_ndim = data.ndim
        data = _as_3d(data)
        self.n_channels_, self.n_times_ = data.shape[1:]

        self.codec_ = self._load_codec()
        self.n_codebooks_ = self.codec_.check_n_codebooks(self.n_codebooks)
        scaling = codec_scaling(self.codec_, self.preprocessing)
        if scaling in (CLIP_AT_LEVEL, CHANNEL_LEVELS):
            rms = channel_rms(data, sfreq, self.codec_.preprocessing.highpass)
            self.preprocessing_ = preprocessing_at_rms(self.codec_.preprocessing, rms, scaling == CHANNEL_LEVELS)
        else:
            self.preprocessing_ = scaling
        self.n_frames_ = self.codec_.n_frames(n_codec_samples(self.n_times_, self.sfreq_, self.codec_.sfreq))
        self._fit_channels(X)
        return self

    def _fit_channels(self, X: Any) -> None:
        """The channel names, and the groups and positions the codec needs (DAC-MC)."""
        names = X.ch_names if isinstance(X, BaseEpochs) else self.ch_names
        if names is not None and len(names) != self.n_channels_:
            raise ValueError(f"Got {len(names)} channel names for {self.n_channels_} channels.")
        self._coding = EpochCoding.create(
            self.codec_, self.sfreq_, self.n_codebooks_, self.preprocessing_, names,
            resolve_groups(self.groups, self.grouping),
        )  # fmt: skip
        self.ch_names_ = self._coding.ch_names
        self.groups_ = self._coding.groups
        self.positions_ = self._coding.positions

    # ------------------------------------------------------------------ helpers
    def _load_codec(self) -> DACCodec:
        if not isinstance(self.codec, DACCodec):
            batch_size = 16 if self.batch_size is None else self.batch_size
            return load_codec(self.codec, device=self.device, batch_size=batch_size, verbose=False)
        codec = self.codec
        if self.device is not None and not _same_device(self.device, codec.device):
            raise ValueError(
                f"device={self.device!r} but the codec given is on {codec.device}. Move "
                f"the codec first (codec.to({self.device!r})), or pass device=None, or "
                "pass the codec as a name or path so that it is loaded on that device."
            )
        if self.batch_size is not None and self.batch_size != codec.batch_size:
            codec = copy.copy(codec)  # shallow: shares the model, leaves the parameter as is
            codec.batch_size = int(self.batch_size)
        return codec

    def _check_data(self, X: Any, *, fit: bool = False) -> tuple[np.ndarray, float]:
        """Return X as a float64 array (2D or 3D) and its sampling rate."""
        if isinstance(X, BaseEpochs):
            others = sorted(set(X.get_channel_types()) - {"eeg"})
            if others:
                warn(
                    f"The epochs have channels of type(s) {others}: all channels are coded "
                    "as EEG. Pick the EEG channels first (epochs.pick('eeg')) if this is "
                    "not intended."
                )
            sfreq = float(X.info["sfreq"])
            X = X.get_data(copy=False)
            if fit and self.sfreq is not None and float(self.sfreq) != sfreq:
                raise ValueError(
                    f"sfreq={self.sfreq} but the epochs are sampled at {sfreq} Hz; pass "
                    "sfreq=None to use the epochs' rate."
                )
            if not fit and sfreq != self.sfreq_:
                raise ValueError(
                    f"The epochs are sampled at {sfreq} Hz but {type(self).__name__} was "
                    f"fitted on data at {self.sfreq_} Hz."
                )
        elif fit:
            if self.sfreq is None:
                raise ValueError(
                    f"{type(self).__name__} needs the sampling rate of array data: pass "
                    "sfreq= (in Hz), or pass mne.Epochs, whose info holds it."
                )
            sfreq = float(self.sfreq)
        else:
            sfreq = self.sfreq_
        if not fit:  # clearer messages than validate_data's, for arrays
            shape = getattr(X, "shape", ())
            if len(shape) in (2, 3) and len(shape) != self._fit_ndim:
                raise ValueError(
                    f"X has {len(shape)} dimensions, but {type(self).__name__} was fitted on {self._fit_ndim}D data."
                )
            if len(shape) == 3 and shape[1] != self.n_channels_:
                raise ValueError(
                    f"X has {shape[1]} channels, but {type(self).__name__} was fitted on {self.n_channels_} channels."
                )
        X = validate_data(self, X, dtype=np.float64, allow_nd=True, reset=fit)
        if X.ndim not in (2, 3):
            raise ValueError(f"X must have shape (n_epochs, n_channels, n_times) or (n_epochs, n_times), got {X.shape}")
        if not fit:
            if X.ndim != self._fit_ndim:
                raise ValueError(
                    f"X has {X.ndim} dimensions, but {type(self).__name__} was fitted on {self._fit_ndim}D data."
                )
            if X.shape[-1] != self.n_times_:
                raise ValueError(
                    f"X has {X.shape[-1]} time samples per epoch, but "
                    f"{type(self).__name__} was fitted on {self.n_times_}."
                )
        return X, sfreq

    def _encode(self, data: np.ndarray) -> np.ndarray:
        """Code Volts of shape (n_epochs, n_channels, n_times)."""
        return self._coding.encode(data)

    def _decode(self, tokens: np.ndarray) -> np.ndarray:
        """Decode tokens (n_epochs, n_streams, n_codebooks, n_frames) to Volts."""
        return self._coding.decode(tokens, self.n_times_)


def _fill_notes(cls: type) -> type:
    """Insert the notes shared by the transformers into a class docstring."""
    if cls.__doc__:
        cls.__doc__ = cls.__doc__.replace("{transformer_notes}", _NOTES.rstrip())
    return cls


def _as_3d(data: np.ndarray) -> np.ndarray:
    return data[:, np.newaxis] if data.ndim == 2 else data


_NOTES = """
    The data are preprocessed as in the paper (resampled to the codec rate,
    high-passed, clipped and scaled, see :func:`~mne_dac.signal.preprocessing.to_codec_domain`),
    and all channels of all epochs are coded in one batched codec call.

    :meth:`fit` checks the parameters and the data and loads the codec; it learns nothing
    but, with ``preprocessing="clip-at-level"`` (``"channel-levels"``, the default of a codec
    fitted at each channel's level), the clip level of the fitted epochs' level (of each channel's).
    All epochs must have the number of channels, time samples and sampling rate seen in
    :meth:`fit`. A :class:`~mne_dac.DACCodec` given as ``codec`` is shared,
    not copied, by :func:`sklearn.base.clone` (the codec is only read); pass a name or
    a path to have each fitted estimator load its own.
"""


@_fill_notes
@fill_doc
class DACTokenizer(_DACTransformerBase):
    """Tokenize epochs with a DAC codec (scikit-learn transformer).

    Parameters
    ----------
    %(codec)s
    %(n_codebooks)s
    %(transformer_params)s

    output : ``"tokens"`` | ``"embeddings"``
        What :meth:`transform` returns: the integer codes, or the codec's quantized latent
        (the sum of the codebooks' vectors, DAC's ``z_q``: the decoder's input), continuous
        features that a linear model can use directly.

    Attributes
    ----------
    %(transformer_attrs)s
    n_codebooks_ : int
        Number of codebooks of the tokens.
    n_frames_ : int
        Number of frames of the tokens.
    preprocessing_ : PreprocessingSettings
        The preprocessing applied.

    See Also
    --------
    DACRoundTrip
    mne_dac.tokenize_raw

    Notes
    -----{transformer_notes}
    Tokens are discrete (``int64``): to use them as classifier features, embed them with a
    model (:class:`~mne_dac.models.token_model.TokenClassifier`), or use ``output="embeddings"``
    and flatten them (e.g. with :class:`mne.decoding.Vectorizer`): integer IDs are not
    meaningful to a linear model.
    """

    def __init__(
        self,
        codec: Any = "default",
        n_codebooks: int | None = None,
        sfreq: float | None = None,
        device: str | None = None,
        batch_size: int | None = 16,
        preprocessing: PreprocessingSettings | str | None = None,
        ch_names: list[str] | None = None,
        groups: Any = None,
        grouping: str | None = None,
        output: str = "tokens",
    ) -> None:
        super().__init__(codec, n_codebooks, sfreq, device, batch_size, preprocessing, ch_names, groups, grouping)
        self.output = output

    def fit(self, X: BaseEpochs | np.ndarray, y: np.ndarray | None = None) -> DACTokenizer:
        """Check the parameters and the data, and load the codec (see :class:`DACTokenizer`)."""
        _check_option("output", self.output, ("tokens", "embeddings"))
        super().fit(X, y)
        if self.output == "embeddings":
            from mne_dac.models.token_model import codebook_vectors

            self._vectors = codebook_vectors(self.codec_, self.n_codebooks_).numpy()
        return self

    def __sklearn_tags__(self):
        """Tokens are integers: no float dtype is preserved."""
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags

    def transform(self, X: BaseEpochs | np.ndarray) -> np.ndarray:
        """Encode epochs into tokens.

        Parameters
        ----------
        X : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | (n_epochs, n_times)
            EEG epochs in Volts (a 2D array is one channel per epoch).

        Returns
        -------
        tokens : array of int64, shape (n_epochs, n_channels, n_codebooks, n_frames)
            The codes (``n_channels`` is 1 for 2D input). With ``output="embeddings"``:
            float32 of shape ``(n_epochs, n_channels, latent_dim, n_frames)``.
        """
        check_is_fitted(self, "codec_")
        data, _ = self._check_data(_joined_epochs(X))
        codes = self._encode(_as_3d(data))
        if self.output == "tokens":
            return codes
        latent = sum(self._vectors[q][codes[:, :, q]] for q in range(codes.shape[2]))  # (..., n_frames, dim)
        return np.ascontiguousarray(latent.swapaxes(-1, -2), dtype=np.float32)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Decode tokens into signals in Volts.

        Parameters
        ----------
        X : array of int, shape (n_epochs, n_channels, n_codebooks, n_frames)
            Tokens from :meth:`transform` (possibly with fewer codebooks).

        Returns
        -------
        X : array, shape (n_epochs, n_channels, n_times) | (n_epochs, n_times)
            The reconstruction in Volts at ``sfreq_``, with ``n_times_`` samples; 2D
            when the transformer was fitted on 2D data.
        """
        check_is_fitted(self, "codec_")
        if self.output != "tokens":
            raise ValueError(f"inverse_transform decodes tokens: it needs output='tokens', not {self.output!r}.")
        tokens = np.asarray(X)
        if tokens.ndim != 4:
            raise ValueError(
                f"tokens must have shape (n_epochs, n_channels, n_codebooks, n_frames), got {tokens.shape}"
            )
        if not np.issubdtype(tokens.dtype, np.integer):
            raise TypeError(f"tokens must be integers, got {tokens.dtype}")
        n_streams = self._coding.n_streams(self.n_channels_)
        if tokens.shape[1] != n_streams or tokens.shape[3] != self.n_frames_:
            raise ValueError(
                f"tokens have {tokens.shape[1]} streams and {tokens.shape[3]} frames, but "
                f"{type(self).__name__} was fitted on {self.n_channels_} channels, coded "
                f"in {n_streams} streams of {self.n_frames_} frames."
            )
        out = self._decode(tokens)
        return out[:, 0] if self._fit_ndim == 2 else out


@_fill_notes
@fill_doc
class DACRoundTrip(_DACTransformerBase):
    """Replace epochs by their DAC reconstruction (scikit-learn transformer).

    Encodes then decodes the epochs, so that a decoding pipeline can be trained and
    evaluated on what the codec keeps of the EEG.

    Parameters
    ----------
    %(codec)s
    %(n_codebooks)s
    %(transformer_params)s

    Attributes
    ----------
    %(transformer_attrs)s
    n_codebooks_ : int
        Number of codebooks used.
    n_frames_ : int
        Number of codec frames per epoch.
    preprocessing_ : PreprocessingSettings
        The preprocessing applied.

    See Also
    --------
    DACTokenizer
    mne_dac.adapters.windows.roundtrip_windows

    Notes
    -----{transformer_notes}
    The reconstruction lacks what the preprocessing removes: content below the
    high-pass cutoff and excursions beyond the clip level.

    Examples
    --------
    >>> from mne.decoding import Vectorizer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> clf = make_pipeline(DACRoundTrip(n_codebooks=4), Vectorizer(), LogisticRegression())
    """

    def transform(self, X: BaseEpochs | np.ndarray) -> np.ndarray:
        """Encode then decode epochs.

        Parameters
        ----------
        X : mne.Epochs | array, shape (n_epochs, n_channels, n_times) | (n_epochs, n_times)
            EEG epochs in Volts.

        Returns
        -------
        X_new : array, shape (n_epochs, n_channels, n_times) | (n_epochs, n_times)
            The reconstruction in Volts, with the shape of ``X`` (an array of shape
            ``(n_epochs, n_channels, n_times)`` for :class:`mne.Epochs`).
        """
        check_is_fitted(self, "codec_")
        data, _ = self._check_data(_joined_epochs(X))
        out = self._decode(self._encode(_as_3d(data)))
        return out[:, 0] if data.ndim == 2 else out
