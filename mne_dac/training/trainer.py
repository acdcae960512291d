"""Fine-tune DAC on EEG with skorch, as in "Adapting Neural Audio Codecs to EEG".

:class:`CodecTrainer` is a :class:`skorch.NeuralNet` whose module is a ``dac.DAC``.
Its training step follows DAC's own training script: a multi-scale mel loss, a
waveform L1 loss, the VQ commitment and codebook losses and, optionally, DAC's
GAN (multi-period and multi-resolution discriminators, scaled to EEG rates) at a
reduced weight. Training runs in two phases: with the GAN, then without it, from
a given epoch or as soon as divergence is detected (:class:`GANSchedule`).

This module imports torch, skorch and DAC; it is not imported by ``import mne_dac``.

Examples
--------
>>> from mne_dac import load_codec
>>> from mne_dac.training.crops import RandomCropDataset
>>> from mne_dac.training import CodecTrainer, checkpoint_callbacks
>>> from skorch.helper import predefined_split
>>> codec = load_codec("44khz")  # doctest: +SKIP
>>> train = RandomCropDataset("eeg_folder/", crop_duration=10.0)  # doctest: +SKIP
>>> valid = RandomCropDataset("eeg_valid/", crop_duration=10.0, n_crops=256)  # doctest: +SKIP
>>> net = CodecTrainer.from_codec(
...     codec, train_split=predefined_split(valid), max_epochs=100, gan_stop_epoch=20,
...     callbacks=checkpoint_callbacks("checkpoints/"),
... )  # doctest: +SKIP
>>> net.fit(train)  # doctest: +SKIP
>>> net.to_codec(name="eeg-dac").save("eeg-dac.pt")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from mne.utils import _check_option, logger
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EpochTimer,
    LoadInitState,
    LRScheduler,
    PassthroughScoring,
    PrintLog,
)
from skorch.utils import TeeGenerator

from mne_dac.codecs.codec import DACCodec
from mne_dac.models.dac_model import clone_model, codebook_lookup, decoder_modules
from mne_dac.models.quantizer import latents_from_codes
from mne_dac.signal.metrics import BANDS, MEL_LOSS_CONFIG, mel_loss_module
from mne_dac.signal.preprocessing import PreprocessingSettings
from mne_dac.training.losses import BandSpectralLoss, relative_mse
from mne_dac.training.recipe import RECIPE
from mne_dac.utils._imports import import_dac
from mne_dac.utils._logging import warn

__all__ = [
    "CodebookCollapseError",
    "CodecMonitor",
    "CodecTrainer",
    "FreshCrops",
    "GANSchedule",
    "TimeBudget",
    "available_memory",
    "check_training_memory",
    "checkpoint_callbacks",
    "clone_model",
    "estimate_training_memory",
    "gan_diverged",
    "plot_history",
    "prune_codebooks",
]

#: Shortest crop the mel loss accepts (its longest window is 2048 samples).
MIN_CROP_SAMPLES = max(MEL_LOSS_CONFIG["window_lengths"]) // 2 + 1

#: Loss components recorded per batch (``train_<name>``) and averaged per epoch.
_COMPONENTS = ("reconstruction", "mel", "waveform", "spectral", "commitment", "codebook", "adv", "feat", "disc")


def gan_diverged(loss: Sequence[float], tolerance: float = 0.2, patience: int = 2) -> bool:
    """Whether the GAN phase diverged, judged on the epoch-mean training reconstruction loss.

    Divergence is declared when, for the last ``patience`` consecutive epochs, the
    loss exceeded the best (lowest) value reached up to that epoch by more than
    ``tolerance`` (relative): ``mel[i] > (1 + tolerance) * min(mel[:i + 1])``.

    Parameters
    ----------
    mel : sequence of float
        Epoch-mean training reconstruction loss (``train_reconstruction``) of the epochs with
        the GAN active, in order.
    tolerance : float
        Relative excess over the best value that counts as a degradation.
    patience : int
        Number of consecutive degraded epochs that make a divergence.

    Returns
    -------
    diverged : bool
        True if the last ``patience`` epochs were all degraded.
    """
    loss = np.asarray(loss, dtype=float)
    if patience < 1:
        raise ValueError(f"patience must be >= 1, got {patience}")
    if len(loss) < patience:
        return False
    degraded = loss > (1 + tolerance) * np.minimum.accumulate(loss)
    return bool(degraded[-patience:].all())


class GANSchedule(Callback):
    """Two-phase schedule: train with the GAN, then without it.

    At the start of each epoch, the GAN is active if the trainer has one
    (``gan=True``), the epoch number is at most ``gan_stop_epoch`` (when set), and
    no divergence was detected in an earlier epoch. At the end of each epoch with
    the GAN active, :func:`gan_diverged` is applied to the epoch-mean training
    reconstruction loss (``train_reconstruction``: the weighted mel, waveform and spectrum
    terms) of the GAN epochs, with the trainer's
    ``divergence_tolerance`` and ``divergence_patience``; on divergence the GAN is
    dropped from the next epoch on. The state is recorded in the history
    (``gan_active`` each epoch, ``gan_diverged`` at the epoch of divergence), which
    makes it resumable from a checkpointed history.
    """

    def on_epoch_begin(self, net: CodecTrainer, **kwargs: Any) -> None:
        history = net.history
        epoch = len(history)
        previous = list(history)[:-1]
        active = bool(net.gan)
        if active and any(row.get("gan_diverged", False) for row in previous):
            active = False
        stop = net.gan_stop_epoch
        if active and stop is not None and epoch > stop:
            active = False
            if epoch == max(stop, 0) + 1:
                logger.info(
                    "Epoch %d: the GAN phase ends (gan_stop_epoch=%d); training continues without the discriminator.",
                    epoch,
                    stop,
                )
        net.gan_active_ = active
        history.record("gan_active", active)

    def on_epoch_end(self, net: CodecTrainer, **kwargs: Any) -> None:
        if not net.gan_active_:
            return
        key = "train_reconstruction"
        loss = [row[key] for row in net.history if row.get("gan_active") and key in row]
        if gan_diverged(loss, net.divergence_tolerance, net.divergence_patience):
            net.gan_active_ = False
            net.history.record("gan_diverged", True)
            warn(
                f"Epoch {len(net.history)}: the GAN phase diverged (training reconstruction loss "
                f"{loss[-1]:.4g} more than {100 * net.divergence_tolerance:g}% above its "
                f"best {min(loss):.4g} for {net.divergence_patience} epoch(s)); training "
                "continues without the discriminator."
            )


@contextmanager
def _quiet():
    """Silence audiotools' warnings inherent to DAC's losses at EEG rates."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Empty filters detected in mel frequency basis")
        warnings.filterwarnings("ignore", "stft_data changed shape")
        yield


def _power_of_two(x: float) -> int:
    return int(2 ** max(3, round(math.log2(x))))


#: Bytes a training step holds per byte of forward activations (activations kept for the
#: backward pass, their gradients and the autograd buffers), measured on the compact DAC.
_TRAINING_MEMORY_FACTOR = 3.0


