"""Analysis-by-synthesis code search: codes chosen by the waveform their decoder gives.

DAC's quantizer picks, codebook after codebook, the entry nearest the encoder's latent. That
greedy choice is not the one whose *decoded waveform* is nearest the input: the decoder is
nonlinear and sees several frames at once. :func:`search_codes` starts from the greedy codes and
tries, at each frame, other entries of the first two codebooks (the ``n_candidates`` nearest of
the first codebook; for each, the ``n_candidates`` nearest of the second given it; the finer
codebooks greedy given both; a one-codebook code tries the ``n_candidates ** 2`` nearest entries). A candidate replaces a frame's codes when the decoder's output
around the frame (``REACH`` frames each side) gets closer to the input, as in the
analysis-by-synthesis search of speech codecs (CELP). Frames ``2 * REACH + 1`` apart are
tried together, in ``SWEEPS`` passes over all frames.

The decoder and the file format are unchanged: searched codes decode with any reader. The
search only accepts changes that lower each signal's total squared error, so it never does
worse than the greedy codes on the signals it sees.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mne_dac.models.euclidean_vq import EuclideanVectorQuantize
from mne_dac.models.quantizer import latents_from_codes

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Frames each side of a frame over which its candidates are judged (a code's decoded
#: samples fall mostly within one frame each side of it).
REACH = 2
#: Passes over all frames.
SWEEPS = 2


def search_codes(
    model: torch.nn.Module,
    x: torch.Tensor,
    z: torch.Tensor,
    codes: torch.Tensor,
    n_candidates: int,
    searched: torch.Tensor,
) -> torch.Tensor:
    """Codes whose decoded waveform is nearer ``x`` than DAC's greedy codes.

    Parameters
    ----------
    model : dac.DAC
        The codec's model (DAC-SC).
    x : tensor, shape (batch, n_samples)
        The signals, ``n_samples = n_frames * hop_length``.
    z : tensor, shape (batch, latent_dim, n_frames)
        The encoder's latents of ``x``.
    codes : tensor of int64, shape (batch, n_codebooks, n_frames)
        DAC's greedy codes of ``z``.
    n_candidates : int
        Entries tried per codebook (the first two): ``n_candidates ** 2`` candidates per
        frame (with one codebook, its ``n_candidates ** 2`` nearest entries).
    searched : tensor of bool, shape (batch, n_frames)
        Frames whose codes may change (the others are context).

    Returns
    -------
    codes : tensor of int64, shape (batch, n_codebooks, n_frames)
        The searched codes; ``codes`` itself is not modified.
    """
    import torch

    n_batch, n_q, n_frames = codes.shape
    candidates = torch.stack(_candidates(model.quantizer, z, n_q, n_candidates))  # (n, batch, n_q, n_frames)
    window = torch.ones(1, 1, 2 * REACH + 1, dtype=x.dtype, device=x.device)

    def frame_errors(c: torch.Tensor) -> torch.Tensor:
        y = model.decoder(latents_from_codes(model.quantizer, c))[:, 0, : x.shape[1]].to(x.dtype)
        return ((x - y) ** 2).reshape(n_batch, n_frames, -1).sum(-1)

    def around(errors: torch.Tensor) -> torch.Tensor:  # each frame's error with REACH frames each side
        return torch.nn.functional.conv1d(errors[:, None], window, padding=REACH)[:, 0]

    codes = codes.clone()
    errors = frame_errors(codes)
    for _ in range(SWEEPS):
        for phase in range(2 * REACH + 1):
            frames = torch.zeros(n_frames, dtype=torch.bool, device=codes.device)
            frames[phase :: 2 * REACH + 1] = True
            frames = searched & frames
            best, choice = around(errors), torch.full((n_batch, n_frames), -1, device=codes.device)
            for i, candidate in enumerate(candidates):
                trial = torch.where(frames[:, None], candidate, codes)
                trial_errors = around(frame_errors(trial))
                better = frames & (trial_errors < best)
                best = torch.where(better, trial_errors, best)
                choice = torch.where(better, i, choice)
            if not bool((choice >= 0).any()):
                continue
            picked = candidates.gather(0, choice.clamp_min(0)[None, :, None].expand(1, -1, n_q, -1))[0]
            trial = torch.where((choice >= 0)[:, None], picked, codes)
            trial_errors = frame_errors(trial)
            keep = trial_errors.sum(1) <= errors.sum(1)  # frames tried together may interact: never worse
            codes = torch.where(keep[:, None, None], trial, codes)
            errors = torch.where(keep[:, None], trial_errors, errors)
    return codes


def _candidates(quantizer: torch.nn.Module, z: torch.Tensor, n_q: int, n_candidates: int) -> list[torch.Tensor]:
    """Codes to try at every frame: the ``n_candidates`` nearest entries of codebook 0, for each
    the ``n_candidates`` nearest of codebook 1 given it, then the finer codebooks greedy (with one
    codebook: its ``n_candidates ** 2`` nearest entries)."""
    import torch

    stages = quantizer.quantizers[:n_q]
    if n_q == 1:
        return [code[:, None] for code in _nearest(stages[0], z, n_candidates**2).unbind(-1)]
    out = []
    for first in _nearest(stages[0], z, n_candidates).unbind(-1):
        residual = z - _entry_latents(stages[0], first)
        for second in _nearest(stages[1], residual, n_candidates).unbind(-1):
            path, r = [first, second], residual - _entry_latents(stages[1], second)
            for vq in stages[2:]:
                code = _nearest(vq, r, 1)[..., 0]
                path.append(code)
                r = r - _entry_latents(vq, code)
            out.append(torch.stack(path, 1))
    return out


def _nearest(vq: torch.nn.Module, latents: torch.Tensor, k: int) -> torch.Tensor:
    """The ``k`` entries of ``vq`` its lookup ranks first for each frame, shape (batch, n_frames, k)."""
    import torch

    frames = vq.in_proj(latents).transpose(1, 2)  # (batch, n_frames, codebook_dim)
    codebook = vq.codebook.weight.to(frames.dtype)
    if not isinstance(vq, EuclideanVectorQuantize):  # DAC's own lookup compares directions
        frames = torch.nn.functional.normalize(frames, dim=-1)
        codebook = torch.nn.functional.normalize(codebook, dim=-1)
    dist = frames.pow(2).sum(-1, keepdim=True) - 2 * frames @ codebook.t() + codebook.pow(2).sum(1)
    return dist.topk(min(k, codebook.shape[0]), dim=-1, largest=False).indices


def _entry_latents(vq: torch.nn.Module, code: torch.Tensor) -> torch.Tensor:
    return vq.out_proj(vq.decode_code(code))
