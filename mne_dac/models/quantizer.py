"""DAC's residual quantizer read with a depth that varies along time."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import torch


def latents_from_codes(quantizer: torch.nn.Module, codes: torch.Tensor) -> torch.Tensor:
    """Quantized latents of codes, as DAC's ``quantizer.from_codes``, with variable depth.

    Parameters
    ----------
    quantizer : dac.nn.quantize.ResidualVectorQuantize
        The model's quantizer.
    codes : tensor of int64, shape (batch, n_codebooks, n_frames)
        Codes; ``-1`` marks a codebook not used at that frame, which adds nothing (the frame
        is decoded with fewer codebooks).

    Returns
    -------
    z : tensor, shape (batch, latent_dim, n_frames)
        The sum of the used codebooks' entries, projected back to the latent space.
    """
    z = 0.0
    for i in range(codes.shape[1]):
        vq, code = quantizer.quantizers[i], codes[:, i]
        used = code >= 0
        z_i = vq.out_proj(vq.decode_code(code.clamp_min(0)))
        z = z + (z_i if bool(used.all()) else z_i * used[:, None])
    return z
