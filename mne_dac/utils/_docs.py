"""Shared parameter documentation, filled into docstrings with :func:`fill_doc`."""

from __future__ import annotations

from typing import Callable, TypeVar

F = TypeVar("F", bound=Callable)

docdict: dict[str, str] = {}

docdict["codec"] = """
codec : str | path-like | DACCodec
    The codec: a :class:`~mne_dac.DACCodec`, ``"default"`` (the codec shipped with
    mne-dac), a DAC model tag (``"44khz"``, ``"24khz"``, ``"16khz"``), or the path to a
    DAC checkpoint (``weights.pth``) or an mne-dac codec file. See
    :func:`~mne_dac.load_codec`."""

docdict["n_codebooks"] = """
n_codebooks : int | None
    Number of residual codebooks to use (the bitrate knob: each codebook adds
    ``log2(codebook_size)`` bits per frame). ``None`` uses the codec's default depth
    (``codec.default_n_codebooks``; all its codebooks when that is ``None``)."""

docdict["device"] = """
device : str | None
    Torch device, e.g. ``"cpu"`` or ``"cuda"``. ``None`` uses the codec's device
    (the GPU when one is available and the codec was loaded with ``device=None``)."""

docdict["batch_size"] = """
batch_size : int | None
    Number of channel chunks processed at once. ``None`` uses the codec's setting."""

docdict["verbose"] = """
verbose : bool | str | int | None
    Control verbosity of the logging output. If ``None``, use the default
    verbosity level. See :func:`mne.verbose` for details."""

docdict["overwrite"] = """
overwrite : bool
    If True, overwrite an existing output file."""

docdict["preprocessing"] = """
preprocessing : PreprocessingSettings | None
    The paper's preprocessing (high-pass, clip level). ``None`` uses the codec's
    settings: a 0.1 Hz high-pass and a ±200 µV clip, or, for a codec fitted at each
    channel's level (:attr:`~mne_dac.DACCodec.channel_levels`), a clip level per channel
    that brings each to the codec's level (:func:`~mne_dac.preprocessing_at_level` with
    ``per_channel=True``). For EEG far quieter or louder than the codec's training EEG,
    :func:`~mne_dac.preprocessing_at_level`; ``codec.preprocessing``: the paper's fixed
    scaling."""

docdict["windows_preprocessing"] = """
preprocessing : PreprocessingSettings | ``"clip-at-level"`` | ``"channel-levels"`` | None
    The paper's preprocessing (high-pass, clip level). ``None`` uses the codec's
    settings: a 0.1 Hz high-pass and a ±200 µV clip, or ``"channel-levels"`` for a codec
    fitted at each channel's level (:attr:`~mne_dac.DACCodec.channel_levels`). ``"clip-at-level"``: each
    recording's windows with the clip level of that recording's level
    (:func:`~mne_dac.preprocessing_at_level` of its continuous EEG; of its windows,
    each high-passed alone, where a ``WindowsDataset`` holds no continuous
    recording), for EEG far quieter or louder than the codec's training EEG.
    ``"channel-levels"``: the same with a clip level per channel, each channel at the
    codec's level (``per_channel=True``)."""

docdict["ch_names"] = """
ch_names : list of str | None
    DAC-MC codecs with array input: the channel names (electrode positions are
    looked up in the standard 10-05 montage). ``mne.Epochs`` supply their own."""

docdict["windows"] = """
concat_ds : braindecode.datasets.BaseConcatDataset
    Windows (of :class:`~braindecode.datasets.WindowsDataset` or
    :class:`~braindecode.datasets.EEGWindowsDataset`), in Volts."""

docdict["cache_dir"] = """
cache_dir : path-like | None
    Keep each window's output on disk there, found again by the SHA-256 of the window and
    of the coding (codec weights, depth, preprocessing, channels): later epochs of a
    training run read it instead of coding again. ``None``: no cache."""

docdict["max_clipped"] = """
max_clipped : float | None
    Largest share of EEG samples (0 to 1) that may exceed the clip level; beyond it the
    coding stops with an error before any encoding (data in µV given as Volts clip
    everywhere). ``None``: no limit (a warning says how much was clipped)."""

docdict["max_error"] = """
max_error : float | None
    Add a residual layer that bounds the error of every EEG sample, in Volts, at the
    recording's own rate: ``|x - x̂| <= max_error``. ``0``: bit-exact (samples read from
    integer files such as EDF and BDF come back bit for bit). ``None``: the tokens only
    (lossy). Clipping then loses nothing: the residual holds what the codec clipped. The bound
    holds as float64 computes ``abs(x - x̂)``: on samples that lie on a grid of step ``g`` (an
    EDF's resolution), ``g / 2`` keeps them exact (merging two grid values would put both at
    exactly ``g / 2``, which float64 rounding of the values exceeds for about half of them)."""

