"""Build, rebuild and copy ``dac.DAC`` models (optionally wrapped in DAC-MC).

The one place that knows how a DAC is made from its constructor arguments: codecs rebuild
their model from a file or a pickle with :func:`model_from_state`, the trainer copies models
with :func:`clone_model`, and chunked inference sizes its overlaps with
:func:`encoder_context_frames` and :func:`decoder_context_frames`.

Codebook lookup
---------------
DAC's quantizer looks codebook entries up by direction (cosine similarity of L2-normalised
vectors) but decodes their raw vectors, so two latents that differ only in scale get the same
code. EEG's amplitude varies far more than its shape, and on eegmat a linear code with a 2-stage
residual VQ of 2048 entries reaches 36 % PRD with Euclidean lookup against 42 % with DAC's.
``codebook_lookup="euclidean"`` builds the same DAC with
:class:`~mne_dac.models.euclidean_vq.EuclideanVectorQuantize`, which
picks the nearest entry; the weights are the same, and a model records its lookup in
:func:`dac_config` (only when it is not DAC's, so that the configuration of existing codecs is
unchanged).

Beam search
-----------
``beam_width=B`` builds the same DAC with
:class:`~mne_dac.models.beam_search.BeamResidualVectorQuantize`, whose encoder chooses its first
``beam_codebooks`` codes together by beam search instead of greedily; :func:`dac_config` records
both only when ``B > 1``.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import TYPE_CHECKING, Any

from mne_dac.utils._imports import import_dac
from mne_dac.utils._json import jsonable

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: ``dac.DAC`` constructor arguments that define the architecture.
DAC_KWARGS = (
    "encoder_dim",
    "encoder_rates",
    "latent_dim",
    "decoder_dim",
    "decoder_rates",
    "n_codebooks",
    "codebook_size",
    "codebook_dim",
    "sample_rate",
)


#: Codebook lookups: DAC's own (``"cosine"``) and the nearest entry (``"euclidean"``).
CODEBOOK_LOOKUPS = ("cosine", "euclidean")


def codebook_lookup(model: torch.nn.Module) -> str:
    """The codebook lookup of a ``dac.DAC`` or DAC-MC model (:data:`CODEBOOK_LOOKUPS`)."""
    from mne_dac.models.euclidean_vq import EuclideanVectorQuantize

    return "euclidean" if isinstance(model.quantizer.quantizers[0], EuclideanVectorQuantize) else "cosine"


def quantizer_beam(model: torch.nn.Module) -> tuple[int, int]:
    """The beam width and the codebooks searched together of a ``dac.DAC``'s encoder (width 1: greedy)."""
    quantizer = model.quantizer
    return getattr(quantizer, "beam_width", 1), getattr(quantizer, "beam_codebooks", 1)


def decoder_modules(model: torch.nn.Module) -> list[torch.nn.Module]:
    """What turns a ``dac.DAC``'s or DAC-MC's quantized latents into signals: DAC's decoder and, for DAC-MC, its
    style, FiLM and slot-out layers (those it has): what decoder-only training trains."""
    if not hasattr(model, "mc_config"):
        return [model.decoder]
    extra = (getattr(model, name, None) for name in ("style", "film", "slot_out"))
    return [model.decoder, *(m for m in extra if m is not None)]


def new_dac(
    *, codebook_lookup: str = "cosine", beam_width: int = 1, beam_codebooks: int = 2, **kwargs: Any
) -> torch.nn.Module:
    """A new ``dac.DAC`` with the constructor arguments ``kwargs`` (:data:`DAC_KWARGS`).

    Parameters
    ----------
    codebook_lookup : ``"cosine"`` | ``"euclidean"``
        DAC's lookup by direction, or the nearest entry (see the module's docstring).
    beam_width : int
        Partial codes the encoder keeps per frame (``1``: DAC's greedy codes; see the module's
        docstring).
    beam_codebooks : int
        With ``beam_width > 1``: the first codebooks chosen together.
    **kwargs
        ``dac.DAC`` arguments.
    """
    from mne.utils import _check_option

    _check_option("codebook_lookup", codebook_lookup, CODEBOOK_LOOKUPS)
    dac = import_dac()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*weight_norm.*", category=FutureWarning)
        model = dac.DAC(**kwargs)
        if codebook_lookup == "euclidean":
            from mne_dac.models.euclidean_vq import EuclideanVectorQuantize

            quantizers = model.quantizer.quantizers
            for i, vq in enumerate(quantizers):
                new = EuclideanVectorQuantize(vq.in_proj.in_channels, vq.codebook_size, vq.codebook_dim)
                new.load_state_dict(vq.state_dict())
                quantizers[i] = new
    if beam_width != 1:
        from mne_dac.models.beam_search import BeamResidualVectorQuantize

        BeamResidualVectorQuantize.from_greedy(model.quantizer, beam_width=beam_width, beam_codebooks=beam_codebooks)
    return model


def dac_config(model: torch.nn.Module) -> dict:
    """The ``dac.DAC`` constructor arguments of a DAC model (:data:`DAC_KWARGS`), and its codebook
    lookup and beam search when they are not DAC's."""
    config = {k: jsonable(getattr(model, k)) for k in DAC_KWARGS}
    lookup = codebook_lookup(model)
    if lookup != "cosine":
        config["codebook_lookup"] = lookup
    beam_width, beam_codebooks = quantizer_beam(model)
    if beam_width != 1:
        config.update(beam_width=beam_width, beam_codebooks=beam_codebooks)
    return config


