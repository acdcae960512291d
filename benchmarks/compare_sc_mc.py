"""DAC-SC versus DAC-MC on eegmat at equal bits/s per channel: fidelity and a downstream classifier.

1. **Fidelity.** On the validation subjects (20-23, both recordings, 60 s, 19 EEG channels),
   every codec encodes each recording once with all its codebooks and decodes it with the
   first ``k`` of them (``--depths``). A DAC-SC codec spends ``b k`` bits/s on every channel
   (``b``: the bits/s of one codebook); a DAC-MC codec in the ``"group"`` layout spends them on
   every *group*, so ``b k × n_groups / n_channels`` per channel. The block DCT of each
   channel and of the channels' principal components (``"dct"`` and ``"klt-dct"`` of
   :mod:`mne_dac.evaluation.baselines`) code the same recordings at each of these rates, every
   bit counted. Spectrogram loss, PRD, SNR and the relative band-power
   errors (:func:`mne_dac.signal.metrics.fidelity_report`) are averaged over recordings.
2. **Rest versus arithmetic.** All 24 subjects, both recordings, are reconstructed by each
   codec at its depths in the classifier (DAC-SC: ``--sc-depths``; DAC-MC: half and all its
   codebooks). A simple classifier, log band powers (1-4-8-13-30-45 Hz,
   Welch on 5-s windows) of the 19 channels, standardised, into a logistic regression, is
   cross-validated subject-wise (6 folds of 4 subjects, no subject in train and test). Window
   probabilities are averaged per recording; the accuracy is over the 48 recordings (balanced
   classes: it is also the balanced accuracy). "recon → recon" trains and tests on
   reconstructions; "orig → recon" trains on the original EEG and tests on reconstructions.
   The codecs were trained on subjects 00-19, so for those subjects the reconstructions are
   in-sample for the codec (never for the classifier).

Writes ``sc_mc.md`` (tables), ``sc_mc.json`` and ``sc_mc.png`` (spectrogram loss and PRD
against bits/s per channel) to ``--out``.

Usage::

    python benchmarks/compare_sc_mc.py --sc mc-codecs/sc-continued.pt \\
        --mc mc-codecs/mc-pivot.pt mc-codecs/mc-anatomical.pt --out mc-codecs
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import mne
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mne_dac
from mne_dac.evaluation.baselines import make_coder
from mne_dac.io.raw import tokenize_at_depths
from mne_dac.signal.metrics import fidelity_report

sys.path.insert(0, str(Path(__file__).parent))
from evaluate_codec import ROOT, VALID_SUBJECTS, read_recordings

BANDS = (1.0, 4.0, 8.0, 13.0, 30.0, 45.0)
#: Transform coders measured at the codecs' rates: the block DCT of each channel, and of the principal components.
BASELINES = ("dct", "klt-dct")
#: Fidelity measures of the table (``fidelity_report(...).overall`` keys).
MEASURES = ("spectrogram_loss", "prd", "snr_db", "err_delta", "err_theta", "err_alpha", "err_beta")
WINDOW = 5.0


def _label(source: str) -> str:
    return Path(source).stem if Path(source).suffix else source


def tokenize(raw: mne.io.BaseRaw, codec, depths: list[int]) -> dict[int, mne_dac.EEGTokens]:
    """Tokens of the EEG channels at each depth, as ``tokenize_raw`` codes them (DAC-MC: the codec's default
    groups), without band gains: the table compares what each codec's decode keeps."""
    return tokenize_at_depths(raw, codec, depths, restore_bands=False, verbose="error") if depths else {}


