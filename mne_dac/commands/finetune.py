"""``mne-dac finetune``: train a codec on your EEG with mne-dac's recipe."""

from __future__ import annotations

import argparse
import shlex

from mne_dac.commands._common import CLIError
from mne_dac.training.recipe import DECODER_RECIPE, INIT_LINEAR_CODE, INIT_SCRATCH, LINEAR_CODE, RECIPE, SCRATCH


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Add the ``finetune`` command to ``sub``."""
    p = sub.add_parser(
        "finetune",
        help="train a codec on your EEG (the default codec's recipe; or fine-tune DAC, continue a codec, start from scratch)",
        description=f"Train a DAC codec on EEG. By default (--init {INIT_LINEAR_CODE}) with the recipe that built "
        "the shipped default codec: the compact DAC's weights set to a linear transform code of the training EEG "
        "(principal components of frames of one hop, codebooks by k-means, a beam-search encoder), then its "
        f"decoder trained alone for --steps steps (default {LINEAR_CODE['decoder_steps']}); --valid reports PRD, "
        "band-power errors and codebook use. With any other --init, gradient training on crops (of the decoder "
        "alone for an mne-dac codec, whose tokens then do not change; of the whole codec otherwise): "
        "the waveform error relative to the signal (PRD²) and a band-balanced spectrum loss, DAC's VQ losses, "
        "dead-code restarts and quantizer dropout; from scratch, a data-dependent initialisation. The paper's "
        "losses are options (--lambda-mel 15 --waveform-loss l1 --lambda-waveform 1 --lambda-spectral 0 --gan). "
        "Validation records PRD, band-power errors and codebook use every epoch; a run whose codebooks collapse "
        "stops. Checkpoints go to --workdir after every epoch.",
    )
    p.add_argument("data", nargs="+", metavar="DATA", help="training EEG: folder(s) (searched recursively) or file(s)")
    p.add_argument(
        "--init",
        default=INIT_LINEAR_CODE,
        help=f"'{INIT_LINEAR_CODE}' (default: the shipped default codec's recipe, a linear code of the EEG whose "
        "decoder is then trained), or gradient training from: a DAC tag (44khz, 24khz, 16khz, 44khz-16kbps: "
        "audio-pretrained, the paper's main recipe), 'default' or another shipped codec, the path of a DAC "
        f"checkpoint or mne-dac codec (continue training it), or '{INIT_SCRATCH}' (a random DAC, the paper's "
        "baseline)",
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
        "--model",
        choices=("sc", "mc"),
        default=None,
        help="sc: DAC-SC, each channel alone; mc: DAC-MC, groups of channels around random pivots "
        "(default: the kind of --init, else sc)",
    )
    g.add_argument(
        "--layout",
        choices=("channel", "group"),
        default="channel",
        help="DAC-MC token layout: a stream per channel or per group (default channel)",
    )
    g.add_argument(
        "--grouping",
        choices=("pivot", "anatomical"),
        default="pivot",
        help="DAC-MC groups, in training crops and as the codec's default partition: random pivots "
        "and their neighbours (K channels), or the regions of the head (default pivot)",
    )
    g.add_argument(
        "--pooling", choices=("mean", "slots"), default="mean",
        help="DAC-MC group layout: code the group's mean latent, or each channel in its own slot of the group's "
        "latent, coded jointly (K slots: pivot groups only; default mean)",
    )  # fmt: skip
    g.add_argument("--group-size", type=int, default=4, metavar="K", help="DAC-MC channels per pivot group (default 4)")
    g.add_argument(
        "--n-codebooks",
        type=int,
        default=None,
        metavar="N",
        help=f"'{INIT_LINEAR_CODE}' and '{INIT_SCRATCH}': number of codebooks (default 8; DAC-MC linear code 16); "
        "otherwise keep the first N (pre-pruning), or add codebooks up to N, drawn from the training data",
    )
    g.add_argument(
        "--default-n-codebooks",
        type=int,
        default=None,
        metavar="N",
        help="codebooks the codec codes with when none are asked for, e.g. 4 of 8: a deep codec at a modest "
        f"default rate (default: '{INIT_LINEAR_CODE}' {LINEAR_CODE['default_n_codebooks']} (DAC-MC 8); '{INIT_SCRATCH}' "
        f"with its {SCRATCH['n_codebooks']} codebooks: {SCRATCH['default_n_codebooks']}; otherwise the starting "
        "codec's where it fits, else all)",
    )
    g.add_argument(
        "--codebook-size",
        type=int,
        default=None,
        metavar="N",
        help=f"'{INIT_SCRATCH}' only: entries (default {SCRATCH['codebook_size']})",
    )
    g.add_argument(
        "--rates",
        type=int,
        nargs="+",
        default=None,
        metavar="R",
        help=f"'{INIT_LINEAR_CODE}' and '{INIT_SCRATCH}' only: the encoder's strides, whose product is the hop "
        f"(the decoder's are reversed; default {' '.join(map(str, LINEAR_CODE['encoder_rates']))} and "
        f"{' '.join(map(str, SCRATCH['encoder_rates']))})",
    )
    g.add_argument(
        "--codebook-lookup", choices=("cosine", "euclidean"), default=None,
        help=f"'{INIT_SCRATCH}' only: codebook lookup, DAC's by direction or the nearest entry "
        f"(default {SCRATCH['codebook_lookup']})",
    )  # fmt: skip
    g.add_argument(
        "--codebook-dim",
        type=int,
        default=None,
        metavar="N",
        help=f"'{INIT_LINEAR_CODE}' and '{INIT_SCRATCH}' only: dimension of the codebook lookup (default "
        f"{LINEAR_CODE['codebook_dim']} and {SCRATCH['codebook_dim']})",
    )
    g.add_argument(
        "--encoder-dim",
        type=int,
        default=None,
        metavar="N",
        help=f"'{INIT_SCRATCH}' only (default {SCRATCH['encoder_dim']})",
    )
    g.add_argument(
        "--decoder-dim",
        type=int,
        default=None,
        metavar="N",
        help=f"'{INIT_SCRATCH}' only (default {SCRATCH['decoder_dim']})",
    )
    g.add_argument(
        "--sfreq",
        type=int,
        choices=(256, 512),
        default=None,
        help=f"EEG rate the codec works at (default: an mne-dac codec's own rate; '{INIT_SCRATCH}': "
        f"{SCRATCH['sfreq']:g}; a DAC checkpoint: 512)",
    )
    g = p.add_argument_group("training")
    g.add_argument(
        "--crop",
        type=float,
        default=RECIPE["crop_seconds"],
        metavar="SECONDS",
        help=f"crop duration (default {RECIPE['crop_seconds']:g})",
    )
    g.add_argument(
        "--batch-size",
        type=int,
        default=RECIPE["batch_size"],
        metavar="N",
        help=f"crops per step (default {RECIPE['batch_size']})",
    )
    g.add_argument(
        "--lr",
        type=float,
        default=None,
        help=f"learning rate (default {RECIPE['lr']:g}, decayed as in DAC; decoder alone: {DECODER_RECIPE['lr']:g})",
    )
    g.add_argument(
        "--lambda-waveform", type=float, default=10.0, metavar="W", help="weight of the waveform loss (default 10)"
    )
    g.add_argument(
        "--waveform-loss",
        choices=("relative-mse", "l1"),
        default="relative-mse",
        help="waveform loss: squared error relative to the signal's energy (PRD²), or mean absolute error "
        "(DAC's) (default relative-mse)",
    )
    g.add_argument(
        "--lambda-spectral",
        type=float,
        default=None,
        metavar="W",
        help="weight of the band-balanced STFT magnitude loss (mne_dac.training.losses.BandSpectralLoss; default 3; "
        f"decoder alone: {DECODER_RECIPE['lambda_spectral']:g})",
    )
    g.add_argument(
        "--lambda-mel",
        type=float,
        default=0.0,
        metavar="W",
        help="weight of DAC's mel loss (default 0; the paper's: 15)",
    )
    g.add_argument(
        "--train",
        choices=("all", "decoder"),
        default=None,
        help="what gradient training trains: the whole codec, or its decoder alone (its encoder and codebooks, "
        "hence its tokens, kept; codebook options do not apply) (default: decoder for a shipped or mne-dac codec, "
        "whose encoder gradient steps make worse, with a learning rate of "
        f"{DECODER_RECIPE['lr']:g}, no spectrum loss and a random depth for every crop; all for DAC's weights, "
        "--init scratch and a DAC-SC codec given --model mc)",
    )
    g.add_argument(
        "--data-init",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"with --init {INIT_SCRATCH}: scale the layers and draw the codebooks from training crops, "
        "against codebook collapse (mne_dac.training.data_init; default: on)",
    )
    g.add_argument(
        "--restart-dead-codes",
        type=float,
        default=0.01,
        metavar="T",
        help="restart codebook entries used less than T times the uniform rate (moving average), against "
        "codebook collapse (default 0.01; 0: never, as DAC)",
    )
    g.add_argument(
        "--codebook-update",
        choices=("ema", "gradient"),
        default="ema",
        help="codebook entries learn as moving averages of the latents they code (online k-means), or "
        "through DAC's codebook loss (default ema)",
    )
    g.add_argument(
        "--steps",
        type=int,
        default=None,
        metavar="N",
        help=f"total optimizer steps of the run, resumed epochs included (default {RECIPE['steps']}; "
        f"'{INIT_LINEAR_CODE}': the decoder's, default {LINEAR_CODE['decoder_steps']}, DAC-MC 0)",
    )
    g.add_argument(
        "--steps-per-epoch",
        type=int,
        default=None,
        metavar="N",
        help=f"steps per epoch, each on fresh crops; checkpoint and validation after each (default "
        f"{RECIPE['steps_per_epoch']})",
    )
    g.add_argument(
        "--epochs",
        type=int,
        default=None,
        metavar="N",
        help="total epochs of the run (instead of --steps; with --steps: sets the steps per epoch)",
    )
    g.add_argument(
        "--gan",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="train with DAC's discriminator at a reduced weight, dropped once it diverges (the paper's; default: off)",
    )
    g.add_argument(
        "--gan-epochs",
        type=int,
        default=None,
        metavar="N",
        help="end the GAN phase after this epoch (default: when it diverges)",
    )
    g.add_argument(
        "--gan-periods",
        type=int,
        nargs="+",
        default=[2, 3, 5, 7, 11],
        metavar="P",
        help="periods of the multi-period discriminators (default: DAC's 2 3 5 7 11)",
    )
    g.add_argument(
        "--gan-fft-sizes",
        type=int,
        nargs="+",
        default=None,
        metavar="N",
        help="windows of the STFT discriminators (default: DAC's, scaled to the EEG rate)",
    )
    g.add_argument("--minutes", type=float, default=None, help="time budget: stop after the epoch that exceeds it")
    g.add_argument("--seed", type=int, default=0, help="seed of the crops and of a scratch init")
    g = p.add_argument_group("run")
    g.add_argument(
        "--workdir",
        default=None,
        help="checkpoint folder, written after every epoch (default: <out>.work/)",
    )
    g.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --workdir (if any) up to --steps/--epochs in all",
    )
    g.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    g.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    g.add_argument("--quiet", action="store_true", help="no per-epoch table")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Train, then print the run's summary."""
    from mne_dac.training.finetune import finetune
    from mne_dac.training.trainer import CodebookCollapseError

    scratch = {
        "codebook_size": args.codebook_size,
        "codebook_dim": args.codebook_dim,
        "encoder_rates": args.rates,
        "encoder_dim": args.encoder_dim,
        "decoder_dim": args.decoder_dim,
        "codebook_lookup": args.codebook_lookup,
    }
    trainer = dict(
        lambda_waveform=args.lambda_waveform,
        waveform_loss=args.waveform_loss,
        lambda_mel=args.lambda_mel,
        dead_code_threshold=args.restart_dead_codes,
        codebook_update=args.codebook_update,
        gan=args.gan,
        gan_stop_epoch=args.gan_epochs if args.gan else 0,
        gan_periods=tuple(args.gan_periods),
        gan_fft_sizes=args.gan_fft_sizes,
    )
    if args.init == INIT_SCRATCH:
        trainer["data_init"] = args.data_init
    given = dict(trainable=args.train, lr=args.lr, lambda_spectral=args.lambda_spectral)
    trainer.update({k: v for k, v in given.items() if v is not None})
    try:
        result = finetune(
            args.data, args.out, init=args.init, valid=args.valid, exclude=args.exclude, name=args.name,
            model=args.model, layout=args.layout, pooling=args.pooling, grouping=args.grouping, group_size=args.group_size,
            n_codebooks=args.n_codebooks, default_n_codebooks=args.default_n_codebooks, scratch={k: v for k, v in scratch.items() if v is not None},
            sfreq=args.sfreq, crop=args.crop, batch_size=args.batch_size, steps=args.steps, epochs=args.epochs,
            steps_per_epoch=args.steps_per_epoch, valid_crops=args.valid_crops, minutes=args.minutes,
            seed=args.seed, workdir=args.workdir, resume=args.resume, overwrite=args.overwrite,
            device=args.device, workers=args.workers, progress=not args.quiet,
            command=shlex.join(["mne-dac", *args.argv]), **trainer,
        )  # fmt: skip
    except (CodebookCollapseError, MemoryError) as err:
        raise CLIError(str(err)) from err
    summary = result.summary
    if args.init == INIT_LINEAR_CODE:
        _print_linear_code(result)
        return
    valid_prd = [row["valid_prd"] for row in summary["curve"] if "valid_prd" in row]
    best = "n/a (no --valid)" if not valid_prd else f"{min(valid_prd):.3g} % (final {valid_prd[-1]:.3g} %)"
    diverged = summary["gan_diverged_at_epoch"]
    what = "the decoder alone" if summary["trainable"] == "decoder" else "the whole codec"
    print(
        f"Trained {what} for {result.epochs_this_run} epochs this run ({summary['epochs']} in all, {summary['steps']} steps "
        f"of {args.batch_size} × {args.crop:g} s crops; GAN in {summary['gan_epochs']}"
        + (f", diverged at epoch {diverged}" if diverged else "")
        + ")."
    )
    print(f"Best validation PRD: {best}; wall time {summary['wall_time_minutes_this_run']:.1f} min this run.")
    plot = f", {result.history_plot.name}" if result.history_plot else ""
    print(f"Wrote {result.fname} ({result.codec!r}){plot} and the checkpoint in {result.workdir}/.")
    if summary["epochs"] < result.planned_epochs:
        print(
            f"Stopped before the {result.planned_epochs} epochs asked for: rerun with --resume --overwrite to continue."
        )


