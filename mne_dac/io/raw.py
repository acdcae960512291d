"""Tokenize an :class:`mne.io.Raw` and rebuild it from its tokens."""

from __future__ import annotations

import dataclasses
import os
from typing import TYPE_CHECKING, Any

import mne
import numpy as np
from mne.utils import _validate_type, logger, verbose

from mne_dac.codecs.loading import codec_for, load_codec
from mne_dac.io.band_gains import (
    BAND_EDGES,
    REFERENCE_CLIP,
    band_gain_steps,
    kept_band_edges,
    reference_stream,
    scale_bands,
)
from mne_dac.io.block_format import block_frames_for
from mne_dac.io.component_blocks import CODEC_RMS
from mne_dac.io.streaming import frame_blocks, iter_code_blocks, with_reconstruction
from mne_dac.io.tokens import EEGTokens
from mne_dac.signal.groups import resolve_groups
from mne_dac.signal.preprocessing import CodecDomainStream, PreprocessingSettings, from_codec_domain
from mne_dac.utils._docs import fill_doc
from mne_dac.utils._logging import warn

if TYPE_CHECKING:
    from mne_dac.codecs.codec import DACCodec
    from mne_dac.io.side_channels import Grid


#: ``preprocessing=`` of the transformers and Braindecode windows: the clip level of the EEG's own level
#: (:func:`preprocessing_at_level`), found when fitting or for each recording.
CLIP_AT_LEVEL = "clip-at-level"
#: ``preprocessing=`` of the transformers and Braindecode windows: a clip level per channel, each channel at the
#: codec's level (:func:`preprocessing_at_level` with ``per_channel=True``), found when fitting or for each recording.
CHANNEL_LEVELS = "channel-levels"


def codec_scaling(codec: DACCodec, preprocessing: PreprocessingSettings | str | None
                  ) -> PreprocessingSettings | str:  # fmt: skip
    """``preprocessing`` as given, or, where it is ``None``, the codec's own scaling: :data:`CHANNEL_LEVELS` for a
    codec fitted at each channel's level (:attr:`~mne_dac.DACCodec.channel_levels`), its preprocessing otherwise."""
    if preprocessing is not None:
        return preprocessing
    return CHANNEL_LEVELS if codec.channel_levels else codec.preprocessing


def tokens_preprocessing(raw: mne.io.BaseRaw, codec: DACCodec) -> PreprocessingSettings:
    """The preprocessing of ``codec``'s tokens of ``raw`` where none is given (:func:`codec_scaling`): each EEG
    channel at the codec's level for a codec fitted at those levels, the codec's preprocessing otherwise."""
    if codec.channel_levels:
        return preprocessing_at_level(raw, codec, per_channel=True, verbose=False)
    return codec.preprocessing


