"""Data-dependent initialisation of a DAC trained from scratch on EEG.

DAC's own initialisation suits audio, whose samples are of order 0.1–1. EEG scaled to
[-1, 1] from ±200 µV has a standard deviation near 0.05, and a randomly initialised DAC shrinks
it layer by layer: the latents of the compact DAC are of order 1e-3. Within a few dozen
optimizer steps the learned biases outweigh them, every input then maps to the same latent and
each codebook ends up using a single entry (codebook collapse). Two steps prevent it:

1. Layer-sequential unit-variance scaling (LSUV, Mishkin & Matas 2016): in forward order, each
   convolution's weight-norm gain is set so that its output has unit standard deviation on a
   batch of EEG crops. The last convolution of each residual unit is scaled to a smaller value,
   so that residual blocks start close to the identity, and the decoder's last convolution to the
   standard deviation of the crops, so that the output starts at the scale of the input.
2. Codebooks initialised from data: each residual codebook's entries are drawn from the
   projected latents of the crops it quantizes (the first stage of k-means++'s idea), so that
   every entry starts where the data are.
"""

from __future__ import annotations

import torch
from mne.utils import logger, verbose
from torch import nn

from mne_dac.utils._docs import fill_doc

_N_SCALING_CROPS = 32  # crops the layer scaling runs on (one forward pass per convolution)


def _convolutions(model: nn.Module) -> list[nn.Module]:
    """The weight-normed convolutions of the encoder, then the decoder, in forward order."""
    convs = [
        m
        for part in (model.encoder, model.decoder)
        for m in part.modules()
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))
    ]
    missing = [type(m).__name__ for m in convs if not hasattr(m, "weight_g")]
    if missing:
        raise TypeError(f"Expected DAC's weight-normed convolutions (WNConv1d), got plain {missing[0]}.")
    return convs


@torch.no_grad()
def _scale_layers(model: nn.Module, x: torch.Tensor, residual_scale: float) -> None:
    from dac.model.dac import ResidualUnit

    residual_outputs = {id(unit.block[-1]) for unit in model.modules() if isinstance(unit, ResidualUnit)}
    in_encoder = {id(m) for m in model.encoder.modules()}
    convs = _convolutions(model)
    for conv in convs:
        seen: dict[str, torch.Tensor] = {}
        hook = conv.register_forward_hook(lambda module, inputs, output, seen=seen: seen.__setitem__("y", output))
        try:
            latents = model.encoder(x)
            if id(conv) not in in_encoder:  # an encoder layer only needs the encoder's pass
                model.decoder(latents)
        finally:
            hook.remove()
        if conv is convs[-1]:
            target = float(x.std())
        else:
            target = residual_scale if id(conv) in residual_outputs else 1.0
        conv.weight_g.mul_(target / seen["y"].std().clamp_min(1e-12))
        if conv.bias is not None:
            conv.bias.zero_()


@torch.no_grad()
def _codebooks_from_data(model: nn.Module, x: torch.Tensor, generator: torch.Generator, first: int = 0) -> None:
    residual = model.encoder(x)
    for i, vq in enumerate(model.quantizer.quantizers):
        if i >= first:  # the codebooks before ``first`` only quantize
            projected = vq.in_proj(residual)
            frames = projected.transpose(1, 2).reshape(-1, projected.shape[1])
            picks = torch.randint(len(frames), (vq.codebook_size,), generator=generator, device="cpu")
            vq.codebook.weight.copy_(frames[picks.to(frames.device)])
        quantized, *_ = vq(residual)
        residual = residual - quantized


@torch.no_grad()
def codebooks_from_data(model: nn.Module, x: torch.Tensor, *, first: int = 0, seed: int = 0) -> nn.Module:
    """Draw the entries of codebooks ``first``, ``first + 1``… from the latents of EEG crops, in place.

    Each codebook's entries are frames of what it codes: the projected residual that the
    codebooks before it leave. The rest of the model is left as it is, so this also deepens a
    trained codec (codebooks added by :func:`~mne_dac.models.dac_model.clone_model`).

    Parameters
    ----------
    model : dac.DAC
        The model.
    x : torch.Tensor, shape (n_crops, 1, n_times)
        EEG crops in the codec's domain, with together at least as many latent frames as a
        codebook has entries (fewer give repeated entries).
    first : int
        The first codebook to draw.
    seed : int
        Seed of the draw.

    Returns
    -------
    model : dac.DAC
        The same model.
    """
    n_q = len(model.quantizer.quantizers)
    if not 0 <= first < n_q:
        raise ValueError(f"first must be a codebook of the codec (0 to {n_q - 1}), got {first}")
    training = model.training
    model.eval()
    try:
        x = x.to(next(model.parameters()).device, torch.float32)
        _codebooks_from_data(model, x, torch.Generator().manual_seed(seed), first)
    finally:
        model.train(training)
    return model


@fill_doc
@verbose
def init_from_data(
    model: nn.Module,
    x: torch.Tensor,
    *,
    residual_scale: float = 0.1,
    seed: int = 0,
    verbose: bool | str | int | None = None,
) -> nn.Module:
    """Initialise a randomly initialised DAC from a batch of EEG crops, in place.

    Scales every convolution so that activations have unit variance on ``x`` (LSUV) and draws
    every codebook's entries from the latents of ``x``; see the module's docstring for why a DAC
    trained from scratch on EEG needs it (codebook collapse).

    Parameters
    ----------
    model : dac.DAC
        The model, as built by ``load_codec("random")``; not an audio-pretrained one, whose
        weights this would overwrite.
    x : torch.Tensor, shape (n_crops, 1, n_times)
        EEG crops in the codec's domain (preprocessed, in [-1, 1]), e.g. a batch of
        :class:`~mne_dac.training.crops.RandomCropDataset`. Together they should hold at least as many
        latent frames as a codebook has entries (1024 frames: e.g. 64 crops of 16 s at 512 Hz);
        fewer frames give repeated entries. The layer scaling uses the first 32 crops.
    residual_scale : float
        Standard deviation of each residual unit's output, relative to the unit scale of the
        other layers (small: residual blocks start close to the identity).
    seed : int
        Seed of the codebook draw.
    %(verbose)s

    Returns
    -------
    model : dac.DAC
        The same model.
    """
    if x.ndim != 3 or x.shape[1] != 1:
        raise ValueError(f"x must have shape (n_crops, 1, n_times), got {tuple(x.shape)}")
    if residual_scale <= 0:
        raise ValueError(f"residual_scale must be positive, got {residual_scale}")
    if not torch.isfinite(x).all() or float(x.std()) == 0:
        raise ValueError("x must be finite and not constant.")
    x = x.to(next(model.parameters()).device, torch.float32)
    training = model.training
    model.eval()
    try:
        _scale_layers(model, x[:_N_SCALING_CROPS], residual_scale)
        _codebooks_from_data(model, x, torch.Generator().manual_seed(seed))
    finally:
        model.train(training)
    n_frames = x.shape[0] * -(-x.shape[-1] // model.hop_length)
    logger.info(
        "Initialised %d convolutions (LSUV) and %d codebooks from %d crops (%d latent frames).",
        len(_convolutions(model)),
        len(model.quantizer.quantizers),
        x.shape[0],
        n_frames,
    )
    return model
