"""Shared parts of the scripts that reproduce the paper's results (``benchmarks/paper/``).

- the paper's numbers (:data:`PAPER`), printed beside the measured ones;
- options: corpora (``--tuab``, ``--tuep``, ``--eegmat``), the codec training starts from
  (``--init``), outputs (``--out``, ``--workdir``), training and evaluation budgets;
- the corpora, read with :mod:`mne_dac.evaluation.corpora`: TUAB and TUEP where given, else the open
  stand-in eegmat (rest versus mental arithmetic, subject-wise split);
- codec training through ``mne-dac finetune`` (run in this process), fidelity on the
  evaluation recordings (:func:`mne_dac.signal.metrics.fidelity_report`), Markdown tables.
"""

from __future__ import annotations

import argparse
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from braindecode.datasets import BaseConcatDataset

import mne_dac
from mne_dac.signal.channels import CHANNELS_10_20

#: The repository's root.
ROOT = Path(__file__).resolve().parents[2]
#: Where the open stand-in lives in the development setup (``../shared`` beside the repository).
DEFAULT_EEGMAT = ROOT.parent / "shared" / "data" / "eegmat"

#: The paper whose results the scripts reproduce.
PAPER_SOURCE = "Kastrati et al. (2025), Adapting Neural Audio Codecs to EEG, arXiv:2511.23142"
#: What a cell shows for a number of the paper not recorded in :data:`PAPER`.
SEE_PAPER = "see paper"
#: The paper's numbers printed beside the measured ones, keyed by result, then (corpus, row).
#: Only numbers given in the project's brief are recorded here (Table 1b, accuracy in %, for
#: "DAC-MC", grouping not stated, and "DAC-SC"); every other cell reads :data:`SEE_PAPER`.
PAPER = {
    "table1b": {
        ("TUAB", "DAC-SC"): 83.0,
        ("TUAB", "DAC-MC"): 78.0,
        ("TUEP", "DAC-SC"): 80.0,
        ("TUEP", "DAC-MC"): 85.0,
    },
}

#: Corpus name -> option.
CORPUS_OPTIONS = {"TUAB": "tuab", "TUEP": "tuep"}


def paper_value(result: str, corpus: str, row: str | None, fmt: str = "{:g}") -> str:
    """The paper's number for a cell, formatted, or :data:`SEE_PAPER`."""
    value = PAPER.get(result, {}).get((corpus, row))
    return SEE_PAPER if value is None else fmt.format(value)


# ---------------------------------------------------------------------------- options
def build_parser(doc: str, corpora: Sequence[str]) -> argparse.ArgumentParser:
    """A parser with the options every script shares.

    Parameters
    ----------
    doc : str
        The script's docstring (the parser's description).
    corpora : sequence of str
        The corpora the script uses (``"TUAB"``, ``"TUEP"``): one ``--tuab``/``--tuep``
        option each.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    g = parser.add_argument_group("data")
    for corpus in corpora:
        g.add_argument(
            f"--{CORPUS_OPTIONS[corpus]}", type=Path, default=None, metavar="PATH",
            help=f"{corpus} root (see mne_dac.evaluation.corpora); without it, the eegmat stand-in is used",
        )  # fmt: skip
    g.add_argument(
        "--eegmat", type=Path, default=DEFAULT_EEGMAT, metavar="PATH",
        help=f"eegmat folder, the open stand-in (default {DEFAULT_EEGMAT})",
    )  # fmt: skip
    g.add_argument(
        "--recordings", type=int, default=None, metavar="N",
        help="at most N recordings per split and class (default: all)",
    )  # fmt: skip
    g.add_argument(
        "--channels", nargs="+", default=None, metavar="CH",
        help="evaluate on these of the 19 standard channels only (default: all 19)",
    )  # fmt: skip
    g = parser.add_argument_group("codec")
    g.add_argument(
        "--init", default="44khz",
        help="DAC's audio weights: a DAC tag (default 44khz, from DAC's cache or downloader) or a local "
        "weights.pth; offline, a tag falls back to the codec shipped with mne-dac, labelled as such",
    )  # fmt: skip
    g = parser.add_argument_group("codec training (mne-dac finetune; unset: its defaults)")
    g.add_argument("--steps", type=int, default=None, metavar="N", help="optimizer steps per training run")
    g.add_argument("--steps-per-epoch", type=int, default=None, metavar="N", help="steps per epoch")
    g.add_argument("--minutes", type=float, default=None, help="time budget per training run")
    g.add_argument("--crop", type=float, default=None, metavar="SECONDS", help="crop duration")
    g.add_argument("--batch-size", type=int, default=None, metavar="N", help="crops per step (DAC-SC)")
    g.add_argument("--lr", type=float, default=None, help="learning rate")
    g.add_argument("--seed", type=int, default=0, help="seed of the crops and of scratch initialisations")
    g.add_argument(
        "--encoder-dim", type=int, default=None, metavar="N",
        help="scratch codecs: DAC's encoder_dim (default: that of --init's codec)",
    )  # fmt: skip
    g.add_argument(
        "--decoder-dim", type=int, default=None, metavar="N",
        help="scratch codecs: DAC's decoder_dim (default: that of --init's codec)",
    )  # fmt: skip
    g = parser.add_argument_group("run")
    g.add_argument("--out", type=Path, default=Path("paper-results"), help="folder of the tables and figures")
    g.add_argument(
        "--workdir", type=Path, default=None,
        help="folder of the trained codecs, checkpoints and token caches (default: OUT/work)",
    )  # fmt: skip
    g.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    g.add_argument("--device", default=None, help="torch device (default: cuda if available)")
    return parser


def add_gan_option(parser: argparse.ArgumentParser) -> None:
    """``--gan/--no-gan``: train with DAC's discriminator (until it diverges) or not."""
    parser.add_argument(
        "--gan", action=argparse.BooleanOptionalAction, default=True,
        help="train with DAC's discriminator until it diverges, as the paper (default: on)",
    )  # fmt: skip


