"""Entropy coding of tokens: a tree of token streams and ranks in the codebooks' geometry.

Neighbouring EEG channels carry similar signals, so their latents are close: a stream's
codes are predictable from those of one other stream, its *parent*. The parents form a
tree (the Chow–Liu tree of the streams, chosen per file from its first frames). Given the
parent's decoded latent, codebook ``q``'s entries are ranked by their distance to
:math:`t`, what codebook ``q``'s lookup would see if the stream's latent were its parent's
(minus the stream's own coarser codebooks). The stream's code is coded as its rank: the
rank's octave (0, 1, 2–3, 4–7, …) with a per-file frequency table, then its place in
the octave uniformly. Roots are coded uniformly. Symbols go through an ANS coder
(``constriction``) in this order: streams in tree order, codebooks coarse to fine.

The model is exact on every machine: the codebook geometry is rounded to fixed point
(:class:`TokenTables`, whose SHA-256 the file records), distances are sums of products
of integers (exact in float64 whatever the BLAS), ties are broken by entry index, and the
octave frequencies are integers summing to ``2**24`` (constriction's precision).
"""

from __future__ import annotations

import hashlib
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["TokenModel", "TokenTables", "decode_tokens", "encode_tokens", "fit_token_model"]

#: Fixed-point precision of the probabilities (constriction's ``Categorical`` default).
PRECISION = 24
#: Latent coordinates are rounded to multiples of ``1 / FIXED_POINT``.
FIXED_POINT = 1 << 10
#: Frames used to choose the tree and the octave frequencies.
FIT_FRAMES = 256
#: Floats hold integers exactly below this.
_EXACT = float(1 << 52)
#: Ranks below this are found by partial sorting when decoding.
_SHORTLIST = 64


#: The tables of each codec object, with the SHA-256 of the weights they were computed from.
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class TokenTables:
    """A residual quantizer's geometry in fixed point: what the token model needs of a codec.

    Attributes
    ----------
    codebooks : list of array of int64, shape (codebook_size, dim_q)
        The entries of each codebook, in its lookup space.
    cross : list of list of array of int64, shape (codebook_size, dim_q)
        ``cross[q][j][k]``: entry ``k`` of codebook ``j`` as codebook ``q``'s lookup sees it.
    bias : list of array of int64, shape (dim_q,)
        What codebook ``q``'s lookup sees of a zero latent.
    sha256 : str
        Hash of all the integers: a file records it, so that a reader whose arithmetic
        gave other tables refuses to decode instead of decoding garbage.
    """

    codebooks: list[np.ndarray]
    cross: list[list[np.ndarray]]
    bias: list[np.ndarray]
    sha256: str

    @classmethod
    def from_codec(cls, codec: Any) -> TokenTables:
        """The tables of a codec's residual quantizer (DAC-SC and DAC-MC alike), computed once per codec and
        weights (a second of the default codec's, for every file written or read)."""
        weights = codec.identity.weights_sha256
        cached = _TABLES.get(codec)
        if cached is None or cached[0] != weights:
            cached = _TABLES[codec] = weights, cls._compute(codec)
        return cached[1]

    @classmethod
    def _compute(cls, codec: Any) -> TokenTables:
        stages = list(codec.model.quantizer.quantizers)
        entries = [_float64(vq.codebook.weight) for vq in stages]  # (K, dim_q)
        latents = [e @ _conv_weight(vq.out_proj).T + _float64(vq.out_proj.bias) for vq, e in zip(stages, entries)]
        cross = [[_fixed(lat @ _conv_weight(vq.in_proj).T) for lat in latents] for vq in stages]
        bias = [_fixed(_float64(vq.in_proj.bias)) for vq in stages]
        codebooks = [_fixed(e) for e in entries]
        digest = hashlib.sha256()
        for array in [*codebooks, *(c for row in cross for c in row), *bias]:
            digest.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
        return cls(codebooks, cross, bias, digest.hexdigest())

    @property
    def n_codebooks(self) -> int:
        return len(self.codebooks)

    @property
    def codebook_size(self) -> int:
        return self.codebooks[0].shape[0]

    def target(self, q: int, parent: np.ndarray, own: np.ndarray) -> np.ndarray:
        """Where codebook ``q``'s lookup would land with the parent's latent, frames × dim_q.

        ``parent``: the parent's codes ``(n_codebooks, n_frames)``; ``own``: the stream's
        codes of the coarser codebooks ``(q, n_frames)``.
        """
        t = self.bias[q][None] + sum(self.cross[q][j][parent[j]] for j in range(parent.shape[0]))
        for j in range(q):
            t = t - self.cross[q][j][own[j]]
        return t


