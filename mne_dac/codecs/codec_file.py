"""The mne-dac codec file: a file is data, never code.

Version 2 (written since 0.1) is a `safetensors <https://huggingface.co/docs/safetensors>`_
file: the weights as tensors, and in its header, as JSON text, the format name and version,
the :class:`~mne_dac.codecs.config.CodecConfig` and free-form provenance (``metadata``).
Reading it parses JSON and copies tensors; nothing is unpickled.

Version 1 files (``torch.save`` of a dict, written before 0.1, the shipped codecs among them)
are read with ``torch.load(weights_only=True)``, which admits tensors and plain containers
only and refuses any other object.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mne_dac.codecs.config import CodecConfig
from mne_dac.utils._json import jsonable

if TYPE_CHECKING:  # pragma: no cover
    import torch

#: Format name recorded in codec files.
CODEC_FILE_FORMAT = "mne-dac-codec"
#: Version of the codec file written by :func:`write_codec_file`.
CODEC_FILE_VERSION = 2
#: Versions :func:`read_codec_file` reads.
READABLE_VERSIONS = (1, 2)


class UntrustedCodeError(OSError):
    """Raised when a file would need Python objects unpickled (code run) to load."""


@dataclass
class CodecFile:
    """The content of a codec file.

    Attributes
    ----------
    config : CodecConfig
        The codec's configuration.
    state_dict : dict of str to torch.Tensor
        Its weights.
    metadata : dict
        Provenance (the training record of ``mne-dac finetune``…).
    version : int
        Version of the file.
    """

    config: CodecConfig
    state_dict: dict[str, torch.Tensor]
    metadata: dict[str, Any] = field(default_factory=dict)
    version: int = CODEC_FILE_VERSION


def is_safetensors(path: str | Path) -> bool:
    """Whether ``path`` starts like a safetensors file (a header length, then a JSON object)."""
    with open(path, "rb") as fid:
        head = fid.read(9)
    return len(head) == 9 and head[8:9] == b"{" and int.from_bytes(head[:8], "little") < 100_000_000


def write_codec_file(
    fname: str | Path,
    config: CodecConfig,
    state_dict: dict[str, torch.Tensor],
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write a codec file (version 2: safetensors weights plus a JSON header)."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in state_dict.items()}
    header = {
        "format": CODEC_FILE_FORMAT,
        "version": str(CODEC_FILE_VERSION),
        "config": json.dumps(config.to_dict()),
        "metadata": json.dumps(jsonable(metadata or {})),
    }
    save_file(tensors, str(fname), metadata=header)
    return Path(fname)


def read_codec_file(path: str | Path) -> CodecFile:
    """Read a codec file (version 1 or 2) without running any code from it.

    Raises
    ------
    OSError
        If the file is not a valid mne-dac codec file; the message names what is wrong.
    """
    path = Path(path)
    if is_safetensors(path):
        return _read_safetensors(path)
    return codec_file_from_dict(load_tensors_only(path), path)


def codec_file_from_dict(obj: Any, path: Path) -> CodecFile:
    """The content of a version-1 codec file, from what ``torch.load(weights_only=True)`` read."""
    if not (isinstance(obj, dict) and obj.get("format") == CODEC_FILE_FORMAT):
        raise OSError(f"{path} is not an mne-dac codec file (no format {CODEC_FILE_FORMAT!r}).")
    if obj.get("version") not in READABLE_VERSIONS:
        raise OSError(f"{path} is a codec file of version {obj.get('version')!r}: update mne-dac.")
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise OSError(f"{path}: the codec file's 'metadata' is not a dict.")
    return CodecFile(_config(obj, path), _state_dict(obj.get("state_dict"), path), metadata, 1)


def load_tensors_only(path: Path, trust_code: bool = False) -> Any:
    """``torch.load`` of tensors and plain containers only, unless ``trust_code``.

    Raises
    ------
    UntrustedCodeError
        If the file holds other Python objects and ``trust_code`` is False.
    OSError
        If it is no PyTorch file.
    """
    import pickle

    import torch

    from mne_dac.utils._logging import warn

    if trust_code:
        warn(f"Unpickling {path} fully (trust_code=True): this runs any code the file holds.", UserWarning)
        return torch.load(path, map_location="cpu", weights_only=False)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not zipfile.is_zipfile(path):
            raise OSError(f"{path} is not a readable PyTorch file: {err}") from err
        raise UntrustedCodeError(
            f"{path} holds Python objects other than tensors and plain data, which only a full unpickle "
            "can load, and a full unpickle can run any code the file holds. mne-dac refuses it. If you trust "
            "the file's author, pass trust_code=True (command line: --trust-codec)."
        ) from err
    except (RuntimeError, EOFError, ValueError) as err:
        raise OSError(f"{path} is not a readable PyTorch file: {err}") from err


def _read_safetensors(path: Path) -> CodecFile:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:  # one pass: header and tensors
            header = f.metadata() or {}
            state_dict = {key: f.get_tensor(key) for key in f.keys()}  # noqa: SIM118 - safe_open has no iterator
    except (SafetensorError, OSError, ValueError) as err:
        raise OSError(f"{path} is not a valid codec file: {err}") from err
    if header.get("format") != CODEC_FILE_FORMAT:
        raise OSError(f"{path} is not an mne-dac codec file (header format {header.get('format')!r}).")
    try:
        version = int(header.get("version", ""))
    except ValueError:
        version = None
    if version not in READABLE_VERSIONS:
        raise OSError(
            f"{path} is a codec file of version {header.get('version')!r}; this mne-dac reads versions "
            f"{list(READABLE_VERSIONS)}: update mne-dac."
        )
    fields = {}
    for key in ("config", "metadata"):
        try:
            fields[key] = json.loads(header.get(key, "{}"))
        except json.JSONDecodeError as err:
            raise OSError(f"{path}: the header's {key!r} is not valid JSON ({err}).") from err
        if not isinstance(fields[key], dict):
            raise OSError(f"{path}: the header's {key!r} is not a JSON object.")
    return CodecFile(_config(fields["config"], path), state_dict, fields["metadata"], version)


def _config(d: dict, path: Path) -> CodecConfig:
    """The configuration of a codec file, or an OSError naming the field at fault."""
    d = {"name": path.name, **d}
    try:
        return CodecConfig.from_dict(d)
    except KeyError as err:
        raise OSError(f"{path}: the codec file's configuration has no {err.args[0]!r}.") from err
    except (TypeError, ValueError) as err:
        raise OSError(f"{path}: the codec file's configuration is invalid ({err}).") from err


def _state_dict(state_dict: Any, path: Path) -> dict:
    import torch

    if not isinstance(state_dict, dict) or not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()
    ):
        raise OSError(f"{path}: the codec file's 'state_dict' is not a dict of tensors.")
    return state_dict