@verbose
@fill_doc
def tokenize_raw(
    raw: mne.io.BaseRaw,
    codec: Any = "default",
    *,
    n_codebooks: int | None = None,
    groups: Any = None,
    grouping: str | None = None,
    montage: Any = None,
    preprocessing: PreprocessingSettings | None = None,
    max_clipped: float | None = None,
    restore_bands: bool = True,
    progress: bool = False,
    verbose: bool | str | int | None = None,
) -> EEGTokens:
    """Encode the EEG channels of a recording into DAC tokens.

    EEG channels (type ``"eeg"``, bad ones included) are preprocessed as in the
    paper and coded channel by channel; the other channels (stim, ECG, EOG…) are
    kept losslessly in the tokens so that nothing is lost. With ``restore_bands``, the
    tokens carry each 16-s block's band gains, measured on their decode (which takes
    about as long again as the encoding), as a file of them does.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording, in Volts.
    %(codec)s
    %(n_codebooks)s
    %(groups)s
    %(grouping)s
    montage : str | mne.channels.DigMontage | None
        DAC-MC codecs only: electrode positions for channels whose names are not in
        the standard 10-05 montage. ``None``: standard positions.
    %(preprocessing)s
    %(max_clipped)s
    restore_bands : bool
        Keep in the tokens, for each 16-s block and EEG channel, the gains that bring the δ, θ, α and β
        power of their decode to at least 0.9 of the original's (:attr:`EEGTokens.band_gains`; 20 bits a
        channel and block, 1.3 bits/s per channel beside the tokens), as a file of them keeps them;
        :func:`reconstruct_raw` applies them. ``False``: the codec's decode alone.
    progress : bool
        Show a progress bar.
    %(verbose)s

    Returns
    -------
    tokens : EEGTokens
        Codes of shape ``(n_eeg_channels, n_codebooks, n_frames)`` (or ``(n_groups,
        n_codebooks, n_frames)`` for a DAC-MC codec in the ``"group"`` layout) and
        everything :func:`reconstruct_raw` needs.
    """
    groups = resolve_groups(groups, grouping)
    _validate_type(raw, mne.io.BaseRaw, "raw")
    _validate_type(restore_bands, bool, "restore_bands")
    _validate_type(preprocessing, (PreprocessingSettings, None), "preprocessing")
    codec = load_codec(codec)
    preprocessing = preprocessing or tokens_preprocessing(raw, codec)
    eeg, other = eeg_picks(raw)
    ch_names = [raw.ch_names[i] for i in eeg]
    logger.info(
        "Tokenizing %d EEG channels, %.1f s at %g Hz with %s",
        len(eeg),
        raw.times[-1] + 1 / raw.info["sfreq"],
        raw.info["sfreq"],
        codec.identity.describe(),
    )
    stream, groups, positions = codec_domain_of(raw, codec, eeg, preprocessing, groups=groups, montage=montage,
                                                max_clipped=max_clipped)  # fmt: skip
    n_q = codec.check_n_codebooks(n_codebooks)
    blocks = iter_code_blocks(stream, codec, n_q, codec.chunk_frames, progress, ch_names=ch_names, groups=groups,
                              positions=positions)  # fmt: skip
    codes = np.concatenate([codes for _, _, codes in blocks], axis=2)
    check_clipping(stream, max_clipped)
    stream.report_clipping()
    tokens = EEGTokens(
        codes=codes,
        ch_names=ch_names,
        sfreq=raw.info["sfreq"],
        n_times=raw.n_times,
        codec=codec.identity,
        codec_sfreq=codec.sfreq,
        hop_length=codec.hop_length,
        codebook_size=codec.codebook_size,
        preprocessing=preprocessing,
        clip_counts=stream.clip_counts,
        info=raw.info.copy(),
        first_samp=raw.first_samp,
        annotations=raw.annotations.copy(),
        other_data=raw.get_data(picks=other) if len(other) else np.zeros((0, raw.n_times)),
        other_ch_names=[raw.ch_names[i] for i in other],
        groups=groups,
        positions=positions,
    )
    if restore_bands:
        tokens.band_gains = measure_band_gains(tokens, raw, codec, progress=progress)
    return tokens


@verbose
@fill_doc
def preprocessing_at_level(raw: mne.io.BaseRaw, codec: Any = "default", *, per_channel: bool = False,
                           verbose: bool | str | int | None = None) -> PreprocessingSettings:  # fmt: skip
    """The codec's preprocessing with its clip level set so that the recording's EEG lies at the codec's level.

    A codec codes best the level of the EEG it was trained on, and its tokens keep the paper's fixed scaling (EEG
    clipped at ±200 µV and divided by it): EEG far quieter or louder loses 13 to 31 points of PRD at 44 bits/s per
    channel (docs page *Benchmarks*, *EEG of any level*). Where the median RMS of the recording's EEG channels,
    high-passed as the codec's input, lies outside :data:`~mne_dac.io.component_blocks.CODEC_RMS` of the codec's
    clip level (7–18 µV at ±200 µV), the clip level returned brings it to the range's geometric middle; elsewhere
    the codec's preprocessing is returned unchanged. Tokens store their preprocessing, so they decode to the
    recording's own level. The whole recording takes one scale (files written within a rate scale each channel's
    64-s block instead), or, with ``per_channel``, each channel its own.

    Parameters
    ----------
    raw : mne.io.Raw
        The recording, in Volts (read block by block where it is not preloaded).
    %(codec)s
    per_channel : bool
        Set each EEG channel's clip level so that its RMS lies at the middle of the codec's range, within the range
        too (:func:`preprocessing_at_rms`): the codec then sees every channel at one level, which keeps the
        waveform better (on eegmat's validation minutes, the default codec's tokens with their band gains at 4
        codebooks: PRD 31.8 against 32.2 per cent at the recordings' one level; docs page *Benchmarks*).
    %(verbose)s

    Returns
    -------
    preprocessing : PreprocessingSettings
        For :func:`~mne_dac.tokenize_raw` and :func:`~mne_dac.write_raw_dac` (``preprocessing=``).
    """
    _validate_type(raw, mne.io.BaseRaw, "raw")
    codec = load_codec(codec)
    settings = codec.preprocessing
    eeg, _ = eeg_picks(raw)
    return preprocessing_at_rms(settings, recording_rms(raw, eeg, settings.highpass), per_channel)


