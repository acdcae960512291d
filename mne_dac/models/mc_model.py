"""DAC-MC: DAC with self-attention across a group's channels and channel-conditioned decoding."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import torch
from mne.utils import _check_option
from torch import nn

from mne_dac.models.quantizer import latents_from_codes

with warnings.catch_warnings():  # braindecode's model zoo warns about MNE montage names on import
    warnings.simplefilter("ignore", FutureWarning)
    from braindecode.models.base import EEGModuleMixin

#: Token layouts of DAC-MC.
LAYOUTS = ("channel", "group")
#: How the ``"group"`` layout pools a group's latents into one.
POOLINGS = ("mean", "slots")


@dataclass
class QuantizedGroup:
    """What :meth:`DACMC.encode` returns for a batch of channel groups.

    Attributes
    ----------
    z : tensor
        Quantized latents, ``(batch, n_chans, latent_dim, n_frames)`` or
        ``(batch, latent_dim, n_frames)`` (``"group"`` layout).
    codes : tensor
        ``(batch, n_chans, n_codebooks, n_frames)`` or ``(batch, n_codebooks, n_frames)``.
    latents : tensor
        Each codebook's projected input (DAC's ``latents``), ``(n_streams,
        n_codebooks * codebook_dim, n_frames)`` with streams flattened.
    commitment_loss, codebook_loss : tensor
        DAC's VQ losses.
    """

    z: torch.Tensor
    codes: torch.Tensor
    latents: torch.Tensor
    commitment_loss: torch.Tensor
    codebook_loss: torch.Tensor


class ChannelEmbedding(nn.Module):
    """Embedding of an electrode from its position on the head.

    The position is reduced to its direction from the head centre, expanded into
    Fourier features ``sin/cos(2^i π u)`` (``i < n_frequencies``) and mapped by a
    two-layer MLP, so any montage gets embeddings, including electrodes never seen
    in training.

    Parameters
    ----------
    dim : int
        Size of the embedding.
    n_frequencies : int
        Number of octaves of Fourier features.
    """

    def __init__(self, dim: int, n_frequencies: int = 4) -> None:
        super().__init__()
        self.register_buffer(
            "frequencies",
            math.pi * 2.0 ** torch.arange(n_frequencies),
            persistent=False,
        )
        n_features = 3 * (1 + 2 * n_frequencies)
        self.mlp = nn.Sequential(nn.Linear(n_features, dim), nn.GELU(), nn.Linear(dim, dim))

    def forward(self, positions: torch.Tensor) -> torch.Tensor:
        """Embed positions of shape ``(..., 3)`` into ``(..., dim)``."""
        u = positions / positions.norm(dim=-1, keepdim=True).clamp_min(1e-9)
        angles = (u[..., None] * self.frequencies).flatten(-2)
        return self.mlp(torch.cat([u, angles.sin(), angles.cos()], dim=-1))


class CrossChannelAttention(nn.Module):
    """Pre-norm transformer layer across the channels of a group, at every frame.

    Channel embeddings are added to the queries and keys only, and the output
    projections start at zero, so that at initialisation the layer is the identity.
    Without positional order over channels, the layer is permutation-equivariant.

    Parameters
    ----------
    dim : int
        Latent size (``dac.DAC.latent_dim``).
    embed_dim : int
        Size of the channel embeddings.
    n_heads : int
        Attention heads.
    """

    def __init__(self, dim: int, embed_dim: int, n_heads: int) -> None:
        super().__init__()
        self.embed = nn.Linear(embed_dim, dim)
        self.norm_attn = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, n_heads, batch_first=True)
        self.norm_ffn = nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))
        for out in (self.attn.out_proj, self.ffn[-1]):
            nn.init.zeros_(out.weight)
            nn.init.zeros_(out.bias)

    def forward(self, z: torch.Tensor, emb: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Mix latents ``(batch, n_chans, dim, n_frames)`` given embeddings ``(batch, n_chans, embed_dim)``.

        ``mask`` ``(batch, n_chans)`` (``True``: a real channel) keeps padding channels
        out of the attention's keys.
        """
        batch, n_chans, dim, n_frames = z.shape
        h = z.permute(0, 3, 1, 2).reshape(batch * n_frames, n_chans, dim)
        e = self.embed(emb).repeat_interleave(n_frames, dim=0)
        padding = None if mask is None else ~mask.repeat_interleave(n_frames, dim=0)
        normed = self.norm_attn(h)
        qk = normed + e
        h = h + self.attn(qk, qk, normed, key_padding_mask=padding, need_weights=False)[0]
        h = h + self.ffn(self.norm_ffn(h))
        return h.reshape(batch, n_frames, n_chans, dim).permute(0, 2, 3, 1)


