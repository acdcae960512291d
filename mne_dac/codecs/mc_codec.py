"""DAC-MC codec: groups of channels coded jointly, behind the interface of :class:`DACCodec`."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from mne_dac.codecs.codec import DACCodec, _Chunk
from mne_dac.codecs.config import CodecConfig
from mne_dac.models.dac_model import clone_model
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._json import jsonable

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from mne_dac.signal.groups import ChannelGroups


@fill_doc
class DACMCCodec(DACCodec):
    """DAC-MC: a :class:`~mne_dac.models.mc_model.DACMC` model coding EEG by groups of channels.

    Channels are partitioned into groups (:func:`mne_dac.signal.groups.make_groups`); each
    group is coded jointly, in overlapping time chunks as in :class:`DACCodec` (the
    attention mixes channels frame by frame, so chunking stays exact).

    Parameters
    ----------
    model : DACMC
        The DAC-MC model.
    sfreq : float
        EEG sampling rate the codec works at.
    grouping : str
        Default partition of a montage into groups: ``"pivot"`` (greedy groups of
        ``group_size`` neighbours) or ``"anatomical"`` (10-20 regions).
    group_size : int
        Channels per group for ``grouping="pivot"`` (``k``).
    name, preprocessing, batch_size, chunk_frames, mixed_precision, search
        As in :class:`DACCodec` (``search``: DAC-SC only; must stay 0).
    %(device)s

    Notes
    -----
    Codes have shape ``(n_channels, n_codebooks, n_frames)`` in the ``"channel"``
    layout (one stream per channel, as DAC-SC) and ``(n_groups, n_codebooks,
    n_frames)`` in the ``"group"`` layout (one stream per group, in the order of the
    :class:`~mne_dac.signal.groups.ChannelGroups`): a group of ``k`` channels then costs
    ``1/k`` of the bits per channel. :meth:`bitrate` is per token stream;
    :attr:`EEGTokens.bits_per_second <mne_dac.EEGTokens.bits_per_second>` is per channel.
    """

    architecture = "dac-mc"

    def __init__(
        self,
        model: torch.nn.Module,
        sfreq: float = 512.0,
        *,
        grouping: str = "pivot",
        group_size: int = 4,
        **kwargs: Any,
    ) -> None:
        from mne.utils import _check_option

        _check_option("grouping", grouping, ("pivot", "anatomical"))
        if int(group_size) < 1:
            raise ValueError(f"group_size must be >= 1, got {group_size}")
        super().__init__(model, sfreq, **kwargs)
        if model.max_group_size is not None and int(group_size) > model.max_group_size:
            raise ValueError(f"group_size must be at most {model.max_group_size} (the model's slots), got {group_size}")
        self.grouping = grouping
        self.group_size = int(group_size)

    @classmethod
    def from_codec(
        cls,
        codec: DACCodec,
        *,
        grouping: str = "pivot",
        group_size: int = 4,
        **mc_kwargs: Any,
    ) -> DACMCCodec:
        """Wrap a copy of a DAC-SC codec's model into a new DAC-MC codec.

        In the ``"channel"`` layout the new codec codes exactly as ``codec`` until it
        is trained (its new layers start as the identity).

        Parameters
        ----------
        codec : DACCodec
            The DAC-SC codec (audio-pretrained, EEG-trained or random); left unchanged.
        grouping, group_size
            Default grouping (see :class:`DACMCCodec`).
        **mc_kwargs
            :class:`~mne_dac.models.mc_model.DACMC` arguments (``layout``, ``n_layers``…).

        Returns
        -------
        codec : DACMCCodec
            The DAC-MC codec, same rate, preprocessing, default depth and device (no encoder search).
        """
        from mne_dac.models.mc_model import DACMC

        if isinstance(codec, DACMCCodec):
            raise TypeError("codec is already a DAC-MC codec")
        model = DACMC(clone_model(codec.model), **mc_kwargs)
        return cls(
            model, codec.sfreq, name=f"{codec.name}-mc", preprocessing=codec.preprocessing, grouping=grouping,
            group_size=group_size, default_n_codebooks=codec.default_n_codebooks, channel_levels=codec.channel_levels,
            **{**codec.runtime_options(), "search": 0},
        )  # fmt: skip

    @DACCodec.search.setter
    def search(self, search: int) -> None:
        if search:
            raise ValueError("The encoder search (search > 0) is implemented for DAC-SC codecs only; use 0 with DAC-MC")
        DACCodec.search.fset(self, search)

    @property
    def layout(self) -> str:
        """Token layout, ``"channel"`` or ``"group"``."""
        return self.model.layout

    @property
    def dac_model(self) -> torch.nn.Module:
        """The ``dac.DAC`` model inside the DAC-MC model."""
        return self.model.dac

    @property
    def config(self) -> dict:
        """DAC architecture, DAC-MC layers, grouping and EEG sampling rate."""
        cfg = super().config
        cfg.update(
            mc=jsonable(self.model.mc_config()),
            grouping=self.grouping,
            group_size=self.group_size,
        )
        return cfg

    def __repr__(self) -> str:
        slots = "" if self.model.max_group_size is None else f" of {self.model.max_group_size} slots"
        kind = f"<DACMCCodec ({self.layout} layout{slots}, {self.grouping} groups)"
        text = super().__repr__().replace("<DACCodec", kind)
        return text if self.layout == "channel" else text.replace("bits/s/channel", "bits/s per group stream")

    # ------------------------------------------------------------------ channels
    def channel_groups(
        self, ch_names: list[str] | None, groups: Any = None, *, grouping: str | None = None, montage: Any = None
    ) -> ChannelGroups:
        """Partition channels: ``groups`` (a partition), else ``grouping`` (a method), else the codec's ``grouping``.

        See :func:`mne_dac.signal.groups.make_groups`.
        """
        from mne_dac.signal.groups import group_kwargs, make_groups

        value = groups if groups is not None else grouping if grouping is not None else self.grouping
        # the pipelines carry a method as one value: group_kwargs passes it as grouping=
        return make_groups(
            _required_names(ch_names), **group_kwargs(value), group_size=self.group_size,
            max_size=self.model.max_group_size, montage=montage,
        )  # fmt: skip

    def check_groups(self, groups: Any) -> None:
        """DAC-MC takes groups as a method name, a dict, or :class:`ChannelGroups` (a codec with slots: their sizes
        are checked, or larger groups split, when the channels are known)."""

    def channel_positions(self, ch_names: list[str] | None, montage: Any = None) -> np.ndarray:
        """Electrode positions (head frame, metres) of ``ch_names``, from ``montage`` or the standard 10-05."""
        from mne_dac.signal.channels import channel_positions

        return channel_positions(_required_names(ch_names), montage)

    def n_streams(self, n_channels: int, groups: ChannelGroups | None = None) -> int:
        """Number of token streams: one per channel, or one per group in the ``"group"`` layout."""
        if self.layout == "channel":
            return n_channels
        if groups is None:
            raise ValueError("The number of token streams of the group layout depends on the groups.")
        return groups.n_groups

    def _embeddings(self, positions: np.ndarray, names: list[str]) -> torch.Tensor:
        import torch

        pos = torch.as_tensor(np.asarray(positions), dtype=torch.float32, device=self.device)
        return self.model.channel_embeddings(pos[None], names)

    # ------------------------------------------------------------------ coding
    def encode(
        self,
        data: np.ndarray,
        n_codebooks: int | None = None,
        *,
        ch_names: list[str] | None = None,
        groups: ChannelGroups | None = None,
        positions: np.ndarray | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Encode group by group (see :meth:`DACCodec.encode`)."""
        import torch

        n_q = self.check_n_codebooks(n_codebooks)
        data = self._check_data(data, None)  # the names are checked with the groups
        ch_names, groups, positions = self._check_channels(data.shape[0], ch_names, groups, positions)
        n_samples = data.shape[1]
        n_frames = self.n_frames(n_samples)
        hop = self.hop_length
        signal = torch.zeros(data.shape[0], n_frames * hop)
        signal[:, :n_samples] = torch.from_numpy(data)
        indices = groups.indices(ch_names)
        embeddings = [self._embeddings(positions[idx], [ch_names[i] for i in idx]) for idx in indices]
        codes = np.empty((self.n_streams(len(ch_names), groups), n_q, n_frames), dtype=np.int64)

        def step(batch: list[_Chunk]) -> None:
            g = batch[0].stream
            idx = indices[g]
            x = torch.stack([signal[idx, c.lo * hop : c.hi * hop] for c in batch]).to(self.device)
            c_out = self.model.encode(x, embeddings[g].expand(len(batch), -1, -1), n_q).codes
            for c, cc in zip(batch, c_out[..., :n_q, :].cpu().numpy()):
                codes[idx if self.layout == "channel" else g, :, c.start : c.stop] = cc[
                    ..., c.start - c.lo : c.stop - c.lo
                ]

        self._run_chunked(
            len(indices), n_frames, self.encoder_context, step, desc="Encoding", progress=progress, by_stream=True
        )
        return codes

    def decode(
        self,
        codes: np.ndarray,
        n_codebooks: int | None = None,
        *,
        ch_names: list[str] | None = None,
        groups: ChannelGroups | None = None,
        positions: np.ndarray | None = None,
        n_samples: int | None = None,
        progress: bool = False,
    ) -> np.ndarray:
        """Decode group by group (see :meth:`DACCodec.decode`)."""
        import torch

        codes = np.asarray(codes)
        ch_names, groups, positions = self._check_channels(len(_required_names(ch_names)), ch_names, groups, positions)
        n_streams = self.n_streams(len(ch_names), groups)
        n_q = self._check_codes(codes, n_codebooks, n_streams, "n_channels" if self.layout == "channel" else "n_groups")
        n_frames = codes.shape[2]
        hop = self.hop_length
        out = np.empty((len(ch_names), n_frames * hop), dtype=np.float32)
        codes_t = torch.from_numpy(np.ascontiguousarray(codes[:, :n_q], dtype=np.int64))
        indices = groups.indices(ch_names)
        embeddings = [self._embeddings(positions[idx], [ch_names[i] for i in idx]) for idx in indices]

        def step(batch: list[_Chunk]) -> None:
            g = batch[0].stream
            idx = indices[g]
            stream = codes_t[idx] if self.layout == "channel" else codes_t[g]
            c_in = torch.stack([stream[..., c.lo : c.hi] for c in batch]).to(self.device)
            y = self.model.decode(self.model.from_codes(c_in), embeddings[g].expand(len(batch), -1, -1))
            for c, yy in zip(batch, y.float().cpu().numpy()):
                out[idx, c.start * hop : c.stop * hop] = yy[:, (c.start - c.lo) * hop : (c.stop - c.lo) * hop]

        self._run_chunked(
            len(indices), n_frames, self.decoder_context, step, desc="Decoding", progress=progress, by_stream=True
        )
        return out if n_samples is None else out[:, :n_samples]

    def encode_epochs(self, data: np.ndarray, n_codebooks: int | None = None, **channels: Any) -> np.ndarray:
        """Encode epochs of shape ``(n_epochs, n_channels, n_samples)``, one epoch at a time."""
        return np.stack([self.encode(epoch, n_codebooks, **channels) for epoch in data])

    def decode_epochs(
        self, codes: np.ndarray, n_codebooks: int | None = None, *, n_samples: int | None = None, **channels: Any
    ) -> np.ndarray:
        """Decode codes of shape ``(n_epochs, n_streams, n_codebooks, n_frames)`` into epochs."""
        return np.stack([self.decode(c, n_codebooks, n_samples=n_samples, **channels) for c in codes])

    def _check_channels(
        self,
        n_channels: int,
        ch_names: list[str] | None,
        groups: ChannelGroups | None,
        positions: Any,
    ) -> tuple[list[str], ChannelGroups, np.ndarray]:
        from mne_dac.signal.groups import ChannelGroups, make_groups

        ch_names = _required_names(ch_names)
        if len(ch_names) != n_channels:
            raise ValueError(f"Got {len(ch_names)} channel names for {n_channels} channels.")
        if groups is None:
            groups = self.channel_groups(ch_names)
        if not isinstance(groups, ChannelGroups):
            raise TypeError(f"groups must be a ChannelGroups (see channel_groups), got {type(groups).__name__}")
        make_groups(ch_names, groups, max_size=self.model.max_group_size)  # a partition, and not too large
        positions = self.channel_positions(ch_names) if positions is None else np.asarray(positions, dtype=float)
        if positions.shape != (n_channels, 3):
            raise ValueError(f"positions must have shape ({n_channels}, 3), got {positions.shape}")
        return ch_names, groups, positions

    # ------------------------------------------------------------------ saving
    def get_config(self) -> CodecConfig:
        """The DAC-SC configuration plus the DAC-MC layers and the default grouping."""
        return replace(
            super().get_config(), mc_kwargs=self.model.mc_config(), grouping=self.grouping, group_size=self.group_size
        )


def _required_names(ch_names: list[str] | None) -> list[str]:
    if ch_names is None:
        raise ValueError("A DAC-MC codec needs the channel names (ch_names=) to form groups and place electrodes.")
    return [str(n) for n in ch_names]