def _float64(tensor: Any) -> np.ndarray:
    return tensor.detach().cpu().double().numpy()


def _conv_weight(conv: Any) -> np.ndarray:
    """The ``(out, in)`` matrix of a weight-normed 1×1 convolution, in float64 from its parameters.

    (The ``weight`` attribute of an old-style weight norm is only refreshed by a forward pass.)
    """
    if hasattr(conv, "weight_g"):
        g, v = _float64(conv.weight_g), _float64(conv.weight_v)
    elif hasattr(conv, "parametrizations"):
        weight = conv.parametrizations.weight
        g, v = _float64(weight.original0), _float64(weight.original1)
    else:
        return _float64(conv.weight)[:, :, 0]
    return (g * v / np.sqrt((v * v).sum(axis=(1, 2), keepdims=True)))[:, :, 0]


def _fixed(x: Any) -> np.ndarray:
    return np.round(np.asarray(x, dtype=np.float64) * FIXED_POINT).astype(np.int64)


@dataclass(frozen=True)
class TokenModel:
    """The per-file model: each stream's parent and each codebook's rank-octave frequencies.

    Attributes
    ----------
    parents : list of int
        Parent stream of each stream, ``-1`` for a root (coded uniformly).
    octaves : list of list of int
        Per codebook, the frequencies (out of ``2**24``, each at least 1) of the rank's
        octave: rank 0, rank 1, ranks 2–3, 4–7, …
    tables_sha256 : str
        :attr:`TokenTables.sha256` of the codec the model was fitted with.
    """

    parents: list[int]
    octaves: list[list[int]]
    tables_sha256: str

    @property
    def order(self) -> list[int]:
        """Streams in decoding order: every parent before its children."""
        children: dict[int, list[int]] = {}
        for stream, parent in enumerate(self.parents):
            children.setdefault(parent, []).append(stream)
        order, todo = [], list(children.get(-1, []))
        while todo:
            stream = todo.pop(0)
            order.append(stream)
            todo.extend(children.get(stream, []))
        return order

    def to_dict(self) -> dict:
        return {"parents": self.parents, "octaves": self.octaves, "tables_sha256": self.tables_sha256}

    @classmethod
    def from_dict(cls, d: dict) -> TokenModel:
        """Build from :meth:`to_dict` output; ``ValueError`` when a value is not of its type."""

        def ints(values: Any, what: str) -> list[int]:
            if not isinstance(values, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                raise ValueError(f"{what}: expected a list of integers")
            return values

        if (
            not isinstance(d, dict)
            or not isinstance(d.get("octaves"), list)
            or not isinstance(d.get("tables_sha256"), str)
        ):
            raise ValueError("expected parents, octaves and tables_sha256")
        return cls(ints(d.get("parents"), "parents"), [ints(row, "octaves") for row in d["octaves"]],
                   d["tables_sha256"])  # fmt: skip

    def check(self, n_streams: int, n_codebooks: int, tables: TokenTables) -> None:
        """Raise ``ValueError`` when the model does not fit the streams and the codec."""
        if tables.sha256 != self.tables_sha256:
            raise ValueError(
                "the codec's token tables differ from those the file was written with (another codec, or "
                "arithmetic that differs on this machine)"
            )
        if len(self.parents) != n_streams or not all(-1 <= p < n_streams for p in self.parents):
            raise ValueError(f"expected a parent (or -1) for each of the {n_streams} streams")
        if len(self.order) != n_streams:
            raise ValueError("the parents do not form a tree")
        n_octaves = _octave(np.array([tables.codebook_size - 1]))[0] + 1
        if (
            len(self.octaves) != n_codebooks
            or n_codebooks > tables.n_codebooks
            or not all(len(row) == n_octaves and min(row) >= 1 and sum(row) == 1 << PRECISION for row in self.octaves)
        ):
            raise ValueError(f"expected {n_octaves} octave frequencies (at least 1, summing to 2**{PRECISION}) "
                             f"for each of the {n_codebooks} codebooks")  # fmt: skip


def _octave(rank: np.ndarray) -> np.ndarray:
    """0 for rank 0, 1 for rank 1, 2 for ranks 2–3, 3 for 4–7…"""
    rank = np.asarray(rank, dtype=np.int64)
    return np.where(rank > 0, np.floor(np.log2(np.maximum(rank, 1))).astype(np.int64) + 1, 0)


def _octave_start(octave: np.ndarray) -> np.ndarray:
    return np.where(octave > 0, np.left_shift(1, np.maximum(octave - 1, 0)), 0)


def _octave_sizes(octave: np.ndarray, size: int) -> np.ndarray:
    start = _octave_start(octave)
    return np.minimum(np.where(octave > 0, start, 1), size - start)


def _keys(tables: TokenTables, q: int, parent: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Sort keys (frames × K) of codebook ``q``'s entries: squared distance to the target, then index.

    The keys are integers below ``2**53`` held in float64, so every operation on them is
    exact whatever the BLAS; ``key % K`` is the entry.
    """
    target = tables.target(q, parent, own).astype(np.float64)
    codebook = tables.codebooks[q].astype(np.float64)
    size = codebook.shape[0]
    keys = target @ (-2 * size * codebook.T)
    keys += ((target * target).sum(1) * size)[:, None]
    keys += (codebook * codebook).sum(1) * size + np.arange(size)
    if keys.size and np.abs(keys).max() >= _EXACT:
        raise ValueError("the codec's latents are too large for exact token coding")
    return keys


def _ranks(keys: np.ndarray, codes: np.ndarray) -> np.ndarray:
    return (keys < keys[np.arange(len(codes)), codes][:, None]).sum(1)


def _entries(keys: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Invert :func:`_ranks`: the entry of each row's rank."""
    size = keys.shape[1]
    out = np.empty(len(ranks), dtype=np.int64)
    short = ranks < min(_SHORTLIST, size)
    if short.any():
        k = min(_SHORTLIST, size) - 1
        nearest = np.sort(np.partition(keys[short], k, axis=1)[:, : k + 1], axis=1)
        out[short] = nearest[np.arange(len(nearest)), ranks[short]]
    if (~short).any():
        out[~short] = np.sort(keys[~short], axis=1)[np.arange((~short).sum()), ranks[~short]]
    return (out % size).astype(np.int64)


def _coder_models():
    import constriction

    return constriction.stream.model.Categorical(perfect=False), constriction.stream.model.Uniform()


def encode_tokens(codes: np.ndarray, model: TokenModel, tables: TokenTables) -> bytes:
    """Entropy-code codes of shape ``(n_streams, n_codebooks, n_frames)`` (one block)."""
    import constriction

    categorical, uniform = _coder_models()
    coder = constriction.stream.stack.AnsCoder()
    size = tables.codebook_size
    steps = [(s, q) for s in model.order for q in range(codes.shape[1])]
    for stream, q in reversed(steps):  # ANS is a stack: encode in the reverse of the decoding order
        parent = model.parents[stream]
        symbols = codes[stream, q].astype(np.int64)
        if parent < 0:
            coder.encode_reverse(symbols.astype(np.int32), uniform, np.full(len(symbols), size, dtype=np.int32))
            continue
        ranks = _ranks(_keys(tables, q, codes[parent], codes[stream, :q]), symbols)
        octaves = _octave(ranks)
        sizes = _octave_sizes(octaves, size)
        wide = sizes > 1  # a place in an octave of one rank needs no bits
        coder.encode_reverse((ranks - _octave_start(octaves))[wide].astype(np.int32), uniform,
                             sizes[wide].astype(np.int32))  # fmt: skip
        coder.encode_reverse(octaves.astype(np.int32), categorical, _octave_probabilities(model, q, len(ranks)))
    return coder.get_compressed().astype("<u4").tobytes()


def _octave_probabilities(model: TokenModel, q: int, n: int) -> np.ndarray:
    row = np.asarray(model.octaves[q], dtype=np.float64) / float(1 << PRECISION)  # exact
    return np.broadcast_to(row, (n, len(row))).copy()


def decode_tokens(buf: bytes, shape: tuple[int, int, int], model: TokenModel, tables: TokenTables) -> np.ndarray:
    """Invert :func:`encode_tokens`; ``ValueError`` when the payload does not decode to ``shape``."""
    import constriction

    if len(buf) % 4:
        raise ValueError("the token payload is not a whole number of 32-bit words")
    n_streams, n_q, n_frames = shape
    categorical, uniform = _coder_models()
    coder = constriction.stream.stack.AnsCoder(np.frombuffer(buf, dtype="<u4").astype(np.uint32))
    size = tables.codebook_size
    codes = np.zeros(shape, dtype=np.int64)
    for stream in model.order:
        parent = model.parents[stream]
        for q in range(n_q):
            if parent < 0:
                codes[stream, q] = coder.decode(uniform, np.full(n_frames, size, dtype=np.int32))
                continue
            octaves = coder.decode(categorical, _octave_probabilities(model, q, n_frames)).astype(np.int64)
            sizes = _octave_sizes(octaves, size)
            ranks = _octave_start(octaves)
            wide = sizes > 1
            ranks[wide] += coder.decode(uniform, sizes[wide].astype(np.int32)).astype(np.int64)
            if ranks.max(initial=0) >= size:
                raise ValueError("the token payload decodes to a rank beyond the codebook")
            codes[stream, q] = _entries(_keys(tables, q, codes[parent], codes[stream, :q]), ranks)
    if not coder.is_empty():
        raise ValueError("the token payload holds more than the block's codes")
    return codes


def _frequencies(counts: np.ndarray) -> list[int]:
    """Integer frequencies summing to ``2**PRECISION``, each at least 1, from counts."""
    counts = np.asarray(counts, dtype=np.int64) + 1
    budget = (1 << PRECISION) - len(counts)
    freqs = 1 + counts * budget // counts.sum()
    freqs[np.argmax(freqs)] += (1 << PRECISION) - freqs.sum()
    return [int(f) for f in freqs]


def _rank_bits(ranks: np.ndarray, size: int) -> float:
    """Bits of ranks under their own octave histogram (as the fitted model would code them)."""
    octaves = _octave(ranks)
    n_octaves = int(_octave(np.array([size - 1]))[0]) + 1
    p = np.asarray(_frequencies(np.bincount(octaves, minlength=n_octaves)), dtype=np.float64) / (1 << PRECISION)
    return float(-np.log2(p[octaves]).sum() + np.log2(_octave_sizes(octaves, size)).sum())


def fit_token_model(codes: np.ndarray, tables: TokenTables) -> TokenModel:
    """Choose the tree and the octave frequencies that code ``codes`` (the first frames of a file) best.

    The tree is the maximum spanning tree of the streams under the bits saved on the
    first codebook (the Chow–Liu tree).
    """
    from scipy.sparse.csgraph import breadth_first_order, minimum_spanning_tree

    codes = np.asarray(codes, dtype=np.int64)[:, :, :FIT_FRAMES]
    n_streams, n_q, _ = codes.shape
    size = tables.codebook_size
    parents = [-1] * n_streams
    if n_streams > 1:
        cost = np.zeros((n_streams, n_streams))
        for p in range(n_streams):
            keys = _keys(tables, 0, codes[p], codes[p, :0])
            for c in range(n_streams):
                if c != p:
                    cost[c, p] = _rank_bits(_ranks(keys, codes[c, 0]), size)
        pair = np.minimum(cost, cost.T)
        weights = pair - pair[~np.eye(n_streams, dtype=bool)].min() + 1.0  # positive: zero means "no edge"
        np.fill_diagonal(weights, 0)
        tree = minimum_spanning_tree(weights).toarray()
        order, predecessors = breadth_first_order((tree + tree.T) > 0, 0, directed=False)
        parents = [int(p) if p >= 0 else -1 for p in predecessors]
    n_octaves = int(_octave(np.array([size - 1]))[0]) + 1
    octaves = []
    for q in range(n_q):
        ranks = [_ranks(_keys(tables, q, codes[p], codes[c, :q]), codes[c, q]) for c, p in enumerate(parents) if p >= 0]
        counts = np.bincount(_octave(np.concatenate(ranks)), minlength=n_octaves) if ranks else np.zeros(n_octaves)
        octaves.append(_frequencies(counts))
    return TokenModel(parents, octaves, tables.sha256)
