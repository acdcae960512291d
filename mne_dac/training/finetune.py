"""Train a codec on EEG recordings with mne-dac's recipes: what ``mne-dac finetune`` runs.

:func:`finetune` gathers the recordings. By default (``init="linear-code"``, the recipe of the
shipped ``default`` codec) it builds a linear transform code of them and trains its decoder alone
(:func:`~mne_dac.training.linear_code.build_linear_codec`, :data:`~mne_dac.training.recipe.LINEAR_CODE`).
Otherwise it builds the starting codec (a shipped codec, DAC's audio weights, a codec file or a
new random DAC), cuts random crops and trains it by gradient descent with
:class:`~mne_dac.training.trainer.CodecTrainer` from a resumable checkpoint: the whole codec, or the
decoder alone of a shipped codec or codec file (its tokens kept). Either way it saves the
codec with its training summary (the settings, the command, the validation figures).
"""

from __future__ import annotations

import inspect
import json
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mne.utils import logger, verbose

from mne_dac.codecs.codec import DACCodec
from mne_dac.io.recordings import UnreadableRecordingError
from mne_dac.training.recipe import (
    DECODER_RECIPE,
    INIT_LINEAR_CODE,
    INIT_SCRATCH,
    LINEAR_CODE,
    MC_LINEAR_CODE,
    RECIPE,
    SCRATCH,
)

#: Files written by the training checkpoint in the work folder.
CHECKPOINT_FILES = (
    "params.pt",
    "optimizer.pt",
    "criterion.pt",
    "history.json",
    "discriminator.pt",
    "optimizer_discriminator.pt",
)


@dataclass(frozen=True)
class FinetuneResult:
    """What :func:`finetune` trained and wrote.

    Attributes
    ----------
    codec : DACCodec | DACMCCodec
        The trained codec, on the CPU (also saved to ``fname``).
    fname : Path
        The codec file.
    workdir : Path | None
        The checkpoint folder (none for a linear code: it is built in one go).
    summary : dict
        The training summary saved in the codec file's metadata (``training``).
    epochs_this_run : int
        Epochs trained by this call (0 when the checkpoint had them all, and for a linear code).
    planned_epochs : int
        Epochs asked for in all; fewer were trained when the time budget ran out.
    history_plot : Path | None
        The plot of the training history (none without any epoch).
    """

    codec: DACCodec
    fname: Path
    workdir: Path | None
    summary: dict
    epochs_this_run: int
    planned_epochs: int
    history_plot: Path | None


