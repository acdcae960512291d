"""The codec layer: DAC-SC and DAC-MC codecs behind one interface, and loading them by name or file."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(__name__, submodules=["codec", "mc_codec", "loading", "spatial"])
