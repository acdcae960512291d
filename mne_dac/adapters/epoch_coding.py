"""Volts ↔ codes for epochs of one montage: the pipeline the scikit-learn transformers and the
Braindecode windows share, for DAC-SC and DAC-MC codecs alike."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from mne.utils import use_log_level

from mne_dac.codecs.codec import DACCodec
from mne_dac.signal.preprocessing import PreprocessingSettings, from_codec_domain, n_codec_samples, to_codec_domain
from mne_dac.utils._json import jsonable

if TYPE_CHECKING:  # pragma: no cover
    from mne_dac.signal.groups import ChannelGroups


@dataclass(frozen=True)
class EpochCoding:
    """How epochs of one montage are coded: the codec, its depth, the preprocessing and the channels.

    Build it with :meth:`create`, which asks the codec for the groups and electrode positions it
    needs (none for DAC-SC).

    Attributes
    ----------
    codec : DACCodec | DACMCCodec
        The codec.
    sfreq : float
        Sampling rate of the epochs.
    n_codebooks : int | None
        Codebooks to encode with (``None``: all).
    preprocessing : PreprocessingSettings
        The preprocessing.
    ch_names : list of str | None
        Channel names (required by DAC-MC codecs).
    groups : ChannelGroups | None
        DAC-MC channel groups.
    positions : array, shape (n_channels, 3) | None
        DAC-MC electrode positions.
    """

    codec: DACCodec
    sfreq: float
    n_codebooks: int | None
    preprocessing: PreprocessingSettings
    ch_names: list[str] | None = None
    groups: ChannelGroups | None = None
    positions: np.ndarray | None = None

    @classmethod
    def create(
        cls,
        codec: DACCodec,
        sfreq: float,
        n_codebooks: int | None,
        preprocessing: PreprocessingSettings,
        ch_names: list[str] | None = None,
        groups: Any = None,
        montage: Any = None,
    ) -> EpochCoding:
        """Resolve the codec's channel groups and positions for ``ch_names``."""
        codec.check_n_codebooks(n_codebooks)
        ch_names = None if ch_names is None else [str(n) for n in ch_names]
        groups = codec.channel_groups(ch_names, groups, montage=montage)
        positions = codec.channel_positions(ch_names, montage)
        return cls(codec, float(sfreq), n_codebooks, preprocessing, ch_names, groups, positions)

    def fingerprint(self) -> str:
        """SHA-256 of everything that determines the codes: the codec (configuration and weights),
        depth, preprocessing, rate and channels."""
        parts = [
            self.codec.identity.to_dict(),
            self.n_codebooks,
            self.preprocessing.to_dict(),
            self.sfreq,
            self.ch_names,
            None if self.groups is None else self.groups.to_dict(),
            None if self.positions is None else np.asarray(self.positions).round(9).tolist(),
        ]
        return hashlib.sha256(json.dumps(jsonable(parts), sort_keys=True).encode()).hexdigest()

    @property
    def _channels(self) -> dict:
        return dict(ch_names=self.ch_names, groups=self.groups, positions=self.positions)

    def n_streams(self, n_channels: int) -> int:
        """Token streams per epoch of ``n_channels`` channels."""
        return self.codec.n_streams(n_channels, self.groups)

    def _rows(self, n_epochs: int, n_channels: int) -> PreprocessingSettings:
        """The preprocessing of epochs as rows, epoch by epoch and channel by channel (a clip level per channel
        repeated for each epoch)."""
        self.preprocessing.levels(n_channels)  # one level for all, or one per channel
        return self.preprocessing.pick(np.tile(np.arange(n_channels), n_epochs))

    def encode(self, data: np.ndarray) -> np.ndarray:
        """Code epochs in Volts, shape ``(n_epochs, n_channels, n_times)``, into codes of shape
        ``(n_epochs, n_streams, n_codebooks, n_frames)``."""
        n_epochs, n_channels, n_times = data.shape
        names = self.ch_names or [f"channel {c}" for c in range(n_channels)]
        labels = [f"epoch {e} {name}" for e in range(n_epochs) for name in names]
        with use_log_level("warning"):  # no per-epoch info messages
            codec_input = to_codec_domain(data.reshape(n_epochs * n_channels, n_times), self.sfreq,
                                          self.codec.sfreq, self._rows(n_epochs, n_channels), labels)  # fmt: skip
        signals = codec_input.data.reshape(n_epochs, n_channels, -1)
        return self.codec.encode_epochs(signals, self.n_codebooks, **self._channels)

    def decode(self, codes: np.ndarray, n_times: int) -> np.ndarray:
        """Decode codes of shape ``(n_epochs, n_streams, n_codebooks, n_frames)`` into epochs in
        Volts of ``n_times`` samples at ``sfreq``, shape ``(n_epochs, n_channels, n_times)``."""
        n_samples = n_codec_samples(n_times, self.sfreq, self.codec.sfreq)
        decoded = self.codec.decode_epochs(codes, n_samples=n_samples, **self._channels)
        n_epochs, n_channels = decoded.shape[:2]
        volts = from_codec_domain(decoded.reshape(n_epochs * n_channels, -1), self.codec.sfreq, self.sfreq, n_times,
                                  self._rows(n_epochs, n_channels))  # fmt: skip
        return volts.reshape(n_epochs, n_channels, n_times)
