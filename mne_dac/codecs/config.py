"""What rebuilds a codec around its weights, as one typed record with one dict form.

:meth:`CodecConfig.to_dict` is the codec file's layout (without the weights) and the pickle's;
:meth:`CodecConfig.from_dict` is its inverse. Saving, loading, pickling and copying a codec all
go through it, as Braindecode's models go through ``get_config``/``from_config``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mne_dac.models.dac_model import model_from_state
from mne_dac.signal.preprocessing import PreprocessingSettings

if TYPE_CHECKING:  # pragma: no cover
    import torch


@dataclass(frozen=True)
class CodecConfig:
    """A codec's architecture and settings: everything but its weights and run-time options.

    Attributes
    ----------
    architecture : str
        ``"dac-sc"`` or ``"dac-mc"`` (a key of :data:`mne_dac.codecs.loading.ARCHITECTURES`).
    name : str
        The codec's name.
    sfreq : float
        EEG sampling rate the codec works at (Hz).
    dac_kwargs : dict
        Arguments of the ``dac.DAC`` model (:func:`mne_dac.models.dac_model.dac_config`).
    preprocessing : PreprocessingSettings
        Preprocessing between Volts and the codec's input.
    mc_kwargs : dict | None
        DAC-MC only: the arguments of :class:`~mne_dac.models.mc_model.DACMC`.
    grouping : str | None
        DAC-MC only: the default channel grouping.
    group_size : int | None
        DAC-MC only: channels per pivot group.
    default_n_codebooks : int | None
        Codebooks used when none are asked for (``None``: all of them).
    channel_levels : bool
        Whether the codec's tokens scale each EEG channel to the codec's level by default (its clip level per
        channel, :func:`~mne_dac.preprocessing_at_level` with ``per_channel=True``) rather than at
        ``preprocessing``'s fixed clip level: the level its codebooks were fitted at.
    """

    architecture: str
    name: str
    sfreq: float
    dac_kwargs: dict
    preprocessing: PreprocessingSettings
    mc_kwargs: dict | None = None
    grouping: str | None = None
    group_size: int | None = None
    default_n_codebooks: int | None = None
    channel_levels: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data (the codec file's keys); the DAC-MC keys only for a DAC-MC codec."""
        d = {
            "architecture": self.architecture,
            "name": self.name,
            "sfreq": self.sfreq,
            "dac_kwargs": self.dac_kwargs,
            "preprocessing": self.preprocessing.to_dict(),
        }
        if self.mc_kwargs is not None:
            d.update(mc_kwargs=self.mc_kwargs, grouping=self.grouping, group_size=self.group_size)
        if self.default_n_codebooks is not None:
            d["default_n_codebooks"] = self.default_n_codebooks
        if self.channel_levels:  # only then: the files of codecs without it stay as they were
            d["channel_levels"] = True
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CodecConfig:
        """Inverse of :meth:`to_dict` (other keys, such as the weights, are ignored)."""
        return cls(
            architecture=str(d["architecture"]),
            name=str(d["name"]),
            sfreq=float(d["sfreq"]),
            dac_kwargs=dict(d["dac_kwargs"]),
            preprocessing=PreprocessingSettings.from_dict(d["preprocessing"]),
            mc_kwargs=None if d.get("mc_kwargs") is None else dict(d["mc_kwargs"]),
            grouping=d.get("grouping"),
            group_size=None if d.get("group_size") is None else int(d["group_size"]),
            default_n_codebooks=None if d.get("default_n_codebooks") is None else int(d["default_n_codebooks"]),
            channel_levels=_flag(d.get("channel_levels", False), "channel_levels"),
        )

    def build_model(self, state_dict: dict[str, torch.Tensor]) -> torch.nn.Module:
        """The model with these arguments and ``state_dict``'s weights."""
        return model_from_state(self.dac_kwargs, state_dict, self.mc_kwargs)

    def codec_kwargs(self) -> dict[str, Any]:
        """The codec constructor's keyword arguments that this configuration holds."""
        kwargs: dict[str, Any] = {
            "name": self.name,
            "preprocessing": self.preprocessing,
            "default_n_codebooks": self.default_n_codebooks,
            "channel_levels": self.channel_levels,
        }
        if self.mc_kwargs is not None:
            kwargs.update(grouping=self.grouping, group_size=self.group_size)
        return kwargs


def _flag(value: Any, name: str) -> bool:
    """A boolean of a codec file, or a :class:`TypeError` (a file is data: ``"false"`` is no ``False``)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be true or false, got {value!r}")
    return value
