"""Compress and tokenize EEG with neural audio codecs (DAC).

The package is layered; each subpackage imports only from the ones before it:
``utils``, ``signal``, ``models``, ``codecs``, ``io``, ``adapters``, ``training``,
``evaluation``, ``commands``. The public names below (listed in ``__init__.pyi``) load lazily,
so ``import mne_dac`` is fast: torch, DAC, MNE and Braindecode load on first use.
"""

import lazy_loader as _lazy

from .utils import _moved

__getattr_lazy, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
_moved.install()


def __getattr__(name: str):
    if name in _moved.MOVED_MODULES:
        return _moved.import_moved(name)
    return __getattr_lazy(name)
