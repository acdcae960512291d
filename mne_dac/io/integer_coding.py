"""Lossless coding of integer sample sequences: linear prediction, then an adaptive ANS coder.

What FLAC does, with arithmetic coding in place of Rice codes, so that a sequence costs less
than one bit per sample when it is mostly zeros (a residual quantised with a coarse step):

1. **Prediction.** The best of the fixed polynomial predictors of order 0–3 and integer
   linear predictors of orders 2 to 32 (Levinson–Durbin on a tapered autocorrelation; on EEG
   the best order varies from channel to channel and block to block). Coefficients are 16-bit
   integers with ``shift`` fractional bits; a prediction is ``(c · past) >> shift`` in 64-bit
   integers, so every machine predicts alike. When it codes smaller, adaptive stages follow
   (as in Monkey's Audio): a cascade of sign-sign LMS filters (one of :data:`LMS_CASCADES`),
   each predicting what the previous stage left from its own past and learning as it goes,
   in integers too.
2. **Levels.** The prediction errors are cut into partitions: the first :data:`WARM_UP`
   samples (predicted from a short past, their errors are larger), then partitions of 128 or
   64 samples (:data:`PARTITIONS`, whichever codes the sequence smaller: short partitions
   follow a changing scale, as at 200 Hz, and cost more levels). Each gets a level, a
   quarter-octave of its mean magnitude; the levels are coded as steps from one partition to
   the next.
3. **Errors.** Each error is coded as its octave and sign (a categorical model whose table is
   a discrete law of the partition's level) and its place in the octave (uniform). The law
   is one of :data:`ERROR_LAWS`, whichever codes the sequence smaller: a discrete Laplace law
   (heavy tails, as in FLAC's Rice codes) or a discrete Gaussian (finely quantised EEG: its
   errors are nearer Gaussian, and the Laplace law wastes about 0.15 bits per sample on them).

The tables are computed with IEEE-exact operations only (no ``exp`` or ``log``; sums by
:func:`math.fsum`, correctly rounded), so that an encoder and a decoder on different machines
use identical models. Decoding the predictor is
a recursion, compiled with numba.
"""

from __future__ import annotations

import functools
import math
import struct

import numpy as np

from mne_dac.utils._jit import jit

__all__ = [
    "ERROR_LAWS",
    "LMS_CASCADES",
    "LMS_SHIFT",
    "MAX_LEVEL_STEP",
    "MAX_MAGNITUDE",
    "N_LEVELS",
    "N_OCTAVES",
    "PARTITIONS",
    "PRECISION",
    "WARM_UP",
    "decode_integers",
    "encode_integers",
    "fit_predictors",
]

#: Samples per partition (one level each): the first, or the second in a payload whose header flags
#: short partitions (the writer takes whichever codes the payload smaller).
PARTITIONS = (128, 64)
#: Samples of the first partition.
WARM_UP = 32
#: Values must lie within ±MAX_MAGNITUDE (so that predictions fit 64-bit integers).
MAX_MAGNITUDE = (1 << 31) - 1
#: Bits of the model's integer frequencies.
PRECISION = 24
#: Quarter-octave levels: level ``L`` models a mean error magnitude of ``2 ** (L / 4 - 6)``.
N_LEVELS = 160
#: Octaves of an error magnitude: 0 for 0, 1 for 1, 2 for 2–3, … up to 2**33.
N_OCTAVES = 35
#: Largest step between the levels of consecutive partitions.
MAX_LEVEL_STEP = 40

_OFFSET_BITS = 16
#: The cascades of adaptive stages a payload can use (its header's index; 0: none). Each stage
#: is a sign-sign LMS filter: its taps and the step of its weights. Fast stages follow the
#: changing correlations of finely quantised EEG; one slow stage suits coarse quantisation.
LMS_CASCADES = ((), ((32, 16), (8, 64), (2, 256)), ((64, 8),))
#: Fractional bits of the adaptive stages' weights.
LMS_SHIFT = 14
_MAX_TAPS = max(taps for stages in LMS_CASCADES for taps, _ in stages)
#: Bits charged per coefficient when predictors are compared.
_COEFFICIENT_BITS = 16

