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
        }
        if self.mc_kwargs is not None:
            kwargs.update(grouping=self.grouping, group_size=self.group_size)
        return kwargs
