"""A codec set by hand to a linear transform code of EEG, then its decoder trained alone.

:func:`build_linear_codec` gives a ``dac.DAC`` of a codec's architecture (default: the compact DAC
of ``default-2026.12b``) weights that compute a linear code of the EEG, learned from recordings in minutes: the
encoder cuts the signal into frames of one hop (its strided convolutions rearrange the samples;
the residual units add nothing; the Snake activations are nearly the identity) and projects
each frame on its principal components; codebook ``q`` of the residual quantizer codes the
``codebook_dim`` principal directions of what codebooks ``0 … q-1`` left, its entries found by
k-means; the decoder inverts the projection. Optionally the decoder alone is then trained
(:func:`train_decoder`: the relative squared error at a random depth, encoder and codebooks
frozen). Shipped codecs built so: ``linear-2026.12``, ``beam-2026.12``, ``lapped-2026.12``, ``levels-2026.12`` (the
``default``: mne-dac's recipe, :data:`~mne_dac.training.recipe.LINEAR_CODE`, ``mne-dac finetune --init
linear-code``) and ``mc-pivot-2026.12c`` (``benchmarks/linear_code.py`` is the command line).

- With ``group_size=K`` it builds a DAC-MC codec (``"group"`` layout, ``pooling="slots"``, groups of
  ``K`` channels around pivots), a linear code of groups: each channel's frame, projected on the
  principal components of the frames (the first ``latent_dim / K`` of them), fills its slot of the
  group's latent, and each codebook codes principal directions of the group's joint frame, so that
  the codebooks code the channels' common signal once. Its attention and FiLM layers start as the
  identity; :func:`train_decoder` trains its decoder, FiLM and slot layers on pivot groups.
- With ``lapped=True`` each frame's latent is the modulated lapped transform (sine window) of the two hops
  centred on it, projected on the principal components of those transforms: the encoder's last convolution reads
  the neighbouring frames' halves and the decoder's first overlaps and adds, so the code has no block edges.
- With ``beam_width=B, beam_codebooks=J`` the codec encodes by beam search
  (:class:`~mne_dac.models.beam_search.BeamResidualVectorQuantize`), and its codebooks after the
  ``J``-th code what the searched codes leave. Entries that span a frame's whole latent
  (``codebook_dim`` equal to the hop) gain more, with the search and without.

Gradient descent started from these weights makes them worse (the encoder drifts through the
straight-through gradient; ``default-2026.12b``'s model card): only the decoder is trained.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import mne
import numpy as np
import torch
from mne.utils import logger, verbose

from mne_dac.codecs.codec import DACCodec
from mne_dac.codecs.mc_codec import DACMCCodec
from mne_dac.io.raw import preprocessing_at_level
from mne_dac.models.beam_search import beam_search, stage_entries
from mne_dac.models.dac_model import decoder_modules, new_dac, quantizer_beam
from mne_dac.models.euclidean_vq import EuclideanVectorQuantize
from mne_dac.models.quantizer import latents_from_codes
from mne_dac.signal.groups import pivot_groups, sample_pivot_group
from mne_dac.signal.preprocessing import to_codec_domain
from mne_dac.signal.transform_coding import directions_of_covariance, principal_directions

#: Snake's ``alpha``: ``x + sin(alpha x)**2 / alpha`` is ``x`` to within ``alpha * x**2``.
SNAKE_ALPHA = 1e-3
#: Samples of the decoder's training crops (at most: whole frames).
DECODER_CROP_SAMPLES = 1280
#: Float64 copies of the training EEG (at the codec's rate) that a build holds at its peak: the signals, their
#: frames and the frames' latents, with ``augment`` eight times over (measured: 4.2 GB for eegmat's 20 subjects).
PEAK_COPIES = {False: 5, True: 22}


@dataclass(frozen=True)
class LinearCode:
    """A codec built by :func:`build_linear_codec`, and how well its codebooks code the training frames.

    Attributes
    ----------
    codec : DACCodec
        The codec (a :class:`~mne_dac.codecs.mc_codec.DACMCCodec` with ``group_size``).
    frame_prd : list of float
        PRD (%) of the training frames' latents after each codebook.
    n_frames : int
        Training frames (of the joint group latents with ``group_size``).
    """

    codec: DACCodec
    frame_prd: list[float]
    n_frames: int


@verbose
def build_linear_codec(
    raws: Sequence[mne.io.BaseRaw],
    architecture: str | DACCodec = "default-2026.12b",
    *,
    n_codebooks: int | None = None,
    encoder_rates: Sequence[int] | None = None,
    codebook_dim: int | Sequence[int] | None = None,
    augment: bool = False,
    lapped: bool = False,
    channel_levels: bool = False,
    beam_width: int = 1,
    beam_codebooks: int = 2,
    group_size: int | None = None,
    default_n_codebooks: int | None = None,
    max_frames: int = 120_000,
    decoder_steps: int = 0,
    seed: int = 0,
    progress: bool = True,
    verbose: bool | str | int | None = None,
) -> LinearCode:
    """Build a codec whose weights compute a linear transform code of ``raws``' EEG.

    Parameters
    ----------
    raws : sequence of mne.io.Raw
        Training recordings; their EEG channels not marked bad are used, in the codec's domain (its
        preprocessing).
    architecture : str | DACCodec
        The codec whose architecture, rate and preprocessing to use (:func:`~mne_dac.load_codec`;
        a codec given is not changed; default: the compact DAC at 256 Hz of ``default-2026.12b``,
        whose codecs it builds).
    n_codebooks : int | None
        Codebooks (default: the architecture's).
    encoder_rates : sequence of int | None
        The encoder's strides, whose product is the hop (the decoder's: the same, reversed;
        default: the architecture's).
    codebook_dim : int | sequence of int | None
        Values of the codebooks' entries: one for all, or one per codebook (default: the
        architecture's).
    augment : bool
        DAC-SC: also fit on frames shifted by a quarter, half and three quarters of a hop, and on
        every frame's negative.
    lapped : bool
        DAC-SC: code each frame by the modulated lapped transform (sine window) of the two hops centred on it,
        instead of the frame alone: the encoder's last convolution reads the neighbouring frames' halves and the
        decoder's first overlaps and adds, an orthogonal transform without block edges (:func:`mlt_basis`).
    channel_levels : bool
        Fit on each channel of each recording at the codec's level (the clip levels of
        :func:`~mne_dac.preprocessing_at_level` with ``per_channel=True``), the level at which its tokens then
        code best, instead of at the codec's fixed clip level; the codec then codes at them by default
        (:attr:`~mne_dac.DACCodec.channel_levels`).
    beam_width, beam_codebooks : int
        Encode by beam search of this width over the first ``beam_codebooks`` codebooks (width 1:
        DAC's greedy codes).
    group_size : int | None
        Build a DAC-MC codec of pivot groups of this many channels.
    default_n_codebooks : int | None
        Codebooks it codes with by default (default: the architecture's; with ``group_size``: all).
    max_frames : int
        Frames each k-means sees (and the beam-searched sample that fits the later codebooks).
    decoder_steps : int
        Then train the decoder alone for this many steps (:func:`train_decoder`).
    seed : int
        Seed of the codebooks' samples, k-means and the decoder's crops (the caller seeds torch).
    progress : bool
        Show a progress bar while the decoder trains.
    %(verbose)s

    Returns
    -------
    code : LinearCode
    """
    from mne_dac.codecs.loading import load_codec

    if not raws:
        raise ValueError("raws is empty: give at least one training recording")
    if augment and group_size is not None:
        raise ValueError("augment codes single channels: it cannot be used with group_size")
    if lapped and group_size is not None:
        raise ValueError("lapped codes single channels: it cannot be used with group_size")
    codec = load_codec(architecture, verbose=False)
    if codec is architecture:  # a codec given is left as it is
        codec = copy.deepcopy(codec)
    if n_codebooks is not None or encoder_rates or codebook_dim or beam_width > 1:
        config = codec.get_config()
        dac_kwargs = dict(config.dac_kwargs, n_codebooks=n_codebooks or config.dac_kwargs["n_codebooks"])
        if encoder_rates:
            dac_kwargs.update(encoder_rates=list(encoder_rates), decoder_rates=list(encoder_rates)[::-1])
        if codebook_dim:
            dac_kwargs["codebook_dim"] = codebook_dim if np.ndim(codebook_dim) == 0 else list(codebook_dim)
        if beam_width > 1:
            dac_kwargs.update(beam_width=beam_width, beam_codebooks=beam_codebooks)
        config = dataclasses.replace(config, dac_kwargs=dac_kwargs)
        codec = DACCodec.from_config(config, new_dac(**config.dac_kwargs).state_dict())
    eeg = [raw.copy().pick("eeg", exclude="bads") for raw in raws]
    check_build_memory(eeg, codec.sfreq, augment)
    settings = [preprocessing_at_level(r, codec, per_channel=True, verbose=False) if channel_levels else
                codec.preprocessing for r in eeg]  # fmt: skip
    signals = [to_codec_domain(r.get_data(), r.info["sfreq"], codec.sfreq, s).data for r, s in zip(eeg, settings)]
    ch_names = [r.ch_names for r in eeg]
    hop = codec.hop_length
    basis = mlt_basis(hop) if lapped else None
    frames = _frames(signals, hop, 0, basis).astype(np.float64)
    if augment:
        frames = np.concatenate([frames, *(_frames(signals, hop, hop * k // 4, basis) for k in (1, 2, 3))])
        frames = np.concatenate([frames, -frames])
    directions = principal_directions(frames.T)[0]
    if group_size is None:
        if default_n_codebooks is not None:
            codec.default_n_codebooks = default_n_codebooks
        _make_linear(codec.model, directions, basis)
        latents = frames @ directions
    else:
        k = group_size
        codec = DACMCCodec.from_codec(codec, layout="group", pooling="slots", n_slots=k, group_size=k)
        codec.default_n_codebooks = default_n_codebooks  # None, all: a group's stream costs 1/k per channel
        _make_linear(codec.dac_model, directions)  # its slot layers start as the truncation the code needs
        slot = directions[:, : min(hop, codec.model.slot_in.out_channels)]
        latents = _group_latents(signals, ch_names, k, slot)
        kept = 100 * ((frames @ slot) ** 2).sum() / (frames**2).sum()
        logger.info(f"Groups of {k}: each channel keeps {kept:.2f} % of its frames' energy")
    n_fitted = min(len(latents), max_frames)
    if n_fitted < codec.codebook_size:
        raise ValueError(
            f"k-means of {codec.codebook_size} entries needs at least as many frames; it would see {n_fitted} "
            f"({len(latents)} frames of {hop} samples in the recordings, max_frames={max_frames}): give longer "
            "recordings, or an architecture with smaller codebooks"
        )
    prds = _fit_codebooks(codec.dac_model, latents, max_frames, seed)
    logger.info(f"{len(latents)} training frames of {latents.shape[1]} values; PRD (%) after each codebook: "
                + " ".join(f"{p:.1f}" for p in prds))  # fmt: skip
    if decoder_steps:
        train_decoder(codec, signals, ch_names, decoder_steps, seed, progress=progress)
    codec.channel_levels = channel_levels
    return LinearCode(codec, prds, len(latents))


def check_build_memory(raws: Sequence[mne.io.BaseRaw], sfreq: float, augment: bool) -> int:
    """Raise a clear :class:`MemoryError` before a build whose training EEG would not fit in free memory.

    Parameters
    ----------
    raws : sequence of mne.io.Raw
        The channels to build from (not loaded).
    sfreq : float
        The codec's rate.
    augment : bool
        Whether the frames are augmented (eight times as many).

    Returns
    -------
    n_bytes : int
        The estimated peak (:data:`PEAK_COPIES` float64 copies of the EEG at ``sfreq``).
    """
    from mne_dac.training.trainer import available_memory

    n_values = sum(len(raw.ch_names) * raw.n_times * sfreq / raw.info["sfreq"] for raw in raws)
    need, free = int(8 * n_values * PEAK_COPIES[bool(augment)]), available_memory()
    if free is not None and need > free:
        raise MemoryError(
            f"Building this linear code needs about {need / 2**30:.1f} GiB ({n_values / 1e6:.0f} M samples of EEG at "
            f"{sfreq:g} Hz{', frames augmented 8 times' if augment else ''}); {free / 2**30:.1f} GiB are free: give "
            "fewer or shorter recordings" + (", or build without augment" if augment else "") + "."
        )
    return need


def _set_weight(conv: torch.nn.Module, weight: np.ndarray) -> None:
    """Give a weight-normalised convolution the weight ``weight`` and no bias."""
    weight = torch.as_tensor(weight, dtype=conv.weight_v.dtype)
    norm = weight.pow(2).sum(tuple(range(1, weight.ndim)), keepdim=True).sqrt()
    with torch.no_grad():  # a zero slice keeps a direction (its norm is 0): v / |v| must stay finite
        conv.weight_v.copy_(torch.where(norm > 0, weight, torch.full_like(weight, 1e-3)))
        conv.weight_g.copy_(norm)
        if conv.bias is not None:
            conv.bias.zero_()


def _rearranging(conv: torch.nn.Module, held: int) -> np.ndarray:
    """Weight of a strided convolution that moves samples between time and channels.

    A convolution (weight: output, input, tap) whose input channel ``c`` holds ``held``
    consecutive samples per step gets, in output channel ``p * held + c``, those of input step
    ``stride * j + p``. A transposed convolution (weight: input, output, tap) does the inverse:
    output channel ``c`` of step ``stride * i + p`` gets input channel ``p * held + c`` of step
    ``i``. Both are the same weight.
    """
    stride, pad = conv.stride[0], conv.padding[0]
    weight = np.zeros(tuple(conv.weight_v.shape))
    if stride * held > weight.shape[0] or held > weight.shape[1]:
        raise ValueError(f"{conv} has too few channels to hold {held} samples per step")
    for p in range(stride):
        for c in range(held):
            weight[p * held + c, c, p + pad] = 1
    return weight


def mlt_basis(hop: int) -> np.ndarray:
    """The modulated lapped transform's basis (sine window), ``(2 * hop, hop)``: a frame's ``hop`` coefficients are
    the ``2 * hop`` samples centred on it times this basis, and the signal is the overlapped sum of the coefficients
    times its transpose (time-domain aliasing cancels; the transform is orthogonal)."""
    if hop % 2:
        raise ValueError(f"a lapped transform needs an even hop, got {hop}")
    n, k = np.arange(2 * hop)[:, None], np.arange(hop)[None, :]
    window = np.sin(np.pi * (n + 0.5) / (2 * hop))
    return np.sqrt(2 / hop) * window * np.cos(np.pi / hop * (n + 0.5 + hop / 2) * (k + 0.5))


def _make_linear(model: torch.nn.Module, directions: np.ndarray, basis: np.ndarray | None = None) -> None:
    """Set ``model``'s encoder and decoder to project frames on ``directions`` (hop × hop) and back; with ``basis``
    (:func:`mlt_basis`), the lapped transform of each frame and its neighbours' halves."""
    hop = directions.shape[0]
    encoder, decoder = model.encoder.block, model.decoder.model
    first = np.zeros(tuple(encoder[0].weight_v.shape))
    first[0, 0, encoder[0].padding[0]] = 1
    _set_weight(encoder[0], first)
    held = 1
    for block in encoder[1:-2]:
        conv = block.block[-1]
        _set_weight(conv, _rearranging(conv, held))
        held *= conv.stride[0]
    last, expand = np.zeros(tuple(encoder[-1].weight_v.shape)), np.zeros(tuple(decoder[0].weight_v.shape))
    for offset, rows in _frame_taps(hop, basis).items():  # frame t + offset's samples -> frame t's latent
        if not (encoder[-1].padding[0] >= abs(offset) and decoder[0].padding[0] >= abs(offset)):
            raise ValueError("a lapped code needs an encoder and a decoder whose convolutions see the next frames")
        last[:hop, :hop, encoder[-1].padding[0] + offset] = (rows @ directions).T
        expand[:hop, :hop, decoder[0].padding[0] - offset] = rows @ directions
    _set_weight(encoder[-1], last)
    _set_weight(decoder[0], expand)
    for block in decoder[1:-3]:
        conv = block.block[1]
        held //= conv.stride[0]
        _set_weight(conv, _rearranging(conv, held))
    out = np.zeros(tuple(decoder[-2].weight_v.shape))
    out[0, 0, decoder[-2].padding[0]] = 1
    _set_weight(decoder[-2], out)
    for module in model.modules():
        if type(module).__name__ == "ResidualUnit":  # its branch's last convolution: zero
            _set_weight(module.block[-1], np.zeros(tuple(module.block[-1].weight_v.shape)))
        elif type(module).__name__ == "Snake1d":
            with torch.no_grad():
                module.alpha.fill_(SNAKE_ALPHA)


def _frame_taps(hop: int, basis: np.ndarray | None) -> dict[int, np.ndarray]:
    """The rows of ``basis`` that read frame ``t + offset``'s samples for frame ``t``'s coefficients, by offset: the
    identity at offset 0 without a basis; the halves of the neighbours and the frame itself with a lapped basis."""
    if basis is None:
        return {0: np.eye(hop)}
    half, taps = hop // 2, {offset: np.zeros((hop, hop)) for offset in (-1, 0, 1)}
    taps[-1][half:], taps[0][:], taps[1][:half] = basis[:half], basis[half : half + hop], basis[half + hop :]
    return taps


def _frames(signals: list[np.ndarray], hop: int, shift: int, basis: np.ndarray | None) -> np.ndarray:
    """The frames of ``signals`` that start ``shift`` samples into them, ``(n_frames, hop)``; with ``basis``
    (:func:`mlt_basis`), their lapped transforms (the two hops centred on each, zeros beyond the signal)."""
    out = []
    for x in signals:
        x = x[:, shift:][:, : (x.shape[1] - shift) // hop * hop]
        if basis is None:
            out.append(x.reshape(-1, hop))
        else:
            padded = np.pad(x, ((0, 0), (hop // 2, hop // 2)))
            windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * hop, axis=1)[:, ::hop]
            out.append((windows @ basis).reshape(-1, hop))
    return np.concatenate(out)


def _nearest_entries(x: np.ndarray, entries: np.ndarray, chunk: int = 65_536) -> np.ndarray:
    """The index of the entry nearest each row of ``x``, computed ``chunk`` rows at a time."""
    norms = (entries**2).sum(1)
    return np.concatenate([((c**2).sum(1, keepdims=True) - 2 * c @ entries.T + norms).argmin(1)
                           for c in np.array_split(x, max(1, -(-len(x) // chunk)))])  # fmt: skip


def _fit_codebooks(model: torch.nn.Module, latents: np.ndarray, max_frames: int, seed: int) -> list[float]:
    """Set each codebook to k-means of the principal directions of the residual it codes; return the frames' PRD
    (%) after each.

    With a beam-search quantizer, the codebooks after its first ``beam_codebooks`` code what the beam-searched codes
    leave of ``max_frames`` of the frames."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    residual, energy, prds = latents.copy(), float((latents**2).sum()), []
    dims = latents.shape[1]
    beam_width, joint = quantizer_beam(model)
    for q, vq in enumerate(model.quantizer.quantizers):
        if not isinstance(vq, EuclideanVectorQuantize):
            raise ValueError("a linear code needs the nearest entry as the code (Euclidean codebook lookup)")
        size, dim = vq.codebook.weight.shape
        directions = directions_of_covariance(residual.T @ residual)[0][:, :dim]
        projected = residual @ directions
        sample = projected[rng.choice(len(projected), min(len(projected), max_frames), replace=False)]
        entries = KMeans(size, n_init=1, max_iter=25, random_state=seed).fit(sample).cluster_centers_
        nearest = _nearest_entries(projected, entries)
        into, back = np.zeros(tuple(vq.in_proj.weight_v.shape)), np.zeros(tuple(vq.out_proj.weight_v.shape))
        into[:, :dims, 0], back[:dims, :, 0] = directions.T, directions
        _set_weight(vq.in_proj, into)
        _set_weight(vq.out_proj, back)
        with torch.no_grad():
            vq.codebook.weight.copy_(torch.as_tensor(entries, dtype=vq.codebook.weight.dtype))
        residual -= entries[nearest] @ directions.T
        if beam_width > 1 and q + 1 == joint:  # from here on, a sample of the frames (the search is slow)
            stages = model.quantizer.quantizers[:joint]
            latents, residual = _beam_residual(stages, latents, beam_width, max_frames, seed)
            energy = float((latents**2).sum())
        prds.append(100 * np.sqrt((residual**2).sum() / energy))
    return prds


def _beam_residual(stages: torch.nn.ModuleList, latents: np.ndarray, beam_width: int, max_frames: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """``max_frames`` of ``latents``, and what the codes of ``stages`` (a linear code's first codebooks), chosen by
    beam search, leave of them."""
    dims = latents.shape[1]
    rng = np.random.default_rng(seed + 1)
    sample = torch.as_tensor(latents[rng.choice(len(latents), min(len(latents), max_frames), replace=False)])
    with torch.no_grad():
        codebooks = [entries[:, :dims].double() for entries in stage_entries(stages)]
    codes = beam_search(sample.float(), [c.float() for c in codebooks], beam_width)
    return sample.numpy(), (sample - sum(c[codes[:, j]] for j, c in enumerate(codebooks))).numpy()


def _group_latents(
    signals: list[np.ndarray], ch_names: list[list[str]], group_size: int, slot: np.ndarray
) -> np.ndarray:
    """Joint frames of every pivot group of every recording: each channel's frames projected on ``slot``
    (hop × slot_dim) in its slot, missing channels' slots zero; ``(n_frames, group_size * slot_dim)``."""
    hop, slot_dim = slot.shape
    joint = []
    for x, names in zip(signals, ch_names):
        n_frames = x.shape[1] // hop
        for group in pivot_groups(names, group_size).indices(names):
            frames = np.zeros((n_frames, group_size, slot_dim))
            channels = x[group, : n_frames * hop].reshape(len(group), n_frames, hop)
            frames[:, : len(group)] = channels.transpose(1, 0, 2) @ slot
            joint.append(frames.reshape(n_frames, -1))
    return np.concatenate(joint)


def _decoder_crops(
    codec: DACCodec, signals: list[np.ndarray], ch_names: list[list[str]], rng: np.random.Generator
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """A batch of 16 crops of whole frames, ``(16, k, samples)``: single channels (DAC-SC, ``k`` = 1), or groups
    of ``k`` around random pivots with their electrode positions ``(16, k, 3)`` (DAC-MC; else ``None``)."""
    group_size = getattr(codec, "group_size", 1)
    crop = DECODER_CROP_SAMPLES // codec.hop_length * codec.hop_length  # whole frames
    crops, positions = [], []
    for _ in range(16):
        i = rng.integers(len(signals))
        x = signals[i]
        group = sample_pivot_group(ch_names[i], group_size, rng) if group_size > 1 else [rng.integers(len(x))]
        start = rng.integers(x.shape[1] - crop)
        crops.append(x[group, start : start + crop])
        positions.append(codec.channel_positions([ch_names[i][c] for c in group]) if group_size > 1 else None)
    x = torch.as_tensor(np.stack(crops))
    return x, None if group_size == 1 else torch.as_tensor(np.stack(positions), dtype=torch.float32)


def train_decoder(codec: DACCodec, signals: Sequence[np.ndarray], ch_names: Sequence[Sequence[str]], steps: int,
                  seed: int = 0, *, progress: bool = True) -> None:  # fmt: skip
    """Train ``codec``'s decoder alone (DAC-MC: with its FiLM and slot-out layers), in place.

    The loss is the relative squared error of batches of 16 crops of ``signals`` (each channels ×
    samples, in the codec's domain, with the channel names ``ch_names``), each crop decoded at a
    random depth; Adam, learning rate 3e-4.
    """
    from tqdm.auto import tqdm

    model, rng = codec.model.eval(), np.random.default_rng(seed)  # eval: the quantizer drops no codebook
    mc = isinstance(codec, DACMCCodec)
    n_q = len(model.quantizer.quantizers)
    optimizer = torch.optim.Adam([p for m in decoder_modules(model) for p in m.parameters()], lr=3e-4)
    for _ in tqdm(range(steps), desc="Training the decoder", unit="step", disable=not progress):
        x, positions = _decoder_crops(codec, signals, ch_names, rng)
        with torch.no_grad():
            emb = model.channel_embeddings(positions) if mc else None
            codes = model.encode(x, emb, n_q).codes if mc else model.quantizer(model.encoder(x), n_quantizers=n_q)[1]
        depth = torch.as_tensor(rng.integers(1, n_q + 1, size=len(x)))
        codes = torch.where(torch.arange(n_q)[None, :, None] < depth[:, None, None], codes, -1)
        z = latents_from_codes(model.quantizer, codes)
        y = model.decode(z, emb) if mc else model.decoder(z)
        loss = (((y - x) ** 2).sum((1, 2)) / (x**2).sum((1, 2)).clamp_min(1e-12)).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
