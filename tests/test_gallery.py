"""Every tutorial and example runs, so none can rot."""

from __future__ import annotations

import os
import runpy
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from mne.utils import logger

ROOT = Path(__file__).parents[1]
SCRIPTS = sorted([*ROOT.glob("tutorials/*.py"), *ROOT.glob("examples/*.py")])


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_gallery_script(script, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MNE_DAC_FAST", "1")  # scripts shorten their loops in fast mode
    level = logger.level  # scripts may call mne.set_log_level(); don't leak it
    try:
        runpy.run_path(str(script), run_name="__main__")
    finally:
        plt.close("all")
        logger.setLevel(level)


def test_fast_mode_is_off_by_default():
    assert os.environ.get("MNE_DAC_FAST") is None