def estimate_training_memory(model: torch.nn.Module, n_signals: int, n_samples: int) -> int:
    """Estimate the memory one training step needs, in bytes.

    The activations of the model's DAC (every module's output) are measured on one short
    single-channel signal and scaled to ``n_signals`` signals of ``n_samples`` samples; the
    step holds about three times the forward activations, plus the weights, their gradients
    and Adam's two moments.

    Parameters
    ----------
    model : dac.DAC | DACMC
        The codec's model.
    n_signals : int
        Single-channel signals per step (batch size times channels per crop).
    n_samples : int
        Samples per signal.

    Returns
    -------
    n_bytes : int
        The estimate.
    """
    dac_model = getattr(model, "dac", model)
    probe = 8 * int(dac_model.hop_length)
    sizes: list[int] = []
    hooks = [
        m.register_forward_hook(lambda module, inputs, output: sizes.append(output.numel() * output.element_size()))
        for m in dac_model.modules()
        if not list(m.children())
    ]
    device = next(dac_model.parameters()).device
    try:
        with torch.no_grad():
            dac_model.decoder(dac_model.encoder(torch.zeros(1, 1, probe, device=device)))
    finally:
        for hook in hooks:
            hook.remove()
    weights = sum(p.numel() * p.element_size() for p in model.parameters())
    return int(_TRAINING_MEMORY_FACTOR * sum(sizes) * n_signals * n_samples / probe + 4 * weights)