class FiLM(nn.Module):
    """Feature-wise affine modulation ``h * (1 + γ(s)) + β(s)``, the identity at initialisation."""

    def __init__(self, style_dim: int, n_features: int) -> None:
        super().__init__()
        self.proj = nn.Linear(style_dim, 2 * n_features)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, h: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Modulate ``h`` of shape ``(n, n_features, n_times)`` with ``style`` of shape ``(n, style_dim)``."""
        gamma, beta = self.proj(style).unsqueeze(-1).chunk(2, dim=1)
        return h * (1 + gamma) + beta


class DACMC(EEGModuleMixin, nn.Module):
    """DAC-MC: a DAC codec that codes a group of channels jointly.

    1. Every channel of the group is encoded by DAC's encoder (shared weights).
    2. ``n_layers`` self-attention layers mix the channels at every latent frame;
       channels are identified by embeddings of their electrode positions
       (:class:`ChannelEmbedding`), plus an optional learned per-name embedding.
    3. DAC's residual vector quantizer codes either every channel (``"channel"``
       layout) or one latent per group (``"group"`` layout: one token stream per
       group): the channels' mean (``pooling="mean"``), or each channel projected
       into its own slice of the latent, in the group's order (``pooling="slots"``), so
       that the quantizer codes the group's channels jointly.
    4. DAC's decoder, modulated after each block by :class:`FiLM` layers driven by
       each output channel's style vector (computed from its embedding),
       reconstructs every channel.

    At initialisation the attention and FiLM layers are the identity, so in the
    ``"channel"`` layout DAC-MC reproduces the DAC-SC codec it wraps exactly: an
    audio-pretrained or EEG-trained DAC is a valid starting point.

    Parameters
    ----------
    dac_model : dac.DAC
        The DAC model whose encoder, quantizer and decoder are used (and trained).
    layout : ``"channel"`` | ``"group"``
        Token layout: one token stream per channel, or one per group (with ``k``
        channels, ``1/k`` of the bits per channel).
    pooling : ``"mean"`` | ``"slots"``
        ``"group"`` layout: how a group's latents become one. ``"slots"`` gives each
        of ``n_slots`` channels ``latent_dim / n_slots`` dimensions (a learned projection
        of its latent, and one back before decoding), so groups hold at most ``n_slots``
        channels; the projections start as the truncation to the first dimensions.
    n_slots : int
        ``pooling="slots"``: channels per group at most (must divide ``latent_dim``).
    n_layers : int
        Cross-channel attention layers.
    n_heads : int
        Attention heads (must divide ``dac_model.latent_dim``).
    embed_dim : int
        Size of the channel embeddings and style vectors.
    name_embedding : bool
        Add a learned embedding per electrode name (standard 10-05 names; other
        names share one "unknown" entry), initialised at zero.
    channel_conditioning : bool
        Condition the decoder on the channel's style vector. ``False`` is
        single-channel decoding: every channel's tokens are decoded by DAC's decoder
        alone (``"channel"`` layout only), the paper's fallback, for comparison.
    n_chans, chs_info, n_times, sfreq, input_window_seconds
        As in Braindecode models; ``chs_info`` (``info["chs"]``) supplies the
        default channel positions of :meth:`forward`.

    Notes
    -----
    Shapes: input ``(batch, n_chans, n_times)``; codes ``(batch, n_chans,
    n_codebooks, n_frames)`` in the ``"channel"`` layout and ``(batch, n_codebooks,
    n_frames)`` in the ``"group"`` layout, with ``n_frames = ceil(n_times /
    hop_length)``.
    """

    #: Braindecode appends notes on Hugging Face Hub classifiers to model docstrings; not for a codec.
    _HUB_NOTES_TEMPLATE = ""

    def __init__(
        self,
        dac_model: nn.Module,
        *,
        layout: str = "channel",
        pooling: str = "mean",
        n_slots: int = 4,
        n_layers: int = 1,
        n_heads: int = 4,
        embed_dim: int = 64,
        name_embedding: bool = False,
        channel_conditioning: bool = True,
        n_chans: int | None = None,
        chs_info: list[dict] | None = None,
        n_times: int | None = None,
        sfreq: float | None = None,
        input_window_seconds: float | None = None,
    ) -> None:
        _check_option("layout", layout, LAYOUTS)
        _check_option("pooling", pooling, POOLINGS)
        latent = int(dac_model.latent_dim)
        if pooling == "slots" and layout != "group":
            raise ValueError("pooling='slots' pools a group's channels into one token stream: it needs layout='group'.")
        if pooling == "slots" and (int(n_slots) < 1 or latent % int(n_slots)):
            raise ValueError(f"n_slots must be a positive divisor of the latent size {latent}, got {n_slots}")
        if not channel_conditioning and layout == "group":
            raise ValueError(
                "Single-channel decoding (channel_conditioning=False) needs layout='channel': "
                "in the 'group' layout, unconditioned decoding gives every channel the same signal."
            )
        super().__init__(
            n_outputs=None,
            n_chans=n_chans,
            chs_info=chs_info,
            n_times=n_times,
            sfreq=sfreq,
            input_window_seconds=input_window_seconds,
        )
        self.dac = dac_model
        self.layout = layout
        self.pooling = pooling
        self.n_slots = int(n_slots)
        self.n_layers = int(n_layers)
        self.n_heads = int(n_heads)
        self.embed_dim = int(embed_dim)
        self.name_embedding = bool(name_embedding)
        self.channel_conditioning = bool(channel_conditioning)
        self.channel_embedding = ChannelEmbedding(embed_dim)
        if name_embedding:
            from mne_dac.signal.channels import _builtin_positions

            names = ("",) + tuple(_builtin_positions(None))  # upper-case standard 10-05 names
            self._name_index = {n: i for i, n in enumerate(names)}
            self.name_table = nn.Embedding(len(names), embed_dim)
            nn.init.zeros_(self.name_table.weight)
        self.attention = nn.ModuleList(CrossChannelAttention(latent, embed_dim, n_heads) for _ in range(n_layers))
        if pooling == "slots":
            slot_dim = latent // self.n_slots
            self.slot_in = nn.Conv1d(latent, slot_dim, 1)
            self.slot_out = nn.Conv1d(slot_dim, latent, 1)
            with torch.no_grad():  # the truncation to the first slot_dim dimensions, and back
                self.slot_in.weight.copy_(torch.eye(slot_dim, latent)[..., None])
                self.slot_out.weight.copy_(torch.eye(latent, slot_dim)[..., None])
                self.slot_in.bias.zero_()
                self.slot_out.bias.zero_()
        if channel_conditioning:
            self.style = nn.Sequential(
                nn.Linear(embed_dim, embed_dim),
                nn.GELU(),
                nn.Linear(embed_dim, embed_dim),
            )
            self.film = nn.ModuleList(FiLM(embed_dim, n) for n in _decoder_stage_widths(dac_model))

    # ------------------------------------------------------------------ DAC's attributes
    @property
    def hop_length(self) -> int:
        """Samples per frame."""
        return int(self.dac.hop_length)

    @property
    def n_codebooks(self) -> int:
        """Residual codebooks."""
        return int(self.dac.n_codebooks)

    @property
    def codebook_size(self) -> int:
        """Entries per codebook."""
        return int(self.dac.codebook_size)

    @property
    def encoder(self) -> nn.Module:
        """DAC's encoder (shared by all channels)."""
        return self.dac.encoder

    @property
    def decoder(self) -> nn.Module:
        """DAC's decoder (without the FiLM layers)."""
        return self.dac.decoder

    @property
    def quantizer(self) -> nn.Module:
        """DAC's residual vector quantizer."""
        return self.dac.quantizer

    @property
    def max_group_size(self) -> int | None:
        """Most channels a group may hold (``n_slots`` with ``pooling="slots"``), or ``None``: any number."""
        return self.n_slots if self.pooling == "slots" else None

    def mc_config(self) -> dict:
        """The arguments that rebuild the DAC-MC layers around a DAC model.

        The slots appear only with ``pooling="slots"``: the configuration of a mean-pooling model,
        part of its codec's identity, stays that of the codecs made before slots existed.
        """
        slots = dict(pooling=self.pooling, n_slots=self.n_slots) if self.pooling == "slots" else {}
        return dict(
            layout=self.layout,
            **slots,
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            embed_dim=self.embed_dim,
            name_embedding=self.name_embedding,
            channel_conditioning=self.channel_conditioning,
        )

    # ------------------------------------------------------------------ channels
    def channel_embeddings(self, positions: torch.Tensor, ch_names: list[str] | None = None) -> torch.Tensor:
        """Embeddings ``(batch, n_chans, embed_dim)`` of positions ``(batch, n_chans, 3)``; the names default to
        ``chs_info``'s."""
        emb = self.channel_embedding(positions)
        if ch_names is None and self._chs_info is not None:
            ch_names = [ch["ch_name"] for ch in self.chs_info]
        if self.name_embedding:
            if ch_names is None:
                raise ValueError("This DAC-MC has a per-name embedding: pass ch_names.")
            from mne_dac.signal.channels import electrode_name

            ids = [self._name_index.get(electrode_name(n).upper(), 0) for n in ch_names]
            emb = emb + self.name_table(torch.as_tensor(ids, device=emb.device))
        return emb

    def _default_positions(self, batch: int, n_chans: int, device: torch.device) -> torch.Tensor:
        if self._chs_info is None:
            raise ValueError("Pass positions (batch, n_chans, 3), or build the model with chs_info.")
        from mne_dac.signal.channels import channel_positions

        pos = channel_positions([ch["ch_name"] for ch in self.chs_info])
        if len(pos) != n_chans:
            raise ValueError(f"The input has {n_chans} channels but chs_info describes {len(pos)}.")
        return torch.as_tensor(pos, dtype=torch.float32, device=device).expand(batch, -1, -1)

    # ------------------------------------------------------------------ coding
    def encode(
        self,
        x: torch.Tensor,
        emb: torch.Tensor,
        n_quantizers: int | None = None,
        mask: torch.Tensor | None = None,
    ) -> QuantizedGroup:
        """Encode and quantize a group.

        Parameters
        ----------
        x : tensor, shape (batch, n_chans, n_samples)
            Signals, ``n_samples`` a multiple of ``hop_length``.
        emb : tensor, shape (batch, n_chans, embed_dim)
            Channel embeddings (:meth:`channel_embeddings`).
        n_quantizers : int | None
            Codebooks to use (``None``: all, or quantizer dropout in training).
        mask : tensor of bool, shape (batch, n_chans) | None
            ``True`` for real channels, ``False`` for padding (groups of unequal
            sizes in one batch): padding is ignored by the attention and by the
            ``"group"`` mean. ``None``: all channels are real.

        Returns
        -------
        quantized : QuantizedGroup
            Quantized latents, codes, DAC's latents and VQ losses.
        """
        batch, n_chans, n_samples = x.shape
        z = self.dac.encoder(x.reshape(batch * n_chans, 1, n_samples))
        z = z.reshape(batch, n_chans, *z.shape[1:])
        for layer in self.attention:
            z = layer(z, emb, mask)
        if self.pooling == "slots":
            z = self._to_slots(z, mask)
        elif self.layout == "group" and mask is not None:
            weights = mask.to(z.dtype)[..., None, None]
            z = (z * weights).sum(dim=1) / weights.sum(dim=1)
        elif self.layout == "group":
            z = z.mean(dim=1)
        else:
            z = z.flatten(0, 1)
        zq, codes, latents, commitment, codebook = self.dac.quantizer(z, n_quantizers)
        if self.layout == "channel":
            zq = zq.reshape(batch, n_chans, *zq.shape[1:])
            codes = codes.reshape(batch, n_chans, *codes.shape[1:])
        return QuantizedGroup(zq, codes, latents, commitment, codebook)

    def from_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """Quantized latents of codes (either layout, see :meth:`encode`)."""
        if self.layout == "group":
            return latents_from_codes(self.dac.quantizer, codes)
        batch, n_chans = codes.shape[:2]
        z = latents_from_codes(self.dac.quantizer, codes.flatten(0, 1))
        return z.reshape(batch, n_chans, *z.shape[1:])

    def decode(self, z: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        """Decode quantized latents into ``(batch, n_chans, n_samples)`` for the channels of ``emb``."""
        batch, n_chans = emb.shape[:2]
        if self.pooling == "slots":
            z = self._from_slots(z, n_chans)
        elif self.layout == "group":
            z = z[:, None].expand(-1, n_chans, -1, -1)
        h = z.flatten(0, 1)
        if not self.channel_conditioning:
            return self.dac.decoder(h).reshape(batch, n_chans, -1)
        style = self.style(emb).flatten(0, 1)
        stages = list(self.dac.decoder.model)
        film = iter(self.film)
        for layer in stages[: len(self.film)]:
            h = next(film)(layer(h), style)
        for layer in stages[len(self.film) :]:
            h = layer(h)
        return h.reshape(batch, n_chans, -1)

    def _to_slots(self, z: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        """Latents ``(batch, n_chans, latent_dim, n_frames)`` into one ``(batch, latent_dim, n_frames)``, channel
        ``i`` in slot ``i``; slots of padding or missing channels are zero."""
        batch, n_chans, _, n_frames = z.shape
        if n_chans > self.n_slots:
            raise ValueError(f"This DAC-MC codes groups of at most {self.n_slots} channels, got a group of {n_chans}.")
        h = self.slot_in(z.flatten(0, 1)).reshape(batch, n_chans, -1, n_frames)
        if mask is not None:
            h = h * mask.to(h.dtype)[..., None, None]
        return nn.functional.pad(h, (0, 0, 0, 0, 0, self.n_slots - n_chans)).flatten(1, 2)

    def _from_slots(self, z: torch.Tensor, n_chans: int) -> torch.Tensor:
        """The latents ``(batch, n_chans, latent_dim, n_frames)`` of the first ``n_chans`` slots of ``z``."""
        batch, _, n_frames = z.shape
        h = z.reshape(batch, self.n_slots, -1, n_frames)[:, :n_chans].flatten(0, 1)
        return self.slot_out(h).reshape(batch, n_chans, -1, n_frames)

    def forward(
        self,
        x: torch.Tensor,
        positions: torch.Tensor | None = None,
        ch_names: list[str] | None = None,
        n_quantizers: int | None = None,
        mask: torch.Tensor | None = None,
    ) -> dict[str, Any]:
        """Code and reconstruct a batch of channel groups.

        Parameters
        ----------
        x : tensor, shape (batch, n_chans, n_times)
            Codec-domain signals.
        positions : tensor, shape (batch, n_chans, 3) | None
            Electrode positions (head frame, metres). ``None``: from ``chs_info``.
        ch_names : list of str | None
            Channel names (needed with ``name_embedding``).
        n_quantizers : int | None
            Codebooks to use.
        mask : tensor of bool, shape (batch, n_chans) | None
            Real channels (``True``) and padding (``False``), see :meth:`encode`;
            the output of padding channels is meaningless.

        Returns
        -------
        out : dict
            As ``dac.DAC.forward``: ``"audio"`` ``(batch, n_chans, n_times)``,
            ``"z"``, ``"codes"``, ``"latents"``, ``"vq/commitment_loss"``,
            ``"vq/codebook_loss"``.
        """
        batch, n_chans, n_times = x.shape
        if positions is None:
            positions = self._default_positions(batch, n_chans, x.device)
        emb = self.channel_embeddings(positions.to(x.dtype), ch_names)
        pad = -n_times % self.hop_length
        q = self.encode(nn.functional.pad(x, (0, pad)), emb, n_quantizers, mask)
        y = self.decode(q.z, emb)[..., :n_times]
        return {
            "audio": y,
            "z": q.z,
            "codes": q.codes,
            "latents": q.latents,
            "vq/commitment_loss": q.commitment_loss,
            "vq/codebook_loss": q.codebook_loss,
        }


def _decoder_stage_widths(dac_model: nn.Module) -> list[int]:
    """Output widths of the decoder's first convolution and of each upsampling block."""
    stages = list(dac_model.decoder.model)
    widths = []
    h = torch.zeros(1, int(dac_model.latent_dim), 1)
    with torch.no_grad():
        for layer in stages:
            name = type(layer).__name__
            if name not in ("Conv1d", "DecoderBlock", "ParametrizedConv1d") or (widths and name != "DecoderBlock"):
                break
            h = layer(h)
            widths.append(int(h.shape[1]))
    return widths
