"""The ``mne-dac`` command line: compress, decompress, inspect, demo, fine-tune."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from .recipe import RECIPE, SCRATCH

#: Inputs longer than this (seconds) get a progress bar.
PROGRESS_MIN_DURATION = 300.0

#: Output formats of ``mne-dac decompress``.
DECOMPRESS_FORMATS = (".fif", ".edf")


class CLIError(Exception):
    """An error reported to the user as one line, without a traceback."""


def _compress(args: argparse.Namespace) -> None:
    import mne_dac

    from .recordings import read_recording

    out = Path(args.output)
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; use --overwrite to replace it.")
    raw = read_recording(args.input)
    if args.exclude:
        missing = sorted(set(args.exclude) - set(raw.ch_names))
        if missing:
            raise CLIError(f"--exclude: no channel(s) {missing} in {args.input}; channels: {raw.ch_names}")
        raw.set_channel_types(dict.fromkeys(args.exclude, "misc"), verbose="error")
    progress = raw.duration > PROGRESS_MIN_DURATION and not args.quiet
    codec = mne_dac.load_codec(args.codec, device=args.device)
    try:
        codec.check_groups(args.groups)
    except ValueError as err:
        raise CLIError(f"--groups: {err}") from err
    mne_dac.write_raw_dac(
        out, raw, codec=codec, n_codebooks=args.n_codebooks, overwrite=args.overwrite, groups=args.groups,
        progress=progress,
    )  # fmt: skip
    _print_info(out)


def _compress_dir(args: argparse.Namespace) -> None:
    from .bulk import compress_dir, summarize_index

    index = compress_dir(
        args.in_dir, args.out_dir, args.codec, n_codebooks=args.n_codebooks, groups=args.groups,
        exclude=args.exclude, extensions=args.ext, n_jobs=args.n_jobs, n_threads=args.threads, overwrite=args.overwrite,
        fidelity=args.fidelity, index=args.index, device=args.device, progress=not args.quiet, verbose="warning",
    )  # fmt: skip
    print(summarize_index(index))
    failed = int((index["status"] == "failed").sum())
    if failed:
        raise CLIError(f"{failed} of {len(index)} recordings failed (listed above and in the index).")


def _decompress(args: argparse.Namespace) -> None:
    import mne_dac

    from .raw import save_reconstruction

    out = Path(args.output)
    suffix = out.suffix.lower()
    if suffix not in DECOMPRESS_FORMATS:
        raise CLIError(f"Output must end with one of {DECOMPRESS_FORMATS}, got {out.name!r}")
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; use --overwrite to replace it.")
    tokens = mne_dac.read_tokens(args.input)
    progress = tokens.duration > PROGRESS_MIN_DURATION and not args.quiet
    raw = mne_dac.reconstruct_raw(tokens, args.codec, n_codebooks=args.n_codebooks, progress=progress)
    save_reconstruction(raw, out, overwrite=args.overwrite)
    print(f"Wrote {out}: {len(raw.ch_names)} channels, {raw.duration:.1f} s at {raw.info['sfreq']:g} Hz")
    print(raw.info["description"])


def _print_info(fname: str | Path) -> None:
    from .container import describe_file

    print(describe_file(fname))


def _info(args: argparse.Namespace) -> None:
    _print_info(args.file)


def _demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    run_demo(args.out_dir, codec=args.codec, n_codebooks=args.n_codebooks, show=False)


# ---------------------------------------------------------------------------- finetune
#: ``--init`` value for a randomly initialised DAC (the paper's from-scratch baseline).
INIT_SCRATCH = "scratch"

#: Default optimizer steps per epoch and in total.
FINETUNE_STEPS_PER_EPOCH = RECIPE["steps_per_epoch"]
FINETUNE_STEPS = 10_000

#: Files written by the training checkpoint in ``--workdir``.
_CHECKPOINT_FILES = (
    "params.pt",
    "optimizer.pt",
    "criterion.pt",
    "history.json",
    "discriminator.pt",
    "optimizer_discriminator.pt",
)


def _gather_recordings(sources: Sequence[str], what: str, exclude: Sequence[str]) -> list:
    """Recordings from folders and files, with ``exclude`` channels marked bad."""
    from .crops import recordings_from

    raws = []
    for source in sources:
        path = Path(source).expanduser()
        if not path.exists():
            raise CLIError(f"No such {what} file or folder: {path}")
        try:
            raws.extend(recordings_from(path))
        except Exception as err:  # MNE's readers raise ValueError, OSError, KeyError…
            if path.is_dir() and isinstance(err, ValueError):  # no readable file in the folder
                raise CLIError(f"No {what} EEG in {path}: {err}") from err
            raise CLIError(
                f"Could not read {what} {path} as EEG ({type(err).__name__}: {err}). Supported: "
                "any format mne.io.read_raw reads (EDF, BDF, FIF, BrainVision, EEGLAB…)."
            ) from err
    for raw in raws:
        raw.info["bads"] = sorted(set(raw.info["bads"]) | (set(exclude) & set(raw.ch_names)))
    return raws


def _crop_dataset(raws: list, what: str, sources: Sequence[str], **kwargs):
    from .crops import RandomCropDataset

    try:
        return RandomCropDataset(raws, **kwargs)
    except ValueError as err:
        raise CLIError(f"No usable EEG in the {what} data {' '.join(sources)}: {err}") from err


def _init_codec(args: argparse.Namespace):
    """The codec training starts from (``--init``), and the codebooks to pre-prune it to."""
    from .loading import DAC_TAGS, SHIPPED_CODECS, load_codec

    init = args.init
    scratch_only = {
        "--codebook-size": args.codebook_size,
        "--encoder-dim": args.encoder_dim,
        "--decoder-dim": args.decoder_dim,
        "--rates": args.rates,
        "--codebook-lookup": args.codebook_lookup,
    }
    if init == INIT_SCRATCH:
        rates = list(args.rates or SCRATCH["encoder_rates"])
        if any(r < 1 for r in rates):
            raise CLIError(f"--rates must be positive integers, got {rates}")
        dac_kwargs = dict(
            encoder_dim=args.encoder_dim or SCRATCH["encoder_dim"],
            decoder_dim=args.decoder_dim or SCRATCH["decoder_dim"],
            encoder_rates=rates,
            decoder_rates=rates[::-1],
            codebook_lookup=args.codebook_lookup or SCRATCH["codebook_lookup"],
        )
        codec = load_codec(
            "random",
            sfreq=float(args.sfreq or SCRATCH["sfreq"]),
            n_codebooks=args.n_codebooks or SCRATCH["n_codebooks"],
            codebook_size=args.codebook_size or SCRATCH["codebook_size"],
            dac_kwargs=dac_kwargs,
            seed=args.seed,
            device=args.device,
            verbose="error",
        )
        return codec, None
    given = [name for name, value in scratch_only.items() if value is not None]
    if given:
        raise CLIError(f"{', '.join(given)}: only with --init {INIT_SCRATCH} (they define a new architecture).")
    if init not in DAC_TAGS and init not in SHIPPED_CODECS and not Path(init).expanduser().exists():
        raise CLIError(
            f"--init must be a DAC tag ({', '.join(DAC_TAGS)}), a shipped codec ({', '.join(SHIPPED_CODECS)}), "
            f"{INIT_SCRATCH!r} or the "
            f"path of a DAC checkpoint or mne-dac codec; no such file: {init}"
        )
    sfreq = None if args.sfreq is None else float(args.sfreq)
    codec = load_codec(init, sfreq=sfreq, device=args.device, verbose="warning")
    return codec, args.n_codebooks  # pre-pruned by CodecTrainer.from_codec


def _steps_and_epochs(args: argparse.Namespace) -> tuple[int, int]:
    """Steps per epoch and total epochs from ``--steps``, ``--epochs``, ``--steps-per-epoch``."""
    for name in ("steps", "epochs", "steps_per_epoch", "batch_size"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise CLIError(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    steps, epochs, per_epoch = args.steps, args.epochs, args.steps_per_epoch
    if steps is not None and epochs is not None:
        if per_epoch is None:
            per_epoch = math.ceil(steps / epochs)
        elif steps != epochs * per_epoch:
            raise CLIError(
                f"--steps {steps} is not --epochs {epochs} × --steps-per-epoch {per_epoch}: give two of the three."
            )
    per_epoch = per_epoch or FINETUNE_STEPS_PER_EPOCH
    if epochs is None:
        epochs = math.ceil((steps or FINETUNE_STEPS) / per_epoch)
    return per_epoch, epochs


def _checkpoint_epochs(workdir: Path) -> int:
    """Epochs recorded in the checkpoint of ``workdir`` (0 without one)."""
    import json

    fname = workdir / "history.json"
    if not fname.is_file():
        return 0
    try:
        return len(json.loads(fname.read_text()))
    except ValueError as err:
        raise CLIError(f"Unreadable checkpoint history {fname}: {err}") from err


def _check_checkpoint_fits(workdir: Path, model, init: str) -> None:
    """Fail clearly when the checkpoint's weights do not fit the codec built from ``--init``."""
    import torch

    fname = workdir / "params.pt"
    try:
        saved = torch.load(fname, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file
        raise CLIError(f"Unreadable checkpoint {fname}: {type(err).__name__}: {err}") from err
    current = model.state_dict()
    shapes = {k: tuple(v.shape) for k, v in current.items()}
    if shapes != {k: tuple(v.shape) for k, v in saved.items()}:
        raise CLIError(
            f"The checkpoint in {workdir} does not fit the codec of --init {init} (other architecture or "
            "number of codebooks): resume with the --init and codec options of the run that wrote it."
        )


def _finetune(args: argparse.Namespace) -> None:
    import platform
    import shlex
    import time

    import torch

    from ._version import __version__
    from .mc_codec import DACMCCodec
    from .training import (
        MIN_CROP_SAMPLES,
        CodebookCollapseError,
        CodecTrainer,
        TimeBudget,
        checkpoint_callbacks,
        plot_history,
    )

    out = Path(args.out).expanduser()
    if out.exists() and not args.overwrite:
        raise CLIError(f"{out} exists; use --overwrite to replace it.")
    workdir = Path(args.workdir).expanduser() if args.workdir else out.with_name(out.name + ".work")
    done = _checkpoint_epochs(workdir)
    start_over = bool(done) and not args.resume
    if start_over and not args.overwrite:
        raise CLIError(
            f"{workdir} holds the checkpoint of an earlier run ({done} epochs): use --resume to "
            "continue it, or --overwrite to start over."
        )
    if args.resume and done and args.gan and not (workdir / "discriminator.pt").is_file():
        raise CLIError(f"The checkpoint in {workdir} was trained without the GAN: resume it with --no-gan.")
    per_epoch, epochs = _steps_and_epochs(args)
    torch.manual_seed(args.seed)

    train_raws = _gather_recordings(args.data, "training", args.exclude)
    valid_raws = _gather_recordings(args.valid, "validation", args.exclude) if args.valid else None
    codec, prune = _init_codec(args)
    mc = {}
    if args.model == "mc" and not isinstance(codec, DACMCCodec):
        codec = DACMCCodec.from_codec(codec, layout=args.layout, grouping=args.grouping, group_size=args.group_size)
    elif args.model == "sc" and isinstance(codec, DACMCCodec):
        raise CLIError(f"--init {args.init} is a DAC-MC codec: train it with --model mc.")
    if isinstance(codec, DACMCCodec):
        mc = dict(grouping=codec.grouping, group_size=codec.group_size)
        pivot = codec.grouping == "pivot"
        groups = f"random-pivot groups of {codec.group_size} channels" if pivot else "anatomical regions"
        print(f"Training DAC-MC ({codec.layout} layout) on {groups}.")
    crop_samples = round(args.crop * codec.sfreq)
    if args.lambda_mel and crop_samples < MIN_CROP_SAMPLES:
        raise CLIError(
            f"--crop {args.crop:g} s is {crop_samples} samples at {codec.sfreq:g} Hz; the mel loss needs at "
            f"least {MIN_CROP_SAMPLES} ({MIN_CROP_SAMPLES / codec.sfreq:.2f} s)."
        )
    crops = dict(
        codec_sfreq=codec.sfreq,
        crop_duration=args.crop,
        preprocessing=codec.preprocessing,
        group_size=mc["group_size"] if mc.get("grouping") == "pivot" else None,
        grouping=mc.get("grouping", "pivot"),
    )
    train = _crop_dataset(
        train_raws, "training", args.data, n_crops=per_epoch * args.batch_size, seed=args.seed, **crops
    )
    valid = None
    if valid_raws is not None:
        valid = _crop_dataset(valid_raws, "validation", args.valid, n_crops=args.valid_crops, seed=10_000, **crops)

    from skorch.helper import predefined_split

    if start_over:  # --overwrite: only now that data and codec are known to be fine
        for name in _CHECKPOINT_FILES:
            (workdir / name).unlink(missing_ok=True)
        done = 0
    workdir.mkdir(parents=True, exist_ok=True)
    callbacks = checkpoint_callbacks(workdir, gan=args.gan, monitor=None, resume=args.resume)
    if args.minutes is not None:
        callbacks.append(TimeBudget(args.minutes))
    net = CodecTrainer.from_codec(
        codec,
        n_codebooks=prune,
        lr=args.lr,
        lambda_waveform=args.lambda_waveform,
        waveform_loss=args.waveform_loss,
        lambda_mel=args.lambda_mel,
        lambda_spectral=args.lambda_spectral,
        dead_code_threshold=args.restart_dead_codes,
        codebook_update=args.codebook_update,
        data_init=args.init == INIT_SCRATCH and args.data_init,
        batch_size=args.batch_size,
        max_epochs=max(epochs - done, 0),
        train_split=None if valid is None else predefined_split(valid),
        gan=args.gan,
        gan_stop_epoch=args.gan_epochs if args.gan else 0,
        gan_periods=tuple(args.gan_periods),
        gan_fft_sizes=args.gan_fft_sizes,
        iterator_train__shuffle=True,
        iterator_train__num_workers=args.workers,
        callbacks=callbacks,
        verbose=0 if args.quiet else 1,
    )
    if args.resume and not done:
        print(f"No checkpoint in {workdir}: starting from --init {args.init}.")
    if net.data_init and not (args.resume and done):
        print("Initialising the scratch codec from training crops (LSUV gains, codebooks drawn from the data).")
    if args.resume and done:
        _check_checkpoint_fits(workdir, net.module, args.init)
    start = time.monotonic()
    if epochs > done:
        try:
            net.fit(train)
        except (CodebookCollapseError, MemoryError) as err:
            raise CLIError(str(err)) from err
    else:  # already trained that far: just reload the checkpoint
        print(f"The checkpoint in {workdir} already has {done} epochs (of {epochs}): nothing to train.")
        net.initialize()
        net.load_params(checkpoint=callbacks[0])
    wall = time.monotonic() - start

    history = net.history
    valid_mel = [row["valid_mel"] for row in history if "valid_mel" in row]
    valid_prd = [row["valid_prd"] for row in history if "valid_prd" in row]
    train_mel = [row["train_mel"] for row in history if "train_mel" in row]
    curve_keys = ("epoch", "train_loss", "train_waveform", "train_spectral", "valid_loss", "valid_prd",
                  "valid_mel", "train_codes_used", "valid_codes_used", "dur") + tuple(
        k for k in (history[-1] if len(history) else {}) if k.startswith("valid_err_")
    )
    gan_epochs = sum(bool(row.get("gan_active", False)) for row in history)
    diverged = [row["epoch"] for row in history if row.get("gan_diverged", False)]
    summary = dict(
        init=args.init,
        architecture=codec.architecture,
        layout=codec.layout if mc else None,
        grouping=mc.get("grouping"),
        group_size=mc["group_size"] if mc.get("grouping") == "pivot" else None,
        pre_pruned_to=prune,
        data=[str(Path(d).expanduser().resolve()) for d in args.data],
        n_recordings=len(train.recordings),
        valid=[str(Path(d).expanduser().resolve()) for d in args.valid] if args.valid else None,
        sfreq=codec.sfreq,
        crop_seconds=args.crop,
        batch_size=args.batch_size,
        lr=args.lr,
        data_init=args.init == INIT_SCRATCH and args.data_init,
        lambda_mel=args.lambda_mel,
        waveform_loss=args.waveform_loss,
        lambda_waveform=args.lambda_waveform,
        lambda_spectral=args.lambda_spectral,
        restart_dead_codes=args.restart_dead_codes,
        codebook_update=args.codebook_update,
        codebook_lookup=codec.config.get("codebook_lookup", "cosine"),
        steps_per_epoch=per_epoch,
        epochs=len(history),
        steps=len(history) * per_epoch,
        gan=args.gan,
        gan_epochs=gan_epochs,
        gan_periods=args.gan_periods if args.gan else None,
        gan_fft_sizes=args.gan_fft_sizes if args.gan else None,
        gan_diverged_at_epoch=diverged[0] if diverged else None,
        final_train_mel=train_mel[-1] if train_mel else None,
        best_valid_mel=min(valid_mel) if valid_mel else None,
        final_valid_mel=valid_mel[-1] if valid_mel else None,
        best_valid_prd=min(valid_prd) if valid_prd else None,
        final_valid_prd=valid_prd[-1] if valid_prd else None,
        curve=[{k: row[k] for k in curve_keys if k in row} for row in history],
        seed=args.seed,
        device=f"{net.device} ({platform.machine()}, {torch.get_num_threads()} CPU threads)",
        wall_time_minutes_this_run=round(wall / 60, 2),
        wall_time_minutes_total=round(sum(row.get("dur", 0.0) for row in history) / 60, 2),
        mne_dac_version=__version__,
        command=shlex.join(["mne-dac", *(getattr(args, "argv", None) or sys.argv[1:])]),
    )
    trained = net.to_codec(name=args.name or out.stem, device="cpu", **mc)
    trained.save(out, overwrite=args.overwrite, metadata=dict(training=summary))
    png = out.with_name(out.stem + "_history.png")
    if len(history):
        import matplotlib

        if "matplotlib.pyplot" not in sys.modules:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        plt.close(plot_history(net, png))
    best = "n/a (no --valid)" if not valid_prd else f"{min(valid_prd):.3g} % (final {valid_prd[-1]:.3g} %)"
    print(
        f"Trained {len(history) - done} epochs this run ({len(history)} in all, {summary['steps']} steps of "
        f"{args.batch_size} × {args.crop:g} s crops; GAN in {gan_epochs}"
        + (f", diverged at epoch {diverged[0]}" if diverged else "")
        + ")."
    )
    print(f"Best validation PRD: {best}; wall time {wall / 60:.1f} min this run.")
    print(f"Wrote {out} ({trained!r}), {png.name} and the checkpoint in {workdir}/.")
    if len(history) < epochs:
        print(f"Stopped before the {epochs} epochs asked for: rerun with --resume --overwrite to continue.")


def _set_threads(n_threads: int) -> None:
    if n_threads < 1:
        raise CLIError(f"--threads must be >= 1, got {n_threads}")
    import torch

    torch.set_num_threads(n_threads)


def build_parser() -> argparse.ArgumentParser:
    """Build the ``mne-dac`` argument parser."""
    from ._version import __version__

    parser = argparse.ArgumentParser(
        prog="mne-dac", description="Compress and tokenize EEG with neural audio codecs (DAC)."
    )
    parser.add_argument("--version", action="version", version=f"mne-dac {__version__}")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    sub = parser.add_subparsers(dest="command", required=True)

    def codec_options(p: argparse.ArgumentParser, default: str | None) -> None:
        p.add_argument(
            "--codec",
            default=default,
            help="codec: 'default' (shipped), a DAC tag (44khz, 24khz, 16khz), or a DAC/mne-dac "
            "checkpoint path" + ("" if default else " (default: the codec recorded in the file)"),
        )
        p.add_argument("--n-codebooks", type=int, default=None, help="codebooks to use (bitrate)")
        p.add_argument("--overwrite", action="store_true", help="replace an existing output")
        p.add_argument("--quiet", action="store_true", help="no progress bar")

    def exclude_option(p: argparse.ArgumentParser, help: str) -> None:
        p.add_argument("--exclude", nargs="+", default=[], metavar="CH", help=help)
        p.add_argument("--not-eeg", nargs="+", default=[], metavar="CH", help=argparse.SUPPRESS)  # old --exclude

    def threads_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--threads", type=int, default=None, metavar="N", help="torch CPU threads (default: torch's)")

    p = sub.add_parser("compress", help="compress a recording (any format MNE reads) to .eegdac")
    p.add_argument("input", help="EDF, BDF, FIF, BrainVision, EEGLAB, Nihon Kohden… file")
    p.add_argument("output", help="output .eegdac file")
    p.add_argument(
        "--groups", choices=("pivot", "anatomical"), default=None,
        help="DAC-MC codecs: channel groups (default: the codec's)",
    )  # fmt: skip
    exclude_option(p, "channels to keep out of coding, e.g. typed EEG but not EEG (ECG, ear references…): kept "
                   "losslessly")  # fmt: skip
    codec_options(p, "default")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    threads_option(p)
    p.set_defaults(func=_compress)

    from .recordings import RECORDING_EXTENSIONS

    p = sub.add_parser(
        "compress-dir",
        help="compress every recording under a folder to the same tree of .eegdac files (parallel, resumable)",
        description="Compress every recording under IN_DIR (searched recursively; any format MNE reads) to "
        "OUT_DIR/<same relative path>.eegdac. Finished outputs are skipped, so an interrupted run can be rerun; "
        "unreadable recordings are reported and skipped. Writes an index (CSV) with one row per recording: "
        "status, error, duration, channels, bits/s per channel, compression ratio (EEG as 16-bit samples over "
        "the .eegdac file) and fidelity (spectrogram loss, PRD), and prints a summary. Exits with status 1 "
        "if any recording failed.",
        epilog="On a Dask cluster, from Python: client = distributed.Client(...); with "
        "joblib.parallel_config(backend='dask'): mne_dac.bulk.compress_dir(in_dir, out_dir, codec, n_jobs=-1).",
    )
    p.add_argument("in_dir", help="folder of recordings (EDF, BDF, FIF, BrainVision, EEGLAB…), searched recursively")
    p.add_argument("out_dir", help="output folder: the same tree of .eegdac files, and the index")
    p.add_argument(
        "--ext", nargs="+", default=list(RECORDING_EXTENSIONS), metavar="EXT",
        help=f"file name endings of the recordings (default: {' '.join(RECORDING_EXTENSIONS)})",
    )  # fmt: skip
    p.add_argument(
        "--groups", choices=("pivot", "anatomical"), default=None,
        help="DAC-MC codecs: channel groups (default: the codec's)",
    )  # fmt: skip
    exclude_option(p, "channels to keep out of coding, e.g. typed EEG but not EEG (ECG, ear references…): where "
                   "present, kept losslessly")  # fmt: skip
    codec_options(p, "default")
    p.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    p.add_argument(
        "--threads", type=int, default=None, metavar="N",
        help="torch CPU threads of each worker (default: the cores split between the workers)",
    )  # fmt: skip
    p.add_argument(
        "--n-jobs", type=int, default=1, metavar="N",
        help="recordings compressed at once, in worker processes that each load the codec once (-1: all cores)",
    )  # fmt: skip
    p.add_argument(
        "--fidelity", action=argparse.BooleanOptionalAction, default=True,
        help="decode each output and measure its spectrogram loss and PRD (default: on)",
    )  # fmt: skip
    p.add_argument("--index", default="index.csv", help="index file, relative to OUT_DIR (default index.csv)")
    p.set_defaults(func=_compress_dir)

    p = sub.add_parser("decompress", help="decompress a .eegdac file to .fif or .edf")
    p.add_argument("input", help=".eegdac file")
    p.add_argument("output", help="output .fif or .edf file")
    codec_options(p, None)
    threads_option(p)
    p.set_defaults(func=_decompress)

    p = sub.add_parser("info", help="describe a .eegdac file")
    p.add_argument("file")
    p.set_defaults(func=_info)

    p = sub.add_parser("demo", help="compress, decompress and assess the shipped EEG excerpt")
    p.add_argument("--out-dir", default="mne-dac-demo", help="folder for the outputs")
    p.add_argument("--codec", default="default")
    p.add_argument("--n-codebooks", type=int, default=None)
    threads_option(p)
    p.set_defaults(func=_demo)

    p = sub.add_parser(
        "finetune",
        help="train a codec on your EEG (fine-tune DAC, continue a codec, or start from scratch)",
        description="Train a DAC codec on crops of EEG with mne-dac's recipe, the one that trained the shipped "
        "codec: the waveform error relative to the signal (PRD²) and a band-balanced spectrum loss, DAC's VQ "
        "losses, dead-code restarts and quantizer dropout; from scratch, a data-dependent initialisation. The "
        "paper's losses are options (--lambda-mel 15 --waveform-loss l1 --lambda-waveform 1 --lambda-spectral 0 "
        "--gan). Validation records PRD, band-power errors and codebook use every epoch; a run whose codebooks "
        "collapse stops. Checkpoints go to --workdir after every epoch.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="training EEG: folder(s) (searched recursively) or file(s)")
    p.add_argument(
        "--init",
        required=True,
        help="start from: a DAC tag (44khz, 24khz, 16khz, 44khz-16kbps: audio-pretrained, the paper's "
        "main recipe), 'default' (the shipped codec), the path of a DAC checkpoint or mne-dac codec "
        f"(continue training it), or '{INIT_SCRATCH}' (a random DAC, the paper's baseline)",
    )
    p.add_argument("--out", required=True, help="output codec file (.pt), loadable with load_codec")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output (and a stale checkpoint)")
    p.add_argument("--name", default=None, help="codec name (default: the output's stem)")
    p.add_argument("--valid", nargs="+", default=None, metavar="DATA", help="validation EEG (default: none)")
    p.add_argument(
        "--valid-crops", type=int, default=64, metavar="N", help="validation crops, the same every epoch (default 64)"
    )
    p.add_argument("--exclude", nargs="+", default=[], metavar="CH", help="channels never to train on (ECG…)")
    g = p.add_argument_group("codec")
    g.add_argument(
        "--model", choices=("sc", "mc"), default=None,
        help="sc: DAC-SC, each channel alone; mc: DAC-MC, groups of channels around random pivots "
        "(default: the kind of --init, else sc)",
    )
    g.add_argument(
        "--layout", choices=("channel", "group"), default="channel",
        help="DAC-MC token layout: a stream per channel or per group (default channel)",
    )
    g.add_argument(
        "--grouping", choices=("pivot", "anatomical"), default="pivot",
        help="DAC-MC groups, in training crops and as the codec's default partition: random pivots "
        "and their neighbours (K channels), or the regions of the head (default pivot)",
    )
    g.add_argument(
        "--group-size", type=int, default=4, metavar="K", help="DAC-MC channels per pivot group (default 4)"
    )
    g.add_argument(
        "--n-codebooks", type=int, default=None, metavar="N",
        help=f"'{INIT_SCRATCH}': number of codebooks (default {SCRATCH['n_codebooks']}); otherwise keep the "
        "first N (pre-pruning)",
    )
    g.add_argument(
        "--codebook-size", type=int, default=None, metavar="N",
        help=f"'{INIT_SCRATCH}' only: entries (default {SCRATCH['codebook_size']})",
    )
    g.add_argument(
        "--rates", type=int, nargs="+", default=None, metavar="R",
        help=f"'{INIT_SCRATCH}' only: the encoder's strides, whose product is the hop (the decoder's are "
        f"reversed; default {' '.join(map(str, SCRATCH['encoder_rates']))})",
    )
    g.add_argument(
        "--codebook-lookup", choices=("cosine", "euclidean"), default=None,
        help=f"'{INIT_SCRATCH}' only: codebook lookup, DAC's by direction or the nearest entry "
        f"(default {SCRATCH['codebook_lookup']})",
    )  # fmt: skip
    g.add_argument(
        "--encoder-dim", type=int, default=None, metavar="N",
        help=f"'{INIT_SCRATCH}' only (default {SCRATCH['encoder_dim']})",
    )
    g.add_argument(
        "--decoder-dim", type=int, default=None, metavar="N",
        help=f"'{INIT_SCRATCH}' only (default {SCRATCH['decoder_dim']})",
    )
    g.add_argument(
        "--sfreq", type=int, choices=(256, 512), default=None,
        help=f"EEG rate the codec works at (default: an mne-dac codec's own rate; '{INIT_SCRATCH}': "
        f"{SCRATCH['sfreq']:g}; a DAC checkpoint: 512)",
    )
    g = p.add_argument_group("training")
    g.add_argument(
        "--crop", type=float, default=RECIPE["crop_seconds"], metavar="SECONDS",
        help=f"crop duration (default {RECIPE['crop_seconds']:g})",
    )
    g.add_argument(
        "--batch-size", type=int, default=RECIPE["batch_size"], metavar="N",
        help=f"crops per step (default {RECIPE['batch_size']})",
    )
    g.add_argument(
        "--lr", type=float, default=RECIPE["lr"], help=f"learning rate (default {RECIPE['lr']:g}, decayed as in DAC)"
    )
    g.add_argument(
        "--lambda-waveform", type=float, default=10.0, metavar="W", help="weight of the waveform loss (default 10)"
    )
    g.add_argument(
        "--waveform-loss", choices=("relative-mse", "l1"), default="relative-mse",
        help="waveform loss: squared error relative to the signal's energy (PRD²), or mean absolute error "
        "(DAC's) (default relative-mse)",
    )
    g.add_argument(
        "--lambda-spectral", type=float, default=3.0, metavar="W",
        help="weight of the band-balanced STFT magnitude loss (mne_dac.losses.BandSpectralLoss; default 3)",
    )
    g.add_argument(
        "--lambda-mel", type=float, default=0.0, metavar="W",
        help="weight of DAC's mel loss (default 0; the paper's: 15)",
    )
    g.add_argument(
        "--data-init", action=argparse.BooleanOptionalAction, default=True,
        help=f"with --init {INIT_SCRATCH}: scale the layers and draw the codebooks from training crops, "
        "against codebook collapse (mne_dac.data_init; default: on)",
    )
    g.add_argument(
        "--restart-dead-codes", type=float, default=0.01, metavar="T",
        help="restart codebook entries used less than T times the uniform rate (moving average), against "
        "codebook collapse (default 0.01; 0: never, as DAC)",
    )
    g.add_argument(
        "--codebook-update", choices=("ema", "gradient"), default="ema",
        help="codebook entries learn as moving averages of the latents they code (online k-means), or "
        "through DAC's codebook loss (default ema)",
    )
    g.add_argument(
        "--steps", type=int, default=None, metavar="N",
        help=f"total optimizer steps of the run, resumed epochs included (default {FINETUNE_STEPS})",
    )
    g.add_argument(
        "--steps-per-epoch", type=int, default=None, metavar="N",
        help=f"steps per epoch, each on fresh crops; checkpoint and validation after each (default "
        f"{FINETUNE_STEPS_PER_EPOCH})",
    )
    g.add_argument(
        "--epochs", type=int, default=None, metavar="N",
        help="total epochs of the run (instead of --steps; with --steps: sets the steps per epoch)",
    )
    g.add_argument(
        "--gan", action=argparse.BooleanOptionalAction, default=False,
        help="train with DAC's discriminator at a reduced weight, dropped once it diverges (the paper's; "
        "default: off)",
    )
    g.add_argument(
        "--gan-epochs", type=int, default=None, metavar="N",
        help="end the GAN phase after this epoch (default: when it diverges)",
    )
    g.add_argument(
        "--gan-periods", type=int, nargs="+", default=[2, 3, 5, 7, 11], metavar="P",
        help="periods of the multi-period discriminators (default: DAC's 2 3 5 7 11)",
    )
    g.add_argument(
        "--gan-fft-sizes", type=int, nargs="+", default=None, metavar="N",
        help="windows of the STFT discriminators (default: DAC's, scaled to the EEG rate)",
    )
    g.add_argument("--minutes", type=float, default=None, help="time budget: stop after the epoch that exceeds it")
    g.add_argument("--seed", type=int, default=0, help="seed of the crops and of a scratch init")
    g = p.add_argument_group("run")
    g.add_argument(
        "--workdir", default=None,
        help="checkpoint folder, written after every epoch (default: <out>.work/)",
    )
    g.add_argument(
        "--resume", action="store_true",
        help="continue from the checkpoint in --workdir (if any) up to --steps/--epochs in all",
    )
    g.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    g.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    g.add_argument("--quiet", action="store_true", help="no per-epoch table")
    p.set_defaults(func=_finetune)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``mne-dac`` command line.

    Parameters
    ----------
    argv : sequence of str | None
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        0 on success, 1 on a reported error.
    """
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if getattr(args, "not_eeg", None):
        print("mne-dac: warning: --not-eeg is deprecated and will be removed: use --exclude.", file=sys.stderr)
        args.exclude = [*args.exclude, *args.not_eeg]
    try:
        if getattr(args, "threads", None) is not None and args.command != "compress-dir":  # its workers set theirs
            _set_threads(args.threads)
        args.func(args)
    except (CLIError, FileExistsError, FileNotFoundError, ValueError, OSError, ImportError) as err:
        if args.debug:
            raise
        print(f"mne-dac: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
