"""How small could a predictive coder make a recording under a bound? An optimistic estimate.

An *oracle* linear predictor, fitted by least squares on the recording itself with its
coefficients free (not counted), predicts each channel's integers from its own 32 previous
samples and from the same sample and the 2 before it of every earlier channel (the order the
residual layer codes them in). Under a bound, the prediction errors are rounded to steps of
``n`` points of the source's grid (the most that fit in a step a hair inside twice the bound, as
the residual layer's kinds ``G`` and ``F`` take them), predicted from the exact past rather than
the reader's rebuilt past. The rounded errors are coded by the residual layer's integer coder
(:func:`mne_dac.io.integer_coding.encode_integers`, which adds its own prediction and adaptive
levels). Every simplification favours the oracle: the figure is what mne-dac's residual layer
could reach at best with linear prediction, not a size any file has.

It tells whether a target is within reach: on a source whose samples are whole µV, a bound of
0.5 µV leaves every sample as it is (the middle of two grid points is exactly at the bound, and
float64 rounding puts about half of such samples beyond it), so 2× smaller than FLAC there needs a
lossless coder 2× smaller than FLAC.

Usage::

    python benchmarks/prediction_limit.py --bounds 0 0.5 1 2 5 10
    python benchmarks/prediction_limit.py --file tests/data/MB0400FU.EEG --bounds 0 0.5 1 2 5 10
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

TEST_DATA = Path(__file__).parents[1] / "tests" / "data"
OWN_LAGS = 32
OTHER_LAGS = (0, 1, 2)


def oracle_errors(k: np.ndarray) -> np.ndarray:
    """Each channel's integers less the rounded least-squares prediction from its own past and earlier channels."""
    n_channels, n_times = k.shape
    x = k.astype(np.float64)
    errors = np.empty((n_channels, n_times - OWN_LAGS), dtype=np.int64)
    for c in range(n_channels):
        columns = [x[c, OWN_LAGS - lag : n_times - lag] for lag in range(1, OWN_LAGS + 1)]
        columns += [x[o, OWN_LAGS - lag : n_times - lag] for o in range(c) for lag in OTHER_LAGS]
        design = np.column_stack([*columns, np.ones(n_times - OWN_LAGS)])
        weights = np.linalg.lstsq(design, x[c, OWN_LAGS:], rcond=None)[0]
        errors[c] = k[c, OWN_LAGS:] - np.round(design @ weights).astype(np.int64)
    return errors


def grid_points(bound: float, spacing: float) -> int:
    """Points of the source's grid to a step a hair inside twice the bound (1: lossless)."""
    return int(2 * bound * (1 - 1e-9) / spacing) + 1


def bits_per_second(errors: np.ndarray, points: np.ndarray, sfreq: float) -> float:
    """Bits/s per channel of the errors rounded to steps of each channel's ``points``, coded by the residual
    layer's coder."""
    from mne_dac.io.integer_coding import encode_integers

    steps = np.floor((errors + (points[:, None] - 1) // 2) / points[:, None]).astype(np.int64)
    n_bytes = sum(len(encode_integers(channel)) for channel in steps)
    return 8 * n_bytes / (errors.shape[0] * errors.shape[1] / sfreq)


def main() -> None:
    import mne
    from residual_bound import flac_bits  # a benchmark script beside this one

    from mne_dac.io.side_channels import reader_grids

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=TEST_DATA / "eegmmidb_excerpt_S_R_128Hz.edf")
    parser.add_argument("--bounds", type=float, nargs="+", default=[0.0, 0.5, 1.0, 5.0], help="bounds in µV")
    parser.add_argument("--seconds", type=float, default=None, help="the first seconds only (default: all)")
    args = parser.parse_args()

    raw = mne.io.read_raw(args.file, preload=True, verbose="error").pick("eeg")
    if args.seconds is not None:
        raw.crop(0, min(args.seconds, raw.times[-1]))
    grids = reader_grids(raw, range(len(raw.ch_names)))
    if grids is None or any(grid is None for grid in grids):
        raise SystemExit(f"{args.file.name}: the samples are not all on their reader's grid (EDF, BDF, Nihon Kohden…)")
    x, sfreq = raw.get_data(), raw.info["sfreq"]
    k = np.stack([grid.integers(channel) for grid, channel in zip(grids, x)]).astype(np.int64)
    spacings = np.array([abs(grid.step * grid.scale) for grid in grids]) * 1e6  # µV
    flac = flac_bits(k, sfreq) / (k.size / sfreq)
    errors = oracle_errors(k)
    print(f"{args.file.name}: {len(k)} channels, {sfreq:g} Hz, grid {np.median(spacings):g} µV; FLAC lossless "
          f"{flac:.0f} bits/s per channel")  # fmt: skip
    print("| bound (µV) | points to a step | oracle bits/s per channel | × smaller than FLAC at best |")
    print("|---|---|---|---|")
    for bound in args.bounds:
        points = np.array([grid_points(bound, spacing) for spacing in spacings])
        rate = bits_per_second(errors, points, sfreq)
        print(f"| {bound:g} | {int(np.median(points))} | {rate:.0f} | {flac / rate:.2f} |")


if __name__ == "__main__":
    main()