def _print_linear_code(result) -> None:
    """Print what a linear-code run built, and its validation figures."""
    summary, codec = result.summary, result.codec
    print(f"Built a linear code of {summary['n_frames']} training frames; PRD (%) of the frames after each codebook: "
          + " ".join(f"{p:.1f}" for p in summary["frame_prd"]))  # fmt: skip
    print(f"Trained its decoder for {summary['settings']['decoder_steps']} steps; "
          f"wall time {summary['wall_time_minutes_this_run']:.1f} min.")  # fmt: skip
    valid = summary["validation"]
    if valid:
        bands = " / ".join(f"{valid[k]:.2f}" for k in valid if k.startswith("err_"))
        names = "/".join(k[4:] for k in valid if k.startswith("err_"))
        gains = valid.get("band_gain_bits_per_second", 0.0)
        print(f"Validation at {valid['bits_per_second']:.3g} bits/s per channel ({valid['n_codebooks']} codebooks"
              + (f", {gains:.2g} bits/s of them the tokens' band gains" if gains else "") + "): "
              f"PRD {valid['prd']:.1f} % (lower is better), band-power error {names} {bands} (0: power kept), "
              f"fewest entries used by a codebook {valid['codes_used']} of {codec.codebook_size}.")  # fmt: skip
    print(f"Wrote {result.fname} ({codec!r}).")
