"""torch's CPU threads: set them for a block, and split the cores between worker processes."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def threads_per_worker(n_jobs: int | None) -> int:
    """torch threads for each of ``n_jobs`` worker processes, so that workers × threads ≤ cores."""
    cores = os.cpu_count() or 1
    workers = cores if n_jobs is not None and n_jobs < 0 else max(1, n_jobs or 1)
    return max(1, cores // min(workers, cores))


@contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``n_threads`` torch CPU threads (``None``: as they are)."""
    import torch

    if n_threads is None:
        yield
        return
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    before = torch.get_num_threads()
    torch.set_num_threads(int(n_threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)