#: The laws of the error symbols a payload can use (its header's index).
ERROR_LAWS = ("laplace", "gauss")

_HEADER = struct.Struct("<BBBB")  # order, shift, cascade + 16 · law + _SHORT_PARTITIONS + _UNCOUNTED, first level
#: Flag of the header's third byte: partitions of ``PARTITIONS[1]`` samples.
_SHORT_PARTITIONS = 64
#: Flag of the header's third byte: the number of values is not stored (the reader knows it). Payloads
#: written before 2026-12-01's ``exact-signal-codec-ans3`` store it after the header (``_COUNT``).
_UNCOUNTED = 128
_COUNT = struct.Struct("<I")
_LPC_ORDERS = (2, 3, 4, 6, 8, 10, 12, 16, 20, 24, 32)
_FIXED = ((), (1,), (2, -1), (3, -3, 1))
_QUARTER_OCTAVES = (1.0, 1.189207115002721, 1.4142135623730951, 1.681792830507429)  # 2 ** (i / 4)


def encode_integers(values: np.ndarray) -> bytes:
    """Code a 1-D sequence of integers within ±:data:`MAX_MAGNITUDE` losslessly."""
    import constriction

    v = np.asarray(values, dtype=np.int64)
    if v.ndim != 1 or (v.size and np.abs(v).max() > MAX_MAGNITUDE):
        raise ValueError(f"expected a 1-D sequence of integers within ±{MAX_MAGNITUDE}")
    coefficients, shift, cascade, errors = _best_prediction(v)
    coder = constriction.stream.stack.AnsCoder()
    categorical, uniform = constriction.stream.model.Categorical(perfect=False), constriction.stream.model.Uniform()
    octaves, signs, offsets, sizes = _split(errors)
    for part, part_sizes in reversed(_offset_parts(offsets, sizes)):
        coder.encode_reverse(part.astype(np.int32), uniform, part_sizes.astype(np.int32))
    symbols = 2 * octaves - (octaves > 0) + signs  # 0; then 1, 2 for ±1; 3, 4 for ±2–3; …
    short, law, levels, by_level = _best_levels(errors, symbols)
    first = int(levels[0]) if len(levels) else 0
    for level, level_symbols in reversed(by_level):
        coder.encode_reverse(level_symbols.astype(np.int32), _error_model(level, law))
    if len(levels) > 1:
        steps = np.diff(levels) + MAX_LEVEL_STEP
        coder.encode_reverse(steps.astype(np.int32), categorical, _step_probabilities(len(steps)))
    flags = cascade + 16 * law + _SHORT_PARTITIONS * short + _UNCOUNTED
    head = _HEADER.pack(len(coefficients), shift, flags, first)
    return head + np.asarray(coefficients, dtype="<i2").tobytes() + coder.get_compressed().astype("<u4").tobytes()


