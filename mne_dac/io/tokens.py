"""The tokens of a recording: codes plus everything needed to rebuild it."""

from __future__ import annotations

from dataclasses import dataclass, field

import mne
import numpy as np

from mne_dac.codecs.codec import CodecIdentity
from mne_dac.io.band_gains import BAND_EDGES, MAX_GAIN_STEP, gain_bits
from mne_dac.io.block_format import block_frames_for, sample_bounds
from mne_dac.signal.groups import ChannelGroups
from mne_dac.signal.preprocessing import PreprocessingSettings
from mne_dac.utils._deprecation import renamed_attribute


@dataclass
class EEGTokens:
    """DAC tokens of an EEG recording, with what :func:`~mne_dac.reconstruct_raw` needs.

    Attributes
    ----------
    codes : array of int64, shape (n_streams, n_codebooks, n_frames)
        Codebook indices of the coded (EEG) channels: one stream per channel
        (DAC-SC, and DAC-MC in the ``"channel"`` layout) or per group of channels
        (DAC-MC in the ``"group"`` layout, in the order of ``groups``).
    ch_names : list of str
        Names of the coded channels, in the order of ``codes``.
    sfreq : float
        Original sampling rate.
    n_times : int
        Original number of samples.
    codec : CodecIdentity
        The codec that made the codes.
    codec_sfreq : float
        Rate at which the codec saw the signals.
    hop_length : int
        Codec samples per frame.
    codebook_size : int
        Entries per codebook.
    preprocessing : PreprocessingSettings
        High-pass and clip level used.
    clip_counts : array of int, shape (n_channels,)
        Samples clipped per coded channel (at the codec rate).
    info : mne.Info
        Measurement info of the original recording (all channels, montage included).
    first_samp : int
        ``raw.first_samp`` of the original.
    annotations : mne.Annotations
        Annotations of the original.
    other_data : array, shape (n_other, n_times)
        Channels that were not coded (not EEG: stim, ECG, …), kept losslessly.
    other_ch_names : list of str
        Names of the rows of ``other_data``.
    groups : ChannelGroups | None
        DAC-MC only: the channel groups that were coded jointly.
    positions : array, shape (n_channels, 3) | None
        DAC-MC only: the electrode positions the codec was given (head frame, metres).
    coded_bits_per_second : float | None
        Bits per second per channel that the tokens took in the file they were read from
        (entropy-coded), next to the nominal :attr:`bits_per_second`; ``None`` when not read
        from a file.
    band_gains : array of int64, shape (n_blocks, n_channels, 4) | None
        For each 16-s block (:attr:`block_bounds`) and coded channel, the stored gain of its δ, θ, α and β
        power (:mod:`mne_dac.io.band_gains`: ``2 ** (step / 16)``), which :func:`~mne_dac.reconstruct_raw`
        applies when it decodes every codebook: each band keeps at least 0.9 of the original's power.
        ``None``: the codec's decode alone (``restore_bands=False``, tokens of a time range, or a
        recording so short that the gains would take more than a twentieth of the bits).
    """

    codes: np.ndarray
    ch_names: list[str]
    sfreq: float
    n_times: int
    codec: CodecIdentity
    codec_sfreq: float
    hop_length: int
    codebook_size: int
    preprocessing: PreprocessingSettings
    clip_counts: np.ndarray
    info: mne.Info
    first_samp: int = 0
    annotations: mne.Annotations | None = None
    other_data: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    other_ch_names: list[str] = field(default_factory=list)
    groups: ChannelGroups | None = None
    positions: np.ndarray | None = None
    coded_bits_per_second: float | None = None
    band_gains: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.codes = np.asarray(self.codes, dtype=np.int64)
        if (self.groups is None) != (self.codec.architecture != "dac-mc"):
            raise ValueError("groups must be given for tokens of a DAC-MC codec, and only for them")
        if self.groups is not None:
            self.groups.check_partition(self.ch_names)
            self.positions = np.asarray(self.positions, dtype=float)
            if self.positions.shape != (len(self.ch_names), 3):
                raise ValueError(f"positions must have shape ({len(self.ch_names)}, 3), got {self.positions.shape}")
        n_streams = self.groups.n_groups if self.layout == "group" else len(self.ch_names)
        if self.codes.ndim != 3 or self.codes.shape[0] != n_streams:
            what = "n_groups" if self.layout == "group" else "n_channels"
            raise ValueError(
                f"codes must have shape ({what}={n_streams}, n_codebooks, n_frames), got {self.codes.shape}"
            )
        self.preprocessing.levels(self.n_channels)  # one clip level for all, or one per channel
        if self.other_data.size == 0:
            self.other_data = np.zeros((0, self.n_times))
        if self.band_gains is not None:
            steps = np.asarray(self.band_gains)
            shape = (len(self.block_bounds) - 1, self.n_channels, len(BAND_EDGES) - 1)
            if steps.shape != shape or steps.dtype.kind not in "iu" or np.any((steps < 0) | (steps > MAX_GAIN_STEP)):
                raise ValueError(f"band_gains must be None or integers from 0 to {MAX_GAIN_STEP} of shape {shape} "
                                 f"(n_blocks, n_channels, n_bands), got {steps.dtype} of shape {steps.shape}")  # fmt: skip
            self.band_gains = steps.astype(np.int64)

    @property
    def layout(self) -> str:
        """``"channel"`` (a token stream per channel) or ``"group"`` (per group, DAC-MC)."""
        return self.codec.config.get("mc", {}).get("layout", "channel")

    @property
    def n_channels(self) -> int:
        """Number of coded channels."""
        return len(self.ch_names)

    @property
    def n_codebooks(self) -> int:
        """Number of codebooks kept."""
        return self.codes.shape[1]

    @property
    def codes_shape(self) -> tuple[int, int, int]:
        """``(n_streams, n_codebooks, n_frames)``."""
        return tuple(self.codes.shape)

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.codes.shape[2]

    @property
    def block_bounds(self) -> list[int]:
        """First sample (original rate) of each 16-s block of frames, as in a file, and :attr:`n_times` at the end."""
        block_frames = block_frames_for(self.codec_sfreq / self.hop_length)
        fields = {"sfreq": self.sfreq, "codec_sfreq": self.codec_sfreq, "hop_length": self.hop_length,
                  "n_times": self.n_times, "block_frames": block_frames}  # fmt: skip
        return sample_bounds(fields, -(-self.n_frames // block_frames))

    @property
    def duration(self) -> float:
        """Duration of the recording in seconds."""
        return self.n_times / self.sfreq

    @property
    def bits_per_code(self) -> int:
        """Bits per code, ``ceil(log2(codebook_size))``."""
        return max(1, int(np.ceil(np.log2(self.codebook_size))))

    @property
    def bits_per_second(self) -> float:
        """Bits per second per coded channel (group streams shared by their channels)."""
        per_stream = self.n_codebooks * self.bits_per_code * self.codec_sfreq / self.hop_length
        return per_stream * self.codes.shape[0] / self.n_channels

    bitrate = renamed_attribute("bits_per_second")

    @property
    def band_gain_bits(self) -> int:
        """Bits that the band gains take beside the codes (0 without), as a file stores them."""
        return 0 if self.band_gains is None else len(self.band_gains) * gain_bits(self.n_channels, BAND_EDGES)

    @property
    def band_gain_bits_per_second(self) -> float:
        """:attr:`band_gain_bits` per second and coded channel."""
        return self.band_gain_bits / self.duration / self.n_channels

    @property
    def n_bits(self) -> int:
        """Bits taken by the codes."""
        return self.codes.size * self.bits_per_code

    @property
    def compression_ratio(self) -> float:
        """Size of the coded channels as 16-bit samples at the original rate over ``n_bits``."""
        return 16 * self.n_channels * self.n_times / self.n_bits

    def __repr__(self) -> str:
        groups = f" in {self.groups.n_groups} groups" if self.groups is not None else ""
        return (
            f"<EEGTokens | {self.n_channels} channels{groups}, {self.codes.shape[0]} streams × {self.n_codebooks} codebooks × "
            f"{self.n_frames} frames, {self.duration:.1f} s, {self.bits_per_second:g} bits/s/channel"
            + ("" if self.coded_bits_per_second is None else f" ({self.coded_bits_per_second:.1f} in the file)")
            + ("" if self.band_gains is None else ", band gains")
            + f", codec {self.codec.describe()}>"
        )
