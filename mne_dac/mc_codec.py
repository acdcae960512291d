"""DAC-MC codec: groups of channels coded jointly, behind the interface of :class:`DACCodec`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ._docs import fill_doc
from .codec import DACCodec, _batches, _chunks, _jsonable, _progress

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from .groups import ChannelGroups


@fill_doc
class DACMCCodec(DACCodec):
    """DAC-MC: a :class:`~mne_dac.mc_model.DACMC` model coding EEG by groups of channels.

    Channels are partitioned into groups (:func:`mne_dac.groups.make_groups`); each
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
    name, preprocessing, batch_size, chunk_frames, mixed_precision
        As in :class:`DACCodec`.
    %(device)s

    Notes
    -----
    Codes have shape ``(n_channels, n_codebooks, n_frames)`` in the ``"channel"``
    layout (one stream per channel, as DAC-SC) and ``(n_groups, n_codebooks,
    n_frames)`` in the ``"group"`` layout (one stream per group, in the order of the
    :class:`~mne_dac.groups.ChannelGroups`): a group of ``k`` channels then costs
    ``1/k`` of the bits per channel. :meth:`bitrate` is per token stream;
    :attr:`EEGTokens.bitrate <mne_dac.EEGTokens.bitrate>` is per channel.
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
            :class:`~mne_dac.mc_model.DACMC` arguments (``layout``, ``n_layers``…).

        Returns
        -------
        codec : DACMCCodec
            The DAC-MC codec, same rate, preprocessing and device.
        """
        from .mc_model import DACMC
        from .training import clone_model

        if isinstance(codec, DACMCCodec):
            raise TypeError("codec is already a DAC-MC codec")
        model = DACMC(clone_model(codec.model), **mc_kwargs)
        settings = dict(codec._settings(), name=f"{codec.name}-mc")
        return cls(model, codec.sfreq, grouping=grouping, group_size=group_size, **settings)

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
            mc=_jsonable(self.model.mc_config()),
            grouping=self.grouping,
            group_size=self.group_size,
        )
        return cfg

    def __repr__(self) -> str:
        text = super().__repr__().replace("<DACCodec", f"<DACMCCodec ({self.layout} layout, {self.grouping} groups)")
        return text if self.layout == "channel" else text.replace("bits/s/channel", "bits/s per group stream")

    # ------------------------------------------------------------------ groups
    def channel_groups(self, ch_names: list[str], groups: Any = None, *, montage: Any = None) -> ChannelGroups:
        """Partition channels into groups (``None``: the codec's ``grouping``).

        See :func:`mne_dac.groups.make_groups` for what ``groups`` may be.
        """
        from .groups import make_groups

        return make_groups(
            ch_names,
            self.grouping if groups is None else groups,
            k=self.group_size,
            montage=montage,
        )

    def _embeddings(self, positions: np.ndarray, names: list[str]) -> torch.Tensor:
        import torch

        pos = torch.as_tensor(np.asarray(positions), dtype=torch.float32, device=self.device)
        return self.model.channel_embeddings(pos[None], names)

    # ------------------------------------------------------------------ coding
    @fill_doc
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
        """Encode codec-domain signals, group by group.

        Parameters
        ----------
        data : array, shape (n_channels, n_samples)
            Signals at the codec rate in [-1, 1].
        %(n_codebooks)s
        ch_names : list of str
            Channel names of the rows of ``data``.
        groups : ChannelGroups | None
            Partition of ``ch_names`` (see :meth:`channel_groups`; ``None``: the
            codec's default grouping).
        positions : array, shape (n_channels, 3) | None
            Electrode positions (head frame, metres); ``None`` looks the names up in
            the standard 10-05 montage.
        progress : bool
            Show a progress bar.

        Returns
        -------
        codes : array of int64
            ``(n_channels, n_codebooks, n_frames)`` (``"channel"`` layout) or
            ``(n_groups, n_codebooks, n_frames)`` (``"group"`` layout).
        """
        import torch

        n_q = self._check_n_codebooks(n_codebooks)
        data = np.asarray(data, dtype=np.float32)
        if data.ndim != 2:
            raise ValueError(f"data must have shape (n_channels, n_samples), got {data.shape}")
        ch_names, groups, positions = self._check_channels(data.shape[0], ch_names, groups, positions)
        n_samples = data.shape[1]
        n_frames = self.n_frames(n_samples)
        hop = self.hop_length
        signal = torch.zeros(data.shape[0], n_frames * hop)
        signal[:, :n_samples] = torch.from_numpy(data)
        n_streams = len(ch_names) if self.layout == "channel" else groups.n_groups
        codes = np.empty((n_streams, n_q, n_frames), dtype=np.int64)
        chunks = _chunks(1, n_frames, self.chunk_frames, self._encoder_context)
        with (
            torch.inference_mode(),
            self._autocast(),
            _progress(len(chunks) * groups.n_groups, progress, "Encoding") as bar,
        ):
            for g, idx in enumerate(groups.indices(ch_names)):
                emb = self._embeddings(positions[idx], [ch_names[i] for i in idx])
                for batch in _batches(chunks, self.batch_size):
                    x = torch.stack([signal[idx, c.lo * hop : c.hi * hop] for c in batch]).to(self.device)
                    c_out = self.model.encode(x, emb.expand(len(batch), -1, -1), n_q).codes
                    c_out = c_out[..., :n_q, :].cpu().numpy()
                    for c, cc in zip(batch, c_out):
                        span = cc[..., c.start - c.lo : c.stop - c.lo]
                        if self.layout == "channel":
                            codes[idx, :, c.start : c.stop] = span
                        else:
                            codes[g, :, c.start : c.stop] = span
                    bar.update(len(batch))
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
        """Decode codes into codec-domain signals, group by group.

        Parameters
        ----------
        codes : array of int
            Codes from :meth:`encode`.
        n_codebooks : int | None
            Decode with only the first ``n_codebooks`` codebooks.
        ch_names, groups, positions
            As given to :meth:`encode`.
        n_samples : int | None
            Trim the output to this many samples.
        progress : bool
            Show a progress bar.

        Returns
        -------
        data : array of float32, shape (n_channels, n_samples)
            Signals at the codec rate, rows in ``ch_names`` order.
        """
        import torch

        codes = np.asarray(codes)
        n_channels = len(ch_names) if ch_names is not None else (codes.shape[0] if codes.ndim == 3 else 0)
        ch_names, groups, positions = self._check_channels(n_channels, ch_names, groups, positions)
        n_streams = len(ch_names) if self.layout == "channel" else groups.n_groups
        n_q = self._check_codes(codes, n_codebooks, n_streams, "n_channels" if self.layout == "channel" else "n_groups")
        n_frames = codes.shape[2]
        hop = self.hop_length
        out = np.empty((len(ch_names), n_frames * hop), dtype=np.float32)
        codes_t = torch.from_numpy(np.ascontiguousarray(codes[:, :n_q], dtype=np.int64))
        chunks = _chunks(1, n_frames, self.chunk_frames, self._decoder_context)
        with (
            torch.inference_mode(),
            self._autocast(),
            _progress(len(chunks) * groups.n_groups, progress, "Decoding") as bar,
        ):
            for g, idx in enumerate(groups.indices(ch_names)):
                emb = self._embeddings(positions[idx], [ch_names[i] for i in idx])
                stream = codes_t[idx] if self.layout == "channel" else codes_t[g]
                for batch in _batches(chunks, self.batch_size):
                    c_in = torch.stack([stream[..., c.lo : c.hi] for c in batch]).to(self.device)
                    z = self.model.from_codes(c_in)
                    y = self.model.decode(z, emb.expand(len(batch), -1, -1)).float().cpu().numpy()
                    for c, yy in zip(batch, y):
                        out[idx, c.start * hop : c.stop * hop] = yy[:, (c.start - c.lo) * hop : (c.stop - c.lo) * hop]
                    bar.update(len(batch))
        return out if n_samples is None else out[:, :n_samples]

    def _check_channels(
        self,
        n_channels: int,
        ch_names: list[str] | None,
        groups: ChannelGroups | None,
        positions: Any,
    ) -> tuple[list[str], ChannelGroups, np.ndarray]:
        from .channels import channel_positions
        from .groups import ChannelGroups

        if ch_names is None:
            raise ValueError("A DAC-MC codec needs the channel names (ch_names=) to form groups and place electrodes.")
        ch_names = [str(n) for n in ch_names]
        if len(ch_names) != n_channels:
            raise ValueError(f"Got {len(ch_names)} channel names for {n_channels} channels.")
        if groups is None:
            groups = self.channel_groups(ch_names)
        if not isinstance(groups, ChannelGroups):
            raise TypeError(f"groups must be a ChannelGroups (see channel_groups), got {type(groups).__name__}")
        groups.check_partition(ch_names)
        positions = channel_positions(ch_names) if positions is None else np.asarray(positions, dtype=float)
        if positions.shape != (n_channels, 3):
            raise ValueError(f"positions must have shape ({n_channels}, 3), got {positions.shape}")
        return ch_names, groups, positions

    # ------------------------------------------------------------------ saving
    def _settings(self) -> dict:
        return dict(super()._settings(), grouping=self.grouping, group_size=self.group_size)

    def _weights_and_config(self) -> dict:
        state = super()._weights_and_config()
        state.update(
            mc_kwargs=self.model.mc_config(),
            grouping=self.grouping,
            group_size=self.group_size,
        )
        return state

    def __setstate__(self, state: dict) -> None:
        """Rebuild the model from :meth:`__getstate__`'s weights and settings."""
        from .loading import _model_from_state

        state = dict(state)
        model = _model_from_state(state.pop("dac_kwargs"), state.pop("state_dict"), state.pop("mc_kwargs"))
        self.__init__(model, state.pop("sfreq"), **state)
