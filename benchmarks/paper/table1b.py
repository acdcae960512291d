"""Table 1b of the paper: downstream accuracy on TUAB and TUEP from codec reconstructions.

Four codecs are trained from DAC's audio weights (``--init``) on the training recordings of
the first corpus given (TUAB, else TUEP, else the open stand-in eegmat), with the same
budget, and used on every corpus:

- **DAC-SC**: each channel coded alone (``mne-dac finetune --model sc``);
- **DAC-MC, random groups**: groups of ``--group-size`` channels around random pivots
  (``--model mc --grouping pivot``);
- **DAC-MC, anatomical groups**: the regions of the head (``--model mc --grouping anatomical``);
- **single-channel decoding**: DAC-MC whose decoder is not conditioned on the channel
  (``DACMCCodec.from_codec(init, channel_conditioning=False, layout="channel")``, then
  ``mne-dac finetune --init <it> --model mc``), the paper's fallback.

DAC-MC codecs use the ``--layout`` given (default ``"group"``: one token stream per group),
except single-channel decoding, which needs the ``"channel"`` layout; the table gives the
bits/s per channel of each. Batches hold ``--batch-size`` single-channel crops for DAC-SC
and ``--batch-size // --group-size`` group crops for DAC-MC, about as many channels.

Then, on each corpus, the protocol of :func:`mne_dac.evaluation.downstream.evaluate_downstream`: a
Braindecode classifier (``--model``, default Deep4Net) is trained on the training
recordings and scored on the evaluation recordings by balanced accuracy over recordings
(mean ± std over ``--seeds``), for the original EEG and each codec's reconstructions
(*recon → recon*); the classifier trained on the original EEG is also scored on each
reconstruction (*orig → recon*). ``--tokens`` adds the token classifier on DAC-SC's tokens.
Tokens are cached in ``--workdir``.

Offline, DAC's audio weights cannot be fetched: with a DAC tag as ``--init``, the script
says so and starts from the codec shipped with mne-dac instead, labelled as such.

Writes ``table1b.md``, ``table1b.csv``, ``table1b.json`` and ``table1b.png`` to ``--out``.

Usage::

    # the paper's setting (DAC's 44 kHz weights; mne-dac finetune's and the protocol's default budgets)
    python benchmarks/paper/table1b.py --tuab /data/tuh_eeg_abnormal --tuep /data/tuh_eeg_epilepsy \\
        --init weights.pth --out results

    # the docs' run on the open stand-in (eegmat), on a CPU
    python benchmarks/paper/table1b.py --out doc/_static/paper --workdir paper-work \\
        --steps 40 --steps-per-epoch 10 --batch-size 4 --crop 5 --lr 1e-3 --no-gan \\
        --model shallow --seconds 12 --window-seconds 4 --n-epochs 30 --seeds 0 1 --tokens --threads 1
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common

ORIGINAL = "original EEG"
#: Rows with a codec -> row of the paper's numbers (:data:`_common.PAPER`).
PAPER_ROWS = {
    "DAC-SC": "DAC-SC",
    "DAC-MC, random groups": "DAC-MC",
    "DAC-MC, anatomical groups": None,
    "single-channel decoding": None,
}
TOKENS = "DAC-SC tokens"


def train_codecs(args, corpus: _common.Corpus, init: _common.InitCodec) -> tuple[dict, dict]:
    """The four codecs of the table, trained on ``corpus``'s training recordings, and their options."""
    from mne_dac.codecs.mc_codec import DACMCCodec

    files = corpus.files("train")
    exclude = _common.non_eeg_channels(files)
    folder = args.workdir / "table1b"
    folder.mkdir(parents=True, exist_ok=True)
    sc_options = _common.training_options(args)
    mc_options = _common.training_options(args, batch_size=max(1, (args.batch_size or 16) // args.group_size))
    single_init = DACMCCodec.from_codec(
        init.codec, layout="channel", grouping="pivot", group_size=args.group_size, channel_conditioning=False
    ).save(folder / "single-channel-decoding-init.pt", overwrite=True)
    runs = {
        "DAC-SC": ["--init", init.argument, "--model", "sc", *sc_options],
        "DAC-MC, random groups": [
            "--init", init.argument, "--model", "mc", "--grouping", "pivot", "--group-size", str(args.group_size),
            "--layout", args.layout, *mc_options,
        ],
        "DAC-MC, anatomical groups": [
            "--init", init.argument, "--model", "mc", "--grouping", "anatomical", "--layout", args.layout, *mc_options,
        ],
        "single-channel decoding": ["--init", str(single_init), "--model", "mc", *mc_options],
    }  # fmt: skip
    names = {
        "DAC-SC": "sc",
        "DAC-MC, random groups": "mc-random",
        "DAC-MC, anatomical groups": "mc-anatomical",
        "single-channel decoding": "mc-single-channel",
    }
    codecs = {
        row: _common.finetune(files, folder / f"{names[row]}.pt", options, exclude=exclude, device=args.device)
        for row, options in runs.items()
    }
    return codecs, runs


def conditions(args, codecs: dict) -> list:
    """The conditions of the protocol: the original EEG, each codec's reconstructions, tokens."""
    from mne_dac.evaluation.downstream import Condition

    out = [Condition(ORIGINAL)]
    out += [Condition(row, codec, _depth(args, codec)) for row, codec in codecs.items()]
    if args.tokens:
        out.append(Condition(TOKENS, codecs["DAC-SC"], _depth(args, codecs["DAC-SC"]), kind="tokens"))
    return out


def _depth(args, codec) -> int:
    return codec.n_codebooks if args.n_codebooks is None else min(args.n_codebooks, codec.n_codebooks)


def prepare(args) -> list | None:
    """Steps before coding: the 19 standard channels (or ``--channels``)."""
    if args.channels is None:
        return None  # the protocol's default: the 19 standard channels
    from braindecode.preprocessing import Preprocessor

    from mne_dac.evaluation.corpora import standardize_channels

    return [
        Preprocessor(standardize_channels, apply_on_array=False),
        Preprocessor("pick", picks=list(args.channels), apply_on_array=False),
    ]


def main(argv: Sequence[str] | None = None) -> dict[str, Path]:
    """Train the codecs, run the protocol on each corpus; return the paths of the files written."""
    from mne_dac.evaluation.downstream import evaluate_downstream, summary_table

    parser = _common.build_parser(__doc__, ["TUAB", "TUEP"])
    _common.add_gan_option(parser)
    g = parser.add_argument_group("DAC-MC")
    g.add_argument("--group-size", type=int, default=4, metavar="K", help="channels per random group (default 4)")
    g.add_argument(
        "--layout", choices=("channel", "group"), default="group",
        help="token layout of the DAC-MC codecs with channel conditioning (default group)",
    )  # fmt: skip
    g = parser.add_argument_group("downstream protocol (mne_dac.evaluation.downstream.evaluate_downstream)")
    g.add_argument("--model", default="deep4", help="classifier: deep4 (default), shallow, tcn")
    g.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="classifier seeds (default 0 1 2)")
    g.add_argument("--n-epochs", type=int, default=35, help="classifier training epochs (default 35)")
    g.add_argument("--window-seconds", type=float, default=6.0, help="window length in seconds (default 6)")
    g.add_argument("--sfreq", type=float, default=100.0, help="classifier's sampling rate in Hz (default 100)")
    g.add_argument("--seconds", type=float, default=None, help="use the first SECONDS of each recording (default: all)")
    g.add_argument("--n-codebooks", type=int, default=None, metavar="N", help="decode with N codebooks (default all)")
    g.add_argument("--tokens", action="store_true", help="also classify DAC-SC's tokens (token classifier)")
    args = _common.parse_args(parser, argv)
    report = _common.Report("table1b", args, "Table 1b: downstream balanced accuracy (%) on codec reconstructions")

    corpora = _common.load_corpora(args, ["TUAB", "TUEP"])
    init = _common.initial_codec(args.init, args.device)
    codecs, runs = train_codecs(args, corpora[0], init)
    results = []
    for corpus in corpora:
        print(f"Downstream protocol on {corpus.label}", flush=True)
        res = evaluate_downstream(
            corpus.dataset,
            conditions(args, codecs),
            model=args.model,
            seeds=args.seeds,
            cache_dir=args.workdir / "tokens",
            window_seconds=args.window_seconds,
            sfreq=args.sfreq,
            tmax=args.seconds,
            prepare=prepare(args),
            n_epochs=args.n_epochs,
            device=args.device,
            progress=False,
            verbose="error",
        )
        results.append(res.assign(corpus=corpus.name))
    results = pd.concat(results, ignore_index=True)

    table = display_table(results, corpora)
    model = results["model"].iloc[0]
    data = "; ".join(corpus.describe() for corpus in corpora)
    report.text(
        f"Data: {data}. Codecs trained on the training recordings of {corpora[0].label}, "
        f"starting from the {init.label}: "
        + "; ".join(f"{row}: `{' '.join(opts)}`" for row, opts in runs.items())
        + ".",
        f"Classifier: {model}, {args.n_epochs} epochs, windows of {args.window_seconds:g} s at {args.sfreq:g} Hz"
        + ("" if args.seconds is None else f", first {args.seconds:g} s of each recording")
        + f"; balanced accuracy over evaluation recordings in %, mean ± std over seeds {args.seeds}. "
        "*recon → recon*: trained and tested on the reconstructions; *orig → recon*: trained on the original "
        "EEG, tested on the reconstructions.",
        "Paper: accuracy in %; the paper's DAC-MC numbers are shown on the random-groups row (the numbers "
        "recorded here name no grouping).",
    )
    if init.fallback:
        report.text(
            f"DAC's audio weights ({args.init}) could not be loaded here: the codecs start from the {init.label}."
        )
    report.table(table)
    report.data.update(
        corpora=[corpus.label for corpus in corpora],
        init=init.label,
        codecs={row: repr(codec) for row, codec in codecs.items()},
        summary=_common.records(
            pd.concat([summary_table(r.drop(columns="corpus")).assign(corpus=c) for c, r in results.groupby("corpus")])
        ),
        results=_common.records(results),
    )
    paths = report.write()
    paths["png"] = plot(results, args.out / "table1b.png")
    return paths


def display_table(results: pd.DataFrame, corpora: list) -> pd.DataFrame:
    """One row per condition: bits/s per channel, accuracies on each corpus, the paper's numbers."""
    rows = []
    for condition in dict.fromkeys(results["condition"]):
        cells = {"Input": condition}
        own = results[(results.condition == condition) & (results.train_on == condition)]
        bitrate = own["bits_per_second"].iloc[0]
        cells["Bits/s/channel"] = "–" if np.isnan(bitrate) else f"{bitrate:.3g}"
        for corpus in corpora:
            mine = own[own.corpus == corpus.name]
            cross = results[
                (results.corpus == corpus.name) & (results.test_on == condition) & (results.train_on == ORIGINAL)
            ]
            name = corpus.name
            cells[f"{name} recon → recon"] = _common.mean_std(100 * mine["balanced_accuracy"], "{:.1f}")
            cells[f"{name} orig → recon"] = (
                "–" if condition in (ORIGINAL, TOKENS) else _common.mean_std(100 * cross["balanced_accuracy"], "{:.1f}")
            )
        for paper_corpus in ("TUAB", "TUEP"):
            row = PAPER_ROWS.get(condition)
            cells[f"Paper {paper_corpus}"] = _common.paper_value("table1b", paper_corpus, row, "{:.0f}")
        rows.append(cells)
    return pd.DataFrame(rows)


def plot(results: pd.DataFrame, fname: Path) -> Path:
    """Balanced accuracy of each condition on each corpus (mean and seeds)."""
    _common.use_agg()
    import matplotlib.pyplot as plt

    own = results[results.train_on == results.test_on]
    corpora = list(dict.fromkeys(own["corpus"]))
    conditions = list(dict.fromkeys(own["condition"]))
    fig, axes = plt.subplots(1, len(corpora), figsize=(4 + 2 * len(conditions) / 3, 3.4), layout="constrained")
    for ax, corpus in zip(np.atleast_1d(axes), corpora):
        for i, condition in enumerate(conditions):
            values = 100 * own.loc[(own.corpus == corpus) & (own.condition == condition), "balanced_accuracy"]
            ax.bar(i, values.mean(), color=f"C{i}", alpha=0.7)
            ax.plot([i] * len(values), values, "k.", alpha=0.6)
        ax.axhline(50, color="gray", lw=0.8, ls="--")
        ax.set(xticks=range(len(conditions)), ylim=(0, 100), ylabel="Balanced accuracy (%)", title=corpus)
        ax.set_xticklabels(conditions, rotation=30, ha="right", fontsize="small")
    return _common.save_figure(fig, fname)


if __name__ == "__main__":
    main()
