"""DAC's vector quantizer with the nearest codebook entry as the code (Euclidean lookup).

See :mod:`mne_dac.models.dac_model` (codebook lookup) for why EEG codecs use it.
"""

from __future__ import annotations

import torch

from mne_dac.utils._imports import import_dac

_VectorQuantize = import_dac().nn.quantize.VectorQuantize


class EuclideanVectorQuantize(_VectorQuantize):
    """DAC's ``VectorQuantize`` (same weights and losses) with the nearest entry as the code.

    DAC's own lookup L2-normalises the projected latents and the entries first (cosine
    similarity); this one compares them as they are, so the code also carries the latent's scale.
    """

    def decode_latents(self, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Codes and entries of latents of shape ``(batch, codebook_dim, n_frames)``."""
        frames = latents.transpose(1, 2).reshape(-1, latents.shape[1])
        codebook = self.codebook.weight.to(frames.dtype)
        dist = frames.pow(2).sum(1, keepdim=True) - 2 * frames @ codebook.t() + codebook.pow(2).sum(1)[None]
        indices = dist.argmin(1).reshape(latents.shape[0], latents.shape[2])
        return self.decode_code(indices), indices