def add_fidelity_option(parser: argparse.ArgumentParser) -> None:
    """``--seconds``: length of the evaluation recordings."""
    parser.add_argument(
        "--seconds", type=float, default=60.0,
        help="spectrogram loss on the first SECONDS of each evaluation recording (default 60)",
    )  # fmt: skip


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """Parse, check and complete the options; set torch's threads and MNE's log level."""
    import torch

    args = parser.parse_args(argv)
    if args.channels is not None:
        unknown = sorted(set(args.channels) - set(CHANNELS_10_20))
        if unknown:
            parser.error(f"--channels: {unknown} are not among the 19 standard channels {list(CHANNELS_10_20)}")
    for name in ("recordings", "steps", "steps_per_epoch", "batch_size", "threads"):
        value = getattr(args, name, None)
        if value is not None and value < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {value}")
    args.workdir = args.workdir or args.out / "work"
    args.out.mkdir(parents=True, exist_ok=True)
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    mne.set_log_level("error")
    return args


# ---------------------------------------------------------------------------- corpora
@dataclass
class Corpus:
    """A corpus with a train/eval split: TUAB, TUEP, or eegmat standing in for one."""

    name: str
    label: str
    dataset: BaseConcatDataset
    stand_in_for: str | None = None

    def split(self, split: str) -> BaseConcatDataset:
        """The recordings of one split (``"train"`` or ``"eval"``)."""
        return self.dataset.split("split")[split]

    def files(self, split: str) -> list[str]:
        """The files of one split."""
        description = self.dataset.description
        return description.loc[description["split"] == split, "path"].tolist()

    def describe(self) -> str:
        """Recordings and subjects of each split."""
        d = self.dataset.description
        parts = []
        for split in ("train", "eval"):
            rows = d[d["split"] == split]
            classes = ", ".join(f"{n} of class {t}" for t, n in rows.groupby("target").size().items())
            parts.append(f"{split}: {len(rows)} recordings ({classes}) of {rows['subject'].nunique()} subjects")
        return f"{self.label}: " + "; ".join(parts)


def _cap(dataset: BaseConcatDataset, n: int | None) -> BaseConcatDataset:
    """The first ``n`` recordings of each split and class (all with ``None``)."""
    if n is None:
        return dataset
    description = dataset.description.reset_index(drop=True)
    keep = description.groupby(["split", "target"], sort=False).head(n).index
    return BaseConcatDataset([dataset.datasets[i] for i in sorted(keep)])