docdict["restore_bands"] = """
restore_bands : bool
    Without ``max_error``: keep each EEG channel's δ, θ, α and β power in each block of the file
    at 0.9 of the original's at least, by a gain per band stored with the block that lifts a band
    decoded with less (:mod:`mne_dac.io.band_gains`; left out where the gains would take more than
    a twentieth of the bits). Transform codes: 64-s blocks, 0.3 bits/s per channel of the budget;
    on eegmat at 88 bits/s per channel the β error falls from 0.20 to 0.09 at the same PRD. Tokens:
    16-s blocks, 1.3 bits/s per channel beside the tokens (which entropy coding keeps below their
    nominal rate), the gains that :attr:`~mne_dac.EEGTokens.band_gains` holds; the default codec's
    β error at 88 bits/s falls from 0.45 to 0.10 for half a point of PRD. ``False``: the decode of
    least squared error (tokens: the codec's decode)."""

docdict["spatial_data"] = """
codec : DACCodec
    A DAC-SC codec.
data : array, shape (n_channels, n_samples)
    Codec-domain signals (:func:`~mne_dac.signal.preprocessing.to_codec_domain`), at least 2
    channels."""

docdict["segment_seconds"] = """
segment_seconds : float
    Duration of the segments whose depths are chosen apart (rounded to whole frames)."""

docdict["groups"] = """
groups : dict | ChannelGroups | None
    DAC-MC codecs: a partition of the channels, a dict ``{name: [channels]}`` or a
    :class:`~mne_dac.signal.groups.ChannelGroups`. In the ``"group"`` layout each group
    has one token stream."""

docdict["grouping"] = """
grouping : str | None
    DAC-MC codecs, without ``groups``: how to group the channels, ``"pivot"`` or
    ``"anatomical"`` (see :func:`~mne_dac.signal.groups.make_groups`). ``None``: the
    codec's default grouping."""

docdict["codec_channels"] = """
ch_names : list of str | None
    Channel names of the rows of the data. DAC-MC codecs need them (to form groups
    and place electrodes); DAC-SC codecs only check their number.
groups : ChannelGroups | None
    DAC-MC codecs: the partition of ``ch_names`` (see ``channel_groups``; ``None``:
    the codec's default grouping). DAC-SC codecs reject groups.
positions : array, shape (n_channels, 3) | None
    DAC-MC codecs: electrode positions (head frame, metres); ``None`` looks the
    names up in the standard 10-05 montage. DAC-SC codecs ignore them."""

docdict["transformer_params"] = """
sfreq : float | None
    Sampling rate of the data in Hz. Required when fitting on arrays; ``None``
    with :class:`mne.Epochs` uses ``epochs.info["sfreq"]``.
device : str | None
    Torch device, e.g. ``"cpu"`` or ``"cuda"``. ``None`` uses the codec's device.
    With a :class:`~mne_dac.DACCodec`, it must be that codec's device.
batch_size : int | None
    Number of channel chunks processed at once. ``None`` uses the codec's
    setting (16 for codecs loaded by name or path).
preprocessing : PreprocessingSettings | ``"clip-at-level"`` | ``"channel-levels"`` | None
    The paper's preprocessing (high-pass, clip level). ``None`` uses the codec's
    settings: a 0.1 Hz high-pass and a ±200 µV clip, or ``"channel-levels"`` for a codec
    fitted at each channel's level (:attr:`~mne_dac.DACCodec.channel_levels`). ``"clip-at-level"``: :meth:`fit`
    sets the clip level that brings the median RMS of the fitted epochs' channels
    (each epoch high-passed as the codec's input) to the codec's level, as
    :func:`~mne_dac.preprocessing_at_level` does for a recording, for EEG far quieter
    or louder than the codec's training EEG; later epochs take the same.
    ``"channel-levels"``: :meth:`fit` sets a clip level per channel, each channel's RMS
    over the fitted epochs at the codec's level (``per_channel=True``).""" + "".join(
    docdict[key] for key in ("ch_names", "groups", "grouping")
)

docdict["transformer_attrs"] = """
codec_ : DACCodec
    The codec.
sfreq_ : float
    Sampling rate of the data.
n_channels_ : int
    Number of channels (1 for 2D input).
n_times_ : int
    Number of time samples per epoch.
n_features_in_ : int
    ``X.shape[1]`` in :meth:`fit`, as for MNE's transformers: ``n_channels`` for
    3D input, ``n_times`` for 2D input."""


def fill_doc(f: F) -> F:
    """Fill ``%(name)s`` placeholders in a docstring from :data:`docdict`."""
    docstring = f.__doc__
    if not docstring:
        return f
    lines = docstring.splitlines()
    body = [line for line in lines[1:] if line.strip()]
    indent = min((len(line) - len(line.lstrip()) for line in body), default=0)
    pad = "\n" + " " * indent
    indented = {key: value.strip("\n").replace("\n", pad) for key, value in docdict.items()}
    try:
        f.__doc__ = docstring % indented
    except (KeyError, TypeError, ValueError) as err:
        raise RuntimeError(f"Error documenting {f.__qualname__}: {err}") from err
    return f
