"""A classifier that reads DAC tokens directly, as a Braindecode model."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

with warnings.catch_warnings():  # braindecode's model zoo warns about MNE montage names on import
    warnings.simplefilter("ignore", FutureWarning)
    from braindecode.models.base import EEGModuleMixin


def codebook_vectors(codec: Any, n_codebooks: int | None = None) -> torch.Tensor:
    """The latent vector each code of each codebook adds to the quantized latent.

    DAC's residual quantizer maps code ``j`` of codebook ``i`` to
    ``out_proj_i(codebook_i[j])``; the quantized latent of a frame is the sum of its
    codes' vectors over codebooks.

    Parameters
    ----------
    codec : DACCodec | DACMCCodec
        The codec.
    n_codebooks : int | None
        Number of codebooks (``None``: all of the codec's).

    Returns
    -------
    vectors : tensor, shape (n_codebooks, codebook_size, latent_dim)
        On the CPU.
    """
    n_q = codec.check_n_codebooks(n_codebooks)
    quantizers = codec.dac_model.quantizer.quantizers[:n_q]
    with torch.no_grad():
        out = [q.out_proj(q.codebook.weight.T[None])[0].T for q in quantizers]
    return torch.stack(out).detach().cpu().float()


class _TemporalBlock(nn.Module):
    """Residual block over frames: norm, convolution, GELU, dropout."""

    def __init__(self, dim: int, kernel_size: int, drop_prob: float) -> None:
        super().__init__()
        self.norm = nn.GroupNorm(1, dim)
        self.conv = nn.Conv1d(dim, dim, kernel_size, padding=kernel_size // 2)
        self.drop = nn.Dropout(drop_prob)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Map ``(n, dim, n_frames)`` to the same shape."""
        return h + self.drop(nn.functional.gelu(self.conv(self.norm(h))))


class TokenClassifier(EEGModuleMixin, nn.Module):
    """Classify EEG windows from their DAC tokens.

    1. Each code is embedded by a table per codebook (``codebook_size`` entries of
       size ``code_dim``); embeddings are summed over codebooks, as DAC's residual
       quantizer sums its codebooks' vectors into the quantized latent (with
       :meth:`from_codec` the tables start as the codec's vectors, so the sum is the
       codec's latent).
    2. A linear projection to ``embed_dim``, plus a learned embedding per token
       stream (channel, or group of channels for DAC-MC's ``"group"`` layout).
    3. ``n_layers`` residual temporal convolutions over frames, each stream alone.
    4. Mean pooling over frames and streams, then a linear head.

    Parameters
    ----------
    n_outputs : int
        Number of classes.
    n_chans : int
        Number of token streams: EEG channels (DAC-SC, DAC-MC ``"channel"`` layout)
        or channel groups (DAC-MC ``"group"`` layout).
    chs_info : list of dict | None
        As in Braindecode models (informative).
    n_times : int
        Frames per window.
    sfreq : float | None
        Frames per second (``codec.frame_rate``).
    input_window_seconds : float | None
        Window length in seconds (``n_times / sfreq``).
    n_codebooks : int
        Codebooks in the input (inputs may hold fewer: the first ones are used).
    codebook_size : int
        Entries per codebook.
    code_dim : int | None
        Size of the code embeddings (``None``: ``embed_dim``).
    embed_dim : int
        Size of the features of the temporal blocks.
    n_layers : int
        Temporal blocks.
    kernel_size : int
        Kernel size (frames) of the temporal convolutions; odd.
    drop_prob : float
        Dropout probability.

    Notes
    -----
    Input: integer codes of shape ``(batch, n_chans, n_codebooks, n_times)`` (any
    integer dtype); output: ``(batch, n_outputs)`` logits.
    """

    #: Braindecode appends notes on Hugging Face Hub classifiers to model docstrings; not for this model.
    _HUB_NOTES_TEMPLATE = ""

    def __init__(
        self,
        n_outputs: int | None = None,
        n_chans: int | None = None,
        chs_info: list[dict] | None = None,
        n_times: int | None = None,
        sfreq: float | None = None,
        input_window_seconds: float | None = None,
        *,
        n_codebooks: int = 9,
        codebook_size: int = 1024,
        code_dim: int | None = None,
        embed_dim: int = 64,
        n_layers: int = 2,
        kernel_size: int = 3,
        drop_prob: float = 0.25,
    ) -> None:
        super().__init__(
            n_outputs=n_outputs,
            n_chans=n_chans,
            chs_info=chs_info,
            n_times=n_times,
            sfreq=sfreq,
            input_window_seconds=input_window_seconds,
        )
        if kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be a positive odd number, got {kernel_size}")
        for name, value in {"n_codebooks": n_codebooks, "codebook_size": codebook_size, "embed_dim": embed_dim}.items():
            if int(value) < 1:
                raise ValueError(f"{name} must be positive, got {value}")
        self.n_codebooks = int(n_codebooks)
        self.codebook_size = int(codebook_size)
        self.code_dim = int(embed_dim if code_dim is None else code_dim)
        self.embed_dim = int(embed_dim)
        self.code_embedding = nn.Embedding(self.n_codebooks * self.codebook_size, self.code_dim)
        self.register_buffer("codebook_offsets", torch.arange(self.n_codebooks) * self.codebook_size, persistent=False)
        self.projection = nn.Identity() if self.code_dim == self.embed_dim else nn.Linear(self.code_dim, embed_dim)
        self.stream_embedding = nn.Parameter(torch.zeros(self.n_chans, embed_dim))
        self.norm = nn.LayerNorm(embed_dim)
        self.blocks = nn.Sequential(*(_TemporalBlock(embed_dim, kernel_size, drop_prob) for _ in range(n_layers)))
        self.final_layer = nn.Sequential(nn.Dropout(drop_prob), nn.Linear(embed_dim, self.n_outputs))

    @classmethod
    def from_codec(
        cls,
        codec: Any,
        *,
        n_outputs: int,
        n_chans: int,
        n_times: int,
        n_codebooks: int | None = None,
        freeze_embedding: bool = False,
        **kwargs: Any,
    ) -> TokenClassifier:
        """Build a classifier whose code embeddings are the codec's codebook vectors.

        Parameters
        ----------
        codec : DACCodec | DACMCCodec
            The codec that makes the tokens.
        n_outputs, n_chans, n_times
            Classes, token streams and frames per window (see :class:`TokenClassifier`).
        n_codebooks : int | None
            Codebooks used (``None``: all of the codec's).
        freeze_embedding : bool
            Keep the code embeddings fixed during training.
        **kwargs
            Other :class:`TokenClassifier` arguments (``embed_dim``, ``n_layers``…).

        Returns
        -------
        model : TokenClassifier
            With ``code_dim`` the codec's latent size and ``sfreq`` its frame rate.
        """
        vectors = codebook_vectors(codec, n_codebooks)
        n_q, size, dim = vectors.shape
        model = cls(
            n_outputs=n_outputs,
            n_chans=n_chans,
            n_times=n_times,
            sfreq=codec.frame_rate,
            n_codebooks=n_q,
            codebook_size=size,
            code_dim=dim,
            **kwargs,
        )
        with torch.no_grad():
            model.code_embedding.weight.copy_(vectors.reshape(n_q * size, dim))
        model.code_embedding.weight.requires_grad_(not freeze_embedding)
        return model

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        """Input shape for a batch of one: ``(1, n_chans, n_codebooks, n_times)``."""
        return (1, self.n_chans, self.n_codebooks, self.n_times)

    def get_torchinfo_statistics(
        self,
        col_names: Iterable[str] | None = ("input_size", "output_size", "num_params"),
        row_settings: Iterable[str] | None = ("var_names", "depth"),
    ) -> Any:
        """Layer table (``torchinfo.ModelStatistics``) for a batch of one window of codes."""
        from torchinfo import summary

        x = torch.zeros(self.input_shape, dtype=torch.long, device=self.codebook_offsets.device)
        return summary(self, input_data=x, col_names=col_names, row_settings=row_settings, verbose=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Classify codes of shape ``(batch, n_chans, n_codebooks, n_times)`` into ``(batch, n_outputs)`` logits."""
        if x.ndim != 4 or x.shape[1] != self.n_chans:
            raise ValueError(
                f"Expected codes of shape (batch, n_chans={self.n_chans}, n_codebooks, n_times), got {tuple(x.shape)}"
            )
        batch, n_chans, n_q, _ = x.shape
        if n_q > self.n_codebooks:
            raise ValueError(f"The input has {n_q} codebooks but the model embeds {self.n_codebooks}")
        index = x.long() + self.codebook_offsets[:n_q, None]
        h = self.code_embedding(index).sum(dim=2)  # (batch, n_chans, n_frames, code_dim)
        h = self.norm(self.projection(h) + self.stream_embedding[:, None])
        h = self.blocks(h.flatten(0, 1).transpose(1, 2))  # (batch * n_chans, embed_dim, n_frames)
        return self.final_layer(h.mean(dim=-1).reshape(batch, n_chans, -1).mean(dim=1))
