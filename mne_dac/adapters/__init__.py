"""Adapters to the ecosystem: one Volts <-> codes pipeline for scikit-learn transformers and Braindecode windows."""

import lazy_loader as _lazy

__getattr__, __dir__, __all__ = _lazy.attach(__name__, submodules=["epoch_coding", "transformer", "windows"])
