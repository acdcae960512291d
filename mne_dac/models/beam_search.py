"""DAC's residual quantizer with its first codebooks chosen together by beam search.

DAC's residual quantizer is greedy: codebook ``q`` codes what codebooks ``0 … q-1`` left, each
taking the entry nearest its residual. The pair of entries that leaves the smallest residual is
often not the greedy pair. :class:`BeamResidualVectorQuantize` keeps, codebook after codebook,
the ``beam_width`` partial codes whose residual latent is smallest (a beam search, the M-best
search of multistage vector quantizers) over the first ``beam_codebooks`` codebooks; the later
ones stay greedy. With entries that span the whole latent of a frame
(``benchmarks/linear_code.py --codebook-dim``) it codes the latent with less error at the same
bits.

- Only the encoder changes: codes decode as before, with any reader.
- The first ``beam_codebooks`` codes are chosen together. Coding with fewer codebooks searches
  those alone (one codebook: DAC's greedy lookup), so its codes need not be the first ones of a
  deeper code; from ``beam_codebooks`` codebooks on, a deeper code starts with the shallower one.
- Training keeps DAC's greedy forward (with its quantizer dropout and losses).
"""

from __future__ import annotations

from typing import Any

import torch

from mne_dac.utils._imports import import_dac

_ResidualVectorQuantize = import_dac().nn.quantize.ResidualVectorQuantize
#: Largest beam: a codebook's distances to every entry from every beam are held at once.
MAX_BEAM_WIDTH = 64
#: Frames searched at once (bounds memory: frames × beam_width × codebook_size distances).
_CHUNK_FRAMES = 2048