def load_corpora(args: argparse.Namespace, corpora: Sequence[str]) -> list[Corpus]:
    """The corpora given among ``corpora`` (TUAB, TUEP), or the eegmat stand-in for the first one."""
    from mne_dac.evaluation.corpora import TUEP, eegmat, tuab

    readers = {"TUAB": tuab, "TUEP": TUEP}
    out = []
    for name in corpora:
        path = getattr(args, CORPUS_OPTIONS[name])
        if path is not None:
            dataset = readers[name](path, verbose="error")
            out.append(Corpus(name, name, _cap(dataset, args.recordings)))
    if not out:
        stand_in = "/".join(corpora)
        dataset = eegmat(args.eegmat, verbose="error")
        label = f"eegmat, rest vs arithmetic (open stand-in for {stand_in})"
        out.append(Corpus("eegmat", label, _cap(dataset, args.recordings), stand_in_for=stand_in))
    for corpus in out:
        print(corpus.describe(), flush=True)
    return out


def non_eeg_channels(files: Sequence[str]) -> list[str]:
    """Channels of the files (as ``mne.io.read_raw`` names them) that are not one of the 19 standard ones."""
    from mne_dac.evaluation.corpora import _standard_name

    names: set[str] = set()
    for fname in files:
        names.update(mne.io.read_raw(fname, preload=False, verbose="error").ch_names)
    return sorted(name for name in names if _standard_name(name) is None)


def evaluation_recordings(corpus: Corpus, seconds: float, channels: Sequence[str] | None) -> dict[str, mne.io.BaseRaw]:
    """The first ``seconds`` of each evaluation recording, with the standard channels (or ``channels``)."""
    from mne_dac.evaluation.corpora import standardize_channels

    raws = {}
    for ds in corpus.split("eval").datasets:
        raw = ds.raw.copy()
        raw.crop(0, min(seconds, raw.times[-1]), include_tmax=False).load_data()
        raw = standardize_channels(raw)
        if channels is not None:
            raw.pick(list(channels))
        raws[Path(ds.description["path"]).stem] = raw
    return raws


# ---------------------------------------------------------------------------- codecs
@dataclass
class InitCodec:
    """The codec training starts from: DAC's audio weights, or the stand-in used offline."""

    codec: mne_dac.DACCodec
    #: ``--init`` of ``mne-dac finetune``.
    argument: str
    #: How tables name it.
    label: str
    #: Whether DAC's audio weights are replaced by the shipped codec.
    fallback: bool = False


#: The shipped codec that stands in for DAC's audio weights offline: the release with DAC's own
#: architecture (hop 512 at 512 Hz, 9 codebooks of 1024 entries), as the paper's codecs have.
PAPER_STAND_IN = "default-2026.11"


def initial_codec(init: str, device: str | None = None) -> InitCodec:
    """Load DAC's audio weights (a tag or a local file), or fall back to a shipped codec offline."""
    from mne_dac.codecs.loading import DAC_TAGS

    try:
        codec = mne_dac.load_codec(init, device=device, verbose="error")
    except OSError as err:
        if init not in DAC_TAGS:
            raise
        print(
            f"NOTE: DAC's audio weights {init!r} cannot be loaded here ({err}).\n"
            f"Falling back to the codec shipped with mne-dac with DAC's architecture ({PAPER_STAND_IN!r}, "
            "trained on eegmat) as the 'pretrained' starting point; tables label it as such. Pass --init "
            "/path/to/weights.pth (DAC's audio weights, downloaded elsewhere) to start from DAC's audio weights.",
            flush=True,
        )
        codec = mne_dac.load_codec(PAPER_STAND_IN, device=device, verbose="error")
        label = f"shipped codec {PAPER_STAND_IN} (stand-in for the audio-pretrained DAC)"
        return InitCodec(codec, PAPER_STAND_IN, label, True)
    if init in DAC_TAGS:
        label = f"audio-pretrained DAC ({init})"
    else:
        label = f"audio-pretrained DAC ({Path(init).name})"
    return InitCodec(codec, str(init), label)