def recording_rms(raw: mne.io.BaseRaw, picks: np.ndarray, highpass: float | None) -> np.ndarray:
    """The RMS (Volts) of each of ``raw``'s channels ``picks``, high-passed at ``highpass`` as a codec's input (read
    segment by segment); for :func:`preprocessing_at_rms`."""
    stream = reference_stream(lambda start, stop: raw.get_data(picks=picks, start=start, stop=stop),
                              [raw.ch_names[i] for i in picks], raw.n_times, raw.info["sfreq"], highpass)  # fmt: skip
    return np.sqrt(_energy(stream, raw.n_times) / raw.n_times) * REFERENCE_CLIP


def channel_rms(epochs: np.ndarray, sfreq: float, highpass: float | None) -> np.ndarray:
    """Each channel's RMS over all ``epochs`` (Volts), each epoch high-passed alone at ``highpass`` as a codec's
    input.

    Parameters
    ----------
    epochs : array, shape (n_epochs, n_channels, n_times)
        EEG in Volts.
    sfreq : float
        Their sampling rate (Hz).
    highpass : float | None
        The codec's high-pass (Hz).

    Returns
    -------
    rms : array, shape (n_channels,)
        In Volts; for :func:`preprocessing_at_rms`.
    """
    n_epochs, n_channels, n_times = epochs.shape
    rows = epochs.reshape(n_epochs * n_channels, n_times)
    stream = reference_stream(lambda start, stop: rows[:, start:stop], [str(i) for i in range(len(rows))], n_times,
                              sfreq, highpass)  # fmt: skip
    energy = _energy(stream, n_times).reshape(n_epochs, n_channels).sum(axis=0)
    return np.sqrt(energy / (n_epochs * n_times)) * REFERENCE_CLIP


def _energy(stream: CodecDomainStream, n_times: int) -> np.ndarray:
    """Each channel's sum of squares in ``stream``, read segment by segment."""
    energy = np.zeros(stream.n_channels)
    for start in range(0, n_times, stream.segment):
        energy += np.sum(stream.get(start, min(n_times, start + stream.segment)) ** 2, axis=1)
    return energy


def preprocessing_at_rms(settings: PreprocessingSettings, rms: np.ndarray, per_channel: bool = False
                         ) -> PreprocessingSettings:  # fmt: skip
    """A codec's preprocessing ``settings`` at the level of EEG whose channels' RMS is ``rms`` (Volts, high-passed as
    the codec's input, shape ``(n_channels,)``; :func:`preprocessing_at_level`).

    One clip level: the one that brings the channels' median RMS to the geometric middle of
    :data:`~mne_dac.io.component_blocks.CODEC_RMS` where it lies outside that range of the codec's clip level
    (``settings`` within it). With ``per_channel``, one clip level per channel, each bringing its RMS to the middle
    (three significant digits; a flat channel keeps the codec's level, none exceeds 10 mV). Raises a
    :class:`ValueError` where the median RMS is implausible for EEG in Volts.
    """
    rms = np.asarray(rms, dtype=float)
    median, middle = float(np.median(rms)), np.sqrt(np.prod(CODEC_RMS))
    low, high = (share * settings.clip for share in CODEC_RMS)
    at_level = settings
    if median and not low <= median <= high:
        clip = float(f"{median / middle:.3g}")
        try:
            at_level = dataclasses.replace(settings, clip=clip)
        except ValueError as err:  # an implausible clip level
            raise ValueError(
                f"The EEG's RMS is {median:.3g} V, implausible for EEG: are the data in Volts (MNE's unit)?"
            ) from err
        logger.info("EEG RMS %.3g µV (codec's level %.3g-%.3g µV): clip level ±%g µV", median * 1e6, low * 1e6,
                    high * 1e6, clip * 1e6)  # fmt: skip
    if not per_channel:
        return at_level
    clips = [float(f"{min(r / middle, 1e-2):.3g}") if r > 0 else settings.clip for r in rms]
    logger.info("EEG channels' RMS %.3g-%.3g µV: clip levels ±%.4g-%.4g µV", rms.min() * 1e6, rms.max() * 1e6,
                min(clips) * 1e6, max(clips) * 1e6)  # fmt: skip
    return dataclasses.replace(settings, clip=tuple(clips))


