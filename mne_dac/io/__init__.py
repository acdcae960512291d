"""Tokens and I/O: the token container, the ``.eegdac`` byte format, Raw coding, recordings on disk and whole folders."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(__name__, submodules=["tokens", "container", "raw", "recordings", "bulk"])