def training_options(args: argparse.Namespace, *, batch_size: int | None = None, gan: bool | None = None) -> list:
    """``mne-dac finetune`` options of the budget given to the script."""
    options = ["--seed", str(args.seed)]
    for name in ("steps", "steps_per_epoch", "minutes", "crop", "lr", "threads", "device"):
        value = getattr(args, name, None)
        if value is not None:
            options += [f"--{name.replace('_', '-')}", str(value)]
    batch_size = batch_size or args.batch_size
    if batch_size is not None:
        options += ["--batch-size", str(batch_size)]
    gan = getattr(args, "gan", False) if gan is None else gan
    options.append("--gan" if gan else "--no-gan")
    return options


def scratch_options(args: argparse.Namespace, init: InitCodec, **overrides: object) -> list:
    """``--init scratch`` options for a random codec of the architecture of ``init`` (or the options')."""
    model = init.codec.dac_model
    settings = {
        "encoder_dim": args.encoder_dim or model.encoder_dim,
        "decoder_dim": args.decoder_dim or model.decoder_dim,
        "n_codebooks": init.codec.n_codebooks,
        "codebook_size": init.codec.codebook_size,
        "sfreq": round(init.codec.sfreq),
    }
    settings.update(overrides)
    options = ["--init", "scratch", "--rates", *map(str, model.encoder_rates)]
    for name, value in settings.items():
        options += [f"--{name.replace('_', '-')}", str(value)]
    return options


