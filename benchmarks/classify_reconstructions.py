"""Does a classifier keep its accuracy on reconstructions? Rest versus mental arithmetic on eegmat.

The validation subjects (20-23, never seen by the codec) each have a rest and an arithmetic
recording. Both are high-passed at 0.1 Hz (the codec's cutoff) and coded whole by the codec at
each depth given, as tokens in memory (with their band gains, and the codec's decode alone) and in a
file (:func:`mne_dac.write_raw_dac`, its blocks' band powers kept), and at the same bits/s per channel
by the DCT and KLT + DCT coders, a ``"klt-codec"`` file (the shipped linear codec on the principal
components) and a file of the codec within that rate (each channel's depth chosen per 4 s; DAC-SC
codecs that allow it), those files with their blocks' band powers kept and without
(``restore_bands=False``). Every
signal is cut into 4-s windows and classified by a two-fold time split: the first half of each recording
trains and the second half tests, then the other way round (no test window overlaps its training half), so that
every window is tested once. Features: the log power of every channel in the delta, theta, alpha and beta bands
(1-30 Hz, Welch, 2-s segments); classifier: standardised logistic regression. Scores are balanced accuracies over
the test windows of both folds (each fold's alone in the columns ``first half trains`` and
``second half trains``), for three schemes:

- ``orig→orig``: trained and tested on the original EEG (the reference);
- ``orig→recon``: trained on the original, tested on reconstructions (an existing model fed
  decoded EEG; target: within 3 points of the reference);
- ``recon→recon``: trained and tested on reconstructions (target: within 2 points).

Usage::

    python benchmarks/classify_reconstructions.py --codec default --depths 1 2 --json classify.json
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
from pathlib import Path

import evaluate_codec  # benchmarks/evaluate_codec.py: the script's folder is on sys.path
import mne
import numpy as np
import pandas as pd
from scipy.signal import welch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import balanced_accuracy_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import mne_dac
from mne_dac.evaluation.baselines import make_coder
from mne_dac.io.component_blocks import check_component_codec
from mne_dac.io.raw import tokenize_at_depths
from mne_dac.signal.metrics import BANDS as ALL_BANDS

HERE = Path(__file__).resolve().parent
WINDOW_SECONDS = 4.0
#: Feature bands: the EEG bands of the codec's targets.
BANDS = {band: ALL_BANDS[band] for band in ("delta", "theta", "alpha", "beta")}


def band_features(data: np.ndarray, sfreq: float) -> np.ndarray:
    """Log band power of every channel of every window: ``(n_windows, n_channels * n_bands)``."""
    freqs, psd = welch(data, fs=sfreq, nperseg=int(2 * sfreq), axis=-1)
    powers = [psd[..., (freqs >= lo) & (freqs < hi)].sum(-1) for lo, hi in BANDS.values()]
    return np.log(np.stack(powers, axis=-1) + 1e-30).reshape(len(data), -1)


def windows(data: np.ndarray, sfreq: float) -> tuple[np.ndarray, np.ndarray]:
    """Non-overlapping windows ``(n_windows, n_channels, n_times)`` and whether each is in the second half."""
    n = int(WINDOW_SECONDS * sfreq)
    n_windows = data.shape[1] // n
    cut = data[:, : n_windows * n].reshape(data.shape[0], n_windows, n).transpose(1, 0, 2)
    return cut, np.arange(n_windows) >= n_windows / 2


def _file_decode(raw: mne.io.BaseRaw, codec, **kwargs) -> np.ndarray:
    """The recording written to a file by :func:`mne_dac.write_raw_dac` and read back."""
    with tempfile.TemporaryDirectory() as tmp:
        fname = mne_dac.write_raw_dac(Path(tmp) / "rec.eegdac", raw, codec, **kwargs)
        reader_codec = codec if isinstance(codec, mne_dac.DACCodec) else None  # a codec file not shipped
        return mne_dac.read_raw_dac(fname, reader_codec).get_data()


def decoded_signals(raw: mne.io.BaseRaw, codec, depths: list[int]) -> dict[str, np.ndarray]:
    """The recording as coded by the codec at each depth (in memory, and in a file with its band gains), and by
    DCT, KLT + DCT, a ``"klt-codec"`` file and a file of the codec within the same bits/s (each channel's depth
    chosen per 4 s; DAC-SC codecs that can)."""
    try:
        check_component_codec(codec)
        codes_within_a_rate = True
    except ValueError:  # DAC-MC, or a codec whose frames do not fit a file's depth per channel and 4 s
        codes_within_a_rate = False
    out = {}
    for k, tokens in tokenize_at_depths(raw, codec, depths, verbose="error").items():  # as tokenize_raw codes at k
        for restore, kind in ((True, ""), (False, ", codec's decode")):
            out[f"codec {k} cb{kind}"] = mne_dac.reconstruct_raw(tokens, codec, n_codebooks=k, restore_bands=restore,
                                                                 verbose="error").get_data()  # fmt: skip
        out[f"codec {k} cb file"] = _file_decode(raw, codec, n_codebooks=k)
        # per channel (DAC-MC: a group's stream is shared by its channels), the band gains' bits included
        rate = round(tokens.bits_per_second + tokens.band_gain_bits_per_second, 1)  # tokens' codes are k deep
        for method in ("dct", "klt-dct"):
            recon, _ = make_coder(method, rate, codec.sfreq).code_raw(raw, codec.preprocessing)
            out[f"{method} {rate:g} b/s"] = recon.get_data()
        files = [("klt-codec", f"klt-codec file {rate:g} b/s")]
        files += [(codec, f"codec within {rate:g} b/s file")] if codes_within_a_rate else []
        for coder, label in files:
            for restore, kind in ((True, ""), (False, ", least squared error")):
                out[label + kind] = _file_decode(raw, coder, bits_per_second=rate, restore_bands=restore)
    return out


def classify(args: argparse.Namespace) -> pd.DataFrame:
    """Balanced accuracy of each scheme for each coder."""
    codec = mne_dac.load_codec(args.codec, device=args.device, search=args.search)
    depths = args.depths or list(range(1, codec.n_codebooks + 1))
    raws = evaluate_codec.read_recordings(Path(args.data), args.subjects, None, codec.preprocessing.highpass)
    signals: dict[str, list] = {}
    labels, second_half = [], []
    for name, raw in raws.items():
        sfreq = raw.info["sfreq"]
        coded = {"original": raw.get_data(), **decoded_signals(raw, codec, depths)}
        for key, data in coded.items():
            cut, is_second = windows(data, sfreq)
            signals.setdefault(key, []).append(band_features(cut, sfreq))
        labels.append(np.full(len(is_second), int(name.endswith("_2"))))  # _1 rest, _2 arithmetic
        second_half.append(is_second)
        print(f"{name}: {len(is_second)} windows", flush=True)
    y, second_half = np.concatenate(labels), np.concatenate(second_half)
    features = {key: np.concatenate(value) for key, value in signals.items()}
    folds = {"first half trains": second_half, "second half trains": ~second_half}  # each fold's test windows

    @functools.cache
    def fitted(key: str) -> dict:
        """Each fold's model, trained on the other half of ``key``'s windows (once per signal)."""
        return {fold: make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=2000)).fit(
                    features[key][~test], y[~test]) for fold, test in folds.items()}  # fmt: skip

    def predict(train_key: str, test_key: str) -> dict[str, np.ndarray]:
        """Each fold's predictions on its test windows, by a model trained on the other half."""
        return {fold: clf.predict(features[test_key][folds[fold]]) for fold, clf in fitted(train_key).items()}

    def scores(predicted: dict[str, np.ndarray]) -> dict[str, float]:
        """Balanced accuracy (%) over both folds' test windows, and in each fold."""
        pooled_true = np.concatenate([y[test] for test in folds.values()])
        row = {"accuracy": 100 * balanced_accuracy_score(pooled_true, np.concatenate(list(predicted.values())))}
        return row | {fold: 100 * balanced_accuracy_score(y[test], predicted[fold]) for fold, test in folds.items()}

    rows = [dict(coder="original", scheme="orig→orig", **scores(predict("original", "original")))]
    for key in features:
        if key != "original":
            rows.append(dict(coder=key, scheme="orig→recon", **scores(predict("original", key))))
            rows.append(dict(coder=key, scheme="recon→recon", **scores(predict(key, key))))
    table = pd.DataFrame(rows)
    table.insert(3, "delta_points", table["accuracy"] - rows[0]["accuracy"])
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--codec", default="default", help="codec name or file (load_codec)")
    parser.add_argument("--depths", type=int, nargs="*", default=None, help="numbers of codebooks (default: all)")
    parser.add_argument("--data", default="../shared/data/eegmat", help="eegmat folder (relative to the repo root)")
    parser.add_argument("--subjects", type=int, nargs="+", default=[20, 21, 22, 23], help="validation subjects")
    parser.add_argument("--C", type=float, default=1.0, help="inverse regularisation of the logistic regression")
    parser.add_argument("--device", default=None, help="torch device (default: GPU if available)")
    parser.add_argument("--search", type=int, default=0, help="the codec's encoder search (entries per codebook)")
    parser.add_argument("--json", type=Path, help="write the table here")
    args = parser.parse_args()
    root = HERE.parent
    args.data = Path(args.data) if Path(args.data).is_absolute() else (root / args.data).resolve()
    mne.set_log_level("error")
    table = classify(args)
    print(table.to_markdown(index=False, floatfmt=".1f"))
    if args.json:
        args.json.write_text(json.dumps(dict(codec=args.codec, subjects=args.subjects, rows=table.to_dict("records"))))


if __name__ == "__main__":
    main()