def fidelity(codecs: dict, raws: dict[str, mne.io.BaseRaw], depths: list[int]) -> pd.DataFrame:
    """Fidelity of the codecs at the given depths, and of the baselines at their rates, averaged over recordings."""
    rows = []
    for name, raw in raws.items():
        t0 = time.perf_counter()
        rates = set()
        for label, codec in codecs.items():
            for depth, tokens in tokenize(raw, codec, [d for d in depths if d <= codec.n_codebooks]).items():
                rec = mne_dac.reconstruct_raw(tokens, codec, n_codebooks=depth, verbose="error")
                overall = fidelity_report(raw, rec, verbose="error").overall
                rate = tokens.bits_per_second * depth / tokens.n_codebooks
                rates.add((round(rate, 1), codec.sfreq, codec.preprocessing))
                row = dict(codec=label, depth=depth, bits_per_second=rate, n_streams=tokens.codes.shape[0])
                rows.append(dict(recording=name, **row, **{m: overall[m] for m in MEASURES}))
        for (rate, sfreq, settings), method in itertools.product(sorted(rates, key=lambda r: r[0]), BASELINES):
            rec, coded = make_coder(method, rate, sfreq).code_raw(raw.copy().pick("eeg"), settings)
            overall = fidelity_report(raw, rec, verbose="error").overall
            row = dict(codec=method, depth=0, target=rate, bits_per_second=coded.bits_per_second,
                       n_streams=len(raw.ch_names))  # fmt: skip
            rows.append(dict(recording=name, **row, **{m: overall[m] for m in MEASURES}))
        print(f"fidelity {name}: {time.perf_counter() - t0:.0f} s", flush=True)
    df = pd.DataFrame(rows)  # a baseline's rows are those of one codec rate (they spend 99-100 % of it)
    table = df.groupby(["codec", "depth", "target"], sort=False, dropna=False).mean(numeric_only=True).reset_index()
    order = {codec: i for i, codec in enumerate([*codecs, *BASELINES])}
    by = ["codec", "bits_per_second"]
    table = table.sort_values(by, key=lambda column: column.map(order) if column.name == "codec" else column)
    return table.drop(columns="target").reset_index(drop=True)


def band_power_features(raw: mne.io.BaseRaw) -> np.ndarray:
    """Log band powers of non-overlapping windows, ``(n_windows, n_channels * n_bands)``."""
    sfreq = raw.info["sfreq"]
    n = int(WINDOW * sfreq)
    data = raw.get_data(picks="eeg")
    n_windows = data.shape[1] // n
    windows = data[:, : n_windows * n].reshape(data.shape[0], n_windows, n).transpose(1, 0, 2)
    psd, freqs = mne.time_frequency.psd_array_welch(
        windows, sfreq, fmin=BANDS[0], fmax=BANDS[-1], n_fft=int(2 * sfreq), verbose="error"
    )
    powers = [psd[..., (freqs >= lo) & (freqs < hi)].mean(-1) for lo, hi in itertools.pairwise(BANDS)]
    return np.log10(np.stack(powers, axis=-1)).reshape(n_windows, -1)


