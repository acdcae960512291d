"""Near-lossless prediction with error feedback: JPEG-LS's near-lossless loop with linear predictors.

Rounding the samples to a grid first and then predicting the integers (the residual kinds ``S``
and ``C``) predicts each sample from past values that each carry up to half a step of rounding
noise, and the predictor passes that noise on: at coarse steps, on signals that a long predictor
follows closely (EEG at 500 Hz, 50 Hz mains at 200 Hz), it costs most of the bits. With error
feedback each sample is predicted from the past *as the reader rebuilds it*, and only the
prediction error is rounded: ``x̃ = p + q`` with ``q = round(y - p)``, so ``|y - x̃| <= 1/2`` and
``x̃`` lies on a grid shifted by each sample's prediction. The predictor is fitted for noisy past
values (the rounding noise's variance, 1/12 of a step squared, scaled by a factor the writer
chooses, added at lag 0).

Everything is in units of the grid's step: ``y`` is the signal divided by the step. The
reconstruction is held in fixed point with :data:`FRACTION_BITS` fractional bits, and the
predictions are computed in 64-bit integers, so that every machine rebuilds the same values.

On a reader's grid (the samples are its integers ``k``) a step can hold ``n`` of its points, as
the residual kind ``G`` does: each prediction is then moved to the grid (``n`` odd) or midway
between two of its points (``n`` even), and the error rounded to a multiple of ``n``, so that
``|k - x̃| <= (n - 1) / 2`` exactly (JPEG-LS's ``2 NEAR + 1``).
"""

from __future__ import annotations

import numpy as np

from mne_dac.io.integer_coding import fit_predictors
from mne_dac.utils._jit import jit

__all__ = ["FRACTION_BITS", "MAX_INPUT", "ORDERS", "NOISE_FACTORS", "fit_feedback", "quantise", "rebuild"]

#: Fractional bits of the reconstruction's fixed point.
FRACTION_BITS = 12
#: Largest ``|y|`` (in steps) quantised with error feedback, so that predictions fit 64-bit integers.
MAX_INPUT = 1 << 24
#: Predictor orders the writer tries.
ORDERS = (1, 2, 4, 8, 16, 32)
#: Multiples of the rounding noise's variance (1/12) for which predictors are fitted.
NOISE_FACTORS = (0.5, 1.0, 2.0)
#: Bits charged per coefficient when predictors are compared.
_COEFFICIENT_BITS = 16


def fit_feedback(y: np.ndarray, points: int = 1) -> tuple[np.ndarray, int, int, np.ndarray]:
    """The predictor whose error-feedback loop leaves the least to code, for ``y`` within ±:data:`MAX_INPUT`.

    Predictors of each order in :data:`ORDERS`, fitted for each noise in :data:`NOISE_FACTORS`,
    are compared by the zeroth-order entropy of their rounded errors plus 16 bits a coefficient.
    ``points`` > 1: ``y`` are a reader's grid integers, ``points`` of them to a step (see the module).

    Returns
    -------
    coefficients : array of int64
        The 16-bit coefficients, the most recent sample first.
    shift : int
        Their fractional bits.
    centre : int
        The integer the predictor predicts deviations from (``y``'s rounded mean).
    q : array of int64
        The rounded prediction errors.
    """
    centre = int(np.rint(y.mean()))
    orders = [order for order in ORDERS if len(y) > 4 * order]
    best = None
    for coefficients, shift in fit_predictors(y, orders, tuple(f * points**2 / 12 for f in NOISE_FACTORS)):
        q, _ = quantise(y, coefficients, shift, centre, points)
        _, counts = np.unique(q, return_counts=True)
        bits = -(counts * np.log2(counts / len(q))).sum() + _COEFFICIENT_BITS * len(coefficients)
        if best is None or bits < best[0]:
            best = (bits, coefficients, shift, q)
    if best is None:
        return np.zeros(0, dtype=np.int64), 0, centre, quantise(y, np.zeros(0, dtype=np.int64), 0, centre, points)[0]
    return best[1], best[2], centre, best[3]


def quantise(y: np.ndarray, coefficients: np.ndarray, shift: int, centre: int, points: int = 1
             ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The rounded prediction errors ``q`` of ``y`` and the reconstruction in fixed point (see :func:`rebuild`)."""
    y = np.asarray(y, dtype=np.float64)
    return jit(_loop)(y, np.zeros(0, dtype=np.int64), coefficients, shift, centre, points)


def rebuild(q: np.ndarray, coefficients: np.ndarray, shift: int, centre: int, points: int = 1) -> np.ndarray:
    """The reconstruction from the rounded prediction errors, in units of ``2 ** -FRACTION_BITS`` steps.

    ``x̃[i] = p[i] + q[i] · n · 2**F`` with ``p[i] = C + ((Σ_k c[k] (x̃[i-1-k] - C)) >> s)``,
    ``C = centre · 2**F`` (64-bit integers; missing samples before the start are ``C``); with ``n = points``
    > 1, ``p[i]`` is first rounded down to a multiple of ``2**F`` and, ``n`` even, ``2**(F-1)`` added.
    """
    return jit(_loop)(np.zeros(0), np.asarray(q, dtype=np.int64), coefficients, shift, centre, points)[1]


def _loop(y: np.ndarray, q: np.ndarray, coefficients: np.ndarray, shift: int, centre: int, points: int
          ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover  # fmt: skip
    """The error-feedback loop: from ``y`` when it is not empty (quantising), else from ``q`` (rebuilding)."""
    quantising = len(y) > 0
    n, order = (len(y) if quantising else len(q)), len(coefficients)
    one = 1 << FRACTION_BITS
    base, step = centre * one, points * one
    middle = (points + 1) % 2 * (one >> 1)  # an even number of points: between two of them
    out_q = np.empty(n, dtype=np.int64)
    rebuilt = np.empty(n, dtype=np.int64)
    for i in range(n):
        acc = 0
        for k in range(min(order, i)):
            acc += coefficients[k] * (rebuilt[i - 1 - k] - base)
        prediction = base + (acc >> shift)
        if points > 1:
            prediction = (prediction >> FRACTION_BITS << FRACTION_BITS) + middle
        if quantising:
            out_q[i] = int(np.floor((y[i] * one - prediction) / step + 0.5))
        else:
            out_q[i] = q[i]
        rebuilt[i] = prediction + out_q[i] * step
    return out_q, rebuilt
