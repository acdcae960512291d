"""Atomic file output: write to a temporary file, then rename."""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_write(fname: str | Path, *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path that replaces ``fname`` only if the block succeeds.

    Parameters
    ----------
    fname : path-like
        Final output path.
    overwrite : bool
        Allow replacing an existing file.

    Yields
    ------
    tmp : Path
        A path with the same file name inside a temporary folder next to ``fname``
        (so writers that check extensions are satisfied). It is renamed to ``fname``
        on success and removed on failure: a failure never leaves a partial output. Temporary
        folders that a killed writer of ``fname`` left are removed first.
    """
    fname = Path(fname)
    if fname.exists() and not overwrite:
        raise FileExistsError(f"{fname} exists; pass overwrite=True (--overwrite) to replace it.")
    if not fname.parent.is_dir():
        raise FileNotFoundError(f"Output folder {fname.parent} does not exist.")
    for stale in fname.parent.glob(f".{glob.escape(fname.name)}.*.part"):  # left by a killed writer of fname
        shutil.rmtree(stale, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix=f".{fname.name}.", suffix=".part", dir=fname.parent) as tmp:
        tmp_fname = Path(tmp) / fname.name
        yield tmp_fname
        os.replace(tmp_fname, fname)