def classify(features: dict[str, dict[str, np.ndarray]], conditions: list[str]) -> pd.DataFrame:
    """Subject-wise cross-validated per-recording accuracy of rest versus arithmetic."""
    names = sorted(features["original"])
    subjects = np.array([int(name[7:9]) for name in names])
    labels = np.array([int(name[-1] == "2") for name in names])  # _1 rest, _2 arithmetic

    def stack(condition: str, idx: np.ndarray):
        x = [features[condition][names[i]] for i in idx]
        y = np.concatenate([np.full(len(f), labels[i]) for f, i in zip(x, idx)])
        return np.concatenate(x), y

    def per_recording(model, condition: str, idx: np.ndarray) -> np.ndarray:
        return np.array([model.predict_proba(features[condition][names[i]])[:, 1].mean() > 0.5 for i in idx])

    rows = []
    for condition in conditions:
        correct = {"recon → recon": [], "orig → recon": []}
        window_acc = []
        folds = GroupKFold(n_splits=min(6, len(set(subjects)))).split(names, labels, subjects)
        for train, test in folds:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
            model.fit(*stack(condition, train))
            correct["recon → recon"] += list(per_recording(model, condition, test) == labels[test])
            x, y = stack(condition, test)
            window_acc.append(np.mean(model.predict(x) == y))
            if condition != "original":
                original = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
                original.fit(*stack("original", train))
                correct["orig → recon"] += list(per_recording(original, condition, test) == labels[test])
        rows.append(
            {
                "condition": condition,
                "recon → recon": 100 * np.mean(correct["recon → recon"]),
                "orig → recon": 100 * np.mean(correct["orig → recon"]) if correct["orig → recon"] else np.nan,
                "window accuracy": 100 * np.mean(window_acc),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sc", nargs="+", default=["default"], help="DAC-SC codecs (default: the shipped one)")
    parser.add_argument("--mc", nargs="+", required=True, help="DAC-MC codec files")
    parser.add_argument("--data", default="../shared/data/eegmat", help="eegmat folder (relative to the repo root)")
    parser.add_argument("--depths", type=int, nargs="+", default=[1, 2, 4, 8], help="depths of the fidelity table")
    parser.add_argument("--sc-depths", type=int, nargs="+", default=[1, 2], help="DAC-SC depths in the classifier")
    parser.add_argument("--seconds", type=float, default=60.0, help="first seconds of each recording")
    parser.add_argument("--valid-subjects", type=int, nargs="+", default=VALID_SUBJECTS, help="fidelity subjects")
    parser.add_argument("--subjects", type=int, nargs="+", help="classifier subjects (default: all)")
    parser.add_argument("--out", type=Path, default=Path("."), help="output folder")
    args = parser.parse_args()
    data = Path(args.data) if Path(args.data).is_absolute() else (ROOT / args.data).resolve()
    mne.set_log_level("error")
    args.out.mkdir(parents=True, exist_ok=True)
    sources = args.sc + args.mc
    codecs = {_label(src): mne_dac.load_codec(src, verbose="error") for src in sources}
    for label, codec in codecs.items():
        print(f"{label}: {codec!r}")

    t0 = time.perf_counter()
    valid = read_recordings(data, args.valid_subjects, args.seconds)
    table = fidelity(codecs, valid, args.depths)
    print(f"fidelity: {time.perf_counter() - t0:.0f} s")

    # classifier conditions: DAC-SC at a few depths, DAC-MC at half and full depth
    sc_labels = [_label(s) for s in args.sc]
    depth_of = {
        label: args.sc_depths if label in sc_labels else sorted({max(1, c.n_codebooks // 2), c.n_codebooks})
        for label, c in codecs.items()
    }
    all_subjects = args.subjects or sorted({int(p.stem[7:9]) for p in data.glob("Subject*_[12].edf")})
    cache = args.out / "sc_mc_features.pkl"  # features of finished recordings: a rerun resumes
    features, rates = pd.read_pickle(cache) if cache.exists() else ({"original": {}}, {"original": np.nan})
    t0 = time.perf_counter()
    recordings = read_recordings(data, all_subjects, args.seconds)
    for name, raw in recordings.items():
        if name in features["original"]:
            continue
        for label, codec in codecs.items():
            for depth, tokens in tokenize(raw, codec, depth_of[label]).items():
                rec = mne_dac.reconstruct_raw(tokens, codec, n_codebooks=depth, verbose="error")
                condition = f"{label} ×{depth}"
                features.setdefault(condition, {})[name] = band_power_features(rec)
                rates[condition] = tokens.bits_per_second * depth / tokens.n_codebooks
        features["original"][name] = band_power_features(raw)
        pd.to_pickle((features, rates), cache)
    print(f"reconstructions for the classifier: {time.perf_counter() - t0:.0f} s")
    accuracy = classify(features, list(features))
    accuracy.insert(1, "bits/s per channel", [rates[c] for c in accuracy.condition])

    fid = table.copy()
    fid["spectrogram_loss"] = fid["spectrogram_loss"].round(3)
    fid["depth"] = fid["depth"].astype(str).replace("0", "–")
    lines = [
        f"**Fidelity on the validation subjects {args.valid_subjects} ({len(valid)} recordings × "
        f"{args.seconds:g} s, {len(next(iter(valid.values())).ch_names)} channels)**",
        "",
        fid[["codec", "depth", "bits_per_second", "n_streams", *MEASURES]].to_markdown(index=False, floatfmt=".3g"),
        "",
        f"**Rest versus arithmetic ({len(all_subjects)} subjects, {len(recordings)} recordings × {args.seconds:g} s, "
        f"subject-wise {min(6, len(all_subjects))}-fold CV), per-recording accuracy %**",
        "",
        accuracy.to_markdown(index=False, floatfmt=".3g"),
    ]
    text = "\n".join(lines)
    print(text)
    (args.out / "sc_mc.md").write_text(text + "\n")
    (args.out / "sc_mc.json").write_text(
        json.dumps(
            dict(
                codecs={label: repr(c) for label, c in codecs.items()},
                fidelity=table.to_dict(orient="records"),
                classifier=accuracy.replace({np.nan: None}).to_dict(orient="records"),
            ),
            indent=1,
        )
    )
    plot(table, args.out / "sc_mc.png")


def plot(table: pd.DataFrame, fname: Path) -> None:
    """Spectrogram loss and PRD against bits/s per channel, one curve per codec."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained")
    for label, rows in table.groupby("codec", sort=False):
        for ax, metric in zip(axes, ("spectrogram_loss", "prd")):
            ax.plot(rows["bits_per_second"], rows[metric], "o-", label=label)
    for ax, title in zip(axes, ("Spectrogram loss (lower is better)", "PRD % (lower is better)")):
        ax.set(xlabel="bits/s per channel", title=title, xscale="log")
        ax.grid(alpha=0.3)
    axes[0].legend()
    fig.savefig(fname, dpi=150)


if __name__ == "__main__":
    main()