def decode_integers(buf: bytes, n_values: int) -> np.ndarray:
    """Invert :func:`encode_integers`; ``ValueError`` when ``buf`` is not a payload of ``n_values`` values."""
    import constriction

    buf = bytes(buf)
    if len(buf) < _HEADER.size:
        raise ValueError("an integer payload is too short")
    order, shift, flags, first = _HEADER.unpack_from(buf)
    cascade, law, n, body = flags % 16, flags % _SHORT_PARTITIONS // 16, n_values, _HEADER.size
    if not flags & _UNCOUNTED:
        if len(buf) < body + _COUNT.size:
            raise ValueError("an integer payload is too short")
        (n,) = _COUNT.unpack_from(buf, body)
        body += _COUNT.size
    if n != n_values:
        raise ValueError(f"an integer payload holds {n} values where {n_values} are expected")
    coefficients_at, body = body, body + 2 * order
    if (
        order > max(_LPC_ORDERS)
        or shift > 15
        or cascade >= len(LMS_CASCADES)
        or law >= len(ERROR_LAWS)
        or first >= N_LEVELS
        or (len(buf) - body) % 4
        or body > len(buf)
    ):
        raise ValueError("an integer payload has an invalid header")
    coefficients = np.frombuffer(buf, dtype="<i2", count=order, offset=coefficients_at).astype(np.int64)
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(buf, dtype="<u4", offset=body).astype(np.uint32))
    categorical, uniform = constriction.stream.model.Categorical(perfect=False), constriction.stream.model.Uniform()
    parts = _partitions(n, PARTITIONS[bool(flags & _SHORT_PARTITIONS)])
    n_parts = int(parts[-1]) + 1 if n else 0
    levels = np.full(n_parts, first, dtype=np.int64)
    if n_parts > 1:
        steps = coder.decode(categorical, _step_probabilities(n_parts - 1)).astype(np.int64) - MAX_LEVEL_STEP
        levels[1:] = first + np.cumsum(steps)
        if levels.min() < 0 or levels.max() >= N_LEVELS:
            raise ValueError("an integer payload decodes to levels out of range")
    sample_levels = levels[parts]
    symbols = np.empty(n, dtype=np.int64)
    for level in np.unique(sample_levels):
        where = sample_levels == level
        symbols[where] = coder.decode(_error_model(int(level), law), int(where.sum()))
    octaves = (symbols + 1) // 2
    signs = (symbols > 0) & (symbols % 2 == 0)
    starts = np.where(octaves > 0, np.left_shift(1, np.maximum(octaves - 1, 0)), 0)
    sizes = np.maximum(starts, 1)
    magnitudes = starts.copy()
    for bits, (where, part_sizes) in zip((0, _OFFSET_BITS), _offset_places(sizes)):
        magnitudes[where] += coder.decode(uniform, part_sizes.astype(np.int32)).astype(np.int64) << bits
    if not coder.is_empty():
        raise ValueError("an integer payload holds more than its values")
    errors = np.where(signs, -magnitudes, magnitudes)
    errors = _adapt(errors, cascade, inverse=True)
    values = _synthesize(errors, coefficients, shift)
    if n and np.abs(values).max() > MAX_MAGNITUDE:
        raise ValueError("an integer payload decodes to values out of range")
    return values


def _split(errors: np.ndarray) -> tuple[np.ndarray, ...]:
    """Octave, sign (1: negative), place in the octave and octave size of each error."""
    magnitudes = np.abs(errors)
    octaves = np.zeros(len(errors), dtype=np.int64)
    nonzero = magnitudes > 0
    octaves[nonzero] = np.frexp(magnitudes[nonzero].astype(np.float64))[1]  # exact: magnitudes < 2**53
    starts = np.where(octaves > 0, np.left_shift(1, np.maximum(octaves - 1, 0)), 0)
    return octaves, (errors < 0).astype(np.int64), magnitudes - starts, np.maximum(starts, 1)


