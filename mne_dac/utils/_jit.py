"""Recursions compiled by numba, imported on first use."""

from __future__ import annotations

import functools
from collections.abc import Callable


@functools.lru_cache(maxsize=None)
def jit(function: Callable) -> Callable:
    """``function`` compiled by numba (once per process, cached on disk)."""
    import numba

    return numba.njit(cache=True, nogil=True)(function)