def steps_and_epochs(steps: int | None, epochs: int | None, steps_per_epoch: int | None) -> tuple[int, int]:
    """Steps per epoch and total epochs from any two of ``steps``, ``epochs``, ``steps_per_epoch``."""
    for name, value in (("steps", steps), ("epochs", epochs), ("steps_per_epoch", steps_per_epoch)):
        if value is not None and value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if steps is not None and epochs is not None:
        if steps_per_epoch is None:
            steps_per_epoch = -(-steps // epochs)
        elif steps != epochs * steps_per_epoch:
            raise ValueError(
                f"steps={steps} is not epochs={epochs} × steps_per_epoch={steps_per_epoch}: give two of the three."
            )
    steps_per_epoch = steps_per_epoch or RECIPE["steps_per_epoch"]
    if epochs is None:
        epochs = -(-(steps or RECIPE["steps"]) // steps_per_epoch)
    return steps_per_epoch, epochs


def initial_codec(
    init: str | Path,
    *,
    n_codebooks: int | None = None,
    scratch: dict | None = None,
    sfreq: float | None = None,
    seed: int = 0,
    device: str | None = None,
) -> tuple[DACCodec, int | None]:
    """The codec training starts from, and the codebooks to pre-prune it to.

    Parameters
    ----------
    init : str | path-like
        ``"scratch"`` (a new random DAC of :data:`~mne_dac.training.recipe.SCRATCH`'s architecture), a DAC
        tag, a shipped codec or the path of a DAC checkpoint or mne-dac codec file.
    n_codebooks : int | None
        ``"scratch"``: the number of codebooks; otherwise train only the first ``n_codebooks``, or add
        codebooks up to ``n_codebooks`` (drawn from the training data, see
        :meth:`~mne_dac.training.trainer.CodecTrainer.from_codec`).
    scratch : dict | None
        ``"scratch"`` only: overrides of :data:`~mne_dac.training.recipe.SCRATCH` (``codebook_size``,
        ``codebook_dim``, ``encoder_rates``, ``encoder_dim``, ``decoder_dim``, ``codebook_lookup``).
    sfreq : float | None
        EEG rate of the codec (default: the codec's own; ``"scratch"``: the recipe's).
    seed : int
        Seed of a scratch init.
    device : str | None
        Torch device.

    Returns
    -------
    codec : DACCodec
        The starting codec.
    prune : int | None
        Codebooks to pre-prune to (:meth:`CodecTrainer.from_codec
        <mne_dac.training.trainer.CodecTrainer.from_codec>`'s ``n_codebooks``).
    """
    from mne_dac.codecs.loading import DAC_TAGS, SHIPPED_CODECS, load_codec

    scratch = dict(scratch or {})
    unknown = set(scratch) - {
        "codebook_size",
        "codebook_dim",
        "encoder_rates",
        "encoder_dim",
        "decoder_dim",
        "codebook_lookup",
    }
    if unknown:
        raise ValueError(f"Unknown scratch options {sorted(unknown)}")
    if str(init) == INIT_SCRATCH:
        arch = {**SCRATCH, **scratch}
        rates = [int(r) for r in arch["encoder_rates"]]
        if any(r < 1 for r in rates):
            raise ValueError(f"encoder_rates must be positive integers, got {rates}")
        dac_kwargs = dict(
            encoder_dim=arch["encoder_dim"],
            decoder_dim=arch["decoder_dim"],
            encoder_rates=rates,
            decoder_rates=rates[::-1],
            codebook_dim=int(arch["codebook_dim"]),
            codebook_lookup=arch["codebook_lookup"],
        )
        codec = load_codec(
            "random",
            sfreq=float(sfreq or arch["sfreq"]),
            n_codebooks=n_codebooks or arch["n_codebooks"],
            codebook_size=arch["codebook_size"],
            dac_kwargs=dac_kwargs,
            seed=seed,
            device=device,
            verbose="error",
        )
        if n_codebooks is None:
            codec.default_n_codebooks = arch["default_n_codebooks"]
        return codec, None
    if scratch:
        raise ValueError(
            f"{', '.join(sorted(scratch))}: only with init {INIT_SCRATCH!r} (they define a new architecture)."
        )
    if str(init) not in DAC_TAGS and str(init) not in SHIPPED_CODECS and not Path(init).expanduser().exists():
        raise ValueError(
            f"init must be a DAC tag ({', '.join(DAC_TAGS)}), a shipped codec ({', '.join(SHIPPED_CODECS)}), "
            f"{INIT_SCRATCH!r} or the path of a DAC checkpoint or mne-dac codec; no such file: {init}"
        )
    codec = load_codec(init, sfreq=None if sfreq is None else float(sfreq), device=device, verbose="warning")
    return codec, n_codebooks


def _recordings(sources: Sequence[str | Path], what: str, exclude: Sequence[str]) -> list:
    """Recordings from folders and files, with ``exclude`` channels marked bad."""
    from mne_dac.training.crops import recordings_from

    raws = []
    for source in sources:
        path = Path(source).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"No such {what} file or folder: {path}")
        try:
            raws.extend(recordings_from(path))
        except UnreadableRecordingError as err:
            raise UnreadableRecordingError(f"Could not read {what} data {path}: {err}") from err
        except ValueError as err:  # no readable file in the folder
            raise ValueError(f"No {what} EEG in {path}: {err}") from err
    for raw in raws:
        raw.info["bads"] = sorted(set(raw.info["bads"]) | (set(exclude) & set(raw.ch_names)))
    return raws


def _crops(raws: list, what: str, **kwargs: Any):
    from mne_dac.training.crops import RandomCropDataset

    try:
        return RandomCropDataset(raws, **kwargs)
    except ValueError as err:
        raise ValueError(f"No usable EEG in the {what} data: {err}") from err


def checkpoint_epochs(workdir: Path) -> int:
    """Epochs recorded in the checkpoint of ``workdir`` (0 without one)."""
    fname = Path(workdir) / "history.json"
    if not fname.is_file():
        return 0
    try:
        return len(json.loads(fname.read_text()))
    except ValueError as err:
        raise ValueError(f"Unreadable checkpoint history {fname}: {err}") from err


def _check_checkpoint_fits(workdir: Path, model: Any, init: Any, trainable: str) -> None:
    """Fail clearly when the checkpoint's weights do not fit the codec built from ``init``, or its optimizer
    trained other parameters than ``trainable`` does."""
    from mne_dac.models.dac_model import decoder_modules

    saved = _load_checkpoint_file(workdir / "params.pt")
    shapes = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    if shapes != {k: tuple(v.shape) for k, v in saved.items()}:
        raise ValueError(
            f"The checkpoint in {workdir} does not fit the codec of init={init} (other architecture or number "
            "of codebooks): resume with the init and codec options of the run that wrote it."
        )
    if not (workdir / "optimizer.pt").is_file():
        return
    groups = _load_checkpoint_file(workdir / "optimizer.pt").get("param_groups", [])
    decoder_alone = sum(len(group["params"]) for group in groups) == sum(
        1 for module in decoder_modules(model) for _ in module.parameters()
    )
    if decoder_alone != (trainable == "decoder"):
        what, option = ("the decoder alone", "decoder") if decoder_alone else ("the whole codec", "all")
        raise ValueError(
            f"The checkpoint in {workdir} trained {what}: resume it with --train {option} (trainable={option!r})."
        )


def _load_checkpoint_file(fname: Path) -> dict:
    """A checkpoint file's tensors (weights only: never code); a :class:`ValueError` when it does not load."""
    import torch

    try:
        return torch.load(fname, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file
        raise ValueError(f"Unreadable checkpoint {fname}: {type(err).__name__}: {err}") from err


@verbose
def finetune(
    data: Sequence[str | Path],
    fname: str | Path,
    *,
    init: str | Path = INIT_LINEAR_CODE,
    valid: Sequence[str | Path] | None = None,
    exclude: Sequence[str] = (),
    name: str | None = None,
    model: str | None = None,
    layout: str = "channel",
    pooling: str = "mean",
    grouping: str = "pivot",
    group_size: int = 4,
    n_codebooks: int | None = None,
    default_n_codebooks: int | None = None,
    scratch: dict | None = None,
    sfreq: float | None = None,
    crop: float = RECIPE["crop_seconds"],
    batch_size: int = RECIPE["batch_size"],
    steps: int | None = None,
    epochs: int | None = None,
    steps_per_epoch: int | None = None,
    valid_crops: int = 64,
    minutes: float | None = None,
    seed: int = 0,
    workdir: str | Path | None = None,
    resume: bool = False,
    overwrite: bool = False,
    device: str | None = None,
    workers: int = 0,
    progress: bool = True,
    command: str | None = None,
    verbose: bool | str | int | None = None,
    **trainer_kwargs: Any,
) -> FinetuneResult:
    """Train a codec on EEG recordings with mne-dac's recipe (what ``mne-dac finetune`` runs).

    Parameters
    ----------
    data : sequence of path-like
        Training EEG: folders (searched recursively) or files.
    fname : path-like
        The codec file to write (``.pt``), loadable with :func:`~mne_dac.load_codec`.
    init : str | path-like
        ``"linear-code"`` (default: the shipped default codec's recipe, :data:`~mne_dac.training.recipe.LINEAR_CODE`,
        or with ``model="mc"`` :data:`~mne_dac.training.recipe.MC_LINEAR_CODE`: a linear code of the
        recordings, then ``steps`` steps of its decoder alone), or the codec that gradient training
        starts from (see :func:`initial_codec`): ``"scratch"`` (the gradient recipe's architecture,
        at random), a DAC tag (the paper's audio-pretrained start), a shipped codec or a file. An
        mne-dac codec (shipped, or a codec file; :func:`is_codec_of_mne_dac`) is adapted by training
        its decoder alone (``trainable="decoder"``: its tokens do not change), unless ``model="mc"``
        wraps a DAC-SC codec in new DAC-MC layers; pass ``trainable="all"`` to train all of it.
    valid : sequence of path-like | None
        Validation EEG: the same ``valid_crops`` crops are scored every epoch.
    exclude : sequence of str
        Channels never to train on (ECG…).
    name : str | None
        The codec's name (default: the file's stem).
    model : ``"sc"`` | ``"mc"`` | None
        DAC-SC, or DAC-MC around the codec (default: the kind of ``init``, else DAC-SC).
    layout, pooling, grouping, group_size
        DAC-MC: token layout, how the ``"group"`` layout pools a group (see
        :class:`~mne_dac.models.mc_model.DACMC`), and the groups of the training crops and the
        codec's default partition (see :class:`~mne_dac.DACMCCodec`).
    n_codebooks : int | None
        ``"linear-code"`` and ``"scratch"``: the number of codebooks; otherwise train only the first
        ``n_codebooks``, or add codebooks up to ``n_codebooks`` (drawn from the training data, see
        :meth:`~mne_dac.training.trainer.CodecTrainer.from_codec`).
    default_n_codebooks : int | None
        The codebooks the trained codec codes with when none are asked for (a deep codec at a
        modest default rate). ``None``: the recipe's, or the starting codec's default depth where
        the trained codec has that many codebooks, else all of them.
    scratch : dict | None
        Overrides of the recipe's architecture: ``"scratch"``: of :data:`~mne_dac.training.recipe.SCRATCH`;
        ``"linear-code"``: ``encoder_rates`` and ``codebook_dim``.
    sfreq : float | None
        EEG rate the codec works at (default: the codec's).
    crop, batch_size : float, int
        Crop duration (s) and crops per step.
    steps, epochs, steps_per_epoch : int | None
        Length of the run, resumed epochs included: any two (default: 10,000 steps of
        50 per epoch). Each epoch draws fresh crops and ends with a checkpoint and a validation.
        ``"linear-code"``: ``steps`` only, the decoder's (default: the recipe's).
    valid_crops : int
        Validation crops.
    minutes : float | None
        Time budget of this call: training stops after the epoch that exceeds it.
    seed : int
        Seed of the crops and of a scratch init.
    workdir : path-like | None
        Checkpoint folder (default: ``<fname>.work``).
    resume : bool
        Continue from the checkpoint in ``workdir``, if any, up to the run's length, with the codec and
        ``trainable`` of the run that wrote it (a :class:`ValueError` otherwise).
    overwrite : bool
        Replace an existing codec file, and the checkpoint of an earlier run.
    device : str | None
        Torch device.
    workers : int
        Data-loading worker processes.
    progress : bool
        Print the per-epoch table.
    command : str | None
        The command line to record in the summary (the command line sets it).
    %(verbose)s
    **trainer_kwargs
        :class:`~mne_dac.training.trainer.CodecTrainer` arguments (``lr``, ``lambda_spectral``,
        ``codebook_update``, ``gan``, ``trainable``…); the trainer's defaults are the gradient
        recipe's (:data:`~mne_dac.training.recipe.RECIPE`), and with ``trainable="decoder"``
        :data:`~mne_dac.training.recipe.DECODER_RECIPE`'s, whose codebook options (``codebook_update``,
        ``dead_code_threshold``…) are refused.

    Returns
    -------
    result : FinetuneResult
        The trained codec and what was written.
    """
    import torch

    from mne_dac._version import __version__
    from mne_dac.codecs.mc_codec import DACMCCodec
    from mne_dac.training.trainer import MIN_CROP_SAMPLES, CodecTrainer, TimeBudget, checkpoint_callbacks

    fname = Path(fname).expanduser()
    if fname.exists() and not overwrite:
        raise FileExistsError(f"{fname} exists; use --overwrite (overwrite=True) to replace it.")
    if str(init) == INIT_LINEAR_CODE:
        given = dict(locals())
        gradient_only = [k for k, p in inspect.signature(finetune).parameters.items()
                         if k in _GRADIENT_ONLY and given[k] != p.default] + _changed_trainer_options(trainer_kwargs)  # fmt: skip
        if gradient_only:
            raise ValueError(
                f"init={INIT_LINEAR_CODE!r} builds a linear code and trains its decoder alone, in one go: "
                f"{', '.join(gradient_only)} only apply to gradient training (init 'scratch', a codec or a DAC tag)."
            )
        return _finetune_linear_code(
            data, fname, valid=valid, exclude=exclude, name=name, model=model, group_size=group_size,
            n_codebooks=n_codebooks, default_n_codebooks=default_n_codebooks, scratch=scratch, steps=steps,
            seed=seed, overwrite=overwrite, progress=progress, command=command,
        )  # fmt: skip
    workdir = Path(workdir).expanduser() if workdir else fname.with_name(fname.name + ".work")
    done = checkpoint_epochs(workdir)
    start_over = bool(done) and not resume
    if start_over and not overwrite:
        raise FileExistsError(
            f"{workdir} holds the checkpoint of an earlier run ({done} epochs): use --resume (resume=True) "
            "to continue it, or --overwrite (overwrite=True) to start over."
        )
    gan = trainer_kwargs.get("gan", False)
    if resume and done and gan and not (workdir / "discriminator.pt").is_file():
        raise ValueError(f"The checkpoint in {workdir} was trained without the GAN: resume it without the GAN.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    per_epoch, epochs = steps_and_epochs(steps, epochs, steps_per_epoch)
    torch.manual_seed(seed)

    codec, prune = initial_codec(init, n_codebooks=n_codebooks, scratch=scratch, sfreq=sfreq, seed=seed, device=device)
    new_layers = model == "mc" and not isinstance(codec, DACMCCodec)  # DAC-MC's attention, to train
    trainer_kwargs = _trainable(trainer_kwargs, is_codec_of_mne_dac(init) and not new_layers)
    if new_layers:
        slots = {"pooling": pooling, "n_slots": group_size} if pooling == "slots" else {}
        codec = DACMCCodec.from_codec(codec, layout=layout, grouping=grouping, group_size=group_size, **slots)
    elif model == "sc" and isinstance(codec, DACMCCodec):
        raise ValueError(f"init {init} is a DAC-MC codec: train it with --model mc (model='mc').")
    mc = isinstance(codec, DACMCCodec)
    if mc and codec.model.max_group_size is not None and codec.grouping != "pivot":
        raise ValueError(
            f"A DAC-MC codec with slots trains on pivot groups (grouping='pivot'): the head's regions can hold more "
            f"than its {codec.model.max_group_size} channels."
        )
    if mc:
        pivot = codec.grouping == "pivot"
        groups = f"random-pivot groups of {codec.group_size} channels" if pivot else "anatomical regions"
        logger.info("Training DAC-MC (%s layout) on %s.", codec.layout, groups)
    crop_samples = round(crop * codec.sfreq)
    if trainer_kwargs.get("lambda_mel") and crop_samples < MIN_CROP_SAMPLES:
        raise ValueError(
            f"crop={crop:g} s is {crop_samples} samples at {codec.sfreq:g} Hz; the mel loss needs at least "
            f"{MIN_CROP_SAMPLES} ({MIN_CROP_SAMPLES / codec.sfreq:.2f} s)."
        )
    train_raws = _recordings(data, "training", exclude)  # after the options are checked: reading takes long
    valid_raws = _recordings(valid, "validation", exclude) if valid else None
    crop_options = dict(
        codec_sfreq=codec.sfreq,
        crop_duration=crop,
        preprocessing=codec.preprocessing,
        channel_levels=codec.channel_levels,
        group_size=codec.group_size if mc and codec.grouping == "pivot" else None,
        grouping=codec.grouping if mc else "pivot",
    )
    train = _crops(train_raws, "training", n_crops=per_epoch * batch_size, seed=seed, **crop_options)
    valid_set = None
    if valid_raws is not None:
        valid_set = _crops(valid_raws, "validation", n_crops=valid_crops, seed=10_000, **crop_options)

    from skorch.helper import predefined_split

    if start_over:  # only now that the data and the codec are known to be fine
        for checkpoint_file in CHECKPOINT_FILES:
            (workdir / checkpoint_file).unlink(missing_ok=True)
        done = 0
    workdir.mkdir(parents=True, exist_ok=True)
    callbacks = checkpoint_callbacks(workdir, gan=gan, monitor=None, resume=resume)
    if minutes is not None:
        callbacks.append(TimeBudget(minutes))
    trainer_kwargs.setdefault("data_init", str(init) == INIT_SCRATCH)
    net = CodecTrainer.from_codec(
        codec,
        n_codebooks=prune,
        batch_size=batch_size,
        max_epochs=max(epochs - done, 0),
        train_split=None if valid_set is None else predefined_split(valid_set),
        iterator_train__shuffle=True,
        iterator_train__num_workers=workers,
        callbacks=callbacks,
        verbose=int(progress),
        **trainer_kwargs,
    )
    if resume and not done:
        logger.info("No checkpoint in %s: starting from init=%s.", workdir, init)
    if net.data_init and not (resume and done):
        logger.info("Initialising the scratch codec from training crops (LSUV gains, codebooks drawn from the data).")
    if resume and done:
        _check_checkpoint_fits(workdir, net.module, init, net.trainable)
    start = time.monotonic()
    if epochs > done:
        net.fit(train)
    else:  # already trained that far: just reload the checkpoint
        logger.info("The checkpoint in %s already has %d epochs (of %d): nothing to train.", workdir, done, epochs)
        net.initialize()
        net.load_params(checkpoint=callbacks[0])
    wall = time.monotonic() - start

    history = net.history
    summary = _summary(net, codec, init, prune, data, valid, train, crop, per_epoch, seed, wall)
    summary.update(mne_dac_version=__version__, command=command, device=f"{net.device} ({platform.machine()}, "
                   f"{torch.get_num_threads()} CPU threads)")  # fmt: skip
    mc_settings = dict(grouping=codec.grouping, group_size=codec.group_size) if mc else {}
    trained = net.to_codec(name=name or fname.stem, device="cpu", **mc_settings)
    depth = codec.default_n_codebooks if default_n_codebooks is None else default_n_codebooks
    if depth is not None and (default_n_codebooks is not None or depth <= trained.n_codebooks):
        trained.default_n_codebooks = depth
    trained.save(fname, overwrite=overwrite, metadata=dict(training=summary))
    plot = None
    if len(history):
        plot = fname.with_name(fname.stem + "_history.png")
        _plot_history(net, plot)
    return FinetuneResult(trained, fname, workdir, summary, len(history) - done, epochs, plot)


#: :class:`~mne_dac.training.trainer.CodecTrainer`'s options of codebook learning, which decoder-only training
#: does not use.
_CODE_LEARNING = ("lambda_commitment", "lambda_codebook", "dead_code_threshold", "codebook_update", "codebook_decay")


def _trainable(trainer_kwargs: dict, decoder: bool) -> dict:
    """``trainer_kwargs`` with ``trainable`` (default: ``"decoder"`` if ``decoder``, else ``"all"``) and, for the
    decoder alone, :data:`~mne_dac.training.recipe.DECODER_RECIPE`'s defaults; codebook options are refused there."""
    trainer_kwargs = {"trainable": "decoder" if decoder else "all", **trainer_kwargs}
    if trainer_kwargs["trainable"] != "decoder":
        return trainer_kwargs
    code_learning = [k for k in _changed_trainer_options(trainer_kwargs) if k in _CODE_LEARNING]
    if code_learning:
        raise ValueError(
            f"trainable='decoder' keeps the codec's encoder and codebooks: {', '.join(code_learning)} only apply to "
            "training the whole codec (trainable='all', --train all)."
        )
    return {**DECODER_RECIPE, **trainer_kwargs}


def is_codec_of_mne_dac(init: str | Path) -> bool:
    """Whether ``init`` is an EEG codec of mne-dac (shipped, or a codec file it saved), which :func:`finetune`
    adapts by training its decoder alone, not DAC's weights, a DAC checkpoint or a new codec."""
    from mne_dac.codecs.codec_file import is_safetensors
    from mne_dac.codecs.loading import SHIPPED_CODECS

    if str(init) in SHIPPED_CODECS:
        return True
    path = Path(init).expanduser()
    return path.is_file() and is_safetensors(path)


#: :func:`finetune`'s options that only gradient training uses.
_GRADIENT_ONLY = ("layout", "pooling", "grouping", "sfreq", "crop", "batch_size", "epochs", "steps_per_epoch",
                  "valid_crops", "minutes", "workdir", "resume", "device", "workers")  # fmt: skip


def _changed_trainer_options(trainer_kwargs: dict) -> list[str]:
    """The :class:`~mne_dac.training.trainer.CodecTrainer` options of ``trainer_kwargs`` not at their default."""
    from mne_dac.training.trainer import CodecTrainer

    defaults = {k: p.default for k, p in inspect.signature(CodecTrainer.__init__).parameters.items()}
    gan = trainer_kwargs.get("gan", False)
    return sorted(k for k, v in trainer_kwargs.items()
                  if not (k.startswith("gan_") and not gan) and (k not in defaults or v != defaults[k]))  # fmt: skip


def _finetune_linear_code(data, fname: Path, *, valid, exclude, name, model, group_size, n_codebooks,
                          default_n_codebooks, scratch, steps, seed, overwrite, progress, command) -> FinetuneResult:  # fmt: skip
    """:func:`finetune` with ``init="linear-code"``: build the recipe's linear code and train its decoder."""
    import torch

    from mne_dac._version import __version__
    from mne_dac.training.linear_code import build_linear_codec

    scratch = dict(scratch or {})
    unknown = sorted(set(scratch) - {"encoder_rates", "codebook_dim"})
    if unknown:
        raise ValueError(
            f"init={INIT_LINEAR_CODE!r} keeps the recipe's architecture: {', '.join(unknown)} cannot be set."
        )
    mc = model == "mc"
    settings = {**(MC_LINEAR_CODE if mc else LINEAR_CODE), **scratch}
    for key, value in (("n_codebooks", n_codebooks), ("default_n_codebooks", default_n_codebooks),
                       ("decoder_steps", steps), ("group_size", group_size if mc else None)):  # fmt: skip
        if value is not None:
            settings[key] = value
    torch.manual_seed(seed)
    train_raws = _recordings(data, "training", exclude)
    valid_raws = _recordings(valid, "validation", exclude) if valid else []
    start = time.monotonic()
    code = build_linear_codec(train_raws, **settings, seed=seed, progress=progress)
    wall = time.monotonic() - start
    codec = code.codec
    codec.name = name or fname.stem
    summary = dict(
        init=INIT_LINEAR_CODE,
        architecture=codec.architecture,
        settings={k: list(v) if isinstance(v, tuple) else v for k, v in settings.items()},
        data=[str(Path(d).expanduser().resolve()) for d in data],
        n_recordings=len(train_raws),
        n_frames=code.n_frames,
        frame_prd=[round(float(p), 3) for p in code.frame_prd],
        valid=[str(Path(d).expanduser().resolve()) for d in valid] if valid else None,
        validation=_validate_linear_code(codec, valid_raws) if valid_raws else None,
        seed=seed,
        wall_time_minutes_this_run=round(wall / 60, 2),
        mne_dac_version=__version__,
        command=command,
        device=f"cpu ({platform.machine()}, {torch.get_num_threads()} CPU threads)",
    )
    codec.save(fname, overwrite=overwrite, metadata=dict(training=summary))
    return FinetuneResult(codec, fname, None, summary, 0, 0, None)


def _validate_linear_code(codec: DACCodec, raws: list) -> dict:
    """What the codec keeps of ``raws``' EEG channels (not marked bad) at its default depth: PRD and band-power
    errors (:func:`~mne_dac.signal.metrics.fidelity_report`, averaged over recordings) of its tokens with their band
    gains, bits per second per channel (the gains' share apart too), and the fewest entries a codebook used in all
    of them."""
    import numpy as np

    from mne_dac.io.raw import reconstruct_raw, tokenize_raw
    from mne_dac.signal.metrics import fidelity_report

    reports, codes, bits, gain_bits = [], [], [], []
    for raw in raws:
        eeg = raw.copy().pick("eeg", exclude="bads")
        tokens = tokenize_raw(eeg, codec, verbose="error")
        reports.append(fidelity_report(eeg, reconstruct_raw(tokens, codec, verbose="error"), verbose="error").overall)
        codes.append(tokens.codes.transpose(1, 0, 2).reshape(tokens.codes.shape[1], -1))
        bits.append(tokens.bits_per_second + tokens.band_gain_bits_per_second)
        gain_bits.append(tokens.band_gain_bits_per_second)
    codes = np.concatenate(codes, axis=1)
    return dict(
        n_codebooks=len(codes),
        bits_per_second=float(np.mean(bits)),
        band_gain_bits_per_second=float(np.mean(gain_bits)),
        **{
            key: float(np.mean([r[key] for r in reports]))
            for key in reports[0]
            if key == "prd" or key.startswith("err_")
        },
        codes_used=min(len(np.unique(codebook)) for codebook in codes),
    )


def _summary(net, codec, init, prune, data, valid, train, crop, per_epoch, seed, wall) -> dict:
    """The training summary saved with the codec: settings, curve and best figures."""
    from mne_dac.models.dac_model import codebook_lookup

    history = net.history
    column = lambda key: [row[key] for row in history if key in row]  # noqa: E731
    valid_mel, valid_prd, train_mel = column("valid_mel"), column("valid_prd"), column("train_mel")
    curve_keys = (
        "epoch", "train_loss", "train_waveform", "train_spectral", "valid_loss", "valid_prd", "valid_mel",
        "train_codes_used", "valid_codes_used", "dur",
    ) + tuple(k for k in (history[-1] if len(history) else {}) if k.startswith("valid_err_"))  # fmt: skip
    diverged = [row["epoch"] for row in history if row.get("gan_diverged", False)]
    mc = hasattr(codec, "layout")
    return dict(
        init=str(init),
        architecture=codec.architecture,
        layout=codec.layout if mc else None,
        grouping=codec.grouping if mc else None,
        group_size=codec.group_size if mc and codec.grouping == "pivot" else None,
        pre_pruned_to=prune,
        data=[str(Path(d).expanduser().resolve()) for d in data],
        n_recordings=len(train.recordings),
        valid=[str(Path(d).expanduser().resolve()) for d in valid] if valid else None,
        sfreq=codec.sfreq,
        crop_seconds=crop,
        batch_size=net.batch_size,
        lr=net.lr,
        data_init=net.data_init,
        trainable=net.trainable,
        lambda_mel=net.lambda_mel,
        waveform_loss=net.waveform_loss,
        lambda_waveform=net.lambda_waveform,
        lambda_spectral=net.lambda_spectral,
        restart_dead_codes=net.dead_code_threshold,
        codebook_update=net.codebook_update,
        codebook_lookup=codebook_lookup(net.module_),
        steps_per_epoch=per_epoch,
        epochs=len(history),
        steps=len(history) * per_epoch,
        gan=net.gan,
        gan_epochs=sum(bool(row.get("gan_active", False)) for row in history),
        gan_periods=list(net.gan_periods) if net.gan else None,
        gan_fft_sizes=net.gan_fft_sizes if net.gan else None,
        gan_diverged_at_epoch=diverged[0] if diverged else None,
        final_train_mel=train_mel[-1] if train_mel else None,
        best_valid_mel=min(valid_mel) if valid_mel else None,
        final_valid_mel=valid_mel[-1] if valid_mel else None,
        best_valid_prd=min(valid_prd) if valid_prd else None,
        final_valid_prd=valid_prd[-1] if valid_prd else None,
        curve=[{k: row[k] for k in curve_keys if k in row} for row in history],
        seed=seed,
        wall_time_minutes_this_run=round(wall / 60, 2),
        wall_time_minutes_total=round(sum(row.get("dur", 0.0) for row in history) / 60, 2),
    )


def _plot_history(net, fname: Path) -> None:
    import sys

    import matplotlib

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from mne_dac.training.trainer import plot_history

    plt.close(plot_history(net, fname))
