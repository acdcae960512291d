"""The signal layer: preprocessing, channels and their groups, fidelity metrics and plots. Only numpy, scipy and MNE."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__, submodules=["preprocessing", "channels", "groups", "metrics", "viz"]
)