class BeamResidualVectorQuantize(_ResidualVectorQuantize):
    """DAC's ``ResidualVectorQuantize`` (same weights and losses) that codes by beam search.

    Parameters
    ----------
    *args, **kwargs
        ``ResidualVectorQuantize``'s arguments.
    beam_width : int
        Partial codes kept per frame (``1``: DAC's greedy codes; at most :data:`MAX_BEAM_WIDTH`).
    beam_codebooks : int
        Codebooks chosen together by the search; the later ones are greedy.
    """

    def __init__(self, *args: Any, beam_width: int = 1, beam_codebooks: int = 2, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._set_beam(beam_width, beam_codebooks)

    @classmethod
    def from_greedy(
        cls, quantizer: _ResidualVectorQuantize, *, beam_width: int, beam_codebooks: int
    ) -> BeamResidualVectorQuantize:
        """DAC's quantizer ``quantizer``, made in place (same modules and weights) to code by beam search."""
        if type(quantizer) is not _ResidualVectorQuantize:
            raise TypeError(f"expected DAC's ResidualVectorQuantize, got {type(quantizer).__name__}")
        quantizer.__class__ = cls  # adds only the two beam attributes: nothing is built or drawn
        quantizer._set_beam(beam_width, beam_codebooks)
        return quantizer

    def _set_beam(self, beam_width: int, beam_codebooks: int) -> None:
        if not 1 <= int(beam_width) <= MAX_BEAM_WIDTH:
            raise ValueError(f"beam_width must be in [1, {MAX_BEAM_WIDTH}], got {beam_width}")
        if int(beam_codebooks) < 1:
            raise ValueError(f"beam_codebooks must be >= 1, got {beam_codebooks}")
        self.beam_width = int(beam_width)
        self.beam_codebooks = int(beam_codebooks)

    def forward(self, z: torch.Tensor, n_quantizers: int | None = None) -> tuple:
        """As DAC's ``forward``; in eval mode the codes are the beam search's (:func:`beam_codes`)."""
        n_q = self.n_codebooks if n_quantizers is None else min(int(n_quantizers), self.n_codebooks)
        if self.training or self.beam_width == 1 or n_q < 2:
            return super().forward(z, n_quantizers)
        stages = self.quantizers[:n_q]
        codes = beam_codes(stages[: self.beam_codebooks], z, self.beam_width)
        z_q, residual = 0.0, z
        commitment_loss = codebook_loss = 0.0
        all_codes, latents = [], []
        for i, vq in enumerate(stages):
            z_e = vq.in_proj(residual)
            if i < codes.shape[1]:
                indices = codes[:, i]
                entry = vq.decode_code(indices)
            else:
                entry, indices = vq.decode_latents(z_e)
            commitment_loss = commitment_loss + (z_e - entry.detach()).pow(2).mean()
            codebook_loss = codebook_loss + (entry - z_e.detach()).pow(2).mean()
            z_q_i = vq.out_proj(z_e + (entry - z_e).detach())
            z_q, residual = z_q + z_q_i, residual - z_q_i
            all_codes.append(indices)
            latents.append(z_e)
        return z_q, torch.stack(all_codes, 1), torch.cat(latents, 1), commitment_loss, codebook_loss


def beam_codes(stages: torch.nn.ModuleList, z: torch.Tensor, beam_width: int) -> torch.Tensor:
    """Codes of ``stages`` whose summed entries leave the smallest residual of each frame's latent.

    Parameters
    ----------
    stages : sequence of dac VectorQuantize
        The codebooks searched, in order.
    z : tensor, shape (batch, latent_dim, n_frames)
        The latents.
    beam_width : int
        Partial codes kept per frame after each codebook.

    Returns
    -------
    codes : tensor of int64, shape (batch, len(stages), n_frames)
    """
    n_batch, dim, n_frames = z.shape
    frames = z.transpose(1, 2).reshape(-1, dim)
    return (
        beam_search(frames, stage_entries(stages, z.dtype), beam_width).reshape(n_batch, n_frames, -1).transpose(1, 2)
    )


def stage_entries(stages: torch.nn.ModuleList, dtype: torch.dtype = torch.float32) -> list[torch.Tensor]:
    """Each codebook's entries as the latents they add, ``(codebook_size, latent_dim)`` per stage."""
    return [vq.out_proj(vq.codebook.weight.t()[None].to(dtype))[0].t() for vq in stages]


def beam_search(frames: torch.Tensor, codebooks: list[torch.Tensor], beam_width: int) -> torch.Tensor:
    """Codes, one entry per codebook, whose sum is nearest each frame, by beam search.

    Parameters
    ----------
    frames : tensor, shape (n_frames, dim)
        The vectors to code.
    codebooks : list of tensor, each of shape (codebook_size, dim)
        Each codebook's entries, in order.
    beam_width : int
        Partial codes kept per frame after each codebook.

    Returns
    -------
    codes : tensor of int64, shape (n_frames, len(codebooks))
    """
    return torch.cat([_search(chunk, codebooks, beam_width) for chunk in frames.split(_CHUNK_FRAMES)])


def _search(frames: torch.Tensor, codebooks: list[torch.Tensor], beam_width: int) -> torch.Tensor:
    dim = frames.shape[1]
    residual = frames[:, None]  # (frames, beams, latent_dim)
    paths = torch.zeros(len(frames), 1, 0, dtype=torch.long, device=frames.device)
    for entries in codebooks:
        error = residual.pow(2).sum(-1, keepdim=True) - 2 * residual @ entries.t() + entries.pow(2).sum(1)
        n_beams, size = error.shape[1], error.shape[2]
        best = error.reshape(len(error), -1).topk(min(beam_width, n_beams * size), dim=1, largest=False).indices
        beam, entry = best // size, best % size
        residual = residual.gather(1, beam[..., None].expand(-1, -1, dim)) - entries[entry]
        paths = torch.cat([paths.gather(1, beam[..., None].expand(-1, -1, paths.shape[2])), entry[..., None]], 2)
    return paths[torch.arange(len(paths), device=frames.device), residual.pow(2).sum(-1).argmin(1)]
