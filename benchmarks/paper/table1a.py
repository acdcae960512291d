"""Table 1a of the paper: spectrogram loss of DAC on EEG, pretrained, fine-tuned, or trained from scratch.

Three DAC-SC codecs are compared on the evaluation recordings of TUAB (or of the open
stand-in, eegmat):

- **pretrained**: DAC's audio weights (``--init``), with the paper's preprocessing and no
  training on EEG;
- **fine-tuned**: the same weights trained on the training recordings with
  ``mne-dac finetune --init <weights>``;
- **scratch**: a random DAC of the same architecture (or ``--encoder-dim``/``--decoder-dim``)
  trained with the same budget and recipe (``mne-dac finetune --init scratch``).

Every codec codes the first ``--seconds`` of each evaluation recording (the 19 standard
channels) with all its codebooks; the spectrogram loss (DAC's multi-scale mel loss,
:func:`mne_dac.signal.metrics.fidelity_report`) and PRD are averaged over recordings (mean ± std).

Offline, DAC's audio weights cannot be fetched: with a DAC tag as ``--init``, the script
says so and starts from the codec shipped with mne-dac instead, labelled as such. Pass
``--init /path/to/weights.pth`` (DAC's 44 kHz weights, downloaded elsewhere) to start from
the audio weights.

Writes ``table1a.md``, ``table1a.csv``, ``table1a.json`` and ``table1a.png`` to ``--out``;
codecs and checkpoints go to ``--workdir``.

Usage::

    # the paper's setting (TUAB v3.0.1, DAC's 44 kHz weights, mne-dac finetune's default budget)
    python benchmarks/paper/table1a.py --tuab /data/tuh_eeg_abnormal --init weights.pth --out results

    # the docs' run on the open stand-in (eegmat), on a CPU
    python benchmarks/paper/table1a.py --out doc/_static/paper --workdir paper-work \\
        --steps 40 --steps-per-epoch 10 --batch-size 4 --crop 5 --lr 1e-3 --no-gan --seconds 20 --threads 1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

#: Rows of the table, in order.
ROWS = ("pretrained", "fine-tuned", "scratch")


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    """Run the comparison; return the paths of the files written."""
    parser = _common.build_parser(__doc__, ["TUAB"])
    _common.add_gan_option(parser)
    _common.add_fidelity_option(parser)
    args = _common.parse_args(parser, argv)
    report = _common.Report("table1a", args, "Table 1a: spectrogram loss of DAC-SC on held-out EEG")

    (corpus,) = _common.load_corpora(args, ["TUAB"])
    init = _common.initial_codec(args.init, args.device)
    train = corpus.files("train")
    exclude = _common.non_eeg_channels(train)
    codecs_dir = args.workdir / "table1a"
    options = _common.training_options(args)
    codecs = {
        "pretrained": init.codec,
        "fine-tuned": _common.finetune(
            train, codecs_dir / "fine-tuned.pt", ["--init", init.argument, *options], exclude=exclude,
            device=args.device,
        ),
        "scratch": _common.finetune(
            train, codecs_dir / "scratch.pt", [*_common.scratch_options(args, init), *options], exclude=exclude,
            device=args.device,
        ),
    }  # fmt: skip

    raws = _common.evaluation_recordings(corpus, args.seconds, args.channels)
    scores = pd.concat([_common.fidelity(codec, raws, row=row) for row, codec in codecs.items()], ignore_index=True)
    descriptions = {
        "pretrained": f"{init.label}, as shipped" if init.fallback else f"{init.label}, no training on EEG",
        "fine-tuned": f"{init.label}, fine-tuned on EEG",
        "scratch": "random init (same architecture), trained on EEG",
    }
    table = pd.DataFrame(
        [
            {
                "Codec": row,
                "Start": descriptions[row],
                "Bits/s/channel": f"{codecs[row].bits_per_second():g}",
                f"Spectrogram loss ({corpus.name} eval)": _common.mean_std(scores.loc[scores.row == row, "spectrogram_loss"]),
                "PRD %": _common.mean_std(scores.loc[scores.row == row, "prd"], "{:.1f}"),
                "Paper (TUAB eval)": _common.paper_value("table1a", "TUAB", row),
            }
            for row in ROWS
        ]
    )  # fmt: skip
    report.text(
        f"Data: {corpus.describe()}. Spectrogram loss (DAC's multi-scale mel loss; lower is better) and PRD on "
        f"the first {args.seconds:g} s of each of the {len(raws)} evaluation recordings, "
        f"{len(next(iter(raws.values())).ch_names)} channels, all codebooks; mean ± std over recordings.",
        f"Training: `mne-dac finetune {' '.join(options)}` on the {len(train)} training recordings "
        f"(channels {exclude} left out); scratch: `{' '.join(_common.scratch_options(args, init))}`.",
    )
    if init.fallback:
        report.text(
            f"DAC's audio weights ({args.init}) could not be loaded here: *pretrained* is the {init.label}. "
            "Pass `--init /path/to/weights.pth` to start from DAC's audio weights."
        )
    report.table(table)
    report.data.update(
        corpus=corpus.label,
        init=init.label,
        codecs={row: repr(codec) for row, codec in codecs.items()},
        per_recording=_common.records(scores),
    )
    paths = report.write()
    paths["png"] = plot(scores, corpus.name, args.out / "table1a.png")
    return paths


def plot(scores: pd.DataFrame, corpus: str, fname: Path) -> Path:
    """Spectrogram loss of each codec: mean over recordings, and each recording."""
    _common.use_agg()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.2), layout="constrained")
    for i, row in enumerate(ROWS):
        values = scores.loc[scores.row == row, "spectrogram_loss"]
        ax.bar(i, values.mean(), color=f"C{i}", alpha=0.7)
        ax.plot([i] * len(values), values, "k.", alpha=0.6)
    ax.set(
        xticks=range(len(ROWS)),
        xticklabels=ROWS,
        ylabel="Spectrogram loss (lower is better)",
        title=f"DAC-SC on {corpus} eval recordings",
    )
    return _common.save_figure(fig, fname)


if __name__ == "__main__":
    main()
