"""Figure 3 of the paper: training strategies, codebook depth, sampling rate and vocabulary.

Three panels, each a set of DAC-SC codecs trained with ``mne-dac finetune`` on the training
recordings of TUAB (or of the open stand-in, eegmat) with the same budget, and scored on
its evaluation recordings:

- **(a) training strategy**: loss curves of DAC's audio weights (``--init``) fine-tuned and
  of a random DAC of the same architecture trained from scratch, each with and without DAC's
  GAN (the discriminator until it diverges, or until epoch ``--gan-epochs``). The
  validation loss (mel loss on ``--valid-crops`` crops of the evaluation recordings, all
  codebooks) is recorded after every epoch.
- **(b) codebook depth**, ``--depths`` (default 3 … 9): *pre-pruned* codecs are trained
  with ``n`` codebooks (``mne-dac finetune --n-codebooks n``, which keeps the first ``n``
  codebooks of the initial codec, :func:`mne_dac.training.trainer.prune_codebooks`); *post-pruned*
  is the codec trained with all codebooks, decoded with its first ``n``.
- **(c) sampling rate × vocabulary**, ``--sfreqs`` (256, 512 Hz) × ``--vocabularies``
  (512, 1024 entries): a new vocabulary needs a new quantizer, so these codecs are trained
  from scratch (``--init scratch --sfreq … --codebook-size …``, the architecture of
  ``--init``'s codec or ``--encoder-dim``/``--decoder-dim``).

Panels (b) and (c) report the spectrogram loss (and PRD) on the first ``--seconds`` of each
evaluation recording, at 512 Hz for every codec, mean ± std over recordings. A training run
that two panels share (same options) is trained once.

Offline, DAC's audio weights cannot be fetched: with a DAC tag as ``--init``, the script
says so and starts from the codec shipped with mne-dac instead, labelled as such.

Writes ``figure3a``, ``figure3b`` and ``figure3c`` (``.md``, ``.csv``, ``.json``, ``.png``)
to ``--out``.

Usage::

    # the paper's setting (TUAB v3.0.1, DAC's 44 kHz weights, mne-dac finetune's default budget)
    python benchmarks/paper/figure3.py --tuab /data/tuh_eeg_abnormal --init weights.pth --out results

    # the docs' run on the open stand-in (eegmat), on a CPU
    python benchmarks/paper/figure3.py --out doc/_static/paper --workdir paper-work \\
        --steps 20 --steps-per-epoch 5 --batch-size 4 --crop 4.5 --lr 1e-3 --no-gan --gan-epochs 2 \\
        --valid-crops 16 --seconds 10 --threads 1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

import mne_dac
from mne_dac.codecs.codec_file import read_codec_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

PANELS = ("a", "b", "c")


class Runs:
    """Training runs of the figure, each trained once per set of options."""

    def __init__(self, args, files: list[str], exclude: list[str], valid: list[str]) -> None:
        self.args, self.files, self.exclude, self.valid = args, files, exclude, valid
        self.folder = args.workdir / "figure3"
        self.done: dict[tuple, Path] = {}
        self.validated: set[tuple] = set()

    def codec(self, name: str, options: list, *, validate: bool = False):
        """The codec trained with ``options`` (trained now, as ``<name>.pt``, unless already).

        With ``validate``, the validation loss is recorded after every epoch (on
        ``--valid-crops`` crops of the evaluation recordings). Validation leaves the recipe
        unchanged (its data loader only draws one number from torch's random stream per
        epoch), so a validated run also serves where no validation is asked for.
        """
        key = tuple(map(str, options))
        if key not in self.done or (validate and key not in self.validated):
            out = self.folder / f"{name}.pt"
            if validate:
                options = [*options, "--valid-crops", str(self.args.valid_crops)]
            valid = self.valid if validate else None
            _common.finetune(self.files, out, options, exclude=self.exclude, valid=valid, device=self.args.device)
            self.done[key] = out
            if validate:
                self.validated.add(key)
        return mne_dac.load_codec(self.done[key], device=self.args.device, verbose="error"), self.done[key]


def panel_a(args, runs: Runs, init) -> dict[str, Path]:
    """Loss curves: fine-tuned versus scratch, with and without the GAN."""
    report = _common.Report("figure3a", args, "Figure 3a: training strategies (loss curves)")
    curves, rows, commands = [], [], {}
    for start in ("fine-tuned", "scratch"):
        first = ["--init", init.argument] if start == "fine-tuned" else _common.scratch_options(args, init)
        for gan in (True, False):
            options = [*first, *_common.training_options(args, gan=gan)]
            if gan and args.gan_epochs is not None:
                options += ["--gan-epochs", str(args.gan_epochs)]
            label = f"{start}, {'GAN' if gan else 'no GAN'}"
            _, out = runs.codec(f"a-{start}-{'gan' if gan else 'nogan'}", options, validate=True)
            record = _common.history(out)
            per_epoch = read_codec_file(out).metadata["training"]["steps_per_epoch"]
            curves.append(record.assign(run=label, step=record["epoch"] * per_epoch))
            commands[label] = " ".join(options)
            rows.append(
                {
                    "Run": label,
                    "Steps": f"{int(record['epoch'].iloc[-1] * per_epoch)}",
                    "GAN epochs": f"{int(record['gan_active'].fillna(False).astype(bool).sum())}",
                    "Final train mel": f"{record['train_mel'].iloc[-1]:.3f}",
                    "Best valid mel": f"{record['valid_loss'].min():.3f}",
                    "Final valid mel": f"{record['valid_loss'].iloc[-1]:.3f}",
                    "Paper": _common.SEE_PAPER + " (Fig. 3a)",
                }
            )
    curves = pd.concat(curves, ignore_index=True)
    report.text(
        f"Start: {init.label} (fine-tuned) or a random DAC of the same architecture (scratch). Validation: "
        f"mel loss on {args.valid_crops} crops of the evaluation recordings after every epoch.",
        "Runs: " + "; ".join(f"{label}: `{command}`" for label, command in commands.items()) + ".",
    )
    report.table(pd.DataFrame(rows))
    report.data.update(init=init.label, curves=_common.records(curves))
    paths = report.write()
    paths["png"] = plot_a(curves, args.out / "figure3a.png")
    return paths


def panel_b(args, runs: Runs, init, raws: dict) -> dict[str, Path]:
    """Spectrogram loss against depth, pre-pruned versus post-pruned."""
    report = _common.Report("figure3b", args, "Figure 3b: codebook depth, pre-pruned versus post-pruned")
    depths = [n for n in args.depths if n <= init.codec.n_codebooks]
    if not depths:
        raise ValueError(f"--depths {args.depths}: the initial codec has only {init.codec.n_codebooks} codebooks.")
    options = ["--init", init.argument, *_common.training_options(args)]
    full, _ = runs.codec("b-all-codebooks", options)
    scores = [_common.fidelity(full, raws, depths, pruning="post-pruned")]
    for n in depths:
        if n == full.n_codebooks:
            scores.append(_common.fidelity(full, raws, pruning="pre-pruned"))
        else:
            codec, _ = runs.codec(f"b-pre-pruned-{n}", [*options, "--n-codebooks", str(n)])
            scores.append(_common.fidelity(codec, raws, pruning="pre-pruned"))
    scores = pd.concat(scores, ignore_index=True)
    rows = []
    for n in depths:
        at = scores[scores.depth == n]
        rows.append(
            {
                "Codebooks": str(n),
                "Bits/s/channel": f"{at['bits_per_second'].iloc[0]:g}",
                "Pre-pruned spectrogram loss": _common.mean_std(at.loc[at.pruning == "pre-pruned", "spectrogram_loss"]),
                "Post-pruned spectrogram loss": _common.mean_std(
                    at.loc[at.pruning == "post-pruned", "spectrogram_loss"]
                ),
                "Paper": _common.SEE_PAPER + " (Fig. 3b)",
            }
        )
    report.text(
        f"Start: {init.label}. Pre-pruned: trained with `{' '.join(options)} --n-codebooks N`; post-pruned: "
        f"trained with all {full.n_codebooks} codebooks (`{' '.join(options)}`), decoded with the first N. "
        f"Spectrogram loss on the first {args.seconds:g} s of each of the {len(raws)} evaluation recordings, "
        "mean ± std over recordings.",
    )
    report.table(pd.DataFrame(rows))
    report.data.update(init=init.label, per_recording=_common.records(scores))
    paths = report.write()
    paths["png"] = plot_b(scores, args.out / "figure3b.png")
    return paths


def panel_c(args, runs: Runs, init, raws: dict) -> dict[str, Path]:
    """Spectrogram loss of scratch codecs at each sampling rate and vocabulary size."""
    report = _common.Report("figure3c", args, "Figure 3c: sampling rate and vocabulary size")
    scores, commands = [], []
    for sfreq in args.sfreqs:
        for vocabulary in args.vocabularies:
            options = [
                *_common.scratch_options(args, init, sfreq=sfreq, codebook_size=vocabulary),
                *_common.training_options(args),
            ]
            codec, _ = runs.codec(f"c-{sfreq}hz-{vocabulary}", options)
            scores.append(_common.fidelity(codec, raws, sfreq=sfreq, vocabulary=vocabulary))
            commands.append(" ".join(options))
    scores = pd.concat(scores, ignore_index=True)
    rows = []
    for (sfreq, vocabulary), at in scores.groupby(["sfreq", "vocabulary"], sort=False):
        rows.append(
            {
                "Sampling rate (Hz)": str(sfreq),
                "Vocabulary": str(vocabulary),
                "Bits/s/channel": f"{at['bits_per_second'].iloc[0]:g}",
                "Spectrogram loss": _common.mean_std(at["spectrogram_loss"]),
                "PRD %": _common.mean_std(at["prd"], "{:.1f}"),
                "Paper": _common.SEE_PAPER + " (Fig. 3c)",
            }
        )
    report.text(
        f"Random DACs ({init.codec.n_codebooks} codebooks; architecture of the {init.label}, or as given) trained "
        f"from scratch, e.g. `{commands[0]}`. Spectrogram loss at 512 Hz for every codec, on the first "
        f"{args.seconds:g} s of each of the {len(raws)} evaluation recordings, mean ± std over recordings.",
    )
    report.table(pd.DataFrame(rows))
    report.data.update(init=init.label, per_recording=_common.records(scores))
    paths = report.write()
    paths["png"] = plot_c(scores, args.out / "figure3c.png")
    return paths


def main(argv: Sequence[str] | None = None) -> dict[str, dict[str, Path]]:
    """Train and score the codecs of the panels asked for; return the paths written per panel."""
    parser = _common.build_parser(__doc__, ["TUAB"])
    _common.add_gan_option(parser)
    _common.add_fidelity_option(parser)
    g = parser.add_argument_group("figure")
    g.add_argument("--panels", nargs="+", choices=PANELS, default=list(PANELS), help="panels to make (default all)")
    g.add_argument("--gan-epochs", type=int, default=None, help="(a) end the GAN phase after this epoch")
    g.add_argument("--valid-crops", type=int, default=64, help="(a) validation crops (default 64)")
    g.add_argument(
        "--depths", type=int, nargs="+", default=list(range(3, 10)), help="(b) codebook depths (default 3 … 9)"
    )
    g.add_argument("--sfreqs", type=int, nargs="+", choices=(256, 512), default=[256, 512], help="(c) rates in Hz")
    g.add_argument("--vocabularies", type=int, nargs="+", default=[512, 1024], help="(c) codebook sizes")
    args = _common.parse_args(parser, argv)

    (corpus,) = _common.load_corpora(args, ["TUAB"])
    init = _common.initial_codec(args.init, args.device)
    files = corpus.files("train")
    runs = Runs(args, files, _common.non_eeg_channels(files), corpus.files("eval"))
    raws = _common.evaluation_recordings(corpus, args.seconds, args.channels)
    paths = {}
    if "a" in args.panels:
        paths["a"] = panel_a(args, runs, init)
    if "b" in args.panels:
        paths["b"] = panel_b(args, runs, init, raws)
    if "c" in args.panels:
        paths["c"] = panel_c(args, runs, init, raws)
    return paths


def plot_a(curves: pd.DataFrame, fname: Path) -> Path:
    """Validation and training mel loss against steps, one curve per run."""
    _common.use_agg()
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained", sharey=True)
    for run, rows in curves.groupby("run", sort=False):
        color = "C0" if run.startswith("fine-tuned") else "C1"
        style = "-" if run.endswith(", GAN") else "--"
        axes[0].plot(rows["step"], rows["valid_loss"], style, color=color, marker=".", label=run)
        axes[1].plot(rows["step"], rows["train_mel"], style, color=color, marker=".", label=run)
    axes[0].set(xlabel="Step", ylabel="Mel loss", title="Validation (all codebooks)")
    axes[1].set(xlabel="Step", title="Training")
    axes[0].legend(fontsize="small")
    return _common.save_figure(fig, fname)


def plot_b(scores: pd.DataFrame, fname: Path) -> Path:
    """Spectrogram loss against depth, pre-pruned and post-pruned."""
    _common.use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    for pruning, rows in scores.groupby("pruning", sort=False):
        stats = rows.groupby("depth")["spectrogram_loss"].agg(["mean", "std"])
        ax.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o", capsize=3, label=pruning)
    ax.set(xlabel="Codebooks", ylabel="Spectrogram loss (lower is better)", title="Codebook depth")
    ax.legend()
    return _common.save_figure(fig, fname)


def plot_c(scores: pd.DataFrame, fname: Path) -> Path:
    """Spectrogram loss against vocabulary size, one line per sampling rate."""
    _common.use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.4), layout="constrained")
    for sfreq, rows in scores.groupby("sfreq", sort=False):
        stats = rows.groupby("vocabulary")[["spectrogram_loss", "bits_per_second"]].agg(["mean", "std"])
        ax.errorbar(
            stats.index,
            stats[("spectrogram_loss", "mean")],
            yerr=stats[("spectrogram_loss", "std")],
            marker="o",
            capsize=3,
            label=f"{sfreq} Hz",
        )
        for vocabulary, bits in stats[("bits_per_second", "mean")].items():
            ax.annotate(
                f"{bits:g} b/s",
                (vocabulary, stats.loc[vocabulary, ("spectrogram_loss", "mean")]),
                textcoords="offset points",
                xytext=(4, 4),
                fontsize="x-small",
            )
    ax.set(xscale="log", xlabel="Vocabulary (codebook entries)", ylabel="Spectrogram loss (lower is better)")
    ax.minorticks_off()
    ax.set_xticks(sorted(scores["vocabulary"].unique()), [str(v) for v in sorted(scores["vocabulary"].unique())])
    ax.set_title("Sampling rate × vocabulary")
    ax.legend()
    return _common.save_figure(fig, fname)


if __name__ == "__main__":
    main()
