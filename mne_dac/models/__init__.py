"""The model layer: the DAC builder, DAC-MC and the token classifier (torch modules, no I/O)."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__, submodules=["beam_search", "dac_model", "euclidean_vq", "mc_model", "quantizer", "token_model"]
)