def measure_band_gains(tokens: EEGTokens, raw: mne.io.BaseRaw, codec: Any, *,
                       progress: bool = False) -> np.ndarray | None:  # fmt: skip
    """The band gains of ``tokens`` (:attr:`EEGTokens.band_gains`): each 16-s block of their decode measured
    against the recording they code, ``raw``, as a file's writer measures them.

    Returns ``None`` where the gains would take more than a twentieth of the tokens' bits
    (:func:`~mne_dac.io.band_gains.kept_band_edges`).
    """
    from tqdm.auto import tqdm

    bounds = tokens.block_bounds
    total_bits = tokens.bits_per_second * tokens.n_channels * tokens.duration
    if not kept_band_edges(True, tokens.n_channels, len(bounds) - 1, total_bits):
        return None
    eeg = [raw.ch_names.index(name) for name in tokens.ch_names]
    reference = reference_stream(lambda start, stop: raw.get_data(picks=eeg, start=start, stop=stop), tokens.ch_names,
                                 raw.n_times, raw.info["sfreq"], tokens.preprocessing.highpass)  # fmt: skip
    block_frames = block_frames_for(codec.frame_rate)
    blocks = ((start, stop, tokens.codes[:, :, start:stop]) for start, stop in frame_blocks(tokens.n_frames,
                                                                                             block_frames))  # fmt: skip
    decoded = with_reconstruction(blocks, codec, bounds=bounds, n_frames=tokens.n_frames, sfreq=tokens.sfreq,
                                  n_times=tokens.n_times, preprocessing=tokens.preprocessing, ch_names=tokens.ch_names,
                                  groups=tokens.groups, positions=tokens.positions)  # fmt: skip
    steps = [band_gain_steps(reference.get(bounds[k], bounds[k + 1]) * REFERENCE_CLIP, block, tokens.sfreq, BAND_EDGES)
             for k, (*_, block) in enumerate(tqdm(decoded, desc="Band gains", unit="block", total=len(bounds) - 1,
                                                  disable=not progress))]  # fmt: skip
    return np.stack(steps)


def tokenize_at_depths(raw: mne.io.BaseRaw, codec: Any, depths: list[int], **kwargs: Any) -> dict[int, EEGTokens]:
    """The tokens that ``tokenize_raw(raw, codec, n_codebooks=k, **kwargs)`` gives at each depth ``k``, by depth.

    The deepest depth's codes serve every depth from the codec's :attr:`~mne_dac.DACCodec.nested_depth` on (their
    first ``k`` codebooks, with band gains measured on their own decode); a shallower depth is tokenized for
    itself (a beam search's codes are not the first ones of a deeper code).
    """
    codec = load_codec(codec)
    deepest = tokenize_raw(raw, codec, n_codebooks=max(depths), **kwargs)

    def prefix(k: int) -> EEGTokens:  # the first k codes of the deepest, with their own band gains
        tokens = dataclasses.replace(deepest, codes=deepest.codes[:, :k], band_gains=None)
        if deepest.band_gains is not None:
            tokens.band_gains = measure_band_gains(tokens, raw, codec)
        return tokens

    return {k: deepest if k == max(depths) else prefix(k) if k >= codec.nested_depth else
            tokenize_raw(raw, codec, n_codebooks=k, **kwargs) for k in depths}  # fmt: skip