def finetune(
    files: Sequence[str],
    out: Path,
    options: Sequence[str],
    *,
    exclude: Sequence[str] = (),
    valid: Sequence[str] | None = None,
    device: str | None = None,
) -> mne_dac.DACCodec:
    """Train a codec with ``mne-dac finetune`` (in this process) and load it.

    Parameters
    ----------
    files : sequence of str
        Training recordings.
    out : Path
        Codec file to write (overwritten); the checkpoint goes to ``<out>.work/``.
    options : sequence of str
        Other options of ``mne-dac finetune`` (``--init`` included).
    exclude : sequence of str
        Channels never trained on.
    valid : sequence of str | None
        Validation recordings.
    """
    from mne_dac.commands import main as cli

    argv = ["--debug", "finetune", *map(str, files), "--out", str(out), "--overwrite", "--quiet", *map(str, options)]
    shown = argv[2 + len(files) :]
    if valid:
        argv += ["--valid", *map(str, valid)]
        shown += ["--valid", f"<{len(valid)} files>"]
    if exclude:
        argv += ["--exclude", *exclude]
        shown += ["--exclude", *exclude]
    print(f"Training {out.name}: mne-dac finetune <{len(files)} files> {shlex.join(shown)}", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    cli(argv)  # --debug: errors propagate
    print(f"Trained {out.name} in {(time.perf_counter() - start) / 60:.1f} min.", flush=True)
    return mne_dac.load_codec(out, device=device, verbose="error")


def history(out: Path) -> pd.DataFrame:
    """The per-epoch training record of a codec trained by :func:`finetune`."""
    rows = json.loads((out.with_name(out.name + ".work") / "history.json").read_text())
    keys = ("epoch", "train_loss", "train_mel", "valid_loss", "gan_active", "dur")
    return pd.DataFrame([{k: row.get(k, np.nan) for k in keys} for row in rows])


# ---------------------------------------------------------------------------- fidelity
def fidelity(
    codec: mne_dac.DACCodec,
    raws: dict[str, mne.io.BaseRaw],
    depths: Sequence[int | None] = (None,),
    **labels: object,
) -> pd.DataFrame:
    """Spectrogram loss (the paper's measure) and PRD of each recording at each depth.

    Each recording is encoded once with all codebooks and decoded with the first ``depth``;
    :func:`mne_dac.signal.metrics.fidelity_report` compares it with the original at 512 Hz, the
    same reference for codecs at 256 and 512 Hz.

    Returns
    -------
    rows : pandas.DataFrame
        One row per recording and depth: ``labels``, ``recording``, ``depth``,
        ``bits_per_second`` (per channel), ``spectrogram_loss``, ``prd``.
    """
    from mne_dac.signal.metrics import fidelity_report

    rows = []
    for name, raw in raws.items():
        tokens = mne_dac.tokenize_raw(raw, codec, n_codebooks=codec.n_codebooks, restore_bands=False, verbose="error")
        for depth in depths:
            depth = codec.n_codebooks if depth is None else depth
            rec = mne_dac.reconstruct_raw(tokens, codec, n_codebooks=depth, verbose="error")
            overall = fidelity_report(raw, rec, verbose="error").overall
            rows.append(
                dict(
                    **labels,
                    recording=name,
                    depth=depth,
                    bits_per_second=tokens.bits_per_second * depth / tokens.n_codebooks,
                    spectrogram_loss=overall["spectrogram_loss"],
                    prd=overall["prd"],
                )
            )
    return pd.DataFrame(rows)


def mean_std(values: pd.Series, fmt: str = "{:.3f}") -> str:
    """``mean ± std`` (``ddof=1``) of values, or the mean alone for one value."""
    values = pd.Series(values, dtype=float).dropna()
    if values.empty:
        return "–"
    if len(values) == 1:
        return fmt.format(values.iloc[0])
    return f"{fmt.format(values.mean())} ± {fmt.format(values.std())}"


# ---------------------------------------------------------------------------- outputs
def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub Markdown table of strings (numbers right-aligned)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    align = "|" + "|".join("---:" if table[c].map(_is_number).all() else "---" for c in table.columns) + "|"
    lines = ["| " + " | ".join(map(str, row)) + " |" for row in table.itertuples(index=False)]
    return "\n".join([header, align, *lines])


def _is_number(text: object) -> bool:
    head = str(text).split(" ")[0]
    if head in ("–", SEE_PAPER.split(" ")[0]):
        return True
    try:
        float(head)
    except ValueError:
        return False
    return True


class Report:
    """Collects a script's Markdown, tables and numbers, and writes them to ``--out``.

    Files: ``<stem>.md`` (notes and tables, printed too), ``<stem>.csv`` (the tables,
    one after the other, for the docs' ``csv-table``) and ``<stem>.json`` (every number).
    """

    def __init__(self, stem: str, args: argparse.Namespace, title: str) -> None:
        self.stem, self.args, self.title = stem, args, title
        self.lines: list[str] = [f"**{title}**", ""]
        self.tables: list[pd.DataFrame] = []
        self.data: dict[str, object] = {}
        self.start_wall, self.start_cpu = time.perf_counter(), time.process_time()

    def text(self, *lines: str) -> None:
        """Add paragraphs."""
        for line in lines:
            self.lines += [line, ""]

    def table(self, table: pd.DataFrame, caption: str | None = None) -> None:
        """Add a table of strings."""
        if caption:
            self.text(caption)
        self.lines += [markdown_table(table), ""]
        self.tables.append(table)

    def write(self) -> dict[str, Path]:
        """Write the files, print the Markdown and return the paths written."""
        wall, cpu = time.perf_counter() - self.start_wall, time.process_time() - self.start_cpu
        self.text(
            f'Numbers of the paper: {PAPER_SOURCE}; "{SEE_PAPER}" where this package does not record them. '
            f"Run time: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU (this process, all threads)."
        )
        out = self.args.out
        paths = {kind: out / f"{self.stem}.{kind}" for kind in ("md", "csv", "json")}
        markdown = "\n".join(self.lines).rstrip() + "\n"
        paths["md"].write_text(markdown)
        with open(paths["csv"], "w") as f:
            for i, table in enumerate(self.tables):
                if i:
                    f.write("\n")
                table.to_csv(f, index=False)
        self.data.update(
            paper_source=PAPER_SOURCE,
            options={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self.args).items()},
            wall_minutes=round(wall / 60, 2),
            cpu_minutes=round(cpu / 60, 2),
        )
        paths["json"].write_text(json.dumps(self.data, indent=1, default=_jsonable, allow_nan=False))
        print("\n" + markdown, flush=True)
        return paths


def records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts with NaN as None (valid JSON)."""
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in df.to_dict("records")
    ]


def _jsonable(obj: object) -> object:
    if hasattr(obj, "item"):
        value = obj.item()
        return None if isinstance(value, float) and np.isnan(value) else value
    return str(obj)


def save_figure(fig, fname: Path) -> Path:
    """Save a figure (PNG) and close it."""
    import matplotlib.pyplot as plt

    fig.savefig(fname, dpi=110)
    plt.close(fig)
    return fname


def use_agg() -> None:
    """Plot without a display."""
    import matplotlib

    matplotlib.use("Agg")