def model_from_state(dac_kwargs: dict, state_dict: dict, mc_kwargs: dict | None = None) -> torch.nn.Module:
    """Rebuild a ``dac.DAC`` (or, with ``mc_kwargs``, a DAC-MC around one) and load its weights.

    Parameters
    ----------
    dac_kwargs : dict
        ``dac.DAC`` constructor arguments (:func:`dac_config`).
    state_dict : dict
        The weights; floating-point tensors are cast to float32.
    mc_kwargs : dict | None
        :class:`~mne_dac.models.mc_model.DACMC` arguments (``DACMC.mc_config()``), or None for DAC-SC.

    Returns
    -------
    model : dac.DAC | DACMC
        The model, on the CPU.

    Raises
    ------
    OSError
        If the weights do not fit the architecture.
    """
    import torch

    model = new_dac(**dac_kwargs)
    if mc_kwargs is not None:
        from mne_dac.models.mc_model import DACMC

        model = DACMC(model, **mc_kwargs)
    state_dict = {k: v.to(torch.float32) if v.is_floating_point() else v for k, v in state_dict.items()}
    try:
        missing, unexpected = model.load_state_dict(state_dict, strict=False)
    except RuntimeError as err:  # shape mismatches
        raise OSError(f"Checkpoint weights do not fit the DAC architecture {dac_kwargs}: {err}") from err
    if missing or unexpected:
        raise OSError(
            f"Checkpoint weights do not fit the DAC architecture {dac_kwargs}: missing "
            f"{missing[:5]}{'…' if len(missing) > 5 else ''}, unexpected "
            f"{unexpected[:5]}{'…' if len(unexpected) > 5 else ''}"
        )
    return model


def clone_model(model: torch.nn.Module, n_codebooks: int | None = None) -> torch.nn.Module:
    """Copy a ``dac.DAC`` or a DAC-MC model, optionally with another number of codebooks.

    The copy is rebuilt from the model's architecture and state dict (weight-normed
    modules cannot be deep-copied once used); the global torch RNG is untouched.

    Parameters
    ----------
    model : dac.DAC | DACMC
        The model to copy.
    n_codebooks : int | None
        Number of residual codebooks of the copy (``None``: as many as ``model``). Fewer
        keeps the first ones; more adds codebooks with DAC's random initialisation (draw
        their entries from data before training, see
        :meth:`~mne_dac.training.trainer.CodecTrainer.init_codebooks_from_data`).

    Returns
    -------
    model : dac.DAC | DACMC
        The copy, on the same device and in the same train/eval mode.
    """
    import torch

    from mne_dac.models.mc_model import DACMC

    is_mc = isinstance(model, DACMC)
    dac_model = model.dac if is_mc else model
    kwargs = copy.deepcopy(dac_config(dac_model))
    state = model.state_dict()
    n_old = int(kwargs["n_codebooks"])
    if n_codebooks is not None:
        if n_codebooks < 1:
            raise ValueError(f"n_codebooks must be at least 1, got {n_codebooks}")
        kwargs["n_codebooks"] = n_codebooks
        if isinstance(kwargs["codebook_dim"], list):
            dims = kwargs["codebook_dim"]
            kwargs["codebook_dim"] = (dims + dims[-1:] * n_codebooks)[:n_codebooks]
        prefix = ("dac." if is_mc else "") + "quantizer.quantizers."

        def kept(key: str) -> bool:
            return not key.startswith(prefix) or int(key[len(prefix) :].split(".")[0]) < n_codebooks

        state = {k: v for k, v in state.items() if kept(k)}
    with torch.random.fork_rng(devices=[]):
        new = new_dac(**kwargs)
        if is_mc:
            new = DACMC(new, **model.mc_config())
    if n_codebooks is not None and n_codebooks > n_old:  # the added codebooks keep DAC's initialisation
        state = {**new.state_dict(), **state}
    new.load_state_dict(state)
    new.quantizer.quantizer_dropout = model.quantizer.quantizer_dropout
    return new.to(next(model.parameters()).device).train(model.training)


def _conv_layers(module: torch.nn.Module) -> list:
    import torch

    return [m for m in module.modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d))]


def encoder_context_frames(model: torch.nn.Module) -> int:
    """Frames of context each side of a chunk so that chunked encoding is exact.

    Walks the encoder's convolutions and accumulates their half receptive field in
    input samples, then converts it to whole frames (plus one frame of margin).
    """
    half, jump = 0.0, 1
    for conv in _conv_layers(model.encoder):
        half += (conv.kernel_size[0] - 1) * conv.dilation[0] / 2 * jump
        jump *= conv.stride[0]
    return math.ceil(half / int(model.hop_length)) + 1


def decoder_context_frames(model: torch.nn.Module) -> int:
    """Frames of context each side of a chunk so that chunked decoding matches."""
    half, jump = 0.0, 1.0  # jump: latent frames per sample of the current layer
    for conv in _conv_layers(model.decoder):
        k, d, s = conv.kernel_size[0], conv.dilation[0], conv.stride[0]
        if conv.transposed:
            half += k / s / 2 * jump
            jump /= s
        else:
            half += (k - 1) * d / 2 * jump
    return math.ceil(half) + 1