def eeg_picks(raw: mne.io.BaseRaw) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the EEG channels (coded, bad ones included) and of the others (kept aside)."""
    eeg = mne.pick_types(raw.info, eeg=True, exclude=[])
    if len(eeg) == 0:
        types = sorted(set(raw.get_channel_types()))
        raise ValueError(
            f"The recording has no EEG channels (channel types: {types}). If EEG channels "
            "are typed otherwise, fix them with raw.set_channel_types()."
        )
    return eeg, np.setdiff1d(np.arange(len(raw.ch_names)), eeg)


def check_clipping(stream: CodecDomainStream, max_clipped: float | None) -> None:
    """Refuse to go on when more than ``max_clipped`` of the samples seen so far were clipped."""
    clipped = stream.clip_counts.sum() / (stream.n_channels * max(1, stream.n_counted))
    if max_clipped is not None and clipped > max_clipped:
        raise ValueError(
            f"{100 * clipped:.1f} % of the EEG samples exceed the {stream.settings.describe()} clip level "
            f"(more than {100 * max_clipped:g} %): coding would flatten them. Are the data in Volts (MNE's unit)? If "
            "they are and the clipping is wanted, allow it (max_clipped=1; command line: --allow-clipping)."
        )


def codec_domain_of(raw: mne.io.BaseRaw, codec: Any, eeg: np.ndarray, preprocessing: PreprocessingSettings, *,
                    groups: Any = None, montage: Any = None, max_clipped: float | None = None) -> tuple:  # fmt: skip
    """The codec-domain stream of a recording's EEG channels (read as needed, preloaded or not),
    its channel groups and positions; refuses too much clipping (measured on the first segment)."""
    ch_names = [raw.ch_names[i] for i in eeg]
    if raw.n_times * codec.sfreq / raw.info["sfreq"] < codec.hop_length:
        warn(
            f"The recording ({raw.n_times} samples) is shorter than one codec frame "
            f"({codec.hop_length / codec.sfreq:g} s): it is zero-padded to one frame."
        )
    stream = CodecDomainStream(
        lambda start, stop: raw.get_data(picks=eeg, start=start, stop=stop),
        len(eeg), raw.n_times, raw.info["sfreq"], codec.sfreq, preprocessing, ch_names,
    )  # fmt: skip
    stream.get(0, min(stream.n_codec, stream.segment))  # checks the data, counts the first segment's clipping
    check_clipping(stream, max_clipped)
    groups = codec.channel_groups(ch_names, groups, montage=montage)
    positions = codec.channel_positions(ch_names, montage)
    return stream, groups, positions


@verbose
@fill_doc
def reconstruct_raw(
    tokens: EEGTokens,
    codec: Any = None,
    *,
    n_codebooks: int | None = None,
    restore_bands: bool = True,
    progress: bool = False,
    verbose: bool | str | int | None = None,
) -> mne.io.RawArray:
    """Rebuild a recording from its tokens.

    Parameters
    ----------
    tokens : EEGTokens
        Tokens from :func:`tokenize_raw` or :func:`~mne_dac.read_tokens`.
    codec : str | path-like | DACCodec | None
        The codec that made the tokens. ``None`` loads it when it is the shipped
        default or a DAC tag. A different codec raises
        :class:`~mne_dac.CodecMismatchError`.
    n_codebooks : int | None
        Decode with only the first ``n_codebooks`` codebooks of the tokens.
    restore_bands : bool
        Apply the tokens' band gains (:attr:`EEGTokens.band_gains`), when they have them and every
        codebook is decoded (they were measured on that decode). ``False``: the codec's decode alone.
    progress : bool
        Show a progress bar.
    %(verbose)s

    Returns
    -------
    raw : mne.io.RawArray
        Same channel names and types, sampling rate, number of samples,
        ``first_samp``, measurement date, montage and annotations as the original; EEG
        channels are the codec's reconstruction, others are the original samples.
    """
    _validate_type(tokens, EEGTokens, "tokens")
    _validate_type(restore_bands, bool, "restore_bands")
    codec = codec_for(tokens.codec, codec)
    decoded = codec.decode(
        tokens.codes,
        n_codebooks,
        ch_names=tokens.ch_names,
        groups=tokens.groups,
        positions=tokens.positions,
        progress=progress,
    )
    info = tokens.info.copy()
    data = np.empty((len(info["ch_names"]), tokens.n_times))
    index = {name: i for i, name in enumerate(info["ch_names"])}
    for i, (channel, name) in enumerate(zip(decoded, tokens.ch_names)):  # one at a time: no second copy
        data[index[name]] = from_codec_domain(
            channel[np.newaxis], codec.sfreq, tokens.sfreq, tokens.n_times, tokens.preprocessing.pick([i])
        )[0]
    n_q = tokens.codes.shape[1] if n_codebooks is None else n_codebooks
    bitrate = codec.bits_per_second(n_q) * tokens.codes.shape[0] / len(tokens.ch_names)
    if restore_bands and tokens.band_gains is not None and n_q == tokens.n_codebooks:
        bitrate += tokens.band_gain_bits_per_second
        rows, bounds = [index[name] for name in tokens.ch_names], tokens.block_bounds
        for k, steps in enumerate(tokens.band_gains):
            block = np.s_[bounds[k] : bounds[k + 1]]
            data[rows, block] = scale_bands(data[rows, block], steps, tokens.sfreq, BAND_EDGES)
    if tokens.other_ch_names:
        data[[index[n] for n in tokens.other_ch_names]] = tokens.other_data
    note = lossy_description(codec.name, round(bitrate, 1), tokens.ch_names)
    info["description"] = note + (f" Original description: {info['description']}" if info["description"] else "")
    raw = mne.io.RawArray(data, info, first_samp=tokens.first_samp, verbose=False)
    if tokens.annotations is not None:
        raw.set_annotations(tokens.annotations)
    return raw


def lossy_description(codec_name: str, bitrate: float, ch_names: list[str]) -> str:
    """The statement a reconstruction carries in ``info["description"]``: what coded it, at what rate.

    Parameters
    ----------
    codec_name : str
        Name of the codec (its versioned name for a shipped codec).
    bitrate : float
        Bits per second per coded channel.
    ch_names : list of str
        The coded (reconstructed) channels.

    Returns
    -------
    description : str
        E.g. ``"Lossy reconstruction by mne-dac codec 'default-2026.12b' at 88 bits/s per channel
        (19 EEG channels coded; other channels exact)."``
    """
    return (
        f"Lossy reconstruction by mne-dac codec {codec_name!r} at {bitrate:g} bits/s per channel "
        f"({len(ch_names)} EEG channels coded; other channels exact)."
    )


#: Where EDF keeps the local recording identification: 80 ASCII bytes from byte 88.
_EDF_RECORDING_FIELD = slice(88, 168)


@fill_doc
def save_reconstruction(raw: mne.io.BaseRaw, fname: Any, *, overwrite: bool = False, exact: bool = False,
                        grids: dict[str, Grid] | None = None) -> None:  # fmt: skip
    """Save a reconstruction as FIF or EDF, saying in the file that it is lossy.

    FIF keeps ``info["description"]`` (see :func:`reconstruct_raw`) and everything in the info;
    its samples are written as float64 when the recording has channels other than EEG, which
    :func:`~mne_dac.read_raw_dac` returns exactly as they were. EDF has no description field:
    the statement is written, shortened, into the EDF+ header's local recording identification
    (``Startdate … lossy_reconstruction mne-dac_<codec> <rate>bps``), which EDF viewers show.
    What EDF cannot hold (channel types other than EEG, bad channels, electrode positions,
    ``first_samp``, the power-line frequency, a missing measurement date) is listed in a warning.

    Parameters
    ----------
    raw : mne.io.Raw
        A reconstruction from :func:`reconstruct_raw` or :func:`~mne_dac.read_raw_dac`.
    fname : path-like
        Output file, ending in ``.fif`` (or ``_raw.fif``…) or ``.edf``.
    %(overwrite)s
    exact : bool
        The samples are to be kept as they are (a file with a residual layer): FIF holds them
        as float64; EDF holds 16-bit integers on a scale of its own, and warns of the channels
        whose samples it cannot hold exactly.
    grids : dict of str to Grid | None
        The grids that the source's reader computed channels' samples on
        (:func:`~mne_dac.io.container.read_grids`): EDF holds a channel bit-exactly on its grid
        when the channel's samples all lie on it.
    """
    from pathlib import Path

    from mne_dac.io.edf_writer import write_edf
    from mne_dac.utils._atomic import atomic_write

    fname = Path(fname)
    suffix = fname.suffix.lower()
    if suffix not in (".fif", ".edf"):
        raise ValueError(f"fname must end with .fif or .edf, got {fname.name!r}")
    double = exact or set(raw.get_channel_types()) != {"eeg"}
    with atomic_write(fname, overwrite=overwrite) as tmp:
        if suffix == ".fif":
            lowercase = tmp.with_name(tmp.name[: -len(suffix)] + ".fif")  # MNE's writer wants ".fif"
            raw.save(lowercase, fmt="double" if double else "single", overwrite=True, verbose="error")
            os.replace(lowercase, tmp)  # channels kept aside stay bit-exact in float64
            return
        lost = edf_cannot_hold(raw)
        if lost:
            warn(f"EDF cannot hold {'; '.join(lost)}: {fname.name} goes without. Write FIF to keep them.")
        pad = -raw.n_times % int(raw.info["sfreq"])  # EDF holds whole records of floor(sfreq) samples
        if pad:
            warn(
                f"EDF holds whole data records of {int(raw.info['sfreq'])} samples: {pad} copies of the last "
                f"sample end {fname.name}, marked BAD_ACQ_SKIP."
            )
        if float(raw.info["sfreq"]).is_integer():
            grids = grids or {}
            deviations = write_edf(raw, tmp, [grids.get(name) for name in raw.ch_names])  # chunk by chunk
        else:  # records of a non-integer duration: MNE's exporter, in memory
            mne.export.export_raw(tmp, _pad_end(raw, pad) if pad else raw, fmt="edf", physical_range="channelwise",
                                  overwrite=True, verbose="error")  # fmt: skip
            deviations = None
        _stamp_edf(tmp, raw.info["description"] or "")
    inexact = raw.ch_names if deviations is None else [name for name, d in deviations.items() if d > 0]
    if exact and inexact:
        which = "its samples" if len(inexact) == len(raw.ch_names) else f"the samples of {', '.join(inexact)}"
        amount = "not as decoded"
        if deviations is not None:
            amount = f"up to {max(deviations.values()):.2g} away from those decoded (µV for voltages)"
        warn(f"EDF holds 16-bit integers on a scale of its own: {fname.name} holds {which} {amount}. Write FIF "
             "to keep them exactly.")  # fmt: skip


def _pad_end(raw: mne.io.BaseRaw, pad: int) -> mne.io.RawArray:
    """``raw`` with its last sample repeated ``pad`` times, the padding annotated BAD_ACQ_SKIP."""
    data = np.pad(raw.get_data(), ((0, 0), (0, pad)), "edge")
    padded = mne.io.RawArray(data, raw.info, first_samp=raw.first_samp, verbose="error")
    padded.set_annotations(raw.annotations)
    start = padded.times[raw.n_times] + (padded.first_time if padded.annotations.orig_time is not None else 0)
    padded.annotations.append(start, pad / raw.info["sfreq"], "BAD_ACQ_SKIP")
    return padded


def edf_cannot_hold(raw: mne.io.BaseRaw) -> list[str]:
    """What of ``raw`` an EDF file loses (empty if nothing)."""
    info = raw.info
    lost = []
    types = sorted(set(raw.get_channel_types()) - {"eeg"})
    if types:
        lost.append(f"channel types ({', '.join(types)}: EDF readers see EEG)")
    if info["bads"]:
        lost.append(f"the bad channels ({', '.join(info['bads'])})")
    if info["dig"]:
        lost.append("the electrode positions (montage)")
    if raw.first_samp:
        lost.append(f"first_samp ({raw.first_samp})")
    if info["line_freq"]:
        lost.append(f"the power-line frequency ({info['line_freq']:g} Hz)")
    if info["meas_date"] is None:
        lost.append("a missing measurement date (EDF requires one: readers will see 1985-01-01)")
    return lost


def _stamp_edf(fname: Any, description: str) -> None:
    """Write the short form of a lossy description into an EDF's recording identification."""
    import re

    match = re.search(r"codec '([^']*)' at ([0-9.e+]+) bits/s", description)
    if match is None:
        return
    with open(fname, "r+b") as fid:
        header = fid.read(_EDF_RECORDING_FIELD.stop)
        fields = header[_EDF_RECORDING_FIELD].decode("ascii", "replace").split()[:5]  # Startdate, date, 3 codes
        note = ["lossy_reconstruction", f"mne-dac_{match[1]}", f"{float(match[2]):g}bps"]
        text = " ".join(fields + [re.sub(r"[^\x21-\x7e]", "_", word) for word in note])[:80]
        fid.seek(_EDF_RECORDING_FIELD.start)
        fid.write(text.ljust(80).encode("ascii"))