def available_memory(device: str | torch.device = "cpu") -> int | None:
    """Free memory of ``device`` in bytes (``MemAvailable`` on Linux CPUs); ``None`` if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    if device.type != "cpu":
        return None
    try:
        with open("/proc/meminfo") as fid:
            fields = dict(line.split(":", 1) for line in fid)
        return int(fields["MemAvailable"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        return None


def _single_channel_crops(dataset: Any, dac_model: torch.nn.Module) -> torch.Tensor:
    """The first crops of ``dataset``, one channel each, that hold as many frames as a codebook has entries."""
    crops, n_frames, i = [], 0, 0
    while n_frames < dac_model.codebook_size and i < len(dataset):
        item = _crop_of(dataset[i])
        x = item["x"][item["mask"]] if isinstance(item, dict) and "mask" in item else item
        x = x["x"] if isinstance(x, dict) else x
        crops.extend(torch.as_tensor(x, dtype=torch.float32).reshape(-1, 1, x.shape[-1]))
        n_frames += len(x) * -(-x.shape[-1] // dac_model.hop_length)
        i += 1
    return torch.stack(crops)


def _crop_of(item: Any) -> Any:
    """The crop of a dataset item: the item, or its first element (``(X, y)`` datasets)."""
    return item[0] if isinstance(item, (tuple, list)) else item


def check_training_memory(model: torch.nn.Module, dataset: Any, batch_size: int) -> int:
    """Raise a clear error before a training run that cannot fit in memory.

    Parameters
    ----------
    model : dac.DAC | DACMC
        The codec's model, on its training device.
    dataset : RandomCropDataset
        The training crops (their length and channels per crop set the step's size).
    batch_size : int
        Crops per step.

    Returns
    -------
    n_bytes : int
        The estimated memory of one step (:func:`estimate_training_memory`).
    """
    item = _crop_of(dataset[0])
    x = item["x"] if isinstance(item, dict) else item
    n_chans, n_samples = (1, x.shape[-1]) if x.ndim < 2 else x.shape[-2:]
    need = estimate_training_memory(model, batch_size * n_chans, n_samples)
    device = next(model.parameters()).device
    free = available_memory(device)
    free_text = "?" if free is None else f"{free / 1e9:.1f} GB"
    logger.info("A training step needs about %.1f GB (%s free).", need / 1e9, free_text)
    if free is not None and need > 0.9 * free:
        raise MemoryError(
            f"A training step on {batch_size} crops of {n_chans} channel(s) × {n_samples} samples needs about "
            f"{need / 1e9:.1f} GB, but only {free / 1e9:.1f} GB are free on {device}: use shorter crops "
            f"(crop_duration, --crop) or fewer crops per step (batch_size, --batch-size)."
        )
    return need


class CodecTrainer(NeuralNet):
    """Train or fine-tune a DAC codec on EEG crops with skorch.

    The defaults are mne-dac's gradient recipe (:data:`~mne_dac.training.recipe.RECIPE`, which
    trained ``default-2026.12b``): the waveform error relative to the signal (PRD², weight 10) plus
    the band-balanced spectrum loss (:class:`~mne_dac.training.losses.BandSpectralLoss`, weight 3)
    and DAC's VQ losses; no mel loss and no GAN; dead codebook entries restarted from the batch;
    and, for a randomly initialised codec (:meth:`from_codec` of ``load_codec("random")``), the
    data-dependent initialisation of :func:`~mne_dac.training.data_init.init_from_data`. The paper's
    recipe (mel + waveform L1 + reduced-weight GAN) is ``lambda_mel=15,
    waveform_loss="l1", lambda_waveform=1, lambda_spectral=0, gan=True``. The shipped ``default``
    is a linear code of EEG whose decoder alone was then trained
    (:func:`~mne_dac.training.linear_code.build_linear_codec`); ``trainable="decoder"`` adapts it,
    or any codec, to other EEG the same way, through skorch (checkpoints, history, callbacks).

    Parameters
    ----------
    module : dac.DAC | DACMC
        The codec's model (``codec.model``), DAC-SC or DAC-MC (then trained on
        group crops, see :class:`~mne_dac.training.crops.RandomCropDataset`); prefer
        :meth:`from_codec`. It is trained in place.
    sfreq : float
        Sampling rate of the codec (of the crops).
    preprocessing : PreprocessingSettings | None
        Preprocessing the codec expects, kept by :meth:`to_codec`.
    channel_levels : bool
        Whether the codec scales each channel to its level (:attr:`~mne_dac.DACCodec.channel_levels`), kept by
        :meth:`to_codec`; its crops should then be drawn at those levels (``RandomCropDataset(channel_levels=True)``).
    criterion : callable
        Builds the mel loss (DAC's ``MelSpectrogramLoss``), trained with weight
        ``lambda_mel`` and recorded on the validation crops (``valid_mel``).
    optimizer : type
        Optimizer class; the discriminator gets its own instance with the same
        arguments, overridable with ``optimizer_discriminator__*`` arguments.
    lr : float
        Learning rate. DAC's schedule (exponential decay by 0.999996 per batch)
        is a default callback; the discriminator's rate decays by the same factor.
    max_epochs, batch_size : int
        As in :class:`skorch.NeuralNet`.
    train_split : callable | None
        ``None`` (no validation) or :func:`skorch.helper.predefined_split` of a
        validation :class:`~mne_dac.training.crops.RandomCropDataset`.
    lambda_mel, lambda_waveform, lambda_spectral, lambda_commitment, lambda_codebook : float
        Weights of the mel, waveform, band-balanced spectrum, VQ commitment and VQ codebook
        losses. A zero weight skips computing that loss.
    waveform_loss : ``"relative-mse"`` | ``"l1"``
        The waveform loss: the squared error relative to the signal's energy,
        ``sum((y - x)**2) / sum(x**2)`` over the batch (:func:`~mne_dac.training.losses.relative_mse`,
        the square of PRD, independent of the signal's scale), or the mean absolute error
        (DAC's).
    lambda_adv, lambda_feat : float
        Weights of the adversarial and feature-matching losses, reduced from DAC's
        1 and 2.
    gan : bool
        Build a discriminator and train with it during the first phase.
    gan_periods : sequence of int
        Periods of the multi-period discriminators.
    gan_fft_sizes : sequence of int | None
        Window sizes of the multi-resolution STFT discriminators. ``None`` scales
        DAC's ``[2048, 1024, 512]`` at 44.1 kHz to EEG: ``[sfreq, sfreq/2,
        sfreq/4]`` rounded to powers of two (``[512, 256, 128]`` at 512 Hz).
    gan_stop_epoch : int | None
        Last epoch of the GAN phase (``0``: never use the GAN; ``None``: until
        divergence, if any).
    divergence_tolerance, divergence_patience : float, int
        Divergence detection, see :class:`GANSchedule` and :func:`gan_diverged`.
    quantizer_dropout : float
        Fraction of each batch coded with a random number of codebooks (DAC's
        quantizer dropout), so that one codec serves several bitrates.
    dead_code_threshold : float
        Restart dead codebook entries, against codebook collapse (every input coded
        by the same few entries): after each step, an entry whose usage (moving
        average over about 10 steps, 1 for uniform use) is below this threshold is
        replaced by the projected encoder output of a random frame of the batch, as
        EnCodec and Jukebox do, scaled to the typical norm of the live entries (DAC
        decodes an entry's raw vector: an entry of another scale would derail the
        decoder). ``0``: never (DAC's own training). The number of
        restarts is recorded as ``train_dead_codes``.
    codebook_update : ``"ema"`` | ``"gradient"``
        How codebook entries learn. ``"ema"``: after each step, every entry the batch used
        moves towards the mean of the projected encoder outputs it coded, by ``1 -
        codebook_decay ** n`` for ``n`` uses (online k-means, as in VQ-VAE-2, Jukebox and
        EnCodec); ``lambda_codebook`` is then unused. Entries follow the encoder at its own
        scale, so the commitment loss stays small and the straight-through gradient is taken
        where the encoder's output is. ``"gradient"``: DAC's codebook loss and the optimizer.
    codebook_decay : float
        Decay of the ``"ema"`` update, in (0, 1).
    data_init : bool
        Before training (not when resuming from a checkpoint), scale the layers and draw
        the codebooks from training crops (:func:`~mne_dac.training.data_init.init_from_data`).
        Only for a randomly initialised codec: it overwrites trained weights.
    init_codebooks_from : int | None
        Before training (not when resuming), draw the entries of the codebooks from this
        index on from the latents of training crops (:meth:`init_codebooks_from_data`):
        the codebooks added to a trained codec by :meth:`from_codec`'s ``n_codebooks``.
        ``None``: none.
    trainable : ``"all"`` | ``"decoder"``
        What trains. ``"all"``: the whole codec. ``"decoder"``: its decoder alone (DAC-MC: with its
        style, FiLM and slot-out layers); each crop is coded as the codec codes (beam search
        included, all codebooks) and decoded from all its codes or, for a ``quantizer_dropout`` share
        of the batch, from a random number of codebooks. The encoder and the codebooks do not
        change, so neither do the codec's tokens; no VQ loss, codebook update or restart. This is how
        the shipped ``default`` (a linear code, see :mod:`~mne_dac.training.linear_code`) was
        trained, and how to adapt such a codec to other EEG: gradient steps on its encoder make it
        worse. :data:`~mne_dac.training.recipe.DECODER_RECIPE` holds the settings of the default's
        decoder phase. Not with ``data_init``.
    min_codes_used : float
        Codebook collapse: training stops with :class:`CodebookCollapseError` after an epoch
        in which a codebook used at most this fraction of the entries it could have used
        (``min(codebook_size, frames seen)``, at least 1 entry); see :class:`CodecMonitor`.
        ``0`` never stops.
    grad_clip, grad_clip_discriminator : float
        Maximal gradient norms (DAC: 1e3 and 10).
    mixed_precision : bool
        bfloat16 autocast on CUDA (ignored on CPU).
    device : str | None
        Torch device; ``None``: CUDA when available.
    **kwargs
        Other :class:`skorch.NeuralNet` arguments (``callbacks``,
        ``iterator_train__num_workers``, ``optimizer__betas``…).

    Attributes
    ----------
    module_ : dac.DAC
        The generator (the codec).
    spectral_loss_ : BandSpectralLoss
        The band-balanced spectrum loss at the codec's rate.
    discriminator_ : dac.model.discriminator.Discriminator
        The discriminator (only with ``gan=True``).
    optimizer_, optimizer_discriminator_ : torch.optim.Optimizer
        Their optimizers.
    gan_active_ : bool
        Whether the current epoch uses the GAN.

    Notes
    -----
    Per batch, the discriminator is updated first (least-squares GAN loss), then
    the generator with::

        loss = lambda_mel * mel + lambda_waveform * waveform + lambda_spectral * spectral
               + lambda_commitment * commitment + lambda_codebook * codebook
               [+ lambda_adv * adv + lambda_feat * feat]

    ``train_loss`` is that total; each term is recorded as ``train_<name>``
    (``mel``, ``waveform``, ``spectral``, ``commitment``, ``codebook``, ``adv``, ``feat``
    and the discriminator loss ``disc``). ``valid_loss`` is the reconstruction part of the
    same objective (mel, waveform and spectrum terms) on the validation crops with all
    codebooks; :class:`CodecMonitor` adds ``valid_prd``, ``valid_err_<band>``,
    ``valid_mel`` and the codebook use every epoch.

    Checkpoints must include the discriminator and its optimizer: use
    :func:`checkpoint_callbacks` (``Checkpoint`` plus ``LoadInitState``).
    ``skorch.callbacks.EarlyStopping(monitor="valid_loss")`` and
    ``skorch.callbacks.ProgressBar()`` can be added to ``callbacks``.
    """

    def __init__(
        self,
        module: torch.nn.Module,
        *,
        sfreq: float = 512.0,
        preprocessing: PreprocessingSettings | None = None,
        channel_levels: bool = False,
        criterion: Any = mel_loss_module,
        optimizer: type = torch.optim.AdamW,
        lr: float = RECIPE["lr"],
        max_epochs: int = 10,
        batch_size: int = RECIPE["batch_size"],
        train_split: Any = None,
        lambda_mel: float = 0.0,
        lambda_waveform: float = 10.0,
        waveform_loss: str = "relative-mse",
        lambda_spectral: float = 3.0,
        lambda_commitment: float = 0.25,
        lambda_codebook: float = 1.0,
        lambda_adv: float = 0.1,
        lambda_feat: float = 0.2,
        gan: bool = False,
        gan_periods: Sequence[int] = (2, 3, 5, 7, 11),
        gan_fft_sizes: Sequence[int] | None = None,
        gan_stop_epoch: int | None = None,
        divergence_tolerance: float = 0.2,
        divergence_patience: int = 2,
        quantizer_dropout: float = 0.5,
        dead_code_threshold: float = 0.01,
        codebook_update: str = "ema",
        codebook_decay: float = 0.99,
        data_init: bool = False,
        init_codebooks_from: int | None = None,
        trainable: str = "all",
        min_codes_used: float = 0.01,
        grad_clip: float = 1e3,
        grad_clip_discriminator: float = 10.0,
        mixed_precision: bool = False,
        device: str | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("optimizer__betas", (0.8, 0.99))
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            **kwargs,
        )
        self.sfreq = sfreq
        self.preprocessing = preprocessing
        self.channel_levels = channel_levels
        self.lambda_mel = lambda_mel
        self.lambda_waveform = lambda_waveform
        self.waveform_loss = waveform_loss
        self.lambda_spectral = lambda_spectral
        self.lambda_commitment = lambda_commitment
        self.lambda_codebook = lambda_codebook
        self.lambda_adv = lambda_adv
        self.lambda_feat = lambda_feat
        self.gan = gan
        self.gan_periods = gan_periods
        self.gan_fft_sizes = gan_fft_sizes
        self.gan_stop_epoch = gan_stop_epoch
        self.divergence_tolerance = divergence_tolerance
        self.divergence_patience = divergence_patience
        self.quantizer_dropout = quantizer_dropout
        self.dead_code_threshold = dead_code_threshold
        self.codebook_update = codebook_update
        self.codebook_decay = codebook_decay
        self.data_init = data_init
        self.init_codebooks_from = init_codebooks_from
        self.trainable = trainable
        self.min_codes_used = min_codes_used
        self.grad_clip = grad_clip
        self.grad_clip_discriminator = grad_clip_discriminator
        self.mixed_precision = mixed_precision

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_codec(cls, codec: DACCodec, *, n_codebooks: int | None = None, **kwargs: Any) -> CodecTrainer:
        """Build a trainer for (a copy of) a codec.

        Parameters
        ----------
        codec : DACCodec
            The codec to fine-tune; it is copied and left unchanged.
        n_codebooks : int | None
            Train this many codebooks. Fewer than the codec has: only the first ones (see
            :func:`prune_codebooks`). More: codebooks are added, and their entries are drawn
            from the training data before training (``init_codebooks_from``), so that a
            trained codec can be deepened for higher bitrates. ``None`` trains the codec's own.
        **kwargs
            Other :class:`CodecTrainer` arguments. ``device`` defaults to the codec's;
            ``data_init`` to True for a randomly initialised codec (``load_codec("random")``,
            named ``random-seed<N>``) trained whole, False otherwise.

        Returns
        -------
        trainer : CodecTrainer
            The (uninitialised) trainer.
        """
        kwargs.setdefault("data_init", codec.name.startswith("random-seed") and kwargs.get("trainable") != "decoder")
        if n_codebooks is not None and n_codebooks > codec.n_codebooks:
            kwargs.setdefault("init_codebooks_from", codec.n_codebooks)
        kwargs.setdefault("device", str(codec.device))
        kwargs.setdefault("sfreq", codec.sfreq)
        kwargs.setdefault("preprocessing", codec.preprocessing)
        kwargs.setdefault("channel_levels", codec.channel_levels)
        return cls(clone_model(codec.model, n_codebooks), **kwargs)

    def to_codec(self, name: str = "fine-tuned", **kwargs: Any) -> DACCodec:
        """Return a :class:`~mne_dac.DACCodec` with a copy of the trained weights.

        Parameters
        ----------
        name : str
            Name of the codec.
        **kwargs
            Other :class:`~mne_dac.DACCodec` arguments (``batch_size``…; for a DAC-MC
            model, :class:`~mne_dac.codecs.mc_codec.DACMCCodec`'s ``grouping`` and ``group_size``).

        Returns
        -------
        codec : DACCodec | DACMCCodec
            The codec, at the trainer's rate and preprocessing, on its device.
        """
        from mne_dac.codecs.mc_codec import DACMCCodec

        self.check_is_fitted(["module_"])
        kwargs.setdefault("device", str(self.device))
        cls = DACMCCodec if hasattr(self.module_, "mc_config") else DACCodec
        return cls(
            clone_model(self.module_),
            self.sfreq,
            name=name,
            preprocessing=self.preprocessing,
            channel_levels=self.channel_levels,
            **kwargs,
        )

    def fit(self, X: Any, y: Any = None, **fit_params: Any) -> CodecTrainer:
        """Initialise (with ``data_init``, from crops of ``X``), check memory, then train.

        Parameters
        ----------
        X : RandomCropDataset
            The training crops.
        y : None
            Unused (the codec reconstructs its input).
        **fit_params
            Passed to :meth:`skorch.NeuralNet.partial_fit`.

        Returns
        -------
        self : CodecTrainer
            The trained trainer.
        """
        if not self.warm_start or not self.initialized_:
            self.initialize()
            if self.data_init:
                self.init_from_data(X)
            if self.init_codebooks_from is not None:
                self.init_codebooks_from_data(X, self.init_codebooks_from)
        check_training_memory(self.module_, X, self.batch_size)
        return self.partial_fit(X, y, **fit_params)

    def init_from_data(self, dataset: Any) -> CodecTrainer:
        """Scale the layers and draw the codebooks from crops of ``dataset`` (see ``data_init``).

        Parameters
        ----------
        dataset : RandomCropDataset
            Training crops; the first ones that hold as many frames as a codebook has entries
            are used (DAC-MC group crops are split into their channels).

        Returns
        -------
        self : CodecTrainer
            The trainer, its module initialised in place.
        """
        from mne_dac.training.data_init import init_from_data

        self.check_is_fitted(["module_"])
        dac_model = getattr(self.module_, "dac", self.module_)
        crops = _single_channel_crops(dataset, dac_model)
        init_from_data(dac_model, crops, seed=0, verbose="error")
        logger.info(
            "Initialised the codec from %d training crops (LSUV gains, codebooks drawn from the data).", len(crops)
        )
        return self

    def init_codebooks_from_data(self, dataset: Any, first: int) -> CodecTrainer:
        """Draw the entries of codebooks ``first``, ``first + 1``… from the latents of training crops.

        Each codebook's entries are frames of what it codes (the residual left by the codebooks
        before it), drawn at random, as :func:`~mne_dac.training.data_init.init_from_data` does
        for a new codec; the rest of the codec is left as it is
        (:func:`~mne_dac.training.data_init.codebooks_from_data`).

        Parameters
        ----------
        dataset : RandomCropDataset
            Training crops; the first ones that hold as many frames as a codebook has entries
            are used (DAC-MC group crops are split into their channels).
        first : int
            The first codebook to draw.

        Returns
        -------
        self : CodecTrainer
            The trainer, its codebooks initialised in place.
        """
        from mne_dac.training.data_init import codebooks_from_data

        self.check_is_fitted(["module_"])
        dac_model = getattr(self.module_, "dac", self.module_)
        n_q = len(dac_model.quantizer.quantizers)
        if not 0 <= first < n_q:  # before reading any crop
            raise ValueError(f"first must be a codebook of the codec (0 to {n_q - 1}), got {first}")
        crops = _single_channel_crops(dataset, dac_model)
        codebooks_from_data(dac_model, crops, first=first)
        logger.info("Drew codebooks %d–%d from %d training crops.", first + 1, n_q, len(crops))
        return self

    @property
    def _default_callbacks(self) -> list[tuple[str, Callback]]:
        scores = [
            (
                f"train_{c}",
                PassthroughScoring(name=f"train_{c}", lower_is_better=None, on_train=True),
            )
            for c in _COMPONENTS
        ]
        return [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            *scores,
            ("valid_loss", PassthroughScoring(name="valid_loss")),
            (
                "lr_scheduler",
                LRScheduler(
                    policy=torch.optim.lr_scheduler.ExponentialLR,
                    gamma=0.999996,
                    step_every="batch",
                    # chain from the optimizer's current rate, also after a resume
                    last_epoch=-1,
                ),
            ),
            ("gan_schedule", GANSchedule()),
            ("fresh_crops", FreshCrops()),
            ("codec_monitor", CodecMonitor()),
            (
                "print_log",
                PrintLog(
                    keys_ignored=[
                        "event_lr",
                        "train_waveform",
                        "train_commitment",
                        "train_codebook",
                    ]
                ),
            ),
        ]

    def fft_sizes(self) -> list[int]:
        """Window sizes of the multi-resolution discriminators (see ``gan_fft_sizes``)."""
        if self.gan_fft_sizes is not None:
            return [int(n) for n in self.gan_fft_sizes]
        return [_power_of_two(self.sfreq / 2**i) for i in range(3)]

    def initialize_module(self) -> CodecTrainer:
        """Initialise the codec (with quantizer dropout) and the discriminator."""
        _check_option("waveform_loss", self.waveform_loss, ("l1", "relative-mse"))
        _check_option("codebook_update", self.codebook_update, ("ema", "gradient"))
        _check_option("trainable", self.trainable, ("all", "decoder"))
        if self.trainable == "decoder" and self.data_init:
            raise ValueError("data_init draws a new encoder and codebooks, which trainable='decoder' keeps frozen.")
        if not 0 < self.codebook_decay < 1:
            raise ValueError(f"codebook_decay must lie in (0, 1), got {self.codebook_decay}")
        super().initialize_module()
        self.module_.quantizer.quantizer_dropout = float(self.quantizer_dropout)
        if self.trainable == "decoder":
            self.module_.requires_grad_(False)
            for module in decoder_modules(self.module_):
                module.requires_grad_(True)
        self.spectral_loss_ = BandSpectralLoss(self.sfreq)
        self.code_usage_ = None
        self.gan_active_ = bool(self.gan)
        if self.gan:
            import_dac()
            from dac.model.discriminator import Discriminator

            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*weight_norm.*", category=FutureWarning)
                self.discriminator_ = Discriminator(
                    rates=[],
                    periods=list(self.gan_periods),
                    fft_sizes=self.fft_sizes(),
                    sample_rate=int(round(self.sfreq)),
                )
        return self

    def initialize_optimizer(self, *args: Any, **kwargs: Any) -> CodecTrainer:
        """Initialise the generator's and the discriminator's optimizers."""
        trained = ((name, p) for name, p in self.module_.named_parameters() if p.requires_grad)
        pgroups, opt_kwargs = self.get_params_for_optimizer("optimizer", trained)
        self.optimizer_ = self.optimizer(*pgroups, **opt_kwargs)
        if self.gan:
            shared = {k: v for k, v in opt_kwargs.items() if k != "param_groups"}
            own = self.get_params_for("optimizer_discriminator")
            pgroups_d, _ = self.get_params_for_optimizer(
                "optimizer_discriminator", self.discriminator_.named_parameters()
            )
            d_kwargs = {
                **shared,
                **{k: v for k, v in own.items() if k != "param_groups"},
            }
            self.optimizer_discriminator_ = self.optimizer(*pgroups_d, **d_kwargs)
        for name in self._optimizers:
            for group in getattr(self, name + "_").param_groups:
                group.setdefault("base_lr", group["lr"])  # saved with the optimizer state
        return self

    # ------------------------------------------------------------------ steps
    def _set_training(self, training: bool = True) -> None:
        super()._set_training(training)
        if self.trainable == "decoder":  # the encoder and the quantizer code as the codec does
            self.module_.eval()

    def _autocast(self):
        if self.mixed_precision and torch.device(self.device).type == "cuda":
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return nullcontext()

    def _signal(self, batch: Any) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        """Crops ``(batch, n_chans, n_times)``; for DAC-MC, positions ``(batch, n_chans, 3)`` and padding mask."""
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        positions = mask = None
        if isinstance(x, dict):  # group crops (RandomCropDataset with group_size or anatomical grouping)
            positions = torch.as_tensor(x["positions"], dtype=torch.float32).to(self.device)
            if "mask" in x:
                mask = torch.as_tensor(x["mask"], dtype=torch.bool).to(self.device)
            x = x["x"]
        x = torch.as_tensor(x, dtype=torch.float32).to(self.device)
        if x.ndim == 2:
            x = x[:, None]
        is_mc = hasattr(self.module_, "mc_config")
        if is_mc and positions is None:
            raise ValueError("A DAC-MC model trains on group crops: use RandomCropDataset(..., group_size=k).")
        if x.ndim != 3 or (not is_mc and x.shape[1] != 1):
            raise ValueError(f"Expected crops of shape (batch, 1, n_times), got {tuple(x.shape)}")
        if self.lambda_mel and x.shape[-1] < MIN_CROP_SAMPLES:
            raise ValueError(
                f"Crops must have at least {MIN_CROP_SAMPLES} samples (the mel loss's longest "
                f"window is {max(MEL_LOSS_CONFIG['window_lengths'])}), got {x.shape[-1]}: "
                "use longer crops."
            )
        return x, positions, mask

    def _forward(
        self, x: torch.Tensor, positions: torch.Tensor | None, mask: torch.Tensor | None = None, training: bool = False
    ) -> dict:
        """Run the codec; reconstructions are returned flat, ``(batch * n_chans, 1, n_times)``."""
        with self._autocast():
            if self.trainable == "decoder":
                out = self._decode_frozen_codes(x, positions, mask, training)
            else:
                out = self.module_(x) if positions is None else self.module_(x, positions, mask=mask)
        out["audio"] = out["audio"].float().reshape(-1, 1, x.shape[-1])
        return out

    def _decode_frozen_codes(
        self, x: torch.Tensor, positions: torch.Tensor | None, mask: torch.Tensor | None, training: bool
    ) -> dict:
        """``trainable="decoder"``: the codec's codes of ``x`` (no gradient), decoded in training from a random
        depth for a ``quantizer_dropout`` share of the batch (as DAC's quantizer dropout)."""
        model, n_times = self.module_, x.shape[-1]
        x = torch.nn.functional.pad(x, (0, -n_times % model.hop_length))
        mc = positions is not None
        with torch.no_grad():
            if mc:
                emb = model.channel_embeddings(positions.to(x.dtype))
                quantized = model.encode(x, emb, mask=mask)
                codes, latents = quantized.codes, quantized.latents
            else:
                codes, latents = model.quantizer(model.encoder(x))[1:3]
        n_q = len(model.quantizer.quantizers)
        depth = torch.full((len(x),), n_q, device=x.device)
        if training:
            n_dropped = int(len(x) * self.quantizer_dropout)
            depth[:n_dropped] = torch.randint(1, n_q + 1, (n_dropped,), device=x.device)
        used = torch.arange(n_q, device=x.device)[:, None] < depth.view(-1, *[1] * (codes.ndim - 1))
        kept = torch.where(used, codes, -1)
        y = (
            model.decode(model.from_codes(kept), emb)
            if mc
            else model.decoder(latents_from_codes(model.quantizer, kept))
        )
        return {"audio": y[..., :n_times], "codes": codes, "latents": latents}

    @staticmethod
    def _real_channels(
        x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Crops and reconstructions, flat ``(n, 1, n_times)``, without padding channels."""
        x = x.reshape(-1, 1, x.shape[-1])
        if mask is None:
            return x, y
        keep = mask.flatten()
        return x[keep], y[keep]

    def _audio(self, x: torch.Tensor):
        from audiotools import AudioSignal

        return AudioSignal(x, sample_rate=self.sfreq)

    def _mel(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        with _quiet():
            return self.criterion_(self._audio(y), self._audio(x))

    def _waveform(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        if self.waveform_loss == "l1":
            return torch.nn.functional.l1_loss(y, x)
        return relative_mse(y, x)

    def _reconstruction_losses(self, y: torch.Tensor, x: torch.Tensor) -> tuple[dict, dict]:
        """The reconstruction terms with a non-zero weight, and their weights."""
        losses = dict(mel=self._mel, waveform=self._waveform, spectral=self.spectral_loss_)
        weights = dict(mel=self.lambda_mel, waveform=self.lambda_waveform, spectral=self.lambda_spectral)
        weights = {k: w for k, w in weights.items() if w}
        return {k: losses[k](y, x) for k in weights}, weights

    def _sync_discriminator_lr(self) -> None:
        """Decay the discriminator's rate by the generator's schedule factor."""
        g = self.optimizer_.param_groups[0]
        factor = g["lr"] / g["base_lr"]
        for group in self.optimizer_discriminator_.param_groups:
            group["lr"] = group["base_lr"] * factor

    def train_step(self, batch: Any, **fit_params: Any) -> dict:
        """One discriminator update (GAN phase) and one generator update.

        Returns
        -------
        step : dict
            ``loss`` (the generator's total loss), ``y_pred`` (reconstructions) and
            ``codes``.
        """
        from dac.nn.loss import GANLoss

        self._set_training(True)
        x, positions, mask = self._signal(batch)
        out = self._forward(x, positions, mask, training=True)
        x, y = self._real_channels(x, out["audio"], mask)
        use_gan = self.gan and self.gan_active_
        if use_gan:
            gan_loss = GANLoss(self.discriminator_)
            self._sync_discriminator_lr()
            with self._autocast(), _quiet():
                disc = gan_loss.discriminator_loss(self._audio(y), self._audio(x)).float()
            self.optimizer_discriminator_.zero_grad()
            disc.backward()
            torch.nn.utils.clip_grad_norm_(self.discriminator_.parameters(), self.grad_clip_discriminator)
            self.optimizer_discriminator_.step()
        parts, weights = self._reconstruction_losses(y, x)
        reconstruction = sum(w * parts[k] for k, w in weights.items())
        if use_gan:
            parts["disc"] = disc
        learns_codes = self.trainable == "all"
        if learns_codes:
            parts["commitment"] = out["vq/commitment_loss"].float()
            parts["codebook"] = out["vq/codebook_loss"].float()
            weights.update(commitment=self.lambda_commitment)
            if self.codebook_update == "gradient":
                weights.update(codebook=self.lambda_codebook)
        if use_gan:
            with self._autocast(), _quiet():
                adv, feat = gan_loss.generator_loss(self._audio(y), self._audio(x))
            parts["adv"], parts["feat"] = adv.float(), feat.float()
            weights.update(adv=self.lambda_adv, feat=self.lambda_feat)
        loss = sum(w * parts[k] for k, w in weights.items())
        self.optimizer_.zero_grad()
        loss.backward()
        self.notify(
            "on_grad_computed",
            named_parameters=TeeGenerator(self.module_.named_parameters()),
            batch=batch,
            training=True,
        )
        grad_norm = torch.nn.utils.clip_grad_norm_(self.module_.parameters(), self.grad_clip)
        self.optimizer_.step()
        if learns_codes and self.codebook_update == "ema":
            self._update_codebooks(out["codes"], out["latents"])
        if learns_codes and self.dead_code_threshold > 0:
            self.history.record_batch("train_dead_codes", self._restart_dead_codes(out["codes"], out["latents"]))
        for key, value in parts.items():
            self.history.record_batch(f"train_{key}", float(value.detach()))
        self.history.record_batch("train_reconstruction", float(reconstruction.detach()))
        self.history.record_batch("train_grad_norm", float(grad_norm))
        return {"loss": loss.detach(), "y_pred": y.detach(), "codes": out["codes"].detach()}

    def _coded_frames(
        self, codes: torch.Tensor, latents: torch.Tensor
    ) -> Iterator[tuple[Any, torch.Tensor, torch.Tensor]]:
        """Per quantizer: the quantizer, the codes of the batch's frames and their projected latents."""
        quantizers = self.module_.quantizer.quantizers
        n_q, n_frames = len(quantizers), codes.shape[-1]
        codes = codes.reshape(-1, n_q, n_frames)
        latents = latents.reshape(codes.shape[0], n_q, -1, n_frames).float()
        for i, vq in enumerate(quantizers):
            yield vq, codes[:, i].flatten(), latents[:, i].transpose(1, 2).reshape(-1, latents.shape[2])

    @torch.no_grad()
    def _update_codebooks(self, codes: torch.Tensor, latents: torch.Tensor) -> None:
        """Move each used entry towards the mean of the projected latents it coded (``"ema"``)."""
        for vq, index, frames in self._coded_frames(codes, latents):
            counts = torch.bincount(index, minlength=vq.codebook_size).float()
            sums = torch.zeros(vq.codebook_size, frames.shape[1], device=frames.device).index_add_(0, index, frames)
            used = counts > 0
            weight = vq.codebook.weight
            rate = (1 - self.codebook_decay ** counts[used])[:, None]
            means = sums[used] / counts[used, None]
            weight[used] = (weight[used] + rate * (means - weight[used].float())).to(weight.dtype)

    @torch.no_grad()
    def _restart_dead_codes(self, codes: torch.Tensor, latents: torch.Tensor) -> int:
        """Replace rarely used codebook entries by encoder outputs of the batch; return how many.

        With Euclidean lookup a restarted entry is the batch frame itself (as in k-means).
        """
        quantizers = self.module_.quantizer.quantizers
        if self.code_usage_ is None:
            self.code_usage_ = torch.ones(len(quantizers), quantizers[0].codebook_size, device=codes.device)
        n_dead = 0
        cosine = codebook_lookup(self.module_) == "cosine"
        for i, (vq, index, frames) in enumerate(self._coded_frames(codes, latents)):
            counts = torch.bincount(index, minlength=vq.codebook_size).float()
            usage = self.code_usage_[i]
            usage.mul_(0.9).add_(0.1 * counts * vq.codebook_size / counts.sum())
            dead = usage < self.dead_code_threshold
            if dead.any():
                picks = torch.randint(len(frames), (int(dead.sum()),), device=frames.device)
                weight = vq.codebook.weight
                new = frames[picks]
                if cosine:
                    # DAC's lookup goes by direction but decodes raw vectors: a restarted entry takes the
                    # direction of a batch frame and the typical norm of the live entries
                    norm = weight[~dead].norm(dim=1).median() if (~dead).any() else frames.norm(dim=1).median()
                    new = torch.nn.functional.normalize(new, dim=1) * norm
                weight[dead] = new.to(weight.dtype)
                usage[dead] = 1.0
                n_dead += int(dead.sum())
        return n_dead

    def validation_step(self, batch: Any, **fit_params: Any) -> dict:
        """Reconstruction loss with all codebooks; crops, codes and mel loss for :class:`CodecMonitor`."""
        self._set_training(False)
        x, positions, mask = self._signal(batch)
        with torch.no_grad():
            out = self._forward(x, positions, mask)
            x, y = self._real_channels(x, out["audio"], mask)
            parts, weights = self._reconstruction_losses(y, x)
            loss = sum(w * parts[k] for k, w in weights.items())
            if "mel" in parts:
                mel = parts["mel"]
            elif x.shape[-1] >= MIN_CROP_SAMPLES:
                mel = self._mel(y, x)
            else:  # too short for the mel loss's longest window: not reported
                mel = torch.tensor(float("nan"))
        return {"loss": loss, "y_pred": y, "x": x, "codes": out["codes"], "mel": mel}

    def evaluation_step(self, batch: Any, training: bool = False) -> torch.Tensor:
        """Reconstruct a batch (used by ``forward`` and ``predict``)."""
        self.check_is_fitted()
        x, positions, mask = self._signal(batch)
        with torch.set_grad_enabled(training):
            self._set_training(training)
            return self._forward(x, positions, mask)["audio"].reshape(x.shape)


class FreshCrops(Callback):
    """Draw new training crops every epoch (:meth:`RandomCropDataset.set_epoch`)."""

    def on_epoch_begin(self, net: CodecTrainer, dataset_train: Any = None, **kwargs: Any) -> None:  # noqa: D102
        if hasattr(dataset_train, "set_epoch"):
            dataset_train.set_epoch(len(net.history) - 1)


#: Training frames an epoch needs before its codebook use can reveal a collapse.
_MIN_FRAMES_FOR_COLLAPSE = 100


class CodebookCollapseError(RuntimeError):
    """Raised when a codec's codebooks collapse during training (see :class:`CodecMonitor`)."""


class CodecMonitor(Callback):
    """Record what the codec keeps every epoch, and stop a run whose codebooks collapse.

    From the validation batches of each epoch (reconstructed with all codebooks), it records
    ``valid_prd`` (PRD in %, pooled over all crops), ``valid_err_<band>`` (relative band-power
    error of the crops' summed Welch spectra, :data:`~mne_dac.signal.metrics.BANDS` below Nyquist),
    ``valid_mel`` (DAC's mel loss, the paper's measure) and ``valid_codes_used`` (the fewest
    distinct entries any codebook used). From the training batches it records
    ``train_codes_used`` likewise.

    A codebook that uses at most ``net.min_codes_used`` of the entries it could have used
    (``min(codebook_size, frames seen)``, at least one) in an epoch's training batches (of at
    least 100 frames) has collapsed: every input is coded alike, and more training will not bring it back. Training
    then stops with :class:`CodebookCollapseError` (the last checkpoint is kept).
    """

    def on_epoch_begin(self, net: CodecTrainer, **kwargs: Any) -> None:  # noqa: D102
        self.counts_ = {True: None, False: None}
        self.energy_ = np.zeros(2)  # signal, error
        self.psd_ = None
        self.mel_ = []

    def on_batch_end(  # noqa: D102
        self, net: CodecTrainer, batch: Any = None, training: bool = False, **step: Any
    ) -> None:
        codes = step.get("codes")
        if codes is not None:
            size = net.module_.quantizer.quantizers[0].codebook_size
            codes = codes.reshape(-1, codes.shape[-2], codes.shape[-1]).transpose(0, 1).reshape(codes.shape[-2], -1)
            counts = torch.stack([torch.bincount(c, minlength=size) for c in codes.long().cpu()])
            previous = self.counts_[training]
            self.counts_[training] = counts if previous is None else previous + counts
        if training or "x" not in step:
            return
        from scipy.signal import welch

        x = step["x"].detach().float().cpu().numpy().reshape(-1, step["x"].shape[-1])
        y = step["y_pred"].detach().float().cpu().numpy().reshape(x.shape)
        self.energy_ += [np.sum(x**2), np.sum((y - x) ** 2)]
        nperseg = min(x.shape[-1], int(round(2 * net.sfreq)))
        freqs, psd = welch(np.stack([x, y]), fs=net.sfreq, nperseg=nperseg, axis=-1)
        psd = psd.sum(axis=1)
        self.freqs_, self.psd_ = freqs, psd if self.psd_ is None else self.psd_ + psd
        self.mel_.append(float(step["mel"]))

    def on_epoch_end(self, net: CodecTrainer, **kwargs: Any) -> None:  # noqa: D102
        history = net.history
        for training, prefix in ((True, "train"), (False, "valid")):
            counts = self.counts_[training]
            if counts is not None:
                history.record(f"{prefix}_codes_used", int((counts > 0).sum(1).min()))
        if self.psd_ is not None:
            history.record("valid_prd", float(100 * np.sqrt(self.energy_[1] / self.energy_[0])))
            if np.isfinite(self.mel_).all():
                history.record("valid_mel", float(np.mean(self.mel_)))
            for band, (lo, hi) in BANDS.items():
                mask = (self.freqs_ >= lo) & (self.freqs_ < hi)
                if hi <= net.sfreq / 2 and mask.any():
                    p_x, p_y = self.psd_[0, mask].sum(), self.psd_[1, mask].sum()
                    history.record(f"valid_err_{band}", float(abs(p_y - p_x) / max(p_x, np.finfo(float).tiny)))
        self._check_collapse(net)

    def _check_collapse(self, net: CodecTrainer) -> None:
        counts = self.counts_[True]
        if counts is None or not net.min_codes_used or int(counts[0].sum()) < _MIN_FRAMES_FOR_COLLAPSE:
            return
        used = (counts > 0).sum(1)
        possible = min(counts.shape[1], int(counts[0].sum()))
        collapsed = torch.nonzero(used <= max(1.0, net.min_codes_used * possible)).flatten().tolist()
        if collapsed:
            net.history.record("collapsed", True)
            raise CodebookCollapseError(
                f"Epoch {len(net.history)}: codebook collapse. Codebook(s) {collapsed} used only "
                f"{used[collapsed].tolist()} of {counts.shape[1]} entries over {possible} training frames, so every "
                "input is coded alike and training cannot recover. Start again from a data-initialised "
                "codec (data_init=True, mne-dac finetune's default from scratch) with mne-dac's recipe "
                "(relative-MSE waveform and band-spectrum losses, no mel loss from scratch, dead-code restarts), "
                "or lower the learning rate."
            )


class TimeBudget(Callback):
    """Stop training cleanly after a wall-clock budget (checked after each epoch).

    Parameters
    ----------
    minutes : float
        The budget. Training ends after the first epoch that finishes past it; the
        usual end-of-training callbacks run, so the last checkpoint is saved and a
        later run can resume from it.
    """

    def __init__(self, minutes: float) -> None:
        self.minutes = minutes

    def on_train_begin(self, net: CodecTrainer, **kwargs: Any) -> None:  # noqa: D102
        self.start_ = time.monotonic()

    def on_epoch_end(self, net: CodecTrainer, **kwargs: Any) -> None:  # noqa: D102
        if time.monotonic() - self.start_ > 60 * self.minutes:
            logger.info("Time budget of %g min reached: stopping.", self.minutes)
            raise KeyboardInterrupt  # skorch ends fit() cleanly on KeyboardInterrupt


def checkpoint_callbacks(
    dirname: str | Path,
    *,
    gan: bool = True,
    monitor: str | None = "valid_loss_best",
    resume: bool = True,
    **kwargs: Any,
) -> list[Callback]:
    """A ``Checkpoint`` that includes the discriminator, and its ``LoadInitState``.

    Parameters
    ----------
    dirname : path-like
        Folder of the checkpoint files.
    gan : bool
        Whether the trainer has a discriminator (``gan=True``), to save it and its
        optimizer (``discriminator.pt``, ``optimizer_discriminator.pt``).
    monitor : str | None
        When to save (see :class:`skorch.callbacks.Checkpoint`); ``None``: every epoch.
    resume : bool
        Also return a ``LoadInitState`` that resumes from the checkpoint, if any,
        when training starts.
    **kwargs
        Other :class:`skorch.callbacks.Checkpoint` arguments.

    Returns
    -------
    callbacks : list
        ``[Checkpoint]`` or ``[Checkpoint, LoadInitState]``.
    """
    if gan:
        kwargs.setdefault("f_discriminator", "discriminator.pt")
        kwargs.setdefault("f_optimizer_discriminator", "optimizer_discriminator.pt")
    checkpoint = Checkpoint(monitor=monitor, dirname=str(dirname), **kwargs)
    return [checkpoint, LoadInitState(checkpoint)] if resume else [checkpoint]


def prune_codebooks(codec: DACCodec, n_codebooks: int) -> DACCodec:
    """Keep only the first codebooks of a codec (pre-pruning, before training).

    Post-pruning needs no new codec: encode with ``n_codebooks`` instead.

    Parameters
    ----------
    codec : DACCodec | DACMCCodec
        The codec; it is copied and left unchanged.
    n_codebooks : int
        Number of codebooks to keep, between 1 and ``codec.n_codebooks``.

    Returns
    -------
    codec : DACCodec | DACMCCodec
        A codec of the same kind whose model has ``n_codebooks`` codebooks.
    """
    model = clone_model(codec.model, codec.check_n_codebooks(n_codebooks))
    depth = codec.default_n_codebooks
    config = replace(
        codec.get_config(),
        name=f"{codec.name}-{n_codebooks}cb",
        default_n_codebooks=None if depth is None else min(depth, n_codebooks),
    )
    return type(codec)(model, config.sfreq, **config.codec_kwargs(), **codec.runtime_options())


def plot_history(net: CodecTrainer, fname: str | Path | None = None, *, show: bool = False):
    """Plot the losses, what the codec keeps (PRD, band-power errors) and codebook use, by epoch.

    Parameters
    ----------
    net : CodecTrainer
        A trained trainer.
    fname : path-like | None
        Save the figure there (PNG), if given.
    show : bool
        Show the figure.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure: the training and validation losses; the validation PRD; the validation
        band-power errors; codebook use (the fewest entries any codebook used) and, with a
        GAN, the adversarial losses. The GAN epochs are shaded.
    """
    import matplotlib.pyplot as plt

    history = list(net.history)
    if not history:
        raise ValueError("The trainer has no history: fit it first.")
    epochs = np.array([row["epoch"] for row in history])

    def series(key: str) -> np.ndarray:
        return np.array([row.get(key, np.nan) for row in history], dtype=float)

    def plot(ax, keys: Sequence[tuple[str, str]]) -> None:
        for key, label in keys:
            values = series(key)
            if np.isfinite(values).any():
                ax.plot(epochs, values, marker=".", label=label)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize="small")

    fig, axes = plt.subplots(1, 4, figsize=(16, 3.5), layout="constrained")
    plot(axes[0], [("train_loss", "train total"), ("train_waveform", "train waveform"),
                   ("train_spectral", "train spectrum"), ("valid_loss", "valid")])  # fmt: skip
    axes[0].set(ylabel="Loss", yscale="log", title="Losses")
    plot(axes[1], [("valid_prd", "valid PRD")])
    axes[1].set(ylabel="PRD (%)", title="Waveform error (lower is better)")
    plot(axes[2], [(f"valid_err_{band}", band) for band in BANDS])
    axes[2].set(ylabel="|P_rec - P| / P", title="Band-power error (lower is better)")
    plot(axes[3], [("train_codes_used", "train"), ("valid_codes_used", "valid"),
                   ("train_adv", "GAN adversarial"), ("train_disc", "GAN discriminator")])  # fmt: skip
    axes[3].set(title="Fewest entries a codebook used")
    active = np.array([bool(row.get("gan_active", False)) for row in history])
    for ax in axes:
        for epoch in epochs[active]:
            ax.axvspan(epoch - 0.5, epoch + 0.5, color="tab:orange", alpha=0.12, lw=0)
        ax.set_xlabel("Epoch")
    if fname is not None:
        fig.savefig(fname, dpi=100)
        logger.info("Saved the training history plot to %s", fname)
    if show:
        plt.show()
    return fig