def _offset_places(sizes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Where the low and the high bits of the places in the octaves are, and their ranges.

    A place takes up to ``_OFFSET_BITS`` bits in its first part (the uniform model's limit), the
    rest in a second; a place in an octave of one value takes none.
    """
    low, high = sizes > 1, sizes > 1 << _OFFSET_BITS
    return [(low, np.minimum(sizes[low], 1 << _OFFSET_BITS)), (high, sizes[high] >> _OFFSET_BITS)]


def _offset_parts(offsets: np.ndarray, sizes: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The low and the high parts of the places, with their ranges (see :func:`_offset_places`)."""
    (low, low_sizes), (high, high_sizes) = _offset_places(sizes)
    mask = (1 << _OFFSET_BITS) - 1
    return [(offsets[low] & mask, low_sizes), (offsets[high] >> _OFFSET_BITS, high_sizes)]


def _best_levels(errors: np.ndarray, symbols: np.ndarray) -> tuple[bool, int, np.ndarray, list]:
    """The partitions (short or not), the law and the partitions' levels that code the error symbols smallest,
    and the symbols by level (``(level, symbols)`` pairs)."""
    best = None
    for short, partition in enumerate(PARTITIONS):
        levels = _levels(errors, partition)
        sample_levels = levels[_partitions(len(errors), partition)]
        by_level = [(int(level), symbols[sample_levels == level]) for level in np.unique(sample_levels)]
        steps = -np.log2(_step_row()[np.diff(levels) + MAX_LEVEL_STEP]).sum()
        for law in range(len(ERROR_LAWS)):
            bits = _symbol_bits(by_level, law) + steps
            if best is None or bits < best[0]:
                best = (bits, bool(short), law, levels, by_level)
    return best[1:]


def _levels(errors: np.ndarray, partition: int) -> np.ndarray:
    """The level of each partition: the quarter-octave nearest its mean error magnitude."""
    means = _partition_means(errors, partition)
    levels = np.round(4 * np.log2(np.maximum(means, 2.0**-6)) + 24).astype(np.int64)
    levels = np.clip(levels, 0, N_LEVELS - 1)
    for i in range(1, len(levels)):  # steps are bounded
        levels[i] = np.clip(levels[i], levels[i - 1] - MAX_LEVEL_STEP, levels[i - 1] + MAX_LEVEL_STEP)
    return levels


def _symbol_bits(by_level: list[tuple[int, np.ndarray]], law: int) -> float:
    """The bits of the error symbols (``(level, symbols)`` pairs) under a law."""
    return sum(-np.log2(_error_table(level, law)[symbols]).sum() for level, symbols in by_level)


@functools.lru_cache(maxsize=None)
def _error_model(level: int, law: int):
    """The categorical model of the error symbols at a level under a law (index of :data:`ERROR_LAWS`)."""
    import constriction

    return constriction.stream.model.Categorical(_error_table(level, law), perfect=False)


@functools.lru_cache(maxsize=None)
def _error_table(level: int, law: int) -> np.ndarray:
    """The probabilities of the error symbols at a level under a law (multiples of ``2 ** -PRECISION``)."""
    octaves = _laplace_octaves(_mean_magnitude(level)) if ERROR_LAWS[law] == "laplace" else _gauss_octaves(level)
    p = np.empty(2 * N_OCTAVES + 1)
    p[0] = octaves[0]
    p[1::2] = p[2::2] = octaves[1:] / 2  # half for each sign
    return _frequencies(p)


def _mean_magnitude(level: int) -> float:
    """The mean error magnitude that a level models: ``2 ** (level / 4 - 6)`` (exact)."""
    return float(1 << (level // 4)) * _QUARTER_OCTAVES[level % 4] / 64.0


def _laplace_octaves(mean: float) -> np.ndarray:
    """P(|e| = 0) and P(|e| in octave o) for ``P(e) ∝ theta ** |e|`` with mean magnitude ``mean``."""
    theta = (np.sqrt(1.0 + mean * mean) - 1.0) / mean  # P(e) ∝ theta ** |e| has mean |e| = mean
    powers = [theta]  # theta ** (2 ** j), by squaring: exact IEEE operations only
    for _ in range(N_OCTAVES):
        powers.append(powers[-1] * powers[-1])
    octaves = np.empty(N_OCTAVES + 1)
    octaves[0] = (1.0 - theta) / (1.0 + theta)
    for octave in range(1, N_OCTAVES + 1):  # |e| in [2 ** (octave - 1), 2 ** octave)
        octaves[octave] = 2 * (powers[octave - 1] - powers[octave]) / (1.0 + theta)
    return octaves


#: The highest level whose discrete Gaussian is summed; above, the law is that of a level an
#: octave or more lower, scaled (a mean magnitude of 16 to 32 is nearly continuous).
_GAUSS_SUMMED = 44


@functools.lru_cache(maxsize=None)
def _gauss_octaves(level: int) -> np.ndarray:
    """P(|e| = 0) and P(|e| in octave o) for ``P(e) ∝ q ** (e * e)`` with the level's mean magnitude."""
    if level > _GAUSS_SUMMED:
        shift = (level - _GAUSS_SUMMED + 3) // 4  # octaves
        base = _gauss_octaves(level - 4 * shift)
        octaves = np.zeros(N_OCTAVES + 1)
        octaves[shift + 2 :] = base[2 : N_OCTAVES + 1 - shift]
        low = (base[0] + base[1]) / ((2 << (shift + 1)) - 1)  # |e| < 2, spread evenly over |e| < 2 ** (shift + 1)
        octaves[: shift + 2] = [low * (1 << o) for o in range(shift + 2)]  # 2 ** o values in octave o ≥ 1
        return octaves
    mean = _mean_magnitude(level)
    low, high = 0.0, 1.0
    for _ in range(64):  # bisection on q: the mean magnitude grows with it
        q = (low + high) / 2
        weights = _gauss_weights(q)
        if math.fsum(2 * e * w for e, w in enumerate(weights)) < mean * math.fsum([1.0, *(2 * w for w in weights[1:])]):
            low = q
        else:
            high = q
    weights = _gauss_weights((low + high) / 2)
    total = math.fsum([1.0, *(2 * w for w in weights[1:])])
    octaves = np.zeros(N_OCTAVES + 1)
    octaves[0] = 1.0 / total
    for e in range(1, len(weights)):
        octaves[e.bit_length()] += 2 * weights[e] / total
    return octaves


def _gauss_weights(q: float) -> list[float]:
    """``q ** (e * e)`` for ``e = 0, 1, …`` while above ``2 ** -80`` (products only: exact, no subnormals)."""
    weights, ratio, q2 = [1.0], q, q * q  # ratio: q ** (2 e - 1)
    while weights[-1] * ratio > 2.0**-80:
        weights.append(weights[-1] * ratio)
        ratio *= q2
    return weights


@functools.lru_cache(maxsize=4)
def _step_row() -> np.ndarray:
    steps = np.abs(np.arange(-MAX_LEVEL_STEP, MAX_LEVEL_STEP + 1))
    return _frequencies(np.ldexp(1.0, -steps))  # P(step) ∝ 2 ** -|step|


def _step_probabilities(n: int) -> np.ndarray:
    row = _step_row()
    return np.broadcast_to(row, (n, len(row))).copy()


def _frequencies(p: np.ndarray) -> np.ndarray:
    """Probabilities as multiples of ``2 ** -PRECISION``, each at least one (exact in float64)."""
    budget = (1 << PRECISION) - len(p)
    freqs = 1 + np.floor(p / p.sum() * budget).astype(np.int64)
    freqs[np.argmax(freqs)] += (1 << PRECISION) - freqs.sum()
    return freqs.astype(np.float64) / float(1 << PRECISION)


def _best_prediction(v: np.ndarray) -> tuple[tuple[int, ...], int, int, np.ndarray]:
    """The predictor (coefficients, shift) and cascade of adaptive stages that code least, and the coded sequence."""
    if len(v) < 2:
        return (), 0, 0, v.copy()
    candidates = [(np.array(c, dtype=np.int64), 0) for c in _FIXED]
    candidates += fit_predictors(v, [order for order in _LPC_ORDERS if len(v) > 4 * order])
    cascades = range(len(LMS_CASCADES)) if len(v) > _MAX_TAPS else [0]
    sizes = _partition_sizes(len(v), PARTITIONS[0])
    starts = _partition_starts(sizes)
    best = None
    for coefficients, shift in candidates:
        errors = v - _predict(v, coefficients, shift)
        for cascade in cascades:
            coded = _adapt(errors, cascade)
            cost = _cost(coded, sizes, starts) + _COEFFICIENT_BITS * len(coefficients)
            if best is None or cost < best[0]:
                best = (cost, tuple(int(c) for c in coefficients), shift, cascade, coded)
    return best[1:]


def _adapt(values: np.ndarray, cascade: int, inverse: bool = False) -> np.ndarray:
    """What a cascade of adaptive stages leaves of prediction errors, or (``inverse``) the errors."""
    stages = LMS_CASCADES[cascade]
    for taps, step in reversed(stages) if inverse else stages:
        values = jit(_lms)(values, taps, LMS_SHIFT, step, inverse)
    return values


def _cost(errors: np.ndarray, sizes: np.ndarray, starts: np.ndarray) -> float:
    """About the bits of the errors: per partition (``sizes``, ``starts``), its size times log2 of its mean
    magnitude."""
    return float((sizes * np.log2(1.0 + _means(errors, sizes, starts))).sum())


def _partition_sizes(n: int, partition: int) -> np.ndarray:
    """The sizes of the partitions of ``n`` samples: the warm-up, then ``partition`` samples each."""
    if n <= WARM_UP:
        return np.array([n] if n else [], dtype=np.int64)
    return np.diff(np.r_[0, np.arange(WARM_UP, n, partition), n])


def _partitions(n: int, partition: int) -> np.ndarray:
    """The partition of each of ``n`` samples."""
    sizes = _partition_sizes(n, partition)
    return np.repeat(np.arange(len(sizes)), sizes)


def _partition_starts(sizes: np.ndarray) -> np.ndarray:
    """The first sample of each partition of ``sizes``."""
    return np.r_[0, np.cumsum(sizes)[:-1]]


def _partition_means(errors: np.ndarray, partition: int) -> np.ndarray:
    sizes = _partition_sizes(len(errors), partition)
    return _means(errors, sizes, _partition_starts(sizes))


def _means(errors: np.ndarray, sizes: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The mean magnitude of the errors in each partition (``sizes``, ``starts``)."""
    if not len(sizes):
        return np.zeros(0)
    return np.add.reduceat(np.abs(errors).astype(np.float64), starts) / sizes


def _quantised(a: np.ndarray) -> tuple[int, np.ndarray]:
    """``shift`` and 16-bit integer coefficients ``round(a * 2 ** shift)`` (zeros where ``a`` is too large)."""
    if not np.isfinite(a).all():
        return 0, np.zeros(len(a), dtype=np.int64)
    shift = int(np.clip(14 - np.ceil(np.log2(max(np.abs(a).max(), 1e-9))), 0, 15))
    weights = np.round(a * (1 << shift)).astype(np.int64)
    if np.abs(weights).max() >= 1 << 15:  # a predictor this large is no use
        return 0, np.zeros(len(a), dtype=np.int64)
    return shift, weights


def fit_predictors(v: np.ndarray, orders: list[int], noises: tuple[float, ...] = (0.0,)
                   ) -> list[tuple[np.ndarray, int]]:  # fmt: skip
    """Integer linear predictors of each of ``orders`` for each of ``noises`` (orders outer): 16-bit coefficients
    and their shift.

    Levinson–Durbin on a tapered autocorrelation of ``v``, computed once up to the highest order; a noise is
    the variance of white noise that the past values the predictor will see carry beyond ``v`` (added at lag 0:
    the Wiener predictor from noisy values, as in prediction with error feedback).
    """
    from scipy.signal.windows import tukey

    taper = tukey(len(v), 0.1)
    x = (v - v.mean()) * taper
    top = max(orders, default=0)
    r = np.array([x[: len(x) - k] @ x[k:] for k in range(top + 1)])
    lag_window = np.exp(-0.5 * (2 * np.pi * 0.002 * np.arange(1, top + 1)) ** 2)  # a stable fit
    if r[0] <= 0:
        return [(np.zeros(order, dtype=np.int64), 0) for order in orders for _ in noises]
    by_noise = [_levinson(r[0] * (1 + 1e-9) + noise * (taper @ taper), r[1:] * lag_window, orders) for noise in noises]
    return [predictors[i] for i in range(len(orders)) for predictors in by_noise]


def _levinson(r0: float, r: np.ndarray, orders: list[int]) -> list[tuple[np.ndarray, int]]:
    """The integer predictor of each of ``orders`` from the autocorrelation ``r0`` (lag 0) and ``r`` (lags 1 to
    the highest order), by the Levinson–Durbin recursion (zeros where the autocorrelation is singular)."""
    found = {}
    a, error = np.zeros(len(r)), r0
    for m in range(1, max(orders, default=0) + 1):
        if not error > 0:
            break
        k = (r[m - 1] - a[: m - 1] @ r[: m - 1][::-1]) / error
        a[: m - 1] -= k * a[: m - 1][::-1]
        a[m - 1] = k
        error *= 1 - k * k
        if m in orders:
            shift, coefficients = _quantised(a[:m])
            found[m] = coefficients, shift
    return [found.get(order, (np.zeros(order, dtype=np.int64), 0)) for order in orders]


def _predict(v: np.ndarray, coefficients: np.ndarray, shift: int) -> np.ndarray:
    """``(c · v[i - 1 - k]) >> shift`` for each sample (zeros before the start), in 64-bit integers."""
    prediction = np.zeros_like(v)
    if len(coefficients):
        prediction[1:] = np.convolve(v, coefficients)[: len(v) - 1] >> shift  # exact: integer arithmetic
    return prediction


def _synthesize(errors: np.ndarray, coefficients: np.ndarray, shift: int) -> np.ndarray:
    """Invert ``errors = v - _predict(v)``."""
    if not len(coefficients):
        return errors.copy()
    return jit(_synthesis)(errors, coefficients, shift)


def _lms(values: np.ndarray, taps: int, shift: int, step: int, inverse: bool) -> np.ndarray:  # pragma: no cover
    """A sign-sign LMS filter on the previous errors: what it leaves of each error, or (``inverse``) the errors.

    Each weight moves by ``step`` towards the sign of the residual times its input's, after
    each sample whose residual is not zero; the decoder runs the same recursion. The errors
    are kept after ``taps`` zeros (the past before the start) and the weights oldest first, so
    that both loops run forward over contiguous memory.
    """
    n = len(values)
    weights = np.zeros(taps, dtype=np.int64)  # weights[t] applies to the error taps - t samples back
    errors = np.zeros(n + taps, dtype=np.int64)
    signs = np.zeros(n + taps, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        acc = 0
        for t in range(taps):
            acc += weights[t] * errors[i + t]
        if inverse:
            residual, error = values[i], values[i] + (acc >> shift)
            out[i] = error
        else:
            error, residual = values[i], values[i] - (acc >> shift)
            out[i] = residual
        errors[i + taps] = error
        signs[i + taps] = (error > 0) - (error < 0)
        if residual != 0:
            move = step if residual > 0 else -step
            for t in range(taps):
                weights[t] += move * signs[i + t]
    return out


def _synthesis(errors: np.ndarray, coefficients: np.ndarray, shift: int) -> np.ndarray:  # pragma: no cover
    """The recursion of :func:`_synthesize`, compiled by numba."""
    n, order = len(errors), len(coefficients)
    v = np.empty(n, dtype=np.int64)
    for i in range(n):
        acc = 0
        for k in range(min(order, i)):
            acc += coefficients[k] * v[i - 1 - k]
        v[i] = errors[i] + (acc >> shift)
    return v
